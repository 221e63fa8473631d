#!/usr/bin/python3
"""Finished orders leave memory and are read back from PostgreSQL as they
were. orderd runs with --cache-orders 50 --cache-ttl 3600, sagas on and
the default simulated participants (which deliver in a fraction of a
second).

- Orders 1..20 (each with an idempotency key) are created and delivered;
  their GET, HISTORY, SAGA and TRACK answers are captured while they are
  in memory.
- 500 more are created (pipelined) and delivered. Then orders_in_memory is
  at most 50 (none is in flight), cache_finished_orders at most 50, and
  cache_evictions at least 470.
- GET, HISTORY, SAGA and TRACK of orders 1..20 (evicted: the 500 after
  them were used since) answer exactly as captured, and cache_misses grows
  by at least 20 meanwhile.
- LIST status=DELIVERED limit=100, paged with after=, returns orders
  1..520 in id order, each DELIVERED, 1..20 as GET answered them.
- CREATE with order 1's key and fields answers order 1 with replayed=1;
  with other fields, -CONFLICT naming order 1. No order is made.
- After a restart (SIGTERM, same node name) recovery loads only live
  orders: orders_in_memory is at most what the first reads (below) loaded
  back; GET, HISTORY, SAGA, TRACK of 1..20 still
  answer as captured, GET of the last order answers, LIST pages through
  all 520 again, and the key of an evicted order still replays it; the
  next CREATE gets id 521.
- Reads of evicted orders sent the moment the restarted orderd accepts
  connections (GET 1, TRACK 2, HISTORY 3, SAGA 4, pipelined on the first
  connection) answer as captured too: the database is up, so a read must
  not be refused (-UNAVAILABLE) for want of orderd's own connection to
  it. Checked last, after everything else."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Reader, TestFailure, check, expect, resp_command, wait_for  # noqa: E402
from chanlib import is_error  # noqa: E402
from sagalib import Conn, rec, recs  # noqa: E402
import pglib  # noqa: E402
from pgnode import (accepting, fresh_database, log_tail, metrics, reap, scaled,  # noqa: E402
                    spawn, start, stop)

NODE = "node-cache"
FLAGS = ("--cache-orders", "50", "--cache-ttl", "3600")
EARLY, MORE = 20, 500
TOTAL = EARLY + MORE
DELIVER_BOUND = scaled(30, 90)
READS = ("GET", "HISTORY", "SAGA", "TRACK")


def first_reads(srv, reqs):
    """Connects as soon as srv accepts, sends reqs pipelined at once, and
    returns their answers by (request, id)."""
    deadline = time.monotonic() + scaled(10, 30)
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
            break
        except OSError:
            if srv.proc.poll() is not None or time.monotonic() > deadline:
                raise TestFailure("orderd did not start; its log:\n" + srv.log())
            time.sleep(0.001)
    try:
        sock.sendall(b"".join(resp_command(req, str(oid)) for req, oid in reqs))
        reader = Reader(sock)
        return {(req, oid): reader.resp() for req, oid in reqs}
    finally:
        sock.close()


def create_args(k):
    return ("CREATE", "customer=cust-%d" % (k % 13), "item=sku-%d" % (k % 5),
            "qty=%d" % (k % 3 + 1), "amount=%d.%02d" % (k % 50 + 1, k % 100), "key=key-%d" % k)


def answers(c, ids):
    return {(req, oid): c.ok(req, str(oid)) for oid in ids for req in READS}


def compare(name, want, got):
    bad = ["%s %d:\n    want %r\n    got  %r" % (k[0], k[1], want[k], got.get(k))
           for k in sorted(want) if want[k] != got.get(k)]
    if bad:
        raise TestFailure("%s: %d of %d answers differ:\n  %s"
                          % (name, len(bad), len(want), "\n  ".join(bad[:6])))


def delivered(srv, n):
    return int(metrics(srv)["orders_delivered"]) >= n


def list_all(c):
    """Every order LIST status=DELIVERED gives, 100 a page."""
    out, after = [], 0
    while True:
        page = recs(c.ok("LIST", "status=DELIVERED", "after=%d" % after, "limit=100"))
        if not page:
            return out
        check("a page holds at most 100", len(page) <= 100, str(len(page)))
        out.extend(page)
        after = int(page[-1]["id"])


def check_list(c, gets):
    got = list_all(c)
    expect("LIST pages through every order, in id order", [int(o["id"]) for o in got],
           list(range(1, TOTAL + 1)))
    check("LIST: all DELIVERED", all(o["status"] == "DELIVERED" for o in got))
    for oid in range(1, EARLY + 1):
        expect("LIST's order %d" % oid, got[oid - 1], gets[oid])


def check_replay(c):
    r = rec(c.ok(*create_args(1)))
    expect("CREATE with order 1's key: order 1", r["id"], 1)
    expect("... replayed", r.get("replayed"), 1)
    r = c.call("CREATE", "customer=other", "item=x", "qty=1", "amount=1.00", "key=key-1")
    check("CREATE with order 1's key and other fields: -CONFLICT naming it",
          is_error(r, "CONFLICT") and b"order 1 " in r[1], repr(r))


pg = pglib.Postgres()
try:
    pg.start()
    db = fresh_database(pg)
    srv = start(pg, db, NODE, *FLAGS)
    c = Conn(srv)
    for k in range(1, EARLY + 1):
        expect("CREATE %d" % k, rec(c.ok(*create_args(k)))["id"], k)
    wait_for("the first %d delivered" % EARLY, lambda: delivered(srv, EARLY),
             timeout=DELIVER_BOUND, step=0.05)
    before = answers(c, range(1, EARLY + 1))
    gets = {oid: rec(before[("GET", oid)]) for oid in range(1, EARLY + 1)}
    m = metrics(srv)
    expect("nothing evicted yet", m["cache_evictions"], "0")

    c.send_raw(b"".join(resp_command(*create_args(k)) for k in range(EARLY + 1, TOTAL + 1)))
    for k in range(EARLY + 1, TOTAL + 1):
        r = c.read()
        if is_error(r):
            raise TestFailure("CREATE %d: %r" % (k, r))
        expect("CREATE %d" % k, rec(r)["id"], k)
    wait_for("all %d delivered" % TOTAL, lambda: delivered(srv, TOTAL), timeout=DELIVER_BOUND,
             step=0.1)
    m = {}

    def bounded():
        m.update(metrics(srv))
        return int(m["orders_in_memory"]) <= 50
    try:
        wait_for("orders_in_memory <= 50", bounded, timeout=scaled(10, 30), step=0.05)
    except TestFailure as e:
        raise TestFailure("%s: %r" % (e, {k: v for k, v in m.items()
                                          if k.startswith(("cache_", "orders"))}))
    check("cache_finished_orders <= 50", int(m["cache_finished_orders"]) <= 50,
          m["cache_finished_orders"])
    check("cache_evictions >= %d" % (TOTAL - 50), int(m["cache_evictions"]) >= TOTAL - 50,
          m["cache_evictions"])
    in_memory, evictions = int(m["orders_in_memory"]), int(m["cache_evictions"])

    misses = int(m["cache_misses"])
    compare("evicted orders read back", before, answers(c, range(1, EARLY + 1)))
    m = metrics(srv)
    check("cache_misses grew by at least %d" % EARLY, int(m["cache_misses"]) - misses >= EARLY,
          "(%s -> %s)" % (misses, m["cache_misses"]))
    check_list(c, gets)
    check_replay(c)
    expect("no order made by the replays", metrics(srv)["orders"], str(TOTAL))
    expect("rows in orders", pg.psql("SELECT count(*), max(id) FROM orders", db),
           [(str(TOTAL), str(TOTAL))])
    c.close()
    stop(srv)

    # Started again, and asked at once, as a client that was waiting for
    # it would: the first reads of evicted orders, as soon as it accepts.
    srv = spawn(pg, db, NODE, *FLAGS)
    first = first_reads(srv, [("GET", 1), ("TRACK", 2), ("HISTORY", 3), ("SAGA", 4)])
    accepting(srv)
    m = metrics(srv)
    expect("after the restart: role", m["role"], "active")
    # Only live orders are loaded (none here): what is in memory is what the
    # first reads loaded back.
    check("after the restart: orders_in_memory (only live orders are loaded)",
          int(m["orders_in_memory"]) <= len(first), repr(m["orders_in_memory"]))
    c = Conn(srv)
    # The rest once an evicted order can be read (the first reads are
    # checked at the end).
    wait_for("GET %d to answer after the restart" % EARLY,
             lambda: not is_error(c.call("GET", str(EARLY))), timeout=scaled(5, 15))
    compare("after the restart", before, answers(c, range(1, EARLY + 1)))
    last = rec(c.ok("GET", str(TOTAL)))
    expect("GET %d after the restart" % TOTAL, (last["id"], last["status"], last["key"]),
           (TOTAL, "DELIVERED", "key-%d" % TOTAL))
    check_list(c, gets)
    check_replay(c)
    expect("the next CREATE's id", rec(c.ok("CREATE", "customer=new", "item=x", "qty=1",
                                            "amount=1.00"))["id"], TOTAL + 1)
    c.close()
    restart_log = log_tail(srv, 12)
    stop(srv)
    # Last, so that everything above is known to hold whatever this says.
    bad = ["%s %d: %r" % (req, oid, got) for (req, oid), got in first.items()
           if got != before[(req, oid)]]
    check("reads sent as soon as the restarted orderd accepts answer as captured", not bad,
          "(%d of %d did not:\n  %s\nits log:\n%s)" % (len(bad), len(first), "\n  ".join(bad),
                                                       restart_log))
finally:
    reap()
    pg.destroy()
print("ok: %d orders, %d in memory after delivery, %d evictions" % (TOTAL, in_memory, evictions))
