/*
 * test_event.c - the event struct, its JSON Lines form and validation
 * (kh_event.h): every type round-trips, every rejection reason has an
 * example, and the reasons come in SPEC order.
 *
 * The rule catalog here is built by hand (kh_catalog_t is a public struct)
 * with the items and defects the cases need, so the test depends only on
 * the event and county modules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_error.h"
#include "kh_event.h"

/* --- fixtures --- */

static kh_defect_t defects_111[] = {
    {.code = "unregistered", .fixed = 100},
    {.code = "not_in_platform", .fixed = 500},
    {.code = "mismatch", .fixed = 100},
};
static kh_defect_t defects_12[] = {
    {.code = "spot_check_failed", .ranged = true, .min = 3000, .max = 5000},
};
static kh_defect_t defects_45[] = {
    {.code = "unclear", .ranged = true, .min = 500, .max = 1000},
};
static kh_defect_t defects_461[] = {
    {.code = "unregistered", .fixed = 100},
    {.code = "late_update", .fixed = 200, .each_time = true},
};
static kh_defect_t defects_524[] = {
    {.code = "ledger_late", .fixed = 2000},
};
static kh_item_t items[] = {
    {.id = "1.1.1", .defects = defects_111, .ndefects = 3},
    {.id = "1.1.2a"},
    {.id = "1.2", .defects = defects_12, .ndefects = 1},
    {.id = "4.5", .defects = defects_45, .ndefects = 1},
    {.id = "4.6.1", .defects = defects_461, .ndefects = 2},
    {.id = "5.2.4", .defects = defects_524, .ndefects = 1},
};
static kh_catalog_t catalog = {.items = items, .nitems = 6};

static kh_county_t *county;
static kh_usec_t now;

static int setup(void **state)
{
    (void)state;
    char err[256];
    int rc = kh_county_load(&county, KH_EXAMPLES_DIR "/county.json", err, sizeof err);
    if (rc != KH_OK) {
        fprintf(stderr, "county: %s\n", err);
        return -1;
    }
    /* "now" for every check: the example's data is all before it. */
    if (kh_time_parse("2024-03-01T00:00:00Z", &now) != KH_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kh_county_free(&county);
    return 0;
}

static int parse(const char *line, kh_event_t *ev)
{
    kh_event_init(ev);
    return kh_event_parse_json(line, strlen(line), ev);
}

/* The whole ingest decision for a line: parse, then check. */
static int judge_as(const char *line, const char *sender)
{
    kh_event_t ev;
    int rc = parse(line, &ev);
    if (rc == KH_OK)
        rc = kh_event_check(&ev, county, &catalog, sender, now);
    kh_event_clear(&ev);
    return rc;
}

static int judge(const char *line)
{
    return judge_as(line, NULL);
}

#define EXPECT(code, line)                                                               \
    do {                                                                                 \
        int rc_ = judge(line);                                                           \
        if (rc_ != (code))                                                               \
            fail_msg("%s: got %s, want %s", line, kh_err_name(rc_), kh_err_name(code));  \
    } while (0)

#define EXPECT_AS(code, sender, line)                                                    \
    do {                                                                                 \
        int rc_ = judge_as(line, sender);                                                \
        if (rc_ != (code))                                                               \
            fail_msg("%s as %s: got %s, want %s", line, sender, kh_err_name(rc_),        \
                     kh_err_name(code));                                                 \
    } while (0)

/* The JSON lines stay one per line, as in a feed. */
/* clang-format off */
/* Lines of every type, with their optional fields in use. */
static const char *const every_type[] = {
    "{\"id\":\"c1\",\"source\":\"dispatch\",\"type\":\"call\",\"time\":\"2024-02-03T10:00:00+08:00\",\"station\":\"NM\",\"case_id\":\"K1\",\"case_kind\":\"pickpocket\",\"location\":\"market\"}",
    "{\"id\":\"c5b\",\"source\":\"dispatch\",\"type\":\"call\",\"time\":\"2024-02-07T10:00:00+08:00\",\"station\":\"XM\",\"case_id\":\"K5\",\"case_kind\":\"snatching\",\"location\":\"shop\",\"rev\":1,\"void\":true,\"note\":\"撤销\"}",
    "{\"id\":\"r1\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-20T10:00:00+08:00\",\"station\":\"NM\",\"case_id\":\"K2\",\"outcome\":\"caught_in_act\"}",
    "{\"id\":\"r2\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-21T10:00:00+08:00\",\"station\":\"NM\",\"case_id\":\"K1\",\"outcome\":\"suspects_arrested\",\"suspects\":2,\"rev\":3}",
    "{\"id\":\"r3\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-22T10:00:00+08:00\",\"station\":\"NM\",\"case_id\":\"K1\",\"outcome\":\"revoked\",\"rev\":4}",
    "{\"id\":\"NM-h\",\"source\":\"station\",\"type\":\"place\",\"time\":\"2024-01-01T09:00:00+08:00\",\"station\":\"NM\",\"place_id\":\"NM-H1\",\"category\":\"hotel\",\"name\":\"南门宾馆\",\"opened\":\"2023-05-01\"}",
    "{\"id\":\"NM-h2\",\"source\":\"station\",\"type\":\"place\",\"time\":\"2024-01-02T09:00:00+08:00\",\"station\":\"NM\",\"place_id\":\"NM-H2\",\"category\":\"dangerous_goods\",\"name\":\"\",\"opened\":\"2020-02-29\",\"closed\":\"2024-01-31\"}",
    "{\"id\":\"NM-i\",\"source\":\"station\",\"type\":\"inspection\",\"time\":\"2024-02-12T10:00:00+08:00\",\"station\":\"NM\",\"place_id\":\"NM-H1\",\"kind\":\"safety\",\"in_platform\":true}",
    "{\"id\":\"NM-i2\",\"source\":\"station\",\"type\":\"inspection\",\"time\":\"2024-02-12T10:00:00.123456+08:00\",\"station\":\"NM\",\"place_id\":\"NM-H1\",\"kind\":\"onsite\",\"in_platform\":false}",
    "{\"id\":\"NM-o\",\"source\":\"station\",\"type\":\"occupancy\",\"time\":\"2024-02-29T10:00:00+08:00\",\"station\":\"NM\",\"place_id\":\"NM-H1\",\"month\":\"2024-02\",\"rate\":8.5}",
    "{\"id\":\"NM-p0\",\"source\":\"station\",\"type\":\"patrol\",\"time\":\"2024-02-10T10:00:00+08:00\",\"station\":\"NM\",\"patrol_id\":\"P0\",\"kind\":\"prevention\",\"has_record\":true,\"has_images\":false}",
    "{\"id\":\"NM-1\",\"source\":\"station\",\"type\":\"notice\",\"time\":\"2024-02-01T10:00:00+08:00\",\"station\":\"NM\",\"posted\":true}",
    "{\"id\":\"XM-e\",\"source\":\"station\",\"type\":\"education\",\"time\":\"2024-02-14T10:00:00+08:00\",\"station\":\"XM\",\"has_record\":true,\"has_images\":false}",
    "{\"id\":\"NM-2\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-02T10:00:00+08:00\",\"station\":\"NM\"}",
    "{\"id\":\"NM-3\",\"source\":\"station\",\"type\":\"training\",\"time\":\"2024-02-02T11:00:00+08:00\",\"station\":\"NM\",\"note\":\"群防群治队伍培训\"}",
    "{\"id\":\"NM-4\",\"source\":\"station\",\"type\":\"campaign\",\"time\":\"2024-02-02T12:00:00+08:00\",\"station\":\"NM\",\"has_record\":false}",
    "{\"id\":\"XM-plan\",\"source\":\"station\",\"type\":\"patrol_plan\",\"time\":\"2024-01-01T09:00:00+08:00\",\"station\":\"XM\",\"quarter\":\"2024-Q1\",\"zones\":true,\"routes\":true,\"focal_points\":false,\"time_slots\":true,\"forces\":true}",
    "{\"id\":\"QS-rate\",\"source\":\"station\",\"type\":\"rate\",\"time\":\"2024-02-15T10:00:00+08:00\",\"station\":\"QS\",\"metric\":\"community_install_rate\",\"value\":78.0}",
    "{\"id\":\"a1\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00+08:00\",\"station\":\"BM\",\"item\":\"5.2.4\",\"defect\":\"ledger_late\",\"note\":\"巡逻台帐录入不及时\"}",
    "{\"id\":\"a2\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-17T10:00:00+08:00\",\"station\":\"QS\",\"item\":\"4.5\",\"defect\":\"unclear\",\"points\":0.5}",
    "{\"id\":\"a3\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-18T10:00:00+08:00\",\"station\":\"QS\",\"item\":\"1.1.1\",\"defect\":\"not_in_platform\",\"place_id\":\"QS-K1\",\"count\":3}",
    "{\"id\":\"QS-self\",\"source\":\"station\",\"type\":\"self_score\",\"time\":\"2024-02-28T10:00:00+08:00\",\"station\":\"QS\",\"item\":\"1.2\",\"points\":1.0}",
    NULL,
};
/* clang-format on */

/* --- enum names --- */

static void test_enum_names(void **state)
{
    (void)state;
    assert_string_equal(kh_source_name(KH_SRC_DISPATCH), "dispatch");
    assert_string_equal(kh_source_name(KH_SRC_ASSESSOR), "assessor");
    assert_null(kh_source_name(KH_SRC_COUNT));
    assert_null(kh_source_name(-1));
    assert_int_equal(kh_source_parse("legal"), KH_SRC_LEGAL);
    assert_int_equal(kh_source_parse("radio"), -1);
    assert_int_equal(kh_source_parse(NULL), -1);

    assert_int_equal(KH_EV_COUNT, 15);
    for (int i = 0; i < KH_EV_COUNT; i++)
        assert_int_equal(kh_evtype_parse(kh_evtype_name(i)), i);
    assert_string_equal(kh_evtype_name(KH_EV_SELF_SCORE), "self_score");
    assert_string_equal(kh_evtype_name(KH_EV_PATROL_PLAN), "patrol_plan");
    assert_int_equal(kh_evtype_parse("Call"), -1);

    for (int i = 0; i < KH_CASE_COUNT; i++)
        assert_int_equal(kh_case_kind_parse(kh_case_kind_name(i)), i);
    assert_string_equal(kh_case_kind_name(KH_CASE_PUBLIC_FACILITY_THEFT),
                        "public_facility_theft");
    assert_string_equal(kh_case_kind_name(KH_CASE_OTHER), "other");
    for (int i = 0; i < KH_LOC_COUNT; i++)
        assert_int_equal(kh_location_parse(kh_location_name(i)), i);
    assert_string_equal(kh_location_name(KH_LOC_UNIT_INTERIOR), "unit_interior");
    for (int i = 0; i < KH_OUT_COUNT; i++)
        assert_int_equal(kh_outcome_parse(kh_outcome_name(i)), i);
    for (int i = 0; i < KH_CAT_COUNT; i++)
        assert_int_equal(kh_category_parse(kh_category_name(i)), i);
    assert_string_equal(kh_category_name(KH_CAT_CLOSED_COMMUNITY), "closed_community");
    for (int i = 0; i < KH_INSP_COUNT; i++)
        assert_int_equal(kh_inspection_kind_parse(kh_inspection_kind_name(i)), i);
    for (int i = 0; i < KH_PATROL_COUNT; i++)
        assert_int_equal(kh_patrol_kind_parse(kh_patrol_kind_name(i)), i);
    for (int i = 0; i < KH_METRIC_COUNT; i++)
        assert_int_equal(kh_metric_parse(kh_metric_name(i)), i);
    assert_string_equal(kh_metric_name(KH_METRIC_UNIT_INSTALL_RATE), "unit_install_rate");
    assert_null(kh_metric_name(KH_METRIC_COUNT));

    assert_int_equal(kh_evtype_source(KH_EV_CALL), KH_SRC_DISPATCH);
    assert_int_equal(kh_evtype_source(KH_EV_LEGAL_REVIEW), KH_SRC_LEGAL);
    assert_int_equal(kh_evtype_source(KH_EV_FINDING), KH_SRC_ASSESSOR);
    assert_int_equal(kh_evtype_source(KH_EV_SELF_SCORE), KH_SRC_STATION);
    assert_int_equal(kh_evtype_source(KH_EV_PLACE), KH_SRC_STATION);
}

/* --- parsing values --- */

static void test_parse_values(void **state)
{
    (void)state;
    kh_event_t ev;
    kh_usec_t t;

    assert_int_equal(parse(every_type[9], &ev), KH_OK); /* occupancy */
    assert_int_equal(ev.type, KH_EV_OCCUPANCY);
    assert_int_equal(ev.source, KH_SRC_STATION);
    assert_string_equal(ev.id, "NM-o");
    assert_string_equal(ev.station, "NM");
    assert_string_equal(ev.place_id, "NM-H1");
    assert_int_equal(ev.rate, 8500);
    assert_int_equal(ev.month.kind, KH_PK_MONTH);
    assert_int_equal(ev.month.year, 2024);
    assert_int_equal(ev.month.index, 1);
    kh_time_parse("2024-02-29T02:00:00Z", &t);
    assert_true(ev.time == t);
    assert_int_equal(ev.deferred_time_err, KH_OK);
    assert_int_equal(ev.deferred_range_err, KH_OK);
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[17], &ev), KH_OK); /* rate */
    assert_int_equal(ev.metric, KH_METRIC_COMMUNITY_INSTALL_RATE);
    assert_int_equal(ev.rate, 78000);
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[1], &ev), KH_OK); /* voiding call */
    assert_int_equal(ev.rev, 1);
    assert_true(ev.void_);
    assert_string_equal(ev.note, "撤销");
    assert_int_equal(ev.case_kind, KH_CASE_SNATCHING);
    assert_int_equal(ev.location, KH_LOC_SHOP);
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[3], &ev), KH_OK); /* suspects */
    assert_int_equal(ev.outcome, KH_OUT_SUSPECTS_ARRESTED);
    assert_int_equal(ev.suspects, 2);
    assert_int_equal(ev.rev, 3);
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[6], &ev), KH_OK); /* closed place */
    char buf[11];
    assert_string_equal(kh_day_format(ev.opened, buf), "2020-02-29");
    assert_string_equal(kh_day_format(ev.closed, buf), "2024-01-31");
    assert_string_equal(ev.name, "");
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[5], &ev), KH_OK); /* open place */
    assert_int_equal(ev.closed, KH_DAY_NONE);
    assert_string_equal(ev.name, "南门宾馆");
    assert_null(ev.note);
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[19], &ev), KH_OK); /* ranged finding */
    assert_true(ev.has_points);
    assert_int_equal(ev.points, 500);
    assert_int_equal(ev.count, 1);
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[20], &ev), KH_OK); /* counted finding */
    assert_false(ev.has_points);
    assert_int_equal(ev.count, 3);
    assert_string_equal(ev.place_id, "QS-K1");
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[16], &ev), KH_OK); /* patrol plan */
    assert_int_equal(ev.quarter.kind, KH_PK_QUARTER);
    assert_int_equal(ev.quarter.index, 0);
    assert_true(ev.zones && ev.routes && !ev.focal_points && ev.time_slots && ev.forces);
    kh_event_clear(&ev);

    /* Integral reals count as integers; null optional fields as absent;
     * unknown fields are ignored. */
    assert_int_equal(
        parse("{\"id\":\"x\",\"source\":\"legal\",\"type\":\"legal_review\","
              "\"time\":\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"case_id\":"
              "\"K1\",\"outcome\":\"suspects_arrested\",\"suspects\":2.0,"
              "\"rev\":1e1,\"note\":null,\"extra\":{\"a\":[1]}}",
              &ev),
        KH_OK);
    assert_int_equal(ev.suspects, 2);
    assert_int_equal(ev.rev, 10);
    assert_null(ev.note);
    assert_int_equal(ev.deferred_range_err, KH_OK);
    kh_event_clear(&ev);

    /* Integer decimals and a closed: null. */
    assert_int_equal(
        parse("{\"id\":\"x\",\"source\":\"station\",\"type\":\"place\",\"time\":"
              "\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"place_id\":\"P\","
              "\"category\":\"hotel\",\"name\":\"n\",\"opened\":\"2024-01-01\","
              "\"closed\":null}",
              &ev),
        KH_OK);
    assert_int_equal(ev.closed, KH_DAY_NONE);
    kh_event_clear(&ev);
    assert_int_equal(
        parse("{\"id\":\"x\",\"source\":\"station\",\"type\":\"rate\",\"time\":"
              "\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"metric\":"
              "\"unit_install_rate\",\"value\":100}",
              &ev),
        KH_OK);
    assert_int_equal(ev.rate, 100000);
    kh_event_clear(&ev);

    /* The line is len bytes, not NUL-terminated. */
    const char *two = "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\","
                      "\"time\":\"2024-02-02T10:00:00Z\",\"station\":\"NM\"}"
                      "GARBAGE";
    kh_event_init(&ev);
    assert_int_equal(kh_event_parse_json(two, strlen(two) - 7, &ev), KH_OK);
    kh_event_clear(&ev);
    kh_event_init(&ev);
    assert_int_equal(kh_event_parse_json(two, strlen(two), &ev), KH_EMALFORMED);
    kh_event_clear(&ev);
}

static void test_example_events_all_accepted(void **state)
{
    (void)state;
    FILE *f = fopen(KH_EXAMPLES_DIR "/events.jsonl", "r");
    assert_non_null(f);
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!len)
            continue;
        n++;
        kh_event_t ev;
        int rc = parse(line, &ev);
        if (rc == KH_OK)
            rc = kh_event_check(&ev, county, &catalog, NULL, now);
        if (rc != KH_OK)
            fail_msg("example line %d rejected (%s): %s", n, kh_err_name(rc), line);
        /* and as the identity that would send it */
        char sender[64];
        if (ev.source == KH_SRC_STATION)
            snprintf(sender, sizeof sender, "station-%s", ev.station);
        else
            snprintf(sender, sizeof sender, "%s", kh_source_name(ev.source));
        assert_int_equal(kh_event_check(&ev, county, &catalog, sender, now), KH_OK);
        kh_event_clear(&ev);
    }
    fclose(f);
    assert_int_equal(n, 60);
}

/* --- round trip --- */

static void round_trip(const char *line)
{
    kh_event_t a, b;
    assert_int_equal(parse(line, &a), KH_OK);
    json_t *j = kh_event_to_json(&a);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    int rc = parse(text, &b);
    if (rc != KH_OK || !kh_event_equal(&a, &b))
        fail_msg("round trip changed the event:\n  in:  %s\n  out: %s", line, text);
    /* Printing the re-read event gives the same text. */
    json_t *j2 = kh_event_to_json(&b);
    char *text2 = json_dumps(j2, JSON_COMPACT);
    assert_string_equal(text, text2);
    /* A copy is equal too, and owns its strings. */
    kh_event_t c;
    kh_event_init(&c);
    assert_int_equal(kh_event_copy(&c, &a), KH_OK);
    assert_true(kh_event_equal(&a, &c));
    if (a.note)
        assert_ptr_not_equal(a.note, c.note);
    free(text);
    free(text2);
    json_decref(j);
    json_decref(j2);
    kh_event_clear(&a);
    kh_event_clear(&b);
    kh_event_clear(&c);
}

static void test_round_trip_every_type(void **state)
{
    (void)state;
    bool seen[KH_EV_COUNT] = {false};
    for (int i = 0; every_type[i]; i++) {
        round_trip(every_type[i]);
        kh_event_t ev;
        assert_int_equal(parse(every_type[i], &ev), KH_OK);
        seen[ev.type] = true;
        kh_event_clear(&ev);
    }
    for (int t = 0; t < KH_EV_COUNT; t++) {
        if (!seen[t])
            fail_msg("no round trip for type %s", kh_evtype_name(t));
    }
}

static void test_to_json_form(void **state)
{
    (void)state;
    kh_event_t ev;
    assert_int_equal(parse(every_type[0], &ev), KH_OK);
    json_t *j = kh_event_to_json(&ev);
    assert_non_null(j);
    /* time in UTC; defaults omitted */
    assert_string_equal(json_string_value(json_object_get(j, "time")),
                        "2024-02-03T02:00:00Z");
    assert_string_equal(json_string_value(json_object_get(j, "source")), "dispatch");
    assert_string_equal(json_string_value(json_object_get(j, "type")), "call");
    assert_null(json_object_get(j, "rev"));
    assert_null(json_object_get(j, "void"));
    assert_null(json_object_get(j, "note"));
    json_decref(j);
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[9], &ev), KH_OK);
    j = kh_event_to_json(&ev);
    json_t *rate = json_object_get(j, "rate");
    assert_true(json_is_real(rate));
    assert_true(json_real_value(rate) == 8.5);
    assert_string_equal(json_string_value(json_object_get(j, "month")), "2024-02");
    json_decref(j);
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[17], &ev), KH_OK);
    j = kh_event_to_json(&ev);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(text, "\"value\":78.0"));
    free(text);
    json_decref(j);
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[20], &ev), KH_OK);
    j = kh_event_to_json(&ev);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 3);
    assert_null(json_object_get(j, "points"));
    json_decref(j);
    kh_event_clear(&ev);

    assert_int_equal(parse(every_type[2], &ev), KH_OK); /* caught_in_act */
    j = kh_event_to_json(&ev);
    assert_null(json_object_get(j, "suspects"));
    json_decref(j);
    kh_event_clear(&ev);
}

/* --- rejections, one example (or more) per reason --- */

/* clang-format off */

#define L(body)                                                                \
    "{\"id\":\"e1\",\"source\":\"station\",\"time\":\"2024-02-10T10:00:00+08:"  \
    "00\",\"station\":\"NM\"," body "}"
#define CALL(extra)                                                            \
    "{\"id\":\"c1\",\"source\":\"dispatch\",\"type\":\"call\",\"time\":"       \
    "\"2024-02-03T10:00:00+08:00\",\"station\":\"NM\",\"case_id\":\"K1\"" extra \
    "}"

static void test_too_large(void **state)
{
    (void)state;
    size_t n = KH_EVENT_MAX_BYTES + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    memcpy(big, L("\"type\":\"meeting\""), strlen(L("\"type\":\"meeting\"")));
    big[n] = '\0';
    kh_event_t ev;
    kh_event_init(&ev);
    assert_int_equal(kh_event_parse_json(big, n, &ev), KH_ETOO_LARGE);
    kh_event_clear(&ev);
    /* exactly 64 KiB is not too large (trailing spaces are JSON space) */
    kh_event_init(&ev);
    assert_int_equal(kh_event_parse_json(big, n - 1, &ev), KH_OK);
    kh_event_clear(&ev);
    /* too_large first, even for garbage */
    memset(big, 'x', n);
    kh_event_init(&ev);
    assert_int_equal(kh_event_parse_json(big, n, &ev), KH_ETOO_LARGE);
    kh_event_clear(&ev);
    free(big);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *lines[] = {
        "",
        "not json",
        "[1,2,3]",
        "42",
        "\"call\"",
        "null",
        "{\"id\":\"x\",",
        L("\"type\":\"meeting\"") " trailing",
        L("\"type\":\"meeting\"") L("\"type\":\"meeting\""),
        /* common fields missing or of the wrong type */
        "{\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-10T10:00:00Z\",\"station\":\"NM\"}",
        "{\"id\":7,\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-10T10:00:00Z\",\"station\":\"NM\"}",
        "{\"id\":\"x\",\"type\":\"meeting\",\"time\":\"2024-02-10T10:00:00Z\",\"station\":\"NM\"}",
        "{\"id\":\"x\",\"source\":[],\"type\":\"meeting\",\"time\":\"2024-02-10T10:00:00Z\",\"station\":\"NM\"}",
        "{\"id\":\"x\",\"source\":\"station\",\"time\":\"2024-02-10T10:00:00Z\",\"station\":\"NM\"}",
        "{\"id\":\"x\",\"source\":\"station\",\"type\":3,\"time\":\"2024-02-10T10:00:00Z\",\"station\":\"NM\"}",
        "{\"id\":\"x\",\"source\":\"station\",\"type\":\"meeting\",\"station\":\"NM\"}",
        "{\"id\":\"x\",\"source\":\"station\",\"type\":\"meeting\",\"time\":1707530400,\"station\":\"NM\"}",
        "{\"id\":\"x\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-10T10:00:00Z\"}",
        "{\"id\":\"x\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-10T10:00:00Z\",\"station\":null}",
        L("\"type\":\"meeting\",\"note\":5"),
        /* a type's own fields */
        CALL(",\"location\":\"market\""),
        CALL(",\"case_kind\":1,\"location\":\"market\""),
        CALL(",\"case_kind\":\"pickpocket\",\"location\":\"market\",\"rev\":\"1\""),
        CALL(",\"case_kind\":\"pickpocket\",\"location\":\"market\",\"void\":1"),
        CALL(",\"case_kind\":\"pickpocket\",\"location\":\"market\",\"void\":\"true\""),
        "{\"id\":\"c1\",\"source\":\"dispatch\",\"type\":\"call\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\",\"case_kind\":\"pickpocket\",\"location\":\"market\"}",
        "{\"id\":\"r2\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"K1\",\"outcome\":\"suspects_arrested\"}",
        "{\"id\":\"r2\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"K1\",\"outcome\":\"suspects_arrested\",\"suspects\":\"2\"}",
        "{\"id\":\"r2\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"K1\"}",
        L("\"type\":\"place\",\"place_id\":\"P\",\"category\":\"hotel\",\"opened\":\"2024-01-01\""),
        L("\"type\":\"place\",\"place_id\":\"P\",\"category\":\"hotel\",\"name\":\"n\""),
        L("\"type\":\"place\",\"place_id\":\"P\",\"category\":\"hotel\",\"name\":\"n\",\"opened\":20240101"),
        L("\"type\":\"place\",\"place_id\":\"P\",\"category\":\"hotel\",\"name\":\"n\",\"opened\":\"2024-01-01\",\"closed\":false"),
        L("\"type\":\"inspection\",\"place_id\":\"P\",\"kind\":\"safety\",\"in_platform\":\"true\""),
        L("\"type\":\"inspection\",\"place_id\":\"P\",\"kind\":\"safety\",\"in_platform\":1"),
        L("\"type\":\"inspection\",\"place_id\":\"P\",\"kind\":\"safety\""),
        L("\"type\":\"inspection\",\"place_id\":5,\"kind\":\"safety\",\"in_platform\":true"),
        L("\"type\":\"occupancy\",\"place_id\":\"P\",\"month\":\"2024-02\",\"rate\":\"8.5\""),
        L("\"type\":\"occupancy\",\"place_id\":\"P\",\"month\":\"2024-02\""),
        L("\"type\":\"occupancy\",\"place_id\":\"P\",\"month\":202402,\"rate\":8.5"),
        L("\"type\":\"patrol\",\"patrol_id\":\"P\",\"kind\":\"team\",\"has_record\":true"),
        L("\"type\":\"patrol\",\"kind\":\"team\",\"has_record\":true,\"has_images\":true"),
        L("\"type\":\"notice\""),
        L("\"type\":\"notice\",\"posted\":\"yes\""),
        L("\"type\":\"education\",\"has_record\":true"),
        L("\"type\":\"campaign\",\"has_record\":null"),
        L("\"type\":\"patrol_plan\",\"quarter\":\"2024-Q1\",\"zones\":true,\"routes\":true,\"focal_points\":true,\"time_slots\":true"),
        L("\"type\":\"patrol_plan\",\"zones\":true,\"routes\":true,\"focal_points\":true,\"time_slots\":true,\"forces\":true"),
        L("\"type\":\"rate\",\"metric\":\"unit_install_rate\""),
        L("\"type\":\"rate\",\"metric\":\"unit_install_rate\",\"value\":true"),
        L("\"type\":\"rate\",\"value\":50"),
        L("\"type\":\"self_score\",\"item\":\"1.2\""),
        L("\"type\":\"self_score\",\"points\":1"),
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"5.2.4\"}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"defect\":\"ledger_late\"}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"5.2.4\",\"defect\":\"ledger_late\",\"count\":\"2\"}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"4.5\",\"defect\":\"unclear\",\"points\":\"0.5\"}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"5.2.4\",\"defect\":\"ledger_late\",\"place_id\":1}",
        NULL,
    };
    for (int i = 0; lines[i]; i++)
        EXPECT(KH_EMALFORMED, lines[i]);

    /* The id is kept for the answer even when the line is malformed. */
    kh_event_t ev;
    assert_int_equal(parse("{\"id\":\"x1\",\"source\":\"dispatch\"}", &ev),
                     KH_EMALFORMED);
    assert_string_equal(ev.id, "x1");
    kh_event_clear(&ev);
}

static void test_unknown_type(void **state)
{
    (void)state;
    EXPECT(KH_EUNKNOWN_TYPE, L("\"type\":\"parade\""));
    EXPECT(KH_EUNKNOWN_TYPE, L("\"type\":\"\""));
    EXPECT(KH_EUNKNOWN_TYPE, L("\"type\":\"Meeting\""));
    /* its own fields cannot be judged, so they do not make it malformed */
    EXPECT(KH_EUNKNOWN_TYPE, L("\"type\":\"parade\",\"floats\":\"many\""));
}

static void test_forbidden(void **state)
{
    (void)state;
    /* a type from the wrong source, whoever sends it */
    EXPECT(KH_EFORBIDDEN, "{\"id\":\"c\",\"source\":\"station\",\"type\":\"call\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"K1\",\"case_kind\":\"pickpocket\",\"location\":\"market\"}");
    EXPECT(KH_EFORBIDDEN, L("\"type\":\"finding\",\"item\":\"5.2.4\",\"defect\":\"ledger_late\""));
    EXPECT(KH_EFORBIDDEN, "{\"id\":\"m\",\"source\":\"assessor\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\"}");

    const char *call = every_type[0];
    const char *review = every_type[2];
    const char *finding = every_type[18]; /* station BM */
    const char *meeting = every_type[13]; /* station NM */
    EXPECT_AS(KH_OK, "dispatch", call);
    EXPECT_AS(KH_EFORBIDDEN, "legal", call);
    EXPECT_AS(KH_EFORBIDDEN, "station-NM", call);
    EXPECT_AS(KH_EFORBIDDEN, "assessor", call);
    EXPECT_AS(KH_OK, "legal", review);
    EXPECT_AS(KH_EFORBIDDEN, "dispatch", review);
    EXPECT_AS(KH_OK, "assessor", finding);
    EXPECT_AS(KH_EFORBIDDEN, "station-BM", finding);
    EXPECT_AS(KH_OK, "station-NM", meeting);
    EXPECT_AS(KH_EFORBIDDEN, "station-BM", meeting); /* not its station */
    EXPECT_AS(KH_EFORBIDDEN, "station-", meeting);
    EXPECT_AS(KH_EFORBIDDEN, "station-NMX", meeting);
    EXPECT_AS(KH_EFORBIDDEN, "assessor", meeting);
    EXPECT_AS(KH_EFORBIDDEN, "admin", meeting);
    EXPECT_AS(KH_EFORBIDDEN, "admin", call);
    EXPECT_AS(KH_EFORBIDDEN, "intruder", meeting);
}

static void test_unknown_station(void **state)
{
    (void)state;
    EXPECT(KH_EUNKNOWN_STATION, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"ZZ\"}");
    EXPECT(KH_EUNKNOWN_STATION, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"\"}");
    EXPECT(KH_EUNKNOWN_STATION, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"nm\"}");
    /* A code longer than any code can be is out of range by itself, but
     * unknown_station ranks first when the county is known. */
    const char *longcode = "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NMNMNMNMNMNMNMNMNMNMNMNMNMNMNMNMNM\"}";
    EXPECT(KH_EUNKNOWN_STATION, longcode);
    kh_event_t ev;
    assert_int_equal(parse(longcode, &ev), KH_OK);
    assert_int_equal(ev.deferred_range_err, KH_EOUT_OF_RANGE);
    assert_int_equal(strlen(ev.station), KH_CODE_MAX);
    assert_int_equal(kh_event_check(&ev, NULL, NULL, NULL, now),
                     KH_EOUT_OF_RANGE);
    kh_event_clear(&ev);
}

static void test_bad_time(void **state)
{
    (void)state;
    EXPECT(KH_EBAD_TIME, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"yesterday\",\"station\":\"NM\"}");
    EXPECT(KH_EBAD_TIME, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00\",\"station\":\"NM\"}");
    EXPECT(KH_EBAD_TIME, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2023-02-29T10:00:00Z\",\"station\":\"NM\"}");
    EXPECT(KH_EBAD_TIME, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"\",\"station\":\"NM\"}");
    /* now is 2024-03-01T00:00:00Z: 24 h ahead is fine, a second more not */
    EXPECT(KH_OK, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-03-02T00:00:00Z\",\"station\":\"NM\"}");
    EXPECT(KH_EBAD_TIME, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-03-02T00:00:00.000001Z\",\"station\":\"NM\"}");
    EXPECT(KH_EBAD_TIME, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-03-02T08:00:01+08:00\",\"station\":\"NM\"}");
    EXPECT(KH_OK, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"1999-03-02T08:00:01+08:00\",\"station\":\"NM\"}");
    /* parse itself does not reject a bad time */
    kh_event_t ev;
    assert_int_equal(parse("{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"nope\",\"station\":\"NM\"}", &ev), KH_OK);
    assert_int_equal(ev.deferred_time_err, KH_EBAD_TIME);
    kh_event_clear(&ev);
}

static void test_out_of_range(void **state)
{
    (void)state;
    const char *lines[] = {
        /* enum values outside their sets */
        CALL(",\"case_kind\":\"arson\",\"location\":\"market\""),
        CALL(",\"case_kind\":\"pickpocket\",\"location\":\"moon\""),
        "{\"id\":\"r\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"K1\",\"outcome\":\"pardoned\"}",
        L("\"type\":\"place\",\"place_id\":\"P\",\"category\":\"zoo\",\"name\":\"n\",\"opened\":\"2024-01-01\""),
        L("\"type\":\"inspection\",\"place_id\":\"P\",\"kind\":\"casual\",\"in_platform\":true"),
        L("\"type\":\"patrol\",\"patrol_id\":\"P\",\"kind\":\"parade\",\"has_record\":true,\"has_images\":true"),
        L("\"type\":\"rate\",\"metric\":\"happiness\",\"value\":50"),
        "{\"id\":\"m\",\"source\":\"radio\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\"}",
        /* identifiers */
        "{\"id\":\"\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\"}",
        "{\"id\":\"0123456789012345678901234567890123456789012345678901234567890123X\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\"}",
        "{\"id\":\"c\",\"source\":\"dispatch\",\"type\":\"call\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"\",\"case_kind\":\"pickpocket\",\"location\":\"market\"}",
        "{\"id\":\"c\",\"source\":\"dispatch\",\"type\":\"call\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"0123456789012345678901234567890123456789012345678901234567890123X\",\"case_kind\":\"pickpocket\",\"location\":\"market\"}",
        L("\"type\":\"inspection\",\"place_id\":\"\",\"kind\":\"safety\",\"in_platform\":true"),
        L("\"type\":\"patrol\",\"patrol_id\":\"\",\"kind\":\"team\",\"has_record\":true,\"has_images\":true"),
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"5.2.4\",\"defect\":\"ledger_late\",\"place_id\":\"\"}",
        /* numbers */
        L("\"type\":\"rate\",\"metric\":\"unit_install_rate\",\"value\":100.5"),
        L("\"type\":\"rate\",\"metric\":\"unit_install_rate\",\"value\":-1"),
        L("\"type\":\"rate\",\"metric\":\"unit_install_rate\",\"value\":1e300"),
        L("\"type\":\"occupancy\",\"place_id\":\"P\",\"month\":\"2024-02\",\"rate\":101"),
        "{\"id\":\"r\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"K1\",\"outcome\":\"suspects_arrested\",\"suspects\":0}",
        "{\"id\":\"r\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"K1\",\"outcome\":\"suspects_arrested\",\"suspects\":1.5}",
        "{\"id\":\"r\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"K1\",\"outcome\":\"caught_in_act\",\"suspects\":-1}",
        "{\"id\":\"r\",\"source\":\"legal\",\"type\":\"legal_review\",\"time\":\"2024-02-21T10:00:00Z\",\"station\":\"NM\",\"case_id\":\"K1\",\"outcome\":\"suspects_arrested\",\"suspects\":4294967296}",
        CALL(",\"case_kind\":\"pickpocket\",\"location\":\"market\",\"rev\":-1"),
        CALL(",\"case_kind\":\"pickpocket\",\"location\":\"market\",\"rev\":0.5"),
        CALL(",\"case_kind\":\"pickpocket\",\"location\":\"market\",\"rev\":1e30"),
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"5.2.4\",\"defect\":\"ledger_late\",\"count\":0}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"4.5\",\"defect\":\"unclear\",\"points\":-0.5}",
        L("\"type\":\"self_score\",\"item\":\"1.2\",\"points\":-1"),
        /* dates and periods */
        L("\"type\":\"place\",\"place_id\":\"P\",\"category\":\"hotel\",\"name\":\"n\",\"opened\":\"2024-02-30\""),
        L("\"type\":\"place\",\"place_id\":\"P\",\"category\":\"hotel\",\"name\":\"n\",\"opened\":\"2024-01-01\",\"closed\":\"soon\""),
        L("\"type\":\"place\",\"place_id\":\"P\",\"category\":\"hotel\",\"name\":\"n\",\"opened\":\"2024-01-02\",\"closed\":\"2024-01-01\""),
        L("\"type\":\"occupancy\",\"place_id\":\"P\",\"month\":\"2024-13\",\"rate\":5"),
        L("\"type\":\"occupancy\",\"place_id\":\"P\",\"month\":\"2024-Q1\",\"rate\":5"),
        L("\"type\":\"occupancy\",\"place_id\":\"P\",\"month\":\"2024-02-01\",\"rate\":5"),
        L("\"type\":\"patrol_plan\",\"quarter\":\"2024-Q5\",\"zones\":true,\"routes\":true,\"focal_points\":true,\"time_slots\":true,\"forces\":true"),
        L("\"type\":\"patrol_plan\",\"quarter\":\"2024-02\",\"zones\":true,\"routes\":true,\"focal_points\":true,\"time_slots\":true,\"forces\":true"),
        /* against the catalog */
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"9.9\",\"defect\":\"ledger_late\"}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"5.2.4\",\"defect\":\"unclear\"}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"1.1.2a\",\"defect\":\"unregistered\"}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"4.5\",\"defect\":\"unclear\",\"points\":0.4}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"4.5\",\"defect\":\"unclear\",\"points\":1.001}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"4.5\",\"defect\":\"unclear\"}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"4.5\",\"defect\":\"unclear\",\"points\":0.5,\"count\":2}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"5.2.4\",\"defect\":\"ledger_late\",\"points\":2}",
        "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"5.2.4.1.2.3.4.5.6\",\"defect\":\"ledger_late\"}",
        L("\"type\":\"self_score\",\"item\":\"9.9\",\"points\":1"),
        NULL,
    };
    for (int i = 0; lines[i]; i++)
        EXPECT(KH_EOUT_OF_RANGE, lines[i]);

    /* the range ends themselves are in range */
    EXPECT(KH_OK, L("\"type\":\"rate\",\"metric\":\"unit_install_rate\",\"value\":100"));
    EXPECT(KH_OK, L("\"type\":\"rate\",\"metric\":\"unit_install_rate\",\"value\":0"));
    EXPECT(KH_OK, "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"1.2\",\"defect\":\"spot_check_failed\",\"points\":3}");
    EXPECT(KH_OK, "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"1.2\",\"defect\":\"spot_check_failed\",\"points\":5.0}");
    EXPECT(KH_OK, "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"2024-02-16T10:00:00Z\",\"station\":\"BM\",\"item\":\"4.6.1\",\"defect\":\"late_update\",\"place_id\":\"X\",\"count\":2}");
    EXPECT(KH_OK, L("\"type\":\"place\",\"place_id\":\"P\",\"category\":\"hotel\",\"name\":\"n\",\"opened\":\"2024-01-01\",\"closed\":\"2024-01-01\""));
    EXPECT(KH_OK, "{\"id\":\"0123456789012345678901234567890123456789012345678901234567890123\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\"}");
    EXPECT(KH_OK, L("\"type\":\"self_score\",\"item\":\"1.2\",\"points\":0"));
}

static void test_precedence(void **state)
{
    (void)state;
    /* malformed before unknown_type */
    EXPECT(KH_EMALFORMED, "{\"source\":\"station\",\"type\":\"parade\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\"}");
    /* unknown_type before forbidden */
    EXPECT_AS(KH_EUNKNOWN_TYPE, "admin", "{\"id\":\"x\",\"source\":\"dispatch\",\"type\":\"parade\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"ZZ\"}");
    /* forbidden before unknown_station */
    EXPECT_AS(KH_EFORBIDDEN, "dispatch", "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"nope\",\"station\":\"ZZ\"}");
    EXPECT(KH_EFORBIDDEN, "{\"id\":\"m\",\"source\":\"dispatch\",\"type\":\"meeting\",\"time\":\"nope\",\"station\":\"ZZ\"}");
    /* unknown_station before bad_time */
    EXPECT(KH_EUNKNOWN_STATION, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"nope\",\"station\":\"ZZ\"}");
    EXPECT(KH_EUNKNOWN_STATION, "{\"id\":\"m\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2030-01-01T00:00:00Z\",\"station\":\"ZZ\"}");
    /* bad_time before out_of_range */
    EXPECT(KH_EBAD_TIME, "{\"id\":\"a\",\"source\":\"assessor\",\"type\":\"finding\",\"time\":\"nope\",\"station\":\"BM\",\"item\":\"9.9\",\"defect\":\"x\",\"count\":0}");
    EXPECT(KH_EBAD_TIME, "{\"id\":\"\",\"source\":\"station\",\"type\":\"meeting\",\"time\":\"2030-01-01T00:00:00Z\",\"station\":\"NM\"}");
    /* an unknown source is out of range, not forbidden; a wrong sender
     * still is forbidden */
    EXPECT(KH_EOUT_OF_RANGE, "{\"id\":\"m\",\"source\":\"radio\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\"}");
    EXPECT_AS(KH_EFORBIDDEN, "dispatch", "{\"id\":\"m\",\"source\":\"radio\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"NM\"}");
    EXPECT(KH_EUNKNOWN_STATION, "{\"id\":\"m\",\"source\":\"radio\",\"type\":\"meeting\",\"time\":\"2024-02-03T10:00:00Z\",\"station\":\"ZZ\"}");
    /* malformed wins over an out-of-range value seen earlier */
    EXPECT(KH_EMALFORMED, CALL(",\"case_kind\":\"arson\",\"location\":7"));
    EXPECT(KH_EMALFORMED, "{\"id\":\"\",\"source\":\"station\",\"type\":\"notice\",\"time\":\"nope\",\"station\":\"ZZ\"}");
}

/* clang-format on */

static void test_init_clear_copy(void **state)
{
    (void)state;
    kh_event_t ev;
    memset(&ev, 0x5a, sizeof ev);
    kh_event_init(&ev);
    assert_int_equal(ev.closed, KH_DAY_NONE);
    assert_int_equal(ev.count, 1);
    assert_null(ev.note);
    assert_null(ev.name);
    assert_string_equal(ev.id, "");
    assert_int_equal(ev.deferred_time_err, KH_OK);

    assert_int_equal(parse(every_type[5], &ev), KH_OK);
    kh_event_t copy;
    kh_event_init(&copy);
    assert_int_equal(kh_event_copy(&copy, &ev), KH_OK);
    assert_true(kh_event_equal(&ev, &copy));
    assert_ptr_not_equal(ev.name, copy.name);
    /* copying over a used event frees what it held */
    assert_int_equal(kh_event_copy(&copy, &ev), KH_OK);
    copy.name[0] = 'X';
    assert_false(kh_event_equal(&ev, &copy));
    kh_event_clear(&ev);
    kh_event_clear(&copy);
    assert_null(copy.name);
    kh_event_clear(&copy); /* twice is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_example_events_all_accepted),
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_to_json_form),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_forbidden),
        cmocka_unit_test(test_unknown_station),
        cmocka_unit_test(test_bad_time),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_init_clear_copy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
