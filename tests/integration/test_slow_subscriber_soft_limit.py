#!/usr/bin/python3
"""A subscriber whose unread pushes stay over the soft limit (256 KiB here)
but under the hard one (1 MiB) is cut off once that lasted longer than
--pubsub-soft-seconds (1 s): the next push after that closes it, the log
says why, INFO counts it."""
import fcntl
import struct
import termios
import time

from chanlib import Client
from harness import Orderd, TestFailure, check, expect

SOFT, HARD = 256 << 10, 1 << 20
LIMITS = ("--pubsub-hard-limit", str(HARD), "--pubsub-soft-limit", str(SOFT),
          "--pubsub-soft-seconds", "1")
PAYLOAD = b"x" * (16 << 10)
PUSH_LEN = len(b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$%d\r\n%s\r\n" % (len(PAYLOAD), PAYLOAD))
TARGET = (SOFT + HARD) // 2  # unread bytes inside orderd: over soft, well under hard


def unread_in(sock):
    """Bytes waiting in this socket's receive queue."""
    return struct.unpack("i", fcntl.ioctl(sock, termios.FIONREAD, b"\0\0\0\0"))[0]


def server_send_queue(server_port, client_port):
    """Bytes queued in the kernel on orderd's side of this connection."""
    local = "0100007F:%04X" % server_port
    remote = "0100007F:%04X" % client_port
    with open("/proc/net/tcp") as f:
        for line in f:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return int(fields[4].split(":")[0], 16)
    raise TestFailure("orderd's side of port %d not found in /proc/net/tcp" % client_port)


with Orderd(*LIMITS) as srv:
    slow = Client(srv, rcvbuf=1 << 18)
    expect("slow subscribes", slow.call("SUBSCRIBE", "ch"), [b"subscribe", b"ch", 1])
    slow_port = slow.sock.getsockname()[1]
    pub = Client(srv)

    # Fill the kernel's buffers, then orderd's own output buffer, to TARGET.
    # Whatever is neither in the slow client's receive queue nor in
    # orderd's socket is still in orderd's memory.
    pushed = 0
    for _ in range(4096):
        expect("publish while under the limits", pub.call("PUBLISH", "ch", PAYLOAD), 1)
        pushed += PUSH_LEN
        held = pushed - unread_in(slow.sock) - server_send_queue(srv.port, slow_port)
        if held >= TARGET:
            break
    else:
        raise TestFailure("orderd never held %d unread bytes (pushed %d)" % (TARGET, pushed))

    # Small pushes keep it over the soft limit, far from the hard one,
    # until the soft time is up and a push finds it.
    deadline = time.monotonic() + 20
    while pub.call("PUBLISH", "ch", "tick") == 1:
        if time.monotonic() > deadline:
            raise TestFailure("not cut off 20 s after going over the soft limit")
        time.sleep(0.05)

    check("slow subscriber's connection closed", slow.reader.closed())
    expect("INFO clients_cut_off", srv.info()["clients_cut_off"], "1")
    cut = [l for l in srv.log().splitlines() if "event=client_cut_off" in l]
    expect("one cut-off log line", len(cut), 1)
    check("cut off for the soft limit", 'reason="pubsub output over the soft limit' in cut[0],
          cut[0])
