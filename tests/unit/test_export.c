/*
 * test_export.c - kh_export: every format written from a real snapshot
 * (tests/data/snapshot-example.json: the worked example published as
 * 2024-02, then revised by the late legal review of
 * tests/data/snapshot/late.jsonl, so it has a prev_hash and changes) and
 * read back: JSON re-parsed equal; CSV with its BOM through an RFC 4180
 * reader written here; XLSX unpacked with unzip(1); HTML searched for its
 * charts, rows and escapes. Then odd documents (names with & < and
 * quotes, sheet names Excel would refuse, bonuses over the scale, the
 * least document the API accepts), refused input, and the atomic write:
 * a failure leaves the old file and no temporary file behind.
 *
 * With KH_EXPORT_HTML_OUT set, the HTML export of the sample is also
 * written there (tests/e2e/test_export_render.sh renders it in Chromium).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "kh_error.h"
#include "kh_export.h"

#define SAMPLE KH_SOURCE_DIR "/tests/data/snapshot-example.json"

static char g_dir[64];   /* a temporary directory for this run */
static json_t *g_sample; /* the sample snapshot */

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    json_error_t jerr;
    snprintf(g_dir, sizeof g_dir, "/tmp/kh-test-export.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    g_sample = json_load_file(SAMPLE, 0, &jerr);
    if (!g_sample) {
        fprintf(stderr, "%s:%d: %s\n", SAMPLE, jerr.line, jerr.text);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(g_sample);
    g_sample = NULL;
    /* The tests leave only plain files in g_dir. */
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char path[512];
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
        remove(path);
    }
    closedir(d);
    return rmdir(g_dir);
}

/* g_dir/name into buf (PATH_MAX-ish). */
static const char *path_of(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", g_dir, name);
    return buf;
}

/* A whole file, NUL-terminated; *len without the NUL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    assert_int_equal(ferror(f), 0);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Exports doc to g_dir/name, asserting success; returns the file. */
static char *export_read(const json_t *doc, kh_export_format_t fmt, const char *name,
                         size_t *len)
{
    char path[256], err[256] = "";
    int rc = kh_export_write(doc, fmt, path_of(name, path, sizeof path), err, sizeof err);
    if (rc != KH_OK)
        fail_msg("export %s: %s (%s)", name, kh_err_name(rc), err);
    return slurp(path, len);
}

/* The output of a shell command (NUL-terminated, malloc'd). */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        got = fread(buf + n, 1, cap - n - 1, p);
        n += got;
    } while (got > 0);
    int status = pclose(p);
    if (status != 0)
        fail_msg("%s: exit status %d", cmd, status);
    buf[n] = '\0';
    return buf;
}

/* One member of a zip file, through unzip -p. */
static char *unzip_member(const char *zip, const char *member)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "unzip -p '%s' '%s'", zip, member);
    return run(cmd);
}

static bool have_unzip(void)
{
    return system("command -v unzip >/dev/null 2>&1") == 0;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + nl, needle))
        n++;
    return n;
}

#define assert_contains(hay, needle)                                                     \
    do {                                                                                 \
        if (!strstr((hay), (needle)))                                                    \
            fail_msg("missing: %s", (needle));                                           \
    } while (0)
#define assert_lacks(hay, needle)                                                        \
    do {                                                                                 \
        if (strstr((hay), (needle)))                                                     \
            fail_msg("unexpected: %s", (needle));                                        \
    } while (0)

/* True when s[0..len) is well-formed UTF-8 (shortest forms, no
 * surrogates). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 2, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n;
    }
    return true;
}

/* The entries of g_dir whose names contain "tmp" (left-over temporary
 * files); the directory's own name is not looked at. */
static size_t temp_leftovers(void)
{
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp"))
            n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ */
/* an RFC 4180 reader                                                   */
/* ------------------------------------------------------------------ */

/* Records of fields; a record is a NULL-terminated array of strings. */
typedef struct csv_doc {
    char ***rows;
    size_t n;
} csv_doc_t;

typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf_t;

static void sb_add(sbuf_t *b, char c)
{
    if (b->n + 2 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    b->s[b->n++] = c;
    b->s[b->n] = '\0';
}

static char *sb_take(sbuf_t *b)
{
    char *s = b->s ? b->s : strdup("");
    assert_non_null(s);
    b->s = NULL;
    b->n = b->cap = 0;
    return s;
}

static void csv_free(csv_doc_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        for (char **f = d->rows[i]; *f; f++)
            free(*f);
        free(d->rows[i]);
    }
    free(d->rows);
    d->rows = NULL;
    d->n = 0;
}

/*
 * Strict RFC 4180: fields separated by ',', records ended by CRLF (the
 * last one too), a field either plain (no '"', CR or LF) or quoted with
 * '"' doubled inside. An empty line is a record of one empty field.
 * Returns false on anything else, with the offset in *where.
 */
static bool csv_read(const char *s, size_t len, csv_doc_t *out, size_t *where)
{
    size_t i = 0;
    out->rows = NULL;
    out->n = 0;
    while (i < len) {
        char **fields = NULL;
        size_t nf = 0;
        for (;;) {
            sbuf_t b = {0};
            if (s[i] == '"') {
                i++;
                for (;;) {
                    if (i >= len)
                        goto bad;
                    if (s[i] == '"') {
                        if (i + 1 < len && s[i + 1] == '"') {
                            sb_add(&b, '"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    sb_add(&b, s[i++]);
                }
            } else {
                while (i < len && s[i] != ',' && s[i] != '\r' && s[i] != '\n') {
                    if (s[i] == '"')
                        goto bad;
                    sb_add(&b, s[i++]);
                }
            }
            fields = realloc(fields, (nf + 2) * sizeof *fields);
            assert_non_null(fields);
            fields[nf++] = sb_take(&b);
            fields[nf] = NULL;
            if (i < len && s[i] == ',') {
                i++;
                continue;
            }
            if (i + 1 < len && s[i] == '\r' && s[i + 1] == '\n') {
                i += 2;
                break;
            }
            for (size_t k = 0; k < nf; k++)
                free(fields[k]);
            free(fields);
            goto bad;
        }
        out->rows = realloc(out->rows, (out->n + 1) * sizeof *out->rows);
        assert_non_null(out->rows);
        out->rows[out->n++] = fields;
    }
    return true;
bad:
    *where = i;
    csv_free(out);
    return false;
}

static size_t nfields(char **row)
{
    size_t n = 0;
    while (row[n])
        n++;
    return n;
}

/* Asserts that a record is exactly the given fields (NULL-terminated). */
static void expect_row(char **row, ...)
{
    va_list ap;
    va_start(ap, row);
    size_t i = 0;
    for (const char *want = va_arg(ap, const char *); want;
         want = va_arg(ap, const char *), i++) {
        if (!row[i])
            fail_msg("record ends before field %zu (%s)", i, want);
        assert_string_equal(row[i], want);
    }
    va_end(ap);
    assert_null(row[i]);
}

/* ------------------------------------------------------------------ */
/* tests                                                                */
/* ------------------------------------------------------------------ */

static void test_format_parse(void **state)
{
    (void)state;
    kh_export_format_t f = KH_EXPORT_JSON;
    assert_int_equal(kh_export_format_parse("csv", &f), KH_OK);
    assert_int_equal(f, KH_EXPORT_CSV);
    assert_int_equal(kh_export_format_parse("XLSX", &f), KH_OK);
    assert_int_equal(f, KH_EXPORT_XLSX);
    assert_int_equal(kh_export_format_parse("Html", &f), KH_OK);
    assert_int_equal(f, KH_EXPORT_HTML);
    assert_int_equal(kh_export_format_parse("json", &f), KH_OK);
    assert_int_equal(f, KH_EXPORT_JSON);
    f = KH_EXPORT_CSV;
    assert_int_equal(kh_export_format_parse("xls", &f), KH_EINVAL);
    assert_int_equal(kh_export_format_parse("", &f), KH_EINVAL);
    assert_int_equal(kh_export_format_parse("json ", &f), KH_EINVAL);
    assert_int_equal(kh_export_format_parse(NULL, &f), KH_EINVAL);
    assert_int_equal(f, KH_EXPORT_CSV); /* untouched on failure */
    assert_string_equal(kh_export_format_name(KH_EXPORT_XLSX), "xlsx");
    assert_string_equal(kh_export_format_name((kh_export_format_t)42), "unknown");
}

static void test_json(void **state)
{
    (void)state;
    size_t len;
    char *text = export_read(g_sample, KH_EXPORT_JSON, "snap.json", &len);
    json_error_t jerr;
    json_t *back = json_loadb(text, len, 0, &jerr);
    assert_non_null(back);
    assert_true(json_equal(back, g_sample));
    /* indented by one space, keys in the document's order, reals kept */
    const char *head = "{\n \"month\": \"2024-02\",\n \"rev\": 2,\n";
    assert_true(strncmp(text, head, strlen(head)) == 0);
    assert_contains(text, "\n  \"year\": 2024");
    assert_contains(text, "\"max\": 15.0");
    assert_contains(text, "\"total\": 30.5");
    assert_true(utf8_valid((const unsigned char *)text, len));
    assert_contains(text, "南门派出所"); /* UTF-8, not \u escapes */
    assert_int_equal(text[len - 1], '\n');
    json_decref(back);
    free(text);
}

static void test_csv(void **state)
{
    (void)state;
    size_t len, where = 0;
    char *text = export_read(g_sample, KH_EXPORT_CSV, "snap.csv", &len);
    assert_true(len > 3);
    assert_memory_equal(text, "\xEF\xBB\xBF", 3);
    assert_true(utf8_valid((const unsigned char *)text, len));
    csv_doc_t d;
    if (!csv_read(text + 3, len - 3, &d, &where))
        fail_msg("not RFC 4180 at byte %zu: %.40s", where, text + 3 + where);

    /* publication 2, blank, ranking 1 + rows, then per station blank,
     * 2 lines of totals, the item header and its items, then blank,
     * header and rows of changes. */
    const json_t *rows = json_object_get(json_object_get(g_sample, "rank"), "stations");
    const json_t *stations = json_object_get(g_sample, "stations");
    size_t expect = 3 + 1 + json_array_size(rows), i, j;
    const json_t *st, *sec;
    json_array_foreach(stations, i, st)
    {
        expect += 4;
        json_array_foreach(json_object_get(st, "sections"), j, sec)
        {
            expect += json_array_size(json_object_get(sec, "items"));
        }
    }
    expect += 2 + json_array_size(json_object_get(g_sample, "changes"));
    assert_int_equal(d.n, expect);

    expect_row(d.rows[0], "单位", "年度", "月份", "版本", "哈希", "上一版哈希",
               "发布时间", NULL);
    expect_row(d.rows[1], "示例县公安局", "2024", "2024-02", "2",
               json_string_value(json_object_get(g_sample, "hash")),
               json_string_value(json_object_get(g_sample, "prev_hash")),
               json_string_value(json_object_get(g_sample, "published_at")), NULL);
    expect_row(d.rows[2], "", NULL);
    expect_row(d.rows[3], "名次", "代码", "派出所", "总分", "加分", "待扣", "治安管理",
               "安全防范", "巡逻防控", NULL);
    expect_row(d.rows[4], "1", "QS", "青山派出所", "31.70", "0.00", "13.40", "13.00",
               "9.50", "9.20", NULL);
    expect_row(d.rows[5], "2", "NM", "南门派出所", "30.50", "4.00", "13.00", "12.50",
               "6.00", "8.00", NULL);
    expect_row(d.rows[6], "3", "XM", "西门派出所", "28.90", "0.00", "10.50", "15.00",
               "6.00", "7.90", NULL);
    expect_row(d.rows[7], "4", "BM", "北门派出所", "28.60", "0.00", "13.50", "15.00",
               "6.80", "6.80", NULL);
    expect_row(d.rows[8], "", NULL);
    expect_row(d.rows[9], "代码", "派出所", "年度", "总分", "加分", "待扣", NULL);
    expect_row(d.rows[10], "QS", "青山派出所", "2024", "31.70", "0.00", "13.40", NULL);
    expect_row(d.rows[11], "部分", "条目", "项目", "内容", "标准", "分值", "方法",
               "考核周期", "数据来源", "自评分", "考核得分", "扣分", "加分", "待扣",
               "备注", NULL);

    /* NM 5.2.3 after the late review: nothing deducted, bonus 4 */
    bool found = false;
    for (i = 0; i < d.n; i++) {
        char **r = d.rows[i];
        if (nfields(r) == 15 && strcmp(r[1], "5.2.3") == 0 &&
            strcmp(r[12], "4.00") == 0) {
            assert_string_equal(r[0], "巡逻防控");
            assert_string_equal(r[10], "4.00"); /* 考核得分: bonus - deducted */
            assert_string_equal(r[11], "0.00");
            assert_string_equal(r[13], "0.00");
            assert_non_null(strstr(r[4], "五种可防性案件"));
            found = true;
        }
    }
    assert_true(found);

    /* the changes, last */
    expect_row(d.rows[d.n - 4], "代码", "派出所", "条目", "字段", "原值", "新值", "事件",
               NULL);
    expect_row(d.rows[d.n - 3], "NM", "南门派出所", "", "总分", "29.40", "30.50", "",
               NULL);
    expect_row(d.rows[d.n - 2], "NM", "南门派出所", "5.2.3", "扣分", "0.10", "0.00",
               "r2b, r2", NULL);
    expect_row(d.rows[d.n - 1], "NM", "南门派出所", "5.2.3", "加分", "3.00", "4.00",
               "r2b, r2", NULL);
    csv_free(&d);
    free(text);
}

/* Quoting: commas, quotes and line breaks inside cells survive; a text
 * that Excel would run as a formula is defused. */
static void test_csv_quoting(void **state)
{
    (void)state;
    json_t *doc = json_deep_copy(g_sample);
    json_t *row =
        json_array_get(json_object_get(json_object_get(doc, "rank"), "stations"), 1);
    json_object_set_new(row, "name", json_string("南门,\"新\"\n派出所"));
    json_t *ch = json_array_get(json_object_get(doc, "changes"), 1);
    json_object_set_new(ch, "events", json_pack("[s, s]", "=HYPERLINK(\"x\")", "@r3"));
    size_t len, where = 0;
    char *text = export_read(doc, KH_EXPORT_CSV, "quoting.csv", &len);
    assert_contains(text, "\"南门,\"\"新\"\"\n派出所\"");
    csv_doc_t d;
    if (!csv_read(text + 3, len - 3, &d, &where))
        fail_msg("not RFC 4180 at byte %zu", where);
    expect_row(d.rows[5], "2", "NM", "南门,\"新\"\n派出所", "30.50", "4.00", "13.00",
               "12.50", "6.00", "8.00", NULL);
    assert_string_equal(d.rows[d.n - 2][6], "'=HYPERLINK(\"x\"), @r3");
    /* numbers are not defused: a negative net effect stays a number */
    bool negative = false;
    for (size_t i = 0; i < d.n; i++)
        if (nfields(d.rows[i]) == 15 && strcmp(d.rows[i][10], "-2.00") == 0)
            negative = true;
    assert_true(negative);
    csv_free(&d);
    free(text);
    json_decref(doc);
}

static void test_xlsx(void **state)
{
    (void)state;
    if (!have_unzip())
        skip();
    char path[256];
    size_t len;
    char *bin = export_read(g_sample, KH_EXPORT_XLSX, "snap.xlsx", &len);
    assert_memory_equal(bin, "PK\x03\x04", 4);
    free(bin);
    path_of("snap.xlsx", path, sizeof path);

    char *wb = unzip_member(path, "xl/workbook.xml");
    const char *names[] = {"排名", "QS", "NM", "XM", "BM", "月度", "变更"};
    const char *prev = wb;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char want[64];
        snprintf(want, sizeof want, "<sheet name=\"%s\"", names[i]);
        const char *at = strstr(wb, want);
        if (!at || at < prev)
            fail_msg("sheet %s missing or out of order", names[i]);
        prev = at;
    }
    assert_int_equal(count(wb, "<sheet "), 7);
    free(wb);

    /* the ranking: numbers as numbers, titles and names as shared strings */
    char *s1 = unzip_member(path, "xl/worksheets/sheet1.xml");
    assert_contains(s1, "<v>30.5</v>");
    assert_contains(s1, "<v>31.7</v>");
    assert_contains(s1, "<v>28.6</v>");
    assert_contains(s1, "<mergeCell ref=\"A1:I1\"/>");
    assert_contains(s1, "<pane ySplit=\"5\"");
    free(s1);
    char *ss = unzip_member(path, "xl/sharedStrings.xml");
    assert_contains(ss, "南门派出所");
    assert_contains(ss, "示例县公安局 2024-02 月末考核排名 第2版");
    assert_contains(ss, json_string_value(json_object_get(g_sample, "hash")));
    assert_contains(ss, "治安管理");
    assert_contains(ss, "五种可防性案件");
    free(ss);
    /* NM's sheet (third): its totals and the 5.2.3 bonus */
    char *s3 = unzip_member(path, "xl/worksheets/sheet3.xml");
    assert_contains(s3, "<v>30.5</v>");
    assert_contains(s3, "<v>4</v>");
    assert_contains(s3, "<mergeCell ref=\"B");
    free(s3);
    char *styles = unzip_member(path, "xl/styles.xml");
    assert_contains(styles, "formatCode=\"0.00\"");
    assert_contains(styles, "<b/>");
    free(styles);
    /* created = published_at, so the same revision gives the same file */
    char *core = unzip_member(path, "docProps/core.xml");
    assert_contains(core, "2026-11-29T07:04:36Z");
    free(core);
}

static void test_xlsx_deterministic(void **state)
{
    (void)state;
    size_t l1, l2;
    char *a = export_read(g_sample, KH_EXPORT_XLSX, "a.xlsx", &l1);
    char *b = export_read(g_sample, KH_EXPORT_XLSX, "b.xlsx", &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    free(a);
    free(b);
}

/* Station codes Excel would refuse as sheet names still get a sheet. */
static void test_xlsx_sheet_names(void **state)
{
    (void)state;
    if (!have_unzip())
        skip();
    json_t *doc = json_deep_copy(g_sample);
    json_t *stations = json_object_get(doc, "stations");
    const char *codes[] = {"A/B:C*?[x]", "nm", "NM", "排名"};
    for (size_t i = 0; i < 4; i++)
        json_object_set_new(json_array_get(stations, i), "station",
                            json_string(codes[i]));
    json_t *extra = json_deep_copy(json_array_get(stations, 0));
    json_object_set_new(extra, "station", json_string("'quoted'"));
    json_array_append_new(stations, extra);
    extra = json_deep_copy(json_array_get(stations, 0));
    json_object_set_new(extra, "station",
                        json_string("一二三四五六七八九十ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
    json_array_append_new(stations, extra);
    char path[256];
    free(export_read(doc, KH_EXPORT_XLSX, "names.xlsx", NULL));
    char *wb = unzip_member(path_of("names.xlsx", path, sizeof path), "xl/workbook.xml");
    assert_contains(wb, "<sheet name=\"排名\"");
    assert_contains(wb, "<sheet name=\"A_B_C___x_\"");
    assert_contains(wb, "<sheet name=\"nm\"");
    assert_contains(wb, "<sheet name=\"NM~2\"");
    assert_contains(wb, "<sheet name=\"排名~2\"");
    assert_contains(wb, "<sheet name=\"_quoted_\"");
    assert_contains(wb, "<sheet name=\"一二三四五六七八九十ABCDEFGHIJKLMNOPQRSTU\"");
    assert_int_equal(count(wb, "<sheet "), 9);
    free(wb);
    json_decref(doc);
}

/* The part of an HTML page from `from` to the next `to` (malloc'd). */
static char *between(const char *page, const char *from, const char *to)
{
    const char *a = strstr(page, from);
    if (!a)
        fail_msg("missing: %s", from);
    const char *b = strstr(a, to);
    assert_non_null(b);
    char *out = strndup(a, (size_t)(b - a));
    assert_non_null(out);
    return out;
}

static void test_html(void **state)
{
    (void)state;
    size_t len;
    char *page = export_read(g_sample, KH_EXPORT_HTML, "snap.html", &len);
    const char *extra = getenv("KH_EXPORT_HTML_OUT");
    if (extra && *extra) {
        char err[256] = "";
        assert_int_equal(
            kh_export_write(g_sample, KH_EXPORT_HTML, extra, err, sizeof err), KH_OK);
    }
    assert_true(utf8_valid((const unsigned char *)page, len));
    assert_true(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    assert_contains(page, "<meta charset=\"utf-8\">");
    assert_contains(page, "<h1>示例县公安局 2024-02 月末考核 第2版</h1>");
    assert_contains(page, json_string_value(json_object_get(g_sample, "hash")));
    assert_contains(page, json_string_value(json_object_get(g_sample, "prev_hash")));
    assert_contains(page, "2026-11-29T07:04:36.126417Z");
    /* self-contained and printable */
    assert_lacks(page, "http");
    assert_lacks(page, "src=");
    assert_lacks(page, "href=");
    assert_lacks(page, "url(");
    assert_lacks(page, "@import");
    assert_contains(page, "@media print{");
    assert_contains(page, "page-break-before:always");

    /* the ranking rows */
    assert_contains(page, "<tr><td class=\"n\">1</td><td class=\"code\">QS</td><td>"
                          "青山派出所</td><td class=\"n\">31.70</td><td class=\"n\">0.00"
                          "</td><td class=\"n\">13.40</td><td class=\"n\">13.00</td><td "
                          "class=\"n\">9.50</td><td class=\"n\">9.20</td></tr>");
    assert_contains(page, "<tr><td class=\"n\">2</td><td class=\"code\">NM</td><td>"
                          "南门派出所</td><td class=\"n\">30.50</td><td class=\"n\">4.00"
                          "</td><td class=\"n\">13.00</td><td class=\"n\">12.50</td><td "
                          "class=\"n\">6.00</td><td class=\"n\">8.00</td></tr>");
    assert_contains(page, "<td>r2b, r2</td>");

    /* one chart and one scorecard per station */
    size_t n = json_array_size(json_object_get(g_sample, "stations"));
    assert_int_equal(count(page, "<svg"), n);
    assert_int_equal(count(page, "<section class=\"station\""), n);
    assert_int_equal(count(page, "<table class=\"card\">"), n);
    assert_int_equal(count(page, "<polyline"), n);

    /* NM's page: its chart shows 28.90 in January and 30.50 in February
     * on a 0..40 scale; its card 5.2.3 with the bonus */
    char *nm = between(page, "<section class=\"station\" id=\"st-NM\">", "</section>");
    assert_contains(nm, "<h2>南门派出所 (NM)</h2>");
    assert_contains(nm, ">28.90</text>");
    assert_contains(nm, ">30.50</text>");
    assert_contains(nm, ">1月</text>");
    assert_contains(nm, ">2月</text>");
    assert_contains(nm, "text-anchor=\"end\">40</text>");
    assert_lacks(nm, "text-anchor=\"end\">45</text>");
    assert_int_equal(count(nm, "<circle"), 2);
    assert_contains(nm, "<td class=\"id\">5.2.3</td>");
    assert_contains(nm, "<td class=\"n\">0.00 +4.00</td>");
    assert_contains(nm,
                    "<td rowspan=\"7\">1.公安派出所治安管理的重点行业、场所危险品</td>");
    free(nm);
    free(page);
}

static void test_html_escaping(void **state)
{
    (void)state;
    json_t *doc = json_deep_copy(g_sample);
    const char *evil = "南门<b>&\"所'</b>";
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(doc, "rank"), "stations"), 1),
        "name", json_string(evil));
    json_t *nm = json_array_get(json_object_get(doc, "stations"), 1);
    json_object_set_new(nm, "name", json_string(evil));
    json_object_set_new(doc, "county", json_string("A&B <县>"));
    json_t *item = json_array_get(
        json_object_get(json_array_get(json_object_get(nm, "sections"), 0), "items"), 0);
    json_object_set_new(item, "remark", json_string("x<y && \"q\"\x01"));
    size_t len;
    char *page = export_read(doc, KH_EXPORT_HTML, "escaped.html", &len);
    assert_lacks(page, evil);
    assert_lacks(page, "南门<b>");
    assert_lacks(page, "<县>");
    assert_contains(page, "南门&lt;b&gt;&amp;&quot;所&#39;&lt;/b&gt;");
    assert_contains(page, "<title>A&amp;B &lt;县&gt; 2024-02");
    assert_contains(page, "<td>x&lt;y &amp;&amp; &quot;q&quot;</td>");
    assert_contains(page, "aria-label=\"南门&lt;b&gt;&amp;&quot;所&#39;&lt;/b&gt; ");
    assert_true(utf8_valid((const unsigned char *)page, len));
    free(page);
    json_decref(doc);
}

/* A bonus above the sections' maximum widens the scale (43.5 on steps of
 * 5 would take 9 intervals, so steps of 10 up to 50); a station without
 * monthly figures still gets its (empty) chart. */
static void test_html_chart_scale(void **state)
{
    (void)state;
    json_t *doc = json_deep_copy(g_sample);
    json_t *monthly = json_object_get(doc, "monthly");
    json_object_set_new(monthly, "NM",
                        json_pack("[{s:s, s:f}, {s:s, s:f}]", "month", "2024-01", "total",
                                  43.5, "month", "2024-02", "total", 30.5));
    json_object_del(monthly, "QS");
    char *page = export_read(doc, KH_EXPORT_HTML, "scale.html", NULL);
    char *nm = between(page, "id=\"st-NM\"", "</svg>");
    assert_contains(nm, "text-anchor=\"end\">50</text>");
    assert_contains(nm, "text-anchor=\"end\">40</text>");
    assert_lacks(nm, "text-anchor=\"end\">45</text>");
    assert_contains(nm, ">43.50</text>");
    free(nm);
    char *qs = between(page, "id=\"st-QS\"", "</svg>");
    assert_contains(qs, "无月度数据");
    assert_lacks(qs, "<polyline");
    free(qs);
    assert_int_equal(count(page, "<svg"), 4);
    free(page);
    json_decref(doc);
}

/* The least document the API takes: every format writes, empty cells. */
static void test_minimal(void **state)
{
    (void)state;
    json_t *doc = json_pack("{s:{s:[]}, s:[]}", "rank", "stations", "stations");
    char *s = export_read(doc, KH_EXPORT_JSON, "min.json", NULL);
    assert_string_equal(
        s, "{\n \"rank\": {\n  \"stations\": []\n },\n \"stations\": []\n}\n");
    free(s);
    size_t len;
    s = export_read(doc, KH_EXPORT_CSV, "min.csv", &len);
    assert_string_equal(s, "\xEF\xBB\xBF单位,年度,月份,版本,哈希,上一版哈希,发布时间\r\n"
                           ",,,,,,\r\n\r\n名次,代码,派出所,总分,加分,待扣\r\n");
    free(s);
    s = export_read(doc, KH_EXPORT_HTML, "min.html", NULL);
    assert_int_equal(count(s, "<svg"), 0);
    assert_contains(s, "</html>\n");
    free(s);
    s = export_read(doc, KH_EXPORT_XLSX, "min.xlsx", &len);
    assert_memory_equal(s, "PK\x03\x04", 4);
    free(s);
    json_decref(doc);
}

static void test_refused(void **state)
{
    (void)state;
    char path[256], err[256];
    path_of("keep.csv", path, sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);

    json_t *bad[] = {
        json_array(),
        json_pack("{s:[]}", "stations"),
        json_pack("{s:{}, s:[]}", "rank", "stations"),
        json_pack("{s:{s:[]}, s:{}}", "rank", "stations", "stations"),
        NULL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(kh_export_write(bad[i], KH_EXPORT_CSV, path, err, sizeof err),
                         KH_EINVAL);
        assert_non_null(strstr(err, "not a snapshot"));
        json_decref(bad[i]);
    }
    assert_int_equal(
        kh_export_write(g_sample, (kh_export_format_t)9, path, err, sizeof err),
        KH_EINVAL);
    assert_int_equal(kh_export_write(g_sample, KH_EXPORT_CSV, "", err, sizeof err),
                     KH_EINVAL);
    assert_int_equal(kh_export_write(g_sample, KH_EXPORT_CSV, NULL, NULL, 0), KH_EINVAL);
    char dirpath[256];
    snprintf(dirpath, sizeof dirpath, "%s/", g_dir);
    assert_int_equal(kh_export_write(g_sample, KH_EXPORT_CSV, dirpath, err, sizeof err),
                     KH_EINVAL);
    char *s = slurp(path, NULL);
    assert_string_equal(s, "old");
    free(s);
    assert_int_equal(temp_leftovers(), 0);
}

static void test_atomic(void **state)
{
    (void)state;
    char path[256], err[256] = "";
    mode_t old_mask = umask(022);

    /* an existing file is replaced whole, with an ordinary file's mode */
    path_of("replace.json", path, sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    chmod(path, 0600);
    kh_export_format_t fmts[] = {KH_EXPORT_JSON, KH_EXPORT_CSV, KH_EXPORT_XLSX,
                                 KH_EXPORT_HTML};
    for (size_t i = 0; i < 4; i++) {
        char name[64], full[256];
        struct stat st;
        snprintf(name, sizeof name, "mode.%s", kh_export_format_name(fmts[i]));
        free(export_read(g_sample, fmts[i], name, NULL));
        assert_int_equal(stat(path_of(name, full, sizeof full), &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
    }
    assert_int_equal(kh_export_write(g_sample, KH_EXPORT_JSON, path, err, sizeof err),
                     KH_OK);
    char *s = slurp(path, NULL);
    assert_true(strncmp(s, "{\n \"month\"", 10) == 0);
    free(s);

    /* a target that cannot be replaced: the temporary file goes away */
    char dir[256];
    path_of("is-a-dir.html", dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    for (size_t i = 0; i < 4; i++) {
        err[0] = '\0';
        assert_int_equal(kh_export_write(g_sample, fmts[i], dir, err, sizeof err),
                         KH_EIO);
        assert_non_null(strstr(err, "cannot rename"));
    }
    assert_int_equal(rmdir(dir), 0);

    /* a directory that does not exist */
    path_of("no/such/dir/x.csv", path, sizeof path);
    err[0] = '\0';
    assert_int_equal(kh_export_write(g_sample, KH_EXPORT_CSV, path, err, sizeof err),
                     KH_EIO);
    assert_non_null(strstr(err, "no/such/dir"));
    assert_non_null(strstr(err, "No such file"));

    assert_int_equal(temp_leftovers(), 0);
    umask(old_mask);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_parse),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_xlsx),
        cmocka_unit_test(test_xlsx_deterministic),
        cmocka_unit_test(test_xlsx_sheet_names),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_html_chart_scale),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_atomic),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
