/* The argv arena: one buffer of bytes, one array of offsets, reused for
 * every request of a connection so steady-state parsing does not allocate. */
#include "argv.h"

#include <stdlib.h>

#include "xalloc.h"

void argv_init(struct argv_builder *b)
{
    buf_init(&b->bytes);
    b->start = NULL;
    b->argv = NULL;
    b->argc = 0;
    b->cap = 0;
}

void argv_free(struct argv_builder *b)
{
    buf_free(&b->bytes);
    free(b->start);
    free(b->argv);
    argv_init(b);
}

void argv_reset(struct argv_builder *b)
{
    buf_clear(&b->bytes);
    b->argc = 0;
}

void argv_begin(struct argv_builder *b)
{
    if (b->argc == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->start = xrealloc(b->start, b->cap * sizeof *b->start);
        b->argv = xrealloc(b->argv, b->cap * sizeof *b->argv);
    }
    b->start[b->argc++] = b->bytes.len;
}

void argv_putc(struct argv_builder *b, char c)
{
    buf_appendc(&b->bytes, c);
}

void argv_put(struct argv_builder *b, const char *p, size_t n)
{
    buf_append(&b->bytes, p, n);
}

void argv_end(struct argv_builder *b)
{
    buf_appendc(&b->bytes, '\0');
}

void argv_finish(struct argv_builder *b, struct request *out)
{
    /* Offsets, not pointers, are kept while building because the arena
     * may move as it grows. Each argument ends with the NUL argv_end wrote,
     * so its length runs up to the next argument's start, less one. */
    for (size_t i = 0; i < b->argc; i++) {
        size_t end = i + 1 < b->argc ? b->start[i + 1] : b->bytes.len;
        b->argv[i].ptr = b->bytes.data + b->start[i];
        b->argv[i].len = end - b->start[i] - 1;
    }
    out->argc = b->argc;
    out->argv = b->argv;
}
