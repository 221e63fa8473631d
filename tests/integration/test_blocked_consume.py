#!/usr/bin/python3
# stores: journal postgres
"""CONSUME block=<ms> with nothing to hand out waits without polling: it
is answered by the next PUBLISH (long before its deadline), or with an
empty list when the time runs out. The blocked client's later pipelined
requests wait behind it and are answered in order. A client that closes
while blocked leaves nothing behind: the group has no waiter and the next
message goes to a live consumer, first delivery."""
import socket

from chanlib import Client, expect_ok, groups, records, wait_group
from harness import Orderd, check, expect, resp_command


def nothing_to_read(c):
    """True if the server has sent this client nothing (yet)."""
    c.sock.setblocking(False)
    try:
        c.sock.recv(1, socket.MSG_PEEK)
        return False
    except BlockingIOError:
        return True
    finally:
        c.sock.setblocking(True)


def summary(reply):
    return [(m["id"], m["deliveries"], m["payload"]) for m in records(reply)]


with Orderd() as srv:
    admin = Client(srv)
    expect_ok("declare", admin.call("CHANNEL", "CREATE", "jobs"))
    a = Client(srv)

    # Answered by a PUBLISH. The deadline (60 s) is far beyond any wait
    # here: an empty answer would mean the publish did not wake it.
    a.send("CONSUME", "jobs", "group=g", "consumer=a", "block=60000")
    wait_group(admin, "jobs", "g", "a blocked", lambda g: g["waiting"] == 1)
    check("a has no answer yet", nothing_to_read(a))
    expect("publish", admin.call("PUBLISH", "jobs", "wake up"), 0)
    expect("a is answered with the message", summary(a.read()), [(1, 1, b"wake up")])
    expect("a acks", a.call("ACK", "jobs", "group=g", "1"), 1)

    # Nothing comes: an empty list when the time runs out.
    expect("block=200 times out empty", a.call("CONSUME", "jobs", "group=g", "consumer=a",
                                               "block=200"), [])

    # A pipelined PING waits behind the blocked CONSUME.
    a.send_raw(resp_command("CONSUME", "jobs", "group=g", "consumer=a", "block=60000")
               + resp_command("PING"))
    wait_group(admin, "jobs", "g", "a blocked again", lambda g: g["waiting"] == 1)
    check("PING not answered ahead of the CONSUME", nothing_to_read(a))
    expect("publish", admin.call("PUBLISH", "jobs", "second"), 0)
    expect("the CONSUME's answer first", summary(a.read()), [(2, 1, b"second")])
    expect("then the PING's", a.read(), (b"+", b"PONG"))
    expect("a acks", a.call("ACK", "jobs", "group=g", "2"), 1)

    # A client closes while blocked (without a deadline).
    gone = Client(srv)
    gone.send("CONSUME", "jobs", "group=g", "consumer=gone", "block=0")
    wait_group(admin, "jobs", "g", "gone blocked", lambda g: g["waiting"] == 1)
    gone.close()
    wait_group(admin, "jobs", "g", "no waiter left after the close",
               lambda g: g["waiting"] == 0)
    expect("publish", admin.call("PUBLISH", "jobs", "third"), 0)
    expect("a live consumer gets it, first delivery",
           summary(a.call("CONSUME", "jobs", "group=g", "consumer=a", "block=5000")),
           [(3, 1, b"third")])
    expect("a acks", a.call("ACK", "jobs", "group=g", "3"), 1)
    g = groups(admin, "jobs")["g"]
    expect("group at the end", (g["pending"], g["lag"], g["waiting"]), (0, 0, 0))
