/* A latency histogram as a Prometheus histogram, in the text exposition
 * format: a cumulative <name>_bucket{le="..."} per bound (from
 * lib/histogram.h's exact counts between edges), le="+Inf", <name>_sum and
 * <name>_count. Bounds and sums are written in seconds, as exact decimals
 * of the histogram's unit ("0.000005", "16.384"). A bucket counts the
 * values recorded below its bound: a latency is recorded in whole units,
 * truncated, so those are the latencies under it. */
#ifndef SERVER_PROM_HISTOGRAM_H
#define SERVER_PROM_HISTOGRAM_H

#include <stdint.h>

#include "lib/histogram.h"

struct buf;

/* name: the family's full name ("orderd_saga_step_latency_seconds");
 * labels: the series' labels, escaped, without braces ("step=\"payment\"",
 * or "" for none); unit_seconds: what one unit of h is, a power of ten
 * (1e-6 for microseconds, 1e-3 for milliseconds). */
void prom_histogram(struct buf *out, const char *name, const char *labels,
                    const struct histogram *h, const struct hist_bounds *bounds,
                    double unit_seconds);

#endif
