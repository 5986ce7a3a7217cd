/*
 * kh_snapshot.c - canonical form, SHA-256 chain, content comparison and
 * diffs of month-end snapshots; see kh_snapshot.h.
 */
#include "kh_snapshot.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_error.h"

#define CANON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))

static const char *const content_keys[] = {"rank", "stations", "monthly"};

char *kh_snapshot_canonical(const json_t *doc)
{
    return json_dumps(doc, CANON_FLAGS);
}

int kh_snapshot_hash(const json_t *doc, char hex[KH_SNAPSHOT_HASH_HEX])
{
    json_t *copy = json_copy((json_t *)doc);
    if (!copy)
        return KH_ENOMEM;
    json_object_del(copy, "hash");
    char *text = kh_snapshot_canonical(copy);
    json_decref(copy);
    if (!text)
        return KH_ENOMEM;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    free(text);
    sodium_bin2hex(hex, KH_SNAPSHOT_HASH_HEX, h, sizeof h);
    return KH_OK;
}

bool kh_snapshot_same_content(const json_t *a, const json_t *b)
{
    for (size_t i = 0; i < sizeof content_keys / sizeof *content_keys; i++) {
        const json_t *x = json_object_get(a, content_keys[i]);
        const json_t *y = json_object_get(b, content_keys[i]);
        char *tx = x ? kh_snapshot_canonical(x) : NULL;
        char *ty = y ? kh_snapshot_canonical(y) : NULL;
        bool same = (!tx && !ty) || (tx && ty && strcmp(tx, ty) == 0);
        free(tx);
        free(ty);
        if (!same)
            return false;
    }
    return true;
}

/* The station object of a code in a document's "stations", or NULL. */
static json_t *find_station(const json_t *doc, const char *code)
{
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(doc, "stations"), i, st)
    {
        const char *c = json_string_value(json_object_get(st, "station"));
        if (c && strcmp(c, code) == 0)
            return st;
    }
    return NULL;
}

static json_t *find_item(const json_t *station, const char *id)
{
    size_t i, j;
    json_t *sec, *it;
    json_array_foreach(json_object_get(station, "sections"), i, sec)
    {
        json_array_foreach(json_object_get(sec, "items"), j, it)
        {
            const char *x = json_string_value(json_object_get(it, "id"));
            if (x && strcmp(x, id) == 0)
                return it;
        }
    }
    return NULL;
}

static bool in_array(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *x = json_string_value(v);
        if (x && strcmp(x, s) == 0)
            return true;
    }
    return false;
}

/* Ids in one list and not the other, both ways: the events that made the
 * difference. */
static json_t *events_between(const json_t *a, const json_t *b)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(b, i, v)
    {
        if (json_is_string(v) && !in_array(a, json_string_value(v)))
            json_array_append(out, v);
    }
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && !in_array(b, json_string_value(v)))
            json_array_append(out, v);
    }
    return out;
}

static int add_change(json_t *changes, const char *station, const char *item,
                      const char *field, json_t *old, json_t *new_, json_t *events)
{
    json_t *c = json_object();
    if (!c)
        return KH_ENOMEM;
    json_object_set_new(c, "station", json_string(station));
    json_object_set_new(c, "item", item ? json_string(item) : json_null());
    json_object_set_new(c, "field", json_string(field));
    json_object_set(c, "old", old ? old : json_null());
    json_object_set(c, "new", new_ ? new_ : json_null());
    json_object_set_new(c, "events", events ? events : json_array());
    return json_array_append_new(changes, c) == 0 ? KH_OK : KH_ENOMEM;
}

json_t *kh_snapshot_diff(const json_t *older, const json_t *newer)
{
    static const char *const fields[] = {"deducted", "bonus", "pending", "self_score"};
    json_t *changes = json_array();
    if (!changes)
        return NULL;
    size_t i, j, k;
    json_t *st, *sec, *it;
    json_array_foreach(json_object_get(newer, "stations"), i, st)
    {
        const char *code = json_string_value(json_object_get(st, "station"));
        if (!code)
            continue;
        json_t *ost = find_station(older, code);
        json_t *ot = ost ? json_object_get(ost, "total") : NULL;
        json_t *nt = json_object_get(st, "total");
        if (!ot || !json_equal(ot, nt))
            add_change(changes, code, NULL, "total", ot, nt, NULL);
        json_array_foreach(json_object_get(st, "sections"), j, sec)
        {
            json_array_foreach(json_object_get(sec, "items"), k, it)
            {
                const char *id = json_string_value(json_object_get(it, "id"));
                if (!id)
                    continue;
                json_t *oit = ost ? find_item(ost, id) : NULL;
                for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
                    json_t *nv = json_object_get(it, fields[f]);
                    json_t *ov = oit ? json_object_get(oit, fields[f]) : NULL;
                    if (ov && nv && json_equal(ov, nv))
                        continue;
                    if (!ov && !nv)
                        continue;
                    add_change(changes, code, id, fields[f], ov, nv,
                               events_between(oit ? json_object_get(oit, "events") : NULL,
                                              json_object_get(it, "events")));
                }
            }
        }
    }
    return changes;
}

bool kh_snapshot_verify_doc(const json_t *doc, const char *expect_prev, char *why,
                            size_t cap)
{
    const char *stored = json_string_value(json_object_get(doc, "hash"));
    char hex[KH_SNAPSHOT_HASH_HEX];
    if (!stored) {
        snprintf(why, cap, "no hash");
        return false;
    }
    if (kh_snapshot_hash(doc, hex) != KH_OK) {
        snprintf(why, cap, "out of memory");
        return false;
    }
    if (strcmp(hex, stored) != 0) {
        snprintf(why, cap, "hash mismatch: stored %.16s…, content gives %.16s…", stored,
                 hex);
        return false;
    }
    const json_t *prev = json_object_get(doc, "prev_hash");
    if (expect_prev
            ? !(json_is_string(prev) && strcmp(json_string_value(prev), expect_prev) == 0)
            : !json_is_null(prev)) {
        snprintf(why, cap,
                 "chain broken: prev_hash is not the hash of the "
                 "publication before it");
        return false;
    }
    return true;
}
