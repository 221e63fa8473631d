/* The protocol port over TLS (--tls-port): a listener, and for each
 * client a relay between its TLS session and one end of a socket pair
 * whose other end becomes an ordinary connection (net_adopt). Everything
 * a connection does (durability barriers, pausing a client that stops
 * reading, lingering, the limits) then applies to TLS clients unchanged,
 * and conn.c knows nothing of TLS.
 *
 * A relay copies both ways with back-pressure: one side is not read while
 * the other's unsent bytes are over a bound, so a relay holds little
 * whatever the two ends do, and a client that stops reading backs up into
 * its connection, which pauses it as it would a plain one. An EOF is passed
 * on: the client's as a shutdown of the inner end (the connection sees
 * EOF); the connection's by sending the client what is left, then TLS's
 * close_notify. A failed handshake (plain text on this port, a client
 * certificate missing or not signed by the CA) closes the connection,
 * and nothing is served. */
#ifndef NET_TLS_PORT_H
#define NET_TLS_PORT_H

#include <stddef.h>

struct cmd_env;
struct event_base;
struct tls_context;
struct tls_port;

struct tls_port_hooks {
    void *ctx;
    /* A client's TLS session is up: fd, its relay's inner end, becomes a
     * connection (net_adopt). Ownership of fd passes with the call. */
    void (*adopt)(void *ctx, int fd);
    /* Shutting down, and the last relay is gone. */
    void (*drained)(void *ctx);
};

/* Listens on bind:port (0: any free one; the port bound goes to
 * env->counters->tls_port and the log's event=tls_listening). At most
 * max_handshakes sessions are set up at once; past them a client is
 * closed at once. NULL with err filled. */
struct tls_port *tls_port_open(struct tls_context *tls, struct event_base *base,
                               struct cmd_env *env, const char *bind, int port,
                               size_t max_handshakes, const struct tls_port_hooks *hooks,
                               char *err, size_t errlen);

/* Stops accepting; handshakes under way are dropped. The other relays
 * finish as their connections close (net_shutdown closes them), then
 * drained(). */
void tls_port_shutdown(struct tls_port *p);

/* Closes everything at once. NULL is allowed. */
void tls_port_free(struct tls_port *p);

#endif
