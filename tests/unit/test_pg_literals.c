/* SQL literals for PostgreSQL (store/pg_batch.h), with
 * standard_conforming_strings on and a UTF8 client encoding: in a text a
 * quote is doubled and nothing else is escaped, NULL is NULL, and whatever
 * is not UTF-8 (and NUL, which a text cannot hold) becomes U+FFFD while
 * valid UTF-8 passes unchanged; a time is UTC with milliseconds, NULL for
 * 0 only when nullable, and right before 1970 too. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "store/pg_batch.h"

#define FFFD "\xEF\xBF\xBD"

/* The literal for n bytes at s, NUL-terminated in out. */
static const char *text_lit(const char *s, size_t n, char *out, size_t cap)
{
    struct buf b;
    buf_init(&b);
    pg_lit_text(&b, s, n);
    assert_true(buf_used(&b) < cap);
    memcpy(out, buf_head(&b), buf_used(&b));
    out[buf_used(&b)] = '\0';
    /* A NUL inside would make the comparisons below lie. */
    assert_null(memchr(buf_head(&b), 0, buf_used(&b)));
    buf_free(&b);
    return out;
}

static const char *time_lit(int64_t ms, bool nullable, char *out, size_t cap)
{
    struct buf b;
    buf_init(&b);
    pg_lit_time(&b, ms, nullable);
    assert_true(buf_used(&b) < cap);
    memcpy(out, buf_head(&b), buf_used(&b));
    out[buf_used(&b)] = '\0';
    buf_free(&b);
    return out;
}

#define TEXT(s) text_lit((s), sizeof(s) - 1, out, sizeof out)

static void test_quotes_are_doubled_and_nothing_else_escaped(void **state)
{
    (void)state;
    char out[256];
    assert_string_equal(TEXT("alice"), "'alice'");
    assert_string_equal(TEXT(""), "''");
    assert_string_equal(TEXT("o'brien"), "'o''brien'");
    assert_string_equal(TEXT("'"), "''''");
    assert_string_equal(TEXT("''x''"), "'''''x'''''");
    /* A backslash is an ordinary character: kept as it is, one. */
    assert_string_equal(TEXT("C:\\path\\"), "'C:\\path\\'");
    assert_string_equal(TEXT("\\'"), "'\\'''");
    assert_string_equal(TEXT("a\"b;--\n\t%"), "'a\"b;--\n\t%'");
    /* Only n bytes are taken. */
    assert_string_equal(text_lit("abc'def", 4, out, sizeof out), "'abc'''");
}

static void test_a_null_pointer_is_null(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(text_lit(NULL, 0, out, sizeof out), "NULL");
    assert_string_equal(text_lit(NULL, 5, out, sizeof out), "NULL");
}

static void test_valid_utf8_passes_unchanged(void **state)
{
    (void)state;
    char out[256];
    /* Two, three and four bytes, the edges of each range, and U+FFFD
     * itself. */
    assert_string_equal(TEXT("caf\xC3\xA9"), "'caf\xC3\xA9'");
    assert_string_equal(TEXT("\xC2\x80\xDF\xBF"), "'\xC2\x80\xDF\xBF'");
    assert_string_equal(TEXT("\xE0\xA0\x80\xE2\x82\xAC\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"),
                        "'\xE0\xA0\x80\xE2\x82\xAC\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF'");
    assert_string_equal(TEXT("\xF0\x90\x80\x80\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF"),
                        "'\xF0\x90\x80\x80\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF'");
    assert_string_equal(TEXT(FFFD), "'" FFFD "'");
    assert_string_equal(TEXT("\xE6\x97\xA5'\xE6\x9C\xAC"), "'\xE6\x97\xA5''\xE6\x9C\xAC'");
}

static void test_bytes_that_are_not_utf8_become_replacements(void **state)
{
    (void)state;
    char out[256];
    /* One U+FFFD a byte: stray continuation bytes, bytes never in UTF-8,
     * a lead byte without its continuation. */
    assert_string_equal(TEXT("a\x80z"), "'a" FFFD "z'");
    assert_string_equal(TEXT("\xFF\xFE"), "'" FFFD FFFD "'");
    assert_string_equal(TEXT("\xC3(z"), "'" FFFD "(z'");
    assert_string_equal(TEXT("\xF5\x80\x80\x80"), "'" FFFD FFFD FFFD FFFD "'");
    /* Overlong forms. */
    assert_string_equal(TEXT("\xC0\xAF"), "'" FFFD FFFD "'");
    assert_string_equal(TEXT("\xE0\x80\xAF"), "'" FFFD FFFD FFFD "'");
    assert_string_equal(TEXT("\xF0\x80\x80\xAF"), "'" FFFD FFFD FFFD FFFD "'");
    /* A surrogate, and past U+10FFFF. */
    assert_string_equal(TEXT("\xED\xA0\x80"), "'" FFFD FFFD FFFD "'");
    assert_string_equal(TEXT("\xF4\x90\x80\x80"), "'" FFFD FFFD FFFD FFFD "'");
    /* A quote right after a bad byte is still doubled, and valid text on
     * either side is kept. */
    assert_string_equal(TEXT("\xE2\x82'\xC3\xA9"), "'" FFFD FFFD "''\xC3\xA9'");
    /* A bad byte cannot swallow a quote as its continuation. */
    assert_string_equal(TEXT("\xC3'"), "'" FFFD "'''");
}

static void test_nul_becomes_a_replacement(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(TEXT("a\0b"), "'a" FFFD "b'");
    assert_string_equal(TEXT("\0"), "'" FFFD "'");
    assert_string_equal(TEXT("\0\0'"), "'" FFFD FFFD "'''");
}

/* A valid text cut after every byte (a read or a column limit that falls
 * inside a character): all of it up to the last whole character passes
 * as it is; the bytes of the character cut in two are replaced, one U+FFFD
 * each, and nothing else. */
static void test_a_text_cut_anywhere_replaces_only_the_cut_character(void **state)
{
    (void)state;
    static const char whole[] = "a\xC3\xA9" "b\xE2\x82\xAC'\xF0\x9F\x98\x80z\xE6\x97\xA5";
    /* Where each character starts. */
    static const size_t starts[] = {0, 1, 3, 4, 7, 8, 12, 13, 16};
    size_t len = sizeof whole - 1;
    char out[256], want[256];
    for (size_t cut = 0; cut <= len; cut++) {
        size_t whole_to = 0;  /* the end of the last whole character */
        for (size_t i = 0; i < sizeof starts / sizeof starts[0] && starts[i] <= cut; i++)
            whole_to = starts[i];
        if (cut == len)
            whole_to = len;
        /* The expected literal, built by hand. */
        size_t w = 0;
        want[w++] = '\'';
        for (size_t i = 0; i < whole_to; i++) {
            want[w++] = whole[i];
            if (whole[i] == '\'')
                want[w++] = '\'';
        }
        for (size_t i = whole_to; i < cut; i++) {
            memcpy(want + w, FFFD, 3);
            w += 3;
        }
        want[w++] = '\'';
        want[w] = '\0';
        text_lit(whole, cut, out, sizeof out);
        if (strcmp(out, want) != 0)
            fail_msg("cut at %zu: got [%s], want [%s]", cut, out, want);
    }
}

static void test_a_time_is_utc_with_milliseconds(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(time_lit(0, true, out, sizeof out), "NULL");
    assert_string_equal(time_lit(0, false, out, sizeof out), "'1970-01-01 00:00:00.000+00'");
    assert_string_equal(time_lit(1, true, out, sizeof out), "'1970-01-01 00:00:00.001+00'");
    assert_string_equal(time_lit(999, false, out, sizeof out), "'1970-01-01 00:00:00.999+00'");
    assert_string_equal(time_lit(1000, false, out, sizeof out), "'1970-01-01 00:00:01.000+00'");
    assert_string_equal(time_lit(INT64_C(1764547200123), false, out, sizeof out),
                        "'2025-12-01 00:00:00.123+00'");
    assert_string_equal(time_lit(INT64_C(1764547200123), true, out, sizeof out),
                        "'2025-12-01 00:00:00.123+00'");
    /* A leap day, the last millisecond of a year, a year 2038 does not
     * end. */
    assert_string_equal(time_lit(INT64_C(1709164800000) + 45296789, false, out, sizeof out),
                        "'2024-02-29 12:34:56.789+00'");
    assert_string_equal(time_lit(INT64_C(1735689599999), false, out, sizeof out),
                        "'2024-12-31 23:59:59.999+00'");
    assert_string_equal(time_lit(INT64_C(2147483648000), false, out, sizeof out),
                        "'2038-01-19 03:14:08.000+00'");
    assert_string_equal(time_lit(INT64_C(253402300799999), false, out, sizeof out),
                        "'9999-12-31 23:59:59.999+00'");
}

static void test_a_time_before_1970(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(time_lit(-1, false, out, sizeof out), "'1969-12-31 23:59:59.999+00'");
    assert_string_equal(time_lit(-1, true, out, sizeof out), "'1969-12-31 23:59:59.999+00'");
    assert_string_equal(time_lit(-999, false, out, sizeof out), "'1969-12-31 23:59:59.001+00'");
    assert_string_equal(time_lit(-1000, false, out, sizeof out), "'1969-12-31 23:59:59.000+00'");
    assert_string_equal(time_lit(-1001, false, out, sizeof out), "'1969-12-31 23:59:58.999+00'");
    assert_string_equal(time_lit(INT64_C(-86400000), false, out, sizeof out),
                        "'1969-12-31 00:00:00.000+00'");
    /* 1900-03-01 00:00:00.250 (1900 was not a leap year). */
    assert_string_equal(time_lit(INT64_C(-2203891200000) + 250, false, out, sizeof out),
                        "'1900-03-01 00:00:00.250+00'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quotes_are_doubled_and_nothing_else_escaped),
        cmocka_unit_test(test_a_null_pointer_is_null),
        cmocka_unit_test(test_valid_utf8_passes_unchanged),
        cmocka_unit_test(test_bytes_that_are_not_utf8_become_replacements),
        cmocka_unit_test(test_nul_becomes_a_replacement),
        cmocka_unit_test(test_a_text_cut_anywhere_replaces_only_the_cut_character),
        cmocka_unit_test(test_a_time_is_utc_with_milliseconds),
        cmocka_unit_test(test_a_time_before_1970),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
