/* Durable channels and consumer groups (see channel.h).
 *
 * A channel's log is a ring of refcounted messages; a group's pending
 * entries hold a reference too, so a message trimmed from the log by
 * retention is not lost while a group still has it in flight. Every
 * deadline (ack wait, NACK delay, age retention) is a node in one indexed
 * heap owned by the registry. */
#include "channel.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "lib/heap.h"
#include "lib/sorted.h"
#include "lib/strmap.h"
#include "xalloc.h"

/* Consumers remembered per group (those of closed connections are
 * forgotten): a client inventing a new name per request must not grow the
 * group forever. */
#define GROUP_MAX_CONSUMERS CHAN_MAX_CONSUMERS

enum due_kind { DUE_PENDING, DUE_RETENTION };

struct chan_msg {
    uint32_t refs;
    bool unmade;     /* recovery: payload holds a struct chan_recipe, len is 0 */
    uint64_t offset;
    int64_t time_ms;
    size_t len;
    char payload[];  /* len bytes, then a NUL */
};

struct chan_owner;

/* A link in one of a connection's lists (struct chan_owner). */
struct owner_link {
    struct owner_link *prev, *next;
};

struct chan_consumer {
    char *name;       /* owned */
    struct chan_group *group;
    uint64_t owner;   /* connection that used it last; 0 once it is gone */
    int64_t seen_ms;
    size_t refs;      /* pending entries naming it as their last consumer */
    struct chan_owner *on;        /* owner's record, while owner != 0 */
    struct owner_link olink;      /* in on->consumers */
};

struct chan_pending {
    struct heap_node due;         /* first: the heap hands this back */
    struct chan_group *group;
    struct chan_msg *msg;         /* a reference */
    struct chan_consumer *consumer;
    uint64_t owner;               /* connection it was last delivered on */
    uint32_t deliveries;
    uint32_t replays;
    int64_t first_ms, last_ms;    /* deliveries; 0 before the first */
    enum pending_state state;
    char *reason;                 /* owned: why it last failed */
    struct chan_pending *rprev, *rnext;  /* READY queue, in arrival order */
    struct chan_owner *on;        /* INFLIGHT on a connection: its record */
    struct owner_link olink;      /* in on->inflight */
};

/* What one connection holds, across every group: the messages in flight
 * on it and the consumers it used last. A connection that closes is
 * settled from here, without walking every pending entry of every group. */
struct chan_owner {
    uint64_t id;
    struct owner_link *inflight;   /* of struct chan_pending */
    struct owner_link *consumers;  /* of struct chan_consumer */
};

#define OWNED(ptr, type) ((type *)((char *)(ptr) - offsetof(type, olink)))

struct chan_group {
    char *name;                   /* owned */
    struct channel *ch;
    uint64_t next;                /* next offset never delivered */
    struct strmap pending;        /* 8-byte offset -> struct chan_pending */
    struct chan_pending *rhead, *rtail;
    /* Offsets after next settled before they were ever delivered
     * (group_settle), ascending: handing out steps over them. Only those
     * still ahead of next are kept, so at most the log's length. */
    uint64_t *skip;
    size_t nskip, skipcap;
    struct chan_consumer **consumers;  /* owned; each allocated once, so
                                          pending entries can point at it */
    size_t nconsumers;
    struct chan_waiter *whead, *wtail;
    bool touched;                 /* chreg_owner_gone: seen already */
};

struct channel {
    struct heap_node retention;   /* first: the heap hands this back */
    struct chan_registry *reg;
    char *name;                   /* owned */
    struct chan_settings s;
    struct chan_msg **ring;       /* count messages from head */
    size_t cap, head, count;
    uint64_t bytes;               /* payload bytes in the ring */
    uint64_t first;               /* offset of ring[head] */
    uint64_t next_offset;         /* what the next append gets */
    struct chan_group **groups;
    size_t ngroups;
};

struct chan_registry {
    struct strmap channels;       /* name -> struct channel (owned) */
    struct dlq *dlq;              /* borrowed */
    struct chan_hooks hooks;
    struct heap due;
    struct strmap owners;         /* 8-byte connection id -> struct chan_owner */
    int64_t resumed_ms;           /* see chreg_resumed() */
    uint64_t rng;
    bool applying;                /* recovery: hooks stay quiet */
    /* Recovery: makes an unmade message's payload (chreg_remake_with()). */
    int (*remake)(void *arg, const struct chan_recipe *recipe, struct buf *out);
    void *remake_arg;
    struct buf made;              /* scratch for it */
    /* chreg_find's last answer (channels are never freed), owned: a
     * cache, so a const registry may still keep it. */
    struct channel **last_found;
};

static void emit(struct chan_registry *r, const struct chan_change *c)
{
    if (!r->applying && r->hooks.changed)
        r->hooks.changed(r->hooks.ctx, c);
}

void chan_settings_default(struct chan_settings *s)
{
    s->maxlen = CHAN_MAXLEN_DEFAULT;
    s->maxage_ms = 0;
    s->ackwait_ms = CHAN_ACKWAIT_DEFAULT_MS;
    s->maxdeliver = CHAN_MAXDELIVER_DEFAULT;
    s->backoff_ms = CHAN_BACKOFF_DEFAULT_MS;
    s->backoff_max_ms = CHAN_BACKOFF_MAX_DEFAULT_MS;
    s->maxpending = CHAN_MAXPENDING_DEFAULT;
    s->maxbytes = CHAN_MAXBYTES_DEFAULT;
}

static void msg_unref(struct chan_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

static struct chan_msg *msg_new(uint64_t offset, int64_t time_ms, const char *p, size_t len)
{
    struct chan_msg *m = xmalloc(sizeof *m + len + 1);
    m->refs = 1;
    m->unmade = false;
    m->offset = offset;
    m->time_ms = time_ms;
    m->len = len;
    memcpy(m->payload, p, len);
    m->payload[len] = '\0';
    return m;
}

/* A message recorded by its recipe, whose payload is made when it is
 * first needed: at recovery most of them leave the log (count retention)
 * before anyone reads them. */
static struct chan_msg *msg_new_unmade(uint64_t offset, int64_t time_ms,
                                       const struct chan_recipe *recipe)
{
    struct chan_msg *m = xmalloc(sizeof *m + sizeof *recipe + 1);
    m->refs = 1;
    m->unmade = true;
    m->offset = offset;
    m->time_ms = time_ms;
    m->len = 0;
    memcpy(m->payload, recipe, sizeof *recipe);
    return m;
}

/* xorshift64*: jitter only, not security. */
static uint64_t rng_next(struct chan_registry *r)
{
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 2685821657736338717ULL;
}

struct chan_registry *chreg_new(struct dlq *dlq, const struct chan_hooks *hooks,
                                uint64_t seed)
{
    struct chan_registry *r = xcalloc(1, sizeof *r);
    strmap_init(&r->channels);
    strmap_init(&r->owners);
    heap_init(&r->due);
    r->dlq = dlq;
    if (hooks)
        r->hooks = *hooks;
    r->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
    r->last_found = xcalloc(1, sizeof *r->last_found);
    buf_init(&r->made);
    return r;
}

static void pending_free(struct chan_pending *p)
{
    if (p->consumer)
        p->consumer->refs--;
    msg_unref(p->msg);
    free(p->reason);
    free(p);
}

static void group_free(struct chan_group *g)
{
    size_t it = 0, len;
    const char *k;
    void *v;
    while (strmap_next(&g->pending, &it, &k, &len, &v))
        pending_free(v);
    strmap_free(&g->pending);
    free(g->skip);
    for (size_t i = 0; i < g->nconsumers; i++) {
        free(g->consumers[i]->name);
        free(g->consumers[i]);
    }
    free(g->consumers);
    /* Waiters belong to their connections, which are gone by now. */
    free(g->name);
    free(g);
}

void chreg_free(struct chan_registry *r)
{
    if (r == NULL)
        return;
    free(r->last_found);
    buf_free(&r->made);
    heap_free(&r->due);
    size_t it = 0, len;
    const char *k;
    void *v;
    while (strmap_next(&r->channels, &it, &k, &len, &v)) {
        struct channel *ch = v;
        for (size_t i = 0; i < ch->ngroups; i++)
            group_free(ch->groups[i]);
        free(ch->groups);
        for (size_t i = 0; i < ch->count; i++)
            msg_unref(ch->ring[(ch->head + i) % ch->cap]);
        free(ch->ring);
        free(ch->name);
        free(ch);
    }
    strmap_free(&r->channels);
    it = 0;
    while (strmap_next(&r->owners, &it, &k, &len, &v))
        free(v);
    strmap_free(&r->owners);
    free(r);
}

/* --- who holds what ---------------------------------------------------- */

static struct chan_owner *owner_get(struct chan_registry *r, uint64_t id, bool create)
{
    struct chan_owner *o = strmap_get(&r->owners, (const char *)&id, sizeof id);
    if (o == NULL && create) {
        o = xcalloc(1, sizeof *o);
        o->id = id;
        strmap_put(&r->owners, (const char *)&o->id, sizeof o->id, o);
    }
    return o;
}

static void link_out(struct owner_link *l, struct owner_link **head)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        *head = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

static void link_in(struct owner_link *l, struct owner_link **head)
{
    l->prev = NULL;
    l->next = *head;
    if (l->next)
        l->next->prev = l;
    *head = l;
}

/* p is in flight on connection id (0: on none, or not in flight). */
static void pending_own(struct chan_registry *r, struct chan_pending *p, uint64_t id)
{
    if (p->on)
        link_out(&p->olink, &p->on->inflight);
    p->owner = id;
    p->on = id ? owner_get(r, id, true) : NULL;
    if (p->on)
        link_in(&p->olink, &p->on->inflight);
}

/* c was used last on connection id (0: that connection is gone). */
static void consumer_own(struct chan_registry *r, struct chan_consumer *c, uint64_t id)
{
    if (c->owner == id && (id == 0 || c->on))
        return;
    if (c->on)
        link_out(&c->olink, &c->on->consumers);
    c->owner = id;
    c->on = id ? owner_get(r, id, true) : NULL;
    if (c->on)
        link_in(&c->olink, &c->on->consumers);
}

static void due_set(struct chan_registry *r, struct heap_node *node, int64_t due_ms)
{
    struct heap_node *top = heap_peek(&r->due);
    int64_t before = top ? top->due_ms : -1;
    heap_set(&r->due, node, due_ms);
    if ((before < 0 || due_ms < before) && r->hooks.due_changed)
        r->hooks.due_changed(r->hooks.ctx);
}

static bool same_settings(const struct chan_settings *a, const struct chan_settings *b)
{
    return a->maxlen == b->maxlen && a->maxage_ms == b->maxage_ms &&
           a->ackwait_ms == b->ackwait_ms && a->maxdeliver == b->maxdeliver &&
           a->backoff_ms == b->backoff_ms && a->backoff_max_ms == b->backoff_max_ms &&
           a->maxpending == b->maxpending && a->maxbytes == b->maxbytes;
}

enum chan_declare chreg_declare(struct chan_registry *r, const char *name,
                                const struct chan_settings *s, struct channel **out)
{
    struct channel *ch = strmap_get(&r->channels, name, strlen(name));
    if (ch) {
        *out = ch;
        return same_settings(&ch->s, s) ? CHAN_EXISTS : CHAN_CONFLICT;
    }
    ch = xcalloc(1, sizeof *ch);
    ch->retention.kind = DUE_RETENTION;
    ch->reg = r;
    ch->name = xstrdup(name);
    ch->s = *s;
    ch->first = ch->next_offset = 1;
    strmap_put(&r->channels, name, strlen(name), ch);
    *out = ch;
    emit(r, &(struct chan_change){.type = CHG_DECLARE, .channel = ch->name, .settings = &ch->s});
    return CHAN_CREATED;
}

struct channel *chreg_find(const struct chan_registry *r, const char *name)
{
    /* Recovery asks for the same few channels millions of times. */
    struct channel *last = *r->last_found;
    if (last && strcmp(last->name, name) == 0)
        return last;
    struct channel *ch = strmap_get(&r->channels, name, strlen(name));
    if (ch)
        *r->last_found = ch;
    return ch;
}

size_t chreg_count(const struct chan_registry *r)
{
    return r->channels.count;
}

bool chreg_next(const struct chan_registry *r, size_t *iter, struct channel **ch)
{
    const char *k;
    size_t len;
    void *v;
    if (!strmap_next(&r->channels, iter, &k, &len, &v))
        return false;
    *ch = v;
    return true;
}

const char *chan_name(const struct channel *ch) { return ch->name; }
const struct chan_settings *chan_settings(const struct channel *ch) { return &ch->s; }
uint64_t chan_first_offset(const struct channel *ch) { return ch->first; }
uint64_t chan_last_offset(const struct channel *ch) { return ch->next_offset - 1; }
size_t chan_length(const struct channel *ch) { return ch->count; }
uint64_t chan_bytes(const struct channel *ch) { return ch->bytes; }
size_t chan_group_count(const struct channel *ch) { return ch->ngroups; }
const char *group_name(const struct chan_group *g) { return g->name; }

struct chan_group *chan_group_at(const struct channel *ch, size_t i)
{
    return i < ch->ngroups ? ch->groups[i] : NULL;
}

/* --- the log ----------------------------------------------------------- */

static struct chan_msg *msg_at(const struct channel *ch, uint64_t offset)
{
    return ch->ring[(ch->head + (offset - ch->first)) % ch->cap];
}

/* The message at offset with its payload made (see msg_new_unmade()). */
static struct chan_msg *made_at(struct chan_registry *r, struct channel *ch, uint64_t offset)
{
    struct chan_msg **slot = &ch->ring[(ch->head + (offset - ch->first)) % ch->cap];
    struct chan_msg *m = *slot;
    if (!m->unmade)
        return m;
    struct chan_recipe recipe;
    memcpy(&recipe, m->payload, sizeof recipe);
    buf_clear(&r->made);
    if (r->remake == NULL || r->remake(r->remake_arg, &recipe, &r->made) != 0)
        buf_clear(&r->made);  /* never for a recipe recovery accepted */
    struct chan_msg *full = msg_new(m->offset, m->time_ms, buf_head(&r->made),
                                    buf_used(&r->made));
    ch->bytes += full->len;
    msg_unref(m);  /* only the log held it: nothing is handed out unmade */
    *slot = full;
    return full;
}

static void drop_oldest(struct channel *ch)
{
    ch->bytes -= ch->ring[ch->head]->len;
    msg_unref(ch->ring[ch->head]);
    ch->ring[ch->head] = NULL;
    ch->head = (ch->head + 1) % ch->cap;
    ch->count--;
    ch->first++;
}

/* Age retention: drop what is too old, and be woken for the next one. */
static void trim_by_age(struct chan_registry *r, struct channel *ch, int64_t now)
{
    if (ch->s.maxage_ms <= 0)
        return;
    while (ch->count > 0 && ch->ring[ch->head]->time_ms + ch->s.maxage_ms <= now)
        drop_oldest(ch);
    if (ch->count > 0)
        due_set(r, &ch->retention, ch->ring[ch->head]->time_ms + ch->s.maxage_ms);
    else
        heap_remove(&r->due, &ch->retention);
}

/* Index of the first skipped offset at or after off. */
static size_t skip_from(const struct chan_group *g, uint64_t off)
{
    return sorted_lower_bound(g->skip, g->nskip, off);
}

/* The next offset to hand out: past what retention took, and past what
 * was settled without being delivered. */
static uint64_t next_unsettled(const struct chan_group *g)
{
    uint64_t next = g->next < g->ch->first ? g->ch->first : g->next;
    for (size_t i = skip_from(g, next); i < g->nskip && g->skip[i] == next; i++)
        next++;
    return next;
}

/* Moves next to next_unsettled(), forgetting the skipped offsets it
 * passed: g->next itself is never one of them. */
static void advance_next(struct chan_group *g)
{
    g->next = next_unsettled(g);
    size_t behind = skip_from(g, g->next);
    if (behind > 0) {
        memmove(g->skip, g->skip + behind, (g->nskip - behind) * sizeof *g->skip);
        g->nskip -= behind;
    }
}

/* Marks offset, not yet handed out, as never to be. Returns false when it
 * cannot be (handed out already, trimmed, not yet published) or is
 * already. */
static bool skip_offset(struct chan_group *g, uint64_t offset)
{
    advance_next(g);
    if (offset < g->next || offset >= g->ch->next_offset)
        return false;
    size_t i = skip_from(g, offset);
    if (i < g->nskip && g->skip[i] == offset)
        return false;
    if (g->nskip == g->skipcap) {
        g->skipcap = g->skipcap ? g->skipcap * 2 : 16;
        g->skip = xrealloc(g->skip, g->skipcap * sizeof *g->skip);
    }
    memmove(g->skip + i + 1, g->skip + i, (g->nskip - i) * sizeof *g->skip);
    g->skip[i] = offset;
    g->nskip++;
    advance_next(g);
    return true;
}

static bool has_deliverable(const struct chan_group *g)
{
    if (g->rhead)
        return true;
    return next_unsettled(g) < g->ch->next_offset && g->pending.count < g->ch->s.maxpending;
}

/* Serves blocked consumers while there is something to serve. Each waiter
 * is taken off the list before its callback runs, so it is called once. */
static void wake(struct chan_group *g)
{
    while (g->whead && has_deliverable(g)) {
        struct chan_waiter *w = g->whead;
        group_unwait(w);
        w->ready(w);
    }
}

uint64_t chan_append(struct chan_registry *r, struct channel *ch, const char *payload,
                     size_t len, int64_t now)
{
    return chan_append_made(r, ch, payload, len, now, NULL);
}

/* Makes room for one more message of len bytes (retention by count and
 * size), growing the ring if it is full. */
static void make_room(struct channel *ch, size_t len)
{
    if (ch->s.maxlen > 0)
        while (ch->count >= ch->s.maxlen)
            drop_oldest(ch);
    /* Retention by size too: a channel is not a way to fill memory. */
    if (ch->s.maxbytes > 0)
        while (ch->count > 0 && ch->bytes + len > ch->s.maxbytes)
            drop_oldest(ch);
    if (ch->count == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 64;
        struct chan_msg **ring = xcalloc(cap, sizeof *ring);
        for (size_t i = 0; i < ch->count; i++)
            ring[i] = ch->ring[(ch->head + i) % ch->cap];
        free(ch->ring);
        ch->ring = ring;
        ch->cap = cap;
        ch->head = 0;
    }
}

uint64_t chan_append_made(struct chan_registry *r, struct channel *ch, const char *payload,
                          size_t len, int64_t now, const struct chan_recipe *recipe)
{
    make_room(ch, len);
    /* Recovery may leave the payload to be made from its recipe. */
    struct chan_msg *m = payload == NULL && recipe
                             ? msg_new_unmade(ch->next_offset++, now, recipe)
                             : msg_new(ch->next_offset++, now, payload, len);
    ch->ring[(ch->head + ch->count++) % ch->cap] = m;
    ch->bytes += m->len;
    emit(r, &(struct chan_change){.type = CHG_APPEND, .channel = ch->name, .offset = m->offset,
                                  .time_ms = now, .payload = payload, .len = len,
                                  .recipe = recipe});
    /* The oldest message may have changed (count retention): keep the
     * age deadline exact so the timer never fires for nothing. */
    if (ch->s.maxage_ms > 0)
        trim_by_age(r, ch, now);
    for (size_t i = 0; i < ch->ngroups; i++)
        wake(ch->groups[i]);
    return m->offset;
}

size_t chan_read(struct chan_registry *r, struct channel *ch, uint64_t from, size_t max,
                 struct chan_delivery *out, int64_t now)
{
    trim_by_age(r, ch, now);
    size_t n = 0;
    if (from < ch->first)
        from = ch->first;
    for (uint64_t off = from; off < ch->next_offset && n < max; off++) {
        struct chan_msg *m = made_at(r, ch, off);
        out[n++] = (struct chan_delivery){m->offset, 0, m->time_ms, m->payload, m->len};
    }
    return n;
}

/* --- groups ------------------------------------------------------------ */

struct chan_group *chan_group(struct channel *ch, const char *name, bool create)
{
    for (size_t i = 0; i < ch->ngroups; i++)
        if (strcmp(ch->groups[i]->name, name) == 0)
            return ch->groups[i];
    if (!create)
        return NULL;
    struct chan_group *g = xcalloc(1, sizeof *g);
    g->name = xstrdup(name);
    g->ch = ch;
    g->next = ch->first;  /* the oldest retained message */
    strmap_init(&g->pending);
    ch->groups = xrealloc(ch->groups, (ch->ngroups + 1) * sizeof *ch->groups);
    ch->groups[ch->ngroups++] = g;
    emit(ch->reg, &(struct chan_change){.type = CHG_GROUP, .channel = ch->name,
                                        .group = g->name, .offset = g->next});
    return g;
}

static struct chan_pending *pending_get(const struct chan_group *g, uint64_t offset)
{
    return strmap_get(&g->pending, (const char *)&offset, sizeof offset);
}

static void ready_unlink(struct chan_group *g, struct chan_pending *p)
{
    if (p->rprev)
        p->rprev->rnext = p->rnext;
    else
        g->rhead = p->rnext;
    if (p->rnext)
        p->rnext->rprev = p->rprev;
    else
        g->rtail = p->rprev;
    p->rprev = p->rnext = NULL;
}

/* Redeliveries go out oldest first, whatever order they became due in
 * (a lost consumer's messages come out of a hash map; equal deadlines out
 * of a heap): the ready queue is kept sorted by offset. Usually they arrive
 * in order, so the walk from the tail stops at once. */
static void make_ready(struct chan_registry *r, struct chan_pending *p)
{
    struct chan_group *g = p->group;
    heap_remove(&r->due, &p->due);
    pending_own(r, p, 0);
    p->state = PENDING_READY;
    struct chan_pending *after = g->rtail;
    while (after && after->msg->offset > p->msg->offset)
        after = after->rprev;
    p->rprev = after;
    p->rnext = after ? after->rnext : g->rhead;
    if (p->rnext)
        p->rnext->rprev = p;
    else
        g->rtail = p;
    if (after)
        after->rnext = p;
    else
        g->rhead = p;
}

/* Takes p out of the group entirely; the caller frees or hands it on. */
static void settle(struct chan_registry *r, struct chan_pending *p)
{
    struct chan_group *g = p->group;
    if (p->state == PENDING_READY)
        ready_unlink(g, p);
    heap_remove(&r->due, &p->due);
    pending_own(r, p, 0);
    uint64_t off = p->msg->offset;
    strmap_del(&g->pending, (const char *)&off, sizeof off);
}

static void set_reason(struct chan_pending *p, const char *reason)
{
    free(p->reason);
    p->reason = reason ? xstrdup(reason) : NULL;
}

static void dead_letter(struct chan_registry *r, struct chan_pending *p, const char *reason,
                        int64_t now)
{
    struct chan_group *g = p->group;
    struct dlq_entry e = {
        .channel = g->ch->name,
        .group = g->name,
        .offset = p->msg->offset,
        .payload = p->msg->payload,
        .len = p->msg->len,
        .reason = (char *)reason,
        .deliveries = p->deliveries,
        .replays = p->replays,
        .msg_time_ms = p->msg->time_ms,
        .first_ms = p->first_ms,
        .last_ms = p->last_ms,
        .dead_ms = now,
    };
    emit(r, &(struct chan_change){.type = CHG_DEAD, .channel = g->ch->name, .group = g->name,
                                  .offset = p->msg->offset, .reason = reason, .time_ms = now});
    uint64_t id = dlq_add(r->dlq, &e);
    settle(r, p);
    pending_free(p);
    if (!r->applying && r->hooks.dead_lettered)
        r->hooks.dead_lettered(r->hooks.ctx, dlq_get(r->dlq, id));
}

/* A delivery did not end in an ACK (NACK, ack timeout, consumer lost):
 * after maxdeliver deliveries the message is dead-lettered, otherwise it
 * becomes deliverable again after delay_ms. */
static void failed_delivery(struct chan_registry *r, struct chan_pending *p,
                            const char *reason, int64_t delay_ms, int64_t now)
{
    set_reason(p, reason);
    if (p->deliveries >= p->group->ch->s.maxdeliver) {
        dead_letter(r, p, reason, now);
        return;
    }
    if (delay_ms <= 0) {
        make_ready(r, p);
        return;
    }
    pending_own(r, p, 0);
    p->state = PENDING_DELAYED;
    due_set(r, &p->due, now + delay_ms);
}

/* Exponential backoff with equal jitter: half the step is guaranteed, so
 * a consumer that fails at once cannot spin through its deliveries. */
static int64_t backoff(struct chan_registry *r, const struct chan_settings *s,
                       uint32_t deliveries)
{
    int64_t step = s->backoff_ms;
    for (uint32_t i = 1; i < deliveries && step < s->backoff_max_ms; i++)
        step *= 2;
    if (step > s->backoff_max_ms)
        step = s->backoff_max_ms;
    if (step <= 1)
        return step;
    int64_t half = step / 2;
    return half + (int64_t)(rng_next(r) % (uint64_t)(step - half + 1));
}

/* Names c as p's last consumer, keeping the counts that let a departed
 * consumer be forgotten once nothing names it. */
static void set_consumer(struct chan_pending *p, struct chan_consumer *c)
{
    if (p->consumer)
        p->consumer->refs--;
    p->consumer = c;
    if (c)
        c->refs++;
}

static struct chan_consumer *consumer_get(struct chan_group *g, const char *name)
{
    for (size_t i = 0; i < g->nconsumers; i++)
        if (strcmp(g->consumers[i]->name, name) == 0)
            return g->consumers[i];
    return NULL;
}

static void deliver(struct chan_registry *r, struct chan_pending *p,
                    struct chan_consumer *c, uint64_t owner, int64_t now,
                    struct chan_delivery *out)
{
    p->deliveries++;
    p->state = PENDING_INFLIGHT;
    set_consumer(p, c);
    pending_own(r, p, owner);
    if (p->first_ms == 0)
        p->first_ms = now;
    p->last_ms = now;
    due_set(r, &p->due, now + p->group->ch->s.ackwait_ms);
    *out = (struct chan_delivery){p->msg->offset, p->deliveries, p->msg->time_ms,
                                  p->msg->payload, p->msg->len};
    emit(r, &(struct chan_change){.type = CHG_DELIVER, .channel = p->group->ch->name,
                                  .group = p->group->name, .consumer = c->name,
                                  .offset = p->msg->offset, .deliveries = p->deliveries,
                                  .time_ms = now});
}

size_t group_consume(struct chan_registry *r, struct chan_group *g, const char *consumer,
                     uint64_t owner, size_t max, struct chan_delivery *out, int64_t now)
{
    return group_consume_bytes(r, g, consumer, owner, max, SIZE_MAX, out, now);
}

size_t group_consume_bytes(struct chan_registry *r, struct chan_group *g, const char *consumer,
                           uint64_t owner, size_t max, size_t max_bytes,
                           struct chan_delivery *out, int64_t now)
{
    struct channel *ch = g->ch;
    struct chan_consumer *c = consumer_get(g, consumer);
    if (c == NULL) {
        if (!group_has_room(g, consumer))
            return 0;
        c = xcalloc(1, sizeof *c);
        c->name = xstrdup(consumer);
        c->group = g;
        g->consumers = xrealloc(g->consumers, (g->nconsumers + 1) * sizeof *g->consumers);
        g->consumers[g->nconsumers++] = c;
    }
    consumer_own(r, c, owner);
    c->seen_ms = now;
    trim_by_age(r, ch, now);

    size_t n = 0, bytes = 0;
    while (n < max && bytes < max_bytes && g->rhead) {
        struct chan_pending *p = g->rhead;
        ready_unlink(g, p);
        bytes += p->msg->len;
        deliver(r, p, c, owner, now, &out[n++]);
    }
    /* Retention may have taken what this group never saw, and a settled
     * message may come next. */
    advance_next(g);
    while (n < max && bytes < max_bytes && g->next < ch->next_offset &&
           g->pending.count < ch->s.maxpending) {
        struct chan_msg *m = made_at(r, ch, g->next++);
        bytes += m->len;
        if (g->nskip > 0)
            advance_next(g);
        struct chan_pending *p = xcalloc(1, sizeof *p);
        p->due.kind = DUE_PENDING;
        p->group = g;
        p->msg = m;
        m->refs++;
        strmap_put(&g->pending, (const char *)&m->offset, sizeof m->offset, p);
        deliver(r, p, c, owner, now, &out[n++]);
    }
    return n;
}

/* Whether every group but g is done with offset: handed out and settled,
 * or settled before it was. */
static bool settled_by_others(const struct chan_group *g, uint64_t offset)
{
    const struct channel *ch = g->ch;
    for (size_t i = 0; i < ch->ngroups; i++) {
        const struct chan_group *h = ch->groups[i];
        if (h == g)
            continue;
        if (pending_get(h, offset))
            return false;
        if (offset >= h->next) {
            size_t k = skip_from(h, offset);
            if (k == h->nskip || h->skip[k] != offset)
                return false;
        }
    }
    return true;
}

int group_ack(struct chan_registry *r, struct chan_group *g, uint64_t offset, int64_t now)
{
    (void)now;
    struct chan_pending *p = pending_get(g, offset);
    if (p == NULL)
        return 0;
    emit(r, &(struct chan_change){.type = CHG_ACK, .channel = g->ch->name, .group = g->name,
                                  .offset = offset,
                                  .released = settled_by_others(g, offset)});
    settle(r, p);
    pending_free(p);
    /* Room under maxpending may let a blocked consumer through. */
    wake(g);
    return 1;
}

int group_settle(struct chan_registry *r, struct chan_group *g, uint64_t offset, int64_t now)
{
    if (pending_get(g, offset))
        return group_ack(r, g, offset, now);
    if (!skip_offset(g, offset))
        return 0;
    emit(r, &(struct chan_change){.type = CHG_SETTLE, .channel = g->ch->name,
                                  .group = g->name, .offset = offset,
                                  .released = settled_by_others(g, offset)});
    return 1;
}

int group_nack(struct chan_registry *r, struct chan_group *g, uint64_t offset,
               int64_t delay_ms, const char *reason, int64_t now)
{
    struct chan_pending *p = pending_get(g, offset);
    if (p == NULL || p->state != PENDING_INFLIGHT)
        return 0;
    if (delay_ms < 0)
        delay_ms = backoff(r, &g->ch->s, p->deliveries);
    if (reason == NULL)
        reason = "nack";
    if (p->deliveries < g->ch->s.maxdeliver)
        emit(r, &(struct chan_change){.type = CHG_NACK, .channel = g->ch->name,
                                      .group = g->name, .offset = offset, .reason = reason,
                                      .due_ms = delay_ms > 0 ? now + delay_ms : 0});
    failed_delivery(r, p, reason, delay_ms, now);
    wake(g);
    return 1;
}

/* Consumers whose connection is gone are forgotten once no pending entry
 * names them any more (PENDING shows who had a message last), so a worker
 * naming itself per process cannot fill the group up. */
static void forget_departed(struct chan_group *g)
{
    size_t kept = 0;
    for (size_t i = 0; i < g->nconsumers; i++) {
        struct chan_consumer *c = g->consumers[i];
        if (c->owner == 0 && c->refs == 0) {
            free(c->name);
            free(c);
        } else {
            g->consumers[kept++] = c;
        }
    }
    g->nconsumers = kept;
}

bool group_has_room(struct chan_group *g, const char *consumer)
{
    if (g->nconsumers < GROUP_MAX_CONSUMERS || consumer_get(g, consumer))
        return true;
    forget_departed(g);
    return g->nconsumers < GROUP_MAX_CONSUMERS;
}

static void touch(struct chan_group *g, struct chan_group ***list, size_t *n, size_t *cap)
{
    if (g->touched)
        return;
    g->touched = true;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *list = xrealloc(*list, *cap * sizeof **list);
    }
    (*list)[(*n)++] = g;
}

void chreg_owner_gone(struct chan_registry *r, uint64_t owner, int64_t now, bool defer)
{
    struct chan_owner *o = owner_get(r, owner, false);
    if (o == NULL)
        return;
    struct chan_group **groups = NULL;
    size_t n = 0, cap = 0;
    while (o->consumers) {
        struct chan_consumer *c = OWNED(o->consumers, struct chan_consumer);
        touch(c->group, &groups, &n, &cap);
        consumer_own(r, c, 0);
    }
    /* Each failed delivery takes its entry off the list (it is ready,
     * delayed or dead-lettered now). */
    while (o->inflight) {
        struct chan_pending *p = OWNED(o->inflight, struct chan_pending);
        touch(p->group, &groups, &n, &cap);
        if (defer) {
            /* Due at once, for chreg_expire() to settle when it may. */
            pending_own(r, p, 0);
            due_set(r, &p->due, now);
        } else {
            failed_delivery(r, p, "consumer lost", 0, now);
        }
    }
    strmap_del(&r->owners, (const char *)&owner, sizeof owner);
    free(o);
    for (size_t i = 0; i < n; i++) {
        groups[i]->touched = false;
        forget_departed(groups[i]);
        if (!defer)
            wake(groups[i]);
    }
    free(groups);
}

/* Puts a dead letter's message back into its group, ready, with a fresh
 * delivery count and the replay remembered. */
static int replay_entry(struct chan_registry *r, const struct dlq_entry *e)
{
    struct channel *ch = chreg_find(r, e->channel);
    if (ch == NULL)
        return -1;
    struct chan_group *g = chan_group(ch, e->group, true);
    if (pending_get(g, e->offset))
        return 0;  /* already back: nothing to add */
    struct chan_pending *p = xcalloc(1, sizeof *p);
    p->due.kind = DUE_PENDING;
    p->group = g;
    p->msg = msg_new(e->offset, e->msg_time_ms, e->payload, e->len);
    p->replays = e->replays + 1;
    strmap_put(&g->pending, (const char *)&e->offset, sizeof e->offset, p);
    make_ready(r, p);
    wake(g);
    return 0;
}

bool group_peek(const struct chan_group *g, uint64_t offset, const char **payload, size_t *len)
{
    const struct chan_pending *p = pending_get(g, offset);
    if (p == NULL)
        return false;
    *payload = p->msg->payload;
    *len = p->msg->len;
    return true;
}

static uint64_t dead_letter_external(struct chan_registry *r, const struct chan_change *c,
                                     struct chan_group *g)
{
    struct dlq_entry e = {
        .channel = g->ch->name,
        .group = g->name,
        .offset = c->offset,
        .payload = (char *)c->payload,
        .len = c->len,
        .reason = (char *)c->reason,
        .deliveries = c->deliveries,
        .replays = c->replays,
        .msg_time_ms = c->time_ms,
        .first_ms = c->first_ms,
        .last_ms = c->last_ms,
        .dead_ms = c->due_ms,
    };
    /* Copied into the DLQ first: the payload may be the pending entry's. */
    uint64_t id = dlq_add(r->dlq, &e);
    /* Not handed out again unless replayed, whether it was in flight or
     * never taken at all. (Its record, CHG_DLQ_ADD, stands for both.) */
    struct chan_pending *p = pending_get(g, c->offset);
    if (p) {
        settle(r, p);
        pending_free(p);
    } else {
        skip_offset(g, c->offset);
    }
    if (!r->applying && r->hooks.dead_lettered)
        r->hooks.dead_lettered(r->hooks.ctx, dlq_get(r->dlq, id));
    return id;
}

uint64_t chreg_dead_letter(struct chan_registry *r, struct chan_group *g, uint64_t offset,
                           const char *payload, size_t len, const char *reason,
                           uint32_t deliveries, int64_t first_ms, int64_t now)
{
    struct chan_change c = {.type = CHG_DLQ_ADD, .channel = g->ch->name, .group = g->name,
                            .offset = offset, .payload = payload, .len = len,
                            .reason = reason, .deliveries = deliveries, .time_ms = now,
                            .first_ms = first_ms, .last_ms = now, .due_ms = now};
    const struct chan_pending *p = pending_get(g, offset);
    if (p)
        c.time_ms = p->msg->time_ms;
    else if (offset >= g->ch->first && offset < g->ch->next_offset)
        c.time_ms = msg_at(g->ch, offset)->time_ms;  /* never delivered */
    emit(r, &c);
    return dead_letter_external(r, &c, g);
}

int chreg_dlq_replay(struct chan_registry *r, uint64_t dlq_id, int64_t now)
{
    const struct dlq_entry *e = dlq_get(r->dlq, dlq_id);
    if (e == NULL || replay_entry(r, e) != 0)
        return -1;
    emit(r, &(struct chan_change){.type = CHG_REPLAY, .dlq_id = dlq_id, .time_ms = now});
    dlq_remove(r->dlq, dlq_id);
    return 0;
}

int chreg_dlq_purge(struct chan_registry *r, uint64_t dlq_id)
{
    if (dlq_get(r->dlq, dlq_id) == NULL)
        return -1;
    emit(r, &(struct chan_change){.type = CHG_PURGE, .dlq_id = dlq_id});
    dlq_remove(r->dlq, dlq_id);
    return 0;
}

void group_wait(struct chan_group *g, struct chan_waiter *w)
{
    w->group = g;
    w->next = NULL;
    w->prev = g->wtail;
    if (g->wtail)
        g->wtail->next = w;
    else
        g->whead = w;
    g->wtail = w;
}

void group_unwait(struct chan_waiter *w)
{
    struct chan_group *g = w->group;
    if (g == NULL)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        g->whead = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        g->wtail = w->prev;
    w->prev = w->next = NULL;
    w->group = NULL;
}

void group_stats(const struct chan_group *g, struct group_stats *st)
{
    uint64_t lowest = next_unsettled(g);
    size_t it = 0, len;
    const char *k;
    void *v;
    while (strmap_next(&g->pending, &it, &k, &len, &v)) {
        uint64_t off = ((struct chan_pending *)v)->msg->offset;
        if (off < lowest)
            lowest = off;
    }
    st->next = g->next;
    st->committed = lowest - 1;
    st->lag = chan_last_offset(g->ch) - st->committed;
    st->pending = g->pending.count;
    st->consumers = 0;
    for (size_t i = 0; i < g->nconsumers; i++)
        if (g->consumers[i]->owner != 0)
            st->consumers++;
    st->waiting = 0;
    for (const struct chan_waiter *w = g->whead; w; w = w->next)
        st->waiting++;
}

static int by_offset(const void *a, const void *b)
{
    const struct pending_info *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

size_t group_pending(const struct chan_group *g, size_t skip, struct pending_info *out,
                     size_t max)
{
    /* Admin view: gather all, sort, then page. */
    size_t total = g->pending.count, n = 0, it = 0, len;
    struct pending_info *all = xcalloc(total ? total : 1, sizeof *all);
    const char *k;
    void *v;
    while (strmap_next(&g->pending, &it, &k, &len, &v)) {
        const struct chan_pending *p = v;
        all[n++] = (struct pending_info){
            .offset = p->msg->offset,
            .consumer = p->consumer ? p->consumer->name : "",
            .deliveries = p->deliveries,
            .state = p->state,
            .last_ms = p->last_ms,
            .due_ms = heap_contains(&p->due) ? p->due.due_ms : 0,
        };
    }
    qsort(all, n, sizeof *all, by_offset);
    size_t out_n = 0;
    for (size_t i = skip; i < n && out_n < max; i++)
        out[out_n++] = all[i];
    free(all);
    return out_n;
}

const char *pending_state_name(enum pending_state s)
{
    switch (s) {
    case PENDING_INFLIGHT: return "inflight";
    case PENDING_DELAYED: return "delayed";
    case PENDING_READY: return "ready";
    }
    return "?";
}

void chreg_resumed(struct chan_registry *r, int64_t now)
{
    r->resumed_ms = now;
}

int64_t chreg_next_due(struct chan_registry *r)
{
    struct heap_node *top = heap_peek(&r->due);
    return top ? top->due_ms : -1;
}

size_t chreg_expire(struct chan_registry *r, int64_t now, size_t max)
{
    struct heap_node *top;
    size_t done = 0;
    while (done < max && (top = heap_peek(&r->due)) && top->due_ms <= now) {
        done++;
        if (top->kind == DUE_RETENTION) {
            struct channel *ch = (struct channel *)top;
            heap_remove(&r->due, top);
            trim_by_age(r, ch, now);
            continue;
        }
        struct chan_pending *p = (struct chan_pending *)top;
        struct chan_group *g = p->group;
        if (p->state == PENDING_INFLIGHT && p->owner != 0 && r->resumed_ms > p->last_ms &&
            r->resumed_ms + g->ch->s.ackwait_ms > now) {
            /* Delivered before changes were refused: its ack wait
             * starts over from when they were taken again. */
            due_set(r, &p->due, r->resumed_ms + g->ch->s.ackwait_ms);
            continue;
        }
        heap_remove(&r->due, top);
        if (p->state == PENDING_INFLIGHT)
            failed_delivery(r, p, p->owner ? "ack timeout" : "consumer lost", 0, now);
        else
            make_ready(r, p);  /* a NACK delay ran out */
        wake(g);
    }
    return done;
}

/* --- recovery and snapshots ------------------------------------------- */

static struct chan_pending *pending_new(struct chan_group *g, struct chan_msg *m)
{
    struct chan_pending *p = xcalloc(1, sizeof *p);
    p->due.kind = DUE_PENDING;
    p->group = g;
    p->msg = m;
    strmap_put(&g->pending, (const char *)&m->offset, sizeof m->offset, p);
    return p;
}

/* name may be NULL: a pending entry no consumer holds (ready again). */
static struct chan_consumer *consumer_get_or_add(struct chan_group *g, const char *name)
{
    if (name == NULL)
        return NULL;
    struct chan_consumer *c = consumer_get(g, name);
    if (c || g->nconsumers == GROUP_MAX_CONSUMERS)
        return c;
    c = xcalloc(1, sizeof *c);
    c->name = xstrdup(name);
    c->group = g;
    g->consumers = xrealloc(g->consumers, (g->nconsumers + 1) * sizeof *g->consumers);
    g->consumers[g->nconsumers++] = c;
    return c;
}

static int apply_deliver(struct chan_registry *r, struct chan_group *g,
                         const struct chan_change *c)
{
    struct channel *ch = g->ch;
    struct chan_pending *p = pending_get(g, c->offset);
    if (p == NULL) {
        if (c->offset < ch->first || c->offset >= ch->next_offset)
            return -1;
        struct chan_msg *m = made_at(r, ch, c->offset);
        m->refs++;
        p = pending_new(g, m);
        if (g->next <= c->offset)
            g->next = c->offset + 1;
        advance_next(g);
    } else if (p->state == PENDING_READY) {
        ready_unlink(g, p);
    }
    set_consumer(p, consumer_get_or_add(g, c->consumer));
    pending_own(r, p, 0);
    p->deliveries = c->deliveries;
    p->state = PENDING_INFLIGHT;
    if (p->first_ms == 0)
        p->first_ms = c->time_ms;
    p->last_ms = c->time_ms;
    due_set(r, &p->due, c->time_ms + ch->s.ackwait_ms);
    return 0;
}

static int apply_pending(struct chan_registry *r, struct chan_group *g,
                         const struct chan_change *c)
{
    if (pending_get(g, c->offset))
        return -1;
    struct chan_pending *p =
        pending_new(g, msg_new(c->offset, c->time_ms, c->payload, c->len));
    set_consumer(p, consumer_get_or_add(g, c->consumer));
    p->deliveries = c->deliveries;
    p->replays = c->replays;
    p->first_ms = c->first_ms;
    p->last_ms = c->last_ms;
    set_reason(p, c->reason);
    switch (c->state) {
    case PENDING_INFLIGHT:
        p->state = PENDING_INFLIGHT;
        due_set(r, &p->due, c->due_ms);
        break;
    case PENDING_DELAYED:
        p->state = PENDING_DELAYED;
        due_set(r, &p->due, c->due_ms);
        break;
    default:
        make_ready(r, p);
    }
    return 0;
}

static int apply(struct chan_registry *r, const struct chan_change *c)
{
    struct channel *ch = NULL;
    struct chan_group *g = NULL;
    struct chan_pending *p;
    if (c->type == CHG_DECLARE) {
        if (c->channel == NULL)
            return -1;  /* a record whose name is absent: it does not decode */
        return chreg_declare(r, c->channel, c->settings, &ch) == CHAN_CONFLICT ? -1 : 0;
    }
    if (c->type == CHG_REPLAY)
        return chreg_dlq_replay(r, c->dlq_id, c->time_ms);
    if (c->type == CHG_PURGE)
        return chreg_dlq_purge(r, c->dlq_id);
    if (c->channel == NULL || (ch = chreg_find(r, c->channel)) == NULL)
        return -1;
    if (c->type == CHG_OFFSETS) {
        if (ch->count > 0 || c->offset < ch->next_offset)
            return -1;
        ch->first = ch->next_offset = c->offset;
        return 0;
    }
    if (c->type == CHG_APPEND) {
        /* The first message of a snapshot's log need not be offset 1. */
        if (ch->count == 0 && c->offset > ch->next_offset)
            ch->first = ch->next_offset = c->offset;
        if (c->offset != ch->next_offset)
            return -1;
        if (c->payload == NULL && (c->recipe == NULL || r->remake == NULL))
            return -1;
        chan_append_made(r, ch, c->payload, c->len, c->time_ms, c->recipe);
        /* Handed out and settled everywhere as it was published. */
        if (c->released)
            for (size_t i = 0; i < ch->ngroups; i++)
                group_settle(r, ch->groups[i], c->offset, c->time_ms);
        return 0;
    }
    if (c->group == NULL)
        return -1;
    if (c->type == CHG_GROUP) {
        g = chan_group(ch, c->group, true);
        g->next = c->offset;
        return 0;
    }
    if ((g = chan_group(ch, c->group, false)) == NULL)
        return -1;
    switch (c->type) {
    case CHG_DELIVER:
        return apply_deliver(r, g, c);
    case CHG_PENDING:
        return apply_pending(r, g, c);
    case CHG_ACK:
        return group_ack(r, g, c->offset, 0) == 1 ? 0 : -1;
    case CHG_NACK:
        if ((p = pending_get(g, c->offset)) == NULL)
            return -1;
        set_reason(p, c->reason);
        if (c->due_ms > 0) {
            p->state = PENDING_DELAYED;
            due_set(r, &p->due, c->due_ms);
        } else {
            make_ready(r, p);
        }
        return 0;
    case CHG_DEAD:
        if ((p = pending_get(g, c->offset)) == NULL)
            return -1;
        set_reason(p, c->reason);
        dead_letter(r, p, c->reason ? c->reason : "", c->time_ms);
        return 0;
    case CHG_DLQ_ADD:
        dead_letter_external(r, c, g);
        return 0;
    case CHG_SETTLE:
        /* Settling is idempotent, and what retention took meanwhile needs
         * no settling: no state this record does not fit. */
        group_settle(r, g, c->offset, 0);
        return 0;
    default:
        return -1;
    }
}

int chreg_apply(struct chan_registry *r, const struct chan_change *c)
{
    r->applying = true;
    int rc = apply(r, c);
    r->applying = false;
    return rc;
}

void chreg_remake_with(struct chan_registry *r,
                       int (*remake)(void *arg, const struct chan_recipe *recipe,
                                     struct buf *out),
                       void *arg)
{
    r->remake = remake;
    r->remake_arg = arg;
}

bool chreg_remakes(const struct chan_registry *r) { return r->remake != NULL; }

void chreg_make_all(struct chan_registry *r)
{
    size_t it = 0;
    struct channel *ch;
    while (chreg_next(r, &it, &ch))
        for (uint64_t off = ch->first; off < ch->next_offset; off++)
            made_at(r, ch, off);
    r->remake = NULL;
    r->remake_arg = NULL;
    buf_free(&r->made);
    buf_init(&r->made);
}

void chreg_recovered(struct chan_registry *r, int64_t now)
{
    size_t it = 0;
    struct channel *ch;
    while (chreg_next(r, &it, &ch)) {
        trim_by_age(r, ch, now);
        for (size_t gi = 0; gi < ch->ngroups; gi++) {
            struct chan_group *g = ch->groups[gi];
            size_t pit = 0, len;
            const char *k;
            void *v;
            while (strmap_next(&g->pending, &pit, &k, &len, &v)) {
                struct chan_pending *p = v;
                if (p->state == PENDING_INFLIGHT)
                    make_ready(r, p);  /* its consumer was the old process */
            }
        }
    }
    chreg_expire(r, now, SIZE_MAX);
}

void chan_snapshot_head(const struct channel *ch, struct chan_change out[2])
{
    out[0] = (struct chan_change){.type = CHG_DECLARE, .channel = ch->name, .settings = &ch->s};
    out[1] = (struct chan_change){.type = CHG_OFFSETS, .channel = ch->name,
                                  .offset = ch->count ? ch->ring[ch->head]->offset
                                                      : ch->next_offset};
}

bool chan_message_change(const struct channel *ch, uint64_t offset, struct chan_change *out,
                         struct chan_recipe *recipe)
{
    if (offset < ch->first || offset >= ch->first + ch->count)
        return false;
    const struct chan_msg *m = ch->ring[(ch->head + (offset - ch->first)) % ch->cap];
    if (m->unmade)
        memcpy(recipe, m->payload, sizeof *recipe);
    *out = (struct chan_change){.type = CHG_APPEND, .channel = ch->name,
                                .offset = m->offset, .time_ms = m->time_ms,
                                .payload = m->unmade ? NULL : m->payload, .len = m->len,
                                .recipe = m->unmade ? recipe : NULL};
    return true;
}

static void pending_change(const struct chan_pending *p, struct chan_change *out)
{
    const struct chan_group *g = p->group;
    *out = (struct chan_change){
        .type = CHG_PENDING, .channel = g->ch->name, .group = g->name,
        .consumer = p->consumer ? p->consumer->name : NULL,
        .reason = p->reason, .offset = p->msg->offset,
        .deliveries = p->deliveries, .replays = p->replays,
        .state = (int)p->state, .time_ms = p->msg->time_ms,
        .first_ms = p->first_ms, .last_ms = p->last_ms,
        .due_ms = heap_contains(&p->due) ? p->due.due_ms : 0,
        .payload = p->msg->payload, .len = p->msg->len};
}

bool group_pending_change(const struct chan_group *g, uint64_t offset, struct chan_change *out)
{
    const struct chan_pending *p = pending_get(g, offset);
    if (p == NULL)
        return false;
    pending_change(p, out);
    return true;
}

void group_snapshot(const struct chan_group *g, bool with_pending,
                    void (*fn)(void *arg, const struct chan_change *c), void *arg)
{
    const struct channel *ch = g->ch;
    fn(arg, &(struct chan_change){.type = CHG_GROUP, .channel = ch->name,
                                  .group = g->name, .offset = g->next});
    /* Before the pending entries: a replayed dead letter can be both, and
     * settling a pending entry would ACK it. */
    for (size_t i = skip_from(g, g->next); i < g->nskip; i++)
        fn(arg, &(struct chan_change){.type = CHG_SETTLE, .channel = ch->name,
                                      .group = g->name, .offset = g->skip[i]});
    size_t pit = 0, len;
    const char *k;
    void *v;
    while (with_pending && strmap_next(&g->pending, &pit, &k, &len, &v)) {
        struct chan_change c;
        pending_change(v, &c);
        fn(arg, &c);
    }
}

void chreg_snapshot(const struct chan_registry *r, void (*fn)(void *arg, const struct chan_change *c),
                    void *arg)
{
    size_t it = 0;
    struct channel *ch;
    while (chreg_next(r, &it, &ch)) {
        struct chan_change head[2];
        chan_snapshot_head(ch, head);
        fn(arg, &head[0]);
        fn(arg, &head[1]);
        for (uint64_t off = ch->first; off < ch->first + ch->count; off++) {
            struct chan_change c;
            struct chan_recipe recipe;
            chan_message_change(ch, off, &c, &recipe);
            fn(arg, &c);
        }
        for (size_t gi = 0; gi < ch->ngroups; gi++)
            group_snapshot(ch->groups[gi], true, fn, arg);
    }
}
