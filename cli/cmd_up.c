/*
 * cmd_up.c - kaohe up, down and status.
 *
 * up: prepares DIR as kaohe init does (kh_init_datadir in cmd_init.c: DIR
 * 0700, the county configuration validated and installed as
 * DIR/county.json, the keys, the store), and starts the services that are
 * not already running, in order (scorer, ranker, then one ingest per
 * role), each as a detached background process whose stderr goes to
 * DIR/log/NAME.log. It returns once every service answers a ping; a
 * service that exits during start-up has its last log line printed. On an
 * existing DIR the services resume from the store.
 *
 * down: SIGTERM to each service (ingests first, scorer last), waits for it
 * to exit, SIGKILL after a deadline.
 *
 * status: pings each service and asks the ranker for the store's state;
 * adds the key figures of each service's metrics file, DIR/metrics/NAME.prom
 * (kh_service.h): events by outcome, rejections by reason, journal length,
 * map use, commit, acknowledgement and query p99 estimates.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "kaohe.h"
#include "kh_error.h"
#include "kh_metrics.h"
#include "kh_proc.h"
#include "kh_render.h"
#include "kh_service.h"

const char *const kh_services[] = {"scorer",       "ranker",         "ingest-dispatch",
                                   "ingest-legal", "ingest-station", "ingest-assessor"};
const size_t kh_nservices = sizeof kh_services / sizeof kh_services[0];

#define START_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS  10000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Pings one service; KH_OK when it answered. */
static int ping(const char *dir, const char *name, int timeout_ms)
{
    uint8_t *req = NULL, *ans = NULL;
    size_t len = 0, alen = 0;
    int rc;
    if (strcmp(name, "scorer") == 0) {
        kh_scorer_req_t r = {.tag = 1, .kind = KH_SREQ_PING};
        rc = kh_codec_sreq_encode(&r, &req, &len);
    } else if (strcmp(name, "ranker") == 0) {
        kh_query_t q = {.tag = 1, .kind = KH_Q_PING};
        rc = kh_codec_query_encode(&q, &req, &len);
    } else {
        rc = kh_codec_submit_encode(1, "", 0, true, &req, &len);
    }
    if (rc == KH_OK)
        rc = kh_client_call(dir, name, req, len, timeout_ms, &ans, &alen);
    free(req);
    free(ans);
    return rc;
}

/* The directory holding this executable, for finding the services. */
static void self_dir(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0) {
        buf[0] = '\0';
        return;
    }
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
}

static pid_t spawn(const char *dir, const char *name, const char *rules,
                   const char *level)
{
    char exe[PATH_MAX], bindir[PATH_MAX], log[PATH_MAX], role[32] = "";
    const char *base = name;
    if (strncmp(name, "ingest-", 7) == 0) {
        base = "ingest";
        snprintf(role, sizeof role, "%s", name + 7);
    }
    self_dir(bindir, sizeof bindir);
    snprintf(exe, sizeof exe, "%s/kaohe-%s", bindir, base);
    char prog[64];
    snprintf(prog, sizeof prog, "kaohe-%s", base);
    if (access(exe, X_OK) != 0)
        snprintf(exe, sizeof exe, "%s", prog); /* on PATH */
    kh_path(log, sizeof log, dir, "log", name, "log");

    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* child: detach from the terminal's session and our stdio */
    setsid();
    int in = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in >= 0)
        dup2(in, 0);
    if (out >= 0) {
        dup2(out, 1);
        dup2(out, 2);
    }
    const char *argv[12];
    int k = 0;
    argv[k++] = prog;
    argv[k++] = "-d";
    argv[k++] = dir;
    if (role[0]) {
        argv[k++] = "--role";
        argv[k++] = role;
    }
    if (rules) {
        argv[k++] = "--rules";
        argv[k++] = rules;
    }
    if (level) {
        argv[k++] = "--log-level";
        argv[k++] = level;
    }
    argv[k] = NULL;
    if (strchr(exe, '/'))
        execv(exe, (char *const *)argv);
    else
        execvp(exe, (char *const *)argv);
    fprintf(stderr, "cannot execute %s: %s\n", exe, strerror(errno));
    _exit(127);
}

/* The last non-empty line of a service's log, for a start-up failure. */
static void last_log_line(const char *dir, const char *name, char *buf, size_t cap)
{
    char path[PATH_MAX];
    buf[0] = '\0';
    kh_path(path, sizeof path, dir, "log", name, "log");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f))
        if (line[0] && line[0] != '\n') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(buf, cap, "%s", line);
        }
    fclose(f);
}

int kh_cmd_up(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    if (a->npos)
        return kh_usage_error("up takes no arguments");
    const char *county = kh_args_get(a, "-c");
    if (!county)
        county = kh_args_get(a, "--county");
    /* The same preparation as kaohe init: the county, keys, the store. */
    char dir[PATH_MAX];
    kh_init_result_t prep;
    int prc = kh_init_datadir(a->dir, county, dir, sizeof dir, &prep);
    if (prc)
        return prc;

    const char *rules = kh_args_get(a, "--rules");
    const char *level = kh_args_get(a, "--log-level");
    char rules_abs[PATH_MAX];
    if (rules) {
        if (kh_abspath(rules_abs, sizeof rules_abs, rules))
            return kh_fail("rule catalog not found: %s", rules);
        rules = rules_abs;
    }
    int started = 0;
    for (size_t i = 0; i < kh_nservices; i++) {
        const char *name = kh_services[i];
        if (kh_pidfile_alive(dir, name) && ping(dir, name, 2000) == KH_OK)
            continue;
        pid_t pid = spawn(dir, name, rules, level);
        if (pid < 0)
            return kh_fail("cannot start %s: %s", name, strerror(errno));
        started++;
        int64_t deadline = now_ms() + START_TIMEOUT_MS;
        for (;;) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                char line[1024];
                last_log_line(dir, name, line, sizeof line);
                return kh_fail("%s exited during start-up: %s", name,
                               line[0] ? line : "(no log)");
            }
            if (kh_pidfile_alive(dir, name) == pid && ping(dir, name, 200) == KH_OK)
                break;
            if (now_ms() > deadline) {
                kill(pid, SIGTERM);
                return kh_fail("%s did not answer within %d s (see %s/log/%s.log)", name,
                               START_TIMEOUT_MS / 1000, dir, name);
            }
            sleep_ms(20);
        }
    }
    if (a->json)
        printf("{\"dir\":\"%s\",\"started\":%d,\"services\":%zu}\n", dir, started,
               kh_nservices);
    else
        printf("kaohe is up in %s (%d started, %zu running)\n", dir, started,
               kh_nservices);
    return KH_EXIT_OK;
}

int kh_cmd_down(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    char dir[PATH_MAX];
    if (kh_abspath(dir, sizeof dir, a->dir))
        return kh_fail("no data directory %s", a->dir);
    int stopped = 0;
    /* Ingests first so nothing new arrives, the scorer last. */
    for (size_t k = kh_nservices; k-- > 0;) {
        const char *name = kh_services[k];
        pid_t pid = kh_pidfile_alive(dir, name);
        if (!pid)
            continue;
        kill(pid, SIGTERM);
        int64_t deadline = now_ms() + STOP_TIMEOUT_MS;
        while (kh_proc_running(pid) && now_ms() < deadline)
            sleep_ms(10);
        if (kh_proc_running(pid)) {
            fprintf(stderr, "kaohe: %s did not stop, killing it\n", name);
            kill(pid, SIGKILL);
        }
        kh_pidfile_remove(dir, name);
        stopped++;
    }
    if (a->json)
        printf("{\"stopped\":%d}\n", stopped);
    else
        printf("kaohe is down (%d stopped)\n", stopped);
    return KH_EXIT_OK;
}

/* --- the metrics files, for status --- */

typedef struct samples {
    kh_metrics_sample_t *v;
    size_t n, cap;
} samples_t;

static int collect_cb(const kh_metrics_sample_t *s, void *arg)
{
    samples_t *ss = arg;
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? ss->cap * 2 : 64;
        kh_metrics_sample_t *v = realloc(ss->v, cap * sizeof *v);
        if (!v)
            return KH_ENOMEM;
        ss->v = v;
        ss->cap = cap;
    }
    ss->v[ss->n++] = *s;
    return 0;
}

/* Reads DIR/metrics/NAME.prom; false when absent or unreadable. *age its
 * age in seconds. */
static bool read_metrics(const char *dir, const char *name, samples_t *ss, double *age)
{
    char path[PATH_MAX];
    if (kh_path(path, sizeof path, dir, "metrics", name, "prom"))
        return false;
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    struct stat st;
    char *text = NULL;
    bool ok = fstat(fileno(f), &st) == 0 && st.st_size < (1 << 22) &&
              (text = malloc((size_t)st.st_size + 1)) != NULL;
    if (ok) {
        size_t len = fread(text, 1, (size_t)st.st_size, f);
        ok = kh_metrics_parse(text, len, collect_cb, ss, NULL) == KH_OK;
        *age = difftime(time(NULL), st.st_mtime);
    }
    fclose(f);
    free(text);
    return ok;
}

/* The sample of a name whose label key is val (key NULL: the first of
 * that name); NAN when there is none. */
static double sample(const samples_t *ss, const char *name, const char *key,
                     const char *val)
{
    char v[64];
    for (size_t i = 0; i < ss->n; i++)
        if (strcmp(ss->v[i].name, name) == 0 &&
            (!key || (kh_metrics_label(ss->v[i].labels, key, v, sizeof v) == KH_OK &&
                      strcmp(v, val) == 0)))
            return ss->v[i].value;
    return NAN;
}

static json_t *jnum(double v)
{
    if (isnan(v) || isinf(v))
        return json_null();
    if (v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* {label value: sample value} of every sample of a name, in file order. */
static json_t *by_label(const samples_t *ss, const char *name, const char *key)
{
    json_t *o = json_object();
    char v[64];
    for (size_t i = 0; i < ss->n; i++)
        if (strcmp(ss->v[i].name, name) == 0 &&
            kh_metrics_label(ss->v[i].labels, key, v, sizeof v) == KH_OK)
            json_object_set_new(o, v, jnum(ss->v[i].value));
    return o;
}

/* The p99 estimate of a histogram, its series added together (they share
 * their buckets). NAN without observations. */
static double p99(const samples_t *ss, const char *hist)
{
    char name[160], le[32];
    double bounds[64];
    uint64_t cum[64];
    size_t n = 0;
    snprintf(name, sizeof name, "%s_bucket", hist);
    for (size_t i = 0; i < ss->n; i++) {
        if (strcmp(ss->v[i].name, name) != 0 ||
            kh_metrics_label(ss->v[i].labels, "le", le, sizeof le) != KH_OK)
            continue;
        double b = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
        size_t k = 0;
        while (k < n && bounds[k] != b)
            k++;
        if (k == n) {
            if (n == 64)
                continue;
            bounds[n] = b;
            cum[n++] = 0;
        }
        cum[k] += (uint64_t)ss->v[i].value;
    }
    /* in bound order (the files list them so; a few entries) */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && bounds[j] < bounds[j - 1]; j--) {
            double tb = bounds[j];
            uint64_t tc = cum[j];
            bounds[j] = bounds[j - 1];
            cum[j] = cum[j - 1];
            bounds[j - 1] = tb;
            cum[j - 1] = tc;
        }
    return kh_metrics_quantile(0.99, bounds, cum, n);
}

/* The selected figures of one service's file, or null without a file. */
static json_t *service_metrics(const char *dir, const char *name)
{
    samples_t ss = {0};
    double age = 0;
    if (!read_metrics(dir, name, &ss, &age)) {
        free(ss.v);
        return json_null();
    }
    json_t *o = json_object();
    json_object_set_new(o, "age_seconds", jnum(age < 0 ? 0 : age));
    if (strcmp(name, "scorer") == 0) {
        double map = sample(&ss, "kaohe_scorer_store_map_bytes", NULL, NULL);
        double used = sample(&ss, "kaohe_scorer_store_used_bytes", NULL, NULL);
        json_object_set_new(o, "events",
                            by_label(&ss, "kaohe_scorer_events_total", "outcome"));
        json_object_set_new(o, "journal_events",
                            jnum(sample(&ss, "kaohe_scorer_journal_events", NULL, NULL)));
        json_object_set_new(o, "map_bytes", jnum(map));
        json_object_set_new(o, "used_bytes", jnum(used));
        json_object_set_new(o, "map_use_percent",
                            map > 0 ? jnum(round(used / map * 1000) / 10) : json_null());
        json_object_set_new(o, "batches",
                            jnum(sample(&ss, "kaohe_scorer_batches_total", NULL, NULL)));
        json_object_set_new(o, "batch_events_p99",
                            jnum(p99(&ss, "kaohe_scorer_batch_events")));
        json_object_set_new(o, "commit_p99_seconds",
                            jnum(p99(&ss, "kaohe_scorer_commit_duration_seconds")));
        json_object_set_new(
            o, "map_growths",
            jnum(sample(&ss, "kaohe_scorer_map_growths_total", NULL, NULL)));
        json_object_set_new(o, "write_failures",
                            by_label(&ss, "kaohe_scorer_write_failures_total", "code"));
    } else if (strcmp(name, "ranker") == 0) {
        double hits = sample(&ss, "kaohe_ranker_cache_hits_total", "cache", "scorecard");
        double misses =
            sample(&ss, "kaohe_ranker_cache_misses_total", "cache", "scorecard");
        json_object_set_new(o, "queries",
                            by_label(&ss, "kaohe_ranker_queries_total", "kind"));
        json_object_set_new(o, "query_p99_seconds",
                            jnum(p99(&ss, "kaohe_ranker_query_duration_seconds")));
        json_object_set_new(o, "scorecard_cache_hit_percent",
                            hits + misses > 0
                                ? jnum(round(hits / (hits + misses) * 1000) / 10)
                                : json_null());
        json_object_set_new(
            o, "commit_notices_lost",
            jnum(sample(&ss, "kaohe_ranker_commit_notices_lost_total", NULL, NULL)));
        json_object_set_new(
            o, "snapshots_published",
            jnum(sample(&ss, "kaohe_ranker_snapshots_published_total", NULL, NULL)));
    } else {
        json_object_set_new(o, "events",
                            by_label(&ss, "kaohe_ingest_events_total", "outcome"));
        json_object_set_new(o, "rejected",
                            by_label(&ss, "kaohe_ingest_rejected_total", "reason"));
        json_object_set_new(o, "failed",
                            by_label(&ss, "kaohe_ingest_failed_total", "reason"));
        json_object_set_new(
            o, "inflight_events",
            jnum(sample(&ss, "kaohe_ingest_inflight_events", NULL, NULL)));
        json_object_set_new(o, "ack_p99_seconds",
                            jnum(p99(&ss, "kaohe_ingest_ack_duration_seconds")));
    }
    free(ss.v);
    return o;
}

static long long ival(json_t *o, const char *key)
{
    return (long long)json_number_value(json_object_get(o, key));
}

/* "1.2 ms" or "-" for a duration in seconds (null: none observed). */
static const char *ms(json_t *v, char *buf, size_t cap)
{
    if (!json_is_number(v))
        return "-";
    snprintf(buf, cap, "%.1f ms", json_number_value(v) * 1000);
    return buf;
}

/* The sum of an object's numbers. */
static long long sum(json_t *o)
{
    long long t = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) t += (long long)json_number_value(v);
    return t;
}

/* "key n, key n" of an object's non-zero numbers. */
static void print_nonzero(json_t *o)
{
    const char *k;
    json_t *v;
    int shown = 0;
    json_object_foreach(o, k, v)
    {
        if (json_number_value(v) > 0)
            printf("%s%s %lld", shown++ ? ", " : "", k, (long long)json_number_value(v));
    }
}

/* The metrics block of the table output, in 80 columns: the service's
 * name, then its figures on one line or a few. */
static void print_metrics(json_t *metrics)
{
    printf("metrics (DIR/metrics, rewritten every %d s):\n",
           KH_SERVICE_METRICS_MS / 1000);
    const char *name;
    json_t *o;
    char b1[32], b2[32];
    const char *pad = "                   "; /* under the figures */
    json_object_foreach(metrics, name, o)
    {
        printf("  %-16s ", name);
        if (!json_is_object(o)) {
            printf("no metrics file\n");
            continue;
        }
        json_t *ev = json_object_get(o, "events");
        if (strcmp(name, "scorer") == 0) {
            json_t *use = json_object_get(o, "map_use_percent");
            printf("accepted %lld, duplicate %lld, conflict %lld, rejected %lld, "
                   "failed %lld\n",
                   ival(ev, "accepted"), ival(ev, "duplicate"), ival(ev, "conflict"),
                   ival(ev, "rejected"), ival(ev, "failed"));
            printf("%sjournal %lld events, map %.1f%% used of %lld MiB\n", pad,
                   ival(o, "journal_events"), json_number_value(use),
                   ival(o, "map_bytes") >> 20);
            printf("%scommit p99 %s, %lld batches, write failures %lld\n", pad,
                   ms(json_object_get(o, "commit_p99_seconds"), b1, sizeof b1),
                   ival(o, "batches"), sum(json_object_get(o, "write_failures")));
        } else if (strcmp(name, "ranker") == 0) {
            json_t *hit = json_object_get(o, "scorecard_cache_hit_percent");
            if (json_is_number(hit))
                snprintf(b2, sizeof b2, "%.0f%%", json_number_value(hit));
            else
                snprintf(b2, sizeof b2, "-");
            printf("queries %lld, p99 %s, scorecard cache hits %s\n",
                   sum(json_object_get(o, "queries")),
                   ms(json_object_get(o, "query_p99_seconds"), b1, sizeof b1), b2);
            printf("%scommit notices lost %lld, snapshots published %lld\n", pad,
                   ival(o, "commit_notices_lost"), ival(o, "snapshots_published"));
        } else {
            printf("forwarded %lld, rejected %lld, failed %lld, ack p99 %s\n",
                   ival(ev, "forwarded"), ival(ev, "rejected"), ival(ev, "failed"),
                   ms(json_object_get(o, "ack_p99_seconds"), b1, sizeof b1));
            static const char *const parts[] = {"rejected", "failed"};
            for (int p = 0; p < 2; p++) {
                json_t *by = json_object_get(o, parts[p]);
                if (sum(by) <= 0)
                    continue;
                printf("%s%s: ", pad, parts[p]);
                print_nonzero(by);
                putchar('\n');
            }
        }
    }
}

int kh_cmd_status(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    char dir[PATH_MAX];
    if (kh_abspath(dir, sizeof dir, a->dir))
        return kh_fail("no data directory %s", a->dir);
    json_t *doc = json_object(), *svcs = json_array();
    json_object_set_new(doc, "dir", json_string(dir));
    bool all_up = true;
    for (size_t i = 0; i < kh_nservices; i++) {
        pid_t pid = kh_pidfile_alive(dir, kh_services[i]);
        int64_t t0 = now_ms();
        bool up = pid && ping(dir, kh_services[i], 2000) == KH_OK;
        int64_t ms = now_ms() - t0;
        all_up = all_up && up;
        json_array_append_new(svcs, json_pack("{s:s,s:i,s:b,s:o}", "name", kh_services[i],
                                              "pid", (int)pid, "up", up, "ping_ms",
                                              up ? json_integer(ms) : json_null()));
    }
    json_object_set_new(doc, "services", svcs);
    kh_query_t q = {.tag = 1, .kind = KH_Q_STATUS};
    kh_reply_t rep;
    json_t *st = NULL;
    if (kh_client_query(dir, &q, 3000, &rep) == KH_OK) {
        if (rep.code == 0 && rep.json)
            st = json_loads(rep.json, 0, NULL);
        kh_codec_reply_free(&rep);
    }
    if (st) {
        json_object_set(doc, "last_seq", json_object_get(st, "last_seq"));
        json_object_set(doc, "closed_through", json_object_get(st, "closed_through"));
        json_object_set(doc, "stale_months", json_object_get(st, "stale_months"));
        /* The ranker reads the committed store itself: it lags the
         * scorer by no event once a commit returns. */
        json_object_set_new(doc, "lag", json_integer(0));
        json_decref(st);
    } else {
        json_object_set_new(doc, "last_seq", json_null());
        json_object_set_new(doc, "lag", json_null());
    }
    json_object_set_new(doc, "healthy", json_boolean(all_up));
    json_t *metrics = json_object();
    for (size_t i = 0; i < kh_nservices; i++)
        json_object_set_new(metrics, kh_services[i],
                            service_metrics(dir, kh_services[i]));
    json_object_set_new(doc, "metrics", metrics);
    if (a->json) {
        char *s = kh_render_dumps(doc);
        puts(s ? s : "{}");
        free(s);
    } else {
        printf("data directory: %s\n", dir);
        size_t i;
        json_t *v;
        json_array_foreach(svcs, i, v)
        {
            json_t *ms = json_object_get(v, "ping_ms");
            printf("  %-16s %-5s pid %-8d", json_string_value(json_object_get(v, "name")),
                   json_is_true(json_object_get(v, "up")) ? "up" : "DOWN",
                   (int)json_integer_value(json_object_get(v, "pid")));
            if (json_is_integer(ms))
                printf(" ping %lld ms", (long long)json_integer_value(ms));
            putchar('\n');
        }
        json_t *ls = json_object_get(doc, "last_seq");
        json_t *ct = json_object_get(doc, "closed_through");
        if (json_is_integer(ls))
            printf("last committed sequence: %lld, lag: 0\n",
                   (long long)json_integer_value(ls));
        printf("closed through: %s\n",
               json_is_string(ct) ? json_string_value(ct) : "(nothing closed)");
        json_t *stale = json_object_get(doc, "stale_months");
        if (json_array_size(stale)) {
            printf("published months changed by late events since (publish again):");
            size_t k;
            json_t *m;
            json_array_foreach(stale, k, m) printf(" %s", json_string_value(m));
            putchar('\n');
        }
        print_metrics(metrics);
    }
    json_decref(doc);
    return all_up ? KH_EXIT_OK : KH_EXIT_FAIL;
}
