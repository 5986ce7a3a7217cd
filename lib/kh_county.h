/*
 * kh_county.h - the county configuration, county.json (SPEC section 6).
 *
 * Loaded once at start by every service and the CLI. A bad file is refused
 * with a message that names the field ("stations[2].class: must be 1, 2
 * or 3"). The county owns its time zone (policy.timezone).
 */
#ifndef KH_COUNTY_H
#define KH_COUNTY_H

#include <stdbool.h>
#include <stddef.h>

#include "kh_event.h"
#include "kh_points.h"
#include "kh_time.h"

#define KH_NAME_MAX 255

typedef struct kh_station {
    char code[KH_CODE_MAX + 1]; /* [A-Za-z0-9_-], 1..32 bytes, unique */
    char name[KH_NAME_MAX + 1]; /* UTF-8 */
    int klass;                  /* 1 (一类所), 2 or 3 */
    bool urban;                 /* one of the 城区三所 */
} kh_station_t;

typedef struct kh_county {
    char name[KH_NAME_MAX + 1];
    kh_station_t *stations; /* in file order */
    size_t nstations;
    size_t *by_code; /* station indexes in code order (kh_county_find); NULL
                        in a county built by hand: then found by a scan */
    /* policy */
    char timezone[64];
    kh_tz_t *tz;
    int grace_days;          /* >= 0, default 5 */
    bool auto_close;         /* default true */
    int required_patrols[4]; /* by class 1..3 (index 0 unused); defaults 8, 6, 4 */
    bool three_class[KH_CASE_COUNT]; /* policy three_class_kinds */
    bool has_bonus_cap;              /* false: no cap (null or absent) */
    kh_milli_t bonus_cap;
} kh_county_t;

/*
 * Loads and validates county.json from a path, or from memory (for the
 * fuzzer). On error returns KH_ECONFIG (or KH_EIO, KH_ENOMEM) and writes a
 * message naming the field into err (errlen bytes, may be 0).
 */
int kh_county_load(kh_county_t **out, const char *path, char *err, size_t errlen);
int kh_county_load_mem(kh_county_t **out, const char *text, size_t len, char *err,
                       size_t errlen);
void kh_county_free(kh_county_t **self_p);

/* Index of a station by code, or -1. */
int kh_county_find(const kh_county_t *county, const char *code);

#endif
