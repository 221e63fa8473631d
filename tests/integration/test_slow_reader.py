#!/usr/bin/python3
"""A client that pipelines far more LIST/HELP requests than it reads is
paused, not buffered without end: the server stops taking its requests,
its memory stays bounded, and other clients are served meanwhile. When the
slow client finally reads, every reply arrives, whole and in order."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Orderd, check, expect  # noqa: E402

ORDERS = 100        # LIST's default page holds them all
ROUNDS = 1800       # each: LIST, PING <tag>, and every 10th a HELP
MB = 1024 * 1024
RSS_GROWTH_MAX = 50 * MB


def info(r):
    flat = r.execute_command("METRICS")
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def requests_and_replies(list_reply, help_reply):
    reqs, reps = [], []
    for i in range(ROUNDS):
        reqs.append(b"LIST\r\nPING tag-%d\r\n" % i)
        reps.append(list_reply + b"tag-%d\r\n" % i)
        if i % 10 == 0:
            reqs.append(b"HELP\r\n")
            reps.append(help_reply)
    return b"".join(reqs), b"".join(reps)


def read_reply(sock, request):
    """The text reply to one inline request, on a fresh connection; QUIT
    makes the server close after it, so the reply is everything before +OK."""
    sock.sendall(request + b"QUIT\r\n")
    data = b""
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    check("reply ends with QUIT's", data.endswith(b"+OK\r\n"), repr(data[-50:]))
    return data[:-len(b"+OK\r\n")]


# Under ASan, freed memory waits in a quarantine (256 MB by default) before
# reuse, so RSS would measure the allocator's churn, not what the server
# holds. A small quarantine keeps the measure about the server; the release
# build ignores the variable.
asan = os.environ.get("ASAN_OPTIONS", "")
with Orderd("--saga", "off", "--max-output", "1048576", env={"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=8"}) as srv:
    other = srv.redis()
    # Big records make big LIST replies: ~70 KB each, ~115 MB for all.
    pipe = other.pipeline(transaction=False)
    for i in range(ORDERS):
        pipe.execute_command("CREATE", "customer=%s%03d" % ("c" * 250, i),
                             "item=%s%03d" % ("i" * 250, i), "qty=1", "amount=9.99")
    pipe.execute()
    list_reply = read_reply(srv.connect(), b"LIST\r\n")
    help_reply = read_reply(srv.connect(), b"HELP\r\n")
    check("LIST lists them all", list_reply.startswith(b"*%d\r\n" % ORDERS))
    data, want = requests_and_replies(list_reply, help_reply)
    check("replies far outgrow the memory bound", len(want) > 2 * RSS_GROWTH_MAX,
          "only %d bytes" % len(want))

    base = info(other)
    rss_before = base["used_memory_rss"]
    commands_before = base["total_commands"]

    slow = srv.connect()
    send_errors = []

    def send():
        try:
            slow.sendall(data)
        except OSError as e:
            send_errors.append(e)
    sender = threading.Thread(target=send, daemon=True)
    sender.start()

    # Wait until the server has stopped taking the slow client's requests:
    # its command count stays put across several looks (INFO itself counts
    # one each). A server that buffered without bound would instead run
    # them all.
    total = data.count(b"\n")
    samples, peak_rss, last, steady = 0, 0, None, 0
    deadline = time.monotonic() + 60
    while steady < 5:
        check("the server pauses the slow client in time", time.monotonic() < deadline)
        now = info(other)
        peak_rss = max(peak_rss, now["used_memory_rss"])
        samples += 1
        done = now["total_commands"] - commands_before - samples
        check("the slow client is held back", done < total,
              "all %d requests ran while it read nothing" % total)
        steady = steady + 1 if done == last else 0
        last = done
        time.sleep(0.05)
    check("some of the slow client's requests ran", last > 0)

    # Meanwhile everyone else is served.
    flat = other.execute_command("CREATE", "customer=fast", "item=pen", "qty=1", "amount=1")
    expect("a create while paused", flat[:4], ["id", ORDERS + 1, "status", "PENDING"])
    expect("a get while paused", other.execute_command("GET", str(ORDERS + 1))[5], "fast")
    expect("a ping while paused", other.execute_command("PING", "still here"), "still here")
    peak_rss = max(peak_rss, info(other)["used_memory_rss"])
    check("memory stays bounded while paused", peak_rss - rss_before < RSS_GROWTH_MAX,
          "RSS grew from %d to %d" % (rss_before, peak_rss))

    # Now the slow client reads everything, and it is all there, in order.
    got = bytearray()
    slow.settimeout(30)
    while len(got) < len(want):
        chunk = slow.recv(1 << 20)
        check("the slow client gets every reply", chunk,
              "the server closed after %d of %d bytes" % (len(got), len(want)))
        at = len(got)
        got += chunk
        if got[at:] != want[at:len(got)]:
            i = next(j for j in range(at, len(got)) if got[j] != want[j])
            raise AssertionError("replies differ at byte %d: want %r, got %r"
                                 % (i, want[i:i + 80], bytes(got[i:i + 80])))
    sender.join(timeout=30)
    expect("send errors", send_errors, [])
    slow.sendall(b"QUIT\r\n")
    rest = b""
    while True:
        chunk = slow.recv(1 << 16)
        if not chunk:
            break
        rest += chunk
    expect("nothing more than asked for", rest, b"+OK\r\n")
    other.close()
