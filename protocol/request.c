/* The request parser: picks inline or RESP by a request's first byte, as
 * Redis does, and enforces the limits that are about the whole request. */
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "inline.h"
#include "reply.h"
#include "resp.h"
#include "xalloc.h"

struct req_parser {
    struct proto_limits lim;
    struct buf in;               /* received, not yet parsed */
    struct argv_builder args;    /* the request handed out last */
    size_t scanned;              /* inline: bytes already searched for LF */
    bool failed;                 /* sticky: framing is lost */
    struct req_error failure;
};

void proto_limits_default(struct proto_limits *lim)
{
    lim->max_inline = PROTO_MAX_INLINE_DEFAULT;
    lim->max_bulk = PROTO_MAX_BULK_DEFAULT;
    lim->max_args = PROTO_MAX_ARGS_DEFAULT;
    lim->max_pending = PROTO_MAX_PENDING_DEFAULT;
}

struct req_parser *req_parser_new(const struct proto_limits *lim)
{
    struct req_parser *p = xcalloc(1, sizeof *p);
    if (lim)
        p->lim = *lim;
    else
        proto_limits_default(&p->lim);
    buf_init(&p->in);
    argv_init(&p->args);
    return p;
}

void req_parser_free(struct req_parser *p)
{
    if (p == NULL)
        return;
    buf_free(&p->in);
    argv_free(&p->args);
    free(p);
}

char *req_parser_space(struct req_parser *p, size_t n)
{
    return buf_space(&p->in, n);
}

void req_parser_commit(struct req_parser *p, size_t n)
{
    buf_commit(&p->in, n);
}

void req_parser_feed(struct req_parser *p, const char *data, size_t n)
{
    buf_append(&p->in, data, n);
}

size_t req_parser_pending(const struct req_parser *p)
{
    return buf_used(&p->in);
}

static enum req_status fail(struct req_parser *p, struct req_error *err)
{
    p->failed = true;
    p->failure = *err;
    return REQ_FATAL;
}

/* fmt names the limit and holds one %zu for its value. */
static enum req_status fail_limit(struct req_parser *p, struct req_error *err,
                                  const char *fmt, size_t limit)
{
    err->code = ERR_LIMIT;
    snprintf(err->msg, sizeof err->msg, fmt, limit);
    return fail(p, err);
}

static enum req_status next_resp(struct req_parser *p, struct request *out,
                                 struct req_error *err)
{
    const char *data = buf_head(&p->in);
    size_t avail = buf_used(&p->in);
    size_t flen = 0;

    switch (resp_frame(data, avail, &p->lim, &flen, err)) {
    case RESP_NEED_MORE:
        if (avail > p->lim.max_pending)
            return fail_limit(p, err, "request exceeds %zu bytes", p->lim.max_pending);
        return REQ_NEED_MORE;
    case RESP_ERROR:
        return fail(p, err);
    case RESP_EMPTY:
        buf_consume(&p->in, flen);
        return REQ_NEED_MORE;  /* the caller loops on */
    case RESP_OK:
        break;
    }
    if (flen > p->lim.max_pending)
        return fail_limit(p, err, "request exceeds %zu bytes", p->lim.max_pending);
    resp_args(data, flen, &p->args);
    buf_consume(&p->in, flen);
    argv_finish(&p->args, out);
    out->kind = PROTO_RESP;
    return REQ_READY;
}

static enum req_status next_inline(struct req_parser *p, struct request *out,
                                   struct req_error *err)
{
    const char *data = buf_head(&p->in);
    size_t avail = buf_used(&p->in);
    const char *nl = memchr(data + p->scanned, '\n', avail - p->scanned);

    if (nl == NULL) {
        p->scanned = avail;
        /* One byte over the limit may still be the CR of a CRLF. */
        if (avail > p->lim.max_inline + 1 ||
            (avail == p->lim.max_inline + 1 && data[avail - 1] != '\r'))
            return fail_limit(p, err, "inline line exceeds %zu bytes", p->lim.max_inline);
        if (avail > p->lim.max_pending)
            return fail_limit(p, err, "request exceeds %zu bytes", p->lim.max_pending);
        return REQ_NEED_MORE;
    }
    p->scanned = 0;
    size_t consumed = (size_t)(nl - data) + 1;
    size_t len = consumed - 1;
    if (len > 0 && data[len - 1] == '\r')
        len--;
    if (len > p->lim.max_inline)
        return fail_limit(p, err, "inline line exceeds %zu bytes", p->lim.max_inline);
    /* Whether the line arrived in pieces or in one read must not matter. */
    if (consumed > p->lim.max_pending)
        return fail_limit(p, err, "request exceeds %zu bytes", p->lim.max_pending);

    enum inline_status st = inline_split(data, len, p->lim.max_args, &p->args);
    buf_consume(&p->in, consumed);
    switch (st) {
    case INLINE_OK:
        break;
    case INLINE_TOO_MANY:
        return fail_limit(p, err, "too many arguments (max %zu)", p->lim.max_args);
    case INLINE_UNTERMINATED:
        err->code = ERR_ERR;
        snprintf(err->msg, sizeof err->msg, "Protocol error: unterminated quote");
        return REQ_BAD;
    case INLINE_BAD_ESCAPE:
        err->code = ERR_ERR;
        snprintf(err->msg, sizeof err->msg,
                 "Protocol error: invalid escape in double quotes");
        return REQ_BAD;
    }
    if (p->args.argc == 0)
        return REQ_NEED_MORE;  /* a blank line: the caller loops on */
    argv_finish(&p->args, out);
    out->kind = PROTO_INLINE;
    return REQ_READY;
}

void req_parser_set_limits(struct req_parser *p, const struct proto_limits *lim)
{
    p->lim = *lim;
}

static bool arg_is(const struct arg *a, const char *word)
{
    return a->len == strlen(word) && strncasecmp(a->ptr, word, a->len) == 0;
}

bool request_looks_like_http(const struct request *req)
{
    static const char *const methods[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS",
                                          "PATCH", "CONNECT", "TRACE"};
    if (req->argc == 0)
        return false;
    if (arg_is(&req->argv[0], "POST") || arg_is(&req->argv[0], "Host:"))
        return true;
    if (req->kind != PROTO_INLINE || req->argc != 3 || req->argv[2].len < 6 ||
        memcmp(req->argv[2].ptr, "HTTP/", 5) != 0)
        return false;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (req->argv[0].len == strlen(methods[i]) &&
            memcmp(req->argv[0].ptr, methods[i], req->argv[0].len) == 0)
            return true;
    return false;
}

enum req_status req_parser_next(struct req_parser *p, struct request *out,
                                struct req_error *err)
{
    if (p->failed) {
        *err = p->failure;
        return REQ_FATAL;
    }
    /* Blank lines and empty arrays produce nothing; skip them here so the
     * caller sees NEED_MORE only when the input is really exhausted. */
    while (buf_used(&p->in) > 0) {
        size_t before = buf_used(&p->in);
        enum req_status st;
        argv_reset(&p->args);
        if (buf_head(&p->in)[0] == '*')
            st = next_resp(p, out, err);
        else
            st = next_inline(p, out, err);
        if (st != REQ_NEED_MORE || buf_used(&p->in) == before)
            return st;
    }
    return REQ_NEED_MORE;
}
