/* Time. The server reads the wall clock once per event-loop wake-up and
 * hands that instant to whatever it calls, so code below takes "now" as an
 * argument and tests can move time without sleeping. */
#ifndef SERVER_CLOCK_H
#define SERVER_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch. */
int64_t clock_wall_ms(void);

/* Monotonic milliseconds, for uptime and deadlines. */
int64_t clock_mono_ms(void);

#define CLOCK_RFC3339_LEN 25  /* "2026-11-21T05:31:51.123Z" plus NUL */

/* UTC, RFC 3339 with milliseconds. */
void clock_format_rfc3339(int64_t ms, char out[CLOCK_RFC3339_LEN]);

#endif
