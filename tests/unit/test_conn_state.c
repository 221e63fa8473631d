/* The connection state machine without sockets: from a state and a few
 * facts, what a connection does next. Each case is one situation a client
 * can put the server in: it pipelines, stops reading, blocks, hangs up,
 * says QUIT, or waits for the store. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "net/conn_state.h"

#define MAX_OUTPUT 1000
#define MAX_BUFFERED 500

static struct conn_facts open_conn(void)
{
    return (struct conn_facts){.state = CONN_OPEN, .max_output = MAX_OUTPUT,
                               .max_buffered = MAX_BUFFERED};
}

static void test_an_idle_client_is_read_and_run(void **state)
{
    (void)state;
    struct conn_facts f = open_conn();
    struct conn_plan p = conn_plan(&f);
    assert_true(p.run);
    assert_true(p.read);
    assert_false(p.write);
    assert_false(p.held);
    assert_false(p.close);
}

static void test_a_client_that_stops_reading_is_paused(void **state)
{
    (void)state;
    struct conn_facts f = open_conn();
    f.unsent = f.sendable = MAX_OUTPUT;
    struct conn_plan p = conn_plan(&f);
    assert_true(conn_paused(&f));
    assert_false(p.run);   /* its buffered requests wait */
    assert_false(p.read);  /* and nothing more is read */
    assert_true(p.write);  /* until the socket takes some */
    f.unsent = f.sendable = MAX_OUTPUT - 1;
    p = conn_plan(&f);
    assert_true(p.run);
    assert_true(p.read);
}

static void test_output_waiting_for_the_store_is_held_not_polled(void **state)
{
    (void)state;
    struct conn_facts f = open_conn();
    f.unsent = 100;
    f.sendable = 0;
    struct conn_plan p = conn_plan(&f);
    assert_true(p.held);    /* released by the durability event */
    assert_false(p.write);  /* not by the socket, which has room */
    assert_true(p.run);     /* later requests still run, in order behind it */
    /* Part of it may go: the rest waits on the socket first. */
    f.sendable = 40;
    p = conn_plan(&f);
    assert_false(p.held);
    assert_true(p.write);
}

static void test_held_output_over_the_limit_pauses_without_spinning(void **state)
{
    (void)state;
    struct conn_facts f = open_conn();
    f.unsent = MAX_OUTPUT * 2;
    f.sendable = 0;
    struct conn_plan p = conn_plan(&f);
    /* Nothing to do but wait for the store: no reading, writing or running. */
    assert_false(p.run);
    assert_false(p.read);
    assert_false(p.write);
    assert_true(p.held);
    assert_false(p.close);
}

static void test_eof_stops_reading_but_runs_what_came_before(void **state)
{
    (void)state;
    struct conn_facts f = open_conn();
    f.eof = true;
    f.buffered = 30;
    struct conn_plan p = conn_plan(&f);
    assert_true(p.run);
    assert_false(p.read);
    assert_false(p.close);  /* CLOSING comes once the parser has nothing whole left */
}

static void test_a_blocked_client_is_read_up_to_the_limit(void **state)
{
    (void)state;
    struct conn_facts f = open_conn();
    f.state = CONN_BLOCKED;
    f.buffered = MAX_BUFFERED - 1;
    struct conn_plan p = conn_plan(&f);
    assert_false(p.run);   /* its later requests wait for the answer */
    assert_true(p.read);   /* but a hang-up is seen */
    f.buffered = MAX_BUFFERED;
    p = conn_plan(&f);
    assert_false(p.read);
    f.buffered = 0;
    f.eof = true;
    p = conn_plan(&f);
    assert_false(p.read);
}

static void test_a_blocked_client_still_gets_its_pushes(void **state)
{
    (void)state;
    struct conn_facts f = open_conn();
    f.state = CONN_BLOCKED;
    f.unsent = f.sendable = 10;
    struct conn_plan p = conn_plan(&f);
    assert_true(p.write);
    assert_false(p.close);
}

static void test_closing_writes_everything_then_closes(void **state)
{
    (void)state;
    struct conn_facts f = open_conn();
    f.state = CONN_CLOSING;
    f.unsent = f.sendable = 10;
    f.buffered = 100;  /* QUIT; more requests after it are never run */
    struct conn_plan p = conn_plan(&f);
    assert_false(p.run);
    assert_false(p.read);
    assert_true(p.write);
    assert_false(p.close);
    /* A reply still waiting for the store keeps it open. */
    f.sendable = 0;
    p = conn_plan(&f);
    assert_true(p.held);
    assert_false(p.close);
    f.unsent = 0;
    p = conn_plan(&f);
    assert_true(p.close);
}

static void test_lingering_only_drains(void **state)
{
    (void)state;
    struct conn_facts f = open_conn();
    f.state = CONN_LINGERING;
    f.buffered = 100;
    struct conn_plan p = conn_plan(&f);
    assert_true(p.read);
    assert_false(p.run);
    assert_false(p.write);
    assert_false(p.close);
}

static void test_killed_closes_whatever_is_unsent(void **state)
{
    (void)state;
    struct conn_facts f = open_conn();
    f.state = CONN_KILLED;
    f.unsent = f.sendable = 5000;
    struct conn_plan p = conn_plan(&f);
    assert_true(p.close);
    assert_false(p.run);
    assert_false(p.read);
    assert_false(p.write);
}

static void test_every_state_has_a_name(void **state)
{
    (void)state;
    for (int s = CONN_OPEN; s <= CONN_KILLED; s++)
        assert_string_not_equal(conn_state_name((enum conn_state)s), "?");
    assert_string_equal(conn_state_name(CONN_BLOCKED), "blocked");
}

/* --timeout 300: the check's timer is armed for what is left, not polled. */
#define IDLE_MS 300000

static void test_an_idle_client_is_closed_once_the_timeout_has_passed(void **state)
{
    (void)state;
    const int64_t t0 = 1800000000000LL;
    /* Active 100 s ago: looked at again in 200 s, when it would be due. */
    assert_int_equal(conn_idle_left(t0, t0 - 100000, IDLE_MS, false), 200000);
    /* Idle for the whole timeout, or longer (a late timer): closed. */
    assert_int_equal(conn_idle_left(t0, t0 - IDLE_MS, IDLE_MS, false), 0);
    assert_int_equal(conn_idle_left(t0, t0 - IDLE_MS - 5000, IDLE_MS, false), 0);
    /* One millisecond short is not idle yet. */
    assert_int_equal(conn_idle_left(t0, t0 - IDLE_MS + 1, IDLE_MS, false), 1);
}

static void test_activity_moves_the_deadline_on(void **state)
{
    (void)state;
    const int64_t t0 = 1800000000000LL;
    /* The timer armed at t0 fires at t0 + timeout; the client read or was
     * written to 10 s before that: it gets the rest of its timeout. */
    int64_t fired = t0 + IDLE_MS;
    assert_int_equal(conn_idle_left(fired, fired - 10000, IDLE_MS, false), IDLE_MS - 10000);
}

static void test_a_subscriber_or_blocked_client_is_never_idle(void **state)
{
    (void)state;
    const int64_t t0 = 1800000000000LL;
    /* Silent for an hour, but exempt: looked at again a timeout later. */
    assert_int_equal(conn_idle_left(t0, t0 - 3600000, IDLE_MS, true), IDLE_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_idle_client_is_read_and_run),
        cmocka_unit_test(test_a_client_that_stops_reading_is_paused),
        cmocka_unit_test(test_output_waiting_for_the_store_is_held_not_polled),
        cmocka_unit_test(test_held_output_over_the_limit_pauses_without_spinning),
        cmocka_unit_test(test_eof_stops_reading_but_runs_what_came_before),
        cmocka_unit_test(test_a_blocked_client_is_read_up_to_the_limit),
        cmocka_unit_test(test_a_blocked_client_still_gets_its_pushes),
        cmocka_unit_test(test_closing_writes_everything_then_closes),
        cmocka_unit_test(test_lingering_only_drains),
        cmocka_unit_test(test_killed_closes_whatever_is_unsent),
        cmocka_unit_test(test_every_state_has_a_name),
        cmocka_unit_test(test_an_idle_client_is_closed_once_the_timeout_has_passed),
        cmocka_unit_test(test_activity_moves_the_deadline_on),
        cmocka_unit_test(test_a_subscriber_or_blocked_client_is_never_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
