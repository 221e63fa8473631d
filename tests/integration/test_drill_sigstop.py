#!/usr/bin/python3
"""The paused-server drill: orderd (journal store, sagas on) is stopped
with SIGSTOP under load, and continued. Two clients pipeline keyed CREATEs
(drills.Load): a patient one that waits for its replies however long, and
an impatient one that gives up on a reply after 0.3 s, drops the
connection, connects again (the kernel still accepts) and sends its keys
once more, as a client with a timeout does. After PAUSE seconds, SIGCONT:

- the impatient client timed out while the server was stopped, the
  patient one never did: it got every reply once the server went on;
- the load goes on: more orders are acknowledged after the pause;
- then every key never acknowledged is sent again, same key (drills.retry),
  and the end-of-drill checks (drills.verify) hold: every acknowledged
  order there, nothing acknowledged twice (a key that reached the stopped
  server on a connection since dropped, and again on another, is one
  order, the later reply a replay of it), the sagas all finish, and the
  saga invariants hold;
- and the same after a restart (SIGTERM, then the journal alone)."""
import os
import signal
import sys
import tempfile
import shutil
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drills  # noqa: E402
from harness import Orderd, check, wait_for  # noqa: E402

PAUSE = 1.5           # how long the server stays stopped
IMPATIENT = 0.3       # the impatient client's wait for a reply

data = tempfile.mkdtemp(prefix="orderd-drill-sigstop-")
t0 = time.monotonic()
try:
    led = drills.Ledger()
    with Orderd("--data", data) as srv:
        drills.prepare(srv.port)
        patient = drills.Load(led, [srv.port], tag="p")
        impatient = drills.Load(led, [srv.port], tag="i", timeout=IMPATIENT)
        patient.start()
        impatient.start()
        patient.wait_acked(300)
        os.kill(srv.proc.pid, signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            wait_for("the impatient client to time out on the stopped server",
                     lambda: impatient.timeouts > 0, timeout=5.0)
            time.sleep(max(0.0, PAUSE - (time.monotonic() - stopped)))  # the fault's length
        finally:
            os.kill(srv.proc.pid, signal.SIGCONT)
        before = led.count()
        patient.wait_acked(before + 300)
        patient.finish()
        impatient.finish()
        check("the patient client waited through the pause", patient.timeouts == 0,
              "(it timed out %d times)" % patient.timeouts)
        check("the impatient client gave up on replies", impatient.timeouts > 0)
        drills.retry(led, srv.port)
        result = drills.verify(srv.port, led)
    with Orderd("--data", data) as srv:
        drills.verify(srv.port, led)
finally:
    shutil.rmtree(data, ignore_errors=True)
print("ok: stopped %.1f s under load; the impatient client timed out %d times; %s; %.1f s"
      % (PAUSE, impatient.timeouts, drills.summary(led, result), time.monotonic() - t0))
