/* The ACL file (server/auth/acl.h): the input is a file, read line by line
 * with acl_add_line() and whole with acl_load_file(), next to a model of
 * the syntax written here from acl.h's description.
 *
 * Properties:
 *   - each line is taken or refused as the model says, a refusal with a
 *     message, and a refused line adds nobody;
 *   - the users are the model's: on or off, nopass, roles, and the same
 *     password digests in the same order;
 *   - acl_check never lets a wrong password in: for every user name (and
 *     names that are none) and every password the input mentions (and
 *     near misses of each), it answers the user exactly when the user is
 *     on and the password's SHA-256 is one of its digests, or it is nopass;
 *   - acl_roles_format writes roles that acl_role_parse reads back;
 *   - acl_load_file on the same bytes agrees: the same users, or an error
 *     naming the first bad line (a NUL byte, a refused line) or the file
 *     without users. */
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth/acl.h"
#include "fuzz.h"

#define MAX_LINES 64
#define MAX_CANDIDATES 48

/* --- the model ---------------------------------------------------------------- */

struct muser {
    char name[ACL_NAME_MAX + 1];
    bool on, nopass;
    unsigned roles;
    size_t n;
    unsigned char d[ACL_PASSWORDS_MAX][ACL_DIGEST_LEN];
};

struct model {
    struct muser users[MAX_LINES];
    size_t n;
};

/* Passwords the input mentions, for the checks. */
struct candidates {
    char *pw[MAX_CANDIDATES];
    size_t len[MAX_CANDIDATES];
    size_t n;
};

static void candidate(struct candidates *c, const char *p, size_t n)
{
    if (c->n == MAX_CANDIDATES)
        return;
    c->pw[c->n] = malloc(n + 1);
    memcpy(c->pw[c->n], p, n);
    c->pw[c->n][n] = '\0';
    c->len[c->n++] = n;
}

static bool is_sep(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static bool word_is(const char *w, size_t n, const char *s)
{
    return n == strlen(s) && strncasecmp(w, s, n) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static unsigned role_of(const char *w, size_t n)
{
    static const char *const names[] = {"admin", "operator", "client", "worker"};
    for (unsigned i = 0; i < 4; i++)
        if (word_is(w, n, names[i]))
            return 1u << i;
    return word_is(w, n, "all") ? ROLE_ADMIN : 0;
}

static bool add_digest(struct muser *u, const unsigned char d[ACL_DIGEST_LEN])
{
    for (size_t i = 0; i < u->n; i++)
        if (memcmp(u->d[i], d, ACL_DIGEST_LEN) == 0)
            return true;
    if (u->n == ACL_PASSWORDS_MAX)
        return false;
    memcpy(u->d[u->n++], d, ACL_DIGEST_LEN);
    return true;
}

/* Whether the line is taken; a user line's user goes into m. */
static bool model_line(struct model *m, const char *line, struct candidates *cands)
{
    /* A word is at least one byte and a blank: max_len bounds them. */
    static const char *w[4096];
    static size_t wl[4096];
    size_t nw = 0;
    for (const char *p = line; *p;) {
        while (is_sep(*p))
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && !is_sep(*p))
            p++;
        if (nw == 4096)
            abort();  /* an input longer than make fuzz gives */
        w[nw] = s;
        wl[nw++] = (size_t)(p - s);
    }
    if (nw == 0 || w[0][0] == '#')
        return true;
    if (!word_is(w[0], wl[0], "user") || nw < 2 || wl[1] > ACL_NAME_MAX)
        return false;
    for (size_t i = 0; i < m->n; i++)
        if (strlen(m->users[i].name) == wl[1] && memcmp(m->users[i].name, w[1], wl[1]) == 0)
            return false;
    struct muser u;
    memset(&u, 0, sizeof u);
    memcpy(u.name, w[1], wl[1]);
    for (size_t i = 2; i < nw; i++) {
        const char *r = w[i];
        size_t n = wl[i];
        unsigned char d[ACL_DIGEST_LEN];
        if (word_is(r, n, "on")) {
            u.on = true;
        } else if (word_is(r, n, "off")) {
            u.on = false;
        } else if (word_is(r, n, "nopass")) {
            u.nopass = true;
            u.n = 0;
        } else if (word_is(r, n, "resetpass")) {
            u.nopass = false;
            u.n = 0;
        } else if (r[0] == '>') {
            candidate(cands, r + 1, n - 1);
            SHA256((const unsigned char *)r + 1, n - 1, d);
            if (!add_digest(&u, d))
                return false;
        } else if (r[0] == '#') {
            if (n != 1 + 2 * ACL_DIGEST_LEN)
                return false;
            for (size_t k = 0; k < ACL_DIGEST_LEN; k++) {
                int hi = hexval(r[1 + 2 * k]), lo = hexval(r[2 + 2 * k]);
                if (hi < 0 || lo < 0)
                    return false;
                d[k] = (unsigned char)(hi << 4 | lo);
            }
            if (!add_digest(&u, d))
                return false;
        } else if ((r[0] == '+' || r[0] == '-') && n > 2 && r[1] == '@') {
            unsigned role = role_of(r + 2, n - 2);
            if (!role)
                return false;
            if (r[0] == '+')
                u.roles |= role;
            else
                u.roles &= ~role;
        } else if (!(n == 2 && (memcmp(r, "~*", 2) == 0 || memcmp(r, "&*", 2) == 0)) &&
                   !word_is(r, n, "allkeys") && !word_is(r, n, "allchannels")) {
            return false;
        }
    }
    m->users[m->n++] = u;
    return true;
}

/* --- checks -------------------------------------------------------------------- */

static void same_users(const struct acl *acl, const struct model *m, const char *how)
{
    FUZZ_CHECK(acl->nusers == m->n, "%s: %zu users, the model has %zu", how, acl->nusers, m->n);
    for (size_t i = 0; i < m->n; i++) {
        const struct muser *mu = &m->users[i];
        const struct acl_user *u = acl_find(acl, mu->name, strlen(mu->name));
        FUZZ_CHECK(u != NULL, "%s: no user '%s'", how, mu->name);
        FUZZ_CHECK(u->on == mu->on && u->nopass == mu->nopass && u->roles == mu->roles &&
                       u->npasswords == mu->n,
                   "%s: user '%s' differs from the model", how, mu->name);
        for (size_t k = 0; k < mu->n; k++)
            FUZZ_CHECK(memcmp(u->digests[k], mu->d[k], ACL_DIGEST_LEN) == 0,
                       "%s: user '%s': digest %zu differs", how, mu->name, k);
    }
}

static bool model_lets_in(const struct muser *u, const char *pw, size_t n)
{
    if (!u->on)
        return false;
    if (u->nopass)
        return true;
    unsigned char d[ACL_DIGEST_LEN];
    SHA256((const unsigned char *)pw, n, d);
    for (size_t i = 0; i < u->n; i++)
        if (memcmp(d, u->d[i], ACL_DIGEST_LEN) == 0)
            return true;
    return false;
}

static void check_passwords(const struct acl *acl, const struct model *m,
                            struct candidates *c)
{
    /* Near misses of what was given, and nothing at all. */
    size_t given = c->n;
    candidate(c, "", 0);
    for (size_t i = 0; i < given; i++) {
        char near[1024 + 2];
        size_t n = c->len[i] < 1024 ? c->len[i] : 1024;
        memcpy(near, c->pw[i], n);
        near[n] = 'x';
        candidate(c, near, n + 1);
        if (n > 0)
            candidate(c, near, n - 1);
    }
    for (size_t k = 0; k < c->n; k++) {
        for (size_t i = 0; i < m->n; i++) {
            const struct muser *mu = &m->users[i];
            size_t nl = strlen(mu->name);
            const struct acl_user *got = acl_check(acl, mu->name, nl, c->pw[k], c->len[k]);
            bool want = model_lets_in(mu, c->pw[k], c->len[k]);
            FUZZ_CHECK(want ? got == acl_find(acl, mu->name, nl) : got == NULL,
                       "user '%s' with a password of %zu bytes: %s", mu->name, c->len[k],
                       want ? "refused" : "let in");
            /* A prefix of a name is another name, and no user. */
            if (nl > 1 && acl_find(acl, mu->name, nl - 1) == NULL)
                FUZZ_CHECK(acl_check(acl, mu->name, nl - 1, c->pw[k], c->len[k]) == NULL,
                           "a prefix of '%s' let in", mu->name);
        }
        FUZZ_CHECK(acl_check(acl, "no such user\n", 13, c->pw[k], c->len[k]) == NULL,
                   "a user that is none let in");
    }
}

static void check_roles(unsigned roles)
{
    char text[64];
    acl_roles_format(roles, text, sizeof text);
    unsigned back = 0;
    for (char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        unsigned r = acl_role_parse(p, n);
        FUZZ_CHECK(r != 0 && acl_role_name(r) != NULL, "role '%.*s' does not read back",
                   (int)n, p);
        back |= r;
        p += n + (p[n] == ',');
    }
    FUZZ_CHECK(back == roles, "roles %#x written as '%s'", roles, text);
}

/* --- the file ------------------------------------------------------------------- */

static char dir[64], path[96];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/fuzz-acl-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof path, "%s/users.acl", dir);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct model m = {.n = 0};
    struct candidates c = {.n = 0};
    struct acl acl;
    acl_init(&acl);
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';

    /* Line by line, as acl_load_file splits them; the first line it
     * would stop at is noted. */
    unsigned lineno = 0, first_bad = 0;
    bool nul_first = false;
    char *p = copy;
    char *end = copy + size;
    while (p < end && lineno < MAX_LINES) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        p[len] = '\0';
        lineno++;
        bool nul = strlen(p) != len;
        char err[256] = "";
        size_t before = acl.nusers;
        bool want = model_line(&m, p, &c);
        int rc = acl_add_line(&acl, p, err, sizeof err);
        FUZZ_CHECK((rc == 0) == want, "line %u: %s, the model says %s", lineno,
                   rc == 0 ? "taken" : err, want ? "taken" : "refused");
        if (rc != 0)
            FUZZ_CHECK(err[0] && acl.nusers == before, "line %u: refused without a message or "
                       "with a user added", lineno);
        if (first_bad == 0 && (nul || rc != 0)) {
            first_bad = lineno;
            nul_first = nul;
        }
        p += len + 1;
    }
    bool whole = p >= end;  /* every line was read (not cut at MAX_LINES) */
    same_users(&acl, &m, "line by line");
    for (size_t i = 0; i < acl.nusers; i++)
        check_roles(acl.users[i].roles);
    check_passwords(&acl, &m, &c);

    if (whole) {
        FILE *f = fopen(path, "w");
        FUZZ_CHECK(f != NULL, "cannot write %s", path);
        fwrite(data, 1, size, f);
        fclose(f);
        struct acl loaded;
        acl_init(&loaded);
        char err[512] = "";
        int rc = acl_load_file(&loaded, path, err, sizeof err);
        if (first_bad) {
            char want[128];
            snprintf(want, sizeof want, "%s:%u: ", path, first_bad);
            FUZZ_CHECK(rc != 0 && strncmp(err, want, strlen(want)) == 0,
                       "the file: '%s', not line %u", err, first_bad);
            if (nul_first)
                FUZZ_CHECK(strstr(err, "NUL") != NULL, "the file: '%s' for a NUL byte", err);
        } else if (acl.nusers == 0) {
            FUZZ_CHECK(rc != 0 && strstr(err, "no user") != NULL,
                       "the file without users: '%s'", err);
        } else {
            FUZZ_CHECK(rc == 0, "the file refused: %s", err);
            same_users(&loaded, &m, "the file");
        }
        acl_free(&loaded);
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.pw[i]);
    acl_free(&acl);
    free(copy);
    return 0;
}
