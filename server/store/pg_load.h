/* Recovery from the PostgreSQL store's tables: the state they hold is
 * applied, quietly, to the subsystems, in the order a journal snapshot
 * gives it (orders, channels, the DLQ, sagas, the participants). */
#ifndef STORE_PG_LOAD_H
#define STORE_PG_LOAD_H

#include <stddef.h>

#include <libpq-fe.h>

struct persist_target;

/* Loads everything into t on a blocking connection. Returns 0, or -1 with
 * err filled: the tables hold something the state cannot take. */
int pg_load(PGconn *c, struct persist_target *t, char *err, size_t errlen);

#endif
