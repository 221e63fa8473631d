#!/usr/bin/python3
"""The Grafana dashboard, docs/grafana/orderd.json, imports on any Grafana
and asks only for what orderd exposes:

- it is a dashboard: a Prometheus data source input (DS_PROMETHEUS) that
  every query uses, an `instance` variable, panels with unique ids, a
  place on the grid that no other panel takes, and queries;
- every query parses as PromQL (promtool check rules), filters on
  $instance, and names only metric families that a running orderd's
  /metrics has after some traffic (orders through their sagas): a
  `_bucket` only of a histogram, and every label it groups or filters by
  on that metric's series.

The extractor is checked first on queries made up to be wrong: a metric
that does not exist, a label it does not have, a missing $instance."""
import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import Orderd, TestFailure, check, expect
from promlib import parse, scrape
from sagalib import Conn, Events

DASHBOARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                         "grafana", "orderd.json")

# Words of PromQL that are not metric names (functions are known by the
# parenthesis that follows them).
KEYWORDS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
            "bottomk", "topk", "quantile", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "and", "or", "unless", "inf", "nan"}
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
NAME = re.compile(r"(?<![\w$.:])([A-Za-z_:][\w:]*)(\s*\{[^}]*\})?")
MATCHER = re.compile(r'([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
# Labels Prometheus adds when it scrapes, not in /metrics.
TARGET_LABELS = {"instance", "job"}


def selectors(expr):
    """[(metric name, {label: (op, value)})] for each metric the PromQL
    names, and the labels its by/without/on/ignoring clauses list."""
    grouped = [l.strip() for _, ls in GROUPING.findall(expr) for l in ls.split(",") if l.strip()]
    rest = GROUPING.sub(" ", expr)
    rest = re.sub(r"\[[^\]]*\]", "", rest)                 # ranges: [5m], [$__rate_interval]
    rest = re.sub(r"\boffset\s+\S+", "", rest)
    found = []
    for m in NAME.finditer(rest):
        name, braces = m.group(1), m.group(2)
        after = rest[m.end():].lstrip()
        if name.lower() in KEYWORDS or (braces is None and after.startswith("(")):
            continue
        matchers = {k: (op, v) for k, op, v in MATCHER.findall(braces or "")}
        found.append((name, matchers))
    return found, grouped


def family_of(name, fams):
    """The family a name in a query belongs to, or None."""
    if name in fams:
        return fams[name]
    for suffix, types in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and base in fams and fams[base].type in types:
            return fams[base]
    return None


def problems(expr, fams):
    """What is wrong with one query against /metrics' families."""
    out = []
    found, grouped = selectors(expr)
    if not found:
        out.append("names no metric")
    labels = set()
    for name, matchers in found:
        fam = family_of(name, fams)
        if fam is None:
            out.append("%s: no such metric family on /metrics" % name)
            continue
        if matchers.get("instance") != ("=~", "$instance"):
            out.append('%s: not filtered by instance=~"$instance"' % name)
        for sample, ls, _ in fam.samples:
            if sample == name:
                labels |= set(ls)
        for label in matchers:
            if label not in TARGET_LABELS and label not in labels:
                out.append("%s: no series has the label %s" % (name, label))
    for label in grouped:
        if label not in TARGET_LABELS and label not in labels:
            out.append("grouped by %s, which no series of %s has"
                       % (label, [n for n, _ in found]))
    return out


def promql_parses(exprs):
    """promtool's verdict on the queries, as recording rules, with
    Grafana's variables given values."""
    if not shutil.which("promtool"):
        raise TestFailure("promtool is missing: scripts/deps installs prometheus")
    rules = [{"record": "dashboard:query_%d" % i,
              "expr": e.replace("$__rate_interval", "1m").replace("$instance", ".*")}
             for i, e in enumerate(exprs)]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)  # JSON is YAML
        f.flush()
        p = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True,
                           timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode()


def walk(node):
    """Every dict in the JSON, depth first."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def overlap(a, b):
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


# The extractor, on queries made up for it.
found, grouped = selectors('histogram_quantile(0.99, sum by (le, step) (rate('
                           'orderd_x_seconds_bucket{instance=~"$instance",step!="a{b}"}[5m])))'
                           ' / on (instance) group_left orderd_y_total offset 1h')
expect("names in a query", [n for n, _ in found], ["orderd_x_seconds_bucket", "orderd_y_total"])
expect("its grouping labels", grouped, ["le", "step", "instance"])

with open(DASHBOARD) as f:
    dash = json.load(f)

# An importable dashboard.
check("schemaVersion about 39", isinstance(dash.get("schemaVersion"), int)
      and 36 <= dash["schemaVersion"] <= 41, dash.get("schemaVersion"))
check("a title and a uid", dash.get("title") and dash.get("uid"))
expect("no id of some other Grafana's database", dash.get("id"), None)
inputs = dash.get("__inputs", [])
expect("one input: the Prometheus data source",
       [(i.get("name"), i.get("type"), i.get("pluginId")) for i in inputs],
       [("DS_PROMETHEUS", "datasource", "prometheus")])
refs = [d["datasource"] for d in walk(dash) if isinstance(d.get("datasource"), dict)]
prom_refs = [r for r in refs if r.get("type") == "prometheus"]
check("queries use the data source", len(prom_refs) > 0)
expect("every Prometheus reference is the input",
       {r.get("uid") for r in prom_refs}, {"${DS_PROMETHEUS}"})
expect("no other ${DS_...} input", set(re.findall(r"\$\{(DS_\w+)\}", json.dumps(dash))),
       {"DS_PROMETHEUS"})
variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
check("an instance variable", "instance" in variables, list(variables))
inst = variables["instance"]
expect("instance is a query on the data source",
       (inst.get("type"), inst.get("datasource", {}).get("uid")), ("query", "${DS_PROMETHEUS}"))

panels = dash.get("panels", [])
check("panels", len(panels) >= 8, len(panels))
ids = [p.get("id") for p in panels]
check("panel ids are whole numbers", all(isinstance(i, int) for i in ids), ids)
expect("panel ids are unique", len(set(ids)), len(ids))
required = {r["id"] for r in dash.get("__requires", []) if r.get("type") == "panel"}
exprs = []
for p in panels:
    what = "panel %s (%s)" % (p.get("id"), p.get("title"))
    check("%s has a title" % what, p.get("title"))
    check("%s: its type is in __requires" % what, p.get("type") in required, p.get("type"))
    g = p.get("gridPos", {})
    check("%s: a gridPos" % what, all(isinstance(g.get(k), int) for k in "hwxy"), g)
    check("%s: inside the 24 columns" % what, g["w"] > 0 and g["h"] > 0 and g["x"] >= 0
          and g["y"] >= 0 and g["x"] + g["w"] <= 24, g)
    targets = p.get("targets", [])
    check("%s has queries" % what, targets)
    refids = [t.get("refId") for t in targets]
    expect("%s: refIds unique" % what, len(set(refids)), len(refids))
    for t in targets:
        check("%s: each query has an expr" % what, t.get("expr"))
        exprs.append((what, t["expr"]))
for i, a in enumerate(panels):
    for b in panels[i + 1:]:
        check("panels %s and %s do not overlap" % (a["id"], b["id"]),
              not overlap(a["gridPos"], b["gridPos"]))

# What the dashboard was made to show.
text = "\n".join(e for _, e in exprs)
for want in ("orderd_orders_created_total", "orderd_sagas_finished_total", "orderd_sagas_running",
             "sum by (le, step) (rate(orderd_saga_step_latency_seconds_bucket",
             "orderd_dlq_depth", "orderd_breaker_state", "orderd_group_lag",
             "orderd_event_loop_lag"):
    check("a query on %s" % want, want in text)
for q in ("0.5", "0.99"):
    check("step latency p%s" % q, re.search(r"histogram_quantile\(%s, sum by \(le, step\)"
                                            % re.escape(q), text))

rc, out = promql_parses([e for _, e in exprs])
check("the queries parse (promtool check rules)", rc == 0, out)

var_query = inst.get("definition") or inst.get("query", {}).get("query", "")
m = re.match(r"label_values\((\w+),\s*instance\)$", var_query)
check("the instance variable lists label_values(<metric>, instance)", m, var_query)

with Orderd() as srv:
    c = Conn(srv)
    ev = Events(srv, "order.status")
    ids = [c.create(customer="g%d" % i) for i in range(3)]
    for oid in ids:
        ev.wait_status(oid, "DELIVERED")
    fams = parse(scrape(srv.http_port()))

# The checks against /metrics can fail: names, labels and filters that are
# wrong are caught.
for bogus in ('sum(rate(orderd_no_such_thing_total{instance=~"$instance"}[5m]))',
              'histogram_quantile(0.99, sum by (le) (rate('
              'orderd_dlq_depth_bucket{instance=~"$instance"}[5m])))',
              'sum by (nosuchlabel) (orderd_dlq_depth{instance=~"$instance"})',
              'sum(orderd_dlq_depth{nosuchlabel="x",instance=~"$instance"})',
              'sum(orderd_dlq_depth)'):
    check("a query that is wrong is caught: %s" % bogus, problems(bogus, fams))

check("orderd exposes the variable's metric", m.group(1) in fams, m.group(1))
for what, e in exprs:
    bad = problems(e, fams)
    if bad:
        raise TestFailure("%s: %s\n  %s" % (what, e, "\n  ".join(bad)))
