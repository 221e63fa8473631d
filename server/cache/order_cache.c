/* The tracking cache (see order_cache.h): finished orders in a list, least
 * recently used first, found by id through a map. */
#include "order_cache.h"

#include <stdbool.h>
#include <stdlib.h>

#include "lib/u64map.h"
#include "orders/book.h"
#include "saga/engine.h"
#include "xalloc.h"

struct entry {
    uint64_t id;
    uint64_t pos;          /* durable up to here before it may leave */
    int64_t used_ms;
    struct entry *prev, *next;
};

struct order_cache {
    struct book *book;
    struct engine *engine;
    size_t max_orders;
    int64_t ttl_ms;
    struct u64map by_id;   /* id -> struct entry * */
    struct entry *head, *tail;  /* least recently used first */
    size_t kept;
    uint64_t hits, misses, evictions;
};

struct order_cache *order_cache_new(struct book *book, struct engine *engine, size_t max_orders,
                                    int64_t ttl_ms)
{
    struct order_cache *c = xcalloc(1, sizeof *c);
    c->book = book;
    c->engine = engine;
    c->max_orders = max_orders;
    c->ttl_ms = ttl_ms;
    u64map_init(&c->by_id);
    return c;
}

void order_cache_free(struct order_cache *c)
{
    if (c == NULL)
        return;
    for (struct entry *e = c->head, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    u64map_free(&c->by_id);
    free(c);
}

static void unlink_entry(struct order_cache *c, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void append(struct order_cache *c, struct entry *e)
{
    e->prev = c->tail;
    e->next = NULL;
    if (c->tail)
        c->tail->next = e;
    else
        c->head = e;
    c->tail = e;
}

static struct entry *find(const struct order_cache *c, uint64_t id)
{
    int64_t v;
    return u64map_get(&c->by_id, id, &v) ? (struct entry *)(intptr_t)v : NULL;
}

/* Kept as the most recently used, at now_ms, once durable up to pos. */
static void keep(struct order_cache *c, uint64_t id, uint64_t pos, int64_t now_ms)
{
    struct entry *e = find(c, id);
    if (e == NULL) {
        e = xcalloc(1, sizeof *e);
        e->id = id;
        u64map_put(&c->by_id, id, (int64_t)(intptr_t)e);
        c->kept++;
    } else {
        unlink_entry(c, e);
    }
    if (pos > e->pos)
        e->pos = pos;
    e->used_ms = now_ms;
    append(c, e);
}

void order_cache_finished(struct order_cache *c, uint64_t id, uint64_t pos, int64_t now_ms)
{
    keep(c, id, pos, now_ms);
}

void order_cache_changed(struct order_cache *c, uint64_t id, uint64_t pos)
{
    struct entry *e = find(c, id);
    if (e != NULL && pos > e->pos)
        e->pos = pos;
}

void order_cache_hit(struct order_cache *c, uint64_t id, int64_t now_ms)
{
    c->hits++;
    struct entry *e = find(c, id);
    if (e != NULL) {
        unlink_entry(c, e);
        e->used_ms = now_ms;
        append(c, e);
    }
}

void order_cache_miss(struct order_cache *c)
{
    c->misses++;
}

void order_cache_loaded(struct order_cache *c, uint64_t id, int64_t now_ms)
{
    const struct order *o = book_get(c->book, id);
    if (o != NULL && order_status_terminal(o->status))
        keep(c, id, 0, now_ms);
}

size_t order_cache_evict(struct order_cache *c, int64_t now_ms, uint64_t durable)
{
    size_t n = 0;
    while (c->head != NULL) {
        struct entry *e = c->head;
        bool over = c->kept > c->max_orders;
        bool old = now_ms - e->used_ms >= c->ttl_ms;
        if (!(over || old) || e->pos > durable)
            break;
        /* A saga still finishing (not packed yet) keeps its order a turn. */
        if (c->engine && !engine_evict(c->engine, e->id))
            break;
        /* One not finished (or gone already) is forgotten, not counted:
         * it is noted again when it finishes. */
        bool left = book_evict(c->book, e->id);
        unlink_entry(c, e);
        int64_t unused;
        u64map_del(&c->by_id, e->id, &unused);
        free(e);
        c->kept--;
        if (left) {
            c->evictions++;
            n++;
        }
    }
    return n;
}

void order_cache_stats(const struct order_cache *c, struct order_cache_stats *st)
{
    *st = (struct order_cache_stats){.kept = c->kept, .max_orders = c->max_orders,
                                     .ttl_ms = c->ttl_ms, .hits = c->hits,
                                     .misses = c->misses, .evictions = c->evictions};
}
