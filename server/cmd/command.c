/* The command table: names, arities, grammar and handlers in one place, so
 * HELP, dispatch and the docs cannot disagree. */
#include "command.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "channels/bus.h"
#include "channels/channel.h"
#include "channels/pubsub.h"
#include "auth/acl.h"
#include "client.h"
#include "lib/clock.h"
#include "lib/kvargs.h"
#include "utf8.h"
#include "metrics.h"
#include "store/store.h"

/* --- which forms change state ---------------------------------------------
 * For commands whose forms differ; the table's CMD_WRITE is for the rest.
 * tests/unit/test_command.c holds these against what the commands do. */

static bool word_is(const struct request *req, size_t i, const char *word)
{
    return req->argc > i && strcasecmp(req->argv[i].ptr, word) == 0;
}

/* CHANNEL CREATE declares; CHANNEL INFO reads. */
static bool channel_changes(const struct cmd_env *env, const struct request *req)
{
    (void)env;
    return word_is(req, 1, "CREATE");
}

/* DLQ REPLAY and PURGE move dead letters; LIST and SHOW read. */
static bool dlq_changes(const struct cmd_env *env, const struct request *req)
{
    (void)env;
    return word_is(req, 1, "REPLAY") || word_is(req, 1, "PURGE");
}

/* SIM SET and STOCK SET change settings or stock; bare SIM and STOCK <sku> read. */
static bool set_changes(const struct cmd_env *env, const struct request *req)
{
    (void)env;
    return word_is(req, 1, "SET");
}

/* POLICY <step> reads; with settings it sets them. */
static bool policy_changes(const struct cmd_env *env, const struct request *req)
{
    (void)env;
    return req->argc > 2;
}

/* SAGA ABORT forces a saga to an end; SAGA <id> reads. */
static bool abort_changes(const struct cmd_env *env, const struct request *req)
{
    (void)env;
    return word_is(req, 1, "ABORT");
}

/* A message on a durable channel is appended to its log; one on a live
 * channel only reaches whoever listens, and changes nothing. */
static bool publish_changes(const struct cmd_env *env, const struct request *req)
{
    return req->argc > 1 && memchr(req->argv[1].ptr, '\0', req->argv[1].len) == NULL &&
           chreg_find(bus_channels(env->bus), req->argv[1].ptr) != NULL;
}

/* --- who may run what ------------------------------------------------------
 * The role table of docs/protocol.md; tests/unit/test_command.c holds
 * every role against every command family. */

#define R_ALL ROLE_ALL
/* Orders and their events: a client's, and an operator's to read. */
#define R_ORDERS (ROLE_CLIENT | ROLE_OPERATOR)
/* A durable channel's history: a worker's, and an operator's to read. */
#define R_MESSAGES (ROLE_WORKER | ROLE_OPERATOR)

/* Commands an operator reads with, whose changing forms (CHANNEL CREATE,
 * SAGA ABORT, POLICY settings, SIM SET, STOCK SET) are an admin's. */
static unsigned admin_changes(const struct request *req);

/* DLQ LIST and SHOW read and REPLAY puts work back: an operator's; PURGE
 * destroys it: an admin's. */
static unsigned dlq_roles(const struct request *req)
{
    return word_is(req, 1, "PURGE") ? ROLE_ADMIN : ROLE_OPERATOR;
}

/* ACL WHOAMI and ROLES are anyone's own; ACL USERS lists everyone. */
static unsigned acl_roles(const struct request *req)
{
    return word_is(req, 1, "USERS") ? ROLE_ADMIN : ROLE_ALL;
}

static const struct command commands[] = {
    {"AUTH", -2, CMD_NOAUTH | CMD_PUBSUB | CMD_BINARY | CMD_NOSTATE, cmd_auth,
     "AUTH <password> | AUTH <user> <password>",
     "authenticates the connection (--requirepass, or a user of --acl-file)", NULL, R_ALL, NULL},
    {"ACL", 2, CMD_NOSTATE, cmd_acl, "ACL WHOAMI | ACL ROLES | ACL USERS",
     "who this connection is, its roles; every user (an admin's)", NULL, R_ALL, acl_roles},
    {"SHUTDOWN", 1, CMD_NOSTATE, cmd_shutdown, "SHUTDOWN",
     "answers OK and stops the server as SIGTERM does", NULL, ROLE_ADMIN, NULL},
    {"PING", -1, CMD_NOAUTH | CMD_PUBSUB | CMD_BINARY | CMD_NOSTATE, cmd_ping, "PING [message]",
     "answers PONG, or echoes the message", NULL,
     R_ALL, NULL},
    {"CREATE", -5, CMD_WRITE, cmd_create,
     "CREATE customer=<id> item=<sku> qty=<n> amount=<decimal> [currency=<ISO 4217>] [key=<idempotency key>]",
     "creates an order in PENDING and returns it", NULL,
     ROLE_CLIENT, NULL},
    {"GET", 2, 0, cmd_get, "GET <id>", "returns an order", NULL,
     R_ORDERS, NULL},
    {"TRACK", 2, 0, cmd_track, "TRACK <id>",
     "returns an order's status, last update and latest transitions", NULL,
     R_ORDERS, NULL},
    {"UPDATE", -3, CMD_WRITE, cmd_update, "UPDATE <id> status=<status> [note=<text>]",
     "moves an order along its lifecycle", NULL,
     ROLE_OPERATOR, NULL},
    {"CANCEL", -2, CMD_WRITE, cmd_cancel, "CANCEL <id> [reason=<text>]",
     "cancels an order that has not reached a final status", NULL,
     R_ORDERS, NULL},
    {"HISTORY", 2, 0, cmd_history, "HISTORY <id>",
     "lists every transition of an order: time, from, to, source, note", NULL,
     R_ORDERS, NULL},
    {"LIST", -1, 0, cmd_list,
     "LIST [status=<status>] [customer=<id>] [after=<id>] [limit=<n, 1..1000, default 100>]",
     "lists orders in ascending id; page with after=<last id seen>", NULL,
     R_ORDERS, NULL},
    {"INFO", -1, 0, cmd_info, "INFO [section]",
     "readable figures by section: server clients commands orders sagas channels dlq store", NULL,
     ROLE_OPERATOR, NULL},
    {"METRICS", -1, 0, cmd_metrics, "METRICS [section]",
     "the same figures as one record, for scripts and ordertop", NULL,
     ROLE_OPERATOR, NULL},
    {"HELP", -1, CMD_NOAUTH | CMD_BINARY | CMD_NOSTATE, cmd_help, "HELP [command]", "lists every command, or explains one", NULL,
     R_ALL, NULL},
    {"COMMAND", -1, CMD_NOSTATE, cmd_command, "COMMAND | COMMAND COUNT | COMMAND DOCS [command...]",
     "every command as Redis's COMMAND describes its own; how many; their arguments and summaries "
     "(redis-cli's hints and help)", NULL,
     R_ALL, NULL},
    {"QUIT", 1, CMD_NOAUTH | CMD_PUBSUB | CMD_NOSTATE, cmd_quit, "QUIT", "answers OK and closes the connection", NULL,
     R_ALL, NULL},
    {"SUBSCRIBE", -2, CMD_PUBSUB | CMD_BINARY, cmd_subscribe, "SUBSCRIBE <channel>...",
     "receives every message published on the channels from now on", NULL,
     R_ORDERS, NULL},
    {"PSUBSCRIBE", -2, CMD_PUBSUB | CMD_BINARY, cmd_psubscribe, "PSUBSCRIBE <pattern>...",
     "the same for channels matching glob patterns (* ? [...] \\)", NULL,
     R_ORDERS, NULL},
    {"UNSUBSCRIBE", -1, CMD_PUBSUB | CMD_BINARY, cmd_unsubscribe, "UNSUBSCRIBE [channel...]",
     "stops receiving from the channels, or from all", NULL,
     R_ORDERS, NULL},
    {"PUNSUBSCRIBE", -1, CMD_PUBSUB | CMD_BINARY, cmd_punsubscribe, "PUNSUBSCRIBE [pattern...]",
     "stops receiving from the patterns, or from all", NULL,
     R_ORDERS, NULL},
    {"PUBLISH", 3, CMD_BINARY, cmd_publish, "PUBLISH <channel> <payload>",
     "sends a message; appends it too when the channel is durable; answers the receivers",
     publish_changes,
     ROLE_WORKER, NULL},
    {"CHANNEL", -3, 0, cmd_channel,
     "CHANNEL CREATE <ch> [maxlen=<n>] [maxage=<s>] [ackwait=<ms>] [maxdeliver=<n>] [backoff=<ms>] [backoffmax=<ms>] [maxpending=<n>] | CHANNEL INFO <ch>",
     "declares a durable channel (same settings again is fine), or shows one",
     channel_changes,
     ROLE_OPERATOR, admin_changes},
    {"READ", -2, CMD_WORKER, cmd_read,
     "READ <ch> [from=<offset>] [count=<n, 1..1000, default 100>]",
     "replays a durable channel's history", NULL,
     R_MESSAGES, NULL},
    {"CONSUME", -4, CMD_WRITE | CMD_WORKER | CMD_SETTLES, cmd_consume,
     "CONSUME <ch> group=<g> consumer=<name> [count=<n>] [block=<ms>]",
     "takes messages for a consumer group, at least once; block waits for them", NULL,
     ROLE_WORKER, NULL},
    {"ACK", -4, CMD_WRITE | CMD_SETTLES, cmd_ack, "ACK <ch> group=<g> <id>...",
     "settles delivered messages; answers how many were pending", NULL,
     ROLE_WORKER, NULL},
    {"NACK", -4, CMD_WRITE | CMD_SETTLES, cmd_nack,
     "NACK <ch> group=<g> <id> [delay=<ms>] [reason=<text>]",
     "gives a message back for redelivery (after a backoff unless delay= says)", NULL,
     ROLE_WORKER, NULL},
    {"GROUPS", 2, 0, cmd_groups, "GROUPS <ch>",
     "each consumer group: consumers, pending, lag, committed offset", NULL,
     ROLE_OPERATOR, NULL},
    {"PENDING", -3, 0, cmd_pending, "PENDING <ch> group=<g> [limit=<n>]",
     "messages delivered and not settled: consumer, deliveries, state, idle time", NULL,
     ROLE_OPERATOR, NULL},
    {"CHANNELS", 1, 0, cmd_channels, "CHANNELS",
     "every channel: durable or live, subscribers, length, groups", NULL,
     ROLE_OPERATOR, NULL},
    {"STEP", -5, CMD_WRITE | CMD_WORKER | CMD_SETTLES, cmd_step,
     "STEP <ch> group=<g> <id> ok|fail|retry|progress [reason=<text>] [tracking=<no>] [location=<text>] [eta=<ms>]",
     "a participant's answer to a saga step message: acknowledges it and moves the saga on", NULL,
     ROLE_WORKER, NULL},
    {"SAGA", -2, 0, cmd_saga, "SAGA <id> | SAGA ABORT <id> [reason=<text>]",
     "an order's saga: its state, then every step with attempts, error, next retry, start, end; "
     "ABORT forces it to an end, undoing what was done (the order ends FAILED)",
     abort_changes,
     ROLE_OPERATOR, admin_changes},
    {"SAGAS", -1, 0, cmd_sagas, "SAGAS [state=<s>] [limit=<n>]",
     "sagas in flight (or in state s: running dead-lettered compensating cancelling done failed cancelled)", NULL,
     ROLE_OPERATOR, NULL},
    {"POLICY", -2, 0, cmd_policy,
     "POLICY <step> [base=<ms>] [cap=<ms>] [attempts=<n>] [timeout=<ms>]",
     "shows or sets a saga step's retries: backoff base and cap, attempts, timeout",
     policy_changes,
     ROLE_OPERATOR, admin_changes},
    {"BREAKERS", 1, 0, cmd_breakers, "BREAKERS",
     "each participant's circuit breaker: state, failure rate, calls, times opened", NULL,
     ROLE_OPERATOR, NULL},
    {"SIM", -1, 0, cmd_sim,
     "SIM | SIM SET <participant> [enabled=0|1] [decline=<0..1>] [error=<0..1>] [latency=<ms>] [transit=<ms>] [stock=<n>]",
     "the simulated participants' settings: failure modes to show live", set_changes,
     ROLE_OPERATOR, admin_changes},
    {"STOCK", -2, 0, cmd_stock, "STOCK <sku> | STOCK SET <sku> <level>",
     "the simulated inventory's stock of a SKU", set_changes,
     ROLE_OPERATOR, admin_changes},
    {"CUSTOMER", 3, CMD_WRITE, cmd_customer, "CUSTOMER BLOCK|UNBLOCK <id>",
     "blocks a customer (their orders fail validation) or unblocks them", NULL,
     ROLE_ADMIN, NULL},
    {"DLQ", -2, 0, cmd_dlq,
     "DLQ LIST [channel=<ch>] [limit=<n>] | SHOW <id> | REPLAY <id>|ALL [channel=<ch>] [limit=<n>] | PURGE <id>|ALL [channel=<ch>]",
     "the dead-letter queue: inspect, replay (oldest first) and purge", dlq_changes,
     ROLE_OPERATOR, dlq_roles},
};

static unsigned admin_changes(const struct request *req)
{
    const struct command *cmd = command_lookup(req->argv[0].ptr, req->argv[0].len);
    return cmd && cmd->changes && cmd->changes(NULL, req) ? ROLE_ADMIN : ROLE_OPERATOR;
}

unsigned command_roles(const struct command *cmd, const struct request *req)
{
    return cmd->roles_of ? cmd->roles_of(req) : cmd->roles;
}

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

static struct reply *nul_error(const struct arg *a, size_t i)
{
    const char *nul = memchr(a->ptr, '\0', a->len);
    const char *eq = memchr(a->ptr, '=', (size_t)(nul - a->ptr));
    char shown[96];
    if (eq && eq > a->ptr) {
        kv_printable(shown, sizeof shown, a->ptr, (size_t)(eq - a->ptr));
        return reply_error(ERR_BADARG, "field '%s' contains a NUL byte", shown);
    }
    kv_printable(shown, sizeof shown, a->ptr, a->len);
    return reply_error(ERR_BADARG, "argument %zu contains a NUL byte: '%s'", i, shown);
}

static struct reply *refuse_role(struct cmd_ctx *ctx, const struct command *cmd,
                                 const struct request *req)
{
    const struct acl_user *u = ctx->client->user;
    char roles[64], form[64];
    acl_roles_format(u->roles, roles, sizeof roles);
    /* The form refused, as the role table names it: DLQ PURGE, SIM SET. */
    if (cmd->roles_of && req->argc > 1) {
        char word[32];
        kv_printable(word, sizeof word, req->argv[1].ptr, req->argv[1].len);
        snprintf(form, sizeof form, "%s %s", cmd->name, word);
    } else
        snprintf(form, sizeof form, "%s", cmd->name);
    for (char *p = form; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    ctx->stateless = true;
    ctx->env->counters->noperm++;
    return reply_error(ERR_NOPERM, "user %s (%s) may not run %s", u->name,
                       roles[0] ? roles : "no role", form);
}

bool command_changes(const struct command *cmd, const struct cmd_env *env,
                     const struct request *req)
{
    return cmd->changes ? cmd->changes(env, req) : (cmd->flags & CMD_WRITE) != 0;
}

static struct reply *dispatch(struct cmd_ctx *ctx, const struct request *req,
                              const struct command *cmd)
{
    ctx->changes = false;
    /* An unknown command's error shows no state either. */
    ctx->stateless = cmd == NULL || (cmd->flags & CMD_NOSTATE);
    if (ctx->client)
        ctx->client->changes = false;
    /* Before authenticating, a client learns nothing, not even which
     * commands exist. */
    if (ctx->client && ctx->client->user == NULL && acl_enabled(ctx->env->acl) &&
        (cmd == NULL || !(cmd->flags & CMD_NOAUTH))) {
        ctx->stateless = true;
        return reply_error(ERR_NOAUTH, "authentication required");
    }
    if (cmd == NULL) {
        char shown[96];
        kv_printable(shown, sizeof shown, req->argv[0].ptr, req->argv[0].len);
        return reply_error(ERR_ERR, "unknown command '%s'", shown);
    }
    if (ctx->client && !(cmd->flags & CMD_PUBSUB) && pubsub_count(&ctx->client->sub) > 0) {
        char lower[32];
        size_t i = 0;
        for (; cmd->name[i] && i < sizeof lower - 1; i++)
            lower[i] = (char)(cmd->name[i] | 0x20);
        lower[i] = '\0';
        return reply_error(ERR_ERR,
                           "Can't execute '%s': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT "
                           "are allowed in this context",
                           lower);
    }
    int argc = (int)req->argc;
    if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity))
        return reply_error(ERR_ERR, "wrong number of arguments for '%s'", cmd->name);
    if (ctx->client && ctx->client->user && !acl_roles_allow(ctx->client->user->roles,
                                                              command_roles(cmd, req)))
        return refuse_role(ctx, cmd, req);
    /* Arguments are taken whole, with their length: one that holds a NUL
     * where text is expected is refused here, never cut short there. */
    if (!(cmd->flags & CMD_BINARY))
        for (size_t i = 1; i < req->argc; i++)
            if (memchr(req->argv[i].ptr, '\0', req->argv[i].len))
                return nul_error(&req->argv[i], i);
    /* Refused before anything changes, never half done: a change the
     * store cannot record must not be made at all, nor one that would
     * grow a process already over --maxmemory. */
    if (command_changes(cmd, ctx->env, req)) {
        const struct memory_limit *mem = &ctx->env->memory;
        if (memory_over(mem) && !(cmd->flags & CMD_SETTLES)) {
            ctx->env->counters->oom_refused++;
            return reply_error(ERR_OOM,
                               "command not allowed when used memory (%zu bytes) is over "
                               "--maxmemory (%zu bytes)",
                               mem->used, mem->max);
        }
        char why[200];
        if (!store_writable(ctx->env->store, why, sizeof why))
            return reply_error(store_refusal_code(ctx->env->store), "%s", why);
        ctx->changes = true;
        if (ctx->client)
            ctx->client->changes = true;
    }
    if (ctx->client && (cmd->flags & CMD_WORKER))
        ctx->client->worker = true;
    return cmd->handler(ctx, req);
}

struct reply *command_dispatch(struct cmd_ctx *ctx, const struct request *req)
{
    const struct command *cmd = command_lookup(req->argv[0].ptr, req->argv[0].len);
    uint64_t start = metrics_now_us();
    struct reply *r = dispatch(ctx, req, cmd);
    size_t index = cmd ? (size_t)(cmd - commands) : SIZE_MAX;
    metrics_command(ctx->env->metrics, index, metrics_now_us() - start,
                    r && r->type == REPLY_ERROR);
    return r;
}

struct reply *cmd_check_text(const struct cmd_ctx *ctx, const char *field, const char *v,
                             size_t len)
{
    if (v == NULL || !store_text_utf8(ctx->env->store) || utf8_valid(v, len))
        return NULL;
    return reply_error(ERR_BADARG, "%s must be UTF-8: the database keeps it as text", field);
}

struct reply *cmd_check_name(const char *field, const char *v, size_t len)
{
    if (len == 0)
        return reply_error(ERR_BADARG, "%s must not be empty", field);
    if (len > CMD_NAME_MAX)
        return reply_error(ERR_BADARG, "%s is longer than %d bytes", field, CMD_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return reply_error(ERR_BADARG, "%s must not contain control characters", field);
    return NULL;
}

void cmd_record_time(struct clock *clk, struct reply *r, const char *key, int64_t ms)
{
    char ts[CLOCK_RFC3339_LEN];
    if (ms <= 0) {
        reply_record_add(r, key, reply_nil());
        return;
    }
    clock_format(clk, ms, ts);
    reply_record_str(r, key, ts);
}
