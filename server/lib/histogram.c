/* Log-linear histogram (see histogram.h). Bucket layout: values below
 * HIST_SUB map to themselves (exact); above, a value with its top bit at
 * position e (e >= HIST_SUB_BITS) lands in row e - HIST_SUB_BITS + 1, at
 * the column given by the HIST_SUB_BITS bits below its top bit. */
#include "histogram.h"

#include <string.h>

void hist_init(struct histogram *h)
{
    memset(h, 0, sizeof *h);
}

static unsigned bucket_of(uint64_t v)
{
    if (v < HIST_SUB)
        return (unsigned)v;
    if (v >= (1ULL << HIST_EXP))
        v = (1ULL << HIST_EXP) - 1;
    unsigned top = 63u - (unsigned)__builtin_clzll(v);   /* >= HIST_SUB_BITS */
    unsigned row = top - HIST_SUB_BITS + 1;
    unsigned col = (unsigned)(v >> (top - HIST_SUB_BITS)) & (HIST_SUB - 1);
    return row * HIST_SUB + col;
}

/* The largest value that lands in bucket b. */
static uint64_t bucket_top(unsigned b)
{
    unsigned row = b / HIST_SUB, col = b % HIST_SUB;
    if (row == 0)
        return col;
    unsigned shift = row - 1;
    return (((uint64_t)(HIST_SUB + col) + 1) << shift) - 1;
}

void hist_record(struct histogram *h, uint64_t value)
{
    h->counts[bucket_of(value)]++;
    h->total++;
    h->sum += value;
    if (value > h->max)
        h->max = value;
}

uint64_t hist_percentile(const struct histogram *h, double p)
{
    if (h->total == 0)
        return 0;
    /* The rank of the value wanted, 1-based, rounded up. */
    double want = p / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want || rank == 0)
        rank++;
    uint64_t seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += h->counts[b];
        if (seen >= rank) {
            uint64_t top = bucket_top(b);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}


bool hist_is_edge(uint64_t v)
{
    if (v < HIST_SUB)
        return true;
    if (v >= (1ULL << HIST_EXP))
        return false;
    unsigned top = 63u - (unsigned)__builtin_clzll(v);
    return (v & ((1ULL << (top - HIST_SUB_BITS)) - 1)) == 0;
}

uint64_t hist_count_range(const struct histogram *h, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return 0;
    /* Values in [lo, hi) fill the buckets from lo's up to hi's, hi's not
     * included; a bound past the top takes the last bucket in. */
    unsigned from = bucket_of(lo);
    unsigned to = hi >= (1ULL << HIST_EXP) ? HIST_BUCKETS : bucket_of(hi);
    uint64_t n = 0;
    for (unsigned b = from; b < to; b++)
        n += h->counts[b];
    return n;
}

uint64_t hist_bound(const struct hist_bounds *b, unsigned i)
{
    return b->first << i;
}
