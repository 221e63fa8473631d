#!/usr/bin/python3
"""The crash-during-compaction drill: orderd (sagas on, --fsync always, a
small --compact-min) under a client pipelining keyed CREATEs (drills.Load)
is killed with SIGKILL while a compaction is under way, KILLS times
(default 10), each time restarted on the same journal and the load resumed,
sending first what the kill left unanswered, with the same keys.

A kill is aimed at a compaction by watching for its rewrite file
(journal.rewrite.*): as soon as a batch of the load is in flight, or at
a random moment up to AIM_MS after the file appears, whichever comes first;
one counts only if the file is still there after the kill (the compaction
had not finished: its rename is what removes the name). A kill that came
just too late still crashes the server, and another round follows, up to
MAX_ROUNDS. The next start must then remove the leftover
(event=stale_rewrite_removed) and recover the old journal, whole.

At the end, once every key has been acknowledged (drills.retry), the
end-of-drill checks (drills.verify): every acknowledged order there with
its status or a later one, each key one order and ids 1..n, the sagas the
kills interrupted all finished, the saga invariants holding; and again
after a compaction has completed and a clean restart.

test_crash_kill9.py crashes a server at random moments as well as in
compactions, without sagas, and checks the orders field by field against
UPDATEs it sent; this one is about compactions and sagas."""
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drills  # noqa: E402
from durability import kill9, reap, start, stop, wait_gone  # noqa: E402
from harness import TestFailure, check, wait_for  # noqa: E402

KILLS = int(os.environ.get("DRILL_KILLS", "10"))
MAX_ROUNDS = 3 * KILLS
SEED = int(os.environ.get("DRILL_SEED", str(random.randrange(1 << 30))))
FLAGS = ("--fsync", "always", "--compact-min", "150000")
AIM_MS = 2.0
# The load's pace: a few hundred orders a second. Compaction is decided on
# the one-second tick, so each round is a second of load; faster would
# only make the orders to recover and check grow.
PAUSE = 0.04
COMPACTION_WAIT = drills.scaled(15.0, 40.0)   # a bound on a compaction coming


def rewrites(data):
    return [n for n in os.listdir(data) if n.startswith("journal.rewrite.")]


rng = random.Random(SEED)
led = drills.Ledger()
data = tempfile.mkdtemp(prefix="orderd-drill-compaction-")
t0 = time.monotonic()
kills = rounds = removed = 0
orphans = []
try:
    while kills < KILLS:
        rounds += 1
        check("%d kills mid-compaction within %d rounds" % (KILLS, MAX_ROUNDS),
              rounds <= MAX_ROUNDS, "(only %d, seed %d)" % (kills, SEED))
        srv = start(data, *FLAGS, saga=True)
        removed += srv.log().count("event=stale_rewrite_removed")
        if rounds == 1:
            drills.prepare(srv.port)
        load = drills.Load(led, [srv.port], tag="r%d" % rounds, pause=PAUSE)
        load.start()
        try:
            wait_for("round %d: the load's first replies" % rounds,
                     lambda: load.batches > 0 or load.error)
            deadline = time.monotonic() + COMPACTION_WAIT
            while not rewrites(data):
                if load.error or time.monotonic() > deadline:
                    raise TestFailure("round %d: no compaction within %.0f s (seed %d); load: "
                                      "%s" % (rounds, COMPACTION_WAIT, SEED, load.error))
                time.sleep(0.001)
            # Aimed at a batch in flight too, if one comes soon enough.
            aim = time.monotonic() + rng.uniform(0, AIM_MS / 1000)
            while time.monotonic() < aim and not load.in_flight:
                time.sleep(0.0005)
            left = rewrites(data)
            log, orphan = kill9(srv)
            orphans += orphan
            # Still there after the kill: the compaction had not finished.
            if left and set(left) & set(rewrites(data)):
                kills += 1
            if os.environ.get("DRILL_VERBOSE"):
                print("round %d: %.2f s, %d acknowledged, journal %d bytes, kills %d; %s" %
                      (rounds, time.monotonic() - t0, led.count(),
                       os.path.getsize(os.path.join(data, "journal")), kills,
                       [l for l in log.splitlines() if "compaction" in l]))
        finally:
            load.finish()

    srv = start(data, *FLAGS, saga=True)
    removed += srv.log().count("event=stale_rewrite_removed")
    check("every kill mid-compaction left a rewrite the next start removed", removed >= kills,
          "(%d removed for %d kills)" % (removed, kills))
    drills.retry(led, srv.port)
    result = drills.verify(srv.port, led)
    # One compaction at last runs to its end (the journal is over
    # --compact-min: at the first tick), and the next start replays it.
    wait_for("a compaction to complete", lambda: int(srv.info()["journal_compactions"]) > 0,
             timeout=COMPACTION_WAIT)
    stop(srv)
    srv = start(data, *FLAGS, saga=True)
    drills.verify(srv.port, led)
    stop(srv)
    wait_gone(orphans)
finally:
    reap()
    shutil.rmtree(data, ignore_errors=True)
print("ok: %d kills mid-compaction in %d rounds (seed %d); %s; %.1f s"
      % (kills, rounds, SEED, drills.summary(led, result), time.monotonic() - t0))
