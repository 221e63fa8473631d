/* Durable channels and consumer groups: the Kafka replacement.
 *
 * A channel is an ordered log of messages, each with an offset (its id,
 * from 1) and a publish time, trimmed by count and/or age. A consumer group
 * reads a channel with at-least-once delivery: CONSUME hands out messages,
 * ACK settles them, NACK or an ack timeout makes them deliverable again
 * (after a backoff), and a message delivered maxdeliver times without an
 * ACK goes to the dead-letter queue instead.
 *
 * This module is pure bookkeeping: it never reads a clock (every call takes
 * "now"), never touches a socket and never arms a timer. It reports the
 * earliest deadline it needs to be woken for (chreg_next_due), and calls
 * hooks when a message is dead-lettered and when a blocked consumer can be
 * served. */
#ifndef SERVER_CHANNEL_H
#define SERVER_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlq.h"

struct chan_settings {
    uint64_t maxlen;          /* messages kept; 0: no count limit */
    int64_t maxage_ms;        /* 0: no age limit */
    int64_t ackwait_ms;       /* unacked this long: redelivered */
    uint32_t maxdeliver;      /* deliveries before the DLQ */
    int64_t backoff_ms;       /* NACK without delay: first backoff */
    int64_t backoff_max_ms;   /* ... doubling up to this */
    uint64_t maxpending;      /* in-flight messages per group */
    uint64_t maxbytes;        /* payload bytes kept; 0: no byte limit */
};

#define CHAN_MAXLEN_DEFAULT 100000
#define CHAN_ACKWAIT_DEFAULT_MS 30000
#define CHAN_MAXDELIVER_DEFAULT 5
#define CHAN_BACKOFF_DEFAULT_MS 100
#define CHAN_BACKOFF_MAX_DEFAULT_MS 30000
#define CHAN_MAXPENDING_DEFAULT 100000
#define CHAN_MAXBYTES_DEFAULT (64u * 1024 * 1024)
#define CHAN_MAXBYTES_MIN 1024
#define CHAN_MAX_CONSUMERS 10000    /* consumers with a live connection, per group */

void chan_settings_default(struct chan_settings *s);

struct chan_registry;
struct channel;
struct chan_group;

/* A message as handed out. Valid until the registry next changes. */
struct chan_delivery {
    uint64_t offset;
    uint32_t deliveries;
    int64_t time_ms;
    const char *payload;
    size_t len;
};

/* A blocked CONSUME. Embedded in the caller's own struct; ready() is
 * called (once, after the waiter is removed) when the group has something
 * to deliver. */
struct chan_waiter {
    struct chan_group *group;
    void (*ready)(struct chan_waiter *w);
    struct chan_waiter *prev, *next;
};

/* Every change to channel state, as the journal records it and recovery
 * applies it. Fields not named for a type are unused. */
enum chan_change_type {
    CHG_DECLARE = 1,  /* channel, settings */
    CHG_GROUP,        /* channel, group, offset: where the group starts */
    CHG_APPEND,       /* channel, offset, time, payload */
    CHG_DELIVER,      /* channel, group, offset, consumer, deliveries, time */
    CHG_ACK,          /* channel, group, offset */
    CHG_NACK,         /* channel, group, offset, due (0: deliverable now), reason */
    CHG_DEAD,         /* channel, group, offset, reason, time: to the DLQ */
    CHG_REPLAY,       /* dlq_id, time: back from the DLQ */
    CHG_PURGE,        /* dlq_id */
    CHG_PENDING,      /* snapshots only: a whole pending entry (all fields) */
    CHG_OFFSETS,      /* snapshots: channel, offset = the next offset to give
                         (kept even when retention left the log empty) */
    CHG_DLQ_ADD,      /* channel, group, offset, payload, reason, deliveries,
                         replays, time (published), first_ms, last_ms, due_ms
                         (when it died): a message dead-lettered from outside
                         its group (a saga step out of attempts) */
    CHG_SETTLE,       /* channel, group, offset: settled before it was ever
                         delivered (group_settle); appended last so older
                         journals keep their record numbers */
};

/* What a message's payload was made from, when its publisher can make the
 * same bytes again from state that is recorded anyway (a saga step's
 * message, from its order): a store may record this instead of the
 * payload, and have the publisher make it again at recovery. Opaque to
 * channels. */
struct chan_recipe {
    uint32_t kind;           /* the publisher's own */
    uint64_t arg[3];
};

struct chan_change {
    enum chan_change_type type;
    const char *channel;
    const char *group;
    const char *consumer;
    const char *reason;
    const struct chan_settings *settings;
    uint64_t offset;
    uint64_t dlq_id;
    uint32_t deliveries;
    uint32_t replays;
    int state;               /* CHG_PENDING: an enum pending_state */
    int64_t time_ms;         /* APPEND: publish time; DELIVER: delivery */
    int64_t first_ms;        /* CHG_PENDING: first and last delivery */
    int64_t last_ms;
    int64_t due_ms;
    const char *payload;
    size_t len;
    const struct chan_recipe *recipe;  /* APPEND: what payload was made from, or NULL */
    /* ACK, SETTLE: every group has now settled the message (it is in no
     * group's future or pending entries), so only READ will ask for it
     * again: a store may record its publication, handing out and
     * settling as one. APPEND applied at recovery: that one, so the
     * message is appended and settled in every group at once. */
    bool released;
};

struct chan_hooks {
    void *ctx;
    /* State changed (not called while applying recovered changes). */
    void (*changed)(void *ctx, const struct chan_change *c);
    /* A message was moved to the DLQ (already added, with id e->id). */
    void (*dead_lettered)(void *ctx, const struct dlq_entry *e);
    /* The earliest deadline moved earlier: re-arm the timer. */
    void (*due_changed)(void *ctx);
};

/* The registry borrows dlq. seed drives the backoff jitter. */
struct chan_registry *chreg_new(struct dlq *dlq, const struct chan_hooks *hooks,
                                uint64_t seed);
void chreg_free(struct chan_registry *r);

enum chan_declare {
    CHAN_CREATED,
    CHAN_EXISTS,     /* same settings: not an error */
    CHAN_CONFLICT,   /* exists with other settings */
};
enum chan_declare chreg_declare(struct chan_registry *r, const char *name,
                                const struct chan_settings *s, struct channel **out);
struct channel *chreg_find(const struct chan_registry *r, const char *name);
size_t chreg_count(const struct chan_registry *r);
/* Channels in name order is not promised: for (i = 0; chreg_next(r, &i, &ch);) */
bool chreg_next(const struct chan_registry *r, size_t *iter, struct channel **ch);

/* Appends; returns the new message's offset. Wakes blocked consumers. */
uint64_t chan_append(struct chan_registry *r, struct channel *ch, const char *payload,
                     size_t len, int64_t now);
/* The same, saying what payload was made from (recipe may be NULL). At
 * recovery payload may be NULL with a recipe: the payload is made when
 * first needed (see chreg_remake_with()). */
uint64_t chan_append_made(struct chan_registry *r, struct channel *ch, const char *payload,
                          size_t len, int64_t now, const struct chan_recipe *recipe);

struct buf;
/* Recovery: how to make the payload of a message recorded by its recipe
 * (its publisher's remake, with arg). Until it is set, an APPEND without
 * its payload is refused; chreg_make_all() makes every message still
 * unmade and forgets it. Most such messages leave the log (count
 * retention) before anyone reads them, so their payloads are never made. */
void chreg_remake_with(struct chan_registry *r,
                       int (*remake)(void *arg, const struct chan_recipe *recipe,
                                     struct buf *out),
                       void *arg);
bool chreg_remakes(const struct chan_registry *r);
void chreg_make_all(struct chan_registry *r);

const char *chan_name(const struct channel *ch);
const struct chan_settings *chan_settings(const struct channel *ch);
uint64_t chan_first_offset(const struct channel *ch);  /* oldest retained */
uint64_t chan_last_offset(const struct channel *ch);   /* 0 when none yet */
size_t chan_length(const struct channel *ch);
uint64_t chan_bytes(const struct channel *ch);         /* payload bytes kept */
size_t chan_group_count(const struct channel *ch);

/* History: up to max messages from offset `from` on (clamped to the
 * oldest retained). Returns how many were written to out. */
size_t chan_read(struct chan_registry *r, struct channel *ch, uint64_t from, size_t max,
                 struct chan_delivery *out, int64_t now);

/* The group, created on first use (starting at the oldest retained
 * message) when create is true. */
struct chan_group *chan_group(struct channel *ch, const char *name, bool create);
struct chan_group *chan_group_at(const struct channel *ch, size_t i);
const char *group_name(const struct chan_group *g);

/* Whether consumer may consume in g: it is known, or the group has room
 * for one more (CHAN_MAX_CONSUMERS). */
bool group_has_room(struct chan_group *g, const char *consumer);

/* Hands up to max messages to consumer: redeliveries first, oldest first,
 * then new messages. owner identifies the consumer's connection, so its
 * in-flight messages can be released when that connection goes. */
size_t group_consume(struct chan_registry *r, struct chan_group *g, const char *consumer,
                     uint64_t owner, size_t max, struct chan_delivery *out, int64_t now);
/* The same, stopping once the payloads handed out reach max_bytes (one
 * message at least): a reply of a thousand 1 MB messages is not made. */
size_t group_consume_bytes(struct chan_registry *r, struct chan_group *g, const char *consumer,
                           uint64_t owner, size_t max, size_t max_bytes,
                           struct chan_delivery *out, int64_t now);

/* Returns 1 when offset was pending and is now settled, 0 otherwise. */
int group_ack(struct chan_registry *r, struct chan_group *g, uint64_t offset, int64_t now);

/* Settles offset whether it was delivered or not: a pending one as
 * group_ack does, one never delivered so that it never will be (the group
 * steps over it, and its committed offset moves past it in turn). For the
 * channel's own publisher giving up on a message (a saga step that timed
 * out), not for consumers: they ACK what they were given. Returns 1 when
 * something was settled, 0 when it was settled already or is not in the
 * log any more. */
int group_settle(struct chan_registry *r, struct chan_group *g, uint64_t offset, int64_t now);

/* Returns 1 when offset was in flight (it is now delayed, ready or dead-
 * lettered), 0 otherwise. delay_ms < 0 means the group's backoff. */
int group_nack(struct chan_registry *r, struct chan_group *g, uint64_t offset,
               int64_t delay_ms, const char *reason, int64_t now);

/* Everything the connection `owner` had in flight becomes deliverable (or
 * goes to the DLQ, out of deliveries). Costs what that connection held,
 * not what every group holds. With defer (changes may not be made now:
 * the store refuses them), it is only let go of: its messages fall due at
 * once, and chreg_expire() settles them when it is next let run. */
void chreg_owner_gone(struct chan_registry *r, uint64_t owner, int64_t now, bool defer);

/* The payload of a message pending in g, or false when it is not. */
bool group_peek(const struct chan_group *g, uint64_t offset, const char **payload, size_t *len);

/* Puts a message in the DLQ on behalf of someone other than the group's
 * own delivery count (a saga step out of attempts); settles it in the
 * group (group_settle), delivered or not, so the group hands it out again
 * only when it is replayed. Returns the DLQ entry's id. */
uint64_t chreg_dead_letter(struct chan_registry *r, struct chan_group *g, uint64_t offset,
                           const char *payload, size_t len, const char *reason,
                           uint32_t deliveries, int64_t first_ms, int64_t now);

/* DLQ REPLAY of one entry: its group gets the message again with a fresh
 * delivery count, and the entry leaves the DLQ. Returns 0, or -1 when
 * there is no such entry or its channel no longer exists. */
int chreg_dlq_replay(struct chan_registry *r, uint64_t dlq_id, int64_t now);
/* DLQ PURGE of one entry. Returns 0, or -1 when there is no such entry. */
int chreg_dlq_purge(struct chan_registry *r, uint64_t dlq_id);

/* Recovery: applies a recorded change (hooks are not called). Returns 0,
 * or -1 when it does not fit the state (a journal that does not belong to
 * this state). */
int chreg_apply(struct chan_registry *r, const struct chan_change *c);
/* After recovery: what was in flight has lost its consumer (the old
 * process) and becomes deliverable; retention catches up with now. */
void chreg_recovered(struct chan_registry *r, int64_t now);

/* Snapshots: calls fn with changes that rebuild every channel, message,
 * group and pending entry (DLQ entries are the DLQ's own business). */
void chreg_snapshot(const struct chan_registry *r, void (*fn)(void *arg, const struct chan_change *c),
                    void *arg);
/* The pieces of a snapshot, for a store that keeps state rather than
 * changes: a channel's declaration and first offset (DECLARE, OFFSETS);
 * one retained message as its APPEND (false when not retained; recipe is
 * room for an unmade one's); a group as GROUP, its SETTLEs and, when
 * asked, its PENDING entries; one pending entry (false when none). What
 * they fill points into the registry until it next changes. */
void chan_snapshot_head(const struct channel *ch, struct chan_change out[2]);
bool chan_message_change(const struct channel *ch, uint64_t offset, struct chan_change *out,
                         struct chan_recipe *recipe);
void group_snapshot(const struct chan_group *g, bool with_pending,
                    void (*fn)(void *arg, const struct chan_change *c), void *arg);
bool group_pending_change(const struct chan_group *g, uint64_t offset, struct chan_change *out);

void group_wait(struct chan_group *g, struct chan_waiter *w);
void group_unwait(struct chan_waiter *w);

/* Group figures for GROUPS and PENDING. */
struct group_stats {
    uint64_t next;        /* next offset never delivered */
    uint64_t committed;   /* every offset up to this one is settled */
    uint64_t lag;         /* last offset - committed */
    size_t pending;       /* delivered, not settled */
    size_t consumers;
    size_t waiting;       /* blocked CONSUMEs */
};
void group_stats(const struct chan_group *g, struct group_stats *st);

enum pending_state { PENDING_INFLIGHT, PENDING_DELAYED, PENDING_READY };

struct pending_info {
    uint64_t offset;
    const char *consumer;  /* last delivered to */
    uint32_t deliveries;
    enum pending_state state;
    int64_t last_ms;       /* last delivery */
    int64_t due_ms;        /* ack deadline, or when it is redelivered */
};
/* Pending entries in offset order, skipping the first `skip`. */
size_t group_pending(const struct chan_group *g, size_t skip, struct pending_info *out,
                     size_t max);
const char *pending_state_name(enum pending_state s);

/* Deadlines: the earliest, or -1 when none; and processing at most max of
 * those due by now (redelivery, DLQ, retention). Returns how many were. */
int64_t chreg_next_due(struct chan_registry *r);
/* Changes were refused for a while (the store could not record them) and
 * are taken again from now: a consumer could not ACK meanwhile, so an ack
 * wait that began before starts over from now instead of running out. */
void chreg_resumed(struct chan_registry *r, int64_t now);
size_t chreg_expire(struct chan_registry *r, int64_t now, size_t max);

#endif
