/* Connections. Each wake-up does a bounded amount of work: one read of at
 * most CONN_READ_CHUNK bytes, then every complete request in it, so one busy
 * client cannot starve the others. A client that stops reading its replies
 * is paused (not read, not parsed) until its output drains, so unread
 * replies cannot grow past max_output plus one reply. Pushes are different:
 * they come from other clients' requests and cannot be paused, so a
 * subscriber that stops reading is cut off at the pub/sub output limits. */
#include "conn.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "cmd/command.h"
#include "lib/log.h"
#include "cmd/metrics.h"
#include "render.h"
#include "server.h"
#include "store/store.h"
#include "xalloc.h"

#define CONN_READ_CHUNK (16 * 1024)
/* How long a closing connection waits for its peer to close after our FIN
 * (see linger()). */
#define CONN_LINGER_MS 2000

struct conn {
    struct server *srv;
    struct conn *prev, *next;    /* in srv->conns */
    struct conn *dnext;          /* in srv->deferred, when deferred */
    uint64_t id;
    int fd;
    struct event *rev;
    struct event *wev;
    struct event *linger_ev;     /* the linger deadline, once lingering */
    struct req_parser *parser;   /* owned */
    struct buf out;              /* rendered, not yet written */
    /* Durability barriers (fsync=always): output from byte start on (in
     * out_total terms) may not be sent before the store is durable up to
     * store_pos. Oldest first; see guard() and flush(). */
    struct barrier {
        uint64_t start;
        uint64_t store_pos;
    } *barriers;
    size_t nbarriers, capbarriers;
    uint64_t out_total;          /* bytes ever put in out */
    uint64_t sent_total;         /* bytes ever sent */
    struct conn *hnext;          /* in srv->held, when held */
    bool held;
    enum proto_kind kind;        /* of the request being run */
    enum proto_kind push_kind;
    struct pubsub_client *pubsub;
    void (*block_cancel)(void *arg);
    void *block_arg;
    int64_t soft_since_ms;       /* over the pub/sub soft limit since, or 0 */
    const char *kill_reason;
    bool deferred;               /* on srv->deferred */
    bool running;                /* inside run(): it will write at the end */
    bool reading;                /* rev is added */
    bool writing;                /* wev is added */
    bool paused;                 /* too much unread output: input waits */
    bool blocked;                /* a request waits for conn_unblock() */
    bool eof;                    /* the peer will send nothing more */
    bool closing;                /* close once out is written */
    bool killed;                 /* close at the end of the turn, unsent or not */
    bool lingering;              /* our side is shut: draining the peer's */
};

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_writable(evutil_socket_t fd, short what, void *arg);

struct conn *conn_new(struct server *srv, int fd)
{
    struct conn *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    c->id = ++srv->next_conn_id;
    c->fd = fd;
    c->parser = req_parser_new(&srv->cfg.limits);
    buf_init(&c->out);
    c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_readable, c);
    c->wev = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
    event_add(c->rev, NULL);
    c->reading = true;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    return c;
}

static void unhold(struct conn *c)
{
    if (!c->held)
        return;
    for (struct conn **p = &c->srv->held; *p; p = &(*p)->hnext) {
        if (*p == c) {
            *p = c->hnext;
            break;
        }
    }
    c->held = false;
}

static void undefer(struct conn *c)
{
    if (!c->deferred)
        return;
    for (struct conn **p = &c->srv->deferred; *p; p = &(*p)->dnext) {
        if (*p == c) {
            *p = c->dnext;
            break;
        }
    }
    c->deferred = false;
}

void conn_free(struct conn *c)
{
    struct server *srv = c->srv;
    if (c->blocked && c->block_cancel)
        c->block_cancel(c->block_arg);
    server_conn_closing(srv, c);
    undefer(c);
    unhold(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    event_free(c->rev);
    event_free(c->wev);
    if (c->linger_ev)
        event_free(c->linger_ev);
    close(c->fd);
    req_parser_free(c->parser);
    buf_free(&c->out);
    free(c->barriers);
    free(c);
    server_conn_closed(srv);
}

static void schedule(struct conn *c)
{
    if (c->deferred || c->running)
        return;
    c->deferred = true;
    c->dnext = c->srv->deferred;
    c->srv->deferred = c;
    server_wake_deferred(c->srv);
}

void conn_kill(struct conn *c, const char *reason)
{
    if (c->killed)
        return;
    c->killed = true;
    c->kill_reason = reason;
    c->running = false;  /* whatever runs it now must not write again */
    schedule(c);
}

uint64_t conn_id(const struct conn *c)
{
    return c->id;
}

struct conn *conn_next(const struct conn *c)
{
    return c->next;
}

size_t conn_output_pending(const struct conn *c)
{
    return buf_used(&c->out);
}

struct pubsub_client **conn_pubsub(struct conn *c)
{
    return &c->pubsub;
}

enum proto_kind conn_push_kind(const struct conn *c)
{
    return c->push_kind;
}

enum proto_kind conn_request_kind(const struct conn *c)
{
    return c->kind;
}

void conn_set_push_kind(struct conn *c, enum proto_kind kind)
{
    c->push_kind = kind;
}

/* Output from `start` on was produced after changes the store has not made
 * durable yet: with fsync=always it must wait for them. */
static void guard(struct conn *c, uint64_t start)
{
    const struct store *st = c->srv->store;
    if (!store_holds_replies(st))
        return;
    uint64_t pos = store_end(st);
    if (c->nbarriers > 0 && c->barriers[c->nbarriers - 1].store_pos == pos)
        return;  /* the last barrier already holds from an earlier byte */
    if (c->nbarriers == c->capbarriers) {
        c->capbarriers = c->capbarriers ? c->capbarriers * 2 : 4;
        c->barriers = xrealloc(c->barriers, c->capbarriers * sizeof *c->barriers);
    }
    c->barriers[c->nbarriers++] = (struct barrier){start, pos};
}

static void append_output(struct conn *c, const char *bytes, size_t n)
{
    uint64_t start = c->out_total;
    buf_append(&c->out, bytes, n);
    c->out_total += n;
    guard(c, start);
}

static void emit(struct conn *c, struct reply *r, enum proto_kind kind)
{
    if (r->type == REPLY_ERROR) {
        c->srv->stats.errors++;
        metrics_error(c->srv->metrics, r->code);
    }
    size_t before = buf_used(&c->out);
    uint64_t start = c->out_total;
    render_reply(&c->out, r, kind);
    c->out_total += buf_used(&c->out) - before;
    reply_free(r);
    guard(c, start);
}

void conn_reply(struct conn *c, struct reply *r)
{
    if (c->killed || c->lingering) {
        reply_free(r);
        return;
    }
    emit(c, r, c->kind);
    schedule(c);
}

void conn_push_rendered(struct conn *c, const char *bytes, size_t n)
{
    const struct server_config *cfg = &c->srv->cfg;
    if (c->killed || c->lingering)
        return;
    append_output(c, bytes, n);
    size_t used = buf_used(&c->out);
    if (used > cfg->pubsub_hard_limit) {
        c->srv->stats.clients_cut_off++;
        conn_kill(c, "pubsub output over the hard limit");
        return;
    }
    if (used > cfg->pubsub_soft_limit) {
        int64_t now = c->srv->now_ms;
        if (c->soft_since_ms == 0) {
            c->soft_since_ms = now;
        } else if (now - c->soft_since_ms > (int64_t)cfg->pubsub_soft_seconds * 1000) {
            c->srv->stats.clients_cut_off++;
            conn_kill(c, "pubsub output over the soft limit for too long");
            return;
        }
    } else {
        c->soft_since_ms = 0;
    }
    schedule(c);
}

void conn_block(struct conn *c, void (*cancel)(void *arg), void *arg)
{
    c->blocked = true;
    c->block_cancel = cancel;
    c->block_arg = arg;
}

void conn_unblock(struct conn *c, struct reply *r)
{
    c->blocked = false;
    c->block_cancel = NULL;
    c->block_arg = NULL;
    conn_reply(c, r);
}

bool conn_is_blocked(const struct conn *c)
{
    return c->blocked;
}

/* Runs every complete request, until input runs out, the client has too
 * much unread output, a request blocks, or the connection is closing. */
static void process_input(struct conn *c)
{
    struct cmd_ctx ctx = {c->srv, c};
    struct request req;
    struct req_error err;

    while (!c->closing && !c->blocked && !c->killed) {
        if (buf_used(&c->out) >= c->srv->cfg.max_output) {
            c->paused = true;
            return;
        }
        c->paused = false;
        switch (req_parser_next(c->parser, &req, &err)) {
        case REQ_READY: {
            c->srv->stats.commands++;
            c->kind = req.kind;
            struct reply *r = command_dispatch(&ctx, &req);
            if (r)
                emit(c, r, req.kind);
            break;
        }
        case REQ_NEED_MORE:
            /* Whatever is left after the peer's EOF is an unfinished
             * request: there is nothing more to do. */
            if (c->eof)
                c->closing = true;
            return;
        case REQ_BAD:
            emit(c, reply_error(err.code, "%s", err.msg), PROTO_INLINE);
            break;
        case REQ_FATAL:
            log_limited(&c->srv->log_limits, c->srv->now_ms, "warn",
                        "event=client_refused client=%llu error=\"%s %s\"",
                        (unsigned long long)c->id, err.code, err.msg);
            emit(c, reply_error(err.code, "%s", err.msg), PROTO_RESP);
            c->closing = true;
            return;
        }
    }
}

static void on_linger_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_free(arg);
}

/* Every reply is written: close gracefully. close() on a socket with
 * unread input makes the kernel send RST, and an RST can destroy replies
 * the peer has not read yet (a pipelining client, or one whose request hit
 * a limit). So when input is left unread we send FIN, then read and discard
 * until the peer closes or CONN_LINGER_MS passes. */
static void linger(struct conn *c)
{
    if (c->lingering)
        return;
    /* Only bytes still in the kernel make close() reset the connection;
     * what the parser holds is already read. */
    int unread = 0;
    if (ioctl(c->fd, FIONREAD, &unread) != 0 || unread == 0) {
        /* Nothing unread: close() sends a plain FIN. */
        conn_free(c);
        return;
    }
    c->lingering = true;
    shutdown(c->fd, SHUT_WR);
    if (!c->reading) {
        event_add(c->rev, NULL);
        c->reading = true;
    }
    c->linger_ev = evtimer_new(c->srv->base, on_linger_timeout, c);
    struct timeval tv = {CONN_LINGER_MS / 1000, (CONN_LINGER_MS % 1000) * 1000};
    evtimer_add(c->linger_ev, &tv);
}

/* Writes what it can. Returns false when the connection is gone or only
 * lingering. */
/* How much of out may go now: all of it, or up to the first barrier
 * whose changes are not durable yet. */
static size_t sendable(struct conn *c)
{
    uint64_t durable = store_durable(c->srv->store);
    size_t drop = 0;
    while (drop < c->nbarriers && c->barriers[drop].store_pos <= durable)
        drop++;
    if (drop > 0) {
        memmove(c->barriers, c->barriers + drop, (c->nbarriers - drop) * sizeof *c->barriers);
        c->nbarriers -= drop;
    }
    size_t n = buf_used(&c->out);
    if (c->nbarriers > 0 && c->barriers[0].start - c->sent_total < n)
        n = (size_t)(c->barriers[0].start - c->sent_total);
    return n;
}

static void hold(struct conn *c)
{
    if (c->held)
        return;
    c->held = true;
    c->hnext = c->srv->held;
    c->srv->held = c;
    server_wake_deferred(c->srv);
}

static bool flush(struct conn *c)
{
    size_t n_ok;
    while ((n_ok = sendable(c)) > 0) {
        ssize_t n = send(c->fd, buf_head(&c->out), n_ok, MSG_NOSIGNAL);
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
            c->sent_total += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->writing) {
                event_add(c->wev, NULL);
                c->writing = true;
            }
            return true;
        }
        log_limited(&c->srv->log_conn_errors, c->srv->now_ms, "info",
                    "event=connection_error client=%llu error=\"%s\"",
                    (unsigned long long)c->id, strerror(errno));
        conn_free(c);  /* the peer is gone: nobody to answer */
        return false;
    }
    if (buf_used(&c->out) > 0) {
        /* What is left waits for the store: see conn_release_held(). */
        hold(c);
        return true;
    }
    if (c->writing) {
        event_del(c->wev);
        c->writing = false;
    }
    if (c->closing && !c->blocked) {
        linger(c);
        return false;
    }
    return true;
}

static void set_reading(struct conn *c, bool on)
{
    if (c->lingering || on == c->reading)
        return;
    if (on)
        event_add(c->rev, NULL);
    else
        event_del(c->rev);
    c->reading = on;
}

/* Process, write, and process again while writing freed enough room. */
static void run(struct conn *c)
{
    if (c->lingering)
        return;
    if (c->killed) {
        log_event("info", "event=client_cut_off client=%llu reason=\"%s\"",
                  (unsigned long long)c->id, c->kill_reason);
        conn_free(c);
        return;
    }
    c->running = true;
    for (;;) {
        process_input(c);
        if (c->killed) {
            run(c);
            return;
        }
        if (!flush(c))
            return;
        if (c->paused && buf_used(&c->out) < c->srv->cfg.max_output)
            continue;
        break;
    }
    c->running = false;
    /* A blocked client is still read from (its next requests wait in the
     * parser, up to the request limit) so that its hanging up is seen. */
    set_reading(c, !c->paused && !c->closing && !c->eof &&
                       (!c->blocked || req_parser_pending(c->parser) < c->srv->cfg.limits.max_pending));
}

void conn_release_held(struct server *srv)
{
    while (srv->held) {
        struct conn *c = srv->held;
        srv->held = c->hnext;
        c->held = false;
        schedule(c);
    }
}

void conn_run_deferred(struct server *srv)
{
    while (srv->deferred) {
        struct conn *c = srv->deferred;
        srv->deferred = c->dnext;
        c->deferred = false;
        run(c);
    }
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)what;
    server_tick(c->srv);
    if (c->lingering) {
        char sink[CONN_READ_CHUNK];
        ssize_t n = read(fd, sink, sizeof sink);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            conn_free(c);
        return;
    }
    char *space = req_parser_space(c->parser, CONN_READ_CHUNK);
    ssize_t n = read(fd, space, CONN_READ_CHUNK);
    if (n > 0) {
        req_parser_commit(c->parser, (size_t)n);
    } else if (n == 0) {
        c->eof = true;
        /* A blocked client that hangs up is gone, as Redis treats it:
         * otherwise it would hold its place in line (and be handed
         * messages) until its block ran out, or forever. */
        if (c->blocked) {
            conn_free(c);
            return;
        }
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return;
    } else {
        conn_free(c);
        return;
    }
    run(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    (void)what;
    server_tick(c->srv);
    if (!c->lingering)
        run(c);
}

void conn_close_after_reply(struct conn *c)
{
    c->closing = true;
    set_reading(c, false);
}

void conn_finish(struct conn *c)
{
    if (c->lingering)
        return;
    conn_close_after_reply(c);
    if (c->blocked && c->block_cancel) {
        /* Shutting down: a blocked request is withdrawn, unanswered, so
         * the connection can close once its earlier replies are out. */
        void (*cancel)(void *) = c->block_cancel;
        void *arg = c->block_arg;
        c->blocked = false;
        c->block_cancel = NULL;
        cancel(arg);
    }
    flush(c);
}
