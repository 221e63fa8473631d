/* A PostgreSQL connection on the loop (see pg_conn.h). */
#include "pg_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/clock.h"
#include "xalloc.h"

enum state { DOWN, CONNECTING, READY };

struct request {
    pg_done_fn done;
    void *arg;
    int64_t sent_ms;
    struct pg_reply reply;
    char error[300];
    char sqlstate[6];
    struct request *next;
};

struct pg_conn {
    struct event_base *base;
    char *conninfo;
    char *appname;
    int fd;                       /* the socket io watches, -1 when none */
    int64_t connecting_since;     /* monotonic ms, 0 when not connecting */
    struct pg_conn_hooks hooks;
    PGconn *pq;
    enum state state;
    struct event *io;
    bool want_write;
    struct request *head, *tail;  /* sent, waiting for their answers */
    size_t waiting;
    uint64_t bytes;
};

void pg_one_line(char *s)
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

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The session's settings, sent first on every connection. */
static const char *const session_sql[] = {
    "SET standard_conforming_strings = on",
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
};
#define SESSION_SQL_N (sizeof session_sql / sizeof session_sql[0])

static const char *const param_keys[] = {"dbname", "application_name", "client_encoding",
                                         "keepalives", "keepalives_idle",
                                         "keepalives_interval", "keepalives_count", NULL};

static void param_values(const char *values[8], const char *conninfo, const char *appname)
{
    values[0] = conninfo;  /* expanded: a conninfo string or a URI */
    values[1] = appname;
    values[2] = "UTF8";
    values[3] = "1";
    values[4] = "10";
    values[5] = "5";
    values[6] = "3";
    values[7] = NULL;
}

PGconn *pg_connect_blocking(const char *conninfo, const char *appname, char *err,
                            size_t errlen)
{
    const char *values[8];
    param_values(values, conninfo, appname);
    PGconn *pq = PQconnectdbParams(param_keys, values, 1);
    if (PQstatus(pq) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", PQerrorMessage(pq));
        pg_one_line(err);
        PQfinish(pq);
        return NULL;
    }
    PQsetNoticeProcessor(pq, quiet, NULL);
    for (size_t i = 0; i < SESSION_SQL_N; i++) {
        PGresult *r = PQexec(pq, session_sql[i]);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) {
            snprintf(err, errlen, "setting up the session: %s", PQresultErrorMessage(r));
            pg_one_line(err);
        }
        PQclear(r);
        if (!ok) {
            PQfinish(pq);
            return NULL;
        }
    }
    return pq;
}

struct pg_conn *pg_conn_new(struct event_base *base, const char *conninfo, const char *appname,
                            const struct pg_conn_hooks *hooks)
{
    struct pg_conn *c = xcalloc(1, sizeof *c);
    c->base = base;
    c->fd = -1;
    c->appname = xstrdup(appname);
    c->conninfo = xstrdup(conninfo);
    c->hooks = *hooks;
    return c;
}

static void answer(struct request *q)
{
    q->reply.error = q->error[0] ? q->error : NULL;
    q->reply.sqlstate = q->sqlstate;
    q->done(q->arg, &q->reply);
    for (size_t i = 0; i < q->reply.nrows; i++)
        PQclear(q->reply.rows[i]);
    free(q);
}

/* Takes the oldest request off the queue and answers it. */
static void answer_head(struct pg_conn *c)
{
    struct request *q = c->head;
    c->head = q->next;
    if (c->head == NULL)
        c->tail = NULL;
    c->waiting--;
    answer(q);
}

static void close_pq(struct pg_conn *c)
{
    if (c->io) {
        event_free(c->io);
        c->io = NULL;
    }
    c->fd = -1;
    c->connecting_since = 0;
    if (c->pq) {
        PQfinish(c->pq);
        c->pq = NULL;
    }
    c->state = DOWN;
}

void pg_conn_drop(struct pg_conn *c, const char *why)
{
    bool was = c->state != DOWN;
    close_pq(c);
    while (c->head) {
        c->head->reply.lost = true;
        answer_head(c);
    }
    if (was && c->hooks.down)
        c->hooks.down(c->hooks.ctx, why);
}

void pg_conn_free(struct pg_conn *c)
{
    if (c == NULL)
        return;
    c->hooks.down = NULL;
    pg_conn_drop(c, "closing");
    free(c->conninfo);
    free(c->appname);
    free(c);
}

static void on_io(evutil_socket_t fd, short what, void *arg);

/* While connecting libpq may close its socket and open another (the next
 * address of a host, the next host): the event follows the socket. */
static void watch(struct pg_conn *c, bool write)
{
    int fd = PQsocket(c->pq);
    if (c->io && c->want_write == write && c->fd == fd)
        return;
    if (c->io)
        event_free(c->io);
    c->want_write = write;
    c->fd = fd;
    c->io = event_new(c->base, fd, EV_READ | (write ? EV_WRITE : 0) | EV_PERSIST, on_io, c);
    event_add(c->io, NULL);
}

static void drop_with_message(struct pg_conn *c, const char *fallback)
{
    char why[300];
    snprintf(why, sizeof why, "%s", c->pq ? PQerrorMessage(c->pq) : "");
    pg_one_line(why);
    pg_conn_drop(c, why[0] ? why : fallback);
}

void pg_conn_connect(struct pg_conn *c)
{
    if (c->state != DOWN)
        return;
    const char *values[8];
    param_values(values, c->conninfo, c->appname);
    c->pq = PQconnectStartParams(param_keys, values, 1);
    if (c->pq == NULL) {
        if (c->hooks.down)
            c->hooks.down(c->hooks.ctx, "out of memory");
        return;
    }
    c->state = CONNECTING;
    c->connecting_since = clock_mono_ms();
    PQsetNoticeProcessor(c->pq, quiet, NULL);
    if (PQstatus(c->pq) == CONNECTION_BAD) {
        drop_with_message(c, "cannot connect");
        return;
    }
    PQsetnonblocking(c->pq, 1);
    watch(c, true);
}

/* The session's settings were taken, or not: without them the literals
 * would be misread, so the connection goes. */
static void session_set(void *arg, const struct pg_reply *r)
{
    struct pg_conn *c = arg;
    if (!r->lost && r->error) {
        char why[400];
        snprintf(why, sizeof why, "setting up the session: %s", r->error);
        pg_conn_drop(c, why);
    }
}

static void poll_connect(struct pg_conn *c)
{
    switch (PQconnectPoll(c->pq)) {
    case PGRES_POLLING_READING:
        watch(c, false);
        return;
    case PGRES_POLLING_WRITING:
        watch(c, true);
        return;
    case PGRES_POLLING_OK:
        if (PQenterPipelineMode(c->pq) != 1) {
            pg_conn_drop(c, "cannot enter pipeline mode");
            return;
        }
        c->state = READY;
        c->connecting_since = 0;
        watch(c, false);
        /* Pipelined: whatever is sent next runs after these. */
        for (size_t i = 0; i < SESSION_SQL_N; i++)
            if (PQsendQueryParams(c->pq, session_sql[i], 0, NULL, NULL, NULL, NULL, 0) != 1) {
                drop_with_message(c, "cannot set up the session");
                return;
            }
        if (!pg_conn_send(c, "", 0, session_set, c))
            return;
        if (c->hooks.up)
            c->hooks.up(c->hooks.ctx);
        return;
    default:
        drop_with_message(c, "cannot connect");
    }
}

static void flush_out(struct pg_conn *c)
{
    int rc = PQflush(c->pq);
    if (rc < 0)
        drop_with_message(c, "writing to the database failed");
    else
        watch(c, rc == 1);
}

/* Reads what arrived and answers the requests it completes. */
static void read_results(struct pg_conn *c)
{
    if (PQconsumeInput(c->pq) != 1) {
        drop_with_message(c, "the connection was closed");
        return;
    }
    int nulls = 0;
    while (c->head && !PQisBusy(c->pq)) {
        PGresult *r = PQgetResult(c->pq);
        if (r == NULL) {
            /* Between two statements' results there is one; two in a row
             * with nothing busy is a connection gone bad. */
            if (++nulls > 1 || PQstatus(c->pq) == CONNECTION_BAD)
                break;
            continue;
        }
        nulls = 0;
        struct request *q = c->head;
        switch (PQresultStatus(r)) {
        case PGRES_PIPELINE_SYNC:
            PQclear(r);
            answer_head(c);
            /* done may have dropped or freed nothing of ours but the
             * connection: look again. */
            if (c->state != READY)
                return;
            continue;
        case PGRES_TUPLES_OK:
            if (q->reply.nrows < PG_REPLY_ROWS_MAX) {
                q->reply.rows[q->reply.nrows++] = r;
                continue;
            }
            break;
        case PGRES_FATAL_ERROR:
            if (q->error[0] == '\0') {
                const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
                snprintf(q->sqlstate, sizeof q->sqlstate, "%s", st ? st : "");
                snprintf(q->error, sizeof q->error, "%s", PQresultErrorMessage(r));
                pg_one_line(q->error);
            }
            break;
        default:
            break;
        }
        PQclear(r);
    }
    if (c->state == READY && PQstatus(c->pq) == CONNECTION_BAD)
        drop_with_message(c, "the connection was closed");
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    struct pg_conn *c = arg;
    (void)fd;
    if (c->state == CONNECTING) {
        poll_connect(c);
        return;
    }
    if (what & EV_WRITE) {
        flush_out(c);
        if (c->state != READY)
            return;
    }
    if (what & EV_READ)
        read_results(c);
}

int64_t pg_conn_connecting_since(const struct pg_conn *c)
{
    return c->state == CONNECTING ? c->connecting_since : 0;
}

bool pg_conn_ready(const struct pg_conn *c)
{
    return c->state == READY;
}

bool pg_conn_down(const struct pg_conn *c)
{
    return c->state == DOWN;
}

bool pg_conn_send(struct pg_conn *c, const char *sql, size_t n, pg_done_fn done, void *arg)
{
    if (c->state != READY)
        return false;
    const char *s = sql;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(s);
        c->bytes += len;
        if (PQsendQueryParams(c->pq, s, 0, NULL, NULL, NULL, NULL, 0) != 1) {
            drop_with_message(c, "cannot send to the database");
            return false;
        }
        s += len + 1;
    }
    if (PQpipelineSync(c->pq) != 1) {
        drop_with_message(c, "cannot send to the database");
        return false;
    }
    struct request *q = xcalloc(1, sizeof *q);
    q->done = done;
    q->arg = arg;
    q->sent_ms = clock_mono_ms();
    if (c->tail)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
    c->waiting++;
    flush_out(c);
    return true;
}

size_t pg_conn_waiting(const struct pg_conn *c)
{
    return c->waiting;
}

int64_t pg_conn_oldest_ms(const struct pg_conn *c)
{
    return c->head ? c->head->sent_ms : 0;
}

int pg_conn_backend(const struct pg_conn *c)
{
    return c->pq ? PQbackendPID(c->pq) : 0;
}

uint64_t pg_conn_bytes(const struct pg_conn *c)
{
    return c->bytes;
}

void pg_conn_wait(struct pg_conn *c, int64_t ms)
{
    int64_t until = clock_mono_ms() + ms;
    while (c->state == READY && c->head && clock_mono_ms() < until) {
        struct pollfd pfd = {.fd = PQsocket(c->pq), .events = POLLIN};
        if (c->want_write)
            pfd.events |= POLLOUT;
        if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
            break;
        if (pfd.revents & POLLOUT)
            flush_out(c);
        if (c->state == READY && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            read_results(c);
    }
}
