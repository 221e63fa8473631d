/* Unit tests for the request parser (protocol/request.c and the inline and
 * RESP readers behind it): tokenizing inline lines, framing RESP arrays,
 * pipelines that mix both, independence from how the bytes are chunked,
 * every limit, and hostile headers that must fail fast and stay failed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "request.h"

/* A string literal and its length, NULs inside included. */
#define LIT(s) (s), (sizeof(s) - 1)

/* Small limits so that limit tests stay cheap; each test changes the one
 * it is about. */
static struct proto_limits small_limits(void)
{
    struct proto_limits lim = {
        .max_inline = 32,
        .max_bulk = 32,
        .max_args = 4,
        .max_pending = 128,
    };
    return lim;
}

/* The parser under test and what it said: each test's open_parser()
 * replaces the last one and the group teardown frees it, so a failing
 * assertion leaks nothing under LeakSanitizer. */
static struct {
    struct req_parser *parser;
    struct buf log;
} fixture;

/* A fresh parser with lim (defaults when NULL), replacing the last one. */
static struct req_parser *open_parser(const struct proto_limits *lim)
{
    req_parser_free(fixture.parser);
    buf_clear(&fixture.log);
    fixture.parser = req_parser_new(lim);
    return fixture.parser;
}

static int close_fixture(void **state)
{
    (void)state;
    req_parser_free(fixture.parser);
    fixture.parser = NULL;
    buf_free(&fixture.log);
    return 0;
}

static const char *status_name(enum req_status st)
{
    switch (st) {
    case REQ_READY: return "REQ_READY";
    case REQ_NEED_MORE: return "REQ_NEED_MORE";
    case REQ_BAD: return "REQ_BAD";
    case REQ_FATAL: return "REQ_FATAL";
    }
    return "?";
}

static void feed_str(struct req_parser *p, const char *s)
{
    req_parser_feed(p, s, strlen(s));
}

static void feed_repeat(struct req_parser *p, char c, size_t n)
{
    char *space = req_parser_space(p, n);
    memset(space, c, n);
    req_parser_commit(p, n);
}

static void expect_status(struct req_parser *p, enum req_status want,
                          struct request *req, struct req_error *err)
{
    memset(err, 0, sizeof *err);
    enum req_status st = req_parser_next(p, req, err);
    if (st != want)
        fail_msg("expected %s, got %s (%s %s)", status_name(want),
                 status_name(st), err->code ? err->code : "-", err->msg);
}

/* The next request is ready, of that kind, with exactly these NUL-free
 * arguments; each one is also NUL-terminated. */
static void expect_args_v(struct req_parser *p, enum proto_kind kind, ...)
{
    struct request req;
    struct req_error err;
    expect_status(p, REQ_READY, &req, &err);
    assert_int_equal(req.kind, kind);

    va_list ap;
    va_start(ap, kind);
    size_t i = 0;
    for (const char *want; (want = va_arg(ap, const char *)) != NULL; i++) {
        if (i >= req.argc)
            fail_msg("only %zu arguments, expected more", req.argc);
        assert_string_equal(req.argv[i].ptr, want);
        assert_int_equal(req.argv[i].len, strlen(want));
        assert_int_equal(req.argv[i].ptr[req.argv[i].len], '\0');
    }
    va_end(ap);
    assert_int_equal(req.argc, i);
}

#define EXPECT_INLINE(p, ...) expect_args_v((p), PROTO_INLINE, __VA_ARGS__, (const char *)NULL)
#define EXPECT_RESP(p, ...) expect_args_v((p), PROTO_RESP, __VA_ARGS__, (const char *)NULL)

static void expect_need_more(struct req_parser *p)
{
    struct request req;
    struct req_error err;
    expect_status(p, REQ_NEED_MORE, &req, &err);
}

static void expect_error(struct req_parser *p, enum req_status want,
                         const char *code, const char *msg)
{
    struct request req;
    struct req_error err;
    expect_status(p, want, &req, &err);
    assert_non_null(err.code);
    assert_string_equal(err.code, code);
    assert_string_equal(err.msg, msg);
}

/* Appends every outcome the parser has ready to log, one line each:
 * "I" or "R", then " <len>:<bytes>" per argument; or "BAD/FATAL code msg".
 * Two logs are equal exactly when the parser said the same things. */
static enum req_status drain(struct req_parser *p, struct buf *log)
{
    for (;;) {
        struct request req;
        struct req_error err;
        enum req_status st = req_parser_next(p, &req, &err);
        switch (st) {
        case REQ_NEED_MORE:
            return st;
        case REQ_READY:
            buf_appendc(log, req.kind == PROTO_INLINE ? 'I' : 'R');
            for (size_t i = 0; i < req.argc; i++) {
                buf_printf(log, " %zu:", req.argv[i].len);
                buf_append(log, req.argv[i].ptr, req.argv[i].len);
            }
            buf_appendc(log, '\n');
            break;
        case REQ_BAD:
        case REQ_FATAL:
            buf_printf(log, "%s %s %s\n", st == REQ_BAD ? "BAD" : "FATAL",
                       err.code, err.msg);
            if (st == REQ_FATAL)
                return st;
            break;
        }
    }
}

static bool log_is(const struct buf *log, const char *want, size_t n)
{
    return buf_used(log) == n && (n == 0 || memcmp(buf_head(log), want, n) == 0);
}

static void assert_log(const struct buf *log, const char *want, size_t n)
{
    if (!log_is(log, want, n)) {
        print_error("got  %zu bytes: %.*s\n", buf_used(log),
                    (int)buf_used(log), buf_head(log));
        print_error("want %zu bytes: %.*s\n", n, (int)n, want);
        fail();
    }
}

/* ---- inline ---------------------------------------------------------- */

static void test_inline_splits_words_on_spaces_and_tabs(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "  SET \t k\t\tv   x \r\n");
    EXPECT_INLINE(p, "SET", "k", "v", "x");
    expect_need_more(p);
}

static void test_inline_accepts_lf_ending(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "PING hi\nPING\n");
    EXPECT_INLINE(p, "PING", "hi");
    EXPECT_INLINE(p, "PING");
    expect_need_more(p);
}

static void test_inline_accepts_crlf_ending(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "PING hi\r\nPING\r\n");
    EXPECT_INLINE(p, "PING", "hi");
    EXPECT_INLINE(p, "PING");
    expect_need_more(p);
    assert_int_equal(req_parser_pending(p), 0);
}

static void test_inline_waits_for_the_line_end(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "PING h");
    expect_need_more(p);
    assert_int_equal(req_parser_pending(p), 6);
    feed_str(p, "i\r");
    expect_need_more(p);
    feed_str(p, "\n");
    EXPECT_INLINE(p, "PING", "hi");
}

static void test_inline_double_quotes_keep_blanks(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "ECHO \"two  words\" \"tab\there\"\r\n");
    EXPECT_INLINE(p, "ECHO", "two  words", "tab\there");
}

static void test_inline_double_quote_escapes(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "ECHO \"a\\nb\\rc\\td\\\\e\\\"f\" \"\\x41\\x7e\\xAb\\xfF\"\r\n");
    EXPECT_INLINE(p, "ECHO", "a\nb\rc\td\\e\"f", "A~\xab\xff");
}

static void test_inline_hex_escape_of_nul_is_kept(void **state)
{
    (void)state;
    struct request req;
    struct req_error err;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "ECHO \"a\\x00b\"\r\n");
    expect_status(p, REQ_READY, &req, &err);
    assert_int_equal(req.argc, 2);
    assert_int_equal(req.argv[1].len, 3);
    assert_memory_equal(req.argv[1].ptr, "a\0b", 4);
}

static void test_inline_single_quotes_are_literal(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "ECHO 'a\\nb \"c\" \\x41'\r\n");
    EXPECT_INLINE(p, "ECHO", "a\\nb \"c\" \\x41");
}

static void test_inline_quote_joins_adjacent_text(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "SET note=\"two words\" a'b c'd\"e f\"g\r\n");
    EXPECT_INLINE(p, "SET", "note=two words", "ab cde fg");
}

static void test_inline_empty_quotes_give_empty_argument(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "SET \"\" '' x=\"\"\r\n\"\"\r\n");
    EXPECT_INLINE(p, "SET", "", "", "x=");
    EXPECT_INLINE(p, "");
}

static void test_inline_blank_lines_are_skipped(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "\r\n\n   \t\r\n \nPING\r\n\r\n");
    EXPECT_INLINE(p, "PING");
    expect_need_more(p);
    assert_int_equal(req_parser_pending(p), 0);
}

static void test_inline_unterminated_double_quote_is_bad(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "ECHO \"abc\r\n");
    expect_error(p, REQ_BAD, "ERR", "Protocol error: unterminated quote");
}

static void test_inline_unterminated_single_quote_is_bad(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "ECHO 'abc\r\n");
    expect_error(p, REQ_BAD, "ERR", "Protocol error: unterminated quote");
}

static void test_inline_backslash_ending_quoted_text_is_bad(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "ECHO \"abc\\\r\n");
    expect_error(p, REQ_BAD, "ERR", "Protocol error: unterminated quote");
}

static void test_inline_parser_continues_after_bad_line(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "ECHO \"abc\r\nPING 1\r\nECHO 'x\nPING 2\n");
    expect_error(p, REQ_BAD, "ERR", "Protocol error: unterminated quote");
    EXPECT_INLINE(p, "PING", "1");
    expect_error(p, REQ_BAD, "ERR", "Protocol error: unterminated quote");
    EXPECT_INLINE(p, "PING", "2");
    expect_need_more(p);
}

static void test_inline_unknown_escape_is_bad(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "ECHO \"\\q\"\r\nPING\r\n");
    expect_error(p, REQ_BAD, "ERR", "Protocol error: invalid escape in double quotes");
    EXPECT_INLINE(p, "PING");
}

static void test_inline_bad_hex_escape_is_bad(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "ECHO \"\\xZ1\"\r\nECHO \"\\x1Z\"\r\nECHO \"\\x1\"\r\nPING\r\n");
    expect_error(p, REQ_BAD, "ERR", "Protocol error: invalid escape in double quotes");
    expect_error(p, REQ_BAD, "ERR", "Protocol error: invalid escape in double quotes");
    expect_error(p, REQ_BAD, "ERR", "Protocol error: invalid escape in double quotes");
    EXPECT_INLINE(p, "PING");
}

static void test_inline_nul_bytes_inside_a_word_are_kept(void **state)
{
    (void)state;
    struct request req;
    struct req_error err;
    struct req_parser *p = open_parser(NULL);
    req_parser_feed(p, LIT("SET k a\0b\0\r\n"));
    expect_status(p, REQ_READY, &req, &err);
    assert_int_equal(req.kind, PROTO_INLINE);
    assert_int_equal(req.argc, 3);
    assert_int_equal(req.argv[2].len, 4);
    assert_memory_equal(req.argv[2].ptr, "a\0b\0\0", 5);
}

/* ---- RESP ------------------------------------------------------------ */

static void test_resp_array_of_bulks(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n");
    EXPECT_RESP(p, "PING", "hi");
    expect_need_more(p);
    assert_int_equal(req_parser_pending(p), 0);
}

static void test_resp_bulk_is_binary_safe(void **state)
{
    (void)state;
    struct request req;
    struct req_error err;
    struct req_parser *p = open_parser(NULL);
    req_parser_feed(p, LIT("*2\r\n$4\r\nECHO\r\n$9\r\na\r\nb\0c\n*\r\r\n"));
    expect_status(p, REQ_READY, &req, &err);
    assert_int_equal(req.kind, PROTO_RESP);
    assert_int_equal(req.argc, 2);
    assert_int_equal(req.argv[1].len, 9);
    assert_memory_equal(req.argv[1].ptr, "a\r\nb\0c\n*\r\0", 10);
    expect_need_more(p);
}

static void test_resp_empty_bulk_is_an_empty_argument(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
    EXPECT_RESP(p, "ECHO", "");
}

static void test_resp_empty_array_is_skipped(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*0\r\n");
    expect_need_more(p);
    assert_int_equal(req_parser_pending(p), 0);
    feed_str(p, "*0\r\n*0\r\n*1\r\n$4\r\nPING\r\n*0\r\n");
    EXPECT_RESP(p, "PING");
    expect_need_more(p);
    assert_int_equal(req_parser_pending(p), 0);
}

static void test_resp_waits_for_the_whole_array(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*2\r\n$4\r\nPING\r\n$2\r\nh");
    expect_need_more(p);
    feed_str(p, "i\r");
    expect_need_more(p);
    feed_str(p, "\n");
    EXPECT_RESP(p, "PING", "hi");
}

static void test_pipeline_mixes_inline_and_resp_in_order(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "PING 1\r\n"
                "*2\r\n$4\r\nPING\r\n$1\r\n2\r\n"
                "PING 3\n"
                "*2\r\n$4\r\nPING\r\n$1\r\n4\r\n"
                "*2\r\n$4\r\nPING\r\n$1\r\n5\r\n"
                "PING 6\r\n");
    EXPECT_INLINE(p, "PING", "1");
    EXPECT_RESP(p, "PING", "2");
    EXPECT_INLINE(p, "PING", "3");
    EXPECT_RESP(p, "PING", "4");
    EXPECT_RESP(p, "PING", "5");
    EXPECT_INLINE(p, "PING", "6");
    expect_need_more(p);
}

/* ---- the same stream, however it is chunked -------------------------- */

/* A pipeline with every kind of request: quotes and escapes, NULs, a
 * blank line, an empty array, a bad inline line, bulks holding CRLF, '*'
 * and NUL, and a RESP request that could be mistaken for inline text. */
static const char stream[] =
    "PING\r\n"
    "*2\r\n$4\r\nECHO\r\n$13\r\nline\r\nbreak\0x\r\n"
    "SET note=\"two words\" 'it''s'\n"
    "\r\n"
    "*0\r\n"
    "ECHO \"\\x41\\tb\" \"\"\r\n"
    "ECHO \"oops\r\n"
    "*3\r\n$3\r\nSET\r\n$1\r\n*\r\n$0\r\n\r\n"
    "  GET\tk  \r\n"
    "a\0b c\n"
    "*1\r\n$2\r\n\r\n\r\n";

static const char stream_log[] =
    "I 4:PING\n"
    "R 4:ECHO 13:line\r\nbreak\0x\n"
    "I 3:SET 14:note=two words 3:its\n"
    "I 4:ECHO 3:A\tb 0:\n"
    "BAD ERR Protocol error: unterminated quote\n"
    "R 3:SET 1:* 0:\n"
    "I 3:GET 1:k\n"
    "I 3:a\0b 1:c\n"
    "R 2:\r\n\n";

static void test_stream_fed_whole(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    req_parser_feed(p, stream, sizeof stream - 1);
    assert_int_equal(drain(p, &fixture.log), REQ_NEED_MORE);
    assert_log(&fixture.log, stream_log, sizeof stream_log - 1);
    assert_int_equal(req_parser_pending(p), 0);
}

static void test_stream_fed_byte_by_byte(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    for (size_t i = 0; i < sizeof stream - 1; i++) {
        /* The zero-copy path a connection uses. */
        *req_parser_space(p, 1) = stream[i];
        req_parser_commit(p, 1);
        assert_int_equal(drain(p, &fixture.log), REQ_NEED_MORE);
    }
    assert_log(&fixture.log, stream_log, sizeof stream_log - 1);
    assert_int_equal(req_parser_pending(p), 0);
}

static void test_stream_split_at_every_offset(void **state)
{
    (void)state;
    size_t n = sizeof stream - 1;
    for (size_t cut = 0; cut <= n; cut++) {
        struct req_parser *p = open_parser(NULL);
        req_parser_feed(p, stream, cut);
        drain(p, &fixture.log);
        req_parser_feed(p, stream + cut, n - cut);
        drain(p, &fixture.log);
        if (!log_is(&fixture.log, stream_log, sizeof stream_log - 1))
            print_error("split at offset %zu\n", cut);
        assert_log(&fixture.log, stream_log, sizeof stream_log - 1);
    }
}

/* A limit must be hit at the same request whatever the chunking. */
static void test_stream_limit_hit_at_every_offset(void **state)
{
    (void)state;
    static const char input[] = "PING\r\n*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$33\r\n";
    static const char want[] = "I 4:PING\nR 4:PING\nFATAL LIMIT bulk string exceeds 32 bytes\n";
    struct proto_limits lim = small_limits();
    size_t n = sizeof input - 1;
    for (size_t cut = 0; cut <= n; cut++) {
        struct req_parser *p = open_parser(&lim);
        req_parser_feed(p, input, cut);
        if (drain(p, &fixture.log) != REQ_FATAL) {
            req_parser_feed(p, input + cut, n - cut);
            drain(p, &fixture.log);
        }
        if (!log_is(&fixture.log, want, sizeof want - 1))
            print_error("split at offset %zu\n", cut);
        assert_log(&fixture.log, want, sizeof want - 1);
    }
}

/* ---- limits ---------------------------------------------------------- */

static void test_limit_inline_line_at_limit_is_accepted(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_inline = 8;
    struct req_parser *p = open_parser(&lim);
    feed_str(p, "PING 123\r\nPING 123\n");
    EXPECT_INLINE(p, "PING", "123");
    EXPECT_INLINE(p, "PING", "123");
}

static void test_limit_inline_line_too_long(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_inline = 8;
    struct req_parser *p = open_parser(&lim);
    feed_str(p, "PING 1234\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "inline line exceeds 8 bytes");
}

static void test_limit_inline_fires_without_lf(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_inline = 8;
    struct req_parser *p = open_parser(&lim);
    feed_repeat(p, 'a', 100);
    expect_error(p, REQ_FATAL, "LIMIT", "inline line exceeds 8 bytes");
}

/* max_inline bytes and a CR: the CR may be the start of the CRLF. */
static void test_limit_inline_waits_for_lf_after_cr_at_limit(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_inline = 8;
    struct req_parser *p = open_parser(&lim);
    feed_str(p, "PING 123\r");
    expect_need_more(p);
    feed_str(p, "\n");
    EXPECT_INLINE(p, "PING", "123");
}

/* max_inline + 1 bytes, the last not a CR: the line is already too long,
 * and a client that sends nothing more must not be left waiting. */
static void test_limit_inline_fires_at_first_byte_over_without_lf(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_inline = 8;
    struct req_parser *p = open_parser(&lim);
    feed_str(p, "PING 1234");
    expect_error(p, REQ_FATAL, "LIMIT", "inline line exceeds 8 bytes");
}

static void test_limit_inline_at_defaults(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_repeat(p, 'a', PROTO_MAX_INLINE_DEFAULT);
    feed_str(p, "\r\n");
    struct request req;
    struct req_error err;
    expect_status(p, REQ_READY, &req, &err);
    assert_int_equal(req.argc, 1);
    assert_int_equal(req.argv[0].len, PROTO_MAX_INLINE_DEFAULT);

    feed_repeat(p, 'a', PROTO_MAX_INLINE_DEFAULT + 1);
    feed_str(p, "\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "inline line exceeds 65536 bytes");
}

static void test_limit_inline_at_defaults_fires_without_lf(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_repeat(p, 'a', PROTO_MAX_INLINE_DEFAULT + 2);
    expect_error(p, REQ_FATAL, "LIMIT", "inline line exceeds 65536 bytes");
}

static void test_limit_inline_too_many_arguments(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_args = 3;
    struct req_parser *p = open_parser(&lim);
    feed_str(p, "a b c\r\na b c d\r\n");
    EXPECT_INLINE(p, "a", "b", "c");
    expect_error(p, REQ_FATAL, "LIMIT", "too many arguments (max 3)");
}

static void test_limit_resp_too_many_arguments(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_args = 3;
    struct req_parser *p = open_parser(&lim);
    feed_str(p, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    EXPECT_RESP(p, "a", "b", "c");
    /* Refused at the header, before any element arrives. */
    feed_str(p, "*4\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "too many arguments (max 3)");
}

static void test_limit_bulk_refused_at_its_header(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_bulk = 16;
    struct req_parser *p = open_parser(&lim);
    feed_str(p, "*1\r\n$16\r\n0123456789abcdef\r\n");
    EXPECT_RESP(p, "0123456789abcdef");
    feed_str(p, "*2\r\n$4\r\nECHO\r\n$17\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "bulk string exceeds 16 bytes");
}

static void test_limit_bulk_at_defaults(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*1\r\n$1048577\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "bulk string exceeds 1048576 bytes");
}

static void test_limit_pending_incomplete_request(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_bulk = 1000;
    lim.max_pending = 64;
    struct req_parser *p = open_parser(&lim);
    feed_str(p, "*1\r\n$500\r\n");  /* 10 bytes */
    feed_repeat(p, 'x', 54);
    expect_need_more(p);
    feed_repeat(p, 'x', 1);
    expect_error(p, REQ_FATAL, "LIMIT", "request exceeds 64 bytes");
}

/* Whether the request arrives in one read or in many must not matter. */
static void test_limit_pending_applies_to_a_request_arriving_whole(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_bulk = 1000;
    lim.max_pending = 64;
    struct req_parser *p = open_parser(&lim);
    feed_str(p, "*1\r\n$60\r\n");
    feed_repeat(p, 'x', 60);
    feed_str(p, "\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "request exceeds 64 bytes");
}

/* max_pending bounds every request, inline ones included: with
 * --max-request below --max-inline an unfinished line must not grow
 * past it either. */
static void test_limit_pending_incomplete_inline_request(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_inline = 1000;
    lim.max_pending = 64;
    struct req_parser *p = open_parser(&lim);
    feed_repeat(p, 'a', 65);
    expect_error(p, REQ_FATAL, "LIMIT", "request exceeds 64 bytes");
}

static void test_limit_pending_applies_to_a_complete_inline_line(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_inline = 1000;
    lim.max_pending = 64;
    struct req_parser *p = open_parser(&lim);
    /* Whole in one feed, LF included: still one request over the limit. */
    feed_repeat(p, 'a', 70);
    feed_str(p, "\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "request exceeds 64 bytes");
}

/* ---- hostile headers ------------------------------------------------- */

static void test_hostile_huge_array_count_is_limit(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*2147483647\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "too many arguments (max 1024)");
}

static void test_hostile_negative_array_count(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*-2\r\n");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid multibulk length");
}

static void test_hostile_negative_bulk_length(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*2\r\n$4\r\nPING\r\n$-7\r\n");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid bulk length");
}

static void test_hostile_overflowing_bulk_length(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*1\r\n$99999999999999999999\r\n");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid bulk length");
}

static void test_hostile_overflowing_array_count(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*18446744073709551617\r\n");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid multibulk length");
}

static void test_hostile_non_numeric_array_count(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*abc\r\n");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid multibulk length");
}

static void test_hostile_element_not_a_bulk(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*1\r\n:5\r\n");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: expected '$', got ':'");
}

static void test_hostile_endless_count_digits(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*123456789012345678901234567890");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid multibulk length");
}

static void test_hostile_endless_bulk_length_digits(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*1\r\n$123456789012345678901234567890");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid bulk length");
}

static void test_hostile_bulk_not_followed_by_crlf(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*1\r\n$3\r\nabcXY");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: bulk string not followed by CRLF");
}

/* A length is written one way: "*00", "*-0" and "*01" are not an empty
 * array and a one-element one, they are all the same error, whole or
 * split anywhere. */
static void test_hostile_lengths_with_leading_zeros(void **state)
{
    (void)state;
    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"*00\r\n", "Protocol error: invalid multibulk length"},
        {"*-0\r\n", "Protocol error: invalid multibulk length"},
        {"*01\r\n$4\r\nPING\r\n", "Protocol error: invalid multibulk length"},
        {"*1\r\n$04\r\nPING\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$-0\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$00\r\n\r\n", "Protocol error: invalid bulk length"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = strlen(cases[c].in);
        for (size_t cut = 0; cut <= n; cut++) {
            struct req_parser *p = open_parser(NULL);
            char first[64];
            memcpy(first, cases[c].in, cut);
            first[cut] = '\0';
            feed_str(p, first);
            struct request req;
            struct req_error err;
            enum req_status st = req_parser_next(p, &req, &err);
            if (st != REQ_NEED_MORE)
                assert_int_equal(st, REQ_FATAL);
            feed_str(p, cases[c].in + cut);
            expect_error(p, REQ_FATAL, "ERR", cases[c].msg);
        }
    }
    /* "0" itself is a length like any other. */
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*1\r\n$0\r\n\r\n");
    EXPECT_RESP(p, "");
}

static void test_fatal_is_sticky(void **state)
{
    (void)state;
    struct req_parser *p = open_parser(NULL);
    feed_str(p, "*-2\r\n");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid multibulk length");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid multibulk length");
    feed_str(p, "PING\r\n*1\r\n$4\r\nPING\r\n");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid multibulk length");
    expect_error(p, REQ_FATAL, "ERR", "Protocol error: invalid multibulk length");
}

static void test_fatal_limit_is_sticky(void **state)
{
    (void)state;
    struct proto_limits lim = small_limits();
    lim.max_args = 2;
    struct req_parser *p = open_parser(&lim);
    feed_str(p, "a b c\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "too many arguments (max 2)");
    feed_str(p, "PING\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "too many arguments (max 2)");
}

/* Whether the first request parsed from s looks like HTTP. */
static bool first_is_http(const char *s)
{
    struct req_parser *p = open_parser(NULL);
    feed_str(p, s);
    struct request req;
    struct req_error err;
    assert_int_equal(req_parser_next(p, &req, &err), REQ_READY);
    return request_looks_like_http(&req);
}

static void test_http_requests_are_recognised(void **state)
{
    (void)state;
    assert_true(first_is_http("POST / HTTP/1.1\r\n"));
    assert_true(first_is_http("post /orders\r\n"));
    assert_true(first_is_http("GET / HTTP/1.1\r\n"));
    assert_true(first_is_http("GET /metrics HTTP/1.0\r\n"));
    assert_true(first_is_http("PUT /orders/1 HTTP/1.1\r\n"));
    assert_true(first_is_http("OPTIONS * HTTP/1.1\r\n"));
    assert_true(first_is_http("Host: localhost:7070\r\n"));
    assert_true(first_is_http("host: x\r\n"));
    assert_true(first_is_http("*2\r\n$4\r\nPOST\r\n$1\r\n/\r\n"));
    /* Commands that only look a little like it. */
    assert_false(first_is_http("GET 1\r\n"));
    assert_false(first_is_http("GET 1 HTTP\r\n"));
    assert_false(first_is_http("PUBLISH ch HTTP/1.1\r\n"));
    assert_false(first_is_http("get / HTTP/1.1\r\n"));  /* methods are upper case */
    assert_false(first_is_http("*3\r\n$3\r\nGET\r\n$1\r\n/\r\n$8\r\nHTTP/1.1\r\n"));
    assert_false(first_is_http("PING\r\n"));
}

/* Limits can tighten or loosen between requests (an unauthenticated
 * client's, then an authenticated one's). */
static void test_limits_change_from_the_next_request(void **state)
{
    (void)state;
    struct proto_limits tight;
    proto_limits_default(&tight);
    tight.max_args = 3;
    struct req_parser *p = open_parser(&tight);
    feed_str(p, "AUTH user pw\r\nA B C D\r\n");
    EXPECT_INLINE(p, "AUTH", "user", "pw");
    struct proto_limits loose;
    proto_limits_default(&loose);
    req_parser_set_limits(p, &loose);
    EXPECT_INLINE(p, "A", "B", "C", "D");
    req_parser_set_limits(p, &tight);
    feed_str(p, "A B C D\r\n");
    expect_error(p, REQ_FATAL, "LIMIT", "too many arguments (max 3)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_lengths_with_leading_zeros),
        cmocka_unit_test(test_inline_splits_words_on_spaces_and_tabs),
        cmocka_unit_test(test_inline_accepts_lf_ending),
        cmocka_unit_test(test_inline_accepts_crlf_ending),
        cmocka_unit_test(test_inline_waits_for_the_line_end),
        cmocka_unit_test(test_inline_double_quotes_keep_blanks),
        cmocka_unit_test(test_inline_double_quote_escapes),
        cmocka_unit_test(test_inline_hex_escape_of_nul_is_kept),
        cmocka_unit_test(test_inline_single_quotes_are_literal),
        cmocka_unit_test(test_inline_quote_joins_adjacent_text),
        cmocka_unit_test(test_inline_empty_quotes_give_empty_argument),
        cmocka_unit_test(test_inline_blank_lines_are_skipped),
        cmocka_unit_test(test_inline_unterminated_double_quote_is_bad),
        cmocka_unit_test(test_inline_unterminated_single_quote_is_bad),
        cmocka_unit_test(test_inline_backslash_ending_quoted_text_is_bad),
        cmocka_unit_test(test_inline_parser_continues_after_bad_line),
        cmocka_unit_test(test_inline_unknown_escape_is_bad),
        cmocka_unit_test(test_inline_bad_hex_escape_is_bad),
        cmocka_unit_test(test_inline_nul_bytes_inside_a_word_are_kept),
        cmocka_unit_test(test_resp_array_of_bulks),
        cmocka_unit_test(test_resp_bulk_is_binary_safe),
        cmocka_unit_test(test_resp_empty_bulk_is_an_empty_argument),
        cmocka_unit_test(test_resp_empty_array_is_skipped),
        cmocka_unit_test(test_resp_waits_for_the_whole_array),
        cmocka_unit_test(test_pipeline_mixes_inline_and_resp_in_order),
        cmocka_unit_test(test_stream_fed_whole),
        cmocka_unit_test(test_stream_fed_byte_by_byte),
        cmocka_unit_test(test_stream_split_at_every_offset),
        cmocka_unit_test(test_stream_limit_hit_at_every_offset),
        cmocka_unit_test(test_limit_inline_line_at_limit_is_accepted),
        cmocka_unit_test(test_limit_inline_line_too_long),
        cmocka_unit_test(test_limit_inline_fires_without_lf),
        cmocka_unit_test(test_limit_inline_waits_for_lf_after_cr_at_limit),
        cmocka_unit_test(test_limit_inline_fires_at_first_byte_over_without_lf),
        cmocka_unit_test(test_limit_inline_at_defaults),
        cmocka_unit_test(test_limit_inline_at_defaults_fires_without_lf),
        cmocka_unit_test(test_limit_inline_too_many_arguments),
        cmocka_unit_test(test_limit_resp_too_many_arguments),
        cmocka_unit_test(test_limit_bulk_refused_at_its_header),
        cmocka_unit_test(test_limit_bulk_at_defaults),
        cmocka_unit_test(test_limit_pending_incomplete_request),
        cmocka_unit_test(test_limit_pending_applies_to_a_request_arriving_whole),
        cmocka_unit_test(test_limit_pending_incomplete_inline_request),
        cmocka_unit_test(test_limit_pending_applies_to_a_complete_inline_line),
        cmocka_unit_test(test_hostile_huge_array_count_is_limit),
        cmocka_unit_test(test_hostile_negative_array_count),
        cmocka_unit_test(test_hostile_negative_bulk_length),
        cmocka_unit_test(test_hostile_overflowing_bulk_length),
        cmocka_unit_test(test_hostile_overflowing_array_count),
        cmocka_unit_test(test_hostile_non_numeric_array_count),
        cmocka_unit_test(test_hostile_element_not_a_bulk),
        cmocka_unit_test(test_hostile_endless_count_digits),
        cmocka_unit_test(test_hostile_endless_bulk_length_digits),
        cmocka_unit_test(test_hostile_bulk_not_followed_by_crlf),
        cmocka_unit_test(test_fatal_is_sticky),
        cmocka_unit_test(test_fatal_limit_is_sticky),
        cmocka_unit_test(test_http_requests_are_recognised),
        cmocka_unit_test(test_limits_change_from_the_next_request),
    };
    return cmocka_run_group_tests_name("request", tests, NULL, close_fixture);
}
