/*
 * bench_codec - the cost per event of kaohe's wire codec (kh_codec.h:
 * protobuf-c underneath) and of parsing an event's JSON line
 * (kh_event.h), the per-event CPU work of the ingest and the scorer.
 *
 *   bench_codec EVENTS.jsonl [ITERATIONS]
 *
 * Takes up to 1000 events of the file (a simulated stream: every type in
 * its proportion), parses each line once, and then, ITERATIONS times over
 * the set (default 200): encodes and decodes every event (codec), and
 * parses every line (json). One JSON line each: {"bench":"codec",
 * "what":...,"n":...,"ns_per_event":...,"bytes":...} where bytes is the
 * mean encoded (codec) or line (json) size.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "kh_codec.h"
#include "kh_error.h"
#include "kh_event.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_codec EVENTS.jsonl [ITERATIONS]\n");
        return 2;
    }
    int iters = argc > 2 ? atoi(argv[2]) : 200;
    bench_lines_t lines;
    if (bench_read_lines(argv[1], 1000, &lines) != 0 || lines.n == 0) {
        fprintf(stderr, "bench_codec: no events in %s\n", argv[1]);
        return 1;
    }
    kh_event_t *evs = calloc(lines.n, sizeof *evs);
    size_t n = 0, bytes = 0, line_bytes = 0;
    for (size_t i = 0; evs && i < lines.n; i++) {
        kh_event_init(&evs[n]);
        if (kh_event_parse_json(lines.v[i], lines.len[i], &evs[n]) == KH_OK) {
            uint8_t *buf;
            size_t len;
            if (kh_codec_event_encode(&evs[n], &buf, &len) == KH_OK) {
                bytes += len;
                free(buf);
            }
            line_bytes += lines.len[i];
            n++;
        } else {
            kh_event_clear(&evs[n]);
        }
    }
    if (n == 0)
        return 1;
    uint64_t ops = 0;
    int64_t t0 = bench_now_ns();
    for (int it = 0; it < iters; it++)
        for (size_t i = 0; i < n; i++) {
            uint8_t *buf;
            size_t len;
            kh_event_t back;
            kh_event_init(&back);
            if (kh_codec_event_encode(&evs[i], &buf, &len) != KH_OK ||
                kh_codec_event_decode(buf, len, &back) != KH_OK)
                return 1;
            kh_event_clear(&back);
            free(buf);
            ops++;
        }
    int64_t t1 = bench_now_ns();
    printf("{\"bench\":\"codec\",\"what\":\"encode+decode\",\"n\":%llu,"
           "\"ns_per_event\":%.0f,\"bytes\":%zu}\n",
           (unsigned long long)ops, (double)(t1 - t0) / (double)ops, bytes / n);
    ops = 0;
    t0 = bench_now_ns();
    for (int it = 0; it < iters; it++)
        for (size_t i = 0; i < lines.n; i++) {
            kh_event_t ev;
            kh_event_init(&ev);
            (void)kh_event_parse_json(lines.v[i], lines.len[i], &ev);
            kh_event_clear(&ev);
            ops++;
        }
    t1 = bench_now_ns();
    printf("{\"bench\":\"codec\",\"what\":\"json_parse\",\"n\":%llu,"
           "\"ns_per_event\":%.0f,\"bytes\":%zu}\n",
           (unsigned long long)ops, (double)(t1 - t0) / (double)ops, line_bytes / n);
    for (size_t i = 0; i < n; i++)
        kh_event_clear(&evs[i]);
    free(evs);
    bench_lines_free(&lines);
    return 0;
}
