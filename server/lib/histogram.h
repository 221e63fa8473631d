/* Latency histograms with log-linear buckets, in the manner of
 * HdrHistogram: values are grouped by power of two, and each power of two
 * is split into HIST_SUB linear buckets, so every recorded value is kept
 * within 1/HIST_SUB (under 1%) of its true value, from 1 to 2^HIST_EXP.
 * Recording is O(1) (a clz and a shift); percentiles walk the buckets.
 *
 * Counts between fixed bounds (what a Prometheus histogram exposes) are
 * exact when each bound is an edge, the lowest value of one of these
 * buckets: any value below 2 * HIST_SUB, and above that any multiple of
 * the bucket width there (first << i with first below 2 * HIST_SUB, or a
 * power of two times such a number, always is). */
#ifndef SERVER_HISTOGRAM_H
#define SERVER_HISTOGRAM_H

#include <stdbool.h>
#include <stdint.h>

#define HIST_SUB_BITS 7                    /* 128 buckets per power of two */
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_EXP 40                        /* values up to 2^40 (e.g. us: 12 days) */
#define HIST_BUCKETS ((HIST_EXP - HIST_SUB_BITS + 1) * HIST_SUB)

struct histogram {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t max;
    uint64_t sum;
};

void hist_init(struct histogram *h);
void hist_record(struct histogram *h, uint64_t value);
/* The value at percentile p (0..100): the upper edge of the bucket holding
 * it, never above the largest value recorded. 0 when empty. */
uint64_t hist_percentile(const struct histogram *h, double p);

/* Whether v is the lowest value of a bucket (and below 2^HIST_EXP, where
 * larger values are clamped). */
bool hist_is_edge(uint64_t v);
/* How many recorded values were at least lo and below hi: exact when both
 * are edges (0 is one). */
uint64_t hist_count_range(const struct histogram *h, uint64_t lo, uint64_t hi);

/* Bounds that double: first, first * 2, first * 4 ... (count of them), in
 * the histogram's unit. Choose first so that every bound is an edge. */
struct hist_bounds {
    uint64_t first;
    unsigned count;
};

uint64_t hist_bound(const struct hist_bounds *b, unsigned i);

#endif
