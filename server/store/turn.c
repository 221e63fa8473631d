/* The records of one loop turn (see turn.h). Records are held as payloads
 * in one buffer; two open-addressing tables, emptied every turn, find the
 * record that last set a thing and the message a channel change is about. */
#include "turn.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "channels/channel.h"
#include "lib/hash.h"
#include "journal.h"
#include "persist.h"
#include "xalloc.h"

struct trec {
    uint32_t off, len;     /* payload in t->bytes */
    uint32_t keylen;       /* what it sets: its first keylen bytes; 0: nothing */
    uint32_t msg;          /* 1 + index in t->msgs of the message it is about, or 0 */
    uint8_t type;
    bool dead;             /* superseded */
};

struct tmsg {
    const char *channel;     /* the channel's own name: one pointer per channel */
    uint64_t offset;
    bool pinned;           /* something beyond handing out and settling happened */
    bool released;         /* every group settled it */
};

/* A table of 1 + index, probed linearly; 0 is empty. */
struct itab {
    uint32_t *slots;
    size_t cap;            /* a power of two, or 0 */
};

struct turn {
    struct buf bytes;
    struct trec *recs;
    size_t nrecs, capr;
    struct tmsg *msgs;
    size_t nmsgs, capm;
    struct itab keys;      /* records that set a thing */
    struct itab msgtab;    /* messages published in the turn */
};

struct turn *turn_new(void)
{
    struct turn *t = xcalloc(1, sizeof *t);
    buf_init(&t->bytes);
    return t;
}

void turn_free(struct turn *t)
{
    if (t == NULL)
        return;
    buf_free(&t->bytes);
    free(t->recs);
    free(t->msgs);
    free(t->keys.slots);
    free(t->msgtab.slots);
    free(t);
}

size_t turn_records(const struct turn *t) { return t->nrecs; }

/* Room for one more entry at most half full: grown (and rehashed through
 * hash_of) before it is needed. */
static void itab_reserve(struct itab *tab, size_t entries, uint64_t (*hash_of)(void *, uint32_t),
                         void *arg)
{
    if (entries * 2 < tab->cap)
        return;
    size_t cap = tab->cap ? tab->cap * 2 : 256;
    uint32_t *slots = xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < tab->cap; i++) {
        uint32_t v = tab->slots[i];
        if (v == 0)
            continue;
        size_t k = hash_of(arg, v - 1) & (cap - 1);
        while (slots[k])
            k = (k + 1) & (cap - 1);
        slots[k] = v;
    }
    free(tab->slots);
    tab->slots = slots;
    tab->cap = cap;
}

/* Empties the table; one grown for a burst is let go of rather than
 * cleared every turn after it. */
static void itab_clear(struct itab *tab, size_t used)
{
    if (tab->cap > 8 * (used + 256)) {
        free(tab->slots);
        tab->slots = NULL;
        tab->cap = 0;
    } else if (tab->cap) {
        memset(tab->slots, 0, tab->cap * sizeof *tab->slots);
    }
}

/* --- records that set a thing -------------------------------------------- */

static const char *payload(const struct turn *t, const struct trec *r)
{
    return t->bytes.data + r->off;
}

static uint64_t key_hash(const struct turn *t, const struct trec *r)
{
    return hash_bytes(r->type, payload(t, r), r->keylen);
}

static uint64_t rec_hash(void *arg, uint32_t i)
{
    struct turn *t = arg;
    return key_hash(t, &t->recs[i]);
}

static bool same_key(const struct turn *t, const struct trec *a, const struct trec *b)
{
    return a->type == b->type && a->keylen == b->keylen &&
           memcmp(payload(t, a), payload(t, b), a->keylen) == 0;
}

/* Makes record i the one that sets its thing, leaving out the one before. */
static void supersede(struct turn *t, uint32_t i)
{
    itab_reserve(&t->keys, t->nrecs, rec_hash, t);
    const struct trec *r = &t->recs[i];
    size_t mask = t->keys.cap - 1, k = key_hash(t, r) & mask;
    for (; t->keys.slots[k]; k = (k + 1) & mask) {
        struct trec *old = &t->recs[t->keys.slots[k] - 1];
        if (same_key(t, old, r)) {
            old->dead = true;
            break;
        }
    }
    t->keys.slots[k] = i + 1;
}

static uint32_t add(struct turn *t, uint8_t type, const void *p, size_t len)
{
    if (t->nrecs == t->capr) {
        t->capr = t->capr ? t->capr * 2 : 256;
        t->recs = xrealloc(t->recs, t->capr * sizeof *t->recs);
    }
    uint32_t i = (uint32_t)t->nrecs++;
    t->recs[i] = (struct trec){.off = (uint32_t)buf_used(&t->bytes), .len = (uint32_t)len,
                               .type = type};
    buf_append(&t->bytes, p, len);
    return i;
}

void turn_record(struct turn *t, uint8_t type, const void *p, size_t len)
{
    uint32_t i = add(t, type, p, len);
    t->recs[i].keylen = (uint32_t)persist_key_len(type, p, len);
    if (t->recs[i].keylen > 0)
        supersede(t, i);
}

/* --- messages published in the turn -------------------------------------- */

/* A message is told by its channel's name pointer and its offset: every
 * change a channel makes names it by the one string it owns, and channels
 * are never freed. */
static uint64_t msg_key_hash(const char *channel, uint64_t offset)
{
    return hash_mix((uint64_t)(uintptr_t)channel ^ offset * 0x9e3779b97f4a7c15ULL);
}

static uint64_t msg_hash(void *arg, uint32_t i)
{
    struct turn *t = arg;
    const struct tmsg *m = &t->msgs[i];
    return msg_key_hash(m->channel, m->offset);
}

/* The message `offset` of `channel` published in this turn: its slot in
 * t->msgtab (empty when it was not). */
static size_t msg_slot(const struct turn *t, const char *channel, uint64_t offset)
{
    size_t mask = t->msgtab.cap - 1, k = msg_key_hash(channel, offset) & mask;
    for (; t->msgtab.slots[k]; k = (k + 1) & mask) {
        const struct tmsg *m = &t->msgs[t->msgtab.slots[k] - 1];
        if (m->offset == offset && m->channel == channel)
            break;
    }
    return k;
}

void turn_change(struct turn *t, uint8_t type, const void *p, size_t len,
                 const struct chan_change *c)
{
    uint32_t i = add(t, type, p, len);
    if (c->channel == NULL)
        return;
    if (c->type == CHG_APPEND) {
        if (type != REC_PUBLISHED || len == 0 || (unsigned char)*(const char *)p > 0x7f)
            return;  /* not a form whose flags can say it was settled */
        if (t->nmsgs == t->capm) {
            t->capm = t->capm ? t->capm * 2 : 256;
            t->msgs = xrealloc(t->msgs, t->capm * sizeof *t->msgs);
        }
        itab_reserve(&t->msgtab, t->nmsgs, msg_hash, t);
        uint32_t m = (uint32_t)t->nmsgs++;
        t->msgs[m] = (struct tmsg){.channel = c->channel, .offset = c->offset};
        t->msgtab.slots[msg_slot(t, c->channel, c->offset)] = m + 1;
        t->recs[i].msg = m + 1;
        return;
    }
    if (t->nmsgs == 0 || c->group == NULL)
        return;
    if (c->type == CHG_GROUP) {
        /* A group created after a message of the turn was published: at
         * recovery the message would be settled before the group exists,
         * and the group, starting before it, would hand it out again.
         * Those messages keep their whole story. */
        for (size_t k = 0; k < t->nmsgs; k++)
            if (t->msgs[k].channel == c->channel)
                t->msgs[k].pinned = true;
        return;
    }
    uint32_t m = t->msgtab.slots[msg_slot(t, c->channel, c->offset)];
    if (m == 0)
        return;  /* published before this turn: kept as it is */
    struct tmsg *msg = &t->msgs[m - 1];
    switch (c->type) {
    case CHG_DELIVER:
        t->recs[i].msg = m;
        break;
    case CHG_ACK:
    case CHG_SETTLE:
        t->recs[i].msg = m;
        if (c->released)
            msg->released = true;
        break;
    default:
        /* NACK, DEAD, DLQ_ADD: its story is more than a hand-over. */
        msg->pinned = true;
    }
}

/* --- the commit ---------------------------------------------------------- */

/* A message published in the turn and settled by every group in it, and
 * nothing else: its APPEND says so and stands for the rest. */
static bool settled_at_once(const struct turn *t, const struct trec *r)
{
    if (r->msg == 0)
        return false;
    const struct tmsg *m = &t->msgs[r->msg - 1];
    return m->released && !m->pinned;
}

void turn_flush(struct turn *t, struct buf *out, struct turn_flushed *f)
{
    *f = (struct turn_flushed){0};
    for (size_t i = 0; i < t->nrecs; i++) {
        struct trec *r = &t->recs[i];
        f->recorded += JOURNAL_HEADER_LEN + r->len;
        if (settled_at_once(t, r)) {
            if (r->type != REC_PUBLISHED) {
                f->left_out++;   /* a DELIVER, an ACK, a SETTLE */
                continue;
            }
            t->bytes.data[r->off] |= PUBLISHED_SETTLED;  /* the flags, one byte */
        } else if (r->dead) {
            f->left_out++;
            continue;
        }
        size_t before = buf_used(out);
        journal_frame(out, r->type, payload(t, r), r->len);
        f->kept += buf_used(out) - before;
    }
    buf_clear(&t->bytes);
    itab_clear(&t->keys, t->nrecs);
    itab_clear(&t->msgtab, t->nmsgs);
    t->nrecs = 0;
    t->nmsgs = 0;
}
