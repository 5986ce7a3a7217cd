/*
 * test_metrics.c - the metrics registry, its exposition text, the atomic
 * write and the reader kaohe status uses (kh_metrics.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kh_error.h"
#include "kh_metrics.h"

static const double lat[] = {0.001, 0.01, 0.1};

/* A small registry: a counter with two series, a gauge, a histogram. */
static kh_metrics_t *small(kh_counter_t **acc, kh_counter_t **rej, kh_gauge_t **g,
                           kh_histogram_t **h)
{
    kh_metrics_t *m;
    assert_int_equal(kh_metrics_new(&m, "ingest-station"), KH_OK);
    *acc = kh_metrics_counter(m, "events_total", "Events by outcome.",
                              "outcome=\"forwarded\"");
    *rej = kh_metrics_counter(m, "events_total", "Events by outcome.",
                              "outcome=\"rejected\"");
    *g = kh_metrics_gauge(m, "inflight_bytes", "Bytes in flight.", NULL);
    *h = kh_metrics_histogram(m, "ack_seconds", "Ack latency \\ in seconds.", "", lat, 3);
    assert_int_equal(kh_metrics_error(m), KH_OK);
    return m;
}

static void test_render_exact(void **state)
{
    (void)state;
    kh_counter_t *acc, *rej;
    kh_gauge_t *g;
    kh_histogram_t *h;
    kh_metrics_t *m = small(&acc, &rej, &g, &h);
    kh_counter_add(acc, 41);
    kh_counter_inc(acc);
    kh_counter_inc(rej);
    kh_gauge_set(g, 1048576);
    /* binary fractions, so that the sum is exact */
    kh_histogram_observe(h, 0.00048828125); /* le 0.001 */
    kh_histogram_observe(h, 0.001);         /* le 0.001: bounds are inclusive */
    kh_histogram_observe(h, 0.0625);        /* le 0.1 */
    kh_histogram_observe(h, 3);             /* +Inf only */
    assert_int_equal(kh_histogram_count(h), 4);
    char *text;
    size_t len;
    assert_int_equal(kh_metrics_render(m, &text, &len), KH_OK);
    const char *want =
        "# HELP kaohe_events_total Events by outcome.\n"
        "# TYPE kaohe_events_total counter\n"
        "kaohe_events_total{service=\"ingest-station\",outcome=\"forwarded\"} 42\n"
        "kaohe_events_total{service=\"ingest-station\",outcome=\"rejected\"} 1\n"
        "# HELP kaohe_inflight_bytes Bytes in flight.\n"
        "# TYPE kaohe_inflight_bytes gauge\n"
        "kaohe_inflight_bytes{service=\"ingest-station\"} 1048576\n"
        "# HELP kaohe_ack_seconds Ack latency \\\\ in seconds.\n"
        "# TYPE kaohe_ack_seconds histogram\n"
        "kaohe_ack_seconds_bucket{service=\"ingest-station\",le=\"0.001\"} 2\n"
        "kaohe_ack_seconds_bucket{service=\"ingest-station\",le=\"0.01\"} 2\n"
        "kaohe_ack_seconds_bucket{service=\"ingest-station\",le=\"0.1\"} 3\n"
        "kaohe_ack_seconds_bucket{service=\"ingest-station\",le=\"+Inf\"} 4\n"
        "kaohe_ack_seconds_sum{service=\"ingest-station\"} 3.06398828125\n"
        "kaohe_ack_seconds_count{service=\"ingest-station\"} 4\n";
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);
    kh_metrics_free(&m);
    assert_null(m);
    kh_metrics_free(&m); /* NULL is fine */
}

static void test_histogram_with_labels(void **state)
{
    (void)state;
    kh_metrics_t *m;
    assert_int_equal(kh_metrics_new(&m, "ranker"), KH_OK);
    static const double b[] = {1, 2.5};
    kh_histogram_t *r = kh_metrics_histogram(m, "q_seconds", "Q.", "kind=\"rank\"", b, 2);
    kh_histogram_t *s =
        kh_metrics_histogram(m, "q_seconds", "Q.", "kind=\"station\"", b, 2);
    assert_ptr_not_equal(r, s);
    /* The same name and labels again: the same series. */
    assert_ptr_equal(kh_metrics_histogram(m, "q_seconds", "Q.", "kind=\"rank\"", b, 2),
                     r);
    kh_histogram_observe(s, 2);
    kh_histogram_observe(s, 2);
    kh_histogram_observe(s, 0.5);
    assert_int_equal(kh_metrics_error(m), KH_OK);
    char *text;
    size_t len;
    assert_int_equal(kh_metrics_render(m, &text, &len), KH_OK);
    const char *want =
        "# HELP kaohe_q_seconds Q.\n"
        "# TYPE kaohe_q_seconds histogram\n"
        "kaohe_q_seconds_bucket{service=\"ranker\",kind=\"rank\",le=\"1\"} 0\n"
        "kaohe_q_seconds_bucket{service=\"ranker\",kind=\"rank\",le=\"2.5\"} 0\n"
        "kaohe_q_seconds_bucket{service=\"ranker\",kind=\"rank\",le=\"+Inf\"} 0\n"
        "kaohe_q_seconds_sum{service=\"ranker\",kind=\"rank\"} 0\n"
        "kaohe_q_seconds_count{service=\"ranker\",kind=\"rank\"} 0\n"
        "kaohe_q_seconds_bucket{service=\"ranker\",kind=\"station\",le=\"1\"} 1\n"
        "kaohe_q_seconds_bucket{service=\"ranker\",kind=\"station\",le=\"2.5\"} 3\n"
        "kaohe_q_seconds_bucket{service=\"ranker\",kind=\"station\",le=\"+Inf\"} 3\n"
        "kaohe_q_seconds_sum{service=\"ranker\",kind=\"station\"} 4.5\n"
        "kaohe_q_seconds_count{service=\"ranker\",kind=\"station\"} 3\n";
    assert_string_equal(text, want);
    free(text);
    kh_metrics_free(&m);
}

static void test_bad_registrations(void **state)
{
    (void)state;
    kh_metrics_t *m;
    assert_int_equal(kh_metrics_new(&m, "bad\"name"), KH_EINVAL);
    assert_null(m);
    assert_int_equal(kh_metrics_new(&m, "scorer"), KH_OK);
    kh_counter_t *ok = kh_metrics_counter(m, "x_total", "X.", NULL);
    assert_int_equal(kh_metrics_error(m), KH_OK);
    static const double b[] = {2, 1};
    /* Each failure returns a usable series that is never rendered. */
    kh_counter_inc(kh_metrics_counter(m, "1bad", "X.", NULL));
    kh_counter_inc(kh_metrics_counter(m, "bad-name", "X.", NULL));
    kh_counter_inc(kh_metrics_counter(m, "y_total", "two\nlines", NULL));
    kh_counter_inc(kh_metrics_counter(m, "y_total", "Y.", "reason=forbidden"));
    kh_counter_inc(kh_metrics_counter(m, "y_total", "Y.", "service=\"x\""));
    kh_counter_inc(kh_metrics_counter(m, "y_total", "Y.", "a=\"1\","));
    kh_gauge_set(kh_metrics_gauge(m, "x_total", "X.", NULL), 3); /* another kind */
    kh_histogram_observe(kh_metrics_histogram(m, "h", "H.", NULL, b, 2), 1);
    kh_histogram_observe(kh_metrics_histogram(m, "h", "H.", "le=\"1\"", b + 1, 1), 1);
    assert_int_equal(kh_metrics_error(m), KH_EINVAL);
    kh_counter_inc(ok);
    char *text;
    size_t len;
    assert_int_equal(kh_metrics_render(m, &text, &len), KH_OK);
    assert_string_equal(text, "# HELP kaohe_x_total X.\n"
                              "# TYPE kaohe_x_total counter\n"
                              "kaohe_x_total{service=\"scorer\"} 1\n");
    free(text);
    kh_metrics_free(&m);
}

static int count_cb(const kh_metrics_sample_t *s, void *arg)
{
    (void)s;
    (*(int *)arg)++;
    return 0;
}

static void test_write_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/kh-metrics.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/ingest-station.prom", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    kh_counter_t *acc, *rej;
    kh_gauge_t *g;
    kh_histogram_t *h;
    kh_metrics_t *m = small(&acc, &rej, &g, &h);
    char err[256];
    /* An old file and a stale temporary file are both replaced. */
    FILE *f = fopen(path, "w");
    fputs("old\n", f);
    fclose(f);
    f = fopen(tmp, "w");
    fputs("leftover from a crash\n", f);
    fclose(f);
    mode_t old = umask(077); /* as under systemd */
    kh_counter_add(acc, 7);
    int rc = kh_metrics_write(m, path, err, sizeof err);
    umask(old);
    assert_int_equal(rc, KH_OK);
    assert_int_equal(access(tmp, F_OK), -1); /* renamed away */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    char *text;
    size_t len;
    assert_int_equal(kh_metrics_render(m, &text, &len), KH_OK);
    char *got = calloc(1, len + 16);
    f = fopen(path, "r");
    assert_int_equal(fread(got, 1, len + 8, f), len);
    fclose(f);
    assert_string_equal(got, text);
    /* What was written reads back: every sample, nothing rejected. */
    int n = 0;
    size_t bad = 0;
    assert_int_equal(kh_metrics_parse(got, len, count_cb, &n, &bad), KH_OK);
    assert_int_equal(n, 3 + 4 + 2);
    free(got);
    free(text);

    /* A directory that does not exist: the error names the step, the path
     * and the cause; nothing is left behind. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope/x.prom", dir);
    assert_int_equal(kh_metrics_write(m, missing, err, sizeof err), KH_EIO);
    assert_non_null(strstr(err, "open "));
    assert_non_null(strstr(err, "nope/x.prom.tmp"));
    assert_non_null(strstr(err, "No such file or directory"));
    kh_metrics_free(&m);
    unlink(path);
    rmdir(dir);
}

typedef struct found {
    double rejected, bucket_inf;
    char reason[32];
} found_t;

static int find_cb(const kh_metrics_sample_t *s, void *arg)
{
    found_t *f = arg;
    char v[32];
    if (strcmp(s->name, "kaohe_rejected_total") == 0 &&
        kh_metrics_label(s->labels, "reason", v, sizeof v) == KH_OK &&
        strcmp(v, "unknown_station") == 0) {
        f->rejected = s->value;
        snprintf(f->reason, sizeof f->reason, "%s", v);
    }
    if (strcmp(s->name, "kaohe_h_bucket") == 0 &&
        kh_metrics_label(s->labels, "le", v, sizeof v) == KH_OK && strcmp(v, "+Inf") == 0)
        f->bucket_inf = s->value;
    return 0;
}

static void test_parse(void **state)
{
    (void)state;
    const char *text =
        "# HELP kaohe_rejected_total Rejections.\n"
        "# TYPE kaohe_rejected_total counter\n"
        "kaohe_rejected_total{service=\"s\",reason=\"forbidden\"} 2\n"
        "kaohe_rejected_total{service=\"s\",reason=\"unknown_station\"} 5\n"
        "# a comment\n"
        "\n"
        "kaohe_h_bucket{le=\"+Inf\",x=\"a\\\"b\"} 9 1700000000000\n"
        "kaohe_g NaN\n";
    found_t f = {0};
    assert_int_equal(kh_metrics_parse(text, strlen(text), find_cb, &f, NULL), KH_OK);
    assert_true(f.rejected == 5);
    assert_true(f.bucket_inf == 9);
    char v[8];
    assert_int_equal(kh_metrics_label("a=\"x\",b=\"y\\\"z\"", "b", v, sizeof v), KH_OK);
    assert_string_equal(v, "y\"z");
    assert_int_equal(kh_metrics_label("a=\"x\"", "b", v, sizeof v), KH_ENOTFOUND);
    assert_int_equal(kh_metrics_label("a=\"0123456789\"", "a", v, sizeof v), KH_ERANGE);

    static const char *const bad[] = {
        "kaohe_x{service=\"s\"}\n",    /* no value */
        "kaohe_x{service=\"s\"} 1x\n", /* not a number */
        "kaohe_x{service=s} 1\n",      /* unquoted */
        "kaohe_x{service=\"s\" 1\n",   /* unclosed */
        "kaohe-x 1\n",                 /* bad name */
        "# TYPE kaohe_x counters\n",   /* unknown kind */
        "kaohe_x 1\nkaohe_y  2\n",     /* two blanks */
        "kaohe_x inf\n",               /* Go spells it +Inf */
        "kaohe_x{a=\"1\"} 1 12x\n",    /* bad timestamp */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t line = 0;
        int rc = kh_metrics_parse(bad[i], strlen(bad[i]), NULL, NULL, &line);
        if (rc != KH_EPROTO)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(line, i == 6 ? 2 : 1);
    }
}

static void test_quantile(void **state)
{
    (void)state;
    double b[] = {0.001, 0.01, 0.1, INFINITY};
    uint64_t cum[] = {50, 90, 100, 100};
    /* p50: the 50th of 100, at the top of the first bucket. */
    assert_true(fabs(kh_metrics_quantile(0.5, b, cum, 4) - 0.001) < 1e-12);
    /* p99: the 99th, 9/10 into (0.01, 0.1]. */
    assert_true(fabs(kh_metrics_quantile(0.99, b, cum, 4) - 0.091) < 1e-12);
    /* Beyond the largest finite bound: that bound. */
    uint64_t tail[] = {0, 0, 1, 10};
    assert_true(kh_metrics_quantile(0.99, b, tail, 4) == 0.1);
    uint64_t none[] = {0, 0, 0, 0};
    assert_true(isnan(kh_metrics_quantile(0.99, b, none, 4)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_histogram_with_labels),
        cmocka_unit_test(test_bad_registrations),
        cmocka_unit_test(test_write_atomic),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_quantile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
