#!/usr/bin/python3
"""Subscriptions cost what they are, not their square. A client holding
100,000 channels and 50,000 patterns unsubscribes from all of them in one
request each, in one pass: every confirmation arrives, counting down, and
a second client's PING meanwhile is answered within a bound far above the
linear cost and far below the old quadratic one (16 s for the channels).
Adding patterns next to 50,000 others stays cheap too. And a client is held
to --max-subscriptions, channels and patterns together:
-LIMIT too many subscriptions (max N), the earlier ones standing."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Orderd, Reader, check, expect, resp_command  # noqa: E402

CHANNELS = 100000
PATTERNS = 50000
BATCH = 1000
# A bound on waiting, not a timing expectation: the linear work takes a
# fraction of a second even under ASan; the quadratic one took 4 s (16 s
# under ASan).
PING_BOUND = 2.0


def subscribe_all(rd, kind, names):
    for i in range(0, len(names), BATCH):
        rd.sock.sendall(resp_command(kind, *names[i:i + BATCH]))
    for i, name in enumerate(names):
        got = rd.resp()
        if got != [kind.lower().encode(), name.encode(), i + 1 + subscribe_all.base]:
            raise AssertionError("%s %s: %r" % (kind, name, got))


def unsubscribe_all(srv, rd, kind, n):
    """Sends the bare UNSUBSCRIBE (PUNSUBSCRIBE) while another client PINGs
    again and again; returns the longest a PING took, from just before the
    request until its last confirmation arrived."""
    other = Reader(srv.connect(), timeout=30)
    done = threading.Event()
    worst = [0.0]

    def pinger():
        while not done.is_set():
            t = time.monotonic()
            other.sock.sendall(b"PING\r\n")
            expect("PING while %s runs" % kind, other.line(), b"+PONG\r\n")
            worst[0] = max(worst[0], time.monotonic() - t)
            time.sleep(0.01)
    t = threading.Thread(target=pinger, daemon=True)
    t.start()
    time.sleep(0.05)  # a PING or two before: the pinger is going
    rd.sock.sendall(resp_command(kind))
    left = []
    for _ in range(n):
        got = rd.resp()
        check("%s confirmation" % kind, got[0] == kind.lower().encode(), repr(got))
        left.append(got[2])
    done.set()
    t.join(timeout=30)
    expect("%s counts down" % kind, left[-1], subscribe_all.base)
    check("%s counts down one at a time" % kind,
          all(a - b == 1 for a, b in zip(left, left[1:])))
    return worst[0]


subscribe_all.base = 0
with Orderd("--store", "memory") as srv:
    rd = Reader(srv.connect(), timeout=60)
    subscribe_all(rd, "SUBSCRIBE", ["ch-%d" % i for i in range(CHANNELS)])
    took = unsubscribe_all(srv, rd, "UNSUBSCRIBE", CHANNELS)
    check("PING during UNSUBSCRIBE of %d channels within %.0f s" % (CHANNELS, PING_BOUND),
          took < PING_BOUND, "took %.1f s" % took)

    subscribe_all(rd, "PSUBSCRIBE", ["p-%d.*" % i for i in range(PATTERNS)])
    subscribe_all.base = PATTERNS
    t0 = time.monotonic()
    subscribe_all(rd, "PSUBSCRIBE", ["q-%d.*" % i for i in range(1000)])
    check("1,000 more patterns next to 50,000", time.monotonic() - t0 < PING_BOUND)
    subscribe_all.base = 0
    took = unsubscribe_all(srv, rd, "PUNSUBSCRIBE", PATTERNS + 1000)
    check("PING during PUNSUBSCRIBE of %d patterns within %.0f s" % (PATTERNS, PING_BOUND),
          took < PING_BOUND, "took %.1f s" % took)
    rd.sock.sendall(resp_command("PING"))
    expect("the client is usable again", rd.resp(), (b"+", b"PONG"))

with Orderd("--store", "memory", "--max-subscriptions", "3") as srv:
    rd = Reader(srv.connect())
    rd.sock.sendall(resp_command("SUBSCRIBE", "a", "b") + resp_command("PSUBSCRIBE", "c*", "d*") +
                    resp_command("SUBSCRIBE", "a"))
    expect("a", rd.resp(), [b"subscribe", b"a", 1])
    expect("b", rd.resp(), [b"subscribe", b"b", 2])
    expect("c*", rd.resp(), [b"psubscribe", b"c*", 3])
    expect("d* is one too many", rd.resp(), (b"-", b"LIMIT too many subscriptions (max 3)"))
    expect("a again is not a new one", rd.resp(), [b"subscribe", b"a", 3])
print("ok")
