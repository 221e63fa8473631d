#!/usr/bin/python3
"""COMMAND DOCS as Redis tools read it: redis-cli in interactive mode (in
tmux) shows orderd's arguments as a hint while a command is typed, and
answers `help <command>` from them; python3-redis reads COMMAND, COMMAND
COUNT and COMMAND DOCS.

  shapes       COMMAND DOCS CREATE: name -> {summary, since, group,
               arguments}, the arguments spelling out CREATE's synopsis;
               COMMAND COUNT is HELP's length; redis-py's command() parses
  help         redis-cli answers HELP itself, interactive or not (orderd's
               HELP is not reached); `redis-cli HELP CREATE` and
               `help @orderd` show orderd's synopses from COMMAND DOCS
  hints        interactive redis-cli: `CREATE ` shows every argument,
               `CREATE customer=alice ` the rest, `dlq replay ` the
               subcommand's; `help CREATE` shows the synopsis
  auth         with --requirepass, `redis-cli -a` gets the hints (COMMAND
               DOCS after AUTH); without it, none (-NOAUTH)

The screen is read with capture-pane and polled until what is expected is
there (never a fixed sleep); a timeout prints the last screen. Each tmux
server has its own socket and is killed in a finally.
"""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time

import redis

from harness import Orderd, TestFailure, check, expect

WAIT = 10.0   # a bound on every wait, not an expectation: ASan is slow
POLL = 0.05
CREATE_ARGS = ("customer=<id> item=<sku> qty=<n> amount=<decimal> [currency=<ISO 4217>] "
               "[key=<idempotency key>]")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def redis_cli(port, *args):
    out = subprocess.run(["redis-cli", "--no-auth-warning", "-p", str(port)] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=WAIT,
                         check=True)
    return ANSI.sub("", out.stdout.decode())


def rec(flat):
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


class Pane:
    """redis-cli in a detached tmux session on a tmux server of its own,
    with no history or preferences file of the user's."""
    count = 0

    def __init__(self, port, *flags):
        Pane.count += 1
        self.sock = "orderd-cli-test-%d-%d" % (os.getpid(), Pane.count)
        self.prompt = "127.0.0.1:%d> " % port
        self.tmp = tempfile.mkdtemp(prefix="orderd-cli-test-")
        self.env = dict(os.environ, HOME=self.tmp, REDISCLI_HISTFILE="/dev/null",
                        REDISCLI_RCFILE="/dev/null", LANG="C.UTF-8", LC_ALL="C.UTF-8")
        self.env.pop("TMUX", None)
        self.cmd = " ".join(shlex.quote(w) for w in
                            ["redis-cli", "--no-auth-warning", "-p", str(port)] + list(flags))
        self.last = ""
        self.socket_path = None

    def tmux(self, *args):
        p = subprocess.run(["tmux", "-L", self.sock] + list(args), env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=WAIT)
        if p.returncode != 0:
            raise TestFailure("tmux %s: %s" % (" ".join(args), p.stderr.decode().strip()))
        return p.stdout.decode("utf-8", "replace")

    def __enter__(self):
        try:
            self.tmux("-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "40",
                      self.cmd)
            self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()
            self.wait(r"^%s$" % re.escape(self.prompt.rstrip()), "the prompt")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=WAIT)
        if self.socket_path:  # kill-server leaves it behind
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def screen(self):
        self.last = self.tmux("capture-pane", "-p", "-t", "0")
        return self.last

    def wait(self, regex, what):
        """Polls the screen until regex (re.M) matches it; answers the match."""
        deadline = time.monotonic() + WAIT
        while True:
            m = re.search(regex, self.screen(), re.M)
            if m:
                return m
            if time.monotonic() > deadline:
                raise TestFailure("timed out waiting for %s (%r); the screen:\n%s\n%s"
                                  % (what, regex, "-" * 40, self.last))
            time.sleep(POLL)

    def type(self, text):
        self.tmux("send-keys", "-t", "0", "-l", text)

    def key(self, *keys):
        self.tmux("send-keys", "-t", "0", *keys)

    def line_is(self, typed, hint, what):
        """The prompt's line reads typed then hint (greyed by redis-cli; the
        same text in capture-pane), and nothing after it."""
        self.wait(r"^%s%s%s\s*$" % (re.escape(self.prompt), re.escape(typed), re.escape(hint)),
                  what)


def check_shapes(srv):
    r = srv.redis()  # replies as they come, not reshaped by redis-py
    help_create = r.execute_command("HELP", "CREATE")
    synopsis, summary = help_create.split(" - ", 1)
    docs = r.execute_command("COMMAND", "DOCS", "CREATE")
    expect("COMMAND DOCS CREATE names one command", docs[0::2], ["create"])
    doc = rec(docs[1])
    expect("summary", doc["summary"], summary)
    expect("since", doc["since"], "0.1.0")
    expect("group", doc["group"], "orderd")
    args = [rec(a) for a in doc["arguments"]]
    shown = " ".join("[%s]" % a["name"] if "optional" in a.get("flags", []) else a["name"]
                     for a in args)
    expect("the arguments spell the synopsis", "CREATE " + shown, synopsis)
    expect("argument types", {a["type"] for a in args}, {"string"})
    expect("COMMAND COUNT is HELP's length", r.execute_command("COMMAND", "COUNT"),
           len(r.execute_command("HELP")))
    everything = rec(r.execute_command("COMMAND", "DOCS"))
    expect("COMMAND DOCS holds every command", len(everything),
           r.execute_command("COMMAND", "COUNT"))
    dlq = rec(everything["dlq"])
    expect("DLQ's subcommands", list(rec(dlq["subcommands"])),
           ["dlq|list", "dlq|show", "dlq|replay", "dlq|purge"])
    r.close()

    # redis-py's own parsing of COMMAND and COMMAND COUNT.
    plain = redis.Redis(host="127.0.0.1", port=srv.port, decode_responses=True,
                        socket_timeout=WAIT)
    cmds = plain.command()
    expect("command() has every command", len(cmds), plain.command_count())
    expect("command()['create']",
           {k: cmds["create"][k] for k in ("arity", "flags", "first_key_pos")},
           {"arity": -5, "flags": ["write"], "first_key_pos": 0})
    expect("command()['get'] flags", cmds["get"]["flags"], ["readonly"])
    plain.close()


def check_help(srv):
    out = redis_cli(srv.port, "HELP")
    check("redis-cli answers HELP itself", "To get help about Redis commands" in out, out)
    check("... and orderd's HELP is not reached", "customer=<id>" not in out, out)
    out = redis_cli(srv.port, "HELP", "CREATE")
    check("HELP CREATE shows CREATE's synopsis from COMMAND DOCS",
          "CREATE " + CREATE_ARGS in out, out)
    check("... and its summary", "creates an order in PENDING" in out, out)
    out = redis_cli(srv.port, "HELP", "@orderd")
    for line in ("GET <id>", "DLQ REPLAY <id>|ALL [channel=<ch>] [limit=<n>]",
                 "SUBSCRIBE <channel> [<channel> ...]"):
        check("help @orderd lists %s" % line, line in out, out)


def check_hints(port):
    with Pane(port) as p:
        p.type("CREATE ")
        p.line_is("CREATE ", CREATE_ARGS, "CREATE's hint")
        p.type("customer=alice ")
        p.line_is("CREATE customer=alice ", CREATE_ARGS.split(" ", 1)[1],
                  "the hint after one argument")
        p.key("C-u")
        p.type("dlq replay ")
        p.line_is("dlq replay ", "<id>|ALL [channel=<ch>] [limit=<n>]", "DLQ REPLAY's hint")
        p.key("C-u")
        p.type("help CREATE")
        p.key("Enter")
        p.wait(r"^\s*CREATE %s\s*$" % re.escape(CREATE_ARGS), "help CREATE's synopsis")
        p.wait(r"^\s*summary: creates an order in PENDING", "help CREATE's summary")
        p.type("HELP")
        p.key("Enter")
        p.wait(r"To get help about Redis commands", "redis-cli's own HELP")


def check_auth():
    with Orderd("--requirepass", "s3cret") as srv:
        with Pane(srv.port, "-a", "s3cret") as p:
            p.type("CREATE ")
            p.line_is("CREATE ", CREATE_ARGS, "the hint after redis-cli -a")
        with Pane(srv.port) as p:
            # No hint: COMMAND DOCS was refused before AUTH. What is typed
            # shows alone (a hint would follow it at once).
            p.type("CREATE x")
            p.line_is("CREATE x", "", "no hint without AUTH")


def main():
    with Orderd() as srv:
        check_shapes(srv)
        check_help(srv)
        check_hints(srv.port)
    check_auth()
    print("test_redis_cli_hints: ok")


main()
