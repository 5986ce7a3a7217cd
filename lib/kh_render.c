/*
 * kh_render.c - SPEC section 7 JSON documents and the readable tables.
 *
 * Design:
 *   - The builders turn engine structs into jansson documents. Every
 *     amount goes through kh_render_amount() (milli-points to a JSON real
 *     once, at this edge), and every text through jstr(), which repairs
 *     invalid UTF-8 instead of failing, so a NULL return always means out
 *     of memory or an index outside the county or catalog.
 *   - The tables read only the JSON (the CLI has nothing else). A JSON
 *     number is read back to milli-points with kh_milli_from_double() and
 *     printed with kh_milli_format2(): integer arithmetic, two decimals.
 *   - One small table engine (table_t) lays out every table: cells are
 *     cleaned of control characters and cut to their column's cap at
 *     insertion, widths are measured in display columns, and a "span" row
 *     is a full line (a section heading) printed between ordinary rows.
 *     The last column, when left-aligned, is not padded, so no line ends
 *     in spaces.
 */
#include "kh_render.h"

#include <stdlib.h>
#include <string.h>

#include "kh_error.h"
#include "kh_strbuf.h"

/* ------------------------------------------------------------------ */
/* UTF-8 and display width                                              */
/* ------------------------------------------------------------------ */

/*
 * Decodes one UTF-8 sequence at s (len > 0 bytes available). Returns the
 * number of bytes it takes and the code point, or 0 when the bytes at s
 * do not start a valid, shortest-form, non-surrogate sequence.
 */
size_t kh_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

int kh_display_cp_width(uint32_t cp)
{
    /* C0 and C1 controls and DEL do not advance the cursor by a glyph. */
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
        return 0;
    if (cp < 0x300)
        return 1;
    /* Combining marks and zero-width characters. */
    if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
        (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x200B && cp <= 0x200F) ||
        (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
        (cp >= 0xFE20 && cp <= 0xFE2F) || cp == 0xFEFF)
        return 0;
    /* East Asian Wide and Fullwidth. */
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

size_t kh_display_width_n(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;
    while (len > 0) {
        uint32_t cp;
        size_t n = kh_utf8_next(p, len, &cp);
        if (n == 0) {
            w += 1; /* an invalid byte shows as one replacement glyph */
            n = 1;
        } else {
            w += (size_t)kh_display_cp_width(cp);
        }
        p += n;
        len -= n;
    }
    return w;
}

size_t kh_display_width(const char *utf8)
{
    return utf8 ? kh_display_width_n(utf8, strlen(utf8)) : 0;
}

size_t kh_display_fit(const char *s, size_t width, char *buf, size_t cap)
{
    static const char ellipsis[] = "\xE2\x80\xA6"; /* U+2026, one column */
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    if (!s)
        return 0;
    size_t len = strlen(s);
    size_t total = kh_display_width_n(s, len);
    if (total <= width && len < cap) {
        memcpy(buf, s, len + 1);
        return total;
    }
    if (width == 0 || cap < sizeof ellipsis)
        return 0;
    /* Keep whole characters while they leave room for the ellipsis, in
     * columns and in bytes. */
    const unsigned char *p = (const unsigned char *)s;
    size_t used = 0, w = 0;
    while (used < len) {
        uint32_t cp;
        size_t n = kh_utf8_next(p + used, len - used, &cp);
        size_t cw = n ? (size_t)kh_display_cp_width(cp) : 1;
        if (n == 0)
            n = 1;
        if (w + cw > width - 1 || used + n + sizeof ellipsis > cap)
            break;
        w += cw;
        used += n;
    }
    memcpy(buf, s, used);
    memcpy(buf + used, ellipsis, sizeof ellipsis);
    return w + 1;
}

int kh_display_pad(FILE *out, const char *s, size_t width, bool right_align)
{
    if (!s)
        s = "";
    size_t w = kh_display_width(s);
    size_t pad = w < width ? width - w : 0;
    if (right_align)
        for (size_t i = 0; i < pad; i++)
            if (fputc(' ', out) == EOF)
                return -1;
    if (fputs(s, out) == EOF && *s)
        return -1;
    if (!right_align)
        for (size_t i = 0; i < pad; i++)
            if (fputc(' ', out) == EOF)
                return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* JSON documents                                                       */
/* ------------------------------------------------------------------ */

/* A JSON string of s, with every invalid UTF-8 byte replaced by U+FFFD:
 * jansson refuses invalid UTF-8, and a bad byte in a note must not turn
 * a whole answer into "out of memory". NULL s is JSON null. */
static json_t *jstr(const char *s)
{
    if (!s)
        return json_null();
    json_t *v = json_string(s);
    if (v)
        return v;
    size_t len = strlen(s);
    char *clean = malloc(len * 3 + 1);
    if (!clean)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = kh_utf8_next(p + i, len - i, &cp);
        if (n == 0 || cp == 0) {
            memcpy(clean + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += 1;
        } else {
            memcpy(clean + o, s + i, n);
            o += n;
            i += n;
        }
    }
    clean[o] = '\0';
    v = json_string(clean);
    free(clean);
    return v;
}

json_t *kh_render_amount(kh_milli_t v)
{
    return json_real(kh_milli_to_double(v));
}

/* Sets obj[key] = v (stolen); clears *ok on any failure, including a NULL
 * v from a failed constructor, so a builder checks once at the end. */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (!obj || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

static void append(json_t *arr, json_t *v, bool *ok)
{
    if (!arr || json_array_append_new(arr, v) != 0)
        *ok = false;
}

/* The document when every step succeeded, else NULL (freeing it). */
static json_t *finish(json_t *doc, bool ok)
{
    if (!ok) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *kh_render_rank_json(const kh_county_t *county, const kh_catalog_t *catalog,
                            int year, const kh_rank_row_t *rows, size_t n)
{
    bool ok = true;
    json_t *doc = json_object();
    json_t *stations = json_array();
    json_t *secs = json_array();
    put(doc, "year", json_integer(year), &ok);
    put(doc, "stations", stations, &ok);
    put(doc, "sections", secs, &ok);
    for (size_t s = 0; ok && s < catalog->nsections; s++) {
        const kh_section_t *sec = &catalog->sections[s];
        json_t *o = json_object();
        put(o, "id", jstr(sec->id), &ok);
        put(o, "title", jstr(sec->title), &ok);
        put(o, "max", kh_render_amount(sec->max), &ok);
        append(secs, o, &ok);
    }
    for (size_t i = 0; ok && i < n; i++) {
        const kh_scorecard_t *card = rows[i].card;
        if (!card || card->station < 0 || (size_t)card->station >= county->nstations) {
            ok = false;
            break;
        }
        const kh_station_t *st = &county->stations[card->station];
        json_t *row = json_object();
        json_t *bysec = json_object();
        append(stations, row, &ok);
        put(row, "rank", json_integer(rows[i].rank), &ok);
        put(row, "station", jstr(st->code), &ok);
        put(row, "name", jstr(st->name), &ok);
        put(row, "total", kh_render_amount(card->total), &ok);
        put(row, "bonus", kh_render_amount(card->bonus), &ok);
        put(row, "pending", kh_render_amount(card->pending), &ok);
        put(row, "sections", bysec, &ok);
        for (size_t s = 0; ok && s < card->nsections; s++) {
            size_t si = card->sections[s].section;
            if (si >= catalog->nsections) {
                ok = false;
                break;
            }
            put(bysec, catalog->sections[si].id,
                kh_render_amount(card->sections[s].score), &ok);
        }
    }
    return finish(doc, ok);
}

void kh_render_amount_text(kh_milli_t v, char *out)
{
    /* jansson: printf("%.15g") of the double, then ".0" when that has
     * neither '.' nor 'e' (so that it reads back as a real). Below 1e12
     * units that is the exact decimal without trailing zeros. */
    if (v <= -INT64_C(1000000000000000) || v >= INT64_C(1000000000000000)) {
        json_t *j = kh_render_amount(v);
        char *s = j ? json_dumps(j, JSON_ENCODE_ANY | KH_RENDER_JSON_FLAGS) : NULL;
        snprintf(out, 32, "%s", s ? s : "0.0");
        free(s);
        json_decref(j);
        return;
    }
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    unsigned frac = (unsigned)(a % 1000);
    int n = snprintf(out, 32, "%s%llu", v < 0 ? "-" : "", (unsigned long long)(a / 1000));
    if (frac == 0) {
        memcpy(out + n, ".0", 3);
        return;
    }
    char d[4] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                 (char)('0' + frac % 10), '\0'};
    for (int i = 2; i > 0 && d[i] == '0'; i--)
        d[i] = '\0';
    snprintf(out + n, (size_t)(32 - n), ".%s", d);
}

struct kh_rank_text {
    const kh_county_t *county;
    const kh_catalog_t *catalog;
    char **station; /* per station: "station":...,"name":... */
    char **sec_key; /* per section: its id as a JSON key, NULL if it cannot be one */
    char *sections; /* the "sections" array */
};

void kh_render_rank_text_free(kh_rank_text_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_rank_text_t *t = *self_p;
    for (size_t i = 0; t->station && i < t->county->nstations; i++)
        free(t->station[i]);
    for (size_t i = 0; t->sec_key && i < t->catalog->nsections; i++)
        free(t->sec_key[i]);
    free(t->station);
    free(t->sec_key);
    free(t->sections);
    free(t);
    *self_p = NULL;
}

/* An object's text without its braces: the members, as jansson prints
 * them. NULL when the object cannot be made (as kh_render_rank_json would
 * fail). */
static char *members_text(json_t *o, bool ok)
{
    char *s = ok ? kh_render_dumps(o) : NULL;
    json_decref(o);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if (n < 2) {
        free(s);
        return NULL;
    }
    memmove(s, s + 1, n - 2);
    s[n - 2] = '\0';
    return s;
}

kh_rank_text_t *kh_render_rank_text_new(const kh_county_t *county,
                                        const kh_catalog_t *catalog)
{
    kh_rank_text_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->county = county;
    t->catalog = catalog;
    t->station = calloc(county->nstations ? county->nstations : 1, sizeof *t->station);
    t->sec_key = calloc(catalog->nsections ? catalog->nsections : 1, sizeof *t->sec_key);
    if (!t->station || !t->sec_key) {
        kh_render_rank_text_free(&t);
        return NULL;
    }
    for (size_t i = 0; i < county->nstations; i++) {
        bool ok = true;
        json_t *o = json_object();
        put(o, "station", jstr(county->stations[i].code), &ok);
        put(o, "name", jstr(county->stations[i].name), &ok);
        t->station[i] = members_text(o, ok && o);
    }
    bool ok = true;
    json_t *secs = json_array();
    for (size_t s = 0; s < catalog->nsections; s++) {
        const kh_section_t *sec = &catalog->sections[s];
        bool kok = true;
        json_t *k = json_object();
        put(k, sec->id, json_integer(0), &kok);
        char *m = members_text(k, kok && k);
        if (m) /* "id":0 -> "id" */
            m[strlen(m) - 2] = '\0';
        t->sec_key[s] = m;
        json_t *o = json_object();
        put(o, "id", jstr(sec->id), &ok);
        put(o, "title", jstr(sec->title), &ok);
        put(o, "max", kh_render_amount(sec->max), &ok);
        append(secs, o, &ok);
    }
    t->sections = ok && secs ? kh_render_dumps(secs) : NULL;
    json_decref(secs);
    return t;
}

char *kh_render_rank_text(const kh_rank_text_t *t, int year, const kh_rank_row_t *rows,
                          size_t n)
{
    if (!t || !t->sections)
        return NULL;
    kh_strbuf_t b = {0};
    char num[40];
    snprintf(num, sizeof num, "%d", year);
    kh_strbuf_str(&b, "{\"year\":");
    kh_strbuf_str(&b, num);
    kh_strbuf_str(&b, ",\"stations\":[");
    for (size_t i = 0; i < n && !b.oom; i++) {
        const kh_scorecard_t *card = rows[i].card;
        if (!card || card->station < 0 || (size_t)card->station >= t->county->nstations ||
            !t->station[card->station]) {
            free(b.s);
            return NULL;
        }
        snprintf(num, sizeof num, "%s{\"rank\":%d,", i ? "," : "", rows[i].rank);
        kh_strbuf_str(&b, num);
        kh_strbuf_str(&b, t->station[card->station]);
        static const char *const names[] = {
            ",\"total\":", ",\"bonus\":", ",\"pending\":"};
        const kh_milli_t v[] = {card->total, card->bonus, card->pending};
        for (int k = 0; k < 3; k++) {
            kh_strbuf_str(&b, names[k]);
            kh_render_amount_text(v[k], num);
            kh_strbuf_str(&b, num);
        }
        kh_strbuf_str(&b, ",\"sections\":{");
        for (size_t s = 0; s < card->nsections; s++) {
            size_t si = card->sections[s].section;
            if (si >= t->catalog->nsections || !t->sec_key[si]) {
                free(b.s);
                return NULL;
            }
            if (s)
                kh_strbuf_add(&b, ",", 1);
            kh_strbuf_str(&b, t->sec_key[si]);
            kh_strbuf_add(&b, ":", 1);
            kh_render_amount_text(card->sections[s].score, num);
            kh_strbuf_str(&b, num);
        }
        kh_strbuf_str(&b, "}}");
    }
    kh_strbuf_str(&b, "],\"sections\":");
    kh_strbuf_str(&b, t->sections);
    kh_strbuf_str(&b, "}");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static json_t *item_json(const kh_catalog_t *catalog, const kh_item_score_t *is, bool *ok)
{
    const kh_item_t *it = &catalog->items[is->item];
    json_t *o = json_object();
    put(o, "id", jstr(it->id), ok);
    put(o, "deducted", kh_render_amount(is->deducted), ok);
    put(o, "bonus", kh_render_amount(is->bonus), ok);
    put(o, "pending", kh_render_amount(is->pending), ok);
    put(o, "self_score",
        is->has_self_score ? kh_render_amount(is->self_score) : json_null(), ok);
    put(o, "project", jstr(it->project), ok);
    put(o, "content", jstr(it->content), ok);
    put(o, "standard", jstr(it->standard), ok);
    put(o, "value", jstr(it->value), ok);
    put(o, "method", jstr(it->method), ok);
    put(o, "cycle", jstr(it->cycle), ok);
    put(o, "source", jstr(it->source), ok);
    put(o, "remark", jstr(it->remark), ok);
    return o;
}

json_t *kh_render_station_json(const kh_county_t *county, const kh_catalog_t *catalog,
                               const kh_scorecard_t *card)
{
    if (!card || card->station < 0 || (size_t)card->station >= county->nstations)
        return NULL;
    for (size_t i = 0; i < card->nitems; i++)
        if (card->items[i].item >= catalog->nitems)
            return NULL;
    const kh_station_t *st = &county->stations[card->station];
    bool ok = true;
    json_t *doc = json_object();
    json_t *secs = json_array();
    put(doc, "station", jstr(st->code), &ok);
    put(doc, "name", jstr(st->name), &ok);
    put(doc, "year", json_integer(card->year), &ok);
    put(doc, "total", kh_render_amount(card->total), &ok);
    put(doc, "bonus", kh_render_amount(card->bonus), &ok);
    put(doc, "pending", kh_render_amount(card->pending), &ok);
    put(doc, "sections", secs, &ok);
    for (size_t s = 0; ok && s < card->nsections; s++) {
        const kh_section_score_t *ss = &card->sections[s];
        if (ss->section >= catalog->nsections) {
            ok = false;
            break;
        }
        const kh_section_t *sec = &catalog->sections[ss->section];
        json_t *o = json_object();
        json_t *items = json_array();
        append(secs, o, &ok);
        put(o, "id", jstr(sec->id), &ok);
        put(o, "title", jstr(sec->title), &ok);
        put(o, "max", kh_render_amount(ss->max), &ok);
        put(o, "score", kh_render_amount(ss->score), &ok);
        put(o, "items", items, &ok);
        put(o, "deducted", kh_render_amount(ss->deducted), &ok);
        for (size_t i = 0; ok && i < card->nitems; i++)
            if (catalog->items[card->items[i].item].section == ss->section)
                append(items, item_json(catalog, &card->items[i], &ok), &ok);
    }
    return finish(doc, ok);
}

json_t *kh_render_explain_json(const kh_county_t *county, const kh_catalog_t *catalog,
                               const kh_scorecard_t *card, size_t item)
{
    if (!card || card->station < 0 || (size_t)card->station >= county->nstations ||
        item >= catalog->nitems)
        return NULL;
    const kh_item_score_t *is = NULL;
    for (size_t i = 0; i < card->nitems && !is; i++)
        if (card->items[i].item == item)
            is = &card->items[i];
    if (!is)
        return NULL;
    const kh_station_t *st = &county->stations[card->station];
    const kh_item_t *it = &catalog->items[item];
    bool ok = true;
    json_t *doc = json_object();
    json_t *entries = json_array();
    put(doc, "station", jstr(st->code), &ok);
    put(doc, "item", jstr(it->id), &ok);
    put(doc, "year", json_integer(card->year), &ok);
    put(doc, "entries", entries, &ok);
    put(doc, "name", jstr(st->name), &ok);
    put(doc, "content", jstr(it->content), &ok);
    put(doc, "deducted", kh_render_amount(is->deducted), &ok);
    put(doc, "bonus", kh_render_amount(is->bonus), &ok);
    put(doc, "pending", kh_render_amount(is->pending), &ok);
    for (size_t e = 0; ok && e < is->nentries; e++) {
        const kh_entry_t *en = &is->entries[e];
        json_t *o = json_object();
        json_t *ids = json_array();
        append(entries, o, &ok);
        put(o, "points", kh_render_amount(en->points), &ok);
        put(o, "period", jstr(en->period), &ok);
        put(o, "pending", json_boolean(en->pending), &ok);
        put(o, "events", ids, &ok);
        put(o, "why", jstr(en->why ? en->why : ""), &ok);
        for (size_t k = 0; ok && k < en->nevents; k++)
            append(ids, jstr(en->events[k]), &ok);
    }
    return finish(doc, ok);
}

json_t *kh_render_urban_json(const kh_county_t *county, const char *month, bool closed,
                             const kh_urban_row_t *rows, size_t n)
{
    bool ok = true;
    json_t *doc = json_object();
    json_t *stations = json_array();
    put(doc, "month", jstr(month ? month : ""), &ok);
    put(doc, "closed", json_boolean(closed), &ok);
    put(doc, "stations", stations, &ok);
    for (size_t i = 0; ok && i < n; i++) {
        if (rows[i].station < 0 || (size_t)rows[i].station >= county->nstations) {
            ok = false;
            break;
        }
        const kh_station_t *st = &county->stations[rows[i].station];
        json_t *o = json_object();
        append(stations, o, &ok);
        put(o, "station", jstr(st->code), &ok);
        put(o, "name", jstr(st->name), &ok);
        put(o, "patrols", json_integer(rows[i].patrols), &ok);
        put(o, "behind", json_integer(rows[i].behind), &ok);
        put(o, "deducted", kh_render_amount(rows[i].deducted), &ok);
    }
    return finish(doc, ok);
}

char *kh_render_dumps(const json_t *doc)
{
    return doc ? json_dumps(doc, KH_RENDER_JSON_FLAGS) : NULL;
}

/* ------------------------------------------------------------------ */
/* reading the documents back                                           */
/* ------------------------------------------------------------------ */

/* The string at obj[key], or "" when absent or not a string. */
static const char *get_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* A JSON number as an amount with two decimals into buf (32 bytes);
 * "" for null, absent or not a number. */
static const char *amount_str(const json_t *v, char *buf)
{
    kh_milli_t m;
    buf[0] = '\0';
    if (json_is_number(v) && kh_milli_from_double(json_number_value(v), &m))
        kh_milli_format2(m, buf);
    return buf;
}

/* The amount at obj[key] in milli-points; 0 when absent or unreadable. */
static kh_milli_t get_milli(const json_t *obj, const char *key)
{
    kh_milli_t m = 0;
    const json_t *v = json_object_get(obj, key);
    if (!json_is_number(v) || !kh_milli_from_double(json_number_value(v), &m))
        return 0;
    return m;
}

/* A signed amount: "+2.00", "-0.10", "0.00". buf >= 33 bytes: the sign
 * goes in front of kh_milli_format2's 32. */
static const char *signed_str(kh_milli_t v, char *buf)
{
    kh_milli_format2(v, buf + 1);
    if (v > 0 && strcmp(buf + 1, "0.00") != 0) {
        buf[0] = '+';
        return buf;
    }
    return buf + 1;
}

/* An integer at obj[key] as text, "" when not a number. buf >= 24. */
static const char *int_str(const json_t *obj, const char *key, char *buf)
{
    const json_t *v = json_object_get(obj, key);
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

/* ------------------------------------------------------------------ */
/* the table engine                                                     */
/* ------------------------------------------------------------------ */

typedef struct col {
    const char *head;
    size_t maxw; /* display columns a cell is cut to; 0 = no cap */
    bool right;  /* right-aligned (numbers) */
} col_t;

typedef struct table {
    const col_t *cols;
    size_t ncols;
    char **cells; /* nrows * ncols, owned; all NULL in a span row */
    char **spans; /* per row: a full line, owned, or NULL */
    size_t nrows, cap;
    bool oom;
} table_t;

static void table_init(table_t *t, const col_t *cols, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->cols = cols;
    t->ncols = ncols;
}

static void table_free(table_t *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    for (size_t i = 0; i < t->nrows; i++)
        free(t->spans[i]);
    free(t->cells);
    free(t->spans);
    memset(t, 0, sizeof *t);
}

/* A cell's text: control characters (a catalog text's line breaks)
 * become spaces so a row stays one line, then cut to maxw. */
static char *cell_dup(const char *s, size_t maxw)
{
    size_t len = strlen(s);
    char *clean = malloc(len + 1);
    if (!clean)
        return NULL;
    for (size_t i = 0; i <= len; i++)
        clean[i] = (s[i] > 0 && s[i] < 0x20) || s[i] == 0x7F ? ' ' : s[i];
    if (maxw == 0)
        return clean;
    char *fit = malloc(len + 4);
    if (fit)
        kh_display_fit(clean, maxw, fit, len + 4);
    free(clean);
    return fit;
}

/* Room for one more row; false (and oom) when out of memory. */
static bool table_grow(table_t *t)
{
    if (t->oom)
        return false;
    if (t->nrows < t->cap)
        return true;
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **cells = realloc(t->cells, cap * t->ncols * sizeof *cells);
    if (!cells) {
        t->oom = true;
        return false;
    }
    t->cells = cells;
    char **spans = realloc(t->spans, cap * sizeof *spans);
    if (!spans) {
        t->oom = true;
        return false;
    }
    t->spans = spans;
    t->cap = cap;
    return true;
}

/* Adds a row of ncols texts (copied; NULL is ""). */
static void table_row(table_t *t, const char *const *vals)
{
    if (!table_grow(t))
        return;
    char **row = &t->cells[t->nrows * t->ncols];
    for (size_t c = 0; c < t->ncols; c++) {
        row[c] = cell_dup(vals[c] ? vals[c] : "", t->cols[c].maxw);
        if (!row[c])
            t->oom = true;
    }
    t->spans[t->nrows++] = NULL;
}

/* Adds a full-width line (a section heading). */
static void table_span(table_t *t, const char *text)
{
    if (!table_grow(t))
        return;
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = NULL;
    t->spans[t->nrows] = cell_dup(text, 0);
    if (!t->spans[t->nrows])
        t->oom = true;
    t->nrows++;
}

/* Writes one line of cells, two spaces between columns. Trailing empty
 * cells are left out and the last written cell is not padded when it is
 * left-aligned, so no line ends in spaces. */
static int print_cells(FILE *out, const table_t *t, const size_t *widths,
                       const char *const *cells)
{
    size_t n = t->ncols;
    while (n > 0 && (!cells[n - 1] || !*cells[n - 1]))
        n--;
    int rc = 0;
    for (size_t c = 0; c < n && rc == 0; c++) {
        if (c > 0 && fputs("  ", out) == EOF)
            rc = -1;
        bool last = c + 1 == n;
        size_t w = (last && !t->cols[c].right) ? 0 : widths[c];
        if (rc == 0)
            rc = kh_display_pad(out, cells[c], w, t->cols[c].right);
    }
    if (rc == 0 && fputc('\n', out) == EOF)
        rc = -1;
    return rc;
}

static int table_print(FILE *out, const table_t *t)
{
    if (t->oom)
        return KH_ENOMEM;
    size_t *widths = calloc(t->ncols ? t->ncols : 1, sizeof *widths);
    const char **heads = calloc(t->ncols ? t->ncols : 1, sizeof *heads);
    int rc = KH_OK;
    if (!widths || !heads) {
        rc = KH_ENOMEM;
        goto out;
    }
    size_t total = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        heads[c] = t->cols[c].head;
        widths[c] = kh_display_width(heads[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            const char *cell = t->cells[r * t->ncols + c];
            size_t w = cell ? kh_display_width(cell) : 0;
            if (w > widths[c])
                widths[c] = w;
        }
        total += widths[c] + (c > 0 ? 2 : 0);
    }
    if (print_cells(out, t, widths, heads) != 0) {
        rc = KH_EIO;
        goto out;
    }
    for (size_t i = 0; i < total; i++)
        if (fputc('-', out) == EOF) {
            rc = KH_EIO;
            goto out;
        }
    if (fputc('\n', out) == EOF) {
        rc = KH_EIO;
        goto out;
    }
    for (size_t r = 0; r < t->nrows; r++) {
        int w;
        if (t->spans[r])
            w = fprintf(out, "%s\n", t->spans[r]) < 0 ? -1 : 0;
        else
            w = print_cells(out, t, widths, (const char *const *)&t->cells[r * t->ncols]);
        if (w != 0) {
            rc = KH_EIO;
            goto out;
        }
    }
out:
    free(widths);
    free(heads);
    return rc;
}

/* Ends a table function: a write error anywhere on out is KH_EIO. */
static int done(FILE *out, int rc)
{
    if (rc == KH_OK && (fflush(out) != 0 || ferror(out)))
        rc = KH_EIO;
    return rc;
}

/* ------------------------------------------------------------------ */
/* the tables                                                           */
/* ------------------------------------------------------------------ */

/* A catalog has a handful of sections; past 32 a table is unreadable
 * anyway, so further sections are left out of it (--json has them all). */
#define RANK_FIXED_COLS   6
#define RANK_MAX_SECTIONS 32

int kh_render_rank_table(FILE *out, const json_t *doc)
{
    const json_t *stations = json_object_get(doc, "stations");
    if (!json_is_object(doc) || !json_is_array(stations))
        return KH_EINVAL;

    /* The section columns: the document's own list when it has one, else
     * the keys of the first station's "sections" object, in order. */
    const char *sec_ids[RANK_MAX_SECTIONS];
    char sec_heads[RANK_MAX_SECTIONS][160];
    size_t nsec = 0;
    const json_t *secs = json_object_get(doc, "sections");
    if (json_is_array(secs)) {
        size_t i;
        const json_t *s;
        json_array_foreach(secs, i, s)
        {
            const char *id = json_string_value(json_object_get(s, "id"));
            if (!id || nsec == RANK_MAX_SECTIONS)
                continue;
            const char *title = get_str(s, "title");
            sec_ids[nsec] = id;
            if (*title)
                snprintf(sec_heads[nsec], sizeof sec_heads[nsec], "%s", title);
            else
                snprintf(sec_heads[nsec], sizeof sec_heads[nsec], "部分%s", id);
            nsec++;
        }
    } else if (json_array_size(stations) > 0) {
        const json_t *first = json_object_get(json_array_get(stations, 0), "sections");
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)first, key, v)
        {
            if (nsec == RANK_MAX_SECTIONS)
                break;
            sec_ids[nsec] = key;
            snprintf(sec_heads[nsec], sizeof sec_heads[nsec], "部分%s", key);
            nsec++;
        }
    }

    col_t cols[RANK_FIXED_COLS + RANK_MAX_SECTIONS] = {
        {"名次", 0, true}, {"代码", 0, false}, {"派出所", 20, false},
        {"总分", 0, true}, {"加分", 0, true},  {"待扣", 0, true},
    };
    for (size_t s = 0; s < nsec; s++)
        cols[RANK_FIXED_COLS + s] = (col_t){sec_heads[s], 0, true};
    table_t t;
    table_init(&t, cols, RANK_FIXED_COLS + nsec);

    size_t i;
    const json_t *row;
    json_array_foreach(stations, i, row)
    {
        char rank[24], total[32], bonus[32], pending[32];
        char secv[RANK_MAX_SECTIONS][32];
        const char *vals[RANK_FIXED_COLS + RANK_MAX_SECTIONS] = {
            int_str(row, "rank", rank),
            get_str(row, "station"),
            get_str(row, "name"),
            amount_str(json_object_get(row, "total"), total),
            amount_str(json_object_get(row, "bonus"), bonus),
            amount_str(json_object_get(row, "pending"), pending),
        };
        const json_t *bysec = json_object_get(row, "sections");
        for (size_t s = 0; s < nsec; s++)
            vals[RANK_FIXED_COLS + s] =
                amount_str(json_object_get(bysec, sec_ids[s]), secv[s]);
        table_row(&t, vals);
    }

    char year[24];
    int rc = KH_OK;
    if (fprintf(out, "%s 年度排名\n", int_str(doc, "year", year)) < 0)
        rc = KH_EIO;
    if (rc == KH_OK)
        rc = table_print(out, &t);
    table_free(&t);
    return done(out, rc);
}

/* 考核得分 of an item: what was deducted, the bonus, what is pending. */
const char *kh_render_item_result(const json_t *item, char *buf, size_t cap)
{
    char d[32], b[32], p[32];
    kh_milli_t ded = get_milli(item, "deducted");
    kh_milli_t bon = get_milli(item, "bonus");
    kh_milli_t pen = get_milli(item, "pending");
    kh_milli_format2(ded, d);
    kh_milli_format2(bon, b);
    kh_milli_format2(pen, p);
    int n = snprintf(buf, cap, "%s%s", ded > 0 ? "-" : "", d);
    if (bon > 0 && n >= 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, " +%s", b);
    if (pen > 0 && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, " 待扣%s", p);
    return buf;
}

#define STATION_COLS 11

int kh_render_station_table(FILE *out, const json_t *doc)
{
    const json_t *sections = json_object_get(doc, "sections");
    if (!json_is_object(doc) || !json_is_array(sections))
        return KH_EINVAL;
    static const col_t cols[STATION_COLS] = {
        {"条目", 0, false},     {"项目", 14, false},     {"内容", 18, false},
        {"标准", 24, false},    {"分值", 12, false},     {"方法", 14, false},
        {"考核周期", 8, false}, {"数据来源", 12, false}, {"自评分", 0, true},
        {"考核得分", 0, false}, {"备注", 12, false},
    };
    table_t t;
    table_init(&t, cols, STATION_COLS);

    size_t i;
    const json_t *sec;
    json_array_foreach(sections, i, sec)
    {
        char max[32], score[32], ded[32], line[512];
        const char *id = get_str(sec, "id");
        const char *num = section_numeral(id);
        int n = snprintf(line, sizeof line, "%s%s%s  满分 %s  得分 %s", num ? num : id,
                         *id ? "、" : "", get_str(sec, "title"),
                         amount_str(json_object_get(sec, "max"), max),
                         amount_str(json_object_get(sec, "score"), score));
        if (json_object_get(sec, "deducted") && n >= 0 && (size_t)n < sizeof line)
            snprintf(line + n, sizeof line - (size_t)n, "  扣分 %s",
                     amount_str(json_object_get(sec, "deducted"), ded));
        table_span(&t, line);

        /* Consecutive items of one project print it once, as the paper
         * standard merges the cell. */
        const char *prev_project = NULL;
        size_t k;
        const json_t *item;
        const json_t *items = json_object_get(sec, "items");
        json_array_foreach(items, k, item)
        {
            char self[32], result[128];
            const char *project = get_str(item, "project");
            bool same = prev_project && *project && strcmp(prev_project, project) == 0;
            prev_project = project;
            const char *vals[STATION_COLS] = {
                get_str(item, "id"),
                same ? "" : project,
                get_str(item, "content"),
                get_str(item, "standard"),
                get_str(item, "value"),
                get_str(item, "method"),
                get_str(item, "cycle"),
                get_str(item, "source"),
                amount_str(json_object_get(item, "self_score"), self),
                kh_render_item_result(item, result, sizeof result),
                get_str(item, "remark"),
            };
            table_row(&t, vals);
        }
    }

    char year[24], total[32], bonus[32], pending[32];
    const char *name = get_str(doc, "name");
    int rc = KH_OK;
    if (fprintf(out, "%s%s%s%s  %s 年度  总分 %s  加分 %s  待扣 %s\n", name,
                *name ? " (" : "", get_str(doc, "station"), *name ? ")" : "",
                int_str(doc, "year", year),
                amount_str(json_object_get(doc, "total"), total),
                amount_str(json_object_get(doc, "bonus"), bonus),
                amount_str(json_object_get(doc, "pending"), pending)) < 0)
        rc = KH_EIO;
    if (rc == KH_OK)
        rc = table_print(out, &t);
    table_free(&t);
    return done(out, rc);
}

/* The string ids of a JSON array joined with ",", malloc'd ("" for a
 * missing array); NULL when out of memory. */
static char *join_ids(const json_t *ids)
{
    size_t cap = 1, k;
    const json_t *id;
    json_array_foreach(ids, k, id)
    {
        const char *s = json_string_value(id);
        cap += s ? strlen(s) + 1 : 0;
    }
    char *joined = malloc(cap);
    if (!joined)
        return NULL;
    size_t o = 0;
    joined[0] = '\0';
    json_array_foreach(ids, k, id)
    {
        const char *s = json_string_value(id);
        if (!s)
            continue;
        size_t len = strlen(s);
        if (o > 0)
            joined[o++] = ',';
        memcpy(joined + o, s, len + 1);
        o += len;
    }
    return joined;
}

#define EXPLAIN_COLS 5

int kh_render_explain_table(FILE *out, const json_t *doc)
{
    const json_t *entries = json_object_get(doc, "entries");
    if (!json_is_object(doc) || !json_is_array(entries))
        return KH_EINVAL;
    static const col_t cols[EXPLAIN_COLS] = {
        {"分值", 0, true},   {"期间", 0, false},  {"状态", 0, false},
        {"说明", 60, false}, {"事件", 40, false},
    };
    table_t t;
    table_init(&t, cols, EXPLAIN_COLS);

    kh_milli_t final_sum = 0, pending_sum = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(entries, i, e)
    {
        char pts[40];
        kh_milli_t p = get_milli(e, "points");
        bool pending = json_is_true(json_object_get(e, "pending"));
        if (pending)
            pending_sum += p;
        else
            final_sum += p;

        /* The ids behind the entry, comma-separated; the cell cap cuts a
         * long list with "…". */
        char *joined = join_ids(json_object_get(e, "events"));
        if (!joined) {
            t.oom = true;
            break;
        }
        const char *vals[EXPLAIN_COLS] = {
            signed_str(p, pts),
            get_str(e, "period"),
            pending ? "待扣" : "已计",
            get_str(e, "why"),
            joined,
        };
        table_row(&t, vals);
        free(joined);
    }

    char year[24], ded[32], bon[32], pen[32];
    const char *name = get_str(doc, "name");
    const char *content = get_str(doc, "content");
    char content_fit[256];
    kh_display_fit(content, 60, content_fit, sizeof content_fit);
    int rc = KH_OK;
    if (fprintf(out, "%s%s%s%s  %s 年度  条目 %s%s%s\n", name, *name ? " (" : "",
                get_str(doc, "station"), *name ? ")" : "", int_str(doc, "year", year),
                get_str(doc, "item"), *content ? "  " : "", content_fit) < 0)
        rc = KH_EIO;
    if (rc == KH_OK && json_object_get(doc, "deducted") &&
        fprintf(out, "扣分 %s  加分 %s  待扣 %s\n",
                amount_str(json_object_get(doc, "deducted"), ded),
                amount_str(json_object_get(doc, "bonus"), bon),
                amount_str(json_object_get(doc, "pending"), pen)) < 0)
        rc = KH_EIO;
    if (rc == KH_OK && json_array_size(entries) == 0) {
        if (t.oom)
            rc = KH_ENOMEM;
        else if (fputs("没有扣分、加分或待扣。\n", out) == EOF)
            rc = KH_EIO;
    } else if (rc == KH_OK) {
        rc = table_print(out, &t);
        char f[40], pd[40];
        if (rc == KH_OK &&
            fprintf(out, "合计  已计 %s  待扣 %s\n", signed_str(final_sum, f),
                    signed_str(pending_sum, pd)) < 0)
            rc = KH_EIO;
    }
    table_free(&t);
    return done(out, rc);
}

long kh_render_urban_place(const json_t *stations, const json_t *row)
{
    /* Ties share a place: 1 + the stations with more patrols. */
    json_int_t mine = json_integer_value(json_object_get(row, "patrols"));
    long place = 1;
    size_t j;
    const json_t *other;
    json_array_foreach(stations, j, other)
    {
        if (json_integer_value(json_object_get(other, "patrols")) > mine)
            place++;
    }
    return place;
}

#define URBAN_COLS 6

int kh_render_urban_table(FILE *out, const json_t *doc)
{
    const json_t *stations = json_object_get(doc, "stations");
    if (!json_is_object(doc) || !json_is_array(stations))
        return KH_EINVAL;
    static const col_t cols[URBAN_COLS] = {
        {"名次", 0, true},     {"代码", 0, false}, {"派出所", 20, false},
        {"巡逻次数", 0, true}, {"落后", 0, true},  {"扣分", 0, true},
    };
    table_t t;
    table_init(&t, cols, URBAN_COLS);

    size_t i;
    const json_t *row;
    json_array_foreach(stations, i, row)
    {
        char rank[24], patrols[24], behind[24], ded[32];
        snprintf(rank, sizeof rank, "%ld", kh_render_urban_place(stations, row));
        const char *vals[URBAN_COLS] = {
            rank,
            get_str(row, "station"),
            get_str(row, "name"),
            int_str(row, "patrols", patrols),
            int_str(row, "behind", behind),
            amount_str(json_object_get(row, "deducted"), ded),
        };
        table_row(&t, vals);
    }
    bool closed = json_is_true(json_object_get(doc, "closed"));
    int rc = KH_OK;
    if (fprintf(out, "%s 城区三所巡逻排位  %s\n", get_str(doc, "month"),
                closed ? "已关闭" : "未关闭（扣分在本月关闭后计入）") < 0)
        rc = KH_EIO;
    if (rc == KH_OK)
        rc = table_print(out, &t);
    table_free(&t);
    return done(out, rc);
}
