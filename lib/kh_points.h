/*
 * kh_points.h - exact decimal amounts as integer milli-units.
 *
 * Points (and rates, occupancy) are stored and computed as int64
 * thousandths: 0.1 point is 100. Never floating point (SPEC section 3).
 */
#ifndef KH_POINTS_H
#define KH_POINTS_H

#include <stdbool.h>
#include <stdint.h>

typedef int64_t kh_milli_t;

#define KH_MILLI(units) ((kh_milli_t)(units)*1000)

/*
 * Converts a JSON number (a double) to milli-units exactly when it has at
 * most three decimals, rounding to the nearest thousandth otherwise.
 * Returns false for NaN, infinities and magnitudes beyond 1e12.
 */
bool kh_milli_from_double(double v, kh_milli_t *out);

/*
 * Parses a decimal string ("-0.5", "38.6", "2") to milli-units; at most
 * three decimals. Returns false on anything else.
 */
bool kh_milli_parse(const char *s, kh_milli_t *out);

/* Formats with two decimals, "38.60", "-0.10" (rounding half away from
 * zero below a hundredth, which kaohe's rules never produce).
 * buf >= 32 bytes. Returns buf. */
char *kh_milli_format2(kh_milli_t v, char *buf);

/* The JSON number for an amount: a double exactly equal to v / 1000 when
 * printed with up to 15 significant digits. */
double kh_milli_to_double(kh_milli_t v);

#endif
