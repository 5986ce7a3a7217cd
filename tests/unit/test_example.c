/*
 * test_example.c - the worked example of the contract (tests/data/example,
 * a copy of the shared examples): the four stations of county.json scored
 * for 2024 from events.jsonl with today 2026-11-29, (a) nothing closed and
 * (b) closed through 2024-02-29, ranked, and compared figure by figure with
 * expected-open.json and expected-closed-2024-02.json: every total, bonus,
 * pending, section score, every item's deducted/bonus/pending/self_score,
 * the rank order, and the 城区三所 rows of 2024-02. Also: every station's
 * explain entries add up to its item figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_error.h"
#include "kh_event.h"
#include "kh_rank.h"
#include "kh_score.h"

typedef struct fixture {
    kh_county_t *county;
    kh_catalog_t *catalog;
    kh_event_t *events;
    size_t nevents;
    const kh_event_t **ptrs;
} fixture_t;

static kh_milli_t M(json_t *v, const char *what)
{
    kh_milli_t m = 0;
    if (!json_is_number(v) || !kh_milli_from_double(json_number_value(v), &m))
        fail_msg("%s: not an amount", what);
    return m;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char err[256];
    assert_non_null(f);
    if (kh_county_load(&f->county, KH_EXAMPLES_DIR "/county.json", err, sizeof err) !=
        KH_OK)
        fail_msg("county: %s", err);
    if (kh_catalog_load(&f->catalog, KH_SOURCE_DIR "/rules/catalog.json", err,
                        sizeof err) != KH_OK)
        fail_msg("catalog: %s", err);
    FILE *in = fopen(KH_EXAMPLES_DIR "/events.jsonl", "r");
    assert_non_null(in);
    char line[8192];
    size_t cap = 0;
    while (fgets(line, sizeof line, in)) {
        size_t len = strcspn(line, "\r\n");
        if (len == 0)
            continue;
        if (f->nevents == cap) {
            cap = cap ? cap * 2 : 64;
            f->events = realloc(f->events, cap * sizeof *f->events);
            assert_non_null(f->events);
        }
        kh_event_t *ev = &f->events[f->nevents];
        kh_event_init(ev);
        int rc = kh_event_parse_json(line, len, ev);
        if (rc == KH_OK)
            rc = kh_event_check(ev, f->county, f->catalog, NULL,
                                INT64_C(4102444800) * KH_USEC_PER_SEC);
        if (rc != KH_OK)
            fail_msg("event %zu (%s) refused: %s", f->nevents + 1, ev->id,
                     kh_err_name(rc));
        f->nevents++;
    }
    fclose(in);
    assert_int_equal(f->nevents, 60);
    f->ptrs = malloc(f->nevents * sizeof *f->ptrs);
    assert_non_null(f->ptrs);
    for (size_t i = 0; i < f->nevents; i++)
        f->ptrs[i] = &f->events[i];
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    for (size_t i = 0; i < f->nevents; i++)
        kh_event_clear(&f->events[i]);
    free(f->events);
    free(f->ptrs);
    kh_catalog_free(&f->catalog);
    kh_county_free(&f->county);
    free(f);
    return 0;
}

static kh_day_t D(int y, int m, int d)
{
    return kh_day_from_civil(y, m, d);
}

/*
 * The event set the ranker hands over for one station (kh_score.h): its
 * own events, and every call and review of a case any of its calls names.
 */
static size_t station_events(const fixture_t *f, int st, const kh_event_t **out)
{
    const char *code = f->county->stations[st].code;
    size_t n = 0;
    for (size_t i = 0; i < f->nevents; i++) {
        const kh_event_t *ev = &f->events[i];
        bool take = strcmp(ev->station, code) == 0;
        if (!take && (ev->type == KH_EV_CALL || ev->type == KH_EV_LEGAL_REVIEW)) {
            for (size_t k = 0; k < f->nevents && !take; k++) {
                const kh_event_t *c = &f->events[k];
                take = c->type == KH_EV_CALL && strcmp(c->station, code) == 0 &&
                       strcmp(c->case_id, ev->case_id) == 0;
            }
        }
        if (take)
            out[n++] = ev;
    }
    return n;
}

/* Scores the four stations; urban counts recomputed for the whole group
 * first, as the ranker does. */
static void score_all(const fixture_t *f, kh_day_t closed, bool own_only,
                      kh_urban_t *urban, kh_scorecard_t **cards)
{
    size_t n = f->county->nstations;
    const kh_event_t **sel = malloc(f->nevents * sizeof *sel);
    assert_non_null(sel);
    urban->year = 2024;
    urban->nstations = n;
    urban->counts = calloc(n, sizeof *urban->counts);
    assert_non_null(urban->counts);
    kh_score_input_t in = {
        .county = f->county,
        .catalog = f->catalog,
        .year = 2024,
        .closed_through = closed,
        .today = D(2026, 11, 29),
        .as_of = KH_DAY_NONE,
    };
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            in.station = (int)i;
            if (own_only) {
                in.nevents = station_events(f, (int)i, sel);
                in.events = sel;
            } else {
                in.nevents = f->nevents;
                in.events = f->ptrs;
            }
            if (pass == 0) {
                if (f->county->stations[i].urban)
                    kh_score_prevention_counts(&in, urban->counts[i]);
                continue;
            }
            in.urban = urban;
            assert_int_equal(kh_score_station(&in, &cards[i]), KH_OK);
        }
    }
    free(sel);
}

/* The item score of a catalog item id. */
static const kh_item_score_t *item_of(const fixture_t *f, const kh_scorecard_t *card,
                                      const char *id)
{
    for (size_t i = 0; i < card->nitems; i++)
        if (strcmp(f->catalog->items[card->items[i].item].id, id) == 0)
            return &card->items[i];
    fail_msg("item %s not in the scorecard", id);
    return NULL;
}

/* Sum of explain entries = the item's figures, for every item. */
static void check_explain_sums(const kh_scorecard_t *card)
{
    for (size_t i = 0; i < card->nitems; i++) {
        const kh_item_score_t *is = &card->items[i];
        kh_milli_t fin = 0, pend = 0;
        for (size_t e = 0; e < is->nentries; e++) {
            const kh_entry_t *en = &is->entries[e];
            assert_non_null(en->why);
            assert_true(strlen(en->why) > 0);
            assert_true(strlen(en->period) >= 4);
            if (en->pending) {
                assert_true(en->points < 0);
                pend += en->points;
            } else {
                fin += en->points;
            }
        }
        assert_int_equal(fin, is->bonus - is->deducted);
        assert_int_equal(pend, -is->pending);
    }
}

static void compare(const fixture_t *f, const char *file, kh_day_t closed, bool own_only)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/%s", KH_EXAMPLES_DIR, file);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc)
        fail_msg("%s: %s", path, jerr.text);
    (void)err;

    size_t n = f->county->nstations;
    kh_scorecard_t **cards = calloc(n, sizeof *cards);
    kh_rank_row_t *rows = calloc(n, sizeof *rows);
    kh_urban_t urban = {0};
    assert_non_null(cards);
    assert_non_null(rows);
    score_all(f, closed, own_only, &urban, cards);

    /* every station's scorecard */
    json_t *stations = json_object_get(doc, "stations");
    assert_true(json_is_object(stations));
    assert_int_equal(json_object_size(stations), n);
    for (size_t i = 0; i < n; i++) {
        const kh_scorecard_t *card = cards[i];
        const char *code = f->county->stations[i].code;
        json_t *js = json_object_get(stations, code);
        if (!js)
            fail_msg("%s: no station %s", file, code);
        assert_int_equal(card->year, json_integer_value(json_object_get(js, "year")));
        if (card->total != M(json_object_get(js, "total"), "total"))
            fail_msg("%s %s total %lld", file, code, (long long)card->total);
        assert_int_equal(card->bonus, M(json_object_get(js, "bonus"), "bonus"));
        if (card->pending != M(json_object_get(js, "pending"), "pending"))
            fail_msg("%s %s pending %lld", file, code, (long long)card->pending);
        json_t *secs = json_object_get(js, "sections");
        assert_int_equal(json_array_size(secs), card->nsections);
        size_t nitems = 0;
        for (size_t s = 0; s < card->nsections; s++) {
            json_t *jsec = json_array_get(secs, s);
            const kh_section_score_t *ss = &card->sections[s];
            assert_string_equal(f->catalog->sections[ss->section].id,
                                json_string_value(json_object_get(jsec, "id")));
            assert_int_equal(ss->max, M(json_object_get(jsec, "max"), "max"));
            if (ss->score != M(json_object_get(jsec, "score"), "score"))
                fail_msg("%s %s section %s score %lld", file, code,
                         f->catalog->sections[ss->section].id, (long long)ss->score);
            json_t *items = json_object_get(jsec, "items");
            size_t k;
            json_t *jit;
            json_array_foreach(items, k, jit)
            {
                const char *id = json_string_value(json_object_get(jit, "id"));
                const kh_item_score_t *is = item_of(f, card, id);
                assert_int_equal(f->catalog->items[is->item].section, ss->section);
                kh_milli_t d = M(json_object_get(jit, "deducted"), "deducted");
                kh_milli_t b = M(json_object_get(jit, "bonus"), "bonus");
                kh_milli_t p = M(json_object_get(jit, "pending"), "pending");
                if (is->deducted != d || is->bonus != b || is->pending != p)
                    fail_msg("%s %s item %s: deducted %lld bonus %lld pending "
                             "%lld, want %lld %lld %lld",
                             file, code, id, (long long)is->deducted,
                             (long long)is->bonus, (long long)is->pending, (long long)d,
                             (long long)b, (long long)p);
                json_t *self = json_object_get(jit, "self_score");
                if (json_is_null(self)) {
                    assert_false(is->has_self_score);
                } else {
                    assert_true(is->has_self_score);
                    assert_int_equal(is->self_score, M(self, "self_score"));
                }
                nitems++;
            }
        }
        assert_int_equal(nitems, card->nitems);
        check_explain_sums(card);
    }

    /* the ranking */
    kh_rank_cards(f->county, (const kh_scorecard_t *const *)cards, n, rows);
    json_t *rank = json_object_get(doc, "rank");
    assert_int_equal(json_integer_value(json_object_get(rank, "year")), 2024);
    json_t *rrows = json_object_get(rank, "stations");
    assert_int_equal(json_array_size(rrows), n);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(rrows, i);
        const kh_scorecard_t *card = rows[i].card;
        assert_string_equal(f->county->stations[card->station].code,
                            json_string_value(json_object_get(r, "station")));
        assert_int_equal(rows[i].rank, json_integer_value(json_object_get(r, "rank")));
        assert_int_equal(card->total, M(json_object_get(r, "total"), "total"));
        assert_int_equal(card->bonus, M(json_object_get(r, "bonus"), "bonus"));
        assert_int_equal(card->pending, M(json_object_get(r, "pending"), "pending"));
        json_t *bysec = json_object_get(r, "sections");
        for (size_t s = 0; s < card->nsections; s++) {
            const char *sid = f->catalog->sections[card->sections[s].section].id;
            assert_int_equal(card->sections[s].score,
                             M(json_object_get(bysec, sid), sid));
        }
    }

    /* the 城区三所 of 2024-02 */
    json_t *u = json_object_get(doc, "urban_2024_02");
    assert_string_equal(json_string_value(json_object_get(u, "month")), "2024-02");
    kh_period_t feb = kh_period_nth(KH_PK_MONTH, 2024, 1);
    bool feb_closed = closed != KH_DAY_NONE && kh_period_last(feb) <= closed;
    assert_int_equal(feb_closed, json_is_true(json_object_get(u, "closed")));
    kh_urban_row_t *urows = calloc(n, sizeof *urows);
    assert_non_null(urows);
    size_t nu = kh_score_urban_month(f->county, f->catalog, &urban, 2, urows);
    json_t *us = json_object_get(u, "stations");
    assert_int_equal(nu, json_array_size(us));
    for (size_t i = 0; i < nu; i++) {
        json_t *r = json_array_get(us, i);
        assert_string_equal(f->county->stations[urows[i].station].code,
                            json_string_value(json_object_get(r, "station")));
        assert_int_equal(urows[i].patrols,
                         json_integer_value(json_object_get(r, "patrols")));
        assert_int_equal(urows[i].behind,
                         json_integer_value(json_object_get(r, "behind")));
        assert_int_equal(urows[i].deducted,
                         M(json_object_get(r, "deducted"), "deducted"));
    }
    free(urows);

    for (size_t i = 0; i < n; i++)
        kh_scorecard_free(&cards[i]);
    free(cards);
    free(rows);
    free(urban.counts);
    json_decref(doc);
}

static void test_open(void **state)
{
    compare(*state, "expected-open.json", KH_DAY_NONE, false);
}

static void test_closed_feb(void **state)
{
    compare(*state, "expected-closed-2024-02.json", D(2024, 2, 29), false);
}

/* The same with only the events the ranker would hand each station. */
static void test_open_own_events(void **state)
{
    compare(*state, "expected-open.json", KH_DAY_NONE, true);
}

static void test_closed_feb_own_events(void **state)
{
    compare(*state, "expected-closed-2024-02.json", D(2024, 2, 29), true);
}

/* The README's walk-through of NM closed through February, entry by
 * entry: the explain entries name the events and periods behind them. */
static void test_nm_walkthrough(void **state)
{
    fixture_t *f = *state;
    size_t n = f->county->nstations;
    kh_scorecard_t **cards = calloc(n, sizeof *cards);
    kh_urban_t urban = {0};
    assert_non_null(cards);
    score_all(f, D(2024, 2, 29), false, &urban, cards);
    const kh_scorecard_t *nm = cards[kh_county_find(f->county, "NM")];

    /* 1.1.2a: NM-H1 had no safety inspection in January: -0.5, final */
    const kh_item_score_t *is = item_of(f, nm, "1.1.2a");
    assert_int_equal(is->deducted, 500);
    assert_string_equal(is->entries[0].period, "2024-01");
    assert_false(is->entries[0].pending);
    assert_int_equal(is->entries[0].points, -500);
    assert_int_equal(is->entries[0].nevents, 1);
    assert_string_equal(is->entries[0].events[0], "NM-h");
    /* ... and March to December are pending, 10 x 0.5 */
    assert_int_equal(is->pending, 5000);
    assert_int_equal(is->nentries, 11);

    /* 1.1.2c: February occupancy 8.5 with no on-site check: -2 */
    is = item_of(f, nm, "1.1.2c");
    assert_int_equal(is->nentries, 1);
    assert_string_equal(is->entries[0].period, "2024-02");
    assert_int_equal(is->entries[0].points, -2000);
    assert_int_equal(is->entries[0].nevents, 2);
    assert_string_equal(is->entries[0].events[0], "NM-h");
    assert_string_equal(is->entries[0].events[1], "NM-o");

    /* 4.4: January 0 of 2 resident patrols: -4, with the sentence */
    is = item_of(f, nm, "4.4");
    assert_string_equal(is->entries[0].period, "2024-01");
    assert_int_equal(is->entries[0].points, -4000);
    assert_int_equal(is->entries[0].nevents, 0);
    assert_string_equal(is->entries[0].why,
                        "2024-01: 0 of 2 required resident patrols (class 1, "
                        "urban); 2 missing × 2.00 = 4.00");

    /* 4.6.2: both half-months of January: -2 each */
    is = item_of(f, nm, "4.6.2");
    assert_string_equal(is->entries[0].period, "2024-01/1");
    assert_string_equal(is->entries[1].period, "2024-01/2");
    assert_int_equal(is->deducted, 4000);

    /* 5.2.1: February 7 of 8 (P6 twice counts once), the ids behind it */
    is = item_of(f, nm, "5.2.1");
    const kh_entry_t *feb = NULL;
    for (size_t e = 0; e < is->nentries; e++)
        if (strcmp(is->entries[e].period, "2024-02") == 0)
            feb = &is->entries[e];
    assert_non_null(feb);
    assert_int_equal(feb->points, -200);
    assert_false(feb->pending);
    assert_int_equal(feb->nevents, 7);
    assert_string_equal(feb->events[0], "NM-p0");
    assert_string_equal(feb->events[6], "NM-p6b"); /* the latest report */

    /* 5.2.2: February, 2 behind BM's 9: -0.2 */
    is = item_of(f, nm, "5.2.2");
    assert_int_equal(is->nentries, 1);
    assert_int_equal(is->entries[0].points, -200);
    assert_string_equal(is->entries[0].period, "2024-02");

    /* 5.2.3: K1 -0.1 (the call c1) and +1 (two suspects: the review r2),
     * K2 +2 caught in the act (call c2 and review r1): each event is named
     * once, by the entry it causes */
    is = item_of(f, nm, "5.2.3");
    assert_int_equal(is->nentries, 3);
    kh_milli_t seen_k1_ded = 0, seen_k1_bonus = 0, seen_k2 = 0;
    for (size_t e = 0; e < is->nentries; e++) {
        const kh_entry_t *en = &is->entries[e];
        assert_string_equal(en->period, "2024-02");
        if (strcmp(en->events[0], "c1") == 0) {
            assert_int_equal(en->nevents, 1);
            seen_k1_ded = en->points;
        } else if (strcmp(en->events[0], "r2") == 0) {
            assert_int_equal(en->nevents, 1);
            seen_k1_bonus = en->points;
        } else {
            assert_int_equal(en->nevents, 2);
            assert_string_equal(en->events[0], "c2");
            assert_string_equal(en->events[1], "r1");
            seen_k2 = en->points;
        }
    }
    assert_int_equal(seen_k1_ded, -100);
    assert_int_equal(seen_k1_bonus, 1000);
    assert_int_equal(seen_k2, 2000);

    for (size_t i = 0; i < n; i++)
        kh_scorecard_free(&cards[i]);
    free(cards);
    free(urban.counts);
}

/* A stripped card (the ranker's cache) keeps every figure, no entries. */
static void test_strip(void **state)
{
    const fixture_t *f = *state;
    size_t n = f->county->nstations;
    kh_scorecard_t **a = calloc(n, sizeof *a), **b = calloc(n, sizeof *b);
    kh_urban_t ua = {0}, ub = {0};
    score_all(f, KH_DAY_NONE, false, &ua, a);
    score_all(f, KH_DAY_NONE, false, &ub, b);
    size_t had = 0;
    for (size_t i = 0; i < n; i++) {
        kh_scorecard_strip(b[i]);
        assert_int_equal(a[i]->total, b[i]->total);
        assert_int_equal(a[i]->bonus, b[i]->bonus);
        assert_int_equal(a[i]->pending, b[i]->pending);
        for (size_t s = 0; s < a[i]->nsections; s++)
            assert_int_equal(a[i]->sections[s].score, b[i]->sections[s].score);
        for (size_t k = 0; k < a[i]->nitems; k++) {
            const kh_item_score_t *x = &a[i]->items[k], *y = &b[i]->items[k];
            assert_true(x->deducted == y->deducted && x->bonus == y->bonus &&
                        x->pending == y->pending && x->self_score == y->self_score);
            assert_int_equal(y->nentries, 0);
            assert_null(y->entries);
            had += x->nentries;
        }
        kh_scorecard_free(&a[i]);
        kh_scorecard_free(&b[i]);
    }
    assert_true(had > 0); /* there were entries to strip */
    free(a);
    free(b);
    free(ua.counts);
    free(ub.counts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_closed_feb),
        cmocka_unit_test(test_open_own_events),
        cmocka_unit_test(test_closed_feb_own_events),
        cmocka_unit_test(test_nm_walkthrough),
        cmocka_unit_test(test_strip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
