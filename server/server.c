/* The server (see server.h): the wiring, signals and shutdown. */
#include "server.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cache/order_cache.h"
#include "channels/bus.h"
#include "channels/channel.h"
#include "cmd/metrics.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/memory.h"
#include "lib/version.h"
#include "net/http.h"
#include "net/tls_port.h"
#include "notify.h"
#include "orders/book.h"
#include "orders/order_json.h"
#include "saga/engine.h"
#include "saga/sim.h"
#include "store/memory_store.h"
#include "store/persist.h"
#include "store/store.h"

/* How long shutdown waits for clients to take their last replies. */
#define SHUTDOWN_GRACE_MS 5000

void server_config_default(struct server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    net_config_default(&cfg->net);
    cfg->store = STORE_JOURNAL;
    cfg->journal.dir = SERVER_DATA_DIR_DEFAULT;
    cfg->journal.fsync = FSYNC_EVERYSEC;
    cfg->journal.repair = false;
    cfg->journal.compact_min = JOURNAL_COMPACT_MIN_DEFAULT;
    cfg->journal.reserve = JOURNAL_RESERVE_DEFAULT;
    cfg->pg.conninfo = "";
    cfg->pg.lease_ms = PG_LEASE_MS_DEFAULT;
    cfg->pg.timeout_ms = PG_TIMEOUT_MS_DEFAULT;
    cfg->cache_orders = CACHE_ORDERS_DEFAULT;
    cfg->cache_ttl_ms = CACHE_TTL_MS_DEFAULT;
    cfg->sim_mask = (1u << PART_COUNT) - 1;
    cfg->saga = true;
    cfg->protected_mode = true;
    http_config_default(&cfg->http);
    cfg->max_subscriptions = CMD_MAX_SUBSCRIPTIONS_DEFAULT;
    cfg->max_message = CMD_MAX_MESSAGE_DEFAULT;
    cfg->max_reply_payload = CMD_MAX_REPLY_PAYLOAD_DEFAULT;
    tls_config_default(&cfg->tls);
    cfg->max_channels = CMD_MAX_CHANNELS_DEFAULT;
}

/* --- the end of a loop turn ---------------------------------------------- */

/* A saga has five steps: the end of a turn waits for the participants
 * this many times at most. */
#define TURN_WAIT_MAX 8

/* Write what this turn recorded (one write, and with always one fsync, for
 * all of it: group commit), then run what connections deferred. Replies
 * that wait for durability stay held until the store reports it. */
static void on_turn_end(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    /* The participants answering what this turn published belong to its
     * commit: a step message published, taken and answered in one commit
     * is left out of the journal (store/turn.h). After them, then, a
     * bounded number of times, so a chain of steps cannot hold it off. */
    if (srv->turn_waits < TURN_WAIT_MAX && srv->cfg.saga && sim_busy(srv->sim)) {
        srv->turn_waits++;
        event_active(srv->turn_end, 0, 0);
        return;
    }
    srv->turn_waits = 0;
    store_commit(srv->store);
    net_run_deferred(srv->net);
    /* Running them may have recorded more: that is written next turn. */
}

static void wake_turn_end(void *arg)
{
    struct server *srv = arg;
    /* Activated, not timed: it runs after the callbacks already due in
     * this loop turn, so a burst of pushes costs one write per client. */
    event_active(srv->turn_end, 0, 0);
}

/* The gate's question before timer work: may state change now? */
static bool admit(void *arg)
{
    struct server *srv = arg;
    char why[200];
    return store_writable(srv->store, why, sizeof why);
}

static void on_durable(void *arg, uint64_t pos)
{
    struct server *srv = arg;
    net_durable(srv->net, pos);
    http_durable(srv->http, pos);
    if (srv->cache)
        order_cache_evict(srv->cache, srv->clock.now_ms, pos);
}

/* A finished order may leave memory once what it became is durable. */
static void on_order_finished(void *arg, const struct order_event *ev, const struct order *o,
                              int from)
{
    struct server *srv = arg;
    (void)from;
    if (ev->type == ORDER_EV_TRANSITION && order_status_terminal(o->status))
        order_cache_finished(srv->cache, o->id, store_end(srv->store), srv->clock.now_ms);
}

static void on_store_fatal(void *arg, const char *why)
{
    struct server *srv = arg;
    /* Held replies are never sent: what they acknowledge may be lost. A
     * supervisor restarts orderd on what the journal really holds. */
    log_event("error", "event=exiting reason=\"%s\"", why);
    notify_stopping(srv->notify, "exiting: %s", why);
    srv->exit_code = 1;
    event_base_loopbreak(srv->base);
}

/* --- what subsystems report ---------------------------------------------- */

static void on_chan_changed(void *arg, const struct chan_change *c)
{
    struct server *srv = arg;
    store_on_change(srv->store, c);
}

static void on_saga_changed(void *arg, const struct saga *s, const struct tracking *t)
{
    struct server *srv = arg;
    store_on_saga(srv->store, s, t);
    if (srv->cache)
        order_cache_changed(srv->cache, s->order, store_end(srv->store));
}

static void on_step_answered(void *arg, enum saga_step st, enum step_outcome o, uint64_t us)
{
    struct server *srv = arg;
    metrics_step(srv->metrics, st, o, us);
}

static void on_step_timed_out(void *arg, enum saga_step st)
{
    struct server *srv = arg;
    metrics_step_timeout(srv->metrics, st);
}

static void on_sim_changed(void *arg, int type, const char *key, int64_t value)
{
    struct server *srv = arg;
    store_on_sim(srv->store, type, key, value);
}

/* An order event on its way to the bus, for the bus to render if it must. */
struct order_event_out {
    struct clock *clk;
    uint64_t id;
    const struct order_event *ev;
    const struct order *order;
    int from;
};

static void build_order_event(void *arg, struct buf *out)
{
    const struct order_event_out *e = arg;
    order_json_event(out, e->clk, e->id, e->ev, e->order, e->from);
}

/* Order events: every order created is published on `order.created`, every
 * status change on `order.status`, as one line of JSON. Every event takes
 * the next id whether or not anyone hears it, but its JSON is made only for
 * a listener (a subscriber, a pattern, a durable channel): without one,
 * making it was a third of what a CREATE cost. */
static void on_order_event(void *arg, const struct order_event *ev, const struct order *o,
                           int from)
{
    struct server *srv = arg;
    const char *channel = order_json_channel(ev);
    struct order_event_out out = {&srv->clock, ++srv->last_event_id, ev, o, from};
    bus_publish_built(srv->bus, channel, strlen(channel), build_order_event, &out);
}

/* --- time, signals, shutdown --------------------------------------------- */

/* systemd's status line while this node serves. */
static void serving_text(const struct server *srv, char *out, size_t n)
{
    snprintf(out, n, "serving: %zu clients, %llu orders", srv->counters.clients,
             (unsigned long long)book_last_id(srv->book));
}

/* Sent when it changes: at most once a second, from the tick. */
static void notify_serving(struct server *srv)
{
    char text[128];
    serving_text(srv, text, sizeof text);
    notify_status(srv->notify, "%s", text);
}

/* The event loop's lag probe: how late a one-second timer fires. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    clock_tick(&srv->clock);
    int64_t mono = clock_mono_ms();
    if (srv->tick_due_ms)
        metrics_loop_lag(srv->metrics, mono - srv->tick_due_ms);
    srv->tick_due_ms = mono + 1000;
    if (!srv->counters.shutting_down && store_active(srv->store))
        notify_serving(srv);
    if (srv->cache)
        order_cache_evict(srv->cache, srv->clock.now_ms, store_durable(srv->store));
}

/* --maxmemory: requests are held against the resident size sampled here,
 * ten times a second, not measured per request. A sample that cannot be
 * taken leaves the last one standing. */
#define MEMORY_SAMPLE_MS 100

static void on_memory_sample(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    char err[160];
    size_t rss;
    if (memory_rss(&rss, err, sizeof err) == 0) {
        srv->env.memory.used = rss;
        srv->memory_error_logged = false;
    } else if (!srv->memory_error_logged) {
        log_event("warn", "event=memory_sample_failed error=\"%s\"", err);
        srv->memory_error_logged = true;
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    (void)what;
    clock_tick(&srv->clock);
    if (srv->counters.shutting_down) {
        /* A second signal: stop waiting for slow clients. */
        log_event("warn", "event=shutdown_forced signal=%s clients=%zu",
                  sig == SIGINT ? "INT" : "TERM", srv->counters.clients);
        event_base_loopbreak(srv->base);
        return;
    }
    log_event("info", "event=shutdown signal=%s", sig == SIGINT ? "INT" : "TERM");
    server_shutdown(srv);
}

static void on_shutdown_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    log_event("warn", "event=shutdown_forced clients=%zu", srv->counters.clients);
    event_base_loopbreak(srv->base);
}

/* Shutdown is over once every connection has closed and every TLS relay
 * has passed on what its connection sent. */
static void leave_if_drained(struct server *srv)
{
    if (srv->net_drained && (srv->tls_port == NULL || srv->tls_drained))
        event_base_loopbreak(srv->base);
}

static void on_drained(void *arg)
{
    struct server *srv = arg;
    srv->net_drained = true;
    leave_if_drained(srv);
}

static void on_tls_drained(void *arg)
{
    struct server *srv = arg;
    srv->tls_drained = true;
    leave_if_drained(srv);
}

static void on_tls_adopt(void *arg, int fd)
{
    struct server *srv = arg;
    net_adopt(srv->net, fd);
}

void server_shutdown(struct server *srv)
{
    if (srv->counters.shutting_down)
        return;
    srv->counters.shutting_down = true;
    int rc = notify_stopping(srv->notify, "stopping: sending the last replies to %zu clients",
                             srv->counters.clients);
    if (rc != 0)
        log_event("warn", "event=notify_failed what=STOPPING error=\"%s\"", strerror(-rc));
    struct timeval tv = {SHUTDOWN_GRACE_MS / 1000, (SHUTDOWN_GRACE_MS % 1000) * 1000};
    evtimer_add(srv->shutdown_deadline, &tv);
    if (srv->tls_port)
        tls_port_shutdown(srv->tls_port);
    net_shutdown(srv->net);
}

/* SHUTDOWN runs inside a connection's request: the stop begins on the next
 * pass of the loop, once its reply is queued. */
static void on_shutdown_asked(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    server_shutdown(arg);
}

static void ask_shutdown(void *arg)
{
    struct server *srv = arg;
    event_active(srv->shutdown_asked, EV_TIMEOUT, 0);
}

/* --- start-up -------------------------------------------------------------- */

/* Users from --acl-file and --requirepass; then protected mode: with
 * nobody to authenticate, orderd listens on loopback addresses only. */
static int setup_auth(struct server *srv, char *err, size_t errlen)
{
    const struct server_config *cfg = &srv->cfg;
    acl_init(&srv->acl);
    if (cfg->acl_file && acl_load_file(&srv->acl, cfg->acl_file, err, errlen) != 0)
        return -1;
    if (cfg->requirepass && acl_set_requirepass(&srv->acl, cfg->requirepass, err, errlen) != 0)
        return -1;
    if (acl_enabled(&srv->acl) || !cfg->protected_mode)
        return 0;
    const char *open_addr = NULL, *flag = NULL;
    if (addr_is_open(cfg->net.bind)) {
        open_addr = cfg->net.bind;
        flag = "--bind";
    } else if (cfg->http.port >= 0 && addr_is_open(cfg->http.bind)) {
        open_addr = cfg->http.bind;
        flag = "--http-bind";
    }
    if (open_addr == NULL)
        return 0;
    snprintf(err, errlen,
             "protected mode: refusing to listen on %s (%s) with no password, as anyone who "
             "reaches it could do anything. Set --requirepass or --acl-file, or listen on "
             "127.0.0.1, or, on a network you trust, pass --protected-mode no",
             open_addr, flag);
    return -1;
}


static void on_store_active(void *arg);

static struct store *open_store(struct server *srv, struct persist_target *t, char *err,
                                size_t errlen)
{
    struct store_env env = {
        .hooks = {.ctx = srv, .wake = wake_turn_end, .durable = on_durable,
                  .fatal = on_store_fatal, .active = on_store_active},
        .gate = &srv->gate,
    };
    if (srv->cfg.store == STORE_MEMORY)
        return memory_store_open(&env);
    if (srv->cfg.store == STORE_POSTGRES) {
        /* Other nodes see this one as the lease's holder by this name. */
        struct pg_options o = srv->cfg.pg;
        char node[300], host[256] = "localhost";
        if (o.node == NULL) {
            gethostname(host, sizeof host - 1);
            snprintf(node, sizeof node, "%s:%d", host,
                     srv->cfg.net.port >= 0 ? srv->cfg.net.port : srv->cfg.tls.port);
            o.node = node;
        }
        return pg_store_open(&o, srv->base, t, &env, err, errlen);
    }
    return journal_store_open(&srv->cfg.journal, srv->base, &srv->clock, t, &env, err, errlen);
}

/* What runs once the state is whole and this node may change it: at
 * start-up, or when a standby takes over. */
static void start_serving(struct server *srv)
{
    chreg_recovered(bus_channels(srv->bus), srv->clock.now_ms);
    srv->last_event_id = srv->target.order_events;
    /* Without sagas there are no step channels and nobody to answer them. */
    if (srv->cfg.saga) {
        engine_start(srv->engine);
        sim_start(srv->sim);
    }
}

static void on_store_active(void *arg)
{
    struct server *srv = arg;
    clock_tick(&srv->clock);
    start_serving(srv);
    notify_serving(srv);
}

int server_init(struct server *srv, const struct server_config *cfg, char *err,
                size_t errlen)
{
    memset(srv, 0, sizeof *srv);
    srv->cfg = *cfg;
    clock_init(&srv->clock, NULL);
    gate_init(&srv->gate);
    srv->counters.started_ms = srv->clock.now_ms;
    srv->counters.saga = cfg->saga;
    if (setup_auth(srv, err, errlen) != 0) {
        server_free(srv);
        return -1;
    }

    srv->base = event_base_new();
    if (srv->base == NULL) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    srv->sig_int = evsignal_new(srv->base, SIGINT, on_signal, srv);
    srv->sig_term = evsignal_new(srv->base, SIGTERM, on_signal, srv);
    srv->shutdown_deadline = evtimer_new(srv->base, on_shutdown_deadline, srv);
    srv->shutdown_asked = event_new(srv->base, -1, 0, on_shutdown_asked, srv);
    srv->turn_end = event_new(srv->base, -1, 0, on_turn_end, srv);
    srv->tick = event_new(srv->base, -1, EV_PERSIST, on_tick, srv);
    struct timeval second = {1, 0};
    evtimer_add(srv->tick, &second);
    /* The certificate and key before recovery, which can take long: a
     * wrong file is said at once. */
    if ((cfg->tls.port >= 0 || cfg->http.tls) &&
        (srv->tls = tls_context_new(&cfg->tls, err, errlen)) == NULL) {
        server_free(srv);
        return -1;
    }
    srv->notify = notify_new(srv->base);

    /* The subsystems, each given what it needs. */
    struct bus_hooks bh = {.ctx = srv, .changed = on_chan_changed};
    struct engine_hooks eh = {.ctx = srv,
                              .saga_changed = on_saga_changed,
                              .step_answered = on_step_answered,
                              .step_timed_out = on_step_timed_out};
    struct sim_hooks sh = {.ctx = srv, .changed = on_sim_changed};
    size_t ncommands;
    command_table(&ncommands);
    srv->metrics = metrics_new(ncommands);
    srv->book = book_new();
    srv->bus = bus_new(srv->base, &srv->clock, &srv->gate, &bh);
    srv->engine = engine_new(srv->base, &srv->clock, &srv->gate, srv->book, srv->bus, &eh);
    srv->sim = sim_new(srv->base, &srv->clock, &srv->gate, srv->book, srv->bus, srv->engine,
                       cfg->sim_mask, &sh);

    /* Recover before listening: a client that can connect is served from
     * the whole state, never from part of it. */
    srv->target = (struct persist_target){.book = srv->book,
                                          .channels = bus_channels(srv->bus),
                                          .dlq = bus_dlq(srv->bus), .engine = srv->engine,
                                          .sim = srv->sim};
    if (cfg->store == STORE_JOURNAL)
        notify_status(srv->notify, "recovering from the journal in %s", cfg->journal.dir);
    else if (cfg->store == STORE_POSTGRES)
        notify_status(srv->notify, "connecting to PostgreSQL and recovering from it");
    srv->store = open_store(srv, &srv->target, err, errlen);
    if (srv->store == NULL) {
        server_free(srv);
        return -1;
    }
    srv->gate.admit = admit;
    srv->gate.admit_arg = srv;
    if (store_can_load(srv->store))
        srv->cache = order_cache_new(srv->book, srv->engine, cfg->cache_orders,
                                     cfg->cache_ttl_ms);
    srv->env = (struct cmd_env){
        .base = srv->base, .clk = &srv->clock, .book = srv->book, .bus = srv->bus,
        .engine = srv->engine, .sim = srv->sim, .store = srv->store,
        .metrics = srv->metrics, .cache = srv->cache, .counters = &srv->counters,
        .max_subscriptions = cfg->max_subscriptions,
        .max_message = cfg->max_message,
        .max_reply_payload = cfg->max_reply_payload,
        .acl = &srv->acl, .auth_log = &srv->auth_log,
        .shutdown = ask_shutdown, .shutdown_ctx = srv,
        .max_channels = cfg->max_channels,
        .memory = {.max = cfg->maxmemory},
    };
    if (cfg->maxmemory > 0) {
        /* The first sample now: a process that cannot read its size must
         * not run with a limit it cannot hold. */
        if (memory_rss(&srv->env.memory.used, err, errlen) != 0) {
            server_free(srv);
            return -1;
        }
        srv->memory_sample = event_new(srv->base, -1, EV_PERSIST, on_memory_sample, srv);
        struct timeval every = {0, MEMORY_SAMPLE_MS * 1000};
        evtimer_add(srv->memory_sample, &every);
    }
    struct net_hooks nh = {.ctx = srv, .wake = wake_turn_end, .drained = on_drained};
    srv->net = net_new(&cfg->net, srv->base, &srv->env, &nh);
    if (net_listen(srv->net, err, errlen) != 0) {
        server_free(srv);
        return -1;
    }
    struct tls_port_hooks th = {.ctx = srv, .adopt = on_tls_adopt, .drained = on_tls_drained};
    if (cfg->tls.port >= 0 &&
        (srv->tls_port = tls_port_open(srv->tls, srv->base, &srv->env, cfg->net.bind,
                                       cfg->tls.port, cfg->net.max_clients, &th, err,
                                       errlen)) == NULL) {
        server_free(srv);
        return -1;
    }
    /* An event stream (GET /events) is a subscriber: the pub/sub output
     * limits are its own. */
    struct http_config http_cfg = cfg->http;
    http_cfg.sse.limit = cfg->net.output_limits[CLIENT_PUBSUB];
    if (cfg->http.port >= 0 &&
        (srv->http = http_start(srv->base, &srv->env, &http_cfg, srv->tls, err, errlen)) ==
            NULL) {
        server_free(srv);
        return -1;
    }
    /* The store first, so an order's record comes before its saga's. */
    book_observe(srv->book, store_on_order, srv->store);
    book_observe(srv->book, metrics_on_order, srv->metrics);
    book_observe(srv->book, on_order_event, srv);
    if (srv->cache)
        book_observe(srv->book, on_order_finished, srv);
    if (cfg->saga)
        book_observe(srv->book, engine_on_order, srv->engine);
    /* A standby starts serving when it takes over (on_store_active). */
    if (store_active(srv->store))
        start_serving(srv);
    evsignal_add(srv->sig_int, NULL);
    evsignal_add(srv->sig_term, NULL);
    srv->tick_due_ms = clock_mono_ms() + 1000;
    if (srv->tls_port)
        log_event("info", "event=started version=%s port=%d tls_port=%d", ORDERD_VERSION,
                  srv->counters.port, srv->counters.tls_port);
    else
        log_event("info", "event=started version=%s port=%d", ORDERD_VERSION,
                  srv->counters.port);
    /* Recovered and listening: a client that connects now is served. */
    char text[128] = "standby: waiting for the lease on the database";
    if (store_active(srv->store))
        serving_text(srv, text, sizeof text);
    int rc = notify_ready(srv->notify, "%s", text);
    if (rc != 0)
        log_event("warn", "event=notify_failed what=READY error=\"%s\"", strerror(-rc));
    if (notify_watchdog_interval_us(srv->notify) > 0)
        log_event("info", "event=watchdog ping_ms=%llu",
                  (unsigned long long)(notify_watchdog_interval_us(srv->notify) / 1000));
    return 0;
}

int server_run(struct server *srv)
{
    event_base_dispatch(srv->base);
    return srv->exit_code;
}

int server_close(struct server *srv)
{
    int rc = srv->store && store_close(srv->store) != 0 ? -1 : 0;
    srv->store = NULL;
    return rc;
}

int server_free(struct server *srv)
{
    tls_port_free(srv->tls_port);
    net_free(srv->net);
    http_stop(srv->http);
    tls_context_free(srv->tls);
    int rc = server_close(srv);
    sim_free(srv->sim);
    order_cache_free(srv->cache);
    engine_free(srv->engine);
    bus_free(srv->bus);
    book_free(srv->book);
    metrics_free(srv->metrics);
    acl_free(&srv->acl);
    notify_free(srv->notify);
    struct event *events[] = {srv->sig_int, srv->sig_term, srv->shutdown_deadline,
                              srv->turn_end, srv->tick, srv->shutdown_asked,
                              srv->memory_sample};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (events[i])
            event_free(events[i]);
    if (srv->base)
        event_base_free(srv->base);
    memset(srv, 0, sizeof *srv);
    return rc;
}
