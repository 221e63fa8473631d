/* Time: deadlines run on the server clock, which is monotonic; the wall
 * clock is only for timestamps people read. A wall-clock jump, forward or
 * back, neither fires a deadline early nor puts it off. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <string.h>

#include "lib/clock.h"
#include "support/world.h"

#define HOUR (3600 * 1000LL)

struct fake {
    int64_t wall, mono;
};

static int64_t wall(void *arg) { return ((struct fake *)arg)->wall; }
static int64_t mono(void *arg) { return ((struct fake *)arg)->mono; }

static void test_the_server_clock_ignores_wall_clock_jumps(void **state)
{
    (void)state;
    struct fake f = {1800000000000LL, 42};
    struct clock c;
    clock_init(&c, &(struct clock_source){wall, mono, &f});
    /* It starts at the wall clock, so it reads like a time of day. */
    assert_int_equal(c.now_ms, f.wall);
    assert_int_equal(c.wall_ms, f.wall);
    f.wall += HOUR;
    f.mono += 10;
    clock_tick(&c);
    assert_int_equal(c.wall_ms, 1800000000000LL + HOUR);
    assert_int_equal(c.now_ms, 1800000000000LL + 10);
    f.wall -= 5 * HOUR;
    f.mono += 10;
    clock_tick(&c);
    assert_int_equal(c.now_ms, 1800000000000LL + 20);
}

static struct reply *run(struct world *w, struct test_client *c, const char *a, const char *b,
                         const char *d, const char *e, const char *g)
{
    return world_run(w, c, NULL, a, b, d, e, g, (const char *)NULL);
}

/* How many messages CONSUME hands a fresh consumer now. */
static size_t takeable(struct world *w, const char *consumer)
{
    struct test_client c;
    test_client_init(&c, 77);
    struct reply *r = run(w, &c, "CONSUME", "jobs", "group=g", consumer, "count=10");
    assert_int_equal(r->type, REPLY_LIST);
    size_t n = r->n;
    reply_free(r);
    /* It stays connected (its own deliveries in flight) until the end. */
    return n;
}

/* Waits for the bus's deadline timer to fire once (it was armed for
 * the ack wait, a few milliseconds of real time). */
static void wait_for_the_deadline_timer(struct world *w)
{
    world_turn(w);
    event_base_loop(w->base, EVLOOP_ONCE);
}

static void test_a_wall_clock_jump_neither_fires_nor_delays_an_ack_wait(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, false);
    struct test_client worker;
    test_client_init(&worker, 1);
    reply_free(run(&w, &worker, "CHANNEL", "CREATE", "jobs", "ackwait=20", NULL));
    reply_free(run(&w, &worker, "PUBLISH", "jobs", "work", NULL, NULL));
    struct reply *r = run(&w, &worker, "CONSUME", "jobs", "group=g", "consumer=w1", NULL);
    assert_int_equal(r->n, 1);
    reply_free(r);

    /* The wall clock jumps a day ahead; 5 ms pass. Not due. */
    w.fake_wall += 24 * HOUR;
    w.fake_mono += 5;
    wait_for_the_deadline_timer(&w);
    assert_int_equal(takeable(&w, "consumer=w2"), 0);

    /* It jumps two days back; the ack wait runs out. Due, not put off. */
    w.fake_wall -= 48 * HOUR;
    w.fake_mono += 20;
    wait_for_the_deadline_timer(&w);
    assert_int_equal(takeable(&w, "consumer=w3"), 1);

    test_client_free(&w, &worker);
    world_free(&w);
}

static void test_timestamps_people_read_are_wall_clock(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, false);
    w.fake_wall += 7 * HOUR;  /* the wall clock was stepped since start */
    clock_tick(&w.clock);
    struct reply *r = run(&w, NULL, "CREATE", "customer=a", "item=b", "qty=1", "amount=1");
    assert_int_equal(r->type, REPLY_RECORD);
    char want[CLOCK_RFC3339_LEN];
    clock_format_rfc3339(w.fake_wall, want);
    bool found = false;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->keys[i], "created") == 0) {
            assert_string_equal(r->items[i]->str, want);
            found = true;
        }
    assert_true(found);
    reply_free(r);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_server_clock_ignores_wall_clock_jumps),
        cmocka_unit_test(test_a_wall_clock_jump_neither_fires_nor_delays_an_ack_wait),
        cmocka_unit_test(test_timestamps_people_read_are_wall_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
