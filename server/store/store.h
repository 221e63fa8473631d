/* The store: where every state change is recorded so that it survives a
 * restart, and the one interface the rest of the server uses for that.
 * Back-ends: the embedded journal (the default) and "memory" (nothing is
 * recorded: for throwaway servers and benchmarks). A PostgreSQL back-end
 * would sit behind the same calls.
 *
 * Durability is reported, not waited for: store_end() is where the last
 * change was recorded, store_durable() how far the back-end guarantees;
 * with fsync=always a reply waits (its bytes are held by the connection)
 * until durable passes the changes made before it. */
#ifndef SERVER_STORE_H
#define SERVER_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/histogram.h"
#include "journal.h"
#include "persist.h"

enum store_kind {
    STORE_JOURNAL,
    STORE_MEMORY,
};

struct store_config {
    enum store_kind kind;
    const char *dir;          /* journal: the data directory */
    enum fsync_policy fsync;
    bool repair;
    uint64_t compact_min;     /* no compaction below this journal size */
};

#define STORE_COMPACT_MIN_DEFAULT (64u * 1024 * 1024)
#define STORE_JOURNAL_NAME "journal"

struct store;
struct order_event;
struct order;
struct chan_change;

/* Opens the store and recovers its state into t. NULL with err filled on
 * failure (the server must not start). */
struct store *store_open(const struct store_config *cfg, struct persist_target *t,
                         char *err, size_t errlen);
void store_close(struct store *s);

/* Called (once until the next store_flush) when a change is recorded, so
 * the server can flush at the end of the loop turn. */
void store_set_wake(struct store *s, void (*wake)(void *arg), void *arg);

/* Observers: record a change. */
void store_on_order(void *store, const struct order_event *ev, const struct order *o, int from);
void store_on_change(struct store *s, const struct chan_change *c);
struct saga;
/* step -1: the saga's own state changed; else that step did. */
void store_on_saga(struct store *s, const struct saga *sg, int step);
void store_on_sim(struct store *s, int type, const char *key, int64_t value);
struct tracking;
/* A saga's parcel tracking changed (TRACK shows it). */
void store_on_tracking(struct store *s, uint64_t order, const struct tracking *t);

/* End of a loop turn: write what was recorded, fsync with always. Returns
 * 0, or -1 (logged once) when the disk refused; the data stays buffered. */
int store_flush(struct store *s);
/* Once a second: fsync with everysec; start a compaction when due. */
void store_tick(struct store *s, const struct persist_target *t);
/* A child process exited: a compaction may have finished. */
void store_child_exited(struct store *s);

uint64_t store_end(const struct store *s);
uint64_t store_durable(const struct store *s);
/* Replies must wait for durability (fsync=always) and some change is not
 * durable yet. */
bool store_holds_replies(const struct store *s);
/* The last write failed: writes are refused until one succeeds. */
bool store_failed(const struct store *s);

struct store_stats {
    const char *kind;
    const char *fsync;
    uint64_t records;
    uint64_t bytes;           /* recorded since start */
    uint64_t file_size;       /* the journal now */
    uint64_t fsyncs;
    uint64_t compactions;
    bool compacting;
    uint64_t recovered_records;
    int64_t recovery_ms;
};
void store_stats(const struct store *s, struct store_stats *st);
/* Microseconds per fsync. */
const struct histogram *store_fsync_histogram(const struct store *s);

#endif
