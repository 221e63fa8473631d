/* UTF-8, as far as orderd needs it: telling valid text from bytes, for
 * names that end up in JSON and in Prometheus labels. */
#ifndef PROTOCOL_UTF8_H
#define PROTOCOL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

bool utf8_valid(const char *s, size_t n);

#endif
