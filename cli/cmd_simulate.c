/*
 * cmd_simulate.c - kaohe simulate: a seeded, realistic county (or, with
 * --stations N, province) event stream as JSON Lines (kh_simulate.h).
 *
 *   kaohe simulate [--seed N] [--year Y] [--months A-B] [--stations N]
 *                  [--scale X] [--county FILE] [-o FILE]
 *
 * Events go to -o FILE (default stdout); --county FILE writes the matching
 * county.json. For the current year the stream stops at the present, so
 * no event is in the future.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kaohe.h"
#include "kh_error.h"
#include "kh_simulate.h"

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *s == '-' || *end != '\0' || errno)
        return -1;
    *out = v;
    return 0;
}

int kh_cmd_simulate(const kh_args_t *a)
{
    kh_simulate_opts_t o;
    kh_simulate_opts_init(&o);
    uint64_t v;
    const char *s;
    if (a->npos)
        return kh_usage_error("simulate takes no arguments");
    if ((s = kh_args_get(a, "--seed")) && parse_u64(s, &o.seed))
        return kh_usage_error("--seed %s: want a number", s);
    if ((s = kh_args_get(a, "--year"))) {
        if (parse_u64(s, &v) || v < 1971 || v > 9998)
            return kh_usage_error("--year %s: want a year", s);
        o.year = (int)v;
    } else {
        int y;
        kh_day_to_civil((kh_day_t)(kh_time_now() / KH_USEC_PER_DAY), &y, NULL, NULL);
        o.year = y;
    }
    if ((s = kh_args_get(a, "--months"))) {
        int m1, m2;
        char tail;
        if (sscanf(s, "%d-%d%c", &m1, &m2, &tail) == 2) {
            o.first_month = m1;
            o.last_month = m2;
        } else if (sscanf(s, "%d%c", &m1, &tail) == 1) {
            o.first_month = o.last_month = m1;
        } else {
            return kh_usage_error("--months %s: want A-B, e.g. 1-12", s);
        }
        if (o.first_month < 1 || o.last_month > 12 || o.first_month > o.last_month)
            return kh_usage_error("--months %s: months run from 1 to 12", s);
    }
    if ((s = kh_args_get(a, "--stations"))) {
        if (parse_u64(s, &v) || v < 1 || v > KH_SIMULATE_MAX_STATIONS)
            return kh_usage_error("--stations %s: want 1..%d", s,
                                  KH_SIMULATE_MAX_STATIONS);
        o.stations = (size_t)v;
    }
    if ((s = kh_args_get(a, "--scale"))) {
        char *end;
        o.scale = strtod(s, &end);
        if (*end || !(o.scale > 0 && o.scale <= 100))
            return kh_usage_error("--scale %s: want a number in (0, 100]", s);
    }
    o.until = kh_time_now();

    kh_sim_t *sim;
    int rc = kh_simulate_open(&sim, &o);
    if (rc)
        return kh_usage_error("simulate: %s", kh_strerror(rc));
    const char *county = kh_args_get(a, "--county");
    if (county) {
        FILE *f = fopen(county, "w");
        if (!f || kh_simulate_write_county(sim, f) || fclose(f)) {
            kh_simulate_close(&sim);
            return kh_fail("cannot write %s: %s", county, strerror(errno));
        }
    }
    const char *path = kh_args_get(a, "-o");
    FILE *out = path ? fopen(path, "w") : stdout;
    if (!out) {
        kh_simulate_close(&sim);
        return kh_fail("cannot write %s: %s", path, strerror(errno));
    }
    kh_simulate_stats_t st;
    rc = kh_simulate_write_events(sim, out, &st);
    if (path && fclose(out) != 0)
        rc = KH_EIO;
    kh_simulate_close(&sim);
    if (rc)
        return kh_fail("simulate: %s", kh_strerror(rc));
    fprintf(stderr, "simulated %llu events (%llu duplicates)\n",
            (unsigned long long)st.lines, (unsigned long long)st.duplicates);
    return KH_EXIT_OK;
}
