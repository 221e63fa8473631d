"""Shared by the channel tests (pub/sub, durable channels, the DLQ), on top
of harness.py: a RESP client on a plain socket that sends requests and
reads replies in order, and readers for the replies' shapes.

    c = Client(srv)
    expect("publish", c.call("PUBLISH", "jobs", "hi"), 0)
    msgs = records(c.call("CONSUME", "jobs", "group=g", "consumer=a"))
    expect("first id", msgs[0]["id"], 1)
"""
import json
import socket

from harness import Reader, TestFailure, check, expect, resp_command, wait_for


class Client:
    """One connection speaking RESP; replies come back in request order."""

    def __init__(self, srv, rcvbuf=None):
        self.sock = srv.connect()
        if rcvbuf is not None:
            # A small receive buffer: a client that does not read fills it,
            # and the server's output to it backs up, soon.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.reader = Reader(self.sock)

    def send(self, *args):
        self.sock.sendall(resp_command(*args))

    def send_raw(self, data):
        self.sock.sendall(data)

    def read(self):
        return self.reader.resp()

    def call(self, *args):
        self.send(*args)
        return self.read()

    def close(self):
        self.sock.close()


def is_error(reply, code=None):
    if not (isinstance(reply, tuple) and reply[0] == b"-"):
        return False
    return code is None or reply[1].split(b" ", 1)[0] == code.encode()


def expect_error(name, reply, code, message=None):
    """The reply is -CODE (and, if given, exactly -CODE message)."""
    if message is not None:
        expect(name, reply, (b"-", ("%s %s" % (code, message)).encode()))
    elif not is_error(reply, code):
        raise TestFailure("%s:\n  want -%s ...\n  got  %r" % (name, code, reply))


def expect_ok(name, reply):
    expect(name, reply, (b"+", b"OK"))


def record(flat):
    """A RESP record (key, value, key, value, ...) as a dict str -> value."""
    if not isinstance(flat, list) or len(flat) % 2:
        raise TestFailure("not a record: %r" % (flat,))
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}


def records(lst):
    if not isinstance(lst, list):
        raise TestFailure("not a list of records: %r" % (lst,))
    return [record(x) for x in lst]


def groups(client, ch):
    """GROUPS <ch> as {group name: record}."""
    return {r["group"].decode(): r for r in records(client.call("GROUPS", ch))}


def wait_group(client, ch, group, what, cond):
    """Polls GROUPS until cond(record of the group) holds."""
    def probe():
        g = groups(client, ch).get(group)
        return g is not None and cond(g)
    wait_for(what, probe)


def push(reply, kind):
    """A RESP push of the given kind ("message", "subscribe", ...) as its
    elements after the kind."""
    if not (isinstance(reply, list) and reply and reply[0] == kind.encode()):
        raise TestFailure("want a %r push, got %r" % (kind, reply))
    return reply[1:]


def event(payload):
    """An event payload: strict UTF-8, one line, valid JSON."""
    check("event is one line", b"\n" not in payload and b"\r" not in payload, repr(payload))
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise TestFailure("event is not UTF-8 JSON (%s): %r" % (e, payload))
