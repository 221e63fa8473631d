/* A sparse array of pointers (see slots.h). */
#include "slots.h"

#include <stdlib.h>

#include "xalloc.h"

struct slots_page {
    size_t used;
    void *slot[SLOTS_PAGE];
};

void slots_init(struct slots *s)
{
    s->pages = NULL;
    s->npages = 0;
    s->set = 0;
}

void slots_free(struct slots *s)
{
    for (size_t i = 0; i < s->npages; i++)
        free(s->pages[i]);
    free(s->pages);
    slots_init(s);
}

void *slots_get(const struct slots *s, uint64_t id)
{
    if (id == 0)
        return NULL;
    uint64_t page = (id - 1) / SLOTS_PAGE;
    if (page >= s->npages || s->pages[page] == NULL)
        return NULL;
    return s->pages[page]->slot[(id - 1) % SLOTS_PAGE];
}

void slots_set(struct slots *s, uint64_t id, void *p)
{
    uint64_t page = (id - 1) / SLOTS_PAGE;
    if (page >= s->npages) {
        if (p == NULL)
            return;
        size_t n = s->npages ? s->npages : 16;
        while (n <= page)
            n *= 2;
        s->pages = xrealloc(s->pages, n * sizeof *s->pages);
        for (size_t i = s->npages; i < n; i++)
            s->pages[i] = NULL;
        s->npages = n;
    }
    struct slots_page *pg = s->pages[page];
    if (pg == NULL) {
        if (p == NULL)
            return;
        pg = s->pages[page] = xcalloc(1, sizeof *pg);
    }
    void **slot = &pg->slot[(id - 1) % SLOTS_PAGE];
    if ((*slot == NULL) != (p == NULL)) {
        size_t delta = p ? 1 : (size_t)-1;
        pg->used += delta;
        s->set += delta;
    }
    *slot = p;
    if (pg->used == 0) {
        free(pg);
        s->pages[page] = NULL;
    }
}

uint64_t slots_next(const struct slots *s, uint64_t after)
{
    for (uint64_t page = after / SLOTS_PAGE; page < s->npages; page++) {
        const struct slots_page *pg = s->pages[page];
        if (pg == NULL)
            continue;
        size_t from = page == after / SLOTS_PAGE ? (size_t)(after % SLOTS_PAGE) : 0;
        for (size_t i = from; i < SLOTS_PAGE; i++)
            if (pg->slot[i])
                return page * SLOTS_PAGE + i + 1;
    }
    return 0;
}
