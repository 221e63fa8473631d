/* A connection's states, and the one function that decides, from the state
 * and a few facts, what the connection does next: run requests, watch the
 * socket for input or for room, wait for the store, or close. No sockets
 * here, so every combination is unit-tested (tests/unit/test_conn_state.c).
 *
 *   OPEN ──block──► BLOCKED ──unblock──► OPEN
 *    │ QUIT, a fatal protocol error, EOF after an unfinished request,
 *    │ shutdown (a blocked request is withdrawn first)
 *    ▼
 *   CLOSING ──every reply written──► LINGERING (input left unread) or gone
 *
 *   any ──cut off at its kind's output limits (often from inside someone
 *         else's request: a push, a blocked worker's answer)──► KILLED
 */
#ifndef NET_CONN_STATE_H
#define NET_CONN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conn_state {
    CONN_OPEN,       /* reading and running requests */
    CONN_BLOCKED,    /* a request waits to be answered (CONSUME block=); later
                        ones wait in the parser, which is still read so that
                        a hang-up is seen */
    CONN_CLOSING,    /* reads nothing more; closes once every reply is written */
    CONN_LINGERING,  /* our side is shut: draining the peer's unread input
                        until it closes or a deadline passes */
    CONN_KILLED,     /* closes at the end of the loop turn, unsent output
                        dropped */
};

const char *conn_state_name(enum conn_state s);

/* What the connection knows at a decision. */
struct conn_facts {
    enum conn_state state;
    bool eof;               /* the peer will send nothing more */
    size_t unsent;          /* rendered reply bytes not written yet */
    size_t sendable;        /* of those, what durability lets go now */
    size_t max_output;      /* unsent bytes at which requests stop running */
    size_t buffered;        /* request bytes read and not run yet */
    size_t max_buffered;    /* the most a blocked client may buffer */
};

struct conn_plan {
    bool run;     /* run the requests buffered */
    bool read;    /* watch the socket for input */
    bool write;   /* watch it for room: output is sendable and was not all taken */
    bool held;    /* output waits for the store's durability event */
    bool close;   /* everything owed is written: close now */
};

struct conn_plan conn_plan(const struct conn_facts *f);

/* The client has too much unread output: its requests wait. */
static inline bool conn_paused(const struct conn_facts *f)
{
    return f->unsent >= f->max_output;
}

/* The idle timeout (--timeout), checked lazily: one timer per connection,
 * armed for the time left and, when it fires, armed again for what is left
 * then, so an active client costs one wake-up per timeout, not one per
 * request. Returns 0 when a connection last active at last_active_ms has
 * been idle for timeout_ms and is to be closed; else the milliseconds
 * until it may be (at least 1). An exempt connection (subscribed, blocked,
 * waiting for the store) is looked at again a whole timeout later. */
int64_t conn_idle_left(int64_t now_ms, int64_t last_active_ms, int64_t timeout_ms,
                       bool exempt);

#endif
