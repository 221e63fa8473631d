/* sd_notify for a Type=notify service (see notify.h). */
#include "notify.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "xalloc.h"

#define STATUS_MAX 256

struct notify {
    bool enabled;                 /* NOTIFY_SOCKET is set */
    uint64_t interval_us;         /* between watchdog pings; 0: none */
    struct event *watchdog;
    char status[STATUS_MAX];      /* the last STATUS= sent */
};

/* On the loop: if the loop stops turning, the pings stop. A ping that
 * cannot be sent is not retried: the next one is due soon. */
static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sd_notify(0, "WATCHDOG=1");
}

struct notify *notify_new(struct event_base *base)
{
    struct notify *n = xcalloc(1, sizeof *n);
    const char *socket = getenv("NOTIFY_SOCKET");
    n->enabled = socket != NULL && *socket != '\0';
    uint64_t usec = 0;
    if (n->enabled && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        /* Half the interval, as sd_watchdog_enabled(3) advises; not
         * under a millisecond, which would keep the loop spinning. */
        n->interval_us = usec / 2 > 1000 ? usec / 2 : 1000;
        struct timeval tv = {(time_t)(n->interval_us / 1000000),
                             (suseconds_t)(n->interval_us % 1000000)};
        n->watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, n);
        evtimer_add(n->watchdog, &tv);
    }
    return n;
}

void notify_free(struct notify *n)
{
    if (n == NULL)
        return;
    if (n->watchdog)
        event_free(n->watchdog);
    free(n);
}

uint64_t notify_watchdog_interval_us(const struct notify *n)
{
    return n->interval_us;
}

/* Sends "<head>STATUS=<text>" (head: "" or "READY=1\n" ...), or only the
 * head when the text is the status already sent and skip_same is set. */
static int send_status(struct notify *n, const char *head, bool skip_same, const char *fmt,
                       va_list ap)
{
    if (!n->enabled)
        return 0;
    char status[STATUS_MAX];
    vsnprintf(status, sizeof status, fmt, ap);
    /* One line: a newline would start another assignment. */
    for (char *p = status; (p = strchr(p, '\n')) != NULL;)
        *p = ' ';
    if (skip_same && strcmp(status, n->status) == 0)
        return 0;
    char msg[STATUS_MAX + 64];
    snprintf(msg, sizeof msg, "%sSTATUS=%s", head, status);
    int rc = sd_notify(0, msg);
    if (rc < 0)
        return rc;
    memcpy(n->status, status, sizeof status);
    return 0;
}

int notify_status(struct notify *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = send_status(n, "", true, fmt, ap);
    va_end(ap);
    return rc;
}

int notify_ready(struct notify *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = send_status(n, "READY=1\n", false, fmt, ap);
    va_end(ap);
    return rc;
}

int notify_stopping(struct notify *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = send_status(n, "STOPPING=1\n", false, fmt, ap);
    va_end(ap);
    return rc;
}
