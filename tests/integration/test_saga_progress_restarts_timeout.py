#!/usr/bin/python3
# stores: journal postgres
"""A progress report restarts a running step's timeout, like a heartbeat:
a job longer than the timeout is not given up on while its participant
says it is alive.

- An external payment worker (POLICY timeout=600) takes its message and
  reports `progress` every 300 ms for 1.5 s, then answers ok: one attempt,
  no timeout, PAID. A progress report for a message that is not the running
  attempt is refused; without reports the step times out as before.
- The simulated shipping with a transit longer than the deliver timeout
  (transit=4s, timeout=3000): its halfway report keeps the delivery alive,
  and the order is DELIVERED at the first attempt."""
import time

from chanlib import expect_error
from harness import Orderd, expect
from sagalib import ASAN, Conn, Events, recs

with Orderd() as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status")
    c.ok("SIM", "SET", "payment", "enabled=0")
    c.ok("POLICY", "payment.authorize", "timeout=600", "attempts=2", "base=10", "cap=20")

    # 1. An external worker that keeps saying it is busy.
    w = Conn(srv)
    oid = c.create(customer="pia", item="desk")
    got = recs(w.ok("CONSUME", "payment.authorize", "group=payment", "consumer=w",
                    "block=20000"))
    expect("the worker gets the payment step", len(got), 1)
    msg = got[0]["id"]
    for _ in range(5):
        time.sleep(0.3)
        expect("progress on the running attempt",
               w.call("STEP", "payment.authorize", "group=payment", str(msg), "progress"), 1)
    a = c.saga(oid)[1]["payment.authorize"]
    expect("1.5 s on a 600 ms timeout: still the first attempt", (a["state"], a["attempts"]),
           ("running", 1))
    expect("STEP ok", w.call("STEP", "payment.authorize", "group=payment", str(msg), "ok"), 1)
    ev.wait_status(oid, "PAID")
    expect_error("progress once answered",
                 w.call("STEP", "payment.authorize", "group=payment", str(msg), "progress"),
                 "NOTFOUND")

    # Without reports the same step times out and is sent again.
    oid = c.create(customer="quinn", item="desk")
    first = recs(w.ok("CONSUME", "payment.authorize", "group=payment", "consumer=w",
                      "block=20000"))
    again = recs(w.ok("CONSUME", "payment.authorize", "group=payment", "consumer=w",
                      "block=20000"))
    expect("a silent worker's attempt is sent again",
           (len(first), len(again), again[0]["id"] != first[0]["id"]), (1, 1, True))
    expect_error("the timed-out attempt's progress",
                 w.call("STEP", "payment.authorize", "group=payment", str(first[0]["id"]),
                        "progress"),
                 "NOTFOUND", "message %d is not in flight in group payment" % first[0]["id"])
    expect("STEP ok on the second attempt",
           w.call("STEP", "payment.authorize", "group=payment", str(again[0]["id"]), "ok"), 1)
    ev.wait_status(oid, "PAID")
    c.ok("SIM", "SET", "payment", "enabled=1")

    # 2. A transit longer than the deliver timeout, reported halfway.
    c.ok("POLICY", "shipping.deliver", "timeout=3000")
    c.ok("SIM", "SET", "shipping", "transit=4s")
    oid = c.create(customer="rex", item="desk")
    ev.wait_status(oid, "SHIPPED")
    ev.wait_status(oid, "DELIVERED", timeout=20 if ASAN else 10)
    d = c.saga(oid)[1]["shipping.deliver"]
    expect("delivered at the first attempt", (d["state"], d["attempts"], d["error"]),
           ("ok", 1, None))
    expect("TRACK", c.track(oid)["location"], "delivered")
print("ok")
