/* Reply values: constructors, ownership and lookup. */
#include "reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

/* malloc and clear, not calloc: glibc's calloc never takes from the
 * thread cache that free fills, so every node went through the slow path
 * both ways (a fifth of a durable CREATE's time). */
static struct reply *reply_new(enum reply_type type)
{
    struct reply *r = xmalloc(sizeof *r);
    memset(r, 0, sizeof *r);
    r->type = type;
    return r;
}

static void set_str(struct reply *r, const char *s, size_t n)
{
    if (n < sizeof r->inl) {
        memcpy(r->inl, s, n);
        r->inl[n] = '\0';
        r->str = r->inl;
    } else {
        r->str = xstrndup(s, n);
    }
    r->len = n;
}

static void set_vstrf(struct reply *r, const char *fmt, va_list ap)
{
    struct buf b;
    buf_init(&b);
    buf_vprintf(&b, fmt, ap);
    set_str(r, b.data ? b.data : "", b.len);
    buf_free(&b);
}

struct reply *reply_status(const char *text)
{
    struct reply *r = reply_new(REPLY_STATUS);
    set_str(r, text, strlen(text));
    return r;
}

struct reply *reply_error(const char *code, const char *fmt, ...)
{
    struct reply *r = reply_new(REPLY_ERROR);
    va_list ap;
    r->code = code;
    va_start(ap, fmt);
    set_vstrf(r, fmt, ap);
    va_end(ap);
    return r;
}

struct reply *reply_integer(long long v)
{
    struct reply *r = reply_new(REPLY_INTEGER);
    r->integer = v;
    return r;
}

struct reply *reply_string(const char *s, size_t n)
{
    struct reply *r = reply_new(REPLY_STRING);
    set_str(r, s, n);
    return r;
}

struct reply *reply_cstring(const char *s)
{
    return reply_string(s, strlen(s));
}

struct reply *reply_stringf(const char *fmt, ...)
{
    struct reply *r = reply_new(REPLY_STRING);
    va_list ap;
    va_start(ap, fmt);
    set_vstrf(r, fmt, ap);
    va_end(ap);
    return r;
}

struct reply *reply_nil(void)
{
    return reply_new(REPLY_NIL);
}

struct reply *reply_record(void)
{
    return reply_new(REPLY_RECORD);
}

struct reply *reply_list(void)
{
    return reply_new(REPLY_LIST);
}

struct reply *reply_push_as(const char *kind, const char *text_kind)
{
    struct reply *r = reply_new(REPLY_PUSH);
    set_str(r, kind, strlen(kind));
    r->code = text_kind;
    return r;
}

struct reply *reply_push(const char *kind)
{
    struct reply *r = reply_push_as(kind, NULL);
    r->code = r->str;
    return r;
}

static void grow(struct reply *r)
{
    if (r->n < r->cap)
        return;
    /* 16 holds a whole order record without growing again. */
    size_t old = r->cap;
    r->cap = r->cap ? r->cap * 2 : 16;
    if (r->type != REPLY_RECORD) {
        r->items = xrealloc(r->items, r->cap * sizeof *r->items);
        return;
    }
    /* A record's keys follow its items in the same allocation: moved up
     * to where the larger block puts them. */
    r->items = xrealloc(r->items, r->cap * (sizeof *r->items + sizeof *r->keys));
    const char **keys = (const char **)(r->items + r->cap);
    if (old > 0)
        memmove(keys, r->items + old, r->n * sizeof *keys);
    r->keys = keys;
}

void reply_record_add(struct reply *rec, const char *key, struct reply *val)
{
    grow(rec);
    rec->keys[rec->n] = key;
    rec->items[rec->n++] = val;
}

void reply_record_add_copy(struct reply *rec, const char *key, struct reply *val)
{
    char *copy = xstrdup(key);
    rec->owned = xrealloc(rec->owned, (rec->nowned + 1) * sizeof *rec->owned);
    rec->owned[rec->nowned++] = copy;
    reply_record_add(rec, copy, val);
}

struct reply *reply_lines(const char *s, size_t n)
{
    struct reply *r = reply_new(REPLY_LINES);
    set_str(r, s, n);
    return r;
}

void reply_record_str(struct reply *rec, const char *key, const char *val)
{
    reply_record_add(rec, key, reply_cstring(val));
}

void reply_record_int(struct reply *rec, const char *key, long long val)
{
    reply_record_add(rec, key, reply_integer(val));
}

void reply_record_strf(struct reply *rec, const char *key, const char *fmt, ...)
{
    struct reply *r = reply_new(REPLY_STRING);
    va_list ap;
    va_start(ap, fmt);
    set_vstrf(r, fmt, ap);
    va_end(ap);
    reply_record_add(rec, key, r);
}

void reply_list_add(struct reply *list, struct reply *item)
{
    grow(list);
    list->items[list->n++] = item;
}

const struct reply *reply_record_get(const struct reply *rec, const char *key)
{
    for (size_t i = 0; i < rec->n; i++)
        if (strcmp(rec->keys[i], key) == 0)
            return rec->items[i];
    return NULL;
}

void reply_free(struct reply *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        reply_free(r->items[i]);
    free(r->items);  /* and a record's keys */
    for (size_t i = 0; i < r->nowned; i++)
        free(r->owned[i]);
    free(r->owned);
    if (r->str != r->inl)
        free(r->str);
    free(r);
}
