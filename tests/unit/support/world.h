/* A server's world for unit tests: the real subsystems (book, bus, saga
 * engine, simulated participants, metrics, commands, and optionally the
 * network layer) wired as server.c wires them, around a store double
 * whose durability the test decides, and a clock the test moves.
 *
 * The double records nothing but counts: its position is the number of
 * changes recorded (a tap may be put behind it to see the records
 * themselves: support/capture.h). What it does at commit is its mode:
 *   DOUBLE_NOW     reports everything durable at once (a fast disk);
 *   DOUBLE_LATER   reports nothing until double_complete() (a slow fsync);
 *   DOUBLE_NEVER   never reports, and says it is stalled (a write that
 *                  keeps failing);
 *   DOUBLE_ERROR   reports a fatal error (a failed fsync). */
#ifndef TEST_WORLD_H
#define TEST_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd/client.h"
#include "cmd/command.h"
#include "lib/clock.h"
#include "lib/gate.h"
#include "reply.h"

struct event_base;
struct event;
struct net;
struct store_ops;

enum double_mode { DOUBLE_NOW, DOUBLE_LATER, DOUBLE_NEVER, DOUBLE_ERROR };

struct store_double {
    struct store *store;       /* the interface wrapping it */
    enum double_mode mode;
    uint64_t end;              /* changes recorded */
    uint64_t commits;
    bool refusing;             /* writable() answers false */
    int fatal_calls;           /* times the fatal hook ran */
    /* Handed every record and commit too, when not NULL: a back-end's
     * order, change, saga, sim, tracking and commit operations. */
    const struct store_ops *tap;
    void *tap_be;
};

struct world {
    struct event_base *base;
    struct clock clock;
    int64_t fake_wall, fake_mono;   /* the clock's readings, set by tests */
    struct gate gate;
    struct store_double dbl;
    struct metrics *metrics;
    struct book *book;
    struct bus *bus;
    struct engine *engine;
    struct sim *sim;
    struct server_counters counters;
    struct cmd_env env;
    struct net *net;                /* world_listen() */
    struct event *turn_end;
    int turn_waits;                 /* the end of this turn waited for the participants */
};

/* Builds it all; saga says whether orders run through sagas (with every
 * participant simulated). */
void world_init(struct world *w, bool saga);
void world_free(struct world *w);

/* world_init() in two halves, so that a test can recover into the world
 * between them as server.c does, before anything observes the order book
 * and before the engine and the participants start: world_build() makes
 * the subsystems and the store (with tap behind the double, or NULL),
 * world_start() connects the book to them and starts the sagas. */
void world_build(struct world *w, bool saga, const struct store_ops *tap, void *tap_be);
void world_start(struct world *w);

/* Adds the network layer (no listener: tests hand it sockets). */
void world_net(struct world *w);

/* The store double: report durable everything recorded so far. */
void double_complete(struct world *w);
void double_refuse(struct world *w, bool refusing);

/* A client for commands run without a connection: it keeps the replies
 * handlers send through it. */
struct test_client {
    struct cmd_client client;
    struct reply *replies[64];
    int n;
    bool blocked, closing;
};
void test_client_init(struct test_client *c, uint64_t id);
/* The client leaves: its replies are freed, its subscriptions end. */
void test_client_free(struct world *w, struct test_client *c);

/* Runs one request, given as words (NULL-terminated), through the
 * command table, as a connection would. Returns the reply (NULL when the
 * handler answered through the client); *changes tells what dispatch
 * declared. */
struct reply *world_run(struct world *w, struct test_client *c, bool *changes, ...);

/* Turns the event loop until nothing is left to do right now. */
void world_turn(struct world *w);

/* Moves the fake clocks on by ms, a millisecond at a time, and at each
 * runs what fell due and turns the loop. libevent's timers run on the
 * real clock, so each millisecond every pending timer is run: the
 * deadline timers of the channels, the engine and the participants check
 * their deadlines on the server clock and re-arm. Not for a world with
 * timers that fire once (world_net()'s, a blocked CONSUME's timeout). */
void world_advance(struct world *w, int64_t ms);

#endif
