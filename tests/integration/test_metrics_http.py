#!/usr/bin/python3
"""Observability: after a known workload INFO and METRICS show the right
figures; /metrics passes promtool and its counters move with traffic; its
latencies are histograms whose buckets are cumulative, end in a +Inf
bucket equal to _count, and agree with _sum and with the traffic sent;
/healthz answers; /readyz turns unready while orderd shuts down."""
import re
import shutil
import signal
import subprocess
import time

from harness import Orderd, TestFailure, check, expect, wait_for
from promlib import get, histograms, parse, scrape
from sagalib import FORWARD, Conn, Events


def sample(text, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    if not m:
        raise TestFailure("no sample %s in /metrics" % name)
    return float(m.group(1))


def promtool(text):
    if not shutil.which("promtool"):
        raise TestFailure("promtool is missing: scripts/deps installs prometheus")
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    expect("promtool check metrics", (p.returncode, p.stdout + p.stderr), (0, b""))


def refused(text):
    """Whether the histogram checks fail on this page."""
    try:
        histograms(parse(text))
    except TestFailure:
        return True
    return False


# The checks can fail: a page that breaks each rule is caught.
GOOD = ('# TYPE x_seconds histogram\n'
        'x_seconds_bucket{le="0.1"} 1\nx_seconds_bucket{le="0.2"} 2\n'
        'x_seconds_bucket{le="+Inf"} 2\nx_seconds_sum 0.25\nx_seconds_count 2\n')
check("a good histogram passes", not refused(GOOD))
for bad in (GOOD.replace('le="0.2"} 2', 'le="0.2"} 0'),        # not cumulative
            GOOD.replace("x_seconds_count 2", "x_seconds_count 3"),  # +Inf is not _count
            GOOD.replace("x_seconds_sum 0.25", "x_seconds_sum 0.5"),  # more than 2 x 0.2
            GOOD.replace('le="0.2"', 'le="0.05"')):                   # bounds fall
    check("a broken histogram is caught", refused(bad), bad)

# Sagas: every step answered once per order, a payment that takes 20 ms
# (on the server's clock) in the buckets from 16 ms up, and its _sum at
# least what the orders waited.
with Orderd() as srv:
    c = Conn(srv)
    c.ok("SIM", "SET", "payment", "latency=20ms")
    c.ok("SIM", "SET", "shipping", "transit=0")
    ev = Events(srv, "order.status")
    started = time.monotonic()
    ids = [c.create(customer="h%d" % i) for i in range(5)]
    for oid in ids:
        ev.wait_status(oid, "DELIVERED")
    elapsed = time.monotonic() - started
    text = scrape(srv.http_port())
    promtool(text)
    fams = parse(text)
    expect("step latency is a histogram", fams["orderd_saga_step_latency_seconds"].type,
           "histogram")
    check("no summaries left", all(f.type != "summary" for f in fams.values()))
    series = histograms(fams)
    steps = {dict(labels)["step"]: s for (name, labels), s in series.items()
             if name == "orderd_saga_step_latency_seconds"}
    for step in FORWARD:
        expect("%s answered once per order" % step, steps[step].count, len(ids))
    pay = steps["payment.authorize"]
    expect("no payment under 16 ms", dict(pay.buckets)[0.016], 0)
    # The server times steps in whole milliseconds of a clock read once per
    # wake-up: each may read up to a couple of ms over what the client saw.
    check("payment's _sum: at least 5 x 20 ms, at most the time it all took",
          0.1 <= pay.sum <= len(ids) * (elapsed + 0.002), "%g (%g s elapsed)" % (pay.sum, elapsed))
    done = series[("orderd_order_completion_seconds", ())]
    expect("every order's completion timed", done.count, len(ids))
    check("completions took at least the payment", done.sum >= 0.1, done.sum)

with Orderd("--saga", "off") as srv:
    started = time.monotonic()
    port = srv.http_port()
    r = srv.redis()
    for i in range(10):
        r.execute_command("CREATE", "customer=c%d" % i, "item=book", "qty=1", "amount=1.00")
    for i in range(3):
        try:
            r.execute_command("GET", "999")
        except Exception:
            pass
    try:
        r.execute_command("NOSUCHCOMMAND")
    except Exception:
        pass

    m = srv.info()  # METRICS
    expect("calls_create", m["calls_create"], "10")
    expect("failed_get", m["failed_get"], "3")
    expect("errors_NOTFOUND", m["errors_NOTFOUND"], "3")
    expect("errors_ERR (the unknown command)", m["errors_ERR"], "1")
    expect("calls_unknown", m["calls_unknown"], "1")
    expect("orders", m["orders"], "10")
    expect("orders_pending", m["orders_pending"], "10")
    expect("latency_create_us_count", m["latency_create_count"], "10")
    check("a create's p99 is measured", int(m["latency_create_us_p99"]) >= 0)
    expect("store", m["store"], "journal")

    info = r.execute_command("INFO")
    for section in ("Server", "Clients", "Commands", "Orders", "Sagas", "Channels", "Dlq", "Store"):
        check("INFO has # %s" % section, ("# %s\r\n" % section) in info, info[:200])
    check("INFO orders: calls_create:10", "calls_create:10\r\n" in info)
    only = r.execute_command("INFO", "orders")
    check("INFO orders has only its section", only.startswith("# Orders") and "# Server" not in only,
          only)
    try:
        r.execute_command("INFO", "nope")
        raise TestFailure("INFO nope answered")
    except Exception as e:
        check("INFO nope is BADARG", "BADARG unknown section" in str(e), str(e))

    text = scrape(port)
    promtool(text)
    series = histograms(parse(text))
    create = series[("orderd_command_latency_seconds", (("command", "create"),))]
    expect("a create's latency counted once per CREATE", create.count, 10)
    check("the creates' _sum is at most the time since start-up",
          create.sum <= time.monotonic() - started, create.sum)
    check("a GET's latency is counted too",
          series[("orderd_command_latency_seconds", (("command", "get"),))].count == 3)
    expect("orderd_commands_total{command=\"create\"}",
           sample(text, 'orderd_commands_total{command="create"}'), 10)
    expect("orderd_orders{status=\"pending\"}", sample(text, 'orderd_orders{status="pending"}'), 10)
    for i in range(5):
        r.execute_command("CREATE", "customer=d%d" % i, "item=pen", "qty=1", "amount=2.00")
    text = scrape(port)
    expect("the counter moved", sample(text, 'orderd_commands_total{command="create"}'), 15)
    expect("the created total moved", sample(text, "orderd_orders_created_total"), 15)

    expect("/healthz", get(port, "/healthz"), (200, "ok\n"))
    expect("/readyz before shutdown", get(port, "/readyz"), (200, "ready\n"))
    expect("/nope", get(port, "/nope")[0], 404)

    # A client that does not read its replies keeps the shutdown waiting
    # (up to its grace period); meanwhile /readyz says not ready.
    slow = srv.connect()
    slow.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 4096)
    slow.sendall(b"HELP\r\n" * 20000)
    time.sleep(0.2)
    srv.proc.send_signal(signal.SIGTERM)
    wait_for("/readyz unready during shutdown", lambda: get(port, "/readyz")[0] == 503,
             timeout=4)
    expect("/readyz says why", get(port, "/readyz")[1], "shutting down\n")
    expect("/healthz still answers", get(port, "/healthz")[0], 200)
    slow.close()
    expect("orderd exits 0 once the slow client is gone", srv.proc.wait(timeout=20), 0)
