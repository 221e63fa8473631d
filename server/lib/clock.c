/* Clock readings and the one time format orderd prints. */
#include "clock.h"

#include <event2/event.h>
#include <time.h>

int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t real_wall(void *arg)
{
    (void)arg;
    return clock_wall_ms();
}

static int64_t real_mono(void *arg)
{
    (void)arg;
    return clock_mono_ms();
}

void clock_init(struct clock *c, const struct clock_source *src)
{
    c->src = src ? *src : (struct clock_source){real_wall, real_mono, NULL};
    c->anchor = c->src.wall(c->src.arg) - c->src.mono(c->src.arg);
    timefmt_init(&c->fmt);
    clock_tick(c);
}

void clock_tick(struct clock *c)
{
    c->wall_ms = c->src.wall(c->src.arg);
    c->now_ms = c->src.mono(c->src.arg) + c->anchor;
}

void clock_arm(const struct clock *c, struct event *ev, int64_t due_ms)
{
    int64_t wait = due_ms - c->now_ms;
    if (wait < 0)
        wait = 0;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000)};
    evtimer_add(ev, &tv);
}

void clock_format_rfc3339(int64_t ms, char out[CLOCK_RFC3339_LEN])
{
    timefmt_rfc3339(ms, out);
}

void clock_format(struct clock *c, int64_t ms, char out[CLOCK_RFC3339_LEN])
{
    timefmt_format(&c->fmt, ms, out);
}
