/* What changed since the PostgreSQL store last wrote, and the SQL that
 * writes it. Changes are noted as keys (an order, a saga, a group, a
 * pending entry, a participant's value); the statements are made from
 * the state those keys have when the batch is built, so a thing changed
 * ten times between two batches is written once, as it is now, and a
 * batch built while the previous one was in flight carries every turn
 * since (group commit).
 *
 * Statements are upserts and deletes of whole rows: a batch sent again,
 * after a connection was lost before its outcome was known, does no
 * harm. */
#ifndef STORE_PG_BATCH_H
#define STORE_PG_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct chan_change;
struct order_event;
struct persist_target;
struct pg_changes;

/* t is borrowed: the state the statements are made from. */
struct pg_changes *pg_changes_new(const struct persist_target *t);
void pg_changes_free(struct pg_changes *c);

void pg_changes_order(struct pg_changes *c, const struct order_event *ev);
void pg_changes_channel(struct pg_changes *c, const struct chan_change *ch);
void pg_changes_saga(struct pg_changes *c, uint64_t order);
void pg_changes_sim(struct pg_changes *c, int type, const char *key, int64_t value);

bool pg_changes_empty(const struct pg_changes *c);

/* Appends the statements that write every change noted to out, each
 * NUL-terminated, forgets the changes, and returns how many statements. */
size_t pg_changes_build(struct pg_changes *c, struct buf *out);

/* SQL literals (standard_conforming_strings on, client encoding UTF8):
 * a text (bytes that are not UTF-8, and NULs, become U+FFFD), NULL for a
 * NULL s; a time in milliseconds since the epoch, NULL for 0 when
 * nullable. */
void pg_lit_text(struct buf *b, const char *s, size_t n);
void pg_lit_time(struct buf *b, int64_t ms, bool nullable);

#endif
