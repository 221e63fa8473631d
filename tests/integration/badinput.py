"""What the bad-input suite (tests/integration/test_bad_input*.py; see
docs/testing.md, "The bad-input suite") shares: how a case is run and
checked on each port, the second client whose orders must come through
untouched meanwhile, and the bound on orderd's memory.

A case sends bytes on a connection of its own and states everything that
must come back:

- on the protocol port, plain or TLS (ProtocolCases): the reply lines, in
  order, and then either the close (an orderly EOF, not a reset, and not
  one byte more) or, on a connection that must go on, the answer to a
  PING sent after them, which must be the very next line: so nothing
  else came;
- on the HTTP port (HttpCases): the response's status line, its
  Content-Type and the headers the case names, its body (a problem
  document byte for byte, or the exact bytes), then the close, or the
  answer to the next request on the same connection.

While each case runs, the Pipeline (a second client, on a thread) has a
batch of pipelined CREATEs with idempotency keys in flight over RESP; the
case is over when its batch is answered too. At the end every order it
was answered for is read back with GET, its customer's orders are
exactly those, and its first batch sent again with the same keys
creates nothing. orderd's resident memory (VmRSS) is read before the
cases and after, and its growth held to RSS_GROWTH_MAX (or, under ASan,
RSS_GROWTH_MAX_ASAN).
"""
import hashlib
import json
import os
import socket
import ssl
import sys
import threading

from harness import READ_TIMEOUT, Reader, TestFailure, check, expect, resp_command

# orderd's growth in resident memory over one server's cases, the
# pipeline's orders included: at most 16 MiB, or 48 MiB under ASan (with
# its quarantine held to 8 MiB: asan_env()), whose redzones make every
# order and saga take several times the room. Measured (docs/testing.md):
# up to 5 MiB in release and 25 MiB under ASan, nearly all of it the
# pipeline's orders (a pipeline alone, as many batches, grows as much).
# The bounds leave room for a busy machine's allocator; they are a coarse
# net, for memory that grows with what the cases send or declare (a size
# allocated before it is checked: *2147483647 declares 2^31 arguments; the
# input of closed connections kept). A few bytes lost per connection are
# LeakSanitizer's to find: the harness fails a run whose log reports one.
RSS_GROWTH_MAX = 16 << 20
RSS_GROWTH_MAX_ASAN = 48 << 20

# The users of the servers with users (test_bad_input_auth.py,
# test_bad_input_http.py); `default` is --requirepass's admin, and the
# worker's password is given as its SHA-256.
ADMIN_PASSWORD = "root-pw"
WORKER_PASSWORD = "wrk-pw"
ACL = """# the bad-input suite's users
user ops on >ops-pw +@operator
user shop on >shop-pw +@client
user wrk on #%s +@worker
user gone off >gone-pw +@admin
""" % hashlib.sha256(WORKER_PASSWORD.encode()).hexdigest()

HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: orderd\r\n\r\n"


def asan_env():
    """The environment for orderd: under ASan, freed memory waits in a
    quarantine (256 MiB by default) before it is reused, which RSS would
    count as growth; 8 MiB keeps the measure about the server. Nothing
    changes for a release build."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=8"}


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise TestFailure("no VmRSS in /proc/%d/status" % pid)


def under_asan():
    """Whether $ORDERD is built with AddressSanitizer."""
    with open(os.path.realpath(os.environ["ORDERD"]), "rb") as f:
        return b"__asan_init" in f.read()


class Rss:
    """orderd's resident memory now, and later its growth, held to
    RSS_GROWTH_MAX (RSS_GROWTH_MAX_ASAN under ASan)."""

    def __init__(self, srv):
        self.pid = srv.proc.pid
        self.before = rss_bytes(self.pid)
        self.bound = RSS_GROWTH_MAX_ASAN if under_asan() else RSS_GROWTH_MAX

    def check(self, what):
        after = rss_bytes(self.pid)
        growth = after - self.before
        print("%s: orderd RSS %.1f MiB before the cases, %.1f MiB after (%+.1f MiB; bound %d MiB)"
              % (what, self.before / 2**20, after / 2**20, growth / 2**20, self.bound >> 20))
        check("%s: RSS grew by %d bytes, over the bound of %d" % (what, growth, self.bound),
              growth <= self.bound)


def record(flat):
    """A RESP record (a flat list of keys and values) as a dict of str."""
    if not isinstance(flat, list):
        raise TestFailure("not a record: %r" % (flat,))
    return {k.decode(): v.decode() if isinstance(v, bytes) else v
            for k, v in zip(flat[::2], flat[1::2])}


def tls_connect(ca, port):
    """A TLS socket to orderd's TLS port, the server checked against ca."""
    ctx = ssl.create_default_context(cafile=ca)
    raw = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


class Pipeline(threading.Thread):
    """The second client: batches of BATCH pipelined CREATEs, each with an
    idempotency key, over RESP on a connection of its own (connect() makes
    it; auth, if given, is AUTH's arguments). One batch is sent each time
    kick() asks, so that every case has one in flight, and the orders stay
    few enough not to count in the RSS bound."""

    BATCH = 8

    def __init__(self, connect, tag, auth=()):
        super().__init__(daemon=True)
        self.connect = connect
        self.tag = tag
        self.customer = "pipeline-" + tag
        self.auth = auth
        self.cond = threading.Condition()
        self.asked = 0
        self.done = 0
        self.stopping = False
        self.ended = False
        self.sent = 0
        self.acked = []   # (id, key, amount), in the order answered
        self.errors = []

    def order(self, n):
        return "%s-%d" % (self.tag, n), "%d.%02d" % (1 + n % 40, n % 100)

    def create(self, key, amount):
        return resp_command("CREATE", "customer=" + self.customer, "item=pen", "qty=2",
                            "amount=" + amount, "key=" + key)

    def open(self):
        s = self.connect()
        rd = Reader(s)
        if self.auth:
            s.sendall(resp_command("AUTH", *self.auth))
            expect("the pipeline's AUTH", rd.resp(), (b"+", b"OK"))
        return s, rd

    def run(self):
        s = None
        try:
            s, rd = self.open()
            while True:
                with self.cond:
                    self.cond.wait_for(lambda: self.stopping or self.asked > self.done)
                    if self.asked <= self.done:
                        return
                orders = [self.order(self.sent + i) for i in range(self.BATCH)]
                self.sent += self.BATCH
                s.sendall(b"".join(self.create(k, a) for k, a in orders))
                for key, amount in orders:
                    rec = record(rd.resp())
                    if (rec.get("customer"), rec.get("key"), rec.get("amount"),
                            rec.get("status")) != (self.customer, key, amount, "PENDING"):
                        raise TestFailure("CREATE key=%s answered %r" % (key, rec))
                    self.acked.append((rec["id"], key, amount))
                with self.cond:
                    self.done += 1
                    self.cond.notify_all()
        except Exception as e:  # noqa: BLE001 - reported by settle() and verify()
            self.errors.append("%s: %s" % (type(e).__name__, e))
        finally:
            with self.cond:
                self.ended = True
                self.cond.notify_all()
            if s is not None:
                s.close()

    def kick(self):
        """Another batch, sent now."""
        with self.cond:
            self.asked += 1
            self.cond.notify_all()

    def settle(self):
        """Waits until every batch asked for is answered."""
        with self.cond:
            ok = self.cond.wait_for(lambda: self.done >= self.asked or self.ended,
                                    timeout=READ_TIMEOUT)
        expect("the pipeline's errors", self.errors, [])
        check("the pipeline's batch answered within %g s" % READ_TIMEOUT, ok and not self.ended)

    def verify(self):
        """Stops, and checks that every order answered is there, as sent.
        Returns how many there are."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.join(timeout=READ_TIMEOUT)
        check("the pipeline stopped", not self.is_alive())
        expect("the pipeline's errors", self.errors, [])
        expect("every order sent was answered", len(self.acked), self.sent)
        check("the pipeline made orders", self.acked)
        s, rd = self.open()
        # Each one, read back with GET.
        s.sendall(b"".join(resp_command("GET", str(oid)) for oid, _, _ in self.acked))
        for oid, key, amount in self.acked:
            rec = record(rd.resp())
            expect("order %s read back" % oid,
                   (rec["id"], rec["customer"], rec["item"], rec["qty"], rec["amount"], rec["key"]),
                   (oid, self.customer, "pen", 2, amount, key))
        # The customer's orders are those: none lost, none extra.
        ids, after = [], 0
        while True:
            s.sendall(resp_command("LIST", "customer=" + self.customer, "after=%d" % after,
                                   "limit=1000"))
            page = [record(r)["id"] for r in rd.resp()]
            if not page:
                break
            ids += page
            after = page[-1]
        expect("the pipeline's customer has exactly its orders", ids,
               sorted(oid for oid, _, _ in self.acked))
        # The keys hold: the first batch again creates nothing.
        first = self.acked[:self.BATCH]
        s.sendall(b"".join(self.create(k, a) for _, k, a in first))
        for oid, key, _ in first:
            rec = record(rd.resp())
            expect("key %s sent again" % key, (rec["id"], rec.get("replayed")), (oid, 1))
        s.close()
        return len(self.acked)


class Cases:
    """Counts the cases, and keeps a pipeline batch in flight during each."""

    def __init__(self, pipeline):
        self.pipeline = pipeline
        self.count = 0

    def begin(self):
        self.pipeline.kick()

    def end(self):
        self.pipeline.settle()
        self.count += 1


def send_quietly(sock, data):
    """Sends in a thread: a server that closes mid-way may make the send
    fail (EPIPE, reset), which is not what the cases are about. A TLS
    socket is not to be written and read from two threads at once: its
    bytes are sent here before anything is read (the cases keep them
    within what the socket takes)."""
    def run():
        try:
            sock.sendall(data)
        except OSError:
            pass
    if isinstance(sock, ssl.SSLSocket):
        run()
        return None
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


class ProtocolCases(Cases):
    """Cases on the protocol port; connect() opens a connection (plain or
    TLS)."""

    def __init__(self, pipeline, connect):
        super().__init__(pipeline)
        self.connect = connect

    def fatal(self, name, data, *want):
        """data gets the reply lines want, then the server closes the
        connection: an orderly EOF, and nothing after the last line."""
        self.begin()
        s = self.connect()
        t = send_quietly(s, data)
        rd = Reader(s)
        for i, w in enumerate(want):
            expect("%s (line %d)" % (name, i + 1), rd.line(), w + b"\r\n")
        check(name + ": connection closed", rd.closed(timeout=10), "the server kept it open")
        expect(name + ": nothing after the error", bytes(rd.buf), b"")
        # FIN, not RST: a reset may destroy replies the client has not read.
        expect(name + ": closed by an orderly EOF, not a reset", rd.reset, False)
        if t is not None:
            t.join(timeout=20)
        s.close()
        self.end()

    def survives(self, name, data, want):
        """data gets the reply lines want, and then the connection still
        answers, with nothing in between."""
        self.begin()
        s = self.connect()
        s.sendall(data)
        rd = Reader(s)
        for i, w in enumerate(want):
            expect("%s (line %d)" % (name, i + 1), rd.line(), w + b"\r\n")
        s.sendall(b"PING after\r\n")
        expect(name + ": nothing else, and still usable", rd.line(), b"after\r\n")
        s.close()
        self.end()

    def truncated(self, name, data, *want):
        """data, then the client's EOF (SHUT_WR): the reply lines want for
        the complete requests, and for the unfinished rest nothing; the
        connection closes."""
        self.begin()
        s = self.connect()
        s.sendall(data)
        # TCP's FIN; on a TLS socket, its session kept (ssl's shutdown()
        # would drop it).
        socket.socket.shutdown(s, socket.SHUT_WR)
        rd = Reader(s)
        for i, w in enumerate(want):
            expect("%s (line %d)" % (name, i + 1), rd.line(), w + b"\r\n")
        check(name + ": connection closed", rd.closed(timeout=10), "the server kept it open")
        expect(name + ": nothing for the unfinished request", bytes(rd.buf), b"")
        s.close()
        self.end()

    def ignored(self, name, data):
        """data is answered with nothing at all, and the connection is
        closed (an HTTP request on the protocol port)."""
        self.begin()
        s = self.connect()
        send_quietly(s, data)
        rd = Reader(s)
        check(name + ": connection closed", rd.closed(timeout=10), "the server kept it open")
        expect(name + ": nothing answered", bytes(rd.buf), b"")
        s.close()
        self.end()


# The title of each problem, by code (and for 405 and 415, by status):
# server/net/http_api.c.
TITLES = {"BADARG": "Bad argument", "NOTFOUND": "Not found", "ERR": "Bad request",
          "STATE": "Not allowed in this state", "CONFLICT": "Conflict",
          "LIMIT": "Limit reached", "NOAUTH": "Authentication required",
          "WRONGPASS": "Wrong user or password", "NOPERM": "Not permitted",
          405: "Method not allowed", 413: "Body too large", 415: "Unsupported media type"}
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
           413: "Request Entity Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
           429: "Too Many Requests", 431: "Request Header Fields Too Large",
           501: "Not Implemented"}
# WWW-Authenticate on a 401 (server/net/http_auth.h).
CHALLENGE = 'Basic realm="orderd", charset="UTF-8"'


def problem_body(status, code, detail):
    """A problem document, byte for byte as orderd writes it."""
    doc = {"type": "urn:orderd:error:" + code.lower(), "title": TITLES.get(status, TITLES[code]),
           "status": status, "detail": detail, "code": code}
    return json.dumps(doc, separators=(",", ":")).encode()


def libevent_page(status):
    """libevent's own error page (a request it refuses before orderd sees
    it: an unreadable request, a body over --http-max-body)."""
    reason = REASONS[status]
    return ("<HTML><HEAD>\n<TITLE>%d %s</TITLE>\n</HEAD><BODY>\n<H1>%s</H1>\n</BODY></HTML>\n"
            % (status, reason, reason)).encode()


def request(method, target, body=None, headers=(), ctype="application/json"):
    """One HTTP/1.1 request's bytes."""
    head = [b"%s %s HTTP/1.1" % (method.encode(), target), b"Host: orderd"]
    head += [h.encode() if isinstance(h, str) else h for h in headers]
    if body is not None:
        if ctype:
            head.append(b"Content-Type: " + ctype.encode())
        head.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + (body or b"")


OPEN, CLOSE = "open", "close"


class HttpCases(Cases):
    """Cases on the HTTP port."""

    def __init__(self, pipeline, port):
        super().__init__(pipeline)
        self.port = port

    def _response(self, rd):
        status = rd.line()
        headers = {}
        while True:
            line = rd.line()
            if not line.endswith(b"\r\n"):
                raise TestFailure("a response ended in its headers: %r" % line)
            if line == b"\r\n":
                break
            k, _, v = line[:-2].partition(b":")
            headers[k.strip().lower().decode()] = v.strip().decode()
        n = headers.get("content-length")
        body = rd.exactly(int(n)) if n is not None else rd.rest()
        return status, headers, body

    def response(self, name, data, status, ctype, body, headers=None, then=OPEN):
        """data gets exactly this response: `HTTP/1.1 <status> <reason>`,
        Content-Type ctype, the headers named, the body; then the
        connection closes, or answers the next request at once."""
        self.begin()
        s = socket.create_connection(("127.0.0.1", self.port), timeout=READ_TIMEOUT)
        send_quietly(s, data)
        rd = Reader(s)
        line, got, got_body = self._response(rd)
        expect(name + ": status", line, b"HTTP/1.1 %d %s\r\n" % (status, REASONS[status].encode()))
        expect(name + ": Content-Type", got.get("content-type"), ctype)
        for k, v in (headers or {}).items():
            expect(name + ": " + k, got.get(k.lower()), v)
        expect(name + ": body", got_body, body)
        if then == CLOSE:
            check(name + ": connection closed", rd.closed(timeout=10), "the server kept it open")
            expect(name + ": nothing more", bytes(rd.buf), b"")
        else:
            expect(name + ": keep-alive", got.get("connection"), None)
            s.sendall(HEALTHZ)
            line, _, got_body = self._response(rd)
            expect(name + ": nothing else, and the next request answered", (line, got_body),
                   (b"HTTP/1.1 200 OK\r\n", b"ok\n"))
        s.close()
        self.end()

    def problem(self, name, data, status, code, detail, headers=None):
        """data gets the problem document {type, title, status, detail,
        code} as application/problem+json, and the connection goes on."""
        h = dict(headers or {})
        if status == 401:
            h.setdefault("WWW-Authenticate", CHALLENGE)
        self.response(name, data, status, "application/problem+json",
                      problem_body(status, code, detail), h)


def report(name, counts):
    """Prints the count of cases per server; returns the total."""
    total = sum(n for _, n in counts)
    print("%s: %d cases (%s)" % (name, total, ", ".join("%s %d" % c for c in counts)))
    sys.stdout.flush()
    return total
