#!/usr/bin/python3
# stores: journal postgres
"""A transient failure is retried until the step's attempts are used up;
then its message goes to the DLQ (channel payment.authorize, group
payment), the saga shows "dead-lettered" and the order stays RESERVED.
Once the payment gateway is back, DLQ REPLAY ALL resumes the saga at that
step, with its attempts counted afresh, and the order is DELIVERED."""
import json

from harness import Orderd, expect
from sagalib import Conn, Events, rec, recs

with Orderd() as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status", "dlq")
    c.ok("POLICY", "payment.authorize", "base=10", "cap=50", "attempts=3", "timeout=2000")
    c.ok("SIM", "SET", "payment", "error=1")

    oid = c.create(customer="erin", item="kettle", qty=1, amount="35.00")
    dead = ev.wait("the authorize step dead-lettered",
                   lambda ch, e: ch == "dlq" and e["event"] == "dead-lettered")
    ev.wait_status(oid, "RESERVED")

    top, steps = c.saga(oid)
    expect("saga", (top["state"], top["step"], top["reason"]),
           ("dead-lettered", "payment.authorize", None))
    a = steps["payment.authorize"]
    expect("authorize", (a["state"], a["attempts"], a["error"], a["next_retry"]),
           ("dead-lettered", 3, "payment gateway error after 3 attempts", None))
    expect("the rest waits", [steps[s]["state"] for s in
                              ("shipping.dispatch", "shipping.deliver", "payment.refund",
                               "inventory.release")], ["pending"] * 4)
    expect("the order keeps its status", c.status(oid), "RESERVED")
    expect("events so far", ev.statuses(oid), ["RESERVED"])
    expect("SAGAS state=dead-lettered", [r["order"] for r in
                                         recs(c.ok("SAGAS", "state=dead-lettered"))], [oid])
    # Three attempts, three messages, each saying which attempt it is.
    sent = [json.loads(r["payload"])
            for r in recs(c.ok("READ", "payment.authorize"))]
    expect("authorize messages", [(m["order"], m["attempt"]) for m in sent],
           [(oid, 1), (oid, 2), (oid, 3)])

    entries = c.dlq()
    expect("one dead letter", len(entries), 1)
    d = entries[0]
    expect("dead letter", (d["channel"], d["group"], d["offset"], d["reason"], d["deliveries"]),
           ("payment.authorize", "payment", a["message"],
            "payment gateway error after 3 attempts", 3))
    expect("the dlq event", (dead["channel"], dead["group"], dead["offset"], dead["reason"]),
           ("payment.authorize", "payment", a["message"],
            "payment gateway error after 3 attempts"))
    expect("INFO dlq_depth", srv.info()["dlq_depth"], "1")
    third = [json.loads(r["payload"]) for r in recs(c.ok("READ", "payment.authorize"))
             if r["id"] == a["message"]]
    shown = json.loads(rec(c.ok("DLQ", "SHOW", "1"))["payload"])

    # Nothing happens on its own while it is dead-lettered: an order behind
    # it (same gateway) dead-letters too, and this one is still RESERVED.
    second = c.create(customer="frank", item="kettle")
    ev.wait("the second order's step dead-lettered",
            lambda ch, e: ch == "dlq" and e["event"] == "dead-lettered" and e["id"] == 2)
    expect("first order still RESERVED", c.status(oid), "RESERVED")

    c.ok("SIM", "SET", "payment", "error=0")
    expect("DLQ REPLAY ALL", c.ok("DLQ", "REPLAY", "ALL"), 2)
    for o in (oid, second):
        ev.wait_status(o, "DELIVERED")
        expect("order %d's events" % o, ev.statuses(o),
               ["RESERVED", "PAID", "SHIPPED", "DELIVERED"])
        top, steps = c.saga(o)
        a = steps["payment.authorize"]
        expect("order %d's saga after the replay" % o, (top["state"], top["reason"]),
               ("done", None))
        # Counted afresh: the replayed message was its one attempt.
        expect("order %d's authorize after the replay" % o,
               (a["state"], a["attempts"], a["error"]), ("ok", 1, None))
    expect("replay events", sorted(e["id"] for e in ev.of("dlq") if e["event"] == "replayed"),
           [1, 2])
    expect("DLQ empty", c.dlq(), [])
    expect("nothing dead-lettered", c.ok("SAGAS", "state=dead-lettered"), [])
    expect("INFO dlq_depth at the end", srv.info()["dlq_depth"], "0")
    # The DLQ kept the message that died, the third attempt's, as it was
    # sent: not another one made up for it.
    expect("DLQ SHOW's payload was the dead message's", [shown], third)
print("ok")
