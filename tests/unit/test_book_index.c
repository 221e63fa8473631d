/* Finding orders by status and customer (book_next, served by the book's
 * index): it must give exactly what walking the whole book and testing each
 * order gives, page by page, after any mix of creations and transitions,
 * live or restored. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orders/book.h"

static struct order_fields fields_for(const char *customer)
{
    return (struct order_fields){.customer = customer, .item = "book", .qty = 1,
                                 .amount = 1999, .currency = "USD", .key = NULL};
}

static void create_as(struct book *b, const char *customer)
{
    struct order_fields f = fields_for(customer);
    assert_non_null(book_create(b, &f, 1));
}

/* What LIST returned before the index: every order after `after`, in id
 * order, tested one by one. */
static size_t scan(const struct book *b, const struct book_filter *f, uint64_t after,
                   size_t limit, uint64_t *out)
{
    size_t n = 0;
    for (uint64_t id = after + 1; id <= book_last_id(b) && n < limit; id++) {
        const struct order *o = book_get(b, id);
        if (f->status >= 0 && (int)o->status != f->status)
            continue;
        if (f->customer && strcmp(o->customer, f->customer) != 0)
            continue;
        out[n++] = id;
    }
    return n;
}

/* The same through book_next, as LIST pages now. */
static size_t page(const struct book *b, const struct book_filter *f, uint64_t after,
                   size_t limit, uint64_t *out)
{
    size_t n = 0;
    for (uint64_t id = book_next(b, f, after); id && n < limit; id = book_next(b, f, id))
        out[n++] = id;
    return n;
}

/* Pages through everything the filter takes, `limit` at a time, both ways. */
static void assert_pages_agree(const struct book *b, const struct book_filter *f,
                               size_t limit)
{
    uint64_t want[64], got[64];
    uint64_t after = 0;
    for (;;) {
        size_t nw = scan(b, f, after, limit, want);
        size_t ng = page(b, f, after, limit, got);
        assert_int_equal(ng, nw);
        for (size_t i = 0; i < nw; i++)
            assert_int_equal(got[i], want[i]);
        if (nw == 0)
            return;
        after = want[nw - 1];
    }
}

static size_t ids_of(const struct book *b, const struct book_filter *f, uint64_t after,
                     uint64_t *out)
{
    return page(b, f, after, 64, out);
}

static void test_a_status_lists_its_orders_in_id_order(void **state)
{
    (void)state;
    struct book *b = book_new();
    for (int i = 0; i < 10; i++)
        create_as(b, "alice");
    book_transition(b, 3, ORDER_FAILED, "client", NULL, 2);
    book_transition(b, 7, ORDER_FAILED, "client", NULL, 2);
    book_transition(b, 5, ORDER_RESERVED, "client", NULL, 2);
    /* An old order moving into a status lands in the middle of it. */
    book_transition(b, 5, ORDER_FAILED, "client", NULL, 3);
    uint64_t ids[64];
    struct book_filter failed = {.status = ORDER_FAILED, .customer = NULL};
    assert_int_equal(ids_of(b, &failed, 0, ids), 3);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 5);
    assert_int_equal(ids[2], 7);
    struct book_filter reserved = {.status = ORDER_RESERVED, .customer = NULL};
    assert_int_equal(ids_of(b, &reserved, 0, ids), 0);
    struct book_filter pending = {.status = ORDER_PENDING, .customer = NULL};
    assert_int_equal(ids_of(b, &pending, 0, ids), 7);
    assert_int_equal(book_count_status(b, ORDER_PENDING), 7);
    assert_int_equal(book_count_status(b, ORDER_FAILED), 3);
    book_free(b);
}

static void test_after_pages_from_any_id(void **state)
{
    (void)state;
    struct book *b = book_new();
    for (int i = 0; i < 20; i++)
        create_as(b, i % 2 ? "bob" : "alice");
    for (uint64_t id = 2; id <= 20; id += 3)
        book_transition(b, id, ORDER_CANCELLED, "client", NULL, 2);
    struct book_filter cancelled = {.status = ORDER_CANCELLED, .customer = NULL};
    uint64_t ids[64];
    /* Cancelled: 2 5 8 11 14 17 20. After a member, after a non-member. */
    assert_int_equal(ids_of(b, &cancelled, 5, ids), 5);
    assert_int_equal(ids[0], 8);
    assert_int_equal(ids_of(b, &cancelled, 6, ids), 5);
    assert_int_equal(ids[0], 8);
    assert_int_equal(ids_of(b, &cancelled, 19, ids), 1);
    assert_int_equal(ids[0], 20);
    assert_int_equal(ids_of(b, &cancelled, 20, ids), 0);
    assert_int_equal(ids_of(b, &cancelled, 1000, ids), 0);
    assert_int_equal(ids_of(b, &cancelled, UINT64_MAX, ids), 0);
    struct book_filter bob = {.status = -1, .customer = "bob"};
    assert_int_equal(ids_of(b, &bob, UINT64_MAX, ids), 0);
    struct book_filter any = {.status = -1, .customer = NULL};
    assert_int_equal(ids_of(b, &any, 18, ids), 2);
    assert_int_equal(ids_of(b, &any, UINT64_MAX, ids), 0);
    for (size_t limit = 1; limit <= 8; limit++)
        assert_pages_agree(b, &cancelled, limit);
    book_free(b);
}

/* One failed order among many: found at once from anywhere before it, and
 * nothing after it. */
static void test_a_rare_status_is_found_past_many_others(void **state)
{
    (void)state;
    enum { N = 200000 };
    struct book *b = book_new();
    for (int i = 0; i < N; i++)
        create_as(b, "c");
    book_transition(b, 150001, ORDER_FAILED, "client", NULL, 2);
    struct book_filter failed = {.status = ORDER_FAILED, .customer = NULL};
    assert_int_equal(book_next(b, &failed, 0), 150001);
    assert_int_equal(book_next(b, &failed, 150000), 150001);
    assert_int_equal(book_next(b, &failed, 150001), 0);
    struct book_filter delivered = {.status = ORDER_DELIVERED, .customer = NULL};
    assert_int_equal(book_next(b, &delivered, 0), 0);
    book_free(b);
}

static void test_a_customer_lists_only_their_orders(void **state)
{
    (void)state;
    struct book *b = book_new();
    const char *who[] = {"alice", "bob", "alice", "carol", "bob", "alice"};
    for (size_t i = 0; i < 6; i++)
        create_as(b, who[i]);
    uint64_t ids[64];
    struct book_filter alice = {.status = -1, .customer = "alice"};
    assert_int_equal(ids_of(b, &alice, 0, ids), 3);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 3);
    assert_int_equal(ids[2], 6);
    assert_int_equal(ids_of(b, &alice, 3, ids), 1);
    assert_int_equal(ids[0], 6);
    /* Matched whole: no prefixes, no case folding, no strangers. */
    struct book_filter other = {.status = -1, .customer = "alic"};
    assert_int_equal(ids_of(b, &other, 0, ids), 0);
    other.customer = "Alice";
    assert_int_equal(ids_of(b, &other, 0, ids), 0);
    other.customer = "dave";
    assert_int_equal(ids_of(b, &other, 0, ids), 0);
    book_free(b);
}

/* A customer's name is kept once, however many orders they place. */
static void test_orders_of_a_customer_share_one_name(void **state)
{
    (void)state;
    struct book *b = book_new();
    char name[16] = "alice";
    create_as(b, name);
    create_as(b, "bob");
    create_as(b, "alice");
    const struct order *o1 = book_get(b, 1), *o3 = book_get(b, 3);
    assert_ptr_equal(o1->customer, o3->customer);
    assert_ptr_not_equal(o1->customer, name);
    strcpy(name, "zed");
    assert_string_equal(o1->customer, "alice");
    assert_string_equal(book_get(b, 2)->customer, "bob");
    book_free(b);
}

static void test_status_and_customer_together(void **state)
{
    (void)state;
    struct book *b = book_new();
    /* 1000 orders; alice has every 10th; every 7th order fails. */
    for (int i = 1; i <= 1000; i++) {
        create_as(b, i % 10 == 0 ? "alice" : "bob");
        if (i % 7 == 0)
            book_transition(b, (uint64_t)i, ORDER_FAILED, "client", NULL, 2);
    }
    uint64_t ids[64];
    struct book_filter both = {.status = ORDER_FAILED, .customer = "alice"};
    /* Multiples of 70. */
    assert_int_equal(ids_of(b, &both, 0, ids), 14);
    for (size_t i = 0; i < 14; i++)
        assert_int_equal(ids[i], 70 * (i + 1));
    assert_int_equal(ids_of(b, &both, 140, ids), 12);
    assert_int_equal(ids[0], 210);
    /* Nobody's order is shipped; nobody is zed. */
    struct book_filter none = {.status = ORDER_SHIPPED, .customer = "alice"};
    assert_int_equal(ids_of(b, &none, 0, ids), 0);
    struct book_filter stranger = {.status = ORDER_FAILED, .customer = "zed"};
    assert_int_equal(ids_of(b, &stranger, 0, ids), 0);
    for (size_t limit = 1; limit <= 5; limit++)
        assert_pages_agree(b, &both, limit);
    book_free(b);
}

/* Replays into a fresh book through book_restore, as recovery does. */
struct recorded_events {
    struct order_event *ev;
    char (*customer)[16];
    struct order_fields *fields;
    size_t n, cap;
};

static void record_event(void *ctx, const struct order_event *ev, const struct order *after,
                         int from)
{
    (void)after;
    (void)from;
    struct recorded_events *r = ctx;
    assert_true(r->n < r->cap);
    size_t i = r->n++;
    r->ev[i] = *ev;
    if (ev->type == ORDER_EV_CREATED) {
        snprintf(r->customer[i], sizeof r->customer[i], "%s", ev->fields->customer);
        r->fields[i] = fields_for(r->customer[i]);
        r->ev[i].fields = &r->fields[i];
    }
    /* A transition's source and note are the callers' literals: they last. */
}

static const char *const customers[] = {"ann", "ben", "cy", "di", "ed", "flo", "gus"};
#define NCUSTOMERS (sizeof customers / sizeof customers[0])

/* Every filter there is: any or one status, by any or one customer, or one
 * nobody is. */
static void assert_every_filter_agrees(const struct book *b, size_t limit)
{
    for (int s = -1; s < ORDER_STATUS_COUNT; s++)
        for (int c = -1; c <= (int)NCUSTOMERS; c++) {
            struct book_filter f = {.status = s, .customer = NULL};
            if (c >= 0)
                f.customer = c < (int)NCUSTOMERS ? customers[c] : "nobody";
            assert_pages_agree(b, &f, limit);
        }
    for (int s = 0; s < ORDER_STATUS_COUNT; s++) {
        size_t count = 0;
        for (uint64_t id = 1; id <= book_last_id(b); id++)
            count += (int)book_get(b, id)->status == s;
        assert_int_equal(book_count_status(b, (enum order_status)s), count);
    }
}

/* The model test: a fixed-seed mix of creations (customers skewed, so some
 * have many orders and some few) and transitions (to any status, so the
 * lifecycle refuses some), checked against the scan every 250 steps; then
 * the recorded events are restored into a new book, which must agree too. */
static void test_agrees_with_a_scan_after_random_changes(void **state)
{
    (void)state;
    enum { OPS = 4000 };
    struct recorded_events rec = {
        .ev = calloc(OPS, sizeof *rec.ev),
        .customer = calloc(OPS, sizeof *rec.customer),
        .fields = calloc(OPS, sizeof *rec.fields),
        .cap = OPS,
    };
    assert_non_null(rec.ev);
    assert_non_null(rec.customer);
    assert_non_null(rec.fields);
    struct book *b = book_new();
    assert_int_equal(book_observe(b, record_event, &rec), 0);
    srand(11);
    for (int op = 1; op <= OPS; op++) {
        uint64_t last = book_last_id(b);
        if (last == 0 || rand() % 5 < 2) {
            /* Skewed: ann gets about half of all orders. */
            size_t c = rand() % 2 ? 0 : (size_t)rand() % NCUSTOMERS;
            create_as(b, customers[c]);
        } else {
            uint64_t id = 1 + (uint64_t)rand() % last;
            book_transition(b, id, (enum order_status)(rand() % ORDER_STATUS_COUNT),
                            "client", NULL, op);
        }
        if (op % 250 == 0)
            assert_every_filter_agrees(b, 1 + (size_t)op / 250 % 13);
    }
    struct book *copy = book_new();
    for (size_t i = 0; i < rec.n; i++)
        assert_int_equal(book_restore(copy, &rec.ev[i]), BOOK_OK);
    assert_every_filter_agrees(copy, 10);
    for (int s = 0; s < ORDER_STATUS_COUNT; s++)
        assert_int_equal(book_count_status(copy, (enum order_status)s),
                         book_count_status(b, (enum order_status)s));
    book_free(b);
    book_free(copy);
    free(rec.ev);
    free(rec.customer);
    free(rec.fields);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_status_lists_its_orders_in_id_order),
        cmocka_unit_test(test_after_pages_from_any_id),
        cmocka_unit_test(test_a_rare_status_is_found_past_many_others),
        cmocka_unit_test(test_a_customer_lists_only_their_orders),
        cmocka_unit_test(test_orders_of_a_customer_share_one_name),
        cmocka_unit_test(test_status_and_customer_together),
        cmocka_unit_test(test_agrees_with_a_scan_after_random_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
