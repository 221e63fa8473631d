/* Log lines: one event per line, "time level=<l> key=value ...", on stderr
 * (journald-friendly) or in a file, filtered by level. Events that can come
 * in floods (a client hitting a limit again and again, messages piling into
 * the DLQ) go through a limiter: at most one line a second per kind, with a
 * count of what was held back. */
#ifndef SERVER_LOG_H
#define SERVER_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level {
    LOG_DEBUG,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR,
};

/* At start-up, before anything logs: the lowest level written, and the
 * file (NULL: stderr). Returns 0, or -1 with err filled. */
int log_setup(const char *level, const char *file, char *err, size_t errlen);

/* level: "debug", "info", "warn" or "error". */
void log_event(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One per kind of flood, kept by whoever logs it. */
struct log_limiter {
    int64_t window_ms;     /* start of the current second */
    uint64_t held_back;    /* lines not written in it */
    const char *kind;
};

void log_limited(struct log_limiter *l, int64_t now_ms, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
