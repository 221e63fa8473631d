/* Order events: every order created is published on `order.created`, every
 * status change on `order.status`, as one line of JSON (the format is in
 * docs/protocol.md). Hooked into the order book as an observer. */
#ifndef SERVER_EVENTS_H
#define SERVER_EVENTS_H

struct buf;
struct order;
struct server;

void events_attach(struct server *srv);

/* The order's customer, item, qty, amount and currency as JSON fields,
 * each after a comma (an object is open, with a field in it already):
 * the part of an order every consumer of events and steps needs. */
void events_order_goods(struct buf *b, const struct order *o);

#endif
