/* Rows as arrays per column (see pg_columns.h). */
#include "pg_columns.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "utf8.h"

void pg_columns_init(struct pg_columns *c, size_t ncols)
{
    c->ncols = ncols < PG_COLUMNS_MAX ? ncols : PG_COLUMNS_MAX;
    c->rows = 0;
    for (size_t i = 0; i < c->ncols; i++)
        buf_init(&c->col[i]);
}

void pg_columns_free(struct pg_columns *c)
{
    for (size_t i = 0; i < c->ncols; i++)
        buf_free(&c->col[i]);
    c->rows = 0;
}

void pg_columns_row(struct pg_columns *c)
{
    if (c->rows++ > 0)
        for (size_t i = 0; i < c->ncols; i++)
            buf_appendc(&c->col[i], ',');
}

void pg_escape_text(struct buf *b, const char *s, size_t n, bool element)
{
    for (size_t k = 0; k < n;) {
        size_t len = s[k] ? utf8_seq_len((const unsigned char *)s + k, n - k) : 0;
        if (len == 0) {
            buf_appends(b, "\xEF\xBF\xBD");
            k++;
            continue;
        }
        if (element && len == 1 && (s[k] == '"' || s[k] == '\\'))
            buf_appendc(b, '\\');
        else if (len == 1 && s[k] == '\'')
            buf_appendc(b, '\'');
        buf_append(b, s + k, len);
        k += len;
    }
}

void pg_col_text(struct pg_columns *c, size_t i, const char *s, size_t n)
{
    struct buf *b = &c->col[i];
    if (s == NULL) {
        buf_appends(b, "NULL");
        return;
    }
    buf_appendc(b, '"');
    pg_escape_text(b, s, n, true);
    buf_appendc(b, '"');
}

void pg_col_str(struct pg_columns *c, size_t i, const char *s)
{
    pg_col_text(c, i, s, s ? strlen(s) : 0);
}

void pg_col_int(struct pg_columns *c, size_t i, long long v)
{
    buf_printf(&c->col[i], "%lld", v);
}

void pg_col_uint(struct pg_columns *c, size_t i, unsigned long long v)
{
    buf_printf(&c->col[i], "%llu", v);
}

void pg_col_raw(struct pg_columns *c, size_t i, const char *v)
{
    buf_appends(&c->col[i], v);
}

void pg_col_null(struct pg_columns *c, size_t i)
{
    buf_appends(&c->col[i], "NULL");
}

void pg_time_text(char out[PG_TIME_TEXT], int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, PG_TIME_TEXT, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

void pg_col_time(struct pg_columns *c, size_t i, int64_t ms, bool nullable)
{
    if (ms == 0 && nullable) {
        pg_col_null(c, i);
        return;
    }
    char t[PG_TIME_TEXT];
    pg_time_text(t, ms);
    buf_printf(&c->col[i], "\"%s\"", t);
}

void pg_col_bytes(struct pg_columns *c, size_t i, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = p;
    struct buf *b = &c->col[i];
    buf_appends(b, "\"\\\\x");
    for (size_t k = 0; k < n; k++) {
        buf_appendc(b, hex[u[k] >> 4]);
        buf_appendc(b, hex[u[k] & 15]);
    }
    buf_appendc(b, '"');
}

size_t pg_columns_statement(struct pg_columns *c, struct buf *out, const char *head,
                            const char *const *types, const char *tail)
{
    if (c->rows == 0)
        return 0;
    buf_appends(out, head);
    buf_appends(out, "unnest(");
    for (size_t i = 0; i < c->ncols; i++) {
        buf_appends(out, i ? ",'{" : "'{");
        buf_append(out, buf_head(&c->col[i]), buf_used(&c->col[i]));
        buf_printf(out, "}'::%s[]", types[i]);
        buf_clear(&c->col[i]);
    }
    buf_appendc(out, ')');
    buf_appends(out, tail);
    buf_appendc(out, '\0');
    c->rows = 0;
    return 1;
}
