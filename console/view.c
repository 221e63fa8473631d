/* ordertop's views (see view.h). */
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "keys.h"

enum { PAIR_GOOD = 1, PAIR_BUSY, PAIR_WARN, PAIR_BAD, PAIR_DIM, PAIR_HEADER };

void theme_init(struct theme *t, bool color, bool unicode)
{
    t->unicode = unicode;
    t->attr[ROLE_NORMAL] = A_NORMAL;
    t->attr[ROLE_SELECTED] = A_REVERSE;
    if (color) {
        /* -1: the terminal's own background stays. */
        init_pair(PAIR_GOOD, COLOR_GREEN, -1);
        init_pair(PAIR_BUSY, COLOR_CYAN, -1);
        init_pair(PAIR_WARN, COLOR_YELLOW, -1);
        init_pair(PAIR_BAD, COLOR_RED, -1);
        init_pair(PAIR_DIM, COLOR_BLUE, -1);
        init_pair(PAIR_HEADER, COLOR_BLACK, COLOR_CYAN);
        t->attr[ROLE_GOOD] = COLOR_PAIR(PAIR_GOOD);
        t->attr[ROLE_BUSY] = COLOR_PAIR(PAIR_BUSY);
        t->attr[ROLE_WARN] = COLOR_PAIR(PAIR_WARN) | A_BOLD;
        t->attr[ROLE_BAD] = COLOR_PAIR(PAIR_BAD) | A_BOLD;
        t->attr[ROLE_DIM] = COLOR_PAIR(PAIR_DIM);
        t->attr[ROLE_HEADER] = COLOR_PAIR(PAIR_HEADER);
    } else {
        t->attr[ROLE_GOOD] = A_NORMAL;
        t->attr[ROLE_BUSY] = A_NORMAL;
        t->attr[ROLE_WARN] = A_BOLD;
        t->attr[ROLE_BAD] = A_BOLD | A_UNDERLINE;
        t->attr[ROLE_DIM] = A_DIM;
        t->attr[ROLE_HEADER] = A_REVERSE;
    }
}

/* Writes s at (y, x), cut to at most cols display columns (wide
 * characters count two; a character that would not fit is left out).
 * Returns the columns used. */
static int put(WINDOW *w, int y, int x, const char *s, int cols)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    int used = 0;
    size_t len = strlen(s), i = 0;
    wmove(w, y, x);
    while (i < len && used < cols) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s + i, len - i, &st);
        if (n == (size_t)-1 || n == (size_t)-2) {
            /* Not valid in this locale: show a '?' and resynchronise. */
            memset(&st, 0, sizeof st);
            wc = L'?';
            n = 1;
        } else if (n == 0) {
            break;
        }
        int wdt = wcwidth(wc);
        if (wdt < 0) {
            wc = L'?';
            wdt = 1;
        }
        if (used + wdt > cols)
            break;
        wchar_t one[2] = {wc, 0};
        waddwstr(w, one);
        used += wdt;
        i += n;
    }
    return used;
}

static int putf(WINDOW *w, int y, int x, int cols, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int putf(WINDOW *w, int y, int x, int cols, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return put(w, y, x, buf, cols);
}

static enum role status_role(const char *s)
{
    if (strcmp(s, "DELIVERED") == 0 || strcmp(s, "CLOSED") == 0 || strcmp(s, "done") == 0)
        return ROLE_GOOD;
    if (strcmp(s, "FAILED") == 0 || strcmp(s, "OPEN") == 0 || strcmp(s, "failed") == 0 ||
        strcmp(s, "dead-lettered") == 0)
        return ROLE_BAD;
    if (strcmp(s, "CANCELLED") == 0 || strcmp(s, "HALF_OPEN") == 0 ||
        strcmp(s, "cancelled") == 0 || strcmp(s, "compensating") == 0 ||
        strcmp(s, "cancelling") == 0)
        return ROLE_WARN;
    if (*s)
        return ROLE_BUSY;
    return ROLE_NORMAL;
}

#define STAMP_LEN 32

static void clock_of(int64_t ms, char out[STAMP_LEN])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    snprintf(out, STAMP_LEN, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)((ms % 1000 + 1000) % 1000));
}

static void age_of(int64_t ms, char out[STAMP_LEN])
{
    if (ms < 0)
        ms = 0;
    if (ms < 60000)
        snprintf(out, STAMP_LEN, "%llds", (long long)(ms / 1000));
    else if (ms < 3600000)
        snprintf(out, STAMP_LEN, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    else
        snprintf(out, STAMP_LEN, "%lldh%02lldm", (long long)(ms / 3600000),
                 (long long)(ms / 60000 % 60));
}

int view_body_rows(WINDOW *w)
{
    int rows = getmaxy(w) - 4;  /* title, column heads, banner, status */
    return rows > 1 ? rows : 1;
}

static const char *const view_names[VIEW_COUNT] = {"Flow", "Sagas", "DLQ", "Metrics"};

static void draw_title(WINDOW *w, const struct model *m, const struct theme *t, int64_t now)
{
    int cols = getmaxx(w);
    char conn[64];
    enum role role = ROLE_HEADER;
    switch (m->conn) {
    case CONN_UP:
        snprintf(conn, sizeof conn, "connected");
        break;
    case CONN_CONNECTING:
        snprintf(conn, sizeof conn, "connecting");
        break;
    case CONN_DOWN: {
        int64_t in = (m->retry_at_ms - now + 999) / 1000;
        snprintf(conn, sizeof conn, "reconnecting in %llds (attempt %d)",
                 (long long)(in < 0 ? 0 : in), m->attempt);
        break;
    }
    }
    wattrset(w, t->attr[role]);
    mvwhline(w, 0, 0, ' ', cols);
    /* Where we are connected on the left, the tabs on the right, the
     * rates between them if they fit. */
    char tabs[96] = "";
    size_t tl = 0;
    for (int v = 0; v < VIEW_COUNT; v++)
        tl += (size_t)snprintf(tabs + tl, sizeof tabs - tl, v == (int)m->view ? "[%d %s]" : " %d %s ",
                               v + 1, view_names[v]);
    int tw = (int)strlen(tabs);
    char where[160];
    /* Who we are, unless nobody needs to authenticate (everyone is the
     * default admin then). */
    bool anyone = m->identity[0] == '\0' || strcmp(m->identity, "default (admin)") == 0;
    int wl = snprintf(where, sizeof where, " ordertop  %s  %s%s%s%s", m->server, conn,
                      anyone ? "" : "  as ", anyone ? "" : m->identity,
                      m->stale ? "  [STALE]" : "");
    int room = cols;
    if (wl + tw + 1 <= cols) {  /* else where we are matters more */
        room = cols - tw - 1;
        put(w, 0, room, tabs, tw);
    }
    int x = put(w, 0, 0, where, room);
    double o = m->series_n ? m->orders_per_s[SERIES_LEN - 1] : 0;
    double s = m->series_n ? m->sagas_per_s[SERIES_LEN - 1] : 0;
    char rates[64];
    int rl = snprintf(rates, sizeof rates, "   orders/s %.0f  sagas/s %.0f", o, s);
    if (x + rl < room)
        put(w, 0, x, rates, rl);
    wattrset(w, t->attr[ROLE_NORMAL]);
}

static void draw_status(WINDOW *w, const struct model *m, const struct theme *t, int64_t now)
{
    int rows = getmaxy(w), cols = getmaxx(w);
    wattrset(w, t->attr[ROLE_HEADER]);
    mvwhline(w, rows - 1, 0, ' ', cols);
    if (m->command_line) {
        putf(w, rows - 1, 0, cols, ":%s", m->command);
    } else if (m->filtering) {
        putf(w, rows - 1, 0, cols, "/%s", m->filter);
    } else if (m->status[0] && now < m->status_until_ms) {
        putf(w, rows - 1, 0, cols, " %s", m->status);
    } else {
        const char *hint = m->view == VIEW_FLOW
                               ? " space pause  / filter  e errors  ? help  : command  q quit"
                           : m->view == VIEW_DLQ && !m->read_only
                               ? " Enter open  space mark  r replay  R replay all  d purge  ? help  q quit"
                           : m->view == VIEW_SAGAS ? " Enter open  s sort  ? help  : command  q quit"
                                                   : " ? help  : command  q quit";
        put(w, rows - 1, 0, hint, cols);
        if (m->read_only)
            put(w, rows - 1, cols - 11, "[read-only]", 11);
    }
    wattrset(w, t->attr[ROLE_NORMAL]);
}

/* The banner under the title when the data is stale. */
static int draw_banner(WINDOW *w, const struct model *m, const struct theme *t, int64_t now)
{
    if (!m->stale && m->conn == CONN_UP)
        return 1;
    int cols = getmaxx(w);
    wattrset(w, t->attr[ROLE_WARN]);
    if (m->conn == CONN_DOWN) {
        int64_t in = (m->retry_at_ms - now + 999) / 1000;
        putf(w, 1, 0, cols, " lost connection to %s: reconnecting in %llds (attempt %d);"
                            " the data below is stale, actions are off",
             m->server, (long long)(in < 0 ? 0 : in), m->attempt);
    } else {
        putf(w, 1, 0, cols, " connecting to %s ...", m->server);
    }
    wattrset(w, t->attr[ROLE_NORMAL]);
    return 2;
}

/* First row shown so that `sel` is visible in `rows` rows. */
static size_t window_top(size_t sel, size_t n, int rows)
{
    if (n <= (size_t)rows || sel < (size_t)rows / 2)
        return 0;
    size_t top = sel - (size_t)rows / 2;
    if (top + (size_t)rows > n)
        top = n - (size_t)rows;
    return top;
}

static void draw_flow(WINDOW *w, const struct model *m, const struct theme *t, int y0)
{
    int rows = getmaxy(w) - y0 - 2, cols = getmaxx(w);
    wattrset(w, t->attr[ROLE_DIM]);
    /* Milliseconds only when there is room for them. */
    int tw = cols >= 100 ? 12 : 8;
    putf(w, y0, 0, cols, "%-*s %7s  %-7s %-22s %s%s", tw, "TIME", "ORDER", "EVENT", "FROM -> TO",
         "DETAIL", m->paused ? "   [PAUSED]" : "");
    wattrset(w, t->attr[ROLE_NORMAL]);
    /* The visible events, newest last; following shows the latest. */
    size_t total = model_flow_count(m), shown = 0;
    const struct flow_event *vis[512];
    for (size_t i = total; i > 0 && shown < (size_t)rows && shown < 512; i--) {
        const struct flow_event *e = model_flow_at(m, i - 1);
        if (model_flow_visible(m, e))
            vis[shown++] = e;
    }
    for (size_t k = 0; k < shown; k++) {
        const struct flow_event *e = vis[shown - 1 - k];
        char ts[STAMP_LEN], move[32];
        clock_of(e->time_ms, ts);
        if (e->from[0] || e->to[0])
            snprintf(move, sizeof move, "%s -> %s", e->from[0] ? e->from : "-", e->to);
        else
            move[0] = '\0';
        int y = y0 + 1 + (int)k;
        int x = putf(w, y, 0, cols, "%-*.*s ", tw, tw, ts);
        x += e->order ? putf(w, y, x, cols - x, "%7llu  ", (unsigned long long)e->order)
                      : putf(w, y, x, cols - x, "%7s  ", "");
        x += putf(w, y, x, cols - x, "%-7s ", e->kind);
        wattrset(w, t->attr[e->error ? ROLE_BAD : status_role(e->to)]);
        x += putf(w, y, x, cols - x, "%-22s ", move);
        wattrset(w, t->attr[e->error ? ROLE_BAD : ROLE_NORMAL]);
        put(w, y, x, e->text, cols - x);
        wattrset(w, t->attr[ROLE_NORMAL]);
    }
    if (shown == 0)
        put(w, y0 + 1, 0, m->flow_n ? "  (nothing matches the filter)" : "  waiting for events...",
            cols);
}

static void draw_detail(WINDOW *w, const struct model *m, const struct theme *t, int y0)
{
    int rows = getmaxy(w) - y0 - 1, cols = getmaxx(w);
    for (size_t i = 0; i < m->ndetail && (int)i < rows; i++) {
        bool title = i == 0 || strncmp(m->detail_lines[i], "== ", 3) == 0;
        wattrset(w, t->attr[title ? ROLE_DIM : ROLE_NORMAL]);
        put(w, y0 + (int)i, 0, m->detail_lines[i], cols);
    }
    wattrset(w, t->attr[ROLE_NORMAL]);
    if (m->ndetail == 0)
        put(w, y0, 0, "  loading...", cols);
}

static void draw_sagas(WINDOW *w, const struct model *m, const struct theme *t, int y0,
                       int64_t now)
{
    int rows = getmaxy(w) - y0 - 2, cols = getmaxx(w);
    static const char *const sort_names[] = {"order", "state", "step", "age"};
    wattrset(w, t->attr[ROLE_DIM]);
    putf(w, y0, 0, cols, "%8s  %-13s %-18s %5s %6s %6s  %s   (sorted by %s)", "ORDER", "STATE",
         "STEP", "TRY", "RETRY", "AGE", "LAST ERROR / REASON", sort_names[m->saga_sort & 3]);
    wattrset(w, t->attr[ROLE_NORMAL]);
    size_t sel = m->selected[VIEW_SAGAS];
    size_t top = window_top(sel, m->nsagas, rows);
    for (int k = 0; k < rows && top + (size_t)k < m->nsagas; k++) {
        const struct saga_row *r = &m->sagas[top + (size_t)k];
        char age[STAMP_LEN];
        age_of(now - r->created_ms, age);
        int y = y0 + 1 + k;
        bool selected = top + (size_t)k == sel;
        wattrset(w, t->attr[selected ? ROLE_SELECTED : ROLE_NORMAL]);
        if (selected)
            mvwhline(w, y, 0, ' ', cols);
        int x = putf(w, y, 0, cols, "%8llu  ", (unsigned long long)r->order);
        if (!selected)
            wattrset(w, t->attr[status_role(r->state)]);
        x += putf(w, y, x, cols - x, "%-13s ", r->state);
        if (!selected)
            wattrset(w, t->attr[ROLE_NORMAL]);
        char tries[24] = "", retry[STAMP_LEN] = "";
        if (r->max_attempts)
            snprintf(tries, sizeof tries, "%u/%u", r->attempts, r->max_attempts);
        if (r->next_retry_ms)
            age_of(r->next_retry_ms - now, retry);
        x += putf(w, y, x, cols - x, "%-18s %5s %6s %6s  ", r->step, tries, retry, age);
        put(w, y, x, *r->error ? r->error : r->reason, cols - x);
        wattrset(w, t->attr[ROLE_NORMAL]);
    }
    if (m->nsagas == 0)
        put(w, y0 + 1, 0, "  no saga in flight", cols);
}

static void draw_dlq(WINDOW *w, const struct model *m, const struct theme *t, int y0,
                     int64_t now)
{
    int rows = getmaxy(w) - y0 - 2, cols = getmaxx(w);
    wattrset(w, t->attr[ROLE_DIM]);
    putf(w, y0, 0, cols, "  %6s  %-20s %-10s %5s %7s  %s", "ID", "CHANNEL", "GROUP", "DELIV",
         "AGE", "REASON");
    wattrset(w, t->attr[ROLE_NORMAL]);
    size_t sel = m->selected[VIEW_DLQ];
    size_t top = window_top(sel, m->ndlq, rows);
    for (int k = 0; k < rows && top + (size_t)k < m->ndlq; k++) {
        const struct dlq_row *r = &m->dlq[top + (size_t)k];
        char age[STAMP_LEN];
        age_of(now - r->dead_ms, age);
        int y = y0 + 1 + k;
        bool selected = top + (size_t)k == sel;
        wattrset(w, t->attr[selected ? ROLE_SELECTED : ROLE_NORMAL]);
        if (selected)
            mvwhline(w, y, 0, ' ', cols);
        int x = putf(w, y, 0, cols, "%s %6llu  %-20.20s %-10.10s %5u %7s  ", r->marked ? "*" : " ",
                     (unsigned long long)r->id, r->channel, r->group, r->deliveries, age);
        if (!selected)
            wattrset(w, t->attr[ROLE_BAD]);
        put(w, y, x, r->reason, cols - x);
        wattrset(w, t->attr[ROLE_NORMAL]);
    }
    if (m->ndlq == 0)
        put(w, y0 + 1, 0, "  the dead-letter queue is empty", cols);
}

static void sparkline(WINDOW *w, int y, int x, int cols, const double *series, size_t n,
                      const struct theme *t)
{
    static const char *const blocks[] = {" ", "\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char ascii[] = " .:-=+*#@";
    double max = 0;
    for (size_t i = 0; i < SERIES_LEN; i++)
        if (series[i] > max)
            max = series[i];
    int width = cols < SERIES_LEN ? cols : SERIES_LEN;
    for (int i = 0; i < width; i++) {
        size_t at = SERIES_LEN - (size_t)width + (size_t)i;
        int level = 0;
        if (SERIES_LEN - at <= n && max > 0)
            level = (int)(series[at] / max * 8 + 0.5);
        if (t->unicode)
            put(w, y, x + i, blocks[level], 1);
        else
            mvwaddch(w, y, x + i, (chtype)(unsigned char)ascii[level]);
    }
}

static const char *metric(const struct model *m, const char *key)
{
    const char *v = model_metric(m, key);
    return v ? v : "-";
}

/* Puts one item of a row of items at *x, or at indent on the next line
 * when it does not fit; items are two spaces apart. */
static void put_item(WINDOW *w, int *y, int *x, int indent, const char *item, attr_t attr)
{
    int len = (int)strlen(item), cols = getmaxx(w);
    if (*x > indent && *x + len > cols) {
        (*y)++;
        *x = indent;
    }
    wattrset(w, attr);
    *x += put(w, *y, *x, item, cols - *x);
    wattrset(w, 0);
    *x += 2;
}

static void draw_metrics(WINDOW *w, const struct model *m, const struct theme *t, int y0)
{
    int cols = getmaxx(w), rows = getmaxy(w);
    int y = y0;
    double o = m->series_n ? m->orders_per_s[SERIES_LEN - 1] : 0;
    double s = m->series_n ? m->sagas_per_s[SERIES_LEN - 1] : 0;
    putf(w, y, 0, cols, "orders/s  %8.0f ", o);
    sparkline(w, y++, 19, cols - 20, m->orders_per_s, m->series_n, t);
    putf(w, y, 0, cols, "sagas/s   %8.0f ", s);
    sparkline(w, y++, 19, cols - 20, m->sagas_per_s, m->series_n, t);
    y++;
    putf(w, y++, 0, cols, "latency   create p50 %sus p99 %sus   order to done p50 %sms p99 %sms",
         metric(m, "latency_create_us_p50"), metric(m, "latency_create_us_p99"),
         metric(m, "order_completion_ms_p50"), metric(m, "order_completion_ms_p99"));
    putf(w, y++, 0, cols, "          event loop lag p99 %sms", metric(m, "event_loop_lag_ms_p99"));
    y++;
    static const char *const statuses[] = {"pending", "reserved", "paid", "shipped",
                                           "delivered", "failed", "cancelled"};
    int x = put(w, y, 0, "orders    ", cols);
    char key[48], item[64];
    for (size_t i = 0; i < 7; i++) {
        snprintf(key, sizeof key, "orders_%s", statuses[i]);
        char up[16];
        snprintf(up, sizeof up, "%s", statuses[i]);
        for (char *c = up; *c; c++)
            *c = (char)(*c - 'a' + 'A');
        snprintf(item, sizeof item, "%s %s", statuses[i], metric(m, key));
        put_item(w, &y, &x, 10, item, t->attr[status_role(up)]);
    }
    y += 2;
    x = put(w, y, 0, "breakers  ", cols);
    static const char *const parts[] = {"customer", "inventory", "payment", "shipping", "notify"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "breaker_%s", parts[i]);
        const char *state = metric(m, key);
        /* The tag says the state without colour too. */
        snprintf(item, sizeof item, "%s [%s]", parts[i], state);
        put_item(w, &y, &x, 10, item, t->attr[status_role(state)]);
    }
    wattrset(w, t->attr[ROLE_NORMAL]);
    y += 2;
    const char *rss = model_metric(m, "used_memory_rss");
    char mib[24] = "-";
    if (rss)
        snprintf(mib, sizeof mib, "%.1f", strtod(rss, NULL) / 1048576.0);
    x = put(w, y, 0, "server    ", cols);
    snprintf(item, sizeof item, "clients %s", metric(m, "connected_clients"));
    put_item(w, &y, &x, 10, item, t->attr[ROLE_NORMAL]);
    snprintf(item, sizeof item, "memory %s MiB", mib);
    put_item(w, &y, &x, 10, item, t->attr[ROLE_NORMAL]);
    snprintf(item, sizeof item, "dlq %s (oldest %ss)", metric(m, "dlq_depth"),
             metric(m, "dlq_oldest_age_seconds"));
    put_item(w, &y, &x, 10, item, t->attr[ROLE_NORMAL]);
    snprintf(item, sizeof item, "sagas in flight %s (attention %s)", metric(m, "sagas_running"),
             metric(m, "sagas_attention"));
    put_item(w, &y, &x, 10, item, t->attr[ROLE_NORMAL]);
    wattrset(w, t->attr[ROLE_NORMAL]);
    y++;
    y++;
    put(w, y++, 0, "channel lag / pending", cols);
    for (size_t i = 0; i < m->nmetrics && y < rows - 1; i++) {
        if (strncmp(m->metrics[i].key, "lag_", 4) != 0)
            continue;
        const char *name = m->metrics[i].key + 4;
        char pend[80];
        snprintf(pend, sizeof pend, "pending_%s", name);
        putf(w, y++, 2, cols - 2, "%-44s lag %-8s pending %s", name, m->metrics[i].value,
             metric(m, pend));
    }
}

static void draw_box(WINDOW *w, int y, int x, int h, int wd, const struct theme *t)
{
    wattrset(w, t->attr[ROLE_NORMAL]);
    for (int r = 0; r < h; r++)
        mvwhline(w, y + r, x, ' ', wd);
    mvwhline(w, y, x, ACS_HLINE, wd);
    mvwhline(w, y + h - 1, x, ACS_HLINE, wd);
    mvwvline(w, y, x, ACS_VLINE, h);
    mvwvline(w, y, x + wd - 1, ACS_VLINE, h);
    mvwaddch(w, y, x, ACS_ULCORNER);
    mvwaddch(w, y, x + wd - 1, ACS_URCORNER);
    mvwaddch(w, y + h - 1, x, ACS_LLCORNER);
    mvwaddch(w, y + h - 1, x + wd - 1, ACS_LRCORNER);
}

static void draw_help(WINDOW *w, const struct model *m, const struct theme *t)
{
    size_t n;
    const struct key_binding *keys = key_table(&n);
    int rows = getmaxy(w), cols = getmaxx(w);
    int h = rows - 4, wd = cols - 8;
    draw_box(w, 2, 4, h, wd, t);
    put(w, 2, 6, " keys (Esc closes) ", wd - 4);
    int y = 3;
    for (size_t i = 0; i < n && y < 2 + h - 1; i++) {
        if (keys[i].help == NULL || (keys[i].acts && m->read_only))
            continue;
        char where[32] = "";
        if (keys[i].views) {
            size_t o = 0;
            for (int v = 0; v < VIEW_COUNT; v++)
                if (keys[i].views & (1u << v))
                    o += (size_t)snprintf(where + o, sizeof where - o, "%s%s", o ? "," : "",
                                          view_names[v]);
        }
        putf(w, y++, 6, wd - 4, "%-8s %-44s %s", keys[i].label, keys[i].help, where);
    }
}

static void draw_confirm(WINDOW *w, const struct model *m, const struct theme *t)
{
    int rows = getmaxy(w), cols = getmaxx(w);
    int wd = (int)strlen(m->confirm.question) + 8;
    if (wd > cols - 4)
        wd = cols - 4;
    int y = rows / 2 - 2, x = (cols - wd) / 2;
    draw_box(w, y, x, 5, wd, t);
    wattrset(w, t->attr[ROLE_WARN]);
    put(w, y + 2, x + 4, m->confirm.question, wd - 8);
    wattrset(w, t->attr[ROLE_NORMAL]);
}

static void draw_reply(WINDOW *w, const struct model *m, const struct theme *t)
{
    int rows = getmaxy(w), cols = getmaxx(w);
    int h = (int)m->nreply + 2;
    if (h > rows / 2)
        h = rows / 2;
    int y = rows - 1 - h;
    draw_box(w, y, 0, h, cols, t);
    put(w, y, 2, " reply (Esc closes) ", cols - 4);
    for (int i = 0; i < h - 2 && (size_t)i < m->nreply; i++)
        put(w, y + 1 + i, 2, m->reply_lines[i], cols - 4);
}

void view_draw(WINDOW *w, const struct model *m, const struct theme *t, int64_t now)
{
    int rows = getmaxy(w), cols = getmaxx(w);
    if (cols < VIEW_MIN_COLS || rows < VIEW_MIN_LINES) {
        char msg[96];
        snprintf(msg, sizeof msg, "terminal too small: %dx%d, ordertop needs %dx%d", cols, rows,
                 VIEW_MIN_COLS, VIEW_MIN_LINES);
        int len = (int)strlen(msg);
        put(w, rows / 2, len < cols ? (cols - len) / 2 : 0, msg, cols);
        return;
    }
    draw_title(w, m, t, now);
    int y0 = draw_banner(w, m, t, now);
    if (m->detail && (m->view == VIEW_SAGAS || m->view == VIEW_DLQ)) {
        draw_detail(w, m, t, y0);
    } else {
        switch (m->view) {
        case VIEW_FLOW: draw_flow(w, m, t, y0); break;
        case VIEW_SAGAS: draw_sagas(w, m, t, y0, now); break;
        case VIEW_DLQ: draw_dlq(w, m, t, y0, now); break;
        default: draw_metrics(w, m, t, y0); break;
        }
    }
    if (m->nreply && !m->command_line)
        draw_reply(w, m, t);
    if (m->help)
        draw_help(w, m, t);
    if (m->confirm.action != CONFIRM_NONE)
        draw_confirm(w, m, t);
    draw_status(w, m, t, now);
}
