/* The synopsis grammar read into Redis's argument model: every synopsis
 * of the command table reads, its arity is the table's, and each form's
 * arguments, rendered as redis-cli renders COMMAND DOCS into a hint, give
 * back the synopsis as written. Then the shapes of the grammar one by one,
 * and what it refuses. Each synopsis is fed whole. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cmd/command.h"
#include "cmd/synopsis.h"

/* --- rendering, as redis-cli 7.0 builds a hint from COMMAND DOCS ---------- */

static void render_args(char *out, size_t cap, const struct syn_arg *args, size_t n,
                        const char *sep);

static void cat(char *out, size_t cap, const char *s, size_t len)
{
    size_t used = strlen(out);
    assert_true(used + len < cap);
    memcpy(out + used, s, len);
    out[used + len] = '\0';
}

static void cats(char *out, size_t cap, const char *s)
{
    cat(out, cap, s, strlen(s));
}

/* A leaf shows its name (a token its token, which is the same text here);
 * a oneof its parts joined by |, a block by blanks; then [..] when
 * optional and "x [x ...]" when multiple. */
static void render_arg(char *out, size_t cap, const struct syn_arg *a)
{
    char part[512] = "";
    if (a->type == SYN_ONEOF)
        render_args(part, sizeof part, a->sub, a->nsub, "|");
    else if (a->type == SYN_BLOCK)
        render_args(part, sizeof part, a->sub, a->nsub, " ");
    else
        cat(part, sizeof part, a->text, a->len);
    if (a->flags & SYN_OPTIONAL)
        cats(out, cap, "[");
    cats(out, cap, part);
    if (a->flags & SYN_MULTIPLE) {
        cats(out, cap, " [");
        cats(out, cap, part);
        cats(out, cap, " ...]");
    }
    if (a->flags & SYN_OPTIONAL)
        cats(out, cap, "]");
}

static void render_args(char *out, size_t cap, const struct syn_arg *args, size_t n,
                        const char *sep)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            cats(out, cap, sep);
        render_arg(out, cap, &args[i]);
    }
}

/* The form's text as written, with "x..." spelt the way Redis spells a
 * multiple argument: "x [x ...]", and "[x...]" as "[x [x ...]]". */
static void as_redis_spells_it(char *out, size_t cap, const char *text, size_t len)
{
    out[0] = '\0';
    size_t word = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ' || text[i] == '[')
            word = i + 1;
        if (i + 3 <= len && memcmp(text + i, "...", 3) == 0) {
            cats(out, cap, " [");
            cat(out, cap, text + word, i - word);
            cats(out, cap, " ...]");
            i += 2;
            continue;
        }
        cat(out, cap, text + i, 1);
    }
}

static void must_parse(struct synopsis *s, const char *name, const char *text)
{
    char err[256];
    if (synopsis_parse(s, name, text, err, sizeof err) != 0)
        fail_msg("%s: %s", name, err);
}

/* --- the table ------------------------------------------------------------ */

static void test_every_synopsis_in_the_table_reads_with_the_tables_arity(void **state)
{
    (void)state;
    size_t n;
    const struct command *table = command_table(&n);
    for (size_t i = 0; i < n; i++) {
        struct synopsis s;
        must_parse(&s, table[i].name, table[i].synopsis);
        assert_true(s.nforms >= 1);
        if (synopsis_arity(&s) != table[i].arity)
            fail_msg("%s: the synopsis says arity %d, the table %d", table[i].name,
                     synopsis_arity(&s), table[i].arity);
        synopsis_free(&s);
    }
}

static void test_every_form_renders_back_as_written(void **state)
{
    (void)state;
    size_t n;
    const struct command *table = command_table(&n);
    for (size_t i = 0; i < n; i++) {
        struct synopsis s;
        must_parse(&s, table[i].name, table[i].synopsis);
        for (size_t k = 0; k < s.nforms; k++) {
            char got[1024] = "", want[1024];
            render_args(got, sizeof got, s.forms[k].args, s.forms[k].nargs, " ");
            as_redis_spells_it(want, sizeof want, s.forms[k].text, s.forms[k].len);
            if (strcmp(got, want) != 0)
                fail_msg("%s form %zu:\n  want %s\n  got  %s", table[i].name, k, want, got);
        }
        synopsis_free(&s);
    }
}

/* --- shapes --------------------------------------------------------------- */

static void expect_arg(const struct syn_arg *a, enum syn_type type, unsigned flags,
                       const char *text)
{
    if (a->type != type || a->flags != flags || a->len != strlen(text) ||
        memcmp(a->text, text, a->len) != 0)
        fail_msg("want %s %s flags %u, got %s %.*s flags %u", synopsis_type_name(type), text,
                 flags, synopsis_type_name(a->type), (int)a->len, a->text, a->flags);
}

static void test_key_value_arguments_are_one_word_shown_whole(void **state)
{
    (void)state;
    struct synopsis s;
    must_parse(&s, "CREATE",
               "CREATE customer=<id> item=<sku> qty=<n> amount=<decimal> "
               "[currency=<ISO 4217>] [key=<idempotency key>]");
    assert_int_equal(s.nforms, 1);
    const struct syn_form *f = &s.forms[0];
    assert_null(f->sub);
    assert_int_equal(f->nargs, 6);
    expect_arg(&f->args[0], SYN_STRING, 0, "customer=<id>");
    expect_arg(&f->args[3], SYN_STRING, 0, "amount=<decimal>");
    expect_arg(&f->args[4], SYN_STRING, SYN_OPTIONAL, "currency=<ISO 4217>");
    expect_arg(&f->args[5], SYN_STRING, SYN_OPTIONAL, "key=<idempotency key>");
    assert_int_equal(synopsis_arity(&s), -5);
    synopsis_free(&s);

    /* A value written out, with a | in it, is still one key=value. */
    must_parse(&s, "SIM", "SIM SET <participant> [enabled=0|1] [decline=<0..1>]");
    expect_arg(&s.forms[0].args[1], SYN_STRING, SYN_OPTIONAL, "enabled=0|1");
    assert_int_equal(s.forms[0].args[1].nsub, 0);
    synopsis_free(&s);

    /* Blanks and commas inside <...> stay in the one word. */
    must_parse(&s, "LIST", "LIST [limit=<n, 1..1000, default 100>]");
    assert_int_equal(s.forms[0].nargs, 1);
    expect_arg(&s.forms[0].args[0], SYN_STRING, SYN_OPTIONAL, "limit=<n, 1..1000, default 100>");
    synopsis_free(&s);
}

static void test_placeholders_are_typed_by_their_first_word(void **state)
{
    (void)state;
    struct synopsis s;
    must_parse(&s, "X", "X <id> <n, at most 5> <ms> <decimal> <0..1> <sku> <ISO 4217> message");
    const struct syn_arg *a = s.forms[0].args;
    assert_int_equal(s.forms[0].nargs, 8);
    expect_arg(&a[0], SYN_INTEGER, 0, "<id>");
    expect_arg(&a[1], SYN_INTEGER, 0, "<n, at most 5>");
    expect_arg(&a[2], SYN_INTEGER, 0, "<ms>");
    expect_arg(&a[3], SYN_DOUBLE, 0, "<decimal>");
    expect_arg(&a[4], SYN_DOUBLE, 0, "<0..1>");
    expect_arg(&a[5], SYN_STRING, 0, "<sku>");
    expect_arg(&a[6], SYN_STRING, 0, "<ISO 4217>");
    expect_arg(&a[7], SYN_STRING, 0, "message");
    assert_int_equal(synopsis_arity(&s), 9);
    synopsis_free(&s);
}

static void test_one_of_is_tokens_and_placeholders(void **state)
{
    (void)state;
    struct synopsis s;
    must_parse(&s, "STEP", "STEP <ch> group=<g> <id> ok|fail|retry|progress [reason=<text>]");
    const struct syn_arg *a = &s.forms[0].args[3];
    expect_arg(a, SYN_ONEOF, 0, "ok|fail|retry|progress");
    assert_int_equal(a->nsub, 4);
    expect_arg(&a->sub[0], SYN_TOKEN, 0, "ok");
    expect_arg(&a->sub[3], SYN_TOKEN, 0, "progress");
    assert_int_equal(synopsis_arity(&s), -5);
    synopsis_free(&s);

    /* An upper-case word that is one of several is no subcommand. */
    must_parse(&s, "CUSTOMER", "CUSTOMER BLOCK|UNBLOCK <id>");
    assert_null(s.forms[0].sub);
    expect_arg(&s.forms[0].args[0], SYN_ONEOF, 0, "BLOCK|UNBLOCK");
    assert_int_equal(synopsis_arity(&s), 3);
    synopsis_free(&s);

    must_parse(&s, "DLQ", "DLQ PURGE <id>|ALL");
    a = &s.forms[0].args[0];
    assert_int_equal(a->nsub, 2);
    expect_arg(&a->sub[0], SYN_INTEGER, 0, "<id>");
    expect_arg(&a->sub[1], SYN_TOKEN, 0, "ALL");
    synopsis_free(&s);
}

static void test_optional_and_multiple(void **state)
{
    (void)state;
    struct synopsis s;
    must_parse(&s, "SUBSCRIBE", "SUBSCRIBE <channel>...");
    expect_arg(&s.forms[0].args[0], SYN_STRING, SYN_MULTIPLE, "<channel>");
    assert_int_equal(synopsis_arity(&s), -2);
    synopsis_free(&s);

    must_parse(&s, "UNSUBSCRIBE", "UNSUBSCRIBE [channel...]");
    expect_arg(&s.forms[0].args[0], SYN_STRING, SYN_OPTIONAL | SYN_MULTIPLE, "channel");
    assert_int_equal(synopsis_arity(&s), -1);
    synopsis_free(&s);

    /* Several words in [ ] are a block; "..." after ] repeats it. */
    must_parse(&s, "X", "X <a> [BY <field> [ASC|DESC]]...");
    assert_int_equal(s.forms[0].nargs, 2);
    const struct syn_arg *b = &s.forms[0].args[1];
    expect_arg(b, SYN_BLOCK, SYN_OPTIONAL | SYN_MULTIPLE, "BY <field> [ASC|DESC]");
    assert_int_equal(b->nsub, 3);
    expect_arg(&b->sub[0], SYN_TOKEN, 0, "BY");
    expect_arg(&b->sub[2], SYN_ONEOF, SYN_OPTIONAL, "ASC|DESC");
    assert_int_equal(synopsis_arity(&s), -2);
    synopsis_free(&s);
}

static void test_forms_and_subcommands(void **state)
{
    (void)state;
    struct synopsis s;
    /* Later forms may leave the name out. */
    must_parse(&s, "DLQ",
               "DLQ LIST [channel=<ch>] [limit=<n>] | SHOW <id> | REPLAY <id>|ALL "
               "[channel=<ch>] [limit=<n>] | PURGE <id>|ALL [channel=<ch>]");
    assert_int_equal(s.nforms, 4);
    const char *subs[] = {"LIST", "SHOW", "REPLAY", "PURGE"};
    const int arities[] = {-2, 3, -3, -3};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(s.forms[i].sublen, strlen(subs[i]));
        assert_memory_equal(s.forms[i].sub, subs[i], s.forms[i].sublen);
        assert_int_equal(synopsis_form_arity(&s.forms[i]), arities[i]);
    }
    assert_int_equal(s.forms[1].len, 4);
    assert_memory_equal(s.forms[1].text, "<id>", 4);
    assert_int_equal(synopsis_arity(&s), -2);
    synopsis_free(&s);

    /* The command's own forms beside a subcommand's. */
    must_parse(&s, "SAGA", "SAGA <id> | SAGA ABORT <id> [reason=<text>]");
    assert_int_equal(s.nforms, 2);
    assert_null(s.forms[0].sub);
    expect_arg(&s.forms[0].args[0], SYN_INTEGER, 0, "<id>");
    assert_memory_equal(s.forms[1].sub, "ABORT", 5);
    assert_int_equal(synopsis_form_arity(&s.forms[1]), -3);
    assert_int_equal(synopsis_arity(&s), -2);
    synopsis_free(&s);

    must_parse(&s, "SIM", "SIM | SIM SET <participant> [stock=<n>]");
    assert_int_equal(s.nforms, 2);
    assert_null(s.forms[0].sub);
    assert_int_equal(s.forms[0].nargs, 0);
    assert_int_equal(s.forms[0].len, 0);
    assert_int_equal(synopsis_arity(&s), -1);
    synopsis_free(&s);

    must_parse(&s, "AUTH", "AUTH <password> | AUTH <user> <password>");
    assert_int_equal(s.nforms, 2);
    assert_null(s.forms[1].sub);
    assert_int_equal(s.forms[1].nargs, 2);
    assert_int_equal(synopsis_arity(&s), -2);
    synopsis_free(&s);

    must_parse(&s, "ACL", "ACL WHOAMI | ACL ROLES | ACL USERS");
    assert_int_equal(s.nforms, 3);
    assert_int_equal(synopsis_arity(&s), 2);
    synopsis_free(&s);
}

static void test_what_the_grammar_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"Y <a>", "starts with its command's name, X"},
        {"XY <a>", "starts with its command's name, X"},
        {"X [a", "'[' without its ']'"},
        {"X a]", "']' without its '['"},
        {"X []", "an empty [ ]"},
        {"X [a]b", "'b' straight after ']'"},
        {"X <a", "'<' without its '>'"},
        {"X <a<b>>", "'<' inside <...>"},
        {"X k=<a", "'<' without its '>'"},
        {"X |", "an empty form"},
        {"X <a> | | Y", "an empty form"},
        {"X |a", "'|' without an alternative before it"},
        {"X [a | b]", "'|' inside [...]"},
        {"X a||b", "an empty alternative"},
        {"X a|", "an empty alternative"},
        {"X ...", "'...' after nothing"},
        {"X =<v>", "'=' without a key"},
        {"X k=", "'=' without a value"},
        {"X Key=<v>", "'K' in the key of a key=value"},
        {"X a,b", "',' in a word"},
        {"X SET <a> | SET <b>", "subcommand SET twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct synopsis s;
        char err[256] = "";
        if (synopsis_parse(&s, "X", bad[i].text, err, sizeof err) == 0)
            fail_msg("'%s' was read", bad[i].text);
        if (strstr(err, bad[i].says) == NULL)
            fail_msg("'%s': want \"%s\", got \"%s\"", bad[i].text, bad[i].says, err);
        assert_null(s.forms);
        assert_int_equal(s.nforms, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_synopsis_in_the_table_reads_with_the_tables_arity),
        cmocka_unit_test(test_every_form_renders_back_as_written),
        cmocka_unit_test(test_key_value_arguments_are_one_word_shown_whole),
        cmocka_unit_test(test_placeholders_are_typed_by_their_first_word),
        cmocka_unit_test(test_one_of_is_tokens_and_placeholders),
        cmocka_unit_test(test_optional_and_multiple),
        cmocka_unit_test(test_forms_and_subcommands),
        cmocka_unit_test(test_what_the_grammar_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
