/* The tracking cache: which finished orders stay in memory. With a store
 * that can load orders back (the PostgreSQL store), an order that is
 * DELIVERED, FAILED or CANCELLED, and its saga, leave memory when it was
 * last used longer than the time to live ago, or when more finished
 * orders than the limit are kept (least recently used first). Orders in
 * flight always stay. A read of one that left is a miss: the store loads
 * it, and it is kept again, as the most recently used.
 *
 * An order leaves only once everything it became is durable: a miss reads
 * it back as it was. */
#ifndef CACHE_ORDER_CACHE_H
#define CACHE_ORDER_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct book;
struct engine;
struct order_cache;

#define CACHE_ORDERS_DEFAULT 100000
#define CACHE_TTL_MS_DEFAULT (3600 * 1000)

/* book and engine (may be NULL) are borrowed. */
struct order_cache *order_cache_new(struct book *book, struct engine *engine, size_t max_orders,
                                    int64_t ttl_ms);
void order_cache_free(struct order_cache *c);

/* The order finished at now_ms: kept, as the most recently used, until it
 * may leave; not before the store is durable up to pos. */
void order_cache_finished(struct order_cache *c, uint64_t id, uint64_t pos, int64_t now_ms);
/* Something of a finished order changed still (its saga, compensating
 * after a CANCEL, finishes later): not before durable up to pos. */
void order_cache_changed(struct order_cache *c, uint64_t id, uint64_t pos);
/* A read found it in memory (a hit): most recently used again. */
void order_cache_hit(struct order_cache *c, uint64_t id, int64_t now_ms);
/* A read did not find it (a miss), and the store loaded it back. */
void order_cache_miss(struct order_cache *c);
void order_cache_loaded(struct order_cache *c, uint64_t id, int64_t now_ms);

/* Lets go of those past their time or over the limit, whose changes are
 * durable up to durable. Returns how many left. */
size_t order_cache_evict(struct order_cache *c, int64_t now_ms, uint64_t durable);

struct order_cache_stats {
    size_t kept;              /* finished orders in memory */
    size_t max_orders;
    int64_t ttl_ms;
    uint64_t hits, misses, evictions;
};
void order_cache_stats(const struct order_cache *c, struct order_cache_stats *st);

#endif
