#!/usr/bin/python3
# stores: journal postgres
"""Stock is arithmetic on client numbers, and none of it may overflow. The
hostile case: an order reserves 5 of a SKU, its payment is declined slowly,
and meanwhile someone sets the SKU's stock to the int64 limit; releasing the
reservation then added 5 to it (a crash under ASan, a stock of -9.2e18 in
the release build, journalled, so every restart crashed again).

- STOCK SET and SIM SET inventory stock= refuse a level over 10^15 with
  -BADARG naming the limit, and change nothing;
- at the limit, the release puts the 5 back on top: 10^15 + 5;
- after a restart the level is the same, and orderd is fine;
- a SKU is held to the same rules as an order's item: no control
  characters, so a CR/LF or NUL cannot slip into one."""
import shutil
import tempfile

from chanlib import expect_error, expect_ok
from harness import Orderd, expect
from sagalib import Conn, Events

LIMIT = 10 ** 15

data = tempfile.mkdtemp(prefix="orderd-stock-")
try:
    with Orderd("--data", data) as srv:
        c = Conn(srv)
        ev = Events(srv, "order.status")
        c.ok("SIM", "SET", "payment", "decline=1", "latency=1500")
        oid = c.create(item="ovf", qty=5)
        ev.wait_status(oid, "RESERVED")
        expect("reserved", c.call("STOCK", "ovf"), 1000000 - 5)
        expect_error("STOCK SET to the int64 limit",
                     c.call("STOCK", "SET", "ovf", str(2 ** 63 - 1)), "BADARG",
                     "level must be an integer from 0 to %d" % LIMIT)
        expect_error("STOCK SET one over the limit",
                     c.call("STOCK", "SET", "ovf", str(LIMIT + 1)), "BADARG")
        expect("a refused STOCK SET changes nothing", c.call("STOCK", "ovf"), 1000000 - 5)
        expect_error("a default stock over the limit",
                     c.call("SIM", "SET", "inventory", "stock=%d" % (LIMIT + 1)), "BADARG")
        expect_ok("STOCK SET at the limit", c.call("STOCK", "SET", "ovf", str(LIMIT)))
        ev.wait_status(oid, "FAILED", timeout=20)
        expect("the release lands on top of the limit", c.call("STOCK", "ovf"), LIMIT + 5)

        expect_error("a SKU with CR LF", c.call("STOCK", "SET", "a\r\nb", "1"), "BADARG",
                     "sku must not contain control characters")
        expect_error("a SKU with a NUL", c.call("STOCK", "a\0b"), "BADARG",
                     "argument 1 contains a NUL byte: 'a\\x00b'")
        expect_error("an empty SKU", c.call("STOCK", ""), "BADARG", "sku must not be empty")
        expect_error("a customer with a NUL", c.call("CUSTOMER", "BLOCK", "a\0b"), "BADARG",
                     "argument 2 contains a NUL byte: 'a\\x00b'")
        expect_error("a customer with a control byte", c.call("CUSTOMER", "BLOCK", "a\x01b"),
                     "BADARG", "customer must not contain control characters")
    with Orderd("--data", data) as srv:
        c = Conn(srv)
        expect("the level after a restart", c.call("STOCK", "ovf"), LIMIT + 5)
        expect("the order after a restart", c.status(oid), "FAILED")
finally:
    shutil.rmtree(data, ignore_errors=True)
print("ok")
