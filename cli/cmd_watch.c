/*
 * cmd_watch.c - kaohe watch: the live ranking in a terminal.
 *
 * Event-driven, no polling: SUB sockets on the scorer's "scorer-pub" (a
 * Committed notice after every committed batch) and on each ingest's
 * "ingest-ROLE-pub" (a notice per rejected event, services/ingest/main.c).
 * A notice wakes the loop, which drains every notice pending on every
 * socket and only then, once, asks the ranker for the year's ranking and
 * the month's 城区三所 ranking and reads the store (read-only, as `kaohe
 * snapshot show` does) for the last committed sequence and the snapshot
 * the changes are counted from (read_store), then redraws. Redraws are at least
 * WATCH_GAP_MS apart, so a burst of commits costs a few queries a second
 * at most; a rejection alone changes no score and only redraws.
 *
 * zmq_poll sleeps without a timeout when there is nothing to do. The
 * only timers: that gap; a retry while the ranker does not answer; and
 * one query WATCH_SETTLE_MS after start, because a commit made between
 * the first query and the subscriptions reaching the publishers would
 * otherwise go unseen until the next one (the Clone pattern's gap).
 *
 * Signals come through a self-pipe polled beside the sockets: SIGWINCH
 * redraws at the new size, SIGINT, SIGTERM and SIGHUP end the loop, as
 * does the q key. The terminal (alternate screen, hidden cursor, keys
 * unbuffered and unechoed) is restored on every way out of the loop.
 *
 * Not on a terminal, or with --once: one frame as tall as its content
 * (80 columns, or $COLUMNS off a terminal) on stdout, then exit; exit 1
 * when the ranker does not answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "kaohe.h"
#include "kh_county.h"
#include "kh_error.h"
#include "kh_proc.h"
#include "kh_store.h"
#include "kh_watch.h"

#define WATCH_QUERY_MS  10000 /* one query's deadline */
#define WATCH_GAP_MS    250   /* at most four redraws a second */
#define WATCH_RETRY_MS  2000  /* while the ranker does not answer */
#define WATCH_SETTLE_MS 1000  /* the one extra query after start */
#define WATCH_KEEP      64    /* rejections kept, newest first */
#define WATCH_NSUBS     5

/* The publishers: the scorer's commits first, then the ingests'
 * rejections. */
static const char *const sub_names[WATCH_NSUBS] = {
    "scorer-pub", "ingest-dispatch-pub", "ingest-legal-pub", "ingest-station-pub",
    "ingest-assessor-pub"};

typedef struct watch {
    char dir[PATH_MAX];
    kh_county_t *county;
    kh_store_t *store;
    int year_opt;          /* --year, 0: the county's current year */
    kh_period_t month_opt; /* --month, year 0: the current month */
    int year;
    char month[16];
    void *zctx;
    void *subs[WATCH_NSUBS];
    json_t *rank, *urban, *snap; /* owned */
    uint64_t snap_pubno;         /* the publication snap was chosen at */
    int snap_year;
    uint64_t last_seq;
    kh_usec_t updated;
    char note[PATH_MAX + 128];
    kh_watch_rejection_t rej[WATCH_KEEP];
    size_t nrej;
} watch_t;

static volatile sig_atomic_t g_stop, g_winch;
static int g_sigpipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGWINCH)
        g_winch = 1;
    else
        g_stop = 1;
    if (g_sigpipe[1] >= 0) {
        char c = 0;
        ssize_t n = write(g_sigpipe[1], &c, 1); /* full pipe: a wake-up is pending */
        (void)n;
    }
    errno = saved;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The year and month shown: the options', else the county's today (a
 * past year shows its December, a future one its January). Followed at
 * every refresh, so a watch left open crosses into the next month. */
static void choose_period(watch_t *w)
{
    int ty, tm;
    kh_day_to_civil(kh_tz_day(w->county->tz, kh_time_now()), &ty, &tm, NULL);
    if (w->month_opt.year) {
        w->year = w->year_opt ? w->year_opt : w->month_opt.year;
        kh_period_format(w->month_opt, w->month);
        return;
    }
    w->year = w->year_opt ? w->year_opt : ty;
    int m = w->year == ty ? tm : (w->year < ty ? 12 : 1);
    snprintf(w->month, sizeof w->month, "%04d-%02d", w->year, m);
}

/* The last committed sequence and, when a publication was made since we
 * last looked (or the year changed), the snapshot the changes are counted
 * from: the latest revision of the year's latest published month (a late
 * revision of an earlier month does not move the baseline back). */
static int read_store(watch_t *w)
{
    kh_txn_t *txn;
    int rc = kh_txn_begin(w->store, false, &txn);
    if (rc)
        return rc;
    w->last_seq = kh_store_last_seq(txn);
    kh_snap_ref_t last = {0};
    bool found = false;
    rc = kh_store_snap_last(txn, &last, &found);
    if (rc == KH_OK && (last.pubno != w->snap_pubno || w->snap_year != w->year)) {
        json_t *doc = NULL;
        for (int m = 11; found && m >= 0 && !doc; m--) {
            uint32_t key = (uint32_t)(w->year * 12 + m); /* kh_store.h's month key */
            uint32_t rev = kh_store_snap_latest_rev(txn, key);
            char *text;
            size_t len;
            if (rev && kh_store_snap_get(txn, key, rev, &text, &len) == KH_OK) {
                doc = json_loadb(text, len, 0, NULL);
                free(text);
            }
        }
        json_decref(w->snap);
        w->snap = doc;
        w->snap_pubno = found ? last.pubno : 0;
        w->snap_year = w->year;
    }
    kh_txn_abort(&txn);
    return rc;
}

/* One query to the ranker; the answer's document in *doc, or the problem
 * in w->note. */
static int ask(watch_t *w, kh_query_kind_t kind, json_t **doc)
{
    kh_query_t q = {.tag = 1, .kind = kind, .year = w->year};
    snprintf(q.month, sizeof q.month, "%s", w->month);
    kh_reply_t rep;
    int rc = kh_client_query(w->dir, &q, WATCH_QUERY_MS, &rep);
    if (rc != KH_OK) {
        snprintf(w->note, sizeof w->note,
                 "the ranker did not answer (%s): is kaohe up in %s?", kh_strerror(rc),
                 w->dir);
        return rc;
    }
    if (rep.code != 0) {
        rc = rep.code;
        snprintf(w->note, sizeof w->note, "%s", rep.error ? rep.error : kh_strerror(rc));
    } else if (!(*doc = json_loads(rep.json ? rep.json : "", 0, NULL))) {
        rc = KH_EPROTO;
        snprintf(w->note, sizeof w->note, "unreadable answer from the ranker");
    }
    kh_codec_reply_free(&rep);
    return rc;
}

/* Fetches everything a frame shows. On failure the previous documents
 * stay and w->note says what went wrong. */
static int refresh(watch_t *w)
{
    choose_period(w);
    if (!kh_pidfile_alive(w->dir, "ranker")) {
        /* say so at once rather than wait out a query's deadline */
        snprintf(w->note, sizeof w->note, "the ranker is not running: is kaohe up in %s?",
                 w->dir);
        return KH_ENET;
    }
    int rc = read_store(w);
    if (rc != KH_OK) {
        snprintf(w->note, sizeof w->note, "cannot read the store: %s", kh_strerror(rc));
        return rc;
    }
    json_t *rank = NULL, *urban = NULL;
    if ((rc = ask(w, KH_Q_RANK, &rank)) != KH_OK ||
        (rc = ask(w, KH_Q_URBAN, &urban)) != KH_OK) {
        json_decref(rank);
        return rc;
    }
    json_decref(w->rank);
    json_decref(w->urban);
    w->rank = rank;
    w->urban = urban;
    w->updated = kh_time_now();
    w->note[0] = '\0';
    return KH_OK;
}

/* A rejection notice, kept newest first. */
static void keep_rejection(watch_t *w, const void *data, size_t len)
{
    kh_watch_rejection_t r;
    if (kh_watch_rejection_parse(data, len, &r) != KH_OK)
        return;
    size_t n = w->nrej < WATCH_KEEP ? w->nrej : WATCH_KEEP - 1;
    memmove(&w->rej[1], &w->rej[0], n * sizeof w->rej[0]);
    w->rej[0] = r;
    w->nrej = n + 1;
}

/* The terminal's size; off a terminal $COLUMNS (default 80) wide and no
 * height (the whole frame). */
static void term_size(size_t *width, size_t *height)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col > 0) {
        *width = ws.ws_col;
        *height = ws.ws_row > 0 ? ws.ws_row : 24;
        return;
    }
    const char *cols = getenv("COLUMNS");
    long c = cols ? strtol(cols, NULL, 10) : 0;
    *width = c >= 20 && c <= 1000 ? (size_t)c : 80;
    *height = 0;
}

static int write_all(const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Lays out a frame and writes it: on the screen each line in place
 * (cursor addressed, cleared first, so nothing scrolls or wraps), else
 * as plain lines. -1 when stdout is gone. */
static int draw(watch_t *w, bool screen)
{
    size_t width, height;
    term_size(&width, &height);
    if (!screen)
        height = 0;
    kh_watch_view_t v = {.dir = w->dir,
                         .last_seq = w->last_seq,
                         .updated = w->updated,
                         .tz = w->county->tz,
                         .note = w->note,
                         .rank = w->rank,
                         .urban = w->urban,
                         .snapshot = w->snap,
                         .rejections = w->rej,
                         .nrejections = w->nrej};
    kh_watch_frame_t f;
    if (kh_watch_layout(&v, width, height, &f) != KH_OK)
        return 0; /* out of memory: keep the last frame */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) {
        kh_watch_frame_free(&f);
        return 0;
    }
    for (size_t i = 0; i < f.n; i++) {
        if (screen)
            fprintf(m, "\033[%zu;1H\033[2K%s", i + 1, f.lines[i]);
        else
            fprintf(m, "%s\n", f.lines[i]);
    }
    if (screen && f.n < height)
        fprintf(m, "\033[%zu;1H\033[J", f.n + 1);
    fclose(m);
    int rc = write_all(buf, len);
    free(buf);
    kh_watch_frame_free(&f);
    return rc;
}

/* Drains every notice pending on every socket: a commit asks for a new
 * query, a rejection for a redraw. */
static void drain(watch_t *w, bool *need_query, bool *need_draw)
{
    char buf[4096];
    for (int i = 0; i < WATCH_NSUBS; i++) {
        for (;;) {
            int n = zmq_recv(w->subs[i], buf, sizeof buf, ZMQ_DONTWAIT);
            if (n < 0)
                break;
            if (i == 0) {
                *need_query = true;
            } else if ((size_t)n <= sizeof buf) {
                keep_rejection(w, buf, (size_t)n);
                *need_draw = true;
            }
        }
    }
}

/* The interactive loop; returns when asked to stop. */
static void run(watch_t *w)
{
    bool keys = isatty(STDIN_FILENO);
    struct termios saved;
    if (keys && tcgetattr(STDIN_FILENO, &saved) == 0) {
        struct termios raw = saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO); /* ISIG stays: Ctrl-C is SIGINT */
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    } else {
        keys = false;
    }
    static const char enter[] = "\033[?1049h\033[?25l\033[H\033[2J";
    static const char leave[] = "\033[?25h\033[?1049l";
    write_all(enter, sizeof enter - 1);

    bool need_query = true, need_draw = true, failed = false, stdin_open = keys;
    int64_t next_ok = 0, retry_at = 0, settle_at = now_ms() + WATCH_SETTLE_MS;
    while (!g_stop) {
        int64_t now = now_ms();
        if (g_winch) {
            g_winch = 0;
            need_draw = true;
        }
        if (settle_at && now >= settle_at) {
            settle_at = 0;
            need_query = true;
        }
        if (failed && now >= retry_at)
            need_query = true;
        if ((need_query || need_draw) && now >= next_ok) {
            if (need_query) {
                failed = refresh(w) != KH_OK;
                retry_at = now_ms() + WATCH_RETRY_MS;
            }
            if (draw(w, true) != 0)
                break;
            need_query = need_draw = false;
            next_ok = now_ms() + WATCH_GAP_MS;
            continue; /* notices may have come meanwhile: look first */
        }
        long timeout = -1;
        if (need_query || need_draw)
            timeout = (long)(next_ok - now);
        if (failed && (timeout < 0 || retry_at - now < timeout))
            timeout = (long)(retry_at - now);
        if (settle_at && (timeout < 0 || settle_at - now < timeout))
            timeout = (long)(settle_at - now);
        zmq_pollitem_t items[WATCH_NSUBS + 2];
        int n = 0;
        for (int i = 0; i < WATCH_NSUBS; i++)
            items[n++] = (zmq_pollitem_t){w->subs[i], 0, ZMQ_POLLIN, 0};
        items[n++] = (zmq_pollitem_t){NULL, g_sigpipe[0], ZMQ_POLLIN, 0};
        if (stdin_open)
            items[n++] = (zmq_pollitem_t){NULL, STDIN_FILENO, ZMQ_POLLIN, 0};
        if (zmq_poll(items, n, timeout) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            break;
        }
        char c[64];
        while (read(g_sigpipe[0], c, sizeof c) > 0)
            ;
        if (stdin_open && (items[WATCH_NSUBS + 1].revents & ZMQ_POLLIN)) {
            ssize_t k = read(STDIN_FILENO, c, sizeof c);
            if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
                stdin_open = false; /* no more keys: q is gone, signals remain */
            for (ssize_t i = 0; i < k; i++)
                if (c[i] == 'q' || c[i] == 'Q' || c[i] == 3)
                    g_stop = 1;
        }
        drain(w, &need_query, &need_draw);
    }

    write_all(leave, sizeof leave - 1);
    if (keys)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
}

static int open_subs(watch_t *w)
{
    w->zctx = zmq_ctx_new();
    if (!w->zctx)
        return kh_fail("cannot create a ZeroMQ context");
    for (int i = 0; i < WATCH_NSUBS; i++) {
        char ep[600];
        void *s = w->subs[i] = zmq_socket(w->zctx, ZMQ_SUB);
        int linger = 0;
        if (!s)
            return kh_fail("cannot create a socket: %s", zmq_strerror(zmq_errno()));
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
        if (kh_client_curve(s, w->dir, kh_client_identity) != KH_OK)
            return kh_fail("no key for %s in %s/keys", kh_client_identity, w->dir);
        if (kh_endpoint(ep, sizeof ep, w->dir, sub_names[i]))
            return kh_fail("data directory path too long: %s", w->dir);
        /* A publisher not up yet is fine: ZeroMQ connects when it is. */
        if (zmq_connect(s, ep) != 0)
            return kh_fail("cannot connect to %s: %s", ep, zmq_strerror(zmq_errno()));
    }
    return KH_EXIT_OK;
}

static int watch_main(watch_t *w, const kh_args_t *a)
{
    char path[PATH_MAX], err[512];
    if (kh_abspath(w->dir, sizeof w->dir, a->dir))
        return kh_fail("no data directory %s", a->dir);
    kh_path(path, sizeof path, w->dir, NULL, "county", "json");
    if (kh_county_load(&w->county, path, err, sizeof err) != KH_OK)
        return kh_fail("cannot read %s: %s", path, err);
    kh_path(path, sizeof path, w->dir, NULL, "store", NULL);
    kh_store_opts_t o = {.dir = path, .readonly = true};
    int rc = kh_store_open(&w->store, &o);
    if (rc != KH_OK)
        return kh_fail("cannot open the store in %s: %s", w->dir, kh_strerror(rc));
    /* Subscribed first, then the state so far (Clone). */
    if ((rc = open_subs(w)) != KH_EXIT_OK)
        return rc;

    if (kh_args_flag(a, "--once") || !isatty(STDOUT_FILENO)) {
        if (refresh(w) != KH_OK)
            return kh_fail("%s", w->note);
        return draw(w, false) == 0 ? KH_EXIT_OK : KH_EXIT_FAIL;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (pipe(g_sigpipe) != 0)
        return kh_fail("cannot create a pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        fcntl(g_sigpipe[i], F_SETFL, fcntl(g_sigpipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(g_sigpipe[i], F_SETFD, FD_CLOEXEC);
    }
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, NULL);
    run(w);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, NULL);
    close(g_sigpipe[0]);
    close(g_sigpipe[1]);
    g_sigpipe[0] = g_sigpipe[1] = -1;
    return KH_EXIT_OK;
}

int kh_cmd_watch(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    if (a->npos != 0)
        return kh_usage_error("watch takes no arguments");
    watch_t *w = calloc(1, sizeof *w);
    if (!w)
        return kh_fail("out of memory");
    const char *y = kh_args_get(a, "--year"), *month = kh_args_get(a, "--month");
    int rc = KH_EXIT_OK;
    if (y) {
        char *end;
        long v = strtol(y, &end, 10);
        if (*y == '\0' || *end != '\0' || v < 1970 || v > 9999)
            rc = kh_usage_error("--year %s: want a year like 2026", y);
        w->year_opt = (int)v;
    }
    if (rc == KH_EXIT_OK && month && kh_month_parse(month, &w->month_opt) != KH_OK)
        rc = kh_usage_error("--month %s: want YYYY-MM", month);
    if (rc == KH_EXIT_OK)
        rc = watch_main(w, a);
    for (int i = 0; i < WATCH_NSUBS; i++)
        if (w->subs[i])
            zmq_close(w->subs[i]);
    if (w->zctx)
        zmq_ctx_term(w->zctx);
    kh_store_close(&w->store);
    kh_county_free(&w->county);
    json_decref(w->rank);
    json_decref(w->urban);
    json_decref(w->snap);
    free(w);
    return rc;
}
