/* String map (see strmap.h). No deletion: nothing that uses it forgets. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct strmap_slot {
    char *key;     /* owned; NULL when the slot is free */
    size_t len;
    uint64_t hash;
    uint64_t val;
};

/* FNV-1a: short keys, no adversarial-collision concern beyond the
 * per-key length limit the callers enforce. */
static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void strmap_init(struct strmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
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

bool strmap_get(const struct strmap *m, const char *key, size_t len, uint64_t *val)
{
    if (m->cap == 0)
        return false;
    struct strmap_slot *s = find(m, key, len, hash_bytes(key, len));
    if (s->key == NULL)
        return false;
    *val = s->val;
    return true;
}

void strmap_put(struct strmap *m, const char *key, size_t len, uint64_t val)
{
    if ((m->count + 1) * 4 > m->cap * 3)
        grow(m);
    uint64_t h = hash_bytes(key, len);
    struct strmap_slot *s = find(m, key, len, h);
    if (s->key == NULL) {
        s->key = xstrndup(key, len);
        s->len = len;
        s->hash = h;
        m->count++;
    }
    s->val = val;
}
