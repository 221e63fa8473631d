/* A change of a saga's text alone reaches the store: SAGA ABORT while the
 * saga is already compensating, in the same millisecond, changes its
 * reason and nothing else. The engine tells a changed text by what it
 * says, not by its address, which malloc may hand back for the new text
 * once the old one is freed (a recovery test once caught that; this
 * allocator happens not to reuse the block here, so the test holds the
 * reason-only change, not the reuse). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "saga/engine.h"
#include "saga/saga.h"
#include "store/store.h"
#include "support/world.h"
#include "xalloc.h"

struct seen {
    char reason[128];   /* order 1's last reported reason */
    int state;
    int reports;
};

static void tap_order(void *be, const struct order_event *ev) { (void)be; (void)ev; }
static void tap_change(void *be, const struct chan_change *c) { (void)be; (void)c; }
static void tap_sim(void *be, int type, const char *key, int64_t value)
{
    (void)be;
    (void)type;
    (void)key;
    (void)value;
}
static void tap_commit(void *be) { (void)be; }

static void tap_saga(void *be, const struct saga *s, const struct tracking *t)
{
    struct seen *seen = be;
    (void)t;
    if (s->order != 1)
        return;
    snprintf(seen->reason, sizeof seen->reason, "%s", saga_text(s->reason));
    seen->state = s->state;
    seen->reports++;
}

static const struct store_ops tap = {
    .name = "tap", .order = tap_order, .change = tap_change, .saga = tap_saga,
    .sim = tap_sim, .commit = tap_commit,
};

static void run(struct world *w, const char *a, const char *b, const char *c, const char *d)
{
    struct reply *r = world_run(w, NULL, NULL, a, b, c, d, (const char *)NULL);
    assert_non_null(r);
    if (r->type == REPLY_ERROR)
        fail_msg("%s %s: -%s %s", a, b, r->code, r->str);
    reply_free(r);
}

static void test_an_abort_while_compensating_is_recorded(void **state)
{
    (void)state;
    struct seen seen = {0};
    struct world w;
    world_build(&w, true, &tap, &seen);
    world_start(&w);
    /* Reserving takes 3 ms; the customer is refused at once, so the saga
     * is compensating (waiting for the reservation to release it) when
     * the ABORT comes, in the same millisecond. */
    run(&w, "SIM", "SET", "inventory", "latency=3");
    run(&w, "CUSTOMER", "BLOCK", "mallory", NULL);
    struct reply *r = world_run(&w, NULL, NULL, "CREATE", "customer=mallory", "item=lamp",
                                "qty=1", "amount=1.00", (const char *)NULL);
    reply_free(r);
    world_turn(&w);
    const struct saga *s = engine_saga(w.engine, 1);
    assert_non_null(s);
    assert_int_equal(s->state, SAGA_COMPENSATING);
    assert_non_null(strstr(seen.reason, "blocked"));
    int before = seen.reports;
    run(&w, "SAGA", "ABORT", "1", "reason=fraud suspected");
    assert_true(seen.reports > before);
    assert_string_equal(seen.reason, "aborted: fraud suspected");
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_abort_while_compensating_is_recorded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
