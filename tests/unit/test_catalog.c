/*
 * test_catalog.c - the rule catalog (kh_catalog.h): rules/catalog.json
 * loads with every rule id of SPEC section 4 and the parameters the SPEC
 * gives; the seed corpus loads or is refused as its name says; every bad
 * variant is refused with a message naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_catalog.h"
#include "kh_error.h"

#define CATALOG KH_SOURCE_DIR "/rules/catalog.json"
#define CORPUS  KH_SOURCE_DIR "/tests/fuzz/corpus/catalog"

static kh_catalog_t *load_shipped(void)
{
    kh_catalog_t *cat = NULL;
    char err[256];
    int rc = kh_catalog_load(&cat, CATALOG, err, sizeof err);
    if (rc != KH_OK)
        fail_msg("%s refused (%s): %s", CATALOG, kh_err_name(rc), err);
    return cat;
}

static const kh_item_t *item(const kh_catalog_t *cat, const char *id)
{
    int i = kh_catalog_find_item(cat, id);
    if (i < 0)
        fail_msg("item %s missing", id);
    return &cat->items[i];
}

/* The rule of a kind in an item (the n-th, 0-based). */
static const kh_rule_t *rule(const kh_item_t *it, kh_rule_kind_t kind, int n)
{
    for (size_t r = 0; r < it->nrules; r++)
        if (it->rules[r].kind == kind && n-- == 0)
            return &it->rules[r];
    fail_msg("item %s has no %s rule", it->id, kh_rule_kind_name(kind));
    return NULL;
}

static void test_shipped_ids_and_sections(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "1.1.1", "1.1.2a", "1.1.2b", "1.1.2c", "1.1.3a", "1.1.3b", "1.1.4",
        "1.2",   "4.1",    "4.2",    "4.3",    "4.4",    "4.5",    "4.6.1",
        "4.6.2", "5.1",    "5.2.1",  "5.2.2",  "5.2.3",  "5.2.4",  "5.2.5"};
    static const char *const secs[] = {"1", "1", "1", "1", "1", "1", "1",
                                       "1", "4", "4", "4", "4", "4", "4",
                                       "4", "5", "5", "5", "5", "5", "5"};
    kh_catalog_t *cat = load_shipped();
    assert_int_equal(cat->nsections, 3);
    assert_string_equal(cat->sections[0].id, "1");
    assert_string_equal(cat->sections[0].title, "治安管理");
    assert_int_equal(cat->sections[0].max, 15000);
    assert_string_equal(cat->sections[1].id, "4");
    assert_int_equal(cat->sections[1].max, 15000);
    assert_string_equal(cat->sections[2].id, "5");
    assert_int_equal(cat->sections[2].max, 10000);
    /* every rule id of SPEC section 4, in the standard's order */
    assert_int_equal(cat->nitems, sizeof ids / sizeof *ids);
    for (size_t i = 0; i < cat->nitems; i++) {
        assert_string_equal(cat->items[i].id, ids[i]);
        assert_string_equal(cat->sections[cat->items[i].section].id, secs[i]);
        assert_true(cat->items[i].nrules > 0);
        /* the standard's columns are filled */
        assert_true(strlen(cat->items[i].content) > 0);
        assert_true(strlen(cat->items[i].standard) > 0);
        assert_true(strlen(cat->items[i].value) > 0);
        assert_true(strlen(cat->items[i].method) > 0);
        assert_true(strlen(cat->items[i].cycle) > 0);
        assert_true(strlen(cat->items[i].source) > 0);
        assert_non_null(cat->items[i].project);
        assert_non_null(cat->items[i].remark);
    }
    assert_string_equal(cat->title, "社区治安防范考核标准");
    kh_catalog_free(&cat);
    assert_null(cat);
    kh_catalog_free(&cat); /* NULL is fine */
}

/* The finding defects of SPEC section 4, with their amounts. */
static void test_shipped_defects(void **state)
{
    (void)state;
    static const struct {
        const char *item, *code;
        kh_milli_t fixed, min, max;
        bool each_time;
    } want[] = {
        {"1.1.1", "unregistered", 100, 0, 0, false},
        {"1.1.1", "not_in_platform", 500, 0, 0, false},
        {"1.1.1", "mismatch", 100, 0, 0, false},
        {"1.1.3a", "unfiled", 1000, 0, 0, false},
        {"1.1.4", "poor_effect", 2000, 0, 0, false},
        {"1.1.4", "incomplete_materials", 0, 2000, 5000, false},
        {"1.2", "spot_check_failed", 0, 3000, 5000, false},
        {"4.3", "missing_item", 2000, 0, 0, false},
        {"4.5", "unclear", 0, 500, 1000, false},
        {"4.6.1", "unregistered", 100, 0, 0, false},
        {"4.6.1", "not_in_platform", 200, 0, 0, false},
        {"4.6.1", "mismatch", 200, 0, 0, false},
        {"4.6.1", "late_update", 200, 0, 0, true},
        {"5.2.4", "ledger_late", 2000, 0, 0, false},
        {"5.2.5", "register_mismatch", 1000, 0, 0, false},
    };
    kh_catalog_t *cat = load_shipped();
    size_t total = 0;
    for (size_t i = 0; i < cat->nitems; i++)
        total += cat->items[i].ndefects;
    assert_int_equal(total, sizeof want / sizeof *want);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const kh_defect_t *d = kh_catalog_find_defect(cat, want[i].item, want[i].code);
        if (!d)
            fail_msg("%s %s missing", want[i].item, want[i].code);
        assert_int_equal(d->ranged, want[i].fixed == 0);
        if (d->ranged) {
            assert_int_equal(d->min, want[i].min);
            assert_int_equal(d->max, want[i].max);
        } else {
            assert_int_equal(d->fixed, want[i].fixed);
        }
        assert_int_equal(d->each_time, want[i].each_time);
    }
    assert_null(kh_catalog_find_defect(cat, "1.1.1", "late_update"));
    assert_null(kh_catalog_find_defect(cat, "9.9", "mismatch"));
    assert_null(kh_catalog_find_defect(cat, "4.4", "mismatch"));
    assert_int_equal(kh_catalog_find_item(cat, "4.6.2"), 14);
    assert_int_equal(kh_catalog_find_item(cat, "4.6"), -1);
    kh_catalog_free(&cat);
}

/* The parameters of the rules, as SPEC section 4 states them. */
static void test_shipped_rules(void **state)
{
    (void)state;
    kh_catalog_t *cat = load_shipped();
    const kh_rule_t *r;

    /* 1.1.2a: special_industry and hotel, a counted safety inspection a
     * month, 0.5 per miss */
    r = rule(item(cat, "1.1.2a"), KH_RULE_PLACE_INSPECTION, 0);
    assert_true(r->categories[KH_CAT_SPECIAL_INDUSTRY]);
    assert_true(r->categories[KH_CAT_HOTEL]);
    assert_false(r->categories[KH_CAT_FILING_INDUSTRY]);
    assert_int_equal(r->match.event, KH_EV_INSPECTION);
    assert_int_equal(r->match.kind, KH_INSP_SAFETY);
    assert_int_equal(r->match.require.of[0][2], KH_FLAG_IN_PLATFORM);
    assert_int_equal(r->period.of[1][1], KH_PK_MONTH);
    assert_int_equal(r->points, 500);

    /* 1.1.2b: 2 per whole point below 100 */
    r = rule(item(cat, "1.1.2b"), KH_RULE_RATE, 0);
    assert_int_equal(r->metric, KH_METRIC_HOTEL_SYSTEM_COVERAGE);
    assert_int_equal(r->target, 100000);
    assert_int_equal(r->step, 1000);
    assert_int_equal(r->points, 2000);

    /* 1.1.2c: hotels below 10 need an onsite check */
    r = rule(item(cat, "1.1.2c"), KH_RULE_OCCUPANCY_CHECK, 0);
    assert_true(r->categories[KH_CAT_HOTEL]);
    assert_false(r->categories[KH_CAT_SPECIAL_INDUSTRY]);
    assert_int_equal(r->below, 10000);
    assert_int_equal(r->match.kind, KH_INSP_ONSITE);
    assert_int_equal(r->points, 2000);

    /* 1.1.3b: filing_industry, any kind of inspection, a quarter */
    r = rule(item(cat, "1.1.3b"), KH_RULE_PLACE_INSPECTION, 0);
    assert_true(r->categories[KH_CAT_FILING_INDUSTRY]);
    assert_int_equal(r->match.kind, -1);
    assert_int_equal(r->period.of[0][3], KH_PK_QUARTER);

    /* 1.1.4: a counted campaign a year, 5 */
    r = rule(item(cat, "1.1.4"), KH_RULE_COUNT_PER_PERIOD, 0);
    assert_int_equal(r->match.event, KH_EV_CAMPAIGN);
    assert_int_equal(r->match.require.of[0][1], KH_FLAG_HAS_RECORD);
    assert_int_equal(r->period.of[0][1], KH_PK_YEAR);
    assert_int_equal(r->points, 5000);

    /* 1.2 and 4.5: 三类 cases, from the policy */
    r = rule(item(cat, "1.2"), KH_RULE_CASE, 0);
    assert_true(r->case_kinds_policy);
    assert_true(r->locations[KH_LOC_UNIT_INTERIOR]);
    assert_false(r->locations[KH_LOC_CLOSED_COMMUNITY]);
    assert_int_equal(r->points, 2000);
    assert_int_equal(r->in_act_bonus, 0);
    r = rule(item(cat, "4.5"), KH_RULE_CASE, 0);
    assert_true(r->case_kinds_policy);
    assert_true(r->locations[KH_LOC_CLOSED_COMMUNITY]);
    assert_int_equal(r->points, 200);
    r = rule(item(cat, "4.5"), KH_RULE_RATE, 0);
    assert_int_equal(r->metric, KH_METRIC_COMMUNITY_INSTALL_RATE);
    assert_int_equal(r->step, 10000);
    assert_int_equal(r->points, 200);
    r = rule(item(cat, "4.5"), KH_RULE_RATE, 1);
    assert_int_equal(r->metric, KH_METRIC_UNIT_INSTALL_RATE);

    /* 4.1: urban stations count only posted notices */
    r = rule(item(cat, "4.1"), KH_RULE_COUNT_PER_PERIOD, 0);
    for (int k = 1; k <= 3; k++) {
        assert_int_equal(r->match.require.of[1][k], KH_FLAG_POSTED);
        assert_int_equal(r->match.require.of[0][k], 0);
        assert_int_equal(r->required.of[0][k], 1);
    }

    /* 4.2: urban quarterly, others half-yearly; 2 per miss, 1 for images */
    r = rule(item(cat, "4.2"), KH_RULE_COUNT_PER_PERIOD, 0);
    assert_int_equal(r->period.of[1][1], KH_PK_QUARTER);
    assert_int_equal(r->period.of[1][3], KH_PK_QUARTER);
    assert_int_equal(r->period.of[0][1], KH_PK_HALF_YEAR);
    assert_int_equal(r->points, 2000);
    assert_int_equal(r->image_points, 1000);

    /* 4.3: every month a meeting, else 2 once a year */
    r = rule(item(cat, "4.3"), KH_RULE_EVERY_SUBPERIOD, 0);
    assert_int_equal(r->match.event, KH_EV_MEETING);
    assert_int_equal(r->period.of[0][2], KH_PK_YEAR);
    assert_int_equal(r->subperiod, KH_PK_MONTH);
    assert_int_equal(r->points, 2000);

    /* 4.4: class 1 two resident patrols a month, others one */
    r = rule(item(cat, "4.4"), KH_RULE_COUNT_PER_PERIOD, 0);
    assert_int_equal(r->match.kind, KH_PATROL_RESIDENT);
    assert_int_equal(r->required.of[0][1], 2);
    assert_int_equal(r->required.of[1][1], 2);
    assert_int_equal(r->required.of[0][2], 1);
    assert_int_equal(r->required.of[1][3], 1);

    /* 4.6.2: team patrols by half-month for class 1, training a year */
    r = rule(item(cat, "4.6.2"), KH_RULE_COUNT_PER_PERIOD, 0);
    assert_int_equal(r->match.kind, KH_PATROL_TEAM);
    assert_int_equal(r->period.of[1][1], KH_PK_HALF_MONTH);
    assert_int_equal(r->period.of[0][2], KH_PK_MONTH);
    r = rule(item(cat, "4.6.2"), KH_RULE_COUNT_PER_PERIOD, 1);
    assert_int_equal(r->match.event, KH_EV_TRAINING);
    assert_int_equal(r->period.of[0][1], KH_PK_YEAR);
    assert_int_equal(r->points, 2000);

    /* 5.1: no plan 2, incomplete 0.5, all five fields */
    r = rule(item(cat, "5.1"), KH_RULE_PLAN, 0);
    assert_int_equal(r->points, 2000);
    assert_int_equal(r->incomplete_points, 500);
    assert_int_equal(r->plan_fields, 31u);

    /* 5.2.1: the policy's requirement, 0.2 */
    r = rule(item(cat, "5.2.1"), KH_RULE_COUNT_PER_PERIOD, 0);
    assert_true(r->required_policy);
    assert_int_equal(r->match.kind, KH_PATROL_PREVENTION);
    assert_int_equal(r->points, 200);
    assert_int_equal(r->applies, KH_APPLIES_ALL);

    /* 5.2.2: urban stations, 0.1 per patrol behind */
    size_t at = 0;
    r = kh_catalog_find_rule(cat, KH_RULE_URBAN_RANK, &at);
    assert_non_null(r);
    assert_string_equal(cat->items[at].id, "5.2.2");
    assert_int_equal(r->applies, KH_APPLIES_URBAN);
    assert_int_equal(r->points, 100);

    /* 5.2.3: the five kinds (seven names) at street/shop/market */
    r = rule(item(cat, "5.2.3"), KH_RULE_CASE, 0);
    for (int k = 0; k < KH_CASE_COUNT; k++)
        assert_int_equal(r->case_kinds[k], k <= KH_CASE_CAR_THEFT);
    assert_true(r->locations[KH_LOC_STREET]);
    assert_true(r->locations[KH_LOC_SHOP]);
    assert_true(r->locations[KH_LOC_MARKET]);
    assert_false(r->locations[KH_LOC_CLOSED_COMMUNITY]);
    assert_int_equal(r->points, 100);
    assert_true(r->in_act_waives);
    assert_int_equal(r->in_act_bonus, 2000);
    assert_int_equal(r->suspect_bonus, 500);
    kh_catalog_free(&cat);
}

/* A minimal valid catalog, with one substitution point in its rule. */
#define MIN_HEAD                                                                         \
    "{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":15}],"                         \
    "\"items\":[{\"id\":\"1.1\",\"section\":\"1\",\"project\":\"p\","                    \
    "\"content\":\"c\",\"standard\":\"s\",\"value\":\"v\",\"method\":\"m\","             \
    "\"cycle\":\"y\",\"source\":\"o\","
#define WITH_RULES(rules)    MIN_HEAD "\"rules\":[" rules "]}]}"
#define WITH_ITEM_TAIL(tail) MIN_HEAD tail "}]}"
#define COUNT_RULE(extra)                                                                \
    "{\"kind\":\"count_per_period\",\"match\":{\"event\":\"patrol\","                    \
    "\"kind\":\"resident\",\"require\":[\"has_record\"]},\"period\":"                    \
    "\"month\",\"required\":1,\"points\":2" extra "}"

static kh_catalog_t *accept(const char *text)
{
    kh_catalog_t *cat = NULL;
    char err[256];
    int rc = kh_catalog_load_mem(&cat, text, strlen(text), err, sizeof err);
    if (rc != KH_OK)
        fail_msg("refused (%s): %s\n  %s", kh_err_name(rc), err, text);
    return cat;
}

/* Loading must fail with KH_ECONFIG and a message starting with want. */
static void refuse(const char *text, const char *want)
{
    kh_catalog_t *cat = (kh_catalog_t *)&cat; /* must be reset to NULL */
    char err[256];
    int rc = kh_catalog_load_mem(&cat, text, strlen(text), err, sizeof err);
    if (rc != KH_ECONFIG)
        fail_msg("accepted (%s): %s", kh_err_name(rc), text);
    assert_null(cat);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("message \"%s\", want \"%s...\"\n  for %s", err, want, text);
}

static void test_minimal_and_by_station(void **state)
{
    (void)state;
    kh_catalog_t *cat = accept(WITH_RULES(COUNT_RULE("")));
    assert_int_equal(cat->nitems, 1);
    assert_string_equal(cat->items[0].remark, "");
    assert_string_equal(cat->title, "");
    kh_catalog_free(&cat);

    /* by station: urban first, then the class, then default */
    cat = accept(WITH_RULES(
        "{\"kind\":\"count_per_period\",\"what\":\"x\",\"match\":{\"event\":"
        "\"notice\",\"require\":{\"urban\":[\"posted\"],\"default\":[]}},"
        "\"period\":{\"urban\":\"quarter\",\"1\":\"half_month\",\"default\":"
        "\"month\"},\"required\":{\"1\":3,\"2\":2,\"3\":1},\"points\":\"0.25\"}"));
    const kh_rule_t *r = &cat->items[0].rules[0];
    assert_int_equal(r->period.of[1][1], KH_PK_QUARTER);
    assert_int_equal(r->period.of[1][2], KH_PK_QUARTER);
    assert_int_equal(r->period.of[0][1], KH_PK_HALF_MONTH);
    assert_int_equal(r->period.of[0][2], KH_PK_MONTH);
    assert_int_equal(r->period.of[0][3], KH_PK_MONTH);
    assert_int_equal(r->required.of[0][1], 3);
    assert_int_equal(r->required.of[1][2], 2);
    assert_int_equal(r->required.of[0][3], 1);
    assert_int_equal(r->match.require.of[1][2], KH_FLAG_POSTED);
    assert_int_equal(r->match.require.of[0][2], 0);
    assert_int_equal(r->points, 250);
    assert_string_equal(r->what, "x");
    kh_catalog_free(&cat);
}

static void test_refused_structure(void **state)
{
    (void)state;
    refuse("", "catalog line");
    refuse("[1]", "catalog: must be a JSON object");
    refuse("{\"items\":[]}", "sections: missing");
    refuse("{\"sections\":[],\"items\":[]}", "sections: must be a non-empty");
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":15}]}",
           "items: missing");
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\"}],\"items\":[1]}",
           "sections[0].max: missing");
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":-1}],"
           "\"items\":[1]}",
           "sections[0].max: must be between");
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":1},"
           "{\"id\":\"1\",\"title\":\"U\",\"max\":1}],\"items\":[1]}",
           "sections[1].id: section listed twice");
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":1}],"
           "\"items\":[1]}",
           "items[0]: must be an object");
    refuse("{\"extra\":1,\"sections\":[],\"items\":[]}", "extra: unknown field");
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":1,"
           "\"max\":2}],\"items\":[1]}",
           "catalog line");
    refuse(MIN_HEAD "\"rules\":[]}]}" /* fine */ "x", "catalog line");
    refuse(WITH_ITEM_TAIL("\"rules\":[], \"colour\":1"),
           "items[0].colour: unknown field");
    refuse(WITH_ITEM_TAIL("\"rules\":{}"), "items[0].rules: must be an array");
    refuse(MIN_HEAD "\"rules\":[]},{\"id\":\"1.1\",\"section\":\"1\"}]}",
           "items[1].project: missing");
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":1}],"
           "\"items\":[{\"id\":\"1.1\",\"section\":\"9\"}]}",
           "items[0].section: no such section");
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":1}],"
           "\"items\":[{\"id\":\"\",\"section\":\"1\"}]}",
           "items[0].id: must not be empty");
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":1}],"
           "\"items\":[{\"id\":\"1.2.3.4.5.6.7.8.9\",\"section\":\"1\"}]}",
           "items[0].id: longer than");
}

static void test_refused_items(void **state)
{
    (void)state;
    /* duplicate ids, grouping */
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":15}],"
           "\"items\":[{\"id\":\"a\",\"section\":\"1\",\"project\":\"\","
           "\"content\":\"\",\"standard\":\"\",\"value\":\"\",\"method\":\"\","
           "\"cycle\":\"\",\"source\":\"\",\"rules\":[]},"
           "{\"id\":\"a\",\"section\":\"1\",\"project\":\"\","
           "\"content\":\"\",\"standard\":\"\",\"value\":\"\",\"method\":\"\","
           "\"cycle\":\"\",\"source\":\"\",\"rules\":[]}]}",
           "items[1].id: item listed twice");
    refuse("{\"sections\":[{\"id\":\"1\",\"title\":\"T\",\"max\":15},"
           "{\"id\":\"2\",\"title\":\"U\",\"max\":15}],"
           "\"items\":[{\"id\":\"a\",\"section\":\"2\",\"project\":\"\","
           "\"content\":\"\",\"standard\":\"\",\"value\":\"\",\"method\":\"\","
           "\"cycle\":\"\",\"source\":\"\",\"rules\":[]},"
           "{\"id\":\"b\",\"section\":\"1\",\"project\":\"\","
           "\"content\":\"\",\"standard\":\"\",\"value\":\"\",\"method\":\"\","
           "\"cycle\":\"\",\"source\":\"\",\"rules\":[]}]}",
           "items[1].section: items must be grouped by section");
    /* defects */
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"x\"}],\"rules\":[]"),
           "items[0].defects[0].points: missing");
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"Bad Code\",\"points\":1}],"
                          "\"rules\":[{\"kind\":\"finding\"}]"),
           "items[0].defects[0].code: must be lower-case");
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"x\",\"points\":1,"
                          "\"range\":[1,2]}],\"rules\":[]"),
           "items[0].defects[0].range: give either");
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"x\",\"range\":[5,2]}],"
                          "\"rules\":[]"),
           "items[0].defects[0].range: min above max");
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"x\",\"range\":[1]}],"
                          "\"rules\":[]"),
           "items[0].defects[0].range: must be [min, max]");
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"x\",\"points\":0.0001}],"
                          "\"rules\":[]"),
           "items[0].defects[0].points: must have at most three decimals");
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"x\",\"points\":\"1.2345\"}],"
                          "\"rules\":[]"),
           "items[0].defects[0].points: not a decimal");
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"x\",\"points\":1,"
                          "\"each_time\":1}],\"rules\":[{\"kind\":\"finding\"}]"),
           "items[0].defects[0].each_time: must be true or false");
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"x\",\"points\":1},"
                          "{\"code\":\"x\",\"points\":2}],"
                          "\"rules\":[{\"kind\":\"finding\"}]"),
           "items[0].defects[1].code: defect listed twice");
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"x\",\"points\":1}],"
                          "\"rules\":[]"),
           "items[0].defects: the item has defects but no finding rule");
    refuse(WITH_RULES("{\"kind\":\"finding\"}"),
           "items[0].rules[0]: a finding rule needs the item's defects");
    refuse(WITH_ITEM_TAIL("\"defects\":[{\"code\":\"x\",\"points\":1}],"
                          "\"rules\":[{\"kind\":\"finding\"},"
                          "{\"kind\":\"finding\"}]"),
           "items[0].rules[1].kind: a second finding rule");
}

static void test_refused_rules(void **state)
{
    (void)state;
    refuse(WITH_RULES("1"), "items[0].rules[0]: must be an object");
    refuse(WITH_RULES("{}"), "items[0].rules[0].kind: missing");
    refuse(WITH_RULES("{\"kind\":\"magic\"}"),
           "items[0].rules[0].kind: unknown rule kind");
    refuse(WITH_RULES(COUNT_RULE(",\"colour\":1")),
           "items[0].rules[0].colour: unknown field");
    refuse(WITH_RULES(COUNT_RULE(",\"applies\":\"rural\"")),
           "items[0].rules[0].applies: must be");
    /* the brief's example: a period kind nobody knows */
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":\"notice\"},"
                      "\"period\":\"fortnight\",\"required\":1,\"points\":1}"),
           "items[0].rules[0].period: unknown period kind");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":\"notice\"},"
                      "\"period\":{\"urban\":\"month\",\"9\":\"month\"},\"required\":1,"
                      "\"points\":1}"),
           "items[0].rules[0].period.9: unknown field");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":\"notice\"},"
                      "\"period\":{\"urban\":\"month\",\"1\":\"month\"},\"required\":1,"
                      "\"points\":1}"),
           "items[0].rules[0].period: needs \"default\"");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":\"notice\"},"
                      "\"period\":{\"default\":\"weekly\"},\"required\":1,"
                      "\"points\":1}"),
           "items[0].rules[0].period.default: unknown period kind");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":\"notice\"},"
                      "\"period\":\"month\",\"required\":-1,\"points\":1}"),
           "items[0].rules[0].required: must be an integer");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":\"notice\"},"
                      "\"period\":\"month\",\"required\":{\"policy\":\"x\"},"
                      "\"points\":1}"),
           "items[0].rules[0].required.policy: the only policy count");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":\"notice\"},"
                      "\"period\":\"month\",\"points\":1}"),
           "items[0].rules[0].required: missing");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":\"notice\"},"
                      "\"period\":\"month\",\"required\":1}"),
           "items[0].rules[0].points: missing");
    /* match */
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"period\":\"month\","
                      "\"required\":1,\"points\":1}"),
           "items[0].rules[0].match: missing");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":"
                      "\"parade\"},\"period\":\"month\",\"required\":1,"
                      "\"points\":1}"),
           "items[0].rules[0].match.event: unknown event type");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":"
                      "\"call\"},\"period\":\"month\",\"required\":1,"
                      "\"points\":1}"),
           "items[0].rules[0].match.event: call events cannot be counted");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":"
                      "\"patrol\",\"kind\":\"night\"},\"period\":\"month\","
                      "\"required\":1,\"points\":1}"),
           "items[0].rules[0].match.kind: unknown patrol kind");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":"
                      "\"notice\",\"kind\":\"x\"},\"period\":\"month\","
                      "\"required\":1,\"points\":1}"),
           "items[0].rules[0].match.kind: notice events have no kind");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":"
                      "\"patrol\",\"require\":[\"posted\"]},\"period\":"
                      "\"month\",\"required\":1,\"points\":1}"),
           "items[0].rules[0].match.require[0]: patrol events do not carry it");
    refuse(WITH_RULES("{\"kind\":\"count_per_period\",\"match\":{\"event\":"
                      "\"patrol\",\"require\":[\"shiny\"]},\"period\":"
                      "\"month\",\"required\":1,\"points\":1}"),
           "items[0].rules[0].match.require[0]: unknown flag");
    refuse(
        WITH_RULES(COUNT_RULE("") "," /* images on notices */
                                  "{\"kind\":\"count_per_period\",\"match\":{\"event\":"
                                  "\"notice\"},\"period\":\"month\",\"required\":1,"
                                  "\"points\":1,\"no_images_points\":1}"),
        "items[0].rules[1].no_images_points: notice events carry no images");
    /* the other kinds' parameters */
    refuse(WITH_RULES("{\"kind\":\"case\",\"case_kinds\":[\"arson\"],"
                      "\"locations\":[\"street\"],\"points\":1}"),
           "items[0].rules[0].case_kinds[0]: unknown case kind");
    refuse(WITH_RULES("{\"kind\":\"case\",\"case_kinds\":{\"policy\":\"x\"},"
                      "\"locations\":[\"street\"],\"points\":1}"),
           "items[0].rules[0].case_kinds.policy: the only policy list");
    refuse(WITH_RULES("{\"kind\":\"case\",\"case_kinds\":[\"robbery\"],"
                      "\"locations\":[],\"points\":1}"),
           "items[0].rules[0].locations: must be a non-empty array");
    refuse(WITH_RULES("{\"kind\":\"case\",\"case_kinds\":[\"robbery\"],"
                      "\"locations\":[\"street\",\"street\"],\"points\":1}"),
           "items[0].rules[0].locations[1]: location listed twice");
    refuse(WITH_RULES("{\"kind\":\"case\",\"case_kinds\":[\"robbery\"],"
                      "\"locations\":[\"street\"],\"points\":1,"
                      "\"caught_in_act\":{\"waive\":\"yes\"}}"),
           "items[0].rules[0].caught_in_act.waive: must be true or false");
    refuse(WITH_RULES("{\"kind\":\"every_subperiod\",\"match\":{\"event\":"
                      "\"meeting\"},\"period\":\"month\",\"subperiod\":"
                      "\"quarter\",\"points\":2}"),
           "items[0].rules[0].subperiod: must be shorter than the period");
    refuse(WITH_RULES("{\"kind\":\"place_inspection\",\"categories\":"
                      "[\"hotel\"],\"match\":{\"event\":\"patrol\"},"
                      "\"period\":\"month\",\"required\":1,\"points\":1}"),
           "items[0].rules[0].match.event: patrol events cannot be counted");
    refuse(WITH_RULES("{\"kind\":\"place_inspection\",\"categories\":"
                      "[\"zoo\"],\"match\":{\"event\":\"inspection\"},"
                      "\"period\":\"month\",\"required\":1,\"points\":1}"),
           "items[0].rules[0].categories[0]: unknown category");
    refuse(WITH_RULES("{\"kind\":\"occupancy_check\",\"categories\":"
                      "[\"hotel\"],\"below\":101,\"match\":{\"event\":"
                      "\"inspection\"},\"points\":2}"),
           "items[0].rules[0].below: must be between");
    refuse(WITH_RULES("{\"kind\":\"rate\",\"metric\":\"happiness\","
                      "\"target\":100,\"step\":1,\"points\":2}"),
           "items[0].rules[0].metric: unknown metric");
    refuse(WITH_RULES("{\"kind\":\"rate\",\"metric\":\"unit_install_rate\","
                      "\"target\":100,\"step\":0,\"points\":2}"),
           "items[0].rules[0].step: must be between");
    refuse(WITH_RULES("{\"kind\":\"plan\",\"fields\":[\"zones\",\"maps\"],"
                      "\"points\":2,\"incomplete_points\":0.5}"),
           "items[0].rules[0].fields[1]: unknown plan field");
    refuse(WITH_RULES("{\"kind\":\"plan\",\"fields\":[],\"points\":2}"),
           "items[0].rules[0].incomplete_points: missing");
    refuse(WITH_RULES("{\"kind\":\"urban_rank\",\"match\":{\"event\":"
                      "\"patrol\"},\"points\":true}"),
           "items[0].rules[0].points: must be a number");
    refuse(WITH_RULES("{\"kind\":\"urban_rank\",\"match\":{\"event\":"
                      "\"patrol\"},\"points\":0.1,\"period\":\"month\"}"),
           "items[0].rules[0].period: unknown field");
}

static void test_load_errors(void **state)
{
    (void)state;
    kh_catalog_t *cat = (kh_catalog_t *)&cat;
    char err[256];
    assert_int_equal(kh_catalog_load(&cat, "/nonexistent/catalog.json", err, sizeof err),
                     KH_EIO);
    assert_null(cat);
    assert_non_null(strstr(err, "/nonexistent/catalog.json"));
    /* a tiny error buffer, or none, is fine */
    cat = (kh_catalog_t *)&cat;
    assert_int_equal(kh_catalog_load_mem(&cat, "{}", 2, err, 4), KH_ECONFIG);
    assert_int_equal(strlen(err), 3);
    assert_int_equal(kh_catalog_load_mem(&cat, "{}", 2, NULL, 0), KH_ECONFIG);
    assert_null(cat);
}

static void test_default_path(void **state)
{
    (void)state;
    setenv("KAOHE_RULES", "/some/where.json", 1);
    assert_string_equal(kh_catalog_default_path(), "/some/where.json");
    unsetenv("KAOHE_RULES");
    const char *p = kh_catalog_default_path();
    assert_non_null(p);
    assert_non_null(strstr(p, "catalog.json"));
}

/* The seed corpus: good-* load, bad-* are refused with a message. */
static void test_corpus(void **state)
{
    (void)state;
    DIR *d = opendir(CORPUS);
    assert_non_null(d);
    struct dirent *de;
    int good = 0, bad = 0;
    while ((de = readdir(d))) {
        bool is_good = strncmp(de->d_name, "good-", 5) == 0;
        bool is_bad = strncmp(de->d_name, "bad-", 4) == 0;
        if (!is_good && !is_bad)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", CORPUS, de->d_name);
        kh_catalog_t *cat = NULL;
        char err[256] = "";
        int rc = kh_catalog_load(&cat, path, err, sizeof err);
        if (is_good && rc != KH_OK)
            fail_msg("%s refused: %s", de->d_name, err);
        if (is_bad && rc != KH_ECONFIG)
            fail_msg("%s accepted", de->d_name);
        if (is_bad && !strstr(err, ": "))
            fail_msg("%s: message \"%s\" names no field", de->d_name, err);
        good += is_good;
        bad += is_bad;
        kh_catalog_free(&cat);
    }
    closedir(d);
    assert_true(good >= 2);
    assert_true(bad >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_ids_and_sections),
        cmocka_unit_test(test_shipped_defects),
        cmocka_unit_test(test_shipped_rules),
        cmocka_unit_test(test_minimal_and_by_station),
        cmocka_unit_test(test_refused_structure),
        cmocka_unit_test(test_refused_items),
        cmocka_unit_test(test_refused_rules),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
