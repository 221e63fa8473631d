#!/usr/bin/python3
"""The bad-input suite on the protocol port of a server with users
(--acl-file and --requirepass; docs/protocol.md, "Who may do what"):
before AUTH every command but AUTH, PING, HELP and QUIT gets -NOAUTH,
unknown ones and ones with a bad argument too; wrong passwords get
-WRONGPASS and leave the connection who it was; a command outside the
user's roles gets -NOPERM (after its arity is checked); and until AUTH
succeeds the connection is held to the tighter limits (16 arguments,
16384-byte lines and bulks, 65536 bytes a request), past which it gets
-LIMIT and is closed. HTTP sent here is answered with nothing. Meanwhile
a client's pipeline of orders, as user shop, comes through whole, and
orderd's memory stays within badinput's bound (RSS_GROWTH_MAX)."""
import hashlib
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from badinput import (ACL, ADMIN_PASSWORD, WORKER_PASSWORD, Pipeline, ProtocolCases,  # noqa: E402
                      Rss, asan_env, report)
from harness import Orderd, expect, resp_command  # noqa: E402

NOAUTH = b"-NOAUTH authentication required"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled."
AS_SHOP = b"AUTH shop shop-pw\r\n"
AS_OPS = b"AUTH ops ops-pw\r\n"
AS_WRK = b"AUTH wrk " + WORKER_PASSWORD.encode() + b"\r\n"
OK = b"+OK"


def before_auth(c):
    """Nothing but AUTH, PING, HELP and QUIT, and nothing learnt: unknown
    commands, wrong arities and NUL bytes all get -NOAUTH."""
    for name, data in [
            ("GET", b"GET 1\r\n"),
            ("GET in RESP", resp_command("GET", "1")),
            ("a whole CREATE", b"CREATE customer=mallory item=pen qty=1 amount=1\r\n"),
            ("CREATE without its arguments", b"CREATE\r\n"),
            ("an unknown command", b"NOSUCH\r\n"),
            ("INFO", b"INFO\r\n"),
            ("COMMAND", b"COMMAND\r\n"),
            ("COMMAND DOCS", b"COMMAND DOCS GET\r\n"),
            ("ACL WHOAMI", b"ACL WHOAMI\r\n"),
            ("SUBSCRIBE", b"SUBSCRIBE news\r\n"),
            ("SHUTDOWN", b"SHUTDOWN\r\n"),
            ("a NUL in an argument", resp_command("GET", "1\x00")),
            ("DLQ PURGE", b"DLQ PURGE ALL\r\n")]:
        c.survives("before AUTH: " + name, data, [NOAUTH])
    c.survives("before AUTH: PING", b"PING\r\n", [b"+PONG"])
    c.survives("before AUTH: HELP GET", b"HELP GET\r\n", [b"GET <id> - returns an order"])
    c.fatal("before AUTH: QUIT", b"QUIT\r\n", OK)


def wrong_passwords(c):
    """-WRONGPASS, and the connection stays who it was: anonymous (so
    -NOAUTH next), or the user it was."""
    for name, auth in [
            ("a wrong password for default", b"AUTH wrong"),
            ("a wrong password for shop", b"AUTH shop wrong"),
            ("an empty password", b'AUTH shop ""'),
            ("a user that does not exist", b"AUTH nobody shop-pw"),
            ("a user that is off", b"AUTH gone gone-pw"),
            ("a password's SHA-256 for the password",
             b"AUTH wrk " + hashlib.sha256(WORKER_PASSWORD.encode()).hexdigest().encode()),
            ("a user's name in another case", b"AUTH SHOP shop-pw")]:
        c.survives("AUTH with " + name, auth + b"\r\nGET 1\r\n", [WRONGPASS, NOAUTH])
    c.survives("AUTH with three arguments", b"AUTH shop shop-pw extra\r\n",
               [b"-ERR wrong number of arguments for 'AUTH'"])
    c.survives("AUTH with none", b"AUTH\r\n", [b"-ERR wrong number of arguments for 'AUTH'"])
    c.survives("a wrong password after a right one keeps the user",
               AS_SHOP + b"AUTH shop wrong\r\nACL WHOAMI\r\n", [OK, WRONGPASS, b"shop"])


def roles(c):
    """A command outside the user's roles: -NOPERM, naming the user, its
    roles and the form refused. Arity is checked before roles."""
    for auth, data, who, what in [
            (AS_SHOP, b"DLQ PURGE ALL", b"shop (client)", b"DLQ PURGE"),
            (AS_SHOP, b"UPDATE 1 status=PAID", b"shop (client)", b"UPDATE"),
            (AS_SHOP, b"INFO", b"shop (client)", b"INFO"),
            (AS_SHOP, b"PUBLISH news x", b"shop (client)", b"PUBLISH"),
            (AS_SHOP, b"CONSUME jobs group=g consumer=c", b"shop (client)", b"CONSUME"),
            (AS_SHOP, b"ACL USERS", b"shop (client)", b"ACL USERS"),
            (AS_SHOP, b"SHUTDOWN", b"shop (client)", b"SHUTDOWN"),
            (AS_WRK, b"GET 1", b"wrk (worker)", b"GET"),
            (AS_WRK, b"CREATE customer=w item=pen qty=1 amount=1", b"wrk (worker)", b"CREATE"),
            (AS_WRK, b"SUBSCRIBE news", b"wrk (worker)", b"SUBSCRIBE"),
            (AS_OPS, b"CREATE customer=o item=pen qty=1 amount=1", b"ops (operator)", b"CREATE"),
            (AS_OPS, b"CHANNEL CREATE opsjobs", b"ops (operator)", b"CHANNEL CREATE"),
            (AS_OPS, b"SIM SET payment decline=0", b"ops (operator)", b"SIM SET"),
            (AS_OPS, b"DLQ PURGE ALL", b"ops (operator)", b"DLQ PURGE"),
            (AS_OPS, b"STEP payment.authorize group=payment 1 ok", b"ops (operator)", b"STEP"),
            (AS_OPS, b"CUSTOMER BLOCK pipeline-auth", b"ops (operator)", b"CUSTOMER")]:
        c.survives("%s may not run %s" % (who.decode(), what.decode()), auth + data + b"\r\n",
                   [OK, b"-NOPERM user %s may not run %s" % (who, what)])
    c.survives("a refused command's arity is checked first", AS_SHOP + b"UPDATE 1\r\n",
               [OK, b"-ERR wrong number of arguments for 'UPDATE'"])


def tight_limits(c):
    """Until AUTH succeeds: 16 arguments, 16384-byte lines and bulks,
    65536 bytes of one request; past them -LIMIT and the close. After it,
    the configured limits (here the defaults)."""
    c.survives("16 arguments before AUTH", resp_command("PING", *["a"] * 15),
               [b"-ERR wrong number of arguments for 'PING'"])
    c.fatal("17 arguments before AUTH", resp_command("PING", *["a"] * 16),
            b"-LIMIT too many arguments (max 16)")
    c.fatal("17 inline arguments before AUTH", b"PING" + b" a" * 16 + b"\r\n",
            b"-LIMIT too many arguments (max 16)")
    c.fatal("a header of 17 arguments before AUTH", b"*17\r\n",
            b"-LIMIT too many arguments (max 16)")
    c.survives("a bulk of 16384 bytes before AUTH", resp_command("PING", "b" * 16384),
               [b"$16384", b"b" * 16384])
    c.fatal("a bulk of 16385 bytes before AUTH", resp_command("PING", "b" * 16385),
            b"-LIMIT bulk string exceeds 16384 bytes")
    c.fatal("a bulk header of 16385 bytes before AUTH", b"*2\r\n$4\r\nPING\r\n$16385\r\n",
            b"-LIMIT bulk string exceeds 16384 bytes")
    c.survives("an inline line of 16384 bytes before AUTH", b"PING " + b"x" * 16379 + b"\r\n",
               [b"x" * 16379])
    c.fatal("an inline line of 16385 bytes before AUTH", b"PING " + b"x" * 16380 + b"\r\n",
            b"-LIMIT inline line exceeds 16384 bytes")
    c.fatal("an endless inline line before AUTH", b"PING " + b"x" * 40000,
            b"-LIMIT inline line exceeds 16384 bytes")
    c.fatal("a request over 65536 bytes before AUTH", resp_command("PING", *["r" * 8192] * 8),
            b"-LIMIT request exceeds 65536 bytes")
    c.fatal("AUTH itself over the limits", resp_command("AUTH", "shop", "p" * 16385),
            b"-LIMIT bulk string exceeds 16384 bytes")
    c.fatal("a failed AUTH keeps the tight limits", b"AUTH shop wrong\r\n" +
            resp_command("PING", *["a"] * 16), WRONGPASS, b"-LIMIT too many arguments (max 16)")
    c.survives("17 arguments after AUTH", AS_SHOP + resp_command("PING", *["a"] * 16),
               [OK, b"-ERR wrong number of arguments for 'PING'"])
    c.survives("a bulk of 16385 bytes after AUTH", AS_SHOP + resp_command("PING", "b" * 16385),
               [OK, b"$16385", b"b" * 16385])
    c.survives("a request over 65536 bytes after AUTH",
               AS_SHOP + resp_command("PING", *["r" * 8192] * 8),
               [OK, b"-ERR wrong number of arguments for 'PING'"])
    c.fatal("the configured limits after AUTH", AS_SHOP + resp_command("PING", *["a"] * 1024),
            OK, b"-LIMIT too many arguments (max 1024)")


def http_here(c):
    """HTTP on the protocol port of a server with users: nothing answered,
    not even -NOAUTH, and the connection closed."""
    c.ignored("HTTP before AUTH: a POST with AUTH in its body",
              b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1:7070\r\nContent-Length: 14\r\n\r\n"
              b"AUTH root-pw\r\n")
    c.ignored("HTTP before AUTH: a GET", b"GET /?AUTH%20root-pw HTTP/1.1\r\nHost: x\r\n\r\n")


def main():
    tmp = tempfile.mkdtemp(prefix="orderd-badinput-")
    acl = os.path.join(tmp, "users.acl")
    with open(acl, "w") as f:
        f.write(ACL)
    try:
        with Orderd("--acl-file", acl, "--requirepass", ADMIN_PASSWORD, env=asan_env()) as srv:
            pipeline = Pipeline(srv.connect, "auth", auth=("shop", "shop-pw"))
            pipeline.start()
            c = ProtocolCases(pipeline, srv.connect)
            pipeline.kick()
            pipeline.settle()
            rss = Rss(srv)
            try:
                before_auth(c)
                wrong_passwords(c)
                roles(c)
                tight_limits(c)
                http_here(c)
            finally:
                orders = pipeline.verify()
            # No case made an order: not mallory's before AUTH, nor the
            # worker's or the operator's.
            expect("orders", srv.info(password=ADMIN_PASSWORD)["orders"], str(orders))
            rss.check("test_bad_input_auth")
            report("test_bad_input_auth", [("protocol port with users", c.count)])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
