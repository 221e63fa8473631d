#!/usr/bin/python3
"""GET /openapi.json against the server it describes.

The document orderd serves is docs/openapi.json as it is, and a valid
OpenAPI 3.1 document: its required fields, every $ref resolving, every path
parameter declared, operationIds unique, every schema written in the words
the validator below knows. Then every path and method in it is called for
real, on data made for it first (orders over HTTP, dead letters over the
protocol port), and each answer's status must be one the document lists,
with the content type, headers and body (against its JSON schema) it says:

- a walk where everything succeeds, then the same calls with an id that
  does not exist, one that is not an id, and a query parameter nobody
  takes (each answer documented, as a problem document);
- the Idempotency-Key rules: the same key and body, the same order; another
  body, 409;
- on a server with users: without credentials 401 except where the document
  says none are needed, wrong ones 401, Bearer works, a client's request
  for an operator's endpoint 403;
- on a server over --maxmemory: every change 503 with Retry-After;
- the port's limits: a body too large 413, too many subscriptions 429, too
  many streams or connections 503 with Retry-After, wherever documented.

And the reverse: every route of the server's table (server/net/http_route.c,
the 15 of KNOWN_ROUTES) is in the document, and every documented path
asked with a method it does not take answers 405 with an Allow header
naming exactly the documented methods. /events is called for its status
and Content-Type only, reading the headers with a deadline."""
import base64
import http.client
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Orderd, READ_TIMEOUT, Reader, TestFailure, check, expect,  # noqa: E402
                     resp_command, wait_for)

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DOC_FILE = os.path.join(ROOT, "docs", "openapi.json")
ROUTE_TABLE = os.path.join(ROOT, "server", "net", "http_route.c")

# The server's routes: the table of http_route.c, which this list must
# match (checked below), so that a route added there and not documented
# fails this test.
KNOWN_ROUTES = [
    ("GET", "/orders"), ("POST", "/orders"), ("GET", "/orders/{id}"),
    ("PATCH", "/orders/{id}"), ("POST", "/orders/{id}/cancel"),
    ("GET", "/orders/{id}/history"), ("GET", "/orders/{id}/saga"), ("GET", "/track/{id}"),
    ("GET", "/dlq"), ("POST", "/dlq/replay"), ("GET", "/dlq/{id}"),
    ("POST", "/dlq/{id}/replay"), ("DELETE", "/dlq/{id}"), ("GET", "/events"),
    ("GET", "/openapi.json"),
]
# Served by http.c before the API's routes, whatever the method.
PROBES = [("GET", "/metrics"), ("GET", "/healthz"), ("GET", "/readyz")]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
WRONG_METHODS = ("PUT", "DELETE", "PATCH", "POST", "GET")
STREAMS = ("text/event-stream",)


# --- a JSON Schema subset ----------------------------------------------------

# What the validator checks; annotations it reads past. Any other keyword
# in the document fails the test, so none is silently ignored.
KEYWORDS = {"$ref", "type", "enum", "const", "properties", "required", "additionalProperties",
            "items", "prefixItems", "minItems", "maxItems", "pattern", "minLength", "maxLength",
            "minimum", "maximum", "allOf", "anyOf", "oneOf"}
ANNOTATIONS = {"description", "title", "example", "examples", "default", "format",
               "deprecated", "readOnly", "writeOnly", "$comment"}
TYPES = {"null", "boolean", "integer", "number", "string", "array", "object"}


def resolve_ref(doc, ref):
    if not ref.startswith("#/"):
        raise TestFailure("$ref %s: only references into the document are expected" % ref)
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise TestFailure("$ref %s does not resolve" % ref)
        node = node[part]
    return node


def deref(doc, node):
    """A Parameter, Response, Header ... object, through its $ref."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        node = resolve_ref(doc, node["$ref"])
        seen += 1
        check("a $ref chain that ends", seen < 16)
    return node


def is_type(v, t):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, list)
    return isinstance(v, dict)


def same(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def check_schema(doc, s, where):
    """Every keyword of schema s (and those inside it) is one the
    validator knows, with a value of the right kind."""
    check("a schema is an object", isinstance(s, dict), "at %s: %r" % (where, s))
    for k, v in s.items():
        if k in ANNOTATIONS:
            continue
        check("a schema keyword the walk's validator knows", k in KEYWORDS,
              "at %s: %s" % (where, k))
        if k == "type":
            ts = v if isinstance(v, list) else [v]
            check("known types", all(t in TYPES for t in ts), "at %s: %r" % (where, v))
        elif k in ("properties",):
            for name, sub in v.items():
                check_schema(doc, sub, "%s.%s" % (where, name))
        elif k in ("items", "additionalProperties") and isinstance(v, dict):
            check_schema(doc, v, "%s/%s" % (where, k))
        elif k in ("prefixItems", "allOf", "anyOf", "oneOf"):
            check("%s is a list" % k, isinstance(v, list) and v, "at %s" % where)
            for i, sub in enumerate(v):
                check_schema(doc, sub, "%s/%s/%d" % (where, k, i))
        elif k == "pattern":
            re.compile(v)
        elif k == "required":
            props = s.get("properties")
            if props is not None and not any(x in s for x in ("allOf", "anyOf", "oneOf")):
                check("required properties are declared", all(r in props for r in v),
                      "at %s: %r" % (where, v))


def validate(doc, s, v, where="$"):
    """The ways value v breaks schema s: a list of messages."""
    errs = []
    if "$ref" in s:
        errs += validate(doc, resolve_ref(doc, s["$ref"]), v, where)
    if "type" in s:
        ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(is_type(v, t) for t in ts):
            return errs + ["%s: %r is not of type %s" % (where, v, "/".join(ts))]
    if "enum" in s and not any(same(v, e) for e in s["enum"]):
        errs.append("%s: %r is not one of %r" % (where, v, s["enum"]))
    if "const" in s and not same(v, s["const"]):
        errs.append("%s: %r is not %r" % (where, v, s["const"]))
    if isinstance(v, dict):
        props = s.get("properties", {})
        for r in s.get("required", []):
            if r not in v:
                errs.append("%s: no %s" % (where, r))
        for k, x in v.items():
            if k in props:
                errs += validate(doc, props[k], x, "%s.%s" % (where, k))
            elif s.get("additionalProperties") is False:
                errs.append("%s: %s is not in the schema" % (where, k))
            elif isinstance(s.get("additionalProperties"), dict):
                errs += validate(doc, s["additionalProperties"], x, "%s.%s" % (where, k))
    if isinstance(v, list):
        prefix = s.get("prefixItems", [])
        for i, x in enumerate(v):
            if i < len(prefix):
                errs += validate(doc, prefix[i], x, "%s[%d]" % (where, i))
            elif "items" in s:
                errs += validate(doc, s["items"], x, "%s[%d]" % (where, i))
        if len(v) < s.get("minItems", 0):
            errs.append("%s: fewer than %d items" % (where, s["minItems"]))
        if "maxItems" in s and len(v) > s["maxItems"]:
            errs.append("%s: more than %d items" % (where, s["maxItems"]))
    if isinstance(v, str):
        if "pattern" in s and not re.search(s["pattern"], v):
            errs.append("%s: %r does not match %s" % (where, v, s["pattern"]))
        if len(v) < s.get("minLength", 0):
            errs.append("%s: %r is shorter than %d" % (where, v, s["minLength"]))
        if "maxLength" in s and len(v) > s["maxLength"]:
            errs.append("%s: %r is longer than %d" % (where, v, s["maxLength"]))
    if is_type(v, "number"):
        if "minimum" in s and v < s["minimum"]:
            errs.append("%s: %r is below %r" % (where, v, s["minimum"]))
        if "maximum" in s and v > s["maximum"]:
            errs.append("%s: %r is above %r" % (where, v, s["maximum"]))
    for sub in s.get("allOf", []):
        errs += validate(doc, sub, v, where)
    if "anyOf" in s and not any(not validate(doc, sub, v, where) for sub in s["anyOf"]):
        errs.append("%s: %r matches none of anyOf" % (where, v))
    if "oneOf" in s:
        n = sum(1 for sub in s["oneOf"] if not validate(doc, sub, v, where))
        if n != 1:
            errs.append("%s: %r matches %d of oneOf, not one" % (where, v, n))
    return errs


def conforms(doc, what, schema, v):
    errs = validate(doc, schema, v)
    check(what + " conforms to its schema", not errs,
          "\n  " + "\n  ".join(errs) + "\n  value: %s" % json.dumps(v)[:600])


def as_typed(doc, schema, text):
    """A header's or query parameter's text as its schema's type says."""
    s = deref(doc, schema)
    ts = s.get("type", [])
    ts = ts if isinstance(ts, list) else [ts]
    alts = [deref(doc, a) for a in s.get("oneOf", []) + s.get("anyOf", [])]
    if "integer" in ts or any(a.get("type") == "integer" for a in alts):
        if re.fullmatch(r"[0-9]+", text):
            return int(text)
    return text


# --- the document's structure ----------------------------------------------

def operations(doc):
    """(METHOD, path, operation, its parameters with the path's) in document order."""
    out = []
    for path, item in doc["paths"].items():
        for m in METHODS:
            if m in item:
                op = item[m]
                params = [deref(doc, p) for p in item.get("parameters", [])]
                for p in (deref(doc, p) for p in op.get("parameters", [])):
                    params = [q for q in params if (q["name"], q["in"]) != (p["name"], p["in"])]
                    params.append(p)
                out.append((m.upper(), path, op, params))
    return out


def all_refs(node, at="#"):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield at, v
            else:
                yield from all_refs(v, at + "/" + k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from all_refs(v, "%s/%d" % (at, i))


def check_structure(doc):
    check("openapi 3.1", isinstance(doc.get("openapi"), str) and
          re.fullmatch(r"3\.1\.[0-9]+", doc["openapi"]), repr(doc.get("openapi")))
    info = doc.get("info")
    check("info has a title and a version", isinstance(info, dict) and
          isinstance(info.get("title"), str) and isinstance(info.get("version"), str))
    expect("info.title", info["title"], "orderd")
    for s in doc.get("servers", []):
        check("a server has a url", isinstance(s.get("url"), str), repr(s))
    check("paths", isinstance(doc.get("paths"), dict) and doc["paths"])
    for at, ref in all_refs(doc):
        try:
            resolve_ref(doc, ref)
        except TestFailure as e:
            raise TestFailure("%s (at %s)" % (e, at))
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for name, sc in schemes.items():
        check("security scheme %s has a type" % name, sc.get("type") in
              ("apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"))
    declared_tags = {t["name"] for t in doc.get("tags", [])}

    def check_security(reqs, where):
        check("security is a list at " + where, isinstance(reqs, list))
        for req in reqs:
            for name in req:
                check("security scheme %s (at %s) is declared" % (name, where), name in schemes)
    check_security(doc.get("security", []), "the top")

    for path, item in doc["paths"].items():
        check("a path starts with /", path.startswith("/"), path)
        extra = set(item) - set(METHODS) - {"parameters", "summary", "description", "servers"}
        check("path item %s has only known fields" % path, not extra, repr(extra))
    ids = {}
    for method, path, op, params in operations(doc):
        where = "%s %s" % (method, path)
        oid = op.get("operationId")
        check("%s has an operationId" % where, isinstance(oid, str) and oid)
        check("operationId %s is unique" % oid, oid not in ids, "also %s" % ids.get(oid))
        ids[oid] = where
        for t in op.get("tags", []):
            check("tag %s of %s is declared" % (t, where), t in declared_tags)
        if "security" in op:
            check_security(op["security"], where)
        names = set()
        for p in params:
            check("a parameter of %s has a name and a place" % where,
                  isinstance(p.get("name"), str) and p.get("in") in
                  ("query", "header", "path", "cookie"), repr(p))
            check("parameter %s of %s has a schema" % (p["name"], where), "schema" in p)
            check_schema(doc, p["schema"], "%s %s" % (where, p["name"]))
            if p["in"] == "path":
                check("path parameter %s of %s is required" % (p["name"], where),
                      p.get("required") is True)
                names.add(p["name"])
        expect("the path parameters of " + where, names, set(re.findall(r"\{([^}]+)\}", path)))
        if "requestBody" in op:
            body = deref(doc, op["requestBody"])
            check("the body of %s has content" % where, body.get("content"))
            for mt, media in body["content"].items():
                check_schema(doc, media["schema"], "%s body %s" % (where, mt))
        responses = op.get("responses")
        check("%s has responses" % where, isinstance(responses, dict) and responses)
        for code, r in responses.items():
            check("response code %s of %s" % (code, where),
                  re.fullmatch(r"[1-5][0-9][0-9]|[1-5]XX|default", code))
            r = deref(doc, r)
            check("response %s of %s has a description" % (code, where),
                  isinstance(r.get("description"), str))
            for mt, media in r.get("content", {}).items():
                check_schema(doc, media["schema"], "%s %s %s" % (where, code, mt))
            for h in r.get("headers", {}).values():
                check_schema(doc, deref(doc, h)["schema"], "%s %s header" % (where, code))
            if code == "503" and "application/problem+json" in r.get("content", {}):
                check("a 503 of %s says Retry-After" % where, "Retry-After" in r.get("headers", {}))
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        check_schema(doc, s, "#/components/schemas/" + name)


def security_of(doc, op):
    return op["security"] if "security" in op else doc.get("security", [])


# --- talking to the server ----------------------------------------------------

class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def call(port, method, target, body=None, headers=None):
    """One request on a fresh connection. The body of an event stream is
    not read: only its headers, within the socket's timeout."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=READ_TIMEOUT)
    try:
        hs = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hs.setdefault("Content-Type", "application/json")
        conn.request(method, target, body=data, headers=hs)
        r = conn.getresponse()
        mt = (r.headers.get("Content-Type") or "").split(";")[0].strip()
        return Answer(r.status, r.headers, None if mt in STREAMS else r.read())
    finally:
        conn.close()


def target_of(path, values, query=None):
    t = re.sub(r"\{([^}]+)\}", lambda m: urllib.parse.quote(str(values[m.group(1)]), safe=""),
               path)
    if query:
        t += "?" + urllib.parse.urlencode(query)
    return t


def documented(doc, method, path, op, a):
    """Checks answer a against what the document says of it; returns the
    response object it matched."""
    where = "%s %s" % (method, path)
    responses = op["responses"]
    code = str(a.status)
    r = responses.get(code) or responses.get(code[0] + "XX") or responses.get("default")
    check("%s answered %d, which the document lists (%s)" % (where, a.status,
                                                            ", ".join(responses)),
          r is not None, (a.body or b"")[:300])
    r = deref(doc, r)
    mt = (a.headers.get("Content-Type") or "").split(";")[0].strip()
    content = r.get("content", {})
    if content:
        check("%s %d: Content-Type %r is documented (%s)" % (where, a.status, mt, ", ".join(content)),
              mt in content)
        schema = content[mt].get("schema")
        if a.body is not None and schema is not None and mt not in STREAMS:
            if mt == "application/json" or mt.endswith("+json"):
                try:
                    v = json.loads(a.body)
                except ValueError as e:
                    raise TestFailure("%s %d: the body is not JSON (%s): %r" %
                                      (where, a.status, e, a.body[:300]))
            else:
                v = a.body.decode()
            conforms(doc, "%s %d's body" % (where, a.status), schema, v)
    else:
        check("%s %d has no body, as documented" % (where, a.status), not a.body, repr(a.body))
    for name, h in r.get("headers", {}).items():
        h = deref(doc, h)
        got = a.headers.get(name)
        if h.get("required"):
            check("%s %d has the header %s" % (where, a.status, name), got is not None)
        if got is not None:
            conforms(doc, "%s %d's header %s" % (where, a.status, name), h["schema"],
                     as_typed(doc, h["schema"], got))
    return r


def ask(doc, port, method, path, op, params, values=None, query=None, body=None,
        headers=None):
    """Calls an operation with these arguments, each checked against the
    document first; checks the answer; returns it."""
    where = "%s %s" % (method, path)
    values = values or {}
    declared = {(p["in"], p["name"]): p for p in params}
    for name, v in values.items():
        check("%s has the path parameter %s" % (where, name), ("path", name) in declared)
        if isinstance(v, int):
            conforms(doc, "%s path parameter %s" % (where, name),
                     declared[("path", name)]["schema"], v)
    for name, v in (query or {}).items():
        check("%s takes the query parameter %s" % (where, name), ("query", name) in declared)
    for name in (headers or {}):
        if name.lower() not in ("authorization", "content-type"):
            check("%s takes the header %s" % (where, name), ("header", name) in declared)
    if body is not None and "requestBody" in op:
        media = deref(doc, op["requestBody"])["content"].get("application/json")
        check("%s takes a JSON body" % where, media is not None)
        if isinstance(body, dict):
            conforms(doc, "the body sent to " + where, media["schema"], body)
    a = call(port, method, target_of(path, values, query), body, headers)
    documented(doc, method, path, op, a)
    return a


# --- data to walk on ------------------------------------------------------------

class Protocol:
    """One connection to the protocol port, RESP."""

    def __init__(self, srv):
        self.sock = srv.connect()
        self.reader = Reader(self.sock)

    def __call__(self, *args):
        self.sock.sendall(resp_command(*args))
        got = self.reader.resp()
        if isinstance(got, tuple) and got[0] == b"-":
            raise TestFailure("%s: %r" % (" ".join(args), got))
        return got


def dead_letters(srv, n):
    """n dead letters on channel jobs (ids 1..n): each message NACKed on
    its only delivery (on the connection it was delivered to: one that
    closes gives its messages back)."""
    p = Protocol(srv)
    p("CHANNEL", "CREATE", "jobs", "maxdeliver=1")
    for i in range(n):
        p("PUBLISH", "jobs", "job-%d" % (i + 1))
    expect("messages consumed", len(p("CONSUME", "jobs", "group=g", "consumer=w",
                                      "count=%d" % n)), n)
    for i in range(1, n + 1):
        expect("nack %d" % i, p("NACK", "jobs", "group=g", str(i), "delay=0",
                                "reason=walked"), 1)
    wait_for("%d dead letters" % n, lambda: len(p("DLQ", "LIST")) == n)
    p.sock.close()


def server_version(port):
    a = call(port, "GET", "/metrics")
    expect("/metrics", a.status, 200)
    m = re.search(r'^orderd_build_info\{version="([^"]+)"\} 1$', a.body.decode(), re.M)
    check("orderd_build_info in /metrics", m)
    return m.group(1)


def example_body(doc, op):
    """The example of the operation's JSON body, or None without one."""
    if "requestBody" not in op:
        return None
    media = deref(doc, op["requestBody"])["content"]["application/json"]
    return deref(doc, media["schema"])["example"]


def op_table(doc):
    """{(METHOD, path): (operation, parameters)}, in the document's order."""
    return {(m, p): (op, params) for m, p, op, params in operations(doc)}


# --- the checks ------------------------------------------------------------------

def check_routes(doc):
    """Every route the server has is documented, and nothing else is."""
    with open(ROUTE_TABLE) as f:
        src = f.read()
    table = src[src.index("static const struct route routes[]"):]
    table = table[:table.index("};")]
    in_source = re.findall(r'\{VERB_([A-Z]+), "([^"]+)"', table)
    expect("KNOWN_ROUTES is http_route.c's table", sorted(KNOWN_ROUTES), sorted(in_source))
    ops = op_table(doc)
    for route in KNOWN_ROUTES + PROBES:
        check("the server serves %s %s, and docs/openapi.json documents it" % route,
              route in ops)
    for route in ops:
        check("documented %s %s is a route of the server (KNOWN_ROUTES, PROBES)" % route,
              route in KNOWN_ROUTES + PROBES)


def check_methods(doc, port):
    """Each path asked with a method it does not take: 405, Allow naming
    the methods of every documented path it matches, exactly."""
    ops = op_table(doc)
    paths = sorted({p for m, p in ops if (m, p) not in PROBES})
    templates = {}
    for m, p in ops:
        if (m, p) not in PROBES:
            templates.setdefault(p, set()).add(m)

    def matches(template, concrete):
        t, c = template.strip("/").split("/"), concrete.strip("/").split("/")
        return len(t) == len(c) and all(x == y or re.fullmatch(r"\{[^}]+\}", x)
                                        for x, y in zip(t, c))
    for p in paths:
        concrete = re.sub(r"\{[^}]+\}", "1", p)
        want = set()
        for t, ms in templates.items():
            if matches(t, concrete):
                want |= ms
        wrong = next(m for m in WRONG_METHODS if m not in want)
        a = call(port, wrong, concrete)
        expect("%s %s: status" % (wrong, concrete), a.status, 405)
        expect("%s %s: Allow" % (wrong, concrete),
               set(x.strip() for x in (a.headers.get("Allow") or "").split(",")), want)
        expect("%s %s: a problem document" % (wrong, concrete),
               (a.headers.get("Content-Type"), a.json()["status"]),
               ("application/problem+json", 405))


CREATE = {"customer": "alice", "item": "book", "qty": 2, "amount": "19.99"}


def walk(doc, srv, port):
    """Every operation, on data made for it: each must succeed."""
    ops = op_table(doc)
    # Payment waits for a worker that never comes: the orders stay
    # RESERVED, their sagas running, so that they can be cancelled.
    Protocol(srv)("SIM", "SET", "payment", "enabled=0")
    dead_letters(srv, 3)

    op, params = ops[("POST", "/orders")]
    a = ask(doc, port, "POST", "/orders", op, params, body=CREATE,
            headers={"Idempotency-Key": "walk-1"})
    expect("POST /orders: created", a.status, 201)
    first = a.json()
    expect("Location", a.headers.get("Location"), "/orders/%d" % first["id"])
    expect("the order's key", first.get("key"), "walk-1")
    # The same key and body: the same order; another body: 409.
    again = ask(doc, port, "POST", "/orders", op, params, body=CREATE,
                headers={"Idempotency-Key": "walk-1"})
    expect("the same key and body: 201", again.status, 201)
    expect("... the same order, replayed", (again.json()["id"], again.json().get("replayed"),
                                            again.headers.get("Location")),
           (first["id"], 1, "/orders/%d" % first["id"]))
    other = ask(doc, port, "POST", "/orders", op, params, body=dict(CREATE, qty=3),
                headers={"Idempotency-Key": "walk-1"})
    expect("the same key, another body", (other.status, other.json()["code"]), (409, "CONFLICT"))
    # Amounts: a number as written, a string; answered as strings.
    b = ask(doc, port, "POST", "/orders", op, params,
            body={"customer": "bob", "item": "pen", "qty": "1", "amount": 5.5,
                  "currency": "USD"}).json()
    expect("an amount sent as a number", b["amount"], "5.50")
    order_a, order_b = first["id"], b["id"]
    for oid in (order_a, order_b):
        wait_for("order %d RESERVED" % oid,
                 lambda: call(port, "GET", "/orders/%d" % oid).json()["status"] == "RESERVED")

    a_id = {"id": order_a}
    fixtures = {
        ("GET", "/orders"): dict(query={"status": "RESERVED", "customer": "alice", "after": 0,
                                        "limit": 1}),
        ("GET", "/orders/{id}"): dict(values=a_id),
        ("PATCH", "/orders/{id}"): dict(values={"id": order_b},
                                        body={"status": "CANCELLED", "note": "walked"}),
        ("POST", "/orders/{id}/cancel"): dict(values=a_id, body={"reason": "walked"}),
        ("GET", "/orders/{id}/history"): dict(values=a_id),
        ("GET", "/orders/{id}/saga"): dict(values=a_id),
        ("GET", "/track/{id}"): dict(values=a_id),
        ("GET", "/dlq"): dict(query={"channel": "jobs", "limit": 10}),
        ("POST", "/dlq/replay"): dict(query={"channel": "jobs", "limit": 1}),
        ("GET", "/dlq/{id}"): dict(values={"id": 3}),
        ("POST", "/dlq/{id}/replay"): dict(values={"id": 2}),
        ("DELETE", "/dlq/{id}"): dict(values={"id": 3}),
        ("GET", "/events"): dict(query={"channels": "order.status,jobs", "lastEventId": "jobs:1"}),
    }
    # Reads, then changes, then deletes; in path order within each.
    phase = {"GET": 0, "DELETE": 2}
    answers = {}
    for method, path in sorted(ops, key=lambda r: (phase.get(r[0], 1), r[1], r[0])):
        if (method, path) == ("POST", "/orders"):
            continue
        op, params = ops[(method, path)]
        fx = fixtures.get((method, path), {})
        query_params = {p["name"] for p in params if p["in"] == "query"}
        expect("the walk gives %s %s every query parameter it documents" % (method, path),
               set(fx.get("query", {})), query_params)
        a = ask(doc, port, method, path, op, params, **fx)
        check("%s %s succeeds" % (method, path), 200 <= a.status < 300,
              "%d %r" % (a.status, (a.body or b"")[:300]))
        answers[(method, path)] = a

    page = answers[("GET", "/orders")].json()
    expect("a full page of one says where to go on", (len(page["orders"]), page["next"]),
           (1, order_a))
    saga = answers[("GET", "/orders/{id}/saga")].json()
    expect("the saga waits for payment", (saga[0]["order"], saga[0]["step"]),
           (order_a, "payment.authorize"))
    expect("cancel with the saga in flight",
           answers[("POST", "/orders/{id}/cancel")].json().get("saga"), "cancelling")
    expect("DLQ list", len(answers[("GET", "/dlq")].json()["dead_letters"]), 3)
    expect("DLQ show", answers[("GET", "/dlq/{id}")].json()["payload"], "job-3")
    expect("replay of the oldest", answers[("POST", "/dlq/replay")].json(), {"replayed": 1})
    expect("replay of one", answers[("POST", "/dlq/{id}/replay")].json(), {"replayed": 1})
    expect("purge", answers[("DELETE", "/dlq/{id}")].json(), {"purged": 1})
    expect("/events", answers[("GET", "/events")].headers.get("Content-Type", "").split(";")[0],
           "text/event-stream")


def walk_errors(doc, port):
    """An id that does not exist, one that is not an id, a query parameter
    nobody takes: each answer documented."""
    for (method, path), (op, params) in op_table(doc).items():
        if (method, path) in PROBES:
            continue
        body = example_body(doc, op)
        if "{id}" in path:
            a = ask(doc, port, method, path, op, params, values={"id": 999999}, body=body)
            expect("%s %s of a missing id" % (method, path), a.status, 404)
            a = ask(doc, port, method, path, op, params, values={"id": "x1"}, body=body)
            expect("%s %s of a malformed id" % (method, path), a.status, 400)
        else:
            a = call(port, method, target_of(path, {}, {"bogus": "1"}))
            documented(doc, method, path, op, a)
            expect("%s %s?bogus=1" % (method, path), (a.status, a.json()["code"]),
                   (400, "BADARG"))


def walk_users(doc, srv, port):
    """With users: credentials as the document says."""
    def basic(user, pw):
        return {"Authorization": "Basic " + base64.b64encode(
            ("%s:%s" % (user, pw)).encode()).decode()}
    for (method, path), (op, params) in op_table(doc).items():
        open_to_all = security_of(doc, op) == []
        values = {"id": 1} if "{id}" in path else None
        body = example_body(doc, op)
        for who, hs in (("nobody", None), ("a wrong password", basic("shop", "wrong"))):
            a = ask(doc, port, method, path, op, params, values=values, body=body, headers=hs)
            if open_to_all:
                check("%s %s is open to %s" % (method, path, who), 200 <= a.status < 300,
                      str(a.status))
            else:
                expect("%s %s from %s" % (method, path, who), a.status, 401)
        # A client may create and read orders, not touch the dead letters.
        a = ask(doc, port, method, path, op, params, values=values, body=body,
                headers=basic("shop", "shop-pw"))
        check("%s %s as a client: not 401" % (method, path), a.status != 401, str(a.status))
        if path.startswith("/dlq") or path == "/metrics":
            expect("%s %s as a client" % (method, path), a.status, 403)
    op, params = op_table(doc)[("GET", "/orders")]
    a = ask(doc, port, "GET", "/orders", op, params,
            headers={"Authorization": "Bearer admin:admin-pw"})
    expect("Bearer user:password", a.status, 200)


def walk_refusals(doc, port):
    """Over --maxmemory: every change refused, 503 with Retry-After."""
    ops = op_table(doc)
    op, params = ops[("POST", "/orders")]
    wait_for("POST /orders refused over --maxmemory",
             lambda: ask(doc, port, "POST", "/orders", op, params, body=CREATE).status == 503)
    for (method, path), (op, params) in ops.items():
        if method == "GET":
            continue
        values = {"id": 1} if "{id}" in path else None
        a = ask(doc, port, method, path, op, params, values=values,
                body=example_body(doc, op))
        expect("%s %s over --maxmemory" % (method, path), (a.status, a.json()["code"]),
               (503, "OOM"))


def walk_limits(doc, port):
    """The port's limits, on a server with tiny ones: a body over
    --http-max-body 413, more channels than --max-subscriptions 429, a
    stream past --http-max-streams 503 with Retry-After."""
    ops = op_table(doc)
    for (method, path), (op, params) in ops.items():
        if "requestBody" in op:
            values = {"id": 1} if "{id}" in path else None
            body = dict(example_body(doc, op))
            for text in ("customer", "note", "reason"):
                if text in body:
                    body[text] = "c" * 200  # valid, and over 64 bytes
            a = ask(doc, port, method, path, op, params, values=values, body=body)
            expect("%s %s with a body over --http-max-body" % (method, path), a.status, 413)
    op, params = ops[("GET", "/events")]
    a = ask(doc, port, "GET", "/events", op, params, query={"channels": "a,b"})
    expect("two channels over --max-subscriptions 1", (a.status, a.json()["code"]),
           (429, "LIMIT"))
    held = http.client.HTTPConnection("127.0.0.1", port, timeout=READ_TIMEOUT)
    try:
        held.request("GET", "/events?channels=a")
        expect("the one stream --http-max-streams allows", held.getresponse().status, 200)
        a = ask(doc, port, "GET", "/events", op, params, query={"channels": "b"})
        expect("a second stream", (a.status, a.json()["code"]), (503, "LIMIT"))
    finally:
        held.close()


def walk_busy(doc, port):
    """Past --http-max-connections every request, whatever its path, is
    answered 503 with Retry-After."""
    held = http.client.HTTPConnection("127.0.0.1", port, timeout=READ_TIMEOUT)
    try:
        held.request("GET", "/healthz")
        r = held.getresponse()
        expect("the one connection --http-max-connections allows", (r.status, r.read()),
               (200, b"ok\n"))
        for (method, path), (op, params) in op_table(doc).items():
            a = ask(doc, port, method, path, op, params,
                    values={"id": 1} if "{id}" in path else None,
                    query={"channels": "a"} if path == "/events" else None,
                    body=example_body(doc, op))
            expect("%s %s past --http-max-connections" % (method, path),
                   (a.status, a.json()["code"]), (503, "LIMIT"))
    finally:
        held.close()


def main():
    with open(DOC_FILE, "rb") as f:
        on_disk = f.read()
    with Orderd() as srv:
        port = srv.http_port()
        a = call(port, "GET", "/openapi.json")
        expect("GET /openapi.json", (a.status, a.headers.get("Content-Type")),
               (200, "application/json"))
        check("the document served is docs/openapi.json", a.body == on_disk,
              "(%d bytes served, %d on disk): rebuild orderd" % (len(a.body), len(on_disk)))
        doc = a.json()
        check_structure(doc)
        expect("info.version is the server's", doc["info"]["version"], server_version(port))
        check_routes(doc)
        check_methods(doc, port)
        walk(doc, srv, port)
        walk_errors(doc, port)

    with tempfile.TemporaryDirectory(prefix="orderd-openapi-") as tmp:
        acl = os.path.join(tmp, "users.acl")
        with open(acl, "w") as f:
            f.write("user admin on >admin-pw +@admin\nuser shop on >shop-pw +@client\n")
        with Orderd("--acl-file", acl) as srv:
            walk_users(doc, srv, srv.http_port())

    with Orderd("--maxmemory", "1") as srv:
        walk_refusals(doc, srv.http_port())

    with Orderd("--http-max-body", "64", "--max-subscriptions", "1",
                "--http-max-streams", "1") as srv:
        walk_limits(doc, srv.http_port())

    with Orderd("--http-max-connections", "1") as srv:
        walk_busy(doc, srv.http_port())


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print("ok: the OpenAPI document and the server agree (%.1f s)" % (time.monotonic() - start))
