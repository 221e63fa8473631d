#!/usr/bin/env python3
"""ordertop, the real binary ($ORDERTOP), driven through tmux against the
real orderd: what an operator sees and what the keys do.

  flow        orders made with redis-cli show in Flow, created ... DELIVERED
  command     ':' PING Enter shows PONG in the reply box; Esc closes it
  dlq_replay  r asks first; n does nothing; y replays (DLQ empty, message
              back pending for its group)
  dlq_purge   d asks first; y purges the selected one; marked ones go
              together ("Purge 2 messages? y/N")
  resize      80x24 keeps the tab bar and the hint line; Metrics wraps its
              breakers; 60x20 says the terminal is too small; back at
              120x40 the view returns
  quit        q ends ordertop with status 0 (and, under ASan, no report)
  auth_refused --user/--password: the refused AUTH is said in the status line
  roles       a client's ordertop is read-only; an operator's replays but
              is told purging needs an admin; the admin purges
  read_only   --read-only: d, r, R, space and a writing ':' command do
              nothing; reads (PING) pass; the hint says [read-only]
  reconnect   orderd killed: banner, [STALE], old rows kept; orderd back
              on the same port: connected again, new orders show (the
              subscriptions were restored); actions are off meanwhile

The screen is read with capture-pane and polled every 50 ms until what is
expected is there (never a fixed sleep); a timeout prints the last screen.
Each tmux server has its own socket and is killed in a finally.

Needs tmux and redis-cli. Speaks RESP itself (no redis-py: this runs under
whatever `python3` is first on PATH).
"""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

from harness import (SANITIZER_MARKS, Orderd, Reader, TestFailure, check, expect, free_port,
                     resp_command)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WAIT = 10.0   # a bound on every wait, not an expectation: ASan is slow
POLL = 0.05


def resolve(path):
    """A binary named relative to the current directory, else to the repo."""
    if os.path.isabs(path) or os.path.exists(path):
        return os.path.realpath(path)
    return os.path.realpath(os.path.join(REPO, path))


if not os.environ.get("ORDERD"):
    sys.exit("ORDERD must name the orderd binary")
ORDERD = resolve(os.environ["ORDERD"])
os.environ["ORDERD"] = ORDERD  # for the harness, whatever our cwd
ORDERTOP = resolve(os.environ.get("ORDERTOP") or
                   os.path.join(os.path.dirname(ORDERD), "ordertop"))
UTF8 = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


# --- RESP -------------------------------------------------------------------

class RespError(Exception):
    pass


class Conn:
    """One connection speaking RESP; cmd() answers str, int, None, lists."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.r = Reader(self.sock)

    def cmd(self, *args):
        self.sock.sendall(resp_command(*[str(a) for a in args]))
        return self._plain(self.r.resp())

    def _plain(self, v):
        if isinstance(v, bytes):
            return v.decode()
        if isinstance(v, tuple):
            if v[0] == b"-":
                raise RespError(v[1].decode())
            return v[1].decode()
        if isinstance(v, list):
            return [self._plain(x) for x in v]
        return v

    def close(self):
        self.sock.close()


def rec(flat):
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def dlq(port):
    c = Conn(port)
    try:
        return [rec(e) for e in c.cmd("DLQ", "LIST")]
    finally:
        c.close()


def dead_letter(c, channel, payload, reason):
    """Publishes, consumes and NACKs one message of a maxdeliver=1 channel
    on c: it goes to the DLQ with reason. Answers the message id."""
    try:
        c.cmd("CHANNEL", "CREATE", channel, "maxdeliver=1")
    except RespError as e:
        check("CHANNEL CREATE again", "exist" in str(e).lower(), str(e))
    c.cmd("PUBLISH", channel, payload)
    got = [rec(m) for m in c.cmd("CONSUME", channel, "group=g", "consumer=c")]
    expect("consumed %s" % payload, [m["payload"] for m in got], [payload])
    expect("nack %s" % payload,
           c.cmd("NACK", channel, "group=g", got[0]["id"], "delay=0", "reason=" + reason), 1)
    return got[0]["id"]


def redis_cli(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port)] + [str(a) for a in args],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=WAIT,
                         check=True)
    return out.stdout.decode()


def create_order(port, customer):
    """CREATE with redis-cli; answers the new order's id."""
    out = redis_cli(port, "CREATE", "customer=" + customer, "item=widget", "qty=2",
                    "amount=19.99").split("\n")
    check("CREATE answered a record", out[0] == "id", repr(out))
    return int(out[1])


# --- the console in tmux ------------------------------------------------------

def terminfo_name():
    for d in ("/usr/share/terminfo", "/lib/terminfo", "/etc/terminfo"):
        if os.path.exists(os.path.join(d, "t", "tmux-256color")):
            return "tmux-256color"
    return "screen"


class Console:
    """ordertop in a detached tmux session on a tmux server of its own."""
    count = 0

    def __init__(self, port, *flags, cols=120, rows=40):
        Console.count += 1
        self.sock = "ordertop-test-%d-%d" % (os.getpid(), Console.count)
        self.port = port
        self.flags = list(flags)
        self.cols, self.rows = cols, rows
        self.tmp = tempfile.mkdtemp(prefix="ordertop-test-")
        self.err = os.path.join(self.tmp, "ordertop.err")
        self.status_file = os.path.join(self.tmp, "ordertop.status")
        self.last = ""
        self.socket_path = None
        self.env = dict(os.environ, **UTF8)
        self.env.pop("TMUX", None)

    def tmux(self, *args, ok=True):
        p = subprocess.run(["tmux", "-u", "-L", self.sock] + list(args), env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=WAIT)
        if ok and p.returncode != 0:
            raise TestFailure("tmux %s: %s" % (" ".join(args), p.stderr.decode().strip()))
        return p.stdout.decode("utf-8", "replace")

    def __enter__(self):
        conf = os.path.join(self.tmp, "tmux.conf")
        with open(conf, "w") as f:
            # The pane stays after ordertop exits, so its status can be read.
            f.write("set -g remain-on-exit on\nset -g default-terminal %s\n" % terminfo_name())
        # Not exec'd: the shell keeps ordertop's exit status (tmux's own
        # pane_dead_status goes missing now and then with an ASan build).
        cmd = " ".join(["LANG=C.UTF-8", "LC_ALL=C.UTF-8", shlex.quote(ORDERTOP),
                        "--port", str(self.port)] + self.flags +
                       ["2>" + shlex.quote(self.err) + ";", "echo", "$?", ">" +
                        shlex.quote(self.status_file)])
        try:
            self.tmux("-f", conf, "new-session", "-d", "-x", str(self.cols), "-y",
                      str(self.rows), cmd)
            self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()
            self.wait_connected()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.tmux("kill-server", ok=False)
        if self.socket_path:  # kill-server leaves it behind
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass
        err = self.errors()
        shutil.rmtree(self.tmp, ignore_errors=True)
        bad = [m for m in SANITIZER_MARKS if m in err]
        if bad and exc_type is None:
            raise TestFailure("ordertop's stderr has a sanitizer report:\n" + err)
        if bad:
            print("ordertop's stderr:\n" + err, file=sys.stderr)
        return False

    def errors(self):
        try:
            with open(self.err, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def pane_dead(self):
        return self.tmux("display-message", "-p", "-t", "0", "#{pane_dead}").strip() == "1"

    def screen(self):
        """The screen as text, one line a row; fails if ordertop died."""
        out = self.tmux("capture-pane", "-p", "-t", "0", ";",
                        "display-message", "-p", "-t", "0", "#{pane_dead}")
        text, _, dead = out.rstrip("\n").rpartition("\n")
        self.last = text
        if dead.strip() == "1":
            raise TestFailure("ordertop exited (status %s); last screen:\n%s\nits stderr:\n%s"
                              % (read(self.status_file).strip(), text, self.errors()))
        return text

    def lines(self):
        return self.screen().split("\n")

    def wait_screen(self, regex, timeout=WAIT, absent=None, what=None):
        """Polls the screen until regex (re.M) matches it and absent, if
        given, does not; answers the match. A timeout prints the screen."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            m = re.search(regex, text, re.M)
            if m and not (absent and re.search(absent, text, re.M)):
                return m
            if time.monotonic() > deadline:
                raise TestFailure("timed out after %ss waiting for %s%s; the screen:\n%s\n%s"
                                  % (timeout, what or repr(regex),
                                     " without %r" % absent if absent else "", "-" * 40, text))
            time.sleep(POLL)

    def wait_gone(self, regex, timeout=WAIT):
        self.wait_screen(r"\A", timeout=timeout, absent=regex, what="%r gone" % regex)

    def wait_connected(self):
        self.wait_screen(r"\A ordertop  \S+:%d  connected\b" % self.port,
                         absent=r"STALE|lost connection", what="the title, connected")

    def keys(self, *keys):
        """tmux key names: "3", "Enter", "Escape" ..."""
        self.tmux("send-keys", "-t", "0", *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", "0", "-l", text)

    def resize(self, cols, rows):
        self.tmux("resize-window", "-t", "0", "-x", str(cols), "-y", str(rows))

    def wait_exit(self, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            if self.pane_dead():
                return int(read(self.status_file))
            if time.monotonic() > deadline:
                raise TestFailure("ordertop still running; the screen:\n" + self.last)
            time.sleep(POLL)


def status_line(con, regex):
    """Waits for regex on the last row (the status line)."""
    return con.wait_screen(r"^%s\s*\Z" % regex, what="status line %r" % regex)


# --- cases ----------------------------------------------------------------------

def case_flow():
    with Orderd() as srv, Console(srv.port) as con:
        con.wait_screen(r"waiting for events")
        oid = create_order(srv.port, "alice")
        con.wait_screen(r"^\S+\s+%d\s+created\s+- -> PENDING\s+alice by client$" % oid)
        con.wait_screen(r"^\S+\s+%d\s+status\s+SHIPPED -> DELIVERED\s+alice by saga$" % oid)
        # Every step of the saga, in order, on its own line.
        moves = re.findall(r"^\S+\s+%d\s+status\s+(\S+ -> \S+)" % oid, con.screen(), re.M)
        expect("Flow shows the saga's moves", moves,
               ["PENDING -> RESERVED", "RESERVED -> PAID", "PAID -> SHIPPED",
                "SHIPPED -> DELIVERED"])


def case_command():
    with Orderd() as srv, Console(srv.port) as con:
        con.keys(":")
        status_line(con, r":")
        con.type("PING")
        status_line(con, r":PING")
        con.keys("Enter")
        con.wait_screen(r"reply \(Esc closes\)[\s\S]*^│ PONG +│$")
        con.keys("Escape")
        con.wait_gone(r"PONG|reply \(Esc")
        # A record answer, with quoting as the inline protocol has it: the
        # reply is read whole and the connection stays up.
        con.keys(":")
        con.type('CREATE customer="two words" item=x qty=1 amount=2')
        con.keys("Enter")
        con.wait_screen(r"^│ customer +two words +│$")
        con.wait_screen(r"^│ status +PENDING +│$")
        con.keys("Escape")
        con.wait_gone(r"reply \(Esc")
        con.keys(":")
        con.type('GET "1')
        con.keys("Enter")
        status_line(con, r" not sent: unbalanced quotes")
        check("still connected", "reconnecting" not in con.screen())
        con.keys("q")
        expect("q: ordertop's exit status", con.wait_exit(), 0)
        err = con.errors()
        check("ordertop's stderr is quiet (no leaks under ASan)", err.strip() == "", err)


def case_dlq_replay():
    with Orderd() as srv, Console(srv.port) as con:
        c = Conn(srv.port)
        msg = dead_letter(c, "jobs", "hello", "broken")
        entries = dlq(srv.port)
        expect("one dead letter", [(e["channel"], e["reason"]) for e in entries],
               [("jobs", "broken")])
        dl = entries[0]["id"]
        con.keys("3")
        con.wait_screen(r"^\s+%d\s+jobs\s+g\s+1\s+\d+s\s+broken$" % dl, what="the dead letter")
        con.keys("r")
        con.wait_screen(r"│ +Replay dead letter #%d\? y/N +│" % dl)
        con.keys("n")
        status_line(con, r" cancelled: nothing done")
        con.wait_gone(r"y/N")
        expect("n: the dead letter stays", [e["id"] for e in dlq(srv.port)], [dl])

        con.keys("r")
        con.wait_screen(r"Replay dead letter #%d\? y/N" % dl)
        con.keys("y")
        status_line(con, r" replayed 1 of 1")
        con.wait_screen(r"the dead-letter queue is empty", absent=r"y/N")
        expect("y: the DLQ is empty", dlq(srv.port), [])
        pend = [rec(p) for p in c.cmd("PENDING", "jobs", "group=g")]
        expect("back pending for g", [(p["id"], p["state"]) for p in pend], [(msg, "ready")])
        got = [rec(m) for m in c.cmd("CONSUME", "jobs", "group=g", "consumer=c")]
        expect("consumed again, a fresh count",
               [(m["id"], m["deliveries"], m["payload"]) for m in got], [(msg, 1, "hello")])
        expect("ack", c.cmd("ACK", "jobs", "group=g", msg), 1)
        c.close()


def case_dlq_purge():
    with Orderd() as srv, Console(srv.port) as con:
        c = Conn(srv.port)
        dead_letter(c, "jobs", "first", "one")
        dead_letter(c, "jobs", "second", "two")
        entries = dlq(srv.port)
        expect("two dead letters", [e["reason"] for e in entries], ["one", "two"])
        con.keys("3")
        con.wait_screen(r"  one$[\s\S]*  two$")
        con.keys("j")  # the second row
        con.keys("d")
        con.wait_screen(r"│ +Purge dead letter #%d\? y/N +│" % entries[1]["id"])
        con.keys("y")
        status_line(con, r" purged 1 of 1")
        con.wait_gone(r"  two$|y/N")
        expect("y: the selected one is purged", [e["reason"] for e in dlq(srv.port)], ["one"])

        # Marked rows go together, and the question counts them.
        dead_letter(c, "jobs", "third", "three")
        c.close()
        con.wait_screen(r"  three$")
        con.keys("g", "Space", "Space")
        con.wait_screen(r"^\*\s+\d+\s+jobs\s.*\sone$[\s\S]*^\*\s+\d+\s+jobs\s.*\sthree$")
        con.keys("d")
        con.wait_screen(r"│ +Purge 2 messages\? y/N +│")
        con.keys("y")
        status_line(con, r" purged 2 of 2")
        con.wait_screen(r"the dead-letter queue is empty")
        expect("the DLQ is empty", dlq(srv.port), [])


HINT_DLQ = " Enter open  space mark  r replay  R replay all  d purge  ? help  q quit"


def case_resize():
    with Orderd() as srv, Console(srv.port) as con:
        con.keys("3")
        con.wait_screen(r"\A ordertop .*\[3 DLQ\] 4 Metrics *$")
        con.resize(80, 24)
        # The hint comes once the "connected to" status has had its 4 s.
        con.wait_screen(r"^%s\Z" % re.escape(HINT_DLQ), what="the DLQ hint on the last row")
        rows = con.lines()
        expect("24 rows", len(rows), 24)
        check("title in 80 columns, tabs at its end",
              re.match(r" ordertop  \S+  connected\b.* 1 Flow  2 Sagas \[3 DLQ\] 4 Metrics *$",
                       rows[0]) and len(rows[0]) <= 80, repr(rows[0]))
        expect("hint on row 24", rows[23], HINT_DLQ)

        con.keys("4")
        con.wait_screen(r"^breakers  customer \[CLOSED\]")
        text = con.screen()
        expect("five breakers, CLOSED",
               re.findall(r"(\w+) \[CLOSED\]", text),
               ["customer", "inventory", "payment", "shipping", "notify"])
        check("breakers wrap within 80 columns",
              all(len(l) <= 80 for l in text.split("\n")), text)
        check("Metrics tab current", "[4 Metrics]" in con.lines()[0], con.lines()[0])

        con.resize(60, 20)
        con.wait_screen(r"^ *terminal too small: 60x20, ordertop needs 80x24$")
        check("nothing else on the small screen",
              [l.strip() for l in con.lines() if l.strip()] ==
              ["terminal too small: 60x20, ordertop needs 80x24"], con.last)
        con.resize(120, 40)
        con.wait_screen(r"\A ordertop .*\[4 Metrics\] *$[\s\S]*^breakers ",
                        absent=r"terminal too small")
        expect("40 rows", len(con.lines()), 40)


def case_quit():
    with Orderd() as srv, Console(srv.port) as con:
        con.keys("q")
        expect("q: ordertop's exit status", con.wait_exit(), 0)
        err = con.errors()
        check("ordertop's stderr is quiet", err.strip() == "", err)


def case_auth_refused():
    # orderd has no accounts: the AUTH ordertop sends is refused, and the
    # operator is told rather than left believing it was accepted.
    with Orderd() as srv, Console(srv.port, "--user", "ops", "--password", "secret") as con:
        status_line(con, r" AUTH refused: ERR AUTH called without any password configured.*")
        check("still connected", "reconnecting" not in con.screen())
    # A wrong password on a server with one.
    with Orderd("--requirepass", "root-pw") as srv, \
            Console(srv.port, "--password", "wrong") as con:
        status_line(con, r" AUTH refused: WRONGPASS invalid username-password pair.*")


ROLES_ACL = "user ops on >ops-pw +@operator\nuser shop on >shop-pw +@client\n"


def case_roles():
    # What the user's roles allow decides which actions ordertop offers: a
    # client only looks; an operator replays but may not purge; the admin
    # (the default user of --requirepass) does both.
    acl = os.path.join(tempfile.mkdtemp(prefix="ordertop-acl-"), "users.acl")
    with open(acl, "w") as f:
        f.write(ROLES_ACL)
    with Orderd("--acl-file", acl, "--requirepass", "root-pw") as srv:
        c = Conn(srv.port)
        c.cmd("AUTH", "root-pw")
        dead_letter(c, "jobs", "keep", "keepme")
        before = [rec(e) for e in c.cmd("DLQ", "LIST")]
        with Console(srv.port, "--user", "shop", "--password", "shop-pw") as con:
            con.wait_screen(r"as shop \(client\)")
            con.wait_screen(r"\[read-only\]\Z")
            con.keys("3")
            con.keys("d")
            status_line(con, r" read-only: actions are off")
        with Console(srv.port, "--user", "ops", "--password", "ops-pw") as con:
            con.wait_screen(r"as ops \(operator\)")
            con.keys("3")
            con.wait_screen(r"  keepme$")
            con.wait_screen(r" r replay .* d purge", absent=r"\[read-only\]")
            con.keys("d")
            status_line(con, r" purging needs the admin role: you are ops \(operator\)")
            con.keys("r")
            con.wait_screen(r"y/N")
            con.keys("n")
        expect("the operator purged nothing", [rec(e) for e in c.cmd("DLQ", "LIST")], before)
        with Console(srv.port, "--password", "root-pw") as con:
            con.wait_connected()
            con.keys("3")
            con.wait_screen(r"  keepme$")
            con.keys("d")
            con.wait_screen(r"y/N")
            con.keys("y")
            con.wait_gone(r"  keepme$")
        expect("the admin purged it", c.cmd("DLQ", "LIST"), [])
        c.close()


def case_read_only():
    with Orderd() as srv:
        c = Conn(srv.port)
        dead_letter(c, "jobs", "keep", "keepme")
        c.close()
        before = dlq(srv.port)
        with Console(srv.port, "--read-only") as con:
            con.keys("3")
            con.wait_screen(r"  keepme$")
            con.keys("d")
            status_line(con, r" read-only: actions are off")
            for key in ("y", "r", "y", "R", "y", "Space", "d", "y"):
                con.keys(key)
            con.wait_screen(r"  keepme$", absent=r"y/N|^\*")
            con.keys(":")
            con.type("DLQ PURGE ALL")
            con.keys("Enter")
            status_line(con, r" read-only: only commands that read are sent")
            con.keys(":")
            con.type("PING")  # reads pass
            con.keys("Enter")
            con.wait_screen(r"^│ PONG +│$")
            expect("--read-only: the DLQ untouched", dlq(srv.port), before)
            # The hint says so, once the status has gone.
            con.keys("Escape")
            con.wait_screen(r"^ \? help  : command  q quit +\[read-only\]\Z")


def start_orderd(port, data, log):
    with open(log, "ab") as f:
        proc = subprocess.Popen([ORDERD, "--port", str(port), "--http-port", "off",
                                 "--data", data], stdin=subprocess.DEVNULL, stdout=f, stderr=f)
    deadline = time.monotonic() + WAIT
    while True:
        if proc.poll() is not None:
            raise TestFailure("orderd exited at start (%s):\n%s" % (proc.returncode, read(log)))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise TestFailure("orderd did not start on %d:\n%s" % (port, read(log)))
            time.sleep(0.025)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def case_reconnect():
    tmp = tempfile.mkdtemp(prefix="orderd-test-")
    data, log = os.path.join(tmp, "data"), os.path.join(tmp, "orderd.log")
    port = free_port()
    procs = [start_orderd(port, data, log)]
    try:
        with Console(port) as con:
            first = create_order(port, "bob")
            con.wait_screen(r"^\S+\s+%d\s+status\s+SHIPPED -> DELIVERED\s+bob by saga$" % first)
            procs[0].kill()
            procs[0].wait()
            con.wait_screen(r"\A ordertop  \S+  reconnecting in \d+s \(attempt \d+\)  \[STALE\]"
                            r".*\n lost connection to \S+:%d: reconnecting in \d+s" % port)
            screen = con.screen()
            check("the data from before stays shown",
                  re.search(r"^\S+\s+%d\s+created\s.*bob by client$" % first, screen, re.M) and
                  re.search(r"SHIPPED -> DELIVERED\s+bob", screen), screen)
            con.keys("3")
            con.keys("d")
            status_line(con, r" not connected: actions are off")
            con.keys("1")
            procs.append(start_orderd(port, data, log))
            con.wait_connected()
            con.wait_gone(r"STALE|lost connection|reconnecting")
            check("the old rows are still there",
                  re.search(r"^\S+\s+%d\s+created\s.*bob" % first, con.screen(), re.M), con.last)
            second = create_order(port, "carol")
            expect("the journal kept the first order", second, first + 1)
            con.wait_screen(r"^\S+\s+%d\s+created\s+- -> PENDING\s+carol by client$" % second)
            con.wait_screen(r"^\S+\s+%d\s+status\s+SHIPPED -> DELIVERED\s+carol by saga$"
                            % second)
        procs[1].send_signal(signal.SIGTERM)
        expect("orderd's exit status", procs[1].wait(timeout=20), 0)
        text = read(log)
        check("no sanitizer report from orderd", not any(m in text for m in SANITIZER_MARKS),
              text)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


CASES = [case_flow, case_command, case_dlq_replay, case_dlq_purge, case_resize, case_quit,
         case_auth_refused, case_roles, case_read_only, case_reconnect]


def main():
    for tool in ("tmux", "redis-cli"):
        if not shutil.which(tool):
            sys.exit("FAIL: %s is not installed" % tool)
    if not os.access(ORDERTOP, os.X_OK):
        sys.exit("FAIL: no ordertop at %s (make bin/ordertop, or set ORDERTOP)" % ORDERTOP)
    only = sys.argv[1:]
    failed = []
    for case in CASES:
        name = case.__name__[5:]
        if only and name not in only:
            continue
        start = time.monotonic()
        try:
            case()
            print("ok    %-12s %.1fs" % (name, time.monotonic() - start))
        except Exception:
            failed.append(name)
            print("FAIL  %-12s %.1fs" % (name, time.monotonic() - start))
            traceback.print_exc()
        sys.stdout.flush()
    if failed:
        print("failed: " + " ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
