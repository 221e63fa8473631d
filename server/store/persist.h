/* Persistence: orderd's state as journal records, both ways. Observers on
 * the order book and the channel registry turn every change into a record;
 * recovery decodes the records and applies them quietly; compaction forks
 * and writes a snapshot of live state in the same records, while the
 * parent keeps journaling, then swaps the files atomically.
 *
 * The store interface the rest of the server uses is store.h; this is the
 * journal back-end's knowledge of what records mean. */
#ifndef SERVER_PERSIST_H
#define SERVER_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "journal.h"

struct server;
struct book;
struct chan_registry;
struct dlq;
struct engine;
struct saga;
struct sim;
struct tracking;

enum rec_type {
    REC_ORDER_CREATED = 1,
    REC_ORDER_TRANSITION = 2,
    REC_CHAN_BASE = 10,       /* 10 + enum chan_change_type */
    REC_DLQ_ENTRY = 40,       /* snapshots: a whole dead letter */
    REC_META = 41,            /* snapshots: counters that are not state */
    REC_SAGA = 50,            /* a saga's own state (not its steps) */
    REC_SAGA_STEP = 51,       /* one step of a saga */
    REC_SIM = 52,             /* the simulated participants' state */
    REC_SAGA_TRACK = 53,      /* a saga's parcel: tracking number, where, when
                                 (kept beside the saga, which has no room) */
    REC_SIM_BATCH = 57,       /* snapshots: the participants' values, many to a
                                 record: kind, key, value, again and again */
    REC_ORDER_WHOLE = 56,     /* snapshots: an order and its whole history:
                                 id, creation time, fields, the number of
                                 moves, then each move: status, time since
                                 the one before, source, note */
    REC_SAGA_PACKED = 55,     /* a saga whole with its parcel, as it is after a
                                 change (what saga changes are written as
                                 now; REC_SAGA, _STEP and _TRACK are read
                                 from older journals): order, then its
                                 packed bytes (saga/saga_pack.h) */
    REC_PUBLISHED = 54,       /* a message appended to a durable channel (what
                                 CHG_APPEND records are written as now):
                                 flags (PUBLISHED_*), offset, time, then
                                 channel and payload, or with PUBLISHED_MADE
                                 the recipe's kind and three arguments */
};

/* REC_PUBLISHED flags: the payload's first byte. */
#define PUBLISHED_SETTLED 1u  /* settled by every group in the commit that
                                 published it: its hand-over is not recorded */
#define PUBLISHED_MADE 2u     /* a recipe (struct chan_recipe) stands for the
                                 channel and the bytes */

/* Where recovered records go. */
struct persist_target {
    struct book *book;
    struct chan_registry *channels;
    struct dlq *dlq;
    struct engine *engine;
    struct sim *sim;
    uint64_t order_events;    /* counted while applying */
};

/* Recovery is over: what it left for later is done (messages recorded by
 * their recipe get their payloads, see chreg_remake_with()). */
void persist_recovered(struct persist_target *t);

/* Applies one record (journal_record_fn). Returns 0, or -1 when it cannot
 * be decoded or does not fit the state so far. */
int persist_apply(void *target, uint8_t type, const char *payload, size_t len,
                  uint64_t offset);

/* Writes a snapshot of everything in t (what is NULL there is left out)
 * as framed records into out,
 * calling flush(arg, out) whenever out grows past a few hundred KiB (and
 * once at the end) so memory stays small. Returns 0, or what flush
 * returned when it failed. */
int persist_snapshot(const struct persist_target *t, struct buf *out,
                     int (*flush)(void *arg, struct buf *out), void *arg);

/* What a record sets, when it sets one thing whole (a saga, one of its
 * steps, its parcel, a participant's value), so that a later record with
 * the same type and the same first bytes makes it moot: the length of
 * those bytes in payload. 0 for records that add to the state (an order's
 * move, a channel change). */
size_t persist_key_len(uint8_t type, const void *payload, size_t len);

/* Record encoders, used by the observers in store.c. */
struct order_event;
struct chan_change;
void persist_encode_order(struct buf *b, const struct order_event *ev, uint8_t *type);
void persist_encode_change(struct buf *b, const struct chan_change *c, uint8_t *type);
/* step -1: the saga's own state; else that step. */
void persist_encode_saga(struct buf *b, const struct saga *s, int step, uint8_t *type);
void persist_encode_sim(struct buf *b, int type, const char *key, int64_t value);
void persist_encode_tracking(struct buf *b, uint64_t order, const struct tracking *t);
/* A saga whole with its parcel (t may be NULL): REC_SAGA_PACKED. */
void persist_encode_saga_whole(struct buf *b, const struct saga *s, const struct tracking *t);

#endif
