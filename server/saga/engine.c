/* The saga engine (see engine.h). */
#include "engine.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "channels/bus.h"
#include "channels/channel.h"
#include "channels/dlq.h"
#include "lib/clock.h"
#include "lib/gate.h"
#include "lib/hash.h"
#include "lib/heap.h"
#include "json_writer.h"
#include "lib/log.h"
#include "lib/slots.h"
#include "orders/book.h"
#include "orders/order_json.h"
#include "saga_pack.h"
#include "xalloc.h"

static const char *const participants[PART_COUNT] = {
    [PART_CUSTOMER] = "customer", [PART_INVENTORY] = "inventory",
    [PART_PAYMENT] = "payment",   [PART_SHIPPING] = "shipping",
    [PART_NOTIFY] = "notify",
};

const char *participant_name(enum participant p)
{
    return (unsigned)p < PART_COUNT ? participants[p] : "?";
}

int participant_parse(const char *name)
{
    for (int i = 0; i < PART_COUNT; i++)
        if (strcmp(name, participants[i]) == 0)
            return i;
    return -1;
}

enum participant step_participant(enum saga_step st)
{
    return (enum participant)participant_parse(saga_step_participant(st));
}

/* A finished saga, packed (saga_pack.h). */
struct packed {
    uint32_t n;
    unsigned char bytes[];
};

/* Recovery keeps this many of the sagas it restored last unpacked (their
 * records come close together) and packs the finished ones before them. */
#define RESTORE_LIVE 16384

/* One saga and what the engine keeps beside it. */
struct saga_rt {
    struct heap_node due;     /* first: the heap hands this back */
    struct saga s;
    struct tracking *track;   /* owned, once shipping reports */
    /* A running step's last progress report (0: none since it was sent):
     * its timeout runs from here. Not journalled: after a restart the
     * attempt is redelivered and its timeout counts from when it was sent. */
    int64_t progress_ms[SAGA_STEP_COUNT];
};

/* The last packed saga unpacked for a reader. */
struct view {
    uint64_t order;           /* 0: none */
    struct saga_rt rt;
    struct tracking track;
};

/* A step held back by an open breaker. */
struct hold {
    uint64_t order;
    uint8_t step;
};

struct holds {
    struct hold *items;
    size_t head, n, cap;      /* a ring */
};

struct engine {
    struct clock *clk;            /* borrowed, like everything below to hooks */
    struct gate *gate;
    struct book *book;
    struct bus *bus;
    struct chan_registry *channels;
    struct engine_hooks hooks;
    /* By order: NULL when none (or gone from memory: engine_evict), a
     * struct saga_rt, or (tagged with the low bit) a struct packed:
     * finished sagas are packed at the end of the turn they finish in, and
     * unpacked again (thawed) only when something would change them.
     * Readers see packed ones through view. */
    struct slots sagas;       /* owned */
    uint64_t *to_pack;        /* orders whose sagas finished this turn */
    size_t npack, cappack;
    struct event *pack_ev;
    uint64_t restored[RESTORE_LIVE];  /* recovery: the sagas restored last */
    size_t nrestored;
    struct view *view;        /* owned */
    struct buf packing;       /* scratch */
    struct heap due;          /* sagas by their earliest step deadline */
    struct event *timer;
    struct saga_policy policy[SAGA_STEP_COUNT];
    struct breaker breakers[PART_COUNT];
    struct event *breaker_timer[PART_COUNT];
    struct holds held[PART_COUNT];
    struct channel *step_ch[SAGA_STEP_COUNT];
    struct chan_group *step_group[SAGA_STEP_COUNT];
    struct channel *notify_ch;
    uint64_t rng;
    /* When the gate last opened: time the store refused changes is not
     * charged to a participant, whose answers could not be taken. */
    int64_t resumed_ms;
    struct engine_stats st;
};

static uint64_t rng_next(struct engine *e)
{
    e->rng ^= e->rng >> 12;
    e->rng ^= e->rng << 25;
    e->rng ^= e->rng >> 27;
    return e->rng * 2685821657736338717ULL;
}

static void on_timer(evutil_socket_t fd, short what, void *arg);
static void on_breaker_timer(evutil_socket_t fd, short what, void *arg);

static void on_gate_opened(void *arg);
static void on_pack(evutil_socket_t fd, short what, void *arg);

struct engine *engine_new(struct event_base *base, struct clock *clk, struct gate *gate,
                          struct book *book, struct bus *bus, const struct engine_hooks *hooks)
{
    struct engine *e = xcalloc(1, sizeof *e);
    e->clk = clk;
    e->gate = gate;
    e->book = book;
    e->bus = bus;
    e->channels = bus_channels(bus);
    if (hooks)
        e->hooks = *hooks;
    heap_init(&e->due);
    e->timer = evtimer_new(base, on_timer, e);
    e->pack_ev = event_new(base, -1, 0, on_pack, e);
    e->view = xcalloc(1, sizeof *e->view);
    buf_init(&e->packing);
    struct breaker_config bc;
    breaker_config_default(&bc);
    for (int p = 0; p < PART_COUNT; p++) {
        breaker_init(&e->breakers[p], &bc);
        e->breaker_timer[p] = evtimer_new(base, on_breaker_timer, e);
    }
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        saga_policy_default(&e->policy[i]);
    e->rng = (uint64_t)clk->wall_ms | 1;
    if (gate)
        gate_listen(gate, on_gate_opened, e);
    return e;
}

/* --- where sagas are kept: live or packed -------------------------------- */

static bool is_packed(const void *slot) { return (uintptr_t)slot & 1; }

static struct packed *packed_of(void *slot)
{
    return (struct packed *)((uintptr_t)slot & ~(uintptr_t)1);
}

static void track_release(struct tracking *t)
{
    free(t->number);
    free(t->location);
}

static void rt_free(struct saga_rt *rt)
{
    saga_release(&rt->s);
    if (rt->track) {
        track_release(rt->track);
        free(rt->track);
    }
    free(rt);
}

static void slot_free(void *slot)
{
    if (slot == NULL)
        return;
    if (is_packed(slot))
        free(packed_of(slot));
    else
        rt_free(slot);
}

static void view_clear(struct view *v)
{
    saga_release(&v->rt.s);
    track_release(&v->track);
    memset(v, 0, sizeof *v);
}

/* Unpacks into rt (and a parcel into *track): 0, or -1 (never for what
 * this engine packed itself). */
static int unpack(const struct packed *p, uint64_t order, struct saga_rt *rt,
                  struct tracking *track)
{
    bool has_track;
    memset(rt, 0, sizeof *rt);
    if (saga_unpack(p->bytes, p->n, &rt->s, track, &has_track) != 0)
        return -1;
    rt->s.order = order;
    rt->track = has_track ? track : NULL;
    return 0;
}

/* The saga of order for a reader, packed or not; NULL when none. Packed
 * ones are unpacked into e->view, which stays valid until another packed
 * saga is asked for or this one changes. */
static const struct saga_rt *view(const struct engine *e, uint64_t order)
{
    void *slot = slots_get(&e->sagas, order);
    if (slot == NULL || !is_packed(slot))
        return slot;
    struct view *v = e->view;
    if (v->order != order) {
        view_clear(v);
        if (unpack(packed_of(slot), order, &v->rt, &v->track) != 0)
            return NULL;
        v->order = order;
    }
    return &v->rt;
}

/* Packs order's saga when it is finished and waits for nothing. */
static void pack(struct engine *e, uint64_t order)
{
    void *slot = slots_get(&e->sagas, order);
    struct saga_rt *rt = slot;
    if (slot == NULL || is_packed(slot) || !saga_finished(&rt->s) || heap_contains(&rt->due))
        return;
    buf_clear(&e->packing);
    saga_pack(&rt->s, rt->track, &e->packing);
    struct packed *p = xmalloc(sizeof *p + buf_used(&e->packing));
    p->n = (uint32_t)buf_used(&e->packing);
    memcpy(p->bytes, buf_head(&e->packing), p->n);
    rt_free(rt);
    slots_set(&e->sagas, order, (void *)((uintptr_t)p | 1));
}

/* Packs order's saga at the end of this turn (if it is finished then):
 * until then whoever finished it may still hold it. */
static void pack_later(struct engine *e, uint64_t order)
{
    if (e->npack == e->cappack) {
        e->cappack = e->cappack ? e->cappack * 2 : 256;
        e->to_pack = xrealloc(e->to_pack, e->cappack * sizeof *e->to_pack);
    }
    e->to_pack[e->npack++] = order;
    event_active(e->pack_ev, 0, 0);
}

static void on_pack(evutil_socket_t fd, short what, void *arg)
{
    struct engine *e = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < e->npack; i++)
        pack(e, e->to_pack[i]);
    e->npack = 0;
}

/* The saga of order to change: a packed one is unpacked for good (and
 * packed again at the end of the turn, when it is still finished). */
static struct saga_rt *rt_get(struct engine *e, uint64_t order)
{
    void *slot = slots_get(&e->sagas, order);
    if (slot == NULL || !is_packed(slot))
        return slot;
    struct saga_rt *rt = xmalloc(sizeof *rt);
    struct tracking track;
    if (unpack(packed_of(slot), order, rt, &track) != 0) {
        free(rt);
        return NULL;
    }
    if (rt->track) {
        rt->track = xmalloc(sizeof *rt->track);
        *rt->track = track;
    }
    free(packed_of(slot));
    slots_set(&e->sagas, order, rt);
    if (e->view->order == order)
        view_clear(e->view);
    pack_later(e, order);
    return rt;
}

void engine_free(struct engine *e)
{
    if (e == NULL)
        return;
    heap_free(&e->due);  /* before the sagas its nodes live in */
    for (uint64_t id = 0; (id = slots_next(&e->sagas, id));)
        slot_free(slots_get(&e->sagas, id));
    slots_free(&e->sagas);
    free(e->to_pack);
    view_clear(e->view);
    free(e->view);
    buf_free(&e->packing);
    event_free(e->pack_ev);
    event_free(e->timer);
    for (int p = 0; p < PART_COUNT; p++) {
        event_free(e->breaker_timer[p]);
        free(e->held[p].items);
    }
    free(e);
}

static struct saga_rt *rt_new(struct engine *e, uint64_t order)
{
    if (slots_get(&e->sagas, order) == NULL)
        slots_set(&e->sagas, order, xcalloc(1, sizeof(struct saga_rt)));
    return rt_get(e, order);
}

/* --- timers ------------------------------------------------------------ */

static void arm(struct engine *e)
{
    struct heap_node *top = heap_peek(&e->due);
    if (top == NULL) {
        evtimer_del(e->timer);
        return;
    }
    clock_arm(e->clk, e->timer, top->due_ms);
}

/* When a running attempt times out: so long after it was sent or, when
 * its participant has reported progress since, after the last report. A
 * long job that shows it is alive is not given up on. */
static int64_t step_deadline(const struct engine *e, const struct saga_rt *rt, int st)
{
    int64_t from = rt->s.steps[st].sent_ms;
    if (rt->progress_ms[st] > from)
        from = rt->progress_ms[st];
    if (e->resumed_ms > from)
        from = e->resumed_ms;
    return from + e->policy[st].timeout_ms;
}

/* The saga's earliest deadline: a running attempt's timeout or a retry. */
static void reschedule(struct engine *e, struct saga_rt *rt)
{
    int64_t due = 0;
    if (!saga_finished(&rt->s)) {
        for (int i = 0; i < SAGA_STEP_COUNT; i++) {
            const struct saga_step_info *info = &rt->s.steps[i];
            int64_t at = 0;
            if (info->state == STEP_RUNNING)
                at = step_deadline(e, rt, i);
            else if (info->state == STEP_WAITING && info->next_retry_ms > 0)
                at = info->next_retry_ms;
            if (at > 0 && (due == 0 || at < due))
                due = at;
        }
    }
    struct heap_node *top = heap_peek(&e->due);
    if (due == 0) {
        heap_remove(&e->due, &rt->due);
    } else {
        heap_set(&e->due, &rt->due, due);
    }
    if (heap_peek(&e->due) != top || (top && top == &rt->due))
        arm(e);
}

/* --- recording --------------------------------------------------------- */

/* What a step looked like before an event, to record only what changed.
 * Texts compare by a hash of what they say: an address can come back for
 * a new text once the old one is freed. */
struct step_print {
    int state;
    uint32_t attempts;
    uint64_t msg;
    int64_t started, ended, retry, sent;
    uint64_t error;
};

struct saga_print {
    int state;
    bool cancelling, attention;
    uint64_t reason;
    int64_t updated;
    struct step_print steps[SAGA_STEP_COUNT];
};

/* 0 for no text; otherwise odd, so "" and NULL differ. */
static uint64_t text_print(const char *s)
{
    return s ? hash_bytes(0, s, strlen(s)) | 1 : 0;
}

static void print(const struct saga *s, struct saga_print *p)
{
    memset(p, 0, sizeof *p);  /* padding too: steps compare with memcmp */
    p->state = s->state;
    p->cancelling = s->cancelling;
    p->attention = s->attention;
    p->reason = text_print(s->reason);
    p->updated = s->updated_ms;
    for (int i = 0; i < SAGA_STEP_COUNT; i++) {
        const struct saga_step_info *info = &s->steps[i];
        p->steps[i] = (struct step_print){info->state, info->attempts, info->msg,
                                          info->started_ms, info->ended_ms,
                                          info->next_retry_ms, info->sent_ms,
                                          text_print(info->error)};
    }
}

/* Reports the saga whole when anything of it changed since before. */
static void record(struct engine *e, const struct saga_rt *rt, const struct saga_print *before)
{
    const struct saga *s = &rt->s;
    if (saga_finished(s))
        pack_later(e, s->order);
    if (e->hooks.saga_changed == NULL)
        return;
    struct saga_print after;
    print(s, &after);
    bool changed = before == NULL || after.state != before->state ||
                   after.cancelling != before->cancelling ||
                   after.attention != before->attention || after.reason != before->reason ||
                   after.updated != before->updated;
    for (int i = 0; i < SAGA_STEP_COUNT && !changed; i++)
        changed = memcmp(&after.steps[i], &before->steps[i], sizeof after.steps[i]) != 0;
    if (changed)
        e->hooks.saga_changed(e->hooks.ctx, s, rt->track);
}

/* --- messages ---------------------------------------------------------- */

/* A step's message: what a participant needs to do its part, and the
 * attempt, so an external worker can be idempotent per (order, step). It
 * is made from the order's fields, which never change, so its recipe
 * (ENGINE_RECIPE_STEP) makes the same bytes again. */
static void step_payload(const struct engine *e, uint64_t order, enum saga_step st,
                         uint32_t attempt, struct buf *b)
{
    const struct order *o = book_get(e->book, order);
    buf_appendc(b, '{');
    json_key(b, "order", 1);
    json_int(b, (long long)order);
    json_key(b, "step", 0);
    json_cstr(b, saga_step_name(st));
    json_key(b, "attempt", 0);
    json_int(b, attempt);
    if (o)
        order_json_goods(b, o);
    buf_appendc(b, '}');
}

/* The order id in a step or notification payload: {"order":N,... */
uint64_t engine_payload_order(const char *p, size_t n)
{
    static const char key[] = "{\"order\":";
    size_t k = sizeof key - 1;
    uint64_t v = 0;
    if (n <= k || memcmp(p, key, k) != 0)
        return 0;
    for (size_t i = k; i < n && p[i] >= '0' && p[i] <= '9' && v < UINT64_MAX / 10; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    return v;
}

static void announce_breaker(struct engine *e, enum participant p, enum breaker_state from)
{
    const struct breaker *b = &e->breakers[p];
    char ts[CLOCK_RFC3339_LEN];
    struct buf msg;
    buf_init(&msg);
    clock_format(e->clk, e->clk->wall_ms, ts);
    buf_appendc(&msg, '{');
    json_key(&msg, "participant", 1);
    json_cstr(&msg, participant_name(p));
    json_key(&msg, "from", 0);
    json_cstr(&msg, breaker_state_name(from));
    json_key(&msg, "to", 0);
    json_cstr(&msg, breaker_state_name(b->state));
    json_key(&msg, "failure_rate", 0);
    json_int(&msg, breaker_failure_pct(b));
    json_key(&msg, "time", 0);
    json_cstr(&msg, ts);
    buf_appendc(&msg, '}');
    bus_publish(e->bus, "breaker", 7, buf_head(&msg), buf_used(&msg));
    buf_free(&msg);
    log_event("warn", "event=breaker participant=%s from=%s to=%s", participant_name(p),
              breaker_state_name(from), breaker_state_name(b->state));
}

static void drain_held(struct engine *e, enum participant p);

/* Wakes drain_held() when an OPEN breaker lets trials through. At least
 * 1 ms: libevent's timers and the millisecond clock the breaker is judged
 * by can disagree by one, and a wake-up a little early comes back here. */
static void arm_breaker(struct engine *e, enum participant p)
{
    int64_t at = breaker_retry_at(&e->breakers[p]);
    clock_arm(e->clk, e->breaker_timer[p], at > e->clk->now_ms ? at : e->clk->now_ms + 1);
}

static void breaker_outcome(struct engine *e, enum participant p, bool failed)
{
    struct breaker *b = &e->breakers[p];
    enum breaker_state from = b->state;
    if (!breaker_record(b, failed, e->clk->now_ms))
        return;
    announce_breaker(e, p, from);
    if (b->state == BREAKER_OPEN)
        arm_breaker(e, p);
    else
        drain_held(e, p);
}

/* --- running actions --------------------------------------------------- */

static void run_actions(struct engine *e, struct saga_rt *rt, const struct saga_actions *acts);

static void hold(struct engine *e, enum participant p, uint64_t order, enum saga_step st)
{
    struct holds *h = &e->held[p];
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct hold *items = xmalloc(cap * sizeof *items);
        for (size_t i = 0; i < h->n; i++)
            items[i] = h->items[(h->head + i) % h->cap];
        free(h->items);
        h->items = items;
        h->cap = cap;
        h->head = 0;
    }
    h->items[(h->head + h->n++) % h->cap] = (struct hold){order, (uint8_t)st};
    /* HALF_OPEN with every trial out: the trials' outcomes drain the
     * queue (CLOSED) or open it again (and arm the timer then). */
    if (e->breakers[p].state != BREAKER_HALF_OPEN &&
        !evtimer_pending(e->breaker_timer[p], NULL))
        arm_breaker(e, p);
}

/* Sends the step's message, or holds it while the breaker is open. */
static void dispatch(struct engine *e, struct saga_rt *rt, enum saga_step st)
{
    enum participant p = step_participant(st);
    int64_t now = e->clk->now_ms;
    struct breaker *b = &e->breakers[p];
    enum breaker_state from = b->state;
    /* The only caller of breaker_allow(): each call sent takes one trial
     * slot of a half-open breaker, and none is taken for nothing. */
    bool allowed = breaker_allow(b, now);
    if (b->state != from)
        announce_breaker(e, p, from);  /* OPEN -> HALF_OPEN happens here */
    if (!allowed) {
        saga_held(&rt->s, st, now);
        hold(e, p, rt->s.order, st);
        return;
    }
    struct buf payload;
    uint32_t attempt = rt->s.steps[st].attempts + 1u;
    struct chan_recipe recipe = {ENGINE_RECIPE_STEP, {rt->s.order, (uint64_t)st, attempt}};
    buf_init(&payload);
    step_payload(e, rt->s.order, st, attempt, &payload);
    uint64_t msg = bus_append(e->bus, e->step_ch[st], buf_head(&payload), buf_used(&payload),
                              &recipe);
    buf_free(&payload);
    saga_dispatched(&rt->s, st, msg, now);
    rt->progress_ms[st] = 0;
    e->st.dispatched++;
}

static void drain_held(struct engine *e, enum participant p)
{
    struct holds *h = &e->held[p];
    while (h->n > 0) {
        struct hold next = h->items[h->head];
        struct saga_rt *rt = rt_get(e, next.order);
        struct saga_step_info *info = rt ? &rt->s.steps[next.step] : NULL;
        /* Still held? (It may have been cancelled meanwhile.) */
        if (info && info->state == STEP_WAITING && info->next_retry_ms == 0 &&
            !saga_finished(&rt->s)) {
            const struct breaker *b = &e->breakers[p];
            if (!breaker_ready(b, e->clk->now_ms)) {
                /* Still OPEN (woken a little early): wait for the rest.
                 * HALF_OPEN with every trial out: their outcomes decide. */
                if (b->state == BREAKER_OPEN)
                    arm_breaker(e, p);
                return;
            }
            struct saga_print before;
            print(&rt->s, &before);
            dispatch(e, rt, next.step);
            record(e, rt, &before);
            reschedule(e, rt);
        }
        h->head = (h->head + 1) % h->cap;
        h->n--;
    }
}

static void on_breaker_timer(evutil_socket_t fd, short what, void *arg)
{
    struct engine *e = arg;
    (void)fd;
    (void)what;
    clock_tick(e->clk);
    if (gate_closed(e->gate))
        return;  /* dispatching changes state: on_gate_opened() comes back */
    for (int p = 0; p < PART_COUNT; p++)
        if (e->held[p].n > 0 && !evtimer_pending(e->breaker_timer[p], NULL))
            drain_held(e, p);
}

static void set_status(struct engine *e, struct saga_rt *rt, enum order_status to,
                       const char *note)
{
    switch (book_transition(e->book, rt->s.order, to, "saga", note, e->clk->wall_ms)) {
    case BOOK_OK:
        break;
    default:
        /* Someone moved the order by hand (UPDATE): the saga goes on, its
         * status change is not forced over theirs. */
        log_event("warn", "event=saga_status_refused order=%llu to=%s",
                  (unsigned long long)rt->s.order, order_status_name(to));
    }
}

/* The DLQ gets the last attempt's own message, so that a replay hands a
 * worker exactly what it was sent. By now that attempt is settled (it was
 * answered, or it timed out), so it is read back from the channel's log;
 * only if retention took it is it written again, as it was. */
static void deadletter(struct engine *e, struct saga_rt *rt, enum saga_step st, const char *why)
{
    const struct saga_step_info *info = &rt->s.steps[st];
    const char *payload;
    size_t len;
    struct chan_delivery d;
    struct buf rebuilt;
    buf_init(&rebuilt);
    if (group_peek(e->step_group[st], info->msg, &payload, &len)) {
        /* still pending: that is the message */
    } else if (chan_read(e->channels, e->step_ch[st], info->msg, 1, &d,
                         e->clk->now_ms) == 1 && d.offset == info->msg) {
        payload = d.payload;
        len = d.len;
    } else {
        step_payload(e, rt->s.order, st, info->attempts, &rebuilt);
        payload = buf_head(&rebuilt);
        len = buf_used(&rebuilt);
    }
    chreg_dead_letter(e->channels, e->step_group[st], info->msg, payload, len, why,
                      info->attempts, info->started_ms, e->clk->now_ms);
    buf_free(&rebuilt);
    e->st.deadlettered++;
}

static void run_actions(struct engine *e, struct saga_rt *rt, const struct saga_actions *acts)
{
    for (int i = 0; i < acts->n; i++) {
        const struct saga_action *a = &acts->a[i];
        switch (a->type) {
        case ACT_DISPATCH:
            dispatch(e, rt, a->step);
            break;
        case ACT_RETRY:
            e->st.retries++;
            break;
        case ACT_STATUS:
            set_status(e, rt, a->status, a->note);
            break;
        case ACT_DEADLETTER:
            deadletter(e, rt, a->step, a->note);
            break;
        case ACT_FINISHED:
            if (rt->s.state == SAGA_DONE)
                e->st.done++;
            else if (rt->s.state == SAGA_CANCELLED)
                e->st.cancelled++;
            else
                e->st.failed++;
            break;
        }
    }
}

/* --- events ------------------------------------------------------------ */

/* A notification's message: an order's move to status from `from` (-1:
 * created) at time_ms. Its recipe (ENGINE_RECIPE_NOTIFY) holds all but
 * the customer, which never changes. */
static void notify_payload(struct clock *clk, const struct order *o, int status, int from,
                           int64_t time_ms, struct buf *b)
{
    char ts[CLOCK_RFC3339_LEN];
    clock_format(clk, time_ms, ts);
    buf_appendc(b, '{');
    json_key(b, "order", 1);
    json_int(b, (long long)o->id);
    json_key(b, "customer", 0);
    json_cstr(b, o->customer);
    json_key(b, "status", 0);
    json_cstr(b, order_status_name((enum order_status)status));
    json_key(b, "previous", 0);
    json_cstr(b, from < 0 ? NULL : order_status_name((enum order_status)from));
    json_key(b, "time", 0);
    json_cstr(b, ts);
    buf_appendc(b, '}');
}

static void notify(struct engine *e, const struct order *o, int from)
{
    if (e->notify_ch == NULL)
        return;
    struct buf b;
    struct chan_recipe recipe = {ENGINE_RECIPE_NOTIFY,
                                 {o->id, (uint64_t)o->status | (uint64_t)(from + 1) << 8,
                                  (uint64_t)o->updated_ms}};
    buf_init(&b);
    notify_payload(e->clk, o, (int)o->status, from, o->updated_ms, &b);
    bus_append(e->bus, e->notify_ch, buf_head(&b), buf_used(&b), &recipe);
    buf_free(&b);
}

const char *engine_recipe_channel(const struct chan_recipe *r)
{
    if (r->kind == ENGINE_RECIPE_STEP && r->arg[1] < SAGA_STEP_COUNT && r->arg[2] <= UINT32_MAX)
        return saga_step_name((enum saga_step)r->arg[1]);
    if (r->kind == ENGINE_RECIPE_NOTIFY && (r->arg[1] & 0xff) < ORDER_STATUS_COUNT &&
        ((r->arg[1] >> 8) & 0xff) <= ORDER_STATUS_COUNT && (r->arg[1] >> 16) == 0)
        return ENGINE_NOTIFY_CHANNEL;
    return NULL;
}

int engine_remake(const struct engine *e, const struct chan_recipe *r, const char **channel,
                  struct buf *payload)
{
    const struct order *o = book_get(e->book, r->arg[0]);
    if (o == NULL)
        return -1;
    switch (r->kind) {
    case ENGINE_RECIPE_STEP:
        if (r->arg[1] >= SAGA_STEP_COUNT || r->arg[2] > UINT32_MAX)
            return -1;
        *channel = saga_step_name((enum saga_step)r->arg[1]);
        step_payload(e, o->id, (enum saga_step)r->arg[1], (uint32_t)r->arg[2], payload);
        return 0;
    case ENGINE_RECIPE_NOTIFY: {
        int status = (int)(r->arg[1] & 0xff), from = (int)((r->arg[1] >> 8) & 0xff) - 1;
        if (status >= ORDER_STATUS_COUNT || from >= ORDER_STATUS_COUNT || (r->arg[1] >> 16))
            return -1;
        *channel = ENGINE_NOTIFY_CHANNEL;
        notify_payload(e->clk, o, status, from, (int64_t)r->arg[2], payload);
        return 0;
    }
    }
    return -1;
}

void engine_on_order(void *engine, const struct order_event *ev, const struct order *o, int from)
{
    struct engine *e = engine;
    notify(e, o, from);
    if (ev->type != ORDER_EV_CREATED)
        return;
    struct saga_rt *rt = rt_new(e, o->id);
    struct saga_actions acts = {.n = 0};
    saga_start(&rt->s, o->id, e->clk->now_ms, &acts);
    e->st.started++;
    run_actions(e, rt, &acts);
    record(e, rt, NULL);
    reschedule(e, rt);
}

static void tracking_changed(struct engine *e, const struct saga_rt *rt)
{
    if (e->hooks.saga_changed)
        e->hooks.saga_changed(e->hooks.ctx, &rt->s, rt->track);
}

/* Returns whether there was anything to set (then it is recorded). */
static bool set_tracking(struct saga_rt *rt, const struct step_extra *x)
{
    if (x == NULL || (!x->tracking && !x->location && !x->eta_ms))
        return false;
    if (rt->track == NULL)
        rt->track = xcalloc(1, sizeof *rt->track);
    if (x->tracking) {
        free(rt->track->number);
        rt->track->number = xstrdup(x->tracking);
    }
    if (x->location) {
        free(rt->track->location);
        rt->track->location = xstrdup(x->location);
    }
    if (x->eta_ms)
        rt->track->eta_ms = x->eta_ms;
    return true;
}

enum step_result engine_step(struct engine *e, struct channel *ch, struct chan_group *g,
                             uint64_t msg, enum step_outcome o, const char *reason,
                             const struct step_extra *extra)
{
    const char *payload;
    size_t len;
    if (!group_peek(g, msg, &payload, &len))
        return STEP_NOT_PENDING;
    uint64_t order = engine_payload_order(payload, len);
    int st = saga_step_parse(chan_name(ch));
    group_ack(e->channels, g, msg, e->clk->now_ms);
    bus_rearm(e->bus);
    struct saga_rt *rt = st >= 0 ? rt_get(e, order) : NULL;
    if (rt == NULL) {
        e->st.stale++;
        return STEP_STALE;
    }
    struct saga_print before;
    print(&rt->s, &before);
    struct saga_actions acts = {.n = 0};
    if (!saga_outcome(&rt->s, (enum saga_step)st, msg, o, reason, e->clk->now_ms, rng_next(e),
                      &e->policy[st], &acts)) {
        e->st.stale++;
        return STEP_STALE;
    }
    bool tracked = false;
    if (st == SAGA_DISPATCH || st == SAGA_DELIVER)
        tracked = set_tracking(rt, extra);
    if (st == SAGA_DELIVER && o == OUTCOME_OK && rt->track) {
        free(rt->track->location);
        rt->track->location = xstrdup("delivered");
        tracked = true;
    }
    if (tracked)
        tracking_changed(e, rt);
    if (e->hooks.step_answered)
        e->hooks.step_answered(e->hooks.ctx, (enum saga_step)st, o,
                               (uint64_t)(e->clk->now_ms - before.steps[st].sent) * 1000);
    breaker_outcome(e, step_participant((enum saga_step)st), o == OUTCOME_RETRY);
    run_actions(e, rt, &acts);
    record(e, rt, &before);
    reschedule(e, rt);
    return STEP_ACCEPTED;
}

bool engine_progress(struct engine *e, enum saga_step st, uint64_t msg, uint64_t order,
                     const char *location, int64_t eta_ms)
{
    struct saga_rt *rt = rt_get(e, order);
    if (rt == NULL || saga_finished(&rt->s) || rt->s.steps[st].state != STEP_RUNNING ||
        rt->s.steps[st].msg != msg)
        return false;
    rt->progress_ms[st] = e->clk->now_ms;
    reschedule(e, rt);
    struct step_extra x = {NULL, location, eta_ms};
    if ((st == SAGA_DISPATCH || st == SAGA_DELIVER) && set_tracking(rt, &x))
        tracking_changed(e, rt);
    return true;
}

void engine_on_replay(struct engine *e, const struct dlq_entry *entry)
{
    int st = saga_step_parse(entry->channel);
    if (st < 0)
        return;
    struct saga_rt *rt = rt_get(e, engine_payload_order(entry->payload, entry->len));
    if (rt == NULL || rt->s.steps[st].msg != entry->offset)
        return;
    struct saga_print before;
    print(&rt->s, &before);
    if (saga_replayed(&rt->s, (enum saga_step)st, e->clk->now_ms)) {
        rt->progress_ms[st] = 0;
        record(e, rt, &before);
        reschedule(e, rt);
    }
}

enum cancel_result engine_cancel(struct engine *e, uint64_t order, const char *reason)
{
    struct saga_rt *rt = rt_get(e, order);
    if (rt == NULL)
        return CANCEL_NO_SAGA;
    if (rt->s.cancelling && !saga_finished(&rt->s))
        return CANCEL_ALREADY;
    struct saga_print before;
    print(&rt->s, &before);
    struct saga_actions acts = {.n = 0};
    if (!saga_cancel(&rt->s, reason, e->clk->now_ms, &acts))
        return CANCEL_TOO_LATE;
    run_actions(e, rt, &acts);
    record(e, rt, &before);
    reschedule(e, rt);
    return CANCEL_STARTED;
}

enum cancel_result engine_abort(struct engine *e, uint64_t order, const char *reason)
{
    struct saga_rt *rt = rt_get(e, order);
    if (rt == NULL)
        return CANCEL_NO_SAGA;
    if (rt->s.state == SAGA_COMPENSATING && rt->s.reason &&
        strncmp(rt->s.reason, SAGA_ABORTED, strlen(SAGA_ABORTED)) == 0)
        return CANCEL_ALREADY;
    struct saga_print before;
    print(&rt->s, &before);
    struct saga_actions acts = {.n = 0};
    if (!saga_abort(&rt->s, reason, e->clk->now_ms, &acts))
        return CANCEL_TOO_LATE;
    log_event("warn", "event=saga_aborted order=%llu reason=\"%s\"", (unsigned long long)order,
              rt->s.reason);
    run_actions(e, rt, &acts);
    record(e, rt, &before);
    reschedule(e, rt);
    return CANCEL_STARTED;
}

/* Timeouts and retries that fell due. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct engine *e = arg;
    (void)fd;
    (void)what;
    clock_tick(e->clk);
    if (gate_closed(e->gate))
        return;  /* timeouts and retries change state: on_gate_opened() re-arms */
    int64_t now = e->clk->now_ms;
    struct heap_node *top;
    size_t done = 0;
    while (done++ < ENGINE_TIMER_BATCH && (top = heap_peek(&e->due)) && top->due_ms <= now &&
           !gate_closed(e->gate)) {
        struct saga_rt *rt = (struct saga_rt *)top;
        heap_remove(&e->due, top);
        struct saga_print before;
        print(&rt->s, &before);
        for (int i = 0; i < SAGA_STEP_COUNT; i++) {
            struct saga_step_info *info = &rt->s.steps[i];
            struct saga_actions acts = {.n = 0};
            if (info->state == STEP_RUNNING && step_deadline(e, rt, i) <= now) {
                /* Settle the unanswered message, taken or not: a retry
                 * sends a new one, a late answer to this one is refused,
                 * and no worker starting later is handed it. */
                group_settle(e->channels, e->step_group[i], info->msg, now);
                e->st.timeouts++;
                if (e->hooks.step_timed_out)
                    e->hooks.step_timed_out(e->hooks.ctx, (enum saga_step)i);
                breaker_outcome(e, step_participant((enum saga_step)i), true);
                saga_timeout(&rt->s, (enum saga_step)i, info->msg, now, rng_next(e),
                             &e->policy[i], &acts);
            } else if (info->state == STEP_WAITING && info->next_retry_ms > 0 &&
                       info->next_retry_ms <= now) {
                saga_retry_due(&rt->s, (enum saga_step)i, now, &acts);
            }
            run_actions(e, rt, &acts);
        }
        record(e, rt, &before);
        reschedule(e, rt);
    }
    bus_rearm(e->bus);
    arm(e);  /* at once again when more than a batch was due */
}

static void on_gate_opened(void *arg)
{
    struct engine *e = arg;
    e->resumed_ms = e->clk->now_ms;
    arm(e);
    /* Held steps whose breaker timer fired while closed: again, now or
     * when their breaker lets trials through. */
    for (int p = 0; p < PART_COUNT; p++) {
        if (e->held[p].n == 0)
            continue;
        if (e->breakers[p].state == BREAKER_OPEN)
            arm_breaker(e, (enum participant)p);
        else
            event_active(e->breaker_timer[p], EV_TIMEOUT, 0);
    }
}

/* --- start-up, queries, recovery --------------------------------------- */

void engine_start(struct engine *e)
{
    struct chan_settings s;
    chan_settings_default(&s);
    /* Step messages are settled by STEP; redelivery of an unanswered one
     * is the saga's business (its timeout), not the channel's. */
    s.ackwait_ms = 3600 * 1000;
    s.maxdeliver = 1000;
    /* Step messages are settled in moments: keep a short history to READ,
     * not a hundred thousand per channel in memory. In-flight ones are kept
     * by their group whatever retention does. */
    s.maxlen = ENGINE_STEP_HISTORY;
    for (int i = 0; i < SAGA_STEP_COUNT; i++) {
        struct channel *ch;
        chreg_declare(e->channels, saga_step_name(i), &s, &ch);
        e->step_ch[i] = ch;
        e->step_group[i] = chan_group(ch, saga_step_participant(i), true);
    }
    chreg_declare(e->channels, ENGINE_NOTIFY_CHANNEL, &s, &e->notify_ch);
    chan_group(e->notify_ch, participant_name(PART_NOTIFY), true);
    /* Recovered sagas: timers again, and held steps back in line; the
     * finished ones packed. */
    for (uint64_t id = 0; (id = slots_next(&e->sagas, id));) {
        struct saga_rt *rt = slots_get(&e->sagas, id);
        if (is_packed(rt))
            continue;
        if (saga_finished(&rt->s)) {
            pack(e, id);
            continue;
        }
        for (int st = 0; st < SAGA_STEP_COUNT; st++) {
            const struct saga_step_info *info = &rt->s.steps[st];
            if (info->state == STEP_WAITING && info->next_retry_ms == 0)
                hold(e, step_participant((enum saga_step)st), rt->s.order, (enum saga_step)st);
        }
        reschedule(e, rt);
    }
}

const struct saga *engine_saga(const struct engine *e, uint64_t order)
{
    const struct saga_rt *rt = view(e, order);
    return rt ? &rt->s : NULL;
}

const struct saga *engine_saga_next(const struct engine *e, uint64_t *iter, bool packed_too)
{
    while ((*iter = slots_next(&e->sagas, *iter)) != 0) {
        if (packed_too || !is_packed(slots_get(&e->sagas, *iter)))
            return engine_saga(e, *iter);
    }
    return NULL;
}

const struct tracking *engine_tracking(const struct engine *e, uint64_t order)
{
    const struct saga_rt *rt = view(e, order);
    return rt ? rt->track : NULL;
}

struct saga_policy *engine_policy(struct engine *e, enum saga_step st)
{
    return &e->policy[st];
}

const struct breaker *engine_breaker(const struct engine *e, enum participant p)
{
    return &e->breakers[p];
}

void engine_stats(const struct engine *e, struct engine_stats *st)
{
    *st = e->st;
    st->running = st->attention = 0;
    for (uint64_t id = 0; (id = slots_next(&e->sagas, id));) {
        const struct saga_rt *rt = slots_get(&e->sagas, id);
        if (is_packed(rt) || saga_finished(&rt->s))
            continue;
        st->running++;
        if (rt->s.attention)
            st->attention++;
    }
}

/* Recovery: order's saga, unpacked, to be set by a record. The finished
 * ones restored a while ago are packed meanwhile, so a long journal does
 * not hold every saga it ever ran unpacked at once. */
static struct saga_rt *restore(struct engine *e, uint64_t order)
{
    /* A saga is an order's: recorded after it, never of an id the book
     * has not given (any id up to 2^40 once made the sagas' directory
     * that large: 8 GB for one record). */
    if (order == 0 || !book_exists(e->book, order))
        return NULL;
    if (e->nrestored == 0 || e->restored[(e->nrestored - 1) % RESTORE_LIVE] != order) {
        if (e->nrestored >= RESTORE_LIVE)
            pack(e, e->restored[e->nrestored % RESTORE_LIVE]);
        e->restored[e->nrestored++ % RESTORE_LIVE] = order;
    }
    return rt_new(e, order);
}

struct saga *engine_saga_for_restore(struct engine *e, uint64_t order)
{
    struct saga_rt *rt = restore(e, order);
    return rt ? &rt->s : NULL;
}

struct tracking *engine_tracking_for_restore(struct engine *e, uint64_t order)
{
    /* A parcel belongs to a saga recorded before it: without one, it would
     * make a saga of nothing (of order 0) that no snapshot could give back. */
    if (slots_get(&e->sagas, order) == NULL)
        return NULL;
    struct saga_rt *rt = restore(e, order);
    if (rt == NULL)
        return NULL;
    if (rt->track == NULL)
        rt->track = xcalloc(1, sizeof *rt->track);
    return rt->track;
}

int engine_restore_packed(struct engine *e, uint64_t order, const void *bytes, size_t n)
{
    if (order == 0 || !book_exists(e->book, order) || n > UINT32_MAX)
        return -1;
    struct saga_rt rt;
    struct tracking track;
    struct packed *p = xmalloc(sizeof *p + n);
    p->n = (uint32_t)n;
    memcpy(p->bytes, bytes, n);
    /* Taken whole or not at all: checked as it would be read. */
    if (unpack(p, order, &rt, &track) != 0) {
        free(p);
        return -1;
    }
    if (!saga_finished(&rt.s)) {
        /* Running: unpacked, to be picked up by engine_start(). */
        free(p);
        struct saga_rt *live = restore(e, order);
        saga_release(&live->s);
        live->s = rt.s;
        if (rt.track) {
            if (live->track == NULL)
                live->track = xcalloc(1, sizeof *live->track);
            track_release(live->track);
            *live->track = track;
        } else if (live->track) {
            track_release(live->track);
            free(live->track);
            live->track = NULL;
        }
        return 0;
    }
    saga_release(&rt.s);
    track_release(&track);
    slot_free(slots_get(&e->sagas, order));
    slots_set(&e->sagas, order, (void *)((uintptr_t)p | 1));
    if (e->view->order == order)
        view_clear(e->view);
    return 0;
}

bool engine_evict(struct engine *e, uint64_t order)
{
    void *slot = slots_get(&e->sagas, order);
    if (slot == NULL)
        return true;
    if (!is_packed(slot))
        return false;
    free(packed_of(slot));
    slots_set(&e->sagas, order, NULL);
    if (e->view->order == order)
        view_clear(e->view);
    return true;
}

void engine_snapshot(const struct engine *e,
                     void (*fn)(void *arg, const struct saga *s, const struct tracking *t),
                     void (*packed)(void *arg, uint64_t order, const void *bytes, size_t n),
                     void *arg)
{
    for (uint64_t id = 0; (id = slots_next(&e->sagas, id));) {
        void *slot = slots_get(&e->sagas, id);
        if (is_packed(slot)) {
            packed(arg, id, packed_of(slot)->bytes, packed_of(slot)->n);
            continue;
        }
        const struct saga_rt *rt = slot;
        fn(arg, &rt->s, rt->track);
    }
}
