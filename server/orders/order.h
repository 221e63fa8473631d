/* An order and its lifecycle:
 *   PENDING -> RESERVED -> PAID -> SHIPPED -> DELIVERED
 *   any state that is not terminal -> FAILED or CANCELLED
 * DELIVERED, FAILED and CANCELLED are terminal. */
#ifndef SERVER_ORDER_H
#define SERVER_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum order_status {
    ORDER_PENDING,
    ORDER_RESERVED,
    ORDER_PAID,
    ORDER_SHIPPED,
    ORDER_DELIVERED,
    ORDER_FAILED,
    ORDER_CANCELLED,
    ORDER_STATUS_COUNT,
};

const char *order_status_name(enum order_status s);
/* Case-insensitive; returns -1 for an unknown name. */
int order_status_parse(const char *name);
bool order_status_terminal(enum order_status s);
bool order_can_transition(enum order_status from, enum order_status to);

/* Who caused a transition: shown in HISTORY. */
#define ORDER_SOURCE_MAX 16

struct order_transition {
    int64_t time_ms;
    int from;                 /* an order_status, or -1 for creation */
    enum order_status to;
    char source[ORDER_SOURCE_MAX];
    char *note;               /* owned, may be NULL */
};

/* What a client supplies to create an order. Strings are borrowed. */
struct order_fields {
    const char *customer;
    const char *item;
    int64_t qty;
    int64_t amount;           /* minor units of currency */
    char currency[4];
    const char *key;          /* idempotency key, may be NULL */
};

struct order {
    uint64_t id;
    enum order_status status;
    const char *customer;     /* the book's one copy for all this customer's orders */
    char *item;               /* owned */
    int64_t qty;
    int64_t amount;
    char currency[4];
    char *key;                /* owned, may be NULL */
    int64_t created_ms;
    int64_t updated_ms;
    struct order_transition *history;  /* owned, oldest first */
    size_t nhistory;
    size_t caphistory;
};

/* Same customer, item, quantity, amount and currency. */
bool order_same_fields(const struct order *o, const struct order_fields *f);

#endif
