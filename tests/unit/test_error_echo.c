/* Client input echoed in an error is shown as docs/protocol.md says: bytes
 * outside printable ASCII as \xHH, and cut at about 80 bytes. Every error
 * that names an argument it could not use is held to it here, with an
 * argument of a control byte, a byte that is not UTF-8, and 300 more: an
 * error line never carries the client's raw bytes, nor all of a long one.
 * (INFO's section, SIM SET's participant, STEP's stray word and the group
 * names of ACK, NACK, PENDING and STEP were once echoed raw and whole.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "support/world.h"

#define MAXW 8

/* "\x01\xff" and 300 bytes more, with "group=" before it when asked. */
static char hostile[400], hostile_group[420], hostile_qty[420];

/* A form: a command's words; "H" stands for the hostile argument, "G"
 * for group=<it>, "Q" for qty=<it>. */
struct form {
    const char *w[MAXW];
};

static const struct form forms[] = {
    {{"INFO", "H"}},
    {{"METRICS", "H"}},
    {{"SIM", "SET", "H"}},
    {{"STEP", "payment.authorize", "group=payment", "1", "H"}},
    {{"STEP", "payment.authorize", "G", "1", "ok"}},
    {{"ACK", "jobs", "G", "1"}},
    {{"NACK", "jobs", "G", "1"}},
    {{"PENDING", "jobs", "G"}},
    /* Those that were always shown escaped stay so. */
    {{"H"}},
    {{"GET", "H"}},
    {{"HELP", "H"}},
    {{"ACL", "H"}},
    {{"COMMAND", "H"}},
    {{"DLQ", "SHOW", "H"}},
    {{"ACK", "jobs", "group=workers", "H"}},
    {{"CREATE", "customer=a", "item=b", "Q", "amount=1"}},
};

static int setup(void **state)
{
    static struct world w;
    world_init(&w, true);
    snprintf(hostile, sizeof hostile, "\x01\xff%0300d", 7);
    snprintf(hostile_group, sizeof hostile_group, "group=%s", hostile);
    snprintf(hostile_qty, sizeof hostile_qty, "qty=%s", hostile);
    const char *setup_forms[][5] = {
        {"CHANNEL", "CREATE", "jobs", NULL, NULL},
        {"CONSUME", "jobs", "group=workers", "consumer=w0", NULL},
    };
    for (size_t i = 0; i < 2; i++) {
        const char *const *f = setup_forms[i];
        struct reply *r = world_run(&w, NULL, NULL, f[0], f[1], f[2], f[3], (const char *)NULL);
        assert_non_null(r);
        assert_int_not_equal(r->type, REPLY_ERROR);
        reply_free(r);
    }
    *state = &w;
    return 0;
}

static int teardown(void **state)
{
    world_free(*state);
    return 0;
}

static void test_echoed_input_is_escaped_and_cut(void **state)
{
    struct world *w = *state;
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        const char *x[MAXW + 1] = {0};
        char name[64] = "";
        for (int i = 0; i < MAXW && forms[k].w[i]; i++) {
            const char *word = forms[k].w[i];
            x[i] = strcmp(word, "H") == 0   ? hostile
                   : strcmp(word, "G") == 0 ? hostile_group
                   : strcmp(word, "Q") == 0 ? hostile_qty
                                            : word;
            snprintf(name + strlen(name), sizeof name - strlen(name), "%s%s", i ? " " : "", word);
        }
        struct reply *r = world_run(w, NULL, NULL, x[0], x[1], x[2], x[3], x[4], x[5], x[6],
                                    x[7], (const char *)NULL);
        if (r == NULL || r->type != REPLY_ERROR)
            fail_msg("%s: not an error", name);
        for (const unsigned char *p = (const unsigned char *)r->str; *p; p++)
            if (*p < 0x20 || *p > 0x7e)
                fail_msg("%s: byte 0x%02x in -%s %.60s", name, *p, r->code, r->str);
        if (strstr(r->str, "\\x01\\xff") == NULL)
            fail_msg("%s: the bytes are not shown as \\xHH: -%s %.100s", name, r->code, r->str);
        if (strlen(r->str) > 220)
            fail_msg("%s: %zu bytes, the argument not cut: -%s %.100s...", name,
                     strlen(r->str), r->code, r->str);
        reply_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echoed_input_is_escaped_and_cut, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
