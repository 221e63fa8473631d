/* The flags after a --config file's settings: the file's keys are the
 * flags' names, a flag given overrides the file wherever --config is,
 * flags without a value are written yes or no, and what is not a setting
 * is refused. Messages and their line numbers are checked end to end by
 * tests/integration/test_config_file.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char path[64];

static void write_config(const char *text)
{
    snprintf(path, sizeof path, "/tmp/orderd-config-args-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* Parses argv (NULL-terminated) over the defaults. */
static int parse(struct server_config *cfg, struct config_args *args, const char **log_file,
                 char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    const char *log_level = NULL;
    *log_file = NULL;
    server_config_default(cfg);
    return config_parse_args(argc, argv, cfg, &log_level, log_file, args);
}

static void test_the_file_sets_and_flags_override(void **state)
{
    (void)state;
    write_config("# settings\n"
                 "port 7171\n"
                 "store postgres\n"
                 "pg \"host=/run/postgresql dbname=orderd\"\n"
                 "cache-orders 5\n"
                 "repair yes\n"
                 "log-file /var/log/orderd.log\n");
    struct server_config cfg;
    struct config_args args;
    const char *log_file;

    char *only[] = {"orderd", "--config", path, NULL};
    assert_int_equal(parse(&cfg, &args, &log_file, only), 0);
    assert_int_equal(cfg.net.port, 7171);
    assert_int_equal(cfg.store, STORE_POSTGRES);
    assert_string_equal(cfg.pg.conninfo, "host=/run/postgresql dbname=orderd");
    assert_int_equal(cfg.cache_orders, 5);
    assert_true(cfg.journal.repair);
    assert_string_equal(log_file, "/var/log/orderd.log");
    config_args_free(&args);

    /* Before --config or after it, a flag given wins. */
    char *after[] = {"orderd", "--config", path, "--port", "7272", NULL};
    char *before[] = {"orderd", "--port=7272", "--cache-orders", "6", "--config", path, NULL};
    char **lines[] = {after, before};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(parse(&cfg, &args, &log_file, lines[i]), 0);
        assert_int_equal(cfg.net.port, 7272);
        assert_string_equal(cfg.pg.conninfo, "host=/run/postgresql dbname=orderd");
        config_args_free(&args);
    }
    assert_int_equal(cfg.cache_orders, 6);
    unlink(path);
}

static void test_no_leaves_a_flag_unset(void **state)
{
    (void)state;
    write_config("repair no\n");
    struct server_config cfg;
    struct config_args args;
    const char *log_file;
    char *argv[] = {"orderd", "--config", path, NULL};
    assert_int_equal(parse(&cfg, &args, &log_file, argv), 0);
    assert_false(cfg.journal.repair);
    config_args_free(&args);
    unlink(path);
}

/* Each is refused: the parse fails and the server would not start. */
static void test_what_is_not_a_setting(void **state)
{
    (void)state;
    const char *bad[] = {
        "prot 7070\n",             /* unknown */
        "por 7070\n",              /* an abbreviation getopt_long would take */
        "--port 7070\n",           /* a flag, not a key */
        "port\n",                  /* no value */
        "port 70000\n",            /* out of range */
        "repair maybe\n",          /* a flag takes yes or no */
        "repair\n",
        "config /etc/other.conf\n",
        "help yes\n",
        "store memory\ncache-orders 5\n",  /* the checks across flags hold for the file */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_config(bad[i]);
        struct server_config cfg;
        struct config_args args;
        const char *log_file;
        char *argv[] = {"orderd", "--config", path, NULL};
        if (parse(&cfg, &args, &log_file, argv) != -1)
            fail_msg("accepted: %s", bad[i]);
        config_args_free(&args);
        unlink(path);
    }
    struct server_config cfg;
    struct config_args args;
    const char *log_file;
    char *missing[] = {"orderd", "--config", "/nonexistent/orderd.conf", NULL};
    assert_int_equal(parse(&cfg, &args, &log_file, missing), -1);
    config_args_free(&args);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_file_sets_and_flags_override),
        cmocka_unit_test(test_no_leaves_a_flag_unset),
        cmocka_unit_test(test_what_is_not_a_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
