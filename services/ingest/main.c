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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kh_codec.h"
#include "kh_error.h"
#include "kh_log.h"
#include "kh_service.h"
#include "kh_zuv.h"

#define BUDGET 1024 /* messages per wake-up before yielding to the loop */

typedef struct ingest {
    kh_service_t svc;
    kh_source_t role;
    void *front, *back;
    kh_zwatch_t *wfront, *wback;
} ingest_t;

static void answer(ingest_t *g, const kh_zmsg_t *m, const kh_ack_t *o)
{
    uint8_t *buf;
    size_t len;
    if (kh_codec_outcome_encode(o, &buf, &len) != KH_OK)
        return;
    kh_zmsg_reply(g->front, m, buf, len);
    free(buf);
}

static void reject(ingest_t *g, const kh_zmsg_t *m, uint64_t tag, const char *id, int err)
{
    kh_ack_t o = {.tag = tag, .status = KH_STATUS_REJECTED};
    snprintf(o.reason, sizeof o.reason, "%s", kh_err_name(err));
    snprintf(o.id, sizeof o.id, "%s", id ? id : "");
    const char *who = kh_zmsg_user(m, m->n - 1);
    kh_log(KH_LOG_INFO, "rejected", "reason", o.reason, "id", o.id, "source", g->svc.role,
           "key", who ? who : "-", (char *)NULL);
    answer(g, m, &o);
}

/* Validates one submitted line; forwards it or answers the rejection. */
static void handle_submit(ingest_t *g, const kh_zmsg_t *m, const kh_submit_t *s)
{
    if (s->ping) {
        kh_ack_t o = {.tag = s->tag, .status = KH_STATUS_PONG};
        answer(g, m, &o);
        return;
    }
    kh_event_t ev;
    kh_event_init(&ev);
    int rc = kh_event_parse_json((const char *)s->line, s->len, &ev);
    /* This endpoint serves one role: an event of another role's type, or
     * naming another role as its source, is forbidden (which comes before
     * every later reason, SPEC section 5). An unknown source string the
     * parser has replaced by the type's own source and marked
     * out_of_range. */
    if (rc == KH_OK && (kh_evtype_source(ev.type) != g->role ||
                        (ev.source != g->role && ev.deferred_range_err == KH_OK)))
        rc = KH_EFORBIDDEN;
    if (rc == KH_OK) {
        /* The sender is who its key says (the ZAP handler's User-Id), not
         * what the event claims: a station's key speaks for that station
         * only, dispatch sends calls only, and so on (SPEC section 5). */
        const char *who = kh_zmsg_user(m, 1);
        rc = who ? kh_event_check(&ev, g->svc.county, g->svc.catalog, who, kh_time_now())
                 : KH_EFORBIDDEN;
    }
    if (rc != KH_OK) {
        reject(g, m, s->tag, ev.id, rc);
        kh_event_clear(&ev);
        return;
    }
    uint8_t *pb = NULL, *buf = NULL;
    size_t pblen, len;
    kh_scorer_req_t r = {.tag = s->tag, .kind = KH_SREQ_EVENT};
    if ((rc = kh_codec_event_encode(&ev, &pb, &pblen)) == KH_OK) {
        r.event = pb;
        r.event_len = pblen;
        rc = kh_codec_sreq_encode(&r, &buf, &len);
    }
    if (rc == KH_OK) {
        /* Envelope: the source's identity; the scorer echoes it back. */
        const void *data[2] = {kh_zmsg_data(m, 0), buf};
        size_t lens[2] = {kh_zmsg_size(m, 0), len};
        if (kh_zsend_parts(g->back, data, lens, 2) != KH_OK) {
            /* Scorer down or its queue full: not decided, say so; the
             * source resends later (kaohe feed backs off). */
            kh_log(KH_LOG_WARN, "scorer unreachable, event not forwarded", "id", ev.id,
                   (char *)NULL);
            kh_ack_t o = {.tag = s->tag, .status = KH_STATUS_FAILED};
            snprintf(o.reason, sizeof o.reason, "scorer_unreachable");
            snprintf(o.id, sizeof o.id, "%s", ev.id);
            answer(g, m, &o);
        }
    } else {
        kh_log(KH_LOG_ERROR, "cannot encode event", "id", ev.id, "cause", kh_strerror(rc),
               (char *)NULL);
    }
    free(pb);
    free(buf);
    kh_event_clear(&ev);
}

static void on_front(void *zsock, void *arg)
{
    ingest_t *g = arg;
    for (int i = 0; i < BUDGET; i++) {
        kh_zmsg_t m;
        if (kh_zmsg_recv(zsock, &m) != KH_OK)
            break;
        kh_submit_t s;
        if (m.n != 2 || m.truncated) {
            /* [identity][Submit] is the only shape: answer the sender (its
             * identity is frame 0) rather than leave it retrying. */
            kh_log(KH_LOG_WARN, "message of unexpected shape", (char *)NULL);
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
            reject(g, &m, 0, NULL, KH_EMALFORMED);
        } else {
            handle_submit(g, &m, &s);
            kh_codec_submit_free(&s);
        }
        kh_zmsg_close(&m);
    }
    kh_zwatch_kick(g->wback);
}

static void on_back(void *zsock, void *arg)
{
    ingest_t *g = arg;
    for (int i = 0; i < BUDGET; i++) {
        kh_zmsg_t m;
        if (kh_zmsg_recv(zsock, &m) != KH_OK)
            break;
        kh_scorer_reply_t rep;
        if (m.n == 2 && !m.truncated &&
            kh_codec_sreply_decode(kh_zmsg_data(&m, 1), kh_zmsg_size(&m, 1), &rep) ==
                KH_OK) {
            rep.outcome.tag = rep.tag;
            if (rep.outcome.status == KH_STATUS_REJECTED)
                kh_log(KH_LOG_INFO, "rejected", "reason", rep.outcome.reason, "id",
                       rep.outcome.id, "source", g->svc.role, (char *)NULL);
            answer(g, &m, &rep.outcome);
        } else {
            kh_log(KH_LOG_WARN, "undecodable scorer reply", (char *)NULL);
        }
        kh_zmsg_close(&m);
    }
    kh_zwatch_kick(g->wfront);
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
    g.front = kh_service_socket(&g.svc, ZMQ_ROUTER, g.svc.name, true);
    g.back = kh_service_socket(&g.svc, ZMQ_DEALER, "scorer", false);
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
    kh_service_fini(&g.svc);
    return rc;
}
