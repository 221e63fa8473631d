/* The bus (see bus.h). */
#include "bus.h"

#include <event2/event.h>
#include <string.h>

#include "buf.h"
#include "channel.h"
#include "lib/clock.h"
#include "net/conn.h"
#include "dlq.h"
#include "lib/json.h"
#include "lib/log.h"
#include "pubsub.h"
#include "server.h"
#include "store/store.h"

static void on_dead_lettered(void *ctx, const struct dlq_entry *e)
{
    struct server *srv = ctx;
    char dlt[BUS_NAME_MAX + 1];
    size_t n = strlen(e->channel);
    bus_dlq_event(srv, "dead-lettered", e);
    log_limited(&srv->log_dlq, srv->now_ms, "warn",
                "event=dead_lettered channel=%s group=%s offset=%llu reason=\"%s\" dlq_depth=%zu",
                e->channel, e->group, (unsigned long long)e->offset, e->reason,
                dlq_count(srv->dlq));
    /* Kafka users look for the dead letters of X in X.DLT: a durable
     * channel of its own, so it can be read, consumed and subscribed to.
     * Durable names are short enough for it (BUS_DURABLE_NAME_MAX); a
     * X.DLT itself dead-lettering would need X.DLT.DLT and stops there. */
    if (n + sizeof BUS_DLT_SUFFIX <= sizeof dlt) {
        memcpy(dlt, e->channel, n);
        memcpy(dlt + n, BUS_DLT_SUFFIX, sizeof BUS_DLT_SUFFIX);
        struct channel *ch;
        if (chreg_find(srv->channels, dlt) == NULL) {
            struct chan_settings s;
            chan_settings_default(&s);
            chreg_declare(srv->channels, dlt, &s, &ch);
        }
        bus_publish(srv, dlt, strlen(dlt), e->payload, e->len);
    }
}

static void on_changed(void *ctx, const struct chan_change *c)
{
    struct server *srv = ctx;
    store_on_change(srv->store, c);
}

static void on_due_changed(void *ctx)
{
    bus_rearm(ctx);
}

static void on_due(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    server_tick(srv);
    chreg_expire(srv->channels, srv->now_ms);
    bus_rearm(srv);
}

void bus_rearm(struct server *srv)
{
    int64_t due = chreg_next_due(srv->channels);
    if (due < 0) {
        evtimer_del(srv->due_timer);
        return;
    }
    int64_t wait = due - clock_wall_ms();
    if (wait < 0)
        wait = 0;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000)};
    evtimer_add(srv->due_timer, &tv);
}

void bus_init(struct server *srv)
{
    struct chan_hooks hooks = {
        .ctx = srv,
        .changed = on_changed,
        .dead_lettered = on_dead_lettered,
        .due_changed = on_due_changed,
    };
    srv->pubsub = pubsub_new();
    srv->dlq = dlq_new(DLQ_MAX_DEFAULT);
    srv->channels = chreg_new(srv->dlq, &hooks, (uint64_t)clock_wall_ms());
    srv->due_timer = evtimer_new(srv->base, on_due, srv);
}

void bus_free(struct server *srv)
{
    if (srv->due_timer)
        event_free(srv->due_timer);
    chreg_free(srv->channels);
    dlq_free(srv->dlq);
    pubsub_free(srv->pubsub);
    srv->due_timer = NULL;
    srv->channels = NULL;
    srv->dlq = NULL;
    srv->pubsub = NULL;
}

size_t bus_publish(struct server *srv, const char *name, size_t chlen, const char *payload,
                   size_t plen)
{
    if (chlen <= BUS_NAME_MAX && memchr(name, '\0', chlen) == NULL) {
        char cname[BUS_NAME_MAX + 1];
        memcpy(cname, name, chlen);
        cname[chlen] = '\0';
        struct channel *ch = chreg_find(srv->channels, cname);
        if (ch)
            chan_append(srv->channels, ch, payload, plen, srv->now_ms);
    }
    srv->stats.published++;
    return pubsub_publish(srv->pubsub, name, chlen, payload, plen);
}

uint64_t bus_append(struct server *srv, struct channel *ch, const char *payload, size_t plen)
{
    uint64_t offset = chan_append(srv->channels, ch, payload, plen, srv->now_ms);
    const char *name = chan_name(ch);
    srv->stats.published++;
    pubsub_publish(srv->pubsub, name, strlen(name), payload, plen);
    return offset;
}

void bus_dlq_event(struct server *srv, const char *event, const struct dlq_entry *e)
{
    struct buf b;
    char ts[CLOCK_RFC3339_LEN];
    buf_init(&b);
    buf_appendc(&b, '{');
    json_key(&b, "event", 1);
    json_cstr(&b, event);
    json_key(&b, "id", 0);
    json_int(&b, (long long)e->id);
    json_key(&b, "channel", 0);
    json_cstr(&b, e->channel);
    json_key(&b, "group", 0);
    json_cstr(&b, e->group);
    json_key(&b, "offset", 0);
    json_int(&b, (long long)e->offset);
    json_key(&b, "reason", 0);
    json_cstr(&b, e->reason);
    json_key(&b, "deliveries", 0);
    json_int(&b, e->deliveries);
    json_key(&b, "replays", 0);
    json_int(&b, e->replays);
    json_key(&b, "time", 0);
    clock_format_rfc3339(srv->now_ms, ts);
    json_cstr(&b, ts);
    buf_appendc(&b, '}');
    bus_publish(srv, "dlq", 3, buf_head(&b), buf_used(&b));
    buf_free(&b);
}

void bus_conn_closing(struct server *srv, struct conn *c)
{
    pubsub_client_gone(srv->pubsub, c);
    /* At shutdown a consumer is not lost: its messages stay in flight,
     * and after the restart they are deliverable again without counting a
     * failed delivery (a crash would not count one either). */
    if (srv->shutting_down)
        return;
    chreg_owner_gone(srv->channels, conn_id(c), srv->now_ms);
    bus_rearm(srv);
}
