/* The PostgreSQL store's batches of order changes (store/pg_batch.h), on a
 * real book whose observer notes every event as the store does: the count
 * returned is the number of NUL-terminated statements written; a new order
 * is inserted as it is now (id, customer, status, key, times), a known one
 * has its status updated; the history insert carries every move not
 * written yet, and only those; a build forgets what it wrote. Rows travel
 * as one array per column (store/pg_columns.h): the tests read the arrays
 * back, unescaped, as PostgreSQL would. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
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

/* A statement's columns, read back from its unnest('{...}'::type[], ...):
 * cell[col][row] is the value PostgreSQL would see, NULL for NULL. */
#define COLS 12
#define ROWS 16
struct table {
    size_t ncols, nrows;
    char *cell[COLS][ROWS];
    char type[COLS][16];
};

static void table_free(struct table *t)
{
    for (size_t c = 0; c < COLS; c++)
        for (size_t r = 0; r < ROWS; r++)
            free(t->cell[c][r]);
    memset(t, 0, sizeof *t);
}

/* One array literal's elements from p (just after '{), to its }'. */
static const char *read_array(const char *p, struct table *t, size_t col)
{
    size_t row = 0;
    while (*p != '}') {
        char v[512];
        size_t n = 0;
        bool quoted = *p == '"', null = false;
        if (quoted) {
            for (p++; *p != '"'; p++) {
                if (*p == '\\')
                    p++;            /* the array's escape */
                else if (*p == '\'')
                    p++;            /* the SQL string's doubled quote */
                assert_true(n + 1 < sizeof v);
                v[n++] = *p;
            }
            p++;
        } else {
            while (*p != ',' && *p != '}')
                v[n++] = *p++;
            null = n == 4 && memcmp(v, "NULL", 4) == 0;
        }
        v[n] = '\0';
        assert_true(row < ROWS);
        t->cell[col][row++] = null ? NULL : strdup(v);
        if (*p == ',')
            p++;
    }
    if (t->nrows == 0)
        t->nrows = row;
    assert_int_equal(row, t->nrows);  /* every column as long */
    assert_memory_equal(p, "}'::", 4);
    return p + 4;
}

static void read_table(const char *stmt, struct table *t)
{
    memset(t, 0, sizeof *t);
    const char *p = strstr(stmt, "unnest(");
    assert_non_null(p);
    p += strlen("unnest(");
    while (*p == '\'') {
        assert_memory_equal(p, "'{", 2);
        assert_true(t->ncols < COLS);
        p = read_array(p + 2, t, t->ncols);
        size_t n = strcspn(p, "[");
        assert_true(n < sizeof t->type[0]);
        memcpy(t->type[t->ncols], p, n);
        p += n + 2;  /* [] */
        t->ncols++;
        if (*p == ',')
            p++;
    }
    assert_int_equal(*p, ')');
}

static void assert_cell(const struct table *t, size_t col, size_t row, const char *want)
{
    assert_true(col < t->ncols && row < t->nrows);
    if (want == NULL)
        assert_null(t->cell[col][row]);
    else if (t->cell[col][row] == NULL)
        fail_msg("NULL at column %zu row %zu, want [%s]", col, row, want);
    else
        assert_string_equal(t->cell[col][row], want);
}

/* The row whose first column is id, or fails. */
static size_t row_of(const struct table *t, const char *id)
{
    for (size_t r = 0; r < t->nrows; r++)
        if (t->cell[0][r] && strcmp(t->cell[0][r], id) == 0)
            return r;
    fail_msg("no row %s", id);
    return 0;
}

static const struct order_fields obrien = {
    .customer = "o'brien", .item = "tea \\ cups \"blue\"", .qty = 2, .amount = 1999,
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

    /* The order as it is now: one row, with its fields, status, key and
     * times; quotes and backslashes come back as they were. */
    const char *o = statement(f, ORDERS);
    assert_non_null(o);
    /* Written once: a batch is sent again only when it did not commit. */
    assert_null(strstr(o, "ON CONFLICT"));
    assert_null(statement(f, MOVED));
    struct table t;
    read_table(o, &t);
    static const char *const want[] = {"1", "o'brien", "tea \\ cups \"blue\"", "2", "19.99",
                                       "1999", "USD", "RESERVED", "idem-1",
                                       "2025-12-01 00:00:00.123+00",
                                       "2025-12-01 00:00:01.000+00"};
    assert_int_equal(t.ncols, 11);
    assert_int_equal(t.nrows, 1);
    for (size_t c = 0; c < 11; c++)
        assert_cell(&t, c, 0, want[c]);
    assert_string_equal(t.type[0], "bigint");
    assert_string_equal(t.type[4], "numeric");
    assert_string_equal(t.type[9], "timestamptz");
    table_free(&t);

    const char *h = statement(f, HISTORY);
    assert_non_null(h);
    read_table(h, &t);
    assert_int_equal(t.nrows, 2);
    static const char *const row0[] = {"1", "0", NULL, "PENDING",
                                       "2025-12-01 00:00:00.123+00", "client", NULL};
    static const char *const row1[] = {"1", "1", "PENDING", "RESERVED",
                                       "2025-12-01 00:00:01.000+00", "saga", "held 2"};
    for (size_t c = 0; c < 7; c++) {
        assert_cell(&t, c, 0, row0[c]);
        assert_cell(&t, c, 1, row1[c]);
    }
    table_free(&t);

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
     * the order not inserted again but updated, as it is after the second. */
    assert_int_equal(book_transition(f->book, 1, ORDER_PAID, "saga", NULL, 3000), BOOK_OK);
    assert_int_equal(book_transition(f->book, 1, ORDER_FAILED, "saga", "it's gone", 4000),
                     BOOK_OK);
    assert_false(pg_changes_empty(f->changes));
    assert_int_equal(build(f), 2);
    assert_null(statement(f, ORDERS));
    const char *o = statement(f, MOVED);
    assert_non_null(o);
    struct table t;
    read_table(o, &t);
    assert_int_equal(t.nrows, 1);
    assert_cell(&t, 0, 0, "1");
    assert_cell(&t, 1, 0, "FAILED");
    assert_cell(&t, 2, 0, "1970-01-01 00:00:04.000+00");
    table_free(&t);
    const char *h = statement(f, HISTORY);
    assert_non_null(h);
    read_table(h, &t);
    assert_int_equal(t.nrows, 2);
    static const char *const row2[] = {"1", "2", "RESERVED", "PAID",
                                       "1970-01-01 00:00:03.000+00", "saga", NULL};
    static const char *const row3[] = {"1", "3", "PAID", "FAILED",
                                       "1970-01-01 00:00:04.000+00", "saga", "it's gone"};
    for (size_t c = 0; c < 7; c++) {
        assert_cell(&t, c, 0, row2[c]);
        assert_cell(&t, c, 1, row3[c]);
    }
    table_free(&t);
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
    struct table t;
    read_table(o, &t);
    assert_int_equal(t.nrows, 5);
    char id[8];
    for (int i = 1; i <= 5; i++) {
        snprintf(id, sizeof id, "%d", i);
        size_t r = row_of(&t, id);
        assert_cell(&t, 1, r, "o'brien");
        assert_cell(&t, 7, r, i == 3 ? "CANCELLED" : "PENDING");
        assert_cell(&t, 8, r, NULL);  /* no key: NULL, not a text */
    }
    table_free(&t);
    read_table(h, &t);
    assert_int_equal(t.nrows, 6);
    size_t cancelled = 0;
    for (size_t r = 0; r < t.nrows; r++)
        if (strcmp(t.cell[1][r], "1") == 0) {
            assert_cell(&t, 0, r, "3");
            assert_cell(&t, 3, r, "CANCELLED");
            cancelled++;
        } else {
            assert_cell(&t, 1, r, "0");
            assert_cell(&t, 3, r, "PENDING");
        }
    assert_int_equal(cancelled, 1);
    table_free(&t);

    /* One order moves: one row each. */
    assert_int_equal(book_transition(f->book, 5, ORDER_RESERVED, "saga", NULL, 3000), BOOK_OK);
    assert_int_equal(build(f), 2);
    assert_null(statement(f, ORDERS));
    read_table(statement(f, MOVED), &t);
    assert_int_equal(t.nrows, 1);
    assert_cell(&t, 0, 0, "5");
    assert_cell(&t, 1, 0, "RESERVED");
    table_free(&t);
    read_table(statement(f, HISTORY), &t);
    assert_int_equal(t.nrows, 1);
    assert_cell(&t, 0, 0, "5");
    assert_cell(&t, 1, 0, "1");
    assert_cell(&t, 2, 0, "PENDING");
    assert_cell(&t, 3, 0, "RESERVED");
    table_free(&t);
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
