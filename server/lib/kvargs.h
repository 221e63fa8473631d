/* key=value arguments, as every command past its positional arguments
 * takes them: keys are case-insensitive, values are taken as given. */
#ifndef SERVER_KVARGS_H
#define SERVER_KVARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reply.h"
#include "request.h"

struct kvfield {
    const char *name;   /* lower case */
    bool required;
    const char *val;    /* set when seen: points into the request */
    size_t len;
};

/* Matches argv[from..] against fields. Returns NULL, or a -BADARG reply
 * naming the first problem (not key=value, unknown key, a key twice, a
 * required key missing). */
struct reply *kvargs_parse(const struct request *req, size_t from,
                           struct kvfield *fields, size_t nfields);

/* Strict unsigned decimal in [min, max]: digits only. Returns 0 or -1. */
int kv_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Appends s to a reply message: printable ASCII as is, other bytes as
 * \xHH, at most max bytes then "...". For echoing client input in errors. */
void kv_printable(char *out, size_t outlen, const char *s, size_t n);

#endif
