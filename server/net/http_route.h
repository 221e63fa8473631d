/* The HTTP API's routes: a method, a path, a query string and a JSON body
 * become the same request (argv) the inline and RESP framings produce, and
 * a note on how its reply is shaped into a response. No command is
 * implemented twice: everything after this runs through the command
 * table. Pure: no sockets, no server, so every route is unit-tested. */
#ifndef NET_HTTP_ROUTE_H
#define NET_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "request.h"

enum http_verb {
    VERB_GET,
    VERB_HEAD,
    VERB_POST,
    VERB_PUT,
    VERB_PATCH,
    VERB_DELETE,
    VERB_OPTIONS,
    VERB_OTHER,
};

/* How a reply becomes a response. */
enum http_shape {
    SHAPE_PLAIN,       /* 200 and the reply as JSON */
    SHAPE_CREATED,     /* 201, Location: /orders/<id>, and the order */
    SHAPE_ORDER_PAGE,  /* {"orders":[...],"next":<id to go on after, or null>} */
    SHAPE_WRAP,        /* {"<wrap>": the reply} */
    SHAPE_EVENTS,      /* Server-Sent Events: no command; the query names the channels */
    SHAPE_OPENAPI,     /* the OpenAPI document: no command */
};

#define HTTP_CALL_MAX_ARGS 16
/* Depth of a JSON body: an object of scalars is 2; a little room over. */
#define HTTP_BODY_MAX_DEPTH 8

struct http_call {
    struct request req;        /* argv into text; kind PROTO_JSON */
    enum http_shape shape;
    const char *wrap;          /* SHAPE_WRAP's key */
    unsigned long page;        /* SHAPE_ORDER_PAGE: the page size asked */
    const char *route;         /* the route's pattern: "/orders/{id}" */
    struct arg args[HTTP_CALL_MAX_ARGS];
    struct buf text;           /* the arguments' bytes, each NUL-terminated */
};

/* Why a request has no call: an HTTP status, the protocol's error code
 * (the `code` of the problem document) and what to tell the client. */
struct http_problem {
    int status;
    const char *code;          /* an ERR_* code */
    char detail[256];
    char allow[64];            /* 405: the methods the path takes, else "" */
};

/* Fills p (no Allow) and returns -1, for a caller to return. */
int http_problem_set(struct http_problem *p, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

enum http_verb http_verb_parse(const char *method);
const char *http_verb_name(enum http_verb v);

/* path: as it came, percent-encoded; query: the part after '?', or NULL;
 * body: what came (may be empty);
 * idempotency_key: the Idempotency-Key header or NULL. Fills out (free
 * it with http_call_free) and returns 0, or fills p and returns -1. */
int http_route(enum http_verb verb, const char *path, const char *query, const char *body,
               size_t bodylen, const char *idempotency_key, struct http_call *out,
               struct http_problem *p);
void http_call_free(struct http_call *c);

/* The value of one query parameter (decoded), for routes without a
 * command (/events): NULL when absent. The caller frees it. */
char *http_query_param(const char *query, const char *name);

#endif
