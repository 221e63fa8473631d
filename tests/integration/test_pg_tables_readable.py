#!/usr/bin/python3
"""PostgreSQL's tables say what orderd says: a person with psql reads the
same state as a client does. After some orders (sagas on: delivered ones in
USD, JPY and KWD, one FAILED for a blocked customer, one with an
idempotency key), a durable channel with a consumer group, an ACKed
message, a NACK delayed with a reason, a message in flight and one
dead-lettered (maxdeliver=2):

- `orders`: per order, id, customer, item, qty, amount as numeric text
  (19.99, 5.00, 1500, 1.234 — exactly GET's), currency, status name,
  idempotency key, created and updated (to the millisecond) are GET's;
  the counts by status are METRICS orders_<status>, the rows `orders`;
- `order_history`: per order, its rows by seq (0, 1, ...) are HISTORY's
  records in order: time, from, to, source, note;
- `sagas` / `saga_steps`: SAGA's state and reason, and each step's state,
  attempts, error, start and end (steps never started have no row);
  `tracking`: TRACK's parcel number, location and eta; `customers`: the
  blocked customer; `stock`: STOCK;
- `channels`: CHANNEL INFO's settings; `channel_messages`: READ's offsets,
  times and payloads (jobs and jobs.DLT); `channel_groups`: GROUPS's
  `next`; `channel_pending`: PENDING's offsets, consumers, deliveries,
  states and due times, and the NACK's reason; `dlq`: DLQ LIST's every
  field and DLQ SHOW's payload; METRICS dlq_depth is its row count.

Then, three times on a fresh database, two orderd (different node names)
are started at the same moment: both come up (neither exits, neither logs
an error but the standby's refusal: the one that waited for the schema
lock finds the tables made), one active and one standby (the lease row
names the active one), orderd_migrations has exactly one row per version
(1..n, migrations ran once, under the advisory lock), and every documented
table exists. Both stop cleanly."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect, wait_for  # noqa: E402
from sagalib import Conn, rec, recs, text  # noqa: E402
import pglib  # noqa: E402
from pgnode import (accepting, check_clean_log, fresh_database, metrics, reap, scaled,  # noqa: E402
                    spawn, start, stop)

TABLES = sorted(["orders", "order_history", "sagas", "saga_steps", "tracking", "stock",
                 "customers", "reservations", "charges", "channels", "channel_messages",
                 "channel_groups", "channel_pending", "dlq", "orderd_lease", "orderd_meta",
                 "orderd_migrations"])
ORDERS = [("alice", "book", 1, "19.99", "USD"), ("bob", "pen", 2, "5", "USD"),
          ("carol", "mug", 1, "1500", "JPY"), ("dave", "oil", 3, "1.234", "KWD")]


def ts(col):
    """A timestamptz column as orderd writes times: UTC, milliseconds."""
    return "coalesce(to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '')" \
        % col


def s(v):
    """An answer's value as psql shows it: nil as "", numbers as digits."""
    v = text(v)
    return "" if v is None else str(v)


def row(r, *keys):
    return tuple(s(r.get(k)) for k in keys)


def check_orders(pg, db, c, ids):
    table = pg.psql("SELECT id, customer, item, qty, amount::text, currency, status, "
                    "coalesce(idempotency_key, ''), %s, %s FROM orders ORDER BY id"
                    % (ts("created_at"), ts("updated_at")), db)
    want = [row(c.get(oid), "id", "customer", "item", "qty", "amount", "currency", "status",
                "key", "created", "updated") for oid in ids]
    expect("orders (psql) against GET", table, want)
    m = metrics(c_srv)
    counts = dict(pg.psql("SELECT status, count(*) FROM orders GROUP BY status", db))
    for st in ("PENDING", "RESERVED", "PAID", "SHIPPED", "DELIVERED", "FAILED", "CANCELLED"):
        expect("orders_%s against psql" % st.lower(), m["orders_" + st.lower()],
               counts.get(st, "0"))
    expect("METRICS orders against psql", m["orders"], str(len(table)))

    for oid in ids:
        hist = pg.psql("SELECT seq, %s, coalesce(from_status, ''), status, source, "
                       "coalesce(note, '') FROM order_history WHERE order_id = %d ORDER BY seq"
                       % (ts("at"), oid), db)
        expect("order %d: history seqs" % oid, [int(h[0]) for h in hist],
               list(range(len(hist))))
        expect("order %d: order_history against HISTORY" % oid, [h[1:] for h in hist],
               [row(h, "time", "from", "to", "source", "note") for h in c.history(oid)])

        top, steps = c.saga(oid)
        expect("order %d: sagas against SAGA" % oid,
               pg.psql("SELECT state, coalesce(reason, '') FROM sagas WHERE order_id = %d"
                       % oid, db), [row(top, "state", "reason")])
        got = pg.psql("SELECT step, state, attempts, coalesce(error, ''), %s, %s FROM "
                      "saga_steps WHERE order_id = %d ORDER BY step"
                      % (ts("started_at"), ts("ended_at"), oid), db)
        # Steps never started have no row.
        expect("order %d: saga_steps against SAGA's steps" % oid, got,
               sorted(row(st, "step", "state", "attempts", "error", "start", "end")
                      for st in steps.values() if st["state"] != "pending"))
        t = c.track(oid)
        got = pg.psql("SELECT coalesce(number, ''), coalesce(location, ''), %s FROM tracking "
                      "WHERE order_id = %d" % (ts("eta"), oid), db)
        want = [row(t, "tracking", "location", "eta")] if "tracking" in t else []
        expect("order %d: tracking against TRACK" % oid, got, want)


def make_channel(c):
    c.ok("CHANNEL", "CREATE", "jobs", "maxdeliver=2", "ackwait=600000", "maxlen=1000")
    for i in range(1, 6):
        c.ok("PUBLISH", "jobs", 'job %d {"n": %d}' % (i, i))
    expect("first delivery", len(c.ok("CONSUME", "jobs", "group=g", "consumer=c1", "count=4")),
           4)
    expect("ACK 1", c.ok("ACK", "jobs", "group=g", "1"), 1)
    expect("NACK 2", c.ok("NACK", "jobs", "group=g", "2", "delay=600000", "reason=try later"), 1)
    expect("NACK 3", c.ok("NACK", "jobs", "group=g", "3", "delay=0", "reason=first"), 1)
    again = recs(c.ok("CONSUME", "jobs", "group=g", "consumer=c2", "count=1"))
    expect("3 again", [(m["id"], m["deliveries"]) for m in again], [(3, 2)])
    expect("NACK 3 to the DLQ", c.ok("NACK", "jobs", "group=g", "3", "reason=poison pill"), 1)
    # 4 stays in flight with c1, 5 is never delivered.


def check_channel(pg, db, c):
    info = rec(c.ok("CHANNEL", "INFO", "jobs"))
    expect("channels against CHANNEL INFO",
           pg.psql("SELECT maxlen, maxage_ms / 1000, ackwait_ms, maxdeliver, backoff_ms, "
                   "backoff_max_ms, maxpending, maxbytes, first_offset FROM channels "
                   "WHERE name = 'jobs'", db),
           [row(info, "maxlen", "maxage", "ackwait", "maxdeliver", "backoff", "backoffmax",
                "maxpending", "maxbytes", "first")])
    for ch in ("jobs", "jobs.DLT"):
        expect("channel_messages of %s against READ" % ch,
               pg.psql("SELECT msg_offset, %s, payload FROM channel_messages WHERE channel = "
                       "'%s' ORDER BY msg_offset" % (ts("published_at"), ch), db),
               [row(m, "id", "time", "payload") for m in recs(c.ok("READ", ch, "count=1000"))])
    groups = recs(c.ok("GROUPS", "jobs"))
    expect("channel_groups against GROUPS",
           pg.psql("SELECT group_name, next_offset FROM channel_groups WHERE channel = 'jobs' "
                   "ORDER BY created", db), [row(g, "group", "next") for g in groups])
    pending = recs(c.ok("PENDING", "jobs", "group=g"))
    expect("PENDING: 2 delayed, 4 in flight", [(p["id"], s(p["state"])) for p in pending],
           [(2, "delayed"), (4, "inflight")])
    expect("channel_pending against PENDING",
           pg.psql("SELECT msg_offset, coalesce(consumer, ''), deliveries, state, %s FROM "
                   "channel_pending WHERE channel = 'jobs' AND group_name = 'g' "
                   "ORDER BY msg_offset" % ts("due_at"), db),
           [row(p, "id", "consumer", "deliveries", "state", "due") for p in pending])
    expect("channel_pending: the NACK's reason",
           pg.psql("SELECT coalesce(reason, '') FROM channel_pending WHERE channel = 'jobs' "
                   "AND msg_offset = 2", db), [("try later",)])
    dlq = recs(c.ok("DLQ", "LIST"))
    expect("one dead letter", [(d["offset"], s(d["reason"])) for d in dlq], [(3, "poison pill")])
    expect("dlq against DLQ LIST",
           pg.psql("SELECT id, channel, group_name, msg_offset, coalesce(reason, ''), "
                   "deliveries, replays, %s, %s, %s, %s FROM dlq ORDER BY id"
                   % (ts("published_at"), ts("first_delivery_at"), ts("last_delivery_at"),
                      ts("dead_at")), db),
           [row(d, "id", "channel", "group", "offset", "reason", "deliveries", "replays",
                "published", "first_delivery", "last_delivery", "dead_since") for d in dlq])
    expect("dlq payload against DLQ SHOW",
           pg.psql("SELECT payload FROM dlq WHERE id = 1", db),
           [(s(rec(c.ok("DLQ", "SHOW", "1"))["payload"]),)])
    expect("METRICS dlq_depth against psql", metrics(c_srv)["dlq_depth"],
           pg.psql("SELECT count(*) FROM dlq", db)[0][0])


def concurrent_start(pg, rounds=3):
    for n in range(rounds):
        db = fresh_database(pg, "race")
        names = ("race-a-%d" % n, "race-b-%d" % n)
        nodes = [spawn(pg, db, name) for name in names]
        for srv in nodes:
            accepting(srv)
        roles = {}

        def settled():
            roles.update({name: metrics(srv)["role"] for name, srv in zip(names, nodes)})
            return sorted(roles.values()) == ["active", "standby"]
        try:
            wait_for("one active, one standby", settled, timeout=scaled(10, 30))
        except TestFailure as e:
            raise TestFailure("round %d: %s: %r" % (n, e, roles))
        active = [name for name, role in roles.items() if role == "active"]
        expect("round %d: the lease row" % n,
               pg.psql("SELECT holder FROM orderd_lease", db), [(active[0],)])
        versions = pg.psql("SELECT version, count(*) FROM orderd_migrations GROUP BY version "
                           "ORDER BY version", db)
        check("round %d: migrations recorded" % n, len(versions) >= 1, repr(versions))
        expect("round %d: one row per version, 1..n" % n, versions,
               [(str(v), "1") for v in range(1, len(versions) + 1)])
        expect("round %d: the tables" % n,
               [t for (t,) in pg.psql("SELECT tablename FROM pg_tables WHERE schemaname = "
                                      "'public' ORDER BY tablename", db)], TABLES)
        for name, srv in zip(names, nodes):
            # A standby says it refuses changes (at level error, as any refusal).
            check_clean_log(srv, allowed=(r"event=store_refusing .*this node is a standby",))
            stop(srv)


pg = pglib.Postgres()
try:
    pg.start()
    db = fresh_database(pg)
    c_srv = start(pg, db, "node-tables")
    c = Conn(c_srv)
    for sku in ("book", "pen", "mug", "oil", "x"):
        c.ok("STOCK", "SET", sku, "100")
    c.ok("CUSTOMER", "BLOCK", "eve")
    ids = [c.create(customer=cu, item=it, qty=q, amount=am, currency=cur)
           for cu, it, q, am, cur in ORDERS]
    ids.append(c.create(customer="eve", item="x", qty=1, amount="2.00", key="k-eve"))

    def finished():
        return all(c.status(oid) in ("DELIVERED", "FAILED") for oid in ids)
    wait_for("the orders to finish", finished, timeout=scaled(20, 60), step=0.05)
    expect("statuses", [c.status(oid) for oid in ids], ["DELIVERED"] * 4 + ["FAILED"])
    make_channel(c)

    check_orders(pg, db, c, ids)
    expect("customers against CUSTOMER BLOCK",
           pg.psql("SELECT customer, blocked FROM customers ORDER BY customer", db),
           [("eve", "t")])
    expect("stock against STOCK",
           pg.psql("SELECT sku, level FROM stock WHERE sku IN ('book', 'pen', 'mug', 'oil', "
                   "'x') ORDER BY sku", db),
           sorted((sku, s(c.stock(sku))) for sku in ("book", "pen", "mug", "oil", "x")))
    check_channel(pg, db, c)
    c.close()
    stop(c_srv)

    concurrent_start(pg)
finally:
    reap()
    pg.destroy()
print("ok")
