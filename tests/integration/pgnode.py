"""Shared by the test_pg_* tests: orderd nodes on a PostgreSQL database the
test starts itself (pglib.Postgres), so that it can stop it, lock its
tables or run two nodes on it. These tests run in the journal pass (no
`# stores:` line): they bring their own PostgreSQL.

    with pglib.Postgres() as pg:
        db = fresh_database(pg)                    # a database of its own
        a = start(pg, db, "node-a", "--saga", "off")
        c = Conn(a)                                # sagalib's RESP client
        ...
        kill9(a)                                   # a crash, no status to check
        a = start(pg, db, "node-a")                # same name: takes the lease back
        stop(a)                                    # SIGTERM: exit 0, clean log
    # in a `finally`: reap() kills whatever a failure left running

Nodes are harness.Orderd processes (the same log and sanitizer checks);
their flags say --store postgres themselves, so the harness leaves the
store alone. Waits are polls with deadlines, scaled for ASan."""
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time

from harness import (SANITIZER_MARKS, Orderd, Reader, TestFailure, check,  # noqa: F401
                     readyz, resp_command, wait_for)

# ASan builds are slower: bounds on waiting are scaled.
ASAN = "asan" in os.path.realpath(os.environ.get("ORDERD", ""))


def scaled(release, asan):
    return asan if ASAN else release


_started = []
_dbs = itertools.count(1)


def fresh_database(pg, prefix="t"):
    """A new, empty database on pg; its name."""
    name = "%s_%d_%d" % (prefix, os.getpid(), next(_dbs))
    pg.create_database(name)
    return name


def node_flags(pg, db, name, *flags):
    return ("--store", "postgres", "--pg", pg.conninfo(db), "--node-name", name) + flags


def start(pg, db, name, *flags, env=None):
    """An orderd named name on database db of pg, up and accepting (active
    or standby: it accepts connections either way)."""
    srv = Orderd(*node_flags(pg, db, name, *flags), env=env)
    srv.__enter__()
    _started.append(srv)
    return srv


def spawn(pg, db, name, *flags):
    """Like start(), but does not wait for it to accept: for starting
    several at the same moment. Wait with accepting(srv)."""
    binary = os.path.realpath(os.environ["ORDERD"])
    srv = Orderd(*node_flags(pg, db, name, *flags))
    from harness import free_port
    srv.port = free_port()
    log = open(srv.log_path, "ab")
    srv.proc = subprocess.Popen([binary, "--port", str(srv.port), "--http-port", "0",
                                 "--data", os.path.join(srv.tmp, "data")] + srv.flags,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
    _started.append(srv)
    return srv


def accepting(srv, timeout=None):
    """Waits until srv accepts connections; fails if it exits first."""
    import socket

    def up():
        if srv.proc.poll() is not None:
            raise TestFailure("orderd exited with %s at start; its log:\n%s"
                              % (srv.proc.returncode, srv.log()))
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for("orderd %s to accept connections" % srv.port, up,
             timeout=timeout or scaled(10.0, 30.0))


def _close_socks(srv):
    for s in srv._socks:
        try:
            s.close()
        except OSError:
            pass


def sanitizer_clean(srv):
    bad = [m for m in SANITIZER_MARKS if m in srv.log()]
    if bad:
        raise TestFailure("sanitizer report in orderd's log:\n" + srv.log())


def kill9(srv):
    """A crash: SIGKILL, no shutdown. Returns its log."""
    srv.proc.kill()
    srv.proc.wait()
    _close_socks(srv)
    log = srv.log()
    sanitizer_clean(srv)
    return log


def stop(srv):
    """SIGTERM; fails unless it exits 0 with a clean log."""
    srv.__exit__(None, None, None)


def exit_status(srv, timeout):
    """Waits (bounded) for srv to end by itself; its exit status."""
    try:
        return srv.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TestFailure("orderd (pid %d) still running after %.1f s; its log:\n%s"
                          % (srv.proc.pid, timeout, log_tail(srv)))


def reap():
    """For a test's `finally`: kills what a failure left running (SIGCONT
    first, in case it was stopped), removes the temp dirs."""
    for srv in _started:
        if srv.proc is not None and srv.proc.poll() is None:
            try:
                os.kill(srv.proc.pid, signal.SIGCONT)
            except OSError:
                pass
            srv._kill()
            print("FAIL: left running; its log:\n" + log_tail(srv), file=sys.stderr)
        srv._cleanup_tmp()


def log_tail(srv, n=60):
    return "\n".join(srv.log().splitlines()[-n:])


def metrics(srv):
    """METRICS as a dict of str -> str (a fresh connection)."""
    return srv.info()


def wait_role(srv, role, timeout):
    """Polls METRICS until role is `role`; the time it took."""
    t0 = time.monotonic()
    seen = []

    def probe():
        seen[:] = [metrics(srv).get("role")]
        return seen[0] == role
    try:
        wait_for("role:%s" % role, probe, timeout=timeout, step=0.05)
    except TestFailure as e:
        raise TestFailure("%s (last role:%s); log:\n%s" % (e, seen and seen[0], log_tail(srv)))
    return time.monotonic() - t0


def rows(pg, db, sql):
    return pg.psql(sql, db)


def check_clean_log(srv, allowed=()):
    """No level=error line but those matching one of the allowed regexes."""
    bad = [l for l in srv.log().splitlines() if "level=error" in l and
           not any(re.search(a, l) for a in allowed)]
    check("no unexpected errors in the log", not bad, "\n".join(bad[:10]))


class Conn:
    """A RESP connection that times each request: call() answers (reply,
    seconds). Its own socket (not closed by the harness): close() it."""

    def __init__(self, port, timeout=20.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = Reader(self.sock, timeout=timeout)

    def send(self, *args):
        self.sock.sendall(resp_command(*args))

    def read(self):
        return self.reader.resp()

    def call(self, *args):
        t = time.monotonic()
        self.send(*args)
        r = self.read()
        return r, time.monotonic() - t

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
