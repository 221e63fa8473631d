"""Shared by the tests that read /metrics (test_metrics_http,
test_grafana_dashboard): the page fetched, parsed into families, and each
histogram's series checked for what Prometheus relies on.

    text = scrape(port)
    fams = parse(text)                      # name -> Family
    series = histograms(fams)               # checks them; (name, labels) -> Series
    s = series[("orderd_saga_step_latency_seconds", (("step", "payment.authorize"),))]
    expect("answers", s.count, 5)
"""
import math
import re
import urllib.error
import urllib.request

from harness import TestFailure, check, expect


def get(port, path):
    """(status, body) of a GET on orderd's HTTP port."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(port):
    status, text = get(port, "/metrics")
    expect("/metrics status", status, 200)
    return text


class Family:
    def __init__(self, name, kind):
        self.name = name
        self.type = kind
        self.samples = []   # (sample name, {label: value}, float)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}


def labels_of(text):
    """k="v",k2="v2" as a dict, with the format's escapes undone."""
    out, i = {}, 0
    while i < len(text):
        m = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="').match(text, i)
        if not m:
            raise TestFailure("bad labels: %r" % text)
        i, value = m.end(), []
        while text[i] != '"':
            if text[i] == "\\":
                value.append({"n": "\n"}.get(text[i + 1], text[i + 1]))
                i += 2
            else:
                value.append(text[i])
                i += 1
        out[m.group(1)] = "".join(value)
        i += 1
        if i < len(text) and text[i] == ",":
            i += 1
    return out


def parse(text):
    """Families by name, each with its TYPE and its samples; a sample
    outside its family's TYPE block fails."""
    fams, cur = {}, None
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            check("one TYPE line for %s" % name, name not in fams)
            cur = fams[name] = Family(name, kind)
        elif line.startswith("#") or not line:
            continue
        else:
            m = SAMPLE.match(line)
            check("a sample line", m is not None, repr(line))
            name = m.group(1)
            ok = cur is not None and any(name == cur.name + s
                                         for s in SUFFIXES.get(cur.type, ("",)))
            check("sample %s under its family's TYPE" % name, ok,
                  "(family %s)" % (cur.name if cur else None))
            cur.samples.append((name, labels_of(m.group(2) or ""), float(m.group(3))))
    return fams


class Series:
    """One histogram series: its buckets [(le, cumulative count)] in
    order, the +Inf bucket, the sum and the count."""

    def __init__(self):
        self.buckets = []
        self.inf = None
        self.sum = None
        self.count = None

    def bounds(self):
        """(lowest, highest) the sum can be from the buckets alone: each
        value in (le_prev, le] counted at either end; None for highest
        when some value is past the last bound."""
        lo = hi = 0.0
        prev_le, prev_n = 0.0, 0
        for le, n in self.buckets:
            lo += (n - prev_n) * prev_le
            hi += (n - prev_n) * le
            prev_le, prev_n = le, n
        lo += (self.inf - prev_n) * prev_le
        return lo, (hi if self.inf == prev_n else None)


def histograms(fams):
    """Every histogram series, checked: bounds strictly rising, counts
    cumulative (never falling), a +Inf bucket equal to _count, and a _sum
    that the buckets allow."""
    out = {}
    for fam in fams.values():
        if fam.type != "histogram":
            continue
        for name, labels, value in fam.samples:
            key_labels = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            s = out.setdefault((fam.name, key_labels), Series())
            if name.endswith("_bucket"):
                le = labels["le"]
                if le == "+Inf":
                    s.inf = value
                else:
                    s.buckets.append((float(le), value))
            elif name.endswith("_sum"):
                s.sum = value
            else:
                s.count = value
    for (name, labels), s in out.items():
        what = "%s%s" % (name, dict(labels) if labels else "")
        check("%s has buckets, +Inf, _sum and _count" % what,
              s.buckets and None not in (s.inf, s.sum, s.count))
        les = [le for le, _ in s.buckets]
        check("%s: bounds rise" % what, all(a < b for a, b in zip(les, les[1:])), les)
        counts = [n for _, n in s.buckets] + [s.inf]
        check("%s: buckets are cumulative" % what,
              all(a <= b for a, b in zip(counts, counts[1:])), counts)
        check("%s: counts are whole" % what, all(n == math.floor(n) >= 0 for n in counts))
        expect("%s: +Inf bucket is _count" % what, s.inf, s.count)
        lo, hi = s.bounds()
        slack = 1e-9 * max(1.0, s.sum)
        check("%s: _sum %g not below what the buckets say (%g)" % (what, s.sum, lo),
              s.sum >= lo - slack)
        if hi is not None:
            check("%s: _sum %g not above what the buckets say (%g)" % (what, s.sum, hi),
                  s.sum <= hi + slack)
    return out
