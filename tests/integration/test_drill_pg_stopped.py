#!/usr/bin/python3
"""The lost-database drill: orderd on PostgreSQL (a throwaway cluster this
test starts, sagas on) under two clients pipelining keyed CREATEs
(drills.Load): a patient one that waits for its replies however long, and
an impatient one that gives up on a reply after IMPATIENT seconds and
connects again. PostgreSQL is stopped (pg_ctl -m fast) for DOWN_FOR
seconds and started again on its port:

- the batches in flight at the stop wait for the database (their orders
  are made, not yet committed): the patient client waits, the impatient
  one gives up on them (in doubt) and, connected again, has its CREATEs
  refused (-UNAVAILABLE) and keeps sending, the refused and doubtful keys
  again among new ones;
- once it is back, orderd reconnects by itself and the load's orders are
  acknowledged again;
- once every key is acknowledged (drills.retry, same key), the end-of-drill
  checks (drills.verify): every acknowledged order there, each key one
  order and ids 1..n (no refusal made an order or used an id), the sagas
  the outage held up all finished, the saga invariants;
- and the same from the database alone, on orderd started again.

test_pg_database_stopped.py pins down the answers meanwhile (the refusal
within 1 s, PING, GET, METRICS, /readyz) for a writer without sagas; this
drill is about the orders and sagas of a client that keeps going."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drills  # noqa: E402
import pglib  # noqa: E402
from harness import check, wait_for  # noqa: E402
from pgnode import fresh_database, reap, start, stop  # noqa: E402

DOWN_FOR = 1.5   # how long PostgreSQL stays stopped
IMPATIENT = 0.5  # the impatient client's wait for a reply
NODE = "node-drill"

pg = pglib.Postgres()
t0 = time.monotonic()
led = drills.Ledger()
loads = []
try:
    pg.start()
    db = fresh_database(pg)
    a = start(pg, db, NODE)
    drills.prepare(a.port)
    patient = drills.Load(led, [a.port], tag="p")
    impatient = drills.Load(led, [a.port], tag="i", timeout=IMPATIENT)
    loads = [patient, impatient]
    for load in loads:
        load.start()
    patient.wait_acked(200)
    pg.stop()
    stopped = time.monotonic()
    wait_for("the impatient client's CREATEs refused while PostgreSQL is down",
             lambda: led.refused > 0 or impatient.error, timeout=10)
    time.sleep(max(0.0, DOWN_FOR - (time.monotonic() - stopped)))  # the outage's length
    refused_down = led.refused
    pg.start_again()
    patient.wait_acked(led.count() + 200, timeout=drills.scaled(20.0, 40.0))
    for load in loads:
        load.finish()
    check("the patient client waited through the outage", patient.timeouts == 0,
          "(it timed out %d times)" % patient.timeouts)
    drills.retry(led, a.port)
    result = drills.verify(a.port, led)
    stop(a)
    a = start(pg, db, NODE)
    drills.verify(a.port, led)
    stop(a)
finally:
    for load in loads:
        load.stopping.set()
    reap()
    pg.destroy()
print("ok: PostgreSQL down %.1f s under load, %d CREATEs refused meanwhile; %s; %.1f s"
      % (DOWN_FOR, refused_down, drills.summary(led, result), time.monotonic() - t0))
