#!/usr/bin/python3
"""10,000 requests, PING and CREATE mixed, sent in a single write on one
socket: exactly 10,000 replies come back, in order, and then the server
closes (the client has half-closed). Once with inline requests, once with
RESP framing."""
import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Orderd, Reader, check, expect, resp_command  # noqa: E402

N = 10000
TIME = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def request_args(i):
    if i % 2 == 0:
        return ["PING", "m%d" % i]
    return ["CREATE", "customer=c%d" % i, "item=i%d" % (i % 7), "qty=%d" % (i % 5 + 1),
            "amount=%d.25" % i]


def send_all_at_once(sock, data, errors):
    """One sendall of the whole batch, in a thread, so that reading the
    replies meanwhile cannot deadlock with a server that waits for us."""
    def run():
        try:
            sock.sendall(data)
            sock.shutdown(1)  # SHUT_WR: the server sees EOF after the batch
        except OSError as e:
            errors.append(e)
    t = threading.Thread(target=run)
    t.start()
    return t


def run_batch(srv, framing, first_id):
    s = srv.connect()
    if framing == "inline":
        data = b"".join(" ".join(request_args(i)).encode() + b"\r\n" for i in range(N))
    else:
        data = b"".join(resp_command(*request_args(i)) for i in range(N))
    errors = []
    sender = send_all_at_once(s, data, errors)
    rd = Reader(s)
    next_id = first_id
    for i in range(N):
        args = request_args(i)
        name = "%s reply %d" % (framing, i)
        if framing == "inline":
            got = rd.line()
            if args[0] == "PING":
                expect(name, got, b"m%d\r\n" % i)
            else:
                want = (b"id=%d status=PENDING customer=c%d item=i%d qty=%d amount=%d.25 "
                        b"currency=USD created=%s updated=%s\r\n"
                        % (next_id, i, i % 7, i % 5 + 1, i, TIME, TIME))
                check(name, re.fullmatch(want, got), "got %r" % got)
                next_id += 1
        else:
            got = rd.resp()
            if args[0] == "PING":
                expect(name, got, b"m%d" % i)
            else:
                expect(name, got[:14], [
                    b"id", next_id, b"status", b"PENDING", b"customer", b"c%d" % i,
                    b"item", b"i%d" % (i % 7), b"qty", i % 5 + 1, b"amount", b"%d.25" % i,
                    b"currency", b"USD"])
                expect(name + " times", [got[14], got[16]], [b"created", b"updated"])
                next_id += 1
    sender.join()
    expect(framing + " send errors", errors, [])
    expect(framing + ": nothing after the last reply, then close", rd.rest(), b"")
    expect(framing + ": closed by EOF, not reset", rd.reset, False)
    return next_id


with Orderd() as srv:
    next_id = run_batch(srv, "inline", 1)
    next_id = run_batch(srv, "resp", next_id)
    expect("orders created", srv.info()["orders"], str(next_id - 1))
    expect("orders created", next_id - 1, N)
