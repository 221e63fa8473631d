/* One non-blocking PostgreSQL connection on the event loop, in pipeline
 * mode: its socket is an event, libpq is driven by PQconnectPoll, PQflush,
 * PQconsumeInput, PQisBusy and PQgetResult as it asks, and requests are
 * answered in the order they were sent. A request is a few statements
 * ending in a sync point; its answer carries the rows of those that return
 * rows and the first error. Nothing here blocks. */
#ifndef STORE_PG_CONN_H
#define STORE_PG_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct event_base;
struct pg_conn;

#define PG_REPLY_ROWS_MAX 4

struct pg_reply {
    bool lost;                /* the connection went before the answer */
    const char *error;        /* the first statement that failed, or NULL */
    const char *sqlstate;     /* its SQLSTATE ("" when none) */
    PGresult *rows[PG_REPLY_ROWS_MAX];  /* of the statements that return rows, in order */
    size_t nrows;
};

typedef void (*pg_done_fn)(void *arg, const struct pg_reply *r);

struct pg_conn_hooks {
    void *ctx;
    void (*up)(void *ctx);                    /* connected */
    void (*down)(void *ctx, const char *why); /* lost (after the answers it lost) */
};

/* appname is the connection's application_name, which names it in
 * pg_stat_activity. */
struct pg_conn *pg_conn_new(struct event_base *base, const char *conninfo, const char *appname,
                            const struct pg_conn_hooks *hooks);
/* Every request still waiting is answered lost. */
void pg_conn_free(struct pg_conn *c);

/* Starts connecting when not connected nor connecting. */
void pg_conn_connect(struct pg_conn *c);
/* When connecting started (monotonic ms), 0 when not connecting. */
int64_t pg_conn_connecting_since(const struct pg_conn *c);
bool pg_conn_ready(const struct pg_conn *c);
bool pg_conn_down(const struct pg_conn *c);
/* Closes the connection: requests waiting are answered lost, then
 * hooks.down. */
void pg_conn_drop(struct pg_conn *c, const char *why);

/* Sends n statements (NUL-terminated one after the other in sql) as one
 * request; done is called with the answer (on the loop, never from here).
 * False when not connected, or when sending failed (the connection is
 * dropped). */
bool pg_conn_send(struct pg_conn *c, const char *sql, size_t n, pg_done_fn done, void *arg);
size_t pg_conn_waiting(const struct pg_conn *c);
/* When the oldest request waiting went out (monotonic ms), 0 when none. */
int64_t pg_conn_oldest_ms(const struct pg_conn *c);
/* The server process of the connection, 0 when none. */
int pg_conn_backend(const struct pg_conn *c);
uint64_t pg_conn_bytes(const struct pg_conn *c);

/* Blocks until no request is waiting or until ms passed: for closing. */
void pg_conn_wait(struct pg_conn *c, int64_t ms);

/* libpq's message on one line. */
void pg_one_line(char *s);

/* A blocking connection with the same settings: for start-up and take-over.
 * NULL with err filled when it fails. */
PGconn *pg_connect_blocking(const char *conninfo, const char *appname, char *err,
                            size_t errlen);

/* Every connection, blocking or not, gets: client_encoding UTF8 (libpq),
 * and from its first statements standard_conforming_strings on (the
 * literals are written for it) and TCP keepalives on the server's side,
 * so that a transaction whose client vanished mid-send does not hold its
 * locks for hours. Also keepalives on libpq's side. */

#endif
