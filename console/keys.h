/* ordertop's keys: one table, read both by the dispatcher and by the '?'
 * help overlay, so the help can never list a key that does not work. */
#ifndef CONSOLE_KEYS_H
#define CONSOLE_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

enum action {
    ACT_NONE,
    ACT_QUIT,
    ACT_VIEW_FLOW,
    ACT_VIEW_SAGAS,
    ACT_VIEW_DLQ,
    ACT_VIEW_METRICS,
    ACT_NEXT_VIEW,
    ACT_BACK,         /* Esc: close what is open */
    ACT_HELP,
    ACT_COMMAND,      /* ':' */
    ACT_FOLLOW,       /* space in Flow: pause / follow */
    ACT_FILTER,       /* '/' */
    ACT_ERRORS,       /* 'e' */
    ACT_UP,
    ACT_DOWN,
    ACT_PAGE_UP,
    ACT_PAGE_DOWN,
    ACT_TOP,
    ACT_BOTTOM,
    ACT_OPEN,         /* Enter */
    ACT_SORT,         /* 's' in Sagas: next column */
    ACT_MARK,         /* space in DLQ */
    ACT_REPLAY,       /* 'r' */
    ACT_REPLAY_ALL,   /* 'R' */
    ACT_PURGE,        /* 'd' */
};

struct key_binding {
    int key;                 /* a curses key code or a character */
    const char *label;       /* as the help shows it */
    enum action action;
    unsigned views;          /* bit per enum view where it works; 0: all */
    bool acts;               /* changes server state: hidden when read-only */
    const char *help;
};

const struct key_binding *key_table(size_t *n);
/* The binding of key in view v, or NULL. */
const struct key_binding *key_find(int key, enum view v, bool read_only);

#endif
