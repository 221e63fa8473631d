/* The framing pieces under the request parser, each on its own: RESP
 * framing (resp.h), the inline tokenizer (inline.h), the text rendering's
 * quoting (escape.h) and the JSON string writer (json_writer.h). Byte 0
 * picks the piece, byte 1 its limits; the rest is its input.
 *
 * RESP (resp_frame, resp_args):
 *   - a frame accepted is written one way only, so the arguments read
 *     from it, written again, are the very bytes of the frame; it holds
 *     at most max_args arguments of at most max_bulk bytes;
 *   - the frame alone is accepted with the same length; every shorter
 *     prefix wants more; more bytes after it change nothing;
 *   - "*0\r\n" alone is empty;
 *   - an error stays the same error whatever follows it, and each of its
 *     prefixes wants more or is the same error;
 * inline (inline_split):
 *   - the arguments, each quoted and joined by spaces, split back to the
 *     same arguments; there are at most max_args of them;
 *   - a line without quotes splits exactly as on blanks;
 * quoting (text_append):
 *   - nothing it writes holds a control byte; a word (TEXT_WORD), and
 *     anything it quoted, reads back with inline_split as one argument,
 *     the same bytes; a line left as is starts with none of + - : * ( " ';
 * JSON strings (json_str):
 *   - what it writes is valid UTF-8 and strict JSON, and json-c reads back
 *     the bytes, with each byte that is not UTF-8 as U+FFFD. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "argv.h"
#include "buf.h"
#include "escape.h"
#include "fuzz.h"
#include "inline.h"
#include "json_writer.h"
#include "reply.h"
#include "request.h"
#include "resp.h"

static struct argv_builder args, args2;
static struct buf out, out2;

static bool same_args(const struct request *a, const struct request *b)
{
    if (a->argc != b->argc)
        return false;
    for (size_t i = 0; i < a->argc; i++)
        if (a->argv[i].len != b->argv[i].len ||
            memcmp(a->argv[i].ptr, b->argv[i].ptr, a->argv[i].len) != 0)
            return false;
    return true;
}

/* --- RESP ------------------------------------------------------------------- */

static enum resp_status frame(const char *d, size_t n, const struct proto_limits *lim,
                              size_t *flen, struct req_error *err)
{
    memset(err, 0, sizeof *err);
    *flen = 0;
    return resp_frame(d, n, lim, flen, err);
}

/* Prefix lengths to look at: a few spread over [1, n), the ends included. */
static size_t prefix_at(size_t k, size_t n, const char *d)
{
    if (k == 0)
        return 1;
    if (k == 1)
        return n - 1;
    return 1 + ((size_t)(unsigned char)d[k % n] * 131 + k * 977) % (n - 1);
}

static void fuzz_resp(const char *in, size_t n, uint8_t limits)
{
    struct proto_limits lim = {
        .max_inline = 64,
        .max_bulk = (limits & 1) ? 16 : PROTO_MAX_BULK_DEFAULT,
        .max_args = (limits & 2) ? 3 : PROTO_MAX_ARGS_DEFAULT,
        .max_pending = PROTO_MAX_PENDING_DEFAULT,
    };
    char *d = malloc(n + 16);
    memcpy(d, in, n);
    d[0] = '*';  /* the request parser calls it on a '*' only */
    size_t flen;
    struct req_error err;
    enum resp_status st = frame(d, n, &lim, &flen, &err);
    size_t f2;
    struct req_error e2;
    switch (st) {
    case RESP_OK: {
        FUZZ_CHECK(flen >= 4 && flen <= n, "frame of %zu bytes in %zu", flen, n);
        argv_reset(&args);
        resp_args(d, flen, &args);
        struct request req;
        argv_finish(&args, &req);
        FUZZ_CHECK(req.argc >= 1 && req.argc <= lim.max_args, "%zu arguments", req.argc);
        buf_clear(&out);
        buf_printf(&out, "*%zu\r\n", req.argc);
        for (size_t i = 0; i < req.argc; i++) {
            FUZZ_CHECK(req.argv[i].len <= lim.max_bulk, "a bulk of %zu bytes", req.argv[i].len);
            buf_printf(&out, "$%zu\r\n", req.argv[i].len);
            buf_append(&out, req.argv[i].ptr, req.argv[i].len);
            buf_append(&out, "\r\n", 2);
        }
        FUZZ_CHECK(buf_used(&out) == flen && memcmp(buf_head(&out), d, flen) == 0,
                   "the frame written again differs from the frame");
        FUZZ_CHECK(frame(d, flen, &lim, &f2, &e2) == RESP_OK && f2 == flen,
                   "the frame alone is not the same frame");
        memcpy(d + n, "*1\r\n$1\r\nx\r\n", 11);
        FUZZ_CHECK(frame(d, n + 11, &lim, &f2, &e2) == RESP_OK && f2 == flen,
                   "bytes after the frame changed it");
        for (size_t k = 0; k < 8 && flen > 1; k++) {
            size_t p = prefix_at(k, flen, d);
            FUZZ_CHECK(frame(d, p, &lim, &f2, &e2) == RESP_NEED_MORE,
                       "a prefix of %zu of a %zu-byte frame does not want more", p, flen);
        }
        break;
    }
    case RESP_EMPTY:
        FUZZ_CHECK(flen == 4 && memcmp(d, "*0\r\n", 4) == 0, "empty, but not *0");
        break;
    case RESP_NEED_MORE:
        for (size_t k = 0; k < 8 && n > 1; k++) {
            size_t p = prefix_at(k, n, d);
            FUZZ_CHECK(frame(d, p, &lim, &f2, &e2) == RESP_NEED_MORE,
                       "a prefix of %zu of what wants more does not", p);
        }
        break;
    case RESP_ERROR:
        FUZZ_CHECK(err.code && (strcmp(err.code, ERR_ERR) == 0 ||
                                strcmp(err.code, ERR_LIMIT) == 0) && err.msg[0],
                   "an error without its code or message");
        memcpy(d + n, "\r\n$1\r\nx\r\n", 9);
        FUZZ_CHECK(frame(d, n + 9, &lim, &f2, &e2) == RESP_ERROR &&
                       strcmp(e2.msg, err.msg) == 0,
                   "bytes after an error changed it: '%s' then '%s'", err.msg, e2.msg);
        for (size_t k = 0; k < 8 && n > 1; k++) {
            size_t p = prefix_at(k, n, d);
            enum resp_status ps = frame(d, p, &lim, &f2, &e2);
            FUZZ_CHECK(ps == RESP_NEED_MORE || (ps == RESP_ERROR && strcmp(e2.msg, err.msg) == 0),
                       "a prefix of %zu of an error is neither more nor the error (%d)", p,
                       (int)ps);
        }
        break;
    }
    free(d);
}

/* --- inline ------------------------------------------------------------------ */

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static void fuzz_inline(const char *line, size_t n, uint8_t limits)
{
    size_t max_args = (limits & 7) ? (size_t)(limits & 7) : PROTO_MAX_ARGS_DEFAULT;
    argv_reset(&args);
    enum inline_status st = inline_split(line, n, max_args, &args);
    bool quotes = memchr(line, '"', n) || memchr(line, '\'', n);

    /* Without quotes, words are what lies between blanks. */
    if (!quotes) {
        size_t words = 0;
        for (size_t i = 0; i < n; i++)
            if (!blank(line[i]) && (i == 0 || blank(line[i - 1])))
                words++;
        FUZZ_CHECK(st == (words > max_args ? INLINE_TOO_MANY : INLINE_OK),
                   "%zu words, max %zu: status %d", words, max_args, (int)st);
        if (st == INLINE_OK) {
            struct request req;
            argv_finish(&args, &req);
            size_t w = 0;
            for (size_t i = 0; i < n;) {
                while (i < n && blank(line[i]))
                    i++;
                if (i == n)
                    break;
                size_t start = i;
                while (i < n && !blank(line[i]))
                    i++;
                FUZZ_CHECK(req.argv[w].len == i - start &&
                               memcmp(req.argv[w].ptr, line + start, i - start) == 0,
                           "word %zu differs from the split on blanks", w);
                w++;
            }
        }
    }
    if (st != INLINE_OK)
        return;
    struct request req, back;
    argv_finish(&args, &req);
    FUZZ_CHECK(req.argc <= max_args, "%zu arguments, max %zu", req.argc, max_args);
    buf_clear(&out);
    for (size_t i = 0; i < req.argc; i++) {
        if (i)
            buf_appendc(&out, ' ');
        text_append_quoted(&out, req.argv[i].ptr, req.argv[i].len);
    }
    argv_reset(&args2);
    FUZZ_CHECK(inline_split(buf_head(&out), buf_used(&out), max_args, &args2) == INLINE_OK,
               "the quoted arguments do not split");
    argv_finish(&args2, &back);
    FUZZ_CHECK(same_args(&req, &back), "quoted and split again, the arguments differ");
}

/* --- quoting ------------------------------------------------------------------- */

/* s as written by text_append in ctx must read back as one argument. */
static void reads_back(const char *s, size_t n, const char *how)
{
    argv_reset(&args2);
    FUZZ_CHECK(inline_split(buf_head(&out), buf_used(&out), 4, &args2) == INLINE_OK,
               "%s: does not split", how);
    struct request back;
    argv_finish(&args2, &back);
    FUZZ_CHECK(back.argc == 1 && back.argv[0].len == n && memcmp(back.argv[0].ptr, s, n) == 0,
               "%s: read back as %zu other arguments", how, back.argc);
}

static void fuzz_escape(const char *s, size_t n)
{
    static const struct {
        enum text_ctx ctx;
        const char *name;
    } ctxs[] = {{TEXT_LINE, "a line"}, {TEXT_WORD, "a word"}, {TEXT_REST, "the rest"}};
    for (size_t c = 0; c < 3; c++) {
        buf_clear(&out);
        text_append(&out, s, n, ctxs[c].ctx);
        const unsigned char *o = (const unsigned char *)buf_head(&out);
        size_t on = buf_used(&out);
        for (size_t i = 0; i < on; i++)
            FUZZ_CHECK(o[i] >= 0x20 && o[i] != 0x7f, "%s: a control byte 0x%02x written",
                       ctxs[c].name, o[i]);
        bool quoted = text_needs_quotes(s, n, ctxs[c].ctx);
        if (quoted || ctxs[c].ctx == TEXT_WORD)
            reads_back(s, n, ctxs[c].name);
        if (!quoted) {
            FUZZ_CHECK(on == n && memcmp(o, s, n) == 0, "%s: changed but not quoted",
                       ctxs[c].name);
            if (ctxs[c].ctx == TEXT_LINE)
                FUZZ_CHECK(strchr("+-:*(\"'", s[0]) == NULL, "a line left as is starts with %c",
                           s[0]);
        }
    }
    buf_clear(&out);
    text_append_oneline(&out, s, n);
    FUZZ_CHECK(buf_used(&out) == n && !memchr(buf_head(&out), '\n', n) &&
                   !memchr(buf_head(&out), '\r', n),
               "one line is not one line");
}

/* --- JSON strings -------------------------------------------------------------- */

/* The UTF-8 sequence at s: its length, or 0 (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF). Written here, not taken from
 * protocol/utf8.c, so that it checks it. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void fuzz_json(const char *s, size_t n)
{
    buf_clear(&out);
    json_str(&out, s, n);
    /* What json-c should read: the bytes, each one that is not UTF-8 as
     * U+FFFD. */
    buf_clear(&out2);
    buf_space(&out2, 1);  /* data even for an empty string: compared below */
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(u + i, n - i);
        if (len == 0) {
            buf_append(&out2, "\xef\xbf\xbd", 3);
            i++;
        } else {
            buf_append(&out2, s + i, len);
            i += len;
        }
    }
    const unsigned char *o = (const unsigned char *)buf_head(&out);
    for (size_t i = 0; i < buf_used(&out);) {
        size_t len = utf8_len(o + i, buf_used(&out) - i);
        FUZZ_CHECK(len > 0 && (o[i] >= 0x20), "json_str wrote a bad byte 0x%02x at %zu", o[i], i);
        i += len;
    }
    struct json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *obj = json_tokener_parse_ex(tok, buf_head(&out), (int)buf_used(&out));
    FUZZ_CHECK(obj != NULL && json_tokener_get_error(tok) == json_tokener_success &&
                   json_tokener_get_parse_end(tok) == buf_used(&out),
               "json-c does not read it: %s",
               json_tokener_error_desc(json_tokener_get_error(tok)));
    FUZZ_CHECK(json_object_is_type(obj, json_type_string), "not a string");
    FUZZ_CHECK((size_t)json_object_get_string_len(obj) == buf_used(&out2) &&
                   memcmp(json_object_get_string(obj), buf_head(&out2), buf_used(&out2)) == 0,
               "json-c reads other bytes back");
    json_object_put(obj);
    json_tokener_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        argv_init(&args);
        argv_init(&args2);
        buf_init(&out);
        buf_init(&out2);
        ready = true;
    }
    if (size < 2)
        return 0;
    const char *in = (const char *)data + 2;
    size_t n = size - 2;
    switch (data[0] & 3) {
    case 0:
        if (n > 0)
            fuzz_resp(in, n, data[1]);
        break;
    case 1:
        fuzz_inline(in, n, data[1]);
        break;
    case 2:
        fuzz_escape(in, n);
        break;
    case 3:
        fuzz_json(in, n);
        break;
    }
    return 0;
}
