/* The order saga as a pure state machine: events in (a step's message
 * went out, a participant answered, a retry fell due, a timeout, a cancel,
 * a replay), actions out (dispatch a step, retry it later, move the order
 * to a status, dead-letter a step). It never publishes, arms a timer or
 * touches an order itself: the engine (engine.c) does what the actions say,
 * so every path can be tested here with time moved by hand.
 *
 *   validate + reserve (in parallel) -> RESERVED -> authorize -> PAID
 *   -> dispatch -> SHIPPED -> deliver -> DELIVERED
 *   a business failure: compensate what was done (release, refund) -> FAILED
 *   CANCEL before shipping: compensate -> CANCELLED
 *   a transient failure or timeout: retry with backoff and full jitter;
 *   attempts exhausted: the step is dead-lettered, the saga needs attention
 *   (the order keeps its status) until DLQ REPLAY resumes it or CANCEL
 *   compensates. */
#ifndef SERVER_SAGA_H
#define SERVER_SAGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orders/order.h"

enum saga_step {
    SAGA_VALIDATE,   /* customer.validate   (customer)  */
    SAGA_RESERVE,    /* inventory.reserve   (inventory) */
    SAGA_AUTHORIZE,  /* payment.authorize   (payment)   */
    SAGA_DISPATCH,   /* shipping.dispatch   (shipping)  */
    SAGA_DELIVER,    /* shipping.deliver    (shipping)  */
    SAGA_REFUND,     /* payment.refund      (payment): compensates authorize */
    SAGA_RELEASE,    /* inventory.release   (inventory): compensates reserve */
    SAGA_STEP_COUNT,
};

enum step_state {
    STEP_PENDING,       /* not started */
    STEP_RUNNING,       /* its message is out */
    STEP_WAITING,       /* a retry is scheduled, or its participant's breaker is open */
    STEP_OK,
    STEP_FAILED,        /* a business failure */
    STEP_COMPENSATED,   /* done, then undone */
    STEP_DEADLETTERED,  /* attempts exhausted: its message is in the DLQ */
    STEP_SKIPPED,       /* not needed any more (the saga ended first) */
};

enum saga_state {
    SAGA_RUNNING,
    SAGA_COMPENSATING,  /* undoing, towards FAILED or CANCELLED */
    SAGA_DONE,          /* DELIVERED */
    SAGA_FAILED,
    SAGA_CANCELLED,
};

enum step_outcome {
    OUTCOME_OK,
    OUTCOME_FAIL,   /* business failure: not retried */
    OUTCOME_RETRY,  /* transient failure: retried */
};

/* Longest error or reason kept (longer ones are cut). */
#define SAGA_ERROR_MAX 96

/* Small on purpose: one per order, a million orders in memory. Errors are
 * rare, so they are allocated when they happen rather than held inline. */
struct saga_step_info {
    uint8_t state;           /* enum step_state */
    uint16_t attempts;       /* messages sent for it */
    uint64_t msg;            /* the current attempt's message id, 0 before */
    int64_t started_ms;      /* first attempt */
    int64_t ended_ms;
    int64_t next_retry_ms;   /* when WAITING for a retry */
    int64_t sent_ms;         /* the current attempt went out */
    char *error;             /* owned; NULL when none */
};

struct saga {
    uint64_t order;
    uint8_t state;           /* enum saga_state */
    bool cancelling;         /* COMPENSATING because of CANCEL */
    bool attention;          /* a step is dead-lettered */
    char *reason;            /* owned: why it is failing / cancelled */
    int64_t created_ms;
    int64_t updated_ms;
    struct saga_step_info steps[SAGA_STEP_COUNT];
};

/* Frees what the saga owns (not the struct itself). */
void saga_release(struct saga *s);
/* The text of an error or reason: "" when there is none. */
static inline const char *saga_text(const char *s) { return s ? s : ""; }

/* Retries for one step: full jitter, so the wait is uniform in
 * [0, min(cap, base * 2^(attempt-1))]. */
struct saga_policy {
    int64_t base_ms;
    int64_t cap_ms;
    uint32_t max_attempts;
    int64_t timeout_ms;      /* a running attempt without an answer fails */
};

void saga_policy_default(struct saga_policy *p);

enum saga_action_type {
    ACT_DISPATCH,    /* send the step's message (subject to its breaker) */
    ACT_RETRY,       /* call saga_retry_due(step) at `at` */
    ACT_STATUS,      /* move the order to `status`, with `note` */
    ACT_DEADLETTER,  /* put the step's current message in the DLQ, `note` why */
    ACT_FINISHED,    /* the saga reached its end (done, failed or cancelled) */
};

struct saga_action {
    enum saga_action_type type;
    enum saga_step step;
    enum order_status status;
    int64_t at;
    const char *note;  /* points into the saga; valid until it changes */
};

#define SAGA_ACTIONS_MAX 16

struct saga_actions {
    struct saga_action a[SAGA_ACTIONS_MAX];
    int n;
};

const char *saga_step_name(enum saga_step s);      /* "payment.authorize" */
const char *saga_step_participant(enum saga_step s);
const char *step_state_name(enum step_state s);
const char *saga_state_name(const struct saga *s); /* includes "dead-lettered" */
int saga_step_parse(const char *channel);          /* -1 if not a step channel */
bool saga_finished(const struct saga *s);

void saga_start(struct saga *s, uint64_t order, int64_t now, struct saga_actions *out);

/* The engine sent the step's message (one attempt). */
void saga_dispatched(struct saga *s, enum saga_step st, uint64_t msg, int64_t now);
/* The engine holds the step back (its breaker is open): not an attempt. */
void saga_held(struct saga *s, enum saga_step st, int64_t now);

/* A participant's answer for message msg of step st. Returns false (and
 * changes nothing) when it is not the answer the saga waits for: a late
 * answer to an earlier attempt, a repeat, or an answer after the end. rnd
 * is a random number for the retry jitter. */
bool saga_outcome(struct saga *s, enum saga_step st, uint64_t msg, enum step_outcome o,
                  const char *reason, int64_t now, uint64_t rnd,
                  const struct saga_policy *policy, struct saga_actions *out);

/* The step's running attempt got no answer in time: a transient failure. */
bool saga_timeout(struct saga *s, enum saga_step st, uint64_t msg, int64_t now, uint64_t rnd,
                  const struct saga_policy *policy, struct saga_actions *out);

/* A scheduled retry fell due. */
void saga_retry_due(struct saga *s, enum saga_step st, int64_t now, struct saga_actions *out);

/* DLQ REPLAY put the dead-lettered message of st back: the step runs
 * again (same message), with its attempts counted afresh. */
bool saga_replayed(struct saga *s, enum saga_step st, int64_t now);

/* CANCEL: compensate what was done and end CANCELLED. Returns false when
 * it is too late: shipping is running or done, or the saga ended. */
bool saga_cancel(struct saga *s, const char *reason, int64_t now, struct saga_actions *out);
/* An operator forces the saga to an end, at any point short of finished:
 * nothing more goes forward, what was done is undone (refund, release) as
 * for a failure, and the order ends FAILED with "aborted: <reason>". Steps
 * already running are waited for (their answers may need undoing too).
 * False when it has finished. */
bool saga_abort(struct saga *s, const char *reason, int64_t now, struct saga_actions *out);
/* How an aborted saga's reason starts. */
#define SAGA_ABORTED "aborted: "

#endif
