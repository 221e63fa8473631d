/* Quoting rules for the text rendering (documented in docs/protocol.md). */
#include "escape.h"

#include <string.h>

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

bool text_needs_quotes(const char *s, size_t n, enum text_ctx ctx)
{
    if (n == 0)
        return true;
    unsigned char first = (unsigned char)s[0];
    if (is_blank(first) || is_blank((unsigned char)s[n - 1]))
        return true;
    /* A line starting like a status, error, integer or list header, or a
     * word starting like nil or a quote, would be read as something else. */
    if (ctx == TEXT_LINE && strchr("+-:*(\"'", first))
        return true;
    if (ctx != TEXT_LINE && strchr("(\"'", first))
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_control(c))
            return true;
        /* A quote anywhere would start quoting when the text is pasted
         * back as an argument; a space splits a word. */
        if (ctx != TEXT_REST && (c == '"' || c == '\''))
            return true;
        if (ctx == TEXT_WORD && c == ' ')
            return true;
    }
    return false;
}

void text_append_quoted(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_appendc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\n': buf_append(out, "\\n", 2); break;
        case '\r': buf_append(out, "\\r", 2); break;
        case '\t': buf_append(out, "\\t", 2); break;
        case '\\': buf_append(out, "\\\\", 2); break;
        case '"': buf_append(out, "\\\"", 2); break;
        default:
            if (is_control(c)) {
                char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
                buf_append(out, esc, 4);
            } else {
                buf_appendc(out, (char)c);
            }
        }
    }
    buf_appendc(out, '"');
}

void text_append(struct buf *out, const char *s, size_t n, enum text_ctx ctx)
{
    if (text_needs_quotes(s, n, ctx))
        text_append_quoted(out, s, n);
    else
        buf_append(out, s, n);
}

void text_append_oneline(struct buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        buf_appendc(out, c == '\r' || c == '\n' ? ' ' : c);
    }
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
