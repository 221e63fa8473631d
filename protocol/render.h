/* The two renderings of a reply: RESP2 for requests that came as RESP, and
 * readable text lines for requests that came inline. The rules are written
 * down in docs/protocol.md. */
#ifndef PROTOCOL_RENDER_H
#define PROTOCOL_RENDER_H

#include "buf.h"
#include "reply.h"
#include "request.h"

void render_resp(struct buf *out, const struct reply *r);
void render_text(struct buf *out, const struct reply *r);
void render_reply(struct buf *out, const struct reply *r, enum proto_kind kind);

#endif
