/* The in-memory order book. Orders are dense from id 1, so an array
 * indexed by id finds them; book_index.c finds them by status and customer. */
#include "book.h"

#include <stdlib.h>
#include <string.h>

#include "book_index.h"
#include "lib/slots.h"
#include "lib/strmap.h"
#include "xalloc.h"

struct observer {
    book_observer_fn fn;
    void *ctx;
};

struct book {
    /* owned; by id, NULL for an order not kept in memory (one a store
     * loads again when asked: book_evict), whose page goes when its last
     * order does */
    struct slots orders;
    size_t count;
    size_t in_memory;
    struct book_index *index;
    /* idempotency key -> struct order *, or for an order not in memory
     * its id, tagged (see key_id) */
    struct strmap keys;
    struct observer observers[BOOK_MAX_OBSERVERS];
    size_t nobservers;
};

struct book *book_new(void)
{
    struct book *b = xcalloc(1, sizeof *b);
    b->index = book_index_new();
    slots_init(&b->orders);
    strmap_init(&b->keys);
    return b;
}

static void order_free(struct order *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->nhistory; i++)
        free(o->history[i].note);
    free(o->history);
    free(o->item);
    free(o->key);
    free(o);
}

void book_free(struct book *b)
{
    if (b == NULL)
        return;
    for (uint64_t id = 0; (id = slots_next(&b->orders, id));)
        order_free(slots_get(&b->orders, id));
    slots_free(&b->orders);
    strmap_free(&b->keys);
    book_index_free(b->index);
    free(b);
}

int book_observe(struct book *b, book_observer_fn fn, void *ctx)
{
    if (b->nobservers == BOOK_MAX_OBSERVERS)
        return -1;
    b->observers[b->nobservers++] = (struct observer){fn, ctx};
    return 0;
}

static void add_history(struct order *o, int64_t t, int from, enum order_status to,
                        const char *source, const char *note)
{
    if (o->nhistory == o->caphistory) {
        /* Room for one to begin with: many orders never move (or not
         * yet), and three spare transitions were a third of an order's
         * memory. One that runs a saga grows 1, 2, 4, 8. */
        o->caphistory = o->caphistory ? o->caphistory * 2 : 1;
        o->history = xrealloc(o->history, o->caphistory * sizeof *o->history);
    }
    struct order_transition *tr = &o->history[o->nhistory++];
    tr->time_ms = t;
    tr->from = from;
    tr->to = to;
    strncpy(tr->source, source, sizeof tr->source - 1);
    tr->source[sizeof tr->source - 1] = '\0';
    tr->note = note ? xstrdup(note) : NULL;
}

/* Orders are allocated, so their addresses are even: an odd value in the
 * keys map is the id of an order not in memory. */
static void *tag_id(uint64_t id)
{
    return (void *)(uintptr_t)(id << 1 | 1);
}

static uint64_t key_id(const void *v)
{
    uintptr_t u = (uintptr_t)v;
    return u & 1 ? (uint64_t)(u >> 1) : u ? ((const struct order *)v)->id : 0;
}

static struct order *order_new(uint64_t id, const char *customer, const struct order_fields *f,
                               int64_t created_ms)
{
    struct order *o = xcalloc(1, sizeof *o);
    o->id = id;
    o->status = ORDER_PENDING;
    o->customer = customer;
    o->item = xstrdup(f->item);
    o->qty = f->qty;
    o->amount = f->amount;
    memcpy(o->currency, f->currency, sizeof o->currency);
    o->key = f->key ? xstrdup(f->key) : NULL;
    o->created_ms = o->updated_ms = created_ms;
    add_history(o, created_ms, -1, ORDER_PENDING, "client", NULL);
    return o;
}

static enum book_result apply_created(struct book *b, const struct order_event *ev)
{
    const struct order_fields *f = ev->fields;
    if (ev->id != b->count + 1)
        return BOOK_BADID;
    struct order *o = order_new(ev->id, book_index_created(b->index, ev->id, f->customer), f,
                                ev->time_ms);
    slots_set(&b->orders, ev->id, o);
    b->count++;
    b->in_memory++;
    if (o->key)
        strmap_put(&b->keys, o->key, strlen(o->key), o);
    return BOOK_OK;
}

static enum book_result apply_transition(struct book *b, const struct order_event *ev,
                                         int *from)
{
    struct order *o = (struct order *)book_get(b, ev->id);
    if (o == NULL)
        return BOOK_NOTFOUND;
    if (!order_can_transition(o->status, ev->to))
        return BOOK_BADSTATE;
    *from = (int)o->status;
    add_history(o, ev->time_ms, (int)o->status, ev->to, ev->source, ev->note);
    book_index_moved(b->index, o->id, o->status, ev->to);
    o->status = ev->to;
    o->updated_ms = ev->time_ms;
    return BOOK_OK;
}

static enum book_result apply(struct book *b, const struct order_event *ev, int *from)
{
    if (ev->type == ORDER_EV_CREATED)
        return apply_created(b, ev);
    return apply_transition(b, ev, from);
}

enum book_result book_restore(struct book *b, const struct order_event *ev)
{
    int from = -1;
    return apply(b, ev, &from);
}

enum book_result book_apply(struct book *b, const struct order_event *ev)
{
    int from = -1;
    enum book_result r = apply(b, ev, &from);
    if (r != BOOK_OK)
        return r;
    const struct order *after = book_get(b, ev->id);
    for (size_t i = 0; i < b->nobservers; i++)
        b->observers[i].fn(b->observers[i].ctx, ev, after, from);
    return BOOK_OK;
}

const struct order *book_create(struct book *b, const struct order_fields *f,
                                int64_t now_ms)
{
    struct order_event ev = {
        .type = ORDER_EV_CREATED,
        .id = b->count + 1,
        .time_ms = now_ms,
        .fields = f,
    };
    if (book_apply(b, &ev) != BOOK_OK)
        return NULL;
    return slots_get(&b->orders, b->count);
}

enum book_result book_transition(struct book *b, uint64_t id, enum order_status to,
                                 const char *source, const char *note, int64_t now_ms)
{
    struct order_event ev = {
        .type = ORDER_EV_TRANSITION,
        .id = id,
        .time_ms = now_ms,
        .to = to,
        .source = source,
        .note = note,
    };
    return book_apply(b, &ev);
}

const struct order *book_get(const struct book *b, uint64_t id)
{
    return slots_get(&b->orders, id);
}

const struct order *book_by_key(const struct book *b, const char *key)
{
    void *v = strmap_get(&b->keys, key, strlen(key));
    return (uintptr_t)v & 1 ? NULL : v;
}

uint64_t book_key_id(const struct book *b, const char *key)
{
    return key_id(strmap_get(&b->keys, key, strlen(key)));
}

bool book_exists(const struct book *b, uint64_t id)
{
    return id >= 1 && id <= b->count;
}

size_t book_in_memory(const struct book *b)
{
    return b->in_memory;
}

enum book_result book_restore_absent(struct book *b, uint64_t id, const char *customer,
                                     enum order_status status, const char *key)
{
    if (id != b->count + 1 || status >= ORDER_STATUS_COUNT)
        return BOOK_BADID;
    book_index_created(b->index, id, customer);
    if (status != ORDER_PENDING)
        book_index_moved(b->index, id, ORDER_PENDING, status);
    b->count++;
    if (key)
        strmap_put(&b->keys, key, strlen(key), tag_id(id));
    return BOOK_OK;
}

bool book_evict(struct book *b, uint64_t id)
{
    struct order *o = (struct order *)book_get(b, id);
    if (o == NULL || !order_status_terminal(o->status))
        return false;
    if (o->key)
        strmap_put(&b->keys, o->key, strlen(o->key), tag_id(id));
    slots_set(&b->orders, id, NULL);
    b->in_memory--;
    order_free(o);
    return true;
}

enum book_result book_reload(struct book *b, const struct order_event *created,
                             const struct order_event *moves, size_t nmoves)
{
    uint64_t id = created->id;
    if (!book_exists(b, id))
        return BOOK_NOTFOUND;
    if (book_get(b, id) != NULL)
        return BOOK_OK;  /* loaded meanwhile */
    const char *customer = book_index_customer(b->index, created->fields->customer);
    if (customer == NULL)
        return BOOK_BADID;
    struct order *o = order_new(id, customer, created->fields, created->time_ms);
    for (size_t i = 0; i < nmoves; i++) {
        add_history(o, moves[i].time_ms, (int)o->status, moves[i].to, moves[i].source,
                    moves[i].note);
        o->status = moves[i].to;
        o->updated_ms = moves[i].time_ms;
    }
    slots_set(&b->orders, id, o);
    b->in_memory++;
    if (o->key)
        strmap_put(&b->keys, o->key, strlen(o->key), o);
    return BOOK_OK;
}

uint64_t book_last_id(const struct book *b)
{
    return b->count;
}

size_t book_count_status(const struct book *b, enum order_status s)
{
    return book_index_count(b->index, s);
}

uint64_t book_next(const struct book *b, const struct book_filter *f, uint64_t after)
{
    if (f->status < 0 && f->customer == NULL)
        return after < b->count ? after + 1 : 0;
    return book_index_next(b->index, f->status, f->customer, after);
}
