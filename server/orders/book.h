/* The order book: every order, in memory, and the one place their state
 * changes. A change is an event (created, or a status transition) applied
 * by book_apply(); observers see each event after it is applied, which is
 * where the journal, pub/sub and metrics hook in. Replaying the same events
 * into an empty book rebuilds it exactly. */
#ifndef SERVER_BOOK_H
#define SERVER_BOOK_H

#include <stddef.h>
#include <stdint.h>

#include "order.h"

enum order_event_type {
    ORDER_EV_CREATED,
    ORDER_EV_TRANSITION,
};

struct order_event {
    enum order_event_type type;
    uint64_t id;
    int64_t time_ms;
    const struct order_fields *fields;  /* CREATED */
    enum order_status to;               /* TRANSITION */
    const char *source;                 /* TRANSITION: who, e.g. "client" */
    const char *note;                   /* TRANSITION: may be NULL */
};

enum book_result {
    BOOK_OK,
    BOOK_NOTFOUND,   /* no order with that id */
    BOOK_BADSTATE,   /* the lifecycle does not allow that transition */
    BOOK_BADID,      /* a CREATED event out of sequence */
};

typedef void (*book_observer_fn)(void *ctx, const struct order_event *ev,
                                 const struct order *after, int from);

struct book;

struct book *book_new(void);
void book_free(struct book *b);

#define BOOK_MAX_OBSERVERS 8
/* Returns 0, or -1 when BOOK_MAX_OBSERVERS are registered already. */
int book_observe(struct book *b, book_observer_fn fn, void *ctx);

enum book_result book_apply(struct book *b, const struct order_event *ev);
/* The same without telling observers: for recovery, where every effect of
 * the event (journal record, pushes) has happened already. */
enum book_result book_restore(struct book *b, const struct order_event *ev);

/* Creates the next order (ids ascend from 1). */
const struct order *book_create(struct book *b, const struct order_fields *f,
                                int64_t now_ms);
enum book_result book_transition(struct book *b, uint64_t id, enum order_status to,
                                 const char *source, const char *note, int64_t now_ms);

const struct order *book_get(const struct book *b, uint64_t id);
const struct order *book_by_key(const struct book *b, const char *key);
uint64_t book_last_id(const struct book *b);
size_t book_count_status(const struct book *b, enum order_status s);

/* Which orders LIST wants; either part may be left open. */
struct book_filter {
    int status;            /* an order_status, or -1 for any */
    const char *customer;  /* matched whole; NULL for any */
};
/* The id of the first order after id `after`, in id order, that the filter
 * takes, or 0 (in memory or not: see below). Indexed: it costs a few
 * lookups however many orders it passes over. */
uint64_t book_next(const struct book *b, const struct book_filter *f, uint64_t after);

/* --- orders not kept in memory -------------------------------------------
 * A store that can load orders again (the PostgreSQL store) lets finished
 * ones go from memory. The book still knows every id, its status and
 * customer (for LIST and the counts) and every idempotency key; book_get
 * is NULL for one not in memory, which the store loads (book_reload). */

/* Whether the id was given to an order, in memory or not. */
bool book_exists(const struct book *b, uint64_t id);
/* The id of the order a key was used for, in memory or not; 0 if none. */
uint64_t book_key_id(const struct book *b, const char *key);
/* Orders in memory. */
size_t book_in_memory(const struct book *b);
/* Recovery: an order known but not loaded. Ids ascend as with CREATED. */
enum book_result book_restore_absent(struct book *b, uint64_t id, const char *customer,
                                     enum order_status status, const char *key);
/* Lets a finished order go from memory. False: not in memory, or not
 * finished (its changes may still come). */
bool book_evict(struct book *b, uint64_t id);
/* Puts an order that left memory back, as recorded: its creation (with its
 * fields) and its moves. Observers are not told: nothing changed. */
enum book_result book_reload(struct book *b, const struct order_event *created,
                             const struct order_event *moves, size_t nmoves);

#endif
