#!/usr/bin/python3
# stores: journal postgres
"""A reservation is made once, whoever does it and however often its
message is delivered.

1. No simulated inventory: an external inventory worker takes the
   inventory.reserve message, does the work, and dies before answering —
   once by closing its socket, once by being killed. The message goes to
   the next worker at once with deliveries=2; it sees the work is done
   (workers key their work on (order, step)), answers ok, and the saga
   moves on once: one attempt, one RESERVED, DELIVERED in the end.
2. The simulated inventory, handed a message a worker dropped: the stock
   goes down by the quantity, once.
3. The simulated inventory, handed the same message twice after doing the
   work the first time (its answer came after the step had timed out and
   been dead-lettered, then DLQ REPLAY brought the message back): the
   second delivery reserves nothing more."""
import json
import signal
import subprocess
import sys

from chanlib import expect_error
from harness import Orderd, READ_TIMEOUT, expect, wait_for
from sagalib import Conn, Events, recs

# An inventory worker in its own process: takes one reservation, records
# the work on stdout, and holds the connection, unanswered, until killed.
DOOMED = r"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"CONSUME inventory.reserve group=inventory consumer=doomed block=20000\r\n")
got = b""
while got.count(b"\n") < 2:  # "*1", then the record
    data = s.recv(4096)
    if not data:
        break
    got += data
sys.stdout.write(got.decode())
sys.stdout.flush()
sys.stdin.read()
"""


def reserve_messages(c):
    return [(m["id"], m["deliveries"], m["state"])
            for m in recs(c.ok("PENDING", "inventory.reserve", "group=inventory"))]


def job(m):
    return json.loads(m["payload"])


def take(w, consumer):
    got = recs(w.ok("CONSUME", "inventory.reserve", "group=inventory", "consumer=" + consumer,
                    "block=20000"))
    expect(consumer + " takes one message", len(got), 1)
    return got[0]


def in_own_process(srv):
    """The message the doomed worker took (its id, its job)."""
    doomed = subprocess.Popen([sys.executable, "-c", DOOMED, str(srv.port)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        header = doomed.stdout.readline()
        line = doomed.stdout.readline()
        expect("the doomed worker took one", header, b"*1\r\n")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=READ_TIMEOUT)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
        doomed.stdin.close()
        doomed.stdout.close()
    msg = int(line.split(b" ")[0][len(b"id="):])
    expect("its first delivery", line.split(b" ")[1], b"deliveries=1")
    return msg, json.loads(json.loads(line.split(b"payload=", 1)[1].strip()))


def redelivered_once(c, ev, oid, msg, done):
    """The next worker gets msg (deliveries=2), finds the work done, answers
    ok; the saga moves on once."""
    w = Conn(srv)
    m = take(w, "second")
    expect("order %d: the same message, delivered again" % oid,
           (m["id"], m["deliveries"], job(m)["order"], job(m)["attempt"]), (msg, 2, oid, 1))
    expect("the work was done already", done.get((oid, "inventory.reserve")), 1)
    expect("STEP ok moves the saga", w.call("STEP", "inventory.reserve", "group=inventory",
                                            str(msg), "ok"), 1)
    expect_error("a repeated STEP", w.call("STEP", "inventory.reserve", "group=inventory",
                                           str(msg), "ok"), "NOTFOUND")
    ev.wait_status(oid, "DELIVERED")
    expect("order %d's events" % oid, ev.statuses(oid),
           ["RESERVED", "PAID", "SHIPPED", "DELIVERED"])
    r = c.saga(oid)[1]["inventory.reserve"]
    expect("order %d's reserve step" % oid, (r["state"], r["attempts"], r["message"]),
           ("ok", 1, msg))
    w.close()


# 1. External inventory workers.
with Orderd("--sim", "customer,payment,shipping,notify") as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status")
    done = {}   # the "work": (order, step) -> times done

    # A worker that closes its socket after doing the work.
    oid = c.create(customer="olga", item="desk", qty=2)
    a = Conn(srv)
    m = take(a, "first")
    expect("the first delivery", (job(m)["order"], job(m)["attempt"], m["deliveries"]),
           (oid, 1, 1))
    done[(oid, "inventory.reserve")] = 1
    a.close()
    wait_for("the message back in the group",
             lambda: reserve_messages(c) == [(m["id"], 1, "ready")])
    redelivered_once(c, ev, oid, m["id"], done)

    # A worker process killed after doing the work.
    oid = c.create(customer="pete", item="desk", qty=1)
    msg, j = in_own_process(srv)
    expect("the killed worker's job", (j["order"], j["attempt"]), (oid, 1))
    done[(oid, "inventory.reserve")] = 1
    wait_for("the message back in the group after the kill",
             lambda: reserve_messages(c) == [(msg, 1, "ready")])
    redelivered_once(c, ev, oid, msg, done)

with Orderd() as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status", "dlq")
    c.ok("STOCK", "SET", "desk", "10")

    # 2. A worker takes the message and drops it; the simulated inventory,
    # back on, gets it as a second delivery.
    c.ok("SIM", "SET", "inventory", "enabled=0")
    oid = c.create(customer="quinn", item="desk", qty=3)
    w = Conn(srv)
    m = take(w, "dropper")
    expect("the dropper's job", (job(m)["order"], m["deliveries"]), (oid, 1))
    w.close()
    wait_for("the message back in the group",
             lambda: reserve_messages(c) == [(m["id"], 1, "ready")])
    expect("nothing reserved yet", c.stock("desk"), 10)
    c.ok("SIM", "SET", "inventory", "enabled=1")
    ev.wait_status(oid, "DELIVERED")
    expect("stock down by the quantity, once", c.stock("desk"), 7)
    r = c.saga(oid)[1]["inventory.reserve"]
    expect("reserve step", (r["state"], r["attempts"], r["message"]), ("ok", 1, m["id"]))

    # 3. The simulated inventory answers 300 ms late; the step times out
    # after 50 ms and, with one attempt allowed, is dead-lettered. The late
    # answer reserves (and is refused by the saga).
    c.ok("POLICY", "inventory.reserve", "attempts=1", "timeout=50")
    c.ok("SIM", "SET", "inventory", "latency=300ms")
    oid = c.create(customer="rita", item="desk", qty=2)
    dead = ev.wait("the reservation dead-lettered",
                   lambda ch, e: ch == "dlq" and e["event"] == "dead-lettered")
    expect("dead letter", (dead["channel"], dead["reason"]),
           ("inventory.reserve", "timeout after 1 attempts"))
    wait_for("the late answer's reservation", lambda: c.stock("desk") == 5)
    # The same message again, now answered at once: reserved already.
    c.ok("SIM", "SET", "inventory", "latency=0")
    c.ok("POLICY", "inventory.reserve", "attempts=5", "timeout=5000")
    expect("DLQ REPLAY", c.ok("DLQ", "REPLAY", str(dead["id"])), 1)
    ev.wait_status(oid, "DELIVERED")
    expect("stock down by the quantity, once, after two deliveries", c.stock("desk"), 5)
    r = c.saga(oid)[1]["inventory.reserve"]
    expect("reserve step after the replay", (r["state"], r["attempts"], r["message"]),
           ("ok", 1, dead["offset"]))
    expect("events", ev.statuses(oid), ["RESERVED", "PAID", "SHIPPED", "DELIVERED"])
print("ok")
