/* A growable byte buffer with a read cursor: bytes are appended at the end
 * and consumed from the front. Used for parser input and rendered output. */
#ifndef PROTOCOL_BUF_H
#define PROTOCOL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
    char *data;  /* owned; data[pos, len) holds the unconsumed bytes */
    size_t pos;
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);

/* Bytes not yet consumed, and where they start. */
static inline size_t buf_used(const struct buf *b) { return b->len - b->pos; }
static inline char *buf_head(const struct buf *b) { return b->data + b->pos; }

/* The slow path of buf_space: reclaims the consumed front or grows. */
char *buf_grow(struct buf *b, size_t n);

/* Make room for at least n more bytes at the end; returns where they go.
 * Call buf_commit() with what was actually written. Inline, with the
 * appends below: renderers call them for every few bytes they write, and
 * the call was most of what they cost. */
static inline char *buf_space(struct buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return b->data + b->len;
    return buf_grow(b, n);
}
static inline void buf_commit(struct buf *b, size_t n) { b->len += n; }

static inline void buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(buf_space(b, n), p, n);
    b->len += n;
}

static inline void buf_appendc(struct buf *b, char c)
{
    *buf_space(b, 1) = c;
    b->len++;
}

void buf_appends(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* Drop n bytes from the front. */
void buf_consume(struct buf *b, size_t n);
void buf_clear(struct buf *b);

#endif
