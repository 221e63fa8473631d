/* Unit tests for the reply model and its two renderings (protocol/reply.c,
 * render.c, escape.c): every reply type byte-exact in RESP2 and in text, the
 * quoting rules of the text rendering, and the round trip that lets what
 * orderd prints be pasted back as an inline argument. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "escape.h"
#include "render.h"
#include "reply.h"
#include "request.h"

/* A string literal and its length, NULs inside included. */
#define LIT(s) (s), (sizeof(s) - 1)

typedef void render_fn(struct buf *out, const struct reply *r);

/* s as a C literal, so failures show control bytes. */
static void print_escaped(const char *label, const char *s, size_t n)
{
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            buf_appends(&b, "\\r");
        else if (c == '\n')
            buf_appends(&b, "\\n");
        else if (c == '\t')
            buf_appends(&b, "\\t");
        else if (c == '\\' || c == '"')
            buf_printf(&b, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            buf_printf(&b, "\\x%02x", c);
        else
            buf_appendc(&b, (char)c);
    }
    print_error("%s \"%.*s\"\n", label, (int)buf_used(&b), b.data ? b.data : "");
    buf_free(&b);
}

/* What the tests render into: reused from test to test and freed once at
 * the end, so a failing assertion leaks nothing under LeakSanitizer. */
static struct {
    struct buf out;  /* a rendering */
    struct buf arg;  /* a rendering parsed back */
    struct buf want; /* an expected rendering built on the fly */
} fixture;

static int free_fixture(void **state)
{
    (void)state;
    buf_free(&fixture.out);
    buf_free(&fixture.arg);
    buf_free(&fixture.want);
    return 0;
}

/* The output buffer, emptied for a new rendering. */
static struct buf *fresh_out(void)
{
    buf_clear(&fixture.out);
    return &fixture.out;
}

static bool same_bytes(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static void assert_bytes(const char *got, size_t got_len, const char *want, size_t want_len)
{
    if (same_bytes(got, got_len, want, want_len))
        return;
    print_escaped("got ", got, got_len);
    print_escaped("want", want, want_len);
    fail();
}

/* Renders r (and frees it), then compares byte for byte. */
static void assert_rendered(render_fn *render, struct reply *r, const char *want, size_t n)
{
    struct buf *out = fresh_out();
    render(out, r);
    reply_free(r);
    assert_bytes(buf_head(out), buf_used(out), want, n);
}

#define ASSERT_OUT(want) assert_bytes(buf_head(&fixture.out), buf_used(&fixture.out), LIT(want))

#define ASSERT_RESP(r, want) assert_rendered(render_resp, (r), LIT(want))
#define ASSERT_TEXT(r, want) assert_rendered(render_text, (r), LIT(want))

static struct reply *list_of(struct reply *a, struct reply *b)
{
    struct reply *l = reply_list();
    reply_list_add(l, a);
    reply_list_add(l, b);
    return l;
}

/* ---- the reply model ------------------------------------------------- */

/* Short strings live inside the reply node, longer ones are allocated: both
 * must keep every byte, NULs included, and stay NUL-terminated. */
static void test_reply_string_keeps_bytes_around_the_inline_size(void **state)
{
    (void)state;
    char src[3 * REPLY_INLINE_STR];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = i % 7 == 3 ? '\0' : (char)('a' + i % 26);
    for (size_t n = 0; n <= sizeof src; n++) {
        struct reply *r = reply_string(src, n);
        bool ok = r->type == REPLY_STRING && r->len == n &&
                  memcmp(r->str, src, n) == 0 && r->str[n] == '\0';
        buf_clear(&fixture.want);
        buf_printf(&fixture.want, "$%zu\r\n", n);
        buf_append(&fixture.want, src, n);
        buf_appends(&fixture.want, "\r\n");
        render_resp(fresh_out(), r);
        reply_free(r);
        if (!ok)
            fail_msg("reply_string of %zu bytes does not hold them", n);
        assert_bytes(buf_head(&fixture.out), buf_used(&fixture.out),
                     buf_head(&fixture.want), buf_used(&fixture.want));
    }
}

static void test_reply_long_texts_are_kept_whole(void **state)
{
    (void)state;
    ASSERT_RESP(reply_status("a status that is longer than the inline size"),
                "+a status that is longer than the inline size\r\n");
    ASSERT_RESP(reply_error(ERR_BADARG, "%s, got '%s'", "qty must be an integer from 1 to 1000000000", "0"),
                "-BADARG qty must be an integer from 1 to 1000000000, got '0'\r\n");
    ASSERT_RESP(reply_stringf("%s-%d", "a formatted string longer than thirty-two", 7),
                "$43\r\na formatted string longer than thirty-two-7\r\n");
    ASSERT_RESP(reply_push("a-push-kind-that-is-longer-than-the-inline-size"),
                "*1\r\n$47\r\na-push-kind-that-is-longer-than-the-inline-size\r\n");
}

static void test_reply_record_get_finds_values_by_key(void **state)
{
    (void)state;
    struct reply *r = reply_record();
    reply_record_int(r, "id", 42);
    reply_record_str(r, "status", "PAID");
    const struct reply *id = reply_record_get(r, "id");
    const struct reply *status = reply_record_get(r, "status");
    const struct reply *missing = reply_record_get(r, "note");
    bool ok = id && id->type == REPLY_INTEGER && id->integer == 42 &&
              status && status->type == REPLY_STRING && strcmp(status->str, "PAID") == 0 &&
              missing == NULL;
    reply_free(r);
    assert_true(ok);
}

/* ---- RESP2 ----------------------------------------------------------- */

static void test_resp_status(void **state)
{
    (void)state;
    ASSERT_RESP(reply_status("OK"), "+OK\r\n");
}

static void test_resp_status_stays_on_one_line(void **state)
{
    (void)state;
    ASSERT_RESP(reply_status("a\r\nb\nc\rd"), "+a  b c d\r\n");
}

static void test_resp_error(void **state)
{
    (void)state;
    ASSERT_RESP(reply_error(ERR_NOTFOUND, "order %d does not exist", 999),
                "-NOTFOUND order 999 does not exist\r\n");
}

static void test_resp_error_stays_on_one_line(void **state)
{
    (void)state;
    ASSERT_RESP(reply_error(ERR_ERR, "bad\r\nthing\n"), "-ERR bad  thing \r\n");
}

static void test_resp_integer(void **state)
{
    (void)state;
    ASSERT_RESP(reply_integer(42), ":42\r\n");
    ASSERT_RESP(reply_integer(0), ":0\r\n");
}

static void test_resp_negative_integer(void **state)
{
    (void)state;
    ASSERT_RESP(reply_integer(-7), ":-7\r\n");
}

static void test_resp_integer_extremes(void **state)
{
    (void)state;
    ASSERT_RESP(reply_integer(LLONG_MIN), ":-9223372036854775808\r\n");
    ASSERT_RESP(reply_integer(LLONG_MAX), ":9223372036854775807\r\n");
}

/* Numbers below 100 are written by a shorter path: both sides of each
 * digit count, as integers and as bulk and array lengths. */
static void test_resp_numbers_around_each_digit_count(void **state)
{
    (void)state;
    const long long values[] = {0, 9, 10, 99, 100, 101, 999, 1000, -1, -10, -99, -100};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, ":%lld\r\n", values[i]);
        struct buf b;
        buf_init(&b);
        struct reply *r = reply_integer(values[i]);
        render_resp(&b, r);
        reply_free(r);
        assert_int_equal(buf_used(&b), strlen(want));
        assert_memory_equal(buf_head(&b), want, strlen(want));
        buf_free(&b);
    }
    const size_t lengths[] = {0, 1, 9, 10, 99, 100, 101, 1000};
    char bytes[1000];
    memset(bytes, 'x', sizeof bytes);
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        size_t n = lengths[i];
        struct reply *l = reply_list();
        for (size_t k = 0; k < n; k++)
            reply_list_add(l, reply_nil());
        struct buf want, got;
        buf_init(&want);
        buf_init(&got);
        buf_printf(&want, "*%zu\r\n", n);
        for (size_t k = 0; k < n; k++)
            buf_appends(&want, "$-1\r\n");
        buf_printf(&want, "$%zu\r\n", n);
        buf_append(&want, bytes, n);
        buf_appends(&want, "\r\n");
        render_resp(&got, l);
        struct reply *str = reply_string(bytes, n);
        render_resp(&got, str);
        assert_int_equal(buf_used(&got), buf_used(&want));
        assert_memory_equal(buf_head(&got), buf_head(&want), buf_used(&want));
        reply_free(l);
        reply_free(str);
        buf_free(&want);
        buf_free(&got);
    }
}

static void test_resp_string(void **state)
{
    (void)state;
    ASSERT_RESP(reply_cstring("hello world"), "$11\r\nhello world\r\n");
}

static void test_resp_string_is_binary_safe(void **state)
{
    (void)state;
    ASSERT_RESP(reply_string(LIT("a\r\n\0b")), "$5\r\na\r\n\0b\r\n");
}

static void test_resp_empty_string(void **state)
{
    (void)state;
    ASSERT_RESP(reply_cstring(""), "$0\r\n\r\n");
}

static void test_resp_nil(void **state)
{
    (void)state;
    ASSERT_RESP(reply_nil(), "$-1\r\n");
}

static void test_resp_record_is_a_flat_array_of_pairs(void **state)
{
    (void)state;
    struct reply *r = reply_record();
    reply_record_int(r, "id", 42);
    reply_record_str(r, "side", "buy");
    reply_record_add(r, "note", reply_nil());
    ASSERT_RESP(r, "*6\r\n"
                   "$2\r\nid\r\n:42\r\n"
                   "$4\r\nside\r\n$3\r\nbuy\r\n"
                   "$4\r\nnote\r\n$-1\r\n");
}

static void test_resp_list(void **state)
{
    (void)state;
    ASSERT_RESP(list_of(reply_integer(1), reply_cstring("a")), "*2\r\n:1\r\n$1\r\na\r\n");
    ASSERT_RESP(reply_list(), "*0\r\n");
}

static void test_resp_nested_list(void **state)
{
    (void)state;
    struct reply *r = list_of(list_of(reply_integer(1), reply_nil()), reply_list());
    ASSERT_RESP(r, "*2\r\n*2\r\n:1\r\n$-1\r\n*0\r\n");
}

static void test_resp_push_is_an_array_led_by_its_kind(void **state)
{
    (void)state;
    struct reply *r = reply_push("message");
    reply_list_add(r, reply_cstring("orders"));
    reply_list_add(r, reply_cstring("filled 42"));
    reply_list_add(r, reply_integer(3));
    ASSERT_RESP(r, "*4\r\n$7\r\nmessage\r\n$6\r\norders\r\n$9\r\nfilled 42\r\n:3\r\n");
}

static void test_render_reply_follows_the_request_kind(void **state)
{
    (void)state;
    struct reply *r = reply_cstring("hi");
    struct buf *out = fresh_out();
    render_reply(out, r, PROTO_RESP);
    render_reply(out, r, PROTO_INLINE);
    reply_free(r);
    ASSERT_OUT("$2\r\nhi\r\n"
               "hi\r\n");
}

/* ---- JSON ------------------------------------------------------------ */

#define ASSERT_JSON(r, want) assert_rendered(render_json, (r), LIT(want))

static void test_json_scalars(void **state)
{
    (void)state;
    ASSERT_JSON(reply_status("OK"), "\"OK\"");
    ASSERT_JSON(reply_integer(-42), "-42");
    ASSERT_JSON(reply_nil(), "null");
    ASSERT_JSON(reply_cstring("a \"b\"\\\n"), "\"a \\\"b\\\"\\\\\\n\"");
    ASSERT_JSON(reply_string("a\0b", 3), "\"a\\u0000b\"");
    /* Bytes that are not UTF-8 cannot be JSON text: U+FFFD stands for each. */
    ASSERT_JSON(reply_string("\xff\xc3\xa9", 3), "\"\\ufffd\xc3\xa9\"");
    ASSERT_JSON(reply_lines("a\nb\n", 4), "\"a\\nb\\n\"");
    ASSERT_JSON(reply_error(ERR_NOTFOUND, "order %d does not exist", 9),
                "{\"code\":\"NOTFOUND\",\"message\":\"order 9 does not exist\"}");
}

static void test_json_records_lists_and_pushes_nest(void **state)
{
    (void)state;
    struct reply *rec = reply_record();
    reply_record_int(rec, "id", 7);
    reply_record_str(rec, "amount", "19.99");
    reply_record_add(rec, "note", reply_nil());
    reply_record_add(rec, "steps", list_of(reply_integer(1), reply_cstring("two")));
    reply_record_add_copy(rec, "odd\"key", reply_record());
    ASSERT_JSON(rec, "{\"id\":7,\"amount\":\"19.99\",\"note\":null,\"steps\":[1,\"two\"],"
                     "\"odd\\\"key\":{}}");
    ASSERT_JSON(reply_list(), "[]");
    struct reply *p = reply_push("message");
    reply_list_add(p, reply_cstring("order.status"));
    reply_list_add(p, reply_cstring("{}"));
    ASSERT_JSON(p, "{\"kind\":\"message\",\"data\":[\"order.status\",\"{}\"]}");
}

static void test_render_reply_renders_json_for_http(void **state)
{
    (void)state;
    struct reply *r = reply_cstring("hi");
    struct buf *out = fresh_out();
    render_reply(out, r, PROTO_JSON);
    reply_free(r);
    ASSERT_OUT("\"hi\"");
}

/* ---- text ------------------------------------------------------------ */

static void test_text_status(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_status("OK"), "+OK\r\n");
}

static void test_text_status_stays_on_one_line(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_status("a\r\nb\nc\rd"), "+a  b c d\r\n");
}

static void test_text_error(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_error(ERR_BADARG, "qty must be positive, got '%s'", "-1"),
                "-BADARG qty must be positive, got '-1'\r\n");
}

static void test_text_error_stays_on_one_line(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_error(ERR_ERR, "bad\r\nthing\n"), "-ERR bad  thing \r\n");
}

static void test_text_integer(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_integer(42), ":42\r\n");
    ASSERT_TEXT(reply_integer(0), ":0\r\n");
}

static void test_text_negative_integer(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_integer(-7), ":-7\r\n");
}

static void test_text_integer_extremes(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_integer(LLONG_MIN), ":-9223372036854775808\r\n");
    ASSERT_TEXT(reply_integer(LLONG_MAX), ":9223372036854775807\r\n");
}

static void test_text_nil(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_nil(), "(nil)\r\n");
}

static void test_text_string_is_the_plain_line(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_cstring("hello"), "hello\r\n");
    ASSERT_TEXT(reply_cstring("two words"), "two words\r\n");
    ASSERT_TEXT(reply_cstring("caf\xc3\xa9 \xe2\x98\x95"), "caf\xc3\xa9 \xe2\x98\x95\r\n");
    ASSERT_TEXT(reply_cstring("C:\\dir"), "C:\\dir\r\n");
    ASSERT_TEXT(reply_cstring("a+b-c"), "a+b-c\r\n");
}

static void test_text_empty_string_is_quoted(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_cstring(""), "\"\"\r\n");
}

static void test_text_string_with_control_bytes_is_quoted(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_string(LIT("a\r\nb\tc\0d\x01\x7f")),
                "\"a\\r\\nb\\tc\\x00d\\x01\\x7f\"\r\n");
}

static void test_text_quoted_string_escapes_quote_and_backslash(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_cstring("\"a\\b\""), "\"\\\"a\\\\b\\\"\"\r\n");
}

static void test_text_string_starting_like_another_reply_is_quoted(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_cstring("+OK"), "\"+OK\"\r\n");
    ASSERT_TEXT(reply_cstring("-1"), "\"-1\"\r\n");
    ASSERT_TEXT(reply_cstring(":5"), "\":5\"\r\n");
    ASSERT_TEXT(reply_cstring("*2"), "\"*2\"\r\n");
    ASSERT_TEXT(reply_cstring("(nil)"), "\"(nil)\"\r\n");
    ASSERT_TEXT(reply_cstring("'q'"), "\"'q'\"\r\n");
}

static void test_text_string_with_edge_blanks_is_quoted(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_cstring(" x"), "\" x\"\r\n");
    ASSERT_TEXT(reply_cstring("x "), "\"x \"\r\n");
    ASSERT_TEXT(reply_cstring("\tx"), "\"\\tx\"\r\n");
    ASSERT_TEXT(reply_cstring(" "), "\" \"\r\n");
}

static void test_text_record_on_one_line(void **state)
{
    (void)state;
    struct reply *r = reply_record();
    reply_record_int(r, "id", 42);
    reply_record_str(r, "side", "buy");
    reply_record_int(r, "delta", -5);
    reply_record_add(r, "gone", reply_nil());
    reply_record_str(r, "expr", "a=b+c");
    reply_record_strf(r, "amount", "%d.%02d", 19, 9);
    ASSERT_TEXT(r, "id=42 side=buy delta=-5 gone=(nil) expr=a=b+c amount=19.09\r\n");
}

static void test_text_record_quotes_values_that_are_not_one_plain_word(void **state)
{
    (void)state;
    struct reply *r = reply_record();
    reply_record_str(r, "note", "two words");
    reply_record_str(r, "empty", "");
    reply_record_str(r, "paren", "(nil)");
    reply_record_str(r, "q", "it's");
    reply_record_str(r, "dq", "a\"b");
    reply_record_str(r, "tab", "a\tb");
    reply_record_add(r, "nl", reply_string(LIT("x\n\0")));
    ASSERT_TEXT(r, "note=\"two words\" empty=\"\" paren=\"(nil)\" q=\"it's\" "
                   "dq=\"a\\\"b\" tab=\"a\\tb\" nl=\"x\\n\\x00\"\r\n");
}

static void test_text_record_folds_nested_list_with_commas(void **state)
{
    (void)state;
    struct reply *tags = reply_list();
    reply_list_add(tags, reply_cstring("a"));
    reply_list_add(tags, reply_integer(2));
    reply_list_add(tags, reply_nil());
    struct reply *r = reply_record();
    reply_record_add(r, "tags", tags);
    reply_record_add(r, "pair", list_of(reply_cstring("x y"), reply_cstring("z")));
    reply_record_add(r, "none", reply_list());
    ASSERT_TEXT(r, "tags=a,2,(nil) pair=\"x y,z\" none=\"\"\r\n");
}

static void test_text_record_folds_nested_record(void **state)
{
    (void)state;
    struct reply *fill = reply_record();
    reply_record_int(fill, "px", 100);
    reply_record_int(fill, "qty", 2);
    struct reply *r = reply_record();
    reply_record_int(r, "id", 1);
    reply_record_add(r, "fill", fill);
    ASSERT_TEXT(r, "id=1 fill=px:100,qty:2\r\n");
}

static void test_text_list_is_a_count_then_one_line_each(void **state)
{
    (void)state;
    struct reply *rec = reply_record();
    reply_record_int(rec, "id", 7);
    struct reply *r = reply_list();
    reply_list_add(r, reply_integer(1));
    reply_list_add(r, reply_cstring("hello"));
    reply_list_add(r, reply_nil());
    reply_list_add(r, rec);
    ASSERT_TEXT(r, "*4\r\n:1\r\nhello\r\n(nil)\r\nid=7\r\n");
}

static void test_text_empty_list(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_list(), "*0\r\n");
}

static void test_text_nested_list(void **state)
{
    (void)state;
    struct reply *r = list_of(list_of(reply_integer(1), reply_cstring("a b")), reply_list());
    ASSERT_TEXT(r, "*2\r\n*2\r\n:1\r\na b\r\n*0\r\n");
}

static void test_text_push_is_kind_words_then_rest_of_line(void **state)
{
    (void)state;
    struct reply *r = reply_push("message");
    reply_list_add(r, reply_cstring("orders"));
    reply_list_add(r, reply_integer(-3));
    reply_list_add(r, reply_nil());
    reply_list_add(r, reply_cstring("order 42 \"filled\" at 19.99"));
    ASSERT_TEXT(r, "message orders -3 (nil) order 42 \"filled\" at 19.99\r\n");
}

static void test_text_push_quotes_words_that_are_not_one_plain_word(void **state)
{
    (void)state;
    struct reply *r = reply_push("message");
    reply_list_add(r, reply_cstring("my orders"));
    reply_list_add(r, reply_cstring(""));
    reply_list_add(r, reply_cstring("done"));
    ASSERT_TEXT(r, "message \"my orders\" \"\" done\r\n");
}

static void test_text_push_quotes_an_ambiguous_rest(void **state)
{
    (void)state;
    struct reply *r = reply_push("message");
    reply_list_add(r, reply_cstring("(nil)"));
    ASSERT_TEXT(r, "message \"(nil)\"\r\n");
    r = reply_push("message");
    reply_list_add(r, reply_cstring("two\nlines "));
    ASSERT_TEXT(r, "message \"two\\nlines \"\r\n");
}

static void test_text_push_without_words(void **state)
{
    (void)state;
    ASSERT_TEXT(reply_push("ping"), "ping\r\n");
}

/* ---- escaping -------------------------------------------------------- */

static void test_needs_quotes_in_a_line(void **state)
{
    (void)state;
    assert_false(text_needs_quotes(LIT("two words"), TEXT_LINE));
    assert_false(text_needs_quotes(LIT("a+b"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT(""), TEXT_LINE));
    assert_true(text_needs_quotes(LIT("+x"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT("-x"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT(":x"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT("*x"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT("(x"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT("\"x"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT("'x"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT(" x"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT("x\t"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT("a\0b"), TEXT_LINE));
    assert_true(text_needs_quotes(LIT("a\x7f"), TEXT_LINE));
}

static void test_needs_quotes_as_a_word(void **state)
{
    (void)state;
    assert_false(text_needs_quotes(LIT("+x"), TEXT_WORD));
    assert_false(text_needs_quotes(LIT("a=b,c"), TEXT_WORD));
    assert_false(text_needs_quotes(LIT("caf\xc3\xa9"), TEXT_WORD));
    assert_true(text_needs_quotes(LIT(""), TEXT_WORD));
    assert_true(text_needs_quotes(LIT("a b"), TEXT_WORD));
    assert_true(text_needs_quotes(LIT("a\"b"), TEXT_WORD));
    assert_true(text_needs_quotes(LIT("a'b"), TEXT_WORD));
    assert_true(text_needs_quotes(LIT("a\tb"), TEXT_WORD));
    assert_true(text_needs_quotes(LIT("(nil)"), TEXT_WORD));
}

static void test_needs_quotes_as_the_rest_of_a_line(void **state)
{
    (void)state;
    assert_false(text_needs_quotes(LIT("a b \"c\""), TEXT_REST));
    assert_false(text_needs_quotes(LIT("+x"), TEXT_REST));
    assert_true(text_needs_quotes(LIT(""), TEXT_REST));
    assert_true(text_needs_quotes(LIT("(x"), TEXT_REST));
    assert_true(text_needs_quotes(LIT("'x"), TEXT_REST));
    assert_true(text_needs_quotes(LIT("x "), TEXT_REST));
    assert_true(text_needs_quotes(LIT("a\nb"), TEXT_REST));
}

static void test_append_quoted_escapes_exactly_what_the_tokenizer_reads(void **state)
{
    (void)state;
    text_append_quoted(fresh_out(), LIT("a\n\r\t\\\"\x01\x1f\x7f\x80\xc3\xa9 '\0z"));
    ASSERT_OUT("\"a\\n\\r\\t\\\\\\\"\\x01\\x1f\\x7f\x80\xc3\xa9 '\\x00z\"");
}

static void test_append_is_plain_when_unambiguous(void **state)
{
    (void)state;
    struct buf *out = fresh_out();
    text_append(out, LIT("abc"), TEXT_WORD);
    text_append(out, LIT("|"), TEXT_WORD);
    text_append(out, LIT("a b"), TEXT_WORD);
    ASSERT_OUT("abc|\"a b\"");
}

static void test_append_oneline_replaces_cr_and_lf(void **state)
{
    (void)state;
    text_append_oneline(fresh_out(), LIT("a\rb\nc\r\nd\te"));
    ASSERT_OUT("a b c  d\te");
}

/* ---- round trip: text rendering back through the inline parser ------ */

/* Feeds "<prefix><fixture.out without its CRLF>\r\n" to a parser and puts
 * the request's second argument in fixture.arg. */
static void parse_back(const char *prefix)
{
    const struct buf *line = &fixture.out;
    size_t n = buf_used(line);
    assert_true(n >= 2);
    assert_memory_equal(buf_head(line) + n - 2, "\r\n", 2);

    struct req_parser *p = req_parser_new(NULL);
    req_parser_feed(p, prefix, strlen(prefix));
    req_parser_feed(p, buf_head(line), n - 2);
    req_parser_feed(p, "\r\n", 2);
    struct request req;
    struct req_error err = {0};
    enum req_status st = req_parser_next(p, &req, &err);
    size_t argc = st == REQ_READY ? req.argc : 0;
    buf_clear(&fixture.arg);
    if (argc == 2)
        buf_append(&fixture.arg, req.argv[1].ptr, req.argv[1].len);
    req_parser_free(p);

    if (st != REQ_READY) {
        print_escaped("line", buf_head(line), n - 2);
        print_error("parsed back as %s: %s\n",
                    st == REQ_BAD ? "REQ_BAD" : st == REQ_FATAL ? "REQ_FATAL" : "REQ_NEED_MORE",
                    err.msg);
        fail();
    }
    if (argc != 2) {
        print_escaped("line", buf_head(line), n - 2);
        print_error("parsed back as %zu arguments, not 2\n", argc);
        fail();
    }
}

/* A string reply rendered as text reads back as the same bytes. */
static void assert_line_round_trip(const char *s, size_t n)
{
    struct reply *r = reply_string(s, n);
    render_text(fresh_out(), r);
    reply_free(r);
    parse_back("PING ");
    if (!same_bytes(buf_head(&fixture.arg), buf_used(&fixture.arg), s, n))
        print_escaped("line", buf_head(&fixture.out), buf_used(&fixture.out));
    assert_bytes(buf_head(&fixture.arg), buf_used(&fixture.arg), s, n);
}

/* A record value rendered as text reads back as "v=<value>". */
static void assert_word_round_trip(const char *s, size_t n)
{
    struct reply *r = reply_record();
    reply_record_add(r, "v", reply_string(s, n));
    render_text(fresh_out(), r);
    reply_free(r);
    parse_back("SET ");
    const struct buf *arg = &fixture.arg;
    if (buf_used(arg) < 2 || memcmp(buf_head(arg), "v=", 2) != 0 ||
        !same_bytes(buf_head(arg) + 2, buf_used(arg) - 2, s, n)) {
        print_escaped("line", buf_head(&fixture.out), buf_used(&fixture.out));
        print_escaped("got ", buf_head(arg), buf_used(arg));
        print_escaped("want v=", s, n);
        fail();
    }
}

#define LINE_ROUND_TRIP(s) assert_line_round_trip(LIT(s))
#define WORD_ROUND_TRIP(s) assert_word_round_trip(LIT(s))

static void test_round_trip_control_bytes(void **state)
{
    (void)state;
    LINE_ROUND_TRIP("a\rb");
    LINE_ROUND_TRIP("a\nb");
    LINE_ROUND_TRIP("line\r\n");
    LINE_ROUND_TRIP("a\tb");
    LINE_ROUND_TRIP("\0");
    LINE_ROUND_TRIP("a\0b");
    LINE_ROUND_TRIP("\x7f");
    LINE_ROUND_TRIP("\x1b[0m");
}

static void test_round_trip_backslash(void **state)
{
    (void)state;
    LINE_ROUND_TRIP("a\\b");
    LINE_ROUND_TRIP("\\");
    LINE_ROUND_TRIP("\\x41");
    LINE_ROUND_TRIP("C:\\dir\\");
    LINE_ROUND_TRIP("\\\n");
}

static void test_round_trip_utf8(void **state)
{
    (void)state;
    LINE_ROUND_TRIP("caf\xc3\xa9");
    LINE_ROUND_TRIP("\xe6\x97\xa5\xe6\x9c\xac");
    LINE_ROUND_TRIP("\xff\xfe");
    LINE_ROUND_TRIP("\xc3\xa9\n");
}

static void test_round_trip_leading_sigils(void **state)
{
    (void)state;
    LINE_ROUND_TRIP("+OK");
    LINE_ROUND_TRIP("-1");
    LINE_ROUND_TRIP(":5");
    LINE_ROUND_TRIP("*2");
    LINE_ROUND_TRIP("(nil)");
    LINE_ROUND_TRIP("\"q\"");
    LINE_ROUND_TRIP("'q'");
}

static void test_round_trip_edge_blanks_and_empty(void **state)
{
    (void)state;
    LINE_ROUND_TRIP("");
    LINE_ROUND_TRIP(" x");
    LINE_ROUND_TRIP("x ");
    LINE_ROUND_TRIP("\t");
}

/* Quotes inside a line that does not start with one. */
static void test_round_trip_inner_quotes(void **state)
{
    (void)state;
    LINE_ROUND_TRIP("it's");
    LINE_ROUND_TRIP("a\"b");
    LINE_ROUND_TRIP("a'b'c");
    LINE_ROUND_TRIP("say\"hi\"");
}

static void test_round_trip_record_value(void **state)
{
    (void)state;
    WORD_ROUND_TRIP("two words");
    WORD_ROUND_TRIP("");
    WORD_ROUND_TRIP("it's");
    WORD_ROUND_TRIP("a\"b");
    WORD_ROUND_TRIP("a\\b");
    WORD_ROUND_TRIP("a\r\n\tb\0\x7f");
    WORD_ROUND_TRIP("(nil)");
    WORD_ROUND_TRIP("+x");
    WORD_ROUND_TRIP("caf\xc3\xa9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_string_keeps_bytes_around_the_inline_size),
        cmocka_unit_test(test_json_scalars),
        cmocka_unit_test(test_json_records_lists_and_pushes_nest),
        cmocka_unit_test(test_render_reply_renders_json_for_http),
        cmocka_unit_test(test_reply_long_texts_are_kept_whole),
        cmocka_unit_test(test_reply_record_get_finds_values_by_key),
        cmocka_unit_test(test_resp_status),
        cmocka_unit_test(test_resp_status_stays_on_one_line),
        cmocka_unit_test(test_resp_error),
        cmocka_unit_test(test_resp_error_stays_on_one_line),
        cmocka_unit_test(test_resp_integer),
        cmocka_unit_test(test_resp_negative_integer),
        cmocka_unit_test(test_resp_integer_extremes),
        cmocka_unit_test(test_resp_numbers_around_each_digit_count),
        cmocka_unit_test(test_resp_string),
        cmocka_unit_test(test_resp_string_is_binary_safe),
        cmocka_unit_test(test_resp_empty_string),
        cmocka_unit_test(test_resp_nil),
        cmocka_unit_test(test_resp_record_is_a_flat_array_of_pairs),
        cmocka_unit_test(test_resp_list),
        cmocka_unit_test(test_resp_nested_list),
        cmocka_unit_test(test_resp_push_is_an_array_led_by_its_kind),
        cmocka_unit_test(test_render_reply_follows_the_request_kind),
        cmocka_unit_test(test_text_status),
        cmocka_unit_test(test_text_status_stays_on_one_line),
        cmocka_unit_test(test_text_error),
        cmocka_unit_test(test_text_error_stays_on_one_line),
        cmocka_unit_test(test_text_integer),
        cmocka_unit_test(test_text_negative_integer),
        cmocka_unit_test(test_text_integer_extremes),
        cmocka_unit_test(test_text_nil),
        cmocka_unit_test(test_text_string_is_the_plain_line),
        cmocka_unit_test(test_text_empty_string_is_quoted),
        cmocka_unit_test(test_text_string_with_control_bytes_is_quoted),
        cmocka_unit_test(test_text_quoted_string_escapes_quote_and_backslash),
        cmocka_unit_test(test_text_string_starting_like_another_reply_is_quoted),
        cmocka_unit_test(test_text_string_with_edge_blanks_is_quoted),
        cmocka_unit_test(test_text_record_on_one_line),
        cmocka_unit_test(test_text_record_quotes_values_that_are_not_one_plain_word),
        cmocka_unit_test(test_text_record_folds_nested_list_with_commas),
        cmocka_unit_test(test_text_record_folds_nested_record),
        cmocka_unit_test(test_text_list_is_a_count_then_one_line_each),
        cmocka_unit_test(test_text_empty_list),
        cmocka_unit_test(test_text_nested_list),
        cmocka_unit_test(test_text_push_is_kind_words_then_rest_of_line),
        cmocka_unit_test(test_text_push_quotes_words_that_are_not_one_plain_word),
        cmocka_unit_test(test_text_push_quotes_an_ambiguous_rest),
        cmocka_unit_test(test_text_push_without_words),
        cmocka_unit_test(test_needs_quotes_in_a_line),
        cmocka_unit_test(test_needs_quotes_as_a_word),
        cmocka_unit_test(test_needs_quotes_as_the_rest_of_a_line),
        cmocka_unit_test(test_append_quoted_escapes_exactly_what_the_tokenizer_reads),
        cmocka_unit_test(test_append_is_plain_when_unambiguous),
        cmocka_unit_test(test_append_oneline_replaces_cr_and_lf),
        cmocka_unit_test(test_round_trip_control_bytes),
        cmocka_unit_test(test_round_trip_backslash),
        cmocka_unit_test(test_round_trip_utf8),
        cmocka_unit_test(test_round_trip_leading_sigils),
        cmocka_unit_test(test_round_trip_edge_blanks_and_empty),
        cmocka_unit_test(test_round_trip_inner_quotes),
        cmocka_unit_test(test_round_trip_record_value),
    };
    return cmocka_run_group_tests_name("render", tests, NULL, free_fixture);
}
