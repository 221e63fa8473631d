/* orderd: flags, then the server until a signal stops it. */
#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "lib/log.h"
#include "server.h"

int main(int argc, char **argv)
{
    struct server_config cfg;
    /* The server lives as long as the process, and its state is left to
     * the exit (server_close): static, it stays reachable to the end, so
     * LeakSanitizer does not take it for a leak. */
    static struct server srv;
    /* What the config's strings point into, as long as the server. */
    static struct config_args args;
    char err[256];

    const char *log_level = NULL, *log_file = NULL;
    server_config_default(&cfg);
    if (config_parse_args(argc, argv, &cfg, &log_level, &log_file, &args) != 0) {
        config_args_free(&args);
        return 2;
    }
    if (log_setup(log_level, log_file, err, sizeof err) != 0) {
        fprintf(stderr, "orderd: %s\n", err);
        config_args_free(&args);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (server_init(&srv, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "orderd: %s\n", err);
        config_args_free(&args);
        return 1;
    }
    int rc = server_run(&srv);
    /* The loop is over and orderd is exiting: a late signal must not turn
     * a clean exit into a killed one while everything is freed. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    if (server_close(&srv) != 0 && rc == 0)
        rc = 1;
    log_event(rc == 0 ? "info" : "error", "event=stopped status=%d", rc);
    config_args_free(&args);
    return rc;
}
