/*
 * cmd_query.c - kaohe rank, station, explain, urban and close: one Query
 * to the ranker each; the answer is printed as the SPEC section 7 JSON
 * with --json, as a readable table otherwise.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kaohe.h"
#include "kh_error.h"
#include "kh_proc.h"
#include "kh_render.h"

#define QUERY_TIMEOUT_MS 60000

static int parse_year(const char *s, int32_t *out)
{
    char *end;
    long y = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || y < 1970 || y > 9999)
        return -1;
    *out = (int32_t)y;
    return 0;
}

static int copy_arg(char *dst, size_t cap, const char *s, const char *what)
{
    if (strlen(s) >= cap) {
        kh_usage_error("%s too long: %s", what, s);
        return -1;
    }
    snprintf(dst, cap, "%s", s);
    return 0;
}

int kh_cmd_query(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    kh_query_t q;
    memset(&q, 0, sizeof q);
    q.tag = 1;
    const char *cmd = a->cmd;
    int want = 0;
    if (strcmp(cmd, "rank") == 0) {
        q.kind = KH_Q_RANK;
    } else if (strcmp(cmd, "station") == 0) {
        q.kind = KH_Q_STATION;
        want = 1;
    } else if (strcmp(cmd, "explain") == 0) {
        q.kind = KH_Q_EXPLAIN;
        want = 2;
    } else if (strcmp(cmd, "urban") == 0) {
        q.kind = KH_Q_URBAN;
    } else {
        q.kind = KH_Q_CLOSE;
        want = 1;
    }
    if (a->npos != want)
        return kh_usage_error("%s takes %d argument%s", cmd, want, want == 1 ? "" : "s");
    if (q.kind == KH_Q_STATION || q.kind == KH_Q_EXPLAIN)
        if (copy_arg(q.station, sizeof q.station, a->pos[0], "station code"))
            return KH_EXIT_USAGE;
    if (q.kind == KH_Q_EXPLAIN && copy_arg(q.item, sizeof q.item, a->pos[1], "item"))
        return KH_EXIT_USAGE;
    if (q.kind == KH_Q_CLOSE && copy_arg(q.period, sizeof q.period, a->pos[0], "period"))
        return KH_EXIT_USAGE;
    const char *y = kh_args_get(a, "--year");
    if (y && parse_year(y, &q.year))
        return kh_usage_error("--year %s: want a year like 2026", y);
    const char *as_of = kh_args_get(a, "--as-of");
    if (as_of) {
        kh_day_t d;
        if (kh_day_parse(as_of, &d) != KH_OK)
            return kh_usage_error("--as-of %s: want YYYY-MM-DD", as_of);
        snprintf(q.as_of, sizeof q.as_of, "%s", as_of);
    }
    const char *month = kh_args_get(a, "--month");
    if (q.kind == KH_Q_URBAN) {
        kh_period_t p;
        if (!month)
            return kh_usage_error("urban needs --month YYYY-MM");
        if (kh_month_parse(month, &p) != KH_OK)
            return kh_usage_error("--month %s: want YYYY-MM", month);
        snprintf(q.month, sizeof q.month, "%s", month);
    }
    if (q.kind == KH_Q_CLOSE) {
        kh_period_t p;
        if (kh_period_parse(q.period, &p) != KH_OK || p.kind == KH_PK_HALF_MONTH)
            return kh_usage_error("close %s: want YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY",
                                  q.period);
    }

    char dir[PATH_MAX];
    if (kh_abspath(dir, sizeof dir, a->dir))
        return kh_fail("no data directory %s", a->dir);
    kh_reply_t rep;
    int rc = kh_client_query(dir, &q, QUERY_TIMEOUT_MS, &rep);
    if (rc != KH_OK)
        return kh_fail("the ranker did not answer (%s): is kaohe up in %s?",
                       kh_strerror(rc), dir);
    if (rep.code != 0) {
        int bad_arg = rep.code == KH_EINVAL || rep.code == KH_ENOTFOUND;
        fprintf(stderr, "kaohe: %s\n", rep.error ? rep.error : kh_strerror(rep.code));
        kh_codec_reply_free(&rep);
        return bad_arg ? KH_EXIT_USAGE : KH_EXIT_FAIL;
    }
    json_error_t jerr;
    json_t *doc = rep.json ? json_loads(rep.json, 0, &jerr) : NULL;
    if (!doc) {
        kh_codec_reply_free(&rep);
        return kh_fail("unreadable answer from the ranker");
    }
    if (a->json) {
        puts(rep.json);
    } else {
        switch (q.kind) {
        case KH_Q_RANK:
            kh_render_rank_table(stdout, doc);
            break;
        case KH_Q_STATION:
            kh_render_station_table(stdout, doc);
            break;
        case KH_Q_EXPLAIN:
            kh_render_explain_table(stdout, doc);
            break;
        case KH_Q_URBAN:
            kh_render_urban_table(stdout, doc);
            break;
        default:
            printf("closed every period ending on or before %s\n",
                   json_string_value(json_object_get(doc, "closed_through")));
            break;
        }
    }
    json_decref(doc);
    kh_codec_reply_free(&rep);
    return KH_EXIT_OK;
}
