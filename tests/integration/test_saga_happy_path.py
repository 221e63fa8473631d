#!/usr/bin/python3
# stores: journal postgres
"""An order left alone goes all the way: CREATE, then the saga moves it
PENDING -> RESERVED -> PAID -> SHIPPED -> DELIVERED, one order.status event
per move, each from source "saga" and in that order. At the end TRACK shows
the parcel's number and location=delivered, SAGA every forward step ok at
its first attempt and the compensations never started, HISTORY the five
statuses, and the stock is down by the quantity."""
import time

from harness import Orderd, TestFailure, check, expect
from sagalib import COMPENSATIONS, FORWARD, Client, Conn, Events, push, recs

with Orderd() as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status")
    # The notification participant's lines for people, on live `notify`.
    notes = Client(srv)
    notes.send("SUBSCRIBE", "notify")
    expect("subscribe notify", notes.read(), [b"subscribe", b"notify", 1])
    c.ok("STOCK", "SET", "book", "10")

    oid = c.create(customer="alice", item="book", qty=3, amount="59.97")
    ev.wait_status(oid, "DELIVERED")

    # The events: one per move, in order, each naming the one before.
    moves = [e for e in ev.of("order.status") if e["order_id"] == oid]
    expect("status events", [(e["previous"], e["status"], e["source"], e["note"]) for e in moves],
           [("PENDING", "RESERVED", "saga", None), ("RESERVED", "PAID", "saga", None),
            ("PAID", "SHIPPED", "saga", None), ("SHIPPED", "DELIVERED", "saga", None)])
    ids = [e["event_id"] for e in moves]
    expect("event ids ascend by one", ids, list(range(ids[0], ids[0] + 4)))
    expect("the last event carries the order", moves[-1]["order"]["status"], "DELIVERED")

    # A second order, created after the first was delivered and followed to
    # its end: had the first announced anything more, it would have come
    # before.
    later = c.create(customer="bob", item="pen")
    ev.wait_status(later, "DELIVERED")
    expect("order %d's events, after another order went through" % oid,
           ev.statuses(oid), ["RESERVED", "PAID", "SHIPPED", "DELIVERED"])

    lines, deadline = [], time.monotonic() + 10
    while len(lines) < 5:
        if time.monotonic() > deadline:
            raise TestFailure("notify lines so far: %r" % lines)
        _, line = push(notes.read(), "message")
        if b"your order %d " % oid in line:
            lines.append(line.decode())
    expect("notification lines", lines,
           ["email to alice: your order %d is now %s" % (oid, st)
            for st in ("PENDING", "RESERVED", "PAID", "SHIPPED", "DELIVERED")])

    t = c.track(oid)
    expect("TRACK status", t["status"], "DELIVERED")
    expect("TRACK tracking number", t.get("tracking"), "TRK%08d" % oid)
    expect("TRACK location", t.get("location"), "delivered")
    check("TRACK eta", t.get("eta"), repr(t))
    expect("TRACK saga", t.get("saga"), "done")
    expect("TRACK recent, newest first", [r.split("@")[0] for r in t["recent"]],
           ["DELIVERED", "SHIPPED", "PAID", "RESERVED", "PENDING"])

    top, steps = c.saga(oid)
    expect("saga", (top["order"], top["state"], top["reason"], top["step"]),
           (oid, "done", None, "-"))
    for name in FORWARD:
        s = steps[name]
        expect(name, (s["state"], s["attempts"], s["error"], s["next_retry"]),
               ("ok", 1, None, None))
        check(name + " start and end", s["start"] and s["end"] and s["start"] <= s["end"],
              repr(s))
        check(name + " message", s["message"] >= 1, repr(s))
    for name in COMPENSATIONS:
        s = steps[name]
        expect(name, (s["state"], s["attempts"], s["error"], s["start"], s["end"], s["message"]),
               ("pending", 0, None, None, None, 0))

    h = c.history(oid)
    expect("HISTORY", [(x["from"], x["to"], x["source"], x["note"]) for x in h],
           [(None, "PENDING", "client", None), ("PENDING", "RESERVED", "saga", None),
            ("RESERVED", "PAID", "saga", None), ("PAID", "SHIPPED", "saga", None),
            ("SHIPPED", "DELIVERED", "saga", None)])
    expect("GET", c.status(oid), "DELIVERED")
    expect("stock after the order", c.stock("book"), 7)
    expect("SAGAS: nothing in flight", c.ok("SAGAS"), [])
    expect("SAGAS state=done", [r["order"] for r in recs(c.ok("SAGAS", "state=done"))],
           [oid, later])
print("ok")
