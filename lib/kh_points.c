/*
 * kh_points.c - exact decimal amounts as integer milli-units.
 *
 * Every amount kaohe computes (points, rates, occupancy) is an int64 count
 * of thousandths (SPEC section 3: never floating point). Doubles appear at
 * exactly two edges: JSON numbers coming in (kh_milli_from_double) and JSON
 * numbers going out (kh_milli_to_double). Everything else here is integer
 * arithmetic on the digits.
 *
 * Magnitudes are limited to 1e12 units (1e15 milli-units): far beyond any
 * score, and small enough that a double holds every milli-unit exactly, so
 * the two conversions are inverse to each other.
 */
#include "kh_points.h"

#include <math.h>
#include <stdio.h>

#define MAX_UNITS 1e12
#define MAX_MILLI INT64_C(1000000000000000) /* MAX_UNITS * 1000 */

bool kh_milli_from_double(double v, kh_milli_t *out)
{
    if (!isfinite(v) || v > MAX_UNITS || v < -MAX_UNITS)
        return false;
    /* llround of the scaled value: a decimal with at most three places is
     * within one ulp of an integer after scaling, so rounding recovers it
     * exactly (1.005 * 1000 = 1004.9999999999999 -> 1005). */
    *out = (kh_milli_t)llround(v * 1000.0);
    return true;
}

bool kh_milli_parse(const char *s, kh_milli_t *out)
{
    if (!s)
        return false;
    bool neg = false;
    if (*s == '-') {
        neg = true;
        s++;
    }
    if (*s < '0' || *s > '9')
        return false;
    int64_t whole = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        whole = whole * 10 + (*s - '0');
        if (whole > MAX_MILLI / 1000)
            return false;
    }
    int64_t frac = 0;
    if (*s == '.') {
        s++;
        int digits = 0;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (++digits > 3)
                return false;
            frac = frac * 10 + (*s - '0');
        }
        if (digits == 0)
            return false; /* "2." is not a decimal */
        for (; digits < 3; digits++)
            frac *= 10;
    }
    if (*s != '\0')
        return false;
    int64_t v = whole * 1000 + frac;
    *out = neg ? -v : v;
    return true;
}

char *kh_milli_format2(kh_milli_t v, char *buf)
{
    /* Work on the magnitude as unsigned so INT64_MIN cannot overflow, and
     * round half away from zero to hundredths. */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t hundredths = mag / 10 + (mag % 10 >= 5 ? 1 : 0);
    /* A negative amount that rounds to zero prints as "0.00", not "-0.00". */
    const char *sign = (v < 0 && hundredths != 0) ? "-" : "";
    snprintf(buf, 32, "%s%llu.%02llu", sign, (unsigned long long)(hundredths / 100),
             (unsigned long long)(hundredths % 100));
    return buf;
}

double kh_milli_to_double(kh_milli_t v)
{
    /* One correctly rounded division: the nearest double to v / 1000, which
     * prints back as the exact decimal with up to 15 significant digits. */
    return (double)v / 1000.0;
}
