#!/usr/bin/python3
"""A crash can cut a write short at a record's end (SIGKILL between two
pages of a large write, or power lost): the file then holds whole records
of a commit without the rest. Recovery must take the commit whole or not
at all: here a journal of orders with sagas is cut right after the CREATE
record of an order whose saga record comes later in the same commit.
Before commits were marked, that order came back PENDING with no saga,
stuck for ever (and a client resending its key was told it existed).

Now: orderd starts, cuts the half commit as a torn tail (its offset is the
commit's start, kept in journal.bad-<offset>), and every order left is
one whose commit was whole; the sagas finish and the saga invariants hold
(drills.verify), and the same after one more start."""
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drills  # noqa: E402
from durability import (HEADER, commit_ends, commit_start, records, reap, start,  # noqa: E402
                        stop)
from harness import check, expect  # noqa: E402

REC_ORDER_CREATED = 1

top = tempfile.mkdtemp(prefix="orderd-half-commit-")
led = drills.Ledger()
try:
    built = os.path.join(top, "built")
    srv = start(built, "--fsync", "always", saga=True)
    drills.prepare(srv.port)
    load = drills.Load(led, [srv.port])
    load.start()
    load.wait_acked(300)
    load.finish()
    stop(srv)
    journal = os.path.join(built, "journal")
    recs, ends = records(journal), commit_ends(journal)
    # A CREATE with more of its commit after it, about half-way.
    at = next(r for r in recs[len(recs) // 2:]
              if r[2] == REC_ORDER_CREATED and r[0] + HEADER + r[1] not in ends)
    cut_at = at[0] + HEADER + at[1]
    begin = commit_start(ends, at[0])
    with open(journal, "rb") as f:
        data = f.read()[:cut_at]
    d = os.path.join(top, "cut")
    os.mkdir(d)
    with open(os.path.join(d, "journal"), "wb") as f:
        f.write(data)

    srv = start(d, saga=True)
    m = re.search(r"event=journal_torn_tail .*?\boffset=(\d+)", srv.log())
    check("the half commit is cut as a torn tail", m is not None, srv.log())
    expect("cut at the start of the half commit", int(m.group(1)), begin)
    with open(os.path.join(d, "journal.bad-%d" % begin), "rb") as f:
        check("the half commit is kept in journal.bad-%d" % begin, f.read() == data[begin:])
    kept = sum(1 for r in recs if r[0] < begin and r[2] == REC_ORDER_CREATED)
    keys = [led.by_id[i] for i in range(1, kept + 1)]
    result = drills.verify(srv.port, led, keys=keys)
    stop(srv)
    srv = start(d, saga=True)
    check("the next start is quiet", "journal_torn_tail" not in srv.log(), srv.log())
    drills.verify(srv.port, led, keys=keys)
    stop(srv)
finally:
    reap()
    shutil.rmtree(top, ignore_errors=True)
print("ok: a commit cut after an order's CREATE record is cut whole; %d orders left (of %d), "
      "their sagas all finished" % (kept, led.count()))
