/* The journal file (see journal.h). Positions handed out are logical: bytes
 * appended since start-up, which keep growing across a rewrite, so a reply
 * waiting for "position p is on disk" is not confused when the file is
 * swapped under it. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "syncer.h"
#include "xalloc.h"

struct journal {
    char *path;             /* owned */
    int fd;
    enum fsync_policy policy;
    struct buf pending;     /* framed, not yet written */
    uint64_t appended;      /* logical: everything handed to us */
    uint64_t written;       /* logical: in the file */
    uint64_t synced;        /* logical: fsynced */
    uint64_t fsyncs;
    uint64_t last_fsync_us;
    /* The file itself, in its own offsets: how long it is, and up to where
     * space is allocated for it (fallocate, keeping the size), so that
     * writing what is reserved cannot run out of space. */
    uint64_t file_size;
    uint64_t reserved_to;
    /* always and everysec: the thread that fdatasyncs off the loop, and
     * what it had done at the last look. */
    struct syncer *syncer;
    uint64_t bg_fsyncs;
    uint64_t bg_requested;  /* logical: the last offset asked for */
};

const char *fsync_policy_name(enum fsync_policy p)
{
    switch (p) {
    case FSYNC_ALWAYS: return "always";
    case FSYNC_EVERYSEC: return "everysec";
    case FSYNC_NO: return "no";
    }
    return "?";
}

int fsync_policy_parse(const char *s)
{
    if (strcasecmp(s, "always") == 0)
        return FSYNC_ALWAYS;
    if (strcasecmp(s, "everysec") == 0)
        return FSYNC_EVERYSEC;
    if (strcasecmp(s, "no") == 0)
        return FSYNC_NO;
    return -1;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t record_crc(uint8_t type, const void *payload, size_t len)
{
    return crc32c(crc32c(0, &type, 1), payload, len);
}

void journal_frame(struct buf *b, uint8_t type, const void *payload, size_t len)
{
    unsigned char hdr[JOURNAL_HEADER_LEN];
    put_u32(hdr, (uint32_t)len);
    hdr[4] = type;
    put_u32(hdr + 5, record_crc(type, payload, len));
    buf_append(b, hdr, sizeof hdr);
    buf_append(b, payload, len);
}

void journal_seal(struct buf *b, size_t from)
{
    unsigned char *p = (unsigned char *)buf_head(b);
    size_t used = buf_used(b), last = used;
    for (size_t off = from; off + JOURNAL_HEADER_LEN <= used;
         off += JOURNAL_HEADER_LEN + get_u32(p + off))
        last = off;
    if (last == used)
        return;
    uint32_t len = get_u32(p + last);
    p[last + 4] |= JOURNAL_COMMIT;
    put_u32(p + last + 5, record_crc(p[last + 4], p + last + JOURNAL_HEADER_LEN, len));
}

int journal_sync_dir(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int journal_write_all(int fd, const void *bytes, size_t n)
{
    const char *p = bytes;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Keeps [from, end) of the file in <path>.bad-<from>, for a person to look
 * at, before it is cut off (a repair, or a torn tail). */
static int keep_bad_tail(const char *path, const unsigned char *map, uint64_t from,
                         uint64_t end, char *copy, size_t copylen)
{
    snprintf(copy, copylen, "%s.bad-%llu", path, (unsigned long long)from);
    int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = journal_write_all(fd, (const char *)map + from, (size_t)(end - from));
    if (rc == 0)
        rc = fsync(fd);
    close(fd);
    return rc;
}

static bool all_zero(const unsigned char *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

enum scan_end { SCAN_CLEAN, SCAN_TORN, SCAN_CORRUPT };

/* Is there a whole, valid record anywhere in map[from, size)? A crash can
 * tear only the last record, so after a real tear there is none; finding
 * one means good data follows the bad record: corruption. A tail longer
 * than the largest record cannot be a single tear at all. */
static bool valid_record_after(const unsigned char *map, uint64_t from, uint64_t size)
{
    if (size - from > (uint64_t)JOURNAL_RECORD_MAX + JOURNAL_HEADER_LEN)
        return true;
    for (uint64_t off = from; off + JOURNAL_HEADER_LEN <= size; off++) {
        uint32_t len = get_u32(map + off);
        if (len > JOURNAL_RECORD_MAX || off + JOURNAL_HEADER_LEN + len > size)
            continue;
        uint8_t type = map[off + 4];
        if (type != 0 && record_crc(type, map + off + JOURNAL_HEADER_LEN, len) ==
                             get_u32(map + off + 5))
            return true;
    }
    return false;
}

/* Walks the records of map[0..size) and checks them: rec->good_end is
 * where the good ones end. The commits: *sealed tells whether any record
 * ends one (the journal marks its commits), *commit_end where the last
 * one that ended does. */
static enum scan_end scan(const unsigned char *map, uint64_t size, struct journal_recovery *rec,
                          bool *sealed, uint64_t *commit_end, char *why, size_t whylen)
{
    uint64_t off = JOURNAL_MAGIC_LEN;
    rec->good_end = off;
    *sealed = false;
    *commit_end = off;
    while (off < size) {
        uint64_t left = size - off;
        if (all_zero(map + off, left)) {
            snprintf(why, whylen, "zero-filled tail");
            return SCAN_TORN;
        }
        if (left < JOURNAL_HEADER_LEN) {
            snprintf(why, whylen, "incomplete record header");
            return SCAN_TORN;
        }
        uint32_t len = get_u32(map + off);
        uint8_t type = map[off + 4];
        uint32_t crc = get_u32(map + off + 5);
        if (len > JOURNAL_RECORD_MAX) {
            snprintf(why, whylen, "record length %u is over the %u limit", len,
                     JOURNAL_RECORD_MAX);
            return SCAN_CORRUPT;
        }
        uint64_t end = off + JOURNAL_HEADER_LEN + len;
        if (end > size) {
            snprintf(why, whylen, "record of %u bytes runs past the end of the file", len);
            /* A half-written last record -- or a flipped length bit that
             * swallowed good records after it. */
            return valid_record_after(map, off + 1, size) ? SCAN_CORRUPT : SCAN_TORN;
        }
        const char *payload = (const char *)map + off + JOURNAL_HEADER_LEN;
        if (record_crc(type, payload, len) != crc) {
            snprintf(why, whylen, "checksum mismatch");
            return end == size && !valid_record_after(map, off + 1, size) ? SCAN_TORN
                                                                          : SCAN_CORRUPT;
        }
        off = end;
        rec->good_end = off;
        if (type & JOURNAL_COMMIT) {
            *sealed = true;
            *commit_end = off;
        }
    }
    return SCAN_CLEAN;
}

/* Calls fn on each record of map[JOURNAL_MAGIC_LEN, end), which scan()
 * found good, with its type (the commit mark taken off); a record that
 * only ends a commit is not passed on. */
static int apply(const unsigned char *map, uint64_t end, journal_record_fn fn, void *arg,
                 struct journal_recovery *rec, char *err, size_t errlen, const char *path)
{
    for (uint64_t off = JOURNAL_MAGIC_LEN; off < end;) {
        uint32_t len = get_u32(map + off);
        uint8_t type = map[off + 4] & (uint8_t)~JOURNAL_COMMIT;
        const char *payload = (const char *)map + off + JOURNAL_HEADER_LEN;
        if (type != 0) {
            if (fn && fn(arg, type, payload, len, off) != 0) {
                snprintf(err, errlen, "%s: at byte %llu: record of type %u could not be applied",
                         path, (unsigned long long)off, type);
                return -1;
            }
            rec->records++;
        }
        off += JOURNAL_HEADER_LEN + len;
    }
    return 0;
}

static struct journal *journal_new(const char *path, int fd, enum fsync_policy policy,
                                   uint64_t size, char *err, size_t errlen)
{
    struct syncer *syncer = NULL;
    if (policy != FSYNC_NO && (syncer = syncer_start()) == NULL) {
        snprintf(err, errlen, "cannot start the fsync thread: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    struct journal *j = xcalloc(1, sizeof *j);
    j->path = xstrdup(path);
    j->fd = fd;
    j->policy = policy;
    j->syncer = syncer;
    j->file_size = j->reserved_to = size;
    buf_init(&j->pending);
    return j;
}

struct journal *journal_open(const char *path, enum fsync_policy policy, bool repair,
                             journal_record_fn fn, void *arg, struct journal_recovery *rec,
                             char *err, size_t errlen)
{
    memset(rec, 0, sizeof *rec);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    uint64_t size = (uint64_t)st.st_size;
    /* A file shorter than the magic is one whose creation was torn. */
    if (size < JOURNAL_MAGIC_LEN) {
        if (ftruncate(fd, 0) != 0 || journal_write_all(fd, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) != 0 ||
            fsync(fd) != 0 || journal_sync_dir(path) != 0) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        rec->good_end = JOURNAL_MAGIC_LEN;
        rec->cut_bytes = size;
        rec->torn = size > 0;
        close(fd);
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open %s for appending: %s", path, strerror(errno));
            return NULL;
        }
        return journal_new(path, fd, policy, JOURNAL_MAGIC_LEN, err, errlen);
    }
    unsigned char *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (memcmp(map, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) != 0) {
        snprintf(err, errlen, "%s is not an orderd journal (bad magic)", path);
        munmap(map, (size_t)size);
        close(fd);
        return NULL;
    }
    char why[160];
    bool sealed;
    uint64_t commit_end;
    enum scan_end end = scan(map, size, rec, &sealed, &commit_end, why, sizeof why);
    uint64_t bad_at = rec->good_end;  /* where the good records end */
    /* A journal that marks its commits is recovered commit by commit: the
     * records of one that did not end (its write was cut short by a crash,
     * or the bad record is in it) go with the tail, so that recovery never
     * sees half of what one loop turn changed together (an order without
     * its saga). A journal without marks is from before they were made. */
    if (sealed && commit_end < rec->good_end) {
        if (end == SCAN_CLEAN) {
            end = SCAN_TORN;
            snprintf(why, sizeof why, "a commit without its end");
        }
        rec->good_end = commit_end;
    }
    int rc = 0;
    if (end == SCAN_CORRUPT && !repair) {
        snprintf(err, errlen,
                 "%s is corrupt at byte %llu (%s), with %llu more bytes after it; "
                 "start with --repair to keep that tail in a copy and cut it off",
                 path, (unsigned long long)bad_at, why, (unsigned long long)(size - bad_at));
        rc = -1;
    }
    /* The file is cut only once what it keeps has been applied. */
    if (rc == 0)
        rc = apply(map, rec->good_end, fn, arg, rec, err, errlen, path);
    if (rc == 0 && end == SCAN_CORRUPT) {
        if (keep_bad_tail(path, map, rec->good_end, size, rec->bad_copy,
                          sizeof rec->bad_copy) != 0) {
            snprintf(err, errlen, "cannot keep the bad tail of %s: %s", path, strerror(errno));
            rc = -1;
        } else {
            rec->repaired = true;
        }
    }
    if (rc == 0 && (end == SCAN_CORRUPT || end == SCAN_TORN)) {
        /* Cut like a tear; a tear is kept too, for a person to look at. */
        rec->torn = end == SCAN_TORN;
        rec->cut_bytes = size - rec->good_end;
        if (rec->torn && keep_bad_tail(path, map, rec->good_end, size, rec->bad_copy,
                                       sizeof rec->bad_copy) != 0) {
            snprintf(err, errlen, "cannot keep the torn tail of %s: %s", path, strerror(errno));
            rc = -1;
        } else if (ftruncate(fd, (off_t)rec->good_end) != 0 || fsync(fd) != 0) {
            snprintf(err, errlen, "cannot cut %s at byte %llu: %s", path,
                     (unsigned long long)rec->good_end, strerror(errno));
            rc = -1;
        }
    }
    munmap(map, (size_t)size);
    close(fd);
    if (rc != 0)
        return NULL;
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s for appending: %s", path, strerror(errno));
        return NULL;
    }
    return journal_new(path, fd, policy, rec->good_end, err, errlen);
}

int journal_close(struct journal *j)
{
    if (j == NULL)
        return 0;
    /* The last fsync is the loop's own, after the thread is gone; but a
     * failure of the thread's last one is not papered over by another. */
    int rc = 0;
    if (j->syncer) {
        syncer_wait_idle(j->syncer, JOURNAL_CLOSE_WAIT_MS);
        rc = journal_sync_collect(j);
        syncer_stop(j->syncer);
        j->syncer = NULL;
    }
    if (rc == 0)
        rc = journal_write(j);
    if (rc == 0 && j->policy != FSYNC_NO)
        rc = journal_sync_now(j);
    int saved = errno;
    /* Whatever was reserved past the end goes back to the filesystem. */
    if (j->reserved_to > j->file_size)
        ftruncate(j->fd, (off_t)j->file_size);
    close(j->fd);
    buf_free(&j->pending);
    free(j->path);
    free(j);
    errno = saved;
    return rc;
}

void journal_close_unsynced(struct journal *j)
{
    if (j == NULL)
        return;
    syncer_stop(j->syncer);
    close(j->fd);
    buf_free(&j->pending);
    free(j->path);
    free(j);
}

uint64_t journal_append(struct journal *j, uint8_t type, const void *payload, size_t len)
{
    journal_frame(&j->pending, type | JOURNAL_COMMIT, payload, len);
    j->appended += JOURNAL_HEADER_LEN + len;
    return j->appended;
}

uint64_t journal_append_framed(struct journal *j, const void *bytes, size_t len)
{
    buf_append(&j->pending, bytes, len);
    j->appended += len;
    return j->appended;
}

int journal_write(struct journal *j)
{
    while (buf_used(&j->pending) > 0) {
        ssize_t w = write(j->fd, buf_head(&j->pending), buf_used(&j->pending));
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            if (w == 0)
                errno = EIO;  /* a file that takes nothing: never loop on it */
            return -1;
        }
        buf_consume(&j->pending, (size_t)w);
        j->written += (uint64_t)w;
        j->file_size += (uint64_t)w;
        if (j->reserved_to < j->file_size)
            j->reserved_to = j->file_size;
    }
    return 0;
}

int journal_sync_now(struct journal *j)
{
    if (j->synced >= j->written)
        return 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (fdatasync(j->fd) != 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    j->last_fsync_us = (uint64_t)((b.tv_sec - a.tv_sec) * 1000000 +
                                  (b.tv_nsec - a.tv_nsec) / 1000);
    j->synced = j->written;
    j->fsyncs++;
    return 0;
}

int journal_reserve(struct journal *j, uint64_t bytes)
{
    uint64_t want = j->file_size + buf_used(&j->pending) + bytes;
    if (want <= j->reserved_to)
        return 0;
    /* KEEP_SIZE: the file's size (what recovery reads) stays the end of
     * the last record; only blocks are allocated past it. */
    if (fallocate(j->fd, FALLOC_FL_KEEP_SIZE, (off_t)j->reserved_to,
                  (off_t)(want - j->reserved_to)) != 0)
        return -1;
    j->reserved_to = want;
    return 0;
}

uint64_t journal_headroom(const struct journal *j)
{
    uint64_t used = j->file_size + buf_used(&j->pending);
    return j->reserved_to > used ? j->reserved_to - used : 0;
}

int journal_sync_fd(const struct journal *j)
{
    return j->syncer ? syncer_fd(j->syncer) : -1;
}

int journal_sync_background(struct journal *j)
{
    if (j->syncer == NULL)
        return journal_sync_now(j);
    if (j->written <= j->synced || j->written <= j->bg_requested)
        return 0;
    if (syncer_post(j->syncer, j->fd, j->written) != 0)
        return -1;
    j->bg_requested = j->written;
    return 0;
}

int journal_sync_collect(struct journal *j)
{
    if (j->syncer == NULL)
        return 0;
    struct syncer_result r;
    syncer_poll(j->syncer, &r);
    if (r.fsyncs != j->bg_fsyncs) {
        j->fsyncs += r.fsyncs - j->bg_fsyncs;
        j->bg_fsyncs = r.fsyncs;
        j->last_fsync_us = r.last_us;
    }
    if (r.synced > j->synced)
        j->synced = r.synced;
    if (r.error != 0) {
        /* Not asked again: after a failed fdatasync the kernel may have
         * dropped the dirty pages, and a second one could report success
         * for data that is lost (PostgreSQL's "fsyncgate"). */
        errno = r.error;
        return -1;
    }
    return 0;
}

uint64_t journal_end(const struct journal *j) { return j->appended; }
uint64_t journal_written(const struct journal *j) { return j->written; }
uint64_t journal_synced(const struct journal *j) { return j->synced; }
enum fsync_policy journal_policy(const struct journal *j) { return j->policy; }
uint64_t journal_file_size(const struct journal *j) { return j->file_size; }
uint64_t journal_fsyncs(const struct journal *j) { return j->fsyncs; }
uint64_t journal_last_fsync_us(const struct journal *j) { return j->last_fsync_us; }

int journal_install(struct journal *j, const char *tmp_path, int *old_fd, char *err,
                    size_t errlen)
{
    *old_fd = -1;
    /* Everything that can fail without consequence first: until the
     * rename, the old journal is whole and stays in use. */
    int fd = open(tmp_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot open %s: %s", tmp_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (rename(tmp_path, j->path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp_path, j->path, strerror(errno));
        close(fd);
        return -1;
    }
    /* From here the journal's name is the new file: it is the one to
     * write to, whatever happens next. */
    *old_fd = j->fd;
    j->fd = fd;
    /* It holds everything appended so far, fsynced; nothing is reserved
     * past its end yet. */
    buf_clear(&j->pending);
    j->written = j->synced = j->appended;
    j->file_size = j->reserved_to = (uint64_t)st.st_size;
    if (journal_sync_dir(j->path) != 0) {
        snprintf(err, errlen, "cannot fsync the directory of %s: %s", j->path, strerror(errno));
        return -2;
    }
    return 0;
}
