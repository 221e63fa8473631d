#!/usr/bin/python3
"""The damaged-journal drill: a journal written under load with sagas on
(--fsync always, a client pipelining keyed CREATEs, drills.Load, killed
with SIGKILL while a batch is in flight, so that sagas are in flight in
it), then damaged two ways, each on a copy:

- a flipped byte mid-file (in the payload of a record with good ones after
  it): corruption. orderd refuses to start, naming the file, the byte
  offset of the bad record and --repair, and leaves the file as it was.
  With --repair it keeps the bad tail in journal.bad-<offset> and cuts the
  journal there: at the start of the bad record's commit (recovery takes
  whole commits, what one write held), and starts;
- a flipped byte in the last record: a torn tail, as a crash mid-write
  leaves. orderd cuts it with its commit, with a warning naming the offset
  (event=journal_torn_tail), keeps it in journal.bad-<offset>, and starts.

After each, on what remains: the orders are exactly those whose CREATE
record comes before the cut (ids 1..m), each the acknowledged order of its
key with its fields (or, for a key the kill left unanswered, the order it
asked for) — every order acknowledged before the damage is there; what the
damage cut off is lost, as documented. The sagas in flight at the kill and
those the cut set back all finish, and the saga invariants hold
(drills.verify); the same after one more start, without --repair.

test_journal_torn_and_corrupt.py covers every shape of damage (torn,
zero-filled, payload, length and checksum field) on a journal without
sagas; this drill is about what a cut journal of sagas leads to."""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drills  # noqa: E402
from durability import (COMMIT, HEADER, commit_ends, commit_start, kill9, records,  # noqa: E402
                        reap, start, stop)
from harness import TestFailure, check, free_port, wait_for  # noqa: E402

ORDERS = 600
REC_ORDER_CREATED = 1


def commit_ends_of(data):
    """Where the commits in data end, up to a record the kill cut short."""
    off, out = 8, []
    while off + HEADER <= len(data):
        length, rtype = struct.unpack_from("<IB", data, off)
        if off + HEADER + length > len(data):
            break
        off += HEADER + length
        if rtype & COMMIT:
            out.append(off)
    return out


def damaged(name, at):
    """A data dir holding the journal with the byte at `at` flipped; the
    bytes written there."""
    d = os.path.join(top, name)
    os.mkdir(d)
    b = bytearray(journal)
    b[at] ^= 0x5A
    with open(os.path.join(d, "journal"), "wb") as f:
        f.write(b)
    return d, bytes(b)


def refused(d):
    """orderd on d must refuse to start: its stderr."""
    p = subprocess.Popen([os.environ["ORDERD"], "--port", str(free_port()), "--http-port", "0",
                          "--data", d], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise TestFailure("orderd started on a journal corrupt mid-file")
    check("exit status on a corrupt journal", p.returncode != 0, "(0)")
    return err.decode(errors="replace")


def log_offset(log, event):
    m = re.search(r"event=%s .*?\boffset=(\d+)" % event, log)
    check("log has event=" + event, m is not None, "\n" + log)
    return int(m.group(1))


def after_cut(srv, d, written, cut, what):
    """The checks on what is left of the journal once cut at `cut`."""
    with open(os.path.join(d, "journal"), "rb") as f:
        now = f.read()
    # The server is running: what it wrote since goes on from the cut.
    check("%s: the journal keeps what came before the cut" % what, now[:cut] == journal[:cut])
    with open(os.path.join(d, "journal.bad-%d" % cut), "rb") as f:
        check("%s: journal.bad-%d holds what was cut" % (what, cut), f.read() == written[cut:])
    m = sum(1 for off, _, t in recs if off < cut and t == REC_ORDER_CREATED)
    check("%s: most orders left" % what, total // 3 < m <= total, "(%d of %d)" % (m, total))
    keys = [k for k, (oid, _) in led.acked.items() if oid <= m]
    maybe = set(led.sent) - set(led.acked)
    result = drills.verify(srv.port, led, keys=keys, maybe=maybe)
    check("%s: the orders are ids 1..%d" % (what, m), result["orders"] == m,
          "(%d)" % result["orders"])
    stop(srv)
    srv = start(d, saga=True)  # no --repair now: a whole journal
    log = srv.log()
    check("%s: the next start is quiet" % what,
          "journal_torn_tail" not in log and "journal_repaired" not in log, log)
    drills.verify(srv.port, led, keys=keys, maybe=maybe)
    stop(srv)
    return m, result


top = tempfile.mkdtemp(prefix="orderd-drill-journal-")
t0 = time.monotonic()
led = drills.Ledger()
try:
    # The journal: written under load, the server killed mid-batch.
    built = os.path.join(top, "built")
    srv = start(built, "--fsync", "always", saga=True)
    drills.prepare(srv.port)
    load = drills.Load(led, [srv.port])
    load.start()
    try:
        load.wait_acked(ORDERS)
        wait_for("a batch in flight", lambda: load.in_flight or load.error, step=0.0005)
        kill9(srv)
    finally:
        load.finish()
    # The journal as a recovery would leave it: up to its last whole
    # commit (a write the kill cut short goes).
    path = os.path.join(built, "journal")
    with open(path, "rb") as f:
        journal = f.read()
    with open(path, "wb") as f:
        f.write(journal[:max(commit_ends_of(journal))])
    with open(path, "rb") as f:
        journal = f.read()
    recs, ends = records(path), commit_ends(path)
    total = sum(1 for _, _, t in recs if t == REC_ORDER_CREATED)
    check("every acknowledged order has its record", total >= led.count(),
          "(%d records, %d acknowledged)" % (total, led.count()))

    # 1. A flipped byte mid-file: refused; --repair cuts at its commit.
    mid = next(r for r in recs if r[0] >= len(journal) // 2 and r[1] >= 4)
    d, written = damaged("mid", mid[0] + HEADER + 2)
    err = refused(d)
    for part in (os.path.join(d, "journal"), "byte %d" % mid[0], "--repair"):
        check("the refusal names %r" % part, part in err, "\n" + err)
    with open(os.path.join(d, "journal"), "rb") as f:
        check("a refused start leaves the journal as it was", f.read() == written)
    cut = commit_start(ends, mid[0])
    srv = start(d, "--repair", saga=True)
    check("repaired at the start of the bad record's commit",
          log_offset(srv.log(), "journal_repaired") == cut,
          "(want %d, the bad record at %d)" % (cut, mid[0]))
    m_mid, result = after_cut(srv, d, written, cut, "mid-file")
    check("mid-file: the orders after the cut are gone", m_mid < total, "(%d)" % m_mid)

    # 2. A flipped byte in the last record: a torn tail, cut with its commit.
    last = recs[-1]
    d, written = damaged("tail", last[0] + HEADER + min(2, last[1] - 1))
    cut = commit_start(ends, last[0])
    srv = start(d, saga=True)
    check("torn tail: cut at the start of the last commit",
          log_offset(srv.log(), "journal_torn_tail") == cut,
          "(want %d, the last record at %d)" % (cut, last[0]))
    m_tail, _ = after_cut(srv, d, written, cut, "tail")
finally:
    reap()
    shutil.rmtree(top, ignore_errors=True)
print("ok: a journal of %d orders (%d acknowledged); a byte flipped mid-file: refused, repaired "
      "to %d orders; in the last record: cut to %d; %s; %.1f s"
      % (total, led.count(), m_mid, m_tail, drills.summary(led, result),
         time.monotonic() - t0))
