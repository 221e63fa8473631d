/* Orders that leave memory (orders/book.h): only a finished order may
 * leave; one put back from its creation and moves is the order it was,
 * field by field; its idempotency key stays known while it is away; a book
 * restored with holes lists and counts as the whole book does; reloading
 * is a no-op for an order in memory and refused for an unknown id; and a
 * book with holes frees everything (ASan). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orders/book.h"

/* --- an order as recorded: its creation and its moves ------------------- */

#define MAX_MOVES 6

struct recorded {
    char customer[32], item[32], key[32];
    struct order_fields fields;
    struct order_event created;
    struct order_event moves[MAX_MOVES];
    size_t nmoves;
};

static void record_init(struct recorded *r, uint64_t id, int64_t t, const char *customer,
                        const char *item, int64_t qty, int64_t amount, const char *currency,
                        const char *key)
{
    memset(r, 0, sizeof *r);
    snprintf(r->customer, sizeof r->customer, "%s", customer);
    snprintf(r->item, sizeof r->item, "%s", item);
    r->fields = (struct order_fields){.customer = r->customer, .item = r->item, .qty = qty,
                                      .amount = amount, .key = NULL};
    snprintf(r->fields.currency, sizeof r->fields.currency, "%s", currency);
    if (key) {
        snprintf(r->key, sizeof r->key, "%s", key);
        r->fields.key = r->key;
    }
    r->created = (struct order_event){.type = ORDER_EV_CREATED, .id = id, .time_ms = t,
                                      .fields = &r->fields};
}

static void record_move(struct recorded *r, enum order_status to, int64_t t, const char *source,
                        const char *note)
{
    assert_true(r->nmoves < MAX_MOVES);
    r->moves[r->nmoves++] = (struct order_event){.type = ORDER_EV_TRANSITION,
                                                 .id = r->created.id, .time_ms = t, .to = to,
                                                 .source = source, .note = note};
}

/* Applies it to the book, as it happened live. */
static void play(struct book *b, const struct recorded *r)
{
    assert_int_equal(book_restore(b, &r->created), BOOK_OK);
    for (size_t i = 0; i < r->nmoves; i++)
        assert_int_equal(book_restore(b, &r->moves[i]), BOOK_OK);
}

/* --- an order copied out, to compare with after it was away ------------ */

struct copy {
    struct order o;
    char customer[32], item[32], key[32];
    bool has_key;
    struct order_transition history[MAX_MOVES + 1];
    char notes[MAX_MOVES + 1][64];
    bool has_note[MAX_MOVES + 1];
};

static void copy_of(const struct order *o, struct copy *c)
{
    memset(c, 0, sizeof *c);
    assert_non_null(o);
    c->o = *o;
    snprintf(c->customer, sizeof c->customer, "%s", o->customer);
    snprintf(c->item, sizeof c->item, "%s", o->item);
    c->has_key = o->key != NULL;
    if (o->key)
        snprintf(c->key, sizeof c->key, "%s", o->key);
    assert_true(o->nhistory <= MAX_MOVES + 1);
    for (size_t i = 0; i < o->nhistory; i++) {
        c->history[i] = o->history[i];
        c->has_note[i] = o->history[i].note != NULL;
        if (o->history[i].note)
            snprintf(c->notes[i], sizeof c->notes[i], "%s", o->history[i].note);
    }
}

static void assert_same_order(const struct order *o, const struct copy *c)
{
    assert_non_null(o);
    assert_int_equal(o->id, c->o.id);
    assert_int_equal(o->status, c->o.status);
    assert_string_equal(o->customer, c->customer);
    assert_string_equal(o->item, c->item);
    assert_int_equal(o->qty, c->o.qty);
    assert_int_equal(o->amount, c->o.amount);
    assert_memory_equal(o->currency, c->o.currency, sizeof o->currency);
    if (c->has_key)
        assert_string_equal(o->key, c->key);
    else
        assert_null(o->key);
    assert_int_equal(o->created_ms, c->o.created_ms);
    assert_int_equal(o->updated_ms, c->o.updated_ms);
    assert_int_equal(o->nhistory, c->o.nhistory);
    for (size_t i = 0; i < o->nhistory; i++) {
        const struct order_transition *h = &o->history[i];
        assert_int_equal(h->time_ms, c->history[i].time_ms);
        assert_int_equal(h->from, c->history[i].from);
        assert_int_equal(h->to, c->history[i].to);
        assert_string_equal(h->source, c->history[i].source);
        if (c->has_note[i])
            assert_string_equal(h->note, c->notes[i]);
        else
            assert_null(h->note);
    }
}

/* Two books' orders are the same. */
static void assert_same_as(const struct order *o, const struct order *want)
{
    struct copy c;
    copy_of(want, &c);
    assert_same_order(o, &c);
}

static const struct order_fields plain = {
    .customer = "alice", .item = "book", .qty = 1, .amount = 1999,
    .currency = "USD", .key = NULL,
};

/* --- tests --------------------------------------------------------------- */

static void test_only_a_finished_order_may_leave(void **state)
{
    (void)state;
    struct book *b = book_new();
    for (int i = 0; i < 4; i++)
        assert_non_null(book_create(b, &plain, 1000));
    assert_int_equal(book_transition(b, 2, ORDER_RESERVED, "saga", NULL, 1001), BOOK_OK);
    assert_int_equal(book_transition(b, 3, ORDER_RESERVED, "saga", NULL, 1001), BOOK_OK);
    assert_int_equal(book_transition(b, 3, ORDER_PAID, "saga", NULL, 1002), BOOK_OK);
    assert_int_equal(book_transition(b, 4, ORDER_RESERVED, "saga", NULL, 1001), BOOK_OK);
    assert_int_equal(book_transition(b, 4, ORDER_PAID, "saga", NULL, 1002), BOOK_OK);
    assert_int_equal(book_transition(b, 4, ORDER_SHIPPED, "saga", NULL, 1003), BOOK_OK);
    const struct order *before[5];
    for (uint64_t id = 1; id <= 4; id++) {
        before[id] = book_get(b, id);
        assert_false(book_evict(b, id));
        assert_ptr_equal(book_get(b, id), before[id]);
    }
    assert_int_equal(book_in_memory(b), 4);
    /* Nothing there to let go of. */
    assert_false(book_evict(b, 0));
    assert_false(book_evict(b, 5));

    /* Once finished, it may; and only once. */
    assert_int_equal(book_transition(b, 1, ORDER_CANCELLED, "client", NULL, 1004), BOOK_OK);
    assert_true(book_evict(b, 1));
    assert_null(book_get(b, 1));
    assert_int_equal(book_in_memory(b), 3);
    assert_false(book_evict(b, 1));
    assert_int_equal(book_in_memory(b), 3);
    assert_int_equal(book_last_id(b), 4);
    /* The others are as they were. */
    for (uint64_t id = 2; id <= 4; id++)
        assert_ptr_equal(book_get(b, id), before[id]);
    book_free(b);
}

static void test_reloaded_is_the_order_it_was(void **state)
{
    (void)state;
    struct recorded r[4];
    /* Delivered the long way, with a key and notes on some moves. */
    record_init(&r[0], 1, 1000, "alice", "widget", 3, 4500, "EUR", "idem-1");
    record_move(&r[0], ORDER_RESERVED, 1100, "saga", NULL);
    record_move(&r[0], ORDER_PAID, 1200, "saga", "charged 45.00");
    record_move(&r[0], ORDER_SHIPPED, 1300, "sim", "parcel TRK-42");
    record_move(&r[0], ORDER_DELIVERED, 1400, "client", "left at the door");
    /* Another of alice's, still in memory: the name's one copy. */
    record_init(&r[1], 2, 2000, "alice", "gadget", 1, 100, "USD", NULL);
    /* Failed after payment, without a key; zero-decimal currency. */
    record_init(&r[2], 3, 3000, "bob", "thing with 'quotes'", 7, 700, "JPY", NULL);
    record_move(&r[2], ORDER_RESERVED, 3001, "saga", NULL);
    record_move(&r[2], ORDER_PAID, 3002, "saga", NULL);
    record_move(&r[2], ORDER_FAILED, 3003, "saga", "carrier refused");
    /* Cancelled straight away, a note but no move in between. */
    record_init(&r[3], 4, 4000, "carol", "gizmo", 2, 0, "GBP", "k-4");
    record_move(&r[3], ORDER_CANCELLED, 4500, "client", NULL);

    struct book *b = book_new();
    for (int i = 0; i < 4; i++)
        play(b, &r[i]);
    struct copy was[4];
    for (int i = 0; i < 4; i++)
        copy_of(book_get(b, (uint64_t)i + 1), &was[i]);

    assert_true(book_evict(b, 1));
    assert_true(book_evict(b, 3));
    assert_true(book_evict(b, 4));
    assert_int_equal(book_in_memory(b), 1);
    assert_null(book_get(b, 1));
    assert_null(book_get(b, 3));
    assert_null(book_get(b, 4));

    /* Read back in another order, from fresh copies of the strings. */
    const int back[3] = {3, 0, 2};
    for (int k = 0; k < 3; k++) {
        int i = back[k];
        struct recorded again;
        memcpy(&again, &r[i], sizeof again);
        again.fields.customer = again.customer;
        again.fields.item = again.item;
        again.fields.key = r[i].fields.key ? again.key : NULL;
        again.created.fields = &again.fields;
        assert_int_equal(book_reload(b, &again.created, again.moves, again.nmoves), BOOK_OK);
        memset(&again, 0, sizeof again);  /* the book kept no pointer into it */
        assert_same_order(book_get(b, (uint64_t)i + 1), &was[i]);
    }
    assert_int_equal(book_in_memory(b), 4);
    for (int i = 0; i < 4; i++)
        assert_same_order(book_get(b, (uint64_t)i + 1), &was[i]);
    /* The book's one copy of a name, as before. */
    assert_ptr_equal(book_get(b, 1)->customer, book_get(b, 2)->customer);
    /* Counts and the index did not count them twice. */
    assert_int_equal(book_count_status(b, ORDER_DELIVERED), 1);
    assert_int_equal(book_count_status(b, ORDER_FAILED), 1);
    assert_int_equal(book_count_status(b, ORDER_CANCELLED), 1);
    assert_int_equal(book_count_status(b, ORDER_PENDING), 1);
    struct book_filter alices = {.status = -1, .customer = "alice"};
    assert_int_equal(book_next(b, &alices, 0), 1);
    assert_int_equal(book_next(b, &alices, 1), 2);
    assert_int_equal(book_next(b, &alices, 2), 0);
    /* A reloaded order is an order like any other: it may leave again. */
    assert_true(book_evict(b, 1));
    assert_null(book_get(b, 1));
    book_free(b);
}

static void test_a_key_stays_known_while_its_order_is_away(void **state)
{
    (void)state;
    struct recorded r[2];
    record_init(&r[0], 1, 10, "alice", "book", 1, 1999, "USD", "idem-7");
    record_move(&r[0], ORDER_CANCELLED, 20, "client", NULL);
    record_init(&r[1], 2, 30, "alice", "book", 1, 1999, "USD", "idem-8");
    record_move(&r[1], ORDER_FAILED, 40, "saga", "no stock");
    struct book *b = book_new();
    play(b, &r[0]);
    play(b, &r[1]);

    assert_ptr_equal(book_by_key(b, "idem-7"), book_get(b, 1));
    assert_int_equal(book_key_id(b, "idem-7"), 1);
    assert_true(book_evict(b, 1));
    assert_null(book_by_key(b, "idem-7"));
    assert_int_equal(book_key_id(b, "idem-7"), 1);
    /* The other key, and an unknown one, are as they were. */
    assert_ptr_equal(book_by_key(b, "idem-8"), book_get(b, 2));
    assert_int_equal(book_key_id(b, "idem-8"), 2);
    assert_null(book_by_key(b, "idem-9"));
    assert_int_equal(book_key_id(b, "idem-9"), 0);

    assert_true(book_evict(b, 2));
    assert_int_equal(book_key_id(b, "idem-8"), 2);
    assert_null(book_by_key(b, "idem-8"));

    assert_int_equal(book_reload(b, &r[0].created, r[0].moves, r[0].nmoves), BOOK_OK);
    assert_non_null(book_get(b, 1));
    assert_ptr_equal(book_by_key(b, "idem-7"), book_get(b, 1));
    assert_int_equal(book_key_id(b, "idem-7"), 1);
    assert_null(book_by_key(b, "idem-8"));  /* 2 is still away */
    assert_int_equal(book_key_id(b, "idem-8"), 2);
    book_free(b);
}

/* 60 orders of four customers, in every status, some with keys. */
#define NBIG 60
static const char *const customers[] = {"ann", "bob", "cy", "dee"};

static void make_orders(struct recorded *r)
{
    static char keys[NBIG + 1][16];
    uint32_t x = 12345;
    for (uint64_t id = 1; id <= NBIG; id++) {
        x = x * 1103515245u + 12345u;
        const char *cust = customers[(x >> 16) % 4];
        snprintf(keys[id], sizeof keys[id], "key-%llu", (unsigned long long)id);
        record_init(&r[id], id, (int64_t)id * 100, cust, "item", (int64_t)id, 100 * (int64_t)id,
                    "USD", id % 3 == 0 ? keys[id] : NULL);
        x = x * 1103515245u + 12345u;
        int64_t t = (int64_t)id * 100;
        switch ((x >> 16) % 7) {
        case 6:  /* cancelled */
            record_move(&r[id], ORDER_CANCELLED, t + 1, "client", "no longer wanted");
            break;
        case 5:  /* failed */
            record_move(&r[id], ORDER_RESERVED, t + 1, "saga", NULL);
            record_move(&r[id], ORDER_FAILED, t + 2, "saga", "declined");
            break;
        case 4:  /* delivered */
        case 3:  /* shipped */
        case 2:  /* paid */
        case 1:  /* reserved */
            for (unsigned s = 1; s <= (x >> 16) % 7; s++)
                record_move(&r[id], (enum order_status)s, t + s, "saga", NULL);
            break;
        default:  /* pending */
            break;
        }
    }
}

static enum order_status status_of(const struct recorded *r)
{
    return r->nmoves ? r->moves[r->nmoves - 1].to : ORDER_PENDING;
}

static void assert_lists_agree(const struct book *a, const struct book *b)
{
    const char *who[] = {NULL, "ann", "bob", "cy", "dee", "nobody"};
    for (int s = -1; s < ORDER_STATUS_COUNT; s++) {
        for (size_t w = 0; w < sizeof who / sizeof who[0]; w++) {
            struct book_filter f = {.status = s, .customer = who[w]};
            /* From the start, and from every id. */
            for (uint64_t after = 0; after <= NBIG + 1; after++)
                assert_int_equal(book_next(b, &f, after), book_next(a, &f, after));
            size_t n = 0;
            for (uint64_t id = book_next(b, &f, 0); id; id = book_next(b, &f, id))
                n++;
            if (s < 0 && w == 0)
                assert_int_equal(n, book_last_id(a));
        }
    }
    for (int s = 0; s < ORDER_STATUS_COUNT; s++)
        assert_int_equal(book_count_status(b, (enum order_status)s),
                         book_count_status(a, (enum order_status)s));
    assert_int_equal(book_last_id(b), book_last_id(a));
}

static void test_a_book_restored_with_holes_lists_and_counts_the_same(void **state)
{
    (void)state;
    static struct recorded r[NBIG + 1];
    make_orders(r);
    struct book *whole = book_new();
    struct book *holes = book_new();
    size_t absent = 0, finished = 0;
    bool is_absent[NBIG + 1] = {false};
    for (uint64_t id = 1; id <= NBIG; id++) {
        play(whole, &r[id]);
        enum order_status s = status_of(&r[id]);
        /* Finished ones are not loaded, but every fourth. */
        if (order_status_terminal(s) && id % 4 != 0) {
            assert_int_equal(book_restore_absent(holes, id, r[id].customer, s, r[id].fields.key),
                             BOOK_OK);
            is_absent[id] = true;
            absent++;
        } else {
            play(holes, &r[id]);
        }
        finished += order_status_terminal(s);
    }
    /* The mix is a real one. */
    assert_true(absent >= 10);
    assert_true(finished > absent);
    assert_true(NBIG - finished >= 10);
    for (int s = 0; s < ORDER_STATUS_COUNT; s++)
        assert_true(book_count_status(whole, (enum order_status)s) > 0);

    assert_int_equal(book_in_memory(whole), NBIG);
    assert_int_equal(book_in_memory(holes), NBIG - absent);
    for (uint64_t id = 1; id <= NBIG; id++) {
        assert_true(book_exists(holes, id));
        if (is_absent[id])
            assert_null(book_get(holes, id));
        else
            assert_same_as(book_get(holes, id), book_get(whole, id));
        if (r[id].fields.key) {
            assert_int_equal(book_key_id(holes, r[id].fields.key), id);
            if (is_absent[id])
                assert_null(book_by_key(holes, r[id].fields.key));
            else
                assert_ptr_equal(book_by_key(holes, r[id].fields.key), book_get(holes, id));
        }
    }
    assert_false(book_exists(holes, NBIG + 1));
    assert_lists_agree(whole, holes);

    /* Out of sequence is refused. */
    assert_int_equal(book_restore_absent(holes, NBIG + 2, "ann", ORDER_DELIVERED, NULL),
                     BOOK_BADID);
    assert_int_equal(book_restore_absent(holes, NBIG, "ann", ORDER_DELIVERED, NULL), BOOK_BADID);
    assert_int_equal(book_last_id(holes), NBIG);

    /* New orders go on after the holes. */
    assert_int_equal(book_create(holes, &plain, 99999)->id, NBIG + 1);
    assert_int_equal(book_create(whole, &plain, 99999)->id, NBIG + 1);

    /* Every hole read back is the order the whole book has; the lists
     * and counts do not change. */
    for (uint64_t id = 1; id <= NBIG; id++) {
        if (!is_absent[id])
            continue;
        assert_int_equal(book_reload(holes, &r[id].created, r[id].moves, r[id].nmoves),
                         BOOK_OK);
        assert_same_as(book_get(holes, id), book_get(whole, id));
        if (r[id].fields.key)
            assert_ptr_equal(book_by_key(holes, r[id].fields.key), book_get(holes, id));
    }
    assert_int_equal(book_in_memory(holes), NBIG + 1);
    assert_lists_agree(whole, holes);
    book_free(whole);
    book_free(holes);
}

static void test_reload_of_an_order_in_memory_changes_nothing(void **state)
{
    (void)state;
    struct recorded r;
    record_init(&r, 1, 10, "alice", "book", 1, 1999, "USD", "k");
    record_move(&r, ORDER_CANCELLED, 20, "client", "oops");
    struct book *b = book_new();
    play(b, &r);
    const struct order *o = book_get(b, 1);
    struct copy was;
    copy_of(o, &was);

    /* Something else recorded under the same id, "loaded meanwhile". */
    struct recorded other;
    record_init(&other, 1, 99, "alice", "other", 5, 5, "EUR", "k2");
    record_move(&other, ORDER_RESERVED, 100, "saga", NULL);
    assert_int_equal(book_reload(b, &other.created, other.moves, other.nmoves), BOOK_OK);
    assert_ptr_equal(book_get(b, 1), o);
    assert_same_order(book_get(b, 1), &was);
    assert_int_equal(book_in_memory(b), 1);
    assert_int_equal(book_key_id(b, "k2"), 0);
    assert_ptr_equal(book_by_key(b, "k"), o);
    assert_int_equal(book_count_status(b, ORDER_CANCELLED), 1);
    assert_int_equal(book_count_status(b, ORDER_RESERVED), 0);

    /* And after a reload, a second one changes nothing either. */
    assert_true(book_evict(b, 1));
    assert_int_equal(book_reload(b, &r.created, r.moves, r.nmoves), BOOK_OK);
    const struct order *again = book_get(b, 1);
    assert_int_equal(book_reload(b, &other.created, other.moves, other.nmoves), BOOK_OK);
    assert_ptr_equal(book_get(b, 1), again);
    assert_same_order(again, &was);
    assert_int_equal(book_in_memory(b), 1);
    book_free(b);
}

static void test_reload_of_an_unknown_id_is_not_found(void **state)
{
    (void)state;
    struct recorded r;
    struct book *b = book_new();
    record_init(&r, 1, 10, "alice", "book", 1, 1999, "USD", NULL);
    assert_int_equal(book_reload(b, &r.created, NULL, 0), BOOK_NOTFOUND);
    assert_null(book_get(b, 1));
    assert_int_equal(book_last_id(b), 0);
    assert_int_equal(book_in_memory(b), 0);

    play(b, &r);
    record_init(&r, 2, 10, "alice", "book", 1, 1999, "USD", NULL);
    assert_int_equal(book_reload(b, &r.created, NULL, 0), BOOK_NOTFOUND);
    record_init(&r, 0, 10, "alice", "book", 1, 1999, "USD", NULL);
    assert_int_equal(book_reload(b, &r.created, NULL, 0), BOOK_NOTFOUND);
    assert_int_equal(book_last_id(b), 1);
    assert_int_equal(book_in_memory(b), 1);
    assert_null(book_get(b, 2));
    book_free(b);
}

/* Run under ASan: LeakSanitizer fails the program if anything an evicted,
 * absent or reloaded order held is not freed with the book. */
static void test_a_book_with_holes_frees_everything(void **state)
{
    (void)state;
    struct book *b = book_new();
    char key[32], note[32];
    for (int i = 1; i <= 3000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        struct order_fields f = plain;
        f.key = i % 2 ? key : NULL;
        const struct order *o = book_create(b, &f, i);
        assert_non_null(o);
        snprintf(note, sizeof note, "note %d", i);
        assert_int_equal(book_transition(b, o->id, ORDER_RESERVED, "saga", NULL, i), BOOK_OK);
        if (i % 5)
            assert_int_equal(book_transition(b, o->id, ORDER_FAILED, "saga", note, i), BOOK_OK);
    }
    size_t gone = 0;
    for (uint64_t id = 1; id <= 3000; id++)
        gone += book_evict(b, id);
    assert_int_equal(gone, 2400);
    assert_int_equal(book_in_memory(b), 600);
    /* Some come back, with notes and keys; some of those leave again. */
    for (uint64_t id = 1; id <= 3000; id += 7) {
        if (book_get(b, id) != NULL)
            continue;
        snprintf(key, sizeof key, "key-%llu", (unsigned long long)id);
        snprintf(note, sizeof note, "note %llu", (unsigned long long)id);
        struct order_fields f = plain;
        f.key = id % 2 ? key : NULL;
        struct order_event created = {.type = ORDER_EV_CREATED, .id = id,
                                      .time_ms = (int64_t)id, .fields = &f};
        struct order_event moves[2] = {
            {.type = ORDER_EV_TRANSITION, .id = id, .time_ms = (int64_t)id,
             .to = ORDER_RESERVED, .source = "saga"},
            {.type = ORDER_EV_TRANSITION, .id = id, .time_ms = (int64_t)id, .to = ORDER_FAILED,
             .source = "saga", .note = note},
        };
        assert_int_equal(book_reload(b, &created, moves, 2), BOOK_OK);
        assert_string_equal(book_get(b, id)->history[2].note, note);
        if (id % 3 == 0)
            assert_true(book_evict(b, id));
    }
    /* And some never were in memory. */
    assert_int_equal(book_restore_absent(b, 3001, "zed", ORDER_DELIVERED, "key-zed"), BOOK_OK);
    assert_int_equal(book_restore_absent(b, 3002, "alice", ORDER_CANCELLED, NULL), BOOK_OK);
    assert_int_equal(book_key_id(b, "key-zed"), 3001);
    book_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_a_finished_order_may_leave),
        cmocka_unit_test(test_reloaded_is_the_order_it_was),
        cmocka_unit_test(test_a_key_stays_known_while_its_order_is_away),
        cmocka_unit_test(test_a_book_restored_with_holes_lists_and_counts_the_same),
        cmocka_unit_test(test_reload_of_an_order_in_memory_changes_nothing),
        cmocka_unit_test(test_reload_of_an_unknown_id_is_not_found),
        cmocka_unit_test(test_a_book_with_holes_frees_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
