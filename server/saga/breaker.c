/* Circuit breaker (see breaker.h). */
#include "breaker.h"

#include <string.h>

void breaker_config_default(struct breaker_config *c)
{
    c->failure_rate_pct = 50;
    c->window = 20;
    c->min_calls = 10;
    c->open_ms = 5000;
    c->trial_calls = 3;
}

void breaker_init(struct breaker *b, const struct breaker_config *cfg)
{
    memset(b, 0, sizeof *b);
    b->cfg = *cfg;
    if (b->cfg.window == 0 || b->cfg.window > BREAKER_WINDOW_MAX)
        b->cfg.window = BREAKER_WINDOW_MAX;
    if (b->cfg.min_calls > b->cfg.window)
        b->cfg.min_calls = b->cfg.window;
    if (b->cfg.trial_calls == 0)
        b->cfg.trial_calls = 1;
}

static void reset_window(struct breaker *b)
{
    b->head = b->count = b->failures = 0;
}

static void go(struct breaker *b, enum breaker_state s, int64_t now)
{
    b->state = s;
    if (s == BREAKER_OPEN) {
        b->opened_ms = now;
        b->opened_total++;
    }
    if (s == BREAKER_HALF_OPEN)
        b->trials_started = b->trials_ok = 0;
    if (s == BREAKER_CLOSED)
        reset_window(b);
}

bool breaker_allow(struct breaker *b, int64_t now)
{
    if (b->state == BREAKER_OPEN && now - b->opened_ms >= b->cfg.open_ms)
        go(b, BREAKER_HALF_OPEN, now);
    switch (b->state) {
    case BREAKER_CLOSED:
        return true;
    case BREAKER_OPEN:
        return false;
    case BREAKER_HALF_OPEN:
        if (b->trials_started >= b->cfg.trial_calls)
            return false;
        b->trials_started++;
        return true;
    }
    return false;
}

bool breaker_ready(const struct breaker *b, int64_t now)
{
    switch (b->state) {
    case BREAKER_CLOSED:
        return true;
    case BREAKER_OPEN:
        /* Half-open from then on: its trial slots are all free. */
        return now - b->opened_ms >= b->cfg.open_ms;
    case BREAKER_HALF_OPEN:
        return b->trials_started < b->cfg.trial_calls;
    }
    return false;
}

bool breaker_record(struct breaker *b, bool failed, int64_t now)
{
    enum breaker_state before = b->state;
    if (b->state == BREAKER_HALF_OPEN) {
        if (failed)
            go(b, BREAKER_OPEN, now);
        else if (++b->trials_ok >= b->cfg.trial_calls)
            go(b, BREAKER_CLOSED, now);
        return b->state != before;
    }
    if (b->state == BREAKER_OPEN)
        return false;  /* a late outcome of a call from before it opened */
    /* CLOSED: slide the window. */
    if (b->count == b->cfg.window) {
        if (b->outcomes[b->head])
            b->failures--;
        b->count--;
    }
    b->outcomes[b->head] = failed;
    b->head = (b->head + 1) % b->cfg.window;
    b->count++;
    if (failed)
        b->failures++;
    if (b->count >= b->cfg.min_calls &&
        b->failures * 100 >= b->cfg.failure_rate_pct * b->count)
        go(b, BREAKER_OPEN, now);
    return b->state != before;
}

int64_t breaker_retry_at(const struct breaker *b)
{
    return b->opened_ms + b->cfg.open_ms;
}

const char *breaker_state_name(enum breaker_state s)
{
    switch (s) {
    case BREAKER_CLOSED: return "CLOSED";
    case BREAKER_OPEN: return "OPEN";
    case BREAKER_HALF_OPEN: return "HALF_OPEN";
    }
    return "?";
}

unsigned breaker_failure_pct(const struct breaker *b)
{
    return b->count ? b->failures * 100 / b->count : 0;
}
