/* The HTTP API's routes (see http_route.h). */
#include "http_route.h"

#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/kvargs.h"
#include "reply.h"

static const char *const verb_names[] = {"GET", "HEAD", "POST", "PUT", "PATCH",
                                         "DELETE", "OPTIONS", "OTHER"};

enum http_verb http_verb_parse(const char *method)
{
    for (int v = VERB_GET; v < VERB_OTHER; v++)
        if (strcmp(method, verb_names[v]) == 0)
            return (enum http_verb)v;
    return VERB_OTHER;
}

const char *http_verb_name(enum http_verb v)
{
    return verb_names[v];
}

/* --- building the call -------------------------------------------------- */

int http_problem_set(struct http_problem *p, int status, const char *code, const char *fmt, ...)
{
    p->status = status;
    p->code = code;
    p->allow[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof p->detail, fmt, ap);
    va_end(ap);
    return -1;
}


/* Arguments are appended as offsets into text, NUL-terminated, and
 * pointed at once text stops moving (finish()). */
static int add_arg(struct http_call *c, const char *prefix, const char *v, size_t n,
                   struct http_problem *p)
{
    if (c->req.argc == HTTP_CALL_MAX_ARGS) {
        http_problem_set(p, 400, ERR_BADARG, "too many parameters");
        return -1;
    }
    size_t plen = prefix ? strlen(prefix) : 0;
    c->args[c->req.argc].ptr = (const char *)(uintptr_t)buf_used(&c->text);
    c->args[c->req.argc].len = plen + n;
    if (plen)
        buf_append(&c->text, prefix, plen);
    buf_append(&c->text, v, n);
    buf_appendc(&c->text, '\0');
    c->req.argc++;
    return 0;
}

static int add_word(struct http_call *c, const char *word, struct http_problem *p)
{
    return add_arg(c, NULL, word, strlen(word), p);
}

static void finish(struct http_call *c)
{
    for (size_t i = 0; i < c->req.argc; i++)
        c->args[i].ptr = buf_head(&c->text) + (uintptr_t)c->args[i].ptr;
    c->req.argv = c->args;
    c->req.kind = PROTO_JSON;
}

void http_call_free(struct http_call *c)
{
    buf_free(&c->text);
}

/* --- query strings -------------------------------------------------------- */

char *http_query_param(const char *query, const char *name)
{
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    char *out = NULL;
    if (query && evhttp_parse_query_str(query, &kv) == 0) {
        const char *v = evhttp_find_header(&kv, name);
        if (v)
            out = strdup(v);
    }
    evhttp_clear_headers(&kv);
    return out;
}

/* Every parameter of the query as name=value arguments, each one of the
 * names allowed (a NULL-terminated list). */
static int add_query(struct http_call *c, const char *query, const char *const *allowed,
                     struct http_problem *p)
{
    if (query == NULL || *query == '\0')
        return 0;
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    int rc = 0;
    if (evhttp_parse_query_str(query, &kv) != 0) {
        http_problem_set(p, 400, ERR_BADARG, "the query string is malformed");
        rc = -1;
    }
    for (struct evkeyval *e = TAILQ_FIRST(&kv); rc == 0 && e; e = TAILQ_NEXT(e, next)) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], e->key) != 0)
            i++;
        if (allowed[i] == NULL) {
            char names[128] = "";
            for (size_t k = 0; allowed[k]; k++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         k ? ", " : "", allowed[k]);
            http_problem_set(p, 400, ERR_BADARG, "unknown query parameter '%.64s' (%s)", e->key,
                    allowed[0] ? names : "none are taken");
            rc = -1;
            break;
        }
        char prefix[40];
        snprintf(prefix, sizeof prefix, "%s=", e->key);
        rc = add_arg(c, prefix, e->value, strlen(e->value), p);
    }
    evhttp_clear_headers(&kv);
    return rc;
}

/* --- JSON bodies ------------------------------------------------------------ */

/* The fields of a body: an object whose members are each one of the names
 * allowed, valued by a string or a number (kept as written, so an amount
 * never passes through a binary float), or null (as if absent). Each
 * becomes name=value. An empty body is an empty object. */
static int add_body(struct http_call *c, const char *body, size_t len,
                    const char *const *allowed, size_t required, struct http_problem *p)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i == len) {
        if (required == 0)
            return 0;
        http_problem_set(p, 400, ERR_BADARG, "missing field '%s'", allowed[0]);
        return -1;
    }
    struct json_tokener *tok = json_tokener_new_ex(HTTP_BODY_MAX_DEPTH);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    int rc = 0;
    if (jerr != json_tokener_success || obj == NULL) {
        http_problem_set(p, 400, ERR_BADARG, "the body is not JSON: %s",
                jerr == json_tokener_continue ? "it ends early" : json_tokener_error_desc(jerr));
        json_object_put(obj);
        return -1;
    }
    for (size_t k = used; k < len; k++)
        if (body[k] != ' ' && body[k] != '\t' && body[k] != '\r' && body[k] != '\n') {
            http_problem_set(p, 400, ERR_BADARG, "the body has more after its JSON value");
            json_object_put(obj);
            return -1;
        }
    if (!json_object_is_type(obj, json_type_object)) {
        http_problem_set(p, 400, ERR_BADARG, "the body must be a JSON object");
        json_object_put(obj);
        return -1;
    }
    json_object_object_foreach(obj, key, val) {
        size_t a = 0;
        while (allowed[a] && strcmp(allowed[a], key) != 0)
            a++;
        if (allowed[a] == NULL) {
            http_problem_set(p, 400, ERR_BADARG, "unknown field '%.64s'", key);
            rc = -1;
            break;
        }
        enum json_type t = json_object_get_type(val);
        if (t == json_type_null)
            continue;
        const char *text;
        size_t n;
        if (t == json_type_string) {
            text = json_object_get_string(val);
            n = (size_t)json_object_get_string_len(val);
        } else if (t == json_type_int || t == json_type_double) {
            text = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
            n = strlen(text);
        } else {
            http_problem_set(p, 400, ERR_BADARG, "field '%s' must be a string or a number", key);
            rc = -1;
            break;
        }
        char prefix[40];
        snprintf(prefix, sizeof prefix, "%s=", key);
        if ((rc = add_arg(c, prefix, text, n, p)) != 0)
            break;
    }
    /* The first `required` names must be there, and not null. */
    for (size_t k = 0; rc == 0 && k < required; k++) {
        struct json_object *v;
        if (!json_object_object_get_ex(obj, allowed[k], &v) || v == NULL) {
            http_problem_set(p, 400, ERR_BADARG, "missing field '%s'", allowed[k]);
            rc = -1;
        }
    }
    json_object_put(obj);
    return rc;
}

/* --- the routes --------------------------------------------------------------- */

/* A path split into its segments, each percent-decoded. */
#define PATH_MAX_SEGMENTS 4
struct path {
    char *seg[PATH_MAX_SEGMENTS];
    size_t n;
};

static void path_free(struct path *pt)
{
    for (size_t i = 0; i < pt->n; i++)
        free(pt->seg[i]);
}

/* Returns 0, or -1 for a path of more segments than any route has (or a
 * segment that decodes to a NUL). */
static int path_split(const char *path, struct path *pt)
{
    pt->n = 0;
    const char *s = path;
    while (*s == '/')
        s++;
    while (*s) {
        const char *end = strchr(s, '/');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (pt->n == PATH_MAX_SEGMENTS)
            return -1;
        char raw[256];
        if (len >= sizeof raw)
            return -1;
        memcpy(raw, s, len);
        raw[len] = '\0';
        size_t dlen = 0;
        char *d = evhttp_uridecode(raw, 0, &dlen);
        if (d == NULL || strlen(d) != dlen) {
            free(d);
            return -1;
        }
        pt->seg[pt->n++] = d;
        s += len;
        while (*s == '/')
            s++;
    }
    return 0;
}

/* A pattern's segments: a literal, or "{id}" for any one. */
static bool match(const struct path *pt, const char *pattern)
{
    char copy[64];
    snprintf(copy, sizeof copy, "%s", pattern);
    size_t i = 0;
    for (char *save, *w = strtok_r(copy, "/", &save); w; w = strtok_r(NULL, "/", &save), i++) {
        if (i == pt->n)
            return false;
        if (strcmp(w, "{id}") != 0 && strcmp(w, pt->seg[i]) != 0)
            return false;
    }
    return i == pt->n;
}

static const char *const no_params[] = {NULL};
static const char *const list_params[] = {"status", "customer", "after", "limit", NULL};
static const char *const dlq_list_params[] = {"channel", "limit", NULL};
static const char *const create_fields[] = {"customer", "item", "qty", "amount", "currency", NULL};
static const char *const update_fields[] = {"status", "note", NULL};
static const char *const cancel_fields[] = {"reason", NULL};
static const char *const events_params[] = {"channels", "lastEventId", NULL};

struct route {
    enum http_verb verb;
    const char *pattern;
    enum http_shape shape;
    const char *wrap;
    /* The command's words; "{id}" is the path's id. */
    const char *words[4];
    const char *const *params;  /* the query's */
    const char *const *fields;  /* the body's; NULL: no body */
    size_t required;            /* the first so many fields must be given */
};

/* Literal paths before the patterns they would also match. */
static const struct route routes[] = {
    {VERB_GET, "/orders", SHAPE_ORDER_PAGE, NULL, {"LIST"}, list_params, NULL, 0},
    {VERB_POST, "/orders", SHAPE_CREATED, NULL, {"CREATE"}, no_params, create_fields, 4},
    {VERB_GET, "/orders/{id}", SHAPE_PLAIN, NULL, {"GET", "{id}"}, no_params, NULL, 0},
    {VERB_PATCH, "/orders/{id}", SHAPE_PLAIN, NULL, {"UPDATE", "{id}"}, no_params, update_fields,
     1},
    {VERB_POST, "/orders/{id}/cancel", SHAPE_PLAIN, NULL, {"CANCEL", "{id}"}, no_params,
     cancel_fields, 0},
    {VERB_GET, "/orders/{id}/history", SHAPE_WRAP, "history", {"HISTORY", "{id}"}, no_params,
     NULL, 0},
    {VERB_GET, "/orders/{id}/saga", SHAPE_PLAIN, NULL, {"SAGA", "{id}"}, no_params, NULL, 0},
    {VERB_GET, "/track/{id}", SHAPE_PLAIN, NULL, {"TRACK", "{id}"}, no_params, NULL, 0},
    {VERB_GET, "/dlq", SHAPE_WRAP, "dead_letters", {"DLQ", "LIST"}, dlq_list_params, NULL, 0},
    {VERB_POST, "/dlq/replay", SHAPE_WRAP, "replayed", {"DLQ", "REPLAY", "ALL"},
     dlq_list_params, NULL, 0},
    {VERB_GET, "/dlq/{id}", SHAPE_PLAIN, NULL, {"DLQ", "SHOW", "{id}"}, no_params, NULL, 0},
    {VERB_POST, "/dlq/{id}/replay", SHAPE_WRAP, "replayed", {"DLQ", "REPLAY", "{id}"},
     no_params, NULL, 0},
    {VERB_DELETE, "/dlq/{id}", SHAPE_WRAP, "purged", {"DLQ", "PURGE", "{id}"}, no_params, NULL, 0},
    {VERB_GET, "/events", SHAPE_EVENTS, NULL, {NULL}, events_params, NULL, 0},
    {VERB_GET, "/openapi.json", SHAPE_OPENAPI, NULL, {NULL}, no_params, NULL, 0},
};

/* The path's id: the segment where the pattern says {id}. */
static const char *path_id(const struct path *pt, const char *pattern)
{
    char copy[64];
    snprintf(copy, sizeof copy, "%s", pattern);
    size_t i = 0;
    for (char *save, *w = strtok_r(copy, "/", &save); w; w = strtok_r(NULL, "/", &save), i++)
        if (strcmp(w, "{id}") == 0)
            return pt->seg[i];
    return NULL;
}

static int build(const struct route *r, const struct path *pt, const char *query,
                 const char *body, size_t bodylen, const char *idempotency_key,
                 struct http_call *c, struct http_problem *p)
{
    c->shape = r->shape;
    c->wrap = r->wrap;
    c->route = r->pattern;
    const char *id = path_id(pt, r->pattern);
    /* /dlq/{id} names one dead letter. The DLQ commands also read the word
     * ALL, every dead letter: as a path's id it would make DELETE /dlq/ALL
     * purge them all. (An order's id is GET's and the others' to check, in
     * the words every framing gets.) */
    uint64_t n;
    if (id && strcmp(r->words[0], "DLQ") == 0 && kv_parse_uint(id, 1, UINT64_MAX, &n) != 0) {
        char shown[72];
        kv_printable(shown, sizeof shown, id, strlen(id));
        http_problem_set(p, 400, ERR_BADARG, "dead letter id must be a positive integer, got '%s'", shown);
        return -1;
    }
    for (size_t i = 0; i < 4 && r->words[i]; i++) {
        const char *w = strcmp(r->words[i], "{id}") == 0 ? id : r->words[i];
        if (add_word(c, w, p) != 0)
            return -1;
    }
    if (r->shape == SHAPE_EVENTS || r->shape == SHAPE_OPENAPI) {
        /* No command: the query is checked here, and read where served. */
        struct http_call scratch = {0};
        int rc = add_query(&scratch, query, r->params, p);
        http_call_free(&scratch);
        return rc;
    }
    if (add_query(c, query, r->params, p) != 0)
        return -1;
    if (r->fields == NULL) {
        for (size_t i = 0; i < bodylen; i++)
            if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' && body[i] != '\n') {
                http_problem_set(p, 400, ERR_BADARG, "%s %s takes no body", http_verb_name(r->verb),
                        r->pattern);
                return -1;
            }
    } else if (add_body(c, body, bodylen, r->fields, r->required, p) != 0) {
        return -1;
    }
    if (r->shape == SHAPE_CREATED && idempotency_key &&
        add_arg(c, "key=", idempotency_key, strlen(idempotency_key), p) != 0)
        return -1;
    if (r->shape == SHAPE_ORDER_PAGE) {
        /* The page asked for, to tell a full page (there may be more) from
         * the last one; LIST itself checks the value. */
        char *limit = http_query_param(query, "limit");
        c->page = limit ? strtoul(limit, NULL, 10) : 100;
        free(limit);
    }
    return 0;
}

int http_route(enum http_verb verb, const char *path, const char *query, const char *body,
               size_t bodylen, const char *idempotency_key, struct http_call *out,
               struct http_problem *p)
{
    memset(out, 0, sizeof *out);
    buf_init(&out->text);
    struct path pt;
    if (path_split(path, &pt) != 0) {
        path_free(&pt);
        http_problem_set(p, 404, ERR_NOTFOUND, "no such resource");
        return -1;
    }
    const struct route *found = NULL;
    char allow[64] = "";
    for (size_t i = 0; i < sizeof routes / sizeof routes[0] && !found; i++) {
        if (!match(&pt, routes[i].pattern))
            continue;
        /* HEAD is GET without the body. */
        if (routes[i].verb == verb || (verb == VERB_HEAD && routes[i].verb == VERB_GET)) {
            found = &routes[i];
        } else if (!strstr(allow, http_verb_name(routes[i].verb))) {
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", http_verb_name(routes[i].verb));
        }
    }
    int rc = -1;
    if (found) {
        rc = build(found, &pt, query, body, bodylen, idempotency_key, out, p);
    } else if (allow[0]) {
        http_problem_set(p, 405, ERR_ERR, "%s is not allowed here (%s)", http_verb_name(verb), allow);
        snprintf(p->allow, sizeof p->allow, "%s", allow);
    } else {
        http_problem_set(p, 404, ERR_NOTFOUND, "no such resource");
    }
    path_free(&pt);
    if (rc == 0)
        finish(out);
    else
        http_call_free(out);
    return rc;
}
