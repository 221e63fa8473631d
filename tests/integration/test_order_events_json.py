#!/usr/bin/python3
# stores: journal postgres
"""Every CREATE publishes on order.created and every status change on
order.status: one line of valid UTF-8 JSON whose event_id ascends by one
across both channels and whose fields match the order. Customer names and
notes with quotes, backslashes, control bytes and invalid UTF-8 still give
JSON that parses, with bad bytes as U+FFFD. On PostgreSQL, which keeps
text as text, text that is not UTF-8 is refused (-BADARG) before anything
happens, so that a row can hold it; the same events follow with the bad
bytes left out."""
import os

from chanlib import Client, event, expect_error, push, record
from harness import Orderd, expect

POSTGRES = os.environ.get("ORDERD_STORE") == "postgres"


def order_json(rec):
    """What the event's "order" object should be for a record from GET."""
    want = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in rec.items()}
    want.setdefault("key", None)
    return want


def next_event(sub, channel):
    ch, payload = push(sub.read(), "message")
    expect("event channel", ch, channel.encode())
    return event(payload)


with Orderd("--saga", "off") as srv:
    sub = Client(srv)
    sub.send("SUBSCRIBE", "order.created", "order.status")
    expect("subscribe order.created", sub.read(), [b"subscribe", b"order.created", 1])
    expect("subscribe order.status", sub.read(), [b"subscribe", b"order.status", 2])
    c = Client(srv)

    # (request, channel, order id, status, previous, note)
    script = [
        (("CREATE", "customer=alice", "item=book", "qty=2", "amount=19.99"),
         "order.created", 1, "PENDING", None, None),
        (("UPDATE", "1", "status=RESERVED", "note=first hold"),
         "order.status", 1, "RESERVED", "PENDING", "first hold"),
        (("CREATE", "customer=bob", "item=pen", "qty=1", "amount=500", "currency=JPY",
          "key=k-1"),
         "order.created", 2, "PENDING", None, None),
        (("CANCEL", "2", "reason=changed my mind"),
         "order.status", 2, "CANCELLED", "PENDING", "changed my mind"),
        (("UPDATE", "1", "status=paid"),
         "order.status", 1, "PAID", "RESERVED", None),
    ]
    for i, (req, channel, oid, status, previous, note) in enumerate(script, 1):
        rec = record(c.call(*req))
        e = next_event(sub, channel)
        now = order_json(record(c.call("GET", str(oid))))
        expect("event %d" % i, e, {
            "event_id": i, "type": channel, "order_id": oid, "status": status,
            "previous": previous, "time": now["updated"], "source": "client", "note": note,
            "order": now})
        expect("reply %d is the order" % i, order_json(rec), now)

    # Bytes JSON must escape, and bytes that are not UTF-8. A control byte
    # in a customer name is refused, and refused requests publish nothing.
    expect_error("control byte in customer", c.call(
        "CREATE", b"customer=a\x01b", "item=book", "qty=1", "amount=1"), "BADARG")
    customer = b'say "hi" \\o/ caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80 bad:\xff\x80\xfe end'
    shown = 'say "hi" \\o/ caf\u00e9 \u2603 \U0001F600 bad:\ufffd\ufffd\ufffd end'
    if POSTGRES:
        expect_error("customer not UTF-8", c.call(
            "CREATE", b"customer=" + customer, "item=book", "qty=1", "amount=1"), "BADARG",
            "customer must be UTF-8: the database keeps it as text")
        customer = customer.replace(b"\xff\x80\xfe", b"")
        shown = 'say "hi" \\o/ caf\u00e9 \u2603 \U0001F600 bad: end'
    rec = record(c.call("CREATE", b"customer=" + customer, "item=book", "qty=1", "amount=1"))
    expect("RESP is binary-safe: the customer as sent", rec["customer"], customer)
    e = next_event(sub, "order.created")
    expect("event id after a refused request", e["event_id"], len(script) + 1)
    expect("customer in JSON, bad bytes as U+FFFD", e["order"]["customer"], shown)

    note = b'tab\there\nnew line\r\x01\x1f\x7f "quoted" back\\slash \xc3\xa9\xff'
    shown_note = 'tab\there\nnew line\r\x01\x1f\x7f "quoted" back\\slash \u00e9\ufffd'
    if POSTGRES:
        expect_error("note not UTF-8", c.call(
            "UPDATE", str(rec["id"]), "status=RESERVED", b"note=" + note), "BADARG",
            "note must be UTF-8: the database keeps it as text")
        note = note[:-1]
        shown_note = shown_note[:-1]
    record(c.call("UPDATE", str(rec["id"]), "status=RESERVED", b"note=" + note))
    e = next_event(sub, "order.status")
    expect("status event after it", e["event_id"], len(script) + 2)
    expect("note in JSON", e["note"], shown_note)
    expect("customer in the status event", e["order"]["customer"], shown)

    # Events nobody hears still take their ids: with no subscriber left,
    # two more events happen; a pattern subscriber that comes later sees
    # the id after them.
    sub.send("UNSUBSCRIBE")
    sub.read()
    sub.read()
    record(c.call("CREATE", "customer=carol", "item=cup", "qty=1", "amount=3"))
    record(c.call("UPDATE", "4", "status=RESERVED"))
    psub = Client(srv)
    psub.send("PSUBSCRIBE", "order.*")
    expect("psubscribe order.*", psub.read(), [b"psubscribe", b"order.*", 1])
    record(c.call("UPDATE", "4", "status=PAID"))
    pat, ch, payload = push(psub.read(), "pmessage")
    expect("pattern message channel", (pat, ch), (b"order.*", b"order.status"))
    e = event(payload)
    expect("event id counts the events nobody heard", e["event_id"], len(script) + 5)
    expect("heard event", (e["order_id"], e["status"], e["previous"]), (4, "PAID", "RESERVED"))
