#!/usr/bin/python3
"""Observability: after a known workload INFO and METRICS show the right
figures; /metrics passes promtool and its counters move with traffic;
/healthz answers; /readyz turns unready while orderd shuts down."""
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

from harness import Orderd, TestFailure, check, expect, wait_for


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sample(text, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    if not m:
        raise TestFailure("no sample %s in /metrics" % name)
    return float(m.group(1))


with Orderd("--saga", "off") as srv:
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

    status, text = get(port, "/metrics")
    expect("/metrics status", status, 200)
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
        expect("promtool check metrics", (p.returncode, p.stdout + p.stderr), (0, b""))
    else:
        raise TestFailure("promtool is missing: scripts/deps installs prometheus")
    expect("orderd_commands_total{command=\"create\"}",
           sample(text, 'orderd_commands_total{command="create"}'), 10)
    expect("orderd_orders{status=\"pending\"}", sample(text, 'orderd_orders{status="pending"}'), 10)
    for i in range(5):
        r.execute_command("CREATE", "customer=d%d" % i, "item=pen", "qty=1", "amount=2.00")
    _, text = get(port, "/metrics")
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
