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
    struct subscriber sub;      /* pub/sub: its subscriptions and push framing */
};

static inline void cmd_client_reply(struct cmd_client *c, struct reply *r)
{
    c->ops->reply(c, r);
}

#endif
