/* String map (see strmap.h). */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "xalloc.h"

struct strmap_slot {
    char *key;     /* owned; NULL when the slot is free */
    size_t len;
    uint64_t hash;
    void *val;
};

static uint64_t key_hash(const struct strmap *m, const char *s, size_t n)
{
    return hash_bytes(m->seed, s, n);
}

void strmap_init(struct strmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
    /* Not secret, only different from one map and one run to the next. */
    m->seed = hash_seed(m);
}

void strmap_free(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    strmap_init(m);
}

static struct strmap_slot *find(const struct strmap *m, const char *key, size_t len,
                                uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct strmap_slot *s = &m->slots[i];
        if (s->key == NULL ||
            (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

static void grow(struct strmap *m)
{
    struct strmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->slots = xcalloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < old.cap; i++) {
        struct strmap_slot *s = &old.slots[i];
        if (s->key)
            *find(m, s->key, s->len, s->hash) = *s;
    }
    free(old.slots);
}

void *strmap_get(const struct strmap *m, const char *key, size_t len)
{
    if (m->cap == 0)
        return NULL;
    struct strmap_slot *s = find(m, key, len, key_hash(m, key, len));
    return s->key ? s->val : NULL;
}

const char *strmap_put(struct strmap *m, const char *key, size_t len, void *val)
{
    if ((m->count + 1) * 4 > m->cap * 3)
        grow(m);
    uint64_t h = key_hash(m, key, len);
    struct strmap_slot *s = find(m, key, len, h);
    if (s->key == NULL) {
        s->key = xstrndup(key, len);
        s->len = len;
        s->hash = h;
        m->count++;
    }
    s->val = val;
    return s->key;
}

void *strmap_del(struct strmap *m, const char *key, size_t len)
{
    if (m->cap == 0)
        return NULL;
    struct strmap_slot *s = find(m, key, len, key_hash(m, key, len));
    if (s->key == NULL)
        return NULL;
    void *val = s->val;
    free(s->key);
    size_t mask = m->cap - 1;
    size_t hole = (size_t)(s - m->slots);
    /* Backward shift: pull later entries of the probe run into the hole
     * when their home slot is not between the hole and where they sit. */
    for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
        size_t home = m->slots[i].hash & mask;
        bool movable = hole <= i ? (home <= hole || home > i) : (home <= hole && home > i);
        if (movable) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].key = NULL;
    m->count--;
    return val;
}

bool strmap_next(const struct strmap *m, size_t *iter, const char **key, size_t *len,
                 void **val)
{
    for (; *iter < m->cap; (*iter)++) {
        struct strmap_slot *s = &m->slots[*iter];
        if (s->key) {
            *key = s->key;
            *len = s->len;
            *val = s->val;
            (*iter)++;
            return true;
        }
    }
    return false;
}
