/* A finished saga with its parcel, packed into a few dozen bytes: what the
 * engine keeps for each of the many sagas that will never change again
 * (the live form, with its timers and room for every step, is ten times
 * larger), and what a snapshot records for it, as it is.
 *
 * The bytes are the journal codec's (lib/codec.h): varints, times as
 * differences from the saga's creation, only the steps that happened.
 * Unpacking checks every field, so packed bytes read from a journal are
 * taken or refused whole. */
#ifndef SAGA_SAGA_PACK_H
#define SAGA_SAGA_PACK_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "saga.h"

struct tracking;

/* Appends s (and t, when not NULL) packed to out. Its order is not
 * packed: whoever keeps the bytes knows it. */
void saga_pack(const struct saga *s, const struct tracking *t, struct buf *out);

/* Unpacks n bytes into s (whose texts it owns after: saga_release()) and,
 * when there was a parcel, into t (its texts too) with *has_track set.
 * Returns 0, or -1 when the bytes are not a packed saga: s and t are then
 * left empty. */
int saga_unpack(const void *p, size_t n, struct saga *s, struct tracking *t, bool *has_track);

#endif
