/* key=value argument matching and the small validators handlers share. */
#include "kvargs.h"

#include <stdio.h>
#include <string.h>

void kv_printable(char *out, size_t outlen, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;
        if (o + need + 4 > outlen) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (need == 1) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* Whether the n bytes at s are name, in any case (names are lower case
 * ASCII), without measuring name first: a CREATE compares a dozen. ASCII
 * folding by hand, as tolower() asks the locale for every byte. */
static bool name_is(const char *name, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        if (name[i] == '\0' || c != name[i])
            return false;
    }
    return name[n] == '\0';
}

struct reply *kvargs_parse(const struct request *req, size_t from,
                           struct kvfield *fields, size_t nfields)
{
    char shown[96];
    for (size_t i = 0; i < nfields; i++)
        fields[i].val = NULL;
    for (size_t a = from; a < req->argc; a++) {
        const struct arg *arg = &req->argv[a];
        const char *eq = memchr(arg->ptr, '=', arg->len);
        if (eq == NULL || eq == arg->ptr) {
            kv_printable(shown, sizeof shown, arg->ptr, arg->len);
            return reply_error(ERR_BADARG, "expected key=value, got '%s'", shown);
        }
        size_t klen = (size_t)(eq - arg->ptr);
        struct kvfield *f = NULL;
        for (size_t i = 0; i < nfields && f == NULL; i++)
            if (name_is(fields[i].name, arg->ptr, klen))
                f = &fields[i];
        if (f == NULL) {
            kv_printable(shown, sizeof shown, arg->ptr, klen);
            return reply_error(ERR_BADARG, "unknown field '%s'", shown);
        }
        if (f->val)
            return reply_error(ERR_BADARG, "field '%s' given twice", f->name);
        /* Values are used as C strings from here on. */
        if (memchr(eq + 1, '\0', arg->len - klen - 1))
            return reply_error(ERR_BADARG, "field '%s' contains a NUL byte", f->name);
        f->val = eq + 1;
        f->len = arg->len - klen - 1;
    }
    for (size_t i = 0; i < nfields; i++)
        if (fields[i].required && fields[i].val == NULL)
            return reply_error(ERR_BADARG, "missing field '%s'", fields[i].name);
    return NULL;
}

int kv_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
