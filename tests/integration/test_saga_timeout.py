#!/usr/bin/python3
# stores: journal postgres
"""A step nobody answers in time times out: with POLICY timeout=200
attempts=2 the payment step is sent, times out, is sent again as a new
message (attempt 2), times out again and is dead-lettered with "timeout
after 2 attempts"; the order stays RESERVED.

First with a worker that takes each attempt and sits on it: its late
answers are refused and move nothing, and after DLQ REPLAY it answers the
replayed message and the order is DELIVERED. Then with nobody consuming at
all. A timed-out attempt is settled (the engine acknowledges it), so a
worker that starts afterwards is not handed attempts the saga has given up
on — among them the very message that sits in the DLQ."""
import json

from chanlib import expect_error
from harness import Orderd, expect
from sagalib import Conn, Events, recs

REASON = "timeout after 2 attempts"


def payload(m):
    return json.loads(m["payload"])


def check_dead(c, ev, oid, entry):
    """Waits for DLQ entry `entry` and checks it is order oid's payment
    step, timed out twice; returns the step's message id."""
    dead = ev.wait("order %d's authorize dead-lettered" % oid,
                   lambda ch, e: ch == "dlq" and e["event"] == "dead-lettered" and
                   e["id"] == entry)
    top, steps = c.saga(oid)
    a = steps["payment.authorize"]
    expect("order %d's saga" % oid, (top["state"], top["step"]),
           ("dead-lettered", "payment.authorize"))
    expect("order %d's authorize" % oid, (a["state"], a["attempts"], a["error"]),
           ("dead-lettered", 2, REASON))
    expect("order %d's dead letter" % oid,
           (dead["channel"], dead["group"], dead["offset"], dead["reason"]),
           ("payment.authorize", "payment", a["message"], REASON))
    expect("order %d keeps its status" % oid, c.status(oid), "RESERVED")
    expect("order %d's events" % oid, ev.statuses(oid), ["RESERVED"])
    return a["message"]


def consume(w, block=20000):
    return recs(w.ok("CONSUME", "payment.authorize", "group=payment", "consumer=w",
                     "count=10", "block=%d" % block))


# No simulated payment: only this test answers payment.authorize.
with Orderd("--sim", "customer,inventory,shipping,notify") as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status", "dlq")
    c.ok("POLICY", "payment.authorize", "base=10", "cap=50", "attempts=2", "timeout=200")

    # 1. A worker takes each attempt as it comes and does not answer.
    w = Conn(srv)
    oid = c.create(customer="gina", item="clock")
    took = []
    for attempt in (1, 2):
        got = consume(w)
        expect("the worker gets attempt %d" % attempt,
               [(payload(m)["order"], payload(m)["attempt"], m["deliveries"]) for m in got],
               [(oid, attempt, 1)])
        took.append(got[0]["id"])
    expect("each attempt is a new message", took[0] != took[1], True)
    expect("the dead message is the second attempt's", check_dead(c, ev, oid, 1), took[1])
    for i, msg in enumerate(took, 1):
        expect_error("a late answer to attempt %d" % i,
                     w.call("STEP", "payment.authorize", "group=payment", str(msg), "ok"),
                     "NOTFOUND")
    expect("late answers moved nothing", (c.status(oid), c.saga(oid)[0]["state"]),
           ("RESERVED", "dead-lettered"))

    # Replayed, the message comes back once more; answered in time, it goes.
    expect("DLQ REPLAY 1", c.ok("DLQ", "REPLAY", "1"), 1)
    got = consume(w)
    expect("the replayed message", [(m["id"], m["deliveries"]) for m in got], [(took[1], 1)])
    expect("STEP ok", w.call("STEP", "payment.authorize", "group=payment", str(took[1]), "ok"), 1)
    ev.wait_status(oid, "DELIVERED")
    a = c.saga(oid)[1]["payment.authorize"]
    expect("authorize after the replay", (a["state"], a["attempts"], a["error"]),
           ("ok", 1, None))
    expect("nothing left for the worker", consume(w, block=1), [])

    # 2. Nobody takes the messages at all.
    oid2 = c.create(customer="hank", item="clock")
    dead = check_dead(c, ev, oid2, 2)
    sent = [(m["id"], payload(m)["attempt"]) for m in recs(c.ok("READ", "payment.authorize"))
            if payload(m)["order"] == oid2]
    expect("two attempts, each its own message", [s[1] for s in sent], [1, 2])
    expect("the dead message is the second attempt's", dead, sent[1][0])

    # A worker that starts now has nothing to do: both attempts timed out
    # and the second is in the DLQ, to be replayed, or not, by people.
    stale = consume(w, block=1)
    expect("stale attempts handed to a new worker",
           [(m["id"], payload(m)["order"], payload(m)["attempt"]) for m in stale], [])
    expect("order %d still waits for attention" % oid2,
           (c.status(oid2), c.saga(oid2)[0]["state"]), ("RESERVED", "dead-lettered"))
print("ok")
