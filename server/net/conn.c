/* Connections (see conn.h). Each wake-up does a bounded amount of work: one
 * read of at most CONN_READ_CHUNK bytes, then every complete request in it,
 * so one busy client cannot starve the others. A client that stops reading
 * its replies is paused (not read, not parsed) until its output drains, so
 * unread replies cannot grow past max_output plus one reply. Pushes are
 * different: they come from other clients' requests and cannot be paused,
 * so a subscriber that stops reading is cut off at the pub/sub limits; and
 * a worker's unread messages are held from the rest of its group, so a
 * worker that stops reading is cut off at its own (output_limit.h). */
#include "conn.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/acl.h"
#include "buf.h"
#include "channels/bus.h"
#include "cmd/client.h"
#include "cmd/command.h"
#include "cmd/metrics.h"
#include "conn_state.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "net.h"
#include "render.h"
#include "store/store.h"
#include "xalloc.h"

#define CONN_READ_CHUNK (16 * 1024)
/* How long a closing connection waits for its peer to close after our FIN
 * (see linger()). */
#define CONN_LINGER_MS 2000

/* Output from byte `start` on (in out_total terms) may not be sent before
 * the store is durable up to store_pos. */
struct barrier {
    uint64_t start;
    uint64_t store_pos;
};

struct conn {
    struct cmd_client client;     /* first: handlers get this, we get it back */
    struct net *net;
    struct conn *prev, *next;     /* in net->conns */
    struct conn *dnext;           /* in net->deferred, while deferred */
    struct conn *hnext;           /* in net->held, while held */
    int fd;
    struct event *rev;
    struct event *wev;
    struct event *linger_ev;      /* the linger deadline, once lingering */
    struct event *pause_ev;       /* the pause deadline, while paused */
    struct event *idle_ev;        /* the idle timeout's check (--timeout) */
    struct req_parser *parser;    /* owned */
    struct buf out;               /* rendered, not yet written */
    struct barrier *barriers;     /* oldest first */
    size_t nbarriers, capbarriers;
    uint64_t out_total;           /* bytes ever put in out */
    uint64_t sent_total;          /* bytes ever sent */
    enum conn_state state;
    enum proto_kind kind;         /* framing of the request being run */
    void (*block_cancel)(void *arg);
    void *block_arg;
    int64_t soft_since_ms;        /* over its kind's soft output limit since, or 0 */
    int64_t last_active_ms;       /* last read from or written to (server clock) */
    const char *kill_reason;
    enum client_kind kill_kind;   /* its kind when it was cut off */
    /* The few facts that are not the state: */
    bool eof;                     /* the peer will send nothing more */
    bool running;                 /* inside conn_run(): it writes at the end */
    bool deferred;                /* on net->deferred */
    bool held;                    /* on net->held */
    bool reading;                 /* rev is added (mirrors libevent) */
    bool writing;                 /* wev is added (mirrors libevent) */
    bool preauth;                 /* held to the pre-authentication limits */
};

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_writable(evutil_socket_t fd, short what, void *arg);
static const struct cmd_client_ops client_ops;

static struct conn *of_client(struct cmd_client *cl)
{
    return (struct conn *)cl;
}

static void schedule(struct conn *c);
static void conn_run(struct conn *c);
static void on_idle_check(evutil_socket_t fd, short what, void *arg);
static void idle_arm(struct conn *c, int64_t ms);

/* A push from pub/sub (struct subscriber's push). */
static void push(struct subscriber *s, const char *bytes, size_t n, bool change);

struct conn *conn_new(struct net *n, int fd)
{
    struct conn *c = xcalloc(1, sizeof *c);
    c->client.ops = &client_ops;
    c->client.id = ++n->next_conn_id;
    c->client.sub.push = push;
    c->net = n;
    c->fd = fd;
    c->preauth = acl_enabled(n->env->acl);
    if (c->preauth) {
        struct proto_limits tight = n->cfg.limits;
        if (tight.max_args > NET_PREAUTH_MAX_ARGS)
            tight.max_args = NET_PREAUTH_MAX_ARGS;
        if (tight.max_inline > NET_PREAUTH_MAX_BYTES)
            tight.max_inline = NET_PREAUTH_MAX_BYTES;
        if (tight.max_bulk > NET_PREAUTH_MAX_BYTES)
            tight.max_bulk = NET_PREAUTH_MAX_BYTES;
        if (tight.max_pending > 4 * NET_PREAUTH_MAX_BYTES)
            tight.max_pending = 4 * NET_PREAUTH_MAX_BYTES;
        c->parser = req_parser_new(&tight);
    } else {
        c->parser = req_parser_new(&n->cfg.limits);
    }
    buf_init(&c->out);
    c->rev = event_new(n->base, fd, EV_READ | EV_PERSIST, on_readable, c);
    c->wev = event_new(n->base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
    event_add(c->rev, NULL);
    c->reading = true;
    c->state = CONN_OPEN;
    c->last_active_ms = n->env->clk->now_ms;
    if (n->cfg.timeout > 0) {
        c->idle_ev = evtimer_new(n->base, on_idle_check, c);
        idle_arm(c, (int64_t)n->cfg.timeout * 1000);
    }
    c->next = n->conns;
    if (n->conns)
        n->conns->prev = c;
    n->conns = c;
    n->env->counters->clients++;
    return c;
}

static void list_remove(struct conn **head, struct conn *c, size_t link_offset)
{
    for (struct conn **p = head; *p; p = (struct conn **)((char *)*p + link_offset)) {
        if (*p == c) {
            *p = *(struct conn **)((char *)c + link_offset);
            return;
        }
    }
}

void conn_free(struct conn *c)
{
    struct net *n = c->net;
    if (c->state == CONN_BLOCKED && c->block_cancel)
        c->block_cancel(c->block_arg);
    bus_client_gone(n->env->bus, &c->client.sub, c->client.id, n->shutting_down);
    if (c->deferred)
        list_remove(&n->deferred, c, offsetof(struct conn, dnext));
    if (c->held)
        list_remove(&n->held, c, offsetof(struct conn, hnext));
    if (c->prev)
        c->prev->next = c->next;
    else
        n->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    n->env->counters->clients--;
    event_free(c->rev);
    event_free(c->wev);
    if (c->linger_ev)
        event_free(c->linger_ev);
    if (c->pause_ev)
        event_free(c->pause_ev);
    if (c->idle_ev)
        event_free(c->idle_ev);
    close(c->fd);
    req_parser_free(c->parser);
    buf_free(&c->out);
    free(c->barriers);
    free(c);
    if (n->shutting_down && n->conns == NULL && n->hooks.drained)
        n->hooks.drained(n->hooks.ctx);
}

struct conn *conn_next(const struct conn *c)
{
    return c->next;
}

void conn_run_deferred(struct net *n)
{
    while (n->deferred) {
        struct conn *c = n->deferred;
        n->deferred = c->dnext;
        c->deferred = false;
        conn_run(c);
    }
}

/* Ends in the deferred list, once: written at the end of the turn. */
static void schedule(struct conn *c)
{
    if (c->deferred || c->running)
        return;
    c->deferred = true;
    c->dnext = c->net->deferred;
    c->net->deferred = c;
    c->net->hooks.wake(c->net->hooks.ctx);
}

/* Cut off at a limit: closed at the end of the turn, unsent output dropped,
 * counted by kind. */
static void kill_conn(struct conn *c, const char *reason)
{
    if (c->state == CONN_KILLED)
        return;
    c->kill_kind = cmd_client_kind(&c->client);
    c->net->env->counters->cut_off[c->kill_kind]++;
    if (c->state == CONN_BLOCKED && c->block_cancel) {
        c->block_cancel(c->block_arg);
        c->block_cancel = NULL;
    }
    c->state = CONN_KILLED;
    c->kill_reason = reason;
    c->running = false;  /* whatever runs it now must not write again */
    schedule(c);
}

/* --- output and durability ----------------------------------------------- */

/* Output from `start` on comes after changes the store may not have made
 * durable yet, and must wait for them. Every change made before it counts
 * (a read must not show another client's change before it is durable),
 * except while the store is stalled: then nothing it holds is becoming
 * durable, and output that is no change's consequence goes out anyway. */
static void guard(struct conn *c, uint64_t start, bool consequence)
{
    const struct store *st = c->net->env->store;
    uint64_t pos = store_end(st);
    if (pos <= store_durable(st))
        return;
    if (!consequence && store_stalled(st))
        return;
    if (c->nbarriers > 0 && c->barriers[c->nbarriers - 1].store_pos >= pos)
        return;  /* the last barrier already holds from an earlier byte */
    if (c->nbarriers == c->capbarriers) {
        c->capbarriers = c->capbarriers ? c->capbarriers * 2 : 4;
        c->barriers = xrealloc(c->barriers, c->capbarriers * sizeof *c->barriers);
    }
    c->barriers[c->nbarriers++] = (struct barrier){start, pos};
}

static void append_output(struct conn *c, const char *bytes, size_t n, bool consequence)
{
    uint64_t start = c->out_total;
    buf_append(&c->out, bytes, n);
    c->out_total += n;
    guard(c, start, consequence);
}

/* What a reply shows, for guard(): a change's consequence, state (a read),
 * or nothing (PING, a protocol error), which waits for nobody's changes. */
enum shows { SHOWS_NOTHING, SHOWS_STATE, SHOWS_CHANGE };

static void emit_as(struct conn *c, struct reply *r, enum proto_kind kind, enum shows shows)
{
    struct server_counters *counters = c->net->env->counters;
    if (r->type == REPLY_ERROR) {
        counters->errors++;
        metrics_error(c->net->env->metrics, r->code);
    }
    size_t before = buf_used(&c->out);
    uint64_t start = c->out_total;
    render_reply(&c->out, r, kind);
    c->out_total += buf_used(&c->out) - before;
    reply_free(r);
    if (shows != SHOWS_NOTHING)
        guard(c, start, shows == SHOWS_CHANGE);
}

static void emit(struct conn *c, struct reply *r, enum proto_kind kind, bool consequence)
{
    emit_as(c, r, kind, consequence ? SHOWS_CHANGE : SHOWS_STATE);
}

/* Drops the barriers the store has passed. */
static void pass_barriers(struct conn *c, uint64_t durable)
{
    size_t drop = 0;
    while (drop < c->nbarriers && c->barriers[drop].store_pos <= durable)
        drop++;
    if (drop > 0) {
        memmove(c->barriers, c->barriers + drop, (c->nbarriers - drop) * sizeof *c->barriers);
        c->nbarriers -= drop;
    }
}

/* How much of out may go now: all of it, or up to the first barrier the
 * store has not passed. */
static size_t sendable(struct conn *c)
{
    pass_barriers(c, store_durable(c->net->env->store));
    size_t n = buf_used(&c->out);
    if (c->nbarriers > 0 && c->barriers[0].start - c->sent_total < n)
        n = (size_t)(c->barriers[0].start - c->sent_total);
    return n;
}

void conn_release_held(struct net *n, uint64_t pos)
{
    struct conn *c = n->held;
    n->held = NULL;
    while (c) {
        struct conn *next = c->hnext;
        pass_barriers(c, pos);
        if (c->nbarriers > 0 && c->barriers[0].start == c->sent_total) {
            c->hnext = n->held;  /* still nothing to send: the next event, then */
            n->held = c;
        } else {
            c->held = false;
            schedule(c);
        }
        c = next;
    }
}

/* Why a client was cut off at its kind's limits, for the log. */
static const char *const over_hard[CLIENT_KINDS] = {
    [CLIENT_NORMAL] = "reply output over the hard limit",
    [CLIENT_PUBSUB] = "pubsub output over the hard limit",
    [CLIENT_WORKER] = "worker output over the hard limit",
};
static const char *const over_soft[CLIENT_KINDS] = {
    [CLIENT_NORMAL] = "reply output over the soft limit for too long",
    [CLIENT_PUBSUB] = "pubsub output over the soft limit for too long",
    [CLIENT_WORKER] = "worker output over the soft limit for too long",
};

/* After output was added: a client over its kind's output limits is cut
 * off. Returns true when it was. */
static bool over_limits(struct conn *c)
{
    enum client_kind kind = cmd_client_kind(&c->client);
    const struct output_limit *l = &c->net->cfg.output_limits[kind];
    switch (output_limit_check(l, buf_used(&c->out), c->net->env->clk->now_ms,
                               &c->soft_since_ms)) {
    case OUTPUT_OVER_HARD:
        kill_conn(c, over_hard[kind]);
        return true;
    case OUTPUT_OVER_SOFT:
        kill_conn(c, over_soft[kind]);
        return true;
    case OUTPUT_OK:
        break;
    }
    return false;
}

/* --- the client interface handlers see --------------------------------- */

/* A reply from a handler: one of several (SUBSCRIBE a b), waiting behind
 * the request's changes if it made any; or (change) a blocked request's
 * late answer. */
static void reply_now(struct conn *c, struct reply *r, bool change)
{
    if (c->state == CONN_KILLED || c->state == CONN_LINGERING) {
        reply_free(r);
        return;
    }
    emit(c, r, c->kind, change);
    if (over_limits(c))
        return;
    schedule(c);
}

static void client_reply(struct cmd_client *cl, struct reply *r)
{
    reply_now(of_client(cl), r, cl->changes);
}

static void client_block(struct cmd_client *cl, void (*cancel)(void *arg), void *arg)
{
    struct conn *c = of_client(cl);
    c->state = CONN_BLOCKED;
    c->block_cancel = cancel;
    c->block_arg = arg;
}

static void client_unblock(struct cmd_client *cl, struct reply *r)
{
    struct conn *c = of_client(cl);
    if (c->state == CONN_BLOCKED)
        c->state = CONN_OPEN;
    c->block_cancel = NULL;
    c->block_arg = NULL;
    /* It is served by taking messages: a change. */
    reply_now(c, r, true);
}

static void client_close_after_reply(struct cmd_client *cl)
{
    struct conn *c = of_client(cl);
    if (c->state == CONN_OPEN || c->state == CONN_BLOCKED)
        c->state = CONN_CLOSING;
}

static const struct cmd_client_ops client_ops = {
    .reply = client_reply,
    .block = client_block,
    .unblock = client_unblock,
    .close_after_reply = client_close_after_reply,
};

static void push(struct subscriber *s, const char *bytes, size_t n, bool change)
{
    struct conn *c = (struct conn *)((char *)s - offsetof(struct conn, client.sub));
    if (c->state == CONN_KILLED || c->state == CONN_LINGERING)
        return;
    append_output(c, bytes, n, change);
    if (over_limits(c))
        return;
    schedule(c);
}

/* --- running requests ----------------------------------------------------- */

static struct conn_facts facts(struct conn *c)
{
    return (struct conn_facts){
        .state = c->state,
        .eof = c->eof,
        .unsent = buf_used(&c->out),
        .sendable = sendable(c),
        .max_output = c->net->cfg.max_output,
        .buffered = req_parser_pending(c->parser),
        .max_buffered = c->net->cfg.limits.max_pending,
    };
}

/* An HTTP request on the protocol port: a browser made to post to orderd
 * (cross-protocol scripting), or a client pointed at the wrong port.
 * Nothing in it runs, and it gets no answer: the connection is closed. */
static void refuse_http(struct conn *c)
{
    c->net->env->counters->http_probes++;
    log_limited(&c->net->log_limits, c->net->env->clk->now_ms, "warn",
                "event=http_on_protocol_port client=%llu action=closed reason=\"HTTP goes "
                "to --http-port; a browser may have been made to send it\"",
                (unsigned long long)c->client.id);
    kill_conn(c, "an HTTP request on the protocol port");
}

/* Runs every complete request, until input runs out, the client has too
 * much unread output, a request blocks, or the connection is closing. */
static void process_input(struct conn *c)
{
    struct cmd_ctx ctx = {.env = c->net->env, .client = &c->client};
    struct request req;
    struct req_error err;

    while (c->state == CONN_OPEN && buf_used(&c->out) < c->net->cfg.max_output) {
        switch (req_parser_next(c->parser, &req, &err)) {
        case REQ_READY: {
            if (request_looks_like_http(&req)) {
                refuse_http(c);
                return;
            }
            c->net->env->counters->commands++;
            c->kind = req.kind;
            struct reply *r = command_dispatch(&ctx, &req);
            if (r)
                emit_as(c, r, req.kind, ctx.stateless ? SHOWS_NOTHING
                                        : ctx.changes ? SHOWS_CHANGE : SHOWS_STATE);
            if (c->state != CONN_KILLED)
                over_limits(c);  /* a worker's messages pile up here too */
            if (c->preauth && c->client.user) {
                req_parser_set_limits(c->parser, &c->net->cfg.limits);
                c->preauth = false;
            }
            break;
        }
        case REQ_NEED_MORE:
            /* Whatever is left after the peer's EOF is an unfinished
             * request: there is nothing more to do. */
            if (c->eof)
                c->state = CONN_CLOSING;
            return;
        case REQ_BAD:
            emit_as(c, reply_error(err.code, "%s", err.msg), PROTO_INLINE, SHOWS_NOTHING);
            break;
        case REQ_FATAL:
            log_limited(&c->net->log_limits, c->net->env->clk->now_ms, "warn",
                        "event=client_refused client=%llu error=\"%s %s\"",
                        (unsigned long long)c->client.id, err.code, err.msg);
            emit_as(c, reply_error(err.code, "%s", err.msg), PROTO_RESP, SHOWS_NOTHING);
            c->state = CONN_CLOSING;
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
 * until the peer closes or CONN_LINGER_MS passes. Returns false when the
 * connection is gone. */
static bool linger(struct conn *c)
{
    /* Only bytes still in the kernel make close() reset the connection;
     * what the parser holds is already read. */
    int unread = 0;
    if (ioctl(c->fd, FIONREAD, &unread) != 0 || unread == 0) {
        conn_free(c);  /* nothing unread: close() sends a plain FIN */
        return false;
    }
    c->state = CONN_LINGERING;
    shutdown(c->fd, SHUT_WR);
    c->linger_ev = evtimer_new(c->net->base, on_linger_timeout, c);
    struct timeval tv = {CONN_LINGER_MS / 1000, (CONN_LINGER_MS % 1000) * 1000};
    evtimer_add(c->linger_ev, &tv);
    return true;
}

/* Writes what durability lets go, as far as the socket takes it. Returns
 * false when the peer is gone (and so is the connection). */
static bool flush(struct conn *c)
{
    size_t n_ok;
    while ((n_ok = sendable(c)) > 0) {
        ssize_t n = send(c->fd, buf_head(&c->out), n_ok, MSG_NOSIGNAL);
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
            c->sent_total += (uint64_t)n;
            c->last_active_ms = c->net->env->clk->now_ms;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        log_limited(&c->net->log_conn_errors, c->net->env->clk->now_ms, "info",
                    "event=connection_error client=%llu error=\"%s\"",
                    (unsigned long long)c->client.id, strerror(errno));
        conn_free(c);  /* the peer is gone: nobody to answer */
        return false;
    }
    return true;
}

static void watch(struct event *ev, bool *on, bool want)
{
    if (want == *on)
        return;
    if (want)
        event_add(ev, NULL);
    else
        event_del(ev);
    *on = want;
}

/* A client paused for its unread output too long. If it is still sending
 * (requests wait in the parser or the socket), it and we wait on each other
 * for ever: it is closed, and the log says why. One that only reads slowly
 * is left to catch up. */
static void on_pause_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    (void)what;
    int unread = 0;
    if (ioctl(c->fd, FIONREAD, &unread) != 0)
        unread = 0;
    if (unread > 0 || req_parser_pending(c->parser) > 0) {
        kill_conn(c, "reply output over --max-output for --max-output-pause seconds while "
                     "it kept sending");
        return;
    }
    struct timeval tv = {c->net->cfg.max_output_pause, 0};
    evtimer_add(c->pause_ev, &tv);
}

/* Paused for its unread output: a deadline runs. */
static void watch_pause(struct conn *c, bool paused)
{
    if (!paused) {
        if (c->pause_ev)
            evtimer_del(c->pause_ev);
        return;
    }
    if (c->pause_ev == NULL)
        c->pause_ev = evtimer_new(c->net->base, on_pause_timeout, c);
    if (!evtimer_pending(c->pause_ev, NULL)) {
        struct timeval tv = {c->net->cfg.max_output_pause, 0};
        evtimer_add(c->pause_ev, &tv);
    }
}

/* Carries out a plan. Returns false when the connection is gone. */
static bool apply(struct conn *c, const struct conn_plan *p)
{
    if (p->close) {
        if (c->state == CONN_KILLED) {
            log_event("info", "event=client_cut_off client=%llu kind=%s reason=\"%s\"",
                      (unsigned long long)c->client.id, client_kind_name(c->kill_kind),
                      c->kill_reason);
            conn_free(c);
            return false;
        }
        if (!linger(c))
            return false;
    }
    watch(c->rev, &c->reading, p->read || c->state == CONN_LINGERING);
    watch(c->wev, &c->writing, p->write && c->state != CONN_LINGERING);
    watch_pause(c, c->state == CONN_OPEN && !p->run);
    if (p->held && !c->held) {
        /* Released by net_durable(), when the store says so; nothing
         * wakes up for it before. */
        c->held = true;
        c->hnext = c->net->held;
        c->net->held = c;
    }
    return true;
}

/* Run requests, write, and run again while writing freed enough room. */
static void conn_run(struct conn *c)
{
    if (c->state == CONN_LINGERING)
        return;
    c->running = true;
    struct conn_facts f;
    struct conn_plan p;
    for (;;) {
        f = facts(c);
        p = conn_plan(&f);
        if (p.run)
            process_input(c);
        if (c->state == CONN_KILLED)
            break;
        f = facts(c);
        /* Requests stopped for the client's unread output: once the
         * socket takes some of it, they go on. */
        bool paused = f.state == CONN_OPEN && conn_paused(&f);
        if (!flush(c))
            return;
        if (!paused)
            break;
        f = facts(c);
        if (conn_paused(&f))
            break;
    }
    c->running = false;
    f = facts(c);
    p = conn_plan(&f);
    apply(c, &p);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)what;
    clock_tick(c->net->env->clk);
    if (c->state == CONN_LINGERING) {
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
        c->last_active_ms = c->net->env->clk->now_ms;
    } else if (n == 0) {
        c->eof = true;
        /* A blocked client that hangs up is gone, as Redis treats it:
         * otherwise it would hold its place in line (and be handed
         * messages) until its block ran out, or forever. */
        if (c->state == CONN_BLOCKED) {
            conn_free(c);
            return;
        }
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return;
    } else {
        conn_free(c);
        return;
    }
    conn_run(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    (void)what;
    clock_tick(c->net->env->clk);
    conn_run(c);
}

/* --- the idle timeout --------------------------------------------------- */

static void idle_arm(struct conn *c, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->idle_ev, &tv);
}

/* Exempt, as Redis exempts them: a subscriber, which only listens; a
 * blocked request, which waits for us; and output held for the store's
 * durability, which waits for us too. A connection already on its way
 * out (lingering, killed) ends by itself. */
static bool idle_exempt(struct conn *c)
{
    return c->state == CONN_BLOCKED || c->state == CONN_LINGERING ||
           c->state == CONN_KILLED || c->held || pubsub_count(&c->client.sub) > 0;
}

static void on_idle_check(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct net *n = c->net;
    (void)fd;
    (void)what;
    clock_tick(n->env->clk);
    int64_t now = n->env->clk->now_ms;
    int64_t left = conn_idle_left(now, c->last_active_ms, (int64_t)n->cfg.timeout * 1000,
                                  idle_exempt(c));
    if (left > 0) {
        idle_arm(c, left);
        return;
    }
    n->env->counters->clients_timed_out++;
    log_limited(&n->log_idle, now, "info",
                "event=client_idle_closed client=%llu idle_ms=%lld timeout=%u",
                (unsigned long long)c->client.id, (long long)(now - c->last_active_ms),
                n->cfg.timeout);
    /* Output it has not taken in all that time goes with it. */
    conn_free(c);
}

void conn_finish(struct conn *c)
{
    if (c->state == CONN_LINGERING || c->state == CONN_KILLED)
        return;
    if (c->state == CONN_BLOCKED && c->block_cancel) {
        /* Shutting down: a blocked request is withdrawn, unanswered, so
         * the connection can close once its earlier replies are out. */
        void (*cancel)(void *) = c->block_cancel;
        void *arg = c->block_arg;
        c->block_cancel = NULL;
        c->block_arg = NULL;
        cancel(arg);
    }
    c->state = CONN_CLOSING;
    if (!flush(c))
        return;
    struct conn_facts f = facts(c);
    struct conn_plan p = conn_plan(&f);
    apply(c, &p);
}
