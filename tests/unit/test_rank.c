/*
 * test_rank.c - the ranking (kh_rank.h): by total descending, ties share a
 * rank (1, 2, 2, 4) and are ordered by station code; the input order does
 * not matter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kh_county.h"
#include "kh_error.h"
#include "kh_rank.h"

static kh_county_t *county(void)
{
    /* codes deliberately out of alphabetical order in the file */
    static const char text[] = "{\"county\":\"x\",\"stations\":["
                               "{\"code\":\"ZB\",\"name\":\"z\",\"class\":1},"
                               "{\"code\":\"AA\",\"name\":\"a\",\"class\":2},"
                               "{\"code\":\"MC\",\"name\":\"m\",\"class\":3},"
                               "{\"code\":\"BD\",\"name\":\"b\",\"class\":2},"
                               "{\"code\":\"QE\",\"name\":\"q\",\"class\":2}]}";
    kh_county_t *c = NULL;
    char err[256];
    if (kh_county_load_mem(&c, text, strlen(text), err, sizeof err) != KH_OK)
        fail_msg("county: %s", err);
    return c;
}

static void test_ties_share_a_rank(void **state)
{
    (void)state;
    kh_county_t *c = county();
    /* ZB 38.6, AA 30, MC 38.6, BD 40, QE 30: BD 1, MC 2, ZB 2 (MC before
     * ZB by code), AA 4, QE 4 */
    kh_scorecard_t cards[5];
    memset(cards, 0, sizeof cards);
    const kh_milli_t totals[5] = {38600, 30000, 38600, 40000, 30000};
    const kh_scorecard_t *in[5];
    for (int i = 0; i < 5; i++) {
        cards[i].station = i;
        cards[i].year = 2024;
        cards[i].total = totals[i];
        in[i] = &cards[i];
    }
    kh_rank_row_t rows[5];
    kh_rank_cards(c, in, 5, rows);
    static const char *const want_code[5] = {"BD", "MC", "ZB", "AA", "QE"};
    static const int want_rank[5] = {1, 2, 2, 4, 4};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(c->stations[rows[i].card->station].code, want_code[i]);
        assert_int_equal(rows[i].rank, want_rank[i]);
    }
    kh_county_free(&c);
}

static void test_classic_1224(void **state)
{
    (void)state;
    kh_county_t *c = county();
    kh_scorecard_t cards[4];
    memset(cards, 0, sizeof cards);
    /* ZB 10, AA 9, MC 9, BD 8 -> 1, 2, 2, 4 */
    const kh_milli_t totals[4] = {10000, 9000, 9000, 8000};
    const kh_scorecard_t *in[4];
    for (int i = 0; i < 4; i++) {
        cards[i].station = i;
        cards[i].total = totals[i];
        in[i] = &cards[i];
    }
    kh_rank_row_t rows[4];
    kh_rank_cards(c, in, 4, rows);
    assert_int_equal(rows[0].rank, 1);
    assert_int_equal(rows[1].rank, 2);
    assert_int_equal(rows[2].rank, 2);
    assert_int_equal(rows[3].rank, 4);
    assert_string_equal(c->stations[rows[1].card->station].code, "AA");
    assert_string_equal(c->stations[rows[2].card->station].code, "MC");
    kh_county_free(&c);
}

/* Every permutation of the input gives the same rows. */
static void test_order_independent(void **state)
{
    (void)state;
    kh_county_t *c = county();
    kh_scorecard_t cards[5];
    memset(cards, 0, sizeof cards);
    const kh_milli_t totals[5] = {5000, 5000, 5000, 7000, -1};
    for (int i = 0; i < 5; i++) {
        cards[i].station = i;
        cards[i].total = totals[i];
    }
    int perm[5] = {0, 1, 2, 3, 4};
    kh_rank_row_t ref[5];
    bool have_ref = false;
    /* Heap's algorithm over the 120 permutations */
    int cnt[5] = {0};
    int k = 0;
    for (;;) {
        const kh_scorecard_t *in[5];
        for (int i = 0; i < 5; i++)
            in[i] = &cards[perm[i]];
        kh_rank_row_t rows[5];
        kh_rank_cards(c, in, 5, rows);
        if (!have_ref) {
            memcpy(ref, rows, sizeof ref);
            have_ref = true;
            /* BD 7 first; AA, MC, ZB tie at 5 (by code); QE last */
            assert_int_equal(rows[0].card->station, 3);
            assert_int_equal(rows[1].card->station, 1);
            assert_int_equal(rows[2].card->station, 2);
            assert_int_equal(rows[3].card->station, 0);
            assert_int_equal(rows[4].card->station, 4);
            assert_int_equal(rows[3].rank, 2);
            assert_int_equal(rows[4].rank, 5);
        }
        for (int i = 0; i < 5; i++) {
            assert_ptr_equal(rows[i].card, ref[i].card);
            assert_int_equal(rows[i].rank, ref[i].rank);
        }
        /* next permutation */
        while (k < 5 && cnt[k] >= k) {
            cnt[k] = 0;
            k++;
        }
        if (k >= 5)
            break;
        int j = (k % 2) ? cnt[k] : 0;
        int t = perm[j];
        perm[j] = perm[k];
        perm[k] = t;
        cnt[k]++;
        k = 0;
    }
    kh_county_free(&c);
}

static void test_edges(void **state)
{
    (void)state;
    kh_county_t *c = county();
    kh_rank_row_t rows[1];
    kh_rank_cards(c, NULL, 0, rows); /* nothing to rank */
    kh_scorecard_t one;
    memset(&one, 0, sizeof one);
    one.station = 2;
    const kh_scorecard_t *in[1] = {&one};
    kh_rank_cards(c, in, 1, rows);
    assert_ptr_equal(rows[0].card, &one);
    assert_int_equal(rows[0].rank, 1);

    /* many stations, all tied: all rank 1, in code order */
    enum { N = 300 };
    kh_scorecard_t *many = calloc(N, sizeof *many);
    const kh_scorecard_t **pin = calloc(N, sizeof *pin);
    kh_rank_row_t *mrows = calloc(N, sizeof *mrows);
    assert_non_null(many);
    assert_non_null(pin);
    assert_non_null(mrows);
    for (int i = 0; i < N; i++) {
        many[i].station = i % 5;
        many[i].total = (i % 7) * 1000;
        pin[i] = &many[i];
    }
    kh_rank_cards(c, pin, N, mrows);
    for (int i = 1; i < N; i++) {
        const kh_scorecard_t *a = mrows[i - 1].card, *b = mrows[i].card;
        assert_true(a->total >= b->total);
        if (a->total == b->total) {
            assert_int_equal(mrows[i].rank, mrows[i - 1].rank);
            assert_true(
                strcmp(c->stations[a->station].code, c->stations[b->station].code) <= 0);
        } else {
            assert_int_equal(mrows[i].rank, i + 1);
        }
    }
    free(many);
    free(pin);
    free(mrows);
    kh_county_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ties_share_a_rank),
        cmocka_unit_test(test_classic_1224),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
