#!/usr/bin/python3
# stores: journal postgres
"""A group outlives its consumers: after 10,000 consumer names have come
and gone (their connection closed), a new consumer is still handed the
message that is waiting — not a silent empty list. (A bound on consumers
per group would have a documented -LIMIT error; none is documented.)"""
from chanlib import Client, expect_ok, groups, is_error, records
from harness import Orderd, TestFailure, expect, resp_command, wait_for

DEPARTED = 10000

with Orderd() as srv:
    admin = Client(srv)
    expect_ok("declare", admin.call("CHANNEL", "CREATE", "jobs"))

    # Workers that named themselves per process, each came once and left.
    old = Client(srv)
    old.send_raw(b"".join(resp_command("CONSUME", "jobs", "group=g", "consumer=w-%d" % i)
                          for i in range(DEPARTED)))
    for i in range(DEPARTED):
        expect("nothing yet for w-%d" % i, old.read(), [])
    old.close()

    wait_for("the old workers gone", lambda: groups(admin, "jobs")["g"]["consumers"] == 0)

    expect("publish", admin.call("PUBLISH", "jobs", "work"), 0)
    fresh = Client(srv)
    got = fresh.call("CONSUME", "jobs", "group=g", "consumer=fresh")
    if is_error(got, "LIMIT"):
        pass  # the other fair answer: a bound refused out loud, not silently
    elif got == []:
        raise TestFailure("a new consumer got nothing while message 1 waits: %r"
                          % groups(admin, "jobs")["g"])
    else:
        expect("the new consumer gets it", [(m["id"], m["payload"]) for m in records(got)],
               [(1, b"work")])
