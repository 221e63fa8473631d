/* Order statuses and the lifecycle rules. */
#include "order.h"

#include <string.h>
#include <strings.h>

static const char *const status_names[ORDER_STATUS_COUNT] = {
    [ORDER_PENDING] = "PENDING",     [ORDER_RESERVED] = "RESERVED",
    [ORDER_PAID] = "PAID",           [ORDER_SHIPPED] = "SHIPPED",
    [ORDER_DELIVERED] = "DELIVERED", [ORDER_FAILED] = "FAILED",
    [ORDER_CANCELLED] = "CANCELLED",
};

const char *order_status_name(enum order_status s)
{
    return (unsigned)s < ORDER_STATUS_COUNT ? status_names[s] : "?";
}

int order_status_parse(const char *name)
{
    for (int i = 0; i < ORDER_STATUS_COUNT; i++)
        if (strcasecmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

bool order_status_terminal(enum order_status s)
{
    return s == ORDER_DELIVERED || s == ORDER_FAILED || s == ORDER_CANCELLED;
}

bool order_can_transition(enum order_status from, enum order_status to)
{
    if (order_status_terminal(from))
        return false;
    if (to == ORDER_FAILED || to == ORDER_CANCELLED)
        return true;
    /* The happy path moves one step at a time, in order. */
    return to == from + 1;
}

bool order_same_fields(const struct order *o, const struct order_fields *f)
{
    return strcmp(o->customer, f->customer) == 0 && strcmp(o->item, f->item) == 0 &&
           o->qty == f->qty && o->amount == f->amount &&
           strcmp(o->currency, f->currency) == 0;
}
