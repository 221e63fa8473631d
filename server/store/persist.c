/* Record encoding and decoding for every kind of state change (see
 * persist.h for the layout of the whole). Each encoder has its decoder
 * right below it, field for field. */
#include "persist.h"

#include <stdlib.h>
#include <string.h>

#include "orders/book.h"
#include "channels/channel.h"
#include "lib/codec.h"
#include "channels/dlq.h"
#include "saga/engine.h"
#include "saga/saga.h"
#include "saga/saga_pack.h"
#include "saga/sim.h"
#include "lib/log.h"
#include "xalloc.h"

/* --- orders ----------------------------------------------------------- */

void persist_encode_order(struct buf *b, const struct order_event *ev, uint8_t *type)
{
    enc_u64(b, ev->id);
    enc_i64(b, ev->time_ms);
    if (ev->type == ORDER_EV_CREATED) {
        const struct order_fields *f = ev->fields;
        *type = REC_ORDER_CREATED;
        enc_str(b, f->customer);
        enc_str(b, f->item);
        enc_i64(b, f->qty);
        enc_i64(b, f->amount);
        enc_str(b, f->currency);
        enc_str(b, f->key);
    } else {
        *type = REC_ORDER_TRANSITION;
        enc_u64(b, (uint64_t)ev->to);
        enc_str(b, ev->source);
        enc_str(b, ev->note);
    }
}

static int apply_order(struct persist_target *t, uint8_t type, struct dec *d)
{
    struct order_event ev = {.type = type == REC_ORDER_CREATED ? ORDER_EV_CREATED
                                                               : ORDER_EV_TRANSITION};
    struct order_fields f = {0};
    char *customer = NULL, *item = NULL, *currency = NULL, *key = NULL, *source = NULL,
         *note = NULL;
    ev.id = dec_u64(d);
    ev.time_ms = dec_i64(d);
    if (type == REC_ORDER_CREATED) {
        f.customer = customer = dec_str(d);
        f.item = item = dec_str(d);
        f.qty = dec_i64(d);
        f.amount = dec_i64(d);
        currency = dec_str(d);
        f.key = key = dec_str(d);
        if (currency && strlen(currency) == 3)
            memcpy(f.currency, currency, 4);
        ev.fields = &f;
    } else {
        uint64_t to = dec_u64(d);
        ev.to = to < ORDER_STATUS_COUNT ? (enum order_status)to : ORDER_STATUS_COUNT;
        ev.source = source = dec_str(d);
        ev.note = note = dec_str(d);
    }
    int rc = -1;
    if (dec_done(d) && (type == REC_ORDER_TRANSITION || (customer && item && f.currency[0])) &&
        (type == REC_ORDER_CREATED || (ev.to < ORDER_STATUS_COUNT && source)))
        rc = book_restore(t->book, &ev) == BOOK_OK ? 0 : -1;
    if (rc == 0)
        t->order_events++;
    free(customer);
    free(item);
    free(currency);
    free(key);
    free(source);
    free(note);
    return rc;
}

/* A snapshot's order with its history (REC_ORDER_WHOLE). */
static void encode_order_whole(struct buf *b, const struct order *o)
{
    enc_u64(b, o->id);
    enc_i64(b, o->created_ms);
    enc_str(b, o->customer);
    enc_str(b, o->item);
    enc_i64(b, o->qty);
    enc_i64(b, o->amount);
    enc_str(b, o->currency);
    enc_str(b, o->key);
    enc_u64(b, o->nhistory ? o->nhistory - 1 : 0);
    int64_t last = o->created_ms;
    for (size_t h = 1; h < o->nhistory; h++) {
        const struct order_transition *tr = &o->history[h];
        enc_u64(b, (uint64_t)tr->to);
        enc_i64(b, (int64_t)((uint64_t)tr->time_ms - (uint64_t)last));
        enc_str(b, tr->source);
        enc_str(b, tr->note);
        last = tr->time_ms;
    }
}

/* A string of at most cap - 1 bytes copied into out, without allocating:
 * false when absent, too long or cut short. */
static bool dec_small_str(struct dec *d, char *out, size_t cap)
{
    uint64_t len = dec_u64(d);
    if (d->err || len == 0 || len > cap || len - 1 > (uint64_t)(d->end - d->p)) {
        d->err = true;
        return false;
    }
    memcpy(out, d->p, (size_t)(len - 1));
    out[len - 1] = '\0';
    d->p += len - 1;
    return true;
}

static int apply_order_whole(struct persist_target *t, struct dec *d)
{
    struct order_fields f = {0};
    struct order_event ev = {.type = ORDER_EV_CREATED, .fields = &f};
    char currency[4];
    ev.id = dec_u64(d);
    ev.time_ms = dec_i64(d);
    char *customer = dec_str(d), *item = dec_str(d);
    f.customer = customer;
    f.item = item;
    f.qty = dec_i64(d);
    f.amount = dec_i64(d);
    bool have_currency = dec_small_str(d, currency, sizeof currency) && strlen(currency) == 3;
    char *key = dec_str(d);
    f.key = key;
    memcpy(f.currency, currency, sizeof currency);
    uint64_t moves = dec_u64(d);
    int rc = -1;
    if (!d->err && customer && item && have_currency &&
        book_restore(t->book, &ev) == BOOK_OK) {
        rc = 0;
        t->order_events++;
    }
    free(customer);
    free(item);
    free(key);
    char source[ORDER_SOURCE_MAX];
    for (uint64_t i = 0; i < moves && rc == 0; i++) {
        struct order_event te = {.type = ORDER_EV_TRANSITION, .id = ev.id, .source = source};
        uint64_t to = dec_u64(d);
        /* Wrapping, as the encoder's difference did: no overflow on bad bytes. */
        ev.time_ms = (int64_t)((uint64_t)ev.time_ms + (uint64_t)dec_i64(d));
        te.time_ms = ev.time_ms;
        bool have_source = dec_small_str(d, source, sizeof source);
        char *note = dec_str(d);
        te.note = note;
        te.to = to < ORDER_STATUS_COUNT ? (enum order_status)to : ORDER_STATUS_COUNT;
        if (d->err || !have_source || te.to == ORDER_STATUS_COUNT ||
            book_restore(t->book, &te) != BOOK_OK)
            rc = -1;
        else
            t->order_events++;
        free(note);
    }
    return rc == 0 && dec_done(d) ? 0 : -1;
}

/* --- channels --------------------------------------------------------- */

static void enc_settings(struct buf *b, const struct chan_settings *s)
{
    enc_u64(b, s->maxlen);
    enc_i64(b, s->maxage_ms);
    enc_i64(b, s->ackwait_ms);
    enc_u64(b, s->maxdeliver);
    enc_i64(b, s->backoff_ms);
    enc_i64(b, s->backoff_max_ms);
    enc_u64(b, s->maxpending);
    enc_u64(b, s->maxbytes);
}

static void dec_settings(struct dec *d, struct chan_settings *s)
{
    s->maxlen = dec_u64(d);
    s->maxage_ms = dec_i64(d);
    s->ackwait_ms = dec_i64(d);
    s->maxdeliver = (uint32_t)dec_u64(d);
    s->backoff_ms = dec_i64(d);
    s->backoff_max_ms = dec_i64(d);
    s->maxpending = dec_u64(d);
    /* Journals from before the byte limit end here: theirs is the default. */
    s->maxbytes = d->p < d->end ? dec_u64(d) : CHAN_MAXBYTES_DEFAULT;
}

void persist_encode_change(struct buf *b, const struct chan_change *c, uint8_t *type)
{
    *type = (uint8_t)(REC_CHAN_BASE + c->type);
    switch (c->type) {
    case CHG_DECLARE:
        enc_str(b, c->channel);
        enc_settings(b, c->settings);
        break;
    case CHG_GROUP:
    case CHG_ACK:
    case CHG_SETTLE:
        enc_str(b, c->channel);
        enc_str(b, c->group);
        enc_u64(b, c->offset);
        break;
    case CHG_OFFSETS:
        enc_str(b, c->channel);
        enc_u64(b, c->offset);
        break;
    case CHG_APPEND:
        /* As REC_PUBLISHED: the recipe rather than the bytes when there
         * is one, and room for the store to say it was settled at once. */
        *type = REC_PUBLISHED;
        enc_u64(b, c->recipe ? PUBLISHED_MADE : 0);
        enc_u64(b, c->offset);
        enc_i64(b, c->time_ms);
        if (c->recipe) {
            enc_u64(b, c->recipe->kind);
            for (int i = 0; i < 3; i++)
                enc_u64(b, c->recipe->arg[i]);
        } else {
            enc_str(b, c->channel);
            enc_bytes(b, c->payload, c->len);
        }
        break;
    case CHG_DELIVER:
        enc_str(b, c->channel);
        enc_str(b, c->group);
        enc_str(b, c->consumer);
        enc_u64(b, c->offset);
        enc_u64(b, c->deliveries);
        enc_i64(b, c->time_ms);
        break;
    case CHG_NACK:
        enc_str(b, c->channel);
        enc_str(b, c->group);
        enc_u64(b, c->offset);
        enc_i64(b, c->due_ms);
        enc_str(b, c->reason);
        break;
    case CHG_DEAD:
        enc_str(b, c->channel);
        enc_str(b, c->group);
        enc_u64(b, c->offset);
        enc_str(b, c->reason);
        enc_i64(b, c->time_ms);
        break;
    case CHG_REPLAY:
    case CHG_PURGE:
        enc_u64(b, c->dlq_id);
        enc_i64(b, c->time_ms);
        break;
    case CHG_DLQ_ADD:
    case CHG_PENDING:
        enc_str(b, c->channel);
        enc_str(b, c->group);
        enc_str(b, c->consumer);
        enc_str(b, c->reason);
        enc_u64(b, c->offset);
        enc_u64(b, c->deliveries);
        enc_u64(b, c->replays);
        enc_u64(b, (uint64_t)c->state);
        enc_i64(b, c->time_ms);
        enc_i64(b, c->first_ms);
        enc_i64(b, c->last_ms);
        enc_i64(b, c->due_ms);
        enc_bytes(b, c->payload, c->len);
        break;
    }
}

static int apply_change(struct persist_target *t, uint8_t type, struct dec *d)
{
    struct chan_change c = {.type = (enum chan_change_type)(type - REC_CHAN_BASE)};
    struct chan_settings s;
    char *channel = NULL, *group = NULL, *consumer = NULL, *reason = NULL;
    switch (c.type) {
    case CHG_DECLARE:
        c.channel = channel = dec_str(d);
        dec_settings(d, &s);
        c.settings = &s;
        break;
    case CHG_GROUP:
    case CHG_ACK:
    case CHG_SETTLE:
        c.channel = channel = dec_str(d);
        c.group = group = dec_str(d);
        c.offset = dec_u64(d);
        break;
    case CHG_OFFSETS:
        c.channel = channel = dec_str(d);
        c.offset = dec_u64(d);
        break;
    case CHG_APPEND:
        c.channel = channel = dec_str(d);
        c.offset = dec_u64(d);
        c.time_ms = dec_i64(d);
        dec_bytes(d, &c.payload, &c.len);
        break;
    case CHG_DELIVER:
        c.channel = channel = dec_str(d);
        c.group = group = dec_str(d);
        c.consumer = consumer = dec_str(d);
        c.offset = dec_u64(d);
        c.deliveries = (uint32_t)dec_u64(d);
        c.time_ms = dec_i64(d);
        break;
    case CHG_NACK:
        c.channel = channel = dec_str(d);
        c.group = group = dec_str(d);
        c.offset = dec_u64(d);
        c.due_ms = dec_i64(d);
        c.reason = reason = dec_str(d);
        break;
    case CHG_DEAD:
        c.channel = channel = dec_str(d);
        c.group = group = dec_str(d);
        c.offset = dec_u64(d);
        c.reason = reason = dec_str(d);
        c.time_ms = dec_i64(d);
        break;
    case CHG_REPLAY:
    case CHG_PURGE:
        c.dlq_id = dec_u64(d);
        c.time_ms = dec_i64(d);
        break;
    case CHG_DLQ_ADD:
    case CHG_PENDING:
        c.channel = channel = dec_str(d);
        c.group = group = dec_str(d);
        c.consumer = consumer = dec_str(d);
        c.reason = reason = dec_str(d);
        c.offset = dec_u64(d);
        c.deliveries = (uint32_t)dec_u64(d);
        c.replays = (uint32_t)dec_u64(d);
        c.state = (int)dec_u64(d);
        c.time_ms = dec_i64(d);
        c.first_ms = dec_i64(d);
        c.last_ms = dec_i64(d);
        c.due_ms = dec_i64(d);
        dec_bytes(d, &c.payload, &c.len);
        break;
    default:
        d->err = true;
    }
    int rc = dec_done(d) ? chreg_apply(t->channels, &c) : -1;
    free(channel);
    free(group);
    free(consumer);
    free(reason);
    return rc;
}

static int remake(void *arg, const struct chan_recipe *recipe, struct buf *out)
{
    const struct persist_target *t = arg;
    const char *channel;
    return engine_remake(t->engine, recipe, &channel, out);
}

void persist_recovered(struct persist_target *t)
{
    if (t->channels)
        chreg_make_all(t->channels);
}

/* A message published (REC_PUBLISHED): appended, and with
 * PUBLISHED_SETTLED settled in every group at once. */
static int apply_published(struct persist_target *t, struct dec *d)
{
    struct chan_change c = {.type = CHG_APPEND};
    struct chan_recipe recipe = {0};
    struct buf made;
    char *channel = NULL;
    uint64_t flags = dec_u64(d);
    c.offset = dec_u64(d);
    c.time_ms = dec_i64(d);
    c.released = flags & PUBLISHED_SETTLED;
    buf_init(&made);
    if (flags & PUBLISHED_MADE) {
        recipe.kind = (uint32_t)dec_u64(d);
        for (int i = 0; i < 3; i++)
            recipe.arg[i] = dec_u64(d);
    } else {
        c.channel = channel = dec_str(d);
        dec_bytes(d, &c.payload, &c.len);
    }
    int rc = -1;
    if (dec_done(d) && flags == (PUBLISHED_SETTLED | PUBLISHED_MADE) && t->engine &&
        book_get(t->book, recipe.arg[0]) != NULL &&
        (c.channel = engine_recipe_channel(&recipe)) != NULL) {
        /* Settled everywhere as it was published: nobody will be handed
         * it, and count retention drops most such messages before any
         * READ; its payload is made when first needed, if ever. */
        if (!chreg_remakes(t->channels))
            chreg_remake_with(t->channels, remake, t);
        c.recipe = &recipe;
        rc = chreg_apply(t->channels, &c);
    } else if (dec_done(d) && flags <= (PUBLISHED_SETTLED | PUBLISHED_MADE)) {
        if (flags & PUBLISHED_MADE) {
            if (t->engine && engine_remake(t->engine, &recipe, &c.channel, &made) == 0) {
                c.payload = buf_head(&made);
                c.len = buf_used(&made);
                rc = chreg_apply(t->channels, &c);
            }
        } else if (channel) {
            rc = chreg_apply(t->channels, &c);
        }
    }
    free(channel);
    buf_free(&made);
    return rc;
}

/* --- sagas ------------------------------------------------------------ */

void persist_encode_saga(struct buf *b, const struct saga *s, int step, uint8_t *type)
{
    enc_u64(b, s->order);
    if (step < 0) {
        *type = REC_SAGA;
        enc_u64(b, s->state);
        enc_u64(b, (uint64_t)s->cancelling | (uint64_t)s->attention << 1);
        enc_str(b, s->reason);
        enc_i64(b, s->created_ms);
        enc_i64(b, s->updated_ms);
        return;
    }
    const struct saga_step_info *info = &s->steps[step];
    *type = REC_SAGA_STEP;
    enc_u64(b, (uint64_t)step);
    enc_u64(b, info->state);
    enc_u64(b, info->attempts);
    enc_u64(b, info->msg);
    enc_i64(b, info->started_ms);
    enc_i64(b, info->ended_ms);
    enc_i64(b, info->next_retry_ms);
    enc_i64(b, info->sent_ms);
    enc_str(b, info->error);
}

static int apply_saga(struct persist_target *t, uint8_t type, struct dec *d)
{
    uint64_t order = dec_u64(d);
    struct saga *s = t->engine ? engine_saga_for_restore(t->engine, order) : NULL;
    if (s == NULL)
        return -1;
    if (type == REC_SAGA) {
        uint64_t state = dec_u64(d), flags = dec_u64(d);
        char *reason = dec_str(d);
        int64_t created = dec_i64(d), updated = dec_i64(d);
        if (!dec_done(d) || state > SAGA_CANCELLED) {
            free(reason);
            return -1;
        }
        s->order = order;
        s->state = (uint8_t)state;
        s->cancelling = flags & 1;
        s->attention = (flags >> 1) & 1;
        free(s->reason);
        s->reason = reason;
        s->created_ms = created;
        s->updated_ms = updated;
        return 0;
    }
    uint64_t step = dec_u64(d);
    struct saga_step_info info = {0};
    info.state = (uint8_t)dec_u64(d);
    info.attempts = (uint16_t)dec_u64(d);
    info.msg = dec_u64(d);
    info.started_ms = dec_i64(d);
    info.ended_ms = dec_i64(d);
    info.next_retry_ms = dec_i64(d);
    info.sent_ms = dec_i64(d);
    info.error = dec_str(d);
    if (!dec_done(d) || step >= SAGA_STEP_COUNT || info.state > STEP_SKIPPED) {
        free(info.error);
        return -1;
    }
    s->order = order;
    free(s->steps[step].error);
    s->steps[step] = info;
    return 0;
}

void persist_encode_saga_whole(struct buf *b, const struct saga *s, const struct tracking *t)
{
    enc_u64(b, s->order);
    saga_pack(s, t, b);
}

void persist_encode_tracking(struct buf *b, uint64_t order, const struct tracking *t)
{
    enc_u64(b, order);
    enc_str(b, t->number);
    enc_str(b, t->location);
    enc_i64(b, t->eta_ms);
}

static int apply_tracking(struct persist_target *t, struct dec *d)
{
    uint64_t order = dec_u64(d);
    char *number = dec_str(d), *location = dec_str(d);
    int64_t eta = dec_i64(d);
    struct tracking *tr = NULL;
    if (dec_done(d) && t->engine)
        tr = engine_tracking_for_restore(t->engine, order);
    if (tr == NULL) {
        free(number);
        free(location);
        return -1;
    }
    free(tr->number);
    free(tr->location);
    tr->number = number;
    tr->location = location;
    tr->eta_ms = eta;
    return 0;
}

/* --- the simulators ---------------------------------------------------- */

void persist_encode_sim(struct buf *b, int type, const char *key, int64_t value)
{
    enc_u64(b, (uint64_t)type);
    enc_str(b, key);
    enc_i64(b, value);
}

static int apply_sim_batch(struct persist_target *t, struct dec *d)
{
    char small[128];
    while (!d->err && d->p < d->end) {
        uint64_t type = dec_u64(d);
        /* Keys are short: copied to the stack, not allocated. */
        uint64_t len = dec_u64(d);
        char *key = small;
        if (d->err || len == 0 || len - 1 > (uint64_t)(d->end - d->p))
            return -1;
        if (len > sizeof small)
            key = xmalloc((size_t)len);
        memcpy(key, d->p, (size_t)(len - 1));
        key[len - 1] = '\0';
        d->p += len - 1;
        int64_t value = dec_i64(d);
        int rc = d->err || t->sim == NULL ? -1
                                          : sim_apply(t->sim, (enum sim_record)type, key, value);
        if (key != small)
            free(key);
        if (rc != 0)
            return -1;
    }
    return dec_done(d) ? 0 : -1;
}

static int apply_sim(struct persist_target *t, struct dec *d)
{
    uint64_t type = dec_u64(d);
    char *key = dec_str(d);
    int64_t value = dec_i64(d);
    int rc = -1;
    if (dec_done(d) && key && t->sim)
        rc = sim_apply(t->sim, (enum sim_record)type, key, value);
    free(key);
    return rc;
}

/* --- the DLQ and counters (snapshots only) ----------------------------- */

static void encode_dlq_entry(struct buf *b, const struct dlq_entry *e)
{
    enc_u64(b, e->id);
    enc_str(b, e->channel);
    enc_str(b, e->group);
    enc_u64(b, e->offset);
    enc_bytes(b, e->payload, e->len);
    enc_str(b, e->reason);
    enc_u64(b, e->deliveries);
    enc_u64(b, e->replays);
    enc_i64(b, e->msg_time_ms);
    enc_i64(b, e->first_ms);
    enc_i64(b, e->last_ms);
    enc_i64(b, e->dead_ms);
}

static int apply_dlq_entry(struct persist_target *t, struct dec *d)
{
    struct dlq_entry e = {0};
    const char *payload;
    e.id = dec_u64(d);
    e.channel = dec_str(d);
    e.group = dec_str(d);
    e.offset = dec_u64(d);
    dec_bytes(d, &payload, &e.len);
    e.payload = (char *)payload;
    e.reason = dec_str(d);
    e.deliveries = (uint32_t)dec_u64(d);
    e.replays = (uint32_t)dec_u64(d);
    e.msg_time_ms = dec_i64(d);
    e.first_ms = dec_i64(d);
    e.last_ms = dec_i64(d);
    e.dead_ms = dec_i64(d);
    int rc = -1;
    if (dec_done(d) && e.channel && e.group && e.id > 0) {
        dlq_restore(t->dlq, &e);
        rc = 0;
    }
    free(e.channel);
    free(e.group);
    free(e.reason);
    return rc;
}

size_t persist_key_len(uint8_t type, const void *payload, size_t len)
{
    struct dec d;
    dec_init(&d, payload, len);
    switch (type) {
    case REC_SAGA:        /* order */
    case REC_SAGA_TRACK:  /* order */
    case REC_SAGA_PACKED: /* order */
        dec_u64(&d);
        break;
    case REC_SAGA_STEP:   /* order, step */
        dec_u64(&d);
        dec_u64(&d);
        break;
    case REC_SIM:         /* kind, key */
        dec_u64(&d);
        dec_skip_str(&d);
        break;
    default:
        return 0;
    }
    return d.err ? 0 : (size_t)(d.p - (const unsigned char *)payload);
}

int persist_apply(void *target, uint8_t type, const char *payload, size_t len,
                  uint64_t offset)
{
    struct persist_target *t = target;
    struct dec d;
    int rc;
    dec_init(&d, payload, len);
    if (type == REC_ORDER_CREATED || type == REC_ORDER_TRANSITION)
        rc = apply_order(t, type, &d);
    else if (type == REC_ORDER_WHOLE)
        rc = apply_order_whole(t, &d);
    else if (type > REC_CHAN_BASE && type <= REC_CHAN_BASE + CHG_SETTLE)
        rc = apply_change(t, type, &d);
    else if (type == REC_DLQ_ENTRY)
        rc = apply_dlq_entry(t, &d);
    else if (type == REC_SAGA || type == REC_SAGA_STEP)
        rc = apply_saga(t, type, &d);
    else if (type == REC_SAGA_TRACK)
        rc = apply_tracking(t, &d);
    else if (type == REC_SIM)
        rc = apply_sim(t, &d);
    else if (type == REC_SIM_BATCH)
        rc = apply_sim_batch(t, &d);
    else if (type == REC_PUBLISHED)
        rc = apply_published(t, &d);
    else if (type == REC_SAGA_PACKED) {
        uint64_t order = dec_u64(&d);
        rc = !d.err && t->engine ? engine_restore_packed(t->engine, order, d.p,
                                                         (size_t)(d.end - d.p))
                                 : -1;
    }
    else if (type == REC_META) {
        uint64_t next = dec_u64(&d);
        rc = dec_done(&d) ? 0 : -1;
        if (rc == 0)
            dlq_set_next_id(t->dlq, next);
    } else {
        rc = -1;
    }
    if (rc != 0)
        log_event("error", "event=recovery_failed offset=%llu type=%u len=%zu",
                  (unsigned long long)offset, type, len);
    return rc;
}

/* --- snapshots --------------------------------------------------------- */

#define SNAPSHOT_CHUNK (256 * 1024)

struct snap {
    struct buf *out;
    struct buf rec;
    int (*flush)(void *arg, struct buf *out);
    void *arg;
    int rc;
    size_t sim_entries;       /* in rec, not yet a record */
};

static void snap_record(struct snap *s, uint8_t type)
{
    journal_frame(s->out, type, buf_head(&s->rec), buf_used(&s->rec));
    buf_clear(&s->rec);
    if (s->rc == 0 && buf_used(s->out) >= SNAPSHOT_CHUNK)
        s->rc = s->flush(s->arg, s->out);
}

static void snap_change(void *arg, const struct chan_change *c)
{
    struct snap *s = arg;
    uint8_t type;
    persist_encode_change(&s->rec, c, &type);
    snap_record(s, type);
}

static void snap_saga(void *arg, const struct saga *sg, const struct tracking *track)
{
    struct snap *s = arg;
    persist_encode_saga_whole(&s->rec, sg, track);
    snap_record(s, REC_SAGA_PACKED);
}

static void snap_saga_packed(void *arg, uint64_t order, const void *bytes, size_t n)
{
    struct snap *s = arg;
    enc_u64(&s->rec, order);
    buf_append(&s->rec, bytes, n);
    snap_record(s, REC_SAGA_PACKED);
}

/* Participants' values go many to a record: a million reservations are
 * not a million records to frame, check and dispatch at restart. */
#define SIM_BATCH_ENTRIES 1024

static void snap_sim(void *arg, enum sim_record type, const char *key, int64_t value)
{
    struct snap *s = arg;
    persist_encode_sim(&s->rec, type, key, value);
    if (++s->sim_entries == SIM_BATCH_ENTRIES) {
        snap_record(s, REC_SIM_BATCH);
        s->sim_entries = 0;
    }
}

int persist_snapshot(const struct persist_target *t, struct buf *out,
                     int (*flush)(void *arg, struct buf *out), void *arg)
{
    struct snap s = {.out = out, .flush = flush, .arg = arg};
    buf_init(&s.rec);
    /* An order's history is its state: the creation, then each move. */
    for (uint64_t id = 1; id <= book_last_id(t->book) && s.rc == 0; id++) {
        encode_order_whole(&s.rec, book_get(t->book, id));
        snap_record(&s, REC_ORDER_WHOLE);
    }
    if (t->channels)
        chreg_snapshot(t->channels, snap_change, &s);
    for (size_t i = 0; t->dlq && i < dlq_count(t->dlq); i++) {
        encode_dlq_entry(&s.rec, dlq_at(t->dlq, i));
        snap_record(&s, REC_DLQ_ENTRY);
    }
    if (t->engine)
        engine_snapshot(t->engine, snap_saga, snap_saga_packed, &s);
    if (t->sim)
        sim_snapshot(t->sim, snap_sim, &s);
    if (s.sim_entries > 0)
        snap_record(&s, REC_SIM_BATCH);
    if (t->dlq) {
        enc_u64(&s.rec, dlq_next_id(t->dlq));
        snap_record(&s, REC_META);
    }
    buf_free(&s.rec);
    if (s.rc == 0 && buf_used(out) > 0)
        s.rc = flush(arg, out);
    return s.rc;
}
