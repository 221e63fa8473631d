/* The log writer. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#include "clock.h"

void log_event(const char *level, const char *fmt, ...)
{
    char ts[CLOCK_RFC3339_LEN];
    va_list ap;
    clock_format_rfc3339(clock_wall_ms(), ts);
    fprintf(stderr, "%s level=%s ", ts, level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
