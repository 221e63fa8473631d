/* ordertop's model: everything the console knows, fed only by parsed
 * server messages (hiredis reply objects) and by the operator's keys, with
 * time passed in. No curses here: the views (view.h) draw it, and the
 * tests drive it with replies read from byte streams. */
#ifndef CONSOLE_MODEL_H
#define CONSOLE_MODEL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redisReply;

enum view {
    VIEW_FLOW,
    VIEW_SAGAS,
    VIEW_DLQ,
    VIEW_METRICS,
    VIEW_COUNT,
};

enum conn_state {
    CONN_CONNECTING,
    CONN_UP,
    CONN_DOWN,     /* waiting to reconnect */
};

#define FLOW_MAX 2000
#define ROWS_MAX 500
#define SERIES_LEN 60
#define TEXT_MAX 96

struct flow_event {
    int64_t time_ms;         /* when the event happened */
    uint64_t order;
    char kind[16];           /* created, status, dlq, breaker, notify */
    char from[12], to[12];   /* statuses (or breaker states) */
    char text[TEXT_MAX];     /* what else there is to say */
    bool error;              /* FAILED, dead letters, breaker OPEN */
};

struct saga_row {
    uint64_t order;
    char state[16];
    char step[24];
    char reason[TEXT_MAX];
    unsigned attempts, max_attempts;  /* of the step it is at */
    char error[TEXT_MAX];             /* that step's last error */
    int64_t next_retry_ms;            /* 0: none scheduled */
    int64_t created_ms;
    int64_t updated_ms;
};

struct dlq_row {
    uint64_t id;
    char channel[48];
    char group[24];
    char reason[TEXT_MAX];
    unsigned deliveries;
    int64_t dead_ms;
    bool marked;
};

struct kv {
    char key[64];
    char value[48];
};

/* A yes/no question before an action: nothing happens without 'y'. */
enum confirm_action {
    CONFIRM_NONE,
    CONFIRM_REPLAY,      /* the selected dead letter, or the marked ones */
    CONFIRM_REPLAY_ALL,  /* every one shown */
    CONFIRM_PURGE,
};

struct confirm {
    enum confirm_action action;
    char question[128];
    uint64_t ids[ROWS_MAX];  /* what it affects */
    size_t nids;
};

struct model {
    /* connection */
    enum conn_state conn;
    char server[64];
    int attempt;             /* reconnect attempts since it went down */
    int64_t retry_at_ms;
    bool stale;              /* what is shown is from before a disconnect */
    bool read_only;          /* actions are off: asked for, or the user's roles */
    bool asked_read_only;    /* --read-only */
    bool may_purge;          /* the user's roles allow DLQ PURGE (admin) */
    char identity[96];       /* "alice (operator)", once the server said */

    /* navigation */
    enum view view;
    bool detail;             /* Enter opened the selected row */
    bool help;
    bool command_line;       /* ':' typed: editing a command */
    char command[256];
    size_t command_len;
    char *reply_lines[64];   /* the last command's reply, rendered (owned) */
    size_t nreply;
    char status[128];        /* a transient message */
    int64_t status_until_ms;
    struct confirm confirm;

    /* Flow */
    struct flow_event flow[FLOW_MAX];  /* a ring */
    size_t flow_head, flow_n;
    bool paused;             /* follow stops; new events still arrive */
    size_t flow_frozen_n;    /* events shown while paused */
    bool errors_only;
    bool filtering;          /* '/' typed: editing the filter */
    char filter[128];
    size_t filter_len;
    bool filter_invert;
    bool filter_ok;
    regex_t filter_re;

    /* Sagas, DLQ: the last answers to SAGAS and DLQ LIST */
    struct saga_row sagas[ROWS_MAX];
    size_t nsagas;
    int saga_sort;           /* 0 order, 1 state, 2 step, 3 age */
    struct dlq_row dlq[ROWS_MAX];
    size_t ndlq;
    size_t selected[VIEW_COUNT];
    size_t top[VIEW_COUNT];

    /* details: the selected order's SAGA and HISTORY, or a DLQ SHOW */
    char *detail_lines[128]; /* owned */
    size_t ndetail;

    /* Metrics: the last METRICS record, and per-second series */
    struct kv metrics[512];
    size_t nmetrics;
    double orders_per_s[SERIES_LEN];
    double sagas_per_s[SERIES_LEN];
    size_t series_n;
    double last_orders, last_sagas;
    int64_t last_metrics_ms;

    bool dirty;              /* something changed since the last frame */
    bool quit;
};

void model_init(struct model *m, const char *server, bool read_only);
/* Who the server says we are: actions follow the roles (an operator
 * replays, only an admin purges; a client or worker only looks). */
void model_identity(struct model *m, const char *user, const char *const *roles, size_t n);
void model_free(struct model *m);

/* Server messages. */
void model_connection(struct model *m, enum conn_state s, int attempt, int64_t retry_at_ms);
/* A pub/sub push: ["message", ch, payload] or ["pmessage", pat, ch, payload]. */
void model_on_push(struct model *m, const struct redisReply *r, int64_t now);
void model_on_metrics(struct model *m, const struct redisReply *r, int64_t now);
void model_on_sagas(struct model *m, const struct redisReply *r);
void model_on_dlq(struct model *m, const struct redisReply *r);
/* Details (Enter): opening drops the last ones and starts with a title;
 * answers are appended as text lines: SAGA as a table of steps, HISTORY
 * as status changes, anything else (DLQ SHOW) as redis-cli shows it. */
void model_detail_open(struct model *m, const char *title);
void model_on_detail(struct model *m, const struct redisReply *r);
void model_on_saga_detail(struct model *m, const struct redisReply *r);
void model_on_history_detail(struct model *m, const struct redisReply *r);
/* The ':' line's reply: shown until model_reply_clear (Esc). */
void model_on_command_reply(struct model *m, const struct redisReply *r);
void model_reply_clear(struct model *m);
void model_status(struct model *m, int64_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Flow, as shown: i from 0 (oldest shown) to model_flow_count() - 1. */
size_t model_flow_count(const struct model *m);
const struct flow_event *model_flow_at(const struct model *m, size_t i);
bool model_flow_visible(const struct model *m, const struct flow_event *e);
int model_set_filter(struct model *m, const char *text);  /* 0, or -1 bad regex */

/* A value of the last METRICS, or NULL. */
const char *model_metric(const struct model *m, const char *key);

/* Rows of the current view, and moving the selection. */
size_t model_rows(const struct model *m);
void model_move(struct model *m, long delta);

/* Confirmations. Returns false when the action is not allowed now
 * (read-only, not connected, nothing to act on). */
bool model_ask(struct model *m, enum confirm_action a);
void model_confirm_clear(struct model *m);
/* The operator's answer to the question asked. 'y' (or 'Y'): returns the
 * action, with what it affects copied to *out, and the marks cleared; any
 * other key: CONFIRM_NONE, nothing to do, and the status says so. The
 * question is gone either way. */
enum confirm_action model_confirm_answer(struct model *m, int key, int64_t now,
                                         struct confirm *out);

/* Sorting of the Sagas view (0..3): sorts the rows in place. */
void model_sort_sagas(struct model *m, int column);

/* Text of a reply as lines, the way redis-cli would show it. */
size_t reply_to_lines(const struct redisReply *r, char **lines, size_t max);

#endif
