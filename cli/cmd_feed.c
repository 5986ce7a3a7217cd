/*
 * cmd_feed.c - kaohe feed FILE... : send events, wait for every
 * acknowledgement.
 *
 * Every line goes to the ingest of its source's role (with --as NAME, of
 * that identity's role), pipelined: many events in flight (feed_window),
 * each tagged with its index so acknowledgements are matched in any order. A
 * line the shared parser already rejects (too_large, malformed,
 * unknown_type) is answered here with the very code the ingest would give,
 * without a round trip.
 *
 * Retries (the zguide's Lazy Pirate): an event unanswered after a retry
 * interval, or answered `failed` (not committed), is sent again, the
 * interval doubling up to MAX_RETRY_MS; the scorer de-duplicates, so a
 * resend never counts twice. If no acknowledgement at all arrives for
 * --timeout seconds (default 60), the feed stops and says how many events
 * were never acknowledged (exit 1).
 *
 * Measuring (issue 7, bench/run.sh): --rate N offers N events/s, open
 * loop: each event has a scheduled send time (the first at the start, then
 * one every 1/N s) and goes out when it is due, whatever the
 * acknowledgements do, so the pipeline's queueing shows in the latency.
 * Only the window (in all, or of the next line's key: lines go in file
 * order) can hold a due event back; such an event's latency then counts
 * from its scheduled time (otherwise the wait would be hidden: coordinated
 * omission). --stats reports, on stderr, the acknowledgement latency of
 * every event the services answered (from its first send, or the scheduled
 * time it was held past, to its final acknowledgement: p50, p99, p99.9 and
 * max in microseconds) and the throughput (answered events over the time
 * from the first send to the last acknowledgement). With --json that
 * report is one JSON object, the last line on stderr; --stats-out FILE
 * writes the object to FILE instead (and implies --stats). Lines answered
 * here without a round trip are not in it.
 * Either option first waits (up to --timeout) until every connection has
 * answered a ping, so that the CURVE handshakes are not timed.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>
#include <zmq.h>

#include "kaohe.h"
#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_error.h"
#include "kh_keys.h"
#include "kh_proc.h"

/* Events in flight: WINDOW_PER_SOCKET per connection, at least
 * WINDOW_MIN and at most WINDOW_MAX in all, and at most KEY_WINDOW of
 * one key (an ingest answers `failed` beyond 32768 of a key in flight:
 * services/ingest/main.c, credit_limits; the rest is room for resends). */
#define WINDOW_MIN        20000
#define WINDOW_MAX        100000
#define WINDOW_PER_SOCKET 32
#define KEY_WINDOW        16384
#define FIRST_RETRY_MS    3000
#define MAX_RETRY_MS      15000
#define MAX_RATE          100000000 /* --rate limit, events/s */
#define NS_PER_S          INT64_C(1000000000)
#define NS_PER_MS         INT64_C(1000000)

typedef struct line {
    char *text;
    size_t len;
    long lineno;
    int sock; /* index of its (identity, ingest) socket */
    bool done, sent;
    int status; /* kh_status_t once done */
    char reason[32];
    char id[KH_ID_MAX + 1];
    bool has_id;
    int64_t due_ms; /* resend when unanswered by then */
    int retry_ms;
    int64_t start_ns; /* --stats: latency origin (first send or schedule) */
    int64_t ack_ns;   /* --stats: final acknowledgement, 0 if none */
} line_t;

typedef struct feed {
    line_t *v;
    size_t n, cap;
} feed_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank percentile (per 10,000: 5000 is the median) of n
 * sorted values; n > 0. */
static int64_t percentile(const int64_t *v, size_t n, uint64_t per10k)
{
    uint64_t rank = ((uint64_t)n * per10k + 9999) / 10000;
    return v[rank ? rank - 1 : 0];
}

/* Prints the --stats report (see the top of the file) to stderr, or as
 * JSON to stderr or to out_path. rate is 0 when the feed was not paced.
 * Returns KH_OK, or KH_EIO when out_path cannot be written. */
static int report_stats(const line_t *v, size_t n, long rate, bool json,
                        const char *out_path)
{
    int64_t *lat = malloc((n ? n : 1) * sizeof *lat);
    if (!lat)
        return KH_ENOMEM;
    size_t k = 0;
    int64_t first = INT64_MAX, last = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].ack_ns)
            continue;
        lat[k++] = v[i].ack_ns - v[i].start_ns;
        if (v[i].start_ns < first)
            first = v[i].start_ns;
        if (v[i].ack_ns > last)
            last = v[i].ack_ns;
    }
    qsort(lat, k, sizeof *lat, cmp_i64);
    int64_t dur = k ? last - first : 0;
    /* events/s, rounded down; a single event has no duration to speak of */
    uint64_t per_s = dur > 0 ? (uint64_t)k * (uint64_t)NS_PER_S / (uint64_t)dur : 0;
    int64_t p50 = k ? percentile(lat, k, 5000) / 1000 : 0;
    int64_t p99 = k ? percentile(lat, k, 9900) / 1000 : 0;
    int64_t p999 = k ? percentile(lat, k, 9990) / 1000 : 0;
    int64_t max = k ? lat[k - 1] / 1000 : 0;
    free(lat);
    if (!json && !out_path) {
        fprintf(stderr, "stats: %zu events acknowledged in %lld.%06lld s: %llu events/s",
                k, (long long)(dur / NS_PER_S), (long long)(dur % NS_PER_S / 1000),
                (unsigned long long)per_s);
        if (rate)
            fprintf(stderr, " (offered %ld/s)", rate);
        fprintf(stderr,
                "\nstats: acknowledgement latency us: p50 %lld, p99 %lld, "
                "p99.9 %lld, max %lld\n",
                (long long)p50, (long long)p99, (long long)p999, (long long)max);
        return KH_OK;
    }
    /* integers and a fixed-point number of seconds: no float formatting */
    char s[512];
    char offered[24] = "null";
    if (rate)
        snprintf(offered, sizeof offered, "%ld", rate);
    snprintf(s, sizeof s,
             "{\"events\":%zu,\"offered_per_s\":%s,\"seconds\":%lld.%06lld,"
             "\"events_per_s\":%llu,\"latency_us\":{\"p50\":%lld,\"p99\":%lld,"
             "\"p99_9\":%lld,\"max\":%lld}}",
             k, offered, (long long)(dur / NS_PER_S), (long long)(dur % NS_PER_S / 1000),
             (unsigned long long)per_s, (long long)p50, (long long)p99, (long long)p999,
             (long long)max);
    int rc = KH_OK;
    if (out_path) {
        FILE *f = fopen(out_path, "w");
        if (!f || fprintf(f, "%s\n", s) < 0)
            rc = KH_EIO;
        if (f && fclose(f) != 0)
            rc = KH_EIO;
    } else {
        fprintf(stderr, "%s\n", s);
    }
    return rc;
}

static int push_line(feed_t *f, const char *s, size_t len, long lineno)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 1024;
        line_t *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return KH_ENOMEM;
        f->v = v;
        f->cap = cap;
    }
    line_t *l = &f->v[f->n];
    memset(l, 0, sizeof *l);
    l->text = malloc(len + 1);
    if (!l->text)
        return KH_ENOMEM;
    memcpy(l->text, s, len);
    l->text[len] = '\0';
    l->len = len;
    l->lineno = lineno;
    f->n++;
    return KH_OK;
}

/* Reads every line of a file (or stdin for "-"); blank lines are not
 * events and are skipped, but still counted in line numbers. */
static int read_input(feed_t *f, const char *path, long *lineno)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!in)
        return KH_EIO;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = KH_OK;
    while (rc == KH_OK && (n = getline(&buf, &cap, in)) >= 0) {
        ++*lineno;
        size_t len = (size_t)n;
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            len--;
        size_t k = 0;
        while (k < len && (buf[k] == ' ' || buf[k] == '\t'))
            k++;
        if (k == len)
            continue;
        rc = push_line(f, buf, len, *lineno);
    }
    free(buf);
    if (in != stdin)
        fclose(in);
    return rc;
}

/* The events in flight for a feed over nsocks connections: enough that
 * each connection's batch carries several lines when the window refills. */
static size_t feed_window(size_t nsocks)
{
    if (nsocks > WINDOW_MAX / WINDOW_PER_SOCKET)
        return WINDOW_MAX;
    size_t w = nsocks * WINDOW_PER_SOCKET;
    return w < WINDOW_MIN ? WINDOW_MIN : w;
}

/* Lines go out in batches, one message per socket per wake-up of the send
 * loop, of at most BATCH_LINES lines and BATCH_BYTES bytes (the ingest
 * takes messages of up to 256 KiB): a message costs a CurveZMQ box and a
 * wake-up at each end whatever it carries. */
#define BATCH_LINES 256
#define BATCH_BYTES (192 * 1024)

/* A connection to one ingest as one identity. */
typedef struct socket {
    void *s;
    int role;
    char who[KH_IDENTITY_MAX + 8];
    size_t inflight; /* its events sent and not yet answered */
    /* the batch being gathered */
    size_t nb, bytes;
    uint64_t tags[BATCH_LINES];
    const char *lines[BATCH_LINES];
    size_t lens[BATCH_LINES];
} socket_t;

/* Sends a socket's gathered lines as one Submit (unsent ones are resent
 * like any unanswered line). */
static void flush_batch(socket_t *k)
{
    if (k->nb == 0)
        return;
    uint8_t *buf;
    size_t len;
    if (kh_codec_submit_batch_encode(k->tags, k->lines, k->lens, k->nb, &buf, &len) ==
        KH_OK) {
        zmq_send(k->s, buf, len, ZMQ_DONTWAIT);
        free(buf);
    }
    k->nb = 0;
    k->bytes = 0;
}

/* Adds a line to its socket's batch, sending the batch first when full. */
static void batch_line(socket_t *k, uint64_t tag, const char *line, size_t len)
{
    if (k->nb == BATCH_LINES || (k->nb && k->bytes + len > BATCH_BYTES))
        flush_batch(k);
    k->tags[k->nb] = tag;
    k->lines[k->nb] = line;
    k->lens[k->nb++] = len;
    k->bytes += len + 16;
}

/* Connects a DEALER to the ingest of a role as an identity. KH_ENOTFOUND
 * when the identity has no key. */
static int open_socket(socket_t *out, void *ctx, const char *dir, const char *who,
                       int role)
{
    char ep[600], name[32];
    memset(out, 0, sizeof *out);
    snprintf(name, sizeof name, "ingest-%s", kh_source_name(role));
    if (kh_endpoint(ep, sizeof ep, dir, name))
        return KH_ERANGE;
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    if (!s)
        return KH_ENET;
    int zero = 0, linger = 0;
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    int rc = kh_client_curve(s, dir, who);
    if (rc == KH_OK && zmq_connect(s, ep) != 0)
        rc = KH_ENET;
    if (rc) {
        zmq_close(s);
        return rc;
    }
    out->s = s;
    out->role = role;
    snprintf(out->who, sizeof out->who, "%s", who);
    return KH_OK;
}

/* Lets the CURVE handshakes finish before the first send (which does not
 * wait): every socket's at once, up to HANDSHAKE_MS in all. A refused key
 * or a service down just leaves its events to the resends and the
 * deadline. */
#define HANDSHAKE_MS 2000
static void wait_connected(socket_t *socks, size_t n)
{
    zmq_pollitem_t *items = calloc(n ? n : 1, sizeof *items);
    size_t *which = calloc(n ? n : 1, sizeof *which);
    bool *ready = calloc(n ? n : 1, sizeof *ready);
    size_t left = items && which && ready ? n : 0;
    int64_t deadline = now_ms() + HANDSHAKE_MS;
    while (left && now_ms() < deadline) {
        size_t m = 0;
        for (size_t r = 0; r < n; r++)
            if (!ready[r]) {
                which[m] = r;
                items[m++] = (zmq_pollitem_t){socks[r].s, 0, ZMQ_POLLOUT, 0};
            }
        if (zmq_poll(items, (int)m, 50) < 0)
            break;
        for (size_t k = 0; k < m; k++)
            if (items[k].revents & ZMQ_POLLOUT) {
                ready[which[k]] = true;
                left--;
            }
    }
    free(items);
    free(which);
    free(ready);
}

/* The sockets by (role, identity): open addressing over their positions
 * + 1, at most half full (a province routes a million lines to 3,000
 * station sockets). */
typedef struct sock_table {
    size_t *slot;
    size_t cap;
} sock_table_t;

static size_t sock_hash(int role, const char *who)
{
    uint64_t h = UINT64_C(14695981039346656037) ^ (uint64_t)role; /* FNV-1a */
    for (; *who; who++)
        h = (h ^ (uint8_t)*who) * UINT64_C(1099511628211);
    return (size_t)(h ^ (h >> 29));
}

/* The slot of (role, who): holding its socket, or free where it goes. */
static size_t *sock_slot(const sock_table_t *t, const socket_t *socks, int role,
                         const char *who)
{
    size_t i = sock_hash(role, who) & (t->cap - 1);
    while (t->slot[i] &&
           (socks[t->slot[i] - 1].role != role || strcmp(socks[t->slot[i] - 1].who, who)))
        i = (i + 1) & (t->cap - 1);
    return &t->slot[i];
}

/* Makes room for one more socket; false when out of memory. */
static bool sock_table_room(sock_table_t *t, const socket_t *socks, size_t n)
{
    if (2 * (n + 1) <= t->cap)
        return true;
    sock_table_t g = {.cap = t->cap ? 2 * t->cap : 64};
    if (!(g.slot = calloc(g.cap, sizeof *g.slot)))
        return false;
    for (size_t r = 0; r < n; r++)
        *sock_slot(&g, socks, socks[r].role, socks[r].who) = r + 1;
    free(t->slot);
    *t = g;
    return true;
}

/* One socket per identity: a province has thousands of station keys, past
 * libzmq's default of 1023 sockets a context may open. Each socket costs
 * about two file descriptors (its mailbox and its connection), so the
 * descriptor limit is raised to its hard limit and half of it allowed. */
static void raise_socket_limit(void *ctx)
{
    struct rlimit rl;
    if (!ctx || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t half = rl.rlim_cur == RLIM_INFINITY ? 1000000 : rl.rlim_cur / 2;
    if (half > 1000000)
        half = 1000000;
    if (half > 1023)
        zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)half);
}

/* Measuring (--stats, --rate): lets every connection finish its CURVE
 * handshake and the ingest's ZAP check before the clock starts, by one
 * ping per socket (tag 0, which the feed's loop ignores) and its answer.
 * Setting up a connection is not the pipeline's latency, and a province's
 * thousands of station connections take a while. Stops waiting after
 * timeout_s; whatever is not connected then is left to the resends. */
static void warm_up(socket_t *socks, size_t n, int timeout_s)
{
    zmq_pollitem_t *items = calloc(n ? n : 1, sizeof *items);
    size_t *which = calloc(n ? n : 1, sizeof *which);
    bool *ready = calloc(n ? n : 1, sizeof *ready);
    uint8_t *buf = NULL;
    size_t len, left = n;
    if (!items || !which || !ready ||
        kh_codec_submit_encode(0, "", 0, true, &buf, &len) != KH_OK)
        left = 0;
    for (size_t r = 0; r < n && left; r++)
        zmq_send(socks[r].s, buf, len, ZMQ_DONTWAIT);
    free(buf);
    int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
    while (left && now_ms() < deadline) {
        size_t m = 0;
        for (size_t r = 0; r < n; r++)
            if (!ready[r]) {
                which[m] = r;
                items[m++] = (zmq_pollitem_t){socks[r].s, 0, ZMQ_POLLIN, 0};
            }
        if (zmq_poll(items, (int)m, 100) < 0)
            break;
        for (size_t k = 0; k < m; k++) {
            if (!(items[k].revents & ZMQ_POLLIN))
                continue;
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            while (zmq_msg_recv(&msg, socks[which[k]].s, ZMQ_DONTWAIT) >= 0)
                ;
            zmq_msg_close(&msg);
            ready[which[k]] = true;
            left--;
        }
    }
    free(items);
    free(which);
    free(ready);
}

/* The role an identity (--as) sends as; -1 when unknown, -2 for admin. */
static int identity_role(const char *as)
{
    if (strncmp(as, "station-", 8) == 0 && as[8])
        return KH_SRC_STATION;
    if (strcmp(as, "admin") == 0)
        return -2;
    int r = kh_source_parse(as);
    return r == KH_SRC_STATION ? -1 : r;
}

/* Waits on the epoll set for at most timeout_ns: to the nanosecond with
 * epoll_pwait2 (Linux 5.11), or, where the kernel or a seccomp profile
 * refuses it, with epoll_wait to the millisecond (rounded up). */
static int wait_events(int ep, struct epoll_event *evs, int n, int64_t timeout_ns)
{
    static bool no_pwait2;
    if (!no_pwait2) {
        struct timespec ts = {(time_t)(timeout_ns / NS_PER_S),
                              (long)(timeout_ns % NS_PER_S)};
        int r = epoll_pwait2(ep, evs, n, &ts, NULL);
        if (r >= 0 || (errno != ENOSYS && errno != EPERM))
            return r;
        no_pwait2 = true;
    }
    return epoll_wait(ep, evs, n, (int)((timeout_ns + NS_PER_MS - 1) / NS_PER_MS));
}

int kh_cmd_feed(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    if (a->npos == 0)
        return kh_usage_error("feed needs at least one FILE (- for stdin)");
    const char *as = kh_args_get(a, "--as");
    int as_role = as ? identity_role(as) : -1;
    if (as && as_role == -1)
        return kh_usage_error("--as %s: want dispatch, legal, assessor, admin "
                              "or station-CODE",
                              as);
    int timeout_s = 60;
    const char *t = kh_args_get(a, "--timeout");
    if (t && (timeout_s = atoi(t)) <= 0)
        return kh_usage_error("--timeout takes a number of seconds");
    long rate = 0;
    const char *rs = kh_args_get(a, "--rate");
    if (rs) {
        char *end;
        rate = strtol(rs, &end, 10);
        if (*rs < '0' || *rs > '9' || *end || rate <= 0 || rate > MAX_RATE)
            return kh_usage_error("--rate takes a number of events per second, 1..%d",
                                  MAX_RATE);
    }
    const char *stats_out = kh_args_get(a, "--stats-out");
    bool stats = stats_out || kh_args_flag(a, "--stats");
    char dir[PATH_MAX];
    if (kh_abspath(dir, sizeof dir, a->dir))
        return kh_fail("no data directory %s", a->dir);

    /* The county the services run with: a station event whose station
     * has no key (not in the county) can be sent by nobody. */
    kh_county_t *county = NULL;
    char cfg[PATH_MAX + 16], err[512];
    kh_path(cfg, sizeof cfg, dir, NULL, "county", "json");
    if (kh_county_load(&county, cfg, err, sizeof err))
        return kh_fail("%s: %s", cfg, err);

    feed_t f = {0};
    long lineno = 0;
    for (int i = 0; i < a->npos; i++)
        if (read_input(&f, a->pos[i], &lineno) != KH_OK)
            return kh_fail("cannot read %s", a->pos[i]);

    /* One socket per (identity, ingest): each event goes with the key of
     * its source (a station's with that station's key), or with --as. */
    void *ctx = zmq_ctx_new();
    raise_socket_limit(ctx);
    socket_t *socks = NULL;
    size_t nsocks = 0, capsocks = 0;
    sock_table_t table = {0};
    int rc = KH_EXIT_OK;

    /* Decide locally what needs no service; route the rest. */
    size_t left = 0;
    for (size_t i = 0; i < f.n && rc == KH_EXIT_OK; i++) {
        line_t *l = &f.v[i];
        kh_event_t ev;
        kh_event_init(&ev);
        int prc = kh_event_parse_json(l->text, l->len, &ev);
        if (ev.id[0]) {
            snprintf(l->id, sizeof l->id, "%s", ev.id);
            l->has_id = true;
        }
        char who[KH_IDENTITY_MAX + 8];
        int role = (int)ev.source;
        if (as) {
            snprintf(who, sizeof who, "%s", as);
            role = as_role >= 0 ? as_role : KH_SRC_STATION;
        } else if (ev.source == KH_SRC_STATION) {
            snprintf(who, sizeof who, "station-%s", ev.station);
        } else {
            snprintf(who, sizeof who, "%s", kh_source_name(ev.source));
        }
        int k = -1;
        if (prc == KH_OK) {
            if (!sock_table_room(&table, socks, nsocks)) {
                rc = kh_fail("out of memory");
                break;
            }
            size_t *slot = sock_slot(&table, socks, role, who);
            k = (int)*slot - 1;
            if (k < 0) {
                if (nsocks == capsocks) {
                    capsocks = capsocks ? capsocks * 2 : 8;
                    socket_t *ns = realloc(socks, capsocks * sizeof *ns);
                    if (!ns) {
                        rc = kh_fail("out of memory");
                        break;
                    }
                    socks = ns;
                }
                int orc = open_socket(&socks[nsocks], ctx, dir, who, role);
                if (orc == KH_ENOTFOUND) {
                    /* no key: nobody may speak for that station; say
                     * which reason applies first (SPEC section 5) */
                    prc = (!as && ev.source == KH_SRC_STATION &&
                           kh_county_find(county, ev.station) < 0)
                              ? KH_EUNKNOWN_STATION
                              : KH_EFORBIDDEN;
                } else if (orc != KH_OK) {
                    rc = kh_fail("cannot connect to the %s ingest", kh_source_name(role));
                    break;
                } else {
                    k = (int)nsocks++;
                    *slot = nsocks;
                }
            }
        }
        if (prc != KH_OK) {
            l->done = true;
            l->status = KH_STATUS_REJECTED;
            snprintf(l->reason, sizeof l->reason, "%s", kh_err_name(prc));
        } else {
            l->sock = k;
            left++;
        }
        kh_event_clear(&ev);
    }
    kh_county_free(&county);
    free(table.slot);
    if (rc != KH_EXIT_OK)
        return rc;
    wait_connected(socks, nsocks);

    if (stats || rate)
        warm_up(socks, nsocks, timeout_s);
    size_t next = 0, inflight = 0, foreign = 0;
    int64_t last_progress = now_ms(), last_scan = last_progress;
    char last_failure[32] = ""; /* the reason of the last "failed" answer */
    /* --rate: the k-th event sent is due at t0 + k/rate; an event due at or
     * before blocked_ns was held back by a full window. */
    int64_t t0 = now_ns(), blocked_ns = INT64_MIN;
    uint64_t nsched = 0;
    /* Waiting: one epoll set of every socket's ZMQ_FD (a province has
     * thousands of station sockets: zmq_poll would look at each on every
     * wake-up). ZMQ_FD only says that a socket's state may have changed,
     * and a send can consume that signal, so the sockets to read are those
     * it woke for and those sent on since: each is read until it has no
     * message (dirty[r], list[]). */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    bool *dirty = calloc(nsocks ? nsocks : 1, sizeof *dirty);
    size_t *list = calloc(nsocks ? nsocks : 1, sizeof *list), nlist = 0;
    struct epoll_event evs[256];
    for (size_t r = 0; r < nsocks && ep >= 0; r++) {
        int fd;
        size_t fdlen = sizeof fd;
        struct epoll_event e = {.events = EPOLLIN, .data.u64 = r};
        if (zmq_getsockopt(socks[r].s, ZMQ_FD, &fd, &fdlen) != 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) {
            close(ep);
            ep = -1;
        }
    }
    if (ep < 0 || !dirty || !list) {
        rc = kh_fail("cannot wait on %zu connections: %s", nsocks, strerror(errno));
        left = 0;
    }
#define MARK(r)                                                                          \
    do {                                                                                 \
        size_t r_ = (r);                                                                 \
        if (!dirty[r_]) {                                                                \
            dirty[r_] = true;                                                            \
            list[nlist++] = r_;                                                          \
        }                                                                                \
    } while (0)
    size_t window = feed_window(nsocks);
    bool held = false; /* the last pass stopped at a full window */
    while (left > 0) {
        int64_t now = now_ms();
        /* what fell due while the window was full was held back */
        if (rate && held)
            blocked_ns = now_ns();
        int64_t wait_ns = 100 * NS_PER_MS; /* until the next paced send */
        /* Send new lines while the window (and --rate) allows. At full
         * speed the window refills only once half of it is answered, so
         * that each socket's batch gathers several lines: refilled as
         * answers trickle in, it would send every line of a province's
         * 3,000 station sockets as a message of its own. */
        held = false; /* the next line waits for room, not its time */
        bool refill = rate || inflight <= window / 2;
        while (next < f.n && refill) {
            line_t *l = &f.v[next];
            if (!l->done) {
                if (inflight >= window || socks[l->sock].inflight >= KEY_WINDOW) {
                    held = true;
                    break;
                }
                int64_t sent_ns = now_ns(), due_ns = sent_ns;
                if (rate) {
                    due_ns = t0 + (int64_t)(nsched * (uint64_t)NS_PER_S / (uint64_t)rate);
                    if (due_ns > sent_ns) {
                        wait_ns = due_ns - sent_ns;
                        break;
                    }
                    nsched++;
                }
                batch_line(&socks[l->sock], next + 1, l->text, l->len);
                MARK((size_t)l->sock);
                l->sent = true;
                socks[l->sock].inflight++;
                l->start_ns = due_ns <= blocked_ns ? due_ns : sent_ns;
                l->retry_ms = FIRST_RETRY_MS;
                l->due_ms = now + l->retry_ms;
                inflight++;
            }
            next++;
        }
        for (size_t k = 0; k < nlist; k++)
            flush_batch(&socks[list[k]]);
        if (rate && held)
            blocked_ns = now_ns();
        /* Wait for an answer, or (paced) until the next send is due, to
         * the nanosecond: an answer wakes the wait at once, so none waits
         * unread for a send's schedule. Not at all when sockets are to be
         * read already. */
        int64_t timeout_ns = 100 * NS_PER_MS;
        if (rate && next < f.n && !held && wait_ns < timeout_ns)
            timeout_ns = wait_ns;
        if (nlist)
            timeout_ns = 0;
        int nev = wait_events(ep, evs, (int)(sizeof evs / sizeof evs[0]), timeout_ns);
        if (nev < 0 && errno != EINTR) {
            rc = kh_fail("cannot wait for answers: %s", strerror(errno));
            break;
        }
        for (int k = 0; k < nev; k++)
            MARK((size_t)evs[k].data.u64);
        for (size_t k = 0; k < nlist; k++) {
            size_t r = list[k];
            dirty[r] = false;
            for (;;) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, socks[r].s, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                int64_t ack_ns = now_ns();
                kh_ack_t *ov = NULL;
                size_t on = 0;
                if (kh_codec_outcomes_decode(zmq_msg_data(&m), zmq_msg_size(&m), &ov,
                                             &on) != KH_OK)
                    on = 0;
                for (size_t j = 0; j < on; j++) {
                    const kh_ack_t *o = &ov[j];
                    if (o->tag < 1 || o->tag > f.n)
                        continue;
                    line_t *l = &f.v[o->tag - 1];
                    if (l->done || !l->sent)
                        continue;
                    if (o->id[0] && l->has_id && strcmp(o->id, l->id) != 0) {
                        foreign++; /* not this line's answer: ignored */
                        continue;
                    }
                    if (o->status == KH_STATUS_FAILED) {
                        /* not decided (scorer down, or busy): resend later;
                         * this is no progress towards the deadline */
                        l->due_ms = now_ms() + l->retry_ms;
                        snprintf(last_failure, sizeof last_failure, "%s", o->reason);
                    } else {
                        last_progress = now_ms();
                        l->done = true;
                        l->ack_ns = ack_ns;
                        l->status = o->status;
                        snprintf(l->reason, sizeof l->reason, "%s", o->reason);
                        inflight--;
                        socks[l->sock].inflight--;
                        left--;
                    }
                }
                free(ov);
                zmq_msg_close(&m);
            }
        }
        nlist = 0;
        /* Lazy Pirate: resend what is overdue (looked for twice a second,
         * not on every wake-up, so a large feed costs no quadratic scan). */
        now = now_ms();
        bool scan = now - last_scan >= 500;
        if (scan)
            last_scan = now;
        for (size_t i = 0; scan && i < next && inflight; i++) {
            line_t *l = &f.v[i];
            if (l->done || !l->sent || l->due_ms > now)
                continue;
            uint8_t *buf;
            size_t len;
            if (kh_codec_submit_encode(i + 1, l->text, l->len, false, &buf, &len) ==
                KH_OK) {
                zmq_send(socks[l->sock].s, buf, len, ZMQ_DONTWAIT); /* unsent: resent */
                MARK((size_t)l->sock);
                free(buf);
            }
            l->retry_ms = l->retry_ms * 2 > MAX_RETRY_MS ? MAX_RETRY_MS : l->retry_ms * 2;
            l->due_ms = now + l->retry_ms;
        }
        if (now - last_progress > (int64_t)timeout_s * 1000) {
            fprintf(stderr,
                    "kaohe: no acknowledgement for %d s: %zu events never "
                    "acknowledged (%s%s%s%s)\n",
                    timeout_s, left,
                    last_failure[0] ? "the last answer was failed: " : "",
                    last_failure[0] ? last_failure : "is kaohe up in ",
                    last_failure[0] ? "" : dir, last_failure[0] ? "" : "?");
            rc = KH_EXIT_FAIL;
            break;
        }
    }
#undef MARK
    if (ep >= 0)
        close(ep);
    free(dirty);
    free(list);
    for (size_t r = 0; r < nsocks; r++)
        zmq_close(socks[r].s);
    free(socks);
    zmq_ctx_term(ctx);

    size_t counts[6] = {0};
    for (size_t i = 0; i < f.n; i++) {
        line_t *l = &f.v[i];
        if (l->done)
            counts[l->status]++;
        if (a->json) {
            json_t *o = json_pack(
                "{s:I,s:o,s:s,s:o}", "line", (json_int_t)l->lineno, "id",
                l->has_id ? json_string(l->id) : json_null(), "status",
                l->done ? kh_status_name(l->status) : "unacknowledged", "reason",
                l->done && l->status == KH_STATUS_REJECTED ? json_string(l->reason)
                                                           : json_null());
            char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            if (s)
                puts(s);
            free(s);
            json_decref(o);
        } else if (l->done && l->status == KH_STATUS_REJECTED) {
            printf("line %ld%s%s: rejected (%s)\n", l->lineno, l->has_id ? " id " : "",
                   l->has_id ? l->id : "", l->reason);
        }
        free(l->text);
    }
    FILE *summary = a->json ? stderr : stdout;
    fprintf(summary, "accepted %zu, duplicate %zu, rejected %zu",
            counts[KH_STATUS_ACCEPTED], counts[KH_STATUS_DUPLICATE],
            counts[KH_STATUS_REJECTED]);
    if (left)
        fprintf(summary, ", unacknowledged %zu", left);
    fputc('\n', summary);
    if (foreign)
        fprintf(stderr,
                "kaohe: %zu answers named another event than the line their tag "
                "was sent with; ignored\n",
                foreign);
    if (stats && report_stats(f.v, f.n, rate, a->json, stats_out) != KH_OK)
        rc = kh_fail("cannot write the statistics to %s",
                     stats_out ? stats_out : "stderr");
    free(f.v);
    if (rc == KH_EXIT_OK && counts[KH_STATUS_REJECTED])
        rc = KH_EXIT_REJECTED;
    return rc;
}
