/* The HTTP/JSON API on the HTTP port: each request becomes the request
 * the other framings make (http_route.h), runs through the command table
 * as a client of its own, and its reply is rendered as JSON, or as an RFC
 * 9457 problem document when it is an error. A reply that shows a change
 * waits, as on the protocol port, until the store has made that change
 * durable (http_api_durable()). */
#ifndef NET_HTTP_API_H
#define NET_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_sse.h"

struct cmd_env;
struct evhttp_request;
struct http_api;
struct http_problem;
struct http_peer;

struct http_api_config {
    const char *cors_origin;  /* --http-cors-origin; NULL: no CORS headers */
    struct http_sse_config sse;  /* GET /events */
};

struct http_api *http_api_new(struct cmd_env *env, const struct http_api_config *cfg);
/* Drops every request still in flight, unanswered (shutting down). */
void http_api_free(struct http_api *a);

/* Serves req, which came on peer's connection, if its path is one of the
 * API's; false if it is not (the caller answers 404 then). */
bool http_api_handle(struct http_api *a, struct evhttp_request *req, struct http_peer *peer);

/* The store made every change up to pos durable (event streams too). */
void http_api_durable(struct http_api *a, uint64_t pos);

/* The status an error code is given (NOTFOUND 404, BADARG 400, ...). */
int http_status_of(const char *code);

/* Sends the response with its body, or to HEAD without it: libevent
 * writes whatever the output buffer holds, HEAD or not, and gives a HEAD
 * response no Content-Length, so a body there would be read as the start
 * of the next response on a keep-alive connection. HEAD gets the length
 * GET's body has, and no body. */
void http_send_body(struct evhttp_request *req, int status, const char *reason,
                    const void *body, size_t n);

/* Sends a problem document: {"type","title","status","detail","code"},
 * application/problem+json, with Retry-After on a 503 and the challenge
 * on a 401. */
void http_send_problem(struct evhttp_request *req, int status, const char *code,
                       const char *detail, const char *allow);

#endif
