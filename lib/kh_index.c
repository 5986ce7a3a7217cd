/*
 * kh_index.c - the station/case relation of the journaled events; see
 * kh_index.h.
 *
 * Stations and cases live in arrays, found through open-addressing hash
 * tables of their array positions (linear probing, at most half full).
 * Vectors double as they grow.
 */
#include "kh_index.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_error.h"

#define REVIEW (-1) /* a case entry that is a review, not a call */

typedef struct {
    uint64_t seq;
    int32_t station; /* the calling station's position, or REVIEW */
} case_entry_t;

typedef struct {
    char *id;
    case_entry_t *v;
    uint32_t n, cap;
} case_t;

typedef struct {
    char code[KH_CODE_MAX + 1];
    uint64_t stamp;
    uint64_t *own; /* its own events */
    size_t nown, capown;
    uint32_t *cases; /* positions of the cases its calls name, each once */
    uint32_t ncases, capcases;
} station_t;

/* A table of positions + 1 (0: a free slot), keyed by name. */
typedef struct {
    uint32_t *slot;
    size_t cap; /* a power of two */
} table_t;

struct kh_index {
    station_t *st;
    size_t nst, capst;
    case_t *cs;
    size_t ncs, capcs;
    table_t st_tab, cs_tab;
    uint64_t through;
    size_t bytes;
    size_t skipped;
    uint64_t last_skipped;
};

static size_t hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * UINT64_C(1099511628211);
    return (size_t)(h ^ (h >> 29));
}

/* Grows a vector of n elements of size sz to hold one more. */
static int reserve(void **v, size_t n, size_t *cap, size_t sz, size_t first,
                   size_t *bytes)
{
    if (n < *cap)
        return KH_OK;
    size_t c = *cap ? *cap * 2 : first;
    void *p = realloc(*v, c * sz);
    if (!p)
        return KH_ENOMEM;
    *bytes += (c - *cap) * sz;
    *v = p;
    *cap = c;
    return KH_OK;
}

static const char *st_name(const kh_index_t *x, uint32_t i)
{
    return x->st[i].code;
}

static const char *cs_name(const kh_index_t *x, uint32_t i)
{
    return x->cs[i].id;
}

/* The slot of name in t: holding it, or the free one where it belongs. */
static uint32_t *lookup(const kh_index_t *x, const table_t *t,
                        const char *(*name)(const kh_index_t *, uint32_t),
                        const char *key)
{
    if (!t->cap)
        return NULL;
    size_t i = hash(key) & (t->cap - 1);
    while (t->slot[i] && strcmp(name(x, t->slot[i] - 1), key) != 0)
        i = (i + 1) & (t->cap - 1);
    return &t->slot[i];
}

/* Keeps t at most half full for count + 1 entries. */
static int table_room(kh_index_t *x, table_t *t,
                      const char *(*name)(const kh_index_t *, uint32_t), size_t count)
{
    if (2 * (count + 1) <= t->cap)
        return KH_OK;
    table_t n = {.cap = t->cap ? t->cap * 2 : 1024};
    n.slot = calloc(n.cap, sizeof *n.slot);
    if (!n.slot)
        return KH_ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i])
            *lookup(x, &n, name, name(x, t->slot[i] - 1)) = t->slot[i];
    x->bytes += (n.cap - t->cap) * sizeof *n.slot;
    free(t->slot);
    *t = n;
    return KH_OK;
}

kh_index_t *kh_index_new(void)
{
    kh_index_t *x = calloc(1, sizeof *x);
    if (x)
        x->bytes = sizeof *x;
    return x;
}

void kh_index_free(kh_index_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_index_t *x = *self_p;
    for (size_t i = 0; i < x->nst; i++) {
        free(x->st[i].own);
        free(x->st[i].cases);
    }
    for (size_t i = 0; i < x->ncs; i++) {
        free(x->cs[i].id);
        free(x->cs[i].v);
    }
    free(x->st);
    free(x->cs);
    free(x->st_tab.slot);
    free(x->cs_tab.slot);
    free(x);
    *self_p = NULL;
}

uint64_t kh_index_through(const kh_index_t *idx)
{
    return idx->through;
}

size_t kh_index_bytes(const kh_index_t *idx)
{
    return idx->bytes;
}

static int station_of(kh_index_t *x, const char *code, uint32_t *pos)
{
    int rc;
    if ((rc = table_room(x, &x->st_tab, st_name, x->nst)))
        return rc;
    uint32_t *s = lookup(x, &x->st_tab, st_name, code);
    if (!*s) {
        if ((rc = reserve((void **)&x->st, x->nst, &x->capst, sizeof *x->st, 64,
                          &x->bytes)))
            return rc;
        station_t *n = &x->st[x->nst];
        memset(n, 0, sizeof *n);
        snprintf(n->code, sizeof n->code, "%s", code);
        *s = (uint32_t)++x->nst;
    }
    *pos = *s - 1;
    return KH_OK;
}

static int case_of(kh_index_t *x, const char *id, uint32_t *pos)
{
    int rc;
    if ((rc = table_room(x, &x->cs_tab, cs_name, x->ncs)))
        return rc;
    uint32_t *s = lookup(x, &x->cs_tab, cs_name, id);
    if (!*s) {
        if ((rc = reserve((void **)&x->cs, x->ncs, &x->capcs, sizeof *x->cs, 1024,
                          &x->bytes)))
            return rc;
        case_t *n = &x->cs[x->ncs];
        memset(n, 0, sizeof *n);
        if (!(n->id = strdup(id)))
            return KH_ENOMEM;
        x->bytes += strlen(id) + 1;
        *s = (uint32_t)++x->ncs;
    }
    *pos = *s - 1;
    return KH_OK;
}

int kh_index_add(kh_index_t *x, uint64_t seq, const kh_event_t *ev)
{
    if (seq <= x->through)
        return KH_EINVAL;
    uint32_t sp;
    int rc;
    if ((rc = station_of(x, ev->station, &sp)))
        return rc;
    station_t *s = &x->st[sp];
    size_t cap = s->capown;
    if ((rc = reserve((void **)&s->own, s->nown, &cap, sizeof *s->own, 16, &x->bytes)))
        return rc;
    s->capown = cap;
    s->own[s->nown++] = seq;
    s->stamp = seq;
    if (ev->type == KH_EV_CALL || ev->type == KH_EV_LEGAL_REVIEW) {
        uint32_t cp;
        if ((rc = case_of(x, ev->case_id, &cp)))
            return rc;
        case_t *c = &x->cs[cp];
        bool named = ev->type != KH_EV_CALL; /* a review names no case */
        /* every station a call of the case names sees this event */
        for (uint32_t i = 0; i < c->n; i++)
            if (c->v[i].station != REVIEW) {
                x->st[c->v[i].station].stamp = seq;
                named = named || c->v[i].station == (int32_t)sp;
            }
        size_t ccap = c->cap;
        if ((rc = reserve((void **)&c->v, c->n, &ccap, sizeof *c->v, 2, &x->bytes)))
            return rc;
        c->cap = (uint32_t)ccap;
        c->v[c->n++] = (case_entry_t){
            .seq = seq, .station = ev->type == KH_EV_CALL ? (int32_t)sp : REVIEW};
        if (!named) {
            size_t scap = s->capcases;
            if ((rc = reserve((void **)&s->cases, s->ncases, &scap, sizeof *s->cases, 4,
                              &x->bytes)))
                return rc;
            s->capcases = (uint32_t)scap;
            s->cases[s->ncases++] = cp;
        }
    }
    x->through = seq;
    return KH_OK;
}

int kh_index_skip(kh_index_t *x, uint64_t seq)
{
    if (seq <= x->through)
        return KH_EINVAL;
    x->through = seq;
    x->skipped++;
    x->last_skipped = seq;
    return KH_OK;
}

size_t kh_index_skipped(const kh_index_t *x)
{
    return x->skipped;
}

uint64_t kh_index_last_skipped(const kh_index_t *x)
{
    return x->last_skipped;
}

uint64_t kh_index_stamp(const kh_index_t *x, const char *code)
{
    const uint32_t *s = lookup(x, &x->st_tab, st_name, code);
    return s && *s ? x->st[*s - 1].stamp : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t p = *(const uint64_t *)a, q = *(const uint64_t *)b;
    return p < q ? -1 : p > q;
}

int kh_index_station_seqs(const kh_index_t *x, const char *code, uint64_t **seqs,
                          size_t *n)
{
    *seqs = NULL;
    *n = 0;
    const uint32_t *sp = lookup(x, &x->st_tab, st_name, code);
    if (!sp || !*sp)
        return KH_OK;
    const station_t *s = &x->st[*sp - 1];
    size_t total = s->nown;
    for (uint32_t i = 0; i < s->ncases; i++)
        total += x->cs[s->cases[i]].n;
    uint64_t *v = malloc((total ? total : 1) * sizeof *v);
    if (!v)
        return KH_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < s->nown; i++)
        v[k++] = s->own[i];
    for (uint32_t i = 0; i < s->ncases; i++) {
        const case_t *c = &x->cs[s->cases[i]];
        for (uint32_t j = 0; j < c->n; j++)
            v[k++] = c->v[j].seq;
    }
    qsort(v, k, sizeof *v, cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (m == 0 || v[i] != v[m - 1])
            v[m++] = v[i];
    if (m == 0) {
        free(v);
        v = NULL;
    }
    *seqs = v;
    *n = m;
    return KH_OK;
}
