/* Growable byte buffer. Consumed space at the front is reclaimed lazily,
 * when room is needed at the end, so consuming is O(1). */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void buf_init(struct buf *b)
{
    memset(b, 0, sizeof *b);
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

char *buf_grow(struct buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return b->data + b->len;
    /* Reclaim the consumed front before growing: pipelined input is
     * consumed as it is appended, so this usually avoids a realloc. */
    if (b->pos > 0) {
        memmove(b->data, b->data + b->pos, b->len - b->pos);
        b->len -= b->pos;
        b->pos = 0;
        if (b->cap - b->len >= n)
            return b->data + b->len;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return b->data + b->len;
}

void buf_appends(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char *dst = buf_space(b, 64);
    int n = vsnprintf(dst, b->cap - b->len, fmt, ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        dst = buf_space(b, (size_t)n + 1);
        n = vsnprintf(dst, (size_t)n + 1, fmt, ap2);
    }
    va_end(ap2);
    if (n > 0)
        b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
    b->pos += n;
    if (b->pos >= b->len)
        b->pos = b->len = 0;
}

void buf_clear(struct buf *b)
{
    b->pos = b->len = 0;
}
