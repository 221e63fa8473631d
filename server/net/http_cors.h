/* CORS for the HTTP port, off unless --http-cors-origin names the one
 * origin whose pages may call the API from a browser (or "*", any). */
#ifndef NET_HTTP_CORS_H
#define NET_HTTP_CORS_H

#include <stdbool.h>

struct evhttp_request;

/* Adds the CORS headers to req's response when its Origin is allowed.
 * Returns true when req was a preflight (OPTIONS with
 * Access-Control-Request-Method) and has been answered (204). origin
 * NULL: CORS is off, nothing is added, nothing answered. */
bool http_cors(const char *origin, struct evhttp_request *req);

/* Whether a request from page_origin may be answered with CORS headers. */
bool http_cors_allows(const char *origin, const char *page_origin);

#endif
