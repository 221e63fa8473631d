#!/usr/bin/python3
# stores: journal postgres
"""A message not ACKed within ackwait (300 ms) is redelivered: a blocking
CONSUME (block=5000) of another consumer is answered with it, deliveries=2,
with no polling by anyone. The first consumer's late ACK still settles it."""
from chanlib import Client, expect_ok, groups, records
from harness import Orderd, expect

with Orderd() as srv:
    admin = Client(srv)
    expect_ok("declare", admin.call("CHANNEL", "CREATE", "jobs", "ackwait=300"))
    expect("publish", admin.call("PUBLISH", "jobs", "slow job"), 0)

    a = Client(srv)
    got = records(a.call("CONSUME", "jobs", "group=g", "consumer=a"))
    expect("a takes it", [(m["id"], m["deliveries"], m["payload"]) for m in got],
           [(1, 1, b"slow job")])

    # a keeps its connection open and does not ACK.
    b = Client(srv)
    got = records(b.call("CONSUME", "jobs", "group=g", "consumer=b", "block=5000"))
    expect("b gets it after the ack wait", [(m["id"], m["deliveries"], m["payload"]) for m in got],
           [(1, 2, b"slow job")])
    p = records(admin.call("PENDING", "jobs", "group=g"))
    expect("in flight with b", [(m["id"], m["consumer"], m["deliveries"], m["state"]) for m in p],
           [(1, b"b", 2, b"inflight")])

    expect("a's late ACK settles it", a.call("ACK", "jobs", "group=g", "1"), 1)
    expect("b's ACK finds nothing", b.call("ACK", "jobs", "group=g", "1"), 0)
    g = groups(admin, "jobs")["g"]
    expect("settled", (g["pending"], g["lag"], g["committed"]), (0, 0, 1))
