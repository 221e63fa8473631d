/* A set of integers from a dense range (order ids, 1 upwards), as a bitmap
 * with summary levels: bit j of level k+1 is set while word j of level k has
 * any bit set, up to a top level of one word. Adding, removing and "the
 * least member >= x" each touch at most two words per level (four levels
 * cover 16M ids), so finding the next member costs the same whether it is
 * the next integer or a million further on.
 *
 * Memory is one bit per integer up to the largest member ever added (plus
 * 1/63 for the summaries), whatever the number of members: right for sets
 * whose members are a fair share of a dense range, wrong for a few huge
 * numbers. */
#ifndef SERVER_IDSET_H
#define SERVER_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 64^11 > 2^64: enough levels for any uint64_t. */
#define IDSET_LEVELS_MAX 11

struct idset {
    uint64_t *words[IDSET_LEVELS_MAX];  /* owned; words[0] holds the members */
    size_t nwords[IDSET_LEVELS_MAX];
    int nlevels;                        /* 0 until the first add */
    size_t count;
};

void idset_init(struct idset *s);
void idset_free(struct idset *s);
void idset_add(struct idset *s, uint64_t x);
void idset_remove(struct idset *s, uint64_t x);
bool idset_has(const struct idset *s, uint64_t x);
/* The least member >= x in *out, or false when there is none. */
bool idset_next(const struct idset *s, uint64_t x, uint64_t *out);

#endif
