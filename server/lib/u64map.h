/* A map from 64-bit keys to 64-bit values, both stored inline: one array of
 * 16-byte slots, open addressing with linear probing, grown at 3/4 full,
 * deletion by backward shift (no tombstones). For tables with an entry per
 * order, where a malloc'd key and value per entry cost more than the entry.
 * Each map hashes with its own seed, like strmap, so filling one map in
 * another's iteration order does not pile keys into long probe runs. */
#ifndef SERVER_U64MAP_H
#define SERVER_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map_slot;

struct u64map {
    struct u64map_slot *slots;
    size_t cap;        /* a power of two, or 0 */
    size_t count;      /* entries, key 0 included */
    uint64_t seed;     /* set by u64map_init */
    /* Key 0 marks a free slot in the array, so key 0 itself lives here. */
    bool has_zero;
    int64_t zero_val;
};

void u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
/* Whether key is there; if so and val is not NULL, *val is its value. */
bool u64map_get(const struct u64map *m, uint64_t key, int64_t *val);
/* Inserts or overwrites. */
void u64map_put(struct u64map *m, uint64_t key, int64_t val);
/* Removes key; returns whether it was there (and its value in *val if val
 * is not NULL). */
bool u64map_del(struct u64map *m, uint64_t key, int64_t *val);

/* Iteration, each entry once, in no particular order; the map must not be
 * changed meanwhile: for (size_t i = 0; u64map_next(m, &i, &k, &v);) */
bool u64map_next(const struct u64map *m, size_t *iter, uint64_t *key, int64_t *val);

#endif
