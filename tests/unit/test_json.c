/* JSON string escaping: every output must be valid JSON and valid UTF-8,
 * whatever bytes a client put in an order's fields. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "json_writer.h"

static void expect(const char *in, size_t n, const char *want)
{
    struct buf b;
    buf_init(&b);
    json_str(&b, in, n);
    buf_appendc(&b, '\0');
    assert_string_equal(buf_head(&b), want);
    buf_free(&b);
}

static void test_plain_text_is_quoted(void **state)
{
    (void)state;
    expect("alice", 5, "\"alice\"");
    expect("", 0, "\"\"");
}

static void test_quotes_backslashes_and_controls_are_escaped(void **state)
{
    (void)state;
    expect("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    expect("\n\r\t", 3, "\"\\n\\r\\t\"");
    expect("\x01\x1f", 2, "\"\\u0001\\u001f\"");
    expect("a\0b", 3, "\"a\\u0000b\"");
}

static void test_valid_utf8_passes_through(void **state)
{
    (void)state;
    expect("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");
    expect("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"");
    expect("\xf0\x9f\x93\xa6", 4, "\"\xf0\x9f\x93\xa6\"");
}

static void test_invalid_utf8_becomes_replacement_characters(void **state)
{
    (void)state;
    expect("\xff", 1, "\"\\ufffd\"");
    expect("a\xc3", 2, "\"a\\ufffd\"");                  /* truncated */
    expect("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");          /* overlong */
    expect("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    expect("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
}

static void test_keys_and_null(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_appendc(&b, '{');
    json_key(&b, "id", 1);
    json_int(&b, -5);
    json_key(&b, "note", 0);
    json_cstr(&b, NULL);
    buf_appendc(&b, '}');
    buf_appendc(&b, '\0');
    assert_string_equal(buf_head(&b), "{\"id\":-5,\"note\":null}");
    buf_free(&b);
}

static void test_numbers_are_printfs(void **state)
{
    (void)state;
    const long long values[] = {0, 1, -1, 9, 10, -10, 1234567890123LL, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "%lld", values[i]);
        struct buf b;
        buf_init(&b);
        json_int(&b, values[i]);
        buf_appendc(&b, '\0');
        assert_string_equal(buf_head(&b), want);
        buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_is_quoted),
        cmocka_unit_test(test_quotes_backslashes_and_controls_are_escaped),
        cmocka_unit_test(test_valid_utf8_passes_through),
        cmocka_unit_test(test_invalid_utf8_becomes_replacement_characters),
        cmocka_unit_test(test_keys_and_null),
        cmocka_unit_test(test_numbers_are_printfs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
