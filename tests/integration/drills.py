"""Shared by the fault drills (test_drill_*): the load they run through the
fault, the client's record of what was acknowledged, and the checks every
drill ends with.

    led = Ledger()
    prepare(port)                         # stock, a blocked customer, declines
    load = Load(led, [port])              # a thread: pipelined keyed CREATEs
    load.start(); load.wait_acked(200)
    ... the fault ...
    load.finish()                         # stops it; raises what it hit
    retry(led, port)                      # every unacknowledged key again, same key
    verify(port, led)                     # the end-of-drill checks, below

The load is what a careful client does: CREATEs with idempotency keys,
pipelined over RESP, with sagas on. Every reply is recorded: an order is
acknowledged for its key; -STORE, -UNAVAILABLE and -READONLY are refusals
(nothing was made); a connection that broke, or a reply that did not come
within the client's timeout, leaves its keys in doubt. Refused and doubtful
keys are sent again, with the same key and fields, by the load as it goes on
and by retry() after the fault, until each is acknowledged. Any other
answer fails the drill, and so does an acknowledgement that contradicts an
earlier one (another id for a key, an id for two keys, a replay of a key
that was only ever refused).

verify() then waits (polling, with a deadline) until no saga is in flight,
and checks:

- every acknowledged order is there, with the id it was acknowledged with,
  the fields its key was sent with, and its acknowledged status or a later
  one; the orders are exactly the expected keys, each once (no key made
  two orders, none made an order it was not sent for), ids 1..n;
- the saga invariants, as test_saga_invariants.py states them: each
  order's status agrees with its saga's state (DELIVERED: done, FAILED:
  failed, CANCELLED: cancelled); a DELIVERED order holds its reservation
  and its charge, any other holds neither (never taken, or given back);
  every SKU's stock is its starting level less what DELIVERED orders hold;
- nothing stuck: SAGAS lists nothing, METRICS counts no saga running or
  needing attention, no step message is still pending in its group, and
  METRICS counts exactly the orders LIST shows."""
import os
import socket
import threading
import time
import zlib

from chanlib import is_error, record
from harness import READ_TIMEOUT, Reader, TestFailure, check, expect, resp_command

# ASan builds are slower: bounds on waiting are scaled.
ASAN = "asan" in os.path.realpath(os.environ.get("ORDERD", ""))


def scaled(release, asan):
    return asan if ASAN else release


# Two SKUs with plenty of stock and one scarce, so some orders fail out of
# stock; a blocked customer, so some fail validation after their stock was
# reserved; payment declines now and then. Every path that undoes a step runs.
STOCK = {"drill-a": 1000000, "drill-b": 1000000, "drill-scarce": 60}
BLOCKED = "drill-blocked"
FLOW = ["PENDING", "RESERVED", "PAID", "SHIPPED", "DELIVERED"]
FINAL = {"DELIVERED", "FAILED", "CANCELLED"}
SAGA_OF = {"DELIVERED": "done", "FAILED": "failed", "CANCELLED": "cancelled"}
STEPS = ["customer.validate", "inventory.reserve", "payment.authorize", "shipping.dispatch",
         "shipping.deliver", "payment.refund", "inventory.release"]
STEP_GROUPS = [("customer.validate", "customer"), ("inventory.reserve", "inventory"),
               ("payment.authorize", "payment"), ("shipping.dispatch", "shipping"),
               ("shipping.deliver", "shipping"), ("payment.refund", "payment"),
               ("inventory.release", "inventory")]
REFUSALS = ("STORE", "UNAVAILABLE", "READONLY")
# Bounds on waiting, not expectations.
SETTLE_TIMEOUT = scaled(60.0, 120.0)
RETRY_TIMEOUT = scaled(30.0, 60.0)


def order_fields(key):
    """The fields of the CREATE sent with key, derived from it, so that the
    checks can recompute them."""
    h = zlib.crc32(key.encode())
    item = "drill-scarce" if h % 10 == 0 else ("drill-a" if h % 2 else "drill-b")
    customer = BLOCKED if h % 23 == 0 else "cust-%d" % (h % 7)
    return {"customer": customer, "item": item, "qty": str(h % 3 + 1),
            "amount": "%d.%02d" % (1 + h % 500, h % 100), "currency": "USD", "key": key}


def create_request(key):
    f = order_fields(key)
    return resp_command("CREATE", "customer=" + f["customer"], "item=" + f["item"],
                        "qty=" + f["qty"], "amount=" + f["amount"], "key=" + key)


def text(v):
    return v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v


def rec(flat):
    return {k: text(v) for k, v in record(flat).items()}


def at_least(now, acked):
    """Is status `now` the acknowledged one or one that can follow it?"""
    if now == acked:
        return True
    if acked in FINAL:
        return False
    if now in ("FAILED", "CANCELLED"):
        return True
    return now in FLOW and FLOW.index(now) > FLOW.index(acked)


class Lost(Exception):
    """The connection broke, or a reply did not come in time."""


class Pipe:
    """A RESP connection by port whose failures are Lost, so that a load
    can tell a fault (a closed connection, a timeout) from a wrong answer."""

    def __init__(self, port, timeout=READ_TIMEOUT):
        try:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except OSError as e:
            raise Lost("connect to %d: %s" % (port, e))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = Reader(self.sock, timeout=timeout)

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Lost("send: %s" % e)

    def read(self):
        try:
            return self.reader.resp()
        except OSError as e:
            raise Lost("read: %s" % e)
        except TestFailure as e:
            if self.reader.eof or "timed out" in str(e):
                raise Lost(str(e))
            raise

    def call(self, *args):
        self.send(resp_command(*args))
        return self.read()

    def ok(self, *args):
        got = self.call(*args)
        if is_error(got):
            raise TestFailure("%s: %r" % (" ".join(map(str, args)), got))
        return got

    def pipeline(self, requests):
        """Sends the requests (bytes) at once; their replies, in order."""
        self.send(b"".join(requests))
        return [self.read() for _ in requests]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def prepare(port):
    """The drill's stock levels, its blocked customer, declines now and
    then. (SIM settings do not outlive a restart; stock does.)"""
    p = Pipe(port)
    for sku, level in STOCK.items():
        p.ok("STOCK", "SET", sku, str(level))
    p.ok("CUSTOMER", "BLOCK", BLOCKED)
    p.ok("SIM", "SET", "payment", "decline=0.05")
    p.close()


class Ledger:
    """What the clients sent and what was acknowledged, shared by loads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}       # key -> fields, every key ever sent
        self.acked = {}      # key -> (id, the latest acknowledged status)
        self.by_id = {}      # id -> key
        self.retry = []      # keys refused or in doubt, to send again
        self.doubt = set()   # keys whose request may have been carried out unanswered
        self.refused = 0
        self.lost = 0
        self.replays = 0
        self.seq = 0

    def new_keys(self, tag, n):
        with self.lock:
            out = []
            for _ in range(n):
                self.seq += 1
                k = "%s-%d" % (tag, self.seq)
                self.sent[k] = order_fields(k)
                out.append(k)
            return out

    def take_retries(self, n):
        with self.lock:
            out, self.retry = self.retry[:n], self.retry[n:]
            return out

    def unacked(self):
        with self.lock:
            return [k for k in self.sent if k not in self.acked]

    def count(self):
        with self.lock:
            return len(self.acked)

    def in_doubt(self, keys):
        with self.lock:
            self.lost += len(keys)
            self.doubt.update(keys)
            self.retry.extend(keys)

    def answer(self, key, reply):
        """Records the reply to key's CREATE: True if acknowledged."""
        with self.lock:
            if is_error(reply) and reply[1].split(b" ", 1)[0].decode() in REFUSALS:
                self.refused += 1
                self.retry.append(key)
                return False
            if is_error(reply):
                raise TestFailure("CREATE key=%s answered %r" % (key, reply))
            r = rec(reply)
            oid = r["id"]
            got = {k: str(r.get(k)) for k in self.sent[key]}
            if got != self.sent[key]:
                raise TestFailure("CREATE key=%s answered another order: %r" % (key, reply))
            if key in self.acked and self.acked[key][0] != oid:
                raise TestFailure("key %s acknowledged twice, as order %d and as %d"
                                  % (key, self.acked[key][0], oid))
            if self.by_id.get(oid, key) != key:
                raise TestFailure("order %d acknowledged for key %s and for %s"
                                  % (oid, self.by_id[oid], key))
            if r.get("replayed") == 1:
                self.replays += 1
                if key not in self.acked and key not in self.doubt:
                    raise TestFailure("CREATE key=%s was only ever refused, yet its retry is "
                                      "a replay of order %d: a refusal made an order"
                                      % (key, oid))
            self.acked[key] = (oid, r["status"])
            self.by_id[oid] = key
            return True


def send_creates(pipe, ledger, keys):
    """Pipelines the CREATEs of keys and records each reply as it comes;
    if the connection fails first, the keys left unanswered are in doubt
    (the server may have made them) and Lost is raised. The replies."""
    pipe_error = None
    try:
        pipe.send(b"".join(create_request(k) for k in keys))
    except Lost as e:
        pipe_error = e  # some may have gone out: all are in doubt
    replies = []
    if pipe_error is None:
        try:
            for k in keys:
                r = pipe.read()
                ledger.answer(k, r)
                replies.append(r)
        except Lost as e:
            pipe_error = e
    if pipe_error is not None:
        ledger.in_doubt(keys[len(replies):])
        raise pipe_error
    return replies


class Load(threading.Thread):
    """One client: pipelined batches of keyed CREATEs, each batch led by
    keys to send again, until finish(). ports: where to connect, in turn
    (the next one after a failed connection or a -READONLY, as a client
    of a pair of nodes does). timeout: how long it waits for a reply
    before it gives up on the connection (its keys are then in doubt)."""

    def __init__(self, ledger, ports, tag="k", batch=16, pause=0.01, timeout=READ_TIMEOUT):
        super().__init__(daemon=True)
        self.ledger, self.ports, self.tag = ledger, list(ports), tag
        self.batch, self.pause, self.timeout = batch, pause, timeout
        self.stopping = threading.Event()
        self.error = None
        self.turn = 0
        self.batches = 0
        self.reconnects = 0
        self.timeouts = 0
        self.in_flight = False   # a batch sent and not all answered: a drill may aim at it

    def run(self):
        pipe = None
        try:
            while not self.stopping.is_set():
                if pipe is None:
                    try:
                        pipe = Pipe(self.ports[self.turn % len(self.ports)], self.timeout)
                    except Lost:
                        self.turn += 1
                        self.stopping.wait(0.05)
                        continue
                keys = self.ledger.take_retries(self.batch // 2)
                keys += self.ledger.new_keys(self.tag, self.batch - len(keys))
                self.in_flight = True
                try:
                    replies = send_creates(pipe, self.ledger, keys)
                except Lost as e:
                    self.in_flight = False
                    self.timeouts += "timed out" in str(e)
                    pipe.close()
                    pipe = None
                    self.reconnects += 1
                    self.stopping.wait(0.02)
                    continue
                self.in_flight = False
                readonly = any(is_error(r, "READONLY") for r in replies)
                self.batches += 1
                if readonly and len(self.ports) > 1:
                    pipe.close()
                    pipe = None
                    self.turn += 1
                if len(self.ledger.retry) > self.batch:
                    self.stopping.wait(0.05)  # refused: back off a little
                self.stopping.wait(self.pause)
        except Exception as e:  # raised again by finish(), in the test's thread
            self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            if pipe is not None:
                pipe.close()

    def wait_acked(self, n, timeout=None):
        """Waits (polling, bounded) until the ledger holds n acknowledged
        orders; fails if the load stopped."""
        timeout = timeout or scaled(20.0, 60.0)
        deadline = time.monotonic() + timeout
        while self.ledger.count() < n:
            if self.error or not self.is_alive():
                raise TestFailure("the load stopped: %s" % (self.error or "?"))
            if time.monotonic() > deadline:
                raise TestFailure("the load has %d orders acknowledged, not %d, after %.0f s"
                                  % (self.ledger.count(), n, timeout))
            time.sleep(0.01)

    def finish(self):
        """Stops the load; fails with what it hit, if anything."""
        self.stopping.set()
        self.join(READ_TIMEOUT + 10)
        check("the load ended", not self.is_alive(), "(still blocked)")
        if self.error:
            raise TestFailure("the load: " + self.error)


def retry(ledger, port, timeout=None):
    """What a client does once the fault is over: sends every key not yet
    acknowledged again, same key and fields, until each is (bounded)."""
    deadline = time.monotonic() + (timeout or RETRY_TIMEOUT)
    pipe = None
    while True:
        keys = ledger.unacked()
        if not keys:
            break
        with ledger.lock:
            ledger.retry = [k for k in ledger.retry if k not in keys]
        if time.monotonic() > deadline:
            raise TestFailure("%d keys still not acknowledged after retrying for %.0f s, "
                              "e.g. %r" % (len(keys), timeout or RETRY_TIMEOUT, keys[:5]))
        try:
            pipe = pipe or Pipe(port)
            for i in range(0, len(keys), 200):
                send_creates(pipe, ledger, keys[i:i + 200])
        except Lost:
            if pipe is not None:
                pipe.close()
            pipe = None
        time.sleep(0.02)
    if pipe is not None:
        pipe.close()


# --- the end-of-drill checks ---------------------------------------------

def settle(p, timeout=None):
    """Polls SAGAS until no saga is in flight; fails naming the stuck ones."""
    deadline = time.monotonic() + (timeout or SETTLE_TIMEOUT)
    while True:
        flying = p.ok("SAGAS", "limit=1000")
        if not flying:
            return
        if time.monotonic() > deadline:
            stuck = [rec(x) for x in flying[:5]]
            details = [p.call("SAGA", str(s["order"])) for s in stuck[:2]]
            raise TestFailure("%d sagas still in flight after %.0f s (stuck): %r; SAGA of the "
                              "first: %r" % (len(flying), timeout or SETTLE_TIMEOUT, stuck,
                                             details))
        time.sleep(0.05)


def all_orders(p):
    """Every order, by LIST pages: a list of dicts of str."""
    out, after = [], 0
    while True:
        page = p.ok("LIST", "after=%d" % after, "limit=1000")
        if not page:
            return out
        out.extend(rec(x) for x in page)
        after = out[-1]["id"]


def sagas(p, ids):
    """{id: (the saga's record, {step: its record})}, pipelined."""
    out = {}
    for i in range(0, len(ids), 250):
        chunk = ids[i:i + 250]
        for oid, got in zip(chunk, p.pipeline([resp_command("SAGA", str(x)) for x in chunk])):
            if is_error(got) or not isinstance(got, list) or len(got) != 1 + len(STEPS):
                raise TestFailure("SAGA %d answered %r" % (oid, got))
            top = rec(got[0])
            steps = {s["step"]: s for s in (rec(x) for x in got[1:])}
            expect("SAGA %d's steps" % oid, sorted(steps), sorted(STEPS))
            out[oid] = (top, steps)
    return out


def saga_invariants(orders, sagas_of, stock):
    """Fails unless each order's status agrees with its saga, holds stock
    and charge exactly when DELIVERED, and gave back what it undid; returns
    the stock each SKU must have (its level less what DELIVERED orders
    hold)."""
    want = dict(stock)
    for o in orders:
        oid, st = o["id"], o["status"]
        top, steps = sagas_of[oid]
        expect("order %d: status and saga" % oid, (st, top["state"]), (st, SAGA_OF.get(st, "?")))
        held = {s: steps[s]["state"] == "ok" for s in ("inventory.reserve", "payment.authorize")}
        if st == "DELIVERED":
            expect("order %d: a delivered order holds stock and charge" % oid, held,
                   {"inventory.reserve": True, "payment.authorize": True})
            want[o["item"]] = want.get(o["item"], 0) - int(o["qty"])
        else:
            expect("order %d: a %s order holds neither stock nor charge" % (oid, st), held,
                   {"inventory.reserve": False, "payment.authorize": False})
            for undo, done in (("inventory.release", "inventory.reserve"),
                               ("payment.refund", "payment.authorize")):
                if steps[done]["state"] == "compensated":
                    expect("order %d: %s given back" % (oid, done), steps[undo]["state"], "ok")
    return want


def verify(port, ledger, keys=None, maybe=(), stock=STOCK, timeout=None):
    """The end-of-drill checks (the module's docstring) on the server at
    port. keys: the keys whose orders must be there, and no others (default:
    every key sent, each of which must have been acknowledged: run retry()
    first); maybe: keys whose orders may be there too (sent, never
    answered). Returns a summary for the test to print."""
    p = Pipe(port)
    try:
        settle(p, timeout)
        orders = all_orders(p)
        ids = [o["id"] for o in orders]
        check("ids run 1..n", ids == list(range(1, len(ids) + 1)),
              "(%d orders, first gap after %r)" %
              (len(ids), next((a for a, b in zip([0] + ids, ids) if b != a + 1), None)))
        with ledger.lock:
            acked = dict(ledger.acked)
            sent = dict(ledger.sent)
        if keys is None:
            keys = set(sent)
            missing = sorted(keys - set(acked))
            check("every key sent was acknowledged in the end", not missing,
                  "(%d not, e.g. %r)" % (len(missing), missing[:5]))
        keys = set(keys)
        by_key = {}
        for o in orders:
            k = o.get("key")
            if k not in sent:
                raise TestFailure("order %d has key %r, never sent: %r" % (o["id"], k, o))
            if k in by_key:
                raise TestFailure("key %s made orders %d and %d" % (k, by_key[k]["id"], o["id"]))
            by_key[k] = o
            got = {f: str(o.get(f)) for f in sent[k]}
            expect("order %d: the fields sent with its key" % o["id"], got, sent[k])
        extra = sorted(set(by_key) - keys - set(maybe))
        check("no order but the expected ones", not extra,
              "(%d more, e.g. %r)" % (len(extra), extra[:5]))
        lost = []
        for k in keys:
            o = by_key.get(k)
            if o is None:
                lost.append(k)
                continue
            if k in acked:
                oid, status = acked[k]
                expect("key %s: the order it was acknowledged as" % k, o["id"], oid)
                check("order %d: its acknowledged status %s or later" % (oid, status),
                      at_least(o["status"], status), "(it is %s)" % o["status"])
        check("every acknowledged order is there", not lost,
              "(%d lost of %d, e.g. %r)" % (len(lost), len(keys), sorted(lost)[:5]))

        want_stock = saga_invariants(orders, sagas(p, ids), stock)
        for sku, level in sorted(want_stock.items()):
            expect("stock of %s: its level less what DELIVERED orders hold" % sku,
                   p.ok("STOCK", sku), level)
        flat = p.ok("METRICS")
        m = {text(flat[i]): str(text(flat[i + 1])) for i in range(0, len(flat), 2)}
        expect("METRICS: orders, sagas running, sagas needing attention",
               (m.get("orders"), m.get("sagas_running"), m.get("sagas_attention")),
               (str(len(orders)), "0", "0"))
        pending = {"pending_%s_%s" % sg: m.get("pending_%s_%s" % sg) for sg in STEP_GROUPS}
        expect("no step message pending in its group", pending,
               {k: "0" for k in pending})
        counts = {}
        for o in orders:
            counts[o["status"]] = counts.get(o["status"], 0) + 1
        return {"orders": len(orders), "statuses": counts}
    finally:
        p.close()


def summary(ledger, result):
    """One line for the drill's ok message."""
    st = result["statuses"]
    return ("%d orders (%s); %d refusals, %d in doubt, %d replays"
            % (result["orders"], ", ".join("%d %s" % (st[s], s) for s in sorted(st)),
               ledger.refused, ledger.lost, ledger.replays))
