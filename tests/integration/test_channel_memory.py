#!/usr/bin/python3
"""Durable channels and their readers cannot take memory without bound:

- a channel keeps at most maxbytes of payload (64 MiB by default): 300
  messages of 1 MB all go in, and the oldest go out to stay under it;
- a message on a durable channel is at most --max-message bytes, and no
  larger than its channel's maxbytes: -LIMIT otherwise, and nothing kept;
- one READ (or CONSUME) reply carries at most about --max-reply-payload
  bytes of payload: READ count=1000 of 1 MB messages answers a few, and the
  reader goes on from the last id + 1;
- five clients pipelining such READs without reading their replies are
  paused, memory stays bounded, and PING answers meanwhile."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chanlib import Client, expect_error, expect_ok, records  # noqa: E402
from harness import Orderd, check, expect, resp_command  # noqa: E402

MB = 1000 * 1000
MIB = 1024 * 1024
asan = os.environ.get("ASAN_OPTIONS", "")
with Orderd("--store", "memory", "--saga", "off", "--max-output", str(8 * MIB),
            "--max-bulk", str(4 * MIB), "--max-request", str(16 * MIB),
            "--max-message", str(2 * MIB),
            env={"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=8"}) as srv:
    c = Client(srv)
    expect_ok("CHANNEL CREATE big", c.call("CHANNEL", "CREATE", "big"))
    big = b"x" * MB
    for i in range(300):
        expect("PUBLISH %d" % i, c.call("PUBLISH", "big", big), 0)
    info = dict(zip(*[iter(c.call("CHANNEL", "INFO", "big"))] * 2))
    check("the channel stays under maxbytes", info[b"bytes"] <= 64 * MIB, repr(info))
    expect("it keeps the newest", (info[b"last"], info[b"length"], info[b"maxbytes"]),
           (300, 64 * MIB // MB, 64 * MIB))

    expect_error("a message over --max-message", c.call("PUBLISH", "big", b"y" * (2 * MIB + 1)),
                 "LIMIT", "message of %d bytes is over --max-message (%d)" % (2 * MIB + 1, 2 * MIB))
    expect_ok("CHANNEL CREATE small", c.call("CHANNEL", "CREATE", "small", "maxbytes=2048"))
    expect_error("a message over the channel's maxbytes",
                 c.call("PUBLISH", "small", b"z" * 3000), "LIMIT",
                 "message of 3000 bytes is over channel small's maxbytes (2048)")
    expect("nothing kept", dict(zip(*[iter(c.call("CHANNEL", "INFO", "small"))] * 2))[b"length"],
           0)

    msgs = records(c.call("READ", "big", "count=1000"))
    check("READ count=1000 of 1 MB messages answers a few", 1 <= len(msgs) <= 6,
          "%d messages" % len(msgs))
    nxt = records(c.call("READ", "big", "from=%d" % (msgs[-1]["id"] + 1), "count=1000"))
    expect("and goes on from the last id + 1", nxt[0]["id"], msgs[-1]["id"] + 1)

    before = int(srv.info()["used_memory_rss"])
    hogs = []
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(resp_command("READ", "big", "count=1000") * 100)
        hogs.append(s)
    deadline = time.monotonic() + 3
    peak = before
    while time.monotonic() < deadline:
        peak = max(peak, int(srv.info()["used_memory_rss"]))
        expect("PING while five readers hog", c.call("PING"), (b"+", b"PONG"))
        time.sleep(0.2)
    # Each paused at --max-output (8 MiB) plus one reply (about 5 MB).
    check("memory stays bounded", peak - before < 5 * 16 * MIB,
          "RSS grew from %d to %d" % (before, peak))
    for s in hogs:
        s.close()
print("ok")
