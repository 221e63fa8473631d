/* Renderers. Both are recursive over the reply tree; the text one keeps a
 * record (and a push) on one line, so a record's nested values are folded
 * into one word. */
#include "render.h"

#include <string.h>

#include "escape.h"
#include "json_writer.h"

/* Decimal digits of v at the end of a 24-byte buffer; returns the start. */
static char *fmt_ll(char tmp[24], long long v)
{
    char *p = tmp + 24;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return p;
}

/* "<prefix><v>\r\n" at dst, which has room for RESP_LINE_MAX bytes;
 * returns its length. Lengths and counts below 100 (nearly all of them)
 * skip the general conversion. */
#define RESP_LINE_MAX 24
static size_t put_ll_line(char *dst, char prefix, long long v)
{
    size_t n;
    dst[0] = prefix;
    if (v >= 0 && v < 10) {
        dst[1] = (char)('0' + v);
        n = 2;
    } else if (v >= 10 && v < 100) {
        dst[1] = (char)('0' + v / 10);
        dst[2] = (char)('0' + v % 10);
        n = 3;
    } else {
        char tmp[24];
        char *p = fmt_ll(tmp, v);
        size_t digits = (size_t)(tmp + 24 - p);
        memcpy(dst + 1, p, digits);
        n = digits + 1;
    }
    dst[n] = '\r';
    dst[n + 1] = '\n';
    return n + 2;
}

static void append_ll_line(struct buf *out, char prefix, long long v)
{
    buf_commit(out, put_ll_line(buf_space(out, RESP_LINE_MAX), prefix, v));
}

static void append_ll(struct buf *out, long long v)
{
    char tmp[24];
    char *p = fmt_ll(tmp, v);
    buf_append(out, p, (size_t)(tmp + 24 - p));
}

/* A bulk string: its header, bytes and CRLF with one check for room. */
static void resp_bulk(struct buf *out, const char *s, size_t n)
{
    char *dst = buf_space(out, RESP_LINE_MAX + n + 2);
    size_t h = put_ll_line(dst, '$', (long long)n);
    memcpy(dst + h, s, n);
    dst[h + n] = '\r';
    dst[h + n + 1] = '\n';
    buf_commit(out, h + n + 2);
}

void render_resp(struct buf *out, const struct reply *r)
{
    switch (r->type) {
    case REPLY_STATUS:
        buf_appendc(out, '+');
        text_append_oneline(out, r->str, r->len);
        buf_append(out, "\r\n", 2);
        break;
    case REPLY_ERROR:
        buf_appendc(out, '-');
        buf_appends(out, r->code);
        buf_appendc(out, ' ');
        text_append_oneline(out, r->str, r->len);
        buf_append(out, "\r\n", 2);
        break;
    case REPLY_INTEGER:
        append_ll_line(out, ':', r->integer);
        break;
    case REPLY_STRING:
    case REPLY_LINES:
        resp_bulk(out, r->str, r->len);
        break;
    case REPLY_NIL:
        buf_append(out, "$-1\r\n", 5);
        break;
    case REPLY_RECORD:
        append_ll_line(out, '*', (long long)r->n * 2);
        for (size_t i = 0; i < r->n; i++) {
            resp_bulk(out, r->keys[i], strlen(r->keys[i]));
            render_resp(out, r->items[i]);
        }
        break;
    case REPLY_LIST:
        append_ll_line(out, '*', (long long)r->n);
        for (size_t i = 0; i < r->n; i++)
            render_resp(out, r->items[i]);
        break;
    case REPLY_PUSH:
        /* RESP2 has no push type: Redis sends pub/sub messages as arrays
         * whose first element names the kind, and clients expect that. */
        append_ll_line(out, '*', (long long)r->n + 1);
        resp_bulk(out, r->str, r->len);
        for (size_t i = 0; i < r->n; i++)
            render_resp(out, r->items[i]);
        break;
    }
}

/* A value folded to one piece of text, before quoting: nested lists and
 * records inside a record become comma-separated. */
static void fold(struct buf *out, const struct reply *r)
{
    switch (r->type) {
    case REPLY_STATUS:
    case REPLY_STRING:
    case REPLY_LINES:
        buf_append(out, r->str, r->len);
        break;
    case REPLY_ERROR:
        buf_appends(out, r->code);
        buf_appendc(out, ' ');
        buf_append(out, r->str, r->len);
        break;
    case REPLY_INTEGER:
        append_ll(out, r->integer);
        break;
    case REPLY_NIL:
        buf_appends(out, "(nil)");
        break;
    case REPLY_RECORD:
        for (size_t i = 0; i < r->n; i++) {
            if (i)
                buf_appendc(out, ',');
            buf_appends(out, r->keys[i]);
            buf_appendc(out, ':');
            fold(out, r->items[i]);
        }
        break;
    case REPLY_LIST:
    case REPLY_PUSH:
        for (size_t i = 0; i < r->n; i++) {
            if (i)
                buf_appendc(out, ',');
            fold(out, r->items[i]);
        }
        break;
    }
}

static void text_word(struct buf *out, const struct reply *r, enum text_ctx ctx)
{
    switch (r->type) {
    case REPLY_INTEGER:
        append_ll(out, r->integer);
        return;
    case REPLY_NIL:
        buf_appends(out, "(nil)");
        return;
    case REPLY_STRING:
    case REPLY_STATUS:
        text_append(out, r->str, r->len, ctx);
        return;
    default: {
        struct buf tmp;
        buf_init(&tmp);
        fold(&tmp, r);
        text_append(out, tmp.data ? tmp.data : "", tmp.len, ctx);
        buf_free(&tmp);
        return;
    }
    }
}

void render_text(struct buf *out, const struct reply *r)
{
    switch (r->type) {
    case REPLY_STATUS:
    case REPLY_ERROR:
        /* Identical in both renderings. */
        render_resp(out, r);
        return;
    case REPLY_INTEGER:
        append_ll_line(out, ':', r->integer);
        return;
    case REPLY_NIL:
        buf_append(out, "(nil)\r\n", 7);
        return;
    case REPLY_LINES:
        /* As they are, each ending CRLF; no other control bytes. */
        for (size_t i = 0; i < r->len; i++) {
            char c = r->str[i];
            if (c == '\n')
                buf_append(out, "\r\n", 2);
            else if (c != '\r')
                buf_appendc(out, (unsigned char)c < 0x20 && c != '\t' ? ' ' : c);
        }
        if (r->len == 0 || r->str[r->len - 1] != '\n')
            buf_append(out, "\r\n", 2);
        return;
    case REPLY_STRING:
        text_append(out, r->str, r->len, TEXT_LINE);
        break;
    case REPLY_RECORD:
        for (size_t i = 0; i < r->n; i++) {
            if (i)
                buf_appendc(out, ' ');
            buf_appends(out, r->keys[i]);
            buf_appendc(out, '=');
            text_word(out, r->items[i], TEXT_WORD);
        }
        break;
    case REPLY_LIST:
        append_ll_line(out, '*', (long long)r->n);
        for (size_t i = 0; i < r->n; i++)
            render_text(out, r->items[i]);
        return;
    case REPLY_PUSH:
        buf_appends(out, r->code);
        for (size_t i = 0; i < r->n; i++) {
            buf_appendc(out, ' ');
            text_word(out, r->items[i], i + 1 == r->n ? TEXT_REST : TEXT_WORD);
        }
        break;
    }
    buf_append(out, "\r\n", 2);
}

void render_json(struct buf *out, const struct reply *r)
{
    switch (r->type) {
    case REPLY_STATUS:
    case REPLY_STRING:
    case REPLY_LINES:
        json_str(out, r->str, r->len);
        return;
    case REPLY_ERROR:
        buf_appends(out, "{\"code\":");
        json_cstr(out, r->code);
        buf_appends(out, ",\"message\":");
        json_str(out, r->str, r->len);
        buf_appendc(out, '}');
        return;
    case REPLY_INTEGER:
        json_int(out, r->integer);
        return;
    case REPLY_NIL:
        buf_append(out, "null", 4);
        return;
    case REPLY_RECORD:
        buf_appendc(out, '{');
        for (size_t i = 0; i < r->n; i++) {
            if (i)
                buf_appendc(out, ',');
            json_cstr(out, r->keys[i]);
            buf_appendc(out, ':');
            render_json(out, r->items[i]);
        }
        buf_appendc(out, '}');
        return;
    case REPLY_LIST:
        buf_appendc(out, '[');
        for (size_t i = 0; i < r->n; i++) {
            if (i)
                buf_appendc(out, ',');
            render_json(out, r->items[i]);
        }
        buf_appendc(out, ']');
        return;
    case REPLY_PUSH:
        buf_appends(out, "{\"kind\":");
        json_str(out, r->str, r->len);
        buf_appends(out, ",\"data\":[");
        for (size_t i = 0; i < r->n; i++) {
            if (i)
                buf_appendc(out, ',');
            render_json(out, r->items[i]);
        }
        buf_append(out, "]}", 2);
        return;
    }
}

void render_reply(struct buf *out, const struct reply *r, enum proto_kind kind)
{
    switch (kind) {
    case PROTO_RESP:
        render_resp(out, r);
        return;
    case PROTO_INLINE:
        render_text(out, r);
        return;
    case PROTO_JSON:
        render_json(out, r);
        return;
    }
}
