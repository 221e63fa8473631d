/* The PostgreSQL back-end (see pg_store.h). */
#include "pg_store.h"

#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "buf.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "orders/book.h"
#include "persist.h"
#include "pg_batch.h"
#include "pg_load.h"
#include "pg_schema.h"
#include "saga/saga.h"
#include "xalloc.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define RENEW_MS 1000           /* the lease is renewed this often when idle */
#define CLOSE_WAIT_MS 10000     /* at close: how long to wait for the last batch */
#define LOST_LEASE_STATE "OD001"

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_READY };

/* What the request in flight is. */
enum flight { FLIGHT_NONE, FLIGHT_BATCH, FLIGHT_SETTLE, FLIGHT_LEASE };

struct pg_store {
    struct store *store;
    struct event_base *base;
    struct persist_target *t;
    char *conninfo;
    char *node;
    int64_t lease_ms, timeout_ms;
    struct pg_changes *changes;
    uint64_t recorded;            /* positions: changes noted */

    PGconn *conn;
    enum conn_state state;
    struct event *io;             /* the socket; rebuilt with each connection */
    bool want_write;              /* io waits for writability too */
    struct event *tick;           /* every 100 ms: lease, timeouts, reconnecting */
    int64_t backoff_ms, retry_at_ms;
    int old_backend;              /* the backend of a connection we dropped, 0 if none */

    int64_t epoch;                /* the lease held; 0 while standing by */
    char holder[160];             /* who holds it, while we do not */
    bool fenced;
    bool closing;                 /* nothing more is sent but what close sends */

    /* The batch: built, and not yet known to be committed. */
    struct buf batch;             /* NUL-terminated statements */
    size_t nstatements;
    bool built;
    bool unsettled;               /* sent, and the connection went before its answer */
    uint64_t batch_id;
    uint64_t batch_end;           /* the positions it makes durable */
    enum flight flight;
    int64_t sent_ms;              /* monotonic, when the request went out */
    int64_t committed_ms;         /* monotonic, the last commit (renews the lease) */
    char error[256];              /* the request's first error, "" when none */
    char sqlstate[6];
    long long took_epoch;         /* FLIGHT_LEASE: the epoch taken, or 0 */

    bool refusing;
    char why[256];
    const char *code;             /* "UNAVAILABLE" or "READONLY" while refusing */

    uint64_t commits, reconnects, bytes;
    int64_t recovery_ms;
};

static void on_io(evutil_socket_t fd, short what, void *arg);
static void send_next(struct pg_store *p);

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

/* libpq's messages span lines: one line, single spaces, for replies and
 * logs. */
static void trim_error(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        bool blank = s[i] == '\n' || s[i] == '\t' || s[i] == '\r' || s[i] == ' ';
        if (blank && (o == 0 || s[o - 1] == ' '))
            continue;
        s[o++] = blank ? ' ' : s[i];
    }
    while (o > 0 && s[o - 1] == ' ')
        o--;
    s[o] = '\0';
}

/* --- the connection ------------------------------------------------------ */

static void watch(struct pg_store *p, bool write)
{
    if (p->io && p->want_write == write)
        return;
    if (p->io)
        event_free(p->io);
    p->want_write = write;
    p->io = event_new(p->base, PQsocket(p->conn), EV_READ | (write ? EV_WRITE : 0) | EV_PERSIST,
                      on_io, p);
    event_add(p->io, NULL);
}

static void drop(struct pg_store *p, const char *why)
{
    if (p->io) {
        event_free(p->io);
        p->io = NULL;
    }
    if (p->conn) {
        if (p->flight != FLIGHT_NONE)
            p->old_backend = PQbackendPID(p->conn);
        PQfinish(p->conn);
        p->conn = NULL;
    }
    if (p->flight == FLIGHT_BATCH)
        p->unsettled = true;
    p->flight = FLIGHT_NONE;
    if (p->state != CONN_DOWN)
        log_event("error", "event=pg_down reason=\"%s\"", why);
    p->state = CONN_DOWN;
    p->retry_at_ms = clock_mono_ms() + p->backoff_ms;
    p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
    if (p->epoch > 0 && !p->fenced)
        refuse(p, "UNAVAILABLE", "the database is unreachable (%s); reconnecting", why);
}

static void connect_start(struct pg_store *p)
{
    p->conn = PQconnectStart(p->conninfo);
    if (p->conn == NULL || PQstatus(p->conn) == CONNECTION_BAD) {
        char why[200];
        snprintf(why, sizeof why, "%s", p->conn ? PQerrorMessage(p->conn) : "out of memory");
        trim_error(why);
        p->state = CONN_CONNECTING;  /* so that drop() logs it */
        drop(p, why);
        return;
    }
    PQsetnonblocking(p->conn, 1);
    p->state = CONN_CONNECTING;
    p->reconnects++;
    watch(p, true);
}

static void connected(struct pg_store *p)
{
    if (PQenterPipelineMode(p->conn) != 1) {
        drop(p, "cannot enter pipeline mode");
        return;
    }
    p->state = CONN_READY;
    p->backoff_ms = BACKOFF_MIN_MS;
    log_event("info", "event=pg_up");
    watch(p, false);
    send_next(p);
}

static void poll_connect(struct pg_store *p)
{
    switch (PQconnectPoll(p->conn)) {
    case PGRES_POLLING_READING:
        watch(p, false);
        return;
    case PGRES_POLLING_WRITING:
        watch(p, true);
        return;
    case PGRES_POLLING_OK:
        connected(p);
        return;
    default: {
        char why[200];
        snprintf(why, sizeof why, "%s", PQerrorMessage(p->conn));
        trim_error(why);
        drop(p, why);
    }
    }
}

/* --- requests ------------------------------------------------------------ */

static bool send_text(struct pg_store *p, const char *sql)
{
    p->bytes += strlen(sql);
    return PQsendQueryParams(p->conn, sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
}

static void flush_out(struct pg_store *p)
{
    int rc = PQflush(p->conn);
    if (rc < 0)
        drop(p, "writing to the database failed");
    else
        watch(p, rc == 1);
}

static void start_request(struct pg_store *p, enum flight f)
{
    p->flight = f;
    p->error[0] = '\0';
    p->sqlstate[0] = '\0';
    p->sent_ms = clock_mono_ms();
}

static void end_request(struct pg_store *p)
{
    if (PQpipelineSync(p->conn) != 1) {
        drop(p, "cannot send to the database");
        return;
    }
    flush_out(p);
}

static void send_batch(struct pg_store *p)
{
    start_request(p, FLIGHT_BATCH);
    char commit[128];
    snprintf(commit, sizeof commit, "SELECT orderd_commit(%lld, %llu, %lld)", (long long)p->epoch,
             (unsigned long long)p->batch_id, (long long)p->lease_ms);
    bool ok = send_text(p, "BEGIN") && send_text(p, commit);
    const char *s = buf_head(&p->batch);
    for (size_t i = 0; ok && i < p->nstatements; i++) {
        ok = send_text(p, s);
        s += strlen(s) + 1;
    }
    if (!ok || !send_text(p, "COMMIT")) {
        drop(p, "cannot send to the database");
        return;
    }
    end_request(p);
}

/* After reconnecting with a batch unanswered: did it commit? The lease
 * row is locked first, so a transaction of ours still running holds this
 * until it ends; its backend is told to stop first. */
static void send_settle(struct pg_store *p)
{
    start_request(p, FLIGHT_SETTLE);
    char kill[96];
    snprintf(kill, sizeof kill, "SELECT pg_terminate_backend(%d)", p->old_backend);
    bool ok = (p->old_backend == 0 || send_text(p, kill)) && send_text(p, "BEGIN") &&
              send_text(p, "SELECT epoch, last_batch, holder FROM orderd_lease WHERE id = 1 "
                           "FOR UPDATE") &&
              send_text(p, "COMMIT");
    p->old_backend = 0;
    if (!ok) {
        drop(p, "cannot send to the database");
        return;
    }
    end_request(p);
}

/* Standing by: take the lease if it has expired, else learn who holds it. */
static void send_lease(struct pg_store *p)
{
    start_request(p, FLIGHT_LEASE);
    p->took_epoch = 0;
    char *node = PQescapeLiteral(p->conn, p->node, strlen(p->node));
    struct buf sql;
    buf_init(&sql);
    buf_printf(&sql,
               "WITH took AS (UPDATE orderd_lease SET holder = %s, epoch = epoch + 1, "
               "last_batch = 0, expires_at = clock_timestamp() + %lld * interval '1 millisecond' "
               "WHERE id = 1 AND expires_at < clock_timestamp() RETURNING epoch, holder) "
               "SELECT epoch, holder, true FROM took UNION ALL "
               "SELECT epoch, holder, false FROM orderd_lease "
               "WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM took)",
               node ? node : "''", (long long)p->lease_ms);
    buf_appendc(&sql, '\0');
    PQfreemem(node);
    bool ok = send_text(p, buf_head(&sql));
    buf_free(&sql);
    if (!ok) {
        drop(p, "cannot send to the database");
        return;
    }
    end_request(p);
}

/* What to send next, if anything, when nothing is in flight. */
static void send_next(struct pg_store *p)
{
    if (p->state != CONN_READY || p->flight != FLIGHT_NONE || p->fenced || p->closing)
        return;
    if (p->epoch == 0) {
        send_lease(p);
        return;
    }
    if (p->unsettled) {
        send_settle(p);
        return;
    }
    bool renew = clock_mono_ms() - p->committed_ms >= RENEW_MS;
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
    p->commits++;
    p->committed_ms = clock_mono_ms();
    accept_writes(p);
    store_report_durable(p->store, p->batch_end);
}

static void took_over(struct pg_store *p, long long epoch);

static void request_done(struct pg_store *p, PGresult *last)
{
    enum flight f = p->flight;
    p->flight = FLIGHT_NONE;
    if (p->error[0]) {
        /* Our own refusal: another node holds the lease. */
        if (strcmp(p->sqlstate, LOST_LEASE_STATE) == 0) {
            fenced(p, "another node", p->epoch + 1);
            return;
        }
        /* Connection, resources, operator, serialization: try again. */
        const char *transient = "08 53 57 58 40 55";
        char cls[3] = {p->sqlstate[0], p->sqlstate[1], '\0'};
        if (p->sqlstate[0] == '\0' || strstr(transient, cls)) {
            drop(p, p->error);
            return;
        }
        char why[300];
        snprintf(why, sizeof why, "the database refused a batch: %s", p->error);
        refuse(p, "UNAVAILABLE", "%s", why);
        store_report_fatal(p->store, why);
        return;
    }
    if (f == FLIGHT_BATCH) {
        batch_committed(p);
    } else if (f == FLIGHT_SETTLE && last != NULL && PQntuples(last) == 1) {
        long long epoch = strtoll(PQgetvalue(last, 0, 0), NULL, 10);
        unsigned long long done = strtoull(PQgetvalue(last, 0, 1), NULL, 10);
        if (epoch != p->epoch) {
            fenced(p, PQgetvalue(last, 0, 2), epoch);
            return;
        }
        p->unsettled = false;
        if (done >= p->batch_id) {
            log_event("info", "event=pg_batch_settled batch=%llu outcome=committed",
                      (unsigned long long)p->batch_id);
            batch_committed(p);
        } else {
            log_event("info", "event=pg_batch_settled batch=%llu outcome=resend",
                      (unsigned long long)p->batch_id);
        }
    } else if (f == FLIGHT_LEASE && last != NULL && PQntuples(last) == 1) {
        if (strcmp(PQgetvalue(last, 0, 2), "t") == 0) {
            took_over(p, strtoll(PQgetvalue(last, 0, 0), NULL, 10));
            return;
        }
        snprintf(p->holder, sizeof p->holder, "%s", PQgetvalue(last, 0, 1));
        refuse(p, "READONLY", "this node is a standby: %s holds the lease (epoch %s)",
               p->holder[0] ? p->holder : "nobody", PQgetvalue(last, 0, 0));
    }
    send_next(p);
}

/* Reads what has arrived; returns false when the connection was dropped. */
static bool read_results(struct pg_store *p)
{
    if (PQconsumeInput(p->conn) != 1) {
        char why[200];
        snprintf(why, sizeof why, "%s", PQerrorMessage(p->conn));
        trim_error(why);
        drop(p, why[0] ? why : "the connection was closed");
        return false;
    }
    PGresult *last = NULL;
    while (p->flight != FLIGHT_NONE && !PQisBusy(p->conn)) {
        PGresult *r = PQgetResult(p->conn);
        if (r == NULL)
            continue;
        switch (PQresultStatus(r)) {
        case PGRES_PIPELINE_SYNC:
            PQclear(r);
            request_done(p, last);
            PQclear(last);
            last = NULL;
            if (p->state != CONN_READY)
                return false;
            continue;
        case PGRES_TUPLES_OK:
            PQclear(last);
            last = r;
            continue;
        case PGRES_FATAL_ERROR:
            if (p->error[0] == '\0') {
                const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
                snprintf(p->sqlstate, sizeof p->sqlstate, "%s", st ? st : "");
                snprintf(p->error, sizeof p->error, "%s", PQresultErrorMessage(r));
                trim_error(p->error);
            }
            break;
        default:
            break;
        }
        PQclear(r);
    }
    PQclear(last);
    if (PQstatus(p->conn) == CONNECTION_BAD) {
        drop(p, "the connection was closed");
        return false;
    }
    return true;
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    struct pg_store *p = arg;
    (void)fd;
    if (p->state == CONN_CONNECTING) {
        poll_connect(p);
        return;
    }
    if (what & EV_WRITE) {
        flush_out(p);
        if (p->state != CONN_READY)
            return;
    }
    if (what & EV_READ)
        read_results(p);
}

/* --- take-over ------------------------------------------------------------ */

static int load_blocking(struct pg_store *p, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(p->conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", PQerrorMessage(c));
        trim_error(err);
        PQfinish(c);
        return -1;
    }
    int64_t start = clock_mono_ms();
    int rc = pg_load(c, p->t, err, errlen);
    p->recovery_ms = clock_mono_ms() - start;
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
    if (p->state == CONN_DOWN) {
        if (now >= p->retry_at_ms)
            connect_start(p);
        return;
    }
    if (p->state != CONN_READY)
        return;
    if (p->flight != FLIGHT_NONE) {
        int64_t waited = now - p->sent_ms;
        if (p->flight == FLIGHT_BATCH && waited > p->timeout_ms && !p->refusing)
            refuse(p, "UNAVAILABLE", "the database has not committed for %lld ms",
                   (long long)waited);
        /* Past the lease, the connection is not coming back. */
        if (waited > p->lease_ms + p->timeout_ms)
            drop(p, "the database stopped answering");
        return;
    }
    /* Standing by, the lease is asked for; holding it, it is renewed. */
    if (now - (p->epoch == 0 ? p->sent_ms : p->committed_ms) >= RENEW_MS)
        send_next(p);
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
    st->bytes = p->bytes;
    st->fsyncs = p->commits;
    st->recovery_ms = p->recovery_ms;
    st->role = p->fenced ? "fenced" : p->epoch > 0 ? "active" : "standby";
    st->database = p->state == CONN_READY ? (p->refusing && p->epoch > 0 ? "slow" : "up")
                   : "down";
    st->lease_epoch = (uint64_t)(p->epoch > 0 ? p->epoch : 0);
    st->lease_holder = p->epoch > 0 ? p->node : p->holder;
    st->reconnects = p->reconnects > 0 ? p->reconnects - 1 : 0;
}

/* At close, blocking: wait for what is in flight, send what is left, and
 * give the lease up so that a standby need not wait for it to expire. */
static void wait_flight(struct pg_store *p)
{
    int64_t until = clock_mono_ms() + CLOSE_WAIT_MS;
    while (p->state == CONN_READY && p->flight != FLIGHT_NONE && clock_mono_ms() < until) {
        struct pollfd pfd = {.fd = PQsocket(p->conn), .events = POLLIN};
        if (p->want_write)
            pfd.events |= POLLOUT;
        if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
            break;
        if (pfd.revents & POLLOUT)
            flush_out(p);
        if (p->state == CONN_READY && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            read_results(p);
    }
}

static int op_close(void *be)
{
    struct pg_store *p = be;
    int rc = 0;
    if (p->epoch > 0 && !p->fenced) {
        wait_flight(p);
        if (p->state == CONN_READY && (!pg_changes_empty(p->changes) || p->built)) {
            send_next(p);
            wait_flight(p);
        }
        if (p->built || !pg_changes_empty(p->changes)) {
            log_event("error", "event=pg_close_uncommitted");
            rc = -1;
        } else if (p->state == CONN_READY) {
            char sql[160];
            snprintf(sql, sizeof sql,
                     "UPDATE orderd_lease SET expires_at = '-infinity' WHERE id = 1 AND epoch = %lld",
                     (long long)p->epoch);
            p->closing = true;
            start_request(p, FLIGHT_LEASE);
            if (send_text(p, sql))
                end_request(p);
            wait_flight(p);
        }
    }
    if (p->io)
        event_free(p->io);
    if (p->tick)
        event_free(p->tick);
    if (p->conn)
        PQfinish(p->conn);
    pg_changes_free(p->changes);
    buf_free(&p->batch);
    free(p->conninfo);
    free(p->node);
    free(p);
    return rc;
}

static const struct store_ops pg_ops = {
    .name = "postgres",
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
    .stats = op_stats,
    .close = op_close,
};

/* --- opening ---------------------------------------------------------------- */

/* Takes the lease if it is free; returns the epoch taken, 0 when another
 * node holds it (holder filled), -1 on error. */
static long long take_lease(struct pg_store *p, PGconn *c, char *err, size_t errlen)
{
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%lld", (long long)p->lease_ms);
    const char *params[2] = {p->node, ttl};
    PGresult *r = PQexecParams(
        c,
        "WITH took AS (UPDATE orderd_lease SET holder = $1, epoch = epoch + 1, last_batch = 0, "
        "expires_at = clock_timestamp() + $2::bigint * interval '1 millisecond' "
        "WHERE id = 1 AND expires_at < clock_timestamp() RETURNING epoch, holder) "
        "SELECT epoch, holder, true FROM took UNION ALL "
        "SELECT epoch, holder, false FROM orderd_lease WHERE id = 1 AND NOT EXISTS "
        "(SELECT 1 FROM took)",
        2, NULL, params, NULL, NULL, 0);
    long long epoch = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errlen, "taking the lease: %s", PQresultErrorMessage(r));
        trim_error(err);
    } else if (strcmp(PQgetvalue(r, 0, 2), "t") == 0) {
        epoch = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    } else {
        epoch = 0;
        snprintf(p->holder, sizeof p->holder, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return epoch;
}

/* Notices ("relation already exists, skipping") are not news. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

struct store *pg_store_open(const struct pg_options *o, struct event_base *base,
                            struct persist_target *t, const struct store_env *env, char *err,
                            size_t errlen)
{
    PGconn *c = PQconnectdb(o->conninfo);
    PQsetNoticeProcessor(c, quiet, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", PQerrorMessage(c));
        trim_error(err);
        PQfinish(c);
        return NULL;
    }
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
    p->backoff_ms = BACKOFF_MIN_MS;
    buf_init(&p->batch);
    long long epoch = take_lease(p, c, err, errlen);
    if (epoch > 0) {
        int64_t start = clock_mono_ms();
        if (pg_load(c, t, err, errlen) != 0)
            epoch = -1;
        p->recovery_ms = clock_mono_ms() - start;
        log_event("info", "event=lease_taken epoch=%lld node=\"%s\" orders=%llu ms=%lld", epoch,
                  p->node, (unsigned long long)book_last_id(t->book), (long long)p->recovery_ms);
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
    /* Built after loading: what was loaded is written already. */
    p->changes = pg_changes_new(t);
    p->store = store_new(&pg_ops, p, env);
    if (epoch == 0)
        refuse(p, "READONLY", "this node is a standby: %s holds the lease",
               p->holder[0] ? p->holder : "another node");
    p->tick = event_new(base, -1, EV_PERSIST, on_tick, p);
    struct timeval tv = {0, 100 * 1000};
    event_add(p->tick, &tv);
    connect_start(p);
    return p->store;
}
