/* The HTTP/JSON API (see http_api.h). An exchange is one HTTP request in
 * flight: a client of the command table like a connection is (struct
 * cmd_client first), which lives until its response is sent or its
 * connection goes. */
#include "http_api.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/acl.h"
#include "buf.h"
#include "cmd/client.h"
#include "cmd/command.h"
#include "http_auth.h"
#include "http_peer.h"
#include "http_route.h"
#include "http_sse.h"
#include "json_writer.h"
#include "lib/clock.h"
#include "openapi_doc.h"
#include "render.h"
#include "store/store.h"
#include "xalloc.h"

/* What a reply shows, as for a connection: nothing (wait for nobody), the
 * state (wait for changes made before it), or a change (wait for it). */
enum shows { SHOWS_NOTHING, SHOWS_STATE, SHOWS_CHANGE };

struct exchange {
    struct cmd_client client;      /* first: handlers get this, we get it back */
    struct http_api *api;
    struct evhttp_request *req;    /* NULL once its connection is gone */
    struct http_peer *peer;        /* its connection, watched while in flight */
    struct http_call call;
    struct reply *reply;           /* the answer, once there is one */
    enum shows shows;
    uint64_t wait_pos;             /* held until the store is durable up to it */
    bool held;
    bool running;                  /* inside command_dispatch() */
    void (*cancel)(void *arg);     /* blocked: how to withdraw */
    void *cancel_arg;
    struct exchange *prev, *next;  /* in api->flight */
};

struct http_api {
    struct cmd_env *env;
    struct http_api_config cfg;
    struct exchange *flight;       /* every exchange not yet answered */
    /* Client ids of exchanges count down from the middle, so they never
     * meet the protocol port's, which count up from 1. */
    uint64_t next_id;
    struct http_sse *sse;          /* GET /events */
};

/* --- problems ------------------------------------------------------------- */

static const struct {
    const char *code;
    int status;
    const char *title;
} problems[] = {
    {ERR_NOTFOUND, 404, "Not found"},
    {ERR_BADARG, 400, "Bad argument"},
    {ERR_ERR, 400, "Bad request"},
    {ERR_STATE, 409, "Not allowed in this state"},
    {ERR_CONFLICT, 409, "Conflict"},
    {ERR_LIMIT, 429, "Limit reached"},
    {ERR_STORE, 503, "The store cannot record changes now"},
    {ERR_UNAVAILABLE, 503, "The database is unavailable"},
    {ERR_READONLY, 503, "This node is a standby"},
    {ERR_NOAUTH, 401, "Authentication required"},
    {ERR_WRONGPASS, 401, "Wrong user or password"},
    {ERR_NOPERM, 403, "Not permitted"},
    {ERR_OOM, 503, "Memory is over --maxmemory"},
};

int http_status_of(const char *code)
{
    for (size_t i = 0; i < sizeof problems / sizeof problems[0]; i++)
        if (strcmp(problems[i].code, code) == 0)
            return problems[i].status;
    return 500;
}

static const char *title_of(const char *code, int status)
{
    switch (status) {
    case 405: return "Method not allowed";
    case 413: return "Body too large";
    case 415: return "Unsupported media type";
    default: break;
    }
    for (size_t i = 0; i < sizeof problems / sizeof problems[0]; i++)
        if (strcmp(problems[i].code, code) == 0)
            return problems[i].title;
    return "Error";
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

void http_send_body(struct evhttp_request *req, int status, const char *reason,
                    const void *body, size_t n)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        char len[24];
        snprintf(len, sizeof len, "%zu", n);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
    } else {
        evbuffer_add(evhttp_request_get_output_buffer(req), body, n);
    }
    evhttp_send_reply(req, status, reason, NULL);
}

static void send_json(struct evhttp_request *req, int status, const char *type,
                      const struct buf *body)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", type);
    http_send_body(req, status, reason_of(status), buf_head(body), buf_used(body));
}

void http_send_problem(struct evhttp_request *req, int status, const char *code,
                       const char *detail, const char *allow)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (status == 503)
        evhttp_add_header(out, "Retry-After", "1");
    if (status == 401)
        evhttp_add_header(out, "WWW-Authenticate", HTTP_AUTH_CHALLENGE);
    if (allow && allow[0])
        evhttp_add_header(out, "Allow", allow);
    char type[64];
    snprintf(type, sizeof type, "urn:orderd:error:%s", code);
    for (char *p = type + 17; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    struct buf b;
    buf_init(&b);
    buf_appends(&b, "{\"type\":");
    json_cstr(&b, type);
    buf_appends(&b, ",\"title\":");
    json_cstr(&b, title_of(code, status));
    buf_appends(&b, ",\"status\":");
    json_int(&b, status);
    buf_appends(&b, ",\"detail\":");
    json_cstr(&b, detail);
    buf_appends(&b, ",\"code\":");
    json_cstr(&b, code);
    buf_appendc(&b, '}');
    send_json(req, status, "application/problem+json", &b);
    buf_free(&b);
}

/* --- responses ---------------------------------------------------------------- */

static long long record_id(const struct reply *r)
{
    const struct reply *id = r && r->type == REPLY_RECORD ? reply_record_get(r, "id") : NULL;
    return id && id->type == REPLY_INTEGER ? id->integer : -1;
}

static void respond(struct exchange *x, struct reply *r)
{
    struct evhttp_request *req = x->req;
    if (r->type == REPLY_ERROR) {
        http_send_problem(req, http_status_of(r->code), r->code, r->str, NULL);
        return;
    }
    struct buf b;
    buf_init(&b);
    int status = 200;
    switch (x->call.shape) {
    case SHAPE_CREATED: {
        long long id = record_id(r);
        if (id > 0) {
            char location[48];
            snprintf(location, sizeof location, "/orders/%lld", id);
            evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
        }
        status = 201;
        render_json(&b, r);
        break;
    }
    case SHAPE_ORDER_PAGE: {
        buf_appends(&b, "{\"orders\":");
        render_json(&b, r);
        buf_appends(&b, ",\"next\":");
        /* A full page may have more after it; go on after its last id. */
        long long last = r->type == REPLY_LIST && r->n > 0 ? record_id(r->items[r->n - 1]) : -1;
        if (r->type == REPLY_LIST && r->n > 0 && r->n == x->call.page && last > 0)
            json_int(&b, last);
        else
            buf_appends(&b, "null");
        buf_appendc(&b, '}');
        break;
    }
    case SHAPE_WRAP:
        buf_appendc(&b, '{');
        json_cstr(&b, x->call.wrap);
        buf_appendc(&b, ':');
        render_json(&b, r);
        buf_appendc(&b, '}');
        break;
    default:
        render_json(&b, r);
        break;
    }
    send_json(req, status, "application/json", &b);
    buf_free(&b);
}

/* --- exchanges ------------------------------------------------------------------ */

static void exchange_free(struct exchange *x)
{
    struct http_api *a = x->api;
    if (x->req)
        http_peer_watch(x->peer, NULL, NULL);
    if (x->cancel)
        x->cancel(x->cancel_arg);
    if (x->prev)
        x->prev->next = x->next;
    else
        a->flight = x->next;
    if (x->next)
        x->next->prev = x->prev;
    if (x->reply)
        reply_free(x->reply);
    http_call_free(&x->call);
    free(x);
}

/* Sends the answer and ends the exchange. */
static void finish(struct exchange *x)
{
    if (x->req) {
        http_peer_watch(x->peer, NULL, NULL);
        respond(x, x->reply);
        x->req = NULL;
    }
    exchange_free(x);
}

/* The answer is known: out now, or once the store is durable past the
 * changes it may show (as guard() in conn.c decides). */
static void answer(struct exchange *x, struct reply *r, enum shows shows)
{
    if (x->reply)
        reply_free(x->reply);
    x->reply = r;
    x->shows = shows;
    if (x->running)
        return;  /* dispatch is still on the stack: handled when it returns */
    const struct store *st = x->api->env->store;
    uint64_t pos = store_end(st);
    if (shows == SHOWS_NOTHING || pos <= store_durable(st) ||
        (shows == SHOWS_STATE && store_stalled(st))) {
        finish(x);
        return;
    }
    x->held = true;
    x->wait_pos = pos;
}

static struct exchange *of_client(struct cmd_client *cl)
{
    return (struct exchange *)cl;
}

/* More than one reply (SUBSCRIBE's): no route makes one; the first stands. */
static void client_reply(struct cmd_client *cl, struct reply *r)
{
    struct exchange *x = of_client(cl);
    if (x->reply == NULL && x->running)
        x->reply = r;
    else
        reply_free(r);
}

static void client_block(struct cmd_client *cl, void (*cancel)(void *arg), void *arg)
{
    struct exchange *x = of_client(cl);
    x->cancel = cancel;
    x->cancel_arg = arg;
}

static void client_unblock(struct cmd_client *cl, struct reply *r)
{
    struct exchange *x = of_client(cl);
    x->cancel = NULL;
    x->cancel_arg = NULL;
    answer(x, r, SHOWS_CHANGE);
}

static void client_close_after_reply(struct cmd_client *cl)
{
    (void)cl;  /* QUIT has no route */
}

static const struct cmd_client_ops client_ops = {
    .reply = client_reply,
    .block = client_block,
    .unblock = client_unblock,
    .close_after_reply = client_close_after_reply,
};

/* The client went before its answer: nothing is sent; a blocked request
 * is withdrawn. */
static void on_connection_gone(void *arg)
{
    struct exchange *x = arg;
    x->req = NULL;
    exchange_free(x);
}

/* Runs the call as the user, and answers or waits. */
static void run(struct http_api *a, struct evhttp_request *req, struct http_peer *peer,
                struct http_call *call, const struct acl_user *user)
{
    struct exchange *x = xcalloc(1, sizeof *x);
    x->client.ops = &client_ops;
    x->client.id = a->next_id--;
    x->client.user = user;
    x->client.sub.kind = PROTO_JSON;
    x->api = a;
    x->req = req;
    x->peer = peer;
    x->call = *call;
    x->next = a->flight;
    if (a->flight)
        a->flight->prev = x;
    a->flight = x;
    http_peer_watch(peer, on_connection_gone, x);

    struct cmd_ctx ctx = {.env = a->env, .client = &x->client};
    a->env->counters->commands++;
    x->running = true;
    struct reply *r = command_dispatch(&ctx, &x->call.req);
    x->running = false;
    enum shows shows = ctx.stateless ? SHOWS_NOTHING : ctx.changes ? SHOWS_CHANGE : SHOWS_STATE;
    if (r) {
        answer(x, r, shows);
    } else if (x->reply) {
        struct reply *given = x->reply;
        x->reply = NULL;
        answer(x, given, x->cancel ? SHOWS_CHANGE : shows);
    }
    /* Else blocked: unblock() answers. */
}

/* --- the API -------------------------------------------------------------------- */

struct http_api *http_api_new(struct cmd_env *env, const struct http_api_config *cfg)
{
    struct http_api *a = xcalloc(1, sizeof *a);
    a->env = env;
    a->cfg = *cfg;
    a->next_id = UINT64_MAX / 2;
    a->sse = http_sse_new(env, &cfg->sse);
    return a;
}

void http_api_free(struct http_api *a)
{
    if (a == NULL)
        return;
    while (a->flight)
        exchange_free(a->flight);
    http_sse_free(a->sse);
    free(a);
}

void http_api_durable(struct http_api *a, uint64_t pos)
{
    if (a == NULL)
        return;
    http_sse_durable(a->sse, pos);
    struct exchange *x = a->flight;
    while (x) {
        struct exchange *next = x->next;
        if (x->held && x->wait_pos <= pos)
            finish(x);
        x = next;
    }
}

/* A body is read as JSON when it says it is, says nothing, or says what
 * `curl -d` says unless told otherwise (a form, which a JSON object is
 * not, so nothing is misread); any other type is refused (415). */
static bool json_body_type(struct evhttp_request *req)
{
    const char *type =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (type == NULL || strncasecmp(type, "application/json", 16) == 0 ||
        strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0)
        return true;
    const char *semi = strchr(type, ';');
    size_t n = semi ? (size_t)(semi - type) : strlen(type);
    return n > 5 && strncasecmp(type + n - 5, "+json", 5) == 0;
}

bool http_api_handle(struct http_api *a, struct evhttp_request *req, struct http_peer *peer)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri);
    if (path == NULL)
        return false;
    enum http_verb verb;
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: verb = VERB_GET; break;
    case EVHTTP_REQ_HEAD: verb = VERB_HEAD; break;
    case EVHTTP_REQ_POST: verb = VERB_POST; break;
    case EVHTTP_REQ_PUT: verb = VERB_PUT; break;
    case EVHTTP_REQ_PATCH: verb = VERB_PATCH; break;
    case EVHTTP_REQ_DELETE: verb = VERB_DELETE; break;
    case EVHTTP_REQ_OPTIONS: verb = VERB_OPTIONS; break;
    default: verb = VERB_OTHER; break;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t bodylen = evbuffer_get_length(in);
    const char *body = bodylen ? (const char *)evbuffer_pullup(in, (ev_ssize_t)bodylen) : "";
    const char *key =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key");
    if (bodylen > 0 && !json_body_type(req)) {
        http_send_problem(req, 415, ERR_BADARG, "the body must be application/json", NULL);
        return true;
    }
    struct http_call call;
    struct http_problem p;
    if (http_route(verb, path, evhttp_uri_get_query(uri), body, bodylen, key, &call, &p) != 0) {
        if (p.status == 404)
            return false;
        http_send_problem(req, p.status, p.code, p.detail, p.allow);
        return true;
    }
    /* GET /openapi.json: the document (served as it is, to anyone). */
    if (call.shape == SHAPE_OPENAPI) {
        http_call_free(&call);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        struct evbuffer *doc = evbuffer_new();
        evbuffer_add_reference(doc, openapi_doc, openapi_doc_len, NULL, NULL);
        evhttp_send_reply(req, 200, "OK", doc);
        evbuffer_free(doc);
        return true;
    }
    const struct acl_user *user;
    if (http_authenticate(a->env, req, &user) == HTTP_WRONG) {
        http_call_free(&call);
        http_send_problem(req, 401, ERR_WRONGPASS,
                          "invalid username-password pair or user is disabled.", NULL);
        return true;
    }
    /* GET /events: Server-Sent Events, a stream of its own (http_sse.c). */
    if (call.shape == SHAPE_EVENTS) {
        http_call_free(&call);
        struct http_problem sp;
        if (http_sse_open(a->sse, req, peer, user, &sp) != 0)
            http_send_problem(req, sp.status, sp.code, sp.detail, NULL);
        return true;
    }
    run(a, req, peer, &call, user);
    return true;
}
