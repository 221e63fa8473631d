/* RESP requests. resp_frame() scans the headers of a request that starts
 * with '*' and says where it ends, checking every limit as soon as the
 * header that breaks it arrives, so no client can make us wait for (or
 * buffer) a bulk we are going to refuse anyway; and it checks the whole
 * frame's shape, so that once it says RESP_OK, resp_args() only has to
 * copy the arguments into the argv arena. (They were once parsed a second
 * time by hiredis's reader, which copied the frame into a buffer of its
 * own first: 5% of a pipelined CREATE.) */
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

/* Copies the arguments of a frame that resp_frame() accepted (RESP_OK,
 * len = *frame_len) into out. The frame is known good, so this only walks
 * it; nothing can fail. */
void resp_args(const char *frame, size_t len, struct argv_builder *out);

#endif
