/* COMMAND, COMMAND COUNT, COMMAND DOCS: the command table as Redis's
 * COMMAND describes its own, so that Redis tools know orderd's commands.
 * redis-cli asks for COMMAND DOCS when an interactive session starts, then
 * shows a command's arguments as a hint while it is typed and answers
 * `help <command>` and `help @orderd` from it.
 *
 * Everything here is derived from the table (command.c): names, arities,
 * whether a form reads or changes, roles, summaries, and the arguments,
 * read from each synopsis (synopsis.h). No command is described twice. */
#include "command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/acl.h"
#include "lib/kvargs.h"
#include "synopsis.h"
#include "xalloc.h"

/* Every command is from orderd's first version; all are in one group, so
 * that redis-cli's `help @orderd` lists them. */
#define DOCS_SINCE "0.1.0"
#define DOCS_GROUP "orderd"

/* "name" or "name|sub" in lower case, as Redis names commands. */
static void redis_name(char *out, size_t outlen, const struct command *cmd,
                       const struct syn_form *f)
{
    if (f && f->sub)
        snprintf(out, outlen, "%s|%.*s", cmd->name, (int)f->sublen, f->sub);
    else
        snprintf(out, outlen, "%s", cmd->name);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

static struct reply *parse_error(const struct command *cmd, const char *err)
{
    return reply_error(ERR_ERR, "the synopsis of %s does not read: %s", cmd->name, err);
}

/* --- COMMAND ---------------------------------------------------------------- */

/* A form's flags. changes: 1 it changes state (write), 0 it reads
 * (readonly), -1 only the request can tell (PUBLISH: whether the channel
 * is durable; POLICY: whether settings are given). */
static struct reply *flags_reply(const struct command *cmd, int changes, unsigned roles)
{
    struct reply *r = reply_list();
    if (changes == 1)
        reply_list_add(r, reply_status("write"));
    else if (changes == 0)
        reply_list_add(r, reply_status("readonly"));
    if (roles == ROLE_ADMIN)
        reply_list_add(r, reply_status("admin"));
    if (cmd->flags & CMD_NOAUTH)
        reply_list_add(r, reply_status("no_auth"));
    return r;
}

/* Redis's ACL categories are orderd's roles: the users who may run it (an
 * admin may run everything). */
static struct reply *categories_reply(unsigned roles)
{
    struct reply *r = reply_list();
    char cat[32];
    for (unsigned bit = 1; bit <= ROLE_WORKER; bit <<= 1)
        if ((roles | ROLE_ADMIN) & bit) {
            snprintf(cat, sizeof cat, "@%s", acl_role_name(bit));
            reply_list_add(r, reply_status(cat));
        }
    return r;
}

/* One command's entry: name, arity, flags, first key, last key, step,
 * ACL categories, tips, key specs, subcommands. orderd has no keys in
 * Redis's sense (nothing to route by), so 0, 0, 0 and no key specs. */
static struct reply *entry_reply(const char *name, int arity, struct reply *flags,
                                 struct reply *categories, struct reply *subcommands)
{
    struct reply *r = reply_list();
    reply_list_add(r, reply_cstring(name));
    reply_list_add(r, reply_integer(arity));
    reply_list_add(r, flags);
    reply_list_add(r, reply_integer(0));
    reply_list_add(r, reply_integer(0));
    reply_list_add(r, reply_integer(0));
    reply_list_add(r, categories);
    reply_list_add(r, reply_list());
    reply_list_add(r, reply_list());
    reply_list_add(r, subcommands);
    return r;
}

/* A subcommand's entry: what it changes and who may run it, asked of the
 * table as for a request of those two words (CHANNEL CREATE, DLQ PURGE). */
static struct reply *subcommand_entry(struct cmd_ctx *ctx, const struct command *cmd,
                                      const struct syn_form *f)
{
    char name[96];
    char *sub = xstrndup(f->sub, f->sublen);
    struct arg words[2] = {{cmd->name, strlen(cmd->name)}, {sub, f->sublen}};
    struct request req = {.argc = 2, .argv = words, .kind = PROTO_RESP};
    unsigned roles = command_roles(cmd, &req);
    int changes = command_changes(cmd, ctx->env, &req) ? 1 : 0;
    free(sub);
    redis_name(name, sizeof name, cmd, f);
    return entry_reply(name, synopsis_form_arity(f), flags_reply(cmd, changes, roles),
                       categories_reply(roles), reply_list());
}

static struct reply *command_entry(struct cmd_ctx *ctx, const struct command *cmd)
{
    struct synopsis syn;
    char err[256], name[64];
    if (synopsis_parse(&syn, cmd->name, cmd->synopsis, err, sizeof err) != 0)
        return parse_error(cmd, err);
    struct reply *subs = reply_list();
    for (size_t i = 0; i < syn.nforms; i++)
        if (syn.forms[i].sub)
            reply_list_add(subs, subcommand_entry(ctx, cmd, &syn.forms[i]));
    synopsis_free(&syn);
    int changes = cmd->changes ? -1 : (cmd->flags & CMD_WRITE) ? 1 : 0;
    redis_name(name, sizeof name, cmd, NULL);
    return entry_reply(name, cmd->arity, flags_reply(cmd, changes, cmd->roles),
                       categories_reply(cmd->roles), subs);
}

/* --- COMMAND DOCS ----------------------------------------------------------- */

static struct reply *args_reply(const struct syn_arg *args, size_t n);

/* One argument as Redis documents it: name (as written, which is what
 * redis-cli shows: customer=<id>), type, token, flags, its parts. */
static struct reply *arg_reply(const struct syn_arg *a)
{
    struct reply *r = reply_record();
    reply_record_add(r, "name", reply_string(a->text, a->len));
    reply_record_str(r, "type", synopsis_type_name(a->type));
    if (a->type == SYN_TOKEN)
        reply_record_add(r, "token", reply_string(a->text, a->len));
    if (a->flags) {
        struct reply *flags = reply_list();
        if (a->flags & SYN_OPTIONAL)
            reply_list_add(flags, reply_status("optional"));
        if (a->flags & SYN_MULTIPLE)
            reply_list_add(flags, reply_status("multiple"));
        reply_record_add(r, "flags", flags);
    }
    if (a->type == SYN_ONEOF || a->type == SYN_BLOCK)
        reply_record_add(r, "arguments", args_reply(a->sub, a->nsub));
    return r;
}

static struct reply *args_reply(const struct syn_arg *args, size_t n)
{
    struct reply *r = reply_list();
    for (size_t i = 0; i < n; i++)
        reply_list_add(r, arg_reply(&args[i]));
    return r;
}

static struct reply *docs_head(const struct command *cmd)
{
    struct reply *r = reply_record();
    reply_record_str(r, "summary", cmd->summary);
    reply_record_str(r, "since", DOCS_SINCE);
    reply_record_str(r, "group", DOCS_GROUP);
    return r;
}

/* The command's own forms (not a subcommand's) as its arguments: one
 * form's as they are; several (AUTH <password> | AUTH <user> <password>)
 * as one of them, each a block. */
static void own_arguments(struct reply *doc, const struct synopsis *syn)
{
    const struct syn_form *own = NULL;
    size_t nown = 0;
    for (size_t i = 0; i < syn->nforms; i++)
        if (syn->forms[i].sub == NULL && nown++ == 0)
            own = &syn->forms[i];
    if (nown == 1 && own->nargs > 0)
        reply_record_add(doc, "arguments", args_reply(own->args, own->nargs));
    if (nown < 2)
        return;
    struct reply *forms = reply_list();
    for (size_t i = 0; i < syn->nforms; i++) {
        const struct syn_form *f = &syn->forms[i];
        if (f->sub)
            continue;
        struct reply *block = reply_record();
        reply_record_add(block, "name", reply_string(f->text, f->len));
        reply_record_str(block, "type", "block");
        reply_record_add(block, "arguments", args_reply(f->args, f->nargs));
        reply_list_add(forms, block);
    }
    struct reply *oneof = reply_record();
    reply_record_str(oneof, "name", "form");
    reply_record_str(oneof, "type", "oneof");
    reply_record_add(oneof, "arguments", forms);
    struct reply *list = reply_list();
    reply_list_add(list, oneof);
    reply_record_add(doc, "arguments", list);
}

/* Adds name -> {summary, since, group, arguments, subcommands} to docs.
 * NULL, or the error when the synopsis does not read (the unit tests
 * read every one). */
static struct reply *add_docs(struct reply *docs, const struct command *cmd)
{
    struct synopsis syn;
    char err[256], name[96];
    if (synopsis_parse(&syn, cmd->name, cmd->synopsis, err, sizeof err) != 0)
        return parse_error(cmd, err);
    struct reply *doc = docs_head(cmd);
    own_arguments(doc, &syn);
    struct reply *subs = NULL;
    for (size_t i = 0; i < syn.nforms; i++) {
        const struct syn_form *f = &syn.forms[i];
        if (f->sub == NULL)
            continue;
        struct reply *sub = docs_head(cmd);
        if (f->nargs > 0)
            reply_record_add(sub, "arguments", args_reply(f->args, f->nargs));
        if (subs == NULL)
            subs = reply_record();
        redis_name(name, sizeof name, cmd, f);
        reply_record_add_copy(subs, name, sub);
    }
    if (subs)
        reply_record_add(doc, "subcommands", subs);
    synopsis_free(&syn);
    redis_name(name, sizeof name, cmd, NULL);
    reply_record_add_copy(docs, name, doc);
    return NULL;
}

/* COMMAND DOCS [command...]: every command, or those named (unknown names
 * are left out, as Redis does). */
static struct reply *command_docs(const struct request *req)
{
    size_t n;
    const struct command *table = command_table(&n);
    struct reply *docs = reply_record(), *err = NULL;
    if (req->argc == 2) {
        for (size_t i = 0; i < n && err == NULL; i++)
            err = add_docs(docs, &table[i]);
    } else {
        for (size_t k = 2; k < req->argc && err == NULL; k++) {
            const struct command *cmd = command_lookup(req->argv[k].ptr, req->argv[k].len);
            bool seen = false;
            for (size_t j = 2; j < k && !seen; j++)
                seen = command_lookup(req->argv[j].ptr, req->argv[j].len) == cmd;
            if (cmd && !seen)
                err = add_docs(docs, cmd);
        }
    }
    if (err) {
        reply_free(docs);
        return err;
    }
    return docs;
}

struct reply *cmd_command(struct cmd_ctx *ctx, const struct request *req)
{
    size_t n;
    const struct command *table = command_table(&n);
    if (req->argc == 1) {
        struct reply *all = reply_list();
        for (size_t i = 0; i < n; i++) {
            struct reply *e = command_entry(ctx, &table[i]);
            if (e->type == REPLY_ERROR) {
                reply_free(all);
                return e;
            }
            reply_list_add(all, e);
        }
        return all;
    }
    const char *sub = req->argv[1].ptr;
    if (strcasecmp(sub, "COUNT") == 0) {
        if (req->argc != 2)
            return reply_error(ERR_ERR, "wrong number of arguments for 'COMMAND COUNT'");
        return reply_integer((long long)n);
    }
    if (strcasecmp(sub, "DOCS") == 0)
        return command_docs(req);
    char shown[96];
    kv_printable(shown, sizeof shown, sub, req->argv[1].len);
    return reply_error(ERR_BADARG, "unknown COMMAND subcommand '%s' (COUNT, DOCS)", shown);
}
