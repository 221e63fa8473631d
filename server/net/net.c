/* The listener and the lists of connections (see net.h). */
#include "net.h"

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
#include "listen.h"
#include "xalloc.h"

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

struct net *net_new(const struct net_config *cfg, struct event_base *base, struct cmd_env *env,
                    const struct net_hooks *hooks)
{
    struct net *n = xcalloc(1, sizeof *n);
    n->cfg = *cfg;
    n->base = base;
    n->env = env;
    n->hooks = *hooks;
    return n;
}

void net_free(struct net *n)
{
    if (n == NULL)
        return;
    while (n->conns)
        conn_free(n->conns);
    listener_free(n->listener);
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

void net_adopt(struct net *n, int fd)
{
    if (n->shutting_down) {
        close(fd);
        return;
    }
    if (net_clients(n) >= n->cfg.max_clients) {
        refuse(n, fd);
        return;
    }
    n->env->counters->connections_total++;
    conn_new(n, fd);
}

static void on_accept(void *arg, int fd)
{
    struct net *n = arg;
    clock_tick(n->env->clk);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    net_adopt(n, fd);
}

int net_listen(struct net *n, char *err, size_t errlen)
{
    if (n->cfg.port < 0)
        return 0;
    n->listener = listener_new(n->base, n->cfg.bind, n->cfg.port, "listening", on_accept, n, err,
                               errlen);
    if (n->listener == NULL)
        return -1;
    n->env->counters->port = listener_port(n->listener);
    return 0;
}

void net_shutdown(struct net *n)
{
    if (n->shutting_down)
        return;
    n->shutting_down = true;
    listener_free(n->listener);
    n->listener = NULL;
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
