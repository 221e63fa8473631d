/* Glob patterns for PSUBSCRIBE, as Redis reads them:
 *   *        any run of bytes, including none
 *   ?        any one byte
 *   [abc]    one of the listed bytes; [a-z] a range; [^a] anything but
 *   \x       the byte x itself (also inside [...])
 * Matching is iterative with one backtrack point, so time is bounded by
 * pattern length times subject length whatever the pattern. */
#ifndef SERVER_GLOB_H
#define SERVER_GLOB_H

#include <stdbool.h>
#include <stddef.h>

bool glob_match(const char *pat, size_t plen, const char *s, size_t slen);

#endif
