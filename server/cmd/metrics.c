/* Metrics (see metrics.h). */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orders/book.h"
#include "reply.h"
#include "xalloc.h"

static const char *const err_names[ERRC_COUNT] = {
    [ERRC_ERR] = ERR_ERR,       [ERRC_BADARG] = ERR_BADARG, [ERRC_NOTFOUND] = ERR_NOTFOUND,
    [ERRC_STATE] = ERR_STATE,   [ERRC_CONFLICT] = ERR_CONFLICT, [ERRC_LIMIT] = ERR_LIMIT,
    [ERRC_STORE] = ERR_STORE,   [ERRC_UNAVAILABLE] = ERR_UNAVAILABLE,
    [ERRC_READONLY] = ERR_READONLY, [ERRC_OOM] = ERR_OOM, [ERRC_OTHER] = "OTHER",
};

const char *err_class_name(enum err_class c)
{
    return (unsigned)c < ERRC_COUNT ? err_names[c] : "?";
}

struct metrics *metrics_new(size_t ncommands)
{
    struct metrics *m = xcalloc(1, sizeof *m);
    m->ncommands = ncommands;
    m->commands = xcalloc(ncommands, sizeof *m->commands);
    return m;
}

void metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    free(m->commands);
    free(m);
}

uint64_t metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void metrics_command(struct metrics *m, size_t index, uint64_t us, bool error)
{
    struct command_metrics *cm = index < m->ncommands ? &m->commands[index] : &m->unknown;
    cm->calls++;
    if (error)
        cm->errors++;
    hist_record(&cm->latency_us, us);
}

void metrics_error(struct metrics *m, const char *code)
{
    for (int i = 0; i < ERRC_OTHER; i++) {
        if (strcmp(code, err_names[i]) == 0) {
            m->errors[i]++;
            if (i == ERRC_LIMIT)
                m->limit_hits++;
            return;
        }
    }
    m->errors[ERRC_OTHER]++;
}

void metrics_step(struct metrics *m, enum saga_step st, enum step_outcome o, uint64_t us)
{
    hist_record(&m->step_latency_us[st], us);
    if ((unsigned)o < 3)
        m->step_answers[st][o]++;
}

void metrics_step_timeout(struct metrics *m, enum saga_step st)
{
    m->step_timeouts[st]++;
}

void metrics_on_order(void *metrics, const struct order_event *ev, const struct order *o,
                      int from)
{
    struct metrics *m = metrics;
    (void)from;
    if (ev->type != ORDER_EV_TRANSITION || !order_status_terminal(o->status))
        return;
    int64_t ms = o->updated_ms - o->created_ms;
    hist_record(&m->completion_ms, ms > 0 ? (uint64_t)ms : 0);
    m->finished[o->status]++;
}

void metrics_loop_lag(struct metrics *m, int64_t lag_ms)
{
    if (lag_ms < 0)
        lag_ms = 0;
    hist_record(&m->loop_lag_ms, (uint64_t)lag_ms);
    m->loop_lag_last_ms = lag_ms;
}
