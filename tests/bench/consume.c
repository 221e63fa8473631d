/* Benchmark helper: the consumer-group round trip, on orderd or on Redis.
 * Publishes N messages (pipelined), then one consumer takes them in batches
 * and acknowledges each batch, and prints messages per second for that
 * consume+ack phase.
 *
 *   consume orderd <port> <n> <batch>   PUBLISH, then CONSUME + ACK
 *   consume redis  <port> <n> <batch>   XADD, then XREADGROUP + XACK
 *
 * Uses hiredis's synchronous API, so both servers get the same client. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static redisReply *must(redisContext *c, redisReply *r)
{
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "consume: %s\n", r ? r->str : c->errstr);
        exit(1);
    }
    return r;
}

/* The message ids of one batch, from a CONSUME reply (records) or an
 * XREADGROUP reply ([[stream, [[id, fields]...]]]). */
static size_t batch_ids(int orderd, redisReply *r, char ids[][32], size_t max)
{
    size_t n = 0;
    if (orderd) {
        for (size_t i = 0; i < r->elements && n < max; i++) {
            redisReply *rec = r->element[i];  /* id, <id>, deliveries, ... */
            snprintf(ids[n++], 32, "%lld", rec->element[1]->integer);
        }
        return n;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        return 0;
    redisReply *entries = r->element[0]->element[1];
    for (size_t i = 0; i < entries->elements && n < max; i++)
        snprintf(ids[n++], 32, "%s", entries->element[i]->element[0]->str);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: consume orderd|redis <port> <n> <batch>\n");
        return 2;
    }
    int orderd = strcmp(argv[1], "orderd") == 0;
    int port = atoi(argv[2]);
    long n = atol(argv[3]);
    size_t batch = (size_t)atol(argv[4]);
    redisContext *c = redisConnect("127.0.0.1", port);
    if (c == NULL || c->err) {
        fprintf(stderr, "consume: cannot connect\n");
        return 1;
    }
    char stream[64];
    snprintf(stream, sizeof stream, "bench.%ld", (long)time(NULL));
    if (orderd)
        freeReplyObject(must(c, redisCommand(c, "CHANNEL CREATE %s maxlen=0", stream)));
    else
        freeReplyObject(must(c, redisCommand(c, "XGROUP CREATE %s g $ MKSTREAM", stream)));
    for (long i = 0; i < n; i++) {
        if (orderd)
            redisAppendCommand(c, "PUBLISH %s payload-%ld", stream, i);
        else
            redisAppendCommand(c, "XADD %s * p payload-%ld", stream, i);
    }
    for (long i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK)
            return 1;
        freeReplyObject(must(c, r));
    }
    char (*ids)[32] = malloc(batch * sizeof *ids);
    const char **argvv = malloc((batch + 4) * sizeof *argvv);
    long got = 0;
    double start = now_s();
    while (got < n) {
        redisReply *r;
        if (orderd)
            r = redisCommand(c, "CONSUME %s group=g consumer=c1 count=%lu", stream, (unsigned long)batch);
        else
            r = redisCommand(c, "XREADGROUP GROUP g c1 COUNT %lu STREAMS %s >", (unsigned long)batch, stream);
        size_t k = batch_ids(orderd, must(c, r), ids, batch);
        freeReplyObject(r);
        if (k == 0) {
            fprintf(stderr, "consume: ran dry at %ld of %ld\n", got, n);
            return 1;
        }
        size_t a = 0;
        argvv[a++] = orderd ? "ACK" : "XACK";
        argvv[a++] = stream;
        argvv[a++] = orderd ? "group=g" : "g";
        for (size_t i = 0; i < k; i++)
            argvv[a++] = ids[i];
        r = redisCommandArgv(c, (int)a, argvv, NULL);
        if (must(c, r)->integer != (long long)k) {
            fprintf(stderr, "consume: acked %lld of %zu\n", r->integer, k);
            return 1;
        }
        freeReplyObject(r);
        got += (long)k;
    }
    double secs = now_s() - start;
    printf("%.0f\n", (double)n / secs);
    free(ids);
    free(argvv);
    redisFree(c);
    return 0;
}
