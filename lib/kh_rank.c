/*
 * kh_rank.c - the ranking of scorecards (kaohe rank).
 *
 * Rows are ordered by total descending, then by station code; a row's rank
 * is one more than the number of rows with a strictly higher total, so
 * ties share a rank and the next rank skips (1, 2, 2, 4). Totals are exact
 * milli-points, so "equal" is exact. The sort is an in-place heapsort:
 * O(n log n) for a province's worth of stations and no allocation.
 */
#include "kh_rank.h"

#include <string.h>

static const char *code_of(const kh_county_t *county, const kh_scorecard_t *c)
{
    if (!c || !county || c->station < 0 || (size_t)c->station >= county->nstations)
        return "";
    return county->stations[c->station].code;
}

/* True when row a goes before row b. A missing card goes last. */
static bool before(const kh_county_t *county, const kh_rank_row_t *a,
                   const kh_rank_row_t *b)
{
    if (!a->card || !b->card)
        return a->card && !b->card;
    if (a->card->total != b->card->total)
        return a->card->total > b->card->total;
    int r = strcmp(code_of(county, a->card), code_of(county, b->card));
    if (r)
        return r < 0;
    return a->card->station < b->card->station;
}

static void sift_down(const kh_county_t *county, kh_rank_row_t *rows, size_t root,
                      size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        /* a max-heap in "goes after" order, so the sorted array ascends in
         * "goes before" order */
        if (child + 1 < n && before(county, &rows[child], &rows[child + 1]))
            child++;
        if (!before(county, &rows[root], &rows[child]))
            return;
        kh_rank_row_t t = rows[root];
        rows[root] = rows[child];
        rows[child] = t;
        root = child;
    }
}

void kh_rank_cards(const kh_county_t *county, const kh_scorecard_t *const *cards,
                   size_t n, kh_rank_row_t *rows)
{
    if (!rows || (n && !cards))
        return;
    for (size_t i = 0; i < n; i++) {
        rows[i].card = cards[i];
        rows[i].rank = 0;
    }
    for (size_t i = n / 2; i-- > 0;)
        sift_down(county, rows, i, n);
    for (size_t end = n; end > 1; end--) {
        kh_rank_row_t t = rows[0];
        rows[0] = rows[end - 1];
        rows[end - 1] = t;
        sift_down(county, rows, 0, end - 1);
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && rows[i].card && rows[i - 1].card &&
            rows[i].card->total == rows[i - 1].card->total)
            rows[i].rank = rows[i - 1].rank;
        else
            rows[i].rank = (int)i + 1;
    }
}
