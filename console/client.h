/* ordertop's connection to orderd: two connections, one for commands
 * (polling METRICS, SAGAS, DLQ LIST; actions) and one for subscriptions
 * (order.*, dlq, breaker, notify), bufferevents on the libevent loop whose
 * bytes hiredis's redisReader turns into replies. A small state machine:
 * CONNECTING -> UP when both are; either one lost -> DOWN, both closed,
 * waiting replies answered with NULL, a reconnect after a backoff that
 * doubles from 0.5 s up to 10 s; on reconnecting the subscriptions are
 * made again. */
#ifndef CONSOLE_CLIENT_H
#define CONSOLE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redisReply;
struct client;

struct client_handlers {
    void *ctx;
    void (*state)(void *ctx, int state, int attempt, int64_t retry_at_ms);  /* enum conn_state */
    void (*push)(void *ctx, const struct redisReply *r);
    void (*poll)(void *ctx);  /* once a second while UP: send the polls */
    void (*notice)(void *ctx, const char *text);  /* something to tell the operator */
    /* Who we are on the server, after each (re)connection: the user and
     * its roles ("operator", "admin"...), as ACL WHOAMI and ACL ROLES say. */
    void (*identity)(void *ctx, const char *user, const char *const *roles, size_t nroles);
};

struct client *client_new(struct event_base *base, const char *host, int port, const char *user,
                          const char *password, const struct client_handlers *h);
void client_free(struct client *c);
void client_start(struct client *c);

/* Replies to commands: cb(arg, reply), or reply NULL if the connection
 * went away first. */
typedef void (*client_reply_fn)(void *arg, const struct redisReply *r);
/* Sends a line as the operator typed it, split into arguments the way
 * orderd splits inline requests (quotes and escapes work as with nc), as
 * RESP so every reply can be read. Returns NULL, or why nothing was sent. */
#define CLIENT_LINE_ARGS 64
const char *client_command_line(struct client *c, client_reply_fn cb, void *arg, const char *line);
bool client_up(const struct client *c);

int64_t client_now_ms(void);

#endif
