/*
 * kaohe-ranker - answers the queries, closes periods.
 *
 * Binds a ROUTER ("ranker") for the CLI's Query messages and connects a
 * DEALER to the scorer, through which it asks for closes (the scorer is
 * the only writer). It reads the LMDB environment read-only, opening one
 * short read transaction per query; because the scorer answers a source
 * only after its commit, a query started after `kaohe feed` returned sees
 * every event that feed had acknowledged (read your writes).
 *
 * Scores are computed by the pure core (kh_score.h) from the events the
 * store's indexes gather for each station; the 城区三所 counts (5.2.2) are
 * recomputed for the whole urban group on every query that needs them,
 * never applied as an increment.
 *
 * Automatic closing: with policy auto_close, a timer (at start and every
 * minute) asks the scorer to close every period whose end plus grace_days
 * has passed.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kh_codec.h"
#include "kh_error.h"
#include "kh_log.h"
#include "kh_proc.h"
#include "kh_rank.h"
#include "kh_render.h"
#include "kh_score.h"
#include "kh_service.h"
#include "kh_store.h"
#include "kh_zuv.h"

#define BUDGET 64
#define AUTO_CLOSE_MS 60000

/* A close the scorer has not answered yet. */
typedef struct pending_close {
    uint64_t tag;     /* ours, sent to the scorer */
    uint64_t client_tag;
    uint8_t ident[256];
    size_t ident_len; /* 0: the timer's own close, nobody to answer */
    kh_day_t through;
    struct pending_close *next;
} pending_close_t;

typedef struct ranker {
    kh_service_t svc;
    kh_store_t *store;
    void *router, *scorer;
    kh_zwatch_t *wrouter, *wscorer;
    uv_timer_t timer;
    uint64_t next_tag;
    pending_close_t *closes;
} ranker_t;

/* One query's consistent view: a read txn and the events of the stations
 * loaded so far. */
typedef struct view {
    ranker_t *r;
    kh_txn_t *txn;
    kh_evset_t *sets;   /* per station */
    bool *loaded;
    int year;
    kh_day_t closed, today, as_of;
    kh_urban_t urban;
    bool urban_ready;
} view_t;

static int view_open(view_t *v, ranker_t *r, int year, kh_day_t as_of)
{
    memset(v, 0, sizeof *v);
    v->r = r;
    size_t n = r->svc.county->nstations;
    v->sets = calloc(n, sizeof *v->sets);
    v->loaded = calloc(n, sizeof *v->loaded);
    v->urban.counts = calloc(n, sizeof *v->urban.counts);
    if (!v->sets || !v->loaded || !v->urban.counts)
        return KH_ENOMEM;
    int rc = kh_txn_begin(r->store, false, &v->txn);
    if (rc)
        return rc;
    v->closed = kh_store_closed_through(v->txn);
    v->today = kh_tz_day(r->svc.county->tz, kh_time_now());
    v->as_of = as_of;
    v->year = year;
    if (!v->year) {
        int y;
        kh_day_to_civil(as_of != KH_DAY_NONE ? as_of : v->today, &y, NULL, NULL);
        v->year = y;
    }
    v->urban.year = v->year;
    v->urban.nstations = n;
    return KH_OK;
}

static void view_close(view_t *v)
{
    size_t n = v->r->svc.county->nstations;
    if (v->sets)
        for (size_t i = 0; i < n; i++)
            kh_evset_clear(&v->sets[i]);
    free(v->sets);
    free(v->loaded);
    free(v->urban.counts);
    kh_txn_abort(&v->txn);
}

static int view_load(view_t *v, int st)
{
    if (v->loaded[st])
        return KH_OK;
    int rc = kh_store_load_station(v->txn, v->r->svc.county->stations[st].code,
                                   &v->sets[st]);
    if (rc == KH_OK)
        v->loaded[st] = true;
    return rc;
}

/* Fills a score input for a station (events as a pointer array the
 * caller frees). */
static int view_input(view_t *v, int st, kh_score_input_t *in,
                      const kh_event_t ***ptrs)
{
    int rc = view_load(v, st);
    if (rc)
        return rc;
    kh_evset_t *set = &v->sets[st];
    const kh_event_t **p = malloc((set->n ? set->n : 1) * sizeof *p);
    if (!p)
        return KH_ENOMEM;
    for (size_t i = 0; i < set->n; i++)
        p[i] = &set->v[i];
    memset(in, 0, sizeof *in);
    in->county = v->r->svc.county;
    in->catalog = v->r->svc.catalog;
    in->station = st;
    in->year = v->year;
    in->events = p;
    in->nevents = set->n;
    in->urban = v->urban_ready ? &v->urban : NULL;
    in->closed_through = v->closed;
    in->today = v->today;
    in->as_of = v->as_of;
    *ptrs = p;
    return KH_OK;
}

/* The 城区三所 counts of the whole group, recomputed from the events. */
static int view_urban(view_t *v)
{
    if (v->urban_ready)
        return KH_OK;
    const kh_county_t *c = v->r->svc.county;
    for (size_t i = 0; i < c->nstations; i++) {
        if (!c->stations[i].urban)
            continue;
        kh_score_input_t in;
        const kh_event_t **p;
        int rc = view_input(v, (int)i, &in, &p);
        if (rc)
            return rc;
        kh_score_prevention_counts(&in, v->urban.counts[i]);
        free(p);
    }
    v->urban_ready = true;
    return KH_OK;
}

static int view_score(view_t *v, int st, kh_scorecard_t **card)
{
    int rc = view_urban(v);
    if (rc)
        return rc;
    kh_score_input_t in;
    const kh_event_t **p;
    if ((rc = view_input(v, st, &in, &p)))
        return rc;
    rc = kh_score_station(&in, card);
    free(p);
    return rc;
}

static void send_reply(ranker_t *r, const uint8_t *ident, size_t ident_len,
                       uint64_t tag, int code, const char *error, char *json)
{
    kh_reply_t rep = {.tag = tag, .code = code, .error = (char *)error,
                      .json = json};
    uint8_t *buf;
    size_t len;
    if (kh_codec_reply_encode(&rep, &buf, &len) != KH_OK)
        return;
    const void *data[2] = {ident, buf};
    size_t lens[2] = {ident_len, len};
    kh_zsend_parts(r->router, data, lens, 2);
    free(buf);
}

/* Answers with a JSON document (taking ownership) or an error. */
static void reply_json(ranker_t *r, const kh_zmsg_t *m, uint64_t tag, int code,
                       const char *error, json_t *doc)
{
    char *text = doc ? kh_render_dumps(doc) : NULL;
    if (doc && !text && code == KH_OK) {
        code = KH_ENOMEM;
        error = "cannot render the answer";
    }
    send_reply(r, kh_zmsg_data(m, 0), kh_zmsg_size(m, 0), tag, code, error, text);
    free(text);
    json_decref(doc);
}

static int query_rank(ranker_t *r, view_t *v, json_t **doc)
{
    const kh_county_t *c = r->svc.county;
    kh_scorecard_t **cards = calloc(c->nstations, sizeof *cards);
    kh_rank_row_t *rows = calloc(c->nstations, sizeof *rows);
    int rc = (!cards || !rows) ? KH_ENOMEM : KH_OK;
    for (size_t i = 0; i < c->nstations && rc == KH_OK; i++)
        rc = view_score(v, (int)i, &cards[i]);
    if (rc == KH_OK) {
        kh_rank_cards(c, (const kh_scorecard_t *const *)cards, c->nstations, rows);
        *doc = kh_render_rank_json(c, r->svc.catalog, v->year, rows, c->nstations);
        if (!*doc)
            rc = KH_ENOMEM;
    }
    for (size_t i = 0; cards && i < c->nstations; i++)
        kh_scorecard_free(&cards[i]);
    free(cards);
    free(rows);
    return rc;
}

static void handle_query(ranker_t *r, const kh_zmsg_t *m, const kh_query_t *q)
{
    const kh_county_t *c = r->svc.county;
    json_t *doc = NULL;
    char msg[256] = "";
    int rc = KH_OK;
    kh_day_t as_of = KH_DAY_NONE;

    if (q->kind == KH_Q_PING) {
        reply_json(r, m, q->tag, KH_OK, NULL,
                   json_pack("{s:s}", "service", "ranker"));
        return;
    }
    if (q->kind == KH_Q_CLOSE) {
        kh_period_t p;
        if (kh_period_parse(q->period, &p) != KH_OK || p.kind == KH_PK_HALF_MONTH) {
            snprintf(msg, sizeof msg,
                     "bad period \"%s\": want YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY",
                     q->period);
            reply_json(r, m, q->tag, KH_EINVAL, msg, NULL);
            return;
        }
        pending_close_t *pc = calloc(1, sizeof *pc);
        kh_scorer_req_t sr = {.tag = ++r->next_tag, .kind = KH_SREQ_CLOSE,
                              .close_through = kh_period_last(p)};
        uint8_t *buf;
        size_t len;
        if (!pc || kh_zmsg_size(m, 0) > sizeof pc->ident ||
            kh_codec_sreq_encode(&sr, &buf, &len) != KH_OK) {
            free(pc);
            reply_json(r, m, q->tag, KH_ENOMEM, "cannot send the close", NULL);
            return;
        }
        pc->tag = sr.tag;
        pc->client_tag = q->tag;
        pc->through = sr.close_through;
        pc->ident_len = kh_zmsg_size(m, 0);
        memcpy(pc->ident, kh_zmsg_data(m, 0), pc->ident_len);
        pc->next = r->closes;
        r->closes = pc;
        if (zmq_send(r->scorer, buf, len, ZMQ_DONTWAIT) < 0) {
            r->closes = pc->next;
            free(pc);
            reply_json(r, m, q->tag, KH_ENET, "scorer unreachable", NULL);
        }
        free(buf);
        kh_zwatch_kick(r->wscorer);
        return;
    }
    if (q->as_of[0] && kh_day_parse(q->as_of, &as_of) != KH_OK) {
        snprintf(msg, sizeof msg, "bad --as-of \"%s\": want YYYY-MM-DD", q->as_of);
        reply_json(r, m, q->tag, KH_EINVAL, msg, NULL);
        return;
    }
    if (q->year && (q->year < 1970 || q->year > 9999)) {
        reply_json(r, m, q->tag, KH_EINVAL, "bad --year", NULL);
        return;
    }
    kh_period_t month = {0};
    int year = q->year;
    if (q->kind == KH_Q_URBAN) {
        if (kh_month_parse(q->month, &month) != KH_OK) {
            snprintf(msg, sizeof msg, "bad --month \"%s\": want YYYY-MM", q->month);
            reply_json(r, m, q->tag, KH_EINVAL, msg, NULL);
            return;
        }
        year = month.year;
    }
    int st = -1;
    if (q->kind == KH_Q_STATION || q->kind == KH_Q_EXPLAIN) {
        st = kh_county_find(c, q->station);
        if (st < 0) {
            snprintf(msg, sizeof msg, "unknown station \"%s\"", q->station);
            reply_json(r, m, q->tag, KH_ENOTFOUND, msg, NULL);
            return;
        }
    }
    int item = -1;
    if (q->kind == KH_Q_EXPLAIN) {
        item = kh_catalog_find_item(r->svc.catalog, q->item);
        if (item < 0) {
            snprintf(msg, sizeof msg, "unknown item \"%s\"", q->item);
            reply_json(r, m, q->tag, KH_ENOTFOUND, msg, NULL);
            return;
        }
    }

    view_t v;
    if ((rc = view_open(&v, r, year, as_of)) != KH_OK)
        goto done;
    kh_scorecard_t *card = NULL;
    switch (q->kind) {
    case KH_Q_STATUS: {
        char closed[16] = "";
        if (v.closed != KH_DAY_NONE)
            kh_day_format(v.closed, closed);
        doc = json_pack("{s:I,s:s?,s:I,s:i}", "last_seq",
                        (json_int_t)kh_store_last_seq(v.txn), "closed_through",
                        v.closed != KH_DAY_NONE ? closed : NULL, "map_size",
                        (json_int_t)kh_store_map_size(r->store), "stations",
                        (int)c->nstations);
        break;
    }
    case KH_Q_RANK:
        rc = query_rank(r, &v, &doc);
        break;
    case KH_Q_STATION:
        if ((rc = view_score(&v, st, &card)) == KH_OK)
            doc = kh_render_station_json(c, r->svc.catalog, card);
        break;
    case KH_Q_EXPLAIN:
        if ((rc = view_score(&v, st, &card)) == KH_OK)
            doc = kh_render_explain_json(c, r->svc.catalog, card, (size_t)item);
        break;
    case KH_Q_URBAN: {
        kh_urban_row_t *rows = calloc(c->nstations, sizeof *rows);
        if (!rows || (rc = view_urban(&v)) != KH_OK) {
            rc = rc ? rc : KH_ENOMEM;
            free(rows);
            break;
        }
        size_t n = kh_score_urban_month(c, r->svc.catalog, &v.urban,
                                        month.index + 1, rows);
        bool closed = v.closed != KH_DAY_NONE && kh_period_last(month) <= v.closed;
        doc = kh_render_urban_json(c, q->month, closed, rows, n);
        free(rows);
        break;
    }
    default:
        rc = KH_EINVAL;
        break;
    }
    kh_scorecard_free(&card);
    view_close(&v);
done:
    if (rc == KH_OK && !doc)
        rc = KH_ENOMEM;
    if (rc != KH_OK) {
        kh_log(KH_LOG_ERROR, "query failed", "cause", kh_strerror(rc), (char *)NULL);
        snprintf(msg, sizeof msg, "query failed: %s", kh_strerror(rc));
        json_decref(doc);
        doc = NULL;
    }
    reply_json(r, m, q->tag, rc, rc ? msg : NULL, doc);
}

static void on_router(void *zsock, void *arg)
{
    ranker_t *r = arg;
    for (int i = 0; i < BUDGET; i++) {
        kh_zmsg_t m;
        if (kh_zmsg_recv(zsock, &m) != KH_OK)
            break;
        kh_query_t q;
        if (m.n != 2 || m.truncated) {
            kh_log(KH_LOG_WARN, "dropped message of unexpected shape", (char *)NULL);
        } else if (kh_codec_query_decode(kh_zmsg_data(&m, 1), kh_zmsg_size(&m, 1),
                                         &q) != KH_OK) {
            kh_log(KH_LOG_WARN, "undecodable query", (char *)NULL);
            reply_json(r, &m, 0, KH_EPROTO, "undecodable query", NULL);
        } else {
            handle_query(r, &m, &q);
        }
        kh_zmsg_close(&m);
    }
    kh_zwatch_kick(r->wscorer);
}

static void on_scorer(void *zsock, void *arg)
{
    ranker_t *r = arg;
    for (int i = 0; i < BUDGET; i++) {
        kh_zmsg_t m;
        if (kh_zmsg_recv(zsock, &m) != KH_OK)
            break;
        kh_scorer_reply_t rep;
        if (m.n == 1 && kh_codec_sreply_decode(kh_zmsg_data(&m, 0),
                                               kh_zmsg_size(&m, 0), &rep) == KH_OK) {
            pending_close_t **pp = &r->closes;
            while (*pp && (*pp)->tag != rep.tag)
                pp = &(*pp)->next;
            if (*pp) {
                pending_close_t *pc = *pp;
                *pp = pc->next;
                char day[16] = "", through[16];
                if (rep.closed_through != KH_DAY_NONE)
                    kh_day_format(rep.closed_through, day);
                kh_day_format(pc->through, through);
                bool ok = rep.outcome.status == KH_STATUS_ACCEPTED;
                kh_log(ok ? KH_LOG_INFO : KH_LOG_ERROR,
                       ok ? "periods closed" : "close failed", "through", through,
                       "closed_through", day, "by",
                       pc->ident_len ? "command" : "auto_close", (char *)NULL);
                if (pc->ident_len) {
                    json_t *doc = ok ? json_pack("{s:s}", "closed_through", day) : NULL;
                    char *text = doc ? kh_render_dumps(doc) : NULL;
                    send_reply(r, pc->ident, pc->ident_len, pc->client_tag,
                               ok ? KH_OK : KH_ESTORE,
                               ok ? NULL : rep.outcome.reason, text);
                    free(text);
                    json_decref(doc);
                }
                free(pc);
            }
        }
        kh_zmsg_close(&m);
    }
    kh_zwatch_kick(r->wrouter);
}

/* policy auto_close: close what grace_days has let pass. */
static void on_timer(uv_timer_t *h)
{
    ranker_t *r = h->data;
    const kh_county_t *c = r->svc.county;
    if (!c->auto_close)
        return;
    kh_day_t today = kh_tz_day(c->tz, kh_time_now());
    kh_day_t through = kh_auto_close_through(today, c->grace_days);
    if (through == KH_DAY_NONE)
        return;
    kh_txn_t *txn;
    if (kh_txn_begin(r->store, false, &txn) != KH_OK)
        return;
    kh_day_t closed = kh_store_closed_through(txn);
    kh_txn_abort(&txn);
    if (closed != KH_DAY_NONE && closed >= through)
        return;
    for (pending_close_t *pc = r->closes; pc; pc = pc->next)
        if (!pc->ident_len && pc->through >= through)
            return; /* already asked */
    pending_close_t *pc = calloc(1, sizeof *pc);
    kh_scorer_req_t sr = {.tag = ++r->next_tag, .kind = KH_SREQ_CLOSE,
                          .close_through = through};
    uint8_t *buf;
    size_t len;
    if (!pc || kh_codec_sreq_encode(&sr, &buf, &len) != KH_OK) {
        free(pc);
        return;
    }
    pc->tag = sr.tag;
    pc->through = through;
    pc->next = r->closes;
    r->closes = pc;
    if (zmq_send(r->scorer, buf, len, ZMQ_DONTWAIT) < 0) {
        r->closes = pc->next;
        free(pc);
    }
    free(buf);
    kh_zwatch_kick(r->wscorer);
}

static void on_stop(kh_service_t *svc)
{
    ranker_t *r = svc->data;
    kh_zwatch_stop(&r->wrouter);
    kh_zwatch_stop(&r->wscorer);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, NULL);
}

int main(int argc, char **argv)
{
    ranker_t r;
    memset(&r, 0, sizeof r);
    int rc = kh_service_init(&r.svc, "ranker", argc, argv);
    if (rc)
        return rc;
    r.svc.data = &r;
    r.svc.on_stop = on_stop;
    char path[PATH_MAX];
    kh_path(path, sizeof path, r.svc.dir, NULL, "store", NULL);
    kh_store_opts_t o = {.dir = path, .readonly = true};
    if ((rc = kh_store_open(&r.store, &o)) != KH_OK) {
        kh_log(KH_LOG_ERROR, "cannot open store (is the scorer up?)", "path",
               path, "cause", kh_strerror(rc), (char *)NULL);
        return 1;
    }
    r.router = kh_service_socket(&r.svc, ZMQ_ROUTER, "ranker", true);
    r.scorer = kh_service_socket(&r.svc, ZMQ_DEALER, "scorer", false);
    if (!r.router || !r.scorer ||
        kh_zwatch_start(r.svc.loop, r.router, on_router, &r, &r.wrouter) ||
        kh_zwatch_start(r.svc.loop, r.scorer, on_scorer, &r, &r.wscorer)) {
        kh_log(KH_LOG_ERROR, "cannot start", (char *)NULL);
        return 1;
    }
    uv_timer_init(r.svc.loop, &r.timer);
    r.timer.data = &r;
    uv_timer_start(&r.timer, on_timer, 0, AUTO_CLOSE_MS);
    rc = kh_service_run(&r.svc);
    zmq_close(r.router);
    zmq_close(r.scorer);
    while (r.closes) {
        pending_close_t *pc = r.closes;
        r.closes = pc->next;
        free(pc);
    }
    kh_store_close(&r.store);
    kh_service_fini(&r.svc);
    return rc;
}
