/*
 * test_render.c - kh_render: display width of ASCII, CJK, combining and
 * invalid text; cutting and padding by width; the SPEC section 7 JSON
 * shapes (keys, exact numbers: 42.9 prints as 42.9, zero as 0.0); tables
 * whose columns line up by display width with Chinese names; tables read
 * from the JSON text as the CLI receives it, including the shared
 * example's documents, which carry no names or titles.
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

/* ------------------------------------------------------------------ */
/* fixtures: a county, a catalog and scorecards built by hand           */
/* ------------------------------------------------------------------ */

static kh_station_t g_stations[4] = {
    {.code = "NM", .name = "南门派出所", .klass = 1, .urban = true},
    {.code = "BM", .name = "北门派出所", .klass = 2, .urban = true},
    {.code = "XM", .name = "西门派出所", .klass = 2, .urban = true},
    {.code = "QSLONG", .name = "青山镇中心派出所", .klass = 3, .urban = false},
};
static kh_county_t g_county = {
    .name = "示例县公安局", .stations = g_stations, .nstations = 4};

static kh_section_t g_sections[3] = {
    {.id = "1", .title = "治安管理", .max = 15000},
    {.id = "4", .title = "安全防范", .max = 15000},
    {.id = "5", .title = "巡逻防控", .max = 10000},
};

static char g_long[] =
    "辖区街面、门面商铺、市场发生公共设施盗窃、扒窃、抢劫、抢夺、摩托车、"
    "电瓶车、汽车被盗等五种可防性案件(以县局指挥中心接警数据为准),每件扣0.1分";

static kh_item_t g_items[3] = {
    {.id = "1.2",
     .section = 0,
     .project = "2、指导、监督辖区单位治安保卫",
     .content = "内保指导",
     .standard = "单位内部发生三类可防性案件的,每件扣2分",
     .value = "扣完为止",
     .method = "查台帐",
     .cycle = "年",
     .source = "警综平台",
     .remark = NULL},
    {.id = "4.1",
     .section = 1,
     .project = "1.通报治安情况",
     .content = "警情通报",
     .standard = "每月不少于一次,少一次扣1分",
     .value = "1分/次",
     .method = "查资料",
     .cycle = "月",
     .source = "派出所",
     .remark = "城区三所须张贴"},
    {.id = "5.2.3",
     .section = 2,
     .project = "2.任务落实",
     .content = "五类可防性案件",
     .standard = g_long,
     .value = "0.1分/件",
     .method = "接警数据\n法制审核",
     .cycle = "月",
     .source = "指挥中心、法制部门",
     .remark = NULL},
};
static kh_catalog_t g_catalog = {
    .sections = g_sections, .nsections = 3, .items = g_items, .nitems = 3};

static char *g_k1_ids[] = {"c1", "r2"};
static char *g_k2_ids[] = {"c2", "r1"};
static kh_entry_t g_entries[3] = {
    {.points = -100,
     .pending = false,
     .period = "2024-02",
     .events = g_k1_ids,
     .nevents = 2,
     .why = "K1 扒窃 at market: −0.1"},
    {.points = 1000,
     .pending = false,
     .period = "2024-02",
     .events = g_k1_ids,
     .nevents = 2,
     .why = "K1: 2 suspects arrested, +0.5 each"},
    {.points = 2000,
     .pending = false,
     .period = "2024-02",
     .events = g_k2_ids,
     .nevents = 2,
     .why = "K2 robbery caught in the act: +2"},
};

/* NM as the example has it: total 42.9, bonus 3.0, 5.2.3 -0.1 +3. */
static kh_item_score_t g_nm_items[3] = {
    {.item = 0},
    {.item = 1, .pending = 11000},
    {.item = 2, .deducted = 100, .bonus = 3000, .entries = g_entries, .nentries = 3},
};
static kh_section_score_t g_nm_secs[3] = {
    {.section = 0, .max = 15000, .score = 15000},
    {.section = 1, .max = 15000, .score = 15000},
    {.section = 2, .max = 10000, .deducted = 100, .score = 9900},
};
static kh_scorecard_t g_nm = {.station = 0,
                              .year = 2024,
                              .total = 42900,
                              .bonus = 3000,
                              .pending = 149500,
                              .sections = g_nm_secs,
                              .nsections = 3,
                              .items = g_nm_items,
                              .nitems = 3};

static kh_item_score_t g_qs_items[3] = {
    {.item = 0, .has_self_score = true, .self_score = 1000},
    {.item = 1},
    {.item = 2},
};
static kh_section_score_t g_qs_secs[3] = {
    {.section = 0, .max = 15000, .score = 13000, .deducted = 2000},
    {.section = 1, .max = 15000, .score = 14500, .deducted = 500},
    {.section = 2, .max = 10000, .score = 10000},
};
static kh_scorecard_t g_qs = {.station = 3,
                              .year = 2024,
                              .total = 37500,
                              .bonus = 0,
                              .pending = 85200,
                              .sections = g_qs_secs,
                              .nsections = 3,
                              .items = g_qs_items,
                              .nitems = 3};

/* Runs a table function into a string (caller frees). */
static char *render(int (*fn)(FILE *, const json_t *), const json_t *doc, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *rc = fn(f, doc);
    fclose(f);
    return buf;
}

/* Splits text into lines in place; returns the count. */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    for (char *p = text; *p && n < max;) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

/* Display column where needle starts in line, or -1. */
static long col_of(const char *line, const char *needle)
{
    const char *p = strstr(line, needle);
    return p ? (long)kh_display_width_n(line, (size_t)(p - line)) : -1;
}

/* Display column just after needle in line, or -1. */
static long end_of(const char *line, const char *needle)
{
    const char *p = strstr(line, needle);
    return p ? (long)kh_display_width_n(line, (size_t)(p - line) + strlen(needle)) : -1;
}

static void assert_no_trailing_space(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(lines[i]);
        assert_false(len > 0 && lines[i][len - 1] == ' ');
    }
}

/* ------------------------------------------------------------------ */
/* display width                                                        */
/* ------------------------------------------------------------------ */

static void test_width(void **state)
{
    (void)state;
    assert_int_equal(kh_display_width(NULL), 0);
    assert_int_equal(kh_display_width(""), 0);
    assert_int_equal(kh_display_width("NM 42.90"), 8);
    assert_int_equal(kh_display_width("派出所"), 6);
    assert_int_equal(kh_display_width("南门NM"), 6);
    assert_int_equal(kh_display_width("（全角）ＡＢ"), 12);    /* U+FF08.. */
    assert_int_equal(kh_display_width("한국"), 4);             /* Hangul */
    assert_int_equal(kh_display_width("\xF0\xA0\x80\x80"), 2); /* U+20000 */
    assert_int_equal(kh_display_width("e\xCC\x81"), 1);        /* e + U+0301 */
    assert_int_equal(kh_display_width("…"), 1);                /* U+2026 */
    assert_int_equal(kh_display_width("é"), 1);
    /* invalid bytes count one each: a lone continuation, 0xFF, a cut
     * sequence, an overlong '/', a surrogate */
    assert_int_equal(kh_display_width("\x80"), 1);
    assert_int_equal(kh_display_width("a\xFF"
                                      "b"),
                     3);
    assert_int_equal(kh_display_width("\xE5\x8D"), 2);
    assert_int_equal(kh_display_width("\xC0\xAF"), 2);
    assert_int_equal(kh_display_width("\xED\xA0\x80"), 3);
    assert_int_equal(kh_display_width_n("派出所", 3), 2);
    assert_int_equal(kh_display_cp_width(0x1100), 2);
    assert_int_equal(kh_display_cp_width(0x1160), 1);
    assert_int_equal(kh_display_cp_width(0xA4CF), 2);
    assert_int_equal(kh_display_cp_width(0xA4D0), 1);
    assert_int_equal(kh_display_cp_width(0xFFE6), 2);
    assert_int_equal(kh_display_cp_width(0x3FFFD), 2);
    assert_int_equal(kh_display_cp_width(0x40000), 1);
}

static void test_fit_and_pad(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(kh_display_fit("城关派出所", 10, buf, sizeof buf), 10);
    assert_string_equal(buf, "城关派出所");
    assert_int_equal(kh_display_fit("城关派出所", 6, buf, sizeof buf), 5);
    assert_string_equal(buf, "城关…");
    /* an odd width does not split a wide character */
    assert_int_equal(kh_display_fit("城关派出所", 7, buf, sizeof buf), 7);
    assert_string_equal(buf, "城关派…");
    assert_int_equal(kh_display_fit("abcdef", 4, buf, sizeof buf), 4);
    assert_string_equal(buf, "abc…");
    assert_int_equal(kh_display_fit("abcdef", 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(kh_display_fit(NULL, 5, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    /* a small buffer cuts by bytes too, on a character boundary */
    char small[8];
    kh_display_fit("城关派出所", 20, small, sizeof small);
    assert_string_equal(small, "城…");

    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    assert_int_equal(kh_display_pad(f, "南门", 6, false), 0);
    fputc('|', f);
    assert_int_equal(kh_display_pad(f, "3.00", 6, true), 0);
    fputc('|', f);
    assert_int_equal(kh_display_pad(f, "城关派出所", 4, false), 0);
    fclose(f);
    assert_string_equal(out, "南门  |  3.00|城关派出所");
    free(out);
}

/* ------------------------------------------------------------------ */
/* JSON documents                                                       */
/* ------------------------------------------------------------------ */

static void test_amount_dumps(void **state)
{
    (void)state;
    static const struct {
        kh_milli_t v;
        const char *text;
    } cases[] = {{42900, "[42.9]"}, {0, "[0.0]"},
                 {-100, "[-0.1]"},  {149500, "[149.5]"},
                 {15000, "[15.0]"}, {9900, "[9.9]"},
                 {1, "[0.001]"},    {123456789, "[123456.789]"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *a = json_array();
        json_array_append_new(a, kh_render_amount(cases[i].v));
        char *s = kh_render_dumps(a);
        assert_string_equal(s, cases[i].text);
        free(s);
        json_decref(a);
    }
    assert_null(kh_render_dumps(NULL));
}

static void test_rank_json(void **state)
{
    (void)state;
    const kh_scorecard_t *cards[2] = {&g_nm, &g_qs};
    kh_rank_row_t rows[2] = {{cards[0], 1}, {cards[1], 2}};
    json_t *doc = kh_render_rank_json(&g_county, &g_catalog, 2024, rows, 2);
    assert_non_null(doc);
    char *s = kh_render_dumps(doc);
    assert_non_null(s);
    assert_null(strchr(s, '\n'));
    /* keys in the SPEC's order, amounts exact */
    assert_non_null(
        strstr(s, "{\"year\":2024,\"stations\":[{\"rank\":1,\"station\":\"NM\",\"name\":"
                  "\"南门派出所\",\"total\":42.9,\"bonus\":3.0,\"pending\":149.5,"
                  "\"sections\":{\"1\":15.0,\"4\":15.0,\"5\":9.9}}"));
    assert_non_null(strstr(s, "\"station\":\"QSLONG\""));
    assert_non_null(strstr(s, "\"bonus\":0.0"));
    assert_non_null(
        strstr(s, "\"sections\":[{\"id\":\"1\",\"title\":\"治安管理\",\"max\":15.0}"));
    free(s);
    json_decref(doc);

    /* a card of a station outside the county is refused, not rendered */
    kh_scorecard_t bad = g_nm;
    bad.station = 9;
    rows[0].card = &bad;
    assert_null(kh_render_rank_json(&g_county, &g_catalog, 2024, rows, 2));
}

/* kh_render_amount_text prints what jansson prints for the amount:
 * every milli-point of a wide range, and random ones far beyond. */
static void test_amount_text(void **state)
{
    (void)state;
    json_t *a = json_array();
    for (int64_t i = -2000000; i <= 2000000; i += (i > -3000 && i < 3000) ? 1 : 997) {
        for (int k = 0; k < 2; k++) {
            kh_milli_t v = k ? (kh_milli_t)i * 1000003 : (kh_milli_t)i;
            json_array_clear(a);
            json_array_append_new(a, kh_render_amount(v));
            char *want = kh_render_dumps(a), got[32];
            kh_render_amount_text(v, got);
            want[strlen(want) - 1] = '\0';
            assert_string_equal(got, want + 1); /* without the brackets */
            free(want);
        }
    }
    json_decref(a);
}

/* The rank text is byte for byte the rank document jansson dumps: the
 * fixture, names that need escaping, and many cards with varied amounts. */
static void test_rank_text(void **state)
{
    (void)state;
    kh_station_t st[6] = {
        {.code = "NM", .name = "南门派出所"},
        {.code = "Q\"T", .name = "引号\"与\\反斜杠/斜杠"},
        {.code = "TAB", .name = "制表\t换行\n回车\r\x01控制"},
        {.code = "DEL", .name = "删除\x7f符"},
        {.code = "E", .name = ""},
        {.code = "LONG", .name = "青山镇中心派出所"},
    };
    kh_county_t county = {.name = "县", .stations = st, .nstations = 6};
    kh_section_t secs[3] = {{.id = "1", .title = "治安\"管理", .max = 15000},
                            {.id = "4", .title = "安全防范", .max = 15500},
                            {.id = "5", .title = "巡逻防控", .max = -1}};
    kh_catalog_t cat = {.sections = secs, .nsections = 3};
    kh_rank_text_t *t = kh_render_rank_text_new(&county, &cat);
    assert_non_null(t);
    kh_scorecard_t cards[6];
    kh_section_score_t ss[6][3];
    kh_rank_row_t rows[6];
    uint64_t x = 88172645463325252ULL; /* xorshift64 */
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 6; i++) {
            memset(&cards[i], 0, sizeof cards[i]);
            kh_milli_t v[6];
            for (int k = 0; k < 6; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                v[k] = (kh_milli_t)(x % 400001) - 100000;
            }
            for (int k = 0; k < 3; k++)
                ss[i][k] = (kh_section_score_t){.section = (size_t)k, .score = v[3 + k]};
            cards[i].station = (i + round) % 6;
            cards[i].total = v[0];
            cards[i].bonus = round == 0 ? 0 : v[1];
            cards[i].pending = v[2];
            cards[i].sections = ss[i];
            cards[i].nsections = (size_t)(round % 4 == 3 ? i % 4 : 3);
            rows[i] = (kh_rank_row_t){&cards[i], i + 1};
        }
        json_t *doc = kh_render_rank_json(&county, &cat, 2026, rows, 6);
        char *want = kh_render_dumps(doc);
        char *got = kh_render_rank_text(t, 2026, rows, 6);
        assert_non_null(want);
        assert_non_null(got);
        assert_string_equal(got, want);
        free(want);
        free(got);
        json_decref(doc);
    }
    /* no rows; and a card outside the county is refused, as by the JSON */
    char *got = kh_render_rank_text(t, 2025, rows, 0);
    json_t *doc = kh_render_rank_json(&county, &cat, 2025, rows, 0);
    char *want = kh_render_dumps(doc);
    assert_string_equal(got, want);
    free(got);
    free(want);
    json_decref(doc);
    cards[0].station = 9;
    assert_null(kh_render_rank_text(t, 2025, rows, 6));
    assert_null(kh_render_rank_json(&county, &cat, 2025, rows, 6));
    kh_render_rank_text_free(&t);
    assert_null(t);
    kh_render_rank_text_free(&t);
}

static void test_station_json(void **state)
{
    (void)state;
    json_t *doc = kh_render_station_json(&g_county, &g_catalog, &g_nm);
    assert_non_null(doc);
    char *s = kh_render_dumps(doc);
    assert_non_null(
        strstr(s, "{\"station\":\"NM\",\"name\":\"南门派出所\",\"year\":2024,"
                  "\"total\":42.9,\"bonus\":3.0,\"pending\":149.5,\"sections\":[{"
                  "\"id\":\"1\",\"title\":\"治安管理\",\"max\":15.0,\"score\":15.0,"
                  "\"items\":[{\"id\":\"1.2\",\"deducted\":0.0,\"bonus\":0.0,"
                  "\"pending\":0.0,\"self_score\":null,\"project\":"));
    assert_non_null(strstr(s, "\"id\":\"5.2.3\",\"deducted\":0.1,\"bonus\":3.0,"
                              "\"pending\":0.0,\"self_score\":null"));
    assert_non_null(strstr(s, "\"remark\":null"));
    assert_non_null(strstr(s, "\"remark\":\"城区三所须张贴\""));
    free(s);

    /* each item sits in its own section */
    json_t *secs = json_object_get(doc, "sections");
    assert_int_equal(json_array_size(secs), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *items = json_object_get(json_array_get(secs, i), "items");
        assert_int_equal(json_array_size(items), 1);
        json_t *it = json_array_get(items, 0);
        static const char *const keys[] = {
            "id",      "deducted", "bonus",    "pending", "self_score",
            "project", "content",  "standard", "value",   "method",
            "cycle",   "source",   "remark"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            assert_non_null(json_object_get(it, keys[k]));
    }
    json_decref(doc);

    doc = kh_render_station_json(&g_county, &g_catalog, &g_qs);
    s = kh_render_dumps(doc);
    assert_non_null(strstr(s, "\"self_score\":1.0"));
    assert_non_null(strstr(s, "\"score\":13.0"));
    free(s);
    json_decref(doc);
}

static void test_explain_json(void **state)
{
    (void)state;
    json_t *doc = kh_render_explain_json(&g_county, &g_catalog, &g_nm, 2);
    assert_non_null(doc);
    char *s = kh_render_dumps(doc);
    assert_non_null(
        strstr(s, "{\"station\":\"NM\",\"item\":\"5.2.3\",\"year\":2024,\"entries\":[{"
                  "\"points\":-0.1,\"period\":\"2024-02\",\"pending\":false,"
                  "\"events\":[\"c1\",\"r2\"],\"why\":\"K1 扒窃 at market: −0.1\"}"));
    assert_non_null(strstr(s, "\"points\":2.0"));
    assert_non_null(strstr(s, "\"deducted\":0.1,\"bonus\":3.0,\"pending\":0.0"));
    free(s);
    /* the entries add up: bonus - deducted */
    kh_milli_t sum = 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "entries"), i, e)
    {
        kh_milli_t m;
        assert_true(
            kh_milli_from_double(json_number_value(json_object_get(e, "points")), &m));
        sum += m;
    }
    assert_int_equal(sum, 3000 - 100);
    json_decref(doc);
    assert_null(kh_render_explain_json(&g_county, &g_catalog, &g_nm, 3));
}

static void test_urban_json(void **state)
{
    (void)state;
    kh_urban_row_t rows[3] = {{1, 9, 0, 0}, {0, 7, 2, 200}, {2, 4, 5, 500}};
    json_t *doc = kh_render_urban_json(&g_county, "2024-02", true, rows, 3);
    char *s = kh_render_dumps(doc);
    assert_string_equal(
        s, "{\"month\":\"2024-02\",\"closed\":true,\"stations\":["
           "{\"station\":\"BM\",\"name\":\"北门派出所\",\"patrols\":9,\"behind\":0,"
           "\"deducted\":0.0},"
           "{\"station\":\"NM\",\"name\":\"南门派出所\",\"patrols\":7,\"behind\":2,"
           "\"deducted\":0.2},"
           "{\"station\":\"XM\",\"name\":\"西门派出所\",\"patrols\":4,\"behind\":5,"
           "\"deducted\":0.5}]}");
    free(s);
    json_decref(doc);
}

static void test_invalid_utf8_text(void **state)
{
    (void)state;
    kh_entry_t e = {.points = -100, .period = "2024-02", .why = "bad \xFF byte"};
    kh_item_score_t items[3] = {
        {.item = 0}, {.item = 1}, {.item = 2, .entries = &e, .nentries = 1}};
    kh_scorecard_t card = g_nm;
    card.items = items;
    json_t *doc = kh_render_explain_json(&g_county, &g_catalog, &card, 2);
    assert_non_null(doc);
    char *s = kh_render_dumps(doc);
    assert_non_null(strstr(s, "bad \xEF\xBF\xBD byte"));
    free(s);
    json_decref(doc);
}

/* ------------------------------------------------------------------ */
/* tables                                                               */
/* ------------------------------------------------------------------ */

/* The document as the CLI gets it: dumped to text and parsed back. */
static json_t *over_the_wire(json_t *doc)
{
    char *s = kh_render_dumps(doc);
    json_decref(doc);
    json_t *back = json_loads(s, 0, NULL);
    free(s);
    assert_non_null(back);
    return back;
}

static void test_rank_table(void **state)
{
    (void)state;
    kh_rank_row_t rows[2] = {{&g_nm, 1}, {&g_qs, 2}};
    json_t *doc =
        over_the_wire(kh_render_rank_json(&g_county, &g_catalog, 2024, rows, 2));
    int rc;
    char *text = render(kh_render_rank_table, doc, &rc);
    assert_int_equal(rc, KH_OK);
    char *lines[16];
    size_t n = split_lines(text, lines, 16);
    assert_int_equal(n, 5); /* title, head, rule, two rows */
    assert_non_null(strstr(lines[0], "2024"));
    char *head = lines[1], *nm = lines[3], *qs = lines[4];
    assert_non_null(strstr(nm, "南门派出所"));
    assert_non_null(strstr(qs, "青山镇中心派出所"));
    /* left-aligned columns start together, right-aligned ones end
     * together, counted in display columns */
    assert_int_equal(col_of(head, "代码"), col_of(nm, "NM"));
    assert_int_equal(col_of(nm, "NM"), col_of(qs, "QSLONG"));
    assert_int_equal(col_of(head, "派出所"), col_of(nm, "南门"));
    assert_int_equal(col_of(nm, "南门"), col_of(qs, "青山"));
    assert_int_equal(end_of(head, "总分"), end_of(nm, "42.90"));
    assert_int_equal(end_of(nm, "42.90"), end_of(qs, "37.50"));
    assert_int_equal(end_of(nm, "149.50"), end_of(qs, "85.20"));
    assert_int_equal(end_of(head, "巡逻防控"), end_of(nm, "9.90"));
    assert_int_equal(end_of(nm, "9.90"), end_of(qs, "10.00"));
    assert_int_equal(end_of(head, "治安管理"), end_of(qs, "13.00"));
    /* the rule is as wide as the header */
    assert_int_equal(kh_display_width(lines[2]), kh_display_width(head));
    assert_no_trailing_space(lines, n);
    free(text);
    json_decref(doc);
}

static void test_station_table(void **state)
{
    (void)state;
    json_t *doc = over_the_wire(kh_render_station_json(&g_county, &g_catalog, &g_nm));
    int rc;
    char *text = render(kh_render_station_table, doc, &rc);
    assert_int_equal(rc, KH_OK);
    char *lines[32];
    size_t n = split_lines(text, lines, 32);
    assert_int_equal(n, 9); /* title, head, rule, 3 x (section, item) */
    assert_non_null(strstr(lines[0], "南门派出所 (NM)"));
    assert_non_null(strstr(lines[0], "总分 42.90"));
    assert_non_null(strstr(lines[0], "加分 3.00"));
    assert_non_null(strstr(lines[0], "待扣 149.50"));
    static const char *const heads[] = {"条目",   "项目",     "内容",     "标准",
                                        "分值",   "方法",     "考核周期", "数据来源",
                                        "自评分", "考核得分", "备注"};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        assert_non_null(strstr(lines[1], heads[i]));
    assert_non_null(strstr(lines[3], "一、治安管理"));
    assert_non_null(strstr(lines[5], "四、安全防范"));
    assert_non_null(strstr(lines[7], "五、巡逻防控"));
    assert_non_null(strstr(lines[7], "得分 9.90"));
    char *r41 = lines[6], *r523 = lines[8], *r12 = lines[4];
    /* the computed result: deducted, bonus, pending */
    assert_non_null(strstr(r523, "-0.10 +3.00"));
    assert_non_null(strstr(r41, "0.00 待扣11.00"));
    /* long standard text cut with an ellipsis; a line break in the
     * method is a space, so the row stays one line */
    assert_null(strstr(r523, g_long));
    assert_non_null(strstr(r523, "…"));
    assert_non_null(strstr(r523, "接警数据 法制"));
    /* columns line up by display width */
    assert_int_equal(col_of(lines[1], "条目"), col_of(r12, "1.2"));
    assert_int_equal(col_of(lines[1], "内容"), col_of(r12, "内保指导"));
    assert_int_equal(col_of(r12, "内保指导"), col_of(r41, "警情通报"));
    assert_int_equal(col_of(r41, "警情通报"), col_of(r523, "五类可防"));
    assert_int_equal(col_of(lines[1], "考核周期"), col_of(r12, "年"));
    assert_int_equal(col_of(lines[1], "考核得分"), col_of(r41, "0.00 待扣"));
    assert_int_equal(col_of(r41, "0.00 待扣"), col_of(r523, "-0.10"));
    assert_int_equal(col_of(r12, "警综平台"), col_of(r41, "派出所"));
    assert_no_trailing_space(lines, n);
    free(text);
    json_decref(doc);

    /* a self-score shows in its column */
    doc = over_the_wire(kh_render_station_json(&g_county, &g_catalog, &g_qs));
    text = render(kh_render_station_table, doc, &rc);
    assert_int_equal(rc, KH_OK);
    n = split_lines(text, lines, 32);
    assert_int_equal(end_of(lines[1], "自评分"), end_of(lines[4], "1.00"));
    free(text);
    json_decref(doc);
}

static void test_explain_table(void **state)
{
    (void)state;
    json_t *doc = over_the_wire(kh_render_explain_json(&g_county, &g_catalog, &g_nm, 2));
    int rc;
    char *text = render(kh_render_explain_table, doc, &rc);
    assert_int_equal(rc, KH_OK);
    char *lines[16];
    size_t n = split_lines(text, lines, 16);
    assert_int_equal(n, 8); /* title, totals, head, rule, 3 rows, sum */
    assert_non_null(strstr(lines[0], "5.2.3"));
    assert_non_null(strstr(lines[1], "扣分 0.10  加分 3.00  待扣 0.00"));
    assert_non_null(strstr(lines[4], "-0.10"));
    assert_non_null(strstr(lines[5], "+1.00"));
    assert_non_null(strstr(lines[6], "+2.00"));
    assert_non_null(strstr(lines[4], "c1,r2"));
    assert_int_equal(end_of(lines[4], "-0.10"), end_of(lines[6], "+2.00"));
    assert_int_equal(col_of(lines[2], "说明"), col_of(lines[4], "K1 扒窃"));
    assert_int_equal(col_of(lines[4], "K1 扒窃"), col_of(lines[6], "K2"));
    assert_non_null(strstr(lines[7], "已计 +2.90"));
    assert_non_null(strstr(lines[7], "待扣 0.00"));
    free(text);
    json_decref(doc);

    /* an item with nothing to explain says so */
    doc = over_the_wire(kh_render_explain_json(&g_county, &g_catalog, &g_nm, 0));
    text = render(kh_render_explain_table, doc, &rc);
    assert_int_equal(rc, KH_OK);
    assert_non_null(strstr(text, "没有扣分"));
    free(text);
    json_decref(doc);
}

static void test_urban_table(void **state)
{
    (void)state;
    kh_urban_row_t rows[3] = {{1, 9, 0, 0}, {0, 7, 2, 200}, {2, 7, 2, 200}};
    json_t *doc =
        over_the_wire(kh_render_urban_json(&g_county, "2024-02", false, rows, 3));
    int rc;
    char *text = render(kh_render_urban_table, doc, &rc);
    assert_int_equal(rc, KH_OK);
    char *lines[16];
    size_t n = split_lines(text, lines, 16);
    assert_int_equal(n, 6);
    assert_non_null(strstr(lines[0], "2024-02"));
    assert_non_null(strstr(lines[0], "未关闭"));
    /* ties share a place */
    assert_true(strncmp(lines[3], "   1", 4) == 0);
    assert_true(strncmp(lines[4], "   2", 4) == 0);
    assert_true(strncmp(lines[5], "   2", 4) == 0);
    assert_int_equal(col_of(lines[3], "北门"), col_of(lines[5], "西门"));
    assert_int_equal(end_of(lines[2 + 1], "0.00"), end_of(lines[4], "0.20"));
    assert_int_equal(end_of(lines[1], "巡逻次数"), end_of(lines[4], "7"));
    free(text);
    json_decref(doc);
}

static void test_bad_documents(void **state)
{
    (void)state;
    int rc;
    json_t *arr = json_array();
    json_t *empty = json_object();
    int (*fns[4])(FILE *,
                  const json_t *) = {kh_render_rank_table, kh_render_station_table,
                                     kh_render_explain_table, kh_render_urban_table};
    for (int i = 0; i < 4; i++) {
        char *text = render(fns[i], arr, &rc);
        assert_int_equal(rc, KH_EINVAL);
        assert_string_equal(text, "");
        free(text);
        text = render(fns[i], empty, &rc);
        assert_int_equal(rc, KH_EINVAL);
        free(text);
        text = render(fns[i], NULL, &rc);
        assert_int_equal(rc, KH_EINVAL);
        free(text);
    }
    json_decref(arr);
    json_decref(empty);

    /* wrong types inside print as empty cells, not a crash */
    json_t *doc =
        json_loads("{\"year\":\"x\",\"stations\":[{\"rank\":\"a\",\"station\":5,"
                   "\"total\":\"?\",\"sections\":[1]},7]}",
                   0, NULL);
    char *text = render(kh_render_rank_table, doc, &rc);
    assert_int_equal(rc, KH_OK);
    free(text);
    json_decref(doc);
}

/* The shared example's documents (no names, no titles) still print. */
static void test_example_documents(void **state)
{
    (void)state;
    json_error_t err;
    json_t *all = json_load_file(KH_EXAMPLES_DIR "/expected-open.json", 0, &err);
    assert_non_null(all);
    int rc;
    char *text = render(kh_render_rank_table, json_object_get(all, "rank"), &rc);
    assert_int_equal(rc, KH_OK);
    char *lines[16];
    size_t n = split_lines(text, lines, 16);
    assert_int_equal(n, 7);
    assert_non_null(strstr(lines[1], "部分1"));
    assert_non_null(strstr(lines[3], "42.90"));
    assert_non_null(strstr(lines[3], "149.50"));
    assert_int_equal(end_of(lines[3], "42.90"), end_of(lines[6], "37.50"));
    free(text);

    json_t *nm = json_object_get(json_object_get(all, "stations"), "NM");
    text = render(kh_render_station_table, nm, &rc);
    assert_int_equal(rc, KH_OK);
    assert_non_null(strstr(text, "NM  2024 年度  总分 42.90"));
    assert_non_null(strstr(text, "-0.10 +3.00"));
    assert_non_null(strstr(text, "0.00 待扣17.80"));
    free(text);
    json_decref(all);

    all = json_load_file(KH_EXAMPLES_DIR "/expected-closed-2024-02.json", 0, &err);
    assert_non_null(all);
    text = render(kh_render_urban_table, json_object_get(all, "urban_2024_02"), &rc);
    assert_int_equal(rc, KH_OK);
    n = split_lines(text, lines, 16);
    assert_int_equal(n, 6);
    assert_non_null(strstr(lines[0], "已关闭"));
    assert_non_null(strstr(lines[4], "0.20"));
    free(text);
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_width),         cmocka_unit_test(test_fit_and_pad),
        cmocka_unit_test(test_amount_dumps),  cmocka_unit_test(test_rank_json),
        cmocka_unit_test(test_amount_text),   cmocka_unit_test(test_rank_text),
        cmocka_unit_test(test_station_json),  cmocka_unit_test(test_explain_json),
        cmocka_unit_test(test_urban_json),    cmocka_unit_test(test_invalid_utf8_text),
        cmocka_unit_test(test_rank_table),    cmocka_unit_test(test_station_table),
        cmocka_unit_test(test_explain_table), cmocka_unit_test(test_urban_table),
        cmocka_unit_test(test_bad_documents), cmocka_unit_test(test_example_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
