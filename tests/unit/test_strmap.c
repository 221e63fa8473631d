/* The string map: lookups, overwrites, backward-shift deletion checked
 * against a plain array, iteration, and per-map seeds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/strmap.h"

#define N 20000

static size_t key_of(char *out, int i)
{
    return (size_t)snprintf(out, 24, "%d", i);
}

static void test_strmap_stores_overwrites_and_grows(void **state)
{
    (void)state;
    static int values[5000];
    struct strmap m;
    strmap_init(&m);
    assert_null(strmap_get(&m, "a", 1));
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "key-%d", i);
        strmap_put(&m, key, (size_t)n, &values[i]);
    }
    assert_int_equal(m.count, 5000);
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "key-%d", i);
        assert_ptr_equal(strmap_get(&m, key, (size_t)n), &values[i]);
    }
    strmap_put(&m, "key-7", 5, &values[99]);
    assert_ptr_equal(strmap_get(&m, "key-7", 5), &values[99]);
    assert_int_equal(m.count, 5000);
    /* Binary keys: a NUL inside is part of the key. */
    strmap_put(&m, "a\0b", 3, &values[1]);
    assert_null(strmap_get(&m, "a", 1));
    assert_ptr_equal(strmap_get(&m, "a\0b", 3), &values[1]);
    strmap_free(&m);
}

/* put() hands back the map's own copy of the key, the same one each time,
 * and it stays put while the map grows around it. */
static void test_put_returns_the_maps_copy_of_the_key(void **state)
{
    (void)state;
    static int values[2];
    struct strmap m;
    strmap_init(&m);
    char key[32] = "alice";
    const char *copy = strmap_put(&m, key, 5, &values[0]);
    assert_ptr_not_equal(copy, key);
    assert_string_equal(copy, "alice");
    strcpy(key, "bobby");
    assert_string_equal(copy, "alice");
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof key, "grow-%d", i);
        strmap_put(&m, key, (size_t)n, &values[1]);
    }
    assert_ptr_equal(strmap_put(&m, "alice", 5, &values[1]), copy);
    assert_string_equal(copy, "alice");
    assert_ptr_equal(strmap_get(&m, "alice", 5), &values[1]);
    strmap_free(&m);
}

static void test_strmap_delete_keeps_every_other_key_reachable(void **state)
{
    (void)state;
    static int values[3000];
    struct strmap m;
    strmap_init(&m);
    char key[32];
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        strmap_put(&m, key, (size_t)n, &values[i]);
    }
    /* Delete every third key: probe runs get holes everywhere. */
    for (int i = 0; i < 3000; i += 3) {
        int n = snprintf(key, sizeof key, "k%d", i);
        assert_ptr_equal(strmap_del(&m, key, (size_t)n), &values[i]);
        assert_null(strmap_del(&m, key, (size_t)n));
    }
    assert_int_equal(m.count, 2000);
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        if (i % 3 == 0)
            assert_null(strmap_get(&m, key, (size_t)n));
        else
            assert_ptr_equal(strmap_get(&m, key, (size_t)n), &values[i]);
    }
    size_t iter = 0, seen = 0, len;
    const char *k;
    void *v;
    while (strmap_next(&m, &iter, &k, &len, &v))
        seen++;
    assert_int_equal(seen, 2000);
    strmap_free(&m);
}

/* Random puts and deletes, checked against an array after every step. */
static void test_random_puts_and_deletes_match_an_array(void **state)
{
    (void)state;
    static int present[N];
    struct strmap m;
    strmap_init(&m);
    uint64_t x = 88172645463325252ULL;
    char k[24];
    for (int step = 0; step < 200000; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % N);
        size_t len = key_of(k, i);
        if (x & (1u << 20)) {
            strmap_put(&m, k, len, &present[i]);
            present[i] = 1;
        } else {
            void *v = strmap_del(&m, k, len);
            assert_true(present[i] ? v == &present[i] : v == NULL);
            present[i] = 0;
        }
    }
    size_t count = 0;
    for (int i = 0; i < N; i++) {
        size_t len = key_of(k, i);
        assert_true(present[i] ? strmap_get(&m, k, len) == &present[i]
                               : strmap_get(&m, k, len) == NULL);
        count += (size_t)present[i];
    }
    assert_int_equal(m.count, count);
    strmap_free(&m);
}

/* One map filled in another's iteration order (what replaying a snapshot
 * does): every key arrives, and the two maps hash differently. */
static void test_refilled_in_iteration_order(void **state)
{
    (void)state;
    static int vals[N];
    struct strmap a, b;
    strmap_init(&a);
    strmap_init(&b);
    assert_true(a.seed != b.seed);
    char k[24];
    for (int i = 0; i < N; i++)
        strmap_put(&a, k, key_of(k, i), &vals[i]);
    size_t it = 0, len;
    const char *key;
    void *v;
    size_t seen = 0;
    while (strmap_next(&a, &it, &key, &len, &v)) {
        strmap_put(&b, key, len, v);
        seen++;
    }
    assert_int_equal(seen, N);
    assert_int_equal(b.count, N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(strmap_get(&b, k, key_of(k, i)), &vals[i]);
    strmap_free(&a);
    strmap_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strmap_stores_overwrites_and_grows),
        cmocka_unit_test(test_put_returns_the_maps_copy_of_the_key),
        cmocka_unit_test(test_strmap_delete_keeps_every_other_key_reachable),
        cmocka_unit_test(test_random_puts_and_deletes_match_an_array),
        cmocka_unit_test(test_refilled_in_iteration_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
