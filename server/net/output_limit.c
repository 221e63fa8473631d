/* Output limits (see output_limit.h). */
#include "output_limit.h"

enum output_verdict output_limit_check(const struct output_limit *l, size_t unread,
                                       int64_t now_ms, int64_t *soft_since_ms)
{
    if (l->hard > 0 && unread > l->hard)
        return OUTPUT_OVER_HARD;
    if (l->soft == 0 || unread <= l->soft) {
        *soft_since_ms = 0;
        return OUTPUT_OK;
    }
    if (*soft_since_ms == 0) {
        /* The server clock reads like a time of day: never 0. */
        *soft_since_ms = now_ms;
        return OUTPUT_OK;
    }
    if (now_ms - *soft_since_ms > (int64_t)l->soft_seconds * 1000)
        return OUTPUT_OVER_SOFT;
    return OUTPUT_OK;
}
