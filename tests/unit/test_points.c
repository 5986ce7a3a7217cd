/*
 * test_points.c - milli-point conversions (kh_points.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_points.h"

static void test_from_double(void **state)
{
    (void)state;
    kh_milli_t v;
    assert_true(kh_milli_from_double(8.5, &v));
    assert_int_equal(v, 8500);
    assert_true(kh_milli_from_double(78.0, &v));
    assert_int_equal(v, 78000);
    assert_true(kh_milli_from_double(0.1, &v));
    assert_int_equal(v, 100);
    assert_true(kh_milli_from_double(-0.2, &v));
    assert_int_equal(v, -200);
    /* 1.005 is 1.00499999999999989... as a double: still 1005. */
    assert_true(kh_milli_from_double(1.005, &v));
    assert_int_equal(v, 1005);
    assert_true(kh_milli_from_double(0.0004, &v));
    assert_int_equal(v, 0);
    assert_true(kh_milli_from_double(0.0006, &v));
    assert_int_equal(v, 1);
    assert_true(kh_milli_from_double(1e12, &v));
    assert_int_equal(v, INT64_C(1000000000000000));

    assert_false(kh_milli_from_double(NAN, &v));
    assert_false(kh_milli_from_double(INFINITY, &v));
    assert_false(kh_milli_from_double(-INFINITY, &v));
    assert_false(kh_milli_from_double(1.5e12, &v));
    assert_false(kh_milli_from_double(-1.5e12, &v));
}

static void test_every_three_decimal_value_is_exact(void **state)
{
    (void)state;
    /* Every amount from -100.000 to 100.000 survives text -> double ->
     * milli and milli -> double -> milli. */
    for (int64_t m = -100000; m <= 100000; m++) {
        char text[32];
        snprintf(text, sizeof text, "%s%lld.%03lld", m < 0 ? "-" : "",
                 (long long)(llabs(m) / 1000), (long long)(llabs(m) % 1000));
        double d = strtod(text, NULL);
        kh_milli_t v;
        assert_true(kh_milli_from_double(d, &v));
        assert_int_equal(v, m);
        assert_true(kh_milli_from_double(kh_milli_to_double(m), &v));
        assert_int_equal(v, m);
        assert_true(kh_milli_parse(text, &v));
        assert_int_equal(v, m);
    }
}

static void test_parse(void **state)
{
    (void)state;
    kh_milli_t v;
    assert_true(kh_milli_parse("-0.5", &v));
    assert_int_equal(v, -500);
    assert_true(kh_milli_parse("38.6", &v));
    assert_int_equal(v, 38600);
    assert_true(kh_milli_parse("2", &v));
    assert_int_equal(v, 2000);
    assert_true(kh_milli_parse("0.125", &v));
    assert_int_equal(v, 125);
    assert_true(kh_milli_parse("-0", &v));
    assert_int_equal(v, 0);
    assert_true(kh_milli_parse("1000000000000", &v));
    assert_int_equal(v, INT64_C(1000000000000000));

    const char *bad[] = {
        "",    "-",   ".5",   "2.",  "1.2345",         "1e3", "+1", " 1", "1 ", "1.2.3",
        "abc", "--1", "0x10", "1,5", "10000000000000", NULL};
    for (int i = 0; bad[i]; i++) {
        v = 42;
        assert_false(kh_milli_parse(bad[i], &v));
    }
    assert_false(kh_milli_parse(NULL, &v));
}

static void test_format2(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(kh_milli_format2(38600, buf), "38.60");
    assert_string_equal(kh_milli_format2(-100, buf), "-0.10");
    assert_string_equal(kh_milli_format2(0, buf), "0.00");
    assert_string_equal(kh_milli_format2(29400, buf), "29.40");
    assert_string_equal(kh_milli_format2(15000, buf), "15.00");
    assert_string_equal(kh_milli_format2(-2000, buf), "-2.00");
    assert_string_equal(kh_milli_format2(1, buf), "0.00");
    assert_string_equal(kh_milli_format2(5, buf), "0.01");
    assert_string_equal(kh_milli_format2(-5, buf), "-0.01");
    assert_string_equal(kh_milli_format2(-4, buf), "0.00");
    assert_string_equal(kh_milli_format2(12345, buf), "12.35");
    assert_string_equal(kh_milli_format2(-12344, buf), "-12.34");
    assert_string_equal(kh_milli_format2(INT64_MAX, buf), "9223372036854775.81");
    assert_string_equal(kh_milli_format2(INT64_MIN, buf), "-9223372036854775.81");
}

static void test_to_double(void **state)
{
    (void)state;
    char buf[64];
    struct {
        kh_milli_t v;
        const char *s;
    } cases[] = {{8500, "8.5"},
                 {100, "0.1"},
                 {-200, "-0.2"},
                 {78000, "78"},
                 {1, "0.001"},
                 {29400, "29.4"},
                 {-1, "-0.001"},
                 {123456789, "123456.789"},
                 {INT64_C(999999999999999), "999999999999.999"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(buf, sizeof buf, "%.15g", kh_milli_to_double(cases[i].v));
        assert_string_equal(buf, cases[i].s);
    }
    assert_true(kh_milli_to_double(KH_MILLI(15)) == 15.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_double),
        cmocka_unit_test(test_every_three_decimal_value_is_exact),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_format2),
        cmocka_unit_test(test_to_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
