/* A latency as a Prometheus histogram: the counts at the bucket bounds
 * are exact (each bound is an edge of the log-linear histogram), the
 * buckets are cumulative, and the text is what the exposition format
 * wants, with bounds and sums as exact decimals of seconds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd/figures.h"
#include "cmd/metrics.h"
#include "lib/histogram.h"
#include "net/prom_histogram.h"
#include "support/world.h"

static struct histogram *fresh(void)
{
    struct histogram *h = malloc(sizeof *h);
    hist_init(h);
    return h;
}

/* What prom_histogram wrote, as a C string (freed by the caller). */
static char *render(const char *name, const char *labels, const struct histogram *h,
                    const struct hist_bounds *b, double unit)
{
    struct buf out;
    buf_init(&out);
    prom_histogram(&out, name, labels, h, b, unit);
    buf_appendc(&out, '\0');
    char *s = strdup(buf_head(&out));
    buf_free(&out);
    return s;
}

static void test_edges(void **state)
{
    (void)state;
    for (uint64_t v = 0; v < 2 * HIST_SUB; v++)
        assert_true(hist_is_edge(v));
    /* From 256 on, buckets are 2 wide, from 512 on 4 wide ... */
    assert_true(hist_is_edge(256));
    assert_false(hist_is_edge(257));
    assert_true(hist_is_edge(1000));    /* a multiple of 4 in [512, 1024) */
    assert_false(hist_is_edge(1002));
    assert_false(hist_is_edge(2500));   /* 16 wide there: 2.5 ms cannot be a bound */
    assert_true(hist_is_edge(50ULL << 20));
    assert_false(hist_is_edge(1ULL << HIST_EXP));  /* clamped values land below it */
    /* Doubling from anything below 2 * HIST_SUB stays on edges. */
    for (uint64_t first = 1; first < 2 * HIST_SUB; first++) {
        struct hist_bounds b = {first, 30};
        for (unsigned i = 0; i < b.count && hist_bound(&b, i) < (1ULL << HIST_EXP); i++)
            assert_true(hist_is_edge(hist_bound(&b, i)));
    }
}

/* Against counting by hand, with values on, just below and just above
 * every bound, and a spread between. */
static void test_counts_at_edges_are_exact(void **state)
{
    (void)state;
    static const struct hist_bounds layouts[] = {{5, 19}, {1000, 15}, {1, 14}, {50, 18}};
    enum { MAXV = 4096 };
    uint64_t *vals = malloc(MAXV * sizeof *vals);
    for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
        const struct hist_bounds *b = &layouts[l];
        struct histogram *h = fresh();
        size_t n = 0;
        for (unsigned i = 0; i < b->count; i++) {
            uint64_t x = hist_bound(b, i);
            uint64_t near[] = {x - 1, x, x + 1, x + x / 3, x + x / 2};
            for (size_t k = 0; k < sizeof near / sizeof near[0]; k++)
                vals[n++] = near[k];
        }
        uint64_t span = hist_bound(b, b->count - 1) * 2, seed = 1;
        while (n < MAXV) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            vals[n++] = (seed >> 33) % span;
        }
        for (size_t k = 0; k < n; k++)
            hist_record(h, vals[k]);
        for (unsigned i = 0; i < b->count; i++) {
            uint64_t x = hist_bound(b, i), want = 0;
            for (size_t k = 0; k < n; k++)
                want += vals[k] < x;
            if (hist_count_range(h, 0, x) != want)
                fail_msg("layout %zu: below %llu: %llu, counted %llu", l,
                         (unsigned long long)x, (unsigned long long)hist_count_range(h, 0, x),
                         (unsigned long long)want);
        }
        assert_int_equal(hist_count_range(h, 0, UINT64_MAX), n);
        free(h);
    }
    free(vals);
}

static void test_the_text_of_a_labelled_histogram(void **state)
{
    (void)state;
    struct histogram *h = fresh();
    /* Microseconds, bounds 5, 10, 20, 40 us. A value counts below the
     * bound above it: 5 us is not in le="0.000005". */
    static const uint64_t us[] = {0, 4, 5, 9, 10, 39, 40, 1000000};
    for (size_t i = 0; i < sizeof us / sizeof us[0]; i++)
        hist_record(h, us[i]);
    struct hist_bounds b = {5, 4};
    char *text = render("orderd_x_seconds", "step=\"a.b\"", h, &b, 1e-6);
    assert_string_equal(text,
                        "orderd_x_seconds_bucket{step=\"a.b\",le=\"0.000005\"} 2\n"
                        "orderd_x_seconds_bucket{step=\"a.b\",le=\"0.00001\"} 4\n"
                        "orderd_x_seconds_bucket{step=\"a.b\",le=\"0.00002\"} 5\n"
                        "orderd_x_seconds_bucket{step=\"a.b\",le=\"0.00004\"} 6\n"
                        "orderd_x_seconds_bucket{step=\"a.b\",le=\"+Inf\"} 8\n"
                        "orderd_x_seconds_sum{step=\"a.b\"} 1.000107\n"
                        "orderd_x_seconds_count{step=\"a.b\"} 8\n");
    free(text);
    free(h);
}

static void test_the_text_without_labels_in_milliseconds(void **state)
{
    (void)state;
    struct histogram *h = fresh();
    hist_record(h, 0);
    hist_record(h, 2500);
    hist_record(h, 30000);   /* 30 s: past the last bound, in +Inf only */
    struct hist_bounds b = {1, 13};  /* 1 ms .. 4.096 s */
    char *text = render("orderd_lag_seconds", "", h, &b, 1e-3);
    const char *want_head = "orderd_lag_seconds_bucket{le=\"0.001\"} 1\n"
                            "orderd_lag_seconds_bucket{le=\"0.002\"} 1\n";
    assert_memory_equal(text, want_head, strlen(want_head));
    assert_non_null(strstr(text, "orderd_lag_seconds_bucket{le=\"2.048\"} 1\n"
                                 "orderd_lag_seconds_bucket{le=\"4.096\"} 2\n"
                                 "orderd_lag_seconds_bucket{le=\"+Inf\"} 3\n"
                                 "orderd_lag_seconds_sum 32.5\n"
                                 "orderd_lag_seconds_count 3\n"));
    free(text);
    /* Empty: every bucket 0, a sum of "0". */
    hist_init(h);
    text = render("orderd_lag_seconds", "", h, &b, 1e-3);
    assert_non_null(strstr(text, "{le=\"+Inf\"} 0\norderd_lag_seconds_sum 0\n"
                                 "orderd_lag_seconds_count 0\n"));
    free(text);
    free(h);
}

static void check_bounds(void *arg, const struct figure *f)
{
    unsigned *seen = arg;
    if (f->kind != FIG_LATENCY)
        return;
    (*seen)++;
    assert_non_null(f->bounds);
    assert_true(f->bounds->count > 0);
    for (unsigned i = 0; i < f->bounds->count; i++)
        if (!hist_is_edge(hist_bound(f->bounds, i)))
            fail_msg("%s: bound %llu is not an edge", f->prom,
                     (unsigned long long)hist_bound(f->bounds, i));
}

/* Every latency the server reports has bounds, all of them edges. */
static void test_every_latency_has_exact_bounds(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, false);
    metrics_command(w.metrics, 0, 3, false);   /* so a command's latency is shown */
    unsigned seen = 0;
    figures_walk(&w.env, check_bounds, &seen);
    assert_true(seen >= 4 + SAGA_STEP_COUNT);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_counts_at_edges_are_exact),
        cmocka_unit_test(test_the_text_of_a_labelled_histogram),
        cmocka_unit_test(test_the_text_without_labels_in_milliseconds),
        cmocka_unit_test(test_every_latency_has_exact_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
