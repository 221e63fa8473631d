/* Money parsing and formatting: exact minor units, per-currency decimals,
 * and every malformed amount refused with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/money.h"

static int64_t parse_ok(const char *s, int exponent)
{
    int64_t v = -1;
    const char *why = NULL;
    if (money_parse(s, exponent, &v, &why) != 0)
        fail_msg("'%s' (exp %d) refused: %s", s, exponent, why);
    return v;
}

static const char *parse_bad(const char *s, int exponent)
{
    int64_t v = 0;
    const char *why = NULL;
    if (money_parse(s, exponent, &v, &why) == 0)
        fail_msg("'%s' (exp %d) accepted as %lld", s, exponent, (long long)v);
    assert_non_null(why);
    return why;
}

static void test_amounts_become_exact_minor_units(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("19.99", 2), 1999);
    assert_int_equal(parse_ok("3.5", 2), 350);
    assert_int_equal(parse_ok("3.50", 2), 350);
    assert_int_equal(parse_ok("5", 2), 500);
    assert_int_equal(parse_ok("0", 2), 0);
    assert_int_equal(parse_ok("0.01", 2), 1);
    assert_int_equal(parse_ok("007.10", 2), 710);
    assert_int_equal(parse_ok("500", 0), 500);
    assert_int_equal(parse_ok("1.999", 3), 1999);
}

static void test_malformed_amounts_are_refused(void **state)
{
    (void)state;
    assert_string_equal(parse_bad("-1", 2), "must not be negative");
    assert_string_equal(parse_bad("abc", 2), "is not a decimal number");
    assert_string_equal(parse_bad("", 2), "is not a decimal number");
    assert_string_equal(parse_bad(".5", 2), "is not a decimal number");
    assert_string_equal(parse_bad("1.", 2), "is not a decimal number");
    assert_string_equal(parse_bad("1.2.3", 2), "is not a decimal number");
    assert_string_equal(parse_bad("1e3", 2), "is not a decimal number");
    assert_string_equal(parse_bad("+5", 2), "is not a decimal number");
    assert_string_equal(parse_bad(" 5", 2), "is not a decimal number");
    assert_string_equal(parse_bad("1.999", 2), "has more decimals than the currency allows");
    assert_string_equal(parse_bad("1.5", 0), "has decimals, but the currency has no minor unit");
}

static void test_overflow_is_refused_not_wrapped(void **state)
{
    (void)state;
    /* INT64_MAX minor units is the largest amount there is. */
    assert_int_equal(parse_ok("92233720368547758.07", 2), INT64_MAX);
    assert_string_equal(parse_bad("92233720368547758.08", 2), "is too large");
    assert_string_equal(parse_bad("92233720368547759", 2), "is too large");
    assert_string_equal(parse_bad("99999999999999999999999", 0), "is too large");
}

static void test_currency_exponents_follow_iso_4217(void **state)
{
    (void)state;
    assert_int_equal(money_exponent("USD"), 2);
    assert_int_equal(money_exponent("EUR"), 2);
    assert_int_equal(money_exponent("JPY"), 0);
    assert_int_equal(money_exponent("KWD"), 3);
    assert_int_equal(money_exponent("XYZ"), -1);
    assert_int_equal(money_exponent("usd"), -1);
    assert_int_equal(money_exponent("USDX"), -1);
    assert_int_equal(money_exponent(""), -1);
}

static void test_format_round_trips(void **state)
{
    (void)state;
    char out[MONEY_TEXT_MAX];
    const struct { int64_t v; int exp; const char *text; } cases[] = {
        {1999, 2, "19.99"}, {350, 2, "3.50"}, {5, 2, "0.05"}, {0, 2, "0.00"},
        {500, 0, "500"}, {1999, 3, "1.999"}, {INT64_MAX, 2, "92233720368547758.07"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        money_format(cases[i].v, cases[i].exp, out);
        assert_string_equal(out, cases[i].text);
        assert_int_equal(parse_ok(out, cases[i].exp), cases[i].v);
    }
}

/* The lists are searched by halves, so a code out of alphabetical order
 * would be lost: every code of every list must be found, and nothing else. */
static void test_every_listed_currency_is_found(void **state)
{
    (void)state;
    int found[4] = {0};
    char code[4] = {0};
    for (code[0] = 'A'; code[0] <= 'Z'; code[0]++)
        for (code[1] = 'A'; code[1] <= 'Z'; code[1]++)
            for (code[2] = 'A'; code[2] <= 'Z'; code[2]++) {
                int e = money_exponent(code);
                if (e >= 0)
                    found[e]++;
            }
    assert_int_equal(found[2], 132);
    assert_int_equal(found[0], 17);
    assert_int_equal(found[3], 7);
    assert_int_equal(found[1], 0);
    assert_int_equal(money_exponent("AED"), 2);  /* the first and the last */
    assert_int_equal(money_exponent("ZWL"), 2);
    assert_int_equal(money_exponent("BIF"), 0);
    assert_int_equal(money_exponent("XPF"), 0);
    assert_int_equal(money_exponent("BHD"), 3);
    assert_int_equal(money_exponent("TND"), 3);
    assert_int_equal(money_exponent("US"), -1);
    assert_int_equal(money_exponent("U"), -1);
}

/* Formatted by hand, as printf did it. */
static void test_format_is_printfs(void **state)
{
    (void)state;
    const int64_t values[] = {0, 1, 9, 10, 99, 100, 101, 999, 1000, 1999, 123456789,
                              1000000000000LL, INT64_MAX - 1, INT64_MAX};
    for (int exp = 0; exp <= 3; exp++) {
        int64_t scale = 1;
        for (int i = 0; i < exp; i++)
            scale *= 10;
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            char want[MONEY_TEXT_MAX], got[MONEY_TEXT_MAX];
            int64_t v = values[i];
            if (exp == 0)
                snprintf(want, sizeof want, "%lld", (long long)v);
            else
                snprintf(want, sizeof want, "%lld.%0*lld", (long long)(v / scale), exp,
                         (long long)(v % scale));
            money_format(v, exp, got);
            assert_string_equal(got, want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amounts_become_exact_minor_units),
        cmocka_unit_test(test_malformed_amounts_are_refused),
        cmocka_unit_test(test_overflow_is_refused_not_wrapped),
        cmocka_unit_test(test_currency_exponents_follow_iso_4217),
        cmocka_unit_test(test_format_round_trips),
        cmocka_unit_test(test_every_listed_currency_is_found),
        cmocka_unit_test(test_format_is_printfs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
