/* DLQ storage: an array of entries in id order. Ids only grow, so appends
 * keep it sorted and lookups are a binary search. */
#include "dlq.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "lib/log.h"
#include "xalloc.h"

struct dlq {
    struct dlq_entry *entries;
    size_t n, cap;
    size_t max;
    uint64_t next_id;
    uint64_t dropped;
};

struct dlq *dlq_new(size_t max_entries)
{
    struct dlq *q = xcalloc(1, sizeof *q);
    q->max = max_entries;
    q->next_id = 1;
    return q;
}

static void entry_free(struct dlq_entry *e)
{
    free(e->channel);
    free(e->group);
    free(e->payload);
    free(e->reason);
}

void dlq_free(struct dlq *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->n; i++)
        entry_free(&q->entries[i]);
    free(q->entries);
    free(q);
}

static ssize_t find(const struct dlq *q, uint64_t id)
{
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q->entries[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < q->n && q->entries[lo].id == id ? (ssize_t)lo : -1;
}

static void remove_at(struct dlq *q, size_t i)
{
    entry_free(&q->entries[i]);
    memmove(&q->entries[i], &q->entries[i + 1], (q->n - i - 1) * sizeof *q->entries);
    q->n--;
}

static struct dlq_entry *push(struct dlq *q, const struct dlq_entry *e)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->entries = xrealloc(q->entries, q->cap * sizeof *q->entries);
    }
    struct dlq_entry *d = &q->entries[q->n++];
    *d = *e;
    d->channel = xstrdup(e->channel);
    d->group = xstrdup(e->group);
    d->payload = xstrndup(e->payload, e->len);
    d->reason = xstrdup(e->reason ? e->reason : "");
    return d;
}

void dlq_restore(struct dlq *q, const struct dlq_entry *e)
{
    push(q, e);
    if (q->next_id <= e->id)
        q->next_id = e->id + 1;
}

uint64_t dlq_next_id(const struct dlq *q)
{
    return q->next_id;
}

void dlq_set_next_id(struct dlq *q, uint64_t id)
{
    if (id > q->next_id)
        q->next_id = id;
}

uint64_t dlq_add(struct dlq *q, const struct dlq_entry *e)
{
    if (q->n == q->max) {
        /* Full: drop the oldest hundredth in one move, not one entry per
         * arrival, so a flood of dead letters costs O(1) each on average. */
        size_t drop = q->max / 100 ? q->max / 100 : 1;
        for (size_t i = 0; i < drop; i++)
            entry_free(&q->entries[i]);
        memmove(q->entries, q->entries + drop, (q->n - drop) * sizeof *q->entries);
        q->n -= drop;
        q->dropped += drop;
        log_event("warn", "event=dlq_full max=%zu dropped=%llu", q->max,
                  (unsigned long long)q->dropped);
    }
    struct dlq_entry *d = push(q, e);
    d->id = q->next_id++;
    return d->id;
}

const struct dlq_entry *dlq_get(const struct dlq *q, uint64_t id)
{
    ssize_t i = find(q, id);
    return i < 0 ? NULL : &q->entries[i];
}

const struct dlq_entry *dlq_at(const struct dlq *q, size_t i)
{
    return i < q->n ? &q->entries[i] : NULL;
}

size_t dlq_count(const struct dlq *q)
{
    return q->n;
}

int dlq_remove(struct dlq *q, uint64_t id)
{
    ssize_t i = find(q, id);
    if (i < 0)
        return -1;
    remove_at(q, (size_t)i);
    return 0;
}

uint64_t dlq_dropped(const struct dlq *q)
{
    return q->dropped;
}
