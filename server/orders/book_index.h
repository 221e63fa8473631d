/* The order book's index for LIST: which orders are in each status and which
 * belong to each customer, in id order, so that "the first order after id A
 * with status S and/or customer C" costs a few lookups however large the
 * book is and however rare the matches.
 *
 * - By status, one idset (lib/idset.h, a bitmap with summary levels) per
 *   status. Ids are dense from 1, so a bitmap is the cheapest set there is:
 *   7 bits per order for all statuses (with doubling slack at most 14, under
 *   2 bytes). An order changes status in place, old ids included, and a
 *   bitmap takes that as a bit cleared and a bit set; sorted vectors would
 *   shift, lists would need a search to insert in the middle. Finding the
 *   next member skips empty stretches through the summaries, so one FAILED
 *   order among a million is found as fast as the next PENDING one.
 * - By customer, a sorted vector of ids per customer name. A customer never
 *   changes and ids are created ascending, so ids are only ever appended;
 *   the next one after A is a binary search. 8 bytes per order (plus the
 *   vector's slack), and one map entry and vector header per customer. The
 *   map's key is the one copy of the name that the customer's orders share.
 * - Both: each side in turn jumps to the other's next id at or after its
 *   own until they meet, so a customer's few failed orders are found
 *   without walking either list whole.
 *
 * The book feeds it every creation and transition, restored ones included. */
#ifndef SERVER_BOOK_INDEX_H
#define SERVER_BOOK_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "order.h"

struct book_index;

struct book_index *book_index_new(void);
void book_index_free(struct book_index *ix);

/* A new order, in PENDING; ids must ascend from one call to the next.
 * Returns the index's copy of the customer's name, which lasts as long as
 * the index: the order keeps that, not a copy of its own. */
const char *book_index_created(struct book_index *ix, uint64_t id, const char *customer);
void book_index_moved(struct book_index *ix, uint64_t id, enum order_status from,
                      enum order_status to);

/* The least id > after with that status (-1: any) and customer (NULL: any),
 * or 0 when there is none. At least one of the two must be given. */
uint64_t book_index_next(const struct book_index *ix, int status, const char *customer,
                         uint64_t after);
size_t book_index_count(const struct book_index *ix, enum order_status s);
/* The index's copy of a customer's name, NULL when it has no order. */
const char *book_index_customer(struct book_index *ix, const char *customer);

#endif
