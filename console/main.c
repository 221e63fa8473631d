/* ordertop: the operator console. Flags, the terminal's set-up, and its
 * restoration on every way out (q, SIGINT/SIGTERM, a fatal signal). */
#include <curses.h>
#include <event2/event.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ordertop [--host 127.0.0.1] [--port 7070] [--user u] [--password p]\n"
            "                [--read-only]\n"
            "  --password p   AUTH with it (with --user, as that user; alone, as the\n"
            "                 default user); ORDERD_PASSWORD in the environment does the\n"
            "                 same without showing it to ps\n"
            "  Actions follow the user's roles: an operator replays dead letters, an\n"
            "  admin also purges them; any other role only looks.\n"
            "  1-4 or Tab switch views, ? shows every key, q quits.\n");
}

/* The terminal must come back whatever happens: curses is ended at exit,
 * and fatal signals end it before the process dies. */
static void restore_terminal(void)
{
    if (stdscr != NULL && !isendwin())
        endwin();
}

static void on_fatal(int sig)
{
    restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"user", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'w'},
        {"read-only", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    struct app_options o = {.host = "127.0.0.1", .port = 7070};
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'h': o.host = optarg; break;
        case 'p': o.port = atoi(optarg); break;
        case 'u': o.user = optarg; break;
        case 'w': o.password = optarg; break;
        case 'r': o.read_only = true; break;
        case 'H': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o.password == NULL)
        o.password = getenv("ORDERD_PASSWORD");
    if (o.port <= 0 || o.port > 65535 || (o.user && !o.password)) {
        usage(stderr);
        return 2;
    }
    setlocale(LC_ALL, "");
    bool unicode = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

    struct event_base *base = event_base_new();
    initscr();
    atexit(restore_terminal);
    signal(SIGSEGV, on_fatal);
    signal(SIGABRT, on_fatal);
    signal(SIGBUS, on_fatal);
    signal(SIGFPE, on_fatal);
    signal(SIGHUP, on_fatal);
    cbreak();
    noecho();
    nodelay(stdscr, TRUE);
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    bool color = has_colors() && getenv("NO_COLOR") == NULL;
    if (color) {
        start_color();
        use_default_colors();
    }
    struct app a;
    app_init(&a, base, &o, color, unicode);
    event_base_dispatch(base);
    app_free(&a);
    restore_terminal();
    event_base_free(base);
    return 0;
}
