/* The bus (see bus.h). */
#include "bus.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "channel.h"
#include "dlq.h"
#include "lib/clock.h"
#include "lib/gate.h"
#include "json_writer.h"
#include "lib/log.h"
#include "pubsub.h"
#include "xalloc.h"

struct bus {
    struct clock *clk;
    struct gate *gate;
    struct bus_hooks hooks;
    struct pubsub *pubsub;
    struct dlq *dlq;
    struct chan_registry *channels;
    struct event *due_timer;       /* the channels' next deadline */
    struct log_limiter log_dlq;    /* messages moving into the DLQ */
    uint64_t published;
    struct buf payload;            /* bus_publish_built's, kept for the next */
    bool building;                 /* payload is in use */
};

static void on_dead_lettered(void *ctx, const struct dlq_entry *e)
{
    struct bus *b = ctx;
    char dlt[BUS_NAME_MAX + 1];
    size_t n = strlen(e->channel);
    bus_dlq_event(b, "dead-lettered", e);
    log_limited(&b->log_dlq, b->clk->now_ms, "warn",
                "event=dead_lettered channel=%s group=%s offset=%llu reason=\"%s\" dlq_depth=%zu",
                e->channel, e->group, (unsigned long long)e->offset, e->reason,
                dlq_count(b->dlq));
    /* Kafka users look for the dead letters of X in X.DLT: a durable
     * channel of its own, so it can be read, consumed and subscribed to.
     * Durable names are short enough for it (BUS_DURABLE_NAME_MAX); a
     * X.DLT itself dead-lettering would need X.DLT.DLT and stops there. */
    if (n + sizeof BUS_DLT_SUFFIX <= sizeof dlt) {
        memcpy(dlt, e->channel, n);
        memcpy(dlt + n, BUS_DLT_SUFFIX, sizeof BUS_DLT_SUFFIX);
        struct channel *ch;
        if (chreg_find(b->channels, dlt) == NULL) {
            struct chan_settings s;
            chan_settings_default(&s);
            chreg_declare(b->channels, dlt, &s, &ch);
        }
        bus_publish(b, dlt, strlen(dlt), e->payload, e->len);
    }
}

static void on_changed(void *ctx, const struct chan_change *c)
{
    struct bus *b = ctx;
    if (b->hooks.changed)
        b->hooks.changed(b->hooks.ctx, c);
}

static void on_due_changed(void *ctx)
{
    bus_rearm(ctx);
}

static void on_due(evutil_socket_t fd, short what, void *arg)
{
    struct bus *b = arg;
    (void)fd;
    (void)what;
    clock_tick(b->clk);
    /* Redelivery and dead-lettering change state: not while the store
     * cannot record it (the gate's opening re-arms us). */
    /* In slices, asking the gate before each: the store keeps room
     * reserved for what they record, or says no. */
    for (size_t done = 0; done < BUS_EXPIRE_BATCH;) {
        if (gate_closed(b->gate))
            return;
        size_t n = chreg_expire(b->channels, b->clk->now_ms, BUS_EXPIRE_SLICE);
        done += n;
        if (n < BUS_EXPIRE_SLICE)
            break;
    }
    bus_rearm(b);
}

static void on_gate_opened(void *arg)
{
    struct bus *b = arg;
    chreg_resumed(b->channels, b->clk->now_ms);
    bus_rearm(b);
}

void bus_rearm(struct bus *b)
{
    int64_t due = chreg_next_due(b->channels);
    if (due < 0) {
        evtimer_del(b->due_timer);
        return;
    }
    clock_arm(b->clk, b->due_timer, due);
}

struct bus *bus_new(struct event_base *base, struct clock *clk, struct gate *gate,
                    const struct bus_hooks *hooks)
{
    struct bus *b = xcalloc(1, sizeof *b);
    buf_init(&b->payload);
    struct chan_hooks ch = {
        .ctx = b,
        .changed = on_changed,
        .dead_lettered = on_dead_lettered,
        .due_changed = on_due_changed,
    };
    b->clk = clk;
    b->gate = gate;
    if (hooks)
        b->hooks = *hooks;
    b->pubsub = pubsub_new();
    b->dlq = dlq_new(DLQ_MAX_DEFAULT);
    b->channels = chreg_new(b->dlq, &ch, (uint64_t)clk->wall_ms);
    b->due_timer = evtimer_new(base, on_due, b);
    if (gate)
        gate_listen(gate, on_gate_opened, b);
    return b;
}

void bus_free(struct bus *b)
{
    if (b == NULL)
        return;
    event_free(b->due_timer);
    chreg_free(b->channels);
    dlq_free(b->dlq);
    pubsub_free(b->pubsub);
    buf_free(&b->payload);
    free(b);
}

struct chan_registry *bus_channels(struct bus *b) { return b->channels; }
struct dlq *bus_dlq(struct bus *b) { return b->dlq; }
struct pubsub *bus_pubsub(struct bus *b) { return b->pubsub; }
uint64_t bus_published(const struct bus *b) { return b->published; }

/* The durable channel called name, if there is one. */
static struct channel *durable(struct bus *b, const char *name, size_t chlen)
{
    if (chlen > BUS_NAME_MAX || memchr(name, '\0', chlen) != NULL)
        return NULL;
    char cname[BUS_NAME_MAX + 1];
    memcpy(cname, name, chlen);
    cname[chlen] = '\0';
    return chreg_find(b->channels, cname);
}

static size_t publish(struct bus *b, const char *name, size_t chlen, const char *payload,
                      size_t plen, bool change)
{
    struct channel *ch = durable(b, name, chlen);
    uint64_t offset = 0;
    if (ch) {
        offset = chan_append(b->channels, ch, payload, plen, b->clk->now_ms);
        change = true;
    }
    b->published++;
    return pubsub_publish(b->pubsub, name, chlen, payload, plen, offset, change);
}

size_t bus_publish(struct bus *b, const char *name, size_t chlen, const char *payload,
                   size_t plen)
{
    return publish(b, name, chlen, payload, plen, true);
}

static size_t publish_into(struct bus *b, const char *name, size_t chlen, struct buf *payload,
                           void (*build)(void *arg, struct buf *out), void *arg)
{
    buf_clear(payload);
    build(arg, payload);
    return publish(b, name, chlen, buf_head(payload), buf_used(payload), true);
}

size_t bus_publish_built(struct bus *b, const char *name, size_t chlen,
                         void (*build)(void *arg, struct buf *out), void *arg)
{
    if (durable(b, name, chlen) == NULL && !pubsub_heard(b->pubsub, name, chlen)) {
        b->published++;
        return 0;
    }
    if (b->building) {
        /* Publishing an event led to building another (nothing does
         * today): the bus's buffer is taken, this one gets its own. */
        struct buf own;
        buf_init(&own);
        size_t receivers = publish_into(b, name, chlen, &own, build, arg);
        buf_free(&own);
        return receivers;
    }
    b->building = true;
    size_t receivers = publish_into(b, name, chlen, &b->payload, build, arg);
    b->building = false;
    return receivers;
}

size_t bus_publish_message(struct bus *b, const char *name, size_t chlen, const char *payload,
                           size_t plen)
{
    return publish(b, name, chlen, payload, plen, false);
}

uint64_t bus_append(struct bus *b, struct channel *ch, const char *payload, size_t plen,
                    const struct chan_recipe *recipe)
{
    uint64_t offset = chan_append_made(b->channels, ch, payload, plen, b->clk->now_ms, recipe);
    const char *name = chan_name(ch);
    b->published++;
    pubsub_publish(b->pubsub, name, strlen(name), payload, plen, offset, true);
    return offset;
}

void bus_dlq_event(struct bus *b, const char *event, const struct dlq_entry *e)
{
    struct buf out;
    char ts[CLOCK_RFC3339_LEN];
    buf_init(&out);
    buf_appendc(&out, '{');
    json_key(&out, "event", 1);
    json_cstr(&out, event);
    json_key(&out, "id", 0);
    json_int(&out, (long long)e->id);
    json_key(&out, "channel", 0);
    json_cstr(&out, e->channel);
    json_key(&out, "group", 0);
    json_cstr(&out, e->group);
    json_key(&out, "offset", 0);
    json_int(&out, (long long)e->offset);
    json_key(&out, "reason", 0);
    json_cstr(&out, e->reason);
    json_key(&out, "deliveries", 0);
    json_int(&out, e->deliveries);
    json_key(&out, "replays", 0);
    json_int(&out, e->replays);
    json_key(&out, "time", 0);
    clock_format(b->clk, b->clk->wall_ms, ts);
    json_cstr(&out, ts);
    buf_appendc(&out, '}');
    bus_publish(b, "dlq", 3, buf_head(&out), buf_used(&out));
    buf_free(&out);
}

void bus_client_gone(struct bus *b, struct subscriber *s, uint64_t owner, bool shutting_down)
{
    pubsub_client_gone(b->pubsub, s);
    if (shutting_down)
        return;
    chreg_owner_gone(b->channels, owner, b->clk->now_ms, gate_closed(b->gate));
    bus_rearm(b);
}
