/* The PostgreSQL back-end (see pg_store.h). */
#include "pg_store.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "buf.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "orders/book.h"
#include "persist.h"
#include "pg_batch.h"
#include "pg_conn.h"
#include "pg_load.h"
#include "pg_schema.h"
#include "saga/saga.h"
#include "xalloc.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define RENEW_MS_MAX 1000       /* the lease is renewed (or asked for) this often, or
                                   three times a lease when that is shorter */
#define CONNECT_MS_MIN 5000     /* connecting longer than this and the lease: given up */
#define TICK_MS 100
#define CLOSE_WAIT_MS 10000     /* at close: how long to wait for the last batch */
#define LOST_LEASE_STATE "OD001"
#define DONE_BATCH_STATE "OD002"   /* this batch, or a later one, committed already */

/* What the request on the write connection is. */
enum flight { FLIGHT_NONE, FLIGHT_BATCH, FLIGHT_SETTLE, FLIGHT_LEASE, FLIGHT_RELEASE };

struct pg_store {
    struct store *store;
    struct event_base *base;
    struct persist_target *t;
    char *conninfo;
    char *node;
    int64_t lease_ms, timeout_ms;
    struct pg_changes *changes;
    uint64_t recorded;            /* positions: changes noted */

    struct pg_conn *w;            /* batches and the lease, one request at a time */
    struct pg_conn *r;            /* loading orders that left memory */
    struct event *tick;
    int64_t backoff_ms, retry_at_ms;
    int64_t r_retry_at_ms, r_backoff_ms;
    bool r_up;
    int64_t renew_ms;
    char appname[64];             /* the writer's application_name */
    int batch_backend;            /* the server process the batch went to, 0 if none */

    int64_t epoch;                /* the lease held; 0 while standing by */
    char holder[160];             /* who holds it, while we do not */
    bool fenced;
    bool failed;                  /* the database refused a batch: nothing more is sent */
    bool closing;                 /* nothing more is sent but what close sends */

    /* The batch: built, and not yet known to be committed. */
    struct buf batch;             /* NUL-terminated statements */
    size_t nstatements;
    bool built;
    bool unsettled;               /* sent, and the connection went before its answer */
    bool resending;               /* being sent again, settled as not committed */
    uint64_t batch_id;
    uint64_t batch_end;           /* the positions it makes durable */
    enum flight flight;
    int64_t sent_ms;              /* monotonic: the request in flight went out */
    int64_t asked_ms;             /* monotonic: the lease was last asked for */
    int64_t committed_ms;         /* monotonic: the last commit (renews the lease) */

    bool refusing;
    char why[300];
    const char *code;             /* "UNAVAILABLE" or "READONLY" while refusing */

    struct load *queued, *queued_tail;  /* loads waiting for the reader to connect */

    uint64_t commits, reconnects, loads, load_errors;
    int64_t recovery_ms;
    uint64_t recovered;           /* orders and moves applied at the last load */
};

static void send_next(struct pg_store *p);
static void expire_loads(struct pg_store *p, int64_t now);

/* --- refusing and reporting ---------------------------------------------- */

static void refuse(struct pg_store *p, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refuse(struct pg_store *p, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof p->why, fmt, ap);
    va_end(ap);
    p->code = code;
    p->refusing = true;
    store_report_writable(p->store, p->why);
}

static void accept_writes(struct pg_store *p)
{
    if (!p->refusing)
        return;
    p->refusing = false;
    p->code = NULL;
    store_report_writable(p->store, NULL);
}

/* --- the write connection ------------------------------------------------ */

static void w_up(void *ctx)
{
    struct pg_store *p = ctx;
    p->backoff_ms = BACKOFF_MIN_MS;
    p->reconnects++;
    log_event("info", "event=pg_up");
    send_next(p);
}

static void w_down(void *ctx, const char *why)
{
    struct pg_store *p = ctx;
    if (p->flight == FLIGHT_BATCH)
        p->unsettled = true;
    p->flight = FLIGHT_NONE;
    p->retry_at_ms = clock_mono_ms() + p->backoff_ms;
    p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
    log_event("error", "event=pg_down reason=\"%s\"", why);
    if (p->epoch > 0 && !p->fenced)
        refuse(p, "UNAVAILABLE", "the database is unreachable (%s); reconnecting", why);
}

static void on_answer(void *arg, const struct pg_reply *r);

static bool send_sql(struct pg_store *p, enum flight f, const char *sql, size_t n)
{
    p->flight = f;
    p->sent_ms = clock_mono_ms();
    if (pg_conn_send(p->w, sql, n, on_answer, p))
        return true;
    p->flight = FLIGHT_NONE;
    return false;
}

/* The fence comes last, just before COMMIT: it renews the lease and
 * records the batch number, and fails unless this node still holds the
 * lease and no batch of this number or later has committed. Last, so the
 * lease row is locked only while committing: a transaction whose client
 * died mid-send holds no lock a standby needs. */
static void send_batch(struct pg_store *p)
{
    struct buf sql;
    buf_init(&sql);
    buf_appends(&sql, "BEGIN");
    buf_appendc(&sql, '\0');
    buf_append(&sql, buf_head(&p->batch), buf_used(&p->batch));
    buf_printf(&sql, "SELECT orderd_commit(%lld, %llu, %lld)", (long long)p->epoch,
               (unsigned long long)p->batch_id, (long long)p->lease_ms);
    buf_appendc(&sql, '\0');
    buf_appends(&sql, "COMMIT");
    buf_appendc(&sql, '\0');
    if (send_sql(p, FLIGHT_BATCH, buf_head(&sql), p->nstatements + 3))
        p->batch_backend = pg_conn_backend(p->w);
    buf_free(&sql);
}

/* After the connection went with a batch unanswered: did it commit? The
 * lease row is locked first, so a transaction of ours still running holds
 * this until it ends; its backend is told to stop first. */
static void send_settle(struct pg_store *p)
{
    struct buf sql;
    buf_init(&sql);
    size_t n = 3;
    /* It must be ours (named so) and not this very connection: its
     * number may have been given again since. */
    if (p->batch_backend) {
        buf_printf(&sql, "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                   "WHERE pid = %d AND pid <> pg_backend_pid() AND application_name = '%s'",
                   p->batch_backend, p->appname);
        buf_appendc(&sql, '\0');
        n++;
    }
    buf_appends(&sql, "BEGIN");
    buf_appendc(&sql, '\0');
    buf_appends(&sql, "SELECT epoch, last_batch, holder FROM orderd_lease WHERE id = 1 FOR UPDATE");
    buf_appendc(&sql, '\0');
    buf_appends(&sql, "COMMIT");
    buf_appendc(&sql, '\0');
    send_sql(p, FLIGHT_SETTLE, buf_head(&sql), n);
    buf_free(&sql);
}

/* The lease's statement: take it if it has expired, or if this node's
 * name holds it (the same node started again: if its old self still runs,
 * the new epoch fences it), and say who holds it. */
static void lease_sql(struct buf *sql, const char *node, int64_t lease_ms)
{
    struct buf name;
    buf_init(&name);
    pg_lit_text(&name, node, strlen(node));
    buf_appendc(&name, '\0');
    const char *lit = buf_head(&name);
    buf_printf(sql,
               "WITH took AS (UPDATE orderd_lease SET holder = %s, epoch = epoch + 1, "
               "last_batch = 0, expires_at = clock_timestamp() + %lld * interval '1 millisecond' "
               "WHERE id = 1 AND (expires_at < clock_timestamp() OR holder = %s) "
               "RETURNING epoch, holder) "
               "SELECT epoch, holder, true FROM took UNION ALL "
               "SELECT epoch, holder, false FROM orderd_lease "
               "WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM took)",
               lit, (long long)lease_ms, lit);
    buf_appendc(sql, '\0');
    buf_free(&name);
}

static void send_lease(struct pg_store *p)
{
    struct buf sql;
    buf_init(&sql);
    lease_sql(&sql, p->node, p->lease_ms);
    p->asked_ms = clock_mono_ms();
    send_sql(p, FLIGHT_LEASE, buf_head(&sql), 1);
    buf_free(&sql);
}

/* What to send next, if anything, when nothing is in flight. */
static void send_next(struct pg_store *p)
{
    if (!pg_conn_ready(p->w) || p->flight != FLIGHT_NONE || p->fenced || p->failed ||
        p->closing)
        return;
    if (p->epoch == 0) {
        if (clock_mono_ms() - p->asked_ms >= p->renew_ms)
            send_lease(p);
        return;
    }
    if (p->unsettled) {
        send_settle(p);
        return;
    }
    bool renew = clock_mono_ms() - p->committed_ms >= p->renew_ms;
    if (!p->built && (!pg_changes_empty(p->changes) || renew || p->refusing)) {
        buf_clear(&p->batch);
        p->nstatements = pg_changes_build(p->changes, &p->batch);
        p->batch_id++;
        p->batch_end = p->recorded;
        p->built = true;
    }
    if (p->built)
        send_batch(p);
}

/* --- answers -------------------------------------------------------------- */

static void fenced(struct pg_store *p, const char *holder, long long epoch)
{
    p->fenced = true;
    char why[300];
    snprintf(why, sizeof why, "the lease was taken by %s (epoch %lld) while this node held "
             "epoch %lld: it writes nothing more", holder, epoch, (long long)p->epoch);
    refuse(p, "READONLY", "%s", why);
    /* What this node holds in memory and has not committed is not the
     * system of record's: nobody may be told it is done. */
    store_report_fatal(p->store, why);
}

static void batch_committed(struct pg_store *p)
{
    p->built = false;
    p->unsettled = false;
    p->resending = false;
    p->batch_backend = 0;
    p->commits++;
    p->committed_ms = clock_mono_ms();
    accept_writes(p);
    store_report_durable(p->store, p->batch_end);
}

static void took_over(struct pg_store *p, long long epoch);

static void settled(struct pg_store *p, const PGresult *row)
{
    long long epoch = strtoll(PQgetvalue(row, 0, 0), NULL, 10);
    unsigned long long done = strtoull(PQgetvalue(row, 0, 1), NULL, 10);
    if (epoch != p->epoch) {
        fenced(p, PQgetvalue(row, 0, 2), epoch);
        return;
    }
    p->unsettled = false;
    bool committed = done >= p->batch_id;
    p->resending = !committed;
    log_event("info", "event=pg_batch_settled batch=%llu outcome=%s",
              (unsigned long long)p->batch_id, committed ? "committed" : "resend");
    if (committed)
        batch_committed(p);
}

static void on_answer(void *arg, const struct pg_reply *r)
{
    struct pg_store *p = arg;
    enum flight f = p->flight;
    p->flight = FLIGHT_NONE;
    if (r->lost) {
        if (f == FLIGHT_BATCH)
            p->unsettled = true;
        return;  /* w_down follows */
    }
    if (r->error) {
        if (strcmp(r->sqlstate, LOST_LEASE_STATE) == 0) {
            fenced(p, "another node", p->epoch + 1);
            return;
        }
        /* Sent again after all, and it had committed: it is durable. */
        if (f == FLIGHT_BATCH && strcmp(r->sqlstate, DONE_BATCH_STATE) == 0) {
            log_event("info", "event=pg_batch_settled batch=%llu outcome=committed_before",
                      (unsigned long long)p->batch_id);
            batch_committed(p);
            send_next(p);
            return;
        }
        /* No SQLSTATE: libpq's own trouble (memory), after which the
         * outcome is not known; or a copy sent again finding its own rows
         * (unique_violation): the first did commit after all, which the
         * lease row says. Settled on a new connection. */
        if (r->sqlstate[0] == '\0' ||
            (f == FLIGHT_BATCH && p->resending && strcmp(r->sqlstate, "23505") == 0)) {
            if (f == FLIGHT_BATCH)
                p->unsettled = true;
            pg_conn_drop(p->w, r->error);
            return;
        }
        /* Connection, resources, operator, serialization: try again on a
         * new connection. The outcome is known: it did not commit. */
        static const char *const transient[] = {"08", "53", "57", "58", "40", "55"};
        for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++) {
            if (strncmp(r->sqlstate, transient[i], 2) == 0) {
                pg_conn_drop(p->w, r->error);
                return;
            }
        }
        char why[400];
        snprintf(why, sizeof why, "the database refused a batch: %s", r->error);
        p->failed = true;
        refuse(p, "UNAVAILABLE", "%s", why);
        store_report_fatal(p->store, why);
        return;
    }
    const PGresult *row = r->nrows > 0 && PQntuples(r->rows[r->nrows - 1]) == 1
                              ? r->rows[r->nrows - 1] : NULL;
    if (f == FLIGHT_BATCH) {
        batch_committed(p);
    } else if (f == FLIGHT_SETTLE) {
        if (row == NULL) {
            p->failed = true;
            store_report_fatal(p->store, "the lease row (orderd_lease, id 1) is gone");
            return;
        }
        settled(p, row);
        if (p->fenced)
            return;
    } else if (f == FLIGHT_LEASE && row) {
        if (strcmp(PQgetvalue(row, 0, 2), "t") == 0) {
            took_over(p, strtoll(PQgetvalue(row, 0, 0), NULL, 10));
            return;
        }
        snprintf(p->holder, sizeof p->holder, "%s", PQgetvalue(row, 0, 1));
        refuse(p, "READONLY", "this node is a standby: %s holds the lease (epoch %s)",
               p->holder[0] ? p->holder : "nobody", PQgetvalue(row, 0, 0));
    }
    send_next(p);
}

/* --- take-over ------------------------------------------------------------ */

static PGconn *connect_blocking(const char *conninfo, char *err, size_t errlen);

static int load_blocking(struct pg_store *p, char *err, size_t errlen)
{
    PGconn *c = connect_blocking(p->conninfo, err, errlen);
    if (c == NULL)
        return -1;
    int64_t start = clock_mono_ms();
    uint64_t before = p->t->order_events;
    int rc = pg_load(c, p->t, err, errlen);
    p->recovery_ms = clock_mono_ms() - start;
    p->recovered = p->t->order_events - before;
    PQfinish(c);
    return rc;
}

static void took_over(struct pg_store *p, long long epoch)
{
    char err[300];
    log_event("info", "event=lease_taken epoch=%lld node=\"%s\" previous=\"%s\"", epoch, p->node,
              p->holder);
    /* Loading blocks the loop: a standby serves no writes meanwhile. */
    if (load_blocking(p, err, sizeof err) != 0) {
        store_report_fatal(p->store, err);
        return;
    }
    p->epoch = epoch;
    p->batch_id = 0;
    p->committed_ms = 0;  /* renew at once: loading took time */
    p->holder[0] = '\0';
    pg_changes_free(p->changes);
    p->changes = pg_changes_new(p->t);
    store_report_active(p->store);
    /* Writable once the first batch, the renewal, commits. */
    send_next(p);
}

/* --- the tick -------------------------------------------------------------- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct pg_store *p = arg;
    (void)fd;
    (void)what;
    int64_t now = clock_mono_ms();
    if (p->fenced)
        return;
    /* Past the lease, a connection that has not connected, or not
     * answered, is not coming back. */
    int64_t give_up = p->lease_ms + p->timeout_ms;
    struct pg_conn *both[2] = {p->w, p->r};
    for (int i = 0; i < 2; i++) {
        int64_t since = pg_conn_connecting_since(both[i]);
        if (since && now - since > (give_up > CONNECT_MS_MIN ? give_up : CONNECT_MS_MIN))
            pg_conn_drop(both[i], "connecting took too long");
    }
    int64_t oldest = pg_conn_oldest_ms(p->r);
    if (oldest && now - oldest > give_up)
        pg_conn_drop(p->r, "the database stopped answering reads");
    if (pg_conn_down(p->w) && now >= p->retry_at_ms)
        pg_conn_connect(p->w);
    if (pg_conn_down(p->r) && now >= p->r_retry_at_ms)
        pg_conn_connect(p->r);
    expire_loads(p, now);
    if (!pg_conn_ready(p->w))
        return;
    if (p->flight != FLIGHT_NONE) {
        int64_t waited = now - p->sent_ms;
        if (p->flight == FLIGHT_BATCH && waited > p->timeout_ms && !p->refusing)
            refuse(p, "UNAVAILABLE", "the database has not committed for %lld ms",
                   (long long)waited);
        if (waited > give_up)
            pg_conn_drop(p->w, "the database stopped answering");
        return;
    }
    send_next(p);
}

/* --- loading what left memory -------------------------------------------- */

struct load {
    struct pg_store *p;
    void (*done)(void *arg, bool ok);
    void *arg;
    struct buf sql;
    int64_t asked_ms;             /* monotonic */
    struct load *next;            /* queued */
};

static void loaded(void *arg, const struct pg_reply *r);

static void send_load(struct pg_store *p, struct load *l)
{
    if (!pg_conn_send(p->r, buf_head(&l->sql), 3, loaded, l)) {
        struct pg_reply lost = {.lost = true};
        loaded(l, &lost);
    }
}

static void r_up(void *ctx)
{
    struct pg_store *p = ctx;
    p->r_up = true;
    p->r_backoff_ms = BACKOFF_MIN_MS;
    while (p->queued && pg_conn_ready(p->r)) {
        struct load *l = p->queued;
        p->queued = l->next;
        send_load(p, l);
    }
    if (p->queued == NULL)
        p->queued_tail = NULL;
}

static void r_down(void *ctx, const char *why)
{
    struct pg_store *p = ctx;
    p->r_retry_at_ms = clock_mono_ms() + p->r_backoff_ms;
    p->r_backoff_ms = p->r_backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->r_backoff_ms * 2;
    if (p->r_up)
        log_event("warn", "event=pg_reader_down reason=\"%s\"", why);
    p->r_up = false;
}

/* Loads that waited for the reader longer than the timeout fail. */
static void expire_loads(struct pg_store *p, int64_t now)
{
    while (p->queued && now - p->queued->asked_ms >= p->timeout_ms) {
        struct load *l = p->queued;
        p->queued = l->next;
        if (p->queued == NULL)
            p->queued_tail = NULL;
        struct pg_reply lost = {.lost = true};
        loaded(l, &lost);
    }
}

static void loaded(void *arg, const struct pg_reply *r)
{
    struct load *l = arg;
    bool ok = !r->lost && r->error == NULL && r->nrows == 3 &&
              pg_load_orders(l->p->t, r->rows[0], r->rows[1], r->rows[2]) == 0;
    if (!ok) {
        l->p->load_errors++;
        log_event("warn", "event=pg_load_failed reason=\"%s\"",
                  r->lost ? "the connection was lost" : r->error ? r->error : "bad rows");
    }
    l->done(l->arg, ok);
    buf_free(&l->sql);
    free(l);
}

static void op_load(void *be, const uint64_t *ids, size_t n, void (*done)(void *arg, bool ok),
                    void *arg)
{
    struct pg_store *p = be;
    struct load *l = xcalloc(1, sizeof *l);
    l->p = p;
    l->done = done;
    l->arg = arg;
    l->asked_ms = clock_mono_ms();
    buf_init(&l->sql);
    pg_load_orders_sql(&l->sql, ids, n);
    p->loads++;
    if (pg_conn_ready(p->r) && pg_conn_send(p->r, buf_head(&l->sql), 3, loaded, l))
        return;
    /* Sent when the reader is connected; failed if it is not by the
     * timeout. Never answered from here. */
    if (p->queued_tail)
        p->queued_tail->next = l;
    else
        p->queued = l;
    p->queued_tail = l;
    if (pg_conn_down(p->r))
        pg_conn_connect(p->r);
}

/* --- the store's operations -------------------------------------------- */

static void op_order(void *be, const struct order_event *ev)
{
    struct pg_store *p = be;
    pg_changes_order(p->changes, ev);
    p->recorded++;
}

static void op_change(void *be, const struct chan_change *c)
{
    struct pg_store *p = be;
    pg_changes_channel(p->changes, c);
    p->recorded++;
}

static void op_saga(void *be, const struct saga *sg, const struct tracking *t)
{
    struct pg_store *p = be;
    (void)t;
    pg_changes_saga(p->changes, sg->order);
    p->recorded++;
}

static void op_sim(void *be, int type, const char *key, int64_t value)
{
    struct pg_store *p = be;
    pg_changes_sim(p->changes, type, key, value);
    p->recorded++;
}

static void op_commit(void *be)
{
    send_next(be);
}

static uint64_t op_end(const void *be)
{
    return ((const struct pg_store *)be)->recorded;
}

static bool op_writable(void *be, char *why, size_t whylen)
{
    struct pg_store *p = be;
    if (p->refusing)
        snprintf(why, whylen, "%s", p->why);
    return !p->refusing;
}

static const char *op_refusal_code(const void *be)
{
    return ((const struct pg_store *)be)->code;
}

static bool op_active(const void *be)
{
    return ((const struct pg_store *)be)->epoch > 0;
}

static bool op_stalled(const void *be)
{
    const struct pg_store *p = be;
    return p->refusing && p->epoch > 0;
}

static void op_stats(const void *be, struct store_stats *st)
{
    const struct pg_store *p = be;
    st->fsync = "commit";
    st->records = p->recorded;
    st->bytes = pg_conn_bytes(p->w);
    st->fsyncs = p->commits;
    st->recovery_ms = p->recovery_ms;
    st->recovered_records = p->recovered;
    st->role = p->fenced ? "fenced" : p->epoch > 0 ? "active" : "standby";
    st->database = !pg_conn_ready(p->w) ? "down" : p->refusing && p->epoch > 0 ? "slow" : "up";
    st->lease_epoch = (uint64_t)(p->epoch > 0 ? p->epoch : 0);
    st->lease_holder = p->epoch > 0 ? p->node : p->holder;
    st->reconnects = p->reconnects > 0 ? p->reconnects - 1 : 0;
    st->loads = p->loads;
    st->load_errors = p->load_errors;
}

/* At close, blocking: wait for what is in flight, send what is left, and
 * give the lease up so that a standby need not wait for it to expire. */
static int op_close(void *be)
{
    struct pg_store *p = be;
    int rc = 0;
    if (p->epoch > 0 && !p->fenced && !p->failed && pg_conn_ready(p->w)) {
        pg_conn_wait(p->w, CLOSE_WAIT_MS);
        /* A settle, then the batch, then what came meanwhile, at most. */
        for (int round = 0; round < 3 && pg_conn_ready(p->w) &&
                            (p->built || p->unsettled || !pg_changes_empty(p->changes));
             round++) {
            send_next(p);
            pg_conn_wait(p->w, CLOSE_WAIT_MS);
        }
        if (p->built || !pg_changes_empty(p->changes)) {
            log_event("error", "event=pg_close_uncommitted");
            rc = -1;
        } else if (pg_conn_ready(p->w)) {
            char sql[160];
            snprintf(sql, sizeof sql, "UPDATE orderd_lease SET expires_at = '-infinity' "
                     "WHERE id = 1 AND epoch = %lld", (long long)p->epoch);
            p->closing = true;
            if (send_sql(p, FLIGHT_RELEASE, sql, 1))
                pg_conn_wait(p->w, CLOSE_WAIT_MS);
        }
    } else if (p->epoch > 0 && !p->fenced && (p->built || !pg_changes_empty(p->changes))) {
        log_event("error", "event=pg_close_uncommitted reason=\"the database is unreachable\"");
        rc = -1;
    }
    p->closing = true;
    pg_conn_free(p->w);
    pg_conn_free(p->r);
    p->timeout_ms = 0;
    expire_loads(p, clock_mono_ms());
    if (p->tick)
        event_free(p->tick);
    pg_changes_free(p->changes);
    buf_free(&p->batch);
    free(p->conninfo);
    free(p->node);
    free(p);
    return rc;
}

static const struct store_ops pg_ops = {
    .name = "postgres",
    .utf8_text = true,
    .order = op_order,
    .change = op_change,
    .saga = op_saga,
    .sim = op_sim,
    .commit = op_commit,
    .end = op_end,
    .writable = op_writable,
    .refusal_code = op_refusal_code,
    .active = op_active,
    .stalled = op_stalled,
    .load = op_load,
    .stats = op_stats,
    .close = op_close,
};

/* --- opening ---------------------------------------------------------------- */


static PGconn *connect_blocking(const char *conninfo, char *err, size_t errlen)
{
    char appname[64];
    snprintf(appname, sizeof appname, "orderd-start-%ld", (long)getpid());
    return pg_connect_blocking(conninfo, appname, err, errlen);
}

/* Takes the lease if it is free: the epoch taken, 0 when another node
 * holds it (holder filled), -1 on error. */
static long long take_lease(struct pg_store *p, PGconn *c, char *err, size_t errlen)
{
    struct buf sql;
    buf_init(&sql);
    lease_sql(&sql, p->node, p->lease_ms);
    PGresult *r = PQexec(c, buf_head(&sql));
    buf_free(&sql);
    long long epoch = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errlen, "taking the lease: %s", PQresultErrorMessage(r));
        pg_one_line(err);
    } else if (strcmp(PQgetvalue(r, 0, 2), "t") == 0) {
        epoch = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    } else {
        epoch = 0;
        snprintf(p->holder, sizeof p->holder, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return epoch;
}

struct store *pg_store_open(const struct pg_options *o, struct event_base *base,
                            struct persist_target *t, const struct store_env *env, char *err,
                            size_t errlen)
{
    PGconn *c = connect_blocking(o->conninfo, err, errlen);
    if (c == NULL)
        return NULL;
    if (pg_schema_migrate(c, err, errlen) != 0) {
        PQfinish(c);
        return NULL;
    }
    struct pg_store *p = xcalloc(1, sizeof *p);
    p->base = base;
    p->t = t;
    p->conninfo = xstrdup(o->conninfo);
    p->node = xstrdup(o->node);
    p->lease_ms = o->lease_ms > 0 ? o->lease_ms : PG_LEASE_MS_DEFAULT;
    p->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : PG_TIMEOUT_MS_DEFAULT;
    p->renew_ms = p->lease_ms / 3 < RENEW_MS_MAX ? p->lease_ms / 3 : RENEW_MS_MAX;
    p->backoff_ms = p->r_backoff_ms = BACKOFF_MIN_MS;
    snprintf(p->appname, sizeof p->appname, "orderd-writer-%ld", (long)getpid());
    buf_init(&p->batch);
    long long epoch = take_lease(p, c, err, errlen);
    if (epoch > 0) {
        int64_t start = clock_mono_ms();
        if (pg_load(c, t, err, errlen) != 0)
            epoch = -1;
        p->recovery_ms = clock_mono_ms() - start;
        p->recovered = t->order_events;
        log_event("info", "event=lease_taken epoch=%lld node=\"%s\" orders=%llu in_memory=%zu "
                  "ms=%lld", epoch, p->node, (unsigned long long)book_last_id(t->book),
                  book_in_memory(t->book), (long long)p->recovery_ms);
    } else if (epoch == 0) {
        log_event("info", "event=standby holder=\"%s\"", p->holder);
    }
    PQfinish(c);
    if (epoch < 0) {
        buf_free(&p->batch);
        free(p->conninfo);
        free(p->node);
        free(p);
        return NULL;
    }
    p->epoch = epoch;
    /* Made after loading: what was loaded is written already. */
    p->changes = pg_changes_new(t);
    p->store = store_new(&pg_ops, p, env);
    struct pg_conn_hooks wh = {.ctx = p, .up = w_up, .down = w_down};
    struct pg_conn_hooks rh = {.ctx = p, .up = r_up, .down = r_down};
    char reader[64];
    snprintf(reader, sizeof reader, "orderd-reader-%ld", (long)getpid());
    p->w = pg_conn_new(base, o->conninfo, p->appname, &wh);
    p->r = pg_conn_new(base, o->conninfo, reader, &rh);
    if (epoch == 0)
        refuse(p, "READONLY", "this node is a standby: %s holds the lease",
               p->holder[0] ? p->holder : "another node");
    p->tick = event_new(base, -1, EV_PERSIST, on_tick, p);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(p->tick, &tv);
    pg_conn_connect(p->w);
    pg_conn_connect(p->r);
    return p->store;
}
