/* COMMAND, COMMAND COUNT and COMMAND DOCS, through dispatch: the shapes
 * Redis tools read (redis-cli's hints come from COMMAND DOCS), and that
 * what they say is the table's: names, arities, summaries, which forms
 * change state and who may run them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "support/world.h"

static int setup(void **state)
{
    static struct world w;
    world_init(&w, false);
    *state = &w;
    return 0;
}

static int teardown(void **state)
{
    world_free(*state);
    return 0;
}

/* Runs words (NULL-terminated) as a request without a client. */
#define RUN(w, ...) world_run((w), NULL, NULL, __VA_ARGS__, (const char *)NULL)

static void lower(char *out, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    out[i] = '\0';
}

static bool is_str(const struct reply *r, const char *s)
{
    return r && (r->type == REPLY_STRING || r->type == REPLY_STATUS) && r->len == strlen(s) &&
           memcmp(r->str, s, r->len) == 0;
}

/* The words of a list of statuses, blank-separated: "write admin". */
static void statuses(char *out, size_t cap, const struct reply *list)
{
    assert_int_equal(list->type, REPLY_LIST);
    out[0] = '\0';
    for (size_t i = 0; i < list->n; i++) {
        assert_int_equal(list->items[i]->type, REPLY_STATUS);
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? " " : "",
                 list->items[i]->str);
    }
}

/* The entry named name in COMMAND's list (or in an entry's subcommands). */
static const struct reply *entry(const struct reply *list, const char *name)
{
    for (size_t i = 0; i < list->n; i++)
        if (is_str(list->items[i]->items[0], name))
            return list->items[i];
    fail_msg("no entry %s", name);
    return NULL;
}

static void expect_entry(const struct reply *e, int arity, const char *flags,
                         const char *categories)
{
    char got[128];
    assert_int_equal(e->type, REPLY_LIST);
    assert_int_equal(e->n, 10);
    assert_int_equal(e->items[1]->integer, arity);
    statuses(got, sizeof got, e->items[2]);
    assert_string_equal(got, flags);
    for (size_t k = 3; k <= 5; k++)
        assert_int_equal(e->items[k]->integer, 0);  /* no keys */
    statuses(got, sizeof got, e->items[6]);
    assert_string_equal(got, categories);
    assert_int_equal(e->items[7]->n, 0);  /* tips */
    assert_int_equal(e->items[8]->n, 0);  /* key specs */
}

static void test_count_is_the_tables(void **state)
{
    size_t n;
    command_table(&n);
    struct reply *r = RUN(*state, "COMMAND", "COUNT");
    assert_int_equal(r->type, REPLY_INTEGER);
    assert_int_equal(r->integer, (long long)n);
    reply_free(r);
}

static void test_command_lists_every_command_as_the_table_declares_it(void **state)
{
    size_t n;
    const struct command *table = command_table(&n);
    struct reply *r = RUN(*state, "command");
    assert_int_equal(r->type, REPLY_LIST);
    assert_int_equal(r->n, n);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        lower(name, sizeof name, table[i].name);
        assert_true(is_str(r->items[i]->items[0], name));
        assert_int_equal(r->items[i]->items[1]->integer, table[i].arity);
    }
    expect_entry(entry(r, "create"), -5, "write", "@admin @client");
    expect_entry(entry(r, "get"), 2, "readonly", "@admin @operator @client");
    expect_entry(entry(r, "auth"), -2, "readonly no_auth", "@admin @operator @client @worker");
    expect_entry(entry(r, "shutdown"), 1, "readonly admin", "@admin");
    /* Only the request tells whether PUBLISH changes anything (a durable
     * channel or not) and whether POLICY does (settings or none). */
    expect_entry(entry(r, "publish"), 3, "", "@admin @worker");
    expect_entry(entry(r, "policy"), -2, "", "@admin @operator");

    /* Subcommands: what each form changes and who may run it. */
    const struct reply *dlq = entry(r, "dlq");
    expect_entry(dlq, -2, "", "@admin @operator");
    const struct reply *subs = dlq->items[9];
    assert_int_equal(subs->n, 4);
    expect_entry(entry(subs, "dlq|list"), -2, "readonly", "@admin @operator");
    expect_entry(entry(subs, "dlq|show"), 3, "readonly", "@admin @operator");
    expect_entry(entry(subs, "dlq|replay"), -3, "write", "@admin @operator");
    expect_entry(entry(subs, "dlq|purge"), -3, "write admin", "@admin");
    subs = entry(r, "channel")->items[9];
    expect_entry(entry(subs, "channel|create"), -3, "write admin", "@admin");
    expect_entry(entry(subs, "channel|info"), 3, "readonly", "@admin @operator");
    subs = entry(r, "acl")->items[9];
    expect_entry(entry(subs, "acl|users"), 2, "readonly admin", "@admin");
    expect_entry(entry(subs, "acl|whoami"), 2, "readonly", "@admin @operator @client @worker");
    /* SAGA <id> reads; only its ABORT is a subcommand. */
    subs = entry(r, "saga")->items[9];
    assert_int_equal(subs->n, 1);
    expect_entry(entry(subs, "saga|abort"), -3, "write admin", "@admin");
    assert_int_equal(entry(r, "get")->items[9]->n, 0);
    reply_free(r);
}

static const struct reply *field(const struct reply *rec, const char *key)
{
    assert_int_equal(rec->type, REPLY_RECORD);
    const struct reply *v = reply_record_get(rec, key);
    if (v == NULL)
        fail_msg("no field %s", key);
    return v;
}

static void expect_arg(const struct reply *a, const char *name, const char *type,
                       const char *flags)
{
    char got[64] = "";
    assert_true(is_str(field(a, "name"), name));
    assert_true(is_str(field(a, "type"), type));
    if (reply_record_get(a, "flags"))
        statuses(got, sizeof got, field(a, "flags"));
    assert_string_equal(got, flags);
}

static void test_docs_hold_every_command_with_its_summary(void **state)
{
    size_t n;
    const struct command *table = command_table(&n);
    struct reply *r = RUN(*state, "COMMAND", "DOCS");
    assert_int_equal(r->type, REPLY_RECORD);
    assert_int_equal(r->n, n);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        lower(name, sizeof name, table[i].name);
        assert_string_equal(r->keys[i], name);
        assert_true(is_str(field(r->items[i], "summary"), table[i].summary));
        assert_true(is_str(field(r->items[i], "since"), "0.1.0"));
        assert_true(is_str(field(r->items[i], "group"), "orderd"));
    }
    reply_free(r);
}

static void test_docs_arguments(void **state)
{
    struct reply *r = RUN(*state, "COMMAND", "DOCS", "create", "NOSUCH", "Create", "step");
    assert_int_equal(r->type, REPLY_RECORD);
    assert_int_equal(r->n, 2);  /* unknown names left out, each command once */
    const struct reply *args = field(field(r, "create"), "arguments");
    assert_int_equal(args->n, 6);
    expect_arg(args->items[0], "customer=<id>", "string", "");
    expect_arg(args->items[4], "currency=<ISO 4217>", "string", "optional");
    args = field(field(r, "step"), "arguments");
    const struct reply *oneof = args->items[3];
    expect_arg(oneof, "ok|fail|retry|progress", "oneof", "");
    const struct reply *alts = field(oneof, "arguments");
    assert_int_equal(alts->n, 4);
    expect_arg(alts->items[1], "fail", "pure-token", "");
    assert_true(is_str(field(alts->items[1], "token"), "fail"));
    reply_free(r);

    /* Subcommands are keyed as Redis keys them; a command with none has
     * no such field, and one without arguments no arguments. */
    r = RUN(*state, "COMMAND", "DOCS", "DLQ", "UNSUBSCRIBE", "CHANNELS");
    const struct reply *dlq = field(r, "dlq");
    assert_null(reply_record_get(dlq, "arguments"));
    const struct reply *subs = field(dlq, "subcommands");
    assert_int_equal(subs->n, 4);
    assert_string_equal(subs->keys[2], "dlq|replay");
    args = field(subs->items[2], "arguments");
    expect_arg(args->items[0], "<id>|ALL", "oneof", "");
    expect_arg(args->items[1], "channel=<ch>", "string", "optional");
    expect_arg(field(field(r, "unsubscribe"), "arguments")->items[0], "channel", "string",
               "optional multiple");
    assert_null(reply_record_get(field(r, "unsubscribe"), "subcommands"));
    assert_null(reply_record_get(field(r, "channels"), "arguments"));
    reply_free(r);

    /* Two forms of the command itself: one of them, each a block. */
    r = RUN(*state, "COMMAND", "DOCS", "AUTH");
    args = field(field(r, "auth"), "arguments");
    assert_int_equal(args->n, 1);
    expect_arg(args->items[0], "form", "oneof", "");
    const struct reply *forms = field(args->items[0], "arguments");
    assert_int_equal(forms->n, 2);
    expect_arg(forms->items[1], "<user> <password>", "block", "");
    assert_int_equal(field(forms->items[1], "arguments")->n, 2);
    reply_free(r);
}

static void test_unknown_subcommand_and_arity(void **state)
{
    struct reply *r = RUN(*state, "COMMAND", "INFO", "GET");
    assert_int_equal(r->type, REPLY_ERROR);
    assert_string_equal(r->code, ERR_BADARG);
    assert_string_equal(r->str, "unknown COMMAND subcommand 'INFO' (COUNT, DOCS)");
    reply_free(r);
    r = RUN(*state, "COMMAND", "COUNT", "x");
    assert_int_equal(r->type, REPLY_ERROR);
    assert_string_equal(r->code, ERR_ERR);
    reply_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_count_is_the_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_lists_every_command_as_the_table_declares_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_docs_hold_every_command_with_its_summary, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_docs_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_subcommand_and_arity, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
