/* The resident set size (see memory.h). */
#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int memory_parse_statm(const char *text, size_t page_size, size_t *bytes)
{
    /* "size resident shared text lib data dt", each in pages. */
    char *end;
    errno = 0;
    strtoull(text, &end, 10);
    if (end == text || *end != ' ' || errno != 0)
        return -1;
    const char *p = end + 1;
    unsigned long long resident = strtoull(p, &end, 10);
    if (end == p || (*end != ' ' && *end != '\n' && *end != '\0') || errno != 0)
        return -1;
    *bytes = (size_t)resident * page_size;
    return 0;
}

int memory_rss(size_t *bytes, char *err, size_t errlen)
{
    /* read(2), not stdio: sampled ten times a second, without a FILE's
     * allocation each time. */
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open /proc/self/statm: %s", strerror(errno));
        return -1;
    }
    char text[128];
    ssize_t n;
    do
        n = read(fd, text, sizeof text - 1);
    while (n < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "cannot read /proc/self/statm: %s", strerror(saved));
        return -1;
    }
    text[n] = '\0';
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || memory_parse_statm(text, (size_t)page, bytes) != 0) {
        snprintf(err, errlen, "cannot make out /proc/self/statm: '%.40s'", text);
        return -1;
    }
    return 0;
}
