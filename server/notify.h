/* Telling systemd how orderd is doing, for a Type=notify service
 * (sd_notify): READY=1 once the state is recovered and the ports listen,
 * STATUS= lines for `systemctl status`, STOPPING=1 when shutdown begins,
 * and WATCHDOG=1 from a timer on the event loop, so that a loop that stops
 * turning stops the pings and systemd restarts orderd.
 *
 * Without NOTIFY_SOCKET in the environment (orderd not started by systemd)
 * nothing is sent and nothing is formatted; without a watchdog for this
 * process (WATCHDOG_USEC, and WATCHDOG_PID unset or ours) there is no
 * timer. */
#ifndef SERVER_NOTIFY_H
#define SERVER_NOTIFY_H

#include <stdint.h>

struct event_base;
struct notify;

/* Reads what systemd asked for from the environment, and arms the
 * watchdog's timer on base, at half the interval systemd gave. */
struct notify *notify_new(struct event_base *base);
void notify_free(struct notify *n);

/* The interval between watchdog pings, in microseconds; 0 without one. */
uint64_t notify_watchdog_interval_us(const struct notify *n);

/* Each returns 0, or a negative errno when the message could not be sent
 * (systemd would not see it). */

/* STATUS=<text>, sent only if it differs from the last status sent. */
int notify_status(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* READY=1 with STATUS=<text>: the service has started. */
int notify_ready(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* STOPPING=1 with STATUS=<text>: the service is shutting down. */
int notify_stopping(struct notify *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
