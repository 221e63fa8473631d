/* The simulated participants' controls: SIM, SIM SET, STOCK, CUSTOMER. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "command.h"
#include "lib/clock.h"
#include "saga/engine.h"
#include "lib/kvargs.h"
#include "saga/sim.h"

/* A rate: a decimal from 0 to 1 ("0.05"). */
/* A rate from 0 to 1, written plainly: digits, at most one point ("0.05",
 * ".5", "1"). Not what strtod would also take: blanks, signs, exponents,
 * hex, "inf", or a value that underflows to 0. */
static int parse_rate(const char *s, double *out)
{
    size_t digits = 0, points = 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.' && points++ == 0)
            continue;
        else
            return -1;
    }
    if (digits == 0 || digits > 18)
        return -1;
    double v = strtod(s, NULL);
    if (!(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

/* A duration: milliseconds, with an optional ms or s suffix ("20ms"). */
static int parse_duration(const char *s, int64_t *out)
{
    char num[32];
    size_t n = strlen(s);
    int64_t scale = 1;
    if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
        n -= 2;
    } else if (n > 1 && s[n - 1] == 's') {
        n -= 1;
        scale = 1000;
    }
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, s, n);
    num[n] = '\0';
    uint64_t v;
    if (kv_parse_uint(num, 0, 86400000ULL, &v) != 0)
        return -1;
    *out = (int64_t)v * scale;
    return 0;
}

static struct reply *settings_record(struct sim *s, enum participant p)
{
    const struct sim_settings *st = sim_settings(s, p);
    struct reply *r = reply_record();
    char rate[32];
    reply_record_str(r, "participant", participant_name(p));
    reply_record_int(r, "enabled", st->enabled);
    snprintf(rate, sizeof rate, "%g", st->decline);
    reply_record_str(r, "decline", rate);
    snprintf(rate, sizeof rate, "%g", st->error);
    reply_record_str(r, "error", rate);
    reply_record_int(r, "latency_ms", st->latency_ms);
    if (p == PART_SHIPPING)
        reply_record_int(r, "transit_ms", st->transit_ms);
    if (p == PART_INVENTORY)
        reply_record_int(r, "stock_default", sim_stock_default(s));
    return r;
}

/* SIM | SIM SET <participant> [enabled=0|1] [decline=<0..1>] [error=<0..1>]
 *       [latency=<ms>] [transit=<ms>] [stock=<default level>] */
struct reply *cmd_sim(struct cmd_ctx *ctx, const struct request *req)
{
    struct sim *s = ctx->env->sim;
    if (req->argc == 1) {
        struct reply *list = reply_list();
        for (int p = 0; p < PART_COUNT; p++)
            reply_list_add(list, settings_record(s, (enum participant)p));
        return list;
    }
    if (strcasecmp(req->argv[1].ptr, "SET") != 0 || req->argc < 3)
        return reply_error(ERR_BADARG, "SIM, or SIM SET <participant> key=value...");
    int p = participant_parse(req->argv[2].ptr);
    if (p < 0) {
        char shown[96];
        kv_printable(shown, sizeof shown, req->argv[2].ptr, req->argv[2].len);
        return reply_error(ERR_BADARG, "unknown participant '%s' (customer inventory payment "
                                       "shipping notify)", shown);
    }
    enum { F_ENABLED, F_DECLINE, F_ERROR, F_LATENCY, F_TRANSIT, F_STOCK, F_N };
    struct kvfield f[F_N] = {
        [F_ENABLED] = {"enabled", false, NULL, 0}, [F_DECLINE] = {"decline", false, NULL, 0},
        [F_ERROR] = {"error", false, NULL, 0},     [F_LATENCY] = {"latency", false, NULL, 0},
        [F_TRANSIT] = {"transit", false, NULL, 0}, [F_STOCK] = {"stock", false, NULL, 0},
    };
    struct reply *err = kvargs_parse(req, 3, f, F_N);
    if (err)
        return err;
    struct sim_settings next = *sim_settings(s, (enum participant)p);
    uint64_t v;
    if (f[F_ENABLED].val) {
        if (kv_parse_uint(f[F_ENABLED].val, 0, 1, &v) != 0)
            return reply_error(ERR_BADARG, "enabled must be 0 or 1");
        next.enabled = v;
    }
    if (f[F_DECLINE].val && parse_rate(f[F_DECLINE].val, &next.decline) != 0)
        return reply_error(ERR_BADARG, "decline must be a rate from 0 to 1");
    if (f[F_ERROR].val && parse_rate(f[F_ERROR].val, &next.error) != 0)
        return reply_error(ERR_BADARG, "error must be a rate from 0 to 1");
    if (f[F_LATENCY].val && parse_duration(f[F_LATENCY].val, &next.latency_ms) != 0)
        return reply_error(ERR_BADARG, "latency must be a duration: 20ms, 2s or 20");
    if (f[F_TRANSIT].val && parse_duration(f[F_TRANSIT].val, &next.transit_ms) != 0)
        return reply_error(ERR_BADARG, "transit must be a duration: 200ms, 2s or 200");
    if (f[F_STOCK].val) {
        if (p != PART_INVENTORY || kv_parse_uint(f[F_STOCK].val, 0, SIM_STOCK_MAX, &v) != 0)
            return reply_error(ERR_BADARG, "stock= sets inventory's default level: an integer "
                                           "from 0 to %lld", (long long)SIM_STOCK_MAX);
        sim_set_stock_default(s, (int64_t)v);
    }
    *sim_settings(s, (enum participant)p) = next;
    sim_settings_changed(s, (enum participant)p);
    return settings_record(s, (enum participant)p);
}

/* STOCK <sku> | STOCK SET <sku> <level> */
struct reply *cmd_stock(struct cmd_ctx *ctx, const struct request *req)
{
    struct sim *s = ctx->env->sim;
    if (req->argc == 2) {
        struct reply *err = cmd_check_name("sku", req->argv[1].ptr, req->argv[1].len);
        return err ? err : reply_integer(sim_stock(s, req->argv[1].ptr));
    }
    uint64_t level;
    if (req->argc != 4 || strcasecmp(req->argv[1].ptr, "SET") != 0)
        return reply_error(ERR_ERR, "wrong number of arguments for 'STOCK'");
    struct reply *err = cmd_check_name("sku", req->argv[2].ptr, req->argv[2].len);
    if (err || (err = cmd_check_text(ctx, "sku", req->argv[2].ptr, req->argv[2].len)))
        return err;
    if (kv_parse_uint(req->argv[3].ptr, 0, SIM_STOCK_MAX, &level) != 0)
        return reply_error(ERR_BADARG, "level must be an integer from 0 to %lld",
                           (long long)SIM_STOCK_MAX);
    sim_set_stock(s, req->argv[2].ptr, (int64_t)level);
    return reply_status("OK");
}

/* CUSTOMER BLOCK|UNBLOCK <id> */
struct reply *cmd_customer(struct cmd_ctx *ctx, const struct request *req)
{
    bool block = strcasecmp(req->argv[1].ptr, "BLOCK") == 0;
    if (!block && strcasecmp(req->argv[1].ptr, "UNBLOCK") != 0)
        return reply_error(ERR_BADARG, "CUSTOMER BLOCK <id> or CUSTOMER UNBLOCK <id>");
    struct reply *err = cmd_check_name("customer", req->argv[2].ptr, req->argv[2].len);
    if (err || (err = cmd_check_text(ctx, "customer", req->argv[2].ptr, req->argv[2].len)))
        return err;
    sim_block(ctx->env->sim, req->argv[2].ptr, block);
    return reply_status("OK");
}
