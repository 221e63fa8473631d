"""Shared by the Python integration tests, as lib.sh is by the shell ones.

Starts the real orderd ($ORDERD) on a free port and stops it on leaving the
`with` block, failing the test if the server did not exit cleanly (a
sanitizer report, a crash, a non-zero status):

    with Orderd("--max-inline", "1024") as srv:
        s = srv.connect()
        s.sendall(b"PING\\r\\n")
        expect("ping", read_line(s), b"+PONG\\r\\n")

Helpers read from plain sockets with deadlines, so a server that hangs
fails the test instead of stalling it.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
# Bounds on waiting, not timing expectations: generous for a shared machine
# and an ASan build.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 20.0
READ_TIMEOUT = 20.0


class TestFailure(AssertionError):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Orderd:
    """One orderd process; a context manager that checks how it ended."""

    def __init__(self, *flags, env=None):
        self.flags = [str(f) for f in flags]
        self.env = env
        self.port = None
        self.proc = None
        self.tmp = tempfile.mkdtemp(prefix="orderd-test-")
        self.log_path = os.path.join(self.tmp, "orderd.log")
        self._socks = []
        self._pg_data = None  # the data dir a PostgreSQL database stands for, if ours

    def __enter__(self):
        binary = os.environ.get("ORDERD")
        if not binary:
            raise TestFailure("ORDERD must name the orderd binary")
        binary = os.path.realpath(binary)
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        # The protocol port: a free one, unless the test picks it; with
        # `--port off` (TLS only) there is none, and start-up is over when
        # the log says event=started.
        given = self.flags[self.flags.index("--port") + 1] if "--port" in self.flags[:-1] else None
        self.port = None if given == "off" else int(given) if given else free_port()
        port_flags = [] if given else ["--port", str(self.port)]
        try:
            store, flags = self._store_args()
        except TestFailure:
            self._cleanup_tmp()
            raise
        with open(self.log_path, "ab") as log:
            # The HTTP side door on a free port, unless the test picks one.
            if "--http-port" not in flags:
                store += ["--http-port", "0"]
            self.proc = subprocess.Popen([binary] + port_flags + store + flags,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                self._failed_start("orderd exited at start with %s" % self.proc.returncode)
            try:
                if self.port is None:
                    if "event=started" not in self.log():
                        raise OSError("not started yet")
                else:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self._kill()
                    self._failed_start("orderd did not start")
                time.sleep(0.025)
        return self

    def _failed_start(self, what):
        """Raises the failure with the log in it; the `with` block was not
        entered, so nothing else would remove the temp dir (or the
        database that stood for it)."""
        log = self.log()
        self._cleanup_tmp()
        raise TestFailure("%s; its log:\n%s" % (what, log))

    def _store_args(self):
        """Where this server keeps its state, as flags, and the test's own
        flags less what those replace.

        The journal goes to this server's temp dir unless the test names a
        directory (or another store) itself. With ORDERD_STORE=postgres
        (the runner's PostgreSQL pass) orderd gets instead `--store
        postgres --pg <conninfo>` on ORDERD_PG_BASE's cluster, in a
        database named after the data directory it would have used (the
        test's --data, taken out, or its temp dir's): a test that restarts
        orderd on one --data finds its database again. A test that picks
        its store (--store memory) runs as it asks. The node is named after
        the data directory too, so that orderd started again on it takes
        its lease back at once, as it would find its journal."""
        flags = list(self.flags)
        mode = os.environ.get("ORDERD_STORE", "")
        if mode not in ("", "journal", "postgres"):
            raise TestFailure("ORDERD_STORE=%s: the harness knows journal and postgres" % mode)
        picked = flags[flags.index("--store") + 1] if "--store" in flags[:-1] else None
        if mode == "postgres" and picked is None:
            if "--data" in flags[:-1]:
                i = flags.index("--data")
                data = flags[i + 1]
                del flags[i:i + 2]
            else:
                data = os.path.join(self.tmp, "data")
                self._pg_data = data  # ours: its database goes with the temp dir
            import pglib
            try:
                conninfo = pglib.orderd_conninfo(data)
            except pglib.PgError as e:
                raise TestFailure(str(e))
            # One node per data directory: started again on it (on another
            # port), it takes its lease back at once, as a restarted
            # journal server finds its file.
            node = [] if "--node-name" in flags else \
                ["--node-name", pglib.orderd_database(data)]
            return ["--store", "postgres", "--pg", conninfo] + node, flags
        if "--data" in flags or picked == "memory":
            return [], flags
        return ["--data", os.path.join(self.tmp, "data")], flags

    def __exit__(self, exc_type, exc, tb):
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass
        status = self.stop()
        log = self.log()
        bad = [m for m in SANITIZER_MARKS if m in log]
        try:
            if status != 0 or bad:
                msg = "orderd exited with status %s; its log:\n%s" % (status, log)
                if exc_type is not None:
                    # Keep the test's own failure as the cause.
                    print("FAIL: " + msg, file=sys.stderr)
                    return False
                raise TestFailure(msg)
        finally:
            self._cleanup_tmp()
        return False

    def stop(self, sig=signal.SIGTERM):
        """Signals orderd and returns its exit status (None if it hung and
        had to be killed)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill()
            return None

    def _kill(self):
        self.proc.kill()
        self.proc.wait()

    def _cleanup_tmp(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        data, self._pg_data = self._pg_data, None
        if data is not None:
            import pglib
            try:
                pglib.drop_orderd_database(data)
            except pglib.PgError as e:
                print("cannot drop this server's database: %s" % e, file=sys.stderr)

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def http_port(self):
        """The HTTP port orderd picked (--http-port 0), from its log line
        event=http_listening, which may come a moment after the protocol
        port accepts: polled, with a deadline."""
        import re
        found = wait_for("the http_listening line in the log",
                         lambda: re.search(r"event=http_listening addr=[0-9.]+:(\d+)",
                                           self.log()), timeout=START_TIMEOUT)
        return int(found.group(1))

    def tls_port(self):
        """The TLS protocol port orderd picked (--tls-port 0), from its log
        line event=tls_listening, polled as http_port() is."""
        import re
        found = wait_for("the tls_listening line in the log",
                         lambda: re.search(r"event=tls_listening addr=[0-9.]+:(\d+)",
                                           self.log()), timeout=START_TIMEOUT)
        return int(found.group(1))

    def connect(self, timeout=READ_TIMEOUT):
        """A plain socket to the server, closed at the end if still open."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socks.append(s)
        return s

    def redis(self, **kw):
        import redis  # Debian's python3-redis
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", READ_TIMEOUT)
        r = redis.Redis(host="127.0.0.1", port=self.port, **kw)
        # redis-py reshapes the replies of Redis commands that share a name
        # with ours (PING -> bool, INFO -> dict from text): take them raw.
        r.response_callbacks.clear()
        return r

    def info(self, **kw):
        """METRICS as a dict of str -> str, over a fresh connection (kw:
        redis-py's, e.g. username= and password= on a server with users)."""
        r = self.redis(**kw)
        try:
            flat = r.execute_command("METRICS")
        finally:
            r.close()
        return {flat[i]: str(flat[i + 1]) for i in range(0, len(flat), 2)}


def expect(name, got, want):
    if got != want:
        raise TestFailure("%s:\n  want %r\n  got  %r" % (name, want, got))


def check(name, cond, detail=""):
    if not cond:
        raise TestFailure("%s %s" % (name, detail))


class Reader:
    """Buffered reads from a socket with a deadline on every wait."""

    def __init__(self, sock, timeout=READ_TIMEOUT):
        self.sock = sock
        self.buf = bytearray()
        self.timeout = timeout
        self.eof = False
        self.reset = False

    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("timed out waiting for the server; have %r" % bytes(self.buf[:200]))
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            raise TestFailure("timed out waiting for the server; have %r" % bytes(self.buf[:200]))
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def line(self):
        """The next line, CRLF included; b"" at EOF."""
        deadline = time.monotonic() + self.timeout
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                out = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return out
            if not self._fill(deadline):
                out = bytes(self.buf)
                self.buf.clear()
                return out

    def exactly(self, n):
        deadline = time.monotonic() + self.timeout
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise TestFailure("connection closed after %d of %d bytes" % (len(self.buf), n))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def resp(self):
        """One RESP value: bytes for strings, (b"+", s) status, (b"-", s)
        error, int, None, or a list."""
        line = self.line()
        if not line.endswith(b"\r\n"):
            raise TestFailure("expected a RESP line, got %r" % line)
        kind, body = line[:1], line[1:-2]
        if kind == b"+":
            return (b"+", body)
        if kind == b"-":
            return (b"-", body)
        if kind == b":":
            return int(body)
        if kind == b"$":
            n = int(body)
            if n < 0:
                return None
            data = self.exactly(n + 2)
            if data[-2:] != b"\r\n":
                raise TestFailure("bulk string not followed by CRLF: %r" % data)
            return data[:-2]
        if kind == b"*":
            return [self.resp() for _ in range(int(body))]
        raise TestFailure("not a RESP reply: %r" % line)

    def text(self):
        """One text-rendered reply (an inline request's): a line, or for a
        list its "*N" header and its N items, as a list of lines."""
        line = self.line()
        if line.startswith(b"*") and line.endswith(b"\r\n"):
            return [line] + [self.text() for _ in range(int(line[1:-2]))]
        return line

    def closed(self, timeout=None):
        """Reads until the server closes the connection (EOF or reset);
        fails the test if it is still open after timeout (default: the
        read timeout). Whatever came meanwhile stays in self.buf."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while self._fill(deadline):
            pass
        return self.eof

    def rest(self):
        """Everything up to EOF."""
        self.closed()
        out = bytes(self.buf)
        self.buf.clear()
        return out


def resp_command(*args):
    """One request in RESP framing."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def readyz(port):
    """(status, body) of GET /readyz on orderd's HTTP port."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_for(what, cond, timeout=READ_TIMEOUT, step=0.02):
    """Polls cond() until it is true; fails the test after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure("timed out waiting for " + what)
        time.sleep(step)


@contextlib.contextmanager
def tmpfs(size, who):
    """A fresh tmpfs of `size` ("24m"), mounted on a temp dir and unmounted
    on leaving, failure or not: a real small disk to fill. Needs root, as
    CI runs; without it the test fails, it does not skip."""
    if os.geteuid() != 0:
        raise TestFailure("%s needs root: it mounts a tmpfs (CI runs as root)" % who)
    mnt = tempfile.mkdtemp(prefix="orderd-tmpfs-")
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise TestFailure("cannot mount a tmpfs on %s: %s" % (mnt, r.stderr.strip()))
        try:
            yield mnt
        finally:
            r = subprocess.run(["umount", mnt], capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                # Something still holds it (a server a failure left
                # running): detach it, so that nothing stays mounted.
                print("umount %s: %s; detaching it" % (mnt, r.stderr.strip()), file=sys.stderr)
                subprocess.run(["umount", "-l", mnt], timeout=30)
    finally:
        try:
            os.rmdir(mnt)
        except OSError as e:
            print("cannot remove %s: %s" % (mnt, e), file=sys.stderr)
