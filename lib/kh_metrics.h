/*
 * kh_metrics.h - a small registry of Prometheus metrics, rendered in the
 * text exposition format and written atomically to a file that
 * node_exporter's textfile collector reads.
 *
 * A registry belongs to one service: every series it renders carries the
 * label service="NAME", and every metric name the prefix "kaohe_". Three
 * kinds, each a family of series that differ by a fixed label string:
 *
 *   counter    a uint64 that only grows     kh_counter_inc, kh_counter_add
 *   gauge      a double set to a value      kh_gauge_set
 *   histogram  fixed buckets given at       kh_histogram_observe
 *              creation, cumulative when
 *              rendered, with _sum and _count
 *
 * Registering returns the series the caller then updates directly: an
 * update is a plain store or increment, with no lookup, no lock and no
 * allocation (the registry lives on one loop thread). Registration never
 * returns NULL: when it fails (out of memory, a bad name, labels that do
 * not parse, a name already registered as another kind or with other
 * buckets) it returns a series that is updated but never rendered, and
 * the registry keeps its first error for kh_metrics_error(): register
 * everything, then check once.
 *
 * Labels are given as the text between the braces, without the service
 * label: NULL or "" for none, else `reason="forbidden"` or
 * `kind="rank",cache="scorecard"` (names [a-zA-Z_][a-zA-Z0-9_]*, values
 * with \\, \" and \n escaped). Families and their series render in the
 * order they were registered.
 */
#ifndef KH_METRICS_H
#define KH_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct kh_metrics kh_metrics_t;

typedef struct kh_counter {
    uint64_t value;
} kh_counter_t;

typedef struct kh_gauge {
    double value;
} kh_gauge_t;

typedef struct kh_histogram kh_histogram_t;

/* A registry for the service NAME (the value of every series' service
 * label). KH_OK, KH_EINVAL for a name with '"', '\\' or a newline, or
 * KH_ENOMEM. */
int kh_metrics_new(kh_metrics_t **out, const char *service);
void kh_metrics_free(kh_metrics_t **self_p);

/* The first error a registration met, KH_OK if none. */
int kh_metrics_error(const kh_metrics_t *m);

/* name without the "kaohe_" prefix ("scorer_events_total"); help one line
 * of text. */
kh_counter_t *kh_metrics_counter(kh_metrics_t *m, const char *name, const char *help,
                                 const char *labels);
kh_gauge_t *kh_metrics_gauge(kh_metrics_t *m, const char *name, const char *help,
                             const char *labels);
/* bounds: the buckets' upper bounds, finite and strictly increasing (the
 * +Inf bucket is implied); the registry keeps its own copy. Every series
 * of one histogram family has the same buckets. */
kh_histogram_t *kh_metrics_histogram(kh_metrics_t *m, const char *name, const char *help,
                                     const char *labels, const double *bounds,
                                     size_t nbounds);

/* The buckets of kaohe's latency histograms, in seconds: 0.5 ms to 10 s,
 * 1-2.5-5 per decade (static const double b[] = KH_METRICS_SECONDS). */
#define KH_METRICS_SECONDS                                                               \
    {                                                                                    \
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10   \
    }

static inline void kh_counter_inc(kh_counter_t *c)
{
    c->value++;
}

static inline void kh_counter_add(kh_counter_t *c, uint64_t n)
{
    c->value += n;
}

static inline void kh_gauge_set(kh_gauge_t *g, double v)
{
    g->value = v;
}

/* Counts v in the first bucket whose bound is >= v (else in +Inf) and
 * adds it to the sum. A few comparisons: observe once per batch or per
 * request, not per event. */
void kh_histogram_observe(kh_histogram_t *h, double v);
/* Observations so far. */
uint64_t kh_histogram_count(const kh_histogram_t *h);

/*
 * The exposition text of every rendered series (malloc'd, NUL-terminated,
 * *len without the NUL), for example:
 *
 *   # HELP kaohe_scorer_batches_total Write transactions committed.
 *   # TYPE kaohe_scorer_batches_total counter
 *   kaohe_scorer_batches_total{service="scorer"} 12
 *
 * A histogram renders NAME_bucket{...,le="B"} (cumulative, ending with
 * le="+Inf"), NAME_sum and NAME_count. KH_OK or KH_ENOMEM.
 */
int kh_metrics_render(const kh_metrics_t *m, char **text, size_t *len);

/*
 * Renders and writes to path atomically: to "PATH.tmp" (mode 0644 whatever
 * the umask: node_exporter runs as another user), fsync, rename over path.
 * A reader sees the old file or the new one, never part of one. KH_OK, or
 * KH_EIO / KH_ENOSPC / KH_ENOMEM with err naming the step and the cause
 * ("open /x/scorer.prom.tmp: Permission denied").
 */
int kh_metrics_write(const kh_metrics_t *m, const char *path, char *err, size_t errlen);

/* --- reading the files back (kaohe status) --- */

typedef struct kh_metrics_sample {
    char name[128];   /* "kaohe_scorer_events_total" */
    char labels[512]; /* the text between the braces, "" when none */
    double value;
} kh_metrics_sample_t;

/* Called for each sample; a non-zero return stops the parse and is
 * returned. */
typedef int (*kh_metrics_sample_cb)(const kh_metrics_sample_t *s, void *arg);

/*
 * Parses exposition text line by line: empty lines, "# HELP NAME TEXT",
 * "# TYPE NAME counter|gauge|histogram|summary|untyped", other comments,
 * and samples "NAME{LABELS} VALUE [TIMESTAMP]" whose name and labels are
 * as above and whose value is a number, NaN, +Inf or -Inf. KH_OK, or
 * KH_EPROTO at the first line that is none of these (*bad_line: its
 * 1-based number, when bad_line is not NULL).
 */
int kh_metrics_parse(const char *text, size_t len, kh_metrics_sample_cb cb, void *arg,
                     size_t *bad_line);

/* The value of label key in a label text, unescaped. KH_OK, KH_ENOTFOUND,
 * or KH_ERANGE when it does not fit cap. */
int kh_metrics_label(const char *labels, const char *key, char *val, size_t cap);

/*
 * Estimates the q-quantile (0 < q < 1) of a rendered histogram from its
 * cumulative buckets, as PromQL's histogram_quantile does: linear
 * interpolation inside the bucket where the rank falls; the largest finite
 * bound when it falls in +Inf; NaN without observations. bounds[i] is the
 * upper bound of cumulative count cum[i]; the last entry is +Inf.
 */
double kh_metrics_quantile(double q, const double *bounds, const uint64_t *cum, size_t n);

#endif
