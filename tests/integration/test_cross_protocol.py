#!/usr/bin/python3
"""Cross-protocol defence: an HTTP request sent to the protocol port (a
browser made to POST to 127.0.0.1:7070, or curl at the wrong port) is
refused and its connection closed before any line of it runs, with or
without users; other clients are not affected; it is logged and counted."""
# stores: journal postgres
from harness import Orderd, Reader, check, expect, wait_for

# What a page's form or fetch() would send: the commands hide in the body
# and the headers.
ATTACKS = [
    b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1:7070\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 60\r\n\r\nCREATE customer=evil item=x qty=1 amount=1\r\nDLQ PURGE ALL\r\n",
    b"GET /?CREATE%20customer=evil HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"PUT / HTTP/1.0\r\n\r\nCREATE customer=evil item=x qty=1 amount=1\r\n",
    # A request line the parser cannot see whole before the Host: line.
    b"Host: 127.0.0.1:7070\r\nCREATE customer=evil item=x qty=1 amount=1\r\n",
    # RESP framing of POST, as Redis also refuses.
    b"*1\r\n$4\r\nPOST\r\n*5\r\n$6\r\nCREATE\r\n$13\r\ncustomer=evil\r\n$6\r\nitem=x\r\n"
    b"$5\r\nqty=1\r\n$8\r\namount=1\r\n",
]


def attack(srv, payload, split):
    """Sends payload (in two writes when split) and returns what came back
    before the server closed the connection."""
    s = srv.connect()
    if split:
        s.sendall(payload[:7])
        s.sendall(payload[7:])
    else:
        s.sendall(payload)
    rd = Reader(s)
    check("the connection is closed", rd.closed())
    return bytes(rd.buf)


for flags in ([], ["--requirepass", "pw"]):
    with Orderd(*flags) as srv:
        kw = {"password": "pw"} if flags else {}
        bystander = srv.redis(**kw)
        bystander.execute_command("CREATE", "customer=bob", "item=pen", "qty=1", "amount=1")
        for i, payload in enumerate(ATTACKS):
            for split in (False, True):
                got = attack(srv, payload, split)
                expect("attack %d (split %s) gets nothing back" % (i, split), got, b"")
        m = srv.info(**kw)
        expect("nothing of it ran: one order", m["orders"], "1")
        expect("counted", m["http_on_protocol_port"], str(2 * len(ATTACKS)))
        check("logged", "event=http_on_protocol_port" in srv.log(), srv.log()[-400:])
        # The bystander goes on.
        expect("a bystander is served", bystander.execute_command("GET", "1")[1], 1)
        # Commands that merely resemble HTTP still run.
        s = srv.connect()
        if flags:
            s.sendall(b"AUTH pw\r\n")
        s.sendall(b"PUBLISH news HTTP/1.1\r\nGET 1\r\n")
        rd = Reader(s)
        if flags:
            expect("AUTH", rd.line(), b"+OK\r\n")
        expect("PUBLISH ... HTTP/1.1 runs", rd.line(), b":0\r\n")
        check("GET 1 runs", rd.line().startswith(b"id="))
print("test_cross_protocol: ok")
