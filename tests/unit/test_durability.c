/* Replies and durability, through real connections (socket pairs) and a
 * store double that makes changes durable at once, later, never, or fails:
 * a reply that depends on a change waits for the store's durability event,
 * and only for it; nothing polls while it waits; a read is not held behind
 * a store that has stopped making things durable; a failed fsync ends it
 * all without a word to the client. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/net.h"
#include "orders/book.h"
#include "store/store.h"
#include "support/world.h"

struct fixture {
    struct world w;
    int a, b;  /* the clients' ends of two connections */
};

static int client(struct world *w)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    conn_new(w->net, sv[1]);
    return sv[0];
}

static int setup(void **state)
{
    static struct fixture f;
    world_init(&f.w, false);
    world_net(&f.w);
    f.a = client(&f.w);
    f.b = client(&f.w);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close(f->a);
    close(f->b);
    world_free(&f->w);
    return 0;
}

static void say(int fd, const char *line)
{
    size_t n = strlen(line);
    assert_int_equal(write(fd, line, n), (ssize_t)n);
}

/* Everything the server has sent on fd so far ("" when nothing). */
static const char *heard(int fd)
{
    static char got[4096];
    ssize_t n = recv(fd, got, sizeof got - 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        n = 0;
    assert_true(n >= 0);
    got[n] = '\0';
    return got;
}

static void test_nothing_pending_answers_at_once(void **state)
{
    struct fixture *f = *state;
    f->w.dbl.mode = DOUBLE_LATER;
    say(f->a, "PING\r\n");
    world_turn(&f->w);
    assert_string_equal(heard(f->a), "+PONG\r\n");
}

static void test_a_change_is_answered_when_the_store_says_durable(void **state)
{
    struct fixture *f = *state;
    f->w.dbl.mode = DOUBLE_LATER;
    say(f->a, "CREATE customer=alice item=book qty=1 amount=19.99\r\n");
    world_turn(&f->w);
    assert_int_equal(book_last_id(f->w.book), 1);  /* made, and committed */
    assert_true(f->w.dbl.commits >= 1);
    assert_string_equal(heard(f->a), "");         /* but not answered */
    /* Another client's read would reveal it: it waits too. */
    say(f->b, "GET 1\r\n");
    world_turn(&f->w);
    assert_string_equal(heard(f->b), "");
    double_complete(&f->w);
    world_turn(&f->w);
    assert_non_null(strstr(heard(f->a), "id=1 status=PENDING customer=alice"));
    assert_non_null(strstr(heard(f->b), "id=1 status=PENDING customer=alice"));
}

static void test_waiting_for_the_store_costs_nothing(void **state)
{
    struct fixture *f = *state;
    f->w.dbl.mode = DOUBLE_LATER;
    say(f->a, "CREATE customer=alice item=book qty=1 amount=1\r\n");
    world_turn(&f->w);
    uint64_t commits = f->w.dbl.commits;
    /* Turning the loop with a reply held does no work at all: no turn
     * ends, no commits, until the store's event. */
    for (int i = 0; i < 100; i++)
        world_turn(&f->w);
    assert_int_equal(f->w.dbl.commits, commits);
    assert_string_equal(heard(f->a), "");
    double_complete(&f->w);
    world_turn(&f->w);
    assert_non_null(strstr(heard(f->a), "id=1"));
}

static void test_replies_keep_their_order_behind_a_held_one(void **state)
{
    struct fixture *f = *state;
    f->w.dbl.mode = DOUBLE_LATER;
    say(f->a, "CREATE customer=alice item=book qty=1 amount=1\r\nPING\r\n");
    world_turn(&f->w);
    assert_string_equal(heard(f->a), "");
    double_complete(&f->w);
    world_turn(&f->w);
    const char *got = heard(f->a);
    const char *pong = strstr(got, "+PONG");
    assert_non_null(pong);
    assert_true(strstr(got, "id=1") < pong);
}

static void test_a_stalled_store_holds_changes_not_reads(void **state)
{
    struct fixture *f = *state;
    f->w.dbl.mode = DOUBLE_NEVER;
    say(f->a, "CREATE customer=alice item=book qty=1 amount=1\r\n");
    world_turn(&f->w);
    assert_string_equal(heard(f->a), "");
    /* Nothing is becoming durable: reads of others go out at once. */
    say(f->b, "PING\r\nGET 1\r\n");
    world_turn(&f->w);
    const char *got = heard(f->b);
    assert_non_null(strstr(got, "+PONG\r\n"));
    assert_non_null(strstr(got, "id=1"));
    /* A change of theirs waits like any other. */
    say(f->b, "CREATE customer=bob item=pen qty=1 amount=1\r\n");
    world_turn(&f->w);
    assert_string_equal(heard(f->b), "");
    assert_string_equal(heard(f->a), "");
}

static void test_a_stalled_store_holds_events_not_messages(void **state)
{
    struct fixture *f = *state;
    f->w.dbl.mode = DOUBLE_NEVER;
    say(f->b, "SUBSCRIBE news\r\n");
    world_turn(&f->w);
    assert_non_null(strstr(heard(f->b), "SUBSCRIBE news 1"));
    /* A client's message on a live channel tells of nothing recorded. */
    say(f->a, "PUBLISH news hello\r\n");
    world_turn(&f->w);
    assert_non_null(strstr(heard(f->a), "1"));
    assert_non_null(strstr(heard(f->b), "MSG news hello"));
    /* On a durable channel the message is a change: it waits with it,
     * for its publisher and its subscribers alike. */
    struct test_client c;
    test_client_init(&c, 500);
    reply_free(world_run(&f->w, &c, NULL, "CHANNEL", "CREATE", "jobs", (const char *)NULL));
    test_client_free(&f->w, &c);
    say(f->b, "SUBSCRIBE jobs\r\n");
    world_turn(&f->w);
    const char *got = heard(f->b);
    if (strstr(got, "SUBSCRIBE jobs 2") == NULL)
        fail_msg("got [%s]", got);
    say(f->a, "PUBLISH jobs work\r\n");
    world_turn(&f->w);
    assert_string_equal(heard(f->a), "");
    assert_string_equal(heard(f->b), "");
}

static void test_a_failed_fsync_answers_nobody(void **state)
{
    struct fixture *f = *state;
    f->w.dbl.mode = DOUBLE_ERROR;
    say(f->a, "CREATE customer=alice item=book qty=1 amount=1\r\n");
    world_turn(&f->w);
    assert_int_equal(f->w.dbl.fatal_calls, 1);
    assert_string_equal(heard(f->a), "");
    assert_true(gate_closed(&f->w.gate));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nothing_pending_answers_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_change_is_answered_when_the_store_says_durable,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiting_for_the_store_costs_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replies_keep_their_order_behind_a_held_one, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_stalled_store_holds_changes_not_reads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_stalled_store_holds_events_not_messages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_fsync_answers_nobody, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
