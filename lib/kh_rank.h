/*
 * kh_rank.h - ranking scorecards (SPEC section 7, kaohe rank).
 *
 * Ordered by total descending; ties share a rank (1, 2, 2, 4) and are
 * ordered by station code.
 */
#ifndef KH_RANK_H
#define KH_RANK_H

#include <stddef.h>

#include "kh_county.h"
#include "kh_score.h"

typedef struct kh_rank_row {
    const kh_scorecard_t *card; /* borrowed */
    int rank;                   /* 1-based */
} kh_rank_row_t;

/* Fills rows[0..n) from cards[0..n), ranked. Pure; no allocation. */
void kh_rank_cards(const kh_county_t *county, const kh_scorecard_t *const *cards,
                   size_t n, kh_rank_row_t *rows);

#endif
