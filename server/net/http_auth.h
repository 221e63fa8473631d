/* Who sent an HTTP request: its Authorization header (Basic or Bearer)
 * checked against the users (auth/acl.h), a failure logged and counted as
 * a failed AUTH is. */
#ifndef NET_HTTP_AUTH_H
#define NET_HTTP_AUTH_H

struct cmd_env;
struct evhttp_request;
struct acl_user;

enum http_who {
    HTTP_ANYONE,      /* no users configured: everyone may do everything */
    HTTP_NOBODY,      /* users, and no credentials (or a header orderd cannot read) */
    HTTP_WRONG,       /* credentials that match nobody */
    HTTP_USER,        /* *user authenticated */
};

enum http_who http_authenticate(const struct cmd_env *env, struct evhttp_request *req,
                                const struct acl_user **user);

/* The WWW-Authenticate header a 401 carries. */
#define HTTP_AUTH_CHALLENGE "Basic realm=\"orderd\", charset=\"UTF-8\""

#endif
