/*
 * bench_util.h - what the benchmark programs share: a monotonic clock in
 * nanoseconds, nearest-rank percentiles, and reading JSON Lines.
 *
 * Header-only (static functions): each bench_*.c is one small program.
 * Results go to stdout as one JSON object per line, which bench/run.sh
 * reads with jq; diagnostics go to stderr.
 */
#ifndef KH_BENCH_UTIL_H
#define KH_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_NS_PER_S  INT64_C(1000000000)
#define BENCH_NS_PER_MS INT64_C(1000000)

static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * BENCH_NS_PER_S + ts.tv_nsec;
}

static inline int bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts v and returns its nearest-rank percentile (per 10,000: 5000 is
 * the median, 9900 p99); 0 when n is 0. */
static inline int64_t bench_percentile(int64_t *v, size_t n, uint64_t per10k, int sorted)
{
    if (n == 0)
        return 0;
    if (!sorted)
        qsort(v, n, sizeof *v, bench_cmp_i64);
    uint64_t rank = ((uint64_t)n * per10k + 9999) / 10000;
    return v[rank ? rank - 1 : 0];
}

/* A rate in events per second from a count and a duration in ns. */
static inline double bench_rate(uint64_t n, int64_t ns)
{
    return ns > 0 ? (double)n * 1e9 / (double)ns : 0.0;
}

/* The non-blank lines of a file, up to max (0: all); each malloc'd. */
typedef struct bench_lines {
    char **v;
    size_t *len;
    size_t n;
} bench_lines_t;

static inline int bench_read_lines(const char *path, size_t max, bench_lines_t *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 0;
    char *buf = NULL;
    size_t bcap = 0;
    ssize_t got;
    while ((max == 0 || out->n < max) && (got = getline(&buf, &bcap, f)) >= 0) {
        size_t len = (size_t)got;
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **v = realloc(out->v, cap * sizeof *v);
            size_t *l = realloc(out->len, cap * sizeof *l);
            if (v)
                out->v = v;
            if (l)
                out->len = l;
            if (!v || !l)
                break;
        }
        out->v[out->n] = malloc(len + 1);
        if (!out->v[out->n])
            break;
        memcpy(out->v[out->n], buf, len);
        out->v[out->n][len] = '\0';
        out->len[out->n++] = len;
    }
    free(buf);
    fclose(f);
    return 0;
}

static inline void bench_lines_free(bench_lines_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    free(l->len);
    memset(l, 0, sizeof *l);
}

#endif
