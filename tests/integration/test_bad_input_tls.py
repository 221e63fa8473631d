#!/usr/bin/python3
"""The bad-input suite on the TLS port (--tls-port, with certificates made
by the openssl command line: tlslib.py; docs/protocol.md, "TLS"):

- bad requests over TLS get exactly what they get on the plain port, the
  same error lines and the same close (each case is run on both ports of
  one server, the plain port first);
- what is not TLS (plain text, an HTTP request, an SSLv2-style hello) is
  served nothing and closed;
- a handshake cut short by the client's EOF, wherever it is cut, is
  closed, as is one with a client certificate from a CA orderd does not
  know (--tls-auth-clients optional); each counts in
  tls_handshake_failures;
- a forged record after a good handshake ends the session, and nothing
  in it runs.

Meanwhile a client's pipeline of orders, over TLS, comes through whole,
and orderd's memory stays within badinput's bound (RSS_GROWTH_MAX)."""
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from badinput import Pipeline, ProtocolCases, Rss, asan_env, report, tls_connect  # noqa: E402
from harness import (READ_TIMEOUT, Orderd, Reader, check, expect, resp_command,  # noqa: E402
                     wait_for)
from tlslib import test_certs  # noqa: E402

LIMITS = ["--max-inline", "1024", "--max-bulk", "4096", "--max-args", "16",
          "--max-request", "65536"]

# (how it ends, name, bytes sent, reply lines): each runs on the plain port
# and then on the TLS port, with the same expectations.
SAME_AS_PLAIN = [
    ("fatal", "a negative multibulk length", b"*-2\r\n",
     [b"-ERR Protocol error: invalid multibulk length"]),
    ("fatal", "a multibulk length that is not a number", b"*abc\r\n",
     [b"-ERR Protocol error: invalid multibulk length"]),
    ("fatal", "a multibulk length with a leading zero", b"*01\r\n$4\r\nPING\r\n",
     [b"-ERR Protocol error: invalid multibulk length"]),
    ("fatal", "a negative bulk length", b"*1\r\n$-7\r\n",
     [b"-ERR Protocol error: invalid bulk length"]),
    ("fatal", "not a bulk", b"*1\r\n:4\r\n", [b"-ERR Protocol error: expected '$', got ':'"]),
    ("fatal", "a bulk too long for its length", b"*1\r\n$4\r\nPINGS\r\n",
     [b"-ERR Protocol error: bulk string not followed by CRLF"]),
    ("fatal", "17 arguments", resp_command("PING", *["a"] * 16),
     [b"-LIMIT too many arguments (max 16)"]),
    ("fatal", "a bulk header over --max-bulk", b"*2\r\n$4\r\nPING\r\n$4097\r\n",
     [b"-LIMIT bulk string exceeds 4096 bytes"]),
    ("fatal", "an inline line over --max-inline", b"PING " + b"x" * 1100 + b"\r\n",
     [b"-LIMIT inline line exceeds 1024 bytes"]),
    ("fatal", "a request over --max-request", resp_command(*["r" * 4096] * 16),
     [b"-LIMIT request exceeds 65536 bytes"]),
    ("fatal", "good requests, then broken framing",
     b"PING a\r\n" + resp_command("PING", "b") + b"*1\r\n$-7\r\nPING c\r\n",
     [b"a", b"$1", b"b", b"-ERR Protocol error: invalid bulk length"]),
    ("survives", "an unterminated quote", b'PING "abc\r\n',
     [b"-ERR Protocol error: unterminated quote"]),
    ("survives", "garbage and NUL bytes", b"\x00\x01\xff garbage\r\n",
     [b"-ERR unknown command '\\x00\\x01\\xff'"]),
    ("survives", "a NUL inside GET's argument", resp_command("GET", "1\x00"),
     [b"-BADARG argument 1 contains a NUL byte: '1\\x00'"]),
    ("survives", "a bad argument", b"LIST limit=0\r\n",
     [b"-BADARG limit must be an integer from 1 to 1000"]),
    ("survives", "subscribed: GET", b"SUBSCRIBE news\r\nGET 1\r\n",
     [b"SUBSCRIBE news 1", b"-ERR Can't execute 'get': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / "
      b"PING / QUIT are allowed in this context"]),
    ("truncated", "a request cut short by the client's EOF",
     resp_command("PING", "a") + b"*2\r\n$4\r\nPING\r\n$1", [b"$1", b"a"]),
]


def client_hello(ca):
    """The first flight of a real TLS client: its ClientHello record."""
    ctx = ssl.create_default_context(cafile=ca)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    check("a ClientHello record", hello[:1] == b"\x16" and len(hello) > 100, hello[:8])
    return hello


class TlsLayerCases:
    """Cases below the protocol, on raw TCP to the TLS port: handshakes
    that fail, each counted once in tls_handshake_failures, and a session
    sent a record that does not decrypt."""

    def __init__(self, srv, pipeline, port):
        self.srv = srv
        self.pipeline = pipeline
        self.port = port
        self.count = 0

    def failures(self):
        return int(self.srv.info()["tls_handshake_failures"])

    def refused(self, name, data, flight=False):
        """data, then the client's FIN: the connection is closed (by an
        EOF, or a reset when the server left bytes unread) having served
        nothing: at most a TLS alert, or with flight the server's
        handshake records (TLS 1.3 sends its encrypted ones as
        application-data records), all whole; and the failed handshake is
        counted."""
        self.pipeline.kick()
        before = self.failures()
        s = socket.create_connection(("127.0.0.1", self.port), timeout=READ_TIMEOUT)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server closed first: what it sent is still read below
        rd = Reader(s)
        check(name + ": connection closed", rd.closed(timeout=10), "the server kept it open")
        got = bytes(rd.buf)
        kinds = (0x14, 0x15, 0x16, 0x17) if flight else (0x15,)
        i = 0
        while i < len(got):
            check(name + ": %s at byte %d" % ("a TLS record" if flight else "an alert", i),
                  got[i] in kinds and got[i + 1:i + 2] == b"\x03" and i + 5 <= len(got),
                  repr(got[i:i + 8]))
            i += 5 + int.from_bytes(got[i + 3:i + 5], "big")
        expect(name + ": whole records, and nothing after", i, len(got))
        s.close()
        wait_for(name + ": the failed handshake counted", lambda: self.failures() == before + 1)
        self.pipeline.settle()
        self.count += 1

    def stranger(self, certs):
        """A client certificate signed by a CA orderd does not know: the
        handshake fails (in TLS 1.3 the client hears so at its first read),
        and nothing is served."""
        name = "a client certificate from another CA"
        self.pipeline.kick()
        before = self.failures()
        ctx = ssl.create_default_context(cafile=certs.ca)
        ctx.load_cert_chain(certs.stranger_cert, certs.stranger_key)
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=READ_TIMEOUT)
        refused = None
        try:
            s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            s.sendall(b"CREATE customer=stranger item=x qty=1 amount=1\r\n")
            got = s.recv(100)
            refused = "served %r" % got if got else None
        except ssl.SSLError:
            pass  # the alert (unknown CA), or a write after it
        except ConnectionResetError:
            pass
        check(name + ": refused", refused is None, refused)
        raw.close()
        wait_for(name + ": the failed handshake counted", lambda: self.failures() == before + 1)
        self.pipeline.settle()
        self.count += 1

    def forged_record(self, certs):
        """A good session (PING answered), then a record that does not
        decrypt: the session ends, and nothing after the PING is answered
        (the forged record hides a request, which does not run)."""
        name = "a forged record after the handshake"
        self.pipeline.kick()
        ctx = ssl.create_default_context(cafile=certs.ca)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
        s = socket.create_connection(("127.0.0.1", self.port), timeout=READ_TIMEOUT)

        def pump():
            out = outgoing.read()
            if out:
                s.sendall(out)
            data = s.recv(65536)
            if data:
                incoming.write(data)
            else:
                incoming.write_eof()
            return data

        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                check(name + ": the handshake", pump(), "closed during the handshake")
        obj.write(b"PING before\r\n")
        got = b""
        while not got.endswith(b"\r\n"):
            try:
                got += obj.read(1024)
            except ssl.SSLWantReadError:
                pump()
        expect(name + ": the session works", got, b"before\r\n")
        s.sendall(outgoing.read())
        # An application-data record of the right shape, whose tag cannot
        # match: the server learns it is forged only when it decrypts it.
        s.sendall(b"\x17\x03\x03\x00\x40" + bytes(range(64)))
        rd = Reader(s)
        check(name + ": connection closed", rd.closed(timeout=10), "the server kept it open")
        incoming.write(bytes(rd.buf))
        incoming.write_eof()
        try:
            after = obj.read(1024)
        except ssl.SSLError as e:
            after = b""
            why = e.reason or str(e)
            check(name + ": ended by an alert or the close",
                  any(w in why for w in ("ALERT", "EOF", "UNEXPECTED")), why)
        expect(name + ": nothing more answered", after, b"")
        s.close()
        self.pipeline.settle()
        self.count += 1


def main():
    with test_certs() as certs:
        with Orderd("--tls-port", "0", *certs.server_flags(), "--tls-ca-cert-file", certs.ca,
                    "--tls-auth-clients", "optional", *LIMITS, env=asan_env()) as srv:
            tp = srv.tls_port()

            def over_tls():
                return tls_connect(certs.ca, tp)

            pipeline = Pipeline(over_tls, "tls")
            pipeline.start()
            plain = ProtocolCases(pipeline, srv.connect)
            tls = ProtocolCases(pipeline, over_tls)
            layer = TlsLayerCases(srv, pipeline, tp)
            pipeline.kick()
            pipeline.settle()
            rss = Rss(srv)
            try:
                for how, name, data, want in SAME_AS_PLAIN:
                    if how == "survives":
                        plain.survives(name, data, want)
                        tls.survives("over TLS: " + name, data, want)
                    else:
                        getattr(plain, how)(name, data, *want)
                        getattr(tls, how)("over TLS: " + name, data, *want)
                hello = client_hello(certs.ca)
                layer.refused("plain text", b"PING\r\n")
                layer.refused("plain RESP", resp_command("PING"))
                layer.refused("an HTTP request", b"GET / HTTP/1.1\r\nHost: orderd\r\n\r\n")
                layer.refused("an SSLv2-style hello", b"\x80\x2e\x01\x00\x02" + b"\x00" * 45)
                layer.refused("a record header cut short", b"\x16\x03\x01\x00")
                layer.refused("a ClientHello cut in half", hello[:len(hello) // 2])
                layer.refused("a ClientHello cut one byte short", hello[:-1])
                layer.refused("a whole ClientHello, then EOF", hello, flight=True)
                layer.stranger(certs)
                layer.forged_record(certs)
            finally:
                orders = pipeline.verify()
            expect("orders", srv.info()["orders"], str(orders))
            rss.check("test_bad_input_tls")
            report("test_bad_input_tls", [("over TLS", tls.count + layer.count),
                                          ("the same on the plain port", plain.count)])


main()
