/* The command table and dispatch. A handler gets the parsed request and
 * returns one reply value; it never sees how the reply will be rendered.
 *
 * Every command declares whether it changes state, per subcommand where
 * that differs (CHANNEL CREATE does, CHANNEL INFO does not). A request
 * that would change state is refused with -STORE before its handler runs
 * when the store cannot record it, and with -OOM while memory is over
 * --maxmemory (unless it settles work: CMD_SETTLES); one that changes
 * nothing always runs, whatever the store's trouble. */
#ifndef CMD_COMMAND_H
#define CMD_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "lib/memory.h"
#include "reply.h"
#include "request.h"

struct event_base;
struct clock;
struct book;
struct bus;
struct engine;
struct sim;
struct store;
struct order_cache;
struct metrics;
struct cmd_client;
struct acl;
struct log_limiter;

/* What the server and its connections count and know, for INFO and the
 * figures; kept by them, read here. */
struct server_counters {
    uint64_t connections_total;
    uint64_t connections_rejected;
    uint64_t commands;
    uint64_t errors;
    uint64_t auth_failures;     /* AUTH with a wrong user or password */
    uint64_t noperm;            /* requests refused for the user's roles */
    uint64_t http_probes;       /* HTTP requests sent to the protocol port */
    uint64_t http_requests;     /* requests on the HTTP port */
    size_t http_connections;    /* HTTP connections that have made a request, open now */
    uint64_t cut_off[CLIENT_KINDS];  /* clients closed at their output limits, by kind */
    uint64_t clients_timed_out; /* closed after --timeout idle */
    uint64_t oom_refused;       /* changes refused over --maxmemory */
    size_t clients;             /* connected now */
    int port;                   /* the protocol port, once bound */
    int64_t started_ms;         /* server clock */
    bool saga;                  /* orders run through sagas */
    bool shutting_down;
    int tls_port;               /* the TLS protocol port, once bound (0: none) */
    uint64_t tls_connections;   /* TLS sessions set up on it */
    uint64_t tls_handshake_failures;
};

/* The subsystems commands act on, all borrowed. */
struct cmd_env {
    struct event_base *base;
    struct clock *clk;
    struct book *book;
    struct bus *bus;
    struct engine *engine;
    struct sim *sim;
    struct store *store;
    struct metrics *metrics;
    struct order_cache *cache;  /* NULL: every order stays in memory */
    struct server_counters *counters;
    size_t max_subscriptions;   /* channels and patterns per client */
    size_t max_message;         /* payload bytes of a message on a durable channel */
    size_t max_reply_payload;   /* payload bytes one READ or CONSUME reply carries */
    const struct acl *acl;      /* users and roles; none configured: no AUTH needed */
    struct log_limiter *auth_log;  /* failed AUTHs */
    /* SHUTDOWN: stop the server as SIGTERM does, once this reply is out. */
    void (*shutdown)(void *ctx);
    void *shutdown_ctx;
    size_t max_channels;        /* durable channels CHANNEL CREATE makes at most */
    struct memory_limit memory; /* --maxmemory; its sample is kept by the server */
};

#define CMD_MAX_SUBSCRIPTIONS_DEFAULT 100000
#define CMD_MAX_MESSAGE_DEFAULT (1024u * 1024)
#define CMD_MAX_REPLY_PAYLOAD_DEFAULT (4u * 1024 * 1024)
#define CMD_MAX_CHANNELS_DEFAULT 10000

struct cmd_ctx {
    struct cmd_env *env;
    struct cmd_client *client;  /* NULL when not called on behalf of a client */
    bool changes;               /* set by dispatch: the request is declared to change state */
    bool rerun;                 /* run again after loading orders (cmd_load.h): no more loads */
    bool stateless;             /* set by dispatch: the reply shows no state (CMD_NOSTATE) */
};

typedef struct reply *(*cmd_handler)(struct cmd_ctx *ctx, const struct request *req);

enum cmd_flags {
    CMD_WRITE = 1 << 0,   /* changes state (unless `changes` says per request) */
    CMD_PUBSUB = 1 << 1,  /* allowed while the client is subscribed */
    CMD_BINARY = 1 << 2,  /* its arguments are bytes (a payload, a pub/sub name):
                             NUL is allowed; everywhere else it is refused */
    CMD_NOSTATE = 1 << 3, /* its reply shows no state (PING, HELP, QUIT): it
                             need not wait for other clients' changes to be
                             durable (a slow store does not hold it) */
    CMD_NOAUTH = 1 << 4,  /* allowed before authenticating (AUTH, PING, HELP, QUIT) */
    CMD_WORKER = 1 << 5,  /* takes messages (CONSUME, READ, STEP): the client
                             is a worker from then on (its output limits) */
    CMD_SETTLES = 1 << 6, /* a change that takes or settles work already
                             there (a worker's loop): not refused over
                             --maxmemory, as what it finishes frees memory */
};

struct command {
    const char *name;      /* upper case */
    int arity;             /* words including the name; negative: at least -arity */
    unsigned flags;
    cmd_handler handler;
    const char *synopsis;  /* the grammar, as HELP shows it */
    const char *summary;   /* one line on what it does */
    /* For commands whose subcommands differ: whether this request changes
     * state. NULL: CMD_WRITE says, for every form. */
    bool (*changes)(const struct cmd_env *env, const struct request *req);
    /* Who may run it (enum role bits, auth/acl.h; an admin may run
     * everything). roles_of, when set, decides per form instead
     * (DLQ REPLAY is an operator's, DLQ PURGE an admin's). */
    unsigned roles;
    unsigned (*roles_of)(const struct request *req);
};

const struct command *command_lookup(const char *name, size_t len);
const struct command *command_table(size_t *count);

/* The roles that may run req, a request for cmd (an admin may run any). */
unsigned command_roles(const struct command *cmd, const struct request *req);

/* Whether req, a request for cmd, is declared to change state. */
bool command_changes(const struct command *cmd, const struct cmd_env *env,
                     const struct request *req);

/* Looks the command up, checks its arity (and, for a subscribed client,
 * that the command is allowed), refuses a change the store cannot take
 * (or one over --maxmemory), marks a worker (CMD_WORKER),
 * and runs it. NULL when the handler answered through the client itself
 * (several replies, or a blocked request). Sets ctx->changes. */
struct reply *command_dispatch(struct cmd_ctx *ctx, const struct request *req);

/* Longest customer, item, SKU or idempotency key. */
#define CMD_NAME_MAX 256
/* Longest note or reason. */
#define CMD_NOTE_MAX 1024

/* For handlers: a name-like value (customer, item, SKU, key) is 1 to
 * CMD_NAME_MAX bytes without control characters (NUL included). NULL when
 * it is, else the -BADARG reply naming field. */
struct reply *cmd_check_name(const char *field, const char *v, size_t len);
/* Text kept by a store that keeps it as UTF-8 (the PostgreSQL store) must
 * be UTF-8: -BADARG, before anything changes, when it is not. NULL when
 * it is, or when the store keeps bytes as they are. */
struct reply *cmd_check_text(const struct cmd_ctx *ctx, const char *field, const char *v,
                             size_t len);

/* For handlers: a record field holding a time as RFC 3339 UTC, or nil
 * when ms is 0 (never happened); formatted through the server's clock,
 * which is quick with times of the same second as the last. */
void cmd_record_time(struct clock *clk, struct reply *r, const char *key, int64_t ms);

/* Handlers, by family. */
struct reply *cmd_ping(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_help(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_command(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_quit(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_auth(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_acl(struct cmd_ctx *ctx, const struct request *req);
struct reply *cmd_shutdown(struct cmd_ctx *ctx, const struct request *req);
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
