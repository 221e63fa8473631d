/* The order book's index: ids by status and by customer (see book_index.h). */
#include "book_index.h"

#include <stdlib.h>
#include <string.h>

#include "lib/idset.h"
#include "lib/sorted.h"
#include "lib/strmap.h"
#include "xalloc.h"

/* One customer's order ids, ascending; header and ids in one allocation. */
struct customer_ids {
    size_t n, cap;
    uint64_t ids[];
};

struct book_index {
    struct idset by_status[ORDER_STATUS_COUNT];
    struct strmap by_customer;  /* name -> struct customer_ids * */
};

struct book_index *book_index_new(void)
{
    struct book_index *ix = xcalloc(1, sizeof *ix);
    for (int s = 0; s < ORDER_STATUS_COUNT; s++)
        idset_init(&ix->by_status[s]);
    strmap_init(&ix->by_customer);
    return ix;
}

void book_index_free(struct book_index *ix)
{
    if (ix == NULL)
        return;
    for (int s = 0; s < ORDER_STATUS_COUNT; s++)
        idset_free(&ix->by_status[s]);
    const char *k;
    size_t klen;
    void *v;
    for (size_t i = 0; strmap_next(&ix->by_customer, &i, &k, &klen, &v);)
        free(v);
    strmap_free(&ix->by_customer);
    free(ix);
}

const char *book_index_created(struct book_index *ix, uint64_t id, const char *customer)
{
    idset_add(&ix->by_status[ORDER_PENDING], id);
    size_t len = strlen(customer);
    struct customer_ids *c = strmap_get(&ix->by_customer, customer, len);
    /* Most customers have a few orders: start with room for one, then double. */
    if (c == NULL) {
        c = xmalloc(sizeof *c + sizeof c->ids[0]);
        c->n = 0;
        c->cap = 1;
    } else if (c->n == c->cap) {
        c->cap *= 2;
        c = xrealloc(c, sizeof *c + c->cap * sizeof c->ids[0]);
    }
    c->ids[c->n++] = id;
    /* Put again even when it did not move: it is how the name is found. */
    return strmap_put(&ix->by_customer, customer, len, c);
}

const char *book_index_customer(struct book_index *ix, const char *customer)
{
    size_t len = strlen(customer);
    struct customer_ids *c = strmap_get(&ix->by_customer, customer, len);
    /* Put again, unchanged: it is how the name is found. */
    return c ? strmap_put(&ix->by_customer, customer, len, c) : NULL;
}

void book_index_moved(struct book_index *ix, uint64_t id, enum order_status from,
                      enum order_status to)
{
    idset_remove(&ix->by_status[from], id);
    idset_add(&ix->by_status[to], id);
}

/* The least of c's ids >= x, or 0. */
static uint64_t customer_next(const struct customer_ids *c, uint64_t x)
{
    size_t i = sorted_lower_bound(c->ids, c->n, x);
    return i < c->n ? c->ids[i] : 0;
}

/* The least id >= x with status s, or 0. */
static uint64_t status_next(const struct idset *s, uint64_t x)
{
    uint64_t id;
    return idset_next(s, x, &id) ? id : 0;
}

uint64_t book_index_next(const struct book_index *ix, int status, const char *customer,
                         uint64_t after)
{
    if (after == UINT64_MAX || status >= ORDER_STATUS_COUNT)
        return 0;
    uint64_t x = after + 1;
    const struct idset *s = status >= 0 ? &ix->by_status[status] : NULL;
    if (customer == NULL)
        return s ? status_next(s, x) : 0;
    const struct customer_ids *c = strmap_get(&ix->by_customer, customer, strlen(customer));
    if (c == NULL)
        return 0;
    if (s == NULL)
        return customer_next(c, x);
    /* Leapfrog: each side moves to the other's candidate until they agree. */
    for (;;) {
        if ((x = customer_next(c, x)) == 0)
            return 0;
        uint64_t y = status_next(s, x);
        if (y == x || y == 0)
            return y;
        x = y;
    }
}

size_t book_index_count(const struct book_index *ix, enum order_status s)
{
    return (unsigned)s < ORDER_STATUS_COUNT ? ix->by_status[s].count : 0;
}
