/* The log writer. Its two settings are the process's, decided once in
 * main() before the event loop runs and only read afterwards: the one
 * exception to "no globals", because everything that logs would otherwise
 * have to carry the server around just to know where to write. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"

static enum log_level min_level = LOG_INFO;
static FILE *log_file;  /* NULL: stderr */

static int level_of(const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

int log_setup(const char *level, const char *file, char *err, size_t errlen)
{
    int l = level ? level_of(level) : LOG_INFO;
    if (l < 0) {
        snprintf(err, errlen, "--log-level takes debug, info, warn or error, got '%s'", level);
        return -1;
    }
    min_level = (enum log_level)l;
    if (file) {
        FILE *f = fopen(file, "a");
        if (f == NULL) {
            snprintf(err, errlen, "cannot open log file %s: %s", file, strerror(errno));
            return -1;
        }
        setvbuf(f, NULL, _IOLBF, 0);
        log_file = f;
    }
    return 0;
}

static void vlog(const char *level, const char *fmt, va_list ap, uint64_t held_back)
{
    int l = level_of(level);
    if (l >= 0 && l < (int)min_level)
        return;
    FILE *out = log_file ? log_file : stderr;
    char ts[CLOCK_RFC3339_LEN];
    clock_format_rfc3339(clock_wall_ms(), ts);
    fprintf(out, "%s level=%s ", ts, level);
    vfprintf(out, fmt, ap);
    if (held_back)
        fprintf(out, " held_back=%llu", (unsigned long long)held_back);
    fputc('\n', out);
}

void log_event(const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap, 0);
    va_end(ap);
}

void log_limited(struct log_limiter *l, int64_t now_ms, const char *level, const char *fmt, ...)
{
    if (now_ms - l->window_ms < 1000 && l->window_ms != 0) {
        l->held_back++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap, l->held_back);
    va_end(ap);
    l->window_ms = now_ms;
    l->held_back = 0;
}
