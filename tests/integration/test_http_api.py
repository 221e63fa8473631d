#!/usr/bin/python3
"""The HTTP/JSON API against the real server, with curl and Python's
http.client: every endpoint and every error status, problem+json errors,
Idempotency-Key replay and conflict, exact amounts, 1000 requests on one
keep-alive connection, a body split across many TCP writes, an order
created over HTTP read back identically over RESP and inline, a 201 that
survives kill -9, users and roles, CORS, and the HTTP limits."""
# stores: journal postgres
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile

from durability import kill9, reap, start, stop
from harness import Orderd, Reader, check, expect, wait_for

ORDER = {"customer": "alice", "item": "book", "qty": 2, "amount": "19.99"}


class Api:
    """One keep-alive connection to the HTTP port."""

    def __init__(self, port, auth=None):
        self.port = port
        self.auth = auth
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)

    def call(self, method, path, body=None, headers=None):
        h = {"Content-Type": "application/json"} if body is not None else {}
        if self.auth:
            h["Authorization"] = self.auth
        h.update(headers or {})
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        raw = r.read()
        ctype = r.getheader("Content-Type", "")
        doc = json.loads(raw) if raw and "json" in ctype else raw
        return r.status, dict(r.getheaders()), doc

    def close(self):
        self.conn.close()


def problem(api, method, path, status, code, body=None, headers=None, detail=None):
    got, h, doc = api.call(method, path, body, headers)
    expect("%s %s: status" % (method, path), got, status)
    expect("%s %s: problem+json" % (method, path), h.get("Content-Type"),
           "application/problem+json")
    expect("%s %s: its status" % (method, path), doc["status"], status)
    expect("%s %s: code" % (method, path), doc["code"], code)
    check("%s %s: type and title" % (method, path), doc["type"].startswith("urn:orderd:error:")
          and doc["title"], doc)
    if detail:
        check("%s %s: detail says %r" % (method, path, detail), detail in doc["detail"], doc)
    return h, doc


def dead_letter(srv):
    """A message in the DLQ, made over RESP; answers its DLQ id."""
    r = srv.redis()
    r.execute_command("CHANNEL", "CREATE", "jobs", "maxdeliver=1")
    r.execute_command("PUBLISH", "jobs", "poison")
    m = r.execute_command("CONSUME", "jobs", "group=g", "consumer=c")
    r.execute_command("NACK", "jobs", "group=g", m[0][1], "delay=0", "reason=bad")
    entries = wait_for("the dead letter", lambda: r.execute_command("DLQ", "LIST"))
    return dict(zip(entries[-1][::2], entries[-1][1::2]))["id"]


def endpoints(srv, port):
    api = Api(port)
    # --- orders ------------------------------------------------------------
    status, h, order = api.call("POST", "/orders", ORDER, {"Idempotency-Key": "abc123"})
    expect("POST /orders", status, 201)
    expect("Location", h.get("Location"), "/orders/%d" % order["id"])
    expect("the order", (order["customer"], order["qty"], order["amount"], order["currency"],
                         order["key"]), ("alice", 2, "19.99", "USD", "abc123"))
    oid = order["id"]
    # The same key and body: the same order. Another body: 409.
    status, h, again = api.call("POST", "/orders", ORDER, {"Idempotency-Key": "abc123"})
    expect("replayed key", (status, again["id"]), (201, oid))
    problem(api, "POST", "/orders", 409, "CONFLICT", dict(ORDER, qty=3),
            {"Idempotency-Key": "abc123"})
    # Amounts: a number or a string, two decimals at most, strings back.
    status, _, o = api.call("POST", "/orders", dict(ORDER, amount=0.1))
    expect("a number amount", (status, o["amount"]), (201, "0.10"))
    problem(api, "POST", "/orders", 400, "BADARG", dict(ORDER, amount="1.999"),
            detail="more decimals")
    problem(api, "POST", "/orders", 400, "BADARG", dict(ORDER, amount=1.999))
    problem(api, "POST", "/orders", 400, "BADARG", {"customer": "a"}, detail="missing")
    problem(api, "POST", "/orders", 400, "BADARG", dict(ORDER, colour="red"),
            detail="unknown field 'colour'")
    problem(api, "POST", "/orders", 400, "BADARG", b"{not json", detail="not JSON")
    problem(api, "POST", "/orders", 415, "BADARG", b"<order/>",
            {"Content-Type": "application/xml"})

    status, _, got = api.call("GET", "/orders/%d" % oid)
    expect("GET /orders/{id}", (status, got["id"], got["amount"]), (200, oid, "19.99"))
    problem(api, "GET", "/orders/999999", 404, "NOTFOUND", detail="999999")
    problem(api, "GET", "/orders/abc", 400, "BADARG")
    problem(api, "GET", "/nowhere", 404, "NOTFOUND")
    h, _ = problem(api, "PUT", "/orders/%d" % oid, 405, "ERR")
    expect("405 says what is allowed", h.get("Allow"), "GET, PATCH")

    # Pages: the next cursor, until null.
    for i in range(4):
        api.call("POST", "/orders", dict(ORDER, customer="pager"))
    seen, after = [], None
    while True:
        q = "/orders?customer=pager&limit=3" + ("&after=%d" % after if after else "")
        status, _, page = api.call("GET", q)
        expect("a page", status, 200)
        seen += [o["id"] for o in page["orders"]]
        after = page["next"]
        if after is None:
            break
    expect("every order of the customer, once, in order", len(seen), 4)
    check("ascending", seen == sorted(seen), seen)
    problem(api, "GET", "/orders?colour=red", 400, "BADARG", detail="unknown query parameter")
    problem(api, "GET", "/orders?limit=0", 400, "BADARG")

    # The lifecycle, with sagas off: PATCH and cancel.
    status, _, o = api.call("PATCH", "/orders/%d" % oid, {"status": "RESERVED", "note": "by hand"})
    expect("PATCH", (status, o["status"]), (200, "RESERVED"))
    problem(api, "PATCH", "/orders/%d" % oid, 409, "STATE", {"status": "PENDING"})
    status, _, hist = api.call("GET", "/orders/%d/history" % oid)
    expect("history", [t["to"] for t in hist["history"]], ["PENDING", "RESERVED"])
    expect("the note", hist["history"][1]["note"], "by hand")
    status, _, o = api.call("POST", "/orders/%d/cancel" % oid, {"reason": "changed my mind"})
    expect("cancel", (status, o["status"]), (200, "CANCELLED"))
    problem(api, "POST", "/orders/%d/cancel" % oid, 409, "STATE")
    status, _, t = api.call("GET", "/track/%d" % oid)
    expect("track", (status, t["status"]), (200, "CANCELLED"))
    status, _, s = api.call("GET", "/orders/%d/saga" % oid)
    check("saga: no saga with sagas off", status in (200, 404), (status, s))

    # --- the DLQ -------------------------------------------------------------
    dlq_id = dead_letter(srv)
    status, _, d = api.call("GET", "/dlq")
    expect("GET /dlq", (status, d["dead_letters"][-1]["id"]), (200, dlq_id))
    status, _, e = api.call("GET", "/dlq/%d" % dlq_id)
    expect("GET /dlq/{id}", (status, e["reason"]), (200, "bad"))
    problem(api, "GET", "/dlq/999", 404, "NOTFOUND")
    status, _, r = api.call("POST", "/dlq/%d/replay" % dlq_id)
    expect("replay one", (status, r["replayed"]), (200, 1))
    dlq_id = dead_letter(srv)
    status, _, r = api.call("POST", "/dlq/replay?channel=jobs")
    expect("replay all", (status, r["replayed"]), (200, 1))
    dlq_id = dead_letter(srv)
    status, _, r = api.call("DELETE", "/dlq/%d" % dlq_id)
    expect("purge", (status, r["purged"]), (200, 1))
    api.close()

    # --- curl, as the README shows it ------------------------------------------
    out = subprocess.run(["curl", "-s", "-i", "-X", "POST", "127.0.0.1:%d/orders" % port,
                          "-H", "Idempotency-Key: curl-1", "-d", json.dumps(ORDER)],
                         capture_output=True, text=True, timeout=20).stdout
    check("curl -d (no Content-Type given) creates", out.startswith("HTTP/1.1 201"), out)
    out = subprocess.run(["curl", "-s", "-f", "127.0.0.1:%d/track/%d" % (port, oid)],
                         capture_output=True, text=True, timeout=20)
    expect("curl track", json.loads(out.stdout)["id"], oid)


def keep_alive(port):
    """1000 requests on one connection: one socket, every answer right."""
    api = Api(port)
    status, _, o = api.call("POST", "/orders", ORDER)
    sock = api.conn.sock
    for i in range(1000):
        status, _, got = api.call("GET", "/orders/%d" % o["id"])
        if status != 200 or got["id"] != o["id"]:
            raise AssertionError("request %d: %s %s" % (i, status, got))
    check("one connection all along", api.conn.sock is sock)
    api.close()


def split_body(port):
    """A request arriving a few bytes at a time, the body too."""
    body = json.dumps(dict(ORDER, customer="slowpoke")).encode()
    req = (b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(0, len(req), 7):
        s.sendall(req[i:i + 7])
    rd = Reader(s)
    expect("split: status line", rd.line(), b"HTTP/1.1 201 Created\r\n")
    s.close()


def cross_framing(srv, port):
    """Created over HTTP, read over RESP and inline: the same fields."""
    api = Api(port)
    _, _, o = api.call("POST", "/orders", dict(ORDER, customer="cross"), {"Idempotency-Key": "x1"})
    api.close()
    r = srv.redis()
    flat = r.execute_command("GET", str(o["id"]))
    over_resp = dict(zip(flat[::2], flat[1::2]))
    s = srv.connect()
    s.sendall(b"GET %d\r\n" % o["id"])
    line = Reader(s).line().decode().strip()
    inline = dict(w.split("=", 1) for w in line.split(" "))
    expect("RESP has the HTTP order", {k: str(v) for k, v in over_resp.items()},
           {k: str(v) for k, v in o.items() if v is not None} | {"key": "x1"})
    expect("inline has it too", inline["customer"], "cross")
    expect("inline amount", inline["amount"], "19.99")
    # And the other way: made over RESP, read over HTTP.
    flat = r.execute_command("CREATE", "customer=resp", "item=pen", "qty=1", "amount=2.50")
    made = dict(zip(flat[::2], flat[1::2]))
    _, _, got = Api(port).call("GET", "/orders/%d" % made["id"])
    expect("HTTP has the RESP order", (got["customer"], got["amount"]), ("resp", "2.50"))


def limits(port):
    api = Api(port)
    big = dict(ORDER, customer="x" * 70000)
    try:
        status, _, _ = api.call("POST", "/orders", big)
    except (ConnectionError, http.client.HTTPException):
        status = 413  # evhttp may close before reading it all
    expect("a body over --http-max-body", status, 413)
    api.close()


def main():
    with Orderd("--saga", "off", "--http-cors-origin", "https://shop.example") as srv:
        port = srv.http_port()
        endpoints(srv, port)
        keep_alive(port)
        split_body(port)
        cross_framing(srv, port)
        limits(port)
        # CORS: a preflight from the named origin, and its headers on answers.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        c.request("OPTIONS", "/orders", headers={"Origin": "https://shop.example",
                                                 "Access-Control-Request-Method": "POST"})
        r = c.getresponse()
        r.read()
        expect("preflight", r.status, 204)
        check("methods", "POST" in r.getheader("Access-Control-Allow-Methods", ""))
        check("headers", "Idempotency-Key" in r.getheader("Access-Control-Allow-Headers", ""))
        c.request("GET", "/orders/1", headers={"Origin": "https://evil.example"})
        r = c.getresponse()
        r.read()
        expect("another origin gets no CORS", r.getheader("Access-Control-Allow-Origin"), None)
        c.request("GET", "/orders/1", headers={"Origin": "https://shop.example"})
        r = c.getresponse()
        r.read()
        expect("the origin gets CORS", r.getheader("Access-Control-Allow-Origin"),
               "https://shop.example")
        c.close()

    # A 201 is durable: kill -9 right after it, the order is there after.
    tmp = tempfile.mkdtemp(prefix="orderd-http-")
    data = os.path.join(tmp, "data")
    try:
        srv = start(data, "--fsync", "always")
        made = [Api(srv.http_port()).call("POST", "/orders", dict(ORDER, customer="k%d" % i))
                for i in range(20)]
        kill9(srv)
        srv = start(data)
        api = Api(srv.http_port())
        for status, _, o in made:
            expect("created before the kill", status, 201)
            expect("there after it", api.call("GET", "/orders/%d" % o["id"])[2]["customer"],
                   o["customer"])
        api.close()
        stop(srv)
    finally:
        reap()
    # Users and roles: 401 without credentials, 403 for a role, Basic works.
    acl = os.path.join(tmp, "users-http.acl")
    with open(acl, "w") as f:
        f.write("user shop on >shop-pw +@client\nuser ops on >ops-pw +@operator\n")
    try:
        with Orderd("--saga", "off", "--acl-file", acl, "--http-max-connections", "2",
                    "--http-idle-timeout", "1") as srv:
            port = srv.http_port()
            anon = Api(port)
            h, _ = problem(anon, "GET", "/orders/1", 401, "NOAUTH")
            check("401 asks for Basic", "Basic" in h.get("WWW-Authenticate", ""), h)
            anon.close()
            wrong = Api(port, "Bearer shop:nope")
            problem(wrong, "GET", "/orders/1", 401, "WRONGPASS")
            wrong.close()
            shop = Api(port, "Basic c2hvcDpzaG9wLXB3")  # shop:shop-pw
            status, _, o = shop.call("POST", "/orders", ORDER)
            expect("a client creates", status, 201)
            problem(shop, "DELETE", "/dlq/1", 403, "NOPERM", detail="may not run DLQ PURGE")
            problem(shop, "PATCH", "/orders/%d" % o["id"], 403, "NOPERM", {"status": "RESERVED"})
            ops = Api(port, "Bearer ops:ops-pw")
            status, _, o2 = ops.call("PATCH", "/orders/%d" % o["id"], {"status": "RESERVED"})
            expect("an operator updates", (status, o2["status"]), (200, "RESERVED"))
            # Two connections are open (shop, ops): a third is refused.
            third = Api(port, "Bearer ops:ops-pw")
            problem(third, "GET", "/orders/1", 503, "LIMIT", detail="too many HTTP connections")
            third.close()
            shop.close()
            ops.close()
            # An idle keep-alive connection is closed after --http-idle-timeout.
            s = socket.create_connection(("127.0.0.1", port), timeout=20)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            rd = Reader(s)
            expect("healthz", rd.line(), b"HTTP/1.1 200 OK\r\n")
            check("closed when idle", rd.closed(timeout=10))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("test_http_api: ok")


main()
