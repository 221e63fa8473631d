#!/usr/bin/python3
# stores: journal postgres
"""Order status, saga state, stock and charges never disagree, whatever a
client throws at them. A seeded random mix of CREATE (on scarce stock, for
blocked and good customers), CANCEL, UPDATE to every status, and SAGA ABORT,
with payment declining and every participant failing now and then, across a
SIGTERM restart and a kill -9. Once every saga has ended:

- an order is DELIVERED exactly when its saga is done, FAILED when it
  failed (or was aborted), CANCELLED when it was cancelled;
- a DELIVERED order holds its reservation and its charge (reserve and
  authorize ok); a FAILED or CANCELLED one holds neither (never taken, or
  given back: released, refunded);
- every SKU's stock is its starting level less what DELIVERED orders hold;
- UPDATE never moved an order a saga was driving, except to cancel it."""
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chanlib import is_error  # noqa: E402
from drills import saga_invariants  # noqa: E402
from durability import kill9, reap, start, stop  # noqa: E402
from harness import TestFailure, check, expect  # noqa: E402
from sagalib import ASAN, Conn, rec, recs  # noqa: E402

SEED = int(os.environ.get("INVARIANT_SEED", "20261130"))
ACTIONS = 150          # per server life; three lives
SKUS = ["s%d" % i for i in range(4)]
STOCK = 40             # scarce: some orders fail out of stock
STATUSES = ["PENDING", "RESERVED", "PAID", "SHIPPED", "DELIVERED", "FAILED", "CANCELLED"]
SETTLE_TIMEOUT = 120 if ASAN else 60
# What each error code may be the answer to, by command: anything else is
# a defect (an unexpected refusal, or a crash that closes the socket).
ALLOWED = {"CREATE": {b"BADARG"}, "CANCEL": {b"STATE", b"NOTFOUND"},
           "UPDATE": {b"STATE", b"NOTFOUND"}, "SAGA": {b"STATE", b"NOTFOUND"}}

rng = random.Random(SEED)


def chaos(c):
    c.ok("SIM", "SET", "payment", "decline=0.2", "error=0.15", "latency=%dms" % rng.randint(0, 20))
    c.ok("SIM", "SET", "inventory", "error=0.1")
    c.ok("SIM", "SET", "customer", "error=0.05")
    c.ok("SIM", "SET", "shipping", "error=0.1", "transit=%dms" % rng.randint(0, 60))
    # Retries fast, so that failures settle within the test.
    for step in ("customer.validate", "inventory.reserve", "payment.authorize",
                 "shipping.dispatch", "shipping.deliver", "payment.refund", "inventory.release"):
        c.ok("POLICY", step, "base=5", "cap=50", "attempts=8", "timeout=2000")


def act(c, ids):
    """One random request; its reply must be an answer or an allowed error."""
    roll = rng.random()
    if roll < 0.45 or not ids:
        args = ["CREATE", "customer=%s" % rng.choice(["ann", "bob", "eve"]),
                "item=" + rng.choice(SKUS), "qty=%d" % rng.randint(1, 6), "amount=9.99"]
    elif roll < 0.6:
        args = ["CANCEL", str(rng.choice(ids)), "reason=changed my mind"]
    elif roll < 0.85:
        args = ["UPDATE", str(rng.choice(ids)), "status=" + rng.choice(STATUSES)]
    else:
        args = ["SAGA", "ABORT", str(rng.choice(ids)), "reason=chaos"]
    got = c.call(*args)
    if is_error(got):
        code = got[1].split(b" ", 1)[0]
        check("%s: an allowed refusal" % " ".join(args), code in ALLOWED[args[0]], repr(got))
        if args[0] == "UPDATE" and args[2] != "status=CANCELLED":
            return
    elif args[0] == "CREATE":
        ids.append(rec(got)["id"])
    elif args[0] == "UPDATE":
        # Accepted: only a CANCELLED (a cancel) while a saga ran, or a move
        # on an order whose saga had ended — which the lifecycle refuses.
        check("UPDATE %s accepted only as a cancel" % args[1], args[2] == "status=CANCELLED",
              repr(got))


def settle(c):
    """Failures off; dead letters replayed until every saga has ended."""
    for p in ("payment", "inventory", "customer", "shipping"):
        c.ok("SIM", "SET", p, "error=0")
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        running = recs(c.ok("SAGAS"))
        if not running:
            return
        if time.monotonic() > deadline:
            raise TestFailure("sagas still running after %d s: %r" % (SETTLE_TIMEOUT, running[:5]))
        c.call("DLQ", "REPLAY", "ALL")
        time.sleep(0.05)


def check_invariants(c, ids):
    """The invariants as the fault drills check them (drills.py)."""
    orders = [c.get(oid) for oid in ids]
    want = saga_invariants(orders, {oid: c.saga(oid) for oid in ids},
                           {sku: STOCK for sku in SKUS})
    for sku in SKUS:
        expect("stock of %s" % sku, c.call("STOCK", sku), want[sku])


data = tempfile.mkdtemp(prefix="orderd-invariants-")
ids = []
try:
    for life in ("sigterm", "kill9", "last"):
        srv = start(data, saga=True)
        c = Conn(srv)
        if life == "sigterm":
            for sku in SKUS:
                c.ok("STOCK", "SET", sku, str(STOCK))
            c.ok("CUSTOMER", "BLOCK", "eve")
        chaos(c)  # policies and fault rates are not kept across a restart
        for _ in range(ACTIONS):
            act(c, ids)
        if life == "sigterm":
            stop(srv)
        elif life == "kill9":
            kill9(srv)
        else:
            settle(c)
            check_invariants(c, ids)
            stop(srv)
    # And once more from the journal alone: the same state.
    srv = start(data, saga=True)
    check_invariants(Conn(srv), ids)
    stop(srv)
finally:
    reap()
    shutil.rmtree(data, ignore_errors=True)
print("ok: %d orders (seed %d) agree with their sagas, stock and charges" % (len(ids), SEED))
