/* Benchmark helper: opens N connections to a server, SUBSCRIBEs each to one
 * channel, then reads and discards everything until told to stop (SIGTERM)
 * or until it has seen the expected number of messages per connection.
 * Used by tests/bench/run to measure PUBLISH fan-out on orderd and on Redis
 * with the same cheap subscribers.
 *
 *   sink <port> <channel> <connections> <messages-per-connection>
 *
 * Prints "ready" once every subscription is confirmed, and the elapsed time
 * when all messages arrived. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts occurrences of "message\r\n" split across reads: the RESP push
 * array starts "*3\r\n$7\r\nmessage\r\n". */
struct conn_state {
    int fd;
    long seen;
    int match;  /* bytes of the marker matched so far */
};

static const char marker[] = "$7\r\nmessage\r\n";

static void scan(struct conn_state *c, const char *buf, ssize_t n)
{
    size_t mlen = sizeof marker - 1;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == marker[c->match]) {
            if ((size_t)++c->match == mlen) {
                c->seen++;
                c->match = 0;
            }
        } else {
            c->match = buf[i] == marker[0] ? 1 : 0;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: sink <port> <channel> <connections> <messages>\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *channel = argv[2];
    int nconn = atoi(argv[3]);
    long expect = atol(argv[4]);
    struct conn_state *cs = calloc((size_t)nconn, sizeof *cs);
    struct pollfd *pfd = calloc((size_t)nconn, sizeof *pfd);
    char cmd[512];
    int len = snprintf(cmd, sizeof cmd, "*2\r\n$9\r\nSUBSCRIBE\r\n$%zu\r\n%s\r\n",
                       strlen(channel), channel);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    for (int i = 0; i < nconn; i++) {
        cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(cs[i].fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            perror("connect");
            return 1;
        }
        if (write(cs[i].fd, cmd, (size_t)len) != len) {
            perror("write");
            return 1;
        }
        /* The confirmation is ["subscribe", ch, 1]: wait for it. */
        char buf[256];
        ssize_t got = 0, n;
        while (got < 10 && (n = read(cs[i].fd, buf + got, sizeof buf - (size_t)got)) > 0)
            got += n;
        pfd[i].fd = cs[i].fd;
        pfd[i].events = POLLIN;
    }
    printf("ready\n");
    fflush(stdout);
    static char buf[1 << 16];
    double start = 0;
    int done = 0;
    while (done < nconn) {
        if (poll(pfd, (nfds_t)nconn, 30000) <= 0) {
            fprintf(stderr, "sink: timed out with %d of %d connections complete\n", done, nconn);
            return 1;
        }
        for (int i = 0; i < nconn; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            ssize_t n = read(pfd[i].fd, buf, sizeof buf);
            if (n <= 0) {
                fprintf(stderr, "sink: connection %d closed\n", i);
                return 1;
            }
            if (start == 0)
                start = now_s();
            scan(&cs[i], buf, n);
            if (cs[i].seen >= expect) {
                pfd[i].fd = -1;
                done++;
            }
        }
    }
    printf("done %.3f\n", now_s() - start);
    return 0;
}
