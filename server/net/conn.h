/* A client connection: read -> parse -> dispatch -> render -> write, in
 * strict request order, with backpressure when the client stops reading.
 * Its states and the decisions they lead to are in conn_state.h; this file
 * does the I/O. For net.c only: everyone else sees a connection as the
 * struct cmd_client it embeds. */
#ifndef NET_CONN_H
#define NET_CONN_H

#include <stdbool.h>
#include <stdint.h>

struct net;
struct conn;

/* Takes ownership of fd (non-blocking), and puts the connection on n's list. */
struct conn *conn_new(struct net *n, int fd);

/* Closes now, dropping unsent output. Only where nothing else is iterating
 * over connections. */
void conn_free(struct conn *c);

/* Shutdown: a blocked request is withdrawn, unanswered; the connection
 * closes once every earlier reply is written. c may be gone on return. */
void conn_finish(struct conn *c);

/* Runs the connections with work deferred to the end of this loop turn. */
void conn_run_deferred(struct net *n);

/* The store is durable up to pos: held connections whose output may go
 * now are due to run; the rest stay held. */
void conn_release_held(struct net *n, uint64_t pos);

struct conn *conn_next(const struct conn *c);

#endif
