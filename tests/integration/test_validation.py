#!/usr/bin/python3
# stores: journal postgres
"""Every value a command takes is checked as strictly as its documentation
says, and a refusal names what was wrong:

- a rate is a plain decimal from 0 to 1: not " 0.5", "0x1p-2", "1e-400",
  "inf" or "-0";
- a backoff cap below its base, given both, is refused (POLICY, and
  CHANNEL CREATE's backoffmax);
- LIST status= echoes the unknown status;
- a second CANCEL says the order is already cancelled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chanlib import expect_error  # noqa: E402
from harness import Orderd, expect  # noqa: E402
from sagalib import Conn, Events  # noqa: E402

with Orderd() as srv:
    c = Conn(srv)
    for bad in (" 0.5", "0.5 ", "0x1p-2", "1e-400", "1e-1", "inf", "nan", "-0", "+0.5", "1.5",
                "0.5.5", "."):
        expect_error("decline=%r" % bad, c.call("SIM", "SET", "payment", "decline=" + bad),
                     "BADARG", "decline must be a rate from 0 to 1")
    for good, shown in (("0", "0"), ("1", "1"), ("0.25", "0.25"), (".5", "0.5")):
        got = dict(zip(*[iter(c.ok("SIM", "SET", "payment", "error=" + good))] * 2))
        expect("error=%s" % good, got[b"error"], shown.encode())
    c.ok("SIM", "SET", "payment", "error=0")

    expect_error("POLICY base over cap", c.call("POLICY", "payment.authorize", "base=1000",
                                                 "cap=1"),
                 "BADARG", "cap (1 ms) must be at least base (1000 ms)")
    got = dict(zip(*[iter(c.ok("POLICY", "payment.authorize", "base=60000"))] * 2))
    expect("a base alone over the cap raises the cap", (got[b"base"], got[b"cap"]),
           (60000, 60000))
    expect_error("CHANNEL CREATE backoff over backoffmax",
                 c.call("CHANNEL", "CREATE", "jobs", "backoff=100000", "backoffmax=1"), "BADARG",
                 "backoffmax (1 ms) must be at least backoff (100000 ms)")
    expect_error("no channel was made", c.call("CHANNEL", "INFO", "jobs"), "NOTFOUND")

    expect_error("LIST status=bogus", c.call("LIST", "status=bogus"), "BADARG",
                 "unknown status 'bogus' in status= (PENDING RESERVED PAID SHIPPED DELIVERED "
                 "FAILED CANCELLED)")

    ev = Events(srv, "order.status")
    c.ok("SIM", "SET", "payment", "latency=300")
    oid = c.create()
    ev.wait_status(oid, "RESERVED")
    c.ok("CANCEL", str(oid), "reason=first")
    ev.wait_status(oid, "CANCELLED")
    expect_error("a second CANCEL", c.call("CANCEL", str(oid)), "STATE",
                 "order %d is already cancelled" % oid)
print("ok")
