/* A map from byte strings to 64-bit values: open addressing with linear
 * probing, grown at 3/4 full. Keys are copied and owned by the map. */
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
};

void strmap_init(struct strmap *m);
void strmap_free(struct strmap *m);
bool strmap_get(const struct strmap *m, const char *key, size_t len, uint64_t *val);
/* Inserts or overwrites. */
void strmap_put(struct strmap *m, const char *key, size_t len, uint64_t val);

#endif
