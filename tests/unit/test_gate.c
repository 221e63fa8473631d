/* While the store refuses changes, what changes state on its own waits:
 * saga timeouts do not fire, and once changes are taken again the time
 * they were refused is not charged to a participant, whose answer could
 * not have been taken meanwhile. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <string.h>

#include "lib/gate.h"
#include "saga/engine.h"
#include "support/world.h"

#define TIMEOUT "30"

static void ok(struct world *w, const char *a, const char *b, const char *c, const char *d,
               const char *e)
{
    struct reply *r = world_run(w, NULL, NULL, a, b, c, d, e, (const char *)NULL);
    if (r->type == REPLY_ERROR)
        fail_msg("%s: -%s %s", a, r->code, r->str);
    reply_free(r);
}

static uint64_t timeouts(struct world *w)
{
    struct engine_stats st;
    engine_stats(w->engine, &st);
    return st.timeouts;
}

/* Waits for the engine's timer, armed for a step timeout of a few ms. */
static void wait_for_the_step_timer(struct world *w)
{
    world_turn(w);
    event_base_loop(w->base, EVLOOP_ONCE);
    world_turn(w);
}

static void opened(void *arg)
{
    (*(int *)arg)++;
}

static void test_a_gate_calls_back_when_it_opens(void **state)
{
    (void)state;
    struct gate g;
    int n = 0;
    gate_init(&g);
    assert_false(gate_closed(&g));
    assert_false(gate_closed(NULL));
    assert_int_equal(gate_listen(&g, opened, &n), 0);
    gate_open(&g);  /* already open: nobody is called */
    assert_int_equal(n, 0);
    gate_close(&g);
    gate_close(&g);
    assert_true(gate_closed(&g));
    gate_open(&g);
    assert_int_equal(n, 1);
    for (int i = 1; i < GATE_MAX_LISTENERS; i++)
        assert_int_equal(gate_listen(&g, opened, &n), 0);
    assert_int_equal(gate_listen(&g, opened, &n), -1);
}

static bool answer;
static int asked;

static bool admit(void *arg)
{
    (void)arg;
    asked++;
    return answer;
}

/* An open gate asks before each piece of work (the store keeps its space
 * reserved there); a closed one does not need to. */
static void test_an_open_gate_asks_before_work(void **state)
{
    (void)state;
    struct gate g;
    gate_init(&g);
    g.admit = admit;
    answer = true;
    asked = 0;
    assert_false(gate_closed(&g));
    answer = false;
    assert_true(gate_closed(&g));
    assert_int_equal(asked, 2);
    gate_close(&g);
    assert_true(gate_closed(&g));
    assert_int_equal(asked, 2);
}

static void test_refused_time_is_not_charged_to_a_step(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, true);
    /* Nobody answers payment: its step runs until it times out. */
    ok(&w, "SIM", "SET", "payment", "enabled=0", NULL);
    ok(&w, "POLICY", "payment.authorize", "timeout=" TIMEOUT, NULL, NULL);
    ok(&w, "CREATE", "customer=alice", "item=book", "qty=1", "amount=1");
    world_turn(&w);
    const struct saga *s = engine_saga(w.engine, 1);
    assert_int_equal(s->steps[SAGA_AUTHORIZE].state, STEP_RUNNING);

    /* The store refuses changes for longer than the timeout. */
    double_refuse(&w, true);
    w.fake_mono += 100;
    wait_for_the_step_timer(&w);
    assert_int_equal(timeouts(&w), 0);
    assert_int_equal(s->steps[SAGA_AUTHORIZE].state, STEP_RUNNING);

    /* Taken again: the step's timeout starts over, it does not fire now. */
    w.fake_mono += 5;
    clock_tick(&w.clock);
    double_refuse(&w, false);
    world_turn(&w);
    assert_int_equal(timeouts(&w), 0);

    /* Its full timeout later, it does. */
    w.fake_mono += 31;
    wait_for_the_step_timer(&w);
    assert_int_equal(timeouts(&w), 1);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_gate_calls_back_when_it_opens),
        cmocka_unit_test(test_an_open_gate_asks_before_work),
        cmocka_unit_test(test_refused_time_is_not_charged_to_a_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
