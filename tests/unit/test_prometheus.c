/* The Prometheus exposition stays valid whatever clients named things: a
 * durable channel whose name is not UTF-8 (one recorded before names were
 * checked, or a future path around the check) shows up with U+FFFD in its
 * label, and the whole page is valid UTF-8. Latencies are histograms,
 * their buckets carrying the figure's labels. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "channels/bus.h"
#include "channels/channel.h"
#include "cmd/metrics.h"
#include "utf8.h"
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

static void test_latencies_are_histograms(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, false);
    metrics_step(w.metrics, SAGA_AUTHORIZE, OUTCOME_OK, 3000);    /* 3 ms */
    metrics_step(w.metrics, SAGA_AUTHORIZE, OUTCOME_OK, 20000);   /* 20 ms */
    struct buf out;
    buf_init(&out);
    http_prometheus(&w.env, &out);
    buf_appendc(&out, '\0');
    const char *page = buf_head(&out);
    assert_non_null(strstr(page, "# TYPE orderd_saga_step_latency_seconds histogram\n"));
    assert_non_null(strstr(page, "# TYPE orderd_event_loop_lag_seconds histogram\n"));
    assert_null(strstr(page, "summary"));
    assert_null(strstr(page, "quantile="));
    assert_non_null(strstr(
        page,
        "orderd_saga_step_latency_seconds_bucket{step=\"payment.authorize\",le=\"0.002\"} 0\n"
        "orderd_saga_step_latency_seconds_bucket{step=\"payment.authorize\",le=\"0.004\"} 1\n"
        "orderd_saga_step_latency_seconds_bucket{step=\"payment.authorize\",le=\"0.008\"} 1\n"
        "orderd_saga_step_latency_seconds_bucket{step=\"payment.authorize\",le=\"0.016\"} 1\n"
        "orderd_saga_step_latency_seconds_bucket{step=\"payment.authorize\",le=\"0.032\"} 2\n"));
    assert_non_null(strstr(
        page, "orderd_saga_step_latency_seconds_bucket{step=\"payment.authorize\",le=\"+Inf\"} 2\n"
              "orderd_saga_step_latency_seconds_sum{step=\"payment.authorize\"} 0.023\n"
              "orderd_saga_step_latency_seconds_count{step=\"payment.authorize\"} 2\n"));
    assert_non_null(
        strstr(page, "orderd_journal_fsync_latency_seconds_bucket{le=\"0.00005\"} 0\n"));
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
        cmocka_unit_test(test_latencies_are_histograms),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
