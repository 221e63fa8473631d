#!/usr/bin/python3
# stores: journal postgres
"""The payment participant's circuit breaker. With every payment call
failing (and attempts to spare), once 10 calls are kept and they all
failed the breaker opens: BREAKERS shows it OPEN and `breaker` announces
CLOSED -> OPEN. While it is open no payment step is sent: a new order's
payment step waits with "breaker open" and no attempt counted, and the
failing orders' attempts stop growing. The gateway comes back; after the
5 s open period the breaker goes HALF_OPEN, its trial calls succeed, it
goes CLOSED (each move announced), and every held order is DELIVERED."""
from harness import Orderd, TestFailure, check, expect
from sagalib import ASAN, Conn, Events

FAILING = 3   # orders created while payment fails
HELD = 3      # orders created while the breaker is open


def transitions(ev):
    return [(e["participant"], e["from"], e["to"]) for e in ev.of("breaker")]


with Orderd() as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status", "breaker")
    c.ok("POLICY", "payment.authorize", "attempts=100", "base=1", "cap=5")
    c.ok("SIM", "SET", "payment", "error=1")

    failing = [c.create(customer="f%d" % i, item="mug") for i in range(FAILING)]
    opened = ev.wait("the breaker to open", lambda ch, e: ch == "breaker" and e["to"] == "OPEN")
    expect("breaker event", (opened["participant"], opened["from"], opened["to"],
                             opened["failure_rate"]), ("payment", "CLOSED", "OPEN", 100))
    b = c.breaker("payment")
    expect("BREAKERS payment", (b["state"], b["failure_rate"], b["opened"]), ("OPEN", 100, 1))
    check("BREAKERS payment: at least 10 calls kept", b["calls"] >= 10, repr(b))
    check("BREAKERS payment: retry_at", b["retry_at"], repr(b))
    expect("other breakers", [c.breaker(p)["state"] for p in
                              ("customer", "inventory", "shipping", "notify")], ["CLOSED"] * 4)
    expect("INFO breaker_payment", srv.info()["breaker_payment"], "OPEN")

    # While open: the failing orders' payment steps end up held (their
    # next retry finds the breaker open), and stop counting attempts.
    before = {}
    for oid in failing:
        _, st = c.wait_saga(oid, "payment held by the breaker",
                            lambda top, st: st["payment.authorize"]["error"] == "breaker open")
        a = st["payment.authorize"]
        expect("order %d's payment step" % oid, (a["state"], a["next_retry"]), ("waiting", None))
        check("order %d: attempts short of the limit" % oid, 1 <= a["attempts"] < 100, repr(a))
        before[oid] = a["attempts"]
    held = [c.create(customer="h%d" % i, item="mug") for i in range(HELD)]
    for oid in held:
        ev.wait_status(oid, "RESERVED")
        _, st = c.wait_saga(oid, "payment held by the breaker",
                            lambda top, st: st["payment.authorize"]["state"] != "pending")
        a = st["payment.authorize"]
        expect("new order %d's payment step" % oid,
               (a["state"], a["error"], a["attempts"], a["message"]),
               ("waiting", "breaker open", 0, 0))
    for oid in failing:
        expect("order %d's attempts while open" % oid,
               c.saga(oid)[1]["payment.authorize"]["attempts"], before[oid])
    # All of that happened while it was open, and it never closed meanwhile.
    b = c.breaker("payment")
    expect("still OPEN, opened once", (b["state"], b["opened"]), ("OPEN", 1))
    expect("no payment order got further", {c.status(o) for o in failing + held}, {"RESERVED"})

    # The gateway comes back. After the open period: trials, then CLOSED.
    c.ok("SIM", "SET", "payment", "error=0")
    # Bounds on waiting for what takes 5 s, not expectations of timing.
    wait = 30 if ASAN else 15
    try:
        ev.wait("the breaker to close", lambda ch, e: ch == "breaker" and e["to"] == "CLOSED",
                timeout=wait)
    except TestFailure as e:
        raise TestFailure("%s\n  BREAKERS payment: %r\n  payment steps: %r" % (
            e, c.breaker("payment"),
            {o: c.steps(o, "state", "attempts", "error")["payment.authorize"]
             for o in failing + held}))
    expect("breaker transitions", transitions(ev),
           [("payment", "CLOSED", "OPEN"), ("payment", "OPEN", "HALF_OPEN"),
            ("payment", "HALF_OPEN", "CLOSED")])
    for oid in failing + held:
        ev.wait_status(oid, "DELIVERED", timeout=wait)
        expect("order %d's events" % oid, ev.statuses(oid),
               ["RESERVED", "PAID", "SHIPPED", "DELIVERED"])
    for oid in held:
        a = c.saga(oid)[1]["payment.authorize"]
        expect("held order %d paid at its first attempt" % oid,
               (a["state"], a["attempts"], a["error"]), ("ok", 1, None))
    b = c.breaker("payment")
    expect("BREAKERS payment at the end", (b["state"], b["opened"], b["retry_at"]),
           ("CLOSED", 1, None))
print("ok")
