/* Live pub/sub commands: SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE,
 * PUBLISH. Replies have Redis's exact shapes in RESP, so redis-cli and
 * redis-py's PubSub work unchanged; inline clients get one line each. */
#include <string.h>

#include "channels/bus.h"
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
    for (size_t i = 1; i < req->argc; i++)
        if (req->argv[i].len > BUS_NAME_MAX)
            return too_long(pattern ? "pattern" : "channel");
    c->sub.kind = req->kind;
    for (size_t i = 1; i < req->argc; i++) {
        const struct arg *a = &req->argv[i];
        size_t n = pattern ? pubsub_psubscribe(bus_pubsub(ctx->env->bus), &c->sub, a->ptr, a->len)
                           : pubsub_subscribe(bus_pubsub(ctx->env->bus), &c->sub, a->ptr, a->len);
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

static struct reply *unsubscribe(struct cmd_ctx *ctx, const struct request *req, bool pattern)
{
    struct cmd_client *c = ctx->client;
    struct pubsub *ps = bus_pubsub(ctx->env->bus);
    const char *kind = pattern ? "punsubscribe" : "unsubscribe";
    const char *text_kind = pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE";
    if (req->argc > 1) {
        for (size_t i = 1; i < req->argc; i++) {
            const struct arg *a = &req->argv[i];
            size_t n = pattern ? pubsub_punsubscribe(ps, &c->sub, a->ptr, a->len)
                               : pubsub_unsubscribe(ps, &c->sub, a->ptr, a->len);
            cmd_client_reply(c, confirmation(kind, text_kind, a->ptr, a->len, n));
        }
        return NULL;
    }
    /* Without arguments: from everything, one confirmation each, and one
     * with a nil name when there was nothing (as Redis does). */
    bool any = false;
    const char *name;
    size_t len;
    while (pattern ? pubsub_client_any_pattern(ps, &c->sub, &name, &len)
                   : pubsub_client_any_channel(&c->sub, &name, &len)) {
        /* The name dies with the subscription: the reply copies it first. */
        struct reply *r = reply_push_as(kind, text_kind);
        reply_list_add(r, reply_string(name, len));
        const struct reply *copy = r->items[0];
        size_t n = pattern ? pubsub_punsubscribe(ps, &c->sub, copy->str, copy->len)
                           : pubsub_unsubscribe(ps, &c->sub, copy->str, copy->len);
        reply_list_add(r, reply_integer((long long)n));
        cmd_client_reply(c, r);
        any = true;
    }
    if (!any)
        cmd_client_reply(c, confirmation(kind, text_kind, NULL, 0, pubsub_count(&c->sub)));
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
    size_t n = bus_publish_message(ctx->env->bus, ch->ptr, ch->len, payload->ptr, payload->len);
    return reply_integer((long long)n);
}
