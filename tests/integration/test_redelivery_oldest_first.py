#!/usr/bin/python3
# stores: journal postgres
"""Messages due for redelivery are handed out oldest first (docs: CONSUME
answers "first messages due for redelivery (oldest first)"). A batch that
falls due at one moment — its consumer's connection ended, or its ackwait
ran out — comes back in offset order."""
from chanlib import Client, expect_ok, records
from harness import Orderd, TestFailure, expect, wait_for

N = 20


def states(admin, ch):
    return [m["state"] for m in records(admin.call("PENDING", ch, "group=g"))]


def consume_ids(c, ch, consumer):
    got = records(c.call("CONSUME", ch, "group=g", "consumer=" + consumer, "count=%d" % N))
    return [(m["id"], m["deliveries"]) for m in got]


with Orderd() as srv:
    admin = Client(srv)
    ids = list(range(1, N + 1))

    # The connection ends.
    expect_ok("declare lost", admin.call("CHANNEL", "CREATE", "lost", "ackwait=60000"))
    for i in ids:
        admin.call("PUBLISH", "lost", "m%d" % i)
    a = Client(srv)
    expect("a takes all", consume_ids(a, "lost", "a"), [(i, 1) for i in ids])
    a.close()
    wait_for("all ready after a closed", lambda: states(admin, "lost") == [b"ready"] * N)
    # Both cases are checked before failing: they are separate paths.
    failures = []
    try:
        expect("redelivered in offset order after consumer lost",
               consume_ids(admin, "lost", "b"), [(i, 2) for i in ids])
    except TestFailure as e:
        failures.append(str(e))

    # The ack wait runs out for a whole batch at once.
    a = Client(srv)
    expect_ok("declare slow", admin.call("CHANNEL", "CREATE", "slow", "ackwait=300"))
    for i in ids:
        admin.call("PUBLISH", "slow", "m%d" % i)
    expect("a takes all", consume_ids(a, "slow", "a"), [(i, 1) for i in ids])
    wait_for("all ready after the ack wait", lambda: states(admin, "slow") == [b"ready"] * N)
    try:
        expect("redelivered in offset order after ack timeout",
               consume_ids(admin, "slow", "b"), [(i, 2) for i in ids])
    except TestFailure as e:
        failures.append(str(e))
    if failures:
        raise TestFailure("\n".join(failures))
