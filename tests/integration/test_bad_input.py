#!/usr/bin/python3
"""The bad-input suite on the protocol port, without users: every limit and
every framing error, one conversation each, each with its documented error
line. Where framing is lost (a limit, a broken RESP header) the server then
closes the connection; where only one inline line was bad (an unknown
command, an unterminated quote) the connection goes on, and nothing else
came. Meanwhile a second client's pipeline of orders comes through whole,
and orderd's memory stays within badinput's bound (RSS_GROWTH_MAX)."""
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from badinput import Pipeline, ProtocolCases, Rss, asan_env, report, send_quietly  # noqa: E402
from harness import Orderd, Reader, check, expect, resp_command, wait_for  # noqa: E402

SMALL = ["--max-inline", "1024", "--max-bulk", "4096", "--max-args", "16",
         "--max-request", "65536"]


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
        # Nothing else made an order.
        expect("orders", srv.info()["orders"], str(orders))
        rss.check("test_bad_input (%s)" % tag)
        return c.count


# Each configuration runs even if an earlier one failed; all failures show.
failed = 0
counts = []
for flags, cases, tag in [
        (SMALL, small_limit_cases, "small"),
        ([], default_limit_cases, "default"),
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
