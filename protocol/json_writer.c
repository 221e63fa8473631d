/* JSON string escaping and the small writers around it. */
#include "json_writer.h"

#include <string.h>

#include "utf8.h"

void json_str(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    buf_appendc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            buf_append(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': buf_append(b, "\\n", 2); break;
            case '\r': buf_append(b, "\\r", 2); break;
            case '\t': buf_append(b, "\\t", 2); break;
            default: {
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                buf_append(b, esc, 6);
            }
            }
            i++;
        } else {
            /* A run of bytes that need nothing goes in one append. */
            size_t start = i;
            while (i < n) {
                unsigned char d = u[i];
                if (d == '"' || d == '\\' || d < 0x20)
                    break;
                size_t len = d < 0x80 ? 1 : utf8_seq_len(u + i, n - i);
                if (len == 0)
                    break;
                i += len;
            }
            buf_append(b, s + start, i - start);
            if (i < n && u[i] >= 0x80 && utf8_seq_len(u + i, n - i) == 0) {
                buf_append(b, "\\ufffd", 6);
                i++;
            }
        }
    }
    buf_appendc(b, '"');
}

void json_cstr(struct buf *b, const char *s)
{
    if (s == NULL)
        buf_append(b, "null", 4);
    else
        json_str(b, s, strlen(s));
}

void json_key(struct buf *b, const char *key, int first)
{
    size_t n = strlen(key);
    char *p = buf_space(b, n + 4);
    size_t at = 0;
    if (!first)
        p[at++] = ',';
    p[at++] = '"';
    memcpy(p + at, key, n);
    at += n;
    p[at++] = '"';
    p[at++] = ':';
    buf_commit(b, at);
}

/* By hand, not printf: an order event has three numbers. */
void json_int(struct buf *b, long long v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}
