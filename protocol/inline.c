/* Inline tokenizer: a small state machine over one line. */
#include "inline.h"

#include <stdbool.h>

#include "escape.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* One escape inside double quotes, starting after the backslash at *i. */
static enum inline_status unescape(const char *s, size_t len, size_t *i,
                                   struct argv_builder *out)
{
    if (*i >= len)
        return INLINE_UNTERMINATED;
    char c = s[*i];
    switch (c) {
    case 'n': argv_putc(out, '\n'); break;
    case 'r': argv_putc(out, '\r'); break;
    case 't': argv_putc(out, '\t'); break;
    case '\\': argv_putc(out, '\\'); break;
    case '"': argv_putc(out, '"'); break;
    case 'x': {
        int hi = *i + 1 < len ? hex_digit(s[*i + 1]) : -1;
        int lo = *i + 2 < len ? hex_digit(s[*i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return INLINE_BAD_ESCAPE;
        argv_putc(out, (char)(hi * 16 + lo));
        *i += 2;
        break;
    }
    default:
        return INLINE_BAD_ESCAPE;
    }
    (*i)++;
    return INLINE_OK;
}

enum inline_status inline_split(const char *s, size_t len, size_t max_args,
                                struct argv_builder *out)
{
    size_t i = 0;
    for (;;) {
        while (i < len && is_blank(s[i]))
            i++;
        if (i == len)
            return INLINE_OK;
        if (out->argc == max_args)
            return INLINE_TOO_MANY;
        argv_begin(out);
        while (i < len && !is_blank(s[i])) {
            char c = s[i++];
            if (c == '\'') {
                size_t start = i;
                while (i < len && s[i] != '\'')
                    i++;
                if (i == len)
                    return INLINE_UNTERMINATED;
                argv_put(out, s + start, i - start);
                i++;
            } else if (c == '"') {
                for (;;) {
                    if (i == len)
                        return INLINE_UNTERMINATED;
                    c = s[i++];
                    if (c == '"')
                        break;
                    if (c == '\\') {
                        enum inline_status st = unescape(s, len, &i, out);
                        if (st != INLINE_OK)
                            return st;
                    } else {
                        argv_putc(out, c);
                    }
                }
            } else {
                argv_putc(out, c);
            }
        }
        argv_end(out);
    }
}
