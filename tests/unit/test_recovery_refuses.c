/* Recovery refuses a record that does not fit the state recorded before
 * it, rather than take it into a state that a snapshot cannot give back:
 * whatever recovery takes, compaction writes again, and the next start
 * must be able to read that. Found by fuzz_journal, which recovers fuzzed
 * journals and checks that their snapshot recovers to the same state. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels/bus.h"
#include "reply.h"
#include "saga/engine.h"
#include "store/journal.h"
#include "store/persist.h"
#include "support/world.h"

static struct persist_target target(struct world *w)
{
    return (struct persist_target){.book = w->book, .channels = bus_channels(w->bus),
                                   .dlq = bus_dlq(w->bus), .engine = w->engine, .sim = w->sim};
}

static int append_all(void *arg, struct buf *out)
{
    buf_append(arg, buf_head(out), buf_used(out));
    buf_clear(out);
    return 0;
}

/* Every record of w's snapshot applies to a fresh world. */
static void snapshot_recovers(struct world *w)
{
    struct persist_target t = target(w);
    struct buf snap, tmp;
    buf_init(&snap);
    buf_init(&tmp);
    assert_int_equal(persist_snapshot(&t, &tmp, append_all, &snap), 0);
    struct world copy;
    world_build(&copy, true, NULL, NULL);
    struct persist_target ct = target(&copy);
    const unsigned char *p = (const unsigned char *)buf_head(&snap);
    for (size_t off = 0; off < buf_used(&snap);) {
        uint32_t len = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
                       (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
        if (persist_apply(&ct, p[off + 4], (const char *)p + off + JOURNAL_HEADER_LEN, len,
                          off) != 0)
            fail_msg("the snapshot's record of type %u at %zu does not apply", p[off + 4], off);
        off += JOURNAL_HEADER_LEN + len;
    }
    persist_recovered(&ct);
    world_free(&copy);
    buf_free(&snap);
    buf_free(&tmp);
}

/* A world being recovered (engine and participants not started) that
 * knows order 1, without a saga. */
static void one_order(struct world *w)
{
    world_build(w, true, NULL, NULL);
    struct reply *r = world_run(w, NULL, NULL, "CREATE", "customer=ann", "item=pen", "qty=1",
                                "amount=1", (const char *)NULL);
    assert_int_equal(r->type, REPLY_RECORD);
    reply_free(r);
    assert_null(engine_saga(w->engine, 1));
}

/* A parcel (an older journal's REC_SAGA_TRACK) for an order whose saga no
 * record has set: it once made a saga of order 0, which the snapshot
 * wrote and recovery then refused. */
static void test_a_parcel_without_its_saga_is_refused(void **state)
{
    (void)state;
    struct world w;
    one_order(&w);
    struct persist_target t = target(&w);
    struct tracking parcel = {.number = "TRK1", .location = "depot", .eta_ms = 5};
    struct buf rec;
    buf_init(&rec);
    persist_encode_tracking(&rec, 1, &parcel);
    assert_int_equal(persist_apply(&t, REC_SAGA_TRACK, buf_head(&rec), buf_used(&rec), 0), -1);
    assert_null(engine_saga(w.engine, 1));
    snapshot_recovers(&w);

    /* After its saga's record, the same parcel is taken. */
    struct saga sg = {.order = 1, .state = SAGA_RUNNING, .created_ms = 1, .updated_ms = 1};
    uint8_t type;
    buf_clear(&rec);
    persist_encode_saga(&rec, &sg, -1, &type);
    assert_int_equal(persist_apply(&t, type, buf_head(&rec), buf_used(&rec), 0), 0);
    buf_clear(&rec);
    persist_encode_tracking(&rec, 1, &parcel);
    assert_int_equal(persist_apply(&t, REC_SAGA_TRACK, buf_head(&rec), buf_used(&rec), 0), 0);
    assert_string_equal(engine_tracking(w.engine, 1)->number, "TRK1");
    snapshot_recovers(&w);
    buf_free(&rec);
    world_free(&w);
}

/* A saga, step, parcel or packed saga of an order the book has not given:
 * refused, and at no cost (an id up to 2^40 once sized the sagas'
 * directory to it: 8 GB for one record of a dozen bytes). */
static void test_a_saga_of_an_unknown_order_is_refused(void **state)
{
    (void)state;
    struct world w;
    one_order(&w);
    struct persist_target t = target(&w);
    static const uint64_t unknown[] = {2, 1ULL << 40};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        struct saga sg = {.order = unknown[i], .state = SAGA_DONE, .created_ms = 1,
                          .updated_ms = 1};
        struct buf rec;
        buf_init(&rec);
        for (int step = -1; step < SAGA_STEP_COUNT; step++) {
            uint8_t type;
            buf_clear(&rec);
            persist_encode_saga(&rec, &sg, step, &type);
            assert_int_equal(persist_apply(&t, type, buf_head(&rec), buf_used(&rec), 0), -1);
        }
        buf_clear(&rec);
        persist_encode_saga_whole(&rec, &sg, NULL);
        assert_int_equal(persist_apply(&t, REC_SAGA_PACKED, buf_head(&rec), buf_used(&rec), 0),
                         -1);
        buf_free(&rec);
        assert_null(engine_saga(w.engine, unknown[i]));
    }
    snapshot_recovers(&w);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_parcel_without_its_saga_is_refused),
        cmocka_unit_test(test_a_saga_of_an_unknown_order_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
