/* Log lines: levels filter, the limiter writes at most one line a second
 * per kind and says how many it held back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

static char path[64];

static char *slurp(void)
{
    FILE *f = fopen(path, "r");
    static char buf[8192];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_levels_filter_and_the_limiter_holds_back(void **state)
{
    (void)state;
    char err[256];
    snprintf(path, sizeof path, "/tmp/orderd-log-test-%d", (int)getpid());
    unlink(path);
    assert_int_equal(log_setup("warn", path, err, sizeof err), 0);
    log_event("info", "event=quiet");
    log_event("warn", "event=loud n=%d", 1);
    struct log_limiter l = {0, 0, "limits"};
    for (int i = 0; i < 50; i++)
        log_limited(&l, 10000 + i, "warn", "event=flood i=%d", i);  /* one second */
    log_limited(&l, 11000, "warn", "event=flood i=%d", 99);
    char *text = slurp();
    assert_int_equal(count(text, "event=quiet"), 0);
    assert_int_equal(count(text, "level=warn event=loud n=1"), 1);
    assert_int_equal(count(text, "event=flood"), 2);
    assert_non_null(strstr(text, "event=flood i=0\n"));
    assert_non_null(strstr(text, "event=flood i=99 held_back=49\n"));
    unlink(path);
}

static void test_bad_settings_are_refused(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(log_setup("loud", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "debug, info, warn or error"));
    assert_int_equal(log_setup("info", "/nonexistent/dir/log", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open log file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_filter_and_the_limiter_holds_back),
        cmocka_unit_test(test_bad_settings_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
