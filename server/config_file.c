/* A config file read into keys and values (see config_file.h). */
#include "config_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* One line (without its newline, NUL-terminated, len bytes) into f.
 * Returns 0, or -1 with err filled. */
static int read_line(struct config_file *f, size_t *cap, char *s, size_t len, unsigned no,
                     char *err, size_t errlen)
{
    if (strlen(s) != len) {
        snprintf(err, errlen, "%s:%u: a NUL byte in the line", f->path, no);
        return -1;
    }
    while (len > 0 && blank(s[len - 1]))
        s[--len] = '\0';
    while (blank(*s)) {
        s++;
        len--;
    }
    if (len == 0 || *s == '#')
        return 0;
    size_t klen = 0;
    while (klen < len && !blank(s[klen]))
        klen++;
    const char *v = s + klen;
    while (blank(*v))
        v++;
    size_t vlen = len - (size_t)(v - s);
    bool quoted = vlen > 0 && *v == '"';
    if (quoted) {
        if (vlen < 2 || v[vlen - 1] != '"') {
            snprintf(err, errlen, "%s:%u: the value's opening quote is not closed at the end "
                     "of the line", f->path, no);
            return -1;
        }
        v++;
        vlen -= 2;
    }
    if (f->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        f->entries = xrealloc(f->entries, *cap * sizeof *f->entries);
    }
    struct config_entry *e = &f->entries[f->n++];
    e->line = no;
    e->key = xstrndup(s, klen);
    /* A key alone has no value; a key and "" has an empty one. */
    e->value = vlen > 0 || quoted ? xstrndup(v, vlen) : NULL;
    return 0;
}

int config_file_read(const char *path, struct config_file *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    f->path = xstrdup(path);
    char *line = NULL;
    size_t linecap = 0, cap = 0;
    unsigned no = 0;
    ssize_t n;
    int rc = 0;
    errno = 0;
    while (rc == 0 && (n = getline(&line, &linecap, in)) >= 0)
        rc = read_line(f, &cap, line, (size_t)n, ++no, err, errlen);
    if (rc == 0 && ferror(in)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
        rc = -1;
    }
    free(line);
    fclose(in);
    if (rc != 0)
        config_file_free(f);
    return rc;
}

void config_file_free(struct config_file *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->entries[i].key);
        free(f->entries[i].value);
    }
    free(f->entries);
    free(f->path);
    memset(f, 0, sizeof *f);
}
