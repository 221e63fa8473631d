#!/usr/bin/python3
# stores: journal postgres
"""The dead letters of durable channel X are appended to X.DLT, "so they
can be read with READ X.DLT", for every valid X. That is why a durable
channel's name is at most 252 bytes: X.DLT must fit the 256-byte limit on
channel names. The longest durable name works end to end, and one byte
longer is refused with the documented error."""
from chanlib import Client, expect_ok, records
from harness import Orderd, expect

with Orderd("--saga", "off") as srv:
    c = Client(srv)
    name = "c" * 252
    expect_ok("declare a 252-byte channel", c.call("CHANNEL", "CREATE", name, "maxdeliver=1"))
    expect("publish", c.call("PUBLISH", name, "dead-252"), 0)
    expect("deliver", len(c.call("CONSUME", name, "group=g", "consumer=w")), 1)
    expect("nack: dead-lettered", c.call("NACK", name, "group=g", "1", "delay=0"), 1)
    expect("READ <252 bytes>.DLT", [m["payload"] for m in records(c.call("READ", name + ".DLT"))],
           [b"dead-252"])
    for n in (253, 256):
        expect("declare a %d-byte durable channel" % n,
               c.call("CHANNEL", "CREATE", "c" * n),
               (b"-", b"BADARG a durable channel's name is at most 252 bytes "
                      b"(its dead letters go to <name>.DLT)"))
    # Live channels keep the full 256 bytes.
    expect("publish to a 256-byte live channel", c.call("PUBLISH", "c" * 256, "x"), 0)
