/* The bus publishing events whose payload costs something to make
 * (bus_publish_built): made only for a listener, counted either way. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "channels/bus.h"
#include "channels/channel.h"
#include "channels/pubsub.h"
#include "lib/clock.h"

struct fixture {
    struct event_base *base;
    struct clock clock;
    struct bus *bus;
    int builds;        /* times the payload was made */
    int pushes;        /* messages the subscriber received */
    char last[256];    /* the last one, as pushed (RESP) */
};

static void build(void *arg, struct buf *out)
{
    struct fixture *f = arg;
    f->builds++;
    buf_appends(out, "{\"event\":1}");
}

/* A subscriber with a way back to the fixture. */
struct test_sub {
    struct subscriber sub;  /* first: a push gets it back */
    struct fixture *f;
};

static void on_push(struct subscriber *s, const char *bytes, size_t n, bool change)
{
    struct fixture *f = ((struct test_sub *)s)->f;
    (void)change;
    f->pushes++;
    snprintf(f->last, sizeof f->last, "%.*s", (int)n, bytes);
}

static void sub_init(struct test_sub *t, struct fixture *f)
{
    memset(t, 0, sizeof *t);
    t->sub.push = on_push;
    t->sub.kind = PROTO_RESP;
    t->f = f;
}

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    f.base = event_base_new();
    clock_init(&f.clock, NULL);
    f.bus = bus_new(f.base, &f.clock, NULL, NULL);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bus_free(f->bus);
    event_base_free(f->base);
    return 0;
}

static size_t publish(struct fixture *f, const char *ch)
{
    return bus_publish_built(f->bus, ch, strlen(ch), build, f);
}

static void test_an_event_nobody_hears_is_not_made_but_counted(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(publish(f, "order.created"), 0);
    assert_int_equal(f->builds, 0);
    assert_int_equal(bus_published(f->bus), 1);
}

static void test_a_subscriber_of_the_channel_gets_it(void **state)
{
    struct fixture *f = *state;
    struct test_sub s;
    sub_init(&s, f);
    pubsub_subscribe(bus_pubsub(f->bus), &s.sub, "order.created", 13);
    /* Another channel's subscriber does not make this one heard. */
    assert_int_equal(publish(f, "order.status"), 0);
    assert_int_equal(f->builds, 0);
    assert_int_equal(publish(f, "order.created"), 1);
    assert_int_equal(f->builds, 1);
    assert_int_equal(f->pushes, 1);
    assert_string_equal(f->last, "*3\r\n$7\r\nmessage\r\n$13\r\norder.created\r\n"
                                 "$11\r\n{\"event\":1}\r\n");
    assert_int_equal(bus_published(f->bus), 2);
    /* Once it leaves, nobody hears the channel again. */
    pubsub_client_gone(bus_pubsub(f->bus), &s.sub);
    assert_int_equal(publish(f, "order.created"), 0);
    assert_int_equal(f->builds, 1);
}

static void build_short(void *arg, struct buf *out)
{
    struct fixture *f = arg;
    f->builds++;
    buf_appends(out, "{}");
}

/* The bus keeps one buffer for payloads: the next, shorter, one carries
 * nothing of the last. */
static void test_each_payload_is_made_afresh(void **state)
{
    struct fixture *f = *state;
    struct test_sub s;
    sub_init(&s, f);
    pubsub_subscribe(bus_pubsub(f->bus), &s.sub, "order.status", 12);
    publish(f, "order.status");
    assert_int_equal(bus_publish_built(f->bus, "order.status", 12, build_short, f), 1);
    assert_int_equal(f->builds, 2);
    assert_string_equal(f->last, "*3\r\n$7\r\nmessage\r\n$12\r\norder.status\r\n"
                                 "$2\r\n{}\r\n");
    pubsub_client_gone(bus_pubsub(f->bus), &s.sub);
}

/* A subscriber that, on receiving a message, has the bus build another
 * event: the inner one must not write over the outer one's payload. */
struct relay {
    struct subscriber sub;  /* first: a push gets it back */
    struct bus *bus;
    int depth;
    char seen[2][256];      /* what arrived, outer first */
    int n;
};

static void build_inner(void *arg, struct buf *out)
{
    (void)arg;
    buf_appends(out, "{\"inner\":true}");
}

static void relay_push(struct subscriber *s, const char *bytes, size_t n, bool change)
{
    struct relay *r = (struct relay *)s;
    (void)change;
    if (r->n < 2)
        snprintf(r->seen[r->n++], sizeof r->seen[0], "%.*s", (int)n, bytes);
    if (r->depth++ == 0)
        bus_publish_built(r->bus, "inner", 5, build_inner, NULL);
}

static void test_an_event_built_while_publishing_one_has_its_own_buffer(void **state)
{
    struct fixture *f = *state;
    struct relay r;
    memset(&r, 0, sizeof r);
    r.sub.push = relay_push;
    r.sub.kind = PROTO_RESP;
    r.bus = f->bus;
    pubsub_psubscribe(bus_pubsub(f->bus), &r.sub, "*", 1);
    assert_int_equal(publish(f, "outer"), 1);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.seen[0], "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$5\r\nouter\r\n"
                                   "$11\r\n{\"event\":1}\r\n");
    assert_string_equal(r.seen[1], "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$5\r\ninner\r\n"
                                   "$14\r\n{\"inner\":true}\r\n");
    /* And the bus's own buffer serves the next one. */
    r.depth = 1;
    assert_int_equal(publish(f, "again"), 1);
    pubsub_client_gone(bus_pubsub(f->bus), &r.sub);
}

static void test_a_matching_pattern_gets_it(void **state)
{
    struct fixture *f = *state;
    struct test_sub s;
    sub_init(&s, f);
    pubsub_psubscribe(bus_pubsub(f->bus), &s.sub, "order.*", 7);
    assert_int_equal(publish(f, "notify"), 0);
    assert_int_equal(f->builds, 0);
    assert_int_equal(publish(f, "order.status"), 1);
    assert_int_equal(f->builds, 1);
    assert_int_equal(f->pushes, 1);
    pubsub_client_gone(bus_pubsub(f->bus), &s.sub);
}

static void test_a_durable_channel_keeps_it_without_listeners(void **state)
{
    struct fixture *f = *state;
    struct chan_settings cs;
    struct channel *ch;
    chan_settings_default(&cs);
    chreg_declare(bus_channels(f->bus), "order.created", &cs, &ch);
    assert_int_equal(publish(f, "order.created"), 0);
    assert_int_equal(f->builds, 1);
    assert_int_equal(chan_last_offset(ch), 1);
}

/* A subscriber that frames messages itself gets each one as it is, once
 * per subscription it matches: the pattern it came by, and its offset when
 * the channel is durable (0 when it is live). */
struct framer {
    struct subscriber sub;  /* first: deliver gets it back */
    int n;
    char pattern[16][32];   /* "" for the channel itself */
    char channel[16][32];
    uint64_t offset[16];
    bool change[16];
};

static void framer_deliver(struct subscriber *s, const struct pubsub_message *m)
{
    struct framer *fr = (struct framer *)s;
    int i = fr->n++;
    snprintf(fr->pattern[i], sizeof fr->pattern[i], "%.*s", (int)m->patlen,
             m->pattern ? m->pattern : "");
    snprintf(fr->channel[i], sizeof fr->channel[i], "%.*s", (int)m->chlen, m->channel);
    fr->offset[i] = m->offset;
    fr->change[i] = m->change;
}

static void test_a_subscriber_that_frames_gets_the_message_and_its_offset(void **state)
{
    struct fixture *f = *state;
    struct framer fr;
    memset(&fr, 0, sizeof fr);
    fr.sub.deliver = framer_deliver;
    struct pubsub *ps = bus_pubsub(f->bus);
    pubsub_subscribe(ps, &fr.sub, "order.status", 12);
    pubsub_psubscribe(ps, &fr.sub, "order.*", 7);
    struct chan_settings cs;
    struct channel *ch;
    chan_settings_default(&cs);
    chreg_declare(bus_channels(f->bus), "order.status", &cs, &ch);
    assert_int_equal(publish(f, "order.status"), 2);
    assert_int_equal(publish(f, "order.status"), 2);
    assert_int_equal(bus_publish_message(f->bus, "order.created", 13, "x", 1), 1);
    assert_int_equal(fr.n, 5);
    assert_string_equal(fr.pattern[0], "");
    assert_string_equal(fr.pattern[1], "order.*");
    assert_string_equal(fr.channel[1], "order.status");
    assert_int_equal(fr.offset[0], 1);
    assert_int_equal(fr.offset[1], 1);
    assert_int_equal(fr.offset[2], 2);
    assert_true(fr.change[2]);
    /* A client's message on a live channel: no offset, no change. */
    assert_string_equal(fr.channel[4], "order.created");
    assert_int_equal(fr.offset[4], 0);
    assert_false(fr.change[4]);
    assert_int_equal(f->pushes, 0);
    pubsub_client_gone(ps, &fr.sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_an_event_nobody_hears_is_not_made_but_counted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_subscriber_of_the_channel_gets_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_each_payload_is_made_afresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_matching_pattern_gets_it, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_an_event_built_while_publishing_one_has_its_own_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_durable_channel_keeps_it_without_listeners,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_subscriber_that_frames_gets_the_message_and_its_offset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
