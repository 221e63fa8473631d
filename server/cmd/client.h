/* The client a command runs for, as handlers see it: what they may do
 * besides returning one reply. The network layer implements it (net/conn.c
 * embeds one in each connection); handlers never see a socket. */
#ifndef CMD_CLIENT_H
#define CMD_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "channels/pubsub.h"
#include "reply.h"

struct cmd_client;
struct acl_user;

/* What kind of client a connection is, for its output limits (net_config)
 * and INFO: subscribed to something (its output is pushes it did not ask
 * for); a worker, once it has taken messages (CONSUME, READ, STEP: its
 * replies carry payloads, and what it was handed waits on it); or
 * neither. */
enum client_kind {
    CLIENT_NORMAL,
    CLIENT_PUBSUB,
    CLIENT_WORKER,
};
#define CLIENT_KINDS 3

static inline const char *client_kind_name(enum client_kind k)
{
    static const char *const names[CLIENT_KINDS] = {"normal", "pubsub", "worker"};
    return (unsigned)k < CLIENT_KINDS ? names[k] : "?";
}

struct cmd_client_ops {
    /* Sends a reply rendered in the current request's framing; takes r.
     * For handlers that answer with more than one (SUBSCRIBE a b). */
    void (*reply)(struct cmd_client *c, struct reply *r);
    /* The current request will be answered later, by unblock(); until
     * then no further request of this client runs. If the client goes
     * first, cancel(arg) is called. */
    void (*block)(struct cmd_client *c, void (*cancel)(void *arg), void *arg);
    void (*unblock)(struct cmd_client *c, struct reply *r);
    /* Close once every reply queued so far is written (QUIT). */
    void (*close_after_reply)(struct cmd_client *c);
};

struct cmd_client {
    const struct cmd_client_ops *ops;
    uint64_t id;                /* unique while the server runs; consumer owner */
    bool changes;               /* the request being run is declared to change state */
    /* Who authenticated on this connection; NULL: nobody yet. Users live
     * as long as the server (auth/acl.h). */
    const struct acl_user *user;
    bool worker;                /* it has run a command flagged CMD_WORKER */
    struct subscriber sub;      /* pub/sub: its subscriptions and push framing */
};

/* Subscribed wins: while subscribed it can run nothing else. */
static inline enum client_kind cmd_client_kind(struct cmd_client *c)
{
    if (pubsub_count(&c->sub) > 0)
        return CLIENT_PUBSUB;
    return c->worker ? CLIENT_WORKER : CLIENT_NORMAL;
}

static inline void cmd_client_reply(struct cmd_client *c, struct reply *r)
{
    c->ops->reply(c, r);
}

#endif
