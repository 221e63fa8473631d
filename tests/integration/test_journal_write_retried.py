#!/usr/bin/python3
"""A journal write that fails after its change was made is retried from
orderd's own buffer, and nothing is lost or answered early. On a small
tmpfs orderd is left with its minimum reservation ahead; a PUBLISH of
nearly 1 MB to a durable channel is admitted (space was reserved) but its
record does not fit what is left. Then:

- the PUBLISH is not answered (its change is not durable), and further
  changes get -STORE;
- reads answer at once: the store has stalled, and nothing they could wait
  for is becoming durable;
- INFO store counts the failed write and says store_refusing:1;
- once space is freed, the write is retried within seconds, the PUBLISH is
  answered, and changes are taken again;
- after a restart the message is in the channel, whole.

Needs root (it mounts a tmpfs); CI runs as root."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Orderd, Reader, TestFailure, check, expect, resp_command,  # noqa: E402
                     tmpfs, wait_for)

RESERVE = 65536            # --journal-reserve's minimum
BIG = 900 * 1024           # under --max-bulk, far over what is reserved
TMPFS = "8m"


def call(rd, *args):
    rd.sock.sendall(resp_command(*args))
    return rd.resp()


def store_figures(rd):
    text = call(rd, "INFO", "store")
    return dict(line.split(":", 1) for line in text.decode().splitlines()
                if ":" in line and not line.startswith("#"))


def fill_disk(mnt):
    """Leaves less free space on the tmpfs than BIG, but more than the
    reservation needs: a file of everything else. Returns its path."""
    path = os.path.join(mnt, "filler")
    st = os.statvfs(mnt)
    free = st.f_bavail * st.f_frsize
    with open(path, "wb") as f:
        f.write(b"x" * (free - 4 * RESERVE))
    return path


for policy in ("always", "everysec"):
    with tmpfs(TMPFS, "test_journal_write_retried") as mnt:
        data = os.path.join(mnt, "data")
        flags = ("--data", data, "--fsync", policy, "--saga", "off",
                 "--journal-reserve", str(RESERVE))
        payload = bytes(range(256)) * (BIG // 256)
        with Orderd(*flags) as srv:
            rd = Reader(srv.connect())
            expect("CHANNEL CREATE big", call(rd, "CHANNEL", "CREATE", "big"), (b"+", b"OK"))
            filler = fill_disk(mnt)

            writer = Reader(srv.connect())
            writer.sock.sendall(resp_command("PUBLISH", "big", payload))
            # The write fails, and is retried every second: meanwhile the
            # store refuses changes. Wait for it to say so.
            wait_for("the store to refuse changes after the failed write",
                     lambda: store_figures(rd).get("store_refusing") == "1", timeout=10)
            st = store_figures(rd)
            check("INFO store counts the failed write", int(st["store_write_errors"]) >= 1,
                  repr(st))

            # Reads answer at once; changes are refused; the PUBLISH waits.
            quick = Reader(srv.connect(), timeout=1.0)
            t = time.monotonic()
            expect("PING while the write is retried", call(quick, "PING"), (b"+", b"PONG"))
            info = call(quick, "CHANNEL", "INFO", "big")
            check("CHANNEL INFO answers", isinstance(info, list), repr(info))
            check("reads answered within 1 s", time.monotonic() - t < 1.0)
            reply = call(quick, "CREATE", "customer=a", "item=b", "qty=1", "amount=1")
            check("a change is refused with -STORE",
                  isinstance(reply, tuple) and reply[1].startswith(b"STORE "), repr(reply))
            writer.sock.settimeout(0.5)
            try:
                early = writer.sock.recv(64)
            except OSError:
                early = b""
            expect("the PUBLISH is not answered before its write succeeds", early, b"")

            # Space back: the retry writes it, the PUBLISH is answered.
            os.unlink(filler)
            writer.sock.settimeout(None)
            writer.timeout = 10
            expect("the PUBLISH, once written", writer.resp(), 0)
            wait_for("changes to be taken again",
                     lambda: store_figures(rd).get("store_refusing") == "0", timeout=10)
            reply = call(rd, "CREATE", "customer=a", "item=b", "qty=1", "amount=1")
            check("a change after the retry", isinstance(reply, list), repr(reply))

        with Orderd(*flags) as srv:
            rd = Reader(srv.connect())
            msgs = call(rd, "READ", "big")
            check("the message is there after a restart", isinstance(msgs, list) and
                  len(msgs) == 1, repr(msgs)[:200])
            fields = dict(zip(msgs[0][::2], msgs[0][1::2]))
            check("whole", fields.get(b"payload") == payload,
                  "%d bytes" % len(fields.get(b"payload") or b""))
    print("ok: --fsync %s: a failed journal write was retried and answered" % policy)
