#!/usr/bin/python3
"""redis-py's PubSub works unchanged: confirmations, then messages and
pattern messages with the right channel, pattern and data; PUBLISH counts
exact and pattern receivers, and stops counting those that left. A
subscribed connection may only (un)subscribe, PING and QUIT; its RESP PING
is answered the way Redis does."""
import time

from chanlib import Client, expect_error, push
from harness import Orderd, READ_TIMEOUT, TestFailure, expect


def next_message(p):
    """The next PubSub message (a dict), waiting at most READ_TIMEOUT."""
    deadline = time.monotonic() + READ_TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("no pub/sub message within %ss" % READ_TIMEOUT)
        m = p.get_message(timeout=left)
        if m is not None:
            return m


def msg(kind, channel, data, pattern=None):
    return {"type": kind, "pattern": pattern, "channel": channel, "data": data}


with Orderd() as srv:
    r = srv.redis()
    p = r.pubsub()
    p.subscribe("news.sports")
    p.psubscribe("news.*")
    expect("subscribe confirmation", next_message(p), msg("subscribe", "news.sports", 1))
    expect("psubscribe confirmation", next_message(p), msg("psubscribe", "news.*", 2))

    expect("channel and pattern both receive", r.publish("news.sports", "goal"), 2)
    expect("message", next_message(p), msg("message", "news.sports", "goal"))
    expect("pmessage", next_message(p), msg("pmessage", "news.sports", "goal", "news.*"))
    expect("pattern only", r.publish("news.weather", "rain"), 1)
    expect("pmessage only", next_message(p), msg("pmessage", "news.weather", "rain", "news.*"))
    expect("nobody", r.publish("sports", "x"), 0)

    p.unsubscribe("news.sports")
    expect("unsubscribe confirmation", next_message(p), msg("unsubscribe", "news.sports", 1))
    expect("pattern left after unsubscribe", r.publish("news.sports", "again"), 1)
    expect("pmessage after unsubscribe", next_message(p),
           msg("pmessage", "news.sports", "again", "news.*"))
    p.punsubscribe("news.*")
    expect("punsubscribe confirmation", next_message(p), msg("punsubscribe", "news.*", 0))
    expect("nobody after punsubscribe", r.publish("news.sports", "gone"), 0)
    p.close()

    # Subscribed mode, on the wire.
    c = Client(srv)
    expect("subscribe", c.call("SUBSCRIBE", "news"), [b"subscribe", b"news", 1])
    expect_error("GET while subscribed", c.call("GET", "1"), "ERR",
                 "Can't execute 'get': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT "
                 "are allowed in this context")
    expect_error("PUBLISH while subscribed", c.call("PUBLISH", "news", "x"), "ERR",
                 "Can't execute 'publish': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT "
                 "are allowed in this context")
    c.send("PING")
    expect("PING while subscribed, exact bytes", c.reader.exactly(20),
           b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
    expect("PING hi while subscribed", c.call("PING", "hi"), [b"pong", b"hi"])
    expect("still subscribed after the refusals", r.publish("news", "still"), 1)
    expect("message after the refusals", push(c.read(), "message"), [b"news", b"still"])
    expect("unsubscribe all", c.call("UNSUBSCRIBE"), [b"unsubscribe", b"news", 0])
    expect_error("GET after unsubscribing", c.call("GET", "1"), "NOTFOUND")
    expect("PING after unsubscribing", c.call("PING"), (b"+", b"PONG"))
    r.close()
