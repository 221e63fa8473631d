#!/usr/bin/python3
# stores: journal postgres
"""A business failure is not retried: the saga undoes what was done and
fails the order with the reason. A declined card fails the order after
RESERVED and puts the reserved stock back; a blocked customer and a SKU
out of stock fail it from PENDING, and the stock is as it was. Each
failure is one attempt, reported once, with the reason in the event's
note, in HISTORY and in SAGA."""
from harness import Orderd, check, expect
from sagalib import Conn, Events, recs


def failed(c, ev, oid, reason):
    """Waits for FAILED and checks the reason everywhere it shows; returns
    the SAGA steps."""
    e = ev.wait_status(oid, "FAILED")
    check("order %d's FAILED note says %r" % (oid, reason), reason in (e["note"] or ""), repr(e))
    expect("order %d's FAILED source" % oid, e["source"], "saga")
    last = c.history(oid)[-1]
    expect("order %d's last transition" % oid, (last["to"], last["note"]), ("FAILED", e["note"]))
    top, steps = c.saga(oid)
    expect("order %d's saga" % oid, (top["state"], top["step"]), ("failed", "-"))
    check("order %d's saga reason says %r" % (oid, reason), reason in (top["reason"] or ""),
          repr(top))
    return {name: (s["state"], s["attempts"], s["error"]) for name, s in steps.items()}


with Orderd() as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status")

    # A declined card: reserved, then refused, then the stock goes back.
    c.ok("STOCK", "SET", "mug", "10")
    c.ok("SIM", "SET", "payment", "decline=1")
    oid = c.create(customer="carol", item="mug", qty=4)
    steps = failed(c, ev, oid, "card declined")
    failures = [oid]
    expect("declined: events", ev.statuses(oid), ["RESERVED", "FAILED"])
    expect("declined: steps", steps, {
        "customer.validate": ("ok", 1, None),
        "inventory.reserve": ("compensated", 1, None),
        "payment.authorize": ("failed", 1, "card declined"),
        "shipping.dispatch": ("skipped", 0, None),
        "shipping.deliver": ("skipped", 0, None),
        "payment.refund": ("skipped", 0, None),      # nothing was charged
        "inventory.release": ("ok", 1, None)})
    expect("declined: stock back", c.stock("mug"), 10)
    c.ok("SIM", "SET", "payment", "decline=0")

    # A blocked customer: refused while the stock was being reserved, so
    # the reservation is released.
    c.ok("STOCK", "SET", "lamp", "5")
    c.ok("CUSTOMER", "BLOCK", "mallory")
    oid = c.create(customer="mallory", item="lamp", qty=2)
    steps = failed(c, ev, oid, "customer blocked")
    failures.append(oid)
    expect("blocked: events", ev.statuses(oid), ["FAILED"])
    expect("blocked: validate", steps["customer.validate"], ("failed", 1, "customer blocked"))
    expect("blocked: payment and shipping never ran",
           [steps[s] for s in ("payment.authorize", "shipping.dispatch", "shipping.deliver",
                               "payment.refund")], [("skipped", 0, None)] * 4)
    # Reserve ran alongside validate: what it reserved is released.
    expect("blocked: reserve and its release",
           (steps["inventory.reserve"], steps["inventory.release"]),
           (("compensated", 1, None), ("ok", 1, None)))
    expect("blocked: stock unchanged", c.stock("lamp"), 5)
    # Someone else still gets the lamp.
    other = c.create(customer="alice", item="lamp", qty=2)
    ev.wait_status(other, "DELIVERED")
    expect("another customer's order takes the stock", c.stock("lamp"), 3)

    # Out of stock: one left, two wanted.
    c.ok("STOCK", "SET", "vase", "1")
    oid = c.create(customer="dave", item="vase", qty=2)
    steps = failed(c, ev, oid, "out of stock")
    failures.append(oid)
    expect("out of stock: events", ev.statuses(oid), ["FAILED"])
    expect("out of stock: reserve", steps["inventory.reserve"], ("failed", 1, "out of stock"))
    expect("out of stock: nothing to release", steps["inventory.release"], ("skipped", 0, None))
    expect("out of stock: payment never ran", steps["payment.authorize"], ("skipped", 0, None))
    expect("out of stock: stock unchanged", c.stock("vase"), 1)
    # The one left can still be had.
    oid = c.create(customer="dave", item="vase", qty=1)
    ev.wait_status(oid, "DELIVERED")
    expect("the last vase", c.stock("vase"), 0)

    expect("SAGAS state=failed", [r["order"] for r in recs(c.ok("SAGAS", "state=failed"))],
           failures)
print("ok")
