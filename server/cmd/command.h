/* The command table and dispatch. A handler gets the parsed request and
 * returns one reply value; it never sees how the reply will be rendered. */
#ifndef SERVER_COMMAND_H
#define SERVER_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "reply.h"
#include "request.h"

struct server;
struct conn;

struct cmd_ctx {
    struct server *srv;
    struct conn *conn;  /* NULL when not called on behalf of a client */
};

typedef struct reply *(*cmd_handler)(struct cmd_ctx *ctx, const struct request *req);

enum cmd_flags {
    CMD_WRITE = 1 << 0,   /* changes state */
    CMD_PUBSUB = 1 << 1,  /* allowed while the client is subscribed */
};

struct command {
    const char *name;      /* upper case */
    int arity;             /* words including the name; negative: at least -arity */
    unsigned flags;
    cmd_handler handler;
    const char *synopsis;  /* the grammar, as HELP shows it */
    const char *summary;   /* one line on what it does */
};

const struct command *command_lookup(const char *name, size_t len);
const struct command *command_table(size_t *count);

/* Looks the command up, checks its arity (and, for a subscribed client,
 * that the command is allowed) and runs it. NULL when the handler answered
 * through the connection itself (several replies, or a blocked request). */
struct reply *command_dispatch(struct cmd_ctx *ctx, const struct request *req);

/* For handlers: a record field holding a time as RFC 3339 UTC, or nil
 * when ms is 0 (never happened). */
void cmd_record_time(struct reply *r, const char *key, int64_t ms);

/* Handlers, by family. */
struct reply *cmd_ping(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_help(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_quit(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_info(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_metrics(struct cmd_ctx *ctx, const struct request *req);

struct reply *cmd_create(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_get(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_track(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_update(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_cancel(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_history(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_list(struct cmd_ctx *ctx, const struct request *req);

struct reply *cmd_subscribe(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_psubscribe(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_unsubscribe(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_punsubscribe(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_publish(struct cmd_ctx *ctx, const struct request *req);

struct reply *cmd_channel(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_read(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_consume(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_ack(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_nack(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_groups(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_pending(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_channels(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_dlq(struct cmd_ctx *ctx, const struct request *req);

struct reply *cmd_step(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_saga(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_sagas(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_policy(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_breakers(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_sim(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_stock(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_customer(struct cmd_ctx *ctx, const struct request *req);

#endif
