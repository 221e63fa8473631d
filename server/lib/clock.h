/* Time. The server reads its clock once per event-loop wake-up and hands
 * that instant to whatever it calls, so code below takes "now" as an
 * argument and tests can move time without sleeping.
 *
 * Two readings, for two purposes:
 *   wall_ms  the wall clock: timestamps people read (an order's created,
 *            updated and history times, event times, log lines);
 *   now_ms   the server clock: monotonic, never jumps, but anchored to the
 *            wall clock when the clock starts, so it reads like a time of
 *            day and stays meaningful in records kept across a restart.
 *            Every deadline and duration runs on it: ack waits, retries,
 *            step timeouts, breaker periods, backoffs, retention.
 * A wall-clock jump (NTP stepping, an operator's `date -s`) moves wall_ms
 * only: no deadline fires early or late because of it. */
#ifndef SERVER_CLOCK_H
#define SERVER_CLOCK_H

#include <stdint.h>

#include "timefmt.h"

/* Where readings come from: the real clocks, or a test's own. */
struct clock_source {
    int64_t (*wall)(void *arg);   /* ms since the Unix epoch */
    int64_t (*mono)(void *arg);   /* ms of a monotonic clock, any origin */
    void *arg;
};

struct clock {
    int64_t wall_ms;
    int64_t now_ms;
    struct clock_source src;
    int64_t anchor;               /* now_ms - mono at the start */
    struct timefmt fmt;           /* clock_format's last second */
};

/* Starts a clock on src (NULL: the real clocks) and reads it once. */
void clock_init(struct clock *c, const struct clock_source *src);
/* Reads both clocks again: once per wake-up. */
void clock_tick(struct clock *c);

/* Arms the timer ev to fire at due_ms on the server clock (at once when
 * that has passed). */
struct event;
void clock_arm(const struct clock *c, struct event *ev, int64_t due_ms);

/* Milliseconds since the Unix epoch. */
int64_t clock_wall_ms(void);

/* Monotonic milliseconds, for uptime and deadlines. */
int64_t clock_mono_ms(void);
/* Monotonic microseconds, for measuring how long something took. */
int64_t clock_mono_us(void);

#define CLOCK_RFC3339_LEN TIMEFMT_LEN  /* "2026-11-21T05:31:51.123Z" plus NUL */

/* UTC, RFC 3339 with milliseconds. */
void clock_format_rfc3339(int64_t ms, char out[CLOCK_RFC3339_LEN]);
/* The same text, made faster for a time in the second formatted last:
 * replies and events mostly carry times of now. */
void clock_format(struct clock *c, int64_t ms, char out[CLOCK_RFC3339_LEN]);

#endif
