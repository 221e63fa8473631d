/* The journal's payload codec and checksum. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/codec.h"
#include "lib/crc32c.h"

static void test_crc32c_known_values(void **state)
{
    (void)state;
    /* The standard check value, and RFC 3720's 32 bytes of zeros. */
    assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
    unsigned char zeros[32] = {0};
    assert_int_equal(crc32c(0, zeros, 32), 0x8a9136aa);
    /* Incremental equals whole. */
    uint32_t c = crc32c(0, "1234", 4);
    assert_int_equal(crc32c(c, "56789", 5), 0xe3069283);
    /* The portable path agrees with the fast one on every length. */
    unsigned char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 131 + 7);
    for (size_t n = 0; n <= sizeof data; n++)
        assert_int_equal(crc32c_portable(0, data, n), crc32c(0, data, n));
    assert_int_equal(crc32c_portable(0, "123456789", 9), 0xe3069283);
}

static void test_varints_round_trip_at_every_width(void **state)
{
    (void)state;
    const uint64_t u[] = {0, 1, 127, 128, 300, 16383, 16384, (1ULL << 32) - 1,
                          1ULL << 56, UINT64_MAX};
    const int64_t s[] = {0, -1, 1, -64, 63, -65, INT64_MIN, INT64_MAX};
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        enc_u64(&b, u[i]);
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        enc_i64(&b, s[i]);
    struct dec d;
    dec_init(&d, buf_head(&b), buf_used(&b));
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        assert_true(dec_u64(&d) == u[i]);
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        assert_true(dec_i64(&d) == s[i]);
    assert_true(dec_done(&d));
    buf_free(&b);
}

static void test_strings_and_bytes_round_trip(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    enc_str(&b, "alice");
    enc_str(&b, NULL);
    enc_str(&b, "");
    enc_bytes(&b, "a\0b", 3);
    struct dec d;
    dec_init(&d, buf_head(&b), buf_used(&b));
    char *s1 = dec_str(&d), *s2 = dec_str(&d), *s3 = dec_str(&d);
    const char *p;
    size_t n;
    dec_bytes(&d, &p, &n);
    assert_string_equal(s1, "alice");
    assert_null(s2);
    assert_string_equal(s3, "");
    assert_int_equal(n, 3);
    assert_memory_equal(p, "a\0b", 3);
    assert_true(dec_done(&d));
    free(s1);
    free(s3);
    buf_free(&b);
}

static void test_truncated_payloads_fail_without_overreading(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    enc_u64(&b, 1ULL << 40);
    enc_str(&b, "a longer string");
    enc_bytes(&b, "xyz", 3);
    /* Every prefix decodes to an error (or leftover), never past its end:
     * ASan would catch an overread of the exact-size copy. */
    for (size_t cut = 0; cut < buf_used(&b); cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf_head(&b), cut);
        struct dec d;
        dec_init(&d, copy, cut);
        dec_u64(&d);
        free(dec_str(&d));
        const char *p;
        size_t n;
        dec_bytes(&d, &p, &n);
        assert_false(dec_done(&d));
        free(copy);
    }
    /* An endless varint is an error too. */
    unsigned char ff[12];
    memset(ff, 0xff, sizeof ff);
    struct dec d;
    dec_init(&d, ff, sizeof ff);
    dec_u64(&d);
    assert_true(d.err);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_values),
        cmocka_unit_test(test_varints_round_trip_at_every_width),
        cmocka_unit_test(test_strings_and_bytes_round_trip),
        cmocka_unit_test(test_truncated_payloads_fail_without_overreading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
