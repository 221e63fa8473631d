#!/usr/bin/python3
"""ordertop's CPU under load: ordertop runs in a 120x40 tmux session against
orderd while orderbench creates orders at a steady rate; a subscriber on the
same channels counts the events ordertop is sent. Prints one CSV line:

    events_per_s,ordertop_cpu_percent_of_one_core

Not a test: nothing passes or fails on the numbers.

usage: console_cpu.py PORT [RATE=3000] [SECONDS=10]
"""
import os
import subprocess
import sys
import threading
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def main():
    port = int(sys.argv[1])
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10
    sock = f"orderd-bench-{os.getpid()}"
    tmux = ["tmux", "-L", sock]
    ordertop = os.path.join(ROOT, "bin", "ordertop")
    subprocess.run(tmux + ["new-session", "-d", "-x", "120", "-y", "40",
                           f"exec {ordertop} --port {port}"], check=True)
    try:
        pid = int(subprocess.run(tmux + ["display", "-p", "-t", "0", "#{pane_pid}"],
                                 check=True, capture_output=True, text=True).stdout)
        for _ in range(200):
            screen = subprocess.run(tmux + ["capture-pane", "-p", "-t", "0"],
                                    capture_output=True, text=True).stdout
            if "connected" in screen:
                break
            time.sleep(0.05)

        count = [0]
        stop = threading.Event()
        r = redis.Redis(port=port)
        ps = r.pubsub(ignore_subscribe_messages=True)
        ps.psubscribe("order.*")
        ps.subscribe("dlq", "breaker", "notify")

        def counter():
            while not stop.is_set():
                if ps.get_message(timeout=0.1):
                    count[0] += 1

        t = threading.Thread(target=counter)
        t.start()
        time.sleep(0.5)
        bench = subprocess.Popen([os.path.join(ROOT, "bin", "orderbench"), "--port", str(port),
                                  "--rate", str(rate), "--duration", str(seconds),
                                  "--connections", "4", "--csv"],
                                 stdout=subprocess.DEVNULL)
        time.sleep(1)  # past the ramp
        c0, t0, n0 = cpu_ticks(pid), time.monotonic(), count[0]
        time.sleep(seconds - 2)
        c1, t1, n1 = cpu_ticks(pid), time.monotonic(), count[0]
        bench.wait()
        stop.set()
        t.join()
        hz = os.sysconf("SC_CLK_TCK")
        cpu = (c1 - c0) / hz / (t1 - t0) * 100
        print(f"{(n1 - n0) / (t1 - t0):.0f},{cpu:.1f}")
    finally:
        subprocess.run(tmux + ["kill-server"], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
