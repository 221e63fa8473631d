/* The PostgreSQL back-end of the store: the system of record. State lives
 * in tables a person can query (docs/postgres.md); orderd keeps working
 * state in memory as with the journal, and writes what changed.
 *
 * - One connection, non-blocking, on the event loop: its socket is an
 *   event, and libpq is driven by PQconsumeInput/PQisBusy/PQflush. A
 *   batch is a transaction sent in pipeline mode; while it is in flight
 *   the next one gathers (group commit), so the loop never waits for the
 *   database. Start-up (migrations, recovery) and take-over use a
 *   blocking connection, before the node serves writes.
 * - A lease row says which node may write. Every batch renews it through
 *   orderd_commit(epoch, batch), which fails once another node has taken
 *   it: a node paused past its lease writes nothing after it wakes.
 *   A node that does not hold the lease is a standby: it refuses writes
 *   (-READONLY, naming the holder), asks for the lease every second, and
 *   when it gets it loads the state and serves.
 * - The batch id recorded in the lease row settles a batch whose COMMIT
 *   was sent but not answered: after reconnecting, the row says whether
 *   it committed; if not, it is sent again.
 * - When the database is down, or a batch has been in flight longer than
 *   the timeout, changes are refused (-UNAVAILABLE) until a batch commits
 *   again; the connection is made again with backoff. */
#ifndef STORE_PG_STORE_H
#define STORE_PG_STORE_H

#include <stdint.h>

#include "store.h"

struct event_base;
struct persist_target;

struct pg_options {
    const char *conninfo;     /* libpq conninfo or URI; "" for the PG* variables */
    const char *node;         /* this node's name, shown to others as the holder */
    int64_t lease_ms;         /* a lease not renewed for this long may be taken */
    int64_t timeout_ms;       /* a batch in flight this long: changes are refused */
};

#define PG_LEASE_MS_DEFAULT 3000
#define PG_TIMEOUT_MS_DEFAULT 1000

/* Connects, migrates the schema, and either takes the lease and loads the
 * state into t (which the store keeps), or stands by. NULL with err filled
 * when the database cannot be used: the server must not start. */
struct store *pg_store_open(const struct pg_options *o, struct event_base *base,
                            struct persist_target *t, const struct store_env *env, char *err,
                            size_t errlen);

#endif
