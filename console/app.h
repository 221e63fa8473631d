/* ordertop's application: connects the model, the views, the keys and the
 * connection on one libevent loop. Input is read as an event (stdin in
 * nodelay mode), SIGWINCH comes through libevent, and frames are drawn by
 * a timer only when the model changed, at most ten a second, with erase +
 * wnoutrefresh + one doupdate (never clear). */
#ifndef CONSOLE_APP_H
#define CONSOLE_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "view.h"

struct event_base;
struct client;

struct app {
    struct event_base *base;
    struct model m;
    struct theme theme;
    struct client *client;
    struct event *input, *frame, *winch, *sigint, *sigterm;
    int64_t last_frame_ms;
    bool frame_pending;
    uint64_t frames;     /* drawn so far (for the benchmark) */
};

struct app_options {
    const char *host;
    int port;
    const char *user;
    const char *password;
    bool read_only;
};

/* After initscr(): sets everything up and connects. */
int app_init(struct app *a, struct event_base *base, const struct app_options *o, bool color,
             bool unicode);
void app_free(struct app *a);

/* One key (curses code or character). Exposed for the tests. */
void app_key(struct app *a, int key);
/* Draws a frame now if the model changed. */
void app_frame(struct app *a);

#endif
