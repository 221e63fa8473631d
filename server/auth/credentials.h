/* Credentials as HTTP carries them: an Authorization header, Basic or
 * Bearer, into a user name and a password for acl_check(). */
#ifndef AUTH_CREDENTIALS_H
#define AUTH_CREDENTIALS_H

#include <stddef.h>

#define CREDENTIALS_MAX 512   /* bytes of the user, and of the password */

struct credentials {
    char user[CREDENTIALS_MAX + 1];
    size_t userlen;
    char password[CREDENTIALS_MAX + 1];
    size_t passlen;
};

/* Reads `Basic base64(user:password)` (RFC 7617) or `Bearer <token>`
 * (RFC 6750), the scheme case-insensitively. A Bearer token is
 * `<user>:<password>`, or the default user's password when it holds no
 * colon. Returns 0, or -1 for a header that is neither, is not valid
 * base64, or is longer than CREDENTIALS_MAX. Clear with
 * credentials_clear() after use. */
int credentials_parse(const char *header, struct credentials *out);

void credentials_clear(struct credentials *c);

#endif
