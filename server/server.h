/* The server: builds every subsystem, hands each the pieces it needs, and
 * connects them through their hooks (the order book's observers, the
 * channels', the saga engine's, the store's). It owns the event loop, the
 * clock, signals and shutdown. Nothing below it includes it, and nothing
 * keeps mutable global state. */
#ifndef SERVER_SERVER_H
#define SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/acl.h"
#include "cmd/command.h"
#include "lib/clock.h"
#include "lib/gate.h"
#include "net/http.h"
#include "net/net.h"
#include "net/tls.h"
#include "store/journal_store.h"
#include "store/persist.h"
#include "store/pg_store.h"

enum store_kind {
    STORE_JOURNAL,
    STORE_MEMORY,
    STORE_POSTGRES,
};

struct server_config {
    struct net_config net;
    enum store_kind store;
    struct journal_options journal;  /* STORE_JOURNAL */
    struct pg_options pg;            /* STORE_POSTGRES (node: NULL for host:port) */
    size_t cache_orders;             /* finished orders kept in memory (a store that loads) */
    int64_t cache_ttl_ms;
    unsigned sim_mask;    /* simulated participants: a bit per participant */
    struct http_config http;
    size_t max_subscriptions;  /* channels and patterns per client */
    size_t max_message;        /* payload of a message on a durable channel */
    size_t max_reply_payload;  /* payload bytes of one READ or CONSUME reply */
    size_t max_channels;       /* durable channels CHANNEL CREATE makes at most */
    size_t maxmemory;          /* resident bytes past which changes are refused; 0: none */
    bool saga;            /* orders run through sagas (else clients move them) */
    struct tls_config tls;  /* the certificate, and the protocol port over TLS */
    const char *requirepass;  /* the default user's password, or NULL */
    const char *acl_file;     /* users and roles, or NULL */
    bool protected_mode;      /* no listening beyond loopback without users */
};

#define SERVER_DATA_DIR_DEFAULT "var"

struct event_base;
struct event;
struct book;
struct bus;
struct engine;
struct sim;
struct store;
struct metrics;
struct http;
struct tls_port;
struct notify;

struct server {
    struct server_config cfg;
    struct event_base *base;
    struct clock clock;
    struct gate gate;               /* closed while the store refuses changes */
    struct event *sig_int;
    struct event *sig_term;
    struct event *shutdown_deadline;
    struct event *turn_end;         /* commit the store, then write connections */
    int turn_waits;                 /* times this turn's end waited for the participants */
    struct event *tick;             /* once a second: the loop-lag probe */
    struct event *memory_sample;    /* --maxmemory: the resident size, every 100 ms */
    bool memory_error_logged;       /* a failed sample is logged once */
    int64_t tick_due_ms;
    struct metrics *metrics;
    struct book *book;
    struct bus *bus;
    struct engine *engine;
    struct sim *sim;
    struct store *store;
    struct order_cache *cache;      /* NULL: every order stays in memory */
    struct persist_target target;   /* what the store recovers into and snapshots */
    struct net *net;
    struct http *http;
    struct tls_context *tls;        /* NULL: no TLS anywhere */
    struct tls_port *tls_port;      /* NULL: no --tls-port */
    bool net_drained;               /* shutting down: every connection is closed */
    bool tls_drained;               /* ... and every TLS relay */
    struct notify *notify;          /* systemd: ready, status, stopping, watchdog */
    struct server_counters counters;
    struct acl acl;                 /* who may connect, and do what */
    struct log_limiter auth_log;    /* failed AUTHs */
    struct event *shutdown_asked;   /* SHUTDOWN: stop after its reply is out */
    struct cmd_env env;             /* what commands are given */
    uint64_t last_event_id;         /* order events published */
    int exit_code;                  /* what main returns */
};

void server_config_default(struct server_config *cfg);

/* Recovers the state, binds, and sets up everything. Returns 0, or -1
 * with err filled. */
int server_init(struct server *srv, const struct server_config *cfg, char *err,
                size_t errlen);
/* Runs the loop until shut down; returns the exit status: 0, or 1 when
 * the store lost durability (see store_hooks.fatal). */
int server_run(struct server *srv);
/* The process is ending: the store's last write and fsync, and nothing
 * else. The state (millions of orders, perhaps) is left for the exit to
 * take back at once: freeing it object by object took seconds. Returns 0,
 * or -1 when the store's last commit failed. */
int server_close(struct server *srv);
/* Frees everything (the store closed first). Returns 0, or -1 when the
 * store's last commit failed. */
int server_free(struct server *srv);

/* Stop accepting, send every reply already due, then leave the loop. */
void server_shutdown(struct server *srv);

#endif
