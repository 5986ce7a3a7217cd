/*
 * kaohe-ingest - one process per feed role (dispatch, legal, station,
 * assessor).
 *
 * Binds a ROUTER ("ingest-ROLE") for the sources and connects a DEALER to
 * the scorer. For each Submit it parses and validates the JSON line (SPEC
 * section 5, every rejection that needs no history: too_large, malformed,
 * unknown_type, forbidden, unknown_station, bad_time, out_of_range) and
 * answers a rejection at once. An acceptable event is encoded, under its
 * key's credit (kh_credit.h), and sent on to the scorer.
 *
 * Events that arrive while WINDOW requests are in flight are held and go
 * together, in one request, as soon as one is answered (see flush): the
 * scorer commits one batch at a time, so they would have waited for that
 * commit anyway, and a request per Submit would cost a message and a
 * wake-up on every hop for each. The request's envelope (proto Route)
 * lists the Submits whose events it carries: each source's routing
 * identity, key, event count, credit and arrival time. The scorer echoes
 * it with its reply (accepted, duplicate or conflict, after the durable
 * commit), and the ingest relays the outcomes, one message per source.
 * Only what is unanswered lives here, so the ingest can be killed at any
 * moment: a source that got no answer resends, and the scorer
 * de-duplicates.
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
 * credit in flight, requests sent to the scorer (by the Submits each
 * carried) and those presumed lost, and the acknowledgement latency: the
 * time from receiving a Submit to relaying the scorer's answer, measured
 * with the arrival time its Route carries, observed once per Submit (a
 * batch is one).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kh_codec.h"
#include "kh_credit.h"
#include "kh_error.h"
#include "kh_log.h"
#include "kh_service.h"
#include "kh_zuv.h"

#define BUDGET 1024 /* messages per wake-up before yielding to the loop */
/* Requests to the scorer: in flight before events are held back (see
 * flush), in flight at most, events and bytes of events per request (the
 * scorer commits at most 4096 events at a time), and how long an
 * unanswered one counts as in flight when its connection stays up (a
 * dropped connection loses every request at once, see on_monitor). */
#define WINDOW     2
#define SLOTS      64
#define REQ_EVENTS 4096
#define REQ_BYTES  (256u << 10)
#define LOST_US    (10 * 1000000)
/* The rejection reasons of SPEC section 5: kh_error.h numbers them -1
 * (malformed) to -8 (too_large). */
#define NREASONS (-KH_ETOO_LARGE)

/* Events validated and under credit, waiting to go to the scorer: per
 * Submit an origin, and the events of every origin in order. */
typedef struct held {
    kh_origin_t *origins;
    size_t norigins, cap_origins;
    uint64_t *tags;
    uint8_t **pbs; /* encoded events, owned */
    size_t *lens;
    char (*ids)[KH_ID_MAX + 1];
    size_t nevents, cap_events;
} held_t;

typedef struct ingest {
    kh_service_t svc;
    kh_source_t role;
    void *front, *back;
    void *pub; /* rejection notices; NULL when it could not be bound */
    kh_zwatch_t *wfront, *wback, *wmon;
    void *mon;           /* events of back's connection (zmq_socket_monitor) */
    kh_credit_t *credit; /* what each key has in flight to the scorer */
    held_t held;
    struct {
        uint64_t no, sent_us;
        uint8_t *route; /* its Route, for the credit if it is lost */
        size_t route_len;
    } inflight[SLOTS]; /* requests sent and not answered */
    size_t ninflight;
    uint64_t next_no;
    uv_timer_t lost_timer; /* runs while requests are in flight */
    int64_t busy_logged_us;
    uint64_t busy_unlogged, unreachable_unlogged;
    struct {
        kh_counter_t *forwarded, *rejected, *failed;
        kh_counter_t *reason[NREASONS]; /* rejected, by -code - 1 */
        kh_counter_t *busy, *unreachable, *credit_resets, *lost;
        kh_gauge_t *inflight_events, *inflight_bytes;
        kh_histogram_t *ack_seconds, *request_submits;
    } m;
} ingest_t;

/* Per key: twice what a feed keeps in flight of one key (cli/cmd_feed.c,
 * KEY_WINDOW), room for its resends; in bytes, room for that many
 * ordinary events. In all: what the ingest may hold for the scorer. */
static const kh_credit_limits_t credit_limits = {
    .key_events = 32768,
    .key_bytes = 32u << 20,
    .all_bytes = 128u << 20,
    .stale_us = 30 * 1000000LL,
};

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

/* Sends outcomes to the source whose routing identity is peer, in one
 * message. */
static void send_outcomes(ingest_t *g, const uint8_t *peer, size_t peer_len,
                          const kh_ack_t *v, size_t n)
{
    uint8_t *buf;
    size_t len;
    if (n == 0 || kh_codec_outcomes_encode(v, n, &buf, &len) != KH_OK)
        return;
    const void *data[2] = {peer, buf};
    size_t lens[2] = {peer_len, len};
    kh_zsend_parts(g->front, data, lens, 2);
    free(buf);
}

/* Answers one outcome to the sender of a [identity][Submit] message. */
static void answer(ingest_t *g, const kh_zmsg_t *m, const kh_ack_t *o)
{
    send_outcomes(g, kh_zmsg_data(m, 0), kh_zmsg_size(m, 0), o, 1);
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
        rc = who && strlen(who) <= KH_KEY_MAX
                 ? kh_event_check(ev, g->svc.county, g->svc.catalog, who, kh_time_now())
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

/* Room in the held arrays for `events` more events and one more origin. */
static int held_reserve(held_t *h, size_t events)
{
    if (h->norigins + 1 > h->cap_origins) {
        size_t cap = h->cap_origins ? 2 * h->cap_origins : 64;
        kh_origin_t *o = realloc(h->origins, cap * sizeof *o);
        if (!o)
            return KH_ENOMEM;
        h->origins = o;
        h->cap_origins = cap;
    }
    if (h->nevents + events > h->cap_events) {
        size_t cap = h->cap_events ? h->cap_events : 256;
        while (cap < h->nevents + events)
            cap *= 2;
        uint64_t *tags = realloc(h->tags, cap * sizeof *tags);
        if (tags)
            h->tags = tags;
        uint8_t **pbs = realloc(h->pbs, cap * sizeof *pbs);
        if (pbs)
            h->pbs = pbs;
        size_t *lens = realloc(h->lens, cap * sizeof *lens);
        if (lens)
            h->lens = lens;
        char(*ids)[KH_ID_MAX + 1] = realloc(h->ids, cap * sizeof *ids);
        if (ids)
            h->ids = ids;
        if (!tags || !pbs || !lens || !ids)
            return KH_ENOMEM;
        h->cap_events = cap;
    }
    return KH_OK;
}

/* Frees the first k origins' ne events and moves the rest up. */
static void held_drop(held_t *h, size_t k, size_t ne)
{
    for (size_t i = 0; i < ne; i++)
        free(h->pbs[i]);
    h->norigins -= k;
    h->nevents -= ne;
    memmove(h->origins, h->origins + k, h->norigins * sizeof *h->origins);
    memmove(h->tags, h->tags + ne, h->nevents * sizeof *h->tags);
    memmove(h->pbs, h->pbs + ne, h->nevents * sizeof *h->pbs);
    memmove(h->lens, h->lens + ne, h->nevents * sizeof *h->lens);
    memmove(h->ids, h->ids + ne, h->nevents * sizeof *h->ids);
}

static void held_free(held_t *h)
{
    if (h->nevents || h->norigins)
        held_drop(h, h->norigins, h->nevents);
    free(h->origins);
    free(h->tags);
    free(h->pbs);
    free(h->lens);
    free(h->ids);
    memset(h, 0, sizeof *h);
}

/* Answers the first k held origins (ne events) failed for `reason` and
 * gives their credit back. */
static void fail_held(ingest_t *g, size_t k, size_t ne, const char *reason)
{
    held_t *h = &g->held;
    kh_ack_t *o = calloc(ne ? ne : 1, sizeof *o);
    for (size_t i = 0, e = 0; i < k; e += h->origins[i].events, i++) {
        const kh_origin_t *src = &h->origins[i];
        kh_credit_give(g->credit, src->key, src->events, src->bytes, kh_time_now());
        for (size_t j = 0; o && j < src->events; j++) {
            o[e + j].tag = h->tags[e + j];
            o[e + j].status = KH_STATUS_FAILED;
            snprintf(o[e + j].reason, sizeof o[e + j].reason, "%s", reason);
            snprintf(o[e + j].id, sizeof o[e + j].id, "%s", h->ids[e + j]);
        }
        if (o)
            send_outcomes(g, src->peer, src->peer_len, o + e, src->events);
    }
    free(o);
    kh_counter_add(g->m.failed, ne);
}

/* Gives back the credit of every origin of an encoded Route. */
static void give_route(ingest_t *g, const uint8_t *route, size_t len)
{
    uint64_t no;
    kh_origin_t *v;
    size_t nv;
    if (kh_codec_route_decode(route, len, &no, &v, &nv) != KH_OK)
        return;
    for (size_t i = 0; i < nv; i++)
        kh_credit_give(g->credit, v[i].key, v[i].events, v[i].bytes, kh_time_now());
    free(v);
}

/* Requests presumed lost: all of them (the connection to the scorer
 * dropped, and with it what it carried), or those unanswered for LOST_US.
 * Their slots are freed so that held events move on, and their credit
 * comes back; their sources resend, and an answer that comes after all is
 * still relayed. */
static void forget_lost(ingest_t *g, uint64_t now, bool all)
{
    size_t k = 0;
    for (size_t i = 0; i < g->ninflight; i++) {
        if (!all && now - g->inflight[i].sent_us < LOST_US) {
            g->inflight[k++] = g->inflight[i];
            continue;
        }
        give_route(g, g->inflight[i].route, g->inflight[i].route_len);
        free(g->inflight[i].route);
        kh_counter_inc(g->m.lost);
    }
    g->ninflight = k;
}

/* The request numbered no is answered: its slot is free. False when it
 * was presumed lost already (its credit given back then). */
static bool settle(ingest_t *g, uint64_t no)
{
    for (size_t i = 0; i < g->ninflight; i++)
        if (g->inflight[i].no == no) {
            free(g->inflight[i].route);
            g->inflight[i] = g->inflight[--g->ninflight];
            return true;
        }
    return false;
}

static void on_lost_timer(uv_timer_t *t);

/* Sends the first k held origins (ne events) to the scorer as one request,
 * or answers them failed (scorer_unreachable: down, or its queue full). */
static void send_held(ingest_t *g, size_t k, size_t ne)
{
    held_t *h = &g->held;
    uint64_t no = ++g->next_no;
    kh_scorer_req_t r = {.tag = no,
                         .kind = KH_SREQ_EVENTS,
                         .nevents = ne,
                         .ev_tags = h->tags,
                         .evs = (const uint8_t *const *)h->pbs,
                         .ev_lens = h->lens};
    uint8_t *req = NULL, *route = NULL;
    size_t req_len = 0, route_len = 0;
    int rc = kh_codec_sreq_encode(&r, &req, &req_len);
    if (rc == KH_OK)
        rc = kh_codec_route_encode(no, h->origins, k, &route, &route_len);
    if (rc != KH_OK) {
        kh_log(KH_LOG_ERROR, "cannot encode events", "cause", kh_strerror(rc),
               (char *)NULL);
        fail_held(g, k, ne, kh_err_name(KH_ENOMEM));
    } else {
        const void *data[2] = {route, req};
        size_t lens[2] = {route_len, req_len};
        if (kh_zsend_parts(g->back, data, lens, 2) != KH_OK) {
            log_throttled(g, "scorer unreachable, events not forwarded",
                          &g->unreachable_unlogged);
            kh_counter_add(g->m.unreachable, ne);
            fail_held(g, k, ne, "scorer_unreachable");
        } else {
            g->inflight[g->ninflight].no = no;
            g->inflight[g->ninflight].sent_us = mono_us();
            g->inflight[g->ninflight].route = route; /* kept until answered */
            g->inflight[g->ninflight++].route_len = route_len;
            route = NULL;
            if (!uv_is_active((uv_handle_t *)&g->lost_timer))
                uv_timer_start(&g->lost_timer, on_lost_timer, LOST_US / 1000,
                               LOST_US / 1000);
            kh_counter_add(g->m.forwarded, ne);
            kh_histogram_observe(g->m.request_submits, (double)k);
        }
    }
    free(req);
    free(route);
    held_drop(h, k, ne);
}

/*
 * Sends what is held, in requests of at most REQ_EVENTS events and
 * REQ_BYTES bytes, while fewer than WINDOW requests are in flight; a whole
 * request's worth goes even beyond that (up to SLOTS). Events that arrive
 * while the scorer commits so wait for its next commit in one request
 * instead of one request (one message, one wake-up on every hop) each,
 * which they would wait for anyway: the scorer commits one batch at a
 * time.
 */
static void flush(ingest_t *g)
{
    held_t *h = &g->held;
    forget_lost(g, mono_us(), false);
    while (h->norigins > 0 && g->ninflight < SLOTS) {
        size_t k = 0, ne = 0, nb = 0;
        while (k < h->norigins) {
            const kh_origin_t *o = &h->origins[k];
            if (k > 0 && (ne + o->events > REQ_EVENTS || nb + o->bytes > REQ_BYTES))
                break;
            ne += o->events;
            nb += o->bytes;
            k++;
        }
        bool whole = k < h->norigins || ne >= REQ_EVENTS || nb >= REQ_BYTES;
        if (g->ninflight >= WINDOW && !whole)
            break;
        send_held(g, k, ne);
    }
    if (g->ninflight == 0)
        uv_timer_stop(&g->lost_timer);
}

static void on_lost_timer(uv_timer_t *t)
{
    ingest_t *g = t->data;
    flush(g);
    /* sends outside a watcher's callback may have taken the edges */
    kh_zwatch_kick(g->wback);
    kh_zwatch_kick(g->wfront);
}

/* back's connection to the scorer dropped: whatever it carried is lost
 * (libzmq drops a disconnected pipe's messages), so nothing is waited
 * for; held events go as soon as it is back. */
static void on_monitor(void *zsock, void *arg)
{
    ingest_t *g = arg;
    bool dropped = false;
    for (;;) {
        kh_zmsg_t m;
        if (kh_zmsg_recv(zsock, &m) != KH_OK)
            break;
        if (m.n >= 1 && kh_zmsg_size(&m, 0) >= 2) {
            uint16_t ev; /* the event number, in host order */
            memcpy(&ev, kh_zmsg_data(&m, 0), sizeof ev);
            dropped |= ev == ZMQ_EVENT_DISCONNECTED;
        }
        kh_zmsg_close(&m);
    }
    if (!dropped || g->ninflight == 0)
        return;
    char n[24];
    snprintf(n, sizeof n, "%zu", g->ninflight);
    kh_log(KH_LOG_WARN, "connection to the scorer dropped, requests in flight lost",
           "requests", n, (char *)NULL);
    forget_lost(g, mono_us(), true);
    flush(g);
    kh_zwatch_kick(g->wback);
    kh_zwatch_kick(g->wfront);
}

/* Validates the lines of a Submit (one, or a batch) received at
 * received_us (mono_us); answers the rejections at once, in one message,
 * and holds the rest for the scorer under the sender's credit (or answers
 * them busy when the key has its allowance in flight: it waits, others
 * don't). */
static void handle_submit(ingest_t *g, const kh_zmsg_t *m, const kh_submit_t *s,
                          uint64_t received_us)
{
    if (s->ping) {
        kh_ack_t o = {.tag = s->tag, .status = KH_STATUS_PONG};
        answer(g, m, &o);
        return;
    }
    held_t *h = &g->held;
    size_t n = s->nbatch ? s->nbatch : 1, nrej = 0, nfwd = 0, bytes = 0;
    kh_ack_t *rej = NULL;
    if (held_reserve(h, n) != KH_OK) {
        kh_log(KH_LOG_ERROR, "out of memory", (char *)NULL);
        return;
    }
    /* the accepted events go straight to the held arrays, after the
     * events held already */
    uint64_t *tags = h->tags + h->nevents;
    uint8_t **pbs = h->pbs + h->nevents;
    size_t *lens = h->lens + h->nevents;
    char(*ids)[KH_ID_MAX + 1] = h->ids + h->nevents;
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
            bytes += lens[nfwd];
            nfwd++;
        } else if (kh_err_is_rejection(rc)) {
            if (!rej && !(rej = calloc(n, sizeof *rej)))
                kh_log(KH_LOG_ERROR, "out of memory", (char *)NULL);
            kh_ack_t o = rejection(g, m, tag, ev.id, rc);
            if (rej)
                rej[nrej++] = o;
        }
        kh_event_clear(&ev);
    }
    send_outcomes(g, kh_zmsg_data(m, 0), kh_zmsg_size(m, 0), rej, nrej);
    free(rej);
    if (nfwd == 0)
        return;
    const char *key = kh_zmsg_user(m, 1); /* validate() checked it */
    if (!kh_credit_take(g->credit, key, (uint32_t)nfwd, bytes, kh_time_now())) {
        log_throttled(g, "source over its in-flight allowance, answered busy",
                      &g->busy_unlogged);
        kh_counter_add(g->m.busy, nfwd);
        kh_counter_add(g->m.failed, nfwd);
        kh_ack_t *o = calloc(nfwd, sizeof *o);
        for (size_t i = 0; o && i < nfwd; i++) {
            o[i].tag = tags[i];
            o[i].status = KH_STATUS_FAILED;
            snprintf(o[i].reason, sizeof o[i].reason, "busy");
            snprintf(o[i].id, sizeof o[i].id, "%s", ids[i]);
        }
        if (o)
            send_outcomes(g, kh_zmsg_data(m, 0), kh_zmsg_size(m, 0), o, nfwd);
        free(o);
        for (size_t i = 0; i < nfwd; i++)
            free(pbs[i]);
        return;
    }
    kh_origin_t *o = &h->origins[h->norigins++];
    o->peer_len = kh_zmsg_size(m, 0);
    memcpy(o->peer, kh_zmsg_data(m, 0), o->peer_len);
    snprintf(o->key, sizeof o->key, "%s", key);
    o->events = (uint32_t)nfwd;
    o->bytes = (uint32_t)bytes;
    o->received_us = received_us;
    h->nevents += nfwd;
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
        if (m.n != 2 || m.truncated || kh_zmsg_size(&m, 0) < 1 ||
            kh_zmsg_size(&m, 0) > KH_PEER_MAX) {
            /* [identity][Submit] is the only shape: answer the sender (its
             * identity is frame 0) rather than leave it retrying. */
            kh_log(KH_LOG_WARN, "message of unexpected shape", (char *)NULL);
            kh_counter_inc(g->m.rejected);
            count_reason(g, KH_EMALFORMED);
            if (m.n >= 1) {
                kh_ack_t o = {.tag = 0, .status = KH_STATUS_REJECTED};
                snprintf(o.reason, sizeof o.reason, "%s", kh_err_name(KH_EMALFORMED));
                send_outcomes(g, kh_zmsg_data(&m, 0), kh_zmsg_size(&m, 0), &o, 1);
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
        if (g->held.nevents >= REQ_EVENTS)
            flush(g);
    }
    flush(g);
    kh_zwatch_kick(g->wback);
}

static bool same_peer(const kh_origin_t *x, const kh_origin_t *y)
{
    return x->peer_len == y->peer_len && memcmp(x->peer, y->peer, x->peer_len) == 0;
}

static int cmp_peer(const void *a, const void *b)
{
    const kh_origin_t *x = *(const kh_origin_t *const *)a;
    const kh_origin_t *y = *(const kh_origin_t *const *)b;
    if (x->peer_len != y->peer_len)
        return x->peer_len < y->peer_len ? -1 : 1;
    int c = memcmp(x->peer, y->peer, x->peer_len);
    return c ? c : (x < y ? -1 : x > y);
}

/* Relays a reply's outcomes (out, in the request's order) to the sources
 * of its origins: one message per source, whatever the number of its
 * Submits the request carried. */
static void relay(ingest_t *g, const kh_origin_t *v, size_t nv, const kh_ack_t *out)
{
    if (nv == 1) {
        send_outcomes(g, v[0].peer, v[0].peer_len, out, v[0].events);
        return;
    }
    const kh_origin_t **by = malloc(nv * sizeof *by);
    const kh_ack_t **first = malloc(nv * sizeof *first);
    size_t total = 0;
    for (size_t i = 0; by && first && i < nv; i++) {
        first[i] = out + total;
        total += v[i].events;
    }
    kh_ack_t *group = by && first ? malloc(total * sizeof *group) : NULL;
    if (!group) {
        kh_log(KH_LOG_ERROR, "out of memory, answers not relayed", (char *)NULL);
        goto out;
    }
    for (size_t i = 0; i < nv; i++)
        by[i] = &v[i];
    qsort(by, nv, sizeof *by, cmp_peer); /* by source, then request order */
    for (size_t i = 0, j; i < nv; i = j) {
        size_t n = 0;
        for (j = i; j < nv && same_peer(by[i], by[j]); j++) {
            memcpy(group + n, first[by[j] - v], by[j]->events * sizeof *group);
            n += by[j]->events;
        }
        send_outcomes(g, by[i]->peer, by[i]->peer_len, group, n);
    }
out:
    free(group);
    free(by);
    free(first);
}

/* The scorer answered a request: [Route][ScorerReply]. Its credit comes
 * back, its slot is free, and the outcomes go to their sources. */
static void settle_reply(ingest_t *g, const kh_zmsg_t *m)
{
    uint64_t no;
    kh_origin_t *v;
    size_t nv;
    if (m->n != 2 || m->truncated ||
        kh_codec_route_decode(kh_zmsg_data(m, 0), kh_zmsg_size(m, 0), &no, &v, &nv) !=
            KH_OK) {
        kh_log(KH_LOG_WARN, "undecodable scorer reply", (char *)NULL);
        return;
    }
    bool waited = settle(g, no); /* else its credit came back already */
    size_t events = 0;
    for (size_t i = 0; i < nv; i++) {
        if (waited)
            kh_credit_give(g->credit, v[i].key, v[i].events, v[i].bytes, kh_time_now());
        events += v[i].events;
    }
    kh_scorer_reply_t rep;
    if (kh_codec_sreply_decode(kh_zmsg_data(m, 1), kh_zmsg_size(m, 1), &rep) != KH_OK) {
        kh_log(KH_LOG_WARN, "undecodable scorer reply, its sources will resend",
               (char *)NULL);
        free(v);
        return;
    }
    if (rep.noutcomes != events) {
        /* the scorer could not take the request apart (out of memory) */
        char a[24], b[24];
        snprintf(a, sizeof a, "%zu", events);
        snprintf(b, sizeof b, "%zu", rep.noutcomes);
        kh_log(KH_LOG_WARN,
               "scorer reply does not match its request, its sources will resend",
               "events", a, "outcomes", b, "reason", rep.outcome.reason, (char *)NULL);
    } else {
        for (size_t k = 0; k < rep.noutcomes; k++) {
            const kh_ack_t *o = &rep.outcomes[k];
            if (o->status != KH_STATUS_REJECTED)
                continue;
            count_reason(g, kh_err_from_name(o->reason));
            kh_log(KH_LOG_INFO, "rejected", "reason", o->reason, "id", o->id, "source",
                   g->svc.role, (char *)NULL);
            announce(g, o->id, o->reason, NULL);
        }
        relay(g, v, nv, rep.outcomes);
        uint64_t now = mono_us();
        for (size_t i = 0; i < nv; i++)
            if (now >= v[i].received_us)
                kh_histogram_observe(g->m.ack_seconds,
                                     (double)(now - v[i].received_us) / 1e6);
    }
    kh_codec_sreply_free(&rep);
    free(v);
}

static void on_back(void *zsock, void *arg)
{
    ingest_t *g = arg;
    for (int i = 0; i < BUDGET; i++) {
        kh_zmsg_t m;
        if (kh_zmsg_recv(zsock, &m) != KH_OK)
            break;
        settle_reply(g, &m);
        kh_zmsg_close(&m);
    }
    flush(g); /* slots are free: what waited goes */
    kh_zwatch_kick(g->wfront);
}

/* Watches back's connection for on_monitor. */
static int start_monitor(ingest_t *g)
{
    const char *ep = "inproc://ingest-back-monitor";
    if (zmq_socket_monitor(g->back, ep, ZMQ_EVENT_DISCONNECTED) != 0 ||
        !(g->mon = zmq_socket(g->svc.zctx, ZMQ_PAIR)) || zmq_connect(g->mon, ep) != 0) {
        kh_log(KH_LOG_ERROR, "cannot watch the connection to the scorer", "cause",
               zmq_strerror(zmq_errno()), (char *)NULL);
        return KH_ENET;
    }
    return kh_zwatch_start(g->svc.loop, g->mon, on_monitor, g, &g->wmon);
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
    static const double sizes[] = {1,   2,   4,   8,    16,   32,  64,
                                   128, 256, 512, 1024, 2048, 4096};
    g->m.request_submits = kh_metrics_histogram(
        m, "ingest_request_submits",
        "Submits whose events a request to the scorer carried (those that arrived "
        "while earlier requests were being committed go together); one observation "
        "per request sent.",
        NULL, sizes, sizeof sizes / sizeof *sizes);
    g->m.lost = kh_metrics_counter(
        m, "ingest_scorer_requests_lost_total",
        "Requests to the scorer presumed lost: in flight when the connection to it "
        "dropped, or unanswered after 10 s (their sources resend).",
        NULL);
    g->m.inflight_events =
        kh_metrics_gauge(m, "ingest_inflight_events",
                         "Events accepted here and not answered yet: held for the "
                         "scorer or forwarded to it.",
                         NULL);
    g->m.inflight_bytes = kh_metrics_gauge(
        m, "ingest_inflight_bytes",
        "Encoded bytes of the events accepted here and not answered yet.", NULL);
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
    kh_zwatch_stop(&g->wmon);
    uv_timer_stop(&g->lost_timer);
    uv_close((uv_handle_t *)&g->lost_timer, NULL);
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
    uv_timer_init(g.svc.loop, &g.lost_timer);
    g.lost_timer.data = &g;
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
        kh_zwatch_start(g.svc.loop, g.back, on_back, &g, &g.wback) ||
        start_monitor(&g) != KH_OK) {
        /* sockets may be open, so no kh_service_fini (zmq_ctx_term would
         * wait for them): the process ends here anyway */
        kh_log(KH_LOG_ERROR, "cannot start", (char *)NULL);
        return 1;
    }
    rc = kh_service_run(&g.svc);
    zmq_socket_monitor(g.back, NULL, 0);
    zmq_close(g.mon);
    zmq_close(g.front);
    zmq_close(g.back);
    if (g.pub)
        zmq_close(g.pub);
    held_free(&g.held); /* not sent: their sources resend */
    for (size_t i = 0; i < g.ninflight; i++)
        free(g.inflight[i].route); /* unanswered: their sources resend */
    kh_credit_free(&g.credit);
    kh_service_fini(&g.svc);
    return rc;
}
