#!/usr/bin/python3
# stores: journal postgres
"""A worker (a client that has run CONSUME) pipelines blocked CONSUMEs and
stops reading while messages keep coming: its unread replies pass
--worker-hard-limit (1 MiB here) and it is cut off, logged
event=client_cut_off kind=worker and counted in INFO. What it was handed
and never acknowledged goes back to its group at once, as when any
consumer disconnects, and another consumer gets those messages again
(deliveries=2) along with the rest. A worker that reads is not cut."""
from chanlib import Client, expect_ok, records
from harness import Orderd, TestFailure, check, expect, wait_for

HARD = 1 << 20
PAYLOAD = b"p" * (16 << 10)
LIMITS = ("--worker-hard-limit", HARD, "--worker-soft-limit", HARD // 4,
          "--worker-soft-seconds", 60, "--max-reply-payload", 256 << 10)
PIPELINED = 500   # CONSUMEs the stuck worker sends, each for up to 10 messages
MAX_PUBLISHED = 1000  # PENDING lists up to 1000


def pending(admin):
    return {m["id"]: (m["consumer"], m["deliveries"], m["state"])
            for m in records(admin.call("PENDING", "jobs", "group=g", "limit=1000"))}


with Orderd(*LIMITS) as srv:
    admin = Client(srv)
    expect_ok("declare", admin.call("CHANNEL", "CREATE", "jobs", "ackwait=600000"))

    # A reading worker first: served, under its limits, not cut.
    reader = Client(srv)
    expect("a reading worker's CONSUME", reader.call(
        "CONSUME", "jobs", "group=g", "consumer=reader", "count=10"), [])

    # The stuck worker: a small receive buffer it never reads, and a pipeline
    # of CONSUMEs that wait for messages.
    stuck = Client(srv, rcvbuf=1 << 16)
    stuck.send_raw(b"".join(
        b"CONSUME jobs group=g consumer=stuck count=10 block=60000\r\n"
        for _ in range(PIPELINED)))
    wait_for("the stuck worker waiting", lambda: any(
        r["waiting"] == 1 for r in records(admin.call("GROUPS", "jobs"))))

    published = 0
    while srv.info()["clients_cut_off_worker"] == "0":
        if published >= MAX_PUBLISHED:
            raise TestFailure("not cut off after %d messages of %d bytes"
                              % (published, len(PAYLOAD)))
        for _ in range(10):
            published += 1
            expect("publish %d" % published, admin.call("PUBLISH", "jobs", PAYLOAD), 0)

    info = srv.info()
    expect("INFO clients_cut_off", info["clients_cut_off"], "1")
    expect("INFO clients_cut_off_pubsub", info["clients_cut_off_pubsub"], "0")
    check("the stuck worker's connection closed", stuck.reader.closed())
    cut = [l for l in srv.log().splitlines() if "event=client_cut_off" in l]
    expect("one cut-off logged", len(cut), 1)
    check("as a worker over its hard limit",
          'kind=worker reason="worker output over the hard limit"' in cut[0], cut[0])

    # What it held is ready again for the group, not waiting out ackwait.
    held = wait_for("the stuck worker's messages back in the group", lambda: (
        lambda p: p if p and all(v[0] == b"stuck" and v[2] == b"ready"
                                 for v in p.values()) else None)(pending(admin)))
    check("it had been handed messages", len(held) >= 10, "%d" % len(held))

    # The reading worker takes everything: what the stuck one held, again.
    got = {}
    while len(got) < published:
        batch = records(reader.call("CONSUME", "jobs", "group=g", "consumer=reader",
                                    "count=10"))
        check("the reader is served until it has every message", batch,
              "got %d of %d" % (len(got), published))
        for m in batch:
            expect("payload of %d" % m["id"], m["payload"], PAYLOAD)
            got[m["id"]] = m["deliveries"]
        expect("ack", reader.call("ACK", "jobs", "group=g", *[str(m["id"]) for m in batch]),
               len(batch))
    expect("every message, once", sorted(got), list(range(1, published + 1)))
    expect("those the stuck worker held come a second time",
           sorted(i for i, d in got.items() if d == 2), sorted(held))
    check("the rest a first", all(d == 1 for i, d in got.items() if i not in held))
    expect("nothing pending", pending(admin), {})
    expect("the reader was not cut", srv.info()["clients_cut_off"], "1")
