/* The journal file: an append-only sequence of records after an 8-byte
 * magic. A record is
 *     u32 length of payload (little endian)
 *     u8  type
 *     u32 CRC-32C of type and payload (little endian)
 *     payload
 * Records are written in commits, each the records of one write (what a
 * loop turn changed together): the type of a commit's last record carries
 * JOURNAL_COMMIT. Recovery reads the file front to back and applies whole
 * commits only. A torn end (a crash mid-write: a torn final record, or a
 * commit whose last record never came) is cut off with a warning, back
 * to the end of the last whole commit; a bad record with good data after
 * it is corruption, which stops start-up unless repair is asked for (the
 * bad tail, from the start of the bad record's commit, is then kept in
 * <journal>.bad-<offset> and the journal cut there). A journal in which
 * no record ends a commit was written before commits were marked, and is
 * recovered record by record. This file knows bytes, not what records
 * mean. */
#ifndef SERVER_JOURNAL_H
#define SERVER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JOURNAL_MAGIC "ORDERDJ1"
#define JOURNAL_MAGIC_LEN 8
#define JOURNAL_HEADER_LEN 9
/* No record is larger: a length field beyond this is corruption, not a
 * torn write (which would otherwise let one flipped bit look like a tail
 * to cut, taking good records with it). */
#define JOURNAL_RECORD_MAX (64u * 1024 * 1024)
/* In a record's type: the last record of a commit. A record of type
 * JOURNAL_COMMIT alone, with no payload, only ends one (a snapshot's
 * last, a new journal's first). Record types are below it. */
#define JOURNAL_COMMIT 0x80u

enum fsync_policy {
    FSYNC_ALWAYS,    /* replies wait for fsync: one per loop turn, off the loop */
    FSYNC_EVERYSEC,  /* fsync once a second, on a background thread */
    FSYNC_NO,        /* the kernel decides */
};

const char *fsync_policy_name(enum fsync_policy p);
int fsync_policy_parse(const char *s);

/* Called at recovery for each record of the whole commits, its type
 * without JOURNAL_COMMIT; a non-zero return stops it. */
typedef int (*journal_record_fn)(void *arg, uint8_t type, const char *payload, size_t len,
                                 uint64_t offset);

struct journal_recovery {
    uint64_t records;
    uint64_t good_end;     /* bytes of good records (with the magic) */
    uint64_t cut_bytes;    /* cut off as a torn tail or by repair */
    bool torn;             /* a torn tail was cut */
    bool repaired;         /* corruption was cut by repair */
    char bad_copy[512];    /* where repair kept the bad tail */
};

struct journal;

/* Opens (creating if needed) path, replaying every record through fn.
 * Returns NULL with err filled when the file is corrupt (and repair is
 * false), unreadable, or fn failed. */
struct journal *journal_open(const char *path, enum fsync_policy policy, bool repair,
                             journal_record_fn fn, void *arg, struct journal_recovery *rec,
                             char *err, size_t errlen);
/* Writes and (unless FSYNC_NO) fsyncs what is buffered, gives back what
 * was reserved past the end, and closes. Returns 0, or -1 with errno set
 * when the last write or fsync failed (or the fsync thread's last one
 * did: then nothing more is fsynced). */
int journal_close(struct journal *j);
/* How long closing waits for the fsync thread's last fdatasync. */
#define JOURNAL_CLOSE_WAIT_MS 30000
/* Closes without writing or fsyncing anything more: after a failed fsync,
 * when nothing may claim durability again. */
void journal_close_unsynced(struct journal *j);

/* Buffers a record, a commit of its own; returns the journal's end
 * position after it. */
uint64_t journal_append(struct journal *j, uint8_t type, const void *payload, size_t len);
/* Appends already framed records, as made by journal_frame() and sealed
 * by journal_seal(), e.g. the records buffered during a rewrite. */
uint64_t journal_append_framed(struct journal *j, const void *bytes, size_t len);
/* Frames a record into b, for writing elsewhere (snapshots). */
void journal_frame(struct buf *b, uint8_t type, const void *payload, size_t len);
/* Marks the last of the records framed in b from byte `from` on as the
 * end of their commit (nothing if there are none). */
void journal_seal(struct buf *b, size_t from);

/* Writes what is buffered. Returns 0, or -1 with errno set: what was not
 * written stays buffered for the next try. */
int journal_write(struct journal *j);
/* fdatasyncs what is written, here and now (start-up and shutdown only:
 * the loop never waits for the disk). Returns 0, or -1 with errno set. */
int journal_sync_now(struct journal *j);

/* Space: makes sure `bytes` more can be written after what is buffered
 * without the filesystem running out (fallocate; the file's size does
 * not change). Returns 0, or -1 with errno set (ENOSPC: the disk is full). */
int journal_reserve(struct journal *j, uint64_t bytes);
/* Bytes reserved beyond what is written and buffered. */
uint64_t journal_headroom(const struct journal *j);

/* always and everysec: asks the background thread to fdatasync what is
 * written so far, without waiting (no: fdatasyncs here). Returns 0, or -1
 * with errno set. */
int journal_sync_background(struct journal *j);
/* Readable when a background fdatasync finished (-1 with fsync=no). */
int journal_sync_fd(const struct journal *j);
/* Takes in what the background thread finished: journal_synced(),
 * journal_fsyncs() and journal_last_fsync_us() move only then. Returns 0,
 * or -1 with errno set when a background fdatasync failed: that is final,
 * the data may be lost whatever a later fsync says. */
int journal_sync_collect(struct journal *j);

uint64_t journal_end(const struct journal *j);      /* appended */
uint64_t journal_written(const struct journal *j);  /* in the file */
uint64_t journal_synced(const struct journal *j);   /* fsynced */
enum fsync_policy journal_policy(const struct journal *j);
/* The file's size now (its own offsets, not logical positions). */
uint64_t journal_file_size(const struct journal *j);
uint64_t journal_fsyncs(const struct journal *j);
/* How long the last fdatasync took, in microseconds. */
uint64_t journal_last_fsync_us(const struct journal *j);

/* Replaces the file with a rewritten one at tmp_path, which must hold
 * everything appended so far (buffered records included) and be fsynced:
 * renames it over the journal, appends to it from then on, and fsyncs the
 * directory. The old file's descriptor is handed to the caller (*old_fd,
 * or -1) to close: closing the last link to a large file frees its
 * blocks, which takes long enough to stall a loop. Returns 0; -1 with err
 * filled when nothing changed (the old journal stays in use); or -2 with
 * err filled when the rename happened but could not be made durable (the
 * new file is in use; what a crash would leave is not known). */
int journal_install(struct journal *j, const char *tmp_path, int *old_fd, char *err,
                    size_t errlen);

/* fsync of a directory, after a rename in it. */
int journal_sync_dir(const char *path);
/* Writes all n bytes to fd, through short writes and EINTR: 0, or -1
 * with errno set. */
int journal_write_all(int fd, const void *bytes, size_t n);

#endif
