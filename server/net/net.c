/* The listener and the lists of connections (see net.h). */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd/command.h"
#include "conn.h"
#include "lib/clock.h"
#include "xalloc.h"

/* After EMFILE, accepting resumes after this pause (as memcached does). */
#define ACCEPT_RETRY_MS 100
#define ACCEPT_WARN_MS 10000

void net_config_default(struct net_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->bind, sizeof cfg->bind, "127.0.0.1");
    cfg->port = 7070;
    proto_limits_default(&cfg->limits);
    cfg->max_clients = NET_MAX_CLIENTS_DEFAULT;
    cfg->max_output = NET_MAX_OUTPUT_DEFAULT;
    cfg->max_output_pause = NET_MAX_OUTPUT_PAUSE_DEFAULT;
    cfg->output_limits[CLIENT_NORMAL] = (struct output_limit){0, 0, 0};
    cfg->output_limits[CLIENT_PUBSUB] = (struct output_limit){
        NET_PUBSUB_HARD_DEFAULT, NET_PUBSUB_SOFT_DEFAULT, NET_PUBSUB_SOFT_SECONDS_DEFAULT};
    cfg->output_limits[CLIENT_WORKER] = (struct output_limit){
        NET_WORKER_HARD_DEFAULT, NET_WORKER_SOFT_DEFAULT, NET_WORKER_SOFT_SECONDS_DEFAULT};
    cfg->timeout = 0;
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg);

struct net *net_new(const struct net_config *cfg, struct event_base *base, struct cmd_env *env,
                    const struct net_hooks *hooks)
{
    struct net *n = xcalloc(1, sizeof *n);
    n->cfg = *cfg;
    n->base = base;
    n->env = env;
    n->hooks = *hooks;
    n->accept_retry = evtimer_new(base, on_accept_retry, n);
    return n;
}

void net_free(struct net *n)
{
    if (n == NULL)
        return;
    while (n->conns)
        conn_free(n->conns);
    if (n->listener)
        evconnlistener_free(n->listener);
    event_free(n->accept_retry);
    free(n);
}

size_t net_clients(const struct net *n)
{
    return n->env->counters->clients;
}

static void refuse(struct net *n, int fd)
{
    char msg[96];
    int len = snprintf(msg, sizeof msg, "-LIMIT too many clients (max %zu)\r\n",
                       n->cfg.max_clients);
    /* Best effort: the socket is fresh, its buffer empty. */
    if (send(fd, msg, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        (void)0;
    close(fd);
    n->env->counters->connections_rejected++;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                      int socklen, void *arg)
{
    struct net *n = arg;
    (void)l;
    (void)addr;
    (void)socklen;
    clock_tick(n->env->clk);
    if (net_clients(n) >= n->cfg.max_clients) {
        refuse(n, fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    n->env->counters->connections_total++;
    conn_new(n, fd);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct net *n = arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        /* Out of descriptors: stop accepting for a moment instead of
         * spinning on a listener that stays readable. Logged once per
         * ACCEPT_WARN_MS, not at every retry. */
        int64_t now = clock_mono_ms();
        if (now - n->last_accept_warn_ms >= ACCEPT_WARN_MS) {
            log_event("warn", "event=accept_paused error=\"%s\"", strerror(err));
            n->last_accept_warn_ms = now;
        }
        evconnlistener_disable(l);
        struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
        evtimer_add(n->accept_retry, &tv);
    }
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    struct net *n = arg;
    (void)fd;
    (void)what;
    if (n->listener && !n->shutting_down)
        evconnlistener_enable(n->listener);
}

/* "host:port", with brackets for IPv6. libevent's parser refuses port 0:
 * it is parsed as 1, then set to 0 (any free port; the log says which). */
static int parse_addr(const char *bind, int port, struct sockaddr_storage *ss, int *sslen,
                      char *shown, size_t shownlen)
{
    char addr[96];
    const char *fmt = strchr(bind, ':') ? "[%s]:%d" : "%s:%d";
    snprintf(shown, shownlen, fmt, bind, port);
    snprintf(addr, sizeof addr, fmt, bind, port == 0 ? 1 : port);
    *sslen = sizeof *ss;
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)ss, sslen) != 0)
        return -1;
    if (port == 0) {
        if (ss->ss_family == AF_INET6)
            ((struct sockaddr_in6 *)ss)->sin6_port = 0;
        else
            ((struct sockaddr_in *)ss)->sin_port = 0;
    }
    return 0;
}

int net_listen(struct net *n, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int sslen;
    char shown[96];
    if (parse_addr(n->cfg.bind, n->cfg.port, &ss, &sslen, shown, sizeof shown) != 0) {
        snprintf(err, errlen, "cannot parse bind address '%s'", n->cfg.bind);
        return -1;
    }
    n->listener = evconnlistener_new_bind(
        n->base, on_accept, n, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        511, (struct sockaddr *)&ss, sslen);
    if (n->listener == NULL) {
        snprintf(err, errlen, "cannot listen on %s: %s", shown, strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(n->listener, on_accept_error);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = n->cfg.port;
    if (getsockname(evconnlistener_get_fd(n->listener), (struct sockaddr *)&bound, &blen) == 0) {
        if (bound.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&bound)->sin6_addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
        } else {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&bound)->sin_addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        }
    }
    n->env->counters->port = port;
    log_event("info", "event=listening addr=%s:%d", host, port);
    return 0;
}

void net_shutdown(struct net *n)
{
    if (n->shutting_down)
        return;
    n->shutting_down = true;
    if (n->listener) {
        evconnlistener_free(n->listener);
        n->listener = NULL;
    }
    evtimer_del(n->accept_retry);
    if (n->conns == NULL) {
        if (n->hooks.drained)
            n->hooks.drained(n->hooks.ctx);
        return;
    }
    for (struct conn *c = n->conns, *next; c; c = next) {
        next = conn_next(c);
        conn_finish(c);
    }
}

void net_run_deferred(struct net *n)
{
    conn_run_deferred(n);
}

void net_durable(struct net *n, uint64_t pos)
{
    conn_release_held(n, pos);
}
