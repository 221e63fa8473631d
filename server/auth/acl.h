/* Who may connect, and with which roles: the users of --requirepass and
 * --acl-file, and the check of a user's password.
 *
 * The file speaks a subset of Redis's ACL file syntax, one user a line:
 *
 *     user <name> on|off >clear-password #<sha256-hex> nopass +@<role> -@<role>
 *
 * A role is admin, operator, client or worker (+@all is admin). A password
 * is kept only as its SHA-256, so a file holding `#…` entries works without
 * a clear password ever on disk, and a check compares digests in constant
 * time. Redis's key and channel patterns (~*, &*, allkeys, allchannels)
 * are accepted and mean nothing here: roles say what a user may do.
 *
 * The users are read once at start-up and never change while orderd runs,
 * so a connection may keep a pointer to its user. */
#ifndef AUTH_ACL_H
#define AUTH_ACL_H

#include <stdbool.h>
#include <stddef.h>

enum role {
    ROLE_ADMIN = 1u << 0,     /* everything */
    ROLE_OPERATOR = 1u << 1,  /* reads everything; UPDATE, CANCEL, DLQ REPLAY */
    ROLE_CLIENT = 1u << 2,    /* orders: CREATE, GET, TRACK, HISTORY, LIST, CANCEL; SUBSCRIBE */
    ROLE_WORKER = 1u << 3,    /* participants: CONSUME, ACK, NACK, STEP, PUBLISH, READ */
};
#define ROLE_ALL (ROLE_ADMIN | ROLE_OPERATOR | ROLE_CLIENT | ROLE_WORKER)
#define ROLE_COUNT 4

#define ACL_DIGEST_LEN 32      /* SHA-256 */
#define ACL_NAME_MAX 128
#define ACL_PASSWORDS_MAX 8    /* passwords of one user */
#define ACL_DEFAULT_USER "default"

struct acl_user {
    char name[ACL_NAME_MAX + 1];
    bool on;                   /* off: nobody authenticates as it */
    bool nopass;               /* any password will do */
    unsigned roles;            /* enum role bits */
    size_t npasswords;
    unsigned char digests[ACL_PASSWORDS_MAX][ACL_DIGEST_LEN];
};

struct acl {
    struct acl_user *users;    /* owned */
    size_t nusers;
};

void acl_init(struct acl *acl);
void acl_free(struct acl *acl);

/* Whether any user is configured (acl may be NULL: none): without one,
 * nobody authenticates and everyone may do everything (the loopback-only
 * default). */
bool acl_enabled(const struct acl *acl);

/* --requirepass: the user "default", on, admin, with this password.
 * Returns 0, or -1 with err filled (the file named it already). */
int acl_set_requirepass(struct acl *acl, const char *password, char *err, size_t errlen);

/* One line of an ACL file (without its newline). Blank lines and lines
 * starting with '#' are fine and add nothing. Returns 0, or -1 with err
 * saying what is wrong with the line. */
int acl_add_line(struct acl *acl, const char *line, char *err, size_t errlen);

/* Every line of the file at path. Returns 0, or -1 with err naming the
 * file and the line. */
int acl_load_file(struct acl *acl, const char *path, char *err, size_t errlen);

/* The user name authenticates with password, or NULL. Takes the same
 * time whether the name exists, the user is off, or the password is
 * wrong, and compares digests in constant time. */
const struct acl_user *acl_check(const struct acl *acl, const char *name, size_t namelen,
                                 const char *password, size_t passlen);

const struct acl_user *acl_find(const struct acl *acl, const char *name, size_t namelen);

/* A role's name ("admin"), or NULL for a bit that is none. */
const char *acl_role_name(unsigned role);
/* A role by name, case-insensitively: its bit, or 0. */
unsigned acl_role_parse(const char *name, size_t len);

/* Whether a user holding roles may do what needs one of `needed`: an
 * admin may do everything. */
static inline bool acl_roles_allow(unsigned roles, unsigned needed)
{
    return (roles & ROLE_ADMIN) || (roles & needed) != 0;
}

/* The roles as "operator,worker" into out. */
void acl_roles_format(unsigned roles, char *out, size_t outlen);

#endif
