/* Sorted arrays of 64-bit integers: where a value goes. */
#ifndef LIB_SORTED_H
#define LIB_SORTED_H

#include <stddef.h>
#include <stdint.h>

/* The index of the first of a's n ascending values that is >= x (n when
 * none is). */
static inline size_t sorted_lower_bound(const uint64_t *a, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

#endif
