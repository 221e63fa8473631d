#!/usr/bin/python3
# stores: journal postgres
"""A clean shutdown is not a consumer failure. A message in flight with a
still-connected consumer when orderd gets SIGTERM comes back deliverable
after the restart, its delivery count as it was, and is not dead-lettered,
even at maxdeliver=1, just as after a crash."""
import signal
import tempfile

from durability import Session, reap, start, stop
from harness import expect

data = tempfile.mkdtemp(prefix="orderd-inflight-")
try:
    srv = start(data)
    s = Session(srv)
    expect("declare", s.call("CHANNEL CREATE j maxdeliver=1 ackwait=60000"), b"+OK\r\n")
    expect("publish", s.call("PUBLISH j hello"), b":0\r\n")
    got = s.call("CONSUME j group=g consumer=c")
    expect("delivered once", [l.split(b" ")[:2] for l in got[1:]], [[b"id=1", b"deliveries=1"]])
    # SIGTERM while the consumer is still connected (stop() would close
    # the test's sockets first, which is a consumer going away).
    srv.proc.send_signal(signal.SIGTERM)
    expect("orderd exits 0 on SIGTERM", srv.proc.wait(timeout=20), 0)
    s.sock.close()
    srv.proc = None
    srv._cleanup_tmp()

    srv = start(data)
    s = Session(srv)
    expect("nothing dead-lettered", s.call("DLQ LIST"), [b"*0\r\n"])
    got = s.call("CONSUME j group=g consumer=d")
    expect("deliverable again", [l.split(b" ")[:2] for l in got[1:]], [[b"id=1", b"deliveries=2"]])
    stop(srv)
finally:
    reap()
    import shutil
    shutil.rmtree(data, ignore_errors=True)
