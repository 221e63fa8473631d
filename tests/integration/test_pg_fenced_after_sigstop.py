#!/usr/bin/python3
"""A node paused past its lease is fenced: it acknowledges nothing more and
exits. A (node-alpha) is active and B (node-beta) stands by on one
database, both with --pg-lease-ms 1000 and --saga off. A acknowledges an
order, then is stopped with SIGSTOP. Then:

- B becomes active (it takes the expired lease) and acknowledges a CREATE;
- A is sent a CREATE while paused (it waits in its socket), is continued
  (SIGCONT) and sent another at once, each on a connection made before
  the pause: it answers neither with an order (the connection is closed,
  or the answer is -READONLY or -UNAVAILABLE);
- A exits by itself with status 1, and its log says the lease was taken
  (event=store_fatal) — and has no sanitizer report;
- in `orders` (psql) there is A's order from before the pause and B's, and
  no row for the CREATEs sent to A during and after it; orderd_lease names node-beta;
- B carries on: GET of A's earlier order answers, and B stops cleanly."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect  # noqa: E402
from chanlib import is_error, record  # noqa: E402
import pglib  # noqa: E402
from pgnode import (Conn, exit_status, fresh_database, log_tail, metrics, reap,  # noqa: E402
                    sanitizer_clean, scaled, start, stop, wait_role)

LEASE_MS = 1000
FLAGS = ("--pg-lease-ms", str(LEASE_MS), "--saga", "off")
TAKEOVER_BOUND = LEASE_MS / 1000 + scaled(2.5, 6.0)
EXIT_BOUND = scaled(10.0, 20.0)


def create_args(who):
    return ("CREATE", "customer=" + who, "item=book", "qty=1", "amount=19.99")


pg = pglib.Postgres()
a = None
try:
    pg.start()
    db = fresh_database(pg)
    a = start(pg, db, "node-alpha", *FLAGS)
    b = start(pg, db, "node-beta", *FLAGS)
    expect("B stands by", metrics(b)["role"], "standby")
    ca = Conn(a.port, timeout=EXIT_BOUND)
    r, _ = ca.call(*create_args("a-before"))
    before_id = record(r)["id"]
    ca2 = Conn(a.port, timeout=EXIT_BOUND)
    ca3 = Conn(a.port, timeout=EXIT_BOUND)
    for c in (ca2, ca3):
        r, _ = c.call("PING")
        expect("A answers on another connection", r, (b"+", b"PONG"))

    os.kill(a.proc.pid, signal.SIGSTOP)
    took = wait_role(b, "active", timeout=TAKEOVER_BOUND + 5)
    check("B active within the lease + margin", took <= TAKEOVER_BOUND, "(%.2f s)" % took)
    cb = Conn(b.port)
    r, _ = cb.call(*create_args("b-after"))
    check("B acknowledges a CREATE", not is_error(r), repr(r))
    b_id = record(r)["id"]

    # One CREATE waits in A's socket as it wakes, another is sent just
    # after: neither may be acknowledged, whichever A reads first.
    ca2.send(*create_args("a-queued"))
    os.kill(a.proc.pid, signal.SIGCONT)
    continued = time.monotonic()
    ca3.send(*create_args("a-after-stop"))
    answers = {}
    for who, c in (("a-queued", ca2), ("a-after-stop", ca3)):
        try:
            got = c.read()
        except TestFailure as e:
            if not c.reader.eof:
                raise TestFailure("A's answer to %s after SIGCONT: %s" % (who, e))
            got = "closed"
        answers[who] = got
        check("A does not acknowledge %s" % who, got == "closed" or
              is_error(got, "READONLY") or is_error(got, "UNAVAILABLE"), repr(got))
    status = exit_status(a, EXIT_BOUND)
    exited = time.monotonic() - continued
    expect("A's exit status", status, 1)
    sanitizer_clean(a)
    log = a.log()
    check("A's log says the lease was taken",
          any("event=store_fatal" in l and "lease was taken" in l for l in log.splitlines()),
          log_tail(a))

    table = pg.psql("SELECT id, customer FROM orders ORDER BY id", db)
    expect("orders", table, [(str(before_id), "a-before"), (str(b_id), "b-after")])
    expect("the lease row", pg.psql("SELECT holder FROM orderd_lease", db), [("node-beta",)])
    r, _ = cb.call("GET", str(before_id))
    expect("B answers GET of A's order", record(r)["customer"], b"a-before")
    expect("B still active", metrics(b)["role"], "active")
    for c in (ca, ca2, ca3, cb):
        c.close()
    stop(b)
finally:
    if a is not None and a.proc.poll() is None:
        os.kill(a.proc.pid, signal.SIGCONT)
    reap()
    pg.destroy()
print("ok: B active %.2f s after SIGSTOP; A answered %r and exited 1 %.2f s after SIGCONT"
      % (took, answers, exited))
