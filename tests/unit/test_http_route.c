/* The HTTP API's routes: every endpoint becomes the request the other
 * framings make, word for word; bodies are read as JSON whole, byte by
 * byte is no concern here (evhttp hands the body whole), but every prefix
 * of a body is refused rather than half read; amounts keep their text;
 * unknown paths, methods, fields and parameters are refused with the
 * status the API gives them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_route.h"
#include "reply.h"

/* The call's argv as one line, words separated by '|'. */
static void words(const struct http_call *c, char *out, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < c->req.argc; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s%.*s", i ? "|" : "",
                 (int)c->req.argv[i].len, c->req.argv[i].ptr);
}

static void routes_to(enum http_verb v, const char *path, const char *query, const char *body,
                      const char *key, const char *want, enum http_shape shape)
{
    struct http_call c;
    struct http_problem p;
    if (http_route(v, path, query, body, body ? strlen(body) : 0, key, &c, &p) != 0)
        fail_msg("%s %s: %d %s", http_verb_name(v), path, p.status, p.detail);
    char got[512];
    words(&c, got, sizeof got);
    assert_string_equal(got, want);
    assert_int_equal(c.shape, shape);
    assert_int_equal(c.req.kind, PROTO_JSON);
    for (size_t i = 0; i < c.req.argc; i++)
        assert_int_equal(c.req.argv[i].ptr[c.req.argv[i].len], '\0');
    http_call_free(&c);
}

static void refused(enum http_verb v, const char *path, const char *query, const char *body,
                    int status, const char *detail)
{
    struct http_call c;
    struct http_problem p;
    if (http_route(v, path, query, body, body ? strlen(body) : 0, NULL, &c, &p) == 0) {
        char got[512];
        words(&c, got, sizeof got);
        http_call_free(&c);
        fail_msg("%s %s was routed to %s", http_verb_name(v), path, got);
    }
    assert_int_equal(p.status, status);
    if (detail && strstr(p.detail, detail) == NULL)
        fail_msg("'%s' does not say '%s'", p.detail, detail);
}

static void test_every_endpoint_maps_to_its_command(void **state)
{
    (void)state;
    routes_to(VERB_POST, "/orders", NULL,
              "{\"customer\":\"alice\",\"item\":\"book\",\"qty\":2,\"amount\":19.99}", "abc123",
              "CREATE|customer=alice|item=book|qty=2|amount=19.99|key=abc123", SHAPE_CREATED);
    routes_to(VERB_POST, "/orders", NULL,
              "{\"customer\":\"a\",\"item\":\"b\",\"qty\":\"1\",\"amount\":\"5\",\"currency\":\"EUR\"}",
              NULL, "CREATE|customer=a|item=b|qty=1|amount=5|currency=EUR", SHAPE_CREATED);
    routes_to(VERB_GET, "/orders/11", NULL, NULL, NULL, "GET|11", SHAPE_PLAIN);
    routes_to(VERB_HEAD, "/orders/11", NULL, NULL, NULL, "GET|11", SHAPE_PLAIN);
    routes_to(VERB_GET, "/orders", "status=SHIPPED&customer=bob&after=7&limit=2", NULL, NULL,
              "LIST|status=SHIPPED|customer=bob|after=7|limit=2", SHAPE_ORDER_PAGE);
    routes_to(VERB_GET, "/orders", NULL, NULL, NULL, "LIST", SHAPE_ORDER_PAGE);
    routes_to(VERB_PATCH, "/orders/11", NULL, "{\"status\":\"SHIPPED\",\"note\":\"by hand\"}",
              NULL, "UPDATE|11|status=SHIPPED|note=by hand", SHAPE_PLAIN);
    routes_to(VERB_POST, "/orders/11/cancel", NULL, "{\"reason\":\"changed my mind\"}", NULL,
              "CANCEL|11|reason=changed my mind", SHAPE_PLAIN);
    routes_to(VERB_POST, "/orders/11/cancel", NULL, "", NULL, "CANCEL|11", SHAPE_PLAIN);
    routes_to(VERB_GET, "/orders/11/history", NULL, NULL, NULL, "HISTORY|11", SHAPE_WRAP);
    routes_to(VERB_GET, "/orders/11/saga", NULL, NULL, NULL, "SAGA|11", SHAPE_PLAIN);
    routes_to(VERB_GET, "/track/11", NULL, NULL, NULL, "TRACK|11", SHAPE_PLAIN);
    routes_to(VERB_GET, "/dlq", "channel=jobs&limit=5", NULL, NULL,
              "DLQ|LIST|channel=jobs|limit=5", SHAPE_WRAP);
    routes_to(VERB_GET, "/dlq/3", NULL, NULL, NULL, "DLQ|SHOW|3", SHAPE_PLAIN);
    routes_to(VERB_POST, "/dlq/3/replay", NULL, NULL, NULL, "DLQ|REPLAY|3", SHAPE_WRAP);
    routes_to(VERB_POST, "/dlq/replay", "channel=jobs", NULL, NULL, "DLQ|REPLAY|ALL|channel=jobs",
              SHAPE_WRAP);
    routes_to(VERB_DELETE, "/dlq/3", NULL, NULL, NULL, "DLQ|PURGE|3", SHAPE_WRAP);
    routes_to(VERB_GET, "/events", "channels=order.*,dlq", NULL, NULL, "", SHAPE_EVENTS);
    routes_to(VERB_GET, "/openapi.json", NULL, NULL, NULL, "", SHAPE_OPENAPI);
}

static void test_paths_and_queries_are_decoded(void **state)
{
    (void)state;
    routes_to(VERB_GET, "//orders//11/", NULL, NULL, NULL, "GET|11", SHAPE_PLAIN);
    routes_to(VERB_GET, "/orders/%31%31", NULL, NULL, NULL, "GET|11", SHAPE_PLAIN);
    routes_to(VERB_GET, "/orders", "customer=a%20b+c", NULL, NULL, "LIST|customer=a b c",
              SHAPE_ORDER_PAGE);
    /* An order id that is no number is GET's to refuse, as on every framing. */
    routes_to(VERB_GET, "/orders/x y", NULL, NULL, NULL, "GET|x y", SHAPE_PLAIN);
    /* A dead letter's is refused here: ALL would reach every one. */
    refused(VERB_DELETE, "/dlq/ALL", NULL, NULL, 400, "got 'ALL'");
    refused(VERB_POST, "/dlq/all/replay", NULL, NULL, 400, "got 'all'");
    refused(VERB_GET, "/orders/1%00", NULL, NULL, 404, "no such resource");
}

static void test_amounts_keep_their_text(void **state)
{
    (void)state;
    static const char *const amounts[] = {"19.99", "19.990", "1e3", "0.1", "-0.10",
                                          "12345678901234567890"};
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
        char body[128], want[160];
        snprintf(body, sizeof body, "{\"customer\":\"c\",\"item\":\"i\",\"qty\":1,\"amount\":%s}",
                 amounts[i]);
        snprintf(want, sizeof want, "CREATE|customer=c|item=i|qty=1|amount=%s", amounts[i]);
        routes_to(VERB_POST, "/orders", NULL, body, NULL, want, SHAPE_CREATED);
    }
    /* Strings as they are, escapes undone. */
    routes_to(VERB_POST, "/orders", NULL,
              "{\"customer\":\"\\u00e9l\\u00e8ve\",\"item\":\"a\\\"b\",\"qty\":1,\"amount\":\"1\",\"currency\":null}",
              NULL, "CREATE|customer=\xc3\xa9l\xc3\xa8ve|item=a\"b|qty=1|amount=1", SHAPE_CREATED);
}

static void test_bad_bodies_are_refused_whole_and_in_part(void **state)
{
    (void)state;
    refused(VERB_POST, "/orders", NULL, "{\"customer\":\"a\",\"colour\":\"red\"}", 400,
            "unknown field 'colour'");
    refused(VERB_POST, "/orders", NULL, "{\"customer\":true}", 400,
            "field 'customer' must be a string or a number");
    refused(VERB_POST, "/orders", NULL, "{\"customer\":{\"a\":1}}", 400, "must be a string");
    refused(VERB_POST, "/orders", NULL, "[1,2]", 400, "must be a JSON object");
    refused(VERB_POST, "/orders", NULL, "{} {}", 400, "the body");
    refused(VERB_POST, "/orders", NULL, "{a:1}", 400, "the body is not JSON");
    refused(VERB_POST, "/orders", NULL, "{\"customer\":\"a\",}", 400, "the body is not JSON");
    refused(VERB_GET, "/orders/1", NULL, "{\"x\":1}", 400, "takes no body");
    refused(VERB_POST, "/orders", NULL, "{\"customer\":\"a\",\"qty\":1,\"amount\":1}", 400,
            "missing field 'item'");
    refused(VERB_POST, "/orders", NULL, "{\"customer\":\"a\",\"item\":null,\"qty\":1,\"amount\":1}",
            400, "missing field 'item'");
    refused(VERB_POST, "/orders", NULL, "", 400, "missing field 'customer'");
    refused(VERB_PATCH, "/orders/1", NULL, "{\"note\":\"x\"}", 400, "missing field 'status'");
    /* Deeper than any body needs. */
    refused(VERB_POST, "/orders", NULL, "{\"a\":[[[[[[[[[[1]]]]]]]]]]}", 400, "not JSON");
    /* Every prefix of a good body is refused: nothing half read passes. */
    const char *good = "{\"customer\":\"alice\",\"item\":\"book\",\"qty\":2,\"amount\":\"19.99\"}";
    for (size_t n = 1; n < strlen(good); n++) {
        char part[128];
        memcpy(part, good, n);
        part[n] = '\0';
        refused(VERB_POST, "/orders", NULL, part, 400, NULL);
    }
}

static void test_unknown_paths_methods_and_parameters(void **state)
{
    (void)state;
    refused(VERB_GET, "/nothing", NULL, NULL, 404, "no such resource");
    refused(VERB_GET, "/orders/1/2/3/4/5", NULL, NULL, 404, NULL);
    refused(VERB_PUT, "/orders/1", NULL, NULL, 405, "PUT is not allowed here (GET, PATCH)");
    refused(VERB_DELETE, "/orders", NULL, NULL, 405, "(GET, POST)");
    refused(VERB_GET, "/orders/1/cancel", NULL, NULL, 405, "(POST)");
    refused(VERB_GET, "/orders", "colour=red", NULL, 400,
            "unknown query parameter 'colour' (status, customer, after, limit)");
    refused(VERB_GET, "/orders/1", "x=1", NULL, 400, "(none are taken)");
    refused(VERB_GET, "/events", "topics=a", NULL, 400, "unknown query parameter 'topics'");
    struct http_call c;
    struct http_problem p;
    assert_int_equal(http_route(VERB_PUT, "/orders/1", NULL, "", 0, NULL, &c, &p), -1);
    assert_string_equal(p.allow, "GET, PATCH");
}

/* /dlq/{id} is one dead letter: the DLQ commands' word ALL (every one) is
 * no id, so DELETE /dlq/ALL purges nothing. */
static void test_a_dead_letter_id_is_a_number(void **state)
{
    (void)state;
    const char *const ids[] = {"ALL", "all", "0", "-1", "3x", "99999999999999999999"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char path[64], replay[64], want[96];
        snprintf(path, sizeof path, "/dlq/%s", ids[i]);
        snprintf(replay, sizeof replay, "/dlq/%s/replay", ids[i]);
        snprintf(want, sizeof want, "dead letter id must be a positive integer, got '%s'", ids[i]);
        refused(VERB_DELETE, path, NULL, NULL, 400, want);
        refused(VERB_GET, path, NULL, NULL, 400, want);
        refused(VERB_POST, replay, NULL, NULL, 400, want);
    }
    routes_to(VERB_DELETE, "/dlq/18446744073709551615", NULL, NULL, NULL,
              "DLQ|PURGE|18446744073709551615", SHAPE_WRAP);
}

static void test_query_parameters_one_by_one(void **state)
{
    (void)state;
    char *v = http_query_param("channels=order.*%2Cdlq&x=1", "channels");
    assert_string_equal(v, "order.*,dlq");
    free(v);
    assert_null(http_query_param("x=1", "channels"));
    assert_null(http_query_param(NULL, "channels"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_endpoint_maps_to_its_command),
        cmocka_unit_test(test_paths_and_queries_are_decoded),
        cmocka_unit_test(test_amounts_keep_their_text),
        cmocka_unit_test(test_bad_bodies_are_refused_whole_and_in_part),
        cmocka_unit_test(test_unknown_paths_methods_and_parameters),
        cmocka_unit_test(test_a_dead_letter_id_is_a_number),
        cmocka_unit_test(test_query_parameters_one_by_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
