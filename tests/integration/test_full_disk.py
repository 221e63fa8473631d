#!/usr/bin/python3
"""The full-disk drill, once with --fsync always and once with everysec.
orderd keeps its journal on a small tmpfs this test mounts, next to a
filler file, with --journal-reserve 1 MiB and compaction off; a pipelined
writer CREATEs orders (sagas on) until the disk is full. Then:

- changes are refused with -STORE and a reason, before anything changes:
  CREATE, UPDATE, CANCEL, STOCK SET, a durable PUBLISH and CONSUME all
  leave what they touch as it was, and the orders that exist are exactly
  the acknowledged ones;
- reads (PING, GET, LIST, DLQ LIST, INFO, STOCK, SIM, CHANNEL INFO, and a
  PUBLISH to a plain pub/sub channel) still answer, each within 1 s;
  INFO store says store_refusing:1 and shows journal_reserved_bytes, and
  /readyz answers 503;
- the idle server does not spin (under 10% of one core);
- SIGTERM exits 0 within 5 s, still full;
- a restart on the full disk comes up: reads served, writes refused, every
  acknowledged order there and no other;
- deleting the filler lets writes resume by themselves within 5 s
  (store_refusing:0, space reserved again, /readyz 200), and a pipelined
  burst of CREATEs is acknowledged;
- after one more clean restart every order acknowledged in any phase is
  there, and nothing else.

Needs root (it mounts a tmpfs); CI runs as root, so without it the test
fails rather than skips."""
import contextlib
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Orderd, Reader, TestFailure, check, expect, readyz,  # noqa: E402
                     resp_command, tmpfs, wait_for)

POLICIES = ("always", "everysec")
# 32 MiB of tmpfs with a 16 MiB filler: about 16 MiB of journal (some
# 5,000 orders with their sagas) fills it. Deleting the filler gives back
# 16 MiB: room for the burst and for what the sagas held up meanwhile
# write when they resume (3 MiB; 6 MiB when the outage outlasted their
# 5 s step timeouts and every step is retried).
TMPFS_SIZE = "32m"
FILLER_MIB = 16
RESERVE = 1 << 20
FLAGS = ("--compact-min", str(1 << 30), "--journal-reserve", str(RESERVE))
BATCH = 200
# A bound on filling, not an expectation: it takes well under a second.
FILL_TIMEOUT = 60.0
# While full, each read must be answered within this.
READ_BOUND = 1.0
# An idle orderd does next to nothing (a one-second tick that retries the
# reservation): it must use under 10% of one core over the sample. That
# leaves room for ASan and a busy machine and still catches a loop that
# retries without pause (100%).
IDLE_CPU_MAX = 0.10
IDLE_SAMPLE = 2.0
# SIGTERM on a full disk: exit 0 within this.
EXIT_BOUND = 5.0
# Space back: the reservation is retried every second.
RESUME_BOUND = 5.0
RESUME_POLL = 0.1


def log_tail(srv, n=40):
    return "\n".join(srv.log().splitlines()[-n:])


@contextlib.contextmanager
def running(data, policy):
    """An orderd on data; on a failure inside, its log tail is printed
    (the harness prints the log only for a bad exit status)."""
    srv = Orderd("--data", data, "--fsync", policy, *FLAGS)
    with srv:
        try:
            yield srv
        except BaseException:
            print("FAIL: orderd's log (last lines):\n" + log_tail(srv), file=sys.stderr)
            raise


def small_disk():
    return tmpfs(TMPFS_SIZE, "test_full_disk")


def create_args(tag, n):
    return ("CREATE", "customer=%s-%d" % (tag, n), "item=book", "qty=1", "amount=1.00")


def create(tag, n):
    return resp_command(*create_args(tag, n))


def is_error(reply):
    return isinstance(reply, tuple) and reply[0] == b"-"


def is_store_error(reply):
    """-STORE <reason>: the code and a reason after it."""
    return is_error(reply) and reply[1].startswith(b"STORE ") and len(reply[1].strip()) > 6


def created_id(name, reply):
    """The id of an order record (id, <n>, status, ...)."""
    if not (isinstance(reply, list) and reply[:1] == [b"id"] and isinstance(reply[1], int)):
        raise TestFailure("%s: not an order record: %r" % (name, reply))
    return reply[1]


def call(rd, *args):
    rd.sock.sendall(resp_command(*args))
    return rd.resp()


def info_store(rd):
    """INFO store as a dict."""
    text = call(rd, "INFO", "store")
    check("INFO store answers", isinstance(text, bytes), repr(text))
    out = {}
    for line in text.decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def all_ids(rd):
    """Every order id, paging LIST."""
    ids, after = [], 0
    while True:
        page = call(rd, "LIST", "after=%d" % after, "limit=1000")
        check("LIST after=%d" % after, isinstance(page, list), repr(page)[:200])
        if not page:
            return ids
        for rec in page:
            ids.append(created_id("LIST", rec))
        after = ids[-1]


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(srv, tag, mnt):
    """Pipelines CREATEs in batches, reading every reply, until the disk is
    full: the store refuses, and less than the reservation is left, so its
    retry cannot succeed. (A batch bigger than the room left is refused
    while the reservation can still be made: a second later the store
    takes writes again, and the disk is not full yet.) Returns (the
    acknowledged ids, the first refusal of the full disk)."""
    rd = Reader(srv.connect())
    acked, refusal, n = [], None, 0
    deadline = time.monotonic() + FILL_TIMEOUT
    while refusal is None or free_bytes(mnt) >= RESERVE:
        if refusal is not None:
            refusal = None
            time.sleep(RESUME_POLL)  # the store retries its reservation each second
        if time.monotonic() > deadline:
            raise TestFailure("the disk never filled: %d orders acknowledged in %.0f s; INFO "
                              "store: %r" % (len(acked), FILL_TIMEOUT, info_store(rd)))
        rd.sock.sendall(b"".join(create(tag, n + i) for i in range(BATCH)))
        for i in range(BATCH):
            reply = rd.resp()
            if is_store_error(reply):
                refusal = refusal or reply
            elif is_error(reply):
                raise TestFailure("CREATE %s-%d: %r" % (tag, n + i, reply))
            else:
                acked.append(created_id("CREATE %s-%d" % (tag, n + i), reply))
        n += BATCH
    check("orders acknowledged before the disk filled", len(acked) > BATCH, str(len(acked)))
    return acked, refusal


READS = (("PING",), ("GET", None), ("LIST", "limit=5"), ("DLQ", "LIST"), ("INFO",),
         ("STOCK", "book"), ("SIM",), ("CHANNEL", "INFO", "drill"), ("PUBLISH", "chat", "hi"))


def reads_answer(srv, some_id):
    """Each read answers, within READ_BOUND, and not with an error. Returns
    the replies by request."""
    rd = Reader(srv.connect(), timeout=READ_BOUND)
    out = {}
    for args in READS:
        args = tuple(str(some_id) if a is None else a for a in args)
        name = " ".join(args) + " while the disk is full"
        t = time.monotonic()
        try:
            reply = call(rd, *args)
        except TestFailure as e:
            raise TestFailure("%s: no answer within %.1f s (%s)" % (name, READ_BOUND, e))
        took = time.monotonic() - t
        check(name, not is_error(reply), "answered %r" % (reply,))
        check(name + ": answered within %.1f s" % READ_BOUND, took < READ_BOUND,
              "took %.3f s" % took)
        out[args[0]] = reply
    expect("GET %d while the disk is full" % some_id, created_id("GET", out["GET"]), some_id)
    expect("PING while the disk is full", out["PING"], (b"+", b"PONG"))
    rd.sock.close()
    return out


def refused(rd, what, *args):
    reply = call(rd, *args)
    check("%s while the disk is full is refused with -STORE <reason>" % what,
          is_store_error(reply), "got %r" % (reply,))


def refusing(rd, port, policy):
    """Writes are refused with -STORE; INFO store and /readyz say so."""
    refused(rd, "CREATE", *create_args("refused", 0))
    st = info_store(rd)
    expect("INFO store: store_refusing", st.get("store_refusing"), "1")
    check("INFO store: journal_reserved_bytes", st.get("journal_reserved_bytes", "").isdigit(),
          repr(st))
    expect("INFO store: fsync", st.get("fsync"), policy)
    status, body = readyz(port)
    expect("/readyz while the disk is full", status, 503)
    check("/readyz says why", "store" in body, repr(body))


def nothing_changes(rd, some_id):
    """Refused changes of every kind leave what they touch as it was."""
    order = call(rd, "GET", str(some_id))
    stock = call(rd, "STOCK", "book")
    chan = call(rd, "CHANNEL", "INFO", "drill")
    refused(rd, "CANCEL", "CANCEL", str(some_id))
    refused(rd, "UPDATE", "UPDATE", str(some_id), "status=FAILED")
    refused(rd, "STOCK SET", "STOCK", "SET", "book", "7")
    refused(rd, "a durable PUBLISH", "PUBLISH", "drill", "while-full")
    refused(rd, "CONSUME", "CONSUME", "drill", "group=g", "consumer=c")
    expect("the order after a refused CANCEL and UPDATE", call(rd, "GET", str(some_id)), order)
    expect("the stock after a refused STOCK SET", call(rd, "STOCK", "book"), stock)
    expect("the channel after a refused PUBLISH and CONSUME",
           call(rd, "CHANNEL", "INFO", "drill"), chan)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime: fields 14 and 15 of stat, 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(srv):
    """The share of one core the process used over IDLE_SAMPLE seconds."""
    pid = srv.proc.pid
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(IDLE_SAMPLE)  # the measuring window, not a wait for anything
    c1, t1 = cpu_seconds(pid), time.monotonic()
    return (c1 - c0) / (t1 - t0)


def sigterm_exits(srv, what):
    srv.proc.send_signal(signal.SIGTERM)
    try:
        status = srv.proc.wait(timeout=EXIT_BOUND)
    except subprocess.TimeoutExpired:
        raise TestFailure("%s: orderd did not exit within %.0f s of SIGTERM" % (what, EXIT_BOUND))
    expect("%s: exit status after SIGTERM" % what, status, 0)


def check_orders(rd, want, what):
    """The orders there are exactly want: every acknowledged one, and none
    that a refusal could have half made."""
    got = all_ids(rd)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    check("%s: every acknowledged order is there" % what, not missing,
          "%d of %d missing, first %r" % (len(missing), len(want), missing[:10]))
    check("%s: no order that was not acknowledged" % what, not extra,
          "%d extra, first %r" % (len(extra), extra[:10]))


def drill(policy):
    with small_disk() as mnt:
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            chunk = bytes(range(256)) * 4096  # 1 MiB of real bytes
            for _ in range(FILLER_MIB):
                f.write(chunk)
        data = os.path.join(mnt, "data")
        t0 = time.monotonic()

        # 1. Fill the disk; look at the full server; SIGTERM.
        with running(data, policy) as srv:
            port = srv.http_port()
            rd = Reader(srv.connect())
            expect("CHANNEL CREATE drill", call(rd, "CHANNEL", "CREATE", "drill"), (b"+", b"OK"))
            check("PUBLISH drill", isinstance(call(rd, "PUBLISH", "drill", "m1"), int))
            acked, refusal = fill(srv, "fill", mnt)
            t_fill = time.monotonic() - t0
            reads_answer(srv, acked[-1])
            refusing(rd, port, policy)
            nothing_changes(rd, acked[-1])
            cpu = idle_cpu(srv)
            check("idle while the disk is full: under %d%% of one core" % (IDLE_CPU_MAX * 100),
                  cpu < IDLE_CPU_MAX, "used %.1f%%" % (cpu * 100))
            sigterm_exits(srv, "on the full disk")

        # 2. Restart on the full disk: up, reads served, writes refused,
        # every acknowledged order there and no other.
        with running(data, policy) as srv:
            port = srv.http_port()
            rd = Reader(srv.connect())
            check_orders(rd, acked, "restarted on the full disk")
            reads_answer(srv, acked[0])
            refusing(rd, port, policy)

            # 3. Space back: writes resume by themselves.
            os.unlink(filler)
            late = []

            def created():
                reply = call(rd, *create_args("late", len(late)))
                if is_store_error(reply):
                    return False
                late.append(created_id("CREATE once the filler is gone", reply))
                return True
            wait_for("a CREATE to succeed within %.0f s of deleting the filler" % RESUME_BOUND,
                     created, timeout=RESUME_BOUND, step=RESUME_POLL)
            st = info_store(rd)
            expect("INFO store: store_refusing once space is back", st.get("store_refusing"), "0")
            check("INFO store: space reserved again", int(st["journal_reserved_bytes"]) > 0,
                  repr(st))
            expect("/readyz once space is back", readyz(port), (200, "ready\n"))
            rd.sock.sendall(b"".join(create("burst", i) for i in range(BATCH)))
            for i in range(BATCH):
                late.append(created_id("burst CREATE %d" % i, rd.resp()))
            check_orders(rd, acked + late, "after the burst")

        # 4. One more clean restart: every order of every phase.
        with running(data, policy) as srv:
            check_orders(Reader(srv.connect()), acked + late, "after the last restart")
    print("ok: --fsync %s: %d orders filled the disk (%.1f s), then -%s...; idle at %.1f%% "
          "of a core; %d orders after space came back; %.1f s in all"
          % (policy, len(acked), t_fill, refusal[1].decode()[:60], cpu * 100, len(late),
             time.monotonic() - t0))


for p in POLICIES:
    drill(p)
