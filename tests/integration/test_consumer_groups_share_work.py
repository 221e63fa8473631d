#!/usr/bin/python3
# stores: journal postgres
"""Two consumers of one group, on two connections, share a channel's
messages: while both are alive and ACK what they take, every message is
delivered exactly once across them, in offset order per batch, and at the
end the group has nothing pending and no lag."""
from chanlib import Client, expect_ok, groups, records
from harness import Orderd, check, expect, resp_command

N = 1000
BATCH = 37  # not a divisor of N: the last batch is short

with Orderd() as srv:
    admin = Client(srv)
    expect_ok("declare", admin.call("CHANNEL", "CREATE", "work"))
    admin.send_raw(b"".join(resp_command("PUBLISH", "work", "job-%d" % i)
                            for i in range(1, N + 1)))
    for i in range(1, N + 1):
        expect("publish %d" % i, admin.read(), 0)

    consumers = {"a": Client(srv), "b": Client(srv)}
    seen = {"a": [], "b": []}
    done = set()
    while len(done) < len(consumers):
        # Both take a batch before either ACKs, so both hold messages at once.
        taken = {}
        for name, c in consumers.items():
            batch = records(c.call("CONSUME", "work", "group=g", "consumer=" + name,
                                   "count=%d" % BATCH))
            if not batch:
                done.add(name)
            for m in batch:
                expect("payload of %d" % m["id"], m["payload"], b"job-%d" % m["id"])
                expect("first delivery of %d" % m["id"], m["deliveries"], 1)
            ids = [m["id"] for m in batch]
            expect("a batch is in offset order", ids, sorted(ids))
            seen[name] += ids
            taken[name] = ids
        for name, ids in taken.items():
            if ids:
                expect("ack %s" % name,
                       consumers[name].call("ACK", "work", "group=g", *map(str, ids)), len(ids))

    every = seen["a"] + seen["b"]
    expect("each message delivered once", len(every), len(set(every)))
    expect("every id seen", sorted(every), list(range(1, N + 1)))
    check("both consumers worked", seen["a"] and seen["b"], repr({k: len(v) for k, v in seen.items()}))

    g = groups(admin, "work")["g"]
    expect("group at the end", g, {"group": b"g", "consumers": 2, "pending": 0, "lag": 0,
                                   "committed": N, "next": N + 1, "waiting": 0})
