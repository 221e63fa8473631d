/* The server: listener, signals, shutdown, and the state they share. */
#include "server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "orders/book.h"
#include "channels/channel.h"
#include "saga/engine.h"
#include "saga/sim.h"
#include "channels/bus.h"
#include "orders/events.h"
#include "lib/clock.h"
#include "net/conn.h"
#include "lib/log.h"
#include "net/http.h"
#include "cmd/metrics.h"

/* How long shutdown waits for clients to take their last replies. */
#define SHUTDOWN_GRACE_MS 5000
/* After EMFILE, accepting resumes after this pause (as memcached does). */
#define ACCEPT_RETRY_MS 100
#define ACCEPT_WARN_MS 10000

void server_config_default(struct server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->bind, sizeof cfg->bind, "127.0.0.1");
    cfg->port = 7070;
    proto_limits_default(&cfg->limits);
    cfg->max_clients = SERVER_MAX_CLIENTS_DEFAULT;
    cfg->max_output = SERVER_MAX_OUTPUT_DEFAULT;
    cfg->pubsub_hard_limit = SERVER_PUBSUB_HARD_DEFAULT;
    cfg->pubsub_soft_limit = SERVER_PUBSUB_SOFT_DEFAULT;
    cfg->pubsub_soft_seconds = SERVER_PUBSUB_SOFT_SECONDS_DEFAULT;
    cfg->store.kind = STORE_JOURNAL;
    cfg->store.dir = SERVER_DATA_DIR_DEFAULT;
    cfg->store.fsync = FSYNC_EVERYSEC;
    cfg->store.repair = false;
    cfg->store.compact_min = STORE_COMPACT_MIN_DEFAULT;
    cfg->sim_mask = (1u << PART_COUNT) - 1;
    cfg->saga = true;
    snprintf(cfg->http_bind, sizeof cfg->http_bind, "127.0.0.1");
    cfg->http_port = 7071;
}

void server_tick(struct server *srv)
{
    srv->now_ms = clock_wall_ms();
}

static void refuse(struct server *srv, int fd)
{
    char msg[96];
    int n = snprintf(msg, sizeof msg, "-LIMIT too many clients (max %zu)\r\n",
                     srv->cfg.max_clients);
    /* Best effort: the socket is fresh, its buffer empty. */
    if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        (void)0;
    close(fd);
    srv->stats.connections_rejected++;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *addr, int socklen, void *arg)
{
    struct server *srv = arg;
    (void)l;
    (void)addr;
    (void)socklen;
    server_tick(srv);
    if (srv->nconns >= srv->cfg.max_clients) {
        refuse(srv, fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    srv->stats.connections_total++;
    conn_new(srv, fd);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct server *srv = arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        /* Out of descriptors: stop accepting for a moment instead of
         * spinning on a listener that stays readable. Logged once per
         * ACCEPT_WARN_MS, not at every retry. */
        int64_t now = clock_mono_ms();
        if (now - srv->last_accept_warn_ms >= ACCEPT_WARN_MS) {
            log_event("warn", "event=accept_paused error=\"%s\"", strerror(err));
            srv->last_accept_warn_ms = now;
        }
        evconnlistener_disable(l);
        struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
        evtimer_add(srv->accept_retry, &tv);
    }
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    if (srv->listener && !srv->shutting_down)
        evconnlistener_enable(srv->listener);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    (void)what;
    server_tick(srv);
    if (srv->shutting_down) {
        /* A second signal: stop waiting for slow clients. */
        log_event("warn", "event=shutdown_forced signal=%s clients=%zu",
                  sig == SIGINT ? "INT" : "TERM", srv->nconns);
        event_base_loopbreak(srv->base);
        return;
    }
    log_event("info", "event=shutdown signal=%s", sig == SIGINT ? "INT" : "TERM");
    server_shutdown(srv);
}

/* The end of a loop turn: write what this turn recorded (one fsync for
 * all of it with always: group commit), let held replies go, then run what
 * connections deferred. */
static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    store_flush(srv->store);
    conn_release_held(srv);
    conn_run_deferred(srv);
    /* Running them may have recorded more: it is written next turn. */
}

static void on_store_wake(void *arg)
{
    server_wake_deferred(arg);
}

static struct persist_target target_of(struct server *srv)
{
    return (struct persist_target){.book = srv->book, .channels = srv->channels,
                                   .dlq = srv->dlq, .engine = srv->engine, .sim = srv->sim};
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    server_tick(srv);
    /* The tick is also the event loop's lag probe: how late it fired. */
    int64_t mono = clock_mono_ms();
    if (srv->tick_due_ms)
        metrics_loop_lag(srv->metrics, mono - srv->tick_due_ms);
    srv->tick_due_ms = mono + 1000;
    struct persist_target t = target_of(srv);
    store_tick(srv->store, &t);
}

static void on_child(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    (void)sig;
    (void)what;
    store_child_exited(srv->store);
}

void server_wake_deferred(struct server *srv)
{
    /* Activated, not timed: it runs after the callbacks already due in
     * this loop turn, so a burst of pushes costs one write per client. */
    event_active(srv->deferred_ev, 0, 0);
}

static void on_shutdown_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    log_event("warn", "event=shutdown_forced clients=%zu", srv->nconns);
    event_base_loopbreak(srv->base);
}

int server_init(struct server *srv, const struct server_config *cfg, char *err,
                size_t errlen)
{
    memset(srv, 0, sizeof *srv);
    srv->cfg = *cfg;
    srv->started_mono_ms = clock_mono_ms();
    server_tick(srv);

    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    char addr[96];
    if (strchr(cfg->bind, ':'))
        snprintf(addr, sizeof addr, "[%s]:%d", cfg->bind, cfg->port);
    else
        snprintf(addr, sizeof addr, "%s:%d", cfg->bind, cfg->port);
    /* libevent's parser refuses port 0: parse with 1, then set 0 (any
     * free port; the log line says which). */
    if (cfg->port == 0) {
        if (strchr(cfg->bind, ':'))
            snprintf(addr, sizeof addr, "[%s]:1", cfg->bind);
        else
            snprintf(addr, sizeof addr, "%s:1", cfg->bind);
    }
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0) {
        snprintf(err, errlen, "cannot parse bind address '%s'", cfg->bind);
        return -1;
    }
    if (cfg->port == 0) {
        if (ss.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
        else
            ((struct sockaddr_in *)&ss)->sin_port = 0;
    }

    srv->base = event_base_new();
    if (srv->base == NULL) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    /* The server's own events first: recovery and start-up already
     * record changes, which wake the deferred event. */
    srv->sig_int = evsignal_new(srv->base, SIGINT, on_signal, srv);
    srv->sig_term = evsignal_new(srv->base, SIGTERM, on_signal, srv);
    srv->accept_retry = evtimer_new(srv->base, on_accept_retry, srv);
    srv->shutdown_deadline = evtimer_new(srv->base, on_shutdown_deadline, srv);
    srv->deferred_ev = event_new(srv->base, -1, 0, on_deferred, srv);
    srv->tick = event_new(srv->base, -1, EV_PERSIST, on_tick, srv);
    srv->sig_chld = evsignal_new(srv->base, SIGCHLD, on_child, srv);
    struct timeval second = {1, 0};
    evtimer_add(srv->tick, &second);
    evsignal_add(srv->sig_chld, NULL);

    /* Recover before listening: a client that can connect is served from
     * the whole state, never from part of it. */
    srv->metrics = metrics_new();
    srv->book = book_new();
    bus_init(srv);
    srv->engine = engine_new(srv);
    srv->sim = sim_new(srv, cfg->sim_mask);
    struct persist_target t = target_of(srv);
    srv->store = store_open(&cfg->store, &t, err, errlen);
    if (srv->store == NULL) {
        server_free(srv);
        return -1;
    }
    srv->listener = evconnlistener_new_bind(
        srv->base, on_accept, srv,
        LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 511,
        (struct sockaddr *)&ss, sslen);
    if (srv->listener == NULL) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        server_free(srv);
        return -1;
    }
    evconnlistener_set_error_cb(srv->listener, on_accept_error);
    if (cfg->http_port >= 0 && http_start(srv, cfg->http_bind, cfg->http_port, err, errlen) != 0) {
        server_free(srv);
        return -1;
    }
    chreg_recovered(srv->channels, srv->now_ms);
    srv->last_event_id = t.order_events;
    store_set_wake(srv->store, on_store_wake, srv);
    /* The store first, so an order's record comes before its saga's. */
    book_observe(srv->book, store_on_order, srv->store);
    book_observe(srv->book, metrics_on_order, srv->metrics);
    events_attach(srv);
    /* Without sagas there are no step channels and nobody to answer them. */
    if (cfg->saga) {
        book_observe(srv->book, engine_on_order, srv->engine);
        engine_start(srv->engine);
        sim_start(srv->sim);
    }
    evsignal_add(srv->sig_int, NULL);
    evsignal_add(srv->sig_term, NULL);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    char shown[INET6_ADDRSTRLEN] = "?";
    int port = cfg->port;
    if (getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&bound, &blen) == 0) {
        if (bound.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&bound)->sin6_addr, shown, sizeof shown);
            port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
        } else {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&bound)->sin_addr, shown, sizeof shown);
            port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        }
    }
    srv->bound_port = port;
    srv->tick_due_ms = clock_mono_ms() + 1000;
    log_event("info", "event=listening addr=%s:%d version=%s", shown, port, ORDERD_VERSION);
    return 0;
}

void server_run(struct server *srv)
{
    event_base_dispatch(srv->base);
}

void server_shutdown(struct server *srv)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = true;
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    evtimer_del(srv->accept_retry);
    if (srv->nconns == 0) {
        event_base_loopbreak(srv->base);
        return;
    }
    struct timeval tv = {SHUTDOWN_GRACE_MS / 1000, (SHUTDOWN_GRACE_MS % 1000) * 1000};
    evtimer_add(srv->shutdown_deadline, &tv);
    for (struct conn *c = srv->conns, *next; c; c = next) {
        next = conn_next(c);
        conn_finish(c);
    }
}

void server_conn_closing(struct server *srv, struct conn *c)
{
    bus_conn_closing(srv, c);
}

void server_conn_closed(struct server *srv)
{
    if (srv->shutting_down && srv->nconns == 0)
        event_base_loopbreak(srv->base);
}

void server_free(struct server *srv)
{
    while (srv->conns)
        conn_free(srv->conns);
    if (srv->listener)
        evconnlistener_free(srv->listener);
    if (srv->sig_int)
        event_free(srv->sig_int);
    if (srv->sig_term)
        event_free(srv->sig_term);
    if (srv->accept_retry)
        event_free(srv->accept_retry);
    if (srv->shutdown_deadline)
        event_free(srv->shutdown_deadline);
    if (srv->deferred_ev)
        event_free(srv->deferred_ev);
    if (srv->tick)
        event_free(srv->tick);
    if (srv->sig_chld)
        event_free(srv->sig_chld);
    http_stop(srv);
    store_close(srv->store);
    metrics_free(srv->metrics);
    sim_free(srv->sim);
    engine_free(srv->engine);
    bus_free(srv);
    book_free(srv->book);
    if (srv->base)
        event_base_free(srv->base);
    memset(srv, 0, sizeof *srv);
}

size_t server_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}
