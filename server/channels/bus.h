/* The bus: live pub/sub, durable channels and the DLQ as one service.
 * Publishing appends to the channel's log when it is durable and fans out
 * to live subscribers; one libevent timer follows the channels' earliest
 * deadline (ack waits, NACK delays, retention) on the server clock; dead
 * letters are announced on `dlq` and copied to the channel `<name>.DLT`. */
#ifndef CHANNELS_BUS_H
#define CHANNELS_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct buf;
struct clock;
struct gate;
struct bus;
struct channel;
struct chan_change;
struct chan_recipe;
struct chan_registry;
struct dlq;
struct dlq_entry;
struct pubsub;
struct subscriber;

/* Longest channel, group or consumer name. */
#define BUS_NAME_MAX 256
#define BUS_DLT_SUFFIX ".DLT"
/* A durable channel's name leaves room for its dead letters' <name>.DLT. */
#define BUS_DURABLE_NAME_MAX (BUS_NAME_MAX - (int)(sizeof BUS_DLT_SUFFIX - 1))
/* Deadlines handled per wake-up: a burst of them (every message of a dead
 * consumer timing out at once) is taken in slices, with other clients
 * served in between. */
#define BUS_EXPIRE_BATCH 4096
#define BUS_EXPIRE_SLICE 256

struct bus_hooks {
    void *ctx;
    /* Channel state changed: for the store to record. */
    void (*changed)(void *ctx, const struct chan_change *c);
};

/* clk is read at each of the bus's own wake-ups; while gate is closed,
 * deadlines wait (they change state). Both are borrowed. */
struct bus *bus_new(struct event_base *base, struct clock *clk, struct gate *gate,
                    const struct bus_hooks *hooks);
void bus_free(struct bus *b);

struct chan_registry *bus_channels(struct bus *b);
struct dlq *bus_dlq(struct bus *b);
struct pubsub *bus_pubsub(struct bus *b);
/* Messages published (PUBLISH and internal events). */
uint64_t bus_published(const struct bus *b);

/* An event about a change (an order's, a dead letter's...): appended when
 * ch is durable, and pushed to live subscribers once the change is
 * durable. Returns the number of live receivers. */
size_t bus_publish(struct bus *b, const char *ch, size_t chlen, const char *payload,
                   size_t plen);
/* bus_publish for an event whose payload costs something to make: build
 * writes it into out, and is called only when the message goes somewhere
 * (a durable channel keeps it, a subscriber or a matching pattern receives
 * it). One that nobody hears is counted as published all the same. */
size_t bus_publish_built(struct bus *b, const char *ch, size_t chlen,
                         void (*build)(void *arg, struct buf *out), void *arg);
/* A client's PUBLISH: the same, but on a live-only channel it tells of
 * nothing recorded, so it reaches subscribers without waiting for the
 * store. */
size_t bus_publish_message(struct bus *b, const char *ch, size_t chlen, const char *payload,
                           size_t plen);

/* Appends to a durable channel and fans out to live subscribers; returns
 * the message's offset. recipe: what payload was made from, or NULL (see
 * struct chan_recipe). */
uint64_t bus_append(struct bus *b, struct channel *ch, const char *payload, size_t plen,
                    const struct chan_recipe *recipe);

/* Announces a DLQ move ("dead-lettered", "replayed", "purged") on `dlq`. */
void bus_dlq_event(struct bus *b, const char *event, const struct dlq_entry *e);

/* Re-arms the deadline timer: after anything that may add a deadline. */
void bus_rearm(struct bus *b);

/* A client leaves: its subscriptions end and, unless the server is
 * shutting down, what it had in flight as consumer `owner` becomes
 * deliverable again. (At shutdown a consumer is not lost: its messages
 * stay in flight, and after the restart they are deliverable again without
 * counting a failed delivery, as after a crash.) */
void bus_client_gone(struct bus *b, struct subscriber *s, uint64_t owner, bool shutting_down);

#endif
