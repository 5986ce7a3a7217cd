/*
 * kh_codec.c - plain structs <-> protobuf-c messages.
 *
 * Design: the generated code is confined here (STYLE rule 8). Encoders
 * build the generated message on the stack, pointing into the caller's
 * struct, and pack into one malloc'd buffer. Decoders unpack untrusted
 * bytes, check every enum and length against kaohe's limits (protobuf-c
 * accepts any integer for a proto3 enum), and copy into the plain struct;
 * anything off is KH_EPROTO. C enums are the wire enums minus one.
 */
#include "kh_codec.h"

#include <stdlib.h>
#include <string.h>

#include "kaohe.pb-c.h"
#include "kh_error.h"
#include "kh_scratch.h"

#define EMPTY ((char *)protobuf_c_empty_string)

/* Packs any message into a fresh buffer. */
static int pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return KH_ENOMEM;
    protobuf_c_message_pack(m, b);
    *buf = b;
    *len = n;
    return KH_OK;
}

/* Copies a decoded string into a fixed buffer; KH_EPROTO when too long. */
static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return KH_EPROTO;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
    return KH_OK;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void period_to_pb(Kaohe__Period *pb, kh_period_t p)
{
    kaohe__period__init(pb);
    pb->kind = (int32_t)p.kind;
    pb->year = p.year;
    pb->index = p.index;
}

static int period_from_pb(const Kaohe__Period *pb, kh_period_kind_t want,
                          kh_period_t *out)
{
    if (!pb || pb->kind != (int32_t)want || pb->index < 0 ||
        pb->index >= kh_period_count(want) || pb->year < 1 || pb->year > 9999)
        return KH_EPROTO;
    out->kind = want;
    out->year = pb->year;
    out->index = pb->index;
    return KH_OK;
}

int kh_codec_event_encode(const kh_event_t *ev, uint8_t **buf, size_t *len)
{
    Kaohe__Event m;
    kaohe__event__init(&m);
    m.source = (Kaohe__Source)(ev->source + 1);
    m.type = (Kaohe__EventType)(ev->type + 1);
    m.id = (char *)ev->id;
    m.station = (char *)ev->station;
    m.time_us = ev->time;
    m.has_note = ev->note != NULL;
    m.note = ev->note ? ev->note : EMPTY;

    Kaohe__Call call;
    Kaohe__LegalReview lr;
    Kaohe__Place place;
    Kaohe__Inspection insp;
    Kaohe__Occupancy occ;
    Kaohe__Period per;
    Kaohe__Patrol patrol;
    Kaohe__Notice notice;
    Kaohe__Education edu;
    Kaohe__Meeting meeting;
    Kaohe__Training training;
    Kaohe__Campaign campaign;
    Kaohe__PatrolPlan plan;
    Kaohe__Rate rate;
    Kaohe__Finding finding;
    Kaohe__SelfScore self;

    switch (ev->type) {
    case KH_EV_CALL:
        kaohe__call__init(&call);
        call.case_id = (char *)ev->case_id;
        call.case_kind = (Kaohe__CaseKind)(ev->case_kind + 1);
        call.location = (Kaohe__Location)(ev->location + 1);
        call.rev = ev->rev;
        call.void_ = ev->void_;
        m.body_case = KAOHE__EVENT__BODY_CALL;
        m.call = &call;
        break;
    case KH_EV_LEGAL_REVIEW:
        kaohe__legal_review__init(&lr);
        lr.case_id = (char *)ev->case_id;
        lr.outcome = (Kaohe__ReviewOutcome)(ev->outcome + 1);
        lr.suspects = ev->suspects;
        lr.rev = ev->rev;
        m.body_case = KAOHE__EVENT__BODY_LEGAL_REVIEW;
        m.legal_review = &lr;
        break;
    case KH_EV_PLACE:
        kaohe__place__init(&place);
        place.place_id = (char *)ev->place_id;
        place.category = (Kaohe__Category)(ev->category + 1);
        place.name = ev->name ? ev->name : EMPTY;
        place.opened = ev->opened;
        place.has_closed = ev->closed != KH_DAY_NONE;
        place.closed = place.has_closed ? ev->closed : 0;
        m.body_case = KAOHE__EVENT__BODY_PLACE;
        m.place = &place;
        break;
    case KH_EV_INSPECTION:
        kaohe__inspection__init(&insp);
        insp.place_id = (char *)ev->place_id;
        insp.kind = (Kaohe__InspectionKind)(ev->inspection_kind + 1);
        insp.in_platform = ev->in_platform;
        m.body_case = KAOHE__EVENT__BODY_INSPECTION;
        m.inspection = &insp;
        break;
    case KH_EV_OCCUPANCY:
        kaohe__occupancy__init(&occ);
        occ.place_id = (char *)ev->place_id;
        period_to_pb(&per, ev->month);
        occ.month = &per;
        occ.rate_milli = ev->rate;
        m.body_case = KAOHE__EVENT__BODY_OCCUPANCY;
        m.occupancy = &occ;
        break;
    case KH_EV_PATROL:
        kaohe__patrol__init(&patrol);
        patrol.patrol_id = (char *)ev->patrol_id;
        patrol.kind = (Kaohe__PatrolKind)(ev->patrol_kind + 1);
        patrol.has_record = ev->has_record;
        patrol.has_images = ev->has_images;
        m.body_case = KAOHE__EVENT__BODY_PATROL;
        m.patrol = &patrol;
        break;
    case KH_EV_NOTICE:
        kaohe__notice__init(&notice);
        notice.posted = ev->posted;
        m.body_case = KAOHE__EVENT__BODY_NOTICE;
        m.notice = &notice;
        break;
    case KH_EV_EDUCATION:
        kaohe__education__init(&edu);
        edu.has_record = ev->has_record;
        edu.has_images = ev->has_images;
        m.body_case = KAOHE__EVENT__BODY_EDUCATION;
        m.education = &edu;
        break;
    case KH_EV_MEETING:
        kaohe__meeting__init(&meeting);
        m.body_case = KAOHE__EVENT__BODY_MEETING;
        m.meeting = &meeting;
        break;
    case KH_EV_TRAINING:
        kaohe__training__init(&training);
        m.body_case = KAOHE__EVENT__BODY_TRAINING;
        m.training = &training;
        break;
    case KH_EV_CAMPAIGN:
        kaohe__campaign__init(&campaign);
        campaign.has_record = ev->has_record;
        m.body_case = KAOHE__EVENT__BODY_CAMPAIGN;
        m.campaign = &campaign;
        break;
    case KH_EV_PATROL_PLAN:
        kaohe__patrol_plan__init(&plan);
        period_to_pb(&per, ev->quarter);
        plan.quarter = &per;
        plan.zones = ev->zones;
        plan.routes = ev->routes;
        plan.focal_points = ev->focal_points;
        plan.time_slots = ev->time_slots;
        plan.forces = ev->forces;
        m.body_case = KAOHE__EVENT__BODY_PATROL_PLAN;
        m.patrol_plan = &plan;
        break;
    case KH_EV_RATE:
        kaohe__rate__init(&rate);
        rate.metric = (Kaohe__Metric)(ev->metric + 1);
        rate.value_milli = ev->rate;
        m.body_case = KAOHE__EVENT__BODY_RATE;
        m.rate = &rate;
        break;
    case KH_EV_FINDING:
        kaohe__finding__init(&finding);
        finding.item = (char *)ev->item;
        finding.defect = (char *)ev->defect;
        finding.place_id = (char *)ev->place_id;
        finding.count = ev->count;
        finding.has_points = ev->has_points;
        finding.points_milli = ev->points;
        m.body_case = KAOHE__EVENT__BODY_FINDING;
        m.finding = &finding;
        break;
    case KH_EV_SELF_SCORE:
        kaohe__self_score__init(&self);
        self.item = (char *)ev->item;
        self.points_milli = ev->points;
        m.body_case = KAOHE__EVENT__BODY_SELF_SCORE;
        m.self_score = &self;
        break;
    default:
        return KH_EINVAL;
    }
    return pack(&m.base, buf, len);
}

/* Wire enum (1-based) to C enum, or -1 when outside [1, count]. */
static int enum_in(int wire, int count)
{
    return (wire >= 1 && wire <= count) ? wire - 1 : -1;
}

static int decode_body(const Kaohe__Event *m, kh_event_t *ev)
{
    int rc = KH_OK, v;
    switch (m->body_case) {
    case KAOHE__EVENT__BODY_CALL:
        if (ev->type != KH_EV_CALL)
            return KH_EPROTO;
        if ((rc = copy_str(ev->case_id, sizeof ev->case_id, m->call->case_id)))
            return rc;
        if ((v = enum_in(m->call->case_kind, KH_CASE_COUNT)) < 0)
            return KH_EPROTO;
        ev->case_kind = (kh_case_kind_t)v;
        if ((v = enum_in(m->call->location, KH_LOC_COUNT)) < 0)
            return KH_EPROTO;
        ev->location = (kh_location_t)v;
        ev->rev = m->call->rev;
        ev->void_ = m->call->void_;
        break;
    case KAOHE__EVENT__BODY_LEGAL_REVIEW:
        if (ev->type != KH_EV_LEGAL_REVIEW)
            return KH_EPROTO;
        if ((rc = copy_str(ev->case_id, sizeof ev->case_id, m->legal_review->case_id)))
            return rc;
        if ((v = enum_in(m->legal_review->outcome, KH_OUT_COUNT)) < 0)
            return KH_EPROTO;
        ev->outcome = (kh_outcome_t)v;
        ev->suspects = m->legal_review->suspects;
        ev->rev = m->legal_review->rev;
        break;
    case KAOHE__EVENT__BODY_PLACE:
        if (ev->type != KH_EV_PLACE)
            return KH_EPROTO;
        if ((rc = copy_str(ev->place_id, sizeof ev->place_id, m->place->place_id)))
            return rc;
        if ((v = enum_in(m->place->category, KH_CAT_COUNT)) < 0)
            return KH_EPROTO;
        ev->category = (kh_category_t)v;
        if (!(ev->name = strdup(m->place->name ? m->place->name : "")))
            return KH_ENOMEM;
        ev->opened = m->place->opened;
        ev->closed = m->place->has_closed ? m->place->closed : KH_DAY_NONE;
        if (ev->closed == KH_DAY_NONE && m->place->has_closed)
            return KH_EPROTO;
        break;
    case KAOHE__EVENT__BODY_INSPECTION:
        if (ev->type != KH_EV_INSPECTION)
            return KH_EPROTO;
        if ((rc = copy_str(ev->place_id, sizeof ev->place_id, m->inspection->place_id)))
            return rc;
        if ((v = enum_in(m->inspection->kind, KH_INSP_COUNT)) < 0)
            return KH_EPROTO;
        ev->inspection_kind = (kh_inspection_kind_t)v;
        ev->in_platform = m->inspection->in_platform;
        break;
    case KAOHE__EVENT__BODY_OCCUPANCY:
        if (ev->type != KH_EV_OCCUPANCY)
            return KH_EPROTO;
        if ((rc = copy_str(ev->place_id, sizeof ev->place_id, m->occupancy->place_id)))
            return rc;
        if ((rc = period_from_pb(m->occupancy->month, KH_PK_MONTH, &ev->month)))
            return rc;
        ev->rate = m->occupancy->rate_milli;
        break;
    case KAOHE__EVENT__BODY_PATROL:
        if (ev->type != KH_EV_PATROL)
            return KH_EPROTO;
        if ((rc = copy_str(ev->patrol_id, sizeof ev->patrol_id, m->patrol->patrol_id)))
            return rc;
        if ((v = enum_in(m->patrol->kind, KH_PATROL_COUNT)) < 0)
            return KH_EPROTO;
        ev->patrol_kind = (kh_patrol_kind_t)v;
        ev->has_record = m->patrol->has_record;
        ev->has_images = m->patrol->has_images;
        break;
    case KAOHE__EVENT__BODY_NOTICE:
        if (ev->type != KH_EV_NOTICE)
            return KH_EPROTO;
        ev->posted = m->notice->posted;
        break;
    case KAOHE__EVENT__BODY_EDUCATION:
        if (ev->type != KH_EV_EDUCATION)
            return KH_EPROTO;
        ev->has_record = m->education->has_record;
        ev->has_images = m->education->has_images;
        break;
    case KAOHE__EVENT__BODY_MEETING:
        if (ev->type != KH_EV_MEETING)
            return KH_EPROTO;
        break;
    case KAOHE__EVENT__BODY_TRAINING:
        if (ev->type != KH_EV_TRAINING)
            return KH_EPROTO;
        break;
    case KAOHE__EVENT__BODY_CAMPAIGN:
        if (ev->type != KH_EV_CAMPAIGN)
            return KH_EPROTO;
        ev->has_record = m->campaign->has_record;
        break;
    case KAOHE__EVENT__BODY_PATROL_PLAN:
        if (ev->type != KH_EV_PATROL_PLAN)
            return KH_EPROTO;
        if ((rc = period_from_pb(m->patrol_plan->quarter, KH_PK_QUARTER, &ev->quarter)))
            return rc;
        ev->zones = m->patrol_plan->zones;
        ev->routes = m->patrol_plan->routes;
        ev->focal_points = m->patrol_plan->focal_points;
        ev->time_slots = m->patrol_plan->time_slots;
        ev->forces = m->patrol_plan->forces;
        break;
    case KAOHE__EVENT__BODY_RATE:
        if (ev->type != KH_EV_RATE)
            return KH_EPROTO;
        if ((v = enum_in(m->rate->metric, KH_METRIC_COUNT)) < 0)
            return KH_EPROTO;
        ev->metric = (kh_metric_t)v;
        ev->rate = m->rate->value_milli;
        break;
    case KAOHE__EVENT__BODY_FINDING:
        if (ev->type != KH_EV_FINDING)
            return KH_EPROTO;
        if ((rc = copy_str(ev->item, sizeof ev->item, m->finding->item)) ||
            (rc = copy_str(ev->defect, sizeof ev->defect, m->finding->defect)) ||
            (rc = copy_str(ev->place_id, sizeof ev->place_id, m->finding->place_id)))
            return rc;
        ev->count = m->finding->count;
        ev->has_points = m->finding->has_points;
        ev->points = m->finding->points_milli;
        break;
    case KAOHE__EVENT__BODY_SELF_SCORE:
        if (ev->type != KH_EV_SELF_SCORE)
            return KH_EPROTO;
        if ((rc = copy_str(ev->item, sizeof ev->item, m->self_score->item)))
            return rc;
        ev->points = m->self_score->points_milli;
        break;
    default:
        return KH_EPROTO;
    }
    return KH_OK;
}

static void *scratch_alloc(void *data, size_t n)
{
    (void)data;
    return kh_scratch_alloc(n);
}

static void scratch_free(void *data, void *p)
{
    (void)data;
    kh_scratch_free(p);
}

/* The unpacked message lives only in kh_codec_event_decode (the scorer
 * and the ranker decode every event they read): its blocks come from the
 * thread's scratch arena (kh_scratch.h). */
static ProtobufCAllocator scratch_pb = {scratch_alloc, scratch_free, NULL};

int kh_codec_event_decode(const uint8_t *buf, size_t len, kh_event_t *ev)
{
    bool scope = kh_scratch_begin();
    Kaohe__Event *m = kaohe__event__unpack(&scratch_pb, len, buf);
    if (!m) {
        kh_scratch_end(scope);
        return KH_EPROTO;
    }
    int rc = KH_EPROTO, v;
    if ((v = enum_in(m->source, KH_SRC_COUNT)) < 0)
        goto out;
    ev->source = (kh_source_t)v;
    if ((v = enum_in(m->type, KH_EV_COUNT)) < 0)
        goto out;
    ev->type = (kh_evtype_t)v;
    if ((rc = copy_str(ev->id, sizeof ev->id, m->id)) ||
        (rc = copy_str(ev->station, sizeof ev->station, m->station)))
        goto out;
    ev->time = m->time_us;
    if (m->has_note && !(ev->note = dup_or_null(m->note))) {
        rc = KH_ENOMEM;
        goto out;
    }
    rc = decode_body(m, ev);
out:
    kaohe__event__free_unpacked(m, &scratch_pb);
    kh_scratch_end(scope);
    return rc;
}

int kh_codec_submit_encode(uint64_t tag, const char *line, size_t len, bool ping,
                           uint8_t **buf, size_t *blen)
{
    Kaohe__Submit m;
    kaohe__submit__init(&m);
    m.tag = tag;
    m.ping = ping;
    m.line.data = (uint8_t *)line;
    m.line.len = len;
    return pack(&m.base, buf, blen);
}

int kh_codec_submit_batch_encode(const uint64_t *tags, const char *const *lines,
                                 const size_t *lens, size_t n, uint8_t **buf,
                                 size_t *blen)
{
    Kaohe__Submit m;
    kaohe__submit__init(&m);
    Kaohe__Line *v = malloc((n ? n : 1) * sizeof *v);
    Kaohe__Line **p = malloc((n ? n : 1) * sizeof *p);
    int rc = KH_ENOMEM;
    if (v && p) {
        for (size_t i = 0; i < n; i++) {
            kaohe__line__init(&v[i]);
            v[i].tag = tags[i];
            v[i].line.data = (uint8_t *)lines[i];
            v[i].line.len = lens[i];
            p[i] = &v[i];
        }
        m.n_lines = n;
        m.lines = p;
        rc = pack(&m.base, buf, blen);
    }
    free(v);
    free(p);
    return rc;
}

int kh_codec_submit_decode(const uint8_t *buf, size_t len, kh_submit_t *out)
{
    Kaohe__Submit *m = kaohe__submit__unpack(NULL, len, buf);
    if (!m)
        return KH_EPROTO;
    memset(out, 0, sizeof *out);
    out->tag = m->tag;
    out->ping = m->ping;
    out->line = m->line.data;
    out->len = m->line.len;
    out->nbatch = m->n_lines;
    out->raw_ = m;
    return KH_OK;
}

void kh_codec_submit_item(const kh_submit_t *s, size_t i, uint64_t *tag,
                          const uint8_t **line, size_t *len)
{
    const Kaohe__Submit *m = s->raw_;
    const Kaohe__Line *l = m->lines[i];
    *tag = l->tag;
    *line = l->line.data;
    *len = l->line.len;
}

void kh_codec_submit_free(kh_submit_t *s)
{
    if (s && s->raw_) {
        kaohe__submit__free_unpacked(s->raw_, NULL);
        s->raw_ = NULL;
    }
}

const char *kh_status_name(kh_status_t s)
{
    switch (s) {
    case KH_STATUS_ACCEPTED:
        return "accepted";
    case KH_STATUS_DUPLICATE:
        return "duplicate";
    case KH_STATUS_REJECTED:
        return "rejected";
    case KH_STATUS_PONG:
        return "pong";
    case KH_STATUS_FAILED:
        return "failed";
    }
    return "unknown";
}

static void outcome_to_pb(Kaohe__Outcome *m, const kh_ack_t *o)
{
    kaohe__outcome__init(m);
    m->tag = o->tag;
    m->status = (Kaohe__Status)o->status;
    m->reason = (char *)o->reason;
    m->id = (char *)o->id;
    m->seq = o->seq;
}

static int outcome_from_pb(const Kaohe__Outcome *m, kh_ack_t *o)
{
    memset(o, 0, sizeof *o);
    if (!m || (int)m->status < (int)KH_STATUS_ACCEPTED ||
        (int)m->status > (int)KH_STATUS_FAILED)
        return KH_EPROTO;
    o->tag = m->tag;
    o->status = (kh_status_t)m->status;
    o->seq = m->seq;
    if (copy_str(o->reason, sizeof o->reason, m->reason) ||
        copy_str(o->id, sizeof o->id, m->id))
        return KH_EPROTO;
    return KH_OK;
}

int kh_codec_outcome_encode(const kh_ack_t *o, uint8_t **buf, size_t *len)
{
    Kaohe__Outcome m;
    outcome_to_pb(&m, o);
    return pack(&m.base, buf, len);
}

int kh_codec_outcomes_encode(const kh_ack_t *v, size_t n, uint8_t **buf, size_t *len)
{
    if (n == 1)
        return kh_codec_outcome_encode(v, buf, len);
    Kaohe__Outcome m;
    kaohe__outcome__init(&m);
    Kaohe__Outcome *o = malloc((n ? n : 1) * sizeof *o);
    Kaohe__Outcome **p = malloc((n ? n : 1) * sizeof *p);
    int rc = KH_ENOMEM;
    if (o && p) {
        for (size_t i = 0; i < n; i++) {
            outcome_to_pb(&o[i], &v[i]);
            p[i] = &o[i];
        }
        m.n_batch = n;
        m.batch = p;
        rc = pack(&m.base, buf, len);
    }
    free(o);
    free(p);
    return rc;
}

int kh_codec_outcomes_decode(const uint8_t *buf, size_t len, kh_ack_t **v, size_t *n)
{
    *v = NULL;
    *n = 0;
    Kaohe__Outcome *m = kaohe__outcome__unpack(NULL, len, buf);
    if (!m)
        return KH_EPROTO;
    size_t k = m->n_batch ? m->n_batch : 1;
    kh_ack_t *out = calloc(k, sizeof *out);
    int rc = out ? KH_OK : KH_ENOMEM;
    for (size_t i = 0; rc == KH_OK && i < k; i++)
        rc = outcome_from_pb(m->n_batch ? m->batch[i] : m, &out[i]);
    kaohe__outcome__free_unpacked(m, NULL);
    if (rc) {
        free(out);
        return rc;
    }
    *v = out;
    *n = k;
    return KH_OK;
}

int kh_codec_outcome_decode(const uint8_t *buf, size_t len, kh_ack_t *o)
{
    Kaohe__Outcome *m = kaohe__outcome__unpack(NULL, len, buf);
    if (!m)
        return KH_EPROTO;
    int rc = outcome_from_pb(m, o);
    kaohe__outcome__free_unpacked(m, NULL);
    return rc;
}

int kh_codec_sreq_encode(const kh_scorer_req_t *r, uint8_t **buf, size_t *len)
{
    Kaohe__ScorerRequest m;
    Kaohe__SnapshotPut snap;
    Kaohe__EventBatch batch;
    kaohe__scorer_request__init(&m);
    m.tag = r->tag;
    switch (r->kind) {
    case KH_SREQ_EVENTS: {
        kaohe__event_batch__init(&batch);
        size_t n = r->nevents;
        ProtobufCBinaryData *evs = malloc((n ? n : 1) * sizeof *evs);
        if (!evs)
            return KH_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            evs[i].data = (uint8_t *)r->evs[i];
            evs[i].len = r->ev_lens[i];
        }
        batch.n_tags = n;
        batch.tags = (uint64_t *)r->ev_tags;
        batch.n_events = n;
        batch.events = evs;
        m.body_case = KAOHE__SCORER_REQUEST__BODY_EVENTS;
        m.events = &batch;
        int rc = pack(&m.base, buf, len);
        free(evs);
        return rc;
    }
    case KH_SREQ_EVENT:
        m.body_case = KAOHE__SCORER_REQUEST__BODY_EVENT;
        m.event.data = (uint8_t *)r->event;
        m.event.len = r->event_len;
        break;
    case KH_SREQ_CLOSE:
        m.body_case = KAOHE__SCORER_REQUEST__BODY_CLOSE_THROUGH;
        m.close_through = r->close_through;
        break;
    case KH_SREQ_PING:
        m.body_case = KAOHE__SCORER_REQUEST__BODY_PING;
        m.ping = 1;
        break;
    case KH_SREQ_SNAPSHOT:
        kaohe__snapshot_put__init(&snap);
        snap.month = r->snap_month;
        snap.rev = r->snap_rev;
        snap.expect_last = r->snap_expect_last;
        snap.doc.data = (uint8_t *)r->snap_doc;
        snap.doc.len = r->snap_len;
        m.body_case = KAOHE__SCORER_REQUEST__BODY_SNAPSHOT;
        m.snapshot = &snap;
        break;
    default:
        return KH_EINVAL;
    }
    return pack(&m.base, buf, len);
}

int kh_codec_sreq_decode(const uint8_t *buf, size_t len, kh_scorer_req_t *r)
{
    memset(r, 0, sizeof *r);
    Kaohe__ScorerRequest *m = kaohe__scorer_request__unpack(NULL, len, buf);
    if (!m)
        return KH_EPROTO;
    r->tag = m->tag;
    r->raw_ = m;
    switch (m->body_case) {
    case KAOHE__SCORER_REQUEST__BODY_EVENT:
        r->kind = KH_SREQ_EVENT;
        r->event = m->event.data;
        r->event_len = m->event.len;
        return KH_OK;
    case KAOHE__SCORER_REQUEST__BODY_CLOSE_THROUGH:
        r->kind = KH_SREQ_CLOSE;
        r->close_through = m->close_through;
        return KH_OK;
    case KAOHE__SCORER_REQUEST__BODY_PING:
        r->kind = KH_SREQ_PING;
        return KH_OK;
    case KAOHE__SCORER_REQUEST__BODY_EVENTS:
        if (m->events->n_tags != m->events->n_events) {
            kh_codec_sreq_free(r);
            return KH_EPROTO;
        }
        r->kind = KH_SREQ_EVENTS;
        r->nevents = m->events->n_events;
        return KH_OK;
    case KAOHE__SCORER_REQUEST__BODY_SNAPSHOT:
        r->kind = KH_SREQ_SNAPSHOT;
        r->snap_month = m->snapshot->month;
        r->snap_rev = m->snapshot->rev;
        r->snap_expect_last = m->snapshot->expect_last;
        r->snap_doc = m->snapshot->doc.data;
        r->snap_len = m->snapshot->doc.len;
        return KH_OK;
    default:
        kh_codec_sreq_free(r);
        return KH_EPROTO;
    }
}

void kh_codec_sreq_item(const kh_scorer_req_t *r, size_t i, uint64_t *tag,
                        const uint8_t **ev, size_t *len)
{
    const Kaohe__ScorerRequest *m = r->raw_;
    *tag = m->events->tags[i];
    *ev = m->events->events[i].data;
    *len = m->events->events[i].len;
}

void kh_codec_sreq_free(kh_scorer_req_t *r)
{
    if (r && r->raw_) {
        kaohe__scorer_request__free_unpacked(r->raw_, NULL);
        r->raw_ = NULL;
    }
}

int kh_codec_sreply_encode(const kh_scorer_reply_t *r, uint8_t **buf, size_t *len)
{
    Kaohe__ScorerReply m;
    Kaohe__Outcome o;
    kaohe__scorer_reply__init(&m);
    outcome_to_pb(&o, &r->outcome);
    m.tag = r->tag;
    m.outcome = r->noutcomes ? NULL : &o; /* a batch's are in outcomes */
    m.last_seq = r->last_seq;
    m.closed_through = r->closed_through;
    m.pubno = r->pubno;
    Kaohe__Outcome *ov = NULL;
    Kaohe__Outcome **p = NULL;
    if (r->noutcomes) {
        ov = malloc(r->noutcomes * sizeof *ov);
        p = malloc(r->noutcomes * sizeof *p);
        if (!ov || !p) {
            free(ov);
            free(p);
            return KH_ENOMEM;
        }
        for (size_t i = 0; i < r->noutcomes; i++) {
            outcome_to_pb(&ov[i], &r->outcomes[i]);
            p[i] = &ov[i];
        }
        m.n_outcomes = r->noutcomes;
        m.outcomes = p;
    }
    int rc = pack(&m.base, buf, len);
    free(ov);
    free(p);
    return rc;
}

int kh_codec_sreply_decode(const uint8_t *buf, size_t len, kh_scorer_reply_t *r)
{
    Kaohe__ScorerReply *m = kaohe__scorer_reply__unpack(NULL, len, buf);
    if (!m)
        return KH_EPROTO;
    memset(r, 0, sizeof *r);
    r->tag = m->tag;
    r->last_seq = m->last_seq;
    r->closed_through = m->closed_through;
    r->pubno = m->pubno;
    int rc = m->n_outcomes ? KH_OK : outcome_from_pb(m->outcome, &r->outcome);
    if (rc == KH_OK && m->n_outcomes) {
        r->outcomes = calloc(m->n_outcomes, sizeof *r->outcomes);
        rc = r->outcomes ? KH_OK : KH_ENOMEM;
        for (size_t i = 0; rc == KH_OK && i < m->n_outcomes; i++)
            rc = outcome_from_pb(m->outcomes[i], &r->outcomes[i]);
        r->noutcomes = m->n_outcomes;
    }
    kaohe__scorer_reply__free_unpacked(m, NULL);
    if (rc)
        kh_codec_sreply_free(r);
    return rc;
}

void kh_codec_sreply_free(kh_scorer_reply_t *r)
{
    free(r->outcomes);
    r->outcomes = NULL;
    r->noutcomes = 0;
}

int kh_codec_route_encode(uint64_t no, const kh_origin_t *v, size_t n, uint8_t **buf,
                          size_t *len)
{
    Kaohe__Route m;
    kaohe__route__init(&m);
    m.no = no;
    Kaohe__Origin *o = malloc((n ? n : 1) * sizeof *o);
    Kaohe__Origin **p = malloc((n ? n : 1) * sizeof *p);
    int rc = KH_ENOMEM;
    if (o && p) {
        for (size_t i = 0; i < n; i++) {
            kaohe__origin__init(&o[i]);
            o[i].peer.data = (uint8_t *)v[i].peer;
            o[i].peer.len = v[i].peer_len;
            o[i].key = (char *)v[i].key;
            o[i].events = v[i].events;
            o[i].bytes = v[i].bytes;
            o[i].received_us = v[i].received_us;
            p[i] = &o[i];
        }
        m.n_origins = n;
        m.origins = p;
        rc = pack(&m.base, buf, len);
    }
    free(o);
    free(p);
    return rc;
}

int kh_codec_route_decode(const uint8_t *buf, size_t len, uint64_t *no, kh_origin_t **v,
                          size_t *n)
{
    *v = NULL;
    *n = 0;
    Kaohe__Route *m = kaohe__route__unpack(NULL, len, buf);
    if (!m)
        return KH_EPROTO;
    int rc = m->n_origins ? KH_OK : KH_EPROTO;
    kh_origin_t *out = rc ? NULL : calloc(m->n_origins, sizeof *out);
    if (rc == KH_OK && !out)
        rc = KH_ENOMEM;
    for (size_t i = 0; rc == KH_OK && i < m->n_origins; i++) {
        const Kaohe__Origin *o = m->origins[i];
        if (o->peer.len < 1 || o->peer.len > KH_PEER_MAX || o->events < 1 || !o->key[0] ||
            copy_str(out[i].key, sizeof out[i].key, o->key) != KH_OK) {
            rc = KH_EPROTO;
            break;
        }
        memcpy(out[i].peer, o->peer.data, o->peer.len);
        out[i].peer_len = o->peer.len;
        out[i].events = o->events;
        out[i].bytes = o->bytes;
        out[i].received_us = o->received_us;
    }
    if (rc == KH_OK) {
        *no = m->no;
        *v = out;
        *n = m->n_origins;
    } else {
        free(out);
    }
    kaohe__route__free_unpacked(m, NULL);
    return rc;
}

int kh_codec_committed_encode(const kh_committed_t *c, uint8_t **buf, size_t *len)
{
    Kaohe__Committed m;
    kaohe__committed__init(&m);
    m.seq = c->seq;
    m.batch = c->batch;
    m.closed_through = c->closed_through;
    char **names = NULL;
    if (c->nstations) {
        names = malloc(c->nstations * sizeof *names);
        if (!names)
            return KH_ENOMEM;
        for (size_t i = 0; i < c->nstations; i++)
            names[i] = c->stations[i];
    }
    m.n_stations = c->nstations;
    m.stations = names;
    int rc = pack(&m.base, buf, len);
    free(names);
    return rc;
}

int kh_codec_committed_decode(const uint8_t *buf, size_t len, kh_committed_t *c)
{
    memset(c, 0, sizeof *c);
    Kaohe__Committed *m = kaohe__committed__unpack(NULL, len, buf);
    if (!m)
        return KH_EPROTO;
    int rc = KH_OK;
    c->seq = m->seq;
    c->batch = m->batch;
    c->closed_through = m->closed_through;
    if (m->n_stations) {
        c->stations = calloc(m->n_stations, sizeof *c->stations);
        if (!c->stations) {
            rc = KH_ENOMEM;
            goto out;
        }
        c->nstations = m->n_stations;
        for (size_t i = 0; i < m->n_stations && rc == KH_OK; i++)
            rc = copy_str(c->stations[i], sizeof c->stations[i], m->stations[i]);
    }
out:
    kaohe__committed__free_unpacked(m, NULL);
    if (rc)
        kh_codec_committed_free(c);
    return rc;
}

void kh_codec_committed_free(kh_committed_t *c)
{
    if (!c)
        return;
    free(c->stations);
    c->stations = NULL;
    c->nstations = 0;
}

int kh_codec_query_encode(const kh_query_t *q, uint8_t **buf, size_t *len)
{
    Kaohe__Query m;
    kaohe__query__init(&m);
    m.tag = q->tag;
    m.kind = (Kaohe__QueryKind)q->kind;
    m.station = (char *)q->station;
    m.item = (char *)q->item;
    m.year = q->year;
    m.as_of = (char *)q->as_of;
    m.month = (char *)q->month;
    m.period = (char *)q->period;
    m.actor = (char *)q->actor;
    return pack(&m.base, buf, len);
}

int kh_codec_query_decode(const uint8_t *buf, size_t len, kh_query_t *q)
{
    memset(q, 0, sizeof *q);
    Kaohe__Query *m = kaohe__query__unpack(NULL, len, buf);
    if (!m)
        return KH_EPROTO;
    int rc = KH_EPROTO;
    if ((int)m->kind < (int)KH_Q_PING || (int)m->kind > (int)KH_Q_PUBLISH)
        goto out;
    q->tag = m->tag;
    q->kind = (kh_query_kind_t)m->kind;
    q->year = m->year;
    if ((rc = copy_str(q->station, sizeof q->station, m->station)) ||
        (rc = copy_str(q->item, sizeof q->item, m->item)) ||
        (rc = copy_str(q->as_of, sizeof q->as_of, m->as_of)) ||
        (rc = copy_str(q->month, sizeof q->month, m->month)) ||
        (rc = copy_str(q->period, sizeof q->period, m->period)) ||
        (rc = copy_str(q->actor, sizeof q->actor, m->actor)))
        goto out;
out:
    kaohe__query__free_unpacked(m, NULL);
    return rc;
}

int kh_codec_reply_encode(const kh_reply_t *r, uint8_t **buf, size_t *len)
{
    Kaohe__Reply m;
    kaohe__reply__init(&m);
    m.tag = r->tag;
    m.code = r->code;
    m.error = r->error ? r->error : EMPTY;
    m.json = r->json ? r->json : EMPTY;
    return pack(&m.base, buf, len);
}

int kh_codec_reply_decode(const uint8_t *buf, size_t len, kh_reply_t *r)
{
    memset(r, 0, sizeof *r);
    Kaohe__Reply *m = kaohe__reply__unpack(NULL, len, buf);
    if (!m)
        return KH_EPROTO;
    int rc = KH_OK;
    r->tag = m->tag;
    r->code = m->code;
    if ((m->error && *m->error && !(r->error = strdup(m->error))) ||
        (m->json && *m->json && !(r->json = strdup(m->json))))
        rc = KH_ENOMEM;
    kaohe__reply__free_unpacked(m, NULL);
    if (rc)
        kh_codec_reply_free(r);
    return rc;
}

void kh_codec_reply_free(kh_reply_t *r)
{
    if (!r)
        return;
    free(r->error);
    free(r->json);
    r->error = r->json = NULL;
}
