/* The figures (see figures.h): one walk over everything INFO, METRICS and
 * /metrics show. */
#include "figures.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth/acl.h"
#include "cache/order_cache.h"
#include "channels/bus.h"
#include "channels/channel.h"
#include "channels/dlq.h"
#include "channels/pubsub.h"
#include "command.h"
#include "lib/clock.h"
#include "lib/memory.h"
#include "lib/version.h"
#include "metrics.h"
#include "orders/book.h"
#include "saga/engine.h"
#include "store/store.h"

void figure_key(const struct figure *f, char *out, size_t outlen)
{
    if (f->label2)
        snprintf(out, outlen, "%s_%s_%s", f->name, f->value, f->value2);
    else if (f->label)
        snprintf(out, outlen, "%s_%s", f->name, f->value);
    else
        snprintf(out, outlen, "%s", f->name);
}

struct walk {
    figure_fn fn;
    void *arg;
};

static void num(struct walk *w, const char *section, enum fig_kind kind, const char *name,
                const char *prom, const char *help, double v)
{
    w->fn(w->arg, &(struct figure){.section = section, .name = name, .prom = prom,
                                   .help = help, .kind = kind, .number = v});
}

static void labelled(struct walk *w, const char *section, enum fig_kind kind, const char *name,
                     const char *prom, const char *help, const char *label, const char *value,
                     double v)
{
    w->fn(w->arg, &(struct figure){.section = section, .name = name, .prom = prom,
                                   .help = help, .kind = kind, .label = label, .value = value,
                                   .number = v});
}

static void text(struct walk *w, const char *section, const char *name, const char *value)
{
    w->fn(w->arg, &(struct figure){.section = section, .name = name, .kind = FIG_INFO,
                                   .text = value});
}

/* Each latency's Prometheus buckets, in its histogram's unit: bounds that
 * double, each an edge of the histogram, so every count is exact. */
static const struct hist_bounds command_bounds = {5, 19};     /* 5 us .. 1.31 s */
static const struct hist_bounds step_bounds = {1000, 15};     /* 1 ms .. 16.4 s (ms clock) */
static const struct hist_bounds completion_bounds = {5, 18};  /* 5 ms .. 655 s */
static const struct hist_bounds loop_lag_bounds = {1, 14};    /* 1 ms .. 8.19 s */
static const struct hist_bounds fsync_bounds = {50, 18};      /* 50 us .. 6.55 s */

static void latency(struct walk *w, const char *section, const char *name, const char *prom,
                    const char *help, const char *label, const char *value,
                    const struct histogram *h, double unit, const struct hist_bounds *bounds)
{
    w->fn(w->arg, &(struct figure){.section = section, .name = name, .prom = prom,
                                   .help = help, .kind = FIG_LATENCY, .label = label,
                                   .value = value, .hist = h, .unit_seconds = unit,
                                   .bounds = bounds});
}

static void lower(char *out, size_t n, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    out[i] = '\0';
}

/* Resident memory in bytes, or 0 if unknown. */
static size_t rss_bytes(void)
{
    char err[160];
    size_t bytes;
    return memory_rss(&bytes, err, sizeof err) == 0 ? bytes : 0;
}

static void server_section(struct cmd_env *env, struct walk *w)
{
    const char *s = "server";
    const struct server_counters *c = env->counters;
    char pid[24], port[24];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    snprintf(port, sizeof port, "%d", c->port);
    text(w, s, "version", ORDERD_VERSION);
    num(w, s, FIG_GAUGE, "uptime_seconds", "uptime_seconds", "Seconds since start-up",
        (double)((env->clk->now_ms - c->started_ms) / 1000));
    text(w, s, "process_id", pid);
    text(w, s, "tcp_port", port);
    if (c->tls_port) {
        char tls_port[24];
        snprintf(tls_port, sizeof tls_port, "%d", c->tls_port);
        text(w, s, "tls_port", tls_port);
    }
    text(w, s, "saga", c->saga ? "on" : "off");
    num(w, s, FIG_GAUGE, "used_memory_rss", "resident_memory_bytes", "Resident memory",
        (double)rss_bytes());
    num(w, s, FIG_GAUGE, "maxmemory", "maxmemory_bytes",
        "Resident memory past which changes are refused with -OOM (--maxmemory; 0: no limit)",
        (double)env->memory.max);
    num(w, s, FIG_COUNTER, "oom_refused", "oom_refused_total",
        "Changes refused with -OOM while memory was over --maxmemory",
        (double)c->oom_refused);
    w->fn(w->arg, &(struct figure){.section = s, .name = "event_loop_lag_last_ms",
                                   .prom = "event_loop_lag_last_seconds",
                                   .help = "How late the last one-second tick fired",
                                   .kind = FIG_GAUGE,
                                   .number = (double)env->metrics->loop_lag_last_ms,
                                   .prom_scale = 1e-3});
    latency(w, s, "event_loop_lag", "event_loop_lag_seconds",
            "How late the one-second tick fires", NULL, NULL, &env->metrics->loop_lag_ms, 1e-3,
            &loop_lag_bounds);
}

static void clients_section(struct cmd_env *env, struct walk *w)
{
    const char *s = "clients";
    const struct server_counters *c = env->counters;
    num(w, s, FIG_GAUGE, "connected_clients", "connected_clients", "Open client connections",
        (double)c->clients);
    num(w, s, FIG_COUNTER, "total_connections", "connections_total", "Connections accepted",
        (double)c->connections_total);
    num(w, s, FIG_COUNTER, "rejected_connections", "connections_rejected_total",
        "Connections refused at --max-clients", (double)c->connections_rejected);
    uint64_t cut_off = 0;
    for (int k = 0; k < CLIENT_KINDS; k++)
        cut_off += c->cut_off[k];
    num(w, s, FIG_COUNTER, "clients_cut_off", "clients_cut_off_total",
        "Clients disconnected at their output limits", (double)cut_off);
    for (int k = 0; k < CLIENT_KINDS; k++)
        labelled(w, s, FIG_COUNTER, "clients_cut_off", "clients_cut_off_by_kind_total",
                 "Clients disconnected at their output limits, by kind (normal, pubsub, worker)",
                 "kind", client_kind_name((enum client_kind)k), (double)c->cut_off[k]);
    num(w, s, FIG_COUNTER, "clients_timed_out", "clients_timed_out_total",
        "Clients closed after --timeout seconds idle", (double)c->clients_timed_out);
    num(w, s, FIG_COUNTER, "limit_hits", "limit_hits_total", "Requests refused by a limit",
        (double)env->metrics->limit_hits);
    num(w, s, FIG_GAUGE, "acl_users", "acl_users",
        "Users who may authenticate (0: no AUTH needed, loopback only)",
        (double)(env->acl ? env->acl->nusers : 0));
    num(w, s, FIG_COUNTER, "auth_failures", "auth_failures_total",
        "AUTH (or HTTP credentials) with a wrong user or password", (double)c->auth_failures);
    num(w, s, FIG_COUNTER, "noperm", "noperm_total",
        "Requests refused because the user's roles do not allow them", (double)c->noperm);
    num(w, s, FIG_GAUGE, "http_connections", "http_connections",
        "HTTP connections open that have made a request", (double)c->http_connections);
    num(w, s, FIG_COUNTER, "http_requests", "http_requests_total", "Requests on the HTTP port",
        (double)c->http_requests);
    num(w, s, FIG_COUNTER, "http_on_protocol_port", "http_on_protocol_port_total",
        "HTTP requests sent to the protocol port, closed unanswered", (double)c->http_probes);
    num(w, s, FIG_COUNTER, "tls_connections", "tls_connections_total",
        "TLS sessions set up on --tls-port (each is also a connection)",
        (double)c->tls_connections);
    num(w, s, FIG_COUNTER, "tls_handshake_failures", "tls_handshake_failures_total",
        "TLS handshakes on --tls-port that failed or timed out", (double)c->tls_handshake_failures);
}

static void commands_section(struct cmd_env *env, struct walk *w)
{
    const char *s = "commands";
    size_t n;
    const struct command *table = command_table(&n);
    const struct metrics *m = env->metrics;
    num(w, s, FIG_COUNTER, "total_commands", "commands_all_total", "Commands run",
        (double)env->counters->commands);
    num(w, s, FIG_COUNTER, "total_errors", "errors_all_total", "Error replies",
        (double)env->counters->errors);
    char name[32];
    for (size_t i = 0; i <= n; i++) {
        const struct command_metrics *cm = i < n ? &m->commands[i] : &m->unknown;
        if (cm->calls == 0)
            continue;
        lower(name, sizeof name, i < n ? table[i].name : "unknown");
        labelled(w, s, FIG_COUNTER, "calls", "commands_total", "Commands run, by name",
                 "command", name, (double)cm->calls);
        labelled(w, s, FIG_COUNTER, "failed", "command_errors_total",
                 "Commands answered with an error, by name", "command", name,
                 (double)cm->errors);
        latency(w, s, "latency", "command_latency_seconds", "Time to run a command",
                "command", name, &cm->latency_us, 1e-6, &command_bounds);
    }
    for (int c = 0; c < ERRC_COUNT; c++)
        labelled(w, s, FIG_COUNTER, "errors", "errors_total", "Error replies, by code", "code",
                 err_class_name((enum err_class)c), (double)m->errors[c]);
}

static void orders_section(struct cmd_env *env, struct walk *w)
{
    const char *s = "orders";
    char st[16];
    num(w, s, FIG_COUNTER, "orders", "orders_created_total", "Orders created",
        (double)book_last_id(env->book));
    for (int i = 0; i < ORDER_STATUS_COUNT; i++) {
        lower(st, sizeof st, order_status_name((enum order_status)i));
        labelled(w, s, FIG_GAUGE, "orders", "orders", "Orders by status", "status", st,
                 (double)book_count_status(env->book, (enum order_status)i));
    }
    latency(w, s, "order_completion", "order_completion_seconds",
            "Time from an order's creation to its final status", NULL, NULL,
            &env->metrics->completion_ms, 1e-3, &completion_bounds);
    num(w, s, FIG_GAUGE, "orders_in_memory", "orders_in_memory",
        "Orders kept in memory (the others are read from the store when asked for)",
        (double)book_in_memory(env->book));
    if (env->cache) {
        struct order_cache_stats cs;
        order_cache_stats(env->cache, &cs);
        num(w, s, FIG_GAUGE, "cache_finished_orders", "cache_finished_orders",
            "Finished orders kept in memory", (double)cs.kept);
        num(w, s, FIG_GAUGE, "cache_orders_max", "cache_orders_max",
            "Finished orders kept in memory at most (--cache-orders)", (double)cs.max_orders);
        num(w, s, FIG_GAUGE, "cache_ttl_seconds", "cache_ttl_seconds",
            "A finished order not used for this long leaves memory (--cache-ttl)",
            (double)cs.ttl_ms / 1000);
        num(w, s, FIG_COUNTER, "cache_hits", "cache_hits_total",
            "Reads of a finished order found in memory", (double)cs.hits);
        num(w, s, FIG_COUNTER, "cache_misses", "cache_misses_total",
            "Reads of an order not in memory, loaded from the store", (double)cs.misses);
        num(w, s, FIG_COUNTER, "cache_evictions", "cache_evictions_total",
            "Finished orders that left memory", (double)cs.evictions);
    }
}

static void sagas_section(struct cmd_env *env, struct walk *w)
{
    const char *s = "sagas";
    struct engine_stats es;
    engine_stats(env->engine, &es);
    num(w, s, FIG_GAUGE, "sagas_running", "sagas_running", "Sagas in flight", (double)es.running);
    num(w, s, FIG_GAUGE, "sagas_attention", "sagas_attention",
        "Sagas waiting on a dead-lettered step", (double)es.attention);
    labelled(w, s, FIG_COUNTER, "sagas", "sagas_finished_total", "Sagas finished, by outcome",
             "outcome", "done", (double)es.done);
    labelled(w, s, FIG_COUNTER, "sagas", "sagas_finished_total", "Sagas finished, by outcome",
             "outcome", "failed", (double)es.failed);
    labelled(w, s, FIG_COUNTER, "sagas", "sagas_finished_total", "Sagas finished, by outcome",
             "outcome", "cancelled", (double)es.cancelled);
    num(w, s, FIG_COUNTER, "saga_steps_sent", "saga_steps_sent_total", "Step messages sent",
        (double)es.dispatched);
    num(w, s, FIG_COUNTER, "saga_retries", "saga_retries_total", "Step retries scheduled",
        (double)es.retries);
    num(w, s, FIG_COUNTER, "saga_timeouts", "saga_timeouts_total", "Step attempts timed out",
        (double)es.timeouts);
    num(w, s, FIG_COUNTER, "saga_deadlettered", "saga_deadlettered_total",
        "Steps out of attempts, dead-lettered", (double)es.deadlettered);
    num(w, s, FIG_COUNTER, "saga_stale_answers", "saga_stale_answers_total",
        "STEP answers that were not the one awaited", (double)es.stale);
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        latency(w, s, "step_latency", "saga_step_latency_seconds",
                "Time from sending a step to its answer", "step", saga_step_name(i),
                &env->metrics->step_latency_us[i], 1e-6, &step_bounds);
    for (int p = 0; p < PART_COUNT; p++) {
        const struct breaker *b = engine_breaker(env->engine, (enum participant)p);
        w->fn(w->arg, &(struct figure){
                          .section = s, .name = "breaker", .prom = "breaker_state",
                          .help = "Circuit breaker: 0 closed, 1 open, 2 half-open",
                          .kind = FIG_INFO, .label = "participant",
                          .value = participant_name((enum participant)p),
                          .text = breaker_state_name(b->state), .has_number = true,
                          .number = (double)b->state});
    }
}

static void channels_section(struct cmd_env *env, struct walk *w)
{
    const char *s = "channels";
    num(w, s, FIG_COUNTER, "published", "published_total", "Messages published",
        (double)bus_published(env->bus));
    num(w, s, FIG_GAUGE, "pubsub_channels", "pubsub_channels", "Live channels with subscribers",
        (double)pubsub_channel_count(bus_pubsub(env->bus)));
    num(w, s, FIG_GAUGE, "pubsub_patterns", "pubsub_patterns", "Pattern subscriptions",
        (double)pubsub_pattern_count(bus_pubsub(env->bus)));
    size_t it = 0;
    struct channel *ch;
    while (chreg_next(bus_channels(env->bus), &it, &ch)) {
        const char *name = chan_name(ch);
        labelled(w, s, FIG_COUNTER, "messages", "channel_messages_total",
                 "Messages appended to a durable channel", "channel", name,
                 (double)chan_last_offset(ch));
        labelled(w, s, FIG_GAUGE, "length", "channel_length",
                 "Messages kept in a durable channel", "channel", name,
                 (double)chan_length(ch));
        struct chan_group *g;
        for (size_t i = 0; (g = chan_group_at(ch, i)); i++) {
            struct group_stats st;
            group_stats(g, &st);
            struct figure f = {.section = s, .kind = FIG_GAUGE, .label = "channel",
                               .value = name, .label2 = "group", .value2 = group_name(g)};
            f.name = "lag";
            f.prom = "group_lag";
            f.help = "Messages of the channel the group has not settled";
            f.number = (double)st.lag;
            w->fn(w->arg, &f);
            f.name = "pending";
            f.prom = "group_pending";
            f.help = "Messages delivered to the group, not settled";
            f.number = (double)st.pending;
            w->fn(w->arg, &f);
        }
    }
}

static void dlq_section(struct cmd_env *env, struct walk *w)
{
    const char *s = "dlq";
    const struct dlq_entry *oldest = dlq_at(bus_dlq(env->bus), 0);
    num(w, s, FIG_GAUGE, "dlq_depth", "dlq_depth", "Messages in the dead-letter queue",
        (double)dlq_count(bus_dlq(env->bus)));
    num(w, s, FIG_GAUGE, "dlq_oldest_age_seconds", "dlq_oldest_age_seconds",
        "Age of the oldest dead letter",
        oldest ? (double)((env->clk->now_ms - oldest->dead_ms) / 1000) : 0);
    num(w, s, FIG_COUNTER, "dlq_dropped", "dlq_dropped_total",
        "Dead letters dropped because the DLQ was full", (double)dlq_dropped(bus_dlq(env->bus)));
}

static void store_section(struct cmd_env *env, struct walk *w)
{
    static const struct histogram no_fsyncs;  /* a store that never fsyncs */
    const char *s = "store";
    struct store_stats st;
    store_stats(env->store, &st);
    text(w, s, "store", st.kind);
    text(w, s, "fsync", st.fsync);
    if (st.role) {
        char epoch[24];
        snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)st.lease_epoch);
        text(w, s, "role", st.role);
        text(w, s, "database", st.database);
        text(w, s, "lease_holder", st.lease_holder);
        text(w, s, "lease_epoch", epoch);
        num(w, s, FIG_COUNTER, "database_reconnects", "store_database_reconnects_total",
            "Connections to the database made again after one was lost",
            (double)st.reconnects);
    }
    num(w, s, FIG_COUNTER, "store_records", "store_records_total",
        "Changes recorded since start-up", (double)st.records);
    num(w, s, FIG_COUNTER, "store_records_left_out", "store_records_left_out_total",
        "Changes left out of the journal: made moot within their loop turn",
        (double)st.records_left_out);
    num(w, s, FIG_GAUGE, "journal_bytes", "journal_bytes", "The journal's size",
        (double)st.file_size);
    num(w, s, FIG_COUNTER, "journal_written_bytes", "journal_written_bytes_total",
        "Bytes recorded since start-up", (double)st.bytes);
    num(w, s, FIG_COUNTER, "journal_fsyncs", "journal_fsyncs_total", "Journal fsyncs",
        (double)st.fsyncs);
    num(w, s, FIG_COUNTER, "journal_compactions", "journal_compactions_total",
        "Compactions finished", (double)st.compactions);
    num(w, s, FIG_GAUGE, "journal_compacting", "journal_compacting",
        "1 while a compaction runs", st.compacting);
    w->fn(w->arg, &(struct figure){.section = s, .name = "journal_compaction_stall_ms",
                                   .prom = "journal_compaction_stall_seconds",
                                   .help = "The longest the event loop stopped for a "
                                           "compaction (its fork, or its finish)",
                                   .kind = FIG_GAUGE,
                                   .number = (double)st.compaction_stall_us / 1e3,
                                   .prom_scale = 1e-3});
    num(w, s, FIG_GAUGE, "journal_reserved_bytes", "journal_reserved_bytes",
        "Space reserved ahead of the journal's records", (double)st.reserved);
    num(w, s, FIG_COUNTER, "store_write_errors", "store_write_errors_total",
        "Writes that failed and were retried", (double)st.write_errors);
    num(w, s, FIG_GAUGE, "store_refusing", "store_refusing",
        "1 while changes are refused because the store cannot record them",
        store_refusal(env->store) != NULL);
    num(w, s, FIG_GAUGE, "recovered_records", "recovered_records",
        "Records replayed at the last start-up", (double)st.recovered_records);
    w->fn(w->arg, &(struct figure){.section = s, .name = "recovery_ms",
                                   .prom = "last_recovery_seconds",
                                   .help = "Time the last recovery took", .kind = FIG_GAUGE,
                                   .number = (double)st.recovery_ms, .prom_scale = 1e-3});
    latency(w, s, "fsync_latency", "journal_fsync_latency_seconds", "Time one fsync takes",
            NULL, NULL, st.fsync_us ? st.fsync_us : &no_fsyncs, 1e-6, &fsync_bounds);
}

void figures_walk(struct cmd_env *env, figure_fn fn, void *arg)
{
    struct walk w = {fn, arg};
    server_section(env, &w);
    clients_section(env, &w);
    commands_section(env, &w);
    orders_section(env, &w);
    sagas_section(env, &w);
    channels_section(env, &w);
    dlq_section(env, &w);
    store_section(env, &w);
}
