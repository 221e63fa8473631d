"""Shared by the saga tests (test_saga_*, test_breaker,
test_no_double_reservation, test_external_payment_worker), on top of
harness.py and chanlib.py: orders and sagas read over RESP as dicts of str,
and a subscriber that waits for events instead of sleeping.

    c = Conn(srv)
    ev = Events(srv, "order.status")           # subscribed before anything happens
    oid = c.create(item="book", qty=2)
    ev.wait_status(oid, "DELIVERED")           # reads pushes until that event
    top, steps = c.saga(oid)                   # SAGA: the saga, then its steps by name
    expect("authorize", steps["payment.authorize"]["state"], "ok")
"""
import json
import os
import time

from chanlib import Client, event, is_error, push, record, records
from harness import READ_TIMEOUT, TestFailure, check, expect, wait_for

STEPS = ["customer.validate", "inventory.reserve", "payment.authorize", "shipping.dispatch",
         "shipping.deliver", "payment.refund", "inventory.release"]
FORWARD = STEPS[:5]
COMPENSATIONS = STEPS[5:]

# ASan builds are slower: tests scale their bounds on waiting.
ASAN = "asan" in os.path.realpath(os.environ.get("ORDERD", ""))


def text(v):
    """A RESP value as the tests compare it: bytes as str, the rest as is."""
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, list):
        return [text(x) for x in v]
    return v


def rec(flat):
    return {k: text(v) for k, v in record(flat).items()}


def recs(lst):
    return [{k: text(v) for k, v in r.items()} for r in records(lst)]


class Conn(Client):
    """A RESP connection with the order and saga requests as methods."""

    def ok(self, *args):
        """A request that must not be refused; its reply."""
        got = self.call(*args)
        if is_error(got):
            raise TestFailure("%s: %r" % (" ".join(map(str, args)), got))
        return got

    def create(self, customer="alice", item="book", qty=1, amount="19.99", **more):
        args = ["CREATE", "customer=" + customer, "item=" + item, "qty=%d" % qty,
                "amount=" + amount] + ["%s=%s" % kv for kv in more.items()]
        r = rec(self.ok(*args))
        expect("CREATE answers a PENDING order", r["status"], "PENDING")
        return r["id"]

    def get(self, oid):
        return rec(self.ok("GET", str(oid)))

    def status(self, oid):
        return self.get(oid)["status"]

    def track(self, oid):
        return rec(self.ok("TRACK", str(oid)))

    def history(self, oid):
        return recs(self.ok("HISTORY", str(oid)))

    def saga(self, oid):
        """SAGA <id> as (the saga's record, {step name: its record})."""
        got = recs(self.ok("SAGA", str(oid)))
        check("SAGA lists the saga and its 7 steps", len(got) == 1 + len(STEPS), repr(got))
        expect("SAGA's steps in order", [s["step"] for s in got[1:]], STEPS)
        return got[0], {s["step"]: s for s in got[1:]}

    def steps(self, oid, *fields):
        """{step: (field, ...)} for a compact comparison."""
        _, st = self.saga(oid)
        return {name: tuple(s[f] for f in fields) for name, s in st.items()}

    def stock(self, sku):
        return self.ok("STOCK", sku)

    def breaker(self, participant):
        for b in recs(self.ok("BREAKERS")):
            if b["participant"] == participant:
                return b
        raise TestFailure("BREAKERS has no %s" % participant)

    def dlq(self, *args):
        return recs(self.ok("DLQ", "LIST", *args))

    def wait_saga(self, oid, what, cond, timeout=READ_TIMEOUT):
        """Polls SAGA until cond(saga, steps) holds; returns (saga, steps).
        For the states no event announces (a step waiting, running again)."""
        got = []

        def probe():
            got[:] = [self.saga(oid)]
            return cond(*got[0])
        try:
            wait_for("order %s: %s" % (oid, what), probe, timeout=timeout)
        except TestFailure as e:
            raise TestFailure("%s; last SAGA: %r" % (e, got[0] if got else None))
        return got[0]


class Events:
    """A subscriber: keeps every push it reads, in order, and waits for the
    one a test is after. Bounded: each wait fails after READ_TIMEOUT even
    if unrelated events keep coming."""

    def __init__(self, srv, *channels):
        self.c = Client(srv)
        self.c.send("SUBSCRIBE", *channels)
        for i, ch in enumerate(channels, 1):
            expect("subscribe " + ch, self.c.read(), [b"subscribe", ch.encode(), i])
        self.seen = []   # (channel, decoded JSON), in arrival order

    def next(self, deadline):
        if time.monotonic() > deadline:
            raise TestFailure("timed out")
        self.c.reader.timeout = max(0.05, deadline - time.monotonic())
        ch, payload = push(self.c.read(), "message")
        e = (ch.decode(), event(payload))
        self.seen.append(e)
        return e

    def wait(self, what, pred, timeout=READ_TIMEOUT):
        """The first event (channel, json) with pred(channel, json), among
        those seen already or, reading on, those to come."""
        for ch, e in self.seen:
            if pred(ch, e):
                return e
        deadline = time.monotonic() + timeout
        while True:
            try:
                ch, e = self.next(deadline)
            except TestFailure as err:
                raise TestFailure("waiting for %s: %s; events so far: %s"
                                  % (what, err, self.describe()))
            if pred(ch, e):
                return e

    def wait_status(self, oid, status, timeout=READ_TIMEOUT):
        """The order.status event that moved order oid to status."""
        return self.wait("order %s to become %s" % (oid, status),
                         lambda ch, e: ch == "order.status" and e.get("order_id") == oid
                         and e.get("status") == status, timeout)

    def statuses(self, oid):
        """The statuses order oid moved to, as seen so far."""
        return [e["status"] for ch, e in self.seen
                if ch == "order.status" and e.get("order_id") == oid]

    def of(self, channel):
        return [e for ch, e in self.seen if ch == channel]

    def describe(self):
        out = []
        for ch, e in self.seen[-12:]:
            if ch == "order.status":
                out.append("%s %s" % (e.get("order_id"), e.get("status")))
            else:
                out.append("%s %s" % (ch, json.dumps(e)))
        return "; ".join(out) or "none"

    def close(self):
        self.c.close()
