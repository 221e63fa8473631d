/* The request parser: fed bytes as they arrive from one client, it yields
 * one argv vector per request. A request is an inline line, or a RESP array
 * of bulk strings when its first byte is '*'; a client may mix both. */
#ifndef PROTOCOL_REQUEST_H
#define PROTOCOL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* Every limit a client can push against. Over any of them the parser
 * answers -LIMIT and the connection is closed, because once a request is
 * refused halfway its end can no longer be found. */
struct proto_limits {
    size_t max_inline;   /* bytes in one inline line, CRLF excluded */
    size_t max_bulk;     /* bytes in one RESP bulk string */
    size_t max_args;     /* arguments in one request */
    size_t max_pending;  /* bytes of one request not yet complete */
};

#define PROTO_MAX_INLINE_DEFAULT (64u * 1024)
#define PROTO_MAX_BULK_DEFAULT (1024u * 1024)
#define PROTO_MAX_ARGS_DEFAULT 1024u
#define PROTO_MAX_PENDING_DEFAULT (2u * 1024 * 1024)

void proto_limits_default(struct proto_limits *lim);

/* How a request arrived decides how its reply is rendered. */
enum proto_kind {
    PROTO_INLINE,
    PROTO_RESP,
    PROTO_JSON,   /* an HTTP request, mapped onto the same argv */
};

struct arg {
    const char *ptr;  /* NUL-terminated; may also hold NULs inside */
    size_t len;
};

struct request {
    size_t argc;
    struct arg *argv;  /* owned by the parser, valid until the next call */
    enum proto_kind kind;
};

enum req_status {
    REQ_READY,      /* *out holds a request */
    REQ_NEED_MORE,  /* feed more bytes */
    REQ_BAD,        /* a malformed inline line: answer *err, carry on */
    REQ_FATAL,      /* framing lost or a limit hit: answer *err, close */
};

struct req_error {
    const char *code;   /* an ERR_* code from reply.h */
    char msg[128];
};

struct req_parser;

struct req_parser *req_parser_new(const struct proto_limits *lim);
void req_parser_free(struct req_parser *p);

/* Room for at least n more input bytes; say how many were written with
 * req_parser_commit(). Feeding copies instead. */
char *req_parser_space(struct req_parser *p, size_t n);
void req_parser_commit(struct req_parser *p, size_t n);
void req_parser_feed(struct req_parser *p, const char *data, size_t n);

/* The next complete request, if any. After REQ_FATAL every call returns
 * REQ_FATAL again: a parser in error stays in error. */
enum req_status req_parser_next(struct req_parser *p, struct request *out,
                                struct req_error *err);

/* Replaces the limits, from the next request on: a connection holds an
 * unauthenticated client to tighter ones. */
void req_parser_set_limits(struct req_parser *p, const struct proto_limits *lim);

/* Whether req is the start of an HTTP request sent to the protocol port:
 * a `POST` or a `Host:` line, or an inline `<METHOD> <target> HTTP/1.x`.
 * A browser can be made to send one (cross-protocol scripting); the
 * connection must be closed before any line after it runs. */
bool request_looks_like_http(const struct request *req);

/* Bytes received and not yet turned into requests. */
size_t req_parser_pending(const struct req_parser *p);

#endif
