/* Hashing for the in-memory tables (strmap, u64map, a loop turn's
 * records): one finalizer, one byte hash, one way to seed a table. Not
 * for anything that must resist an attacker beyond a per-table seed. */
#ifndef LIB_HASH_H
#define LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

/* MurmurHash3's 64-bit finalizer: a bijection, so distinct inputs never
 * share a hash, and every input bit reaches the low bits that pick a
 * slot. */
static inline uint64_t hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* FNV-1a of n bytes from seed, then mixed: FNV's low bits depend only on
 * the low bits of each byte. For short keys. */
static inline uint64_t hash_bytes(uint64_t seed, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return hash_mix(h);
}

/* A seed for the table at owner: different from one table and one run to
 * the next, so a table filled in another's iteration order (a snapshot
 * replayed) does not pile keys into long probe runs. Not secret. */
uint64_t hash_seed(const void *owner);

#endif
