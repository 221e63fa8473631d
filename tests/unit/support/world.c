/* A server's world for unit tests (see world.h). */
#include "world.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "channels/bus.h"
#include "channels/channel.h"
#include "cmd/metrics.h"
#include "net/net.h"
#include "orders/book.h"
#include "saga/engine.h"
#include "saga/sim.h"
#include "store/store.h"
#include "xalloc.h"

/* --- the clock --------------------------------------------------------- */

static int64_t fake_wall(void *arg)
{
    return ((struct world *)arg)->fake_wall;
}

static int64_t fake_mono(void *arg)
{
    return ((struct world *)arg)->fake_mono;
}

/* --- the store double -------------------------------------------------- */

static void dbl_order(void *be, const struct order_event *ev)
{
    struct store_double *d = be;
    d->end++;
    if (d->tap)
        d->tap->order(d->tap_be, ev);
}

static void dbl_change(void *be, const struct chan_change *c)
{
    struct store_double *d = be;
    d->end++;
    if (d->tap)
        d->tap->change(d->tap_be, c);
}

static void dbl_saga(void *be, const struct saga *sg, const struct tracking *t)
{
    struct store_double *d = be;
    d->end++;
    if (d->tap)
        d->tap->saga(d->tap_be, sg, t);
}

static void dbl_sim(void *be, int type, const char *key, int64_t value)
{
    struct store_double *d = be;
    d->end++;
    if (d->tap)
        d->tap->sim(d->tap_be, type, key, value);
}

static void dbl_commit(void *be)
{
    struct store_double *d = be;
    d->commits++;
    if (d->tap)
        d->tap->commit(d->tap_be);
    if (d->mode == DOUBLE_NOW)
        store_report_durable(d->store, d->end);
    else if (d->mode == DOUBLE_ERROR)
        store_report_fatal(d->store, "the double's fsync failed");
}

static uint64_t dbl_end(const void *be)
{
    return ((const struct store_double *)be)->end;
}

static bool dbl_writable(void *be, char *why, size_t whylen)
{
    const struct store_double *d = be;
    if (d->refusing)
        snprintf(why, whylen, "the double refuses");
    return !d->refusing;
}

static bool dbl_stalled(const void *be)
{
    return ((const struct store_double *)be)->mode == DOUBLE_NEVER;
}

static void dbl_stats(const void *be, struct store_stats *st)
{
    st->fsync = "double";
    st->records = ((const struct store_double *)be)->end;
}

static int dbl_close(void *be)
{
    (void)be;
    return 0;
}

static const struct store_ops double_ops = {
    .name = "double",
    .order = dbl_order,
    .change = dbl_change,
    .saga = dbl_saga,
    .sim = dbl_sim,
    .commit = dbl_commit,
    .end = dbl_end,
    .writable = dbl_writable,
    .stalled = dbl_stalled,
    .stats = dbl_stats,
    .close = dbl_close,
};

void double_complete(struct world *w)
{
    store_report_durable(w->dbl.store, w->dbl.end);
}

void double_refuse(struct world *w, bool refusing)
{
    w->dbl.refusing = refusing;
    store_report_writable(w->dbl.store, refusing ? "the double refuses" : NULL);
}

/* --- the wiring, as server.c does it ------------------------------------- */

/* server.c's TURN_WAIT_MAX: how many times the end of a turn waits for the
 * participants to answer what the turn published. */
#define WORLD_TURN_WAIT_MAX 8

static void on_turn_end(evutil_socket_t fd, short what, void *arg)
{
    struct world *w = arg;
    (void)fd;
    (void)what;
    /* As server.c: a step published and answered within the turn belongs
     * to its commit (store/turn.h). */
    if (w->turn_waits < WORLD_TURN_WAIT_MAX && w->counters.saga && sim_busy(w->sim)) {
        w->turn_waits++;
        event_active(w->turn_end, 0, 0);
        return;
    }
    w->turn_waits = 0;
    store_commit(w->dbl.store);
    if (w->net)
        net_run_deferred(w->net);
}

static void wake(void *arg)
{
    struct world *w = arg;
    event_active(w->turn_end, 0, 0);
}

static void on_durable(void *arg, uint64_t pos)
{
    struct world *w = arg;
    if (w->net)
        net_durable(w->net, pos);
}

static void on_fatal(void *arg, const char *why)
{
    struct world *w = arg;
    (void)why;
    w->dbl.fatal_calls++;
}

static void on_chan_changed(void *arg, const struct chan_change *c)
{
    store_on_change(((struct world *)arg)->dbl.store, c);
}

static void on_saga_changed(void *arg, const struct saga *s, const struct tracking *t)
{
    store_on_saga(((struct world *)arg)->dbl.store, s, t);
}

static void on_sim_changed(void *arg, int type, const char *key, int64_t value)
{
    store_on_sim(((struct world *)arg)->dbl.store, type, key, value);
}

void world_init(struct world *w, bool saga)
{
    world_build(w, saga, NULL, NULL);
    world_start(w);
}

void world_build(struct world *w, bool saga, const struct store_ops *tap, void *tap_be)
{
    memset(w, 0, sizeof *w);
    w->base = event_base_new();
    w->fake_wall = 1800000000000LL;  /* 2027-01-15 */
    w->fake_mono = 5000;
    struct clock_source src = {fake_wall, fake_mono, w};
    clock_init(&w->clock, &src);
    gate_init(&w->gate);
    w->turn_end = event_new(w->base, -1, 0, on_turn_end, w);
    size_t ncommands;
    command_table(&ncommands);
    w->metrics = metrics_new(ncommands);
    w->book = book_new();
    struct bus_hooks bh = {.ctx = w, .changed = on_chan_changed};
    struct engine_hooks eh = {.ctx = w, .saga_changed = on_saga_changed};
    struct sim_hooks sh = {.ctx = w, .changed = on_sim_changed};
    w->bus = bus_new(w->base, &w->clock, &w->gate, &bh);
    w->engine = engine_new(w->base, &w->clock, &w->gate, w->book, w->bus, &eh);
    w->sim = sim_new(w->base, &w->clock, &w->gate, w->book, w->bus, w->engine,
                     saga ? (1u << PART_COUNT) - 1 : 0, &sh);
    struct store_env env = {.hooks = {.ctx = w, .wake = wake, .durable = on_durable,
                                      .fatal = on_fatal},
                            .gate = &w->gate};
    w->dbl.tap = tap;
    w->dbl.tap_be = tap_be;
    w->dbl.store = store_new(&double_ops, &w->dbl, &env);
    w->counters.saga = saga;
    w->env = (struct cmd_env){.base = w->base, .clk = &w->clock, .book = w->book,
                              .bus = w->bus, .engine = w->engine, .sim = w->sim,
                              .store = w->dbl.store, .metrics = w->metrics,
                              .counters = &w->counters,
                              .max_subscriptions = CMD_MAX_SUBSCRIPTIONS_DEFAULT,
                              .max_message = CMD_MAX_MESSAGE_DEFAULT,
                              .max_reply_payload = CMD_MAX_REPLY_PAYLOAD_DEFAULT,
                              .max_channels = CMD_MAX_CHANNELS_DEFAULT};
}

void world_start(struct world *w)
{
    book_observe(w->book, store_on_order, w->dbl.store);
    if (w->counters.saga) {
        book_observe(w->book, engine_on_order, w->engine);
        engine_start(w->engine);
        sim_start(w->sim);
    }
}

void world_net(struct world *w)
{
    struct net_config cfg;
    net_config_default(&cfg);
    struct net_hooks nh = {.ctx = w, .wake = wake};
    w->net = net_new(&cfg, w->base, &w->env, &nh);
}

void world_free(struct world *w)
{
    net_free(w->net);
    store_close(w->dbl.store);
    sim_free(w->sim);
    engine_free(w->engine);
    bus_free(w->bus);
    book_free(w->book);
    metrics_free(w->metrics);
    event_free(w->turn_end);
    event_base_free(w->base);
}

void world_turn(struct world *w)
{
    /* Each turn runs what is active now; activated work runs on the next. */
    for (int i = 0; i < 16; i++)
        event_base_loop(w->base, EVLOOP_NONBLOCK);
}

#define WORLD_TIMERS_MAX 64

struct timers {
    struct event *ev[WORLD_TIMERS_MAX];
    int n;
};

static int collect_timer(const struct event_base *base, const struct event *ev, void *arg)
{
    struct timers *t = arg;
    (void)base;
    if ((event_get_events(ev) & (EV_READ | EV_WRITE | EV_SIGNAL)) != 0 ||
        !event_pending(ev, EV_TIMEOUT, NULL))
        return 0;
    if (t->n == WORLD_TIMERS_MAX)
        abort();  /* a world has a dozen timers: this one has grown */
    t->ev[t->n++] = (struct event *)ev;
    return 0;
}

void world_advance(struct world *w, int64_t ms)
{
    if (w->net)
        abort();  /* its timers would fire early (see world.h) */
    for (int64_t i = 0; i < ms; i++) {
        w->fake_wall++;
        w->fake_mono++;
        clock_tick(&w->clock);
        /* Not from inside the walk: it must not change the events it walks. */
        struct timers t = {.n = 0};
        event_base_foreach_event(w->base, collect_timer, &t);
        for (int k = 0; k < t.n; k++)
            event_active(t.ev[k], EV_TIMEOUT, 1);
        world_turn(w);
    }
}

/* --- a client without a connection ---------------------------------------- */

static struct test_client *of(struct cmd_client *c)
{
    return (struct test_client *)c;
}

static void tc_reply(struct cmd_client *c, struct reply *r)
{
    struct test_client *t = of(c);
    if (t->n < (int)(sizeof t->replies / sizeof t->replies[0]))
        t->replies[t->n++] = r;
    else
        reply_free(r);
}

static void tc_block(struct cmd_client *c, void (*cancel)(void *), void *arg)
{
    (void)cancel;
    (void)arg;
    of(c)->blocked = true;
}

static void tc_unblock(struct cmd_client *c, struct reply *r)
{
    of(c)->blocked = false;
    tc_reply(c, r);
}

static void tc_close(struct cmd_client *c)
{
    of(c)->closing = true;
}

static const struct cmd_client_ops tc_ops = {tc_reply, tc_block, tc_unblock, tc_close};

static void tc_push(struct subscriber *s, const char *bytes, size_t n, bool change)
{
    (void)s;
    (void)bytes;
    (void)n;
    (void)change;
}

void test_client_init(struct test_client *c, uint64_t id)
{
    memset(c, 0, sizeof *c);
    c->client.ops = &tc_ops;
    c->client.id = id;
    c->client.sub.push = tc_push;
}

void test_client_free(struct world *w, struct test_client *c)
{
    bus_client_gone(w->bus, &c->client.sub, c->client.id, false);
    for (int i = 0; i < c->n; i++)
        reply_free(c->replies[i]);
    c->n = 0;
}

struct reply *world_run(struct world *w, struct test_client *c, bool *changes, ...)
{
    struct arg argv[32];
    size_t argc = 0;
    va_list ap;
    va_start(ap, changes);
    const char *word;
    while ((word = va_arg(ap, const char *)) && argc < 32) {
        argv[argc].ptr = word;
        argv[argc].len = strlen(word);
        argc++;
    }
    va_end(ap);
    struct request req = {argc, argv, PROTO_RESP};
    struct cmd_ctx ctx = {.env = &w->env, .client = c ? &c->client : NULL};
    struct reply *r = command_dispatch(&ctx, &req);
    if (changes)
        *changes = ctx.changes;
    return r;
}
