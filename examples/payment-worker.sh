#!/usr/bin/env bash
# An external payment worker in bash, speaking orderd's inline protocol over
# one TCP connection (bash's /dev/tcp; nc works the same way). Start orderd
# without the simulated payment participant:
#
#     bin/orderd --sim customer,inventory,shipping,notify
#     examples/payment-worker.sh [port]
#
# Each round asks for one payment.authorize message (waiting up to a
# second), approves it, and answers with STEP, which acknowledges the
# message and moves the order's saga on in one command.
set -euo pipefail
port=${1:-7070}
exec 3<>/dev/tcp/127.0.0.1/"$port"

# Reads one reply line (CR stripped).
line() { IFS= read -r -u 3 l; l=${l%$'\r'}; }

while true; do
    printf 'CONSUME payment.authorize group=payment consumer=bash-worker count=1 block=1000\r\n' >&3
    line                           # "*1", or "*0" when nothing came
    [ "$l" = "*1" ] || continue
    line                           # id=7 deliveries=1 time=... payload="{...}"
    id=$(sed -E 's/^id=([0-9]+) .*/\1/' <<<"$l")
    order=$(grep -oE 'order\\":[0-9]+' <<<"$l" | grep -oE '[0-9]+$')
    printf 'STEP payment.authorize group=payment %s ok\r\n' "$id" >&3
    line                           # ":1" when it moved the saga on
    echo "order $order: payment authorized ($l)"
done
