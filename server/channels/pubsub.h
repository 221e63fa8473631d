/* Live pub/sub, Redis-compatible: channels and glob patterns, messages
 * fanned out to whoever is subscribed at that moment, nothing kept.
 * Messages are rendered once per framing and the same bytes are appended
 * to every subscriber, so fan-out costs a copy per subscriber; a
 * subscriber that frames messages itself (an HTTP event stream) is handed
 * the message instead. */
#ifndef SERVER_PUBSUB_H
#define SERVER_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

struct pubsub;
struct pubsub_client;

/* A message as it is published, for a subscriber that frames it itself. */
struct pubsub_message {
    const char *pattern;     /* the pattern it reached this subscriber by, or
                                NULL: a subscription to the channel itself */
    size_t patlen;
    const char *channel;
    size_t chlen;
    const char *payload;
    size_t plen;
    uint64_t offset;         /* its offset in the durable channel of that
                                name; 0 on a live-only channel */
    bool change;             /* as for push() */
};

/* Whoever subscribes: a client connection (net/conn.c embeds one), or an
 * HTTP event stream (net/http_sse.c). pubsub renders each message once per
 * framing and hands the bytes to push(); or, when deliver is set, hands
 * deliver() the message itself, once per subscription it matches. */
struct subscriber {
    /* change: the message tells of a change (so it may not be seen
     * before that change is durable); false for a client's message on a
     * live channel, which tells of nothing recorded. */
    void (*push)(struct subscriber *s, const char *bytes, size_t n, bool change);
    enum proto_kind kind;          /* the framing pushes are rendered in */
    struct pubsub_client *client;  /* pubsub's own; NULL until it subscribes */
    /* Optional: instead of push(), with nothing rendered. */
    void (*deliver)(struct subscriber *s, const struct pubsub_message *m);
};

struct pubsub *pubsub_new(void);
void pubsub_free(struct pubsub *ps);

/* Each returns the client's number of subscriptions (channels plus
 * patterns) afterwards; subscribing twice or unsubscribing from something
 * not subscribed changes nothing. */
size_t pubsub_subscribe(struct pubsub *ps, struct subscriber *c, const char *ch, size_t len);
size_t pubsub_unsubscribe(struct pubsub *ps, struct subscriber *c, const char *ch, size_t len);
size_t pubsub_psubscribe(struct pubsub *ps, struct subscriber *c, const char *pat, size_t len);
size_t pubsub_punsubscribe(struct pubsub *ps, struct subscriber *c, const char *pat, size_t len);

/* UNSUBSCRIBE (PUNSUBSCRIBE) without arguments: ends every subscription
 * to a channel (pattern), calling each(arg, name, len, remaining) after
 * each one with how many subscriptions the client has left. One pass,
 * whatever the number. */
void pubsub_unsubscribe_all(struct pubsub *ps, struct subscriber *c, bool patterns,
                            void (*each)(void *arg, const char *name, size_t len,
                                         size_t remaining),
                            void *arg);

/* Whether the client is subscribed to name (as a pattern, with pattern). */
bool pubsub_has(struct subscriber *c, const char *name, size_t len, bool pattern);

size_t pubsub_count(struct subscriber *c);

/* Sends to every subscriber of ch and of every matching pattern; returns
 * how many received it. offset: the message's offset in the durable
 * channel ch, or 0 (see struct pubsub_message). change: see struct
 * subscriber. */
size_t pubsub_publish(struct pubsub *ps, const char *ch, size_t chlen,
                      const char *payload, size_t plen, uint64_t offset, bool change);

/* Whether a message on ch would reach anyone now: a subscriber of ch, or
 * of a pattern matching it. */
bool pubsub_heard(const struct pubsub *ps, const char *ch, size_t chlen);

/* Subscribers of exactly ch (not counting patterns). */
size_t pubsub_subscribers(const struct pubsub *ps, const char *ch, size_t len);

/* Channels with at least one subscriber: for (i = 0; pubsub_next(...);) */
bool pubsub_next_channel(const struct pubsub *ps, size_t *iter, const char **name,
                         size_t *len, size_t *subscribers);
size_t pubsub_pattern_count(const struct pubsub *ps);
size_t pubsub_channel_count(const struct pubsub *ps);

/* Forgets a closing client. */
void pubsub_client_gone(struct pubsub *ps, struct subscriber *c);

#endif
