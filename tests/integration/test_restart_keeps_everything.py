#!/usr/bin/python3
# stores: journal postgres
"""A restart keeps everything: 100,000 orders in every status (notes,
reasons, idempotency keys, four currencies, customers that need quoting),
two durable channels with groups, acks, NACKs with and without delay, dead
letters, a replay and a purge. Every answer taken before a SIGTERM is given
again after the restart on the same --data; then the same after a kill -9
with --fsync always. Ids continue where they stopped and idempotency keys
still replay."""
import os
import sys
import shutil
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect  # noqa: E402
from durability import (CHANNEL_REQUESTS, Session, compare, fields, kill9,  # noqa: E402
                        live_masked, make_channels, reap, restarted, start, stop)

N = 100000
STATUSES = ["PENDING", "RESERVED", "PAID", "SHIPPED", "DELIVERED", "FAILED", "CANCELLED"]
CURRENCIES = [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3)]


def create_line(i):
    """The CREATE of order i (1-based): every 7th has a key, every 13th a
    customer that text replies must quote."""
    cur, digits = CURRENCIES[i % 4]
    amount = str(i) if digits == 0 else "%d.%0*d" % (i % 5000, digits, i % 10 ** digits)
    customer = '"Zoë O\'Brien %d"' % i if i % 13 == 0 else "c%d" % i
    line = "CREATE customer=%s item=sku-%d qty=%d amount=%s currency=%s" % (
        customer, i % 31, i % 9 + 1, amount, cur)
    if i % 7 == 0:
        line += " key=k-%d" % i
    return line


def moves(i):
    """The requests that take order i to its final status, and that status."""
    u = "UPDATE %d status=" % i
    kind = i % 10
    if kind == 1:
        return [u + "RESERVED"], "RESERVED"
    if kind == 2:
        return [u + "RESERVED", u + "paid"], "PAID"
    if kind == 3:
        return [u + "RESERVED", u + "PAID", u + 'SHIPPED note="tracking 1Z%d"' % i], "SHIPPED"
    if kind == 4:
        return [u + "RESERVED", u + "PAID", u + "SHIPPED", u + "DELIVERED"], "DELIVERED"
    if kind == 5:
        return ['CANCEL %d reason="customer changed mind #%d"' % (i, i)], "CANCELLED"
    if kind == 6:
        return [u + "RESERVED", u + 'FAILED note="card declined ✓ %d"' % i], "FAILED"
    if kind == 7:
        return [u + "RESERVED", u + "PAID", "CANCEL %d" % i], "CANCELLED"
    if kind == 9:
        return [u + "FAILED note=out-of-stock"], "FAILED"
    return [], "PENDING"


def ok_record(name, reply, want_id, want_status):
    f = fields(reply) if isinstance(reply, bytes) else {}
    if f.get("id") != str(want_id) or f.get("status") != want_status:
        raise TestFailure("%s: want id=%s status=%s, got %r" % (name, want_id, want_status, reply))


def make_orders(s):
    lines = [create_line(i) for i in range(1, N + 1)]
    for i, reply in enumerate(s.pipeline(lines), 1):
        ok_record("CREATE %d" % i, reply, i, "PENDING")
    want, updates = {}, []
    for i in range(1, N + 1):
        reqs, final = moves(i)
        want[i] = final
        updates.extend((i, r) for r in reqs)
    replies = s.pipeline([r for _, r in updates])
    for (i, req), reply in zip(updates, replies):
        if not (isinstance(reply, bytes) and reply.startswith(b"id=%d " % i)):
            raise TestFailure("%s: got %r" % (req, reply))
    return want


def sample_ids(last):
    return sorted({1, last} | set(range(97, last + 1, 97)))


def answers(s):
    """Every answer that must survive a restart, by request."""
    out = {}
    last = int(s.info()["orders"])
    reqs = []
    for i in sample_ids(last):
        reqs += ["GET %d" % i, "HISTORY %d" % i]
    reqs += CHANNEL_REQUESTS
    out.update(zip(reqs, s.pipeline(reqs)))
    for st in STATUSES:
        out["LIST status=" + st] = s.list_all("status=" + st)
    info = s.info()
    out["INFO"] = {k: v for k, v in info.items()
                   if k == "orders" or k.startswith("orders_") or k in ("dlq_depth", "dlq_dropped")}
    return out


data = tempfile.mkdtemp(prefix="orderd-restart-")
try:
    # 1. Build everything, take the answers, SIGTERM.
    srv = start(data)
    s = Session(srv)
    want_status = make_orders(s)
    make_channels(s)
    before = answers(s)
    # The server's own counts agree with what the requests did.
    for st in STATUSES:
        expect("orders in " + st, len(before["LIST status=" + st]),
               sum(1 for v in want_status.values() if v == st))
    expect("DLQ after replay and purge", len(before["DLQ LIST"]), 2)
    expect("DLQ SHOW of the replayed entry", before["DLQ SHOW 2"],
           b"-NOTFOUND dead letter 2 does not exist\r\n")
    stop(srv)  # the consumers' connection is still open: in flight to the end

    # 2. Start again with --fsync always: the same answers.
    srv = start(data, "--fsync", "always")
    s = Session(srv)
    info = s.info()
    check("recovered records", int(info["recovered_records"]) > N, repr(info))
    compare("after SIGTERM and restart", restarted(before), live_masked(answers(s)))

    # Ids continue; keys replay (and create nothing); a key with other
    # fields conflicts.
    got = s.call("CREATE customer=late item=sku-1 qty=1 amount=1.00")
    ok_record("the next CREATE", got, N + 1, "PENDING")
    got = fields(s.call(create_line(7)))
    expect("a key still replays", (got["id"], got.get("replayed")), ("7", "1"))
    got = s.call(create_line(7).replace("qty=", "qty=9"))
    expect("a key with other fields", got.split()[0], b"-CONFLICT")
    expect("orders after the replay", s.info()["orders"], str(N + 1))

    # More changes, each acknowledged (so, with always, on disk), then
    # kill -9.
    for line, want in (("UPDATE %d status=RESERVED" % (N + 1), b"id=%d " % (N + 1)),
                       ('CANCEL 10 reason="after the restart"', b"id=10 "),
                       ("PUBLISH jobs after-restart", b":0"),
                       ("CONSUME jobs group=billing consumer=c3 count=2", b"*2"),
                       ("ACK jobs group=billing 13", b":1"),
                       ("ACK audit group=g2 7", b":1"),
                       ("DLQ PURGE 1", b":1")):
        got = s.call(line)
        got = got[0] if isinstance(got, list) else got
        check(line, got.startswith(want), "got %r" % got)
    before = answers(s)
    expect("the new order is sampled", before["GET %d" % (N + 1)].split()[1],
           b"status=RESERVED")
    kill9(srv)

    # 3. After the crash: the same answers again, and ids still continue.
    srv = start(data)
    s = Session(srv)
    compare("after kill -9 and restart", restarted(before), live_masked(answers(s)))
    ok_record("the next CREATE after the crash",
              s.call("CREATE customer=later item=sku-2 qty=2 amount=2.00"), N + 2, "PENDING")
    got = fields(s.call(create_line(N - N % 7)))
    expect("a key replays after the crash", (got["id"], got.get("replayed")),
           (str(N - N % 7), "1"))
    stop(srv)
finally:
    reap()
    shutil.rmtree(data, ignore_errors=True)
print("ok: %d orders, restart after SIGTERM and after kill -9" % N)
