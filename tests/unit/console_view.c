/* ordertop's views, drawn headless: a curses screen on /dev/null, the
 * model filled by hand, the window read back with mvwinnstr. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curses.h>
#include <hiredis/hiredis.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "model.h"
#include "view.h"

#define NOW 1800000000000LL

struct fixture {
    FILE *out, *in;
    SCREEN *screen;
    struct model m;
    struct theme theme;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->out = fopen("/dev/null", "w");
    f->in = fopen("/dev/null", "r");
    f->screen = newterm("xterm", f->out, f->in);
    if (f->screen == NULL)
        return -1;
    model_init(&f->m, "127.0.0.1:7070", false);
    model_connection(&f->m, CONN_UP, 0, 0);
    theme_init(&f->theme, false, false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    model_free(&f->m);
    endwin();
    delscreen(f->screen);
    fclose(f->out);
    fclose(f->in);
    free(f);
    return 0;
}

/* Draws into a fresh rows x cols window; returns it (the caller deletes). */
static WINDOW *draw(struct fixture *f, int rows, int cols)
{
    WINDOW *w = newwin(rows, cols, 0, 0);
    assert_non_null(w);
    view_draw(w, &f->m, &f->theme, NOW);
    return w;
}

/* Line y of w, trailing blanks cut. */
static const char *line(WINDOW *w, int y)
{
    static char buf[512];
    int n = mvwinnstr(w, y, 0, buf, (int)sizeof buf - 1);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

/* Whether any line of w holds text. */
static bool screen_has(WINDOW *w, const char *text)
{
    for (int y = 0; y < getmaxy(w); y++)
        if (strstr(line(w, y), text))
            return true;
    return false;
}

static void add_event(struct model *m, uint64_t order, const char *from, const char *to,
                      const char *text)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"order_id\":%llu,\"status\":\"%s\",\"previous\":%s%s%s,\"source\":\"saga\","
             "\"note\":\"%s\",\"order\":{\"customer\":\"c%llu\"}}",
             (unsigned long long)order, to, *from ? "\"" : "", *from ? from : "null",
             *from ? "\"" : "", text, (unsigned long long)order);
    redisReply msg[3] = {{.type = REDIS_REPLY_STRING, .str = (char *)"message", .len = 7},
                         {.type = REDIS_REPLY_STRING, .str = (char *)"order.status", .len = 12},
                         {.type = REDIS_REPLY_STRING, .str = json, .len = strlen(json)}};
    redisReply *els[3] = {&msg[0], &msg[1], &msg[2]};
    redisReply r = {.type = REDIS_REPLY_ARRAY, .elements = 3, .element = els};
    model_on_push(m, &r, NOW - 1000);
}

static void test_flow_shows_events_newest_at_the_bottom(void **state)
{
    struct fixture *f = *state;
    add_event(&f->m, 41, "", "PENDING", "");
    add_event(&f->m, 41, "PAID", "FAILED", "card declined");
    WINDOW *w = draw(f, 24, 80);
    assert_non_null(strstr(line(w, 0), "[1 Flow]"));
    assert_non_null(strstr(line(w, 0), "connected"));
    assert_true(screen_has(w, "PAID -> FAILED"));
    assert_true(screen_has(w, "c41 by saga: card declined"));
    /* The hint line names the keys of the view. */
    assert_non_null(strstr(line(w, 23), "space pause"));
    delwin(w);
}

static void test_follow_shows_the_newest_that_fit(void **state)
{
    struct fixture *f = *state;
    for (uint64_t i = 1; i <= 100; i++)
        add_event(&f->m, i, "PENDING", "RESERVED", "");
    WINDOW *w = draw(f, 24, 80);
    assert_true(screen_has(w, "    100  status"));
    assert_true(screen_has(w, "     80  status"));  /* 22 rows of events fit */
    assert_false(screen_has(w, "     78  status"));
    delwin(w);
}

static void test_too_small_says_so(void **state)
{
    struct fixture *f = *state;
    WINDOW *w = draw(f, 20, 60);
    assert_true(screen_has(w, "terminal too small: 60x20, ordertop needs 80x24"));
    delwin(w);
    w = draw(f, 24, 80);
    assert_false(screen_has(w, "too small"));
    delwin(w);
}

static void test_lost_connection_banner_and_stale_mark(void **state)
{
    struct fixture *f = *state;
    add_event(&f->m, 7, "", "PENDING", "");
    model_connection(&f->m, CONN_DOWN, 3, NOW + 4000);
    WINDOW *w = draw(f, 24, 80);
    assert_non_null(strstr(line(w, 0), "reconnecting in 4s (attempt 3)"));
    assert_non_null(strstr(line(w, 0), "[STALE]"));
    assert_non_null(strstr(line(w, 1), "lost connection to 127.0.0.1:7070"));
    assert_true(screen_has(w, "- -> PENDING"));  /* the old data stays */
    delwin(w);
}

static void test_breakers_say_their_state_in_text(void **state)
{
    struct fixture *f = *state;
    f->m.view = VIEW_METRICS;
    snprintf(f->m.metrics[0].key, sizeof f->m.metrics[0].key, "breaker_payment");
    snprintf(f->m.metrics[0].value, sizeof f->m.metrics[0].value, "OPEN");
    snprintf(f->m.metrics[1].key, sizeof f->m.metrics[1].key, "orders_failed");
    snprintf(f->m.metrics[1].value, sizeof f->m.metrics[1].value, "12");
    f->m.nmetrics = 2;
    WINDOW *w = draw(f, 24, 80);
    assert_true(screen_has(w, "payment [OPEN]"));
    assert_true(screen_has(w, "failed 12"));
    assert_non_null(strstr(line(w, 0), "[4 Metrics]"));
    delwin(w);
}

static void test_confirmation_dialog_shows_the_question(void **state)
{
    struct fixture *f = *state;
    f->m.view = VIEW_DLQ;
    f->m.ndlq = 2;
    f->m.dlq[0].id = 5;
    f->m.dlq[1].id = 6;
    snprintf(f->m.dlq[1].channel, sizeof f->m.dlq[1].channel, "jobs");
    snprintf(f->m.dlq[1].reason, sizeof f->m.dlq[1].reason, "broken");
    WINDOW *w = draw(f, 24, 80);
    assert_true(screen_has(w, "broken"));
    delwin(w);
    assert_true(model_ask(&f->m, CONFIRM_PURGE));
    w = draw(f, 24, 80);
    assert_true(screen_has(w, "Purge dead letter #5? y/N"));
    delwin(w);
}

static void test_help_lists_every_key_of_the_table(void **state)
{
    struct fixture *f = *state;
    f->m.help = true;
    WINDOW *w = draw(f, 40, 120);
    size_t n;
    const struct key_binding *k = key_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (k[i].help == NULL)
            continue;
        if (!screen_has(w, k[i].help))
            fail_msg("help does not show %s (%s)", k[i].label, k[i].help);
    }
    delwin(w);
    /* Read-only: the keys that act are not offered. */
    f->m.read_only = true;
    w = draw(f, 40, 120);
    assert_false(screen_has(w, "purge the marked"));
    assert_true(screen_has(w, "this help"));
    delwin(w);
}

static void test_long_and_wide_text_is_cut_at_the_edge(void **state)
{
    struct fixture *f = *state;
    /* 40 wide characters: 80 columns of text in a 80-column window that
     * already used 40 for time, order and statuses. */
    char wide[256] = "";
    for (int i = 0; i < 40; i++)
        strcat(wide, "\xe6\xbc\xa2");  /* U+6F22, two columns */
    add_event(&f->m, 8, "PAID", "SHIPPED", wide);
    add_event(&f->m, 9, "PAID", "SHIPPED", "next");
    WINDOW *w = draw(f, 24, 80);
    /* The next event is on its own line, untouched. */
    assert_true(screen_has(w, "c9 by saga: next"));
    int y = 0;
    while (y < 24 && !strstr(line(w, y), "c9 by saga"))
        y++;
    assert_non_null(strstr(line(w, y - 1), "c8 by saga"));
    delwin(w);
}

static void test_monochrome_still_marks_roles(void **state)
{
    (void)state;
    struct theme t;
    theme_init(&t, false, false);
    assert_true(t.attr[ROLE_SELECTED] & A_REVERSE);
    assert_true(t.attr[ROLE_BAD] != t.attr[ROLE_NORMAL]);
    assert_true(t.attr[ROLE_HEADER] != t.attr[ROLE_NORMAL]);
}

int main(void)
{
    setlocale(LC_ALL, "C.UTF-8");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flow_shows_events_newest_at_the_bottom, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_follow_shows_the_newest_that_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_small_says_so, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_connection_banner_and_stale_mark, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_breakers_say_their_state_in_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirmation_dialog_shows_the_question, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_help_lists_every_key_of_the_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_and_wide_text_is_cut_at_the_edge, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_monochrome_still_marks_roles, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
