/*
 * kh_county.c - the county configuration, county.json (SPEC section 6).
 *
 * The file is read once at start; everything in it is validated here so
 * that the rest of kaohe can trust a kh_county_t: codes are unique and
 * well formed, classes are 1..3, the zone is loaded. A bad file is refused
 * with one message that names the field the way an operator would point at
 * it in the file ("stations[1].class: must be 1, 2 or 3").
 *
 * Every policy key is optional and has the SPEC's default; unknown keys are
 * ignored (as in events), so a newer file still loads.
 */
#include "kh_county.h"

#include "kh_error.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define COUNTY_MAX_BYTES (16 << 20) /* far beyond any county */
#define GRACE_MAX        366
#define PATROLS_MAX      10000

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen,
                                                      const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return KH_ECONFIG;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

static bool code_is_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > KH_CODE_MAX)
        return false;
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static int load_station(kh_county_t *c, size_t i, json_t *js, char *err, size_t errlen)
{
    kh_station_t *st = &c->stations[i];
    if (!json_is_object(js))
        return fail(err, errlen, "stations[%zu]: must be an object", i);

    json_t *v = json_object_get(js, "code");
    if (!json_is_string(v))
        return fail(err, errlen, "stations[%zu].code: must be a string", i);
    const char *code = json_string_value(v);
    if (!code_is_valid(code))
        return fail(err, errlen,
                    "stations[%zu].code: must be 1 to %d characters of "
                    "A-Z a-z 0-9 _ -",
                    i, KH_CODE_MAX);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(c->stations[j].code, code) == 0)
            return fail(err, errlen,
                        "stations[%zu].code: duplicate code \"%s\" (also "
                        "stations[%zu])",
                        i, code, j);
    }
    snprintf(st->code, sizeof st->code, "%s", code);

    v = json_object_get(js, "name");
    if (!json_is_string(v))
        return fail(err, errlen, "stations[%zu].name: must be a string", i);
    size_t n = strlen(json_string_value(v));
    if (n < 1 || n > KH_NAME_MAX)
        return fail(err, errlen, "stations[%zu].name: must be 1 to %d bytes", i,
                    KH_NAME_MAX);
    snprintf(st->name, sizeof st->name, "%s", json_string_value(v));

    v = json_object_get(js, "class");
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3)
        return fail(err, errlen, "stations[%zu].class: must be 1, 2 or 3", i);
    st->klass = (int)json_integer_value(v);

    v = json_object_get(js, "urban");
    if (v && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return fail(err, errlen, "stations[%zu].urban: must be true or false", i);
        st->urban = json_is_true(v);
    }
    return KH_OK;
}

static int load_stations(kh_county_t *c, json_t *root, char *err, size_t errlen)
{
    json_t *arr = json_object_get(root, "stations");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(err, errlen, "stations: must be a non-empty array of stations");
    size_t n = json_array_size(arr);
    c->stations = calloc(n, sizeof *c->stations);
    if (!c->stations) {
        set_err(err, errlen, "out of memory");
        return KH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = load_station(c, i, json_array_get(arr, i), err, errlen);
        if (rc)
            return rc;
        c->nstations = i + 1;
    }
    return KH_OK;
}

static int load_timezone(kh_county_t *c, json_t *pol, char *err, size_t errlen)
{
    const char *tz = "Asia/Shanghai";
    json_t *v = json_object_get(pol, "timezone");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v))
            return fail(err, errlen, "policy.timezone: must be a string");
        tz = json_string_value(v);
    }
    if (strlen(tz) >= sizeof c->timezone)
        return fail(err, errlen, "policy.timezone: unknown time zone \"%s\"", tz);
    int rc = kh_tz_open(&c->tz, tz);
    if (rc == KH_ENOMEM) {
        set_err(err, errlen, "out of memory");
        return rc;
    }
    if (rc != KH_OK)
        return fail(err, errlen, "policy.timezone: unknown time zone \"%s\"", tz);
    snprintf(c->timezone, sizeof c->timezone, "%s", tz);
    return KH_OK;
}

static int load_required_patrols(kh_county_t *c, json_t *pol, char *err, size_t errlen)
{
    json_t *obj = json_object_get(pol, "required_patrols");
    if (!obj || json_is_null(obj))
        return KH_OK;
    if (!json_is_object(obj))
        return fail(err, errlen,
                    "policy.required_patrols: must be an object such as "
                    "{\"1\": 8, \"2\": 6, \"3\": 4}");
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int k = (key[0] >= '1' && key[0] <= '3' && key[1] == '\0') ? key[0] - '0' : 0;
        if (!k)
            return fail(err, errlen,
                        "policy.required_patrols.%s: unknown class (must be "
                        "1, 2 or 3)",
                        key);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > PATROLS_MAX)
            return fail(err, errlen,
                        "policy.required_patrols.%s: must be a whole number "
                        "from 0 to %d",
                        key, PATROLS_MAX);
        c->required_patrols[k] = (int)json_integer_value(v);
    }
    return KH_OK;
}

static int load_three_class(kh_county_t *c, json_t *pol, char *err, size_t errlen)
{
    json_t *arr = json_object_get(pol, "three_class_kinds");
    if (!arr || json_is_null(arr))
        return KH_OK;
    if (!json_is_array(arr))
        return fail(err, errlen,
                    "policy.three_class_kinds: must be an array of case kinds");
    /* Given: it replaces the default set entirely. */
    memset(c->three_class, 0, sizeof c->three_class);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return fail(err, errlen, "policy.three_class_kinds[%zu]: must be a string",
                        i);
        int k = kh_case_kind_parse(json_string_value(v));
        if (k < 0)
            return fail(err, errlen,
                        "policy.three_class_kinds[%zu]: unknown case kind "
                        "\"%s\"",
                        i, json_string_value(v));
        c->three_class[k] = true;
    }
    return KH_OK;
}

static int load_policy(kh_county_t *c, json_t *root, char *err, size_t errlen)
{
    /* SPEC defaults first; each key present overrides. */
    c->grace_days = 5;
    c->auto_close = true;
    c->required_patrols[1] = 8;
    c->required_patrols[2] = 6;
    c->required_patrols[3] = 4;
    c->three_class[KH_CASE_BURGLARY] = true;
    c->three_class[KH_CASE_CAR_THEFT] = true;
    c->three_class[KH_CASE_MOTORCYCLE_THEFT] = true;
    c->three_class[KH_CASE_EBIKE_THEFT] = true;
    c->has_bonus_cap = false;

    json_t *pol = json_object_get(root, "policy");
    if (pol && json_is_null(pol))
        pol = NULL;
    if (pol && !json_is_object(pol))
        return fail(err, errlen, "policy: must be an object");
    json_t *empty = NULL;
    if (!pol) {
        /* An absent policy is an empty one: every default applies, and
         * the zone is still loaded. */
        if (!(pol = empty = json_object())) {
            set_err(err, errlen, "out of memory");
            return KH_ENOMEM;
        }
    }

    int rc = KH_OK;
    json_t *v = json_object_get(pol, "grace_days");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > GRACE_MAX) {
            rc = fail(err, errlen,
                      "policy.grace_days: must be a whole number of days "
                      "from 0 to %d",
                      GRACE_MAX);
            goto out;
        }
        c->grace_days = (int)json_integer_value(v);
    }
    v = json_object_get(pol, "auto_close");
    if (v && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            rc = fail(err, errlen, "policy.auto_close: must be true or false");
            goto out;
        }
        c->auto_close = json_is_true(v);
    }
    v = json_object_get(pol, "bonus_cap");
    if (v && !json_is_null(v)) {
        kh_milli_t cap = -1;
        if (json_is_integer(v) && json_integer_value(v) >= 0 &&
            json_integer_value(v) <= INT64_C(1000000000000))
            cap = KH_MILLI(json_integer_value(v));
        else if (json_is_real(v) && !kh_milli_from_double(json_real_value(v), &cap))
            cap = -1;
        if (cap < 0) {
            rc = fail(err, errlen,
                      "policy.bonus_cap: must be null (no cap) or a number "
                      ">= 0");
            goto out;
        }
        c->has_bonus_cap = true;
        c->bonus_cap = cap;
    }
    if ((rc = load_required_patrols(c, pol, err, errlen)) ||
        (rc = load_three_class(c, pol, err, errlen)) ||
        (rc = load_timezone(c, pol, err, errlen)))
        goto out;
out:
    json_decref(empty);
    return rc;
}

static int load_root(kh_county_t *c, json_t *root, char *err, size_t errlen)
{
    if (!json_is_object(root))
        return fail(err, errlen, "county.json: must be a JSON object");
    json_t *v = json_object_get(root, "county");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || strlen(json_string_value(v)) > KH_NAME_MAX)
            return fail(err, errlen,
                        "county: must be a string of at most %d "
                        "bytes",
                        KH_NAME_MAX);
        snprintf(c->name, sizeof c->name, "%s", json_string_value(v));
    }
    int rc = load_stations(c, root, err, errlen);
    if (rc == KH_OK)
        rc = load_policy(c, root, err, errlen);
    return rc;
}

/* The station codes in order, for kh_county_find's binary search: a
 * province's thousands of stations are looked up for every event. */
typedef struct code_ref {
    const char *code;
    size_t index;
} code_ref_t;

static int code_ref_cmp(const void *a, const void *b)
{
    return strcmp(((const code_ref_t *)a)->code, ((const code_ref_t *)b)->code);
}

static int index_codes(kh_county_t *c, char *err, size_t errlen)
{
    size_t n = c->nstations ? c->nstations : 1;
    code_ref_t *refs = malloc(n * sizeof *refs);
    c->by_code = malloc(n * sizeof *c->by_code);
    if (!refs || !c->by_code) {
        free(refs);
        set_err(err, errlen, "out of memory");
        return KH_ENOMEM;
    }
    for (size_t i = 0; i < c->nstations; i++)
        refs[i] = (code_ref_t){c->stations[i].code, i};
    qsort(refs, c->nstations, sizeof *refs, code_ref_cmp);
    for (size_t i = 0; i < c->nstations; i++)
        c->by_code[i] = refs[i].index;
    free(refs);
    return KH_OK;
}

int kh_county_load_mem(kh_county_t **out, const char *text, size_t len, char *err,
                       size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    json_error_t jerr;
    /* Duplicate keys in a configuration are a mistake worth refusing: which
     * one was meant cannot be known. */
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(err, errlen, "county.json: line %d column %d: %s", jerr.line,
                    jerr.column, jerr.text);
    int rc;
    kh_county_t *c = calloc(1, sizeof *c);
    if (!c) {
        set_err(err, errlen, "out of memory");
        rc = KH_ENOMEM;
        goto out;
    }
    if ((rc = load_root(c, root, err, errlen)) != KH_OK ||
        (rc = index_codes(c, err, errlen)) != KH_OK) {
        kh_county_free(&c);
        goto out;
    }
    *out = c;
out:
    json_decref(root);
    return rc;
}

int kh_county_load(kh_county_t **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    int rc = KH_OK;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return KH_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > COUNTY_MAX_BYTES) {
        if (err && errlen)
            snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path,
                     COUNTY_MAX_BYTES);
        rc = KH_EIO;
        goto out;
    }
    size_t len = (size_t)st.st_size;
    if (!(buf = malloc(len ? len : 1))) {
        set_err(err, errlen, "out of memory");
        rc = KH_ENOMEM;
        goto out;
    }
    if (fread(buf, 1, len, f) != len) {
        if (err && errlen)
            snprintf(err, errlen, "%s: read error", path);
        rc = KH_EIO;
        goto out;
    }
    rc = kh_county_load_mem(out, buf, len, err, errlen);
out:
    free(buf);
    fclose(f);
    return rc;
}

void kh_county_free(kh_county_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_county_t *c = *self_p;
    kh_tz_close(&c->tz);
    free(c->by_code);
    free(c->stations);
    free(c);
    *self_p = NULL;
}

int kh_county_find(const kh_county_t *county, const char *code)
{
    if (!county || !code)
        return -1;
    if (!county->by_code) {
        for (size_t i = 0; i < county->nstations; i++)
            if (strcmp(county->stations[i].code, code) == 0)
                return (int)i;
        return -1;
    }
    size_t lo = 0, hi = county->nstations;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(county->stations[county->by_code[mid]].code, code);
        if (c == 0)
            return (int)county->by_code[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}
