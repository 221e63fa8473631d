/* ordertop's application (see app.h). */
#include "app.h"

#include <curses.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client.h"
#include "keys.h"

#define FRAME_MIN_MS 100  /* at most ten frames a second */

/* --- frames ------------------------------------------------------------ */

void app_frame(struct app *a)
{
    a->frame_pending = false;
    if (!a->m.dirty)
        return;
    erase();
    view_draw(stdscr, &a->m, &a->theme, client_now_ms());
    wnoutrefresh(stdscr);
    doupdate();
    a->m.dirty = false;
    a->last_frame_ms = client_now_ms();
    a->frames++;
}

static void on_frame(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    app_frame(arg);
}

/* A frame when the model changed: at once if the last was long enough
 * ago, else when FRAME_MIN_MS has passed since it. */
static void schedule(struct app *a)
{
    if (a->frame_pending || !a->m.dirty)
        return;
    int64_t wait = a->last_frame_ms + FRAME_MIN_MS - client_now_ms();
    if (wait < 0)
        wait = 0;
    struct timeval tv = {0, (suseconds_t)(wait * 1000)};
    evtimer_add(a->frame, &tv);
    a->frame_pending = true;
}

/* --- server messages ----------------------------------------------------- */

static void on_state(void *ctx, int state, int attempt, int64_t retry_at)
{
    struct app *a = ctx;
    if (state == CONN_DOWN && retry_at == 0) {
        a->m.dirty = true;  /* the countdown moves */
    } else {
        model_connection(&a->m, (enum conn_state)state, attempt, retry_at);
        if (state == CONN_UP)
            model_status(&a->m, client_now_ms(), "connected to %s", a->m.server);
    }
    schedule(a);
}

static void on_notice(void *ctx, const char *text)
{
    struct app *a = ctx;
    model_status(&a->m, client_now_ms(), "%s", text);
    schedule(a);
}

static void on_identity(void *ctx, const char *user, const char *const *roles, size_t n)
{
    struct app *a = ctx;
    model_identity(&a->m, user, roles, n);
    schedule(a);
}

static void on_push(void *ctx, const redisReply *r)
{
    struct app *a = ctx;
    model_on_push(&a->m, r, client_now_ms());
    schedule(a);
}

static void got_metrics(void *arg, const redisReply *r)
{
    struct app *a = arg;
    if (r && r->type == REDIS_REPLY_ARRAY)
        model_on_metrics(&a->m, r, client_now_ms());
    schedule(a);
}

static void got_sagas(void *arg, const redisReply *r)
{
    struct app *a = arg;
    if (r && r->type == REDIS_REPLY_ARRAY)
        model_on_sagas(&a->m, r);
    schedule(a);
}

static void got_dlq(void *arg, const redisReply *r)
{
    struct app *a = arg;
    if (r && r->type == REDIS_REPLY_ARRAY)
        model_on_dlq(&a->m, r);
    schedule(a);
}

/* Sends a command line of our own (split as inline requests are); the
 * reply goes to cb(arg, reply). */
static void send_line(struct app *a, client_reply_fn cb, void *arg, const char *line)
{
    client_command_line(a->client, cb, arg, line);
}

static void on_poll(void *ctx)
{
    struct app *a = ctx;
    send_line(a, got_metrics, a, "METRICS");
    send_line(a, got_sagas, a, "SAGAS limit=500");
    send_line(a, got_dlq, a, "DLQ LIST limit=500");
    if (a->m.status[0] && client_now_ms() >= a->m.status_until_ms) {
        a->m.status[0] = '\0';
        a->m.dirty = true;
    }
    schedule(a);
}

/* --- actions --------------------------------------------------------------- */

static void got_detail(void *arg, const redisReply *r)
{
    struct app *a = arg;
    model_on_detail(&a->m, r);
    schedule(a);
}

static void got_saga(void *arg, const redisReply *r)
{
    struct app *a = arg;
    model_on_saga_detail(&a->m, r);
    schedule(a);
}

static void got_history(void *arg, const redisReply *r)
{
    struct app *a = arg;
    model_on_history_detail(&a->m, r);
    schedule(a);
}

/* Enter: the selected order's saga and history, or the dead letter. */
static void open_selected(struct app *a)
{
    struct model *m = &a->m;
    char line[64];
    if (m->view == VIEW_SAGAS && m->nsagas) {
        uint64_t id = m->sagas[m->selected[VIEW_SAGAS]].order;
        snprintf(line, sizeof line, "order %llu", (unsigned long long)id);
        model_detail_open(m, line);
        snprintf(line, sizeof line, "SAGA %llu", (unsigned long long)id);
        send_line(a, got_saga, a, line);
        snprintf(line, sizeof line, "HISTORY %llu", (unsigned long long)id);
        send_line(a, got_history, a, line);
    } else if (m->view == VIEW_DLQ && m->ndlq) {
        uint64_t id = m->dlq[m->selected[VIEW_DLQ]].id;
        snprintf(line, sizeof line, "dead letter %llu", (unsigned long long)id);
        model_detail_open(m, line);
        snprintf(line, sizeof line, "DLQ SHOW %llu", (unsigned long long)id);
        send_line(a, got_detail, a, line);
    }
}

struct action_tally {
    struct app *a;
    const char *verb;
    size_t asked, done, ok;
};

static void got_action(void *arg, const redisReply *r)
{
    struct action_tally *t = arg;
    t->done++;
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        t->ok++;
    if (t->done == t->asked) {
        model_status(&t->a->m, client_now_ms(), "%s %zu of %zu", t->verb, t->ok, t->asked);
        send_line(t->a, got_dlq, t->a, "DLQ LIST limit=500");
        schedule(t->a);
        free(t);
    }
}

/* Carries out what the operator said yes to, one command per dead letter;
 * the tally reports the result when the last answer is in. */
static void carry_out(struct app *a, const struct confirm *c)
{
    if (!client_up(a->client)) {
        model_status(&a->m, client_now_ms(), "not connected: nothing done");
        return;
    }
    struct action_tally *t = calloc(1, sizeof *t);
    if (t == NULL)
        abort();
    t->a = a;
    t->verb = c->action == CONFIRM_PURGE ? "purged" : "replayed";
    t->asked = c->nids;
    for (size_t i = 0; i < c->nids; i++) {
        char line[64];
        snprintf(line, sizeof line, "DLQ %s %llu", c->action == CONFIRM_PURGE ? "PURGE" : "REPLAY",
                 (unsigned long long)c->ids[i]);
        send_line(a, got_action, t, line);
    }
}

static void got_command(void *arg, const redisReply *r)
{
    struct app *a = arg;
    model_on_command_reply(&a->m, r);
    schedule(a);
}

/* Commands that only read: the command line allows just these read-only. */
static bool read_command(const char *line)
{
    static const char *const reads[] = {"GET", "TRACK", "HISTORY", "LIST", "PING", "HELP",
                                        "INFO", "METRICS", "SAGA", "SAGAS", "CHANNELS",
                                        "GROUPS", "PENDING", "READ", "BREAKERS"};
    char word[16] = "";
    sscanf(line, "%15s", word);
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
        if (strcasecmp(word, reads[i]) == 0)
            return true;
    if (strcasecmp(word, "DLQ") == 0) {
        char sub[16] = "";
        sscanf(line, "%*s %15s", sub);
        return strcasecmp(sub, "LIST") == 0 || strcasecmp(sub, "SHOW") == 0;
    }
    return false;
}

static void submit_command(struct app *a)
{
    struct model *m = &a->m;
    const char *why;
    m->command_line = false;
    if (m->command_len == 0)
        return;
    if (m->read_only && !read_command(m->command))
        model_status(m, client_now_ms(), "read-only: only commands that read are sent");
    else if ((why = client_command_line(a->client, got_command, a, m->command)) != NULL)
        model_status(m, client_now_ms(), "not sent: %s", why);
    m->command_len = 0;
    m->command[0] = '\0';
}

/* Text entry for ':' and '/'. Returns true when the key was taken. */
static bool edit(struct app *a, int key)
{
    struct model *m = &a->m;
    char *text = m->command_line ? m->command : m->filter;
    size_t *len = m->command_line ? &m->command_len : &m->filter_len;
    size_t cap = m->command_line ? sizeof m->command : sizeof m->filter;
    if (key == 27) {
        m->command_line = m->filtering = false;
    } else if (key == '\n' || key == KEY_ENTER) {
        if (m->command_line) {
            submit_command(a);
        } else {
            m->filtering = false;
            if (model_set_filter(m, m->filter) != 0)
                model_status(m, client_now_ms(), "not a regular expression: %s", m->filter);
        }
    } else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
        if (*len)
            text[--*len] = '\0';
    } else if (key >= 32 && key < 256 && *len + 1 < cap) {
        text[(*len)++] = (char)key;
        text[*len] = '\0';
    }
    m->dirty = true;
    return true;
}

void app_key(struct app *a, int key)
{
    struct model *m = &a->m;
    int64_t now = client_now_ms();
    if (key == KEY_RESIZE) {
        m->dirty = true;
        return;
    }
    if (m->command_line || m->filtering) {
        edit(a, key);
        return;
    }
    if (m->confirm.action != CONFIRM_NONE) {
        struct confirm yes;
        if (model_confirm_answer(m, key, now, &yes) != CONFIRM_NONE)
            carry_out(a, &yes);
        return;
    }
    const struct key_binding *b = key_find(key, m->view, m->read_only);
    if (b == NULL) {
        if (m->read_only && key_find(key, m->view, false))
            model_status(m, now, "read-only: actions are off");
        return;
    }
    if (b->acts && m->conn != CONN_UP) {
        model_status(m, now, "not connected: actions are off");
        return;
    }
    int page = view_body_rows(stdscr);
    switch (b->action) {
    case ACT_QUIT: m->quit = true; break;
    case ACT_VIEW_FLOW: case ACT_VIEW_SAGAS: case ACT_VIEW_DLQ: case ACT_VIEW_METRICS:
        m->view = (enum view)(b->action - ACT_VIEW_FLOW);
        m->detail = false;
        break;
    case ACT_NEXT_VIEW:
        m->view = (enum view)((m->view + 1) % VIEW_COUNT);
        m->detail = false;
        break;
    case ACT_BACK:
        if (m->help)
            m->help = false;
        else if (m->nreply)
            model_reply_clear(m);
        else
            m->detail = false;
        break;
    case ACT_HELP: m->help = !m->help; break;
    case ACT_COMMAND: m->command_line = true; break;
    case ACT_FOLLOW:
        m->paused = !m->paused;
        m->flow_frozen_n = m->flow_n;
        break;
    case ACT_FILTER:
        m->filtering = true;
        m->filter_len = 0;
        m->filter[0] = '\0';
        break;
    case ACT_ERRORS: m->errors_only = !m->errors_only; break;
    case ACT_UP: model_move(m, -1); break;
    case ACT_DOWN: model_move(m, 1); break;
    case ACT_PAGE_UP: model_move(m, -page); break;
    case ACT_PAGE_DOWN: model_move(m, page); break;
    case ACT_TOP: model_move(m, -(long)model_rows(m)); break;
    case ACT_BOTTOM: model_move(m, (long)model_rows(m)); break;
    case ACT_OPEN: open_selected(a); break;
    case ACT_SORT: model_sort_sagas(m, (m->saga_sort + 1) % 4); break;
    case ACT_MARK:
        if (m->ndlq) {
            struct dlq_row *row = &m->dlq[m->selected[VIEW_DLQ]];
            row->marked = !row->marked;
            model_move(m, 1);
        }
        break;
    case ACT_REPLAY:
        if (!model_ask(m, CONFIRM_REPLAY))
            model_status(m, now, "nothing to replay");
        break;
    case ACT_REPLAY_ALL:
        if (!model_ask(m, CONFIRM_REPLAY_ALL))
            model_status(m, now, "nothing to replay");
        break;
    case ACT_PURGE:
        if (!m->may_purge)
            model_status(m, now, "purging needs the admin role: you are %s", m->identity);
        else if (!model_ask(m, CONFIRM_PURGE))
            model_status(m, now, "nothing to purge");
        break;
    case ACT_NONE:
        break;
    }
    m->dirty = true;
}

/* --- input and signals ----------------------------------------------------- */

static void on_input(evutil_socket_t fd, short what, void *arg)
{
    struct app *a = arg;
    int key;
    (void)fd;
    (void)what;
    while ((key = getch()) != ERR)
        app_key(a, key);
    if (a->m.quit) {
        event_base_loopbreak(a->base);
        return;
    }
    schedule(a);
}

static void on_winch(evutil_socket_t fd, short what, void *arg)
{
    struct app *a = arg;
    struct winsize ws;
    (void)fd;
    (void)what;
    /* ncurses alone notices a resize only at the next key: tell it now. */
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        resizeterm(ws.ws_row, ws.ws_col);
    a->m.dirty = true;
    schedule(a);
}

static void on_quit_signal(evutil_socket_t fd, short what, void *arg)
{
    struct app *a = arg;
    (void)fd;
    (void)what;
    a->m.quit = true;
    event_base_loopbreak(a->base);
}

int app_init(struct app *a, struct event_base *base, const struct app_options *o, bool color,
             bool unicode)
{
    char server[64];
    memset(a, 0, sizeof *a);
    a->base = base;
    snprintf(server, sizeof server, "%s:%d", o->host, o->port);
    model_init(&a->m, server, o->read_only);
    theme_init(&a->theme, color, unicode);
    struct client_handlers h = {a, on_state, on_push, on_poll, on_notice, on_identity};
    a->client = client_new(base, o->host, o->port, o->user, o->password, &h);
    a->input = event_new(base, STDIN_FILENO, EV_READ | EV_PERSIST, on_input, a);
    a->frame = evtimer_new(base, on_frame, a);
    a->winch = evsignal_new(base, SIGWINCH, on_winch, a);
    a->sigint = evsignal_new(base, SIGINT, on_quit_signal, a);
    a->sigterm = evsignal_new(base, SIGTERM, on_quit_signal, a);
    event_add(a->input, NULL);
    evsignal_add(a->winch, NULL);
    evsignal_add(a->sigint, NULL);
    evsignal_add(a->sigterm, NULL);
    client_start(a->client);
    schedule(a);
    return 0;
}

void app_free(struct app *a)
{
    client_free(a->client);
    event_free(a->input);
    event_free(a->frame);
    event_free(a->winch);
    event_free(a->sigint);
    event_free(a->sigterm);
    model_free(&a->m);
}
