/*
 * kaohe-ingest - one process per feed role (dispatch, legal, station,
 * assessor).
 *
 * Binds a ROUTER ("ingest-ROLE") for the sources and connects a DEALER to
 * the scorer. For each Submit it parses and validates the JSON line (SPEC
 * section 5, every rejection that needs no history: too_large, malformed,
 * unknown_type, forbidden, unknown_station, bad_time, out_of_range) and
 * answers a rejection at once. An acceptable event is encoded and sent on
 * to the scorer with the source's routing identity as envelope; the
 * scorer's reply (accepted, duplicate or conflict, after the durable
 * commit) comes back with that envelope and is relayed to the source. The
 * ingest keeps no state per event, so it can be killed at any moment: a
 * source that got no answer resends, and the scorer de-duplicates.
 *
 * Every rejection, its own or the scorer's (conflict), is also announced
 * on a PUB ("ingest-ROLE-pub") for watchers such as `kaohe watch`: one
 * frame of UTF-8 JSON text per rejected event,
 *   {"source":"station","id":"x-bm","reason":"forbidden",
 *    "key":"station-NM","time":"2026-11-03T06:02:10.123456Z"}
 * source is this ingest's role, id the event's id ("" when none could be
 * read), reason the SPEC section 5 code, key the sender's identity (null
 * where the scorer decided), time when it was decided (UTC, RFC 3339).
 * Notices are sent without waiting: a slow subscriber loses them at the
 * high-water mark, the ingest never blocks on one. Nothing else changes
 * with or without subscribers; an ingest that cannot bind the PUB logs
 * it and runs on without announcing.
 *
 * Metrics (kh_service.h writes them): events by what became of them here
 * (forwarded, rejected, failed), rejections by reason (its own and those
 * the scorer decided), failures by reason (busy, scorer_unreachable), the
 * credit in flight, and the acknowledgement latency: the time from
 * receiving a Submit to relaying the scorer's answer, measured with the
 * receive time the request carries in its credit frame, observed once
 * per answer (a batch is one).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kh_be.h"
#include "kh_codec.h"
#include "kh_credit.h"
#include "kh_error.h"
#include "kh_log.h"
#include "kh_service.h"
#include "kh_zuv.h"

#define BUDGET 1024 /* messages per wake-up before yielding to the loop */
/* The rejection reasons of SPEC section 5: kh_error.h numbers them -1
 * (malformed) to -8 (too_large). */
#define NREASONS (-KH_ETOO_LARGE)

typedef struct ingest {
    kh_service_t svc;
    kh_source_t role;
    void *front, *back;
    void *pub; /* rejection notices; NULL when it could not be bound */
    kh_zwatch_t *wfront, *wback;
    kh_credit_t *credit; /* what each key has in flight to the scorer */
    int64_t busy_logged_us;
    uint64_t busy_unlogged, unreachable_unlogged;
    struct {
        kh_counter_t *forwarded, *rejected, *failed;
        kh_counter_t *reason[NREASONS]; /* rejected, by -code - 1 */
        kh_counter_t *busy, *unreachable, *credit_resets;
        kh_gauge_t *inflight_events, *inflight_bytes;
        kh_histogram_t *ack_seconds;
    } m;
} ingest_t;

/* Per key: a feed's whole window (cli/cmd_feed.c, 20000) and then some;
 * in bytes, room for that window of ordinary events. In all: what the
 * ingest may hold for the scorer. */
static const kh_credit_limits_t credit_limits = {
    .key_events = 32768,
    .key_bytes = 32u << 20,
    .all_bytes = 128u << 20,
    .stale_us = 30 * 1000000LL,
};

/* The second envelope frame of a forwarded request: the credit it took,
 * "KEY\0", its event count and its byte count (u32 BE each), and when the
 * Submit was received (u64 BE, microseconds of the monotonic clock),
 * echoed back by the scorer. */
#define CREDIT_TAIL 16 /* bytes after the key's NUL */

static size_t credit_frame(uint8_t *f, size_t cap, const char *key, uint32_t events,
                           uint32_t bytes, uint64_t received_us)
{
    size_t n = strlen(key);
    if (n + 1 + CREDIT_TAIL > cap)
        return 0;
    memcpy(f, key, n + 1);
    kh_put_u32(f + n + 1, events);
    kh_put_u32(f + n + 5, bytes);
    kh_put_u64(f + n + 9, received_us);
    return n + 1 + CREDIT_TAIL;
}

/* Microseconds of the monotonic clock (the same in every process). */
static uint64_t mono_us(void)
{
    return uv_hrtime() / 1000;
}

/* Logs a refusal that a flood repeats at most once a second, with how
 * many went unlogged since. */
static void log_throttled(ingest_t *g, const char *msg, uint64_t *unlogged)
{
    int64_t now = kh_time_now();
    (*unlogged)++;
    if (now - g->busy_logged_us < 1000000)
        return;
    char n[24];
    snprintf(n, sizeof n, "%llu", (unsigned long long)*unlogged);
    kh_log(KH_LOG_WARN, msg, "events", n, (char *)NULL);
    *unlogged = 0;
    g->busy_logged_us = now;
}

/* Announces a rejection on the PUB (see the top of this file). */
static void announce(ingest_t *g, const char *id, const char *reason, const char *key)
{
    if (!g->pub)
        return;
    char now[40];
    kh_time_format(kh_time_now(), now);
    json_t *o = json_object();
    /* an id that is not valid UTF-8 cannot be a JSON string: "" then */
    json_t *jid = json_string(id ? id : "");
    json_object_set_new(o, "source", json_string(g->svc.role));
    json_object_set_new(o, "id", jid ? jid : json_string(""));
    json_object_set_new(o, "reason", json_string(reason));
    json_object_set_new(o, "key", key ? json_string(key) : json_null());
    json_object_set_new(o, "time", json_string(now));
    char *text = json_dumps(o, JSON_COMPACT);
    if (text)
        zmq_send(g->pub, text, strlen(text), ZMQ_DONTWAIT); /* dropped at HWM */
    free(text);
    json_decref(o);
}

static void answer(ingest_t *g, const kh_zmsg_t *m, const kh_ack_t *o)
{
    uint8_t *buf;
    size_t len;
    if (kh_codec_outcome_encode(o, &buf, &len) != KH_OK)
        return;
    kh_zmsg_reply(g->front, m, buf, len);
    free(buf);
}

/* Parses and checks one line as sent by m's key: KH_OK with *ev filled,
 * or the rejection reason (ev still holds what could be read, e.g. id). */
static int validate(ingest_t *g, const kh_zmsg_t *m, const uint8_t *line, size_t len,
                    kh_event_t *ev)
{
    int rc = kh_event_parse_json((const char *)line, len, ev);
    /* This endpoint serves one role: an event of another role's type, or
     * naming another role as its source, is forbidden (which comes before
     * every later reason, SPEC section 5). An unknown source string the
     * parser has replaced by the type's own source and marked
     * out_of_range. */
    if (rc == KH_OK && (kh_evtype_source(ev->type) != g->role ||
                        (ev->source != g->role && ev->deferred_range_err == KH_OK)))
        rc = KH_EFORBIDDEN;
    if (rc == KH_OK) {
        /* The sender is who its key says (the ZAP handler's User-Id), not
         * what the event claims: a station's key speaks for that station
         * only, dispatch sends calls only, and so on (SPEC section 5). */
        const char *who = kh_zmsg_user(m, 1);
        rc = who ? kh_event_check(ev, g->svc.county, g->svc.catalog, who, kh_time_now())
                 : KH_EFORBIDDEN;
    }
    return rc;
}

/* Counts a rejection by its reason (SPEC section 5 codes only). */
static void count_reason(ingest_t *g, int err)
{
    if (kh_err_is_rejection(err))
        kh_counter_inc(g->m.reason[-err - 1]);
}

/* The outcome of a rejected line, logged, announced and counted. */
static kh_ack_t rejection(ingest_t *g, const kh_zmsg_t *m, uint64_t tag, const char *id,
                          int err)
{
    kh_counter_inc(g->m.rejected);
    count_reason(g, err);
    kh_ack_t o = {.tag = tag, .status = KH_STATUS_REJECTED};
    snprintf(o.reason, sizeof o.reason, "%s", kh_err_name(err));
    snprintf(o.id, sizeof o.id, "%s", id ? id : "");
    const char *who = kh_zmsg_user(m, m->n - 1);
    kh_log(KH_LOG_INFO, "rejected", "reason", o.reason, "id", o.id, "source", g->svc.role,
           "key", who ? who : "-", (char *)NULL);
    announce(g, o.id, o.reason, who);
    return o;
}

/* Answers several outcomes to m's sender in one message. */
static void answer_many(ingest_t *g, const kh_zmsg_t *m, const kh_ack_t *v, size_t n)
{
    uint8_t *buf;
    size_t len;
    if (n == 0 || kh_codec_outcomes_encode(v, n, &buf, &len) != KH_OK)
        return;
    kh_zmsg_reply(g->front, m, buf, len);
    free(buf);
}

/*
 * Forwards n validated, encoded events (one request: a single event, or an
 * EventBatch) to the scorer under m's sender's credit, or answers them all
 * failed: busy when the key has its allowance in flight (it waits, others
 * don't), scorer_unreachable when the scorer is down or its queue full
 * (not decided; the source resends later, kaohe feed after a back-off).
 */
static void forward(ingest_t *g, const kh_zmsg_t *m, const uint64_t *tags,
                    const uint8_t *const *pbs, const size_t *lens,
                    char (*ids)[KH_ID_MAX + 1], size_t n, uint64_t received_us)
{
    kh_scorer_req_t r = {.tag = tags[0], .kind = KH_SREQ_EVENT};
    if (n == 1) {
        r.event = pbs[0];
        r.event_len = lens[0];
    } else {
        r.kind = KH_SREQ_EVENTS;
        r.nevents = n;
        r.ev_tags = tags;
        r.evs = pbs;
        r.ev_lens = lens;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = kh_codec_sreq_encode(&r, &buf, &len);
    if (rc) {
        kh_log(KH_LOG_ERROR, "cannot encode events", "cause", kh_strerror(rc),
               (char *)NULL);
        return;
    }
    const char *key = kh_zmsg_user(m, 1);
    const char *reason = NULL;
    if (!kh_credit_take(g->credit, key, (uint32_t)n, len, kh_time_now())) {
        log_throttled(g, "source over its in-flight allowance, answered busy",
                      &g->busy_unlogged);
        reason = "busy";
        kh_counter_add(g->m.busy, n);
    } else {
        /* Envelope: the source's identity and the credit taken; the scorer
         * echoes both back. */
        uint8_t cf[300];
        const void *data[3] = {kh_zmsg_data(m, 0), cf, buf};
        size_t flen[3] = {
            kh_zmsg_size(m, 0),
            credit_frame(cf, sizeof cf, key, (uint32_t)n, (uint32_t)len, received_us),
            len};
        if (kh_zsend_parts(g->back, data, flen, 3) != KH_OK) {
            kh_credit_give(g->credit, key, (uint32_t)n, len, kh_time_now());
            log_throttled(g, "scorer unreachable, events not forwarded",
                          &g->unreachable_unlogged);
            reason = "scorer_unreachable";
            kh_counter_add(g->m.unreachable, n);
        }
    }
    free(buf);
    if (!reason) {
        kh_counter_add(g->m.forwarded, n);
        return;
    }
    kh_counter_add(g->m.failed, n);
    kh_ack_t *o = calloc(n, sizeof *o);
    if (!o)
        return;
    for (size_t i = 0; i < n; i++) {
        o[i].tag = tags[i];
        o[i].status = KH_STATUS_FAILED;
        snprintf(o[i].reason, sizeof o[i].reason, "%s", reason);
        snprintf(o[i].id, sizeof o[i].id, "%s", ids[i]);
    }
    answer_many(g, m, o, n);
    free(o);
}

/* Validates the lines of a Submit (one, or a batch) received at
 * received_us (mono_us); answers the rejections at once, in one message,
 * and forwards the rest together. */
static void handle_submit(ingest_t *g, const kh_zmsg_t *m, const kh_submit_t *s,
                          uint64_t received_us)
{
    if (s->ping) {
        kh_ack_t o = {.tag = s->tag, .status = KH_STATUS_PONG};
        answer(g, m, &o);
        return;
    }
    size_t n = s->nbatch ? s->nbatch : 1, nrej = 0, nfwd = 0;
    kh_ack_t *rej = calloc(n, sizeof *rej);
    uint64_t *tags = calloc(n, sizeof *tags);
    uint8_t **pbs = calloc(n, sizeof *pbs);
    size_t *lens = calloc(n, sizeof *lens);
    char(*ids)[KH_ID_MAX + 1] = calloc(n, sizeof *ids);
    if (!rej || !tags || !pbs || !lens || !ids) {
        kh_log(KH_LOG_ERROR, "out of memory", (char *)NULL);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t tag = s->tag;
        const uint8_t *line = s->line;
        size_t len = s->len;
        if (s->nbatch)
            kh_codec_submit_item(s, i, &tag, &line, &len);
        kh_event_t ev;
        kh_event_init(&ev);
        int rc = validate(g, m, line, len, &ev);
        if (rc == KH_OK &&
            (rc = kh_codec_event_encode(&ev, &pbs[nfwd], &lens[nfwd])) != KH_OK)
            kh_log(KH_LOG_ERROR, "cannot encode event", "id", ev.id, "cause",
                   kh_strerror(rc), (char *)NULL);
        if (rc == KH_OK) {
            tags[nfwd] = tag;
            snprintf(ids[nfwd], sizeof ids[nfwd], "%s", ev.id);
            nfwd++;
        } else if (kh_err_is_rejection(rc)) {
            rej[nrej++] = rejection(g, m, tag, ev.id, rc);
        }
        kh_event_clear(&ev);
    }
    answer_many(g, m, rej, nrej);
    if (nfwd)
        forward(g, m, tags, (const uint8_t *const *)pbs, lens, ids, nfwd, received_us);
out:
    for (size_t i = 0; pbs && i < nfwd; i++)
        free(pbs[i]);
    free(rej);
    free(tags);
    free(pbs);
    free(lens);
    free(ids);
}

static void on_front(void *zsock, void *arg)
{
    ingest_t *g = arg;
    for (int i = 0; i < BUDGET; i++) {
        kh_zmsg_t m;
        if (kh_zmsg_recv(zsock, &m) != KH_OK)
            break;
        uint64_t received_us = mono_us();
        kh_submit_t s;
        if (m.n != 2 || m.truncated) {
            /* [identity][Submit] is the only shape: answer the sender (its
             * identity is frame 0) rather than leave it retrying. */
            kh_log(KH_LOG_WARN, "message of unexpected shape", (char *)NULL);
            kh_counter_inc(g->m.rejected);
            count_reason(g, KH_EMALFORMED);
            if (m.n >= 1) {
                kh_ack_t o = {.tag = 0, .status = KH_STATUS_REJECTED};
                snprintf(o.reason, sizeof o.reason, "%s", kh_err_name(KH_EMALFORMED));
                uint8_t *buf;
                size_t len;
                if (kh_codec_outcome_encode(&o, &buf, &len) == KH_OK) {
                    const void *data[2] = {kh_zmsg_data(&m, 0), buf};
                    size_t lens[2] = {kh_zmsg_size(&m, 0), len};
                    kh_zsend_parts(g->front, data, lens, 2);
                    free(buf);
                }
            }
        } else if (kh_codec_submit_decode(kh_zmsg_data(&m, 1), kh_zmsg_size(&m, 1), &s) !=
                   KH_OK) {
            /* Not even a Submit: answer what we can, with tag 0. */
            kh_ack_t o = rejection(g, &m, 0, NULL, KH_EMALFORMED);
            answer(g, &m, &o);
        } else {
            handle_submit(g, &m, &s, received_us);
            kh_codec_submit_free(&s);
        }
        kh_zmsg_close(&m);
    }
    kh_zwatch_kick(g->wback);
}

/* The scorer answered a forwarded request: its credit comes back, and
 * *received_us is when its Submit came in. False when the credit frame
 * is not exactly "KEY\0" and CREDIT_TAIL bytes (nothing is given back). */
static bool give_back(ingest_t *g, const kh_zmsg_t *m, uint64_t *received_us)
{
    const uint8_t *f = kh_zmsg_data(m, 1);
    size_t n = kh_zmsg_size(m, 1);
    const uint8_t *nul = n > CREDIT_TAIL ? memchr(f, '\0', n - CREDIT_TAIL) : NULL;
    if (!nul || (size_t)(nul - f) + 1 + CREDIT_TAIL != n)
        return false;
    kh_credit_give(g->credit, (const char *)f, kh_get_u32(nul + 1), kh_get_u32(nul + 5),
                   kh_time_now());
    *received_us = kh_get_u64(nul + 9);
    return true;
}

static void on_back(void *zsock, void *arg)
{
    ingest_t *g = arg;
    for (int i = 0; i < BUDGET; i++) {
        kh_zmsg_t m;
        if (kh_zmsg_recv(zsock, &m) != KH_OK)
            break;
        kh_scorer_reply_t rep;
        if (m.n == 3 && !m.truncated &&
            kh_codec_sreply_decode(kh_zmsg_data(&m, 2), kh_zmsg_size(&m, 2), &rep) ==
                KH_OK) {
            uint64_t received_us = 0;
            bool timed = give_back(g, &m, &received_us);
            rep.outcome.tag = rep.tag;
            kh_ack_t *v = rep.noutcomes ? rep.outcomes : &rep.outcome;
            size_t nv = rep.noutcomes ? rep.noutcomes : 1;
            for (size_t k = 0; k < nv; k++)
                if (v[k].status == KH_STATUS_REJECTED) {
                    count_reason(g, kh_err_from_name(v[k].reason));
                    kh_log(KH_LOG_INFO, "rejected", "reason", v[k].reason, "id", v[k].id,
                           "source", g->svc.role, (char *)NULL);
                    announce(g, v[k].id, v[k].reason, NULL);
                }
            /* To the source: its identity (frame 0) and the outcomes. */
            uint8_t *buf;
            size_t len;
            if (kh_codec_outcomes_encode(v, nv, &buf, &len) == KH_OK) {
                const void *data[2] = {kh_zmsg_data(&m, 0), buf};
                size_t lens[2] = {kh_zmsg_size(&m, 0), len};
                kh_zsend_parts(g->front, data, lens, 2);
                free(buf);
            }
            uint64_t now = mono_us();
            if (timed && now >= received_us)
                kh_histogram_observe(g->m.ack_seconds, (double)(now - received_us) / 1e6);
            kh_codec_sreply_free(&rep);
        } else {
            kh_log(KH_LOG_WARN, "undecodable scorer reply", (char *)NULL);
        }
        kh_zmsg_close(&m);
    }
    kh_zwatch_kick(g->wfront);
}

/* Before each metrics write: what is in flight now. */
static void on_metrics(kh_service_t *svc)
{
    ingest_t *g = svc->data;
    kh_credit_stats_t st;
    kh_credit_stats(g->credit, &st);
    kh_gauge_set(g->m.inflight_events, (double)st.events);
    kh_gauge_set(g->m.inflight_bytes, (double)st.bytes);
    g->m.credit_resets->value = st.resets;
}

static void metrics_register(ingest_t *g)
{
    kh_metrics_t *m = g->svc.metrics;
    static const char events[] =
        "Events received, by what became of them here: forwarded to the scorer, "
        "rejected, or answered failed (not decided; the source resends).";
    g->m.forwarded =
        kh_metrics_counter(m, "ingest_events_total", events, "outcome=\"forwarded\"");
    g->m.rejected =
        kh_metrics_counter(m, "ingest_events_total", events, "outcome=\"rejected\"");
    g->m.failed =
        kh_metrics_counter(m, "ingest_events_total", events, "outcome=\"failed\"");
    for (int i = 0; i < NREASONS; i++) {
        char l[64];
        snprintf(l, sizeof l, "reason=\"%s\"", kh_err_name(-(i + 1)));
        g->m.reason[i] = kh_metrics_counter(
            m, "ingest_rejected_total",
            "Events answered rejected, by SPEC section 5 reason: decided here, or by "
            "the scorer (conflict) and relayed.",
            l);
    }
    static const char failed[] =
        "Events answered failed here, by reason: busy (the key has its allowance in "
        "flight) or scorer_unreachable.";
    g->m.busy = kh_metrics_counter(m, "ingest_failed_total", failed, "reason=\"busy\"");
    g->m.unreachable = kh_metrics_counter(m, "ingest_failed_total", failed,
                                          "reason=\"scorer_unreachable\"");
    g->m.credit_resets = kh_metrics_counter(
        m, "ingest_credit_resets_total",
        "Keys whose in-flight count was forgotten after no answer for 30 s.", NULL);
    g->m.inflight_events =
        kh_metrics_gauge(m, "ingest_inflight_events",
                         "Events forwarded to the scorer and not answered yet.", NULL);
    g->m.inflight_bytes = kh_metrics_gauge(
        m, "ingest_inflight_bytes",
        "Bytes of the requests forwarded to the scorer and not answered yet.", NULL);
    static const double secs[] = KH_METRICS_SECONDS;
    g->m.ack_seconds = kh_metrics_histogram(
        m, "ingest_ack_duration_seconds",
        "Time from receiving a Submit to relaying the scorer's answer, after its "
        "durable commit; one observation per answer (a batch is one).",
        NULL, secs, sizeof secs / sizeof *secs);
    g->svc.on_metrics = on_metrics;
}

static void on_stop(kh_service_t *svc)
{
    ingest_t *g = svc->data;
    kh_zwatch_stop(&g->wfront);
    kh_zwatch_stop(&g->wback);
}

int main(int argc, char **argv)
{
    ingest_t g;
    memset(&g, 0, sizeof g);
    int rc = kh_service_init(&g.svc, "ingest", argc, argv);
    if (rc) {
        kh_service_fini(&g.svc); /* whatever init loaded before failing */
        return rc;
    }
    g.role = (kh_source_t)kh_source_parse(g.svc.role);
    g.svc.data = &g;
    g.svc.on_stop = on_stop;
    if (!(g.credit = kh_credit_new(&credit_limits))) {
        kh_log(KH_LOG_ERROR, "out of memory", (char *)NULL);
        kh_service_fini(&g.svc);
        return 1;
    }
    metrics_register(&g);
    /* What a source can queue here before its sends wait (ZeroMQ stops
     * reading its connection): 256 Submits of at most 256 KiB, a bound on
     * memory however fast it sends. A line over 64 KiB is still answered
     * too_large; a message over 256 KiB is not a Submit and drops the
     * connection. */
    const kh_sock_limits_t front_limits = {.rcvhwm = 256, .max_msg_bytes = 256 * 1024};
    g.front =
        kh_service_socket_limited(&g.svc, ZMQ_ROUTER, g.svc.name, true, &front_limits);
    g.back = kh_service_socket(&g.svc, ZMQ_DEALER, "scorer", false);
    char pubname[64];
    snprintf(pubname, sizeof pubname, "%s-pub", g.svc.name);
    if (!(g.pub = kh_service_socket(&g.svc, ZMQ_PUB, pubname, true)))
        kh_log(KH_LOG_WARN, "rejections will not be announced", (char *)NULL);
    if (!g.front || !g.back ||
        kh_zwatch_start(g.svc.loop, g.front, on_front, &g, &g.wfront) ||
        kh_zwatch_start(g.svc.loop, g.back, on_back, &g, &g.wback)) {
        /* sockets may be open, so no kh_service_fini (zmq_ctx_term would
         * wait for them): the process ends here anyway */
        kh_log(KH_LOG_ERROR, "cannot start", (char *)NULL);
        return 1;
    }
    rc = kh_service_run(&g.svc);
    zmq_close(g.front);
    zmq_close(g.back);
    if (g.pub)
        zmq_close(g.pub);
    kh_credit_free(&g.credit);
    kh_service_fini(&g.svc);
    return rc;
}
