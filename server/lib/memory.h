/* The process's memory as the kernel counts it: the resident set size,
 * which --maxmemory is held against and INFO's used_memory_rss shows. It
 * counts what the allocator holds as well as what orderd uses, so it is
 * what the machine's operator sees in top and what the OOM killer goes
 * by. */
#ifndef LIB_MEMORY_H
#define LIB_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

/* The resident set size in bytes, from /proc/self/statm. Returns 0, or
 * -1 with err filled (no /proc, or a line it cannot read). */
int memory_rss(size_t *bytes, char *err, size_t errlen);

/* The same from statm's text ("size resident shared ..." in pages), for
 * memory_rss() and the tests. Returns 0, or -1 when it is not that. */
int memory_parse_statm(const char *text, size_t page_size, size_t *bytes);

/* --maxmemory: the limit and the last sample held against it. */
struct memory_limit {
    size_t max;   /* bytes; 0: no limit */
    size_t used;  /* the resident set size at the last sample */
};

static inline bool memory_over(const struct memory_limit *m)
{
    return m->max > 0 && m->used > m->max;
}

#endif
