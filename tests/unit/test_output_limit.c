/* Output limits by kind of client: over the hard limit a client is cut off
 * at once; over the soft limit only once it has stayed over it for longer
 * than soft_seconds, measured on the server clock between checks; a
 * limit of 0 is no limit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "net/net.h"
#include "net/output_limit.h"

#define T0 1800000000000LL
static const struct output_limit worker = {.hard = 1000, .soft = 100, .soft_seconds = 60};

static void test_over_the_hard_limit_is_cut_at_once(void **state)
{
    (void)state;
    int64_t since = 0;
    assert_int_equal(output_limit_check(&worker, 1000, T0, &since), OUTPUT_OK);  /* at it */
    since = 0;
    assert_int_equal(output_limit_check(&worker, 1001, T0, &since), OUTPUT_OVER_HARD);
}

static void test_over_the_soft_limit_for_too_long_is_cut(void **state)
{
    (void)state;
    int64_t since = 0;
    assert_int_equal(output_limit_check(&worker, 101, T0, &since), OUTPUT_OK);
    assert_int_equal(since, T0);  /* the clock starts */
    assert_int_equal(output_limit_check(&worker, 500, T0 + 60000, &since), OUTPUT_OK);
    assert_int_equal(since, T0);  /* still over: it keeps its start */
    assert_int_equal(output_limit_check(&worker, 500, T0 + 60001, &since), OUTPUT_OVER_SOFT);
}

static void test_dropping_under_the_soft_limit_starts_it_over(void **state)
{
    (void)state;
    int64_t since = 0;
    assert_int_equal(output_limit_check(&worker, 101, T0, &since), OUTPUT_OK);
    assert_int_equal(output_limit_check(&worker, 100, T0 + 30000, &since), OUTPUT_OK);
    assert_int_equal(since, 0);
    assert_int_equal(output_limit_check(&worker, 101, T0 + 40000, &since), OUTPUT_OK);
    /* 60 s after it first went over, but only 30 s of them over. */
    assert_int_equal(output_limit_check(&worker, 101, T0 + 70000, &since), OUTPUT_OK);
    assert_int_equal(output_limit_check(&worker, 101, T0 + 100001, &since), OUTPUT_OVER_SOFT);
}

static void test_soft_seconds_zero_cuts_at_the_next_check_over_it(void **state)
{
    (void)state;
    const struct output_limit l = {.hard = 0, .soft = 100, .soft_seconds = 0};
    int64_t since = 0;
    assert_int_equal(output_limit_check(&l, 101, T0, &since), OUTPUT_OK);
    assert_int_equal(output_limit_check(&l, 101, T0 + 1, &since), OUTPUT_OVER_SOFT);
}

static void test_zero_is_no_limit(void **state)
{
    (void)state;
    const struct output_limit none = {0, 0, 0};
    int64_t since = 0;
    assert_int_equal(output_limit_check(&none, SIZE_MAX, T0, &since), OUTPUT_OK);
    assert_int_equal(output_limit_check(&none, SIZE_MAX, T0 + 86400000, &since), OUTPUT_OK);
    assert_int_equal(since, 0);
}

static void test_each_kind_has_its_row_and_normal_clients_are_paused_instead(void **state)
{
    (void)state;
    struct net_config cfg;
    net_config_default(&cfg);
    const struct output_limit *l = cfg.output_limits;
    assert_int_equal(l[CLIENT_NORMAL].hard, 0);
    assert_int_equal(l[CLIENT_NORMAL].soft, 0);
    assert_int_equal(l[CLIENT_PUBSUB].hard, 32u << 20);
    assert_int_equal(l[CLIENT_PUBSUB].soft, 8u << 20);
    assert_int_equal(l[CLIENT_PUBSUB].soft_seconds, 60);
    assert_int_equal(l[CLIENT_WORKER].hard, 32u << 20);
    assert_int_equal(l[CLIENT_WORKER].soft, 8u << 20);
    assert_int_equal(l[CLIENT_WORKER].soft_seconds, 60);
    assert_int_equal(cfg.timeout, 0);  /* never, as Redis */
    assert_string_equal(client_kind_name(CLIENT_WORKER), "worker");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_over_the_hard_limit_is_cut_at_once),
        cmocka_unit_test(test_over_the_soft_limit_for_too_long_is_cut),
        cmocka_unit_test(test_dropping_under_the_soft_limit_starts_it_over),
        cmocka_unit_test(test_soft_seconds_zero_cuts_at_the_next_check_over_it),
        cmocka_unit_test(test_zero_is_no_limit),
        cmocka_unit_test(test_each_kind_has_its_row_and_normal_clients_are_paused_instead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
