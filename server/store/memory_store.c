/* The memory store (see memory_store.h). */
#include "memory_store.h"

#include <stdlib.h>

#include "xalloc.h"

struct memory_store {
    char unused;
};

static uint64_t end(const void *be)
{
    (void)be;
    return 0;
}

static bool writable(void *be, char *why, size_t whylen)
{
    (void)be;
    (void)why;
    (void)whylen;
    return true;
}

static void stats(const void *be, struct store_stats *st)
{
    (void)be;
    st->fsync = "none";
}

static int close_store(void *be)
{
    free(be);
    return 0;
}

static const struct store_ops memory_ops = {
    .name = "memory",
    .end = end,
    .writable = writable,
    .stats = stats,
    .close = close_store,
};

struct store *memory_store_open(const struct store_env *env)
{
    return store_new(&memory_ops, xcalloc(1, sizeof(struct memory_store)), env);
}
