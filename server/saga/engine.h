/* The saga engine: runs one saga per order (saga.c decides, this file
 * acts). It declares the step channels and their groups at start-up, sends
 * each step as a message on its channel, takes participants' answers from
 * the STEP command (simulated participants use the same path), keeps the
 * steps' timeouts and retries on one timer, holds steps back while their
 * participant's circuit breaker is open, moves orders through their
 * statuses, dead-letters steps that ran out of attempts, resumes them on DLQ
 * REPLAY, and records every saga change in the store. */
#ifndef SERVER_ENGINE_H
#define SERVER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker.h"
#include "saga.h"

struct event_base;
struct clock;
struct gate;
struct book;
struct bus;
struct engine;
struct channel;
struct chan_group;
struct dlq_entry;
struct order_event;
struct order;

/* The participants, each with its consumer group on its channels. */
enum participant {
    PART_CUSTOMER,
    PART_INVENTORY,
    PART_PAYMENT,
    PART_SHIPPING,
    PART_NOTIFY,
    PART_COUNT,
};

const char *participant_name(enum participant p);
int participant_parse(const char *name);
enum participant step_participant(enum saga_step st);

#define ENGINE_NOTIFY_CHANNEL "notification.send"
/* Messages kept on each step channel for READ. */
#define ENGINE_STEP_HISTORY 4096

/* Sagas whose deadlines are handled per wake-up; the rest come next turn.
 * Well above what falls due in a normal turn, so the bound only slices a
 * burst (every step timing out at once). */
#define ENGINE_TIMER_BATCH 4096

struct tracking;

/* What the engine reports, for the store and the figures. */
struct engine_hooks {
    void *ctx;
    /* A saga changed (its state, a step, its parcel, which TRACK shows):
     * here is all of it, with the parcel or NULL. */
    void (*saga_changed)(void *ctx, const struct saga *s, const struct tracking *t);
    /* A participant answered step st, us microseconds after it was sent. */
    void (*step_answered)(void *ctx, enum saga_step st, enum step_outcome o, uint64_t us);
    void (*step_timed_out)(void *ctx, enum saga_step st);
};

/* Everything passed is borrowed. Deadlines run on clk's server clock; while
 * gate is closed, timeouts, retries and held steps wait, and when it opens
 * a running step's timeout starts over: the time the store refused changes
 * is not charged to a participant whose answer could not be taken. */
struct engine *engine_new(struct event_base *base, struct clock *clk, struct gate *gate,
                          struct book *book, struct bus *bus, const struct engine_hooks *hooks);
void engine_free(struct engine *e);

/* Declares every step channel with its participant's group (start-up,
 * after recovery), and picks up recovered sagas: re-arms timeouts and
 * retries, holds back what waits for a breaker. */
void engine_start(struct engine *e);

/* Order book observer: a created order starts its saga; every status
 * change is sent to the notification participant. */
void engine_on_order(void *engine, const struct order_event *ev, const struct order *o,
                     int from);

/* Extra facts a participant may report with an outcome. */
struct step_extra {
    const char *tracking;   /* shipping.dispatch: the parcel's number */
    const char *location;   /* shipping: where it is */
    int64_t eta_ms;         /* shipping: expected delivery, 0 if unknown */
};

enum step_result {
    STEP_ACCEPTED,       /* the saga moved on */
    STEP_STALE,          /* acknowledged, but not the answer awaited */
    STEP_NOT_PENDING,    /* no such message in flight in that group */
};

/* A participant's answer to message msg of channel ch in group g: it is
 * acknowledged and, when it is the one awaited, moves the saga on. */
enum step_result engine_step(struct engine *e, struct channel *ch, struct chan_group *g,
                             uint64_t msg, enum step_outcome o, const char *reason,
                             const struct step_extra *extra);

/* What the engine's messages are made from (struct chan_recipe kinds), so
 * a store can record that instead of their bytes. */
enum engine_recipe {
    ENGINE_RECIPE_STEP = 1,  /* order, step, attempt */
    ENGINE_RECIPE_NOTIFY,    /* order, status | (previous + 1) << 8, time (ms) */
};

struct buf;
struct chan_recipe;

/* Recovery: makes a message of the engine again from its recipe, appending
 * the very bytes it had to payload and naming its channel. Returns 0, or
 * -1 when the recipe is not one of the engine's or its order is unknown. */
int engine_remake(const struct engine *e, const struct chan_recipe *r, const char **channel,
                  struct buf *payload);
/* The channel a recipe's message goes to, without making it; NULL when
 * the recipe is not one engine_remake() would take (its order aside). */
const char *engine_recipe_channel(const struct chan_recipe *r);

/* The order id a step or notification message is about ({"order":N,...}),
 * or 0. */
uint64_t engine_payload_order(const char *payload, size_t len);

/* A participant's progress report on message msg of step st, still
 * running (no ack): restarts the step's timeout, like a heartbeat, and for
 * shipping updates where the parcel is. Returns false, changing nothing,
 * when msg is not the running attempt of that step. */
bool engine_progress(struct engine *e, enum saga_step st, uint64_t msg, uint64_t order,
                     const char *location, int64_t eta_ms);

/* DLQ REPLAY put a dead letter back: a saga step may resume. */
void engine_on_replay(struct engine *e, const struct dlq_entry *entry);

enum cancel_result {
    CANCEL_STARTED,      /* compensation under way (or done at once) */
    CANCEL_ALREADY,      /* a CANCEL before this one is still under way */
    CANCEL_TOO_LATE,     /* shipping has started, or the saga ended */
    CANCEL_NO_SAGA,
};
enum cancel_result engine_cancel(struct engine *e, uint64_t order, const char *reason);
/* SAGA ABORT: see saga_abort(). CANCEL_TOO_LATE when the saga has ended. */
enum cancel_result engine_abort(struct engine *e, uint64_t order, const char *reason);

/* A saga, to read: the pointer (and engine_tracking()'s) stays valid
 * until the engine next runs or another saga is asked for. */
const struct saga *engine_saga(const struct engine *e, uint64_t order);
/* Sagas in id order: for (i = 0; (s = engine_saga_next(e, &i, all));).
 * Without packed_too, only those kept unpacked: every unfinished one (and
 * those finished this turn), without unpacking the other finished ones. */
const struct saga *engine_saga_next(const struct engine *e, uint64_t *iter, bool packed_too);

struct tracking {
    char *number;        /* owned, may be NULL */
    char *location;      /* owned, may be NULL */
    int64_t eta_ms;
};
const struct tracking *engine_tracking(const struct engine *e, uint64_t order);

struct saga_policy *engine_policy(struct engine *e, enum saga_step st);
const struct breaker *engine_breaker(const struct engine *e, enum participant p);

struct engine_stats {
    uint64_t started, done, failed, cancelled;
    uint64_t running, attention;     /* now */
    uint64_t dispatched, retries, timeouts, deadlettered, stale;
};
void engine_stats(const struct engine *e, struct engine_stats *st);

/* Recovery: a saga record (see persist.c) sets a saga's state; a
 * tracking record its parcel's (allocated here, filled by the caller;
 * NULL when no record has set the order's saga before it). Both are NULL
 * for an order the book does not know: its record comes first. */
struct saga *engine_saga_for_restore(struct engine *e, uint64_t order);
struct tracking *engine_tracking_for_restore(struct engine *e, uint64_t order);
/* A saga packed whole (saga_pack.h), as a change or a snapshot recorded
 * it: a finished one is kept packed. Returns 0, or -1 when the bytes are
 * not a packed saga or the book does not know the order. */
int engine_restore_packed(struct engine *e, uint64_t order, const void *bytes, size_t n);
/* Lets a finished saga go from memory (its order is leaving it: see
 * book_evict; a store that can load it back holds it). True when the
 * order has no saga in memory now; false when its saga is not finished
 * and packed yet. */
bool engine_evict(struct engine *e, uint64_t order);
/* Snapshots: every saga, with its tracking or NULL; finished ones packed,
 * as they are kept. */
void engine_snapshot(const struct engine *e,
                     void (*fn)(void *arg, const struct saga *s, const struct tracking *t),
                     void (*packed)(void *arg, uint64_t order, const void *bytes, size_t n),
                     void *arg);

#endif
