/*
 * kh_catalog.c - the rule catalog (SPEC section 4) from JSON, validated.
 *
 * The catalog is data: sections with their maxima, items in the standard's
 * order with the standard's columns, each item's finding defects, and each
 * item's rules as parameters of one of the engine's rule kinds
 * (kh_rule_kind_t). The engine (kh_score.c) dispatches on the kind only, so
 * a county changes an amount, a period or a requirement, or adds a section,
 * by editing rules/catalog.json.
 *
 * The format (every amount is points, a JSON number or a decimal string
 * with at most three decimals; "note" is allowed everywhere as a comment):
 *
 *   {"title": "...",
 *    "sections": [{"id": "1", "title": "治安管理", "max": 15}, ...],
 *    "items": [{"id": "1.1.1", "section": "1",
 *               "project": 项目, "content": 内容, "standard": 标准,
 *               "value": 分值, "method": 方法, "cycle": 考核周期,
 *               "source": 数据来源, "remark": 备注 (optional),
 *               "defects": [{"code": "unregistered", "points": 0.1},
 *                           {"code": "incomplete_materials", "range": [2, 5]},
 *                           {"code": "late_update", "points": 0.2,
 *                            "each_time": true}],
 *               "rules": [{"kind": ..., parameters}]}, ...]}
 *
 * Rule kinds and their parameters ("what" names the counted thing in
 * explain sentences; "applies" is "all" (default), "urban" or
 * "non_urban"):
 *   finding           the item's defects, as findings name them
 *   case              case_kinds (names, or {"policy": "three_class_kinds"}),
 *                     locations, points per case, optional caught_in_act
 *                     {"waive": bool, "bonus": amount}, suspect_bonus
 *   count_per_period  match, period, required, points per missing,
 *                     optional no_images_points
 *   every_subperiod   match, period, subperiod, points (once a period)
 *   place_inspection  categories, match (inspection), period, required,
 *                     points per missing
 *   occupancy_check   categories, below (a rate), match (inspection), points
 *   rate              metric, target, step, points per whole step
 *   plan              fields (that must be present), points (no plan),
 *                     incomplete_points
 *   urban_rank        match, points per count behind the top (month)
 * A "match" is {"event": type, "kind": patrol or inspection kind (optional),
 * "require": [flags]}; flags are has_record, has_images, in_platform,
 * posted, each only for the event types that carry it. "period",
 * "required" and "require" may depend on the station: an object with
 * "urban", "1", "2", "3" and "default" keys (urban first, then class, then
 * default); "required" may also be {"policy": "required_patrols"}.
 *
 * Invariants after a successful load: ids are unique; every item's section
 * exists and items are grouped by section in the sections' order; an item
 * has defects exactly when it has (one) finding rule; every by-station
 * table is filled for all six (urban, class) profiles. Errors name the
 * field: "items[3].rules[0].period: unknown period kind".
 */
#include "kh_catalog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "kh_error.h"

#ifndef KH_SOURCE_DIR
#define KH_SOURCE_DIR "."
#endif
#ifndef KH_INSTALL_DATADIR
#define KH_INSTALL_DATADIR "/usr/local/share/kaohe"
#endif

#define MAX_FILE_BYTES (4u << 20)
#define MAX_SECTIONS   64
#define MAX_ITEMS      1024
#define MAX_PER_ITEM   64
#define MAX_TEXT       65536
#define MAX_AMOUNT     KH_MILLI(1000)
#define MAX_REQUIRED   10000
#define PATH_LEN       96

static const char *const rule_kind_names[KH_RULE__COUNT] = {"finding",
                                                            "case",
                                                            "count_per_period",
                                                            "every_subperiod",
                                                            "place_inspection",
                                                            "occupancy_check",
                                                            "rate",
                                                            "plan",
                                                            "urban_rank"};

const char *kh_rule_kind_name(kh_rule_kind_t kind)
{
    if ((int)kind < 0 || kind >= KH_RULE__COUNT)
        return NULL;
    return rule_kind_names[kind];
}

/* ------------------------------------------------------------------ */
/* errors                                                               */
/* ------------------------------------------------------------------ */

typedef struct lctx {
    char *err;
    size_t errlen;
} lctx_t;

__attribute__((format(printf, 3, 4))) static int fail(lctx_t *c, const char *path,
                                                      const char *fmt, ...)
{
    if (c->err && c->errlen) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(c->err, c->errlen, "%s: %s", path, msg);
    }
    return KH_ECONFIG;
}

/* path + "." + key into out (PATH_LEN bytes; a longer path is cut, which
 * only shortens a message). */
static const char *sub(char *out, const char *path, const char *key)
{
    int n = *path ? snprintf(out, PATH_LEN, "%s.%s", path, key)
                  : snprintf(out, PATH_LEN, "%s", key);
    if (n < 0)
        out[0] = '\0';
    return out;
}

/* path + "[i]" into out. */
static const char *idx(char *out, const char *path, size_t i)
{
    if (snprintf(out, PATH_LEN, "%s[%zu]", path, i) < 0)
        out[0] = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* field readers                                                        */
/* ------------------------------------------------------------------ */

/* Refuses keys outside allowed (NULL-terminated); "note" always passes. */
static int check_keys(lctx_t *c, json_t *obj, const char *path,
                      const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = strcmp(key, "note") == 0;
        for (size_t i = 0; !ok && allowed[i]; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            char p[PATH_LEN];
            return fail(c, sub(p, path, key), "unknown field");
        }
    }
    return KH_OK;
}

/* A string field; *out NULL when absent and not required. */
static int get_str(lctx_t *c, json_t *obj, const char *key, const char *path,
                   bool required, size_t maxlen, const char **out)
{
    char p[PATH_LEN];
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        if (required)
            return fail(c, sub(p, path, key), "missing");
        return KH_OK;
    }
    if (!json_is_string(v))
        return fail(c, sub(p, path, key), "must be a string");
    size_t n = json_string_length(v);
    if (n > maxlen)
        return fail(c, sub(p, path, key), "longer than %zu bytes", maxlen);
    if (strlen(json_string_value(v)) != n)
        return fail(c, sub(p, path, key), "contains a NUL byte");
    *out = json_string_value(v);
    return KH_OK;
}

/* An owned copy of a string field ("" when absent and not required). */
static int dup_str(lctx_t *c, json_t *obj, const char *key, const char *path,
                   bool required, char **out)
{
    const char *s;
    int rc = get_str(c, obj, key, path, required, MAX_TEXT, &s);
    if (rc)
        return rc;
    *out = strdup(s ? s : "");
    return *out ? KH_OK : KH_ENOMEM;
}

/* An amount in points, as a JSON number or a decimal string, into
 * milli-points within [lo, hi]. */
static int amount_of(lctx_t *c, json_t *v, const char *path, kh_milli_t lo, kh_milli_t hi,
                     kh_milli_t *out)
{
    kh_milli_t m = 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < -1000000 || i > 1000000)
            return fail(c, path, "out of range");
        m = KH_MILLI(i);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!kh_milli_from_double(d, &m) || kh_milli_to_double(m) != d)
            return fail(c, path, "must have at most three decimals");
    } else if (json_is_string(v)) {
        if (!kh_milli_parse(json_string_value(v), &m))
            return fail(c, path, "not a decimal with at most three decimals");
    } else {
        return fail(c, path, "must be a number");
    }
    if (m < lo || m > hi) {
        char a[32], b[32];
        return fail(c, path, "must be between %s and %s", kh_milli_format2(lo, a),
                    kh_milli_format2(hi, b));
    }
    *out = m;
    return KH_OK;
}

/* An amount field; left as is when absent and not required. */
static int get_amount(lctx_t *c, json_t *obj, const char *key, const char *path,
                      bool required, kh_milli_t lo, kh_milli_t hi, kh_milli_t *out)
{
    char p[PATH_LEN];
    json_t *v = json_object_get(obj, key);
    sub(p, path, key);
    if (!v) {
        if (required)
            return fail(c, p, "missing");
        return KH_OK;
    }
    return amount_of(c, v, p, lo, hi, out);
}

static int get_bool(lctx_t *c, json_t *obj, const char *key, const char *path, bool *out)
{
    char p[PATH_LEN];
    json_t *v = json_object_get(obj, key);
    if (!v)
        return KH_OK;
    if (!json_is_boolean(v))
        return fail(c, sub(p, path, key), "must be true or false");
    *out = json_is_true(v);
    return KH_OK;
}

/* A list of enum names into a bool set (at least one name). */
static int get_name_set(lctx_t *c, json_t *obj, const char *key, const char *path,
                        int (*parse)(const char *), bool *set, int count,
                        const char *what)
{
    char p[PATH_LEN], q[PATH_LEN];
    json_t *v = json_object_get(obj, key);
    sub(p, path, key);
    if (!v)
        return fail(c, p, "missing");
    if (!json_is_array(v) || json_array_size(v) == 0)
        return fail(c, p, "must be a non-empty array of %s names", what);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        int k = json_is_string(e) ? parse(json_string_value(e)) : -1;
        if (k < 0 || k >= count)
            return fail(c, idx(q, p, i), "unknown %s", what);
        if (set[k])
            return fail(c, idx(q, p, i), "%s listed twice", what);
        set[k] = true;
    }
    return KH_OK;
}

/* ------------------------------------------------------------------ */
/* values by station                                                    */
/* ------------------------------------------------------------------ */

/* Parses one plain value at path into slot. */
typedef int (*one_fn)(lctx_t *c, json_t *v, const char *path, void *slot, void *arg);

static const char *const by_station_keys[] = {"urban", "1", "2", "3", "default", NULL};

/*
 * A value that may depend on the station, into a [2][4] table of elsize
 * slots. A JSON object is the by-station form; anything else is one value
 * for every station.
 */
static int by_station(lctx_t *c, json_t *v, const char *path, one_fn one, void *arg,
                      void *table, size_t elsize)
{
    unsigned char tmp[5][16]; /* parsed per key: urban, 1, 2, 3, default */
    bool have[5] = {false};
    int rc;
    if (elsize > sizeof tmp[0])
        return KH_EINVAL;
    if (!json_is_object(v)) {
        if ((rc = one(c, v, path, tmp[4], arg)))
            return rc;
        have[4] = true;
    } else {
        if ((rc = check_keys(c, v, path, by_station_keys)))
            return rc;
        for (int k = 0; k < 5; k++) {
            json_t *e = json_object_get(v, by_station_keys[k]);
            char p[PATH_LEN];
            if (!e)
                continue;
            if ((rc = one(c, e, sub(p, path, by_station_keys[k]), tmp[k], arg)))
                return rc;
            have[k] = true;
        }
        if (!have[4] && !(have[1] && have[2] && have[3]))
            return fail(c, path, "needs \"default\" or a value for each class 1, 2, 3");
    }
    unsigned char *t = table;
    for (int u = 0; u < 2; u++) {
        memset(t + (size_t)(u * 4) * elsize, 0, elsize);
        for (int k = 1; k <= 3; k++) {
            int from = (u && have[0]) ? 0 : have[k] ? k : 4;
            memcpy(t + (size_t)(u * 4 + k) * elsize, tmp[from], elsize);
        }
    }
    return KH_OK;
}

static int one_period(lctx_t *c, json_t *v, const char *path, void *slot, void *arg)
{
    (void)arg;
    kh_period_kind_t k;
    if (!json_is_string(v) || kh_period_kind_parse(json_string_value(v), &k) != KH_OK)
        return fail(c, path, "unknown period kind");
    memcpy(slot, &k, sizeof k);
    return KH_OK;
}

static int one_count(lctx_t *c, json_t *v, const char *path, void *slot, void *arg)
{
    (void)arg;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > MAX_REQUIRED)
        return fail(c, path, "must be an integer from 0 to %d", MAX_REQUIRED);
    int32_t n = (int32_t)json_integer_value(v);
    memcpy(slot, &n, sizeof n);
    return KH_OK;
}

static const struct {
    const char *name;
    unsigned flag;
} flag_names[] = {{"has_record", KH_FLAG_HAS_RECORD},
                  {"has_images", KH_FLAG_HAS_IMAGES},
                  {"in_platform", KH_FLAG_IN_PLATFORM},
                  {"posted", KH_FLAG_POSTED}};

/* The flags each event type carries. */
static unsigned flags_of(kh_evtype_t t)
{
    switch (t) {
    case KH_EV_PATROL:
    case KH_EV_EDUCATION:
        return KH_FLAG_HAS_RECORD | KH_FLAG_HAS_IMAGES;
    case KH_EV_CAMPAIGN:
        return KH_FLAG_HAS_RECORD;
    case KH_EV_NOTICE:
        return KH_FLAG_POSTED;
    case KH_EV_INSPECTION:
        return KH_FLAG_IN_PLATFORM;
    default:
        return 0;
    }
}

static int one_flags(lctx_t *c, json_t *v, const char *path, void *slot, void *arg)
{
    kh_evtype_t type = *(const kh_evtype_t *)arg;
    char p[PATH_LEN];
    unsigned bits = 0;
    if (!json_is_array(v))
        return fail(c, path, "must be an array of flags");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        unsigned f = 0;
        for (size_t k = 0; json_is_string(e) && k < 4; k++)
            if (strcmp(json_string_value(e), flag_names[k].name) == 0)
                f = flag_names[k].flag;
        if (!f)
            return fail(c, idx(p, path, i), "unknown flag");
        if (!(flags_of(type) & f))
            return fail(c, idx(p, path, i), "%s events do not carry it",
                        kh_evtype_name(type));
        bits |= f;
    }
    memcpy(slot, &bits, sizeof bits);
    return KH_OK;
}

/* ------------------------------------------------------------------ */
/* rules                                                                */
/* ------------------------------------------------------------------ */

/* The event types a counting rule may count: those that are simply done
 * (or not) at a time. Calls, places, plans, rates and the rest have rule
 * kinds of their own. */
static bool countable(kh_evtype_t t)
{
    switch (t) {
    case KH_EV_PATROL:
    case KH_EV_NOTICE:
    case KH_EV_EDUCATION:
    case KH_EV_MEETING:
    case KH_EV_TRAINING:
    case KH_EV_CAMPAIGN:
    case KH_EV_INSPECTION:
        return true;
    default:
        return false;
    }
}

static int load_match(lctx_t *c, json_t *rule, const char *path, bool inspections_only,
                      kh_match_t *m)
{
    static const char *const keys[] = {"event", "kind", "require", NULL};
    char p[PATH_LEN], q[PATH_LEN];
    json_t *v = json_object_get(rule, "match");
    const char *s;
    int rc;
    sub(p, path, "match");
    if (!v)
        return fail(c, p, "missing");
    if (!json_is_object(v))
        return fail(c, p, "must be an object");
    if ((rc = check_keys(c, v, p, keys)) ||
        (rc = get_str(c, v, "event", p, true, 64, &s)))
        return rc;
    int t = kh_evtype_parse(s);
    if (t < 0)
        return fail(c, sub(q, p, "event"), "unknown event type");
    if (inspections_only ? t != KH_EV_INSPECTION : !countable((kh_evtype_t)t))
        return fail(c, sub(q, p, "event"), "%s events cannot be counted here", s);
    m->event = (kh_evtype_t)t;
    m->kind = -1;
    if ((rc = get_str(c, v, "kind", p, false, 64, &s)))
        return rc;
    if (s) {
        if (t == KH_EV_PATROL)
            m->kind = kh_patrol_kind_parse(s);
        else if (t == KH_EV_INSPECTION)
            m->kind = kh_inspection_kind_parse(s);
        else
            return fail(c, sub(q, p, "kind"), "%s events have no kind",
                        kh_evtype_name(m->event));
        if (m->kind < 0)
            return fail(c, sub(q, p, "kind"), "unknown %s kind",
                        kh_evtype_name(m->event));
    }
    json_t *req = json_object_get(v, "require");
    memset(m->require.of, 0, sizeof m->require.of);
    if (req) {
        kh_evtype_t type = m->event;
        rc = by_station(c, req, sub(q, p, "require"), one_flags, &type, m->require.of,
                        sizeof m->require.of[0][0]);
    }
    return rc;
}

static int load_period(lctx_t *c, json_t *rule, const char *path, kh_rule_t *r)
{
    char p[PATH_LEN];
    json_t *v = json_object_get(rule, "period");
    sub(p, path, "period");
    if (!v)
        return fail(c, p, "missing");
    return by_station(c, v, p, one_period, NULL, r->period.of, sizeof r->period.of[0][0]);
}

static int load_required(lctx_t *c, json_t *rule, const char *path, kh_rule_t *r)
{
    char p[PATH_LEN], q[PATH_LEN];
    json_t *v = json_object_get(rule, "required");
    sub(p, path, "required");
    if (!v)
        return fail(c, p, "missing");
    json_t *pol = json_is_object(v) ? json_object_get(v, "policy") : NULL;
    if (pol) {
        static const char *const keys[] = {"policy", NULL};
        int rc = check_keys(c, v, p, keys);
        if (rc)
            return rc;
        if (!json_is_string(pol) ||
            strcmp(json_string_value(pol), "required_patrols") != 0)
            return fail(c, sub(q, p, "policy"),
                        "the only policy count is \"required_patrols\"");
        r->required_policy = true;
        return KH_OK;
    }
    return by_station(c, v, p, one_count, NULL, r->required.of,
                      sizeof r->required.of[0][0]);
}

static int load_case(lctx_t *c, json_t *rule, const char *path, kh_rule_t *r)
{
    char p[PATH_LEN], q[PATH_LEN];
    int rc;
    json_t *kinds = json_object_get(rule, "case_kinds");
    sub(p, path, "case_kinds");
    if (json_is_object(kinds)) {
        static const char *const keys[] = {"policy", NULL};
        json_t *pol = json_object_get(kinds, "policy");
        if ((rc = check_keys(c, kinds, p, keys)))
            return rc;
        if (!json_is_string(pol) ||
            strcmp(json_string_value(pol), "three_class_kinds") != 0)
            return fail(c, sub(q, p, "policy"),
                        "the only policy list is \"three_class_kinds\"");
        r->case_kinds_policy = true;
    } else if ((rc = get_name_set(c, rule, "case_kinds", path, kh_case_kind_parse,
                                  r->case_kinds, KH_CASE_COUNT, "case kind"))) {
        return rc;
    }
    if ((rc = get_name_set(c, rule, "locations", path, kh_location_parse, r->locations,
                           KH_LOC_COUNT, "location")) ||
        (rc = get_amount(c, rule, "points", path, true, 0, MAX_AMOUNT, &r->points)) ||
        (rc = get_amount(c, rule, "suspect_bonus", path, false, 0, MAX_AMOUNT,
                         &r->suspect_bonus)))
        return rc;
    json_t *act = json_object_get(rule, "caught_in_act");
    if (act) {
        static const char *const keys[] = {"waive", "bonus", NULL};
        sub(p, path, "caught_in_act");
        if (!json_is_object(act))
            return fail(c, p, "must be an object");
        if ((rc = check_keys(c, act, p, keys)) ||
            (rc = get_bool(c, act, "waive", p, &r->in_act_waives)) ||
            (rc = get_amount(c, act, "bonus", p, false, 0, MAX_AMOUNT, &r->in_act_bonus)))
            return rc;
    }
    return KH_OK;
}

static int load_plan_fields(lctx_t *c, json_t *rule, const char *path, kh_rule_t *r)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"zones", KH_PLAN_ZONES},
                 {"routes", KH_PLAN_ROUTES},
                 {"focal_points", KH_PLAN_FOCAL_POINTS},
                 {"time_slots", KH_PLAN_TIME_SLOTS},
                 {"forces", KH_PLAN_FORCES}};
    char p[PATH_LEN], q[PATH_LEN];
    json_t *v = json_object_get(rule, "fields");
    sub(p, path, "fields");
    if (!v)
        return fail(c, p, "missing");
    if (!json_is_array(v))
        return fail(c, p, "must be an array of plan fields");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        unsigned bit = 0;
        for (size_t k = 0; json_is_string(e) && k < 5; k++)
            if (strcmp(json_string_value(e), names[k].name) == 0)
                bit = names[k].bit;
        if (!bit)
            return fail(c, idx(q, p, i), "unknown plan field");
        r->plan_fields |= bit;
    }
    return KH_OK;
}

/* The keys each kind takes besides kind, what and applies. */
static const char *const *kind_keys(kh_rule_kind_t k)
{
    static const char *const finding[] = {NULL};
    static const char *const kase[] = {"case_kinds",    "locations",     "points",
                                       "caught_in_act", "suspect_bonus", NULL};
    static const char *const count[] = {"match",  "period",           "required",
                                        "points", "no_images_points", NULL};
    static const char *const every[] = {"match", "period", "subperiod", "points", NULL};
    static const char *const place[] = {"categories", "match",  "period",
                                        "required",   "points", NULL};
    static const char *const occ[] = {"categories", "below", "match", "points", NULL};
    static const char *const rate[] = {"metric", "target", "step", "points", NULL};
    static const char *const plan[] = {"fields", "points", "incomplete_points", NULL};
    static const char *const urban[] = {"match", "points", NULL};
    switch (k) {
    case KH_RULE_FINDING:
        return finding;
    case KH_RULE_CASE:
        return kase;
    case KH_RULE_COUNT_PER_PERIOD:
        return count;
    case KH_RULE_EVERY_SUBPERIOD:
        return every;
    case KH_RULE_PLACE_INSPECTION:
        return place;
    case KH_RULE_OCCUPANCY_CHECK:
        return occ;
    case KH_RULE_RATE:
        return rate;
    case KH_RULE_PLAN:
        return plan;
    default:
        return urban;
    }
}

static int load_rule(lctx_t *c, json_t *v, const char *path, kh_rule_t *r)
{
    char p[PATH_LEN];
    const char *s;
    int rc;
    if (!json_is_object(v))
        return fail(c, path, "must be an object");
    if ((rc = get_str(c, v, "kind", path, true, 64, &s)))
        return rc;
    int kind = -1;
    for (int k = 0; k < KH_RULE__COUNT; k++)
        if (strcmp(s, rule_kind_names[k]) == 0)
            kind = k;
    if (kind < 0)
        return fail(c, sub(p, path, "kind"), "unknown rule kind");
    r->kind = (kh_rule_kind_t)kind;

    /* known keys: the common ones and the kind's */
    const char *const *mine = kind_keys(r->kind);
    const char *allowed[16];
    size_t n = 0;
    allowed[n++] = "kind";
    allowed[n++] = "what";
    allowed[n++] = "applies";
    for (size_t i = 0; mine[i] && n < 15; i++)
        allowed[n++] = mine[i];
    allowed[n] = NULL;
    if ((rc = check_keys(c, v, path, allowed)))
        return rc;

    r->applies = r->kind == KH_RULE_URBAN_RANK ? KH_APPLIES_URBAN : KH_APPLIES_ALL;
    if ((rc = get_str(c, v, "applies", path, false, 64, &s)))
        return rc;
    if (s) {
        if (strcmp(s, "all") == 0)
            r->applies = KH_APPLIES_ALL;
        else if (strcmp(s, "urban") == 0)
            r->applies = KH_APPLIES_URBAN;
        else if (strcmp(s, "non_urban") == 0)
            r->applies = KH_APPLIES_NON_URBAN;
        else
            return fail(c, sub(p, path, "applies"),
                        "must be \"all\", \"urban\" or \"non_urban\"");
    }
    if ((rc = get_str(c, v, "what", path, false, 256, &s)))
        return rc;
    r->what = strdup(s ? s : rule_kind_names[kind]);
    if (!r->what)
        return KH_ENOMEM;

    switch (r->kind) {
    case KH_RULE_FINDING:
        return KH_OK;
    case KH_RULE_CASE:
        return load_case(c, v, path, r);
    case KH_RULE_COUNT_PER_PERIOD:
        if ((rc = load_match(c, v, path, false, &r->match)) ||
            (rc = load_period(c, v, path, r)) || (rc = load_required(c, v, path, r)) ||
            (rc = get_amount(c, v, "points", path, true, 0, MAX_AMOUNT, &r->points)))
            return rc;
        rc = get_amount(c, v, "no_images_points", path, false, 0, MAX_AMOUNT,
                        &r->image_points);
        if (rc == KH_OK && r->image_points &&
            !(flags_of(r->match.event) & KH_FLAG_HAS_IMAGES))
            return fail(c, sub(p, path, "no_images_points"), "%s events carry no images",
                        kh_evtype_name(r->match.event));
        return rc;
    case KH_RULE_EVERY_SUBPERIOD: {
        json_t *sp = json_object_get(v, "subperiod");
        if ((rc = load_match(c, v, path, false, &r->match)) ||
            (rc = load_period(c, v, path, r)))
            return rc;
        sub(p, path, "subperiod");
        if (!sp)
            return fail(c, p, "missing");
        if ((rc = one_period(c, sp, p, &r->subperiod, NULL)))
            return rc;
        for (int u = 0; u < 2; u++)
            for (int k = 1; k <= 3; k++)
                if (r->subperiod >= r->period.of[u][k])
                    return fail(c, p, "must be shorter than the period");
        return get_amount(c, v, "points", path, true, 0, MAX_AMOUNT, &r->points);
    }
    case KH_RULE_PLACE_INSPECTION:
        if ((rc = get_name_set(c, v, "categories", path, kh_category_parse, r->categories,
                               KH_CAT_COUNT, "category")) ||
            (rc = load_match(c, v, path, true, &r->match)) ||
            (rc = load_period(c, v, path, r)) || (rc = load_required(c, v, path, r)))
            return rc;
        return get_amount(c, v, "points", path, true, 0, MAX_AMOUNT, &r->points);
    case KH_RULE_OCCUPANCY_CHECK:
        if ((rc = get_name_set(c, v, "categories", path, kh_category_parse, r->categories,
                               KH_CAT_COUNT, "category")) ||
            (rc = get_amount(c, v, "below", path, true, 0, KH_MILLI(100), &r->below)) ||
            (rc = load_match(c, v, path, true, &r->match)))
            return rc;
        return get_amount(c, v, "points", path, true, 0, MAX_AMOUNT, &r->points);
    case KH_RULE_RATE: {
        if ((rc = get_str(c, v, "metric", path, true, 64, &s)))
            return rc;
        int m = kh_metric_parse(s);
        if (m < 0)
            return fail(c, sub(p, path, "metric"), "unknown metric");
        r->metric = (kh_metric_t)m;
        if ((rc = get_amount(c, v, "target", path, true, 0, KH_MILLI(100), &r->target)) ||
            (rc = get_amount(c, v, "step", path, true, 1, KH_MILLI(100), &r->step)))
            return rc;
        return get_amount(c, v, "points", path, true, 0, MAX_AMOUNT, &r->points);
    }
    case KH_RULE_PLAN:
        if ((rc = load_plan_fields(c, v, path, r)) ||
            (rc = get_amount(c, v, "points", path, true, 0, MAX_AMOUNT, &r->points)))
            return rc;
        return get_amount(c, v, "incomplete_points", path, true, 0, MAX_AMOUNT,
                          &r->incomplete_points);
    case KH_RULE_URBAN_RANK:
        if ((rc = load_match(c, v, path, false, &r->match)))
            return rc;
        return get_amount(c, v, "points", path, true, 0, MAX_AMOUNT, &r->points);
    default:
        return fail(c, path, "unknown rule kind");
    }
}

/* ------------------------------------------------------------------ */
/* defects, items, sections                                             */
/* ------------------------------------------------------------------ */

static bool code_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static int load_defect(lctx_t *c, json_t *v, const char *path, kh_defect_t *d)
{
    static const char *const keys[] = {"code", "points", "range", "each_time", NULL};
    char p[PATH_LEN], q[PATH_LEN];
    const char *s;
    int rc;
    if (!json_is_object(v))
        return fail(c, path, "must be an object");
    if ((rc = check_keys(c, v, path, keys)) ||
        (rc = get_str(c, v, "code", path, true, KH_DEFECT_MAX, &s)))
        return rc;
    if (!code_ok(s))
        return fail(c, sub(p, path, "code"), "must be lower-case letters, digits and _");
    memcpy(d->code, s, strlen(s) + 1);
    json_t *pts = json_object_get(v, "points");
    json_t *range = json_object_get(v, "range");
    if (pts && range)
        return fail(c, sub(p, path, "range"), "give either points or range, not both");
    if (pts) {
        if ((rc = amount_of(c, pts, sub(p, path, "points"), 1, MAX_AMOUNT, &d->fixed)))
            return rc;
    } else if (range) {
        sub(p, path, "range");
        if (!json_is_array(range) || json_array_size(range) != 2)
            return fail(c, p, "must be [min, max]");
        if ((rc = amount_of(c, json_array_get(range, 0), idx(q, p, 0), 1, MAX_AMOUNT,
                            &d->min)) ||
            (rc = amount_of(c, json_array_get(range, 1), idx(q, p, 1), 1, MAX_AMOUNT,
                            &d->max)))
            return rc;
        if (d->min > d->max)
            return fail(c, p, "min above max");
        d->ranged = true;
    } else {
        return fail(c, sub(p, path, "points"), "missing (or give a range)");
    }
    return get_bool(c, v, "each_time", path, &d->each_time);
}

static void item_clear(kh_item_t *it)
{
    free(it->project);
    free(it->content);
    free(it->standard);
    free(it->value);
    free(it->method);
    free(it->cycle);
    free(it->source);
    free(it->remark);
    for (size_t i = 0; it->rules && i < it->nrules; i++)
        free(it->rules[i].what);
    free(it->rules);
    free(it->defects);
}

static int load_item(lctx_t *c, const kh_catalog_t *cat, json_t *v, const char *path,
                     kh_item_t *it)
{
    static const char *const keys[] = {
        "id",    "section", "project", "content", "standard", "value", "method",
        "cycle", "source",  "remark",  "defects", "rules",    NULL};
    char p[PATH_LEN], q[PATH_LEN], r[PATH_LEN];
    const char *s;
    int rc;
    if (!json_is_object(v))
        return fail(c, path, "must be an object");
    if ((rc = check_keys(c, v, path, keys)) ||
        (rc = get_str(c, v, "id", path, true, KH_ITEM_MAX, &s)))
        return rc;
    if (!*s)
        return fail(c, sub(p, path, "id"), "must not be empty");
    memcpy(it->id, s, strlen(s) + 1);
    if ((rc = get_str(c, v, "section", path, true, 64, &s)))
        return rc;
    size_t sec = cat->nsections;
    for (size_t i = 0; i < cat->nsections; i++)
        if (strcmp(cat->sections[i].id, s) == 0)
            sec = i;
    if (sec == cat->nsections)
        return fail(c, sub(p, path, "section"), "no such section");
    it->section = sec;
    if ((rc = dup_str(c, v, "project", path, true, &it->project)) ||
        (rc = dup_str(c, v, "content", path, true, &it->content)) ||
        (rc = dup_str(c, v, "standard", path, true, &it->standard)) ||
        (rc = dup_str(c, v, "value", path, true, &it->value)) ||
        (rc = dup_str(c, v, "method", path, true, &it->method)) ||
        (rc = dup_str(c, v, "cycle", path, true, &it->cycle)) ||
        (rc = dup_str(c, v, "source", path, true, &it->source)) ||
        (rc = dup_str(c, v, "remark", path, false, &it->remark)))
        return rc;

    json_t *defs = json_object_get(v, "defects");
    if (defs) {
        sub(p, path, "defects");
        if (!json_is_array(defs))
            return fail(c, p, "must be an array");
        if (json_array_size(defs) > MAX_PER_ITEM)
            return fail(c, p, "more than %d defects", MAX_PER_ITEM);
        it->defects = calloc(json_array_size(defs) + 1, sizeof *it->defects);
        if (!it->defects)
            return KH_ENOMEM;
        size_t i;
        json_t *e;
        json_array_foreach(defs, i, e)
        {
            kh_defect_t *d = &it->defects[i];
            if ((rc = load_defect(c, e, idx(q, p, i), d)))
                return rc;
            for (size_t k = 0; k < i; k++)
                if (strcmp(it->defects[k].code, d->code) == 0)
                    return fail(c, sub(r, idx(q, p, i), "code"), "defect listed twice");
            it->ndefects = i + 1;
        }
    }

    json_t *rules = json_object_get(v, "rules");
    sub(p, path, "rules");
    if (!rules)
        return fail(c, p, "missing");
    if (!json_is_array(rules))
        return fail(c, p, "must be an array");
    if (json_array_size(rules) > MAX_PER_ITEM)
        return fail(c, p, "more than %d rules", MAX_PER_ITEM);
    it->rules = calloc(json_array_size(rules) + 1, sizeof *it->rules);
    if (!it->rules)
        return KH_ENOMEM;
    size_t i, findings = 0;
    json_t *e;
    json_array_foreach(rules, i, e)
    {
        it->nrules = i + 1; /* so that a half-loaded rule is freed */
        if ((rc = load_rule(c, e, idx(q, p, i), &it->rules[i])))
            return rc;
        if (it->rules[i].kind == KH_RULE_FINDING) {
            if (++findings > 1)
                return fail(c, sub(r, idx(q, p, i), "kind"),
                            "a second finding rule would count findings twice");
            if (it->ndefects == 0)
                return fail(c, idx(q, p, i), "a finding rule needs the item's defects");
        }
    }
    if (it->ndefects && !findings)
        return fail(c, sub(p, path, "defects"),
                    "the item has defects but no finding rule");
    return KH_OK;
}

static int load_section(lctx_t *c, json_t *v, const char *path, kh_section_t *s)
{
    static const char *const keys[] = {"id", "title", "max", NULL};
    const char *str;
    char p[PATH_LEN];
    int rc;
    if (!json_is_object(v))
        return fail(c, path, "must be an object");
    if ((rc = check_keys(c, v, path, keys)) ||
        (rc = get_str(c, v, "id", path, true, sizeof s->id - 1, &str)))
        return rc;
    if (!*str)
        return fail(c, sub(p, path, "id"), "must not be empty");
    memcpy(s->id, str, strlen(str) + 1);
    if ((rc = get_str(c, v, "title", path, true, sizeof s->title - 1, &str)))
        return rc;
    memcpy(s->title, str, strlen(str) + 1);
    return get_amount(c, v, "max", path, true, 0, MAX_AMOUNT, &s->max);
}

static int load_root(lctx_t *c, json_t *root, kh_catalog_t *cat)
{
    static const char *const keys[] = {"title", "sections", "items", NULL};
    char p[PATH_LEN], q[PATH_LEN];
    int rc;
    if (!json_is_object(root))
        return fail(c, "catalog", "must be a JSON object");
    if ((rc = check_keys(c, root, "", keys)) ||
        (rc = dup_str(c, root, "title", "", false, &cat->title)))
        return rc;

    json_t *secs = json_object_get(root, "sections");
    if (!secs)
        return fail(c, "sections", "missing");
    if (!json_is_array(secs) || json_array_size(secs) == 0)
        return fail(c, "sections", "must be a non-empty array");
    if (json_array_size(secs) > MAX_SECTIONS)
        return fail(c, "sections", "more than %d sections", MAX_SECTIONS);
    cat->sections = calloc(json_array_size(secs), sizeof *cat->sections);
    if (!cat->sections)
        return KH_ENOMEM;
    size_t i;
    json_t *e;
    json_array_foreach(secs, i, e)
    {
        if ((rc = load_section(c, e, idx(p, "sections", i), &cat->sections[i])))
            return rc;
        for (size_t k = 0; k < i; k++)
            if (strcmp(cat->sections[k].id, cat->sections[i].id) == 0)
                return fail(c, sub(q, idx(p, "sections", i), "id"),
                            "section listed twice");
        cat->nsections = i + 1;
    }

    json_t *items = json_object_get(root, "items");
    if (!items)
        return fail(c, "items", "missing");
    if (!json_is_array(items) || json_array_size(items) == 0)
        return fail(c, "items", "must be a non-empty array");
    if (json_array_size(items) > MAX_ITEMS)
        return fail(c, "items", "more than %d items", MAX_ITEMS);
    cat->items = calloc(json_array_size(items), sizeof *cat->items);
    if (!cat->items)
        return KH_ENOMEM;
    json_array_foreach(items, i, e)
    {
        kh_item_t *it = &cat->items[i];
        cat->nitems = i + 1;
        if ((rc = load_item(c, cat, e, idx(p, "items", i), it)))
            return rc;
        for (size_t k = 0; k < i; k++)
            if (strcmp(cat->items[k].id, it->id) == 0)
                return fail(c, sub(q, idx(p, "items", i), "id"), "item listed twice");
        if (i > 0 && it->section < cat->items[i - 1].section)
            return fail(c, sub(q, idx(p, "items", i), "section"),
                        "items must be grouped by section, in the sections' "
                        "order");
    }
    return KH_OK;
}

/* ------------------------------------------------------------------ */
/* public                                                               */
/* ------------------------------------------------------------------ */

int kh_catalog_load_mem(kh_catalog_t **out, const char *text, size_t len, char *err,
                        size_t errlen)
{
    lctx_t c = {err, errlen};
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!text)
        return fail(&c, "catalog", "no text");
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (err && errlen)
            snprintf(err, errlen, "catalog line %d column %d: %s", jerr.line, jerr.column,
                     jerr.text);
        return KH_ECONFIG;
    }
    kh_catalog_t *cat = calloc(1, sizeof *cat);
    int rc = cat ? load_root(&c, root, cat) : KH_ENOMEM;
    json_decref(root);
    if (rc == KH_ENOMEM && err && errlen)
        snprintf(err, errlen, "catalog: out of memory");
    if (rc != KH_OK) {
        kh_catalog_free(&cat);
        return rc;
    }
    *out = cat;
    return KH_OK;
}

int kh_catalog_load(kh_catalog_t **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    if (!path) {
        if (err && errlen)
            snprintf(err, errlen, "catalog: no path");
        return KH_EINVAL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return KH_EIO;
    }
    char *buf = malloc(MAX_FILE_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_FILE_BYTES + 1, f) : 0;
    bool bad = buf && ferror(f);
    fclose(f);
    int rc;
    if (!buf) {
        rc = KH_ENOMEM;
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", path);
    } else if (bad) {
        rc = KH_EIO;
        if (err && errlen)
            snprintf(err, errlen, "%s: read error", path);
    } else if (n > MAX_FILE_BYTES) {
        rc = KH_ECONFIG;
        if (err && errlen)
            snprintf(err, errlen, "%s: larger than %u bytes", path, MAX_FILE_BYTES);
    } else {
        char msg[256] = "";
        rc = kh_catalog_load_mem(out, buf, n, msg, sizeof msg);
        if (rc && err && errlen)
            snprintf(err, errlen, "%s: %s", path, msg);
    }
    free(buf);
    return rc;
}

void kh_catalog_free(kh_catalog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_catalog_t *cat = *self_p;
    for (size_t i = 0; cat->items && i < cat->nitems; i++)
        item_clear(&cat->items[i]);
    free(cat->items);
    free(cat->sections);
    free(cat->title);
    free(cat);
    *self_p = NULL;
}

int kh_catalog_find_item(const kh_catalog_t *cat, const char *id)
{
    for (size_t i = 0; cat && id && i < cat->nitems; i++)
        if (strcmp(cat->items[i].id, id) == 0)
            return (int)i;
    return -1;
}

const kh_defect_t *kh_catalog_find_defect(const kh_catalog_t *cat, const char *item,
                                          const char *defect)
{
    int i = kh_catalog_find_item(cat, item);
    if (i < 0 || !defect)
        return NULL;
    const kh_item_t *it = &cat->items[i];
    for (size_t k = 0; k < it->ndefects; k++)
        if (strcmp(it->defects[k].code, defect) == 0)
            return &it->defects[k];
    return NULL;
}

const kh_rule_t *kh_catalog_find_rule(const kh_catalog_t *cat, kh_rule_kind_t kind,
                                      size_t *item_out)
{
    for (size_t i = 0; cat && i < cat->nitems; i++)
        for (size_t r = 0; r < cat->items[i].nrules; r++)
            if (cat->items[i].rules[r].kind == kind) {
                if (item_out)
                    *item_out = i;
                return &cat->items[i].rules[r];
            }
    return NULL;
}

const char *kh_catalog_default_path(void)
{
    const char *env = getenv("KAOHE_RULES");
    if (env && *env)
        return env;
    static const char installed[] = KH_INSTALL_DATADIR "/catalog.json";
    if (access(installed, R_OK) == 0)
        return installed;
    return KH_SOURCE_DIR "/rules/catalog.json";
}
