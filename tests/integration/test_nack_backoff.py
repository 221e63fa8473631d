#!/usr/bin/python3
# stores: journal postgres
"""NACK without delay= waits the channel's backoff (200 ms, jittered
between half and all of it) before the message is handed out again: right
after the NACK it is delayed and a CONSUME gets nothing; a blocking CONSUME
gets it back when the backoff ends, deliveries=2."""
from chanlib import Client, expect_ok, records
from harness import Orderd, check, expect, resp_command

with Orderd() as srv:
    c = Client(srv)
    expect_ok("declare", c.call("CHANNEL", "CREATE", "jobs", "backoff=200"))
    expect("publish", c.call("PUBLISH", "jobs", "retry me"), 0)
    got = records(c.call("CONSUME", "jobs", "group=g", "consumer=w"))
    expect("first delivery", [(m["id"], m["deliveries"]) for m in got], [(1, 1)])

    # One write: the server reads these three together, so no timer can
    # run between the NACK and the CONSUME, however slow the machine.
    c.send_raw(resp_command("NACK", "jobs", "group=g", "1")
               + resp_command("CONSUME", "jobs", "group=g", "consumer=w")
               + resp_command("PENDING", "jobs", "group=g"))
    expect("nack", c.read(), 1)
    expect("nothing right after the NACK", c.read(), [])
    p = records(c.read())
    expect("delayed", [(m["id"], m["deliveries"], m["state"]) for m in p], [(1, 1, b"delayed")])
    check("a redelivery time is set", p[0]["due"] is not None, repr(p[0]))

    got = records(c.call("CONSUME", "jobs", "group=g", "consumer=w", "block=3000"))
    expect("back after the backoff", [(m["id"], m["deliveries"], m["payload"]) for m in got],
           [(1, 2, b"retry me")])
    expect("ack", c.call("ACK", "jobs", "group=g", "1"), 1)
