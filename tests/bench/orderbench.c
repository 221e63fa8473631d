/* orderbench: the saga load driver. N connections create orders, at a
 * target rate or flat out (pipelined); one more connection subscribes to
 * order.status and times each order from the moment its CREATE was sent
 * to the event that put it in a final status. Reports creates/s, completed
 * sagas/s and create->final latency percentiles.
 *
 *   orderbench [--host 127.0.0.1] [--port 7070] [--connections 8]
 *              [--rate <orders/s>, 0 = flat out] [--pipeline 64]
 *              [--duration <s>] [--drain <s>] [--csv]
 *              [--user <name>] [--password <pw>]   (or ORDERD_PASSWORD)
 *
 * A client like any other: hiredis's async API on libevent. */
#include <event2/event.h>
#include <getopt.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/histogram.h"

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Order id -> the time its CREATE was sent (or, when the final event beat
 * the CREATE reply, the time it ended, negated). Open addressing. */
struct slot {
    uint64_t id;   /* 0: free */
    int64_t t;
};

struct idmap {
    struct slot *slots;
    size_t cap, n;
};

static struct slot *idmap_find(struct idmap *m, uint64_t id)
{
    size_t mask = m->cap - 1;
    for (size_t i = (id * 0x9e3779b97f4a7c15ULL) & mask;; i = (i + 1) & mask)
        if (m->slots[i].id == id || m->slots[i].id == 0)
            return &m->slots[i];
}

static void idmap_put(struct idmap *m, uint64_t id, int64_t t)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct idmap old = *m;
        m->cap = old.cap ? old.cap * 2 : 1 << 16;
        m->slots = calloc(m->cap, sizeof *m->slots);
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i].id) {
                *idmap_find(m, old.slots[i].id) = old.slots[i];
                m->n++;
            }
        free(old.slots);
    }
    struct slot *s = idmap_find(m, id);
    if (s->id == 0)
        m->n++;
    s->id = id;
    s->t = t;
}

/* Removes id; returns its time, or 0 when absent. Backward-shift delete. */
static int64_t idmap_take(struct idmap *m, uint64_t id)
{
    if (m->cap == 0)
        return 0;
    struct slot *s = idmap_find(m, id);
    if (s->id == 0)
        return 0;
    int64_t t = s->t;
    size_t mask = m->cap - 1, hole = (size_t)(s - m->slots);
    for (size_t i = (hole + 1) & mask; m->slots[i].id; i = (i + 1) & mask) {
        size_t home = (m->slots[i].id * 0x9e3779b97f4a7c15ULL) & mask;
        bool move = hole <= i ? (home <= hole || home > i) : (home <= hole && home > i);
        if (move) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].id = 0;
    m->n--;
    return t;
}

struct bench {
    struct event_base *base;
    redisAsyncContext **conns;
    int *outstanding;
    int nconns;
    redisAsyncContext *sub;
    bool subscribed;
    double rate;           /* orders/s; 0: flat out */
    int pipeline;
    double duration_s, drain_s;
    bool csv;
    int64_t start_us, stop_us;
    double tokens;
    int64_t last_tick_us;
    uint64_t created, sent, errors;
    uint64_t done[3];      /* DELIVERED, FAILED, CANCELLED */
    struct idmap pending;
    struct histogram *lat; /* microseconds */
    struct event *tick;
    bool stopping;
    int next_conn;
    uint64_t seq;
};

static void finish(struct bench *b);

static void on_create(redisAsyncContext *c, void *r, void *priv)
{
    struct bench *b = c->data;
    redisReply *reply = r;
    int64_t sent_at = (int64_t)(intptr_t)priv;
    for (int i = 0; i < b->nconns; i++)
        if (b->conns[i] == c)
            b->outstanding[i]--;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[1]->type != REDIS_REPLY_INTEGER) {
        b->errors++;
        return;
    }
    uint64_t id = (uint64_t)reply->element[1]->integer;
    b->created++;
    int64_t early = idmap_take(&b->pending, id);
    if (early < 0)
        hist_record(b->lat, (uint64_t)(-early - sent_at));  /* it ended first */
    else
        idmap_put(&b->pending, id, sent_at);
}

static void send_create(struct bench *b, int i)
{
    int64_t t = now_us();
    b->seq++;
    redisAsyncCommand(b->conns[i], on_create, (void *)(intptr_t)t,
                      "CREATE customer=bench%llu item=sku%llu qty=1 amount=9.99",
                      (unsigned long long)(b->seq % 1000), (unsigned long long)(b->seq % 100));
    b->outstanding[i]++;
    b->sent++;
}

static uint64_t json_uint(const char *s, size_t n, const char *key)
{
    const char *p = memmem(s, n, key, strlen(key));
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void on_status(redisAsyncContext *c, void *r, void *priv)
{
    struct bench *b = c->data;
    redisReply *reply = r;
    (void)priv;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return;
    if (strcmp(reply->element[0]->str, "subscribe") == 0) {
        b->subscribed = true;
        return;
    }
    const char *payload = reply->element[2]->str;
    size_t len = reply->element[2]->len;
    int kind = memmem(payload, len, "\"status\":\"DELIVERED\"", 20) ? 0
             : memmem(payload, len, "\"status\":\"FAILED\"", 17)    ? 1
             : memmem(payload, len, "\"status\":\"CANCELLED\"", 20) ? 2
                                                                    : -1;
    if (kind < 0)
        return;
    uint64_t id = json_uint(payload, len, "\"order_id\":");
    int64_t t = now_us();
    int64_t sent_at = idmap_take(&b->pending, id);
    if (sent_at > 0)
        hist_record(b->lat, (uint64_t)(t - sent_at));
    else
        idmap_put(&b->pending, id, -t);  /* its CREATE reply is yet to come */
    b->done[kind]++;
    if (b->stopping && b->pending.n == 0)
        finish(b);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    (void)fd;
    (void)what;
    int64_t t = now_us();
    if (!b->subscribed)
        return;
    if (b->start_us == 0) {
        b->start_us = b->last_tick_us = t;
    }
    if (!b->stopping && t - b->start_us >= (int64_t)(b->duration_s * 1e6)) {
        b->stopping = true;
        b->stop_us = t;
    }
    if (b->stopping) {
        if (t - b->stop_us >= (int64_t)(b->drain_s * 1e6) || b->pending.n == 0)
            finish(b);
        return;
    }
    if (b->rate > 0) {
        b->tokens += b->rate * (double)(t - b->last_tick_us) / 1e6;
        b->last_tick_us = t;
        while (b->tokens >= 1) {
            int i = b->next_conn++ % b->nconns;
            if (b->outstanding[i] >= b->pipeline)
                break;
            send_create(b, i);
            b->tokens -= 1;
        }
        if (b->tokens > b->rate)  /* do not build a burst while blocked */
            b->tokens = b->rate;
    } else {
        for (int i = 0; i < b->nconns; i++)
            while (b->outstanding[i] < b->pipeline)
                send_create(b, i);
    }
}

static void finish(struct bench *b)
{
    if (b->base == NULL)
        return;
    int64_t end = b->stop_us ? b->stop_us : now_us();
    double secs = (double)(end - b->start_us) / 1e6;
    uint64_t completed = b->done[0] + b->done[1] + b->done[2];
    double ms[5] = {
        (double)hist_percentile(b->lat, 50) / 1000, (double)hist_percentile(b->lat, 90) / 1000,
        (double)hist_percentile(b->lat, 99) / 1000, (double)hist_percentile(b->lat, 99.9) / 1000,
        (double)b->lat->max / 1000,
    };
    if (b->csv) {
        printf("orderbench,%.0f,%.0f,%.3f,%.3f,%.3f,%.3f,%.3f,%llu,%llu\n",
               (double)b->created / secs, (double)completed / secs, ms[0], ms[1], ms[2], ms[3],
               ms[4], (unsigned long long)b->pending.n, (unsigned long long)b->errors);
    } else {
        printf("orderbench: %d connections, %s, %.1f s\n", b->nconns,
               b->rate > 0 ? "at a target rate" : "flat out", secs);
        if (b->rate > 0)
            printf("  target rate %.0f orders/s\n", b->rate);
        printf("  created   %llu orders (%.0f/s), %llu errors\n",
               (unsigned long long)b->created, (double)b->created / secs,
               (unsigned long long)b->errors);
        printf("  completed %llu sagas (%.0f/s): DELIVERED %llu FAILED %llu CANCELLED %llu; "
               "%zu unfinished\n",
               (unsigned long long)completed, (double)completed / secs,
               (unsigned long long)b->done[0], (unsigned long long)b->done[1],
               (unsigned long long)b->done[2], b->pending.n);
        printf("  create -> final latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  "
               "max %.3f\n", ms[0], ms[1], ms[2], ms[3], ms[4]);
    }
    fflush(stdout);
    event_base_loopbreak(b->base);
    b->base = NULL;
}

static void on_disconnect(const redisAsyncContext *c, int status)
{
    (void)c;
    if (status != REDIS_OK) {
        fprintf(stderr, "orderbench: connection lost\n");
        exit(1);
    }
}

static redisAsyncContext *connect_to(struct bench *b, const char *host, int port)
{
    redisAsyncContext *c = redisAsyncConnect(host, port);
    if (c == NULL || c->err) {
        fprintf(stderr, "orderbench: cannot connect to %s:%d\n", host, port);
        exit(1);
    }
    c->data = b;
    redisLibeventAttach(c, b->base);
    redisAsyncSetDisconnectCallback(c, on_disconnect);
    return c;
}

/* AUTH's answer: a refused one ends the run, saying why. */
static void on_auth(redisAsyncContext *c, void *reply, void *arg)
{
    redisReply *r = reply;
    (void)c;
    (void)arg;
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "orderbench: AUTH refused: %s\n", r ? r->str : "connection lost");
        exit(1);
    }
}

/* Sent first on every connection, so everything after it runs as user. */
static void authenticate(redisAsyncContext *c, const char *user, const char *password)
{
    if (password == NULL)
        return;
    if (user)
        redisAsyncCommand(c, on_auth, NULL, "AUTH %s %s", user, password);
    else
        redisAsyncCommand(c, on_auth, NULL, "AUTH %s", password);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"connections", required_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'r'},
        {"pipeline", required_argument, NULL, 'P'},
        {"duration", required_argument, NULL, 'd'},
        {"drain", required_argument, NULL, 'D'},
        {"csv", no_argument, NULL, 'x'},
        {"user", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    const char *host = "127.0.0.1", *user = NULL, *password = getenv("ORDERD_PASSWORD");
    int port = 7070, opt;
    struct bench b = {.nconns = 8, .pipeline = 64, .duration_s = 10, .drain_s = 10};
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': b.nconns = atoi(optarg); break;
        case 'r': b.rate = atof(optarg); break;
        case 'P': b.pipeline = atoi(optarg); break;
        case 'd': b.duration_s = atof(optarg); break;
        case 'D': b.drain_s = atof(optarg); break;
        case 'x': b.csv = true; break;
        case 'u': user = optarg; break;
        case 'w': password = optarg; break;
        default:
            fprintf(stderr, "usage: orderbench [--host h] [--port p] [--connections n] "
                            "[--rate r] [--pipeline n] [--duration s] [--drain s] [--csv]\n"
                            "                  [--user u] [--password p] (or ORDERD_PASSWORD)\n");
            return 2;
        }
    }
    if (user && password == NULL) {
        fprintf(stderr, "orderbench: --user needs --password (or ORDERD_PASSWORD)\n");
        return 2;
    }
    if (b.nconns < 1 || b.pipeline < 1 || b.duration_s <= 0) {
        fprintf(stderr, "orderbench: connections, pipeline and duration must be positive\n");
        return 2;
    }
    b.base = event_base_new();
    b.lat = malloc(sizeof *b.lat);
    hist_init(b.lat);
    b.conns = calloc((size_t)b.nconns, sizeof *b.conns);
    b.outstanding = calloc((size_t)b.nconns, sizeof *b.outstanding);
    b.sub = connect_to(&b, host, port);
    authenticate(b.sub, user, password);
    redisAsyncCommand(b.sub, on_status, NULL, "SUBSCRIBE order.status");
    for (int i = 0; i < b.nconns; i++) {
        b.conns[i] = connect_to(&b, host, port);
        authenticate(b.conns[i], user, password);
    }
    b.tick = event_new(b.base, -1, EV_PERSIST, on_tick, &b);
    struct timeval ms = {0, 1000};
    evtimer_add(b.tick, &ms);
    struct event_base *base = b.base;
    event_base_dispatch(base);
    return b.pending.n == 0 && b.errors == 0 ? 0 : 1;
}
