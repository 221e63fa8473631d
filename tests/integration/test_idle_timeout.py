#!/usr/bin/python3
"""--timeout 1: a client that sends nothing for a second is closed (not
before), logged event=client_idle_closed and counted in INFO's
clients_timed_out. A client that keeps sending stays; so do a subscriber
and a client blocked in CONSUME, however long they are silent, as Redis
exempts them. Once its CONSUME is answered, the worker is an ordinary
client again, and idle."""
import socket
import time

from chanlib import Client, expect_ok, push, records
from harness import Orderd, TestFailure, check, expect, wait_for

TIMEOUT_S = 1


def gone(sock):
    """Whether orderd has closed this connection, looked at without waiting
    (a socket with a timeout would wait for it)."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        data = sock.recv(1 << 16)
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.settimeout(timeout)
    if data:
        raise TestFailure("unexpected bytes from orderd: %r" % data[:80])
    return True


with Orderd("--timeout", TIMEOUT_S, "--store", "memory") as srv:
    admin = Client(srv)
    expect_ok("declare jobs", admin.call("CHANNEL", "CREATE", "jobs"))

    # Exempt: a subscriber, and a worker blocked in CONSUME without a deadline.
    sub = Client(srv)
    expect("subscribe", sub.call("SUBSCRIBE", "news"), [b"subscribe", b"news", 1])
    worker = Client(srv)
    worker.send("CONSUME", "jobs", "group=g", "consumer=w", "block=0")
    wait_for("the worker blocked", lambda: any(
        r["consumers"] == 1 for r in records(admin.call("GROUPS", "jobs"))))

    active = Client(srv)

    def keep_active():
        """The active client, and admin, speak at every poll."""
        expect("the active client is answered", active.call("PING"), (b"+", b"PONG"))
        expect("admin is answered", admin.call("PING"), (b"+", b"PONG"))

    # Two idle clients, one after the other: each is closed a timeout after
    # it last spoke, never before; meanwhile the others have been silent
    # for over two timeouts.
    for n in (1, 2):
        idle = Client(srv)
        expect("idle client %d's PING" % n, idle.call("PING"), (b"+", b"PONG"))
        last = time.monotonic()
        wait_for("idle client %d closed" % n,
                 lambda: keep_active() or gone(idle.sock), timeout=10 * TIMEOUT_S)
        idle_for = time.monotonic() - last
        check("idle client %d closed after its timeout, not before" % n,
              idle_for >= TIMEOUT_S * 0.9, "closed after %.3f s" % idle_for)
        expect("INFO clients_timed_out", srv.info()["clients_timed_out"], str(n))

    # The active client, the subscriber and the blocked worker are all there.
    expect("publish to the subscriber", admin.call("PUBLISH", "news", "hello"), 1)
    expect("the subscriber gets it", push(sub.read(), "message"), [b"news", b"hello"])
    expect("publish a job", admin.call("PUBLISH", "jobs", "job1"), 0)
    got = records(worker.read())
    expect("the blocked worker is served", [m["payload"] for m in got], [b"job1"])
    keep_active()

    # Served, the worker is no longer blocked: silent, it is closed in turn.
    served = time.monotonic()
    wait_for("the served worker closed", lambda: keep_active() or gone(worker.sock),
             timeout=10 * TIMEOUT_S)
    check("the worker closed a timeout after its answer",
          time.monotonic() - served >= TIMEOUT_S * 0.9)
    expect("INFO clients_timed_out", srv.info()["clients_timed_out"], "3")
    # Its message went back to its group, as for any consumer that leaves.
    wait_for("job1 ready again", lambda: [
        (m["id"], m["state"]) for m in records(admin.call("PENDING", "jobs", "group=g"))]
        == [(1, b"ready")])

    check("the subscriber is still there", not gone(sub.sock))
    expect("publish again", admin.call("PUBLISH", "news", "still here?"), 1)
    expect("the subscriber gets it", push(sub.read(), "message"), [b"news", b"still here?"])

    lines = [l for l in srv.log().splitlines() if "event=client_idle_closed" in l]
    check("idle closes are logged", 1 <= len(lines) <= 3, "\n".join(lines))
    check("the log says the timeout", "timeout=1" in lines[0], lines[0])

# Without --timeout, nobody is closed for being idle (the default, as Redis).
with Orderd("--store", "memory") as srv:
    quiet = Client(srv)
    expect("PING", quiet.call("PING"), (b"+", b"PONG"))
    expect("--timeout defaults to never", srv.info()["clients_timed_out"], "0")
