/* The bus: where live pub/sub, durable channels and the DLQ meet the
 * server. Publishing appends to the channel's log when it is durable and
 * fans out to live subscribers; one libevent timer follows the channels'
 * earliest deadline; dead letters are announced on `dlq` and copied to
 * the channel `<name>.DLT`. */
#ifndef SERVER_BUS_H
#define SERVER_BUS_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct conn;
struct dlq_entry;

/* Longest channel, group or consumer name. */
#define BUS_NAME_MAX 256
#define BUS_DLT_SUFFIX ".DLT"
/* A durable channel's name leaves room for its dead letters' <name>.DLT. */
#define BUS_DURABLE_NAME_MAX (BUS_NAME_MAX - (int)(sizeof BUS_DLT_SUFFIX - 1))

void bus_init(struct server *srv);
void bus_free(struct server *srv);

/* Returns the number of live receivers. */
size_t bus_publish(struct server *srv, const char *ch, size_t chlen, const char *payload,
                   size_t plen);

/* Appends to a durable channel and fans out to live subscribers; returns
 * the message's offset. */
struct channel;
uint64_t bus_append(struct server *srv, struct channel *ch, const char *payload, size_t plen);

/* Announces a DLQ move ("dead-lettered", "replayed", "purged") on `dlq`. */
void bus_dlq_event(struct server *srv, const char *event, const struct dlq_entry *e);

/* Re-arms the deadline timer: after anything that may add a deadline. */
void bus_rearm(struct server *srv);

void bus_conn_closing(struct server *srv, struct conn *c);

#endif
