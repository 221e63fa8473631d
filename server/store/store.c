/* The store's common part (see store.h): hands changes to the back-end,
 * asks it to commit once per loop turn, and passes on what it reports. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gate.h"
#include "lib/log.h"
#include "xalloc.h"

struct store {
    const struct store_ops *ops;
    void *be;
    struct store_env env;
    uint64_t durable;
    bool woken;          /* asked for a commit this turn */
    bool refusing;       /* as last reported */
    char why[200];       /* why, while refusing */
};

struct store *store_new(const struct store_ops *ops, void *be, const struct store_env *env)
{
    struct store *s = xcalloc(1, sizeof *s);
    s->ops = ops;
    s->be = be;
    s->env = *env;
    return s;
}

int store_close(struct store *s)
{
    if (s == NULL)
        return 0;
    int rc = s->ops->close(s->be);
    free(s);
    return rc;
}

void store_report_durable(struct store *s, uint64_t pos)
{
    if (pos <= s->durable)
        return;
    s->durable = pos;
    if (s->env.hooks.durable)
        s->env.hooks.durable(s->env.hooks.ctx, pos);
}

void store_report_writable(struct store *s, const char *why)
{
    bool refusing = why != NULL;
    snprintf(s->why, sizeof s->why, "%s", why ? why : "");
    if (refusing == s->refusing)
        return;
    s->refusing = refusing;
    if (refusing) {
        /* A standby refuses by design: news, not trouble. */
        bool standby = strcmp(store_refusal_code(s), "READONLY") == 0;
        log_event(standby ? "info" : "error", "event=store_refusing store=%s reason=\"%s\"",
                  s->ops->name, why);
        if (s->env.gate)
            gate_close(s->env.gate);
    } else {
        log_event("info", "event=store_writable store=%s", s->ops->name);
        if (s->env.gate)
            gate_open(s->env.gate);
    }
}

void store_report_fatal(struct store *s, const char *why)
{
    log_event("error", "event=store_fatal store=%s reason=\"%s\"", s->ops->name, why);
    snprintf(s->why, sizeof s->why, "%s", why);
    if (s->env.gate)
        gate_close(s->env.gate);
    s->refusing = true;
    if (s->env.hooks.fatal)
        s->env.hooks.fatal(s->env.hooks.ctx, why);
}

void store_report_active(struct store *s)
{
    log_event("info", "event=store_active store=%s", s->ops->name);
    if (s->env.hooks.active)
        s->env.hooks.active(s->env.hooks.ctx);
}

const char *store_refusal_code(const struct store *s)
{
    const char *code = s->ops->refusal_code ? s->ops->refusal_code(s->be) : NULL;
    return code ? code : "STORE";
}

bool store_active(const struct store *s)
{
    return s->ops->active == NULL || s->ops->active(s->be);
}

bool store_text_utf8(const struct store *s)
{
    return s->ops->utf8_text;
}

bool store_can_load(const struct store *s)
{
    return s->ops->load != NULL;
}

void store_load(struct store *s, const uint64_t *ids, size_t n,
                void (*done)(void *arg, bool ok), void *arg)
{
    s->ops->load(s->be, ids, n, done, arg);
}

static void recorded(struct store *s)
{
    if (!s->woken && s->env.hooks.wake) {
        s->woken = true;
        s->env.hooks.wake(s->env.hooks.ctx);
    }
}

void store_on_order(void *store, const struct order_event *ev, const struct order *o, int from)
{
    struct store *s = store;
    (void)o;
    (void)from;
    if (s->ops->order) {
        s->ops->order(s->be, ev);
        recorded(s);
    }
}

void store_on_change(struct store *s, const struct chan_change *c)
{
    if (s->ops->change) {
        s->ops->change(s->be, c);
        recorded(s);
    }
}

void store_on_saga(struct store *s, const struct saga *sg, const struct tracking *t)
{
    if (s->ops->saga) {
        s->ops->saga(s->be, sg, t);
        recorded(s);
    }
}

void store_on_sim(struct store *s, int type, const char *key, int64_t value)
{
    if (s->ops->sim) {
        s->ops->sim(s->be, type, key, value);
        recorded(s);
    }
}

void store_commit(struct store *s)
{
    s->woken = false;
    if (s->ops->commit)
        s->ops->commit(s->be);
}

uint64_t store_end(const struct store *s)
{
    return s->ops->end(s->be);
}

uint64_t store_durable(const struct store *s)
{
    return s->durable;
}

bool store_writable(struct store *s, char *why, size_t whylen)
{
    return s->ops->writable(s->be, why, whylen);
}

bool store_stalled(const struct store *s)
{
    return s->ops->stalled && s->ops->stalled(s->be);
}

const char *store_refusal(const struct store *s)
{
    return s->refusing ? s->why : NULL;
}

void store_stats(const struct store *s, struct store_stats *st)
{
    memset(st, 0, sizeof *st);
    st->kind = s->ops->name;
    s->ops->stats(s->be, st);
}
