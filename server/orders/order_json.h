/* Orders as JSON: the one shape every consumer sees, in the events on
 * `order.created` and `order.status` (docs/protocol.md has the format) and
 * in the saga's step messages. */
#ifndef ORDERS_ORDER_JSON_H
#define ORDERS_ORDER_JSON_H

#include <stdint.h>

#include "book.h"

struct buf;
struct clock;

/* The order's customer, item, qty, amount and currency as JSON fields,
 * each after a comma (an object is open, with a field in it already):
 * the part of an order every consumer of events and steps needs. */
void order_json_goods(struct buf *b, const struct order *o);

/* The event ev, numbered event_id, about order o (as it is after ev; from
 * is the status before it, or -1 for a created order), as one JSON object;
 * its times formatted through clk. */
void order_json_event(struct buf *b, struct clock *clk, uint64_t event_id,
                      const struct order_event *ev, const struct order *o, int from);

/* The channel ev is published on: "order.created" or "order.status". */
const char *order_json_channel(const struct order_event *ev);

#endif
