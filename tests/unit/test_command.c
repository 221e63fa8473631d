/* The command table's declarations held against what commands do. Every
 * form of every command is declared as a read or a change; a read leaves
 * the store's position where it was, whatever it is asked; a change is
 * refused with -STORE before it changes anything when the store cannot
 * record it, while reads go on answering. A command added to the table
 * without a form here fails the coverage test. */
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
#include "channels/bus.h"
#include "channels/channel.h"
#include "channels/dlq.h"
#include "orders/book.h"
#include "store/store.h"
#include "support/world.h"

#define MAXW 12

/* A form: a command's words. */
struct form {
    const char *w[MAXW];
};

/* Every form that only reads. Run against a world holding order 1, the
 * durable channel "jobs" with a message, and a dead letter. */
static const struct form reads[] = {
    {{"PING"}},
    {{"PING", "hello"}},
    {{"HELP"}},
    {{"HELP", "CREATE"}},
    {{"COMMAND"}},
    {{"COMMAND", "COUNT"}},
    {{"COMMAND", "DOCS"}},
    {{"COMMAND", "DOCS", "CREATE", "DLQ"}},
    {{"QUIT"}},
    {{"INFO"}},
    {{"INFO", "store"}},
    {{"METRICS"}},
    {{"METRICS", "orders"}},
    {{"GET", "1"}},
    {{"TRACK", "1"}},
    {{"HISTORY", "1"}},
    {{"LIST"}},
    {{"LIST", "status=PENDING", "limit=5"}},
    {{"READ", "jobs"}},
    {{"READ", "jobs", "from=1", "count=5"}},
    {{"GROUPS", "jobs"}},
    {{"PENDING", "jobs", "group=workers"}},
    {{"CHANNELS"}},
    {{"CHANNEL", "INFO", "jobs"}},
    {{"SAGA", "1"}},
    {{"SAGAS"}},
    {{"SAGAS", "state=running"}},
    {{"POLICY", "payment.authorize"}},
    {{"BREAKERS"}},
    {{"SIM"}},
    {{"STOCK", "book"}},
    {{"DLQ", "LIST"}},
    {{"DLQ", "SHOW", "1"}},
    {{"PUBLISH", "live-only", "hello"}},
    {{"SUBSCRIBE", "news"}},
    {{"PSUBSCRIBE", "news.*"}},
    {{"UNSUBSCRIBE"}},
    {{"PUNSUBSCRIBE"}},
    {{"AUTH", "secret"}},
    {{"AUTH", "default", "secret"}},
    {{"ACL", "WHOAMI"}},
    {{"ACL", "ROLES"}},
    {{"ACL", "USERS"}},
    {{"SHUTDOWN"}},
};

/* Every form that changes state. */
static const struct form changes[] = {
    {{"CREATE", "customer=bob", "item=pen", "qty=2", "amount=3.50"}},
    {{"UPDATE", "1", "status=RESERVED"}},
    {{"CANCEL", "1", "reason=test"}},
    {{"PUBLISH", "jobs", "more work"}},
    {{"CHANNEL", "CREATE", "jobs2"}},
    {{"CONSUME", "jobs", "group=workers", "consumer=w1"}},
    {{"ACK", "jobs", "group=workers", "1"}},
    {{"NACK", "jobs", "group=workers", "1"}},
    {{"STEP", "customer.validate", "group=customer", "1", "ok"}},
    {{"SAGA", "ABORT", "1", "reason=test"}},
    {{"POLICY", "payment.authorize", "attempts=3"}},
    {{"SIM", "SET", "payment", "decline=0"}},
    {{"STOCK", "SET", "book", "5"}},
    {{"CUSTOMER", "BLOCK", "mallory"}},
    {{"DLQ", "REPLAY", "ALL"}},
    {{"DLQ", "PURGE", "ALL"}},
};

#define NREADS (sizeof reads / sizeof reads[0])
#define NCHANGES (sizeof changes / sizeof changes[0])

/* The world has a password (so AUTH has one to check), and its clients
 * run as the default user, an admin: every form is allowed. */
static struct acl acl;
static struct log_limiter auth_log;
static int shutdowns;

static void note_shutdown(void *ctx)
{
    (void)ctx;
    shutdowns++;
}

static void as_admin(struct world *w, struct test_client *c)
{
    c->client.user = acl_find(w->env.acl, ACL_DEFAULT_USER, strlen(ACL_DEFAULT_USER));
    assert_non_null(c->client.user);
}

static struct reply *run(struct world *w, struct test_client *c, const struct form *f,
                         bool *declared)
{
    if (c)
        as_admin(w, c);
    const char *x[MAXW + 1] = {0};
    for (int i = 0; i < MAXW && f->w[i]; i++)
        x[i] = f->w[i];
    return world_run(w, c, declared, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8],
                     x[9], x[10], x[11], (const char *)NULL);
}

static void must_run(struct world *w, const char *a, const char *b, const char *c,
                     const char *d, const char *e)
{
    struct test_client tc;
    test_client_init(&tc, 99);
    as_admin(w, &tc);
    struct reply *r = world_run(w, &tc, NULL, a, b, c, d, e, (const char *)NULL);
    assert_non_null(r);
    if (r->type == REPLY_ERROR)
        fail_msg("%s: -%s %s", a, r->code, r->str);
    reply_free(r);
    test_client_free(w, &tc);
}

/* Order 1, channel "jobs" with one message and a group, one dead letter. */
static int setup(void **state)
{
    static struct world w;
    world_init(&w, false);
    char err[200];
    acl_init(&acl);
    assert_int_equal(acl_set_requirepass(&acl, "secret", err, sizeof err), 0);
    w.env.acl = &acl;
    w.env.auth_log = &auth_log;
    w.env.shutdown = note_shutdown;
    must_run(&w, "CREATE", "customer=alice", "item=book", "qty=1", "amount=19.99");
    must_run(&w, "CHANNEL", "CREATE", "jobs", "maxdeliver=1", NULL);
    must_run(&w, "PUBLISH", "jobs", "work", NULL, NULL);
    must_run(&w, "PUBLISH", "jobs", "poison", NULL, NULL);
    must_run(&w, "CONSUME", "jobs", "group=workers", "consumer=w0", "count=1");
    must_run(&w, "NACK", "jobs", "group=workers", "1", NULL);  /* maxdeliver=1: dead */
    assert_int_equal(dlq_count(bus_dlq(w.bus)), 1);
    world_turn(&w);
    *state = &w;
    return 0;
}

static int teardown(void **state)
{
    world_free(*state);
    acl_free(&acl);
    return 0;
}

static void test_every_command_has_its_forms_declared_here(void **state)
{
    (void)state;
    size_t n;
    const struct command *table = command_table(&n);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < NREADS && !found; k++)
            found = strcasecmp(reads[k].w[0], table[i].name) == 0;
        for (size_t k = 0; k < NCHANGES && !found; k++)
            found = strcasecmp(changes[k].w[0], table[i].name) == 0;
        if (!found)
            fail_msg("%s has no form in test_command.c", table[i].name);
    }
}

static void test_reads_leave_the_store_where_it_was(void **state)
{
    struct world *w = *state;
    for (size_t k = 0; k < NREADS; k++) {
        struct test_client c;
        test_client_init(&c, 1000 + k);
        uint64_t before = store_end(w->env.store);
        bool declared = true;
        struct reply *r = run(w, &c, &reads[k], &declared);
        if (declared)
            fail_msg("%s %s is declared as a change", reads[k].w[0],
                     reads[k].w[1] ? reads[k].w[1] : "");
        if (store_end(w->env.store) != before)
            fail_msg("%s %s recorded %llu changes", reads[k].w[0],
                     reads[k].w[1] ? reads[k].w[1] : "",
                     (unsigned long long)(store_end(w->env.store) - before));
        if (r && r->type == REPLY_ERROR && strcmp(r->code, ERR_NOTFOUND) != 0)
            fail_msg("%s: -%s %s", reads[k].w[0], r->code, r->str);
        reply_free(r);
        test_client_free(w, &c);
        world_turn(w);
    }
}

static void test_changes_are_declared_as_changes(void **state)
{
    struct world *w = *state;
    for (size_t k = 0; k < NCHANGES; k++) {
        struct test_client c;
        test_client_init(&c, 2000 + k);
        bool declared = false;
        reply_free(run(w, &c, &changes[k], &declared));
        if (!declared)
            fail_msg("%s %s is not declared as a change", changes[k].w[0],
                     changes[k].w[1] ? changes[k].w[1] : "");
        test_client_free(w, &c);
    }
}

static void test_a_change_the_store_refuses_changes_nothing(void **state)
{
    struct world *w = *state;
    double_refuse(w, true);
    assert_true(gate_closed(&w->gate));
    uint64_t orders = book_last_id(w->book);
    for (size_t k = 0; k < NCHANGES; k++) {
        struct test_client c;
        test_client_init(&c, 3000 + k);
        uint64_t before = store_end(w->env.store);
        struct reply *r = run(w, &c, &changes[k], NULL);
        assert_non_null(r);
        if (r->type != REPLY_ERROR || strcmp(r->code, ERR_STORE) != 0)
            fail_msg("%s %s was not refused with -STORE", changes[k].w[0],
                     changes[k].w[1] ? changes[k].w[1] : "");
        assert_string_equal(r->str, "the double refuses");
        assert_int_equal(store_end(w->env.store), before);
        reply_free(r);
        test_client_free(w, &c);
    }
    assert_int_equal(book_last_id(w->book), orders);
    /* Reads go on. */
    for (size_t k = 0; k < NREADS; k++) {
        struct test_client c;
        test_client_init(&c, 4000 + k);
        struct reply *r = run(w, &c, &reads[k], NULL);
        if (r && r->type == REPLY_ERROR && strcmp(r->code, ERR_STORE) == 0)
            fail_msg("the read %s %s was refused", reads[k].w[0],
                     reads[k].w[1] ? reads[k].w[1] : "");
        reply_free(r);
        test_client_free(w, &c);
    }
    double_refuse(w, false);
    assert_false(gate_closed(&w->gate));
    must_run(w, "CREATE", "customer=carol", "item=pen", "qty=1", "amount=1");
    assert_int_equal(book_last_id(w->book), orders + 1);
}

static void test_an_arity_error_is_not_a_store_error(void **state)
{
    struct world *w = *state;
    double_refuse(w, true);
    struct reply *r = world_run(w, NULL, NULL, "CREATE", (const char *)NULL);
    assert_string_equal(r->code, ERR_ERR);
    reply_free(r);
    r = world_run(w, NULL, NULL, "NOSUCH", (const char *)NULL);
    assert_string_equal(r->code, ERR_ERR);
    reply_free(r);
    double_refuse(w, false);
}

/* Over --maxmemory: a change is refused with -OOM before it changes
 * anything, except a worker's loop (taking and settling messages finishes
 * orders, which frees memory); reads go on. */
static const char *const settles[] = {"CONSUME", "ACK", "NACK", "STEP"};

static bool settling(const char *name)
{
    for (size_t i = 0; i < sizeof settles / sizeof settles[0]; i++)
        if (strcasecmp(name, settles[i]) == 0)
            return true;
    return false;
}

static void test_over_maxmemory_a_change_is_refused_with_oom_and_changes_nothing(void **state)
{
    struct world *w = *state;
    w->env.memory = (struct memory_limit){.max = 1000000, .used = 1000001};
    uint64_t orders = book_last_id(w->book);
    uint64_t refused = 0;
    for (size_t k = 0; k < NCHANGES; k++) {
        struct test_client c;
        test_client_init(&c, 5000 + k);
        uint64_t before = store_end(w->env.store);
        struct reply *r = run(w, &c, &changes[k], NULL);
        bool oom = r && r->type == REPLY_ERROR && strcmp(r->code, ERR_OOM) == 0;
        if (settling(changes[k].w[0])) {
            if (oom)
                fail_msg("%s was refused, but it settles work", changes[k].w[0]);
        } else {
            if (!oom)
                fail_msg("%s %s was not refused with -OOM", changes[k].w[0],
                         changes[k].w[1] ? changes[k].w[1] : "");
            assert_string_equal(r->str, "command not allowed when used memory (1000001 bytes) "
                                        "is over --maxmemory (1000000 bytes)");
            assert_int_equal(store_end(w->env.store), before);
            refused++;
        }
        reply_free(r);
        test_client_free(w, &c);
        world_turn(w);
    }
    assert_int_equal(book_last_id(w->book), orders);
    assert_int_equal(w->counters.oom_refused, refused);
    for (size_t k = 0; k < NREADS; k++) {
        struct test_client c;
        test_client_init(&c, 6000 + k);
        struct reply *r = run(w, &c, &reads[k], NULL);
        if (r && r->type == REPLY_ERROR && strcmp(r->code, ERR_OOM) == 0)
            fail_msg("the read %s %s was refused", reads[k].w[0],
                     reads[k].w[1] ? reads[k].w[1] : "");
        reply_free(r);
        test_client_free(w, &c);
    }
    /* At the limit is not over it. */
    w->env.memory.used = w->env.memory.max;
    must_run(w, "CREATE", "customer=carol", "item=pen", "qty=1", "amount=1");
    assert_int_equal(book_last_id(w->book), orders + 1);
}

static void test_consume_read_or_step_makes_a_client_a_worker(void **state)
{
    struct world *w = *state;
    static const char *const forms[][6] = {
        {"READ", "jobs"},
        {"CONSUME", "jobs", "group=workers", "consumer=w9"},
        {"STEP", "customer.validate", "group=customer", "1", "ok"},
    };
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        struct test_client c;
        test_client_init(&c, 7000 + k);
        as_admin(w, &c);
        reply_free(world_run(w, &c, NULL, "GET", "1", (const char *)NULL));
        assert_int_equal(cmd_client_kind(&c.client), CLIENT_NORMAL);
        const char *const *f = forms[k];
        /* Whatever it answers (STEP on a saga that is not there): it ran. */
        reply_free(world_run(w, &c, NULL, f[0], f[1], f[2], f[3], f[4], (const char *)NULL));
        assert_int_equal(cmd_client_kind(&c.client), CLIENT_WORKER);
        test_client_free(w, &c);
    }
    /* Subscribed, it is a subscriber first. */
    struct test_client c;
    test_client_init(&c, 7100);
    as_admin(w, &c);
    reply_free(world_run(w, &c, NULL, "READ", "jobs", (const char *)NULL));
    reply_free(world_run(w, &c, NULL, "SUBSCRIBE", "news", (const char *)NULL));
    assert_int_equal(cmd_client_kind(&c.client), CLIENT_PUBSUB);
    test_client_free(w, &c);
}

static void test_channel_create_past_max_channels_is_refused(void **state)
{
    struct world *w = *state;
    struct chan_registry *reg = bus_channels(w->bus);
    w->env.max_channels = chreg_count(reg) + 1;
    must_run(w, "CHANNEL", "CREATE", "hot", "maxdeliver=1", NULL);
    uint64_t before = store_end(w->env.store);
    struct reply *r = world_run(w, NULL, NULL, "CHANNEL", "CREATE", "cold", (const char *)NULL);
    assert_string_equal(r->code, ERR_LIMIT);
    char want[64];
    snprintf(want, sizeof want, "too many channels (max %zu)", w->env.max_channels);
    assert_string_equal(r->str, want);
    reply_free(r);
    assert_null(chreg_find(reg, "cold"));
    assert_int_equal(store_end(w->env.store), before);
    /* Declaring one that is there again is not making one. */
    must_run(w, "CHANNEL", "CREATE", "hot", "maxdeliver=1", NULL);
    /* orderd's own channels are made past it: a dead letter's copy. */
    must_run(w, "PUBLISH", "hot", "poison", NULL, NULL);
    must_run(w, "CONSUME", "hot", "group=g", "consumer=c", NULL);
    must_run(w, "NACK", "hot", "group=g", "1", NULL);
    assert_non_null(chreg_find(reg, "hot.DLT"));
    assert_int_equal(chreg_count(reg), w->env.max_channels + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_has_its_forms_declared_here),
        cmocka_unit_test_setup_teardown(test_reads_leave_the_store_where_it_was, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_changes_are_declared_as_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_change_the_store_refuses_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_arity_error_is_not_a_store_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_over_maxmemory_a_change_is_refused_with_oom_and_changes_nothing, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_consume_read_or_step_makes_a_client_a_worker,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_create_past_max_channels_is_refused,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
