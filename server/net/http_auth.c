/* HTTP credentials (see http_auth.h). */
#include "http_auth.h"

#include <event2/http.h>

#include "auth/acl.h"
#include "auth/credentials.h"
#include "cmd/command.h"
#include "lib/clock.h"
#include "lib/kvargs.h"
#include "lib/log.h"

enum http_who http_authenticate(const struct cmd_env *env, struct evhttp_request *req,
                                const struct acl_user **user)
{
    *user = NULL;
    if (!acl_enabled(env->acl))
        return HTTP_ANYONE;
    const char *header =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    struct credentials cred;
    if (header == NULL || credentials_parse(header, &cred) != 0)
        return HTTP_NOBODY;
    *user = acl_check(env->acl, cred.user, cred.userlen, cred.password, cred.passlen);
    if (*user == NULL) {
        char shown[96];
        kv_printable(shown, sizeof shown, cred.user, cred.userlen);
        env->counters->auth_failures++;
        log_limited(env->auth_log, env->clk->now_ms, "warn",
                    "event=auth_failed port=http user=\"%s\"", shown);
    }
    credentials_clear(&cred);
    return *user ? HTTP_USER : HTTP_WRONG;
}
