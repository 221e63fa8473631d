/* Durable channels and consumer groups, with time moved by hand: delivery
 * counts, ack-wait redelivery, NACK backoff, consumer loss, max deliveries
 * to the DLQ, replay, retention, blocked consumers, and settling messages
 * that were never delivered. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "channels/channel.h"

struct fixture {
    struct dlq *dlq;
    struct chan_registry *reg;
    struct channel *ch;
    int dead;           /* dead_lettered hook calls */
    int due_changes;
    char last_reason[64];
};

static void on_dead(void *ctx, const struct dlq_entry *e)
{
    struct fixture *f = ctx;
    f->dead++;
    strncpy(f->last_reason, e->reason, sizeof f->last_reason - 1);
}

static void on_due(void *ctx)
{
    ((struct fixture *)ctx)->due_changes++;
}

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    struct chan_hooks hooks = {.ctx = &f, .dead_lettered = on_dead, .due_changed = on_due};
    f.dlq = dlq_new(100);
    f.reg = chreg_new(f.dlq, &hooks, 42);
    struct chan_settings s;
    chan_settings_default(&s);
    s.ackwait_ms = 1000;
    s.maxdeliver = 3;
    s.backoff_ms = 100;
    s.backoff_max_ms = 1000;
    assert_int_equal(chreg_declare(f.reg, "jobs", &s, &f.ch), CHAN_CREATED);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    chreg_free(f->reg);
    dlq_free(f->dlq);
    return 0;
}

static void publish(struct fixture *f, const char *payload, int64_t now)
{
    chan_append(f->reg, f->ch, payload, strlen(payload), now);
}

static size_t consume(struct fixture *f, struct chan_group *g, const char *who,
                      uint64_t owner, size_t max, struct chan_delivery *out, int64_t now)
{
    return group_consume(f->reg, g, who, owner, max, out, now);
}

static void test_declare_is_idempotent_and_detects_conflicts(void **state)
{
    struct fixture *f = *state;
    struct channel *ch;
    struct chan_settings s = *chan_settings(f->ch);
    assert_int_equal(chreg_declare(f->reg, "jobs", &s, &ch), CHAN_EXISTS);
    assert_ptr_equal(ch, f->ch);
    s.maxlen = 5;
    assert_int_equal(chreg_declare(f->reg, "jobs", &s, &ch), CHAN_CONFLICT);
}

static void test_offsets_ascend_and_read_replays_history(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 5; i++)
        publish(f, "m", 100 + i);
    struct chan_delivery d[10];
    assert_int_equal(chan_read(f->reg, f->ch, 3, 10, d, 200), 3);
    assert_int_equal(d[0].offset, 3);
    assert_int_equal(d[0].time_ms, 102);
    assert_int_equal(d[2].offset, 5);
    assert_int_equal(chan_read(f->reg, f->ch, 0, 2, d, 200), 2);
    assert_int_equal(d[0].offset, 1);
    assert_int_equal(chan_read(f->reg, f->ch, 6, 10, d, 200), 0);
}

static void test_group_starts_at_oldest_and_counts_deliveries(void **state)
{
    struct fixture *f = *state;
    publish(f, "a", 0);
    publish(f, "b", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[10];
    assert_int_equal(consume(f, g, "w1", 1, 10, d, 10), 2);
    assert_int_equal(d[0].offset, 1);
    assert_int_equal(d[0].deliveries, 1);
    assert_memory_equal(d[1].payload, "b", 1);
    /* Nothing new, nothing due: nothing to hand out. */
    assert_int_equal(consume(f, g, "w1", 1, 10, d, 20), 0);
    struct group_stats st;
    group_stats(g, &st);
    assert_int_equal(st.pending, 2);
    assert_int_equal(st.lag, 2);
    assert_int_equal(group_ack(f->reg, g, 1, 30), 1);
    assert_int_equal(group_ack(f->reg, g, 1, 30), 0);
    group_stats(g, &st);
    assert_int_equal(st.committed, 1);
    assert_int_equal(st.lag, 1);
}

static void test_two_consumers_never_share_a_message(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 10; i++)
        publish(f, "x", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery a[10], b[10];
    size_t na = consume(f, g, "w1", 1, 4, a, 1);
    size_t nb = consume(f, g, "w2", 2, 10, b, 1);
    assert_int_equal(na, 4);
    assert_int_equal(nb, 6);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            assert_true(a[i].offset != b[j].offset);
}

static void test_unacked_message_comes_back_after_ack_wait(void **state)
{
    struct fixture *f = *state;
    publish(f, "a", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[4];
    assert_int_equal(consume(f, g, "w1", 1, 4, d, 0), 1);
    assert_int_equal(chreg_next_due(f->reg), 1000);
    chreg_expire(f->reg, 999, SIZE_MAX);
    assert_int_equal(consume(f, g, "w2", 2, 4, d, 999), 0);
    chreg_expire(f->reg, 1000, SIZE_MAX);
    assert_int_equal(consume(f, g, "w2", 2, 4, d, 1000), 1);
    assert_int_equal(d[0].offset, 1);
    assert_int_equal(d[0].deliveries, 2);
}

static void test_an_ack_wait_starts_over_when_changes_resume(void **state)
{
    struct fixture *f = *state;
    publish(f, "a", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[4];
    assert_int_equal(consume(f, g, "w1", 1, 4, d, 0), 1);
    /* Changes were refused from 100 to 900: w1 could not ACK then. */
    chreg_resumed(f->reg, 900);
    chreg_expire(f->reg, 1000, SIZE_MAX);
    assert_int_equal(consume(f, g, "w2", 2, 4, d, 1000), 0);
    assert_int_equal(chreg_next_due(f->reg), 1900);
    chreg_expire(f->reg, 1900, SIZE_MAX);
    assert_int_equal(consume(f, g, "w2", 2, 4, d, 1900), 1);
    assert_int_equal(d[0].deliveries, 2);
}

/* Each wake-up handles a bounded number of deadlines; the rest stay due. */
static void test_expiry_takes_a_bounded_batch(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 10; i++)
        publish(f, "x", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[10];
    assert_int_equal(consume(f, g, "w1", 1, 10, d, 0), 10);
    assert_int_equal(chreg_expire(f->reg, 1000, 4), 4);
    assert_int_equal(chreg_next_due(f->reg), 1000);
    assert_int_equal(chreg_expire(f->reg, 1000, 4), 4);
    assert_int_equal(chreg_expire(f->reg, 1000, 4), 2);
    assert_int_equal(chreg_next_due(f->reg), -1);
    assert_int_equal(consume(f, g, "w2", 2, 10, d, 1000), 10);
}

static void test_ack_removes_the_deadline(void **state)
{
    struct fixture *f = *state;
    publish(f, "a", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[4];
    consume(f, g, "w1", 1, 4, d, 0);
    group_ack(f->reg, g, 1, 5);
    assert_int_equal(chreg_next_due(f->reg), -1);
}

static void test_nack_with_delay_redelivers_after_it(void **state)
{
    struct fixture *f = *state;
    publish(f, "a", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[4];
    consume(f, g, "w1", 1, 4, d, 0);
    assert_int_equal(group_nack(f->reg, g, 1, 250, "busy", 10), 1);
    assert_int_equal(group_nack(f->reg, g, 1, 250, "busy", 10), 0);  /* not in flight */
    assert_int_equal(chreg_next_due(f->reg), 260);
    assert_int_equal(consume(f, g, "w1", 1, 4, d, 100), 0);
    chreg_expire(f->reg, 260, SIZE_MAX);
    assert_int_equal(consume(f, g, "w1", 1, 4, d, 260), 1);
    assert_int_equal(d[0].deliveries, 2);
}

static void test_nack_without_delay_waits_a_jittered_backoff(void **state)
{
    struct fixture *f = *state;
    publish(f, "a", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[4];
    int64_t now = 0;
    /* backoff 100 ms doubling: each wait lies in [step/2, step]. */
    int64_t steps[] = {100, 200};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(consume(f, g, "w1", 1, 4, d, now), 1);
        group_nack(f->reg, g, 1, -1, NULL, now);
        int64_t wait = chreg_next_due(f->reg) - now;
        assert_true(wait >= steps[i] / 2);
        assert_true(wait <= steps[i]);
        assert_int_equal(consume(f, g, "w1", 1, 4, d, now + wait - 1), 0);
        now += wait;
        chreg_expire(f->reg, now, SIZE_MAX);
    }
}

static void test_max_deliveries_moves_to_dlq_with_reason(void **state)
{
    struct fixture *f = *state;
    publish(f, "poison", 50);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[4];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(consume(f, g, "w1", 1, 4, d, 100 + i), 1);
        assert_int_equal(d[0].deliveries, (uint32_t)i + 1);
        group_nack(f->reg, g, 1, 0, "card declined", 100 + i);
    }
    assert_int_equal(f->dead, 1);
    assert_int_equal(dlq_count(f->dlq), 1);
    const struct dlq_entry *e = dlq_at(f->dlq, 0);
    assert_string_equal(e->reason, "card declined");
    assert_string_equal(e->channel, "jobs");
    assert_string_equal(e->group, "workers");
    assert_int_equal(e->offset, 1);
    assert_int_equal(e->deliveries, 3);
    assert_int_equal(e->first_ms, 100);
    assert_int_equal(e->last_ms, 102);
    assert_int_equal(e->msg_time_ms, 50);
    assert_memory_equal(e->payload, "poison", 6);
    struct group_stats st;
    group_stats(g, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(consume(f, g, "w1", 1, 4, d, 200), 0);
}

static void test_ack_timeouts_count_toward_the_dlq(void **state)
{
    struct fixture *f = *state;
    publish(f, "slow", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[4];
    int64_t now = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(consume(f, g, "w1", 1, 4, d, now), 1);
        now += 1000;
        chreg_expire(f->reg, now, SIZE_MAX);
    }
    assert_int_equal(dlq_count(f->dlq), 1);
    assert_string_equal(f->last_reason, "ack timeout");
}

static void test_lost_consumer_releases_its_messages_at_once(void **state)
{
    struct fixture *f = *state;
    publish(f, "a", 0);
    publish(f, "b", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[4];
    assert_int_equal(consume(f, g, "w1", 7, 1, d, 0), 1);
    assert_int_equal(consume(f, g, "w2", 8, 1, d, 0), 1);
    chreg_owner_gone(f->reg, 7, 10, false);
    /* Offset 1 is back before its ack wait; offset 2 stays with w2. */
    assert_int_equal(consume(f, g, "w2", 8, 4, d, 10), 1);
    assert_int_equal(d[0].offset, 1);
    assert_int_equal(d[0].deliveries, 2);
    struct group_stats st;
    group_stats(g, &st);
    assert_int_equal(st.consumers, 1);
}

/* What a connection held is found from the connection, across channels
 * and groups: its own messages come back, nobody else's. */
static void test_a_lost_connection_releases_what_it_held_everywhere(void **state)
{
    struct fixture *f = *state;
    struct chan_settings s;
    chan_settings_default(&s);
    struct channel *other;
    assert_int_equal(chreg_declare(f->reg, "other", &s, &other), CHAN_CREATED);
    for (int i = 0; i < 3; i++) {
        publish(f, "a", 0);
        chan_append(f->reg, other, "b", 1, 0);
    }
    struct chan_group *g1 = chan_group(f->ch, "workers", true);
    struct chan_group *g2 = chan_group(other, "workers", true);
    struct chan_group *g3 = chan_group(other, "auditors", true);
    struct chan_delivery d[4];
    assert_int_equal(consume(f, g1, "w1", 7, 2, d, 0), 2);
    assert_int_equal(group_consume(f->reg, g2, "w1", 7, 1, d, 0), 1);
    assert_int_equal(group_consume(f->reg, g3, "a1", 8, 3, d, 0), 3);
    assert_int_equal(group_ack(f->reg, g1, 2, 0), 1);  /* settled: stays settled */
    chreg_owner_gone(f->reg, 7, 10, false);
    chreg_owner_gone(f->reg, 7, 10, false);  /* twice is once */
    struct group_stats st;
    group_stats(g1, &st);
    assert_int_equal(st.consumers, 0);
    group_stats(g3, &st);
    assert_int_equal(st.consumers, 1);
    assert_int_equal(st.pending, 3);
    /* 1 of g1 and 1 of g2 are ready again, at once; g3's are untouched. */
    assert_int_equal(consume(f, g1, "w2", 9, 4, d, 10), 2);
    assert_int_equal(d[0].offset, 1);
    assert_int_equal(d[0].deliveries, 2);
    assert_int_equal(d[1].offset, 3);
    assert_int_equal(group_consume(f->reg, g2, "w2", 9, 4, d, 10), 3);
    assert_int_equal(d[0].deliveries, 2);
    assert_int_equal(group_consume(f->reg, g3, "a2", 9, 4, d, 10), 0);
}

/* While changes may not be made, a lost connection's messages are only let
 * go of: they fall due, and expiry settles them when it may run. */
static void test_a_lost_connection_is_settled_later_when_changes_wait(void **state)
{
    struct fixture *f = *state;
    publish(f, "a", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[4];
    assert_int_equal(consume(f, g, "w1", 7, 1, d, 0), 1);
    chreg_owner_gone(f->reg, 7, 10, true);
    assert_int_equal(consume(f, g, "w2", 8, 4, d, 10), 0);
    struct group_stats st;
    group_stats(g, &st);
    assert_int_equal(st.pending, 1);
    assert_int_equal(chreg_next_due(f->reg), 10);
    chreg_expire(f->reg, 10, SIZE_MAX);
    assert_int_equal(consume(f, g, "w2", 8, 4, d, 10), 1);
    assert_int_equal(d[0].offset, 1);
    assert_int_equal(d[0].deliveries, 2);
}

static void test_replay_returns_a_dead_letter_with_a_fresh_count(void **state)
{
    struct fixture *f = *state;
    publish(f, "poison", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct chan_delivery d[4];
    for (int i = 0; i < 3; i++) {
        consume(f, g, "w1", 1, 4, d, i);
        group_nack(f->reg, g, 1, 0, "boom", i);
    }
    const struct dlq_entry *e = dlq_at(f->dlq, 0);
    uint64_t id = e->id;
    assert_int_equal(chreg_dlq_replay(f->reg, id, 10), 0);
    assert_null(dlq_get(f->dlq, id));  /* a replayed entry leaves the DLQ */
    assert_int_equal(chreg_dlq_replay(f->reg, id, 10), -1);
    assert_int_equal(consume(f, g, "w1", 1, 4, d, 11), 1);
    assert_int_equal(d[0].offset, 1);
    assert_int_equal(d[0].deliveries, 1);
    assert_memory_equal(d[0].payload, "poison", 6);
    /* Failing again, it comes back to the DLQ remembering the replay. */
    for (int i = 0; i < 3; i++) {
        if (i)
            consume(f, g, "w1", 1, 4, d, 20 + i);
        group_nack(f->reg, g, 1, 0, "boom again", 20 + i);
    }
    assert_int_equal(dlq_count(f->dlq), 1);
    assert_int_equal(dlq_at(f->dlq, 0)->replays, 1);
    assert_int_equal(group_ack(f->reg, g, 1, 30), 0);
}

static void test_retention_by_count_and_age(void **state)
{
    struct fixture *f = *state;
    struct chan_settings s;
    chan_settings_default(&s);
    s.maxlen = 3;
    s.maxage_ms = 1000;
    struct channel *ch;
    chreg_declare(f->reg, "short", &s, &ch);
    for (int i = 0; i < 5; i++)
        chan_append(f->reg, ch, "m", 1, 100 * i);
    assert_int_equal(chan_length(ch), 3);
    assert_int_equal(chan_first_offset(ch), 3);
    assert_int_equal(chreg_next_due(f->reg), 1200);  /* offset 3 was published at 200 */
    chreg_expire(f->reg, 1300, SIZE_MAX);
    assert_int_equal(chan_first_offset(ch), 5);
    assert_int_equal(chan_length(ch), 1);
    chreg_expire(f->reg, 1400, SIZE_MAX);
    assert_int_equal(chan_length(ch), 0);
    assert_int_equal(chreg_next_due(f->reg), -1);
}

static void test_in_flight_messages_survive_retention(void **state)
{
    struct fixture *f = *state;
    struct chan_settings s;
    chan_settings_default(&s);
    s.maxlen = 1;
    s.ackwait_ms = 100;
    struct channel *ch;
    chreg_declare(f->reg, "tiny", &s, &ch);
    chan_append(f->reg, ch, "first", 5, 0);
    struct chan_group *g = chan_group(ch, "g", true);
    struct chan_delivery d[4];
    assert_int_equal(group_consume(f->reg, g, "w", 1, 1, d, 0), 1);
    chan_append(f->reg, ch, "second", 6, 1);  /* pushes "first" out of the log */
    chreg_expire(f->reg, 100, SIZE_MAX);
    assert_int_equal(group_consume(f->reg, g, "w", 1, 4, d, 100), 2);
    assert_int_equal(d[0].offset, 1);
    assert_memory_equal(d[0].payload, "first", 5);
    assert_int_equal(d[1].offset, 2);
}

struct test_waiter {
    struct chan_waiter w;
    struct fixture *f;
    size_t got;
    struct chan_delivery d[4];
};

static void on_ready(struct chan_waiter *w)
{
    struct test_waiter *tw = (struct test_waiter *)w;
    struct chan_group *g = chan_group(tw->f->ch, "workers", false);
    tw->got = group_consume(tw->f->reg, g, "blocked", 3, 4, tw->d, 500);
}

static void test_blocked_consumer_wakes_on_publish(void **state)
{
    struct fixture *f = *state;
    struct chan_group *g = chan_group(f->ch, "workers", true);
    struct test_waiter a = {.f = f}, b = {.f = f};
    a.w.ready = on_ready;
    b.w.ready = on_ready;
    group_wait(g, &a.w);
    group_wait(g, &b.w);
    publish(f, "wake", 400);
    /* One message: the first waiter takes it, the second keeps waiting. */
    assert_int_equal(a.got, 1);
    assert_memory_equal(a.d[0].payload, "wake", 4);
    assert_int_equal(b.got, 0);
    assert_ptr_equal(b.w.group, g);
    group_unwait(&b.w);
    assert_null(b.w.group);
}

static void test_settle_steps_over_a_message_never_delivered(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 4; i++)
        publish(f, "m", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    assert_int_equal(group_settle(f->reg, g, 2, 1), 1);
    assert_int_equal(group_settle(f->reg, g, 3, 1), 1);
    assert_int_equal(group_settle(f->reg, g, 3, 1), 0);  /* settled already */
    assert_int_equal(group_settle(f->reg, g, 5, 1), 0);  /* not published */
    struct group_stats st;
    group_stats(g, &st);
    assert_int_equal(st.committed, 0);  /* 1 is still to be handed out */
    struct chan_delivery d[10];
    assert_int_equal(consume(f, g, "w1", 1, 10, d, 2), 2);
    assert_int_equal(d[0].offset, 1);
    assert_int_equal(d[1].offset, 4);
    assert_int_equal(consume(f, g, "w1", 1, 10, d, 3), 0);
    /* Delivered ones are settled as ACK settles them. */
    assert_int_equal(group_settle(f->reg, g, 1, 4), 1);
    assert_int_equal(group_settle(f->reg, g, 1, 4), 0);
    group_stats(g, &st);
    assert_int_equal(st.committed, 3);  /* past 2 and 3 too */
    assert_int_equal(st.lag, 1);
    assert_int_equal(group_ack(f->reg, g, 4, 5), 1);
    group_stats(g, &st);
    assert_int_equal(st.committed, 4);
    assert_int_equal(st.lag, 0);
    assert_int_equal(st.pending, 0);
}

static void test_settled_message_is_not_deliverable_to_a_blocked_consumer(void **state)
{
    struct fixture *f = *state;
    struct chan_group *g = chan_group(f->ch, "workers", true);
    publish(f, "given up", 0);
    assert_int_equal(group_settle(f->reg, g, 1, 1), 1);
    struct test_waiter a = {.f = f};
    a.w.ready = on_ready;
    group_wait(g, &a.w);
    publish(f, "wake", 2);
    assert_int_equal(a.got, 1);
    assert_int_equal(a.d[0].offset, 2);
}

static void test_dead_letter_of_an_undelivered_message_until_replayed(void **state)
{
    struct fixture *f = *state;
    publish(f, "a", 0);
    publish(f, "b", 0);
    struct chan_group *g = chan_group(f->ch, "workers", true);
    uint64_t id = chreg_dead_letter(f->reg, g, 1, "a", 1, "timeout", 2, 0, 5);
    struct chan_delivery d[4];
    assert_int_equal(consume(f, g, "w1", 1, 4, d, 6), 1);
    assert_int_equal(d[0].offset, 2);
    /* A replay hands it out once, then never again. */
    assert_int_equal(chreg_dlq_replay(f->reg, id, 7), 0);
    assert_int_equal(consume(f, g, "w1", 1, 4, d, 8), 1);
    assert_int_equal(d[0].offset, 1);
    assert_int_equal(group_ack(f->reg, g, 1, 9), 1);
    assert_int_equal(group_ack(f->reg, g, 2, 9), 1);
    assert_int_equal(consume(f, g, "w1", 1, 4, d, 10), 0);
    struct group_stats st;
    group_stats(g, &st);
    assert_int_equal(st.committed, 2);
}

/* A registry rebuilt from the changes of another, as recovery does. */
struct mirror {
    struct dlq *dlq;
    struct chan_registry *reg;
    int failed;
};

static void mirror_change(void *ctx, const struct chan_change *c)
{
    struct mirror *m = ctx;
    if (chreg_apply(m->reg, c) != 0)
        m->failed++;
}

static void mirror_init(struct mirror *m)
{
    m->dlq = dlq_new(100);
    m->reg = chreg_new(m->dlq, NULL, 1);
    m->failed = 0;
}

static void mirror_free(struct mirror *m)
{
    chreg_free(m->reg);
    dlq_free(m->dlq);
}

static void test_settled_offsets_survive_journal_and_snapshot(void **state)
{
    (void)state;
    struct mirror journal;
    mirror_init(&journal);
    struct chan_hooks hooks = {.ctx = &journal, .changed = mirror_change};
    struct dlq *dlq = dlq_new(100);
    struct chan_registry *live = chreg_new(dlq, &hooks, 7);
    struct chan_settings s;
    chan_settings_default(&s);
    struct channel *ch;
    chreg_declare(live, "steps", &s, &ch);
    struct chan_group *g = chan_group(ch, "payment", true);
    for (int i = 0; i < 4; i++)
        chan_append(live, ch, "m", 1, i);
    assert_int_equal(group_settle(live, g, 3, 5), 1);
    struct chan_delivery d[4];
    assert_int_equal(group_consume(live, g, "w", 1, 1, d, 6), 1);  /* 1 */
    assert_int_equal(group_settle(live, g, 2, 7), 1);

    struct mirror snap;
    mirror_init(&snap);
    chreg_snapshot(live, mirror_change, &snap);
    struct mirror *both[] = {&journal, &snap};
    for (int i = 0; i < 2; i++) {
        struct mirror *m = both[i];
        assert_int_equal(m->failed, 0);
        chreg_recovered(m->reg, 8);
        struct chan_group *mg = chan_group(chreg_find(m->reg, "steps"), "payment", false);
        assert_non_null(mg);
        /* 1 was in flight (back again after the restart), 2 and 3 settled. */
        assert_int_equal(group_consume(m->reg, mg, "w", 1, 4, d, 9), 2);
        assert_int_equal(d[0].offset, 1);
        assert_int_equal(d[1].offset, 4);
        mirror_free(m);
    }
    chreg_free(live);
    dlq_free(dlq);
}

/* A publication recorded as settled at once (its hand-over left out of the
 * journal) recovers as a message in the log, READ shows it, and no group
 * hands it out again. */
static void test_a_message_settled_at_once_recovers_settled(void **state)
{
    (void)state;
    struct mirror m;
    mirror_init(&m);
    struct chan_settings s;
    chan_settings_default(&s);
    struct chan_change c[] = {
        {.type = CHG_DECLARE, .channel = "steps", .settings = &s},
        {.type = CHG_GROUP, .channel = "steps", .group = "a", .offset = 1},
        {.type = CHG_GROUP, .channel = "steps", .group = "b", .offset = 1},
        {.type = CHG_APPEND, .channel = "steps", .offset = 1, .payload = "x", .len = 1,
         .released = true},
        {.type = CHG_APPEND, .channel = "steps", .offset = 2, .payload = "y", .len = 1},
        {.type = CHG_APPEND, .channel = "steps", .offset = 3, .payload = "z", .len = 1,
         .released = true},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        assert_int_equal(chreg_apply(m.reg, &c[i]), 0);
    chreg_recovered(m.reg, 10);
    struct channel *ch = chreg_find(m.reg, "steps");
    struct chan_delivery d[4];
    assert_int_equal(chan_read(m.reg, ch, 0, 4, d, 10), 3);
    const char *names[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        struct chan_group *g = chan_group(ch, names[i], false);
        assert_int_equal(group_consume(m.reg, g, "w", 1, 4, d, 11), 1);
        assert_int_equal(d[0].offset, 2);
    }
    mirror_free(&m);
}

/* ACK and SETTLE say whether every group is now done with the message:
 * only then may a store leave it out. */
struct released_seen {
    int acks;
    bool released;
};

static void on_released(void *ctx, const struct chan_change *c)
{
    struct released_seen *seen = ctx;
    if (c->type == CHG_ACK || c->type == CHG_SETTLE) {
        seen->acks++;
        seen->released = c->released;
    }
}

static void test_ack_says_when_every_group_has_settled(void **state)
{
    (void)state;
    struct released_seen seen = {0};
    struct chan_hooks hooks = {.ctx = &seen, .changed = on_released};
    struct dlq *dlq = dlq_new(10);
    struct chan_registry *r = chreg_new(dlq, &hooks, 3);
    struct chan_settings s;
    chan_settings_default(&s);
    struct channel *ch;
    chreg_declare(r, "jobs", &s, &ch);
    struct chan_group *a = chan_group(ch, "a", true);
    struct chan_group *b = chan_group(ch, "b", true);
    chan_append(r, ch, "x", 1, 0);
    chan_append(r, ch, "y", 1, 0);
    struct chan_delivery d[2];
    assert_int_equal(group_consume(r, a, "w", 1, 1, d, 1), 1);
    assert_int_equal(group_ack(r, a, 1, 2), 1);
    assert_false(seen.released);          /* b has not taken it */
    assert_int_equal(group_consume(r, b, "w", 2, 1, d, 1), 1);
    assert_int_equal(group_ack(r, b, 1, 2), 1);
    assert_true(seen.released);
    /* Settled before delivery by one group, taken and acked by the other. */
    assert_int_equal(group_settle(r, a, 2, 3), 1);
    assert_false(seen.released);
    assert_int_equal(group_consume(r, b, "w", 2, 1, d, 4), 1);
    assert_int_equal(group_ack(r, b, 2, 5), 1);
    assert_true(seen.released);
    assert_int_equal(seen.acks, 4);
    chreg_free(r);
    dlq_free(dlq);
}

/* A snapshot's pending entry that no consumer holds (a replayed dead
 * letter, ready again) restores into a group that has consumers. */
static void test_snapshot_pending_without_consumer_restores(void **state)
{
    (void)state;
    struct mirror m;
    mirror_init(&m);
    struct chan_settings s;
    chan_settings_default(&s);
    struct chan_change c[] = {
        {.type = CHG_DECLARE, .channel = "steps", .settings = &s},
        {.type = CHG_GROUP, .channel = "steps", .group = "g", .offset = 3},
        {.type = CHG_APPEND, .channel = "steps", .offset = 1, .payload = "a", .len = 1},
        {.type = CHG_APPEND, .channel = "steps", .offset = 2, .payload = "b", .len = 1},
        {.type = CHG_DELIVER, .channel = "steps", .group = "g", .offset = 1, .consumer = "w",
         .deliveries = 1, .time_ms = 5},
        {.type = CHG_PENDING, .channel = "steps", .group = "g", .offset = 2, .consumer = NULL,
         .payload = "b", .len = 1, .deliveries = 0, .replays = 1, .state = PENDING_READY},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (chreg_apply(m.reg, &c[i]) != 0)
            fail_msg("change %zu refused", i);
    chreg_recovered(m.reg, 10);
    struct chan_group *g = chan_group(chreg_find(m.reg, "steps"), "g", false);
    struct chan_delivery d[4];
    /* 1 was in flight (back after the restart), 2 was ready. */
    assert_int_equal(group_consume(m.reg, g, "w2", 1, 4, d, 11), 2);
    assert_int_equal(d[0].offset + d[1].offset, 3);
    mirror_free(&m);
}

static void test_full_dlq_drops_its_oldest_entries(void **state)
{
    (void)state;
    struct dlq *q = dlq_new(200);
    struct dlq_entry e = {.channel = "c", .group = "g", .payload = "p", .len = 1,
                          .reason = "r"};
    for (int i = 0; i < 201; i++)
        dlq_add(q, &e);
    /* The 201st arrival dropped the oldest 2 (a hundredth of 200). */
    assert_int_equal(dlq_count(q), 199);
    assert_int_equal(dlq_dropped(q), 2);
    assert_int_equal(dlq_at(q, 0)->id, 3);
    assert_null(dlq_get(q, 2));
    assert_non_null(dlq_get(q, 201));
    assert_int_equal(dlq_remove(q, 100), 0);
    assert_int_equal(dlq_remove(q, 100), -1);
    assert_null(dlq_get(q, 100));
    assert_non_null(dlq_get(q, 101));
    dlq_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_declare_is_idempotent_and_detects_conflicts),
        T(test_snapshot_pending_without_consumer_restores),
        T(test_offsets_ascend_and_read_replays_history),
        T(test_group_starts_at_oldest_and_counts_deliveries),
        T(test_two_consumers_never_share_a_message),
        T(test_unacked_message_comes_back_after_ack_wait),
        T(test_an_ack_wait_starts_over_when_changes_resume),
        T(test_expiry_takes_a_bounded_batch),
        T(test_a_lost_connection_releases_what_it_held_everywhere),
        T(test_a_lost_connection_is_settled_later_when_changes_wait),
        T(test_ack_removes_the_deadline),
        T(test_nack_with_delay_redelivers_after_it),
        T(test_nack_without_delay_waits_a_jittered_backoff),
        T(test_max_deliveries_moves_to_dlq_with_reason),
        T(test_ack_timeouts_count_toward_the_dlq),
        T(test_lost_consumer_releases_its_messages_at_once),
        T(test_replay_returns_a_dead_letter_with_a_fresh_count),
        T(test_retention_by_count_and_age),
        T(test_in_flight_messages_survive_retention),
        T(test_blocked_consumer_wakes_on_publish),
        T(test_settle_steps_over_a_message_never_delivered),
        T(test_settled_message_is_not_deliverable_to_a_blocked_consumer),
        T(test_dead_letter_of_an_undelivered_message_until_replayed),
        cmocka_unit_test(test_settled_offsets_survive_journal_and_snapshot),
        cmocka_unit_test(test_full_dlq_drops_its_oldest_entries),
        cmocka_unit_test(test_ack_says_when_every_group_has_settled),
        cmocka_unit_test(test_a_message_settled_at_once_recovers_settled),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
