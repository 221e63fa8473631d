/* The order book: every change is an event applied in one place, seen by
 * observers, and replaying the recorded events rebuilds the same book. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "orders/book.h"
#include "xalloc.h"

static const struct order_fields alice = {
    .customer = "alice", .item = "book", .qty = 1, .amount = 1999,
    .currency = "USD", .key = NULL,
};

/* An observer that records a copy of every event it sees. */
struct recorded {
    struct order_event ev;
    struct order_fields fields;
    char customer[32], item[32], key[32], source[16], note[64];
    int from;
};

struct recorder {
    struct recorded log[64];
    size_t n;
};

static void record(void *ctx, const struct order_event *ev, const struct order *after,
                   int from)
{
    struct recorder *r = ctx;
    assert_true(r->n < 64);
    assert_non_null(after);
    assert_int_equal(after->id, ev->id);
    struct recorded *e = &r->log[r->n++];
    e->ev = *ev;
    e->from = from;
    if (ev->type == ORDER_EV_CREATED) {
        e->fields = *ev->fields;
        strcpy(e->customer, ev->fields->customer);
        strcpy(e->item, ev->fields->item);
        e->fields.customer = e->customer;
        e->fields.item = e->item;
        if (ev->fields->key) {
            strcpy(e->key, ev->fields->key);
            e->fields.key = e->key;
        }
        e->ev.fields = &e->fields;
    } else {
        strcpy(e->source, ev->source);
        e->ev.source = e->source;
        if (ev->note) {
            strcpy(e->note, ev->note);
            e->ev.note = e->note;
        }
    }
}

static void test_ids_ascend_from_one(void **state)
{
    (void)state;
    struct book *b = book_new();
    const struct order *o1 = book_create(b, &alice, 1000);
    const struct order *o2 = book_create(b, &alice, 2000);
    assert_int_equal(o1->id, 1);
    assert_int_equal(o2->id, 2);
    assert_int_equal(book_last_id(b), 2);
    assert_ptr_equal(book_get(b, 1), o1);
    assert_null(book_get(b, 0));
    assert_null(book_get(b, 3));
    assert_int_equal(o1->status, ORDER_PENDING);
    assert_int_equal(o1->created_ms, 1000);
    assert_int_equal(o1->nhistory, 1);
    assert_int_equal(o1->history[0].from, -1);
    book_free(b);
}

static void test_transitions_follow_the_lifecycle(void **state)
{
    (void)state;
    struct book *b = book_new();
    const struct order *o = book_create(b, &alice, 1000);
    assert_int_equal(book_transition(b, 1, ORDER_RESERVED, "client", NULL, 1001), BOOK_OK);
    assert_int_equal(book_transition(b, 1, ORDER_SHIPPED, "client", NULL, 1002), BOOK_BADSTATE);
    assert_int_equal(o->status, ORDER_RESERVED);
    assert_int_equal(o->updated_ms, 1001);
    assert_int_equal(book_transition(b, 1, ORDER_CANCELLED, "client", "changed mind", 1003),
                     BOOK_OK);
    assert_int_equal(book_transition(b, 1, ORDER_CANCELLED, "client", NULL, 1004),
                     BOOK_BADSTATE);
    assert_int_equal(book_transition(b, 7, ORDER_PAID, "client", NULL, 1005), BOOK_NOTFOUND);
    assert_int_equal(o->nhistory, 3);
    assert_int_equal(o->history[2].from, ORDER_RESERVED);
    assert_int_equal(o->history[2].to, ORDER_CANCELLED);
    assert_string_equal(o->history[2].note, "changed mind");
    assert_string_equal(o->history[2].source, "client");
    book_free(b);
}

static void test_counts_by_status_follow_transitions(void **state)
{
    (void)state;
    struct book *b = book_new();
    for (int i = 0; i < 5; i++)
        book_create(b, &alice, i);
    book_transition(b, 2, ORDER_RESERVED, "client", NULL, 10);
    book_transition(b, 3, ORDER_FAILED, "client", NULL, 10);
    assert_int_equal(book_count_status(b, ORDER_PENDING), 3);
    assert_int_equal(book_count_status(b, ORDER_RESERVED), 1);
    assert_int_equal(book_count_status(b, ORDER_FAILED), 1);
    assert_int_equal(book_count_status(b, ORDER_DELIVERED), 0);
    book_free(b);
}

static void test_idempotency_keys_find_their_order(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct order_fields f = alice;
    f.key = "k-1";
    book_create(b, &alice, 1);
    const struct order *o = book_create(b, &f, 2);
    assert_ptr_equal(book_by_key(b, "k-1"), o);
    assert_null(book_by_key(b, "k-2"));
    assert_true(order_same_fields(o, &alice));
    f.qty = 2;
    assert_false(order_same_fields(o, &f));
    book_free(b);
}

static void test_observers_see_every_event_after_it_applies(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct recorder rec = {.n = 0};
    assert_int_equal(book_observe(b, record, &rec), 0);
    book_create(b, &alice, 1);
    book_transition(b, 1, ORDER_RESERVED, "client", "ok", 2);
    book_transition(b, 1, ORDER_DELIVERED, "client", NULL, 3);  /* refused: not seen */
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.log[0].ev.type, ORDER_EV_CREATED);
    assert_int_equal(rec.log[1].ev.type, ORDER_EV_TRANSITION);
    assert_int_equal(rec.log[1].from, ORDER_PENDING);
    assert_int_equal(rec.log[1].ev.to, ORDER_RESERVED);
    book_free(b);
}

static void test_observer_slots_are_bounded(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct recorder rec = {.n = 0};
    for (int i = 0; i < BOOK_MAX_OBSERVERS; i++)
        assert_int_equal(book_observe(b, record, &rec), 0);
    assert_int_equal(book_observe(b, record, &rec), -1);
    book_free(b);
}

static void test_replaying_events_rebuilds_the_same_book(void **state)
{
    (void)state;
    struct book *live = book_new();
    struct recorder rec = {.n = 0};
    book_observe(live, record, &rec);
    struct order_fields f = alice;
    f.key = "abc";
    book_create(live, &alice, 10);
    book_create(live, &f, 20);
    book_transition(live, 1, ORDER_RESERVED, "client", NULL, 30);
    book_transition(live, 2, ORDER_CANCELLED, "client", "why not", 40);
    book_transition(live, 1, ORDER_PAID, "client", NULL, 50);

    struct book *copy = book_new();
    for (size_t i = 0; i < rec.n; i++)
        assert_int_equal(book_apply(copy, &rec.log[i].ev), BOOK_OK);
    for (uint64_t id = 1; id <= 2; id++) {
        const struct order *a = book_get(live, id), *c = book_get(copy, id);
        assert_int_equal(a->status, c->status);
        assert_int_equal(a->updated_ms, c->updated_ms);
        assert_int_equal(a->nhistory, c->nhistory);
        for (size_t h = 0; h < a->nhistory; h++) {
            assert_int_equal(a->history[h].time_ms, c->history[h].time_ms);
            assert_int_equal(a->history[h].to, c->history[h].to);
        }
    }
    assert_ptr_equal(book_by_key(copy, "abc"), book_get(copy, 2));
    book_free(live);
    book_free(copy);
}

static void test_created_events_out_of_sequence_are_refused(void **state)
{
    (void)state;
    struct book *b = book_new();
    struct order_event ev = {.type = ORDER_EV_CREATED, .id = 5, .time_ms = 1,
                             .fields = &alice};
    assert_int_equal(book_apply(b, &ev), BOOK_BADID);
    assert_int_equal(book_last_id(b), 0);
    book_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_ascend_from_one),
        cmocka_unit_test(test_transitions_follow_the_lifecycle),
        cmocka_unit_test(test_counts_by_status_follow_transitions),
        cmocka_unit_test(test_idempotency_keys_find_their_order),
        cmocka_unit_test(test_observers_see_every_event_after_it_applies),
        cmocka_unit_test(test_observer_slots_are_bounded),
        cmocka_unit_test(test_replaying_events_rebuilds_the_same_book),
        cmocka_unit_test(test_created_events_out_of_sequence_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
