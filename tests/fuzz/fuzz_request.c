/* The request parser (protocol/request.h), fed a byte stream whole and in
 * random chunks. The input is
 *
 *     byte 0      the limits: two bits each pick max_inline, max_bulk,
 *                 max_args and max_pending, from tiny to the defaults
 *     bytes 1-8   chunk sizes (1 to 64 bytes), used in turn
 *     the rest    what a client sent
 *
 * Properties:
 *   - the requests, the protocol errors and the fatal end are the same
 *     whether the stream arrives whole or in pieces (through
 *     req_parser_feed and through req_parser_space/commit), and so are the
 *     bytes left over;
 *   - every request respects the limits: 1..max_args arguments, none over
 *     max_bulk (RESP) or max_inline (inline), each NUL-terminated; what is
 *     buffered while waiting for more never exceeds max_pending;
 *   - REQ_FATAL is sticky: more bytes and more calls give the same error;
 *   - request_looks_like_http() answers for every request (POST always);
 *   - a round trip: each request written again as a RESP array, and as an
 *     inline line with every argument quoted (escape.h), parses back to the
 *     same argv. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "escape.h"
#include "fuzz.h"
#include "reply.h"
#include "request.h"

#define CHUNKS 8
#define HEADER (1 + CHUNKS)

static size_t pick(unsigned bits, size_t a, size_t b, size_t c, size_t d)
{
    switch (bits & 3) {
    case 0: return a;
    case 1: return b;
    case 2: return c;
    default: return d;
    }
}

static struct proto_limits limits_of(uint8_t b)
{
    struct proto_limits lim;
    lim.max_inline = pick(b, 8, 40, 1024, PROTO_MAX_INLINE_DEFAULT);
    lim.max_bulk = pick(b >> 2, 4, 40, 1024, PROTO_MAX_BULK_DEFAULT);
    lim.max_args = pick(b >> 4, 1, 3, 64, PROTO_MAX_ARGS_DEFAULT);
    lim.max_pending = pick(b >> 6, 16, 100, 4096, PROTO_MAX_PENDING_DEFAULT);
    return lim;
}

/* --- the round trip -------------------------------------------------------- */

static struct req_parser *again;  /* generous limits, reused */

static void same_argv(const struct request *a, const struct request *b, const char *how)
{
    FUZZ_CHECK(a->argc == b->argc, "%s: %zu arguments became %zu", how, a->argc, b->argc);
    for (size_t i = 0; i < a->argc; i++)
        FUZZ_CHECK(a->argv[i].len == b->argv[i].len &&
                       memcmp(a->argv[i].ptr, b->argv[i].ptr, a->argv[i].len) == 0,
                   "%s: argument %zu differs", how, i);
}

static void reparse(const struct request *orig, const struct buf *wire, enum proto_kind kind,
                    const char *how)
{
    struct request back;
    struct req_error err;
    req_parser_feed(again, buf_head(wire), buf_used(wire));
    enum req_status st = req_parser_next(again, &back, &err);
    FUZZ_CHECK(st == REQ_READY, "%s: status %d (%s)", how, (int)st,
               st == REQ_READY ? "" : err.msg);
    FUZZ_CHECK(back.kind == kind, "%s: kind %d", how, (int)back.kind);
    same_argv(orig, &back, how);
    FUZZ_CHECK(req_parser_next(again, &back, &err) == REQ_NEED_MORE &&
                   req_parser_pending(again) == 0,
               "%s: bytes left after the request", how);
}

static void round_trip(const struct request *req)
{
    struct buf wire;
    buf_init(&wire);
    buf_printf(&wire, "*%zu\r\n", req->argc);
    for (size_t i = 0; i < req->argc; i++) {
        buf_printf(&wire, "$%zu\r\n", req->argv[i].len);
        buf_append(&wire, req->argv[i].ptr, req->argv[i].len);
        buf_append(&wire, "\r\n", 2);
    }
    reparse(req, &wire, PROTO_RESP, "as RESP");

    buf_clear(&wire);
    for (size_t i = 0; i < req->argc; i++) {
        if (i)
            buf_appendc(&wire, ' ');
        text_append_quoted(&wire, req->argv[i].ptr, req->argv[i].len);
    }
    buf_append(&wire, "\r\n", 2);
    reparse(req, &wire, PROTO_INLINE, "as a quoted inline line");
    buf_free(&wire);
}

/* --- one request ------------------------------------------------------------ */

static void check_request(const struct request *req, const struct proto_limits *lim)
{
    FUZZ_CHECK(req->argc >= 1 && req->argc <= lim->max_args, "%zu arguments (max %zu)",
               req->argc, lim->max_args);
    FUZZ_CHECK(req->kind == PROTO_RESP || req->kind == PROTO_INLINE, "kind %d", (int)req->kind);
    size_t max = req->kind == PROTO_RESP ? lim->max_bulk : lim->max_inline;
    for (size_t i = 0; i < req->argc; i++) {
        FUZZ_CHECK(req->argv[i].len <= max, "argument %zu: %zu bytes (max %zu)", i,
                   req->argv[i].len, max);
        FUZZ_CHECK(req->argv[i].ptr[req->argv[i].len] == '\0', "argument %zu not terminated", i);
    }
    bool http = request_looks_like_http(req);
    if (req->argv[0].len == 4 && strncasecmp(req->argv[0].ptr, "POST", 4) == 0)
        FUZZ_CHECK(http, "a POST not taken for HTTP");
    round_trip(req);
}

/* --- a whole parse, as a log of what came out ------------------------------- */

struct run {
    struct req_parser *p;
    struct proto_limits lim;
    struct buf log;        /* R/B/F records, then E and the bytes left */
    bool fatal;
    struct req_error fatal_err;
};

static void log_bytes(struct buf *log, const void *p, size_t n)
{
    buf_append(log, &n, sizeof n);
    buf_append(log, p, n);
}

/* Takes every request the parser has now. */
static void drain(struct run *r)
{
    for (;;) {
        struct request req;
        struct req_error err;
        memset(&err, 0, sizeof err);
        enum req_status st = req_parser_next(r->p, &req, &err);
        switch (st) {
        case REQ_NEED_MORE:
            FUZZ_CHECK(req_parser_pending(r->p) <= r->lim.max_pending,
                       "%zu bytes buffered (max_pending %zu)", req_parser_pending(r->p),
                       r->lim.max_pending);
            return;
        case REQ_READY:
            check_request(&req, &r->lim);
            buf_appendc(&r->log, 'R');
            buf_appendc(&r->log, (char)req.kind);
            buf_append(&r->log, &req.argc, sizeof req.argc);
            for (size_t i = 0; i < req.argc; i++)
                log_bytes(&r->log, req.argv[i].ptr, req.argv[i].len);
            break;
        case REQ_BAD:
            FUZZ_CHECK(err.code && strcmp(err.code, ERR_ERR) == 0 && err.msg[0],
                       "a bad request without its error");
            buf_appendc(&r->log, 'B');
            log_bytes(&r->log, err.msg, strlen(err.msg));
            break;
        case REQ_FATAL:
            FUZZ_CHECK(err.code && (strcmp(err.code, ERR_ERR) == 0 ||
                                    strcmp(err.code, ERR_LIMIT) == 0) && err.msg[0],
                       "a fatal error without its error");
            /* Which error, when a RESP frame is both malformed and longer
             * than max_pending, depends on how much of it arrived at once;
             * that it is fatal does not. */
            buf_appendc(&r->log, 'F');
            r->fatal = true;
            r->fatal_err = err;
            return;
        }
    }
}

static void run_init(struct run *r, const struct proto_limits *lim)
{
    r->p = req_parser_new(lim);
    r->lim = *lim;
    buf_init(&r->log);
    r->fatal = false;
}

static void run_end(struct run *r)
{
    if (!r->fatal) {
        size_t left = req_parser_pending(r->p);
        buf_appendc(&r->log, 'E');
        buf_append(&r->log, &left, sizeof left);
    }
}

static void run_free(struct run *r)
{
    req_parser_free(r->p);
    buf_free(&r->log);
}

/* Once fatal, always fatal, with the same error, whatever comes after. */
static void check_sticky(struct run *r, const uint8_t *more, size_t n)
{
    struct request req;
    struct req_error err;
    req_parser_feed(r->p, (const char *)more, n);
    for (int i = 0; i < 2; i++) {
        memset(&err, 0, sizeof err);
        FUZZ_CHECK(req_parser_next(r->p, &req, &err) == REQ_FATAL, "REQ_FATAL did not stick");
        FUZZ_CHECK(err.code == r->fatal_err.code && strcmp(err.msg, r->fatal_err.msg) == 0,
                   "the fatal error changed: '%s' then '%s'", r->fatal_err.msg, err.msg);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    if (again == NULL) {
        struct proto_limits big = {1u << 24, 1u << 24, 1u << 16, 1u << 26};
        again = req_parser_new(&big);
    }
    struct proto_limits lim = limits_of(data[0]);
    const uint8_t *chunk = data + 1;
    const uint8_t *in = data + HEADER;
    size_t n = size - HEADER;

    struct run whole, pieces;
    run_init(&whole, &lim);
    req_parser_feed(whole.p, (const char *)in, n);
    drain(&whole);
    run_end(&whole);

    run_init(&pieces, &lim);
    size_t at = 0;
    for (int k = 0; at < n && !pieces.fatal; k++) {
        size_t len = (size_t)(chunk[k % CHUNKS] & 63) + 1;
        if (len > n - at)
            len = n - at;
        if (k & 1) {
            memcpy(req_parser_space(pieces.p, len), in + at, len);
            req_parser_commit(pieces.p, len);
        } else {
            req_parser_feed(pieces.p, (const char *)in + at, len);
        }
        at += len;
        drain(&pieces);
    }
    run_end(&pieces);

    FUZZ_CHECK(buf_used(&whole.log) == buf_used(&pieces.log) &&
                   memcmp(buf_head(&whole.log), buf_head(&pieces.log), buf_used(&whole.log)) == 0,
               "whole and in pieces, the parser said different things");
    if (whole.fatal)
        check_sticky(&whole, in, n);
    if (pieces.fatal)
        check_sticky(&pieces, in + at, n - at);
    run_free(&whole);
    run_free(&pieces);
    return 0;
}
