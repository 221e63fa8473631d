/* Indexed binary min-heap on due_ms (see heap.h). */
#include "heap.h"

#include <stdlib.h>

#include "xalloc.h"

void heap_init(struct heap *h)
{
    h->nodes = NULL;
    h->n = h->cap = 0;
}

void heap_free(struct heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->nodes[i]->idx = 0;
    free(h->nodes);
    heap_init(h);
}

static void place(struct heap *h, size_t i, struct heap_node *node)
{
    h->nodes[i] = node;
    node->idx = i + 1;
}

static void sift_up(struct heap *h, size_t i)
{
    struct heap_node *node = h->nodes[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->nodes[parent]->due_ms <= node->due_ms)
            break;
        place(h, i, h->nodes[parent]);
        i = parent;
    }
    place(h, i, node);
}

static void sift_down(struct heap *h, size_t i)
{
    struct heap_node *node = h->nodes[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        int64_t min_due = node->due_ms;
        if (l < h->n && h->nodes[l]->due_ms < min_due) {
            min = l;
            min_due = h->nodes[l]->due_ms;
        }
        if (r < h->n && h->nodes[r]->due_ms < min_due)
            min = r;
        if (min == i)
            break;
        place(h, i, h->nodes[min]);
        i = min;
    }
    place(h, i, node);
}

void heap_set(struct heap *h, struct heap_node *node, int64_t due_ms)
{
    if (heap_contains(node)) {
        int64_t old = node->due_ms;
        node->due_ms = due_ms;
        if (due_ms < old)
            sift_up(h, node->idx - 1);
        else
            sift_down(h, node->idx - 1);
        return;
    }
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->nodes = xrealloc(h->nodes, h->cap * sizeof *h->nodes);
    }
    node->due_ms = due_ms;
    h->nodes[h->n++] = node;
    sift_up(h, h->n - 1);
}

void heap_remove(struct heap *h, struct heap_node *node)
{
    if (!heap_contains(node))
        return;
    size_t i = node->idx - 1;
    node->idx = 0;
    struct heap_node *last = h->nodes[--h->n];
    if (i == h->n)
        return;
    h->nodes[i] = last;
    last->idx = i + 1;
    sift_up(h, i);
    sift_down(h, last->idx - 1);
}

struct heap_node *heap_peek(const struct heap *h)
{
    return h->n ? h->nodes[0] : NULL;
}
