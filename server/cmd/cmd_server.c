/* Commands about the server and the session: PING, HELP, QUIT, INFO. */
#include "orders/book.h"
#include "lib/clock.h"
#include "command.h"
#include "client.h"
#include "lib/kvargs.h"
#include "figures.h"
#include "buf.h"
#include "channels/pubsub.h"
#include "channels/dlq.h"
#include "channels/channel.h"
#include "saga/engine.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct reply *cmd_ping(struct cmd_ctx *ctx, const struct request *req)
{
    if (req->argc <= 2 && ctx->client && req->kind == PROTO_RESP &&
        pubsub_count(&ctx->client->sub) > 0) {
        /* A subscribed RESP2 client reads pushes only: Redis answers
         * ["pong", message] there, and clients expect it. */
        struct reply *r = reply_list();
        reply_list_add(r, reply_cstring("pong"));
        reply_list_add(r, req->argc == 2 ? reply_string(req->argv[1].ptr, req->argv[1].len)
                                         : reply_cstring(""));
        return r;
    }
    if (req->argc == 1)
        return reply_status("PONG");
    if (req->argc == 2)
        return reply_string(req->argv[1].ptr, req->argv[1].len);
    return reply_error(ERR_ERR, "wrong number of arguments for 'PING'");
}

static struct reply *help_line(const struct command *cmd)
{
    return reply_stringf("%s - %s", cmd->synopsis, cmd->summary);
}

struct reply *cmd_help(struct cmd_ctx *ctx, const struct request *req)
{
    (void)ctx;
    size_t n;
    const struct command *table = command_table(&n);
    if (req->argc == 2) {
        const struct command *cmd = command_lookup(req->argv[1].ptr, req->argv[1].len);
        if (cmd == NULL) {
            char shown[96];
            kv_printable(shown, sizeof shown, req->argv[1].ptr, req->argv[1].len);
            return reply_error(ERR_NOTFOUND, "no command '%s' (HELP lists them all)", shown);
        }
        return help_line(cmd);
    }
    if (req->argc > 2)
        return reply_error(ERR_ERR, "wrong number of arguments for 'HELP'");
    struct reply *list = reply_list();
    for (size_t i = 0; i < n; i++)
        reply_list_add(list, help_line(&table[i]));
    return list;
}

struct reply *cmd_quit(struct cmd_ctx *ctx, const struct request *req)
{
    (void)req;
    if (ctx->client)
        ctx->client->ops->close_after_reply(ctx->client);
    return reply_status("OK");
}

static const char *const sections[] = {"server", "clients", "commands", "orders",
                                        "sagas", "channels", "dlq", "store"};

/* The section asked for (argv[1]), or NULL for all; -1 if unknown. */
static int wanted_section(const struct request *req, const char **want)
{
    *want = NULL;
    if (req->argc < 2 || strcasecmp(req->argv[1].ptr, "all") == 0 ||
        strcasecmp(req->argv[1].ptr, "everything") == 0)
        return 0;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (strcasecmp(req->argv[1].ptr, sections[i]) == 0) {
            *want = sections[i];
            return 0;
        }
    return -1;
}

static struct reply *unknown_section(const struct request *req)
{
    char shown[96];
    kv_printable(shown, sizeof shown, req->argv[1].ptr, req->argv[1].len);
    return reply_error(ERR_BADARG, "unknown section '%s' (server clients commands orders sagas "
                                   "channels dlq store, or all)", shown);
}

static const char *unit_suffix(double unit)
{
    return unit < 1e-5 ? "_us" : unit < 1e-2 ? "_ms" : "_s";
}

static void put_number(struct buf *b, double v)
{
    if (v == (double)(long long)v)
        buf_printf(b, "%lld", (long long)v);
    else
        buf_printf(b, "%.6g", v);
}

struct info_walk {
    struct buf out;
    const char *want;
    const char *section;  /* the last heading written */
};

static void info_line(void *arg, const struct figure *f)
{
    struct info_walk *w = arg;
    char key[320];
    if (w->want && strcmp(w->want, f->section) != 0)
        return;
    if (w->section != f->section) {
        if (w->section)
            buf_appends(&w->out, "\r\n");
        buf_printf(&w->out, "# %c%s\r\n", f->section[0] - 'a' + 'A', f->section + 1);
        w->section = f->section;
    }
    figure_key(f, key, sizeof key);
    switch (f->kind) {
    case FIG_INFO:
        buf_printf(&w->out, "%s:%s\r\n", key, f->text);
        break;
    case FIG_LATENCY:
        if (f->hist->total == 0)
            return;
        buf_printf(&w->out,
                   "%s%s:p50=%llu,p90=%llu,p99=%llu,p999=%llu,max=%llu,count=%llu\r\n", key,
                   unit_suffix(f->unit_seconds),
                   (unsigned long long)hist_percentile(f->hist, 50),
                   (unsigned long long)hist_percentile(f->hist, 90),
                   (unsigned long long)hist_percentile(f->hist, 99),
                   (unsigned long long)hist_percentile(f->hist, 99.9),
                   (unsigned long long)f->hist->max, (unsigned long long)f->hist->total);
        break;
    default:
        buf_printf(&w->out, "%s:", key);
        put_number(&w->out, f->number);
        buf_appends(&w->out, "\r\n");
    }
}

/* INFO [section]: readable sections, as Redis's INFO. */
struct reply *cmd_info(struct cmd_ctx *ctx, const struct request *req)
{
    struct info_walk w = {.section = NULL};
    if (req->argc > 2)
        return reply_error(ERR_ERR, "wrong number of arguments for 'INFO'");
    if (wanted_section(req, &w.want) != 0)
        return unknown_section(req);
    buf_init(&w.out);
    figures_walk(ctx->env, info_line, &w);
    struct reply *r = reply_lines(buf_head(&w.out), buf_used(&w.out));
    buf_free(&w.out);
    return r;
}

struct metrics_walk {
    struct reply *rec;
    const char *want;
};

static void metrics_field(void *arg, const struct figure *f)
{
    struct metrics_walk *w = arg;
    char key[320], sub[352];
    if (w->want && strcmp(w->want, f->section) != 0)
        return;
    figure_key(f, key, sizeof key);
    switch (f->kind) {
    case FIG_INFO:
        reply_record_add_copy(w->rec, key, reply_cstring(f->text));
        break;
    case FIG_LATENCY: {
        static const struct { const char *name; double p; } qs[] = {
            {"p50", 50}, {"p90", 90}, {"p99", 99}, {"p999", 99.9}};
        const char *unit = unit_suffix(f->unit_seconds);
        for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
            snprintf(sub, sizeof sub, "%s%s_%s", key, unit, qs[i].name);
            reply_record_add_copy(w->rec, sub,
                                  reply_integer((long long)hist_percentile(f->hist, qs[i].p)));
        }
        snprintf(sub, sizeof sub, "%s%s_max", key, unit);
        reply_record_add_copy(w->rec, sub, reply_integer((long long)f->hist->max));
        snprintf(sub, sizeof sub, "%s_count", key);
        reply_record_add_copy(w->rec, sub, reply_integer((long long)f->hist->total));
        break;
    }
    default:
        if (f->number == (double)(long long)f->number)
            reply_record_add_copy(w->rec, key, reply_integer((long long)f->number));
        else
            reply_record_add_copy(w->rec, key, reply_stringf("%.6g", f->number));
    }
}

/* METRICS [section]: the same figures as one record, for scripts. */
struct reply *cmd_metrics(struct cmd_ctx *ctx, const struct request *req)
{
    struct metrics_walk w = {.rec = reply_record()};
    if (req->argc > 2) {
        reply_free(w.rec);
        return reply_error(ERR_ERR, "wrong number of arguments for 'METRICS'");
    }
    if (wanted_section(req, &w.want) != 0) {
        reply_free(w.rec);
        return unknown_section(req);
    }
    figures_walk(ctx->env, metrics_field, &w);
    return w.rec;
}
