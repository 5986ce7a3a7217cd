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
 * Scores are computed by the pure core (kh_score.h) from the events that
 * bear on each station. Which those are the ranker derives from the
 * journal itself, in memory (kh_index.h): built at start, brought up to
 * each query's read transaction before it reads. The 城区三所 counts (5.2.2) are
 * recomputed for the whole urban group on every query that needs them,
 * never applied as an increment.
 *
 * Automatic closing and publishing: with policy auto_close, a timer (at
 * start, every minute, and whenever the scorer announces a commit on its
 * PUB socket) asks the scorer to close every period whose end plus
 * grace_days has passed, and publishes each such month's first revision.
 *
 * Metrics (kh_service.h writes them): queries by kind and the time each
 * read query took, hits and misses of the scorecard and ranking caches,
 * commit notices received and lost on the way (subscriber gaps), and
 * snapshots published.
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
#include "kh_snapshot.h"
#include "kh_index.h"
#include "kh_store.h"
#include "kh_zuv.h"

#define BUDGET        64
#define AUTO_CLOSE_MS 60000
#define NKINDS        9 /* kh_query_kind_t values are 1..8 */

/* The label of each query kind (kh_codec.h); NULL: not a kind. */
static const char *const kind_names[NKINDS] = {
    NULL, "ping", "rank", "station", "explain", "urban", "close", "status", "publish"};

/*
 * A request to the scorer not answered yet. Closes come from `kaohe close`
 * (a client waits), from the auto_close timer, or start a publication; a
 * publication then stores its document (OP_PUB_STORE) and answers.
 */
typedef enum { OP_CLOSE, OP_PUB_CLOSE, OP_PUB_STORE } op_kind_t;

typedef struct pending {
    uint64_t tag; /* ours, sent to the scorer */
    op_kind_t kind;
    uint64_t client_tag;
    uint8_t ident[256];
    size_t ident_len; /* 0: the timer's own request, nobody to answer */
    kh_day_t through;
    kh_period_t month; /* publications */
    char actor[64];
    json_t *doc; /* OP_PUB_STORE: the document being stored */
    char *text;  /* its canonical text */
    int attempts;
    struct pending *next;
} pending_t;

/*
 * A station's live scorecard (no --as-of), kept while nothing it depends on
 * has changed: its stamp (the last journal sequence that touched it, from
 * the index, which is brought up to the query's transaction), for an urban station
 * the largest stamp of the urban group too (5.2.2 ranks them against each
 * other), the day through which periods are closed, the county's today
 * (which decides what is pending) and the year. A query reads the stamps
 * in its own read transaction, so a cached card is never older than what
 * the query can see: read-your-writes holds.
 */
typedef struct cached {
    kh_scorecard_t *card; /* NULL: none */
    uint64_t stamp, group_stamp;
    kh_day_t closed, today;
    int year;
} cached_t;

typedef struct ranker {
    kh_service_t svc;
    kh_store_t *store;
    kh_index_t *index;         /* which events bear on which station (kh_index.h) */
    kh_rank_text_t *rank_text; /* the ranking's unchanging text (kh_render.h) */
    size_t skipped_logged;     /* undecodable journal entries logged so far */
    void *router, *scorer, *pub, *committed;
    kh_zwatch_t *wrouter, *wscorer, *wcommitted;
    uv_timer_t timer;
    uint64_t next_tag;
    pending_t *ops;
    cached_t *cache; /* per station: its live scorecard */
    struct {         /* the last live ranking's answer */
        char *text;
        uint64_t seq;
        kh_day_t closed, today;
        int year;
    } rank;
    uint64_t last_batch;   /* of the last commit notice (0: none yet) */
    uint64_t lost_notices; /* commit notices dropped on the way to us */
    struct {
        kh_counter_t *queries[NKINDS];
        kh_histogram_t *seconds[NKINDS]; /* the kinds that read: else NULL */
        kh_counter_t *card_hits, *card_misses, *rank_hits, *rank_misses;
        kh_counter_t *notices, *lost, *published, *skipped;
        kh_gauge_t *index_events, *index_bytes;
    } m;
} ranker_t;

/* One query's consistent view: a read txn and the events of the stations
 * loaded so far. */
typedef struct view {
    ranker_t *r;
    kh_txn_t *txn;
    kh_evset_t *sets; /* per station */
    bool *loaded;
    int year;
    kh_day_t closed, today, as_of;
    kh_urban_t urban;
    bool urban_ready;
    kh_scorecard_t **owned; /* cards of a cut view (not cached), per station */
    bool group_ready;
    uint64_t group_stamp; /* the largest stamp of the urban stations */
} view_t;

/* Brings the index up to txn. Views may nest (status looks for stale
 * months in views of their own), but only the innermost reads the index;
 * the store refuses to load a station for a txn the index is ahead of, and
 * a station's stamp is used only when the index is exactly at the view's
 * txn (view_score_ex). A failed update leaves an index that cannot be
 * trusted: it is dropped, and built again from the journal by the next
 * query. An entry that does not decode is left out and logged, once. */
static int index_update(ranker_t *r, kh_txn_t *txn)
{
    int rc = r->index ? KH_OK : KH_ENOMEM;
    if (!r->index && (r->index = kh_index_new()))
        rc = KH_OK;
    if (rc == KH_OK)
        rc = kh_store_index_update(txn, r->index);
    if (rc) {
        kh_log(KH_LOG_ERROR, "cannot index the journal", "cause", kh_strerror(rc),
               (char *)NULL);
        kh_index_free(&r->index);
        r->skipped_logged = 0;
    } else if (kh_index_skipped(r->index) > r->skipped_logged) {
        char n[24], seq[24];
        snprintf(n, sizeof n, "%zu", kh_index_skipped(r->index));
        snprintf(seq, sizeof seq, "%llu",
                 (unsigned long long)kh_index_last_skipped(r->index));
        kh_log(KH_LOG_ERROR,
               "journal entries that do not decode are left out of every score",
               "entries", n, "last_seq", seq, (char *)NULL);
        r->skipped_logged = kh_index_skipped(r->index);
    }
    return rc;
}

/* Closes a view, opened or not (after a failed view_open too); a second
 * close does nothing. */
static void view_close(view_t *v)
{
    size_t n = v->r ? v->r->svc.county->nstations : 0;
    if (v->sets)
        for (size_t i = 0; i < n; i++)
            kh_evset_clear(&v->sets[i]);
    if (v->owned)
        for (size_t i = 0; i < n; i++)
            kh_scorecard_free(&v->owned[i]);
    free(v->owned);
    free(v->sets);
    free(v->loaded);
    free(v->urban.counts);
    v->owned = NULL;
    v->sets = NULL;
    v->loaded = NULL;
    v->urban.counts = NULL;
    kh_txn_abort(&v->txn);
}

/* Opens a view: its read txn and the index brought up to it. On failure
 * nothing is left open (view_close may still be called). */
static int view_open(view_t *v, ranker_t *r, int year, kh_day_t as_of)
{
    memset(v, 0, sizeof *v);
    v->r = r;
    size_t n = r->svc.county->nstations;
    v->sets = calloc(n, sizeof *v->sets);
    v->loaded = calloc(n, sizeof *v->loaded);
    v->urban.counts = calloc(n, sizeof *v->urban.counts);
    v->owned = calloc(n, sizeof *v->owned);
    int rc =
        (!v->sets || !v->loaded || !v->urban.counts || !v->owned) ? KH_ENOMEM : KH_OK;
    if (rc == KH_OK)
        rc = kh_txn_begin(r->store, false, &v->txn);
    if (rc == KH_OK)
        rc = index_update(r, v->txn);
    if (rc) {
        view_close(v);
        return rc;
    }
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

static int view_load(view_t *v, int st)
{
    if (v->loaded[st])
        return KH_OK;
    int rc = kh_store_load_station(v->txn, v->r->index,
                                   v->r->svc.county->stations[st].code, &v->sets[st]);
    if (rc == KH_OK)
        v->loaded[st] = true;
    return rc;
}

/* Fills a score input for a station (events as a pointer array the
 * caller frees). */
static int view_input(view_t *v, int st, kh_score_input_t *in, const kh_event_t ***ptrs)
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

static uint64_t view_group_stamp(view_t *v)
{
    if (!v->group_ready) {
        const kh_county_t *c = v->r->svc.county;
        v->group_stamp = 0;
        for (size_t i = 0; i < c->nstations; i++)
            if (c->stations[i].urban) {
                uint64_t s = kh_index_stamp(v->r->index, c->stations[i].code);
                v->group_stamp = s > v->group_stamp ? s : v->group_stamp;
            }
        v->group_ready = true;
    }
    return v->group_stamp;
}

/* Scores a station from its events (and, if urban, the group's counts). */
static int view_compute(view_t *v, int st, kh_scorecard_t **card)
{
    int rc = v->r->svc.county->stations[st].urban ? view_urban(v) : KH_OK;
    if (rc)
        return rc;
    kh_score_input_t in;
    const kh_event_t **p;
    if ((rc = view_input(v, st, &in, &p)))
        return rc;
    rc = kh_score_station(&in, card);
    free(p);
    /* Scored: its events can go (a ranking of a province would otherwise
     * hold every event of the year decoded at once). */
    kh_evset_clear(&v->sets[st]);
    v->loaded[st] = false;
    return rc;
}

/* A station's scorecard in the view: from the cache when nothing it
 * depends on changed, else computed (and cached, for a live view). Cached
 * cards keep their figures but not their explain entries (a province's
 * thousands of cards would hold hundreds of megabytes of them): with
 * `entries`, the card is computed afresh for this view. The card belongs
 * to the cache or the view; the caller must not free it. */
static int view_score_ex(view_t *v, int st, bool entries, const kh_scorecard_t **out)
{
    ranker_t *r = v->r;
    int rc;
    if (v->as_of != KH_DAY_NONE || entries) {
        if (!v->owned[st] && (rc = view_compute(v, st, &v->owned[st])))
            return rc;
        *out = v->owned[st];
        return KH_OK;
    }
    const kh_station_t *s = &r->svc.county->stations[st];
    if (kh_index_through(r->index) != kh_store_last_seq(v->txn))
        return KH_ERANGE; /* a nested view moved the index: see index_update */
    uint64_t stamp = kh_index_stamp(r->index, s->code);
    uint64_t group = s->urban ? view_group_stamp(v) : 0;
    if ((rc = kh_txn_error(v->txn)))
        return rc;
    cached_t *e = &r->cache[st];
    if (!e->card || e->stamp != stamp || e->group_stamp != group ||
        e->closed != v->closed || e->today != v->today || e->year != v->year) {
        kh_counter_inc(r->m.card_misses);
        kh_scorecard_t *card = NULL;
        if ((rc = view_compute(v, st, &card)))
            return rc;
        kh_scorecard_strip(card);
        kh_scorecard_free(&e->card);
        *e = (cached_t){.card = card,
                        .stamp = stamp,
                        .group_stamp = group,
                        .closed = v->closed,
                        .today = v->today,
                        .year = v->year};
    } else {
        kh_counter_inc(r->m.card_hits);
    }
    *out = e->card;
    return KH_OK;
}

static int view_score(view_t *v, int st, const kh_scorecard_t **out)
{
    return view_score_ex(v, st, false, out);
}

static void send_reply(ranker_t *r, const uint8_t *ident, size_t ident_len, uint64_t tag,
                       int code, const char *error, char *json)
{
    kh_reply_t rep = {.tag = tag, .code = code, .error = (char *)error, .json = json};
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

/* Every station's scorecard in the view, ranked. cards[i] is station i's
 * (owned by the cache or the view); rows are in rank order. Both arrays
 * are the caller's to free. */
static int score_all(ranker_t *r, view_t *v, const kh_scorecard_t ***cards_out,
                     kh_rank_row_t **rows_out)
{
    const kh_county_t *c = r->svc.county;
    const kh_scorecard_t **cards = calloc(c->nstations, sizeof *cards);
    kh_rank_row_t *rows = calloc(c->nstations, sizeof *rows);
    int rc = (!cards || !rows) ? KH_ENOMEM : KH_OK;
    for (size_t i = 0; i < c->nstations && rc == KH_OK; i++)
        rc = view_score(v, (int)i, &cards[i]);
    if (rc == KH_OK)
        kh_rank_cards(c, cards, c->nstations, rows);
    *cards_out = cards;
    *rows_out = rows;
    return rc;
}

/* The ranking as JSON text. A live ranking is kept as its text until the
 * journal, the closes, the day or the year change: asked again meanwhile,
 * it costs one read of last_seq. */
static int query_rank(ranker_t *r, view_t *v, char **text)
{
    uint64_t seq = kh_store_last_seq(v->txn);
    bool live = v->as_of == KH_DAY_NONE;
    if (live && r->rank.text && r->rank.seq == seq && r->rank.closed == v->closed &&
        r->rank.today == v->today && r->rank.year == v->year) {
        kh_counter_inc(r->m.rank_hits);
        *text = strdup(r->rank.text);
        return *text ? KH_OK : KH_ENOMEM;
    }
    if (live)
        kh_counter_inc(r->m.rank_misses);
    const kh_scorecard_t **cards;
    kh_rank_row_t *rows;
    int rc = score_all(r, v, &cards, &rows);
    json_t *doc = NULL;
    if (rc == KH_OK) {
        /* the text directly (kh_render_rank_text), the same bytes as the
         * document jansson would print, in a fraction of the time */
        if (r->rank_text) {
            *text = kh_render_rank_text(r->rank_text, v->year, rows,
                                        r->svc.county->nstations);
        } else {
            doc = kh_render_rank_json(r->svc.county, r->svc.catalog, v->year, rows,
                                      r->svc.county->nstations);
            *text = doc ? kh_render_dumps(doc) : NULL;
        }
        if (!*text)
            rc = KH_ENOMEM;
    }
    json_decref(doc);
    free(cards);
    free(rows);
    if (rc == KH_OK && live) {
        free(r->rank.text);
        r->rank.text = strdup(*text);
        r->rank.seq = seq;
        r->rank.closed = v->closed;
        r->rank.today = v->today;
        r->rank.year = v->year;
    }
    return rc;
}

/* A station document for a snapshot: the station JSON plus, per item, the
 * ids of the events behind it (for the revision diffs). */
static json_t *snapshot_station(ranker_t *r, const kh_scorecard_t *card)
{
    json_t *doc = kh_render_station_json(r->svc.county, r->svc.catalog, card);
    if (!doc)
        return NULL;
    size_t i, j;
    json_t *sec, *it;
    json_array_foreach(json_object_get(doc, "sections"), i, sec)
    {
        json_array_foreach(json_object_get(sec, "items"), j, it)
        {
            int idx = kh_catalog_find_item(r->svc.catalog,
                                           json_string_value(json_object_get(it, "id")));
            json_t *ids = json_array();
            for (size_t k = 0; idx >= 0 && k < card->nitems; k++) {
                if (card->items[k].item != (size_t)idx)
                    continue;
                for (size_t e = 0; e < card->items[k].nentries; e++)
                    for (size_t x = 0; x < card->items[k].entries[e].nevents; x++) {
                        const char *id = card->items[k].entries[e].events[x];
                        size_t y, n = json_array_size(ids);
                        for (y = 0; y < n; y++)
                            if (strcmp(json_string_value(json_array_get(ids, y)), id) ==
                                0)
                                break;
                        if (y == n)
                            json_array_append_new(ids, json_string(id));
                    }
            }
            json_object_set_new(it, "events", ids);
        }
    }
    return doc;
}

/*
 * The content of a month's snapshot (SPEC section 7, snapshot publish):
 * every station's year-to-date scorecard as of the month's last day, every
 * effect dated on or before it (a legal review by its call's date), the
 * ranking, and each station's total as of every month end of the year so
 * far (for the exports' charts).
 */
static int snapshot_content(ranker_t *r, kh_period_t month, json_t **out)
{
    const kh_county_t *c = r->svc.county;
    view_t v;
    const kh_scorecard_t **cards = NULL;
    kh_rank_row_t *rows = NULL;
    json_t *doc = json_object(), *stations = json_array(), *monthly = json_object();
    int rc = (!doc || !stations || !monthly) ? KH_ENOMEM : KH_OK;
    if (rc == KH_OK &&
        (rc = view_open(&v, r, month.year, kh_period_last(month))) == KH_OK) {
        rc = score_all(r, &v, &cards, &rows);
        if (rc == KH_OK) {
            json_object_set_new(
                doc, "rank",
                kh_render_rank_json(c, r->svc.catalog, month.year, rows, c->nstations));
            for (size_t i = 0; i < c->nstations; i++)
                json_array_append_new(stations, snapshot_station(r, rows[i].card));
        }
        free(cards);
        free(rows);
        view_close(&v);
    }
    for (int m = 0; rc == KH_OK && m <= month.index; m++) {
        kh_period_t pm = kh_period_nth(KH_PK_MONTH, month.year, m);
        char label[16];
        kh_period_format(pm, label);
        if ((rc = view_open(&v, r, month.year, kh_period_last(pm))) != KH_OK)
            break;
        for (size_t i = 0; i < c->nstations && rc == KH_OK; i++) {
            const kh_scorecard_t *card = NULL;
            if ((rc = view_score(&v, (int)i, &card)) != KH_OK)
                break;
            json_t *arr = json_object_get(monthly, c->stations[i].code);
            if (!arr) {
                arr = json_array();
                json_object_set_new(monthly, c->stations[i].code, arr);
            }
            json_array_append_new(arr, json_pack("{s:s,s:o}", "month", label, "total",
                                                 kh_render_amount(card->total)));
        }
        view_close(&v);
    }
    if (rc == KH_OK) {
        char label[16];
        json_object_set_new(doc, "month", json_string(kh_period_format(month, label)));
        json_object_set_new(doc, "county", json_string(c->name));
        json_object_set_new(doc, "year", json_integer(month.year));
        json_object_set_new(doc, "stations", stations);
        json_object_set_new(doc, "monthly", monthly);
        *out = doc;
        return KH_OK;
    }
    json_decref(stations);
    json_decref(monthly);
    json_decref(doc);
    return rc;
}

/* The month key of the store (kh_store.h). */
static uint32_t month_key(kh_period_t m)
{
    return (uint32_t)(m.year * 12 + m.index);
}

/* The latest stored revision of a month, parsed; NULL when none. */
static json_t *latest_snapshot(ranker_t *r, kh_period_t month)
{
    kh_txn_t *txn;
    if (kh_txn_begin(r->store, false, &txn) != KH_OK)
        return NULL;
    json_t *doc = NULL;
    uint32_t rev = kh_store_snap_latest_rev(txn, month_key(month));
    char *text;
    size_t len;
    if (rev && kh_store_snap_get(txn, month_key(month), rev, &text, &len) == KH_OK) {
        doc = json_loadb(text, len, 0, NULL);
        free(text);
    }
    kh_txn_abort(&txn);
    return doc;
}

static void pending_free(pending_t *p)
{
    json_decref(p->doc);
    free(p->text);
    free(p);
}

static pending_t *pending_new(ranker_t *r, op_kind_t kind, const uint8_t *ident,
                              size_t ident_len, uint64_t client_tag)
{
    if (ident_len > sizeof((pending_t *)0)->ident)
        return NULL;
    pending_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->kind = kind;
    p->tag = ++r->next_tag;
    p->client_tag = client_tag;
    p->ident_len = ident_len;
    if (ident_len)
        memcpy(p->ident, ident, ident_len);
    return p;
}

/* Sends a request for p to the scorer and files p; on failure frees p
 * and returns the error. */
static int pending_send(ranker_t *r, pending_t *p, kh_scorer_req_t *sr)
{
    uint8_t *buf;
    size_t len;
    sr->tag = p->tag;
    int rc = kh_codec_sreq_encode(sr, &buf, &len);
    if (rc == KH_OK) {
        if (zmq_send(r->scorer, buf, len, ZMQ_DONTWAIT) < 0)
            rc = KH_ENET;
        free(buf);
    }
    if (rc) {
        pending_free(p);
        return rc;
    }
    p->next = r->ops;
    r->ops = p;
    kh_zwatch_kick(r->wscorer);
    return KH_OK;
}

static int send_close(ranker_t *r, pending_t *p)
{
    kh_scorer_req_t sr = {.kind = KH_SREQ_CLOSE, .close_through = p->through};
    return pending_send(r, p, &sr);
}

/* Answers the client of p (if any) with a document or an error. */
static void pending_answer(ranker_t *r, pending_t *p, int code, const char *error,
                           json_t *doc)
{
    if (p->ident_len) {
        char *text = doc ? kh_render_dumps(doc) : NULL;
        send_reply(r, p->ident, p->ident_len, p->client_tag, code, error, text);
        free(text);
    }
    json_decref(doc);
}

/* Starts a publication of a month: close it first (SPEC: publish closes
 * the month and every period ending by then). */
static int publish_start(ranker_t *r, kh_period_t month, const char *actor,
                         const uint8_t *ident, size_t ident_len, uint64_t client_tag)
{
    pending_t *p = pending_new(r, OP_PUB_CLOSE, ident, ident_len, client_tag);
    if (!p)
        return KH_ENOMEM;
    p->month = month;
    p->through = kh_period_last(month);
    snprintf(p->actor, sizeof p->actor, "%s", actor && *actor ? actor : "unknown");
    return send_close(r, p);
}

/* The month is closed: freeze its content, and either answer "nothing
 * changed" or send the new revision to the scorer to store. Takes p. */
static void publish_freeze(ranker_t *r, pending_t *p)
{
    char label[16];
    kh_period_format(p->month, label);
    json_t *content = NULL;
    int rc = snapshot_content(r, p->month, &content);
    if (rc != KH_OK) {
        kh_log(KH_LOG_ERROR, "snapshot not computed", "month", label, "cause",
               kh_strerror(rc), (char *)NULL);
        pending_answer(r, p, rc, "snapshot not computed", NULL);
        pending_free(p);
        return;
    }
    json_t *old = latest_snapshot(r, p->month);
    if (old && kh_snapshot_same_content(old, content)) {
        pending_answer(r, p, KH_OK, NULL,
                       json_pack("{s:s,s:O,s:O,s:b}", "month", label, "rev",
                                 json_object_get(old, "rev"), "hash",
                                 json_object_get(old, "hash"), "changed", 0));
        kh_log(KH_LOG_INFO, "snapshot unchanged", "month", label, (char *)NULL);
        json_decref(old);
        json_decref(content);
        pending_free(p);
        return;
    }
    /* the chain's head, which the new revision seals */
    kh_txn_t *txn = NULL;
    kh_snap_ref_t last;
    bool found = false;
    char *head = NULL;
    size_t hlen;
    json_t *prev_hash = json_null();
    rc = kh_txn_begin(r->store, false, &txn);
    if (rc == KH_OK && (rc = kh_store_snap_last(txn, &last, &found)) == KH_OK && found &&
        (rc = kh_store_snap_get(txn, last.month, last.rev, &head, &hlen)) == KH_OK) {
        json_t *hd = json_loadb(head, hlen, 0, NULL);
        json_t *h = hd ? json_object_get(hd, "hash") : NULL;
        prev_hash = h ? json_copy(h) : json_null();
        json_decref(hd);
        free(head);
    }
    if (txn)
        kh_txn_abort(&txn);
    uint32_t rev =
        old ? (uint32_t)json_integer_value(json_object_get(old, "rev")) + 1 : 1;
    char now[40];
    kh_time_format(kh_time_now(), now);
    json_object_set_new(content, "rev", json_integer(rev));
    json_object_set_new(content, "prev_hash", prev_hash);
    json_object_set_new(content, "published_at", json_string(now));
    json_object_set_new(content, "published_by", json_string(p->actor));
    json_object_set_new(content, "changes",
                        old ? kh_snapshot_diff(old, content) : json_array());
    char hex[KH_SNAPSHOT_HASH_HEX];
    if (rc == KH_OK)
        rc = kh_snapshot_hash(content, hex);
    if (rc == KH_OK)
        json_object_set_new(content, "hash", json_string(hex));
    json_decref(old);
    char *text = rc == KH_OK ? kh_snapshot_canonical(content) : NULL;
    if (!text) {
        pending_answer(r, p, rc ? rc : KH_ENOMEM, "snapshot not serialised", NULL);
        json_decref(content);
        pending_free(p);
        return;
    }
    p->kind = OP_PUB_STORE;
    p->doc = content;
    p->text = text;
    kh_scorer_req_t sr = {.kind = KH_SREQ_SNAPSHOT,
                          .snap_month = month_key(p->month),
                          .snap_rev = rev,
                          .snap_expect_last = found ? last.pubno : 0,
                          .snap_doc = (const uint8_t *)text,
                          .snap_len = strlen(text)};
    /* pending_send files p under a fresh tag */
    p->tag = ++r->next_tag;
    if ((rc = pending_send(r, p, &sr)) != KH_OK)
        kh_log(KH_LOG_ERROR, "snapshot not sent to the scorer", "month", label, "cause",
               kh_strerror(rc), (char *)NULL);
}

static void on_timer(uv_timer_t *h);

/* The scorer stored the revision: publish it to subscribers (a sequence
 * number first, so they can see a gap) and answer. Takes p. */
static void publish_done(ranker_t *r, pending_t *p, const kh_scorer_reply_t *rep)
{
    char label[16];
    kh_period_format(p->month, label);
    if (rep->outcome.status == KH_STATUS_REJECTED && p->attempts < 10) {
        /* someone published in between: freeze again on the new head */
        p->attempts++;
        json_decref(p->doc);
        free(p->text);
        p->doc = NULL;
        p->text = NULL;
        p->next = NULL;
        publish_freeze(r, p);
        return;
    }
    if (rep->outcome.status != KH_STATUS_ACCEPTED) {
        kh_log(KH_LOG_ERROR, "snapshot not stored", "month", label, "cause",
               rep->outcome.reason, (char *)NULL);
        pending_answer(r, p, KH_ESTORE, "snapshot not stored", NULL);
        pending_free(p);
        return;
    }
    uint8_t seq[8];
    uint64_t pubno = rep->outcome.seq;
    for (int i = 7; i >= 0; i--, pubno >>= 8)
        seq[i] = (uint8_t)pubno;
    zmq_send(r->pub, seq, 8, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(r->pub, p->text, strlen(p->text), ZMQ_DONTWAIT); /* dropped at HWM */
    json_t *rev = json_object_get(p->doc, "rev"), *hash = json_object_get(p->doc, "hash");
    char revs[16], pubs[24];
    snprintf(revs, sizeof revs, "%lld", (long long)json_integer_value(rev));
    snprintf(pubs, sizeof pubs, "%llu", (unsigned long long)rep->outcome.seq);
    kh_log(KH_LOG_INFO, "snapshot published", "month", label, "rev", revs, "hash",
           json_string_value(hash), "publication", pubs, "by", p->actor, (char *)NULL);
    kh_counter_inc(r->m.published);
    pending_answer(r, p, KH_OK, NULL,
                   json_pack("{s:s,s:O,s:O,s:b}", "month", label, "rev", rev, "hash",
                             hash, "changed", 1));
    bool automatic = p->ident_len == 0;
    pending_free(p);
    if (automatic)
        on_timer(&r->timer); /* the next month due, if any */
}

/* Published months whose figures have changed since (late events): the
 * latest revision of each published month compared with its content now. */
static json_t *stale_months(ranker_t *r)
{
    json_t *stale = json_array();
    kh_txn_t *txn;
    if (!stale || kh_txn_begin(r->store, false, &txn) != KH_OK)
        return stale;
    kh_snap_ref_t last;
    bool found;
    uint32_t months[64];
    size_t n = 0;
    if (kh_store_snap_last(txn, &last, &found) == KH_OK && found) {
        for (uint64_t pno = last.pubno; pno >= 1 && n < 64; pno--) {
            kh_snap_ref_t ref;
            if (kh_store_snap_by_pubno(txn, pno, &ref) != KH_OK)
                break;
            size_t k;
            for (k = 0; k < n && months[k] != ref.month; k++)
                ;
            if (k == n)
                months[n++] = ref.month;
        }
    }
    kh_txn_abort(&txn);
    for (size_t i = n; i-- > 0;) {
        kh_period_t m =
            kh_period_nth(KH_PK_MONTH, (int)(months[i] / 12), (int)(months[i] % 12));
        json_t *old = latest_snapshot(r, m), *now = NULL;
        if (old && snapshot_content(r, m, &now) == KH_OK &&
            !kh_snapshot_same_content(old, now)) {
            char label[16];
            json_array_append_new(stale, json_string(kh_period_format(m, label)));
        }
        json_decref(old);
        json_decref(now);
    }
    return stale;
}

static void handle_query(ranker_t *r, const kh_zmsg_t *m, const kh_query_t *q)
{
    const kh_county_t *c = r->svc.county;
    json_t *doc = NULL;
    char msg[256] = "";
    int rc = KH_OK;
    kh_day_t as_of = KH_DAY_NONE;

    if (q->kind == KH_Q_PING) {
        reply_json(r, m, q->tag, KH_OK, NULL, json_pack("{s:s}", "service", "ranker"));
        return;
    }
    if ((q->kind == KH_Q_CLOSE || q->kind == KH_Q_PUBLISH) &&
        !(kh_zmsg_user(m, 1) && strcmp(kh_zmsg_user(m, 1), "admin") == 0)) {
        /* Closing and publishing change what stations are judged by. */
        snprintf(msg, sizeof msg, "forbidden: only the admin key may %s",
                 q->kind == KH_Q_CLOSE ? "close periods" : "publish snapshots");
        kh_log(KH_LOG_WARN, "control refused", "key",
               kh_zmsg_user(m, 1) ? kh_zmsg_user(m, 1) : "-", (char *)NULL);
        reply_json(r, m, q->tag, KH_EFORBIDDEN, msg, NULL);
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
        kh_day_t today = kh_tz_day(c->tz, kh_time_now());
        if (kh_period_last(p) >= today) {
            /* Closing is for good (closed_through never moves back): a
             * period still running, or a typo for a future year, would
             * deduct shortfalls that are not shortfalls yet. */
            snprintf(msg, sizeof msg,
                     "period %s has not ended yet (county time): nothing closed",
                     q->period);
            reply_json(r, m, q->tag, KH_EINVAL, msg, NULL);
            return;
        }
        pending_t *op =
            pending_new(r, OP_CLOSE, kh_zmsg_data(m, 0), kh_zmsg_size(m, 0), q->tag);
        if (!op) {
            reply_json(r, m, q->tag, KH_ENOMEM, "cannot send the close", NULL);
            return;
        }
        op->through = kh_period_last(p);
        if ((rc = send_close(r, op)) != KH_OK)
            reply_json(r, m, q->tag, rc, "scorer unreachable", NULL);
        return;
    }
    if (q->kind == KH_Q_PUBLISH) {
        kh_period_t month;
        if (kh_month_parse(q->month, &month) != KH_OK) {
            snprintf(msg, sizeof msg, "bad month \"%s\": want YYYY-MM", q->month);
            reply_json(r, m, q->tag, KH_EINVAL, msg, NULL);
            return;
        }
        if (kh_period_last(month) >= kh_tz_day(c->tz, kh_time_now())) {
            snprintf(msg, sizeof msg,
                     "month %s has not ended yet (county time): nothing published",
                     q->month);
            reply_json(r, m, q->tag, KH_EINVAL, msg, NULL);
            return;
        }
        if ((rc = publish_start(r, month, q->actor, kh_zmsg_data(m, 0),
                                kh_zmsg_size(m, 0), q->tag)) != KH_OK)
            reply_json(r, m, q->tag, rc, "scorer unreachable", NULL);
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
    if ((rc = view_open(&v, r, year, as_of)) != KH_OK) {
        view_close(&v);
        goto done;
    }
    const kh_scorecard_t *card = NULL;
    char *text = NULL; /* an answer already rendered */
    switch (q->kind) {
    case KH_Q_STATUS: {
        char closed[16] = "";
        if (v.closed != KH_DAY_NONE)
            kh_day_format(v.closed, closed);
        doc = json_pack(
            "{s:I,s:s?,s:I,s:i}", "last_seq", (json_int_t)kh_store_last_seq(v.txn),
            "closed_through", v.closed != KH_DAY_NONE ? closed : NULL, "map_size",
            (json_int_t)kh_store_map_size(r->store), "stations", (int)c->nstations);
        if (doc)
            json_object_set_new(doc, "stale_months", stale_months(r));
        break;
    }
    case KH_Q_RANK:
        rc = query_rank(r, &v, &text);
        break;
    case KH_Q_STATION:
        if ((rc = view_score(&v, st, &card)) == KH_OK)
            doc = kh_render_station_json(c, r->svc.catalog, card);
        break;
    case KH_Q_EXPLAIN:
        if ((rc = view_score_ex(&v, st, true, &card)) == KH_OK)
            doc = kh_render_explain_json(c, r->svc.catalog, card, (size_t)item);
        break;
    case KH_Q_URBAN: {
        kh_urban_row_t *rows = calloc(c->nstations, sizeof *rows);
        if (!rows || (rc = view_urban(&v)) != KH_OK) {
            rc = rc ? rc : KH_ENOMEM;
            free(rows);
            break;
        }
        size_t n =
            kh_score_urban_month(c, r->svc.catalog, &v.urban, month.index + 1, rows);
        bool closed = v.closed != KH_DAY_NONE && kh_period_last(month) <= v.closed;
        doc = kh_render_urban_json(c, q->month, closed, rows, n);
        free(rows);
        break;
    }
    default:
        rc = KH_EINVAL;
        break;
    }
    view_close(&v);
done:
    if (rc == KH_OK && !doc && !text)
        rc = KH_ENOMEM;
    if (rc != KH_OK) {
        kh_log(KH_LOG_ERROR, "query failed", "cause", kh_strerror(rc), (char *)NULL);
        snprintf(msg, sizeof msg, "query failed: %s", kh_strerror(rc));
        json_decref(doc);
        doc = NULL;
        free(text);
        text = NULL;
    }
    if (text) {
        send_reply(r, kh_zmsg_data(m, 0), kh_zmsg_size(m, 0), q->tag, KH_OK, NULL, text);
        free(text);
        return;
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
        } else if (kh_codec_query_decode(kh_zmsg_data(&m, 1), kh_zmsg_size(&m, 1), &q) !=
                   KH_OK) {
            kh_log(KH_LOG_WARN, "undecodable query", (char *)NULL);
            reply_json(r, &m, 0, KH_EPROTO, "undecodable query", NULL);
        } else {
            uint64_t t0 = uv_hrtime();
            handle_query(r, &m, &q);
            if (q.kind > 0 && q.kind < NKINDS) {
                kh_counter_inc(r->m.queries[q.kind]);
                if (r->m.seconds[q.kind])
                    kh_histogram_observe(r->m.seconds[q.kind],
                                         (double)(uv_hrtime() - t0) / 1e9);
            }
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
        if (m.n != 1 || kh_codec_sreply_decode(kh_zmsg_data(&m, 0), kh_zmsg_size(&m, 0),
                                               &rep) != KH_OK) {
            kh_log(KH_LOG_WARN, "undecodable scorer reply", (char *)NULL);
            kh_zmsg_close(&m);
            continue;
        }
        kh_zmsg_close(&m);
        pending_t **pp = &r->ops;
        while (*pp && (*pp)->tag != rep.tag)
            pp = &(*pp)->next;
        if (!*pp)
            continue;
        pending_t *p = *pp;
        *pp = p->next;
        p->next = NULL;
        if (p->kind == OP_PUB_STORE) {
            publish_done(r, p, &rep);
            continue;
        }
        char day[16] = "", through[16];
        if (rep.closed_through != KH_DAY_NONE)
            kh_day_format(rep.closed_through, day);
        kh_day_format(p->through, through);
        bool ok = rep.outcome.status == KH_STATUS_ACCEPTED;
        kh_log(ok ? KH_LOG_INFO : KH_LOG_ERROR, ok ? "periods closed" : "close failed",
               "through", through, "closed_through", day, "by",
               p->ident_len ? "command" : "auto_close", (char *)NULL);
        if (ok && p->kind == OP_PUB_CLOSE) {
            publish_freeze(r, p);
            continue;
        }
        pending_answer(r, p, ok ? KH_OK : KH_ESTORE, ok ? NULL : rep.outcome.reason,
                       ok ? json_pack("{s:s}", "closed_through", day) : NULL);
        pending_free(p);
    }
    kh_zwatch_kick(r->wrouter);
}

/* True while a request of a kind for that day/month is on its way. */
static bool pending_has(ranker_t *r, op_kind_t kind, kh_day_t through)
{
    for (pending_t *p = r->ops; p; p = p->next)
        if ((p->kind == kind || (kind == OP_PUB_CLOSE && p->kind == OP_PUB_STORE)) &&
            p->through >= through)
            return true;
    return false;
}

struct first_ev {
    kh_day_t day;
    const kh_tz_t *tz;
};

static int first_event_cb(uint64_t seq, const uint8_t *pb, size_t len, void *arg)
{
    struct first_ev *fe = arg;
    kh_event_t ev;
    kh_event_init(&ev);
    if (kh_codec_event_decode(pb, len, &ev) == KH_OK)
        fe->day = kh_tz_day(fe->tz, ev.time);
    kh_event_clear(&ev);
    (void)seq;
    return 1; /* the first is enough */
}

/*
 * policy auto_close: close what grace_days has let pass, and publish the
 * first revision of every month of this year and the last whose end plus
 * grace_days has passed (from the month of the first event on).
 */
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
    /* the first journaled event's day bounds what is worth publishing */
    struct first_ev fe = {KH_DAY_NONE, c->tz};
    kh_store_journal_each(txn, 1, first_event_cb, &fe);
    kh_day_t first = fe.day;
    if ((closed == KH_DAY_NONE || closed < through) &&
        !pending_has(r, OP_CLOSE, through)) {
        pending_t *p = pending_new(r, OP_CLOSE, NULL, 0, 0);
        if (p) {
            p->through = through;
            send_close(r, p);
        }
    }
    int ty;
    kh_day_to_civil(today, &ty, NULL, NULL);
    for (int y = ty - 1; first != KH_DAY_NONE && y <= ty; y++) {
        for (int mi = 0; mi < 12; mi++) {
            kh_period_t m = kh_period_nth(KH_PK_MONTH, y, mi);
            kh_day_t end = kh_period_last(m);
            if (end > through || end < first)
                continue;
            if (kh_store_snap_latest_rev(txn, month_key(m)) > 0)
                continue;
            /* One automatic publication at a time, oldest month first, so
             * the chain runs in calendar order; the next starts when this
             * one is done (publish_done calls back here). */
            if (!pending_has(r, OP_PUB_CLOSE, KH_DAY_NONE + 1))
                publish_start(r, m, "auto_publish", NULL, 0, 0);
            y = ty + 1;
            break;
        }
    }
    kh_txn_abort(&txn);
}

/* The scorer committed a batch: with auto_close, events may have made a
 * month worth publishing (or the first events arrived), so look now rather
 * than at the next tick. */
static void on_committed(void *zsock, void *arg)
{
    ranker_t *r = arg;
    bool any = false;
    for (int i = 0; i < BUDGET; i++) {
        kh_zmsg_t m;
        if (kh_zmsg_recv(zsock, &m) != KH_OK)
            break;
        kh_committed_t c;
        if (m.n == 1 && !m.truncated &&
            kh_codec_committed_decode(kh_zmsg_data(&m, 0), kh_zmsg_size(&m, 0), &c) ==
                KH_OK) {
            /* Batches are numbered from 1 by each scorer process: a jump
             * means notices were dropped at the high-water mark while we
             * were slow (harmless: queries read the store, and the next
             * notice still wakes auto-close); a smaller number a new
             * scorer. */
            if (r->last_batch && c.batch > r->last_batch + 1) {
                char n[24];
                snprintf(n, sizeof n, "%llu",
                         (unsigned long long)(c.batch - r->last_batch - 1));
                r->lost_notices += c.batch - r->last_batch - 1;
                kh_log(KH_LOG_WARN, "commit notices lost (slow subscriber)", "count", n,
                       (char *)NULL);
            }
            {
                char b[24];
                snprintf(b, sizeof b, "%llu", (unsigned long long)c.batch);
                kh_log(KH_LOG_DEBUG, "commit notice", "batch", b, (char *)NULL);
            }
            r->last_batch = c.batch;
            kh_counter_inc(r->m.notices);
            kh_codec_committed_free(&c);
        }
        kh_zmsg_close(&m);
        any = true;
    }
    if (any && r->svc.county->auto_close)
        on_timer(&r->timer);
}

/* Before each metrics write. */
static void on_metrics(kh_service_t *svc)
{
    ranker_t *r = svc->data;
    r->m.lost->value = r->lost_notices;
    if (r->index) {
        kh_gauge_set(r->m.index_events, (double)kh_index_through(r->index));
        kh_gauge_set(r->m.index_bytes, (double)kh_index_bytes(r->index));
        r->m.skipped->value = kh_index_skipped(r->index);
    }
}

static void metrics_register(ranker_t *r)
{
    kh_metrics_t *m = r->svc.metrics;
    static const double secs[] = KH_METRICS_SECONDS;
    for (int k = 1; k < NKINDS; k++) {
        char l[48];
        snprintf(l, sizeof l, "kind=\"%s\"", kind_names[k]);
        r->m.queries[k] = kh_metrics_counter(m, "ranker_queries_total",
                                             "Queries answered, by kind.", l);
    }
    /* Closes and publications are answered later, through the scorer:
     * only the queries that read are timed. */
    for (int k = 1; k < NKINDS; k++) {
        if (k == KH_Q_PING || k == KH_Q_CLOSE || k == KH_Q_PUBLISH)
            continue;
        char l[48];
        snprintf(l, sizeof l, "kind=\"%s\"", kind_names[k]);
        r->m.seconds[k] =
            kh_metrics_histogram(m, "ranker_query_duration_seconds",
                                 "Time to answer a query that reads the store, by kind.",
                                 l, secs, sizeof secs / sizeof *secs);
    }
    static const char hits[] = "Live queries answered from a cache, by cache: a "
                               "station's scorecard, or the ranking's text.";
    static const char misses[] = "Live queries that had to compute, by cache: a "
                                 "station's scorecard, or the ranking's text.";
    r->m.card_hits =
        kh_metrics_counter(m, "ranker_cache_hits_total", hits, "cache=\"scorecard\"");
    r->m.rank_hits =
        kh_metrics_counter(m, "ranker_cache_hits_total", hits, "cache=\"ranking\"");
    r->m.card_misses =
        kh_metrics_counter(m, "ranker_cache_misses_total", misses, "cache=\"scorecard\"");
    r->m.rank_misses =
        kh_metrics_counter(m, "ranker_cache_misses_total", misses, "cache=\"ranking\"");
    r->m.notices = kh_metrics_counter(m, "ranker_commit_notices_total",
                                      "Commit notices received from the scorer.", NULL);
    r->m.lost = kh_metrics_counter(
        m, "ranker_commit_notices_lost_total",
        "Commit notices the scorer sent that never arrived (subscriber gaps: dropped "
        "at the high-water mark while the ranker was slow).",
        NULL);
    r->m.published = kh_metrics_counter(m, "ranker_snapshots_published_total",
                                        "Month-end snapshot revisions published.", NULL);
    r->m.index_events = kh_metrics_gauge(
        m, "ranker_index_events",
        "Journal entries the in-memory station/case index covers (it catches up with "
        "the journal at each query).",
        NULL);
    r->m.index_bytes = kh_metrics_gauge(m, "ranker_index_bytes",
                                        "Memory the station/case index holds.", NULL);
    r->m.skipped = kh_metrics_counter(
        m, "ranker_index_skipped_total",
        "Journal entries the ranker could not decode, left out of every score.", NULL);
    r->svc.on_metrics = on_metrics;
}

static void on_stop(kh_service_t *svc)
{
    ranker_t *r = svc->data;
    kh_zwatch_stop(&r->wcommitted);
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
    if (rc) {
        kh_service_fini(&r.svc); /* whatever init loaded before failing */
        return rc;
    }
    r.svc.data = &r;
    r.svc.on_stop = on_stop;
    char path[PATH_MAX];
    kh_path(path, sizeof path, r.svc.dir, NULL, "store", NULL);
    kh_store_opts_t o = {.dir = path, .readonly = true};
    if ((rc = kh_store_open(&r.store, &o)) != KH_OK) {
        kh_log(KH_LOG_ERROR, "cannot open store (is the scorer up?)", "path", path,
               "cause", kh_strerror(rc), (char *)NULL);
        kh_service_fini(&r.svc);
        return 1;
    }
    metrics_register(&r);
    /* the index of the journal so far, built now rather than by the first
     * query */
    kh_txn_t *txn;
    uint64_t t0 = uv_hrtime();
    if (kh_txn_begin(r.store, false, &txn) == KH_OK) {
        if (index_update(&r, txn) == KH_OK) {
            char n[24], ms[24];
            snprintf(n, sizeof n, "%llu", (unsigned long long)kh_index_through(r.index));
            snprintf(ms, sizeof ms, "%.1f", (double)(uv_hrtime() - t0) / 1e6);
            kh_log(KH_LOG_INFO, "journal indexed", "events", n, "ms", ms, (char *)NULL);
        }
        kh_txn_abort(&txn);
    }
    r.rank_text = kh_render_rank_text_new(r.svc.county, r.svc.catalog);
    r.cache = calloc(r.svc.county->nstations, sizeof *r.cache);
    if (!r.cache) {
        kh_log(KH_LOG_ERROR, "out of memory", (char *)NULL);
        kh_store_close(&r.store);
        kh_service_fini(&r.svc);
        return 1;
    }
    r.router = kh_service_socket(&r.svc, ZMQ_ROUTER, "ranker", true);
    r.scorer = kh_service_socket(&r.svc, ZMQ_DEALER, "scorer", false);
    r.pub = kh_service_socket(&r.svc, ZMQ_PUB, "snapshots", true);
    r.committed = kh_service_socket(&r.svc, ZMQ_SUB, "scorer-pub", false);
    if (r.committed)
        zmq_setsockopt(r.committed, ZMQ_SUBSCRIBE, "", 0);
    if (!r.router || !r.scorer || !r.pub || !r.committed ||
        kh_zwatch_start(r.svc.loop, r.committed, on_committed, &r, &r.wcommitted) ||
        kh_zwatch_start(r.svc.loop, r.router, on_router, &r, &r.wrouter) ||
        kh_zwatch_start(r.svc.loop, r.scorer, on_scorer, &r, &r.wscorer)) {
        /* sockets may be open, so no kh_service_fini (zmq_ctx_term would
         * wait for them): the process ends here anyway */
        kh_log(KH_LOG_ERROR, "cannot start", (char *)NULL);
        return 1;
    }
    uv_timer_init(r.svc.loop, &r.timer);
    r.timer.data = &r;
    uv_timer_start(&r.timer, on_timer, 0, AUTO_CLOSE_MS);
    rc = kh_service_run(&r.svc);
    zmq_close(r.router);
    zmq_close(r.scorer);
    zmq_close(r.pub);
    zmq_close(r.committed);
    while (r.ops) {
        pending_t *p = r.ops;
        r.ops = p->next;
        pending_free(p);
    }
    for (size_t i = 0; i < r.svc.county->nstations; i++)
        kh_scorecard_free(&r.cache[i].card);
    free(r.cache);
    free(r.rank.text);
    kh_index_free(&r.index);
    kh_render_rank_text_free(&r.rank_text);
    kh_store_close(&r.store);
    kh_service_fini(&r.svc);
    return rc;
}
