/* Live pub/sub (see pubsub.h). The server side keeps channel -> clients;
 * each client keeps its own channels and patterns so it can be forgotten
 * when it leaves without scanning everything. */
#include "pubsub.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "lib/glob.h"
#include "render.h"
#include "reply.h"
#include "lib/strmap.h"
#include "xalloc.h"

struct ps_channel {
    char *name;              /* owned */
    size_t len;
    struct subscriber **subs;  /* owned array; the subscribers are borrowed */
    size_t n, cap;
};

struct ps_pattern {
    char *pat;               /* owned */
    size_t len;
    struct subscriber *sub;
    struct ps_pattern *prev, *next;  /* every pattern, in subscription order */
};

struct pubsub_client {
    struct strmap channels;  /* name -> struct ps_channel * */
    struct strmap patterns;  /* pattern -> struct ps_pattern * (owned) */
};

struct pubsub {
    struct strmap channels;  /* name -> struct ps_channel * (owned) */
    struct ps_pattern *phead, *ptail;
    size_t npatterns;
    struct buf resp, text;   /* scratch renderings */
};

struct pubsub *pubsub_new(void)
{
    struct pubsub *ps = xcalloc(1, sizeof *ps);
    strmap_init(&ps->channels);
    buf_init(&ps->resp);
    buf_init(&ps->text);
    return ps;
}

static void pattern_free(struct pubsub *ps, struct ps_pattern *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        ps->phead = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        ps->ptail = p->prev;
    ps->npatterns--;
    free(p->pat);
    free(p);
}

void pubsub_free(struct pubsub *ps)
{
    if (ps == NULL)
        return;
    size_t it = 0, len;
    const char *k;
    void *v;
    while (strmap_next(&ps->channels, &it, &k, &len, &v)) {
        struct ps_channel *ch = v;
        free(ch->subs);
        free(ch->name);
        free(ch);
    }
    strmap_free(&ps->channels);
    while (ps->phead)
        pattern_free(ps, ps->phead);
    buf_free(&ps->resp);
    buf_free(&ps->text);
    free(ps);
}

static struct pubsub_client *client(struct subscriber *c, bool create)
{
    if (c->client == NULL && create) {
        c->client = xcalloc(1, sizeof *c->client);
        strmap_init(&c->client->channels);
        strmap_init(&c->client->patterns);
    }
    return c->client;
}

size_t pubsub_count(struct subscriber *c)
{
    struct pubsub_client *pc = client(c, false);
    return pc ? pc->channels.count + pc->patterns.count : 0;
}

bool pubsub_has(struct subscriber *c, const char *name, size_t len, bool pattern)
{
    struct pubsub_client *pc = client(c, false);
    return pc && strmap_get(pattern ? &pc->patterns : &pc->channels, name, len) != NULL;
}

size_t pubsub_subscribe(struct pubsub *ps, struct subscriber *c, const char *name, size_t len)
{
    struct pubsub_client *pc = client(c, true);
    if (strmap_get(&pc->channels, name, len))
        return pubsub_count(c);
    struct ps_channel *ch = strmap_get(&ps->channels, name, len);
    if (ch == NULL) {
        ch = xcalloc(1, sizeof *ch);
        ch->name = xstrndup(name, len);
        ch->len = len;
        strmap_put(&ps->channels, name, len, ch);
    }
    if (ch->n == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 4;
        ch->subs = xrealloc(ch->subs, ch->cap * sizeof *ch->subs);
    }
    ch->subs[ch->n++] = c;
    strmap_put(&pc->channels, name, len, ch);
    return pubsub_count(c);
}

static void drop_subscriber(struct pubsub *ps, struct ps_channel *ch, struct subscriber *c)
{
    for (size_t i = 0; i < ch->n; i++) {
        if (ch->subs[i] == c) {
            ch->subs[i] = ch->subs[--ch->n];
            break;
        }
    }
    if (ch->n == 0) {
        strmap_del(&ps->channels, ch->name, ch->len);
        free(ch->subs);
        free(ch->name);
        free(ch);
    }
}

size_t pubsub_unsubscribe(struct pubsub *ps, struct subscriber *c, const char *name, size_t len)
{
    struct pubsub_client *pc = client(c, false);
    if (pc == NULL)
        return 0;
    struct ps_channel *ch = strmap_del(&pc->channels, name, len);
    if (ch)
        drop_subscriber(ps, ch, c);
    return pubsub_count(c);
}

size_t pubsub_psubscribe(struct pubsub *ps, struct subscriber *c, const char *pat, size_t len)
{
    struct pubsub_client *pc = client(c, true);
    if (strmap_get(&pc->patterns, pat, len))
        return pubsub_count(c);
    struct ps_pattern *p = xcalloc(1, sizeof *p);
    p->pat = xstrndup(pat, len);
    p->len = len;
    p->sub = c;
    /* Kept in order: pattern messages go out in subscription order. */
    p->prev = ps->ptail;
    if (ps->ptail)
        ps->ptail->next = p;
    else
        ps->phead = p;
    ps->ptail = p;
    ps->npatterns++;
    strmap_put(&pc->patterns, pat, len, p);
    return pubsub_count(c);
}

size_t pubsub_punsubscribe(struct pubsub *ps, struct subscriber *c, const char *pat, size_t len)
{
    struct pubsub_client *pc = client(c, false);
    if (pc == NULL)
        return 0;
    struct ps_pattern *p = strmap_del(&pc->patterns, pat, len);
    if (p)
        pattern_free(ps, p);
    return pubsub_count(c);
}

void pubsub_unsubscribe_all(struct pubsub *ps, struct subscriber *c, bool patterns,
                            void (*each)(void *arg, const char *name, size_t len,
                                         size_t remaining),
                            void *arg)
{
    struct pubsub_client *pc = client(c, false);
    if (pc == NULL)
        return;
    struct strmap *m = patterns ? &pc->patterns : &pc->channels;
    size_t remaining = pubsub_count(c);
    size_t it = 0, len;
    const char *k;
    void *v;
    /* One walk: the map's keys are its own copies, so they outlive what
     * each entry points at; the map itself goes at the end. */
    while (strmap_next(m, &it, &k, &len, &v)) {
        if (patterns)
            pattern_free(ps, v);
        else
            drop_subscriber(ps, v, c);
        if (each)
            each(arg, k, len, --remaining);
    }
    strmap_free(m);
    strmap_init(m);
}

void pubsub_client_gone(struct pubsub *ps, struct subscriber *c)
{
    struct pubsub_client *pc = client(c, false);
    if (pc == NULL)
        return;
    pubsub_unsubscribe_all(ps, c, false, NULL, NULL);
    pubsub_unsubscribe_all(ps, c, true, NULL, NULL);
    strmap_free(&pc->channels);
    strmap_free(&pc->patterns);
    free(pc);
    c->client = NULL;
}

/* One message on its way out: rendered in a framing the first time a
 * subscriber needs that framing, then the same bytes for everyone; or
 * handed as it is to a subscriber that frames it itself. */
struct outgoing {
    struct reply *msg;
    bool resp_ready, text_ready;
    bool change;
    struct pubsub_message m;
};

static void deliver(struct pubsub *ps, struct outgoing *o, struct subscriber *c)
{
    if (c->deliver) {
        c->deliver(c, &o->m);
        return;
    }
    struct buf *b;
    if (c->kind == PROTO_RESP) {
        b = &ps->resp;
        if (!o->resp_ready) {
            buf_clear(b);
            render_resp(b, o->msg);
            o->resp_ready = true;
        }
    } else {
        b = &ps->text;
        if (!o->text_ready) {
            buf_clear(b);
            render_text(b, o->msg);
            o->text_ready = true;
        }
    }
    c->push(c, buf_head(b), buf_used(b), o->change);
}

size_t pubsub_publish(struct pubsub *ps, const char *chname, size_t chlen,
                      const char *payload, size_t plen, uint64_t offset, bool change)
{
    size_t receivers = 0;
    struct pubsub_message m = {NULL, 0, chname, chlen, payload, plen, offset, change};
    struct ps_channel *ch = strmap_get(&ps->channels, chname, chlen);
    if (ch) {
        struct outgoing o = {reply_push_as("message", "MSG"), false, false, change, m};
        reply_list_add(o.msg, reply_string(chname, chlen));
        reply_list_add(o.msg, reply_string(payload, plen));
        for (size_t i = 0; i < ch->n; i++)
            deliver(ps, &o, ch->subs[i]);
        receivers += ch->n;
        reply_free(o.msg);
    }
    for (struct ps_pattern *p = ps->phead; p; p = p->next) {
        if (!glob_match(p->pat, p->len, chname, chlen))
            continue;
        struct outgoing o = {reply_push_as("pmessage", "PMSG"), false, false, change, m};
        o.m.pattern = p->pat;
        o.m.patlen = p->len;
        reply_list_add(o.msg, reply_string(p->pat, p->len));
        reply_list_add(o.msg, reply_string(chname, chlen));
        reply_list_add(o.msg, reply_string(payload, plen));
        deliver(ps, &o, p->sub);
        receivers++;
        reply_free(o.msg);
    }
    return receivers;
}

bool pubsub_heard(const struct pubsub *ps, const char *chname, size_t chlen)
{
    if (strmap_get(&ps->channels, chname, chlen))
        return true;  /* a channel is dropped with its last subscriber */
    for (const struct ps_pattern *p = ps->phead; p; p = p->next)
        if (glob_match(p->pat, p->len, chname, chlen))
            return true;
    return false;
}

size_t pubsub_subscribers(const struct pubsub *ps, const char *name, size_t len)
{
    const struct ps_channel *ch = strmap_get(&ps->channels, name, len);
    return ch ? ch->n : 0;
}

bool pubsub_next_channel(const struct pubsub *ps, size_t *iter, const char **name,
                         size_t *len, size_t *subscribers)
{
    void *v;
    if (!strmap_next(&ps->channels, iter, name, len, &v))
        return false;
    *subscribers = ((struct ps_channel *)v)->n;
    return true;
}

size_t pubsub_pattern_count(const struct pubsub *ps)
{
    return ps->npatterns;
}

size_t pubsub_channel_count(const struct pubsub *ps)
{
    return ps->channels.count;
}
