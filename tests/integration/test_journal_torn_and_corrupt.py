#!/usr/bin/python3
"""A damaged journal: a torn tail (a crash mid-write) is cut with a
warning and the server starts; a bad record with good ones after it is
corruption: orderd refuses to start, names the file and byte offset and
points at --repair, and leaves the file as it was; with --repair it keeps
the bad tail in journal.bad-<offset>, cuts the journal there and starts
with every order recorded before the bad spot. Recovery takes whole
commits (what one write held): the cut is at the start of the commit that
holds the bad record.

The damage is done to copies of one journal of 300 orders (one record per
CREATE, UPDATE and CANCEL), so every case starts from the same bytes."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect, free_port  # noqa: E402
from durability import (HEADER, Session, commit_ends, commit_start, records, reap,  # noqa: E402
                        start, stop)

N = 300
REC_ORDER_CREATED, REC_ORDER_TRANSITION = 1, 2


def build(data):
    """300 orders, a third of them moved on; returns every GET answer."""
    srv = start(data)
    s = Session(srv)
    reqs = ["CREATE customer=c%d item=sku-%d qty=%d amount=%d.50" % (i, i % 7, i % 5 + 1, i)
            for i in range(1, N + 1)]
    reqs += ["UPDATE %d status=RESERVED" % i for i in range(3, N + 1, 3)]
    reqs += ['CANCEL %d reason="no stock"' % i for i in range(5, N + 1, 15)]
    # Ten at a time, each ten a commit of their own (a pipeline read at
    # once is one), so that a cut at a commit's start keeps most orders;
    # the last request alone, so that the last commit is its one record.
    for req, got in zip(reqs, s.pipeline(reqs[:-1], batch=10) + [s.call(reqs[-1])]):
        check(req, got.startswith(b"id="), repr(got))
    gets = s.pipeline(["GET %d" % i for i in range(1, N + 1)])
    stop(srv)
    return gets


def damaged(name, journal, mutate):
    """A fresh data dir holding the journal with mutate applied."""
    d = os.path.join(top, name)
    os.mkdir(d)
    with open(journal, "rb") as f:
        data = bytearray(f.read())
    mutate(data)
    with open(os.path.join(d, "journal"), "wb") as f:
        f.write(data)
    return d, bytes(data)


def gets_now(srv, last):
    s = Session(srv)
    out = s.pipeline(["GET %d" % i for i in range(1, last + 1)])
    s.close()
    return out


def refused(d, *flags):
    """Runs orderd on d expecting it to refuse to start: its stderr. A
    server that starts instead is stopped and fails the test."""
    p = subprocess.Popen([os.environ["ORDERD"], "--port", str(free_port()), "--data", d] +
                         list(flags), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = []
    for line in p.stderr:
        err.append(line.decode(errors="replace"))
        if "event=listening" in err[-1]:
            p.kill()
            p.wait()
            raise TestFailure("orderd started on a corrupt journal:\n" + "".join(err))
    status = p.wait(timeout=20)
    check("exit status", status != 0, "0 on a corrupt journal:\n" + "".join(err))
    return "".join(err)


def log_offset(log, event):
    m = re.search(r"event=%s .*?\boffset=(\d+)" % event, log)
    check("log has event=" + event, m is not None, "\n" + log)
    return int(m.group(1))


top = tempfile.mkdtemp(prefix="orderd-torn-")
failures = []
try:
    good = os.path.join(top, "good")
    want = build(good)
    journal = os.path.join(good, "journal")
    recs = records(journal)
    ends = commit_ends(journal)
    size = os.path.getsize(journal)
    expect("records: one per request", len([r for r in recs if r[2] != 0]),
           N + N // 3 + N // 15)
    last_off = recs[-1][0]
    expect("the last commit is the last record", commit_start(ends, last_off), last_off)

    # 1. A torn tail: the last record lost 3 of its bytes.
    d, _ = damaged("torn", journal, lambda b: b.__delitem__(slice(len(b) - 3, None)))
    srv = start(d)
    log = srv.log()
    expect("torn tail: cut at the last record's offset", log_offset(log, "journal_torn_tail"),
           last_off)
    # The last record is the last CANCEL (of order 290): that order is
    # PENDING again, every other answer is as before.
    got = gets_now(srv, N)
    diff = [i + 1 for i in range(N) if got[i] != want[i]]
    expect("torn tail: only the last record's order differs", diff, [N // 15 * 15 - 10])
    stop(srv)
    expect("torn tail: the file was cut", os.path.getsize(os.path.join(d, "journal")), last_off)
    srv = start(d)
    check("torn tail: the next start is quiet", "journal_torn_tail" not in srv.log(), srv.log())
    stop(srv)

    # 2. A zero-filled tail (the file grew, its data never came): torn too.
    d, _ = damaged("zeros", journal, lambda b: b.extend(bytes(4096)))
    srv = start(d)
    expect("zero-filled tail: cut at the end of the good data",
           log_offset(srv.log(), "journal_torn_tail"), size)
    expect("zero-filled tail: every order", gets_now(srv, N), want)
    stop(srv)

    def corrupt(name, at, desc):
        """Flips the byte at `at`, inside the record starting at bad_off:
        start refused, file untouched; --repair cuts at the start of its
        commit."""
        bad_off = max(off for off, _, _ in recs if off <= at)
        cut = commit_start(ends, bad_off)
        d, before = damaged(name, journal, lambda b: b.__setitem__(at, b[at] ^ 0x5A))
        path = os.path.join(d, "journal")
        try:
            err = refused(d)
        except TestFailure as e:
            raise TestFailure("%s at byte %d (record at %d): %s" % (desc, at, bad_off, e))
        for part in (path, "byte %d" % bad_off, "--repair"):
            if part not in err:
                raise TestFailure("%s: the refusal does not name %r:\n%s" % (desc, part, err))
        with open(path, "rb") as f:
            expect("%s: a refused start leaves the journal alone" % desc, f.read() == before, True)

        srv = start(d, "--repair")
        log = srv.log()
        expect("%s: repaired at the bad record's commit" % desc,
               log_offset(log, "journal_repaired"), cut)
        copy = os.path.join(d, "journal.bad-%d" % cut)
        check("%s: the bad tail is kept" % desc, os.path.exists(copy), str(os.listdir(d)))
        with open(copy, "rb") as f:
            expect("%s: the copy holds the bad tail" % desc, f.read() == before[cut:], True)
        expect("%s: the journal is cut there" % desc, os.path.getsize(path), cut)
        # Orders before the bad record's commit are all there, as they
        # were then.
        in_before = [r for r in recs if r[0] < cut]
        ncreated = sum(1 for r in in_before if r[2] == REC_ORDER_CREATED)
        got = gets_now(srv, N)
        for i in range(ncreated):
            expect("%s: order %d is there" % (desc, i + 1),
                   got[i].split()[0], b"id=%d" % (i + 1))
        expect("%s: no order past the bad spot" % desc, got[ncreated:],
               [b"-NOTFOUND order %d does not exist\r\n" % i for i in range(ncreated + 1, N + 1)])
        stop(srv)
        srv = start(d)  # repaired: starts without --repair now
        stop(srv)

    # 3. A flipped byte in the payload of a record mid-file.
    mid = next(r for r in recs if r[0] >= size // 2)
    corrupt("payload", mid[0] + HEADER + 2, "flipped payload byte")
    # 4. A flipped byte in the length field of a record mid-file: the
    # record then seems to run past the end of the file, which is no tear
    # either when good records follow it.
    try:
        corrupt("length", mid[0] + 2, "flipped length byte")
    except TestFailure as e:
        failures.append(str(e))
    # 5. The checksum field.
    corrupt("crc", mid[0] + 6, "flipped checksum byte")
finally:
    reap()
    shutil.rmtree(top, ignore_errors=True)
if failures:
    raise TestFailure("\n".join(failures))
print("ok: torn tail, zero tail, corrupt payload/length/checksum with and without --repair")
