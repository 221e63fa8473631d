#!/usr/bin/python3
"""PostgreSQL stopped under a steady writer (pg_ctl -m fast stop), then
started again. orderd (--saga off) has a writer creating orders one at a
time, each with its own customer and idempotency key, recording every
answer. Once it has some acknowledged, PostgreSQL is stopped; from the
moment the stop returns:

- a CREATE on another connection is refused with -UNAVAILABLE within 1 s
  (and nothing it asks for is made);
- PING answers meanwhile (each within 0.5 s), so does GET of an order in
  memory; METRICS says database:down, store_refusing:1; /readyz answers
  503 naming the database.

PostgreSQL is started again (same port): a CREATE is acknowledged again
within a bound (orderd reconnects with backoff, by itself), /readyz is 200,
database:up, database_reconnects counts the reconnection. At the end, from
psql: every acknowledged order is a row exactly once, with the id it was
acknowledged with; every row is an acknowledged order (the writer's CREATE
that was in flight at the stop is answered once the database is back); no
refused CREATE made a row, nor used up an id (ids run 1..n); no customer
has two rows. orderd then stops cleanly (exit 0)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect, wait_for  # noqa: E402
from chanlib import is_error, record  # noqa: E402
import pglib  # noqa: E402
from pgnode import (Conn, fresh_database, log_tail, metrics, readyz,  # noqa: E402
                    reap, scaled, start, stop)

REFUSE_BOUND = 1.0        # the brief: a write is refused within 1 s of the stop
PING_BOUND = 0.5          # each PING meanwhile: not stalled
DOWN_FOR = 1.5            # how long PostgreSQL stays down (probing all along)
RECOVER_BOUND = scaled(10.0, 20.0)   # reconnect backoff is at most 2 s; generous
NODE = "node-stop"


def create_args(who):
    return ("CREATE", "customer=" + who, "item=book", "qty=1", "amount=19.99", "key=" + who)


class Book:
    """Every CREATE sent and what became of it, over all connections."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}      # key -> id
        self.refused = set()
        self.sent = set()

    def answer(self, who, reply):
        with self.lock:
            if is_error(reply, "UNAVAILABLE"):
                self.refused.add(who)
                return None
            if is_error(reply):
                raise TestFailure("CREATE %s answered %r" % (who, reply))
            rec = record(reply)
            check("CREATE %s: its key" % who, rec.get("key") == who.encode(), repr(reply))
            oid = int(rec["id"])
            self.acked[who] = oid
            return oid


class Writer(threading.Thread):
    def __init__(self, port, book):
        super().__init__(daemon=True)
        self.c = Conn(port)
        self.book = book
        self.stop = threading.Event()
        self.error = None
        self.longest = 0.0   # the longest wait for an answer
        self.refused = 0

    def run(self):
        k = 0
        try:
            while not self.stop.is_set():
                k += 1
                who = "w%d" % k
                self.book.sent.add(who)
                reply, took = self.c.call(*create_args(who))
                self.longest = max(self.longest, took)
                if self.book.answer(who, reply) is None:
                    self.refused += 1
                    time.sleep(0.02)
                else:
                    time.sleep(0.005)
        except Exception as e:
            self.error = "%s: %s" % (type(e).__name__, e)

    def acked(self):
        with self.book.lock:
            return sum(1 for k in self.book.acked if k.startswith("w"))


pg = pglib.Postgres()
w = None
try:
    pg.start()
    db = fresh_database(pg)
    a = start(pg, db, NODE, "--saga", "off")
    port = a.http_port()
    expect("/readyz at first", readyz(port), (200, "ready\n"))
    book = Book()
    w = Writer(a.port, book)
    w.start()
    wait_for("the writer's first 50 orders", lambda: w.acked() >= 50 or w.error)
    check("writer", w.error is None, w.error)

    probe = Conn(a.port, timeout=REFUSE_BOUND + 1.0)
    pinger = Conn(a.port, timeout=5.0)
    some_order = book.acked["w1"]

    pg.stop()
    stopped = time.monotonic()
    # A write is refused within the bound; nothing before the refusal
    # may hang (a held CREATE would time the probe out).
    j = 0
    while True:
        j += 1
        who = "p%d" % j
        book.sent.add(who)
        try:
            reply, took = probe.call(*create_args(who))
        except TestFailure as e:
            raise TestFailure("CREATE %s after the stop: no answer (%s); log:\n%s"
                              % (who, e, log_tail(a)))
        since = time.monotonic() - stopped
        if book.answer(who, reply) is None:
            break
        check("a CREATE refused within %.1f s of the stop" % REFUSE_BOUND,
              since <= REFUSE_BOUND, "(still acknowledged after %.3f s: %r)" % (since, reply))
    refused_after = time.monotonic() - stopped
    check("refused within %.1f s of the stop" % REFUSE_BOUND, refused_after <= REFUSE_BOUND,
          "(%.3f s)" % refused_after)
    msg = reply[1].decode()
    check("the refusal says the database is unreachable", "database" in msg, msg)

    # While it is down: PING answers, reads of memory answer, METRICS and
    # /readyz say so; CREATEs keep being refused at once.
    pings, refusals = [], 0
    m = metrics(a)
    expect("METRICS while down", (m["database"], m["store_refusing"], m["role"]),
           ("down", "1", "active"))
    status, body = readyz(port)
    expect("/readyz while down", status, 503)
    check("/readyz says why", "database" in body, repr(body))
    r, _ = pinger.call("GET", str(some_order))
    expect("GET of an order in memory while down", record(r)["id"], some_order)
    until = time.monotonic() + DOWN_FOR
    while time.monotonic() < until:
        r, took = pinger.call("PING")
        expect("PING while down", r, (b"+", b"PONG"))
        pings.append(took)
        j += 1
        who = "p%d" % j
        book.sent.add(who)
        reply, took = probe.call(*create_args(who))
        check("CREATE while down: refused at once", book.answer(who, reply) is None and
              took < PING_BOUND, "(%r after %.3f s)" % (reply, took))
        refusals += 1
        time.sleep(0.01)
    check("every PING within %.1f s" % PING_BOUND, max(pings) < PING_BOUND,
          "(max %.3f s of %d)" % (max(pings), len(pings)))
    check("the writer is refused too, or waits for its in-flight CREATE", w.is_alive(), w.error)

    pg.start_again()
    restarted = time.monotonic()
    deadline = restarted + RECOVER_BOUND
    probe.reader.timeout = RECOVER_BOUND
    while True:
        j += 1
        who = "p%d" % j
        book.sent.add(who)
        reply, _ = probe.call(*create_args(who))
        if book.answer(who, reply) is not None:
            break
        if time.monotonic() > deadline:
            raise TestFailure("no CREATE acknowledged %.0f s after PostgreSQL came back: %r; "
                              "log:\n%s" % (RECOVER_BOUND, reply, log_tail(a)))
        time.sleep(0.05)
    recovered = time.monotonic() - restarted
    before = w.acked()
    wait_for("the writer's next 50 orders", lambda: w.acked() >= before + 50 or w.error,
             timeout=RECOVER_BOUND)
    w.stop.set()
    w.join(30)
    check("writer", w.error is None and not w.is_alive(), w.error)
    m = metrics(a)
    expect("METRICS after", (m["database"], m["store_refusing"], m["role"]),
           ("up", "0", "active"))
    check("database_reconnects counts it", int(m["database_reconnects"]) >= 1,
          m["database_reconnects"])
    expect("/readyz after", readyz(port), (200, "ready\n"))

    # The table: every acknowledged order once, nothing else.
    table = pg.psql("SELECT id, customer, coalesce(idempotency_key, '') FROM orders "
                    "ORDER BY id", db)
    ids = [int(r[0]) for r in table]
    check("ids run 1..n: a refused CREATE used no id", ids == list(range(1, len(ids) + 1)),
          "(%d rows, first gap after %r)" %
          (len(ids), next((x for x, y in zip([0] + ids, ids) if y != x + 1), None)))
    per_customer = pg.psql("SELECT customer, count(*) FROM orders GROUP BY customer "
                           "HAVING count(*) > 1", db)
    expect("customers with more than one row", per_customer, [])
    rows = {r[1]: int(r[0]) for r in table}
    for r in table:
        expect("row %s: its key is its customer" % r[0], r[2], r[1])
    lost = {k: v for k, v in book.acked.items() if rows.get(k) != v}
    check("every acknowledged order is its row", not lost,
          "(%d not, e.g. %r)" % (len(lost), sorted(lost.items())[:5]))
    extra = sorted(set(rows) - set(book.acked))
    check("every row was acknowledged", not extra, "(%d not: %r)" % (len(extra), extra[:10]))
    made = sorted(book.refused & set(rows))
    check("no refused CREATE made a row", not made, repr(made[:10]))
    expect("METRICS orders", m["orders"], str(len(ids)))
    stop(a)
finally:
    if w is not None:
        w.stop.set()
    reap()
    pg.destroy()
print("ok: refused %.3f s after the stop, PING max %.3f ms over %d, writes back %.2f s after "
      "the start; %d acknowledged, %d refused (the writer %d, its longest wait %.2f s)"
      % (refused_after, max(pings) * 1000, len(pings), recovered, len(book.acked),
         len(book.refused), w.refused, w.longest))
