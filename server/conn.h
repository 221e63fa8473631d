/* A client connection: read -> parse -> dispatch -> render -> write, in
 * strict request order, with backpressure when the client stops reading. */
#ifndef SERVER_CONN_H
#define SERVER_CONN_H

#include <stdint.h>

struct server;
struct conn;

/* Takes ownership of fd (non-blocking). */
struct conn *conn_new(struct server *srv, int fd);

/* Closes now, dropping unsent output. */
void conn_free(struct conn *c);

/* Closes once every reply queued so far is written (QUIT, protocol errors,
 * shutdown); reads nothing more. */
void conn_close_after_reply(struct conn *c);

/* The same, from outside request processing: also writes (and possibly
 * closes) now. c may be gone when it returns. */
void conn_finish(struct conn *c);

uint64_t conn_id(const struct conn *c);
struct conn *conn_next(const struct conn *c);

#endif
