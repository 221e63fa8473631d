/* The syncer (see syncer.h). The thread owns only dups of the caller's
 * fds, so a journal file replaced by compaction, or closed, is never
 * synced through a number that now means another file. */
#include "syncer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

struct syncer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;     /* a request, or stop */
    pthread_cond_t idle;     /* a request was done */
    int done_fd;             /* eventfd: the loop's wake-up */
    /* Everything below is under lock. */
    int fd;                  /* waiting request: our dup, or -1 */
    uint64_t upto;
    bool running;
    bool stopping;
    struct syncer_result res;
};

static uint64_t elapsed_us(const struct timespec *a, const struct timespec *b)
{
    return (uint64_t)((b->tv_sec - a->tv_sec) * 1000000 + (b->tv_nsec - a->tv_nsec) / 1000);
}

static void *syncer_main(void *arg)
{
    struct syncer *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (s->fd < 0 && !s->stopping)
            pthread_cond_wait(&s->wake, &s->lock);
        if (s->stopping)
            break;
        int fd = s->fd;
        uint64_t upto = s->upto;
        s->fd = -1;
        s->running = true;
        pthread_mutex_unlock(&s->lock);

        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int rc = fdatasync(fd);
        int err = rc != 0 ? errno : 0;
        clock_gettime(CLOCK_MONOTONIC, &b);
        close(fd);

        pthread_mutex_lock(&s->lock);
        s->running = false;
        if (rc == 0) {
            if (upto > s->res.synced)
                s->res.synced = upto;
            s->res.fsyncs++;
            s->res.last_us = elapsed_us(&a, &b);
        } else if (s->res.error == 0) {
            s->res.error = err;
        }
        pthread_cond_broadcast(&s->idle);
        uint64_t one = 1;
        if (write(s->done_fd, &one, sizeof one) < 0)
            (void)0;  /* the counter is full: the loop is woken anyway */
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

struct syncer *syncer_start(void)
{
    struct syncer *s = xcalloc(1, sizeof *s);
    s->fd = -1;
    s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->done_fd < 0) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->idle, NULL);
    /* Signals stay with the loop thread: the thread starts with all of
     * them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, syncer_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&s->idle);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        close(s->done_fd);
        free(s);
        errno = rc;
        return NULL;
    }
    return s;
}

void syncer_stop(struct syncer *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    if (s->fd >= 0)
        close(s->fd);
    close(s->done_fd);
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int syncer_post(struct syncer *s, int fd, uint64_t upto)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0)
        return -1;
    pthread_mutex_lock(&s->lock);
    /* Coalesce: the newer request covers the older one. */
    int old = s->fd;
    s->fd = dup_fd;
    if (old < 0 || upto > s->upto)
        s->upto = upto;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    if (old >= 0)
        close(old);
    return 0;
}

int syncer_fd(const struct syncer *s)
{
    return s->done_fd;
}

void syncer_poll(struct syncer *s, struct syncer_result *r)
{
    uint64_t n;
    if (read(s->done_fd, &n, sizeof n) < 0)
        (void)0;  /* EAGAIN: nothing finished since the last poll */
    pthread_mutex_lock(&s->lock);
    *r = s->res;
    s->res.error = 0;
    pthread_mutex_unlock(&s->lock);
}

bool syncer_wait_idle(struct syncer *s, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    bool idle = true;
    pthread_mutex_lock(&s->lock);
    while (s->fd >= 0 || s->running) {
        if (pthread_cond_timedwait(&s->idle, &s->lock, &until) == ETIMEDOUT) {
            idle = s->fd < 0 && !s->running;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return idle;
}
