/* The server: its one state struct, owned by main(), holding the event
 * loop, the listener, every connection and every subsystem. Nothing else in
 * orderd keeps mutable global state. */
#ifndef SERVER_SERVER_H
#define SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

#define ORDERD_VERSION "0.1.0"

struct server_config {
    char bind[64];
    int port;
    struct proto_limits limits;
    size_t max_clients;   /* connections beyond this are refused */
    size_t max_output;    /* a client with this many reply bytes unread is
                             not read from until it catches up */
};

#define SERVER_MAX_CLIENTS_DEFAULT 10000
#define SERVER_MAX_OUTPUT_DEFAULT (1024u * 1024)

struct server_stats {
    uint64_t connections_total;
    uint64_t connections_rejected;
    uint64_t commands;
    uint64_t errors;
};

struct conn;
struct book;

struct server {
    struct server_config cfg;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *sig_int;
    struct event *sig_term;
    struct event *accept_retry;     /* re-enables accepting after EMFILE */
    struct event *shutdown_deadline;
    struct book *book;
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

/* Called by a connection as it closes. */
void server_conn_closed(struct server *srv);

/* Resident memory in bytes, or 0 if unknown. */
size_t server_rss_bytes(void);

#endif
