/* The simulated participants' own state as records: what orders reserve and
 * charge comes out of a snapshot, records applied snapshot back to
 * themselves, a state rebuilt from a snapshot snapshots the same, and an
 * order named by anything but its id in decimal is refused.
 * Snapshots are compared as sorted lines, since map order is not kept. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/sim.h"
#include "support/world.h"

#define MAX_LINES 64

struct lines {
    char text[MAX_LINES][64];
    size_t n;
};

static void collect(void *arg, enum sim_record type, const char *key, int64_t value)
{
    struct lines *l = arg;
    assert_true(l->n < MAX_LINES);
    snprintf(l->text[l->n++], sizeof l->text[0], "%d %s %lld", (int)type, key,
             (long long)value);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void snapshot(struct world *w, struct lines *l)
{
    memset(l, 0, sizeof *l);
    sim_snapshot(w->sim, collect, l);
    qsort(l->text, l->n, sizeof l->text[0], by_text);
}

static void assert_same(const struct lines *a, const struct lines *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->text[i], b->text[i]);
}

static void assert_has(const struct lines *l, const char *line)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->text[i], line) == 0)
            return;
    fail_msg("no \"%s\" in the snapshot", line);
}

/* Each line of a snapshot applied to w, as recovery applies records. */
static void apply_lines(struct world *w, const struct lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        int type;
        char key[32];
        long long value;
        /* A stock default's key is empty: "5  1000000". */
        if (sscanf(l->text[i], "%d %31[^ ] %lld", &type, key, &value) != 3) {
            key[0] = '\0';
            assert_int_equal(sscanf(l->text[i], "%d  %lld", &type, &value), 2);
        }
        assert_int_equal(sim_apply(w->sim, (enum sim_record)type, key, value), 0);
    }
}

static void ok(struct world *w, const char *a, const char *b, const char *c, const char *d,
               const char *e)
{
    struct reply *r = world_run(w, NULL, NULL, a, b, c, d, e, (const char *)NULL);
    if (r->type == REPLY_ERROR)
        fail_msg("%s: -%s %s", a, r->code, r->str);
    reply_free(r);
}

/* Orders run through their sagas reserve stock and are charged, each once
 * and under the order's id; a state rebuilt from the snapshot is the same. */
static void test_orders_leave_reservations_and_charges(void **state)
{
    (void)state;
    struct world w, back;
    world_init(&w, true);
    ok(&w, "STOCK", "SET", "pen", "10", NULL);
    ok(&w, "CREATE", "customer=ann", "item=pen", "qty=2", "amount=3.50");
    ok(&w, "CREATE", "customer=bob", "item=pen", "qty=3", "amount=1");
    world_turn(&w);
    struct lines l, rebuilt;
    snapshot(&w, &l);
    assert_has(&l, "2 1 2");
    assert_has(&l, "2 2 3");
    assert_has(&l, "3 1 350");
    assert_has(&l, "3 2 100");
    assert_has(&l, "1 pen 5");
    world_init(&back, false);
    apply_lines(&back, &l);
    snapshot(&back, &rebuilt);
    assert_same(&l, &rebuilt);
    world_free(&back);
    world_free(&w);
}

/* Releases and refunds (value 0) remove what they undo; the largest order
 * id is an order id like any other. */
static void test_records_apply_and_snapshot_back(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, false);
    static const struct {
        enum sim_record type;
        const char *key;
        int64_t value;
    } recs[] = {
        {SIMREC_STOCK_DEFAULT, "", 42},
        {SIMREC_STOCK, "sku-1", 7},
        {SIMREC_STOCK, "sku-2", 0},
        {SIMREC_RESERVATION, "1", 2},
        {SIMREC_RESERVATION, "18446744073709551615", 1},
        {SIMREC_RESERVATION, "3", 4},
        {SIMREC_RESERVATION, "3", 0},
        {SIMREC_RESERVATION, "9", 0},
        {SIMREC_CHARGE, "1", 1999},
        {SIMREC_CHARGE, "12345678901", 5},
        {SIMREC_CHARGE, "12345678901", 0},
        {SIMREC_CHARGE, "4", 1},
        {SIMREC_BLOCK, "eve", 1},
        {SIMREC_BLOCK, "mallory", 1},
        {SIMREC_BLOCK, "mallory", 0},
    };
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++)
        assert_int_equal(sim_apply(w.sim, recs[i].type, recs[i].key, recs[i].value), 0);
    struct lines l;
    snapshot(&w, &l);
    const char *want[] = {
        "1 sku-1 7", "1 sku-2 0", "2 1 2", "2 18446744073709551615 1",
        "3 1 1999", "3 4 1", "4 eve 1", "5  42",
    };
    assert_int_equal(l.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < l.n; i++)
        assert_string_equal(l.text[i], want[i]);
    assert_int_equal(sim_stock(w.sim, "sku-1"), 7);
    assert_int_equal(sim_stock(w.sim, "sku-2"), 0);
    assert_int_equal(sim_stock(w.sim, "sku-3"), 42);
    world_free(&w);
}

/* Records have only ever named an order as order_key() writes it. Any
 * other text for an order is a journal that is not ours, refused like a
 * record that does not decode, and it changes nothing. */
static void test_a_key_that_is_not_an_order_id_is_refused(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, false);
    static const char *bad[] = {
        "", "abc", "01", "00", "+1", "-1", " 1", "1 ", "1x", "0x10", "1e3",
        "18446744073709551616", "99999999999999999999", "184467440737095516150",
    };
    struct lines before, after;
    snapshot(&w, &before);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sim_apply(w.sim, SIMREC_RESERVATION, bad[i], 1), -1);
        assert_int_equal(sim_apply(w.sim, SIMREC_CHARGE, bad[i], 1), -1);
        assert_int_equal(sim_apply(w.sim, SIMREC_CHARGE, bad[i], 0), -1);
    }
    snapshot(&w, &after);
    assert_same(&before, &after);
    /* 0 is written "0", the one digit that may lead. */
    assert_int_equal(sim_apply(w.sim, SIMREC_RESERVATION, "0", 1), 0);
    snapshot(&w, &after);
    assert_has(&after, "2 0 1");
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orders_leave_reservations_and_charges),
        cmocka_unit_test(test_records_apply_and_snapshot_back),
        cmocka_unit_test(test_a_key_that_is_not_an_order_id_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
