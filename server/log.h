/* Log lines: one event per line on stderr, "time level key=value ...",
 * readable by people and by journald. */
#ifndef SERVER_LOG_H
#define SERVER_LOG_H

void log_event(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
