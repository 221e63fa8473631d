/* A store back-end that records what the journal back-end would write,
 * without a file: each change is encoded with persist.c's encoders and
 * held in the loop turn (store/turn.c), and at each commit what the turn
 * keeps is framed onto log, as store/journal_store.c does in record() and
 * flush_turn(). So log holds the journal's records after its magic,
 * coalescing included: what a turn made moot left out, a message settled
 * in the turn that published it recorded once (PUBLISHED_SETTLED), the
 * engine's messages as recipes.
 *
 * Put it behind the world's double (world_build()'s tap). */
#ifndef TEST_CAPTURE_H
#define TEST_CAPTURE_H

#include <stdint.h>

#include "buf.h"

struct store_ops;
struct turn;

struct capture {
    struct turn *turn;    /* this loop turn's records */
    struct buf rec;       /* scratch for encoding */
    struct buf log;       /* framed records kept, in commit order */
    uint64_t records;     /* made */
    uint64_t left_out;    /* made moot within their turn */
    uint64_t commits;
};

extern const struct store_ops capture_ops;

void capture_init(struct capture *c);
void capture_free(struct capture *c);
/* Records made since the last commit (none at the end of a turn). */
size_t capture_held(const struct capture *c);

#endif
