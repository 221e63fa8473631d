/* Authorization headers (see credentials.h). */
#include "credentials.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "acl.h"

void credentials_clear(struct credentials *c)
{
    OPENSSL_cleanse(c, sizeof *c);
}

/* "user:password" (or, if colon_optional and there is no colon, the
 * default user's password) into out. */
static int split(const char *s, size_t len, int colon_optional, struct credentials *out)
{
    const char *colon = memchr(s, ':', len);
    if (colon == NULL && !colon_optional)
        return -1;
    const char *user = colon ? s : ACL_DEFAULT_USER;
    size_t userlen = colon ? (size_t)(colon - s) : strlen(ACL_DEFAULT_USER);
    const char *pw = colon ? colon + 1 : s;
    size_t pwlen = colon ? len - userlen - 1 : len;
    if (userlen > CREDENTIALS_MAX || pwlen > CREDENTIALS_MAX)
        return -1;
    memcpy(out->user, user, userlen);
    out->user[userlen] = '\0';
    out->userlen = userlen;
    memcpy(out->password, pw, pwlen);
    out->password[pwlen] = '\0';
    out->passlen = pwlen;
    return 0;
}

/* Strict base64 with padding into out (at most outcap bytes). Returns the
 * decoded length, or -1. */
static long decode_base64(const char *in, size_t len, unsigned char *out, size_t outcap)
{
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > outcap)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '+' || ch == '/' || (ch == '=' && i >= len - 2);
        if (!ok || (i == len - 2 && ch == '=' && in[len - 1] != '='))
            return -1;
    }
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding's zero bytes too. */
    size_t pad = (in[len - 1] == '=') + (in[len - 2] == '=');
    return (long)((size_t)n - pad);
}

int credentials_parse(const char *header, struct credentials *out)
{
    memset(out, 0, sizeof *out);
    while (*header == ' ')
        header++;
    const char *sp = strchr(header, ' ');
    if (sp == NULL)
        return -1;
    size_t scheme = (size_t)(sp - header);
    const char *value = sp;
    while (*value == ' ')
        value++;
    size_t len = strlen(value);
    while (len > 0 && value[len - 1] == ' ')
        len--;
    if (scheme == 6 && strncasecmp(header, "Bearer", 6) == 0)
        return len > 0 ? split(value, len, 1, out) : -1;
    if (scheme != 5 || strncasecmp(header, "Basic", 5) != 0)
        return -1;
    unsigned char plain[2 * CREDENTIALS_MAX + 8];
    long n = decode_base64(value, len, plain, sizeof plain);
    int rc = n < 0 ? -1 : split((const char *)plain, (size_t)n, 0, out);
    OPENSSL_cleanse(plain, sizeof plain);
    return rc;
}
