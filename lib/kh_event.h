/*
 * kh_event.h - the event of SPEC section 5 as a plain C struct, its JSON
 * Lines form, and its validation.
 *
 * One flat struct serves every type: the common fields, then the fields of
 * each type (unused ones stay zero). Identifiers live in fixed buffers;
 * the two free texts (a place's name, any note) are heap strings owned by
 * the event and freed by kh_event_clear().
 *
 * Validation happens in two steps so that the first applicable reason in
 * SPEC order is the one given (too_large, malformed, unknown_type,
 * forbidden, unknown_station, bad_time, out_of_range, conflict):
 *   1. kh_event_parse_json() decides too_large, malformed and unknown_type,
 *      and notes (without returning them) a bad time and any value outside
 *      its set that can be judged without the county;
 *   2. kh_event_check() decides forbidden, unknown_station, bad_time and
 *      out_of_range with the county, the rule catalog, the sender and now.
 * conflict and duplicate are the scorer's, which alone sees earlier events.
 */
#ifndef KH_EVENT_H
#define KH_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kh_points.h"
#include "kh_time.h"

#define KH_EVENT_MAX_BYTES 65536 /* a longer line is too_large */
#define KH_ID_MAX          64    /* ids: 1..64 bytes */
#define KH_CODE_MAX        32    /* station codes */
#define KH_ITEM_MAX        15    /* rule ids like "4.6.2" or "1.1.2a" */
#define KH_DEFECT_MAX      31    /* defect codes */

/* Each enum: X(C name, JSON name). Index 0.. in table order. */
/* clang-format off */
#define KH_SOURCE_MAP(X) \
    X(DISPATCH, "dispatch") \
    X(LEGAL, "legal") \
    X(STATION, "station") \
    X(ASSESSOR, "assessor")

#define KH_EVTYPE_MAP(X) \
    X(CALL, "call") \
    X(LEGAL_REVIEW, "legal_review") \
    X(PLACE, "place") \
    X(INSPECTION, "inspection") \
    X(OCCUPANCY, "occupancy") \
    X(PATROL, "patrol") \
    X(NOTICE, "notice") \
    X(EDUCATION, "education") \
    X(MEETING, "meeting") \
    X(TRAINING, "training") \
    X(CAMPAIGN, "campaign") \
    X(PATROL_PLAN, "patrol_plan") \
    X(RATE, "rate") \
    X(FINDING, "finding") \
    X(SELF_SCORE, "self_score")

/* Case kinds; the first seven are the five kinds of 5.2.3. */
#define KH_CASE_KIND_MAP(X) \
    X(PUBLIC_FACILITY_THEFT, "public_facility_theft") \
    X(PICKPOCKET, "pickpocket") \
    X(ROBBERY, "robbery") \
    X(SNATCHING, "snatching") \
    X(MOTORCYCLE_THEFT, "motorcycle_theft") \
    X(EBIKE_THEFT, "ebike_theft") \
    X(CAR_THEFT, "car_theft") \
    X(BURGLARY, "burglary") \
    X(OTHER, "other")

#define KH_LOCATION_MAP(X) \
    X(STREET, "street") \
    X(SHOP, "shop") \
    X(MARKET, "market") \
    X(CLOSED_COMMUNITY, "closed_community") \
    X(UNIT_INTERIOR, "unit_interior") \
    X(OTHER, "other")

#define KH_OUTCOME_MAP(X) \
    X(CAUGHT_IN_ACT, "caught_in_act") \
    X(SUSPECTS_ARRESTED, "suspects_arrested") \
    X(REVOKED, "revoked")

#define KH_CATEGORY_MAP(X) \
    X(SPECIAL_INDUSTRY, "special_industry") \
    X(HOTEL, "hotel") \
    X(FILING_INDUSTRY, "filing_industry") \
    X(KEY_INDUSTRY, "key_industry") \
    X(ENTERTAINMENT, "entertainment") \
    X(DANGEROUS_GOODS, "dangerous_goods") \
    X(INTERNAL_UNIT, "internal_unit") \
    X(CLOSED_COMMUNITY, "closed_community")

#define KH_INSPECTION_KIND_MAP(X) \
    X(SAFETY, "safety") \
    X(ONSITE, "onsite")

#define KH_PATROL_KIND_MAP(X) \
    X(RESIDENT, "resident") \
    X(TEAM, "team") \
    X(PREVENTION, "prevention")

#define KH_METRIC_MAP(X) \
    X(HOTEL_SYSTEM_COVERAGE, "hotel_system_coverage") \
    X(COMMUNITY_INSTALL_RATE, "community_install_rate") \
    X(UNIT_INSTALL_RATE, "unit_install_rate")
/* clang-format on */

#define KH__ENUM_ITEM(prefix, c, s) prefix##c,
#define KH_DECLARE_ENUM(tname, prefix, MAP)                                              \
    typedef enum { MAP(KH__ENUM_X_##prefix) prefix##_COUNT } tname

#define KH__ENUM_X_KH_SRC(c, s)    KH_SRC_##c,
#define KH__ENUM_X_KH_EV(c, s)     KH_EV_##c,
#define KH__ENUM_X_KH_CASE(c, s)   KH_CASE_##c,
#define KH__ENUM_X_KH_LOC(c, s)    KH_LOC_##c,
#define KH__ENUM_X_KH_OUT(c, s)    KH_OUT_##c,
#define KH__ENUM_X_KH_CAT(c, s)    KH_CAT_##c,
#define KH__ENUM_X_KH_INSP(c, s)   KH_INSP_##c,
#define KH__ENUM_X_KH_PATROL(c, s) KH_PATROL_##c,
#define KH__ENUM_X_KH_METRIC(c, s) KH_METRIC_##c,

KH_DECLARE_ENUM(kh_source_t, KH_SRC, KH_SOURCE_MAP);
KH_DECLARE_ENUM(kh_evtype_t, KH_EV, KH_EVTYPE_MAP);
KH_DECLARE_ENUM(kh_case_kind_t, KH_CASE, KH_CASE_KIND_MAP);
KH_DECLARE_ENUM(kh_location_t, KH_LOC, KH_LOCATION_MAP);
KH_DECLARE_ENUM(kh_outcome_t, KH_OUT, KH_OUTCOME_MAP);
KH_DECLARE_ENUM(kh_category_t, KH_CAT, KH_CATEGORY_MAP);
KH_DECLARE_ENUM(kh_inspection_kind_t, KH_INSP, KH_INSPECTION_KIND_MAP);
KH_DECLARE_ENUM(kh_patrol_kind_t, KH_PATROL, KH_PATROL_KIND_MAP);
KH_DECLARE_ENUM(kh_metric_t, KH_METRIC, KH_METRIC_MAP);

/* Names of enum values ("dispatch", "call", ...); NULL when out of range. */
const char *kh_source_name(int v);
const char *kh_evtype_name(int v);
const char *kh_case_kind_name(int v);
const char *kh_location_name(int v);
const char *kh_outcome_name(int v);
const char *kh_category_name(int v);
const char *kh_inspection_kind_name(int v);
const char *kh_patrol_kind_name(int v);
const char *kh_metric_name(int v);
/* Name to value; -1 when unknown. */
int kh_source_parse(const char *s);
int kh_evtype_parse(const char *s);
int kh_case_kind_parse(const char *s);
int kh_location_parse(const char *s);
int kh_outcome_parse(const char *s);
int kh_category_parse(const char *s);
int kh_inspection_kind_parse(const char *s);
int kh_patrol_kind_parse(const char *s);
int kh_metric_parse(const char *s);

/* The source allowed to send each type (call: dispatch, ...). */
kh_source_t kh_evtype_source(kh_evtype_t type);

typedef struct kh_event {
    /* common */
    kh_source_t source;
    kh_evtype_t type;
    char id[KH_ID_MAX + 1];
    char station[KH_CODE_MAX + 1];
    kh_usec_t time;
    char *note; /* owned, NULL when absent */

    /* call, legal_review */
    char case_id[KH_ID_MAX + 1];
    kh_case_kind_t case_kind;
    kh_location_t location;
    int64_t rev; /* default 0 */
    bool void_;  /* call: true withdraws the case */
    kh_outcome_t outcome;
    int32_t suspects;

    /* place, inspection, occupancy, finding */
    char place_id[KH_ID_MAX + 1];
    kh_category_t category;
    char *name; /* place name, owned */
    kh_day_t opened;
    kh_day_t closed; /* KH_DAY_NONE when open */
    kh_inspection_kind_t inspection_kind;
    bool in_platform;
    kh_period_t month; /* occupancy: the month it reports */
    kh_milli_t rate;   /* occupancy rate and rate value, in milli-units */

    /* patrol, education, campaign, notice */
    char patrol_id[KH_ID_MAX + 1];
    kh_patrol_kind_t patrol_kind;
    bool has_record;
    bool has_images;
    bool posted;

    /* patrol_plan */
    kh_period_t quarter;
    bool zones, routes, focal_points, time_slots, forces;

    /* rate */
    kh_metric_t metric; /* value in .rate */

    /* finding, self_score */
    char item[KH_ITEM_MAX + 1];
    char defect[KH_DEFECT_MAX + 1];
    int32_t count;     /* finding: default 1 */
    kh_milli_t points; /* finding: ranged points; self_score: points */
    bool has_points;   /* finding: "points" was given */

    /* deferred by the parser for kh_event_check(): see the file comment */
    int deferred_time_err;  /* KH_OK or KH_EBAD_TIME */
    int deferred_range_err; /* KH_OK or KH_EOUT_OF_RANGE */
} kh_event_t;

/* Zeroes an event (closed = KH_DAY_NONE, count = 1). */
void kh_event_init(kh_event_t *ev);
/* Frees owned strings and re-initialises. Accepts an initialised event. */
void kh_event_clear(kh_event_t *ev);
/* Deep copy; dst must be initialised (it is cleared first). */
int kh_event_copy(kh_event_t *dst, const kh_event_t *src);
/* True when two events have the same content, field by field (owned
 * strings compared by value; the deferred errors included). */
bool kh_event_equal(const kh_event_t *a, const kh_event_t *b);

/*
 * Parses one JSON Lines line (without its newline; len bytes, need not be
 * NUL-terminated). ev must be initialised; on any return it holds whatever
 * could be read (at least the id when present, for reporting), so the
 * caller clears it. Returns KH_OK, KH_ETOO_LARGE, KH_EMALFORMED or
 * KH_EUNKNOWN_TYPE. Unknown fields are ignored.
 */
int kh_event_parse_json(const char *line, size_t len, kh_event_t *ev);

struct kh_county;
struct kh_catalog;

/*
 * The checks that need context, in SPEC order: forbidden (when sender is
 * not NULL: the identity "dispatch", "legal", "assessor" or "station-CODE"
 * may send only its own types, a station only for itself; when sender is
 * NULL the event's source must still be the one its type belongs to),
 * unknown_station, bad_time (deferred, or more than 24 h after now),
 * out_of_range (deferred, or item/defect/points against the catalog).
 * Returns KH_OK or that code.
 */
int kh_event_check(const kh_event_t *ev, const struct kh_county *county,
                   const struct kh_catalog *catalog, const char *sender, kh_usec_t now);

/* The event as a JSON object in the SPEC's interchange form; a new
 * reference, NULL on allocation failure. (json_t from jansson.) */
struct json_t;
struct json_t *kh_event_to_json(const kh_event_t *ev);

#endif
