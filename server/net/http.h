/* The HTTP side door, with libevent's evhttp: /metrics in Prometheus's
 * text format (from cmd/figures.c), /healthz (the process answers) and
 * /readyz (the store takes changes and orderd is not shutting down). */
#ifndef SERVER_HTTP_H
#define SERVER_HTTP_H

#include <stddef.h>

struct event_base;
struct cmd_env;
struct buf;
struct http;

/* Listens on bind:port (port 0: any free one). NULL with err filled. */
struct http *http_start(struct event_base *base, struct cmd_env *env, const char *bind,
                        int port, char *err, size_t errlen);
void http_stop(struct http *h);

/* The Prometheus text exposition of every figure. */
void http_prometheus(struct cmd_env *env, struct buf *out);

#endif
