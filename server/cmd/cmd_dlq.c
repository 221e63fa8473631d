/* The dead-letter queue: DLQ LIST | SHOW | REPLAY | PURGE. Every move out
 * of the DLQ is announced on channel `dlq`, as every move in is. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "channels/bus.h"
#include "channels/channel.h"
#include "command.h"
#include "lib/clock.h"
#include "channels/dlq.h"
#include "saga/engine.h"
#include "lib/kvargs.h"
#include "xalloc.h"

#define DLQ_LIMIT_DEFAULT 100
#define DLQ_LIMIT_MAX 1000

static struct reply *entry_record(struct clock *clk, const struct dlq_entry *e,
                                  bool with_payload)
{
    struct reply *r = reply_record();
    reply_record_int(r, "id", (long long)e->id);
    reply_record_str(r, "channel", e->channel);
    reply_record_str(r, "group", e->group);
    reply_record_int(r, "offset", (long long)e->offset);
    reply_record_str(r, "reason", e->reason);
    reply_record_int(r, "deliveries", e->deliveries);
    reply_record_int(r, "replays", e->replays);
    cmd_record_time(clk, r, "published", e->msg_time_ms);
    cmd_record_time(clk, r, "first_delivery", e->first_ms);
    cmd_record_time(clk, r, "last_delivery", e->last_ms);
    cmd_record_time(clk, r, "dead_since", e->dead_ms);
    if (with_payload)
        reply_record_add(r, "payload", reply_string(e->payload, e->len));
    return r;
}

/* An entry id, or ALL (returns 0). */
static int parse_target(const struct arg *a, uint64_t *id, struct reply **err)
{
    if (strcasecmp(a->ptr, "ALL") == 0) {
        *id = 0;
        return 0;
    }
    if (kv_parse_uint(a->ptr, 1, UINT64_MAX, id) != 0 || strlen(a->ptr) != a->len) {
        char shown[64];
        kv_printable(shown, sizeof shown, a->ptr, a->len);
        *err = reply_error(ERR_BADARG, "expected a dead letter id or ALL, got '%s'", shown);
        return -1;
    }
    return 0;
}

/* Entries a REPLAY/PURGE acts on, oldest first: ids are copied out because
 * acting on one removes it. Returns the count, or -1 with *err set. */
static ssize_t select_entries(struct cmd_ctx *ctx, const struct request *req, bool with_limit,
                              uint64_t **ids, struct reply **err)
{
    const struct dlq *q = bus_dlq(ctx->env->bus);
    uint64_t id, limit = UINT64_MAX;
    if (parse_target(&req->argv[2], &id, err) != 0)
        return -1;
    struct kvfield f[] = {{"channel", false, NULL, 0}, {"limit", false, NULL, 0}};
    if ((*err = kvargs_parse(req, 3, f, with_limit ? 2 : 1)))
        return -1;
    if (f[1].val && kv_parse_uint(f[1].val, 1, UINT64_MAX, &limit) != 0) {
        *err = reply_error(ERR_BADARG, "limit must be a positive integer");
        return -1;
    }
    if (id != 0) {
        const struct dlq_entry *e = dlq_get(q, id);
        if (e == NULL || (f[0].val && strcmp(e->channel, f[0].val) != 0)) {
            *err = reply_error(ERR_NOTFOUND, "dead letter %llu does not exist",
                               (unsigned long long)id);
            return -1;
        }
        *ids = xmalloc(sizeof **ids);
        (*ids)[0] = id;
        return 1;
    }
    size_t n = 0, total = dlq_count(q);
    *ids = xmalloc((total ? total : 1) * sizeof **ids);
    for (size_t i = 0; i < total && n < limit; i++) {
        const struct dlq_entry *e = dlq_at(q, i);
        if (f[0].val == NULL || strcmp(e->channel, f[0].val) == 0)
            (*ids)[n++] = e->id;
    }
    return (ssize_t)n;
}

static struct reply *dlq_list(struct cmd_ctx *ctx, const struct request *req)
{
    const struct dlq *q = bus_dlq(ctx->env->bus);
    struct kvfield f[] = {{"channel", false, NULL, 0}, {"limit", false, NULL, 0}};
    struct reply *err = kvargs_parse(req, 2, f, 2);
    if (err)
        return err;
    uint64_t limit = DLQ_LIMIT_DEFAULT;
    if (f[1].val && kv_parse_uint(f[1].val, 1, DLQ_LIMIT_MAX, &limit) != 0)
        return reply_error(ERR_BADARG, "limit must be an integer from 1 to %d", DLQ_LIMIT_MAX);
    struct reply *list = reply_list();
    for (size_t i = 0; i < dlq_count(q) && list->n < limit; i++) {
        const struct dlq_entry *e = dlq_at(q, i);
        if (f[0].val == NULL || strcmp(e->channel, f[0].val) == 0)
            reply_list_add(list, entry_record(ctx->env->clk, e, false));
    }
    return list;
}

static struct reply *dlq_show(struct cmd_ctx *ctx, const struct request *req)
{
    uint64_t id;
    struct reply *err;
    if (req->argc != 3)
        return reply_error(ERR_ERR, "wrong number of arguments for 'DLQ SHOW'");
    if (parse_target(&req->argv[2], &id, &err) != 0)
        return err;
    const struct dlq_entry *e = id ? dlq_get(bus_dlq(ctx->env->bus), id) : NULL;
    if (e == NULL)
        return reply_error(ERR_NOTFOUND, "dead letter %s does not exist", req->argv[2].ptr);
    return entry_record(ctx->env->clk, e, true);
}

static struct reply *dlq_replay(struct cmd_ctx *ctx, const struct request *req)
{
    struct cmd_env *env = ctx->env;
    uint64_t *ids = NULL;
    struct reply *err;
    ssize_t n = select_entries(ctx, req, true, &ids, &err);
    if (n < 0)
        return err;
    long long replayed = 0;
    for (ssize_t i = 0; i < n; i++) {
        /* Announced before it goes: the entry is what the event shows. */
        const struct dlq_entry *e = dlq_get(bus_dlq(env->bus), ids[i]);
        if (chreg_find(bus_channels(env->bus), e->channel) == NULL)
            continue;  /* its channel is gone: the entry stays */
        bus_dlq_event(env->bus, "replayed", e);
        /* A saga step's message: its saga resumes at that step. */
        engine_on_replay(env->engine, e);
        if (chreg_dlq_replay(bus_channels(env->bus), ids[i], env->clk->now_ms) == 0)
            replayed++;
    }
    free(ids);
    bus_rearm(env->bus);
    return reply_integer(replayed);
}

static struct reply *dlq_purge(struct cmd_ctx *ctx, const struct request *req)
{
    struct cmd_env *env = ctx->env;
    uint64_t *ids = NULL;
    struct reply *err;
    ssize_t n = select_entries(ctx, req, false, &ids, &err);
    if (n < 0)
        return err;
    for (ssize_t i = 0; i < n; i++) {
        bus_dlq_event(env->bus, "purged", dlq_get(bus_dlq(env->bus), ids[i]));
        chreg_dlq_purge(bus_channels(env->bus), ids[i]);
    }
    free(ids);
    return reply_integer(n);
}

/* DLQ LIST [channel=] [limit=] | SHOW <id> | REPLAY <id>|ALL [channel=] [limit=]
 * | PURGE <id>|ALL [channel=] */
struct reply *cmd_dlq(struct cmd_ctx *ctx, const struct request *req)
{
    const char *sub = req->argv[1].ptr;
    if (strcasecmp(sub, "LIST") == 0)
        return dlq_list(ctx, req);
    if (req->argc < 3)
        return reply_error(ERR_ERR, "wrong number of arguments for 'DLQ %s'",
                           strcasecmp(sub, "SHOW") == 0     ? "SHOW"
                           : strcasecmp(sub, "REPLAY") == 0 ? "REPLAY"
                           : strcasecmp(sub, "PURGE") == 0  ? "PURGE"
                                                            : "...");
    if (strcasecmp(sub, "SHOW") == 0)
        return dlq_show(ctx, req);
    if (strcasecmp(sub, "REPLAY") == 0)
        return dlq_replay(ctx, req);
    if (strcasecmp(sub, "PURGE") == 0)
        return dlq_purge(ctx, req);
    return reply_error(ERR_BADARG, "DLQ takes LIST, SHOW, REPLAY or PURGE");
}
