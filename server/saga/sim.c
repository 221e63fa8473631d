/* The simulated participants (see sim.h). Work is never done inside the
 * call that published a message: a woken participant is put on a deferred
 * event and consumes at the end of the loop turn, like a client would. */
#include "sim.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "channels/bus.h"
#include "channels/channel.h"
#include "lib/clock.h"
#include "lib/gate.h"
#include "lib/heap.h"
#include "lib/strmap.h"
#include "lib/u64map.h"
#include "orders/book.h"
#include "xalloc.h"

/* The consumer group owner the simulators consume as: no connection, so
 * never "gone". */
#define SIM_OWNER UINT64_MAX
#define SIM_BATCH 256
/* Messages taken, and answers given, per wake-up: enough to keep up with
 * what a loop turn of busy clients creates (a bound below that lets a
 * backlog grow until steps time out), small enough (a few ms) that clients
 * are served in between when a backlog is deep. */
#define SIM_WORK_MAX 8192

/* The channels each participant consumes. */
static const struct {
    enum participant p;
    const char *channel;
} feeds[] = {
    {PART_CUSTOMER, "customer.validate"},
    {PART_INVENTORY, "inventory.reserve"},
    {PART_INVENTORY, "inventory.release"},
    {PART_PAYMENT, "payment.authorize"},
    {PART_PAYMENT, "payment.refund"},
    {PART_SHIPPING, "shipping.dispatch"},
    {PART_SHIPPING, "shipping.deliver"},
    {PART_NOTIFY, ENGINE_NOTIFY_CHANNEL},
};
#define NFEEDS (sizeof feeds / sizeof feeds[0])

struct feed {
    struct chan_waiter w;      /* first: the waiter callback gets this back */
    struct sim *sim;
    struct channel *ch;
    struct chan_group *g;
    int step;                  /* enum saga_step, -1 for notify */
};

/* An answer waiting for the participant's latency (or a parcel's transit). */
struct later {
    struct heap_node due;      /* first */
    int feed;
    uint64_t msg;
    uint64_t order;
    bool progress;             /* shipping: the halfway tracking update */
};

struct sim {
    struct clock *clk;         /* borrowed, like the four below */
    struct gate *gate;
    struct book *book;
    struct bus *bus;
    struct engine *engine;
    struct sim_hooks hooks;
    struct sim_settings settings[PART_COUNT];
    struct feed feeds[NFEEDS];
    struct event *work;        /* deferred: consume what woke us */
    bool queued;               /* work is activated and has not run yet */
    struct event *timer;       /* the earliest `later` */
    struct heap later;
    struct strmap stock;       /* sku -> (int64_t *) level */
    struct u64map reserved;    /* order id -> qty */
    struct u64map charged;     /* order id -> amount */
    struct strmap blocked;     /* customer -> non-NULL */
    int64_t stock_default;
    uint64_t rng;
};

static void on_work(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);

static void on_gate_opened(void *arg);

struct sim *sim_new(struct event_base *base, struct clock *clk, struct gate *gate,
                    struct book *book, struct bus *bus, struct engine *engine,
                    unsigned enabled_mask, const struct sim_hooks *hooks)
{
    struct sim *s = xcalloc(1, sizeof *s);
    s->clk = clk;
    s->gate = gate;
    s->book = book;
    s->bus = bus;
    s->engine = engine;
    if (hooks)
        s->hooks = *hooks;
    for (int p = 0; p < PART_COUNT; p++)
        s->settings[p] = (struct sim_settings){.enabled = enabled_mask & (1u << p)};
    s->settings[PART_SHIPPING].transit_ms = SIM_TRANSIT_DEFAULT_MS;
    s->work = event_new(base, -1, 0, on_work, s);
    s->timer = evtimer_new(base, on_timer, s);
    heap_init(&s->later);
    strmap_init(&s->stock);
    u64map_init(&s->reserved);
    u64map_init(&s->charged);
    strmap_init(&s->blocked);
    s->stock_default = SIM_STOCK_DEFAULT;
    s->rng = 0x2545f4914f6cdd1dULL ^ (uint64_t)clk->wall_ms;
    if (gate)
        gate_listen(gate, on_gate_opened, s);
    return s;
}

static void free_values(struct strmap *m)
{
    size_t it = 0, len;
    const char *k;
    void *v;
    while (strmap_next(m, &it, &k, &len, &v))
        free(v);
    strmap_free(m);
}

void sim_free(struct sim *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < NFEEDS; i++)
        group_unwait(&s->feeds[i].w);
    struct heap_node *n;
    while ((n = heap_peek(&s->later))) {
        heap_remove(&s->later, n);
        free(n);
    }
    heap_free(&s->later);
    event_free(s->work);
    event_free(s->timer);
    free_values(&s->stock);
    u64map_free(&s->reserved);
    u64map_free(&s->charged);
    strmap_free(&s->blocked);
    free(s);
}

/* Uniform in [0, 1). */
static double rnd(struct sim *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (double)((s->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* --- state, recorded ------------------------------------------------- */

static int64_t *value_slot(struct strmap *m, const char *key)
{
    int64_t *v = strmap_get(m, key, strlen(key));
    if (v == NULL) {
        v = xcalloc(1, sizeof *v);
        strmap_put(m, key, strlen(key), v);
    }
    return v;
}

/* A reservation or a charge: 0 is none (released, refunded). */
static void set_order_value(struct u64map *m, uint64_t order, int64_t value)
{
    if (value == 0)
        u64map_del(m, order, NULL);
    else
        u64map_put(m, order, value);
}

/* Records name an order by its id in decimal, as they always have. */
static void order_key(char key[24], uint64_t order)
{
    snprintf(key, 24, "%llu", (unsigned long long)order);
}

/* The inverse of order_key(), and only of it: digits without a sign or a
 * leading zero, within 64 bits, so that what is applied snapshots back to
 * the same text. */
static bool parse_order_key(const char *key, uint64_t *order)
{
    if (key[0] == '\0' || (key[0] == '0' && key[1] != '\0'))
        return false;
    uint64_t v = 0;
    for (const char *p = key; *p; p++) {
        if (*p < '0' || *p > '9' || __builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
            return false;
    }
    *order = v;
    return true;
}

static void note(struct sim *s, enum sim_record type, const char *key, int64_t value)
{
    if (s->hooks.changed)
        s->hooks.changed(s->hooks.ctx, type, key, value);
}

static void note_order(struct sim *s, enum sim_record type, uint64_t order, int64_t value)
{
    char key[24];
    order_key(key, order);
    note(s, type, key, value);
}

/* The order's reservation and charge, closed (recorded as 0, as a release
 * and a refund are, but without giving the stock or the money back). */
static void close_ledger(struct sim *s, uint64_t order)
{
    if (u64map_get(&s->reserved, order, NULL)) {
        set_order_value(&s->reserved, order, 0);
        note_order(s, SIMREC_RESERVATION, order, 0);
    }
    if (u64map_get(&s->charged, order, NULL)) {
        set_order_value(&s->charged, order, 0);
        note_order(s, SIMREC_CHARGE, order, 0);
    }
}

int sim_apply(struct sim *s, enum sim_record type, const char *key, int64_t value)
{
    uint64_t order;
    switch (type) {
    case SIMREC_STOCK:
        *value_slot(&s->stock, key) = value;
        return 0;
    case SIMREC_RESERVATION:
        if (!parse_order_key(key, &order))
            return -1;
        set_order_value(&s->reserved, order, value);
        return 0;
    case SIMREC_CHARGE:
        if (!parse_order_key(key, &order))
            return -1;
        set_order_value(&s->charged, order, value);
        return 0;
    case SIMREC_BLOCK:
        if (value)
            strmap_put(&s->blocked, key, strlen(key), s);
        else
            strmap_del(&s->blocked, key, strlen(key));
        return 0;
    case SIMREC_STOCK_DEFAULT:
        s->stock_default = value;
        return 0;
    }
    return -1;
}

static void snapshot_orders(const struct u64map *m, enum sim_record type,
                            void (*fn)(void *, enum sim_record, const char *, int64_t),
                            void *arg)
{
    size_t it = 0;
    uint64_t order;
    int64_t v;
    char key[24];
    while (u64map_next(m, &it, &order, &v)) {
        order_key(key, order);
        fn(arg, type, key, v);
    }
}

void sim_snapshot(const struct sim *s,
                  void (*fn)(void *arg, enum sim_record type, const char *key, int64_t value),
                  void *arg)
{
    fn(arg, SIMREC_STOCK_DEFAULT, "", s->stock_default);
    size_t it = 0, len;
    const char *k;
    void *v;
    while (strmap_next(&s->stock, &it, &k, &len, &v))
        fn(arg, SIMREC_STOCK, k, *(int64_t *)v);
    snapshot_orders(&s->reserved, SIMREC_RESERVATION, fn, arg);
    snapshot_orders(&s->charged, SIMREC_CHARGE, fn, arg);
    it = 0;
    while (strmap_next(&s->blocked, &it, &k, &len, &v))
        fn(arg, SIMREC_BLOCK, k, 1);
}

int64_t sim_stock(const struct sim *s, const char *sku)
{
    const int64_t *v = strmap_get(&s->stock, sku, strlen(sku));
    return v ? *v : s->stock_default;
}

void sim_set_stock(struct sim *s, const char *sku, int64_t level)
{
    *value_slot(&s->stock, sku) = level;
    note(s, SIMREC_STOCK, sku, level);
}

int64_t sim_stock_default(const struct sim *s)
{
    return s->stock_default;
}

void sim_set_stock_default(struct sim *s, int64_t level)
{
    s->stock_default = level;
    note(s, SIMREC_STOCK_DEFAULT, "", level);
}

bool sim_blocked(const struct sim *s, const char *customer)
{
    return strmap_get(&s->blocked, customer, strlen(customer)) != NULL;
}

void sim_block(struct sim *s, const char *customer, bool blocked)
{
    sim_apply(s, SIMREC_BLOCK, customer, blocked);
    note(s, SIMREC_BLOCK, customer, blocked);
}

struct sim_settings *sim_settings(struct sim *s, enum participant p)
{
    return &s->settings[p];
}

/* --- the participants' decisions ------------------------------------- */

struct answer {
    enum step_outcome outcome;
    const char *reason;
    struct step_extra extra;
    char tracking[32];
};

static bool transient(struct sim *s, enum participant p, struct answer *a, const char *why)
{
    if (s->settings[p].error > 0 && rnd(s) < s->settings[p].error) {
        a->outcome = OUTCOME_RETRY;
        a->reason = why;
        return true;
    }
    return false;
}

/* What the participant says about order o for step st. Every decision is
 * idempotent per order: a second reserve or charge for the same order is
 * answered "ok" without doing it again. */
static void decide(struct sim *s, int st, const struct order *o, struct answer *a)
{
    a->outcome = OUTCOME_OK;
    a->reason = NULL;
    switch (st) {
    case SAGA_VALIDATE:
        if (transient(s, PART_CUSTOMER, a, "customer registry unavailable"))
            return;
        if (sim_blocked(s, o->customer)) {
            a->outcome = OUTCOME_FAIL;
            a->reason = "customer blocked";
        }
        return;
    case SAGA_RESERVE: {
        if (transient(s, PART_INVENTORY, a, "inventory unavailable"))
            return;
        if (u64map_get(&s->reserved, o->id, NULL))
            return;
        int64_t level = sim_stock(s, o->item);
        if (level < o->qty) {
            a->outcome = OUTCOME_FAIL;
            a->reason = "out of stock";
            return;
        }
        sim_set_stock(s, o->item, level - o->qty);
        set_order_value(&s->reserved, o->id, o->qty);
        note_order(s, SIMREC_RESERVATION, o->id, o->qty);
        return;
    }
    case SAGA_RELEASE: {
        if (transient(s, PART_INVENTORY, a, "inventory unavailable"))
            return;
        int64_t qty;
        if (!u64map_get(&s->reserved, o->id, &qty))
            return;
        /* Levels are at most SIM_STOCK_MAX and quantities at most 10^9, so
         * this cannot overflow; should it ever, the level stops at the
         * limit rather than wrap negative. */
        int64_t level;
        if (__builtin_add_overflow(sim_stock(s, o->item), qty, &level))
            level = INT64_MAX;
        sim_set_stock(s, o->item, level);
        set_order_value(&s->reserved, o->id, 0);
        note_order(s, SIMREC_RESERVATION, o->id, 0);
        return;
    }
    case SAGA_AUTHORIZE:
        if (u64map_get(&s->charged, o->id, NULL))
            return;
        if (s->settings[PART_PAYMENT].decline > 0 && rnd(s) < s->settings[PART_PAYMENT].decline) {
            a->outcome = OUTCOME_FAIL;
            a->reason = "card declined";
            return;
        }
        if (transient(s, PART_PAYMENT, a, "payment gateway error"))
            return;
        set_order_value(&s->charged, o->id, o->amount ? o->amount : 1);
        note_order(s, SIMREC_CHARGE, o->id, o->amount ? o->amount : 1);
        return;
    case SAGA_REFUND:
        if (transient(s, PART_PAYMENT, a, "payment gateway error"))
            return;
        if (u64map_get(&s->charged, o->id, NULL)) {
            set_order_value(&s->charged, o->id, 0);
            note_order(s, SIMREC_CHARGE, o->id, 0);
        }
        return;
    case SAGA_DISPATCH:
        if (transient(s, PART_SHIPPING, a, "carrier unavailable"))
            return;
        snprintf(a->tracking, sizeof a->tracking, "TRK%08llu", (unsigned long long)o->id);
        a->extra.tracking = a->tracking;
        a->extra.location = "warehouse";
        a->extra.eta_ms = s->clk->wall_ms + s->settings[PART_SHIPPING].transit_ms;
        return;
    case SAGA_DELIVER:
        a->extra.location = "delivered";
        /* Delivered: the goods are gone and the payment is captured, so
         * the order's reservation and charge close. Nothing can undo them
         * now, and a participant's ledger of open ones stays small however
         * many orders it has served. */
        close_ledger(s, o->id);
        return;
    }
}

/* A notification: a line for people on the live channel `notify`. */
struct notification {
    const struct sim *sim;
    const struct chan_delivery *d;
};

/* The line for people, made only when someone listens on `notify`. */
static void notification_line(void *arg, struct buf *out)
{
    const struct notification *n = arg;
    const struct chan_delivery *d = n->d;
    static const char key[] = "\"status\":\"";
    const char *status = memmem(d->payload, d->len, key, sizeof key - 1);
    uint64_t id = engine_payload_order(d->payload, d->len);
    const struct order *o = book_get(n->sim->book, id);
    char st[16] = "?";
    if (status) {
        const char *p = status + sizeof key - 1, *end = d->payload + d->len;
        size_t k = 0;
        while (p < end && *p >= 'A' && *p <= 'Z' && k < sizeof st - 1)
            st[k++] = *p++;
        st[k] = '\0';
    }
    buf_printf(out, "email to %s: your order %llu is now %s", o ? o->customer : "?",
               (unsigned long long)id, st);
}

static void send_notification(struct sim *s, struct feed *f, const struct chan_delivery *d)
{
    struct notification n = {s, d};
    bus_publish_built(s->bus, "notify", 6, notification_line, &n);
    group_ack(bus_channels(s->bus), f->g, d->offset, s->clk->now_ms);
}

static void answer_now(struct sim *s, struct feed *f, uint64_t msg, uint64_t order)
{
    const struct order *o = book_get(s->book, order);
    struct answer a = {0};
    if (o == NULL)
        return;
    decide(s, f->step, o, &a);
    engine_step(s->engine, f->ch, f->g, msg, a.outcome, a.reason, &a.extra);
}

static void arm(struct sim *s)
{
    struct heap_node *top = heap_peek(&s->later);
    if (top == NULL) {
        evtimer_del(s->timer);
        return;
    }
    clock_arm(s->clk, s->timer, top->due_ms);
}

static void answer_later(struct sim *s, int feed, uint64_t msg, uint64_t order, int64_t at,
                         bool progress)
{
    struct later *l = xcalloc(1, sizeof *l);
    l->feed = feed;
    l->msg = msg;
    l->order = order;
    l->progress = progress;
    heap_set(&s->later, &l->due, at);
    arm(s);
}

static void take(struct sim *s, int fi, const struct chan_delivery *d)
{
    struct feed *f = &s->feeds[fi];
    if (f->step < 0) {
        send_notification(s, f, d);
        return;
    }
    uint64_t order = engine_payload_order(d->payload, d->len);
    const struct sim_settings *set = &s->settings[feeds[fi].p];
    int64_t at = s->clk->now_ms + set->latency_ms;
    if (f->step == SAGA_DELIVER && set->transit_ms > 0) {
        at += set->transit_ms;
        answer_later(s, fi, d->offset, order, s->clk->now_ms + set->transit_ms / 2, true);
    }
    if (at > s->clk->now_ms)
        answer_later(s, fi, d->offset, order, at, false);
    else
        answer_now(s, f, d->offset, order);
}

static void queue_work(struct sim *s)
{
    s->queued = true;
    event_active(s->work, 0, 0);
}

bool sim_busy(const struct sim *s)
{
    return s->queued && !gate_closed(s->gate);
}

static void on_ready(struct chan_waiter *w)
{
    struct feed *f = (struct feed *)w;
    /* Not here, inside whoever published: after it, in this loop turn. */
    queue_work(f->sim);
}

static void on_work(evutil_socket_t fd, short what, void *arg)
{
    struct sim *s = arg;
    (void)fd;
    (void)what;
    s->queued = false;
    clock_tick(s->clk);
    /* Taking a message changes state: not while the store cannot record
     * it (on_gate_opened() comes back). */
    if (gate_closed(s->gate))
        return;
    struct chan_delivery d[SIM_BATCH];
    size_t taken = 0;
    bool more = true;
    /* Batches from every feed in turn, up to SIM_WORK_MAX a wake-up: a
     * deep backlog is taken in slices, with everyone else served in
     * between. A feed with nothing left waits to be woken. */
    while (more && taken < SIM_WORK_MAX) {
        more = false;
        for (size_t i = 0; i < NFEEDS; i++) {
            struct feed *f = &s->feeds[i];
            if (!s->settings[feeds[i].p].enabled || f->g == NULL)
                continue;
            if (gate_closed(s->gate))
                return;  /* on_gate_opened() comes back */
            size_t n = group_consume(bus_channels(s->bus), f->g, "sim", SIM_OWNER, SIM_BATCH,
                                     d, s->clk->now_ms);
            for (size_t k = 0; k < n; k++)
                take(s, (int)i, &d[k]);
            taken += n;
            if (n == SIM_BATCH)
                more = true;
            else if (f->w.group == NULL)
                group_wait(f->g, &f->w);
        }
    }
    if (more)
        queue_work(s);
    bus_rearm(s->bus);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct sim *s = arg;
    (void)fd;
    (void)what;
    clock_tick(s->clk);
    if (gate_closed(s->gate))
        return;
    struct heap_node *top;
    size_t done = 0;
    while (done++ < SIM_WORK_MAX && (top = heap_peek(&s->later)) &&
           top->due_ms <= s->clk->now_ms && !gate_closed(s->gate)) {
        struct later *l = (struct later *)top;
        heap_remove(&s->later, top);
        struct feed *f = &s->feeds[l->feed];
        if (l->progress)
            engine_progress(s->engine, SAGA_DELIVER, l->msg, l->order, "in transit",
                            s->clk->wall_ms + s->settings[PART_SHIPPING].transit_ms / 2);
        else if (s->settings[feeds[l->feed].p].enabled)
            answer_now(s, f, l->msg, l->order);
        free(l);
    }
    bus_rearm(s->bus);
    arm(s);  /* at once again when more than a batch was due */
}

static void on_gate_opened(void *arg)
{
    struct sim *s = arg;
    queue_work(s);
    arm(s);
}

void sim_start(struct sim *s)
{
    for (size_t i = 0; i < NFEEDS; i++) {
        struct feed *f = &s->feeds[i];
        f->sim = s;
        f->w.ready = on_ready;
        f->ch = chreg_find(bus_channels(s->bus), feeds[i].channel);
        f->g = f->ch ? chan_group(f->ch, participant_name(feeds[i].p), true) : NULL;
        f->step = saga_step_parse(feeds[i].channel);
    }
    for (int p = 0; p < PART_COUNT; p++)
        sim_settings_changed(s, p);
}

void sim_settings_changed(struct sim *s, enum participant p)
{
    for (size_t i = 0; i < NFEEDS; i++) {
        struct feed *f = &s->feeds[i];
        if (feeds[i].p != p || f->g == NULL)
            continue;
        if (s->settings[p].enabled && f->w.group == NULL)
            group_wait(f->g, &f->w);
        else if (!s->settings[p].enabled)
            group_unwait(&f->w);
    }
    /* Whatever is waiting already is taken at the end of this turn. */
    if (s->settings[p].enabled)
        queue_work(s);
}
