/* Who the connection is: AUTH, ACL WHOAMI|ROLES|USERS; and SHUTDOWN, an
 * admin's. Users and roles are auth/acl.h's; who may run which command is
 * the command table's. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/acl.h"
#include "client.h"
#include "command.h"
#include "lib/clock.h"
#include "lib/kvargs.h"
#include "lib/log.h"

struct reply *cmd_auth(struct cmd_ctx *ctx, const struct request *req)
{
    const struct cmd_env *env = ctx->env;
    if (req->argc > 3)
        return reply_error(ERR_ERR, "wrong number of arguments for 'AUTH'");
    if (!acl_enabled(env->acl))
        return reply_error(ERR_ERR, "AUTH called without any password configured: orderd runs "
                                    "without --requirepass or --acl-file");
    const char *name = ACL_DEFAULT_USER;
    size_t namelen = strlen(ACL_DEFAULT_USER);
    const struct arg *pw = &req->argv[1];
    if (req->argc == 3) {
        name = req->argv[1].ptr;
        namelen = req->argv[1].len;
        pw = &req->argv[2];
    }
    const struct acl_user *u = acl_check(env->acl, name, namelen, pw->ptr, pw->len);
    if (u == NULL) {
        char shown[96];
        kv_printable(shown, sizeof shown, name, namelen);
        env->counters->auth_failures++;
        log_limited(env->auth_log, env->clk->now_ms, "warn",
                    "event=auth_failed client=%llu user=\"%s\"",
                    ctx->client ? (unsigned long long)ctx->client->id : 0ULL, shown);
        return reply_error(ERR_WRONGPASS,
                           "invalid username-password pair or user is disabled.");
    }
    if (ctx->client)
        ctx->client->user = u;
    return reply_status("OK");
}

/* Without users, a connection is everyone: the default user, an admin. */
static const char *whoami(const struct cmd_ctx *ctx, unsigned *roles)
{
    if (!acl_enabled(ctx->env->acl) || ctx->client == NULL) {
        *roles = ROLE_ADMIN;
        return ACL_DEFAULT_USER;
    }
    *roles = ctx->client->user->roles;
    return ctx->client->user->name;
}

struct reply *cmd_acl(struct cmd_ctx *ctx, const struct request *req)
{
    unsigned roles;
    const char *name = whoami(ctx, &roles);
    const char *sub = req->argv[1].ptr;
    if (strcasecmp(sub, "WHOAMI") == 0)
        return reply_cstring(name);
    if (strcasecmp(sub, "ROLES") == 0) {
        struct reply *r = reply_list();
        for (unsigned bit = 1; bit <= ROLE_WORKER; bit <<= 1)
            if (roles & bit)
                reply_list_add(r, reply_cstring(acl_role_name(bit)));
        return r;
    }
    if (strcasecmp(sub, "USERS") == 0) {
        struct reply *r = reply_list();
        const struct acl *acl = ctx->env->acl;
        if (!acl_enabled(acl))
            reply_list_add(r, reply_cstring(ACL_DEFAULT_USER));
        for (size_t i = 0; i < acl->nusers; i++)
            reply_list_add(r, reply_cstring(acl->users[i].name));
        return r;
    }
    char shown[96];
    kv_printable(shown, sizeof shown, sub, req->argv[1].len);
    return reply_error(ERR_BADARG, "unknown ACL subcommand '%s' (WHOAMI, ROLES, USERS)", shown);
}

struct reply *cmd_shutdown(struct cmd_ctx *ctx, const struct request *req)
{
    (void)req;
    if (ctx->env->shutdown == NULL)
        return reply_error(ERR_ERR, "this server cannot be shut down from a command");
    unsigned roles;
    log_event("info", "event=shutdown by=SHUTDOWN client=%llu user=\"%s\"",
              ctx->client ? (unsigned long long)ctx->client->id : 0ULL, whoami(ctx, &roles));
    ctx->env->shutdown(ctx->env->shutdown_ctx);
    return reply_status("OK");
}
