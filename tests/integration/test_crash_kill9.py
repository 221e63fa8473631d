#!/usr/bin/python3
"""Crashes lose nothing that was acknowledged. orderd runs with --fsync
always and a small --compact-min; a writer pipelines CREATEs, UPDATEs to
RESERVED of orders it saw acknowledged, and (so that compaction has
garbage to drop) PUBLISH/CONSUME/ACK on a durable channel that keeps only
100 messages, recording every reply. orderd is killed with SIGKILL and
restarted on the same --data, CRASH_KILLS times (default 10; `make
crashtest` runs more): at a random moment, or in every other round aimed
at a compaction: as soon as its file appears (mid-compaction), or a random
moment after one completed. After each restart the writer first resends
the CREATEs it never saw answered, with the same idempotency key, as a
client would.

At the end: ids run 1..n without a gap, every order carries exactly the
fields of one CREATE that was sent (and each CREATE made at most one
order), every acknowledged order is there with at least its acknowledged
status, and a later status only if it was sent.

CRASH_KILLS, CRASH_SECONDS (mean time between random kills, default 0.5)
and CRASH_SEED (to replay a run's choices) come from the environment."""
import os
import random
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Reader, TestFailure, check, expect, wait_for  # noqa: E402
from durability import (Session, fields, kill9, reap, scaled, start, stop,  # noqa: E402
                        wait_gone)

KILLS = int(os.environ.get("CRASH_KILLS", "10"))
SECONDS = float(os.environ.get("CRASH_SECONDS", "0.5"))
SEED = int(os.environ.get("CRASH_SEED", str(random.randrange(1 << 30))))
FLAGS = ("--fsync", "always", "--compact-min", "200000")
# Per pipelined batch. Mostly channel traffic, which compaction drops: the
# snapshot stays small, so the journal soon doubles again (the next
# compaction is due) even after many rounds.
CREATES, UPDATES, PUBLISHES = 6, 3, 64
# The writer's pace: enough to pass --compact-min quickly, not so much
# that the orders (and the time to double the journal) grow without end.
PAUSE = 0.004
# Waiting for a compaction to be under way before a kill: bounded.
COMPACTION_WAIT = scaled(10.0, 30.0)


def create_fields(customer):
    """The fields of the CREATE for customer, derived from its name so the
    final check can recompute them."""
    h = sum(customer.encode()) * 2654435761 % (1 << 32)
    return {"customer": customer, "item": "sku-%d" % (h % 50), "qty": str(h % 9 + 1),
            "amount": "%d.%02d" % (h % 100000, h % 100), "currency": "USD", "key": customer}


def create_line(customer):
    f = create_fields(customer)
    return ("CREATE customer={customer} item={item} qty={qty} amount={amount} "
            "key={key}\r\n").format(**f)


class History:
    """What the writer sent and what orderd acknowledged, over all rounds."""

    def __init__(self):
        self.sent = set()          # customers whose CREATE was sent
        self.in_doubt = []         # ... and never answered
        self.acked = {}            # id -> customer
        self.by_customer = {}      # customer -> id
        self.status = {}           # id -> acknowledged status
        self.update_sent = set()   # ids sent UPDATE status=RESERVED
        self.to_update = []        # acknowledged ids to move next


class Writer(threading.Thread):
    """One connection, pipelining batches until the server goes away."""

    def __init__(self, port, round_no, hist, rng):
        super().__init__(daemon=True)
        self.port, self.round_no, self.hist, self.rng = port, round_no, hist, rng
        self.error = None
        self.replies = 0

    def run(self):
        try:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=20)
            self.reader = Reader(self.sock)
            self.write()
        except OSError:
            pass  # the kill
        except Exception as e:  # reported by the main thread
            self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            try:
                self.sock.close()
            except (OSError, AttributeError):
                pass

    def write(self):
        h, seq = self.hist, 0
        retry, h.in_doubt = h.in_doubt, []
        acks = []  # offsets consumed, to ACK in the next batch
        while True:
            batch = []  # (kind, customer or id, request)
            for c in retry:
                batch.append(("create", c, create_line(c)))
            retry = []
            for _ in range(CREATES - len(batch)):
                seq += 1
                c = "r%dw%d" % (self.round_no, seq)
                h.sent.add(c)
                batch.append(("create", c, create_line(c)))
            h.in_doubt.extend(c for kind, c, _ in batch if kind == "create")
            while h.to_update and len(batch) < CREATES + UPDATES:
                oid = h.to_update.pop()
                h.update_sent.add(oid)
                batch.append(("update", oid, "UPDATE %d status=RESERVED\r\n" % oid))
            # Channel traffic, garbage once compacted: the channel keeps 100.
            if acks:
                batch.append(("ack", None, "ACK ticks group=g %s\r\n" % " ".join(acks)))
            for i in range(PUBLISHES):
                batch.append(("publish", None, "PUBLISH ticks tick-%d-%d-%d-%s\r\n" %
                              (self.round_no, seq, i, "x" * 200)))
            batch.append(("consume", None,
                          "CONSUME ticks group=g consumer=w count=%d\r\n" % PUBLISHES))
            time.sleep(PAUSE)
            self.sock.sendall("".join(req for _, _, req in batch).encode())
            acks = []
            for kind, what, req in batch:
                reply = self.reader.text()
                lines = reply if isinstance(reply, list) else [reply]
                if not all(l.endswith(b"\r\n") for l in lines):
                    return  # cut off by the kill: not acknowledged
                self.replies += 1
                if kind == "create":
                    self.created(what, reply)
                elif kind == "update":
                    self.updated(what, reply)
                elif kind == "consume":
                    if not isinstance(reply, list):
                        raise TestFailure("%r answered %r" % (req, reply))
                    acks = [fields(l)["id"] for l in reply[1:]]
                elif reply.startswith(b"-"):
                    raise TestFailure("%r answered %r" % (req, reply))

    def created(self, customer, line):
        h = self.hist
        f = fields(line)
        want = create_fields(customer)
        if line.startswith(b"-") or any(f.get(k) != v for k, v in want.items()):
            raise TestFailure("CREATE for %s answered %r" % (customer, line))
        oid = int(f["id"])
        if customer in h.by_customer and h.by_customer[customer] != oid:
            raise TestFailure("CREATE for %s made order %d, and %d before" %
                              (customer, oid, h.by_customer[customer]))
        if oid in h.acked and h.acked[oid] != customer:
            raise TestFailure("order %d acknowledged for %s and for %s" %
                              (oid, h.acked[oid], customer))
        h.acked[oid] = customer
        h.by_customer[customer] = oid
        h.in_doubt.remove(customer)
        if f["status"] == "RESERVED":  # a replay of a moved order
            h.status[oid] = "RESERVED"
        else:
            h.status.setdefault(oid, "PENDING")
        if oid not in h.update_sent and self.rng.random() < 0.4:
            h.to_update.append(oid)

    def updated(self, oid, line):
        f = fields(line)
        if f.get("id") != str(oid) or f.get("status") != "RESERVED":
            raise TestFailure("UPDATE %d status=RESERVED answered %r" % (oid, line))
        self.hist.status[oid] = "RESERVED"


def rewrite_under_way(data):
    return any(n.startswith("journal.rewrite.") for n in os.listdir(data))


def verify(s, hist):
    """Every order against what was sent and acknowledged."""
    orders = [fields(line) for line in s.list_all()]
    ids = [int(o["id"]) for o in orders]
    check("ids contiguous from 1", ids == list(range(1, len(ids) + 1)),
          "(%d orders, first gap after %r)" %
          (len(ids), next((a for a, b in zip([0] + ids, ids) if b != a + 1), None)))
    seen = {}
    for o in orders:
        oid, c = int(o["id"]), o["customer"]
        if c not in hist.sent:
            raise TestFailure("order %d has a customer never sent: %r" % (oid, o))
        if c in seen:
            raise TestFailure("CREATE for %s made orders %d and %d" % (c, seen[c], oid))
        seen[c] = oid
        want = create_fields(c)
        got = {k: o.get(k) for k in want}
        if got != want:
            raise TestFailure("order %d: fields %r, sent %r" % (oid, got, want))
        acked = hist.status.get(oid)
        allowed = {"PENDING", "RESERVED"} if oid in hist.update_sent else {"PENDING"}
        if acked == "RESERVED":
            allowed = {"RESERVED"}
        if o["status"] not in allowed:
            raise TestFailure("order %d is %s; acknowledged %s, UPDATE %s" %
                              (oid, o["status"], acked,
                               "sent" if oid in hist.update_sent else "never sent"))
    lost = [oid for oid in hist.acked if oid > len(ids)]
    check("acknowledged orders all there", not lost,
          "%d lost, e.g. %r" % (len(lost), lost[:5]))
    for oid, c in hist.acked.items():
        if orders[oid - 1]["customer"] != c:
            raise TestFailure("order %d acknowledged for %s is %r" % (oid, c, orders[oid - 1]))
    return len(ids)


def compactions_done(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        s.sendall(b"METRICS\r\n")
        return int(fields(Reader(s).line())["journal_compactions"])
    finally:
        s.close()


rng = random.Random(SEED)
hist = History()
data = tempfile.mkdtemp(prefix="orderd-crash-")
compactions = mid_compaction = 0
orphans = []
try:
    for k in range(KILLS):
        srv = start(data, *FLAGS)
        log = srv.log()
        mid_compaction += log.count("event=stale_rewrite_removed")
        s = Session(srv)
        if k == 0:
            expect("channel", s.call("CHANNEL CREATE ticks maxlen=100"), b"+OK\r\n")
        # Cheap between rounds; the full check is at the end.
        got = int(s.info()["orders"])
        check("round %d: orders after restart" % k, got >= max(hist.acked, default=0),
              "%d, acknowledged up to %d (seed %d)" % (got, max(hist.acked, default=0), SEED))
        w = Writer(srv.port, k, hist, random.Random(rng.random()))
        w.start()
        # Each round, the server answers something before it dies.
        wait_for("round %d: the writer's first replies" % k, lambda: w.replies or w.error)
        deadline = time.monotonic() + COMPACTION_WAIT
        if k % 4 == 1:
            # Mid-compaction: as soon as its file appears.
            while not rewrite_under_way(data) and time.monotonic() < deadline and w.is_alive():
                time.sleep(0.001)
        elif k % 4 == 3:
            # After a compaction: the journal is a snapshot and a tail.
            while time.monotonic() < deadline and w.is_alive():
                if compactions_done(srv.port) > 0:
                    break
                time.sleep(0.02)
            time.sleep(rng.uniform(0, SECONDS))
        else:
            time.sleep(rng.uniform(0.05, 2 * SECONDS - 0.05))
        check("round %d: the writer still writing at the kill" % k, w.is_alive(),
              "(it stopped: %s)" % (w.error or "its connection ended"))
        log, left = kill9(srv)
        orphans += left
        compactions += log.count("event=compaction_done")
        w.join(30)
        check("round %d: writer ended" % k, not w.is_alive(), "(still blocked after the kill)")
        if w.error:
            raise TestFailure("round %d (seed %d): %s" % (k, SEED, w.error))
        if os.environ.get("CRASH_VERBOSE"):
            print("round %d: %.1f s, %d acknowledged, journal %d bytes" %
                  (k, time.monotonic() - deadline + COMPACTION_WAIT, len(hist.acked),
                   os.path.getsize(os.path.join(data, "journal"))))

    srv = start(data, *FLAGS)
    mid_compaction += srv.log().count("event=stale_rewrite_removed")
    s = Session(srv)
    n = verify(s, hist)
    compactions += int(s.info()["journal_compactions"])
    if KILLS >= 4:
        check("compactions happened", compactions > 0, "(none in %d rounds)" % KILLS)
    stop(srv)
    wait_gone(orphans)
finally:
    reap()
    shutil.rmtree(data, ignore_errors=True)
print("ok: %d kills, %d orders (%d acknowledged), %d compactions, %d kills mid-compaction, "
      "seed %d" % (KILLS, n, len(hist.acked), compactions, mid_compaction, SEED))
