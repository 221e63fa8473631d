/* The space kept reserved ahead of the journal covers what a loop turn
 * holds until its commit: for a turn three times the reserve, each change
 * admitted as the server admits it (store_writable() first), the space is
 * reserved before the commit writes it, and the reserve is ahead again
 * after. (Counting only what the journal had buffered, the turn was
 * written past the reservation: on a full disk, a failed write with
 * replies held instead of a refusal.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "orders/book.h"
#include "store/journal.h"
#include "store/journal_store.h"
#include "store/persist.h"
#include "store/store.h"
#include "support/world.h"

#define RESERVE (64 * 1024)

static void test_a_turn_larger_than_the_reserve_stays_within_it(void **state)
{
    (void)state;
    char dir[] = "/tmp/orderd-test-reserve-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct world w;
    world_init(&w, false);
    struct persist_target t = {.book = w.book, .channels = NULL, .dlq = NULL,
                               .engine = w.engine, .sim = w.sim};
    struct journal_options o = {.dir = dir, .fsync = FSYNC_NO, .compact_min = 1ULL << 40,
                                .reserve = RESERVE};
    struct store_env env = {.gate = NULL};
    char err[256];
    struct store *s = journal_store_open(&o, w.base, &w.clock, &t, &env, err, sizeof err);
    if (s == NULL)
        fail_msg("%s", err);
    /* One turn of ~200 KiB of orders: three times the reserve. */
    char customer[200];
    memset(customer, 'c', sizeof customer - 1);
    customer[sizeof customer - 1] = '\0';
    for (uint64_t id = 1; id <= 1000; id++) {
        assert_true(store_writable(s, err, sizeof err));
        struct order_fields f = {customer, "book", 1, 100, "USD", NULL};
        struct order_event ev = {.type = ORDER_EV_CREATED, .id = id, .time_ms = 1,
                                 .fields = &f};
        store_on_order(s, &ev, NULL, -1);
    }
    /* Before the commit: what the turn holds (positions count every
     * record made; the journal has none of them yet) is reserved for. */
    struct store_stats st;
    store_stats(s, &st);
    uint64_t held = store_end(s) - st.bytes;
    assert_true(held > 3 * RESERVE);
    assert_true(st.reserved >= held);
    store_commit(s);
    store_stats(s, &st);
    assert_true(st.file_size > 3 * RESERVE);
    /* Written within what was reserved, and the reserve is ahead again. */
    assert_true(st.reserved >= RESERVE / 2);
    char path[512];
    snprintf(path, sizeof path, "%s/journal", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true((uint64_t)sb.st_blocks * 512 >= (uint64_t)sb.st_size + RESERVE / 2);
    assert_int_equal(store_close(s), 0);
    world_free(&w);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_turn_larger_than_the_reserve_stays_within_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
