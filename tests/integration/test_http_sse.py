#!/usr/bin/python3
# stores: journal postgres
"""GET /events: Server-Sent Events on the HTTP port.

- Orders created over RESP and over HTTP (POST /orders) arrive as events,
  `event:` the channel and `data:` its JSON, headers text/event-stream and
  no-cache; names and patterns pick the channels, each message comes once
  even when two of them cover it, and a payload of several lines is several
  `data:` lines.
- On a durable channel (CHANNEL CREATE order.status) `id:` is the stream's
  offset in it; reconnecting with Last-Event-ID (or ?lastEventId=) gives
  exactly the events missed, then the live ones: no gap, no duplicate, even
  while messages keep being published during the replay.
- A heartbeat comment comes every --http-sse-heartbeat seconds.
- A user whose roles may not SUBSCRIBE gets 403; nobody, 401.
- --http-max-streams: one more is 503; a client that leaves frees its
  place.
- A client that stops reading is cut off at the pub/sub limits
  (event=client_cut_off kind=sse) while another stream goes on.
- Streams still open when orderd stops end with it (the harness checks
  that it exits cleanly, and under ASan with nothing leaked)."""
import http.client
import json
import os
import socket
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chanlib import Client  # noqa: E402
from harness import Orderd, Reader, TestFailure, check, expect, wait_for  # noqa: E402


class Stream:
    """GET /events on a raw socket: the response head, then events decoded
    from the chunked body, every read under the harness's deadline."""

    def __init__(self, port, query, headers=(), rcvbuf=None, read_head=True):
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(20)
        self.sock.connect(("127.0.0.1", port))
        req = "GET /events?%s HTTP/1.1\r\nHost: orderd\r\nAccept: text/event-stream\r\n" % query
        for h in headers:
            req += h + "\r\n"
        self.sock.sendall((req + "\r\n").encode())
        self.reader = Reader(self.sock)
        self.body = bytearray()
        self.ended = False
        if read_head:
            self.head()

    def head(self):
        self.status = int(self.reader.line().split()[1])
        self.headers = {}
        while True:
            line = self.reader.line().decode().rstrip("\r\n")
            if not line:
                break
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        if self.status != 200:
            n = int(self.headers.get("content-length", "0"))
            self.problem = json.loads(self.reader.exactly(n)) if n else None

    def _chunk(self):
        size = self.reader.line()
        if not size:
            raise TestFailure("the stream closed")
        n = int(size.strip(), 16)
        if n == 0:
            self.ended = True
            raise TestFailure("the stream ended")
        data = self.reader.exactly(n + 2)
        self.body += data[:-2]

    def block(self):
        """The next block (event or comment) as its lines."""
        while b"\n\n" not in self.body:
            self._chunk()
        i = self.body.index(b"\n\n")
        text = bytes(self.body[:i]).decode()
        del self.body[:i + 2]
        return text.split("\n")

    def event(self):
        """The next event, comments skipped: {"id", "event", "data"}."""
        while True:
            lines = self.block()
            if all(line.startswith(":") for line in lines):
                continue
            ev = {"id": None, "event": None, "data": None}
            for line in lines:
                k, _, v = line.partition(":")
                v = v[1:] if v.startswith(" ") else v
                if k == "data":
                    ev["data"] = v if ev["data"] is None else ev["data"] + "\n" + v
                else:
                    ev[k] = v
            return ev

    def close(self):
        self.sock.close()


def order_events(stream, order_id):
    """Reads one order's events, order.created to DELIVERED."""
    got = []
    while True:
        ev = stream.event()
        body = json.loads(ev["data"])
        expect("event name is the channel", ev["event"], body["type"])
        expect("an event of this order", body["order_id"], order_id)
        got.append(ev)
        if body.get("status") == "DELIVERED":
            return got


def http_post(port, path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    out = (r.status, json.loads(r.read()))
    c.close()
    return out


def record(flat):
    """A record from redis-py (decoded) as a dict."""
    return dict(zip(flat[0::2], flat[1::2]))


def records(lst):
    return [record(x) for x in lst]


def offset_of(ev, channel):
    marks = dict(m.rsplit(":", 1) for m in ev["id"].split(","))
    return int(marks[channel])


# --- events for orders from either side; patterns; one event per message ---
with Orderd() as srv:
    port = srv.http_port()
    r = srv.redis()
    both = Stream(port, "channels=order.*,dlq")
    expect("status", both.status, 200)
    expect("content type", both.headers.get("content-type"), "text/event-stream")
    expect("cache control", both.headers.get("cache-control"), "no-cache")
    created = Stream(port, "channels=order.created")
    status = Stream(port, "channels=ord%3Fr.stat*")           # ord?r.stat*

    a = record(r.execute_command("CREATE", "customer=alice", "item=book", "qty=1",
                                 "amount=19.99"))["id"]
    evs = order_events(both, a)
    expect("first event", (evs[0]["event"], json.loads(evs[0]["data"])["order"]["customer"]),
           ("order.created", "alice"))
    check("then its statuses", all(e["event"] == "order.status" for e in evs[1:]) and len(evs) > 2)
    check("no id on live channels", all(e["id"] is None for e in evs))
    expect("order.created only", created.event()["event"], "order.created")
    expect("statuses only", [status.event()["data"] for _ in evs[1:]],
           [e["data"] for e in evs[1:]])

    code, order = http_post(port, "/orders", {"customer": "bob", "item": "pen", "qty": 2,
                                              "amount": "3.50"})
    expect("POST /orders", code, 201)
    evs = order_events(both, order["id"])
    expect("an order made over HTTP, over SSE", json.loads(evs[0]["data"])["order"]["customer"],
           "bob")

    # Two entries covering one channel: one event per message. A payload
    # of several lines is as many data: lines, joined again with LF.
    dup = Stream(port, "channels=news,n*,news")
    # (PUBLISH counts subscriptions reached, as Redis does: two here.)
    expect("publish", r.execute_command("PUBLISH", "news", "one\ntwo\r\nthree"), 2)
    expect("publish elsewhere", r.execute_command("PUBLISH", "other", "x"), 0)
    expect("publish", r.execute_command("PUBLISH", "nows", "last"), 1)
    ev = dup.event()
    expect("lines", (ev["event"], ev["data"]), ("news", "one\ntwo\nthree"))
    expect("the next is the next message, not the same again", dup.event()["data"], "last")

    # Bad requests.
    for query, want in (("", 400), ("channels=", 400), ("channels=a,,b", 400),
                        ("channels=a&bogus=1", 400), ("channels=%s" % ("x" * 300), 400)):
        s = Stream(port, query)
        expect("GET /events?%s" % query, s.status, want)
        expect("a problem document", s.headers.get("content-type"), "application/problem+json")
        s.close()
    s = Stream(port, "channels=a", headers=("Last-Event-ID: a:b",))
    expect("a Last-Event-ID of another form", (s.status, s.problem["code"]), (400, "BADARG"))
    s.close()
    # One still open when orderd stops: it ends with it.

# --- ids are offsets; Last-Event-ID resumes without a gap or a duplicate ---
with Orderd("--http-sse-heartbeat", "1") as srv:
    port = srv.http_port()
    r = srv.redis()
    r.execute_command("CHANNEL", "CREATE", "order.status")
    s = Stream(port, "channels=order.*")

    def create(name):
        return record(r.execute_command("CREATE", "customer=" + name, "item=book", "qty=1",
                                        "amount=1.00"))["id"]

    first = order_events(s, create("carol"))
    ids = [offset_of(e, "order.status") for e in first]
    expect("ids are the durable offsets", ids, [0] + list(range(1, len(first))))
    # The client sees two statuses, then goes; more happen meanwhile.
    seen = offset_of(first[2], "order.status")
    s.close()
    away = [create("dave"), create("erin")]
    wait_for("their sagas to finish", lambda: all(
        record(r.execute_command("GET", i))["status"] == "DELIVERED" for i in away))
    log = records(r.execute_command("READ", "order.status", "from=%d" % (seen + 1), "count=1000"))
    check("statuses happened while it was away", len(log) > 4)

    def resumed(stream):
        got = [stream.event() for _ in log]
        expect("the missed events, in order",
               [(offset_of(e, "order.status"), e["data"]) for e in got],
               [(m["id"], m["payload"]) for m in log])
        # Then the live ones, from the next offset on.
        live = order_events(stream, create("fred"))
        statuses = [e for e in live if e["event"] == "order.status"]
        expect("live after the replay",
               [offset_of(e, "order.status") for e in statuses],
               list(range(log[-1]["id"] + 1, log[-1]["id"] + 1 + len(statuses))))
        return live

    s = Stream(port, "channels=order.*", headers=("Last-Event-ID: " + first[2]["id"],))
    live = resumed(s)
    s.close()
    # The query's lastEventId does the same, for clients without headers.
    log = records(r.execute_command("READ", "order.status", "from=%d" % (seen + 1), "count=1000"))
    s = Stream(port, "channels=order.*&lastEventId=order.status:%d" % seen)
    resumed(s)

    # The seam under load: resume far back in a long log while messages
    # keep coming; every offset once, in order.
    r.execute_command("CHANNEL", "CREATE", "feed")
    pipe = r.pipeline(transaction=False)
    for i in range(1, 3001):
        pipe.execute_command("PUBLISH", "feed", "m%d" % i)
    pipe.execute()
    def publish_more():
        c = srv.redis()
        for i in range(3001, 4001):
            c.execute_command("PUBLISH", "feed", "m%d" % i)
        c.close()
    more = threading.Thread(target=publish_more)
    feed = Stream(port, "channels=feed", headers=("Last-Event-ID: feed:10",))
    more.start()
    got = [feed.event() for _ in range(11, 4001)]
    more.join()
    expect("offsets 11..4000 once each",
           [offset_of(e, "feed") for e in got], list(range(11, 4001)))
    expect("payloads", [e["data"] for e in got], ["m%d" % i for i in range(11, 4001)])

    # A stream with nothing to say sends a heartbeat comment.
    quiet = Stream(port, "channels=nothing.here")
    expect("heartbeat", quiet.block(), [": ping"])
    expect("and again", quiet.block(), [": ping"])

# --- roles, the stream cap, a client that leaves, a slow reader ---
with tempfile.TemporaryDirectory() as d:
    acl = os.path.join(d, "users.acl")
    with open(acl, "w") as f:
        f.write("user shop on >shop-pw +@client\nuser wrk on >wrk-pw +@worker\n"
                "user root on >root-pw +@admin\n")
    with Orderd("--acl-file", acl, "--http-max-streams", "2",
                "--pubsub-hard-limit", "1048576", "--pubsub-soft-limit", "262144",
                "--pubsub-soft-seconds", "1") as srv:
        port = srv.http_port()
        auth = {u: "Authorization: Basic " + __import__("base64").b64encode(
            ("%s:%s-pw" % (u, u)).encode()).decode() for u in ("shop", "wrk", "root")}
        s = Stream(port, "channels=order.*")
        expect("nobody", (s.status, s.problem["code"]), (401, "NOAUTH"))
        check("a challenge", "www-authenticate" in s.headers)
        s = Stream(port, "channels=order.*", headers=(auth["wrk"],))
        expect("a worker may not SUBSCRIBE", (s.status, s.problem["code"]), (403, "NOPERM"))
        expect("who", s.problem["detail"], "user wrk (worker) may not run SUBSCRIBE")

        fast = Stream(port, "channels=ch", headers=(auth["shop"],))
        expect("a client may", fast.status, 200)
        slow = Stream(port, "channels=ch", headers=(auth["root"],), rcvbuf=1 << 16)
        expect("second stream", slow.status, 200)
        over = Stream(port, "channels=ch", headers=(auth["root"],))
        expect("a third is over --http-max-streams", (over.status, over.problem["code"]),
               (503, "LIMIT"))
        check("Retry-After", "retry-after" in over.headers)

        # The slow one stops reading; the fast one reads everything.
        pub = Client(srv)
        pub.call("AUTH", "root", "root-pw")
        payload = "x" * 1000
        sent = 0
        while "kind=sse" not in srv.log():
            check("cut off within 64 MB", sent < 65536)
            pub.send_raw(b"".join(b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$1004\r\n%04d%s\r\n"
                                  % (i % 10000, payload.encode())
                                  for i in range(sent, sent + 500)))
            for i in range(sent, sent + 500):
                pub.read()
                expect("fast gets every message", fast.event()["data"],
                       "%04d%s" % (i % 10000, payload))
            sent += 500
        line = [l for l in srv.log().splitlines() if "event=client_cut_off" in l]
        expect("one cut-off", len(line), 1)
        check("of the stream", "kind=sse" in line[0], line[0])
        check("its connection closed", slow.reader.closed())
        expect("the fast one goes on", pub.call("PUBLISH", "ch", "after"), 1)
        expect("and gets it", fast.event()["data"], "after")

        # The cut-off one's place is free again, and so is a closed one's.
        again = Stream(port, "channels=ch", headers=(auth["root"],))
        expect("a place after the cut-off", again.status, 200)
        again.close()

        def reopened():
            s = Stream(port, "channels=ch", headers=(auth["root"],))
            s.close()
            return s.status == 200
        wait_for("a stream's place back after its client left", reopened)
