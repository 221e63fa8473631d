/* The dead-letter queue: messages that a consumer group gave up on, with
 * why and how often they were tried. Entries are numbered from 1 in the
 * order they arrive; listing is oldest first. Bounded: past max entries the
 * oldest is dropped (and counted), so a broken consumer cannot exhaust
 * memory. */
#ifndef SERVER_DLQ_H
#define SERVER_DLQ_H

#include <stddef.h>
#include <stdint.h>

#define DLQ_MAX_DEFAULT 1000000

struct dlq_entry {
    uint64_t id;
    char *channel;         /* owned */
    char *group;           /* owned */
    uint64_t offset;       /* in channel */
    char *payload;         /* owned, NUL-terminated, may hold NULs */
    size_t len;
    char *reason;          /* owned: last NACK reason, "ack timeout", ... */
    uint32_t deliveries;
    uint32_t replays;      /* times it was replayed before landing here */
    int64_t msg_time_ms;   /* when it was published */
    int64_t first_ms;      /* first and last delivery */
    int64_t last_ms;
    int64_t dead_ms;       /* when it arrived here */
};

struct dlq;

struct dlq *dlq_new(size_t max_entries);
void dlq_free(struct dlq *q);

/* Copies e's strings; assigns and returns the new entry's id. */
uint64_t dlq_add(struct dlq *q, const struct dlq_entry *e);
const struct dlq_entry *dlq_get(const struct dlq *q, uint64_t id);
/* Entries in id order: i from 0 to dlq_count() - 1. */
const struct dlq_entry *dlq_at(const struct dlq *q, size_t i);
size_t dlq_count(const struct dlq *q);
/* Returns 0, or -1 when there is no such entry. */
int dlq_remove(struct dlq *q, uint64_t id);
uint64_t dlq_dropped(const struct dlq *q);

/* Recovery from a snapshot: an entry keeps its id; the next id is set
 * apart, since ids of removed entries are not reused. */
void dlq_restore(struct dlq *q, const struct dlq_entry *e);
uint64_t dlq_next_id(const struct dlq *q);
void dlq_set_next_id(struct dlq *q, uint64_t id);

#endif
