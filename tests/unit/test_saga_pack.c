/* Packed finished sagas (saga/saga_pack.h): every field comes back, the
 * bytes are few, and anything short of a whole packed saga is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "saga/engine.h"
#include "saga/saga_pack.h"
#include "xalloc.h"

static const int64_t T0 = 1796000000000LL;  /* 2026-11 */

/* A delivered saga as the engine leaves it, with a parcel. */
static void delivered(struct saga *s, struct tracking *t)
{
    memset(s, 0, sizeof *s);
    s->order = 42;
    s->state = SAGA_DONE;
    s->created_ms = T0;
    s->updated_ms = T0 + 260;
    for (int i = SAGA_VALIDATE; i <= SAGA_DELIVER; i++) {
        struct saga_step_info *info = &s->steps[i];
        info->state = STEP_OK;
        info->attempts = 1;
        info->msg = 100000 + (uint64_t)i;
        info->started_ms = T0 + i * 10;
        info->sent_ms = T0 + i * 10;
        info->ended_ms = T0 + i * 10 + 3;
    }
    t->number = xstrdup("TRK000042");
    t->location = xstrdup("delivered");
    t->eta_ms = T0 + 200;
}

/* A failed saga that retried, compensated, and has texts everywhere. */
static void failed(struct saga *s)
{
    memset(s, 0, sizeof *s);
    s->order = 7;
    s->state = SAGA_FAILED;
    s->attention = true;
    s->reason = xstrdup("payment declined: card expired");
    s->created_ms = T0;
    s->updated_ms = T0 - 5;  /* the clock went back: still exact */
    s->steps[SAGA_VALIDATE] = (struct saga_step_info){STEP_OK, 1, 1, T0, T0 + 1, 0, T0, NULL};
    s->steps[SAGA_AUTHORIZE] = (struct saga_step_info){
        STEP_FAILED, 65535, UINT64_MAX, T0 + 2, T0 + 90000000000LL, T0 + 7, T0 + 6,
        xstrdup("declined")};
    s->steps[SAGA_RELEASE] = (struct saga_step_info){STEP_SKIPPED, 0, 0, 0, 0, 0, 0, xstrdup("")};
}

static void expect_same(const struct saga *a, const struct saga *b)
{
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->cancelling, b->cancelling);
    assert_int_equal(a->attention, b->attention);
    if (a->reason == NULL)
        assert_null(b->reason);
    else
        assert_string_equal(a->reason, b->reason);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->updated_ms, b->updated_ms);
    for (int i = 0; i < SAGA_STEP_COUNT; i++) {
        const struct saga_step_info *x = &a->steps[i], *y = &b->steps[i];
        assert_int_equal(x->state, y->state);
        assert_int_equal(x->attempts, y->attempts);
        assert_int_equal(x->msg, y->msg);
        assert_int_equal(x->started_ms, y->started_ms);
        assert_int_equal(x->ended_ms, y->ended_ms);
        assert_int_equal(x->next_retry_ms, y->next_retry_ms);
        assert_int_equal(x->sent_ms, y->sent_ms);
        if (x->error == NULL)
            assert_null(y->error);
        else
            assert_string_equal(x->error, y->error);
    }
}

static void release_track(struct tracking *t)
{
    free(t->number);
    free(t->location);
}

static void test_a_delivered_saga_comes_back_whole_and_small(void **state)
{
    (void)state;
    struct saga s, back;
    struct tracking t, tback;
    bool has;
    delivered(&s, &t);
    struct buf b;
    buf_init(&b);
    saga_pack(&s, &t, &b);
    /* What the engine keeps per finished saga, instead of ~500 bytes. */
    assert_true(buf_used(&b) <= 96);
    assert_int_equal(saga_unpack(buf_head(&b), buf_used(&b), &back, &tback, &has), 0);
    assert_true(has);
    assert_int_equal(back.order, 0);  /* not packed: the keeper knows it */
    expect_same(&s, &back);
    assert_string_equal(tback.number, "TRK000042");
    assert_string_equal(tback.location, "delivered");
    assert_int_equal(tback.eta_ms, T0 + 200);
    saga_release(&s);
    saga_release(&back);
    release_track(&t);
    release_track(&tback);
    buf_free(&b);
}

static void test_texts_extremes_and_no_parcel_come_back(void **state)
{
    (void)state;
    struct saga s, back;
    struct tracking tback;
    bool has;
    failed(&s);
    struct buf b;
    buf_init(&b);
    saga_pack(&s, NULL, &b);
    assert_int_equal(saga_unpack(buf_head(&b), buf_used(&b), &back, &tback, &has), 0);
    assert_false(has);
    expect_same(&s, &back);
    saga_release(&s);
    saga_release(&back);
    buf_free(&b);
}

/* Every prefix of a packed saga is refused, and leaves nothing owned. */
static void test_a_packed_saga_cut_short_is_refused(void **state)
{
    (void)state;
    struct saga s, back;
    struct tracking t, tback;
    bool has;
    delivered(&s, &t);
    struct buf b;
    buf_init(&b);
    saga_pack(&s, &t, &b);
    for (size_t n = 0; n < buf_used(&b); n++) {
        char *copy = malloc(n ? n : 1);  /* exactly n: ASan sees a read past it */
        memcpy(copy, buf_head(&b), n);
        assert_int_equal(saga_unpack(copy, n, &back, &tback, &has), -1);
        assert_null(back.reason);
        assert_null(tback.number);
        free(copy);
    }
    /* And a byte too many. */
    buf_appendc(&b, 0);
    assert_int_equal(saga_unpack(buf_head(&b), buf_used(&b), &back, &tback, &has), -1);
    saga_release(&s);
    release_track(&t);
    buf_free(&b);
}

/* Any byte changed gives a refusal or some saga, never a crash or a leak. */
static void test_a_changed_byte_is_refused_or_read_safely(void **state)
{
    (void)state;
    struct saga s, back;
    struct tracking tback;
    bool has;
    failed(&s);
    struct buf b;
    buf_init(&b);
    saga_pack(&s, NULL, &b);
    for (size_t i = 0; i < buf_used(&b); i++) {
        for (int bit = 0; bit < 8; bit++) {
            char *copy = malloc(buf_used(&b));
            memcpy(copy, buf_head(&b), buf_used(&b));
            copy[i] ^= (char)(1 << bit);
            if (saga_unpack(copy, buf_used(&b), &back, &tback, &has) == 0) {
                assert_true(back.state <= SAGA_CANCELLED);
                saga_release(&back);
                release_track(&tback);
            }
            free(copy);
        }
    }
    saga_release(&s);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_delivered_saga_comes_back_whole_and_small),
        cmocka_unit_test(test_texts_extremes_and_no_parcel_come_back),
        cmocka_unit_test(test_a_packed_saga_cut_short_is_refused),
        cmocka_unit_test(test_a_changed_byte_is_refused_or_read_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
