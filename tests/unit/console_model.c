/* ordertop's model, fed the bytes orderd sends: replies are cut by
 * hiredis's redisReader from streams split at every possible place, then
 * handed to the model. Also the key table and the confirmation questions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "model.h"

#define NOW 1800000000000LL

static struct model *new_model(void)
{
    struct model *m = malloc(sizeof *m);
    assert_non_null(m);
    model_init(m, "127.0.0.1:7070", false);
    model_connection(m, CONN_UP, 0, 0);
    return m;
}

static void drop_model(struct model *m)
{
    model_free(m);
    free(m);
}

/* RESP for a pub/sub push, as orderd sends it. */
static size_t pmessage(char *out, size_t n, const char *channel, const char *json)
{
    return (size_t)snprintf(out, n,
                            "*4\r\n$8\r\npmessage\r\n$7\r\norder.*\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
                            strlen(channel), channel, strlen(json), json);
}

static size_t message(char *out, size_t n, const char *channel, const char *json)
{
    return (size_t)snprintf(out, n, "*3\r\n$7\r\nmessage\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
                            strlen(channel), channel, strlen(json), json);
}

static const char created_1[] =
    "{\"event_id\":1,\"type\":\"order.created\",\"order_id\":1,\"status\":\"PENDING\","
    "\"previous\":null,\"time\":\"2026-11-21T06:43:12.306Z\",\"source\":\"client\",\"note\":null,"
    "\"order\":{\"id\":1,\"status\":\"PENDING\",\"customer\":\"alice\",\"item\":\"x\"}}";
static const char failed_2[] =
    "{\"event_id\":9,\"type\":\"order.status\",\"order_id\":2,\"status\":\"FAILED\","
    "\"previous\":\"PAID\",\"time\":\"2026-11-21T06:43:12.306Z\",\"source\":\"saga\","
    "\"note\":\"card declined\",\"order\":{\"id\":2,\"customer\":\"bob\"}}";

/* Feeds bytes in pieces of `piece` bytes; every whole reply goes to the
 * model as a push. Returns how many replies there were. */
static int feed(struct model *m, const char *bytes, size_t len, size_t piece)
{
    redisReader *rd = redisReaderCreate();
    int replies = 0;
    for (size_t at = 0; at < len; at += piece) {
        size_t n = len - at < piece ? len - at : piece;
        assert_int_equal(redisReaderFeed(rd, bytes + at, n), REDIS_OK);
        void *r;
        while (redisReaderGetReply(rd, &r) == REDIS_OK && r != NULL) {
            model_on_push(m, r, NOW);
            freeReplyObject(r);
            replies++;
        }
    }
    redisReaderFree(rd);
    return replies;
}

static void test_pushes_split_anywhere_become_the_same_events(void **state)
{
    (void)state;
    char bytes[4096];
    size_t len = pmessage(bytes, sizeof bytes, "order.created", created_1);
    len += pmessage(bytes + len, sizeof bytes - len, "order.status", failed_2);
    len += message(bytes + len, sizeof bytes - len, "breaker",
                   "{\"participant\":\"payment\",\"from\":\"CLOSED\",\"to\":\"OPEN\"}");
    len += message(bytes + len, sizeof bytes - len, "dlq",
                   "{\"event\":\"dead-lettered\",\"id\":4,\"channel\":\"jobs\",\"group\":\"g\","
                   "\"reason\":\"broken\"}");
    for (size_t piece = 1; piece <= len; piece = piece < 16 ? piece + 1 : piece * 2) {
        struct model *m = new_model();
        assert_int_equal(feed(m, bytes, len, piece), 4);
        assert_int_equal(model_flow_count(m), 4);
        const struct flow_event *e = model_flow_at(m, 0);
        assert_int_equal(e->order, 1);
        assert_string_equal(e->kind, "created");
        assert_string_equal(e->to, "PENDING");
        assert_string_equal(e->from, "");
        assert_string_equal(e->text, "alice by client");
        assert_false(e->error);
        e = model_flow_at(m, 1);
        assert_int_equal(e->order, 2);
        assert_string_equal(e->from, "PAID");
        assert_string_equal(e->to, "FAILED");
        assert_string_equal(e->text, "bob by saga: card declined");
        assert_true(e->error);
        e = model_flow_at(m, 2);
        assert_string_equal(e->kind, "breaker");
        assert_string_equal(e->to, "OPEN");
        assert_true(e->error);
        e = model_flow_at(m, 3);
        assert_string_equal(e->kind, "dlq");
        assert_string_equal(e->text, "dead-lettered #4 jobs: broken");
        assert_true(e->error);
        drop_model(m);
    }
}

static void test_subscribe_confirmations_and_strangers_are_ignored(void **state)
{
    (void)state;
    struct model *m = new_model();
    const char confirmations[] = "*3\r\n$10\r\npsubscribe\r\n$7\r\norder.*\r\n:1\r\n"
                                 "*3\r\n$9\r\nsubscribe\r\n$3\r\ndlq\r\n:2\r\n"
                                 "+OK\r\n-ERR nope\r\n*0\r\n";
    assert_int_equal(feed(m, confirmations, sizeof confirmations - 1, 3), 5);
    char other[512];
    size_t len = message(other, sizeof other, "jobs", "{\"x\":1}");
    feed(m, other, len, 7);
    assert_int_equal(model_flow_count(m), 0);
    drop_model(m);
}

static void test_flow_is_a_ring_and_pause_freezes_what_is_shown(void **state)
{
    (void)state;
    struct model *m = new_model();
    char bytes[1024];
    for (int i = 1; i <= FLOW_MAX + 10; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"order_id\":%d,\"status\":\"PENDING\"}", i);
        size_t len = pmessage(bytes, sizeof bytes, "order.created", json);
        feed(m, bytes, len, len);
        if (i == 100) {
            m->paused = true;
            m->flow_frozen_n = m->flow_n;
        }
    }
    /* Paused at 100 events; the oldest shown scrolled out as the ring wrapped. */
    assert_int_equal(model_flow_count(m), 90);
    m->paused = false;
    assert_int_equal(model_flow_count(m), FLOW_MAX);
    assert_int_equal(model_flow_at(m, 0)->order, 11);
    assert_int_equal(model_flow_at(m, FLOW_MAX - 1)->order, FLOW_MAX + 10);
    drop_model(m);
}

static void test_filter_regex_inverted_and_errors_only(void **state)
{
    (void)state;
    struct model *m = new_model();
    char bytes[4096];
    size_t len = pmessage(bytes, sizeof bytes, "order.created", created_1);
    len += pmessage(bytes + len, sizeof bytes - len, "order.status", failed_2);
    feed(m, bytes, len, len);
    const struct flow_event *a = model_flow_at(m, 0), *b = model_flow_at(m, 1);
    assert_int_equal(model_set_filter(m, "ALICE"), 0);  /* case does not matter */
    assert_true(model_flow_visible(m, a));
    assert_false(model_flow_visible(m, b));
    assert_int_equal(model_set_filter(m, "!alice"), 0);
    assert_false(model_flow_visible(m, a));
    assert_true(model_flow_visible(m, b));
    assert_int_equal(model_set_filter(m, "declined|PENDING"), 0);
    assert_true(model_flow_visible(m, a));
    assert_true(model_flow_visible(m, b));
    assert_int_equal(model_set_filter(m, "(unclosed"), -1);
    assert_true(model_flow_visible(m, a));  /* a bad regex filters nothing */
    assert_int_equal(model_set_filter(m, ""), 0);
    m->errors_only = true;
    assert_false(model_flow_visible(m, a));
    assert_true(model_flow_visible(m, b));
    drop_model(m);
}

/* Parses one reply from bytes. */
static redisReply *parse(const char *bytes)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;
    assert_int_equal(redisReaderFeed(rd, bytes, strlen(bytes)), REDIS_OK);
    assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
    assert_non_null(r);
    redisReaderFree(rd);
    return r;
}

static const char dlq_two[] =
    "*2\r\n"
    "*8\r\n$2\r\nid\r\n:7\r\n$7\r\nchannel\r\n$4\r\njobs\r\n$6\r\nreason\r\n$6\r\nbroken\r\n"
    "$10\r\ndeliveries\r\n:5\r\n"
    "*8\r\n$2\r\nid\r\n:9\r\n$7\r\nchannel\r\n$4\r\njobs\r\n$6\r\nreason\r\n$4\r\nnack\r\n"
    "$10\r\ndeliveries\r\n:1\r\n";

static void test_dlq_rows_keep_their_marks_across_refreshes(void **state)
{
    (void)state;
    struct model *m = new_model();
    redisReply *r = parse(dlq_two);
    model_on_dlq(m, r);
    assert_int_equal(m->ndlq, 2);
    assert_int_equal(m->dlq[0].id, 7);
    assert_string_equal(m->dlq[0].reason, "broken");
    assert_int_equal(m->dlq[0].deliveries, 5);
    m->dlq[1].marked = true;
    model_on_dlq(m, r);
    assert_false(m->dlq[0].marked);
    assert_true(m->dlq[1].marked);
    freeReplyObject(r);
    drop_model(m);
}

static void test_purge_without_y_does_nothing(void **state)
{
    (void)state;
    struct model *m = new_model();
    redisReply *r = parse(dlq_two);
    model_on_dlq(m, r);
    freeReplyObject(r);
    m->view = VIEW_DLQ;
    m->selected[VIEW_DLQ] = 1;

    assert_true(model_ask(m, CONFIRM_PURGE));
    assert_string_equal(m->confirm.question, "Purge dead letter #9? y/N");
    struct confirm out = {.action = CONFIRM_NONE};
    for (const char *k = "nN \x1bq"; *k; k++) {
        assert_true(model_ask(m, CONFIRM_PURGE));
        assert_int_equal(model_confirm_answer(m, *k, NOW, &out), CONFIRM_NONE);
        assert_int_equal(m->confirm.action, CONFIRM_NONE);
        assert_int_equal(out.nids, 0);  /* nothing handed out to carry out */
        assert_string_equal(m->status, "cancelled: nothing done");
    }
    /* Asked again, 'y' hands out exactly what the question named. */
    assert_true(model_ask(m, CONFIRM_PURGE));
    assert_int_equal(model_confirm_answer(m, 'y', NOW, &out), CONFIRM_PURGE);
    assert_int_equal(out.nids, 1);
    assert_int_equal(out.ids[0], 9);
    assert_int_equal(m->confirm.action, CONFIRM_NONE);
    /* With no question pending an answer is not an answer. */
    assert_int_equal(model_confirm_answer(m, 'y', NOW, &out), CONFIRM_NONE);
    drop_model(m);
}

static void test_questions_name_what_they_affect(void **state)
{
    (void)state;
    struct model *m = new_model();
    assert_false(model_ask(m, CONFIRM_REPLAY));  /* nothing to replay */
    redisReply *r = parse(dlq_two);
    model_on_dlq(m, r);
    freeReplyObject(r);
    assert_true(model_ask(m, CONFIRM_REPLAY_ALL));
    assert_string_equal(m->confirm.question, "Replay 2 messages? y/N");
    model_confirm_clear(m);
    m->dlq[0].marked = m->dlq[1].marked = true;
    assert_true(model_ask(m, CONFIRM_PURGE));
    assert_string_equal(m->confirm.question, "Purge 2 messages? y/N");
    struct confirm out;
    assert_int_equal(model_confirm_answer(m, 'Y', NOW, &out), CONFIRM_PURGE);
    assert_int_equal(out.nids, 2);
    assert_false(m->dlq[0].marked);  /* done with the marks */
    drop_model(m);
}

static void test_read_only_asks_nothing_and_hides_actions(void **state)
{
    (void)state;
    struct model *m = malloc(sizeof *m);
    model_init(m, "x:1", true);
    model_connection(m, CONN_UP, 0, 0);
    redisReply *r = parse(dlq_two);
    model_on_dlq(m, r);
    freeReplyObject(r);
    assert_false(model_ask(m, CONFIRM_PURGE));
    assert_false(model_ask(m, CONFIRM_REPLAY_ALL));
    assert_int_equal(m->confirm.action, CONFIRM_NONE);
    assert_null(key_find('d', VIEW_DLQ, true));
    assert_null(key_find('r', VIEW_DLQ, true));
    assert_non_null(key_find('d', VIEW_DLQ, false));
    assert_non_null(key_find('q', VIEW_DLQ, true));
    drop_model(m);
}

static void test_key_table_is_unambiguous(void **state)
{
    (void)state;
    size_t n;
    const struct key_binding *k = key_table(&n);
    assert_true(n > 10);
    /* No key means two things in one view. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (k[i].key == k[j].key)
                assert_int_equal((k[i].views ? k[i].views : ~0u) & (k[j].views ? k[j].views : ~0u),
                                 0);
    assert_int_equal(key_find(' ', VIEW_FLOW, false)->action, ACT_FOLLOW);
    assert_int_equal(key_find(' ', VIEW_DLQ, false)->action, ACT_MARK);
    assert_null(key_find('r', VIEW_FLOW, false));
}

static void test_disconnect_keeps_the_data_marked_stale(void **state)
{
    (void)state;
    struct model *m = new_model();
    char bytes[1024];
    size_t len = pmessage(bytes, sizeof bytes, "order.created", created_1);
    feed(m, bytes, len, 5);
    redisReply *r = parse(dlq_two);
    model_on_dlq(m, r);
    freeReplyObject(r);
    model_connection(m, CONN_DOWN, 3, NOW + 4000);
    assert_true(m->stale);
    assert_int_equal(m->attempt, 3);
    assert_int_equal(model_flow_count(m), 1);  /* still there */
    assert_false(model_ask(m, CONFIRM_PURGE));  /* actions are off */
    assert_int_equal(m->ndlq, 2);
    /* Reconnected: the stream resumes where it was. */
    model_connection(m, CONN_UP, 0, 0);
    assert_false(m->stale);
    assert_true(model_ask(m, CONFIRM_PURGE));
    model_confirm_clear(m);
    feed(m, bytes, len, 2);
    assert_int_equal(model_flow_count(m), 2);
    drop_model(m);
}

static void test_metrics_give_rates_per_second(void **state)
{
    (void)state;
    struct model *m = new_model();
    redisReply *a = parse("*4\r\n$6\r\norders\r\n:100\r\n$10\r\nsagas_done\r\n:50\r\n");
    redisReply *b = parse("*4\r\n$6\r\norders\r\n:300\r\n$10\r\nsagas_done\r\n:150\r\n");
    model_on_metrics(m, a, NOW);
    assert_int_equal(m->series_n, 0);
    model_on_metrics(m, b, NOW + 2000);
    assert_int_equal(m->series_n, 1);
    assert_true(m->orders_per_s[SERIES_LEN - 1] > 99.9 && m->orders_per_s[SERIES_LEN - 1] < 100.1);
    assert_true(m->sagas_per_s[SERIES_LEN - 1] > 49.9 && m->sagas_per_s[SERIES_LEN - 1] < 50.1);
    assert_string_equal(model_metric(m, "orders"), "300");
    assert_null(model_metric(m, "nope"));
    freeReplyObject(a);
    freeReplyObject(b);
    drop_model(m);
}

static void test_sagas_parse_and_sort(void **state)
{
    (void)state;
    struct model *m = new_model();
    redisReply *r = parse(
        "*2\r\n"
        "*10\r\n$5\r\norder\r\n:9\r\n$5\r\nstate\r\n$7\r\nrunning\r\n$4\r\nstep\r\n"
        "$17\r\npayment.authorize\r\n$8\r\nattempts\r\n:2\r\n$12\r\nmax_attempts\r\n:5\r\n"
        "*6\r\n$5\r\norder\r\n:3\r\n$5\r\nstate\r\n$13\r\ndead-lettered\r\n$5\r\nerror\r\n"
        "$13\r\ngateway error\r\n");
    model_on_sagas(m, r);
    freeReplyObject(r);
    assert_int_equal(m->nsagas, 2);
    assert_int_equal(m->sagas[0].order, 3);  /* by order */
    assert_string_equal(m->sagas[0].error, "gateway error");
    assert_int_equal(m->sagas[1].attempts, 2);
    assert_int_equal(m->sagas[1].max_attempts, 5);
    model_sort_sagas(m, 1);  /* by state */
    assert_string_equal(m->sagas[0].state, "dead-lettered");
    model_sort_sagas(m, 2);  /* by step */
    assert_string_equal(m->sagas[1].step, "payment.authorize");
    drop_model(m);
}

static void test_replies_read_as_redis_cli_shows_them(void **state)
{
    (void)state;
    char *lines[16];
    redisReply *r = parse("*4\r\n$2\r\nid\r\n:1\r\n$6\r\nstatus\r\n$7\r\nPENDING\r\n");
    size_t n = reply_to_lines(r, lines, 16);
    assert_int_equal(n, 2);
    assert_string_equal(lines[0], "id               1");
    assert_string_equal(lines[1], "status           PENDING");
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    freeReplyObject(r);
    r = parse("-NOTFOUND order 9 does not exist\r\n");
    n = reply_to_lines(r, lines, 16);
    assert_string_equal(lines[0], "(error) NOTFOUND order 9 does not exist");
    free(lines[0]);
    freeReplyObject(r);
    r = parse("$10\r\na\r\nb\nccc\r\n\r\n");
    n = reply_to_lines(r, lines, 16);
    assert_int_equal(n, 3);
    assert_string_equal(lines[2], "ccc");
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    freeReplyObject(r);
    /* Never more lines than asked for. */
    r = parse("*3\r\n:1\r\n:2\r\n:3\r\n");
    n = reply_to_lines(r, lines, 2);
    assert_int_equal(n, 2);
    assert_string_equal(lines[1], "2) (integer) 2");
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    freeReplyObject(r);
}

static void test_details_render_saga_steps_and_history(void **state)
{
    (void)state;
    struct model *m = new_model();
    model_detail_open(m, "order 3");
    redisReply *saga = parse(
        "*2\r\n"
        "*4\r\n$5\r\nstate\r\n$7\r\nrunning\r\n$6\r\nreason\r\n$-1\r\n"
        "*10\r\n$4\r\nstep\r\n$17\r\npayment.authorize\r\n$5\r\nstate\r\n$7\r\nwaiting\r\n"
        "$8\r\nattempts\r\n:2\r\n$5\r\nerror\r\n$7\r\ntimeout\r\n"
        "$10\r\nnext_retry\r\n$24\r\n2026-11-21T06:44:41.696Z\r\n");
    redisReply *hist = parse(
        "*1\r\n*10\r\n$4\r\ntime\r\n$1\r\nT\r\n$4\r\nfrom\r\n$-1\r\n$2\r\nto\r\n"
        "$7\r\nPENDING\r\n$6\r\nsource\r\n$6\r\nclient\r\n$4\r\nnote\r\n$2\r\nhi\r\n");
    model_on_saga_detail(m, saga);
    model_on_history_detail(m, hist);
    assert_true(m->detail);
    assert_int_equal(m->ndetail, 6);
    assert_string_equal(m->detail_lines[0], "== order 3");
    assert_string_equal(m->detail_lines[1], "saga running");
    assert_string_equal(m->detail_lines[3], "  payment.authorize    waiting              2  timeout  "
                                            "retry at 2026-11-21T06:44:41.696Z");
    assert_string_equal(m->detail_lines[4], "== status history");
    assert_string_equal(m->detail_lines[5], "  T  -         -> PENDING   client: hi");
    /* Opening another drops these. */
    model_detail_open(m, "dead letter 1");
    assert_int_equal(m->ndetail, 1);
    freeReplyObject(saga);
    freeReplyObject(hist);
    drop_model(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pushes_split_anywhere_become_the_same_events),
        cmocka_unit_test(test_subscribe_confirmations_and_strangers_are_ignored),
        cmocka_unit_test(test_flow_is_a_ring_and_pause_freezes_what_is_shown),
        cmocka_unit_test(test_filter_regex_inverted_and_errors_only),
        cmocka_unit_test(test_dlq_rows_keep_their_marks_across_refreshes),
        cmocka_unit_test(test_purge_without_y_does_nothing),
        cmocka_unit_test(test_questions_name_what_they_affect),
        cmocka_unit_test(test_read_only_asks_nothing_and_hides_actions),
        cmocka_unit_test(test_key_table_is_unambiguous),
        cmocka_unit_test(test_disconnect_keeps_the_data_marked_stale),
        cmocka_unit_test(test_metrics_give_rates_per_second),
        cmocka_unit_test(test_sagas_parse_and_sort),
        cmocka_unit_test(test_replies_read_as_redis_cli_shows_them),
        cmocka_unit_test(test_details_render_saga_steps_and_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
