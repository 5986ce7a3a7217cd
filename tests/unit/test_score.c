/*
 * test_score.c - the scoring engine (kh_score.h) against the shipped
 * catalog, one test per rule id of SPEC section 4 with the numbers worked
 * by hand from the standard (the reasoning is in each test's comment),
 * then the time-zone edges, closing vs pending vs not begun, the as_of
 * cut, order independence, the bonus cap, and the invariants on random
 * inputs.
 *
 * Events are built by filling kh_event_t directly (no JSON), so these
 * tests depend on the engine alone. Every scorecard computed here goes
 * through check_card(), which asserts the explain invariant (sum of final
 * entries = bonus - deducted, sum of pending entries = -pending, per item)
 * and the section/total arithmetic.
 *
 * The test county: A (class 1, urban), B and C (class 2, urban), R (class
 * 3), S (class 1, not urban); default policy (8/6/4 patrols, 三类 =
 * burglary, car_theft, motorcycle_theft, ebike_theft), Asia/Shanghai.
 * Unless a test says otherwise: year 2024, closed through 2024-02-29,
 * today 2024-03-10, so January and February are final, March is pending
 * and April on has not begun.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_error.h"
#include "kh_event.h"
#include "kh_score.h"

static kh_county_t *g_county;
static kh_catalog_t *g_cat;

static const char COUNTY[] =
    "{\"county\":\"测试县公安局\",\"stations\":["
    "{\"code\":\"A\",\"name\":\"甲所\",\"class\":1,\"urban\":true},"
    "{\"code\":\"B\",\"name\":\"乙所\",\"class\":2,\"urban\":true},"
    "{\"code\":\"C\",\"name\":\"丙所\",\"class\":2,\"urban\":true},"
    "{\"code\":\"R\",\"name\":\"丁所\",\"class\":3,\"urban\":false},"
    "{\"code\":\"S\",\"name\":\"戊所\",\"class\":1,\"urban\":false}],"
    "\"policy\":{\"timezone\":\"Asia/Shanghai\"}}";

static kh_county_t *load_county(const char *text)
{
    kh_county_t *c = NULL;
    char err[256];
    if (kh_county_load_mem(&c, text, strlen(text), err, sizeof err) != KH_OK)
        fail_msg("county: %s", err);
    return c;
}

static int group_setup(void **state)
{
    (void)state;
    char err[256];
    g_county = load_county(COUNTY);
    if (kh_catalog_load(&g_cat, KH_SOURCE_DIR "/rules/catalog.json", err, sizeof err) !=
        KH_OK)
        fail_msg("catalog: %s", err);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    kh_catalog_free(&g_cat);
    kh_county_free(&g_county);
    return 0;
}

/* ------------------------------------------------------------------ */
/* building events                                                      */
/* ------------------------------------------------------------------ */

typedef struct evs {
    kh_event_t **v;
    size_t n, cap;
} evs_t;

static kh_day_t D(const char *s)
{
    kh_day_t d = 0;
    if (kh_day_parse(s, &d) != KH_OK)
        fail_msg("bad date %s", s);
    return d;
}

/* A new event with the common fields; a time without an offset is
 * Shanghai's ("2024-02-03T10:00" means +08:00). */
static kh_event_t *base(evs_t *s, kh_evtype_t type, const char *id, const char *station,
                        const char *time)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        assert_non_null(s->v);
    }
    kh_event_t *ev = malloc(sizeof *ev);
    assert_non_null(ev);
    kh_event_init(ev);
    ev->type = type;
    ev->source = kh_evtype_source(type);
    snprintf(ev->id, sizeof ev->id, "%s", id);
    snprintf(ev->station, sizeof ev->station, "%s", station);
    char t[64];
    if (strlen(time) == 16)
        snprintf(t, sizeof t, "%s:00+08:00", time);
    else
        snprintf(t, sizeof t, "%s", time);
    if (kh_time_parse(t, &ev->time) != KH_OK)
        fail_msg("bad time %s", t);
    s->v[s->n++] = ev;
    return ev;
}

static void evs_free(evs_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        kh_event_clear(s->v[i]);
        free(s->v[i]);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

static void patrol(evs_t *s, const char *id, const char *st, const char *time,
                   const char *pid, kh_patrol_kind_t kind, bool rec, bool img)
{
    kh_event_t *ev = base(s, KH_EV_PATROL, id, st, time);
    snprintf(ev->patrol_id, sizeof ev->patrol_id, "%s", pid);
    ev->patrol_kind = kind;
    ev->has_record = rec;
    ev->has_images = img;
}

static void notice(evs_t *s, const char *id, const char *st, const char *time,
                   bool posted)
{
    base(s, KH_EV_NOTICE, id, st, time)->posted = posted;
}

static void education(evs_t *s, const char *id, const char *st, const char *time,
                      bool rec, bool img)
{
    kh_event_t *ev = base(s, KH_EV_EDUCATION, id, st, time);
    ev->has_record = rec;
    ev->has_images = img;
}

static void campaign(evs_t *s, const char *id, const char *st, const char *time, bool rec)
{
    base(s, KH_EV_CAMPAIGN, id, st, time)->has_record = rec;
}

static void place(evs_t *s, const char *id, const char *st, const char *time,
                  const char *pid, kh_category_t cat, const char *opened,
                  const char *closed)
{
    kh_event_t *ev = base(s, KH_EV_PLACE, id, st, time);
    snprintf(ev->place_id, sizeof ev->place_id, "%s", pid);
    ev->category = cat;
    ev->name = strdup(pid);
    ev->opened = D(opened);
    ev->closed = closed ? D(closed) : KH_DAY_NONE;
}

static void inspection(evs_t *s, const char *id, const char *st, const char *time,
                       const char *pid, kh_inspection_kind_t kind, bool in_platform)
{
    kh_event_t *ev = base(s, KH_EV_INSPECTION, id, st, time);
    snprintf(ev->place_id, sizeof ev->place_id, "%s", pid);
    ev->inspection_kind = kind;
    ev->in_platform = in_platform;
}

static void occupancy(evs_t *s, const char *id, const char *st, const char *time,
                      const char *pid, const char *month, kh_milli_t rate)
{
    kh_event_t *ev = base(s, KH_EV_OCCUPANCY, id, st, time);
    snprintf(ev->place_id, sizeof ev->place_id, "%s", pid);
    assert_int_equal(kh_month_parse(month, &ev->month), KH_OK);
    ev->rate = rate;
}

/* fields: the KH_PLAN_* bits present */
static void plan(evs_t *s, const char *id, const char *st, const char *time,
                 const char *quarter, unsigned fields)
{
    kh_event_t *ev = base(s, KH_EV_PATROL_PLAN, id, st, time);
    assert_int_equal(kh_quarter_parse(quarter, &ev->quarter), KH_OK);
    ev->zones = fields & KH_PLAN_ZONES;
    ev->routes = fields & KH_PLAN_ROUTES;
    ev->focal_points = fields & KH_PLAN_FOCAL_POINTS;
    ev->time_slots = fields & KH_PLAN_TIME_SLOTS;
    ev->forces = fields & KH_PLAN_FORCES;
}

static void rate(evs_t *s, const char *id, const char *st, const char *time,
                 kh_metric_t metric, kh_milli_t value)
{
    kh_event_t *ev = base(s, KH_EV_RATE, id, st, time);
    ev->metric = metric;
    ev->rate = value;
}

/* points < 0: a fixed defect (count used); else ranged points */
static void finding(evs_t *s, const char *id, const char *st, const char *time,
                    const char *item, const char *defect, const char *pid, int count,
                    kh_milli_t points)
{
    kh_event_t *ev = base(s, KH_EV_FINDING, id, st, time);
    snprintf(ev->item, sizeof ev->item, "%s", item);
    snprintf(ev->defect, sizeof ev->defect, "%s", defect);
    if (pid)
        snprintf(ev->place_id, sizeof ev->place_id, "%s", pid);
    ev->count = count;
    if (points >= 0) {
        ev->points = points;
        ev->has_points = true;
    }
}

static void self_score(evs_t *s, const char *id, const char *st, const char *time,
                       const char *item, kh_milli_t points)
{
    kh_event_t *ev = base(s, KH_EV_SELF_SCORE, id, st, time);
    snprintf(ev->item, sizeof ev->item, "%s", item);
    ev->points = points;
}

static void call(evs_t *s, const char *id, const char *st, const char *time,
                 const char *case_id, kh_case_kind_t kind, kh_location_t loc, int rev,
                 bool void_)
{
    kh_event_t *ev = base(s, KH_EV_CALL, id, st, time);
    snprintf(ev->case_id, sizeof ev->case_id, "%s", case_id);
    ev->case_kind = kind;
    ev->location = loc;
    ev->rev = rev;
    ev->void_ = void_;
}

static void review(evs_t *s, const char *id, const char *st, const char *time,
                   const char *case_id, kh_outcome_t outcome, int suspects, int rev)
{
    kh_event_t *ev = base(s, KH_EV_LEGAL_REVIEW, id, st, time);
    snprintf(ev->case_id, sizeof ev->case_id, "%s", case_id);
    ev->outcome = outcome;
    ev->suspects = suspects;
    ev->rev = rev;
}

/* ------------------------------------------------------------------ */
/* scoring and checking                                                 */
/* ------------------------------------------------------------------ */

static const kh_item_score_t *item_of(const kh_scorecard_t *card, const char *id)
{
    int i = kh_catalog_find_item(g_cat, id);
    if (i < 0 || (size_t)i >= card->nitems)
        fail_msg("no item %s", id);
    assert_int_equal(card->items[i].item, (size_t)i);
    return &card->items[i];
}

/* The invariants every scorecard keeps. */
static void check_card(const kh_county_t *county, const kh_scorecard_t *card)
{
    kh_milli_t total = 0, bonus = 0, pending = 0;
    assert_int_equal(card->nitems, g_cat->nitems);
    assert_int_equal(card->nsections, g_cat->nsections);
    for (size_t i = 0; i < card->nitems; i++) {
        const kh_item_score_t *is = &card->items[i];
        kh_milli_t fin = 0, pend = 0;
        assert_true(is->deducted >= 0);
        assert_true(is->bonus >= 0);
        assert_true(is->pending >= 0);
        for (size_t e = 0; e < is->nentries; e++) {
            const kh_entry_t *en = &is->entries[e];
            assert_true(en->points != 0);
            assert_non_null(en->why);
            assert_true(strlen(en->why) > 0);
            kh_period_t p;
            assert_int_equal(kh_period_parse(en->period, &p), KH_OK);
            for (size_t k = 0; k < en->nevents; k++)
                assert_true(strlen(en->events[k]) > 0);
            if (en->pending) {
                assert_true(en->points < 0);
                pend += en->points;
            } else {
                fin += en->points;
            }
        }
        assert_int_equal(fin, is->bonus - is->deducted);
        assert_int_equal(pend, -is->pending);
        bonus += is->bonus;
        pending += is->pending;
    }
    for (size_t s = 0; s < card->nsections; s++) {
        const kh_section_score_t *ss = &card->sections[s];
        kh_milli_t ded = 0;
        for (size_t i = 0; i < card->nitems; i++)
            if (g_cat->items[i].section == s)
                ded += card->items[i].deducted;
        assert_int_equal(ss->deducted, ded);
        assert_int_equal(ss->max, g_cat->sections[s].max);
        assert_int_equal(ss->score, ded >= ss->max ? 0 : ss->max - ded);
        total += ss->score;
    }
    if (county->has_bonus_cap && bonus > county->bonus_cap)
        bonus = county->bonus_cap;
    assert_int_equal(card->bonus, bonus);
    assert_int_equal(card->pending, pending);
    assert_int_equal(card->total, total + bonus);
}

typedef struct when {
    int year;
    kh_day_t closed, today, as_of;
} when_t;

/* The default: 2024, closed through February, today 10 March. */
static when_t dflt(void)
{
    when_t w = {2024, D("2024-02-29"), D("2024-03-10"), KH_DAY_NONE};
    return w;
}

/* Fills urban counts for the county's urban stations from the events. */
static void urban_counts(const kh_county_t *county, const evs_t *s, when_t w,
                         kh_urban_t *u)
{
    u->year = w.year;
    u->nstations = county->nstations;
    u->counts = calloc(county->nstations, sizeof *u->counts);
    assert_non_null(u->counts);
    kh_score_input_t in = {
        county, g_cat, 0,        w.year,  (const kh_event_t *const *)s->v,
        s->n,   NULL,  w.closed, w.today, w.as_of};
    for (size_t i = 0; i < county->nstations; i++) {
        if (!county->stations[i].urban)
            continue;
        in.station = (int)i;
        kh_score_prevention_counts(&in, u->counts[i]);
    }
}

static kh_scorecard_t *score_in(const kh_county_t *county, const evs_t *s,
                                const char *code, when_t w)
{
    int st = kh_county_find(county, code);
    assert_true(st >= 0);
    kh_urban_t u = {0};
    urban_counts(county, s, w, &u);
    kh_score_input_t in = {
        county, g_cat, st,       w.year,  (const kh_event_t *const *)s->v,
        s->n,   &u,    w.closed, w.today, w.as_of};
    kh_scorecard_t *card = NULL;
    assert_int_equal(kh_score_station(&in, &card), KH_OK);
    assert_non_null(card);
    assert_int_equal(card->station, st);
    assert_int_equal(card->year, w.year);
    check_card(county, card);
    free(u.counts);
    return card;
}

static kh_scorecard_t *score(const evs_t *s, const char *code, when_t w)
{
    return score_in(g_county, s, code, w);
}

/* Asserts an item's figures, in milli-points. */
#define EXPECT(card, id, ded, bon, pend)                                                 \
    do {                                                                                 \
        const kh_item_score_t *is_ = item_of((card), (id));                              \
        if (is_->deducted != (ded) || is_->bonus != (bon) || is_->pending != (pend))     \
            fail_msg("%s: deducted %lld bonus %lld pending %lld, want %lld "             \
                     "%lld %lld",                                                        \
                     (id), (long long)is_->deducted, (long long)is_->bonus,              \
                     (long long)is_->pending, (long long)(ded), (long long)(bon),        \
                     (long long)(pend));                                                 \
    } while (0)

/* The entry of an item with a period (the first such), or NULL. */
static const kh_entry_t *entry_at(const kh_scorecard_t *card, const char *id,
                                  const char *period)
{
    const kh_item_score_t *is = item_of(card, id);
    for (size_t e = 0; e < is->nentries; e++)
        if (strcmp(is->entries[e].period, period) == 0)
            return &is->entries[e];
    return NULL;
}

static bool entry_has_event(const kh_entry_t *en, const char *id)
{
    for (size_t k = 0; en && k < en->nevents; k++)
        if (strcmp(en->events[k], id) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* 一 治安管理                                                          */
/* ------------------------------------------------------------------ */

/*
 * 1.1.1 底数: "底数不清楚的,每处扣0.1分,未录入警综平台的,每处扣0.5分,
 * 登记表和平台数据不符合的,每处扣0.1分", each (place, defect) once a year.
 *   f0 unregistered P1 (01 Feb)            0.1  (the earliest of P1's two)
 *   f1 unregistered P1 (10 Feb)            -    (same place and defect)
 *   f2 unregistered P2                     0.1
 *   f3 not_in_platform P1                  0.5  (another defect)
 *   f4 mismatch, no place, count 3         0.3
 *   f5 mismatch, no place                  0.1  (no place: each counts)
 *   f6 unregistered P1 in 2023, f7 by S, f8 for item 4.6.1: not here
 * = 1.1, at once (never pending).
 */
static void test_1_1_1(void **state)
{
    (void)state;
    evs_t s = {0};
    finding(&s, "f1", "R", "2024-02-10T10:00", "1.1.1", "unregistered", "P1", 1, -1);
    finding(&s, "f0", "R", "2024-02-01T10:00", "1.1.1", "unregistered", "P1", 1, -1);
    finding(&s, "f2", "R", "2024-02-03T10:00", "1.1.1", "unregistered", "P2", 1, -1);
    finding(&s, "f3", "R", "2024-02-04T10:00", "1.1.1", "not_in_platform", "P1", 1, -1);
    finding(&s, "f4", "R", "2024-02-05T10:00", "1.1.1", "mismatch", NULL, 3, -1);
    finding(&s, "f5", "R", "2024-02-06T10:00", "1.1.1", "mismatch", NULL, 1, -1);
    finding(&s, "f6", "R", "2023-12-20T10:00", "1.1.1", "unregistered", "P1", 1, -1);
    finding(&s, "f7", "S", "2024-02-05T10:00", "1.1.1", "mismatch", NULL, 1, -1);
    finding(&s, "f8", "R", "2024-02-05T10:00", "4.6.1", "unregistered", "P1", 1, -1);
    when_t w = dflt();
    w.closed = KH_DAY_NONE; /* findings count at once, closed or not */
    kh_scorecard_t *c = score(&s, "R", w);
    EXPECT(c, "1.1.1", 1100, 0, 0);
    const kh_item_score_t *is = item_of(c, "1.1.1");
    assert_int_equal(is->nentries, 5);
    bool saw_f0 = false;
    for (size_t e = 0; e < is->nentries; e++) {
        assert_string_equal(is->entries[e].period, "2024");
        assert_false(is->entries[e].pending);
        assert_false(entry_has_event(&is->entries[e], "f1"));
        saw_f0 |= entry_has_event(&is->entries[e], "f0");
    }
    assert_true(saw_f0);
    kh_scorecard_free(&c);
    /* 2023: only f6 */
    w.year = 2023;
    c = score(&s, "R", w);
    EXPECT(c, "1.1.1", 100, 0, 0);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 1.1.2a 特种行业安全检查: "安全检查每月不少于1次,并录入警综平台,少1次扣
 * 0.5分", for special_industry and hotel places due in the month.
 *   H  hotel since 2023: Jan safety in platform (ok); Feb safety not in
 *      platform (missing, final 0.5); Mar only onsite (missing, pending 0.5)
 *   S1 special_industry opened 10 Feb: not due in Feb (opened after the
 *      1st); Mar pending 0.5
 *   X  hotel closed 20 Jan: closed before Jan's last day, never due
 *   K  key_industry first, re-registered (later event) as special_industry
 *      since 2023-06: the latest wins: Jan 0.5 + Feb 0.5 final, Mar 0.5
 *      pending
 *   F  filing_industry: not this rule
 * deducted 0.5 (H) + 1.0 (K) = 1.5; pending 0.5 x 3 = 1.5.
 */
static void test_1_1_2a(void **state)
{
    (void)state;
    evs_t s = {0};
    place(&s, "pH", "R", "2024-01-01T09:00", "H", KH_CAT_HOTEL, "2023-01-01", NULL);
    place(&s, "pS1", "R", "2024-02-10T09:00", "S1", KH_CAT_SPECIAL_INDUSTRY, "2024-02-10",
          NULL);
    place(&s, "pX", "R", "2024-01-01T09:00", "X", KH_CAT_HOTEL, "2020-01-01",
          "2024-01-20");
    place(&s, "pK1", "R", "2024-01-01T09:00", "K", KH_CAT_KEY_INDUSTRY, "2023-06-01",
          NULL);
    place(&s, "pK2", "R", "2024-01-02T09:00", "K", KH_CAT_SPECIAL_INDUSTRY, "2023-06-01",
          NULL);
    place(&s, "pF", "R", "2024-01-01T09:00", "F", KH_CAT_FILING_INDUSTRY, "2023-01-01",
          NULL);
    inspection(&s, "i1", "R", "2024-01-05T10:00", "H", KH_INSP_SAFETY, true);
    inspection(&s, "i2", "R", "2024-02-05T10:00", "H", KH_INSP_SAFETY, false);
    inspection(&s, "i3", "R", "2024-03-05T10:00", "H", KH_INSP_ONSITE, true);
    kh_scorecard_t *c = score(&s, "R", dflt());
    EXPECT(c, "1.1.2a", 1500, 0, 1500);
    const kh_entry_t *jan = entry_at(c, "1.1.2a", "2024-01");
    assert_non_null(jan);
    assert_int_equal(jan->points, -500);
    assert_true(entry_has_event(jan, "pK2")); /* the winning place event */
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 1.1.2b 旅店业治安管理信息系统: "达100%。每低1个百分点扣2分", the year's
 * latest rate, whole points only, a year rule.
 *   2023-12-28 50.0 (2023's), 2024-02-01 95.0, 2024-03-01 97.5 (latest)
 *   2024: 2.5 below -> 2 whole points -> 4.0; pending while 2024 is open,
 *   deducted once it is closed. 2023 closed: 50 below -> 100 points, and
 *   section 1 stops at 0 (扣完为止).
 *   2025: two rates at the same instant, the greater id wins: 99.5 ->
 *   0.5 below -> 0 whole points -> nothing. No rate at all: nothing.
 */
static void test_1_1_2b(void **state)
{
    (void)state;
    evs_t s = {0};
    rate(&s, "r0", "R", "2023-12-28T10:00", KH_METRIC_HOTEL_SYSTEM_COVERAGE, 50000);
    rate(&s, "r1", "R", "2024-02-01T10:00", KH_METRIC_HOTEL_SYSTEM_COVERAGE, 95000);
    rate(&s, "r2", "R", "2024-03-01T10:00", KH_METRIC_HOTEL_SYSTEM_COVERAGE, 97500);
    rate(&s, "r-a", "R", "2025-03-01T10:00", KH_METRIC_HOTEL_SYSTEM_COVERAGE, 90000);
    rate(&s, "r-b", "R", "2025-03-01T10:00", KH_METRIC_HOTEL_SYSTEM_COVERAGE, 99500);
    kh_scorecard_t *c = score(&s, "R", dflt());
    EXPECT(c, "1.1.2b", 0, 0, 4000);
    const kh_entry_t *en = entry_at(c, "1.1.2b", "2024");
    assert_non_null(en);
    assert_true(en->pending);
    assert_true(entry_has_event(en, "r2"));
    kh_scorecard_free(&c);

    when_t w = {2024, D("2024-12-31"), D("2025-01-10"), KH_DAY_NONE};
    c = score(&s, "R", w);
    EXPECT(c, "1.1.2b", 4000, 0, 0);
    kh_scorecard_free(&c);

    w.year = 2023;
    c = score(&s, "R", w);
    EXPECT(c, "1.1.2b", 100000, 0, 0);
    assert_int_equal(c->sections[0].score, 0);
    kh_scorecard_free(&c);

    w.year = 2025;
    w.closed = D("2025-12-31");
    w.today = D("2026-01-05");
    c = score(&s, "R", w);
    EXPECT(c, "1.1.2b", 0, 0, 0);
    kh_scorecard_free(&c);
    c = score(&s, "S", w); /* never reported */
    EXPECT(c, "1.1.2b", 0, 0, 0);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 1.1.2c 入住率低于10%必须实地检查,少一次扣2分: a registered hotel due
 * that month, occupancy < 10, no counted onsite inspection that month.
 *   H  Jan 9.9, no onsite (a safety one does not do)      final 2
 *   H  Feb 5.0, onsite in platform on 20 Feb               0
 *   H  Mar 8.0 then corrected to 12.0 (later report wins)  0
 *   H  Apr 3.0, reported 9 Mar: April not begun            0
 *   H2 Feb 2.0, onsite not in platform                     final 2
 *   SP special_industry Feb 1.0: not a hotel               0
 *   H3 hotel opened 10 Feb, Feb 1.0: not due in Feb        0
 *   NOPE never registered, Feb 1.0                         0
 * = deducted 4, pending 0. With today 2 April, H's April shows pending 2.
 */
static void test_1_1_2c(void **state)
{
    (void)state;
    evs_t s = {0};
    place(&s, "pH", "R", "2024-01-01T09:00", "H", KH_CAT_HOTEL, "2023-01-01", NULL);
    place(&s, "pH2", "R", "2024-01-01T09:00", "H2", KH_CAT_HOTEL, "2023-01-01", NULL);
    place(&s, "pSP", "R", "2024-01-01T09:00", "SP", KH_CAT_SPECIAL_INDUSTRY, "2023-01-01",
          NULL);
    place(&s, "pH3", "R", "2024-02-10T09:00", "H3", KH_CAT_HOTEL, "2024-02-10", NULL);
    occupancy(&s, "o1", "R", "2024-01-31T10:00", "H", "2024-01", 9900);
    inspection(&s, "i1", "R", "2024-01-10T10:00", "H", KH_INSP_SAFETY, true);
    occupancy(&s, "o2", "R", "2024-02-28T10:00", "H", "2024-02", 5000);
    inspection(&s, "i2", "R", "2024-02-20T10:00", "H", KH_INSP_ONSITE, true);
    occupancy(&s, "o3", "R", "2024-03-05T10:00", "H", "2024-03", 8000);
    occupancy(&s, "o3b", "R", "2024-03-08T10:00", "H", "2024-03", 12000);
    occupancy(&s, "o4", "R", "2024-03-09T10:00", "H", "2024-04", 3000);
    occupancy(&s, "o5", "R", "2024-02-28T10:00", "H2", "2024-02", 2000);
    inspection(&s, "i5", "R", "2024-02-20T10:00", "H2", KH_INSP_ONSITE, false);
    occupancy(&s, "o6", "R", "2024-02-28T10:00", "SP", "2024-02", 1000);
    occupancy(&s, "o7", "R", "2024-02-28T10:00", "H3", "2024-02", 1000);
    occupancy(&s, "o8", "R", "2024-02-28T10:00", "NOPE", "2024-02", 1000);
    kh_scorecard_t *c = score(&s, "R", dflt());
    EXPECT(c, "1.1.2c", 4000, 0, 0);
    const kh_entry_t *jan = entry_at(c, "1.1.2c", "2024-01");
    assert_non_null(jan);
    assert_true(entry_has_event(jan, "pH"));
    assert_true(entry_has_event(jan, "o1"));
    kh_scorecard_free(&c);
    when_t w = dflt();
    w.today = D("2024-04-02");
    c = score(&s, "R", w);
    EXPECT(c, "1.1.2c", 4000, 0, 2000);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 1.1.3a 漏登记备案1户扣1分 (findings): unfiled x3 without a place = 3,
 * unfiled at F1 = 1, unfiled at F1 again = 0 (once a year) -> 4.
 */
static void test_1_1_3a(void **state)
{
    (void)state;
    evs_t s = {0};
    finding(&s, "a1", "R", "2024-02-01T10:00", "1.1.3a", "unfiled", NULL, 3, -1);
    finding(&s, "a2", "R", "2024-02-02T10:00", "1.1.3a", "unfiled", "F1", 1, -1);
    finding(&s, "a3", "R", "2024-05-02T10:00", "1.1.3a", "unfiled", "F1", 1, -1);
    kh_scorecard_t *c = score(&s, "R", dflt());
    EXPECT(c, "1.1.3a", 4000, 0, 0);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 1.1.3b 备案行业每季度至少一次检查并录入警综平台,无检查记录的每处扣0.5分.
 * Closed through June, today 10 July.
 *   F1 since 2023: Q1 onsite in platform (any kind counts); Q2 only a
 *      safety inspection not in platform -> final 0.5; Q3 pending 0.5
 *   F2 opened 1 Feb: not due in Q1; Q2 final 0.5; Q3 pending 0.5
 *   F3 closed 1 May: due in Q1 (no inspection, final 0.5); not in Q2
 * = deducted 1.5, pending 1.0.
 */
static void test_1_1_3b(void **state)
{
    (void)state;
    evs_t s = {0};
    place(&s, "p1", "R", "2024-01-01T09:00", "F1", KH_CAT_FILING_INDUSTRY, "2023-01-01",
          NULL);
    place(&s, "p2", "R", "2024-02-01T09:00", "F2", KH_CAT_FILING_INDUSTRY, "2024-02-01",
          NULL);
    place(&s, "p3", "R", "2024-01-01T09:00", "F3", KH_CAT_FILING_INDUSTRY, "2022-01-01",
          "2024-05-01");
    inspection(&s, "i1", "R", "2024-02-10T10:00", "F1", KH_INSP_ONSITE, true);
    inspection(&s, "i2", "R", "2024-05-10T10:00", "F1", KH_INSP_SAFETY, false);
    when_t w = {2024, D("2024-06-30"), D("2024-07-10"), KH_DAY_NONE};
    kh_scorecard_t *c = score(&s, "R", w);
    EXPECT(c, "1.1.3b", 1500, 0, 1000);
    assert_null(entry_at(c, "1.1.3b", "2024-Q4"));
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 1.1.4 集中清查、整治: "未开展的扣5分,开展效果不好的扣2分,资料收集不齐的
 * 扣2-5分". A campaign needs has_record; findings count at once.
 *   (a) year open, a campaign without record, poor_effect (2) and
 *       incomplete_materials (3.5): deducted 5.5, pending 5 (no campaign)
 *   (b) plus a recorded campaign: pending 0
 *   (c) as (a) with 2024 closed: deducted 5 + 5.5 = 10.5
 */
static void test_1_1_4(void **state)
{
    (void)state;
    evs_t s = {0};
    campaign(&s, "c0", "S", "2024-02-01T10:00", false);
    finding(&s, "f1", "S", "2024-02-02T10:00", "1.1.4", "poor_effect", NULL, 1, -1);
    finding(&s, "f2", "S", "2024-02-03T10:00", "1.1.4", "incomplete_materials", NULL, 1,
            3500);
    when_t w = dflt();
    w.closed = KH_DAY_NONE;
    kh_scorecard_t *c = score(&s, "S", w);
    EXPECT(c, "1.1.4", 5500, 0, 5000);
    kh_scorecard_free(&c);

    when_t wc = {2024, D("2024-12-31"), D("2025-01-10"), KH_DAY_NONE};
    c = score(&s, "S", wc);
    EXPECT(c, "1.1.4", 10500, 0, 0);
    kh_scorecard_free(&c);

    campaign(&s, "c1", "S", "2024-03-01T10:00", true);
    c = score(&s, "S", w);
    EXPECT(c, "1.1.4", 5500, 0, 0);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 1.2 内保指导: "单位内部发生三类可防性案件的,每件扣2分 ... 不落实的扣3-5分".
 *   K1 burglary unit_interior                 2
 *   K2 car_theft unit_interior                2
 *   K3 robbery unit_interior                  0 (not 三类 by default)
 *   K4 burglary street                        0 (not inside a unit)
 *   K5 burglary unit_interior, voided by rev 1  0
 *   K6 motorcycle_theft unit_interior, caught in the act: still 2, no
 *      bonus (the waiver is 5.2.3's, not 1.2's)
 *   K7 burglary unit_interior 2023-12-31 23:00 Shanghai: 2023's
 *   spot_check_failed, points 4                4
 * = 10 at once; section 1 = 15 - 10 = 5.
 * With policy three_class_kinds ["robbery"]: K3 2 + finding 4 = 6.
 */
static void test_1_2(void **state)
{
    (void)state;
    evs_t s = {0};
    call(&s, "k1", "R", "2024-02-01T10:00", "K1", KH_CASE_BURGLARY, KH_LOC_UNIT_INTERIOR,
         0, false);
    call(&s, "k2", "R", "2024-02-02T10:00", "K2", KH_CASE_CAR_THEFT, KH_LOC_UNIT_INTERIOR,
         0, false);
    call(&s, "k3", "R", "2024-02-03T10:00", "K3", KH_CASE_ROBBERY, KH_LOC_UNIT_INTERIOR,
         0, false);
    call(&s, "k4", "R", "2024-02-04T10:00", "K4", KH_CASE_BURGLARY, KH_LOC_STREET, 0,
         false);
    call(&s, "k5", "R", "2024-02-05T10:00", "K5", KH_CASE_BURGLARY, KH_LOC_UNIT_INTERIOR,
         0, false);
    call(&s, "k5b", "R", "2024-02-06T10:00", "K5", KH_CASE_BURGLARY, KH_LOC_UNIT_INTERIOR,
         1, true);
    call(&s, "k6", "R", "2024-02-07T10:00", "K6", KH_CASE_MOTORCYCLE_THEFT,
         KH_LOC_UNIT_INTERIOR, 0, false);
    review(&s, "r6", "R", "2024-02-08T10:00", "K6", KH_OUT_CAUGHT_IN_ACT, 0, 0);
    call(&s, "k7", "R", "2023-12-31T15:00:00Z", "K7", KH_CASE_BURGLARY,
         KH_LOC_UNIT_INTERIOR, 0, false);
    finding(&s, "f1", "R", "2024-06-01T10:00", "1.2", "spot_check_failed", NULL, 1, 4000);
    kh_scorecard_t *c = score(&s, "R", dflt());
    EXPECT(c, "1.2", 10000, 0, 0);
    assert_int_equal(c->sections[0].score, 5000);
    kh_scorecard_free(&c);

    kh_county_t *robbery =
        load_county("{\"county\":\"x\",\"stations\":[{\"code\":\"R\",\"name\":\"丁所\","
                    "\"class\":3}],\"policy\":{\"three_class_kinds\":[\"robbery\"]}}");
    c = score_in(robbery, &s, "R", dflt());
    EXPECT(c, "1.2", 6000, 0, 0);
    kh_scorecard_free(&c);
    kh_county_free(&robbery);
    evs_free(&s);
}

/* ------------------------------------------------------------------ */
/* 四 安全防范                                                          */
/* ------------------------------------------------------------------ */

/*
 * 4.1 警情通报: "每月不少于一次,少一次扣1分。城区三所要将...张贴".
 *   A (urban): Jan posted (ok); Feb only unposted (final 1); Mar none
 *     (pending 1)                               -> 1 / pending 1
 *   R (not urban): Jan none (final 1); Feb unposted counts (ok); Mar none
 *     (pending 1)                               -> 1 / pending 1
 */
static void test_4_1(void **state)
{
    (void)state;
    evs_t s = {0};
    notice(&s, "n1", "A", "2024-01-05T10:00", true);
    notice(&s, "n2", "A", "2024-02-05T10:00", false);
    notice(&s, "n3", "R", "2024-02-05T10:00", false);
    kh_scorecard_t *c = score(&s, "A", dflt());
    EXPECT(c, "4.1", 1000, 0, 1000);
    assert_string_equal(entry_at(c, "4.1", "2024-02")->why,
                        "2024-02: 0 of 1 required notices (class 1, urban); "
                        "1 missing × 1.00 = 1.00");
    kh_scorecard_free(&c);
    c = score(&s, "R", dflt());
    EXPECT(c, "4.1", 1000, 0, 1000);
    assert_null(entry_at(c, "4.1", "2024-02"));
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 4.2 法制宣传: "城区三派出所每季度,其他派出所每半年...一次。每少一次扣2分,
 * 无记录的视为未开展,无影像资料记录的扣1分". Closed through June, today
 * 10 July.
 *   A (urban, quarters): Q1 one recorded session without images (final
 *     1); Q2 only an unrecorded one (final 2); Q3 pending 2; Q4 not begun
 *     -> 3 / pending 2
 *   R (half-years): H1 a recorded session without images and one with ->
 *     ok; H2 pending 2                          -> 0 / pending 2
 *   S (half-years): H1 recorded without images + unrecorded with images
 *     -> the counted one lacks images (final 1); H2 pending 2
 */
static void test_4_2(void **state)
{
    (void)state;
    evs_t s = {0};
    education(&s, "a1", "A", "2024-02-10T10:00", true, false);
    education(&s, "a2", "A", "2024-05-10T10:00", false, true);
    education(&s, "r1", "R", "2024-02-10T10:00", true, false);
    education(&s, "r2", "R", "2024-04-10T10:00", true, true);
    education(&s, "s1", "S", "2024-02-10T10:00", true, false);
    education(&s, "s2", "S", "2024-03-10T10:00", false, true);
    when_t w = {2024, D("2024-06-30"), D("2024-07-10"), KH_DAY_NONE};
    kh_scorecard_t *c = score(&s, "A", w);
    EXPECT(c, "4.2", 3000, 0, 2000);
    const kh_entry_t *q1 = entry_at(c, "4.2", "2024-Q1");
    assert_non_null(q1);
    assert_int_equal(q1->points, -1000);
    assert_true(entry_has_event(q1, "a1"));
    kh_scorecard_free(&c);
    c = score(&s, "R", w);
    EXPECT(c, "4.2", 0, 0, 2000);
    assert_non_null(entry_at(c, "4.2", "2024-H2"));
    kh_scorecard_free(&c);
    c = score(&s, "S", w);
    EXPECT(c, "4.2", 1000, 0, 2000);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 4.3 治保会: "每月一次治保主任例会 ... 抽查一个治保会,缺一项的扣2分": a
 * year in which any month had no meeting -2 once (a year rule); other
 * missing items by finding, 2 each.
 *   (a) meetings every month but July, 2024 closed: 2, once
 *   (b) meetings January to June, today 15 June: no month that has begun
 *       was missed: nothing pending
 *   (c) as (b) without May: pending 2; plus a finding missing_item x2: 4
 */
static void test_4_3(void **state)
{
    (void)state;
    evs_t s = {0};
    for (int m = 1; m <= 12; m++) {
        if (m == 7)
            continue;
        char id[16], t[32];
        snprintf(id, sizeof id, "m%d", m);
        snprintf(t, sizeof t, "2024-%02d-05T10:00", m);
        base(&s, KH_EV_MEETING, id, "R", t);
    }
    when_t wc = {2024, D("2024-12-31"), D("2025-01-10"), KH_DAY_NONE};
    kh_scorecard_t *c = score(&s, "R", wc);
    EXPECT(c, "4.3", 2000, 0, 0);
    assert_int_equal(item_of(c, "4.3")->nentries, 1);
    assert_int_equal(item_of(c, "4.3")->entries[0].nevents, 11);
    kh_scorecard_free(&c);
    evs_free(&s);

    for (int m = 1; m <= 6; m++) {
        char id[16], t[32];
        snprintf(id, sizeof id, "m%d", m);
        snprintf(t, sizeof t, "2024-%02d-05T10:00", m);
        base(&s, KH_EV_MEETING, id, "R", t);
    }
    when_t w = {2024, KH_DAY_NONE, D("2024-06-15"), KH_DAY_NONE};
    c = score(&s, "R", w);
    EXPECT(c, "4.3", 0, 0, 0);
    kh_scorecard_free(&c);
    evs_free(&s);

    for (int m = 1; m <= 6; m++) {
        char id[16], t[32];
        if (m == 5)
            continue;
        snprintf(id, sizeof id, "m%d", m);
        snprintf(t, sizeof t, "2024-%02d-05T10:00", m);
        base(&s, KH_EV_MEETING, id, "R", t);
    }
    finding(&s, "f1", "R", "2024-06-01T10:00", "4.3", "missing_item", NULL, 2, -1);
    c = score(&s, "R", w);
    EXPECT(c, "4.3", 4000, 0, 2000);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 4.4 组织居民巡逻看护: "一类派出所...每月不少于二次,其他派出所每月不少于
 * 一次,每少一次扣2分,无记录的,视为未组织".
 *   A (class 1): Jan R1 recorded + R2 unrecorded -> 1 of 2 (final 2);
 *     Feb R3 reported twice (counts once), R4 reported 25 Feb and again 2
 *     Mar (the latest report dates it: March) -> 1 of 2 (final 2); Mar R4
 *     -> 1 of 2 (pending 2); April on not begun     -> 4 / pending 2
 *   B (class 2): Jan R1 (ok); Feb only a team patrol (final 2); Mar R5
 *     whose latest report has no record (pending 2)  -> 2 / pending 2
 */
static void test_4_4(void **state)
{
    (void)state;
    evs_t s = {0};
    patrol(&s, "a1", "A", "2024-01-05T10:00", "R1", KH_PATROL_RESIDENT, true, true);
    patrol(&s, "a2", "A", "2024-01-06T10:00", "R2", KH_PATROL_RESIDENT, false, true);
    patrol(&s, "a3", "A", "2024-02-03T10:00", "R3", KH_PATROL_RESIDENT, true, true);
    patrol(&s, "a3b", "A", "2024-02-20T10:00", "R3", KH_PATROL_RESIDENT, true, true);
    patrol(&s, "a4", "A", "2024-02-25T10:00", "R4", KH_PATROL_RESIDENT, true, true);
    patrol(&s, "a4b", "A", "2024-03-02T10:00", "R4", KH_PATROL_RESIDENT, true, true);
    patrol(&s, "b1", "B", "2024-01-05T10:00", "R1", KH_PATROL_RESIDENT, true, false);
    patrol(&s, "b2", "B", "2024-02-05T10:00", "T1", KH_PATROL_TEAM, true, true);
    patrol(&s, "b3", "B", "2024-03-02T10:00", "R5", KH_PATROL_RESIDENT, true, true);
    patrol(&s, "b3b", "B", "2024-03-03T10:00", "R5", KH_PATROL_RESIDENT, false, true);
    kh_scorecard_t *c = score(&s, "A", dflt());
    EXPECT(c, "4.4", 4000, 0, 2000);
    const kh_entry_t *feb = entry_at(c, "4.4", "2024-02");
    assert_int_equal(feb->nevents, 1);
    assert_string_equal(feb->events[0], "a3b");
    assert_true(entry_has_event(entry_at(c, "4.4", "2024-03"), "a4b"));
    assert_string_equal(entry_at(c, "4.4", "2024-01")->why,
                        "2024-01: 1 of 2 required resident patrols (class 1, "
                        "urban); 1 missing × 2.00 = 2.00");
    kh_scorecard_free(&c);
    c = score(&s, "B", dflt());
    EXPECT(c, "4.4", 2000, 0, 2000);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 4.5 物防技防: "底数不清的扣0.5-1分,规模封闭小区安装率达100%,少10%的,扣
 * 0.2分,单位要害部位安装率达100%,少10%的,扣0.2分。封闭小区发生“三类”可防
 * 性案件的,每件扣0.2分".
 *   community_install_rate 78.0: 22 below -> 2 whole tens -> 0.4 (year)
 *   unit_install_rate 89.9: 10.1 below -> 1 whole ten -> 0.2 (year)
 *   K1 burglary closed_community: 0.2 at once; K2 robbery there: 0
 *   finding unclear, points 0.8: 0.8 at once
 * Year open: deducted 1.0, pending 0.6. Year closed: deducted 1.6.
 */
static void test_4_5(void **state)
{
    (void)state;
    evs_t s = {0};
    rate(&s, "r1", "R", "2024-02-15T10:00", KH_METRIC_COMMUNITY_INSTALL_RATE, 78000);
    rate(&s, "r2", "R", "2024-02-15T10:00", KH_METRIC_UNIT_INSTALL_RATE, 89900);
    call(&s, "k1", "R", "2024-02-01T10:00", "K1", KH_CASE_BURGLARY,
         KH_LOC_CLOSED_COMMUNITY, 0, false);
    call(&s, "k2", "R", "2024-02-02T10:00", "K2", KH_CASE_ROBBERY,
         KH_LOC_CLOSED_COMMUNITY, 0, false);
    finding(&s, "f1", "R", "2024-02-17T10:00", "4.5", "unclear", NULL, 1, 800);
    kh_scorecard_t *c = score(&s, "R", dflt());
    EXPECT(c, "4.5", 1000, 0, 600);
    kh_scorecard_free(&c);
    when_t wc = {2024, D("2024-12-31"), D("2025-01-10"), KH_DAY_NONE};
    c = score(&s, "R", wc);
    EXPECT(c, "4.5", 1600, 0, 0);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 4.6.1 群防群治 registry: "每处扣0.1分 ... 每项扣0.2分 ... 每处扣0.2分,
 * 数据更新不及时的,每次扣0.2分".
 *   unregistered P1 0.1, not_in_platform P1 0.2, mismatch P2 0.2,
 *   late_update P1 three times (每次: each counts) 0.6, unregistered P1
 *   again 0, late_update without place x2 0.4       = 1.5
 */
static void test_4_6_1(void **state)
{
    (void)state;
    evs_t s = {0};
    finding(&s, "f1", "R", "2024-02-01T10:00", "4.6.1", "unregistered", "P1", 1, -1);
    finding(&s, "f2", "R", "2024-02-02T10:00", "4.6.1", "not_in_platform", "P1", 1, -1);
    finding(&s, "f3", "R", "2024-02-03T10:00", "4.6.1", "mismatch", "P2", 1, -1);
    finding(&s, "f4", "R", "2024-02-04T10:00", "4.6.1", "late_update", "P1", 1, -1);
    finding(&s, "f5", "R", "2024-03-04T10:00", "4.6.1", "late_update", "P1", 1, -1);
    finding(&s, "f6", "R", "2024-04-04T10:00", "4.6.1", "late_update", "P1", 1, -1);
    finding(&s, "f7", "R", "2024-04-05T10:00", "4.6.1", "unregistered", "P1", 1, -1);
    finding(&s, "f8", "R", "2024-04-06T10:00", "4.6.1", "late_update", NULL, 2, -1);
    kh_scorecard_t *c = score(&s, "R", dflt());
    EXPECT(c, "4.6.1", 1500, 0, 0);
    assert_int_equal(item_of(c, "4.6.1")->nentries, 7);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 4.6.2 群防群治 team patrols and training: "一类所每半月不少于1次,其他派出所
 * 每月不少于一次,未开展的,每次扣2分。开展队伍教育管理(以会代训)...每年一次,
 * 未开展的,扣2分".
 *   A (class 1, half-months): Jan/1 T1 (ok); Jan/2 none (final 2); Feb/1
 *     T2 unrecorded (final 2); Feb/2 T3 at 2024-02-15T17:00Z = 16 Feb
 *     01:00 in Shanghai (ok); Mar/1 pending 2; Mar/2 begins 16 Mar, after
 *     today; no training (the year: pending 2)     -> 4 / pending 4
 *   B (class 2, months): Jan T (ok); Feb none (final 2); Mar pending 2;
 *     training in January (ok)                      -> 2 / pending 2
 */
static void test_4_6_2(void **state)
{
    (void)state;
    evs_t s = {0};
    patrol(&s, "a1", "A", "2024-01-03T10:00", "T1", KH_PATROL_TEAM, true, true);
    patrol(&s, "a2", "A", "2024-02-05T10:00", "T2", KH_PATROL_TEAM, false, true);
    patrol(&s, "a3", "A", "2024-02-15T17:00:00Z", "T3", KH_PATROL_TEAM, true, false);
    patrol(&s, "b1", "B", "2024-01-03T10:00", "T1", KH_PATROL_TEAM, true, true);
    base(&s, KH_EV_TRAINING, "bt", "B", "2024-01-05T10:00");
    kh_scorecard_t *c = score(&s, "A", dflt());
    EXPECT(c, "4.6.2", 4000, 0, 4000);
    assert_non_null(entry_at(c, "4.6.2", "2024-01/2"));
    assert_non_null(entry_at(c, "4.6.2", "2024-02/1"));
    assert_null(entry_at(c, "4.6.2", "2024-02/2"));
    assert_non_null(entry_at(c, "4.6.2", "2024-03/1"));
    assert_null(entry_at(c, "4.6.2", "2024-03/2"));
    assert_true(entry_at(c, "4.6.2", "2024")->pending);
    kh_scorecard_free(&c);
    c = score(&s, "B", dflt());
    EXPECT(c, "4.6.2", 2000, 0, 2000);
    assert_null(entry_at(c, "4.6.2", "2024"));
    kh_scorecard_free(&c);
    evs_free(&s);
}

/* ------------------------------------------------------------------ */
/* 五 巡逻防控                                                          */
/* ------------------------------------------------------------------ */

/*
 * 5.1 巡逻方案: "制定巡逻方案(划区域、路线、重点、时段、力量),无的扣2分,
 * 不完善的扣0.5分", per quarter by the plan's own `quarter`. Closed through
 * September, today 5 October.
 *   2024-Q1 complete, filed 2023-12-20 (its quarter names the period): ok
 *   2024-Q2 complete, then a later revision without forces: the latest is
 *     incomplete: final 0.5
 *   2024-Q3 none: final 2; 2024-Q4 none: pending 2; a 2023-Q4 plan: not 2024
 * = deducted 2.5, pending 2.
 */
static void test_5_1(void **state)
{
    (void)state;
    const unsigned all = KH_PLAN_ZONES | KH_PLAN_ROUTES | KH_PLAN_FOCAL_POINTS |
                         KH_PLAN_TIME_SLOTS | KH_PLAN_FORCES;
    evs_t s = {0};
    plan(&s, "p0", "S", "2023-10-01T10:00", "2023-Q4", all);
    plan(&s, "p1", "S", "2023-12-20T10:00", "2024-Q1", all);
    plan(&s, "p2a", "S", "2024-04-02T10:00", "2024-Q2", all);
    plan(&s, "p2b", "S", "2024-04-20T10:00", "2024-Q2", all & ~KH_PLAN_FORCES);
    when_t w = {2024, D("2024-09-30"), D("2024-10-05"), KH_DAY_NONE};
    kh_scorecard_t *c = score(&s, "S", w);
    EXPECT(c, "5.1", 2500, 0, 2000);
    const kh_entry_t *q2 = entry_at(c, "5.1", "2024-Q2");
    assert_int_equal(q2->points, -500);
    assert_true(entry_has_event(q2, "p2b"));
    assert_string_equal(q2->why, "2024-Q2: the latest patrol plan lacks forces; 0.50");
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 5.2.1 县局规定: "未完成县局规定要求,每少一次扣0.2分" (policy 8/6/4).
 *   R (class 3, 4): Jan 4 recorded + 1 unrecorded (ok); Feb 2 and a
 *     resident patrol (final 2 x 0.2 = 0.4); Mar none (pending 0.8)
 *   A (class 1, 8; urban stations too): Jan 8 (ok); Feb none (final 1.6);
 *     Mar pending 1.6
 *   R under a policy of 10/6/5: Jan 4 of 5 (0.2) + Feb 2 of 5 (0.6) = 0.8,
 *     Mar pending 1.0
 */
static void test_5_2_1(void **state)
{
    (void)state;
    evs_t s = {0};
    for (int i = 0; i < 5; i++) {
        char id[16], pid[16], t[32];
        snprintf(id, sizeof id, "rj%d", i);
        snprintf(pid, sizeof pid, "PJ%d", i);
        snprintf(t, sizeof t, "2024-01-%02dT10:00", 3 + i);
        patrol(&s, id, "R", t, pid, KH_PATROL_PREVENTION, i < 4, true);
    }
    patrol(&s, "rf0", "R", "2024-02-03T10:00", "PF0", KH_PATROL_PREVENTION, true, true);
    patrol(&s, "rf1", "R", "2024-02-04T10:00", "PF1", KH_PATROL_PREVENTION, true, false);
    patrol(&s, "rf2", "R", "2024-02-05T10:00", "PF2", KH_PATROL_RESIDENT, true, true);
    for (int i = 0; i < 8; i++) {
        char id[16], pid[16], t[32];
        snprintf(id, sizeof id, "aj%d", i);
        snprintf(pid, sizeof pid, "PJ%d", i);
        snprintf(t, sizeof t, "2024-01-%02dT10:00", 3 + i);
        patrol(&s, id, "A", t, pid, KH_PATROL_PREVENTION, true, true);
    }
    kh_scorecard_t *c = score(&s, "R", dflt());
    EXPECT(c, "5.2.1", 400, 0, 800);
    kh_scorecard_free(&c);
    c = score(&s, "A", dflt());
    EXPECT(c, "5.2.1", 1600, 0, 1600);
    kh_scorecard_free(&c);

    kh_county_t *strict =
        load_county("{\"county\":\"x\",\"stations\":[{\"code\":\"R\",\"name\":\"丁所\","
                    "\"class\":3}],\"policy\":{\"required_patrols\":{\"1\":10,\"2\":6,"
                    "\"3\":5}}}");
    c = score_in(strict, &s, "R", dflt());
    EXPECT(c, "5.2.1", 800, 0, 1000);
    kh_scorecard_free(&c);
    kh_county_free(&strict);
    evs_free(&s);
}

/*
 * 5.2.2 城区三所排位: "次数最多的满分,少一次的递减0.1分", per month among the
 * urban stations A, B, C (counted prevention patrols).
 *   Jan: A 3, B 5, C 5 (+1 unrecorded) -> A 2 behind: final 0.2
 *   Feb: nobody patrols -> nothing; Mar: A 1 -> B and C 1 behind: pending
 *   R (not urban) with 10 in January is not in the group and loses nothing.
 * A 0.2 / 0; B 0 / pending 0.1; C 0 / pending 0.1.
 * kaohe urban --month 2024-01: B 5 (0), C 5 (0, tie by code), A 3 (2, 0.2).
 */
static void test_5_2_2(void **state)
{
    (void)state;
    evs_t s = {0};
    static const struct {
        const char *st;
        int n;
    } jan[] = {{"A", 3}, {"B", 5}, {"C", 5}, {"R", 10}};
    for (size_t k = 0; k < 4; k++)
        for (int i = 0; i < jan[k].n; i++) {
            char id[16], pid[16], t[32];
            snprintf(id, sizeof id, "%s-j%d", jan[k].st, i);
            snprintf(pid, sizeof pid, "P%d", i);
            snprintf(t, sizeof t, "2024-01-%02dT10:00", 2 + i);
            patrol(&s, id, jan[k].st, t, pid, KH_PATROL_PREVENTION, true, true);
        }
    patrol(&s, "C-x", "C", "2024-01-20T10:00", "PX", KH_PATROL_PREVENTION, false, true);
    patrol(&s, "A-m", "A", "2024-03-02T10:00", "PM", KH_PATROL_PREVENTION, true, true);
    kh_scorecard_t *c = score(&s, "A", dflt());
    EXPECT(c, "5.2.2", 200, 0, 0);
    const kh_entry_t *en = entry_at(c, "5.2.2", "2024-01");
    assert_int_equal(en->nevents, 3);
    assert_string_equal(en->why, "2024-01: 3 counted prevention patrols, the most among "
                                 "the urban stations (城区三所) 5; 2 behind × 0.10 = "
                                 "0.20");
    kh_scorecard_free(&c);
    c = score(&s, "B", dflt());
    EXPECT(c, "5.2.2", 0, 0, 100);
    kh_scorecard_free(&c);
    c = score(&s, "C", dflt());
    EXPECT(c, "5.2.2", 0, 0, 100);
    kh_scorecard_free(&c);
    c = score(&s, "R", dflt());
    EXPECT(c, "5.2.2", 0, 0, 0);
    kh_scorecard_free(&c);

    kh_urban_t u = {0};
    urban_counts(g_county, &s, dflt(), &u);
    assert_int_equal(u.counts[0][0], 3);
    assert_int_equal(u.counts[2][0], 5);
    assert_int_equal(u.counts[3][0], 0); /* R is not urban: row left 0 */
    kh_urban_row_t rows[5];
    size_t n = kh_score_urban_month(g_county, g_cat, &u, 1, rows);
    assert_int_equal(n, 3);
    assert_string_equal(g_county->stations[rows[0].station].code, "B");
    assert_string_equal(g_county->stations[rows[1].station].code, "C");
    assert_string_equal(g_county->stations[rows[2].station].code, "A");
    assert_int_equal(rows[0].behind, 0);
    assert_int_equal(rows[1].behind, 0);
    assert_int_equal(rows[2].patrols, 3);
    assert_int_equal(rows[2].behind, 2);
    assert_int_equal(rows[2].deducted, 200);
    assert_int_equal(kh_score_urban_month(g_county, g_cat, &u, 13, rows), 0);
    free(u.counts);
    evs_free(&s);
}

/*
 * 5.2.3 五类可防性案件: "每件扣0.1分,抓获该案件现行的不扣,并加2分,非现行
 * 案件嫌疑人每名0.5分", the call's month, at once.
 *   K1 pickpocket market                       -0.1
 *   K2 robbery street, caught in the act        +2 (no deduction)
 *   K3 snatching shop, 3 suspects arrested     -0.1, +1.5
 *   K4 public_facility_theft at "other"          0
 *   K5 burglary street (not of the five)         0
 *   K6 car_theft street: caught_in_act rev 0, revoked rev 1: -0.1 only
 *   K7 motorcycle_theft market: the review names station B and 2025: it
 *      still takes K7's station and date: +2
 *   K8 ebike_theft street, rev 1 moves the case to B: B's -0.1
 *   K9 ebike_theft street voided by rev 1: nothing
 *   K10 public_facility_theft street, two rev-0 calls: the later (C) wins
 *   a review of K99, which no call names: nothing
 * A: deducted 0.3, bonus 5.5; B: 0.1; C: 0.1.
 */
static void test_5_2_3(void **state)
{
    (void)state;
    evs_t s = {0};
    call(&s, "c1", "A", "2024-02-01T10:00", "K1", KH_CASE_PICKPOCKET, KH_LOC_MARKET, 0,
         false);
    call(&s, "c2", "A", "2024-02-02T10:00", "K2", KH_CASE_ROBBERY, KH_LOC_STREET, 0,
         false);
    review(&s, "r2", "A", "2024-02-12T10:00", "K2", KH_OUT_CAUGHT_IN_ACT, 0, 0);
    call(&s, "c3", "A", "2024-02-03T10:00", "K3", KH_CASE_SNATCHING, KH_LOC_SHOP, 0,
         false);
    review(&s, "r3", "A", "2024-02-13T10:00", "K3", KH_OUT_SUSPECTS_ARRESTED, 3, 0);
    call(&s, "c4", "A", "2024-02-04T10:00", "K4", KH_CASE_PUBLIC_FACILITY_THEFT,
         KH_LOC_OTHER, 0, false);
    call(&s, "c5", "A", "2024-02-05T10:00", "K5", KH_CASE_BURGLARY, KH_LOC_STREET, 0,
         false);
    call(&s, "c6", "A", "2024-02-06T10:00", "K6", KH_CASE_CAR_THEFT, KH_LOC_STREET, 0,
         false);
    review(&s, "r6", "A", "2024-02-10T10:00", "K6", KH_OUT_CAUGHT_IN_ACT, 0, 0);
    review(&s, "r6b", "A", "2024-02-12T10:00", "K6", KH_OUT_REVOKED, 0, 1);
    call(&s, "c7", "A", "2024-02-07T10:00", "K7", KH_CASE_MOTORCYCLE_THEFT, KH_LOC_MARKET,
         0, false);
    review(&s, "r7", "B", "2025-01-05T10:00", "K7", KH_OUT_CAUGHT_IN_ACT, 0, 0);
    call(&s, "c8", "A", "2024-02-08T10:00", "K8", KH_CASE_EBIKE_THEFT, KH_LOC_STREET, 0,
         false);
    call(&s, "c8b", "B", "2024-02-08T11:00", "K8", KH_CASE_EBIKE_THEFT, KH_LOC_STREET, 1,
         false);
    call(&s, "c9", "A", "2024-02-09T10:00", "K9", KH_CASE_EBIKE_THEFT, KH_LOC_STREET, 0,
         false);
    call(&s, "c9b", "A", "2024-02-09T11:00", "K9", KH_CASE_EBIKE_THEFT, KH_LOC_STREET, 1,
         true);
    call(&s, "c10", "A", "2024-02-05T10:00", "K10", KH_CASE_PUBLIC_FACILITY_THEFT,
         KH_LOC_STREET, 0, false);
    call(&s, "c10b", "C", "2024-02-06T10:00", "K10", KH_CASE_PUBLIC_FACILITY_THEFT,
         KH_LOC_STREET, 0, false);
    review(&s, "r99", "A", "2024-02-06T10:00", "K99", KH_OUT_CAUGHT_IN_ACT, 0, 0);
    when_t w = dflt();
    w.closed = KH_DAY_NONE;
    kh_scorecard_t *c = score(&s, "A", w);
    EXPECT(c, "5.2.3", 300, 5500, 0);
    const kh_item_score_t *is = item_of(c, "5.2.3");
    assert_int_equal(is->nentries, 6);
    for (size_t e = 0; e < is->nentries; e++) {
        assert_string_equal(is->entries[e].period, "2024-02");
        assert_false(is->entries[e].pending);
        if (entry_has_event(&is->entries[e], "c7")) {
            assert_int_equal(is->entries[e].points, 2000);
            assert_true(entry_has_event(&is->entries[e], "r7"));
        }
        if (entry_has_event(&is->entries[e], "c6")) {
            assert_int_equal(is->entries[e].points, -100);
            assert_int_equal(is->entries[e].nevents, 1); /* the call */
        }
        if (entry_has_event(&is->entries[e], "r3")) { /* 3 suspects */
            assert_int_equal(is->entries[e].points, 1500);
            assert_int_equal(is->entries[e].nevents, 1);
        }
        /* revoked reviews are behind nothing */
        assert_false(entry_has_event(&is->entries[e], "r6"));
        assert_false(entry_has_event(&is->entries[e], "r6b"));
    }
    assert_int_equal(c->bonus, 5500);
    kh_scorecard_free(&c);
    c = score(&s, "B", w);
    EXPECT(c, "5.2.3", 100, 0, 0);
    kh_scorecard_free(&c);
    c = score(&s, "C", w);
    EXPECT(c, "5.2.3", 100, 0, 0);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * 5.2.4 "台帐填写不规范,录入不及时的,扣2分每处" and 5.2.5 "数据不符的,每处扣1
 * 分" (findings), on station B with nothing closed:
 *   5.2.4: ledger_late P1 2, P1 again 0, no place 2, no place x2 4 = 8
 *   5.2.5: register_mismatch P1 1, P2 1, P1 again 0, no place x3 3 = 5
 * Section 5 deducted 13 > 10: the section scores 0 (扣完为止), so the total
 * is 15 + 15 + 0 = 30 (every other shortfall only pending).
 */
static void test_5_2_4_and_5_2_5(void **state)
{
    (void)state;
    evs_t s = {0};
    finding(&s, "l1", "B", "2024-02-01T10:00", "5.2.4", "ledger_late", "P1", 1, -1);
    finding(&s, "l2", "B", "2024-02-02T10:00", "5.2.4", "ledger_late", "P1", 1, -1);
    finding(&s, "l3", "B", "2024-02-03T10:00", "5.2.4", "ledger_late", NULL, 1, -1);
    finding(&s, "l4", "B", "2024-02-04T10:00", "5.2.4", "ledger_late", NULL, 2, -1);
    finding(&s, "m1", "B", "2024-02-01T10:00", "5.2.5", "register_mismatch", "P1", 1, -1);
    finding(&s, "m2", "B", "2024-02-02T10:00", "5.2.5", "register_mismatch", "P2", 1, -1);
    finding(&s, "m3", "B", "2024-02-03T10:00", "5.2.5", "register_mismatch", "P1", 1, -1);
    finding(&s, "m4", "B", "2024-02-04T10:00", "5.2.5", "register_mismatch", NULL, 3, -1);
    when_t w = dflt();
    w.closed = KH_DAY_NONE;
    kh_scorecard_t *c = score(&s, "B", w);
    EXPECT(c, "5.2.4", 8000, 0, 0);
    EXPECT(c, "5.2.5", 5000, 0, 0);
    assert_int_equal(c->sections[2].deducted, 13000);
    assert_int_equal(c->sections[2].score, 0);
    assert_int_equal(c->total, 30000);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/* ------------------------------------------------------------------ */
/* time, periods, cut, order                                            */
/* ------------------------------------------------------------------ */

/*
 * Periods are civil dates in Shanghai: 2026-11-30T17:00:00Z is 1 December
 * 01:00, and 2026-12-31T16:30:00Z is 1 January 2027 00:30.
 *   A's notice at 2026-11-30T17:00Z counts for December: with 2026 closed,
 *   4.1 loses 11 months (all but December).
 *   A's pickpocket call then is a December case (5.2.3 entry "2026-12").
 *   Two resident patrols at 2026-12-31T16:30Z belong to January 2027: for
 *   2026, December is short 2 (all 12 months x 2 x 2 = 48); for 2027
 *   (today 20 January), January has its 2: nothing pending.
 */
static void test_time_zone_edges(void **state)
{
    (void)state;
    evs_t s = {0};
    notice(&s, "n1", "A", "2026-11-30T17:00:00Z", true);
    call(&s, "c1", "A", "2026-11-30T17:00:00Z", "K1", KH_CASE_PICKPOCKET, KH_LOC_STREET,
         0, false);
    patrol(&s, "p1", "A", "2026-12-31T16:30:00Z", "R1", KH_PATROL_RESIDENT, true, true);
    patrol(&s, "p2", "A", "2026-12-31T16:30:00Z", "R2", KH_PATROL_RESIDENT, true, true);
    when_t w = {2026, D("2026-12-31"), D("2027-01-20"), KH_DAY_NONE};
    kh_scorecard_t *c = score(&s, "A", w);
    EXPECT(c, "4.1", 11000, 0, 0);
    assert_null(entry_at(c, "4.1", "2026-12"));
    assert_non_null(entry_at(c, "4.1", "2026-11"));
    EXPECT(c, "5.2.3", 100, 0, 0);
    assert_non_null(entry_at(c, "5.2.3", "2026-12"));
    EXPECT(c, "4.4", 48000, 0, 0);
    kh_scorecard_free(&c);
    w.year = 2027;
    w.closed = KH_DAY_NONE;
    c = score(&s, "A", w);
    EXPECT(c, "4.4", 0, 0, 0);
    EXPECT(c, "4.1", 0, 0, 1000);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * Closing vs pending vs not begun, on R (class 3) with no events at all,
 * 4.4 (2 points per missing resident patrol a month):
 *   today 1 Dec 2023: 2024 has not begun: nothing, total 40
 *   today 10 Mar, nothing closed: Jan-Mar pending 6
 *   closed through January: 2 deducted, Feb-Mar pending 4
 *   closed through June while today is 10 March (an explicit close): Jan-
 *     Jun deducted 12, the rest not begun
 */
static void test_closing_pending_not_begun(void **state)
{
    (void)state;
    evs_t s = {0};
    when_t w = {2024, KH_DAY_NONE, D("2023-12-01"), KH_DAY_NONE};
    kh_scorecard_t *c = score(&s, "R", w);
    assert_int_equal(c->total, 40000);
    assert_int_equal(c->pending, 0);
    assert_int_equal(c->bonus, 0);
    for (size_t i = 0; i < c->nitems; i++)
        assert_int_equal(c->items[i].nentries, 0);
    kh_scorecard_free(&c);

    w.today = D("2024-03-10");
    c = score(&s, "R", w);
    EXPECT(c, "4.4", 0, 0, 6000);
    assert_int_equal(c->total, 40000);
    kh_scorecard_free(&c);

    w.closed = D("2024-01-31");
    c = score(&s, "R", w);
    EXPECT(c, "4.4", 2000, 0, 4000);
    kh_scorecard_free(&c);

    w.closed = D("2024-06-30");
    c = score(&s, "R", w);
    EXPECT(c, "4.4", 12000, 0, 0);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/*
 * The as_of cut (a month's snapshot): only effects dated on or before
 * as_of count, today and closed_through are cut to it.
 *   A: resident R1 10 Feb; R2 2 Mar; R3 20 Feb re-reported 3 Mar (as of
 *   29 Feb only the February report exists); call K1 10 Feb with its
 *   caught-in-the-act review on 5 Mar (a review takes its call's date);
 *   call K2 at 2024-02-29T16:30Z (1 March in Shanghai); hotel H with
 *   February's occupancy 5.0 reported 3 March (dated by its month); the
 *   2024-Q1 plan filed 5 March (dated by its quarter).
 * As of 29 Feb (today 2026-11-29, closed through 2024-12-31):
 *   4.4 Jan 0 of 2 -> 4; Feb R1 + R3 = 2 -> 0; March on not begun.
 *   5.2.3 K1 +2 (no deduction); K2 left out.
 *   1.1.2c February: 2.   5.1: Q1 has its plan, Q1 still open: 0.
 * Without the cut: 4.4 Jan 4 + Feb (R1 only: R3 moved to March) 2 + Apr-
 *   Dec 9 x 4 = 42; 5.2.3 K2 -0.1.
 */
static void test_as_of(void **state)
{
    (void)state;
    const unsigned all = KH_PLAN_ZONES | KH_PLAN_ROUTES | KH_PLAN_FOCAL_POINTS |
                         KH_PLAN_TIME_SLOTS | KH_PLAN_FORCES;
    evs_t s = {0};
    patrol(&s, "r1", "A", "2024-02-10T10:00", "R1", KH_PATROL_RESIDENT, true, true);
    patrol(&s, "r2", "A", "2024-03-02T10:00", "R2", KH_PATROL_RESIDENT, true, true);
    patrol(&s, "r3", "A", "2024-02-20T10:00", "R3", KH_PATROL_RESIDENT, true, true);
    patrol(&s, "r3b", "A", "2024-03-03T10:00", "R3", KH_PATROL_RESIDENT, true, true);
    call(&s, "c1", "A", "2024-02-10T10:00", "K1", KH_CASE_PICKPOCKET, KH_LOC_STREET, 0,
         false);
    review(&s, "v1", "A", "2024-03-05T10:00", "K1", KH_OUT_CAUGHT_IN_ACT, 0, 0);
    call(&s, "c2", "A", "2024-02-29T16:30:00Z", "K2", KH_CASE_PICKPOCKET, KH_LOC_STREET,
         0, false);
    place(&s, "pH", "A", "2024-01-01T09:00", "H", KH_CAT_HOTEL, "2023-01-01", NULL);
    occupancy(&s, "o2", "A", "2024-03-03T10:00", "H", "2024-02", 5000);
    plan(&s, "q1", "A", "2024-03-05T10:00", "2024-Q1", all);
    when_t w = {2024, D("2024-12-31"), D("2026-11-29"), D("2024-02-29")};
    kh_scorecard_t *c = score(&s, "A", w);
    EXPECT(c, "4.4", 4000, 0, 0);
    EXPECT(c, "5.2.3", 0, 2000, 0);
    EXPECT(c, "1.1.2c", 2000, 0, 0);
    EXPECT(c, "5.1", 0, 0, 0);
    assert_null(entry_at(c, "4.4", "2024-03"));
    kh_scorecard_free(&c);

    w.as_of = KH_DAY_NONE;
    c = score(&s, "A", w);
    EXPECT(c, "4.4", 42000, 0, 0);
    EXPECT(c, "5.2.3", 100, 2000, 0);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/* Self-scores: the year's latest per item. */
static void test_self_score(void **state)
{
    (void)state;
    evs_t s = {0};
    self_score(&s, "s0", "R", "2023-12-01T10:00", "1.2", 500);
    self_score(&s, "s1", "R", "2024-02-01T10:00", "1.2", 1000);
    self_score(&s, "s2", "R", "2024-03-01T10:00", "1.2", 1500);
    self_score(&s, "s3", "R", "2024-03-01T10:00", "9.9", 1500);
    kh_scorecard_t *c = score(&s, "R", dflt());
    assert_true(item_of(c, "1.2")->has_self_score);
    assert_int_equal(item_of(c, "1.2")->self_score, 1500);
    assert_false(item_of(c, "4.4")->has_self_score);
    kh_scorecard_free(&c);
    evs_free(&s);
}

/* policy bonus_cap caps the year's bonus (item bonuses stay raw). */
static void test_bonus_cap(void **state)
{
    (void)state;
    evs_t s = {0};
    call(&s, "c1", "A", "2024-02-01T10:00", "K1", KH_CASE_ROBBERY, KH_LOC_STREET, 0,
         false);
    review(&s, "r1", "A", "2024-02-02T10:00", "K1", KH_OUT_CAUGHT_IN_ACT, 0, 0);
    call(&s, "c2", "A", "2024-02-01T11:00", "K2", KH_CASE_ROBBERY, KH_LOC_STREET, 0,
         false);
    review(&s, "r2", "A", "2024-02-02T11:00", "K2", KH_OUT_CAUGHT_IN_ACT, 0, 0);
    kh_county_t *capped =
        load_county("{\"county\":\"x\",\"stations\":[{\"code\":\"A\",\"name\":\"甲所\","
                    "\"class\":1,\"urban\":true}],\"policy\":{\"bonus_cap\":3}}");
    when_t w = dflt();
    w.closed = KH_DAY_NONE;
    kh_scorecard_t *c = score_in(capped, &s, "A", w);
    EXPECT(c, "5.2.3", 0, 4000, 0);
    assert_int_equal(c->bonus, 3000);
    assert_int_equal(c->total, 40000 + 3000);
    kh_scorecard_free(&c);
    c = score(&s, "A", w); /* no cap */
    assert_int_equal(c->bonus, 4000);
    kh_scorecard_free(&c);
    kh_county_free(&capped);
    evs_free(&s);
}

static void test_bad_input(void **state)
{
    (void)state;
    kh_scorecard_t *c = (kh_scorecard_t *)&c;
    kh_score_input_t in = {g_county,    g_cat,           9,          2024, NULL, 0, NULL,
                           KH_DAY_NONE, D("2024-03-10"), KH_DAY_NONE};
    assert_int_equal(kh_score_station(&in, &c), KH_EINVAL);
    assert_null(c);
    in.station = -1;
    assert_int_equal(kh_score_station(&in, &c), KH_EINVAL);
    in.station = 0;
    in.catalog = NULL;
    assert_int_equal(kh_score_station(&in, &c), KH_EINVAL);
    in.catalog = g_cat;
    in.nevents = 3; /* and no events */
    assert_int_equal(kh_score_station(&in, &c), KH_EINVAL);
    in.nevents = 0;
    assert_int_equal(kh_score_station(&in, &c), KH_OK);
    kh_scorecard_free(&c);
    assert_null(c);
    kh_scorecard_free(&c);
    int32_t counts[12] = {1};
    in.station = 9;
    kh_score_prevention_counts(&in, counts);
    for (int m = 0; m < 12; m++)
        assert_int_equal(counts[m], 0);
}

/* ------------------------------------------------------------------ */
/* order independence and random inputs                                 */
/* ------------------------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)(rng_state >> 33);
}

static uint32_t pick(uint32_t n)
{
    return rnd() % n;
}

static void assert_cards_equal(const kh_scorecard_t *a, const kh_scorecard_t *b)
{
    assert_int_equal(a->total, b->total);
    assert_int_equal(a->bonus, b->bonus);
    assert_int_equal(a->pending, b->pending);
    assert_int_equal(a->nitems, b->nitems);
    for (size_t s = 0; s < a->nsections; s++)
        assert_int_equal(a->sections[s].score, b->sections[s].score);
    for (size_t i = 0; i < a->nitems; i++) {
        const kh_item_score_t *x = &a->items[i], *y = &b->items[i];
        assert_int_equal(x->deducted, y->deducted);
        assert_int_equal(x->bonus, y->bonus);
        assert_int_equal(x->pending, y->pending);
        assert_int_equal(x->has_self_score, y->has_self_score);
        assert_int_equal(x->self_score, y->self_score);
        assert_int_equal(x->nentries, y->nentries);
        for (size_t e = 0; e < x->nentries; e++) {
            const kh_entry_t *p = &x->entries[e], *q = &y->entries[e];
            assert_int_equal(p->points, q->points);
            assert_int_equal(p->pending, q->pending);
            assert_string_equal(p->period, q->period);
            assert_string_equal(p->why, q->why);
            assert_int_equal(p->nevents, q->nevents);
            for (size_t k = 0; k < p->nevents; k++)
                assert_string_equal(p->events[k], q->events[k]);
        }
    }
}

static void shuffle(evs_t *s)
{
    for (size_t i = s->n; i > 1; i--) {
        size_t j = pick((uint32_t)i);
        kh_event_t *t = s->v[i - 1];
        s->v[i - 1] = s->v[j];
        s->v[j] = t;
    }
}

static const char *const codes[] = {"A", "B", "C", "R", "S"};

/* A random but well-formed event around 2024. */
static void random_event(evs_t *s, int n)
{
    char id[32], t[40], pid[16], cid[16];
    snprintf(id, sizeof id, "e%d", n);
    /* mostly 2024, some at the edges of 2023 and 2025, any hour (UTC) */
    int y = 2024, mo = 1 + (int)pick(12), d = 1 + (int)pick(28);
    uint32_t edge = pick(20);
    if (edge == 0) {
        y = 2023;
        mo = 12;
        d = 31;
    } else if (edge == 1) {
        y = 2024;
        mo = 12;
        d = 31;
    }
    snprintf(t, sizeof t, "%04d-%02d-%02dT%02d:%02d:00Z", y, mo, d, (int)pick(24),
             (int)pick(60));
    const char *st = codes[pick(5)];
    snprintf(pid, sizeof pid, "P%u", pick(6));
    snprintf(cid, sizeof cid, "K%u", pick(15));
    kh_event_t *ev;
    switch (pick(15)) {
    case 0:
        call(s, id, st, t, cid, (kh_case_kind_t)pick(KH_CASE_COUNT),
             (kh_location_t)pick(KH_LOC_COUNT), (int)pick(3), pick(6) == 0);
        break;
    case 1:
        review(s, id, st, t, cid, (kh_outcome_t)pick(KH_OUT_COUNT), 1 + (int)pick(4),
               (int)pick(3));
        break;
    case 2:
        place(s, id, st, t, pid, (kh_category_t)pick(KH_CAT_COUNT),
              pick(2) ? "2023-01-01" : "2024-05-16", pick(4) == 0 ? "2024-08-31" : NULL);
        break;
    case 3:
    case 4:
        inspection(s, id, st, t, pid, (kh_inspection_kind_t)pick(2), pick(4) != 0);
        break;
    case 5: {
        char m[16];
        snprintf(m, sizeof m, "2024-%02u", 1 + pick(12));
        occupancy(s, id, st, t, pid, m, (kh_milli_t)pick(200) * 100);
        break;
    }
    case 6:
    case 7:
    case 8:
        snprintf(pid, sizeof pid, "T%u", pick(40));
        patrol(s, id, st, t, pid, (kh_patrol_kind_t)pick(3), pick(5) != 0, pick(2) != 0);
        break;
    case 9:
        switch (pick(5)) {
        case 0:
            notice(s, id, st, t, pick(2));
            break;
        case 1:
            education(s, id, st, t, pick(3) != 0, pick(2) != 0);
            break;
        case 2:
            base(s, KH_EV_MEETING, id, st, t);
            break;
        case 3:
            base(s, KH_EV_TRAINING, id, st, t);
            break;
        default:
            campaign(s, id, st, t, pick(2));
            break;
        }
        break;
    case 10: {
        char q[16];
        snprintf(q, sizeof q, "2024-Q%u", 1 + pick(4));
        plan(s, id, st, t, q, pick(32));
        break;
    }
    case 11:
        rate(s, id, st, t, (kh_metric_t)pick(KH_METRIC_COUNT),
             (kh_milli_t)pick(1001) * 100);
        break;
    case 12:
    case 13: {
        /* a finding of a random item with defects */
        const kh_item_t *it;
        do
            it = &g_cat->items[pick((uint32_t)g_cat->nitems)];
        while (it->ndefects == 0);
        const kh_defect_t *df = &it->defects[pick((uint32_t)it->ndefects)];
        kh_milli_t pts = -1;
        if (df->ranged)
            pts = df->min + (kh_milli_t)pick((uint32_t)(df->max - df->min + 1));
        finding(s, id, st, t, it->id, df->code, pick(2) ? pid : NULL,
                df->ranged ? 1 : 1 + (int)pick(3), pts);
        break;
    }
    default:
        ev = base(s, KH_EV_SELF_SCORE, id, st, t);
        snprintf(ev->item, sizeof ev->item, "%s",
                 g_cat->items[pick((uint32_t)g_cat->nitems)].id);
        ev->points = (kh_milli_t)pick(100) * 100;
        break;
    }
}

static kh_day_t random_day(void)
{
    switch (pick(4)) {
    case 0:
        return KH_DAY_NONE;
    default:
        return kh_day_from_civil(2024, 1, 1) - 20 + (kh_day_t)pick(420);
    }
}

/*
 * The contract on random inputs: for every station the explain entries
 * add up (check_card), and shuffling the events, or feeding each twice,
 * changes nothing.
 */
static void test_random_invariants(void **state)
{
    (void)state;
    for (int round = 0; round < 25; round++) {
        rng_state = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(round + 1);
        evs_t s = {0};
        int n = 50 + (int)pick(400);
        for (int i = 0; i < n; i++)
            random_event(&s, i);
        when_t w = {2024, random_day(), random_day(), KH_DAY_NONE};
        if (w.today == KH_DAY_NONE)
            w.today = D("2024-07-01");
        if (pick(3) == 0)
            w.as_of = kh_day_from_civil(2024, 1, 1) + (kh_day_t)pick(366);
        kh_scorecard_t *ref[5];
        for (int k = 0; k < 5; k++)
            ref[k] = score(&s, codes[k], w);
        shuffle(&s);
        for (int k = 0; k < 5; k++) {
            kh_scorecard_t *c = score(&s, codes[k], w);
            assert_cards_equal(ref[k], c);
            kh_scorecard_free(&c);
        }
        /* every event twice (as a re-delivery would hand it over) */
        size_t orig = s.n;
        for (size_t i = 0; i < orig; i++) {
            kh_event_t *copy = malloc(sizeof *copy);
            assert_non_null(copy);
            kh_event_init(copy);
            assert_int_equal(kh_event_copy(copy, s.v[i]), KH_OK);
            if (s.n == s.cap) {
                s.cap *= 2;
                s.v = realloc(s.v, s.cap * sizeof *s.v);
                assert_non_null(s.v);
            }
            s.v[s.n++] = copy;
        }
        shuffle(&s);
        for (int k = 0; k < 5; k++) {
            kh_scorecard_t *c = score(&s, codes[k], w);
            assert_cards_equal(ref[k], c);
            kh_scorecard_free(&c);
            kh_scorecard_free(&ref[k]);
        }
        evs_free(&s);
    }
}

/* The example's events, shuffled many times: the same scorecards. */
static void test_order_independence_example(void **state)
{
    (void)state;
    evs_t s = {0};
    FILE *f = fopen(KH_EXAMPLES_DIR "/events.jsonl", "r");
    assert_non_null(f);
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        if (!len)
            continue;
        kh_event_t *ev = base(&s, KH_EV_MEETING, "x", "NM", "2024-01-01T00:00");
        kh_event_clear(ev);
        assert_int_equal(kh_event_parse_json(line, len, ev), KH_OK);
    }
    fclose(f);
    kh_county_t *ex = NULL;
    char err[256];
    if (kh_county_load(&ex, KH_EXAMPLES_DIR "/county.json", err, sizeof err))
        fail_msg("%s", err);
    when_t w = {2024, D("2024-02-29"), D("2026-11-29"), KH_DAY_NONE};
    static const char *const ex_codes[] = {"NM", "BM", "XM", "QS"};
    kh_scorecard_t *ref[4];
    for (int k = 0; k < 4; k++)
        ref[k] = score_in(ex, &s, ex_codes[k], w);
    rng_state = 42;
    for (int round = 0; round < 20; round++) {
        shuffle(&s);
        for (int k = 0; k < 4; k++) {
            kh_scorecard_t *c = score_in(ex, &s, ex_codes[k], w);
            assert_cards_equal(ref[k], c);
            kh_scorecard_free(&c);
        }
    }
    /* NM closed through February is the README's 29.40 */
    assert_int_equal(ref[0]->total, 29400);
    for (int k = 0; k < 4; k++)
        kh_scorecard_free(&ref[k]);
    kh_county_free(&ex);
    evs_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_1_1_1),
        cmocka_unit_test(test_1_1_2a),
        cmocka_unit_test(test_1_1_2b),
        cmocka_unit_test(test_1_1_2c),
        cmocka_unit_test(test_1_1_3a),
        cmocka_unit_test(test_1_1_3b),
        cmocka_unit_test(test_1_1_4),
        cmocka_unit_test(test_1_2),
        cmocka_unit_test(test_4_1),
        cmocka_unit_test(test_4_2),
        cmocka_unit_test(test_4_3),
        cmocka_unit_test(test_4_4),
        cmocka_unit_test(test_4_5),
        cmocka_unit_test(test_4_6_1),
        cmocka_unit_test(test_4_6_2),
        cmocka_unit_test(test_5_1),
        cmocka_unit_test(test_5_2_1),
        cmocka_unit_test(test_5_2_2),
        cmocka_unit_test(test_5_2_3),
        cmocka_unit_test(test_5_2_4_and_5_2_5),
        cmocka_unit_test(test_time_zone_edges),
        cmocka_unit_test(test_closing_pending_not_begun),
        cmocka_unit_test(test_as_of),
        cmocka_unit_test(test_self_score),
        cmocka_unit_test(test_bonus_cap),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_random_invariants),
        cmocka_unit_test(test_order_independence_example),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
