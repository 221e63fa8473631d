/* A write and fdatasync on a thread (see filejob.h). */
#include "filejob.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "journal.h"
#include "xalloc.h"

struct filejob {
    pthread_t thread;
    int fd;              /* ours, dup()ed */
    int done_fd;         /* eventfd */
    char *bytes;
    size_t n;
    int err;             /* written by the thread before it signals */
};

static void *job_main(void *arg)
{
    struct filejob *j = arg;
    if (journal_write_all(j->fd, j->bytes, j->n) != 0 || fdatasync(j->fd) != 0)
        j->err = errno ? errno : EIO;
    uint64_t one = 1;
    while (write(j->done_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    return NULL;
}

struct filejob *filejob_start(int fd, const void *bytes, size_t n)
{
    struct filejob *j = xcalloc(1, sizeof *j);
    j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    j->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (j->fd < 0 || j->done_fd < 0)
        goto fail;
    j->bytes = xmalloc(n ? n : 1);
    memcpy(j->bytes, bytes, n);
    j->n = n;
    /* The loop's signals stay the loop's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&j->thread, NULL, job_main, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        errno = rc;
        goto fail;
    }
    return j;
fail:;
    int saved = errno;
    if (j->fd >= 0)
        close(j->fd);
    if (j->done_fd >= 0)
        close(j->done_fd);
    free(j->bytes);
    free(j);
    errno = saved;
    return NULL;
}

int filejob_fd(const struct filejob *j) { return j->done_fd; }

static void *close_main(void *arg)
{
    close((int)(intptr_t)arg);
    return NULL;
}

void filejob_close(int fd)
{
    pthread_t t;
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t, &attr, close_main, (void *)(intptr_t)fd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        close(fd);
}

int filejob_finish(struct filejob *j)
{
    pthread_join(j->thread, NULL);
    int err = j->err;
    close(j->fd);
    close(j->done_fd);
    free(j->bytes);
    free(j);
    return err;
}
