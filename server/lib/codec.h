/* The binary codec of journal record payloads: unsigned varints (LEB128),
 * signed ones zigzag-encoded, and length-prefixed bytes. The decoder never
 * reads past its end: a short or malformed payload sets err and yields
 * zeros, so a record is checked once, after decoding all its fields. */
#ifndef SERVER_CODEC_H
#define SERVER_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

void enc_u64(struct buf *b, uint64_t v);
void enc_i64(struct buf *b, int64_t v);
void enc_bytes(struct buf *b, const void *p, size_t n);
void enc_str(struct buf *b, const char *s);  /* NULL is encoded as absent */

struct dec {
    const unsigned char *p;
    const unsigned char *end;
    bool err;
};

void dec_init(struct dec *d, const void *p, size_t n);
uint64_t dec_u64(struct dec *d);
int64_t dec_i64(struct dec *d);
/* Zero-copy: *p points into the payload. */
void dec_bytes(struct dec *d, const char **p, size_t *n);
/* A string written by enc_str, copied and NUL-terminated into out
 * (owned by the caller, free()), or NULL when it was absent. */
char *dec_str(struct dec *d);
/* Steps over a string enc_str wrote. */
void dec_skip_str(struct dec *d);
/* True when every byte was consumed and nothing went wrong. */
bool dec_done(const struct dec *d);

#endif
