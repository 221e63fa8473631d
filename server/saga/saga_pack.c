/* Packing finished sagas (see saga_pack.h). Layout, all varints:
 *     state | cancelling << 8 | attention << 9
 *     reason (a string, or absent)
 *     created_ms, updated_ms - created_ms
 *     steps: a bit per step that has anything, then for each of those
 *         state, attempts, msg,
 *         a bit per time set (started, ended, next_retry, sent), then each
 *         set one minus created_ms,
 *         error
 *     parcel: 0, or 1 then number, location, eta_ms */
#include "saga_pack.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "lib/codec.h"

static bool step_used(const struct saga_step_info *i)
{
    return i->state || i->attempts || i->msg || i->started_ms || i->ended_ms ||
           i->next_retry_ms || i->sent_ms || i->error;
}

void saga_pack(const struct saga *s, const struct tracking *t, struct buf *out)
{
    enc_u64(out, (uint64_t)s->state | (uint64_t)s->cancelling << 8 |
                     (uint64_t)s->attention << 9);
    enc_str(out, s->reason);
    enc_i64(out, s->created_ms);
    enc_i64(out, (int64_t)((uint64_t)s->updated_ms - (uint64_t)s->created_ms));
    uint64_t used = 0;
    for (int i = 0; i < SAGA_STEP_COUNT; i++)
        if (step_used(&s->steps[i]))
            used |= 1u << i;
    enc_u64(out, used);
    for (int i = 0; i < SAGA_STEP_COUNT; i++) {
        const struct saga_step_info *info = &s->steps[i];
        if (!(used & (1u << i)))
            continue;
        enc_u64(out, info->state);
        enc_u64(out, info->attempts);
        enc_u64(out, info->msg);
        const int64_t times[4] = {info->started_ms, info->ended_ms, info->next_retry_ms,
                                  info->sent_ms};
        uint64_t set = 0;
        for (int k = 0; k < 4; k++)
            if (times[k])
                set |= 1u << k;
        enc_u64(out, set);
        for (int k = 0; k < 4; k++)
            if (times[k])
                enc_i64(out, (int64_t)((uint64_t)times[k] - (uint64_t)s->created_ms));
        enc_str(out, info->error);
    }
    if (t == NULL) {
        enc_u64(out, 0);
        return;
    }
    enc_u64(out, 1);
    enc_str(out, t->number);
    enc_str(out, t->location);
    enc_i64(out, t->eta_ms);
}

static void clear(struct saga *s, struct tracking *t)
{
    saga_release(s);
    memset(s, 0, sizeof *s);
    free(t->number);
    free(t->location);
    memset(t, 0, sizeof *t);
}

/* a + b wrapping, as the packer's a - b did: no overflow on bad bytes. */
static int64_t plus(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

int saga_unpack(const void *p, size_t n, struct saga *s, struct tracking *t, bool *has_track)
{
    struct dec d;
    dec_init(&d, p, n);
    memset(s, 0, sizeof *s);
    memset(t, 0, sizeof *t);
    *has_track = false;
    uint64_t flags = dec_u64(&d);
    s->state = (uint8_t)flags;
    s->cancelling = (flags >> 8) & 1;
    s->attention = (flags >> 9) & 1;
    s->reason = dec_str(&d);
    s->created_ms = dec_i64(&d);
    s->updated_ms = plus(s->created_ms, dec_i64(&d));
    uint64_t used = dec_u64(&d);
    bool bad = (flags >> 10) != 0 || s->state > SAGA_CANCELLED || (used >> SAGA_STEP_COUNT) != 0;
    for (int i = 0; i < SAGA_STEP_COUNT && !bad && !d.err; i++) {
        struct saga_step_info *info = &s->steps[i];
        if (!(used & (1u << i)))
            continue;
        uint64_t state = dec_u64(&d), attempts = dec_u64(&d);
        info->msg = dec_u64(&d);
        uint64_t set = dec_u64(&d);
        int64_t *times[4] = {&info->started_ms, &info->ended_ms, &info->next_retry_ms,
                             &info->sent_ms};
        for (int k = 0; k < 4; k++)
            if (set & (1u << k))
                *times[k] = plus(s->created_ms, dec_i64(&d));
        info->error = dec_str(&d);
        bad = state > STEP_SKIPPED || attempts > UINT16_MAX || (set >> 4) != 0;
        info->state = (uint8_t)state;
        info->attempts = (uint16_t)attempts;
    }
    uint64_t parcel = dec_u64(&d);
    if (parcel == 1) {
        t->number = dec_str(&d);
        t->location = dec_str(&d);
        t->eta_ms = dec_i64(&d);
        *has_track = true;
    }
    if (bad || parcel > 1 || !dec_done(&d)) {
        clear(s, t);
        *has_track = false;
        return -1;
    }
    return 0;
}
