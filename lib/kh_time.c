/*
 * kh_time.c - instants, civil dates, the county's time zone and the
 * assessment periods (SPEC section 3).
 *
 * Civil dates use Howard Hinnant's days_from_civil / civil_from_days
 * algorithms (proleptic Gregorian, exact for every int32 day), so no libc
 * time function (and no process-wide TZ variable) is ever involved: the
 * calendar is pure arithmetic and gives the same answer on every host.
 *
 * A zone is read once from its TZif file (RFC 8536) into memory: the
 * transition instants, the local time types, and the POSIX TZ rule from the
 * file's footer, which governs every instant after the last transition
 * (slim TZif files stop listing transitions early and rely on it). After
 * kh_tz_open() a kh_tz_t is immutable, so it can be shared freely.
 *
 * Years are limited to 1..9999 in everything parsed: the four-digit forms
 * cannot say more, and every date then maps to a period the wire codec
 * accepts.
 */
#include "kh_time.h"

#include "kh_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* civil dates                                                          */
/* ------------------------------------------------------------------ */

/* Floor division and modulo for negative instants. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t days_from_civil64(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days64(int64_t z, int64_t *year, int *month, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = y + (m <= 2);
    *month = m;
    *day = d;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

kh_day_t kh_day_from_civil(int year, int month, int day)
{
    return (kh_day_t)days_from_civil64(year, month, day);
}

void kh_day_to_civil(kh_day_t d, int *year, int *month, int *day)
{
    int64_t y;
    int m, dd;
    civil_from_days64(d, &y, &m, &dd);
    if (year)
        *year = (int)y;
    if (month)
        *month = m;
    if (day)
        *day = dd;
}

int kh_days_in_month(int year, int month)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    return month == 2 && is_leap(year) ? 29 : dim[month - 1];
}

/* Day of the week, 0 = Sunday (1970-01-01 was a Thursday). */
static int weekday(int64_t day)
{
    return (int)(((day % 7) + 7 + 4) % 7);
}

/* n decimal digits at p, or -1 when any of them is not a digit. Stops at
 * the first non-digit, so it never reads past a terminating NUL. */
static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DD" at p (not necessarily terminated after it). */
static bool parse_ymd(const char *p, int *y, int *m, int *d)
{
    if ((*y = digits(p, 4)) < 0 || p[4] != '-' || (*m = digits(p + 5, 2)) < 0 ||
        p[7] != '-' || (*d = digits(p + 8, 2)) < 0)
        return false;
    return *y >= 1 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= kh_days_in_month(*y, *m);
}

int kh_day_parse(const char *s, kh_day_t *out)
{
    int y, m, d;
    if (!s || !parse_ymd(s, &y, &m, &d) || s[10] != '\0')
        return KH_EINVAL;
    *out = kh_day_from_civil(y, m, d);
    return KH_OK;
}

char *kh_day_format(kh_day_t d, char *buf)
{
    int y, m, dd;
    kh_day_to_civil(d, &y, &m, &dd);
    /* Years 0-9999 (every day kaohe parses); the modulos only tell the
     * compiler the fields fit the 10 bytes. */
    snprintf(buf, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)dd % 100u);
    return buf;
}

/* ------------------------------------------------------------------ */
/* instants                                                             */
/* ------------------------------------------------------------------ */

int kh_time_parse(const char *s, kh_usec_t *out)
{
    int y, mo, d, h, mi, se;
    if (!s || !parse_ymd(s, &y, &mo, &d))
        return KH_EBAD_TIME;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return KH_EBAD_TIME;
    const char *p = s + 11;
    if ((h = digits(p, 2)) < 0 || p[2] != ':' || (mi = digits(p + 3, 2)) < 0 ||
        p[5] != ':' || (se = digits(p + 6, 2)) < 0)
        return KH_EBAD_TIME;
    /* Instants are POSIX time, which has no leap seconds: ":60" is refused
     * rather than silently moved. */
    if (h > 23 || mi > 59 || se > 59)
        return KH_EBAD_TIME;
    p += 8;

    int64_t usec = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++) {
            if (n < 6)
                usec = usec * 10 + (*p - '0');
        }
        if (n == 0)
            return KH_EBAD_TIME;
        for (; n < 6; n++)
            usec *= 10;
    }

    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;
        if ((oh = digits(p + 1, 2)) < 0 || p[3] != ':' || (om = digits(p + 4, 2)) < 0 ||
            oh > 23 || om > 59)
            return KH_EBAD_TIME;
        off = sign * (oh * 3600 + om * 60);
        p += 6;
    } else {
        return KH_EBAD_TIME; /* the offset is mandatory */
    }
    if (*p != '\0')
        return KH_EBAD_TIME;

    int64_t secs = days_from_civil64(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    *out = secs * KH_USEC_PER_SEC + usec;
    return KH_OK;
}

char *kh_time_format(kh_usec_t t, char *buf)
{
    int64_t secs = floor_div(t, KH_USEC_PER_SEC);
    int64_t usec = t - secs * KH_USEC_PER_SEC;
    int64_t day = floor_div(secs, 86400);
    int64_t sod = secs - day * 86400;
    int64_t y;
    int m, d;
    civil_from_days64(day, &y, &m, &d);
    int n = snprintf(buf, 32, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    if (n < 0 || n >= 31)
        return buf;
    if (usec)
        snprintf(buf + n, 32 - (size_t)n, ".%06dZ", (int)usec);
    else
        snprintf(buf + n, 32 - (size_t)n, "Z");
    return buf;
}

kh_usec_t kh_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (kh_usec_t)ts.tv_sec * KH_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------ */
/* the county's zone                                                    */
/* ------------------------------------------------------------------ */

#define TZ_NAME_MAX    255
#define TZIF_MAX_BYTES (1 << 20)   /* real files are a few KiB */
#define MAX_UTOFF      (26 * 3600) /* RFC 8536: -25:59:59 .. +25:59:59 */

typedef struct {
    int32_t utoff; /* seconds east of UTC */
    bool isdst;
} ttype_t;

enum { RULE_JULIAN1 = 1, RULE_JULIAN0, RULE_MWD };

/* One date of a POSIX TZ rule: "Jn", "n" or "Mm.w.d", plus "/time". */
typedef struct {
    int kind;
    int n;        /* Jn: 1..365, n: 0..365 */
    int m, w, d;  /* Mm.w.d */
    int32_t secs; /* local time of day of the change; RFC 8536 allows
                     -167..167 hours */
} rule_date_t;

/* A POSIX TZ string such as "CST-8" or "EST5EDT,M3.2.0,M11.1.0". */
typedef struct {
    bool valid;
    int32_t std_off; /* seconds east of UTC */
    bool has_dst;
    int32_t dst_off;
    rule_date_t start, end;
} posix_rule_t;

struct kh_tz {
    char name[TZ_NAME_MAX + 1];
    size_t ntrans;
    int64_t *trans;     /* seconds, strictly ascending */
    uint8_t *trans_idx; /* index into types for each transition */
    size_t ntypes;
    ttype_t *types;
    posix_rule_t rule; /* the footer: applies after the last transition */
};

/* --- POSIX TZ strings (RFC 8536 section 3.3, POSIX TZ) --- */

/* A zone abbreviation: three or more letters, or "<...>" quoted. */
static const char *rule_name(const char *p)
{
    if (*p == '<') {
        const char *q = p + 1;
        while (*q && *q != '>')
            q++;
        if (*q != '>' || q - p < 2)
            return NULL;
        return q + 1;
    }
    const char *q = p;
    while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
        q++;
    return q - p >= 3 ? q : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to max_h. */
static const char *rule_hms(const char *p, int max_h, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (*p < '0' || *p > '9')
        return NULL;
    int h = 0, n = 0;
    for (; *p >= '0' && *p <= '9' && n < 3; p++, n++)
        h = h * 10 + (*p - '0');
    if (h > max_h)
        return NULL;
    int m = 0, s = 0;
    if (*p == ':') {
        if ((m = digits(p + 1, 2)) < 0 || m > 59)
            return NULL;
        p += 3;
        if (*p == ':') {
            if ((s = digits(p + 1, 2)) < 0 || s > 59)
                return NULL;
            p += 3;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *rule_num(const char *p, int lo, int hi, int *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    int v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > hi)
            return NULL;
    }
    if (v < lo)
        return NULL;
    *out = v;
    return p;
}

static const char *rule_date(const char *p, rule_date_t *r)
{
    if (*p == 'J') {
        r->kind = RULE_JULIAN1;
        p = rule_num(p + 1, 1, 365, &r->n);
    } else if (*p == 'M') {
        r->kind = RULE_MWD;
        if (!(p = rule_num(p + 1, 1, 12, &r->m)) || *p != '.' ||
            !(p = rule_num(p + 1, 1, 5, &r->w)) || *p != '.')
            return NULL;
        p = rule_num(p + 1, 0, 6, &r->d);
    } else {
        r->kind = RULE_JULIAN0;
        p = rule_num(p, 0, 365, &r->n);
    }
    if (!p)
        return NULL;
    r->secs = 2 * 3600; /* POSIX default: 02:00:00 */
    if (*p == '/')
        p = rule_hms(p + 1, 167, &r->secs);
    return p;
}

/* Parses a whole POSIX TZ string; rule->valid tells whether it worked. */
static void rule_parse(const char *s, posix_rule_t *rule)
{
    memset(rule, 0, sizeof *rule);
    const char *p = rule_name(s);
    int32_t off;
    if (!p || !(p = rule_hms(p, 24, &off)))
        return;
    rule->std_off = -off; /* POSIX offsets count west of Greenwich */
    if (*p == '\0') {
        rule->valid = true;
        return;
    }
    if (!(p = rule_name(p)))
        return;
    rule->has_dst = true;
    rule->dst_off = rule->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = rule_hms(p, 24, &off)))
            return;
        rule->dst_off = -off;
    }
    if (*p == '\0') {
        /* No dates: POSIX leaves them to the implementation; the tz
         * database's choice is the current US rule. */
        rule->start = (rule_date_t){RULE_MWD, 0, 3, 2, 0, 7200};
        rule->end = (rule_date_t){RULE_MWD, 0, 11, 1, 0, 7200};
        rule->valid = true;
        return;
    }
    if (*p != ',' || !(p = rule_date(p + 1, &rule->start)) || *p != ',' ||
        !(p = rule_date(p + 1, &rule->end)) || *p != '\0')
        return;
    rule->valid = true;
}

/* The civil day (in year y) a rule date names. */
static int64_t rule_day(const rule_date_t *r, int64_t y)
{
    int64_t jan1 = days_from_civil64(y, 1, 1);
    switch (r->kind) {
    case RULE_JULIAN1: /* Jn: February 29 is never counted */
        return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60 ? 1 : 0);
    case RULE_JULIAN0:
        return jan1 + r->n;
    default: {
        int64_t first = days_from_civil64(y, r->m, 1);
        int64_t day = first + (r->d - weekday(first) + 7) % 7 + (r->w - 1) * 7;
        int64_t end = first + kh_days_in_month((int)y, r->m);
        while (day >= end) /* "5" means the last such weekday */
            day -= 7;
        return day;
    }
    }
}

static int32_t rule_offset(const posix_rule_t *rule, int64_t t)
{
    if (!rule->has_dst)
        return rule->std_off;
    int64_t y;
    int m, d;
    civil_from_days64(floor_div(t + rule->std_off, 86400), &y, &m, &d);
    /* DST starts at a standard local time and ends at a DST local time. */
    int64_t start = rule_day(&rule->start, y) * 86400 + rule->start.secs - rule->std_off;
    int64_t end = rule_day(&rule->end, y) * 86400 + rule->end.secs - rule->dst_off;
    bool dst;
    if (start < end)
        dst = t >= start && t < end;
    else /* southern hemisphere: DST spans the new year */
        dst = !(t >= end && t < start);
    return dst ? rule->dst_off : rule->std_off;
}

/* --- TZif files (RFC 8536) --- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct {
    uint64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzif_counts_t;

static bool tzif_header(const uint8_t *b, size_t n, size_t at, tzif_counts_t *c)
{
    if (n < at || n - at < 44 || memcmp(b + at, "TZif", 4) != 0)
        return false;
    const uint8_t *p = b + at + 20;
    c->isutcnt = be32(p);
    c->isstdcnt = be32(p + 4);
    c->leapcnt = be32(p + 8);
    c->timecnt = be32(p + 12);
    c->typecnt = be32(p + 16);
    c->charcnt = be32(p + 20);
    return true;
}

static uint64_t tzif_body_size(const tzif_counts_t *c, int tsize)
{
    return c->timecnt * (uint64_t)tsize + c->timecnt + c->typecnt * 6 + c->charcnt +
           c->leapcnt * (uint64_t)(tsize + 4) + c->isstdcnt + c->isutcnt;
}

/* Fills tz from a TZif image; false when it is not a valid one. */
static bool tzif_parse(const uint8_t *b, size_t n, kh_tz_t *tz)
{
    tzif_counts_t c;
    if (!tzif_header(b, n, 0, &c))
        return false;
    int version = b[4];
    uint64_t v1 = tzif_body_size(&c, 4);
    if (v1 > n - 44)
        return false;
    size_t at = 44; /* the data block in use */
    int tsize = 4;
    if (version >= '2') {
        /* The 64-bit second part is the one that matters; the first is for
         * old readers only. */
        if (!tzif_header(b, n, 44 + (size_t)v1, &c))
            return false;
        at = 44 + (size_t)v1 + 44;
        tsize = 8;
    }
    uint64_t body = tzif_body_size(&c, tsize);
    if (body > n - at || c.typecnt == 0 || c.typecnt > 256 || c.timecnt > 1000000 ||
        c.charcnt == 0)
        return false;

    const uint8_t *p = b + at;
    tz->ntrans = (size_t)c.timecnt;
    tz->ntypes = (size_t)c.typecnt;
    tz->trans = malloc((tz->ntrans ? tz->ntrans : 1) * sizeof *tz->trans);
    tz->trans_idx = malloc(tz->ntrans ? tz->ntrans : 1);
    tz->types = malloc(tz->ntypes * sizeof *tz->types);
    if (!tz->trans || !tz->trans_idx || !tz->types)
        return false;
    for (size_t i = 0; i < tz->ntrans; i++, p += tsize) {
        tz->trans[i] = tsize == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            return false;
    }
    for (size_t i = 0; i < tz->ntrans; i++, p++) {
        if (*p >= c.typecnt)
            return false;
        tz->trans_idx[i] = *p;
    }
    for (size_t i = 0; i < tz->ntypes; i++, p += 6) {
        int32_t off = (int32_t)be32(p);
        if (off <= -MAX_UTOFF || off >= MAX_UTOFF || p[4] > 1 || p[5] >= c.charcnt)
            return false;
        tz->types[i].utoff = off;
        tz->types[i].isdst = p[4];
    }
    at += (size_t)body;

    /* The footer: "\n" POSIX-TZ "\n". An empty or unusable rule leaves the
     * last transition's type in force, which is what RFC 8536 prescribes
     * for an empty footer. */
    if (tsize == 8 && at < n && b[at] == '\n') {
        const uint8_t *nl = memchr(b + at + 1, '\n', n - at - 1);
        size_t len = nl ? (size_t)(nl - (b + at + 1)) : 0;
        if (nl && len > 0 && len < 128) {
            char footer[128];
            memcpy(footer, b + at + 1, len);
            footer[len] = '\0';
            rule_parse(footer, &tz->rule);
        }
    }
    return true;
}

static void tz_free_parts(kh_tz_t *tz)
{
    free(tz->trans);
    free(tz->trans_idx);
    free(tz->types);
    tz->trans = NULL;
    tz->trans_idx = NULL;
    tz->types = NULL;
    tz->ntrans = tz->ntypes = 0;
}

/* A fixed zone is a rule with no DST and no transitions. */
static void tz_set_fixed(kh_tz_t *tz, int32_t off)
{
    memset(&tz->rule, 0, sizeof tz->rule);
    tz->rule.valid = true;
    tz->rule.std_off = off;
}

/* "UTC", "UTC+08:00", "UTC-05:30": true (with the offset) for these forms. */
static bool parse_fixed(const char *name, int32_t *off)
{
    if (strncmp(name, "UTC", 3) != 0)
        return false;
    const char *p = name + 3;
    if (*p == '\0') {
        *off = 0;
        return true;
    }
    int h, m;
    if ((*p != '+' && *p != '-') || (h = digits(p + 1, 2)) < 0 || p[3] != ':' ||
        (m = digits(p + 4, 2)) < 0 || p[6] != '\0' || h > 23 || m > 59)
        return false;
    *off = (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return true;
}

/* Zone names are paths under the zoneinfo directory: keep them there. */
static bool name_is_safe(const char *name)
{
    if (!*name || name[0] == '/' || strstr(name, ".."))
        return false;
    for (const char *p = name; *p; p++) {
        char ch = *p;
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '/' || ch == '_' || ch == '-' ||
              ch == '+' || ch == '.'))
            return false;
    }
    return true;
}

/* Reads a whole regular file of at most TZIF_MAX_BYTES; NULL on failure. */
static uint8_t *read_small_file(const char *path, size_t *len)
{
    uint8_t *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > TZIF_MAX_BYTES)
        goto out;
    buf = malloc((size_t)st.st_size);
    if (!buf)
        goto out;
    if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(buf);
        buf = NULL;
        goto out;
    }
    *len = (size_t)st.st_size;
out:
    fclose(f);
    return buf;
}

static int tz_alloc(kh_tz_t **out, const char *name)
{
    kh_tz_t *tz = calloc(1, sizeof *tz);
    if (!tz)
        return KH_ENOMEM;
    snprintf(tz->name, sizeof tz->name, "%s", name);
    *out = tz;
    return KH_OK;
}

int kh_tz_open(kh_tz_t **out, const char *name)
{
    *out = NULL;
    if (!name || strlen(name) > TZ_NAME_MAX)
        return KH_ECONFIG;
    int32_t off;
    if (parse_fixed(name, &off)) {
        kh_tz_t *tz;
        if (tz_alloc(&tz, name))
            return KH_ENOMEM;
        tz_set_fixed(tz, off);
        *out = tz;
        return KH_OK;
    }
    if (!name_is_safe(name))
        return KH_ECONFIG;

    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    size_t plen = strlen(dir) + 1 + strlen(name) + 1;
    char *path = malloc(plen);
    if (!path)
        return KH_ENOMEM;
    snprintf(path, plen, "%s/%s", dir, name);

    int rc = KH_OK;
    kh_tz_t *tz = NULL;
    size_t len = 0;
    errno = 0;
    uint8_t *img = read_small_file(path, &len);
    if (!img && errno == ENOMEM) {
        rc = KH_ENOMEM;
        goto out;
    }
    if ((rc = tz_alloc(&tz, name)))
        goto out;
    if (!img || !tzif_parse(img, len, tz)) {
        tz_free_parts(tz);
        if (strcmp(name, "Asia/Shanghai") == 0) {
            /* The default zone works without tzdata: China has kept UTC+8
             * without DST since 1991, before any date kaohe scores. */
            tz_set_fixed(tz, 8 * 3600);
        } else {
            free(tz);
            tz = NULL;
            rc = KH_ECONFIG;
            goto out;
        }
    }
    *out = tz;
out:
    free(img);
    free(path);
    return rc;
}

int kh_tz_open_posix(kh_tz_t **out, const char *rule)
{
    *out = NULL;
    if (!rule)
        return KH_ECONFIG;
    posix_rule_t r;
    rule_parse(rule, &r);
    if (!r.valid)
        return KH_ECONFIG;
    kh_tz_t *tz;
    if (tz_alloc(&tz, rule))
        return KH_ENOMEM;
    tz->rule = r;
    *out = tz;
    return KH_OK;
}

void kh_tz_close(kh_tz_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tz_free_parts(*self_p);
    free(*self_p);
    *self_p = NULL;
}

const char *kh_tz_name(const kh_tz_t *tz)
{
    return tz->name;
}

/* Offset in force at t, in seconds since the epoch. */
static int32_t offset_at(const kh_tz_t *tz, int64_t t)
{
    if (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1]) {
        if (tz->rule.valid)
            return rule_offset(&tz->rule, t);
        if (tz->ntrans == 0)
            return tz->ntypes ? tz->types[0].utoff : 0;
        return tz->types[tz->trans_idx[tz->ntrans - 1]].utoff;
    }
    if (t < tz->trans[0])
        return tz->types[0].utoff; /* RFC 8536: before the first: type 0 */
    /* The last transition at or before t. */
    size_t lo = 0, hi = tz->ntrans - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return tz->types[tz->trans_idx[lo]].utoff;
}

int32_t kh_tz_offset(const kh_tz_t *tz, kh_usec_t t)
{
    return offset_at(tz, floor_div(t, KH_USEC_PER_SEC));
}

static kh_day_t day_at(const kh_tz_t *tz, int64_t secs)
{
    return (kh_day_t)floor_div(secs + offset_at(tz, secs), 86400);
}

kh_day_t kh_tz_day(const kh_tz_t *tz, kh_usec_t t)
{
    return day_at(tz, floor_div(t, KH_USEC_PER_SEC));
}

kh_usec_t kh_tz_day_start(const kh_tz_t *tz, kh_day_t d)
{
    int64_t local = (int64_t)d * 86400;
    /* Usually local midnight exists once: take the offset in force there. */
    int64_t t = local - offset_at(tz, local - offset_at(tz, local));
    if (day_at(tz, t) == d && day_at(tz, t - 1) < d)
        return t * KH_USEC_PER_SEC;
    /* Midnight skipped by a DST change (or repeated): the first second
     * whose local date is d. Offsets stay within +-26 h. */
    int64_t lo = local - MAX_UTOFF - 3600, hi = local + MAX_UTOFF + 3600;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (day_at(tz, mid) >= d)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo * KH_USEC_PER_SEC;
}

/* ------------------------------------------------------------------ */
/* periods                                                              */
/* ------------------------------------------------------------------ */

int kh_period_count(kh_period_kind_t kind)
{
    switch (kind) {
    case KH_PK_HALF_MONTH:
        return 24;
    case KH_PK_MONTH:
        return 12;
    case KH_PK_QUARTER:
        return 4;
    case KH_PK_HALF_YEAR:
        return 2;
    case KH_PK_YEAR:
        return 1;
    default:
        return 0;
    }
}

kh_period_t kh_period_of(kh_period_kind_t kind, kh_day_t d)
{
    int y, m, dd;
    kh_day_to_civil(d, &y, &m, &dd);
    kh_period_t p = {kind, y, 0};
    switch (kind) {
    case KH_PK_HALF_MONTH:
        p.index = 2 * (m - 1) + (dd > 15);
        break;
    case KH_PK_MONTH:
        p.index = m - 1;
        break;
    case KH_PK_QUARTER:
        p.index = (m - 1) / 3;
        break;
    case KH_PK_HALF_YEAR:
        p.index = (m - 1) / 6;
        break;
    default:
        p.kind = KH_PK_YEAR;
        break;
    }
    return p;
}

kh_period_t kh_period_nth(kh_period_kind_t kind, int year, int index)
{
    kh_period_t p = {kind, year, index};
    return p;
}

kh_day_t kh_period_first(kh_period_t p)
{
    switch (p.kind) {
    case KH_PK_HALF_MONTH:
        return kh_day_from_civil(p.year, p.index / 2 + 1, p.index % 2 ? 16 : 1);
    case KH_PK_MONTH:
        return kh_day_from_civil(p.year, p.index + 1, 1);
    case KH_PK_QUARTER:
        return kh_day_from_civil(p.year, p.index * 3 + 1, 1);
    case KH_PK_HALF_YEAR:
        return kh_day_from_civil(p.year, p.index * 6 + 1, 1);
    default:
        return kh_day_from_civil(p.year, 1, 1);
    }
}

/* The last day of a month (m may be 1..12). */
static kh_day_t month_last(int y, int m)
{
    return kh_day_from_civil(y, m, kh_days_in_month(y, m));
}

kh_day_t kh_period_last(kh_period_t p)
{
    switch (p.kind) {
    case KH_PK_HALF_MONTH:
        if (p.index % 2 == 0)
            return kh_day_from_civil(p.year, p.index / 2 + 1, 15);
        return month_last(p.year, p.index / 2 + 1);
    case KH_PK_MONTH:
        return month_last(p.year, p.index + 1);
    case KH_PK_QUARTER:
        return month_last(p.year, p.index * 3 + 3);
    case KH_PK_HALF_YEAR:
        return month_last(p.year, p.index * 6 + 6);
    default:
        return month_last(p.year, 12);
    }
}

static const char *const period_kind_names[KH_PK__COUNT] = {
    "half_month", "month", "quarter", "half_year", "year"};

const char *kh_period_kind_name(kh_period_kind_t kind)
{
    if ((int)kind < 0 || kind >= KH_PK__COUNT)
        return NULL;
    return period_kind_names[kind];
}

int kh_period_kind_parse(const char *s, kh_period_kind_t *out)
{
    for (int i = 0; s && i < KH_PK__COUNT; i++) {
        if (strcmp(s, period_kind_names[i]) == 0) {
            *out = (kh_period_kind_t)i;
            return KH_OK;
        }
    }
    return KH_EINVAL;
}

char *kh_period_format(kh_period_t p, char *buf)
{
    /* Written in full into a buffer wide enough for any int32 fields, then
     * cut to the caller's 16 bytes (real periods need at most 10). */
    char tmp[64];
    int y = (int)p.year, i = (int)p.index;
    switch (p.kind) {
    case KH_PK_HALF_MONTH:
        snprintf(tmp, sizeof tmp, "%04d-%02d/%d", y, i / 2 + 1, i % 2 + 1);
        break;
    case KH_PK_MONTH:
        snprintf(tmp, sizeof tmp, "%04d-%02d", y, i + 1);
        break;
    case KH_PK_QUARTER:
        snprintf(tmp, sizeof tmp, "%04d-Q%d", y, i + 1);
        break;
    case KH_PK_HALF_YEAR:
        snprintf(tmp, sizeof tmp, "%04d-H%d", y, i + 1);
        break;
    default:
        snprintf(tmp, sizeof tmp, "%04d", y);
        break;
    }
    size_t n = strlen(tmp);
    if (n > 15)
        n = 15;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return buf;
}

/* "YYYY" at s, 1..9999. */
static int parse_year(const char *s)
{
    int y = digits(s, 4);
    return y >= 1 ? y : -1;
}

int kh_period_parse(const char *s, kh_period_t *out)
{
    if (!s)
        return KH_EINVAL;
    int y = parse_year(s);
    if (y < 0)
        return KH_EINVAL;
    if (s[4] == '\0') {
        *out = kh_period_nth(KH_PK_YEAR, y, 0);
        return KH_OK;
    }
    if (s[4] != '-')
        return KH_EINVAL;
    const char *p = s + 5;
    int n;
    if ((p[0] == 'H' || p[0] == 'Q') && (n = digits(p + 1, 1)) >= 1 && p[2] == '\0') {
        kh_period_kind_t kind = p[0] == 'H' ? KH_PK_HALF_YEAR : KH_PK_QUARTER;
        if (n > kh_period_count(kind))
            return KH_EINVAL;
        *out = kh_period_nth(kind, y, n - 1);
        return KH_OK;
    }
    int m = digits(p, 2);
    if (m < 1 || m > 12)
        return KH_EINVAL;
    if (p[2] == '\0') {
        *out = kh_period_nth(KH_PK_MONTH, y, m - 1);
        return KH_OK;
    }
    if (p[2] == '/' && (p[3] == '1' || p[3] == '2') && p[4] == '\0') {
        *out = kh_period_nth(KH_PK_HALF_MONTH, y, 2 * (m - 1) + (p[3] - '1'));
        return KH_OK;
    }
    return KH_EINVAL;
}

int kh_month_parse(const char *s, kh_period_t *out)
{
    kh_period_t p;
    if (kh_period_parse(s, &p) != KH_OK || p.kind != KH_PK_MONTH)
        return KH_EINVAL;
    *out = p;
    return KH_OK;
}

int kh_quarter_parse(const char *s, kh_period_t *out)
{
    kh_period_t p;
    if (kh_period_parse(s, &p) != KH_OK || p.kind != KH_PK_QUARTER)
        return KH_EINVAL;
    *out = p;
    return KH_OK;
}

kh_day_t kh_auto_close_through(kh_day_t today, int grace_days)
{
    if (today == KH_DAY_NONE)
        return KH_DAY_NONE;
    if (grace_days < 0)
        grace_days = 0;
    /* today >= E + 1 + grace  <=>  E <= today - 1 - grace = x. The latest
     * half-month end on or before x: x itself when it is the 15th or the
     * month's last day, else the 15th of x's month when past it, else the
     * last day of the previous month. */
    int64_t x = (int64_t)today - 1 - grace_days;
    if (x < INT32_MIN + 31)
        return KH_DAY_NONE;
    int y, m, d;
    kh_day_to_civil((kh_day_t)x, &y, &m, &d);
    if (d == kh_days_in_month(y, m))
        return (kh_day_t)x;
    if (d >= 15)
        return kh_day_from_civil(y, m, 15);
    return kh_day_from_civil(y, m, 1) - 1;
}
