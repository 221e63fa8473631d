"""Shared by the persistence tests (test_restart_*, test_crash_*,
test_journal_*, test_compaction_*, test_saga_survives_restart): servers that
come and go on one data directory, a plain-text session to talk to them,
and the journal's framing for the tests that cut or corrupt the file.

    srv = start(data_dir, "--fsync", "always")   # started, checked it came up
    s = Session(srv)
    s.call("CREATE customer=a item=b qty=1 amount=1.00")   # b"id=1 status=..."
    kill9(srv)                                    # a crash: no exit status to check
    srv = start(data_dir)                         # recovery must start cleanly
    stop(srv)                                     # SIGTERM: status 0, clean log
    srv = start(data_dir, saga=True)              # with sagas (default: --saga off)

Servers are harness.Orderd processes, so the log and sanitizer checks are
the same as everywhere else; only kill9() skips the exit status.
"""
import os
import re
import struct
import sys
import time

from harness import SANITIZER_MARKS, Orderd, Reader, TestFailure, check, expect, wait_for

# ASan builds are slower: tests scale their bounds on waiting.
ASAN = "asan" in os.path.realpath(os.environ.get("ORDERD", ""))


def scaled(release, asan):
    return asan if ASAN else release


_started = []


def start(data, *flags, saga=False):
    """An orderd on data (its journal directory), up and accepting."""
    # Most of these tests move orders themselves (UPDATE, CANCEL): no
    # sagas, unless the test is about them (saga=True).
    srv = Orderd("--data", data, *(() if saga else ("--saga", "off")), *flags)
    _started.append(srv)
    srv.__enter__()
    log = srv.log()
    bad = [m for m in SANITIZER_MARKS if m in log] + \
        [line for line in log.splitlines() if "level=error" in line]
    if bad:
        srv.stop()
        raise TestFailure("orderd started with errors in its log:\n" + log)
    return srv


def stop(srv):
    """SIGTERM; fails unless orderd exited 0 with a clean log."""
    srv.__exit__(None, None, None)


def reap():
    """For a test's `finally`: kills any server a failure left running."""
    for srv in _started:
        if srv.proc is not None and srv.proc.poll() is None:
            srv._kill()
            print("FAIL: its log:\n" + srv.log(), file=sys.stderr)
        srv._cleanup_tmp()


def children(pid):
    """Pids of pid's children (a compaction's snapshot writer)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def kill9(srv):
    """A crash: SIGKILL, no shutdown. Returns (its log, the pids of any
    snapshot writers it left running, which finish on their own)."""
    orphans = children(srv.proc.pid)
    srv.proc.kill()
    srv.proc.wait()
    log = srv.log()
    for s in srv._socks:
        try:
            s.close()
        except OSError:
            pass
    srv._cleanup_tmp()
    bad = [m for m in SANITIZER_MARKS if m in log]
    if bad:
        raise TestFailure("sanitizer report before the kill:\n" + log)
    return log, orphans


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False


def wait_gone(pids, timeout=20.0):
    """Waits (bounded) for processes we do not own to end."""
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            raise TestFailure("snapshot writers still running: %r" % [p for p in pids if alive(p)])
        time.sleep(0.02)


class Session:
    """One connection speaking inline text: a request is a line, a reply a
    line (or, for lists, a list of lines). Text replies compare exactly,
    which is what a restart test wants."""

    def __init__(self, srv):
        self.sock = srv.connect()
        self.reader = Reader(self.sock)

    def call(self, line):
        return self.pipeline([line])[0]

    def pipeline(self, lines, batch=1000):
        """Sends the lines in batches, each batch pipelined, and returns
        the replies in order."""
        out = []
        for i in range(0, len(lines), batch):
            chunk = lines[i:i + batch]
            self.sock.sendall("".join(l + "\r\n" for l in chunk).encode())
            for _ in chunk:
                out.append(self.reader.text())
        return out

    def list_all(self, *filters):
        """Every order LIST returns with these filters, paging with after=."""
        after, out = 0, []
        while True:
            page = self.call("LIST %s after=%d limit=1000" % (" ".join(filters), after))
            if not isinstance(page, list):
                raise TestFailure("LIST answered %r" % page)
            if len(page) == 1:
                return out
            out.extend(page[1:])
            after = int(fields(page[-1])["id"])

    def info(self):
        return fields(self.call("METRICS"))

    def close(self):
        self.sock.close()


_FIELD = re.compile(rb'([a-z_]+)=("(?:[^"\\]|\\.)*"|\S*)')


def fields(line):
    """A text record as a dict of str -> str (quoted values kept quoted)."""
    if not isinstance(line, bytes):
        raise TestFailure("not a record: %r" % (line,))
    return {k.decode(): v.decode(errors="replace") for k, v in _FIELD.findall(line)}


# --- durable channels: a state with every kind of record ----------------

def make_channels(s):
    """Durable channel state of every kind, pinned down by the replies: two
    channels, three groups; acks; NACKs at once, with a delay and with the
    backoff; three dead letters (maxdeliver=2), one replayed, one purged;
    messages left in flight with s's connection as their consumer (keep it
    open to the end to keep them in flight). CHANNEL_REQUESTS then ask
    about all of it."""
    def run(line, want):
        got = s.call(line)
        expect(line, got, want)

    run("CHANNEL CREATE jobs ackwait=600000 maxdeliver=2", b"+OK\r\n")
    run("CHANNEL CREATE audit ackwait=600000", b"+OK\r\n")
    pub = ['PUBLISH jobs "job %d: {\\"n\\": %d}"' % (k, k) for k in range(1, 51)] + \
          ["PUBLISH audit entry-%d" % k for k in range(1, 31)]
    for line, got in zip(pub, s.pipeline(pub)):
        expect(line, got, b":0\r\n")

    got = s.call("CONSUME jobs group=billing consumer=c1 count=20")
    expect("first delivery", len(got), 21)
    s.pipeline(["ACK jobs group=billing %d" % k for k in range(1, 11)])
    # Offsets 11, 15 and 16 reach maxdeliver=2 and go to the DLQ (entries 1,
    # 2, 3); entry 2 is replayed, entry 3 purged.
    for off, reason in ((11, " reason=poison"), (15, ' reason="bad input"'), (16, "")):
        run("NACK jobs group=billing %d delay=0" % off, b":1\r\n")
        got = s.call("CONSUME jobs group=billing consumer=c2 count=1")
        check("redelivery of %d" % off, len(got) == 2 and
              got[1].startswith(b"id=%d deliveries=2 " % off), repr(got))
        run("NACK jobs group=billing %d%s" % (off, reason), b":1\r\n")
    run("DLQ REPLAY 2", b":1\r\n")
    run("DLQ PURGE 3", b":1\r\n")
    run('NACK jobs group=billing 12 delay=600000 reason="try later"', b":1\r\n")
    run("NACK jobs group=billing 13 reason=backoff", b":1\r\n")  # ready after its backoff
    # 14, 17..20 stay in flight with c1.

    got = s.call("CONSUME jobs group=auditors consumer=a1 count=5")
    expect("auditors", len(got), 6)
    s.pipeline(["ACK jobs group=auditors %d" % k for k in range(1, 6)])
    got = s.call("CONSUME audit group=g2 consumer=x count=10")
    expect("audit delivery", len(got), 11)
    run("ACK audit group=g2 1 2 3 4 5", b":5\r\n")
    run("NACK audit group=g2 6 delay=0", b":1\r\n")

    # The backoff NACK falls due on a timer: wait, so the answers are stable.
    wait_for("NACKed offset 13 to be ready",
             lambda: any(l.startswith(b"id=13 ") and b" state=ready " in l
                         for l in s.call("PENDING jobs group=billing")[1:]))


CHANNEL_REQUESTS = [
    "GROUPS jobs", "GROUPS audit", "PENDING jobs group=billing", "PENDING jobs group=auditors",
    "PENDING audit group=g2", "READ jobs count=1000", "READ audit count=1000", "READ jobs.DLT",
    "DLQ LIST", "DLQ SHOW 1", "DLQ SHOW 2", "DLQ SHOW 3", "CHANNELS", "CHANNEL INFO jobs",
    "CHANNEL INFO audit", "CHANNEL INFO jobs.DLT"]


# --- answers before and after a restart ------------------------------

def live_masked(ans):
    """The answers without what only describes the live process: GROUPS
    `consumers` (consumers with a connection) and `waiting` (blocked
    CONSUMEs), and PENDING `idle_ms` (measured from now)."""
    def group(line):
        return re.sub(rb"consumers=\d+ (.*)waiting=\d+", rb"consumers=- \1waiting=-", line)

    def pend(line):
        return re.sub(rb"idle_ms=\d+", b"idle_ms=-", line)

    out = {}
    for k, v in ans.items():
        if k.startswith("GROUPS"):
            v = [v[0]] + [group(l) for l in v[1:]]
        elif k.startswith("PENDING"):
            v = [v[0]] + [pend(l) for l in v[1:]]
        out[k] = v
    return out


def restarted(before):
    """The answers a restarted server must give, from those before it: the
    same, except that a message that was in flight (`state=inflight`, `due`
    its ack deadline) was delivered to a consumer of the old process, so it
    is `ready` at once (`due` nil) for redelivery to any consumer, as after
    a lost consumer. Delayed NACKs keep their due times."""
    def pend(line):
        if b" state=inflight " in line:
            line = re.sub(rb" state=inflight (.*) due=\S+", rb" state=ready \1 due=(nil)", line)
        return line

    out = live_masked(before)
    for k, v in out.items():
        if k.startswith("PENDING"):
            out[k] = [v[0]] + [pend(l) for l in v[1:]]
    return out


def compare(name, want, got):
    """Fails naming the requests whose answers differ (want and got map
    request -> answer), with the first difference of each."""
    bad = [k for k in want if want[k] != got.get(k)]
    if not bad:
        return
    out = []
    for k in bad:
        w, g = want[k], got.get(k)
        if isinstance(w, list) and isinstance(g, list):
            diff = [(a, b) for a, b in zip(w, g) if a != b][:2]
            out.append("%s: %d/%d lines, first differences %r" % (k, len(w), len(g), diff))
        else:
            out.append("%s:\n    want %r\n    got  %r" % (k, w, g))
    raise TestFailure("%s: %d answers differ:\n  %s" % (name, len(bad), "\n  ".join(out[:8])))


# --- the journal's framing (server/store/journal.h) ---------------------------

MAGIC = b"ORDERDJ1"
HEADER = 9  # u32 length, u8 type, u32 CRC-32C
COMMIT = 0x80  # in the type: the last record of a commit (0x80 alone: only that)


def _walk(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != MAGIC:
        raise TestFailure("%s: bad magic %r" % (path, data[:8]))
    off, out = 8, []
    while off < len(data):
        length, rtype = struct.unpack_from("<IB", data, off)
        if off + HEADER + length > len(data):
            raise TestFailure("%s: record at %d runs past the end" % (path, off))
        out.append((off, length, rtype))
        off += HEADER + length
    return out


def records(path):
    """(offset, payload length, type) of each record in a well-formed
    journal, the type without the COMMIT mark (a record that only ends a
    commit has type 0)."""
    return [(off, length, rtype & ~COMMIT) for off, length, rtype in _walk(path)]


def commit_ends(path):
    """The offsets where the journal's commits end (recovery takes whole
    commits: a bad record is cut with the rest of its commit)."""
    return [off + HEADER + length for off, length, rtype in _walk(path) if rtype & COMMIT]


def commit_start(ends, offset):
    """Where the commit holding the record at offset starts."""
    return max([8] + [e for e in ends if e <= offset])
