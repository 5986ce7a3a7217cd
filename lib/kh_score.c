/*
 * kh_score.c - the scoring engine: one station's year from its events and
 * the rule catalog (SPEC sections 3-5).
 *
 * Design. kh_score_station() is a pure function of the set of events, the
 * catalog, the county and the dates in its input. It runs in three steps:
 *
 *   1. Select. The input is de-duplicated by (source, id) and sorted by a
 *      total order, so arrival order cannot matter. Then the winners are
 *      picked where several events describe one thing: a case's call and
 *      legal review (highest rev, then latest time, then greatest id), a
 *      place per place_id, a patrol per patrol_id (its latest report dates
 *      it), an occupancy per (place, month), a patrol plan per quarter, a
 *      rate per (metric, year), a self-score per (item, year): the latest
 *      by (time, id). The as_of cut drops every event whose effect is dated
 *      after it before the winners are picked (an occupancy is dated by its
 *      month, a plan by its quarter, a legal review by its case's call).
 *   2. Evaluate. Every rule of every item is evaluated by the function of
 *      its kind (see kh_catalog.h); no code here knows a rule id. A rule
 *      emits explain entries: a deduction or bonus caused by one event
 *      (call, review, finding) is final at once; a shortfall against a
 *      required count or rate is final when its period is closed (last day
 *      <= closed_through), pending when the period is open and has begun
 *      (first day <= today), and nothing otherwise.
 *   3. Sum. An item's deducted, bonus and pending are the sums of its
 *      entries, so the explain entries add up to the scorecard by
 *      construction: sum of final points = bonus - deducted, sum of pending
 *      points = -pending. Sections are max(0, max - deducted) (扣完为止);
 *      the bonus is capped by policy bonus_cap; total = sections + bonus.
 *
 * All amounts are int64 milli-points. Periods are civil dates in the
 * county's zone (kh_tz_day). Memory errors are kept in the context (the
 * first one wins, later steps are no-ops) and reported once at the end.
 */
#include "kh_score.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_error.h"

/* ------------------------------------------------------------------ */
/* selected events                                                      */
/* ------------------------------------------------------------------ */

/* An event with the day its effect is dated and its grouping key. */
typedef struct dated {
    const kh_event_t *ev;
    kh_day_t day;
    const char *key; /* string part of the grouping key, "" when none */
    int64_t k1;      /* numeric part (a call's rev is an order, not a key) */
} dated_t;

typedef struct vec {
    dated_t *v;
    size_t n, cap;
} vec_t;

/* A case: its winning call (live, this station's) and winning review
 * (NULL when none or revoked). */
typedef struct kase {
    const kh_event_t *call;
    const kh_event_t *review;
    kh_day_t day; /* the call's date: the case's date */
} kase_t;

/* An explain entry being built, with its period's days for sorting. */
typedef struct ent {
    kh_entry_t e;
    kh_day_t first, last;
} ent_t;

typedef struct ibuild {
    ent_t *v;
    size_t n, cap;
} ibuild_t;

/* Event ids behind an entry (borrowed from the events). */
typedef struct ids {
    const char **v;
    size_t n, cap;
} ids_t;

typedef struct ctx {
    const kh_score_input_t *in;
    const kh_county_t *county;
    const kh_catalog_t *cat;
    const kh_station_t *st;
    int urban; /* 0 or 1, the by-station table row */
    int klass; /* 1..3 */
    int year;
    kh_day_t year_first, year_last;
    kh_day_t closed; /* closed_through, cut at as_of */
    kh_day_t today;  /* min(today, as_of) */
    kh_day_t as_of;
    const kh_event_t **uniq; /* the de-duplicated input */
    size_t nuniq;
    vec_t own[KH_EV_COUNT]; /* this station's events (winners where the
                               type has them), by (day, time, id) */
    vec_t calls, reviews;   /* winners per case_id, by case_id */
    kase_t *cases;
    size_t ncases;
    int err; /* the first error; later steps are no-ops */
} ctx_t;

static int year_of(kh_day_t d)
{
    int y;
    kh_day_to_civil(d, &y, NULL, NULL);
    return y;
}

static int vec_push(ctx_t *c, vec_t *v, dated_t d)
{
    if (c->err)
        return c->err;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        dated_t *nv = realloc(v->v, cap * sizeof *nv);
        if (!nv)
            return c->err = KH_ENOMEM;
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = d;
    return KH_OK;
}

static void vec_free(vec_t *v)
{
    free(v->v);
    memset(v, 0, sizeof *v);
}

static int ids_push(ctx_t *c, ids_t *ids, const char *id)
{
    if (c->err)
        return c->err;
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 8;
        const char **nv = realloc(ids->v, cap * sizeof *nv);
        if (!nv)
            return c->err = KH_ENOMEM;
        ids->v = nv;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return KH_OK;
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* (time, id, source): the SPEC's "latest by time, then id" order, with
 * the source to break a tie between two sources' equal ids. */
static int cmp_time_id(const kh_event_t *a, const kh_event_t *b)
{
    int r = cmp_i64(a->time, b->time);
    if (!r)
        r = strcmp(a->id, b->id);
    if (!r)
        r = cmp_i64(a->source, b->source);
    return r;
}

/* A total order on events: (source, id) first, so that duplicates are
 * adjacent, then enough content to order conflicting copies the same way
 * whatever the input order. */
static int cmp_event_total(const void *pa, const void *pb)
{
    const kh_event_t *a = *(const kh_event_t *const *)pa;
    const kh_event_t *b = *(const kh_event_t *const *)pb;
    int r = cmp_i64(a->source, b->source);
    if (!r)
        r = strcmp(a->id, b->id);
    if (!r)
        r = cmp_i64(a->time, b->time);
    if (!r)
        r = cmp_i64(a->type, b->type);
    if (!r)
        r = strcmp(a->station, b->station);
    if (!r)
        r = strcmp(a->case_id, b->case_id);
    if (!r)
        r = cmp_i64(a->rev, b->rev);
    if (!r)
        r = strcmp(a->place_id, b->place_id);
    if (!r)
        r = strcmp(a->patrol_id, b->patrol_id);
    if (!r)
        r = strcmp(a->item, b->item);
    if (!r)
        r = strcmp(a->defect, b->defect);
    if (!r)
        r = cmp_i64(a->points, b->points);
    if (!r)
        r = cmp_i64(a->rate, b->rate);
    return r;
}

/* Order for picking winners: by key, then k1, then (time, id). */
static int cmp_keyed(const void *pa, const void *pb)
{
    const dated_t *a = pa, *b = pb;
    int r = cmp_str(a->key, b->key);
    if (!r)
        r = cmp_i64(a->k1, b->k1);
    if (!r)
        r = cmp_time_id(a->ev, b->ev);
    return r;
}

/* Order for output: by day, then (time, id). */
static int cmp_dated(const void *pa, const void *pb)
{
    const dated_t *a = pa, *b = pb;
    int r = cmp_i64(a->day, b->day);
    if (!r)
        r = cmp_time_id(a->ev, b->ev);
    return r;
}

/*
 * Keeps the last of each group of v sorted by cmp_keyed: the winner. A
 * group is one key, and one k1 too when by_k1. (Calls and reviews group
 * by case only: their k1 is the rev, which orders before time.)
 */
static void keep_winners(vec_t *v, bool by_k1)
{
    if (v->n == 0)
        return;
    qsort(v->v, v->n, sizeof *v->v, cmp_keyed);
    size_t out = 0;
    for (size_t i = 0; i < v->n; i++) {
        bool last = i + 1 == v->n || cmp_str(v->v[i].key, v->v[i + 1].key) != 0 ||
                    (by_k1 && v->v[i].k1 != v->v[i + 1].k1);
        if (last)
            v->v[out++] = v->v[i];
    }
    v->n = out;
}

/* The winner for a case id in a vec of per-case winners, or NULL. */
static const dated_t *find_key(const vec_t *v, const char *key)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_str(v->v[mid].key, key);
        if (r == 0)
            return &v->v[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Step 1: de-duplicate, cut at as_of, sort into the context and pick the
 * winners. */
static void select_events(ctx_t *c)
{
    const kh_score_input_t *in = c->in;
    if (in->nevents == 0)
        return;
    c->uniq = malloc(in->nevents * sizeof *c->uniq);
    if (!c->uniq) {
        c->err = KH_ENOMEM;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < in->nevents; i++)
        if (in->events[i])
            c->uniq[n++] = in->events[i];
    qsort(c->uniq, n, sizeof *c->uniq, cmp_event_total);
    /* one event per (source, id): the greatest copy in the total order */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n || c->uniq[i]->source != c->uniq[i + 1]->source ||
                    strcmp(c->uniq[i]->id, c->uniq[i + 1]->id) != 0;
        if (last)
            c->uniq[m++] = c->uniq[i];
    }
    c->nuniq = m;

    const kh_tz_t *tz = c->county->tz;
    for (size_t i = 0; i < c->nuniq && !c->err; i++) {
        const kh_event_t *ev = c->uniq[i];
        if ((int)ev->type < 0 || ev->type >= KH_EV_COUNT)
            continue;
        dated_t d = {ev, kh_tz_day(tz, ev->time), "", 0};
        if (ev->type == KH_EV_CALL) {
            if (c->as_of != KH_DAY_NONE && d.day > c->as_of)
                continue;
            d.key = ev->case_id;
            d.k1 = ev->rev;
            vec_push(c, &c->calls, d);
            continue;
        }
        if (ev->type == KH_EV_LEGAL_REVIEW) {
            /* dated by its case's call, whatever its own time: not cut */
            d.key = ev->case_id;
            d.k1 = ev->rev;
            vec_push(c, &c->reviews, d);
            continue;
        }
        if (strcmp(ev->station, c->st->code) != 0)
            continue;
        switch (ev->type) {
        case KH_EV_PLACE:
            d.key = ev->place_id;
            break;
        case KH_EV_PATROL:
            d.key = ev->patrol_id;
            break;
        case KH_EV_OCCUPANCY:
            d.day = kh_period_first(ev->month);
            d.key = ev->place_id;
            d.k1 = (int64_t)ev->month.year * 100 + ev->month.index;
            break;
        case KH_EV_PATROL_PLAN:
            d.day = kh_period_first(ev->quarter);
            d.k1 = (int64_t)ev->quarter.year * 100 + ev->quarter.index;
            break;
        case KH_EV_RATE:
            d.k1 = (int64_t)ev->metric * 100000 + year_of(d.day);
            break;
        case KH_EV_SELF_SCORE:
            d.key = ev->item;
            d.k1 = year_of(d.day);
            break;
        default:
            break;
        }
        if (c->as_of != KH_DAY_NONE && d.day > c->as_of)
            continue;
        vec_push(c, &c->own[ev->type], d);
    }
    if (c->err)
        return;

    static const kh_evtype_t with_winners[] = {KH_EV_PLACE,     KH_EV_PATROL,
                                               KH_EV_OCCUPANCY, KH_EV_PATROL_PLAN,
                                               KH_EV_RATE,      KH_EV_SELF_SCORE};
    for (size_t i = 0; i < sizeof with_winners / sizeof *with_winners; i++)
        keep_winners(&c->own[with_winners[i]], true);
    for (int t = 0; t < KH_EV_COUNT; t++)
        if (c->own[t].n)
            qsort(c->own[t].v, c->own[t].n, sizeof *c->own[t].v, cmp_dated);

    keep_winners(&c->calls, false);
    keep_winners(&c->reviews, false);
    if (c->calls.n) {
        c->cases = calloc(c->calls.n, sizeof *c->cases);
        if (!c->cases) {
            c->err = KH_ENOMEM;
            return;
        }
    }
    for (size_t i = 0; i < c->calls.n; i++) {
        const kh_event_t *call = c->calls.v[i].ev;
        if (call->void_ || strcmp(call->station, c->st->code) != 0)
            continue; /* withdrawn, or the case belongs elsewhere */
        const dated_t *r = find_key(&c->reviews, call->case_id);
        kase_t *k = &c->cases[c->ncases++];
        k->call = call;
        k->day = c->calls.v[i].day;
        k->review = (r && r->ev->outcome != KH_OUT_REVOKED) ? r->ev : NULL;
    }
}

/* ------------------------------------------------------------------ */
/* counted events                                                       */
/* ------------------------------------------------------------------ */

/* True when an event is one the match counts for this station. */
static bool counted(const ctx_t *c, const kh_match_t *m, const kh_event_t *ev)
{
    if (ev->type != m->event)
        return false;
    if (m->kind >= 0) {
        if (ev->type == KH_EV_PATROL && (int)ev->patrol_kind != m->kind)
            return false;
        if (ev->type == KH_EV_INSPECTION && (int)ev->inspection_kind != m->kind)
            return false;
    }
    unsigned req = m->require.of[c->urban][c->klass];
    if ((req & KH_FLAG_HAS_RECORD) && !ev->has_record)
        return false;
    if ((req & KH_FLAG_HAS_IMAGES) && !ev->has_images)
        return false;
    if ((req & KH_FLAG_IN_PLATFORM) && !ev->in_platform)
        return false;
    if ((req & KH_FLAG_POSTED) && !ev->posted)
        return false;
    return true;
}

/* The counted events of the assessment year, by (day, time, id). */
static void collect(ctx_t *c, const kh_match_t *m, vec_t *out)
{
    if ((int)m->event < 0 || m->event >= KH_EV_COUNT)
        return;
    const vec_t *src = &c->own[m->event];
    for (size_t i = 0; i < src->n && !c->err; i++) {
        const dated_t *d = &src->v[i];
        if (d->day >= c->year_first && d->day <= c->year_last && counted(c, m, d->ev))
            vec_push(c, out, *d);
    }
}

/* Events of v (sorted by day) within [first, last]: their number, ids
 * pushed to ids when not NULL, and whether any has images. */
static int in_range(ctx_t *c, const vec_t *v, kh_day_t first, kh_day_t last, ids_t *ids,
                    bool *any_images)
{
    int n = 0;
    if (any_images)
        *any_images = false;
    for (size_t i = 0; i < v->n; i++) {
        if (v->v[i].day < first || v->v[i].day > last)
            continue;
        n++;
        if (ids)
            ids_push(c, ids, v->v[i].ev->id);
        if (any_images && v->v[i].ev->has_images)
            *any_images = true;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* entries                                                              */
/* ------------------------------------------------------------------ */

typedef enum { ST_NONE, ST_PENDING, ST_FINAL } pstate_t;

/* A shortfall's fate: final when its period is closed, pending when open
 * and begun, nothing before it begins. */
static pstate_t period_state(const ctx_t *c, kh_period_t p)
{
    if (c->closed != KH_DAY_NONE && kh_period_last(p) <= c->closed)
        return ST_FINAL;
    if (c->today != KH_DAY_NONE && kh_period_first(p) <= c->today)
        return ST_PENDING;
    return ST_NONE;
}

/* Two decimals ("2.00"), into one of a few rotating buffers so that a
 * sentence can hold several. */
static const char *amt(kh_milli_t v)
{
    static _Thread_local char bufs[8][32];
    static _Thread_local unsigned next;
    char *b = bufs[next++ % 8];
    return kh_milli_format2(v, b);
}

/* Adds an entry: signed points, pending or final, its period, the ids
 * behind it (copied) and a sentence. Zero points add nothing. */
__attribute__((format(printf, 7, 8))) static void
add_entry(ctx_t *c, ibuild_t *ib, kh_milli_t points, bool pending, kh_period_t p,
          const ids_t *ids, const char *fmt, ...)
{
    if (c->err || points == 0)
        return;
    if (ib->n == ib->cap) {
        size_t cap = ib->cap ? ib->cap * 2 : 8;
        ent_t *nv = realloc(ib->v, cap * sizeof *nv);
        if (!nv) {
            c->err = KH_ENOMEM;
            return;
        }
        ib->v = nv;
        ib->cap = cap;
    }
    ent_t *e = &ib->v[ib->n];
    memset(e, 0, sizeof *e);
    e->first = kh_period_first(p);
    e->last = kh_period_last(p);
    e->e.points = points;
    e->e.pending = pending;
    kh_period_format(p, e->e.period);

    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    e->e.why = strdup(tmp);
    size_t nids = ids ? ids->n : 0;
    e->e.events = calloc(nids ? nids : 1, sizeof *e->e.events);
    if (!e->e.why || !e->e.events) {
        free(e->e.why);
        free(e->e.events);
        c->err = KH_ENOMEM;
        return;
    }
    ib->n++; /* owned from here: freed with the item */
    for (size_t i = 0; i < nids; i++) {
        e->e.events[i] = strdup(ids->v[i]);
        if (!e->e.events[i]) {
            c->err = KH_ENOMEM;
            return;
        }
        e->e.nevents = i + 1;
    }
}

/* A shortfall in period p: final, pending or nothing (period_state). */
#define SHORTFALL(c, ib, st, pts, p, ids, ...)                                           \
    do {                                                                                 \
        if ((st) != ST_NONE)                                                             \
            add_entry((c), (ib), -(pts), (st) == ST_PENDING, (p), (ids), __VA_ARGS__);   \
    } while (0)

static void entry_free(kh_entry_t *e)
{
    for (size_t i = 0; e->events && i < e->nevents; i++)
        free(e->events[i]);
    free(e->events);
    free(e->why);
}

static int cmp_ent(const void *pa, const void *pb)
{
    /* by period: the one that ends (is decided) first, then the longer */
    const ent_t *a = pa, *b = pb;
    int r = cmp_i64(a->last, b->last);
    if (!r)
        r = cmp_i64(a->first, b->first);
    if (!r)
        r = strcmp(a->e.why, b->e.why);
    if (!r)
        r = cmp_i64(a->e.points, b->e.points);
    if (!r)
        r = cmp_i64(a->e.pending, b->e.pending);
    for (size_t i = 0; !r && i < a->e.nevents && i < b->e.nevents; i++)
        r = strcmp(a->e.events[i], b->e.events[i]);
    if (!r)
        r = cmp_i64((int64_t)a->e.nevents, (int64_t)b->e.nevents);
    return r;
}

static const char *period_str(kh_period_t p, char *buf)
{
    return kh_period_format(p, buf);
}

static const char *day_str(kh_day_t d, char *buf)
{
    return kh_day_format(d, buf);
}

/* ", urban" for an urban station, for the "(class N, urban)" notes. */
static const char *urban_note(const ctx_t *c)
{
    return c->urban ? ", urban" : "";
}

/* ------------------------------------------------------------------ */
/* rule kinds                                                           */
/* ------------------------------------------------------------------ */

/* finding: each finding of the item's defects, at once. A finding that
 * names a place counts once per (defect, place) a year, the earliest,
 * unless its defect counts each time. */
static void eval_finding(ctx_t *c, const kh_item_t *it, ibuild_t *ib)
{
    const vec_t *f = &c->own[KH_EV_FINDING];
    vec_t seen = {0};
    kh_period_t year = kh_period_nth(KH_PK_YEAR, c->year, 0);
    for (size_t i = 0; i < f->n && !c->err; i++) {
        const kh_event_t *ev = f->v[i].ev;
        if (f->v[i].day < c->year_first || f->v[i].day > c->year_last ||
            strcmp(ev->item, it->id) != 0)
            continue;
        const kh_defect_t *d = NULL;
        for (size_t k = 0; k < it->ndefects && !d; k++)
            if (strcmp(it->defects[k].code, ev->defect) == 0)
                d = &it->defects[k];
        if (!d)
            continue; /* not a defect of this item: refused at ingest */
        if (ev->place_id[0] && !d->each_time) {
            bool dup = false;
            for (size_t k = 0; k < seen.n && !dup; k++)
                dup = strcmp(seen.v[k].ev->defect, ev->defect) == 0 &&
                      strcmp(seen.v[k].ev->place_id, ev->place_id) == 0;
            if (dup)
                continue;
            vec_push(c, &seen, f->v[i]);
        }
        kh_milli_t pts;
        int32_t count = ev->count > 0 ? ev->count : 1;
        if (d->ranged) {
            pts = ev->has_points ? ev->points : d->min;
            if (pts < d->min)
                pts = d->min;
            if (pts > d->max)
                pts = d->max;
            count = 1;
        } else {
            pts = d->fixed * count;
        }
        ids_t ids = {0};
        ids_push(c, &ids, ev->id);
        char day[16];
        char where[KH_ID_MAX + 16] = "";
        if (ev->place_id[0])
            snprintf(where, sizeof where, " at place %s", ev->place_id);
        char times[48] = "";
        if (!d->ranged && count > 1)
            snprintf(times, sizeof times, " × %d (%s each)", (int)count, amt(d->fixed));
        add_entry(c, ib, -pts, false, year, &ids, "%s: finding %s%s%s%s%s%s; %s",
                  day_str(f->v[i].day, day), ev->defect, where, times,
                  ev->note ? " (" : "", ev->note ? ev->note : "", ev->note ? ")" : "",
                  amt(pts));
        free(ids.v);
    }
    vec_free(&seen);
}

/* case: each live case of this station in the year of some kinds at some
 * locations: a deduction at once, waived when caught in the act if the
 * rule says so; bonuses for the review's outcome. Dated by the call's
 * month. */
static void eval_case(ctx_t *c, const kh_rule_t *r, ibuild_t *ib)
{
    for (size_t i = 0; i < c->ncases && !c->err; i++) {
        const kase_t *k = &c->cases[i];
        const kh_event_t *call = k->call;
        if (k->day < c->year_first || k->day > c->year_last)
            continue;
        if ((int)call->case_kind < 0 || call->case_kind >= KH_CASE_COUNT ||
            (int)call->location < 0 || call->location >= KH_LOC_COUNT)
            continue;
        bool kind_ok = r->case_kinds_policy ? c->county->three_class[call->case_kind]
                                            : r->case_kinds[call->case_kind];
        if (!kind_ok || !r->locations[call->location])
            continue;
        const kh_event_t *rv = k->review;
        bool in_act = rv && rv->outcome == KH_OUT_CAUGHT_IN_ACT;
        /* The events behind each entry are the ones that cause it: the
         * call its deduction, the review its suspects bonus, and both the
         * caught-in-the-act bonus, which also stands for the call's waived
         * deduction. So an item's entries name each event once. */
        ids_t call_ids = {0}, review_ids = {0}, both_ids = {0};
        ids_push(c, &call_ids, call->id);
        ids_push(c, &both_ids, call->id);
        if (rv) {
            ids_push(c, &review_ids, rv->id);
            ids_push(c, &both_ids, rv->id);
        }
        kh_period_t month = kh_period_of(KH_PK_MONTH, k->day);
        char day[16], head[256];
        snprintf(head, sizeof head, "case %s (%s at %s, %s)", call->case_id,
                 kh_case_kind_name(call->case_kind), kh_location_name(call->location),
                 day_str(k->day, day));
        if (!(in_act && r->in_act_waives))
            add_entry(c, ib, -r->points, false, month, &call_ids, "%s: %s; %s", head,
                      r->what, amt(r->points));
        if (in_act)
            add_entry(c, ib, r->in_act_bonus, false, month, &both_ids,
                      "%s caught in the act (现行)%s; bonus %s", head,
                      r->in_act_waives ? ": no deduction" : "", amt(r->in_act_bonus));
        if (rv && rv->outcome == KH_OUT_SUSPECTS_ARRESTED && rv->suspects > 0)
            add_entry(c, ib, r->suspect_bonus * rv->suspects, false, month, &review_ids,
                      "%s: %d suspects arrested × %s; bonus %s", head, (int)rv->suspects,
                      amt(r->suspect_bonus), amt(r->suspect_bonus * rv->suspects));
        free(call_ids.v);
        free(review_ids.v);
        free(both_ids.v);
    }
}

static int32_t required_of(const ctx_t *c, const kh_rule_t *r)
{
    if (r->required_policy)
        return c->county->required_patrols[c->klass];
    return r->required.of[c->urban][c->klass];
}

/* count_per_period: at least `required` counted events in each period,
 * points per missing one; optionally a period whose counted events all
 * lack images loses image_points. */
static void eval_count(ctx_t *c, const kh_rule_t *r, ibuild_t *ib)
{
    kh_period_kind_t kind = r->period.of[c->urban][c->klass];
    int32_t need = required_of(c, r);
    vec_t got = {0};
    collect(c, &r->match, &got);
    for (int i = 0; i < kh_period_count(kind) && !c->err; i++) {
        kh_period_t p = kh_period_nth(kind, c->year, i);
        pstate_t st = period_state(c, p);
        if (st == ST_NONE)
            continue;
        ids_t ids = {0};
        bool images;
        int n = in_range(c, &got, kh_period_first(p), kh_period_last(p), &ids, &images);
        char ps[16];
        period_str(p, ps);
        if (n < need) {
            kh_milli_t pts = r->points * (need - n);
            SHORTFALL(c, ib, st, pts, p, &ids,
                      "%s: %d of %d required %s (class %d%s); %d missing × "
                      "%s = %s",
                      ps, n, (int)need, r->what, c->klass, urban_note(c), (int)(need - n),
                      amt(r->points), amt(pts));
        }
        if (r->image_points && n > 0 && !images)
            SHORTFALL(c, ib, st, r->image_points, p, &ids,
                      "%s: none of the %d counted %s has images; %s", ps, n, r->what,
                      amt(r->image_points));
        free(ids.v);
    }
    vec_free(&got);
}

/* every_subperiod: a period in which some sub-period (that has begun, or
 * any when the period is closed) had no counted event loses points once. */
static void eval_every(ctx_t *c, const kh_rule_t *r, ibuild_t *ib)
{
    kh_period_kind_t kind = r->period.of[c->urban][c->klass];
    vec_t got = {0};
    collect(c, &r->match, &got);
    for (int i = 0; i < kh_period_count(kind) && !c->err; i++) {
        kh_period_t p = kh_period_nth(kind, c->year, i);
        pstate_t st = period_state(c, p);
        if (st == ST_NONE)
            continue;
        kh_day_t first = kh_period_first(p), last = kh_period_last(p);
        char missing[400] = "";
        size_t used = 0;
        int nsub = 0, nmissing = 0;
        for (int j = 0; j < kh_period_count(r->subperiod); j++) {
            kh_period_t q = kh_period_nth(r->subperiod, c->year, j);
            kh_day_t qf = kh_period_first(q), ql = kh_period_last(q);
            if (qf < first || ql > last)
                continue;
            if (st == ST_PENDING && qf > c->today)
                continue; /* not begun: cannot have been missed yet */
            nsub++;
            if (in_range(c, &got, qf, ql, NULL, NULL) > 0)
                continue;
            nmissing++;
            char qs[16];
            int w = snprintf(missing + used, sizeof missing - used, "%s%s",
                             used ? ", " : "", period_str(q, qs));
            if (w > 0 && (size_t)w < sizeof missing - used)
                used += (size_t)w;
        }
        if (nmissing == 0)
            continue;
        ids_t ids = {0};
        in_range(c, &got, first, last, &ids, NULL);
        char ps[16];
        SHORTFALL(c, ib, st, r->points, p, &ids,
                  "%s: %s in %d of %d %ss (none in %s); %s once", period_str(p, ps),
                  r->what, nsub - nmissing, nsub, kh_period_kind_name(r->subperiod),
                  missing, amt(r->points));
        free(ids.v);
    }
    vec_free(&got);
}

/* A place is due in a period when it opened on or before the period's
 * first day and is not closed before its last day. */
static bool due(const kh_event_t *place, kh_day_t first, kh_day_t last)
{
    if (place->opened == KH_DAY_NONE || place->opened > first)
        return false;
    return place->closed == KH_DAY_NONE || place->closed >= last;
}

static int cmp_by_key_day(const void *pa, const void *pb)
{
    const dated_t *a = pa, *b = pb;
    int r = cmp_str(a->key, b->key);
    if (!r)
        r = cmp_dated(pa, pb);
    return r;
}

/* The counted inspections of the year, keyed by place and sorted so that
 * a place's are contiguous (place_range). */
static void collect_by_place(ctx_t *c, const kh_match_t *m, vec_t *out)
{
    collect(c, m, out);
    for (size_t i = 0; i < out->n; i++)
        out->v[i].key = out->v[i].ev->place_id;
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_by_key_day);
}

/* The slice of v (from collect_by_place) for one place. */
static vec_t place_range(const vec_t *v, const char *place_id)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_str(v->v[mid].key, place_id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < v->n && cmp_str(v->v[end].key, place_id) == 0)
        end++;
    vec_t s = {v->v + lo, end - lo, 0};
    return s;
}

/* place_inspection: each place of some categories, in each period it is
 * due, needs `required` counted inspections. */
static void eval_place_inspection(ctx_t *c, const kh_rule_t *r, ibuild_t *ib)
{
    kh_period_kind_t kind = r->period.of[c->urban][c->klass];
    int32_t need = required_of(c, r);
    vec_t insp = {0};
    collect_by_place(c, &r->match, &insp);
    const vec_t *places = &c->own[KH_EV_PLACE];
    for (size_t i = 0; i < places->n && !c->err; i++) {
        const kh_event_t *pl = places->v[i].ev;
        if ((int)pl->category < 0 || pl->category >= KH_CAT_COUNT ||
            !r->categories[pl->category])
            continue;
        vec_t mine = place_range(&insp, pl->place_id);
        for (int k = 0; k < kh_period_count(kind) && !c->err; k++) {
            kh_period_t p = kh_period_nth(kind, c->year, k);
            kh_day_t first = kh_period_first(p), last = kh_period_last(p);
            pstate_t st = period_state(c, p);
            if (st == ST_NONE || !due(pl, first, last))
                continue;
            ids_t ids = {0};
            ids_push(c, &ids, pl->id);
            int n = in_range(c, &mine, first, last, &ids, NULL);
            if (n < need) {
                kh_milli_t pts = r->points * (need - n);
                char ps[16];
                SHORTFALL(c, ib, st, pts, p, &ids,
                          "%s: %s %s (%s) due; %d of %d required %s; %d "
                          "missing × %s = %s",
                          period_str(p, ps), kh_category_name(pl->category), pl->place_id,
                          pl->name ? pl->name : "", n, (int)need, r->what,
                          (int)(need - n), amt(r->points), amt(pts));
            }
            free(ids.v);
        }
    }
    vec_free(&insp);
}

/* The winning place with an id (places are few: a linear scan). */
static const kh_event_t *find_place(const ctx_t *c, const char *place_id)
{
    const vec_t *places = &c->own[KH_EV_PLACE];
    for (size_t i = 0; i < places->n; i++)
        if (strcmp(places->v[i].ev->place_id, place_id) == 0)
            return places->v[i].ev;
    return NULL;
}

/* occupancy_check: a registered place of some categories, due in a month
 * whose reported occupancy is below a rate, needs a counted inspection
 * that month. The place's station is this one (places and occupancies
 * are keyed by the station that reports them). */
static void eval_occupancy(ctx_t *c, const kh_rule_t *r, ibuild_t *ib)
{
    vec_t insp = {0};
    collect_by_place(c, &r->match, &insp);
    const vec_t *occ = &c->own[KH_EV_OCCUPANCY];
    for (size_t i = 0; i < occ->n && !c->err; i++) {
        const kh_event_t *o = occ->v[i].ev;
        kh_period_t p = o->month;
        if (p.kind != KH_PK_MONTH || p.year != c->year || o->rate >= r->below)
            continue;
        const kh_event_t *pl = find_place(c, o->place_id);
        kh_day_t first = kh_period_first(p), last = kh_period_last(p);
        if (!pl || (int)pl->category < 0 || pl->category >= KH_CAT_COUNT ||
            !r->categories[pl->category] || !due(pl, first, last))
            continue;
        pstate_t st = period_state(c, p);
        if (st == ST_NONE)
            continue;
        vec_t mine = place_range(&insp, pl->place_id);
        if (in_range(c, &mine, first, last, NULL, NULL) > 0)
            continue;
        ids_t ids = {0};
        ids_push(c, &ids, pl->id);
        ids_push(c, &ids, o->id);
        char ps[16];
        SHORTFALL(c, ib, st, r->points, p, &ids,
                  "%s: %s %s (%s) occupancy %s below %s with no %s; %s",
                  period_str(p, ps), kh_category_name(pl->category), pl->place_id,
                  pl->name ? pl->name : "", amt(o->rate), amt(r->below), r->what,
                  amt(r->points));
        free(ids.v);
    }
    vec_free(&insp);
}

/* rate: the year's latest value of a metric, points per whole step below
 * the target (partial steps round down); never reported, nothing. */
static void eval_rate(ctx_t *c, const kh_rule_t *r, ibuild_t *ib)
{
    const vec_t *rates = &c->own[KH_EV_RATE];
    const dated_t *w = NULL;
    for (size_t i = 0; i < rates->n; i++)
        if (rates->v[i].ev->metric == r->metric && year_of(rates->v[i].day) == c->year)
            w = &rates->v[i]; /* one winner per (metric, year) */
    if (!w)
        return;
    kh_milli_t below = r->target - w->ev->rate;
    if (below <= 0 || r->step <= 0)
        return;
    int64_t steps = below / r->step;
    if (steps == 0)
        return;
    kh_period_t p = kh_period_nth(KH_PK_YEAR, c->year, 0);
    pstate_t st = period_state(c, p);
    ids_t ids = {0};
    ids_push(c, &ids, w->ev->id);
    kh_milli_t pts = r->points * steps;
    char ps[16];
    SHORTFALL(c, ib, st, pts, p, &ids,
              "%s: %s %s, %s below the target %s; %lld whole steps of %s × "
              "%s = %s",
              period_str(p, ps), kh_metric_name(w->ev->metric), amt(w->ev->rate),
              amt(below), amt(r->target), (long long)steps, amt(r->step), amt(r->points),
              amt(pts));
    free(ids.v);
}

/* plan: each quarter needs a plan (its `quarter` names the period); the
 * quarter's latest plan must have every required field. */
static void eval_plan(ctx_t *c, const kh_rule_t *r, ibuild_t *ib)
{
    static const struct {
        unsigned bit;
        const char *name;
    } fields[] = {{KH_PLAN_ZONES, "zones"},
                  {KH_PLAN_ROUTES, "routes"},
                  {KH_PLAN_FOCAL_POINTS, "focal_points"},
                  {KH_PLAN_TIME_SLOTS, "time_slots"},
                  {KH_PLAN_FORCES, "forces"}};
    const vec_t *plans = &c->own[KH_EV_PATROL_PLAN];
    for (int q = 0; q < 4 && !c->err; q++) {
        kh_period_t p = kh_period_nth(KH_PK_QUARTER, c->year, q);
        pstate_t st = period_state(c, p);
        if (st == ST_NONE)
            continue;
        const kh_event_t *plan = NULL;
        for (size_t i = 0; i < plans->n; i++)
            if (plans->v[i].ev->quarter.kind == KH_PK_QUARTER &&
                plans->v[i].ev->quarter.year == p.year &&
                plans->v[i].ev->quarter.index == p.index)
                plan = plans->v[i].ev;
        char ps[16];
        period_str(p, ps);
        if (!plan) {
            SHORTFALL(c, ib, st, r->points, p, NULL, "%s: no %s filed; %s", ps, r->what,
                      amt(r->points));
            continue;
        }
        unsigned have = (plan->zones ? KH_PLAN_ZONES : 0) |
                        (plan->routes ? KH_PLAN_ROUTES : 0) |
                        (plan->focal_points ? KH_PLAN_FOCAL_POINTS : 0) |
                        (plan->time_slots ? KH_PLAN_TIME_SLOTS : 0) |
                        (plan->forces ? KH_PLAN_FORCES : 0);
        unsigned lack = r->plan_fields & ~have;
        if (!lack)
            continue;
        char names[96] = "";
        for (size_t k = 0; k < 5; k++)
            if (lack & fields[k].bit) {
                if (names[0])
                    strcat(names, ", ");
                strcat(names, fields[k].name);
            }
        ids_t ids = {0};
        ids_push(c, &ids, plan->id);
        SHORTFALL(c, ib, st, r->incomplete_points, p, &ids,
                  "%s: the latest %s lacks %s; %s", ps, r->what, names,
                  amt(r->incomplete_points));
        free(ids.v);
    }
}

/* The highest count of a month among the urban stations. */
static int32_t urban_top(const kh_county_t *county, const kh_urban_t *u, int month)
{
    int32_t top = 0;
    for (size_t i = 0; i < u->nstations && i < county->nstations; i++)
        if (county->stations[i].urban && u->counts[i][month] > top)
            top = u->counts[i][month];
    return top;
}

/* urban_rank: per month, among the urban stations, the most counted
 * events loses nothing, every other station points per count behind. The
 * group's counts come from in->urban, recomputed for the whole group. */
static void eval_urban(ctx_t *c, const kh_rule_t *r, ibuild_t *ib)
{
    const kh_urban_t *u = c->in->urban;
    size_t me = (size_t)c->in->station;
    if (!c->st->urban || !u || !u->counts || u->year != c->year || me >= u->nstations)
        return;
    vec_t got = {0};
    collect(c, &r->match, &got);
    for (int m = 0; m < 12 && !c->err; m++) {
        kh_period_t p = kh_period_nth(KH_PK_MONTH, c->year, m);
        pstate_t st = period_state(c, p);
        if (st == ST_NONE)
            continue;
        int32_t top = urban_top(c->county, u, m);
        int32_t mine = u->counts[me][m];
        if (mine >= top)
            continue;
        ids_t ids = {0};
        in_range(c, &got, kh_period_first(p), kh_period_last(p), &ids, NULL);
        kh_milli_t pts = r->points * (top - mine);
        char ps[16];
        SHORTFALL(c, ib, st, pts, p, &ids,
                  "%s: %d counted %s, the most among the urban stations "
                  "(城区三所) %d; %d behind × %s = %s",
                  period_str(p, ps), (int)mine, r->what, (int)top, (int)(top - mine),
                  amt(r->points), amt(pts));
        free(ids.v);
    }
    vec_free(&got);
}

static bool rule_applies(const ctx_t *c, const kh_rule_t *r)
{
    switch (r->applies) {
    case KH_APPLIES_URBAN:
        return c->st->urban;
    case KH_APPLIES_NON_URBAN:
        return !c->st->urban;
    default:
        return true;
    }
}

static void eval_rule(ctx_t *c, const kh_item_t *it, const kh_rule_t *r, ibuild_t *ib)
{
    if (!rule_applies(c, r))
        return;
    switch (r->kind) {
    case KH_RULE_FINDING:
        eval_finding(c, it, ib);
        break;
    case KH_RULE_CASE:
        eval_case(c, r, ib);
        break;
    case KH_RULE_COUNT_PER_PERIOD:
        eval_count(c, r, ib);
        break;
    case KH_RULE_EVERY_SUBPERIOD:
        eval_every(c, r, ib);
        break;
    case KH_RULE_PLACE_INSPECTION:
        eval_place_inspection(c, r, ib);
        break;
    case KH_RULE_OCCUPANCY_CHECK:
        eval_occupancy(c, r, ib);
        break;
    case KH_RULE_RATE:
        eval_rate(c, r, ib);
        break;
    case KH_RULE_PLAN:
        eval_plan(c, r, ib);
        break;
    case KH_RULE_URBAN_RANK:
        eval_urban(c, r, ib);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ */
/* the context                                                          */
/* ------------------------------------------------------------------ */

static int ctx_init(ctx_t *c, const kh_score_input_t *in)
{
    memset(c, 0, sizeof *c);
    if (!in || !in->county || !in->catalog || !in->county->tz || in->station < 0 ||
        (size_t)in->station >= in->county->nstations || in->year < 1 || in->year > 9999 ||
        (in->nevents && !in->events))
        return KH_EINVAL;
    c->in = in;
    c->county = in->county;
    c->cat = in->catalog;
    c->st = &in->county->stations[in->station];
    c->urban = c->st->urban ? 1 : 0;
    c->klass = c->st->klass >= 1 && c->st->klass <= 3 ? c->st->klass : 3;
    c->year = in->year;
    c->year_first = kh_day_from_civil(in->year, 1, 1);
    c->year_last = kh_day_from_civil(in->year, 12, 31);
    c->as_of = in->as_of;
    c->today = in->today;
    c->closed = in->closed_through;
    if (c->as_of != KH_DAY_NONE) {
        /* As of a date, nothing later has begun or been closed. */
        if (c->today == KH_DAY_NONE || c->today > c->as_of)
            c->today = c->as_of;
        if (c->closed != KH_DAY_NONE && c->closed > c->as_of)
            c->closed = c->as_of;
    }
    select_events(c);
    return c->err;
}

static void ctx_free(ctx_t *c)
{
    for (int t = 0; t < KH_EV_COUNT; t++)
        vec_free(&c->own[t]);
    vec_free(&c->calls);
    vec_free(&c->reviews);
    free(c->cases);
    free(c->uniq);
}

/* ------------------------------------------------------------------ */
/* public                                                               */
/* ------------------------------------------------------------------ */

void kh_scorecard_strip(kh_scorecard_t *card)
{
    for (size_t i = 0; card && card->items && i < card->nitems; i++) {
        kh_item_score_t *is = &card->items[i];
        for (size_t e = 0; is->entries && e < is->nentries; e++)
            entry_free(&is->entries[e]);
        free(is->entries);
        is->entries = NULL;
        is->nentries = 0;
    }
}

void kh_scorecard_free(kh_scorecard_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_scorecard_t *card = *self_p;
    for (size_t i = 0; card->items && i < card->nitems; i++) {
        kh_item_score_t *is = &card->items[i];
        for (size_t e = 0; is->entries && e < is->nentries; e++)
            entry_free(&is->entries[e]);
        free(is->entries);
    }
    free(card->items);
    free(card->sections);
    free(card);
    *self_p = NULL;
}

/* Moves an item's built entries, sorted, into its score and sums them. */
static void finish_item(ctx_t *c, ibuild_t *ib, kh_item_score_t *is)
{
    if (ib->n)
        qsort(ib->v, ib->n, sizeof *ib->v, cmp_ent);
    is->entries = calloc(ib->n ? ib->n : 1, sizeof *is->entries);
    if (!is->entries) {
        for (size_t e = 0; e < ib->n; e++)
            entry_free(&ib->v[e].e);
        c->err = KH_ENOMEM;
        return;
    }
    for (size_t e = 0; e < ib->n; e++) {
        kh_entry_t *en = &is->entries[e];
        *en = ib->v[e].e;
        if (en->pending)
            is->pending -= en->points;
        else if (en->points < 0)
            is->deducted -= en->points;
        else
            is->bonus += en->points;
    }
    is->nentries = ib->n;
}

int kh_score_station(const kh_score_input_t *in, kh_scorecard_t **out)
{
    ctx_t c;
    ibuild_t ib = {0};
    kh_scorecard_t *card = NULL;
    if (!out)
        return KH_EINVAL;
    *out = NULL;
    int rc = ctx_init(&c, in);
    if (rc)
        goto done;
    const kh_catalog_t *cat = c.cat;
    card = calloc(1, sizeof *card);
    if (!card) {
        rc = KH_ENOMEM;
        goto done;
    }
    card->station = in->station;
    card->year = in->year;
    card->items = calloc(cat->nitems ? cat->nitems : 1, sizeof *card->items);
    card->sections = calloc(cat->nsections ? cat->nsections : 1, sizeof *card->sections);
    if (!card->items || !card->sections) {
        rc = KH_ENOMEM;
        goto done;
    }

    /* the items, each rule of each */
    const vec_t *selfs = &c.own[KH_EV_SELF_SCORE];
    for (size_t i = 0; i < cat->nitems && !c.err; i++) {
        const kh_item_t *it = &cat->items[i];
        kh_item_score_t *is = &card->items[i];
        is->item = i;
        card->nitems = i + 1;
        ib.n = 0;
        for (size_t r = 0; r < it->nrules && !c.err; r++)
            eval_rule(&c, it, &it->rules[r], &ib);
        if (c.err) {
            for (size_t e = 0; e < ib.n; e++)
                entry_free(&ib.v[e].e);
            ib.n = 0;
            break;
        }
        finish_item(&c, &ib, is);
        for (size_t k = 0; k < selfs->n; k++) {
            const dated_t *d = &selfs->v[k];
            if (strcmp(d->ev->item, it->id) == 0 && year_of(d->day) == c.year) {
                is->has_self_score = true; /* one winner per (item, year) */
                is->self_score = d->ev->points;
            }
        }
    }
    if ((rc = c.err))
        goto done;

    /* sections, bonus, total */
    kh_milli_t bonus = 0;
    for (size_t s = 0; s < cat->nsections; s++) {
        kh_section_score_t *ss = &card->sections[s];
        ss->section = s;
        ss->max = cat->sections[s].max;
        for (size_t i = 0; i < card->nitems; i++)
            if (cat->items[i].section == s)
                ss->deducted += card->items[i].deducted;
        ss->score = ss->max > ss->deducted ? ss->max - ss->deducted : 0;
        card->total += ss->score;
    }
    card->nsections = cat->nsections;
    for (size_t i = 0; i < card->nitems; i++) {
        bonus += card->items[i].bonus;
        card->pending += card->items[i].pending;
    }
    if (c.county->has_bonus_cap && bonus > c.county->bonus_cap)
        bonus = c.county->bonus_cap > 0 ? c.county->bonus_cap : 0;
    card->bonus = bonus;
    card->total += bonus;
    *out = card;
    card = NULL;

done:
    free(ib.v);
    kh_scorecard_free(&card);
    ctx_free(&c); /* ctx_init zeroed it first, whatever it returned */
    return rc;
}

void kh_score_prevention_counts(const kh_score_input_t *in, int32_t counts[12])
{
    memset(counts, 0, 12 * sizeof *counts);
    const kh_rule_t *r =
        in ? kh_catalog_find_rule(in->catalog, KH_RULE_URBAN_RANK, NULL) : NULL;
    if (!r)
        return; /* no 城区三所 ranking in this catalog */
    ctx_t c;
    if (ctx_init(&c, in) != KH_OK) {
        ctx_free(&c);
        return;
    }
    vec_t got = {0};
    collect(&c, &r->match, &got);
    for (size_t i = 0; i < got.n; i++) {
        int m;
        kh_day_to_civil(got.v[i].day, NULL, &m, NULL);
        counts[m - 1]++;
    }
    vec_free(&got);
    ctx_free(&c);
}

/* Rows by patrols descending, then station code (insertion sort: the
 * urban stations are a handful, and this allocates nothing). */
size_t kh_score_urban_month(const kh_county_t *county, const kh_catalog_t *catalog,
                            const kh_urban_t *urban, int month, kh_urban_row_t *rows)
{
    if (!county || !rows || month < 1 || month > 12)
        return 0;
    const kh_rule_t *r = kh_catalog_find_rule(catalog, KH_RULE_URBAN_RANK, NULL);
    kh_milli_t per = r ? r->points : 0;
    size_t n = 0;
    for (size_t i = 0; i < county->nstations; i++) {
        if (!county->stations[i].urban)
            continue;
        kh_urban_row_t row = {(int)i, 0, 0, 0};
        if (urban && urban->counts && i < urban->nstations)
            row.patrols = urban->counts[i][month - 1];
        size_t at = n++;
        while (at > 0) {
            const kh_urban_row_t *prev = &rows[at - 1];
            bool before = row.patrols > prev->patrols ||
                          (row.patrols == prev->patrols &&
                           strcmp(county->stations[row.station].code,
                                  county->stations[prev->station].code) < 0);
            if (!before)
                break;
            rows[at] = rows[at - 1];
            at--;
        }
        rows[at] = row;
    }
    int32_t top = n ? rows[0].patrols : 0;
    for (size_t i = 0; i < n; i++) {
        rows[i].behind = top - rows[i].patrols;
        rows[i].deducted = per * rows[i].behind;
    }
    return n;
}
