/* The command table and dispatch. A handler gets the parsed request and
 * returns one reply value; it never sees how the reply will be rendered. */
#ifndef SERVER_COMMAND_H
#define SERVER_COMMAND_H

#include <stddef.h>

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
    CMD_WRITE = 1 << 0,  /* changes state */
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

/* Looks the command up, checks its arity and runs it. Never NULL. */
struct reply *command_dispatch(struct cmd_ctx *ctx, const struct request *req);

/* Handlers, by family. */
struct reply *cmd_ping(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_help(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_quit(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_info(struct cmd_ctx *ctx, const struct request *req);

struct reply *cmd_create(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_get(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_track(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_update(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_cancel(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_history(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_list(struct cmd_ctx *ctx, const struct request *req);

#endif
