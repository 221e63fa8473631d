#!/usr/bin/python3
"""The database ends orderd's write session under load, again and again
(pg_terminate_backend on orderd-writer-<pid>, as an operator or a failover
would), mostly while a batch is in flight, its COMMIT's outcome unknown to
orderd. Each time it reconnects, settles the batch by the number in the
lease row (committed, or sent again), and goes on. One client pipelines
CREATEs with idempotency keys throughout; a request refused meanwhile
(-UNAVAILABLE) made nothing.

At the end, from psql: every acknowledged order is a row exactly once,
with the key it was acknowledged with; no refused request's key is a row;
order ids run 1..n without a gap; and the log shows batches settled."""
import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chanlib import Client, is_error, record  # noqa: E402
from harness import TestFailure, check, expect, wait_for  # noqa: E402
import pglib  # noqa: E402
from pgnode import fresh_database, reap, rows, scaled, start, stop  # noqa: E402

PIPELINES, PER_PIPELINE = 300, 200
KILLS = 8
NODE = "node-killed"


class Writer(threading.Thread):
    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv = srv
        self.acked = {}       # key -> id
        self.refused = []     # keys
        self.error = None

    def run(self):
        try:
            c = Client(self.srv)
            k = 0
            for _ in range(PIPELINES):
                keys = []
                for _ in range(PER_PIPELINE):
                    k += 1
                    keys.append("key-%d" % k)
                    c.send("CREATE", "customer=c%d" % k, "item=x", "qty=1", "amount=1",
                           "key=key-%d" % k)
                for key in keys:
                    got = c.read()
                    if is_error(got, "UNAVAILABLE"):
                        self.refused.append(key)
                    else:
                        self.acked[key] = int(record(got)["id"])
        except Exception as e:  # reported by the main thread
            self.error = e


try:
    with pglib.Postgres() as pg:
        db = fresh_database(pg)
        srv = start(pg, db, NODE, "--saga", "off")
        w = Writer(srv)
        w.start()
        for i in range(KILLS):
            # Some progress between kills: each lands under load.
            seen = len(w.acked)
            wait_for("orders acknowledged before kill %d" % (i + 1),
                     lambda: len(w.acked) > seen + 200 or not w.is_alive(),
                     timeout=scaled(20, 60))
            check("the writer still writing at kill %d" % (i + 1), w.is_alive(),
                  "(make PIPELINES larger)")
            # The session that is back: its end is the next kill.
            wait_for("orderd's write session, to end it",
                     lambda: rows(pg, db, "SELECT pg_terminate_backend(pid) FROM "
                                  "pg_stat_activity WHERE application_name LIKE "
                                  "'orderd-writer-%'") == [("t",)],
                     timeout=scaled(10, 30))
        w.join(scaled(60, 180))
        check("the writer finished", not w.is_alive(), "")
        if w.error:
            raise TestFailure("the writer failed: %r" % (w.error,))
        expect("every request answered", len(w.acked) + len(w.refused),
               PIPELINES * PER_PIPELINE)
        log = srv.log()
        stop(srv)

        got = {key: int(i) for i, key in rows(pg, db, "SELECT id, idempotency_key FROM orders")}
        expect("acknowledged orders are rows, each with its id",
               {k: got.get(k) for k in w.acked}, w.acked)
        expect("refused requests made nothing", [k for k in w.refused if k in got], [])
        expect("no row beyond what was acknowledged", len(got), len(w.acked))
        ids = sorted(got.values())
        expect("ids run 1..n", ids, list(range(1, len(ids) + 1)))
        settled = re.findall(r"event=pg_batch_settled batch=\d+ outcome=(\w+)", log)
        downs = len(re.findall(r"event=pg_down", log))
        check("the write session was ended %d times" % KILLS, downs >= KILLS,
              "(%d pg_down lines)" % downs)
        check("batches in flight were settled", len(settled) > 0, "(none in the log)")
        print("ok: %d acknowledged, %d refused, %d connections ended, settled: %s"
              % (len(w.acked), len(w.refused), downs,
                 {o: settled.count(o) for o in set(settled)}))
finally:
    reap()
