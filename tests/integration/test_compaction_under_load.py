#!/usr/bin/python3
"""Compaction under load: with --compact-min 100000, a client keeps
creating orders (some with idempotency keys) and moving them along, and
publishing, consuming, acking and NACKing on a durable channel that keeps
200 messages (so most of what the journal records becomes garbage). While
it runs, orderd compacts at least twice; every reply the client gets
meanwhile is right; each compaction leaves a journal smaller than the one
it replaced; and after a restart every order, every channel, group,
pending message and dead letter is as it was - so the snapshot holds them
all: the channel state of every kind that durability.make_channels builds,
a channel whose retention emptied it (its offsets go on, not restart),
and the DLQ's next id."""
import os
import re
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect, wait_for  # noqa: E402
from durability import (CHANNEL_REQUESTS, Session, compare, fields, live_masked,  # noqa: E402
                        make_channels, reap, restarted, scaled, start, stop)

COMPACT_MIN = 100000
WAIT = scaled(30.0, 80.0)  # bound on waiting for two compactions
NEXT = {"PENDING": "RESERVED", "RESERVED": "PAID", "PAID": "SHIPPED", "SHIPPED": "DELIVERED"}


def create_line(seq):
    line = "CREATE customer=c%d item=sku-%d qty=%d amount=%d.25" % (
        seq, seq % 11, seq % 4 + 1, seq)
    return line + (" key=k%d" % seq if seq % 5 == 0 else "")


class Load(threading.Thread):
    """Creates, moves, publishes, consumes, acks and NACKs until told to
    stop, checking every reply; keeps what was acknowledged."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.s = Session(srv)
        self.halt = threading.Event()
        self.error = None
        self.orders = {}   # id -> (customer, status) as acknowledged
        self.published = 0
        self.batches = 0

    def run(self):
        try:
            self.loop()
        except Exception as e:  # reported by the main thread
            self.error = "%s: %s" % (type(e).__name__, e)

    def loop(self):
        seq, acks, nack = 0, [], None
        movable = []
        while not self.halt.is_set():
            reqs = []
            for _ in range(8):
                seq += 1
                reqs.append(("create", "c%d" % seq, create_line(seq)))
            for oid in movable[:6]:
                to = NEXT[self.orders[oid][1]]
                line = ("CANCEL %d reason=\"changed plans\"" % oid if oid % 9 == 0
                        else "UPDATE %d status=%s" % (oid, to))
                reqs.append(("move", oid, line))
            movable = movable[6:]
            if acks:
                reqs.append(("ack", len(acks), "ACK stream group=g %s" % " ".join(acks)))
            if nack:
                reqs.append(("nack", None, "NACK stream group=g %s delay=0 reason=again" % nack))
            for i in range(32):
                self.published += 1
                reqs.append(("publish", None,
                             "PUBLISH stream m%d-%s" % (self.published, "p" * 150)))
            reqs.append(("consume", None, "CONSUME stream group=g consumer=c count=32"))
            replies = self.s.pipeline([r for _, _, r in reqs])
            acks, nack = [], None
            for (kind, what, req), got in zip(reqs, replies):
                if kind == "create":
                    f = fields(got)
                    if f.get("customer") != what or f.get("status") != "PENDING":
                        raise TestFailure("%s: %r" % (req, got))
                    self.orders[int(f["id"])] = (what, "PENDING")
                    movable.append(int(f["id"]))
                elif kind == "move":
                    f = fields(got)
                    want = "CANCELLED" if req.startswith("CANCEL") else req.split("=")[-1]
                    if f.get("id") != str(what) or f.get("status") != want:
                        raise TestFailure("%s: %r" % (req, got))
                    self.orders[what] = (self.orders[what][0], want)
                    if want in NEXT:
                        movable.append(what)
                elif kind == "ack":
                    expect(req, got, b":%d\r\n" % what)
                elif kind == "nack":
                    expect(req, got, b":1\r\n")
                elif kind == "publish":
                    expect(req, got, b":0\r\n")
                else:
                    if not isinstance(got, list):
                        raise TestFailure("%s: %r" % (req, got))
                    ids = [fields(l)["id"] for l in got[1:]]
                    # Ack most; leave every 50th in flight; NACK one.
                    acks = [i for i in ids if int(i) % 50 != 0]
                    if acks and self.batches % 5 == 0:
                        nack = acks.pop()
            self.batches += 1


def answers(s):
    out = {"orders": s.list_all()}
    reqs = ["GROUPS stream", "PENDING stream group=g limit=1000", "READ stream count=1000",
            "CHANNEL INFO stream", "CHANNEL INFO brief", "GROUPS brief", "READ brief",
            "DLQ SHOW 4"] + CHANNEL_REQUESTS
    out.update(zip(reqs, s.pipeline(reqs)))
    return out


data = tempfile.mkdtemp(prefix="orderd-compact-")
try:
    srv = start(data, "--compact-min", str(COMPACT_MIN))
    journal = os.path.join(data, "journal")
    s = Session(srv)
    make_channels(s)
    # A channel that retention empties: three messages, consumed, acked,
    # then gone by age.
    for line, want in (("CHANNEL CREATE brief maxage=1", b"+OK\r\n"),
                       ("PUBLISH brief a", b":0\r\n"), ("PUBLISH brief b", b":0\r\n"),
                       ("PUBLISH brief c", b":0\r\n")):
        expect(line, s.call(line), want)
    expect("consume brief", len(s.call("CONSUME brief group=b consumer=x count=3")), 4)
    expect("ack brief", s.call("ACK brief group=b 1 2 3"), b":3\r\n")
    wait_for("brief to be emptied by age",
             lambda: fields(s.call("CHANNEL INFO brief"))["length"] == "0", timeout=20)
    expect("channel", s.call("CHANNEL CREATE stream maxlen=200 ackwait=600000"), b"+OK\r\n")
    load = Load(srv)
    load.start()

    # Watch the file while the load runs: each compaction replaces it
    # with a smaller one.
    drops, last = [], os.path.getsize(journal)
    deadline = time.monotonic() + WAIT
    compactions = polls = 0
    while True:
        check("load running", load.is_alive(), "(it stopped: %s)" % load.error)
        if time.monotonic() > deadline:
            raise TestFailure("only %d compactions in %.0f s; journal %d bytes; log:\n%s"
                              % (compactions, WAIT, last, srv.log()))
        size = os.path.getsize(journal)
        if size < last:
            drops.append((last, size))
        last = size
        if compactions >= 2:
            break  # after one more look at the file, which INFO saw swapped
        polls += 1
        if polls % 10 == 0:
            compactions = int(s.info()["journal_compactions"])
        time.sleep(0.005)
    load.halt.set()
    load.join(30)
    check("load stopped", not load.is_alive())
    if load.error:
        raise TestFailure("under load: " + load.error)

    # Each compaction left a file smaller than the one it replaced (which
    # held no more than was written to it).
    info = s.info()
    size = os.path.getsize(journal)
    expect("INFO journal_bytes is the file's size", int(info["journal_bytes"]), size)
    done = [int(b) for b in re.findall(r"event=compaction_done journal_bytes=(\d+)", srv.log())]
    expect("compactions logged", len(done), int(info["journal_compactions"]))
    check("the file shrank at each compaction", len(drops) >= 2 and all(b < a for a, b in drops),
          "(sizes before and after: %r)" % drops)

    # A dead letter after the compactions: DLQ ids go on from 4 (1 is
    # there, 2 and 3 were replayed and purged).
    for line, want in (("CHANNEL CREATE late maxdeliver=1", b"+OK\r\n"),
                       ("PUBLISH late x", b":0\r\n")):
        expect(line, s.call(line), want)
    expect("consume late", len(s.call("CONSUME late group=g consumer=c")), 2)
    expect("NACK late", s.call("NACK late group=g 1 reason=last"), b":1\r\n")
    expect("the next dead letter's id", fields(s.call("DLQ SHOW 4"))["reason"], "last")

    # Check the acknowledged orders against what the server has, then
    # restart and compare every answer.
    before = answers(s)
    got = {int(f["id"]): (f["customer"], f["status"]) for f in map(fields, before["orders"])}
    expect("every acknowledged order, as acknowledged", got, load.orders)
    pending = before["PENDING stream group=g limit=1000"]
    check("something in flight", any(b" state=inflight " in l for l in pending[1:]), repr(pending))
    n_orders, published = len(got), load.published
    stop(srv)  # the load's connection still open: its deliveries in flight to the end

    srv = start(data, "--compact-min", str(COMPACT_MIN))
    s = Session(srv)
    compare("after the restart", restarted(before), live_masked(answers(s)))
    expect("the channel's last offset", fields(s.call("CHANNEL INFO stream"))["last"],
           str(published))
    # Offsets go on after retention emptied a channel, and its group gets
    # what comes next.
    expect("PUBLISH brief d", s.call("PUBLISH brief d"), b":0\r\n")
    got = s.call("CONSUME brief group=b consumer=y")
    check("brief: the next message is offset 4, delivered to the group",
          len(got) == 2 and got[1].startswith(b"id=4 deliveries=1 "), repr(got))
    k = max(load.orders) // 5 * 5  # ids are the load's sequence numbers
    got = fields(s.call(create_line(k)))
    expect("a key replays after compaction and restart", (got["id"], got.get("replayed")),
           (str(k), "1"))
    stop(srv)
finally:
    reap()
    shutil.rmtree(data, ignore_errors=True)
print("ok: %d compactions under load (file sizes before and after: %s), %d orders, "
      "%d messages" % (len(done), ", ".join("%d>%d" % d for d in drops), n_orders, published))
