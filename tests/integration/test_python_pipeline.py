#!/usr/bin/python3
# stores: journal postgres
"""redis-py pipelines: 1,000 CREATEs in one pipeline, then 1,000 GETs in a
second, and every record comes back whole, with ids ascending from 1, qty
as an integer reply and the amount as a string."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Orderd, expect  # noqa: E402

N = 1000
CURRENCIES = ["USD", "EUR", "GBP"]


def fields(i):
    """The fields of the i-th order (0-based)."""
    return {
        "customer": "c%d" % i,
        "item": "sku-%d" % (i % 17),
        "qty": i % 9 + 1,
        "amount": "%d.%02d" % (i, i % 100),
        "currency": CURRENCIES[i % 3],
    }


def record(i):
    """The record GET returns for order i+1, without the timestamps."""
    f = fields(i)
    return [
        "id", i + 1, "status", "PENDING", "customer", f["customer"], "item", f["item"],
        "qty", f["qty"], "amount", f["amount"], "currency", f["currency"],
    ]


def without_times(flat, name):
    """The record minus created/updated, checking they are there and alike."""
    expect(name + ": created/updated keys", flat[-4::2], ["created", "updated"])
    for t in flat[-3::2]:
        if not (isinstance(t, str) and len(t) == 24 and t.endswith("Z") and t[10] == "T"):
            raise AssertionError("%s: not an RFC 3339 time: %r" % (name, t))
    return flat[:-4]


with Orderd("--saga", "off") as srv:
    r = srv.redis()

    pipe = r.pipeline(transaction=False)
    for i in range(N):
        f = fields(i)
        pipe.execute_command("CREATE", "customer=" + f["customer"], "item=" + f["item"],
                             "qty=%d" % f["qty"], "amount=" + f["amount"],
                             "currency=" + f["currency"])
    created = pipe.execute()
    expect("create replies", len(created), N)
    for i, flat in enumerate(created):
        expect("create %d" % (i + 1), without_times(flat, "create %d" % (i + 1)), record(i))

    pipe = r.pipeline(transaction=False)
    for i in range(N):
        pipe.execute_command("GET", str(i + 1))
    got = pipe.execute()
    expect("get replies", len(got), N)
    for i, flat in enumerate(got):
        name = "get %d" % (i + 1)
        expect(name, without_times(flat, name), record(i))
        expect(name + " timestamps as created", flat[-4:], created[i][-4:])
        # The reply types, not only the values: integers for id and qty.
        expect(name + " id type", type(flat[1]), int)
        expect(name + " qty type", type(flat[9]), int)
        expect(name + " amount type", type(flat[11]), str)

    expect("one past the last", r.execute_command("LIST", "after=%d" % N), [])
    info = srv.info()
    expect("orders", info["orders"], str(N))
    expect("orders_pending", info["orders_pending"], str(N))
    r.close()
