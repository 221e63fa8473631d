/* The saga state machine (see saga.h). */
#include "saga.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const struct {
    const char *channel;
    const char *participant;
} steps[SAGA_STEP_COUNT] = {
    [SAGA_VALIDATE] = {"customer.validate", "customer"},
    [SAGA_RESERVE] = {"inventory.reserve", "inventory"},
    [SAGA_AUTHORIZE] = {"payment.authorize", "payment"},
    [SAGA_DISPATCH] = {"shipping.dispatch", "shipping"},
    [SAGA_DELIVER] = {"shipping.deliver", "shipping"},
    [SAGA_REFUND] = {"payment.refund", "payment"},
    [SAGA_RELEASE] = {"inventory.release", "inventory"},
};

void saga_policy_default(struct saga_policy *p)
{
    p->base_ms = 100;
    p->cap_ms = 2000;
    p->max_attempts = 5;
    p->timeout_ms = 5000;
}

const char *saga_step_name(enum saga_step s)
{
    return (unsigned)s < SAGA_STEP_COUNT ? steps[s].channel : "?";
}

const char *saga_step_participant(enum saga_step s)
{
    return (unsigned)s < SAGA_STEP_COUNT ? steps[s].participant : "?";
}

int saga_step_parse(const char *channel)
{
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        if (strcmp(channel, steps[i].channel) == 0)
            return i;
    return -1;
}

const char *step_state_name(enum step_state s)
{
    switch (s) {
    case STEP_PENDING: return "pending";
    case STEP_RUNNING: return "running";
    case STEP_WAITING: return "waiting";
    case STEP_OK: return "ok";
    case STEP_FAILED: return "failed";
    case STEP_COMPENSATED: return "compensated";
    case STEP_DEADLETTERED: return "dead-lettered";
    case STEP_SKIPPED: return "skipped";
    }
    return "?";
}

const char *saga_state_name(const struct saga *s)
{
    if (s->attention)
        return "dead-lettered";
    switch (s->state) {
    case SAGA_RUNNING: return "running";
    case SAGA_COMPENSATING: return s->cancelling ? "cancelling" : "compensating";
    case SAGA_DONE: return "done";
    case SAGA_FAILED: return "failed";
    case SAGA_CANCELLED: return "cancelled";
    }
    return "?";
}

bool saga_finished(const struct saga *s)
{
    return s->state == SAGA_DONE || s->state == SAGA_FAILED || s->state == SAGA_CANCELLED;
}

static void act(struct saga_actions *out, enum saga_action_type type, enum saga_step step,
                enum order_status status, int64_t at, const char *note)
{
    if (out->n < SAGA_ACTIONS_MAX)
        out->a[out->n++] = (struct saga_action){type, step, status, at, note};
}

static void dispatch(struct saga *s, enum saga_step st, struct saga_actions *out)
{
    (void)s;
    act(out, ACT_DISPATCH, st, 0, 0, NULL);
}

/* Replaces *dst (owned) with a formatted string, cut at SAGA_ERROR_MAX. */
static void set_text(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_text(char **dst, const char *fmt, ...)
{
    char tmp[SAGA_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    free(*dst);
    *dst = xstrdup(tmp);
}

static void clear_text(char **dst)
{
    free(*dst);
    *dst = NULL;
}

static void set_error(struct saga_step_info *info, const char *reason)
{
    set_text(&info->error, "%s", reason ? reason : "");
}

void saga_release(struct saga *s)
{
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        clear_text(&s->steps[i].error);
    clear_text(&s->reason);
}

static bool active(const struct saga_step_info *info)
{
    return info->state == STEP_RUNNING || info->state == STEP_WAITING ||
           info->state == STEP_DEADLETTERED;
}

/* Undo what is done and not undone yet: release stock, refund payment. */
static void compensate(struct saga *s, struct saga_actions *out)
{
    if (s->steps[SAGA_AUTHORIZE].state == STEP_OK && s->steps[SAGA_REFUND].state == STEP_PENDING)
        dispatch(s, SAGA_REFUND, out);
    if (s->steps[SAGA_RESERVE].state == STEP_OK && s->steps[SAGA_RELEASE].state == STEP_PENDING)
        dispatch(s, SAGA_RELEASE, out);
}

static bool compensation_pending(const struct saga *s, struct saga_actions *out)
{
    for (int i = 0; i < out->n; i++)
        if (out->a[i].type == ACT_DISPATCH)
            return true;
    return (s->steps[SAGA_AUTHORIZE].state == STEP_OK &&
            s->steps[SAGA_REFUND].state != STEP_OK) ||
           (s->steps[SAGA_RESERVE].state == STEP_OK && s->steps[SAGA_RELEASE].state != STEP_OK);
}

/* A compensating saga ends once nothing runs and nothing is left to undo. */
static void maybe_finish(struct saga *s, int64_t now, struct saga_actions *out)
{
    if (s->state != SAGA_COMPENSATING)
        return;
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        if (active(&s->steps[i]))
            return;
    if (compensation_pending(s, out))
        return;
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        if (s->steps[i].state == STEP_PENDING)
            s->steps[i].state = STEP_SKIPPED;
    s->state = s->cancelling ? SAGA_CANCELLED : SAGA_FAILED;
    s->updated_ms = now;
    /* No reason given (CANCEL without one): no note, as without a saga. */
    act(out, ACT_STATUS, 0, s->cancelling ? ORDER_CANCELLED : ORDER_FAILED, 0,
        s->reason && *s->reason ? s->reason : NULL);
    act(out, ACT_FINISHED, 0, 0, 0, NULL);
}

static void start_compensating(struct saga *s, const char *why, int64_t now,
                               struct saga_actions *out)
{
    if (s->state == SAGA_RUNNING) {
        s->state = SAGA_COMPENSATING;
        set_text(&s->reason, "%s", why);
    }
    /* Steps waiting to run forward are not needed any more. */
    for (int i = SAGA_VALIDATE; i <= SAGA_DELIVER; i++)
        if (s->steps[i].state == STEP_WAITING || s->steps[i].state == STEP_PENDING ||
            s->steps[i].state == STEP_DEADLETTERED)
            s->steps[i].state = STEP_SKIPPED;
    s->attention = false;
    for (int i = SAGA_REFUND; i <= SAGA_RELEASE; i++)
        if (s->steps[i].state == STEP_DEADLETTERED)
            s->attention = true;
    compensate(s, out);
    maybe_finish(s, now, out);
}

void saga_start(struct saga *s, uint64_t order, int64_t now, struct saga_actions *out)
{
    saga_release(s);
    memset(s, 0, sizeof *s);
    s->order = order;
    s->state = SAGA_RUNNING;
    s->created_ms = s->updated_ms = now;
    dispatch(s, SAGA_VALIDATE, out);
    dispatch(s, SAGA_RESERVE, out);
}

void saga_dispatched(struct saga *s, enum saga_step st, uint64_t msg, int64_t now)
{
    struct saga_step_info *info = &s->steps[st];
    info->state = STEP_RUNNING;
    info->attempts++;
    info->msg = msg;
    info->next_retry_ms = 0;
    info->sent_ms = now;
    if (info->started_ms == 0)
        info->started_ms = now;
    s->updated_ms = now;
}

void saga_held(struct saga *s, enum saga_step st, int64_t now)
{
    struct saga_step_info *info = &s->steps[st];
    info->state = STEP_WAITING;
    info->next_retry_ms = 0;
    set_error(info, "breaker open");
    s->updated_ms = now;
}

/* The next forward step once st has succeeded on a running saga. */
static void advance(struct saga *s, enum saga_step st, int64_t now, struct saga_actions *out)
{
    switch (st) {
    case SAGA_VALIDATE:
    case SAGA_RESERVE:
        if (s->steps[SAGA_VALIDATE].state == STEP_OK && s->steps[SAGA_RESERVE].state == STEP_OK) {
            act(out, ACT_STATUS, st, ORDER_RESERVED, 0, NULL);
            dispatch(s, SAGA_AUTHORIZE, out);
        }
        break;
    case SAGA_AUTHORIZE:
        act(out, ACT_STATUS, st, ORDER_PAID, 0, NULL);
        dispatch(s, SAGA_DISPATCH, out);
        break;
    case SAGA_DISPATCH:
        act(out, ACT_STATUS, st, ORDER_SHIPPED, 0, NULL);
        dispatch(s, SAGA_DELIVER, out);
        break;
    case SAGA_DELIVER:
        s->state = SAGA_DONE;
        act(out, ACT_STATUS, st, ORDER_DELIVERED, 0, NULL);
        act(out, ACT_FINISHED, st, 0, 0, NULL);
        break;
    default:
        break;
    }
    (void)now;
}

static void transient(struct saga *s, enum saga_step st, const char *reason, int64_t now,
                      uint64_t rnd, const struct saga_policy *p, struct saga_actions *out)
{
    struct saga_step_info *info = &s->steps[st];
    set_error(info, reason);
    if (info->attempts < p->max_attempts) {
        int64_t step = p->base_ms;
        for (uint32_t i = 1; i < info->attempts && step < p->cap_ms; i++)
            step *= 2;
        if (step > p->cap_ms)
            step = p->cap_ms;
        int64_t wait = step > 0 ? (int64_t)(rnd % (uint64_t)(step + 1)) : 0;
        info->state = STEP_WAITING;
        info->next_retry_ms = now + wait;
        act(out, ACT_RETRY, st, 0, info->next_retry_ms, NULL);
        return;
    }
    info->state = STEP_DEADLETTERED;
    info->next_retry_ms = 0;
    s->attention = true;
    set_text(&info->error, "%.40s after %u attempts", reason ? reason : "", info->attempts);
    act(out, ACT_DEADLETTER, st, 0, 0, info->error);
}

bool saga_outcome(struct saga *s, enum saga_step st, uint64_t msg, enum step_outcome o,
                  const char *reason, int64_t now, uint64_t rnd,
                  const struct saga_policy *policy, struct saga_actions *out)
{
    struct saga_step_info *info = &s->steps[st];
    if (saga_finished(s) || info->state != STEP_RUNNING || info->msg != msg)
        return false;
    s->updated_ms = now;
    bool compensation = st == SAGA_REFUND || st == SAGA_RELEASE;
    /* Undoing must end in success: a refusal to undo is retried too. */
    if (o == OUTCOME_RETRY || (o == OUTCOME_FAIL && compensation)) {
        transient(s, st, reason, now, rnd, policy, out);
        return true;
    }
    info->ended_ms = now;
    if (o == OUTCOME_FAIL) {
        info->state = STEP_FAILED;
        set_error(info, reason);
        char why[SAGA_ERROR_MAX];
        snprintf(why, sizeof why, "%s: %.60s", saga_step_participant(st),
                 reason && *reason ? reason : "refused");
        start_compensating(s, why, now, out);
        return true;
    }
    info->state = STEP_OK;
    clear_text(&info->error);
    if (st == SAGA_REFUND)
        s->steps[SAGA_AUTHORIZE].state = STEP_COMPENSATED;
    else if (st == SAGA_RELEASE)
        s->steps[SAGA_RESERVE].state = STEP_COMPENSATED;
    if (s->state == SAGA_RUNNING) {
        advance(s, st, now, out);
    } else {
        compensate(s, out);
        maybe_finish(s, now, out);
    }
    return true;
}

bool saga_timeout(struct saga *s, enum saga_step st, uint64_t msg, int64_t now, uint64_t rnd,
                  const struct saga_policy *policy, struct saga_actions *out)
{
    struct saga_step_info *info = &s->steps[st];
    if (saga_finished(s) || info->state != STEP_RUNNING || info->msg != msg)
        return false;
    s->updated_ms = now;
    transient(s, st, "timeout", now, rnd, policy, out);
    return true;
}

void saga_retry_due(struct saga *s, enum saga_step st, int64_t now, struct saga_actions *out)
{
    if (saga_finished(s) || s->steps[st].state != STEP_WAITING)
        return;
    bool forward = st <= SAGA_DELIVER;
    if (forward && s->state != SAGA_RUNNING) {
        s->steps[st].state = STEP_SKIPPED;
        maybe_finish(s, now, out);
        return;
    }
    dispatch(s, st, out);
}

bool saga_replayed(struct saga *s, enum saga_step st, int64_t now)
{
    struct saga_step_info *info = &s->steps[st];
    if (saga_finished(s) || info->state != STEP_DEADLETTERED)
        return false;
    info->state = STEP_RUNNING;
    info->attempts = 1;
    info->sent_ms = now;
    clear_text(&info->error);
    s->attention = false;
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        if (s->steps[i].state == STEP_DEADLETTERED)
            s->attention = true;
    s->updated_ms = now;
    return true;
}

bool saga_abort(struct saga *s, const char *reason, int64_t now, struct saga_actions *out)
{
    if (saga_finished(s))
        return false;
    char why[SAGA_ERROR_MAX];
    snprintf(why, sizeof why, SAGA_ABORTED "%.80s", reason && *reason ? reason : "by an operator");
    /* A cancel under way ends as an abort: FAILED, with this reason. */
    s->cancelling = false;
    s->updated_ms = now;
    set_text(&s->reason, "%s", why);
    start_compensating(s, why, now, out);
    return true;
}

bool saga_cancel(struct saga *s, const char *reason, int64_t now, struct saga_actions *out)
{
    /* Shipping running or done cannot be undone; held or waiting for a
     * retry, it has not shipped anything yet. */
    enum step_state ship = s->steps[SAGA_DISPATCH].state;
    if (saga_finished(s) || s->cancelling || ship == STEP_RUNNING || ship == STEP_OK ||
        ship == STEP_FAILED)
        return false;
    s->cancelling = true;
    s->updated_ms = now;
    /* The bare reason, as CANCEL without a saga notes it: the saga's state
     * and the order's status already say it was cancelled. */
    char why[SAGA_ERROR_MAX];
    snprintf(why, sizeof why, "%.80s", reason ? reason : "");
    if (s->state == SAGA_COMPENSATING)
        set_text(&s->reason, "%s", why);
    start_compensating(s, why, now, out);
    return true;
}
