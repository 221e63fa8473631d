#!/usr/bin/python3
# stores: journal postgres
"""Sagas survive a restart on the same --data: after SIGTERM, and after
kill -9 with --fsync always. Each time, orders are left at every kind of
midpoint (with the participants that would move them switched off):

- SHIPPED, the parcel in transit (its delivery in flight with shipping);
- PAID, shipping.dispatch sent and not taken;
- RESERVED, payment.authorize sent and not taken;
- RESERVED and cancelling, waiting for the payment's answer to refund it;
- PENDING, inventory.reserve dead-lettered;
- and one DELIVERED.

The restarted server (payment and shipping still off) answers SAGA, GET,
HISTORY, TRACK, STOCK, SAGAS and DLQ LIST as before; then, the dead letter
replayed and the participants back, every saga carries on from where it
was: DELIVERED, or CANCELLED with the stock released and the payment
refunded, each step sent once — no stock taken and no card charged
twice."""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, expect  # noqa: E402
from durability import kill9, reap, start, stop  # noqa: E402
from sagalib import Conn, Events, recs  # noqa: E402

# Payment and shipping off: nothing moves the sagas left midway.
HALTED = ("--sim", "customer,inventory,notify")
# Policies are not kept across a restart: each server gets them again (the
# defaults apply until then, so a restart must not take the default step
# timeout, 5 s, or the running steps time out and are sent again).
POLICIES = [("shipping.deliver", "timeout=600000"), ("payment.authorize", "timeout=600000"),
            ("shipping.dispatch", "timeout=600000"), ("inventory.reserve", "attempts=1")]
STOCK = 100


def policies(c):
    for step, setting in POLICIES:
        c.ok("POLICY", step, setting)


def leave_midway(c, ev):
    """Orders at each midpoint, the participants left on switched off.
    Returns {order id: (qty, what becomes of it)}."""
    c.ok("SIM", "SET", "shipping", "enabled=1", "transit=0")
    c.ok("SIM", "SET", "payment", "enabled=1")
    out = {}
    done = c.create(customer="del", item="lamp", qty=1)
    ev.wait_status(done, "DELIVERED")
    out[done] = (1, "DELIVERED")

    c.ok("SIM", "SET", "shipping", "transit=600s")
    shipped = c.create(customer="shp", item="lamp", qty=2)
    ev.wait_status(shipped, "SHIPPED")
    out[shipped] = (2, "DELIVERED")

    c.ok("SIM", "SET", "shipping", "enabled=0")
    paid = c.create(customer="pay", item="lamp", qty=3)
    ev.wait_status(paid, "PAID")
    out[paid] = (3, "DELIVERED")

    c.ok("SIM", "SET", "payment", "enabled=0")
    reserved = c.create(customer="res", item="lamp", qty=4)
    ev.wait_status(reserved, "RESERVED")
    out[reserved] = (4, "DELIVERED")

    cancelling = c.create(customer="can", item="lamp", qty=5)
    ev.wait_status(cancelling, "RESERVED")
    c.ok("CANCEL", str(cancelling), "reason=restart me")
    out[cancelling] = (5, "CANCELLED")

    c.ok("SIM", "SET", "inventory", "error=1")
    dead = c.create(customer="dlq", item="lamp", qty=6)
    ev.wait("order %d's reservation dead-lettered" % dead,
            lambda ch, e: ch == "dlq" and e["event"] == "dead-lettered" and
            e["channel"] == "inventory.reserve")
    c.ok("SIM", "SET", "inventory", "error=0")
    out[dead] = (6, "DELIVERED")
    return out


def reserved(orders):
    """The stock the orders hold midway: not the dead-lettered one's (not
    reserved yet) nor the cancelling one's (released at once; only its
    payment is awaited, to be refunded)."""
    return sum(q for q, _ in orders.values() if q not in (5, 6))


STEP_CHANNELS = ("customer.validate", "inventory.reserve", "payment.authorize",
                 "shipping.dispatch", "shipping.deliver", "payment.refund", "inventory.release")


def answers(c, ids):
    """What must survive: by request, its answer."""
    out = {}
    for oid in ids:
        for req in ("GET", "SAGA", "HISTORY"):
            out["%s %d" % (req, oid)] = c.ok(req, str(oid))
    for req in [("STOCK", "lamp"), ("SAGAS",), ("DLQ", "LIST")] + \
            [("READ", ch, "count=1000") for ch in STEP_CHANNELS]:
        out[" ".join(req)] = c.ok(*req)
    return out


def tracks(c, ids):
    return {oid: c.ok("TRACK", str(oid)) for oid in ids}


def track_diffs(c, before):
    """TRACK answers that differ from before: [(order, before, now)]."""
    now = tracks(c, before)
    return [(oid, before[oid], now[oid]) for oid in before if now[oid] != before[oid]]


def compare(name, want, got):
    bad = ["%s:\n    want %r\n    got  %r" % (k, want[k], got.get(k))
           for k in want if want[k] != got.get(k)]
    if bad:
        raise TestFailure("%s: %d answers differ:\n  %s" % (name, len(bad), "\n  ".join(bad)))


def carry_on(c, ev, orders):
    """Replays the dead letter, switches the participants back on, and
    checks every saga ends as it should, each step sent once."""
    expect("DLQ REPLAY ALL", c.ok("DLQ", "REPLAY", "ALL"), 1)
    c.ok("SIM", "SET", "shipping", "enabled=1", "transit=0")
    c.ok("SIM", "SET", "payment", "enabled=1")
    for oid, (qty, final) in orders.items():
        if c.status(oid) != final:   # the DELIVERED one is already
            ev.wait_status(oid, final)
    sent = {}
    for step in STEP_CHANNELS:
        for m in recs(c.ok("READ", step, "count=1000")):
            key = (json.loads(m["payload"])["order"], step)
            sent[key] = sent.get(key, 0) + 1
    for oid, (qty, final) in orders.items():
        top, steps = c.saga(oid)
        expect("order %d's saga" % oid, top["state"],
               "done" if final == "DELIVERED" else "cancelled")
        h = [x["to"] for x in c.history(oid)]
        if final == "DELIVERED":
            expect("order %d's history" % oid, h,
                   ["PENDING", "RESERVED", "PAID", "SHIPPED", "DELIVERED"])
            want = {s: ("ok", 1) for s in ("customer.validate", "inventory.reserve",
                                           "payment.authorize", "shipping.dispatch",
                                           "shipping.deliver")}
            want.update({"payment.refund": ("pending", 0), "inventory.release": ("pending", 0)})
        else:
            expect("order %d's history" % oid, h, ["PENDING", "RESERVED", "CANCELLED"])
            want = {"customer.validate": ("ok", 1), "inventory.reserve": ("compensated", 1),
                    "payment.authorize": ("compensated", 1), "shipping.dispatch": ("skipped", 0),
                    "shipping.deliver": ("skipped", 0), "payment.refund": ("ok", 1),
                    "inventory.release": ("ok", 1)}
        expect("order %d's steps" % oid,
               {n: (s["state"], s["attempts"]) for n, s in steps.items()}, want)
        expect("order %d's messages: each step sent once" % oid,
               {s: n for (o, s), n in sent.items() if o == oid},
               {s: 1 for s, (state, attempts) in want.items() if attempts})
    return sum(qty for qty, final in orders.values() if final == "DELIVERED")


data = tempfile.mkdtemp(prefix="orderd-saga-restart-")
lost_tracks = []
try:
    # 1. Orders left midway, then SIGTERM.
    srv = start(data, "--fsync", "always", saga=True)
    c = Conn(srv)
    ev = Events(srv, "order.status", "dlq")
    c.ok("STOCK", "SET", "lamp", str(STOCK))
    policies(c)
    first = leave_midway(c, ev)
    expect("stock before the restart", c.stock("lamp"), STOCK - reserved(first))
    before, track_before = answers(c, first), tracks(c, first)
    stop(srv)

    # Back, with payment and shipping off: the same answers.
    srv = start(data, "--fsync", "always", *HALTED, saga=True)
    c = Conn(srv)
    policies(c)
    compare("after SIGTERM and restart", before, answers(c, first))
    lost_tracks += track_diffs(c, track_before)
    ev = Events(srv, "order.status", "dlq")
    used = carry_on(c, ev, first)
    expect("stock after the first orders", c.stock("lamp"), STOCK - used)

    # 2. Again, now with kill -9 (--fsync always: what was answered is on
    # disk).
    second = leave_midway(c, ev)
    expect("stock before the crash", c.stock("lamp"), STOCK - used - reserved(second))
    before, track_before = answers(c, second), tracks(c, second)
    kill9(srv)

    srv = start(data, *HALTED, saga=True)
    c = Conn(srv)
    policies(c)
    compare("after kill -9 and restart", before, answers(c, second))
    lost_tracks += track_diffs(c, track_before)
    ev = Events(srv, "order.status", "dlq")
    used += carry_on(c, ev, second)
    expect("stock at the end: each order's quantity taken once", c.stock("lamp"), STOCK - used)
    stop(srv)

    # TRACK last, so that everything else above has been checked: the
    # parcel's number and where it is are the saga's too.
    if lost_tracks:
        raise TestFailure("TRACK answers differ after a restart:\n  " + "\n  ".join(
            "TRACK %d:\n    want %r\n    got  %r" % d for d in lost_tracks))
finally:
    reap()
    shutil.rmtree(data, ignore_errors=True)
print("ok")
