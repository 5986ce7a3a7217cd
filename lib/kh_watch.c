/*
 * kh_watch.c - the frames of `kaohe watch`.
 *
 * Design:
 *   - Three blocks, each a small table: the ranking (名次 代码 派出所 总分
 *     较快照 待扣), the month's 城区三所 ranking (名次 代码 派出所 巡逻
 *     落后 扣分) and the recent rejections (时间 来源 事件 原因 密钥). A
 *     table measures its columns in display columns over all its rows,
 *     so a frame whose rows are cut to the height keeps the same columns.
 *     One column per table gives way when the width is short (the names;
 *     the event ids) and its cells are cut with "…"; every finished line
 *     is cut to the width again, so no input can make a line wrap.
 *   - Every text from outside (names, event ids, keys, the data
 *     directory) is cleaned first: control characters and invalid UTF-8
 *     become '?', so an event id cannot carry an escape sequence to the
 *     operator's terminal.
 *   - Amounts are read from the JSON numbers back to milli-points
 *     (kh_milli_from_double) and printed with kh_milli_format2; the change
 *     since the snapshot is an integer difference.
 */
#include "kh_watch.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_error.h"
#include "kh_points.h"
#include "kh_render.h"
#include "kh_strbuf.h"

#define GAP          "  " /* between columns, as the other tables */
#define MAX_COLS     6
#define MIN_FLEX     4 /* a name column never shrinks below this or its head */
#define MIN_DIR      6 /* a directory cut shorter is left out of the header */
#define MIN_STATIONS 3 /* the ranking keeps this many before other blocks go */
#define ID_CAP       24
#define KEY_CAP      16
#define DASH         "\xE2\x80\x94" /* "—", one column: nothing to show */
#define ELLIPSIS     "\xE2\x80\xA6" /* "…", one column */

/* ------------------------------------------------------------------ */
/* text                                                                 */
/* ------------------------------------------------------------------ */

/* A malloc'd copy of s safe to write to a terminal: C0 and C1 controls,
 * DEL and bytes of invalid UTF-8 become '?'. NULL s is "". */
static char *clean_dup(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = kh_utf8_next(p + i, n - i, &cp);
        if (len == 0 || cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) {
            out[o++] = '?';
            i += len ? len : 1;
            continue;
        }
        memcpy(out + o, p + i, len);
        o += len;
        i += len;
    }
    out[o] = '\0';
    return out;
}

/* s (clean UTF-8) cut to width columns with "…"; malloc'd. */
static char *fit_dup(const char *s, size_t width)
{
    size_t cap = strlen(s) + 4;
    char *out = malloc(cap);
    if (out)
        kh_display_fit(s, width, out, cap);
    return out;
}

/* s (clean UTF-8) cut from the left to width columns: "…" and its tail,
 * which is the telling part of a path. Into buf (cap bytes). */
static void fit_left(const char *s, size_t width, char *buf, size_t cap)
{
    size_t w = kh_display_width(s);
    if (w <= width || width == 0) {
        snprintf(buf, cap, "%s", w <= width ? s : "");
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    while (i < n && w > width - 1) {
        uint32_t cp = 0;
        size_t len = kh_utf8_next(p + i, n - i, &cp);
        if (len == 0)
            len = 1;
        w -= kh_display_width_n(s + i, len);
        i += len;
    }
    snprintf(buf, cap, ELLIPSIS "%s", s + i);
}

static void sb_spaces(kh_strbuf_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kh_strbuf_add(b, " ", 1);
}

/* ------------------------------------------------------------------ */
/* lines                                                                */
/* ------------------------------------------------------------------ */

typedef struct lines {
    char **v;
    size_t n, cap;
    size_t width;
    bool oom;
} lines_t;

/* Appends s cut to the width (s is not taken). */
static void add_line(lines_t *L, const char *s)
{
    if (L->oom)
        return;
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 64;
        char **v = realloc(L->v, cap * sizeof *v);
        if (!v) {
            L->oom = true;
            return;
        }
        L->v = v;
        L->cap = cap;
    }
    char *line = fit_dup(s ? s : "", L->width);
    if (!line) {
        L->oom = true;
        return;
    }
    L->v[L->n++] = line;
}

/* ------------------------------------------------------------------ */
/* tables                                                               */
/* ------------------------------------------------------------------ */

typedef struct col {
    const char *head;
    bool right; /* numbers */
    size_t cap; /* columns a cell is cut to; 0: no cap */
} col_t;

typedef struct tab {
    const col_t *cols;
    size_t ncols;
    int flex;     /* the column that gives way, or -1 */
    char **cells; /* nrows * ncols, cleaned, owned */
    size_t nrows, cap;
    size_t widths[MAX_COLS];
    size_t gap; /* spaces between columns: two, one when short of room */
    bool oom;
} tab_t;

static void tab_init(tab_t *t, const col_t *cols, size_t ncols, int flex)
{
    memset(t, 0, sizeof *t);
    t->cols = cols;
    t->ncols = ncols;
    t->flex = flex;
    t->gap = strlen(GAP);
}

static void tab_free(tab_t *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* Adds a row of ncols texts (copied, cleaned; NULL is ""). */
static void tab_row(tab_t *t, const char *const *vals)
{
    if (t->oom)
        return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, cap * t->ncols * sizeof *cells);
        if (!cells) {
            t->oom = true;
            return;
        }
        t->cells = cells;
        t->cap = cap;
    }
    char **row = &t->cells[t->nrows * t->ncols];
    for (size_t c = 0; c < t->ncols; c++) {
        char *s = clean_dup(vals[c]);
        if (s && t->cols[c].cap && kh_display_width(s) > t->cols[c].cap) {
            char *cut = fit_dup(s, t->cols[c].cap);
            free(s);
            s = cut;
        }
        row[c] = s;
        if (!s)
            t->oom = true;
    }
    t->nrows++;
}

/* Measures the columns over every row and the heads; the flex column
 * gets what the others leave of width, down to MIN_FLEX, and its cells
 * are cut to that. */
static void tab_measure(tab_t *t, size_t width)
{
    size_t others = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        size_t w = kh_display_width(t->cols[c].head);
        for (size_t r = 0; r < t->nrows; r++) {
            const char *cell = t->cells[r * t->ncols + c];
            size_t cw = cell ? kh_display_width(cell) : 0;
            if (cw > w)
                w = cw;
        }
        t->widths[c] = w;
        if ((int)c != t->flex)
            others += w;
    }
    size_t ngaps = t->ncols ? t->ncols - 1 : 0;
    size_t natural = others + (t->flex >= 0 ? t->widths[t->flex] : 0);
    if (natural + t->gap * ngaps > width)
        t->gap = 1;
    others += t->gap * ngaps;
    if (t->flex < 0 || t->oom)
        return;
    size_t fc = (size_t)t->flex;
    size_t room = width > others ? width - others : 0;
    size_t headw = kh_display_width(t->cols[fc].head);
    if (room < MIN_FLEX)
        room = MIN_FLEX;
    if (room < headw)
        room = headw;
    if (t->widths[fc] <= room)
        return;
    t->widths[fc] = room;
    for (size_t r = 0; r < t->nrows && !t->oom; r++) {
        char **cell = &t->cells[r * t->ncols + fc];
        if (*cell && kh_display_width(*cell) > room) {
            char *cut = fit_dup(*cell, room);
            if (!cut) {
                t->oom = true;
                break;
            }
            free(*cell);
            *cell = cut;
        }
    }
}

/* One line of cells padded to the widths; trailing empty cells are left
 * out and the last left-aligned cell is not padded (no trailing
 * spaces). */
static void tab_line(tab_t *t, lines_t *L, const char *const *cells)
{
    size_t n = t->ncols;
    while (n > 0 && (!cells[n - 1] || !*cells[n - 1]))
        n--;
    kh_strbuf_t b = {0};
    kh_strbuf_str(&b, "");
    for (size_t c = 0; c < n; c++) {
        const char *s = cells[c] ? cells[c] : "";
        size_t w = kh_display_width(s);
        size_t pad = t->widths[c] > w ? t->widths[c] - w : 0;
        if (c > 0)
            sb_spaces(&b, t->gap);
        if (t->cols[c].right)
            sb_spaces(&b, pad);
        kh_strbuf_str(&b, s);
        if (!t->cols[c].right && c + 1 < n)
            sb_spaces(&b, pad);
    }
    if (b.oom)
        L->oom = true;
    else
        add_line(L, b.s);
    free(b.s);
}

static void tab_head(tab_t *t, lines_t *L)
{
    const char *heads[MAX_COLS];
    for (size_t c = 0; c < t->ncols; c++)
        heads[c] = t->cols[c].head;
    tab_line(t, L, heads);
}

static void tab_rows(tab_t *t, lines_t *L, size_t from, size_t n)
{
    for (size_t r = from; r < from + n && r < t->nrows; r++)
        tab_line(t, L, (const char *const *)&t->cells[r * t->ncols]);
}

/* ------------------------------------------------------------------ */
/* reading the documents                                                */
/* ------------------------------------------------------------------ */

static const char *get_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* The amount at obj[key] in milli-points; false when absent or not a
 * number. */
static bool get_milli(const json_t *obj, const char *key, kh_milli_t *out)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) && kh_milli_from_double(json_number_value(v), out);
}

/* An amount with two decimals, "" when absent. buf >= 32. */
static const char *amount_str(const json_t *obj, const char *key, char *buf)
{
    kh_milli_t m;
    buf[0] = '\0';
    if (get_milli(obj, key, &m))
        kh_milli_format2(m, buf);
    return buf;
}

/* An integer at obj[key] as text, "" when absent. buf >= 24. */
static const char *int_str(const json_t *obj, const char *key, char *buf)
{
    const json_t *v = json_object_get(obj, key);
    buf[0] = '\0';
    if (json_is_integer(v))
        snprintf(buf, 24, "%lld", (long long)json_integer_value(v));
    return buf;
}

/* A signed change, "+0.10", "-0.10", "0.00". buf >= 33. */
static const char *change_str(kh_milli_t d, char *buf)
{
    char *digits = buf + 1;
    kh_milli_format2(d, digits);
    if (d > 0 && strcmp(digits, "0.00") != 0) {
        buf[0] = '+';
        return buf;
    }
    return digits;
}

/* HH:MM:SS of an instant in the zone (UTC without one). buf >= 16. */
static const char *clock_str(kh_usec_t t, const kh_tz_t *tz, char *buf)
{
    if (t == 0) {
        snprintf(buf, 16, "%s", DASH);
        return buf;
    }
    int64_t s = t / KH_USEC_PER_SEC + (tz ? kh_tz_offset(tz, t) : 0);
    int64_t day = s % 86400;
    if (day < 0)
        day += 86400;
    snprintf(buf, 16, "%02d:%02d:%02d", (int)(day / 3600), (int)(day / 60 % 60),
             (int)(day % 60));
    return buf;
}

/* The snapshot's ranking row of a station, or NULL. */
static const json_t *snap_row(const json_t *snap_stations, const char *code)
{
    size_t i;
    const json_t *row;
    json_array_foreach(snap_stations, i, row)
    {
        if (strcmp(get_str(row, "station"), code) == 0)
            return row;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* rejection notices                                                    */
/* ------------------------------------------------------------------ */

int kh_watch_rejection_parse(const void *data, size_t len, kh_watch_rejection_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *doc = json_loadb(data, len, 0, NULL);
    const char *source = json_string_value(json_object_get(doc, "source"));
    const char *reason = json_string_value(json_object_get(doc, "reason"));
    if (!json_is_object(doc) || !source || !reason) {
        json_decref(doc);
        return KH_EPROTO;
    }
    snprintf(out->source, sizeof out->source, "%s", source);
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    snprintf(out->id, sizeof out->id, "%s", get_str(doc, "id"));
    snprintf(out->key, sizeof out->key, "%s", get_str(doc, "key"));
    kh_usec_t at;
    if (kh_time_parse(get_str(doc, "time"), &at) == KH_OK)
        out->at = at;
    json_decref(doc);
    return KH_OK;
}

/* ------------------------------------------------------------------ */
/* the blocks                                                           */
/* ------------------------------------------------------------------ */

static const col_t rank_cols[] = {
    {"名次", true, 0}, {"代码", false, 0},  {"派出所", false, 0},
    {"总分", true, 0}, {"较快照", true, 0}, {"待扣", true, 0},
};
static const col_t urban_cols[] = {
    {"名次", true, 0}, {"代码", false, 0}, {"派出所", false, 0},
    {"巡逻", true, 0}, {"落后", true, 0},  {"扣分", true, 0},
};
static const col_t rej_cols[] = {
    {"时间", false, 0}, {"来源", false, 0},       {"事件", false, ID_CAP},
    {"原因", false, 0}, {"密钥", false, KEY_CAP},
};

static void rank_table(const kh_watch_view_t *v, tab_t *t)
{
    tab_init(t, rank_cols, 6, 2);
    const json_t *snap_rank = json_object_get(v->snapshot, "rank");
    const json_t *snap_st = json_object_get(snap_rank, "stations");
    bool same_year = json_is_integer(json_object_get(snap_rank, "year")) &&
                     json_integer_value(json_object_get(snap_rank, "year")) ==
                         json_integer_value(json_object_get(v->rank, "year"));
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(v->rank, "stations"), i, row)
    {
        char rank[24], total[32], cbuf[40], pending[32];
        const json_t *was = same_year ? snap_row(snap_st, get_str(row, "station")) : NULL;
        kh_milli_t now, then;
        const char *change = DASH;
        if (was && get_milli(row, "total", &now) && get_milli(was, "total", &then))
            change = change_str(now - then, cbuf);
        const char *vals[6] = {int_str(row, "rank", rank),
                               get_str(row, "station"),
                               get_str(row, "name"),
                               amount_str(row, "total", total),
                               change,
                               amount_str(row, "pending", pending)};
        tab_row(t, vals);
    }
}

static void urban_table(const kh_watch_view_t *v, tab_t *t)
{
    tab_init(t, urban_cols, 6, 2);
    const json_t *stations = json_object_get(v->urban, "stations");
    size_t i;
    const json_t *row;
    json_array_foreach(stations, i, row)
    {
        char rank[24], patrols[24], behind[24], ded[32];
        snprintf(rank, sizeof rank, "%ld", kh_render_urban_place(stations, row));
        const char *vals[6] = {rank,
                               get_str(row, "station"),
                               get_str(row, "name"),
                               int_str(row, "patrols", patrols),
                               int_str(row, "behind", behind),
                               amount_str(row, "deducted", ded)};
        tab_row(t, vals);
    }
}

static void rej_table(const kh_watch_view_t *v, tab_t *t)
{
    tab_init(t, rej_cols, 5, 2);
    for (size_t i = 0; i < v->nrejections; i++) {
        const kh_watch_rejection_t *r = &v->rejections[i];
        char at[16];
        const char *vals[5] = {clock_str(r->at, v->tz, at), r->source,
                               r->id[0] ? r->id : DASH, r->reason,
                               r->key[0] ? r->key : DASH};
        tab_row(t, vals);
    }
}

static void header(const kh_watch_view_t *v, lines_t *L)
{
    char tail[96], at[16];
    snprintf(tail, sizeof tail, GAP "序号 %llu" GAP "更新 %s",
             (unsigned long long)v->last_seq, clock_str(v->updated, v->tz, at));
    const char *lead = "kaohe watch" GAP;
    char *clean = clean_dup(v->dir);
    size_t used = kh_display_width(lead) + kh_display_width(tail);
    if (!clean) {
        L->oom = true;
        return;
    }
    /* the directory gives way first, down to nothing */
    size_t room = L->width > used ? L->width - used : 0;
    size_t cap = strlen(clean) + 8;
    char *dir = malloc(cap);
    if (!dir) {
        free(clean);
        L->oom = true;
        return;
    }
    fit_left(clean, room >= MIN_DIR ? room : 0, dir, cap);
    free(clean);
    kh_strbuf_t b = {0};
    kh_strbuf_str(&b, "kaohe watch");
    if (dir[0]) {
        kh_strbuf_str(&b, GAP);
        kh_strbuf_str(&b, dir);
    }
    free(dir);
    kh_strbuf_str(&b, tail);
    if (b.oom)
        L->oom = true;
    else
        add_line(L, b.s);
    free(b.s);
    if (v->note && *v->note) {
        char *note = clean_dup(v->note);
        if (!note) {
            L->oom = true;
            return;
        }
        kh_strbuf_t nb = {0};
        kh_strbuf_str(&nb, "! ");
        kh_strbuf_str(&nb, note);
        free(note);
        if (nb.oom)
            L->oom = true;
        else
            add_line(L, nb.s);
        free(nb.s);
    }
}

int kh_watch_layout(const kh_watch_view_t *v, size_t width, size_t height,
                    kh_watch_frame_t *out)
{
    out->lines = NULL;
    out->n = 0;
    lines_t L = {.width = width};
    tab_t rank, urban, rej;
    rank_table(v, &rank);
    urban_table(v, &urban);
    rej_table(v, &rej);
    tab_measure(&rank, width);
    tab_measure(&urban, width);
    tab_measure(&rej, width);

    /* How many lines each block takes (with its blank line above). */
    size_t head_n = 1 + (v->note && *v->note ? 1 : 0);
    size_t nst = v->rank ? rank.nrows : 1; /* 1: the "waiting" line */
    size_t rank_fixed = v->rank ? 2 : 1;
    size_t urban_n = 2 + (urban.nrows ? 1 + urban.nrows : 1);
    size_t rej_min = 2 + (rej.nrows ? 2 : 0);
    bool show_urban = true, show_rej = true;
    size_t st_lines = nst, rej_rows = rej.nrows;
    if (height > 0) {
        long avail = (long)height - (long)head_n - (long)rank_fixed;
        long want = (long)(nst < MIN_STATIONS ? nst : MIN_STATIONS);
        if (avail - (long)urban_n - (long)rej_min < want)
            show_rej = false;
        if (!show_rej && avail - (long)urban_n < want)
            show_urban = false;
        long room =
            avail - (show_urban ? (long)urban_n : 0) - (show_rej ? (long)rej_min : 0);
        if (room < 0)
            room = 0;
        st_lines = (size_t)room < nst ? (size_t)room : nst;
        size_t left = (size_t)room - st_lines;
        rej_rows = rej.nrows ? 1 + left : 0;
        if (rej_rows > rej.nrows)
            rej_rows = rej.nrows;
    }

    header(v, &L);

    char line[160], y[24];
    if (!v->rank) {
        add_line(&L, "年度排名");
        add_line(&L, "（等待排名……）");
    } else {
        const json_t *snap_rank = json_object_get(v->snapshot, "rank");
        bool same_year = json_is_integer(json_object_get(snap_rank, "year")) &&
                         json_integer_value(json_object_get(snap_rank, "year")) ==
                             json_integer_value(json_object_get(v->rank, "year"));
        char rev[24];
        if (same_year)
            snprintf(line, sizeof line, "%s 年度排名" GAP "较快照 %s 第%s版",
                     int_str(v->rank, "year", y), get_str(v->snapshot, "month"),
                     int_str(v->snapshot, "rev", rev));
        else
            snprintf(line, sizeof line, "%s 年度排名" GAP "本年尚无已发布的快照",
                     int_str(v->rank, "year", y));
        add_line(&L, line);
        tab_head(&rank, &L);
        if (st_lines < rank.nrows) {
            /* the last line that fits says what is left out */
            size_t shown = st_lines ? st_lines - 1 : 0;
            tab_rows(&rank, &L, 0, shown);
            if (st_lines) {
                snprintf(line, sizeof line, ELLIPSIS " 另有 %zu 个派出所（窗口不够高）",
                         rank.nrows - shown);
                add_line(&L, line);
            }
        } else {
            tab_rows(&rank, &L, 0, rank.nrows);
        }
    }

    if (show_urban) {
        add_line(&L, "");
        if (!v->urban) {
            add_line(&L, "城区三所巡逻排位");
            add_line(&L, "（等待……）");
        } else {
            snprintf(line, sizeof line, "%s 城区三所巡逻排位" GAP "%s",
                     get_str(v->urban, "month"),
                     json_is_true(json_object_get(v->urban, "closed"))
                         ? "已关闭"
                         : "未关闭（扣分在月份关闭后计入）");
            add_line(&L, line);
            if (urban.nrows) {
                tab_head(&urban, &L);
                tab_rows(&urban, &L, 0, urban.nrows);
            } else {
                add_line(&L, "（本县没有城区所）");
            }
        }
    }

    if (show_rej) {
        add_line(&L, "");
        if (rej.nrows == 0) {
            add_line(&L, "最近拒收：无（自本窗口打开以来）");
        } else {
            add_line(&L, "最近拒收（最新在前）");
            tab_head(&rej, &L);
            tab_rows(&rej, &L, 0, rej_rows);
        }
    }

    bool oom = L.oom || rank.oom || urban.oom || rej.oom;
    tab_free(&rank);
    tab_free(&urban);
    tab_free(&rej);
    if (height > 0)
        while (L.n > height)
            free(L.v[--L.n]);
    if (oom) {
        kh_watch_frame_t f = {L.v, L.n};
        kh_watch_frame_free(&f);
        return KH_ENOMEM;
    }
    out->lines = L.v;
    out->n = L.n;
    return KH_OK;
}

void kh_watch_frame_free(kh_watch_frame_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->lines[i]);
    free(f->lines);
    f->lines = NULL;
    f->n = 0;
}
