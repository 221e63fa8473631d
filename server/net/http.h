/* The HTTP side door, with libevent's evhttp: /metrics in Prometheus's
 * text format (from figures.c), /healthz (the process answers) and
 * /readyz (the store is writable and orderd is not shutting down). */
#ifndef SERVER_HTTP_H
#define SERVER_HTTP_H

#include <stddef.h>

struct server;
struct buf;

/* Listens on bind:port (port 0: any free one). Returns 0 or -1 with err. */
int http_start(struct server *srv, const char *bind, int port, char *err, size_t errlen);
void http_stop(struct server *srv);

/* The Prometheus text exposition of every figure. */
void http_prometheus(struct server *srv, struct buf *out);

#endif
