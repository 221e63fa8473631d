/* The PostgreSQL store's migrations (see pg_schema.h). A migration is
 * never edited once released: a change to the schema is a new one. */
#include "pg_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct migration {
    const char *name;
    const char *sql;
};

static const struct migration migrations[] = {
    {"tables",
     /* Who may write: one row. A node holds it while expires_at is ahead;
      * every write transaction renews it through orderd_commit(), which
      * fails once another node has taken it (a higher epoch). last_batch
      * settles a commit whose outcome the node did not hear. */
     "CREATE TABLE orderd_lease ("
     "  id int PRIMARY KEY CHECK (id = 1),"
     "  holder text NOT NULL,"
     "  epoch bigint NOT NULL,"
     "  expires_at timestamptz NOT NULL,"
     "  last_batch bigint NOT NULL);"
     "INSERT INTO orderd_lease VALUES (1, '', 0, '-infinity', 0);"
     /* OD001: another node holds the lease. OD002: this batch (or a later
      * one) committed already: a copy sent again must not commit twice. */
     "CREATE FUNCTION orderd_commit(e bigint, b bigint, ttl_ms int) RETURNS void"
     " LANGUAGE plpgsql AS $$"
     " BEGIN"
     "  UPDATE orderd_lease SET last_batch = b,"
     "    expires_at = clock_timestamp() + ttl_ms * interval '1 millisecond'"
     "    WHERE id = 1 AND epoch = e AND last_batch < b;"
     "  IF NOT FOUND THEN"
     "    IF EXISTS (SELECT 1 FROM orderd_lease WHERE id = 1 AND epoch = e) THEN"
     "      RAISE EXCEPTION 'orderd: batch % committed already', b USING ERRCODE = 'OD002';"
     "    END IF;"
     "    RAISE EXCEPTION 'orderd: the lease is no longer held at epoch %', e"
     "      USING ERRCODE = 'OD001';"
     "  END IF;"
     " END $$;"
     "CREATE TABLE orderd_meta (key text PRIMARY KEY, value bigint NOT NULL);"

     "CREATE TABLE orders ("
     "  id bigint PRIMARY KEY,"
     "  customer text NOT NULL,"
     "  item text NOT NULL,"
     "  qty bigint NOT NULL,"
     "  amount numeric NOT NULL,"
     "  amount_minor bigint NOT NULL,"
     "  currency char(3) NOT NULL,"
     "  status text NOT NULL,"
     "  idempotency_key text UNIQUE,"
     "  created_at timestamptz NOT NULL,"
     "  updated_at timestamptz NOT NULL);"
     "CREATE INDEX orders_live ON orders (id)"
     "  WHERE status NOT IN ('DELIVERED', 'FAILED', 'CANCELLED');"
     /* No more indexes than orderd needs: each costs every write. A BI
      * tool that wants one by customer or status can add it. */
     "CREATE TABLE order_history ("
     "  order_id bigint NOT NULL,"
     "  seq int NOT NULL,"
     "  from_status text,"
     "  status text NOT NULL,"
     "  at timestamptz NOT NULL,"
     "  source text NOT NULL,"
     "  note text,"
     "  PRIMARY KEY (order_id, seq));"

     "CREATE TABLE sagas ("
     "  order_id bigint PRIMARY KEY,"
     "  state text NOT NULL,"
     "  finished bool NOT NULL,"
     "  reason text,"
     "  created_at timestamptz NOT NULL,"
     "  updated_at timestamptz NOT NULL,"
     "  packed bytea NOT NULL);"
     "CREATE INDEX sagas_live ON sagas (order_id) WHERE NOT finished;"
     "CREATE TABLE saga_steps ("
     "  order_id bigint NOT NULL,"
     "  step text NOT NULL,"
     "  state text NOT NULL,"
     "  attempts int NOT NULL,"
     "  started_at timestamptz,"
     "  ended_at timestamptz,"
     "  error text,"
     "  PRIMARY KEY (order_id, step));"
     "CREATE TABLE tracking ("
     "  order_id bigint PRIMARY KEY,"
     "  number text,"
     "  location text,"
     "  eta timestamptz);"

     "CREATE TABLE stock (sku text PRIMARY KEY, level bigint NOT NULL);"
     "CREATE TABLE customers (customer text PRIMARY KEY, blocked bool NOT NULL);"
     "CREATE TABLE reservations (order_id bigint PRIMARY KEY, qty bigint NOT NULL);"
     "CREATE TABLE charges (order_id bigint PRIMARY KEY, amount_minor bigint NOT NULL);"

     "CREATE TABLE channels ("
     "  name text PRIMARY KEY,"
     "  maxlen bigint NOT NULL,"
     "  maxage_ms bigint NOT NULL,"
     "  ackwait_ms bigint NOT NULL,"
     "  maxdeliver int NOT NULL,"
     "  backoff_ms bigint NOT NULL,"
     "  backoff_max_ms bigint NOT NULL,"
     "  maxpending bigint NOT NULL,"
     "  maxbytes bigint NOT NULL,"
     "  first_offset bigint NOT NULL);"
     "CREATE TABLE channel_messages ("
     "  channel text NOT NULL,"
     "  msg_offset bigint NOT NULL,"
     "  published_at timestamptz NOT NULL,"
     "  payload text,"
     "  payload_bytes bytea,"
     "  PRIMARY KEY (channel, msg_offset));"
     "CREATE TABLE channel_groups ("
     "  channel text NOT NULL,"
     "  group_name text NOT NULL,"
     "  next_offset bigint NOT NULL,"
     "  settled_ahead bigint[] NOT NULL,"
     "  created bigint GENERATED ALWAYS AS IDENTITY,"  /* groups keep their order */
     "  PRIMARY KEY (channel, group_name));"
     "CREATE TABLE channel_pending ("
     "  channel text NOT NULL,"
     "  group_name text NOT NULL,"
     "  msg_offset bigint NOT NULL,"
     "  consumer text,"
     "  state text NOT NULL,"
     "  deliveries int NOT NULL,"
     "  replays int NOT NULL,"
     "  reason text,"
     "  published_at timestamptz NOT NULL,"
     "  first_delivery_at timestamptz,"
     "  last_delivery_at timestamptz,"
     "  due_at timestamptz,"
     "  payload text,"
     "  payload_bytes bytea,"
     "  PRIMARY KEY (channel, group_name, msg_offset));"
     "CREATE TABLE dlq ("
     "  id bigint PRIMARY KEY,"
     "  channel text NOT NULL,"
     "  group_name text NOT NULL,"
     "  msg_offset bigint NOT NULL,"
     "  reason text,"
     "  deliveries int NOT NULL,"
     "  replays int NOT NULL,"
     "  published_at timestamptz NOT NULL,"
     "  first_delivery_at timestamptz,"
     "  last_delivery_at timestamptz,"
     "  dead_at timestamptz NOT NULL,"
     "  payload text,"
     "  payload_bytes bytea);"},
};

#define MIGRATIONS (sizeof migrations / sizeof migrations[0])
/* The advisory lock's key: any fixed number that no one else uses. */
#define SCHEMA_LOCK "4242170700"

int pg_schema_version(void)
{
    return (int)MIGRATIONS;
}

/* Runs sql; 0, or -1 with err set to what the server said. */
static int run(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
        size_t n = strlen(err);
        while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
            err[--n] = '\0';
    }
    PQclear(r);
    return rc;
}

static int applied(PGconn *c, int *version, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, "SELECT coalesce(max(version), 0) FROM orderd_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "reading orderd_migrations: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    *version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static int migrate_locked(PGconn *c, char *err, size_t errlen)
{
    if (run(c, "CREATE TABLE IF NOT EXISTS orderd_migrations ("
               " version int PRIMARY KEY, name text NOT NULL,"
               " applied_at timestamptz NOT NULL DEFAULT now())",
            "creating orderd_migrations", err, errlen) != 0)
        return -1;
    int version;
    if (applied(c, &version, err, errlen) != 0)
        return -1;
    if (version > (int)MIGRATIONS) {
        snprintf(err, errlen,
                 "the database's schema is at version %d, newer than this orderd's %d",
                 version, (int)MIGRATIONS);
        return -1;
    }
    for (int v = version + 1; v <= (int)MIGRATIONS; v++) {
        const struct migration *m = &migrations[v - 1];
        char what[96], record[160];
        snprintf(what, sizeof what, "migration %d (%s)", v, m->name);
        snprintf(record, sizeof record,
                 "INSERT INTO orderd_migrations (version, name) VALUES (%d, '%s')", v, m->name);
        if (run(c, "BEGIN", what, err, errlen) != 0)
            return -1;
        if (run(c, m->sql, what, err, errlen) != 0 ||
            run(c, record, what, err, errlen) != 0 ||
            run(c, "COMMIT", what, err, errlen) != 0) {
            PQclear(PQexec(c, "ROLLBACK"));
            return -1;
        }
    }
    return 0;
}

int pg_schema_migrate(PGconn *c, char *err, size_t errlen)
{
    if (run(c, "SELECT pg_advisory_lock(" SCHEMA_LOCK ")", "taking the schema lock", err,
            errlen) != 0)
        return -1;
    int rc = migrate_locked(c, err, errlen);
    char ignored[8];
    run(c, "SELECT pg_advisory_unlock(" SCHEMA_LOCK ")", "", ignored, sizeof ignored);
    return rc;
}
