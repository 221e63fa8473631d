/* Recovery rebuilds what the live server had (#11). A world of the real
 * subsystems (order book, channels, saga engine, simulated participants)
 * runs a mix of orders on a fake clock, and every record it makes goes
 * through the journal's own pipeline (support/capture.h: persist.c's
 * encoders, turn.c's coalescing at each loop turn's end). At points
 * mid-flight, with sagas unfinished and messages in flight, the records
 * so far are replayed into a fresh world as recovery does it, and the two
 * must be the same: the same snapshot, the same sagas, parcels, stock and
 * blocks, the same channel logs byte for byte (the engine's recipes make
 * the exact bytes again), the same DLQ, the same group positions. So must
 * a snapshot of the live world replayed, and a journal compacted at the
 * checkpoint before (its snapshot, then the records made since). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels/bus.h"
#include "channels/channel.h"
#include "channels/dlq.h"
#include "lib/codec.h"
#include "lib/log.h"
#include "orders/book.h"
#include "saga/engine.h"
#include "saga/saga_pack.h"
#include "saga/saga.h"
#include "saga/sim.h"
#include "store/journal.h"
#include "store/persist.h"
#include "support/capture.h"
#include "support/world.h"

static const char *const customers[] = {"alice", "bob", "carol", "dave", "mallory"};
static const char *const items[] = {"book", "pen", "lamp", "rare"};
#define NCUSTOMERS (sizeof customers / sizeof customers[0])
#define NITEMS (sizeof items / sizeof items[0])

/* What is being compared, for failure messages. */
static const char *where = "";

/* --- driving the live world ----------------------------------------------- */

struct run {
    struct world live;
    struct capture cap;                 /* what its journal would hold */
    struct test_client billing, ops;    /* consumers of the audit channel */
    int checkpoints;
    /* A compaction at the last checkpoint: the snapshot then, and where
     * the records made since begin in cap.log. */
    struct buf compacted;
    size_t compacted_at;
};

static uint64_t rng = 0x5eed2026c0ffee11ULL;

static unsigned pick(unsigned n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 2685821657736338717ULL) >> 33) % n;
}

static void expect_ok(struct reply *r, const char *what)
{
    assert_non_null(r);
    if (r->type == REPLY_ERROR)
        fail_msg("%s: -%s %s", what, r->code, r->str);
    reply_free(r);
}

/* A command that must succeed. */
#define OK(w, ...) \
    expect_ok(world_run((w), NULL, NULL, __VA_ARGS__, (const char *)NULL), #__VA_ARGS__)

/* A command that may be refused for the state it finds (-STATE): whether
 * it was taken. */
#define TRY(w, ...) \
    taken(world_run((w), NULL, NULL, __VA_ARGS__, (const char *)NULL), #__VA_ARGS__)

static bool taken(struct reply *r, const char *what)
{
    assert_non_null(r);
    bool ok = r->type != REPLY_ERROR;
    if (!ok && strcmp(r->code, "STATE") != 0)
        fail_msg("%s: -%s %s", what, r->code, r->str);
    reply_free(r);
    return ok;
}

/* An order of customer for item, or of anyone for anything (NULL). */
static uint64_t create_for(struct world *w, const char *who, const char *what)
{
    char customer[32], item[32], qty[16], amount[32];
    snprintf(customer, sizeof customer, "customer=%s", who ? who : customers[pick(NCUSTOMERS)]);
    snprintf(item, sizeof item, "item=%s", what ? what : items[pick(NITEMS)]);
    snprintf(qty, sizeof qty, "qty=%u", 1 + pick(3));
    snprintf(amount, sizeof amount, "amount=%u.%02u", 1 + pick(90), pick(100));
    OK(w, "CREATE", customer, item, qty, amount);
    return book_last_id(w->book);
}

static uint64_t create(struct world *w)
{
    return create_for(w, NULL, NULL);
}

/* A command of client c that must succeed. */
#define AS(w, c, ...) \
    expect_ok(world_run((w), (c), NULL, __VA_ARGS__, (const char *)NULL), #__VA_ARGS__)

/* The offsets group holds in flight, up to max. */
static size_t in_flight(struct world *w, const char *group, uint64_t *out, size_t max)
{
    struct channel *ch = chreg_find(bus_channels(w->bus), "audit");
    struct chan_group *g = chan_group(ch, group, false);
    struct pending_info p[64];
    size_t n = 0, got = g ? group_pending(g, 0, p, 64) : 0;
    for (size_t i = 0; i < got && n < max; i++)
        if (p[i].state == PENDING_INFLIGHT)
            out[n++] = p[i].offset;
    return n;
}

/* client takes what group has for it and, with ack, acknowledges it. */
static void take(struct world *w, struct test_client *c, const char *group, bool ack)
{
    char g[32], consumer[32], off[24];
    snprintf(g, sizeof g, "group=%s", group);
    snprintf(consumer, sizeof consumer, "consumer=%s-1", group);
    AS(w, c, "CONSUME", "audit", g, consumer, "count=50");
    uint64_t held[64];
    size_t n = ack ? in_flight(w, group, held, 64) : 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(off, sizeof off, "%llu", (unsigned long long)held[i]);
        AS(w, c, "ACK", "audit", g, off);
    }
}

/* The application's own durable channel beside the sagas': plain
 * messages, two groups, retention at work. billing takes and acknowledges
 * each message in the turn it is published in; ops does too only
 * sometimes (those messages are settled at once), else leaves them in
 * flight, or asks for one again later (a NACK, dead-lettered in the end). */
static void audit(struct run *r)
{
    struct world *w = &r->live;
    char note[48];
    snprintf(note, sizeof note, "order %llu noted", (unsigned long long)book_last_id(w->book));
    OK(w, "PUBLISH", "audit", note);
    take(w, &r->billing, "billing", true);
    uint64_t held[1];
    char off[24];
    switch (pick(4)) {
    case 0:
    case 1:
        take(w, &r->ops, "ops", true);
        break;
    case 2:
        take(w, &r->ops, "ops", false);
        break;
    default:
        if (in_flight(w, "ops", held, 1) == 1) {
            snprintf(off, sizeof off, "%llu", (unsigned long long)held[0]);
            AS(w, &r->ops, "NACK", "audit", "group=ops", off, "delay=7", "reason=busy");
        }
    }
}

static size_t checkpoint(struct run *r, const char *probe);

/* n orders, each noted on the audit channel and followed by up to gap ms;
 * now and then the world is recovered there and compared. */
static void stream(struct run *r, int n, unsigned gap)
{
    for (int i = 0; i < n; i++) {
        create(&r->live);
        audit(r);
        world_advance(&r->live, pick(gap + 1));
        if (pick(8) == 0)
            checkpoint(r, NULL);
    }
}

static bool running(const struct saga *s)
{
    return s && !saga_finished(s);
}

/* CANCEL of up to n running sagas picked at random; returns how many
 * were taken (the rest had gone too far). */
static int cancel_some(struct world *w, int n)
{
    int cancelled = 0;
    uint64_t last = book_last_id(w->book);
    for (int i = 0; i < n; i++) {
        uint64_t id = 1 + pick((unsigned)last);
        if (!running(engine_saga(w->engine, id)))
            continue;
        char ids[24];
        snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
        cancelled += TRY(w, "CANCEL", ids, "reason=changed their mind");
    }
    return cancelled;
}

/* The DLQ entries of channel, oldest first, up to max. */
static size_t dead_letters(struct world *w, const char *channel, uint64_t *ids, size_t max)
{
    const struct dlq *q = bus_dlq(w->bus);
    size_t n = 0;
    for (size_t i = 0; i < dlq_count(q) && n < max; i++)
        if (strcmp(dlq_at(q, i)->channel, channel) == 0)
            ids[n++] = dlq_at(q, i)->id;
    return n;
}

static void dlq(struct world *w, const char *what, uint64_t id)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
    struct reply *r = world_run(w, NULL, NULL, "DLQ", what, ids, (const char *)NULL);
    assert_non_null(r);
    if (r->type != REPLY_INTEGER || r->integer != 1)
        fail_msg("DLQ %s %s: %s", what, ids, r->type == REPLY_ERROR ? r->str : "not 1");
    reply_free(r);
}

/* Every saga has ended or waits for an operator (a dead-lettered step). */
static bool at_rest(struct world *w)
{
    uint64_t it = 0;
    const struct saga *s;
    while ((s = engine_saga_next(w->engine, &it, true)))
        if (running(s) && !s->attention)
            return false;
    return true;
}

/* Time goes by until every saga has ended or waits for an operator,
 * with a recovery compared every second or so. */
static void run_out(struct run *r)
{
    for (int i = 0; i < 400 && !at_rest(&r->live); i++) {
        world_advance(&r->live, 50);
        if (i % 20 == 19)
            checkpoint(r, NULL);
    }
    assert_true(at_rest(&r->live));
}

/* --- replaying ------------------------------------------------------------ */

static struct persist_target target(struct world *w)
{
    return (struct persist_target){.book = w->book, .channels = bus_channels(w->bus),
                                   .dlq = bus_dlq(w->bus), .engine = w->engine,
                                   .sim = w->sim};
}

static uint32_t get_u32(const char *p)
{
    const unsigned char *b = (const unsigned char *)p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Applies framed records (no magic) to w as recovery does: each must. */
static void replay(struct world *w, const char *p, size_t n)
{
    struct persist_target t = target(w);
    size_t off = 0;
    while (off + JOURNAL_HEADER_LEN <= n) {
        uint32_t len = get_u32(p + off);
        uint8_t type = (uint8_t)p[off + 4];
        if (persist_apply(&t, type, p + off + JOURNAL_HEADER_LEN, len, off) != 0)
            fail_msg("%s: record of type %u at %zu did not apply", where, type, off);
        off += JOURNAL_HEADER_LEN + len;
    }
    assert_int_equal(off, n);
    persist_recovered(&t);  /* as journal_store_open() does */
}

/* A world as recovery leaves it at live's time: built, the records
 * applied, nothing started yet (server.c starts the engine and the
 * participants after). The channels are brought up to now, as recovery
 * does (chreg_recovered()) and as live's own timer did: a NACKed message
 * whose delay has run out is ready again, which no record says. What is
 * in flight stays with its consumer, who is still there in live. */
static void recover(struct world *w, const char *p, size_t n, const struct world *live)
{
    world_build(w, true, NULL, NULL);
    w->fake_wall = live->fake_wall;
    w->fake_mono = live->fake_mono;
    clock_tick(&w->clock);
    assert_int_equal(w->clock.now_ms, live->clock.now_ms);
    replay(w, p, n);
    chreg_expire(bus_channels(w->bus), w->clock.now_ms, SIZE_MAX);
}

static int append_all(void *arg, struct buf *out)
{
    buf_append(arg, buf_head(out), buf_used(out));
    buf_clear(out);
    return 0;
}

static void snapshot(struct world *w, struct buf *all)
{
    struct persist_target t = target(w);
    struct buf tmp;
    buf_init(&tmp);
    assert_int_equal(persist_snapshot(&t, &tmp, append_all, all), 0);
    buf_free(&tmp);
}

/* --- comparing: the snapshot ------------------------------------------------ */

/* A snapshot as a sorted list of "type:payload", the payload's bytes
 * printable or \xHH (hash maps give records in an order that depends on
 * how a state was built). */
struct record_set {
    char **items;
    size_t n;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void set_add(struct record_set *set, uint8_t type, const char *p, size_t len)
{
    char *s = malloc(8 + 4 * len + 1);
    int k = sprintf(s, "%03u:", type);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            s[k++] = (char)c;
        else
            k += sprintf(s + k, "\\x%02x", c);
    }
    s[k] = '\0';
    set->items = realloc(set->items, (set->n + 1) * sizeof *set->items);
    set->items[set->n++] = s;
}

/* A finished saga is one packed record where the engine packed it, and a
 * saga record, a record per step and its parcel's where it has not yet
 * (a recovered engine packs them when it starts): the same state, listed
 * the unpacked way. */
static void set_add_unpacked(struct record_set *set, const char *p, size_t len)
{
    struct dec d;
    dec_init(&d, p, len);
    uint64_t order = dec_u64(&d);
    struct saga s;
    struct tracking t;
    bool has_track;
    assert_int_equal(saga_unpack(d.p, (size_t)(d.end - d.p), &s, &t, &has_track), 0);
    s.order = order;
    struct buf rec;
    buf_init(&rec);
    for (int step = -1; step < SAGA_STEP_COUNT; step++) {
        uint8_t type;
        persist_encode_saga(&rec, &s, step, &type);
        set_add(set, type, buf_head(&rec), buf_used(&rec));
        buf_clear(&rec);
    }
    if (has_track) {
        persist_encode_tracking(&rec, order, &t);
        set_add(set, REC_SAGA_TRACK, buf_head(&rec), buf_used(&rec));
    }
    buf_free(&rec);
    saga_release(&s);
    free(t.number);
    free(t.location);
}

/* The participants' values come many to a record, in their maps' order:
 * listed one by one, the order does not matter. */
static void set_add_sim_batch(struct record_set *set, const char *p, size_t len)
{
    struct dec d;
    dec_init(&d, p, len);
    struct buf rec;
    buf_init(&rec);
    while (d.p < d.end) {
        uint64_t type = dec_u64(&d);
        char *key = dec_str(&d);
        int64_t value = dec_i64(&d);
        assert_false(d.err);
        persist_encode_sim(&rec, (int)type, key, value);
        set_add(set, REC_SIM, buf_head(&rec), buf_used(&rec));
        buf_clear(&rec);
        free(key);
    }
    buf_free(&rec);
}

static struct record_set snapshot_set(struct world *w)
{
    struct buf all;
    buf_init(&all);
    snapshot(w, &all);
    struct record_set set = {NULL, 0};
    const char *p = buf_head(&all);
    size_t off = 0, n = buf_used(&all);
    while (off < n) {
        uint32_t len = get_u32(p + off);
        uint8_t type = (uint8_t)p[off + 4];
        if (type == REC_SAGA_PACKED)
            set_add_unpacked(&set, p + off + JOURNAL_HEADER_LEN, len);
        else if (type == REC_SIM_BATCH)
            set_add_sim_batch(&set, p + off + JOURNAL_HEADER_LEN, len);
        else
            set_add(&set, type, p + off + JOURNAL_HEADER_LEN, len);
        off += JOURNAL_HEADER_LEN + len;
    }
    qsort(set.items, set.n, sizeof *set.items, cmp_str);
    buf_free(&all);
    return set;
}

static void set_free(struct record_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i]);
    free(s->items);
}

/* Says which records one side has and the other has not. */
static void expect_same_records(struct world *live, struct world *copy)
{
    struct record_set a = snapshot_set(live), b = snapshot_set(copy);
    size_t i = 0, j = 0, shown = 0;
    while ((i < a.n || j < b.n) && shown < 8) {
        int c = i == a.n ? 1 : j == b.n ? -1 : strcmp(a.items[i], b.items[j]);
        if (c == 0) {
            i++;
            j++;
            continue;
        }
        print_error("%s: %s only: %.400s\n", where, c < 0 ? "live" : "recovered",
                    c < 0 ? a.items[i] : b.items[j]);
        shown++;
        if (c < 0)
            i++;
        else
            j++;
    }
    size_t na = a.n, nb = b.n;
    set_free(&a);
    set_free(&b);
    if (shown > 0)
        fail_msg("%s: the snapshots differ (%zu records live, %zu recovered)", where, na, nb);
}

/* --- comparing: what clients read ----------------------------------------- */

#define SAME(a, b, what, id)                                                          \
    do {                                                                              \
        if ((long long)(a) != (long long)(b))                                         \
            fail_msg("%s: %s of %llu: live %lld, recovered %lld", where, what,         \
                     (unsigned long long)(id), (long long)(a), (long long)(b));         \
    } while (0)

static void same_str(const char *a, const char *b, const char *what, uint64_t id)
{
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
        fail_msg("%s: %s of %llu: live \"%s\", recovered \"%s\"", where, what,
                 (unsigned long long)id, a ? a : "(none)", b ? b : "(none)");
}

static void same_bytes(const char *a, size_t alen, const char *b, size_t blen,
                       const char *what, uint64_t id)
{
    if (alen != blen || memcmp(a, b, alen) != 0)
        fail_msg("%s: %s at %llu: live %.*s, recovered %.*s", where, what,
                 (unsigned long long)id, (int)alen, a, (int)blen, b);
}

static void expect_same_orders(struct world *live, struct world *copy)
{
    SAME(book_last_id(live->book), book_last_id(copy->book), "last order", 0);
    for (uint64_t id = 1; id <= book_last_id(live->book); id++) {
        const struct order *a = book_get(live->book, id), *b = book_get(copy->book, id);
        assert_non_null(b);
        SAME(a->status, b->status, "order status", id);
        SAME(a->updated_ms, b->updated_ms, "order updated", id);
        SAME(a->nhistory, b->nhistory, "order history", id);
        for (size_t h = 0; h < a->nhistory; h++) {
            SAME(a->history[h].to, b->history[h].to, "a move's status", id);
            SAME(a->history[h].time_ms, b->history[h].time_ms, "a move's time", id);
            same_str(a->history[h].source, b->history[h].source, "a move's source", id);
            same_str(a->history[h].note, b->history[h].note, "a move's note", id);
        }
    }
}

static void expect_same_sagas(struct world *live, struct world *copy)
{
    for (uint64_t id = 1; id <= book_last_id(live->book); id++) {
        const struct saga *a = engine_saga(live->engine, id), *b = engine_saga(copy->engine, id);
        if (a == NULL || b == NULL) {
            if (a != b)
                fail_msg("%s: saga of %llu: %s live, %s recovered", where,
                         (unsigned long long)id, a ? "one" : "none", b ? "one" : "none");
            continue;
        }
        SAME(a->order, b->order, "saga order", id);
        SAME(a->state, b->state, "saga state", id);
        SAME(a->cancelling, b->cancelling, "saga cancelling", id);
        SAME(a->attention, b->attention, "saga attention", id);
        same_str(a->reason, b->reason, "saga reason", id);
        SAME(a->created_ms, b->created_ms, "saga created", id);
        SAME(a->updated_ms, b->updated_ms, "saga updated", id);
        for (int st = 0; st < SAGA_STEP_COUNT; st++) {
            const struct saga_step_info *x = &a->steps[st], *y = &b->steps[st];
            char what[64];
            snprintf(what, sizeof what, "%s", saga_step_name((enum saga_step)st));
            size_t n = strlen(what);
            snprintf(what + n, sizeof what - n, " state");
            SAME(x->state, y->state, what, id);
            snprintf(what + n, sizeof what - n, " attempts");
            SAME(x->attempts, y->attempts, what, id);
            snprintf(what + n, sizeof what - n, " message");
            SAME(x->msg, y->msg, what, id);
            snprintf(what + n, sizeof what - n, " started");
            SAME(x->started_ms, y->started_ms, what, id);
            snprintf(what + n, sizeof what - n, " ended");
            SAME(x->ended_ms, y->ended_ms, what, id);
            snprintf(what + n, sizeof what - n, " next retry");
            SAME(x->next_retry_ms, y->next_retry_ms, what, id);
            snprintf(what + n, sizeof what - n, " sent");
            SAME(x->sent_ms, y->sent_ms, what, id);
            snprintf(what + n, sizeof what - n, " error");
            same_str(x->error, y->error, what, id);
        }
        const struct tracking *t = engine_tracking(live->engine, id),
                              *u = engine_tracking(copy->engine, id);
        if (t == NULL || u == NULL) {
            if (t != u)
                fail_msg("%s: tracking of %llu: %s live, %s recovered", where,
                         (unsigned long long)id, t ? "some" : "none", u ? "some" : "none");
            continue;
        }
        same_str(t->number, u->number, "tracking number", id);
        same_str(t->location, u->location, "parcel location", id);
        SAME(t->eta_ms, u->eta_ms, "parcel eta", id);
    }
}

static void expect_same_participants(struct world *live, struct world *copy)
{
    SAME(sim_stock_default(live->sim), sim_stock_default(copy->sim), "default stock", 0);
    for (size_t i = 0; i < NITEMS; i++)
        if (sim_stock(live->sim, items[i]) != sim_stock(copy->sim, items[i]))
            fail_msg("%s: stock of %s: live %lld, recovered %lld", where, items[i],
                     (long long)sim_stock(live->sim, items[i]),
                     (long long)sim_stock(copy->sim, items[i]));
    for (size_t i = 0; i < NCUSTOMERS; i++)
        if (sim_blocked(live->sim, customers[i]) != sim_blocked(copy->sim, customers[i]))
            fail_msg("%s: %s blocked differs", where, customers[i]);
}

static void expect_same_dlq(struct world *live, struct world *copy)
{
    const struct dlq *q = bus_dlq(live->bus), *r = bus_dlq(copy->bus);
    SAME(dlq_count(q), dlq_count(r), "dead letters", 0);
    SAME(dlq_next_id(q), dlq_next_id(r), "next dead letter id", 0);
    for (size_t i = 0; i < dlq_count(q); i++) {
        const struct dlq_entry *a = dlq_at(q, i), *b = dlq_at(r, i);
        SAME(a->id, b->id, "dead letter id", i);
        same_str(a->channel, b->channel, "dead letter channel", a->id);
        same_str(a->group, b->group, "dead letter group", a->id);
        SAME(a->offset, b->offset, "dead letter offset", a->id);
        same_bytes(a->payload, a->len, b->payload, b->len, "dead letter", a->id);
        same_str(a->reason, b->reason, "dead letter reason", a->id);
        SAME(a->deliveries, b->deliveries, "dead letter deliveries", a->id);
        SAME(a->replays, b->replays, "dead letter replays", a->id);
        SAME(a->msg_time_ms, b->msg_time_ms, "dead letter published", a->id);
        SAME(a->first_ms, b->first_ms, "dead letter first delivery", a->id);
        SAME(a->last_ms, b->last_ms, "dead letter last delivery", a->id);
        SAME(a->dead_ms, b->dead_ms, "dead letter died", a->id);
    }
}

static void expect_same_group(struct chan_group *a, struct chan_group *b, const char *ch)
{
    struct group_stats x, y;
    group_stats(a, &x);
    group_stats(b, &y);
    char what[160];
    snprintf(what, sizeof what, "%s/%s next", ch, group_name(a));
    SAME(x.next, y.next, what, 0);
    snprintf(what, sizeof what, "%s/%s committed", ch, group_name(a));
    SAME(x.committed, y.committed, what, 0);
    snprintf(what, sizeof what, "%s/%s lag", ch, group_name(a));
    SAME(x.lag, y.lag, what, 0);
    snprintf(what, sizeof what, "%s/%s pending", ch, group_name(a));
    SAME(x.pending, y.pending, what, 0);
    struct pending_info *p = calloc(x.pending + 1, sizeof *p);
    struct pending_info *q = calloc(x.pending + 1, sizeof *q);
    assert_int_equal(group_pending(a, 0, p, x.pending), x.pending);
    assert_int_equal(group_pending(b, 0, q, x.pending), x.pending);
    for (size_t i = 0; i < x.pending; i++) {
        snprintf(what, sizeof what, "%s/%s pending offset", ch, group_name(a));
        SAME(p[i].offset, q[i].offset, what, i);
        snprintf(what, sizeof what, "%s/%s pending consumer", ch, group_name(a));
        same_str(p[i].consumer, q[i].consumer, what, p[i].offset);
        snprintf(what, sizeof what, "%s/%s deliveries", ch, group_name(a));
        SAME(p[i].deliveries, q[i].deliveries, what, p[i].offset);
        snprintf(what, sizeof what, "%s/%s pending state", ch, group_name(a));
        SAME(p[i].state, q[i].state, what, p[i].offset);
        snprintf(what, sizeof what, "%s/%s last delivery", ch, group_name(a));
        SAME(p[i].last_ms, q[i].last_ms, what, p[i].offset);
        snprintf(what, sizeof what, "%s/%s due", ch, group_name(a));
        SAME(p[i].due_ms, q[i].due_ms, what, p[i].offset);
    }
    free(p);
    free(q);
}

/* READ of every channel from its start: the same offsets, times and
 * bytes; and every group where it was. */
static void expect_same_channels(struct world *live, struct world *copy)
{
    struct chan_registry *ra = bus_channels(live->bus), *rb = bus_channels(copy->bus);
    size_t it = 0, na = 0, nb = 0;
    struct channel *a;
    while (chreg_next(rb, &it, &a))
        nb++;
    it = 0;
    while (chreg_next(ra, &it, &a)) {
        na++;
        const char *name = chan_name(a);
        struct channel *b = chreg_find(rb, name);
        if (b == NULL)
            fail_msg("%s: channel %s is not recovered", where, name);
        const struct chan_settings *sa = chan_settings(a), *sb = chan_settings(b);
        SAME(sa->maxlen, sb->maxlen, name, 0);
        SAME(sa->maxage_ms, sb->maxage_ms, name, 0);
        SAME(sa->ackwait_ms, sb->ackwait_ms, name, 0);
        SAME(sa->maxdeliver, sb->maxdeliver, name, 0);
        SAME(sa->backoff_ms, sb->backoff_ms, name, 0);
        SAME(sa->backoff_max_ms, sb->backoff_max_ms, name, 0);
        SAME(sa->maxpending, sb->maxpending, name, 0);
        SAME(sa->maxbytes, sb->maxbytes, name, 0);
        SAME(chan_first_offset(a), chan_first_offset(b), "first offset", 0);
        SAME(chan_last_offset(a), chan_last_offset(b), "last offset", 0);
        SAME(chan_length(a), chan_length(b), "length", 0);
        SAME(chan_bytes(a), chan_bytes(b), "bytes", 0);
        size_t n = chan_length(a);
        struct chan_delivery *x = calloc(n + 1, sizeof *x), *y = calloc(n + 1, sizeof *y);
        int64_t now = live->clock.now_ms;
        assert_int_equal(chan_read(ra, a, 0, n, x, now), n);
        assert_int_equal(chan_read(rb, b, 0, n, y, now), n);
        for (size_t i = 0; i < n; i++) {
            SAME(x[i].offset, y[i].offset, name, i);
            SAME(x[i].time_ms, y[i].time_ms, name, x[i].offset);
            same_bytes(x[i].payload, x[i].len, y[i].payload, y[i].len, name, x[i].offset);
        }
        free(x);
        free(y);
        SAME(chan_group_count(a), chan_group_count(b), "groups", 0);
        for (size_t g = 0; g < chan_group_count(a); g++) {
            struct chan_group *ga = chan_group_at(a, g);
            struct chan_group *gb = chan_group(b, group_name(ga), false);
            if (gb == NULL)
                fail_msg("%s: group %s of %s is not recovered", where, group_name(ga), name);
            expect_same_group(ga, gb, name);
        }
    }
    SAME(na, nb, "channels", 0);
}

static void expect_same_world(struct world *live, struct world *copy)
{
    expect_same_records(live, copy);
    expect_same_orders(live, copy);
    expect_same_sagas(live, copy);
    expect_same_participants(live, copy);
    expect_same_dlq(live, copy);
    expect_same_channels(live, copy);
}

/* What a consumer joining each group would be handed now: the same
 * messages, in the same order, with the same delivery counts. Changes
 * every world it is asked of. Returns how many messages of channel
 * `counted` were handed out. */
static size_t expect_same_next_deliveries(struct world *live, struct world *copy,
                                          const char *counted)
{
    size_t handed = 0;
    struct chan_registry *ra = bus_channels(live->bus), *rb = bus_channels(copy->bus);
    size_t it = 0;
    struct channel *a;
    int64_t now = live->clock.now_ms;
    while (chreg_next(ra, &it, &a)) {
        struct channel *b = chreg_find(rb, chan_name(a));
        for (size_t g = 0; g < chan_group_count(a); g++) {
            struct chan_group *ga = chan_group_at(a, g);
            struct chan_group *gb = chan_group(b, group_name(ga), false);
            size_t max = chan_length(a) + 64;
            struct chan_delivery *x = calloc(max, sizeof *x), *y = calloc(max, sizeof *y);
            size_t n = group_consume(ra, ga, "probe", 4242, max, x, now);
            size_t m = group_consume(rb, gb, "probe", 4242, max, y, now);
            SAME(n, m, chan_name(a), 0);
            if (strcmp(chan_name(a), counted) == 0)
                handed += n;
            for (size_t i = 0; i < n; i++) {
                SAME(x[i].offset, y[i].offset, chan_name(a), i);
                SAME(x[i].deliveries, y[i].deliveries, chan_name(a), x[i].offset);
                SAME(x[i].time_ms, y[i].time_ms, chan_name(a), x[i].offset);
                same_bytes(x[i].payload, x[i].len, y[i].payload, y[i].len, chan_name(a),
                           x[i].offset);
            }
            free(x);
            free(y);
        }
    }
    return handed;
}

/* --- the run ----------------------------------------------------------------- */

/* Sagas under way, and step messages handed out and not answered, or
 * waiting to be handed out again. */
static void expect_mid_flight(struct world *w)
{
    size_t unfinished = 0, pending = 0;
    uint64_t it = 0;
    const struct saga *s;
    while ((s = engine_saga_next(w->engine, &it, true)))
        unfinished += running(s);
    for (int st = 0; st < SAGA_STEP_COUNT; st++) {
        struct channel *ch = chreg_find(bus_channels(w->bus), saga_step_name((enum saga_step)st));
        struct group_stats gs;
        group_stats(chan_group_at(ch, 0), &gs);
        pending += gs.pending;
    }
    assert_true(unfinished > 0);
    assert_true(pending > 0);
}

/* Recovers from what was recorded so far, and from a snapshot of the live
 * world, and compares both with it. probe: also what each group hands out
 * next, which leaves the live world changed; returns how many messages of
 * that channel were. */
static size_t checkpoint(struct run *r, const char *probe)
{
    size_t handed = 0;
    char label[64];
    r->checkpoints++;
    /* The end of the turn the last command ran in: everything made so far
     * is committed. */
    world_turn(&r->live);
    assert_int_equal(capture_held(&r->cap), 0);

    struct world copy, again, compacted;
    snprintf(label, sizeof label, "checkpoint %d, journal", r->checkpoints);
    where = label;
    recover(&copy, buf_head(&r->cap.log), buf_used(&r->cap.log), &r->live);
    expect_same_world(&r->live, &copy);

    struct buf snap;
    buf_init(&snap);
    snapshot(&r->live, &snap);
    snprintf(label, sizeof label, "checkpoint %d, snapshot", r->checkpoints);
    recover(&again, buf_head(&snap), buf_used(&snap), &r->live);
    expect_same_world(&r->live, &again);

    /* A journal compacted at the last checkpoint: its snapshot, then the
     * records made since (journal_store.c's rewrite buffer). */
    snprintf(label, sizeof label, "checkpoint %d, compacted journal", r->checkpoints);
    struct buf file;
    buf_init(&file);
    buf_append(&file, buf_head(&r->compacted), buf_used(&r->compacted));
    buf_append(&file, buf_head(&r->cap.log) + r->compacted_at,
               buf_used(&r->cap.log) - r->compacted_at);
    recover(&compacted, buf_head(&file), buf_used(&file), &r->live);
    expect_same_world(&r->live, &compacted);
    buf_free(&file);
    buf_clear(&r->compacted);
    buf_append(&r->compacted, buf_head(&snap), buf_used(&snap));
    r->compacted_at = buf_used(&r->cap.log);
    buf_free(&snap);

    if (probe) {
        /* The live world first: its deliveries are valid until it next
         * changes, and the copies' consumption does not change it. */
        snprintf(label, sizeof label, "checkpoint %d, next deliveries", r->checkpoints);
        handed = expect_same_next_deliveries(&r->live, &copy, probe);
    }
    world_free(&copy);
    world_free(&again);
    world_free(&compacted);
    where = "";
    return handed;
}

/* What the journal holds, by kind: so the run is known to have exercised
 * the coalescing it is meant to test. */
struct figures {
    size_t published, settled, settled_plain, made;  /* REC_PUBLISHED, by flags */
    size_t sagas, sims;
    size_t delivers, acks, settles, dlq_adds, replays, purges;
};

static void count_records(const struct buf *log, struct figures *f)
{
    const char *p = buf_head(log);
    size_t off = 0, n = buf_used(log);
    memset(f, 0, sizeof *f);
    while (off < n) {
        uint32_t len = get_u32(p + off);
        uint8_t type = (uint8_t)p[off + 4];
        const unsigned char *payload = (const unsigned char *)p + off + JOURNAL_HEADER_LEN;
        if (type == REC_PUBLISHED) {
            f->published++;
            f->settled += (payload[0] & PUBLISHED_SETTLED) != 0;
            f->made += (payload[0] & PUBLISHED_MADE) != 0;
            f->settled_plain += payload[0] == PUBLISHED_SETTLED;
        }
        f->sagas += type == REC_SAGA_PACKED;
        f->sims += type == REC_SIM;
        f->settles += type == REC_CHAN_BASE + CHG_SETTLE;
        f->dlq_adds += type == REC_CHAN_BASE + CHG_DLQ_ADD;
        f->replays += type == REC_CHAN_BASE + CHG_REPLAY;
        f->purges += type == REC_CHAN_BASE + CHG_PURGE;
        f->delivers += type == REC_CHAN_BASE + CHG_DELIVER;
        f->acks += type == REC_CHAN_BASE + CHG_ACK;
        off += JOURNAL_HEADER_LEN + len;
    }
}

/* How many sagas ended each way, and how many parcels are where. */
static size_t sagas_where(struct world *w, int state, const char *reason)
{
    size_t n = 0;
    uint64_t it = 0;
    const struct saga *s;
    while ((s = engine_saga_next(w->engine, &it, true)))
        if ((state < 0 || s->state == state) &&
            (reason == NULL || (s->reason && strstr(s->reason, reason))))
            n++;
    return n;
}

static size_t parcels_at(struct world *w, const char *location)
{
    size_t n = 0;
    for (uint64_t id = 1; id <= book_last_id(w->book); id++) {
        const struct tracking *t = engine_tracking(w->engine, id);
        n += t && t->location && strcmp(t->location, location) == 0;
    }
    return n;
}

static void test_recovery_rebuilds_the_live_world_at_any_point(void **state)
{
    (void)state;
    static struct run r;
    capture_init(&r.cap);
    world_build(&r.live, true, &capture_ops, &r.cap);
    world_start(&r.live);
    test_client_init(&r.billing, 901);
    test_client_init(&r.ops, 902);
    buf_init(&r.compacted);
    struct world *w = &r.live;

    /* Participants that take their time, and retries and timeouts short
     * enough to happen within a run. The customer registry and the
     * notifier answer within the turn that asked: those messages are
     * recorded settled at once. */
    OK(w, "SIM", "SET", "inventory", "latency=3");
    OK(w, "SIM", "SET", "payment", "latency=5");
    OK(w, "SIM", "SET", "shipping", "latency=2", "transit=40");
    OK(w, "POLICY", "customer.validate", "base=5", "cap=20", "timeout=30");
    OK(w, "POLICY", "inventory.reserve", "base=5", "cap=20");
    OK(w, "POLICY", "inventory.release", "base=5", "cap=20");
    OK(w, "POLICY", "payment.authorize", "base=5", "cap=20", "timeout=25");
    OK(w, "POLICY", "payment.refund", "base=5", "cap=20");
    OK(w, "POLICY", "shipping.dispatch", "base=5", "cap=20", "attempts=2");
    OK(w, "STOCK", "SET", "rare", "7");
    OK(w, "CUSTOMER", "BLOCK", "mallory");
    OK(w, "CHANNEL", "CREATE", "audit", "maxlen=6", "maxdeliver=3");
    world_turn(w);

    /* 1. A stream of orders: validation and reservation in parallel,
     * payment, shipping, parcels in transit. Stopped in the middle. */
    stream(&r, 40, 2);
    checkpoint(&r, NULL);
    expect_mid_flight(w);
    assert_true(parcels_at(w, "in transit") > 0);

    /* 2. Business failures (cards declined, stock out, a blocked
     * customer) and transient errors retried with backoff. */
    OK(w, "SIM", "SET", "payment", "decline=0.3");
    OK(w, "SIM", "SET", "inventory", "error=0.25");
    OK(w, "SIM", "SET", "shipping", "error=0.15");
    stream(&r, 40, 3);
    checkpoint(&r, NULL);
    expect_mid_flight(w);

    /* 3. Step timeouts: payment answers after its step gave up, and the
     * customer registry stops taking messages at all (they are settled
     * unanswered at the timeout, never handed out). */
    OK(w, "SIM", "SET", "payment", "latency=40", "decline=0.1");
    OK(w, "SIM", "SET", "customer", "enabled=0");
    stream(&r, 15, 3);
    world_advance(w, 20);
    checkpoint(&r, NULL);
    expect_mid_flight(w);
    OK(w, "SIM", "SET", "customer", "enabled=1");
    world_advance(w, 40);
    OK(w, "SIM", "SET", "payment", "latency=5");
    stream(&r, 10, 2);
    checkpoint(&r, NULL);
    expect_mid_flight(w);

    /* 4. CANCEL during sagas, at whatever step they are; an operator's
     * abort. */
    int cancelled = cancel_some(w, 25);
    stream(&r, 5, 1);
    cancelled += cancel_some(w, 10);
    assert_true(cancelled > 0);
    for (uint64_t id = book_last_id(w->book); id > 0; id--) {
        if (running(engine_saga(w->engine, id))) {
            char ids[24];
            snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
            OK(w, "SAGA", "ABORT", ids, "reason=fraud suspected");
            break;
        }
    }
    world_advance(w, 3);
    checkpoint(&r, NULL);
    expect_mid_flight(w);
    /* Everything runs its course: held steps wait out their breakers. */
    run_out(&r);
    checkpoint(&r, NULL);

    /* 5. Shipping fails every time: dispatch runs out of attempts and is
     * dead-lettered (its breaker opens on the way, holding the rest).
     * Then shipping works again: two dead letters are replayed, one is
     * purged and its order cancelled, the rest wait. */
    OK(w, "SIM", "SET", "shipping", "error=1");
    OK(w, "SIM", "SET", "payment", "decline=0", "error=0");
    OK(w, "SIM", "SET", "inventory", "error=0");
    for (int i = 0; i < 10; i++) {
        create_for(w, "carol", "lamp");
        world_advance(w, 40);  /* each runs out of attempts before the next */
    }
    uint64_t dead[16];
    size_t ndead = dead_letters(w, "shipping.dispatch", dead, 16);
    assert_true(ndead >= 4);
    checkpoint(&r, NULL);
    OK(w, "SIM", "SET", "shipping", "error=0");
    dlq(w, "REPLAY", dead[0]);
    dlq(w, "REPLAY", dead[1]);
    const struct dlq_entry *purged = dlq_get(bus_dlq(w->bus), dead[2]);
    uint64_t orphan = engine_payload_order(purged->payload, purged->len);
    dlq(w, "PURGE", dead[2]);
    char ids[24];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)orphan);
    OK(w, "CANCEL", ids, "reason=lost in the warehouse");
    world_turn(w);
    checkpoint(&r, NULL);

    /* 6. Stock changes and a customer unblocked, more orders, then
     * everything runs its course (held steps wait out their breaker). */
    OK(w, "STOCK", "SET", "rare", "40");
    OK(w, "SIM", "SET", "inventory", "stock=500");
    OK(w, "CUSTOMER", "UNBLOCK", "mallory");
    OK(w, "CUSTOMER", "BLOCK", "dave");
    stream(&r, 20, 2);
    checkpoint(&r, NULL);
    expect_mid_flight(w);
    run_out(&r);
    checkpoint(&r, NULL);

    /* 7. Shipping stops taking messages; a dead letter is replayed into
     * its group, where it waits to be handed out again with the orders
     * that reach shipping meanwhile; others are in flight elsewhere. */
    OK(w, "SIM", "SET", "shipping", "enabled=0");
    stream(&r, 15, 3);
    dlq(w, "REPLAY", dead[3]);
    stream(&r, 3, 1);
    expect_mid_flight(w);
    /* The dead letter replayed, the dispatches waiting behind it. */
    size_t handed = checkpoint(&r, "shipping.dispatch");
    assert_true(handed >= 2);

    /* The run met what it is meant to: every ending, every failure, and
     * a journal coalesced as the server's is. */
    struct engine_stats es;
    engine_stats(w->engine, &es);
    assert_true(es.done > 0);
    assert_true(es.failed > 0);
    assert_true(es.cancelled > 0);
    assert_true(es.retries > 0);
    assert_true(es.timeouts > 0);
    assert_true(es.deadlettered > 0);
    assert_true(sagas_where(w, SAGA_FAILED, "card declined") > 0);
    assert_true(sagas_where(w, SAGA_FAILED, "out of stock") > 0);
    assert_true(sagas_where(w, SAGA_FAILED, "customer blocked") > 0);
    assert_true(sagas_where(w, SAGA_FAILED, SAGA_ABORTED) > 0);
    assert_true(parcels_at(w, "delivered") > 0);
    struct figures f;
    count_records(&r.cap.log, &f);
    assert_true(r.cap.left_out > 0);
    assert_true(f.settled > 0);
    assert_true(f.made > 0);
    assert_true(f.settled_plain > 0);
    assert_true(f.published > f.settled);
    assert_true(f.delivers > 0 && f.acks > 0);
    assert_true(f.sagas > 0 && f.sims > 0);
    assert_true(f.settles > 0);
    assert_true(f.dlq_adds > 0 && f.replays > 0 && f.purges > 0);

    test_client_free(w, &r.billing);
    test_client_free(w, &r.ops);
    world_free(&r.live);
    capture_free(&r.cap);
    buf_free(&r.compacted);
}

int main(void)
{
    char err[64];
    /* Breakers opening and dead letters are the run's business, not news. */
    if (log_setup("error", NULL, err, sizeof err) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovery_rebuilds_the_live_world_at_any_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
