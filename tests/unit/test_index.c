/*
 * test_index.c - the station/case relation derived from the journal
 * (kh_index.h): own events, the cases a station's calls name (every call
 * and review of each, whatever station they come from), stamps, the upto
 * cut, refusal of an old sequence, and growth to a province's size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "kh_error.h"
#include "kh_index.h"

static kh_event_t ev(kh_evtype_t type, const char *station, const char *case_id)
{
    kh_event_t e;
    kh_event_init(&e);
    e.type = type;
    snprintf(e.station, sizeof e.station, "%s", station);
    snprintf(e.case_id, sizeof e.case_id, "%s", case_id);
    return e;
}

/* The sequences bearing on code, as a 0-terminated list. */
static void expect(const kh_index_t *x, const char *code, const uint64_t *want)
{
    uint64_t *v;
    size_t n, k = 0;
    assert_int_equal(kh_index_station_seqs(x, code, &v, &n), KH_OK);
    while (want[k])
        k++;
    assert_int_equal(n, k);
    for (size_t i = 0; i < n; i++)
        assert_true(v[i] == want[i]);
    free(v);
}

static void test_cases_and_stamps(void **state)
{
    (void)state;
    kh_index_t *x = kh_index_new();
    assert_non_null(x);
    kh_event_t e;
    /* 1: BM calls case K; 2: a patrol of XM; 3: XM calls K too (a
     * revision of the case to XM); 4: the review of K (its own station
     * field QS); 5: BM calls K again; 6: an event of BM */
    e = ev(KH_EV_CALL, "BM", "K");
    assert_int_equal(kh_index_add(x, 1, &e), KH_OK);
    e = ev(KH_EV_PATROL, "XM", "");
    assert_int_equal(kh_index_add(x, 2, &e), KH_OK);
    assert_true(kh_index_stamp(x, "BM") == 1);
    e = ev(KH_EV_CALL, "XM", "K");
    assert_int_equal(kh_index_add(x, 3, &e), KH_OK);
    /* XM's call of K bears on BM (a call of its case) */
    assert_true(kh_index_stamp(x, "BM") == 3);
    assert_true(kh_index_stamp(x, "XM") == 3);
    e = ev(KH_EV_LEGAL_REVIEW, "QS", "K");
    assert_int_equal(kh_index_add(x, 4, &e), KH_OK);
    assert_true(kh_index_stamp(x, "BM") == 4 && kh_index_stamp(x, "XM") == 4);
    assert_true(kh_index_stamp(x, "QS") == 4);
    e = ev(KH_EV_CALL, "BM", "K");
    assert_int_equal(kh_index_add(x, 5, &e), KH_OK);
    e = ev(KH_EV_PATROL, "BM", "");
    assert_int_equal(kh_index_add(x, 6, &e), KH_OK);
    assert_true(kh_index_stamp(x, "XM") == 5); /* BM's patrol is not XM's */
    assert_true(kh_index_stamp(x, "BM") == 6);
    assert_true(kh_index_stamp(x, "NONE") == 0);
    assert_true(kh_index_through(x) == 6);

    expect(x, "BM", (const uint64_t[]){1, 3, 4, 5, 6, 0});
    expect(x, "XM", (const uint64_t[]){1, 2, 3, 4, 5, 0});
    /* a review names no station's case: QS has its own event only */
    expect(x, "QS", (const uint64_t[]){4, 0});
    expect(x, "NONE", (const uint64_t[]){0});

    /* an old or repeated sequence changes nothing */
    e = ev(KH_EV_CALL, "QS", "K");
    assert_int_equal(kh_index_add(x, 6, &e), KH_EINVAL);
    assert_int_equal(kh_index_add(x, 2, &e), KH_EINVAL);
    assert_true(kh_index_through(x) == 6);
    expect(x, "QS", (const uint64_t[]){4, 0});

    /* an entry that could not be decoded is passed over: counted, it
     * bears on nobody, and what follows is indexed as usual */
    assert_int_equal(kh_index_skipped(x), 0);
    assert_int_equal(kh_index_skip(x, 7), KH_OK);
    assert_int_equal(kh_index_skip(x, 7), KH_EINVAL);
    e = ev(KH_EV_PATROL, "QS", "");
    assert_int_equal(kh_index_add(x, 8, &e), KH_OK);
    assert_int_equal(kh_index_skipped(x), 1);
    assert_true(kh_index_last_skipped(x) == 7 && kh_index_through(x) == 8);
    expect(x, "QS", (const uint64_t[]){4, 8, 0});
    expect(x, "BM", (const uint64_t[]){1, 3, 4, 5, 6, 0});
    kh_index_free(&x);
    assert_null(x);
    kh_index_free(&x); /* NULL is fine */
}

/* A province: 3,000 stations, 60,000 cases, every table and vector grown
 * many times over; each station's list is exactly its own. */
static void test_province_size(void **state)
{
    (void)state;
    kh_index_t *x = kh_index_new();
    enum { NST = 3000, NCASE = 60000, N = 200000 };
    for (uint64_t s = 1; s <= N; s++) {
        char code[16], kase[24];
        int st = (int)(s % NST);
        snprintf(code, sizeof code, "P%04d", st);
        /* each case belongs to one station: case c of station c % NST */
        snprintf(kase, sizeof kase, "C%06d", (int)((s % NCASE) / NST * NST + st));
        kh_event_t e = ev(s % 3 ? KH_EV_CALL : KH_EV_PATROL, code, kase);
        assert_int_equal(kh_index_add(x, s, &e), KH_OK);
    }
    assert_true(kh_index_bytes(x) > N * sizeof(uint64_t));
    for (int st = 0; st < NST; st += 997) {
        char code[16];
        snprintf(code, sizeof code, "P%04d", st);
        uint64_t *v;
        size_t n;
        assert_int_equal(kh_index_station_seqs(x, code, &v, &n), KH_OK);
        assert_int_equal(n, N / NST + (st && st <= N % NST ? 1 : 0));
        for (size_t i = 0; i < n; i++) {
            assert_true(v[i] % NST == (uint64_t)st);
            assert_true(i == 0 || v[i] > v[i - 1]);
        }
        assert_true(kh_index_stamp(x, code) == v[n - 1]);
        free(v);
    }
    kh_index_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_and_stamps),
        cmocka_unit_test(test_province_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
