/* The server's figures beyond plain counters: latency histograms per
 * command, per saga step, from an order's creation to its final status,
 * of journal fsyncs and of the event loop's lag; errors by code. INFO,
 * METRICS and the Prometheus endpoint (http.c) all read from here and
 * from the subsystems' own counters. */
#ifndef SERVER_METRICS_H
#define SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/histogram.h"
#include "saga/saga.h"

struct order_event;
struct order;

/* The error codes counted apart; anything else counts as "other". */
enum err_class {
    ERRC_ERR,
    ERRC_BADARG,
    ERRC_NOTFOUND,
    ERRC_STATE,
    ERRC_CONFLICT,
    ERRC_LIMIT,
    ERRC_STORE,
    ERRC_UNAVAILABLE,
    ERRC_READONLY,
    ERRC_OOM,
    ERRC_OTHER,
    ERRC_COUNT,
};

const char *err_class_name(enum err_class c);

struct command_metrics {
    uint64_t calls;
    uint64_t errors;
    struct histogram latency_us;   /* handler time */
};

struct metrics {
    struct command_metrics *commands;  /* owned; one per command table entry */
    struct command_metrics unknown;    /* names not in the table */
    size_t ncommands;
    uint64_t errors[ERRC_COUNT];
    struct histogram step_latency_us[SAGA_STEP_COUNT];  /* sent -> answered */
    uint64_t step_answers[SAGA_STEP_COUNT][3];          /* ok, fail, retry */
    uint64_t step_timeouts[SAGA_STEP_COUNT];
    struct histogram completion_ms;    /* created -> final status */
    uint64_t finished[ORDER_STATUS_COUNT];
    struct histogram loop_lag_ms;      /* how late the one-second tick fires */
    int64_t loop_lag_last_ms;
    uint64_t limit_hits;
};

/* ncommands: the command table's length. */
struct metrics *metrics_new(size_t ncommands);
void metrics_free(struct metrics *m);

/* The command at index of the table ran (an index past it: an unknown
 * command) in us microseconds. */
void metrics_command(struct metrics *m, size_t index, uint64_t us, bool error);
void metrics_error(struct metrics *m, const char *code);
void metrics_step(struct metrics *m, enum saga_step st, enum step_outcome o, uint64_t us);
void metrics_step_timeout(struct metrics *m, enum saga_step st);
/* Order book observer: times orders reaching a final status. */
void metrics_on_order(void *metrics, const struct order_event *ev, const struct order *o,
                      int from);
void metrics_loop_lag(struct metrics *m, int64_t lag_ms);

/* Monotonic microseconds, for timing. */
uint64_t metrics_now_us(void);

#endif
