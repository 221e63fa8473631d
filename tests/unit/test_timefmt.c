/* Timestamps (server/lib/timefmt.c): the same text gmtime gives, for every
 * day of the calendar's tricky years and for random instants over four
 * digits of years; and a kept second that never shows a stale date, as the
 * time moves by a millisecond, across seconds, days and years, or back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/timefmt.h"

#define SEC 1000LL
#define DAY (86400 * SEC)

/* What the text must be, the slow way. */
static void reference(int64_t ms, char out[TIMEFMT_LEN])
{
    int64_t sec = ms / 1000, millis = ms % 1000;
    if (millis < 0) {
        millis += 1000;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    char text[96];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)millis);
    assert_int_equal(strlen(text), TIMEFMT_LEN - 1);
    memcpy(out, text, TIMEFMT_LEN);
}

static void assert_formats(int64_t ms)
{
    char want[TIMEFMT_LEN], got[TIMEFMT_LEN];
    reference(ms, want);
    timefmt_rfc3339(ms, got);
    if (strcmp(want, got) != 0)
        fail_msg("%lld: want %s, got %s", (long long)ms, want, got);
}

static void test_known_instants(void **state)
{
    (void)state;
    char out[TIMEFMT_LEN];
    timefmt_rfc3339(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    timefmt_rfc3339(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    timefmt_rfc3339(951782400000LL, out);  /* 400 years make 2000 a leap year */
    assert_string_equal(out, "2000-02-29T00:00:00.000Z");
    timefmt_rfc3339(4107542400000LL, out);  /* 100 years make 2100 not one */
    assert_string_equal(out, "2100-03-01T00:00:00.000Z");
    timefmt_rfc3339(1795239111123LL, out);
    assert_string_equal(out, "2026-11-21T05:31:51.123Z");
    timefmt_rfc3339(-62167219200000LL, out);
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    timefmt_rfc3339(253402300799999LL, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
}

static void test_every_day_of_tricky_years_is_gmtimes(void **state)
{
    (void)state;
    /* Leap and century years on both sides of the epoch, and their
     * neighbours: each day's first and last millisecond and a midday. */
    static const int years[] = {1600, 1700, 1899, 1900, 1968, 1969, 1970, 1971, 1972,
                                1999, 2000, 2001, 2024, 2026, 2038, 2099, 2100, 2400};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        struct tm tm = {.tm_year = years[i] - 1900, .tm_mday = 1};
        int64_t start = (int64_t)timegm(&tm) * SEC;
        for (int64_t d = 0; d < 366; d++) {
            int64_t day = start + d * DAY;
            assert_formats(day);
            assert_formats(day - 1);
            assert_formats(day + DAY / 2 + 1234);
        }
    }
}

static void test_random_instants_over_four_digit_years_are_gmtimes(void **state)
{
    (void)state;
    const int64_t first = -62167219200000LL, last = 253402300799999LL;
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        assert_formats(first + (int64_t)(x % (uint64_t)(last - first + 1)));
    }
}

/* An injected clock: the test sets the wall time. */
static int64_t fake_wall(void *arg) { return *(int64_t *)arg; }
static int64_t fake_mono(void *arg) { (void)arg; return 0; }

/* The clock's formatter at each step agrees with the one keeping nothing. */
static void walk(struct clock *c, int64_t *wall, const int64_t *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *wall += steps[i];
        clock_tick(c);
        char kept[CLOCK_RFC3339_LEN], fresh[CLOCK_RFC3339_LEN];
        clock_format(c, c->wall_ms, kept);
        clock_format_rfc3339(c->wall_ms, fresh);
        if (strcmp(kept, fresh) != 0)
            fail_msg("step %zu (%lld): kept %s, fresh %s", i, (long long)c->wall_ms, kept,
                     fresh);
    }
}

static void test_a_kept_second_follows_the_clock_across_boundaries(void **state)
{
    (void)state;
    /* 1999-12-31T23:59:58.998Z: a millisecond, a second, a day, a year and
     * a century turn within a few steps. */
    int64_t wall = 946684798998LL;
    struct clock c;
    clock_init(&c, &(struct clock_source){fake_wall, fake_mono, &wall});
    const int64_t steps[] = {0, 1, 0, 1, 1, 998, 1, 1, 0, 999, 1000, DAY, -DAY, -1,
                             -SEC, 59 * SEC, 3600 * SEC, -3600 * SEC, 366 * DAY,
                             -366 * DAY - 1, 1, 1000 * SEC};
    walk(&c, &wall, steps, sizeof steps / sizeof steps[0]);
    char out[CLOCK_RFC3339_LEN];
    clock_format(&c, 946684799999LL, out);
    assert_string_equal(out, "1999-12-31T23:59:59.999Z");
    clock_format(&c, 946684800000LL, out);
    assert_string_equal(out, "2000-01-01T00:00:00.000Z");
    clock_format(&c, 946684800001LL, out);
    assert_string_equal(out, "2000-01-01T00:00:00.001Z");
    /* Before the epoch a second starts at a negative multiple of 1000. */
    clock_format(&c, -1000, out);
    assert_string_equal(out, "1969-12-31T23:59:59.000Z");
    clock_format(&c, -1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    clock_format(&c, 0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
}

static void test_every_millisecond_of_a_few_seconds_through_one_cache(void **state)
{
    (void)state;
    struct timefmt tf;
    timefmt_init(&tf);
    for (int64_t ms = 1795239109000LL; ms < 1795239112000LL; ms++) {
        char kept[TIMEFMT_LEN], fresh[TIMEFMT_LEN];
        timefmt_format(&tf, ms, kept);
        timefmt_rfc3339(ms, fresh);
        assert_string_equal(kept, fresh);
    }
}

static void test_years_past_four_digits_print_as_before(void **state)
{
    (void)state;
    /* Not times orderd makes, but a client's eta= may be anything: the
     * year is cut to four digits, as it always was. */
    char out[TIMEFMT_LEN];
    timefmt_rfc3339(253402300800000LL, out);  /* 10000-01-01 */
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    timefmt_rfc3339(253402300800000LL + 12 * 3600 * SEC + 1, out);
    assert_string_equal(out, "0000-01-01T12:00:00.001Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_instants),
        cmocka_unit_test(test_every_day_of_tricky_years_is_gmtimes),
        cmocka_unit_test(test_random_instants_over_four_digit_years_are_gmtimes),
        cmocka_unit_test(test_a_kept_second_follows_the_clock_across_boundaries),
        cmocka_unit_test(test_every_millisecond_of_a_few_seconds_through_one_cache),
        cmocka_unit_test(test_years_past_four_digits_print_as_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
