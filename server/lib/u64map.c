/* Integer map (see u64map.h). */
#include "u64map.h"

#include <stdlib.h>

#include "hash.h"
#include "xalloc.h"

struct u64map_slot {
    uint64_t key;  /* 0: the slot is free */
    int64_t val;
};

/* Grown when an insert would pass 3/4 full. Linear probing's expected
 * probes for a missing key are (1 + 1/(1-a)^2)/2: 8.5 at 3/4, but 32.5 at
 * 7/8, and every new order starts with a lookup that misses. After a
 * doubling the table is 3/8 full, so an entry costs 21 to 43 bytes; a
 * fuller table would save a few of them at the price of long runs. */
#define LOAD_NUM 3
#define LOAD_DEN 4
#define FIRST_CAP 64

/* hash_mix is a bijection: distinct keys never share a hash, and every
 * bit of the key reaches the low bits that pick the slot (order ids are
 * sequential). */
static size_t home(const struct u64map *m, uint64_t key)
{
    return (size_t)hash_mix(key ^ m->seed) & (m->cap - 1);
}

void u64map_init(struct u64map *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
    m->has_zero = false;
    m->zero_val = 0;
    m->seed = hash_seed(m);
}

void u64map_free(struct u64map *m)
{
    free(m->slots);
    u64map_init(m);
}

/* The slot holding key (not 0), or the free slot where it would go. */
static struct u64map_slot *find(const struct u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    for (size_t i = home(m, key);; i = (i + 1) & mask) {
        struct u64map_slot *s = &m->slots[i];
        if (s->key == key || s->key == 0)
            return s;
    }
}

static void grow(struct u64map *m)
{
    struct u64map_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->cap = old_cap ? old_cap * 2 : FIRST_CAP;
    m->slots = xcalloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            *find(m, old[i].key) = old[i];
    free(old);
}

bool u64map_get(const struct u64map *m, uint64_t key, int64_t *val)
{
    if (key == 0) {
        if (m->has_zero && val)
            *val = m->zero_val;
        return m->has_zero;
    }
    if (m->cap == 0)
        return false;
    const struct u64map_slot *s = find(m, key);
    if (s->key == 0)
        return false;
    if (val)
        *val = s->val;
    return true;
}

void u64map_put(struct u64map *m, uint64_t key, int64_t val)
{
    if (key == 0) {
        m->count += !m->has_zero;
        m->has_zero = true;
        m->zero_val = val;
        return;
    }
    size_t in_array = m->count - m->has_zero;
    if ((in_array + 1) * LOAD_DEN > m->cap * LOAD_NUM)
        grow(m);
    struct u64map_slot *s = find(m, key);
    if (s->key == 0) {
        s->key = key;
        m->count++;
    }
    s->val = val;
}

bool u64map_del(struct u64map *m, uint64_t key, int64_t *val)
{
    if (key == 0) {
        if (!m->has_zero)
            return false;
        if (val)
            *val = m->zero_val;
        m->has_zero = false;
        m->count--;
        return true;
    }
    if (m->cap == 0)
        return false;
    struct u64map_slot *s = find(m, key);
    if (s->key == 0)
        return false;
    if (val)
        *val = s->val;
    size_t mask = m->cap - 1;
    size_t hole = (size_t)(s - m->slots);
    /* Backward shift: pull later entries of the probe run into the hole
     * when their home slot is not between the hole and where they sit. */
    for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
        size_t h = home(m, m->slots[i].key);
        bool movable = hole <= i ? (h <= hole || h > i) : (h <= hole && h > i);
        if (movable) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].key = 0;
    m->count--;
    return true;
}

/* The array's slots are positions 0 .. cap-1; key 0 comes last, at cap. */
bool u64map_next(const struct u64map *m, size_t *iter, uint64_t *key, int64_t *val)
{
    for (; *iter < m->cap; (*iter)++) {
        const struct u64map_slot *s = &m->slots[*iter];
        if (s->key) {
            *key = s->key;
            *val = s->val;
            (*iter)++;
            return true;
        }
    }
    if (*iter == m->cap && m->has_zero) {
        *key = 0;
        *val = m->zero_val;
        (*iter)++;
        return true;
    }
    return false;
}
