#!/usr/bin/python3
"""A client that writes its whole pipeline before reading a reply, as
redis-py's pipeline does, is served: 100,000 CREATEs in one redis-py
pipeline all succeed with the default --max-output (64 MiB). Before, a
1 MiB limit paused the client while it was still writing, and both waited
for ever (39,462 of them made it, after 60 s).

A writer whose replies outgrow even that, and who keeps writing without
ever reading, is not left hanging in silence: it is closed within
--max-output-pause seconds of being paused, the log says why, and other
clients are served meanwhile. (Here with a 2 MiB limit and a 2 s pause, so
that the case runs in seconds; the default is the same rule at 64 MiB
and 30 s.)"""
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Orderd, check, expect, resp_command  # noqa: E402

N = 100000

with Orderd("--store", "memory", "--saga", "off") as srv:
    r = srv.redis()
    pipe = r.pipeline(transaction=False)
    for i in range(N):
        pipe.execute_command("CREATE", "customer=c%d" % i, "item=book", "qty=1", "amount=1.00")
    t0 = time.monotonic()
    got = pipe.execute()
    check("every CREATE of the pipeline answered", len(got) == N, "%d" % len(got))
    expect("the last one", got[-1][:2], ["id", N])
    expect("all of them made", int(srv.info()["orders"]), N)
    print("ok: %d CREATEs in one redis-py pipeline, %.1f s" % (N, time.monotonic() - t0))

PAUSE = 2
with Orderd("--store", "memory", "--saga", "off", "--max-output", str(2 << 20),
            "--max-output-pause", str(PAUSE)) as srv:
    s = socket.create_connection(("127.0.0.1", srv.port))
    chunk = resp_command("CREATE", "customer=w", "item=book", "qty=1", "amount=1.00") * 1000
    stop = threading.Event()
    sent = [0]

    def write():
        try:
            while not stop.is_set() and sent[0] < 1000000:
                s.sendall(chunk)
                sent[0] += 1000
        except OSError:
            pass
    t = threading.Thread(target=write, daemon=True)
    t0 = time.monotonic()
    t.start()
    # Closed within the pause (and the time to fill the limit): a bound on
    # waiting, generous for a shared machine and ASan.
    deadline = t0 + PAUSE + 30
    while "event=client_cut_off" not in srv.log():
        check("closed within %d s of pausing" % PAUSE, time.monotonic() < deadline,
              "log:\n" + srv.log())
        expect("others are served meanwhile", srv.redis().execute_command("PING"), "PONG")
        time.sleep(0.1)
    stop.set()
    t.join(timeout=30)
    line = [ln for ln in srv.log().splitlines() if "event=client_cut_off" in ln][0]
    check("the log says why", re.search(r'reason="reply output over --max-output for '
                                        r'--max-output-pause seconds while it kept sending"',
                                        line), line)
    check("it was cut off, not served to the end", sent[0] < 1000000)
    s.close()
print("ok: a writer that never reads is closed and logged")
