/*
 * cmd_feed.c - kaohe feed FILE... : send events, wait for every
 * acknowledgement.
 *
 * Every line goes to the ingest of its source's role (with --as NAME, of
 * that identity's role), pipelined: up to WINDOW events in flight, each
 * tagged with its index so acknowledgements are matched in any order. A
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
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "kaohe.h"
#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_error.h"
#include "kh_proc.h"

#define WINDOW         20000
#define FIRST_RETRY_MS 3000
#define MAX_RETRY_MS   15000

typedef struct line {
    char *text;
    size_t len;
    long lineno;
    int role; /* kh_source_t of the ingest it goes to */
    bool done, sent;
    int status; /* kh_status_t once done */
    char reason[32];
    char id[KH_ID_MAX + 1];
    bool has_id;
    int64_t due_ms; /* resend when unanswered by then */
    int retry_ms;
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
    char dir[PATH_MAX];
    if (kh_abspath(dir, sizeof dir, a->dir))
        return kh_fail("no data directory %s", a->dir);

    /* With --as, the identity's rights are checked here too, with the
     * county the services run with. */
    kh_county_t *county = NULL;
    kh_catalog_t *catalog = NULL;
    if (as) {
        char cfg[PATH_MAX], err[512];
        kh_path(cfg, sizeof cfg, dir, NULL, "county", "json");
        if (kh_county_load(&county, cfg, err, sizeof err))
            return kh_fail("%s: %s", cfg, err);
        if (kh_catalog_load(&catalog, kh_catalog_default_path(), err, sizeof err))
            return kh_fail("rule catalog: %s", err);
    }

    feed_t f = {0};
    long lineno = 0;
    for (int i = 0; i < a->npos; i++)
        if (read_input(&f, a->pos[i], &lineno) != KH_OK)
            return kh_fail("cannot read %s", a->pos[i]);

    /* Decide locally what needs no service; route the rest. */
    size_t left = 0;
    for (size_t i = 0; i < f.n; i++) {
        line_t *l = &f.v[i];
        kh_event_t ev;
        kh_event_init(&ev);
        int rc = kh_event_parse_json(l->text, l->len, &ev);
        if (ev.id[0]) {
            snprintf(l->id, sizeof l->id, "%s", ev.id);
            l->has_id = true;
        }
        if (rc == KH_OK && as) {
            if (as_role == -2)
                rc = KH_EFORBIDDEN; /* admin sends no events */
            else {
                int c = kh_event_check(&ev, county, catalog, as, 0);
                if (c == KH_EFORBIDDEN)
                    rc = c;
            }
        }
        if (rc != KH_OK) {
            l->done = true;
            l->status = KH_STATUS_REJECTED;
            snprintf(l->reason, sizeof l->reason, "%s", kh_err_name(rc));
        } else {
            l->role = as ? as_role : (int)ev.source;
            left++;
        }
        kh_event_clear(&ev);
    }
    kh_county_free(&county);
    kh_catalog_free(&catalog);

    void *ctx = zmq_ctx_new();
    void *socks[KH_SRC_COUNT] = {0};
    for (int r = 0; r < KH_SRC_COUNT; r++) {
        char ep[600], name[32];
        snprintf(name, sizeof name, "ingest-%s", kh_source_name(r));
        if (kh_endpoint(ep, sizeof ep, dir, name))
            return kh_fail("data directory path too long");
        socks[r] = zmq_socket(ctx, ZMQ_DEALER);
        int zero = 0, linger = 0;
        zmq_setsockopt(socks[r], ZMQ_SNDHWM, &zero, sizeof zero);
        zmq_setsockopt(socks[r], ZMQ_RCVHWM, &zero, sizeof zero);
        zmq_setsockopt(socks[r], ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(socks[r], ep) != 0)
            return kh_fail("cannot connect to %s", ep);
    }

    size_t next = 0, inflight = 0;
    int64_t last_progress = now_ms(), last_scan = last_progress;
    int rc = KH_EXIT_OK;
    while (left > 0) {
        int64_t now = now_ms();
        /* send new lines while the window allows */
        while (next < f.n && inflight < WINDOW) {
            line_t *l = &f.v[next];
            if (!l->done) {
                uint8_t *buf;
                size_t len;
                if (kh_codec_submit_encode(next + 1, l->text, l->len, false, &buf,
                                           &len) == KH_OK) {
                    zmq_send(socks[l->role], buf, len, 0);
                    free(buf);
                }
                l->sent = true;
                l->retry_ms = FIRST_RETRY_MS;
                l->due_ms = now + l->retry_ms;
                inflight++;
            }
            next++;
        }
        zmq_pollitem_t items[KH_SRC_COUNT];
        for (int r = 0; r < KH_SRC_COUNT; r++)
            items[r] = (zmq_pollitem_t){socks[r], 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, KH_SRC_COUNT, 100) < 0)
            break;
        for (int r = 0; r < KH_SRC_COUNT; r++) {
            if (!(items[r].revents & ZMQ_POLLIN))
                continue;
            for (;;) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, socks[r], ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                kh_ack_t o;
                if (kh_codec_outcome_decode(zmq_msg_data(&m), zmq_msg_size(&m), &o) ==
                        KH_OK &&
                    o.tag >= 1 && o.tag <= f.n) {
                    line_t *l = &f.v[o.tag - 1];
                    if (!l->done && l->sent) {
                        if (o.status == KH_STATUS_FAILED) {
                            /* not decided (scorer down): resend later; this
                             * is no progress towards the deadline */
                            l->due_ms = now_ms() + l->retry_ms;
                        } else {
                            last_progress = now_ms();
                            l->done = true;
                            l->status = o.status;
                            snprintf(l->reason, sizeof l->reason, "%s", o.reason);
                            inflight--;
                            left--;
                        }
                    }
                }
                zmq_msg_close(&m);
            }
        }
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
                zmq_send(socks[l->role], buf, len, 0);
                free(buf);
            }
            l->retry_ms = l->retry_ms * 2 > MAX_RETRY_MS ? MAX_RETRY_MS : l->retry_ms * 2;
            l->due_ms = now + l->retry_ms;
        }
        if (now - last_progress > (int64_t)timeout_s * 1000) {
            fprintf(stderr,
                    "kaohe: no acknowledgement for %d s: %zu events never "
                    "acknowledged (is kaohe up in %s?)\n",
                    timeout_s, left, dir);
            rc = KH_EXIT_FAIL;
            break;
        }
    }
    for (int r = 0; r < KH_SRC_COUNT; r++)
        zmq_close(socks[r]);
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
    free(f.v);
    if (rc == KH_EXIT_OK && counts[KH_STATUS_REJECTED])
        rc = KH_EXIT_REJECTED;
    return rc;
}
