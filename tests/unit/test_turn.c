/* A loop turn's records: what is kept, in what order, and what is left
 * out (see store/turn.h). Records are made with the store's own encoders
 * and read back from the framed output. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels/channel.h"
#include "lib/codec.h"
#include "orders/book.h"
#include "saga/saga.h"
#include "store/journal.h"
#include "store/persist.h"
#include "store/turn.h"

struct out {
    uint8_t type[64];
    struct buf payload[64];
    size_t n;
};

static void parse(struct buf *framed, struct out *o)
{
    const unsigned char *p = (const unsigned char *)buf_head(framed);
    size_t off = 0, n = buf_used(framed);
    o->n = 0;
    while (off < n) {
        assert_true(off + JOURNAL_HEADER_LEN <= n);
        uint32_t len = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
                       (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
        assert_true(o->n < 64);
        o->type[o->n] = p[off + 4];
        buf_init(&o->payload[o->n]);
        buf_append(&o->payload[o->n], p + off + JOURNAL_HEADER_LEN, len);
        o->n++;
        off += JOURNAL_HEADER_LEN + len;
    }
    assert_int_equal(off, n);
}

static void out_free(struct out *o)
{
    for (size_t i = 0; i < o->n; i++)
        buf_free(&o->payload[i]);
}

static void change(struct turn *t, struct chan_change c)
{
    struct buf rec;
    uint8_t type;
    buf_init(&rec);
    persist_encode_change(&rec, &c, &type);
    turn_change(t, type, buf_head(&rec), buf_used(&rec), &c);
    buf_free(&rec);
}

static void publish(struct turn *t, const char *channel, uint64_t offset)
{
    change(t, (struct chan_change){.type = CHG_APPEND, .channel = channel, .offset = offset,
                                   .time_ms = 5, .payload = "{\"order\":1}", .len = 11});
}

static void deliver(struct turn *t, const char *channel, uint64_t offset)
{
    change(t, (struct chan_change){.type = CHG_DELIVER, .channel = channel, .group = "g",
                                   .consumer = "sim", .offset = offset, .deliveries = 1,
                                   .time_ms = 6});
}

static void ack(struct turn *t, const char *channel, uint64_t offset, bool released)
{
    change(t, (struct chan_change){.type = CHG_ACK, .channel = channel, .group = "g",
                                   .offset = offset, .released = released});
}

static void saga_rec(struct turn *t, uint64_t order, int step, uint8_t state)
{
    struct saga s;
    memset(&s, 0, sizeof s);
    s.order = order;
    s.state = state;
    if (step >= 0)
        s.steps[step].state = state;
    struct buf rec;
    uint8_t type;
    buf_init(&rec);
    persist_encode_saga(&rec, &s, step, &type);
    turn_record(t, type, buf_head(&rec), buf_used(&rec));
    buf_free(&rec);
}

static void order_moved(struct turn *t, uint64_t id)
{
    struct buf rec;
    uint8_t type;
    buf_init(&rec);
    struct order_event ev = {.type = ORDER_EV_TRANSITION, .id = id, .time_ms = 1,
                             .to = ORDER_PAID, .source = "saga"};
    persist_encode_order(&rec, &ev, &type);
    turn_record(t, type, buf_head(&rec), buf_used(&rec));
    buf_free(&rec);
}

/* A REC_PUBLISHED record's flags and offset. */
static uint64_t published(struct buf *payload, uint64_t *offset)
{
    struct dec d;
    dec_init(&d, buf_head(payload), buf_used(payload));
    uint64_t flags = dec_u64(&d);
    *offset = dec_u64(&d);
    return flags;
}

static void flush(struct turn *t, struct out *o, struct turn_flushed *f)
{
    struct buf framed;
    buf_init(&framed);
    turn_flush(t, &framed, f);
    assert_int_equal(f->kept, buf_used(&framed));
    parse(&framed, o);
    buf_free(&framed);
    assert_int_equal(turn_records(t), 0);
}

static void test_records_that_add_are_kept_in_order(void **state)
{
    (void)state;
    struct turn *t = turn_new();
    order_moved(t, 1);
    order_moved(t, 1);
    order_moved(t, 2);
    struct out o;
    struct turn_flushed f;
    flush(t, &o, &f);
    assert_int_equal(o.n, 3);
    assert_int_equal(f.left_out, 0);
    assert_int_equal(f.recorded, f.kept);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(o.type[i], REC_ORDER_TRANSITION);
    out_free(&o);
    turn_free(t);
}

static void test_a_later_record_of_the_same_thing_supersedes(void **state)
{
    (void)state;
    struct turn *t = turn_new();
    saga_rec(t, 7, -1, 1);
    saga_rec(t, 7, 2, 1);   /* step 2 of saga 7 */
    saga_rec(t, 7, 3, 1);   /* another step: another thing */
    saga_rec(t, 8, -1, 1);  /* another saga */
    saga_rec(t, 7, 2, 2);
    saga_rec(t, 7, -1, 3);
    struct out o;
    struct turn_flushed f;
    flush(t, &o, &f);
    assert_int_equal(f.left_out, 2);
    assert_true(f.kept < f.recorded);
    /* What is left, in the order it was made: step 3, saga 8, step 2
     * (state 2), saga 7 (state 3). */
    assert_int_equal(o.n, 4);
    uint8_t want_type[] = {REC_SAGA_STEP, REC_SAGA, REC_SAGA_STEP, REC_SAGA};
    uint64_t want_order[] = {7, 8, 7, 7};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(o.type[i], want_type[i]);
        struct dec d;
        dec_init(&d, buf_head(&o.payload[i]), buf_used(&o.payload[i]));
        assert_int_equal(dec_u64(&d), want_order[i]);
        if (i == 2) {
            assert_int_equal(dec_u64(&d), 2);  /* the step */
            assert_int_equal(dec_u64(&d), 2);  /* its last state */
        }
        if (i == 3)
            assert_int_equal(dec_u64(&d), 3);
    }
    out_free(&o);
    /* The next turn starts afresh: nothing of the last one is superseded. */
    saga_rec(t, 7, -1, 4);
    flush(t, &o, &f);
    assert_int_equal(o.n, 1);
    assert_int_equal(f.left_out, 0);
    out_free(&o);
    turn_free(t);
}

static void test_a_message_settled_in_its_turn_is_recorded_once(void **state)
{
    (void)state;
    struct turn *t = turn_new();
    publish(t, "payment.authorize", 41);
    deliver(t, "payment.authorize", 41);
    order_moved(t, 1);
    ack(t, "payment.authorize", 41, true);
    struct out o;
    struct turn_flushed f;
    flush(t, &o, &f);
    assert_int_equal(f.left_out, 2);
    /* Its publication, saying it was settled at once, then the move. */
    assert_int_equal(o.n, 2);
    uint64_t offset;
    assert_int_equal(o.type[0], REC_PUBLISHED);
    assert_int_equal(published(&o.payload[0], &offset), PUBLISHED_SETTLED);
    assert_int_equal(offset, 41);
    assert_int_equal(o.type[1], REC_ORDER_TRANSITION);
    out_free(&o);
    turn_free(t);
}

static void test_messages_are_told_apart_by_channel_and_offset(void **state)
{
    (void)state;
    struct turn *t = turn_new();
    publish(t, "a", 1);
    deliver(t, "a", 1);
    publish(t, "a", 2);     /* not taken yet */
    publish(t, "b", 1);
    deliver(t, "b", 1);
    ack(t, "b", 1, true);
    ack(t, "a", 1, true);
    struct out o;
    struct turn_flushed f;
    flush(t, &o, &f);
    assert_int_equal(f.left_out, 4);
    assert_int_equal(o.n, 3);
    uint64_t want_flags[] = {PUBLISHED_SETTLED, 0, PUBLISHED_SETTLED};
    uint64_t want_offset[] = {1, 2, 1};
    for (size_t i = 0; i < 3; i++) {
        uint64_t offset;
        assert_int_equal(o.type[i], REC_PUBLISHED);
        assert_int_equal(published(&o.payload[i], &offset), want_flags[i]);
        assert_int_equal(offset, want_offset[i]);
    }
    out_free(&o);
    turn_free(t);
}

static void test_a_message_not_settled_everywhere_is_kept(void **state)
{
    (void)state;
    struct turn *t = turn_new();
    /* Settled by one group while another has yet to take it. */
    publish(t, "a", 1);
    deliver(t, "a", 1);
    ack(t, "a", 1, false);
    /* Nacked before its ack: more than a hand-over. */
    publish(t, "a", 2);
    deliver(t, "a", 2);
    change(t, (struct chan_change){.type = CHG_NACK, .channel = "a", .group = "g",
                                   .offset = 2, .reason = "busy"});
    deliver(t, "a", 2);
    ack(t, "a", 2, true);
    /* Published in an earlier turn: its ack is all this turn has. */
    ack(t, "a", 0, true);
    struct out o;
    struct turn_flushed f;
    flush(t, &o, &f);
    assert_int_equal(f.left_out, 0);
    assert_int_equal(o.n, 9);
    for (size_t i = 0; i < o.n; i++) {
        uint64_t offset;
        if (o.type[i] == REC_PUBLISHED)
            assert_int_equal(published(&o.payload[i], &offset), 0);
    }
    out_free(&o);
    turn_free(t);
}

/* A group created after a message of the turn was published: recovery
 * would settle the message before the group exists, so its story stays. */
static void test_a_group_created_after_a_message_keeps_its_story(void **state)
{
    (void)state;
    struct turn *t = turn_new();
    publish(t, "a", 2);
    change(t, (struct chan_change){.type = CHG_GROUP, .channel = "a", .group = "g",
                                   .offset = 1});
    deliver(t, "a", 2);
    ack(t, "a", 2, true);
    publish(t, "a", 3);   /* after the group: may be recorded once */
    deliver(t, "a", 3);
    ack(t, "a", 3, true);
    struct out o;
    struct turn_flushed f;
    flush(t, &o, &f);
    assert_int_equal(f.left_out, 2);
    assert_int_equal(o.n, 5);  /* APPEND 2, GROUP, DELIVER 2, ACK 2, APPEND 3 */
    uint64_t offset;
    assert_int_equal(published(&o.payload[0], &offset), 0);
    assert_int_equal(published(&o.payload[4], &offset), PUBLISHED_SETTLED);
    assert_int_equal(offset, 3);
    out_free(&o);
    turn_free(t);
}

static void test_a_burst_grows_and_lets_go_of_its_tables(void **state)
{
    (void)state;
    struct turn *t = turn_new();
    for (int round = 0; round < 3; round++) {
        size_t n = round == 1 ? 20000 : 10;
        for (size_t i = 0; i < n; i++) {
            publish(t, "a", i + 1);
            deliver(t, "a", i + 1);
            ack(t, "a", i + 1, i % 2 == 0);  /* every other one settled everywhere */
            saga_rec(t, i, -1, 1);
            saga_rec(t, i, -1, 2);
        }
        struct turn_flushed f;
        struct buf framed;
        buf_init(&framed);
        turn_flush(t, &framed, &f);
        /* The hand-over of half the messages, and one saga record each. */
        assert_int_equal(f.left_out, (n + 1) / 2 * 2 + n);
        buf_free(&framed);
    }
    turn_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_that_add_are_kept_in_order),
        cmocka_unit_test(test_a_later_record_of_the_same_thing_supersedes),
        cmocka_unit_test(test_a_message_settled_in_its_turn_is_recorded_once),
        cmocka_unit_test(test_messages_are_told_apart_by_channel_and_offset),
        cmocka_unit_test(test_a_message_not_settled_everywhere_is_kept),
        cmocka_unit_test(test_a_group_created_after_a_message_keeps_its_story),
        cmocka_unit_test(test_a_burst_grows_and_lets_go_of_its_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
