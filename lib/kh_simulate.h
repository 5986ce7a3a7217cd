/*
 * kh_simulate.h - a seeded, deterministic generator of a realistic
 * county's (or province's) event stream, as JSON Lines (kaohe simulate).
 *
 * The same options give the same bytes on every host: the generator has
 * its own PRNG (xoshiro256** seeded through splitmix64), no clock, no libc
 * randomness, and writes every number with integer arithmetic.
 *
 * What it writes (SPEC section 5, field names as tests/data/example):
 *   - a county.json (kh_simulate_write_county) whose stations the events
 *     speak for;
 *   - the events (kh_simulate_write_events), in roughly time order, of
 *     every type at the rates a county bureau sees per station and month:
 *     patrols of the three kinds (a few without record, a few re-reported
 *     with the same patrol_id), notices (some not posted), education (some
 *     without images or record), meetings most months, a yearly training,
 *     campaigns, quarterly patrol plans (some incomplete, some late),
 *     places of every category (hotels, special and filing industries,
 *     ...; a few opening or closing during the year) with monthly or
 *     quarterly inspections (a few missed, a few not in the platform),
 *     hotel occupancy (some below 10%, mostly then checked on site), rates,
 *     assessor findings cycling through every item and defect of the
 *     shipped standard (ranged points inside their range), self-scores,
 *     calls of every case kind and location, legal reviews (caught in the
 *     act, suspects arrested, a few revoked later), call revisions (rev 1
 *     changing the location, the kind or, rarely, the station) and voids,
 *     legal reviews that arrive before their call, exact duplicate lines
 *     (resends), and times near local midnight written in UTC.
 * Every line is valid and accepted by the services except the intentional
 * duplicates, which are `duplicate`. Times are RFC 3339, mostly "+08:00"
 * (the county is Asia/Shanghai), some "Z". Ids are unique per source.
 */
#ifndef KH_SIMULATE_H
#define KH_SIMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kh_event.h"
#include "kh_time.h"

#define KH_SIMULATE_MAX_STATIONS 99999

typedef struct kh_simulate_opts {
    uint64_t seed;
    /* 0: the built-in county of 12 stations (3 of them urban, classes
     * mixed, codes like "CG"); N: a province of N stations with codes
     * S0001..SNNNN, the first three urban (kaohe ranks one set of 城区三所
     * per configuration). */
    size_t stations;
    int year;        /* 1971..9998 */
    int first_month; /* 1..12 */
    int last_month;  /* first_month..12 */
    /* Multiplies the rates of the counted activities (patrols, notices,
     * education, calls, findings); obligations fixed per place or period
     * (inspections, occupancy, meetings, plans, rates) keep theirs.
     * 1.0 is a realistic county; > 0, at most 100. */
    double scale;
    /* Events whose time is after this instant are left out (0: none), so
     * that a stream of the current year never runs into the future. */
    kh_usec_t until;
    /* policy.auto_close of the written county.json. */
    bool auto_close;
} kh_simulate_opts_t;

/* Counts of what kh_simulate_write_events() wrote. */
typedef struct kh_simulate_stats {
    uint64_t lines;                /* every line, duplicates included */
    uint64_t duplicates;           /* exact resends of an earlier line */
    uint64_t by_type[KH_EV_COUNT]; /* lines of each type, duplicates too */
} kh_simulate_stats_t;

typedef struct kh_sim kh_sim_t;

/* Defaults: seed 1, the 12-station county, year 2024, months 1-12, scale
 * 1.0, no cut, auto_close false (as the shared example county). */
void kh_simulate_opts_init(kh_simulate_opts_t *o);

/*
 * Builds the county (stations, their places and yearly choices) from the
 * options, which are copied. KH_OK, KH_EINVAL for options outside the
 * ranges above, KH_ENOMEM.
 */
int kh_simulate_open(kh_sim_t **out, const kh_simulate_opts_t *o);
void kh_simulate_close(kh_sim_t **self_p);

/* Number of stations and the code of station i (borrowed), for callers
 * that need to name them (a key per station). */
size_t kh_simulate_nstations(const kh_sim_t *sim);
const char *kh_simulate_station_code(const kh_sim_t *sim, size_t i);

/* Writes the county.json (SPEC section 6) the events belong to.
 * KH_OK or KH_EIO. */
int kh_simulate_write_county(kh_sim_t *sim, FILE *out);

/*
 * Writes the event stream, one JSON object per line. May be called again
 * and writes the same bytes (the generator restarts from the seed).
 * stats may be NULL. KH_OK, KH_EIO on a write error, KH_ENOMEM.
 * Memory: one month of the stream is held to sort it (about 60 MB for a
 * province of 3000 stations; a second for the 1.1 million lines).
 */
int kh_simulate_write_events(kh_sim_t *sim, FILE *out, kh_simulate_stats_t *stats);

#endif
