#!/usr/bin/python3
# stores: journal postgres
"""LIST by status, by customer and by both, paged with after= and limit=,
gives exactly the orders a walk of the whole book would, in ascending id,
as the same records GET gives: after thousands of moves that put old
orders into statuses newer ones already fill, and again after a restart
rebuilds the book from the journal.

The model is what the server answered: every CREATE and UPDATE reply says
the order's status, so nothing here repeats the lifecycle's rules."""
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Orderd, TestFailure, check, expect  # noqa: E402

N = 3000
MOVES = 2500
STATUSES = ["PENDING", "RESERVED", "PAID", "SHIPPED", "DELIVERED", "FAILED", "CANCELLED"]
OTHERS = ["c%d" % i for i in range(20)]


def as_dict(flat):
    return dict(zip(flat[::2], flat[1::2]))


def build(r, rnd):
    """N orders, half of them ann's, then MOVES random UPDATEs (the server
    refuses the ones the lifecycle does not allow). Returns id -> (status,
    customer) as the server's replies said."""
    customers = ["ann" if rnd.random() < 0.5 else rnd.choice(OTHERS) for _ in range(N)]
    pipe = r.pipeline(transaction=False)
    for c in customers:
        pipe.execute_command("CREATE", "customer=" + c, "item=sku-1", "qty=1", "amount=1.00")
    model = {}
    for i, rec in enumerate(pipe.execute()):
        d = as_dict(rec)
        expect("order %d id" % (i + 1), d["id"], i + 1)
        model[i + 1] = (d["status"], customers[i])
    pipe = r.pipeline(transaction=False)
    moved = []
    for _ in range(MOVES):
        # Old orders as often as new: they land between members already there.
        oid = rnd.randint(1, N)
        moved.append(oid)
        pipe.execute_command("UPDATE", str(oid), "status=" + rnd.choice(STATUSES[1:]))
    refused = 0
    for oid, reply in zip(moved, pipe.execute(raise_on_error=False)):
        if isinstance(reply, Exception):
            check("refused UPDATE %d" % oid, str(reply).startswith("STATE"), str(reply))
            refused += 1
            continue
        model[oid] = (as_dict(reply)["status"], model[oid][1])
    check("some moves taken and some refused", 0 < refused < MOVES, str(refused))
    return model


def want_ids(model, status, customer, after, limit):
    out = []
    for oid in range(after + 1, N + 1):
        s, c = model[oid]
        if (status is None or s == status) and (customer is None or c == customer):
            out.append(oid)
            if len(out) == limit:
                break
    return out


def list_page(r, status, customer, after, limit):
    args = ["LIST"]
    if status:
        args.append("status=" + status)
    if customer:
        args.append("customer=" + customer)
    args += ["after=%d" % after, "limit=%d" % limit]
    page = r.execute_command(*args)
    if not isinstance(page, list):
        raise TestFailure("%s answered %r" % (" ".join(args), page))
    return page


def check_filter(r, model, status, customer, limit):
    """Pages through the filter, each page against the model."""
    name = "LIST status=%s customer=%s limit=%d" % (status, customer, limit)
    after = 0
    while True:
        page = list_page(r, status, customer, after, limit)
        got = [as_dict(rec)["id"] for rec in page]
        expect("%s after=%d" % (name, after), got, want_ids(model, status, customer, after,
                                                           limit))
        if not got:
            return
        after = got[-1]


def check_everything(r, model):
    for status in [None] + STATUSES:
        for customer in [None, "ann", "c7", "nobody"]:
            if status is None and customer is None:
                continue
            check_filter(r, model, status, customer, 50)
    for status, customer in [("FAILED", None), ("PAID", "c7"), (None, "c3")]:
        check_filter(r, model, status, customer, 1)
    # after= a non-member, and whole records: LIST's are GET's.
    page = list_page(r, "CANCELLED", "ann", 1001, 20)
    expect("first cancelled of ann's after 1001",
           [as_dict(rec)["id"] for rec in page], want_ids(model, "CANCELLED", "ann", 1001, 20))
    pipe = r.pipeline(transaction=False)
    for rec in page:
        pipe.execute_command("GET", str(as_dict(rec)["id"]))
    expect("LIST's records are GET's", page, pipe.execute())


data = tempfile.mkdtemp(prefix="orderd-list-")
try:
    with Orderd("--saga", "off", "--data", data) as srv:
        r = srv.redis()
        model = build(r, random.Random(11))
        check_everything(r, model)
        r.close()
    # The book and its index rebuilt from the journal.
    with Orderd("--saga", "off", "--data", data) as srv:
        r = srv.redis()
        expect("orders after restart", int(srv.info()["orders"]), N)
        check_everything(r, model)
        r.close()
finally:
    shutil.rmtree(data, ignore_errors=True)
print("ok")
