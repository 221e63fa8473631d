/* Config files read into keys and values: comments, blank lines, quotes,
 * CRLF, line numbers in errors, lines of any length, files that cannot be
 * read. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_file.h"

/* A temp file holding len bytes of text; its path in path. */
static void write_file(char *path, size_t size, const char *text, size_t len)
{
    snprintf(path, size, "/tmp/orderd-config-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Reads text as a file; returns what config_file_read returned. */
static int read_text(const char *text, size_t len, struct config_file *f, char *err,
                     size_t errlen, char *path, size_t pathlen)
{
    write_file(path, pathlen, text, len);
    int rc = config_file_read(path, f, err, errlen);
    unlink(path);
    return rc;
}

static void expect_entry(const struct config_file *f, size_t i, unsigned line, const char *key,
                         const char *value)
{
    assert_true(i < f->n);
    assert_int_equal(f->entries[i].line, line);
    assert_string_equal(f->entries[i].key, key);
    if (value == NULL)
        assert_null(f->entries[i].value);
    else
        assert_string_equal(f->entries[i].value, value);
}

static void test_keys_values_comments_and_blank_lines(void **state)
{
    (void)state;
    const char *text =
        "# orderd's settings\n"
        "\n"
        "port 7070\n"
        "   # an indented comment\n"
        "  bind\t 0.0.0.0  \n"
        "pg host=/run/postgresql dbname=orderd\n"
        "\t\n"
        "repair yes\n"
        "node-name a # is part of the value\n"
        "sim\n"
        "last-line-without-newline x";
    struct config_file f;
    char err[512], path[64];
    assert_int_equal(read_text(text, strlen(text), &f, err, sizeof err, path, sizeof path), 0);
    assert_string_equal(f.path, path);
    assert_int_equal(f.n, 7);
    expect_entry(&f, 0, 3, "port", "7070");
    expect_entry(&f, 1, 5, "bind", "0.0.0.0");
    expect_entry(&f, 2, 6, "pg", "host=/run/postgresql dbname=orderd");
    expect_entry(&f, 3, 8, "repair", "yes");
    expect_entry(&f, 4, 9, "node-name", "a # is part of the value");
    expect_entry(&f, 5, 10, "sim", NULL);
    expect_entry(&f, 6, 11, "last-line-without-newline", "x");
    config_file_free(&f);
    assert_int_equal(f.n, 0);
    assert_null(f.entries);
    assert_null(f.path);
}

/* Double quotes around a value go; nothing inside them is special. */
static void test_quotes_around_a_value(void **state)
{
    (void)state;
    const char *text =
        "log-file \"/var/log/orderd/my log.txt\"\n"
        "pg \"\"\n"
        "a \"  blanks kept inside  \"  \n"
        "b \"say \"hi\"\"\n"
        "c a\"b\"\n"
        "d \"#\"\n";
    struct config_file f;
    char err[512], path[64];
    assert_int_equal(read_text(text, strlen(text), &f, err, sizeof err, path, sizeof path), 0);
    assert_int_equal(f.n, 6);
    expect_entry(&f, 0, 1, "log-file", "/var/log/orderd/my log.txt");
    expect_entry(&f, 1, 2, "pg", "");
    expect_entry(&f, 2, 3, "a", "  blanks kept inside  ");
    expect_entry(&f, 3, 4, "b", "say \"hi\"");
    expect_entry(&f, 4, 5, "c", "a\"b\"");
    expect_entry(&f, 5, 6, "d", "#");
    config_file_free(&f);
}

static void test_crlf_line_endings(void **state)
{
    (void)state;
    const char *text = "# windows\r\nport 7070\r\n\r\ndata \"/srv/orderd\"\r\n";
    struct config_file f;
    char err[512], path[64];
    assert_int_equal(read_text(text, strlen(text), &f, err, sizeof err, path, sizeof path), 0);
    assert_int_equal(f.n, 2);
    expect_entry(&f, 0, 2, "port", "7070");
    expect_entry(&f, 1, 4, "data", "/srv/orderd");
    config_file_free(&f);
}

/* A malformed line is refused with the file and its line number, and
 * nothing is kept. */
static void test_errors_name_the_file_and_line(void **state)
{
    (void)state;
    struct config_file f;
    char err[512], path[64], want[600];

    const char *open_quote = "port 7070\n# fine\n\nlog-file \"/var/log/x\n";
    assert_int_equal(read_text(open_quote, strlen(open_quote), &f, err, sizeof err, path,
                               sizeof path), -1);
    snprintf(want, sizeof want,
             "%s:4: the value's opening quote is not closed at the end of the line", path);
    assert_string_equal(err, want);
    assert_int_equal(f.n, 0);
    assert_null(f.entries);
    assert_null(f.path);

    const char *lone_quote = "a b\npg \"\n";
    assert_int_equal(read_text(lone_quote, strlen(lone_quote), &f, err, sizeof err, path,
                               sizeof path), -1);
    snprintf(want, sizeof want,
             "%s:2: the value's opening quote is not closed at the end of the line", path);
    assert_string_equal(err, want);

    const char nul[] = "port 7070\nbind 1.2\0003.4\n";
    assert_int_equal(read_text(nul, sizeof nul - 1, &f, err, sizeof err, path, sizeof path), -1);
    snprintf(want, sizeof want, "%s:2: a NUL byte in the line", path);
    assert_string_equal(err, want);
}

/* Lines are not cut at any length. */
static void test_long_lines(void **state)
{
    (void)state;
    size_t vlen = 300000;
    char *text = malloc(vlen + 64);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, "# a long one\npg ");
    memset(text + len, 'x', vlen);
    len += vlen;
    len += (size_t)sprintf(text + len, "\nport 1\n");
    struct config_file f;
    char err[512], path[64];
    assert_int_equal(read_text(text, len, &f, err, sizeof err, path, sizeof path), 0);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.entries[0].line, 2);
    assert_int_equal(strlen(f.entries[0].value), vlen);
    assert_int_equal(strspn(f.entries[0].value, "x"), vlen);
    expect_entry(&f, 1, 3, "port", "1");
    config_file_free(&f);
    free(text);
}

static void test_empty_file(void **state)
{
    (void)state;
    struct config_file f;
    char err[512], path[64];
    assert_int_equal(read_text("", 0, &f, err, sizeof err, path, sizeof path), 0);
    assert_int_equal(f.n, 0);
    config_file_free(&f);
}

static void test_files_that_cannot_be_read(void **state)
{
    (void)state;
    struct config_file f;
    char err[512];
    assert_int_equal(config_file_read("/nonexistent/orderd.conf", &f, err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/orderd.conf: No such file or directory");
    assert_int_equal(f.n, 0);
    assert_null(f.path);

    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/orderd-config-dir-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char want[128];
    snprintf(want, sizeof want, "%s: Is a directory", dir);
    assert_int_equal(config_file_read(dir, &f, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_null(f.path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_values_comments_and_blank_lines),
        cmocka_unit_test(test_quotes_around_a_value),
        cmocka_unit_test(test_crlf_line_endings),
        cmocka_unit_test(test_errors_name_the_file_and_line),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_files_that_cannot_be_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
