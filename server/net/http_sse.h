/* Server-Sent Events on the HTTP port: GET /events?channels=order.*,dlq
 * answers `200 text/event-stream` and streams one event per message
 * published on those channels (names and glob patterns, comma-separated),
 * as pub/sub delivers them:
 *
 *     id: order.status:42,dlq:7
 *     event: order.status
 *     data: {"event_id":9,"type":"order.status",...}
 *
 * A stream is a pub/sub subscriber (struct subscriber, with deliver()):
 * it runs as the request's user under SUBSCRIBE's roles, and its output,
 * like a connection's, waits for the store to make durable what it tells
 * of (http_sse_durable()).
 *
 * The id is the stream's position in every durable channel it carries,
 * `<channel>:<offset>` joined by commas (a channel name's bytes outside
 * printable ASCII, and '%', ',' and ':', percent-encoded). A client that
 * reconnects with it (the Last-Event-ID header, or ?lastEventId= for one
 * that cannot set headers) first gets each durable channel's messages
 * after that offset, read from the channel's log a batch per wake-up, then
 * the live ones, without a gap or a duplicate at the seam. A comment
 * (": ping") every --http-sse-heartbeat seconds keeps proxies from closing
 * an idle stream. A stream whose unsent output passes the pub/sub output
 * limits is cut off (event=client_cut_off kind=sse). */
#ifndef NET_HTTP_SSE_H
#define NET_HTTP_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output_limit.h"

struct acl_user;
struct buf;
struct cmd_env;
struct evhttp_request;
struct http_peer;
struct http_problem;
struct http_sse;

struct http_sse_config {
    unsigned heartbeat_s;        /* a ": ping" comment this often (--http-sse-heartbeat) */
    size_t max_streams;          /* streams at once (--http-max-streams); 503 past it */
    struct output_limit limit;   /* unsent output that cuts a stream off: the pub/sub
                                    limits (--pubsub-hard-limit and soft) */
};

#define HTTP_SSE_HEARTBEAT_DEFAULT 15u
#define HTTP_MAX_STREAMS_DEFAULT 1000u

void http_sse_config_default(struct http_sse_config *cfg);

/* env is borrowed (its event base, clock, bus, store, users). */
struct http_sse *http_sse_new(struct cmd_env *env, const struct http_sse_config *cfg);
/* Ends every stream (shutting down): what was handed to each connection
 * is ended as a response; what waits for the store is dropped. */
void http_sse_free(struct http_sse *s);

/* GET or HEAD /events, from a request that authenticated as user (NULL:
 * nobody, who on a server without users may do everything). Returns 0
 * when the stream answers (it does from now on, until its client goes),
 * or -1 with p saying why not (400 a bad query or Last-Event-ID, 401, 403
 * NOPERM, 429 too many channels, 503 too many streams); nothing was sent
 * then, and the caller answers with the problem. */
int http_sse_open(struct http_sse *s, struct evhttp_request *req, struct http_peer *peer,
                  const struct acl_user *user, struct http_problem *p);

/* The store made every change up to pos durable: output that waited for
 * it goes out. */
void http_sse_durable(struct http_sse *s, uint64_t pos);

/* --- the pure pieces, unit-tested ------------------------------------------ */

/* Appends one event: `id: <id>` (unless idlen is 0), `event: <event>`
 * (CR, LF and NUL, which would end the field, written as U+FFFD), one
 * `data: ` line per line of data (split at CRLF, LF or CR, as a client
 * joins them again with LF), and the blank line that ends the event. */
void sse_event(struct buf *out, const char *id, size_t idlen, const char *event, size_t evlen,
               const char *data, size_t dlen);

/* A stream's position: per durable channel, the offset of the last
 * message it sent (or that its client had when it resumed). */
struct sse_mark {
    char *channel;     /* owned */
    size_t len;
    uint64_t offset;
};

struct sse_cursor {
    struct sse_mark *marks;  /* in the order they were first set */
    size_t n, cap;
};

void sse_cursor_init(struct sse_cursor *c);
void sse_cursor_free(struct sse_cursor *c);
/* The offset kept for channel, or NULL. */
uint64_t *sse_cursor_find(const struct sse_cursor *c, const char *channel, size_t len);
void sse_cursor_set(struct sse_cursor *c, const char *channel, size_t len, uint64_t offset);
/* The id: `<channel>:<offset>` per mark, comma-separated ("" with none). */
void sse_cursor_format(const struct sse_cursor *c, struct buf *out);
/* Reads an id back into c (adding to what it holds; a channel named twice
 * keeps its last offset). Spaces around it are ignored, an empty one holds
 * nothing. Returns 0, or -1 when it is not of that form (c may then hold
 * part of it). */
int sse_cursor_parse(struct sse_cursor *c, const char *text, size_t len);

#endif
