/* The key table (see keys.h). */
#include "keys.h"

#include <curses.h>

#define V(x) (1u << (x))
#define ALL 0

static const struct key_binding keys[] = {
    {'1', "1", ACT_VIEW_FLOW, ALL, false, "Flow: the live stream of order events"},
    {'2', "2", ACT_VIEW_SAGAS, ALL, false, "Sagas in flight and needing attention"},
    {'3', "3", ACT_VIEW_DLQ, ALL, false, "the dead-letter queue"},
    {'4', "4", ACT_VIEW_METRICS, ALL, false, "Metrics: rates, latency, lag, breakers"},
    {'\t', "Tab", ACT_NEXT_VIEW, ALL, false, "the next view"},
    {27, "Esc", ACT_BACK, ALL, false, "close the detail, dialog or help"},
    {'?', "?", ACT_HELP, ALL, false, "this help"},
    {':', ":", ACT_COMMAND, ALL, false, "send any protocol command and see the reply"},
    {'q', "q", ACT_QUIT, ALL, false, "quit"},
    {KEY_UP, "Up/k", ACT_UP, ALL, false, "move up"},
    {'k', "k", ACT_UP, ALL, false, NULL},
    {KEY_DOWN, "Down/j", ACT_DOWN, ALL, false, "move down"},
    {'j', "j", ACT_DOWN, ALL, false, NULL},
    {KEY_PPAGE, "PgUp", ACT_PAGE_UP, ALL, false, "a page up"},
    {KEY_NPAGE, "PgDn", ACT_PAGE_DOWN, ALL, false, "a page down"},
    {KEY_HOME, "Home/g", ACT_TOP, ALL, false, "the first row"},
    {'g', "g", ACT_TOP, ALL, false, NULL},
    {KEY_END, "End/G", ACT_BOTTOM, ALL, false, "the last row"},
    {'G', "G", ACT_BOTTOM, ALL, false, NULL},
    {' ', "space", ACT_FOLLOW, V(VIEW_FLOW), false, "pause / follow the stream"},
    {'/', "/", ACT_FILTER, V(VIEW_FLOW), false, "filter by regex (!re: without those)"},
    {'e', "e", ACT_ERRORS, V(VIEW_FLOW), false, "errors only, or all"},
    {'\n', "Enter", ACT_OPEN, V(VIEW_SAGAS) | V(VIEW_DLQ), false,
     "open the order, or the dead letter"},
    {KEY_ENTER, "Enter", ACT_OPEN, V(VIEW_SAGAS) | V(VIEW_DLQ), false, NULL},
    {'s', "s", ACT_SORT, V(VIEW_SAGAS), false, "sort by the next column"},
    {' ', "space", ACT_MARK, V(VIEW_DLQ), true, "mark / unmark for r and d"},
    {'r', "r", ACT_REPLAY, V(VIEW_DLQ), true, "replay the marked, or the selected one"},
    {'R', "R", ACT_REPLAY_ALL, V(VIEW_DLQ), true, "replay every one shown"},
    {'d', "d", ACT_PURGE, V(VIEW_DLQ), true, "purge the marked, or the selected one"},
};

const struct key_binding *key_table(size_t *n)
{
    *n = sizeof keys / sizeof keys[0];
    return keys;
}

const struct key_binding *key_find(int key, enum view v, bool read_only)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key_binding *b = &keys[i];
        if (b->key != key || (b->views && !(b->views & V(v))))
            continue;
        if (b->acts && read_only)
            return NULL;
        return b;
    }
    return NULL;
}
