/* The circuit breaker's state machine, with time moved by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "saga/breaker.h"

static struct breaker fresh(void)
{
    struct breaker_config cfg;
    struct breaker b;
    breaker_config_default(&cfg);
    breaker_init(&b, &cfg);
    return b;
}

static void calls(struct breaker *b, int n, bool failed, int64_t now)
{
    for (int i = 0; i < n; i++) {
        assert_true(breaker_allow(b, now));
        breaker_record(b, failed, now);
    }
}

static void test_stays_closed_below_min_calls(void **state)
{
    (void)state;
    struct breaker b = fresh();
    calls(&b, 9, true, 0);   /* 100% failures, but only 9 calls */
    assert_int_equal(b.state, BREAKER_CLOSED);
    calls(&b, 1, true, 0);   /* the 10th judges */
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_int_equal(b.opened_total, 1);
}

static void test_opens_at_fifty_percent_of_the_window(void **state)
{
    (void)state;
    struct breaker b = fresh();
    calls(&b, 11, false, 0);
    calls(&b, 9, true, 0);     /* 9/20 = 45% */
    assert_int_equal(b.state, BREAKER_CLOSED);
    calls(&b, 1, true, 0);     /* oldest success slides out: 10/20 = 50% */
    assert_int_equal(b.state, BREAKER_OPEN);
}

static void test_window_forgets_old_failures(void **state)
{
    (void)state;
    struct breaker b = fresh();
    calls(&b, 4, true, 0);     /* 4 of the first 10: 40%, stays closed */
    calls(&b, 20, false, 0);   /* the four failures slide out */
    assert_int_equal(breaker_failure_pct(&b), 0);
    calls(&b, 9, true, 0);     /* 9/20 */
    assert_int_equal(b.state, BREAKER_CLOSED);
}

static void test_open_refuses_until_the_wait_is_over(void **state)
{
    (void)state;
    struct breaker b = fresh();
    calls(&b, 10, true, 1000);
    assert_false(breaker_allow(&b, 1000));
    assert_false(breaker_allow(&b, 5999));
    assert_int_equal(breaker_retry_at(&b), 6000);
    assert_true(breaker_allow(&b, 6000));
    assert_int_equal(b.state, BREAKER_HALF_OPEN);
}

static void test_half_open_allows_three_trials_then_closes(void **state)
{
    (void)state;
    struct breaker b = fresh();
    calls(&b, 10, true, 0);
    assert_true(breaker_allow(&b, 5000));
    assert_true(breaker_allow(&b, 5000));
    assert_true(breaker_allow(&b, 5000));
    assert_false(breaker_allow(&b, 5000));  /* only three trials at once */
    assert_false(breaker_record(&b, false, 5001));
    assert_false(breaker_record(&b, false, 5002));
    assert_true(breaker_record(&b, false, 5003));
    assert_int_equal(b.state, BREAKER_CLOSED);
    assert_int_equal(breaker_failure_pct(&b), 0);
    assert_true(breaker_allow(&b, 5004));
}

static void test_a_failed_trial_opens_again(void **state)
{
    (void)state;
    struct breaker b = fresh();
    calls(&b, 10, true, 0);
    assert_true(breaker_allow(&b, 5000));
    assert_true(breaker_record(&b, true, 5100));
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_int_equal(b.opened_total, 2);
    assert_false(breaker_allow(&b, 10099));
    assert_true(breaker_allow(&b, 10100));
}

static void test_ready_asks_without_taking_a_trial(void **state)
{
    (void)state;
    struct breaker b = fresh();
    assert_true(breaker_ready(&b, 0));
    calls(&b, 10, true, 0);
    assert_false(breaker_ready(&b, 4999));
    assert_true(breaker_ready(&b, 5000));
    assert_int_equal(b.state, BREAKER_OPEN);  /* asking moved nothing */
    /* As often as asked, the three trials are all still there. */
    for (int i = 0; i < 5; i++)
        assert_true(breaker_ready(&b, 5000));
    for (int i = 0; i < 3; i++) {
        assert_true(breaker_ready(&b, 5000));
        assert_true(breaker_allow(&b, 5000));
    }
    assert_int_equal(b.state, BREAKER_HALF_OPEN);
    assert_false(breaker_ready(&b, 5000));
    assert_false(breaker_allow(&b, 5000));
    breaker_record(&b, false, 5001);
    breaker_record(&b, false, 5002);
    assert_true(breaker_record(&b, false, 5003));
    assert_true(breaker_ready(&b, 5003));
}

static void test_late_outcomes_while_open_are_ignored(void **state)
{
    (void)state;
    struct breaker b = fresh();
    calls(&b, 10, true, 0);
    assert_false(breaker_record(&b, false, 1));
    assert_int_equal(b.state, BREAKER_OPEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stays_closed_below_min_calls),
        cmocka_unit_test(test_opens_at_fifty_percent_of_the_window),
        cmocka_unit_test(test_window_forgets_old_failures),
        cmocka_unit_test(test_open_refuses_until_the_wait_is_over),
        cmocka_unit_test(test_half_open_allows_three_trials_then_closes),
        cmocka_unit_test(test_a_failed_trial_opens_again),
        cmocka_unit_test(test_ready_asks_without_taking_a_trial),
        cmocka_unit_test(test_late_outcomes_while_open_are_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
