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
#include "kh_keys.h"
#include "kh_proc.h"

#define WINDOW         20000
#define FIRST_RETRY_MS 3000
#define MAX_RETRY_MS   15000

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

/* A connection to one ingest as one identity. */
typedef struct socket {
    void *s;
    int role;
    char who[KH_IDENTITY_MAX + 8];
} socket_t;

/* Connects a DEALER to the ingest of a role as an identity. KH_ENOTFOUND
 * when the identity has no key. */
static int open_socket(socket_t *out, void *ctx, const char *dir, const char *who,
                       int role)
{
    char ep[600], name[32];
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
    /* Let the CURVE handshake finish before the first send (which does not
     * wait): a refused key or a service down just leaves the events to
     * the resends and the deadline. */
    zmq_pollitem_t it = {s, 0, ZMQ_POLLOUT, 0};
    zmq_poll(&it, 1, 2000);
    out->s = s;
    out->role = role;
    snprintf(out->who, sizeof out->who, "%s", who);
    return KH_OK;
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
    socket_t *socks = NULL;
    size_t nsocks = 0, capsocks = 0;
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
            for (size_t j = 0; j < nsocks && k < 0; j++)
                if (socks[j].role == role && strcmp(socks[j].who, who) == 0)
                    k = (int)j;
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
    if (rc != KH_EXIT_OK)
        return rc;

    size_t next = 0, inflight = 0;
    int64_t last_progress = now_ms(), last_scan = last_progress;
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
                    zmq_send(socks[l->sock].s, buf, len,
                             ZMQ_DONTWAIT); /* unsent: resent */
                    free(buf);
                }
                l->sent = true;
                l->retry_ms = FIRST_RETRY_MS;
                l->due_ms = now + l->retry_ms;
                inflight++;
            }
            next++;
        }
        zmq_pollitem_t *items = calloc(nsocks ? nsocks : 1, sizeof *items);
        if (!items)
            break;
        for (size_t r = 0; r < nsocks; r++)
            items[r] = (zmq_pollitem_t){socks[r].s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, (int)nsocks, 100) < 0) {
            free(items);
            break;
        }
        for (size_t r = 0; r < nsocks; r++) {
            if (!(items[r].revents & ZMQ_POLLIN))
                continue;
            for (;;) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, socks[r].s, ZMQ_DONTWAIT) < 0) {
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
        free(items);
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
    free(f.v);
    if (rc == KH_EXIT_OK && counts[KH_STATUS_REJECTED])
        rc = KH_EXIT_REJECTED;
    return rc;
}
