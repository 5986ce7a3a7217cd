/*
 * kaohe-scorer - the single writer of the LMDB environment.
 *
 * Binds a ROUTER ("scorer") that the ingests and the ranker reach through
 * DEALERs, and a PUB ("scorer-pub") announcing each committed batch.
 *
 * Group commit: every time the socket has input, the scorer drains up to
 * BATCH_MAX requests, applies them all in ONE write transaction (journal,
 * de-duplication, closes), commits it (LMDB syncs on commit), and
 * only then answers each request. A lone event is therefore committed as
 * soon as it arrives (no timer to wait for), while under load the batch
 * grows to whatever arrived during the previous commit, amortising the
 * fsync. On MDB_MAP_FULL the whole batch is aborted, the map doubled and
 * the batch applied again: nothing is answered before it is durable.
 *
 * Month-end snapshots (kh_store.h) are written here too, on the ranker's
 * request, so that the environment keeps one writer.
 *
 * Frames: [peer identity][envelope...][ScorerRequest] in; the reply echoes
 * every frame but the last, followed by a ScorerReply.
 *
 * Metrics (kh_service.h writes them): events by outcome, batches
 * committed, events per commit and the time to apply and commit a batch
 * (observed once per batch), the journal's length, the map's size and
 * use, map growths, and batches that failed by error code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kh_codec.h"
#include "kh_error.h"
#include "kh_log.h"
#include "kh_proc.h"
#include "kh_service.h"
#include "kh_store.h"
#include "kh_zuv.h"

#define BATCH_MAX  4096 /* requests per commit */
#define EVENTS_MAX 4096 /* no request taken past this many events in a commit */
/* How often the scorer drops its mapping of the store's pages
 * (kh_store_unmap_pages), in ns: its de-duplication inserts land all over that tree,
 * and without it every page it ever touched stays in its resident set. */
#define UNMAP_EVERY_NS (UINT64_C(1000000000))
#define NCODES         8 /* write failure codes counted */

typedef struct req {
    kh_zmsg_t msg;
    kh_scorer_req_t sreq;
    int decode_err;
    kh_event_t ev; /* KH_SREQ_EVENT */
    kh_ack_t out;
    /* KH_SREQ_EVENTS: per event, its decoding (or the error) and outcome */
    size_t n;
    kh_event_t *evs;
    int *errs;
    kh_ack_t *outs;
} req_t;

typedef struct scorer {
    kh_service_t svc;
    kh_store_t *store;
    void *router, *pub;
    kh_zwatch_t *watch;
    uint64_t batch_no;
    uint64_t unmapped_ns; /* when the map's pages were last dropped */
    bool unmap_failed;
    int failing; /* the error the last batch failed with, KH_OK if none */
    req_t *reqs; /* BATCH_MAX */
    struct {
        kh_counter_t *accepted, *duplicate, *conflict, *rejected, *failed;
        kh_counter_t *batches, *growths;
        struct {
            int code;
            kh_counter_t *c;
        } failures[NCODES]; /* registered as codes occur, after the usual ones */
        kh_histogram_t *batch_events, *commit_seconds;
        kh_gauge_t *journal, *map_bytes, *used_bytes;
    } m;
} scorer_t;

/* Applies the decoded batch in one txn. Returns KH_OK or the error that
 * made the whole batch fail. */
static int apply_batch(scorer_t *s, req_t *reqs, int n, uint64_t *last_seq,
                       kh_day_t *closed)
{
    kh_txn_t *txn;
    int rc = kh_txn_begin(s->store, true, &txn);
    if (rc)
        return rc;
    for (int i = 0; i < n && rc == KH_OK; i++) {
        req_t *r = &reqs[i];
        memset(&r->out, 0, sizeof r->out);
        r->out.tag = r->sreq.tag;
        if (r->decode_err) {
            r->out.status = KH_STATUS_REJECTED;
            snprintf(r->out.reason, sizeof r->out.reason, "%s",
                     kh_err_name(r->decode_err == KH_EFORBIDDEN ? KH_EFORBIDDEN
                                                                : KH_EMALFORMED));
            continue;
        }
        switch (r->sreq.kind) {
        case KH_SREQ_EVENT:
            rc = kh_store_apply(txn, r->sreq.event, r->sreq.event_len, &r->ev, &r->out);
            r->out.tag = r->sreq.tag;
            break;
        case KH_SREQ_EVENTS:
            for (size_t j = 0; j < r->n && rc == KH_OK; j++) {
                uint64_t tag;
                const uint8_t *pb;
                size_t len;
                kh_codec_sreq_item(&r->sreq, j, &tag, &pb, &len);
                kh_ack_t *o = &r->outs[j];
                if (r->errs[j]) {
                    memset(o, 0, sizeof *o);
                    o->status = KH_STATUS_REJECTED;
                    snprintf(o->reason, sizeof o->reason, "%s",
                             kh_err_name(KH_EMALFORMED));
                } else {
                    rc = kh_store_apply(txn, pb, len, &r->evs[j], o);
                }
                o->tag = tag;
            }
            r->out.status = KH_STATUS_ACCEPTED;
            break;
        case KH_SREQ_CLOSE:
            rc = kh_store_close_through(txn, r->sreq.close_through);
            r->out.status = KH_STATUS_ACCEPTED;
            break;
        case KH_SREQ_PING:
            r->out.status = KH_STATUS_PONG;
            break;
        case KH_SREQ_SNAPSHOT: {
            uint64_t pubno = 0;
            int src = kh_store_snap_put(
                txn, r->sreq.snap_month, r->sreq.snap_rev, r->sreq.snap_expect_last,
                (const char *)r->sreq.snap_doc, r->sreq.snap_len, &pubno);
            if (src == KH_ECONFLICT) {
                /* published in between: the ranker recomputes */
                r->out.status = KH_STATUS_REJECTED;
                snprintf(r->out.reason, sizeof r->out.reason, "%s",
                         kh_err_name(KH_ECONFLICT));
            } else {
                rc = src;
                r->out.status = KH_STATUS_ACCEPTED;
                r->out.seq = pubno; /* the publication number */
            }
            break;
        }
        }
    }
    if (rc == KH_OK) {
        *last_seq = kh_store_last_seq(txn);
        *closed = kh_store_closed_through(txn);
        rc = kh_txn_error(txn);
    }
    if (rc) {
        kh_txn_abort(&txn);
        return rc;
    }
    return kh_txn_commit(&txn);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Announces the committed batch with the stations its accepted events
 * touched, each once. */
static void publish(scorer_t *s, req_t *reqs, int n, size_t nevents, uint64_t last_seq,
                    kh_day_t closed)
{
    kh_committed_t c = {0};
    c.seq = last_seq;
    c.batch = ++s->batch_no;
    c.closed_through = closed;
    const char **codes = malloc((nevents ? nevents : 1) * sizeof *codes);
    c.stations = calloc(nevents ? nevents : 1, sizeof *c.stations);
    if (!codes || !c.stations) {
        free(codes);
        free(c.stations);
        return;
    }
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (reqs[i].sreq.kind == KH_SREQ_EVENT &&
            reqs[i].out.status == KH_STATUS_ACCEPTED)
            codes[k++] = reqs[i].ev.station;
        for (size_t j = 0; reqs[i].sreq.kind == KH_SREQ_EVENTS && j < reqs[i].n; j++)
            if (reqs[i].outs[j].status == KH_STATUS_ACCEPTED)
                codes[k++] = reqs[i].evs[j].station;
    }
    qsort(codes, k, sizeof *codes, cmp_str);
    for (size_t i = 0; i < k; i++)
        if (i == 0 || strcmp(codes[i], codes[i - 1]) != 0)
            snprintf(c.stations[c.nstations++], sizeof c.stations[0], "%s", codes[i]);
    uint8_t *buf;
    size_t len;
    if (kh_codec_committed_encode(&c, &buf, &len) == KH_OK) {
        zmq_send(s->pub, buf, len, ZMQ_DONTWAIT); /* drop at HWM */
        free(buf);
    }
    free(codes);
    free(c.stations);
}

static void reply_all(scorer_t *s, req_t *reqs, int n, uint64_t last_seq, kh_day_t closed)
{
    for (int i = 0; i < n; i++) {
        kh_scorer_reply_t rep = {.tag = reqs[i].sreq.tag,
                                 .outcome = reqs[i].out,
                                 .last_seq = last_seq,
                                 .closed_through = closed};
        if (reqs[i].sreq.kind == KH_SREQ_EVENTS) {
            rep.outcomes = reqs[i].outs;
            rep.noutcomes = reqs[i].n;
        }
        uint8_t *buf;
        size_t len;
        if (kh_codec_sreply_encode(&rep, &buf, &len) != KH_OK)
            continue;
        if (kh_zmsg_reply(s->router, &reqs[i].msg, buf, len) != KH_OK)
            kh_log(KH_LOG_WARN, "reply dropped", "cause", zmq_strerror(zmq_errno()),
                   (char *)NULL);
        free(buf);
    }
}

/* Decodes every event of a KH_SREQ_EVENTS request; an event that does not
 * decode is rejected alone (malformed), not the request. */
static int decode_events(req_t *r)
{
    size_t n = r->sreq.nevents;
    r->evs = calloc(n ? n : 1, sizeof *r->evs);
    r->errs = calloc(n ? n : 1, sizeof *r->errs);
    r->outs = calloc(n ? n : 1, sizeof *r->outs);
    if (!r->evs || !r->errs || !r->outs)
        return KH_ENOMEM;
    r->n = n;
    for (size_t j = 0; j < n; j++) {
        uint64_t tag;
        const uint8_t *pb;
        size_t len;
        kh_codec_sreq_item(&r->sreq, j, &tag, &pb, &len);
        kh_event_init(&r->evs[j]);
        r->errs[j] = kh_codec_event_decode(pb, len, &r->evs[j]);
    }
    return KH_OK;
}

/* An outcome saying the batch was not committed (the source resends). */
static void failed(kh_ack_t *o, uint64_t tag, const char *id, int err)
{
    memset(o, 0, sizeof *o);
    o->tag = tag;
    o->status = KH_STATUS_FAILED;
    snprintf(o->reason, sizeof o->reason, "%s", kh_err_name(err));
    snprintf(o->id, sizeof o->id, "%s", id);
}

/* Counts the outcome of every event of the batch (after its replies are
 * settled, committed or failed); returns how many events it had. */
static size_t count_outcomes(scorer_t *s, const req_t *reqs, int n)
{
    uint64_t c[6] = {0}; /* by kh_status_t */
    uint64_t conflict = 0, events = 0;
    for (int i = 0; i < n; i++) {
        const kh_ack_t *v = &reqs[i].out;
        size_t nv = 1;
        if (reqs[i].sreq.kind == KH_SREQ_EVENTS) {
            v = reqs[i].outs;
            nv = reqs[i].n;
        } else if (reqs[i].sreq.kind != KH_SREQ_EVENT) {
            continue;
        }
        for (size_t j = 0; j < nv; j++) {
            if ((unsigned)v[j].status < 6)
                c[v[j].status]++;
            if (v[j].status == KH_STATUS_REJECTED && strcmp(v[j].reason, "conflict") == 0)
                conflict++;
        }
        events += nv;
    }
    kh_counter_add(s->m.accepted, c[KH_STATUS_ACCEPTED]);
    kh_counter_add(s->m.duplicate, c[KH_STATUS_DUPLICATE]);
    kh_counter_add(s->m.conflict, conflict);
    kh_counter_add(s->m.rejected, c[KH_STATUS_REJECTED] - conflict);
    kh_counter_add(s->m.failed, c[KH_STATUS_FAILED]);
    return (size_t)events;
}

/* The failure counter of an error code, registered the first time. */
static kh_counter_t *failure_counter(scorer_t *s, int code)
{
    int i;
    for (i = 0; i < NCODES && s->m.failures[i].c; i++)
        if (s->m.failures[i].code == code)
            return s->m.failures[i].c;
    if (i == NCODES)
        code = KH_ESTORE; /* every slot taken: counted as a storage error */
    char l[64];
    snprintf(l, sizeof l, "code=\"%s\"", kh_err_name(code));
    kh_counter_t *c = kh_metrics_counter(
        s->svc.metrics, "scorer_write_failures_total",
        "Batches not committed (their events answered failed), by error code.", l);
    if (i < NCODES) {
        s->m.failures[i].code = code;
        s->m.failures[i].c = c;
    }
    return c;
}

static void on_readable(void *zsock, void *arg)
{
    scorer_t *s = arg;
    req_t *reqs = s->reqs;
    int n = 0;
    size_t nevents = 0;
    while (n < BATCH_MAX && nevents < EVENTS_MAX) {
        req_t *r = &reqs[n];
        if (kh_zmsg_recv(zsock, &r->msg) != KH_OK)
            break;
        kh_event_init(&r->ev);
        r->decode_err = KH_OK;
        r->n = 0;
        r->evs = NULL;
        r->errs = NULL;
        r->outs = NULL;
        if (r->msg.n < 2 || r->msg.truncated) {
            kh_log(KH_LOG_WARN, "dropped message without envelope", (char *)NULL);
            kh_zmsg_close(&r->msg);
            continue;
        }
        int last = r->msg.n - 1;
        /* Only the services themselves write: the ingests (which have
         * validated the event and authenticated its source) and the
         * ranker. */
        const char *who = kh_zmsg_user(&r->msg, last);
        r->decode_err = kh_codec_sreq_decode(kh_zmsg_data(&r->msg, last),
                                             kh_zmsg_size(&r->msg, last), &r->sreq);
        /* A ping (kaohe up, status) may come from any known key. */
        if (!who || (strcmp(who, "service") != 0 &&
                     !(r->decode_err == KH_OK && r->sreq.kind == KH_SREQ_PING))) {
            kh_log(KH_LOG_WARN, "request from a non-service key refused", "key",
                   who ? who : "-", (char *)NULL);
            kh_codec_sreq_free(&r->sreq);
            memset(&r->sreq, 0, sizeof r->sreq);
            r->decode_err = KH_EFORBIDDEN;
            n++;
            continue;
        }
        if (r->decode_err == KH_OK && r->sreq.kind == KH_SREQ_EVENT)
            r->decode_err =
                kh_codec_event_decode(r->sreq.event, r->sreq.event_len, &r->ev);
        if (r->decode_err == KH_OK && r->sreq.kind == KH_SREQ_EVENTS)
            r->decode_err = decode_events(r);
        if (r->decode_err)
            kh_log(KH_LOG_WARN, "undecodable request", "cause",
                   kh_strerror(r->decode_err), (char *)NULL);
        nevents += r->sreq.kind == KH_SREQ_EVENTS ? r->n : 1;
        n++;
    }
    if (n == 0)
        return;

    uint64_t last_seq = 0;
    kh_day_t closed = KH_DAY_NONE;
    int rc;
    uint64_t t0 = uv_hrtime();
    for (;;) {
        rc = apply_batch(s, reqs, n, &last_seq, &closed);
        if (rc != KH_EMAP_FULL)
            break;
        char sz[32];
        if (kh_store_grow(s->store) != KH_OK) {
            kh_log(KH_LOG_ERROR, "cannot grow the store map", (char *)NULL);
            break;
        }
        snprintf(sz, sizeof sz, "%zu", kh_store_map_size(s->store));
        kh_log(KH_LOG_INFO, "store map grown", "bytes", sz, (char *)NULL);
        kh_counter_inc(s->m.growths);
    }
    double took = (double)(uv_hrtime() - t0) / 1e9;
    if (rc != KH_OK) {
        /* Nothing of the batch is durable: say so, the sources retry. A
         * full disk is logged once, when writes start failing, and again
         * when they succeed. */
        if (rc != s->failing)
            kh_log(KH_LOG_ERROR, "batch not committed, sources will resend", "cause",
                   kh_strerror(rc), "code", kh_err_name(rc), (char *)NULL);
        s->failing = rc;
        kh_counter_inc(failure_counter(s, rc));
        for (int i = 0; i < n; i++) {
            failed(&reqs[i].out, reqs[i].sreq.tag, reqs[i].ev.id, rc);
            for (size_t j = 0; j < reqs[i].n; j++) {
                uint64_t tag;
                const uint8_t *pb;
                size_t len;
                kh_codec_sreq_item(&reqs[i].sreq, j, &tag, &pb, &len);
                failed(&reqs[i].outs[j], tag, reqs[i].evs[j].id, rc);
            }
        }
    } else {
        if (s->failing) {
            kh_log(KH_LOG_INFO, "store writable again", (char *)NULL);
            s->failing = KH_OK;
        }
        publish(s, reqs, n, nevents, last_seq, closed);
        kh_counter_inc(s->m.batches);
        kh_histogram_observe(s->m.commit_seconds, took);
        kh_gauge_set(s->m.journal, (double)last_seq);
    }
    reply_all(s, reqs, n, last_seq, closed);
    size_t events = count_outcomes(s, reqs, n);
    if (rc == KH_OK && events)
        kh_histogram_observe(s->m.batch_events, (double)events);
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < reqs[i].n; j++)
            kh_event_clear(&reqs[i].evs[j]);
        free(reqs[i].evs);
        free(reqs[i].errs);
        free(reqs[i].outs);
        kh_codec_sreq_free(&reqs[i].sreq);
        kh_event_clear(&reqs[i].ev);
        kh_zmsg_close(&reqs[i].msg);
    }
    if (rc == KH_OK && uv_hrtime() - s->unmapped_ns >= UNMAP_EVERY_NS) {
        s->unmapped_ns = uv_hrtime();
        int urc = kh_store_unmap_pages(s->store);
        if (urc != KH_OK && !s->unmap_failed)
            kh_log(KH_LOG_WARN, "cannot drop the store's mapped pages", "cause",
                   kh_strerror(urc), (char *)NULL);
        s->unmap_failed = urc != KH_OK;
    }
    if (rc == KH_EPANIC) {
        /* LMDB refuses every further txn: only a new process can reopen
         * the environment (kaohe up, or systemd's Restart=on-failure). */
        kh_log(KH_LOG_ERROR, "store unusable, exiting", "cause", kh_strerror(rc),
               (char *)NULL);
        kh_service_stop(&s->svc, 1);
    }
}

/* Before each metrics write: the store's size, use and length. */
static void on_metrics(kh_service_t *svc)
{
    scorer_t *s = svc->data;
    kh_store_info_t info;
    if (kh_store_info(s->store, &info) != KH_OK)
        return;
    kh_gauge_set(s->m.map_bytes, (double)info.map_size);
    kh_gauge_set(s->m.used_bytes, (double)info.used);
    kh_gauge_set(s->m.journal, (double)info.last_seq);
}

static void metrics_register(scorer_t *s)
{
    kh_metrics_t *m = s->svc.metrics;
    static const char events[] =
        "Events decided, by outcome: accepted, duplicate, conflict, rejected "
        "(undecodable or not from a service) or failed (batch not committed).";
    s->m.accepted =
        kh_metrics_counter(m, "scorer_events_total", events, "outcome=\"accepted\"");
    s->m.duplicate =
        kh_metrics_counter(m, "scorer_events_total", events, "outcome=\"duplicate\"");
    s->m.conflict =
        kh_metrics_counter(m, "scorer_events_total", events, "outcome=\"conflict\"");
    s->m.rejected =
        kh_metrics_counter(m, "scorer_events_total", events, "outcome=\"rejected\"");
    s->m.failed =
        kh_metrics_counter(m, "scorer_events_total", events, "outcome=\"failed\"");
    s->m.batches = kh_metrics_counter(
        m, "scorer_batches_total", "Write transactions committed (group commits).", NULL);
    static const double sizes[] = {1,   2,    4,    8,    16,   32,    64,    128,  256,
                                   512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
    s->m.batch_events = kh_metrics_histogram(m, "scorer_batch_events",
                                             "Events per committed write transaction.",
                                             NULL, sizes, sizeof sizes / sizeof *sizes);
    static const double secs[] = KH_METRICS_SECONDS;
    s->m.commit_seconds = kh_metrics_histogram(
        m, "scorer_commit_duration_seconds",
        "Time to apply a batch and commit it durably (map growths included).", NULL, secs,
        sizeof secs / sizeof *secs);
    s->m.journal =
        kh_metrics_gauge(m, "scorer_journal_events",
                         "Events in the journal (its last sequence number).", NULL);
    s->m.map_bytes =
        kh_metrics_gauge(m, "scorer_store_map_bytes",
                         "Size of the LMDB map (it doubles when full).", NULL);
    s->m.used_bytes = kh_metrics_gauge(m, "scorer_store_used_bytes",
                                       "Bytes of the LMDB map in use.", NULL);
    s->m.growths = kh_metrics_counter(m, "scorer_map_growths_total",
                                      "Times the LMDB map was doubled.", NULL);
    /* The usual failure codes exist from the start (at 0). */
    failure_counter(s, KH_ENOSPC);
    failure_counter(s, KH_EMAP_FULL);
    failure_counter(s, KH_EIO);
    failure_counter(s, KH_ESTORE);
    s->svc.on_metrics = on_metrics;
    on_metrics(&s->svc);
}

static void on_stop(kh_service_t *svc)
{
    scorer_t *s = svc->data;
    kh_zwatch_stop(&s->watch);
}

int main(int argc, char **argv)
{
    scorer_t s;
    memset(&s, 0, sizeof s);
    int rc = kh_service_init(&s.svc, "scorer", argc, argv);
    if (rc) {
        kh_service_fini(&s.svc); /* whatever init loaded before failing */
        return rc;
    }
    s.svc.data = &s;
    s.svc.on_stop = on_stop;
    char path[PATH_MAX];
    kh_path(path, sizeof path, s.svc.dir, NULL, "store", NULL);
    /* KAOHE_MAP_SIZE: the initial map in bytes (tests start small; the
     * map doubles whenever it fills). */
    const char *ms = getenv("KAOHE_MAP_SIZE");
    kh_store_opts_t o = {.dir = path,
                         .readonly = false,
                         .map_size = ms ? (size_t)strtoull(ms, NULL, 10) : 0};
    if ((rc = kh_store_open(&s.store, &o)) != KH_OK) {
        kh_log(KH_LOG_ERROR, "cannot open store", "path", path, "cause", kh_strerror(rc),
               (char *)NULL);
        kh_service_fini(&s.svc);
        return 1;
    }
    if (kh_store_dropped_legacy(s.store))
        kh_log(KH_LOG_INFO,
               "dropped an older store's station and case indexes (the ranker derives "
               "them from the journal now)",
               "path", path, (char *)NULL);
    kh_txn_t *txn;
    if (kh_txn_begin(s.store, false, &txn) == KH_OK) {
        char seq[32];
        char map[32];
        snprintf(seq, sizeof seq, "%llu", (unsigned long long)kh_store_last_seq(txn));
        snprintf(map, sizeof map, "%zu", kh_store_map_size(s.store));
        kh_txn_abort(&txn);
        kh_log(KH_LOG_INFO, "store opened", "path", path, "last_seq", seq, "map_bytes",
               map, (char *)NULL);
    }
    metrics_register(&s);
    s.reqs = calloc(BATCH_MAX, sizeof *s.reqs);
    s.router = kh_service_socket(&s.svc, ZMQ_ROUTER, "scorer", true);
    s.pub = kh_service_socket(&s.svc, ZMQ_PUB, "scorer-pub", true);
    if (!s.reqs || !s.router || !s.pub ||
        kh_zwatch_start(s.svc.loop, s.router, on_readable, &s, &s.watch)) {
        /* sockets may be open, so no kh_service_fini (zmq_ctx_term would
         * wait for them): the process ends here anyway */
        kh_log(KH_LOG_ERROR, "cannot start", (char *)NULL);
        return 1;
    }
    rc = kh_service_run(&s.svc);
    zmq_close(s.router);
    zmq_close(s.pub);
    kh_store_close(&s.store);
    free(s.reqs);
    kh_service_fini(&s.svc);
    return rc;
}
