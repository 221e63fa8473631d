#!/usr/bin/python3
# stores: journal postgres
"""From redis-py: a message NACKed maxdeliver (5) times goes to the DLQ
with its reason, to jobs.DLT, and is announced on `dlq`; DLQ REPLAY puts
it back with a fresh delivery count and announces that; a replayed message
that fails again shows replays=1. PURGE of nothing answers 0, SHOW of a
missing id -NOTFOUND."""
import json
import time

import redis

from harness import Orderd, READ_TIMEOUT, TestFailure, check, expect


def rec(flat):
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def next_event(p):
    deadline = time.monotonic() + READ_TIMEOUT
    while time.monotonic() < deadline:
        m = p.get_message(timeout=deadline - time.monotonic())
        if m is not None:
            expect("dlq push", (m["type"], m["channel"]), ("message", "dlq"))
            return json.loads(m["data"])
    raise TestFailure("no dlq event within %ss" % READ_TIMEOUT)


def fail_five_times(r, msg_id, payload):
    for n in range(1, 6):
        got = [rec(m) for m in r.execute_command("CONSUME", "jobs", "group=g", "consumer=w")]
        expect("delivery %d" % n, [(m["id"], m["deliveries"], m["payload"]) for m in got],
               [(msg_id, n, payload)])
        expect("nack %d" % n, r.execute_command("NACK", "jobs", "group=g", str(msg_id),
                                                 "delay=0", "reason=card declined"), 1)


with Orderd() as srv:
    r = srv.redis()
    p = r.pubsub()
    p.subscribe("dlq")
    expect("subscribed", p.get_message(timeout=READ_TIMEOUT)["type"], "subscribe")

    expect("declare", r.execute_command("CHANNEL", "CREATE", "jobs", "maxdeliver=5"), "OK")
    expect("publish", r.execute_command("PUBLISH", "jobs", "charge-42"), 0)
    fail_five_times(r, 1, "charge-42")
    expect("nothing left to consume",
           r.execute_command("CONSUME", "jobs", "group=g", "consumer=w"), [])

    entries = [rec(e) for e in r.execute_command("DLQ", "LIST")]
    expect("one entry", len(entries), 1)
    e = entries[0]
    expect("entry", {k: e[k] for k in ("id", "channel", "group", "offset", "reason",
                                       "deliveries", "replays")},
           {"id": 1, "channel": "jobs", "group": "g", "offset": 1, "reason": "card declined",
            "deliveries": 5, "replays": 0})
    check("entry times", all(e[k] for k in ("published", "first_delivery", "last_delivery",
                                            "dead_since")), repr(e))
    expect("SHOW adds the payload", rec(r.execute_command("DLQ", "SHOW", "1")),
           dict(e, payload="charge-42"))
    expect("jobs.DLT has it", [rec(m)["payload"] for m in r.execute_command("READ", "jobs.DLT")],
           ["charge-42"])
    expect("INFO dlq_depth", srv.info()["dlq_depth"], "1")

    ev = next_event(p)
    check("event time", ev.pop("time", None), repr(ev))
    expect("dead-lettered event", ev, {"event": "dead-lettered", "id": 1, "channel": "jobs",
                                       "group": "g", "offset": 1, "reason": "card declined",
                                       "deliveries": 5, "replays": 0})

    expect("replay all", r.execute_command("DLQ", "REPLAY", "ALL"), 1)
    expect("replayed event", next_event(p)["event"], "replayed")
    got = [rec(m) for m in r.execute_command("CONSUME", "jobs", "group=g", "consumer=w")]
    expect("back, first delivery", [(m["id"], m["deliveries"], m["payload"]) for m in got],
           [(1, 1, "charge-42")])
    expect("ack", r.execute_command("ACK", "jobs", "group=g", "1"), 1)
    expect("DLQ empty", r.execute_command("DLQ", "LIST"), [])
    expect("INFO dlq_depth after replay", srv.info()["dlq_depth"], "0")
    expect("purge of nothing", r.execute_command("DLQ", "PURGE", "ALL"), 0)
    try:
        r.execute_command("DLQ", "SHOW", "1")
        raise TestFailure("DLQ SHOW of a missing id answered")
    except redis.ResponseError as err:
        expect("DLQ SHOW missing", str(err), "NOTFOUND dead letter 1 does not exist")

    # Replayed, then failing again: the new entry remembers the replay.
    expect("publish 2", r.execute_command("PUBLISH", "jobs", "charge-43"), 0)
    fail_five_times(r, 2, "charge-43")
    expect("dead-lettered again", next_event(p)["replays"], 0)
    expect("replay 2", r.execute_command("DLQ", "REPLAY", "2"), 1)
    expect("replayed event 2", next_event(p)["event"], "replayed")
    fail_five_times(r, 2, "charge-43")
    ev = next_event(p)
    expect("second dead-lettering", (ev["event"], ev["id"], ev["replays"]),
           ("dead-lettered", 3, 1))
    expect("entry shows replays=1", [(rec(x)["id"], rec(x)["replays"])
                                     for x in r.execute_command("DLQ", "LIST")], [(3, 1)])
    expect("purge it", r.execute_command("DLQ", "PURGE", "3"), 1)
    expect("purged event", next_event(p)["event"], "purged")
    p.close()
    r.close()
