/* Recovery from the PostgreSQL store (see pg_load.h). */
#include "pg_load.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels/channel.h"
#include "channels/dlq.h"
#include "orders/book.h"
#include "orders/order.h"
#include "persist.h"
#include "saga/engine.h"
#include "saga/sim.h"

/* A time column read back as milliseconds (0 for NULL). */
#define MS(col) "coalesce((extract(epoch from " col ") * 1000)::bigint, 0)"

struct rows {
    PGresult *r;
    int n;
};

static int query(PGconn *c, const char *sql, struct rows *out, char *err, size_t errlen)
{
    out->r = PQexec(c, sql);
    if (PQresultStatus(out->r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "loading: %s", PQresultErrorMessage(out->r));
        size_t n = strlen(err);
        while (n > 0 && err[n - 1] == '\n')
            err[--n] = '\0';
        PQclear(out->r);
        out->r = NULL;
        return -1;
    }
    out->n = PQntuples(out->r);
    return 0;
}

static const char *str(const struct rows *r, int row, int col)
{
    return PQgetisnull(r->r, row, col) ? NULL : PQgetvalue(r->r, row, col);
}

static int64_t num(const struct rows *r, int row, int col)
{
    return PQgetisnull(r->r, row, col) ? 0 : strtoll(PQgetvalue(r->r, row, col), NULL, 10);
}

static uint64_t unum(const struct rows *r, int row, int col)
{
    return PQgetisnull(r->r, row, col) ? 0 : strtoull(PQgetvalue(r->r, row, col), NULL, 10);
}

/* A payload from its two columns (text, bytes): malloc'd, *len set. */
static char *payload(const struct rows *r, int row, int col, size_t *len)
{
    if (!PQgetisnull(r->r, row, col)) {
        *len = (size_t)PQgetlength(r->r, row, col);
        char *p = malloc(*len + 1);
        memcpy(p, PQgetvalue(r->r, row, col), *len + 1);
        return p;
    }
    unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r->r, row, col + 1),
                                       len);
    char *p = malloc(*len + 1);
    memcpy(p, b ? (char *)b : "", *len);
    p[*len] = '\0';
    PQfreemem(b);
    return p;
}

static int status_of(const char *name)
{
    return name ? order_status_parse(name) : -1;
}

#define ORDER_COLUMNS \
    "id, customer, item, qty, amount_minor, currency, idempotency_key, " MS("created_at")
#define HISTORY_COLUMNS "h.order_id, h.status, " MS("h.at") ", h.source, h.note"
#define LIVE "status NOT IN ('DELIVERED', 'FAILED', 'CANCELLED')"

/* Order i of o, with its moves from h (rows from *hi on, by order then
 * seq), restored (recovery) or reloaded (an order that left memory). */
static int order_from_rows(struct persist_target *t, const struct rows *o, int i,
                           const struct rows *h, int *hi, bool reload)
{
    struct order_fields f = {.customer = str(o, i, 1), .item = str(o, i, 2),
                             .qty = num(o, i, 3), .amount = num(o, i, 4), .key = str(o, i, 6)};
    snprintf(f.currency, sizeof f.currency, "%s", str(o, i, 5));
    struct order_event ev = {.type = ORDER_EV_CREATED, .id = unum(o, i, 0),
                             .time_ms = num(o, i, 7), .fields = &f};
    if (f.customer == NULL || f.item == NULL)
        return -1;
    while (*hi < h->n && unum(h, *hi, 0) < ev.id)
        (*hi)++;
    int first = *hi;
    while (*hi < h->n && unum(h, *hi, 0) == ev.id)
        (*hi)++;
    size_t nmoves = (size_t)(*hi - first);
    struct order_event *moves = calloc(nmoves ? nmoves : 1, sizeof *moves);
    int rc = 0;
    for (size_t k = 0; k < nmoves && rc == 0; k++) {
        int row = first + (int)k;
        int to = status_of(str(h, row, 1));
        moves[k] = (struct order_event){.type = ORDER_EV_TRANSITION, .id = ev.id,
                                        .time_ms = num(h, row, 2), .source = str(h, row, 3),
                                        .note = str(h, row, 4),
                                        .to = to < 0 ? ORDER_PENDING : (enum order_status)to};
        if (to < 0 || moves[k].source == NULL)
            rc = -1;
    }
    if (rc == 0 && reload) {
        rc = book_reload(t->book, &ev, moves, nmoves) == BOOK_OK ? 0 : -1;
    } else if (rc == 0) {
        rc = book_restore(t->book, &ev) == BOOK_OK ? 0 : -1;
        for (size_t k = 0; k < nmoves && rc == 0; k++)
            rc = book_restore(t->book, &moves[k]) == BOOK_OK ? 0 : -1;
        t->order_events += 1 + nmoves;
    }
    free(moves);
    return rc;
}

/* Every order is known (LIST, the counts, idempotency keys); only those
 * not finished are loaded whole. */
static int load_orders(PGconn *c, struct persist_target *t, char *err, size_t errlen)
{
    struct rows all, o, h;
    if (query(c, "SELECT id, customer, status, idempotency_key FROM orders ORDER BY id", &all,
              err, errlen) != 0)
        return -1;
    if (query(c, "SELECT " ORDER_COLUMNS " FROM orders WHERE " LIVE " ORDER BY id", &o, err,
              errlen) != 0) {
        PQclear(all.r);
        return -1;
    }
    if (query(c, "SELECT " HISTORY_COLUMNS " FROM order_history h JOIN orders o ON o.id = "
                 "h.order_id WHERE o." LIVE " AND h.seq > 0 ORDER BY h.order_id, h.seq",
              &h, err, errlen) != 0) {
        PQclear(all.r);
        PQclear(o.r);
        return -1;
    }
    int rc = 0, oi = 0, hi = 0;
    for (int i = 0; i < all.n && rc == 0; i++) {
        uint64_t id = unum(&all, i, 0);
        if (oi < o.n && unum(&o, oi, 0) == id) {
            rc = order_from_rows(t, &o, oi++, &h, &hi, false);
        } else {
            int status = status_of(str(&all, i, 2));
            rc = status < 0 || str(&all, i, 1) == NULL ||
                 book_restore_absent(t->book, id, str(&all, i, 1), (enum order_status)status,
                                     str(&all, i, 3)) != BOOK_OK ? -1 : 0;
            t->order_events += 1;
        }
        if (rc != 0)
            snprintf(err, errlen, "loading: order %llu does not fit (after order %llu)",
                     (unsigned long long)id, (unsigned long long)book_last_id(t->book));
    }
    PQclear(all.r);
    PQclear(o.r);
    PQclear(h.r);
    if (rc != 0)
        return -1;
    /* Order events are numbered from the first: those of orders not
     * loaded count too, so numbers go on where they stopped. */
    struct rows n;
    if (query(c, "SELECT count(*) FROM order_history", &n, err, errlen) != 0)
        return -1;
    t->order_events = unum(&n, 0, 0);
    PQclear(n.r);
    return 0;
}

void pg_load_orders_sql(struct buf *sql, const uint64_t *ids, size_t n)
{
    struct buf set;
    buf_init(&set);
    buf_appends(&set, "'{");
    for (size_t i = 0; i < n; i++)
        buf_printf(&set, "%s%llu", i ? "," : "", (unsigned long long)ids[i]);
    buf_appends(&set, "}'::bigint[]");
    buf_appendc(&set, '\0');
    const char *in = buf_head(&set);
    buf_printf(sql, "SELECT " ORDER_COLUMNS " FROM orders WHERE id = ANY(%s) ORDER BY id", in);
    buf_appendc(sql, '\0');
    buf_printf(sql, "SELECT " HISTORY_COLUMNS " FROM order_history h WHERE h.order_id = ANY(%s) "
               "AND h.seq > 0 ORDER BY h.order_id, h.seq", in);
    buf_appendc(sql, '\0');
    buf_printf(sql, "SELECT order_id, packed FROM sagas WHERE order_id = ANY(%s)", in);
    buf_appendc(sql, '\0');
    buf_free(&set);
}

static int restore_saga(struct engine *e, uint64_t order, const char *hex, char *err,
                        size_t errlen)
{
    size_t n;
    unsigned char *b = PQunescapeBytea((const unsigned char *)hex, &n);
    int rc = b == NULL || engine_restore_packed(e, order, b, n) != 0 ? -1 : 0;
    PQfreemem(b);
    if (rc != 0)
        snprintf(err, errlen, "loading: the saga of order %llu is not a packed saga",
                 (unsigned long long)order);
    return rc;
}

int pg_load_orders(struct persist_target *t, PGresult *orders, PGresult *history,
                   PGresult *sagas)
{
    struct rows o = {orders, PQntuples(orders)}, h = {history, PQntuples(history)};
    struct rows s = {sagas, PQntuples(sagas)};
    int rc = 0, hi = 0;
    for (int i = 0; i < o.n && rc == 0; i++)
        rc = order_from_rows(t, &o, i, &h, &hi, true);
    char err[200];
    for (int i = 0; i < s.n && rc == 0 && t->engine; i++)
        if (engine_saga(t->engine, unum(&s, i, 0)) == NULL)
            rc = restore_saga(t->engine, unum(&s, i, 0), PQgetvalue(sagas, i, 1), err,
                              sizeof err);
    return rc;
}

static int apply(struct chan_registry *r, const struct chan_change *ch, char *err, size_t errlen)
{
    if (chreg_apply(r, ch) == 0)
        return 0;
    snprintf(err, errlen, "loading: channel %s does not take its rows (change %d, offset %llu)",
             ch->channel, (int)ch->type, (unsigned long long)ch->offset);
    return -1;
}

static int pending_state_of(const char *name)
{
    for (int s = PENDING_INFLIGHT; s <= PENDING_READY; s++)
        if (name && strcmp(name, pending_state_name((enum pending_state)s)) == 0)
            return s;
    return -1;
}

static int load_groups(PGconn *c, struct chan_registry *r, char *err, size_t errlen)
{
    struct rows g, p;
    if (query(c, "SELECT channel, group_name, next_offset, settled_ahead::text "
                 "FROM channel_groups ORDER BY channel, created", &g, err, errlen) != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < g.n && rc == 0; i++) {
        struct chan_change ch = {.type = CHG_GROUP, .channel = str(&g, i, 0),
                                 .group = str(&g, i, 1), .offset = unum(&g, i, 2)};
        rc = apply(r, &ch, err, errlen);
        /* settled_ahead as text: {1,2,3} */
        const char *s = str(&g, i, 3);
        for (s = s ? s + 1 : ""; rc == 0 && *s >= '0' && *s <= '9';) {
            char *end;
            ch.type = CHG_SETTLE;
            ch.offset = strtoull(s, &end, 10);
            rc = apply(r, &ch, err, errlen);
            s = *end == ',' ? end + 1 : end;
        }
    }
    PQclear(g.r);
    if (rc != 0)
        return -1;
    if (query(c, "SELECT channel, group_name, msg_offset, consumer, state, deliveries, "
                 "replays, reason, " MS("published_at") ", " MS("first_delivery_at") ", "
                 MS("last_delivery_at") ", " MS("due_at") ", payload, payload_bytes "
                 "FROM channel_pending ORDER BY channel, group_name, msg_offset",
              &p, err, errlen) != 0)
        return -1;
    for (int i = 0; i < p.n && rc == 0; i++) {
        size_t len;
        char *bytes = payload(&p, i, 12, &len);
        struct chan_change ch = {
            .type = CHG_PENDING, .channel = str(&p, i, 0), .group = str(&p, i, 1),
            .offset = unum(&p, i, 2), .consumer = str(&p, i, 3),
            .state = pending_state_of(str(&p, i, 4)),
            .deliveries = (uint32_t)unum(&p, i, 5), .replays = (uint32_t)unum(&p, i, 6),
            .reason = str(&p, i, 7), .time_ms = num(&p, i, 8), .first_ms = num(&p, i, 9),
            .last_ms = num(&p, i, 10), .due_ms = num(&p, i, 11), .payload = bytes, .len = len};
        rc = ch.state < 0 ? -1 : apply(r, &ch, err, errlen);
        free(bytes);
    }
    PQclear(p.r);
    return rc;
}

static int load_channels(PGconn *c, struct chan_registry *r, char *err, size_t errlen)
{
    struct rows ch, m;
    if (query(c, "SELECT name, maxlen, maxage_ms, ackwait_ms, maxdeliver, backoff_ms, "
                 "backoff_max_ms, maxpending, maxbytes, first_offset FROM channels ORDER BY name",
              &ch, err, errlen) != 0)
        return -1;
    if (query(c, "SELECT m.channel, m.msg_offset, " MS("m.published_at") ", m.payload, "
                 "m.payload_bytes FROM channel_messages m JOIN channels c ON c.name = m.channel "
                 "WHERE m.msg_offset >= c.first_offset ORDER BY m.channel, m.msg_offset",
              &m, err, errlen) != 0) {
        PQclear(ch.r);
        return -1;
    }
    int rc = 0, mi = 0;
    for (int i = 0; i < ch.n && rc == 0; i++) {
        const char *name = str(&ch, i, 0);
        struct chan_settings s = {
            .maxlen = unum(&ch, i, 1), .maxage_ms = num(&ch, i, 2), .ackwait_ms = num(&ch, i, 3),
            .maxdeliver = (uint32_t)unum(&ch, i, 4), .backoff_ms = num(&ch, i, 5),
            .backoff_max_ms = num(&ch, i, 6), .maxpending = unum(&ch, i, 7),
            .maxbytes = unum(&ch, i, 8)};
        struct chan_change d = {.type = CHG_DECLARE, .channel = name, .settings = &s};
        struct chan_change off = {.type = CHG_OFFSETS, .channel = name, .offset = unum(&ch, i, 9)};
        if (apply(r, &d, err, errlen) != 0 || apply(r, &off, err, errlen) != 0) {
            rc = -1;
            break;
        }
        for (; rc == 0 && mi < m.n && strcmp(str(&m, mi, 0), name) == 0; mi++) {
            size_t len;
            char *bytes = payload(&m, mi, 3, &len);
            struct chan_change a = {.type = CHG_APPEND, .channel = name,
                                    .offset = unum(&m, mi, 1), .time_ms = num(&m, mi, 2),
                                    .payload = bytes, .len = len};
            rc = apply(r, &a, err, errlen);
            free(bytes);
        }
    }
    PQclear(ch.r);
    PQclear(m.r);
    return rc == 0 ? load_groups(c, r, err, errlen) : -1;
}

static int load_dlq(PGconn *c, struct dlq *q, char *err, size_t errlen)
{
    struct rows d, meta;
    if (query(c, "SELECT id, channel, group_name, msg_offset, reason, deliveries, replays, "
                 MS("published_at") ", " MS("first_delivery_at") ", " MS("last_delivery_at")
                 ", " MS("dead_at") ", payload, payload_bytes FROM dlq ORDER BY id",
              &d, err, errlen) != 0)
        return -1;
    for (int i = 0; i < d.n; i++) {
        size_t len;
        char *bytes = payload(&d, i, 11, &len);
        struct dlq_entry e = {
            .id = unum(&d, i, 0), .channel = (char *)str(&d, i, 1),
            .group = (char *)str(&d, i, 2), .offset = unum(&d, i, 3),
            .reason = (char *)str(&d, i, 4), .deliveries = (uint32_t)unum(&d, i, 5),
            .replays = (uint32_t)unum(&d, i, 6), .msg_time_ms = num(&d, i, 7),
            .first_ms = num(&d, i, 8), .last_ms = num(&d, i, 9), .dead_ms = num(&d, i, 10),
            .payload = bytes, .len = len};
        dlq_restore(q, &e);
        free(bytes);
    }
    PQclear(d.r);
    if (query(c, "SELECT value FROM orderd_meta WHERE key = 'dlq_next_id'", &meta, err,
              errlen) != 0)
        return -1;
    if (meta.n == 1 && unum(&meta, 0, 0) > dlq_next_id(q))
        dlq_set_next_id(q, unum(&meta, 0, 0));
    PQclear(meta.r);
    return 0;
}

/* Sagas still running, and those of orders still live. */
static int load_sagas(PGconn *c, struct engine *e, char *err, size_t errlen)
{
    struct rows s;
    if (query(c, "SELECT s.order_id, s.packed FROM sagas s JOIN orders o ON o.id = s.order_id "
                 "WHERE NOT s.finished OR o." LIVE " ORDER BY s.order_id", &s, err, errlen) != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < s.n && rc == 0; i++)
        rc = restore_saga(e, unum(&s, i, 0), PQgetvalue(s.r, i, 1), err, errlen);
    PQclear(s.r);
    return rc;
}

static int load_sim(PGconn *c, struct sim *sim, char *err, size_t errlen)
{
    static const struct {
        int type;
        const char *sql;
    } parts[] = {
        {SIMREC_STOCK_DEFAULT, "SELECT 'default', value FROM orderd_meta WHERE key = 'stock_default'"},
        {SIMREC_STOCK, "SELECT sku, level FROM stock"},
        {SIMREC_BLOCK, "SELECT customer, 1 FROM customers WHERE blocked"},
        {SIMREC_RESERVATION, "SELECT order_id, qty FROM reservations"},
        {SIMREC_CHARGE, "SELECT order_id, amount_minor FROM charges"},
    };
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
        struct rows r;
        if (query(c, parts[p].sql, &r, err, errlen) != 0)
            return -1;
        int rc = 0;
        for (int i = 0; i < r.n && rc == 0; i++)
            rc = sim_apply(sim, (enum sim_record)parts[p].type, str(&r, i, 0), num(&r, i, 1));
        PQclear(r.r);
        if (rc != 0) {
            snprintf(err, errlen, "loading: the participants' state does not fit");
            return -1;
        }
    }
    return 0;
}

int pg_load(PGconn *c, struct persist_target *t, char *err, size_t errlen)
{
    /* One snapshot of every table. */
    PQclear(PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    int rc = load_orders(c, t, err, errlen);
    if (rc == 0 && t->channels)
        rc = load_channels(c, t->channels, err, errlen);
    if (rc == 0 && t->dlq)
        rc = load_dlq(c, t->dlq, err, errlen);
    if (rc == 0 && t->engine)
        rc = load_sagas(c, t->engine, err, errlen);
    if (rc == 0 && t->sim)
        rc = load_sim(c, t->sim, err, errlen);
    PQclear(PQexec(c, "COMMIT"));
    if (rc == 0)
        persist_recovered(t);
    return rc;
}
