/*
 * kh_export.c - a snapshot document written as JSON, CSV, XLSX or HTML.
 *
 * Design:
 *   - Every writer reads only the snapshot document, the way the CLI's
 *     tables do (kh_render.c): a key that is missing or of the wrong type
 *     becomes an empty cell, never a failure. snap_open() checks the two
 *     things a writer cannot do without (the ranking rows and the station
 *     documents) and gathers what all writers share: the section columns
 *     of the ranking, the revision, the station names by code.
 *   - Amounts are JSON numbers read back to milli-points with
 *     kh_milli_from_double() and printed with kh_milli_format2(), the
 *     same integer path as the tables; XLSX gets the number itself
 *     (kh_milli_to_double of the milli value, exact to 15 digits) and a
 *     "0.00" format. No amount goes through printf's %f.
 *   - Atomic output: out_open() creates a hidden temporary file beside the
 *     target with O_EXCL (so two exports never share one), a writer fills
 *     it, out_commit() fsyncs it, renames it over the target and fsyncs
 *     the directory. Any failure unlinks the temporary file, so a reader
 *     sees the old file or the new one, never half of one. The mode is
 *     0666 less the umask, as for any file the user creates.
 *   - libxlsxwriter writes its file itself at workbook_close(); it is
 *     given the temporary file's name, the reservation made by O_EXCL is
 *     closed first and the library reopens (truncates) it.
 *   - The stdio writers (JSON, CSV, HTML) do not check every fprintf: a
 *     FILE keeps its error indicator, so one ferror() after fflush()
 *     catches a failed write anywhere in the file.
 */
#include "kh_export.h"
#include "kh_render.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "kh_error.h"
#include "kh_points.h"
#include "kh_time.h"

/* ------------------------------------------------------------------ */
/* errors and reading the document                                      */
/* ------------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The string at obj[key], or "" when absent or not a string. */
static const char *get_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* A JSON number as milli-points; false for anything else. */
static bool milli_of(const json_t *v, kh_milli_t *out)
{
    return json_is_number(v) && kh_milli_from_double(json_number_value(v), out);
}

/* The amount at obj[key] in milli-points, 0 when absent or unreadable. */
static kh_milli_t get_milli(const json_t *obj, const char *key)
{
    kh_milli_t m = 0;
    return milli_of(json_object_get(obj, key), &m) ? m : 0;
}

/* A JSON number with two decimals into buf (32 bytes); "" otherwise. */
static const char *amount_str(const json_t *v, char *buf)
{
    kh_milli_t m;
    buf[0] = '\0';
    if (milli_of(v, &m))
        kh_milli_format2(m, buf);
    return buf;
}

/* An integer (rank, year, revision) as text; "" when not a number.
 * buf >= 24 bytes. */
static const char *int_str(const json_t *v, char *buf)
{
    buf[0] = '\0';
    if (json_is_integer(v))
        snprintf(buf, 24, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, 24, "%lld", (long long)json_real_value(v));
    return buf;
}

/* The Chinese numeral of a section id "1".."10" ("一", ...), else NULL. */
static const char *section_numeral(const char *id)
{
    static const char *const numerals[] = {"一", "二", "三", "四", "五",
                                           "六", "七", "八", "九", "十"};
    char *end;
    long n = strtol(id, &end, 10);
    if (*id == '\0' || *end != '\0' || n < 1 || n > 10)
        return NULL;
    return numerals[n - 1];
}

/* "一、治安管理  满分 15.00  得分 12.50  扣分 2.50" into buf. */
static const char *section_line(const json_t *sec, char *buf, size_t cap)
{
    char max[32], score[32], ded[32];
    const char *id = get_str(sec, "id");
    const char *num = section_numeral(id);
    int n =
        snprintf(buf, cap, "%s%s%s  满分 %s  得分 %s", num ? num : id, *id ? "、" : "",
                 get_str(sec, "title"), amount_str(json_object_get(sec, "max"), max),
                 amount_str(json_object_get(sec, "score"), score));
    if (json_object_get(sec, "deducted") && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "  扣分 %s",
                 amount_str(json_object_get(sec, "deducted"), ded));
    return buf;
}

/* The name of a change's field in the standard's words. */
static const char *field_label(const char *field)
{
    static const char *const names[][2] = {
        {"total", "总分"},   {"deducted", "扣分"},     {"bonus", "加分"},
        {"pending", "待扣"}, {"self_score", "自评分"}, {"score", "得分"},
        {"rank", "名次"},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(field, names[i][0]) == 0)
            return names[i][1];
    return field;
}

/* A change whose field counts places (名次) rather than points. */
static bool field_is_rank(const json_t *ch)
{
    return strcmp(get_str(ch, "field"), "rank") == 0;
}

/* A change's "old" or "new" value as text: an amount with two decimals
 * (an integer for 名次), "" for null. */
static const char *change_value(const json_t *ch, const char *key, char *buf)
{
    const json_t *v = json_object_get(ch, key);
    return field_is_rank(ch) ? int_str(v, buf) : amount_str(v, buf);
}

/* The string ids of an array joined with ", ", malloc'd; NULL when out of
 * memory. Non-strings are skipped. */
static char *join_ids(const json_t *ids)
{
    size_t cap = 1, i;
    const json_t *id;
    json_array_foreach(ids, i, id)
    {
        if (json_is_string(id))
            cap += strlen(json_string_value(id)) + 2;
    }
    char *out = malloc(cap), *p = out;
    if (!out)
        return NULL;
    *p = '\0';
    json_array_foreach(ids, i, id)
    {
        if (!json_is_string(id))
            continue;
        if (p != out)
            p = stpcpy(p, ", ");
        p = stpcpy(p, json_string_value(id));
    }
    return out;
}

/* ------------------------------------------------------------------ */
/* the snapshot as the writers see it                                   */
/* ------------------------------------------------------------------ */

typedef struct snap {
    const json_t *doc;
    const json_t *rows;     /* rank.stations: the ranking rows, in order */
    const json_t *stations; /* station documents, in rank order */
    const json_t *monthly;  /* object by code, or NULL */
    const json_t *changes;  /* array, or NULL */
    json_t *sections;       /* owned: the ranking's [{id, title}] columns */
    const char *county, *month, *hash, *prev_hash, *published_at, *by;
    char rev[24], year[24];
} snap_t;

/*
 * The ranking's section columns: rank.sections when present, else the
 * keys of the first row's "sections" object with "部分<id>" titles (the
 * same fallback as kh_render_rank_table).
 */
static json_t *rank_sections(const json_t *rank, const json_t *rows)
{
    const json_t *given = json_object_get(rank, "sections");
    json_t *out = json_array();
    if (!out)
        return NULL;
    size_t i;
    const json_t *s;
    bool ok = true;
    if (json_is_array(given)) {
        json_array_foreach(given, i, s)
        {
            const char *id = json_string_value(json_object_get(s, "id"));
            if (!id)
                continue;
            const char *title = get_str(s, "title");
            json_t *col = *title
                              ? json_pack("{s:s, s:s}", "id", id, "title", title)
                              : json_pack("{s:s, s:s+}", "id", id, "title", "部分", id);
            ok = ok && col && json_array_append_new(out, col) == 0;
        }
    } else {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(json_array_get(rows, 0), "sections"), key, v)
        {
            json_t *col = json_pack("{s:s, s:s+}", "id", key, "title", "部分", key);
            ok = ok && col && json_array_append_new(out, col) == 0;
        }
    }
    if (!ok) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static void snap_close(snap_t *s)
{
    json_decref(s->sections);
    s->sections = NULL;
}

static int snap_open(snap_t *s, const json_t *doc, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    const json_t *rank = json_object_get(doc, "rank");
    s->doc = doc;
    s->rows = json_object_get(rank, "stations");
    s->stations = json_object_get(doc, "stations");
    if (!json_is_object(doc) || !json_is_array(s->rows) || !json_is_array(s->stations)) {
        set_err(err, errlen,
                "not a snapshot: needs a \"rank\" object with a \"stations\" "
                "array and a \"stations\" array");
        return KH_EINVAL;
    }
    s->sections = rank_sections(rank, s->rows);
    if (!s->sections) {
        set_err(err, errlen, "out of memory");
        return KH_ENOMEM;
    }
    s->monthly = json_is_object(json_object_get(doc, "monthly"))
                     ? json_object_get(doc, "monthly")
                     : NULL;
    s->changes = json_is_array(json_object_get(doc, "changes"))
                     ? json_object_get(doc, "changes")
                     : NULL;
    s->county = get_str(doc, "county");
    s->month = get_str(doc, "month");
    s->hash = get_str(doc, "hash");
    s->prev_hash = get_str(doc, "prev_hash");
    s->published_at = get_str(doc, "published_at");
    s->by = get_str(doc, "published_by");
    int_str(json_object_get(doc, "rev"), s->rev);
    int_str(json_object_get(doc, "year"), s->year);
    if (!s->year[0])
        int_str(json_object_get(rank, "year"), s->year);
    return KH_OK;
}

/* The ranking row of a station code, or NULL. */
static const json_t *rank_row(const snap_t *s, const char *code)
{
    size_t i;
    const json_t *row;
    json_array_foreach(s->rows, i, row)
    {
        if (strcmp(get_str(row, "station"), code) == 0)
            return row;
    }
    return NULL;
}

/* A station's name by code from its document or ranking row; "" when
 * neither names it. */
static const char *station_name(const snap_t *s, const char *code)
{
    size_t i;
    const json_t *st;
    json_array_foreach(s->stations, i, st)
    {
        if (strcmp(get_str(st, "station"), code) == 0 && *get_str(st, "name"))
            return get_str(st, "name");
    }
    return get_str(rank_row(s, code), "name");
}

/* The sum of a station's section maxima in milli-points (0 when it has
 * none): the top of its chart's scale. */
static kh_milli_t station_max(const json_t *st)
{
    kh_milli_t sum = 0;
    size_t i;
    const json_t *sec;
    json_array_foreach(json_object_get(st, "sections"), i, sec)
    {
        sum += get_milli(sec, "max");
    }
    return sum;
}

/* ------------------------------------------------------------------ */
/* atomic output                                                        */
/* ------------------------------------------------------------------ */

typedef struct out {
    const char *path;
    char *tmp; /* owned: the temporary file's name */
    int fd;    /* -1 once closed or handed to a FILE */
} out_t;

static int out_open(out_t *o, const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    o->path = path;
    o->fd = -1;
    o->tmp = NULL;
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        set_err(err, errlen, "%s: names a directory, not a file", path);
        return KH_EINVAL;
    }
    size_t cap = strlen(path) + 64;
    o->tmp = malloc(cap);
    if (!o->tmp) {
        set_err(err, errlen, "out of memory");
        return KH_ENOMEM;
    }
    /* Hidden, so that a directory watcher does not pick up a half file;
     * O_EXCL, so that two writers never share one. */
    int e = 0;
    for (unsigned n = 0; n < 100; n++) {
        snprintf(o->tmp, cap, "%.*s.%s.%ld-%u.tmp", (int)dirlen, path, base,
                 (long)getpid(), n);
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (o->fd >= 0)
            return KH_OK;
        e = errno;
        if (e != EEXIST)
            break;
    }
    set_err(err, errlen, "cannot create %s: %s", o->tmp, strerror(e));
    free(o->tmp);
    o->tmp = NULL;
    return KH_EIO;
}

/* Flushes the finished temporary file to disk and renames it over the
 * target. The file must be closed already (fd -1) or is closed here. */
static int out_commit(out_t *o, char *err, size_t errlen)
{
    if (o->fd < 0) {
        o->fd = open(o->tmp, O_RDONLY | O_CLOEXEC);
        if (o->fd < 0) {
            set_err(err, errlen, "cannot reopen %s: %s", o->tmp, strerror(errno));
            return KH_EIO;
        }
    }
    int rc = fsync(o->fd);
    int e = errno;
    close(o->fd);
    o->fd = -1;
    if (rc != 0) {
        set_err(err, errlen, "cannot flush %s: %s", o->tmp, strerror(e));
        return KH_EIO;
    }
    if (rename(o->tmp, o->path) != 0) {
        set_err(err, errlen, "cannot rename %s to %s: %s", o->tmp, o->path,
                strerror(errno));
        return KH_EIO;
    }
    free(o->tmp);
    o->tmp = NULL;
    /* The rename is durable once the directory is; a file system that
     * cannot fsync a directory still has the file, so this is best effort. */
    const char *slash = strrchr(o->path, '/');
    char *dir = slash ? strndup(o->path, (size_t)(slash - o->path) + 1) : strdup(".");
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    return KH_OK;
}

/* Removes the temporary file after a failure; a no-op after a commit. */
static void out_abort(out_t *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                 */
/* ------------------------------------------------------------------ */

static int write_json(FILE *f, const snap_t *s)
{
    if (json_dumpf(s->doc, f, JSON_INDENT(1) | JSON_REAL_PRECISION(15)) != 0)
        return KH_EIO;
    fputc('\n', f);
    return KH_OK;
}

/* ------------------------------------------------------------------ */
/* CSV (RFC 4180, UTF-8 with BOM, CRLF)                                 */
/* ------------------------------------------------------------------ */

typedef struct csv {
    FILE *f;
    bool started; /* a cell has been written on this line */
} csv_t;

/*
 * One cell. A text cell that Excel would read as a formula (starting with
 * = + - @, or a tab or CR that it strips first) gets a leading apostrophe:
 * event ids come from the feeds, and a CSV is opened in Excel. Number
 * cells are kaohe's own digits and are written as they are.
 */
static void csv_cell(csv_t *c, const char *s, bool text)
{
    if (c->started)
        fputc(',', c->f);
    c->started = true;
    if (!s)
        s = "";
    bool guard = text && s[0] && strchr("=+-@\t\r", s[0]);
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', c->f);
    if (guard)
        fputc('\'', c->f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', c->f);
        fputc(*p, c->f);
    }
    if (quote)
        fputc('"', c->f);
}

static void csv_text(csv_t *c, const char *s)
{
    csv_cell(c, s, true);
}

static void csv_num(csv_t *c, const char *s)
{
    csv_cell(c, s, false);
}

static void csv_end(csv_t *c)
{
    fputs("\r\n", c->f);
    c->started = false;
}

static int write_csv(FILE *f, const snap_t *s)
{
    csv_t c = {.f = f, .started = false};
    char buf[32], buf2[32], buf3[32], buf4[32], net[32];
    size_t i, j, k;
    const json_t *row, *sec, *st, *item;

    fputs("\xEF\xBB\xBF", f);

    /* the publication */
    static const char *const pub_head[] = {"单位", "年度",       "月份",    "版本",
                                           "哈希", "上一版哈希", "发布时间"};
    for (i = 0; i < sizeof pub_head / sizeof *pub_head; i++)
        csv_text(&c, pub_head[i]);
    csv_end(&c);
    csv_text(&c, s->county);
    csv_num(&c, s->year);
    csv_text(&c, s->month);
    csv_num(&c, s->rev);
    csv_text(&c, s->hash);
    csv_text(&c, s->prev_hash);
    csv_text(&c, s->published_at);
    csv_end(&c);
    csv_end(&c);

    /* the ranking */
    static const char *const rank_head[] = {"名次", "代码", "派出所",
                                            "总分", "加分", "待扣"};
    for (i = 0; i < sizeof rank_head / sizeof *rank_head; i++)
        csv_text(&c, rank_head[i]);
    json_array_foreach(s->sections, j, sec)
    {
        csv_text(&c, get_str(sec, "title"));
    }
    csv_end(&c);
    json_array_foreach(s->rows, i, row)
    {
        csv_num(&c, int_str(json_object_get(row, "rank"), buf));
        csv_text(&c, get_str(row, "station"));
        csv_text(&c, get_str(row, "name"));
        csv_num(&c, amount_str(json_object_get(row, "total"), buf));
        csv_num(&c, amount_str(json_object_get(row, "bonus"), buf));
        csv_num(&c, amount_str(json_object_get(row, "pending"), buf));
        const json_t *bysec = json_object_get(row, "sections");
        json_array_foreach(s->sections, j, sec)
        {
            csv_num(&c, amount_str(json_object_get(bysec, get_str(sec, "id")), buf));
        }
        csv_end(&c);
    }

    /* one block per station */
    static const char *const st_head[] = {"代码", "派出所", "年度",
                                          "总分", "加分",   "待扣"};
    static const char *const item_head[] = {
        "部分",     "条目",   "项目",     "内容", "标准", "分值", "方法", "考核周期",
        "数据来源", "自评分", "考核得分", "扣分", "加分", "待扣", "备注"};
    json_array_foreach(s->stations, i, st)
    {
        csv_end(&c);
        for (j = 0; j < sizeof st_head / sizeof *st_head; j++)
            csv_text(&c, st_head[j]);
        csv_end(&c);
        csv_text(&c, get_str(st, "station"));
        csv_text(&c, get_str(st, "name"));
        csv_num(&c, int_str(json_object_get(st, "year"), buf));
        csv_num(&c, amount_str(json_object_get(st, "total"), buf));
        csv_num(&c, amount_str(json_object_get(st, "bonus"), buf));
        csv_num(&c, amount_str(json_object_get(st, "pending"), buf));
        csv_end(&c);
        for (j = 0; j < sizeof item_head / sizeof *item_head; j++)
            csv_text(&c, item_head[j]);
        csv_end(&c);
        json_array_foreach(json_object_get(st, "sections"), j, sec)
        {
            json_array_foreach(json_object_get(sec, "items"), k, item)
            {
                csv_text(&c, get_str(sec, "title"));
                csv_text(&c, get_str(item, "id"));
                csv_text(&c, get_str(item, "project"));
                csv_text(&c, get_str(item, "content"));
                csv_text(&c, get_str(item, "standard"));
                csv_text(&c, get_str(item, "value"));
                csv_text(&c, get_str(item, "method"));
                csv_text(&c, get_str(item, "cycle"));
                csv_text(&c, get_str(item, "source"));
                csv_num(&c, amount_str(json_object_get(item, "self_score"), buf));
                csv_num(&c,
                        kh_milli_format2(
                            get_milli(item, "bonus") - get_milli(item, "deducted"), net));
                csv_num(&c, amount_str(json_object_get(item, "deducted"), buf2));
                csv_num(&c, amount_str(json_object_get(item, "bonus"), buf3));
                csv_num(&c, amount_str(json_object_get(item, "pending"), buf4));
                csv_text(&c, get_str(item, "remark"));
                csv_end(&c);
            }
        }
    }

    /* what this revision changed */
    if (s->changes && json_array_size(s->changes) > 0) {
        static const char *const ch_head[] = {"代码", "派出所", "条目", "字段",
                                              "原值", "新值",   "事件"};
        csv_end(&c);
        for (j = 0; j < sizeof ch_head / sizeof *ch_head; j++)
            csv_text(&c, ch_head[j]);
        csv_end(&c);
        json_array_foreach(s->changes, i, row)
        {
            char *ids = join_ids(json_object_get(row, "events"));
            if (!ids)
                return KH_ENOMEM;
            const char *code = get_str(row, "station");
            csv_text(&c, code);
            csv_text(&c, station_name(s, code));
            csv_text(&c, get_str(row, "item"));
            csv_text(&c, field_label(get_str(row, "field")));
            csv_num(&c, change_value(row, "old", buf));
            csv_num(&c, change_value(row, "new", buf2));
            csv_text(&c, ids);
            csv_end(&c);
            free(ids);
        }
    }
    return KH_OK;
}

/* ------------------------------------------------------------------ */
/* HTML                                                                 */
/* ------------------------------------------------------------------ */

/* Text for HTML content and attribute values alike: & < > " ' escaped,
 * C0 controls other than tab and newlines dropped (they are not allowed
 * in HTML). jansson only hands out valid UTF-8, so bytes pass as they are. */
static void h_esc(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            if (*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r')
                fputc(*p, f);
        }
    }
}

/* <td class="cls">text</td>, escaped; cls may be NULL. */
static void h_td(FILE *f, const char *cls, const char *text)
{
    if (cls)
        fprintf(f, "<td class=\"%s\">", cls);
    else
        fputs("<td>", f);
    h_esc(f, text);
    fputs("</td>", f);
}

static const char html_css[] =
    "*{box-sizing:border-box}"
    "body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"WenQuanYi Micro "
    "Hei\",\"Microsoft YaHei\",\"PingFang SC\",sans-serif;font-size:10pt;color:#111;"
    "margin:16px;line-height:1.4}"
    "h1{font-size:18pt;margin:0 0 8px}h2{font-size:14pt;margin:0 0 6px}"
    "h3{font-size:11pt;margin:12px 0 4px}"
    "table{border-collapse:collapse;width:100%;margin:4px 0 12px}"
    "th,td{border:1px solid #999;padding:2px 4px;vertical-align:top;text-align:left}"
    "thead th{background:#e8e8e8}"
    "td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
    "td.id,td.code{white-space:nowrap}"
    "tr.sec th{background:#dde6f0;font-weight:bold}"
    "thead{display:table-header-group}"
    "tr{page-break-inside:avoid;break-inside:avoid}"
    "dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:0 0 "
    "12px}"
    "dl.meta dt{font-weight:bold}dl.meta dd{margin:0}"
    "code{font-family:\"DejaVu Sans Mono\",monospace;word-break:break-all}"
    "p.totals span{margin-right:16px}"
    "table.card{font-size:8.5pt}"
    "section.station{margin-top:24px;border-top:2px solid #333;padding-top:8px}"
    "svg.chart{display:block;width:640px;max-width:100%;height:auto}"
    "svg.chart .grid{stroke:#ddd;stroke-width:1}"
    "svg.chart .axis{stroke:#333;stroke-width:1}"
    "svg.chart .line{fill:none;stroke:#1f5fa8;stroke-width:2}"
    "svg.chart .pt{fill:#1f5fa8}"
    "svg.chart text{font-size:11px;fill:#333}"
    "svg.chart text.v{fill:#1f5fa8;font-weight:bold}"
    "@page{size:A4 landscape;margin:10mm}"
    "@media print{body{margin:0}"
    "section.station{page-break-before:always;break-before:page;border-top:none;"
    "margin-top:0}}";

/* The chart's geometry in SVG user units (CSS pixels). */
#define SVG_W     640
#define SVG_H     260
#define SVG_LEFT  44
#define SVG_RIGHT 16
#define SVG_TOP   24
#define SVG_BOT   36
#define SVG_PAD   24 /* between the axes and the first and last month */

/* "2024-03" -> "3月"; anything else as it is. */
static const char *month_label(const char *m, char *buf, size_t cap)
{
    if (strlen(m) == 7 && m[4] == '-' && m[5] >= '0' && m[5] <= '1' && m[6] >= '0' &&
        m[6] <= '9') {
        int n = (m[5] - '0') * 10 + (m[6] - '0');
        if (n >= 1 && n <= 12) {
            snprintf(buf, cap, "%d月", n);
            return buf;
        }
    }
    return m;
}

/* The chart's grid step for a scale up to `top`: the least of 1, 2, 5,
 * 10, 20, 50, ... points that needs at most 8 intervals. */
static kh_milli_t chart_step(kh_milli_t top)
{
    static const kh_milli_t mantissa[] = {1, 2, 5};
    for (kh_milli_t decade = KH_MILLI(1);; decade *= 10) {
        for (size_t i = 0; i < sizeof mantissa / sizeof *mantissa; i++) {
            kh_milli_t step = decade * mantissa[i];
            if ((top + step - 1) / step <= 8)
                return step;
        }
    }
}

/*
 * One station's totals month by month as an inline SVG line chart: the y
 * axis from 0 to the sum of the section maxima (40 for the shipped
 * standard; higher when a bonus takes a total above it) with a grid line
 * per step of 1, 2 or 5 × 10^k points, months along the x axis, a
 * polyline through the month-end totals, a dot and the value (two
 * decimals) at each. Coordinates are whole units computed in integer
 * milli-points.
 */
static int html_chart(FILE *f, const snap_t *s, const json_t *st)
{
    const char *code = get_str(st, "station");
    const json_t *series = s->monthly ? json_object_get(s->monthly, code) : NULL;
    size_t n = 0, i;
    const json_t *pt;
    json_array_foreach(series, i, pt)
    {
        kh_milli_t m;
        if (json_is_string(json_object_get(pt, "month")) &&
            milli_of(json_object_get(pt, "total"), &m))
            n++;
    }
    kh_milli_t *vals = n ? calloc(n, sizeof *vals) : NULL;
    const char **months = n ? calloc(n, sizeof *months) : NULL;
    if (n && (!vals || !months)) {
        free(vals);
        free(months);
        return KH_ENOMEM;
    }
    size_t k = 0;
    kh_milli_t top = station_max(st);
    if (top <= 0)
        top = KH_MILLI(40);
    json_array_foreach(series, i, pt)
    {
        kh_milli_t m;
        if (!json_is_string(json_object_get(pt, "month")) ||
            !milli_of(json_object_get(pt, "total"), &m))
            continue;
        if (m < 0)
            m = 0;
        vals[k] = m;
        months[k] = get_str(pt, "month");
        if (m > top)
            top = m;
        k++;
    }
    kh_milli_t step = chart_step(top);
    kh_milli_t ymax = (top + step - 1) / step * step;

    const int64_t plot_w = SVG_W - SVG_LEFT - SVG_RIGHT;
    const int64_t plot_h = SVG_H - SVG_TOP - SVG_BOT;
    const int64_t x0 = SVG_LEFT, y0 = SVG_TOP + plot_h;
    char lab[32], buf[32];

    fprintf(f,
            "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
            "role=\"img\" aria-label=\"",
            SVG_W, SVG_H, SVG_W, SVG_H);
    h_esc(f, station_name(s, code));
    fputs(" 月末累计总分\"><title>", f);
    h_esc(f, station_name(s, code));
    fputs(" 月末累计总分</title>", f);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>", SVG_W,
            SVG_H);
    for (kh_milli_t v = 0; v <= ymax; v += step) {
        long long y = (long long)(y0 - v * plot_h / ymax);
        fprintf(f,
                "<line class=\"grid\" x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\"/>"
                "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\">%lld</text>",
                (long long)x0, y, (long long)(x0 + plot_w), y, (long long)(x0 - 6), y + 4,
                (long long)(v / 1000));
    }
    fprintf(f,
            "<line class=\"axis\" x1=\"%lld\" y1=\"%d\" x2=\"%lld\" y2=\"%lld\"/>"
            "<line class=\"axis\" x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\"/>"
            "<text x=\"%d\" y=\"14\">总分</text>",
            (long long)x0, SVG_TOP, (long long)x0, (long long)y0, (long long)x0,
            (long long)y0, (long long)(x0 + plot_w), (long long)y0, 4);
    if (n == 0) {
        fprintf(f, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">无月度数据</text>",
                (long long)(x0 + plot_w / 2), (long long)(SVG_TOP + plot_h / 2));
    } else {
        int64_t *xs = calloc(n, sizeof *xs), *ys = calloc(n, sizeof *ys);
        if (!xs || !ys) {
            free(xs);
            free(ys);
            free(vals);
            free(months);
            return KH_ENOMEM;
        }
        for (k = 0; k < n; k++) {
            xs[k] = n == 1 ? x0 + plot_w / 2
                           : x0 + SVG_PAD +
                                 (int64_t)k * (plot_w - 2 * SVG_PAD) / (int64_t)(n - 1);
            ys[k] = y0 - vals[k] * plot_h / ymax;
        }
        fputs("<polyline class=\"line\" points=\"", f);
        for (k = 0; k < n; k++)
            fprintf(f, "%s%lld,%lld", k ? " " : "", (long long)xs[k], (long long)ys[k]);
        fputs("\"/>", f);
        for (k = 0; k < n; k++) {
            fprintf(f, "<circle class=\"pt\" cx=\"%lld\" cy=\"%lld\" r=\"3.5\"/>",
                    (long long)xs[k], (long long)ys[k]);
            fprintf(f,
                    "<text class=\"v\" x=\"%lld\" y=\"%lld\" "
                    "text-anchor=\"middle\">%s</text>",
                    (long long)xs[k], (long long)(ys[k] - 8),
                    kh_milli_format2(vals[k], buf));
            fprintf(f, "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\">",
                    (long long)xs[k], (long long)(y0 + 18));
            h_esc(f, month_label(months[k], lab, sizeof lab));
            fputs("</text>", f);
        }
        free(xs);
        free(ys);
    }
    fputs("</svg>\n", f);
    free(vals);
    free(months);
    return KH_OK;
}

/* The scorecard table in the standard's columns; consecutive items of one
 * project share one 项目 cell, as the paper standard merges it. */
static void html_card(FILE *f, const json_t *st)
{
    static const char *const head[] = {"条目",   "项目",     "内容",     "标准",
                                       "分值",   "方法",     "考核周期", "数据来源",
                                       "自评分", "考核得分", "备注"};
    char line[512], buf[32], result[128];
    size_t j, k, n;
    const json_t *sec, *item;
    fputs("<table class=\"card\"><thead><tr>", f);
    for (j = 0; j < sizeof head / sizeof *head; j++)
        fprintf(f, "<th>%s</th>", head[j]);
    fputs("</tr></thead><tbody>\n", f);
    json_array_foreach(json_object_get(st, "sections"), j, sec)
    {
        fprintf(f, "<tr class=\"sec\"><th colspan=\"%zu\">", sizeof head / sizeof *head);
        h_esc(f, section_line(sec, line, sizeof line));
        fputs("</th></tr>\n", f);
        const json_t *items = json_object_get(sec, "items");
        n = json_array_size(items);
        for (k = 0; k < n; k++) {
            item = json_array_get(items, k);
            const char *project = get_str(item, "project");
            fputs("<tr>", f);
            h_td(f, "id", get_str(item, "id"));
            bool cont =
                k > 0 && *project &&
                strcmp(get_str(json_array_get(items, k - 1), "project"), project) == 0;
            if (!cont) {
                size_t run = 1;
                while (*project && k + run < n &&
                       strcmp(get_str(json_array_get(items, k + run), "project"),
                              project) == 0)
                    run++;
                if (run > 1)
                    fprintf(f, "<td rowspan=\"%zu\">", run);
                else
                    fputs("<td>", f);
                h_esc(f, project);
                fputs("</td>", f);
            }
            h_td(f, NULL, get_str(item, "content"));
            h_td(f, NULL, get_str(item, "standard"));
            h_td(f, NULL, get_str(item, "value"));
            h_td(f, NULL, get_str(item, "method"));
            h_td(f, NULL, get_str(item, "cycle"));
            h_td(f, NULL, get_str(item, "source"));
            h_td(f, "n", amount_str(json_object_get(item, "self_score"), buf));
            h_td(f, "n", kh_render_item_result(item, result, sizeof result));
            h_td(f, NULL, get_str(item, "remark"));
            fputs("</tr>\n", f);
        }
    }
    fputs("</tbody></table>\n", f);
}

static int html_changes(FILE *f, const snap_t *s)
{
    size_t n = s->changes ? json_array_size(s->changes) : 0, i;
    const json_t *ch;
    char buf[32], buf2[32];
    fputs("<h2>本版变更</h2>\n", f);
    if (n == 0) {
        fputs(strcmp(s->rev, "1") == 0 ? "<p>首版,无变更。</p>\n" : "<p>无变更。</p>\n",
              f);
        return KH_OK;
    }
    fputs("<table class=\"changes\"><thead><tr><th>代码</th><th>派出所</th><th>条目"
          "</th><th>字段</th><th>原值</th><th>新值</th><th>事件</th></tr></thead>"
          "<tbody>\n",
          f);
    json_array_foreach(s->changes, i, ch)
    {
        char *ids = join_ids(json_object_get(ch, "events"));
        if (!ids)
            return KH_ENOMEM;
        const char *code = get_str(ch, "station");
        const char *item = get_str(ch, "item");
        const char *old = change_value(ch, "old", buf);
        const char *new_ = change_value(ch, "new", buf2);
        fputs("<tr>", f);
        h_td(f, "code", code);
        h_td(f, NULL, station_name(s, code));
        h_td(f, "id", *item ? item : "—");
        h_td(f, NULL, field_label(get_str(ch, "field")));
        h_td(f, "n", *old ? old : "—");
        h_td(f, "n", *new_ ? new_ : "—");
        h_td(f, NULL, ids);
        fputs("</tr>\n", f);
        free(ids);
    }
    fputs("</tbody></table>\n", f);
    return KH_OK;
}

static int write_html(FILE *f, const snap_t *s)
{
    char buf[32], b2[32], b3[32], b4[32];
    size_t i, j;
    const json_t *row, *sec, *st;

    fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>",
          f);
    h_esc(f, s->county);
    fputc(' ', f);
    h_esc(f, s->month);
    fprintf(f, " 考核快照 第%s版</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n",
            s->rev, html_css);
    fputs("<h1>", f);
    h_esc(f, s->county);
    fputc(' ', f);
    h_esc(f, s->month);
    fprintf(f, " 月末考核 第%s版</h1>\n<dl class=\"meta\">", s->rev);
    fputs("<dt>考核年度</dt><dd>", f);
    h_esc(f, s->year);
    fputs("</dd><dt>截至</dt><dd>", f);
    h_esc(f, s->month);
    fputs(" 月末</dd><dt>版本</dt><dd>", f);
    h_esc(f, s->rev);
    fputs("</dd><dt>哈希</dt><dd><code>", f);
    h_esc(f, s->hash);
    fputs("</code></dd><dt>上一版哈希</dt><dd>", f);
    if (*s->prev_hash) {
        fputs("<code>", f);
        h_esc(f, s->prev_hash);
        fputs("</code>", f);
    } else {
        fputs("无(首版)", f);
    }
    fputs("</dd><dt>发布时间</dt><dd>", f);
    h_esc(f, s->published_at);
    fputs("</dd>", f);
    if (*s->by) {
        fputs("<dt>发布人</dt><dd>", f);
        h_esc(f, s->by);
        fputs("</dd>", f);
    }
    fputs("</dl>\n</header>\n", f);

    /* the ranking */
    fputs("<h2>排名</h2>\n<table class=\"rank\"><thead><tr><th>名次</th><th>代码</th>"
          "<th>派出所</th><th>总分</th><th>加分</th><th>待扣</th>",
          f);
    json_array_foreach(s->sections, j, sec)
    {
        fputs("<th>", f);
        h_esc(f, get_str(sec, "title"));
        fputs("</th>", f);
    }
    fputs("</tr></thead><tbody>\n", f);
    json_array_foreach(s->rows, i, row)
    {
        fputs("<tr>", f);
        h_td(f, "n", int_str(json_object_get(row, "rank"), buf));
        h_td(f, "code", get_str(row, "station"));
        h_td(f, NULL, get_str(row, "name"));
        h_td(f, "n", amount_str(json_object_get(row, "total"), buf));
        h_td(f, "n", amount_str(json_object_get(row, "bonus"), buf));
        h_td(f, "n", amount_str(json_object_get(row, "pending"), buf));
        const json_t *bysec = json_object_get(row, "sections");
        json_array_foreach(s->sections, j, sec)
        {
            h_td(f, "n", amount_str(json_object_get(bysec, get_str(sec, "id")), buf));
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);

    int rc = html_changes(f, s);

    /* one page per station */
    json_array_foreach(s->stations, i, st)
    {
        if (rc != KH_OK)
            break;
        const char *code = get_str(st, "station");
        fputs("<section class=\"station\" id=\"st-", f);
        h_esc(f, code);
        fputs("\">\n<h2>", f);
        h_esc(f, get_str(st, "name"));
        fputs(" (", f);
        h_esc(f, code);
        fputs(")</h2>\n<p class=\"totals\">", f);
        fprintf(f, "<span>名次 <b>%s</b></span>",
                int_str(json_object_get(rank_row(s, code), "rank"), buf));
        fprintf(f, "<span>总分 <b>%s</b></span><span>加分 %s</span><span>待扣 %s</span>",
                amount_str(json_object_get(st, "total"), b2),
                amount_str(json_object_get(st, "bonus"), b3),
                amount_str(json_object_get(st, "pending"), b4));
        fprintf(f, "<span>%s 年度,截至 ", int_str(json_object_get(st, "year"), buf));
        h_esc(f, s->month);
        fputs(" 月末</span></p>\n<h3>月末累计总分</h3>\n", f);
        rc = html_chart(f, s, st);
        fputs("<h3>考核表</h3>\n", f);
        html_card(f, st);
        fputs("</section>\n", f);
    }
    fputs("</body>\n</html>\n", f);
    return rc;
}

/* The stdio formats: the writer fills a FILE over the temporary file's
 * descriptor; KH_EIO when any write failed. */
static int write_stdio(const snap_t *s, kh_export_format_t fmt, out_t *o, char *err,
                       size_t errlen)
{
    FILE *f = fdopen(o->fd, "w");
    if (!f) {
        set_err(err, errlen, "cannot write %s: %s", o->tmp, strerror(errno));
        return KH_EIO;
    }
    o->fd = -1; /* the FILE owns it now */
    int rc;
    switch (fmt) {
    case KH_EXPORT_JSON:
        rc = write_json(f, s);
        break;
    case KH_EXPORT_CSV:
        rc = write_csv(f, s);
        break;
    default:
        rc = write_html(f, s);
        break;
    }
    int e = 0;
    if (fflush(f) != 0 || ferror(f)) {
        e = errno;
        if (rc == KH_OK)
            rc = KH_EIO;
    }
    if (fclose(f) != 0 && rc == KH_OK) {
        e = errno;
        rc = KH_EIO;
    }
    if (rc == KH_ENOMEM)
        set_err(err, errlen, "out of memory");
    else if (rc != KH_OK)
        set_err(err, errlen, "cannot write %s: %s", o->tmp,
                e ? strerror(e) : "write error");
    return rc;
}

/* ------------------------------------------------------------------ */
/* XLSX (libxlsxwriter)                                                 */
/* ------------------------------------------------------------------ */

#define XL_STR_MAX 32767 /* Excel's limit on the characters of a cell */

typedef struct xl {
    lxw_workbook *wb;
    lxw_error e; /* the first error; writes after it are skipped */
    lxw_format *title, *meta, *head, *text, *wrap, *amount, *integer, *section, *label;
    char **names; /* sheet names used so far, for case-insensitive dedup */
    size_t nnames;
} xl_t;

static void xl_keep(xl_t *x, lxw_error e)
{
    if (x->e == LXW_NO_ERROR)
        x->e = e;
}

/* A text cell; text past Excel's limit is cut at a character boundary
 * (bytes >= characters, so XL_STR_MAX bytes are always few enough). */
static void xl_str(xl_t *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s,
                   lxw_format *fmt)
{
    if (x->e != LXW_NO_ERROR)
        return;
    s = s ? s : "";
    size_t len = strlen(s);
    if (len <= XL_STR_MAX) {
        xl_keep(x, worksheet_write_string(ws, r, c, s, fmt));
        return;
    }
    len = XL_STR_MAX;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
        len--;
    char *cut = strndup(s, len);
    if (!cut) {
        xl_keep(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
        return;
    }
    xl_keep(x, worksheet_write_string(ws, r, c, cut, fmt));
    free(cut);
}

/* An amount cell: the number when v is one, else a blank formatted cell. */
static void xl_amount(xl_t *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c,
                      const json_t *v, lxw_format *fmt)
{
    kh_milli_t m;
    if (x->e != LXW_NO_ERROR)
        return;
    if (milli_of(v, &m))
        xl_keep(x, worksheet_write_number(ws, r, c, kh_milli_to_double(m), fmt));
    else
        xl_keep(x, worksheet_write_blank(ws, r, c, fmt));
}

static void xl_milli(xl_t *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, kh_milli_t m,
                     lxw_format *fmt)
{
    if (x->e == LXW_NO_ERROR)
        xl_keep(x, worksheet_write_number(ws, r, c, kh_milli_to_double(m), fmt));
}

static void xl_int(xl_t *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const json_t *v,
                   lxw_format *fmt)
{
    if (x->e != LXW_NO_ERROR)
        return;
    if (json_is_number(v))
        xl_keep(x, worksheet_write_number(ws, r, c,
                                          (double)(long long)json_number_value(v), fmt));
    else
        xl_keep(x, worksheet_write_blank(ws, r, c, fmt));
}

/* A text across columns c1..c2 of row r (merged when more than one). */
static void xl_span(xl_t *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c1, lxw_col_t c2,
                    const char *s, lxw_format *fmt)
{
    if (x->e != LXW_NO_ERROR)
        return;
    if (c2 > c1)
        xl_keep(x, worksheet_merge_range(ws, r, c1, r, c2, s, fmt));
    else
        xl_str(x, ws, r, c1, s, fmt);
}

static bool xl_name_used(const xl_t *x, const char *name)
{
    for (size_t i = 0; i < x->nnames; i++)
        if (strcasecmp(x->names[i], name) == 0)
            return true;
    return false;
}

/*
 * Adds a sheet named as close to `want` as Excel allows: the characters
 * []:*?/\ become '_', a leading or trailing apostrophe too, the name is
 * cut to 31 characters, an empty name becomes "站", and a name already
 * used (Excel compares without letter case; "History" is reserved) gets
 * "~2", "~3", ... Returns NULL with x->e set on failure.
 */
static lxw_worksheet *xl_sheet(xl_t *x, const char *want)
{
    char base[LXW_SHEETNAME_MAX * 4 + 1], name[LXW_SHEETNAME_MAX * 4 + 8];
    size_t chars = 0, b = 0;
    if (x->e != LXW_NO_ERROR)
        return NULL;
    /* Whole characters only, so a cut never splits a UTF-8 sequence. */
    const unsigned char *p = (const unsigned char *)(want ? want : "");
    while (*p && chars < LXW_SHEETNAME_MAX) {
        size_t len = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 1;
        if (strnlen((const char *)p, len) < len)
            break;
        if (len > 1) {
            memcpy(base + b, p, len);
            b += len;
        } else {
            base[b++] =
                (*p < 0x20 || *p >= 0x80 || strchr("[]:*?/\\", *p)) ? '_' : (char)*p;
        }
        p += len;
        chars++;
    }
    base[b] = '\0';
    if (b == 0)
        snprintf(base, sizeof base, "站");
    if (base[0] == '\'')
        base[0] = '_';
    if (base[strlen(base) - 1] == '\'')
        base[strlen(base) - 1] = '_';
    snprintf(name, sizeof name, "%s", base);
    for (unsigned n = 2; xl_name_used(x, name) || strcasecmp(name, "History") == 0 ||
                         workbook_validate_sheet_name(x->wb, name) != LXW_NO_ERROR;
         n++) {
        char suffix[16];
        int sl = snprintf(suffix, sizeof suffix, "~%u", n);
        /* keep the whole name within 31 characters: cut the base to
         * 31 - strlen(suffix) characters, whole ones */
        size_t keep = 0, c = 0;
        while (base[keep]) {
            if (((unsigned char)base[keep] & 0xC0) != 0x80) {
                if (c == (size_t)(LXW_SHEETNAME_MAX - sl))
                    break;
                c++;
            }
            keep++;
        }
        snprintf(name, sizeof name, "%.*s%s", (int)keep, base, suffix);
        if (n > 1000) {
            xl_keep(x, LXW_ERROR_SHEETNAME_ALREADY_USED);
            return NULL;
        }
    }
    char **grown = realloc(x->names, (x->nnames + 1) * sizeof *grown);
    char *copy = strdup(name);
    if (!grown || !copy) {
        if (grown)
            x->names = grown;
        free(copy);
        xl_keep(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
        return NULL;
    }
    x->names = grown;
    x->names[x->nnames++] = copy;
    lxw_worksheet *ws = workbook_add_worksheet(x->wb, name);
    if (!ws)
        xl_keep(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
    return ws;
}

/* Print setup shared by every sheet: A4 landscape, one page wide, the
 * header row repeated on each printed page. */
static void xl_print(xl_t *x, lxw_worksheet *ws, lxw_row_t head_row)
{
    worksheet_set_landscape(ws);
    worksheet_set_paper(ws, 9); /* A4 */
    worksheet_fit_to_pages(ws, 1, 0);
    worksheet_freeze_panes(ws, head_row + 1, 0);
    if (x->e == LXW_NO_ERROR)
        xl_keep(x, worksheet_repeat_rows(ws, head_row, head_row));
}

static void xl_formats(xl_t *x)
{
    lxw_workbook *wb = x->wb;
    x->title = workbook_add_format(wb);
    format_set_bold(x->title);
    format_set_font_size(x->title, 14);
    x->meta = workbook_add_format(wb);
    format_set_font_color(x->meta, 0x555555);
    x->label = workbook_add_format(wb);
    format_set_bold(x->label);
    x->head = workbook_add_format(wb);
    format_set_bold(x->head);
    format_set_bg_color(x->head, 0xE8E8E8);
    format_set_border(x->head, LXW_BORDER_THIN);
    format_set_text_wrap(x->head);
    format_set_align(x->head, LXW_ALIGN_CENTER);
    format_set_align(x->head, LXW_ALIGN_VERTICAL_CENTER);
    x->text = workbook_add_format(wb);
    format_set_border(x->text, LXW_BORDER_THIN);
    format_set_align(x->text, LXW_ALIGN_VERTICAL_TOP);
    x->wrap = workbook_add_format(wb);
    format_set_border(x->wrap, LXW_BORDER_THIN);
    format_set_text_wrap(x->wrap);
    format_set_align(x->wrap, LXW_ALIGN_VERTICAL_TOP);
    x->amount = workbook_add_format(wb);
    format_set_num_format(x->amount, "0.00");
    format_set_border(x->amount, LXW_BORDER_THIN);
    format_set_align(x->amount, LXW_ALIGN_VERTICAL_TOP);
    x->integer = workbook_add_format(wb);
    format_set_num_format(x->integer, "0");
    format_set_border(x->integer, LXW_BORDER_THIN);
    format_set_align(x->integer, LXW_ALIGN_VERTICAL_TOP);
    x->section = workbook_add_format(wb);
    format_set_bold(x->section);
    format_set_bg_color(x->section, 0xDDE6F0);
    format_set_border(x->section, LXW_BORDER_THIN);
}

/* Rows 0-2 of a sheet: its title and the publication it comes from. */
static void xl_title(xl_t *x, lxw_worksheet *ws, const snap_t *s, lxw_col_t last,
                     const char *title)
{
    char line[512];
    xl_span(x, ws, 0, 0, last, title, x->title);
    snprintf(line, sizeof line, "哈希 %s", s->hash);
    xl_span(x, ws, 1, 0, last, line, x->meta);
    snprintf(line, sizeof line, "上一版哈希 %s    发布时间 %s%s%s",
             *s->prev_hash ? s->prev_hash : "无(首版)", s->published_at,
             *s->by ? "    发布人 " : "", s->by);
    xl_span(x, ws, 2, 0, last, line, x->meta);
}

static void xl_rank_sheet(xl_t *x, const snap_t *s)
{
    static const char *const head[] = {"名次", "代码", "派出所", "总分", "加分", "待扣"};
    const lxw_col_t nfixed = sizeof head / sizeof *head;
    lxw_col_t ncols = (lxw_col_t)(nfixed + json_array_size(s->sections));
    lxw_worksheet *ws = xl_sheet(x, "排名");
    char title[512];
    size_t i, j;
    const json_t *row, *sec;
    if (!ws)
        return;
    snprintf(title, sizeof title, "%s %s 月末考核排名 第%s版", s->county, s->month,
             s->rev);
    xl_title(x, ws, s, ncols - 1, title);
    const lxw_row_t hr = 4;
    for (lxw_col_t c = 0; c < nfixed; c++)
        xl_str(x, ws, hr, c, head[c], x->head);
    json_array_foreach(s->sections, j, sec)
    {
        xl_str(x, ws, hr, (lxw_col_t)(nfixed + j), get_str(sec, "title"), x->head);
    }
    json_array_foreach(s->rows, i, row)
    {
        lxw_row_t r = (lxw_row_t)(hr + 1 + i);
        xl_int(x, ws, r, 0, json_object_get(row, "rank"), x->integer);
        xl_str(x, ws, r, 1, get_str(row, "station"), x->text);
        xl_str(x, ws, r, 2, get_str(row, "name"), x->text);
        xl_amount(x, ws, r, 3, json_object_get(row, "total"), x->amount);
        xl_amount(x, ws, r, 4, json_object_get(row, "bonus"), x->amount);
        xl_amount(x, ws, r, 5, json_object_get(row, "pending"), x->amount);
        const json_t *bysec = json_object_get(row, "sections");
        json_array_foreach(s->sections, j, sec)
        {
            xl_amount(x, ws, r, (lxw_col_t)(nfixed + j),
                      json_object_get(bysec, get_str(sec, "id")), x->amount);
        }
    }
    worksheet_set_column(ws, 0, 0, 6, NULL);
    worksheet_set_column(ws, 1, 1, 8, NULL);
    worksheet_set_column(ws, 2, 2, 18, NULL);
    worksheet_set_column(ws, 3, (lxw_col_t)(ncols - 1), 11, NULL);
    xl_print(x, ws, hr);
}

/* The station sheet's columns: the standard's, 考核得分 as bonus minus
 * deducted, then the three amounts it comes from. Widths in characters
 * (a Chinese character is about two). */
static const struct {
    const char *head;
    double width;
} xl_card_cols[] = {
    {"条目", 8},  {"项目", 22},     {"内容", 24},     {"标准", 44},  {"分值", 24},
    {"方法", 24}, {"考核周期", 10}, {"数据来源", 22}, {"自评分", 8}, {"考核得分", 9},
    {"扣分", 8},  {"加分", 8},      {"待扣", 8},      {"备注", 36},
};
#define XL_CARD_NCOLS (sizeof xl_card_cols / sizeof *xl_card_cols)

static void xl_station_sheet(xl_t *x, const snap_t *s, const json_t *st)
{
    const char *code = get_str(st, "station");
    lxw_worksheet *ws = xl_sheet(x, code);
    const lxw_col_t last = XL_CARD_NCOLS - 1;
    char title[512], line[512];
    size_t j, k, n;
    const json_t *sec, *item;
    if (!ws)
        return;
    snprintf(title, sizeof title, "%s (%s)  %s 年度考核  截至 %s 月末  第%s版",
             get_str(st, "name"), code, s->year, s->month, s->rev);
    xl_span(x, ws, 0, 0, last, title, x->title);
    xl_str(x, ws, 1, 0, "总分", x->label);
    xl_amount(x, ws, 1, 1, json_object_get(st, "total"), x->amount);
    xl_str(x, ws, 1, 2, "加分", x->label);
    xl_amount(x, ws, 1, 3, json_object_get(st, "bonus"), x->amount);
    xl_str(x, ws, 1, 4, "待扣", x->label);
    xl_amount(x, ws, 1, 5, json_object_get(st, "pending"), x->amount);
    snprintf(line, sizeof line, "%s %s 第%s版  哈希 %s", s->county, s->month, s->rev,
             s->hash);
    xl_span(x, ws, 2, 0, last, line, x->meta);

    const lxw_row_t hr = 4;
    for (lxw_col_t c = 0; c < XL_CARD_NCOLS; c++) {
        xl_str(x, ws, hr, c, xl_card_cols[c].head, x->head);
        worksheet_set_column(ws, c, c, xl_card_cols[c].width, NULL);
    }
    lxw_row_t r = hr + 1;
    json_array_foreach(json_object_get(st, "sections"), j, sec)
    {
        xl_span(x, ws, r++, 0, last, section_line(sec, line, sizeof line), x->section);
        const json_t *items = json_object_get(sec, "items");
        n = json_array_size(items);
        for (k = 0; k < n; k++, r++) {
            item = json_array_get(items, k);
            const char *project = get_str(item, "project");
            xl_str(x, ws, r, 0, get_str(item, "id"), x->text);
            /* Consecutive items of one project share a merged 项目 cell,
             * as on the paper standard. */
            bool cont =
                k > 0 && *project &&
                strcmp(get_str(json_array_get(items, k - 1), "project"), project) == 0;
            if (!cont) {
                size_t run = 1;
                while (*project && k + run < n &&
                       strcmp(get_str(json_array_get(items, k + run), "project"),
                              project) == 0)
                    run++;
                if (run > 1 && x->e == LXW_NO_ERROR)
                    xl_keep(x, worksheet_merge_range(ws, r, 1, (lxw_row_t)(r + run - 1),
                                                     1, project, x->wrap));
                else
                    xl_str(x, ws, r, 1, project, x->wrap);
            }
            xl_str(x, ws, r, 2, get_str(item, "content"), x->wrap);
            xl_str(x, ws, r, 3, get_str(item, "standard"), x->wrap);
            xl_str(x, ws, r, 4, get_str(item, "value"), x->wrap);
            xl_str(x, ws, r, 5, get_str(item, "method"), x->wrap);
            xl_str(x, ws, r, 6, get_str(item, "cycle"), x->wrap);
            xl_str(x, ws, r, 7, get_str(item, "source"), x->wrap);
            xl_amount(x, ws, r, 8, json_object_get(item, "self_score"), x->amount);
            xl_milli(x, ws, r, 9, get_milli(item, "bonus") - get_milli(item, "deducted"),
                     x->amount);
            xl_amount(x, ws, r, 10, json_object_get(item, "deducted"), x->amount);
            xl_amount(x, ws, r, 11, json_object_get(item, "bonus"), x->amount);
            xl_amount(x, ws, r, 12, json_object_get(item, "pending"), x->amount);
            xl_str(x, ws, r, 13, get_str(item, "remark"), x->wrap);
        }
    }
    xl_print(x, ws, hr);
}

static int cmp_str_cb(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 月度: one row per station (rank order), one column per month end. */
static int xl_monthly_sheet(xl_t *x, const snap_t *s)
{
    lxw_worksheet *ws = xl_sheet(x, "月度");
    const char *key;
    const json_t *series, *pt, *row;
    size_t i, j, nmonths = 0, cap = 0;
    const char **months = NULL;
    if (!ws)
        return KH_OK;
    /* The months any station has, in calendar order ("YYYY-MM" sorts). */
    if (s->monthly) {
        json_object_foreach((json_t *)s->monthly, key, series)
        {
            json_array_foreach(series, i, pt)
            {
                const char *m = json_string_value(json_object_get(pt, "month"));
                bool seen = false;
                if (!m)
                    continue;
                for (j = 0; j < nmonths && !seen; j++)
                    seen = strcmp(months[j], m) == 0;
                if (seen)
                    continue;
                if (nmonths == cap) {
                    size_t ncap = cap ? cap * 2 : 16;
                    const char **grown = realloc(months, ncap * sizeof *grown);
                    if (!grown) {
                        free(months);
                        return KH_ENOMEM;
                    }
                    months = grown;
                    cap = ncap;
                }
                months[nmonths++] = m;
            }
        }
    }
    if (nmonths)
        qsort(months, nmonths, sizeof *months, cmp_str_cb);
    char title[256];
    snprintf(title, sizeof title, "%s %s 年度 各所月末累计总分", s->county, s->year);
    lxw_col_t last = (lxw_col_t)(nmonths + 1);
    xl_span(x, ws, 0, 0, last, title, x->title);
    const lxw_row_t hr = 2;
    xl_str(x, ws, hr, 0, "代码", x->head);
    xl_str(x, ws, hr, 1, "派出所", x->head);
    for (j = 0; j < nmonths; j++)
        xl_str(x, ws, hr, (lxw_col_t)(j + 2), months[j], x->head);
    json_array_foreach(s->rows, i, row)
    {
        const char *code = get_str(row, "station");
        lxw_row_t r = (lxw_row_t)(hr + 1 + i);
        xl_str(x, ws, r, 0, code, x->text);
        xl_str(x, ws, r, 1, station_name(s, code), x->text);
        series = s->monthly ? json_object_get(s->monthly, code) : NULL;
        for (j = 0; j < nmonths; j++) {
            const json_t *v = NULL;
            size_t k;
            json_array_foreach(series, k, pt)
            {
                if (strcmp(get_str(pt, "month"), months[j]) == 0)
                    v = json_object_get(pt, "total");
            }
            xl_amount(x, ws, r, (lxw_col_t)(j + 2), v, x->amount);
        }
    }
    worksheet_set_column(ws, 0, 0, 8, NULL);
    worksheet_set_column(ws, 1, 1, 18, NULL);
    if (nmonths)
        worksheet_set_column(ws, 2, last, 10, NULL);
    xl_print(x, ws, hr);
    free(months);
    return KH_OK;
}

/* 变更: what this revision changed, or one line saying nothing did. */
static int xl_changes_sheet(xl_t *x, const snap_t *s)
{
    static const struct {
        const char *head;
        double width;
    } cols[] = {{"代码", 8},  {"派出所", 18}, {"条目", 10}, {"字段", 10},
                {"原值", 10}, {"新值", 10},   {"事件", 40}};
    lxw_worksheet *ws = xl_sheet(x, "变更");
    size_t i;
    const json_t *ch;
    if (!ws)
        return KH_OK;
    for (lxw_col_t c = 0; c < sizeof cols / sizeof *cols; c++) {
        xl_str(x, ws, 0, c, cols[c].head, x->head);
        worksheet_set_column(ws, c, c, cols[c].width, NULL);
    }
    if (!s->changes || json_array_size(s->changes) == 0)
        xl_str(x, ws, 1, 0, strcmp(s->rev, "1") == 0 ? "首版,无变更" : "无变更", NULL);
    json_array_foreach(s->changes, i, ch)
    {
        lxw_row_t r = (lxw_row_t)(i + 1);
        const char *code = get_str(ch, "station");
        char *ids = join_ids(json_object_get(ch, "events"));
        if (!ids)
            return KH_ENOMEM;
        xl_str(x, ws, r, 0, code, x->text);
        xl_str(x, ws, r, 1, station_name(s, code), x->text);
        xl_str(x, ws, r, 2, get_str(ch, "item"), x->text);
        xl_str(x, ws, r, 3, field_label(get_str(ch, "field")), x->text);
        if (field_is_rank(ch)) {
            xl_int(x, ws, r, 4, json_object_get(ch, "old"), x->integer);
            xl_int(x, ws, r, 5, json_object_get(ch, "new"), x->integer);
        } else {
            xl_amount(x, ws, r, 4, json_object_get(ch, "old"), x->amount);
            xl_amount(x, ws, r, 5, json_object_get(ch, "new"), x->amount);
        }
        xl_str(x, ws, r, 6, ids, x->wrap);
        free(ids);
    }
    xl_print(x, ws, 0);
    return KH_OK;
}

static int write_xlsx(const snap_t *s, out_t *o, char *err, size_t errlen)
{
    /* libxlsxwriter opens the file by name at workbook_close(); our O_EXCL
     * descriptor only reserved the name. */
    close(o->fd);
    o->fd = -1;
    xl_t x = {0};
    x.wb = workbook_new(o->tmp);
    if (!x.wb) {
        set_err(err, errlen, "out of memory");
        return KH_ENOMEM;
    }
    xl_formats(&x);

    /* Properties, with the publication time as the creation time so that
     * exporting one revision twice gives the same bytes. */
    char title[512];
    snprintf(title, sizeof title, "%s %s 考核快照 第%s版", s->county, s->month, s->rev);
    lxw_doc_properties props = {
        .title = title,
        .subject = (char *)s->hash,
        .author = (char *)(*s->by ? s->by : "kaohe"),
        .company = (char *)s->county,
        .comments = "kaohe snapshot export",
    };
    kh_usec_t at;
    if (*s->published_at && kh_time_parse(s->published_at, &at) == KH_OK && at > 0)
        props.created = (time_t)(at / KH_USEC_PER_SEC);
    xl_keep(&x, workbook_set_properties(x.wb, &props));

    int rc = KH_OK;
    size_t i;
    const json_t *st;
    xl_rank_sheet(&x, s);
    json_array_foreach(s->stations, i, st)
    {
        xl_station_sheet(&x, s, st);
    }
    if (rc == KH_OK)
        rc = xl_monthly_sheet(&x, s);
    if (rc == KH_OK)
        rc = xl_changes_sheet(&x, s);

    /* workbook_close() frees the workbook whatever it returns. */
    lxw_error ce = workbook_close(x.wb);
    xl_keep(&x, ce);
    for (i = 0; i < x.nnames; i++)
        free(x.names[i]);
    free(x.names);
    if (rc == KH_OK && x.e != LXW_NO_ERROR)
        rc = (x.e == LXW_ERROR_MEMORY_MALLOC_FAILED) ? KH_ENOMEM : KH_EIO;
    if (rc == KH_ENOMEM)
        set_err(err, errlen, "out of memory");
    else if (rc != KH_OK)
        set_err(err, errlen, "cannot write %s: %s", o->tmp, lxw_strerror(x.e));
    return rc;
}

/* ------------------------------------------------------------------ */
/* the API                                                              */
/* ------------------------------------------------------------------ */

static const char *const format_names[] = {
    [KH_EXPORT_JSON] = "json",
    [KH_EXPORT_CSV] = "csv",
    [KH_EXPORT_XLSX] = "xlsx",
    [KH_EXPORT_HTML] = "html",
};
#define NFORMATS (sizeof format_names / sizeof *format_names)

int kh_export_format_parse(const char *name, kh_export_format_t *out)
{
    if (!name)
        return KH_EINVAL;
    for (size_t i = 0; i < NFORMATS; i++) {
        if (strcasecmp(name, format_names[i]) == 0) {
            *out = (kh_export_format_t)i;
            return KH_OK;
        }
    }
    return KH_EINVAL;
}

const char *kh_export_format_name(kh_export_format_t fmt)
{
    return ((size_t)fmt < NFORMATS) ? format_names[fmt] : "unknown";
}

int kh_export_write(const json_t *snapshot, kh_export_format_t fmt, const char *path,
                    char *err, size_t errlen)
{
    snap_t s;
    out_t o = {.fd = -1};
    int rc;
    if (!path || !*path) {
        set_err(err, errlen, "no output path");
        return KH_EINVAL;
    }
    if ((size_t)fmt >= NFORMATS) {
        set_err(err, errlen, "unknown export format %d", (int)fmt);
        return KH_EINVAL;
    }
    rc = snap_open(&s, snapshot, err, errlen);
    if (rc != KH_OK)
        goto fail_snap;
    rc = out_open(&o, path, err, errlen);
    if (rc != KH_OK)
        goto fail_snap;
    if (fmt == KH_EXPORT_XLSX)
        rc = write_xlsx(&s, &o, err, errlen);
    else
        rc = write_stdio(&s, fmt, &o, err, errlen);
    if (rc == KH_OK)
        rc = out_commit(&o, err, errlen);
    out_abort(&o);
fail_snap:
    snap_close(&s);
    return rc;
}
