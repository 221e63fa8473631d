#!/usr/bin/python3
# stores: journal postgres
"""A message published, taken by a group created in the same loop turn and
acknowledged, all in one pipelined write, is not handed out again after a
restart: the journal records its whole story, since the group came after
it (a message settled by every group in its turn is recorded once, as
settled, but recovery would settle it before that group exists)."""
import os
import sys
import shutil
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect  # noqa: E402
from durability import Session, reap, start, stop  # noqa: E402

data = tempfile.mkdtemp(prefix="orderd-group-turn-")
try:
    srv = start(data)
    s = Session(srv)
    expect("CHANNEL CREATE", s.call("CHANNEL CREATE jobs ackwait=600000"), b"+OK\r\n")
    s.call("PUBLISH jobs first")
    # One write: the message, the group's first CONSUME (creating it,
    # starting at the oldest message), and the ACK of both.
    got = s.pipeline(["PUBLISH jobs hello",
                      "CONSUME jobs group=g consumer=c count=2",
                      "ACK jobs group=g 1 2"], batch=3)
    check("CONSUME handed out both", isinstance(got[1], list) and len(got[1]) == 3, repr(got))
    expect("ACK settled both", got[2], b":2\r\n")
    before = s.call("GROUPS jobs")
    check("the group is past both", b"committed=2 next=3" in before[1], repr(before))
    expect("nothing left for the group", s.call("CONSUME jobs group=g consumer=c count=5"),
           [b"*0\r\n"])
    stop(srv)

    srv = start(data)
    s = Session(srv)
    expect("nothing handed out again after the restart",
           s.call("CONSUME jobs group=g consumer=c count=5"), [b"*0\r\n"])
    expect("GROUPS as before the restart", s.call("GROUPS jobs"), before)
    stop(srv)
    print("ok")
except TestFailure as e:
    print("FAIL:", e)
    sys.exit(1)
finally:
    reap()
    shutil.rmtree(data, ignore_errors=True)
