/* Unit tests for the growable byte buffer (protocol/buf.c): appending,
 * formatting, consuming from the front, writing in place through
 * buf_space/buf_commit, and how consumed space is reclaimed before growing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"

static void assert_contents(const struct buf *b, const char *want)
{
    assert_int_equal(buf_used(b), strlen(want));
    if (buf_used(b) > 0)
        assert_memory_equal(buf_head(b), want, strlen(want));
}

static void test_buf_starts_empty(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_int_equal(buf_used(&b), 0);
    assert_null(b.data);
    buf_free(&b);
}

static void test_buf_append_keeps_bytes_in_order(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_append(&b, "ab", 2);
    buf_appendc(&b, 'c');
    buf_appends(&b, "de");
    buf_append(&b, "ignored", 0);
    assert_contents(&b, "abcde");
    buf_free(&b);
}

static void test_buf_append_is_binary_safe(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_append(&b, "a\0b", 3);
    assert_int_equal(buf_used(&b), 3);
    assert_memory_equal(buf_head(&b), "a\0b", 3);
    buf_free(&b);
}

static void test_buf_append_grows_past_capacity(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        buf_appendc(&b, (char)('a' + i % 26));
    assert_int_equal(buf_used(&b), 1000);
    assert_true(b.cap >= 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_head(&b)[i], 'a' + i % 26);
    buf_free(&b);
}

static void test_buf_printf_formats(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "id=%d name=%s", 42, "alice");
    buf_printf(&b, "%s", "");
    buf_printf(&b, " %zu", (size_t)7);
    assert_contents(&b, "id=42 name=alice 7");
    buf_free(&b);
}

/* buf_printf first tries with whatever room there is, then retries with
 * exactly enough: the second attempt must not lose or repeat anything. */
static void test_buf_printf_grows_for_long_output(void **state)
{
    (void)state;
    char big[1001];
    memset(big, 'x', 1000);
    big[1000] = '\0';
    struct buf b;
    buf_init(&b);
    buf_appends(&b, "<");
    buf_printf(&b, "%s|%d", big, 5);
    buf_appends(&b, ">");
    assert_int_equal(buf_used(&b), 1 + 1000 + 2 + 1);
    assert_int_equal(buf_head(&b)[0], '<');
    assert_memory_equal(buf_head(&b) + 1, big, 1000);
    assert_memory_equal(buf_head(&b) + 1001, "|5>", 3);
    buf_free(&b);
}

static void test_buf_consume_drops_the_front(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_appends(&b, "PING\r\nECHO\r\n");
    buf_consume(&b, 6);
    assert_contents(&b, "ECHO\r\n");
    buf_appends(&b, "X");
    assert_contents(&b, "ECHO\r\nX");
    buf_free(&b);
}

static void test_buf_consume_everything_rewinds(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_appends(&b, "abc");
    buf_consume(&b, 3);
    assert_int_equal(buf_used(&b), 0);
    assert_int_equal(b.pos, 0);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_buf_space_then_commit_appends(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_appends(&b, "ab");
    char *p = buf_space(&b, 100);
    assert_non_null(p);
    assert_true(b.cap - b.len >= 100);
    memcpy(p, "cdef", 4);
    buf_commit(&b, 3);  /* only part of the room was used */
    assert_contents(&b, "abcde");
    buf_free(&b);
}

/* With enough consumed space at the front, buf_space moves the unconsumed
 * bytes down instead of reallocating. */
static void test_buf_space_reclaims_consumed_front(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    char chunk[200];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (char)('0' + i % 10);
    buf_append(&b, chunk, sizeof chunk);
    size_t cap = b.cap;
    buf_consume(&b, 150);
    char *p = buf_space(&b, cap - 60);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.pos, 0);
    assert_ptr_equal(p, b.data + 50);
    assert_int_equal(buf_used(&b), 50);
    assert_memory_equal(buf_head(&b), chunk + 150, 50);
    buf_free(&b);
}

static void test_buf_space_grows_when_reclaiming_is_not_enough(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    char chunk[200];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (char)('a' + i % 26);
    buf_append(&b, chunk, sizeof chunk);
    size_t cap = b.cap;
    buf_consume(&b, 100);
    char *p = buf_space(&b, cap);
    assert_true(b.cap >= 100 + cap);
    assert_true(b.cap - b.len >= cap);
    assert_ptr_equal(p, b.data + b.len);
    assert_int_equal(buf_used(&b), 100);
    assert_memory_equal(buf_head(&b), chunk + 100, 100);
    buf_free(&b);
}

static void test_buf_clear_empties(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_appends(&b, "abc");
    buf_consume(&b, 1);
    buf_clear(&b);
    assert_int_equal(buf_used(&b), 0);
    buf_appends(&b, "z");
    assert_contents(&b, "z");
    buf_free(&b);
}

static void test_buf_free_leaves_an_empty_buffer(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_appends(&b, "abc");
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(buf_used(&b), 0);
    assert_int_equal(b.cap, 0);
    buf_appends(&b, "again");
    assert_contents(&b, "again");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_starts_empty),
        cmocka_unit_test(test_buf_append_keeps_bytes_in_order),
        cmocka_unit_test(test_buf_append_is_binary_safe),
        cmocka_unit_test(test_buf_append_grows_past_capacity),
        cmocka_unit_test(test_buf_printf_formats),
        cmocka_unit_test(test_buf_printf_grows_for_long_output),
        cmocka_unit_test(test_buf_consume_drops_the_front),
        cmocka_unit_test(test_buf_consume_everything_rewinds),
        cmocka_unit_test(test_buf_space_then_commit_appends),
        cmocka_unit_test(test_buf_space_reclaims_consumed_front),
        cmocka_unit_test(test_buf_space_grows_when_reclaiming_is_not_enough),
        cmocka_unit_test(test_buf_clear_empties),
        cmocka_unit_test(test_buf_free_leaves_an_empty_buffer),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
