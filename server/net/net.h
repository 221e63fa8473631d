/* The network side of the server: the protocol port's listener and every
 * client connection, each run through the command table (cmd/). Replies
 * that depend on changes not yet durable are held, and released by the
 * store's durability event (net_durable), never by polling.
 *
 * Work that other code asks of a connection (a push, an answer to a
 * blocked request, a reply released by the store) is never written on
 * the spot: the connection is put on a list and written once, at the end
 * of the loop turn, by net_run_deferred(), so a burst of pushes costs one
 * write per client. */
#ifndef NET_NET_H
#define NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/client.h"
#include "lib/log.h"
#include "output_limit.h"
#include "request.h"

struct event_base;
struct event;
struct listener;
struct cmd_env;
struct conn;

struct net_config {
    char bind[64];
    int port;                 /* 0: any free one; -1: none (TLS only) */
    struct proto_limits limits;
    size_t max_clients;       /* connections beyond this are refused */
    size_t max_output;        /* a client with this many reply bytes unread is
                                 not read from until it catches up */
    unsigned max_output_pause;  /* seconds a client may stay paused so while it
                                   keeps sending; then it is closed */
    /* Unread output that cuts a client off, by its kind (cmd/client.h):
     * a normal client has none (it is paused at max_output instead); a
     * subscriber's pushes cannot be paused (Redis's limits for pubsub,
     * same defaults); a worker's unread messages are held from the rest of
     * its group. See output_limit.h. */
    struct output_limit output_limits[CLIENT_KINDS];
    unsigned timeout;         /* seconds a client may send nothing before it is
                                 closed (not while subscribed, blocked, or
                                 waiting for the store); 0: never */
};

#define NET_MAX_CLIENTS_DEFAULT 10000
/* Large, as Redis has no limit for normal clients: a pipeline that writes
 * all its requests before reading (redis-py's does) must fit its replies
 * here, or it waits on us while we wait on it. 64 MiB holds the replies to
 * 100,000 CREATEs. */
#define NET_MAX_OUTPUT_DEFAULT (64u * 1024 * 1024)
#define NET_MAX_OUTPUT_PAUSE_DEFAULT 30u
#define NET_PUBSUB_HARD_DEFAULT (32u * 1024 * 1024)
#define NET_PUBSUB_SOFT_DEFAULT (8u * 1024 * 1024)
#define NET_PUBSUB_SOFT_SECONDS_DEFAULT 60u
#define NET_WORKER_HARD_DEFAULT (32u * 1024 * 1024)
#define NET_WORKER_SOFT_DEFAULT (8u * 1024 * 1024)
#define NET_WORKER_SOFT_SECONDS_DEFAULT 60u

void net_config_default(struct net_config *cfg);

/* Until it authenticates, a client of a server with users is held to
 * these (or the configured limits, if lower), as Redis does: AUTH needs
 * three short arguments, and nobody unknown gets to make orderd buffer
 * megabytes. */
#define NET_PREAUTH_MAX_ARGS 16u
#define NET_PREAUTH_MAX_BYTES (16u * 1024)

struct net_hooks {
    void *ctx;
    /* Make net_run_deferred() run at the end of this loop turn. */
    void (*wake)(void *ctx);
    /* Shutting down, and the last connection has closed. */
    void (*drained)(void *ctx);
};

/* Everything below is net/'s own; the struct is here for conn.c. */
struct net {
    struct net_config cfg;
    struct event_base *base;
    struct cmd_env *env;            /* borrowed */
    struct net_hooks hooks;
    struct listener *listener;      /* NULL with --port off */
    struct conn *conns;             /* every open connection */
    struct conn *deferred;          /* with work for the end of the turn */
    struct conn *held;              /* output waiting for durability */
    uint64_t next_conn_id;
    bool shutting_down;
    struct log_limiter log_limits;  /* clients hitting a limit */
    struct log_limiter log_idle;    /* clients closed for --timeout */
    struct log_limiter log_conn_errors;
};

struct net *net_new(const struct net_config *cfg, struct event_base *base, struct cmd_env *env,
                    const struct net_hooks *hooks);
/* Closes every connection at once, unsent output dropped. */
void net_free(struct net *n);

/* Binds and listens (unless the port is -1); the port bound goes to
 * env->counters->port. Returns 0, or -1 with err filled. */
int net_listen(struct net *n, char *err, size_t errlen);

/* A connected socket (non-blocking) becomes a client, as one accepted on
 * the protocol port does: the TLS port hands over its relays' inner ends
 * here. At --max-clients it is told -LIMIT and closed; while shutting
 * down it is closed. Takes ownership of fd. */
void net_adopt(struct net *n, int fd);

/* Stop accepting, send every reply already due, then close; drained()
 * when the last connection is gone (at once if there is none). */
void net_shutdown(struct net *n);

/* Runs deferred work: writes, resumed requests and closes queued this turn. */
void net_run_deferred(struct net *n);

/* The store made every change up to pos durable: connections whose output
 * waited for that are written at the end of the turn. */
void net_durable(struct net *n, uint64_t pos);

size_t net_clients(const struct net *n);

#endif
