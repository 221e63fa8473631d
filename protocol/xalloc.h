/* Allocation that never returns NULL: running out of memory aborts with a
 * message, as in Redis's zmalloc. Callers therefore never test for NULL. */
#ifndef PROTOCOL_XALLOC_H
#define PROTOCOL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrndup(const char *s, size_t n);
char *xstrdup(const char *s);

#endif
