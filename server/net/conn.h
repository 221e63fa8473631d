/* A client connection: read -> parse -> dispatch -> render -> write, in
 * strict request order, with backpressure when the client stops reading.
 *
 * Besides replying to its own requests, a connection can be written to by
 * others: pub/sub messages are pushed to subscribers, and a blocked request
 * (CONSUME block=) is answered later by whoever makes it ready. Such writes
 * never touch the socket directly: the connection is put on the server's
 * deferred list and written once at the end of the loop turn. */
#ifndef SERVER_CONN_H
#define SERVER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reply.h"
#include "request.h"

struct server;
struct conn;
struct pubsub_client;

/* Takes ownership of fd (non-blocking). */
struct conn *conn_new(struct server *srv, int fd);

/* Closes now, dropping unsent output. Only for use where nothing else is
 * iterating over connections; otherwise use conn_kill(). */
void conn_free(struct conn *c);

/* Closes at the end of this loop turn, dropping unsent output: for cutting
 * off a client from inside someone else's request. reason goes to the log. */
void conn_kill(struct conn *c, const char *reason);

/* Closes once every reply queued so far is written (QUIT, protocol errors,
 * shutdown); reads nothing more. */
void conn_close_after_reply(struct conn *c);

/* The same, from outside request processing: also writes (and possibly
 * closes) now. c may be gone when it returns. */
void conn_finish(struct conn *c);

/* Sends a reply rendered for this connection's current request. Takes
 * ownership of r. For handlers that answer with more than one reply
 * (SUBSCRIBE a b) or answer later (a blocked CONSUME). */
void conn_reply(struct conn *c, struct reply *r);

/* Appends bytes already rendered in the connection's push framing (see
 * conn_push_kind) and checks the pub/sub output limits. */
void conn_push_rendered(struct conn *c, const char *bytes, size_t n);

/* The framing pushes are rendered in: that of the request that subscribed. */
enum proto_kind conn_push_kind(const struct conn *c);
enum proto_kind conn_request_kind(const struct conn *c);
void conn_set_push_kind(struct conn *c, enum proto_kind kind);

/* Blocking: the current request will be answered later with
 * conn_unblock(); until then no further request of this client is run.
 * If the connection closes first, cancel(arg) is called. */
void conn_block(struct conn *c, void (*cancel)(void *arg), void *arg);
void conn_unblock(struct conn *c, struct reply *r);
bool conn_is_blocked(const struct conn *c);

/* Pub/sub state, owned by pubsub.c. */
struct pubsub_client **conn_pubsub(struct conn *c);

uint64_t conn_id(const struct conn *c);
struct conn *conn_next(const struct conn *c);
size_t conn_output_pending(const struct conn *c);

/* Runs deferred work: writes, resumes and closes queued this loop turn. */
void conn_run_deferred(struct server *srv);

/* The store made more changes durable: connections whose output waited
 * for that are scheduled to write. */
void conn_release_held(struct server *srv);

#endif
