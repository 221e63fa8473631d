/* The HTTP port's connections, as far as evhttp lets them be seen: from a
 * connection's first request until it closes. They are counted against
 * --http-max-connections, and what is in flight on one (an API exchange
 * waiting for durability, an event stream) is told when it goes, so that
 * nothing outlives its request. A connection that never sends a request
 * is not seen here; --http-idle-timeout closes it. */
#ifndef NET_HTTP_PEER_H
#define NET_HTTP_PEER_H

#include <stddef.h>

struct evhttp_request;
struct http_peers;
struct http_peer;

/* gauge, if not NULL, is kept at the number of connections seen. */
struct http_peers *http_peers_new(size_t max, size_t *gauge);
/* Forgets every connection, telling nobody (shutting down: evhttp_free
 * closes them after). */
void http_peers_free(struct http_peers *ps);

/* The peer of req's connection, made at its first request; NULL when
 * --http-max-connections are open already (answer 503 and close). */
struct http_peer *http_peer_of(struct http_peers *ps, struct evhttp_request *req);

/* on_gone(arg) when the connection closes, until watched again with
 * NULL. One watcher at a time: a connection runs one request at a time. */
void http_peer_watch(struct http_peer *p, void (*on_gone)(void *arg), void *arg);

size_t http_peers_count(const struct http_peers *ps);

#endif
