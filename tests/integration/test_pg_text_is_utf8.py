#!/usr/bin/python3
"""The PostgreSQL store keeps text as text: a request whose text is not
UTF-8 (customer, item, key, note, reason, a SKU, a blocked customer) is
refused with -BADARG before it changes anything, where the journal keeps
the bytes as they are. UTF-8 beyond ASCII, quotes, backslashes, braces and
commas are kept exactly, in orderd and in the tables."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chanlib import Client, expect_error, record  # noqa: E402
from harness import expect  # noqa: E402
import pglib  # noqa: E402
from pgnode import fresh_database, metrics, reap, rows, start, stop  # noqa: E402

BAD = b"caf\xc3\xa9 \xff\xfe"
GOOD = 'caf\u00e9 \u2603 "q" \\b {x,y} \'s'


def refused(what, reply, field):
    expect_error(what, reply, "BADARG",
                 "%s must be UTF-8: the database keeps it as text" % field)


try:
    with pglib.Postgres() as pg:
        db = fresh_database(pg)
        srv = start(pg, db, "node-utf8", "--saga", "off")
        c = Client(srv)
        before = metrics(srv)["orders"]
        for field in ("customer", "item", "key"):
            args = {"customer": b"a", "item": b"b", "key": b"k"}
            args[field] = BAD
            got = c.call("CREATE", b"customer=" + args["customer"], b"item=" + args["item"],
                         b"qty=1", b"amount=1", b"key=" + args["key"])
            refused("CREATE with %s not UTF-8" % field, got, field)
        expect("no order made", metrics(srv)["orders"], before)
        o = record(c.call("CREATE", b"customer=" + GOOD.encode(), b"item=" + GOOD.encode(),
                          b"qty=1", b"amount=1", b"key=" + GOOD.encode()))
        refused("UPDATE note", c.call("UPDATE", str(o["id"]), "status=RESERVED", b"note=" + BAD),
                "note")
        refused("CANCEL reason", c.call("CANCEL", str(o["id"]), b"reason=" + BAD), "reason")
        refused("STOCK SET sku", c.call("STOCK", "SET", BAD, "5"), "sku")
        refused("CUSTOMER BLOCK", c.call("CUSTOMER", "BLOCK", BAD), "customer")
        expect("the order did not move", record(c.call("GET", str(o["id"])))["status"],
               b"PENDING")
        c.call("UPDATE", str(o["id"]), "status=RESERVED", b"note=" + GOOD.encode())
        stop(srv)
        # What the tables hold is the text as sent.
        expect("the row", rows(pg, db, "SELECT customer, item, idempotency_key FROM orders"),
               [(GOOD, GOOD, GOOD)])
        expect("the note", rows(pg, db, "SELECT note FROM order_history WHERE seq = 1"),
               [(GOOD,)])
        srv = start(pg, db, "node-utf8", "--saga", "off")
        c = Client(srv)
        back = record(c.call("GET", str(o["id"])))
        expect("after a restart", (back["customer"], back["item"], back["key"]),
               (GOOD.encode(), GOOD.encode(), GOOD.encode()))
        stop(srv)
finally:
    reap()
print("ok: text that is not UTF-8 is refused on PostgreSQL; UTF-8 is kept exactly")
