/* The connection state machine's decisions (see conn_state.h). */
#include "conn_state.h"

const char *conn_state_name(enum conn_state s)
{
    switch (s) {
    case CONN_OPEN: return "open";
    case CONN_BLOCKED: return "blocked";
    case CONN_CLOSING: return "closing";
    case CONN_LINGERING: return "lingering";
    case CONN_KILLED: return "killed";
    }
    return "?";
}

struct conn_plan conn_plan(const struct conn_facts *f)
{
    struct conn_plan p = {false, false, false, false, false};
    switch (f->state) {
    case CONN_KILLED:
        p.close = true;
        return p;
    case CONN_LINGERING:
        p.read = true;  /* only to drain and see the peer's FIN */
        return p;
    case CONN_OPEN:
        /* A client that does not read its replies is not read from: its
         * unread output stays under max_output plus one reply. */
        p.run = !conn_paused(f);
        p.read = p.run && !f->eof;
        break;
    case CONN_BLOCKED:
        /* Read on, up to the request limit, so that hanging up is seen. */
        p.read = !f->eof && f->buffered < f->max_buffered;
        break;
    case CONN_CLOSING:
        break;
    }
    p.write = f->sendable > 0;
    p.held = f->unsent > 0 && f->sendable == 0;
    p.close = f->state == CONN_CLOSING && f->unsent == 0;
    return p;
}

int64_t conn_idle_left(int64_t now_ms, int64_t last_active_ms, int64_t timeout_ms,
                       bool exempt)
{
    if (exempt)
        return timeout_ms;
    int64_t left = last_active_ms + timeout_ms - now_ms;
    return left > 0 ? left : 0;
}
