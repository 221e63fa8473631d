/* The store: where every state change is recorded so that it survives a
 * restart, and the one interface the rest of the server uses for that.
 * Back-ends sit behind a table of operations (struct store_ops), each in
 * its own files: the embedded journal (journal_store.h, the default) and
 * memory (memory_store.h: nothing is recorded). Their own knobs (fsync
 * policy, repair, compaction, file sizes) are theirs: this interface has
 * none.
 *
 * Durability is an event. Changes are recorded as they are made, the
 * back-end is asked once per loop turn to make them durable (commit), and
 * it answers later, on the loop, "durable up to position P" (hooks.durable):
 * from a write, from the fsync thread, or from a database's COMMIT. A
 * reply that depends on a change is held until then; nothing polls.
 *
 * Refusal comes first. A back-end that cannot take a change now (no space
 * reserved, a write being retried) says so before the change is made:
 * store_writable() is false, the gate is closed, and whoever would change
 * state waits or refuses. It opens the gate again by itself when it can. */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gate;
struct histogram;
struct order_event;
struct order;
struct chan_change;
struct saga;
struct tracking;
struct store;
struct store_stats;

struct store_hooks {
    void *ctx;
    /* Something was recorded: commit at the end of this loop turn. Called
     * once until the next store_commit(). */
    void (*wake)(void *ctx);
    /* Every change up to position pos is durable (as the back-end's policy
     * defines it). Positions only grow. */
    void (*durable)(void *ctx, uint64_t pos);
    /* Durability is lost for good (a failed fsync): what the store holds is
     * no longer known, so the process must stop without answering anyone
     * and recover from the store on the next start. */
    void (*fatal)(void *ctx, const char *why);
    /* This node may now write: it took over from another (a standby's
     * lease), and the state is loaded into the subsystems. Subsystems
     * that change state on their own start now. */
    void (*active)(void *ctx);
};

/* What a back-end does; be is its own state. */
struct store_ops {
    const char *name;
    /* It keeps text as UTF-8 text (a database's text columns): text that
     * is not UTF-8 cannot be kept as it is, so it is refused before it
     * changes anything. False: bytes are kept as they are. */
    bool utf8_text;
    /* Record a change. Only called while writable() is true, or for the
     * consequences of a change admitted then. */
    void (*order)(void *be, const struct order_event *ev);
    void (*change)(void *be, const struct chan_change *c);
    /* A saga changed: all of it, with its parcel (t may be NULL). */
    void (*saga)(void *be, const struct saga *sg, const struct tracking *t);
    void (*sim)(void *be, int type, const char *key, int64_t value);
    /* End of a loop turn: start making everything recorded durable. */
    void (*commit)(void *be);
    /* The position after the last change recorded. */
    uint64_t (*end)(const void *be);
    /* Can a change be recorded now? If not, why (for the -STORE reply). */
    bool (*writable)(void *be, char *why, size_t whylen);
    /* The error code of the refusal (protocol/reply.h), NULL: STORE. */
    const char *(*refusal_code)(const void *be);
    /* May this node write at all (false: a standby)? NULL: always. */
    bool (*active)(const void *be);
    /* Is durability stuck: changes recorded that are not being made
     * durable (a write that keeps failing, an fsync that does not come
     * back)? NULL: never. */
    bool (*stalled)(const void *be);
    /* Loads orders the book let go of (book_evict) back into memory, with
     * their sagas; done(arg, ok) is called later, on the loop. NULL: the
     * back-end keeps every order in memory. */
    void (*load)(void *be, const uint64_t *ids, size_t n, void (*done)(void *arg, bool ok),
                 void *arg);
    void (*stats)(const void *be, struct store_stats *st);
    /* Commits what is left and closes. Returns 0, or -1 when that failed. */
    int (*close)(void *be);
};

/* What back-ends are given to report with. */
struct store_env {
    struct store_hooks hooks;
    struct gate *gate;   /* closed while changes are refused; borrowed */
};

/* For back-ends: wraps be behind ops. */
struct store *store_new(const struct store_ops *ops, void *be, const struct store_env *env);
/* For back-ends, on the loop: changes up to pos are durable. */
void store_report_durable(struct store *s, uint64_t pos);
/* For back-ends: changes can be taken again (why NULL), or cannot (why). */
void store_report_writable(struct store *s, const char *why);
/* For back-ends: durability is lost for good (see hooks.fatal). */
void store_report_fatal(struct store *s, const char *why);
/* For back-ends: this node took over and may write (see hooks.active). */
void store_report_active(struct store *s);

/* Closes the back-end. Returns 0, or -1 when its last commit failed. */
int store_close(struct store *s);

/* Recording, for the subsystems' hooks (the order book's observer has
 * the book's signature). */
void store_on_order(void *store, const struct order_event *ev, const struct order *o, int from);
void store_on_change(struct store *s, const struct chan_change *c);
/* A saga changed: all of it, with its parcel or NULL. */
void store_on_saga(struct store *s, const struct saga *sg, const struct tracking *t);
void store_on_sim(struct store *s, int type, const char *key, int64_t value);

/* End of a loop turn: hands what was recorded to the back-end. */
void store_commit(struct store *s);

/* Where the last change recorded ends, and how far changes are durable:
 * a reply made after changes up to store_end() may go once store_durable()
 * reaches that. */
uint64_t store_end(const struct store *s);
uint64_t store_durable(const struct store *s);

/* Whether a change may be made now; when not, why fills why. May try to
 * reserve space (a system call), so it is asked only before a change. */
bool store_writable(struct store *s, char *why, size_t whylen);
/* Whether what the store holds has stopped becoming durable (see
 * store_ops.stalled): output that no change caused need not wait then. */
bool store_stalled(const struct store *s);

/* Why changes are refused, as last reported, or NULL while they are not:
 * for INFO and /readyz, which must not have effects. */
const char *store_refusal(const struct store *s);
/* The error code to refuse with: "STORE" unless the back-end says. */
const char *store_refusal_code(const struct store *s);
/* Whether this node may write at all: false for a standby, which starts
 * nothing that changes state until hooks.active. */
bool store_active(const struct store *s);
/* Whether orders may leave memory, because the store can load them back;
 * and loading them (see store_ops.load). */
bool store_can_load(const struct store *s);
/* Whether text that is not UTF-8 must be refused (store_ops.utf8_text). */
bool store_text_utf8(const struct store *s);
void store_load(struct store *s, const uint64_t *ids, size_t n,
                void (*done)(void *arg, bool ok), void *arg);

struct store_stats {
    const char *kind;
    const char *fsync;        /* the durability policy */
    uint64_t records;
    uint64_t records_left_out;  /* made moot within their loop turn (turn.h) */
    uint64_t bytes;           /* written since start */
    uint64_t file_size;       /* the journal now */
    uint64_t reserved;        /* space reserved ahead of it */
    uint64_t fsyncs;
    uint64_t write_errors;    /* writes that failed (and were retried) */
    uint64_t compactions;
    bool compacting;
    /* The longest the loop stopped for a compaction (forking, or finishing:
     * the tail written, the file swapped), in microseconds. */
    uint64_t compaction_stall_us;
    uint64_t recovered_records;
    int64_t recovery_ms;
    const struct histogram *fsync_us;  /* microseconds per fsync, or NULL */
    /* A shared database: this node's role ("active", "standby", "fenced"),
     * the database's state ("up", "slow", "down"), the lease. NULL/0 for
     * stores of one process. */
    const char *role;
    const char *database;
    const char *lease_holder;
    uint64_t lease_epoch;
    uint64_t reconnects;
    uint64_t loads, load_errors;   /* orders loaded back into memory */
};
void store_stats(const struct store *s, struct store_stats *st);

#endif
