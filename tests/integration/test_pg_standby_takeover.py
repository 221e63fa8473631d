#!/usr/bin/python3
"""A standby takes over when the active node dies, and the sagas in flight
carry on. Nodes A and B (--node-name node-alpha, node-beta; --pg-lease-ms
2000) on one database: A takes the lease, B stands by (role:standby,
lease_holder:node-alpha) and answers a CREATE with -READONLY naming A.

On A, with participants slowed or off (SIM), orders are left in flight at
three points: SHIPPED (the parcel in transit for a minute), RESERVED (the
payment answering after a minute) and PENDING (customer validation off),
with stock set for their SKU. A is killed with SIGKILL. Then:

- B becomes active (METRICS role) within the lease plus a margin (B asks
  once a second), and not much before the lease can have run out; it holds
  a newer epoch;
- every order created on A is DELIVERED on B (its sagas resume with B's
  own participants), with HISTORY PENDING, RESERVED, PAID, SHIPPED,
  DELIVERED (each from the one before, times in order), its saga done and
  every forward step ok;
- the stock taken is exactly the orders' quantities: no reservation was
  made twice across the take-over;
- B serves a CREATE, delivered too; psql shows every order DELIVERED and
  node-beta in orderd_lease. B stops cleanly."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect, wait_for  # noqa: E402
from chanlib import is_error  # noqa: E402
from sagalib import FORWARD, Conn, Events  # noqa: E402
import pglib  # noqa: E402
from pgnode import (fresh_database, kill9, log_tail, metrics, reap, scaled, start,  # noqa: E402
                    stop, wait_role)

LEASE_MS = 2000
FLAGS = ("--pg-lease-ms", str(LEASE_MS))
# B asks for the lease once a second, and loads what A left: a margin.
TAKEOVER_BOUND = LEASE_MS / 1000 + scaled(2.5, 6.0)
# A renews at least once a second: its lease runs out no sooner than this
# after the kill (less a little for the clocks).
TAKEOVER_EARLIEST = LEASE_MS / 1000 - 1.3
PER_GROUP = 4
STOCK = 1000
SKU = "lamp"


def wait_delivered(c, ids, timeout):
    """Polls GET on c until every order in ids is DELIVERED."""
    last = {}

    def done():
        for oid in ids:
            if last.get(oid) != "DELIVERED":
                last[oid] = c.status(oid)
        return all(v == "DELIVERED" for v in last.values())
    try:
        wait_for("orders %r to be DELIVERED" % (ids,), done, timeout=timeout, step=0.05)
    except TestFailure as e:
        raise TestFailure("%s; statuses: %r" % (e, last))


pg = pglib.Postgres()
try:
    pg.start()
    db = fresh_database(pg)
    a = start(pg, db, "node-alpha", *FLAGS)
    b = start(pg, db, "node-beta", *FLAGS)
    mb = metrics(b)
    expect("B at first", (mb["role"], mb["lease_holder"]), ("standby", "node-alpha"))
    ma = metrics(a)
    expect("A at first", (ma["role"], ma["lease_holder"]), ("active", "node-alpha"))
    cb = Conn(b)
    r = cb.call("CREATE", "customer=nobody", "item=" + SKU, "qty=1", "amount=1.00")
    check("B refuses a CREATE with -READONLY naming A",
          is_error(r, "READONLY") and b"node-alpha" in r[1], repr(r))

    ca = Conn(a)
    ev = Events(a, "order.status")
    ca.ok("STOCK", "SET", SKU, str(STOCK))
    for step in FORWARD:
        ca.ok("POLICY", step, "timeout=600000")
    qty = {}

    def create(who, n):
        oid = ca.create(customer=who, item=SKU, qty=n)
        qty[oid] = n
        return oid

    ca.ok("SIM", "SET", "shipping", "transit=60s")
    shipped = [create("shipped-%d" % i, i + 1) for i in range(PER_GROUP)]
    for oid in shipped:
        ev.wait_status(oid, "SHIPPED")
    ca.ok("SIM", "SET", "payment", "latency=60s")
    reserved = [create("reserved-%d" % i, i + 1) for i in range(PER_GROUP)]
    for oid in reserved:
        ev.wait_status(oid, "RESERVED")
    ca.ok("SIM", "SET", "customer", "enabled=0")
    pending = [create("pending-%d" % i, i + 1) for i in range(PER_GROUP)]
    ids = shipped + reserved + pending
    # The PENDING ones: inventory may have reserved, customer has not
    # answered; give the other participants' answers a moment to be made
    # durable by looking at them through A (a read waits for them).
    for oid in ids:
        check("order %d in flight on A" % oid,
              ca.status(oid) in ("PENDING", "RESERVED", "SHIPPED"), ca.status(oid))
    running = ca.ok("SAGAS", "state=running")
    expect("sagas running on A", len(running), len(ids))
    epoch_a = int(metrics(a)["lease_epoch"])

    kill9(a)
    killed = time.monotonic()
    took = wait_role(b, "active", timeout=TAKEOVER_BOUND + 5)
    check("B active within the lease + margin (%.1f s)" % TAKEOVER_BOUND,
          took <= TAKEOVER_BOUND, "(%.2f s after the kill)" % took)
    check("B not active before A's lease can have run out", took >= TAKEOVER_EARLIEST,
          "(%.2f s after the kill, lease %d ms)" % (took, LEASE_MS))
    mb = metrics(b)
    check("B holds the lease, newer epoch", mb["lease_holder"] == "node-beta" and
          int(mb["lease_epoch"]) > epoch_a, repr((mb["lease_holder"], mb["lease_epoch"], epoch_a)))
    check("B's log says it took the lease", "event=lease_taken" in b.log() and
          'previous="node-alpha"' in b.log(), log_tail(b))

    cb = Conn(b)  # the old connection was a standby's; a new one for clarity
    wait_delivered(cb, ids, timeout=scaled(20, 40))
    history = ["PENDING", "RESERVED", "PAID", "SHIPPED", "DELIVERED"]
    for oid in ids:
        h = cb.history(oid)
        expect("order %d's history on B" % oid, [x["to"] for x in h], history)
        expect("order %d's history: each from the one before" % oid,
               [x["from"] for x in h], [None] + history[:-1])
        times = [x["time"] for x in h]
        check("order %d's history: times in order" % oid, times == sorted(times), repr(times))
        top, steps = cb.saga(oid)
        expect("order %d's saga" % oid, top["state"], "done")
        expect("order %d's forward steps" % oid, {s: steps[s]["state"] for s in FORWARD},
               {s: "ok" for s in FORWARD})
    expect("stock: each order's quantity taken once", cb.stock(SKU), STOCK - sum(qty.values()))

    new = cb.create(customer="on-b", item=SKU, qty=1)
    check("B's new order comes after A's", new > max(ids), "(%d, A's up to %d)" % (new, max(ids)))
    wait_delivered(cb, [new], timeout=scaled(10, 30))
    table = pg.psql("SELECT id, status FROM orders ORDER BY id", db)
    expect("orders in PostgreSQL", table,
           [(str(i), "DELIVERED") for i in sorted(ids + [new])])
    expect("the lease row", pg.psql("SELECT holder FROM orderd_lease", db), [("node-beta",)])
    stop(b)
finally:
    reap()
    pg.destroy()
print("ok: B active %.2f s after A was killed (lease %d ms); %d orders in flight on A all "
      "delivered on B" % (took, LEASE_MS, len(ids)))
