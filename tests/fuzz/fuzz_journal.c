/* Recovery of a whole journal file (server/store/journal.c) into the
 * server's state (server/store/persist.c), as journal_store_open() does
 * it: the records are applied to a world of the real subsystems
 * (tests/unit/support/world.h) before its engine and participants start.
 *
 * Byte 0 says what the rest is:
 *   bit 0  0: the file's bytes after the magic (bit 3: with no magic
 *          either, the file exactly as given);
 *          1: records to frame, each a type byte, a 16-bit little-endian
 *          length and the payload, so that checksums are right and the
 *          fuzzer reaches the decoders; then damage, by bits 4-5: none,
 *          a tail cut (byte 1 says how much), a byte flipped (bytes 1-2
 *          say where), or zeros appended (a tail the disk had allocated);
 *   bit 1  recover with --repair.
 *
 * A journal must be recovered, cut as a torn tail, or refused with one of
 * the documented messages (not ours: bad magic; corrupt at a byte, with
 * --repair to cut it; a record that could not be applied) -- never crash.
 * And:
 *   - refused, the file is left as it was; refused as corrupt, the same
 *     file with --repair is recovered, the bad tail kept in a copy;
 *   - recovered, the file is cut at the last good record, what was cut is
 *     in <journal>.bad-<offset> byte for byte, and opening it again finds
 *     a clean journal of the same records;
 *   - the state recovered, written as a snapshot (what compaction
 *     writes), recovers into a fresh world that snapshots the same (but
 *     see engine_channels_byte_limited() for the one exception);
 *   - the recovered world starts and runs (engine, participants, a fake
 *     clock moved on). */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channels/bus.h"
#include "channels/channel.h"
#include "fuzz.h"
#include "lib/codec.h"
#include "lib/log.h"
#include "saga/engine.h"
#include "saga/saga.h"
#include "saga/saga_pack.h"
#include "store/journal.h"
#include "store/persist.h"
#include "support/world.h"

static char dir[96], path[128];

static void clear_dir(void)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
}

static void cleanup(void)
{
    clear_dir();
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Recovery fsyncs what it cuts: on tmpfs when there is one. */
    struct stat st;
    const char *tmp = getenv("TMPDIR");
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        tmp = "/dev/shm";
    snprintf(dir, sizeof dir, "%s/fuzz-journal-XXXXXX", tmp && strlen(tmp) < 64 ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof path, "%s/journal", dir);
    atexit(cleanup);
    char err[256];
    /* Recovery says in the log what it refused: not needed here. */
    if (log_setup("error", "/dev/null", err, sizeof err) != 0)
        abort();
    return 0;
}

/* --- the file ---------------------------------------------------------------- */

static void make_file(const uint8_t *data, size_t size, struct buf *file)
{
    uint8_t mode = data[0];
    const uint8_t *in = data + 3;
    size_t n = size - 3;
    if (!(mode & 1)) {
        if (!(mode & 8))
            buf_append(file, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
        buf_append(file, in, n);
        return;
    }
    buf_append(file, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
    for (size_t at = 0; at + 3 <= n;) {
        uint8_t type = in[at];
        size_t len = (size_t)in[at + 1] | (size_t)in[at + 2] << 8;
        at += 3;
        if (len > n - at)
            len = n - at;
        journal_frame(file, type, in + at, len);
        at += len;
    }
    size_t used = buf_used(file);
    size_t where = (size_t)data[1] | (size_t)data[2] << 8;
    switch ((mode >> 4) & 3) {
    case 1: /* torn: the last 1..256 bytes never made it */
        if (used > JOURNAL_MAGIC_LEN) {
            size_t cut = (size_t)data[1] + 1;
            file->len -= cut < used - JOURNAL_MAGIC_LEN ? cut : used - JOURNAL_MAGIC_LEN;
        }
        break;
    case 2: /* a flipped bit in a record */
        if (used > JOURNAL_MAGIC_LEN)
            buf_head(file)[JOURNAL_MAGIC_LEN + where % (used - JOURNAL_MAGIC_LEN)] ^=
                (char)(1u << (data[2] & 7));
        break;
    case 3: /* zeros the disk had allocated past the end */
        memset(buf_space(file, (size_t)data[1] + 1), 0, (size_t)data[1] + 1);
        buf_commit(file, (size_t)data[1] + 1);
        break;
    }
}

static void write_file(const char *p, const void *bytes, size_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FUZZ_CHECK(fd >= 0, "cannot write %s", p);
    FUZZ_CHECK(n == 0 || write(fd, bytes, n) == (ssize_t)n, "cannot write %s", p);
    close(fd);
}

static bool file_is(const char *p, const void *bytes, size_t n)
{
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return false;
    char *got = malloc(n + 1);
    ssize_t r = read(fd, got, n + 1);
    close(fd);
    bool same = r == (ssize_t)n && memcmp(got, bytes, n) == 0;
    free(got);
    return same;
}

/* --- snapshots as sets of records -------------------------------------------- */

struct rset {
    char **items;
    size_t n;
};

static void rset_add(struct rset *s, uint8_t type, const char *p, size_t len)
{
    char *e = malloc(8 + 2 * len + 1);
    int k = snprintf(e, 8, "%03u:", type);
    for (size_t i = 0; i < len; i++)
        k += snprintf(e + k, 3, "%02x", (unsigned char)p[i]);
    s->items = realloc(s->items, (s->n + 1) * sizeof *s->items);
    s->items[s->n++] = e;
}

/* A finished saga is packed or not depending on how the engine came by
 * it: listed unpacked, the state is the same either way. */
static void rset_add_packed(struct rset *s, const char *p, size_t len)
{
    struct dec d;
    dec_init(&d, p, len);
    uint64_t order = dec_u64(&d);
    struct saga sg;
    struct tracking t;
    bool has_track;
    FUZZ_CHECK(!d.err && saga_unpack(d.p, (size_t)(d.end - d.p), &sg, &t, &has_track) == 0,
               "a snapshot's packed saga does not unpack");
    sg.order = order;
    struct buf rec;
    buf_init(&rec);
    for (int step = -1; step < SAGA_STEP_COUNT; step++) {
        uint8_t type;
        persist_encode_saga(&rec, &sg, step, &type);
        rset_add(s, type, buf_head(&rec), buf_used(&rec));
        buf_clear(&rec);
    }
    if (has_track) {
        persist_encode_tracking(&rec, order, &t);
        rset_add(s, REC_SAGA_TRACK, buf_head(&rec), buf_used(&rec));
    }
    buf_free(&rec);
    saga_release(&sg);
    free(t.number);
    free(t.location);
}

/* The participants' values come many to a record in their maps' order. */
static void rset_add_sim_batch(struct rset *s, const char *p, size_t len)
{
    struct dec d;
    dec_init(&d, p, len);
    struct buf rec;
    buf_init(&rec);
    while (!d.err && d.p < d.end) {
        uint64_t type = dec_u64(&d);
        char *key = dec_str(&d);
        int64_t value = dec_i64(&d);
        FUZZ_CHECK(!d.err && key, "a snapshot's participant values do not decode");
        persist_encode_sim(&rec, (int)type, key, value);
        rset_add(s, REC_SIM, buf_head(&rec), buf_used(&rec));
        buf_clear(&rec);
        free(key);
    }
    buf_free(&rec);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint32_t get_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static int append_all(void *arg, struct buf *out)
{
    buf_append(arg, buf_head(out), buf_used(out));
    buf_clear(out);
    return 0;
}

static struct persist_target target_of(struct world *w)
{
    return (struct persist_target){.book = w->book, .channels = bus_channels(w->bus),
                                   .dlq = bus_dlq(w->bus), .engine = w->engine,
                                   .sim = w->sim};
}

/* The snapshot's framed records into snap, and as a sorted set. */
static struct rset snapshot(struct world *w, struct buf *snap)
{
    struct persist_target t = target_of(w);
    struct buf tmp;
    buf_init(&tmp);
    FUZZ_CHECK(persist_snapshot(&t, &tmp, append_all, snap) == 0, "the snapshot failed");
    buf_free(&tmp);
    struct rset set = {NULL, 0};
    const char *p = buf_head(snap);
    for (size_t off = 0, n = buf_used(snap); off < n;) {
        uint32_t len = get_u32(p + off);
        uint8_t type = (uint8_t)p[off + 4];
        const char *payload = p + off + JOURNAL_HEADER_LEN;
        if (type == REC_SAGA_PACKED)
            rset_add_packed(&set, payload, len);
        else if (type == REC_SIM_BATCH)
            rset_add_sim_batch(&set, payload, len);
        else
            rset_add(&set, type, payload, len);
        off += JOURNAL_HEADER_LEN + len;
    }
    qsort(set.items, set.n, sizeof *set.items, cmp_str);
    return set;
}

static void rset_free(struct rset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i]);
    free(s->items);
}

/* Whether one of the engine's channels was declared with a byte limit of
 * its own. Recovery keeps the engine's messages as recipes, of no size,
 * until after the last record, so byte retention does not trim them as it
 * trims the same messages replayed from a snapshot with their bytes. The
 * engine declares its channels with the default limit (64 MiB, against a
 * history of 4096 messages), so orderd never writes such a journal: for
 * those, the snapshot must still recover, but may hold less. */
static bool engine_channels_byte_limited(struct world *w)
{
    for (int i = 0; i <= SAGA_STEP_COUNT; i++) {
        const char *name = i < SAGA_STEP_COUNT ? saga_step_name(i) : ENGINE_NOTIFY_CHANNEL;
        struct channel *ch = chreg_find(bus_channels(w->bus), name);
        if (ch && chan_settings(ch)->maxbytes != CHAN_MAXBYTES_DEFAULT)
            return true;
    }
    return false;
}

/* What compaction would write recovers to the same state. */
static void check_snapshot(struct world *w)
{
    struct buf snap, again;
    buf_init(&snap);
    buf_init(&again);
    struct rset a = snapshot(w, &snap);

    struct world copy;
    world_build(&copy, true, NULL, NULL);
    struct persist_target t = target_of(&copy);
    const char *p = buf_head(&snap);
    for (size_t off = 0, n = buf_used(&snap); off < n;) {
        uint32_t len = get_u32(p + off);
        uint8_t type = (uint8_t)p[off + 4];
        FUZZ_CHECK(persist_apply(&t, type, p + off + JOURNAL_HEADER_LEN, len, off) == 0,
                   "the snapshot's record of type %u at %zu does not apply", type, off);
        off += JOURNAL_HEADER_LEN + len;
    }
    persist_recovered(&t);
    struct rset b = snapshot(&copy, &again);
    if (engine_channels_byte_limited(w)) {
        /* Compared only where orderd's own journals can differ. */
        rset_free(&a);
        rset_free(&b);
        buf_free(&snap);
        buf_free(&again);
        world_free(&copy);
        return;
    }
    /* Every difference is listed (as type:payload in hex) before failing. */
    size_t i = 0, j = 0, diffs = 0;
    while (i < a.n || j < b.n) {
        int c = i == a.n ? 1 : j == b.n ? -1 : strcmp(a.items[i], b.items[j]);
        if (c == 0) {
            i++;
            j++;
            continue;
        }
        if (diffs++ < 20)
            fprintf(stderr, "%s only: %.300s\n", c < 0 ? "recovered" : "its copy",
                    c < 0 ? a.items[i] : b.items[j]);
        if (c < 0)
            i++;
        else
            j++;
    }
    FUZZ_CHECK(diffs == 0, "the snapshot recovered differs from its copy's in %zu records",
               diffs);
    rset_free(&a);
    rset_free(&b);
    buf_free(&snap);
    buf_free(&again);
    world_free(&copy);
}

/* --- recovery ------------------------------------------------------------------ */

struct outcome {
    struct journal *j;
    struct journal_recovery rec;
    char err[1024];
};

static void recover(struct world *w, bool repair, struct outcome *o)
{
    world_build(w, true, NULL, NULL);
    struct persist_target t = target_of(w);
    o->err[0] = '\0';
    o->j = journal_open(path, FSYNC_NO, repair, persist_apply, &t, &o->rec, o->err,
                        sizeof o->err);
    persist_recovered(&t);
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum refusal { NOT_OURS, CORRUPT, NOT_APPLIED };

/* Which documented refusal err is. */
static enum refusal refusal_of(const char *err)
{
    char want[256];
    snprintf(want, sizeof want, "%s is not an orderd journal (bad magic)", path);
    if (strcmp(err, want) == 0)
        return NOT_OURS;
    snprintf(want, sizeof want, "%s is corrupt at byte ", path);
    if (starts(err, want) && strstr(err, "start with --repair to keep that tail in a copy"))
        return CORRUPT;
    snprintf(want, sizeof want, "%s: at byte ", path);
    FUZZ_CHECK(starts(err, want) && strstr(err, "could not be applied"),
               "not a documented refusal: %s", err);
    return NOT_APPLIED;
}

/* Recovered: the file cut where it says, the cut kept, a clean reopen. */
static void check_recovered(struct outcome *o, const struct buf *file, bool repair)
{
    size_t size = buf_used(file);
    const struct journal_recovery *r = &o->rec;
    FUZZ_CHECK(journal_close(o->j) == 0, "closing the journal failed");
    if (size < JOURNAL_MAGIC_LEN) {
        FUZZ_CHECK(r->good_end == JOURNAL_MAGIC_LEN && r->records == 0 &&
                       r->torn == (size > 0),
                   "a journal shorter than its magic");
        FUZZ_CHECK(file_is(path, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN), "not started afresh");
        return;
    }
    FUZZ_CHECK(r->good_end >= JOURNAL_MAGIC_LEN && r->good_end <= size &&
                   r->cut_bytes == size - r->good_end,
               "good to %llu, cut %llu, of %zu", (unsigned long long)r->good_end,
               (unsigned long long)r->cut_bytes, size);
    FUZZ_CHECK(!r->repaired || repair, "repaired without --repair");
    FUZZ_CHECK(r->torn || r->repaired || r->cut_bytes == 0, "bytes cut, neither torn nor repaired");
    FUZZ_CHECK(file_is(path, buf_head(file), r->good_end), "the file is not its good records");
    if (r->cut_bytes > 0) {
        char copy[256];
        snprintf(copy, sizeof copy, "%s.bad-%llu", path, (unsigned long long)r->good_end);
        FUZZ_CHECK(strcmp(copy, r->bad_copy) == 0, "the cut is kept in %s", r->bad_copy);
        FUZZ_CHECK(file_is(copy, buf_head(file) + r->good_end, r->cut_bytes),
                   "%s is not what was cut", copy);
    }
    struct journal_recovery again;
    char err[1024];
    struct journal *j = journal_open(path, FSYNC_NO, false, NULL, NULL, &again, err, sizeof err);
    FUZZ_CHECK(j != NULL, "opened again: %s", err);
    FUZZ_CHECK(!again.torn && !again.repaired && again.cut_bytes == 0 &&
                   again.records == r->records && again.good_end == r->good_end,
               "opened again, not the same clean journal");
    journal_close(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    bool repair = data[0] & 2;
    struct buf file;
    buf_init(&file);
    make_file(data, size, &file);
    write_file(path, buf_used(&file) ? buf_head(&file) : "", buf_used(&file));

    struct world w;
    struct outcome o;
    recover(&w, repair, &o);
    if (o.j == NULL) {
        enum refusal why = refusal_of(o.err);
        FUZZ_CHECK(why != CORRUPT || !repair, "corrupt with --repair: %s", o.err);
        FUZZ_CHECK(file_is(path, buf_head(&file), buf_used(&file)),
                   "refused, the file changed: %s", o.err);
        world_free(&w);
        if (why == CORRUPT) {
            /* The file is checked whole before anything is applied, so
             * --repair either recovers it, or finds a record before the
             * bad spot that cannot be applied, and then cuts nothing. */
            recover(&w, true, &o);
            if (o.j == NULL) {
                FUZZ_CHECK(refusal_of(o.err) == NOT_APPLIED, "with --repair: %s", o.err);
                FUZZ_CHECK(file_is(path, buf_head(&file), buf_used(&file)),
                           "refused with --repair, the file changed: %s", o.err);
                world_free(&w);
            } else {
                FUZZ_CHECK(o.rec.repaired && o.rec.cut_bytes > 0, "--repair cut nothing");
                repair = true;
            }
        }
    }
    if (o.j) {
        check_recovered(&o, &file, repair);
        check_snapshot(&w);
        world_start(&w);
        world_turn(&w);
        world_advance(&w, 30);
        world_free(&w);
    }
    clear_dir();
    buf_free(&file);
    return 0;
}
