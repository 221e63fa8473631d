/* The TLS listener and its relays (see tls_port.h).
 *
 * A relay has two bufferevents: `outer`, the client's TLS session over
 * TCP, and `inner`, our end of a socket pair whose other end is a
 * connection like any other. Bytes read on one are appended to the
 * other's output; while that output is over RELAY_HIGH the first is not
 * read, and reading resumes when it has drained to RELAY_LOW (the write
 * watermark makes libevent call us then). */
#include "tls_port.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd/command.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "listen.h"
#include "tls.h"
#include "xalloc.h"

/* Unsent bytes on one side that stop reading the other, and where
 * reading resumes. With the socket buffers on both sides, enough to keep
 * a large reply streaming. */
#define RELAY_HIGH (128 * 1024)
#define RELAY_LOW (32 * 1024)
/* After the last reply and our close_notify, how long the client has to
 * close before we do (see finish()). */
#define RELAY_LINGER_MS 2000

enum relay_state {
    RELAY_HANDSHAKE,  /* the TLS session is being set up; no inner end yet */
    RELAY_OPEN,       /* bytes flow both ways */
    RELAY_FLUSHING,   /* the connection is gone: what it sent goes to the client */
    RELAY_LINGERING,  /* all sent, and close_notify: waiting for the client to close */
};

struct relay {
    struct tls_port *port;
    struct relay *prev, *next;    /* in port->relays */
    struct bufferevent *outer;    /* the client's TLS session; owns the TCP socket */
    struct bufferevent *inner;    /* our end of the socket pair (RELAY_OPEN only) */
    struct event *deadline;       /* the handshake's, then the linger's */
    enum relay_state state;
    bool client_eof;              /* the client will send nothing more */
    bool inner_shut;              /* the connection was told so (SHUT_WR) */
};

struct tls_port {
    struct event_base *base;
    struct tls_context *tls;      /* borrowed */
    struct cmd_env *env;          /* borrowed: the counters and the clock */
    struct tls_port_hooks hooks;
    struct listener *listener;
    struct relay *relays;
    size_t handshaking;           /* relays in RELAY_HANDSHAKE */
    size_t max_handshakes;
    bool shutting_down;
    bool drained;                 /* drained() was called */
    struct log_limiter log_handshakes;
    struct log_limiter log_errors;
};

static void maybe_drained(struct tls_port *p)
{
    if (p->shutting_down && p->relays == NULL && !p->drained) {
        p->drained = true;
        if (p->hooks.drained)
            p->hooks.drained(p->hooks.ctx);
    }
}

/* Closes both ends at once; unsent bytes are dropped. */
static void relay_free(struct relay *r)
{
    struct tls_port *p = r->port;
    if (r->prev)
        r->prev->next = r->next;
    else
        p->relays = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->state == RELAY_HANDSHAKE)
        p->handshaking--;
    bufferevent_free(r->outer);
    if (r->inner)
        bufferevent_free(r->inner);
    event_free(r->deadline);
    free(r);
    maybe_drained(p);
}

static void arm_deadline(struct relay *r, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(r->deadline, &tv);
}

static void handshake_failed(struct relay *r, const char *reason)
{
    struct tls_port *p = r->port;
    p->env->counters->tls_handshake_failures++;
    log_limited(&p->log_handshakes, p->env->clk->now_ms, "info",
                "event=tls_handshake_failed reason=\"%s\"", reason);
    relay_free(r);
}

/* The connection will hear nothing more from the client. */
static void shut_inner(struct relay *r)
{
    if (r->inner_shut)
        return;
    r->inner_shut = true;
    shutdown(bufferevent_getfd(r->inner), SHUT_WR);
}

/* Everything the connection sent has reached the client: close_notify,
 * then close. As in conn.c, closing a socket with input left unread makes
 * the kernel reset the connection, and a reset can destroy replies the
 * client has not read yet; so when the client has sent more than we
 * read, we send our FIN and read and drop until it closes or
 * RELAY_LINGER_MS pass. */
static void finish(struct relay *r)
{
    if (r->client_eof) {
        relay_free(r);
        return;
    }
    SSL_shutdown(bufferevent_openssl_get_ssl(r->outer));
    int fd = bufferevent_getfd(r->outer);
    int unread = 0;
    if (ioctl(fd, FIONREAD, &unread) != 0 || unread == 0) {
        relay_free(r);
        return;
    }
    r->state = RELAY_LINGERING;
    shutdown(fd, SHUT_WR);
    bufferevent_enable(r->outer, EV_READ);
    arm_deadline(r, RELAY_LINGER_MS);
}

/* Client -> connection. */
static void on_outer_read(struct bufferevent *bev, void *arg)
{
    struct relay *r = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (r->state == RELAY_HANDSHAKE)
        return;  /* start() moves it, once the inner end exists */
    if (r->state != RELAY_OPEN) {
        /* Nobody to give it to: read only to see the client close. */
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    struct evbuffer *to = bufferevent_get_output(r->inner);
    evbuffer_add_buffer(to, in);
    if (evbuffer_get_length(to) >= RELAY_HIGH)
        bufferevent_disable(bev, EV_READ);
}

/* The connection has taken requests: read the client again, or, after
 * its EOF, tell the connection once it has them all. */
static void on_inner_write(struct bufferevent *bev, void *arg)
{
    struct relay *r = arg;
    if (r->state != RELAY_OPEN)
        return;
    if (r->client_eof) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            shut_inner(r);
        return;
    }
    if (!(bufferevent_get_enabled(r->outer) & EV_READ))
        bufferevent_enable(r->outer, EV_READ);
}

/* Connection -> client. */
static void on_inner_read(struct bufferevent *bev, void *arg)
{
    struct relay *r = arg;
    struct evbuffer *to = bufferevent_get_output(r->outer);
    evbuffer_add_buffer(to, bufferevent_get_input(bev));
    if (evbuffer_get_length(to) >= RELAY_HIGH)
        bufferevent_disable(bev, EV_READ);
}

/* The client has taken replies: read the connection again, or, once it
 * is gone and all it sent is out, finish. */
static void on_outer_write(struct bufferevent *bev, void *arg)
{
    struct relay *r = arg;
    if (r->state == RELAY_OPEN) {
        if (!(bufferevent_get_enabled(r->inner) & EV_READ))
            bufferevent_enable(r->inner, EV_READ);
    } else if (r->state == RELAY_FLUSHING &&
               evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        finish(r);
    }
}

/* The connection closed its end (or shut it, lingering), or is gone (a
 * write to it failed). What it sent before may still be in our socket
 * (at most a socket buffer's worth): that goes to the client too. Our end
 * is then closed, which ends the connection's linger. */
static void on_inner_event(struct bufferevent *bev, short what, void *arg)
{
    struct relay *r = arg;
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        return;
    struct evbuffer *to = bufferevent_get_output(r->outer);
    evbuffer_add_buffer(to, bufferevent_get_input(bev));
    while (evbuffer_read(to, bufferevent_getfd(bev), RELAY_LOW) > 0)
        ;
    bufferevent_free(r->inner);
    r->inner = NULL;
    r->state = RELAY_FLUSHING;
    if (evbuffer_get_length(bufferevent_get_output(r->outer)) == 0)
        finish(r);
}

/* The handshake is done: the socket pair, and the inner end to net. */
static void start(struct relay *r)
{
    struct tls_port *p = r->port;
    evtimer_del(r->deadline);
    p->handshaking--;
    r->state = RELAY_OPEN;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        log_limited(&p->log_errors, p->env->clk->now_ms, "warn",
                    "event=tls_relay_failed error=\"%s\"", strerror(errno));
        relay_free(r);
        return;
    }
    r->inner = bufferevent_socket_new(p->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(r->inner, on_inner_read, on_inner_write, on_inner_event, r);
    bufferevent_setwatermark(r->inner, EV_WRITE, RELAY_LOW, 0);
    bufferevent_enable(r->inner, EV_READ | EV_WRITE);
    p->env->counters->tls_connections++;
    p->hooks.adopt(p->hooks.ctx, sv[1]);
    /* Requests that came with the end of the handshake. */
    on_outer_read(r->outer, r);
}

/* The client sends nothing more: the connection is told once it has
 * every request; replies still go (a client may half-close). */
static void client_eof(struct relay *r)
{
    r->client_eof = true;
    if (r->state == RELAY_LINGERING) {
        relay_free(r);
        return;
    }
    /* libevent stops writing on EOF; what is owed is still sent. */
    bufferevent_enable(r->outer, EV_WRITE);
    if (r->state == RELAY_OPEN &&
        evbuffer_get_length(bufferevent_get_output(r->inner)) == 0)
        shut_inner(r);
}

static void on_outer_event(struct bufferevent *bev, short what, void *arg)
{
    struct relay *r = arg;
    struct tls_port *p = r->port;
    clock_tick(p->env->clk);
    if (r->state == RELAY_HANDSHAKE) {
        if (what & BEV_EVENT_CONNECTED) {
            start(r);
            return;
        }
        char why[160];
        tls_bufferevent_error(bev, (what & BEV_EVENT_EOF) ? "closed by the client" :
                                   "connection error", why, sizeof why);
        handshake_failed(r, why);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        on_outer_read(bev, r);
        client_eof(r);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        if (r->state != RELAY_LINGERING) {
            char why[160];
            tls_bufferevent_error(bev, strerror(EVUTIL_SOCKET_ERROR()), why, sizeof why);
            log_limited(&p->log_errors, p->env->clk->now_ms, "info",
                        "event=tls_connection_error reason=\"%s\"", why);
        }
        relay_free(r);
    }
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct relay *r = arg;
    (void)fd;
    (void)what;
    clock_tick(r->port->env->clk);
    if (r->state == RELAY_HANDSHAKE)
        handshake_failed(r, "timed out");
    else
        relay_free(r);  /* lingered long enough */
}

static void on_accept(void *arg, int fd)
{
    struct tls_port *p = arg;
    clock_tick(p->env->clk);
    if (p->handshaking >= p->max_handshakes) {
        /* No -LIMIT: the client expects a handshake, not text. */
        close(fd);
        p->env->counters->connections_rejected++;
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct bufferevent *outer = tls_accept_bufferevent(p->tls, p->base, fd);
    if (outer == NULL) {
        close(fd);
        return;
    }
    struct relay *r = xcalloc(1, sizeof *r);
    r->port = p;
    r->outer = outer;
    r->state = RELAY_HANDSHAKE;
    r->deadline = evtimer_new(p->base, on_deadline, r);
    r->next = p->relays;
    if (p->relays)
        p->relays->prev = r;
    p->relays = r;
    p->handshaking++;
    arm_deadline(r, TLS_HANDSHAKE_MS);
    bufferevent_setcb(outer, on_outer_read, on_outer_write, on_outer_event, r);
    bufferevent_setwatermark(outer, EV_WRITE, RELAY_LOW, 0);
    bufferevent_enable(outer, EV_READ | EV_WRITE);
}

struct tls_port *tls_port_open(struct tls_context *tls, struct event_base *base,
                               struct cmd_env *env, const char *bind, int port,
                               size_t max_handshakes, const struct tls_port_hooks *hooks,
                               char *err, size_t errlen)
{
    struct tls_port *p = xcalloc(1, sizeof *p);
    p->base = base;
    p->tls = tls;
    p->env = env;
    p->hooks = *hooks;
    p->max_handshakes = max_handshakes;
    p->listener = listener_new(base, bind, port, "tls_listening", on_accept, p, err, errlen);
    if (p->listener == NULL) {
        free(p);
        return NULL;
    }
    env->counters->tls_port = listener_port(p->listener);
    return p;
}

void tls_port_shutdown(struct tls_port *p)
{
    if (p->shutting_down)
        return;
    p->shutting_down = true;
    listener_free(p->listener);
    p->listener = NULL;
    for (struct relay *r = p->relays, *next; r; r = next) {
        next = r->next;
        if (r->state == RELAY_HANDSHAKE)
            relay_free(r);
    }
    maybe_drained(p);
}

void tls_port_free(struct tls_port *p)
{
    if (p == NULL)
        return;
    p->shutting_down = true;
    p->drained = true;  /* nobody to tell: the server is going */
    while (p->relays)
        relay_free(p->relays);
    listener_free(p->listener);
    free(p);
}
