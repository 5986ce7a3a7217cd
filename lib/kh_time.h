/*
 * kh_time.h - instants, civil dates in the county's time zone, and the
 * assessment periods (SPEC section 3).
 *
 * Instants are int64 microseconds since 1970-01-01T00:00:00Z (kh_usec_t).
 * Civil dates are int32 days since 1970-01-01 (kh_day_t), proleptic
 * Gregorian, with no time zone of their own: a date is always meant in the
 * county's zone. Converting an instant to a date needs a kh_tz_t, which
 * wraps the county's IANA zone (policy "timezone", default Asia/Shanghai);
 * it reads the system's zoneinfo once, at load, and is pure afterwards.
 *
 * A period is (kind, year, index); see kh_period_t. Every period is a closed
 * range of whole days [first, last] in county time.
 */
#ifndef KH_TIME_H
#define KH_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t kh_usec_t; /* microseconds since the Unix epoch, UTC */
typedef int32_t kh_day_t;  /* days since 1970-01-01, a civil date */

#define KH_DAY_NONE     INT32_MIN /* "no date" (an open place, an unset cut) */
#define KH_USEC_PER_SEC INT64_C(1000000)
#define KH_USEC_PER_DAY (INT64_C(86400) * KH_USEC_PER_SEC)

/* --- civil dates (pure arithmetic, no zone) --- */

/* Days from a civil date; month 1-12, day 1-31 (not validated). */
kh_day_t kh_day_from_civil(int year, int month, int day);
/* Civil date of a day number. Any out-pointer may be NULL. */
void kh_day_to_civil(kh_day_t d, int *year, int *month, int *day);
/* Days in a month (28..31). */
int kh_days_in_month(int year, int month);
/* Parses "YYYY-MM-DD" strictly (valid calendar date). KH_OK or KH_EINVAL. */
int kh_day_parse(const char *s, kh_day_t *out);
/* Writes "YYYY-MM-DD" into buf (at least 11 bytes). Returns buf. */
char *kh_day_format(kh_day_t d, char *buf);

/* --- instants --- */

/*
 * Parses an RFC 3339 timestamp with a mandatory offset ("Z" or "+08:00"),
 * optional fractional seconds (kept to the microsecond, beyond truncated),
 * and 'T', 't' or ' ' between date and time. KH_OK or KH_EBAD_TIME.
 */
int kh_time_parse(const char *s, kh_usec_t *out);
/* Formats an instant as "YYYY-MM-DDTHH:MM:SS[.ffffff]Z". buf >= 32 bytes. */
char *kh_time_format(kh_usec_t t, char *buf);
/* The wall clock now. */
kh_usec_t kh_time_now(void);

/* --- the county's zone --- */

typedef struct kh_tz kh_tz_t;

/*
 * Loads an IANA zone by name ("Asia/Shanghai") from the system's zoneinfo
 * (TZif files under /usr/share/zoneinfo, or $TZDIR). Also accepts fixed
 * offsets written "UTC+08:00" / "UTC-05:30" / "UTC". Returns KH_OK,
 * KH_ECONFIG when the zone is unknown or its file is unreadable, KH_ENOMEM.
 */
int kh_tz_open(kh_tz_t **out, const char *name);
/*
 * A zone from a POSIX TZ rule alone, the form a TZif file's footer holds
 * ("CST-8", "EST5EDT,M3.2.0,M11.1.0"): for zones without zoneinfo and for
 * testing the footer rule. KH_OK, KH_ECONFIG when unparseable, KH_ENOMEM.
 */
int kh_tz_open_posix(kh_tz_t **out, const char *rule);
void kh_tz_close(kh_tz_t **self_p);
const char *kh_tz_name(const kh_tz_t *tz);
/* UTC offset in seconds in force at instant t. */
int32_t kh_tz_offset(const kh_tz_t *tz, kh_usec_t t);
/* The civil date in the zone at instant t. */
kh_day_t kh_tz_day(const kh_tz_t *tz, kh_usec_t t);
/* The first instant of civil day d in the zone (local midnight). */
kh_usec_t kh_tz_day_start(const kh_tz_t *tz, kh_day_t d);

/* --- periods --- */

typedef enum {
    KH_PK_HALF_MONTH = 0, /* 1st-15th (index 2*(m-1)), 16th-end (+1) */
    KH_PK_MONTH,          /* index 0..11 */
    KH_PK_QUARTER,        /* index 0..3 */
    KH_PK_HALF_YEAR,      /* index 0..1 */
    KH_PK_YEAR,           /* index 0 */
    KH_PK__COUNT
} kh_period_kind_t;

typedef struct {
    kh_period_kind_t kind;
    int32_t year;
    int32_t index; /* 0-based within the year, see the kinds above */
} kh_period_t;

/* Number of periods of a kind in a year: 24, 12, 4, 2, 1. */
int kh_period_count(kh_period_kind_t kind);
/* The period of a kind that contains civil date d. */
kh_period_t kh_period_of(kh_period_kind_t kind, kh_day_t d);
/* The i-th period of a kind in a year. */
kh_period_t kh_period_nth(kh_period_kind_t kind, int year, int index);
kh_day_t kh_period_first(kh_period_t p);
kh_day_t kh_period_last(kh_period_t p);
/* Kind names for the catalog: "half_month" "month" "quarter" "half_year"
 * "year". Parse returns KH_OK or KH_EINVAL. */
const char *kh_period_kind_name(kh_period_kind_t kind);
int kh_period_kind_parse(const char *s, kh_period_kind_t *out);

/*
 * Formats a period for humans and JSON: "2024" (year), "2024-H1",
 * "2024-Q1", "2024-02" (month), "2024-02/1" and "2024-02/2" (half-months).
 * buf >= 16 bytes. Returns buf.
 */
char *kh_period_format(kh_period_t p, char *buf);
/* Parses the forms kh_period_format writes. KH_OK or KH_EINVAL. */
int kh_period_parse(const char *s, kh_period_t *out);

/* Parses "YYYY-MM" into a month period. KH_OK or KH_EINVAL. */
int kh_month_parse(const char *s, kh_period_t *out);
/* Parses "YYYY-Qn" into a quarter period. KH_OK or KH_EINVAL. */
int kh_quarter_parse(const char *s, kh_period_t *out);

/*
 * Automatic closing (SPEC section 3): the latest period end E (the 15th or
 * a month's last day) such that the wall clock has passed E's end plus
 * grace_days, i.e. today >= E + 1 + grace_days. Every period that ends on
 * or before the returned day is closed. Returns KH_DAY_NONE when none.
 */
kh_day_t kh_auto_close_through(kh_day_t today, int grace_days);

#endif
