/* ordertop's connection (see client.h): two bufferevents, each with a
 * hiredis redisReader turning the bytes that arrive into replies. */
#include "client.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "inline.h"
#include "model.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 10000

/* A command sent on the command link whose reply has not come yet. */
struct pending {
    client_reply_fn cb;      /* NULL: the reply is not wanted (AUTH) */
    void *arg;
    struct pending *next;
};

/* One TCP connection. */
struct link {
    struct client *c;
    struct bufferevent *bev; /* owned; NULL when closed */
    redisReader *reader;     /* owned */
    bool up;
    bool subscriber;         /* every reply is a push */
    struct pending *head, *tail;  /* owned, in the order sent */
};

struct client {
    struct event_base *base;
    char host[128];
    int port;
    char user[64], password[128];
    char whoami[64];             /* ACL WHOAMI's answer, until ACL ROLES's */
    struct client_handlers h;
    struct link cmd, sub;
    uint64_t epoch;          /* bumped when the links are closed */
    int attempt;
    enum conn_state state;
    struct event *retry;     /* reconnect */
    struct event *poll;      /* once a second */
};

int64_t client_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_state(struct client *c, enum conn_state s, int64_t retry_at)
{
    c->state = s;
    c->h.state(c->h.ctx, s, c->attempt, retry_at);
}

/* Closes a link; callbacks still waiting get NULL. */
static void link_close(struct link *l)
{
    if (l->bev) {
        bufferevent_free(l->bev);
        l->bev = NULL;
    }
    if (l->reader) {
        redisReaderFree(l->reader);
        l->reader = NULL;
    }
    l->up = false;
    struct pending *p = l->head;
    l->head = l->tail = NULL;
    while (p) {
        struct pending *next = p->next;
        if (p->cb)
            p->cb(p->arg, NULL);
        free(p);
        p = next;
    }
}

/* Either link is gone: close both, and try again after a backoff that
 * doubles from BACKOFF_FIRST_MS up to BACKOFF_MAX_MS. */
static void lost(struct client *c)
{
    if (c->state == CONN_DOWN)
        return;
    c->epoch++;
    c->state = CONN_DOWN;  /* before the NULL callbacks run */
    link_close(&c->cmd);
    link_close(&c->sub);
    c->attempt++;
    int64_t wait = BACKOFF_FIRST_MS;
    for (int i = 1; i < c->attempt && wait < BACKOFF_MAX_MS; i++)
        wait *= 2;
    if (wait > BACKOFF_MAX_MS)
        wait = BACKOFF_MAX_MS;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000)};
    evtimer_add(c->retry, &tv);
    set_state(c, CONN_DOWN, client_now_ms() + wait);
}

/* Remembers who wants the reply to what was just written. */
static void link_expect(struct link *l, client_reply_fn cb, void *arg)
{
    if (l->subscriber)
        return;
    struct pending *p = calloc(1, sizeof *p);
    if (p == NULL)
        abort();
    p->cb = cb;
    p->arg = arg;
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
}

/* Sends argv (lens: NULL for C strings) as RESP. Returns -1 when out of
 * memory (nothing sent). */
static int link_send(struct link *l, client_reply_fn cb, void *arg, int argc, const char **argv,
                     const size_t *lens)
{
    char *cmd;
    long long len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0)
        return -1;
    bufferevent_write(l->bev, cmd, (size_t)len);
    redisFreeCommand(cmd);
    link_expect(l, cb, arg);
    return 0;
}

/* AUTH's answer on the command link: a refusal is said, not swallowed. */
static void on_auth(void *arg, const redisReply *r)
{
    struct client *c = arg;
    if (r && r->type == REDIS_REPLY_ERROR) {
        char text[160];
        snprintf(text, sizeof text, "AUTH refused: %s", r->str);
        c->h.notice(c->h.ctx, text);
    }
}

/* ACL WHOAMI's answer: kept until ACL ROLES's comes. */
static void on_whoami(void *arg, const redisReply *r)
{
    struct client *c = arg;
    snprintf(c->whoami, sizeof c->whoami, "%s",
             r && r->type == REDIS_REPLY_STRING ? r->str : "");
}

/* ACL ROLES's answer. A server that does not know it says so with an
 * error: nothing is known, nothing is taken away. */
static void on_roles(void *arg, const redisReply *r)
{
    struct client *c = arg;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || c->h.identity == NULL)
        return;
    const char *roles[8];
    size_t n = 0;
    for (size_t i = 0; i < r->elements && n < 8; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            roles[n++] = r->element[i]->str;
    c->h.identity(c->h.ctx, c->whoami, roles, n);
}

static void on_both_up(struct client *c)
{
    /* A password alone is the default user's (AUTH <password>). */
    if (c->password[0]) {
        const char *auth[3] = {"AUTH"};
        int argc = 1;
        if (c->user[0])
            auth[argc++] = c->user;
        auth[argc++] = c->password;
        link_send(&c->cmd, on_auth, c, argc, auth, NULL);
        link_send(&c->sub, NULL, NULL, argc, auth, NULL);
    }
    const char *whoami[] = {"ACL", "WHOAMI"};
    const char *roles[] = {"ACL", "ROLES"};
    link_send(&c->cmd, on_whoami, c, 2, whoami, NULL);
    link_send(&c->cmd, on_roles, c, 2, roles, NULL);
    const char *psub[] = {"PSUBSCRIBE", "order.*"};
    const char *sub[] = {"SUBSCRIBE", "dlq", "breaker", "notify"};
    link_send(&c->sub, NULL, NULL, 2, psub, NULL);
    link_send(&c->sub, NULL, NULL, 4, sub, NULL);
    c->attempt = 0;
    set_state(c, CONN_UP, 0);
    c->h.poll(c->h.ctx);
}

/* Bytes arrived: feed them to the reader, hand out every whole reply. */
static void on_read(struct bufferevent *bev, void *arg)
{
    struct link *l = arg;
    struct client *c = l->c;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    if (redisReaderFeed(l->reader, (const char *)evbuffer_pullup(in, (ssize_t)n), n) != REDIS_OK) {
        lost(c);
        return;
    }
    evbuffer_drain(in, n);
    uint64_t epoch = c->epoch;
    for (;;) {
        void *r = NULL;
        if (redisReaderGetReply(l->reader, &r) != REDIS_OK) {
            lost(c);
            return;
        }
        if (r == NULL)
            return;
        if (l->subscriber) {
            c->h.push(c->h.ctx, r);
        } else if (l->head) {
            struct pending *p = l->head;
            l->head = p->next;
            if (l->head == NULL)
                l->tail = NULL;
            if (p->cb)
                p->cb(p->arg, r);
            free(p);
        }
        freeReplyObject(r);
        if (c->epoch != epoch)
            return;  /* a callback closed the links */
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct link *l = arg;
    struct client *c = l->c;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        l->up = true;
        if (c->cmd.up && c->sub.up)
            on_both_up(c);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        lost(c);
}

static int link_open(struct client *c, struct link *l, bool subscriber)
{
    memset(l, 0, sizeof *l);
    l->c = c;
    l->subscriber = subscriber;
    l->reader = redisReaderCreate();
    l->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (l->reader == NULL || l->bev == NULL)
        return -1;
    bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
    bufferevent_enable(l->bev, EV_READ | EV_WRITE);

    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct evutil_addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", c->port);
    if (evutil_getaddrinfo(c->host, port, &hints, &ai) != 0 || ai == NULL)
        return -1;
    int rc = bufferevent_socket_connect(l->bev, ai->ai_addr, (int)ai->ai_addrlen);
    evutil_freeaddrinfo(ai);
    return rc;
}

static void connect_both(struct client *c)
{
    set_state(c, CONN_CONNECTING, 0);
    if (link_open(c, &c->cmd, false) != 0 || link_open(c, &c->sub, true) != 0)
        lost(c);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    connect_both(arg);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;
    (void)fd;
    (void)what;
    if (c->state == CONN_UP)
        c->h.poll(c->h.ctx);
    else
        c->h.state(c->h.ctx, c->state, c->attempt, 0);  /* the countdown moves */
}

struct client *client_new(struct event_base *base, const char *host, int port, const char *user,
                          const char *password, const struct client_handlers *h)
{
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->base = base;
    snprintf(c->host, sizeof c->host, "%s", host);
    c->port = port;
    snprintf(c->user, sizeof c->user, "%s", user ? user : "");
    snprintf(c->password, sizeof c->password, "%s", password ? password : "");
    c->h = *h;
    c->state = CONN_CONNECTING;
    c->retry = evtimer_new(base, on_retry, c);
    c->poll = event_new(base, -1, EV_PERSIST, on_poll, c);
    return c;
}

void client_start(struct client *c)
{
    struct timeval second = {1, 0};
    evtimer_add(c->poll, &second);
    connect_both(c);
}

void client_free(struct client *c)
{
    if (c == NULL)
        return;
    c->state = CONN_DOWN;
    c->h.state = NULL;
    struct pending *p;
    /* Nobody is listening any more: drop the callbacks, then close. */
    for (struct link *l = &c->cmd; l; l = l == &c->cmd ? &c->sub : NULL) {
        while ((p = l->head)) {
            l->head = p->next;
            free(p);
        }
        l->tail = NULL;
        link_close(l);
    }
    event_free(c->retry);
    event_free(c->poll);
    free(c);
}

bool client_up(const struct client *c)
{
    return c->state == CONN_UP;
}

const char *client_command_line(struct client *c, client_reply_fn cb, void *arg, const char *line)
{
    if (!client_up(c))
        return "not connected";
    struct argv_builder words;
    argv_init(&words);
    const char *err = NULL;
    switch (inline_split(line, strlen(line), CLIENT_LINE_ARGS, &words)) {
    case INLINE_OK: break;
    case INLINE_UNTERMINATED: err = "unbalanced quotes"; break;
    case INLINE_BAD_ESCAPE: err = "unknown escape after \\"; break;
    case INLINE_TOO_MANY: err = "too many arguments"; break;
    }
    struct request req;
    argv_finish(&words, &req);
    if (err == NULL && req.argc == 0)
        err = "nothing to send";
    if (err == NULL) {
        const char *argv[CLIENT_LINE_ARGS];
        size_t lens[CLIENT_LINE_ARGS];
        for (size_t i = 0; i < req.argc; i++) {
            argv[i] = req.argv[i].ptr;
            lens[i] = req.argv[i].len;
        }
        if (link_send(&c->cmd, cb, arg, (int)req.argc, argv, lens) != 0)
            err = "out of memory";
    }
    argv_free(&words);
    return err;
}
