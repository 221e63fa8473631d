/* The config file (server/config_file.h), and orderd's flags read from it
 * (config_parse_args with --config). The input is the file.
 *
 * Properties:
 *   - read, its entries are the lines that are neither blank nor comments,
 *     in order, with ascending line numbers; a key is not empty and holds
 *     no blank, no NUL, and does not start with '#'; a value holds no NUL;
 *   - a round trip: the entries written back as `key "value"` lines (a key
 *     alone as itself) read back to the same keys and values;
 *   - a refusal says "<path>:<line>: " for a line that is in the file;
 *   - as orderd's flags: parsed twice, the same answer; and a flag given on
 *     the command line after --config wins over the file. */
#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_file.h"
#include "fuzz.h"
#include "server.h"

static char dir[64], path[96], path2[96];
static int real_stderr, devnull;

static void cleanup(void)
{
    unlink(path);
    unlink(path2);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/fuzz-config-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof path, "%s/orderd.conf", dir);
    snprintf(path2, sizeof path2, "%s/again.conf", dir);
    atexit(cleanup);
    /* The flags say on stderr what is wrong with each bad value: that goes
     * to /dev/null while they are parsed, the sanitizers' reports and this
     * target's own to the real stderr. */
    real_stderr = dup(2);
    devnull = open("/dev/null", O_WRONLY);
    if (real_stderr < 0 || devnull < 0)
        abort();
    __sanitizer_set_report_fd((void *)(intptr_t)real_stderr);
    return 0;
}

static void write_file(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "w");
    FUZZ_CHECK(f != NULL, "cannot write %s", p);
    fwrite(data, 1, n, f);
    fclose(f);
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The lines a reader must keep: not blank, and not starting with '#'
 * after blanks. */
static size_t lines_with_settings(const uint8_t *d, size_t n, size_t *lines)
{
    size_t keep = 0;
    *lines = 0;
    for (size_t i = 0; i < n;) {
        size_t end = i;
        while (end < n && d[end] != '\n')
            end++;
        (*lines)++;
        size_t k = i;
        while (k < end && blank((char)d[k]))
            k++;
        if (k < end && d[k] != '#')
            keep++;
        i = end + 1;
    }
    return keep;
}

static void check_file(const uint8_t *data, size_t size)
{
    struct config_file f;
    char err[512];
    size_t lines;
    size_t want = lines_with_settings(data, size, &lines);
    if (config_file_read(path, &f, err, sizeof err) != 0) {
        FUZZ_CHECK(f.n == 0 && f.entries == NULL, "a refused file keeps entries");
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s:", path);
        FUZZ_CHECK(strncmp(err, prefix, strlen(prefix)) == 0, "the error names no line: %s", err);
        unsigned line = (unsigned)strtoul(err + strlen(prefix), NULL, 10);
        FUZZ_CHECK(line >= 1 && line <= lines, "line %u of %zu: %s", line, lines, err);
        return;
    }
    FUZZ_CHECK(f.n == want, "%zu entries from %zu lines with settings", f.n, want);
    struct buf again;
    buf_init(&again);
    for (size_t i = 0; i < f.n; i++) {
        const struct config_entry *e = &f.entries[i];
        FUZZ_CHECK(i == 0 || e->line > f.entries[i - 1].line, "line numbers out of order");
        FUZZ_CHECK(e->line >= 1 && e->line <= lines, "line %u of %zu", e->line, lines);
        FUZZ_CHECK(e->key[0] && e->key[0] != '#', "key '%s'", e->key);
        for (const char *k = e->key; *k; k++)
            FUZZ_CHECK(!blank(*k), "a blank in key '%s'", e->key);
        buf_appends(&again, e->key);
        if (e->value) {
            buf_append(&again, " \"", 2);
            buf_appends(&again, e->value);
            buf_appendc(&again, '"');
        }
        buf_appendc(&again, '\n');
    }
    /* (An empty buf has no data: no pointer to take.) */
    write_file(path2, f.n ? buf_head(&again) : "", buf_used(&again));
    buf_free(&again);
    struct config_file g;
    FUZZ_CHECK(config_file_read(path2, &g, err, sizeof err) == 0, "written back, refused: %s",
               err);
    FUZZ_CHECK(g.n == f.n, "written back, %zu entries of %zu", g.n, f.n);
    for (size_t i = 0; i < f.n; i++) {
        FUZZ_CHECK(strcmp(f.entries[i].key, g.entries[i].key) == 0, "key %zu changed", i);
        FUZZ_CHECK((f.entries[i].value == NULL) == (g.entries[i].value == NULL) &&
                       (f.entries[i].value == NULL ||
                        strcmp(f.entries[i].value, g.entries[i].value) == 0),
                   "the value of '%s' changed", f.entries[i].key);
    }
    config_file_free(&g);
    config_file_free(&f);
}

static int parse(char **argv, int argc, struct server_config *cfg)
{
    struct config_args args;
    const char *level = NULL, *file = NULL;
    server_config_default(cfg);
    fflush(stderr);
    dup2(devnull, 2);
    int rc = config_parse_args(argc, argv, cfg, &level, &file, &args);
    fflush(stderr);
    dup2(real_stderr, 2);
    config_args_free(&args);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_file(path, data, size);
    check_file(data, size);

    char *argv[] = {"orderd", "--config", path, NULL, NULL};
    struct server_config cfg;
    int rc = parse(argv, 3, &cfg);
    FUZZ_CHECK(parse(argv, 3, &cfg) == rc, "the same flags parsed twice differ");
    if (rc == 0) {
        char flag[] = "--max-clients=77";
        argv[3] = flag;
        if (parse(argv, 4, &cfg) == 0)
            FUZZ_CHECK(cfg.net.max_clients == 77, "the file won over the command line (%zu)",
                       cfg.net.max_clients);
    }
    return 0;
}
