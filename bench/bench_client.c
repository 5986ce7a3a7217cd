/*
 * bench_client - query latency on one warm connection, and how soon an
 * acknowledged event is visible in the ranking, against running services.
 *
 *   bench_client query DIR YEAR rank|station COUNT BUDGET_MS
 *   bench_client visible DIR YEAR COUNT BUDGET_MS
 *
 * query: one DEALER to the ranker (as admin, CURVE as every client),
 * connected once; then COUNT Queries one after the other (station
 * queries go round the county's stations), stopping early when
 * BUDGET_MS has passed (after at least three). Each is timed from send
 * to the reply's arrival: the service's time plus one local round trip,
 * without the connection set-up a CLI process pays. {"bench":"query",
 * "kind":...,"n":...,"p50_us":...,"p99_us":...,"max_us":...,"bytes":...}
 *
 * visible: for probe i, a call (a robbery on a street, which the standard
 * scores under 5.2.x) for a station is sent first through the dispatch
 * ingest and acknowledged; one rank query then gives every station's row.
 * Then, per probe, a legal review of that call's case with one suspect
 * arrested (a bonus the county's policy does not cap, so the station's
 * row always changes) is sent through the legal ingest; from its
 * acknowledgement, rank queries follow back to back until the station's
 * row differs; the delay is acknowledgement -> arrival of the first reply
 * that shows it. {"bench":"visible","n":...,"p50_us":...,"p99_us":...,
 * "max_us":...,"max_polls":...,"missed":...}; missed counts probes not
 * visible within 10 s (their delay is not in the percentiles).
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_util.h"
#include "kaohe.h"
#include "kh_codec.h"
#include "kh_county.h"
#include "kh_error.h"
#include "kh_proc.h"

#define TIMEOUT_MS      60000
#define VISIBLE_GIVE_UP (10 * BENCH_NS_PER_S)

static void *g_ctx;

/* A DEALER connected to DIR's endpoint NAME as an identity, handshake
 * done; NULL on failure. */
static void *connect_to(const char *dir, const char *name, const char *who)
{
    char ep[600];
    if (kh_endpoint(ep, sizeof ep, dir, name))
        return NULL;
    void *s = zmq_socket(g_ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (kh_client_curve(s, dir, who) != KH_OK || zmq_connect(s, ep) != 0) {
        zmq_close(s);
        return NULL;
    }
    zmq_pollitem_t it = {s, 0, ZMQ_POLLOUT, 0};
    if (zmq_poll(&it, 1, 5000) != 1) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Sends one message and waits for one reply (malloc'd into *out). */
static int round_trip(void *s, const uint8_t *req, size_t len, uint8_t **out,
                      size_t *outlen)
{
    if (zmq_send(s, req, len, 0) < 0)
        return KH_ENET;
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, TIMEOUT_MS) != 1)
        return KH_ETIMEOUT;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s, 0) < 0) {
        zmq_msg_close(&m);
        return KH_ENET;
    }
    *outlen = zmq_msg_size(&m);
    *out = malloc(*outlen ? *outlen : 1);
    if (*out)
        memcpy(*out, zmq_msg_data(&m), *outlen);
    zmq_msg_close(&m);
    return *out ? KH_OK : KH_ENOMEM;
}

/* One Query; the reply's JSON (malloc'd) in *json. */
static int query(void *s, const kh_query_t *q, char **json, size_t *bytes)
{
    uint8_t *req, *ans;
    size_t len, alen;
    int rc = kh_codec_query_encode(q, &req, &len);
    if (rc)
        return rc;
    rc = round_trip(s, req, len, &ans, &alen);
    free(req);
    if (rc)
        return rc;
    kh_reply_t rep;
    memset(&rep, 0, sizeof rep);
    rc = kh_codec_reply_decode(ans, alen, &rep);
    free(ans);
    if (rc == KH_OK && rep.code != KH_OK) {
        fprintf(stderr, "bench_client: ranker: %s\n", rep.error ? rep.error : "error");
        rc = rep.code;
    }
    if (rc == KH_OK) {
        *bytes = rep.json ? strlen(rep.json) : 0;
        *json = rep.json;
        rep.json = NULL;
    }
    kh_codec_reply_free(&rep);
    return rc;
}

/* One event line through an ingest; KH_OK when accepted. */
static int submit(void *s, uint64_t tag, const char *line)
{
    uint8_t *req, *ans;
    size_t len, alen;
    int rc = kh_codec_submit_encode(tag, line, strlen(line), false, &req, &len);
    if (rc)
        return rc;
    rc = round_trip(s, req, len, &ans, &alen);
    free(req);
    if (rc)
        return rc;
    kh_ack_t o;
    rc = kh_codec_outcome_decode(ans, alen, &o);
    free(ans);
    if (rc == KH_OK && o.status != KH_STATUS_ACCEPTED) {
        fprintf(stderr, "bench_client: event %s: %s %s\n", o.id, kh_status_name(o.status),
                o.reason);
        rc = KH_ESTORE;
    }
    return rc;
}

static void print_lat(const char *head, int64_t *lat, size_t n)
{
    qsort(lat, n, sizeof *lat, bench_cmp_i64);
    printf("%s,\"n\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f", head, n,
           bench_percentile(lat, n, 5000, 1) / 1e3,
           bench_percentile(lat, n, 9900, 1) / 1e3, n ? lat[n - 1] / 1e3 : 0.0);
}

static int run_query(const char *dir, int year, const char *kind, long count,
                     int64_t budget_ns, const kh_county_t *county)
{
    void *s = connect_to(dir, "ranker", "admin");
    if (!s)
        return 1;
    int64_t *lat = calloc((size_t)count, sizeof *lat);
    size_t n = 0, bytes = 0;
    int rc = lat ? KH_OK : KH_ENOMEM;
    int64_t t0 = bench_now_ns();
    while (rc == KH_OK && n < (size_t)count &&
           (n < 3 || bench_now_ns() - t0 < budget_ns)) {
        kh_query_t q;
        memset(&q, 0, sizeof q);
        q.tag = n + 1;
        q.year = year;
        if (strcmp(kind, "rank") == 0) {
            q.kind = KH_Q_RANK;
        } else {
            q.kind = KH_Q_STATION;
            snprintf(q.station, sizeof q.station, "%s",
                     county->stations[n % county->nstations].code);
        }
        char *json = NULL;
        int64_t t = bench_now_ns();
        rc = query(s, &q, &json, &bytes);
        lat[n++] = bench_now_ns() - t;
        free(json);
    }
    if (rc == KH_OK) {
        char head[96];
        snprintf(head, sizeof head, "{\"bench\":\"query\",\"kind\":\"%s\"", kind);
        print_lat(head, lat, n);
        printf(",\"bytes\":%zu}\n", bytes);
    } else {
        fprintf(stderr, "bench_client: query: %s\n", kh_strerror(rc));
    }
    free(lat);
    zmq_close(s);
    return rc == KH_OK ? 0 : 1;
}

/* code -> its rank row, compact with sorted keys, from a rank reply. */
static json_t *rows_of(const char *json)
{
    json_t *doc = json_loads(json, 0, NULL), *rows = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(doc, "stations"), i, row)
    {
        const char *code = json_string_value(json_object_get(row, "station"));
        char *text = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
        if (code && text)
            json_object_set_new(rows, code, json_string(text));
        free(text);
    }
    json_decref(doc);
    return rows;
}

static int run_visible(const char *dir, int year, long count, int64_t budget_ns,
                       const kh_county_t *county)
{
    void *disp = connect_to(dir, "ingest-dispatch", "dispatch");
    void *legal = connect_to(dir, "ingest-legal", "legal");
    void *rank = connect_to(dir, "ranker", "admin");
    int64_t *lat = calloc((size_t)count, sizeof *lat);
    if (!disp || !legal || !rank || !lat)
        return 1;
    long pid = (long)getpid();
    /* spread the probes over the county */
    size_t stride =
        county->nstations > (size_t)count ? county->nstations / (size_t)count : 1;
    char line[512];
    int rc = KH_OK;
    for (long i = 0; i < count && rc == KH_OK; i++) {
        const char *code =
            county->stations[((size_t)i * stride) % county->nstations].code;
        snprintf(line, sizeof line,
                 "{\"id\":\"BENCH-C%ld-%ld\",\"source\":\"dispatch\",\"type\":\"call\","
                 "\"time\":\"%d-12-31T10:00:00+08:00\",\"station\":\"%s\","
                 "\"case_id\":\"BENCH-K%ld-%ld\",\"case_kind\":\"robbery\","
                 "\"location\":\"street\"}",
                 pid, i, year, code, pid, i);
        rc = submit(disp, (uint64_t)i + 1, line);
    }
    kh_query_t q;
    memset(&q, 0, sizeof q);
    q.kind = KH_Q_RANK;
    q.year = year;
    char *json = NULL;
    size_t bytes;
    if (rc == KH_OK)
        rc = query(rank, &q, &json, &bytes);
    json_t *rows = rc == KH_OK ? rows_of(json) : NULL;
    free(json);
    size_t n = 0;
    long missed = 0, max_polls = 0;
    int64_t t0 = bench_now_ns();
    for (long i = 0;
         rc == KH_OK && i < count && (n < 3 || bench_now_ns() - t0 < budget_ns); i++) {
        const char *code =
            county->stations[((size_t)i * stride) % county->nstations].code;
        char before[4096];
        snprintf(before, sizeof before, "%s",
                 json_string_value(json_object_get(rows, code))
                     ? json_string_value(json_object_get(rows, code))
                     : "");
        snprintf(
            line, sizeof line,
            "{\"id\":\"BENCH-L%ld-%ld\",\"source\":\"legal\",\"type\":\"legal_review\","
            "\"time\":\"%d-12-31T11:00:00+08:00\",\"station\":\"%s\","
            "\"case_id\":\"BENCH-K%ld-%ld\",\"outcome\":\"suspects_arrested\","
            "\"suspects\":1}",
            pid, i, year, code, pid, i);
        if ((rc = submit(legal, (uint64_t)i + 1, line)) != KH_OK)
            break;
        int64_t acked = bench_now_ns();
        long polls = 0;
        for (;;) {
            polls++;
            rc = query(rank, &q, &json, &bytes);
            int64_t got = bench_now_ns();
            if (rc != KH_OK)
                break;
            json_t *now = rows_of(json);
            free(json);
            const char *row = json_string_value(json_object_get(now, code));
            bool changed = row && strcmp(row, before) != 0;
            json_decref(rows);
            rows = now;
            if (changed) {
                lat[n++] = got - acked;
                break;
            }
            if (got - acked > VISIBLE_GIVE_UP) {
                missed++;
                break;
            }
        }
        if (polls > max_polls)
            max_polls = polls;
    }
    json_decref(rows);
    if (rc == KH_OK) {
        print_lat("{\"bench\":\"visible\"", lat, n);
        printf(",\"max_polls\":%ld,\"missed\":%ld}\n", max_polls, missed);
    } else {
        fprintf(stderr, "bench_client: visible: %s\n", kh_strerror(rc));
    }
    free(lat);
    zmq_close(disp);
    zmq_close(legal);
    zmq_close(rank);
    return rc == KH_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr,
                "usage: bench_client query DIR YEAR rank|station COUNT BUDGET_MS\n"
                "       bench_client visible DIR YEAR COUNT BUDGET_MS\n");
        return 2;
    }
    char dir[PATH_MAX], cfg[PATH_MAX + 16], err[512];
    if (kh_abspath(dir, sizeof dir, argv[2]) != KH_OK) {
        fprintf(stderr, "bench_client: no directory %s\n", argv[2]);
        return 1;
    }
    kh_county_t *county = NULL;
    kh_path(cfg, sizeof cfg, dir, NULL, "county", "json");
    if (kh_county_load(&county, cfg, err, sizeof err) != KH_OK ||
        county->nstations == 0) {
        fprintf(stderr, "bench_client: %s: %s\n", cfg, err);
        return 1;
    }
    int year = atoi(argv[3]);
    g_ctx = zmq_ctx_new();
    int rc;
    if (strcmp(argv[1], "query") == 0 && argc >= 7)
        rc = run_query(dir, year, argv[4], atol(argv[5]),
                       (int64_t)atol(argv[6]) * BENCH_NS_PER_MS, county);
    else if (strcmp(argv[1], "visible") == 0)
        rc = run_visible(dir, year, atol(argv[4]),
                         (int64_t)atol(argv[5]) * BENCH_NS_PER_MS, county);
    else
        rc = 2;
    kh_county_free(&county);
    zmq_ctx_term(g_ctx);
    return rc;
}
