/* RESP request framing and reading (see resp.h for the split of work). */
#include "resp.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "reply.h"

/* A header is a type byte, at most 20 characters of integer, then CRLF:
 * anything longer is garbage, and waiting for its end would let a client
 * grow our buffer with digits. */
#define RESP_HEADER_MAX 24

enum header_status { HDR_OK, HDR_MORE, HDR_BAD };

/* Reads "<digits>\r\n" at s (after the type byte) into *v, strictly: an
 * optional '-', 1 to 19 digits, no overflow, CR then LF; and written one
 * way only: no leading zero ("01", "00"), no "-0". One rule for every
 * length, checked here, before hiredis sees the frame. */
static enum header_status parse_header_int(const char *s, size_t len,
                                           long long *v, size_t *used)
{
    size_t i = 0;
    bool neg = false;
    unsigned long long n = 0;
    size_t digits = 0;

    if (i < len && s[i] == '-') {
        neg = true;
        i++;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (++digits > 19)
            return HDR_BAD;
        n = n * 10 + (unsigned long long)(s[i] - '0');
    }
    if (i == len)
        return len >= RESP_HEADER_MAX ? HDR_BAD : HDR_MORE;
    if (digits == 0 || s[i] != '\r' || n > (unsigned long long)INT64_MAX)
        return HDR_BAD;
    if ((digits > 1 && s[neg] == '0') || (neg && n == 0))
        return HDR_BAD;
    if (i + 1 == len)
        return HDR_MORE;
    if (s[i + 1] != '\n')
        return HDR_BAD;
    *v = neg ? -(long long)n : (long long)n;
    *used = i + 2;
    return HDR_OK;
}

static enum resp_status proto_error(struct req_error *err, const char *what)
{
    err->code = ERR_ERR;
    snprintf(err->msg, sizeof err->msg, "Protocol error: %.100s", what);
    return RESP_ERROR;
}

enum resp_status resp_frame(const char *data, size_t len,
                            const struct proto_limits *lim, size_t *frame_len,
                            struct req_error *err)
{
    long long count;
    size_t used;
    size_t at = 1;

    switch (parse_header_int(data + at, len - at, &count, &used)) {
    case HDR_MORE: return RESP_NEED_MORE;
    case HDR_BAD: return proto_error(err, "invalid multibulk length");
    case HDR_OK: break;
    }
    if (count < 0)
        return proto_error(err, "invalid multibulk length");
    if ((unsigned long long)count > lim->max_args) {
        err->code = ERR_LIMIT;
        snprintf(err->msg, sizeof err->msg,
                 "too many arguments (max %zu)", lim->max_args);
        return RESP_ERROR;
    }
    at += used;
    if (count == 0) {
        *frame_len = at;
        return RESP_EMPTY;
    }
    for (long long i = 0; i < count; i++) {
        long long blen;
        if (at == len)
            return RESP_NEED_MORE;
        if (data[at] != '$') {
            char what[64];
            unsigned char c = (unsigned char)data[at];
            if (c >= 0x20 && c < 0x7f)
                snprintf(what, sizeof what, "expected '$', got '%c'", c);
            else
                snprintf(what, sizeof what, "expected '$', got '\\x%02x'", c);
            return proto_error(err, what);
        }
        at++;
        switch (parse_header_int(data + at, len - at, &blen, &used)) {
        case HDR_MORE: return RESP_NEED_MORE;
        case HDR_BAD: return proto_error(err, "invalid bulk length");
        case HDR_OK: break;
        }
        if (blen < 0)
            return proto_error(err, "invalid bulk length");
        if ((unsigned long long)blen > lim->max_bulk) {
            err->code = ERR_LIMIT;
            snprintf(err->msg, sizeof err->msg,
                     "bulk string exceeds %zu bytes", lim->max_bulk);
            return RESP_ERROR;
        }
        at += used;
        if (len - at < (size_t)blen + 2)
            return RESP_NEED_MORE;
        at += (size_t)blen;
        if (data[at] != '\r' || data[at + 1] != '\n')
            return proto_error(err, "bulk string not followed by CRLF");
        at += 2;
    }
    *frame_len = at;
    return RESP_OK;
}

/* The decimal digits at frame[*at], up to their CR; *at moves past the
 * CRLF. resp_frame() has checked them: no sign, no overflow. */
static size_t read_length(const char *frame, size_t *at)
{
    size_t n = 0;
    while (frame[*at] != '\r')
        n = n * 10 + (size_t)(frame[(*at)++] - '0');
    *at += 2;
    return n;
}

void resp_args(const char *frame, size_t len, struct argv_builder *out)
{
    size_t at = 1;
    size_t count = read_length(frame, &at);
    for (size_t i = 0; i < count && at < len; i++) {
        at++;  /* '$' */
        size_t n = read_length(frame, &at);
        argv_begin(out);
        argv_put(out, frame + at, n);
        argv_end(out);
        at += n + 2;
    }
}
