/* Recovery from the PostgreSQL store's tables: the state they hold is
 * applied, quietly, to the subsystems, in the order a journal snapshot
 * gives it (orders, channels, the DLQ, sagas, the participants). */
#ifndef STORE_PG_LOAD_H
#define STORE_PG_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#include <libpq-fe.h>

struct persist_target;

/* Loads everything into t on a blocking connection. Returns 0, or -1 with
 * err filled: the tables hold something the state cannot take. */
int pg_load(PGconn *c, struct persist_target *t, char *err, size_t errlen);

/* Orders that left memory (book_evict), loaded again: the three queries
 * that read them and their sagas, NUL-terminated one after the other into
 * sql; and applying their answers (book_reload, and the sagas the engine
 * does not have). Returns 0, or -1 when the rows do not fit. */
void pg_load_orders_sql(struct buf *sql, const uint64_t *ids, size_t n);
int pg_load_orders(struct persist_target *t, PGresult *orders, PGresult *history,
                   PGresult *sagas);

#endif
