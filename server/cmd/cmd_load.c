/* Loading orders that left memory, for a command (see cmd_load.h). */
#include "cmd_load.h"

#include <stdlib.h>
#include <string.h>

#include "cache/order_cache.h"
#include "client.h"
#include "lib/clock.h"
#include "orders/book.h"
#include "store/store.h"
#include "xalloc.h"

/* The request, copied: the parser's is gone by the time it runs again. */
struct rerun {
    struct cmd_env *env;
    struct cmd_client *client;   /* NULL once it has gone */
    bool loading;                /* the store has not answered yet */
    struct request req;
    size_t nids;
    uint64_t ids[];
};

static void rerun_free(struct rerun *r)
{
    for (size_t i = 0; i < r->req.argc; i++)
        free((char *)r->req.argv[i].ptr);
    free(r->req.argv);
    free(r);
}

static void client_gone(void *arg)
{
    struct rerun *r = arg;
    r->client = NULL;
    if (!r->loading)
        rerun_free(r);
}

/* r stays ours until the end: `loading` keeps client_gone from freeing it
 * should the client go while the request runs again. */
static void loaded(void *arg, bool ok)
{
    struct rerun *r = arg;
    struct reply *rep = NULL;
    if (r->client && !ok) {
        rep = reply_error(ERR_UNAVAILABLE, "order %llu is not in memory and the database "
                                           "cannot be read now",
                          (unsigned long long)r->ids[0]);
    } else if (r->client) {
        for (size_t i = 0; i < r->nids; i++)
            order_cache_loaded(r->env->cache, r->ids[i], r->env->clk->now_ms);
        struct cmd_ctx ctx = {.env = r->env, .client = r->client, .rerun = true};
        rep = command_dispatch(&ctx, &r->req);
        /* Run again, nothing blocks it: it has its answer. */
        if (rep == NULL)
            rep = reply_error(ERR_ERR, "the request could not be answered after loading");
    }
    if (r->client)
        r->client->ops->unblock(r->client, rep);
    else if (rep)
        reply_free(rep);
    rerun_free(r);
}

bool cmd_load(struct cmd_ctx *ctx, const struct request *req, const uint64_t *ids, size_t n)
{
    if (ctx->env->cache == NULL || ctx->client == NULL || ctx->rerun || n == 0 ||
        !store_can_load(ctx->env->store))
        return false;
    struct rerun *r = xcalloc(1, sizeof *r + n * sizeof r->ids[0]);
    r->env = ctx->env;
    r->client = ctx->client;
    r->loading = true;
    r->req.kind = req->kind;
    r->req.argc = req->argc;
    r->req.argv = xcalloc(req->argc, sizeof *r->req.argv);
    for (size_t i = 0; i < req->argc; i++) {
        char *p = xmalloc(req->argv[i].len + 1);
        memcpy(p, req->argv[i].ptr, req->argv[i].len + 1);
        r->req.argv[i] = (struct arg){p, req->argv[i].len};
    }
    r->nids = n;
    memcpy(r->ids, ids, n * sizeof ids[0]);
    order_cache_miss(ctx->env->cache);
    ctx->client->ops->block(ctx->client, client_gone, r);
    store_load(ctx->env->store, r->ids, n, loaded, r);
    return true;
}

const struct order *cmd_order(struct cmd_ctx *ctx, const struct request *req, uint64_t id,
                              bool *blocked)
{
    *blocked = false;
    const struct order *o = book_get(ctx->env->book, id);
    if (o != NULL) {
        if (ctx->env->cache && order_status_terminal(o->status))
            order_cache_hit(ctx->env->cache, id, ctx->env->clk->now_ms);
        return o;
    }
    if (book_exists(ctx->env->book, id))
        *blocked = cmd_load(ctx, req, &id, 1);
    return NULL;
}
