/*
 * test_simulate.c - kh_simulate: the same seed gives the same bytes and
 * another seed other bytes; every line parses (kh_event_parse_json) and
 * passes kh_event_check against the written county and the shipped
 * catalog, sent with its source's own key; ids are unique per source
 * except the intentional resends, which repeat their line byte for byte;
 * the stream covers every type, every defect of the catalog, revisions,
 * voids, revocations, reviews ahead of their call, patrol re-reports and
 * UTC times near local midnight; the cut (until) holds; a province of
 * 3000 stations x 12 months is over a million events in seconds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_error.h"
#include "kh_event.h"
#include "kh_simulate.h"

typedef struct text {
    char *buf;
    size_t len;
} text_t;

/* Writes the county and the events of opts into memory. */
static void generate(const kh_simulate_opts_t *o, text_t *county, text_t *events,
                     kh_simulate_stats_t *stats)
{
    kh_sim_t *sim;
    assert_int_equal(kh_simulate_open(&sim, o), KH_OK);
    FILE *f = open_memstream(&county->buf, &county->len);
    assert_non_null(f);
    assert_int_equal(kh_simulate_write_county(sim, f), KH_OK);
    fclose(f);
    f = open_memstream(&events->buf, &events->len);
    assert_non_null(f);
    assert_int_equal(kh_simulate_write_events(sim, f, stats), KH_OK);
    fclose(f);
    kh_simulate_close(&sim);
    assert_null(sim);
}

static kh_catalog_t *load_catalog(void)
{
    kh_catalog_t *cat = NULL;
    char err[256];
    int rc = kh_catalog_load(&cat, KH_SOURCE_DIR "/rules/catalog.json", err, sizeof err);
    if (rc != KH_OK)
        fprintf(stderr, "catalog: %s\n", err);
    assert_int_equal(rc, KH_OK);
    return cat;
}

static void test_deterministic(void **state)
{
    (void)state;
    kh_simulate_opts_t o;
    kh_simulate_opts_init(&o);
    text_t c1, e1, c2, e2, c3, e3;
    kh_simulate_stats_t s1, s2;
    generate(&o, &c1, &e1, &s1);
    generate(&o, &c2, &e2, &s2);
    assert_int_equal(c1.len, c2.len);
    assert_memory_equal(c1.buf, c2.buf, c1.len);
    assert_int_equal(e1.len, e2.len);
    assert_memory_equal(e1.buf, e2.buf, e1.len);
    assert_memory_equal(&s1, &s2, sizeof s1);

    /* writing twice from one open generator gives the same bytes too */
    kh_sim_t *sim;
    assert_int_equal(kh_simulate_open(&sim, &o), KH_OK);
    for (int i = 0; i < 2; i++) {
        text_t again;
        FILE *f = open_memstream(&again.buf, &again.len);
        assert_int_equal(kh_simulate_write_events(sim, f, NULL), KH_OK);
        fclose(f);
        assert_int_equal(again.len, e1.len);
        assert_memory_equal(again.buf, e1.buf, e1.len);
        free(again.buf);
    }
    kh_simulate_close(&sim);

    o.seed = 2;
    generate(&o, &c3, &e3, NULL);
    assert_true(e3.len != e1.len || memcmp(e3.buf, e1.buf, e1.len) != 0);
    free(c1.buf);
    free(e1.buf);
    free(c2.buf);
    free(e2.buf);
    free(c3.buf);
    free(e3.buf);
}

static void test_bad_options(void **state)
{
    (void)state;
    kh_simulate_opts_t o;
    kh_sim_t *sim = (kh_sim_t *)&o; /* must come back NULL */
    kh_simulate_opts_init(&o);
    o.first_month = 5;
    o.last_month = 4;
    assert_int_equal(kh_simulate_open(&sim, &o), KH_EINVAL);
    assert_null(sim);
    kh_simulate_opts_init(&o);
    o.last_month = 13;
    assert_int_equal(kh_simulate_open(&sim, &o), KH_EINVAL);
    kh_simulate_opts_init(&o);
    o.scale = 0;
    assert_int_equal(kh_simulate_open(&sim, &o), KH_EINVAL);
    o.scale = NAN;
    assert_int_equal(kh_simulate_open(&sim, &o), KH_EINVAL);
    kh_simulate_opts_init(&o);
    o.stations = KH_SIMULATE_MAX_STATIONS + 1;
    assert_int_equal(kh_simulate_open(&sim, &o), KH_EINVAL);
    kh_simulate_opts_init(&o);
    o.year = 1969;
    assert_int_equal(kh_simulate_open(&sim, &o), KH_EINVAL);
    assert_int_equal(kh_simulate_open(&sim, NULL), KH_EINVAL);
    kh_simulate_close(NULL);
}

/* What the stream shows, gathered line by line. */
typedef struct seen {
    json_t *ids;     /* "source/id" -> the line */
    json_t *calls;   /* case_id -> {"kind","location","station"} of rev 0 */
    json_t *patrols; /* "station/patrol_id" -> first event id */
    json_t *defects; /* "item/defect" -> true */
    size_t lines, duplicates, types[KH_EV_COUNT], categories[KH_CAT_COUNT];
    size_t z_times, midnight_z_calls, review_first, revised, voided, moved;
    size_t revoked, caught, arrested, rereports, not_in_platform, onsite;
    size_t low_occupancy, unposted, no_images, incomplete_plans, self_scores;
    size_t metrics[KH_METRIC_COUNT];
    kh_usec_t max_time;
} seen_t;

/* Whether the len bytes at p contain needle. */
static bool has(const char *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, needle, n) == 0)
            return true;
    return false;
}

/* The identity that sends an event in production: its source's key. */
static void sender_of(const kh_event_t *ev, char *buf, size_t cap)
{
    if (ev->source == KH_SRC_STATION)
        snprintf(buf, cap, "station-%s", ev->station);
    else
        snprintf(buf, cap, "%s", kh_source_name((int)ev->source));
}

static void scan(const text_t *county_text, const text_t *events, seen_t *s)
{
    kh_county_t *county;
    char err[256];
    int rc =
        kh_county_load_mem(&county, county_text->buf, county_text->len, err, sizeof err);
    if (rc != KH_OK)
        fprintf(stderr, "county: %s\n", err);
    assert_int_equal(rc, KH_OK);
    kh_catalog_t *cat = load_catalog();
    kh_usec_t now = kh_time_now();

    memset(s, 0, sizeof *s);
    s->ids = json_object();
    s->calls = json_object();
    s->patrols = json_object();
    s->defects = json_object();
    const char *p = events->buf, *end = events->buf + events->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl); /* every line ends in a newline */
        size_t len = (size_t)(nl - p);
        s->lines++;
        kh_event_t ev;
        kh_event_init(&ev);
        rc = kh_event_parse_json(p, len, &ev);
        if (rc != KH_OK)
            fprintf(stderr, "parse %s: %.*s\n", kh_err_name(rc), (int)len, p);
        assert_int_equal(rc, KH_OK);
        char sender[64];
        sender_of(&ev, sender, sizeof sender);
        rc = kh_event_check(&ev, county, cat, sender, now);
        if (rc != KH_OK)
            fprintf(stderr, "check %s: %.*s\n", kh_err_name(rc), (int)len, p);
        assert_int_equal(rc, KH_OK);
        assert_true(strlen(ev.id) >= 1 && strlen(ev.id) <= KH_ID_MAX);
        if (ev.time > s->max_time)
            s->max_time = ev.time;

        char key[160];
        snprintf(key, sizeof key, "%s/%s", kh_source_name((int)ev.source), ev.id);
        json_t *prev = json_object_get(s->ids, key);
        if (prev) {
            /* a resend: the same line, byte for byte */
            assert_int_equal(json_string_length(prev), len);
            assert_memory_equal(json_string_value(prev), p, len);
            s->duplicates++;
            kh_event_clear(&ev);
            p = nl + 1;
            continue;
        }
        json_object_set_new(s->ids, key, json_stringn(p, len));
        s->types[ev.type]++;
        if (has(p, len, "Z\", \"station\""))
            s->z_times++;

        switch (ev.type) {
        case KH_EV_CALL: {
            json_t *c = json_object_get(s->calls, ev.case_id);
            if (ev.rev == 0) {
                assert_null(c);
                json_object_set_new(s->calls, ev.case_id,
                                    json_pack("{s:i,s:i,s:s}", "kind", (int)ev.case_kind,
                                              "location", (int)ev.location, "station",
                                              ev.station));
                /* local 00:xx written in UTC is 16:xx the day before */
                if (has(p, len, "T16:") && has(p, len, "Z\", "))
                    s->midnight_z_calls++;
            } else {
                assert_non_null(c);
                if (ev.void_)
                    s->voided++;
                else if (strcmp(json_string_value(json_object_get(c, "station")),
                                ev.station) != 0)
                    s->moved++;
                else if (json_integer_value(json_object_get(c, "kind")) != ev.case_kind ||
                         json_integer_value(json_object_get(c, "location")) !=
                             ev.location)
                    s->revised++;
            }
            break;
        }
        case KH_EV_LEGAL_REVIEW:
            if (!json_object_get(s->calls, ev.case_id))
                s->review_first++;
            if (ev.outcome == KH_OUT_REVOKED)
                s->revoked++;
            else if (ev.outcome == KH_OUT_CAUGHT_IN_ACT)
                s->caught++;
            else
                s->arrested++;
            break;
        case KH_EV_PATROL: {
            char pk[160];
            snprintf(pk, sizeof pk, "%s/%s", ev.station, ev.patrol_id);
            if (json_object_get(s->patrols, pk))
                s->rereports++;
            else
                json_object_set_new(s->patrols, pk, json_string(ev.id));
            break;
        }
        case KH_EV_PLACE:
            s->categories[ev.category]++;
            break;
        case KH_EV_INSPECTION:
            s->not_in_platform += !ev.in_platform;
            s->onsite += ev.inspection_kind == KH_INSP_ONSITE;
            break;
        case KH_EV_OCCUPANCY:
            s->low_occupancy += ev.rate < KH_MILLI(10);
            break;
        case KH_EV_NOTICE:
            s->unposted += !ev.posted;
            break;
        case KH_EV_EDUCATION:
            s->no_images += !ev.has_images;
            break;
        case KH_EV_PATROL_PLAN:
            s->incomplete_plans +=
                !(ev.zones && ev.routes && ev.focal_points && ev.time_slots && ev.forces);
            break;
        case KH_EV_RATE:
            s->metrics[ev.metric]++;
            break;
        case KH_EV_FINDING: {
            char dk[64];
            snprintf(dk, sizeof dk, "%s/%s", ev.item, ev.defect);
            json_object_set_new(s->defects, dk, json_true());
            break;
        }
        case KH_EV_SELF_SCORE:
            s->self_scores++;
            break;
        default:
            break;
        }
        kh_event_clear(&ev);
        p = nl + 1;
    }

    /* every defect the catalog names shows up in some finding */
    for (size_t i = 0; i < cat->nitems; i++)
        for (size_t d = 0; d < cat->items[i].ndefects; d++) {
            char dk[64];
            snprintf(dk, sizeof dk, "%s/%s", cat->items[i].id,
                     cat->items[i].defects[d].code);
            if (!json_object_get(s->defects, dk))
                fprintf(stderr, "no finding of %s\n", dk);
            assert_non_null(json_object_get(s->defects, dk));
        }
    kh_catalog_free(&cat);
    kh_county_free(&county);
}

static void seen_free(seen_t *s)
{
    json_decref(s->ids);
    json_decref(s->calls);
    json_decref(s->patrols);
    json_decref(s->defects);
}

static void test_county_stream(void **state)
{
    (void)state;
    kh_simulate_opts_t o;
    kh_simulate_opts_init(&o);
    text_t county, events;
    kh_simulate_stats_t st;
    generate(&o, &county, &events, &st);

    seen_t s;
    scan(&county, &events, &s);
    assert_int_equal(s.lines, st.lines);
    assert_int_equal(s.duplicates, st.duplicates);
    assert_true(s.duplicates > 0);
    /* a realistic county's year: a few thousand events */
    assert_in_range(s.lines, 3000, 20000);
    for (int t = 0; t < KH_EV_COUNT; t++) {
        if (s.types[t] == 0)
            fprintf(stderr, "no %s\n", kh_evtype_name(t));
        assert_true(s.types[t] > 0);
    }
    for (int c = 0; c < KH_CAT_COUNT; c++)
        assert_true(s.categories[c] > 0);
    for (int m = 0; m < KH_METRIC_COUNT; m++)
        assert_true(s.metrics[m] > 0);
    assert_true(s.z_times > 0);
    assert_true(s.midnight_z_calls > 0);
    assert_true(s.review_first > 0);
    assert_true(s.revised > 0);
    assert_true(s.voided > 0);
    assert_true(s.moved > 0);
    assert_true(s.revoked > 0);
    assert_true(s.caught > 0);
    assert_true(s.arrested > 0);
    assert_true(s.rereports > 0);
    assert_true(s.not_in_platform > 0);
    assert_true(s.onsite > 0);
    assert_true(s.low_occupancy > 0);
    assert_true(s.unposted > 0);
    assert_true(s.no_images > 0);
    assert_true(s.incomplete_plans > 0);
    assert_true(s.self_scores > 0);
    /* prevention patrols at county rates: 12 stations x 12 months x ~7 */
    assert_in_range(s.types[KH_EV_PATROL], 12 * 12 * 6, 12 * 12 * 16);
    seen_free(&s);

    /* the county has 12 stations, 3 urban, classes mixed */
    kh_county_t *c;
    assert_int_equal(kh_county_load_mem(&c, county.buf, county.len, NULL, 0), KH_OK);
    assert_int_equal(c->nstations, 12);
    int urban = 0, klass[4] = {0};
    for (size_t i = 0; i < c->nstations; i++) {
        urban += c->stations[i].urban;
        klass[c->stations[i].klass]++;
    }
    assert_int_equal(urban, 3);
    assert_true(klass[1] > 0 && klass[2] > 0 && klass[3] > 0);
    kh_county_free(&c);
    free(county.buf);
    free(events.buf);
}

static void test_province_and_cut(void **state)
{
    (void)state;
    kh_simulate_opts_t o;
    kh_simulate_opts_init(&o);
    o.seed = 99;
    o.stations = 40;
    o.year = 2025;
    o.first_month = 3;
    o.last_month = 7;
    /* cut at 2025-06-15 00:00 county time */
    o.until = (kh_usec_t)(kh_day_from_civil(2025, 6, 15) * INT64_C(86400) - 8 * 3600) *
              KH_USEC_PER_SEC;
    text_t county, events;
    kh_simulate_stats_t st;
    generate(&o, &county, &events, &st);

    kh_county_t *c;
    assert_int_equal(kh_county_load_mem(&c, county.buf, county.len, NULL, 0), KH_OK);
    assert_int_equal(c->nstations, 40);
    assert_string_equal(c->stations[0].code, "S0001");
    assert_string_equal(c->stations[39].code, "S0040");
    assert_true(c->stations[0].urban && c->stations[2].urban);
    assert_false(c->stations[3].urban);
    kh_county_free(&c);

    seen_t s;
    scan(&county, &events, &s);
    assert_true(s.max_time <= o.until);
    assert_true(s.max_time > o.until - 2 * KH_USEC_PER_DAY);
    seen_free(&s);
    free(county.buf);
    free(events.buf);
}

static void test_scale(void **state)
{
    (void)state;
    kh_simulate_opts_t o;
    kh_simulate_opts_init(&o);
    o.first_month = o.last_month = 5;
    text_t c1, e1, c2, e2;
    kh_simulate_stats_t s1, s2;
    generate(&o, &c1, &e1, &s1);
    o.scale = 3.0;
    generate(&o, &c2, &e2, &s2);
    /* the counted activities triple, the obligations stay */
    assert_true(s2.by_type[KH_EV_PATROL] > 25 * s1.by_type[KH_EV_PATROL] / 10);
    assert_true(s2.by_type[KH_EV_CALL] > 25 * s1.by_type[KH_EV_CALL] / 10);
    assert_true(s2.by_type[KH_EV_OCCUPANCY] * 10 < s1.by_type[KH_EV_OCCUPANCY] * 12);
    assert_true(s2.by_type[KH_EV_OCCUPANCY] * 10 > s1.by_type[KH_EV_OCCUPANCY] * 8);
    free(c1.buf);
    free(e1.buf);
    free(c2.buf);
    free(e2.buf);
}

/* A province of 3000 stations for a year: over a million events, fast. */
static void test_province_volume(void **state)
{
    (void)state;
    kh_simulate_opts_t o;
    kh_simulate_opts_init(&o);
    o.stations = 3000;
    kh_sim_t *sim;
    assert_int_equal(kh_simulate_open(&sim, &o), KH_OK);
    assert_int_equal(kh_simulate_nstations(sim), 3000);
    assert_string_equal(kh_simulate_station_code(sim, 2999), "S3000");
    assert_null(kh_simulate_station_code(sim, 3000));
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kh_simulate_stats_t st;
    assert_int_equal(kh_simulate_write_events(sim, devnull, &st), KH_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fclose(devnull);
    kh_simulate_close(&sim);
    double secs =
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "province 3000 x 12: %llu events in %.2f s\n",
            (unsigned long long)st.lines, secs);
    assert_true(st.lines >= 1000000);
    /* "a few seconds" on a release build; generous for sanitizer builds */
    assert_true(secs < 60.0);
}

/* A failing stream is KH_EIO, not a crash. */
static void test_write_error(void **state)
{
    (void)state;
    kh_simulate_opts_t o;
    kh_simulate_opts_init(&o);
    kh_sim_t *sim;
    assert_int_equal(kh_simulate_open(&sim, &o), KH_OK);
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        assert_int_equal(kh_simulate_write_events(sim, full, NULL), KH_EIO);
        assert_int_equal(kh_simulate_write_county(sim, full), KH_EIO);
        fclose(full);
    }
    kh_simulate_close(&sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic), cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_county_stream), cmocka_unit_test(test_province_and_cut),
        cmocka_unit_test(test_scale),         cmocka_unit_test(test_province_volume),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
