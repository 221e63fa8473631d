/* The timestamps people read: RFC 3339, UTC, with milliseconds
 * ("2026-11-21T05:31:51.123Z"), made by arithmetic rather than gmtime and
 * printf. A struct timefmt keeps the text of the last second it made, so
 * the many timestamps of one second (a burst of CREATEs carries two per
 * reply) cost a copy and three digits each. */
#ifndef SERVER_TIMEFMT_H
#define SERVER_TIMEFMT_H

#include <stdbool.h>
#include <stdint.h>

#define TIMEFMT_LEN 25  /* "2026-11-21T05:31:51.123Z" plus NUL */

struct timefmt {
    int64_t sec;              /* the second text[0, 20) shows, once valid */
    bool valid;
    char text[TIMEFMT_LEN];   /* the last timestamp made */
};

void timefmt_init(struct timefmt *tf);

/* ms (since the Unix epoch) as text; from what tf keeps when ms falls in
 * the second it made last. */
void timefmt_format(struct timefmt *tf, int64_t ms, char out[TIMEFMT_LEN]);

/* The same text, with nothing kept. */
void timefmt_rfc3339(int64_t ms, char out[TIMEFMT_LEN]);

#endif
