/* A sparse array of pointers by id (from 1): pages of SLOTS_PAGE slots,
 * made when a slot of theirs is first set and freed when their last one is
 * emptied. Ids whose things have left memory (finished orders, their
 * sagas) then cost nothing but their page's directory entry: 8 bytes per
 * SLOTS_PAGE ids, where a flat array kept 8 bytes per id for ever. */
#ifndef LIB_SLOTS_H
#define LIB_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#define SLOTS_PAGE 1024

struct slots_page;

struct slots {
    struct slots_page **pages;   /* owned; NULL where no slot is set */
    size_t npages;
    size_t set;                  /* slots not NULL */
};

void slots_init(struct slots *s);
/* Frees the pages, not what the slots point to. */
void slots_free(struct slots *s);

void *slots_get(const struct slots *s, uint64_t id);
/* Sets (p NULL: empties) the slot of id, which is at least 1. */
void slots_set(struct slots *s, uint64_t id, void *p);

/* The least id > after whose slot is set, or 0: empty pages are skipped
 * whole. for (id = 0; (id = slots_next(s, id));) */
uint64_t slots_next(const struct slots *s, uint64_t after);

#endif
