/* The order lifecycle: every (from, to) pair against the rules, and the
 * status names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "orders/order.h"

static void test_happy_path_moves_one_step_at_a_time(void **state)
{
    (void)state;
    assert_true(order_can_transition(ORDER_PENDING, ORDER_RESERVED));
    assert_true(order_can_transition(ORDER_RESERVED, ORDER_PAID));
    assert_true(order_can_transition(ORDER_PAID, ORDER_SHIPPED));
    assert_true(order_can_transition(ORDER_SHIPPED, ORDER_DELIVERED));
    assert_false(order_can_transition(ORDER_PENDING, ORDER_PAID));
    assert_false(order_can_transition(ORDER_PENDING, ORDER_DELIVERED));
    assert_false(order_can_transition(ORDER_PAID, ORDER_RESERVED));
}

static void test_every_pair_against_the_rules(void **state)
{
    (void)state;
    for (int from = 0; from < ORDER_STATUS_COUNT; from++) {
        for (int to = 0; to < ORDER_STATUS_COUNT; to++) {
            bool terminal = from == ORDER_DELIVERED || from == ORDER_FAILED ||
                            from == ORDER_CANCELLED;
            bool want = !terminal && (to == ORDER_FAILED || to == ORDER_CANCELLED ||
                                      (to == from + 1 && to <= ORDER_DELIVERED));
            if (order_can_transition(from, to) != want)
                fail_msg("%s -> %s: expected %s", order_status_name(from),
                         order_status_name(to), want ? "allowed" : "refused");
        }
    }
}

static void test_terminal_statuses_go_nowhere(void **state)
{
    (void)state;
    assert_true(order_status_terminal(ORDER_DELIVERED));
    assert_true(order_status_terminal(ORDER_FAILED));
    assert_true(order_status_terminal(ORDER_CANCELLED));
    assert_false(order_status_terminal(ORDER_SHIPPED));
    assert_false(order_can_transition(ORDER_DELIVERED, ORDER_SHIPPED));
    assert_false(order_can_transition(ORDER_CANCELLED, ORDER_CANCELLED));
    assert_false(order_can_transition(ORDER_FAILED, ORDER_CANCELLED));
}

static void test_same_status_is_not_a_transition(void **state)
{
    (void)state;
    for (int s = 0; s < ORDER_STATUS_COUNT; s++)
        if (s != ORDER_FAILED && s != ORDER_CANCELLED)
            assert_false(order_can_transition(s, s));
}

static void test_status_names_parse_case_insensitively(void **state)
{
    (void)state;
    assert_int_equal(order_status_parse("PAID"), ORDER_PAID);
    assert_int_equal(order_status_parse("paid"), ORDER_PAID);
    assert_int_equal(order_status_parse("Cancelled"), ORDER_CANCELLED);
    assert_int_equal(order_status_parse("PAYED"), -1);
    assert_int_equal(order_status_parse(""), -1);
    for (int s = 0; s < ORDER_STATUS_COUNT; s++)
        assert_int_equal(order_status_parse(order_status_name(s)), s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path_moves_one_step_at_a_time),
        cmocka_unit_test(test_every_pair_against_the_rules),
        cmocka_unit_test(test_terminal_statuses_go_nowhere),
        cmocka_unit_test(test_same_status_is_not_a_transition),
        cmocka_unit_test(test_status_names_parse_case_insensitively),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
