/* Order events: every order created is published on `order.created`, every
 * status change on `order.status`, as one line of JSON (the format is in
 * docs/protocol.md). Hooked into the order book as an observer. */
#ifndef SERVER_EVENTS_H
#define SERVER_EVENTS_H

struct server;

void events_attach(struct server *srv);

#endif
