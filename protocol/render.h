/* The three renderings of a reply: RESP2 for requests that came as RESP,
 * readable text lines for requests that came inline, and JSON for requests
 * that came over HTTP. The rules are written down in docs/protocol.md and
 * docs/http.md. */
#ifndef PROTOCOL_RENDER_H
#define PROTOCOL_RENDER_H

#include "buf.h"
#include "reply.h"
#include "request.h"

void render_resp(struct buf *out, const struct reply *r);
void render_text(struct buf *out, const struct reply *r);
/* A record is an object (in its order), a list an array, a string,
 * status or block of lines a string (valid UTF-8: a byte that is not
 * becomes U+FFFD), an integer a number, nil null; an error
 * {"code","message"}; a push {"kind","data":[...]}. */
void render_json(struct buf *out, const struct reply *r);
void render_reply(struct buf *out, const struct reply *r, enum proto_kind kind);

#endif
