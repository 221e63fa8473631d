/* The server: its one state struct, owned by main(), holding the event
 * loop, the listener, every connection and every subsystem. Nothing else in
 * orderd keeps mutable global state. */
#ifndef SERVER_SERVER_H
#define SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"
#include "lib/log.h"
#include "store/store.h"

#define ORDERD_VERSION "0.1.0"

struct server_config {
    char bind[64];
    int port;
    struct proto_limits limits;
    size_t max_clients;   /* connections beyond this are refused */
    size_t max_output;    /* a client with this many reply bytes unread is
                             not read from until it catches up */
    /* Pushes cannot be paused: a subscriber with more than the hard limit
     * unread, or more than the soft limit for soft_seconds, is cut off
     * (Redis's client-output-buffer-limit for pubsub, same defaults). */
    size_t pubsub_hard_limit;
    size_t pubsub_soft_limit;
    unsigned pubsub_soft_seconds;
    struct store_config store;
    unsigned sim_mask;    /* simulated participants: a bit per participant */
    char http_bind[64];
    int http_port;        /* -1: no HTTP listener */
    bool saga;            /* orders run through sagas (else clients move them) */
};

#define SERVER_DATA_DIR_DEFAULT "var"

#define SERVER_MAX_CLIENTS_DEFAULT 10000
#define SERVER_MAX_OUTPUT_DEFAULT (1024u * 1024)
#define SERVER_PUBSUB_HARD_DEFAULT (32u * 1024 * 1024)
#define SERVER_PUBSUB_SOFT_DEFAULT (8u * 1024 * 1024)
#define SERVER_PUBSUB_SOFT_SECONDS_DEFAULT 60u

struct server_stats {
    uint64_t connections_total;
    uint64_t connections_rejected;
    uint64_t commands;
    uint64_t errors;
    uint64_t clients_cut_off;   /* subscribers over the output limits */
    uint64_t published;         /* PUBLISH and internal events */
};

struct conn;
struct book;
struct pubsub;
struct dlq;
struct chan_registry;
struct metrics;

struct server {
    struct server_config cfg;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *sig_int;
    struct event *sig_term;
    struct event *accept_retry;     /* re-enables accepting after EMFILE */
    struct event *shutdown_deadline;
    struct event *deferred_ev;      /* runs conn_run_deferred() */
    struct conn *deferred;          /* connections with deferred work */
    struct conn *held;              /* output waiting for durability */
    struct event *tick;             /* once a second: fsync, compaction */
    struct event *sig_chld;         /* a compaction child exited */
    struct store *store;
    struct engine *engine;          /* the sagas */
    struct sim *sim;                /* the simulated participants */
    struct metrics *metrics;        /* latencies, errors by code */
    int bound_port;                 /* the TCP port, once listening */
    struct evhttp *http;            /* /metrics, /healthz, /readyz */
    int http_port;
    int64_t tick_due_ms;            /* when the one-second tick should fire */
    struct log_limiter log_limits;  /* clients hitting a limit */
    struct log_limiter log_conn_errors;
    struct log_limiter log_dlq;     /* messages moving into the DLQ */
    struct book *book;
    struct pubsub *pubsub;          /* live channels */
    struct dlq *dlq;
    struct chan_registry *channels; /* durable channels and groups */
    struct event *due_timer;        /* the channels' next deadline */
    uint64_t last_event_id;         /* order events published */
    struct conn *conns;             /* every open connection, a list */
    size_t nconns;
    uint64_t next_conn_id;
    int64_t now_ms;                 /* wall clock, read once per wake-up */
    int64_t started_mono_ms;
    bool shutting_down;
    int64_t last_accept_warn_ms;
    struct server_stats stats;
};

void server_config_default(struct server_config *cfg);

/* Binds and sets up everything. Returns 0, or -1 with err filled. */
int server_init(struct server *srv, const struct server_config *cfg, char *err,
                size_t errlen);
/* Runs the loop until shut down. */
void server_run(struct server *srv);
void server_free(struct server *srv);

/* Stop accepting, send every reply already due, then leave the loop. */
void server_shutdown(struct server *srv);

/* Reads the wall clock into srv->now_ms: called at each wake-up. */
void server_tick(struct server *srv);

/* Called by a connection as it closes: first, so that subsystems forget
 * it, then once it is gone. */
void server_conn_closing(struct server *srv, struct conn *c);
void server_conn_closed(struct server *srv);

/* Makes sure conn_run_deferred() runs at the end of this loop turn. */
void server_wake_deferred(struct server *srv);

/* Resident memory in bytes, or 0 if unknown. */
size_t server_rss_bytes(void);

#endif
