/* Output limits: how much unread output a client may pile up before it is
 * cut off, for the kinds of client whose output cannot simply wait
 * (Redis's client-output-buffer-limit). A subscriber's pushes come from
 * other clients' requests, and a worker's messages are in flight with it
 * while they sit unread, held from every other consumer of its group: a
 * client of either kind that stops reading is closed, not paused. Pure
 * arithmetic on a count of bytes and the server clock, so it is
 * unit-tested without sockets (tests/unit/test_output_limit.c). */
#ifndef NET_OUTPUT_LIMIT_H
#define NET_OUTPUT_LIMIT_H

#include <stddef.h>
#include <stdint.h>

struct output_limit {
    size_t hard;            /* more unread than this: cut off at once; 0: none */
    size_t soft;            /* more than this ... ; 0: none */
    unsigned soft_seconds;  /* ... for longer than this: cut off */
};

enum output_verdict {
    OUTPUT_OK,
    OUTPUT_OVER_HARD,
    OUTPUT_OVER_SOFT,  /* over the soft limit for longer than soft_seconds */
};

/* Where a client with `unread` bytes of output stands at now_ms.
 * *soft_since_ms is the caller's to keep: when the client went over the
 * soft limit, 0 while it is under it; this sets and clears it. As in
 * Redis, the time over the soft limit is measured between checks, which
 * are made as output is added. */
enum output_verdict output_limit_check(const struct output_limit *l, size_t unread,
                                       int64_t now_ms, int64_t *soft_since_ms);

#endif
