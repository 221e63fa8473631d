/* The records of one loop turn, held until the turn's commit so that what
 * the turn itself made moot never reaches the journal:
 *
 *   - a record that sets one thing (a saga, one step of it, its parcel, a
 *     participant's value: persist_key_len() names the thing) when a later
 *     record of the same turn sets the same thing again;
 *   - the hand-over of a message published, handed out and settled by
 *     every group within the turn (chan_change.released): its DELIVERs and
 *     its ACK or SETTLE are left out, and its publication (REC_PUBLISHED)
 *     says instead that it was settled everywhere at once.
 *
 * Everything else is kept, in the order it was made, so recovery from what
 * is kept builds the same state as from everything: the same orders,
 * sagas, participants, channel logs (READ shows the same messages) and
 * group positions. A saga whose participants answer within the turn costs
 * a handful of records instead of sixty. */
#ifndef STORE_TURN_H
#define STORE_TURN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct chan_change;
struct turn;

struct turn *turn_new(void);
void turn_free(struct turn *t);

/* A record (its payload, not framed). Kept unless a later one of the same
 * type sets the same thing (persist_key_len()). */
void turn_record(struct turn *t, uint8_t type, const void *payload, size_t len);
/* A record of channel change c, encoded as type and payload. Messages are
 * told apart by c->channel's address (each channel names itself by the
 * one string it owns, and channels are never freed) and offset. */
void turn_change(struct turn *t, uint8_t type, const void *payload, size_t len,
                 const struct chan_change *c);

/* Records held. */
size_t turn_records(const struct turn *t);

struct turn_flushed {
    uint64_t recorded;    /* framed bytes of every record of the turn */
    uint64_t kept;        /* framed bytes appended to out */
    uint64_t left_out;    /* records not kept */
};

/* Frames what is kept, in order, onto out, and empties the turn. */
void turn_flush(struct turn *t, struct buf *out, struct turn_flushed *f);

#endif
