/* Users, roles and password checks (see acl.h). */
#include "acl.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "escape.h"
#include "xalloc.h"

static const char *const role_names[ROLE_COUNT] = {"admin", "operator", "client", "worker"};

void acl_init(struct acl *acl)
{
    acl->users = NULL;
    acl->nusers = 0;
}

void acl_free(struct acl *acl)
{
    if (acl->users)
        OPENSSL_cleanse(acl->users, acl->nusers * sizeof *acl->users);
    free(acl->users);
    acl_init(acl);
}

bool acl_enabled(const struct acl *acl)
{
    return acl != NULL && acl->nusers > 0;
}

const char *acl_role_name(unsigned role)
{
    for (unsigned i = 0; i < ROLE_COUNT; i++)
        if (role == 1u << i)
            return role_names[i];
    return NULL;
}

unsigned acl_role_parse(const char *name, size_t len)
{
    for (unsigned i = 0; i < ROLE_COUNT; i++)
        if (strlen(role_names[i]) == len && strncasecmp(role_names[i], name, len) == 0)
            return 1u << i;
    if (len == 3 && strncasecmp(name, "all", 3) == 0)
        return ROLE_ADMIN;
    return 0;
}

void acl_roles_format(unsigned roles, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < ROLE_COUNT; i++) {
        if (!(roles & (1u << i)))
            continue;
        int n = snprintf(out + used, outlen - used, "%s%s", used ? "," : "", role_names[i]);
        if (n < 0 || (size_t)n >= outlen - used)
            return;
        used += (size_t)n;
    }
}

static void digest(const char *password, size_t len, unsigned char out[ACL_DIGEST_LEN])
{
    unsigned int n = 0;
    /* SHA-256 of bytes in memory cannot fail short of the library being
     * broken; a zero digest then matches no real password. */
    if (EVP_Digest(password, len, out, &n, EVP_sha256(), NULL) != 1 || n != ACL_DIGEST_LEN)
        memset(out, 0, ACL_DIGEST_LEN);
}

const struct acl_user *acl_find(const struct acl *acl, const char *name, size_t namelen)
{
    for (size_t i = 0; i < acl->nusers; i++)
        if (strlen(acl->users[i].name) == namelen &&
            memcmp(acl->users[i].name, name, namelen) == 0)
            return &acl->users[i];
    return NULL;
}

const struct acl_user *acl_check(const struct acl *acl, const char *name, size_t namelen,
                                 const char *password, size_t passlen)
{
    unsigned char given[ACL_DIGEST_LEN];
    digest(password, passlen, given);
    const struct acl_user *u = acl_find(acl, name, namelen);
    /* Every digest of the user is compared, and an unknown user's check
     * compares against a digest of nothing: how long it takes says
     * nothing about which part was wrong. */
    static const unsigned char none[ACL_DIGEST_LEN];
    bool match = false;
    if (u == NULL || u->npasswords == 0) {
        (void)CRYPTO_memcmp(given, none, ACL_DIGEST_LEN);
    } else {
        for (size_t i = 0; i < u->npasswords; i++)
            match |= CRYPTO_memcmp(given, u->digests[i], ACL_DIGEST_LEN) == 0;
    }
    OPENSSL_cleanse(given, sizeof given);
    if (u == NULL || !u->on)
        return NULL;
    return match || u->nopass ? u : NULL;
}

static struct acl_user *user_add(struct acl *acl, const char *name, size_t len)
{
    acl->users = xrealloc(acl->users, (acl->nusers + 1) * sizeof *acl->users);
    struct acl_user *u = &acl->users[acl->nusers++];
    memset(u, 0, sizeof *u);
    memcpy(u->name, name, len);
    u->name[len] = '\0';
    return u;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *word, size_t len)
{
    snprintf(err, errlen, fmt, (int)(len > 64 ? 64 : len), word);
    return -1;
}

static int add_password(struct acl_user *u, const unsigned char d[ACL_DIGEST_LEN], char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < u->npasswords; i++)
        if (memcmp(u->digests[i], d, ACL_DIGEST_LEN) == 0)
            return 0;
    if (u->npasswords == ACL_PASSWORDS_MAX) {
        snprintf(err, errlen, "user %s has more than %d passwords", u->name, ACL_PASSWORDS_MAX);
        return -1;
    }
    memcpy(u->digests[u->npasswords++], d, ACL_DIGEST_LEN);
    return 0;
}

/* One rule of a user line. */
static int apply_rule(struct acl_user *u, const char *w, size_t len, char *err, size_t errlen)
{
    unsigned char d[ACL_DIGEST_LEN];
    if (len == 2 && strncasecmp(w, "on", 2) == 0) {
        u->on = true;
    } else if (len == 3 && strncasecmp(w, "off", 3) == 0) {
        u->on = false;
    } else if (len == 6 && strncasecmp(w, "nopass", 6) == 0) {
        u->nopass = true;
        u->npasswords = 0;
    } else if (len == 9 && strncasecmp(w, "resetpass", 9) == 0) {
        u->nopass = false;
        u->npasswords = 0;
    } else if (w[0] == '>') {
        digest(w + 1, len - 1, d);
        int rc = add_password(u, d, err, errlen);
        OPENSSL_cleanse(d, sizeof d);
        return rc;
    } else if (w[0] == '#') {
        if (len != 1 + 2 * ACL_DIGEST_LEN)
            return fail(err, errlen, "'%.*s' is not # and 64 hex digits (a SHA-256)", w, len);
        for (size_t i = 0; i < ACL_DIGEST_LEN; i++) {
            int hi = hex_digit(w[1 + 2 * i]), lo = hex_digit(w[2 + 2 * i]);
            if (hi < 0 || lo < 0)
                return fail(err, errlen, "'%.*s' is not # and 64 hex digits (a SHA-256)", w, len);
            d[i] = (unsigned char)(hi << 4 | lo);
        }
        return add_password(u, d, err, errlen);
    } else if ((w[0] == '+' || w[0] == '-') && len > 2 && w[1] == '@') {
        unsigned role = acl_role_parse(w + 2, len - 2);
        if (role == 0)
            return fail(err, errlen,
                        "unknown role in '%.*s' (admin, operator, client, worker or all)", w,
                        len);
        if (w[0] == '+')
            u->roles |= role;
        else
            u->roles &= ~role;
    } else if ((len == 2 && (memcmp(w, "~*", 2) == 0 || memcmp(w, "&*", 2) == 0)) ||
               (len == 7 && strncasecmp(w, "allkeys", 7) == 0) ||
               (len == 11 && strncasecmp(w, "allchannels", 11) == 0)) {
        /* Redis's key and channel patterns: everything, which is what
         * orderd's roles mean anyway. */
    } else {
        return fail(err, errlen,
                    "unknown rule '%.*s' (on, off, >password, #sha256, nopass, resetpass, "
                    "+@role, -@role)",
                    w, len);
    }
    return 0;
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static size_t word_len(const char *p)
{
    size_t n = 0;
    while (p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\r')
        n++;
    return n;
}

int acl_add_line(struct acl *acl, const char *line, char *err, size_t errlen)
{
    const char *p = skip_blanks(line);
    if (*p == '\0' || *p == '#')
        return 0;
    size_t len = word_len(p);
    if (len != 4 || strncasecmp(p, "user", 4) != 0)
        return fail(err, errlen, "expected 'user <name> <rules>...', got '%.*s'", p, len);
    p = skip_blanks(p + len);
    len = word_len(p);
    if (len == 0) {
        snprintf(err, errlen, "user without a name");
        return -1;
    }
    if (len > ACL_NAME_MAX)
        return fail(err, errlen, "user name '%.*s...' is longer than 128 bytes", p, len);
    if (acl_find(acl, p, len))
        return fail(err, errlen, "user '%.*s' is defined twice", p, len);
    /* Rules go to a copy: a bad line adds nobody. */
    struct acl_user u;
    memset(&u, 0, sizeof u);
    memcpy(u.name, p, len);
    for (p = skip_blanks(p + len); *p; p = skip_blanks(p + len)) {
        len = word_len(p);
        if (apply_rule(&u, p, len, err, errlen) != 0) {
            OPENSSL_cleanse(&u, sizeof u);
            return -1;
        }
    }
    struct acl_user *added = user_add(acl, u.name, strlen(u.name));
    *added = u;
    OPENSSL_cleanse(&u, sizeof u);
    return 0;
}

int acl_set_requirepass(struct acl *acl, const char *password, char *err, size_t errlen)
{
    if (acl_find(acl, ACL_DEFAULT_USER, strlen(ACL_DEFAULT_USER))) {
        snprintf(err, errlen, "--requirepass and the ACL file's user '%s' both set its password; "
                              "keep one",
                 ACL_DEFAULT_USER);
        return -1;
    }
    if (password[0] == '\0') {
        snprintf(err, errlen, "--requirepass needs a password that is not empty");
        return -1;
    }
    struct acl_user *u = user_add(acl, ACL_DEFAULT_USER, strlen(ACL_DEFAULT_USER));
    u->on = true;
    u->roles = ROLE_ADMIN;
    digest(password, strlen(password), u->digests[0]);
    u->npasswords = 1;
    return 0;
}

int acl_load_file(struct acl *acl, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "--acl-file %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned lineno = 0;
    int rc = 0;
    char why[200];
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if ((size_t)n != strlen(line)) {
            snprintf(err, errlen, "%s:%u: a NUL byte in the line", path, lineno);
            rc = -1;
            break;
        }
        if (acl_add_line(acl, line, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "--acl-file %s: %s", path, strerror(errno));
        rc = -1;
    }
    if (line) {
        OPENSSL_cleanse(line, cap);
        free(line);
    }
    fclose(f);
    if (rc == 0 && acl->nusers == 0) {
        snprintf(err, errlen, "%s: no user in it: nobody could connect", path);
        rc = -1;
    }
    return rc;
}
