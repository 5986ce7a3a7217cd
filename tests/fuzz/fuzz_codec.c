/*
 * fuzz_codec.c - every wire decoder on arbitrary bytes: each must return
 * KH_OK or KH_EPROTO and never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kh_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kh_event_t ev;
    kh_event_init(&ev);
    if (kh_codec_event_decode(data, size, &ev) == 0) {
        /* a decoded event re-encodes */
        uint8_t *buf;
        size_t len;
        if (kh_codec_event_encode(&ev, &buf, &len) == 0)
            free(buf);
    }
    kh_event_clear(&ev);

    kh_submit_t s;
    if (kh_codec_submit_decode(data, size, &s) == 0) {
        for (size_t i = 0; i < s.nbatch; i++) {
            uint64_t tag;
            const uint8_t *line;
            size_t len;
            kh_codec_submit_item(&s, i, &tag, &line, &len);
        }
        kh_codec_submit_free(&s);
    }
    kh_ack_t o, *ov;
    size_t on;
    kh_codec_outcome_decode(data, size, &o);
    if (kh_codec_outcomes_decode(data, size, &ov, &on) == 0)
        free(ov);
    kh_scorer_req_t r;
    if (kh_codec_sreq_decode(data, size, &r) == 0) {
        for (size_t i = 0; r.kind == KH_SREQ_EVENTS && i < r.nevents; i++) {
            uint64_t tag;
            const uint8_t *pb;
            size_t len;
            kh_codec_sreq_item(&r, i, &tag, &pb, &len);
        }
        kh_codec_sreq_free(&r);
    }
    kh_scorer_reply_t rep;
    if (kh_codec_sreply_decode(data, size, &rep) == 0)
        kh_codec_sreply_free(&rep);
    uint64_t no;
    kh_origin_t *ov2;
    size_t n2;
    if (kh_codec_route_decode(data, size, &no, &ov2, &n2) == 0) {
        /* a decoded route re-encodes */
        uint8_t *buf;
        size_t len;
        if (kh_codec_route_encode(no, ov2, n2, &buf, &len) == 0)
            free(buf);
        free(ov2);
    }
    kh_committed_t c;
    if (kh_codec_committed_decode(data, size, &c) == 0)
        kh_codec_committed_free(&c);
    kh_query_t q;
    kh_codec_query_decode(data, size, &q);
    kh_reply_t rr;
    if (kh_codec_reply_decode(data, size, &rr) == 0)
        kh_codec_reply_free(&rr);
    return 0;
}
