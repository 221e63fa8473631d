/* Connections. Each wake-up does a bounded amount of work: one read of at
 * most CONN_READ_CHUNK bytes, then every complete request in it, so one busy
 * client cannot starve the others. A client that stops reading its replies
 * is paused (not read, not parsed) until its output drains, so unread
 * replies cannot grow past max_output plus one reply. */
#include "conn.h"

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "command.h"
#include "render.h"
#include "reply.h"
#include "request.h"
#include "server.h"
#include "xalloc.h"

#define CONN_READ_CHUNK (16 * 1024)
/* How long a closing connection waits for its peer to close after our FIN
 * (see linger()). */
#define CONN_LINGER_MS 2000

struct conn {
    struct server *srv;
    struct conn *prev, *next;  /* in srv->conns */
    uint64_t id;
    int fd;
    struct event *rev;
    struct event *wev;
    struct event *linger_ev;   /* the linger deadline, once lingering */
    struct req_parser *parser; /* owned */
    struct buf out;            /* rendered, not yet written */
    bool reading;              /* rev is added */
    bool writing;              /* wev is added */
    bool paused;               /* too much unread output: input waits */
    bool eof;                  /* the peer will send nothing more */
    bool closing;              /* close once out is written */
    bool lingering;            /* our side is shut: draining the peer's */
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

void conn_free(struct conn *c)
{
    struct server *srv = c->srv;
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
    free(c);
    server_conn_closed(srv);
}

uint64_t conn_id(const struct conn *c)
{
    return c->id;
}

struct conn *conn_next(const struct conn *c)
{
    return c->next;
}

static void emit(struct conn *c, struct reply *r, enum proto_kind kind)
{
    if (r->type == REPLY_ERROR)
        c->srv->stats.errors++;
    render_reply(&c->out, r, kind);
    reply_free(r);
}

/* Runs every complete request, until input runs out, the client has too
 * much unread output, or the connection is closing. */
static void process_input(struct conn *c)
{
    struct cmd_ctx ctx = {c->srv, c};
    struct request req;
    struct req_error err;

    while (!c->closing) {
        if (buf_used(&c->out) >= c->srv->cfg.max_output) {
            c->paused = true;
            return;
        }
        c->paused = false;
        switch (req_parser_next(c->parser, &req, &err)) {
        case REQ_READY:
            c->srv->stats.commands++;
            emit(c, command_dispatch(&ctx, &req), req.kind);
            break;
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
static bool flush(struct conn *c)
{
    while (buf_used(&c->out) > 0) {
        ssize_t n = send(c->fd, buf_head(&c->out), buf_used(&c->out), MSG_NOSIGNAL);
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
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
        conn_free(c);  /* the peer is gone: nobody to answer */
        return false;
    }
    if (c->writing) {
        event_del(c->wev);
        c->writing = false;
    }
    if (c->closing) {
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
    for (;;) {
        process_input(c);
        if (!flush(c))
            return;
        if (c->paused && buf_used(&c->out) < c->srv->cfg.max_output)
            continue;
        break;
    }
    set_reading(c, !c->paused && !c->closing && !c->eof);
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
    flush(c);
}
