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
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
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
#include "kh_proc.h"
#include "kh_render.h"

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
    }
    json_decref(doc);
    return all_up ? KH_EXIT_OK : KH_EXIT_FAIL;
}
