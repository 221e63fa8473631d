/* The gate (see gate.h). */
#include "gate.h"

#include <string.h>

void gate_init(struct gate *g)
{
    memset(g, 0, sizeof *g);
}

int gate_listen(struct gate *g, void (*opened)(void *arg), void *arg)
{
    if (g->n == GATE_MAX_LISTENERS)
        return -1;
    g->listeners[g->n].opened = opened;
    g->listeners[g->n].arg = arg;
    g->n++;
    return 0;
}

bool gate_closed(struct gate *g)
{
    if (g == NULL)
        return false;
    if (g->closed)
        return true;
    return g->admit && !g->admit(g->admit_arg);
}

void gate_close(struct gate *g)
{
    g->closed = true;
}

void gate_open(struct gate *g)
{
    if (!g->closed)
        return;
    g->closed = false;
    for (size_t i = 0; i < g->n && !g->closed; i++)
        g->listeners[i].opened(g->listeners[i].arg);
}
