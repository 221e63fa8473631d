/* RESP requests. resp_frame() scans the headers of a request that starts
 * with '*' and says where it ends, checking every limit as soon as the
 * header that breaks it arrives, so no client can make us wait for (or
 * buffer) a bulk we are going to refuse anyway. The complete request is
 * then parsed by hiredis's redisReader, whose object callbacks write the
 * arguments straight into the argv arena. */
#ifndef PROTOCOL_RESP_H
#define PROTOCOL_RESP_H

#include <stddef.h>

#include "argv.h"
#include "request.h"

enum resp_status {
    RESP_OK,         /* a whole request of *frame_len bytes is there */
    RESP_NEED_MORE,
    RESP_EMPTY,      /* "*0\r\n": nothing to do, skip *frame_len bytes */
    RESP_ERROR,      /* *err says why; framing is lost */
};

enum resp_status resp_frame(const char *data, size_t len,
                            const struct proto_limits *lim, size_t *frame_len,
                            struct req_error *err);

struct resp_reader;

struct resp_reader *resp_reader_new(void);
void resp_reader_free(struct resp_reader *r);

/* Parses one complete frame, as found by resp_frame(), into out.
 * Returns 0, or -1 with *err filled. */
int resp_read(struct resp_reader *r, const char *frame, size_t len,
              struct argv_builder *out, struct req_error *err);

#endif
