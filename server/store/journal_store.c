/* The journal back-end (see journal_store.h): recording, group commit,
 * durability reports, space reservation and compaction. */
#include "journal_store.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/histogram.h"
#include "lib/log.h"
#include "orders/book.h"
#include "filejob.h"
#include "persist.h"
#include "turn.h"
#include "xalloc.h"

#define REWRITE_PREFIX "journal.rewrite."
/* How long a failed compaction waits before the next try (doubling), so a
 * full disk is not filled again every second by a snapshot that cannot
 * fit. */
#define COMPACT_RETRY_MS 30000
#define COMPACT_RETRY_MAX_MS (10 * 60 * 1000)
/* Finishing a compaction: the records made while the child wrote are
 * appended to its file and fsynced on a thread (filejob.h), round after
 * round, until what is left is small enough to write and fsync on the
 * loop before the swap. */
#define FINISH_ON_LOOP_BYTES (256 * 1024)
/* With fsync=always, an fdatasync running this long means the disk has
 * stalled: reads stop waiting behind it (see store_ops.stalled). */
#define SYNC_STALL_MS 1000

/* What the back-end can do now. */
enum jstate {
    JS_OK,           /* takes changes */
    JS_NO_SPACE,     /* could not reserve ahead: changes refused, retried each second */
    JS_WRITE_FAILED, /* buffered records not written: changes refused, retried each second */
    JS_FATAL,        /* an fsync failed: nothing more is written */
};

struct jstore {
    struct store *store;          /* the interface wrapping us */
    struct journal *j;
    struct clock *clk;
    const struct persist_target *target;
    char path[PATH_MAX];
    char dir[PATH_MAX / 2];       /* room left in path and tmp for a name */
    struct journal_options opt;
    enum jstate state;
    bool cannot_reserve;          /* the filesystem has no fallocate */
    char why[200];                /* JS_NO_SPACE, JS_WRITE_FAILED: the reason */
    struct event *tick;           /* once a second: everysec fsync, retries, compaction */
    struct event *synced;         /* the fsync thread finished one */
    struct event *sigchld;        /* a compaction child exited */
    struct buf rec;               /* scratch for encoding */
    /* This loop turn's records, held to its commit (turn.h), and where
     * what is kept of them is framed. Positions handed out (op_end) count
     * every record made, kept or not; marks map the journal's own
     * positions, as it reports them durable, onto those. */
    struct turn *turn;
    struct buf framed;
    uint64_t position;            /* bytes of every record made */
    uint64_t flushed;             /* position at the last flush_turn() */
    struct mark { uint64_t journal, position; } *marks;
    size_t nmarks, capmarks, firstmark;
    uint64_t journal_durable;     /* the journal's last position reported */
    uint64_t records;
    uint64_t left_out;
    uint64_t write_errors;
    struct histogram fsync_us;
    int64_t syncing_since;        /* always: the oldest fsync asked for and not done, or 0 */
    /* Compaction: the child writing tmp, and every record made since it
     * forked, to append to tmp before it replaces the journal. */
    uint64_t base_size;           /* journal size after the last rewrite */
    uint64_t snapshot_end;        /* journal_end() then (0: start-up) */
    pid_t child;
    struct filejob *job;          /* finishing: a round of the rewrite's tail */
    struct event *job_done;
    int tmp_fd;                   /* finishing: the new file, or -1 */
    struct event_base *base;
    char tmp[PATH_MAX];
    struct buf rewrite;
    int64_t rewrite_started_ms;
    uint64_t compactions;
    uint64_t stall_us;            /* the longest fork or finish */
    int64_t compact_not_before;   /* server clock; after a failure */
    int64_t compact_backoff_ms;
    uint64_t recovered_records;
    int64_t recovery_ms;
};

/* --- state -------------------------------------------------------------- */

/* A compaction's snapshot is being written, or its tail after it: every
 * record goes to the rewrite buffer too. */
static bool rewriting(const struct jstore *s)
{
    return s->child > 0 || s->job != NULL || s->tmp_fd >= 0;
}

static void set_ok(struct jstore *s)
{
    s->state = JS_OK;
    s->why[0] = '\0';
    store_report_writable(s->store, NULL);
}

/* Moves to a state where changes are refused, saying why. */
static void set_state(struct jstore *s, enum jstate st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_state(struct jstore *s, enum jstate st, const char *fmt, ...)
{
    s->state = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    if (st == JS_FATAL)
        store_report_fatal(s->store, s->why);
    else
        store_report_writable(s->store, s->why);
}

/* Keeps opt.reserve bytes reserved ahead of what is buffered and what the
 * turn holds, once headroom falls under half of it. Returns false (state
 * JS_NO_SPACE) when the disk refused. */
static bool keep_reserved(struct jstore *s)
{
    /* The turn's records are not in the journal yet, but will be: at most
     * as many bytes as they take now. */
    uint64_t held = s->position - s->flushed;
    if (s->cannot_reserve || journal_headroom(s->j) >= s->opt.reserve / 2 + held)
        return true;
    if (journal_reserve(s->j, s->opt.reserve + held) == 0)
        return true;
    if (errno == EOPNOTSUPP || errno == ENOSYS) {
        /* Writing is all there is then: a full disk is met by a write
         * that fails, and is retried, rather than by a refusal first. */
        log_event("warn", "event=journal_reserve_unsupported path=%s error=\"%s\"", s->path,
                  strerror(errno));
        s->cannot_reserve = true;
        return true;
    }
    set_state(s, JS_NO_SPACE,
              "the journal cannot reserve space ahead (%s); changes are refused until it "
              "can, retried every second",
              strerror(errno));
    return false;
}

/* The journal made everything up to its position pos durable: so is
 * every record made up to the mark at or before it. */
static void report_durable(struct jstore *s, uint64_t pos)
{
    if (pos > s->journal_durable)
        s->journal_durable = pos;
    uint64_t position = 0;
    while (s->firstmark < s->nmarks && s->marks[s->firstmark].journal <= pos)
        position = s->marks[s->firstmark++].position;
    /* Under steady load the queue never drains: move what is left down
     * once the consumed part is the larger, so it stays as long as the
     * turns not yet durable. */
    if (s->firstmark == s->nmarks) {
        s->firstmark = s->nmarks = 0;
    } else if (s->firstmark > s->nmarks / 2) {
        s->nmarks -= s->firstmark;
        memmove(s->marks, s->marks + s->firstmark, s->nmarks * sizeof *s->marks);
        s->firstmark = 0;
    }
    if (position)
        store_report_durable(s->store, position);
}

/* Durability after a successful write: with always, once the fsync thread
 * is done; otherwise now (everysec and no promise no more). */
static void written(struct jstore *s)
{
    if (journal_policy(s->j) != FSYNC_ALWAYS) {
        report_durable(s, journal_written(s->j));
        return;
    }
    if (journal_sync_background(s->j) != 0) {
        set_state(s, JS_FATAL, "cannot hand the journal to the fsync thread: %s",
                  strerror(errno));
        return;
    }
    if (s->syncing_since == 0)
        s->syncing_since = s->clk->now_ms;
}

/* Writes what is buffered. Returns false (state JS_WRITE_FAILED) when the
 * disk refused: the records stay buffered, to be written by the retry. */
static bool write_out(struct jstore *s)
{
    if (journal_written(s->j) == journal_end(s->j))
        return true;
    if (journal_write(s->j) != 0) {
        s->write_errors++;
        set_state(s, JS_WRITE_FAILED,
                  "a journal write failed (%s); changes are refused until it succeeds, "
                  "retried every second",
                  strerror(errno));
        return false;
    }
    written(s);
    return true;
}

/* --- the operations ------------------------------------------------------ */

static void record(struct jstore *s, uint8_t type, const struct chan_change *c)
{
    if (c)
        turn_change(s->turn, type, buf_head(&s->rec), buf_used(&s->rec), c);
    else
        turn_record(s->turn, type, buf_head(&s->rec), buf_used(&s->rec));
    s->position += JOURNAL_HEADER_LEN + buf_used(&s->rec);
    s->records++;
    buf_clear(&s->rec);
}

/* Hands the turn's records to the journal (and to a compaction's rewrite
 * buffer), leaving out what the turn made moot. */
static void flush_turn(struct jstore *s)
{
    if (turn_records(s->turn) == 0)
        return;
    struct turn_flushed f;
    turn_flush(s->turn, &s->framed, &f);
    /* One commit: recovery takes all of it or none. */
    journal_seal(&s->framed, 0);
    s->flushed = s->position;
    s->left_out += f.left_out;
    if (f.kept > 0) {
        journal_append_framed(s->j, buf_head(&s->framed), buf_used(&s->framed));
        if (rewriting(s))
            buf_append(&s->rewrite, buf_head(&s->framed), buf_used(&s->framed));
        buf_clear(&s->framed);
    }
    if (s->nmarks > s->firstmark && f.kept == 0) {
        /* Nothing of it to write: it is durable with what came before. */
        s->marks[s->nmarks - 1].position = s->position;
        return;
    }
    if (journal_end(s->j) <= s->journal_durable) {
        store_report_durable(s->store, s->position);  /* nothing left to wait for */
        return;
    }
    if (s->nmarks == s->capmarks) {
        s->capmarks = s->capmarks ? s->capmarks * 2 : 64;
        s->marks = xrealloc(s->marks, s->capmarks * sizeof *s->marks);
    }
    s->marks[s->nmarks++] = (struct mark){journal_end(s->j), s->position};
}

static void op_order(void *be, const struct order_event *ev)
{
    struct jstore *s = be;
    uint8_t type;
    persist_encode_order(&s->rec, ev, &type);
    record(s, type, NULL);
}

static void op_change(void *be, const struct chan_change *c)
{
    struct jstore *s = be;
    uint8_t type;
    persist_encode_change(&s->rec, c, &type);
    record(s, type, c);
}

static void op_saga(void *be, const struct saga *sg, const struct tracking *t)
{
    struct jstore *s = be;
    persist_encode_saga_whole(&s->rec, sg, t);
    record(s, REC_SAGA_PACKED, NULL);
}

static void op_sim(void *be, int type, const char *key, int64_t value)
{
    struct jstore *s = be;
    persist_encode_sim(&s->rec, type, key, value);
    record(s, REC_SIM, NULL);
}

/* The end of a loop turn: one write for everything it recorded. */
static void op_commit(void *be)
{
    struct jstore *s = be;
    if (s->state == JS_FATAL)
        return;
    flush_turn(s);
    /* After a failed write, only the retry writes: the order of records
     * in the file must stay the order they were made in. */
    if (s->state == JS_WRITE_FAILED)
        return;
    if (write_out(s) && s->state == JS_OK)
        keep_reserved(s);
}

static uint64_t op_end(const void *be)
{
    const struct jstore *s = be;
    return s->position;
}

static bool op_writable(void *be, char *why, size_t whylen)
{
    struct jstore *s = be;
    if (s->state == JS_OK && keep_reserved(s))
        return true;
    snprintf(why, whylen, "%s", s->why);
    return false;
}

static bool op_stalled(const void *be)
{
    const struct jstore *s = be;
    return s->state == JS_WRITE_FAILED || s->state == JS_FATAL ||
           (s->syncing_since != 0 && s->clk->now_ms - s->syncing_since > SYNC_STALL_MS);
}

static void op_stats(const void *be, struct store_stats *st)
{
    const struct jstore *s = be;
    st->fsync = fsync_policy_name(journal_policy(s->j));
    st->records = s->records;
    st->records_left_out = s->left_out;
    st->recovered_records = s->recovered_records;
    st->recovery_ms = s->recovery_ms;
    st->bytes = journal_end(s->j);
    st->file_size = journal_file_size(s->j);
    st->reserved = journal_headroom(s->j);
    st->fsyncs = journal_fsyncs(s->j);
    st->write_errors = s->write_errors;
    st->compactions = s->compactions;
    st->compacting = rewriting(s);
    st->compaction_stall_us = s->stall_us;
    st->fsync_us = &s->fsync_us;
}

/* What came after the last snapshot, past which a clean stop writes one. */
#define CLOSE_SNAPSHOT_MIN_BYTES (1u << 20)

static void snapshot_on_close(struct jstore *s);

static int op_close(void *be)
{
    struct jstore *s = be;
    int rc = 0;
    if (s->child > 0) {
        /* A compaction still running: its result would be stale. */
        kill(s->child, SIGKILL);
        waitpid(s->child, NULL, 0);
        unlink(s->tmp);
    }
    if (s->job) {
        event_free(s->job_done);
        filejob_finish(s->job);
        s->job = NULL;
    }
    if (s->tmp_fd >= 0) {
        close(s->tmp_fd);
        s->tmp_fd = -1;
        unlink(s->tmp);
    }
    event_free(s->tick);
    if (s->synced)
        event_free(s->synced);
    event_free(s->sigchld);
    if (s->state != JS_FATAL)
        flush_turn(s);
    if (s->state == JS_OK)
        snapshot_on_close(s);
    if (s->state == JS_FATAL) {
        /* Nothing more may claim durability: the file is what it is. */
        journal_close_unsynced(s->j);
    } else if (journal_close(s->j) != 0) {
        log_event("error", "event=journal_close_failed path=%s error=\"%s\"", s->path,
                  strerror(errno));
        rc = -1;
    }
    buf_free(&s->rec);
    buf_free(&s->rewrite);
    buf_free(&s->framed);
    turn_free(s->turn);
    free(s->marks);
    free(s);
    return rc;
}

static const struct store_ops journal_ops = {
    .name = "journal",
    .order = op_order,
    .change = op_change,
    .saga = op_saga,
    .sim = op_sim,
    .commit = op_commit,
    .end = op_end,
    .writable = op_writable,
    .stalled = op_stalled,
    .stats = op_stats,
    .close = op_close,
};

/* --- durability events --------------------------------------------------- */

/* The fsync thread finished an fdatasync. */
static void on_synced(evutil_socket_t fd, short what, void *arg)
{
    struct jstore *s = arg;
    (void)fd;
    (void)what;
    if (s->state == JS_FATAL) {
        journal_sync_collect(s->j);  /* only to clear the eventfd */
        return;
    }
    uint64_t before = journal_fsyncs(s->j);
    int rc = journal_sync_collect(s->j);
    if (journal_fsyncs(s->j) != before)
        hist_record(&s->fsync_us, journal_last_fsync_us(s->j));
    if (rc != 0) {
        set_state(s, JS_FATAL, "fdatasync of %s failed: %s", s->path, strerror(errno));
        return;
    }
    if (journal_policy(s->j) != FSYNC_ALWAYS)
        return;
    /* What was written after the finished fsync was asked for is being
     * synced now (the thread coalesces): its clock starts here. */
    clock_tick(s->clk);
    s->syncing_since = journal_synced(s->j) < journal_written(s->j) ? s->clk->now_ms : 0;
    report_durable(s, journal_synced(s->j));
}

/* --- compaction ---------------------------------------------------------- */

static int write_chunk(void *arg, struct buf *out)
{
    if (journal_write_all(*(int *)arg, buf_head(out), buf_used(out)) != 0)
        return -1;
    buf_clear(out);
    return 0;
}

/* The child's writer: the snapshot goes to disk as it is written, a few
 * MiB at a time, so its final fsync is short and the parent's fdatasync
 * of the journal never queues behind gigabytes of it. */
struct snapshot_file {
    int fd;
    uint64_t unsynced;
};

#define SNAPSHOT_SYNC_BYTES (4u << 20)

static int write_snapshot_chunk(void *arg, struct buf *out)
{
    struct snapshot_file *f = arg;
    f->unsynced += buf_used(out);
    if (write_chunk(&f->fd, out) != 0)
        return -1;
    if (f->unsynced >= SNAPSHOT_SYNC_BYTES) {
        if (fdatasync(f->fd) != 0)
            return -1;
        f->unsynced = 0;
    }
    return 0;
}

/* In the child: the snapshot, from the memory it shares with the parent
 * as of the fork. Only _exit: nothing of the parent's may run here. */
/* A snapshot of t into a new file at path, fsynced. Returns 0, or -1 with
 * errno set (the file may be left behind). */
static int write_snapshot(const char *path, const struct persist_target *t)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    struct buf out;
    struct snapshot_file f = {fd, 0};
    buf_init(&out);
    buf_append(&out, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
    int rc = persist_snapshot(t, &out, write_snapshot_chunk, &f);
    /* The snapshot is one commit (the commits made meanwhile follow it). */
    if (rc == 0) {
        journal_frame(&out, JOURNAL_COMMIT, "", 0);
        rc = write_snapshot_chunk(&f, &out);
    }
    rc = rc != 0 || fsync(fd) != 0 ? -1 : 0;
    int saved = errno;
    buf_free(&out);
    close(fd);
    errno = saved;
    return rc;
}

static void child_write_snapshot(const char *tmp, const struct persist_target *t)
{
    /* Let go of the parent's sockets (and its listener), or a connection
     * the parent closes stays open until the child is done, and an orphan
     * keeps the port. stdin/out/err stay. */
    close_range(3, ~0U, 0);
    /* The loop and its clients come first: on a machine of few cores a
     * snapshot at full speed takes a core from them for seconds. */
    if (nice(19) < 0) {
        /* not fatal: the snapshot is written at the usual priority */
    }
    _exit(write_snapshot(tmp, t) == 0 ? 0 : 3);
}

static void compaction_failed(struct jstore *s, const char *why)
{
    log_event("error", "event=compaction_failed error=\"%s\"", why);
    if (s->tmp_fd >= 0) {
        close(s->tmp_fd);
        s->tmp_fd = -1;
    }
    buf_clear(&s->rewrite);
    unlink(s->tmp);
    s->compact_backoff_ms = s->compact_backoff_ms ? s->compact_backoff_ms * 2 : COMPACT_RETRY_MS;
    if (s->compact_backoff_ms > COMPACT_RETRY_MAX_MS)
        s->compact_backoff_ms = COMPACT_RETRY_MAX_MS;
    s->compact_not_before = s->clk->now_ms + s->compact_backoff_ms;
}

static void start_compaction(struct jstore *s)
{
    /* Everything recorded so far must be in the file or in the snapshot:
     * it is in memory, so in the snapshot. The turn's records go to the
     * journal now, not to the rewrite buffer after the fork, which would
     * put them in the new file twice. */
    flush_turn(s);
    snprintf(s->tmp, sizeof s->tmp, "%s/" REWRITE_PREFIX "%lld", s->dir,
             (long long)s->clk->wall_ms);
    buf_clear(&s->rewrite);
    fflush(NULL);
    int64_t t0 = clock_mono_us();
    pid_t pid = fork();
    if (pid < 0) {
        compaction_failed(s, strerror(errno));
        return;
    }
    if (pid == 0)
        child_write_snapshot(s->tmp, s->target);
    s->child = pid;
    s->rewrite_started_ms = clock_mono_ms();
    uint64_t fork_us = (uint64_t)(clock_mono_us() - t0);
    if (fork_us > s->stall_us)
        s->stall_us = fork_us;
    log_event("info", "event=compaction_started pid=%d journal_bytes=%llu fork_us=%llu",
              (int)pid, (unsigned long long)journal_file_size(s->j),
              (unsigned long long)fork_us);
}

/* The last of the rewrite's tail, then the swap: on the loop, so nothing
 * is recorded in between. */
static void finish_compaction(struct jstore *s)
{
    char err[PATH_MAX + 128];
    int64_t t0 = clock_mono_us();
    int fd = s->tmp_fd;
    if (write_chunk(&fd, &s->rewrite) != 0 || fdatasync(fd) != 0) {
        snprintf(err, sizeof err, "finishing %.*s: %s", PATH_MAX, s->tmp, strerror(errno));
        compaction_failed(s, err);
        return;
    }
    close(fd);
    s->tmp_fd = -1;
    /* The journal's own unwritten tail is in the rewrite buffer too: the
     * new file holds everything recorded so far. */
    int old_fd;
    int rc = journal_install(s->j, s->tmp, &old_fd, err, sizeof err);
    if (old_fd >= 0)
        filejob_close(old_fd);  /* the old journal's blocks are freed off the loop */
    if (rc == -2) {
        set_state(s, JS_FATAL, "%s", err);
        return;
    }
    if (rc != 0) {
        compaction_failed(s, err);
        return;
    }
    s->base_size = journal_file_size(s->j);
    s->snapshot_end = journal_end(s->j);
    s->compactions++;
    uint64_t finish_us = (uint64_t)(clock_mono_us() - t0);
    if (finish_us > s->stall_us)
        s->stall_us = finish_us;
    s->compact_backoff_ms = 0;
    log_event("info", "event=compaction_done journal_bytes=%llu ms=%lld finish_us=%llu",
              (unsigned long long)s->base_size,
              (long long)(clock_mono_ms() - s->rewrite_started_ms),
              (unsigned long long)finish_us);
    /* Everything up to the end is in the new file, fsynced. */
    report_durable(s, journal_end(s->j));
    s->syncing_since = 0;
    if ((s->state == JS_WRITE_FAILED || s->state == JS_NO_SPACE) && keep_reserved(s))
        set_ok(s);
    else if (s->state == JS_OK)
        keep_reserved(s);
}

static void on_job_done(evutil_socket_t fd, short what, void *arg);

/* One more round of the tail on the thread, or the last on the loop. */
static void finish_next(struct jstore *s)
{
    if (buf_used(&s->rewrite) <= FINISH_ON_LOOP_BYTES) {
        finish_compaction(s);
        return;
    }
    s->job = filejob_start(s->tmp_fd, buf_head(&s->rewrite), buf_used(&s->rewrite));
    if (s->job == NULL) {
        finish_compaction(s);  /* no thread: the loop does it all */
        return;
    }
    buf_clear(&s->rewrite);
    s->job_done = event_new(s->base, filejob_fd(s->job), EV_READ, on_job_done, s);
    event_add(s->job_done, NULL);
}

static void on_job_done(evutil_socket_t fd, short what, void *arg)
{
    struct jstore *s = arg;
    (void)fd;
    (void)what;
    event_free(s->job_done);
    s->job_done = NULL;
    int err = filejob_finish(s->job);
    s->job = NULL;
    if (err != 0) {
        char why[PATH_MAX + 64];
        snprintf(why, sizeof why, "finishing %.*s: %s", PATH_MAX, s->tmp, strerror(err));
        compaction_failed(s, why);
        return;
    }
    if (s->state == JS_FATAL) {
        compaction_failed(s, "the journal failed meanwhile");
        return;
    }
    finish_next(s);
}

static void on_child(evutil_socket_t sig, short what, void *arg)
{
    struct jstore *s = arg;
    int status;
    (void)sig;
    (void)what;
    if (s->child <= 0 || waitpid(s->child, &status, WNOHANG) != s->child)
        return;
    s->child = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char why[64];
        snprintf(why, sizeof why, "snapshot child exited with %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        compaction_failed(s, why);
        return;
    }
    if (s->state == JS_FATAL) {
        compaction_failed(s, "the journal failed meanwhile");
        return;
    }
    s->tmp_fd = open(s->tmp, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (s->tmp_fd < 0) {
        char why[PATH_MAX + 64];
        snprintf(why, sizeof why, "cannot open %.*s: %s", PATH_MAX, s->tmp, strerror(errno));
        compaction_failed(s, why);
        return;
    }
    finish_next(s);
}

/* A clean stop compacts, here and now (no fork: nothing runs any more), so
 * the next start replays a snapshot alone rather than everything since the
 * last compaction: what PostgreSQL's shutdown checkpoint does for its
 * restart. Anything going wrong leaves the journal as it is. */
static void snapshot_on_close(struct jstore *s)
{
    uint64_t size = journal_file_size(s->j);
    if (journal_end(s->j) - s->snapshot_end < CLOSE_SNAPSHOT_MIN_BYTES)
        return;  /* little written since start-up or the last compaction */
    if (journal_write(s->j) != 0 || journal_written(s->j) != journal_end(s->j))
        return;  /* journal_close() says what is wrong */
    int64_t t0 = clock_mono_ms();
    char err[PATH_MAX + 128];
    snprintf(s->tmp, sizeof s->tmp, "%s/" REWRITE_PREFIX "%lld", s->dir,
             (long long)clock_wall_ms());
    int old_fd = -1, rc;
    if (write_snapshot(s->tmp, s->target) != 0) {
        snprintf(err, sizeof err, "%s", strerror(errno));
        unlink(s->tmp);
    } else if ((rc = journal_install(s->j, s->tmp, &old_fd, err, sizeof err)) == -1) {
        unlink(s->tmp);
    } else {
        if (old_fd >= 0)
            close(old_fd);
        if (rc == -2) {
            /* In use, but its name may not survive a crash: either file is
             * whole, so nothing is lost either way. */
            log_event("warn", "event=shutdown_snapshot_not_synced error=\"%s\"", err);
            return;
        }
        log_event("info", "event=shutdown_snapshot journal_bytes=%llu was=%llu ms=%lld",
                  (unsigned long long)journal_file_size(s->j), (unsigned long long)size,
                  (long long)(clock_mono_ms() - t0));
        return;
    }
    log_event("warn", "event=shutdown_snapshot_failed error=\"%s\"", err);
}

/* --- once a second -------------------------------------------------------- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct jstore *s = arg;
    (void)fd;
    (void)what;
    clock_tick(s->clk);
    switch (s->state) {
    case JS_FATAL:
        return;
    case JS_WRITE_FAILED:
        /* The records are in our buffer: write them from there. */
        if (journal_write(s->j) != 0)
            break;
        log_event("info", "event=journal_write_recovered path=%s", s->path);
        written(s);
        if (s->state == JS_WRITE_FAILED && keep_reserved(s))
            set_ok(s);
        break;
    case JS_NO_SPACE:
        if (journal_reserve(s->j, s->opt.reserve) == 0)
            set_ok(s);
        break;
    case JS_OK:
        break;
    }
    /* Whatever the trouble, what did reach the file is fsynced on time. */
    if (journal_policy(s->j) == FSYNC_EVERYSEC && journal_sync_background(s->j) != 0) {
        set_state(s, JS_FATAL, "cannot hand the journal to the fsync thread: %s",
                  strerror(errno));
        return;
    }
    if (rewriting(s) || s->state != JS_OK || s->clk->now_ms < s->compact_not_before)
        return;
    /* Once what came after the last snapshot is half its size: a restart
     * replays at most that much beyond the snapshot. */
    uint64_t size = journal_file_size(s->j);
    uint64_t grown = s->base_size + s->base_size / 2;
    uint64_t threshold = grown > s->opt.compact_min ? grown : s->opt.compact_min;
    if (size >= threshold)
        start_compaction(s);
}

/* --- opening ------------------------------------------------------------- */

/* Leftovers of a compaction that a crash interrupted: the journal itself
 * is whole (the rename never happened), so they are simply removed. */
static void remove_stale_rewrites(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, REWRITE_PREFIX, strlen(REWRITE_PREFIX)) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0)
            log_event("warn", "event=stale_rewrite_removed path=%s", path);
    }
    closedir(d);
}

/* Recovery, record by record, saying every second or so how far it is:
 * a journal of millions of records takes a while, and a silent start-up
 * looks like a hung one. */
struct replay {
    struct persist_target *target;
    struct clock *clk;
    const char *path;
    uint64_t size;
    uint64_t records;
    int64_t next_report;
};

#define REPLAY_CHECK_EVERY 65536   /* records between looks at the clock */
#define REPLAY_REPORT_MS 1000

static int replay(void *arg, uint8_t type, const char *payload, size_t len, uint64_t offset)
{
    struct replay *r = arg;
    if (++r->records % REPLAY_CHECK_EVERY == 0) {
        clock_tick(r->clk);
        if (r->clk->now_ms >= r->next_report) {
            log_event("info", "event=recovering path=%s records=%llu bytes=%llu of=%llu",
                      r->path, (unsigned long long)r->records, (unsigned long long)offset,
                      (unsigned long long)r->size);
            r->next_report = r->clk->now_ms + REPLAY_REPORT_MS;
        }
    }
    return persist_apply(r->target, type, payload, len, offset);
}

static int make_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    snprintf(err, errlen, "cannot create data directory %s: %s", dir, strerror(errno));
    return -1;
}

struct store *journal_store_open(const struct journal_options *o, struct event_base *base,
                                 struct clock *clk, struct persist_target *t,
                                 const struct store_env *env, char *err, size_t errlen)
{
    if (strlen(o->dir) >= sizeof ((struct jstore *)0)->dir) {
        snprintf(err, errlen, "data directory path is too long");
        return NULL;
    }
    if (make_dir(o->dir, err, errlen) != 0)
        return NULL;
    struct jstore *s = xcalloc(1, sizeof *s);
    s->opt = *o;
    if (s->opt.reserve < JOURNAL_RESERVE_MIN)
        s->opt.reserve = JOURNAL_RESERVE_MIN;
    s->clk = clk;
    s->target = t;
    buf_init(&s->rec);
    buf_init(&s->rewrite);
    buf_init(&s->framed);
    s->turn = turn_new();
    s->tmp_fd = -1;
    s->base = base;
    snprintf(s->dir, sizeof s->dir, "%s", o->dir);
    snprintf(s->path, sizeof s->path, "%s/%s", o->dir, JOURNAL_NAME);
    remove_stale_rewrites(o->dir);

    int64_t start = clock_mono_ms();
    struct journal_recovery rec;
    struct stat st;
    clock_tick(clk);
    struct replay r = {t, clk, s->path, stat(s->path, &st) == 0 ? (uint64_t)st.st_size : 0, 0,
                       clk->now_ms + REPLAY_REPORT_MS};
    s->j = journal_open(s->path, o->fsync, o->repair, replay, &r, &rec, err, errlen);
    persist_recovered(t);
    if (s->j == NULL) {
        buf_free(&s->rec);
        buf_free(&s->rewrite);
        buf_free(&s->framed);
        turn_free(s->turn);
        free(s);
        return NULL;
    }
    s->recovery_ms = clock_mono_ms() - start;
    s->recovered_records = rec.records;
    /* A new journal marks its commits from the first: should that one be
     * torn, recovery knows to cut it whole. */
    if (journal_file_size(s->j) == JOURNAL_MAGIC_LEN) {
        buf_clear(&s->framed);
        journal_frame(&s->framed, JOURNAL_COMMIT, "", 0);
        journal_append_framed(s->j, buf_head(&s->framed), buf_used(&s->framed));
        buf_clear(&s->framed);
    }
    /* How much of a recovered journal is live is unknown: compact once it
     * reaches the minimum, and measure from the result. (Taking its whole
     * size as live let frequent restarts put compaction off for ever.) */
    s->base_size = 0;
    if (rec.torn)
        log_event("warn", "event=journal_torn_tail path=%s offset=%llu cut_bytes=%llu copy=%s",
                  s->path, (unsigned long long)rec.good_end,
                  (unsigned long long)rec.cut_bytes, rec.bad_copy);
    if (rec.repaired)
        log_event("warn", "event=journal_repaired path=%s offset=%llu cut_bytes=%llu copy=%s",
                  s->path, (unsigned long long)rec.good_end,
                  (unsigned long long)rec.cut_bytes, rec.bad_copy);
    log_event("info", "event=recovered path=%s records=%llu orders=%llu ms=%lld fsync=%s",
              s->path, (unsigned long long)rec.records,
              (unsigned long long)book_last_id(t->book), (long long)s->recovery_ms,
              fsync_policy_name(o->fsync));

    s->store = store_new(&journal_ops, s, env);
    s->tick = event_new(base, -1, EV_PERSIST, on_tick, s);
    event_add(s->tick, &(struct timeval){1, 0});
    s->sigchld = evsignal_new(base, SIGCHLD, on_child, s);
    evsignal_add(s->sigchld, NULL);
    if (journal_sync_fd(s->j) >= 0) {
        s->synced = event_new(base, journal_sync_fd(s->j), EV_READ | EV_PERSIST, on_synced, s);
        event_add(s->synced, NULL);
    }
    /* A full disk at start-up is not fatal: reads are served, changes
     * refused, and the reservation retried like any other time. */
    keep_reserved(s);
    return s->store;
}
