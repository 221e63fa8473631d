/* A long recovery says how far it is, every second or so, instead of
 * starting in silence: replaying a journal of 300,000 orders on a clock
 * that moves 600 ms at every look logs progress lines with the records
 * and bytes so far, and every order is there at the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "orders/book.h"
#include "store/journal.h"
#include "store/journal_store.h"
#include "store/persist.h"
#include "store/store.h"
#include "support/world.h"

#define ORDERS 300000

static int64_t mono_now;

static int64_t wall(void *arg)
{
    (void)arg;
    return 1800000000000LL;
}

/* Each look at the clock finds 600 ms gone by. */
static int64_t mono(void *arg)
{
    (void)arg;
    return mono_now += 600;
}

static void write_journal(const char *path)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    struct buf rec, framed;
    buf_init(&rec);
    buf_init(&framed);
    buf_append(&framed, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
    for (uint64_t id = 1; id <= ORDERS; id++) {
        struct order_fields fields = {"alice", "book", 1, 100, "USD", NULL};
        struct order_event ev = {.type = ORDER_EV_CREATED, .id = id, .time_ms = 1,
                                 .fields = &fields};
        uint8_t type;
        buf_clear(&rec);
        persist_encode_order(&rec, &ev, &type);
        journal_frame(&framed, type, buf_head(&rec), buf_used(&rec));
        if (buf_used(&framed) > (1 << 20)) {
            assert_int_equal(fwrite(buf_head(&framed), 1, buf_used(&framed), f),
                             buf_used(&framed));
            buf_clear(&framed);
        }
    }
    assert_int_equal(fwrite(buf_head(&framed), 1, buf_used(&framed), f), buf_used(&framed));
    fclose(f);
    buf_free(&rec);
    buf_free(&framed);
}

static void test_a_long_recovery_says_how_far_it_is(void **state)
{
    (void)state;
    char dir[] = "/tmp/orderd-test-progress-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], logpath[256], err[256];
    snprintf(path, sizeof path, "%s/journal", dir);
    snprintf(logpath, sizeof logpath, "%s/log", dir);
    write_journal(path);
    assert_int_equal(log_setup("info", logpath, err, sizeof err), 0);

    struct world w;
    world_init(&w, false);
    struct clock clk;
    clock_init(&clk, &(struct clock_source){wall, mono, NULL});
    struct persist_target t = {.book = w.book, .channels = NULL, .dlq = NULL,
                               .engine = w.engine, .sim = w.sim};
    struct journal_options o = {.dir = dir, .fsync = FSYNC_NO, .compact_min = 1ULL << 40,
                                .reserve = JOURNAL_RESERVE_MIN};
    struct store_env env = {.gate = NULL};
    struct store *s = journal_store_open(&o, w.base, &clk, &t, &env, err, sizeof err);
    if (s == NULL)
        fail_msg("%s", err);
    assert_int_equal(book_last_id(w.book), ORDERS);
    store_close(s);
    world_free(&w);

    FILE *f = fopen(logpath, "r");
    assert_non_null(f);
    char line[512];
    int progress = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "event=recovering path=") && strstr(line, " records=") &&
            strstr(line, " bytes=") && strstr(line, " of="))
            progress++;
    fclose(f);
    assert_true(progress >= 2);
    unlink(logpath);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_long_recovery_says_how_far_it_is),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
