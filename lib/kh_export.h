/*
 * kh_export.h - a month-end snapshot written out as a file for people:
 * JSON, CSV, XLSX or a printable HTML page (SPEC section 7,
 * `kaohe snapshot export --format json|csv|xlsx|html`). Pure: a document
 * in, a file out; no sockets, no store.
 *
 * The input is a snapshot document (kh_snapshot.h):
 *   {"month","rev","hash","prev_hash","published_at",["published_by"],
 *    "county","year","rank":{...as kaohe rank --json...},
 *    "stations":[{...as kaohe station --json...}],
 *    "monthly":{"CODE":[{"month","total"}]},"changes":[...]}
 * Only "rank" (an object with a "stations" array) and "stations" (an
 * array) are required; any other key that is missing or of the wrong type
 * shows as an empty cell, as in the CLI's tables (kh_render.h).
 *
 * What each format holds:
 *   JSON  the document itself, indented by one space, keys in insertion
 *         order, reals with 15 significant digits.
 *   CSV   UTF-8 with a byte order mark (so that Excel reads the Chinese),
 *         RFC 4180 quoting, CRLF line ends. Blocks separated by one empty
 *         line: the publication (单位 年度 月份 版本 哈希 上一版哈希
 *         发布时间), the ranking (名次 代码 派出所 总分 加分 待扣 and one
 *         column per section title), one block per station in rank order
 *         (代码 派出所 年度 总分 加分 待扣 and its line, then 部分 条目 项目
 *         内容 标准 分值 方法 考核周期 数据来源 自评分 考核得分 扣分 加分 待扣
 *         备注 and one line per item), and, when the revision changed
 *         anything, the changes (代码 派出所 条目 字段 原值 新值 事件).
 *         A text cell that Excel would take for a formula (starting with
 *         = + - @) gets a leading apostrophe; number cells never do.
 *   XLSX  sheets "排名" (the ranking under a title naming county, month,
 *         revision and hash), one per station named by its code (made a
 *         valid, unique Excel sheet name: []:*?/\ become '_', cut to 31
 *         characters, a clash gets "~2"), "月度"
 *         (each station's total at each month end) and "变更" (the
 *         changes). Amounts are numbers formatted "0.00".
 *   HTML  one self-contained page (inline CSS, no external resources),
 *         printable: the publication, the ranking, the changes, then per
 *         station (each on a new printed page) its totals, an inline SVG
 *         chart of its monthly totals and its scorecard.
 * In CSV and XLSX 考核得分 is the item's net effect on the total, bonus
 * minus deducted; in HTML it is the CLI table's "-0.10 +3.00 待扣0.20".
 * Amounts are printed with two decimals from milli-points (kh_points.h),
 * never through floating-point formatting.
 *
 * The file appears whole or not at all: it is written to a temporary file
 * beside path (same directory, so the rename stays on one file system),
 * flushed to disk and renamed over path. On failure the temporary file is
 * removed and path is left as it was.
 */
#ifndef KH_EXPORT_H
#define KH_EXPORT_H

#include <jansson.h>
#include <stddef.h>

typedef enum {
    KH_EXPORT_JSON,
    KH_EXPORT_CSV,
    KH_EXPORT_XLSX,
    KH_EXPORT_HTML,
} kh_export_format_t;

/*
 * Parses a format name: "json", "csv", "xlsx" or "html", in any letter
 * case. KH_OK and *out set, or KH_EINVAL (*out untouched) for anything
 * else, NULL included.
 */
int kh_export_format_parse(const char *name, kh_export_format_t *out);

/* The format's name ("json", ...), "unknown" for a value outside the
 * enum. Static storage. */
const char *kh_export_format_name(kh_export_format_t fmt);

/*
 * Writes the snapshot document (borrowed) in format fmt to path,
 * atomically (see above). Returns KH_OK; KH_EINVAL when the document is
 * not a snapshot (not an object, no "rank" object with a "stations" array,
 * no "stations" array), fmt is unknown, or path is empty or ends in '/';
 * KH_EIO when the file cannot be created, written or renamed; KH_ENOMEM.
 * On failure err (errlen bytes, may be NULL/0) names the cause, e.g. the
 * path and strerror(errno); on success it is left as it was.
 */
int kh_export_write(const json_t *snapshot, kh_export_format_t fmt, const char *path,
                    char *err, size_t errlen);

#endif
