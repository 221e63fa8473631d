/* The journal back-end of the store: the embedded default. Every change is
 * a record appended to one file (journal.h has its format); a loop turn's
 * records are written together (group commit) and made durable by the
 * fsync policy; compaction forks and writes a snapshot of live state in
 * the same records while the parent keeps journaling, then swaps files.
 *
 * Space is reserved ahead of the records (fallocate), so a change is
 * refused before it is made when the disk is full, rather than made and
 * then not written. The reservation, and a write that failed anyway, are
 * retried every second: writes resume by themselves when space returns.
 * A failed fsync is never retried (see journal_sync_collect): the store
 * reports it as fatal and the server exits to recover from the file. */
#ifndef STORE_JOURNAL_STORE_H
#define STORE_JOURNAL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "journal.h"
#include "store.h"

struct event_base;
struct clock;
struct persist_target;

struct journal_options {
    const char *dir;          /* the data directory */
    enum fsync_policy fsync;
    bool repair;              /* cut a corrupt journal at its last good record */
    uint64_t compact_min;     /* no compaction below this journal size */
    uint64_t reserve;         /* space kept reserved ahead of the records */
};

#define JOURNAL_COMPACT_MIN_DEFAULT (64u * 1024 * 1024)
#define JOURNAL_RESERVE_DEFAULT (8u * 1024 * 1024)
#define JOURNAL_RESERVE_MIN (64u * 1024)
#define JOURNAL_NAME "journal"

/* Opens (creating if needed) the journal in o->dir and recovers its state
 * into t, which the store keeps for compaction. NULL with err filled on
 * failure: the server must not start. */
struct store *journal_store_open(const struct journal_options *o, struct event_base *base,
                                 struct clock *clk, struct persist_target *t,
                                 const struct store_env *env, char *err, size_t errlen);

#endif
