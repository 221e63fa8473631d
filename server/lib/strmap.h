/* A map from byte strings to pointers: open addressing with linear probing,
 * grown at 3/4 full, deletion by backward shift (no tombstones). Keys are
 * copied and owned by the map; values are borrowed. Each map hashes with
 * its own seed, so filling one map in another's iteration order (a
 * snapshot replayed at start-up) does not pile keys into long probe runs. */
#ifndef SERVER_STRMAP_H
#define SERVER_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap_slot;

struct strmap {
    struct strmap_slot *slots;
    size_t cap;    /* a power of two, or 0 */
    size_t count;
    uint64_t seed; /* set by strmap_init */
};

void strmap_init(struct strmap *m);
void strmap_free(struct strmap *m);
/* The value for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key, size_t len);
/* Inserts or overwrites; val must not be NULL. Returns the map's own copy
 * of the key (NUL-terminated), which lasts until the key is deleted or the
 * map freed: one copy a caller can share instead of keeping another. */
const char *strmap_put(struct strmap *m, const char *key, size_t len, void *val);
/* Removes key; returns its value, or NULL if it was not there. */
void *strmap_del(struct strmap *m, const char *key, size_t len);

/* Iteration: for (size_t i = 0; strmap_next(m, &i, &k, &klen, &v);) */
bool strmap_next(const struct strmap *m, size_t *iter, const char **key, size_t *len,
                 void **val);

#endif
