/* The in-memory order book. Orders are dense from id 1, so an array
 * indexed by id finds them; book_index.c finds them by status and customer. */
#include "book.h"

#include <stdlib.h>
#include <string.h>

#include "book_index.h"
#include "lib/strmap.h"
#include "xalloc.h"

struct observer {
    book_observer_fn fn;
    void *ctx;
};

struct book {
    struct order **orders;  /* owned; orders[id - 1] */
    size_t count;
    size_t cap;
    struct book_index *index;
    struct strmap keys;     /* idempotency key -> struct order * */
    struct observer observers[BOOK_MAX_OBSERVERS];
    size_t nobservers;
};

struct book *book_new(void)
{
    struct book *b = xcalloc(1, sizeof *b);
    b->index = book_index_new();
    strmap_init(&b->keys);
    return b;
}

static void order_free(struct order *o)
{
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
    for (size_t i = 0; i < b->count; i++)
        order_free(b->orders[i]);
    free(b->orders);
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

static enum book_result apply_created(struct book *b, const struct order_event *ev)
{
    const struct order_fields *f = ev->fields;
    if (ev->id != b->count + 1)
        return BOOK_BADID;
    if (b->count == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->orders = xrealloc(b->orders, b->cap * sizeof *b->orders);
    }
    struct order *o = xcalloc(1, sizeof *o);
    o->id = ev->id;
    o->status = ORDER_PENDING;
    o->customer = book_index_created(b->index, ev->id, f->customer);
    o->item = xstrdup(f->item);
    o->qty = f->qty;
    o->amount = f->amount;
    memcpy(o->currency, f->currency, sizeof o->currency);
    o->key = f->key ? xstrdup(f->key) : NULL;
    o->created_ms = o->updated_ms = ev->time_ms;
    add_history(o, ev->time_ms, -1, ORDER_PENDING, "client", NULL);
    b->orders[b->count++] = o;
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
    return b->orders[b->count - 1];
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
    if (id == 0 || id > b->count)
        return NULL;
    return b->orders[id - 1];
}

const struct order *book_by_key(const struct book *b, const char *key)
{
    return strmap_get(&b->keys, key, strlen(key));
}

uint64_t book_last_id(const struct book *b)
{
    return b->count;
}

size_t book_count_status(const struct book *b, enum order_status s)
{
    return book_index_count(b->index, s);
}

const struct order *book_next(const struct book *b, const struct book_filter *f,
                              uint64_t after)
{
    if (f->status < 0 && f->customer == NULL)
        return after < b->count ? b->orders[after] : NULL;
    return book_get(b, book_index_next(b->index, f->status, f->customer, after));
}
