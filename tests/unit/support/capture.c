/* A store back-end that captures the journal's records (see capture.h). */
#include "capture.h"

#include "store/persist.h"
#include "store/store.h"
#include "store/turn.h"

void capture_init(struct capture *c)
{
    *c = (struct capture){.turn = turn_new()};
    buf_init(&c->rec);
    buf_init(&c->log);
}

void capture_free(struct capture *c)
{
    turn_free(c->turn);
    buf_free(&c->rec);
    buf_free(&c->log);
}

size_t capture_held(const struct capture *c)
{
    return turn_records(c->turn);
}

/* journal_store.c's record(). */
static void record(struct capture *c, uint8_t type, const struct chan_change *chg)
{
    if (chg)
        turn_change(c->turn, type, buf_head(&c->rec), buf_used(&c->rec), chg);
    else
        turn_record(c->turn, type, buf_head(&c->rec), buf_used(&c->rec));
    c->records++;
    buf_clear(&c->rec);
}

static void cap_order(void *be, const struct order_event *ev)
{
    struct capture *c = be;
    uint8_t type;
    persist_encode_order(&c->rec, ev, &type);
    record(c, type, NULL);
}

static void cap_change(void *be, const struct chan_change *chg)
{
    struct capture *c = be;
    uint8_t type;
    persist_encode_change(&c->rec, chg, &type);
    record(c, type, chg);
}

static void cap_saga(void *be, const struct saga *sg, const struct tracking *t)
{
    struct capture *c = be;
    persist_encode_saga_whole(&c->rec, sg, t);
    record(c, REC_SAGA_PACKED, NULL);
}

static void cap_sim(void *be, int type, const char *key, int64_t value)
{
    struct capture *c = be;
    persist_encode_sim(&c->rec, type, key, value);
    record(c, REC_SIM, NULL);
}

/* journal_store.c's flush_turn(), with log for the journal. */
static void cap_commit(void *be)
{
    struct capture *c = be;
    c->commits++;
    if (turn_records(c->turn) == 0)
        return;
    struct turn_flushed f;
    turn_flush(c->turn, &c->log, &f);
    c->left_out += f.left_out;
}

const struct store_ops capture_ops = {
    .name = "capture",
    .order = cap_order,
    .change = cap_change,
    .saga = cap_saga,
    .sim = cap_sim,
    .commit = cap_commit,
};
