/*
 * test_watch.c - kh_watch: the frames of `kaohe watch` laid out from the
 * ranker's documents: columns lined up by display width with Chinese
 * names, every line within the width (names cut with "…", never
 * wrapped), the change since the snapshot by integer arithmetic, the
 * frame cut to the height with the ranking keeping its rows longest,
 * rejection notices parsed and shown in the county's time, and text from
 * outside cleaned of terminal control characters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kh_error.h"
#include "kh_render.h"
#include "kh_watch.h"

static const char rank_text[] =
    "{\"year\":2024,\"stations\":["
    "{\"rank\":1,\"station\":\"NM\",\"name\":\"南门派出所\",\"total\":42.9,"
    "\"bonus\":2.5,\"pending\":1.5},"
    "{\"rank\":2,\"station\":\"XM\",\"name\":\"西门派出所\",\"total\":40.0,"
    "\"bonus\":0.0,\"pending\":0.0},"
    "{\"rank\":3,\"station\":\"BM\",\"name\":\"北门派出所\",\"total\":37.7,"
    "\"bonus\":0.0,\"pending\":12.25},"
    "{\"rank\":3,\"station\":\"QSLONG\",\"name\":\"青山镇中心派出所青山镇中心派出所\","
    "\"total\":37.7,\"bonus\":0.0,\"pending\":0.2}]}";

/* The snapshot: NM was 42.8 (+0.10 since), XM 40.1 (-0.10), BM the same,
 * QSLONG not in it. */
static const char snap_text[] =
    "{\"month\":\"2024-02\",\"rev\":2,\"rank\":{\"year\":2024,\"stations\":["
    "{\"rank\":1,\"station\":\"NM\",\"total\":42.8},"
    "{\"rank\":2,\"station\":\"XM\",\"total\":40.1},"
    "{\"rank\":3,\"station\":\"BM\",\"total\":37.7}]}}";

static const char urban_text[] =
    "{\"month\":\"2024-02\",\"closed\":false,\"stations\":["
    "{\"station\":\"BM\",\"name\":\"北门派出所\",\"patrols\":9,\"behind\":0,\"deducted\":"
    "0.0},"
    "{\"station\":\"NM\",\"name\":\"南门派出所\",\"patrols\":7,\"behind\":2,\"deducted\":"
    "0.2},"
    "{\"station\":\"XM\",\"name\":\"西门派出所\",\"patrols\":7,\"behind\":2,"
    "\"deducted\":0.2}]}";

static json_t *load(const char *text)
{
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    return doc;
}

/* The display column where needle starts in line; -1 when absent. */
static long col_of(const char *line, const char *needle)
{
    const char *p = strstr(line, needle);
    return p ? (long)kh_display_width_n(line, (size_t)(p - line)) : -1;
}

/* The first line holding needle, or NULL. */
static const char *line_with(const kh_watch_frame_t *f, const char *needle)
{
    for (size_t i = 0; i < f->n; i++)
        if (strstr(f->lines[i], needle))
            return f->lines[i];
    return NULL;
}

static void assert_fits(const kh_watch_frame_t *f, size_t width)
{
    for (size_t i = 0; i < f->n; i++) {
        if (kh_display_width(f->lines[i]) > width)
            fail_msg("line %zu is %zu columns wide (> %zu): %s", i,
                     kh_display_width(f->lines[i]), width, f->lines[i]);
        size_t len = strlen(f->lines[i]);
        if (len && f->lines[i][len - 1] == ' ')
            fail_msg("line %zu ends in a space: \"%s\"", i, f->lines[i]);
        for (const char *c = f->lines[i]; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7F)
                fail_msg("line %zu holds control character %#x", i, (unsigned char)*c);
    }
}

typedef struct fixture {
    json_t *rank, *snap, *urban;
    kh_tz_t *tz;
    kh_watch_rejection_t rej[3];
    kh_watch_view_t v;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->rank = load(rank_text);
    fx->snap = load(snap_text);
    fx->urban = load(urban_text);
    assert_int_equal(kh_tz_open_posix(&fx->tz, "CST-8"), KH_OK);
    static const char *const notices[3] = {
        "{\"source\":\"station\",\"id\":\"x-bm\",\"reason\":\"forbidden\","
        "\"key\":\"station-NM\",\"time\":\"2024-03-01T06:02:10Z\"}",
        "{\"source\":\"dispatch\",\"id\":\"c9\",\"reason\":\"conflict\",\"key\":null,"
        "\"time\":\"2024-03-01T06:01:00.5Z\"}",
        "{\"source\":\"station\",\"id\":\"QS-r1\",\"reason\":\"out_of_range\","
        "\"key\":\"station-QS\",\"time\":\"2024-03-01T05:59:59Z\"}"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            kh_watch_rejection_parse(notices[i], strlen(notices[i]), &fx->rej[i]), KH_OK);
    fx->v = (kh_watch_view_t){.dir = "/var/lib/kaohe",
                              .last_seq = 63,
                              .updated = INT64_C(1709272931) * KH_USEC_PER_SEC,
                              .tz = fx->tz,
                              .rank = fx->rank,
                              .urban = fx->urban,
                              .snapshot = fx->snap,
                              .rejections = fx->rej,
                              .nrejections = 3};
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    json_decref(fx->rank);
    json_decref(fx->snap);
    json_decref(fx->urban);
    kh_tz_close(&fx->tz);
    free(fx);
    return 0;
}

static void test_rejection_parse(void **state)
{
    fixture_t *fx = *state;
    assert_string_equal(fx->rej[0].source, "station");
    assert_string_equal(fx->rej[0].id, "x-bm");
    assert_string_equal(fx->rej[0].reason, "forbidden");
    assert_string_equal(fx->rej[0].key, "station-NM");
    assert_true(fx->rej[0].at == INT64_C(1709272930) * KH_USEC_PER_SEC);
    assert_string_equal(fx->rej[1].key, ""); /* null: decided by the scorer */

    kh_watch_rejection_t r;
    const char *bad[] = {"", "not json", "[]", "{\"source\":\"station\"}",
                         "{\"source\":1,\"reason\":\"forbidden\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(kh_watch_rejection_parse(bad[i], strlen(bad[i]), &r), KH_EPROTO);
    /* an unreadable time is kept as 0, the rest still shown */
    const char *t =
        "{\"source\":\"legal\",\"reason\":\"malformed\",\"time\":\"yesterday\"}";
    assert_int_equal(kh_watch_rejection_parse(t, strlen(t), &r), KH_OK);
    assert_true(r.at == 0);
    assert_string_equal(r.id, "");
}

static void test_full_frame(void **state)
{
    fixture_t *fx = *state;
    kh_watch_frame_t f;
    assert_int_equal(kh_watch_layout(&fx->v, 80, 0, &f), KH_OK);
    assert_fits(&f, 80);
    /* header: the directory, the sequence, the update in county time */
    assert_string_equal(f.lines[0],
                        "kaohe watch  /var/lib/kaohe  序号 63  更新 14:02:11");
    assert_non_null(line_with(&f, "2024 年度排名  较快照 2024-02 第2版"));

    /* every station's row, and the columns line up by display width */
    const char *nm = line_with(&f, "  NM  "), *xm = line_with(&f, "  XM  ");
    const char *bm = line_with(&f, "  BM  "), *qs = line_with(&f, "QSLONG");
    const char *head = line_with(&f, "总分  较快照");
    assert_non_null(nm);
    assert_non_null(xm);
    assert_non_null(bm);
    assert_non_null(qs);
    assert_non_null(head);
    /* totals are right-aligned: their last digit in one column */
    long end = col_of(nm, "42.90") + 5;
    assert_int_equal(col_of(xm, "40.00") + 5, end);
    assert_int_equal(col_of(bm, "37.70") + 5, end);
    assert_int_equal(col_of(qs, "37.70") + 5, end);
    assert_int_equal(col_of(head, "总分") + 4, end);
    /* names start in one column */
    assert_int_equal(col_of(nm, "南门"), col_of(head, "派出所"));
    assert_int_equal(col_of(qs, "青山"), col_of(head, "派出所"));

    /* change since the snapshot, and pending */
    assert_non_null(strstr(nm, "+0.10"));
    assert_non_null(strstr(xm, "-0.10"));
    assert_non_null(strstr(bm, " 0.00 "));
    assert_non_null(strstr(qs, "—"));
    assert_non_null(strstr(nm, "1.50"));
    assert_non_null(strstr(bm, "12.25"));

    /* the 城区三所 block, ties sharing a place */
    assert_non_null(line_with(&f, "2024-02 城区三所巡逻排位  未关闭"));
    const char *ubm = NULL, *unm = NULL, *uxm = NULL;
    for (size_t i = 0; i < f.n; i++) {
        if (strstr(f.lines[i], "  BM  ") && strstr(f.lines[i], "     9"))
            ubm = f.lines[i];
        if (strstr(f.lines[i], "  NM  ") && strstr(f.lines[i], "0.20"))
            unm = f.lines[i];
        if (strstr(f.lines[i], "  XM  ") && strstr(f.lines[i], "0.20"))
            uxm = f.lines[i];
    }
    assert_non_null(ubm);
    assert_non_null(unm);
    assert_non_null(uxm);
    assert_int_equal(strncmp(ubm, "   1", 4), 0);
    assert_int_equal(strncmp(unm, "   2", 4), 0);
    assert_int_equal(strncmp(uxm, "   2", 4), 0);

    /* rejections newest first, in county time; "—" for an unknown key */
    const char *r0 = line_with(&f, "x-bm"), *r1 = line_with(&f, "c9  ");
    assert_non_null(r0);
    assert_non_null(r1);
    assert_int_equal(strncmp(r0, "14:02:10  station", 17), 0);
    assert_non_null(strstr(r0, "forbidden"));
    assert_non_null(strstr(r0, "station-NM"));
    assert_int_equal(strncmp(r1, "14:01:00  dispatch", 18), 0);
    assert_non_null(strstr(r1, "conflict"));
    size_t i0 = 0, i1 = 0;
    for (size_t i = 0; i < f.n; i++) {
        if (f.lines[i] == r0)
            i0 = i;
        if (f.lines[i] == r1)
            i1 = i;
    }
    assert_true(i0 < i1);
    kh_watch_frame_free(&f);
    assert_null(f.lines);
    assert_int_equal(f.n, 0);
}

/* A narrow terminal: names and ids cut with "…", nothing wider. */
static void test_narrow(void **state)
{
    fixture_t *fx = *state;
    for (size_t w = 10; w <= 80; w++) {
        kh_watch_frame_t f;
        assert_int_equal(kh_watch_layout(&fx->v, w, 0, &f), KH_OK);
        assert_fits(&f, w);
        kh_watch_frame_free(&f);
    }
    kh_watch_frame_t f;
    assert_int_equal(kh_watch_layout(&fx->v, 44, 0, &f), KH_OK);
    const char *qs = line_with(&f, "QSLONG");
    assert_non_null(qs);
    assert_non_null(strstr(qs, "…"));
    assert_non_null(strstr(qs, "37.70")); /* the numbers stay whole */
    /* the long path is cut from the left, its tail kept */
    kh_watch_view_t v = fx->v;
    v.dir = "/srv/a/very/long/data/directory/of/the/county/bureau/kaohe";
    kh_watch_frame_free(&f);
    assert_int_equal(kh_watch_layout(&v, 60, 0, &f), KH_OK);
    assert_fits(&f, 60);
    assert_non_null(strstr(f.lines[0], "…"));
    assert_non_null(strstr(f.lines[0], "bureau/kaohe  序号 63"));
    kh_watch_frame_free(&f);
}

/* A short terminal: at most height lines; the ranking shrinks last and
 * says how many stations it leaves out. */
static void test_height(void **state)
{
    fixture_t *fx = *state;
    json_t *big = json_pack("{s:i,s:[]}", "year", 2024, "stations");
    for (int i = 0; i < 30; i++) {
        char code[8];
        snprintf(code, sizeof code, "S%02d", i);
        json_array_append_new(json_object_get(big, "stations"),
                              json_pack("{s:i,s:s,s:s,s:f,s:f}", "rank", i + 1, "station",
                                        code, "name", "某某派出所", "total", 40.0 - i,
                                        "pending", 0.5));
    }
    kh_watch_view_t v = fx->v;
    v.rank = big;
    for (size_t h = 1; h <= 60; h++) {
        kh_watch_frame_t f;
        assert_int_equal(kh_watch_layout(&v, 80, h, &f), KH_OK);
        assert_true(f.n <= h);
        assert_fits(&f, 80);
        size_t rows = 0;
        for (size_t i = 0; i < f.n; i++)
            if (strstr(f.lines[i], "某某派出所"))
                rows++;
        const char *more = line_with(&f, "另有");
        if (h >= 43) {
            /* every station; the third rejection from 45 lines on:
             * header 1 + ranking 2 + 30 + 城区三所 6 + rejections 6 */
            assert_int_equal(rows, 30);
            assert_null(more);
            if (h >= 45)
                assert_non_null(line_with(&f, "QS-r1"));
            else
                assert_null(line_with(&f, "QS-r1"));
        } else if (h >= 20) {
            /* the 城区三所 block and one rejection stay, the ranking
             * gives way, and says by how much */
            assert_non_null(more);
            char want[64];
            snprintf(want, sizeof want, "另有 %zu 个派出所", 30 - rows);
            assert_non_null(strstr(more, want));
            assert_non_null(line_with(&f, "城区三所"));
            assert_non_null(line_with(&f, "x-bm"));
            assert_int_equal(f.n, h);
        }
        kh_watch_frame_free(&f);
    }
    /* 24 lines: the usual terminal */
    kh_watch_frame_t f;
    assert_int_equal(kh_watch_layout(&v, 80, 24, &f), KH_OK);
    assert_int_equal(f.n, 24);
    assert_non_null(line_with(&f, "S00"));
    kh_watch_frame_free(&f);
    json_decref(big);
}

/* Text from outside cannot reach the terminal as control sequences. */
static void test_clean(void **state)
{
    fixture_t *fx = *state;
    kh_watch_rejection_t r = fx->rej[0];
    snprintf(r.id, sizeof r.id, "a\033[2Jb\x9b\xff");
    snprintf(r.key, sizeof r.key, "k\nz");
    kh_watch_view_t v = fx->v;
    v.rejections = &r;
    v.nrejections = 1;
    v.dir = "/tmp/\033]0;x\007d";
    kh_watch_frame_t f;
    assert_int_equal(kh_watch_layout(&v, 80, 0, &f), KH_OK);
    assert_fits(&f, 80); /* no control characters anywhere */
    assert_non_null(line_with(&f, "a?[2Jb??"));
    assert_non_null(line_with(&f, "k?z"));
    assert_non_null(strstr(f.lines[0], "/tmp/?]0;x?d"));
    kh_watch_frame_free(&f);
}

/* Before the first answer, a note, a snapshot of another year, no
 * rejections yet. */
static void test_missing(void **state)
{
    fixture_t *fx = *state;
    kh_watch_view_t v = {.dir = "/d", .note = "the ranker did not answer (timed out)"};
    kh_watch_frame_t f;
    assert_int_equal(kh_watch_layout(&v, 80, 0, &f), KH_OK);
    assert_fits(&f, 80);
    assert_string_equal(f.lines[0], "kaohe watch  /d  序号 0  更新 —");
    assert_string_equal(f.lines[1], "! the ranker did not answer (timed out)");
    assert_non_null(line_with(&f, "等待排名"));
    assert_non_null(line_with(&f, "最近拒收：无"));
    kh_watch_frame_free(&f);

    json_t *old =
        json_pack("{s:s,s:i,s:{s:i,s:[{s:s,s:f}]}}", "month", "2023-12", "rev", 1, "rank",
                  "year", 2023, "stations", "station", "NM", "total", 1.0);
    v = fx->v;
    v.snapshot = old;
    assert_int_equal(kh_watch_layout(&v, 80, 0, &f), KH_OK);
    assert_non_null(line_with(&f, "本年尚无已发布的快照"));
    assert_non_null(strstr(line_with(&f, "  NM  "), "—"));
    kh_watch_frame_free(&f);
    json_decref(old);

    json_t *none =
        json_pack("{s:s,s:b,s:[]}", "month", "2024-02", "closed", 1, "stations");
    v = fx->v;
    v.urban = none;
    assert_int_equal(kh_watch_layout(&v, 80, 0, &f), KH_OK);
    assert_non_null(line_with(&f, "城区三所巡逻排位  已关闭"));
    assert_non_null(line_with(&f, "本县没有城区所"));
    kh_watch_frame_free(&f);
    json_decref(none);
    kh_watch_frame_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rejection_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_narrow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_height, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
