/* Builds one request's argv in a reusable arena: arguments are written a
 * piece at a time, then argv_finish() hands out stable pointers. Internal to
 * the protocol library. */
#ifndef PROTOCOL_ARGV_H
#define PROTOCOL_ARGV_H

#include <stddef.h>

#include "buf.h"
#include "request.h"

struct argv_builder {
    struct buf bytes;   /* every argument, each followed by a NUL */
    size_t *start;      /* offset of argument i in bytes */
    struct arg *argv;   /* filled by argv_finish() */
    size_t argc;
    size_t cap;
};

void argv_init(struct argv_builder *b);
void argv_free(struct argv_builder *b);
void argv_reset(struct argv_builder *b);

/* Starts a new argument; its bytes follow with argv_put*(). */
void argv_begin(struct argv_builder *b);
void argv_putc(struct argv_builder *b, char c);
void argv_put(struct argv_builder *b, const char *p, size_t n);
/* Ends the argument begun last. */
void argv_end(struct argv_builder *b);

/* Points argv[] at the arena; valid until the next reset. */
void argv_finish(struct argv_builder *b, struct request *out);

#endif
