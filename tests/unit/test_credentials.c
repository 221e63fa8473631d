/* Authorization headers into a user and a password: Basic and Bearer,
 * and everything that is neither refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "auth/credentials.h"

static void parses_to(const char *header, const char *user, const char *pw, size_t pwlen)
{
    struct credentials c;
    if (credentials_parse(header, &c) != 0)
        fail_msg("'%s' refused", header);
    assert_string_equal(c.user, user);
    assert_int_equal(c.userlen, strlen(user));
    assert_int_equal(c.passlen, pwlen);
    assert_memory_equal(c.password, pw, pwlen);
    credentials_clear(&c);
}

static void refused(const char *header)
{
    struct credentials c;
    if (credentials_parse(header, &c) == 0)
        fail_msg("'%s' accepted as %s", header, c.user);
}

static void test_basic(void **state)
{
    (void)state;
    parses_to("Basic YWxpY2U6czNjcmV0", "alice", "s3cret", 6);          /* alice:s3cret */
    parses_to("basic   YWxpY2U6czNjcmV0  ", "alice", "s3cret", 6);
    parses_to("Basic YTpiOmM=", "a", "b:c", 3);                          /* a:b:c */
    parses_to("Basic OnB3", "", "pw", 2);                                /* :pw */
    parses_to("Basic YTo=", "a", "", 0);                                 /* a: */
    parses_to("Basic YTphAGI=", "a", "a\0b", 3);                         /* a:a\0b */
    refused("Basic YWxpY2U=");             /* alice: no colon */
    refused("Basic YWxpY2U6czNjcmV0=");    /* bad length */
    refused("Basic YWxp!2U6czNjcmV0");     /* not base64 */
    refused("Basic YT=6");                 /* padding inside */
    refused("Basic ");
    refused("Basic");
}

static void test_bearer(void **state)
{
    (void)state;
    parses_to("Bearer alice:s3cret", "alice", "s3cret", 6);
    parses_to("Bearer s3cret", "default", "s3cret", 6);
    parses_to("bearer  tok ", "default", "tok", 3);
    refused("Bearer ");
}

static void test_other_schemes_and_sizes(void **state)
{
    (void)state;
    refused("Digest username=alice");
    refused("");
    refused("s3cret");
    char big[2048] = "Bearer ";
    memset(big + 7, 'x', sizeof big - 8);
    big[sizeof big - 1] = '\0';
    refused(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_other_schemes_and_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
