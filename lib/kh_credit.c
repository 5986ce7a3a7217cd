/*
 * kh_credit.c - per-key in-flight accounting; see kh_credit.h.
 *
 * An open-addressing table (linear probing, FNV-1a, grown at half load) of
 * keys; entries are never removed (a county has a few hundred keys, a
 * province a few thousand), so probing needs no tombstones.
 */
#include "kh_credit.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot {
    char *key; /* NULL: empty */
    uint32_t events;
    uint64_t bytes;
    int64_t moved_us; /* when the count last moved */
} slot_t;

struct kh_credit {
    kh_credit_limits_t lim;
    slot_t *slots;
    size_t cap, used; /* cap a power of two */
    uint64_t events, bytes, refused, resets;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static slot_t *find(const kh_credit_t *c, const char *key)
{
    size_t i = hash(key) & (c->cap - 1);
    while (c->slots[i].key && strcmp(c->slots[i].key, key) != 0)
        i = (i + 1) & (c->cap - 1);
    return &c->slots[i];
}

static int grow(kh_credit_t *c)
{
    size_t cap = c->cap * 2;
    slot_t *old = c->slots;
    size_t ocap = c->cap;
    slot_t *s = calloc(cap, sizeof *s);
    if (!s)
        return -1;
    c->slots = s;
    c->cap = cap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key)
            *find(c, old[i].key) = old[i];
    free(old);
    return 0;
}

kh_credit_t *kh_credit_new(const kh_credit_limits_t *limits)
{
    kh_credit_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->lim = *limits;
    c->cap = 64;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    return c;
}

void kh_credit_free(kh_credit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_credit_t *c = *self_p;
    for (size_t i = 0; i < c->cap; i++)
        free(c->slots[i].key);
    free(c->slots);
    free(c);
    *self_p = NULL;
}

bool kh_credit_take(kh_credit_t *c, const char *key, uint32_t events, uint64_t bytes,
                    int64_t now_us)
{
    slot_t *s = find(c, key);
    if (!s->key) {
        if ((c->used + 1) * 2 > c->cap) {
            if (grow(c))
                return false;
            s = find(c, key);
        }
        if (!(s->key = strdup(key)))
            return false;
        s->moved_us = now_us;
        c->used++;
    }
    if (s->events && now_us - s->moved_us > c->lim.stale_us) {
        /* Nothing came back for a long time: the answers were lost. */
        c->events -= s->events;
        c->bytes -= s->bytes;
        s->events = 0;
        s->bytes = 0;
        c->resets++;
    }
    if ((uint64_t)s->events + events > c->lim.key_events ||
        s->bytes + bytes > c->lim.key_bytes || c->bytes + bytes > c->lim.all_bytes) {
        c->refused++;
        return false;
    }
    if (s->events == 0)
        s->moved_us = now_us;
    s->events += events;
    s->bytes += bytes;
    c->events += events;
    c->bytes += bytes;
    return true;
}

void kh_credit_give(kh_credit_t *c, const char *key, uint32_t events, uint64_t bytes,
                    int64_t now_us)
{
    slot_t *s = find(c, key);
    if (!s->key || s->events == 0)
        return;
    if (bytes > s->bytes)
        bytes = s->bytes;
    if (events > s->events)
        events = s->events;
    s->events -= events;
    s->bytes -= bytes;
    c->events -= events;
    c->bytes -= bytes;
    s->moved_us = now_us;
}

void kh_credit_stats(const kh_credit_t *c, kh_credit_stats_t *out)
{
    out->events = c->events;
    out->bytes = c->bytes;
    out->refused = c->refused;
    out->resets = c->resets;
    out->keys = c->used;
}

void kh_credit_key(const kh_credit_t *c, const char *key, uint32_t *events,
                   uint64_t *bytes)
{
    const slot_t *s = find(c, key);
    *events = s->key ? s->events : 0;
    *bytes = s->key ? s->bytes : 0;
}
