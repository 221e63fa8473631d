#!/usr/bin/python3
"""A subscriber that never reads is cut off at the pub/sub output limits
while one million messages are published; memory stays bounded, INFO and
the log record the cut-off once, and a subscriber that keeps reading gets
every message, in order."""
import os

from chanlib import Client
from harness import Orderd, TestFailure, check, expect

N = 1_000_000
WINDOW = 4000          # messages per round: ~150 KB of pushes to each subscriber
RSS_BOUND = 100 << 20  # bytes; the hard limit is 1 MiB
LIMITS = ("--pubsub-hard-limit", "1048576", "--pubsub-soft-limit", "262144",
          "--pubsub-soft-seconds", "1")

# Fixed-size payloads make every request, reply and push the same length.
PUBLISH = b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$7\r\n%07d\r\n"
MESSAGE = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$7\r\n%07d\r\n"
REPLY_LEN = len(b":2\r\n")

# Under ASan, freed memory waits in a quarantine (256 MB by default) that
# would count in the RSS; a small one keeps the RSS the server's own.
ASAN = {"ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                               "quarantine_size_mb=8"]))}

with Orderd(*LIMITS, env=ASAN) as srv:
    # Small next to the 38 MB it is sent, but over two loopback segments
    # (64 KiB): with less, the receive window never reopens by a whole
    # segment, and draining what was sent before the cut-off crawls along
    # on zero-window probes.
    slow = Client(srv, rcvbuf=1 << 18)
    expect("slow subscribes", slow.call("SUBSCRIBE", "ch"), [b"subscribe", b"ch", 1])
    fast = Client(srv)
    expect("fast subscribes", fast.call("SUBSCRIBE", "ch"), [b"subscribe", b"ch", 1])
    pub = Client(srv)

    receivers = bytearray()  # one digit per PUBLISH reply
    max_rss = 0
    for start in range(0, N, WINDOW):
        ids = range(start, min(start + WINDOW, N))
        pub.send_raw(b"".join(PUBLISH % i for i in ids))
        replies = pub.reader.exactly(REPLY_LEN * len(ids))
        digits = replies[1::REPLY_LEN]
        expect("publish replies", replies, b"".join(b":%c\r\n" % d for d in digits))
        receivers += digits
        # The reading subscriber keeps up: it has every message so far.
        want = b"".join(MESSAGE % i for i in ids)
        got = fast.reader.exactly(len(want))
        if got != want:
            raise TestFailure("fast subscriber: messages %d..%d differ" % (ids[0], ids[-1]))
        if start % (N // 10) == 0:
            max_rss = max(max_rss, int(srv.info()["used_memory_rss"]))

    # Every message reached both subscribers until the slow one was cut
    # off, and only the fast one after.
    twos = receivers.count(b"2")
    expect("receivers: 2 until the cut-off, then 1", bytes(receivers),
           b"2" * twos + b"1" * (N - twos))
    check("the slow subscriber was cut off", twos < N, "(all %d publishes reached it)" % N)
    check("the slow subscriber was cut off late enough to have filled its limit",
          twos > 0)

    # The slow subscriber's socket is closed by the server; what it had
    # been sent before is a prefix of the stream.
    check("slow subscriber's connection closed", slow.reader.closed())
    sent = bytes(slow.reader.buf)
    whole = len(sent) // len(MESSAGE % 0) + 1
    check("what the slow subscriber got is the stream's start",
          sent == b"".join(MESSAGE % i for i in range(whole))[:len(sent)],
          "(%d bytes)" % len(sent))
    check("... and no more than was published to it", whole <= twos + 1)

    info = srv.info()
    max_rss = max(max_rss, int(info["used_memory_rss"]))
    expect("INFO clients_cut_off", info["clients_cut_off"], "1")
    check("memory stays bounded", max_rss < RSS_BOUND, "used_memory_rss=%d" % max_rss)
    cut = [l for l in srv.log().splitlines() if "event=client_cut_off" in l]
    expect("one cut-off log line", len(cut), 1)

    # The fast subscriber is still there and alone.
    expect("after the run", pub.call("PUBLISH", "ch", "last"), 1)
    expect("fast gets it", fast.read(), [b"message", b"ch", b"last"])
