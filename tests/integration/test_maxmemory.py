#!/usr/bin/python3
"""--maxmemory a little above orderd's resident size at start: orders with
long fields are created until one is refused with -OOM (the size is
sampled every 100 ms, so a few more may pass first). From then on every
request that would change state is refused before it changes anything
(no order is created by a refused CREATE), while reads, PING and INFO
answer; the saga engine and the simulated participants go on finishing
the orders already made. INFO shows used_memory_rss, maxmemory and
oom_refused."""
import re

from harness import Orderd, READ_TIMEOUT, check, expect, wait_for

MB = 1 << 20
HEADROOM = 24 * MB
BATCH = 200
FIELD = 240  # bytes, with a number after: customer, item and key are at most 256
OOM = re.compile(r"^OOM command not allowed when used memory \((\d+) bytes\) is over "
                 r"--maxmemory \((\d+) bytes\)$")

# The resident size of an orderd that has just started, as the limit's base.
with Orderd() as probe:
    started_at = int(probe.info()["used_memory_rss"])
limit = started_at + HEADROOM

with Orderd("--maxmemory", limit) as srv:
    r = srv.redis()
    info = srv.info()
    expect("INFO maxmemory", info["maxmemory"], str(limit))
    expect("INFO oom_refused", info["oom_refused"], "0")
    check("under the limit at start", int(info["used_memory_rss"]) < limit,
          "used_memory_rss=%s limit=%d" % (info["used_memory_rss"], limit))

    created, refusal, n = 0, None, 0
    while refusal is None:
        check("-OOM within 400000 orders", n < 400000, "created %d" % created)
        pipe = r.pipeline(transaction=False)
        for _ in range(BATCH):
            n += 1
            pipe.execute_command("CREATE", "customer=%s%08d" % ("c" * FIELD, n),
                                 "item=%s" % ("i" * FIELD), "qty=1", "amount=1.00",
                                 "key=%s%08d" % ("k" * FIELD, n))
        for got in pipe.execute(raise_on_error=False):
            if isinstance(got, Exception):
                m = OOM.match(str(got))
                check("refused with -OOM only", m is not None, str(got))
                refusal = refusal or m
            else:
                created += 1
    used, shown_limit = int(refusal.group(1)), int(refusal.group(2))
    expect("the refusal names the limit", shown_limit, limit)
    check("and a size over it", used > limit, "used %d, limit %d" % (used, limit))

    # Nothing a refused CREATE did stands: the orders are the accepted ones.
    expect("orders created", int(srv.info()["orders"]), created)

    # Reads and PING answer; a change is refused, and changes nothing.
    first = r.execute_command("GET", "1")
    expect("GET of an existing order", first[:2], ["id", 1])
    expect("PING", r.execute_command("PING"), "PONG")
    try:
        r.execute_command("CREATE", "customer=late", "item=book", "qty=1", "amount=1")
        check("CREATE over the limit is refused", False)
    except Exception as e:  # redis.ResponseError
        check("CREATE gets -OOM", OOM.match(str(e)) is not None, str(e))
    try:
        r.execute_command("CHANNEL", "CREATE", "more")
        check("CHANNEL CREATE over the limit is refused", False)
    except Exception as e:
        check("CHANNEL CREATE gets -OOM", OOM.match(str(e)) is not None, str(e))
    info = srv.info()
    expect("still no more orders", int(info["orders"]), created)
    check("INFO oom_refused counts the refusals", int(info["oom_refused"]) >= 3,
          info["oom_refused"])
    check("INFO used_memory_rss over the limit", int(info["used_memory_rss"]) > limit,
          info["used_memory_rss"])
    check("errors_OOM counted", int(info["errors_OOM"]) >= 3, info["errors_OOM"])

    # The sagas of the orders made go on to the end: the engine and the
    # participants are not refused.
    wait_for("order 1 delivered over the limit", lambda: dict(
        zip(*[iter(r.execute_command("TRACK", "1"))] * 2))["status"] == "DELIVERED",
        timeout=READ_TIMEOUT)
    r.close()
