/* The Prometheus exposition stays valid whatever clients named things: a
 * durable channel whose name is not UTF-8 (one recorded before names were
 * checked, or a future path around the check) shows up with U+FFFD in its
 * label, and the whole page is valid UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "channels/bus.h"
#include "channels/channel.h"
#include "lib/utf8.h"
#include "net/http.h"
#include "support/world.h"

static void test_a_name_that_is_not_utf8_cannot_break_the_page(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, false);
    struct chan_settings s;
    chan_settings_default(&s);
    struct channel *ch;
    chreg_declare(bus_channels(w.bus), "bad\xff\xfe\"name\\", &s, &ch);
    chan_group(ch, "g\xc3", true);
    struct buf out;
    buf_init(&out);
    http_prometheus(&w.env, &out);
    assert_true(utf8_valid(buf_head(&out), buf_used(&out)));
    buf_appendc(&out, '\0');
    assert_non_null(strstr(buf_head(&out),
                           "orderd_channel_length{channel=\"bad\xef\xbf\xbd\xef\xbf\xbd\\\"name\\\\\"} 0"));
    assert_non_null(strstr(buf_head(&out), "group=\"g\xef\xbf\xbd\""));
    buf_free(&out);
    world_free(&w);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("caf\xc3\xa9", 5));
    assert_false(utf8_valid("caf\xc3", 4));          /* cut short */
    assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(utf8_valid("\xed\xa0\x80", 3));     /* a surrogate */
    assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_true(utf8_valid("\xf0\x9f\x93\xa6", 4));  /* a parcel */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_name_that_is_not_utf8_cannot_break_the_page),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
