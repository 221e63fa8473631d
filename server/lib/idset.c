/* Integer set as a bitmap with summary levels (see idset.h). */
#include "idset.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* The first allocation: 1024 integers in 128 bytes. */
#define IDSET_MIN_WORDS 16

static uint64_t bit(uint64_t pos)
{
    return 1ULL << (pos & 63);
}

void idset_init(struct idset *s)
{
    memset(s, 0, sizeof *s);
}

void idset_free(struct idset *s)
{
    for (int k = 0; k < s->nlevels; k++)
        free(s->words[k]);
    idset_init(s);
}

/* Makes room for x: the members' words double (zeroed past the old end)
 * and the summaries are built again from them, which doubling pays for. */
static void grow(struct idset *s, uint64_t x)
{
    size_t need = (size_t)(x >> 6) + 1;
    size_t had = s->nlevels ? s->nwords[0] : 0;
    size_t cap = had ? had : IDSET_MIN_WORDS;
    while (cap < need)
        cap *= 2;
    s->words[0] = xrealloc(s->words[0], cap * sizeof *s->words[0]);
    memset(s->words[0] + had, 0, (cap - had) * sizeof *s->words[0]);
    s->nwords[0] = cap;
    for (int k = 1; k < s->nlevels; k++)
        free(s->words[k]);
    int k = 0;
    for (; s->nwords[k] > 1; k++) {
        size_t up = (s->nwords[k] + 63) / 64;
        s->words[k + 1] = xcalloc(up, sizeof *s->words[k + 1]);
        s->nwords[k + 1] = up;
        for (size_t j = 0; j < s->nwords[k]; j++)
            if (s->words[k][j])
                s->words[k + 1][j >> 6] |= bit(j);
    }
    s->nlevels = k + 1;
}

bool idset_has(const struct idset *s, uint64_t x)
{
    return s->nlevels && (x >> 6) < s->nwords[0] && (s->words[0][x >> 6] & bit(x));
}

void idset_add(struct idset *s, uint64_t x)
{
    if (idset_has(s, x))
        return;
    if (s->nlevels == 0 || (x >> 6) >= s->nwords[0])
        grow(s, x);
    /* Upwards until a word that was not empty: its summaries say so already. */
    for (int k = 0; k < s->nlevels; k++, x >>= 6) {
        uint64_t *w = &s->words[k][x >> 6];
        uint64_t was = *w;
        *w |= bit(x);
        if (was)
            break;
    }
    s->count++;
}

void idset_remove(struct idset *s, uint64_t x)
{
    if (!idset_has(s, x))
        return;
    /* Upwards while a word becomes empty. */
    for (int k = 0; k < s->nlevels; k++, x >>= 6) {
        uint64_t *w = &s->words[k][x >> 6];
        *w &= ~bit(x);
        if (*w)
            break;
    }
    s->count--;
}

bool idset_next(const struct idset *s, uint64_t x, uint64_t *out)
{
    /* Up: the first level with a bit at or after x's place there. */
    int k = 0;
    uint64_t pos = x;
    for (;; k++) {
        if (k == s->nlevels || (pos >> 6) >= s->nwords[k])
            return false;
        uint64_t w = pos >> 6;
        uint64_t rest = s->words[k][w] & (~0ULL << (pos & 63));
        if (rest) {
            pos = (w << 6) | (uint64_t)__builtin_ctzll(rest);
            break;
        }
        /* Nothing left in this word: what follows it is word w+1, which
         * is bit w+1 one level up. */
        pos = w + 1;
    }
    /* Down: each summary bit names a word below with a bit set; take its first. */
    while (k-- > 0)
        pos = (pos << 6) | (uint64_t)__builtin_ctzll(s->words[k][pos]);
    *out = pos;
    return true;
}
