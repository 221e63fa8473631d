/* A listening TCP socket on the loop, shared by the protocol port and the
 * TLS port: binds host:port (0: any free port, which the log then names),
 * and hands each accepted socket (non-blocking, close-on-exec) to a
 * callback. When the process runs out of descriptors it stops accepting
 * for a moment instead of spinning on a listener that stays readable. */
#ifndef NET_LISTEN_H
#define NET_LISTEN_H

#include <stddef.h>

struct event_base;
struct listener;

/* Takes ownership of fd. */
typedef void (*listener_accept_fn)(void *arg, int fd);

/* Listens on bind:port and logs `event=<event> addr=<host>:<port>`.
 * NULL with err filled ("cannot parse bind address ...", "cannot listen
 * on ..."). */
struct listener *listener_new(struct event_base *base, const char *bind, int port,
                              const char *event, listener_accept_fn fn, void *arg, char *err,
                              size_t errlen);
/* The port bound (what 0 became). */
int listener_port(const struct listener *l);
/* Stops accepting and closes the socket. NULL is allowed. */
void listener_free(struct listener *l);

#endif
