/* Saga commands: STEP (a participant's answer), SAGA, SAGAS, POLICY,
 * BREAKERS. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channels/bus.h"
#include "channels/channel.h"
#include "cmd_load.h"
#include "command.h"
#include "orders/book.h"
#include "lib/clock.h"
#include "saga/engine.h"
#include "lib/kvargs.h"
#include "xalloc.h"

#define SAGAS_LIMIT_DEFAULT 100
#define SAGAS_LIMIT_MAX 1000

static struct reply *text_or_nil(const char *s)
{
    return s ? reply_cstring(s) : reply_nil();
}

/* STEP <ch> group=<g> <id> ok|fail|retry|progress [reason=<text>]
 *      [tracking=<number>] [location=<text>] [eta=<ms from now>] */
struct reply *cmd_step(struct cmd_ctx *ctx, const struct request *req)
{
    struct cmd_env *env = ctx->env;
    const struct arg *cha = &req->argv[1];
    struct channel *ch = memchr(cha->ptr, '\0', cha->len) ? NULL
                                                           : chreg_find(bus_channels(env->bus), cha->ptr);
    if (ch == NULL || saga_step_parse(cha->ptr) < 0) {
        char shown[96];
        kv_printable(shown, sizeof shown, cha->ptr, cha->len);
        return reply_error(ERR_BADARG, "%s is not a saga step channel (HELP STEP)", shown);
    }
    const char *group = NULL;
    uint64_t id = 0;
    int outcome = -1;
    struct kvfield f[] = {{"reason", false, NULL, 0}, {"tracking", false, NULL, 0},
                          {"location", false, NULL, 0}, {"eta", false, NULL, 0}};
    struct request kv = {0, xmalloc(req->argc * sizeof *kv.argv), req->kind};
    struct reply *err = NULL;
    char shown[96];
    for (size_t i = 2; i < req->argc && err == NULL; i++) {
        const struct arg *a = &req->argv[i];
        if (strncasecmp(a->ptr, "group=", 6) == 0)
            group = a->ptr + 6;
        else if (memchr(a->ptr, '=', a->len))
            kv.argv[kv.argc++] = *a;
        else if (id == 0 && kv_parse_uint(a->ptr, 1, UINT64_MAX, &id) == 0)
            ;
        else if (outcome < 0 && strcasecmp(a->ptr, "ok") == 0)
            outcome = OUTCOME_OK;
        else if (outcome < 0 && strcasecmp(a->ptr, "fail") == 0)
            outcome = OUTCOME_FAIL;
        else if (outcome < 0 && strcasecmp(a->ptr, "retry") == 0)
            outcome = OUTCOME_RETRY;
        else if (outcome < 0 && strcasecmp(a->ptr, "progress") == 0)
            outcome = 3;
        else {
            kv_printable(shown, sizeof shown, a->ptr, a->len);
            err = reply_error(ERR_BADARG, "unexpected '%s' (STEP <ch> group=<g> <id> "
                                          "ok|fail|retry|progress [reason=...])", shown);
        }
    }
    if (err == NULL)
        err = kvargs_parse(&kv, 0, f, 4);
    free(kv.argv);
    static const char *const texts[] = {"reason", "tracking", "location"};
    for (size_t i = 0; i < 3 && err == NULL; i++)
        err = cmd_check_text(ctx, texts[i], f[i].val, f[i].len);
    if (err)
        return err;
    if (group == NULL || id == 0 || outcome < 0)
        return reply_error(ERR_BADARG, "STEP needs group=<g>, a message id and an outcome");
    struct chan_group *g = chan_group(ch, group, false);
    if (g == NULL) {
        kv_printable(shown, sizeof shown, group, strlen(group));
        return reply_error(ERR_NOTFOUND, "group %s does not exist on channel %s", shown,
                           cha->ptr);
    }
    uint64_t eta = 0;
    if (f[3].val && kv_parse_uint(f[3].val, 0, 86400000ULL * 365, &eta) != 0)
        return reply_error(ERR_BADARG, "eta must be milliseconds from now");
    struct step_extra extra = {f[1].val, f[2].val, eta ? env->clk->wall_ms + (int64_t)eta : 0};
    if (outcome == 3) {
        const char *payload;
        size_t len;
        if (!group_peek(g, id, &payload, &len))
            return reply_error(ERR_NOTFOUND, "message %llu is not in flight in group %s",
                               (unsigned long long)id, group);
        return reply_integer(engine_progress(env->engine, (enum saga_step)saga_step_parse(cha->ptr),
                                             id, engine_payload_order(payload, len),
                                             extra.location, extra.eta_ms));
    }
    switch (engine_step(env->engine, ch, g, id, (enum step_outcome)outcome, f[0].val, &extra)) {
    case STEP_ACCEPTED:
        return reply_integer(1);
    case STEP_STALE:
        return reply_integer(0);
    default:
        return reply_error(ERR_NOTFOUND, "message %llu is not in flight in group %s",
                           (unsigned long long)id, group);
    }
}

/* A saga's summary: itself, and the step it is at (the first one not
 * settled, forward or back) with its attempts, last error and next retry. */
static struct reply *saga_record(struct engine *e, struct clock *clk, const struct saga *s)
{
    struct reply *r = reply_record();
    reply_record_int(r, "order", (long long)s->order);
    reply_record_str(r, "state", saga_state_name(s));
    reply_record_add(r, "reason", text_or_nil(s->reason));
    cmd_record_time(clk, r, "created", s->created_ms);
    cmd_record_time(clk, r, "updated", s->updated_ms);
    int at = -1;
    for (int i = 0; i < SAGA_STEP_COUNT && at < 0; i++) {
        int st = s->steps[i].state;
        if (st == STEP_RUNNING || st == STEP_WAITING || st == STEP_DEADLETTERED)
            at = i;
    }
    const struct saga_step_info *info = at >= 0 ? &s->steps[at] : NULL;
    reply_record_str(r, "step", info ? saga_step_name((enum saga_step)at) : "-");
    reply_record_int(r, "attempts", info ? info->attempts : 0);
    reply_record_int(r, "max_attempts",
                     info ? engine_policy(e, (enum saga_step)at)->max_attempts : 0);
    reply_record_add(r, "error", text_or_nil(info ? info->error : NULL));
    cmd_record_time(clk, r, "next_retry", info && info->state == STEP_WAITING ? info->next_retry_ms : 0);
    return r;
}

static struct reply *step_record(struct clock *clk, const struct saga *s, enum saga_step i)
{
    const struct saga_step_info *info = &s->steps[i];
    struct reply *r = reply_record();
    reply_record_str(r, "step", saga_step_name(i));
    reply_record_str(r, "participant", saga_step_participant(i));
    reply_record_str(r, "state", step_state_name(info->state));
    reply_record_int(r, "attempts", info->attempts);
    reply_record_add(r, "error", text_or_nil(info->error));
    cmd_record_time(clk, r, "next_retry", info->state == STEP_WAITING ? info->next_retry_ms : 0);
    cmd_record_time(clk, r, "start", info->started_ms);
    cmd_record_time(clk, r, "end", info->ended_ms);
    reply_record_int(r, "message", (long long)info->msg);
    return r;
}

/* SAGA <id>: the saga, then one record per step. */
/* SAGA ABORT <id> [reason=<text>] */
static struct reply *saga_abort_cmd(struct cmd_ctx *ctx, const struct request *req)
{
    uint64_t id;
    if (req->argc < 3)
        return reply_error(ERR_ERR, "wrong number of arguments for 'SAGA ABORT'");
    if (kv_parse_uint(req->argv[2].ptr, 1, UINT64_MAX, &id) != 0)
        return reply_error(ERR_BADARG, "order id must be a positive integer");
    struct kvfield f[] = {{"reason", false, NULL, 0}};
    struct reply *err = kvargs_parse(req, 3, f, 1);
    if (err)
        return err;
    if (f[0].val && f[0].len > CMD_NOTE_MAX)
        return reply_error(ERR_BADARG, "reason is longer than %d bytes", CMD_NOTE_MAX);
    if ((err = cmd_check_text(ctx, "reason", f[0].val, f[0].len)))
        return err;
    bool loading;
    if (cmd_order(ctx, req, id, &loading) == NULL && loading)
        return NULL;
    switch (engine_abort(ctx->env->engine, id, f[0].val)) {
    case CANCEL_NO_SAGA:
        return reply_error(ERR_NOTFOUND, "order %llu has no saga", (unsigned long long)id);
    case CANCEL_TOO_LATE:
        return reply_error(ERR_STATE, "order %llu's saga has ended (%s)", (unsigned long long)id,
                           saga_state_name(engine_saga(ctx->env->engine, id)));
    case CANCEL_ALREADY:
        return reply_error(ERR_STATE, "order %llu's saga is already being aborted",
                           (unsigned long long)id);
    default:
        return saga_record(ctx->env->engine, ctx->env->clk, engine_saga(ctx->env->engine, id));
    }
}

struct reply *cmd_saga(struct cmd_ctx *ctx, const struct request *req)
{
    uint64_t id;
    if (strcasecmp(req->argv[1].ptr, "ABORT") == 0)
        return saga_abort_cmd(ctx, req);
    if (req->argc != 2)
        return reply_error(ERR_ERR, "wrong number of arguments for 'SAGA'");
    if (kv_parse_uint(req->argv[1].ptr, 1, UINT64_MAX, &id) != 0)
        return reply_error(ERR_BADARG, "order id must be a positive integer");
    bool loading;
    if (cmd_order(ctx, req, id, &loading) == NULL && loading)
        return NULL;
    const struct saga *s = engine_saga(ctx->env->engine, id);
    if (s == NULL)
        return reply_error(ERR_NOTFOUND, "order %llu has no saga", (unsigned long long)id);
    struct reply *list = reply_list();
    reply_list_add(list, saga_record(ctx->env->engine, ctx->env->clk, s));
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        reply_list_add(list, step_record(ctx->env->clk, s, (enum saga_step)i));
    return list;
}

/* SAGAS [state=<s>] [limit=<n>]: without state=, those in flight. */
struct reply *cmd_sagas(struct cmd_ctx *ctx, const struct request *req)
{
    struct kvfield f[] = {{"state", false, NULL, 0}, {"limit", false, NULL, 0}};
    struct reply *err = kvargs_parse(req, 1, f, 2);
    if (err)
        return err;
    uint64_t limit = SAGAS_LIMIT_DEFAULT;
    if (f[1].val && kv_parse_uint(f[1].val, 1, SAGAS_LIMIT_MAX, &limit) != 0)
        return reply_error(ERR_BADARG, "limit must be an integer from 1 to %d", SAGAS_LIMIT_MAX);
    static const char *const states[] = {"running", "dead-lettered", "compensating",
                                         "cancelling", "done", "failed", "cancelled"};
    if (f[0].val) {
        bool known = false;
        for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
            known = known || strcmp(f[0].val, states[i]) == 0;
        if (!known)
            return reply_error(ERR_BADARG, "state must be one of running dead-lettered "
                                           "compensating cancelling done failed cancelled");
    }
    /* Finished sagas are kept packed: only a finished state unpacks them. */
    bool finished = f[0].val && (strcmp(f[0].val, "done") == 0 ||
                                 strcmp(f[0].val, "failed") == 0 ||
                                 strcmp(f[0].val, "cancelled") == 0);
    struct reply *list = reply_list();
    uint64_t it = 0;
    const struct saga *s;
    while (list->n < limit && (s = engine_saga_next(ctx->env->engine, &it, finished))) {
        if (f[0].val ? strcmp(saga_state_name(s), f[0].val) != 0 : saga_finished(s))
            continue;
        reply_list_add(list, saga_record(ctx->env->engine, ctx->env->clk, s));
    }
    return list;
}

/* POLICY <step> [base=<ms>] [cap=<ms>] [attempts=<n>] [timeout=<ms>] */
struct reply *cmd_policy(struct cmd_ctx *ctx, const struct request *req)
{
    int st = saga_step_parse(req->argv[1].ptr);
    if (st < 0 || memchr(req->argv[1].ptr, '\0', req->argv[1].len)) {
        char shown[96];
        kv_printable(shown, sizeof shown, req->argv[1].ptr, req->argv[1].len);
        return reply_error(ERR_BADARG, "%s is not a saga step", shown);
    }
    struct kvfield f[] = {{"base", false, NULL, 0}, {"cap", false, NULL, 0},
                          {"attempts", false, NULL, 0}, {"timeout", false, NULL, 0}};
    struct reply *err = kvargs_parse(req, 2, f, 4);
    if (err)
        return err;
    struct saga_policy p = *engine_policy(ctx->env->engine, (enum saga_step)st);
    uint64_t v;
    const uint64_t day = 86400000;
    if (f[0].val) {
        if (kv_parse_uint(f[0].val, 0, day, &v) != 0)
            return reply_error(ERR_BADARG, "base must be milliseconds, 0 to 86400000");
        p.base_ms = (int64_t)v;
    }
    if (f[1].val) {
        if (kv_parse_uint(f[1].val, 0, day, &v) != 0)
            return reply_error(ERR_BADARG, "cap must be milliseconds, 0 to 86400000");
        p.cap_ms = (int64_t)v;
    }
    if (f[2].val) {
        if (kv_parse_uint(f[2].val, 1, 1000, &v) != 0)
            return reply_error(ERR_BADARG, "attempts must be an integer from 1 to 1000");
        p.max_attempts = (uint32_t)v;
    }
    if (f[3].val) {
        if (kv_parse_uint(f[3].val, 1, day, &v) != 0)
            return reply_error(ERR_BADARG, "timeout must be milliseconds, 1 to 86400000");
        p.timeout_ms = (int64_t)v;
    }
    /* Backoff doubles from base up to cap: a cap below base, both given,
     * says two things at once; a base alone over the cap raises it. */
    if (p.cap_ms < p.base_ms) {
        if (f[1].val)
            return reply_error(ERR_BADARG, "cap (%lld ms) must be at least base (%lld ms)",
                               (long long)p.cap_ms, (long long)p.base_ms);
        p.cap_ms = p.base_ms;
    }
    *engine_policy(ctx->env->engine, (enum saga_step)st) = p;
    struct reply *r = reply_record();
    reply_record_str(r, "step", saga_step_name(st));
    reply_record_int(r, "base", p.base_ms);
    reply_record_int(r, "cap", p.cap_ms);
    reply_record_int(r, "attempts", p.max_attempts);
    reply_record_int(r, "timeout", p.timeout_ms);
    return r;
}

/* BREAKERS: each participant's circuit breaker. */
struct reply *cmd_breakers(struct cmd_ctx *ctx, const struct request *req)
{
    (void)req;
    struct reply *list = reply_list();
    for (int p = 0; p < PART_COUNT; p++) {
        const struct breaker *b = engine_breaker(ctx->env->engine, (enum participant)p);
        struct reply *r = reply_record();
        reply_record_str(r, "participant", participant_name((enum participant)p));
        reply_record_str(r, "state", breaker_state_name(b->state));
        reply_record_int(r, "failure_rate", breaker_failure_pct(b));
        reply_record_int(r, "calls", b->count);
        reply_record_int(r, "opened", (long long)b->opened_total);
        cmd_record_time(ctx->env->clk, r, "retry_at", b->state == BREAKER_OPEN ? breaker_retry_at(b) : 0);
        reply_list_add(list, r);
    }
    return list;
}
