#!/usr/bin/python3
"""A clean stop leaves a snapshot: after SIGTERM the journal holds the
live state in snapshot records (an order whole, a saga packed, the
participants' values batched) and nothing of how it got there; the next
start replays it alone and answers everything as
before. A stop with little written since the last snapshot writes none."""
import os
import sys
import shutil
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect, wait_for  # noqa: E402
from durability import Session, compare, records, reap, start, stop  # noqa: E402

N = 3000
REC_PUBLISHED, REC_SAGA_PACKED, REC_ORDER_WHOLE, REC_SIM_BATCH = 54, 55, 56, 57
REC_ORDER_CREATED, REC_ORDER_TRANSITION = 1, 2
STEP_CHANNELS = ["customer.validate", "inventory.reserve", "payment.authorize",
                 "shipping.dispatch", "shipping.deliver", "notification.send"]


def answers(s):
    ids = sorted({1, N} | set(range(37, N + 1, 37)))
    reqs = []
    for i in ids:
        reqs += ["GET %d" % i, "HISTORY %d" % i, "SAGA %d" % i, "TRACK %d" % i]
    reqs += ["READ %s from=%d count=50" % (ch, N - 40) for ch in STEP_CHANNELS]
    reqs += ["STOCK lamp", "SAGAS state=done limit=5"]
    out = dict(zip(reqs, s.pipeline(reqs)))
    info = s.info()
    # State, not counters since start-up (sagas_done counts this process's).
    out["INFO"] = {k: v for k, v in info.items()
                   if k == "orders" or k.startswith("orders_") or
                   k in ("sagas_running", "sagas_attention")}
    return out


def types(path):
    return {t for _, _, t in records(path)}


data = tempfile.mkdtemp(prefix="orderd-stop-snapshot-")
try:
    journal = os.path.join(data, "journal")
    srv = start(data, "--fsync", "always", saga=True)
    s = Session(srv)
    s.call("SIM SET shipping transit=0")
    replies = s.pipeline(["CREATE customer=c%d item=lamp qty=1 amount=9.99" % (i % 50)
                          for i in range(N)])
    check("every CREATE answered", all(r.startswith(b"id=") for r in replies), repr(replies[:3]))
    wait_for("every saga done", lambda: s.info()["sagas_done"] == str(N))
    before = answers(s)
    journalled = len(records(journal))
    check("the sagas were journalled as they ran", REC_PUBLISHED in types(journal),
          repr(types(journal)))
    expect("SIGTERM: exit status", srv.stop(), 0)
    log = srv.log()
    stop(srv)
    check("the stop wrote a snapshot", "event=shutdown_snapshot " in log, log)
    after_stop = types(journal)
    check("the journal is a snapshot now: orders whole, sagas packed, values batched",
          {REC_ORDER_WHOLE, REC_SAGA_PACKED, REC_SIM_BATCH} <= after_stop, repr(after_stop))
    check("and nothing of how it got there",
          not after_stop & {REC_ORDER_CREATED, REC_ORDER_TRANSITION}, repr(after_stop))

    # The next start replays the snapshot alone, and answers as before.
    srv = start(data, saga=True)
    s = Session(srv)
    rec = int(s.info()["recovered_records"])
    # An order, a saga, and the messages the channels keep for READ: every
    # step's (fewer than a channel's 4,096 here) and the last 4,096 of the
    # five notifications each order had.
    kept = (len(STEP_CHANNELS) - 1) * N + 4096
    check("a record per order, saga and message kept, not all that was journalled",
          rec <= 2 * N + kept + 200 and rec < journalled / 2,
          "recovered %d of %d" % (rec, journalled))
    compare("after a clean stop", before, answers(s))

    # Little written since: a stop writes no snapshot, and the journal
    # stays as it is.
    s.call("CREATE customer=late item=lamp qty=1 amount=1.00")
    size = os.path.getsize(journal)
    expect("SIGTERM: exit status", srv.stop(), 0)
    log = srv.log()
    stop(srv)
    check("no snapshot for a few records", "event=shutdown_snapshot" not in log, log)
    check("the journal kept its records", os.path.getsize(journal) >= size)
    srv = start(data, saga=True)
    s = Session(srv)
    expect("the late order is there", s.info()["orders"], str(N + 1))
    stop(srv)
    print("ok")
except TestFailure as e:
    print("FAIL:", e)
    sys.exit(1)
finally:
    reap()
    shutil.rmtree(data, ignore_errors=True)
