#!/usr/bin/python3
"""The take-over drill: two orderd nodes on one PostgreSQL database (a
throwaway cluster this test starts; sagas on, --pg-lease-ms LEASE_MS), A
active and B standing by, and a client pipelining keyed CREATEs
(drills.Load) that knows both: it sends to A, and when a connection fails
or a node answers -READONLY it tries the other. A is killed with SIGKILL
while a batch is in flight:

- the client's batch is in doubt; B refuses it (-READONLY) until A's lease
  has run out, then takes over and acknowledges the client's orders, the
  doubtful keys among them (a key A committed is a replay of A's order);
- the sagas A left in flight carry on on B, with B's participants;
- once every key is acknowledged (drills.retry, same key, to B), the
  end-of-drill checks on B (drills.verify): every order acknowledged by A
  or B there, each key one order and ids 1..n, the sagas all finished, the
  saga invariants (stock taken once across the take-over).

test_pg_standby_takeover.py pins down the take-over itself (its timing,
the epoch, each order's history) with orders held in flight at chosen
steps and no load; this drill is about a client that keeps going."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drills  # noqa: E402
import pglib  # noqa: E402
from harness import expect, wait_for  # noqa: E402
from pgnode import fresh_database, kill9, metrics, reap, start, stop, wait_role  # noqa: E402

LEASE_MS = 2000
FLAGS = ("--pg-lease-ms", str(LEASE_MS))
# B asks for the lease once a second, and loads what A left: a bound.
TAKEOVER_BOUND = LEASE_MS / 1000 + drills.scaled(5.0, 10.0)

pg = pglib.Postgres()
t0 = time.monotonic()
led = drills.Ledger()
load = None
try:
    pg.start()
    db = fresh_database(pg)
    a = start(pg, db, "node-alpha", *FLAGS)
    b = start(pg, db, "node-beta", *FLAGS)
    expect("B stands by", metrics(b)["role"], "standby")
    drills.prepare(a.port)
    load = drills.Load(led, [a.port, b.port])
    load.start()
    load.wait_acked(300)
    wait_for("a batch in flight", lambda: load.in_flight or load.error, step=0.0005)
    kill9(a)
    at_kill = led.count()
    took = wait_role(b, "active", timeout=TAKEOVER_BOUND)
    load.wait_acked(at_kill + 300, timeout=TAKEOVER_BOUND + drills.scaled(10.0, 20.0))
    load.finish()
    drills.retry(led, b.port)
    result = drills.verify(b.port, led)
    stop(b)
finally:
    if load is not None:
        load.stopping.set()
    reap()
    pg.destroy()
print("ok: A killed under load after %d orders acknowledged, B active %.2f s later; %s; %.1f s"
      % (at_kill, took, drills.summary(led, result), time.monotonic() - t0))
