/*
 * test_credit.c - per-key in-flight limits (kh_credit.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include "kh_credit.h"

static const kh_credit_limits_t lim = {
    .key_events = 3, .key_bytes = 1000, .all_bytes = 1500, .stale_us = 1000000};

static void test_per_key_events(void **state)
{
    (void)state;
    kh_credit_t *c = kh_credit_new(&lim);
    assert_non_null(c);
    for (int i = 0; i < 3; i++)
        assert_true(kh_credit_take(c, "station-A", 1, 10, 0));
    /* A's fourth waits for an answer; B is not held up by A. */
    assert_false(kh_credit_take(c, "station-A", 1, 10, 0));
    assert_true(kh_credit_take(c, "station-B", 1, 10, 0));
    kh_credit_give(c, "station-A", 1, 10, 1);
    assert_true(kh_credit_take(c, "station-A", 1, 10, 2));
    kh_credit_stats_t st;
    kh_credit_stats(c, &st);
    assert_int_equal(st.events, 4);
    assert_int_equal(st.bytes, 40);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.keys, 2);
    kh_credit_free(&c);
    assert_null(c);
}

static void test_bytes_per_key_and_in_all(void **state)
{
    (void)state;
    kh_credit_t *c = kh_credit_new(&lim);
    assert_true(kh_credit_take(c, "dispatch", 1, 900, 0));
    assert_false(kh_credit_take(c, "dispatch", 1, 200, 0)); /* key: 1100 > 1000 */
    assert_true(kh_credit_take(c, "legal", 1, 500, 0));     /* all: 1400 */
    assert_false(kh_credit_take(c, "assessor", 1, 200, 0)); /* all: 1600 > 1500 */
    assert_true(kh_credit_take(c, "assessor", 1, 100, 0));  /* all: 1500 */
    kh_credit_give(c, "dispatch", 1, 900, 1);
    uint32_t ev;
    uint64_t by;
    kh_credit_key(c, "dispatch", &ev, &by);
    assert_int_equal(ev, 0);
    assert_int_equal(by, 0);
    assert_true(kh_credit_take(c, "assessor", 1, 200, 2));
    kh_credit_key(c, "assessor", &ev, &by);
    assert_int_equal(ev, 2);
    assert_int_equal(by, 300);
    kh_credit_key(c, "nobody", &ev, &by);
    assert_int_equal(ev, 0);
    kh_credit_free(&c);
}

static void test_lost_answers_expire(void **state)
{
    (void)state;
    kh_credit_t *c = kh_credit_new(&lim);
    for (int i = 0; i < 3; i++)
        assert_true(kh_credit_take(c, "station-A", 1, 10, 100));
    /* An answer keeps the key alive... */
    kh_credit_give(c, "station-A", 1, 10, 900000);
    assert_true(kh_credit_take(c, "station-A", 1, 10, 1500000));
    assert_false(kh_credit_take(c, "station-A", 1, 10, 1500000));
    /* ...silence for longer than stale_us resets it (the scorer died). */
    assert_true(kh_credit_take(c, "station-A", 1, 10, 1900001));
    kh_credit_stats_t st;
    kh_credit_stats(c, &st);
    assert_int_equal(st.resets, 1);
    assert_int_equal(st.events, 1);
    assert_int_equal(st.bytes, 10);
    /* A late answer from before the reset cannot go below zero. */
    kh_credit_give(c, "station-A", 1, 10, 1900002);
    kh_credit_give(c, "station-A", 1, 10, 1900003);
    kh_credit_stats(c, &st);
    assert_int_equal(st.events, 0);
    assert_int_equal(st.bytes, 0);
    kh_credit_free(&c);
}

static void test_many_keys(void **state)
{
    (void)state;
    kh_credit_limits_t big = lim;
    big.all_bytes = UINT64_MAX;
    kh_credit_t *c = kh_credit_new(&big);
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "station-%05d", i);
        assert_true(kh_credit_take(c, key, 1, 1, 0));
    }
    for (int i = 0; i < 5000; i++) {
        uint32_t ev;
        uint64_t by;
        snprintf(key, sizeof key, "station-%05d", i);
        kh_credit_key(c, key, &ev, &by);
        assert_int_equal(ev, 1);
        kh_credit_give(c, key, 1, 1, 1);
    }
    kh_credit_stats_t st;
    kh_credit_stats(c, &st);
    assert_int_equal(st.keys, 5000);
    assert_int_equal(st.events, 0);
    kh_credit_free(&c);
}

/* A batch takes and gives back its events together. */
static void test_batch_credit(void **state)
{
    (void)state;
    kh_credit_t *c = kh_credit_new(&lim);
    assert_false(kh_credit_take(c, "dispatch", 4, 40, 0)); /* 4 > 3 events */
    assert_true(kh_credit_take(c, "dispatch", 3, 30, 0));
    assert_false(kh_credit_take(c, "dispatch", 1, 10, 0));
    kh_credit_give(c, "dispatch", 3, 30, 1);
    kh_credit_stats_t st;
    kh_credit_stats(c, &st);
    assert_int_equal(st.events, 0);
    assert_int_equal(st.bytes, 0);
    assert_true(kh_credit_take(c, "dispatch", 2, 20, 2));
    kh_credit_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_key_events),
        cmocka_unit_test(test_bytes_per_key_and_in_all),
        cmocka_unit_test(test_lost_answers_expire),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_batch_credit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
