#!/usr/bin/python3
"""The full-disk drill, with --fsync always and with everysec: the journal
on a small tmpfs this test mounts, next to a filler file (--journal-reserve
1 MiB, compaction off), sagas on, and a client pipelining keyed CREATEs
(drills.Load) all along:

- the load fills the disk: CREATEs are refused (-STORE) while the sagas
  of the orders already made are held up too; the load keeps going,
  refused, resending the refused keys with the same key;
- the filler is deleted: writes resume by themselves and the load's
  orders are acknowledged again, the refused keys among them;
- once every key is acknowledged (drills.retry), the end-of-drill checks
  (drills.verify): every acknowledged order there, each key one order, no
  refusal that made one, the sagas all finished, the saga invariants;
- and again after a restart (SIGTERM, then the journal alone).

test_full_disk.py is the one that pins down what a full server answers
(every kind of change refused and nothing changed, reads, INFO, /readyz,
the idle CPU, SIGTERM and a restart while still full); this drill is about
the orders and sagas of a client that keeps going through it. Needs root
(it mounts a tmpfs); CI runs as root, so without it the test fails."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drills  # noqa: E402
from harness import Orderd, TestFailure, tmpfs, wait_for  # noqa: E402

# 6 MiB of tmpfs with a 4 MiB filler: about 1 MiB of journal, some 1,500
# orders with their sagas, fills it; the filler gone, 4 MiB are back for
# what the load and the held-up sagas write then.
TMPFS_SIZE = "6m"
FILLER_MIB = 4
FLAGS = ("--compact-min", str(1 << 30), "--journal-reserve", str(1 << 20))
FULL_REFUSALS = 100   # refusals the load meets on the full disk before space is back
FILL_TIMEOUT = drills.scaled(30.0, 60.0)  # a bound: the load fills it in a second or two


def drill(policy):
    t0 = time.monotonic()
    led = drills.Ledger()
    with tmpfs(TMPFS_SIZE, "test_drill_full_disk") as mnt:
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            for _ in range(FILLER_MIB):
                f.write(bytes(range(256)) * 4096)
        data = os.path.join(mnt, "data")
        with Orderd("--data", data, "--fsync", policy, *FLAGS) as srv:
            drills.prepare(srv.port)
            load = drills.Load(led, [srv.port], tag=policy)
            load.start()
            try:
                wait_for("the load to fill the disk (a -STORE refusal)",
                         lambda: led.refused > 0 or load.error, timeout=FILL_TIMEOUT)
                if load.error:
                    raise TestFailure("the load: " + load.error)
                full_at = led.count()
                wait_for("%d refusals on the full disk" % FULL_REFUSALS,
                         lambda: led.refused >= FULL_REFUSALS or load.error)
                os.unlink(filler)
                freed = led.count()
                load.wait_acked(freed + 300)
            finally:
                load.finish()
            drills.retry(led, srv.port)
            result = drills.verify(srv.port, led)
        with Orderd("--data", data, "--fsync", policy, *FLAGS) as srv:
            drills.verify(srv.port, led)
    print("ok: --fsync %s: the disk full after %d orders; %s; %.1f s"
          % (policy, full_at, drills.summary(led, result), time.monotonic() - t0))


for p in ("always", "everysec"):
    drill(p)
