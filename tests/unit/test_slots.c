/* The sparse array behind the book and the saga engine: what is set is
 * found, in id order, against a plain array under random changes; a page
 * goes when its last slot is emptied, so ids whose things left memory cost
 * nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "lib/slots.h"

/* Distinct non-NULL pointers to store: addresses inside one array. */
static char things[8 * SLOTS_PAGE + 1];

static void *thing(uint64_t id)
{
    return &things[id % sizeof things];
}

static size_t pages_made(const struct slots *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->npages; i++)
        n += s->pages[i] != NULL;
    return n;
}

static void test_get_set_next_across_pages(void **state)
{
    (void)state;
    struct slots s;
    slots_init(&s);
    assert_null(slots_get(&s, 0));
    assert_null(slots_get(&s, 1));
    assert_int_equal(slots_next(&s, 0), 0);
    uint64_t ids[] = {1, SLOTS_PAGE, SLOTS_PAGE + 1, 5 * SLOTS_PAGE + 7};
    for (size_t i = 0; i < 4; i++)
        slots_set(&s, ids[i], thing(ids[i]));
    assert_int_equal(s.set, 4);
    assert_int_equal(pages_made(&s), 3);  /* 1 and 1024 share the first page */
    for (size_t i = 0; i < 4; i++)
        assert_ptr_equal(slots_get(&s, ids[i]), thing(ids[i]));
    assert_null(slots_get(&s, 2));
    assert_null(slots_get(&s, 100 * SLOTS_PAGE));  /* past every page */
    uint64_t id = 0;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(id = slots_next(&s, id), ids[i]);
    assert_int_equal(slots_next(&s, id), 0);
    assert_int_equal(slots_next(&s, SLOTS_PAGE - 1), SLOTS_PAGE);
    assert_int_equal(slots_next(&s, SLOTS_PAGE + 1), 5 * SLOTS_PAGE + 7);
    slots_free(&s);
}

static void test_a_page_goes_with_its_last_slot(void **state)
{
    (void)state;
    struct slots s;
    slots_init(&s);
    for (uint64_t id = 1; id <= 3 * SLOTS_PAGE; id++)
        slots_set(&s, id, thing(id));
    assert_int_equal(pages_made(&s), 3);
    /* Emptying the middle page slot by slot frees it at the last one. */
    for (uint64_t id = SLOTS_PAGE + 1; id < 2 * SLOTS_PAGE; id++)
        slots_set(&s, id, NULL);
    assert_int_equal(pages_made(&s), 3);
    slots_set(&s, 2 * SLOTS_PAGE, NULL);
    assert_int_equal(pages_made(&s), 2);
    assert_int_equal(s.set, 2 * SLOTS_PAGE);
    /* Walking skips the empty page whole. */
    assert_int_equal(slots_next(&s, SLOTS_PAGE), 2 * SLOTS_PAGE + 1);
    /* Emptying what is empty, or past the end, makes nothing. */
    slots_set(&s, SLOTS_PAGE + 5, NULL);
    slots_set(&s, 50 * SLOTS_PAGE, NULL);
    assert_int_equal(pages_made(&s), 2);
    assert_int_equal(s.set, 2 * SLOTS_PAGE);
    /* Set again, a page comes back. */
    slots_set(&s, SLOTS_PAGE + 5, thing(7));
    assert_int_equal(pages_made(&s), 3);
    assert_ptr_equal(slots_get(&s, SLOTS_PAGE + 5), thing(7));
    slots_free(&s);
}

/* Random sets and clears against a plain array. */
static void test_random_changes_match_an_array(void **state)
{
    (void)state;
    enum { N = 6 * SLOTS_PAGE };
    static void *model[N + 1];
    struct slots s;
    slots_init(&s);
    srand(7);
    for (int round = 0; round < 200000; round++) {
        uint64_t id = 1 + (uint64_t)rand() % N;
        void *p = rand() % 3 ? NULL : thing(id);
        slots_set(&s, id, p);
        model[id] = p;
    }
    size_t set = 0;
    for (uint64_t id = 1; id <= N; id++) {
        assert_ptr_equal(slots_get(&s, id), model[id]);
        set += model[id] != NULL;
    }
    assert_int_equal(s.set, set);
    uint64_t id = 0, want = 0;
    for (;;) {
        do
            want++;
        while (want <= N && model[want] == NULL);
        id = slots_next(&s, id);
        if (want > N) {
            assert_int_equal(id, 0);
            break;
        }
        assert_int_equal(id, want);
    }
    slots_free(&s);
    assert_int_equal(s.npages, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_set_next_across_pages),
        cmocka_unit_test(test_a_page_goes_with_its_last_slot),
        cmocka_unit_test(test_random_changes_match_an_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
