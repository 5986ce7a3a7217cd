/*
 * kh_flood - a hostile source, for the flood tests: sends the lines of a
 * file to an ingest as fast as the socket takes them, over and over, for a
 * number of seconds, never waiting for an answer (unlike kaohe feed, which
 * keeps a window), and counts the answers that come back (one per event;
 * a message may carry several).
 *
 *   kh_flood DIR IDENTITY ENDPOINT SECONDS FILE
 *
 * IDENTITY is a key in DIR/keys (station-S0001, dispatch, ...), ENDPOINT
 * an ingest's endpoint name (ingest-station). Prints one JSON object:
 * {"sent":N,"answers":N,"outcomes":{"accepted":N,"failed:busy":N,...}}.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "kh_codec.h"
#include "kh_error.h"
#include "kh_keys.h"
#include "kh_proc.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    uint8_t *buf;
    size_t len;
} frame_t;

static int load(const char *path, frame_t **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    *n = 0;
    *out = NULL;
    while ((len = getline(&line, &lcap, f)) > 0) {
        if (line[len - 1] == '\n')
            len--;
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            frame_t *v = realloc(*out, cap * sizeof *v);
            if (!v)
                return -1;
            *out = v;
        }
        frame_t *fr = &(*out)[*n];
        if (kh_codec_submit_encode(*n + 1, line, (size_t)len, false, &fr->buf,
                                   &fr->len) != KH_OK)
            return -1;
        (*n)++;
    }
    free(line);
    fclose(f);
    return *n ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: kh_flood DIR IDENTITY ENDPOINT SECONDS FILE\n");
        return 2;
    }
    const char *dir = argv[1], *who = argv[2], *name = argv[3], *file = argv[5];
    double secs = atof(argv[4]);
    frame_t *lines;
    size_t nlines;
    if (load(file, &lines, &nlines)) {
        fprintf(stderr, "kh_flood: cannot read %s\n", file);
        return 1;
    }
    kh_keypair_t server, me;
    char ep[600];
    if (kh_keys_load(dir, "server", &server) || kh_keys_load(dir, who, &me) ||
        kh_endpoint(ep, sizeof ep, dir, name)) {
        fprintf(stderr, "kh_flood: no keys for %s in %s\n", who, dir);
        return 1;
    }
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server.pub, 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, me.pub, 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, me.sec, 40);
    if (zmq_connect(s, ep) != 0) {
        fprintf(stderr, "kh_flood: cannot connect to %s\n", ep);
        return 1;
    }
    json_t *outcomes = json_object();
    unsigned long long sent = 0, answers = 0;
    size_t next = 0;
    double end = now_s() + secs;
    while (now_s() < end) {
        bool blocked = false;
        for (int k = 0; k < 1000; k++) {
            frame_t *fr = &lines[next];
            if (zmq_send(s, fr->buf, fr->len, ZMQ_DONTWAIT) < 0) {
                blocked = true;
                break;
            }
            sent++;
            next = (next + 1) % nlines;
        }
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) >= 0) {
            kh_ack_t *ov;
            size_t on = 0;
            char key[80];
            if (kh_codec_outcomes_decode(zmq_msg_data(&m), zmq_msg_size(&m), &ov, &on) !=
                KH_OK)
                on = 0;
            for (size_t i = 0; i < on; i++) {
                snprintf(key, sizeof key, "%s%s%s", kh_status_name(ov[i].status),
                         ov[i].reason[0] ? ":" : "", ov[i].reason);
                json_t *c = json_object_get(outcomes, key);
                json_object_set_new(outcomes, key,
                                    json_integer(c ? json_integer_value(c) + 1 : 1));
            }
            if (on)
                free(ov);
            answers += on;
        }
        zmq_msg_close(&m);
        if (blocked) {
            zmq_pollitem_t it = {s, 0, ZMQ_POLLIN | ZMQ_POLLOUT, 0};
            zmq_poll(&it, 1, 10);
        }
    }
    json_t *o = json_pack("{s:I,s:I,s:o}", "sent", (json_int_t)sent, "answers",
                          (json_int_t)answers, "outcomes", outcomes);
    char *text = json_dumps(o, JSON_COMPACT);
    puts(text ? text : "{}");
    free(text);
    json_decref(o);
    zmq_close(s);
    zmq_ctx_term(ctx);
    for (size_t i = 0; i < nlines; i++)
        free(lines[i].buf);
    free(lines);
    return 0;
}
