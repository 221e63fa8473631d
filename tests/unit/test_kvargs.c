/* key=value matching, the uint validator, printable echoes, and the
 * string map behind idempotency keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/kvargs.h"

/* A request from C strings (no NULs inside). */
static struct request make_req(struct arg *args, const char **words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        args[i].ptr = words[i];
        args[i].len = strlen(words[i]);
    }
    return (struct request){.argc = n, .argv = args, .kind = PROTO_INLINE};
}

static void expect_badarg(struct reply *r, const char *msg)
{
    assert_non_null(r);
    assert_int_equal(r->type, REPLY_ERROR);
    assert_string_equal(r->code, ERR_BADARG);
    assert_string_equal(r->str, msg);
    reply_free(r);
}

static void test_keys_match_case_insensitively(void **state)
{
    (void)state;
    const char *w[] = {"CREATE", "Customer=Bob", "QTY=2"};
    struct arg a[3];
    struct request req = make_req(a, w, 3);
    struct kvfield f[] = {{"customer", true, NULL, 0}, {"qty", false, NULL, 0},
                          {"note", false, NULL, 0}};
    assert_null(kvargs_parse(&req, 1, f, 3));
    assert_string_equal(f[0].val, "Bob");
    assert_int_equal(f[0].len, 3);
    assert_string_equal(f[1].val, "2");
    assert_null(f[2].val);
}

/* A key must be the whole name: not a part of it, not more than it, and
 * a NUL in the key does not end it early. */
static void test_keys_match_whole_names_only(void **state)
{
    (void)state;
    struct kvfield f[] = {{"qty", false, NULL, 0}};
    const char *words[] = {"q=1", "qt=1", "qtyx=1", "QtYx=1", "xqty=1"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        const char *w[] = {"X", words[i]};
        struct arg a[2];
        struct request req = make_req(a, w, 2);
        struct reply *r = kvargs_parse(&req, 1, f, 1);
        assert_non_null(r);
        assert_string_equal(r->code, ERR_BADARG);
        assert_non_null(strstr(r->str, "unknown field"));
        reply_free(r);
    }
    struct arg a[2] = {{"X", 1}, {"qty\0xyz=1", 9}};
    struct request req = {.argc = 2, .argv = a, .kind = PROTO_RESP};
    expect_badarg(kvargs_parse(&req, 1, f, 1), "unknown field 'qty\\x00xyz'");
}

static void test_values_may_hold_equals_and_be_empty(void **state)
{
    (void)state;
    const char *w[] = {"X", "note=a=b", "key="};
    struct arg a[3];
    struct request req = make_req(a, w, 3);
    struct kvfield f[] = {{"note", false, NULL, 0}, {"key", false, NULL, 0}};
    assert_null(kvargs_parse(&req, 1, f, 2));
    assert_string_equal(f[0].val, "a=b");
    assert_string_equal(f[1].val, "");
}

static void test_each_kind_of_bad_argument_is_named(void **state)
{
    (void)state;
    struct kvfield f[] = {{"customer", true, NULL, 0}, {"qty", false, NULL, 0}};
    struct arg a[3];
    const char *noeq[] = {"X", "customer"};
    struct request req = make_req(a, noeq, 2);
    expect_badarg(kvargs_parse(&req, 1, f, 2), "expected key=value, got 'customer'");
    const char *nokey[] = {"X", "=v"};
    req = make_req(a, nokey, 2);
    expect_badarg(kvargs_parse(&req, 1, f, 2), "expected key=value, got '=v'");
    const char *unknown[] = {"X", "colour=red"};
    req = make_req(a, unknown, 2);
    expect_badarg(kvargs_parse(&req, 1, f, 2), "unknown field 'colour'");
    const char *twice[] = {"X", "customer=a", "CUSTOMER=b"};
    req = make_req(a, twice, 3);
    expect_badarg(kvargs_parse(&req, 1, f, 2), "field 'customer' given twice");
    const char *missing[] = {"X", "qty=1"};
    req = make_req(a, missing, 2);
    expect_badarg(kvargs_parse(&req, 1, f, 2), "missing field 'customer'");
}

static void test_values_with_nul_bytes_are_refused(void **state)
{
    (void)state;
    struct arg a[2] = {{"X", 1}, {"customer=a\0b", 12}};
    struct request req = {.argc = 2, .argv = a, .kind = PROTO_RESP};
    struct kvfield f[] = {{"customer", true, NULL, 0}};
    expect_badarg(kvargs_parse(&req, 1, f, 1), "field 'customer' contains a NUL byte");
}

static void test_uint_parsing_is_strict(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(kv_parse_uint("42", 1, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(kv_parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(kv_parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -1);
    assert_int_equal(kv_parse_uint("0", 1, 100, &v), -1);
    assert_int_equal(kv_parse_uint("101", 1, 100, &v), -1);
    assert_int_equal(kv_parse_uint("", 0, 100, &v), -1);
    assert_int_equal(kv_parse_uint("-1", 0, 100, &v), -1);
    assert_int_equal(kv_parse_uint("1 ", 0, 100, &v), -1);
    assert_int_equal(kv_parse_uint("0x10", 0, 100, &v), -1);
}

static void test_printable_escapes_and_truncates(void **state)
{
    (void)state;
    char out[32];
    kv_printable(out, sizeof out, "a\0\xff\n", 4);
    assert_string_equal(out, "a\\x00\\xff\\x0a");
    char big[100];
    memset(big, 'x', sizeof big);
    kv_printable(out, sizeof out, big, sizeof big);
    assert_true(strlen(out) < sizeof out);
    assert_memory_equal(out + strlen(out) - 3, "...", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_match_case_insensitively),
        cmocka_unit_test(test_keys_match_whole_names_only),
        cmocka_unit_test(test_values_may_hold_equals_and_be_empty),
        cmocka_unit_test(test_each_kind_of_bad_argument_is_named),
        cmocka_unit_test(test_values_with_nul_bytes_are_refused),
        cmocka_unit_test(test_uint_parsing_is_strict),
        cmocka_unit_test(test_printable_escapes_and_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
