/* A circuit breaker per participant, as resilience libraries define it:
 *   CLOSED     calls go through; outcomes fill a window of the last N
 *   OPEN       after the failure rate of a full enough window reached the
 *              threshold: no calls for open_ms
 *   HALF_OPEN  then a few trial calls; all succeed -> CLOSED, one fails
 *              -> OPEN again
 * Time is passed in. The breaker only counts and decides; whoever asks
 * breaker_allow() holds back the call when it says no. */
#ifndef SERVER_BREAKER_H
#define SERVER_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

enum breaker_state {
    BREAKER_CLOSED,
    BREAKER_OPEN,
    BREAKER_HALF_OPEN,
};

struct breaker_config {
    unsigned failure_rate_pct;  /* open at or above this failure rate */
    unsigned window;            /* outcomes remembered (count window) */
    unsigned min_calls;         /* no judgement on fewer outcomes */
    int64_t open_ms;            /* time spent OPEN before trying */
    unsigned trial_calls;       /* calls allowed HALF_OPEN */
};

#define BREAKER_WINDOW_MAX 256

void breaker_config_default(struct breaker_config *c);

struct breaker {
    struct breaker_config cfg;
    enum breaker_state state;
    bool outcomes[BREAKER_WINDOW_MAX];  /* ring: true = failure */
    unsigned head, count, failures;
    int64_t opened_ms;
    unsigned trials_started, trials_ok;
    uint64_t opened_total;              /* times it opened */
};

void breaker_init(struct breaker *b, const struct breaker_config *cfg);

/* May a call start now? Moves OPEN to HALF_OPEN when open_ms has passed,
 * and counts a HALF_OPEN call as a trial. Call it only for a call that
 * will then start: a trial slot asked for is a trial slot taken. */
bool breaker_allow(struct breaker *b, int64_t now);

/* Would breaker_allow() say yes now? Changes nothing, so whoever holds
 * calls back can ask before committing one. */
bool breaker_ready(const struct breaker *b, int64_t now);

/* The outcome of a call that was allowed. Returns true when the state
 * changed (the caller announces it). */
bool breaker_record(struct breaker *b, bool failed, int64_t now);

/* When an OPEN breaker will let a trial through (for a timer). */
int64_t breaker_retry_at(const struct breaker *b);

const char *breaker_state_name(enum breaker_state s);
unsigned breaker_failure_pct(const struct breaker *b);

#endif
