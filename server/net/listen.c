/* Listening sockets (see listen.h). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "xalloc.h"

/* After EMFILE, accepting resumes after this pause (as memcached does). */
#define ACCEPT_RETRY_MS 100
#define ACCEPT_WARN_MS 10000

struct listener {
    struct evconnlistener *evl;
    struct event *retry;          /* re-enables accepting after EMFILE */
    int64_t last_warn_ms;
    int port;
    listener_accept_fn fn;
    void *arg;
};

static void on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *addr,
                      int socklen, void *arg)
{
    struct listener *l = arg;
    (void)evl;
    (void)addr;
    (void)socklen;
    l->fn(l->arg, fd);
}

static void on_accept_error(struct evconnlistener *evl, void *arg)
{
    struct listener *l = arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        /* Out of descriptors: stop accepting for a moment instead of
         * spinning on a listener that stays readable. Logged once per
         * ACCEPT_WARN_MS, not at every retry. */
        int64_t now = clock_mono_ms();
        if (now - l->last_warn_ms >= ACCEPT_WARN_MS) {
            log_event("warn", "event=accept_paused port=%d error=\"%s\"", l->port,
                      strerror(err));
            l->last_warn_ms = now;
        }
        evconnlistener_disable(evl);
        struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
        evtimer_add(l->retry, &tv);
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    (void)fd;
    (void)what;
    evconnlistener_enable(l->evl);
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

struct listener *listener_new(struct event_base *base, const char *bind, int port,
                              const char *event, listener_accept_fn fn, void *arg, char *err,
                              size_t errlen)
{
    struct sockaddr_storage ss;
    int sslen;
    char shown[96];
    if (parse_addr(bind, port, &ss, &sslen, shown, sizeof shown) != 0) {
        snprintf(err, errlen, "cannot parse bind address '%s'", bind);
        return NULL;
    }
    struct listener *l = xcalloc(1, sizeof *l);
    l->fn = fn;
    l->arg = arg;
    l->evl = evconnlistener_new_bind(
        base, on_accept, l, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        511, (struct sockaddr *)&ss, sslen);
    if (l->evl == NULL) {
        snprintf(err, errlen, "cannot listen on %s: %s", shown, strerror(errno));
        free(l);
        return NULL;
    }
    evconnlistener_set_error_cb(l->evl, on_accept_error);
    l->retry = evtimer_new(base, on_retry, l);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    char host[INET6_ADDRSTRLEN] = "?";
    l->port = port;
    if (getsockname(evconnlistener_get_fd(l->evl), (struct sockaddr *)&bound, &blen) == 0) {
        if (bound.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&bound)->sin6_addr, host, sizeof host);
            l->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
        } else {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&bound)->sin_addr, host, sizeof host);
            l->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        }
    }
    log_event("info", "event=%s addr=%s:%d", event, host, l->port);
    return l;
}

int listener_port(const struct listener *l)
{
    return l->port;
}

void listener_free(struct listener *l)
{
    if (l == NULL)
        return;
    evconnlistener_free(l->evl);
    event_free(l->retry);
    free(l);
}
