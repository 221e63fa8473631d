/* GET /events. Its pure pieces: an event's framing (a payload of several
 * lines is several data: lines, which a client joins with LF; an event
 * name cannot end its field early) and the id, a stream's position in each
 * durable channel, written and read back whatever the channel is called,
 * and refused when it is not of that form. And a real stream, on evhttp
 * over loopback, around a store double: an event that tells of a change
 * is not sent before the store says the change is durable; a client's
 * message on a live channel waits like a read, but not for a store that
 * has stalled. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "channels/bus.h"
#include "net/http.h"
#include "net/http_sse.h"
#include "support/world.h"

/* The event as text (its bytes NUL-terminated). */
static const char *event(struct buf *b, const char *id, const char *name, const char *data,
                         size_t dlen)
{
    buf_clear(b);
    sse_event(b, id, strlen(id), name, strlen(name), data, dlen);
    buf_appendc(b, '\0');
    return buf_head(b);
}

static void test_an_event_has_its_id_name_and_data(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_string_equal(event(&b, "order.status:42", "order.status", "{\"a\":1}", 7),
                        "id: order.status:42\nevent: order.status\ndata: {\"a\":1}\n\n");
    /* No id on a stream without durable channels. */
    assert_string_equal(event(&b, "", "order.created", "{}", 2),
                        "event: order.created\ndata: {}\n\n");
    buf_free(&b);
}

static void test_each_line_of_the_payload_is_a_data_line(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    /* LF, CRLF and CR each end a line. */
    assert_string_equal(event(&b, "", "c", "one\ntwo\r\nthree\rfour", 19),
                        "event: c\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
    /* A line break at the end leaves an empty last line, so the client's
     * join gives the payload back: "a\n". */
    assert_string_equal(event(&b, "", "c", "a\n", 2), "event: c\ndata: a\ndata: \n\n");
    assert_string_equal(event(&b, "", "c", "\r\n\r\n", 4),
                        "event: c\ndata: \ndata: \ndata: \n\n");
    assert_string_equal(event(&b, "", "c", "", 0), "event: c\ndata: \n\n");
    /* Leading spaces survive: the client strips only the one after ':'. */
    assert_string_equal(event(&b, "", "c", " x", 2), "event: c\ndata:  x\n\n");
    buf_free(&b);
}

static void test_a_name_cannot_end_its_field(void **state)
{
    (void)state;
    static const char want[] = "event: a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d\n"
                               "data: x\n\n";
    struct buf b;
    buf_init(&b);
    sse_event(&b, "", 0, "a\nb\rc\0d", 7, "x", 1);
    assert_int_equal(buf_used(&b), sizeof want - 1);
    assert_memory_equal(buf_head(&b), want, sizeof want - 1);
    buf_free(&b);
}

/* The cursor's id, NUL-terminated. */
static const char *id_of(const struct sse_cursor *c, struct buf *b)
{
    buf_clear(b);
    sse_cursor_format(c, b);
    buf_appendc(b, '\0');
    return buf_head(b);
}

static void test_an_id_names_every_channel_in_the_order_first_set(void **state)
{
    (void)state;
    struct sse_cursor c;
    struct buf b;
    sse_cursor_init(&c);
    buf_init(&b);
    assert_string_equal(id_of(&c, &b), "");
    sse_cursor_set(&c, "order.status", 12, 42);
    sse_cursor_set(&c, "dlq", 3, 7);
    sse_cursor_set(&c, "order.status", 12, 43);
    assert_string_equal(id_of(&c, &b), "order.status:43,dlq:7");
    assert_int_equal(*sse_cursor_find(&c, "dlq", 3), 7);
    assert_null(sse_cursor_find(&c, "dl", 2));
    sse_cursor_free(&c);
    buf_free(&b);
}

static void test_an_id_reads_back_whatever_the_names(void **state)
{
    (void)state;
    static const char odd[] = "a,b:c%d e\n\xc3\xa9\x01";  /* separators, escape, space, LF, UTF-8 */
    struct sse_cursor c, back;
    struct buf b;
    sse_cursor_init(&c);
    sse_cursor_init(&back);
    buf_init(&b);
    sse_cursor_set(&c, odd, sizeof odd - 1, 5);
    sse_cursor_set(&c, "x", 1, UINT64_MAX);
    const char *id = id_of(&c, &b);
    assert_string_equal(id, "a%2Cb%3Ac%25d%20e%0A%C3%A9%01:5,x:18446744073709551615");
    assert_int_equal(sse_cursor_parse(&back, id, strlen(id)), 0);
    assert_int_equal(back.n, 2);
    assert_int_equal(back.marks[0].len, sizeof odd - 1);
    assert_memory_equal(back.marks[0].channel, odd, sizeof odd - 1);
    assert_int_equal(back.marks[0].offset, 5);
    assert_int_equal(*sse_cursor_find(&back, "x", 1), UINT64_MAX);
    sse_cursor_free(&c);
    sse_cursor_free(&back);
    buf_free(&b);
}

static int parse(const char *text, struct sse_cursor *c)
{
    sse_cursor_free(c);
    return sse_cursor_parse(c, text, strlen(text));
}

static void test_an_id_is_parsed_strictly(void **state)
{
    (void)state;
    struct sse_cursor c;
    sse_cursor_init(&c);
    /* Spaces around it are fine, and nothing is nothing. */
    assert_int_equal(parse("  order.status:3 ", &c), 0);
    assert_int_equal(*sse_cursor_find(&c, "order.status", 12), 3);
    assert_int_equal(parse("", &c), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(parse("a:1,a:2", &c), 0);  /* named twice: the last stands */
    assert_int_equal(c.n, 1);
    assert_int_equal(*sse_cursor_find(&c, "a", 1), 2);
    static const char *const bad[] = {
        "a",                       /* no offset */
        "a:",                      /* an empty offset */
        ":1",                      /* an empty name */
        "a:1,",                    /* an empty mark */
        ",a:1",
        "a:-1", "a:+1", "a:1x", "a:0x10",
        "a:18446744073709551616",  /* over 64 bits */
        "a b:1",                   /* a space inside a name */
        "a%2:1", "a%zz:1", "a%:1",  /* broken escapes */
        "\xc3\xa9:1",              /* a byte an id never holds as it is */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], &c) != -1)
            fail_msg("'%s' was taken", bad[i]);
    }
    /* A name longer than any channel's. */
    char longer[300];
    memset(longer, 'n', 258);
    memcpy(longer + 258, ":1", 3);
    assert_int_equal(parse(longer, &c), -1);
    sse_cursor_free(&c);
}

/* --- a stream and the store ------------------------------------------------ */

struct fixture {
    struct world w;
    struct http *http;
    int fd;                /* the client's end of the stream */
    char got[16384];       /* what it was sent so far */
    size_t n;
};

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* Turns the loop and keeps what the client was sent; true when it holds
 * want. */
static bool heard(struct fixture *f, const char *want)
{
    world_turn(&f->w);
    for (;;) {
        ssize_t n = recv(f->fd, f->got + f->n, sizeof f->got - 1 - f->n, MSG_DONTWAIT);
        if (n <= 0)
            break;
        f->n += (size_t)n;
    }
    f->got[f->n] = '\0';
    return strstr(f->got, want) != NULL;
}

static int stream_setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    world_init(&f.w, false);
    struct http_config hc;
    http_config_default(&hc);
    hc.port = free_port();
    char err[256];
    f.http = http_start(f.w.base, &f.w.env, &hc, NULL, err, sizeof err);
    assert_non_null(f.http);
    f.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)hc.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(f.fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char get[] = "GET /events?channels=order.created,news HTTP/1.1\r\n"
                              "Host: orderd\r\n\r\n";
    assert_int_equal(send(f.fd, get, sizeof get - 1, 0), (ssize_t)(sizeof get - 1));
    for (int i = 0; i < 100 && !heard(&f, "\r\n\r\n"); i++)
        ;
    assert_non_null(strstr(f.got, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(f.got, "Content-Type: text/event-stream\r\n"));
    *state = &f;
    return 0;
}

static int stream_teardown(void **state)
{
    struct fixture *f = *state;
    close(f->fd);
    http_stop(f->http);
    world_free(&f->w);
    return 0;
}

/* The store says everything recorded is durable; the HTTP side hears it
 * as server.c wires it. */
static void durable(struct fixture *f)
{
    double_complete(&f->w);
    http_durable(f->http, f->w.dbl.end);
}

/* A change (an order made), not yet durable. */
static void change(struct fixture *f)
{
    struct test_client c;
    test_client_init(&c, 900);
    struct reply *r = world_run(&f->w, &c, NULL, "CREATE", "customer=alice", "item=book",
                                "qty=1", "amount=1", (const char *)NULL);
    assert_int_equal(r->type, REPLY_RECORD);
    reply_free(r);
    test_client_free(&f->w, &c);
}

/* The event that tells of it, as server.c publishes an order's (the world
 * leaves order events to its tests). */
static void tell(struct fixture *f)
{
    assert_int_equal(bus_publish(f->w.bus, "order.created", 13, "{\"order_id\":1}", 14), 1);
}

static void test_an_event_waits_until_its_change_is_durable(void **state)
{
    struct fixture *f = *state;
    f->w.dbl.mode = DOUBLE_LATER;
    change(f);
    tell(f);
    for (int i = 0; i < 10; i++)
        assert_false(heard(f, "event: order.created"));
    /* A client's message on a live channel shows nothing recorded, but
     * it comes after a change it must not be seen before: it waits too,
     * behind the event. */
    assert_int_equal(bus_publish_message(f->w.bus, "news", 4, "hi", 2), 1);
    assert_false(heard(f, "event: news"));
    durable(f);
    assert_true(heard(f, "data: hi\n"));
    const char *event = strstr(f->got, "event: order.created\ndata: {\"order_id\":1}\n");
    assert_non_null(event);
    assert_true(event < strstr(f->got, "event: news\ndata: hi\n"));
}

static void test_a_stalled_store_holds_events_not_messages(void **state)
{
    struct fixture *f = *state;
    f->w.dbl.mode = DOUBLE_NEVER;
    change(f);
    /* Nothing is becoming durable: what tells of nothing goes at once. */
    assert_int_equal(bus_publish_message(f->w.bus, "news", 4, "hi", 2), 1);
    assert_true(heard(f, "event: news\ndata: hi\n"));
    /* What tells of the change waits for it, and what follows it keeps
     * its place behind, as on a connection. */
    tell(f);
    assert_int_equal(bus_publish_message(f->w.bus, "news", 4, "again", 5), 1);
    for (int i = 0; i < 10; i++)
        assert_false(heard(f, "event: order.created"));
    assert_false(heard(f, "data: again"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_event_has_its_id_name_and_data),
        cmocka_unit_test(test_each_line_of_the_payload_is_a_data_line),
        cmocka_unit_test(test_a_name_cannot_end_its_field),
        cmocka_unit_test(test_an_id_names_every_channel_in_the_order_first_set),
        cmocka_unit_test(test_an_id_reads_back_whatever_the_names),
        cmocka_unit_test(test_an_id_is_parsed_strictly),
        cmocka_unit_test_setup_teardown(test_an_event_waits_until_its_change_is_durable,
                                        stream_setup, stream_teardown),
        cmocka_unit_test_setup_teardown(test_a_stalled_store_holds_events_not_messages,
                                        stream_setup, stream_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
