/*
 * bench_zmq - raw ZeroMQ PUSH->PULL throughput between two processes,
 * the ceiling of any pipeline stage that moves events over a socket.
 *
 *   bench_zmq ENDPOINT COUNT SIZE [curve]
 *
 * ENDPOINT is ipc://PATH (as kaohe's DIR/run/NAME.sock) or
 * tcp://127.0.0.1:0 (a free loopback port). The parent binds a PULL, a
 * forked child connects a PUSH and sends COUNT messages of SIZE bytes as
 * fast as it can (blocking at the high-water mark, linger until all are
 * delivered); the parent times from the first message received to the
 * last. With "curve" both ends use CurveZMQ (kaohe's services do, on
 * every socket), without a ZAP handler. One JSON line:
 * {"bench":"zmq","transport":...,"curve":...,"size":...,"n":...,
 * "per_s":...}.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_util.h"

typedef struct keys {
    char server_pub[41], server_sec[41], client_pub[41], client_sec[41];
} keys_t;

static int sender(int rd, long count, size_t size, const keys_t *k)
{
    char ep[512] = "";
    ssize_t got = read(rd, ep, sizeof ep - 1);
    if (got <= 0)
        return 1;
    ep[got] = '\0';
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    int linger = -1;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (k) {
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, k->server_pub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, k->client_pub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k->client_sec, 40);
    }
    if (zmq_connect(s, ep) != 0)
        return 1;
    char *buf = calloc(1, size ? size : 1);
    for (long i = 0; i < count; i++)
        if (zmq_send(s, buf, size, 0) < 0)
            return 1;
    free(buf);
    zmq_close(s);
    zmq_ctx_term(ctx); /* waits until everything is delivered */
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_zmq ENDPOINT COUNT SIZE [curve]\n");
        return 2;
    }
    const char *endpoint = argv[1];
    long count = atol(argv[2]);
    size_t size = (size_t)atol(argv[3]);
    bool curve = argc > 4 && strcmp(argv[4], "curve") == 0;
    keys_t keys;
    if (curve && (zmq_curve_keypair(keys.server_pub, keys.server_sec) != 0 ||
                  zmq_curve_keypair(keys.client_pub, keys.client_sec) != 0)) {
        fprintf(stderr, "bench_zmq: no CURVE in this libzmq\n");
        return 1;
    }
    int p[2];
    if (count <= 0 || pipe(p) != 0)
        return 2;
    /* Fork before any ZeroMQ context exists (a context does not survive
     * fork); the child learns the bound endpoint through the pipe. */
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        close(p[1]);
        _exit(sender(p[0], count, size, curve ? &keys : NULL));
    }
    close(p[0]);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_PULL);
    int timeout = 20000, one = 1;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (curve) {
        zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys.server_sec, 40);
    }
    if (strncmp(endpoint, "ipc://", 6) == 0)
        unlink(endpoint + 6);
    char ep[512];
    size_t eplen = sizeof ep;
    if (zmq_bind(s, endpoint) != 0 || zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &eplen)) {
        fprintf(stderr, "bench_zmq: bind %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        kill(pid, SIGKILL);
        return 1;
    }
    if (write(p[1], ep, strlen(ep)) < 0)
        return 1;
    close(p[1]);
    zmq_msg_t m;
    zmq_msg_init(&m);
    long got = 0;
    int64_t first = 0, last = 0;
    while (got < count) {
        if (zmq_msg_recv(&m, s, 0) < 0)
            break; /* timed out: report what came */
        last = bench_now_ns();
        if (got++ == 0)
            first = last;
    }
    zmq_msg_close(&m);
    int status = 0;
    waitpid(pid, &status, 0);
    const char *transport = strncmp(endpoint, "tcp://", 6) == 0 ? "tcp" : "ipc";
    printf("{\"bench\":\"zmq\",\"transport\":\"%s\",\"curve\":%s,\"size\":%zu,"
           "\"n\":%ld,\"per_s\":%.0f}\n",
           transport, curve ? "true" : "false", size, got,
           got > 1 ? bench_rate((uint64_t)(got - 1), last - first) : 0.0);
    zmq_close(s);
    zmq_ctx_term(ctx);
    if (strncmp(endpoint, "ipc://", 6) == 0)
        unlink(endpoint + 6);
    return got == count && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
