/* CORS (see http_cors.h). Only what a browser needs to call the API: the
 * origin allowed, the methods and request headers the API takes, and the
 * response headers a page may read. Credentials are allowed only for a
 * named origin, never with "*" (browsers refuse that pair). */
#include "http_cors.h"

#include <event2/http.h>
#include <string.h>

#define CORS_METHODS "GET, HEAD, POST, PATCH, DELETE, OPTIONS"
#define CORS_HEADERS "Authorization, Content-Type, Idempotency-Key, Last-Event-ID"
#define CORS_EXPOSE "Location, Retry-After"
#define CORS_MAX_AGE "600"

bool http_cors_allows(const char *origin, const char *page_origin)
{
    return origin && page_origin && (strcmp(origin, "*") == 0 || strcmp(origin, page_origin) == 0);
}

bool http_cors(const char *origin, struct evhttp_request *req)
{
    if (origin == NULL)
        return false;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *page = evhttp_find_header(in, "Origin");
    evhttp_add_header(out, "Vary", "Origin");
    if (!http_cors_allows(origin, page))
        return false;
    bool any = strcmp(origin, "*") == 0;
    evhttp_add_header(out, "Access-Control-Allow-Origin", any ? "*" : page);
    if (!any)
        evhttp_add_header(out, "Access-Control-Allow-Credentials", "true");
    if (evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS &&
        evhttp_find_header(in, "Access-Control-Request-Method")) {
        evhttp_add_header(out, "Access-Control-Allow-Methods", CORS_METHODS);
        evhttp_add_header(out, "Access-Control-Allow-Headers", CORS_HEADERS);
        evhttp_add_header(out, "Access-Control-Max-Age", CORS_MAX_AGE);
        evhttp_send_reply(req, 204, "No Content", NULL);
        return true;
    }
    evhttp_add_header(out, "Access-Control-Expose-Headers", CORS_EXPOSE);
    return false;
}
