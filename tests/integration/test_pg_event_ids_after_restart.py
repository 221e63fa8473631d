#!/usr/bin/python3
"""Order events are numbered across restarts on PostgreSQL too, although
recovery loads only orders in flight: with --saga off, orders are created
and moved (some to a final status, which --cache-orders 0 lets leave memory
at once), orderd is stopped and started again, and the next event's
event_id is one more than the last one before the restart, not one more
than the events of the orders it loaded."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chanlib import Client, event, push  # noqa: E402
from harness import expect  # noqa: E402
import pglib  # noqa: E402
from pgnode import fresh_database, metrics, reap, start, stop  # noqa: E402

NODE = "node-events"
FLAGS = ("--saga", "off", "--cache-orders", "0")


def next_event(sub):
    _, payload = push(sub.read(), "message")
    return event(payload)


def subscribed(srv):
    sub = Client(srv)
    sub.send("SUBSCRIBE", "order.created", "order.status")
    sub.read()
    sub.read()
    return sub


try:
    with pglib.Postgres() as pg:
        db = fresh_database(pg)
        srv = start(pg, db, NODE, *FLAGS)
        sub = subscribed(srv)
        c = Client(srv)
        script = [("CREATE", "customer=a", "item=x", "qty=1", "amount=1"),
                  ("CREATE", "customer=b", "item=x", "qty=1", "amount=1"),
                  ("UPDATE", "1", "status=RESERVED"),
                  ("UPDATE", "1", "status=PAID"),
                  ("CANCEL", "1"),
                  ("UPDATE", "2", "status=RESERVED")]
        for req in script:
            c.call(*req)
        last = 0
        for _ in script:
            last = next_event(sub)["event_id"]
        expect("events before the restart", last, len(script))
        stop(srv)

        srv = start(pg, db, NODE, *FLAGS)
        # Order 1 is finished: not loaded; order 2 is.
        expect("orders in memory after the restart", metrics(srv)["orders_in_memory"], "1")
        sub = subscribed(srv)
        c = Client(srv)
        c.call("CREATE", "customer=c", "item=x", "qty=1", "amount=1")
        expect("the first event after the restart", next_event(sub)["event_id"], last + 1)
        c.call("UPDATE", "2", "status=PAID")
        expect("the next", next_event(sub)["event_id"], last + 2)
        stop(srv)
finally:
    reap()
print("ok: event ids go on across a restart on PostgreSQL")
