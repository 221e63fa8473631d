#!/usr/bin/python3
"""Who may do what, over the wire: a server with users refuses anonymous
requests (NOAUTH), wrong passwords (WRONGPASS, logged and counted) and
commands outside a user's roles (NOPERM), with python3-redis and with
redis-cli; hashed and disabled users; an unauthenticated client is held to
tight limits; /metrics wants credentials (Basic or Bearer), /healthz and
/readyz do not."""
# stores: journal postgres
import base64
import hashlib
import os
import re
import subprocess
import urllib.error
import urllib.request

import redis

from harness import Orderd, Reader, check, expect, resp_command, wait_for

WORKER_PW = "w0rk-pw"
ACL = """# orderd users for test_auth
user ops on >ops-pw +@operator
user shop on >shop-pw +@client
user wrk on #%s +@worker
user gone off >gone-pw +@admin
user multi on >multi-pw +@client +@worker
""" % hashlib.sha256(WORKER_PW.encode()).hexdigest()


def error_of(fn):
    """The error text fn() raises, or None."""
    try:
        fn()
    except redis.exceptions.RedisError as e:
        return str(e)
    return None


def http_get(port, path, auth=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def redis_cli(port, *args):
    out = subprocess.run(["redis-cli", "--no-auth-warning", "-p", str(port)] + list(args),
                         capture_output=True, text=True, timeout=20)
    return (out.stdout + out.stderr).strip()


def run_test(acl_path):
    with Orderd("--acl-file", acl_path, "--requirepass", "root-pw") as srv:
        port = srv.port
        # --- anonymous -----------------------------------------------------
        anon = srv.redis()
        expect("PING before AUTH", anon.execute_command("PING"), "PONG")
        check("HELP before AUTH", len(anon.execute_command("HELP")) > 20)
        for cmd in (["GET", "1"], ["CREATE", "customer=a", "item=b", "qty=1", "amount=1"],
                    ["INFO"], ["DLQ", "PURGE", "ALL"], ["NOSUCHCOMMAND"], ["ACL", "WHOAMI"]):
            expect("%s before AUTH" % cmd[0], error_of(lambda: anon.execute_command(*cmd)),
                   "authentication required")
        anon.close()

        # --- wrong passwords -----------------------------------------------
        for user, pw in (("shop", "nope"), ("nobody", "shop-pw"), ("gone", "gone-pw"),
                         (None, "wrong-root")):
            e = error_of(lambda: srv.redis(username=user, password=pw).execute_command("PING"))
            check("AUTH %s/%s is refused" % (user, pw),
                  e is not None and "invalid username-password pair" in e, e)
        wait_for("auth_failed in the log", lambda: "event=auth_failed" in srv.log())

        # --- each role against a command of each family --------------------
        root = srv.redis(password="root-pw")
        root.execute_command("CHANNEL", "CREATE", "jobs")
        root.execute_command("PUBLISH", "jobs", "work")
        users = {
            "root": dict(password="root-pw"),
            "ops": dict(username="ops", password="ops-pw"),
            "shop": dict(username="shop", password="shop-pw"),
            "wrk": dict(username="wrk", password=WORKER_PW),
            "multi": dict(username="multi", password="multi-pw"),
        }
        families = [
            # (command, who may run it besides root)
            (["CREATE", "customer=c", "item=i", "qty=1", "amount=1"], {"shop", "multi"}),
            (["GET", "1"], {"ops", "shop", "multi"}),
            (["LIST"], {"ops", "shop", "multi"}),
            (["UPDATE", "999", "status=RESERVED"], {"ops"}),
            (["READ", "jobs"], {"ops", "wrk", "multi"}),
            (["CONSUME", "jobs", "group=g", "consumer=c"], {"wrk", "multi"}),
            (["PUBLISH", "jobs", "more"], {"wrk", "multi"}),
            (["INFO"], {"ops"}),
            (["SAGAS"], {"ops"}),
            (["DLQ", "LIST"], {"ops"}),
            (["DLQ", "REPLAY", "ALL"], {"ops"}),
            (["DLQ", "PURGE", "ALL"], set()),
            (["SIM", "SET", "payment", "decline=0"], set()),
            (["STOCK", "SET", "book", "10"], set()),
            (["CUSTOMER", "UNBLOCK", "nobody"], set()),
            (["CHANNEL", "CREATE", "jobs2"], set()),
        ]
        for name, kw in users.items():
            r = srv.redis(**kw)
            for cmd, who in families:
                e = error_of(lambda: r.execute_command(*cmd))
                allowed = name == "root" or name in who
                denied = e is not None and e.startswith("user %s (" % (
                    "default" if name == "root" else name)) and "may not run" in e
                check("%s may %srun %s" % (name, "" if allowed else "not ", " ".join(cmd[:2])),
                      denied != allowed, e)
            r.close()
        shop = srv.redis(**users["shop"])
        expect("ACL WHOAMI", shop.execute_command("ACL", "WHOAMI"), "shop")
        expect("ACL ROLES", shop.execute_command("ACL", "ROLES"), ["client"])
        expect("a client may not list users",
               error_of(lambda: shop.execute_command("ACL", "USERS")),
               "user shop (client) may not run ACL USERS")
        expect("NOPERM names the form", error_of(lambda: shop.execute_command("DLQ", "PURGE", "ALL")),
               "user shop (client) may not run DLQ PURGE")
        # A subscribed client keeps its user.
        p = shop.pubsub()
        p.subscribe("order.status")
        wait_for("the subscription", lambda: p.get_message(timeout=0.1))
        p.close()

        # --- redis-cli -----------------------------------------------------
        expect("redis-cli anonymous", redis_cli(port, "GET", "1"), "NOAUTH authentication required")
        expect("redis-cli -a", redis_cli(port, "-a", "root-pw", "ACL", "WHOAMI"), "default")
        expect("redis-cli --user --pass", redis_cli(port, "--user", "ops", "--pass", "ops-pw",
                                                     "ACL", "WHOAMI"), "ops")
        expect("redis-cli NOPERM", redis_cli(port, "--user", "shop", "--pass", "shop-pw",
                                             "DLQ", "PURGE", "ALL"),
               "NOPERM user shop (client) may not run DLQ PURGE")
        check("redis-cli WRONGPASS",
              "WRONGPASS" in redis_cli(port, "--user", "shop", "--pass", "x", "PING"))

        # --- an unauthenticated client is held to tight limits -------------
        s = srv.connect()
        s.sendall(b"PING " + b"x " * 20 + b"\r\n")
        rd = Reader(s)
        expect("too many words before AUTH", rd.line(), b"-LIMIT too many arguments (max 16)\r\n")
        check("then closed", rd.closed())
        s = srv.connect()
        s.sendall(b"*2\r\n$4\r\nAUTH\r\n$20000\r\n")
        rd = Reader(s)
        expect("a big bulk before AUTH", rd.line(),
               b"-LIMIT bulk string exceeds 16384 bytes\r\n")
        check("then closed", rd.closed())
        # After AUTH the configured limits apply again, on the same connection.
        s = srv.connect()
        s.sendall(resp_command("AUTH", "shop", "shop-pw") +
                  resp_command("LIST", *(["limit=1"] + ["x=%d" % i for i in range(30)])) +
                  resp_command("GET", "1", "x" * 20000))
        rd = Reader(s)
        expect("AUTH", rd.line(), b"+OK\r\n")
        line = rd.line()
        check("30 arguments after AUTH are not a LIMIT", not line.startswith(b"-LIMIT"), line)
        line = rd.line()
        check("a 20000-byte argument after AUTH is not a LIMIT", not line.startswith(b"-LIMIT"), line)

        # --- HTTP ------------------------------------------------------------
        hport = srv.http_port()
        status, headers, _ = http_get(hport, "/metrics")
        expect("/metrics anonymous", status, 401)
        check("401 asks for Basic", 'Basic realm="orderd"' in headers.get("WWW-Authenticate", ""),
              headers)
        expect("/metrics wrong password", http_get(hport, "/metrics", basic("ops", "x"))[0], 401)
        status, _, body = http_get(hport, "/metrics", basic("shop", "shop-pw"))
        expect("/metrics as a client", status, 403)
        expect("403 says who", body, "user shop (client) may not read this\n")
        status, _, body = http_get(hport, "/metrics", basic("ops", "ops-pw"))
        expect("/metrics as an operator", status, 200)
        check("the figures", "orderd_auth_failures_total" in body, body[:300])
        expect("/metrics with a Bearer token", http_get(hport, "/metrics", "Bearer root-pw")[0], 200)
        expect("/metrics with a user's Bearer token",
               http_get(hport, "/metrics", "Bearer ops:ops-pw")[0], 200)
        expect("/healthz stays open", http_get(hport, "/healthz")[0], 200)
        expect("/readyz stays open", http_get(hport, "/readyz")[0], 200)

        # --- counted ---------------------------------------------------------
        m = srv.info(password="root-pw")
        check("auth failures counted", int(m["auth_failures"]) >= 6, m["auth_failures"])
        check("refusals counted", int(m["noperm"]) >= 20, m["noperm"])
        expect("users", m["acl_users"], "6")

        # --- SHUTDOWN is an admin's ------------------------------------------
        expect("an operator may not SHUTDOWN",
               error_of(lambda: srv.redis(**users["ops"]).execute_command("SHUTDOWN")),
               "user ops (operator) may not run SHUTDOWN")
        expect("SHUTDOWN", redis_cli(port, "-a", "root-pw", "SHUTDOWN"), "OK")
        srv.proc.wait(timeout=20)
        expect("exit status after SHUTDOWN", srv.proc.returncode, 0)
        check("the log says who", re.search(r"event=shutdown by=SHUTDOWN client=\d+ user=\"default\"",
                                            srv.log()), srv.log()[-500:])


def main():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "users.acl")
        with open(path, "w") as f:
            f.write(ACL)
        run_test(path)
    print("test_auth: ok")


main()
