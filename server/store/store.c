/* The store (see store.h): the journal back-end and its compaction. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orders/book.h"
#include "channels/channel.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "xalloc.h"

#define REWRITE_PREFIX "journal.rewrite."

struct store {
    enum store_kind kind;
    struct journal *j;           /* journal kind only */
    char path[PATH_MAX];
    char dir[PATH_MAX / 2];      /* room left in path and tmp for a name */
    uint64_t compact_min;
    uint64_t base_size;          /* journal size after the last rewrite */
    struct buf rec;              /* scratch for encoding */
    uint64_t records;
    bool failed;
    /* Compaction in progress: the child writing tmp, and every record
     * made since it forked, to append to tmp before it replaces the
     * journal. */
    pid_t child;
    char tmp[PATH_MAX];
    struct buf rewrite;
    int64_t rewrite_started_ms;
    uint64_t compactions;
    uint64_t recovered_records;
    int64_t recovery_ms;
    void (*wake)(void *arg);
    void *wake_arg;
    bool woken;
    struct histogram fsync_us;
};

/* Writes (and with sync, fsyncs), timing the fsync if there was one. */
static int write_journal(struct store *s, bool sync)
{
    uint64_t before = journal_fsyncs(s->j);
    int rc = journal_write(s->j, sync);
    if (journal_fsyncs(s->j) != before)
        hist_record(&s->fsync_us, journal_last_fsync_us(s->j));
    return rc;
}

/* fsync=everysec, once a second: take in what the background fdatasync
 * finished since the last tick, then ask for the next one. The loop never
 * waits for the disk here (a 10-20 ms fdatasync stalled every connection). */
static int sync_in_background(struct store *s)
{
    uint64_t before = journal_fsyncs(s->j);
    int rc = journal_sync_collect(s->j);
    if (journal_fsyncs(s->j) != before)
        hist_record(&s->fsync_us, journal_last_fsync_us(s->j));
    if (rc != 0)
        return rc;
    if (write_journal(s, false) != 0)
        return -1;
    return journal_sync_background(s->j);
}

const struct histogram *store_fsync_histogram(const struct store *s)
{
    return &s->fsync_us;
}

void store_set_wake(struct store *s, void (*wake)(void *arg), void *arg)
{
    s->wake = wake;
    s->wake_arg = arg;
}

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

static int make_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    snprintf(err, errlen, "cannot create data directory %s: %s", dir, strerror(errno));
    return -1;
}

struct store *store_open(const struct store_config *cfg, struct persist_target *t,
                         char *err, size_t errlen)
{
    struct store *s = xcalloc(1, sizeof *s);
    s->kind = cfg->kind;
    buf_init(&s->rec);
    buf_init(&s->rewrite);
    if (cfg->kind == STORE_MEMORY)
        return s;
    if (strlen(cfg->dir) >= sizeof s->dir) {
        snprintf(err, errlen, "data directory path is too long");
        free(s);
        return NULL;
    }
    if (make_dir(cfg->dir, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    snprintf(s->dir, sizeof s->dir, "%s", cfg->dir);
    snprintf(s->path, sizeof s->path, "%s/%s", cfg->dir, STORE_JOURNAL_NAME);
    s->compact_min = cfg->compact_min;
    remove_stale_rewrites(cfg->dir);

    int64_t start = clock_mono_ms();
    struct journal_recovery rec;
    s->j = journal_open(s->path, cfg->fsync, cfg->repair, persist_apply, t, &rec, err, errlen);
    if (s->j == NULL) {
        free(s);
        return NULL;
    }
    s->recovery_ms = clock_mono_ms() - start;
    s->recovered_records = rec.records;
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
              fsync_policy_name(cfg->fsync));
    return s;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    if (s->child > 0) {
        /* A compaction still running: its result would be stale. */
        kill(s->child, SIGKILL);
        waitpid(s->child, NULL, 0);
        unlink(s->tmp);
    }
    journal_close(s->j);
    buf_free(&s->rec);
    buf_free(&s->rewrite);
    free(s);
}

static void record(struct store *s, uint8_t type)
{
    if (s->j) {
        journal_append(s->j, type, buf_head(&s->rec), buf_used(&s->rec));
        if (s->child > 0)
            journal_frame(&s->rewrite, type, buf_head(&s->rec), buf_used(&s->rec));
    }
    s->records++;
    buf_clear(&s->rec);
    if (!s->woken && s->wake) {
        s->woken = true;
        s->wake(s->wake_arg);
    }
}

void store_on_order(void *store, const struct order_event *ev, const struct order *o, int from)
{
    struct store *s = store;
    uint8_t type;
    (void)o;
    (void)from;
    if (s->kind == STORE_MEMORY)
        return;
    persist_encode_order(&s->rec, ev, &type);
    record(s, type);
}

void store_on_change(struct store *s, const struct chan_change *c)
{
    uint8_t type;
    if (s == NULL || s->kind == STORE_MEMORY)
        return;
    persist_encode_change(&s->rec, c, &type);
    record(s, type);
}

void store_on_saga(struct store *s, const struct saga *sg, int step)
{
    uint8_t type;
    if (s == NULL || s->kind == STORE_MEMORY)
        return;
    persist_encode_saga(&s->rec, sg, step, &type);
    record(s, type);
}

void store_on_sim(struct store *s, int type, const char *key, int64_t value)
{
    if (s == NULL || s->kind == STORE_MEMORY)
        return;
    persist_encode_sim(&s->rec, type, key, value);
    record(s, REC_SIM);
}

void store_on_tracking(struct store *s, uint64_t order, const struct tracking *t)
{
    if (s == NULL || s->kind == STORE_MEMORY)
        return;
    persist_encode_tracking(&s->rec, order, t);
    record(s, REC_SAGA_TRACK);
}

int store_flush(struct store *s)
{
    if (s == NULL)
        return 0;
    s->woken = false;
    if (s->j == NULL || journal_written(s->j) == journal_end(s->j))
        return 0;
    if (write_journal(s, journal_policy(s->j) == FSYNC_ALWAYS) != 0) {
        if (!s->failed)
            log_event("error", "event=journal_write_failed path=%s error=\"%s\"", s->path,
                      strerror(errno));
        s->failed = true;
        return -1;
    }
    if (s->failed)
        log_event("info", "event=journal_write_recovered path=%s", s->path);
    s->failed = false;
    return 0;
}

/* --- compaction -------------------------------------------------------- */

static int write_chunk(void *arg, struct buf *out)
{
    if (journal_write_all(*(int *)arg, buf_head(out), buf_used(out)) != 0)
        return -1;
    buf_clear(out);
    return 0;
}

/* In the child: the snapshot, from the memory it shares with the parent
 * as of the fork. Only _exit: nothing of the parent's may run here. */
static void child_write_snapshot(const char *tmp, const struct persist_target *t)
{
    /* Let go of the parent's sockets (and its listener), or a connection
     * the parent closes stays open until the child is done, and an orphan
     * keeps the port. stdin/out/err stay. */
    close_range(3, ~0U, 0);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        _exit(2);
    struct buf out;
    buf_init(&out);
    buf_append(&out, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
    if (persist_snapshot(t, &out, write_chunk, &fd) != 0 || fsync(fd) != 0)
        _exit(3);
    close(fd);
    _exit(0);
}

static uint64_t file_size(const char *path);

static void start_compaction(struct store *s, const struct persist_target *t)
{
    /* Everything recorded so far must be in the file or in the snapshot:
     * it is in memory, so in the snapshot. */
    snprintf(s->tmp, sizeof s->tmp, "%s/" REWRITE_PREFIX "%lld", s->dir,
             (long long)clock_wall_ms());
    buf_clear(&s->rewrite);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        log_event("error", "event=compaction_failed error=\"fork: %s\"", strerror(errno));
        return;
    }
    if (pid == 0)
        child_write_snapshot(s->tmp, t);
    s->child = pid;
    s->rewrite_started_ms = clock_mono_ms();
    log_event("info", "event=compaction_started pid=%d journal_bytes=%llu", (int)pid,
              (unsigned long long)file_size(s->path));
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void store_tick(struct store *s, const struct persist_target *t)
{
    if (s == NULL || s->j == NULL)
        return;
    if (journal_policy(s->j) == FSYNC_EVERYSEC && sync_in_background(s) != 0 && !s->failed) {
        log_event("error", "event=journal_fsync_failed path=%s error=\"%s\"", s->path,
                  strerror(errno));
        s->failed = true;
    }
    if (s->child > 0)
        return;
    uint64_t size = file_size(s->path);
    uint64_t threshold = s->base_size * 2 > s->compact_min ? s->base_size * 2 : s->compact_min;
    if (size >= threshold)
        start_compaction(s, t);
}

static void finish_compaction(struct store *s)
{
    char err[512];
    int fd = open(s->tmp, O_WRONLY | O_APPEND | O_CLOEXEC);
    /* The records made while the child wrote, then the swap. */
    if (fd < 0 || write_chunk(&fd, &s->rewrite) != 0 || fsync(fd) != 0) {
        log_event("error", "event=compaction_failed error=\"finishing %s: %s\"", s->tmp,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(s->tmp);
        return;
    }
    close(fd);
    /* The journal's own unwritten tail is in the rewrite buffer too: the
     * new file holds everything recorded so far. */
    if (journal_install(s->j, s->tmp, err, sizeof err) != 0) {
        log_event("error", "event=compaction_failed error=\"%s\"", err);
        unlink(s->tmp);
        return;
    }
    s->base_size = file_size(s->path);
    s->compactions++;
    log_event("info", "event=compaction_done journal_bytes=%llu ms=%lld",
              (unsigned long long)s->base_size,
              (long long)(clock_mono_ms() - s->rewrite_started_ms));
}

void store_child_exited(struct store *s)
{
    int status;
    if (s == NULL || s->child <= 0 || waitpid(s->child, &status, WNOHANG) != s->child)
        return;
    s->child = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        finish_compaction(s);
    } else {
        log_event("error", "event=compaction_failed error=\"snapshot child exited with %d\"",
                  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        unlink(s->tmp);
    }
    buf_clear(&s->rewrite);
}

uint64_t store_end(const struct store *s)
{
    return s && s->j ? journal_end(s->j) : 0;
}

uint64_t store_durable(const struct store *s)
{
    if (s == NULL || s->j == NULL)
        return 0;
    return journal_policy(s->j) == FSYNC_ALWAYS ? journal_synced(s->j) : journal_end(s->j);
}

bool store_holds_replies(const struct store *s)
{
    return s && s->j && journal_policy(s->j) == FSYNC_ALWAYS &&
           journal_synced(s->j) < journal_end(s->j);
}

bool store_failed(const struct store *s)
{
    return s && s->failed;
}

void store_stats(const struct store *s, struct store_stats *st)
{
    memset(st, 0, sizeof *st);
    st->kind = s->kind == STORE_MEMORY ? "memory" : "journal";
    st->records = s->records;
    st->recovered_records = s->recovered_records;
    st->recovery_ms = s->recovery_ms;
    if (s->j == NULL) {
        st->fsync = "none";
        return;
    }
    st->fsync = fsync_policy_name(journal_policy(s->j));
    st->bytes = journal_end(s->j);
    st->file_size = file_size(s->path);
    st->fsyncs = journal_fsyncs(s->j);
    st->compactions = s->compactions;
    st->compacting = s->child > 0;
}
