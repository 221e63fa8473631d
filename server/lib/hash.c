/* Table seeds (see hash.h). */
#include "hash.h"

#include <time.h>

uint64_t hash_seed(const void *owner)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return hash_mix((uint64_t)(uintptr_t)owner ^
                    ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec));
}
