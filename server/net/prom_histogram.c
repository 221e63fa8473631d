/* Prometheus histogram samples (see prom_histogram.h). */
#include "prom_histogram.h"

#include "buf.h"

/* How many decimals a value in this unit needs in seconds: 6 for 1e-6. */
static unsigned decimals_of(double unit_seconds)
{
    unsigned d = 0;
    for (double scaled = unit_seconds; scaled < 0.5 && d < 9; scaled *= 10)
        d++;
    return d;
}

/* v units as seconds, exactly: "0.00005", "0.001", "16.384", "0". */
static void seconds(struct buf *b, uint64_t v, unsigned decimals)
{
    uint64_t per_second = 1;
    for (unsigned i = 0; i < decimals; i++)
        per_second *= 10;
    buf_printf(b, "%llu", (unsigned long long)(v / per_second));
    uint64_t frac = v % per_second;
    if (frac == 0)
        return;
    char digits[16];
    unsigned n = decimals;
    for (unsigned i = n; i > 0; i--, frac /= 10)
        digits[i - 1] = (char)('0' + frac % 10);
    while (digits[n - 1] == '0')
        n--;
    buf_appendc(b, '.');
    buf_append(b, digits, n);
}

static void bucket(struct buf *out, const char *name, const char *labels)
{
    buf_printf(out, "%s_bucket{%s%sle=\"", name, labels, *labels ? "," : "");
}

static void plain(struct buf *out, const char *name, const char *suffix, const char *labels)
{
    if (*labels)
        buf_printf(out, "%s%s{%s} ", name, suffix, labels);
    else
        buf_printf(out, "%s%s ", name, suffix);
}

void prom_histogram(struct buf *out, const char *name, const char *labels,
                    const struct histogram *h, const struct hist_bounds *bounds,
                    double unit_seconds)
{
    unsigned decimals = decimals_of(unit_seconds);
    uint64_t below = 0, from = 0;
    for (unsigned i = 0; i < bounds->count; i++) {
        uint64_t to = hist_bound(bounds, i);
        below += hist_count_range(h, from, to);
        from = to;
        bucket(out, name, labels);
        seconds(out, to, decimals);
        buf_printf(out, "\"} %llu\n", (unsigned long long)below);
    }
    bucket(out, name, labels);
    buf_printf(out, "+Inf\"} %llu\n", (unsigned long long)h->total);
    plain(out, name, "_sum", labels);
    seconds(out, h->sum, decimals);
    buf_appendc(out, '\n');
    plain(out, name, "_count", labels);
    buf_printf(out, "%llu\n", (unsigned long long)h->total);
}
