/* The saga state machine: the happy path, every compensation path, the
 * retry schedule, timeouts, dead-lettering and replay, cancel, and answers
 * that come late or twice. The "engine" here is this file: it plays the
 * actions back, giving each dispatched step a fresh message id. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "saga/saga.h"

struct run {
    struct saga s;
    struct saga_policy policy;
    struct saga_actions last;      /* actions of the last event */
    enum order_status status;      /* as the engine applied them */
    int statuses;                  /* ACT_STATUS seen */
    int finished;
    int deadlettered;
    uint64_t next_msg;
    uint64_t msg[SAGA_STEP_COUNT]; /* the message each step last got */
    int64_t retry_at[SAGA_STEP_COUNT];
    int dispatched[SAGA_STEP_COUNT];
    bool hold;                     /* pretend every breaker is open */
};

/* Plays actions back as the engine would: dispatch sends at once. */
static void play(struct run *r, int64_t now)
{
    struct saga_actions acts = r->last;
    for (int i = 0; i < acts.n; i++) {
        const struct saga_action *a = &acts.a[i];
        switch (a->type) {
        case ACT_DISPATCH:
            r->dispatched[a->step]++;
            if (r->hold) {
                saga_held(&r->s, a->step, now);
            } else {
                r->msg[a->step] = ++r->next_msg;
                saga_dispatched(&r->s, a->step, r->msg[a->step], now);
            }
            break;
        case ACT_RETRY:
            r->retry_at[a->step] = a->at;
            break;
        case ACT_STATUS:
            r->status = a->status;
            r->statuses++;
            break;
        case ACT_DEADLETTER:
            r->deadlettered++;
            break;
        case ACT_FINISHED:
            r->finished++;
            break;
        }
    }
}

static void start(struct run *r)
{
    memset(r, 0, sizeof *r);  /* a zeroed saga owns nothing yet */
    saga_policy_default(&r->policy);
    r->status = ORDER_PENDING;
    saga_start(&r->s, 42, 1000, &r->last);
    play(r, 1000);
}

static bool answer(struct run *r, enum saga_step st, enum step_outcome o, const char *reason,
                   int64_t now)
{
    r->last.n = 0;
    bool ok = saga_outcome(&r->s, st, r->msg[st], o, reason, now, 12345, &r->policy, &r->last);
    play(r, now);
    return ok;
}

static void expect_step(const struct run *r, enum saga_step st, enum step_state want)
{
    if (r->s.steps[st].state != want)
        fail_msg("%s is %s, expected %s", saga_step_name(st),
                 step_state_name(r->s.steps[st].state), step_state_name(want));
}

static void test_happy_path_reaches_delivered(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    expect_step(&r, SAGA_VALIDATE, STEP_RUNNING);
    expect_step(&r, SAGA_RESERVE, STEP_RUNNING);
    assert_true(answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 1001));
    assert_int_equal(r.status, ORDER_PENDING);  /* waits for validate too */
    assert_true(answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 1002));
    assert_int_equal(r.status, ORDER_RESERVED);
    expect_step(&r, SAGA_AUTHORIZE, STEP_RUNNING);
    answer(&r, SAGA_AUTHORIZE, OUTCOME_OK, NULL, 1003);
    assert_int_equal(r.status, ORDER_PAID);
    answer(&r, SAGA_DISPATCH, OUTCOME_OK, NULL, 1004);
    assert_int_equal(r.status, ORDER_SHIPPED);
    answer(&r, SAGA_DELIVER, OUTCOME_OK, NULL, 1005);
    assert_int_equal(r.status, ORDER_DELIVERED);
    assert_int_equal(r.finished, 1);
    assert_int_equal(r.statuses, 4);
    assert_string_equal(saga_state_name(&r.s), "done");
    assert_int_equal(r.dispatched[SAGA_REFUND] + r.dispatched[SAGA_RELEASE], 0);
    assert_int_equal(r.s.steps[SAGA_DELIVER].ended_ms, 1005);
    saga_release(&r.s);
}

static void test_declined_payment_releases_stock_and_fails(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 1);
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 2);
    answer(&r, SAGA_AUTHORIZE, OUTCOME_FAIL, "card declined", 3);
    expect_step(&r, SAGA_AUTHORIZE, STEP_FAILED);
    expect_step(&r, SAGA_RELEASE, STEP_RUNNING);
    assert_int_equal(r.dispatched[SAGA_REFUND], 0);  /* nothing was charged */
    assert_int_equal(r.status, ORDER_RESERVED);
    answer(&r, SAGA_RELEASE, OUTCOME_OK, NULL, 4);
    expect_step(&r, SAGA_RESERVE, STEP_COMPENSATED);
    assert_int_equal(r.status, ORDER_FAILED);
    assert_string_equal(saga_text(r.s.reason), "payment: card declined");
    assert_string_equal(saga_state_name(&r.s), "failed");
    assert_int_equal(r.finished, 1);
    saga_release(&r.s);
}

static void test_blocked_customer_fails_after_the_parallel_reserve_is_undone(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    answer(&r, SAGA_VALIDATE, OUTCOME_FAIL, "customer blocked", 1);
    /* Reserve is still out: the saga waits for it, then undoes it. */
    assert_int_equal(r.finished, 0);
    assert_int_equal(r.dispatched[SAGA_AUTHORIZE], 0);
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 2);
    expect_step(&r, SAGA_RELEASE, STEP_RUNNING);
    answer(&r, SAGA_RELEASE, OUTCOME_OK, NULL, 3);
    assert_int_equal(r.status, ORDER_FAILED);
    assert_string_equal(saga_text(r.s.reason), "customer: customer blocked");
    saga_release(&r.s);
}

static void test_out_of_stock_fails_without_compensation(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    answer(&r, SAGA_RESERVE, OUTCOME_FAIL, "out of stock", 1);
    assert_int_equal(r.finished, 0);          /* validate still out */
    answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 2);
    assert_int_equal(r.status, ORDER_FAILED);
    assert_int_equal(r.dispatched[SAGA_RELEASE], 0);
    assert_string_equal(saga_text(r.s.reason), "inventory: out of stock");
    saga_release(&r.s);
}

static void test_shipping_refused_refunds_and_releases(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 1);
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 2);
    answer(&r, SAGA_AUTHORIZE, OUTCOME_OK, NULL, 3);
    answer(&r, SAGA_DISPATCH, OUTCOME_FAIL, "no carrier", 4);
    expect_step(&r, SAGA_REFUND, STEP_RUNNING);
    expect_step(&r, SAGA_RELEASE, STEP_RUNNING);
    answer(&r, SAGA_REFUND, OUTCOME_OK, NULL, 5);
    assert_int_equal(r.finished, 0);
    answer(&r, SAGA_RELEASE, OUTCOME_OK, NULL, 6);
    expect_step(&r, SAGA_AUTHORIZE, STEP_COMPENSATED);
    assert_int_equal(r.status, ORDER_FAILED);
    saga_release(&r.s);
}

static void test_transient_failures_retry_with_full_jitter_then_dead_letter(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 0);
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 0);
    int64_t now = 100;
    /* base 100, cap 2000, 5 attempts: waits bounded by 100, 200, 400, 800. */
    int64_t bound[] = {100, 200, 400, 800};
    for (int i = 0; i < 4; i++) {
        answer(&r, SAGA_AUTHORIZE, OUTCOME_RETRY, "gateway error", now);
        expect_step(&r, SAGA_AUTHORIZE, STEP_WAITING);
        int64_t wait = r.retry_at[SAGA_AUTHORIZE] - now;
        assert_true(wait >= 0 && wait <= bound[i]);
        assert_int_equal(r.s.steps[SAGA_AUTHORIZE].next_retry_ms, r.retry_at[SAGA_AUTHORIZE]);
        now = r.retry_at[SAGA_AUTHORIZE];
        r.last.n = 0;
        saga_retry_due(&r.s, SAGA_AUTHORIZE, now, &r.last);
        play(&r, now);
        expect_step(&r, SAGA_AUTHORIZE, STEP_RUNNING);
        assert_int_equal(r.s.steps[SAGA_AUTHORIZE].attempts, (uint32_t)i + 2);
    }
    answer(&r, SAGA_AUTHORIZE, OUTCOME_RETRY, "gateway error", now);
    expect_step(&r, SAGA_AUTHORIZE, STEP_DEADLETTERED);
    assert_int_equal(r.deadlettered, 1);
    assert_true(r.s.attention);
    assert_string_equal(saga_state_name(&r.s), "dead-lettered");
    assert_string_equal(saga_text(r.s.steps[SAGA_AUTHORIZE].error), "gateway error after 5 attempts");
    assert_int_equal(r.status, ORDER_RESERVED);   /* the order keeps its status */
    assert_int_equal(r.finished, 0);
    saga_release(&r.s);
}

static void test_replay_resumes_at_the_dead_lettered_step(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    r.policy.max_attempts = 1;
    answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 0);
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 0);
    answer(&r, SAGA_AUTHORIZE, OUTCOME_RETRY, "down", 1);
    expect_step(&r, SAGA_AUTHORIZE, STEP_DEADLETTERED);
    assert_true(saga_replayed(&r.s, SAGA_AUTHORIZE, 10));
    assert_false(saga_replayed(&r.s, SAGA_AUTHORIZE, 10));
    assert_false(r.s.attention);
    /* The same message comes back: its answer is the one awaited. */
    assert_true(answer(&r, SAGA_AUTHORIZE, OUTCOME_OK, NULL, 11));
    assert_int_equal(r.status, ORDER_PAID);
    saga_release(&r.s);
}

static void test_timeouts_count_as_transient_failures(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    r.last.n = 0;
    assert_true(saga_timeout(&r.s, SAGA_VALIDATE, r.msg[SAGA_VALIDATE], 5000, 7, &r.policy,
                             &r.last));
    play(&r, 5000);
    expect_step(&r, SAGA_VALIDATE, STEP_WAITING);
    assert_string_equal(saga_text(r.s.steps[SAGA_VALIDATE].error), "timeout");
    /* A timeout for a message that is not the current one changes nothing. */
    r.last.n = 0;
    assert_false(saga_timeout(&r.s, SAGA_VALIDATE, 999, 5001, 7, &r.policy, &r.last));
    saga_release(&r.s);
}

static void test_late_and_repeated_answers_are_ignored(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    uint64_t first = r.msg[SAGA_VALIDATE];
    answer(&r, SAGA_VALIDATE, OUTCOME_RETRY, "flaky", 1);
    r.last.n = 0;
    saga_retry_due(&r.s, SAGA_VALIDATE, r.retry_at[SAGA_VALIDATE], &r.last);
    play(&r, r.retry_at[SAGA_VALIDATE]);
    /* The answer to the first attempt arrives late: not awaited. */
    r.last.n = 0;
    assert_false(saga_outcome(&r.s, SAGA_VALIDATE, first, OUTCOME_OK, NULL, 2, 0, &r.policy,
                              &r.last));
    assert_int_equal(r.last.n, 0);
    assert_true(answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 3));
    assert_false(answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 4));  /* a repeat */
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 5);
    assert_int_equal(r.dispatched[SAGA_AUTHORIZE], 1);  /* advanced exactly once */
    saga_release(&r.s);
}

static void test_cancel_once_shipping_runs_is_refused(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 1);
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 2);
    answer(&r, SAGA_AUTHORIZE, OUTCOME_OK, NULL, 3);
    /* PAID, shipping already asked: too late. */
    assert_false(saga_cancel(&r.s, "no", 4, &r.last));
    saga_release(&r.s);
}

static void test_cancel_when_paid_refunds_and_releases(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 1);
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 2);
    r.hold = true;  /* the shipping step is held: not started */
    answer(&r, SAGA_AUTHORIZE, OUTCOME_OK, NULL, 3);
    expect_step(&r, SAGA_DISPATCH, STEP_WAITING);
    r.hold = false;
    /* A held dispatch has not shipped anything: CANCEL is still possible. */
    r.last.n = 0;
    assert_true(saga_cancel(&r.s, "changed my mind", 4, &r.last));
    play(&r, 4);
    expect_step(&r, SAGA_REFUND, STEP_RUNNING);
    expect_step(&r, SAGA_RELEASE, STEP_RUNNING);
    answer(&r, SAGA_REFUND, OUTCOME_OK, NULL, 5);
    answer(&r, SAGA_RELEASE, OUTCOME_OK, NULL, 6);
    expect_step(&r, SAGA_DISPATCH, STEP_SKIPPED);
    assert_int_equal(r.status, ORDER_CANCELLED);
    assert_string_equal(saga_text(r.s.reason), "changed my mind");
    assert_string_equal(saga_state_name(&r.s), "cancelled");
    saga_release(&r.s);
}

static void test_cancel_while_reserve_runs_releases_when_it_lands(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    r.last.n = 0;
    assert_true(saga_cancel(&r.s, NULL, 1, &r.last));
    play(&r, 1);
    assert_int_equal(r.finished, 0);
    answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 2);
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 3);
    expect_step(&r, SAGA_RELEASE, STEP_RUNNING);
    assert_int_equal(r.dispatched[SAGA_AUTHORIZE], 0);
    answer(&r, SAGA_RELEASE, OUTCOME_OK, NULL, 4);
    assert_int_equal(r.status, ORDER_CANCELLED);
    assert_false(saga_cancel(&r.s, NULL, 5, &r.last));
    saga_release(&r.s);
}

static void test_cancel_of_a_dead_lettered_saga_compensates_instead(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    r.policy.max_attempts = 1;
    answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 0);
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 0);
    answer(&r, SAGA_AUTHORIZE, OUTCOME_RETRY, "down", 1);
    assert_true(r.s.attention);
    r.last.n = 0;
    assert_true(saga_cancel(&r.s, "stuck", 2, &r.last));
    play(&r, 2);
    assert_false(r.s.attention);
    expect_step(&r, SAGA_AUTHORIZE, STEP_SKIPPED);
    answer(&r, SAGA_RELEASE, OUTCOME_OK, NULL, 3);
    assert_int_equal(r.status, ORDER_CANCELLED);
    saga_release(&r.s);
}

static void test_a_refused_compensation_is_retried_not_abandoned(void **state)
{
    (void)state;
    struct run r;
    start(&r);
    answer(&r, SAGA_VALIDATE, OUTCOME_OK, NULL, 0);
    answer(&r, SAGA_RESERVE, OUTCOME_OK, NULL, 0);
    answer(&r, SAGA_AUTHORIZE, OUTCOME_FAIL, "declined", 1);
    answer(&r, SAGA_RELEASE, OUTCOME_FAIL, "warehouse says no", 2);
    expect_step(&r, SAGA_RELEASE, STEP_WAITING);
    assert_int_equal(r.finished, 0);
    saga_release(&r.s);
}

static void test_step_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        assert_int_equal(saga_step_parse(saga_step_name(i)), i);
    assert_int_equal(saga_step_parse("orders"), -1);
    assert_string_equal(saga_step_participant(SAGA_RELEASE), "inventory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path_reaches_delivered),
        cmocka_unit_test(test_declined_payment_releases_stock_and_fails),
        cmocka_unit_test(test_blocked_customer_fails_after_the_parallel_reserve_is_undone),
        cmocka_unit_test(test_out_of_stock_fails_without_compensation),
        cmocka_unit_test(test_shipping_refused_refunds_and_releases),
        cmocka_unit_test(test_transient_failures_retry_with_full_jitter_then_dead_letter),
        cmocka_unit_test(test_replay_resumes_at_the_dead_lettered_step),
        cmocka_unit_test(test_timeouts_count_as_transient_failures),
        cmocka_unit_test(test_late_and_repeated_answers_are_ignored),
        cmocka_unit_test(test_cancel_once_shipping_runs_is_refused),
        cmocka_unit_test(test_cancel_when_paid_refunds_and_releases),
        cmocka_unit_test(test_cancel_while_reserve_runs_releases_when_it_lands),
        cmocka_unit_test(test_cancel_of_a_dead_lettered_saga_compensates_instead),
        cmocka_unit_test(test_a_refused_compensation_is_retried_not_abandoned),
        cmocka_unit_test(test_step_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
