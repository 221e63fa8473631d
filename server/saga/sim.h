/* The simulated participants: customer registry, inventory, payment,
 * shipping and notification. Each consumes its step channels through its
 * consumer group exactly as an external worker would (CONSUME, then STEP
 * to answer and acknowledge), so any of them can be switched off and
 * replaced by a real process. Their own state (stock, reservations,
 * charges, blocked customers) is recorded in the store, so a restart or a
 * redelivered message never reserves or charges twice. */
#ifndef SERVER_SIM_H
#define SERVER_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

struct event_base;
struct clock;
struct gate;
struct book;
struct bus;
struct sim;

struct sim_settings {
    bool enabled;
    double decline;       /* payment: share of business failures */
    double error;         /* share of transient failures (all but notify) */
    int64_t latency_ms;   /* before answering */
    int64_t transit_ms;   /* shipping: dispatch to delivery */
};

#define SIM_STOCK_DEFAULT 1000000
/* The highest stock STOCK SET or a default may set: releases put back what
 * was reserved on top of it, so a level near the int64 limit must not be
 * settable (it would overflow, or be cut). 10^15 leaves room for 9,000
 * billion units in reservations. */
#define SIM_STOCK_MAX 1000000000000000LL
#define SIM_TRANSIT_DEFAULT_MS 200

struct sim_hooks {
    void *ctx;
    /* The participants' own state changed: for the store to record. */
    void (*changed)(void *ctx, int type /* enum sim_record */, const char *key, int64_t value);
};

/* Everything passed is borrowed; enabled_mask has a bit per participant.
 * While gate is closed, nothing is taken or answered. */
struct sim *sim_new(struct event_base *base, struct clock *clk, struct gate *gate,
                    struct book *book, struct bus *bus, struct engine *engine,
                    unsigned enabled_mask, const struct sim_hooks *hooks);
void sim_free(struct sim *s);

/* After the engine declared its channels: start consuming. */
void sim_start(struct sim *s);

/* Whether the participants have work queued for this loop turn (messages
 * published in it to take and answer): the turn's commit may wait for
 * it, so that a step published and answered at once is one commit. */
bool sim_busy(const struct sim *s);

struct sim_settings *sim_settings(struct sim *s, enum participant p);
/* Applies a change of settings (e.g. enabled switched). */
void sim_settings_changed(struct sim *s, enum participant p);

int64_t sim_stock(const struct sim *s, const char *sku);
void sim_set_stock(struct sim *s, const char *sku, int64_t level);
int64_t sim_stock_default(const struct sim *s);
void sim_set_stock_default(struct sim *s, int64_t level);
bool sim_blocked(const struct sim *s, const char *customer);
void sim_block(struct sim *s, const char *customer, bool blocked);

/* Persistence of the simulators' state (see persist.c). */
enum sim_record {
    SIMREC_STOCK = 1,        /* sku, level */
    SIMREC_RESERVATION,      /* order, qty (0: released) */
    SIMREC_CHARGE,           /* order, amount (0: refunded) */
    SIMREC_BLOCK,            /* customer, 1/0 */
    SIMREC_STOCK_DEFAULT,    /* level */
};
int sim_apply(struct sim *s, enum sim_record type, const char *key, int64_t value);
void sim_snapshot(const struct sim *s,
                  void (*fn)(void *arg, enum sim_record type, const char *key, int64_t value),
                  void *arg);

#endif
