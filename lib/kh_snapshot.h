/*
 * kh_snapshot.h - month-end snapshots as documents: canonical form, hash
 * chain, content comparison and revision diffs. Pure: JSON in, JSON out.
 *
 * A snapshot document (SPEC section 7, `kaohe snapshot show`):
 *   {"month","rev","hash","prev_hash","published_at","published_by",
 *    "county","year","rank":{...as rank...},"stations":[{...as station...}],
 *    "monthly":{"CODE":[{"month","total"}...]},"changes":[...]}
 * Its content is rank, stations and monthly: what the scores say. Two
 * publications of a month with equal content are the same revision.
 *
 * The canonical form is the compact JSON with keys sorted and amounts
 * printed with at most 15 significant digits (exact for milli-points).
 * hash = SHA-256 of the canonical form of the document without "hash", in
 * lower-case hex; it covers prev_hash, so every snapshot seals the whole
 * chain before it.
 */
#ifndef KH_SNAPSHOT_H
#define KH_SNAPSHOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define KH_SNAPSHOT_HASH_HEX 65 /* 64 hex digits and a NUL */

/* The canonical text of a document (malloc'd), NULL on allocation
 * failure. */
char *kh_snapshot_canonical(const json_t *doc);
/* The hash of a document, ignoring any "hash" key in it. KH_OK or
 * KH_ENOMEM. */
int kh_snapshot_hash(const json_t *doc, char hex[KH_SNAPSHOT_HASH_HEX]);
/* True when two documents have equal content (rank, stations, monthly). */
bool kh_snapshot_same_content(const json_t *a, const json_t *b);
/*
 * What changed from one revision to another: an array of
 * {"station","item","field","old","new","events"} (item null for the
 * station's total), events being the ids behind the item that one
 * revision has and the other lacks. A new reference, NULL on allocation
 * failure.
 */
json_t *kh_snapshot_diff(const json_t *older, const json_t *newer);
/*
 * Checks one stored document: its hash recomputed, and its prev_hash
 * equal to expect_prev (NULL: the first publication, prev_hash null).
 * Returns true when intact; otherwise writes the reason into why.
 */
bool kh_snapshot_verify_doc(const json_t *doc, const char *expect_prev, char *why,
                            size_t cap);

#endif
