/* Just enough JSON writing for event payloads: strings escaped per RFC 8259
 * (and made valid UTF-8: an invalid byte becomes U+FFFD), keys, numbers. */
#ifndef PROTOCOL_JSON_WRITER_H
#define PROTOCOL_JSON_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

void json_str(struct buf *b, const char *s, size_t n);
void json_cstr(struct buf *b, const char *s);    /* NULL writes null */
/* ,"key": (the comma unless first). Keys are names written in the code,
 * never a client's bytes, so they are not escaped. */
void json_key(struct buf *b, const char *key, int first);
void json_int(struct buf *b, long long v);

#endif
