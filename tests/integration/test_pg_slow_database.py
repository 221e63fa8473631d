#!/usr/bin/python3
"""A slow database does not stall orderd. With --pg-timeout-ms 300 and
--saga off, a psql session takes an ACCESS EXCLUSIVE lock on `orders` and
holds it for 4 s (BEGIN; LOCK TABLE; pg_sleep(4); COMMIT). Once pg_locks
shows it granted:

- a CREATE (held-1) is sent: its batch waits for the lock. Another
  (held-2) follows at once and joins the next batch. Neither is answered
  while the lock is held (checked against pg_locks all along);
- after about the timeout (not before 300 ms, within 1.5 s) METRICS says
  database:slow, store_refusing:1, and /readyz 503; a CREATE then is
  refused with -UNAVAILABLE at once, naming the database;
- PING on another connection, sent every 10 ms throughout, is answered
  each time within 500 ms (a bound on "not stalled for seconds", not a
  performance figure; the max is reported). A PING not answered in time
  is reported with when it was sent (relative to held-1) and how long it
  took in the end, and the pinger goes on on a new connection. (A read
  sent while held-1's batch is in flight waits for it, as reads wait for
  the changes made before them; once the store refuses, nothing it holds
  is becoming durable, so a PING must not wait more than about the
  timeout. This check comes last, after everything else is checked);
- once the lock is released, held-1 and held-2 are answered with their
  orders, a new CREATE is acknowledged (within a bound), METRICS says
  database:up and store_refusing:0; psql shows the three orders, and no
  row for the refused CREATE.

The lock outlasts --pg-lease-ms + --pg-timeout-ms (3.3 s): orderd drops
its connection meanwhile, settles the batch on a new one and sends it
again; held-1 and held-2 are answered once it commits, either way."""
import os
import select
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect, wait_for  # noqa: E402
from chanlib import is_error, record  # noqa: E402
from sagalib import text  # noqa: E402
import pglib  # noqa: E402
from pgnode import (Conn, fresh_database, log_tail, metrics, readyz,  # noqa: E402
                    reap, scaled, start, stop)

TIMEOUT_MS = 300
HOLD_S = 4
PING_BOUND = 0.5
REFUSING_BOUND = 1.5      # after held-1 was sent: the timeout, a 100 ms tick, slack
RECOVER_BOUND = scaled(10.0, 20.0)
NODE = "node-slow"


def create_args(who):
    return ("CREATE", "customer=" + who, "item=book", "qty=1", "amount=19.99", "key=" + who)


class Pinger(threading.Thread):
    """PING every 10 ms. A PING not answered within PING_BOUND is a stall:
    noted (when it was sent, and later how long it took), and the pinger
    carries on on a new connection, so that the measure goes on."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.times = []      # answered within the bound: seconds
        self.stalls = []     # [sent at (monotonic), seconds until answered or None]
        self.waiters = []
        self.error = None

    def run(self):
        c = Conn(self.port, timeout=PING_BOUND)
        try:
            while not self.stop.is_set():
                t = time.monotonic()
                c.send("PING")
                try:
                    r = c.read()
                except TestFailure:
                    stall = [t, None]
                    self.stalls.append(stall)
                    w = threading.Thread(target=self.wait_answer, args=(c, stall), daemon=True)
                    w.start()
                    self.waiters.append(w)
                    c = Conn(self.port, timeout=PING_BOUND)
                    continue
                if r != (b"+", b"PONG"):
                    raise TestFailure("PING answered %r" % (r,))
                self.times.append(time.monotonic() - t)
                time.sleep(0.01)
        except Exception as e:
            self.error = "%s: %s" % (type(e).__name__, e)

    def wait_answer(self, c, stall):
        c.reader.timeout = 30
        try:
            c.reader.resp()
            stall[1] = time.monotonic() - stall[0]
        except TestFailure:
            pass
        c.close()

    def finish(self):
        self.stop.set()
        self.join(10)
        for w in self.waiters:
            w.join(35)


LOCKED = ("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
          "WHERE c.relname = 'orders' AND l.mode = 'AccessExclusiveLock' AND l.granted")


def lock_held(pg, db):
    return pg.psql(LOCKED, db) == [("1",)]


def answered(c):
    """True if an answer (or EOF) is waiting on c's socket."""
    if c.reader.buf:
        return True
    r, _, _ = select.select([c.sock], [], [], 0)
    return bool(r)


pg = pglib.Postgres()
locker = pinger = None
try:
    pg.start()
    db = fresh_database(pg)
    a = start(pg, db, NODE, "--saga", "off", "--pg-timeout-ms", str(TIMEOUT_MS))
    port = a.http_port()
    c1, c2, c3 = Conn(a.port), Conn(a.port), Conn(a.port, timeout=5.0)
    r, _ = c1.call(*create_args("before"))
    expect("a CREATE before the lock", record(r)["id"], 1)

    pinger = Pinger(a.port)
    pinger.start()
    locker = subprocess.Popen(
        [pglib.PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg.conninfo(db), "-c",
         "BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(%d); COMMIT"
         % HOLD_S], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    wait_for("the lock on orders", lambda: lock_held(pg, db) or locker.poll() is not None,
             timeout=10, step=0.01)
    if locker.poll() is not None:
        raise TestFailure("psql ended before taking the lock: %r" % (locker.stderr.read(),))

    c1.send(*create_args("held-1"))
    sent = time.monotonic()
    time.sleep(0.05)
    c2.send(*create_args("held-2"))

    # Refusing after about the timeout. Each poll on a connection of its
    # own, given up after a moment: a read sent before the refusal starts
    # waits behind held-1 (reads wait for the changes made before them),
    # and that is not what this part is about (the pinger's is).
    got, held_reads = {}, []

    def slow():
        c = Conn(a.port, timeout=0.25)
        try:
            r, _ = c.call("METRICS")
        except TestFailure:
            held_reads.append(c)  # kept open: it is answered some time
            return False
        c.close()
        got.clear()
        got.update({r[i].decode(): str(text(r[i + 1])) for i in range(0, len(r), 2)})
        return got["database"] == "slow"
    wait_for("database:slow", slow, timeout=REFUSING_BOUND + 2, step=0.01)
    after = time.monotonic() - sent
    check("database:slow after the timeout, not before", TIMEOUT_MS / 1000 * 0.9 <= after,
          "(%.3f s)" % after)
    check("database:slow within %.1f s" % REFUSING_BOUND, after <= REFUSING_BOUND,
          "(%.3f s)" % after)
    expect("store_refusing", got["store_refusing"], "1")
    status, body = readyz(port)
    expect("/readyz while slow", status, 503)
    c4 = Conn(a.port, timeout=2)
    r, took = c4.call("PING")
    check("a PING sent once refusing: answered at once", r == (b"+", b"PONG") and
          took < PING_BOUND, "(%r after %.3f s)" % (r, took))
    c4.close()
    r, took = c3.call(*create_args("refused"))
    check("a CREATE while slow: -UNAVAILABLE", is_error(r, "UNAVAILABLE"), repr(r))
    check("... at once", took < PING_BOUND, "(%.3f s)" % took)
    check("... naming the database", b"database" in r[1], repr(r))
    check("held-1 and held-2 not answered before the timeout", not answered(c1) and
          not answered(c2))

    # Nobody is answered while the lock is held.
    while True:
        early = answered(c1) or answered(c2)
        locked = lock_held(pg, db)
        if early and locked:
            raise TestFailure("a held CREATE was answered while the lock was held: %r %r"
                              % (c1.reader.buf, c2.reader.buf))
        if not locked:
            break
        time.sleep(0.02)
    released = time.monotonic()
    held_for = released - sent
    check("the lock was held for most of its %d s" % HOLD_S, held_for > HOLD_S - 1.5,
          "(%.2f s after held-1 was sent)" % held_for)
    held = {}
    for who, c in (("held-1", c1), ("held-2", c2)):
        c.reader.timeout = RECOVER_BOUND
        r = c.read()
        if is_error(r):
            raise TestFailure("%s answered %r once the lock was released; log:\n%s"
                              % (who, r, log_tail(a)))
        rec = record(r)
        expect("%s's key" % who, rec["key"], who.encode())
        held[who] = rec["id"]
    answered_after = time.monotonic() - released

    deadline = time.monotonic() + RECOVER_BOUND
    while True:
        r, _ = c3.call(*create_args("after"))
        if not is_error(r, "UNAVAILABLE"):
            break
        check("a CREATE acknowledged again within %.0f s" % RECOVER_BOUND,
              time.monotonic() < deadline, repr(r))
        time.sleep(0.05)
    check("CREATE after the lock", not is_error(r), repr(r))
    pinger.finish()
    check("pinger", pinger.error is None, pinger.error)
    worst = max(pinger.times)
    m = metrics(a)
    expect("METRICS after", (m["database"], m["store_refusing"]), ("up", "0"))
    expect("/readyz after", readyz(port), (200, "ready\n"))
    expect("psql ended well", locker.wait(10), 0)

    table = pg.psql("SELECT idempotency_key, id FROM orders ORDER BY id", db)
    expect("the orders table", table,
           [("before", "1"), ("held-1", str(held["held-1"])),
            ("held-2", str(held["held-2"])), ("after", str(record(r)["id"]))])
    expect("ids", [int(x[1]) for x in table], [1, 2, 3, 4])
    for c in [c1, c2, c3] + held_reads:
        c.close()
    stop(a)
    # Last, so that everything above is known to hold whatever this says.
    check("PINGs throughout", len(pinger.times) > 100, "(%d)" % len(pinger.times))
    stalls = ["sent %+.3f s after held-1, answered after %s" %
              (t - sent, "%.3f s" % took if took is not None else "more than 30 s")
              for t, took in pinger.stalls]
    check("every PING answered within %.1f s" % PING_BOUND, not stalls,
          "(%d of %d were not: %s; the others' max %.1f ms; METRICS polls held past "
          "0.25 s before database:slow: %d)" % (len(stalls), len(stalls) + len(pinger.times),
                                                "; ".join(stalls), worst * 1000,
                                                len(held_reads)))
finally:
    if pinger is not None:
        pinger.stop.set()
    if locker is not None and locker.poll() is None:
        locker.kill()
        locker.wait()
    reap()
    pg.destroy()
print("ok: slow after %.3f s, the lock held %.2f s, held CREATEs answered %.3f s after its "
      "release; PING max %.2f ms over %d" % (after, held_for, answered_after, worst * 1000,
                                             len(pinger.times)))
