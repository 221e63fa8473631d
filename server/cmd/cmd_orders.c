/* Order commands: CREATE, GET, TRACK, UPDATE, CANCEL, HISTORY, LIST. They
 * validate, then change state only through the order book. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orders/book.h"
#include "lib/clock.h"
#include "saga/engine.h"
#include "cmd_load.h"
#include "command.h"
#include "xalloc.h"
#include "lib/kvargs.h"
#include "lib/money.h"

/* Longest customer id, SKU or idempotency key; longest note. */
#define ORDER_QTY_MAX 1000000000ULL
#define LIST_LIMIT_MAX 1000
#define LIST_LIMIT_DEFAULT 100
#define TRACK_RECENT 5

static struct reply *order_reply(struct clock *clk, const struct order *o)
{
    struct reply *r = reply_record();
    char amount[MONEY_TEXT_MAX];
    money_format(o->amount, money_exponent(o->currency), amount);
    reply_record_int(r, "id", (long long)o->id);
    reply_record_str(r, "status", order_status_name(o->status));
    reply_record_str(r, "customer", o->customer);
    reply_record_str(r, "item", o->item);
    reply_record_int(r, "qty", o->qty);
    reply_record_str(r, "amount", amount);
    reply_record_str(r, "currency", o->currency);
    if (o->key)
        reply_record_str(r, "key", o->key);
    cmd_record_time(clk, r, "created", o->created_ms);
    cmd_record_time(clk, r, "updated", o->updated_ms);
    return r;
}

static struct reply *check_note(const char *field, size_t len)
{
    if (len > CMD_NOTE_MAX)
        return reply_error(ERR_BADARG, "%s is longer than %d bytes", field, CMD_NOTE_MAX);
    return NULL;
}

/* The order named by argv[1], or NULL with *err set. */
static const struct order *find_order(struct cmd_ctx *ctx, const struct request *req,
                                      struct reply **err)
{
    uint64_t id;
    const struct arg *a = &req->argv[1];
    if (a->len > 20 || kv_parse_uint(a->ptr, 1, UINT64_MAX, &id) != 0 ||
        strlen(a->ptr) != a->len) {
        char shown[64];
        kv_printable(shown, sizeof shown, a->ptr, a->len);
        *err = reply_error(ERR_BADARG, "order id must be a positive integer, got '%s'", shown);
        return NULL;
    }
    bool loading;
    const struct order *o = cmd_order(ctx, req, id, &loading);
    /* While it is loaded, the handler returns NULL: the client waits. */
    *err = o || loading ? NULL
                        : reply_error(ERR_NOTFOUND, "order %llu does not exist",
                                      (unsigned long long)id);
    return o;
}

struct reply *cmd_create(struct cmd_ctx *ctx, const struct request *req)
{
    enum { F_CUSTOMER, F_ITEM, F_QTY, F_AMOUNT, F_CURRENCY, F_KEY, F_COUNT };
    struct kvfield f[F_COUNT] = {
        [F_CUSTOMER] = {"customer", true, NULL, 0},
        [F_ITEM] = {"item", true, NULL, 0},
        [F_QTY] = {"qty", true, NULL, 0},
        [F_AMOUNT] = {"amount", true, NULL, 0},
        [F_CURRENCY] = {"currency", false, NULL, 0},
        [F_KEY] = {"key", false, NULL, 0},
    };
    struct reply *err = kvargs_parse(req, 1, f, F_COUNT);
    if (err)
        return err;
    if ((err = cmd_check_name("customer", f[F_CUSTOMER].val, f[F_CUSTOMER].len)) ||
        (err = cmd_check_name("item", f[F_ITEM].val, f[F_ITEM].len)) ||
        (f[F_KEY].val && (err = cmd_check_name("key", f[F_KEY].val, f[F_KEY].len))) ||
        (err = cmd_check_text(ctx, "customer", f[F_CUSTOMER].val, f[F_CUSTOMER].len)) ||
        (err = cmd_check_text(ctx, "item", f[F_ITEM].val, f[F_ITEM].len)) ||
        (err = cmd_check_text(ctx, "key", f[F_KEY].val, f[F_KEY].len)))
        return err;

    struct order_fields of = {
        .customer = f[F_CUSTOMER].val,
        .item = f[F_ITEM].val,
        .key = f[F_KEY].val,
    };
    char shown[64];
    uint64_t qty;
    if (kv_parse_uint(f[F_QTY].val, 1, ORDER_QTY_MAX, &qty) != 0) {
        kv_printable(shown, sizeof shown, f[F_QTY].val, f[F_QTY].len);
        return reply_error(ERR_BADARG, "qty must be an integer from 1 to %llu, got '%s'",
                           ORDER_QTY_MAX, shown);
    }
    of.qty = (int64_t)qty;

    const char *cur = f[F_CURRENCY].val ? f[F_CURRENCY].val : "USD";
    int exponent = money_exponent(cur);
    if (exponent < 0) {
        kv_printable(shown, sizeof shown, cur, strlen(cur));
        return reply_error(ERR_BADARG, "currency '%s' is not an ISO 4217 code", shown);
    }
    memcpy(of.currency, cur, 4);

    const char *why;
    if (money_parse(f[F_AMOUNT].val, exponent, &of.amount, &why) != 0) {
        kv_printable(shown, sizeof shown, f[F_AMOUNT].val, f[F_AMOUNT].len);
        return reply_error(ERR_BADARG, "amount '%s' %s", shown, why);
    }

    if (of.key) {
        const struct order *prior = book_by_key(ctx->env->book, of.key);
        uint64_t prior_id = prior ? prior->id : book_key_id(ctx->env->book, of.key);
        /* Used for an order not in memory: it is compared once loaded. A
         * key is never used twice, so without the order there is no
         * answer. */
        if (prior == NULL && prior_id != 0) {
            if (cmd_load(ctx, req, &prior_id, 1))
                return NULL;
            kv_printable(shown, sizeof shown, of.key, strlen(of.key));
            return reply_error(ERR_UNAVAILABLE, "key %s was used for order %llu, which cannot "
                               "be read now", shown, (unsigned long long)prior_id);
        }
        if (prior) {
            if (!order_same_fields(prior, &of)) {
                kv_printable(shown, sizeof shown, of.key, strlen(of.key));
                return reply_error(ERR_CONFLICT, "key %s was used for order %llu with other fields",
                                   shown, (unsigned long long)prior->id);
            }
            struct reply *r = order_reply(ctx->env->clk, prior);
            reply_record_int(r, "replayed", 1);
            return r;
        }
    }
    const struct order *o = book_create(ctx->env->book, &of, ctx->env->clk->wall_ms);
    return order_reply(ctx->env->clk, o);
}

struct reply *cmd_get(struct cmd_ctx *ctx, const struct request *req)
{
    struct reply *err = NULL;
    const struct order *o = find_order(ctx, req, &err);
    return o ? order_reply(ctx->env->clk, o) : err;
}

static struct reply *transition_word(struct clock *clk, const struct order_transition *t)
{
    char ts[CLOCK_RFC3339_LEN];
    clock_format(clk, t->time_ms, ts);
    return reply_stringf("%s@%s", order_status_name(t->to), ts);
}

struct reply *cmd_track(struct cmd_ctx *ctx, const struct request *req)
{
    struct reply *err = NULL;
    const struct order *o = find_order(ctx, req, &err);
    if (o == NULL)
        return err;
    struct reply *r = reply_record();
    reply_record_int(r, "id", (long long)o->id);
    reply_record_str(r, "status", order_status_name(o->status));
    cmd_record_time(ctx->env->clk, r, "updated", o->updated_ms);
    const struct tracking *t = engine_tracking(ctx->env->engine, o->id);
    if (t) {
        if (t->number)
            reply_record_str(r, "tracking", t->number);
        if (t->location)
            reply_record_str(r, "location", t->location);
        if (t->eta_ms)
            cmd_record_time(ctx->env->clk, r, "eta", t->eta_ms);
    }
    const struct saga *sg = engine_saga(ctx->env->engine, o->id);
    if (sg)
        reply_record_str(r, "saga", saga_state_name(sg));
    struct reply *recent = reply_list();
    for (size_t i = o->nhistory, n = 0; i > 0 && n < TRACK_RECENT; i--, n++)
        reply_list_add(recent, transition_word(ctx->env->clk, &o->history[i - 1]));
    reply_record_add(r, "recent", recent);
    return r;
}

static struct reply *move(struct cmd_ctx *ctx, const struct order *o, enum order_status to,
                          const char *note)
{
    enum order_status from = o->status;
    switch (book_transition(ctx->env->book, o->id, to, "client", note, ctx->env->clk->wall_ms)) {
    case BOOK_OK:
        return order_reply(ctx->env->clk, o);
    case BOOK_BADSTATE:
        return reply_error(ERR_STATE, "cannot move order %llu from %s to %s",
                           (unsigned long long)o->id, order_status_name(from),
                           order_status_name(to));
    default:
        return reply_error(ERR_NOTFOUND, "order %llu does not exist",
                           (unsigned long long)o->id);
    }
}


/* CANCEL, and UPDATE status=CANCELLED: one way to stop an order. One with
 * a saga in flight is cancelled by the saga: it undoes what was done
 * (refund, release) and then moves the order. */
static struct reply *cancel(struct cmd_ctx *ctx, const struct order *o, const char *reason)
{
    if (o->status == ORDER_CANCELLED)
        return reply_error(ERR_STATE, "order %llu is already cancelled",
                           (unsigned long long)o->id);
    const struct saga *sg = engine_saga(ctx->env->engine, o->id);
    if (sg && !saga_finished(sg)) {
        switch (engine_cancel(ctx->env->engine, o->id, reason)) {
        case CANCEL_TOO_LATE:
            return reply_error(ERR_STATE, "cannot cancel order %llu: shipping has started",
                               (unsigned long long)o->id);
        case CANCEL_ALREADY:
            /* Not +OK: this reason would not be the one the order ends with. */
            return reply_error(ERR_STATE, "order %llu is already being cancelled",
                               (unsigned long long)o->id);
        default: {
            struct reply *r = order_reply(ctx->env->clk, o);
            reply_record_str(r, "saga", saga_state_name(sg));
            return r;
        }
        }
    }
    return move(ctx, o, ORDER_CANCELLED, reason);
}

struct reply *cmd_cancel(struct cmd_ctx *ctx, const struct request *req)
{
    struct reply *err = NULL;
    const struct order *o = find_order(ctx, req, &err);
    if (o == NULL)
        return err;
    struct kvfield f[] = {{"reason", false, NULL, 0}};
    if ((err = kvargs_parse(req, 2, f, 1)))
        return err;
    if (f[0].val && ((err = check_note("reason", f[0].len)) ||
                     (err = cmd_check_text(ctx, "reason", f[0].val, f[0].len))))
        return err;
    return cancel(ctx, o, f[0].val);
}

struct reply *cmd_update(struct cmd_ctx *ctx, const struct request *req)
{
    struct reply *err = NULL;
    const struct order *o = find_order(ctx, req, &err);
    if (o == NULL)
        return err;
    struct kvfield f[] = {{"status", true, NULL, 0}, {"note", false, NULL, 0}};
    if ((err = kvargs_parse(req, 2, f, 2)))
        return err;
    if (f[1].val && ((err = check_note("note", f[1].len)) ||
                     (err = cmd_check_text(ctx, "note", f[1].val, f[1].len))))
        return err;
    int to = order_status_parse(f[0].val);
    if (to < 0) {
        char shown[64];
        kv_printable(shown, sizeof shown, f[0].val, f[0].len);
        return reply_error(ERR_BADARG,
                           "unknown status '%s' (PENDING RESERVED PAID SHIPPED DELIVERED FAILED CANCELLED)",
                           shown);
    }
    /* While a saga drives the order, there is one way to stop it and none
     * to move it by hand: status, saga, stock and charges must agree. */
    const struct saga *sg = engine_saga(ctx->env->engine, o->id);
    if (sg && !saga_finished(sg)) {
        if (to == ORDER_CANCELLED)
            return cancel(ctx, o, f[1].val);
        return reply_error(ERR_STATE,
                           "order %llu is driven by its saga (%s): CANCEL it, or SAGA ABORT "
                           "%llu to force an end",
                           (unsigned long long)o->id, saga_state_name(sg),
                           (unsigned long long)o->id);
    }
    return move(ctx, o, (enum order_status)to, f[1].val);
}

struct reply *cmd_history(struct cmd_ctx *ctx, const struct request *req)
{
    struct reply *err = NULL;
    const struct order *o = find_order(ctx, req, &err);
    if (o == NULL)
        return err;
    struct reply *list = reply_list();
    for (size_t i = 0; i < o->nhistory; i++) {
        const struct order_transition *t = &o->history[i];
        struct reply *r = reply_record();
        cmd_record_time(ctx->env->clk, r, "time", t->time_ms);
        reply_record_add(r, "from", t->from < 0 ? reply_nil()
                                                : reply_cstring(order_status_name(t->from)));
        reply_record_str(r, "to", order_status_name(t->to));
        reply_record_str(r, "source", t->source);
        reply_record_add(r, "note", t->note ? reply_cstring(t->note) : reply_nil());
        reply_list_add(list, r);
    }
    return list;
}

struct reply *cmd_list(struct cmd_ctx *ctx, const struct request *req)
{
    enum { F_STATUS, F_CUSTOMER, F_AFTER, F_LIMIT, F_COUNT };
    struct kvfield f[F_COUNT] = {
        [F_STATUS] = {"status", false, NULL, 0},
        [F_CUSTOMER] = {"customer", false, NULL, 0},
        [F_AFTER] = {"after", false, NULL, 0},
        [F_LIMIT] = {"limit", false, NULL, 0},
    };
    struct reply *err = kvargs_parse(req, 1, f, F_COUNT);
    if (err)
        return err;
    int status = -1;
    uint64_t after = 0, limit = LIST_LIMIT_DEFAULT;
    if (f[F_STATUS].val && (status = order_status_parse(f[F_STATUS].val)) < 0) {
        char shown[64];
        kv_printable(shown, sizeof shown, f[F_STATUS].val, f[F_STATUS].len);
        return reply_error(ERR_BADARG,
                           "unknown status '%s' in status= (PENDING RESERVED PAID SHIPPED "
                           "DELIVERED FAILED CANCELLED)",
                           shown);
    }
    if (f[F_AFTER].val && kv_parse_uint(f[F_AFTER].val, 0, UINT64_MAX, &after) != 0)
        return reply_error(ERR_BADARG, "after must be an order id (a non-negative integer)");
    if (f[F_LIMIT].val && kv_parse_uint(f[F_LIMIT].val, 1, LIST_LIMIT_MAX, &limit) != 0)
        return reply_error(ERR_BADARG, "limit must be an integer from 1 to %d", LIST_LIMIT_MAX);

    const struct book *book = ctx->env->book;
    struct book_filter filter = {.status = status, .customer = f[F_CUSTOMER].val};
    /* The page's ids first: those not in memory are loaded, then it runs
     * again. */
    uint64_t *ids = xmalloc(limit * sizeof *ids), *missing = xmalloc(limit * sizeof *missing);
    size_t n = 0, nmissing = 0;
    for (uint64_t id = book_next(book, &filter, after); id && n < limit;
         id = book_next(book, &filter, id)) {
        ids[n++] = id;
        if (book_get(book, id) == NULL)
            missing[nmissing++] = id;
    }
    struct reply *list = NULL;
    if (nmissing == 0 || !cmd_load(ctx, req, missing, nmissing)) {
        list = reply_list();
        for (size_t i = 0; i < n; i++) {
            const struct order *o = book_get(book, ids[i]);
            if (o)
                reply_list_add(list, order_reply(ctx->env->clk, o));
        }
    }
    free(ids);
    free(missing);
    return list;
}
