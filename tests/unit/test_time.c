/*
 * test_time.c - civil dates, RFC 3339, zones and periods (kh_time.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kh_error.h"
#include "kh_time.h"

/* An instant from an RFC 3339 string that must parse. */
static kh_usec_t T(const char *s)
{
    kh_usec_t t = 0;
    assert_int_equal(kh_time_parse(s, &t), KH_OK);
    return t;
}

static kh_day_t D(const char *s)
{
    kh_day_t d = 0;
    assert_int_equal(kh_day_parse(s, &d), KH_OK);
    return d;
}

static bool have_zone(const char *name)
{
    char path[512];
    const char *dir = getenv("TZDIR");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    return access(path, R_OK) == 0;
}

/* --- civil dates --- */

static void test_civil_known_days(void **state)
{
    (void)state;
    assert_int_equal(kh_day_from_civil(1970, 1, 1), 0);
    assert_int_equal(kh_day_from_civil(1969, 12, 31), -1);
    assert_int_equal(kh_day_from_civil(2000, 3, 1), 11017);
    assert_int_equal(kh_day_from_civil(2024, 1, 1), 19723);
    assert_int_equal(kh_day_from_civil(2024, 2, 29), 19782);
    assert_int_equal(kh_day_from_civil(2024, 3, 1), 19783);
    assert_int_equal(kh_day_from_civil(1, 1, 1), -719162);
    int y, m, d;
    kh_day_to_civil(19782, &y, &m, &d);
    assert_int_equal(y, 2024);
    assert_int_equal(m, 2);
    assert_int_equal(d, 29);
    kh_day_to_civil(-1, &y, NULL, NULL);
    assert_int_equal(y, 1969);
}

static void test_civil_round_trip(void **state)
{
    (void)state;
    /* Every day from year 1 to 9999: civil -> day -> civil, and the day
     * numbers are consecutive. */
    kh_day_t prev = kh_day_from_civil(1, 1, 1) - 1;
    for (int y = 1; y <= 9999; y++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= kh_days_in_month(y, m); d++) {
                kh_day_t n = kh_day_from_civil(y, m, d);
                assert_int_equal(n, prev + 1);
                prev = n;
                int yy, mm, dd;
                kh_day_to_civil(n, &yy, &mm, &dd);
                if (yy != y || mm != m || dd != d)
                    fail_msg("%d-%d-%d -> %d -> %d-%d-%d", y, m, d, (int)n, yy, mm, dd);
            }
        }
    }
}

static void test_leap_years(void **state)
{
    (void)state;
    assert_int_equal(kh_days_in_month(2024, 2), 29);
    assert_int_equal(kh_days_in_month(2023, 2), 28);
    assert_int_equal(kh_days_in_month(2000, 2), 29);
    assert_int_equal(kh_days_in_month(1900, 2), 28);
    assert_int_equal(kh_days_in_month(2100, 2), 28);
    assert_int_equal(kh_days_in_month(2400, 2), 29);
    assert_int_equal(kh_days_in_month(2026, 1), 31);
    assert_int_equal(kh_days_in_month(2026, 4), 30);
    assert_int_equal(kh_days_in_month(2026, 12), 31);
    assert_int_equal(kh_day_from_civil(2025, 1, 1) - kh_day_from_civil(2024, 1, 1), 366);
    assert_int_equal(kh_day_from_civil(2101, 1, 1) - kh_day_from_civil(2100, 1, 1), 365);
}

static void test_day_parse_format(void **state)
{
    (void)state;
    char buf[11];
    assert_string_equal(kh_day_format(D("2024-02-29"), buf), "2024-02-29");
    assert_string_equal(kh_day_format(D("0001-01-01"), buf), "0001-01-01");
    assert_string_equal(kh_day_format(D("9999-12-31"), buf), "9999-12-31");
    assert_string_equal(kh_day_format(0, buf), "1970-01-01");

    const char *bad[] = {"2023-02-29", "2024-02-30",  "2024-04-31",  "2024-13-01",
                         "2024-00-10", "2024-01-00",  "2024-2-01",   "2024-02-1",
                         "2024/02/01", "2024-02-01x", "2024-02-01 ", "0000-01-01",
                         "",           "20240201",    "2024-02-0a",  "1900-02-29",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        kh_day_t d = 7;
        if (kh_day_parse(bad[i], &d) != KH_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    kh_day_t d;
    assert_int_equal(kh_day_parse(NULL, &d), KH_EINVAL);
    assert_int_equal(kh_day_parse("2000-02-29", &d), KH_OK);
}

/* --- instants --- */

static void test_time_parse_good(void **state)
{
    (void)state;
    kh_usec_t base = (kh_usec_t)kh_day_from_civil(2024, 2, 29) * KH_USEC_PER_DAY;
    kh_usec_t t1630 = base + (16 * 3600 + 30 * 60) * KH_USEC_PER_SEC;
    assert_true(T("2024-02-29T16:30:00Z") == t1630);
    assert_true(T("2024-03-01T00:30:00+08:00") == t1630);
    assert_true(T("2024-02-29T11:00:00-05:30") == t1630);
    assert_true(T("2024-02-29t16:30:00z") == t1630);
    assert_true(T("2024-02-29 16:30:00Z") == t1630);
    assert_true(T("2024-02-29T16:30:00+00:00") == t1630);
    assert_true(T("2024-02-29T16:30:00-00:00") == t1630);
    assert_true(T("2024-02-29T16:30:00.5Z") == t1630 + 500000);
    assert_true(T("2024-02-29T16:30:00.000001Z") == t1630 + 1);
    /* beyond microseconds: truncated */
    assert_true(T("2024-02-29T16:30:00.1234569Z") == t1630 + 123456);
    assert_true(T("2024-02-29T16:30:00.999999999+08:00") ==
                t1630 - 8 * 3600 * KH_USEC_PER_SEC + 999999);
    assert_true(T("1970-01-01T00:00:00Z") == 0);
    assert_true(T("1969-12-31T23:59:59.5Z") == -500000);
    assert_true(T("0001-01-01T00:00:00Z") ==
                (kh_usec_t)kh_day_from_civil(1, 1, 1) * KH_USEC_PER_DAY);
    assert_true(T("9999-12-31T23:59:59Z") > 0);
}

static void test_time_parse_bad(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "2024-02-29",
        "2024-02-29T16:30:00",       /* no offset */
        "2024-02-29T16:30Z",         /* no seconds */
        "2024-02-29T16:30:00+0800",  /* offset without colon */
        "2024-02-29T16:30:00+08",    /* short offset */
        "2024-02-29T16:30:00+24:00", /* offset hour */
        "2024-02-29T16:30:00+08:60", /* offset minute */
        "2024-02-29T24:00:00Z",
        "2024-02-29T23:60:00Z",
        "2024-02-29T23:59:60Z", /* leap second */
        "2023-02-29T10:00:00Z", /* not a leap year */
        "2024-02-30T10:00:00Z",
        "2024-13-01T10:00:00Z",
        "2024-02-29X16:30:00Z",
        "2024-02-29T16:30:00.Z", /* dot without digits */
        "2024-02-29T16:30:00Zjunk",
        "2024-02-29T16:30:00Z ",
        " 2024-02-29T16:30:00Z",
        "2024-02-29T16:30:00+08:00:00",
        "2024-2-29T16:30:00Z",
        "2024-02-29T6:30:00Z",
        "0000-01-01T00:00:00Z",
        "2024-02-29T16:30:00,5Z",
        "yesterday",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        kh_usec_t t = 7;
        if (kh_time_parse(bad[i], &t) != KH_EBAD_TIME)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    kh_usec_t t;
    assert_int_equal(kh_time_parse(NULL, &t), KH_EBAD_TIME);
}

static void test_time_format_round_trip(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(kh_time_format(T("2024-03-01T00:30:00+08:00"), buf),
                        "2024-02-29T16:30:00Z");
    assert_string_equal(kh_time_format(T("2024-02-29T16:30:00.25Z"), buf),
                        "2024-02-29T16:30:00.250000Z");
    assert_string_equal(kh_time_format(0, buf), "1970-01-01T00:00:00Z");
    assert_string_equal(kh_time_format(-1, buf), "1969-12-31T23:59:59.999999Z");
    const char *forms[] = {"2026-11-30T17:00:00Z",        "2026-12-31T15:59:59Z",
                           "1999-12-31T23:59:59.000001Z", "0001-01-01T00:00:00Z",
                           "9999-12-31T23:59:59.999999Z", NULL};
    for (int i = 0; forms[i]; i++) {
        kh_usec_t t = T(forms[i]);
        assert_string_equal(kh_time_format(t, buf), forms[i]);
        assert_true(T(buf) == t);
    }
    /* Every hour and odd microsecond over a few years round-trips. */
    for (kh_usec_t t = T("2023-01-01T00:00:00Z"); t < T("2027-01-01T00:00:00Z");
         t += 3600 * KH_USEC_PER_SEC + 7) {
        assert_true(T(kh_time_format(t, buf)) == t);
    }
}

static void test_time_now(void **state)
{
    (void)state;
    kh_usec_t now = kh_time_now();
    assert_true(now > T("2020-01-01T00:00:00Z"));
    assert_true(now < T("2200-01-01T00:00:00Z"));
}

/* --- zones --- */

static void test_shanghai(void **state)
{
    (void)state;
    kh_tz_t *tz = NULL;
    assert_int_equal(kh_tz_open(&tz, "Asia/Shanghai"), KH_OK);
    assert_string_equal(kh_tz_name(tz), "Asia/Shanghai");
    char buf[11];
    /* SPEC section 3: 2026-11-30T17:00:00Z is in December. */
    kh_usec_t t = T("2026-11-30T17:00:00Z");
    assert_int_equal(kh_tz_offset(tz, t), 8 * 3600);
    assert_string_equal(kh_day_format(kh_tz_day(tz, t), buf), "2026-12-01");
    assert_string_equal(kh_day_format(kh_tz_day(tz, T("2026-11-30T15:59:59Z")), buf),
                        "2026-11-30");
    /* The year's last second and the next year's first. */
    assert_string_equal(kh_day_format(kh_tz_day(tz, T("2026-12-31T15:59:59Z")), buf),
                        "2026-12-31");
    assert_string_equal(
        kh_day_format(kh_tz_day(tz, T("2026-12-31T15:59:59.999999Z")), buf),
        "2026-12-31");
    assert_string_equal(kh_day_format(kh_tz_day(tz, T("2026-12-31T16:00:00Z")), buf),
                        "2027-01-01");
    /* The example's case K6 falls on 1 March. */
    assert_string_equal(kh_day_format(kh_tz_day(tz, T("2024-02-29T16:30:00Z")), buf),
                        "2024-03-01");
    assert_true(kh_tz_day_start(tz, D("2024-03-01")) == T("2024-02-29T16:00:00Z"));
    assert_true(kh_tz_day_start(tz, D("2027-01-01")) == T("2026-12-31T16:00:00Z"));
    kh_tz_close(&tz);
    assert_null(tz);
    kh_tz_close(&tz); /* NULL is fine */
    kh_tz_close(NULL);
}

static void test_new_york_dst(void **state)
{
    (void)state;
    if (!have_zone("America/New_York"))
        skip();
    kh_tz_t *tz = NULL;
    assert_int_equal(kh_tz_open(&tz, "America/New_York"), KH_OK);
    /* 2030: inside the file's transitions on fat tzdata, the footer rule
     * on slim tzdata; 2040 and 2100 are past every fat file's table. */
    struct {
        const char *t;
        int32_t off;
    } cases[] = {
        {"2030-03-10T06:59:59Z", -18000}, {"2030-03-10T07:00:00Z", -14400},
        {"2030-11-03T05:59:59Z", -14400}, {"2030-11-03T06:00:00Z", -18000},
        {"2040-03-11T06:59:59Z", -18000}, {"2040-03-11T07:00:00Z", -14400},
        {"2040-11-04T05:59:59Z", -14400}, {"2040-11-04T06:00:00Z", -18000},
        {"2100-03-14T06:59:59Z", -18000}, {"2100-03-14T07:00:00Z", -14400},
        {"2100-11-07T05:59:59Z", -14400}, {"2100-11-07T06:00:00Z", -18000},
        {"2024-07-01T12:00:00Z", -14400}, {"2024-01-01T12:00:00Z", -18000},
        {"1880-01-01T12:00:00Z", -17762}, /* LMT before the first rule */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t off = kh_tz_offset(tz, T(cases[i].t));
        if (off != cases[i].off)
            fail_msg("%s: offset %d, want %d", cases[i].t, (int)off, (int)cases[i].off);
    }
    /* Local midnight moves with DST. */
    assert_true(kh_tz_day_start(tz, D("2040-03-11")) == T("2040-03-11T05:00:00Z"));
    assert_true(kh_tz_day_start(tz, D("2040-03-12")) == T("2040-03-12T04:00:00Z"));
    char buf[11];
    assert_string_equal(kh_day_format(kh_tz_day(tz, T("2040-11-04T04:30:00Z")), buf),
                        "2040-11-04");
    assert_string_equal(kh_day_format(kh_tz_day(tz, T("2040-11-04T03:30:00Z")), buf),
                        "2040-11-03");
    kh_tz_close(&tz);
}

/* The footer rule alone must agree with the transition table for every
 * hour the table covers. */
static void compare_rule_with_file(const char *zone, const char *rule, int from, int to)
{
    if (!have_zone(zone))
        return;
    kh_tz_t *file = NULL, *posix = NULL;
    assert_int_equal(kh_tz_open(&file, zone), KH_OK);
    assert_int_equal(kh_tz_open_posix(&posix, rule), KH_OK);
    kh_usec_t end = (kh_usec_t)kh_day_from_civil(to, 1, 1) * KH_USEC_PER_DAY;
    for (kh_usec_t t = (kh_usec_t)kh_day_from_civil(from, 1, 1) * KH_USEC_PER_DAY;
         t < end; t += 1800 * KH_USEC_PER_SEC) {
        if (kh_tz_offset(file, t) != kh_tz_offset(posix, t)) {
            char buf[32];
            fail_msg("%s at %s: file %d, rule %d", zone, kh_time_format(t, buf),
                     (int)kh_tz_offset(file, t), (int)kh_tz_offset(posix, t));
        }
    }
    kh_tz_close(&file);
    kh_tz_close(&posix);
}

static void test_footer_rules(void **state)
{
    (void)state;
    compare_rule_with_file("America/New_York", "EST5EDT,M3.2.0,M11.1.0", 2008, 2037);
    compare_rule_with_file("Europe/London", "GMT0BST,M3.5.0/1,M10.5.0", 1997, 2037);
    compare_rule_with_file("Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3", 2009,
                           2037);
    compare_rule_with_file("Asia/Shanghai", "CST-8", 1992, 2037);

    /* Rule syntax: quoted names, J and zero-based days, default dates. */
    kh_tz_t *tz = NULL;
    assert_int_equal(kh_tz_open_posix(&tz, "<+08>-8"), KH_OK);
    assert_int_equal(kh_tz_offset(tz, 0), 8 * 3600);
    kh_tz_close(&tz);
    assert_int_equal(kh_tz_open_posix(&tz, "XST3XDT,J60/0,J300/0"), KH_OK);
    /* J60 is 1 March in every year. */
    assert_int_equal(kh_tz_offset(tz, T("2024-03-01T02:59:59Z")), -3 * 3600);
    assert_int_equal(kh_tz_offset(tz, T("2024-03-01T03:00:00Z")), -2 * 3600);
    kh_tz_close(&tz);
    assert_int_equal(kh_tz_open_posix(&tz, "XST3XDT,59/0,300/0"), KH_OK);
    /* zero-based 59 is 29 February in a leap year */
    assert_int_equal(kh_tz_offset(tz, T("2024-02-29T03:00:00Z")), -2 * 3600);
    assert_int_equal(kh_tz_offset(tz, T("2023-03-01T03:00:00Z")), -2 * 3600);
    kh_tz_close(&tz);
    assert_int_equal(kh_tz_open_posix(&tz, "EST5EDT"), KH_OK);
    assert_int_equal(kh_tz_offset(tz, T("2040-07-01T00:00:00Z")), -4 * 3600);
    assert_int_equal(kh_tz_offset(tz, T("2040-01-01T00:00:00Z")), -5 * 3600);
    kh_tz_close(&tz);
    const char *bad[] = {"",
                         "E5",
                         "EST",
                         "EST5EDT,",
                         "EST5EDT,M3.2.0",
                         "EST5EDT,M13.1.0,M11.1.0",
                         "EST5EDT,M3.6.0,M11.1.0",
                         "EST5EDT,M3.2.7,M11.1.0",
                         "EST5EDT,J0,J100",
                         "EST99",
                         "<+08-8",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        if (kh_tz_open_posix(&tz, bad[i]) != KH_ECONFIG)
            fail_msg("accepted rule \"%s\"", bad[i]);
        assert_null(tz);
    }
}

static void test_midnight_gap(void **state)
{
    (void)state;
    if (!have_zone("America/Sao_Paulo"))
        skip();
    /* 2018-11-04 began at 01:00 in Sao Paulo: midnight did not exist. */
    kh_tz_t *tz = NULL;
    assert_int_equal(kh_tz_open(&tz, "America/Sao_Paulo"), KH_OK);
    assert_true(kh_tz_day_start(tz, D("2018-11-04")) == T("2018-11-04T03:00:00Z"));
    assert_true(kh_tz_day_start(tz, D("2018-11-05")) == T("2018-11-05T02:00:00Z"));
    assert_true(kh_tz_day_start(tz, D("2018-11-03")) == T("2018-11-03T03:00:00Z"));
    kh_tz_close(&tz);
}

static void test_fixed_zones(void **state)
{
    (void)state;
    kh_tz_t *tz = NULL;
    char buf[11];
    assert_int_equal(kh_tz_open(&tz, "UTC"), KH_OK);
    assert_int_equal(kh_tz_offset(tz, T("2024-07-01T00:00:00Z")), 0);
    assert_string_equal(kh_day_format(kh_tz_day(tz, T("2026-12-31T23:59:59Z")), buf),
                        "2026-12-31");
    kh_tz_close(&tz);
    assert_int_equal(kh_tz_open(&tz, "UTC+08:00"), KH_OK);
    assert_string_equal(kh_tz_name(tz), "UTC+08:00");
    assert_int_equal(kh_tz_offset(tz, 0), 8 * 3600);
    assert_string_equal(kh_day_format(kh_tz_day(tz, T("2026-11-30T17:00:00Z")), buf),
                        "2026-12-01");
    kh_tz_close(&tz);
    assert_int_equal(kh_tz_open(&tz, "UTC-05:30"), KH_OK);
    assert_int_equal(kh_tz_offset(tz, 0), -(5 * 3600 + 1800));
    assert_true(kh_tz_day_start(tz, D("2024-01-01")) == T("2024-01-01T05:30:00Z"));
    assert_string_equal(kh_day_format(kh_tz_day(tz, T("2024-01-01T05:29:59Z")), buf),
                        "2023-12-31");
    kh_tz_close(&tz);
}

static void test_bad_zone_names(void **state)
{
    (void)state;
    const char *bad[] = {"Mars/Base",
                         "../../etc/passwd",
                         "/etc/localtime",
                         "Asia/../Asia/Shanghai",
                         "",
                         "UTC+8",
                         "UTC+08",
                         "UTC+24:00",
                         "UTC+08:00x",
                         "Asia",
                         "Asia/Shang hai",
                         "Asia\\Shanghai",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        kh_tz_t *tz = (kh_tz_t *)1;
        if (kh_tz_open(&tz, bad[i]) != KH_ECONFIG)
            fail_msg("accepted zone \"%s\"", bad[i]);
        assert_null(tz);
    }
    kh_tz_t *tz;
    assert_int_equal(kh_tz_open(&tz, NULL), KH_ECONFIG);
}

/* A TZif v2 file with no transitions at all, only a footer rule: how slim
 * tzdata describes a zone's future. Written to a temporary TZDIR. */
static void write_be32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    fwrite(b, 1, 4, f);
}

static void write_tzif_block(FILE *f)
{
    static const uint8_t hdr[20] = {'T', 'Z', 'i', 'f', '2'};
    fwrite(hdr, 1, 20, f);
    /* isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
    write_be32(f, 0);
    write_be32(f, 0);
    write_be32(f, 0);
    write_be32(f, 0);
    write_be32(f, 1);
    write_be32(f, 4);
    write_be32(f, (uint32_t)-18000);
    fputc(0, f); /* isdst */
    fputc(0, f); /* abbreviation index */
    fwrite("EST", 1, 4, f);
}

static void test_tzdir_slim_file_and_fallback(void **state)
{
    (void)state;
    char dir[] = "/tmp/kh-tzdir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64], path[96];
    snprintf(sub, sizeof sub, "%s/Test", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/Footer", sub);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    write_tzif_block(f); /* v1 part */
    write_tzif_block(f); /* v2 part: same, 64-bit times (none) */
    fputs("\nEST5EDT,M3.2.0,M11.1.0\n", f);
    fclose(f);
    char junk[96];
    snprintf(junk, sizeof junk, "%s/Junk", sub);
    f = fopen(junk, "wb");
    assert_non_null(f);
    fputs("not a tzif file at all, but long enough to have a header........", f);
    fclose(f);

    const char *old = getenv("TZDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TZDIR", dir, 1);

    kh_tz_t *tz = NULL;
    assert_int_equal(kh_tz_open(&tz, "Test/Footer"), KH_OK);
    assert_int_equal(kh_tz_offset(tz, T("2030-03-10T06:59:59Z")), -18000);
    assert_int_equal(kh_tz_offset(tz, T("2030-03-10T07:00:00Z")), -14400);
    assert_int_equal(kh_tz_offset(tz, T("2030-11-03T05:59:59Z")), -14400);
    assert_int_equal(kh_tz_offset(tz, T("2030-11-03T06:00:00Z")), -18000);
    kh_tz_close(&tz);

    assert_int_equal(kh_tz_open(&tz, "Test/Junk"), KH_ECONFIG);
    assert_int_equal(kh_tz_open(&tz, "Test"), KH_ECONFIG); /* a directory */
    /* Without tzdata the default zone still works, as fixed UTC+8. */
    assert_int_equal(kh_tz_open(&tz, "Asia/Shanghai"), KH_OK);
    assert_int_equal(kh_tz_offset(tz, T("2026-07-01T00:00:00Z")), 8 * 3600);
    char buf[11];
    assert_string_equal(kh_day_format(kh_tz_day(tz, T("2026-11-30T17:00:00Z")), buf),
                        "2026-12-01");
    kh_tz_close(&tz);
    assert_int_equal(kh_tz_open(&tz, "America/New_York"), KH_ECONFIG);

    if (saved) {
        setenv("TZDIR", saved, 1);
        free(saved);
    } else {
        unsetenv("TZDIR");
    }
    unlink(path);
    unlink(junk);
    rmdir(sub);
    rmdir(dir);
}

/* --- periods --- */

static void expect_period(kh_period_kind_t kind, const char *day, const char *name,
                          const char *first, const char *last)
{
    kh_period_t p = kh_period_of(kind, D(day));
    char buf[16], f[11], l[11];
    assert_string_equal(kh_period_format(p, buf), name);
    assert_string_equal(kh_day_format(kh_period_first(p), f), first);
    assert_string_equal(kh_day_format(kh_period_last(p), l), last);
    kh_period_t q;
    assert_int_equal(kh_period_parse(name, &q), KH_OK);
    assert_int_equal(q.kind, p.kind);
    assert_int_equal(q.year, p.year);
    assert_int_equal(q.index, p.index);
}

static void test_periods_first_last(void **state)
{
    (void)state;
    expect_period(KH_PK_HALF_MONTH, "2024-02-15", "2024-02/1", "2024-02-01",
                  "2024-02-15");
    expect_period(KH_PK_HALF_MONTH, "2024-02-16", "2024-02/2", "2024-02-16",
                  "2024-02-29");
    expect_period(KH_PK_HALF_MONTH, "2023-02-20", "2023-02/2", "2023-02-16",
                  "2023-02-28");
    expect_period(KH_PK_HALF_MONTH, "2024-12-31", "2024-12/2", "2024-12-16",
                  "2024-12-31");
    expect_period(KH_PK_HALF_MONTH, "2024-01-01", "2024-01/1", "2024-01-01",
                  "2024-01-15");
    expect_period(KH_PK_MONTH, "2024-02-29", "2024-02", "2024-02-01", "2024-02-29");
    expect_period(KH_PK_MONTH, "2100-02-10", "2100-02", "2100-02-01", "2100-02-28");
    expect_period(KH_PK_MONTH, "2024-04-30", "2024-04", "2024-04-01", "2024-04-30");
    expect_period(KH_PK_QUARTER, "2024-02-29", "2024-Q1", "2024-01-01", "2024-03-31");
    expect_period(KH_PK_QUARTER, "2024-06-30", "2024-Q2", "2024-04-01", "2024-06-30");
    expect_period(KH_PK_QUARTER, "2024-07-01", "2024-Q3", "2024-07-01", "2024-09-30");
    expect_period(KH_PK_QUARTER, "2024-12-31", "2024-Q4", "2024-10-01", "2024-12-31");
    expect_period(KH_PK_HALF_YEAR, "2024-06-30", "2024-H1", "2024-01-01", "2024-06-30");
    expect_period(KH_PK_HALF_YEAR, "2024-07-01", "2024-H2", "2024-07-01", "2024-12-31");
    expect_period(KH_PK_YEAR, "2024-07-01", "2024", "2024-01-01", "2024-12-31");
    expect_period(KH_PK_YEAR, "2026-12-31", "2026", "2026-01-01", "2026-12-31");
}

static void test_periods_tile_the_year(void **state)
{
    (void)state;
    /* For each kind, the periods of a year are consecutive, cover the year
     * exactly, and kh_period_of maps every day to the one containing it. */
    for (int year = 2023; year <= 2024; year++) {
        for (int k = 0; k < KH_PK__COUNT; k++) {
            kh_period_kind_t kind = (kh_period_kind_t)k;
            kh_day_t next = kh_day_from_civil(year, 1, 1);
            for (int i = 0; i < kh_period_count(kind); i++) {
                kh_period_t p = kh_period_nth(kind, year, i);
                assert_int_equal(kh_period_first(p), next);
                assert_true(kh_period_last(p) >= kh_period_first(p));
                for (kh_day_t d = kh_period_first(p); d <= kh_period_last(p); d++) {
                    kh_period_t q = kh_period_of(kind, d);
                    assert_int_equal(q.kind, kind);
                    assert_int_equal(q.year, year);
                    assert_int_equal(q.index, i);
                }
                next = kh_period_last(p) + 1;
                char buf[16];
                kh_period_t r;
                assert_int_equal(kh_period_parse(kh_period_format(p, buf), &r), KH_OK);
                assert_int_equal(r.kind, p.kind);
                assert_int_equal(r.index, p.index);
                assert_int_equal(r.year, p.year);
            }
            assert_int_equal(next, kh_day_from_civil(year + 1, 1, 1));
        }
    }
    assert_int_equal(kh_period_count(KH_PK_HALF_MONTH), 24);
    assert_int_equal(kh_period_count(KH_PK_MONTH), 12);
    assert_int_equal(kh_period_count(KH_PK_QUARTER), 4);
    assert_int_equal(kh_period_count(KH_PK_HALF_YEAR), 2);
    assert_int_equal(kh_period_count(KH_PK_YEAR), 1);
}

static void test_period_names_and_parse(void **state)
{
    (void)state;
    const char *names[] = {"half_month", "month", "quarter", "half_year", "year"};
    for (int k = 0; k < KH_PK__COUNT; k++) {
        assert_string_equal(kh_period_kind_name((kh_period_kind_t)k), names[k]);
        kh_period_kind_t out;
        assert_int_equal(kh_period_kind_parse(names[k], &out), KH_OK);
        assert_int_equal(out, k);
    }
    kh_period_kind_t out;
    assert_int_equal(kh_period_kind_parse("week", &out), KH_EINVAL);
    assert_null(kh_period_kind_name(KH_PK__COUNT));

    const char *bad[] = {"",           "24",        "2024-",    "2024-Q0",  "2024-Q5",
                         "2024-H0",    "2024-H3",   "2024-00",  "2024-13",  "2024-2",
                         "2024-02/0",  "2024-02/3", "2024-02/", "2024-Q1x", "0000",
                         "2024-02-01", "2024-q1",   "2024-h1",  "20245",    "2024 ",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        kh_period_t p;
        if (kh_period_parse(bad[i], &p) != KH_EINVAL)
            fail_msg("accepted period \"%s\"", bad[i]);
    }

    kh_period_t p;
    assert_int_equal(kh_month_parse("2024-02", &p), KH_OK);
    assert_int_equal(p.kind, KH_PK_MONTH);
    assert_int_equal(p.year, 2024);
    assert_int_equal(p.index, 1);
    assert_int_equal(kh_month_parse("2024-Q1", &p), KH_EINVAL);
    assert_int_equal(kh_month_parse("2024-02/1", &p), KH_EINVAL);
    assert_int_equal(kh_month_parse("2024-13", &p), KH_EINVAL);
    assert_int_equal(kh_month_parse("2024", &p), KH_EINVAL);
    assert_int_equal(kh_quarter_parse("2024-Q4", &p), KH_OK);
    assert_int_equal(p.kind, KH_PK_QUARTER);
    assert_int_equal(p.index, 3);
    assert_int_equal(kh_quarter_parse("2024-02", &p), KH_EINVAL);
    assert_int_equal(kh_quarter_parse("2024-Q5", &p), KH_EINVAL);
    assert_int_equal(kh_quarter_parse("2024-H1", &p), KH_EINVAL);
}

static void test_auto_close(void **state)
{
    (void)state;
    char buf[11];
    /* today >= E + 1 + grace */
    assert_string_equal(kh_day_format(kh_auto_close_through(D("2024-03-06"), 5), buf),
                        "2024-02-29");
    assert_string_equal(kh_day_format(kh_auto_close_through(D("2024-03-05"), 5), buf),
                        "2024-02-15");
    assert_string_equal(kh_day_format(kh_auto_close_through(D("2024-03-21"), 5), buf),
                        "2024-03-15");
    assert_string_equal(kh_day_format(kh_auto_close_through(D("2024-03-20"), 5), buf),
                        "2024-02-29");
    assert_string_equal(kh_day_format(kh_auto_close_through(D("2024-03-01"), 0), buf),
                        "2024-02-29");
    assert_string_equal(kh_day_format(kh_auto_close_through(D("2024-02-29"), 0), buf),
                        "2024-02-15");
    assert_string_equal(kh_day_format(kh_auto_close_through(D("2024-02-16"), 0), buf),
                        "2024-02-15");
    assert_string_equal(kh_day_format(kh_auto_close_through(D("2024-02-15"), 0), buf),
                        "2024-01-31");
    assert_string_equal(kh_day_format(kh_auto_close_through(D("2027-01-06"), 5), buf),
                        "2026-12-31");
    assert_string_equal(kh_day_format(kh_auto_close_through(D("2027-01-05"), 5), buf),
                        "2026-12-15");
    assert_int_equal(kh_auto_close_through(KH_DAY_NONE, 5), KH_DAY_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_known_days),
        cmocka_unit_test(test_civil_round_trip),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_day_parse_format),
        cmocka_unit_test(test_time_parse_good),
        cmocka_unit_test(test_time_parse_bad),
        cmocka_unit_test(test_time_format_round_trip),
        cmocka_unit_test(test_time_now),
        cmocka_unit_test(test_shanghai),
        cmocka_unit_test(test_new_york_dst),
        cmocka_unit_test(test_footer_rules),
        cmocka_unit_test(test_midnight_gap),
        cmocka_unit_test(test_fixed_zones),
        cmocka_unit_test(test_bad_zone_names),
        cmocka_unit_test(test_tzdir_slim_file_and_fallback),
        cmocka_unit_test(test_periods_first_last),
        cmocka_unit_test(test_periods_tile_the_year),
        cmocka_unit_test(test_period_names_and_parse),
        cmocka_unit_test(test_auto_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
