/* An intrusive, indexed binary min-heap of deadlines. The node lives inside
 * its owner (a pending message, a channel) and remembers its position, so
 * an owner can be removed or rescheduled in O(log n) the moment it settles:
 * the heap never holds stale entries, and a timer armed on its minimum
 * fires only for a real deadline. */
#ifndef SERVER_HEAP_H
#define SERVER_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct heap_node {
    int64_t due_ms;
    size_t idx;   /* position + 1 while in a heap, 0 otherwise */
    int kind;     /* owner-defined: what the node is embedded in */
};

struct heap {
    struct heap_node **nodes;
    size_t n, cap;
};

void heap_init(struct heap *h);
void heap_free(struct heap *h);
static inline bool heap_contains(const struct heap_node *node) { return node->idx != 0; }
/* Inserts node, or moves it if it is in already, at due_ms. */
void heap_set(struct heap *h, struct heap_node *node, int64_t due_ms);
void heap_remove(struct heap *h, struct heap_node *node);
/* The earliest node, or NULL. */
struct heap_node *heap_peek(const struct heap *h);

#endif
