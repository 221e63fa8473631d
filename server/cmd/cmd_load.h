/* Orders not in memory (cache/order_cache.h): a command that needs one
 * blocks its client while the store loads it, then runs again, whole,
 * from the start. Nobody else waits. */
#ifndef CMD_CMD_LOAD_H
#define CMD_CMD_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"

/* The order by id for a command: in memory (a hit for the cache), or NULL.
 * NULL with *blocked set when it exists, is not in memory, and is being
 * loaded: the handler returns NULL, and req runs again once it is. */
const struct order *cmd_order(struct cmd_ctx *ctx, const struct request *req, uint64_t id,
                              bool *blocked);

/* Loads the orders ids (some may be in memory) and runs req again, the
 * client blocked meanwhile. False when it cannot (no client, a store that
 * keeps every order, or this is the run again already). */
bool cmd_load(struct cmd_ctx *ctx, const struct request *req, const uint64_t *ids, size_t n);

#endif
