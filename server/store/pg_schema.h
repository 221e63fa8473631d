/* The PostgreSQL store's schema: versioned migrations, each applied once,
 * recorded in orderd_migrations, under an advisory lock so that several
 * orderd starting on one database do not race. The tables are documented
 * in docs/postgres.md. */
#ifndef STORE_PG_SCHEMA_H
#define STORE_PG_SCHEMA_H

#include <stddef.h>

#include <libpq-fe.h>

/* The newest migration this build knows. */
int pg_schema_version(void);

/* Brings the database up to pg_schema_version() on a blocking
 * connection. Returns 0, or -1 with err filled (the database is left at
 * the last migration that committed). A database migrated by a newer
 * orderd is refused. */
int pg_schema_migrate(PGconn *c, char *err, size_t errlen);

#endif
