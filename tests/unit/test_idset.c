/* The integer set behind the order index: membership and "least member
 * >= x" checked against a plain array under random changes, across the
 * summary levels, at its edges. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/idset.h"

/* The answer idset_next must give, by walking the array. */
static bool model_next(const bool *in, uint64_t n, uint64_t x, uint64_t *out)
{
    for (uint64_t i = x; i < n; i++)
        if (in[i]) {
            *out = i;
            return true;
        }
    return false;
}

static void assert_next(const struct idset *s, uint64_t x, bool found, uint64_t want)
{
    uint64_t got = 0;
    assert_int_equal(idset_next(s, x, &got), found);
    if (found)
        assert_int_equal(got, want);
}

static void test_an_empty_set_has_nothing(void **state)
{
    (void)state;
    struct idset s;
    idset_init(&s);
    uint64_t got;
    assert_false(idset_has(&s, 0));
    assert_false(idset_next(&s, 0, &got));
    idset_remove(&s, 3);
    assert_int_equal(s.count, 0);
    idset_free(&s);
}

static void test_next_finds_the_least_member_at_or_after(void **state)
{
    (void)state;
    struct idset s;
    idset_init(&s);
    idset_add(&s, 1);
    idset_add(&s, 63);
    idset_add(&s, 64);
    idset_add(&s, 4097);
    assert_int_equal(s.count, 4);
    assert_next(&s, 0, true, 1);
    assert_next(&s, 1, true, 1);
    assert_next(&s, 2, true, 63);
    assert_next(&s, 64, true, 64);
    assert_next(&s, 65, true, 4097);
    assert_next(&s, 4098, false, 0);
    idset_add(&s, 64);  /* twice is once */
    assert_int_equal(s.count, 4);
    idset_remove(&s, 64);
    idset_remove(&s, 64);
    assert_int_equal(s.count, 3);
    assert_next(&s, 64, true, 4097);
    idset_free(&s);
}

/* Two members 16M apart: next() climbs four levels and comes straight down. */
static void test_next_jumps_a_long_gap(void **state)
{
    (void)state;
    struct idset s;
    idset_init(&s);
    idset_add(&s, 5);
    idset_add(&s, 16777300);
    assert_true(s.nlevels >= 4);
    assert_next(&s, 6, true, 16777300);
    idset_remove(&s, 16777300);
    assert_next(&s, 6, false, 0);
    /* Emptied words leave no stale summary bits behind. */
    for (int k = 1; k < s.nlevels; k++)
        for (size_t j = 1; j < s.nwords[k]; j++)
            assert_int_equal(s.words[k][j], 0);
    idset_free(&s);
}

static void test_queries_past_the_end_find_nothing(void **state)
{
    (void)state;
    struct idset s;
    idset_init(&s);
    idset_add(&s, 100);
    uint64_t got;
    assert_false(idset_next(&s, 101, &got));
    assert_false(idset_next(&s, 1u << 20, &got));
    assert_false(idset_next(&s, UINT64_MAX, &got));
    assert_false(idset_has(&s, UINT64_MAX));
    idset_remove(&s, UINT64_MAX);
    assert_int_equal(s.count, 1);
    idset_free(&s);
}

/* Random adds and removes over a range that grows past each summary level,
 * clustered and sparse by turns, each followed by queries at random
 * places; the set must agree with the array every time. */
static void test_agrees_with_an_array_under_random_changes(void **state)
{
    (void)state;
    enum { RANGE = 300000, OPS = 20000 };
    bool *in = calloc(RANGE, sizeof *in);
    assert_non_null(in);
    size_t members = 0;
    struct idset s;
    idset_init(&s);
    srand(11);
    for (int op = 0; op < OPS; op++) {
        /* Mostly near a moving point, sometimes anywhere. */
        uint64_t x = rand() % 4 ? (uint64_t)(op * 13 + rand() % 200) % RANGE
                                : (uint64_t)rand() % RANGE;
        if (rand() % 3) {
            members += !in[x];
            in[x] = true;
            idset_add(&s, x);
        } else {
            members -= in[x];
            in[x] = false;
            idset_remove(&s, x);
        }
        assert_int_equal(s.count, members);
        for (int q = 0; q < 4; q++) {
            uint64_t at = (uint64_t)rand() % (RANGE + 100);
            uint64_t want = 0;
            bool found = model_next(in, RANGE, at, &want);
            assert_next(&s, at, found, want);
        }
        assert_int_equal(idset_has(&s, x), in[x]);
    }
    /* Walking it whole gives every member in order. */
    uint64_t at = 0, got, seen = 0;
    while (idset_next(&s, at, &got)) {
        assert_true(in[got]);
        seen++;
        at = got + 1;
    }
    assert_int_equal(seen, members);
    idset_free(&s);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_empty_set_has_nothing),
        cmocka_unit_test(test_next_finds_the_least_member_at_or_after),
        cmocka_unit_test(test_next_jumps_a_long_gap),
        cmocka_unit_test(test_queries_past_the_end_find_nothing),
        cmocka_unit_test(test_agrees_with_an_array_under_random_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
