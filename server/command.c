/* The command table: names, arities, grammar and handlers in one place, so
 * HELP, dispatch and the docs cannot disagree. */
#include "command.h"

#include <string.h>
#include <strings.h>

#include "kvargs.h"

static const struct command commands[] = {
    {"PING", -1, 0, cmd_ping, "PING [message]",
     "answers PONG, or echoes the message"},
    {"CREATE", -5, CMD_WRITE, cmd_create,
     "CREATE customer=<id> item=<sku> qty=<n> amount=<decimal> [currency=<ISO 4217>] [key=<idempotency key>]",
     "creates an order in PENDING and returns it"},
    {"GET", 2, 0, cmd_get, "GET <id>", "returns an order"},
    {"TRACK", 2, 0, cmd_track, "TRACK <id>",
     "returns an order's status, last update and latest transitions"},
    {"UPDATE", -3, CMD_WRITE, cmd_update, "UPDATE <id> status=<status> [note=<text>]",
     "moves an order along its lifecycle"},
    {"CANCEL", -2, CMD_WRITE, cmd_cancel, "CANCEL <id> [reason=<text>]",
     "cancels an order that has not reached a final status"},
    {"HISTORY", 2, 0, cmd_history, "HISTORY <id>",
     "lists every transition of an order: time, from, to, source, note"},
    {"LIST", -1, 0, cmd_list,
     "LIST [status=<status>] [customer=<id>] [after=<id>] [limit=<n, 1..1000, default 100>]",
     "lists orders in ascending id; page with after=<last id seen>"},
    {"INFO", 1, 0, cmd_info, "INFO", "server version, uptime, clients, orders by status, memory"},
    {"HELP", -1, 0, cmd_help, "HELP [command]", "lists every command, or explains one"},
    {"QUIT", 1, 0, cmd_quit, "QUIT", "answers OK and closes the connection"},
};

const struct command *command_table(size_t *count)
{
    *count = sizeof commands / sizeof commands[0];
    return commands;
}

const struct command *command_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strlen(commands[i].name) == len && strncasecmp(commands[i].name, name, len) == 0)
            return &commands[i];
    return NULL;
}

struct reply *command_dispatch(struct cmd_ctx *ctx, const struct request *req)
{
    const struct command *cmd = command_lookup(req->argv[0].ptr, req->argv[0].len);
    if (cmd == NULL) {
        char shown[96];
        kv_printable(shown, sizeof shown, req->argv[0].ptr, req->argv[0].len);
        return reply_error(ERR_ERR, "unknown command '%s'", shown);
    }
    int argc = (int)req->argc;
    if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity))
        return reply_error(ERR_ERR, "wrong number of arguments for '%s'", cmd->name);
    return cmd->handler(ctx, req);
}
