/* ordertop's model (see model.h). */
#include "model.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void model_init(struct model *m, const char *server, bool read_only)
{
    memset(m, 0, sizeof *m);
    snprintf(m->server, sizeof m->server, "%s", server);
    m->read_only = read_only;
    m->asked_read_only = read_only;
    m->may_purge = true;  /* until the server says otherwise */
    m->conn = CONN_CONNECTING;
    m->dirty = true;
}

void model_identity(struct model *m, const char *user, const char *const *roles, size_t n)
{
    bool admin = false, operator = false;
    char list[64] = "";
    for (size_t i = 0; i < n; i++) {
        admin |= strcmp(roles[i], "admin") == 0;
        operator |= strcmp(roles[i], "operator") == 0;
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", used ? "," : "", roles[i]);
    }
    m->read_only = m->asked_read_only || !(admin || operator);
    m->may_purge = admin;
    snprintf(m->identity, sizeof m->identity, "%s (%s)", user[0] ? user : "?",
             list[0] ? list : "no role");
    m->dirty = true;
}

static void free_lines(char **lines, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free(lines[i]);
    *n = 0;
}

void model_free(struct model *m)
{
    free_lines(m->reply_lines, &m->nreply);
    free_lines(m->detail_lines, &m->ndetail);
    if (m->filter_ok)
        regfree(&m->filter_re);
}

void model_status(struct model *m, int64_t now, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->status, sizeof m->status, fmt, ap);
    va_end(ap);
    m->status_until_ms = now + 4000;
    m->dirty = true;
}

void model_connection(struct model *m, enum conn_state s, int attempt, int64_t retry_at_ms)
{
    m->conn = s;
    m->attempt = attempt;
    m->retry_at_ms = retry_at_ms;
    if (s != CONN_UP && (m->nmetrics || m->flow_n || m->nsagas || m->ndlq))
        m->stale = true;
    if (s == CONN_UP)
        m->stale = false;
    m->dirty = true;
}

/* --- tiny JSON field readers (the payloads are orderd's own) ----------- */

static const char *json_field(const char *p, size_t n, const char *key)
{
    char pat[64];
    int k = snprintf(pat, sizeof pat, "\"%s\":", key);
    for (size_t i = 0; i + (size_t)k <= n; i++)
        if (memcmp(p + i, pat, (size_t)k) == 0)
            return p + i + k;
    return NULL;
}

static void json_str(const char *p, size_t n, const char *key, char *out, size_t outlen)
{
    const char *v = json_field(p, n, key);
    out[0] = '\0';
    if (v == NULL || *v != '"')
        return;
    size_t o = 0;
    for (v++; v < p + n && *v != '"' && o + 1 < outlen; v++) {
        if (*v == '\\' && v + 1 < p + n)
            v++;
        out[o++] = *v;
    }
    out[o] = '\0';
}

static uint64_t json_u64(const char *p, size_t n, const char *key)
{
    const char *v = json_field(p, n, key);
    return v ? strtoull(v, NULL, 10) : 0;
}

/* Formats into a fixed field, cutting what does not fit (on purpose). */
static void textf(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void textf(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

/* --- Flow ---------------------------------------------------------------- */

static void flow_add(struct model *m, const struct flow_event *e)
{
    size_t at = (m->flow_head + m->flow_n) % FLOW_MAX;
    if (m->flow_n == FLOW_MAX) {
        m->flow_head = (m->flow_head + 1) % FLOW_MAX;
        if (m->paused && m->flow_frozen_n > 0)
            m->flow_frozen_n--;  /* the oldest shown scrolls out */
    } else {
        m->flow_n++;
    }
    m->flow[at] = *e;
    m->dirty = true;
}

void model_on_push(struct model *m, const struct redisReply *r, int64_t now)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return;
    const redisReply *kind = r->element[0];
    size_t base = kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "pmessage") == 0 ? 1 : 0;
    if (kind->type != REDIS_REPLY_STRING ||
        (strcmp(kind->str, "message") != 0 && base == 0) || r->elements < 3 + base)
        return;
    const char *ch = r->element[1 + base]->str;
    const char *p = r->element[2 + base]->str;
    size_t n = r->element[2 + base]->len;
    if (ch == NULL || p == NULL)
        return;
    struct flow_event e = {.time_ms = now};
    if (strncmp(ch, "order.", 6) == 0) {
        e.order = json_u64(p, n, "order_id");
        snprintf(e.kind, sizeof e.kind, "%s", strcmp(ch, "order.created") == 0 ? "created"
                                                                                : "status");
        json_str(p, n, "previous", e.from, sizeof e.from);
        json_str(p, n, "status", e.to, sizeof e.to);
        char customer[40], note[48], source[12];
        json_str(p, n, "customer", customer, sizeof customer);
        json_str(p, n, "note", note, sizeof note);
        json_str(p, n, "source", source, sizeof source);
        textf(e.text, sizeof e.text, "%s%s%s%s%s", customer, *source ? " by " : "", source,
                 *note ? ": " : "", note);
        e.error = strcmp(e.to, "FAILED") == 0;
    } else if (strcmp(ch, "dlq") == 0) {
        char ev[20], channel[48], reason[48];
        json_str(p, n, "event", ev, sizeof ev);
        json_str(p, n, "channel", channel, sizeof channel);
        json_str(p, n, "reason", reason, sizeof reason);
        snprintf(e.kind, sizeof e.kind, "dlq");
        textf(e.text, sizeof e.text, "%s #%llu %s: %s", ev,
                 (unsigned long long)json_u64(p, n, "id"), channel, reason);
        e.error = strcmp(ev, "dead-lettered") == 0;
    } else if (strcmp(ch, "breaker") == 0) {
        char who[24];
        json_str(p, n, "participant", who, sizeof who);
        snprintf(e.kind, sizeof e.kind, "breaker");
        json_str(p, n, "from", e.from, sizeof e.from);
        json_str(p, n, "to", e.to, sizeof e.to);
        snprintf(e.text, sizeof e.text, "%s", who);
        e.error = strcmp(e.to, "OPEN") == 0;
    } else if (strcmp(ch, "notify") == 0) {
        snprintf(e.kind, sizeof e.kind, "notify");
        snprintf(e.text, sizeof e.text, "%.*s", (int)(n < TEXT_MAX - 1 ? n : TEXT_MAX - 1), p);
    } else {
        return;
    }
    flow_add(m, &e);
}

int model_set_filter(struct model *m, const char *text)
{
    if (m->filter_ok) {
        regfree(&m->filter_re);
        m->filter_ok = false;
    }
    m->filter_invert = text[0] == '!';
    const char *re = m->filter_invert ? text + 1 : text;
    snprintf(m->filter, sizeof m->filter, "%s", text);
    m->filter_len = strlen(m->filter);
    m->dirty = true;
    if (*re == '\0')
        return 0;
    if (regcomp(&m->filter_re, re, REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0)
        return -1;
    m->filter_ok = true;
    return 0;
}

bool model_flow_visible(const struct model *m, const struct flow_event *e)
{
    if (m->errors_only && !e->error)
        return false;
    if (!m->filter_ok)
        return true;
    char line[256];
    snprintf(line, sizeof line, "%llu %s %s %s %s", (unsigned long long)e->order, e->kind,
             e->from, e->to, e->text);
    bool hit = regexec(&m->filter_re, line, 0, NULL, 0) == 0;
    return hit != m->filter_invert;
}

size_t model_flow_count(const struct model *m)
{
    return m->paused ? m->flow_frozen_n : m->flow_n;
}

const struct flow_event *model_flow_at(const struct model *m, size_t i)
{
    return &m->flow[(m->flow_head + i) % FLOW_MAX];
}

/* --- records from replies ------------------------------------------------ */

/* A record is a flat array: key, value, key, value ... */
static const redisReply *field(const redisReply *rec, const char *key)
{
    if (rec == NULL || rec->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < rec->elements; i += 2)
        if (rec->element[i]->type == REDIS_REPLY_STRING && strcmp(rec->element[i]->str, key) == 0)
            return rec->element[i + 1];
    return NULL;
}

static void field_str(const redisReply *rec, const char *key, char *out, size_t n)
{
    const redisReply *v = field(rec, key);
    if (v && (v->type == REDIS_REPLY_STRING || v->type == REDIS_REPLY_STATUS))
        snprintf(out, n, "%s", v->str);
    else if (v && v->type == REDIS_REPLY_INTEGER)
        snprintf(out, n, "%lld", v->integer);
    else
        out[0] = '\0';
}

static long long field_int(const redisReply *rec, const char *key)
{
    const redisReply *v = field(rec, key);
    if (v && v->type == REDIS_REPLY_INTEGER)
        return v->integer;
    if (v && v->type == REDIS_REPLY_STRING)
        return strtoll(v->str, NULL, 10);
    return 0;
}

/* "2026-11-21T06:09:27.516Z" -> ms since the epoch (0 if it is not one). */
static int64_t parse_time(const char *s)
{
    struct tm tm = {0};
    int ms = 0;
    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static int64_t field_time(const redisReply *rec, const char *key)
{
    const redisReply *v = field(rec, key);
    return v && v->type == REDIS_REPLY_STRING ? parse_time(v->str) : 0;
}

static double metric_num(const struct model *m, const char *key)
{
    const char *v = model_metric(m, key);
    return v ? strtod(v, NULL) : 0;
}

static void push_series(double *series, size_t n, double v)
{
    memmove(series, series + 1, (SERIES_LEN - 1) * sizeof *series);
    series[SERIES_LEN - 1] = v;
    (void)n;
}

void model_on_metrics(struct model *m, const struct redisReply *r, int64_t now)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    m->nmetrics = 0;
    for (size_t i = 0; i + 1 < r->elements && m->nmetrics < sizeof m->metrics / sizeof m->metrics[0];
         i += 2) {
        struct kv *kv = &m->metrics[m->nmetrics++];
        snprintf(kv->key, sizeof kv->key, "%s", r->element[i]->str ? r->element[i]->str : "");
        const redisReply *v = r->element[i + 1];
        if (v->type == REDIS_REPLY_INTEGER)
            snprintf(kv->value, sizeof kv->value, "%lld", v->integer);
        else
            snprintf(kv->value, sizeof kv->value, "%s", v->str ? v->str : "");
    }
    double orders = metric_num(m, "orders");
    double sagas = metric_num(m, "sagas_done") + metric_num(m, "sagas_failed") +
                   metric_num(m, "sagas_cancelled");
    if (m->last_metrics_ms > 0 && now > m->last_metrics_ms) {
        double secs = (double)(now - m->last_metrics_ms) / 1000.0;
        double o = (orders - m->last_orders) / secs, s = (sagas - m->last_sagas) / secs;
        push_series(m->orders_per_s, m->series_n, o < 0 ? 0 : o);
        push_series(m->sagas_per_s, m->series_n, s < 0 ? 0 : s);
        if (m->series_n < SERIES_LEN)
            m->series_n++;
    }
    m->last_orders = orders;
    m->last_sagas = sagas;
    m->last_metrics_ms = now;
    m->dirty = true;
}

const char *model_metric(const struct model *m, const char *key)
{
    for (size_t i = 0; i < m->nmetrics; i++)
        if (strcmp(m->metrics[i].key, key) == 0)
            return m->metrics[i].value;
    return NULL;
}

static int cmp_saga(const struct saga_row *a, const struct saga_row *b, int col)
{
    int c = 0;
    if (col == 1)
        c = strcmp(a->state, b->state);
    else if (col == 2)
        c = strcmp(a->step, b->step);
    else if (col == 3)
        c = a->created_ms < b->created_ms ? -1 : a->created_ms > b->created_ms;
    if (c == 0)
        c = a->order < b->order ? -1 : a->order > b->order;
    return c;
}

void model_sort_sagas(struct model *m, int column)
{
    m->saga_sort = column;
    /* Insertion sort: at most ROWS_MAX rows, usually nearly sorted. */
    for (size_t i = 1; i < m->nsagas; i++) {
        struct saga_row row = m->sagas[i];
        size_t j = i;
        while (j > 0 && cmp_saga(&m->sagas[j - 1], &row, column) > 0) {
            m->sagas[j] = m->sagas[j - 1];
            j--;
        }
        m->sagas[j] = row;
    }
    m->dirty = true;
}

void model_on_sagas(struct model *m, const struct redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    m->nsagas = 0;
    for (size_t i = 0; i < r->elements && m->nsagas < ROWS_MAX; i++) {
        const redisReply *rec = r->element[i];
        struct saga_row *row = &m->sagas[m->nsagas++];
        row->order = (uint64_t)field_int(rec, "order");
        field_str(rec, "state", row->state, sizeof row->state);
        field_str(rec, "step", row->step, sizeof row->step);
        field_str(rec, "reason", row->reason, sizeof row->reason);
        row->attempts = (unsigned)field_int(rec, "attempts");
        row->max_attempts = (unsigned)field_int(rec, "max_attempts");
        field_str(rec, "error", row->error, sizeof row->error);
        row->next_retry_ms = field_time(rec, "next_retry");
        row->created_ms = field_time(rec, "created");
        row->updated_ms = field_time(rec, "updated");
    }
    model_sort_sagas(m, m->saga_sort);
    if (m->selected[VIEW_SAGAS] >= m->nsagas && m->nsagas > 0)
        m->selected[VIEW_SAGAS] = m->nsagas - 1;
    m->dirty = true;
}

void model_on_dlq(struct model *m, const struct redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    /* Marks follow their entries across refreshes. */
    uint64_t marked[ROWS_MAX];
    size_t nmarked = 0;
    for (size_t i = 0; i < m->ndlq; i++)
        if (m->dlq[i].marked)
            marked[nmarked++] = m->dlq[i].id;
    m->ndlq = 0;
    for (size_t i = 0; i < r->elements && m->ndlq < ROWS_MAX; i++) {
        const redisReply *rec = r->element[i];
        struct dlq_row *row = &m->dlq[m->ndlq++];
        row->id = (uint64_t)field_int(rec, "id");
        field_str(rec, "channel", row->channel, sizeof row->channel);
        field_str(rec, "group", row->group, sizeof row->group);
        field_str(rec, "reason", row->reason, sizeof row->reason);
        row->deliveries = (unsigned)field_int(rec, "deliveries");
        row->dead_ms = field_time(rec, "dead_since");
        row->marked = false;
        for (size_t k = 0; k < nmarked; k++)
            row->marked = row->marked || marked[k] == row->id;
    }
    if (m->selected[VIEW_DLQ] >= m->ndlq)
        m->selected[VIEW_DLQ] = m->ndlq ? m->ndlq - 1 : 0;
    m->dirty = true;
}

/* --- replies as text ------------------------------------------------------ */

static void add_line(char **lines, size_t *n, size_t max, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_line(char **lines, size_t *n, size_t max, const char *fmt, ...)
{
    if (*n >= max)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lines[(*n)++] = strdup(buf);
}

/* A record (even-length array of string keys) on one line as k=v ... */
static bool as_record(const redisReply *r, char *out, size_t n)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 || r->elements % 2)
        return false;
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING)
            return false;
        char val[160];
        if (v->type == REDIS_REPLY_INTEGER)
            snprintf(val, sizeof val, "%lld", v->integer);
        else if (v->type == REDIS_REPLY_NIL)
            snprintf(val, sizeof val, "-");
        else if (v->type == REDIS_REPLY_ARRAY)
            snprintf(val, sizeof val, "[%zu]", v->elements);
        else
            snprintf(val, sizeof val, "%s", v->str ? v->str : "");
        int w = snprintf(out + o, n - o, "%s%s=%s", i ? " " : "", k->str, val);
        if (w < 0 || (size_t)w >= n - o)
            break;
        o += (size_t)w;
    }
    return true;
}

size_t reply_to_lines(const redisReply *r, char **lines, size_t max)
{
    size_t n = 0;
    char rec[512];
    if (r == NULL) {
        add_line(lines, &n, max, "(no reply)");
        return n;
    }
    switch (r->type) {
    case REDIS_REPLY_ERROR:
        add_line(lines, &n, max, "(error) %s", r->str);
        break;
    case REDIS_REPLY_STATUS:
        add_line(lines, &n, max, "%s", r->str);
        break;
    case REDIS_REPLY_INTEGER:
        add_line(lines, &n, max, "(integer) %lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        add_line(lines, &n, max, "(nil)");
        break;
    case REDIS_REPLY_STRING: {
        /* Multi-line strings (INFO) line by line. */
        const char *p = r->str, *end = r->str + r->len;
        while (p < end && n < max) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (len && p[len - 1] == '\r')
                len--;
            add_line(lines, &n, max, "%.*s", (int)len, p);
            p = nl ? nl + 1 : end;
        }
        break;
    }
    case REDIS_REPLY_ARRAY:
        if (as_record(r, rec, sizeof rec)) {
            /* One record: a field per line, long values (payloads) whole. */
            for (size_t i = 0; i + 1 < r->elements; i += 2) {
                const redisReply *v = r->element[i + 1];
                if (v->type == REDIS_REPLY_INTEGER)
                    add_line(lines, &n, max, "%-16s %lld", r->element[i]->str, v->integer);
                else
                    add_line(lines, &n, max, "%-16s %s", r->element[i]->str,
                             v->type == REDIS_REPLY_STRING || v->type == REDIS_REPLY_STATUS
                                 ? v->str : "-");
            }
            break;
        }
        if (r->elements == 0)
            add_line(lines, &n, max, "(empty)");
        for (size_t i = 0; i < r->elements && n < max; i++) {
            const redisReply *e = r->element[i];
            if (as_record(e, rec, sizeof rec))
                add_line(lines, &n, max, "%zu) %s", i + 1, rec);
            else if (e->type == REDIS_REPLY_INTEGER)
                add_line(lines, &n, max, "%zu) (integer) %lld", i + 1, e->integer);
            else if (e->type == REDIS_REPLY_NIL)
                add_line(lines, &n, max, "%zu) (nil)", i + 1);
            else if (e->type == REDIS_REPLY_ARRAY)
                add_line(lines, &n, max, "%zu) [%zu items]", i + 1, e->elements);
            else
                add_line(lines, &n, max, "%zu) %s", i + 1, e->str ? e->str : "");
        }
        break;
    }
    return n;
}

#define DETAIL_MAX (sizeof ((struct model *)0)->detail_lines / sizeof (char *))

void model_detail_open(struct model *m, const char *title)
{
    free_lines(m->detail_lines, &m->ndetail);
    add_line(m->detail_lines, &m->ndetail, DETAIL_MAX, "== %s", title);
    m->detail = true;
    m->dirty = true;
}

void model_on_detail(struct model *m, const struct redisReply *r)
{
    m->ndetail += reply_to_lines(r, m->detail_lines + m->ndetail, DETAIL_MAX - m->ndetail);
    m->dirty = true;
}

void model_on_saga_detail(struct model *m, const struct redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        model_on_detail(m, r);
        return;
    }
    char state[24], reason[TEXT_MAX], step[32], error[TEXT_MAX], retry[40];
    const redisReply *s = r->element[0];
    field_str(s, "state", state, sizeof state);
    field_str(s, "reason", reason, sizeof reason);
    add_line(m->detail_lines, &m->ndetail, DETAIL_MAX, "saga %s%s%s", state, *reason ? ": " : "",
             reason);
    add_line(m->detail_lines, &m->ndetail, DETAIL_MAX, "  %-20s %-13s %8s  %s", "STEP", "STATE",
             "ATTEMPTS", "LAST ERROR / NEXT RETRY");
    for (size_t i = 1; i < r->elements; i++) {
        const redisReply *st = r->element[i];
        field_str(st, "step", step, sizeof step);
        field_str(st, "state", state, sizeof state);
        field_str(st, "error", error, sizeof error);
        field_str(st, "next_retry", retry, sizeof retry);
        add_line(m->detail_lines, &m->ndetail, DETAIL_MAX, "  %-20s %-13s %8lld  %s%s%s", step,
                 state, field_int(st, "attempts"), error, *retry ? "  retry at " : "", retry);
    }
    m->dirty = true;
}

void model_on_history_detail(struct model *m, const struct redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        model_on_detail(m, r);
        return;
    }
    add_line(m->detail_lines, &m->ndetail, DETAIL_MAX, "== status history");
    char time[40], from[16], to[16], source[16], note[TEXT_MAX];
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *h = r->element[i];
        field_str(h, "time", time, sizeof time);
        field_str(h, "from", from, sizeof from);
        field_str(h, "to", to, sizeof to);
        field_str(h, "source", source, sizeof source);
        field_str(h, "note", note, sizeof note);
        add_line(m->detail_lines, &m->ndetail, DETAIL_MAX, "  %s  %-9s -> %-9s %s%s%s", time,
                 *from ? from : "-", to, source, *note ? ": " : "", note);
    }
    m->dirty = true;
}

void model_reply_clear(struct model *m)
{
    free_lines(m->reply_lines, &m->nreply);
    m->dirty = true;
}

void model_on_command_reply(struct model *m, const struct redisReply *r)
{
    free_lines(m->reply_lines, &m->nreply);
    m->nreply = reply_to_lines(r, m->reply_lines, sizeof m->reply_lines / sizeof m->reply_lines[0]);
    m->dirty = true;
}

/* --- selection and confirmations ----------------------------------------- */

size_t model_rows(const struct model *m)
{
    switch (m->view) {
    case VIEW_SAGAS: return m->nsagas;
    case VIEW_DLQ: return m->ndlq;
    case VIEW_FLOW: return model_flow_count(m);
    default: return 0;
    }
}

void model_move(struct model *m, long delta)
{
    size_t rows = model_rows(m);
    if (rows == 0)
        return;
    long at = (long)m->selected[m->view] + delta;
    if (at < 0)
        at = 0;
    if (at >= (long)rows)
        at = (long)rows - 1;
    m->selected[m->view] = (size_t)at;
    m->dirty = true;
}

bool model_ask(struct model *m, enum confirm_action a)
{
    struct confirm *c = &m->confirm;
    if (m->read_only || m->conn != CONN_UP || m->ndlq == 0)
        return false;
    c->nids = 0;
    if (a == CONFIRM_REPLAY_ALL) {
        for (size_t i = 0; i < m->ndlq; i++)
            c->ids[c->nids++] = m->dlq[i].id;
    } else {
        for (size_t i = 0; i < m->ndlq; i++)
            if (m->dlq[i].marked)
                c->ids[c->nids++] = m->dlq[i].id;
        if (c->nids == 0)
            c->ids[c->nids++] = m->dlq[m->selected[VIEW_DLQ]].id;
    }
    const char *verb = a == CONFIRM_PURGE ? "Purge" : "Replay";
    if (c->nids == 1)
        snprintf(c->question, sizeof c->question, "%s dead letter #%llu? y/N", verb,
                 (unsigned long long)c->ids[0]);
    else
        snprintf(c->question, sizeof c->question, "%s %zu messages? y/N", verb, c->nids);
    c->action = a;
    m->dirty = true;
    return true;
}

void model_confirm_clear(struct model *m)
{
    m->confirm.action = CONFIRM_NONE;
    m->confirm.nids = 0;
    m->dirty = true;
}

enum confirm_action model_confirm_answer(struct model *m, int key, int64_t now,
                                         struct confirm *out)
{
    enum confirm_action a = m->confirm.action;
    if (a == CONFIRM_NONE)
        return CONFIRM_NONE;
    if (key == 'y' || key == 'Y') {
        *out = m->confirm;
        for (size_t i = 0; i < m->ndlq; i++)
            m->dlq[i].marked = false;
    } else {
        a = CONFIRM_NONE;
        model_status(m, now, "cancelled: nothing done");
    }
    model_confirm_clear(m);
    return a;
}
