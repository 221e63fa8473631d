/* The deadline heap: order, removal and rescheduling from anywhere. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "lib/heap.h"

static void test_peek_is_always_the_earliest(void **state)
{
    (void)state;
    struct heap h;
    struct heap_node nodes[500];
    heap_init(&h);
    assert_null(heap_peek(&h));
    srand(7);
    for (int i = 0; i < 500; i++) {
        nodes[i] = (struct heap_node){0};
        heap_set(&h, &nodes[i], rand() % 1000);
    }
    int64_t last = -1;
    for (int i = 0; i < 500; i++) {
        struct heap_node *top = heap_peek(&h);
        assert_true(top->due_ms >= last);
        last = top->due_ms;
        heap_remove(&h, top);
        assert_false(heap_contains(top));
    }
    assert_null(heap_peek(&h));
    heap_free(&h);
}

static void test_remove_and_reschedule_from_the_middle(void **state)
{
    (void)state;
    struct heap h;
    struct heap_node nodes[100];
    heap_init(&h);
    for (int i = 0; i < 100; i++) {
        nodes[i] = (struct heap_node){0};
        heap_set(&h, &nodes[i], 1000 + i);
    }
    for (int i = 0; i < 100; i += 2)
        heap_remove(&h, &nodes[i]);
    heap_remove(&h, &nodes[0]);             /* removing twice is harmless */
    heap_set(&h, &nodes[99], 5);             /* moved earlier */
    heap_set(&h, &nodes[1], 5000);           /* moved later */
    assert_ptr_equal(heap_peek(&h), &nodes[99]);
    heap_remove(&h, &nodes[99]);
    assert_ptr_equal(heap_peek(&h), &nodes[3]);
    int64_t last = -1;
    size_t count = 0;
    struct heap_node *top;
    while ((top = heap_peek(&h))) {
        assert_true(top->due_ms >= last);
        last = top->due_ms;
        heap_remove(&h, top);
        count++;
    }
    assert_int_equal(count, 49);
    assert_int_equal(last, 5000);
    heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peek_is_always_the_earliest),
        cmocka_unit_test(test_remove_and_reschedule_from_the_middle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
