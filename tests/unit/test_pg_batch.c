/* The PostgreSQL store's batches of order changes (store/pg_batch.h), on a
 * real book whose observer notes every event as the store does: the count
 * returned is the number of NUL-terminated statements written; the orders
 * upsert carries the order as it is now (id, customer literal, status);
 * the history insert carries every move not written yet, and only those;
 * a build forgets what it wrote. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "orders/book.h"
#include "store/persist.h"
#include "store/pg_batch.h"

struct fixture {
    struct book *book;
    struct persist_target target;
    struct pg_changes *changes;
    struct buf out;
    /* The statements of the last build. */
    const char *stmt[16];
    size_t nstmt;
};

static void note(void *ctx, const struct order_event *ev, const struct order *after, int from)
{
    (void)after;
    (void)from;
    pg_changes_order(ctx, ev);
}

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    f.book = book_new();
    f.target = (struct persist_target){.book = f.book};
    f.changes = pg_changes_new(&f.target);
    book_observe(f.book, note, f.changes);
    buf_init(&f.out);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pg_changes_free(f->changes);
    book_free(f->book);
    buf_free(&f->out);
    return 0;
}

/* Builds into a fresh buffer; the statements are split at their NULs.
 * Returns what pg_changes_build returned, having checked it is that many
 * statements, each ending in a NUL, none empty. */
static size_t build(struct fixture *f)
{
    buf_clear(&f->out);
    size_t n = pg_changes_build(f->changes, &f->out);
    const char *p = buf_head(&f->out), *end = p + buf_used(&f->out);
    f->nstmt = 0;
    while (p < end) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        assert_non_null(nul);  /* the last one is terminated too */
        assert_true(nul > p);  /* not empty */
        assert_true(f->nstmt < 16);
        f->stmt[f->nstmt++] = p;
        p = nul + 1;
    }
    assert_int_equal(f->nstmt, n);
    return n;
}

/* The statement that starts with prefix, or NULL. */
static const char *statement(const struct fixture *f, const char *prefix)
{
    const char *found = NULL;
    for (size_t i = 0; i < f->nstmt; i++)
        if (strncmp(f->stmt[i], prefix, strlen(prefix)) == 0) {
            assert_null(found);  /* one of each */
            found = f->stmt[i];
        }
    return found;
}

static size_t occurrences(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static void assert_contains(const char *s, const char *what)
{
    if (strstr(s, what) == NULL)
        fail_msg("[%s] not in [%s]", what, s);
}

static void assert_lacks(const char *s, const char *what)
{
    if (strstr(s, what) != NULL)
        fail_msg("[%s] in [%s]", what, s);
}

static const struct order_fields obrien = {
    .customer = "o'brien", .item = "tea \\ cups", .qty = 2, .amount = 1999,
    .currency = "USD", .key = "idem-1",
};

#define ORDERS "INSERT INTO orders "
#define MOVED "UPDATE orders "
#define HISTORY "INSERT INTO order_history "

static void test_nothing_noted_builds_nothing(void **state)
{
    struct fixture *f = *state;
    assert_true(pg_changes_empty(f->changes));
    assert_int_equal(build(f), 0);
    assert_int_equal(buf_used(&f->out), 0);
    assert_true(pg_changes_empty(f->changes));
}

static void test_a_created_and_moved_order_is_written_whole(void **state)
{
    struct fixture *f = *state;
    assert_non_null(book_create(f->book, &obrien, 1764547200123));
    assert_false(pg_changes_empty(f->changes));
    assert_int_equal(book_transition(f->book, 1, ORDER_RESERVED, "saga", "held 2", 1764547201000),
                     BOOK_OK);
    assert_int_equal(build(f), 2);
    assert_true(pg_changes_empty(f->changes));

    const char *o = statement(f, ORDERS);
    assert_non_null(o);
    /* The order as it is now: one row, with its id, customer and item as
     * literals, its status, key and times. */
    assert_contains(o, "VALUES (1,'o''brien','tea \\ cups',2,19.99,1999,'USD','RESERVED',"
                       "'idem-1','2025-12-01 00:00:00.123+00','2025-12-01 00:00:01.000+00')");
    assert_lacks(o, "'PENDING'");
    assert_int_equal(occurrences(o, "),("), 0);
    /* Written once: a batch is sent again only when it did not commit. */
    assert_lacks(o, "ON CONFLICT");
    assert_null(statement(f, MOVED));

    const char *h = statement(f, HISTORY);
    assert_non_null(h);
    assert_contains(h, "(1,0,NULL,'PENDING','2025-12-01 00:00:00.123+00','client',NULL)");
    assert_contains(h, "(1,1,'PENDING','RESERVED','2025-12-01 00:00:01.000+00','saga','held 2')");
    assert_int_equal(occurrences(h, "),("), 1);

    /* Built: nothing is left to write. */
    assert_int_equal(build(f), 0);
    assert_int_equal(buf_used(&f->out), 0);
    assert_true(pg_changes_empty(f->changes));
}

static void test_a_later_move_writes_only_the_new_history(void **state)
{
    struct fixture *f = *state;
    assert_non_null(book_create(f->book, &obrien, 1000));
    assert_int_equal(book_transition(f->book, 1, ORDER_RESERVED, "saga", NULL, 2000), BOOK_OK);
    assert_int_equal(build(f), 2);

    /* Two moves between builds: both written, the earlier rows not again,
     * the order once, as it is after the second. */
    assert_int_equal(book_transition(f->book, 1, ORDER_PAID, "saga", NULL, 3000), BOOK_OK);
    assert_int_equal(book_transition(f->book, 1, ORDER_FAILED, "saga", "it's gone", 4000),
                     BOOK_OK);
    assert_false(pg_changes_empty(f->changes));
    assert_int_equal(build(f), 2);
    /* Not inserted again: its status and time updated, as after the second. */
    assert_null(statement(f, ORDERS));
    const char *o = statement(f, MOVED);
    assert_non_null(o);
    assert_contains(o, "(1::bigint,'FAILED','1970-01-01 00:00:04.000+00'::timestamptz)");
    assert_lacks(o, "'PAID'");
    assert_int_equal(occurrences(o, "),("), 0);
    const char *h = statement(f, HISTORY);
    assert_non_null(h);
    assert_lacks(h, "(1,0,");
    assert_lacks(h, "(1,1,");
    assert_contains(h, "(1,2,'RESERVED','PAID','1970-01-01 00:00:03.000+00','saga',NULL)");
    assert_contains(h, "(1,3,'PAID','FAILED','1970-01-01 00:00:04.000+00','saga','it''s gone')");
    assert_int_equal(occurrences(h, "),("), 1);
    assert_int_equal(build(f), 0);
    assert_true(pg_changes_empty(f->changes));
}

static void test_many_orders_share_two_statements(void **state)
{
    struct fixture *f = *state;
    struct order_fields plain = obrien;
    plain.key = NULL;
    for (int i = 0; i < 5; i++)
        assert_non_null(book_create(f->book, &plain, 1000 + i));
    assert_int_equal(book_transition(f->book, 3, ORDER_CANCELLED, "client", NULL, 2000),
                     BOOK_OK);
    assert_int_equal(build(f), 2);
    const char *o = statement(f, ORDERS);
    const char *h = statement(f, HISTORY);
    assert_non_null(o);
    assert_non_null(h);
    assert_int_equal(occurrences(o, "),("), 4);   /* five rows */
    assert_int_equal(occurrences(h, "),("), 5);   /* six rows */
    char row[64];
    for (int id = 1; id <= 5; id++) {
        snprintf(row, sizeof row, "(%d,'o''brien',", id);
        assert_int_equal(occurrences(o, row), 1);
        snprintf(row, sizeof row, "(%d,0,NULL,'PENDING',", id);
        assert_int_equal(occurrences(h, row), 1);
    }
    assert_contains(h, "(3,1,'PENDING','CANCELLED',");
    assert_int_equal(occurrences(o, "'CANCELLED'"), 1);
    assert_int_equal(occurrences(o, "'PENDING'"), 4);
    /* No key: NULL, not a literal. */
    assert_lacks(o, "'idem-1'");

    /* One order moves: one row each. */
    assert_int_equal(book_transition(f->book, 5, ORDER_RESERVED, "saga", NULL, 3000), BOOK_OK);
    assert_int_equal(build(f), 2);
    assert_null(statement(f, ORDERS));
    o = statement(f, MOVED);
    h = statement(f, HISTORY);
    assert_contains(o, "VALUES (5::bigint,'RESERVED',");
    assert_int_equal(occurrences(o, "),("), 0);
    assert_contains(h, "VALUES (5,1,'PENDING','RESERVED',");
    assert_int_equal(occurrences(h, "),("), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nothing_noted_builds_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_created_and_moved_order_is_written_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_later_move_writes_only_the_new_history, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many_orders_share_two_statements, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
