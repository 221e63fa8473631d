/* Users and roles from ACL lines and --requirepass: what authenticates,
 * what is refused, and every malformed line named. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/acl.h"

/* SHA-256 of "workpw", as `printf workpw | sha256sum` prints it. */
#define WORKPW_SHA "84717594a8b992b5f50e7e5884f45d52eb1d629ca3bd93ed4e9f39da4050735c"

static const struct acl_user *check(const struct acl *acl, const char *user, const char *pw)
{
    return acl_check(acl, user, strlen(user), pw, strlen(pw));
}

static void add_ok(struct acl *acl, const char *line)
{
    char err[200];
    if (acl_add_line(acl, line, err, sizeof err) != 0)
        fail_msg("'%s': %s", line, err);
}

static void add_fails(const char *line, const char *want)
{
    struct acl acl;
    acl_init(&acl);
    char err[200] = "";
    assert_int_equal(acl_add_line(&acl, line, err, sizeof err), -1);
    if (strstr(err, want) == NULL)
        fail_msg("'%s': error '%s' does not say '%s'", line, err, want);
    assert_int_equal(acl.nusers, 0);
    acl_free(&acl);
}

static void test_clear_and_hashed_passwords(void **state)
{
    (void)state;
    struct acl acl;
    acl_init(&acl);
    assert_false(acl_enabled(&acl));
    add_ok(&acl, "user alice on >s3cret +@operator");
    add_ok(&acl, "user worker on #" WORKPW_SHA " +@worker");
    add_ok(&acl, "  user   both   on >one >two +@client   +@worker  ");
    assert_true(acl_enabled(&acl));
    const struct acl_user *u = check(&acl, "alice", "s3cret");
    assert_non_null(u);
    assert_int_equal(u->roles, ROLE_OPERATOR);
    assert_null(check(&acl, "alice", "s3cre"));
    assert_null(check(&acl, "alice", "s3cret "));
    assert_null(check(&acl, "alice", ""));
    assert_null(check(&acl, "Alice", "s3cret"));
    assert_non_null(check(&acl, "worker", "workpw"));
    assert_null(check(&acl, "worker", WORKPW_SHA));
    assert_non_null(check(&acl, "both", "one"));
    assert_non_null(check(&acl, "both", "two"));
    assert_int_equal(check(&acl, "both", "two")->roles, ROLE_CLIENT | ROLE_WORKER);
    assert_null(check(&acl, "nobody", "s3cret"));
    acl_free(&acl);
}

static void test_off_nopass_and_role_changes(void **state)
{
    (void)state;
    struct acl acl;
    acl_init(&acl);
    add_ok(&acl, "user gone off >pw +@admin");
    add_ok(&acl, "user silent >pw +@admin");           /* off unless on */
    add_ok(&acl, "user guest on nopass +@client");
    add_ok(&acl, "user fickle on >pw +@all -@admin +@worker");
    add_ok(&acl, "user redis on >pw ~* &* allkeys allchannels +@client");
    add_ok(&acl, "user reset on >old resetpass >new +@client");
    add_ok(&acl, "# a comment");
    add_ok(&acl, "");
    assert_null(check(&acl, "gone", "pw"));
    assert_null(check(&acl, "silent", "pw"));
    assert_non_null(check(&acl, "guest", "anything"));
    assert_int_equal(check(&acl, "fickle", "pw")->roles, ROLE_WORKER);
    assert_non_null(check(&acl, "redis", "pw"));
    assert_null(check(&acl, "reset", "old"));
    assert_non_null(check(&acl, "reset", "new"));
    assert_int_equal(acl.nusers, 6);
    acl_free(&acl);
}

static void test_malformed_lines_are_named(void **state)
{
    (void)state;
    add_fails("usr alice on", "expected 'user <name> <rules>...'");
    add_fails("user", "user without a name");
    add_fails("user alice on +@root", "unknown role in '+@root'");
    add_fails("user alice on #abc", "is not # and 64 hex digits");
    add_fails("user alice on #" WORKPW_SHA "x", "is not # and 64 hex digits");
    add_fails("user alice on #zz717594a8b992b5f50e7e5884f45d52eb1d629ca3bd93ed4e9f39da4050735c",
              "is not # and 64 hex digits");
    add_fails("user alice on +get", "unknown rule '+get'");
    add_fails("user alice on >1 >2 >3 >4 >5 >6 >7 >8 >9", "more than 8 passwords");
    struct acl acl;
    acl_init(&acl);
    char err[200];
    add_ok(&acl, "user alice on >pw");
    assert_int_equal(acl_add_line(&acl, "user alice on >other", err, sizeof err), -1);
    assert_non_null(strstr(err, "defined twice"));
    acl_free(&acl);
}

static void test_requirepass_is_the_default_admin(void **state)
{
    (void)state;
    struct acl acl;
    acl_init(&acl);
    char err[200];
    assert_int_equal(acl_set_requirepass(&acl, "pw", err, sizeof err), 0);
    const struct acl_user *u = check(&acl, "default", "pw");
    assert_non_null(u);
    assert_int_equal(u->roles, ROLE_ADMIN);
    acl_free(&acl);
    acl_init(&acl);
    add_ok(&acl, "user default on >other +@client");
    assert_int_equal(acl_set_requirepass(&acl, "pw", err, sizeof err), -1);
    assert_non_null(strstr(err, "keep one"));
    acl_free(&acl);
    acl_init(&acl);
    assert_int_equal(acl_set_requirepass(&acl, "", err, sizeof err), -1);
    acl_free(&acl);
}

static void test_a_file_names_the_bad_line(void **state)
{
    (void)state;
    char path[] = "/tmp/orderd-acl-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# users\nuser a on >x +@client\n\nuser b on +@nope\n", f);
    fclose(f);
    struct acl acl;
    acl_init(&acl);
    char err[300];
    assert_int_equal(acl_load_file(&acl, path, err, sizeof err), -1);
    char want[100];
    snprintf(want, sizeof want, "%s:4: unknown role", path);
    if (strstr(err, want) == NULL)
        fail_msg("'%s' does not say '%s'", err, want);
    acl_free(&acl);
    /* A file with nobody in it would lock everyone out. */
    f = fopen(path, "w");
    fputs("# nobody\n", f);
    fclose(f);
    acl_init(&acl);
    assert_int_equal(acl_load_file(&acl, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "no user"));
    acl_free(&acl);
    unlink(path);
    acl_init(&acl);
    assert_int_equal(acl_load_file(&acl, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
    acl_free(&acl);
}

static void test_roles_by_name(void **state)
{
    (void)state;
    assert_int_equal(acl_role_parse("Operator", 8), ROLE_OPERATOR);
    assert_int_equal(acl_role_parse("all", 3), ROLE_ADMIN);
    assert_int_equal(acl_role_parse("nope", 4), 0);
    char out[64];
    acl_roles_format(ROLE_CLIENT | ROLE_WORKER, out, sizeof out);
    assert_string_equal(out, "client,worker");
    assert_true(acl_roles_allow(ROLE_ADMIN, ROLE_WORKER));
    assert_false(acl_roles_allow(ROLE_CLIENT, ROLE_WORKER | ROLE_OPERATOR));
    assert_false(acl_roles_allow(0, ROLE_ALL & ~ROLE_ADMIN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clear_and_hashed_passwords),
        cmocka_unit_test(test_off_nopass_and_role_changes),
        cmocka_unit_test(test_malformed_lines_are_named),
        cmocka_unit_test(test_requirepass_is_the_default_admin),
        cmocka_unit_test(test_a_file_names_the_bad_line),
        cmocka_unit_test(test_roles_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
