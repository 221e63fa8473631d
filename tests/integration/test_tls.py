#!/usr/bin/python3
"""TLS on the protocol port (--tls-port) and on HTTP (--http-tls yes), with
a CA and certificates made for the test: redis-cli --tls and redis-py with
ssl=True work as with Redis (orders, a pipeline of 1000, pub/sub); plain
text on the TLS port is served nothing and closed, while plain clients on
the plain port go on; replies far larger than what the relay holds arrive
whole to a client that reads late; a client's half-close and the server's
close (QUIT) pass through; replies already due reach TLS clients at
SIGTERM; INFO counts TLS sessions and failed handshakes; /metrics is served
over HTTPS, and plain HTTP to that port fails. Past --max-clients a TLS
client is told -LIMIT, over TLS, as a plain one is."""
import re
import socket
import ssl
import subprocess
import urllib.request

import redis

from harness import (READ_TIMEOUT, Orderd, Reader, check, expect, resp_command, wait_for)
from tlslib import test_certs


def tls_socket(certs, port):
    ctx = ssl.create_default_context(cafile=certs.ca)
    raw = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def cli(certs, port, *args):
    r = subprocess.run(["redis-cli", "--tls", "--cacert", certs.ca, "-p", str(port)] +
                       list(args), capture_output=True, text=True, timeout=READ_TIMEOUT)
    return r.returncode, r.stdout.strip().split("\n")


def record(flat):
    return dict(zip(flat[::2], flat[1::2]))


def tls_redis(certs, port):
    r = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs.ca,
                    decode_responses=True, socket_timeout=READ_TIMEOUT)
    r.response_callbacks.clear()
    return r


def metrics(srv):
    return srv.info()


def connected_clients(http_port):
    """From /metrics (plain HTTP): asking on the protocol port would count."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http_port, timeout=10) as r:
        text = r.read().decode()
    return int(float(re.search(r"^orderd_connected_clients (\S+)$", text, re.M).group(1)))


def list_ids(reply):
    """The ids in a RESP LIST reply (a list of flat records)."""
    return [int(record(rec)[b"id"]) for rec in reply]


with test_certs() as certs:
    with Orderd("--saga", "off", "--tls-port", "0", "--http-tls", "yes",
                *certs.server_flags()) as srv:
        tp = srv.tls_port()

        # redis-cli, as it speaks to a Redis with TLS.
        expect("redis-cli PING", cli(certs, tp, "PING"), (0, ["PONG"]))
        rc, out = cli(certs, tp, "CREATE", "customer=alice", "item=book", "qty=1",
                      "amount=9.99")
        expect("redis-cli CREATE", (rc, record(out).get("customer")), (0, "alice"))
        rc, out = cli(certs, tp, "GET", record(out)["id"])
        expect("redis-cli GET", (rc, record(out).get("item")), (0, "book"))

        # redis-py with ssl=True: orders, a pipeline, pub/sub.
        r = tls_redis(certs, tp)
        created = record(r.execute_command("CREATE", "customer=bob", "item=pen", "qty=2",
                                           "amount=1.50"))
        expect("redis-py CREATE", created["status"], "PENDING")
        expect("redis-py GET", record(r.execute_command("GET", created["id"]))["customer"], "bob")
        pipe = r.pipeline(transaction=False)
        for i in range(1000):
            pipe.execute_command("CREATE", "customer=p%d" % i, "item=x", "qty=1", "amount=1")
        replies = pipe.execute()
        first = int(record(replies[0])["id"])
        expect("a pipeline of 1000 CREATEs, in order",
               [int(record(x)["id"]) for x in replies], list(range(first, first + 1000)))

        p = r.pubsub()
        p.subscribe("tls.news")
        expect("subscribed over TLS", p.get_message(timeout=READ_TIMEOUT)["type"], "subscribe")
        expect("PUBLISH from a plain client reaches the TLS subscriber",
               srv.redis().publish("tls.news", "hello"), 1)
        m = wait_for("the message", lambda: p.get_message(timeout=1))
        expect("message", (m["type"], m["channel"], m["data"]), ("message", "tls.news", "hello"))
        p.close()

        # Plain text on the TLS port: nothing served, the connection closed;
        # a plain client on the plain port is served before, meanwhile and
        # after.
        plain = srv.connect()
        plain_r = Reader(plain)
        plain.sendall(b"PING\r\n")
        expect("plain port before", plain_r.line(), b"+PONG\r\n")
        failures = int(metrics(srv)["tls_handshake_failures"])
        bad = socket.create_connection(("127.0.0.1", tp), timeout=READ_TIMEOUT)
        plain.sendall(b"PING\r\n")
        expect("plain port meanwhile", plain_r.line(), b"+PONG\r\n")
        bad.sendall(b"PING\r\n")
        bad_r = Reader(bad)
        check("plain text on the TLS port: closed", bad_r.closed())
        check("... and no +PONG", b"PONG" not in bytes(bad_r.buf), repr(bytes(bad_r.buf)))
        bad.close()
        plain.sendall(b"PING\r\n")
        expect("plain port after", plain_r.line(), b"+PONG\r\n")
        m = metrics(srv)
        expect("the failed handshake is counted", int(m["tls_handshake_failures"]), failures + 1)
        check("TLS sessions are counted", int(m["tls_connections"]) >= 3, m["tls_connections"])
        check("the log says why", "event=tls_handshake_failed reason=" in srv.log())

        # Replies far larger than the relay holds (RELAY_HIGH), to a client
        # that sends all its requests before reading a byte: the relay stops
        # reading the connection while the client is behind, and resumes;
        # every reply arrives whole and in order.
        big = tls_socket(certs, tp)
        rounds = 40
        big.sendall(resp_command("LIST", "limit=1000") * rounds + resp_command("PING"))
        big_r = Reader(big)
        for i in range(rounds):
            ids = list_ids(big_r.resp())
            expect("LIST %d over TLS: 1000 orders in order" % i, ids,
                   list(range(ids[0], ids[0] + 1000)) if ids else [])
        expect("then the PING", big_r.resp(), (b"+", b"PONG"))
        big.close()

        # The client half-closes after a request: the connection sees EOF,
        # answers, and closes; the reply comes through before the EOF.
        half = tls_socket(certs, tp)
        half.sendall(b"PING half\r\n")
        socket.socket.shutdown(half, socket.SHUT_WR)  # TCP FIN, the session kept
        expect("reply after the client's half-close", Reader(half).rest(), b"half\r\n")
        half.close()

        # The server closes (QUIT): what it sent, then the end of the
        # session; the request after QUIT is not run.
        q = tls_socket(certs, tp)
        q.sendall(b"PING\r\nQUIT\r\nPING again\r\n")
        expect("QUIT over TLS", Reader(q).rest(), b"+PONG\r\n+OK\r\n")
        q.close()

        # QUIT with megabytes still coming behind it: the replies arrive all
        # the same, then the end of the session. (The relay, like a plain
        # connection, waits for the client to close instead of resetting
        # the connection under replies it has not read.)
        # All of it in one TLS record (under 16 KB), so it is written before
        # the server can answer: a client still writing once the server has
        # ended the session gets its write refused, which is the client's
        # lot, not the server's failure. (And an SSL socket cannot be
        # written by one thread while another reads it.)
        q = tls_socket(certs, tp)
        q.sendall(b"PING\r\nQUIT\r\n" + b"PING never\r\n" * 1300)
        q_r = Reader(q)
        expect("QUIT with more behind it: the replies", (q_r.line(), q_r.line()),
               (b"+PONG\r\n", b"+OK\r\n"))
        check("... then the session ends", q_r.closed())
        check("... cleanly, no reset", not q_r.reset)
        q.close()

        # INFO over TLS shows the TLS figures.
        info = r.execute_command("INFO", "clients")
        check("INFO clients has tls_connections", "tls_connections:" in info, info)
        check("INFO clients has tls_handshake_failures", "tls_handshake_failures:" in info)
        check("INFO server has tls_port",
              ("tls_port:%d" % tp) in r.execute_command("INFO", "server"))
        r.close()

        # /metrics over HTTPS; plain HTTP to the same port fails.
        hp = srv.http_port()
        got = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", certs.ca,
                              "https://127.0.0.1:%d/metrics" % hp],
                             capture_output=True, text=True, timeout=30)
        expect("curl https /metrics", got.returncode, 0)
        check("/metrics has the TLS counters", "orderd_tls_connections_total " in got.stdout)
        got = subprocess.run(["curl", "-sS", "--max-time", "10",
                              "http://127.0.0.1:%d/metrics" % hp],
                             capture_output=True, text=True, timeout=30)
        check("plain http to the HTTPS port fails", got.returncode != 0,
              "curl exited 0: %r" % got.stdout[:200])

        # SIGTERM while a TLS client has replies due that it has not read:
        # they reach it whole (the connection closes into its relay, which
        # passes the rest on before orderd exits), then the session ends.
        late = tls_socket(certs, tp)
        before = int(metrics(srv)["calls_list"])
        late.sendall(resp_command("LIST", "limit=1000") * 10)
        wait_for("the late client's requests to have run",
                 lambda: int(metrics(srv)["calls_list"]) == before + 10)
        idle = tls_socket(certs, tp)
        expect("orderd exits 0 on SIGTERM", srv.stop(), 0)
        late_r = Reader(late)
        for i in range(10):
            expect("reply %d due at SIGTERM arrives whole" % i, len(late_r.resp()), 1000)
        check("then the session ends", late_r.closed())
        check("an idle TLS client is closed too", Reader(idle).closed())
        late.close()
        idle.close()
        check("no shutdown had to be forced", "shutdown_forced" not in srv.log(), srv.log())

    # --max-clients counts TLS clients as connections like any other.
    with Orderd("--store", "memory", "--max-clients", "1", "--tls-port", "0",
                *certs.server_flags()) as srv:
        tp, hp = srv.tls_port(), srv.http_port()
        # The harness's probe of the plain port counts until orderd sees it
        # close.
        wait_for("no clients", lambda: connected_clients(hp) == 0)
        first = tls_socket(certs, tp)
        first.sendall(b"PING\r\n")
        expect("the first TLS client is served", Reader(first).line(), b"+PONG\r\n")
        second = tls_socket(certs, tp)
        expect("the second is refused, over TLS", Reader(second).rest(),
               b"-LIMIT too many clients (max 1)\r\n")
        second.close()
        first.close()

    # The "done when": a password-protected orderd refuses anonymous
    # requests over TLS, and redis-cli --tls -a works; so does redis-py.
    with Orderd("--store", "memory", "--port", "off", "--tls-port", "0",
                "--requirepass", "tls-secret", *certs.server_flags()) as srv:
        tp = srv.tls_port()
        expect("anonymous over TLS", cli(certs, tp, "GET", "1"),
               (0, ["NOAUTH authentication required"]))
        expect("redis-cli --tls -a", cli(certs, tp, "--no-auth-warning", "-a", "tls-secret",
                                         "ACL", "WHOAMI"), (0, ["default"]))
        r = redis.Redis(host="127.0.0.1", port=tp, ssl=True, ssl_ca_certs=certs.ca,
                        password="tls-secret", decode_responses=True,
                        socket_timeout=READ_TIMEOUT)
        r.response_callbacks.clear()
        expect("redis-py over TLS with a password",
               record(r.execute_command("CREATE", "customer=c", "item=i", "qty=1",
                                        "amount=1"))["customer"], "c")
        r.close()
