/*
 * kh_score.h - the pure scoring engine: a station's year from its events.
 *
 * The score is a pure function of the set of accepted events and the set
 * of closed periods (SPEC section 3). kh_score_station() takes every
 * accepted event that can bear on one station and does everything else
 * itself: picks the winners where several events describe one thing
 * (latest place, highest-rev call, one count per patrol_id, ...), buckets
 * them into periods in the county's zone, evaluates every rule of the
 * catalog, and returns a scorecard whose explain entries add up to it.
 * Nothing here knows of sockets or storage; arrival order is irrelevant
 * because every choice is by a total order on (rev,) time, then id.
 *
 * What "every event that can bear on a station" means (the caller's job;
 * extra events are harmless, they are filtered here):
 *   - every event whose own `station` is the station, of any year;
 *   - every call and legal_review of every case_id that any call of the
 *     station names (a case's highest-rev call supplies its station, so a
 *     revision may move a case in or out).
 *
 * Periods: a period is closed when its last day <= closed_through. An open
 * period that has begun (its first day <= today) contributes its
 * shortfall to `pending`; an open period not yet begun contributes nothing.
 * With an as_of cut, only effects dated on or before as_of count (a legal
 * review takes its case's call date, an occupancy its month's first day,
 * a patrol plan its quarter's first day), and today is min(today, as_of);
 * closed_through is cut to as_of as well (as of a date, no later period
 * had been closed). Events after the cut are dropped before the winners
 * are picked: a patrol re-reported after as_of keeps its earlier report.
 *
 * Explain entries (kh_entry_t): one per deduction, bonus and pending
 * shortfall. Its events are the ids behind it: for a case, the call for
 * its deduction, the review for a suspects bonus, both for a caught-in-
 * the-act bonus (which stands for the waived deduction); a finding's id;
 * for a shortfall, the counted events found in that period (for a place
 * rule the place's winning event first, for an occupancy check the place
 * and the occupancy, for a rate the rate, for a plan the plan). Its
 * period is kh_period_format() of the rule's period, the call's month for
 * a case, the year for a finding.
 */
#ifndef KH_SCORE_H
#define KH_SCORE_H

#include <stdbool.h>
#include <stddef.h>

#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_event.h"
#include "kh_points.h"
#include "kh_time.h"

/* 5.2.2 (城区三所排位): counted prevention patrols per month of each urban
 * station in the year, indexed like county->stations (non-urban rows 0). */
typedef struct kh_urban {
    int year;
    size_t nstations;
    int32_t (*counts)[12]; /* [nstations][12] */
    /* the event ids behind each count, for explain; may be NULL */
} kh_urban_t;

typedef struct kh_score_input {
    const kh_county_t *county;
    const kh_catalog_t *catalog;
    int station; /* index into county->stations */
    int year;    /* the assessment year (calendar year, county time) */
    const kh_event_t *const *events;
    size_t nevents;
    const kh_urban_t *urban; /* may be NULL for non-urban stations */
    kh_day_t closed_through; /* KH_DAY_NONE: nothing closed */
    kh_day_t today;          /* county civil date "now" */
    kh_day_t as_of;          /* KH_DAY_NONE: no cut */
} kh_score_input_t;

/* One line of `kaohe explain`: signed points (a deduction negative). */
typedef struct kh_entry {
    kh_milli_t points;
    bool pending;    /* a shortfall of an open period */
    char period[16]; /* kh_period_format(), or the call's month, ... */
    char **events;   /* ids behind it, owned */
    size_t nevents;
    char *why; /* a sentence (Chinese and English ok), owned; for a
                  shortfall it gives the required and found counts */
} kh_entry_t;

typedef struct kh_item_score {
    size_t item;         /* index into catalog->items */
    kh_milli_t deducted; /* positive */
    kh_milli_t bonus;    /* positive, before the yearly cap */
    kh_milli_t pending;  /* positive */
    bool has_self_score;
    kh_milli_t self_score;
    kh_entry_t *entries; /* owned, ordered by period (its last day, then
                            its first: a year after its months) then why */
    size_t nentries;
} kh_item_score_t;

typedef struct kh_section_score {
    size_t section; /* index into catalog->sections */
    kh_milli_t max;
    kh_milli_t deducted; /* sum of its items' deductions, uncapped */
    kh_milli_t score;    /* max(0, max - deducted) */
} kh_section_score_t;

typedef struct kh_scorecard {
    int station;
    int year;
    kh_milli_t total;             /* sum of section scores + bonus */
    kh_milli_t bonus;             /* sum of item bonuses, capped by policy bonus_cap */
    kh_milli_t pending;           /* sum of item pending, uncapped */
    kh_section_score_t *sections; /* catalog order */
    size_t nsections;
    kh_item_score_t *items; /* catalog order, one per item */
    size_t nitems;
} kh_scorecard_t;

/* Scores one station's year into *out (allocated; free with
 * kh_scorecard_free). KH_OK, KH_EINVAL or KH_ENOMEM. */
int kh_score_station(const kh_score_input_t *in, kh_scorecard_t **out);
void kh_scorecard_free(kh_scorecard_t **self_p);
/* Frees the explain entries of every item, keeping every figure: a card
 * kept for rankings and scorecards, which never show the entries. */
void kh_scorecard_strip(kh_scorecard_t *card);

/*
 * Counts one station's counted prevention patrols per month of a year
 * (5.2.1/5.2.2: one per patrol_id, dated by its latest report, counted
 * only with has_record), honouring the as_of cut. Same event set as
 * kh_score_station(). Writes counts[12].
 */
void kh_score_prevention_counts(const kh_score_input_t *in, int32_t counts[12]);

/* The 城区三所 ranking of one month (kaohe urban --month). */
typedef struct kh_urban_row {
    int station;
    int32_t patrols;
    int32_t behind;
    kh_milli_t deducted; /* 0.1 x behind (catalog), closed or not */
} kh_urban_row_t;

/* Rows for every urban station, by patrols descending then code.
 * rows must hold county->nstations. Returns the number written. */
size_t kh_score_urban_month(const kh_county_t *county, const kh_catalog_t *catalog,
                            const kh_urban_t *urban, int month /* 1-12 */,
                            kh_urban_row_t *rows);

#endif
