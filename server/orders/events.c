/* Order events as JSON on the bus. */
#include "events.h"

#include <string.h>

#include "book.h"
#include "channels/bus.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/money.h"
#include "server.h"

static void time_field(struct buf *b, const char *key, int64_t ms)
{
    char ts[CLOCK_RFC3339_LEN];
    clock_format_rfc3339(ms, ts);
    json_key(b, key, 0);
    json_cstr(b, ts);
}

void events_order_goods(struct buf *b, const struct order *o)
{
    char amount[MONEY_TEXT_MAX];
    money_format(o->amount, money_exponent(o->currency), amount);
    json_key(b, "customer", 0);
    json_cstr(b, o->customer);
    json_key(b, "item", 0);
    json_cstr(b, o->item);
    json_key(b, "qty", 0);
    json_int(b, o->qty);
    json_key(b, "amount", 0);
    json_cstr(b, amount);
    json_key(b, "currency", 0);
    json_cstr(b, o->currency);
}

static void order_json(struct buf *b, const struct order *o)
{
    buf_appendc(b, '{');
    json_key(b, "id", 1);
    json_int(b, (long long)o->id);
    json_key(b, "status", 0);
    json_cstr(b, order_status_name(o->status));
    events_order_goods(b, o);
    json_key(b, "key", 0);
    json_cstr(b, o->key);
    time_field(b, "created", o->created_ms);
    time_field(b, "updated", o->updated_ms);
    buf_appendc(b, '}');
}

static void on_order_event(void *ctx, const struct order_event *ev, const struct order *o,
                           int from)
{
    struct server *srv = ctx;
    const char *type = ev->type == ORDER_EV_CREATED ? "order.created" : "order.status";
    struct buf b;
    buf_init(&b);
    buf_appendc(&b, '{');
    json_key(&b, "event_id", 1);
    json_int(&b, (long long)++srv->last_event_id);
    json_key(&b, "type", 0);
    json_cstr(&b, type);
    json_key(&b, "order_id", 0);
    json_int(&b, (long long)o->id);
    json_key(&b, "status", 0);
    json_cstr(&b, order_status_name(o->status));
    json_key(&b, "previous", 0);
    json_cstr(&b, from < 0 ? NULL : order_status_name((enum order_status)from));
    time_field(&b, "time", ev->time_ms);
    json_key(&b, "source", 0);
    json_cstr(&b, ev->type == ORDER_EV_CREATED ? "client" : ev->source);
    json_key(&b, "note", 0);
    json_cstr(&b, ev->type == ORDER_EV_CREATED ? NULL : ev->note);
    json_key(&b, "order", 0);
    order_json(&b, o);
    buf_appendc(&b, '}');
    bus_publish(srv, type, strlen(type), buf_head(&b), buf_used(&b));
    buf_free(&b);
}

void events_attach(struct server *srv)
{
    book_observe(srv->book, on_order_event, srv);
}
