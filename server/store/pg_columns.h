/* Rows for PostgreSQL as one array per column, which the server unnests:
 *
 *   INSERT INTO t (a, b) SELECT * FROM unnest('{1,2}'::bigint[], '{"x","y"}'::text[])
 *
 * The text is about as long as a VALUES list, but the server parses and
 * plans one array per column instead of an expression per value: a batch of
 * a few hundred orders costs it about half the time. Values are escaped for
 * an array literal inside a standard SQL string (standard_conforming_strings
 * on); text that is not UTF-8, and NULs, become U+FFFD. */
#ifndef STORE_PG_COLUMNS_H
#define STORE_PG_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PG_COLUMNS_MAX 16

struct pg_columns {
    size_t ncols;
    size_t rows;
    struct buf col[PG_COLUMNS_MAX];
};

void pg_columns_init(struct pg_columns *c, size_t ncols);
void pg_columns_free(struct pg_columns *c);

/* A new row: then one value for each column, in any order. */
void pg_columns_row(struct pg_columns *c);
void pg_col_text(struct pg_columns *c, size_t i, const char *s, size_t n);  /* s NULL: NULL */
void pg_col_str(struct pg_columns *c, size_t i, const char *s);            /* s NULL: NULL */
void pg_col_int(struct pg_columns *c, size_t i, long long v);
void pg_col_uint(struct pg_columns *c, size_t i, unsigned long long v);
/* A value that needs no escaping: a number's text, true, false. */
void pg_col_raw(struct pg_columns *c, size_t i, const char *v);
void pg_col_null(struct pg_columns *c, size_t i);
/* Milliseconds since the epoch as a timestamptz; 0 is NULL when nullable. */
void pg_col_time(struct pg_columns *c, size_t i, int64_t ms, bool nullable);
void pg_col_bytes(struct pg_columns *c, size_t i, const void *p, size_t n);

/* Appends head, unnest(...) over the columns with their types (e.g.
 * "bigint"), and tail, as one NUL-terminated statement, and starts over.
 * Returns 1, or 0 (and writes nothing) when there are no rows. */
size_t pg_columns_statement(struct pg_columns *c, struct buf *out, const char *head,
                            const char *const *types, const char *tail);

/* Text for inside a SQL string (quotes doubled), or with element for an
 * element of an array inside one (quotes doubled, " and \\ escaped for the
 * array): bytes that are not UTF-8, and NULs, become U+FFFD. */
void pg_escape_text(struct buf *b, const char *s, size_t n, bool element);

/* "2026-11-30 23:31:00.123+00" for ms since the epoch. */
#define PG_TIME_TEXT 80
void pg_time_text(char out[PG_TIME_TEXT], int64_t ms);

#endif
