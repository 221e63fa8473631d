/* The PostgreSQL store's batches (see pg_batch.h). */
#include "pg_batch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channels/channel.h"
#include "channels/dlq.h"
#include "lib/money.h"
#include "lib/strmap.h"
#include "lib/u64map.h"
#include "utf8.h"
#include "orders/book.h"
#include "orders/order.h"
#include "persist.h"
#include "pg_columns.h"
#include "saga/engine.h"
#include "saga/saga.h"
#include "saga/saga_pack.h"
#include "saga/sim.h"
#include "xalloc.h"

struct appended {
    char *channel;     /* owned */
    uint64_t offset;
};

struct pg_changes {
    const struct persist_target *t;
    struct u64map orders;      /* id -> the first history entry not written */
    struct u64map sagas;       /* order -> unused */
    struct strmap sim;         /* type byte + key -> int64_t * (owned) */
    struct strmap channels;    /* name -> marker */
    struct appended *appended;
    size_t nappended, capappended;
    struct strmap groups;      /* channel NUL group -> marker */
    struct strmap pending;     /* channel NUL group NUL 8-byte offset -> marker */
    /* Pending entries that have a row (the same keys): one handed out and
     * settled between two batches never had one, and needs no DELETE. */
    struct strmap pending_rows;
    /* Reservations and charges that have a row (type byte + order id):
     * one made and closed between two batches never had one. */
    struct strmap ledger_rows;
    bool dlq;                  /* entries added (written from dlq_written on) */
    uint64_t dlq_written;      /* ids up to this one are written */
    struct u64map dlq_gone;    /* ids replayed or purged */
};

static void *const MARK = (void *)"";

static void init_sets(struct pg_changes *c)
{
    u64map_init(&c->orders);
    u64map_init(&c->sagas);
    strmap_init(&c->sim);
    strmap_init(&c->channels);
    strmap_init(&c->groups);
    strmap_init(&c->pending);
    u64map_init(&c->dlq_gone);
}

static size_t pending_key(char *k, size_t cap, const char *channel, const char *group,
                          uint64_t offset);

/* Recovery loaded these from their rows. */
static void loaded_pending(void *arg, const struct chan_change *ch)
{
    struct pg_changes *c = arg;
    char k[600];
    size_t n;
    if (ch->type == CHG_PENDING &&
        (n = pending_key(k, sizeof k, ch->channel, ch->group, ch->offset)) != 0)
        strmap_put(&c->pending_rows, k, n, MARK);
}

static void loaded_ledger(void *arg, enum sim_record type, const char *key, int64_t value)
{
    struct pg_changes *c = arg;
    char k[32];
    size_t n = strlen(key);
    if ((type != SIMREC_RESERVATION && type != SIMREC_CHARGE) || value == 0 || n + 1 > sizeof k)
        return;
    k[0] = (char)type;
    memcpy(k + 1, key, n);
    strmap_put(&c->ledger_rows, k, n + 1, MARK);
}

struct pg_changes *pg_changes_new(const struct persist_target *t)
{
    struct pg_changes *c = xcalloc(1, sizeof *c);
    c->t = t;
    init_sets(c);
    strmap_init(&c->pending_rows);
    strmap_init(&c->ledger_rows);
    if (t->sim)
        sim_snapshot(t->sim, loaded_ledger, c);
    if (t->channels)
        chreg_snapshot(t->channels, loaded_pending, c);
    /* What recovery loaded is written already. */
    c->dlq_written = t->dlq && dlq_next_id(t->dlq) > 0 ? dlq_next_id(t->dlq) - 1 : 0;
    return c;
}

static void forget(struct pg_changes *c)
{
    size_t it = 0, len;
    const char *k;
    void *v;
    while (strmap_next(&c->sim, &it, &k, &len, &v))
        free(v);
    for (size_t i = 0; i < c->nappended; i++)
        free(c->appended[i].channel);
    u64map_free(&c->orders);
    u64map_free(&c->sagas);
    strmap_free(&c->sim);
    strmap_free(&c->channels);
    strmap_free(&c->groups);
    strmap_free(&c->pending);
    u64map_free(&c->dlq_gone);
    c->nappended = 0;
    c->dlq = false;
}

static void reset(struct pg_changes *c)
{
    forget(c);
    init_sets(c);
}

void pg_changes_free(struct pg_changes *c)
{
    if (c == NULL)
        return;
    forget(c);
    strmap_free(&c->pending_rows);
    strmap_free(&c->ledger_rows);
    free(c->appended);
    free(c);
}

bool pg_changes_empty(const struct pg_changes *c)
{
    return c->orders.count == 0 && c->sagas.count == 0 &&
           c->sim.count == 0 && c->channels.count == 0 &&
           c->nappended == 0 && c->groups.count == 0 &&
           c->pending.count == 0 && !c->dlq && c->dlq_gone.count == 0;
}

/* --- noting ------------------------------------------------------------ */

void pg_changes_order(struct pg_changes *c, const struct order_event *ev)
{
    int64_t first;
    if (u64map_get(&c->orders, ev->id, &first))
        return;
    const struct order *o = book_get(c->t->book, ev->id);
    first = ev->type == ORDER_EV_CREATED || o == NULL ? 0 : (int64_t)o->nhistory - 1;
    u64map_put(&c->orders, ev->id, first);
}

void pg_changes_saga(struct pg_changes *c, uint64_t order)
{
    u64map_put(&c->sagas, order, 0);
}

void pg_changes_sim(struct pg_changes *c, int type, const char *key, int64_t value)
{
    char k[1024];  /* names are at most 256 bytes, order ids 20 */
    size_t n = strlen(key);
    if (n + 1 > sizeof k)
        n = sizeof k - 1;
    k[0] = (char)type;
    memcpy(k + 1, key, n);
    int64_t *slot = strmap_get(&c->sim, k, n + 1);
    if (slot == NULL) {
        slot = xmalloc(sizeof *slot);
        strmap_put(&c->sim, k, n + 1, slot);
    }
    *slot = value;
}

static size_t group_key(char *k, size_t cap, const char *channel, const char *group)
{
    size_t a = strlen(channel), b = strlen(group);
    if (a + b + 2 + 8 > cap)
        return 0;
    memcpy(k, channel, a + 1);
    memcpy(k + a + 1, group, b + 1);
    return a + b + 2;
}

static void note_group(struct pg_changes *c, const char *channel, const char *group)
{
    char k[600];
    size_t n = group_key(k, sizeof k, channel, group);
    if (n && !strmap_get(&c->groups, k, n - 1))
        strmap_put(&c->groups, k, n - 1, MARK);
}

/* channel NUL group NUL 8-byte offset: its length, 0 when it does not fit. */
static size_t pending_key(char *k, size_t cap, const char *channel, const char *group,
                          uint64_t offset)
{
    size_t n = group_key(k, cap, channel, group);
    if (n == 0)
        return 0;
    memcpy(k + n, &offset, 8);
    return n + 8;
}

static void note_pending(struct pg_changes *c, const char *channel, const char *group,
                         uint64_t offset)
{
    char k[600];
    size_t n = pending_key(k, sizeof k, channel, group, offset);
    if (n == 0)
        return;
    if (!strmap_get(&c->pending, k, n))
        strmap_put(&c->pending, k, n, MARK);
    note_group(c, channel, group);
}

static void note_channel(struct pg_changes *c, const char *channel)
{
    size_t n = strlen(channel);
    if (!strmap_get(&c->channels, channel, n))
        strmap_put(&c->channels, channel, n, MARK);
}

void pg_changes_channel(struct pg_changes *c, const struct chan_change *ch)
{
    const struct dlq_entry *e;
    switch (ch->type) {
    case CHG_DECLARE:
    case CHG_OFFSETS:
        note_channel(c, ch->channel);
        break;
    case CHG_APPEND:
        note_channel(c, ch->channel);
        if (c->nappended == c->capappended) {
            c->capappended = c->capappended ? 2 * c->capappended : 64;
            c->appended = xrealloc(c->appended, c->capappended * sizeof *c->appended);
        }
        c->appended[c->nappended++] = (struct appended){xstrdup(ch->channel), ch->offset};
        break;
    case CHG_GROUP:
        note_group(c, ch->channel, ch->group);
        break;
    case CHG_DELIVER:
    case CHG_ACK:
    case CHG_NACK:
    case CHG_SETTLE:
    case CHG_PENDING:
        note_pending(c, ch->channel, ch->group, ch->offset);
        break;
    case CHG_DEAD:
        note_pending(c, ch->channel, ch->group, ch->offset);
        c->dlq = true;
        break;
    case CHG_DLQ_ADD:
        c->dlq = true;
        break;
    case CHG_REPLAY:
        /* Told before the entry leaves the DLQ: where it goes back to. */
        if ((e = dlq_get(c->t->dlq, ch->dlq_id)) != NULL)
            note_pending(c, e->channel, e->group, e->offset);
        u64map_put(&c->dlq_gone, ch->dlq_id, 0);
        break;
    case CHG_PURGE:
        u64map_put(&c->dlq_gone, ch->dlq_id, 0);
        break;
    }
}

/* --- literals ---------------------------------------------------------- */

void pg_lit_text(struct buf *b, const char *s, size_t n)
{
    if (s == NULL) {
        buf_appends(b, "NULL");
        return;
    }
    buf_appendc(b, '\'');
    pg_escape_text(b, s, n, false);
    buf_appendc(b, '\'');
}

static void lit_str(struct buf *b, const char *s)
{
    pg_lit_text(b, s, s ? strlen(s) : 0);
}

void pg_lit_time(struct buf *b, int64_t ms, bool nullable)
{
    if (ms == 0 && nullable) {
        buf_appends(b, "NULL");
        return;
    }
    char t[PG_TIME_TEXT];
    pg_time_text(t, ms);
    buf_printf(b, "'%s'", t);
}

/* A payload as two columns of a pg_columns, at i and i + 1: as text when
 * it is UTF-8 without NULs, else as bytes; the other one NULL. */
static void col_payload(struct pg_columns *cols, size_t i, const char *p, size_t n)
{
    if (p != NULL && memchr(p, 0, n) == NULL && utf8_valid(p, n)) {
        pg_col_text(cols, i, p, n);
        pg_col_null(cols, i + 1);
    } else {
        pg_col_null(cols, i);
        pg_col_bytes(cols, i + 1, p, p ? n : 0);
    }
}

/* --- statements -------------------------------------------------------- */

/* A multi-row statement: head, then rows separated by commas, then tail. */
struct stmt {
    struct buf *out;
    const char *head, *tail;
    size_t rows;
    size_t *count;
};

static void row(struct stmt *s)
{
    if (s->rows++ == 0)
        buf_appends(s->out, s->head);
    else
        buf_appendc(s->out, ',');
    buf_appendc(s->out, '(');
}

static void end_row(struct stmt *s)
{
    buf_appendc(s->out, ')');
}

static void finish(struct stmt *s)
{
    if (s->rows == 0)
        return;
    buf_appends(s->out, s->tail);
    buf_appendc(s->out, '\0');
    (*s->count)++;
    s->rows = 0;
}

/* New orders are inserted and the others' status updated, each row once:
 * a batch is sent again only when it is known not to have committed, so
 * no statement needs ON CONFLICT (which costs every row a speculative
 * insertion). */
static void build_orders(struct pg_changes *c, struct buf *out, size_t *count)
{
    enum { O_ID, O_CUSTOMER, O_ITEM, O_QTY, O_AMOUNT, O_MINOR, O_CURRENCY, O_STATUS, O_KEY,
           O_CREATED, O_UPDATED, O_N };
    static const char *const order_types[O_N] = {
        "bigint", "text", "text", "bigint", "numeric", "bigint", "text", "text", "text",
        "timestamptz", "timestamptz"};
    enum { M_ID, M_STATUS, M_AT, M_N };
    static const char *const move_types[M_N] = {"bigint", "text", "timestamptz"};
    enum { H_ID, H_SEQ, H_FROM, H_TO, H_AT, H_SOURCE, H_NOTE, H_N };
    static const char *const history_types[H_N] = {"bigint", "int", "text", "text",
                                                    "timestamptz", "text", "text"};
    struct pg_columns created, moved, history;
    pg_columns_init(&created, O_N);
    pg_columns_init(&moved, M_N);
    pg_columns_init(&history, H_N);
    size_t it = 0;
    uint64_t id;
    int64_t first;
    while (u64map_next(&c->orders, &it, &id, &first)) {
        const struct order *o = book_get(c->t->book, id);
        if (o == NULL)
            continue;
        if (first > 0) {
            pg_columns_row(&moved);
            pg_col_uint(&moved, M_ID, id);
            pg_col_str(&moved, M_STATUS, order_status_name(o->status));
            pg_col_time(&moved, M_AT, o->updated_ms, false);
        } else {
            char amount[MONEY_TEXT_MAX];
            money_format(o->amount, money_exponent(o->currency), amount);
            pg_columns_row(&created);
            pg_col_uint(&created, O_ID, id);
            pg_col_str(&created, O_CUSTOMER, o->customer);
            pg_col_str(&created, O_ITEM, o->item);
            pg_col_int(&created, O_QTY, (long long)o->qty);
            pg_col_raw(&created, O_AMOUNT, amount);
            pg_col_int(&created, O_MINOR, (long long)o->amount);
            pg_col_str(&created, O_CURRENCY, o->currency);
            pg_col_str(&created, O_STATUS, order_status_name(o->status));
            pg_col_str(&created, O_KEY, o->key);
            pg_col_time(&created, O_CREATED, o->created_ms, false);
            pg_col_time(&created, O_UPDATED, o->updated_ms, false);
        }
        for (size_t i = (size_t)first; i < o->nhistory; i++) {
            const struct order_transition *h = &o->history[i];
            pg_columns_row(&history);
            pg_col_uint(&history, H_ID, id);
            pg_col_uint(&history, H_SEQ, i);
            pg_col_str(&history, H_FROM,
                       h->from < 0 ? NULL : order_status_name((enum order_status)h->from));
            pg_col_str(&history, H_TO, order_status_name(h->to));
            pg_col_time(&history, H_AT, h->time_ms, false);
            pg_col_str(&history, H_SOURCE, h->source);
            pg_col_str(&history, H_NOTE, h->note);
        }
    }
    *count += pg_columns_statement(&created, out,
                                   "INSERT INTO orders (id, customer, item, qty, amount, "
                                   "amount_minor, currency, status, idempotency_key, created_at, "
                                   "updated_at) SELECT * FROM ",
                                   order_types, "");
    *count += pg_columns_statement(&moved, out,
                                   "UPDATE orders SET status = v.status, updated_at = v.at FROM ",
                                   move_types, " AS v(id, status, at) WHERE orders.id = v.id");
    *count += pg_columns_statement(&history, out,
                                   "INSERT INTO order_history (order_id, seq, from_status, "
                                   "status, at, source, note) SELECT * FROM ",
                                   history_types, "");
    pg_columns_free(&created);
    pg_columns_free(&moved);
    pg_columns_free(&history);
}

static void build_sagas(struct pg_changes *c, struct buf *out, size_t *count)
{
    if (c->t->engine == NULL)
        return;
    enum { S_ID, S_STATE, S_FINISHED, S_REASON, S_CREATED, S_UPDATED, S_PACKED, S_N };
    static const char *const saga_types[S_N] = {"bigint", "text", "boolean", "text",
                                                 "timestamptz", "timestamptz", "bytea"};
    enum { P_ID, P_STEP, P_STATE, P_ATTEMPTS, P_STARTED, P_ENDED, P_ERROR, P_N };
    static const char *const step_types[P_N] = {"bigint", "text", "text", "int",
                                                 "timestamptz", "timestamptz", "text"};
    enum { T_ID, T_NUMBER, T_LOCATION, T_ETA, T_N };
    static const char *const parcel_types[T_N] = {"bigint", "text", "text", "timestamptz"};
    struct pg_columns sagas, steps, parcels;
    pg_columns_init(&sagas, S_N);
    pg_columns_init(&steps, P_N);
    pg_columns_init(&parcels, T_N);
    struct buf packed;
    buf_init(&packed);
    size_t it = 0;
    uint64_t order;
    int64_t unused;
    while (u64map_next(&c->sagas, &it, &order, &unused)) {
        const struct saga *s = engine_saga(c->t->engine, order);
        if (s == NULL)
            continue;
        const struct tracking *t = engine_tracking(c->t->engine, order);
        buf_clear(&packed);
        saga_pack(s, t, &packed);
        pg_columns_row(&sagas);
        pg_col_uint(&sagas, S_ID, order);
        pg_col_str(&sagas, S_STATE, saga_state_name(s));
        pg_col_raw(&sagas, S_FINISHED, saga_finished(s) ? "true" : "false");
        pg_col_str(&sagas, S_REASON, s->reason);
        pg_col_time(&sagas, S_CREATED, s->created_ms, false);
        pg_col_time(&sagas, S_UPDATED, s->updated_ms, false);
        pg_col_bytes(&sagas, S_PACKED, buf_head(&packed), buf_used(&packed));
        for (int i = 0; i < SAGA_STEP_COUNT; i++) {
            const struct saga_step_info *si = &s->steps[i];
            if (si->state == STEP_PENDING)
                continue;
            pg_columns_row(&steps);
            pg_col_uint(&steps, P_ID, order);
            pg_col_str(&steps, P_STEP, saga_step_name((enum saga_step)i));
            pg_col_str(&steps, P_STATE, step_state_name((enum step_state)si->state));
            pg_col_uint(&steps, P_ATTEMPTS, si->attempts);
            pg_col_time(&steps, P_STARTED, si->started_ms, true);
            pg_col_time(&steps, P_ENDED, si->ended_ms, true);
            pg_col_str(&steps, P_ERROR, si->error);
        }
        if (t && (t->number || t->location)) {
            pg_columns_row(&parcels);
            pg_col_uint(&parcels, T_ID, order);
            pg_col_str(&parcels, T_NUMBER, t->number);
            pg_col_str(&parcels, T_LOCATION, t->location);
            pg_col_time(&parcels, T_ETA, t->eta_ms, true);
        }
    }
    *count += pg_columns_statement(
        &sagas, out,
        "INSERT INTO sagas (order_id, state, finished, reason, created_at, updated_at, packed) "
        "SELECT * FROM ", saga_types,
        " ON CONFLICT (order_id) DO UPDATE SET state = excluded.state, "
        "finished = excluded.finished, reason = excluded.reason, "
        "updated_at = excluded.updated_at, packed = excluded.packed");
    *count += pg_columns_statement(
        &steps, out,
        "INSERT INTO saga_steps (order_id, step, state, attempts, started_at, ended_at, error) "
        "SELECT * FROM ", step_types,
        " ON CONFLICT (order_id, step) DO UPDATE SET state = excluded.state, "
        "attempts = excluded.attempts, started_at = excluded.started_at, "
        "ended_at = excluded.ended_at, error = excluded.error");
    *count += pg_columns_statement(
        &parcels, out, "INSERT INTO tracking (order_id, number, location, eta) SELECT * FROM ",
        parcel_types,
        " ON CONFLICT (order_id) DO UPDATE SET number = excluded.number, "
        "location = excluded.location, eta = excluded.eta");
    pg_columns_free(&sagas);
    pg_columns_free(&steps);
    pg_columns_free(&parcels);
    buf_free(&packed);
}

static void build_sim(struct pg_changes *c, struct buf *out, size_t *count)
{
    size_t it = 0, len;
    const char *k;
    void *v;
    while (strmap_next(&c->sim, &it, &k, &len, &v)) {
        int64_t value = *(int64_t *)v;
        const char *key = k + 1;
        size_t n = len - 1;
        switch ((enum sim_record)k[0]) {
        case SIMREC_STOCK:
            buf_appends(out, "INSERT INTO stock VALUES (");
            pg_lit_text(out, key, n);
            buf_printf(out, ",%lld) ON CONFLICT (sku) DO UPDATE SET level = excluded.level",
                       (long long)value);
            break;
        case SIMREC_BLOCK:
            buf_appends(out, "INSERT INTO customers VALUES (");
            pg_lit_text(out, key, n);
            buf_printf(out, ",%s) ON CONFLICT (customer) DO UPDATE SET blocked = "
                       "excluded.blocked", value ? "true" : "false");
            break;
        case SIMREC_RESERVATION:
        case SIMREC_CHARGE: {
            const char *table = k[0] == SIMREC_RESERVATION ? "reservations" : "charges";
            const char *col = k[0] == SIMREC_RESERVATION ? "qty" : "amount_minor";
            char id[32];
            if (n >= sizeof id || strspn(key, "0123456789") != n || n == 0)
                continue;
            memcpy(id, key, n);
            id[n] = '\0';
            if (value == 0) {
                if (!strmap_del(&c->ledger_rows, k, len))
                    continue;  /* opened and closed between two batches */
                buf_printf(out, "DELETE FROM %s WHERE order_id = %s", table, id);
            } else {
                if (!strmap_get(&c->ledger_rows, k, len))
                    strmap_put(&c->ledger_rows, k, len, MARK);
                buf_printf(out, "INSERT INTO %s VALUES (%s,%lld) ON CONFLICT (order_id) DO "
                           "UPDATE SET %s = excluded.%s", table, id, (long long)value, col, col);
            }
            break;
        }
        case SIMREC_STOCK_DEFAULT:
            buf_printf(out, "INSERT INTO orderd_meta VALUES ('stock_default',%lld) ON CONFLICT "
                       "(key) DO UPDATE SET value = excluded.value", (long long)value);
            break;
        default:
            continue;
        }
        buf_appendc(out, '\0');
        (*count)++;
    }
}

static void build_channels(struct pg_changes *c, struct buf *out, size_t *count)
{
    struct chan_registry *r = c->t->channels;
    size_t it = 0, len;
    const char *k;
    void *v;
    struct stmt cs = {out,
                      "INSERT INTO channels (name, maxlen, maxage_ms, ackwait_ms, maxdeliver, "
                      "backoff_ms, backoff_max_ms, maxpending, maxbytes, first_offset) VALUES ",
                      " ON CONFLICT (name) DO UPDATE SET first_offset = excluded.first_offset",
                      0, count};
    while (strmap_next(&c->channels, &it, &k, &len, &v)) {
        struct channel *ch = chreg_find(r, k);
        if (ch == NULL)
            continue;
        const struct chan_settings *s = chan_settings(ch);
        row(&cs);
        lit_str(out, k);
        buf_printf(out, ",%llu,%lld,%lld,%u,%lld,%lld,%llu,%llu,%llu",
                   (unsigned long long)s->maxlen, (long long)s->maxage_ms,
                   (long long)s->ackwait_ms, s->maxdeliver, (long long)s->backoff_ms,
                   (long long)s->backoff_max_ms, (unsigned long long)s->maxpending,
                   (unsigned long long)s->maxbytes, (unsigned long long)chan_first_offset(ch));
        end_row(&cs);
    }
    finish(&cs);
    enum { M_CHANNEL, M_OFFSET, M_AT, M_TEXT, M_BYTES, M_N };
    static const char *const message_types[M_N] = {"text", "bigint", "timestamptz", "text",
                                                    "bytea"};
    struct pg_columns ms;
    pg_columns_init(&ms, M_N);
    for (size_t i = 0; i < c->nappended; i++) {
        struct channel *ch = chreg_find(r, c->appended[i].channel);
        struct chan_change m;
        struct chan_recipe recipe;
        if (ch == NULL || !chan_message_change(ch, c->appended[i].offset, &m, &recipe) ||
            m.payload == NULL)
            continue;
        pg_columns_row(&ms);
        pg_col_str(&ms, M_CHANNEL, m.channel);
        pg_col_uint(&ms, M_OFFSET, m.offset);
        pg_col_time(&ms, M_AT, m.time_ms, false);
        col_payload(&ms, M_TEXT, m.payload, m.len);
    }
    *count += pg_columns_statement(&ms, out,
                                   "INSERT INTO channel_messages (channel, msg_offset, "
                                   "published_at, payload, payload_bytes) SELECT * FROM ",
                                   message_types, " ON CONFLICT DO NOTHING");
    pg_columns_free(&ms);
    /* What retention dropped. */
    it = 0;
    while (strmap_next(&c->channels, &it, &k, &len, &v)) {
        struct channel *ch = chreg_find(r, k);
        if (ch == NULL)
            continue;
        buf_appends(out, "DELETE FROM channel_messages WHERE channel = ");
        lit_str(out, k);
        buf_printf(out, " AND msg_offset < %llu", (unsigned long long)chan_first_offset(ch));
        buf_appendc(out, '\0');
        (*count)++;
    }
}

struct group_rows {
    struct buf *out;
    bool any_settled;
};

static void group_row(void *arg, const struct chan_change *ch)
{
    struct group_rows *g = arg;
    if (ch->type == CHG_GROUP) {
        lit_str(g->out, ch->channel);
        buf_appendc(g->out, ',');
        lit_str(g->out, ch->group);
        buf_printf(g->out, ",%llu,ARRAY[", (unsigned long long)ch->offset);
    } else if (ch->type == CHG_SETTLE) {
        buf_printf(g->out, "%s%llu", g->any_settled ? "," : "", (unsigned long long)ch->offset);
        g->any_settled = true;
    }
}

static void build_groups(struct pg_changes *c, struct buf *out, size_t *count)
{
    struct chan_registry *r = c->t->channels;
    struct stmt gs = {out,
                      "INSERT INTO channel_groups (channel, group_name, next_offset, "
                      "settled_ahead) VALUES ",
                      " ON CONFLICT (channel, group_name) DO UPDATE SET next_offset = "
                      "excluded.next_offset, settled_ahead = excluded.settled_ahead",
                      0, count};
    /* A channel's groups in the order they were made: the rows' created
     * numbers keep it for recovery. */
    struct strmap seen;
    strmap_init(&seen);
    size_t it = 0, len;
    const char *k;
    void *v;
    while (strmap_next(&c->groups, &it, &k, &len, &v)) {
        struct channel *ch = chreg_find(r, k);
        if (ch == NULL || strmap_get(&seen, k, strlen(k)))
            continue;
        strmap_put(&seen, k, strlen(k), MARK);
        char key[600];
        for (size_t gi = 0; gi < chan_group_count(ch); gi++) {
            const struct chan_group *g = chan_group_at(ch, gi);
            size_t n = group_key(key, sizeof key, k, group_name(g));
            if (n == 0 || !strmap_get(&c->groups, key, n - 1))
                continue;
            row(&gs);
            struct group_rows gr = {out, false};
            group_snapshot(g, false, group_row, &gr);
            buf_appends(out, "]::bigint[]");
            end_row(&gs);
        }
    }
    strmap_free(&seen);
    finish(&gs);
    enum { P_CHANNEL, P_GROUP, P_OFFSET, P_CONSUMER, P_STATE, P_DELIVERIES, P_REPLAYS,
           P_REASON, P_AT, P_FIRST, P_LAST, P_DUE, P_TEXT, P_BYTES, P_N };
    static const char *const pending_types[P_N] = {
        "text", "text", "bigint", "text", "text", "int", "int", "text", "timestamptz",
        "timestamptz", "timestamptz", "timestamptz", "text", "bytea"};
    enum { G_CHANNEL, G_GROUP, G_OFFSET, G_N };
    static const char *const gone_types[G_N] = {"text", "text", "bigint"};
    struct pg_columns ps, gone;
    pg_columns_init(&ps, P_N);
    pg_columns_init(&gone, G_N);
    it = 0;
    while (strmap_next(&c->pending, &it, &k, &len, &v)) {
        const char *channel = k, *group = k + strlen(k) + 1;
        uint64_t offset;
        memcpy(&offset, k + len - 8, 8);
        struct channel *ch = chreg_find(r, channel);
        struct chan_group *g = ch ? chan_group(ch, group, false) : NULL;
        struct chan_change pe;
        if (g != NULL && group_pending_change(g, offset, &pe)) {
            pg_columns_row(&ps);
            pg_col_str(&ps, P_CHANNEL, channel);
            pg_col_str(&ps, P_GROUP, group);
            pg_col_uint(&ps, P_OFFSET, offset);
            pg_col_str(&ps, P_CONSUMER, pe.consumer);
            pg_col_str(&ps, P_STATE, pending_state_name((enum pending_state)pe.state));
            pg_col_uint(&ps, P_DELIVERIES, pe.deliveries);
            pg_col_uint(&ps, P_REPLAYS, pe.replays);
            pg_col_str(&ps, P_REASON, pe.reason);
            pg_col_time(&ps, P_AT, pe.time_ms, false);
            pg_col_time(&ps, P_FIRST, pe.first_ms, true);
            pg_col_time(&ps, P_LAST, pe.last_ms, true);
            pg_col_time(&ps, P_DUE, pe.due_ms, true);
            col_payload(&ps, P_TEXT, pe.payload, pe.len);
            if (!strmap_get(&c->pending_rows, k, len))
                strmap_put(&c->pending_rows, k, len, MARK);
        } else if (strmap_del(&c->pending_rows, k, len)) {
            pg_columns_row(&gone);
            pg_col_str(&gone, G_CHANNEL, channel);
            pg_col_str(&gone, G_GROUP, group);
            pg_col_uint(&gone, G_OFFSET, offset);
        }
    }
    *count += pg_columns_statement(
        &ps, out,
        "INSERT INTO channel_pending (channel, group_name, msg_offset, consumer, state, "
        "deliveries, replays, reason, published_at, first_delivery_at, last_delivery_at, "
        "due_at, payload, payload_bytes) SELECT * FROM ", pending_types,
        " ON CONFLICT (channel, group_name, msg_offset) DO UPDATE SET "
        "consumer = excluded.consumer, state = excluded.state, "
        "deliveries = excluded.deliveries, replays = excluded.replays, "
        "reason = excluded.reason, first_delivery_at = excluded.first_delivery_at, "
        "last_delivery_at = excluded.last_delivery_at, due_at = excluded.due_at");
    *count += pg_columns_statement(
        &gone, out,
        "DELETE FROM channel_pending p USING ", gone_types,
        " AS g(channel, group_name, msg_offset) WHERE p.channel = g.channel AND "
        "p.group_name = g.group_name AND p.msg_offset = g.msg_offset");
    pg_columns_free(&ps);
    pg_columns_free(&gone);
}

static void build_dlq(struct pg_changes *c, struct buf *out, size_t *count)
{
    struct dlq *q = c->t->dlq;
    if (q == NULL)
        return;
    size_t it = 0;
    uint64_t id;
    int64_t unused;
    while (u64map_next(&c->dlq_gone, &it, &id, &unused)) {
        buf_printf(out, "DELETE FROM dlq WHERE id = %llu", (unsigned long long)id);
        buf_appendc(out, '\0');
        (*count)++;
    }
    if (!c->dlq)
        return;
    enum { D_ID, D_CHANNEL, D_GROUP, D_OFFSET, D_REASON, D_DELIVERIES, D_REPLAYS, D_AT,
           D_FIRST, D_LAST, D_DEAD, D_TEXT, D_BYTES, D_N };
    static const char *const dlq_types[D_N] = {
        "bigint", "text", "text", "bigint", "text", "int", "int", "timestamptz",
        "timestamptz", "timestamptz", "timestamptz", "text", "bytea"};
    struct pg_columns ds;
    pg_columns_init(&ds, D_N);
    size_t n = dlq_count(q), from = n;
    while (from > 0 && dlq_at(q, from - 1)->id > c->dlq_written)
        from--;
    for (size_t i = from; i < n; i++) {
        const struct dlq_entry *e = dlq_at(q, i);
        pg_columns_row(&ds);
        pg_col_uint(&ds, D_ID, e->id);
        pg_col_str(&ds, D_CHANNEL, e->channel);
        pg_col_str(&ds, D_GROUP, e->group);
        pg_col_uint(&ds, D_OFFSET, e->offset);
        pg_col_str(&ds, D_REASON, e->reason);
        pg_col_uint(&ds, D_DELIVERIES, e->deliveries);
        pg_col_uint(&ds, D_REPLAYS, e->replays);
        pg_col_time(&ds, D_AT, e->msg_time_ms, false);
        pg_col_time(&ds, D_FIRST, e->first_ms, true);
        pg_col_time(&ds, D_LAST, e->last_ms, true);
        pg_col_time(&ds, D_DEAD, e->dead_ms, false);
        col_payload(&ds, D_TEXT, e->payload, e->len);
        c->dlq_written = e->id;
    }
    *count += pg_columns_statement(
        &ds, out,
        "INSERT INTO dlq (id, channel, group_name, msg_offset, reason, deliveries, replays, "
        "published_at, first_delivery_at, last_delivery_at, dead_at, payload, payload_bytes) "
        "SELECT * FROM ", dlq_types, " ON CONFLICT (id) DO NOTHING");
    pg_columns_free(&ds);
    /* Entries the DLQ let go of when it was full. */
    if (n > 0) {
        buf_printf(out, "DELETE FROM dlq WHERE id < %llu", (unsigned long long)dlq_at(q, 0)->id);
        buf_appendc(out, '\0');
        (*count)++;
    }
    buf_printf(out, "INSERT INTO orderd_meta VALUES ('dlq_next_id',%llu) ON CONFLICT (key) DO "
               "UPDATE SET value = excluded.value", (unsigned long long)dlq_next_id(q));
    buf_appendc(out, '\0');
    (*count)++;
}

size_t pg_changes_build(struct pg_changes *c, struct buf *out)
{
    size_t count = 0;
    build_orders(c, out, &count);
    if (c->t->channels) {
        build_channels(c, out, &count);
        build_groups(c, out, &count);
    }
    build_dlq(c, out, &count);
    build_sagas(c, out, &count);
    build_sim(c, out, &count);
    reset(c);
    return count;
}
