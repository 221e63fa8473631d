#!/usr/bin/python3
"""orderd as a Type=notify service, with a datagram socket standing in for
systemd's: it says what it is doing while it recovers, READY=1 once it is
recovered and its port answers (a single PING right after READY=1 is
answered), a status line that follows clients and orders, WATCHDOG=1 at
half the WATCHDOG_USEC interval from its loop (and none when the watchdog
is another process's), and STOPPING=1 when SIGTERM starts its shutdown."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from harness import (SANITIZER_MARKS, START_TIMEOUT, STOP_TIMEOUT, TestFailure, check, expect,
                     free_port)

WATCHDOG_USEC = 400000


class Manager:
    """The AF_UNIX datagram socket NOTIFY_SOCKET names: each datagram is
    one sd_notify() call, kept in order with the time it arrived."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.got = []  # (monotonic time, {key: value})

    def until(self, what, pred, timeout=START_TIMEOUT):
        """Receives until a message satisfies pred; returns the messages
        received meanwhile, that one last."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("timed out waiting for %s; got %r" % (what, seen))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            msg = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
            self.got.append((time.monotonic(), msg))
            seen.append(msg)
            if pred(msg):
                return seen


class Server:
    """orderd on a free port with NOTIFY_SOCKET set, its log in tmp."""

    def __init__(self, tmp, name, watchdog_pid):
        self.tmp = tmp
        self.port = free_port()
        self.manager = Manager(os.path.join(tmp, name + ".sock"))
        self.log_path = os.path.join(tmp, name + ".log")
        env = dict(os.environ, NOTIFY_SOCKET=os.path.join(tmp, name + ".sock"),
                   WATCHDOG_USEC=str(WATCHDOG_USEC))
        env.pop("WATCHDOG_PID", None)
        argv = [os.path.realpath(os.environ["ORDERD"]), "--port", str(self.port),
                "--http-port", "0", "--data", os.path.join(tmp, name + "-data")]
        if watchdog_pid == "self":
            # systemd names the main process: a shell that execs orderd
            # names its own pid, which orderd's becomes.
            argv = ["/bin/sh", "-c", 'WATCHDOG_PID=$$ exec "$0" "$@"'] + argv
        else:
            env["WATCHDOG_PID"] = str(watchdog_pid)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=env)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM: STOPPING=1 comes, then a clean exit."""
        self.proc.send_signal(signal.SIGTERM)
        seen = self.manager.until("STOPPING=1", lambda m: m.get("STOPPING") == "1")
        check("STOPPING=1 says so in its status", seen[-1].get("STATUS", "").startswith("stopping"),
              repr(seen[-1]))
        try:
            status = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("orderd did not exit after SIGTERM; its log:\n" + self.log())
        bad = [m for m in SANITIZER_MARKS if m in self.log()]
        if status != 0 or bad:
            raise TestFailure("orderd exited with %s; its log:\n%s" % (status, self.log()))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def ping_once(port):
    """One connection, one PING, no retry: the port must answer now."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"PING\r\n")
        got = b""
        while not got.endswith(b"\r\n"):
            chunk = s.recv(64)
            if not chunk:
                break
            got += chunk
        return got


def serving(clients, orders):
    want = "serving: %d clients, %d orders" % (clients, orders)
    return lambda m: m.get("STATUS") == want


def clients_connect(port, n):
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]
    for s in socks:
        s.sendall(b"PING\r\n")
        expect("a client's PING", s.recv(64), b"+PONG\r\n")
    return socks


tmp = tempfile.mkdtemp(prefix="orderd-notify-")
servers = []
try:
    # --- the watchdog asked of orderd itself (WATCHDOG_PID is its pid) ----
    srv = Server(tmp, "main", watchdog_pid="self")
    servers.append(srv)
    before = srv.manager.until("READY=1", lambda m: m.get("READY") == "1")
    expect("orderd answers at once when it says READY=1", ping_once(srv.port), b"+PONG\r\n")
    ready = before[-1]
    expect("READY=1 comes with the serving status", ready.get("STATUS"),
           "serving: 0 clients, 0 orders")
    check("it said it was recovering first",
          any(m.get("STATUS", "").startswith("recovering from the journal in ")
              for m in before[:-1]), repr(before))
    check("nothing but status before READY=1",
          all(set(m) == {"STATUS"} for m in before[:-1]), repr(before))

    # Pings from the loop, at half the interval: several, not in a burst.
    start = len(srv.manager.got)
    srv.manager.until("five WATCHDOG=1", lambda m: sum(
        1 for _, g in srv.manager.got[start:] if g.get("WATCHDOG") == "1") >= 5, timeout=20)
    times = [t for t, g in srv.manager.got[start:] if g.get("WATCHDOG") == "1"]
    gaps = [b - a for a, b in zip(times, times[1:])]
    check("pings come about every %d ms" % (WATCHDOG_USEC // 2000),
          sum(gaps) / len(gaps) >= 0.5 * WATCHDOG_USEC / 2e6, repr(gaps))

    # The status follows clients and orders (once a second, when it changes).
    socks = clients_connect(srv.port, 2)
    socks[0].sendall(b"CREATE customer=a item=b qty=1 amount=1\r\n")
    check("CREATE answered", socks[0].recv(4096).startswith(b"id=1 "))
    srv.manager.until("the status with 2 clients and 1 order", serving(2, 1))
    for s in socks:
        s.close()
    srv.manager.until("the status with the clients gone", serving(0, 1))
    srv.stop()
    check("the log says how often it pings", "event=watchdog ping_ms=%d" % (WATCHDOG_USEC // 2000)
          in srv.log(), srv.log())

    # --- the watchdog of another process: no pings -------------------------
    other = Server(tmp, "other", watchdog_pid=os.getpid())
    servers.append(other)
    other.manager.until("READY=1", lambda m: m.get("READY") == "1")
    socks = clients_connect(other.port, 1)
    # A status update comes from the one-second tick: by then a watchdog
    # of 400 ms would have pinged.
    other.manager.until("the status with 1 client", serving(1, 0))
    pings = [g for _, g in other.manager.got if "WATCHDOG" in g]
    expect("no pings for another process's watchdog", pings, [])
    socks[0].close()
    other.stop()
    check("no watchdog in the log", "event=watchdog" not in other.log(), other.log())
except TestFailure as e:
    for s in servers:
        s.kill()
        sys.stderr.write("orderd's log:\n" + s.log())
    raise
finally:
    for s in servers:
        s.kill()
        s.manager.sock.close()
    shutil.rmtree(tmp, ignore_errors=True)
