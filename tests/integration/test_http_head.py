#!/usr/bin/python3
"""HEAD on the HTTP port answers the headers GET would, with the length of
GET's body in Content-Length and no body: on one keep-alive connection,
each HEAD's response ends at its blank line, so the next response is read
from its first byte. (A body sent after a HEAD response has no length a
client could skip by: it would be read as the start of the next
response.) Errors too: a problem document to HEAD is its headers alone."""
# stores: journal postgres
import socket

from harness import Orderd, Reader, check, expect


def response(rd):
    """(status line, headers as a dict with lower-case names) of one
    response, read up to its blank line; the body is the caller's."""
    status = rd.line()
    headers = {}
    while True:
        line = rd.line()
        check("a header line", line.endswith(b"\r\n"), repr(line))
        if line == b"\r\n":
            break
        name, _, value = line[:-2].partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode()
    return status, headers


def get(rd, sock, path):
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: orderd\r\n\r\n" % path)
    status, headers = response(rd)
    return status, headers, rd.exactly(int(headers["content-length"]))


with Orderd("--saga", "off") as srv:
    srv.redis().execute_command("CREATE", "customer=ann", "item=pen", "qty=1", "amount=1")
    s = socket.create_connection(("127.0.0.1", srv.http_port()), timeout=20)
    rd = Reader(s)
    for path in (b"/healthz", b"/readyz", b"/orders/1", b"/orders?limit=5", b"/track/1",
                 b"/orders/abc", b"/orders/999999", b"/nowhere", b"/metrics"):
        got_status, got_headers, body = get(rd, s, path)
        s.sendall(b"HEAD %s HTTP/1.1\r\nHost: orderd\r\n\r\n" % path)
        status, headers = response(rd)
        name = "HEAD %s" % path.decode()
        # /metrics may change between the two (uptime, counters): its
        # status and type must agree, its length is its own.
        expect(name + ": GET's status", status, got_status)
        expect(name + ": GET's type", headers.get("content-type"),
               got_headers.get("content-type"))
        if path != b"/metrics":
            expect(name + ": GET's length", headers.get("content-length"), str(len(body)))
        check(name + ": a length", headers.get("content-length", "").isdigit(), headers)
    # No body came after any HEAD: the next bytes are this response's.
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: orderd\r\n\r\n")
    status, headers = response(rd)
    expect("the response after the HEADs", (status, rd.exactly(3)), (b"HTTP/1.1 200 OK\r\n", b"ok\n"))
    s.close()
print("test_http_head: ok")
