#!/usr/bin/python3
# stores: journal postgres
"""--max-channels caps the durable channels there are: past it, CHANNEL
CREATE of a new one is refused with -LIMIT too many channels (max N) and
nothing is made, while declaring one that exists again is fine. The
channels orderd makes itself are made whatever the cap: a dead letter's
<name>.DLT, and the saga's step channels at start (which count)."""
from chanlib import Client, expect_error, expect_ok, records
from harness import Orderd, expect, wait_for
from sagalib import Conn, STEPS

with Orderd("--max-channels", 3, "--saga", "off") as srv:
    c = Client(srv)
    expect_ok("a", c.call("CHANNEL", "CREATE", "a", "maxdeliver=1"))
    expect_ok("b", c.call("CHANNEL", "CREATE", "b"))
    expect_ok("c", c.call("CHANNEL", "CREATE", "c"))
    expect_error("d is one too many", c.call("CHANNEL", "CREATE", "d"), "LIMIT",
                 "too many channels (max 3)")
    expect_error("nothing made", c.call("CHANNEL", "INFO", "d"), "NOTFOUND")
    expect("PUBLISH to d stays live-only (makes no channel)", c.call("PUBLISH", "d", "x"), 0)
    expect_error("so does CONSUME", c.call("CONSUME", "d", "group=g", "consumer=w"),
                 "NOTFOUND")
    expect_ok("declaring a again is not making one",
              c.call("CHANNEL", "CREATE", "a", "maxdeliver=1"))
    expect("INFO limit_hits", srv.info()["limit_hits"], "1")

    # A dead letter of a goes to a.DLT, made although the cap is reached.
    expect("publish", c.call("PUBLISH", "a", "poison"), 0)
    expect("taken", len(c.call("CONSUME", "a", "group=g", "consumer=w")), 1)
    expect("nacked", c.call("NACK", "a", "group=g", "1"), 1)
    wait_for("a.DLT holds the dead letter",
             lambda: c.call("CHANNEL", "INFO", "a.DLT")[:2] == [b"channel", b"a.DLT"])
    expect("its message", [m["payload"] for m in records(c.call("READ", "a.DLT"))],
           [b"poison"])
    expect_error("still no room for d", c.call("CHANNEL", "CREATE", "d"), "LIMIT",
                 "too many channels (max 3)")

# With sagas, orderd's step channels are made at start even past the cap,
# and orders go through them; clients cannot add one.
with Orderd("--max-channels", 1) as srv:
    c = Conn(srv)
    for step in STEPS:
        expect("%s made" % step, c.call("CHANNEL", "INFO", step)[:2],
               [b"channel", step.encode()])
    expect_error("no room for a client's channel", c.call("CHANNEL", "CREATE", "mine"),
                 "LIMIT", "too many channels (max 1)")
    oid = c.create()
    wait_for("order %d delivered" % oid, lambda: c.track(oid)["status"] == "DELIVERED")
