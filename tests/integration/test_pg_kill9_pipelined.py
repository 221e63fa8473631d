#!/usr/bin/python3
"""kill -9 on PostgreSQL loses nothing acknowledged and makes nothing that
was not asked for. One client pipelines CREATEs (--saga off, so orders
keep the fields they were acknowledged with), 20 pipelines of 500, each
with its own customer and idempotency key; orderd is killed with SIGKILL
while pipelines are still being answered. Then, from psql:

- the order ids in `orders` run 1..n without a gap, n at least the
  highest acknowledged id and at most the number of CREATEs sent;
- order k is the k-th CREATE sent (one connection: ids in request order),
  field for field (amount as the exact decimal sent), PENDING;
- every acknowledged order is a row, with the id it was acknowledged with.

orderd started again under the same --node-name takes its lease back at
once (active within a second, not after --pg-lease-ms) and GET of every
acknowledged id answers exactly the record the CREATE was acknowledged
with; the orders committed but not acknowledged are readable too, the next
id is NOTFOUND, and a new CREATE gets id n+1."""
import os
import random
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Reader, TestFailure, check, expect  # noqa: E402
from durability import Session, fields  # noqa: E402
import pglib  # noqa: E402
from pgnode import fresh_database, kill9, metrics, reap, scaled, start, stop  # noqa: E402

PIPELINES, PER_PIPELINE = 20, 500
KILL_AFTER = 5            # pipelines fully answered before the kill is armed
NODE = "node-kill9"
FLAGS = ("--saga", "off", "--pg-lease-ms", "10000")


def create_fields(k):
    """The CREATE for request k (1-based), derived from k."""
    return {"customer": "c%d" % k, "item": "sku-%d" % (k % 7), "qty": str(k % 9 + 1),
            "amount": "%d.%02d" % (k % 1000, k % 100), "currency": "USD", "key": "key-%d" % k}


def create_line(k):
    return "CREATE customer={customer} item={item} qty={qty} amount={amount} key={key}\r\n" \
        .format(**create_fields(k))


class Writer(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.sent = 0
        self.acked = {}        # id -> the acknowledged record line (bytes)
        self.armed = threading.Event()
        self.error = None
        self.finished = False

    def run(self):
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=20)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = Reader(sock)
            for p in range(PIPELINES):
                first = self.sent + 1
                ks = range(first, first + PER_PIPELINE)
                sock.sendall("".join(create_line(k) for k in ks).encode())
                self.sent += PER_PIPELINE
                for k in ks:
                    line = reader.line()
                    if not line.endswith(b"\r\n"):
                        return  # cut off by the kill: not acknowledged
                    f = fields(line)
                    want = create_fields(k)
                    if line.startswith(b"-") or {x: f.get(x) for x in want} != want:
                        raise TestFailure("CREATE %d answered %r" % (k, line))
                    if f["id"] != str(k):
                        raise TestFailure("CREATE %d (one connection) got id %s" % (k, f["id"]))
                    self.acked[k] = line
                if p + 1 == KILL_AFTER:
                    self.armed.set()
            self.finished = True
        except (OSError, TestFailure) as e:
            if isinstance(e, TestFailure):
                self.error = str(e)
        finally:
            self.armed.set()


pg = pglib.Postgres()
try:
    pg.start()
    db = fresh_database(pg)
    a = start(pg, db, NODE, *FLAGS)
    w = Writer(a.port)
    w.start()
    check("armed", w.armed.wait(scaled(30, 90)), "(the writer never got 5 pipelines answered)")
    # A little later, at a moment that varies from run to run.
    threading.Event().wait(random.uniform(0, 0.05))
    check("the writer still writing at the kill", w.is_alive() and not w.finished,
          "(it ended: %s)" % (w.error or "all %d CREATEs answered" % w.sent))
    kill9(a)
    w.join(30)
    check("writer ended after the kill", not w.is_alive())
    if w.error:
        raise TestFailure(w.error)
    acked = w.acked
    check("some acknowledged, not all", 0 < len(acked) < PIPELINES * PER_PIPELINE,
          "(%d acknowledged)" % len(acked))
    top = max(acked)
    check("acknowledged ids 1..%d without a gap" % top, sorted(acked) == list(range(1, top + 1)))

    # The table, as psql sees it.
    table = pg.psql("SELECT id, customer, item, qty, amount, currency, status, "
                    "coalesce(idempotency_key, '') FROM orders ORDER BY id", db)
    ids = [int(r[0]) for r in table]
    n = len(ids)
    check("order ids contiguous from 1", ids == list(range(1, n + 1)),
          "(%d rows, first gap after %r)" %
          (n, next((x for x, y in zip([0] + ids, ids) if y != x + 1), None)))
    check("every acknowledged order is a row", n >= top,
          "(%d rows, acknowledged up to %d)" % (n, top))
    check("no row beyond the CREATEs sent", n <= w.sent, "(%d rows, %d sent)" % (n, w.sent))
    for r in table:
        k = int(r[0])
        f = create_fields(k)
        expect("row %d" % k, r[1:],
               (f["customer"], f["item"], f["qty"], f["amount"], "USD", "PENDING", f["key"]))
    hist = pg.psql("SELECT count(*), count(DISTINCT order_id), min(order_id), max(order_id) "
                   "FROM order_history WHERE from_status IS NULL AND status = 'PENDING'", db)
    expect("one creation in order_history per row", hist,
           [(str(n), str(n), "1", str(n))] if n else [("0", "0", "", "")])

    # Started again under its name: the lease back at once.
    a = start(pg, db, NODE, *FLAGS)
    m = metrics(a)
    expect("role right after the restart", (m["role"], m["lease_holder"]), ("active", NODE))
    s = Session(a)
    got = s.pipeline(["GET %d" % k for k in sorted(acked)])
    bad = [(k, acked[k], g) for k, g in zip(sorted(acked), got) if g != acked[k]]
    check("GET answers each acknowledged order as acknowledged", not bad,
          "(%d differ, e.g. %r)" % (len(bad), bad[:3]))
    for k, line in zip(range(top + 1, n + 1), s.pipeline(["GET %d" % k
                                                            for k in range(top + 1, n + 1)])):
        f = fields(line)
        expect("GET %d (committed, not acknowledged)" % k,
               {x: f.get(x) for x in create_fields(k)}, create_fields(k))
    check("GET %d: NOTFOUND" % (n + 1), s.call("GET %d" % (n + 1)).startswith(b"-NOTFOUND"))
    expect("orders after the restart", metrics(a)["orders"], str(n))
    line = s.call("CREATE customer=after item=x qty=1 amount=1.00")
    expect("the next CREATE's id", fields(line).get("id"), str(n + 1))
    s.close()
    stop(a)
finally:
    reap()
    pg.destroy()
print("ok: %d sent, %d acknowledged, %d rows" % (w.sent, len(acked), n))
