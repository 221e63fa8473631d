#!/usr/bin/python3
"""The bad-input suite on the protocol port, without users (docs/testing.md,
"The bad-input suite"): every limit, every framing error, the subscribed
mode, a worker's commands, NUL bytes, over-limit sizes, and HTTP sent to
the protocol port, one conversation each, each with its documented error
line. Where framing is lost (a limit, a broken RESP header) the server then
closes the connection; where only one request was bad (an unknown command,
an unterminated quote, a bad argument) the connection goes on, and nothing
else came. An HTTP request is answered with nothing and closed, and
nothing in it runs. Meanwhile a second client's pipeline of orders comes
through whole, and orderd's memory stays within badinput's bound (RSS_GROWTH_MAX).
(With users: test_bad_input_auth.py; TLS: test_bad_input_tls.py; the
HTTP port: test_bad_input_http.py.)"""
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from badinput import Pipeline, ProtocolCases, Rss, asan_env, report, send_quietly  # noqa: E402
from harness import Orderd, Reader, check, expect, resp_command, wait_for  # noqa: E402

SMALL = ["--max-inline", "1024", "--max-bulk", "4096", "--max-args", "16",
         "--max-request", "65536", "--max-message", "1024"]


def small_limit_cases(c, srv):
    # Inline lines: up to --max-inline bytes, CRLF excluded.
    line = b"PING " + b"x" * (1024 - 5)
    c.survives("inline line at the limit", line + b"\r\n", [b"x" * 1019])
    c.survives("inline line at the limit, bare LF", line + b"\n", [b"x" * 1019])
    c.fatal("inline line over the limit", line + b"y\r\n",
            b"-LIMIT inline line exceeds 1024 bytes")
    c.fatal("inline line over the limit, no newline yet", b"PING " + b"x" * 4000,
            b"-LIMIT inline line exceeds 1024 bytes")
    c.fatal("inline line over the limit after good requests",
            b"PING a\r\nPING b\r\n" + b"z" * 2000,
            b"a", b"b", b"-LIMIT inline line exceeds 1024 bytes")

    # Arguments: up to --max-args per request.
    c.survives("16 inline arguments", b"PING" + b" a" * 15 + b"\r\n",
               [b"-ERR wrong number of arguments for 'PING'"])
    c.fatal("17 inline arguments", b"PING" + b" a" * 16 + b"\r\n",
            b"-LIMIT too many arguments (max 16)")
    c.survives("16 RESP arguments", resp_command("PING", *["a"] * 15),
               [b"-ERR wrong number of arguments for 'PING'"])
    c.fatal("17 RESP arguments", resp_command("PING", *["a"] * 16),
            b"-LIMIT too many arguments (max 16)")
    c.fatal("17 RESP arguments, header only", b"*17\r\n",
            b"-LIMIT too many arguments (max 16)")
    c.fatal("multibulk of 2^31-1", b"*2147483647\r\n",
            b"-LIMIT too many arguments (max 16)")

    # Bulk strings: up to --max-bulk bytes.
    c.survives("bulk at the limit", resp_command("PING", "b" * 4096),
               [b"$4096", b"b" * 4096])
    c.fatal("bulk over the limit", resp_command("PING", "b" * 4097),
            b"-LIMIT bulk string exceeds 4096 bytes")
    c.fatal("bulk over the limit, header only", b"*2\r\n$4\r\nPING\r\n$4097\r\n",
            b"-LIMIT bulk string exceeds 4096 bytes")

    # A whole request: up to --max-request bytes. 16 bulks of 4096 bytes
    # are each within their limits, and together over it.
    big = resp_command(*["r" * 4096] * 16)
    check("the big request is over 64 KiB", len(big) > 65536)
    c.fatal("request over --max-request", big, b"-LIMIT request exceeds 65536 bytes")
    c.fatal("request over --max-request, sent whole twice", big + big,
            b"-LIMIT request exceeds 65536 bytes")
    ok = resp_command("PING", *["r" * 4096] * 14)
    check("the near request is under 64 KiB", len(ok) < 65536)
    c.survives("request under --max-request", ok,
               [b"-ERR wrong number of arguments for 'PING'"])

    broken_framing_cases(c)
    survivable_cases(c)


def broken_framing_cases(c):
    c.fatal("negative multibulk length", b"*-2\r\n",
            b"-ERR Protocol error: invalid multibulk length")
    c.fatal("null multibulk", b"*-1\r\n",
            b"-ERR Protocol error: invalid multibulk length")
    c.fatal("multibulk length not a number", b"*abc\r\n",
            b"-ERR Protocol error: invalid multibulk length")
    c.fatal("multibulk length without digits", b"*\r\n",
            b"-ERR Protocol error: invalid multibulk length")
    c.fatal("multibulk length with LF only", b"*1\n$4\r\nPING\r\n",
            b"-ERR Protocol error: invalid multibulk length")
    c.fatal("multibulk length of 20 digits", b"*99999999999999999999\r\n",
            b"-ERR Protocol error: invalid multibulk length")
    c.fatal("multibulk length of endless digits", b"*" + b"0" * 100,
            b"-ERR Protocol error: invalid multibulk length")
    # A length is written one way: these are not empty arrays or PINGs.
    for bad in (b"*00", b"*-0", b"*01\r\n$4\r\nPING"):
        c.fatal("multibulk length %r" % bad, bad + b"\r\n",
                b"-ERR Protocol error: invalid multibulk length")
    c.fatal("bulk length with a leading zero", b"*1\r\n$04\r\nPING\r\n",
            b"-ERR Protocol error: invalid bulk length")
    c.fatal("negative bulk length", b"*1\r\n$-7\r\n",
            b"-ERR Protocol error: invalid bulk length")
    c.fatal("null bulk", b"*1\r\n$-1\r\n",
            b"-ERR Protocol error: invalid bulk length")
    c.fatal("bulk length of 20 digits", b"*1\r\n$99999999999999999999\r\n",
            b"-ERR Protocol error: invalid bulk length")
    c.fatal("bulk length not a number", b"*1\r\n$4x\r\nPING\r\n",
            b"-ERR Protocol error: invalid bulk length")
    c.fatal("not a bulk", b"*1\r\n:4\r\n",
            b"-ERR Protocol error: expected '$', got ':'")
    c.fatal("not a bulk, a control byte", b"*1\r\n\x01",
            b"-ERR Protocol error: expected '$', got '\\x01'")
    c.fatal("bulk too long for its length", b"*1\r\n$4\r\nPINGS\r\n",
            b"-ERR Protocol error: bulk string not followed by CRLF")
    c.fatal("good requests, then broken framing",
            b"PING a\r\n" + resp_command("PING", "b") + b"*1\r\n$-7\r\nPING c\r\n",
            b"a", b"$1", b"b", b"-ERR Protocol error: invalid bulk length")


def survivable_cases(c):
    c.survives("garbage and NUL bytes", b"\x00\x01\xff garbage\r\n",
               [b"-ERR unknown command '\\x00\\x01\\xff'"])
    c.survives("unterminated double quote", b'PING "abc\r\n',
               [b"-ERR Protocol error: unterminated quote"])
    c.survives("unterminated single quote", b"PING 'abc\r\n",
               [b"-ERR Protocol error: unterminated quote"])
    c.survives("invalid escape", b'PING "a\\qb"\r\n',
               [b"-ERR Protocol error: invalid escape in double quotes"])
    c.survives("short hex escape", b'PING "\\x4"\r\n',
               [b"-ERR Protocol error: invalid escape in double quotes"])
    c.survives("bad lines between good ones",
               b'PING one\r\nPING "two\r\nPING three\r\n\x7f\r\nPING four\r\n',
               [b"one", b"-ERR Protocol error: unterminated quote", b"three",
                b"-ERR unknown command '\\x7f'", b"four"])
    c.survives("blank lines and empty arrays", b"\r\n\n  \t \r\n*0\r\nPING x\r\n",
               [b"x"])
    # A NUL is never cut at: the whole argument is refused, whatever the
    # command (GET, SAGA, CUSTOMER BLOCK, CHANNEL INFO, SIM SET...).
    for cmd in (("GET", "1\x00"), ("SAGA", "1\x00"), ("CHANNEL", "INFO\x00", "x"),
                ("SIM", "SET", "payment\x00x", "decline=0")):
        c.survives("NUL inside %s's argument" % cmd[0], resp_command(*cmd),
                   [b"-BADARG argument %d contains a NUL byte: '%s'"
                    % (next(i for i, a in enumerate(cmd) if "\x00" in a),
                       next(a for a in cmd if "\x00" in a).replace("\x00", "\\x00").encode())])
    c.survives("NUL inside a blocked customer's name",
               resp_command("CUSTOMER", "BLOCK", "a\x00b") + resp_command("CUSTOMER", "BLOCK", "a"),
               [b"-BADARG argument 2 contains a NUL byte: 'a\\x00b'", b"+OK"])
    c.survives("NUL inside a field", resp_command(
               "CREATE", "customer=a\x00b", "item=i", "qty=1", "amount=1"),
               [b"-BADARG field 'customer' contains a NUL byte"])
    c.survives("control byte in a name", resp_command(
               "CREATE", "customer=a\x01b", "item=i", "qty=1", "amount=1"),
               [b"-BADARG customer must not contain control characters"])
    c.survives("a very long unknown command", b"Q" * 1000 + b"\r\n",
               [b"-ERR unknown command '" + b"Q" * 92 + b"...'"])
    # Names end up in Prometheus labels, which must be UTF-8.
    c.survives("a channel name that is not UTF-8",
               resp_command("CHANNEL", "CREATE", b"bad\xff"),
               [b"-BADARG channel must be UTF-8"])
    c.survives("a group name that is not UTF-8",
               resp_command("CHANNEL", "CREATE", "ok") +
               resp_command("CONSUME", "ok", b"group=g\xc3", "consumer=c"),
               [b"+OK", b"-BADARG group must be UTF-8"])


def replies_before_the_error(c, srv, name, bad):
    """Replies already produced before a fatal error are delivered, then
    the error line, then the connection closes: even when the client sent
    more than the server read, and has not read its replies yet."""
    c.begin()
    payload = b"p" * 2000
    count = 200  # 400 KB of replies: more than a socket holds unread
    other = srv.redis()

    def errors():
        flat = other.execute_command("METRICS")
        return int(dict(zip(flat[::2], flat[1::2]))["total_errors"])
    before = errors()
    s = srv.connect()
    send_quietly(s, b"PING %s\r\n" % payload * count + bad + b"x" * (1 << 20))
    # Read nothing until the server has answered the bad request.
    wait_for("the error reply", lambda: errors() > before)
    other.close()
    rd = Reader(s)
    for i in range(count):
        got = rd.line()
        if got != payload + b"\r\n":
            raise AssertionError("%s: reply %d of %d lost: got %r, then %s" % (
                name, i + 1, count, got[:40], "a reset" if rd.reset else "EOF"))
    expect(name, rd.line(), b"-ERR Protocol error: invalid multibulk length\r\n"
           if bad.startswith(b"*") else b"-LIMIT inline line exceeds 65536 bytes\r\n")
    check(name + ": connection closed", rd.closed(timeout=10))
    expect(name + ": closed by an orderly EOF, not a reset", rd.reset, False)
    s.close()
    c.end()


def default_limit_cases(c, srv):
    # Over 64 KiB with no newline: refused before the line ends.
    c.fatal("inline line over 64 KiB, no newline", b"PING " + b"x" * (100 * 1024),
            b"-LIMIT inline line exceeds 65536 bytes")
    line = b"PING " + b"x" * (65536 - 5)
    c.survives("inline line of 64 KiB", line + b"\r\n", [b"x" * (65536 - 5)])
    c.fatal("inline line of 64 KiB and one byte", line + b"y\r\n",
            b"-LIMIT inline line exceeds 65536 bytes")
    c.fatal("multibulk of 2^31-1 at defaults", b"*2147483647\r\n",
            b"-LIMIT too many arguments (max 1024)")
    c.fatal("bulk of 1 MiB and one byte at defaults",
            b"*2\r\n$4\r\nPING\r\n$1048577\r\n", b"-LIMIT bulk string exceeds 1048576 bytes")
    c.fatal("bulk length of 20 digits at defaults", b"*1\r\n$99999999999999999999\r\n",
            b"-ERR Protocol error: invalid bulk length")
    c.survives("garbage at defaults", b"\x00\x01\xff garbage\r\n",
               [b"-ERR unknown command '\\x00\\x01\\xff'"])
    replies_before_the_error(c, srv, "pipelined replies, then a broken header", b"*-2\r\n")
    replies_before_the_error(c, srv, "pipelined replies, then a line too long", b"y" * 70000)


def request_limit_cases(c, srv):
    # --max-request below --max-inline: an unfinished line is bounded by
    # the request limit.
    line = b"PING " + b"x" * 60000
    c.survives("inline line under --max-request", line + b"\r\n", [b"x" * 60000])
    c.fatal("inline line over --max-request, no newline yet", b"PING " + b"x" * 200000,
            b"-LIMIT request exceeds 65536 bytes")




def more_framing_cases(c):
    """RESP headers broken in other ways, and requests the client's EOF cuts
    short: nothing is run or answered for those."""
    c.fatal("a simple string where a bulk goes", b"*1\r\n+PING\r\n",
            b"-ERR Protocol error: expected '$', got '+'")
    c.fatal("an array inside an array", b"*2\r\n$4\r\nPING\r\n*1\r\n",
            b"-ERR Protocol error: expected '$', got '*'")
    c.fatal("a blank after a multibulk length", b"*1 \r\n",
            b"-ERR Protocol error: invalid multibulk length")
    c.fatal("a plus sign in a multibulk length", b"*+1\r\n",
            b"-ERR Protocol error: invalid multibulk length")
    c.fatal("a blank in a bulk length", b"*1\r\n$ 4\r\nPING\r\n",
            b"-ERR Protocol error: invalid bulk length")
    c.fatal("a plus sign in a bulk length", b"*1\r\n$+4\r\nPING\r\n",
            b"-ERR Protocol error: invalid bulk length")
    c.fatal("a bulk ended by LF alone", b"*1\r\n$4\r\nPING\nX",
            b"-ERR Protocol error: bulk string not followed by CRLF")
    c.fatal("a bulk run into the next request", b"*1\r\n$4\r\nPING*1\r\n$4\r\nPING\r\n",
            b"-ERR Protocol error: bulk string not followed by CRLF")
    c.survives("a bulk header alone is an inline line", b"$4\r\nPING\r\n",
               [b"-ERR unknown command '$4'", b"+PONG"])
    c.truncated("a RESP request cut short by the client's EOF",
                resp_command("PING", "a") + b"*2\r\n$4\r\nPING\r\n$1", b"$1", b"a")
    c.truncated("an inline line cut short by the client's EOF", b"PING a\r\nPING b", b"a")
    c.truncated("a multibulk header cut short by the client's EOF", b"*2")


def nul_and_size_cases(c):
    """NUL bytes where text goes and where payloads go; fields over their
    documented sizes (docs/protocol.md, Limits: field limits)."""
    c.survives("a NUL inside an inline argument", b"GET 1\x00\r\n",
               [b"-BADARG argument 1 contains a NUL byte: '1\\x00'"])
    c.survives("a NUL inside a command's name", resp_command("PI\x00NG"),
               [b"-ERR unknown command 'PI\\x00NG'"])
    c.survives("a NUL inside an idempotency key", resp_command(
               "CREATE", "customer=a", "item=b", "qty=1", "amount=1", "key=k\x00"),
               [b"-BADARG field 'key' contains a NUL byte"])
    c.survives("a NUL in PING's payload is kept", resp_command("PING", "a\x00b"),
               [b"$3", b"a\x00b"])
    c.survives("a NUL from an inline escape is kept, and shown quoted", b'PING "a\\x00b"\r\n',
               [b'"a\\x00b"'])
    long = b"c" * 257
    c.survives("a customer over 256 bytes",
               b"CREATE customer=" + long + b" item=b qty=1 amount=1\r\n",
               [b"-BADARG customer is longer than 256 bytes"])
    c.survives("an item over 256 bytes", b"CREATE customer=a item=" + long + b" qty=1 amount=1\r\n",
               [b"-BADARG item is longer than 256 bytes"])
    c.survives("an idempotency key over 256 bytes",
               b"CREATE customer=a item=b qty=1 amount=1 key=" + long + b"\r\n",
               [b"-BADARG key is longer than 256 bytes"])
    c.survives("a reason over 1024 bytes", resp_command("CANCEL", "1", "reason=" + "r" * 1025),
               [b"-BADARG reason is longer than 1024 bytes"])
    c.survives("qty over 10^9", b"CREATE customer=a item=b qty=1000000001 amount=1\r\n",
               [b"-BADARG qty must be an integer from 1 to 1000000000, got '1000000001'"])
    c.survives("an amount over 2^63-1 minor units",
               b"CREATE customer=a item=b qty=1 amount=9223372036854775808 currency=JPY\r\n",
               [b"-BADARG amount '9223372036854775808' is too large"])
    c.survives("more decimals than the currency has",
               b"CREATE customer=a item=b qty=1 amount=1.999\r\n",
               [b"-BADARG amount '1.999' has more decimals than the currency allows"])
    c.survives("a page over 1000", b"LIST limit=1001\r\n",
               [b"-BADARG limit must be an integer from 1 to 1000"])
    c.survives("a message over --max-message",
               b"CHANNEL CREATE jobs\r\n" + resp_command("PUBLISH", "jobs", "m" * 1025),
               [b"+OK", b"-LIMIT message of 1025 bytes is over --max-message (1024)"])
    c.survives("a durable channel's name over 252 bytes", b"CHANNEL CREATE " + b"d" * 253 + b"\r\n",
               [b"-BADARG a durable channel's name is at most 252 bytes (its dead letters go "
                b"to <name>.DLT)"])
    c.survives("a channel's name over 256 bytes", b"PUBLISH " + long + b" x\r\n",
               [b"-BADARG channel is longer than 256 bytes"])


CANT = (b"only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT are allowed in this context")
SUBSCRIBED_RESP = [b"*3", b"$9", b"subscribe", b"$4", b"news", b":1"]
SUBSCRIBED_TEXT = [b"SUBSCRIBE news 1"]


def cant(cmd):
    return b"-ERR Can't execute '%s': %s" % (cmd, CANT)


def subscribed_cases(c):
    """A subscribed client may run (P)SUBSCRIBE, (P)UNSUBSCRIBE, PING and
    QUIT; anything else is refused, and the subscription goes on. PING is
    answered as Redis does: a push to a RESP client, +PONG to an inline
    one."""
    sub_resp = resp_command("SUBSCRIBE", "news")
    c.survives("subscribed (inline): GET", b"SUBSCRIBE news\r\nGET 1\r\n",
               SUBSCRIBED_TEXT + [cant(b"get")])
    c.survives("subscribed (RESP): GET", sub_resp + resp_command("GET", "1"),
               SUBSCRIBED_RESP + [cant(b"get")])
    c.survives("subscribed (RESP): PING is a push", sub_resp + resp_command("PING"),
               SUBSCRIBED_RESP + [b"*2", b"$4", b"pong", b"$0", b""])
    c.survives("subscribed (RESP): PING with a message", sub_resp + resp_command("PING", "x"),
               SUBSCRIBED_RESP + [b"*2", b"$4", b"pong", b"$1", b"x"])
    c.survives("subscribed (inline): PING is +PONG", b"SUBSCRIBE news\r\nPING\r\n",
               SUBSCRIBED_TEXT + [b"+PONG"])
    c.survives("subscribed: CREATE without its arguments", b"SUBSCRIBE news\r\nCREATE\r\n",
               SUBSCRIBED_TEXT + [cant(b"create")])
    c.survives("subscribed: PUBLISH", b"SUBSCRIBE news\r\nPUBLISH news x\r\n",
               SUBSCRIBED_TEXT + [cant(b"publish")])
    c.survives("subscribed: HELP", b"SUBSCRIBE news\r\nHELP\r\n", SUBSCRIBED_TEXT + [cant(b"help")])
    c.survives("subscribed: an unknown command", b"SUBSCRIBE news\r\nFOO\r\n",
               SUBSCRIBED_TEXT + [b"-ERR unknown command 'FOO'"])
    c.survives("subscribed: PING with two messages", b"SUBSCRIBE news\r\nPING a b\r\n",
               SUBSCRIBED_TEXT + [b"-ERR wrong number of arguments for 'PING'"])
    c.survives("subscribed: SUBSCRIBE without a channel", b"SUBSCRIBE news\r\nSUBSCRIBE\r\n",
               SUBSCRIBED_TEXT + [b"-ERR wrong number of arguments for 'SUBSCRIBE'"])
    c.survives("subscribed: AUTH on a server without users", b"SUBSCRIBE news\r\nAUTH pw\r\n",
               SUBSCRIBED_TEXT + [b"-ERR AUTH called without any password configured: orderd "
                                  b"runs without --requirepass or --acl-file"])
    c.survives("a channel over 256 bytes subscribes to nothing",
               b"SUBSCRIBE " + b"c" * 257 + b"\r\nGET 999999999\r\n",
               [b"-BADARG channel is longer than 256 bytes",
                b"-NOTFOUND order 999999999 does not exist"])
    c.survives("a pattern over 256 bytes subscribes to nothing",
               b"PSUBSCRIBE " + b"p" * 257 + b"\r\nGET 999999999\r\n",
               [b"-BADARG pattern is longer than 256 bytes",
                b"-NOTFOUND order 999999999 does not exist"])
    c.survives("after UNSUBSCRIBE, commands run again",
               b"SUBSCRIBE news\r\nUNSUBSCRIBE news\r\nGET 999999999\r\n",
               SUBSCRIBED_TEXT + [b"UNSUBSCRIBE news 0", b"-NOTFOUND order 999999999 does not exist"])
    c.fatal("subscribed, then a broken RESP header", b"SUBSCRIBE news\r\n*-2\r\n",
            *SUBSCRIBED_TEXT, b"-ERR Protocol error: invalid multibulk length")
    c.fatal("subscribed, then QUIT", b"SUBSCRIBE news\r\nQUIT\r\n", *SUBSCRIBED_TEXT, b"+OK")


def worker_cases(c, srv):
    """A worker's commands with bad arguments, group names and ids, on the
    durable channel jobs (group g) and the saga's payment.authorize (group
    payment). Nothing is consumed, settled or answered by any of them."""
    s = srv.connect()
    s.sendall(b"CHANNEL CREATE jobs\r\nCONSUME jobs group=g consumer=setup\r\n")
    rd = Reader(s)
    expect("jobs declared", rd.line(), b"+OK\r\n")
    expect("group g made", rd.line(), b"*0\r\n")
    s.close()

    def bad(name, line, want):
        c.survives(name, line if line.startswith(b"*") else line + b"\r\n", [want])

    # CONSUME <ch> group=<g> consumer=<name> [count=<n>] [block=<ms>]
    bad("CONSUME with a channel only", b"CONSUME jobs",
        b"-ERR wrong number of arguments for 'CONSUME'")
    bad("CONSUME without a consumer", b"CONSUME jobs group=g",
        b"-ERR wrong number of arguments for 'CONSUME'")
    bad("CONSUME of a channel never declared", b"CONSUME nosuch group=g consumer=c",
        b"-NOTFOUND channel nosuch is not durable (CHANNEL CREATE it first)")
    bad("CONSUME with a bare word", b"CONSUME jobs group=g c",
        b"-BADARG expected key=value, got 'c'")
    bad("CONSUME without consumer=", b"CONSUME jobs group=g count=1",
        b"-BADARG missing field 'consumer'")
    bad("CONSUME count=0", b"CONSUME jobs group=g consumer=c count=0",
        b"-BADARG count must be an integer from 1 to 1000")
    bad("CONSUME count=1001", b"CONSUME jobs group=g consumer=c count=1001",
        b"-BADARG count must be an integer from 1 to 1000")
    bad("CONSUME count=x", b"CONSUME jobs group=g consumer=c count=x",
        b"-BADARG count must be an integer from 1 to 1000")
    bad("CONSUME block=-1", b"CONSUME jobs group=g consumer=c block=-1",
        b"-BADARG block must be milliseconds, from 0 to 86400000")
    bad("CONSUME block over a day", b"CONSUME jobs group=g consumer=c block=86400001",
        b"-BADARG block must be milliseconds, from 0 to 86400000")
    bad("CONSUME with an empty group", b"CONSUME jobs group= consumer=c",
        b"-BADARG group must not be empty")
    bad("CONSUME with a blank in the group", b'CONSUME jobs "group=a b" consumer=c',
        b"-BADARG group must not contain spaces or control characters")
    bad("CONSUME with a group over 256 bytes", b"CONSUME jobs group=" + b"g" * 257 + b" consumer=c",
        b"-BADARG group is longer than 256 bytes")
    bad("CONSUME with a consumer that is not UTF-8",
        resp_command("CONSUME", "jobs", "group=g", b"consumer=\xff"),
        b"-BADARG consumer must be UTF-8")
    bad("CONSUME with an unknown field", b"CONSUME jobs group=g consumer=c colour=red",
        b"-BADARG unknown field 'colour'")
    bad("CONSUME with group= twice", b"CONSUME jobs group=g group=h consumer=c",
        b"-BADARG field 'group' given twice")
    # ACK <ch> group=<g> <id>...
    bad("ACK without an id", b"ACK jobs group=g", b"-ERR wrong number of arguments for 'ACK'")
    bad("ACK of a word", b"ACK jobs group=g abc",
        b"-BADARG message id must be a positive integer, got 'abc'")
    bad("ACK of id 0", b"ACK jobs group=g 0", b"-BADARG message id must be a positive integer, got '0'")
    bad("ACK of a negative id", b"ACK jobs group=g -1",
        b"-BADARG message id must be a positive integer, got '-1'")
    bad("ACK of an id over 2^64-1", b"ACK jobs group=g 18446744073709551616",
        b"-BADARG message id must be a positive integer, got '18446744073709551616'")
    bad("ACK without group=", b"ACK jobs 1 2", b"-BADARG missing field 'group'")
    bad("ACK in a group that does not exist", b"ACK jobs group=nosuch 1",
        b"-NOTFOUND group nosuch does not exist on channel jobs (CONSUME creates it)")
    bad("ACK in a group of control bytes", resp_command("ACK", "jobs", b"group=\x01\xff", "1"),
        b"-NOTFOUND group \\x01\\xff does not exist on channel jobs (CONSUME creates it)")
    bad("ACK with an unknown field", b"ACK jobs group=g 1 x=1", b"-BADARG unknown field 'x'")
    bad("ACK of an id never delivered", b"ACK jobs group=g 999", b":0")
    # NACK <ch> group=<g> <id> [delay=<ms>] [reason=<text>]
    bad("NACK of two ids", b"NACK jobs group=g 1 2", b"-ERR wrong number of arguments for 'NACK'")
    bad("NACK delay=-1", b"NACK jobs group=g 1 delay=-1",
        b"-BADARG delay must be milliseconds, from 0 to 86400000")
    bad("NACK with a reason over 1024 bytes",
        resp_command("NACK", "jobs", "group=g", "1", "reason=" + "r" * 1025),
        b"-BADARG reason is longer than 1024 bytes")
    bad("NACK with an unknown field", b"NACK jobs group=g 1 colour=red",
        b"-BADARG unknown field 'colour'")
    bad("NACK of an id not in flight", b"NACK jobs group=g 999", b":0")
    # PENDING, READ
    bad("PENDING without a group", b"PENDING jobs", b"-ERR wrong number of arguments for 'PENDING'")
    bad("PENDING limit=0", b"PENDING jobs group=g limit=0",
        b"-BADARG limit must be an integer from 1 to 1000")
    bad("PENDING of a group over 256 bytes", b"PENDING jobs group=" + b"g" * 300,
        b"-NOTFOUND group " + b"g" * 92 + b"... does not exist on channel jobs (CONSUME creates it)")
    bad("READ count=0", b"READ jobs count=0", b"-BADARG count must be an integer from 1 to 1000")
    bad("READ from=-1", b"READ jobs from=-1",
        b"-BADARG from must be an offset (a non-negative integer)")
    # STEP <ch> group=<g> <id> ok|fail|retry|progress [reason=...] ...
    bad("STEP on a channel that is not a step's", b"STEP jobs group=g 1 ok",
        b"-BADARG jobs is not a saga step channel (HELP STEP)")
    bad("STEP on a channel that does not exist", b"STEP nosuch.step group=g 1 ok",
        b"-BADARG nosuch.step is not a saga step channel (HELP STEP)")
    bad("STEP without an outcome", b"STEP payment.authorize group=payment 1",
        b"-ERR wrong number of arguments for 'STEP'")
    bad("STEP with an unknown outcome", b"STEP payment.authorize group=payment 1 maybe",
        b"-BADARG unexpected 'maybe' (STEP <ch> group=<g> <id> ok|fail|retry|progress "
        b"[reason=...])")
    bad("STEP with two outcomes", b"STEP payment.authorize group=payment ok fail",
        b"-BADARG unexpected 'fail' (STEP <ch> group=<g> <id> ok|fail|retry|progress "
        b"[reason=...])")
    bad("STEP with control bytes for an outcome",
        resp_command("STEP", "payment.authorize", "group=payment", "1", b"\x01\xff"),
        b"-BADARG unexpected '\\x01\\xff' (STEP <ch> group=<g> <id> ok|fail|retry|progress "
        b"[reason=...])")
    bad("STEP without group=", b"STEP payment.authorize 1 ok reason=x",
        b"-BADARG STEP needs group=<g>, a message id and an outcome")
    bad("STEP in a group that does not exist", b"STEP payment.authorize group=nosuch 1 ok",
        b"-NOTFOUND group nosuch does not exist on channel payment.authorize")
    bad("STEP of a message never sent", b"STEP payment.authorize group=payment 999999999 ok",
        b"-NOTFOUND message 999999999 is not in flight in group payment")
    bad("STEP eta=abc", b"STEP payment.authorize group=payment 999999999 ok eta=abc",
        b"-BADARG eta must be milliseconds from now")
    bad("STEP with an unknown field", b"STEP payment.authorize group=payment 999999999 ok colour=x",
        b"-BADARG unknown field 'colour'")
    # CHANNEL CREATE's settings
    bad("CHANNEL with another word", b"CHANNEL DROP jobs", b"-BADARG CHANNEL takes CREATE or INFO")
    bad("CHANNEL CREATE maxlen=-1", b"CHANNEL CREATE jobs2 maxlen=-1",
        b"-BADARG maxlen must be an integer from 0 (no limit) to 100000000")
    bad("CHANNEL CREATE again with other settings", b"CHANNEL CREATE jobs maxlen=5",
        b"-CONFLICT channel jobs exists with other settings (CHANNEL INFO jobs)")


# What a web page could make a browser send to 127.0.0.1:7070, the commands
# hidden in the body and the headers (docs/protocol.md, "HTTP sent to the
# protocol port"): none of it runs, nothing is answered.
HTTP_ON_THE_PROTOCOL_PORT = [
    ("a POST with commands in its body",
     b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1:7070\r\nContent-Type: text/plain\r\n"
     b"Content-Length: 60\r\n\r\nCREATE customer=evil item=x qty=1 amount=1\r\nDLQ PURGE ALL\r\n"),
    ("a GET with a command in its URL",
     b"GET /?CREATE%20customer=evil HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    ("a PUT of HTTP/1.0", b"PUT / HTTP/1.0\r\n\r\nCREATE customer=evil item=x qty=1 amount=1\r\n"),
    ("a Host: line first", b"Host: 127.0.0.1:7070\r\nCREATE customer=evil item=x qty=1 amount=1\r\n"),
    ("POST in RESP framing",
     b"*1\r\n$4\r\nPOST\r\n*5\r\n$6\r\nCREATE\r\n$13\r\ncustomer=evil\r\n$6\r\nitem=x\r\n"
     b"$5\r\nqty=1\r\n$8\r\namount=1\r\n"),
]


def http_cases(c):
    for name, data in HTTP_ON_THE_PROTOCOL_PORT:
        c.ignored("HTTP on the protocol port: " + name, data)


def small_server_cases(c, srv):
    small_limit_cases(c, srv)
    more_framing_cases(c)
    nul_and_size_cases(c)
    subscribed_cases(c)
    worker_cases(c, srv)
    http_cases(c)


def many_arguments_at_defaults(c, srv):
    default_limit_cases(c, srv)
    c.survives("1024 RESP arguments at defaults", resp_command("PING", *["a"] * 1023),
               [b"-ERR wrong number of arguments for 'PING'"])
    c.fatal("1025 RESP arguments at defaults", resp_command("PING", *["a"] * 1024),
            b"-LIMIT too many arguments (max 1024)")
    c.fatal("1025 inline arguments at defaults", b"PING" + b" a" * 1024 + b"\r\n",
            b"-LIMIT too many arguments (max 1024)")


def run(flags, cases, tag):
    """One server: its cases, the pipeline alongside, the memory bound.
    Returns how many cases ran."""
    with Orderd(*flags, env=asan_env()) as srv:
        pipeline = Pipeline(srv.connect, tag)
        pipeline.start()
        c = ProtocolCases(pipeline, srv.connect)
        # The first batch before measuring: the server has warmed up.
        pipeline.kick()
        pipeline.settle()
        rss = Rss(srv)
        try:
            cases(c, srv)
        finally:
            # Checked even when a case failed: the two are independent.
            orders = pipeline.verify()
        # Nothing else made an order: no case, no HTTP request.
        expect("orders", srv.info()["orders"], str(orders))
        rss.check("test_bad_input (%s)" % tag)
        return c.count


# Each configuration runs even if an earlier one failed; all failures show.
failed = 0
counts = []
for flags, cases, tag in [
        (SMALL, small_server_cases, "small"),
        ([], many_arguments_at_defaults, "default"),
        (["--max-inline", "1000000", "--max-request", "65536"], request_limit_cases, "request")]:
    try:
        counts.append((tag, run(flags, cases, tag)))
    except Exception:  # noqa: BLE001 - reported, then the next configuration
        failed += 1
        print("FAIL with %s:" % (" ".join(flags) or "default limits"), file=sys.stderr)
        traceback.print_exc()
if not failed:
    report("test_bad_input", counts)
sys.exit(1 if failed else 0)
