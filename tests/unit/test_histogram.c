/* The latency histogram: bucket maths and percentiles. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "lib/histogram.h"

static struct histogram *fresh(void)
{
    struct histogram *h = malloc(sizeof *h);
    hist_init(h);
    return h;
}

static void test_small_values_are_exact(void **state)
{
    (void)state;
    struct histogram *h = fresh();
    for (uint64_t v = 0; v < HIST_SUB; v++)
        hist_record(h, v);
    assert_int_equal(hist_percentile(h, 50), 63);
    assert_int_equal(hist_percentile(h, 100), 127);
    assert_int_equal(hist_percentile(h, 0.1), 0);
    free(h);
}

static void test_every_value_is_within_one_percent(void **state)
{
    (void)state;
    /* One value at a time: the percentile answer brackets it tightly. */
    for (uint64_t v = 1; v < (1ULL << 36); v = v * 3 + 7) {
        struct histogram *h = fresh();
        hist_record(h, v);
        hist_record(h, v + 1000000000000ULL);  /* a larger max, so no clamping */
        uint64_t got = hist_percentile(h, 50);
        if (got < v || (double)(got - v) > (double)v / HIST_SUB)
            fail_msg("value %llu reported as %llu", (unsigned long long)v,
                     (unsigned long long)got);
        free(h);
    }
}

static void test_percentiles_of_a_known_distribution(void **state)
{
    (void)state;
    struct histogram *h = fresh();
    for (uint64_t v = 1; v <= 100000; v++)
        hist_record(h, v);
    const struct { double p; uint64_t want; } cases[] = {
        {50, 50000}, {90, 90000}, {99, 99000}, {99.9, 99900}, {100, 100000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t got = hist_percentile(h, cases[i].p);
        uint64_t want = cases[i].want;
        if (got < want || got - want > want / HIST_SUB + 1)
            fail_msg("p%g: %llu, expected about %llu", cases[i].p, (unsigned long long)got,
                     (unsigned long long)want);
    }
    assert_int_equal(h->total, 100000);
    assert_int_equal(h->max, 100000);
    assert_int_equal(h->sum, 5000050000ULL);
    free(h);
}

static void test_never_reports_above_the_max(void **state)
{
    (void)state;
    struct histogram *h = fresh();
    hist_record(h, 1000001);
    assert_int_equal(hist_percentile(h, 99.9), 1000001);
    assert_int_equal(hist_percentile(h, 50), 1000001);
    free(h);
}

static void test_huge_values_are_clamped_not_lost(void **state)
{
    (void)state;
    struct histogram *h = fresh();
    hist_record(h, UINT64_MAX);
    assert_int_equal(h->total, 1);
    assert_true(hist_percentile(h, 100) >= (1ULL << HIST_EXP) - (1ULL << (HIST_EXP - 8)));
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_values_are_exact),
        cmocka_unit_test(test_every_value_is_within_one_percent),
        cmocka_unit_test(test_percentiles_of_a_known_distribution),
        cmocka_unit_test(test_never_reports_above_the_max),
        cmocka_unit_test(test_huge_values_are_clamped_not_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
