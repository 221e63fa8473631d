#!/usr/bin/python3
"""The bad-input suite on the HTTP port (docs/http.md, docs/protocol.md's
HTTP limits): bodies that are not JSON, not an object, of the wrong types,
with unknown or missing fields, amounts with more decimals than their
currency; unknown query parameters; bad ids; unknown paths (404); wrong
methods (405 and Allow); a body that is not JSON by its type (415); a bad
Last-Event-ID on /events; and on a server with users, credentials missing,
malformed or wrong (401) and roles that do not allow (403). Each gets its
problem document (application/problem+json: type, title, status, detail,
code), byte for byte, and the connection goes on. The HTTP limits answer
as docs/protocol.md's table says: a body over --http-max-body 413 and a
request orderd cannot read 400 (libevent's own pages, and the close), a
URL over --http-max-url 414 and too many header fields 431 (text). Meanwhile
a client's pipeline of orders comes through whole over RESP, and orderd's
memory stays within badinput's bound (RSS_GROWTH_MAX)."""
import base64
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from badinput import (ACL, ADMIN_PASSWORD, CHALLENGE, CLOSE, WORKER_PASSWORD,  # noqa: E402
                      HttpCases, Pipeline, Rss, asan_env, libevent_page, report, request)
from harness import Orderd, expect  # noqa: E402

# Small enough that each request over a limit is read whole at once: libevent
# closes a connection it refuses, and a close with bytes left unread would
# be a reset, which may destroy the response before it is read.
LIMITS = ["--http-max-body", "4096", "--http-max-url", "512", "--http-max-headers", "16",
          "--http-max-header-bytes", "2048"]
ORDER = b'"customer":"a","item":"b","qty":1,'
NOT_FOUND = "no such resource: see /openapi.json, or /metrics, /healthz, /readyz"
STATUSES = "(PENDING RESERVED PAID SHIPPED DELIVERED FAILED CANCELLED)"


def bodies(h):
    """POST /orders with bodies that cannot be an order."""
    for name, body, detail in [
            ("not JSON", b"{not json", "the body is not JSON: quoted object property name expected"),
            ("JSON cut short", b'{"customer":"a",', "the body is not JSON: it ends early"),
            ("JSON and more", b'{"customer":"a"} x', "the body is not JSON: unexpected character"),
            ("two objects", b'{"customer":"a"}{}', "the body is not JSON: unexpected character"),
            ("a byte order mark", b'\xef\xbb\xbf{}', "the body is not JSON: unexpected character"),
            ("single quotes", b"{'customer':'a'}", "the body is not JSON: unexpected character"),
            ("a trailing comma", b'{' + ORDER + b'"amount":1,}',
             "the body is not JSON: unexpected character"),
            ("nesting deeper than 8", b'{"a":' * 10 + b'1' + b'}' * 10,
             "the body is not JSON: nesting too deep"),
            ("an array", b"[1,2]", "the body must be a JSON object"),
            ("a string", b'"order"', "the body must be a JSON object"),
            ("qty a boolean", b'{"customer":"a","item":"b","qty":true,"amount":1}',
             "field 'qty' must be a string or a number"),
            ("customer an object", b'{"customer":{"id":1},"item":"b","qty":1,"amount":1}',
             "field 'customer' must be a string or a number"),
            ("amount an array", b'{' + ORDER + b'"amount":[1]}',
             "field 'amount' must be a string or a number"),
            ("an unknown field", b'{"colour":"red",' + ORDER + b'"amount":1}',
             "unknown field 'colour'"),
            ("the idempotency key in the body", b'{' + ORDER + b'"amount":1,"key":"k"}',
             "unknown field 'key'"),
            ("an empty body", b"", "missing field 'customer'"),
            ("blanks only", b" \r\n\t", "missing field 'customer'"),
            ("an empty object", b"{}", "missing field 'customer'"),
            ("no amount", b'{' + ORDER[:-1] + b'}', "missing field 'amount'"),
            ("a null customer", b'{"customer":null,"item":"b","qty":1,"amount":1}',
             "missing field 'customer'"),
            ("three decimals in a string", b'{' + ORDER + b'"amount":"1.999"}',
             "amount '1.999' has more decimals than the currency allows"),
            ("three decimals in a number", b'{' + ORDER + b'"amount":1.999}',
             "amount '1.999' has more decimals than the currency allows"),
            ("decimals in yen", b'{' + ORDER + b'"amount":"1.5","currency":"JPY"}',
             "amount '1.5' has decimals, but the currency has no minor unit"),
            ("an exponent", b'{' + ORDER + b'"amount":1e2}', "amount '1e2' is not a decimal number"),
            ("a negative amount", b'{' + ORDER + b'"amount":-1}', "amount '-1' must not be negative"),
            ("an amount without its units", b'{' + ORDER + b'"amount":".5"}',
             "amount '.5' is not a decimal number"),
            ("NaN", b'{' + ORDER + b'"amount":NaN}', "amount 'NaN' is not a decimal number"),
            ("qty 0", b'{"customer":"a","item":"b","qty":0,"amount":1}',
             "qty must be an integer from 1 to 1000000000, got '0'"),
            ("qty 1.5", b'{"customer":"a","item":"b","qty":1.5,"amount":1}',
             "qty must be an integer from 1 to 1000000000, got '1.5'"),
            ("a currency in lower case", b'{' + ORDER + b'"amount":1,"currency":"usd"}',
             "currency 'usd' is not an ISO 4217 code"),
            ("a NUL in the customer", b'{"customer":"a\\u0000b","item":"b","qty":1,"amount":1}',
             "field 'customer' contains a NUL byte"),
            ("a control character in the customer",
             b'{"customer":"a\\u0001b","item":"b","qty":1,"amount":1}',
             "customer must not contain control characters")]:
        h.problem("POST /orders, " + name, request("POST", b"/orders", body), 400, "BADARG", detail)
    h.problem("POST /orders, an Idempotency-Key over 256 bytes",
              request("POST", b"/orders", b'{' + ORDER + b'"amount":1}',
                      headers=["Idempotency-Key: " + "k" * 257]),
              400, "BADARG", "key is longer than 256 bytes")
    for ctype in ("text/plain", "application/xml"):
        h.problem("POST /orders as " + ctype,
                  request("POST", b"/orders", b'{' + ORDER + b'"amount":1}', ctype=ctype),
                  415, "BADARG", "the body must be application/json")
    h.problem("POST /orders with a query", request("POST", b"/orders?x=1", b'{' + ORDER + b'"amount":1}'),
              400, "BADARG", "unknown query parameter 'x' (none are taken)")


def changes(h):
    """PATCH and cancel of order 1 (the pipeline's first): refused before
    anything changes."""
    for name, body, detail in [
            ("an unknown status", b'{"status":"LOST"}', "unknown status 'LOST' " + STATUSES),
            ("no status", b'{"note":"x"}', "missing field 'status'"),
            ("an empty object", b"{}", "missing field 'status'"),
            ("an unknown field", b'{"status":"PAID","colour":1}', "unknown field 'colour'"),
            ("a note over 1024 bytes", b'{"status":"PAID","note":"' + b"n" * 1025 + b'"}',
             "note is longer than 1024 bytes")]:
        h.problem("PATCH /orders/1, " + name, request("PATCH", b"/orders/1", body),
                  400, "BADARG", detail)
    for name, body, detail in [
            ("a reason that is a list", b'{"reason":[]}', "field 'reason' must be a string or a number"),
            ("an unknown field", b'{"why":"x"}', "unknown field 'why'"),
            ("a reason over 1024 bytes", b'{"reason":"' + b"r" * 1025 + b'"}',
             "reason is longer than 1024 bytes")]:
        h.problem("POST /orders/1/cancel, " + name, request("POST", b"/orders/1/cancel", body),
                  400, "BADARG", detail)


def queries_and_ids(h):
    for target, detail in [
            (b"/orders?colour=red", "unknown query parameter 'colour' (status, customer, after, limit)"),
            (b"/orders?limit=0", "limit must be an integer from 1 to 1000"),
            (b"/orders?limit=1001", "limit must be an integer from 1 to 1000"),
            (b"/orders?limit=1&limit=2", "field 'limit' given twice"),
            (b"/orders?a", "the query string is malformed"),
            (b"/orders?after=-1", "after must be an order id (a non-negative integer)"),
            (b"/orders?status=LOST", "unknown status 'LOST' in status= " + STATUSES),
            (b"/orders/1?x=1", "unknown query parameter 'x' (none are taken)"),
            (b"/orders/abc", "order id must be a positive integer, got 'abc'"),
            (b"/orders/0", "order id must be a positive integer, got '0'"),
            (b"/orders/-1", "order id must be a positive integer, got '-1'"),
            (b"/orders/99999999999999999999",
             "order id must be a positive integer, got '99999999999999999999'"),
            (b"/orders/1%20x", "order id must be a positive integer, got '1 x'"),
            (b"/orders/ALL", "order id must be a positive integer, got 'ALL'"),
            (b"/orders/abc/history", "order id must be a positive integer, got 'abc'"),
            (b"/orders/abc/saga", "order id must be a positive integer"),
            (b"/track/abc", "order id must be a positive integer, got 'abc'"),
            (b"/dlq?limit=0", "limit must be an integer from 1 to 1000"),
            (b"/dlq/abc", "dead letter id must be a positive integer, got 'abc'"),
            (b"/dlq/0", "dead letter id must be a positive integer, got '0'"),
            (b"/dlq/ALL", "dead letter id must be a positive integer, got 'ALL'")]:
        h.problem("GET " + target.decode(), request("GET", target), 400, "BADARG", detail)
    h.problem("GET /orders with a body", request("GET", b"/orders", b"ab"),
              400, "BADARG", "GET /orders takes no body")
    # The DLQ commands' word ALL is no id: these purge and replay nothing.
    for method, target in [("DELETE", b"/dlq/abc"), ("DELETE", b"/dlq/ALL"),
                           ("POST", b"/dlq/abc/replay"), ("POST", b"/dlq/ALL/replay")]:
        h.problem("%s %s" % (method, target.decode()), request(method, target), 400, "BADARG",
                  "dead letter id must be a positive integer, got '%s'" % target.split(b"/")[2].decode())
    h.problem("POST /dlq/replay with an unknown parameter", request("POST", b"/dlq/replay?colour=1"),
              400, "BADARG", "unknown query parameter 'colour' (channel, limit)")
    h.problem("GET an order that does not exist", request("GET", b"/orders/999999999"),
              404, "NOTFOUND", "order 999999999 does not exist")
    h.problem("GET a dead letter that does not exist", request("GET", b"/dlq/999"),
              404, "NOTFOUND", "dead letter 999 does not exist")


def paths_and_methods(h):
    for target in (b"/nowhere", b"/", b"/ORDERS", b"/orders/1/history/x", b"/a/b/c/d/e",
                   b"/orders/%00", b"/orders/" + b"9" * 300, b"/metrics/x"):
        h.problem("GET " + target.decode()[:40], request("GET", target), 404, "NOTFOUND", NOT_FOUND)
    for method, target, allow in [
            ("PUT", b"/orders/1", "GET, PATCH"),
            ("DELETE", b"/orders", "GET, POST"),
            ("POST", b"/track/1", "GET"),
            ("GET", b"/orders/1/cancel", "POST"),
            ("PATCH", b"/dlq", "GET"),
            ("POST", b"/dlq/1", "GET, DELETE"),
            ("OPTIONS", b"/orders", "GET, POST"),
            ("DELETE", b"/events", "GET")]:
        h.problem("%s %s" % (method, target.decode()), request(method, target), 405, "ERR",
                  "%s is not allowed here (%s)" % (method, allow), {"Allow": allow})
    for method in ("BREW", "TRACE"):
        h.response("a method libevent does not take: " + method, request(method, b"/orders"),
                   501, "text/html", libevent_page(501), {"Connection": "close"}, then=CLOSE)


def events(h):
    channels = ("channels= names the channels and glob patterns to follow, comma-separated: "
                "channels=order.*,dlq")
    bad_id = "Last-Event-ID is not an id of this stream (<channel>:<offset>, comma-separated)"
    for target, detail in [
            (b"/events", channels),
            (b"/events?channels=", channels),
            (b"/events?channels=a,,b",
             "channels= has an empty name: list channels and patterns separated by commas"),
            (b"/events?channels=" + b"c" * 257, "a channel or pattern is longer than 256 bytes"),
            (b"/events?channels=a&foo=1", "unknown query parameter 'foo' (channels, lastEventId)"),
            (b"/events?channels=a&lastEventId=x:y", bad_id)]:
        h.problem("GET " + target.decode()[:50], request("GET", target), 400, "BADARG", detail)
    for last in ("garbage", "order.status:-1", "order.status:abc", ":5", "a:1,,b:2"):
        h.problem("GET /events with Last-Event-ID: " + last,
                  request("GET", b"/events?channels=order.*", headers=["Last-Event-ID: " + last]),
                  400, "BADARG", bad_id)


def limits(h):
    """docs/protocol.md's HTTP limits, with this server's flags."""
    h.response("a Content-Length over --http-max-body",
               b"POST /orders HTTP/1.1\r\nHost: orderd\r\nContent-Length: 5000\r\n\r\n",
               413, "text/html", libevent_page(413), {"Connection": "close"}, then=CLOSE)
    h.response("a URL over --http-max-url", request("GET", b"/orders?customer=" + b"x" * 600),
               414, "text/plain", b"URL too long\n")
    h.response("more header fields than --http-max-headers",
               request("GET", b"/orders", headers=["X-%d: y" % i for i in range(16)]),
               431, "text/plain", b"too many header fields\n")
    for name, data in [
            ("a header line over --http-max-header-bytes",
             request("GET", b"/orders", headers=["X-Long: " + "a" * 3000])),
            ("a request line of garbage", b"\x00\x01garbage\r\n\r\n"),
            ("HTTP/2's preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            ("an HTTP version that does not exist", b"GET /healthz HTTP/9.9\r\n\r\n"),
            ("a Content-Length that is not a number",
             b"POST /orders HTTP/1.1\r\nHost: orderd\r\nContent-Length: abc\r\n\r\n"),
            ("a negative Content-Length",
             b"POST /orders HTTP/1.1\r\nHost: orderd\r\nContent-Length: -1\r\n\r\n")]:
        h.response(name, data, 400, "text/html", libevent_page(400), {"Connection": "close"},
                   then=CLOSE)


def basic(user, password):
    return "Authorization: Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def users(h):
    """A server with users: who may ask what."""
    shop, ops = basic("shop", "shop-pw"), "Authorization: Bearer ops:ops-pw"
    wrk = basic("wrk", WORKER_PASSWORD)
    anonymous = "authentication required"
    wrongpass = "invalid username-password pair or user is disabled."
    body = b'{' + ORDER + b'"amount":1}'
    for name, data in [
            ("GET without credentials", request("GET", b"/orders/1")),
            ("POST without credentials", request("POST", b"/orders", body)),
            ("a Basic that is not base64", request("GET", b"/orders/1",
                                                  headers=["Authorization: Basic !!!!"])),
            ("a Basic without a colon", request("GET", b"/orders/1", headers=[
                "Authorization: Basic " + base64.b64encode(b"shop").decode()])),
            ("an empty Bearer", request("GET", b"/orders/1", headers=["Authorization: Bearer "])),
            ("another scheme", request("GET", b"/orders/1", headers=["Authorization: Digest x=1"]))]:
        h.problem(name, data, 401, "NOAUTH", anonymous)
    for name, auth in [("a wrong password", "Authorization: Bearer shop:nope"),
                       ("a wrong Basic password", basic("shop", "nope")),
                       ("a user that does not exist", basic("nobody", "shop-pw")),
                       ("a user that is off", basic("gone", "gone-pw")),
                       ("a wrong password for default", "Authorization: Bearer nope")]:
        h.problem(name, request("GET", b"/orders/1", headers=[auth]), 401, "WRONGPASS", wrongpass)
    h.problem("GET /events without credentials", request("GET", b"/events?channels=a"),
              401, "NOAUTH", "authentication required: Basic (user:password) or Bearer")
    for auth, method, target, body_, who, what in [
            (shop, "DELETE", b"/dlq/1", None, "shop (client)", "DLQ PURGE"),
            (shop, "GET", b"/dlq", None, "shop (client)", "DLQ LIST"),
            (shop, "PATCH", b"/orders/1", b'{"status":"PAID"}', "shop (client)", "UPDATE"),
            (shop, "GET", b"/orders/1/saga", None, "shop (client)", "SAGA 1"),
            (wrk, "GET", b"/orders/1", None, "wrk (worker)", "GET"),
            (wrk, "POST", b"/orders", body, "wrk (worker)", "CREATE"),
            (wrk, "GET", b"/events?channels=a", None, "wrk (worker)", "SUBSCRIBE"),
            (ops, "POST", b"/orders", body, "ops (operator)", "CREATE"),
            (ops, "DELETE", b"/dlq/1", None, "ops (operator)", "DLQ PURGE")]:
        h.problem("%s: %s %s" % (who, method, target.decode()),
                  request(method, target, body_, headers=[auth]),
                  403, "NOPERM", "user %s may not run %s" % (who, what))
    h.response("/metrics without credentials", request("GET", b"/metrics"), 401, "text/plain",
               b"authentication required: Basic (user:password) or Bearer\n",
               {"WWW-Authenticate": CHALLENGE})
    h.response("/metrics for a client", request("GET", b"/metrics", headers=[shop]), 403,
               "text/plain", b"user shop (client) may not read this\n")


def serve(flags, tag, cases, auth=()):
    """One server: the cases on its HTTP port, a pipeline on its protocol
    port, the memory bound. Returns how many cases ran."""
    with Orderd(*flags, env=asan_env()) as srv:
        pipeline = Pipeline(srv.connect, tag, auth=auth)
        pipeline.start()
        h = HttpCases(pipeline, srv.http_port())
        pipeline.kick()
        pipeline.settle()
        rss = Rss(srv)
        try:
            cases(h)
        finally:
            orders = pipeline.verify()
        # No request made an order, changed one, or ran anything else.
        expect("orders", srv.info(password=ADMIN_PASSWORD if auth else None)["orders"],
               str(orders))
        rss.check("test_bad_input_http (%s)" % tag)
        return h.count


def without_users(h):
    bodies(h)
    changes(h)
    queries_and_ids(h)
    paths_and_methods(h)
    events(h)
    limits(h)


def main():
    tmp = tempfile.mkdtemp(prefix="orderd-badinput-")
    acl = os.path.join(tmp, "users.acl")
    with open(acl, "w") as f:
        f.write(ACL)
    try:
        counts = [("without users", serve(LIMITS, "http", without_users)),
                  ("with users", serve(["--acl-file", acl, "--requirepass", ADMIN_PASSWORD],
                                       "httpusers", users, auth=("shop", "shop-pw")))]
        report("test_bad_input_http", counts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
