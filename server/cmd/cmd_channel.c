/* Durable channel commands: CHANNEL CREATE|INFO, READ, CONSUME (blocking
 * too), ACK, NACK, GROUPS, PENDING, CHANNELS. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channels/bus.h"
#include "channels/channel.h"
#include "command.h"
#include "client.h"
#include "lib/clock.h"
#include "lib/kvargs.h"
#include "utf8.h"
#include "channels/pubsub.h"
#include "xalloc.h"

#define READ_COUNT_DEFAULT 100
#define READ_COUNT_MAX 1000
#define CONSUME_COUNT_MAX 1000

/* Channel, group and consumer names: 1..BUS_NAME_MAX bytes of UTF-8, no
 * blanks or control characters, so they read well in records and logs and
 * are valid Prometheus label values. */
static struct reply *check_name(const char *what, const char *s, size_t len)
{
    if (len == 0)
        return reply_error(ERR_BADARG, "%s must not be empty", what);
    if (len > BUS_NAME_MAX)
        return reply_error(ERR_BADARG, "%s is longer than %d bytes", what, BUS_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return reply_error(ERR_BADARG, "%s must not contain spaces or control characters",
                               what);
    if (!utf8_valid(s, len))
        return reply_error(ERR_BADARG, "%s must be UTF-8", what);
    return NULL;
}

/* The declared channel named by argv[1], or NULL with *err set. */
static struct channel *find_channel(struct cmd_ctx *ctx, const struct request *req,
                                    struct reply **err)
{
    const struct arg *a = &req->argv[1];
    if ((*err = check_name("channel", a->ptr, a->len)))
        return NULL;
    struct channel *ch = chreg_find(bus_channels(ctx->env->bus), a->ptr);
    if (ch == NULL)
        *err = reply_error(ERR_NOTFOUND, "channel %s is not durable (CHANNEL CREATE it first)",
                           a->ptr);
    return ch;
}

static int parse_u64(const struct kvfield *f, uint64_t min, uint64_t max, uint64_t dflt,
                     uint64_t *out)
{
    if (f->val == NULL) {
        *out = dflt;
        return 0;
    }
    return kv_parse_uint(f->val, min, max, out);
}

/* CHANNEL CREATE <ch> [maxlen=] [maxage=] [ackwait=] [maxdeliver=] [backoff=]
 * [backoffmax=] [maxpending=]  |  CHANNEL INFO <ch> */
struct reply *cmd_channel(struct cmd_ctx *ctx, const struct request *req)
{
    const struct arg *sub = &req->argv[1];
    struct request rest = {req->argc - 1, req->argv + 1, req->kind};
    if (strcasecmp(sub->ptr, "INFO") == 0) {
        struct reply *err;
        if (rest.argc != 2)
            return reply_error(ERR_ERR, "wrong number of arguments for 'CHANNEL INFO'");
        struct channel *ch = find_channel(ctx, &rest, &err);
        if (ch == NULL)
            return err;
        const struct chan_settings *s = chan_settings(ch);
        struct reply *r = reply_record();
        reply_record_str(r, "channel", chan_name(ch));
        reply_record_int(r, "length", (long long)chan_length(ch));
        reply_record_int(r, "first", (long long)chan_first_offset(ch));
        reply_record_int(r, "last", (long long)chan_last_offset(ch));
        reply_record_int(r, "groups", (long long)chan_group_count(ch));
        reply_record_int(r, "maxlen", (long long)s->maxlen);
        reply_record_int(r, "maxage", (long long)(s->maxage_ms / 1000));
        reply_record_int(r, "ackwait", (long long)s->ackwait_ms);
        reply_record_int(r, "maxdeliver", (long long)s->maxdeliver);
        reply_record_int(r, "backoff", (long long)s->backoff_ms);
        reply_record_int(r, "backoffmax", (long long)s->backoff_max_ms);
        reply_record_int(r, "maxpending", (long long)s->maxpending);
        reply_record_int(r, "maxbytes", (long long)s->maxbytes);
        reply_record_int(r, "bytes", (long long)chan_bytes(ch));
        return r;
    }
    if (strcasecmp(sub->ptr, "CREATE") != 0)
        return reply_error(ERR_BADARG, "CHANNEL takes CREATE or INFO");
    if (rest.argc < 2)
        return reply_error(ERR_ERR, "wrong number of arguments for 'CHANNEL CREATE'");
    struct reply *err = check_name("channel", rest.argv[1].ptr, rest.argv[1].len);
    if (err)
        return err;
    if (rest.argv[1].len > BUS_DURABLE_NAME_MAX)
        return reply_error(ERR_BADARG,
                           "a durable channel's name is at most %d bytes (its dead letters "
                           "go to <name>" BUS_DLT_SUFFIX ")",
                           BUS_DURABLE_NAME_MAX);
    enum { F_MAXLEN, F_MAXAGE, F_ACKWAIT, F_MAXDELIVER, F_BACKOFF, F_BACKOFFMAX,
           F_MAXPENDING, F_MAXBYTES, F_COUNT };
    struct kvfield f[F_COUNT] = {
        [F_MAXLEN] = {"maxlen", false, NULL, 0},
        [F_MAXAGE] = {"maxage", false, NULL, 0},
        [F_ACKWAIT] = {"ackwait", false, NULL, 0},
        [F_MAXDELIVER] = {"maxdeliver", false, NULL, 0},
        [F_BACKOFF] = {"backoff", false, NULL, 0},
        [F_BACKOFFMAX] = {"backoffmax", false, NULL, 0},
        [F_MAXPENDING] = {"maxpending", false, NULL, 0},
        [F_MAXBYTES] = {"maxbytes", false, NULL, 0},
    };
    if ((err = kvargs_parse(&rest, 2, f, F_COUNT)))
        return err;
    struct chan_settings s;
    chan_settings_default(&s);
    uint64_t v;
    const uint64_t day_ms = 86400000ULL;
    if (parse_u64(&f[F_MAXLEN], 0, 100000000, s.maxlen, &s.maxlen) != 0)
        return reply_error(ERR_BADARG, "maxlen must be an integer from 0 (no limit) to 100000000");
    if (parse_u64(&f[F_MAXAGE], 0, 365 * 86400ULL, 0, &v) != 0)
        return reply_error(ERR_BADARG, "maxage must be seconds, from 0 (no limit) to 31536000");
    s.maxage_ms = (int64_t)v * 1000;
    if (parse_u64(&f[F_ACKWAIT], 1, day_ms, (uint64_t)s.ackwait_ms, &v) != 0)
        return reply_error(ERR_BADARG, "ackwait must be milliseconds, from 1 to 86400000");
    s.ackwait_ms = (int64_t)v;
    if (parse_u64(&f[F_MAXDELIVER], 1, 1000, s.maxdeliver, &v) != 0)
        return reply_error(ERR_BADARG, "maxdeliver must be an integer from 1 to 1000");
    s.maxdeliver = (uint32_t)v;
    if (parse_u64(&f[F_BACKOFF], 0, day_ms, (uint64_t)s.backoff_ms, &v) != 0)
        return reply_error(ERR_BADARG, "backoff must be milliseconds, from 0 to 86400000");
    s.backoff_ms = (int64_t)v;
    if (parse_u64(&f[F_BACKOFFMAX], 0, day_ms, (uint64_t)s.backoff_max_ms, &v) != 0)
        return reply_error(ERR_BADARG, "backoffmax must be milliseconds, from 0 to 86400000");
    s.backoff_max_ms = (int64_t)v;
    /* Backoff doubles up to backoffmax: given both, backoffmax below
     * backoff is a contradiction; backoff alone over the default raises it. */
    if (s.backoff_max_ms < s.backoff_ms) {
        if (f[F_BACKOFFMAX].val)
            return reply_error(ERR_BADARG, "backoffmax (%lld ms) must be at least backoff "
                                           "(%lld ms)",
                               (long long)s.backoff_max_ms, (long long)s.backoff_ms);
        s.backoff_max_ms = s.backoff_ms;
    }
    if (parse_u64(&f[F_MAXPENDING], 1, 10000000, s.maxpending, &s.maxpending) != 0)
        return reply_error(ERR_BADARG, "maxpending must be an integer from 1 to 10000000");
    if (parse_u64(&f[F_MAXBYTES], 0, 1ULL << 40, s.maxbytes, &s.maxbytes) != 0 ||
        (s.maxbytes > 0 && s.maxbytes < CHAN_MAXBYTES_MIN))
        return reply_error(ERR_BADARG, "maxbytes must be 0 (no limit) or from %u to %llu",
                           CHAN_MAXBYTES_MIN, 1ULL << 40);

    /* Past the cap a new channel is refused; declaring one that exists is
     * not making one. orderd's own channels (saga steps, dead-letter
     * copies) count, but are made whatever the cap. */
    struct chan_registry *reg = bus_channels(ctx->env->bus);
    if (chreg_find(reg, rest.argv[1].ptr) == NULL && chreg_count(reg) >= ctx->env->max_channels)
        return reply_error(ERR_LIMIT, "too many channels (max %zu)", ctx->env->max_channels);
    struct channel *ch;
    switch (chreg_declare(reg, rest.argv[1].ptr, &s, &ch)) {
    case CHAN_CONFLICT:
        return reply_error(ERR_CONFLICT, "channel %s exists with other settings (CHANNEL INFO %s)",
                           rest.argv[1].ptr, rest.argv[1].ptr);
    default:
        return reply_status("OK");
    }
}

static struct reply *message_record(struct clock *clk, const struct chan_delivery *d,
                                    bool with_deliveries)
{
    struct reply *r = reply_record();
    reply_record_int(r, "id", (long long)d->offset);
    if (with_deliveries)
        reply_record_int(r, "deliveries", d->deliveries);
    cmd_record_time(clk, r, "time", d->time_ms);
    reply_record_add(r, "payload", reply_string(d->payload, d->len));
    return r;
}

static struct reply *deliveries_list(struct clock *clk, const struct chan_delivery *d, size_t n,
                                     bool counts)
{
    struct reply *list = reply_list();
    for (size_t i = 0; i < n; i++)
        reply_list_add(list, message_record(clk, &d[i], counts));
    return list;
}

/* READ <ch> [from=<offset>] [count=<n>] */
struct reply *cmd_read(struct cmd_ctx *ctx, const struct request *req)
{
    struct reply *err;
    struct channel *ch = find_channel(ctx, req, &err);
    if (ch == NULL)
        return err;
    struct kvfield f[] = {{"from", false, NULL, 0}, {"count", false, NULL, 0}};
    if ((err = kvargs_parse(req, 2, f, 2)))
        return err;
    uint64_t from, count;
    if (parse_u64(&f[0], 0, UINT64_MAX, 0, &from) != 0)
        return reply_error(ERR_BADARG, "from must be an offset (a non-negative integer)");
    if (parse_u64(&f[1], 1, READ_COUNT_MAX, READ_COUNT_DEFAULT, &count) != 0)
        return reply_error(ERR_BADARG, "count must be an integer from 1 to %d", READ_COUNT_MAX);
    struct chan_delivery *d = xmalloc(count * sizeof *d);
    size_t n = chan_read(bus_channels(ctx->env->bus), ch, from, count, d, ctx->env->clk->now_ms);
    /* Cut where the payloads reach the reply's bound (one message at
     * least): the client goes on from the last id + 1. */
    size_t keep = 0, bytes = 0;
    while (keep < n && (keep == 0 || bytes < ctx->env->max_reply_payload))
        bytes += d[keep++].len;
    struct reply *r = deliveries_list(ctx->env->clk, d, keep, false);
    free(d);
    return r;
}

/* A CONSUME waiting for messages: lives until served, timed out, or its
 * connection closes. */
struct blocked_consume {
    struct chan_waiter w;  /* first: the waiter callback gets this back */
    struct cmd_env *env;
    struct cmd_client *client;
    struct chan_group *group;
    struct event *timer;   /* NULL when it waits without a deadline */
    size_t count;
    char consumer[BUS_NAME_MAX + 1];
};

static void blocked_free(struct blocked_consume *b)
{
    group_unwait(&b->w);
    if (b->timer)
        event_free(b->timer);
    free(b);
}

static void blocked_ready(struct chan_waiter *w)
{
    struct blocked_consume *b = (struct blocked_consume *)w;
    struct cmd_env *env = b->env;
    struct chan_delivery *d = xmalloc(b->count * sizeof *d);
    size_t n = group_consume_bytes(bus_channels(env->bus), b->group, b->consumer, b->client->id,
                                   b->count, env->max_reply_payload, d, env->clk->now_ms);
    struct cmd_client *c = b->client;
    struct reply *r = deliveries_list(env->clk, d, n, true);
    free(d);
    blocked_free(b);
    c->ops->unblock(c, r);
}

static void blocked_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct blocked_consume *b = arg;
    (void)fd;
    (void)what;
    clock_tick(b->env->clk);
    struct cmd_client *c = b->client;
    blocked_free(b);
    c->ops->unblock(c, reply_list());
}

static void blocked_cancel(void *arg)
{
    blocked_free(arg);
}

/* CONSUME <ch> group=<g> consumer=<name> [count=<n>] [block=<ms>] */
struct reply *cmd_consume(struct cmd_ctx *ctx, const struct request *req)
{
    struct cmd_env *env = ctx->env;
    struct reply *err;
    struct channel *ch = find_channel(ctx, req, &err);
    if (ch == NULL)
        return err;
    enum { F_GROUP, F_CONSUMER, F_COUNT, F_BLOCK, F_N };
    struct kvfield f[F_N] = {
        [F_GROUP] = {"group", true, NULL, 0},
        [F_CONSUMER] = {"consumer", true, NULL, 0},
        [F_COUNT] = {"count", false, NULL, 0},
        [F_BLOCK] = {"block", false, NULL, 0},
    };
    if ((err = kvargs_parse(req, 2, f, F_N)) ||
        (err = check_name("group", f[F_GROUP].val, f[F_GROUP].len)) ||
        (err = check_name("consumer", f[F_CONSUMER].val, f[F_CONSUMER].len)))
        return err;
    uint64_t count, block;
    if (parse_u64(&f[F_COUNT], 1, CONSUME_COUNT_MAX, 1, &count) != 0)
        return reply_error(ERR_BADARG, "count must be an integer from 1 to %d", CONSUME_COUNT_MAX);
    if (parse_u64(&f[F_BLOCK], 0, 86400000, 0, &block) != 0)
        return reply_error(ERR_BADARG, "block must be milliseconds, from 0 to 86400000");

    struct chan_group *g = chan_group(ch, f[F_GROUP].val, true);
    if (!group_has_room(g, f[F_CONSUMER].val))
        return reply_error(ERR_LIMIT, "too many consumers in group %s (max %d with a live "
                                      "connection)", f[F_GROUP].val, CHAN_MAX_CONSUMERS);
    struct chan_delivery *d = xmalloc(count * sizeof *d);
    uint64_t owner = ctx->client ? ctx->client->id : 0;
    size_t n = group_consume_bytes(bus_channels(env->bus), g, f[F_CONSUMER].val, owner, count,
                                   env->max_reply_payload, d, env->clk->now_ms);
    if (n > 0 || f[F_BLOCK].val == NULL || ctx->client == NULL) {
        struct reply *r = deliveries_list(env->clk, d, n, true);
        free(d);
        return r;
    }
    free(d);
    /* Nothing now: wait for a publish, a redelivery or the deadline.
     * block=0 waits without a deadline, as Redis's BLOCK 0 does. */
    struct blocked_consume *b = xcalloc(1, sizeof *b);
    b->w.ready = blocked_ready;
    b->env = env;
    b->client = ctx->client;
    b->group = g;
    b->count = count;
    memcpy(b->consumer, f[F_CONSUMER].val, f[F_CONSUMER].len + 1);
    if (block > 0) {
        struct timeval tv = {(time_t)(block / 1000), (suseconds_t)((block % 1000) * 1000)};
        b->timer = evtimer_new(env->base, blocked_timeout, b);
        evtimer_add(b->timer, &tv);
    }
    group_wait(g, &b->w);
    ctx->client->ops->block(ctx->client, blocked_cancel, b);
    return NULL;
}

/* The group named by group= among argv[2..], and the message ids. */
static struct chan_group *group_and_ids(struct cmd_ctx *ctx, const struct request *req,
                                        struct channel **chp, uint64_t *ids, size_t *nids,
                                        struct kvfield *extra, size_t nextra,
                                        struct reply **err)
{
    struct channel *ch = find_channel(ctx, req, err);
    if (ch == NULL)
        return NULL;
    *chp = ch;
    const char *group = NULL;
    struct request kv = *req;
    struct arg *kvargs = xmalloc(req->argc * sizeof *kvargs);
    kv.argv = kvargs;
    kv.argc = 0;
    *nids = 0;
    for (size_t i = 2; i < req->argc; i++) {
        const struct arg *a = &req->argv[i];
        if (strncasecmp(a->ptr, "group=", 6) == 0) {
            group = a->ptr + 6;
            continue;
        }
        if (memchr(a->ptr, '=', a->len)) {
            kvargs[kv.argc++] = *a;
            continue;
        }
        if (kv_parse_uint(a->ptr, 1, UINT64_MAX, &ids[*nids]) != 0 || strlen(a->ptr) != a->len) {
            char shown[64];
            kv_printable(shown, sizeof shown, a->ptr, a->len);
            *err = reply_error(ERR_BADARG, "message id must be a positive integer, got '%s'",
                               shown);
            free(kvargs);
            return NULL;
        }
        (*nids)++;
    }
    *err = kvargs_parse(&kv, 0, extra, nextra);
    free(kvargs);
    if (*err)
        return NULL;
    if (group == NULL) {
        *err = reply_error(ERR_BADARG, "missing field 'group'");
        return NULL;
    }
    struct chan_group *g = chan_group(ch, group, false);
    if (g == NULL) {
        char shown[96];
        kv_printable(shown, sizeof shown, group, strlen(group));
        *err = reply_error(ERR_NOTFOUND, "group %s does not exist on channel %s (CONSUME creates it)",
                           shown, chan_name(ch));
    }
    return g;
}

/* ACK <ch> group=<g> <id>... */
struct reply *cmd_ack(struct cmd_ctx *ctx, const struct request *req)
{
    struct reply *err;
    struct channel *ch;
    size_t nids;
    uint64_t *ids = xmalloc(req->argc * sizeof *ids);
    struct chan_group *g = group_and_ids(ctx, req, &ch, ids, &nids, NULL, 0, &err);
    if (g == NULL) {
        free(ids);
        return err;
    }
    if (nids == 0) {
        free(ids);
        return reply_error(ERR_ERR, "wrong number of arguments for 'ACK'");
    }
    long long acked = 0;
    for (size_t i = 0; i < nids; i++)
        acked += group_ack(bus_channels(ctx->env->bus), g, ids[i], ctx->env->clk->now_ms);
    free(ids);
    bus_rearm(ctx->env->bus);
    return reply_integer(acked);
}

/* NACK <ch> group=<g> <id> [delay=<ms>] [reason=<text>] */
struct reply *cmd_nack(struct cmd_ctx *ctx, const struct request *req)
{
    struct reply *err;
    struct channel *ch;
    size_t nids;
    uint64_t *ids = xmalloc(req->argc * sizeof *ids);
    struct kvfield f[] = {{"delay", false, NULL, 0}, {"reason", false, NULL, 0}};
    struct chan_group *g = group_and_ids(ctx, req, &ch, ids, &nids, f, 2, &err);
    uint64_t id = nids > 0 ? ids[0] : 0;
    free(ids);
    if (g == NULL)
        return err;
    if (nids != 1)
        return reply_error(ERR_ERR, "wrong number of arguments for 'NACK'");
    uint64_t delay;
    if (f[0].val && kv_parse_uint(f[0].val, 0, 86400000, &delay) != 0)
        return reply_error(ERR_BADARG, "delay must be milliseconds, from 0 to 86400000");
    if (f[1].val && f[1].len > 1024)
        return reply_error(ERR_BADARG, "reason is longer than 1024 bytes");
    if ((err = cmd_check_text(ctx, "reason", f[1].val, f[1].len)))
        return err;
    int n = group_nack(bus_channels(ctx->env->bus), g, id, f[0].val ? (int64_t)delay : -1, f[1].val,
                       ctx->env->clk->now_ms);
    bus_rearm(ctx->env->bus);
    return reply_integer(n);
}

/* GROUPS <ch> */
struct reply *cmd_groups(struct cmd_ctx *ctx, const struct request *req)
{
    struct reply *err;
    struct channel *ch = find_channel(ctx, req, &err);
    if (ch == NULL)
        return err;
    struct reply *list = reply_list();
    struct chan_group *g;
    for (size_t i = 0; (g = chan_group_at(ch, i)); i++) {
        struct group_stats st;
        group_stats(g, &st);
        struct reply *r = reply_record();
        reply_record_str(r, "group", group_name(g));
        reply_record_int(r, "consumers", (long long)st.consumers);
        reply_record_int(r, "pending", (long long)st.pending);
        reply_record_int(r, "lag", (long long)st.lag);
        reply_record_int(r, "committed", (long long)st.committed);
        reply_record_int(r, "next", (long long)st.next);
        reply_record_int(r, "waiting", (long long)st.waiting);
        reply_list_add(list, r);
    }
    return list;
}

/* PENDING <ch> group=<g> [limit=<n>] */
struct reply *cmd_pending(struct cmd_ctx *ctx, const struct request *req)
{
    struct reply *err;
    struct channel *ch = find_channel(ctx, req, &err);
    if (ch == NULL)
        return err;
    struct kvfield f[] = {{"group", true, NULL, 0}, {"limit", false, NULL, 0}};
    if ((err = kvargs_parse(req, 2, f, 2)))
        return err;
    uint64_t limit;
    if (parse_u64(&f[1], 1, READ_COUNT_MAX, READ_COUNT_DEFAULT, &limit) != 0)
        return reply_error(ERR_BADARG, "limit must be an integer from 1 to %d", READ_COUNT_MAX);
    struct chan_group *g = chan_group(ch, f[0].val, false);
    if (g == NULL) {
        char shown[96];
        kv_printable(shown, sizeof shown, f[0].val, f[0].len);
        return reply_error(ERR_NOTFOUND, "group %s does not exist on channel %s (CONSUME creates it)",
                           shown, chan_name(ch));
    }
    struct pending_info *p = xmalloc(limit * sizeof *p);
    size_t n = group_pending(g, 0, p, limit);
    struct reply *list = reply_list();
    for (size_t i = 0; i < n; i++) {
        struct reply *r = reply_record();
        reply_record_int(r, "id", (long long)p[i].offset);
        reply_record_str(r, "consumer", p[i].consumer);
        reply_record_int(r, "deliveries", p[i].deliveries);
        reply_record_str(r, "state", pending_state_name(p[i].state));
        reply_record_int(r, "idle_ms", p[i].last_ms ? ctx->env->clk->now_ms - p[i].last_ms : 0);
        cmd_record_time(ctx->env->clk, r, "due", p[i].due_ms);
        reply_list_add(list, r);
    }
    free(p);
    return list;
}

struct channel_row {
    const char *name;
    size_t len;
    struct channel *ch;  /* NULL for a live-only channel */
};

static int by_name(const void *a, const void *b)
{
    const struct channel_row *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* CHANNELS: durable channels and live ones with subscribers, by name. */
struct reply *cmd_channels(struct cmd_ctx *ctx, const struct request *req)
{
    (void)req;
    struct cmd_env *env = ctx->env;
    size_t n = 0, cap = 16, it = 0;
    struct channel_row *rows = xmalloc(cap * sizeof *rows);
    struct channel *ch;
    while (chreg_next(bus_channels(env->bus), &it, &ch)) {
        if (n == cap)
            rows = xrealloc(rows, (cap *= 2) * sizeof *rows);
        rows[n++] = (struct channel_row){chan_name(ch), strlen(chan_name(ch)), ch};
    }
    const char *name;
    size_t len, subs;
    it = 0;
    while (pubsub_next_channel(bus_pubsub(env->bus), &it, &name, &len, &subs)) {
        if (memchr(name, '\0', len) == NULL && len <= BUS_NAME_MAX) {
            char c[BUS_NAME_MAX + 1];
            memcpy(c, name, len);
            c[len] = '\0';
            if (chreg_find(bus_channels(env->bus), c))
                continue;
        }
        if (n == cap)
            rows = xrealloc(rows, (cap *= 2) * sizeof *rows);
        rows[n++] = (struct channel_row){name, len, NULL};
    }
    qsort(rows, n, sizeof *rows, by_name);
    struct reply *list = reply_list();
    for (size_t i = 0; i < n; i++) {
        struct reply *r = reply_record();
        reply_record_add(r, "channel", reply_string(rows[i].name, rows[i].len));
        reply_record_int(r, "durable", rows[i].ch != NULL);
        reply_record_int(r, "subscribers",
                         (long long)pubsub_subscribers(bus_pubsub(env->bus), rows[i].name, rows[i].len));
        reply_record_int(r, "length", rows[i].ch ? (long long)chan_length(rows[i].ch) : 0);
        reply_record_int(r, "last", rows[i].ch ? (long long)chan_last_offset(rows[i].ch) : 0);
        reply_record_int(r, "groups", rows[i].ch ? (long long)chan_group_count(rows[i].ch) : 0);
        reply_list_add(list, r);
    }
    free(rows);
    return list;
}
