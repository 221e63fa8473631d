/* Server-Sent Events (see http_sse.h). A stream lives from its request
 * until its client goes, it is cut off, or the server stops. Its events are
 * rendered into its own buffer, with barriers where the store must be
 * durable first (as a connection's replies in conn.c), and handed to
 * evhttp as one chunk per wake-up at most; evhttp's buffer is what the
 * client has not read yet. */
#include "http_sse.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/acl.h"
#include "buf.h"
#include "channels/bus.h"
#include "channels/channel.h"
#include "channels/pubsub.h"
#include "cmd/command.h"
#include "escape.h"
#include "http_peer.h"
#include "http_route.h"
#include "lib/clock.h"
#include "lib/glob.h"
#include "lib/log.h"
#include "store/store.h"
#include "xalloc.h"

/* Replay: messages read from a channel's log per wake-up (READ's default
 * count; the bytes are bounded by --max-reply-payload, as READ's are), and
 * the unsent output under which it goes on: a client far behind is fed as
 * fast as it reads, not as fast as the log can be read. */
#define SSE_REPLAY_BATCH 100
#define SSE_REPLAY_ROOM (64u * 1024)
/* What a client may send on a stream's connection (it should send
 * nothing): past this it is not read, only written to. */
#define SSE_INPUT_MAX 4096

static const char heartbeat_comment[] = ": ping\n\n";

/* --- events ---------------------------------------------------------------- */

void sse_event(struct buf *out, const char *id, size_t idlen, const char *event, size_t evlen,
               const char *data, size_t dlen)
{
    if (idlen > 0) {
        buf_appends(out, "id: ");
        buf_append(out, id, idlen);
        buf_appendc(out, '\n');
    }
    buf_appends(out, "event: ");
    for (size_t i = 0; i < evlen; i++) {
        char c = event[i];
        if (c == '\r' || c == '\n' || c == '\0')
            buf_appends(out, "\xef\xbf\xbd");
        else
            buf_appendc(out, c);
    }
    buf_appendc(out, '\n');
    /* A line ends at CRLF, LF or CR; one more line follows each end, so
     * "a\n" is the lines "a" and "", which the client joins as "a\n". */
    size_t start = 0;
    for (size_t i = 0;; i++) {
        if (i == dlen || data[i] == '\r' || data[i] == '\n') {
            buf_appends(out, "data: ");
            buf_append(out, data + start, i - start);
            buf_appendc(out, '\n');
            if (i == dlen)
                break;
            if (data[i] == '\r' && i + 1 < dlen && data[i + 1] == '\n')
                i++;
            start = i + 1;
        }
    }
    buf_appendc(out, '\n');
}

/* --- the cursor (the id) ---------------------------------------------------- */

void sse_cursor_init(struct sse_cursor *c)
{
    memset(c, 0, sizeof *c);
}

void sse_cursor_free(struct sse_cursor *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->marks[i].channel);
    free(c->marks);
    sse_cursor_init(c);
}

uint64_t *sse_cursor_find(const struct sse_cursor *c, const char *channel, size_t len)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->marks[i].len == len && memcmp(c->marks[i].channel, channel, len) == 0)
            return &c->marks[i].offset;
    return NULL;
}

void sse_cursor_set(struct sse_cursor *c, const char *channel, size_t len, uint64_t offset)
{
    uint64_t *at = sse_cursor_find(c, channel, len);
    if (at) {
        *at = offset;
        return;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->marks = xrealloc(c->marks, c->cap * sizeof *c->marks);
    }
    c->marks[c->n++] = (struct sse_mark){xstrndup(channel, len), len, offset};
}

/* Bytes a name keeps as they are in an id: printable ASCII but the id's
 * own separators and the escape. Everything else is %XX, so an id is
 * ASCII without spaces, whatever the channel is called. */
static bool id_plain(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '%' && c != ',' && c != ':';
}

void sse_cursor_format(const struct sse_cursor *c, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < c->n; i++) {
        const struct sse_mark *m = &c->marks[i];
        if (i > 0)
            buf_appendc(out, ',');
        for (size_t k = 0; k < m->len; k++) {
            unsigned char ch = (unsigned char)m->channel[k];
            if (id_plain(ch)) {
                buf_appendc(out, (char)ch);
            } else {
                buf_appendc(out, '%');
                buf_appendc(out, hex[ch >> 4]);
                buf_appendc(out, hex[ch & 15]);
            }
        }
        buf_printf(out, ":%llu", (unsigned long long)m->offset);
    }
}

/* One `<channel>:<offset>`. */
static int parse_mark(struct sse_cursor *c, const char *p, size_t len)
{
    size_t colon = len;  /* the last ':' */
    while (colon > 0 && p[colon - 1] != ':')
        colon--;
    if (colon == 0)
        return -1;
    colon--;
    if (colon == 0 || colon + 1 == len)
        return -1;  /* an empty name, or no offset */
    uint64_t offset = 0;
    for (size_t i = colon + 1; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (offset > (UINT64_MAX - d) / 10)
            return -1;
        offset = offset * 10 + d;
    }
    char name[BUS_NAME_MAX];
    size_t n = 0;
    for (size_t i = 0; i < colon; i++) {
        char ch = p[i];
        if (ch == '%') {
            int hi = i + 2 < colon ? hex_digit(p[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(p[i + 2]) : -1;
            if (lo < 0)
                return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
        } else if (!id_plain((unsigned char)ch)) {
            return -1;
        }
        if (n == sizeof name)
            return -1;
        name[n++] = ch;
    }
    sse_cursor_set(c, name, n, offset);
    return 0;
}

int sse_cursor_parse(struct sse_cursor *c, const char *text, size_t len)
{
    while (len > 0 && (text[0] == ' ' || text[0] == '\t')) {
        text++;
        len--;
    }
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != ',')
            continue;
        if (parse_mark(c, text + start, i - start) != 0)
            return -1;
        start = i + 1;
    }
    return 0;
}

/* --- streams ------------------------------------------------------------------- */

/* One name or pattern of the channels= list. */
struct entry {
    char *name;       /* owned */
    size_t len;
    bool pattern;     /* it has glob characters: subscribed as a pattern */
};

/* A durable channel whose log is being read to catch up with. */
struct replay {
    char *channel;    /* owned, NUL-terminated */
    uint64_t next;    /* the next offset to read */
};

/* Output from byte `start` on (in out_total terms) may not be handed to
 * the client before the store is durable up to store_pos. */
struct barrier {
    uint64_t start;
    uint64_t store_pos;
};

struct stream {
    struct subscriber sub;         /* first: pubsub hands it back */
    struct http_sse *hub;
    uint64_t id;                   /* for the log */
    struct evhttp_request *req;
    struct http_peer *peer;        /* its connection, watched while it streams */
    struct stream *prev, *next;    /* hub->streams */
    struct stream *dnext;          /* hub->dirty, while dirty */
    bool dirty;
    struct entry *entries;
    size_t nentries;
    struct sse_cursor cursor;
    struct replay *replays;        /* first: the one being read */
    size_t nreplays;
    struct buf out;                /* rendered, not yet handed to evhttp */
    uint64_t out_total;            /* bytes ever put in out */
    uint64_t sent_total;           /* bytes ever handed to evhttp */
    struct barrier *barriers;      /* oldest first */
    size_t nbarriers, capbarriers;
    struct event *heartbeat;
    struct event *replay_ev;       /* the next batch of the replay */
    int64_t soft_since_ms;         /* over the soft limit since, or 0 */
    const char *cut_reason;        /* cut off: closed at the next flush */
};

struct http_sse {
    struct cmd_env *env;
    struct http_sse_config cfg;
    struct event *flush_ev;        /* hands dirty streams' output to evhttp */
    struct stream *streams;
    struct stream *dirty;
    size_t n;
    uint64_t next_id;
    struct buf id;                 /* scratch: an event's id */
    struct evbuffer *chunk;        /* scratch: what is handed to evhttp */
};

void http_sse_config_default(struct http_sse_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->heartbeat_s = HTTP_SSE_HEARTBEAT_DEFAULT;
    cfg->max_streams = HTTP_MAX_STREAMS_DEFAULT;
}

static struct bufferevent *stream_bev(const struct stream *st)
{
    struct evhttp_connection *evcon = st->req ? evhttp_request_get_connection(st->req) : NULL;
    return evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
}

/* What the client has not read: rendered here, or handed to evhttp. */
static size_t unsent(const struct stream *st)
{
    struct bufferevent *bev = stream_bev(st);
    return buf_used(&st->out) + (bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0);
}

static void schedule_flush(struct stream *st)
{
    struct http_sse *s = st->hub;
    if (!st->dirty) {
        st->dirty = true;
        st->dnext = s->dirty;
        s->dirty = st;
    }
    /* At the end of this wake-up, after whatever else is due now: a
     * burst of messages is one chunk. */
    event_active(s->flush_ev, 0, 0);
}

/* Over the output limits: closed at the flush, not here (this may be
 * inside pub/sub's loop over subscribers). */
static void cut_off(struct stream *st, const char *reason)
{
    if (st->cut_reason)
        return;
    st->cut_reason = reason;
    schedule_flush(st);
}

static void check_limits(struct stream *st)
{
    switch (output_limit_check(&st->hub->cfg.limit, unsent(st), st->hub->env->clk->now_ms,
                               &st->soft_since_ms)) {
    case OUTPUT_OVER_HARD:
        cut_off(st, "sse output over the pubsub hard limit");
        break;
    case OUTPUT_OVER_SOFT:
        cut_off(st, "sse output over the pubsub soft limit for too long");
        break;
    case OUTPUT_OK:
        break;
    }
}

/* Output from start on waits for every change made before it, except
 * output that is no change's consequence while the store is stalled (as
 * guard() in conn.c decides). */
static void guard(struct stream *st, uint64_t start, bool consequence)
{
    const struct store *store = st->hub->env->store;
    uint64_t pos = store_end(store);
    if (pos <= store_durable(store))
        return;
    if (!consequence && store_stalled(store))
        return;
    if (st->nbarriers > 0 && st->barriers[st->nbarriers - 1].store_pos >= pos)
        return;
    if (st->nbarriers == st->capbarriers) {
        st->capbarriers = st->capbarriers ? st->capbarriers * 2 : 4;
        st->barriers = xrealloc(st->barriers, st->capbarriers * sizeof *st->barriers);
    }
    st->barriers[st->nbarriers++] = (struct barrier){start, pos};
}

static void pass_barriers(struct stream *st, uint64_t durable)
{
    size_t drop = 0;
    while (drop < st->nbarriers && st->barriers[drop].store_pos <= durable)
        drop++;
    if (drop > 0) {
        memmove(st->barriers, st->barriers + drop,
                (st->nbarriers - drop) * sizeof *st->barriers);
        st->nbarriers -= drop;
    }
}

/* How much of out may go now. */
static size_t sendable(struct stream *st)
{
    pass_barriers(st, store_durable(st->hub->env->store));
    size_t n = buf_used(&st->out);
    if (st->nbarriers > 0 && st->barriers[0].start - st->sent_total < n)
        n = (size_t)(st->barriers[0].start - st->sent_total);
    return n;
}

/* One event, its id the stream's position after it. */
static void emit(struct stream *st, const char *channel, size_t chlen, const char *payload,
                 size_t plen, bool consequence)
{
    struct http_sse *s = st->hub;
    buf_clear(&s->id);
    sse_cursor_format(&st->cursor, &s->id);
    size_t before = buf_used(&st->out);
    uint64_t start = st->out_total;
    sse_event(&st->out, buf_head(&s->id), buf_used(&s->id), channel, chlen, payload, plen);
    st->out_total += buf_used(&st->out) - before;
    guard(st, start, consequence);
    check_limits(st);
    schedule_flush(st);
}

static bool covers(const struct entry *e, const char *channel, size_t len)
{
    return e->pattern ? glob_match(e->name, e->len, channel, len)
                      : e->len == len && memcmp(e->name, channel, len) == 0;
}

/* pub/sub hands a message over once per subscription it matches; the
 * stream sends it once, for the first of its entries that covers it. */
static bool first_delivery(const struct stream *st, const struct pubsub_message *m)
{
    for (size_t i = 0; i < st->nentries; i++) {
        const struct entry *e = &st->entries[i];
        if (!covers(e, m->channel, m->chlen))
            continue;
        if (m->pattern == NULL)
            return !e->pattern;
        return e->pattern && e->len == m->patlen && memcmp(e->name, m->pattern, e->len) == 0;
    }
    return false;
}

static bool replaying(const struct stream *st, const char *channel, size_t len)
{
    for (size_t i = 0; i < st->nreplays; i++)
        if (strlen(st->replays[i].channel) == len &&
            memcmp(st->replays[i].channel, channel, len) == 0)
            return true;
    return false;
}

/* A message published on one of the stream's channels (subscriber's
 * deliver). */
static void on_message(struct subscriber *sub, const struct pubsub_message *m)
{
    struct stream *st = (struct stream *)sub;
    if (st->cut_reason || !first_delivery(st, m))
        return;
    if (m->offset > 0) {
        /* Still catching up with this channel: the replay reads this one
         * from the log in its turn. */
        if (replaying(st, m->channel, m->chlen))
            return;
        uint64_t *at = sse_cursor_find(&st->cursor, m->channel, m->chlen);
        if (at && m->offset <= *at)
            return;  /* sent already */
        sse_cursor_set(&st->cursor, m->channel, m->chlen, m->offset);
    }
    emit(st, m->channel, m->chlen, m->payload, m->plen, m->change);
}

static void maybe_replay(struct stream *st)
{
    if (st->nreplays == 0 || st->cut_reason || unsent(st) >= SSE_REPLAY_ROOM ||
        evtimer_pending(st->replay_ev, NULL))
        return;
    /* A timer, not at once: the loop polls its sockets between batches. */
    struct timeval now = {0, 0};
    evtimer_add(st->replay_ev, &now);
}

static void replay_done(struct stream *st)
{
    free(st->replays[0].channel);
    memmove(st->replays, st->replays + 1, (st->nreplays - 1) * sizeof *st->replays);
    st->nreplays--;
}

/* One batch of the first channel being caught up with. */
static void on_replay(evutil_socket_t fd, short what, void *arg)
{
    struct stream *st = arg;
    struct cmd_env *env = st->hub->env;
    (void)fd;
    (void)what;
    clock_tick(env->clk);
    if (st->nreplays == 0 || st->cut_reason)
        return;
    struct replay *r = &st->replays[0];
    struct chan_registry *reg = bus_channels(env->bus);
    struct channel *ch = chreg_find(reg, r->channel);
    if (ch == NULL) {
        replay_done(st);
        maybe_replay(st);
        return;
    }
    struct chan_delivery d[SSE_REPLAY_BATCH];
    size_t n = chan_read(reg, ch, r->next, SSE_REPLAY_BATCH, d, env->clk->now_ms);
    size_t len = strlen(r->channel), bytes = 0;
    for (size_t i = 0; i < n && (i == 0 || bytes < env->max_reply_payload); i++) {
        bytes += d[i].len;
        r->next = d[i].offset + 1;
        sse_cursor_set(&st->cursor, r->channel, len, d[i].offset);
        /* History shows state: it waits for changes made before it. */
        emit(st, r->channel, len, d[i].payload, d[i].len, false);
    }
    /* Caught up: what is published from now on comes live. */
    if (n == 0 || r->next > chan_last_offset(ch))
        replay_done(st);
    if (st->nreplays > 0 && n == 0)
        maybe_replay(st);
    /* Otherwise the flush that follows goes on. */
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    struct stream *st = arg;
    (void)fd;
    (void)what;
    clock_tick(st->hub->env->clk);
    buf_append(&st->out, heartbeat_comment, sizeof heartbeat_comment - 1);
    st->out_total += sizeof heartbeat_comment - 1;
    check_limits(st);
    schedule_flush(st);
}

static void unlink_dirty(struct stream *st)
{
    if (!st->dirty)
        return;
    for (struct stream **p = &st->hub->dirty; *p; p = &(*p)->dnext) {
        if (*p == st) {
            *p = st->dnext;
            break;
        }
    }
    st->dirty = false;
}

/* Forgets the stream; its request is the caller's to end or drop. */
static void stream_free(struct stream *st)
{
    struct http_sse *s = st->hub;
    if (st->req)
        http_peer_watch(st->peer, NULL, NULL);
    pubsub_client_gone(bus_pubsub(s->env->bus), &st->sub);
    unlink_dirty(st);
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    s->n--;
    event_free(st->heartbeat);
    event_free(st->replay_ev);
    for (size_t i = 0; i < st->nentries; i++)
        free(st->entries[i].name);
    free(st->entries);
    for (size_t i = 0; i < st->nreplays; i++)
        free(st->replays[i].channel);
    free(st->replays);
    sse_cursor_free(&st->cursor);
    buf_free(&st->out);
    free(st->barriers);
    free(st);
}

/* The client went (or its connection failed): evhttp is freeing the
 * connection. A request still being answered was let go of by it, and is
 * ours to free. */
static void on_gone(void *arg)
{
    struct stream *st = arg;
    struct evhttp_request *req = st->req;
    st->req = NULL;
    stream_free(st);
    if (req && evhttp_request_get_connection(req) == NULL)
        evhttp_request_free(req);
}

/* All that was handed to evhttp is written. */
static void on_written(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    maybe_replay(arg);
}

/* Cut off: its connection is dropped with whatever it did not read. */
static void drop(struct stream *st)
{
    struct cmd_env *env = st->hub->env;
    env->counters->cut_off[CLIENT_PUBSUB]++;
    log_event("info", "event=client_cut_off stream=%llu kind=sse reason=\"%s\"",
              (unsigned long long)st->id, st->cut_reason);
    struct evhttp_connection *evcon = st->req ? evhttp_request_get_connection(st->req) : NULL;
    stream_free(st);
    if (evcon)
        evhttp_connection_free(evcon);  /* and the request with it */
}

static void hand_over(struct stream *st)
{
    size_t n = sendable(st);
    if (n == 0 || st->req == NULL)
        return;
    struct evbuffer *chunk = st->hub->chunk;
    evbuffer_add(chunk, buf_head(&st->out), n);
    buf_consume(&st->out, n);
    st->sent_total += n;
    evhttp_send_reply_chunk_with_cb(st->req, chunk, on_written, st);
    evbuffer_drain(chunk, evbuffer_get_length(chunk));
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct http_sse *s = arg;
    (void)fd;
    (void)what;
    while (s->dirty) {
        struct stream *st = s->dirty;
        s->dirty = st->dnext;
        st->dirty = false;
        if (st->cut_reason) {
            drop(st);
            continue;
        }
        hand_over(st);
        maybe_replay(st);
    }
}

/* --- opening a stream ------------------------------------------------------ */


static void entries_free(struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

/* channels=: names and patterns, comma-separated, each once. */
static int parse_channels(const char *list, size_t max, struct entry **out, size_t *nout,
                          struct http_problem *p)
{
    struct entry *e = NULL;
    size_t n = 0, cap = 0;
    const char *s = list;
    for (;;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == 0) {
            entries_free(e, n);
            return http_problem_set(p, 400, ERR_BADARG, "channels= has an empty name: list channels "
                                               "and patterns separated by commas");
        }
        if (len > BUS_NAME_MAX) {
            entries_free(e, n);
            return http_problem_set(p, 400, ERR_BADARG, "a channel or pattern is longer than %d bytes",
                           BUS_NAME_MAX);
        }
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = e[i].len == len && memcmp(e[i].name, s, len) == 0;
        if (!seen) {
            if (n == max) {
                entries_free(e, n);
                return http_problem_set(p, 429, ERR_LIMIT, "too many channels (max %zu)", max);
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 4;
                e = xrealloc(e, cap * sizeof *e);
            }
            e[n].name = xstrndup(s, len);
            e[n].len = len;
            e[n].pattern = strcspn(e[n].name, "*?[\\") < len;
            n++;
        }
        if (end == NULL)
            break;
        s = end + 1;
    }
    *out = e;
    *nout = n;
    return 0;
}

static void add_replay(struct stream *st, const char *channel, uint64_t next)
{
    st->replays = xrealloc(st->replays, (st->nreplays + 1) * sizeof *st->replays);
    st->replays[st->nreplays++] = (struct replay){xstrdup(channel), next};
}

/* Where the stream starts in each durable channel it covers: where the
 * client says it was (resumed; a channel its id does not name, it has
 * seen nothing of: from the oldest message kept), with a replay of what
 * it missed; else at the end of each log. Then every id names them all,
 * so the client can resume all of them, whichever it last heard from. */
static void place(struct stream *st, const struct sse_cursor *given, bool resumed)
{
    struct chan_registry *reg = bus_channels(st->hub->env->bus);
    struct channel *ch;
    for (size_t it = 0; chreg_next(reg, &it, &ch);) {
        const char *name = chan_name(ch);
        size_t len = strlen(name);
        bool covered = false;
        for (size_t i = 0; i < st->nentries && !covered; i++)
            covered = covers(&st->entries[i], name, len);
        if (!covered)
            continue;
        uint64_t last = chan_last_offset(ch);
        uint64_t at = last;
        if (resumed) {
            const uint64_t *had = sse_cursor_find(given, name, len);
            at = had ? *had : 0;
            /* Past the end (an id from before a loss, or from another
             * server): whatever comes next is new to it. */
            if (at > last)
                at = last;
            if (at < last)
                add_replay(st, name, at + 1);
        }
        sse_cursor_set(&st->cursor, name, len, at);
    }
}

/* Who may follow channels: SUBSCRIBE's roles. */
static int allowed(struct cmd_env *env, const struct acl_user *user, struct http_problem *p)
{
    if (!acl_enabled(env->acl))
        return 0;
    if (user == NULL)
        return http_problem_set(p, 401, ERR_NOAUTH, "authentication required: Basic (user:password) "
                                           "or Bearer");
    const struct command *cmd = command_lookup("SUBSCRIBE", 9);
    struct arg argv[1] = {{"SUBSCRIBE", 9}};
    struct request req = {1, argv, PROTO_JSON};
    if (cmd && acl_roles_allow(user->roles, command_roles(cmd, &req)))
        return 0;
    env->counters->noperm++;
    char roles[64];
    acl_roles_format(user->roles, roles, sizeof roles);
    return http_problem_set(p, 403, ERR_NOPERM, "user %s (%s) may not run SUBSCRIBE", user->name,
                   roles[0] ? roles : "no role");
}

int http_sse_open(struct http_sse *s, struct evhttp_request *req, struct http_peer *peer,
                  const struct acl_user *user, struct http_problem *p)
{
    struct cmd_env *env = s->env;
    if (allowed(env, user, p) != 0)
        return -1;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    char *list = http_query_param(query, "channels");
    if (list == NULL || list[0] == '\0') {
        free(list);
        return http_problem_set(p, 400, ERR_BADARG, "channels= names the channels and glob patterns "
                                           "to follow, comma-separated: channels=order.*,dlq");
    }
    struct entry *entries = NULL;
    size_t nentries = 0;
    int rc = parse_channels(list, env->max_subscriptions, &entries, &nentries, p);
    free(list);
    if (rc != 0)
        return -1;
    /* Where to resume: the header a reconnecting EventSource sends, else
     * the query's, for a client that cannot set headers. */
    struct sse_cursor given;
    sse_cursor_init(&given);
    const char *last =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
    char *from_query = last ? NULL : http_query_param(query, "lastEventId");
    if (from_query)
        last = from_query;
    bool resumed = last && strspn(last, " \t") < strlen(last);
    if (resumed && sse_cursor_parse(&given, last, strlen(last)) != 0) {
        free(from_query);
        sse_cursor_free(&given);
        entries_free(entries, nentries);
        return http_problem_set(p, 400, ERR_BADARG, "Last-Event-ID is not an id of this stream "
                                           "(<channel>:<offset>, comma-separated)");
    }
    free(from_query);
    if (s->n >= s->cfg.max_streams) {
        sse_cursor_free(&given);
        entries_free(entries, nentries);
        return http_problem_set(p, 503, ERR_LIMIT, "too many event streams (max %zu)",
                       s->cfg.max_streams);
    }
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    evhttp_add_header(headers, "Content-Type", "text/event-stream");
    evhttp_add_header(headers, "Cache-Control", "no-cache");
    /* nginx would otherwise hold events back to fill its buffer. */
    evhttp_add_header(headers, "X-Accel-Buffering", "no");
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        sse_cursor_free(&given);
        entries_free(entries, nentries);
        evhttp_send_reply(req, 200, "OK", NULL);
        return 0;
    }

    struct stream *st = xcalloc(1, sizeof *st);
    st->sub.deliver = on_message;
    st->sub.kind = PROTO_JSON;
    st->hub = s;
    st->id = ++s->next_id;
    st->req = req;
    st->peer = peer;
    st->entries = entries;
    st->nentries = nentries;
    sse_cursor_init(&st->cursor);
    buf_init(&st->out);
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    s->n++;
    struct pubsub *ps = bus_pubsub(env->bus);
    for (size_t i = 0; i < nentries; i++) {
        if (entries[i].pattern)
            pubsub_psubscribe(ps, &st->sub, entries[i].name, entries[i].len);
        else
            pubsub_subscribe(ps, &st->sub, entries[i].name, entries[i].len);
    }
    place(st, &given, resumed);
    sse_cursor_free(&given);

    evhttp_send_reply_start(req, 200, "OK");
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    http_peer_watch(peer, on_gone, st);
    /* Read, to see the client go at once rather than at a later write
     * that fails; what it sends is kept (a little) and ignored. It may
     * be silent for ever: no read timeout, nor a write timeout, as the
     * output limits bound what it does not read. */
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    bufferevent_setwatermark(bev, EV_READ, 0, SSE_INPUT_MAX);
    bufferevent_set_timeouts(bev, NULL, NULL);
    bufferevent_enable(bev, EV_READ);

    st->heartbeat = event_new(env->base, -1, EV_PERSIST, on_heartbeat, st);
    struct timeval every = {(time_t)s->cfg.heartbeat_s, 0};
    evtimer_add(st->heartbeat, &every);
    st->replay_ev = evtimer_new(env->base, on_replay, st);
    maybe_replay(st);
    return 0;
}

/* --- the hub ----------------------------------------------------------------- */

struct http_sse *http_sse_new(struct cmd_env *env, const struct http_sse_config *cfg)
{
    struct http_sse *s = xcalloc(1, sizeof *s);
    s->env = env;
    s->cfg = *cfg;
    s->flush_ev = event_new(env->base, -1, 0, on_flush, s);
    buf_init(&s->id);
    s->chunk = evbuffer_new();
    return s;
}

void http_sse_free(struct http_sse *s)
{
    if (s == NULL)
        return;
    while (s->streams) {
        struct stream *st = s->streams;
        struct evhttp_request *req = st->req;
        hand_over(st);
        stream_free(st);
        if (req) {
            /* Reads as a connection between requests does again. */
            struct evhttp_connection *evcon = evhttp_request_get_connection(req);
            if (evcon)
                bufferevent_setwatermark(evhttp_connection_get_bufferevent(evcon), EV_READ, 0,
                                         0);
            evhttp_send_reply_end(req);
        }
    }
    event_free(s->flush_ev);
    buf_free(&s->id);
    evbuffer_free(s->chunk);
    free(s);
}

void http_sse_durable(struct http_sse *s, uint64_t pos)
{
    if (s == NULL)
        return;
    for (struct stream *st = s->streams; st; st = st->next) {
        if (st->nbarriers == 0)
            continue;
        pass_barriers(st, pos);
        if (sendable(st) > 0)
            schedule_flush(st);
    }
}
