/* HTTP connections (see http_peer.h). */
#include "http_peer.h"

#include <event2/http.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/u64map.h"
#include "xalloc.h"

struct http_peer {
    struct http_peers *peers;
    struct evhttp_connection *evcon;
    void (*on_gone)(void *arg);
    void *arg;
};

struct http_peers {
    struct u64map by_conn;    /* evhttp connection -> its peer */
    size_t max;
    size_t *gauge;            /* kept at by_conn.count, for INFO */
};

struct http_peers *http_peers_new(size_t max, size_t *gauge)
{
    struct http_peers *ps = xcalloc(1, sizeof *ps);
    u64map_init(&ps->by_conn);
    ps->max = max;
    ps->gauge = gauge;
    return ps;
}

static void count(struct http_peers *ps)
{
    if (ps->gauge)
        *ps->gauge = ps->by_conn.count;
}

void http_peers_free(struct http_peers *ps)
{
    if (ps == NULL)
        return;
    uint64_t key;
    int64_t val;
    for (size_t i = 0; u64map_next(&ps->by_conn, &i, &key, &val);) {
        struct http_peer *p = (struct http_peer *)(uintptr_t)val;
        evhttp_connection_set_closecb(p->evcon, NULL, NULL);
        free(p);
    }
    u64map_free(&ps->by_conn);
    if (ps->gauge)
        *ps->gauge = 0;
    free(ps);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct http_peer *p = arg;
    u64map_del(&p->peers->by_conn, (uint64_t)(uintptr_t)evcon, NULL);
    count(p->peers);
    if (p->on_gone)
        p->on_gone(p->arg);
    free(p);
}

struct http_peer *http_peer_of(struct http_peers *ps, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    int64_t val;
    if (u64map_get(&ps->by_conn, (uint64_t)(uintptr_t)evcon, &val))
        return (struct http_peer *)(uintptr_t)val;
    if (ps->by_conn.count >= ps->max)
        return NULL;
    struct http_peer *p = xcalloc(1, sizeof *p);
    p->peers = ps;
    p->evcon = evcon;
    u64map_put(&ps->by_conn, (uint64_t)(uintptr_t)evcon, (int64_t)(uintptr_t)p);
    evhttp_connection_set_closecb(evcon, on_close, p);
    count(ps);
    return p;
}

void http_peer_watch(struct http_peer *p, void (*on_gone)(void *arg), void *arg)
{
    p->on_gone = on_gone;
    p->arg = arg;
}

size_t http_peers_count(const struct http_peers *ps)
{
    return ps ? ps->by_conn.count : 0;
}
