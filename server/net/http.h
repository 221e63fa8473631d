/* The HTTP side door, with libevent's evhttp: /metrics in Prometheus's
 * text format (from cmd/figures.c), /healthz (the process answers) and
 * /readyz (the store takes changes and orderd is not shutting down). */
#ifndef SERVER_HTTP_H
#define SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_sse.h"

struct event_base;
struct cmd_env;
struct buf;
struct http;
struct tls_context;

struct http_config {
    char bind[64];
    int port;                 /* -1: no HTTP listener; 0: any free port */
    /* What one request may send, each with its own status: the request
     * line and headers together (431, or 400 from libevent while they are
     * still arriving), the number of headers (431), the URL (414). */
    size_t max_header_bytes;
    size_t max_headers;
    size_t max_url;
    bool tls;                 /* HTTPS, with the TLS port's certificate (--http-tls) */
    size_t max_body;          /* bytes of a request's body (413) */
    size_t max_connections;   /* connections with a request made (503 past it) */
    unsigned idle_timeout;    /* seconds a connection may send nothing */
    const char *cors_origin;  /* the origin CORS lets call the API, or NULL */
    struct http_sse_config sse;  /* GET /events: heartbeat, streams, output limits */
};

#define HTTP_PORT_DEFAULT 7071
#define HTTP_MAX_HEADER_BYTES_DEFAULT 8192
#define HTTP_MAX_HEADERS_DEFAULT 64
#define HTTP_MAX_URL_DEFAULT 2048
#define HTTP_MAX_BODY_DEFAULT 65536
#define HTTP_MAX_CONNECTIONS_DEFAULT 1024
#define HTTP_IDLE_TIMEOUT_DEFAULT 60

void http_config_default(struct http_config *cfg);

/* Listens as cfg says; with cfg->tls, every connection is a TLS session
 * of tls (borrowed, outliving the listener). NULL with err filled. */
struct http *http_start(struct event_base *base, struct cmd_env *env,
                        const struct http_config *cfg, struct tls_context *tls, char *err,
                        size_t errlen);
void http_stop(struct http *h);

/* The store made every change up to pos durable: API responses waiting
 * for it are sent. */
void http_durable(struct http *h, uint64_t pos);

/* The Prometheus text exposition of every figure. */
void http_prometheus(struct cmd_env *env, struct buf *out);

#endif
