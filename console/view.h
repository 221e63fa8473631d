/* ordertop's views: pure functions that draw the model into a curses
 * window, given the time. They never read the terminal or the network, so
 * the tests draw them into a headless terminal and read the screen back. */
#ifndef CONSOLE_VIEW_H
#define CONSOLE_VIEW_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* Colours by meaning, not by colour. */
enum role {
    ROLE_NORMAL,
    ROLE_HEADER,    /* title and status bars */
    ROLE_GOOD,      /* delivered, closed, connected */
    ROLE_BUSY,      /* in flight */
    ROLE_WARN,      /* cancelled, half-open, reconnecting, stale */
    ROLE_BAD,       /* failed, open, dead letters */
    ROLE_DIM,       /* secondary text */
    ROLE_SELECTED,
    ROLE_COUNT,
};

struct theme {
    attr_t attr[ROLE_COUNT];
    bool unicode;   /* sparklines with block characters */
};

#define VIEW_MIN_COLS 80
#define VIEW_MIN_LINES 24

/* Sets up colour pairs when the terminal has colours and NO_COLOR is not
 * set; otherwise attributes only (bold, reverse), so monochrome works. */
void theme_init(struct theme *t, bool color, bool unicode);

/* Draws the whole screen (the caller erased it and refreshes it). */
void view_draw(WINDOW *w, const struct model *m, const struct theme *t, int64_t now);

/* Rows the body of a list view has at this window size. */
int view_body_rows(WINDOW *w);

#endif
