/* Glob matching for PSUBSCRIBE: the Redis syntax, and bounded time on
 * patterns built to make naive matchers backtrack exponentially. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/glob.h"

static bool m(const char *pat, const char *s)
{
    return glob_match(pat, strlen(pat), s, strlen(s));
}

static void test_literals_match_exactly(void **state)
{
    (void)state;
    assert_true(m("order.status", "order.status"));
    assert_false(m("order.status", "order.statuses"));
    assert_false(m("order.status", "order.statu"));
    assert_true(m("", ""));
    assert_false(m("", "a"));
}

static void test_star_matches_any_run(void **state)
{
    (void)state;
    assert_true(m("order.*", "order.status"));
    assert_true(m("order.*", "order."));
    assert_false(m("order.*", "order"));
    assert_true(m("*", ""));
    assert_true(m("*.DLT", "payment.authorize.DLT"));
    assert_true(m("a*b*c", "axxbyyc"));
    assert_false(m("a*b*c", "axxbyy"));
    assert_true(m("**a", "xa"));
}

static void test_question_matches_one_byte(void **state)
{
    (void)state;
    assert_true(m("h?llo", "hello"));
    assert_true(m("h?llo", "hallo"));
    assert_false(m("h?llo", "hllo"));
}

static void test_classes_ranges_and_negation(void **state)
{
    (void)state;
    assert_true(m("h[ae]llo", "hallo"));
    assert_false(m("h[ae]llo", "hillo"));
    assert_true(m("h[^e]llo", "hallo"));
    assert_false(m("h[^e]llo", "hello"));
    assert_true(m("v[0-9]", "v7"));
    assert_false(m("v[0-9]", "vx"));
    assert_true(m("v[9-0]", "v5"));  /* reversed ranges are swapped */
    assert_true(m("[\\]]", "]"));
    assert_true(m("a[b", "a[b"));   /* an unclosed class is a literal '[' */
}

static void test_backslash_escapes(void **state)
{
    (void)state;
    assert_true(m("a\\*b", "a*b"));
    assert_false(m("a\\*b", "axb"));
    assert_true(m("\\?", "?"));
    assert_false(m("\\?", "x"));
}

static void test_hostile_patterns_finish(void **state)
{
    (void)state;
    char subject[4001];
    memset(subject, 'a', 4000);
    subject[4000] = '\0';
    /* Exponential for a recursive matcher; quadratic at worst here. */
    assert_false(m("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", subject));
    assert_true(m("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", subject));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals_match_exactly),
        cmocka_unit_test(test_star_matches_any_run),
        cmocka_unit_test(test_question_matches_one_byte),
        cmocka_unit_test(test_classes_ranges_and_negation),
        cmocka_unit_test(test_backslash_escapes),
        cmocka_unit_test(test_hostile_patterns_finish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
