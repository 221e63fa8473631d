/* Commands about the server and the session: PING, HELP, QUIT, INFO. */
#include "book.h"
#include "clock.h"
#include "command.h"
#include "conn.h"
#include "kvargs.h"
#include "pubsub.h"
#include "dlq.h"
#include "channel.h"
#include "engine.h"
#include "server.h"

#include <stdio.h>
#include <string.h>

struct reply *cmd_ping(struct cmd_ctx *ctx, const struct request *req)
{
    if (req->argc <= 2 && ctx->conn && req->kind == PROTO_RESP &&
        pubsub_count(ctx->conn) > 0) {
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
    if (ctx->conn)
        conn_close_after_reply(ctx->conn);
    return reply_status("OK");
}

struct reply *cmd_info(struct cmd_ctx *ctx, const struct request *req)
{
    (void)req;
    struct server *srv = ctx->srv;
    struct reply *r = reply_record();

    reply_record_str(r, "version", ORDERD_VERSION);
    reply_record_int(r, "uptime_seconds", (clock_mono_ms() - srv->started_mono_ms) / 1000);
    reply_record_int(r, "connected_clients", (long long)srv->nconns);
    reply_record_int(r, "total_connections", (long long)srv->stats.connections_total);
    reply_record_int(r, "rejected_connections", (long long)srv->stats.connections_rejected);
    reply_record_int(r, "total_commands", (long long)srv->stats.commands);
    reply_record_int(r, "total_errors", (long long)srv->stats.errors);
    reply_record_int(r, "orders", (long long)book_last_id(srv->book));
    /* Record keys are borrowed, so they come from a fixed table. */
    static const char *const by_status[ORDER_STATUS_COUNT] = {
        [ORDER_PENDING] = "orders_pending",     [ORDER_RESERVED] = "orders_reserved",
        [ORDER_PAID] = "orders_paid",           [ORDER_SHIPPED] = "orders_shipped",
        [ORDER_DELIVERED] = "orders_delivered", [ORDER_FAILED] = "orders_failed",
        [ORDER_CANCELLED] = "orders_cancelled",
    };
    for (int s = 0; s < ORDER_STATUS_COUNT; s++)
        reply_record_int(r, by_status[s],
                         (long long)book_count_status(srv->book, (enum order_status)s));
    reply_record_int(r, "pubsub_channels", (long long)pubsub_channel_count(srv->pubsub));
    reply_record_int(r, "pubsub_patterns", (long long)pubsub_pattern_count(srv->pubsub));
    reply_record_int(r, "published", (long long)srv->stats.published);
    reply_record_int(r, "clients_cut_off", (long long)srv->stats.clients_cut_off);
    size_t depth = dlq_count(srv->dlq);
    const struct dlq_entry *oldest = dlq_at(srv->dlq, 0);
    reply_record_int(r, "dlq_depth", (long long)depth);
    reply_record_int(r, "dlq_oldest_age_seconds",
                     oldest ? (srv->now_ms - oldest->dead_ms) / 1000 : 0);
    reply_record_int(r, "dlq_dropped", (long long)dlq_dropped(srv->dlq));
    struct store_stats st;
    store_stats(srv->store, &st);
    reply_record_str(r, "store", st.kind);
    reply_record_str(r, "fsync", st.fsync);
    reply_record_int(r, "store_records", (long long)st.records);
    reply_record_int(r, "journal_bytes", (long long)st.file_size);
    reply_record_int(r, "journal_written_bytes", (long long)st.bytes);
    reply_record_int(r, "journal_fsyncs", (long long)st.fsyncs);
    reply_record_int(r, "journal_compactions", (long long)st.compactions);
    reply_record_int(r, "journal_compacting", st.compacting);
    reply_record_int(r, "journal_failed", store_failed(srv->store));
    reply_record_int(r, "recovered_records", (long long)st.recovered_records);
    reply_record_int(r, "recovery_ms", (long long)st.recovery_ms);
    struct engine_stats es;
    engine_stats(srv->engine, &es);
    reply_record_int(r, "sagas_running", (long long)es.running);
    reply_record_int(r, "sagas_attention", (long long)es.attention);
    reply_record_int(r, "sagas_done", (long long)es.done);
    reply_record_int(r, "sagas_failed", (long long)es.failed);
    reply_record_int(r, "sagas_cancelled", (long long)es.cancelled);
    reply_record_int(r, "saga_steps_sent", (long long)es.dispatched);
    reply_record_int(r, "saga_retries", (long long)es.retries);
    reply_record_int(r, "saga_timeouts", (long long)es.timeouts);
    reply_record_int(r, "saga_deadlettered", (long long)es.deadlettered);
    reply_record_int(r, "saga_stale_answers", (long long)es.stale);
    static const char *const breaker_keys[PART_COUNT] = {
        [PART_CUSTOMER] = "breaker_customer", [PART_INVENTORY] = "breaker_inventory",
        [PART_PAYMENT] = "breaker_payment",   [PART_SHIPPING] = "breaker_shipping",
        [PART_NOTIFY] = "breaker_notify",
    };
    for (int p = 0; p < PART_COUNT; p++)
        reply_record_str(r, breaker_keys[p],
                         breaker_state_name(engine_breaker(srv->engine, (enum participant)p)->state));
    reply_record_int(r, "used_memory_rss", (long long)server_rss_bytes());
    return r;
}
