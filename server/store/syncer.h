/* The syncer: one background thread that fdatasyncs a file on request, so
 * the event loop never waits for the disk with fsync=everysec (what Redis's
 * bio thread does for appendfsync everysec). The loop posts "sync this fd,
 * which holds everything up to logical offset upto"; a request made while
 * one is waiting replaces it (the newer one covers more). Each finished
 * fdatasync makes syncer_fd() readable, so the loop hears of it as an
 * event; it then reads the results with syncer_poll(). The thread never
 * logs. */
#ifndef SERVER_SYNCER_H
#define SERVER_SYNCER_H

#include <stdbool.h>
#include <stdint.h>

struct syncer;

/* NULL with errno set when the thread cannot be started. */
struct syncer *syncer_start(void);
/* Waits for a running fdatasync, drops a waiting request, joins. */
void syncer_stop(struct syncer *s);

/* Asks for fd to be fdatasynced; upto is what that makes durable. The fd
 * is dup()ed, so the caller may close or replace its own at once. Returns
 * 0, or -1 with errno set (the dup failed; nothing was posted). */
int syncer_post(struct syncer *s, int fd, uint64_t upto);

struct syncer_result {
    uint64_t synced;      /* highest upto whose fdatasync succeeded */
    uint64_t fsyncs;      /* fdatasyncs that succeeded, in all */
    uint64_t last_us;     /* how long the last one took */
    int error;            /* errno of a failed fdatasync since the last poll, or 0 */
};
/* Readable (an eventfd) when an fdatasync finished since the last poll. */
int syncer_fd(const struct syncer *s);

/* What the thread has done; a reported error is cleared, and so is
 * syncer_fd()'s readiness. */
void syncer_poll(struct syncer *s, struct syncer_result *r);

/* Waits until nothing is waiting or running, at most timeout_ms. Returns
 * false on timeout. For shutdown paths and tests: the loop never calls it. */
bool syncer_wait_idle(struct syncer *s, int timeout_ms);

#endif
