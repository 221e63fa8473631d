/* Who may run what: every role against every command family, through
 * dispatch as a connection runs requests. The expectations are written
 * out here, from the role table in docs/protocol.md, not derived from
 * the command table they check; a command added without a line here
 * fails the coverage test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/acl.h"
#include "lib/log.h"
#include "support/world.h"

#define MAXW 8

#define A ROLE_ADMIN
#define O ROLE_OPERATOR
#define C ROLE_CLIENT
#define W ROLE_WORKER
#define ANY (A | O | C | W)

struct case_ {
    const char *w[MAXW];
    unsigned roles;   /* who may, besides an admin */
    bool before_auth; /* allowed before AUTH */
};

static const struct case_ cases[] = {
    /* the connection */
    {{"PING"}, ANY, true},
    {{"HELP"}, ANY, true},
    {{"QUIT"}, ANY, true},
    {{"COMMAND"}, ANY, false},
    {{"COMMAND", "DOCS"}, ANY, false},
    {{"AUTH", "secret"}, ANY, true},
    {{"ACL", "WHOAMI"}, ANY, false},
    {{"ACL", "ROLES"}, ANY, false},
    {{"ACL", "USERS"}, A, false},
    {{"SHUTDOWN"}, A, false},
    /* orders */
    {{"CREATE", "customer=bob", "item=pen", "qty=1", "amount=1"}, C, false},
    {{"GET", "1"}, C | O, false},
    {{"TRACK", "1"}, C | O, false},
    {{"HISTORY", "1"}, C | O, false},
    {{"LIST"}, C | O, false},
    {{"CANCEL", "1"}, C | O, false},
    {{"UPDATE", "1", "status=RESERVED"}, O, false},
    /* pub/sub */
    {{"SUBSCRIBE", "news"}, C | O, false},
    {{"PSUBSCRIBE", "news.*"}, C | O, false},
    {{"UNSUBSCRIBE"}, C | O, false},
    {{"PUNSUBSCRIBE"}, C | O, false},
    {{"PUBLISH", "jobs", "x"}, W, false},
    /* durable channels: workers take and answer, operators look */
    {{"READ", "jobs"}, W | O, false},
    {{"CONSUME", "jobs", "group=g", "consumer=c"}, W, false},
    {{"ACK", "jobs", "group=g", "1"}, W, false},
    {{"NACK", "jobs", "group=g", "1"}, W, false},
    {{"STEP", "customer.validate", "group=customer", "1", "ok"}, W, false},
    {{"GROUPS", "jobs"}, O, false},
    {{"PENDING", "jobs", "group=g"}, O, false},
    {{"CHANNELS"}, O, false},
    {{"CHANNEL", "INFO", "jobs"}, O, false},
    {{"CHANNEL", "CREATE", "jobs"}, A, false},
    /* figures */
    {{"INFO"}, O, false},
    {{"METRICS"}, O, false},
    /* sagas and participants: an operator looks, an admin changes */
    {{"SAGA", "1"}, O, false},
    {{"SAGA", "ABORT", "1"}, A, false},
    {{"SAGAS"}, O, false},
    {{"POLICY", "payment.authorize"}, O, false},
    {{"POLICY", "payment.authorize", "attempts=3"}, A, false},
    {{"BREAKERS"}, O, false},
    {{"SIM"}, O, false},
    {{"SIM", "SET", "payment", "decline=0"}, A, false},
    {{"STOCK", "pen"}, O, false},
    {{"STOCK", "SET", "pen", "5"}, A, false},
    {{"CUSTOMER", "BLOCK", "mallory"}, A, false},
    /* the DLQ: an operator replays, only an admin purges */
    {{"DLQ", "LIST"}, O, false},
    {{"DLQ", "SHOW", "1"}, O, false},
    {{"DLQ", "REPLAY", "ALL"}, O, false},
    {{"DLQ", "PURGE", "ALL"}, A, false},
};

#define NCASES (sizeof cases / sizeof cases[0])

static const struct {
    const char *name;
    unsigned roles;
} users[] = {
    {"root", A}, {"ops", O}, {"shop", C}, {"payer", W}, {"nobody", 0}, {"both", C | W},
};

static struct acl acl;
static struct log_limiter auth_log;

static void no_shutdown(void *ctx)
{
    (void)ctx;
}

static int setup(void **state)
{
    static struct world w;
    world_init(&w, false);
    acl_init(&acl);
    char line[128], err[200];
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        char roles[64] = "";
        for (unsigned bit = 1; bit <= ROLE_WORKER; bit <<= 1)
            if (users[i].roles & bit)
                snprintf(roles + strlen(roles), sizeof roles - strlen(roles), " +@%s",
                         acl_role_name(bit));
        snprintf(line, sizeof line, "user %s on >pw-%s%s", users[i].name, users[i].name, roles);
        if (acl_add_line(&acl, line, err, sizeof err) != 0)
            fail_msg("%s: %s", line, err);
    }
    assert_int_equal(acl_set_requirepass(&acl, "secret", err, sizeof err), 0);
    w.env.acl = &acl;
    w.env.auth_log = &auth_log;
    w.env.shutdown = no_shutdown;
    *state = &w;
    return 0;
}

static int teardown(void **state)
{
    world_free(*state);
    acl_free(&acl);
    return 0;
}

static struct reply *run_as(struct world *w, const struct acl_user *u, const struct case_ *k,
                            uint64_t id)
{
    struct test_client c;
    test_client_init(&c, id);
    c.client.user = u;
    const char *x[MAXW + 1] = {0};
    for (int i = 0; i < MAXW && k->w[i]; i++)
        x[i] = k->w[i];
    struct reply *r = world_run(w, &c, NULL, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7],
                                (const char *)NULL);
    /* Replies sent through the client (SUBSCRIBE's) count as the reply. */
    if (r == NULL && c.n > 0) {
        r = c.replies[0];
        c.replies[0] = NULL;
    }
    test_client_free(w, &c);
    world_turn(w);
    return r;
}

static bool is_error(const struct reply *r, const char *code)
{
    return r && r->type == REPLY_ERROR && strcmp(r->code, code) == 0;
}

static void test_every_command_has_a_case(void **state)
{
    (void)state;
    size_t n;
    const struct command *table = command_table(&n);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < NCASES && !found; k++)
            found = strcasecmp(cases[k].w[0], table[i].name) == 0;
        if (!found)
            fail_msg("%s has no case in test_roles.c", table[i].name);
    }
}

static void test_every_role_against_every_family(void **state)
{
    struct world *w = *state;
    uint64_t id = 100;
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        const struct acl_user *u = acl_find(&acl, users[i].name, strlen(users[i].name));
        assert_non_null(u);
        for (size_t k = 0; k < NCASES; k++) {
            bool allowed = (users[i].roles & A) || (users[i].roles & cases[k].roles);
            struct reply *r = run_as(w, u, &cases[k], id++);
            if (allowed && is_error(r, ERR_NOPERM))
                fail_msg("%s may not run %s %s: -%s %s", users[i].name, cases[k].w[0],
                         cases[k].w[1] ? cases[k].w[1] : "", r->code, r->str);
            if (!allowed && !is_error(r, ERR_NOPERM))
                fail_msg("%s ran %s %s", users[i].name, cases[k].w[0],
                         cases[k].w[1] ? cases[k].w[1] : "");
            if (!allowed) {
                char want[64];
                snprintf(want, sizeof want, "user %s (", users[i].name);
                assert_non_null(strstr(r->str, want));
            }
            reply_free(r);
        }
    }
}

static void test_before_auth_only_the_connection_commands_run(void **state)
{
    struct world *w = *state;
    uint64_t id = 10000;
    for (size_t k = 0; k < NCASES; k++) {
        struct reply *r = run_as(w, NULL, &cases[k], id++);
        if (cases[k].before_auth && is_error(r, ERR_NOAUTH))
            fail_msg("%s needs AUTH", cases[k].w[0]);
        if (!cases[k].before_auth && !is_error(r, ERR_NOAUTH))
            fail_msg("%s ran before AUTH", cases[k].w[0]);
        reply_free(r);
    }
    /* Not even an unknown command is told apart before AUTH. */
    struct case_ unknown = {{"NOSUCH"}, 0, false};
    struct reply *r = run_as(w, NULL, &unknown, id++);
    assert_true(is_error(r, ERR_NOAUTH));
    assert_string_equal(r->str, "authentication required");
    reply_free(r);
}

static void test_auth_sets_the_user_and_a_wrong_password_does_not(void **state)
{
    struct world *w = *state;
    struct test_client c;
    test_client_init(&c, 20000);
    struct reply *r = world_run(w, &c, NULL, "AUTH", "shop", "wrong", (const char *)NULL);
    assert_true(is_error(r, ERR_WRONGPASS));
    assert_null(c.client.user);
    reply_free(r);
    r = world_run(w, &c, NULL, "AUTH", "nosuchuser", "pw-shop", (const char *)NULL);
    assert_true(is_error(r, ERR_WRONGPASS));
    reply_free(r);
    r = world_run(w, &c, NULL, "AUTH", "shop", "pw-shop", (const char *)NULL);
    assert_int_equal(r->type, REPLY_STATUS);
    assert_non_null(c.client.user);
    assert_string_equal(c.client.user->name, "shop");
    reply_free(r);
    /* AUTH <password> is the default user's. */
    r = world_run(w, &c, NULL, "AUTH", "secret", (const char *)NULL);
    assert_int_equal(r->type, REPLY_STATUS);
    assert_string_equal(c.client.user->name, "default");
    reply_free(r);
    r = world_run(w, &c, NULL, "ACL", "WHOAMI", (const char *)NULL);
    assert_string_equal(r->str, "default");
    reply_free(r);
    assert_true(w->env.counters->auth_failures >= 2);
    test_client_free(w, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_has_a_case),
        cmocka_unit_test_setup_teardown(test_every_role_against_every_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_before_auth_only_the_connection_commands_run, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_auth_sets_the_user_and_a_wrong_password_does_not,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
