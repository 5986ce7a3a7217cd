/*
 * test_codec.c - the wire codec: every event type round-trips through
 * protobuf unchanged; encoding is deterministic; undecodable or
 * out-of-set input is KH_EPROTO, never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kh_codec.h"
#include "kh_error.h"

static void fill_common(kh_event_t *ev, kh_evtype_t type, kh_source_t src)
{
    kh_event_init(ev);
    ev->type = type;
    ev->source = src;
    snprintf(ev->id, sizeof ev->id, "id-%d", (int)type);
    snprintf(ev->station, sizeof ev->station, "NM");
    ev->time = INT64_C(1706752800) * KH_USEC_PER_SEC + 123456;
}

/* One event of each type with every field set away from its default. */
static void make_event(kh_event_t *ev, kh_evtype_t type)
{
    fill_common(ev, type, kh_evtype_source(type));
    ev->note = strdup("备注 note");
    switch (type) {
    case KH_EV_CALL:
        snprintf(ev->case_id, sizeof ev->case_id, "K1");
        ev->case_kind = KH_CASE_CAR_THEFT;
        ev->location = KH_LOC_MARKET;
        ev->rev = 3;
        ev->void_ = true;
        break;
    case KH_EV_LEGAL_REVIEW:
        snprintf(ev->case_id, sizeof ev->case_id, "K1");
        ev->outcome = KH_OUT_SUSPECTS_ARRESTED;
        ev->suspects = 2;
        ev->rev = 1;
        break;
    case KH_EV_PLACE:
        snprintf(ev->place_id, sizeof ev->place_id, "H1");
        ev->category = KH_CAT_HOTEL;
        ev->name = strdup("南门宾馆");
        ev->opened = kh_day_from_civil(2023, 5, 1);
        ev->closed = kh_day_from_civil(2025, 1, 1);
        break;
    case KH_EV_INSPECTION:
        snprintf(ev->place_id, sizeof ev->place_id, "H1");
        ev->inspection_kind = KH_INSP_ONSITE;
        ev->in_platform = true;
        break;
    case KH_EV_OCCUPANCY:
        snprintf(ev->place_id, sizeof ev->place_id, "H1");
        ev->month = kh_period_nth(KH_PK_MONTH, 2024, 1);
        ev->rate = 8500;
        break;
    case KH_EV_PATROL:
        snprintf(ev->patrol_id, sizeof ev->patrol_id, "P1");
        ev->patrol_kind = KH_PATROL_TEAM;
        ev->has_record = true;
        ev->has_images = true;
        break;
    case KH_EV_NOTICE:
        ev->posted = true;
        break;
    case KH_EV_EDUCATION:
        ev->has_record = true;
        ev->has_images = true;
        break;
    case KH_EV_CAMPAIGN:
        ev->has_record = true;
        break;
    case KH_EV_PATROL_PLAN:
        ev->quarter = kh_period_nth(KH_PK_QUARTER, 2024, 2);
        ev->zones = ev->routes = ev->time_slots = ev->forces = true;
        break;
    case KH_EV_RATE:
        ev->metric = KH_METRIC_UNIT_INSTALL_RATE;
        ev->rate = 78100;
        break;
    case KH_EV_FINDING:
        snprintf(ev->item, sizeof ev->item, "4.5");
        snprintf(ev->defect, sizeof ev->defect, "unclear");
        snprintf(ev->place_id, sizeof ev->place_id, "X");
        ev->count = 2;
        ev->has_points = true;
        ev->points = 500;
        break;
    case KH_EV_SELF_SCORE:
        snprintf(ev->item, sizeof ev->item, "1.2");
        ev->points = 1500;
        break;
    default:
        break;
    }
}

static void assert_events_equal(const kh_event_t *a, const kh_event_t *b)
{
    assert_int_equal(a->source, b->source);
    assert_int_equal(a->type, b->type);
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->station, b->station);
    assert_true(a->time == b->time);
    assert_string_equal(a->note ? a->note : "", b->note ? b->note : "");
    assert_string_equal(a->case_id, b->case_id);
    assert_int_equal(a->case_kind, b->case_kind);
    assert_int_equal(a->location, b->location);
    assert_true(a->rev == b->rev);
    assert_int_equal(a->void_, b->void_);
    assert_int_equal(a->outcome, b->outcome);
    assert_int_equal(a->suspects, b->suspects);
    assert_string_equal(a->place_id, b->place_id);
    assert_int_equal(a->category, b->category);
    assert_string_equal(a->name ? a->name : "", b->name ? b->name : "");
    assert_int_equal(a->opened, b->opened);
    assert_int_equal(a->closed, b->closed);
    assert_int_equal(a->inspection_kind, b->inspection_kind);
    assert_int_equal(a->in_platform, b->in_platform);
    assert_memory_equal(&a->month, &b->month, sizeof a->month);
    assert_true(a->rate == b->rate);
    assert_string_equal(a->patrol_id, b->patrol_id);
    assert_int_equal(a->patrol_kind, b->patrol_kind);
    assert_int_equal(a->has_record, b->has_record);
    assert_int_equal(a->has_images, b->has_images);
    assert_int_equal(a->posted, b->posted);
    assert_memory_equal(&a->quarter, &b->quarter, sizeof a->quarter);
    assert_int_equal(a->zones, b->zones);
    assert_int_equal(a->focal_points, b->focal_points);
    assert_int_equal(a->metric, b->metric);
    assert_string_equal(a->item, b->item);
    assert_string_equal(a->defect, b->defect);
    assert_int_equal(a->count, b->count);
    assert_true(a->points == b->points);
    assert_int_equal(a->has_points, b->has_points);
}

static void test_event_round_trip(void **state)
{
    (void)state;
    for (int t = 0; t < KH_EV_COUNT; t++) {
        kh_event_t ev, back;
        make_event(&ev, (kh_evtype_t)t);
        uint8_t *buf, *buf2;
        size_t len, len2;
        assert_int_equal(kh_codec_event_encode(&ev, &buf, &len), KH_OK);
        kh_event_init(&back);
        assert_int_equal(kh_codec_event_decode(buf, len, &back), KH_OK);
        assert_events_equal(&ev, &back);
        /* deterministic: the scorer hashes these bytes for conflicts */
        assert_int_equal(kh_codec_event_encode(&back, &buf2, &len2), KH_OK);
        assert_int_equal(len, len2);
        assert_memory_equal(buf, buf2, len);
        free(buf);
        free(buf2);
        kh_event_clear(&ev);
        kh_event_clear(&back);
    }
}

static void test_event_garbage(void **state)
{
    (void)state;
    kh_event_t ev;
    kh_event_init(&ev);
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(kh_codec_event_decode(junk, sizeof junk, &ev), KH_EPROTO);
    kh_event_clear(&ev);

    /* A valid encoding whose type disagrees with its body is refused. */
    kh_event_t call;
    make_event(&call, KH_EV_CALL);
    uint8_t *buf;
    size_t len;
    assert_int_equal(kh_codec_event_encode(&call, &buf, &len), KH_OK);
    /* field 2 (type) is the second byte pair: source=1 tag 0x08, type tag 0x10 */
    for (size_t i = 0; i + 1 < len; i++)
        if (buf[i] == 0x10 && buf[i + 1] == 1) {
            buf[i + 1] = 7; /* NOTICE */
            break;
        }
    kh_event_init(&ev);
    assert_int_equal(kh_codec_event_decode(buf, len, &ev), KH_EPROTO);
    kh_event_clear(&ev);
    /* every truncation of a valid message fails cleanly or decodes */
    for (size_t cut = 0; cut < len; cut++) {
        kh_event_init(&ev);
        int rc = kh_codec_event_decode(buf, cut, &ev);
        assert_true(rc == KH_OK || rc == KH_EPROTO);
        kh_event_clear(&ev);
    }
    free(buf);
    kh_event_clear(&call);
}

static void test_messages(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    kh_submit_t s;
    assert_int_equal(kh_codec_submit_encode(42, "{}", 2, false, &buf, &len), KH_OK);
    assert_int_equal(kh_codec_submit_decode(buf, len, &s), KH_OK);
    assert_true(s.tag == 42 && !s.ping && s.len == 2);
    assert_memory_equal(s.line, "{}", 2);
    kh_codec_submit_free(&s);
    free(buf);

    kh_ack_t o = {.tag = 7, .status = KH_STATUS_REJECTED, .seq = 0}, o2;
    snprintf(o.reason, sizeof o.reason, "conflict");
    snprintf(o.id, sizeof o.id, "c1");
    assert_int_equal(kh_codec_outcome_encode(&o, &buf, &len), KH_OK);
    assert_int_equal(kh_codec_outcome_decode(buf, len, &o2), KH_OK);
    assert_true(o2.tag == 7 && o2.status == KH_STATUS_REJECTED);
    assert_string_equal(o2.reason, "conflict");
    assert_string_equal(o2.id, "c1");
    free(buf);

    kh_query_t q = {.tag = 9, .kind = KH_Q_EXPLAIN, .year = 2024}, q2;
    snprintf(q.station, sizeof q.station, "NM");
    snprintf(q.item, sizeof q.item, "5.2.3");
    assert_int_equal(kh_codec_query_encode(&q, &buf, &len), KH_OK);
    assert_int_equal(kh_codec_query_decode(buf, len, &q2), KH_OK);
    assert_memory_equal(&q, &q2, sizeof q);
    free(buf);

    kh_scorer_req_t r = {.tag = 3, .kind = KH_SREQ_CLOSE, .close_through = 19782}, r2;
    assert_int_equal(kh_codec_sreq_encode(&r, &buf, &len), KH_OK);
    assert_int_equal(kh_codec_sreq_decode(buf, len, &r2), KH_OK);
    assert_true(r2.kind == KH_SREQ_CLOSE && r2.close_through == 19782 && r2.tag == 3);
    kh_codec_sreq_free(&r2);
    free(buf);

    char codes[2][KH_CODE_MAX + 1] = {"NM", "BM"};
    kh_committed_t c = {.seq = 5,
                        .batch = 2,
                        .closed_through = KH_DAY_NONE,
                        .stations = codes,
                        .nstations = 2},
                   c2;
    assert_int_equal(kh_codec_committed_encode(&c, &buf, &len), KH_OK);
    assert_int_equal(kh_codec_committed_decode(buf, len, &c2), KH_OK);
    assert_true(c2.seq == 5 && c2.batch == 2 && c2.nstations == 2 &&
                c2.closed_through == KH_DAY_NONE);
    assert_string_equal(c2.stations[1], "BM");
    kh_codec_committed_free(&c2);
    free(buf);

    /* an out-of-set query kind is refused */
    const uint8_t bad_kind[] = {0x10, 0x63};
    assert_int_equal(kh_codec_query_decode(bad_kind, sizeof bad_kind, &q2), KH_EPROTO);
}

/* Many events per message: Submit lines, outcomes, scorer batches. */
static void test_batches(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    const uint64_t tags[3] = {5, 6, 9};
    const char *lines[3] = {"{\"a\":1}", "", "{}"};
    const size_t lens[3] = {7, 0, 2};
    kh_submit_t s;
    assert_int_equal(kh_codec_submit_batch_encode(tags, lines, lens, 3, &buf, &len),
                     KH_OK);
    assert_int_equal(kh_codec_submit_decode(buf, len, &s), KH_OK);
    assert_int_equal(s.nbatch, 3);
    for (size_t i = 0; i < 3; i++) {
        uint64_t tag;
        const uint8_t *line;
        size_t n;
        kh_codec_submit_item(&s, i, &tag, &line, &n);
        assert_true(tag == tags[i] && n == lens[i]);
        assert_memory_equal(line, lines[i], n);
    }
    kh_codec_submit_free(&s);
    free(buf);

    kh_ack_t v[3] = {{.tag = 5, .status = KH_STATUS_ACCEPTED, .seq = 11},
                     {.tag = 6, .status = KH_STATUS_REJECTED},
                     {.tag = 9, .status = KH_STATUS_DUPLICATE, .seq = 2}};
    snprintf(v[1].reason, sizeof v[1].reason, "malformed");
    kh_ack_t *got;
    size_t n;
    assert_int_equal(kh_codec_outcomes_encode(v, 3, &buf, &len), KH_OK);
    assert_int_equal(kh_codec_outcomes_decode(buf, len, &got, &n), KH_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(got, v, sizeof v);
    free(got);
    free(buf);
    /* one outcome is the plain form, which both decoders read */
    kh_ack_t one;
    assert_int_equal(kh_codec_outcomes_encode(v, 1, &buf, &len), KH_OK);
    assert_int_equal(kh_codec_outcome_decode(buf, len, &one), KH_OK);
    assert_int_equal(kh_codec_outcomes_decode(buf, len, &got, &n), KH_OK);
    assert_true(n == 1 && got[0].tag == 5 && one.seq == 11);
    free(got);
    free(buf);

    const uint8_t e1[] = {1, 2, 3}, e2[] = {4};
    const uint8_t *evs[2] = {e1, e2};
    const size_t elens[2] = {3, 1};
    const uint64_t etags[2] = {70, 71};
    kh_scorer_req_t r = {.tag = 70,
                         .kind = KH_SREQ_EVENTS,
                         .nevents = 2,
                         .ev_tags = etags,
                         .evs = evs,
                         .ev_lens = elens},
                    r2;
    assert_int_equal(kh_codec_sreq_encode(&r, &buf, &len), KH_OK);
    assert_int_equal(kh_codec_sreq_decode(buf, len, &r2), KH_OK);
    assert_true(r2.kind == KH_SREQ_EVENTS && r2.nevents == 2);
    for (size_t i = 0; i < 2; i++) {
        uint64_t tag;
        const uint8_t *ev;
        size_t elen;
        kh_codec_sreq_item(&r2, i, &tag, &ev, &elen);
        assert_true(tag == etags[i] && elen == elens[i]);
        assert_memory_equal(ev, evs[i], elen);
    }
    kh_codec_sreq_free(&r2);
    free(buf);

    kh_scorer_reply_t rep = {.tag = 70, .last_seq = 12, .outcomes = v, .noutcomes = 3},
                      rep2;
    assert_int_equal(kh_codec_sreply_encode(&rep, &buf, &len), KH_OK);
    assert_int_equal(kh_codec_sreply_decode(buf, len, &rep2), KH_OK);
    assert_true(rep2.noutcomes == 3 && rep2.last_seq == 12);
    assert_memory_equal(rep2.outcomes, v, sizeof v);
    kh_codec_sreply_free(&rep2);
    assert_null(rep2.outcomes);
    free(buf);
}

static size_t put_varint(uint8_t *b, size_t v)
{
    size_t n = 0;
    for (; v >= 0x80; v >>= 7)
        b[n++] = (uint8_t)(0x80 | (v & 0x7f));
    b[n++] = (uint8_t)v;
    return n;
}

/* A Route of one Origin with the given peer length, key and event count,
 * built by hand (the encoder cannot make the bad ones). */
static size_t route_bytes(uint8_t *b, size_t peer_len, const char *key, uint32_t events)
{
    size_t klen = strlen(key), o = 0, n = 0;
    uint8_t origin[600];
    origin[o++] = 0x0a; /* peer */
    o += put_varint(origin + o, peer_len);
    memset(origin + o, 'p', peer_len);
    o += peer_len;
    origin[o++] = 0x12; /* key */
    origin[o++] = (uint8_t)klen;
    memcpy(origin + o, key, klen);
    o += klen;
    origin[o++] = 0x18; /* events */
    origin[o++] = (uint8_t)events;
    b[n++] = 0x08; /* no = 7 */
    b[n++] = 7;
    b[n++] = 0x12; /* origins */
    n += put_varint(b + n, o);
    memcpy(b + n, origin, o);
    return n + o;
}

/* The envelope of a coalesced scorer request, and what its decoder
 * refuses. */
static void test_route(void **state)
{
    (void)state;
    kh_origin_t v[3];
    memset(v, 0, sizeof v);
    const size_t plen[3] = {1, 5, KH_PEER_MAX};
    for (size_t i = 0; i < 3; i++) {
        memset(v[i].peer, (int)('a' + i), plen[i]);
        v[i].peer_len = plen[i];
        snprintf(v[i].key, sizeof v[i].key, "station-S000%zu", i);
        v[i].events = (uint32_t)(i + 1);
        v[i].bytes = (uint32_t)(100 * i);
        v[i].received_us = UINT64_C(1) << (20 + i);
    }
    memset(v[2].key, 'k', KH_KEY_MAX);
    v[2].key[KH_KEY_MAX] = '\0';
    uint8_t *buf;
    size_t len, n;
    uint64_t no;
    kh_origin_t *got;
    assert_int_equal(kh_codec_route_encode(41, v, 3, &buf, &len), KH_OK);
    assert_int_equal(kh_codec_route_decode(buf, len, &no, &got, &n), KH_OK);
    assert_true(no == 41 && n == 3);
    assert_memory_equal(got, v, sizeof v);
    free(got);
    free(buf);

    /* what the decoder refuses, and leaves nothing allocated for */
    uint8_t b[700];
    size_t bl = route_bytes(b, 5, "k", 1);
    assert_int_equal(kh_codec_route_decode(b, bl, &no, &got, &n), KH_OK);
    assert_true(n == 1 && got[0].peer_len == 5 && got[0].events == 1 && no == 7);
    free(got);
    const struct {
        size_t peer_len;
        const char *key;
        uint32_t events;
    } bad[] = {{0, "k", 1}, {KH_PEER_MAX + 1, "k", 1}, {5, "", 1}, {5, "k", 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bl = route_bytes(b, bad[i].peer_len, bad[i].key, bad[i].events);
        assert_int_equal(kh_codec_route_decode(b, bl, &no, &got, &n), KH_EPROTO);
        assert_true(got == NULL && n == 0);
    }
    /* no origin at all; a key over KH_KEY_MAX; not a Route */
    const uint8_t none[] = {0x08, 0x01};
    assert_int_equal(kh_codec_route_decode(none, sizeof none, &no, &got, &n), KH_EPROTO);
    char longkey[KH_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    uint8_t b2[1000];
    size_t klen = strlen(longkey);
    size_t o = 0;
    b2[o++] = 0x12;
    o += put_varint(b2 + o, klen + 10);
    b2[o++] = 0x0a; /* peer "p" */
    b2[o++] = 1;
    b2[o++] = 'p';
    b2[o++] = 0x12; /* key */
    o += put_varint(b2 + o, klen);
    memcpy(b2 + o, longkey, klen);
    o += klen;
    b2[o++] = 0x18;
    b2[o++] = 1;
    b2[o++] = 0x20; /* bytes = 0, to make the length klen + 10 */
    b2[o++] = 0;
    assert_int_equal(kh_codec_route_decode(b2, o, &no, &got, &n), KH_EPROTO);
    const uint8_t junk[] = {0xff, 0xff, 0xff};
    assert_int_equal(kh_codec_route_decode(junk, sizeof junk, &no, &got, &n), KH_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_round_trip),
        cmocka_unit_test(test_event_garbage),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
