/* HTTP: /metrics, /healthz, /readyz (see http.h). */
#include "http.h"

#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/acl.h"
#include "buf.h"
#include "cmd/command.h"
#include "cmd/figures.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "utf8.h"
#include "lib/version.h"
#include "http_api.h"
#include "http_auth.h"
#include "http_cors.h"
#include "http_peer.h"
#include "prom_histogram.h"
#include "store/store.h"
#include "tls.h"
#include "xalloc.h"

struct http {
    struct evhttp *evh;
    struct cmd_env *env;
    struct http_config cfg;
    struct http_api *api;       /* /orders, /track, /dlq, ... */
    struct http_peers *peers;   /* connections, from their first request */
    int port;
};

/* Prometheus wants each family's samples together under one HELP and
 * TYPE; the figures come interleaved, so samples are gathered per family
 * first, in order of first appearance. */
struct family {
    const char *name;
    const char *help;
    const char *type;
    struct buf samples;
};

struct exposition {
    struct family *fams;
    size_t n, cap;
};

static struct family *family(struct exposition *x, const char *name, const char *help,
                             const char *type)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->fams[i].name, name) == 0)
            return &x->fams[i];
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->fams = xrealloc(x->fams, x->cap * sizeof *x->fams);
    }
    struct family *f = &x->fams[x->n++];
    f->name = name;
    f->help = help;
    f->type = type;
    buf_init(&f->samples);
    return f;
}

/* Escaped as the exposition format wants, and valid UTF-8 whatever the
 * name (a channel recorded before names were checked): an invalid byte
 * becomes U+FFFD, as in JSON, so one odd name cannot break scraping. */
static void label_value(struct buf *b, const char *v)
{
    const unsigned char *u = (const unsigned char *)v;
    size_t n = strlen(v);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq_len(u + i, n - i);
        if (len == 0) {
            buf_appends(b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        if (u[i] == '\\' || u[i] == '"')
            buf_appendc(b, '\\');
        if (u[i] == '\n')
            buf_appends(b, "\\n");
        else
            buf_append(b, u + i, len);
        i += len;
    }
}

/* label="value",label2="value2" (nothing for a figure without labels) */
static void labels(struct buf *b, const struct figure *f)
{
    if (f->label) {
        buf_printf(b, "%s=\"", f->label);
        label_value(b, f->value);
        buf_appendc(b, '"');
    }
    if (f->label2) {
        buf_printf(b, ",%s=\"", f->label2);
        label_value(b, f->value2);
        buf_appendc(b, '"');
    }
}

/* name{labels} */
static void sample_name(struct buf *b, const char *name, const struct figure *f)
{
    buf_printf(b, "orderd_%s", name);
    if (f->label) {
        buf_appendc(b, '{');
        labels(b, f);
        buf_appendc(b, '}');
    }
    buf_appendc(b, ' ');
}

static void add(void *arg, const struct figure *f)
{
    struct exposition *x = arg;
    if (f->prom == NULL || (f->kind == FIG_INFO && !f->has_number))
        return;
    struct family *fam;
    switch (f->kind) {
    case FIG_LATENCY: {
        fam = family(x, f->prom, f->help, "histogram");
        char name[160];
        struct buf lb;
        snprintf(name, sizeof name, "orderd_%s", f->prom);
        buf_init(&lb);
        labels(&lb, f);
        buf_appendc(&lb, '\0');
        prom_histogram(&fam->samples, name, buf_head(&lb), f->hist, f->bounds,
                       f->unit_seconds);
        buf_free(&lb);
        return;
    }
    case FIG_COUNTER:
        fam = family(x, f->prom, f->help, "counter");
        break;
    default:
        fam = family(x, f->prom, f->help, "gauge");
    }
    sample_name(&fam->samples, f->prom, f);
    buf_printf(&fam->samples, "%.17g\n", f->number * (f->prom_scale ? f->prom_scale : 1));
}

void http_prometheus(struct cmd_env *env, struct buf *out)
{
    struct exposition x = {NULL, 0, 0};
    buf_printf(out, "# HELP orderd_build_info The running version\n"
                    "# TYPE orderd_build_info gauge\n"
                    "orderd_build_info{version=\"%s\"} 1\n", ORDERD_VERSION);
    figures_walk(env, add, &x);
    for (size_t i = 0; i < x.n; i++) {
        struct family *f = &x.fams[i];
        buf_printf(out, "# HELP orderd_%s %s\n# TYPE orderd_%s %s\n", f->name,
                   f->help ? f->help : f->name, f->name, f->type);
        buf_append(out, buf_head(&f->samples), buf_used(&f->samples));
        buf_free(&f->samples);
    }
    free(x.fams);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason,
                       const char *type, const char *body, size_t n)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    http_send_body(req, code, reason, body, n);
}

static void on_metrics(struct http *h, struct evhttp_request *req)
{
    struct buf out;
    buf_init(&out);
    http_prometheus(h->env, &out);
    reply_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", buf_head(&out),
               buf_used(&out));
    buf_free(&out);
}

static void on_healthz(struct evhttp_request *req)
{
    reply_text(req, 200, "OK", "text/plain", "ok\n", 3);
}

static void on_readyz(struct http *h, struct evhttp_request *req)
{
    const char *refusal = store_refusal(h->env->store);
    char body[256];
    if (h->env->counters->shutting_down) {
        reply_text(req, 503, "Service Unavailable", "text/plain", "shutting down\n", 14);
    } else if (refusal) {
        int n = snprintf(body, sizeof body, "store refusing changes: %s\n", refusal);
        reply_text(req, 503, "Service Unavailable", "text/plain", body,
                   (size_t)n < sizeof body ? (size_t)n : sizeof body - 1);
    } else {
        reply_text(req, 200, "OK", "text/plain", "ready\n", 6);
    }
}

/* With users configured, every path but the probes needs credentials,
 * Basic or Bearer, of a user whose roles allow `needed`: 401 without
 * them (or with wrong ones), 403 for a user whose roles do not. */
static bool authorized(struct http *h, struct evhttp_request *req, unsigned needed)
{
    const struct cmd_env *env = h->env;
    const struct acl_user *u;
    enum http_who who = http_authenticate(env, req, &u);
    if (who == HTTP_ANYONE)
        return true;
    if (who != HTTP_USER) {
        static const char body[] = "authentication required: Basic (user:password) or Bearer\n";
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          HTTP_AUTH_CHALLENGE);
        reply_text(req, 401, "Unauthorized", "text/plain", body, sizeof body - 1);
        return false;
    }
    if (!acl_roles_allow(u->roles, needed)) {
        env->counters->noperm++;
        char roles[64], body[200];
        acl_roles_format(u->roles, roles, sizeof roles);
        int n = snprintf(body, sizeof body, "user %s (%s) may not read this\n", u->name,
                         roles[0] ? roles : "no role");
        reply_text(req, 403, "Forbidden", "text/plain", body,
                   (size_t)n < sizeof body ? (size_t)n : sizeof body - 1);
        return false;
    }
    return true;
}

static size_t header_count(struct evhttp_request *req)
{
    size_t n = 0;
    struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
    for (struct evkeyval *kv = TAILQ_FIRST(hs); kv; kv = TAILQ_NEXT(kv, next))
        n++;
    return n;
}

/* Every request comes here: the limits first, then the path. (The bytes
 * of the request line and headers are bounded by libevent itself, which
 * stops reading past max_header_bytes.) */
static void on_request(struct evhttp_request *req, void *arg)
{
    struct http *h = arg;
    clock_tick(h->env->clk);
    const char *uri = evhttp_request_get_uri(req);
    if (strlen(uri) > h->cfg.max_url) {
        static const char body[] = "URL too long\n";
        reply_text(req, 414, "URI Too Long", "text/plain", body, sizeof body - 1);
        return;
    }
    if (header_count(req) > h->cfg.max_headers) {
        static const char body[] = "too many header fields\n";
        reply_text(req, 431, "Request Header Fields Too Large", "text/plain", body,
                   sizeof body - 1);
        return;
    }
    h->env->counters->http_requests++;
    struct http_peer *peer = http_peer_of(h->peers, req);
    if (peer == NULL) {
        char detail[96];
        snprintf(detail, sizeof detail, "too many HTTP connections (max %zu)",
                 h->cfg.max_connections);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        http_send_problem(req, 503, ERR_LIMIT, detail, NULL);
        return;
    }
    if (http_cors(h->cfg.cors_origin, req))
        return;  /* a preflight, answered */
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (path && strcmp(path, "/metrics") == 0) {
        /* The figures are an operator's to read, as INFO and METRICS are. */
        if (authorized(h, req, ROLE_OPERATOR))
            on_metrics(h, req);
    } else if (path && strcmp(path, "/healthz") == 0) {
        on_healthz(req);
    } else if (path && strcmp(path, "/readyz") == 0) {
        on_readyz(h, req);
    } else if (!http_api_handle(h->api, req, peer)) {
        http_send_problem(req, 404, ERR_NOTFOUND,
                          "no such resource: see /openapi.json, or /metrics, /healthz, /readyz",
                          NULL);
    }
}

void http_config_default(struct http_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->bind, sizeof cfg->bind, "127.0.0.1");
    cfg->port = HTTP_PORT_DEFAULT;
    cfg->max_header_bytes = HTTP_MAX_HEADER_BYTES_DEFAULT;
    cfg->max_headers = HTTP_MAX_HEADERS_DEFAULT;
    cfg->max_url = HTTP_MAX_URL_DEFAULT;
    cfg->max_body = HTTP_MAX_BODY_DEFAULT;
    cfg->max_connections = HTTP_MAX_CONNECTIONS_DEFAULT;
    cfg->idle_timeout = HTTP_IDLE_TIMEOUT_DEFAULT;
    http_sse_config_default(&cfg->sse);
}

/* evhttp asks for each connection's bufferevent before it sets the
 * socket: a TLS session, accepting. */
static struct bufferevent *tls_bufferevent(struct event_base *base, void *arg)
{
    return tls_accept_bufferevent(arg, base, -1);
}

struct http *http_start(struct event_base *base, struct cmd_env *env,
                        const struct http_config *cfg, struct tls_context *tls, char *err,
                        size_t errlen)
{
    struct evhttp *evh = evhttp_new(base);
    struct evhttp_bound_socket *sock =
        evh ? evhttp_bind_socket_with_handle(evh, cfg->bind, (ev_uint16_t)cfg->port) : NULL;
    if (sock == NULL) {
        snprintf(err, errlen, "cannot listen for HTTP on %s:%d", cfg->bind, cfg->port);
        if (evh)
            evhttp_free(evh);
        return NULL;
    }
    struct http *h = xcalloc(1, sizeof *h);
    h->evh = evh;
    h->env = env;
    h->cfg = *cfg;
    evhttp_set_allowed_methods(evh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                        EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
                                        EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
    /* A header line that never ends is cut off here, not buffered. */
    evhttp_set_max_headers_size(evh, (ev_ssize_t)cfg->max_header_bytes);
    evhttp_set_max_body_size(evh, (ev_ssize_t)cfg->max_body);
    /* Idle keep-alive connections, and senders that stall, are closed. */
    evhttp_set_timeout(evh, (int)cfg->idle_timeout);
    struct http_api_config acfg = {.cors_origin = cfg->cors_origin, .sse = cfg->sse};
    h->api = http_api_new(env, &acfg);
    h->peers = http_peers_new(cfg->max_connections, &env->counters->http_connections);
    evhttp_set_gencb(evh, on_request, h);
    if (cfg->tls)
        evhttp_set_bevcb(evh, tls_bufferevent, tls);
    /* Which port (0 picks one): the log says, as for the main port. */
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    h->port = cfg->port;
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len) == 0)
        h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    log_event("info", "event=http_listening addr=%s:%d%s", cfg->bind, h->port,
              cfg->tls ? " tls=yes" : "");
    return h;
}

void http_stop(struct http *h)
{
    if (h == NULL)
        return;
    /* The API's exchanges and the peers first: they hold requests and
     * connections evhttp_free frees. */
    http_api_free(h->api);
    http_peers_free(h->peers);
    evhttp_free(h->evh);
    free(h);
}

void http_durable(struct http *h, uint64_t pos)
{
    if (h)
        http_api_durable(h->api, pos);
}
