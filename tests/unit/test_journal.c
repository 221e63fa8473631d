/* The journal file: records written come back in order; a torn tail is
 * cut at every possible byte; a flipped bit with good data after it stops
 * recovery, and repair keeps the bad tail in a copy; recovery takes whole
 * commits, or record by record a journal that marks none. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/journal.h"

struct seen {
    int n;
    uint8_t types[64];
    char payloads[64][32];
};

static int collect(void *arg, uint8_t type, const char *payload, size_t len, uint64_t off)
{
    struct seen *s = arg;
    (void)off;
    assert_true(s->n < 64 && len < 32);
    s->types[s->n] = type;
    memcpy(s->payloads[s->n], payload, len);
    s->payloads[s->n][len] = '\0';
    s->n++;
    return 0;
}

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/orderd-journal-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static uint64_t file_size(void)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* Writes records "r0".."r<n-1>" with types 1..n; returns the offset of
 * each record's start in offs (when not NULL). */
static void write_records(int n, uint64_t *offs)
{
    struct journal_recovery rec;
    char err[256];
    struct journal *j = journal_open(path, FSYNC_ALWAYS, false, NULL, NULL, &rec, err, sizeof err);
    assert_non_null(j);
    uint64_t pos = JOURNAL_MAGIC_LEN;
    for (int i = 0; i < n; i++) {
        char p[8];
        int len = snprintf(p, sizeof p, "r%d", i);
        if (offs)
            offs[i] = pos;
        journal_append(j, (uint8_t)(i + 1), p, (size_t)len);
        pos += JOURNAL_HEADER_LEN + (uint64_t)len;
    }
    assert_int_equal(journal_write(j), 0);
    assert_int_equal(journal_sync_now(j), 0);
    assert_int_equal(journal_synced(j), journal_end(j));
    journal_close(j);
}

static struct journal *reopen(bool repair, struct seen *s, struct journal_recovery *rec,
                              char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    return journal_open(path, FSYNC_NO, repair, collect, s, rec, err, errlen);
}

static void test_records_come_back_in_order(void **state)
{
    (void)state;
    write_records(5, NULL);
    struct seen s;
    struct journal_recovery rec;
    char err[256];
    struct journal *j = reopen(false, &s, &rec, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.types[4], 5);
    assert_string_equal(s.payloads[3], "r3");
    assert_false(rec.torn);
    assert_int_equal(rec.records, 5);
    /* Appending after recovery continues the same file. */
    journal_append(j, 9, "more", 4);
    assert_int_equal(journal_write(j), 0);
    journal_close(j);
    j = reopen(false, &s, &rec, err, sizeof err);
    assert_int_equal(s.n, 6);
    assert_string_equal(s.payloads[5], "more");
    journal_close(j);
}

static void test_torn_last_record_is_cut_at_every_offset(void **state)
{
    (void)state;
    uint64_t offs[4];
    write_records(4, offs);
    uint64_t full = file_size();
    /* Cut anywhere inside the last record: three records survive. */
    for (uint64_t cut = offs[3]; cut < full; cut++) {
        write_records(4, NULL);
        assert_int_equal(truncate(path, (off_t)cut), 0);
        struct seen s;
        struct journal_recovery rec;
        char err[256];
        struct journal *j = reopen(false, &s, &rec, err, sizeof err);
        assert_non_null(j);
        assert_int_equal(s.n, 3);
        assert_int_equal(rec.torn, cut > offs[3]);
        assert_int_equal(rec.good_end, offs[3]);
        journal_close(j);
        assert_int_equal(file_size(), offs[3]);
        unlink(path);
    }
}

static void test_truncation_inside_the_magic_starts_empty(void **state)
{
    (void)state;
    for (off_t cut = 0; cut < JOURNAL_MAGIC_LEN; cut++) {
        write_records(2, NULL);
        assert_int_equal(truncate(path, cut), 0);
        struct seen s;
        struct journal_recovery rec;
        char err[256];
        struct journal *j = reopen(false, &s, &rec, err, sizeof err);
        assert_non_null(j);
        assert_int_equal(s.n, 0);
        journal_close(j);
        assert_int_equal(file_size(), JOURNAL_MAGIC_LEN);
        unlink(path);
    }
}

static void flip_bit(uint64_t at)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, (off_t)at), 1);
    c ^= 0x10;
    assert_int_equal(pwrite(fd, &c, 1, (off_t)at), 1);
    close(fd);
}

static void test_flipped_bit_in_the_middle_is_refused(void **state)
{
    (void)state;
    uint64_t offs[5];
    write_records(5, offs);
    uint64_t size = file_size();
    flip_bit(offs[2] + JOURNAL_HEADER_LEN);  /* record 2's payload */
    struct seen s;
    struct journal_recovery rec;
    char err[512];
    assert_null(reopen(false, &s, &rec, err, sizeof err));
    char want[64];
    snprintf(want, sizeof want, "corrupt at byte %llu", (unsigned long long)offs[2]);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "--repair"));
    assert_int_equal(file_size(), size);  /* nothing was cut */
}

static void test_repair_keeps_the_bad_tail_and_cuts_it(void **state)
{
    (void)state;
    uint64_t offs[5];
    write_records(5, offs);
    uint64_t size = file_size();
    flip_bit(offs[1] + 5);  /* record 1's checksum */
    struct seen s;
    struct journal_recovery rec;
    char err[512];
    struct journal *j = reopen(true, &s, &rec, err, sizeof err);
    assert_non_null(j);
    assert_true(rec.repaired);
    assert_int_equal(s.n, 1);
    assert_int_equal(rec.cut_bytes, size - offs[1]);
    journal_close(j);
    assert_int_equal(file_size(), offs[1]);
    struct stat st;
    assert_int_equal(stat(rec.bad_copy, &st), 0);
    assert_int_equal((uint64_t)st.st_size, size - offs[1]);
}

static void test_absurd_length_is_corruption_not_a_tear(void **state)
{
    (void)state;
    uint64_t offs[3];
    write_records(3, offs);
    flip_bit(offs[1] + 3);  /* the length's top byte: 256 MiB and more */
    struct seen s;
    struct journal_recovery rec;
    char err[512];
    assert_null(reopen(false, &s, &rec, err, sizeof err));
    assert_non_null(strstr(err, "over the"));
}

static void test_zero_filled_tail_is_a_tear(void **state)
{
    (void)state;
    write_records(3, NULL);
    uint64_t size = file_size();
    int fd = open(path, O_WRONLY | O_APPEND);
    char zeros[100] = {0};
    assert_int_equal(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
    close(fd);
    struct seen s;
    struct journal_recovery rec;
    char err[256];
    struct journal *j = reopen(false, &s, &rec, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(s.n, 3);
    assert_true(rec.torn);
    journal_close(j);
    assert_int_equal(file_size(), size);
}

static void test_a_foreign_file_is_refused(void **state)
{
    (void)state;
    FILE *f = fopen(path, "w");
    fputs("this is not a journal at all", f);
    fclose(f);
    struct seen s;
    struct journal_recovery rec;
    char err[256];
    assert_null(reopen(true, &s, &rec, err, sizeof err));
    assert_non_null(strstr(err, "not an orderd journal"));
}

static uint64_t size_of(const char *p, uint64_t *allocated)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    if (allocated)
        *allocated = (uint64_t)st.st_blocks * 512;
    return (uint64_t)st.st_size;
}

/* Space reserved ahead is allocated but not part of the file: recovery,
 * which reads the file's size, never sees it, and closing gives it back. */
static void test_reserved_space_is_allocated_but_not_the_file(void **state)
{
    (void)state;
    struct seen s;
    struct journal_recovery rec;
    char err[256];
    struct journal *j = reopen(false, &s, &rec, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(journal_headroom(j), 0);
    assert_int_equal(journal_reserve(j, 1 << 20), 0);
    assert_true(journal_headroom(j) >= 1 << 20);
    uint64_t allocated;
    assert_int_equal(size_of(path, &allocated), JOURNAL_MAGIC_LEN);
    assert_true(allocated >= 1 << 20);
    /* Records go into what was reserved. */
    journal_append(j, 1, "abc", 3);
    assert_int_equal(journal_headroom(j), (1 << 20) - JOURNAL_HEADER_LEN - 3);
    assert_int_equal(journal_write(j), 0);
    assert_int_equal(journal_headroom(j), (1 << 20) - JOURNAL_HEADER_LEN - 3);
    assert_int_equal(size_of(path, NULL), JOURNAL_MAGIC_LEN + JOURNAL_HEADER_LEN + 3);
    assert_int_equal(journal_file_size(j), JOURNAL_MAGIC_LEN + JOURNAL_HEADER_LEN + 3);
    /* Asking for what is there already costs nothing. */
    assert_int_equal(journal_reserve(j, 1000), 0);
    assert_int_equal(journal_close(j), 0);
    assert_int_equal(size_of(path, &allocated), JOURNAL_MAGIC_LEN + JOURNAL_HEADER_LEN + 3);
    assert_true(allocated < 1 << 20);
    j = reopen(false, &s, &rec, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(s.n, 1);
    assert_false(rec.torn);
    journal_close(j);
}

/* Two commits of three records, "a0".."a2" (types 1..3) then "b0".."b2"
 * (types 4..6), each sealed on its last record -- the second only if
 * seal_second; or none sealed (a journal from before commits were marked)
 * if neither is. offs: where each record starts, and offs[6] the end. */
static void write_commits(bool seal_first, bool seal_second, uint64_t offs[7])
{
    struct journal_recovery rec;
    char err[256];
    struct journal *j = journal_open(path, FSYNC_ALWAYS, false, NULL, NULL, &rec, err, sizeof err);
    assert_non_null(j);
    struct buf b;
    buf_init(&b);
    uint64_t pos = JOURNAL_MAGIC_LEN;
    for (int c = 0; c < 2; c++) {
        buf_clear(&b);
        for (int i = 0; i < 3; i++) {
            char p[8];
            int len = snprintf(p, sizeof p, "%c%d", 'a' + c, i);
            offs[c * 3 + i] = pos;
            journal_frame(&b, (uint8_t)(c * 3 + i + 1), p, (size_t)len);
            pos += JOURNAL_HEADER_LEN + (uint64_t)len;
        }
        if (c == 0 ? seal_first : seal_second)
            journal_seal(&b, 0);
        journal_append_framed(j, buf_head(&b), buf_used(&b));
    }
    offs[6] = pos;
    buf_free(&b);
    assert_int_equal(journal_write(j), 0);
    assert_int_equal(journal_sync_now(j), 0);
    journal_close(j);
}

/* A crash can leave whole records of a commit without its last one (a
 * write cut short at a record's end): they are cut with it, and the
 * records come back without the commit mark. */
static void test_a_commit_without_its_end_is_cut_whole(void **state)
{
    (void)state;
    uint64_t offs[7];
    write_commits(true, false, offs);
    struct seen s;
    struct journal_recovery rec;
    char err[256];
    struct journal *j = reopen(false, &s, &rec, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.types[2], 3);
    assert_string_equal(s.payloads[2], "a2");
    assert_true(rec.torn);
    assert_int_equal(rec.good_end, offs[3]);
    assert_int_equal(rec.cut_bytes, offs[6] - offs[3]);
    journal_close(j);
    assert_int_equal(file_size(), offs[3]);
}

static void test_a_torn_record_takes_its_commit_with_it(void **state)
{
    (void)state;
    uint64_t offs[7];
    write_commits(true, true, offs);
    unlink(path);
    /* Cut anywhere after the first commit's end: it alone survives. */
    for (uint64_t cut = offs[3] + 1; cut < offs[6]; cut++) {
        write_commits(true, true, offs);
        assert_int_equal(truncate(path, (off_t)cut), 0);
        struct seen s;
        struct journal_recovery rec;
        char err[256];
        struct journal *j = reopen(false, &s, &rec, err, sizeof err);
        assert_non_null(j);
        assert_int_equal(s.n, 3);
        assert_true(rec.torn);
        assert_int_equal(rec.good_end, offs[3]);
        journal_close(j);
        unlink(path);
    }
}

static void test_repair_cuts_at_the_bad_records_commit(void **state)
{
    (void)state;
    uint64_t offs[7];
    write_commits(true, true, offs);
    flip_bit(offs[4] + JOURNAL_HEADER_LEN);  /* b1's payload: b2 is good after it */
    struct seen s;
    struct journal_recovery rec;
    char err[512];
    assert_null(reopen(false, &s, &rec, err, sizeof err));
    char want[64];
    snprintf(want, sizeof want, "corrupt at byte %llu", (unsigned long long)offs[4]);
    assert_non_null(strstr(err, want));
    assert_int_equal(file_size(), offs[6]);
    struct journal *j = reopen(true, &s, &rec, err, sizeof err);
    assert_non_null(j);
    assert_true(rec.repaired);
    assert_int_equal(s.n, 3);  /* b0, before the bad record, goes with its commit */
    assert_int_equal(rec.good_end, offs[3]);
    journal_close(j);
    assert_int_equal(file_size(), offs[3]);
    struct stat st;
    assert_int_equal(stat(rec.bad_copy, &st), 0);
    assert_int_equal((uint64_t)st.st_size, offs[6] - offs[3]);
}

static void test_a_journal_without_marks_is_read_record_by_record(void **state)
{
    (void)state;
    uint64_t offs[7];
    write_commits(false, false, offs);
    struct seen s;
    struct journal_recovery rec;
    char err[256];
    struct journal *j = reopen(false, &s, &rec, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(s.n, 6);
    assert_false(rec.torn);
    journal_close(j);
    assert_int_equal(truncate(path, (off_t)offs[5] + 2), 0);
    j = reopen(false, &s, &rec, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(s.n, 5);  /* only the torn record is cut */
    assert_int_equal(rec.good_end, offs[5]);
    journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_records_come_back_in_order),
        T(test_torn_last_record_is_cut_at_every_offset),
        T(test_truncation_inside_the_magic_starts_empty),
        T(test_flipped_bit_in_the_middle_is_refused),
        T(test_repair_keeps_the_bad_tail_and_cuts_it),
        T(test_absurd_length_is_corruption_not_a_tear),
        T(test_zero_filled_tail_is_a_tear),
        T(test_a_foreign_file_is_refused),
        T(test_reserved_space_is_allocated_but_not_the_file),
        T(test_a_commit_without_its_end_is_cut_whole),
        T(test_a_torn_record_takes_its_commit_with_it),
        T(test_repair_cuts_at_the_bad_records_commit),
        T(test_a_journal_without_marks_is_read_record_by_record),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
