/* The integer map: random operations checked against a plain array, growth,
 * iteration, backward-shift deletion in crowded tables, the keys at either
 * end of the range, and per-map seeds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "lib/u64map.h"

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

#define POOL 3000

/* Keys a test draws from: both ends of the range, a run of small ids like
 * orders have, and random 64-bit values. */
static void fill_pool(uint64_t *pool, uint64_t *x)
{
    pool[0] = 0;
    pool[1] = UINT64_MAX;
    pool[2] = UINT64_MAX - 1;
    for (size_t i = 3; i < POOL; i++)
        pool[i] = i < POOL / 2 ? i : next_rand(x);
}

static void check_against(const struct u64map *m, const uint64_t *pool, const bool *present,
                          const int64_t *vals)
{
    size_t count = 0;
    for (size_t i = 0; i < POOL; i++) {
        int64_t v = -1;
        assert_int_equal(u64map_get(m, pool[i], &v), present[i]);
        if (present[i]) {
            assert_int_equal(v, vals[i]);
            count++;
        }
    }
    assert_int_equal(m->count, count);
}

/* Random puts, overwrites, gets and deletes with a fixed seed, each checked
 * against an array indexed like the key pool. */
static void test_random_operations_match_an_array(void **state)
{
    (void)state;
    static uint64_t pool[POOL];
    static bool present[POOL];
    static int64_t vals[POOL];
    uint64_t x = 88172645463325252ULL;
    fill_pool(pool, &x);
    struct u64map m;
    u64map_init(&m);
    for (int step = 0; step < 300000; step++) {
        uint64_t r = next_rand(&x);
        size_t i = (size_t)(r % POOL);
        int64_t v = -1;
        switch ((r >> 32) % 3) {
        case 0: {
            int64_t val = (int64_t)next_rand(&x);
            u64map_put(&m, pool[i], val);
            present[i] = true;
            vals[i] = val;
            break;
        }
        case 1:
            assert_int_equal(u64map_get(&m, pool[i], &v), present[i]);
            if (present[i])
                assert_int_equal(v, vals[i]);
            break;
        default:
            assert_int_equal(u64map_del(&m, pool[i], &v), present[i]);
            if (present[i])
                assert_int_equal(v, vals[i]);
            present[i] = false;
            break;
        }
        if (step % 10000 == 0)
            check_against(&m, pool, present, vals);
    }
    check_against(&m, pool, present, vals);
    u64map_free(&m);
    assert_int_equal(m.count, 0);
    assert_false(u64map_get(&m, pool[5], NULL));
}

static void test_grows_and_keeps_every_entry(void **state)
{
    (void)state;
    struct u64map m;
    u64map_init(&m);
    assert_false(u64map_get(&m, 1, NULL));
    assert_false(u64map_del(&m, 1, NULL));
    const uint64_t n = 200000;
    size_t cap = 0;
    for (uint64_t id = 1; id <= n; id++) {
        u64map_put(&m, id, (int64_t)id * 3);
        assert_true(m.count * 4 <= m.cap * 3);
        if (m.cap != cap) {
            assert_true(m.cap == 64 || m.cap == cap * 2);
            cap = m.cap;
        }
    }
    assert_int_equal(m.count, n);
    for (uint64_t id = 1; id <= n; id++) {
        int64_t v;
        assert_true(u64map_get(&m, id, &v));
        assert_int_equal(v, (int64_t)id * 3);
    }
    assert_false(u64map_get(&m, n + 1, NULL));
    /* An overwrite is not a new entry. */
    u64map_put(&m, 7, -7);
    assert_int_equal(m.count, n);
    int64_t v;
    assert_true(u64map_get(&m, 7, &v));
    assert_int_equal(v, -7);
    u64map_free(&m);
}

static void test_iteration_visits_each_entry_once(void **state)
{
    (void)state;
    static uint64_t pool[POOL];
    static int seen[POOL];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    fill_pool(pool, &x);
    struct u64map m;
    u64map_init(&m);
    /* Nothing to visit in a map never filled. */
    size_t it = 0;
    uint64_t k;
    int64_t v;
    assert_false(u64map_next(&m, &it, &k, &v));
    for (size_t i = 0; i < POOL; i++)
        u64map_put(&m, pool[i], (int64_t)i);
    it = 0;
    size_t visits = 0;
    while (u64map_next(&m, &it, &k, &v)) {
        assert_true(v >= 0 && v < POOL);
        assert_true(pool[v] == k);
        seen[v]++;
        visits++;
    }
    assert_int_equal(visits, POOL);
    for (size_t i = 0; i < POOL; i++)
        assert_int_equal(seen[i], 1);
    /* Iteration is over once it said so. */
    assert_false(u64map_next(&m, &it, &k, &v));
    u64map_free(&m);
}

/* Tables filled to just under the growth point have long probe runs, some
 * wrapping past the end of the array: deleting from them in random order
 * must leave every other key where a lookup finds it. */
static void test_delete_keeps_every_other_key_findable(void **state)
{
    (void)state;
    uint64_t x = 2463534242ULL;
    enum { KEYS = 48 };  /* 3/4 of the first table's 64 slots */
    for (int trial = 0; trial < 2000; trial++) {
        struct u64map m;
        u64map_init(&m);
        uint64_t keys[KEYS];
        bool gone[KEYS] = {false};
        for (size_t i = 0; i < KEYS; i++) {
            keys[i] = trial % 2 ? next_rand(&x) : (uint64_t)trial * KEYS + i + 1;
            u64map_put(&m, keys[i], (int64_t)i);
        }
        assert_int_equal(m.cap, 64);
        for (size_t d = 0; d < KEYS; d++) {
            size_t victim = (size_t)(next_rand(&x) % KEYS);
            while (gone[victim])
                victim = (victim + 1) % KEYS;
            int64_t v;
            assert_true(u64map_del(&m, keys[victim], &v));
            assert_int_equal(v, (int64_t)victim);
            assert_false(u64map_del(&m, keys[victim], NULL));
            gone[victim] = true;
            for (size_t i = 0; i < KEYS; i++) {
                assert_int_equal(u64map_get(&m, keys[i], &v), !gone[i]);
                if (!gone[i])
                    assert_int_equal(v, (int64_t)i);
            }
        }
        assert_int_equal(m.count, 0);
        u64map_free(&m);
    }
}

/* 0 marks a free slot inside the map, and UINT64_MAX is the top of the
 * range: both are keys like any other. */
static void test_zero_and_max_are_keys(void **state)
{
    (void)state;
    struct u64map m;
    u64map_init(&m);
    int64_t v;
    assert_false(u64map_get(&m, 0, &v));
    assert_false(u64map_del(&m, 0, &v));
    u64map_put(&m, 0, 0);
    assert_true(u64map_get(&m, 0, &v));
    assert_int_equal(v, 0);
    assert_int_equal(m.count, 1);
    u64map_put(&m, 0, INT64_MIN);
    u64map_put(&m, UINT64_MAX, INT64_MAX);
    assert_int_equal(m.count, 2);
    for (uint64_t k = 1; k <= 100; k++)
        u64map_put(&m, k, 1);
    assert_true(u64map_get(&m, 0, &v));
    assert_int_equal(v, INT64_MIN);
    assert_true(u64map_get(&m, UINT64_MAX, &v));
    assert_int_equal(v, INT64_MAX);
    size_t it = 0, visits = 0;
    bool zero = false, max = false;
    uint64_t k;
    while (u64map_next(&m, &it, &k, &v)) {
        zero |= k == 0;
        max |= k == UINT64_MAX;
        visits++;
    }
    assert_true(zero && max);
    assert_int_equal(visits, 102);
    assert_true(u64map_del(&m, 0, &v));
    assert_int_equal(v, INT64_MIN);
    assert_false(u64map_get(&m, 0, NULL));
    assert_true(u64map_del(&m, UINT64_MAX, NULL));
    assert_false(u64map_get(&m, UINT64_MAX, NULL));
    assert_int_equal(m.count, 100);
    u64map_free(&m);
}

/* Two maps of the same keys place them differently (their seeds differ),
 * and a map filled in another's iteration order, as a snapshot replayed at
 * start-up fills it, holds every key. */
static void test_refilled_in_iteration_order(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct u64map a, b, c;
    u64map_init(&a);
    u64map_init(&b);
    u64map_init(&c);
    assert_true(a.seed != b.seed);
    for (uint64_t id = 1; id <= N; id++) {
        u64map_put(&a, id, (int64_t)id);
        u64map_put(&c, id, (int64_t)id);
    }
    size_t ia = 0, ic = 0, same = 0;
    uint64_t ka, kc;
    int64_t va, vc;
    while (u64map_next(&a, &ia, &ka, &va) && u64map_next(&c, &ic, &kc, &vc))
        same += ka == kc;
    assert_true(same < N / 10);
    ia = 0;
    while (u64map_next(&a, &ia, &ka, &va))
        u64map_put(&b, ka, va);
    assert_int_equal(b.count, N);
    for (uint64_t id = 1; id <= N; id++) {
        int64_t v;
        assert_true(u64map_get(&b, id, &v));
        assert_int_equal(v, (int64_t)id);
    }
    u64map_free(&a);
    u64map_free(&b);
    u64map_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_operations_match_an_array),
        cmocka_unit_test(test_grows_and_keeps_every_entry),
        cmocka_unit_test(test_iteration_visits_each_entry_once),
        cmocka_unit_test(test_delete_keeps_every_other_key_findable),
        cmocka_unit_test(test_zero_and_max_are_keys),
        cmocka_unit_test(test_refilled_in_iteration_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
