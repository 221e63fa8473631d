#!/usr/bin/python3
"""An external payment worker: takes the payment step instead of orderd's
simulator. Start orderd without the simulated payment participant:

    bin/orderd --sim customer,inventory,shipping,notify

then run this (Debian's python3-redis):

    examples/payment-worker.py [--port 7070] [--limit 1000.00]

It consumes payment.authorize and payment.refund in the `payment` group and
answers each message with STEP, which acknowledges it and moves the saga on
in one command. Amounts over --limit are declined (a business failure: the
saga releases the stock and fails the order). Charges are kept per order,
so a redelivered message is never charged twice.
"""
import argparse
import json
import signal
import sys

import redis

STEPS = ("payment.authorize", "payment.refund")


def decode(reply):
    """CONSUME answers a list of records, each a flat [k1, v1, k2, v2...]."""
    return [dict(zip(rec[0::2], rec[1::2])) for rec in reply]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7070)
    ap.add_argument("--consumer", default="payment-worker")
    ap.add_argument("--limit", default="1000.00", help="decline amounts above this")
    ap.add_argument("--count", type=int, default=0, help="stop after this many answers (0: run)")
    args = ap.parse_args()
    limit = float(args.limit)
    r = redis.Redis(host=args.host, port=args.port, decode_responses=True)
    charged = {}   # order id -> amount: idempotency per order
    answered = 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while args.count == 0 or answered < args.count:
        for step in STEPS:
            block = 200 if step == STEPS[0] else 0
            msgs = decode(r.execute_command("CONSUME", step, "group=payment",
                                            "consumer=" + args.consumer, "count=50",
                                            "block=%d" % block) if block else
                          r.execute_command("CONSUME", step, "group=payment",
                                            "consumer=" + args.consumer, "count=50"))
            for m in msgs:
                job = json.loads(m["payload"])
                order = job["order"]
                if step == "payment.authorize":
                    if order in charged:
                        outcome, reason = "ok", None
                    elif float(job.get("amount", "0")) > limit:
                        outcome, reason = "fail", "amount over the limit"
                    else:
                        charged[order] = job.get("amount")
                        outcome, reason = "ok", None
                else:
                    charged.pop(order, None)
                    outcome, reason = "ok", None
                cmd = ["STEP", step, "group=payment", m["id"], outcome]
                if reason:
                    cmd.append("reason=" + reason)
                r.execute_command(*cmd)
                answered += 1
                print("order %s %s: %s" % (order, step, outcome), flush=True)


if __name__ == "__main__":
    main()
