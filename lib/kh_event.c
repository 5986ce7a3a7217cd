/*
 * kh_event.c - events (SPEC section 5): enum names, the JSON Lines form and
 * validation.
 *
 * The rejection reasons have a fixed precedence (too_large, malformed,
 * unknown_type, forbidden, unknown_station, bad_time, out_of_range). The
 * parser can see some reasons that rank below ones only kh_event_check()
 * can decide (a bad time ranks below an unknown station), so it does not
 * return those: it notes them in deferred_time_err / deferred_range_err and
 * goes on reading, and kh_event_check() reports them in their turn. What the
 * parser returns itself (too_large, malformed, unknown_type) ranks above
 * everything it defers, so the first applicable reason always wins.
 *
 * Inside the parser the order matters too: the common fields are read
 * before the type is looked up (a line missing its id is malformed even
 * when its type is unknown), and a type's own fields only after it is known.
 *
 * Decimals (rates, points) become milli-units at the JSON boundary and are
 * never floating point afterwards.
 */
#include "kh_event.h"

#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_error.h"
#include "kh_scratch.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* enum names, from the X-macros of kh_event.h                         */
/* ------------------------------------------------------------------ */

#define NAME_OF(c, s) s,
static const char *const source_names[] = {KH_SOURCE_MAP(NAME_OF)};
static const char *const evtype_names[] = {KH_EVTYPE_MAP(NAME_OF)};
static const char *const case_kind_names[] = {KH_CASE_KIND_MAP(NAME_OF)};
static const char *const location_names[] = {KH_LOCATION_MAP(NAME_OF)};
static const char *const outcome_names[] = {KH_OUTCOME_MAP(NAME_OF)};
static const char *const category_names[] = {KH_CATEGORY_MAP(NAME_OF)};
static const char *const inspection_kind_names[] = {KH_INSPECTION_KIND_MAP(NAME_OF)};
static const char *const patrol_kind_names[] = {KH_PATROL_KIND_MAP(NAME_OF)};
static const char *const metric_names[] = {KH_METRIC_MAP(NAME_OF)};
#undef NAME_OF

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

_Static_assert(COUNT_OF(source_names) == KH_SRC_COUNT, "source table");
_Static_assert(COUNT_OF(evtype_names) == KH_EV_COUNT, "type table");
_Static_assert(COUNT_OF(case_kind_names) == KH_CASE_COUNT, "case table");
_Static_assert(COUNT_OF(location_names) == KH_LOC_COUNT, "location table");
_Static_assert(COUNT_OF(outcome_names) == KH_OUT_COUNT, "outcome table");
_Static_assert(COUNT_OF(category_names) == KH_CAT_COUNT, "category table");
_Static_assert(COUNT_OF(inspection_kind_names) == KH_INSP_COUNT, "insp table");
_Static_assert(COUNT_OF(patrol_kind_names) == KH_PATROL_COUNT, "patrol table");
_Static_assert(COUNT_OF(metric_names) == KH_METRIC_COUNT, "metric table");

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : NULL;
}

static int value_of(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++) {
        if (strcmp(s, names[i]) == 0)
            return i;
    }
    return -1;
}

#define ENUM_FNS(fn, table)                                                              \
    const char *kh_##fn##_name(int v)                                                    \
    {                                                                                    \
        return name_of(table, COUNT_OF(table), v);                                       \
    }                                                                                    \
    int kh_##fn##_parse(const char *s)                                                   \
    {                                                                                    \
        return value_of(table, COUNT_OF(table), s);                                      \
    }

ENUM_FNS(source, source_names)
ENUM_FNS(evtype, evtype_names)
ENUM_FNS(case_kind, case_kind_names)
ENUM_FNS(location, location_names)
ENUM_FNS(outcome, outcome_names)
ENUM_FNS(category, category_names)
ENUM_FNS(inspection_kind, inspection_kind_names)
ENUM_FNS(patrol_kind, patrol_kind_names)
ENUM_FNS(metric, metric_names)
#undef ENUM_FNS

kh_source_t kh_evtype_source(kh_evtype_t type)
{
    switch (type) {
    case KH_EV_CALL:
        return KH_SRC_DISPATCH;
    case KH_EV_LEGAL_REVIEW:
        return KH_SRC_LEGAL;
    case KH_EV_FINDING:
        return KH_SRC_ASSESSOR;
    default:
        return KH_SRC_STATION;
    }
}

/* ------------------------------------------------------------------ */
/* life cycle                                                           */
/* ------------------------------------------------------------------ */

void kh_event_init(kh_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->closed = KH_DAY_NONE;
    ev->count = 1;
}

void kh_event_clear(kh_event_t *ev)
{
    free(ev->note);
    free(ev->name);
    kh_event_init(ev);
}

int kh_event_copy(kh_event_t *dst, const kh_event_t *src)
{
    kh_event_clear(dst);
    char *note = src->note ? strdup(src->note) : NULL;
    char *name = src->name ? strdup(src->name) : NULL;
    if ((src->note && !note) || (src->name && !name)) {
        free(note);
        free(name);
        return KH_ENOMEM;
    }
    *dst = *src;
    dst->note = note;
    dst->name = name;
    return KH_OK;
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool period_eq(kh_period_t a, kh_period_t b)
{
    return a.kind == b.kind && a.year == b.year && a.index == b.index;
}

bool kh_event_equal(const kh_event_t *a, const kh_event_t *b)
{
    return a->source == b->source && a->type == b->type && strcmp(a->id, b->id) == 0 &&
           strcmp(a->station, b->station) == 0 && a->time == b->time &&
           str_eq(a->note, b->note) && strcmp(a->case_id, b->case_id) == 0 &&
           a->case_kind == b->case_kind && a->location == b->location &&
           a->rev == b->rev && a->void_ == b->void_ && a->outcome == b->outcome &&
           a->suspects == b->suspects && strcmp(a->place_id, b->place_id) == 0 &&
           a->category == b->category && str_eq(a->name, b->name) &&
           a->opened == b->opened && a->closed == b->closed &&
           a->inspection_kind == b->inspection_kind && a->in_platform == b->in_platform &&
           period_eq(a->month, b->month) && a->rate == b->rate &&
           strcmp(a->patrol_id, b->patrol_id) == 0 && a->patrol_kind == b->patrol_kind &&
           a->has_record == b->has_record && a->has_images == b->has_images &&
           a->posted == b->posted && period_eq(a->quarter, b->quarter) &&
           a->zones == b->zones && a->routes == b->routes &&
           a->focal_points == b->focal_points && a->time_slots == b->time_slots &&
           a->forces == b->forces && a->metric == b->metric &&
           strcmp(a->item, b->item) == 0 && strcmp(a->defect, b->defect) == 0 &&
           a->count == b->count && a->points == b->points &&
           a->has_points == b->has_points &&
           a->deferred_time_err == b->deferred_time_err &&
           a->deferred_range_err == b->deferred_range_err;
}

/* ------------------------------------------------------------------ */
/* JSON in                                                              */
/* ------------------------------------------------------------------ */

/* The parse state: the object and the first out-of-range value seen. */
typedef struct {
    json_t *obj;
    kh_event_t *ev;
    int range; /* KH_OK or KH_EOUT_OF_RANGE, deferred to the check */
} pctx_t;

static void out_of_range(pctx_t *c)
{
    c->range = KH_EOUT_OF_RANGE;
}

/* An absent key and JSON null are the same: "not given". */
static json_t *field(pctx_t *c, const char *key)
{
    json_t *v = json_object_get(c->obj, key);
    return json_is_null(v) ? NULL : v;
}

/* A string field; *out is NULL when an optional field is absent. */
static int get_str(pctx_t *c, const char *key, bool required, const char **out)
{
    json_t *v = field(c, key);
    *out = NULL;
    if (!v)
        return required ? KH_EMALFORMED : KH_OK;
    if (!json_is_string(v))
        return KH_EMALFORMED;
    *out = json_string_value(v);
    return KH_OK;
}

static int get_bool(pctx_t *c, const char *key, bool required, bool *out)
{
    json_t *v = field(c, key);
    if (!v)
        return required ? KH_EMALFORMED : KH_OK;
    if (!json_is_boolean(v))
        return KH_EMALFORMED;
    *out = json_is_true(v);
    return KH_OK;
}

/* An integer field. A real with an integral value is an integer; any other
 * real is a number outside the field's set (out of range, not malformed:
 * JSON has one number type). *present tells whether it was given. */
static int get_int(pctx_t *c, const char *key, bool required, int64_t *out, bool *present)
{
    json_t *v = field(c, key);
    *present = v != NULL;
    if (!v)
        return required ? KH_EMALFORMED : KH_OK;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        /* 2^63 is exact as a double; the range check precedes the cast. */
        if (d != floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
            out_of_range(c);
            *out = 0;
        } else {
            *out = (int64_t)d;
        }
    } else {
        return KH_EMALFORMED;
    }
    return KH_OK;
}

/* A decimal field, to milli-units. */
static int get_milli(pctx_t *c, const char *key, bool required, kh_milli_t *out,
                     bool *present)
{
    json_t *v = field(c, key);
    *present = v != NULL;
    if (!v)
        return required ? KH_EMALFORMED : KH_OK;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i > INT64_C(1000000000000) || i < -INT64_C(1000000000000))
            out_of_range(c);
        else
            *out = KH_MILLI(i);
    } else if (json_is_real(v)) {
        if (!kh_milli_from_double(json_real_value(v), out))
            out_of_range(c);
    } else {
        return KH_EMALFORMED;
    }
    return KH_OK;
}

/* Copies an identifier into a fixed buffer of cap bytes. Empty or longer
 * than cap - 1 bytes is out of range; a long one is still copied, cut at a
 * UTF-8 character boundary, so that a rejection can name it. */
static void copy_ident(pctx_t *c, char *dst, size_t cap, const char *src, bool empty_ok)
{
    size_t len = strlen(src);
    if ((len == 0 && !empty_ok) || len >= cap) {
        out_of_range(c);
        if (len >= cap) {
            len = cap - 1;
            while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
                len--;
        }
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* A required identifier field ("case_id", "place_id", ...). */
static int get_ident(pctx_t *c, const char *key, char *dst, size_t cap)
{
    const char *s;
    int rc = get_str(c, key, true, &s);
    if (rc == KH_OK)
        copy_ident(c, dst, cap, s, false);
    return rc;
}

/* A required enum field; an unknown name is out of range. */
static int get_enum(pctx_t *c, const char *key, int (*parse)(const char *), int *out)
{
    const char *s;
    int rc = get_str(c, key, true, &s);
    if (rc != KH_OK)
        return rc;
    int v = parse(s);
    if (v < 0)
        out_of_range(c);
    *out = v < 0 ? 0 : v;
    return KH_OK;
}

/* A "YYYY-MM-DD" date field; *out stays KH_DAY_NONE when absent. */
static int get_date(pctx_t *c, const char *key, bool required, kh_day_t *out)
{
    const char *s;
    int rc = get_str(c, key, required, &s);
    if (rc != KH_OK || !s)
        return rc;
    if (kh_day_parse(s, out) != KH_OK) {
        out_of_range(c);
        *out = KH_DAY_NONE;
    }
    return KH_OK;
}

/* "rev": optional, default 0, never negative. */
static int get_rev(pctx_t *c)
{
    bool present;
    int64_t rev = 0;
    int rc = get_int(c, "rev", false, &rev, &present);
    if (rc == KH_OK && present) {
        if (rev < 0)
            out_of_range(c);
        else
            c->ev->rev = rev;
    }
    return rc;
}

/* A decimal in 0..100 (a rate or an occupancy), into ev->rate, with at
 * most `decimals` decimals (SPEC: a rate's value has one). */
static int get_percent(pctx_t *c, const char *key, int decimals)
{
    bool present;
    kh_milli_t v = 0;
    int rc = get_milli(c, key, true, &v, &present);
    if (rc != KH_OK)
        return rc;
    kh_milli_t unit = decimals >= 3 ? 1 : decimals == 2 ? 10 : decimals == 1 ? 100 : 1000;
    if (v < 0 || v > KH_MILLI(100) || v % unit != 0)
        out_of_range(c);
    c->ev->rate = v;
    return KH_OK;
}

/* Points are exact to the hundredth (SPEC section 3 prints two decimals):
 * a finer amount would print one way and rank another. */
static void check_points_precision(pctx_t *c, kh_milli_t v)
{
    if (v % 10 != 0)
        out_of_range(c);
}

/* The fields of each type (SPEC section 5). Returns KH_OK or
 * KH_EMALFORMED; values outside their sets go to c->range. */
static int parse_body(pctx_t *c)
{
    kh_event_t *ev = c->ev;
    int rc = KH_OK, v = 0;
    bool present;
    int64_t n;
    const char *s;

    switch (ev->type) {
    case KH_EV_CALL:
        if ((rc = get_ident(c, "case_id", ev->case_id, sizeof ev->case_id)) ||
            (rc = get_enum(c, "case_kind", kh_case_kind_parse, &v)))
            return rc;
        ev->case_kind = (kh_case_kind_t)v;
        if ((rc = get_enum(c, "location", kh_location_parse, &v)))
            return rc;
        ev->location = (kh_location_t)v;
        if ((rc = get_rev(c)) || (rc = get_bool(c, "void", false, &ev->void_)))
            return rc;
        break;

    case KH_EV_LEGAL_REVIEW:
        if ((rc = get_ident(c, "case_id", ev->case_id, sizeof ev->case_id)))
            return rc;
        if ((rc = get_str(c, "outcome", true, &s)))
            return rc;
        v = kh_outcome_parse(s);
        if (v < 0)
            out_of_range(c);
        ev->outcome = v < 0 ? KH_OUT_CAUGHT_IN_ACT : (kh_outcome_t)v;
        /* suspects is required only when suspects were arrested; when
         * given with another outcome it is kept, and must still make
         * sense as a count. */
        n = 0;
        if ((rc = get_int(c, "suspects", v == KH_OUT_SUSPECTS_ARRESTED, &n, &present)))
            return rc;
        if (present) {
            if (n < 0 || n > INT32_MAX || (v == KH_OUT_SUSPECTS_ARRESTED && n < 1))
                out_of_range(c);
            else
                ev->suspects = (int32_t)n;
        }
        if ((rc = get_rev(c)))
            return rc;
        break;

    case KH_EV_PLACE:
        if ((rc = get_ident(c, "place_id", ev->place_id, sizeof ev->place_id)) ||
            (rc = get_enum(c, "category", kh_category_parse, &v)))
            return rc;
        ev->category = (kh_category_t)v;
        if ((rc = get_str(c, "name", true, &s)))
            return rc;
        if (!(ev->name = strdup(s)))
            return KH_ENOMEM;
        ev->opened = KH_DAY_NONE;
        if ((rc = get_date(c, "opened", true, &ev->opened)) ||
            (rc = get_date(c, "closed", false, &ev->closed)))
            return rc;
        if (ev->opened == KH_DAY_NONE)
            ev->opened = 0; /* unparseable, already out of range */
        else if (ev->closed != KH_DAY_NONE && ev->closed < ev->opened)
            out_of_range(c);
        break;

    case KH_EV_INSPECTION:
        if ((rc = get_ident(c, "place_id", ev->place_id, sizeof ev->place_id)) ||
            (rc = get_enum(c, "kind", kh_inspection_kind_parse, &v)))
            return rc;
        ev->inspection_kind = (kh_inspection_kind_t)v;
        if ((rc = get_bool(c, "in_platform", true, &ev->in_platform)))
            return rc;
        break;

    case KH_EV_OCCUPANCY:
        if ((rc = get_ident(c, "place_id", ev->place_id, sizeof ev->place_id)) ||
            (rc = get_str(c, "month", true, &s)))
            return rc;
        if (kh_month_parse(s, &ev->month) != KH_OK)
            out_of_range(c);
        if ((rc = get_percent(c, "rate", 2)))
            return rc;
        break;

    case KH_EV_PATROL:
        if ((rc = get_ident(c, "patrol_id", ev->patrol_id, sizeof ev->patrol_id)) ||
            (rc = get_enum(c, "kind", kh_patrol_kind_parse, &v)))
            return rc;
        ev->patrol_kind = (kh_patrol_kind_t)v;
        if ((rc = get_bool(c, "has_record", true, &ev->has_record)) ||
            (rc = get_bool(c, "has_images", true, &ev->has_images)))
            return rc;
        break;

    case KH_EV_NOTICE:
        rc = get_bool(c, "posted", true, &ev->posted);
        break;

    case KH_EV_EDUCATION:
        if ((rc = get_bool(c, "has_record", true, &ev->has_record)) ||
            (rc = get_bool(c, "has_images", true, &ev->has_images)))
            return rc;
        break;

    case KH_EV_MEETING:
    case KH_EV_TRAINING:
        break;

    case KH_EV_CAMPAIGN:
        rc = get_bool(c, "has_record", true, &ev->has_record);
        break;

    case KH_EV_PATROL_PLAN:
        if ((rc = get_str(c, "quarter", true, &s)))
            return rc;
        if (kh_quarter_parse(s, &ev->quarter) != KH_OK)
            out_of_range(c);
        if ((rc = get_bool(c, "zones", true, &ev->zones)) ||
            (rc = get_bool(c, "routes", true, &ev->routes)) ||
            (rc = get_bool(c, "focal_points", true, &ev->focal_points)) ||
            (rc = get_bool(c, "time_slots", true, &ev->time_slots)) ||
            (rc = get_bool(c, "forces", true, &ev->forces)))
            return rc;
        break;

    case KH_EV_RATE:
        if ((rc = get_enum(c, "metric", kh_metric_parse, &v)))
            return rc;
        ev->metric = (kh_metric_t)v;
        rc = get_percent(c, "value", 1);
        break;

    case KH_EV_FINDING:
        if ((rc = get_ident(c, "item", ev->item, sizeof ev->item)) ||
            (rc = get_ident(c, "defect", ev->defect, sizeof ev->defect)) ||
            (rc = get_str(c, "place_id", false, &s)))
            return rc;
        if (s)
            copy_ident(c, ev->place_id, sizeof ev->place_id, s, false);
        n = 1;
        if ((rc = get_int(c, "count", false, &n, &present)))
            return rc;
        if (present) {
            if (n < 1 || n > INT32_MAX)
                out_of_range(c);
            else
                ev->count = (int32_t)n;
        }
        if ((rc = get_milli(c, "points", false, &ev->points, &present)))
            return rc;
        ev->has_points = present;
        if (present)
            check_points_precision(c, ev->points);
        if (present && ev->points < 0)
            out_of_range(c);
        break;

    case KH_EV_SELF_SCORE:
        if ((rc = get_ident(c, "item", ev->item, sizeof ev->item)) ||
            (rc = get_milli(c, "points", true, &ev->points, &present)))
            return rc;
        check_points_precision(c, ev->points);
        if (ev->points < 0)
            out_of_range(c);
        break;

    default:
        return KH_EUNKNOWN_TYPE;
    }
    return rc;
}

static int parse_object(json_t *root, kh_event_t *ev)
{
    if (!json_is_object(root))
        return KH_EMALFORMED;
    pctx_t c = {root, ev, KH_OK};
    const char *id, *source, *type, *time, *station, *note;
    int rc;

    /* The id first, so that even a malformed line can be answered by id. */
    if ((rc = get_str(&c, "id", true, &id)))
        return rc;
    copy_ident(&c, ev->id, sizeof ev->id, id, false);
    if ((rc = get_str(&c, "source", true, &source)) ||
        (rc = get_str(&c, "type", true, &type)) ||
        (rc = get_str(&c, "time", true, &time)) ||
        (rc = get_str(&c, "station", true, &station)) ||
        (rc = get_str(&c, "note", false, &note)))
        return rc;
    /* An empty or unknown but short station is the check's to judge
     * (unknown_station); only one that cannot be a code is out of range. */
    copy_ident(&c, ev->station, sizeof ev->station, station, true);
    if (kh_time_parse(time, &ev->time) != KH_OK) {
        ev->time = 0;
        ev->deferred_time_err = KH_EBAD_TIME;
    }
    if (note && !(ev->note = strdup(note)))
        return KH_ENOMEM;

    int t = kh_evtype_parse(type);
    if (t < 0)
        return KH_EUNKNOWN_TYPE;
    ev->type = (kh_evtype_t)t;
    int src = kh_source_parse(source);
    if (src < 0) {
        /* An unknown source is a value outside its set, which ranks below
         * forbidden: stand in the type's own source so that the forbidden
         * check judges only the sender. */
        out_of_range(&c);
        src = (int)kh_evtype_source(ev->type);
    }
    ev->source = (kh_source_t)src;

    if ((rc = parse_body(&c)))
        return rc;
    ev->deferred_range_err = c.range;
    return KH_OK;
}

int kh_event_parse_json(const char *line, size_t len, kh_event_t *ev)
{
    if (len > KH_EVENT_MAX_BYTES)
        return KH_ETOO_LARGE;
    json_error_t jerr;
    /* The parsed tree lives only in this call: its blocks come from the
     * thread's scratch arena (kh_scratch.h). */
    kh_scratch_use_for_json();
    bool scope = kh_scratch_begin();
    /* Without JSON_DECODE_ANY only an object or array parses; trailing
     * garbage and "\u0000" in strings are refused by jansson itself. */
    json_t *root = json_loadb(line, len, 0, &jerr);
    int rc = KH_EMALFORMED;
    if (root) {
        rc = parse_object(root, ev);
        json_decref(root);
    }
    kh_scratch_end(scope);
    return rc;
}

/* ------------------------------------------------------------------ */
/* validation in context                                                */
/* ------------------------------------------------------------------ */

/* May this identity send this event? (SPEC section 7: one key per feed
 * role, and a station's key speaks only for its own station.) */
static bool sender_may_send(const char *sender, const kh_event_t *ev)
{
    static const char prefix[] = "station-";
    if (strcmp(sender, "dispatch") == 0)
        return ev->type == KH_EV_CALL;
    if (strcmp(sender, "legal") == 0)
        return ev->type == KH_EV_LEGAL_REVIEW;
    if (strcmp(sender, "assessor") == 0)
        return ev->type == KH_EV_FINDING;
    if (strncmp(sender, prefix, sizeof prefix - 1) == 0) {
        const char *code = sender + sizeof prefix - 1;
        return kh_evtype_source(ev->type) == KH_SRC_STATION && *code &&
               strcmp(code, ev->station) == 0;
    }
    return false; /* "admin" and anything unknown send nothing */
}

static const kh_item_t *find_item(const kh_catalog_t *cat, const char *id)
{
    for (size_t i = 0; i < cat->nitems; i++) {
        if (strcmp(cat->items[i].id, id) == 0)
            return &cat->items[i];
    }
    return NULL;
}

static const kh_defect_t *find_defect(const kh_item_t *item, const char *code)
{
    for (size_t i = 0; i < item->ndefects; i++) {
        if (strcmp(item->defects[i].code, code) == 0)
            return &item->defects[i];
    }
    return NULL;
}

/* A finding names a defect of its item; a ranged defect takes points
 * within the rule's range (and no count), a fixed one a count (and no
 * points: its amount is the catalog's). */
static int check_finding(const kh_event_t *ev, const kh_catalog_t *cat)
{
    const kh_item_t *item = find_item(cat, ev->item);
    const kh_defect_t *d = item ? find_defect(item, ev->defect) : NULL;
    if (!d)
        return KH_EOUT_OF_RANGE;
    if (d->ranged) {
        if (!ev->has_points || ev->points < d->min || ev->points > d->max ||
            ev->count != 1)
            return KH_EOUT_OF_RANGE;
    } else if (ev->has_points) {
        return KH_EOUT_OF_RANGE;
    }
    return KH_OK;
}

int kh_event_check(const kh_event_t *ev, const struct kh_county *county,
                   const struct kh_catalog *catalog, const char *sender, kh_usec_t now)
{
    if ((int)ev->type < 0 || ev->type >= KH_EV_COUNT)
        return KH_EUNKNOWN_TYPE;
    /* forbidden */
    if (kh_evtype_source(ev->type) != ev->source)
        return KH_EFORBIDDEN;
    if (sender && !sender_may_send(sender, ev))
        return KH_EFORBIDDEN;
    /* unknown_station */
    if (county && kh_county_find(county, ev->station) < 0)
        return KH_EUNKNOWN_STATION;
    /* bad_time */
    if (ev->deferred_time_err != KH_OK)
        return ev->deferred_time_err;
    if (ev->time > now && ev->time - now > KH_USEC_PER_DAY)
        return KH_EBAD_TIME;
    /* out_of_range */
    if (ev->deferred_range_err != KH_OK)
        return ev->deferred_range_err;
    if (catalog) {
        if (ev->type == KH_EV_FINDING)
            return check_finding(ev, catalog);
        if (ev->type == KH_EV_SELF_SCORE &&
            (!find_item(catalog, ev->item) || ev->points < 0))
            return KH_EOUT_OF_RANGE;
    }
    return KH_OK;
}

/* ------------------------------------------------------------------ */
/* JSON out                                                             */
/* ------------------------------------------------------------------ */

/* Sets a key; false when the value could not be made or set (the value is
 * released either way, as json_object_set_new does). */
static bool put(json_t *o, const char *key, json_t *v)
{
    return v && json_object_set_new(o, key, v) == 0;
}

static bool put_str(json_t *o, const char *key, const char *s)
{
    return put(o, key, json_string(s ? s : ""));
}

static bool put_bool(json_t *o, const char *key, bool b)
{
    return put(o, key, json_boolean(b));
}

static bool put_milli(json_t *o, const char *key, kh_milli_t v)
{
    return put(o, key, json_real(kh_milli_to_double(v)));
}

static bool put_enum(json_t *o, const char *key, const char *name)
{
    return name && put_str(o, key, name);
}

static bool put_period(json_t *o, const char *key, kh_period_t p)
{
    char buf[16];
    return put_str(o, key, kh_period_format(p, buf));
}

static bool put_day(json_t *o, const char *key, kh_day_t d)
{
    char buf[11];
    return put_str(o, key, kh_day_format(d, buf));
}

static bool body_to_json(json_t *o, const kh_event_t *ev)
{
    bool ok = true;
    switch (ev->type) {
    case KH_EV_CALL:
        ok = put_str(o, "case_id", ev->case_id) &&
             put_enum(o, "case_kind", kh_case_kind_name(ev->case_kind)) &&
             put_enum(o, "location", kh_location_name(ev->location));
        if (ok && ev->rev != 0)
            ok = put(o, "rev", json_integer(ev->rev));
        if (ok && ev->void_)
            ok = put_bool(o, "void", true);
        break;
    case KH_EV_LEGAL_REVIEW:
        ok = put_str(o, "case_id", ev->case_id) &&
             put_enum(o, "outcome", kh_outcome_name(ev->outcome));
        if (ok && (ev->outcome == KH_OUT_SUSPECTS_ARRESTED || ev->suspects))
            ok = put(o, "suspects", json_integer(ev->suspects));
        if (ok && ev->rev != 0)
            ok = put(o, "rev", json_integer(ev->rev));
        break;
    case KH_EV_PLACE:
        ok = put_str(o, "place_id", ev->place_id) &&
             put_enum(o, "category", kh_category_name(ev->category)) &&
             put_str(o, "name", ev->name) && put_day(o, "opened", ev->opened);
        if (ok && ev->closed != KH_DAY_NONE)
            ok = put_day(o, "closed", ev->closed);
        break;
    case KH_EV_INSPECTION:
        ok = put_str(o, "place_id", ev->place_id) &&
             put_enum(o, "kind", kh_inspection_kind_name(ev->inspection_kind)) &&
             put_bool(o, "in_platform", ev->in_platform);
        break;
    case KH_EV_OCCUPANCY:
        ok = put_str(o, "place_id", ev->place_id) && put_period(o, "month", ev->month) &&
             put_milli(o, "rate", ev->rate);
        break;
    case KH_EV_PATROL:
        ok = put_str(o, "patrol_id", ev->patrol_id) &&
             put_enum(o, "kind", kh_patrol_kind_name(ev->patrol_kind)) &&
             put_bool(o, "has_record", ev->has_record) &&
             put_bool(o, "has_images", ev->has_images);
        break;
    case KH_EV_NOTICE:
        ok = put_bool(o, "posted", ev->posted);
        break;
    case KH_EV_EDUCATION:
        ok = put_bool(o, "has_record", ev->has_record) &&
             put_bool(o, "has_images", ev->has_images);
        break;
    case KH_EV_MEETING:
    case KH_EV_TRAINING:
        break;
    case KH_EV_CAMPAIGN:
        ok = put_bool(o, "has_record", ev->has_record);
        break;
    case KH_EV_PATROL_PLAN:
        ok = put_period(o, "quarter", ev->quarter) && put_bool(o, "zones", ev->zones) &&
             put_bool(o, "routes", ev->routes) &&
             put_bool(o, "focal_points", ev->focal_points) &&
             put_bool(o, "time_slots", ev->time_slots) &&
             put_bool(o, "forces", ev->forces);
        break;
    case KH_EV_RATE:
        ok = put_enum(o, "metric", kh_metric_name(ev->metric)) &&
             put_milli(o, "value", ev->rate);
        break;
    case KH_EV_FINDING:
        ok = put_str(o, "item", ev->item) && put_str(o, "defect", ev->defect);
        if (ok && ev->place_id[0])
            ok = put_str(o, "place_id", ev->place_id);
        if (ok && ev->count != 1)
            ok = put(o, "count", json_integer(ev->count));
        if (ok && ev->has_points)
            ok = put_milli(o, "points", ev->points);
        break;
    case KH_EV_SELF_SCORE:
        ok = put_str(o, "item", ev->item) && put_milli(o, "points", ev->points);
        break;
    default:
        ok = false;
        break;
    }
    return ok;
}

struct json_t *kh_event_to_json(const kh_event_t *ev)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    char when[32];
    bool ok = put_str(o, "id", ev->id) &&
              put_enum(o, "source", kh_source_name(ev->source)) &&
              put_enum(o, "type", kh_evtype_name(ev->type)) &&
              put_str(o, "time", kh_time_format(ev->time, when)) &&
              put_str(o, "station", ev->station) && body_to_json(o, ev);
    if (ok && ev->note)
        ok = put_str(o, "note", ev->note);
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}
