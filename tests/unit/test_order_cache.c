/* The tracking cache (cache/order_cache.h), on a real book and no engine:
 * finished orders past the limit leave least recently used first, a hit
 * makes one the most recent, the time to live counts from the last use,
 * nothing leaves before what it became is durable, an order in flight
 * never leaves, what leaving does to the book, a reloaded order is kept
 * again, and the counters add up. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cache/order_cache.h"
#include "orders/book.h"

#define LONG_TTL (INT64_C(1) << 40)

static const struct order_fields plain = {
    .customer = "alice", .item = "book", .qty = 1, .amount = 1999,
    .currency = "USD", .key = NULL,
};

/* The moves from PENDING to `to` (DELIVERED along the happy path; FAILED
 * from RESERVED; CANCELLED straight away), as events at t+1, t+2, ... */
static size_t moves_to(enum order_status to, uint64_t id, int64_t t, struct order_event *mv)
{
    static const enum order_status happy[] = {ORDER_RESERVED, ORDER_PAID, ORDER_SHIPPED,
                                              ORDER_DELIVERED};
    size_t n = 0;
    if (to == ORDER_DELIVERED) {
        for (size_t i = 0; i < 4; i++)
            mv[n++] = (struct order_event){.type = ORDER_EV_TRANSITION, .id = id,
                                           .time_ms = t + (int64_t)i + 1, .to = happy[i],
                                           .source = "saga"};
    } else if (to == ORDER_FAILED) {
        mv[n++] = (struct order_event){.type = ORDER_EV_TRANSITION, .id = id, .time_ms = t + 1,
                                       .to = ORDER_RESERVED, .source = "saga"};
        mv[n++] = (struct order_event){.type = ORDER_EV_TRANSITION, .id = id, .time_ms = t + 2,
                                       .to = ORDER_FAILED, .source = "saga",
                                       .note = "card declined"};
    } else if (to == ORDER_CANCELLED) {
        mv[n++] = (struct order_event){.type = ORDER_EV_TRANSITION, .id = id, .time_ms = t + 1,
                                       .to = ORDER_CANCELLED, .source = "client",
                                       .note = "changed mind"};
    } else {
        static const enum order_status path[] = {ORDER_RESERVED, ORDER_PAID, ORDER_SHIPPED};
        for (size_t i = 0; i < 3 && path[i] <= to; i++)
            mv[n++] = (struct order_event){.type = ORDER_EV_TRANSITION, .id = id,
                                           .time_ms = t + (int64_t)i + 1, .to = path[i],
                                           .source = "saga"};
    }
    return n;
}

/* A new order, moved to `to` through the book; returns its id. */
static uint64_t order_in(struct book *b, enum order_status to, int64_t t)
{
    const struct order *o = book_create(b, &plain, t);
    assert_non_null(o);
    uint64_t id = o->id;
    struct order_event mv[8];
    size_t n = moves_to(to, id, t, mv);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(book_transition(b, id, mv[i].to, mv[i].source, mv[i].note,
                                         mv[i].time_ms),
                         BOOK_OK);
    assert_int_equal(book_get(b, id)->status, to);
    return id;
}

/* Puts an order that left back, as a store would: created at t with
 * `plain`, then the moves to `to`. */
static void reload(struct book *b, uint64_t id, enum order_status to, int64_t t)
{
    struct order_event created = {.type = ORDER_EV_CREATED, .id = id, .time_ms = t,
                                  .fields = &plain};
    struct order_event mv[8];
    size_t n = moves_to(to, id, t, mv);
    assert_int_equal(book_reload(b, &created, mv, n), BOOK_OK);
    assert_non_null(book_get(b, id));
}

static struct order_cache_stats stats_of(const struct order_cache *c)
{
    struct order_cache_stats st;
    order_cache_stats(c, &st);
    return st;
}

/* Which of ids 1..n are in memory, as a string of '1' and '.', so a
 * failure shows the whole picture. */
static const char *present(const struct book *b, uint64_t n)
{
    static char s[64];
    assert_true(n < sizeof s);
    for (uint64_t id = 1; id <= n; id++)
        s[id - 1] = book_get(b, id) ? '1' : '.';
    s[n] = '\0';
    return s;
}

static void test_past_the_limit_least_recently_used_leave_first(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct order_cache *c = order_cache_new(b, NULL, 3, LONG_TTL);
    for (int i = 0; i < 5; i++) {
        uint64_t id = order_in(b, i % 2 ? ORDER_FAILED : ORDER_DELIVERED, 100 * i);
        order_cache_finished(c, id, 0, 100 * i + 50);
    }
    assert_int_equal(stats_of(c).kept, 5);
    /* Nothing is over its time: only the limit makes them leave. */
    assert_int_equal(order_cache_evict(c, 1000, 0), 2);
    assert_string_equal(present(b, 5), "..111");
    assert_int_equal(stats_of(c).kept, 3);
    /* At the limit, nothing more leaves. */
    assert_int_equal(order_cache_evict(c, 2000, 0), 0);
    assert_string_equal(present(b, 5), "..111");

    /* One more finished: the oldest of those left goes. */
    uint64_t id = order_in(b, ORDER_CANCELLED, 3000);
    order_cache_finished(c, id, 0, 3000);
    assert_int_equal(order_cache_evict(c, 3000, 0), 1);
    assert_string_equal(present(b, 6), "...111");
    order_cache_free(c);
    book_free(b);
}

static void test_a_hit_makes_an_order_the_most_recent(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct order_cache *c = order_cache_new(b, NULL, 3, LONG_TTL);
    for (int i = 0; i < 3; i++)
        order_cache_finished(c, order_in(b, ORDER_DELIVERED, i * 10), 0, i * 10 + 5);
    /* Order 1, the least recently used, is read. */
    order_cache_hit(c, 1, 100);
    order_cache_finished(c, order_in(b, ORDER_CANCELLED, 200), 0, 200);
    assert_int_equal(order_cache_evict(c, 300, 0), 1);
    assert_string_equal(present(b, 4), "1.11");  /* 2 left, not 1 */
    /* Next in line is 3, then 1 (read at 100), then 4. */
    order_cache_finished(c, order_in(b, ORDER_CANCELLED, 400), 0, 400);
    assert_int_equal(order_cache_evict(c, 500, 0), 1);
    assert_string_equal(present(b, 5), "1..11");
    order_cache_finished(c, order_in(b, ORDER_CANCELLED, 600), 0, 600);
    assert_int_equal(order_cache_evict(c, 700, 0), 1);
    assert_string_equal(present(b, 6), "...111");
    assert_int_equal(stats_of(c).hits, 1);
    order_cache_free(c);
    book_free(b);
}

static void test_time_to_live_counts_from_the_last_use(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct order_cache *c = order_cache_new(b, NULL, 100, 1000);
    order_cache_finished(c, order_in(b, ORDER_DELIVERED, 0), 0, 100);
    order_cache_finished(c, order_in(b, ORDER_FAILED, 0), 0, 500);
    order_cache_finished(c, order_in(b, ORDER_CANCELLED, 0), 0, 600);
    order_cache_hit(c, 3, 900);  /* 3 was used last at 900 */

    assert_int_equal(order_cache_evict(c, 1099, 0), 0);  /* used + ttl - 1 */
    assert_string_equal(present(b, 3), "111");
    assert_int_equal(order_cache_evict(c, 1100, 0), 1);  /* used + ttl */
    assert_string_equal(present(b, 3), ".11");
    assert_int_equal(order_cache_evict(c, 1499, 0), 0);
    assert_string_equal(present(b, 3), ".11");
    assert_int_equal(order_cache_evict(c, 1500, 0), 1);
    assert_string_equal(present(b, 3), "..1");
    /* 3 finished at 600, but was read at 900: 1600 is not its time. */
    assert_int_equal(order_cache_evict(c, 1600, 0), 0);
    assert_string_equal(present(b, 3), "..1");
    assert_int_equal(order_cache_evict(c, 1899, 0), 0);
    assert_int_equal(order_cache_evict(c, 1900, 0), 1);
    assert_string_equal(present(b, 3), "...");
    assert_int_equal(stats_of(c).kept, 0);
    order_cache_free(c);
    book_free(b);
}

static void test_nothing_leaves_before_it_is_durable(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct order_cache *c = order_cache_new(b, NULL, 1, 1000);
    order_cache_finished(c, order_in(b, ORDER_DELIVERED, 0), 10, 0);
    order_cache_finished(c, order_in(b, ORDER_CANCELLED, 0), 20, 0);

    /* Over the limit, and past its time, but durable only up to 9. */
    assert_int_equal(order_cache_evict(c, 5000, 9), 0);
    assert_string_equal(present(b, 2), "11");
    assert_int_equal(stats_of(c).kept, 2);
    /* Durable up to its position: 1 leaves; 2 (at 20) must wait. */
    assert_int_equal(order_cache_evict(c, 5000, 10), 1);
    assert_string_equal(present(b, 2), ".1");
    assert_int_equal(order_cache_evict(c, 5000, 19), 0);
    assert_string_equal(present(b, 2), ".1");
    assert_int_equal(order_cache_evict(c, 5000, 20), 1);
    assert_string_equal(present(b, 2), "..");

    /* Finished again at a later position (noted twice): the later one
     * counts. */
    order_cache_finished(c, order_in(b, ORDER_FAILED, 0), 30, 6000);
    order_cache_finished(c, 3, 25, 6000);
    assert_int_equal(order_cache_evict(c, 9000, 29), 0);
    assert_non_null(book_get(b, 3));
    assert_int_equal(order_cache_evict(c, 9000, 30), 1);
    assert_null(book_get(b, 3));
    order_cache_free(c);
    book_free(b);
}

static void test_an_order_in_flight_never_leaves(void **state)
{
    (void)state;
    struct book *b = book_new();
    /* No room at all and no time to live: anything that may leave does. */
    struct order_cache *c = order_cache_new(b, NULL, 0, 0);
    uint64_t ids[4];
    ids[0] = order_in(b, ORDER_PENDING, 0);
    ids[1] = order_in(b, ORDER_RESERVED, 0);
    ids[2] = order_in(b, ORDER_PAID, 0);
    ids[3] = order_in(b, ORDER_SHIPPED, 0);
    /* Noted as finished by mistake, and "loaded". */
    for (int i = 0; i < 4; i++)
        order_cache_finished(c, ids[i], 0, 0);
    order_cache_loaded(c, ids[0], 0);
    order_cache_evict(c, 100000, 100000);
    assert_string_equal(present(b, 4), "1111");
    assert_int_equal(book_in_memory(b), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(book_get(b, ids[i])->nhistory, (size_t)i + 1);
    /* And they can still move on, and finish. */
    assert_int_equal(book_transition(b, ids[3], ORDER_DELIVERED, "saga", NULL, 1), BOOK_OK);

    /* One that is loaded while in flight is not kept either. */
    struct order_cache *c2 = order_cache_new(b, NULL, 0, 0);
    order_cache_loaded(c2, ids[1], 0);
    assert_int_equal(stats_of(c2).kept, 0);
    assert_int_equal(order_cache_evict(c2, 100000, 100000), 0);
    assert_non_null(book_get(b, ids[1]));
    order_cache_free(c2);
    order_cache_free(c);
    book_free(b);
}

/* A book and a cache freed by the teardown, so that a failed assertion
 * does not leak them (and fail the ASan build a second time). */
struct fixture {
    struct book *b;
    struct order_cache *c;
};

static int setup_no_room(void **state)
{
    static struct fixture f;
    f.b = book_new();
    f.c = order_cache_new(f.b, NULL, 0, 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    order_cache_free(f->c);
    book_free(f->b);
    return 0;
}

/* An entry whose order book_evict() refuses (not finished) is forgotten,
 * not counted: order_cache_evict() returns, and the evictions counter
 * shows, only orders that left memory. */
static void test_evict_counts_only_orders_that_left(void **state)
{
    struct fixture *f = *state;
    struct book *b = f->b;
    struct order_cache *c = f->c;
    uint64_t pending = order_in(b, ORDER_PENDING, 0);
    uint64_t paid = order_in(b, ORDER_PAID, 0);
    uint64_t done = order_in(b, ORDER_DELIVERED, 0);
    order_cache_finished(c, pending, 0, 0);  /* noted by mistake */
    order_cache_finished(c, paid, 0, 0);     /* noted by mistake */
    order_cache_finished(c, done, 0, 0);
    size_t left = order_cache_evict(c, 100000, 100000);
    assert_string_equal(present(b, 3), "11.");  /* only the delivered one left */
    assert_int_equal(book_in_memory(b), 2);
    assert_int_equal(left, 1);
    assert_int_equal(stats_of(c).evictions, 1);
}

static void test_leaving_keeps_what_the_book_knows(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct order_cache *c = order_cache_new(b, NULL, 0, LONG_TTL);
    uint64_t d = order_in(b, ORDER_DELIVERED, 0);
    uint64_t f = order_in(b, ORDER_FAILED, 0);
    uint64_t x = order_in(b, ORDER_CANCELLED, 0);
    uint64_t p = order_in(b, ORDER_PAID, 0);
    size_t before[ORDER_STATUS_COUNT];
    for (int s = 0; s < ORDER_STATUS_COUNT; s++)
        before[s] = book_count_status(b, (enum order_status)s);
    assert_int_equal(book_in_memory(b), 4);

    order_cache_finished(c, d, 0, 0);
    order_cache_finished(c, f, 0, 0);
    order_cache_finished(c, x, 0, 0);
    assert_int_equal(order_cache_evict(c, 1, 0), 3);

    assert_null(book_get(b, d));
    assert_null(book_get(b, f));
    assert_null(book_get(b, x));
    assert_non_null(book_get(b, p));
    assert_true(book_exists(b, d));
    assert_true(book_exists(b, f));
    assert_true(book_exists(b, x));
    assert_false(book_exists(b, 5));
    assert_int_equal(book_last_id(b), 4);
    assert_int_equal(book_in_memory(b), 1);
    for (int s = 0; s < ORDER_STATUS_COUNT; s++)
        assert_int_equal(book_count_status(b, (enum order_status)s), before[s]);
    /* LIST still finds them. */
    struct book_filter delivered = {.status = ORDER_DELIVERED, .customer = NULL};
    assert_int_equal(book_next(b, &delivered, 0), d);
    struct book_filter hers = {.status = ORDER_CANCELLED, .customer = "alice"};
    assert_int_equal(book_next(b, &hers, 0), x);
    struct book_filter any = {.status = -1, .customer = NULL};
    assert_int_equal(book_next(b, &any, 0), 1);
    assert_int_equal(book_next(b, &any, 1), 2);
    order_cache_free(c);
    book_free(b);
}

static void test_a_reloaded_order_is_kept_again(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct order_cache *c = order_cache_new(b, NULL, 1, LONG_TTL);
    order_cache_finished(c, order_in(b, ORDER_DELIVERED, 0), 0, 10);
    order_cache_finished(c, order_in(b, ORDER_FAILED, 0), 0, 20);
    assert_int_equal(order_cache_evict(c, 30, 0), 1);
    assert_string_equal(present(b, 2), ".1");

    /* A read of 1 misses; the store loads it back. */
    order_cache_miss(c);
    reload(b, 1, ORDER_DELIVERED, 0);
    order_cache_loaded(c, 1, 40);
    assert_int_equal(stats_of(c).kept, 2);
    /* 1 is the most recently used now: 2 goes. */
    assert_int_equal(order_cache_evict(c, 50, 0), 1);
    assert_string_equal(present(b, 2), "1.");
    /* And 1 can leave again, once more are finished. */
    order_cache_finished(c, order_in(b, ORDER_CANCELLED, 0), 0, 60);
    assert_int_equal(order_cache_evict(c, 70, 0), 1);
    assert_string_equal(present(b, 3), "..1");

    /* A load that did not put it in memory keeps nothing. */
    order_cache_loaded(c, 2, 80);
    assert_int_equal(stats_of(c).kept, 1);
    order_cache_free(c);
    book_free(b);
}

static void test_the_counters_add_up(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct order_cache *c = order_cache_new(b, NULL, 4, 1000);
    struct order_cache_stats st = stats_of(c);
    assert_int_equal(st.kept, 0);
    assert_int_equal(st.max_orders, 4);
    assert_int_equal(st.ttl_ms, 1000);
    assert_int_equal(st.hits + st.misses + st.evictions, 0);

    size_t finished = 0, loaded = 0, evicted = 0, hits = 0, misses = 0;
    int64_t now = 0;
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 3; i++) {
            uint64_t id = order_in(b, (enum order_status)(ORDER_DELIVERED + i), now);
            order_cache_finished(c, id, 0, now);
            order_cache_finished(c, id, 0, now);  /* noted twice: kept once */
            finished++;
        }
        /* Read every order: those in memory are hits, the rest are
         * misses that the store loads back. */
        for (uint64_t id = 1; id <= book_last_id(b); id += 2) {
            const struct order *o = book_get(b, id);
            if (o != NULL) {
                order_cache_hit(c, id, now);
                hits++;
            } else {
                order_cache_miss(c);
                misses++;
                enum order_status s = (enum order_status)(ORDER_DELIVERED + (id - 1) % 3);
                reload(b, id, s, 0);
                order_cache_loaded(c, id, now);
                loaded++;
            }
        }
        now += round % 2 ? 2000 : 10;
        evicted += order_cache_evict(c, now, 0);
        st = stats_of(c);
        assert_int_equal(st.kept, finished + loaded - evicted);
        assert_int_equal(st.kept, book_in_memory(b));  /* all of them are finished */
        assert_true(st.kept <= 4);
        assert_int_equal(st.hits, hits);
        assert_int_equal(st.misses, misses);
        assert_int_equal(st.evictions, evicted);
        assert_int_equal(book_last_id(b) - book_in_memory(b), evicted - loaded);
    }
    assert_true(hits > 0);
    assert_true(misses > 0);
    assert_true(evicted > 0);
    order_cache_free(c);
    book_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_past_the_limit_least_recently_used_leave_first),
        cmocka_unit_test(test_a_hit_makes_an_order_the_most_recent),
        cmocka_unit_test(test_time_to_live_counts_from_the_last_use),
        cmocka_unit_test(test_nothing_leaves_before_it_is_durable),
        cmocka_unit_test(test_an_order_in_flight_never_leaves),
        cmocka_unit_test_setup_teardown(test_evict_counts_only_orders_that_left, setup_no_room,
                                        teardown),
        cmocka_unit_test(test_leaving_keeps_what_the_book_knows),
        cmocka_unit_test(test_a_reloaded_order_is_kept_again),
        cmocka_unit_test(test_the_counters_add_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
