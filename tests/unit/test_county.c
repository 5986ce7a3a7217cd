/*
 * test_county.c - county.json (kh_county.h): the example loads with the
 * values it says, missing policy keys take the SPEC defaults, and every bad
 * variant is refused with a message that names the field.
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

#include "kh_county.h"
#include "kh_error.h"

static kh_county_t *load(const char *text)
{
    kh_county_t *c = NULL;
    char err[256];
    int rc = kh_county_load_mem(&c, text, strlen(text), err, sizeof err);
    if (rc != KH_OK)
        fail_msg("refused (%s): %s\n  %s", kh_err_name(rc), err, text);
    return c;
}

/* Loading must fail with KH_ECONFIG and a message starting with want. */
static void refuse(const char *text, const char *want)
{
    kh_county_t *c = (kh_county_t *)&c; /* must be reset to NULL */
    char err[256];
    int rc = kh_county_load_mem(&c, text, strlen(text), err, sizeof err);
    if (rc != KH_ECONFIG)
        fail_msg("accepted (%s): %s", kh_err_name(rc), text);
    assert_null(c);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("message \"%s\", want \"%s...\"\n  for %s", err, want, text);
}

#define ONE_STATION      "\"stations\":[{\"code\":\"CG\",\"name\":\"城关派出所\",\"class\":1}]"
#define WITH_POLICY(p)   "{" ONE_STATION ",\"policy\":{" p "}}"
#define WITH_STATIONS(s) "{\"county\":\"x\",\"stations\":[" s "]}"

static void test_example(void **state)
{
    (void)state;
    kh_county_t *c = NULL;
    char err[256] = "";
    assert_int_equal(kh_county_load(&c, KH_EXAMPLES_DIR "/county.json", err, sizeof err),
                     KH_OK);
    assert_string_equal(err, "");
    assert_string_equal(c->name, "示例县公安局");
    assert_int_equal(c->nstations, 4);
    assert_string_equal(c->stations[0].code, "NM");
    assert_string_equal(c->stations[0].name, "南门派出所");
    assert_int_equal(c->stations[0].klass, 1);
    assert_true(c->stations[0].urban);
    assert_string_equal(c->stations[1].code, "BM");
    assert_int_equal(c->stations[1].klass, 2);
    assert_true(c->stations[2].urban);
    assert_string_equal(c->stations[3].code, "QS");
    assert_int_equal(c->stations[3].klass, 3);
    assert_false(c->stations[3].urban);

    assert_string_equal(c->timezone, "Asia/Shanghai");
    assert_non_null(c->tz);
    assert_string_equal(kh_tz_name(c->tz), "Asia/Shanghai");
    kh_usec_t t;
    assert_int_equal(kh_time_parse("2026-11-30T17:00:00Z", &t), KH_OK);
    assert_int_equal(kh_tz_day(c->tz, t), kh_day_from_civil(2026, 12, 1));
    assert_int_equal(c->grace_days, 5);
    assert_false(c->auto_close);
    assert_int_equal(c->required_patrols[1], 8);
    assert_int_equal(c->required_patrols[2], 6);
    assert_int_equal(c->required_patrols[3], 4);
    assert_true(c->three_class[KH_CASE_BURGLARY]);
    assert_true(c->three_class[KH_CASE_CAR_THEFT]);
    assert_true(c->three_class[KH_CASE_MOTORCYCLE_THEFT]);
    assert_true(c->three_class[KH_CASE_EBIKE_THEFT]);
    assert_false(c->three_class[KH_CASE_ROBBERY]);
    assert_false(c->three_class[KH_CASE_OTHER]);
    assert_false(c->has_bonus_cap);

    assert_int_equal(kh_county_find(c, "NM"), 0);
    assert_int_equal(kh_county_find(c, "BM"), 1);
    assert_int_equal(kh_county_find(c, "QS"), 3);
    assert_int_equal(kh_county_find(c, "ZZ"), -1);
    assert_int_equal(kh_county_find(c, "nm"), -1);
    assert_int_equal(kh_county_find(c, ""), -1);
    assert_int_equal(kh_county_find(c, NULL), -1);
    assert_int_equal(kh_county_find(NULL, "NM"), -1);

    kh_county_free(&c);
    assert_null(c);
    kh_county_free(&c);
    kh_county_free(NULL);
}

static void test_defaults(void **state)
{
    (void)state;
    kh_county_t *c = load("{" ONE_STATION "}");
    assert_string_equal(c->name, "");
    assert_int_equal(c->nstations, 1);
    assert_false(c->stations[0].urban);
    assert_string_equal(c->timezone, "Asia/Shanghai");
    assert_non_null(c->tz);
    assert_int_equal(c->grace_days, 5);
    assert_true(c->auto_close);
    assert_int_equal(c->required_patrols[1], 8);
    assert_int_equal(c->required_patrols[2], 6);
    assert_int_equal(c->required_patrols[3], 4);
    int n = 0;
    for (int k = 0; k < KH_CASE_COUNT; k++)
        n += c->three_class[k];
    assert_int_equal(n, 4);
    assert_true(c->three_class[KH_CASE_BURGLARY]);
    assert_true(c->three_class[KH_CASE_CAR_THEFT]);
    assert_true(c->three_class[KH_CASE_MOTORCYCLE_THEFT]);
    assert_true(c->three_class[KH_CASE_EBIKE_THEFT]);
    assert_false(c->has_bonus_cap);
    kh_county_free(&c);

    /* An empty policy object and nulls are the same as nothing. */
    c = load(WITH_POLICY("\"timezone\":null,\"grace_days\":null,"
                         "\"auto_close\":null,\"bonus_cap\":null,"
                         "\"required_patrols\":{},\"three_class_kinds\":null"));
    assert_int_equal(c->grace_days, 5);
    assert_true(c->auto_close);
    assert_int_equal(c->required_patrols[2], 6);
    assert_true(c->three_class[KH_CASE_BURGLARY]);
    assert_false(c->has_bonus_cap);
    kh_county_free(&c);
}

static void test_overrides(void **state)
{
    (void)state;
    kh_county_t *c = load(
        "{\"county\":\"测试县\",\"stations\":["
        "{\"code\":\"A_1\",\"name\":\"甲\",\"class\":1,\"urban\":true},"
        "{\"code\":\"b-2\",\"name\":\"乙\",\"class\":3,\"urban\":false,\"extra\":1},"
        "{\"code\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"name\":\"丙\",\"class\":2}],"
        "\"policy\":{\"timezone\":\"UTC+08:00\",\"grace_days\":0,"
        "\"auto_close\":false,\"required_patrols\":{\"1\":10,\"3\":0},"
        "\"three_class_kinds\":[\"robbery\",\"robbery\",\"snatching\"],"
        "\"bonus_cap\":5.5,\"future_key\":\"ignored\"}}");
    assert_string_equal(c->name, "测试县");
    assert_int_equal(c->nstations, 3);
    assert_int_equal(kh_county_find(c, "b-2"), 1);
    assert_int_equal(kh_county_find(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"), 2);
    assert_string_equal(c->timezone, "UTC+08:00");
    assert_int_equal(kh_tz_offset(c->tz, 0), 8 * 3600);
    assert_int_equal(c->grace_days, 0);
    assert_false(c->auto_close);
    assert_int_equal(c->required_patrols[1], 10);
    assert_int_equal(c->required_patrols[2], 6);
    assert_int_equal(c->required_patrols[3], 0);
    assert_true(c->three_class[KH_CASE_ROBBERY]);
    assert_true(c->three_class[KH_CASE_SNATCHING]);
    assert_false(c->three_class[KH_CASE_BURGLARY]);
    assert_true(c->has_bonus_cap);
    assert_int_equal(c->bonus_cap, 5500);
    kh_county_free(&c);

    c = load(WITH_POLICY("\"bonus_cap\":3,\"three_class_kinds\":[],"
                         "\"timezone\":\"UTC\""));
    assert_true(c->has_bonus_cap);
    assert_int_equal(c->bonus_cap, 3000);
    for (int k = 0; k < KH_CASE_COUNT; k++)
        assert_false(c->three_class[k]);
    kh_county_free(&c);

    c = load(WITH_POLICY("\"bonus_cap\":0"));
    assert_true(c->has_bonus_cap);
    assert_int_equal(c->bonus_cap, 0);
    kh_county_free(&c);
}

static void test_refused_document(void **state)
{
    (void)state;
    refuse("", "county.json: line");
    refuse("{\"stations\":", "county.json: line");
    refuse("{} {}", "county.json: line");
    refuse("[]", "county.json: must be a JSON object");
    refuse("{\"county\":5," ONE_STATION "}", "county: must be a string");
    refuse("{\"county\":\"a\",\"county\":\"b\"," ONE_STATION "}", "county.json: line 1");
}

static void test_refused_stations(void **state)
{
    (void)state;
    refuse("{}", "stations: must be a non-empty array");
    refuse("{\"stations\":[]}", "stations: must be a non-empty array");
    refuse("{\"stations\":{\"CG\":1}}", "stations: must be a non-empty array");
    refuse(WITH_STATIONS("5"), "stations[0]: must be an object");
    refuse(WITH_STATIONS("{\"name\":\"a\",\"class\":1}"),
           "stations[0].code: must be a string");
    refuse(WITH_STATIONS("{\"code\":7,\"name\":\"a\",\"class\":1}"),
           "stations[0].code: must be a string");
    const char *bad_codes[] = {"\"\"",
                               "\"C G\"",
                               "\"城关\"",
                               "\"CG.1\"",
                               "\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\"",
                               "\"a/b\"",
                               NULL};
    for (int i = 0; bad_codes[i]; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"stations\":[{\"code\":\"OK\",\"name\":\"a\",\"class\":1},"
                 "{\"code\":%s,\"name\":\"b\",\"class\":1}]}",
                 bad_codes[i]);
        refuse(text, "stations[1].code: must be 1 to 32 characters");
    }
    refuse(WITH_STATIONS("{\"code\":\"CG\",\"name\":\"a\",\"class\":1},"
                         "{\"code\":\"XZ\",\"name\":\"b\",\"class\":2},"
                         "{\"code\":\"CG\",\"name\":\"c\",\"class\":3}"),
           "stations[2].code: duplicate code \"CG\"");
    refuse(WITH_STATIONS("{\"code\":\"CG\",\"class\":1}"),
           "stations[0].name: must be a string");
    refuse(WITH_STATIONS("{\"code\":\"CG\",\"name\":\"\",\"class\":1}"),
           "stations[0].name: must be 1 to 255 bytes");
    refuse(WITH_STATIONS("{\"code\":\"CG\",\"name\":\"a\",\"class\":1},"
                         "{\"code\":\"XZ\",\"name\":\"b\",\"class\":4}"),
           "stations[1].class: must be 1, 2 or 3");
    const char *bad_classes[] = {"0", "4", "-1", "\"1\"", "1.0", "true", "null", NULL};
    for (int i = 0; bad_classes[i]; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"stations\":[{\"code\":\"CG\",\"name\":\"a\",\"class\":%s}]}",
                 bad_classes[i]);
        refuse(text, "stations[0].class: must be 1, 2 or 3");
    }
    refuse(WITH_STATIONS("{\"code\":\"CG\",\"name\":\"a\"}"),
           "stations[0].class: must be 1, 2 or 3");
    refuse(WITH_STATIONS("{\"code\":\"CG\",\"name\":\"a\",\"class\":1,"
                         "\"urban\":\"yes\"}"),
           "stations[0].urban: must be true or false");
}

static void test_refused_policy(void **state)
{
    (void)state;
    refuse("{" ONE_STATION ",\"policy\":[]}", "policy: must be an object");
    refuse("{" ONE_STATION ",\"policy\":\"Asia/Shanghai\"}", "policy: must be an object");
    refuse(WITH_POLICY("\"timezone\":\"Mars/Base\""),
           "policy.timezone: unknown time zone \"Mars/Base\"");
    refuse(WITH_POLICY("\"timezone\":\"../../etc/passwd\""),
           "policy.timezone: unknown time zone \"../../etc/passwd\"");
    refuse(WITH_POLICY("\"timezone\":\"/etc/localtime\""),
           "policy.timezone: unknown time zone");
    refuse(WITH_POLICY("\"timezone\":\"\""), "policy.timezone: unknown time zone");
    refuse(WITH_POLICY("\"timezone\":\"UTC+8\""), "policy.timezone: unknown time zone");
    refuse(WITH_POLICY("\"timezone\":8"), "policy.timezone: must be a string");
    refuse(WITH_POLICY("\"grace_days\":-1"), "policy.grace_days: must be");
    refuse(WITH_POLICY("\"grace_days\":\"5\""), "policy.grace_days: must be");
    refuse(WITH_POLICY("\"grace_days\":5.5"), "policy.grace_days: must be");
    refuse(WITH_POLICY("\"grace_days\":1000"), "policy.grace_days: must be");
    refuse(WITH_POLICY("\"auto_close\":\"no\""),
           "policy.auto_close: must be true or false");
    refuse(WITH_POLICY("\"auto_close\":0"), "policy.auto_close: must be true or false");
    refuse(WITH_POLICY("\"required_patrols\":[8,6,4]"),
           "policy.required_patrols: must be an object");
    refuse(WITH_POLICY("\"required_patrols\":{\"4\":1}"),
           "policy.required_patrols.4: unknown class");
    refuse(WITH_POLICY("\"required_patrols\":{\"01\":1}"),
           "policy.required_patrols.01: unknown class");
    refuse(WITH_POLICY("\"required_patrols\":{\"1\":-1}"),
           "policy.required_patrols.1: must be a whole number");
    refuse(WITH_POLICY("\"required_patrols\":{\"2\":\"6\"}"),
           "policy.required_patrols.2: must be a whole number");
    refuse(WITH_POLICY("\"three_class_kinds\":\"burglary\""),
           "policy.three_class_kinds: must be an array");
    refuse(WITH_POLICY("\"three_class_kinds\":[\"burglary\",\"car_theft\","
                       "\"arson\"]"),
           "policy.three_class_kinds[2]: unknown case kind");
    refuse(WITH_POLICY("\"three_class_kinds\":[1]"),
           "policy.three_class_kinds[0]: must be a string");
    refuse(WITH_POLICY("\"bonus_cap\":-1"), "policy.bonus_cap: must be");
    refuse(WITH_POLICY("\"bonus_cap\":-0.5"), "policy.bonus_cap: must be");
    refuse(WITH_POLICY("\"bonus_cap\":\"5\""), "policy.bonus_cap: must be");
    refuse(WITH_POLICY("\"bonus_cap\":true"), "policy.bonus_cap: must be");
}

static void test_messages_and_buffers(void **state)
{
    (void)state;
    /* err may be NULL or empty; a short buffer is cut, not overrun */
    kh_county_t *c = NULL;
    const char *bad = "{}";
    assert_int_equal(kh_county_load_mem(&c, bad, 2, NULL, 0), KH_ECONFIG);
    assert_null(c);
    char small[9];
    memset(small, 'Z', sizeof small);
    assert_int_equal(kh_county_load_mem(&c, bad, 2, small, 8), KH_ECONFIG);
    assert_string_equal(small, "station");
    assert_int_equal(small[8], 'Z');

    /* the text is len bytes, not NUL-terminated */
    const char *text = "{" ONE_STATION "}garbage";
    assert_int_equal(kh_county_load_mem(&c, text, strlen(text) - 7, NULL, 0), KH_OK);
    kh_county_free(&c);

    char err[256];
    assert_int_equal(kh_county_load(&c, "/nonexistent/county.json", err, sizeof err),
                     KH_EIO);
    assert_null(c);
    assert_non_null(strstr(err, "/nonexistent/county.json"));
    assert_int_equal(kh_county_load(&c, "/", err, sizeof err), KH_EIO);
}

/* The fuzz seeds: every file loads or is refused, without crashing. */
static void test_corpus(void **state)
{
    (void)state;
    const char *dir = KH_SOURCE_DIR "/tests/fuzz/corpus/county";
    DIR *d = opendir(dir);
    if (!d)
        skip();
    struct dirent *e;
    int good = 0, bad = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024], err[256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        kh_county_t *c = NULL;
        int rc = kh_county_load(&c, path, err, sizeof err);
        /* the seeds say what they are in their names */
        if (strncmp(e->d_name, "good", 4) == 0) {
            if (rc != KH_OK)
                fail_msg("%s refused: %s", e->d_name, err);
            good++;
        } else {
            if (rc != KH_ECONFIG)
                fail_msg("%s: %s", e->d_name, kh_err_name(rc));
            assert_true(err[0] != '\0');
            bad++;
        }
        kh_county_free(&c);
    }
    closedir(d);
    assert_true(good > 0);
    assert_true(bad > 0);
}

/* Codes are found by binary search over a sorted index: every station of
 * a county given out of order, and nothing else. */
static void test_find(void **state)
{
    (void)state;
    kh_county_t *c = load(WITH_STATIONS("{\"code\":\"QS\",\"name\":\"a\",\"class\":1},"
                                        "{\"code\":\"BM\",\"name\":\"b\",\"class\":2},"
                                        "{\"code\":\"XM\",\"name\":\"c\",\"class\":3},"
                                        "{\"code\":\"CG\",\"name\":\"d\",\"class\":1},"
                                        "{\"code\":\"BM2\",\"name\":\"e\",\"class\":1}"));
    const char *codes[] = {"QS", "BM", "XM", "CG", "BM2"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(kh_county_find(c, codes[i]), i);
    assert_int_equal(kh_county_find(c, "B"), -1);
    assert_int_equal(kh_county_find(c, "ZZ"), -1);
    assert_int_equal(kh_county_find(c, "AA"), -1);
    assert_int_equal(kh_county_find(c, ""), -1);
    assert_int_equal(kh_county_find(c, NULL), -1);
    kh_county_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_refused_document),
        cmocka_unit_test(test_refused_stations),
        cmocka_unit_test(test_refused_policy),
        cmocka_unit_test(test_messages_and_buffers),
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
