/* The HTTP API's parsing of what evhttp hands over: the route mapper with
 * its query string and JSON body (server/net/http_route.h), and the
 * Authorization header (server/auth/credentials.h). The input is
 *
 *     <METHOD> <path>[?<query>]
 *     <Idempotency-Key, or an empty line for none>
 *     <Authorization header>
 *     <body: the rest, any bytes>
 *
 * Properties of http_route:
 *   - it routes, or gives a problem: a 4xx status, a code and a detail
 *     (a 405 with the methods the path takes);
 *   - a route's request is one the command table takes: a known command,
 *     its arity, at most HTTP_CALL_MAX_ARGS arguments, each NUL-terminated,
 *     kind PROTO_JSON; CREATE for a 201, LIST for a page; every argument
 *     after the command's words is <name>=<value>;
 *   - each query parameter http_query_param() finds is the first argument
 *     of that name;
 *   - HEAD routes as GET does;
 *   - a body taken, cut anywhere inside its JSON value, is refused whole
 *     (400).
 * Properties of credentials_parse:
 *   - user and password within CREDENTIALS_MAX, NUL-terminated;
 *   - a round trip: written again as Basic base64(user:password), they
 *     parse back the same; the scheme is read in any case. */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/credentials.h"
#include "cmd/command.h"
#include "fuzz.h"
#include "net/http_route.h"

static char *line(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    memcpy(s, *p, n);
    s[n] = '\0';
    *p = nl ? nl + 1 : end;
    return s;
}

/* --- routes ------------------------------------------------------------------ */

static bool same_call(const struct http_call *a, const struct http_call *b)
{
    if (a->req.argc != b->req.argc || a->shape != b->shape)
        return false;
    for (size_t i = 0; i < a->req.argc; i++)
        if (a->req.argv[i].len != b->req.argv[i].len ||
            memcmp(a->req.argv[i].ptr, b->req.argv[i].ptr, a->req.argv[i].len) != 0)
            return false;
    return true;
}

static void check_problem(const struct http_problem *p)
{
    FUZZ_CHECK(p->status >= 400 && p->status < 500, "status %d", p->status);
    FUZZ_CHECK(p->code != NULL && p->detail[0] != '\0', "a problem without code or detail");
    FUZZ_CHECK((p->status == 405) == (p->allow[0] != '\0'), "a %d with Allow '%s'", p->status,
               p->allow);
}

/* The first argument "<name>=..." after the command's words, or NULL. */
static const struct arg *named(const struct http_call *c, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 1; i < c->req.argc; i++)
        if (c->req.argv[i].len > n && memcmp(c->req.argv[i].ptr, name, n) == 0 &&
            c->req.argv[i].ptr[n] == '=')
            return &c->req.argv[i];
    return NULL;
}

static void check_call(const struct http_call *c, const char *query)
{
    const struct request *req = &c->req;
    FUZZ_CHECK(req->argc <= HTTP_CALL_MAX_ARGS, "%zu arguments", req->argc);
    FUZZ_CHECK(req->kind == PROTO_JSON, "kind %d", (int)req->kind);
    FUZZ_CHECK(c->route != NULL, "no route pattern");
    for (size_t i = 0; i < req->argc; i++)
        FUZZ_CHECK(req->argv[i].ptr[req->argv[i].len] == '\0', "argument %zu not terminated", i);
    if (c->shape == SHAPE_EVENTS || c->shape == SHAPE_OPENAPI) {
        FUZZ_CHECK(req->argc == 0, "a route without a command has %zu words", req->argc);
        return;
    }
    FUZZ_CHECK(req->argc >= 1, "no command");
    const struct command *cmd = command_lookup(req->argv[0].ptr, req->argv[0].len);
    FUZZ_CHECK(cmd != NULL, "unknown command '%s'", req->argv[0].ptr);
    FUZZ_CHECK(cmd->arity > 0 ? req->argc == (size_t)cmd->arity
                              : req->argc >= (size_t)-cmd->arity,
               "%s with %zu words (arity %d)", cmd->name, req->argc, cmd->arity);
    if (c->shape == SHAPE_CREATED)
        FUZZ_CHECK(strcmp(cmd->name, "CREATE") == 0, "a 201 for %s", cmd->name);
    if (c->shape == SHAPE_ORDER_PAGE)
        FUZZ_CHECK(strcmp(cmd->name, "LIST") == 0, "a page of %s", cmd->name);
    if (c->shape == SHAPE_WRAP)
        FUZZ_CHECK(c->wrap != NULL, "a wrap without its key");
    /* After the fixed words (the command, a subcommand, an id, ALL),
     * every argument is name=value. */
    bool named_part = false;
    for (size_t i = 1; i < req->argc; i++) {
        bool kv = memchr(req->argv[i].ptr, '=', req->argv[i].len) != NULL;
        size_t name = kv ? strcspn(req->argv[i].ptr, "=") : 0;
        static const char *const names[] = {"status", "customer", "after", "limit", "channel",
                                            "item", "qty", "amount", "currency", "note",
                                            "reason", "key", NULL};
        bool known = false;
        for (size_t k = 0; kv && names[k]; k++)
            known |= strlen(names[k]) == name && memcmp(names[k], req->argv[i].ptr, name) == 0;
        if (named_part)
            FUZZ_CHECK(known, "argument %zu '%s' after name=value ones", i, req->argv[i].ptr);
        named_part |= known;
    }
    static const char *const params[] = {"status", "customer", "after", "limit", "channel",
                                         NULL};
    for (size_t k = 0; query && params[k]; k++) {
        char *v = http_query_param(query, params[k]);
        const struct arg *a = named(c, params[k]);
        if (v && a) {
            size_t n = strlen(params[k]) + 1;
            FUZZ_CHECK(strlen(v) == a->len - n && memcmp(v, a->ptr + n, a->len - n) == 0,
                       "query parameter %s: '%s', the argument '%s'", params[k], v, a->ptr);
        }
        free(v);
    }
}

static void fuzz_route(enum http_verb verb, const char *target, const char *key,
                       const char *body, size_t bodylen)
{
    char *path = strdup(target);
    char *query = strchr(path, '?');
    if (query)
        *query++ = '\0';
    struct http_call c;
    struct http_problem p;
    memset(&p, 0, sizeof p);
    int rc = http_route(verb, path, query, body, bodylen, key, &c, &p);
    if (rc != 0) {
        check_problem(&p);
    } else {
        check_call(&c, query);
    }

    if (verb == VERB_GET || verb == VERB_HEAD) {
        struct http_call o;
        struct http_problem op;
        memset(&op, 0, sizeof op);
        enum http_verb other = verb == VERB_GET ? VERB_HEAD : VERB_GET;
        int orc = http_route(other, path, query, body, bodylen, key, &o, &op);
        FUZZ_CHECK(orc == rc, "GET and HEAD route differently");
        if (rc == 0) {
            FUZZ_CHECK(same_call(&c, &o), "GET and HEAD make different requests");
            http_call_free(&o);
        } else {
            FUZZ_CHECK(op.status == p.status, "GET and HEAD: %d and %d", p.status, op.status);
        }
    }

    /* A body taken, cut inside its JSON value, is refused. (The routes
     * without a command, /events and /openapi.json, do not look at a
     * body at all.) */
    size_t last = bodylen;
    while (last > 0 && strchr(" \t\r\n", body[last - 1]) && body[last - 1])
        last--;
    if (rc == 0 && last > 0 && c.shape != SHAPE_EVENTS && c.shape != SHAPE_OPENAPI) {
        for (size_t k = 0; k < 4; k++) {
            size_t cut = k == 0 ? last - 1 : (size_t)(body[k % bodylen] & 0xff) * 31 % last;
            size_t first = 0;
            while (first < cut && strchr(" \t\r\n", body[first]) && body[first])
                first++;
            if (first == cut)
                continue;  /* blanks only: an empty body, fine where none is needed */
            struct http_call cc;
            struct http_problem cp;
            memset(&cp, 0, sizeof cp);
            if (http_route(verb, path, query, body, cut, key, &cc, &cp) == 0) {
                http_call_free(&cc);
                FUZZ_CHECK(false, "a body cut at %zu of %zu was taken", cut, bodylen);
            }
            FUZZ_CHECK(cp.status == 400, "a body cut at %zu: status %d", cut, cp.status);
        }
    }
    if (rc == 0)
        http_call_free(&c);
    free(path);
}

/* --- credentials --------------------------------------------------------------- */

static void fuzz_credentials(const char *header)
{
    struct credentials cr, back;
    if (credentials_parse(header, &cr) != 0)
        return;
    FUZZ_CHECK(cr.userlen <= CREDENTIALS_MAX && cr.passlen <= CREDENTIALS_MAX,
               "user of %zu and password of %zu bytes", cr.userlen, cr.passlen);
    FUZZ_CHECK(cr.user[cr.userlen] == '\0' && cr.password[cr.passlen] == '\0',
               "not NUL-terminated");
    FUZZ_CHECK(memchr(cr.user, ':', cr.userlen) == NULL, "a colon in the user");

    unsigned char plain[2 * CREDENTIALS_MAX + 1];
    memcpy(plain, cr.user, cr.userlen);
    plain[cr.userlen] = ':';
    memcpy(plain + cr.userlen + 1, cr.password, cr.passlen);
    size_t n = cr.userlen + 1 + cr.passlen;
    char again[16 + 4 * (sizeof plain / 3 + 1) + 1];
    static const char *const schemes[] = {"Basic ", "bASIC  "};
    for (int s = 0; s < 2; s++) {
        size_t at = strlen(schemes[s]);
        memcpy(again, schemes[s], at);
        EVP_EncodeBlock((unsigned char *)again + at, plain, (int)n);
        FUZZ_CHECK(credentials_parse(again, &back) == 0, "'%s' does not parse", again);
        FUZZ_CHECK(back.userlen == cr.userlen && back.passlen == cr.passlen &&
                       memcmp(back.user, cr.user, cr.userlen) == 0 &&
                       memcmp(back.password, cr.password, cr.passlen) == 0,
                   "written again as Basic, the credentials differ");
    }
    credentials_clear(&back);
    credentials_clear(&cr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *first = line(&p, end);
    char *key = line(&p, end);
    char *auth = line(&p, end);
    char *sp = strchr(first, ' ');
    const char *target = sp ? sp + 1 : "/";
    if (sp)
        *sp = '\0';
    fuzz_route(http_verb_parse(first), target, key[0] ? key : NULL, (const char *)p,
               (size_t)(end - p));
    fuzz_credentials(auth);
    free(first);
    free(key);
    free(auth);
    return 0;
}
