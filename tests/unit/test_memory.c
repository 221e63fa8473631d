/* The resident set size --maxmemory is held against: statm's text read
 * right and wrong, and the real reading following memory as it is
 * touched. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/memory.h"

static void test_statm_resident_pages_times_the_page_size(void **state)
{
    (void)state;
    size_t bytes = 0;
    assert_int_equal(memory_parse_statm("5000 1200 300 10 0 900 0\n", 4096, &bytes), 0);
    assert_int_equal(bytes, 1200u * 4096);
    assert_int_equal(memory_parse_statm("1 2", 65536, &bytes), 0);
    assert_int_equal(bytes, 2u * 65536);
}

static void test_statm_that_is_not_statm_is_an_error(void **state)
{
    (void)state;
    size_t bytes = 7;
    assert_int_equal(memory_parse_statm("", 4096, &bytes), -1);
    assert_int_equal(memory_parse_statm("5000", 4096, &bytes), -1);
    assert_int_equal(memory_parse_statm("5000 x", 4096, &bytes), -1);
    assert_int_equal(memory_parse_statm("5000 12x 3", 4096, &bytes), -1);
    assert_int_equal(memory_parse_statm("99999999999999999999999 1", 4096, &bytes), -1);
    assert_int_equal(bytes, 7);  /* left alone */
}

static void test_touched_memory_shows_in_the_resident_size(void **state)
{
    (void)state;
    char err[128];
    size_t before = 0, after = 0;
    assert_int_equal(memory_rss(&before, err, sizeof err), 0);
    assert_true(before > 0);
    /* Pages count once written to, not when allocated. */
    const size_t grow = 64u << 20;
    char *p = malloc(grow);
    assert_non_null(p);
    memset(p, 1, grow);
    assert_int_equal(memory_rss(&after, err, sizeof err), 0);
    assert_true(after >= before + grow / 2);
    assert_int_equal(((volatile char *)p)[grow - 1], 1);  /* the writes happened */
    free(p);
}

static void test_over_only_with_a_limit_and_past_it(void **state)
{
    (void)state;
    struct memory_limit m = {.max = 0, .used = 1u << 30};
    assert_false(memory_over(&m));  /* 0: no limit */
    m.max = 1u << 30;
    assert_false(memory_over(&m));  /* at it is not over it */
    m.used++;
    assert_true(memory_over(&m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statm_resident_pages_times_the_page_size),
        cmocka_unit_test(test_statm_that_is_not_statm_is_an_error),
        cmocka_unit_test(test_touched_memory_shows_in_the_resident_size),
        cmocka_unit_test(test_over_only_with_a_limit_and_past_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
