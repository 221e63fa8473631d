/* Varint and bytes encoding (see codec.h). */
#include "codec.h"

#include <string.h>

#include "xalloc.h"

void enc_u64(struct buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        unsigned char byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = (unsigned char)(byte | (v ? 0x80 : 0));
    } while (v);
    buf_append(b, tmp, n);
}

void enc_i64(struct buf *b, int64_t v)
{
    enc_u64(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void enc_bytes(struct buf *b, const void *p, size_t n)
{
    enc_u64(b, n);
    buf_append(b, p, n);
}

/* Absent is length 0 with a marker: strings are encoded as length + 1. */
void enc_str(struct buf *b, const char *s)
{
    if (s == NULL) {
        enc_u64(b, 0);
        return;
    }
    size_t n = strlen(s);
    enc_u64(b, n + 1);
    buf_append(b, s, n);
}

void dec_init(struct dec *d, const void *p, size_t n)
{
    d->p = p;
    d->end = d->p + n;
    d->err = false;
}

uint64_t dec_u64(struct dec *d)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (d->p == d->end) {
            d->err = true;
            return 0;
        }
        unsigned char byte = *d->p++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return v;
    }
    d->err = true;
    return 0;
}

int64_t dec_i64(struct dec *d)
{
    uint64_t u = dec_u64(d);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

void dec_bytes(struct dec *d, const char **p, size_t *n)
{
    uint64_t len = dec_u64(d);
    if (d->err || len > (uint64_t)(d->end - d->p)) {
        d->err = true;
        *p = "";
        *n = 0;
        return;
    }
    *p = (const char *)d->p;
    *n = (size_t)len;
    d->p += len;
}

void dec_skip_str(struct dec *d)
{
    uint64_t len = dec_u64(d);
    if (d->err || len == 0)
        return;
    if (len - 1 > (uint64_t)(d->end - d->p)) {
        d->err = true;
        return;
    }
    d->p += len - 1;
}

char *dec_str(struct dec *d)
{
    uint64_t len = dec_u64(d);
    if (d->err || len == 0)
        return NULL;
    if (len - 1 > (uint64_t)(d->end - d->p)) {
        d->err = true;
        return NULL;
    }
    char *s = xstrndup((const char *)d->p, (size_t)(len - 1));
    d->p += len - 1;
    return s;
}

bool dec_done(const struct dec *d)
{
    return !d->err && d->p == d->end;
}
