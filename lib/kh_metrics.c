/*
 * kh_metrics.c - Prometheus metrics of one service; see kh_metrics.h.
 *
 * A registry is a list of families in registration order, each with its
 * series in registration order, so the rendered text is deterministic
 * (tests compare it byte for byte). A series is allocated once and never
 * moves: the pointer a registration returns stays valid until
 * kh_metrics_free. Histogram buckets are counted per bucket and made
 * cumulative only when rendered, so an observation touches one bucket.
 *
 * The text follows Prometheus' exposition format 0.0.4: per family one
 * "# HELP" and one "# TYPE" line, then its samples; label values and help
 * texts escaped; numbers as Go's ParseFloat reads them (NaN, +Inf, -Inf).
 */
#include "kh_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kh_error.h"

#define PREFIX "kaohe_"

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

static const char *const kind_names[] = {"counter", "gauge", "histogram"};

struct kh_histogram {
    const double *bounds; /* the family's */
    size_t nbounds;
    uint64_t *buckets; /* nbounds + 1, not cumulative; the last is +Inf */
    double sum;
    uint64_t count;
};

typedef struct series {
    kh_counter_t counter;
    kh_gauge_t gauge;
    kh_histogram_t hist;
    char *labels;
    struct series *next;
} series_t;

typedef struct family {
    char *name; /* with the prefix */
    char *help;
    kind_t kind;
    double *bounds;
    size_t nbounds;
    series_t *first, *last;
    struct family *next;
} family_t;

struct kh_metrics {
    char *service;
    family_t *first, *last;
    int err;
    /* What a failed registration returns: updated, never rendered. */
    series_t sink;
    uint64_t sink_bucket;
};

int kh_metrics_new(kh_metrics_t **out, const char *service)
{
    *out = NULL;
    if (!service || strpbrk(service, "\"\\\n"))
        return KH_EINVAL;
    kh_metrics_t *m = calloc(1, sizeof *m);
    if (!m)
        return KH_ENOMEM;
    if (!(m->service = strdup(service))) {
        free(m);
        return KH_ENOMEM;
    }
    m->sink.hist.buckets = &m->sink_bucket;
    *out = m;
    return KH_OK;
}

void kh_metrics_free(kh_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_metrics_t *m = *self_p;
    family_t *f = m->first;
    while (f) {
        family_t *fn = f->next;
        series_t *s = f->first;
        while (s) {
            series_t *sn = s->next;
            free(s->labels);
            free(s->hist.buckets);
            free(s);
            s = sn;
        }
        free(f->name);
        free(f->help);
        free(f->bounds);
        free(f);
        f = fn;
    }
    free(m->service);
    free(m);
    *self_p = NULL;
}

int kh_metrics_error(const kh_metrics_t *m)
{
    return m->err;
}

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Length of the metric name at s (0: none). */
static size_t name_len(const char *s)
{
    size_t n = 0;
    while (name_char(s[n], n == 0))
        n++;
    return n;
}

/* Checks a label text (kh_metrics.h); *has_reserved when it names le or
 * service. Returns the length parsed when the whole text is labels,
 * else -1. Stops at end (a '}' or the NUL). */
static long parse_labels(const char *s, char end, bool *has_reserved)
{
    const char *p = s;
    if (has_reserved)
        *has_reserved = false;
    while (*p && *p != end) {
        const char *k = p;
        while (name_char(*p, p == k) && *p != ':')
            p++;
        if (p == k || p[0] != '=' || p[1] != '"')
            return -1;
        if (has_reserved && ((p - k == 2 && strncmp(k, "le", 2) == 0) ||
                             (p - k == 7 && strncmp(k, "service", 7) == 0)))
            *has_reserved = true;
        for (p += 2; *p != '"'; p++) {
            if (*p == '\0' || *p == '\n')
                return -1;
            if (*p == '\\') {
                p++;
                if (*p != '\\' && *p != '"' && *p != 'n')
                    return -1;
            }
        }
        p++;
        if (*p == ',' && p[1] != end && p[1] != '\0')
            p++;
        else if (*p != end && *p != '\0')
            return -1;
    }
    return (long)(p - s);
}

static series_t *fail(kh_metrics_t *m, int err)
{
    if (m->err == KH_OK)
        m->err = err;
    return &m->sink;
}

/* Finds or adds the family and the series; the sink on any failure. */
static series_t *reg(kh_metrics_t *m, kind_t kind, const char *name, const char *help,
                     const char *labels, const double *bounds, size_t nbounds)
{
    if (!labels)
        labels = "";
    bool reserved;
    size_t nl = name ? name_len(name) : 0;
    if (nl == 0 || name[nl] != '\0' || !help || strchr(help, '\n') ||
        parse_labels(labels, '\0', &reserved) < 0 || reserved)
        return fail(m, KH_EINVAL);
    for (size_t i = 0; i < nbounds; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return fail(m, KH_EINVAL);
    family_t *f;
    for (f = m->first; f; f = f->next)
        if (strcmp(f->name + strlen(PREFIX), name) == 0)
            break;
    if (f) {
        if (f->kind != kind ||
            (kind == KIND_HISTOGRAM &&
             (f->nbounds != nbounds ||
              (nbounds && memcmp(f->bounds, bounds, nbounds * sizeof *bounds) != 0))))
            return fail(m, KH_EINVAL);
        for (series_t *s = f->first; s; s = s->next)
            if (strcmp(s->labels, labels) == 0)
                return s;
    } else {
        if (!(f = calloc(1, sizeof *f)))
            return fail(m, KH_ENOMEM);
        f->kind = kind;
        f->name = malloc(strlen(PREFIX) + nl + 1);
        f->help = strdup(help);
        f->bounds = malloc((nbounds ? nbounds : 1) * sizeof *f->bounds);
        if (!f->name || !f->help || !f->bounds) {
            free(f->name);
            free(f->help);
            free(f->bounds);
            free(f);
            return fail(m, KH_ENOMEM);
        }
        memcpy(f->name, PREFIX, strlen(PREFIX));
        memcpy(f->name + strlen(PREFIX), name, nl + 1);
        if (nbounds)
            memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
        f->nbounds = nbounds;
        if (m->last)
            m->last->next = f;
        else
            m->first = f;
        m->last = f;
    }
    series_t *s = calloc(1, sizeof *s);
    if (!s || !(s->labels = strdup(labels)) ||
        !(s->hist.buckets = calloc(f->nbounds + 1, sizeof *s->hist.buckets))) {
        if (s)
            free(s->labels);
        free(s);
        return fail(m, KH_ENOMEM);
    }
    s->hist.bounds = f->bounds;
    s->hist.nbounds = f->nbounds;
    if (f->last)
        f->last->next = s;
    else
        f->first = s;
    f->last = s;
    return s;
}

kh_counter_t *kh_metrics_counter(kh_metrics_t *m, const char *name, const char *help,
                                 const char *labels)
{
    return &reg(m, KIND_COUNTER, name, help, labels, NULL, 0)->counter;
}

kh_gauge_t *kh_metrics_gauge(kh_metrics_t *m, const char *name, const char *help,
                             const char *labels)
{
    return &reg(m, KIND_GAUGE, name, help, labels, NULL, 0)->gauge;
}

kh_histogram_t *kh_metrics_histogram(kh_metrics_t *m, const char *name, const char *help,
                                     const char *labels, const double *bounds,
                                     size_t nbounds)
{
    return &reg(m, KIND_HISTOGRAM, name, help, labels, bounds, nbounds)->hist;
}

void kh_histogram_observe(kh_histogram_t *h, double v)
{
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    h->buckets[i]++;
    h->sum += v;
    h->count++;
}

uint64_t kh_histogram_count(const kh_histogram_t *h)
{
    return h->count;
}

/* A double as Prometheus reads it, in as few digits as give it back. */
static const char *fmt_double(char *buf, size_t cap, double v)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* The label braces of a series: service first, then the series' own, then
 * le (a bucket) when given. */
static void put_labels(FILE *out, const kh_metrics_t *m, const series_t *s,
                       const char *le)
{
    fprintf(out, "{service=\"%s\"", m->service);
    if (s->labels[0])
        fprintf(out, ",%s", s->labels);
    if (le)
        fprintf(out, ",le=\"%s\"", le);
    fputc('}', out);
}

static void put_help(FILE *out, const char *help)
{
    for (; *help; help++) {
        if (*help == '\\')
            fputs("\\\\", out);
        else
            fputc(*help, out);
    }
}

int kh_metrics_render(const kh_metrics_t *m, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    char *buf = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&buf, &n);
    if (!out)
        return KH_ENOMEM;
    char num[40];
    for (const family_t *f = m->first; f; f = f->next) {
        if (!f->first)
            continue;
        fprintf(out, "# HELP %s ", f->name);
        put_help(out, f->help);
        fprintf(out, "\n# TYPE %s %s\n", f->name, kind_names[f->kind]);
        for (const series_t *s = f->first; s; s = s->next) {
            switch (f->kind) {
            case KIND_COUNTER:
                fputs(f->name, out);
                put_labels(out, m, s, NULL);
                fprintf(out, " %" PRIu64 "\n", s->counter.value);
                break;
            case KIND_GAUGE:
                fputs(f->name, out);
                put_labels(out, m, s, NULL);
                fprintf(out, " %s\n", fmt_double(num, sizeof num, s->gauge.value));
                break;
            case KIND_HISTOGRAM: {
                uint64_t cum = 0;
                for (size_t i = 0; i <= f->nbounds; i++) {
                    cum += s->hist.buckets[i];
                    fprintf(out, "%s_bucket", f->name);
                    put_labels(out, m, s,
                               i < f->nbounds ? fmt_double(num, sizeof num, f->bounds[i])
                                              : "+Inf");
                    fprintf(out, " %" PRIu64 "\n", cum);
                }
                fprintf(out, "%s_sum", f->name);
                put_labels(out, m, s, NULL);
                fprintf(out, " %s\n", fmt_double(num, sizeof num, s->hist.sum));
                fprintf(out, "%s_count", f->name);
                put_labels(out, m, s, NULL);
                fprintf(out, " %" PRIu64 "\n", s->hist.count);
                break;
            }
            }
        }
    }
    bool bad = ferror(out) != 0;
    if (fclose(out) != 0 || bad || !buf) {
        free(buf);
        return KH_ENOMEM;
    }
    *text = buf;
    *len = n;
    return KH_OK;
}

static int io_error(char *err, size_t errlen, const char *step, const char *path)
{
    int e = errno;
    if (err && errlen)
        snprintf(err, errlen, "%s %s: %s", step, path, strerror(e));
    return e == ENOSPC || e == EDQUOT ? KH_ENOSPC : KH_EIO;
}

int kh_metrics_write(const kh_metrics_t *m, const char *path, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    char *text;
    size_t len;
    int rc = kh_metrics_render(m, &text, &len);
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "render: %s", kh_strerror(rc));
        return rc;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        free(text);
        if (err && errlen)
            snprintf(err, errlen, "render: %s", kh_strerror(KH_ENOMEM));
        return KH_ENOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = io_error(err, errlen, "open", tmp);
        goto fail_open;
    }
    /* The umask of a service is 0077; node_exporter must read the file. */
    if (fchmod(fd, 0644) != 0) {
        rc = io_error(err, errlen, "chmod", tmp);
        goto fail_write;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            rc = io_error(err, errlen, "write", tmp);
            goto fail_write;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        rc = io_error(err, errlen, "fsync", tmp);
        goto fail_write;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = io_error(err, errlen, "close", tmp);
        goto fail_write;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = io_error(err, errlen, "rename to", path);
        goto fail_write;
    }
    free(tmp);
    free(text);
    return KH_OK;
fail_write:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
fail_open:
    free(tmp);
    free(text);
    return rc;
}

/* A sample value: a number strtod reads whole, or NaN, +Inf, -Inf. */
static bool parse_value(const char *s, size_t n, double *v)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strcmp(buf, "NaN") == 0) {
        *v = NAN;
        return true;
    }
    if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "-Inf") == 0) {
        *v = buf[0] == '+' ? INFINITY : -INFINITY;
        return true;
    }
    /* strtod would also take "inf", "nan", hex and leading blanks */
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", buf[i]))
            return false;
    char *end;
    errno = 0;
    *v = strtod(buf, &end);
    return end == buf + n && errno != ERANGE;
}

/* One line (NUL-terminated, without its newline). */
static int parse_line(const char *l, kh_metrics_sample_cb cb, void *arg)
{
    if (l[0] == '\0')
        return KH_OK;
    if (l[0] == '#') {
        bool help = strncmp(l, "# HELP ", 7) == 0, type = strncmp(l, "# TYPE ", 7) == 0;
        if (!help && !type)
            return KH_OK; /* a comment */
        size_t n = name_len(l + 7);
        if (n == 0 || (l[7 + n] != ' ' && l[7 + n] != '\0'))
            return KH_EPROTO;
        if (help)
            return KH_OK;
        const char *k = l[7 + n] ? l + 8 + n : "";
        static const char *const kinds[] = {"counter", "gauge", "histogram", "summary",
                                            "untyped"};
        for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
            if (strcmp(k, kinds[i]) == 0)
                return KH_OK;
        return KH_EPROTO;
    }
    kh_metrics_sample_t s;
    size_t n = name_len(l);
    if (n == 0 || n >= sizeof s.name)
        return KH_EPROTO;
    memcpy(s.name, l, n);
    s.name[n] = '\0';
    const char *p = l + n;
    s.labels[0] = '\0';
    if (*p == '{') {
        long ln = parse_labels(p + 1, '}', NULL);
        if (ln < 0 || p[1 + ln] != '}' || (size_t)ln >= sizeof s.labels)
            return KH_EPROTO;
        memcpy(s.labels, p + 1, (size_t)ln);
        s.labels[ln] = '\0';
        p += ln + 2;
    }
    if (*p != ' ')
        return KH_EPROTO;
    p++;
    const char *sp = strchr(p, ' ');
    size_t vn = sp ? (size_t)(sp - p) : strlen(p);
    if (!parse_value(p, vn, &s.value))
        return KH_EPROTO;
    if (sp) { /* a timestamp: an integer of milliseconds */
        const char *t = sp + 1;
        if (*t == '-')
            t++;
        if (!*t || strspn(t, "0123456789") != strlen(t))
            return KH_EPROTO;
    }
    return cb ? cb(&s, arg) : KH_OK;
}

int kh_metrics_parse(const char *text, size_t len, kh_metrics_sample_cb cb, void *arg,
                     size_t *bad_line)
{
    char line[2048];
    size_t no = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        no++;
        int rc = KH_EPROTO;
        if (n < sizeof line && !memchr(text + i, '\0', n)) {
            memcpy(line, text + i, n);
            line[n] = '\0';
            rc = parse_line(line, cb, arg);
        }
        if (rc) {
            if (bad_line)
                *bad_line = no;
            return rc;
        }
        i += n + (nl ? 1 : 0);
    }
    return KH_OK;
}

int kh_metrics_label(const char *labels, const char *key, char *val, size_t cap)
{
    size_t kn = strlen(key);
    const char *p = labels;
    while (*p) {
        const char *k = p;
        const char *eq = strchr(p, '=');
        if (!eq || eq[1] != '"')
            return KH_ENOTFOUND;
        bool match = (size_t)(eq - k) == kn && strncmp(k, key, kn) == 0;
        size_t o = 0;
        for (p = eq + 2; *p && *p != '"'; p++) {
            char c = *p;
            if (c == '\\' && p[1]) {
                p++;
                c = *p == 'n' ? '\n' : *p;
            }
            if (match) {
                if (o + 1 >= cap)
                    return KH_ERANGE;
                val[o++] = c;
            }
        }
        if (match) {
            val[o] = '\0';
            return KH_OK;
        }
        if (*p == '"')
            p++;
        if (*p == ',')
            p++;
    }
    return KH_ENOTFOUND;
}

double kh_metrics_quantile(double q, const double *bounds, const uint64_t *cum, size_t n)
{
    if (n == 0 || cum[n - 1] == 0 || !(q > 0 && q < 1))
        return NAN;
    double rank = q * (double)cum[n - 1];
    size_t i = 0;
    while (i < n - 1 && (double)cum[i] < rank)
        i++;
    if (isinf(bounds[i]))
        return i > 0 ? bounds[i - 1] : NAN;
    double lo = i > 0 ? bounds[i - 1] : 0, below = i > 0 ? (double)cum[i - 1] : 0;
    double in = (double)cum[i] - below;
    if (i == 0 && bounds[0] <= 0)
        return bounds[0];
    return in > 0 ? lo + (bounds[i] - lo) * (rank - below) / in : bounds[i];
}
