/* The background fsync thread: a posted request is synced and reported;
 * requests made while one waits are coalesced; a failing fdatasync is
 * reported to the poller, not printed; a replaced fd is never touched;
 * stopping joins the thread with a request still waiting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/syncer.h"

#define WAIT_MS 5000

static char path[64];
static int fd = -1;

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/orderd-test-syncer-XXXXXX");
    fd = mkstemp(path);
    return fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    close(fd);
    unlink(path);
    return 0;
}

static void test_a_posted_sync_is_reported(void **state)
{
    (void)state;
    struct syncer *s = syncer_start();
    assert_non_null(s);
    struct syncer_result r;
    syncer_poll(s, &r);
    assert_int_equal(r.synced, 0);
    assert_int_equal(r.fsyncs, 0);

    assert_int_equal(write(fd, "hello", 5), 5);
    assert_int_equal(syncer_post(s, fd, 5), 0);
    assert_true(syncer_wait_idle(s, WAIT_MS));
    syncer_poll(s, &r);
    assert_int_equal(r.synced, 5);
    assert_int_equal(r.fsyncs, 1);
    assert_int_equal(r.error, 0);
    syncer_stop(s);
}

static void test_requests_coalesce_and_synced_only_grows(void **state)
{
    (void)state;
    struct syncer *s = syncer_start();
    assert_non_null(s);
    for (uint64_t i = 1; i <= 100; i++) {
        assert_int_equal(write(fd, "x", 1), 1);
        assert_int_equal(syncer_post(s, fd, i), 0);
    }
    /* An older offset posted late does not move synced back. */
    assert_int_equal(syncer_post(s, fd, 50), 0);
    assert_true(syncer_wait_idle(s, WAIT_MS));
    struct syncer_result r;
    syncer_poll(s, &r);
    assert_int_equal(r.synced, 100);
    assert_true(r.fsyncs >= 1 && r.fsyncs <= 101);
    assert_int_equal(r.error, 0);
    syncer_stop(s);
}

static void test_the_callers_fd_may_close_at_once(void **state)
{
    (void)state;
    struct syncer *s = syncer_start();
    assert_non_null(s);
    int mine = dup(fd);
    assert_true(mine >= 0);
    assert_int_equal(syncer_post(s, mine, 7), 0);
    close(mine);  /* the syncer holds its own dup */
    assert_true(syncer_wait_idle(s, WAIT_MS));
    struct syncer_result r;
    syncer_poll(s, &r);
    assert_int_equal(r.synced, 7);
    assert_int_equal(r.error, 0);
    syncer_stop(s);
}

static void test_a_failed_fdatasync_is_reported_once(void **state)
{
    (void)state;
    struct syncer *s = syncer_start();
    assert_non_null(s);
    int p[2];
    assert_int_equal(pipe(p), 0);
    /* A pipe cannot be synced: fdatasync fails with EINVAL. */
    assert_int_equal(syncer_post(s, p[1], 10), 0);
    assert_true(syncer_wait_idle(s, WAIT_MS));
    struct syncer_result r;
    syncer_poll(s, &r);
    assert_int_equal(r.error, EINVAL);
    assert_int_equal(r.synced, 0);
    assert_int_equal(r.fsyncs, 0);
    syncer_poll(s, &r);
    assert_int_equal(r.error, 0);
    close(p[0]);
    close(p[1]);
    syncer_stop(s);
}

static void test_a_bad_fd_is_refused_at_post(void **state)
{
    (void)state;
    struct syncer *s = syncer_start();
    assert_non_null(s);
    errno = 0;
    assert_int_equal(syncer_post(s, -1, 1), -1);
    assert_int_equal(errno, EBADF);
    assert_true(syncer_wait_idle(s, WAIT_MS));
    syncer_stop(s);
}

static void test_stop_joins_with_requests_outstanding(void **state)
{
    (void)state;
    struct syncer *s = syncer_start();
    assert_non_null(s);
    for (uint64_t i = 1; i <= 10; i++)
        assert_int_equal(syncer_post(s, fd, i), 0);
    syncer_stop(s);  /* no leak of the waiting dup, no hang */
    syncer_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_a_posted_sync_is_reported),
        T(test_requests_coalesce_and_synced_only_grows),
        T(test_the_callers_fd_may_close_at_once),
        T(test_a_failed_fdatasync_is_reported_once),
        T(test_a_bad_fd_is_refused_at_post),
        T(test_stop_joins_with_requests_outstanding),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
