#!/usr/bin/python3
"""The HTTP side door holds every request to its limits, each with its own
status, and one hostile client costs nobody else anything:

- an endless header line is cut off at --http-max-header-bytes with 400
  and the connection closed, after a bounded read: memory stays flat;
- more than --http-max-headers header fields: 431;
- a URL over --http-max-url: 414;
- meanwhile /healthz keeps answering other clients."""
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Orderd, check, expect  # noqa: E402

MB = 1024 * 1024


def ask(port, raw):
    """One request's response: its head and its Content-Length body."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(raw)
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            while len(body) < int(line.split(b":")[1]):
                body += s.recv(4096)
    s.close()
    return head


def status(resp):
    return resp.split(b"\r\n", 1)[0].decode()


with Orderd("--store", "memory", "--http-max-header-bytes", "4096", "--http-max-headers", "20",
            "--http-max-url", "512") as srv:
    port = srv.http_port()
    rss_before = int(srv.info()["used_memory_rss"])

    # An endless header line, streamed: cut off, not buffered.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nX-Long: ")
    sent = 0
    done = threading.Event()

    def stream():
        global sent
        try:
            while not done.is_set() and sent < 256 * MB:
                s.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass
    t = threading.Thread(target=stream, daemon=True)
    t.start()
    resp = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        resp += chunk
    done.set()
    t.join(timeout=10)
    expect("an endless header line", status(resp), "HTTP/1.1 400 Bad Request")
    check("cut off early, not read to the end", sent < 64 * MB, "%d bytes taken" % sent)
    s.close()
    expect("/healthz meanwhile", status(ask(port, b"GET /healthz HTTP/1.1\r\n\r\n")),
           "HTTP/1.1 200 OK")
    rss_after = int(srv.info()["used_memory_rss"])
    check("memory stays flat", rss_after - rss_before < 16 * MB,
          "RSS grew from %d to %d" % (rss_before, rss_after))

    many = b"".join(b"X-%d: a\r\n" % i for i in range(21))
    expect("too many header fields",
           status(ask(port, b"GET /healthz HTTP/1.1\r\n" + many + b"\r\n")),
           "HTTP/1.1 431 Request Header Fields Too Large")
    few = b"".join(b"X-%d: a\r\n" % i for i in range(19))
    expect("19 header fields (and Host)",
           status(ask(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + few + b"\r\n")),
           "HTTP/1.1 200 OK")
    expect("a URL over the limit",
           status(ask(port, b"GET /healthz?" + b"a" * 600 + b" HTTP/1.1\r\n\r\n")),
           "HTTP/1.1 414 URI Too Long")
    expect("a URL at the limit",
           status(ask(port, b"GET /healthz?" + b"a" * (512 - 9) + b" HTTP/1.1\r\n\r\n")),
           "HTTP/1.1 200 OK")
print("ok")
