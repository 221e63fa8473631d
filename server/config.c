/* orderd's flags: what each means, its default and its bounds, read into
 * a server_config from the command line and from a --config file's
 * settings placed before it. */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/order_cache.h"
#include "lib/kvargs.h"
#include "lib/version.h"
#include "saga/engine.h"
#include "xalloc.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: orderd [options]\n"
            "  --bind <addr>         address to listen on (default 127.0.0.1)\n"
            "  --port <n>|off        TCP port (default 7070; 0 picks a free one; off: only\n"
            "                        --tls-port serves clients)\n"
            "  --max-clients <n>     connections at once (default %u)\n"
            "  --max-inline <bytes>  longest inline line (default %u)\n"
            "  --max-bulk <bytes>    longest RESP bulk string (default %u)\n"
            "  --max-args <n>        arguments per request (default %u)\n"
            "  --max-request <bytes> unparsed bytes of one request (default %u)\n"
            "  --max-output <bytes>  unread reply bytes before a client is paused (default %u)\n"
            "  --max-output-pause <s>  a client paused so, still sending, is closed after\n"
            "                        this long (default %u)\n"
            "  --pubsub-hard-limit <bytes>   unread pushes that cut a subscriber off (default %u)\n"
            "  --pubsub-soft-limit <bytes>   ... or this many for --pubsub-soft-seconds (default %u)\n"
            "  --pubsub-soft-seconds <s>     (default %u)\n"
            "  --max-subscriptions <n>  channels and patterns one client may subscribe to\n"
            "                        (default %u)\n"
            "  --max-message <bytes> payload of a message on a durable channel (default %u)\n"
            "  --max-reply-payload <bytes>  payload bytes one READ or CONSUME reply carries;\n"
            "                        past them it holds fewer messages (default %u)\n"
            "  --store journal|memory|postgres  where state is kept (default journal)\n"
            "  --pg <conninfo|URI>   the PostgreSQL database of --store postgres (default:\n"
            "                        libpq's PG* environment variables)\n"
            "  --pg-lease-ms <ms>    a node's lease on the database, renewed every second,\n"
            "                        may be taken by a standby this long after it was last\n"
            "                        renewed (default %u)\n"
            "  --pg-timeout-ms <ms>  a commit that takes longer: changes are refused\n"
            "                        (-UNAVAILABLE) until one commits again (default %u)\n"
            "  --node-name <name>    this node, as other nodes name the lease's holder\n"
            "                        (default host:port); a node started again under its\n"
            "                        name takes the lease back at once\n"
            "  --cache-orders <n>    --store postgres: finished orders kept in memory; past\n"
            "                        it the least recently used leave, and are read from\n"
            "                        the database when asked for (default %u)\n"
            "  --cache-ttl <s>       --store postgres: a finished order not used for this\n"
            "                        long leaves memory (default %u)\n"
            "  --data <dir>          the journal's directory (default ./" SERVER_DATA_DIR_DEFAULT ")\n"
            "  --fsync always|everysec|no    when the journal is fsynced (default everysec)\n"
            "  --repair              cut a corrupt journal at its last good record, keeping\n"
            "                        the bad tail in <journal>.bad-<offset>\n"
            "  --compact-min <bytes> no compaction below this journal size (default %u)\n"
            "  --journal-reserve <bytes>  disk space kept reserved ahead of the journal, so a\n"
            "                        change is refused (-STORE) rather than lost when the\n"
            "                        disk fills (default %u, at least %u)\n"
            "  --saga on|off         run every order through its saga (default on); off:\n"
            "                        clients move orders with UPDATE and CANCEL\n"
            "  --sim <list>          simulated participants, comma-separated, or none\n"
            "                        (default customer,inventory,payment,shipping,notify)\n"
            "  --http-port <n>|off   Prometheus /metrics, /healthz, /readyz (default 7071;\n"
            "                        0 picks a free port)\n"
            "  --http-bind <addr>    (default 127.0.0.1)\n"
            "  --http-max-header-bytes <n>  request line and headers of one HTTP request\n"
            "                        (default %u; over it: 431, or 400 while still arriving)\n"
            "  --http-max-headers <n>  header fields of one HTTP request (default %u; 431)\n"
            "  --http-max-url <n>    URL length of an HTTP request (default %u; 414)\n"
            "  --http-max-body <bytes>  body of an HTTP request (default %u; 413)\n"
            "  --http-max-connections <n>  HTTP connections that have made a request\n"
            "                        (default %u; past it 503 and closed)\n"
            "  --http-idle-timeout <s>  an HTTP connection that sends nothing this long\n"
            "                        (idle keep-alive, a stalled sender) is closed (default %u)\n"
            "  --http-cors-origin <origin>|*  CORS: the origin whose pages may call the\n"
            "                        HTTP API from a browser (default: none, CORS off)\n"
            "  --log-level debug|info|warn|error  (default info)\n"
            "  --log-file <path>     append log lines there instead of stderr\n"
            "  --requirepass <password>  clients must AUTH with it (the user 'default',\n"
            "                        an admin)\n"
            "  --acl-file <path>     users and their roles, in Redis's ACL file syntax:\n"
            "                        user <name> on >password|#sha256 +@admin|operator|client|worker\n"
            "  --protected-mode yes|no  refuse to listen beyond loopback with no password\n"
            "                        or ACL file (default yes)\n"
            "  --tls-port <n>        the protocol over TLS on this port too (default: none;\n"
            "                        0 picks a free one); needs --tls-cert-file and\n"
            "                        --tls-key-file\n"
            "  --tls-cert-file <pem> the server's certificate (and its chain)\n"
            "  --tls-key-file <pem>  its private key (not encrypted)\n"
            "  --tls-ca-cert-file <pem>  the CA that signs client certificates\n"
            "  --tls-auth-clients yes|no|optional  whether clients must present a\n"
            "                        certificate the CA signed (default yes with\n"
            "                        --tls-ca-cert-file, no without)\n"
            "  --http-tls yes|no     HTTPS on --http-port, with the same certificate\n"
            "                        (default no)\n"
            "  --timeout <s>         close a client that sent nothing for this long, unless\n"
            "                        it is subscribed or blocked in a request (default 0:\n"
            "                        never)\n"
            "  --maxmemory <bytes>   resident memory past which requests that change state\n"
            "                        are refused with -OOM; reads go on (default 0: no limit)\n"
            "  --worker-hard-limit <bytes>   unread replies that cut a worker (a client that\n"
            "                        ran CONSUME, READ or STEP) off (default %u)\n"
            "  --worker-soft-limit <bytes>   ... or this many for --worker-soft-seconds\n"
            "                        (default %u)\n"
            "  --worker-soft-seconds <s>     (default %u)\n"
            "  --max-channels <n>    durable channels at most: past it CHANNEL CREATE is\n"
            "                        refused; orderd's own are made anyway (default %u)\n"
            "  --http-sse-heartbeat <s>  a comment on each GET /events stream this often, so\n"
            "                        proxies keep it open (default %u)\n"
            "  --http-max-streams <n>  GET /events streams at once; past it 503 (default %u)\n"
            "  --config <path>       read settings from this file first: a line per flag,\n"
            "                        `key value` (port 7070, pg host=/run/postgresql,\n"
            "                        repair yes), '#' comments; flags given override it\n"
            "  --help                this text\n"
            "  --version             the version\n",
            NET_MAX_CLIENTS_DEFAULT, PROTO_MAX_INLINE_DEFAULT, PROTO_MAX_BULK_DEFAULT,
            PROTO_MAX_ARGS_DEFAULT, PROTO_MAX_PENDING_DEFAULT, NET_MAX_OUTPUT_DEFAULT,
            NET_MAX_OUTPUT_PAUSE_DEFAULT,
            NET_PUBSUB_HARD_DEFAULT, NET_PUBSUB_SOFT_DEFAULT, NET_PUBSUB_SOFT_SECONDS_DEFAULT,
            CMD_MAX_SUBSCRIPTIONS_DEFAULT, CMD_MAX_MESSAGE_DEFAULT, CMD_MAX_REPLY_PAYLOAD_DEFAULT,
            PG_LEASE_MS_DEFAULT, PG_TIMEOUT_MS_DEFAULT, CACHE_ORDERS_DEFAULT,
            CACHE_TTL_MS_DEFAULT / 1000,
            JOURNAL_COMPACT_MIN_DEFAULT, JOURNAL_RESERVE_DEFAULT, JOURNAL_RESERVE_MIN,
            HTTP_MAX_HEADER_BYTES_DEFAULT, HTTP_MAX_HEADERS_DEFAULT, HTTP_MAX_URL_DEFAULT,
            HTTP_MAX_BODY_DEFAULT, HTTP_MAX_CONNECTIONS_DEFAULT, HTTP_IDLE_TIMEOUT_DEFAULT,
            NET_WORKER_HARD_DEFAULT, NET_WORKER_SOFT_DEFAULT, NET_WORKER_SOFT_SECONDS_DEFAULT,
            CMD_MAX_CHANNELS_DEFAULT, HTTP_SSE_HEARTBEAT_DEFAULT, HTTP_MAX_STREAMS_DEFAULT);
}

static int size_flag(const char *name, const char *v, uint64_t min, uint64_t max, size_t *out)
{
    uint64_t n;
    if (kv_parse_uint(v, min, max, &n) != 0) {
        fprintf(stderr, "orderd: --%s needs an integer from %llu to %llu, got '%s'\n", name,
                (unsigned long long)min, (unsigned long long)max, v);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

/* --sim customer,payment | none */
static int parse_sim(const char *arg, unsigned *mask)
{
    *mask = 0;
    if (strcmp(arg, "none") == 0)
        return 0;
    char copy[256];
    snprintf(copy, sizeof copy, "%s", arg);
    for (char *save, *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        int p = participant_parse(name);
        if (p < 0) {
            fprintf(stderr, "orderd: --sim: unknown participant '%s' (customer, inventory, "
                            "payment, shipping, notify, or none)\n", name);
            return -1;
        }
        *mask |= 1u << p;
    }
    return 0;
}

/* The TLS flags together: what is missing or of no use. */
static int check_tls(const struct server_config *cfg)
{
    const struct tls_config *t = &cfg->tls;
    const char *user = t->port >= 0 ? "--tls-port" : cfg->http.tls ? "--http-tls yes" : NULL;
    if (cfg->net.port < 0 && t->port < 0) {
        fprintf(stderr, "orderd: --port off needs --tls-port (no port would serve clients)\n");
        return -1;
    }
    if (cfg->http.tls && cfg->http.port < 0) {
        fprintf(stderr, "orderd: --http-tls yes needs an HTTP port (--http-port is off)\n");
        return -1;
    }
    if (user == NULL) {
        if (t->cert_file || t->key_file || t->ca_cert_file || t->auth_clients != TLS_AUTH_DEFAULT) {
            fprintf(stderr, "orderd: the --tls-* files and --tls-auth-clients are used by "
                            "--tls-port or --http-tls yes, and neither is given\n");
            return -1;
        }
        return 0;
    }
    if (t->cert_file == NULL || t->key_file == NULL) {
        fprintf(stderr, "orderd: %s needs --tls-cert-file and --tls-key-file (missing: %s)\n",
                user, t->cert_file == NULL && t->key_file == NULL ? "both"
                      : t->cert_file == NULL ? "--tls-cert-file" : "--tls-key-file");
        return -1;
    }
    if (t->ca_cert_file == NULL &&
        (t->auth_clients == TLS_AUTH_YES || t->auth_clients == TLS_AUTH_OPTIONAL)) {
        fprintf(stderr, "orderd: --tls-auth-clients %s needs --tls-ca-cert-file (the CA that "
                        "signs client certificates)\n",
                t->auth_clients == TLS_AUTH_YES ? "yes" : "optional");
        return -1;
    }
    return 0;
}

enum { OPT_MAX_CLIENTS = 256, OPT_MAX_INLINE, OPT_MAX_BULK, OPT_MAX_ARGS, OPT_MAX_REQUEST,
       OPT_MAX_OUTPUT, OPT_MAX_OUTPUT_PAUSE, OPT_PS_HARD, OPT_PS_SOFT, OPT_PS_SOFT_SECONDS, OPT_MAX_SUBS, OPT_MAX_MESSAGE,
       OPT_MAX_REPLY_PAYLOAD, OPT_STORE,
       OPT_DATA,
       OPT_FSYNC, OPT_REPAIR, OPT_COMPACT_MIN, OPT_JOURNAL_RESERVE, OPT_SAGA, OPT_SIM, OPT_HTTP_PORT,
       OPT_HTTP_BIND, OPT_HTTP_MAX_HEADER_BYTES, OPT_HTTP_MAX_HEADERS, OPT_HTTP_MAX_URL,
       OPT_LOG_LEVEL, OPT_LOG_FILE, OPT_PG, OPT_PG_LEASE_MS, OPT_PG_TIMEOUT_MS, OPT_NODE_NAME,
       OPT_CACHE_ORDERS, OPT_CACHE_TTL,
       OPT_REQUIREPASS, OPT_ACL_FILE, OPT_PROTECTED_MODE,
       OPT_TLS_PORT, OPT_TLS_CERT_FILE, OPT_TLS_KEY_FILE, OPT_TLS_CA_CERT_FILE,
       OPT_TLS_AUTH_CLIENTS, OPT_HTTP_TLS, OPT_HTTP_SSE_HEARTBEAT, OPT_HTTP_MAX_STREAMS,
       OPT_CONFIG,
       OPT_TIMEOUT, OPT_MAXMEMORY, OPT_WORKER_HARD, OPT_WORKER_SOFT, OPT_WORKER_SOFT_SECONDS,
       OPT_MAX_CHANNELS,
       OPT_HTTP_MAX_BODY, OPT_HTTP_MAX_CONNECTIONS, OPT_HTTP_IDLE_TIMEOUT, OPT_HTTP_CORS_ORIGIN };

/* --- the config file -------------------------------------------------------- */

/* The --config argv names, or NULL: none with --help or --version, which
 * need no settings. getopt_long finds it, so that it is taken where the
 * parse proper would take it (not, say, as the value of --pg); the parse
 * proper then says what else is wrong. */
static const char *find_config(int argc, char **argv, const struct option *opts)
{
    const char *path = NULL;
    bool info = false;
    int c;
    opterr = 0;
    optind = 0;  /* glibc: start afresh, whatever an earlier parse left */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == OPT_CONFIG)
            path = optarg;
        else if (c == 'h' || c == 'V')
            info = true;
    }
    opterr = 1;
    optind = 0;
    return info ? NULL : path;
}

/* A setting of the file as the flag it stands for: "--key=value", or
 * "--key" for a flag without a value written `key yes`; NULL in *out for
 * `key no`. Keys are whole names: getopt_long would take an abbreviation.
 * Returns 0, or -1 after saying what is wrong and where. */
static int setting_flag(const char *path, const struct config_entry *e,
                        const struct option *opts, char **out)
{
    *out = NULL;
    const struct option *o = opts;
    while (o->name && strcmp(o->name, e->key) != 0)
        o++;
    if (o->name == NULL) {
        fprintf(stderr, "orderd: %s:%u: unknown key '%s'\n", path, e->line, e->key);
        return -1;
    }
    if (o->val == OPT_CONFIG || o->val == 'h' || o->val == 'V') {
        fprintf(stderr, "orderd: %s:%u: '%s' is for the command line, not a config file\n",
                path, e->line, e->key);
        return -1;
    }
    if (o->has_arg == no_argument) {
        if (e->value == NULL) {
            fprintf(stderr, "orderd: %s:%u: '%s' needs yes or no\n", path, e->line, e->key);
            return -1;
        }
        if (strcmp(e->value, "yes") != 0 && strcmp(e->value, "no") != 0) {
            fprintf(stderr, "orderd: %s:%u: '%s' takes yes or no, got '%s'\n", path, e->line,
                    e->key, e->value);
            return -1;
        }
        if (strcmp(e->value, "yes") == 0) {
            *out = xmalloc(strlen(e->key) + 3);
            sprintf(*out, "--%s", e->key);
        }
        return 0;
    }
    if (e->value == NULL) {
        fprintf(stderr, "orderd: %s:%u: '%s' needs a value\n", path, e->line, e->key);
        return -1;
    }
    *out = xmalloc(strlen(e->key) + strlen(e->value) + 4);
    sprintf(*out, "--%s=%s", e->key, e->value);
    return 0;
}

/* args becomes the command line to parse: argv[0], the settings of the
 * --config file as flags, then argv's flags, so that one getopt_long pass
 * reads both and a flag given overrides the file wherever --config is.
 * Returns 0, or -1 after saying what is wrong. */
static int with_config_file(int argc, char **argv, const struct option *opts,
                            struct config_args *args)
{
    memset(args, 0, sizeof *args);
    const char *path = find_config(argc, argv, opts);
    struct config_file f = {0};
    char err[PATH_MAX + 256];
    if (path && config_file_read(path, &f, err, sizeof err) != 0) {
        fprintf(stderr, "orderd: %s\n", err);
        return -1;
    }
    size_t n = (size_t)argc + f.n + 1;
    args->argv = xcalloc(n, sizeof *args->argv);
    args->line = xcalloc(n, sizeof *args->line);
    args->own = xcalloc(f.n + 1, sizeof *args->own);
    args->path = f.path;
    f.path = NULL;
    args->argv[args->argc++] = argv[0];
    int rc = 0;
    for (size_t i = 0; i < f.n && rc == 0; i++) {
        char *flag;
        rc = setting_flag(args->path, &f.entries[i], opts, &flag);
        if (rc == 0 && flag) {
            args->own[args->nfile++] = flag;
            args->line[args->argc] = f.entries[i].line;
            args->argv[args->argc++] = flag;
        }
    }
    for (int i = 1; i < argc; i++)
        args->argv[args->argc++] = argv[i];
    config_file_free(&f);
    return rc;
}

/* The flags, after those of the --config file. *at is the index, in the
 * command line parsed, just past the flag being read, and 0 after the
 * last. */
static int parse_flags(int argc, char **argv, struct server_config *cfg, const char **log_level,
                       const char **log_file, struct config_args *args, int *at)
{
    static const struct option opts[] = {
        {"bind", required_argument, NULL, 'b'},
        {"port", required_argument, NULL, 'p'},
        {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
        {"max-inline", required_argument, NULL, OPT_MAX_INLINE},
        {"max-bulk", required_argument, NULL, OPT_MAX_BULK},
        {"max-args", required_argument, NULL, OPT_MAX_ARGS},
        {"max-request", required_argument, NULL, OPT_MAX_REQUEST},
        {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
        {"max-output-pause", required_argument, NULL, OPT_MAX_OUTPUT_PAUSE},
        {"pubsub-hard-limit", required_argument, NULL, OPT_PS_HARD},
        {"pubsub-soft-limit", required_argument, NULL, OPT_PS_SOFT},
        {"pubsub-soft-seconds", required_argument, NULL, OPT_PS_SOFT_SECONDS},
        {"max-subscriptions", required_argument, NULL, OPT_MAX_SUBS},
        {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
        {"max-reply-payload", required_argument, NULL, OPT_MAX_REPLY_PAYLOAD},
        {"store", required_argument, NULL, OPT_STORE},
        {"pg", required_argument, NULL, OPT_PG},
        {"pg-lease-ms", required_argument, NULL, OPT_PG_LEASE_MS},
        {"pg-timeout-ms", required_argument, NULL, OPT_PG_TIMEOUT_MS},
        {"node-name", required_argument, NULL, OPT_NODE_NAME},
        {"cache-orders", required_argument, NULL, OPT_CACHE_ORDERS},
        {"cache-ttl", required_argument, NULL, OPT_CACHE_TTL},
        {"data", required_argument, NULL, OPT_DATA},
        {"fsync", required_argument, NULL, OPT_FSYNC},
        {"repair", no_argument, NULL, OPT_REPAIR},
        {"compact-min", required_argument, NULL, OPT_COMPACT_MIN},
        {"journal-reserve", required_argument, NULL, OPT_JOURNAL_RESERVE},
        {"saga", required_argument, NULL, OPT_SAGA},
        {"sim", required_argument, NULL, OPT_SIM},
        {"http-port", required_argument, NULL, OPT_HTTP_PORT},
        {"http-bind", required_argument, NULL, OPT_HTTP_BIND},
        {"http-max-header-bytes", required_argument, NULL, OPT_HTTP_MAX_HEADER_BYTES},
        {"http-max-headers", required_argument, NULL, OPT_HTTP_MAX_HEADERS},
        {"http-max-url", required_argument, NULL, OPT_HTTP_MAX_URL},
        {"http-max-body", required_argument, NULL, OPT_HTTP_MAX_BODY},
        {"http-max-connections", required_argument, NULL, OPT_HTTP_MAX_CONNECTIONS},
        {"http-idle-timeout", required_argument, NULL, OPT_HTTP_IDLE_TIMEOUT},
        {"http-cors-origin", required_argument, NULL, OPT_HTTP_CORS_ORIGIN},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"log-file", required_argument, NULL, OPT_LOG_FILE},
        {"requirepass", required_argument, NULL, OPT_REQUIREPASS},
        {"acl-file", required_argument, NULL, OPT_ACL_FILE},
        {"protected-mode", required_argument, NULL, OPT_PROTECTED_MODE},
        {"tls-port", required_argument, NULL, OPT_TLS_PORT},
        {"tls-cert-file", required_argument, NULL, OPT_TLS_CERT_FILE},
        {"tls-key-file", required_argument, NULL, OPT_TLS_KEY_FILE},
        {"tls-ca-cert-file", required_argument, NULL, OPT_TLS_CA_CERT_FILE},
        {"tls-auth-clients", required_argument, NULL, OPT_TLS_AUTH_CLIENTS},
        {"http-tls", required_argument, NULL, OPT_HTTP_TLS},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"maxmemory", required_argument, NULL, OPT_MAXMEMORY},
        {"worker-hard-limit", required_argument, NULL, OPT_WORKER_HARD},
        {"worker-soft-limit", required_argument, NULL, OPT_WORKER_SOFT},
        {"worker-soft-seconds", required_argument, NULL, OPT_WORKER_SOFT_SECONDS},
        {"max-channels", required_argument, NULL, OPT_MAX_CHANNELS},
        {"http-sse-heartbeat", required_argument, NULL, OPT_HTTP_SSE_HEARTBEAT},
        {"http-max-streams", required_argument, NULL, OPT_HTTP_MAX_STREAMS},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const uint64_t G = 1ULL << 30;
    size_t port = 0, secs = 0, bytes = 0;
    bool cache_flags = false;
    int policy;
    int c;
    if (with_config_file(argc, argv, opts, args) != 0)
        return -1;
    argc = args->argc;
    argv = args->argv;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = 0;
        *at = optind;
        switch (c) {
        case 'b':
            if (strlen(optarg) >= sizeof cfg->net.bind) {
                fprintf(stderr, "orderd: --bind address too long\n");
                return -1;
            }
            strcpy(cfg->net.bind, optarg);
            break;
        case 'p':
            if (strcmp(optarg, "off") == 0) {
                cfg->net.port = -1;
            } else {
                rc = size_flag("port", optarg, 0, 65535, &port);
                cfg->net.port = (int)port;
            }
            break;
        case OPT_MAX_CLIENTS: rc = size_flag("max-clients", optarg, 1, 1000000, &cfg->net.max_clients); break;
        case OPT_MAX_INLINE: rc = size_flag("max-inline", optarg, 16, G, &cfg->net.limits.max_inline); break;
        case OPT_MAX_BULK: rc = size_flag("max-bulk", optarg, 16, G, &cfg->net.limits.max_bulk); break;
        case OPT_MAX_ARGS: rc = size_flag("max-args", optarg, 1, 1000000, &cfg->net.limits.max_args); break;
        case OPT_MAX_REQUEST: rc = size_flag("max-request", optarg, 64, 4 * G, &cfg->net.limits.max_pending); break;
        case OPT_MAX_OUTPUT: rc = size_flag("max-output", optarg, 1024, 4 * G, &cfg->net.max_output); break;
        case OPT_MAX_OUTPUT_PAUSE:
            rc = size_flag("max-output-pause", optarg, 1, 86400, &secs);
            cfg->net.max_output_pause = (unsigned)secs;
            break;
        case OPT_PS_HARD: rc = size_flag("pubsub-hard-limit", optarg, 1024, 64 * G, &cfg->net.output_limits[CLIENT_PUBSUB].hard); break;
        case OPT_PS_SOFT: rc = size_flag("pubsub-soft-limit", optarg, 1024, 64 * G, &cfg->net.output_limits[CLIENT_PUBSUB].soft); break;
        case OPT_PS_SOFT_SECONDS:
            rc = size_flag("pubsub-soft-seconds", optarg, 0, 86400, &secs);
            cfg->net.output_limits[CLIENT_PUBSUB].soft_seconds = (unsigned)secs;
            break;
        case OPT_MAX_SUBS:
            rc = size_flag("max-subscriptions", optarg, 1, 10000000, &cfg->max_subscriptions);
            break;
        case OPT_MAX_MESSAGE:
            rc = size_flag("max-message", optarg, 16, G, &cfg->max_message);
            break;
        case OPT_MAX_REPLY_PAYLOAD:
            rc = size_flag("max-reply-payload", optarg, 1024, 4 * G, &cfg->max_reply_payload);
            break;
        case OPT_STORE:
            if (strcmp(optarg, "journal") == 0) {
                cfg->store = STORE_JOURNAL;
            } else if (strcmp(optarg, "memory") == 0) {
                cfg->store = STORE_MEMORY;
            } else if (strcmp(optarg, "postgres") == 0) {
                cfg->store = STORE_POSTGRES;
            } else {
                fprintf(stderr, "orderd: --store takes journal, memory or postgres, got '%s'\n",
                        optarg);
                return -1;
            }
            break;
        case OPT_PG:
            cfg->pg.conninfo = optarg;
            break;
        case OPT_PG_LEASE_MS:
            if ((rc = size_flag("pg-lease-ms", optarg, 500, 600000, &bytes)) == 0)
                cfg->pg.lease_ms = (int64_t)bytes;
            break;
        case OPT_PG_TIMEOUT_MS:
            if ((rc = size_flag("pg-timeout-ms", optarg, 50, 600000, &bytes)) == 0)
                cfg->pg.timeout_ms = (int64_t)bytes;
            break;
        case OPT_NODE_NAME:
            if (strlen(optarg) == 0 || strlen(optarg) > 128) {
                fprintf(stderr, "orderd: --node-name needs 1 to 128 bytes\n");
                return -1;
            }
            cfg->pg.node = optarg;
            break;
        case OPT_CACHE_ORDERS:
            rc = size_flag("cache-orders", optarg, 0, 1ULL << 32, &cfg->cache_orders);
            cache_flags = true;
            break;
        case OPT_CACHE_TTL:
            if ((rc = size_flag("cache-ttl", optarg, 0, 365ULL * 86400, &secs)) == 0)
                cfg->cache_ttl_ms = (int64_t)secs * 1000;
            cache_flags = true;
            break;
        case OPT_DATA:
            cfg->journal.dir = optarg;
            break;
        case OPT_FSYNC:
            if ((policy = fsync_policy_parse(optarg)) < 0) {
                fprintf(stderr, "orderd: --fsync takes always, everysec or no, got '%s'\n",
                        optarg);
                return -1;
            }
            cfg->journal.fsync = (enum fsync_policy)policy;
            break;
        case OPT_REPAIR:
            cfg->journal.repair = true;
            break;
        case OPT_COMPACT_MIN:
            rc = size_flag("compact-min", optarg, 0, 1ULL << 50, &bytes);
            cfg->journal.compact_min = bytes;
            break;
        case OPT_JOURNAL_RESERVE:
            rc = size_flag("journal-reserve", optarg, JOURNAL_RESERVE_MIN, 1ULL << 40, &bytes);
            cfg->journal.reserve = bytes;
            break;
        case OPT_HTTP_PORT:
            if (strcmp(optarg, "off") == 0) {
                cfg->http.port = -1;
            } else {
                rc = size_flag("http-port", optarg, 0, 65535, &port);
                cfg->http.port = (int)port;
            }
            break;
        case OPT_HTTP_MAX_HEADER_BYTES:
            rc = size_flag("http-max-header-bytes", optarg, 256, 1 << 20,
                           &cfg->http.max_header_bytes);
            break;
        case OPT_HTTP_MAX_HEADERS:
            rc = size_flag("http-max-headers", optarg, 1, 10000, &cfg->http.max_headers);
            break;
        case OPT_HTTP_MAX_BODY:
            rc = size_flag("http-max-body", optarg, 64, 1 << 30, &cfg->http.max_body);
            break;
        case OPT_HTTP_MAX_CONNECTIONS:
            rc = size_flag("http-max-connections", optarg, 1, 1000000,
                           &cfg->http.max_connections);
            break;
        case OPT_HTTP_IDLE_TIMEOUT:
            rc = size_flag("http-idle-timeout", optarg, 1, 86400, &secs);
            cfg->http.idle_timeout = (unsigned)secs;
            break;
        case OPT_HTTP_CORS_ORIGIN:
            if (optarg[0] == '\0' || strchr(optarg, ' ') || strchr(optarg, ',')) {
                fprintf(stderr, "orderd: --http-cors-origin takes one origin "
                                "(https://shop.example) or *, got '%s'\n", optarg);
                return -1;
            }
            cfg->http.cors_origin = optarg;
            break;
        case OPT_HTTP_MAX_URL:
            rc = size_flag("http-max-url", optarg, 16, 1 << 20, &cfg->http.max_url);
            break;
        case OPT_LOG_LEVEL:
            *log_level = optarg;
            break;
        case OPT_LOG_FILE:
            *log_file = optarg;
            break;
        case OPT_HTTP_BIND:
            if (strlen(optarg) >= sizeof cfg->http.bind) {
                fprintf(stderr, "orderd: --http-bind address too long\n");
                return -1;
            }
            strcpy(cfg->http.bind, optarg);
            break;
        case OPT_SAGA:
            if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
                fprintf(stderr, "orderd: --saga takes on or off, got '%s'\n", optarg);
                return -1;
            }
            cfg->saga = strcmp(optarg, "on") == 0;
            break;
        case OPT_SIM:
            if (parse_sim(optarg, &cfg->sim_mask) != 0)
                return -1;
            break;
        case OPT_REQUIREPASS:
            cfg->requirepass = optarg;
            break;
        case OPT_ACL_FILE:
            cfg->acl_file = optarg;
            break;
        case OPT_PROTECTED_MODE:
            if (strcmp(optarg, "yes") != 0 && strcmp(optarg, "no") != 0) {
                fprintf(stderr, "orderd: --protected-mode takes yes or no, got '%s'\n", optarg);
                return -1;
            }
            cfg->protected_mode = strcmp(optarg, "yes") == 0;
            break;
        case OPT_HTTP_SSE_HEARTBEAT:
            rc = size_flag("http-sse-heartbeat", optarg, 1, 86400, &secs);
            cfg->http.sse.heartbeat_s = (unsigned)secs;
            break;
        case OPT_HTTP_MAX_STREAMS:
            rc = size_flag("http-max-streams", optarg, 1, 1000000, &cfg->http.sse.max_streams);
            break;
        case OPT_CONFIG:
            break;  /* read before the others (with_config_file) */
        case OPT_TIMEOUT:
            rc = size_flag("timeout", optarg, 0, 365ULL * 86400, &secs);
            cfg->net.timeout = (unsigned)secs;
            break;
        case OPT_MAXMEMORY:
            rc = size_flag("maxmemory", optarg, 0, 1ULL << 48, &cfg->maxmemory);
            break;
        case OPT_WORKER_HARD:
            rc = size_flag("worker-hard-limit", optarg, 1024, 64 * G,
                           &cfg->net.output_limits[CLIENT_WORKER].hard);
            break;
        case OPT_WORKER_SOFT:
            rc = size_flag("worker-soft-limit", optarg, 1024, 64 * G,
                           &cfg->net.output_limits[CLIENT_WORKER].soft);
            break;
        case OPT_WORKER_SOFT_SECONDS:
            rc = size_flag("worker-soft-seconds", optarg, 0, 86400, &secs);
            cfg->net.output_limits[CLIENT_WORKER].soft_seconds = (unsigned)secs;
            break;
        case OPT_MAX_CHANNELS:
            rc = size_flag("max-channels", optarg, 1, 10000000, &cfg->max_channels);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("orderd %s\n", ORDERD_VERSION);
            exit(0);
        case OPT_TLS_PORT:
            rc = size_flag("tls-port", optarg, 0, 65535, &port);
            cfg->tls.port = (int)port;
            break;
        case OPT_TLS_CERT_FILE:
            cfg->tls.cert_file = optarg;
            break;
        case OPT_TLS_KEY_FILE:
            cfg->tls.key_file = optarg;
            break;
        case OPT_TLS_CA_CERT_FILE:
            cfg->tls.ca_cert_file = optarg;
            break;
        case OPT_TLS_AUTH_CLIENTS:
            if (strcmp(optarg, "yes") == 0) {
                cfg->tls.auth_clients = TLS_AUTH_YES;
            } else if (strcmp(optarg, "no") == 0) {
                cfg->tls.auth_clients = TLS_AUTH_NO;
            } else if (strcmp(optarg, "optional") == 0) {
                cfg->tls.auth_clients = TLS_AUTH_OPTIONAL;
            } else {
                fprintf(stderr, "orderd: --tls-auth-clients takes yes, no or optional, got "
                                "'%s'\n", optarg);
                return -1;
            }
            break;
        case OPT_HTTP_TLS:
            if (strcmp(optarg, "yes") != 0 && strcmp(optarg, "no") != 0) {
                fprintf(stderr, "orderd: --http-tls takes yes or no, got '%s'\n", optarg);
                return -1;
            }
            cfg->http.tls = strcmp(optarg, "yes") == 0;
            break;
        default:
            usage(stderr);
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    *at = 0;
    if (optind < argc) {
        fprintf(stderr, "orderd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    /* Limits are held as output is added, so one reply must fit under a
     * worker's hard limit, or a worker that reads would be cut off. */
    if (cfg->net.output_limits[CLIENT_WORKER].hard <= cfg->max_reply_payload) {
        fprintf(stderr, "orderd: --worker-hard-limit (%zu) must be above --max-reply-payload "
                        "(%zu): one READ or CONSUME reply would cut a worker off\n",
                cfg->net.output_limits[CLIENT_WORKER].hard, cfg->max_reply_payload);
        return -1;
    }
    if (cache_flags && cfg->store != STORE_POSTGRES) {
        fprintf(stderr, "orderd: --cache-orders and --cache-ttl need --store postgres (the "
                        "journal keeps every order in memory)\n");
        return -1;
    }
    return check_tls(cfg);
}

int config_parse_args(int argc, char **argv, struct server_config *cfg, const char **log_level,
                      const char **log_file, struct config_args *args)
{
    int at = 0;
    if (parse_flags(argc, argv, cfg, log_level, log_file, args, &at) == 0)
        return 0;
    /* The flag's own message said what is wrong with the value; if the
     * file gave it, this says where. */
    if (at > 0 && args->line[at - 1] > 0) {
        const char *flag = args->argv[at - 1] + 2;
        fprintf(stderr, "orderd: %s:%u: bad value for '%.*s'\n", args->path,
                args->line[at - 1], (int)strcspn(flag, "="), flag);
    }
    return -1;
}

void config_args_free(struct config_args *args)
{
    for (int i = 0; i < args->nfile; i++)
        free(args->own[i]);
    free(args->own);
    free(args->argv);
    free(args->line);
    free(args->path);
    memset(args, 0, sizeof *args);
}
