/*
 * kh_render.h - kaohe's output: the JSON documents of SPEC section 7 built
 * from the engine's structs, and the readable tables rendered from them.
 *
 * The two halves meet only in the JSON. The ranker builds a document with
 * kh_render_*_json() and sends its text (kh_render_dumps); the CLI parses
 * that text and prints it as is (--json) or as a table
 * (kh_render_*_table). A table therefore never sees a kh_scorecard_t, and
 * what a table shows is exactly what --json would have printed.
 *
 * Amounts are milli-points inside kaohe (kh_points.h). In JSON they are
 * numbers, json_real(v / 1000), which kh_render_dumps prints with 15
 * significant digits: 42.9 prints as 42.9, zero as 0.0. In tables they are
 * printed with two decimals ("38.60") by integer arithmetic after reading
 * the JSON number back to milli-points.
 *
 * Chinese text is aligned by display width (kh_display_width): a CJK
 * character takes two terminal columns, a combining mark none.
 */
#ifndef KH_RENDER_H
#define KH_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_points.h"
#include "kh_rank.h"
#include "kh_score.h"

/* The jansson flags of every document kaohe prints: one line, keys in
 * insertion order, reals with 15 significant digits. */
#define KH_RENDER_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* --- JSON documents (SPEC section 7) ---------------------------------
 *
 * Each builder returns a new reference (the caller json_decref()s it), or
 * NULL when out of memory or when an index in its input is outside the
 * county or the catalog. Inputs are borrowed. Keys come in the order the
 * SPEC lists them, extra keys after; the SPEC allows extra keys.
 */

/* An amount as a JSON number: json_real(kh_milli_to_double(v)). */
json_t *kh_render_amount(kh_milli_t v);

/*
 * kaohe rank:
 *   {"year", "stations": [{"rank", "station", "name", "total", "bonus",
 *    "pending", "sections": {"1": score, "4": ..., "5": ...}}],
 *    "sections": [{"id", "title", "max"}]}
 * rows as kh_rank_cards() filled them (already in rank order). The extra
 * top-level "sections" names the section columns for the table.
 */
json_t *kh_render_rank_json(const kh_county_t *county, const kh_catalog_t *catalog,
                            int year, const kh_rank_row_t *rows, size_t n);

/*
 * The same document as text, exactly kh_render_dumps(kh_render_rank_json
 * (...)), made without building it: a province's ranking has 18,000
 * amounts, and jansson prints each real with printf("%.15g"), which was
 * most of a live `rank` at 3,000 stations (issue 7). What never changes
 * for a county (each station's code and name, the section keys and the
 * "sections" array) is rendered once, by jansson, into a kh_rank_text_t;
 * the amounts are printed from their milli-points with integer arithmetic.
 * NULL where kh_render_rank_json would fail, or out of memory.
 */
typedef struct kh_rank_text kh_rank_text_t;
kh_rank_text_t *kh_render_rank_text_new(const kh_county_t *county,
                                        const kh_catalog_t *catalog);
void kh_render_rank_text_free(kh_rank_text_t **self_p);
char *kh_render_rank_text(const kh_rank_text_t *t, int year, const kh_rank_row_t *rows,
                          size_t n);
/* An amount as kh_render_dumps prints kh_render_amount(v) (out: 32 bytes). */
void kh_render_amount_text(kh_milli_t v, char *out);

/*
 * kaohe station:
 *   {"station", "name", "year", "total", "bonus", "pending",
 *    "sections": [{"id", "title", "max", "score", "deducted",
 *      "items": [{"id", "deducted", "bonus", "pending", "self_score",
 *                 "project", "content", "standard", "value", "method",
 *                 "cycle", "source", "remark"}]}]}
 * self_score is null when the station sent none; a catalog column the
 * catalog leaves empty is null. Items appear under their own section in
 * the card's (catalog) order.
 */
json_t *kh_render_station_json(const kh_county_t *county, const kh_catalog_t *catalog,
                               const kh_scorecard_t *card);

/*
 * kaohe explain, for the item at catalog index `item`:
 *   {"station", "item", "year", "entries": [{"points", "period",
 *    "pending", "events": [ids], "why"}],
 *    "name", "content", "deducted", "bonus", "pending"}
 * points signed (a deduction negative). The item's totals come along so
 * that a reader can see the entries add up without the station document.
 */
json_t *kh_render_explain_json(const kh_county_t *county, const kh_catalog_t *catalog,
                               const kh_scorecard_t *card, size_t item);

/*
 * kaohe urban --month M:
 *   {"month", "closed", "stations": [{"station", "name", "patrols",
 *    "behind", "deducted"}]}
 * rows as kh_score_urban_month() wrote them (patrols descending).
 */
/* The place of a row among the rows of an urban --json document's
 * "stations": 1 + the stations with more patrols (ties share a place). */
long kh_render_urban_place(const json_t *stations, const json_t *row);
json_t *kh_render_urban_json(const kh_county_t *county, const char *month, bool closed,
                             const kh_urban_row_t *rows, size_t n);

/* The document as one line of text with KH_RENDER_JSON_FLAGS, malloc'd
 * (the caller frees it); NULL on allocation failure or a NULL doc. */
char *kh_render_dumps(const json_t *doc);

/* --- tables ------------------------------------------------------------
 *
 * Each prints one of the documents above as a readable table on out.
 * Missing or mistyped keys inside the document print as empty cells (a
 * newer ranker may send more, an older one less); a document that is not
 * the right shape at the top (not an object, no "stations"/"sections"/
 * "entries" array) is KH_EINVAL and prints nothing. KH_EIO when writing
 * fails, KH_ENOMEM, else KH_OK.
 */

/* 名次 代码 派出所 总分 加分 待扣, then one column per section. */
int kh_render_rank_table(FILE *out, const json_t *doc);
/* The scorecard in the standard's own columns: 条目 项目 内容 标准 分值
 * 方法 考核周期 数据来源 自评分 考核得分 备注, one block per section.
 * 考核得分 is the computed result ("-0.10 +3.00 待扣0.20"); long texts are
 * cut with "…" to keep rows on one line. */
int kh_render_station_table(FILE *out, const json_t *doc);
/* One row per entry: 分值 期间 状态 说明 事件, then the sums. */
int kh_render_explain_table(FILE *out, const json_t *doc);
/* 名次 代码 派出所 巡逻次数 落后 扣分 for the 城区三所 of one month. */
int kh_render_urban_table(FILE *out, const json_t *doc);

/* --- display width -------------------------------------------------------
 *
 * Terminal columns of UTF-8 text: East Asian Wide and Fullwidth characters
 * (U+1100-115F, U+2E80-A4CF, U+AC00-D7A3, U+F900-FAFF, U+FE30-FE4F,
 * U+FF00-FF60, U+FFE0-FFE6, U+20000-3FFFD) take 2, combining marks and
 * zero-width characters 0, C0/C1 controls 0, everything else 1. Each byte
 * of an invalid or truncated UTF-8 sequence counts 1, so any byte string
 * has a width.
 */

/* Decodes one UTF-8 sequence at s (len > 0 bytes available): the number
 * of bytes it takes and its code point in *cp, or 0 when the bytes do not
 * start a valid, shortest-form, non-surrogate sequence. */
size_t kh_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);
/* Columns of one code point (0, 1 or 2). */
int kh_display_cp_width(uint32_t cp);
/* Columns of a NUL-terminated string; NULL is 0. */
size_t kh_display_width(const char *utf8);
/* Columns of the first len bytes of s. */
size_t kh_display_width_n(const char *s, size_t len);

/*
 * Copies s into buf (cap bytes, cap >= 4) cut to at most `width` columns:
 * when s is wider, the longest prefix of whole characters that leaves room
 * for "…" (one column), then "…". Never splits a UTF-8 sequence; a prefix
 * that would not fit in cap bytes is cut further. Returns the width of
 * what was written.
 */
size_t kh_display_fit(const char *s, size_t width, char *buf, size_t cap);

/* Writes s padded with spaces to `width` columns, on the left when
 * right_align (numbers), else on the right. s wider than width is written
 * whole (the caller fits it first). Returns 0, or -1 on a write error. */
int kh_display_pad(FILE *out, const char *s, size_t width, bool right_align);

/* 考核得分 of a station document's item as the tables print it:
 * "-0.10 +3.00 待扣0.20" (deducted, then bonus and pending when non-zero).
 * Writes into buf (cap bytes) and returns it. */
const char *kh_render_item_result(const json_t *item, char *buf, size_t cap);

#endif
