/* Orders as JSON (see order_json.h). */
#include "order_json.h"

#include "buf.h"
#include "lib/clock.h"
#include "json_writer.h"
#include "lib/money.h"

static void time_field(struct buf *b, struct clock *clk, const char *key, int64_t ms)
{
    char ts[CLOCK_RFC3339_LEN];
    clock_format(clk, ms, ts);
    json_key(b, key, 0);
    json_cstr(b, ts);
}

void order_json_goods(struct buf *b, const struct order *o)
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

static void order_json(struct buf *b, struct clock *clk, const struct order *o)
{
    buf_appendc(b, '{');
    json_key(b, "id", 1);
    json_int(b, (long long)o->id);
    json_key(b, "status", 0);
    json_cstr(b, order_status_name(o->status));
    order_json_goods(b, o);
    json_key(b, "key", 0);
    json_cstr(b, o->key);
    time_field(b, clk, "created", o->created_ms);
    time_field(b, clk, "updated", o->updated_ms);
    buf_appendc(b, '}');
}

const char *order_json_channel(const struct order_event *ev)
{
    return ev->type == ORDER_EV_CREATED ? "order.created" : "order.status";
}

void order_json_event(struct buf *b, struct clock *clk, uint64_t event_id,
                      const struct order_event *ev, const struct order *o, int from)
{
    buf_appendc(b, '{');
    json_key(b, "event_id", 1);
    json_int(b, (long long)event_id);
    json_key(b, "type", 0);
    json_cstr(b, order_json_channel(ev));
    json_key(b, "order_id", 0);
    json_int(b, (long long)o->id);
    json_key(b, "status", 0);
    json_cstr(b, order_status_name(o->status));
    json_key(b, "previous", 0);
    json_cstr(b, from < 0 ? NULL : order_status_name((enum order_status)from));
    time_field(b, clk, "time", ev->time_ms);
    json_key(b, "source", 0);
    json_cstr(b, ev->type == ORDER_EV_CREATED ? "client" : ev->source);
    json_key(b, "note", 0);
    json_cstr(b, ev->type == ORDER_EV_CREATED ? NULL : ev->note);
    json_key(b, "order", 0);
    order_json(b, clk, o);
    buf_appendc(b, '}');
}
