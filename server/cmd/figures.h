/* Every figure the server reports, walked in one place, so that INFO
 * (readable sections), METRICS (one record) and the Prometheus endpoint
 * show the same things under related names and cannot drift apart.
 *
 * A figure has a name (INFO's and METRICS's key), optionally one or two
 * labels (METRICS appends their values to the name: orders_pending;
 * Prometheus puts them in braces: orderd_orders{status="pending"}), and
 * a number, a text, or a latency histogram (with the bucket bounds
 * Prometheus shows it in, fixed per figure). */
#ifndef SERVER_FIGURES_H
#define SERVER_FIGURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/histogram.h"

struct cmd_env;

enum fig_kind {
    FIG_COUNTER,   /* only grows */
    FIG_GAUGE,     /* goes up and down */
    FIG_INFO,      /* a text (with a number for Prometheus when it has one) */
    FIG_LATENCY,   /* a histogram */
};

struct figure {
    const char *section;     /* INFO section: "server", "orders", ... */
    const char *name;        /* "orders", "commands" ... */
    const char *prom;        /* Prometheus family name (without orderd_) */
    const char *help;        /* Prometheus HELP */
    enum fig_kind kind;
    const char *label;       /* label key, or NULL */
    const char *value;       /* its value */
    const char *label2;      /* a second label, or NULL */
    const char *value2;
    double number;
    double prom_scale;       /* Prometheus shows number * this (0: as is) */
    const char *text;        /* FIG_INFO: shown instead of the number */
    bool has_number;         /* FIG_INFO: also exported to Prometheus */
    const struct histogram *hist;
    double unit_seconds;     /* FIG_LATENCY: what one histogram unit is */
    const struct hist_bounds *bounds;  /* FIG_LATENCY: Prometheus's buckets, edges of hist */
};

typedef void (*figure_fn)(void *arg, const struct figure *f);

void figures_walk(struct cmd_env *env, figure_fn fn, void *arg);

/* The METRICS/INFO key of a figure: name, then its label values, joined
 * with '_' ("orders_pending", "group_lag_jobs_workers"). */
void figure_key(const struct figure *f, char *out, size_t outlen);

#endif
