/* A gate: whether state may change now. The store closes it when it cannot
 * record a change (no space reserved ahead, a write being retried) and
 * opens it again when it can. Whoever changes state on its own, from a
 * timer rather than a client's request (saga timeouts and retries, the
 * simulated participants, ack-wait redelivery), looks at the gate first,
 * leaves its work where it is while the gate is closed, and is called back
 * when it opens. Clients' requests are refused at the command table. */
#ifndef LIB_GATE_H
#define LIB_GATE_H

#include <stdbool.h>
#include <stddef.h>

#define GATE_MAX_LISTENERS 8

struct gate {
    bool closed;
    /* Asked, while open, before each piece of work that changes state:
     * may it be done now? The store keeps its space reserved here, and a
     * refusal closes the gate. NULL: yes. */
    bool (*admit)(void *arg);
    void *admit_arg;
    struct {
        void (*opened)(void *arg);
        void *arg;
    } listeners[GATE_MAX_LISTENERS];
    size_t n;
};

void gate_init(struct gate *g);

/* opened(arg) runs each time the gate opens. Returns 0, or -1 when
 * GATE_MAX_LISTENERS are registered already. */
int gate_listen(struct gate *g, void (*opened)(void *arg), void *arg);

/* Whether state may not be changed now (closed, or admit says no). NULL
 * is an open gate: for modules run without a store (unit tests). */
bool gate_closed(struct gate *g);

void gate_close(struct gate *g);
/* Opens it, calling the listeners if it was closed. */
void gate_open(struct gate *g);

#endif
