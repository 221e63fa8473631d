/* Live pub/sub commands: SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE,
 * PUBLISH. Replies have Redis's exact shapes in RESP, so redis-cli and
 * redis-py's PubSub work unchanged; inline clients get one line each. */
#include <string.h>

#include "channels/bus.h"
#include "channels/channel.h"
#include "command.h"
#include "client.h"
#include "channels/pubsub.h"

/* [kind, name, count]: one confirmation per channel or pattern. */
static struct reply *confirmation(const char *kind, const char *text_kind, const char *name,
                                  size_t len, size_t count)
{
    struct reply *r = reply_push_as(kind, text_kind);
    reply_list_add(r, name ? reply_string(name, len) : reply_nil());
    reply_list_add(r, reply_integer((long long)count));
    return r;
}

static struct reply *too_long(const char *what)
{
    return reply_error(ERR_BADARG, "%s is longer than %d bytes", what, BUS_NAME_MAX);
}

static struct reply *subscribe(struct cmd_ctx *ctx, const struct request *req, bool pattern)
{
    struct cmd_client *c = ctx->client;
    struct pubsub *ps = bus_pubsub(ctx->env->bus);
    for (size_t i = 1; i < req->argc; i++)
        if (req->argv[i].len > BUS_NAME_MAX)
            return too_long(pattern ? "pattern" : "channel");
    c->sub.kind = req->kind;
    for (size_t i = 1; i < req->argc; i++) {
        const struct arg *a = &req->argv[i];
        /* Each confirmation is sent as it is made: one past the limit
         * ends the request, the earlier ones stand. */
        if (pubsub_count(&c->sub) >= ctx->env->max_subscriptions &&
            !pubsub_has(&c->sub, a->ptr, a->len, pattern)) {
            cmd_client_reply(c, reply_error(ERR_LIMIT, "too many subscriptions (max %zu)",
                                            ctx->env->max_subscriptions));
            break;
        }
        size_t n = pattern ? pubsub_psubscribe(ps, &c->sub, a->ptr, a->len)
                           : pubsub_subscribe(ps, &c->sub, a->ptr, a->len);
        cmd_client_reply(c, pattern ? confirmation("psubscribe", "PSUBSCRIBE", a->ptr, a->len, n)
                                    : confirmation("subscribe", "SUBSCRIBE", a->ptr, a->len, n));
    }
    return NULL;
}

struct reply *cmd_subscribe(struct cmd_ctx *ctx, const struct request *req)
{
    return subscribe(ctx, req, false);
}

struct reply *cmd_psubscribe(struct cmd_ctx *ctx, const struct request *req)
{
    return subscribe(ctx, req, true);
}

struct unsubscribing {
    struct cmd_client *c;
    const char *kind, *text_kind;
    bool any;
};

static void confirm(void *arg, const char *name, size_t len, size_t remaining)
{
    struct unsubscribing *u = arg;
    cmd_client_reply(u->c, confirmation(u->kind, u->text_kind, name, len, remaining));
    u->any = true;
}

static struct reply *unsubscribe(struct cmd_ctx *ctx, const struct request *req, bool pattern)
{
    struct cmd_client *c = ctx->client;
    struct pubsub *ps = bus_pubsub(ctx->env->bus);
    struct unsubscribing u = {c, pattern ? "punsubscribe" : "unsubscribe",
                              pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", false};
    if (req->argc > 1) {
        for (size_t i = 1; i < req->argc; i++) {
            const struct arg *a = &req->argv[i];
            size_t n = pattern ? pubsub_punsubscribe(ps, &c->sub, a->ptr, a->len)
                               : pubsub_unsubscribe(ps, &c->sub, a->ptr, a->len);
            confirm(&u, a->ptr, a->len, n);
        }
        return NULL;
    }
    /* Without arguments: from everything, one confirmation each, in one
     * pass however many there are; one with a nil name when there was
     * nothing (as Redis does). */
    pubsub_unsubscribe_all(ps, &c->sub, pattern, confirm, &u);
    if (!u.any)
        cmd_client_reply(c, confirmation(u.kind, u.text_kind, NULL, 0, pubsub_count(&c->sub)));
    return NULL;
}

struct reply *cmd_unsubscribe(struct cmd_ctx *ctx, const struct request *req)
{
    return unsubscribe(ctx, req, false);
}

struct reply *cmd_punsubscribe(struct cmd_ctx *ctx, const struct request *req)
{
    return unsubscribe(ctx, req, true);
}

struct reply *cmd_publish(struct cmd_ctx *ctx, const struct request *req)
{
    const struct arg *ch = &req->argv[1], *payload = &req->argv[2];
    if (ch->len > BUS_NAME_MAX)
        return too_long("channel");
    /* A durable channel keeps what it is sent: it takes messages of
     * bounded size, and no more than its own byte limit. */
    if (ctx->changes) {
        const struct channel *c = chreg_find(bus_channels(ctx->env->bus), ch->ptr);
        uint64_t maxbytes = chan_settings(c)->maxbytes;
        if (payload->len > ctx->env->max_message)
            return reply_error(ERR_LIMIT, "message of %zu bytes is over --max-message (%zu)",
                               payload->len, ctx->env->max_message);
        if (maxbytes > 0 && payload->len > maxbytes)
            return reply_error(ERR_LIMIT, "message of %zu bytes is over channel %s's maxbytes "
                                          "(%llu)",
                               payload->len, ch->ptr, (unsigned long long)maxbytes);
    }
    size_t n = bus_publish_message(ctx->env->bus, ch->ptr, ch->len, payload->ptr, payload->len);
    return reply_integer((long long)n);
}
