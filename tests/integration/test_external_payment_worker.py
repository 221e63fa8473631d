#!/usr/bin/python3
# stores: journal postgres
"""The example payment workers take the payment step from a server started
without the simulated payment (--sim customer,inventory,shipping,notify).
examples/payment-worker.py --limit 100.00: orders up to the limit are
DELIVERED, an order over it FAILED with "over the limit" and its stock
released; examples/payment-worker.sh approves everything. Each worker runs
as its own process, says what it did on stdout, and is stopped at the
end."""
import os
import signal
import subprocess
import tempfile

from harness import Orderd, READ_TIMEOUT, check, expect
from sagalib import Conn, Events

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")


class Worker:
    """An example worker as a child process, its output in a temp file."""

    def __init__(self, argv):
        self.out = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM; its exit status and everything it printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=READ_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        if not self.out.closed:
            self.out.seek(0)
            self.text = self.out.read().decode(errors="replace")
            self.out.close()
        return status, self.text


def run_orders(c, ev, orders):
    """Creates the orders ((customer, amount, final status)) and waits for
    each to end as expected; returns their ids."""
    ids = [c.create(customer=cust, item="globe", qty=1, amount=amount)
           for cust, amount, _ in orders]
    for oid, (_, amount, final) in zip(ids, orders):
        e = ev.wait_status(oid, final)
        if final == "FAILED":
            check("order %d (%s) failed over the limit" % (oid, amount),
                  "over the limit" in (e["note"] or ""), repr(e))
            expect("order %d's events" % oid, ev.statuses(oid), ["RESERVED", "FAILED"])
        else:
            expect("order %d's events" % oid, ev.statuses(oid),
                   ["RESERVED", "PAID", "SHIPPED", "DELIVERED"])
    return ids


with Orderd("--sim", "customer,inventory,shipping,notify") as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status")
    c.ok("STOCK", "SET", "globe", "100")
    workers = []
    try:
        # The Python worker, declining over 100.00.
        py = Worker([os.path.join(EXAMPLES, "payment-worker.py"), "--port", str(srv.port),
                     "--limit", "100.00", "--consumer", "py-worker"])
        workers.append(py)
        ids = run_orders(c, ev, [("ann", "50.00", "DELIVERED"), ("bea", "150.00", "FAILED"),
                                 ("cat", "100.00", "DELIVERED"), ("dan", "0.01", "DELIVERED")])
        expect("stock: the over-limit order's was released", c.stock("globe"), 97)
        over = c.saga(ids[1])[1]
        expect("over the limit: authorize failed, reservation released",
               (over["payment.authorize"]["state"], over["payment.authorize"]["error"],
                over["inventory.reserve"]["state"], over["inventory.release"]["state"]),
               ("failed", "amount over the limit", "compensated", "ok"))
        check("the Python worker is running", py.alive())
        status, out = py.stop()
        expect("the Python worker stops on SIGTERM", status, 0)
        for oid, outcome in zip(ids, ("ok", "fail", "ok", "ok")):
            check("the Python worker says order %d: %s" % (oid, outcome),
                  "order %d payment.authorize: %s\n" % (oid, outcome) in out, repr(out))

        # The bash worker, approving everything.
        sh = Worker([os.path.join(EXAMPLES, "payment-worker.sh"), str(srv.port)])
        workers.append(sh)
        ids = run_orders(c, ev, [("eve", "500.00", "DELIVERED"), ("fay", "5.00", "DELIVERED")])
        check("the bash worker is running", sh.alive())
        status, out = sh.stop()
        for oid in ids:
            check("the bash worker says order %d" % oid,
                  "order %d: payment authorized" % oid in out, repr(out))
        expect("stock at the end", c.stock("globe"), 95)
        expect("no saga in flight", c.ok("SAGAS"), [])
        for oid in ids:
            a = c.saga(oid)[1]["payment.authorize"]
            expect("order %d's payment" % oid, (a["state"], a["attempts"]), ("ok", 1))
    finally:
        for w in workers:
            w.stop()
print("ok")
