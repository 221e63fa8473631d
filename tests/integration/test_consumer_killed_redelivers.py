#!/usr/bin/python3
# stores: journal postgres
"""Messages in flight with a consumer whose connection ends go back to the
group at once — not after ackwait (60 s here, longer than any wait in this
test) — and the next consumer gets the same ids with deliveries=2. Two ways
to end: the client closes its socket, and the client process is killed."""
import signal
import subprocess
import sys

from chanlib import Client, expect_ok, records
from harness import Orderd, READ_TIMEOUT, expect, wait_for

# A consumer in its own process: takes three messages, reports them, and
# holds the connection until it is killed.
DOOMED = r"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"CONSUME jobs group=g consumer=doomed count=3\r\n")
got = b""
while got.count(b"\n") < 4:  # "*3", then three records
    data = s.recv(4096)
    if not data:
        break
    got += data
sys.stdout.write(got.decode())
sys.stdout.flush()
sys.stdin.read()
"""


def pending(admin):
    return [(m["id"], m["consumer"], m["deliveries"], m["state"])
            for m in records(admin.call("PENDING", "jobs", "group=g"))]


def take(c, consumer, want_ids, deliveries):
    got = records(c.call("CONSUME", "jobs", "group=g", "consumer=" + consumer, "count=10"))
    # Sorted: their order is test_redelivery_oldest_first's business.
    expect("%s takes" % consumer, sorted((m["id"], m["deliveries"], m["payload"]) for m in got),
           [(i, deliveries, b"m%d" % i) for i in want_ids])


def publish(admin, ids):
    for i in ids:
        expect("publish m%d" % i, admin.call("PUBLISH", "jobs", "m%d" % i), 0)


with Orderd() as srv:
    admin = Client(srv)
    expect_ok("declare", admin.call("CHANNEL", "CREATE", "jobs", "ackwait=60000"))

    # A closes its socket while it holds 1..3.
    publish(admin, [1, 2, 3])
    a = Client(srv)
    take(a, "a", [1, 2, 3], 1)
    expect("in flight with a", pending(admin),
           [(i, b"a", 1, b"inflight") for i in (1, 2, 3)])
    a.close()
    wait_for("1..3 ready again after a closed",
             lambda: pending(admin) == [(i, b"a", 1, b"ready") for i in (1, 2, 3)])
    b = Client(srv)
    take(b, "b", [1, 2, 3], 2)
    expect("in flight with b", pending(admin), [(i, b"b", 2, b"inflight") for i in (1, 2, 3)])

    # A consumer process holding 4..6 is killed.
    publish(admin, [4, 5, 6])
    doomed = subprocess.Popen([sys.executable, "-c", DOOMED, str(srv.port)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        lines = [doomed.stdout.readline() for _ in range(4)]
        expect("the doomed consumer took 4..6",
               [l.split(b" ")[:2] for l in lines],
               [[b"*3\r\n"]] + [[b"id=%d" % i, b"deliveries=1"] for i in (4, 5, 6)])
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=READ_TIMEOUT)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
        doomed.stdin.close()
        doomed.stdout.close()
    wait_for("4..6 ready again after the kill",
             lambda: pending(admin)[3:] == [(i, b"doomed", 1, b"ready") for i in (4, 5, 6)])
    c = Client(srv)
    take(c, "c", [4, 5, 6], 2)

    expect("b acks", b.call("ACK", "jobs", "group=g", "1", "2", "3"), 3)
    expect("c acks", c.call("ACK", "jobs", "group=g", "4", "5", "6"), 3)
    expect("nothing pending", pending(admin), [])
