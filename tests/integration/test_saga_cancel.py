#!/usr/bin/python3
# stores: journal postgres
"""CANCEL at each stage of the saga. Before shipping the saga undoes what
was done and then moves the order to CANCELLED, with the reason as the
note: the CANCEL reply shows the order as it is, with saga=cancelling. A
second CANCEL meanwhile is refused: the order is already being cancelled.

- PENDING, its reservation in flight with the inventory (answering 500 ms
  late, or not taking messages until re-enabled): the order is CANCELLED
  only once the reservation has landed and been released.
- RESERVED, its payment in flight: the payment that lands is refunded, the
  stock released; the order never becomes PAID.
- PAID with shipping dead-lettered: refunded and released.
- PAID with the shipping step's message out, SHIPPED, DELIVERED, and after
  the end: -STATE, and the order is not touched."""
from chanlib import expect_error, is_error
from harness import Orderd, TestFailure, expect
from sagalib import Conn, Events, rec, recs


def cancel(c, oid, status, reason):
    """CANCEL that starts compensating: the order as it is, saga=cancelling."""
    got = c.call("CANCEL", str(oid), "reason=" + reason)
    if is_error(got):
        raise TestFailure("CANCEL %d: %r" % (oid, got))
    r = rec(got)
    expect("CANCEL %d answers the order as it is" % oid, (r["id"], r["status"], r.get("saga")),
           (oid, status, "cancelling"))


def cancelled(c, ev, oid, reason, events):
    """Waits for CANCELLED; checks the note and the events; returns the
    steps as {name: (state, attempts)}."""
    e = ev.wait_status(oid, "CANCELLED")
    # The bare reason, as CANCEL notes it without a saga (--saga off).
    expect("order %d's CANCELLED note" % oid, e["note"], reason)
    expect("order %d's events" % oid, ev.statuses(oid), events)
    top, steps = c.saga(oid)
    expect("order %d's saga" % oid, (top["state"], top["step"]), ("cancelled", "-"))
    expect("order %d's saga reason" % oid, top["reason"], reason)
    return {name: (s["state"], s["attempts"]) for name, s in steps.items()}


with Orderd() as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status")
    c.ok("STOCK", "SET", "cup", "10")

    # PENDING: the inventory takes the reservation and answers 500 ms later.
    c.ok("SIM", "SET", "inventory", "latency=500ms")
    oid = c.create(customer="ivy", item="cup", qty=2)
    cancel(c, oid, "PENDING", "changed my mind")
    steps = cancelled(c, ev, oid, "changed my mind", ["CANCELLED"])
    expect("PENDING, reservation late: steps", steps, {
        "customer.validate": ("ok", 1), "inventory.reserve": ("compensated", 1),
        "payment.authorize": ("skipped", 0), "shipping.dispatch": ("skipped", 0),
        "shipping.deliver": ("skipped", 0), "payment.refund": ("skipped", 0),
        "inventory.release": ("ok", 1)})
    expect("PENDING, reservation late: stock back", c.stock("cup"), 10)
    c.ok("SIM", "SET", "inventory", "latency=0")

    # PENDING: the inventory takes nothing until it is back. Until the
    # reservation has its answer the order stays PENDING, cancelling.
    c.ok("SIM", "SET", "inventory", "enabled=0")
    oid = c.create(customer="jack", item="cup", qty=3)
    cancel(c, oid, "PENDING", "too slow")
    expect("still PENDING while the reservation is out", c.status(oid), "PENDING")
    expect("SAGAS state=cancelling", [r["order"] for r in
                                      recs(c.ok("SAGAS", "state=cancelling"))], [oid])
    expect_error("a second CANCEL while cancelling", c.call("CANCEL", str(oid)), "STATE",
                 "order %d is already being cancelled" % oid)
    c.ok("SIM", "SET", "inventory", "enabled=1")
    steps = cancelled(c, ev, oid, "too slow", ["CANCELLED"])
    expect("PENDING, reservation held: reserve and release",
           (steps["inventory.reserve"], steps["inventory.release"]),
           (("compensated", 1), ("ok", 1)))
    expect("PENDING, reservation held: stock back", c.stock("cup"), 10)

    # RESERVED: the payment is out and not answered until payment is back;
    # the charge that then lands is refunded.
    c.ok("SIM", "SET", "payment", "enabled=0")
    oid = c.create(customer="kim", item="cup", qty=4)
    ev.wait_status(oid, "RESERVED")
    expect("RESERVED: stock taken", c.stock("cup"), 6)
    cancel(c, oid, "RESERVED", "found it cheaper")
    expect("still RESERVED while the payment is out", c.status(oid), "RESERVED")
    c.ok("SIM", "SET", "payment", "enabled=1")
    steps = cancelled(c, ev, oid, "found it cheaper", ["RESERVED", "CANCELLED"])
    expect("RESERVED: steps", steps, {
        "customer.validate": ("ok", 1), "inventory.reserve": ("compensated", 1),
        "payment.authorize": ("compensated", 1), "shipping.dispatch": ("skipped", 0),
        "shipping.deliver": ("skipped", 0), "payment.refund": ("ok", 1),
        "inventory.release": ("ok", 1)})
    expect("RESERVED: stock back", c.stock("cup"), 10)

    # PAID, shipping dead-lettered (nothing shipped): refunded, released.
    c.ok("POLICY", "shipping.dispatch", "attempts=1")
    c.ok("SIM", "SET", "shipping", "error=1")
    oid = c.create(customer="lee", item="cup", qty=5)
    ev.wait_status(oid, "PAID")
    c.wait_saga(oid, "shipping dead-lettered",
                lambda top, st: st["shipping.dispatch"]["state"] == "dead-lettered")
    expect("PAID: stock taken", c.stock("cup"), 5)
    cancel(c, oid, "PAID", "no longer needed")
    steps = cancelled(c, ev, oid, "no longer needed", ["RESERVED", "PAID", "CANCELLED"])
    expect("PAID: steps", steps, {
        "customer.validate": ("ok", 1), "inventory.reserve": ("compensated", 1),
        "payment.authorize": ("compensated", 1), "shipping.dispatch": ("skipped", 1),
        "shipping.deliver": ("skipped", 0), "payment.refund": ("ok", 1),
        "inventory.release": ("ok", 1)})
    expect("PAID: stock back", c.stock("cup"), 10)
    c.ok("SIM", "SET", "shipping", "error=0")
    c.ok("POLICY", "shipping.dispatch", "attempts=5")

    # PAID, the shipping step's message out (shipping takes nothing): it
    # may be on its way already, so it is too late.
    c.ok("SIM", "SET", "shipping", "enabled=0")
    oid = c.create(customer="max", item="cup", qty=1)
    ev.wait_status(oid, "PAID")
    expect_error("CANCEL with shipping.dispatch out", c.call("CANCEL", str(oid)), "STATE",
                 "cannot cancel order %d: shipping has started" % oid)
    expect("PAID, dispatch out: order untouched", c.status(oid), "PAID")
    expect("PAID, dispatch out: saga untouched", c.saga(oid)[0]["state"], "running")

    # SHIPPED, in transit for 5 s: too late.
    c.ok("SIM", "SET", "shipping", "enabled=1", "transit=5s")
    ev.wait_status(oid, "SHIPPED")
    expect_error("CANCEL a SHIPPED order", c.call("CANCEL", str(oid), "reason=oops"), "STATE",
                 "cannot cancel order %d: shipping has started" % oid)
    expect("SHIPPED: order untouched", c.status(oid), "SHIPPED")
    expect("SHIPPED: saga untouched", c.saga(oid)[0]["state"], "running")

    # DELIVERED, and orders whose saga ended: -STATE.
    c.ok("SIM", "SET", "shipping", "transit=0")
    done = c.create(customer="ned", item="cup", qty=1)
    ev.wait_status(done, "DELIVERED")
    expect_error("CANCEL a DELIVERED order", c.call("CANCEL", str(done)), "STATE")
    expect("DELIVERED stays", c.status(done), "DELIVERED")
    expect_error("CANCEL a CANCELLED order", c.call("CANCEL", "1"), "STATE")
    expect("and it stays CANCELLED, one event", ev.statuses(1), ["CANCELLED"])
    expect("stock: what the delivered orders took", c.stock("cup"), 8)
print("ok")
