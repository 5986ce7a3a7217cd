/*
 * kh_store.c - the LMDB environment; see kh_store.h for the schema.
 *
 * Invariants:
 *   - the journal is append-only and dense: sequences 1..last_seq;
 *   - an event is journaled iff its (source, id) is in dedup, in the same
 *     transaction, so a crash keeps both or neither.
 * Which events bear on which station is derived from the journal by its
 * readers (kh_index.h, kh_store_index_update).
 */
#include "kh_store.h"

#include <errno.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kh_be.h"
#include "kh_error.h"
#include "kh_index.h"

#define HASH_LEN 16
#define KEY_MAX  256 /* id/code/case_id limits keep every key below this */

struct kh_store {
    MDB_env *env;
    MDB_dbi journal, dedup, meta, snap, snapseq;
    size_t map_size;
    bool readonly;
    bool dropped_legacy;      /* the open dropped the indexes of older stores */
    char data_path[PATH_MAX]; /* DIR/data.mdb, resolved (kh_store_unmap_pages) */
};

struct kh_txn {
    kh_store_t *st;
    MDB_txn *txn;
    int err;
    /* meta last_seq, read once and written once, at commit */
    uint64_t last_seq;
    bool seq_read, seq_dirty;
};

/* The one place LMDB codes become kh_err_t. */
static int from_mdb(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return KH_OK;
    case MDB_NOTFOUND:
        return KH_ENOTFOUND;
    case MDB_MAP_FULL:
        return KH_EMAP_FULL;
    case ENOMEM:
        return KH_ENOMEM;
    case ENOSPC:
    case EDQUOT:
        return KH_ENOSPC;
    case EIO:
        return KH_EIO;
    case MDB_PANIC:
        return KH_EPANIC;
    default:
        return KH_ESTORE;
    }
}

/* Stores written before the readers derived the station/case relation
 * themselves (kh_index.h) kept it in the "station" and "case" databases
 * and "stamp:" meta keys: the writer drops them when it opens the store. */
static bool meta_legacy(const MDB_val *k)
{
    return k->mv_size > 6 && memcmp(k->mv_data, "stamp:", 6) == 0;
}

static int drop_legacy(kh_store_t *st, MDB_txn *txn)
{
    static const char *const names[] = {"station", "case"};
    int rc;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        MDB_dbi dbi;
        rc = mdb_dbi_open(txn, names[i], 0, &dbi);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc || (rc = mdb_drop(txn, dbi, 1)))
            return from_mdb(rc);
        st->dropped_legacy = true;
    }
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, st->meta, &c)))
        return from_mdb(rc);
    MDB_val k = {6, "stamp:"}, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && meta_legacy(&k)) {
        if ((rc = mdb_cursor_del(c, 0)))
            break;
        st->dropped_legacy = true;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT); /* after a delete: the next */
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? KH_OK : from_mdb(rc);
}

bool kh_store_dropped_legacy(const kh_store_t *st)
{
    return st->dropped_legacy;
}

int kh_store_open(kh_store_t **out, const kh_store_opts_t *opts)
{
    int rc;
    kh_store_t *st = calloc(1, sizeof *st);
    if (!st)
        return KH_ENOMEM;
    st->readonly = opts->readonly;
    st->map_size = opts->map_size ? opts->map_size : (size_t)64 << 20;
    if (!opts->readonly && mkdir(opts->dir, 0700) != 0 && errno != EEXIST) {
        rc = KH_EIO;
        goto fail_alloc;
    }
    if ((rc = from_mdb(mdb_env_create(&st->env))))
        goto fail_alloc;
    mdb_env_set_maxdbs(st->env, 8);
    mdb_env_set_maxreaders(st->env, 126);
    if ((rc = from_mdb(mdb_env_set_mapsize(st->env, st->map_size))))
        goto fail_env;
    /* MDB_NORDAHEAD: B-tree descents are random reads, and readahead
     * would map (and count in the process's RSS) the pages around each.
     * A reader of the whole journal wants it: from a cold page cache,
     * kaohe rebuild at province scale replayed about 335 k events/s
     * without it and 520-650 k with it (else each page is a 4 KiB read). */
    unsigned flags = MDB_NOTLS | (opts->readahead ? 0 : MDB_NORDAHEAD) |
                     (opts->readonly ? MDB_RDONLY : 0) | (opts->nosync ? MDB_NOSYNC : 0);
    if ((rc = from_mdb(mdb_env_open(st->env, opts->dir, flags, 0600))))
        goto fail_env;
    char real[PATH_MAX];
    if (realpath(opts->dir, real) && strlen(real) + 10 < sizeof st->data_path)
        snprintf(st->data_path, sizeof st->data_path, "%s/data.mdb", real);
    /* The file may be larger than asked (a grown map): adopt its size. */
    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    st->map_size = info.me_mapsize;

    /* Dropping an older store's indexes writes: on a full map, the map
     * doubles and the open starts over (as the scorer does for a batch). */
    for (int tries = 0;; tries++) {
        MDB_txn *txn;
        if ((rc = from_mdb(
                 mdb_txn_begin(st->env, NULL, opts->readonly ? MDB_RDONLY : 0, &txn))))
            goto fail_env;
        unsigned dflags = opts->readonly ? 0 : MDB_CREATE;
        if ((rc = from_mdb(mdb_dbi_open(txn, "journal", dflags, &st->journal))) ||
            (rc = from_mdb(mdb_dbi_open(txn, "dedup", dflags, &st->dedup))) ||
            (rc = from_mdb(mdb_dbi_open(txn, "meta", dflags, &st->meta))) ||
            (rc = from_mdb(mdb_dbi_open(txn, "snap", dflags, &st->snap))) ||
            (rc = from_mdb(mdb_dbi_open(txn, "snapseq", dflags, &st->snapseq))) ||
            (!opts->readonly && (rc = drop_legacy(st, txn))))
            mdb_txn_abort(txn);
        else
            rc = from_mdb(mdb_txn_commit(txn));
        if (rc == KH_EMAP_FULL && !opts->readonly && tries < 4 &&
            kh_store_grow(st) == KH_OK)
            continue;
        if (rc)
            goto fail_env;
        break;
    }
    *out = st;
    return KH_OK;

fail_env:
    mdb_env_close(st->env);
fail_alloc:
    free(st);
    return rc;
}

void kh_store_close(kh_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdb_env_close((*self_p)->env);
    free(*self_p);
    *self_p = NULL;
}

int kh_store_grow(kh_store_t *st)
{
    size_t want = st->map_size * 2;
    int rc = from_mdb(mdb_env_set_mapsize(st->env, want));
    if (rc == KH_OK)
        st->map_size = want;
    return rc;
}

size_t kh_store_map_size(const kh_store_t *st)
{
    return st->map_size;
}

int kh_store_info(kh_store_t *st, kh_store_info_t *info)
{
    memset(info, 0, sizeof *info);
    MDB_envinfo ei;
    MDB_stat es;
    int rc;
    if ((rc = from_mdb(mdb_env_info(st->env, &ei))) ||
        (rc = from_mdb(mdb_env_stat(st->env, &es))))
        return rc;
    info->map_size = ei.me_mapsize;
    info->page_size = es.ms_psize;
    info->used = (ei.me_last_pgno + 1) * (size_t)es.ms_psize;
    kh_txn_t *t;
    if ((rc = kh_txn_begin(st, false, &t)))
        return rc;
    MDB_stat js;
    if (mdb_stat(t->txn, st->journal, &js) == 0)
        info->journal_bytes =
            (uint64_t)(js.ms_branch_pages + js.ms_leaf_pages + js.ms_overflow_pages) *
            js.ms_psize;
    info->last_seq = kh_store_last_seq(t);
    rc = kh_txn_error(t);
    kh_txn_abort(&t);
    return rc;
}

int kh_store_copy(kh_store_t *st, const char *dir)
{
    return from_mdb(mdb_env_copy2(st->env, dir, MDB_CP_COMPACT));
}

int kh_store_unmap_pages(kh_store_t *st)
{
    /* LMDB does not tell where it mapped the file (me_mapaddr is only
     * for MDB_FIXEDMAP): find the mapping of data.mdb, by device and
     * inode, in /proc/self/maps. */
    int fd;
    struct stat sb;
    if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) != 0)
        return KH_ESTORE;
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return KH_EIO;
    char line[512];
    int rc = KH_ENOTFOUND;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, ino;
        unsigned maj, mnr;
        int at = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu %n", &lo, &hi, &maj, &mnr, &ino,
                   &at) < 5)
            continue;
        /* by device and inode; by path where the two disagree (overlayfs
         * and btrfs show another device in the maps than fstat does) */
        char *path = line + at;
        path[strcspn(path, "\n")] = '\0';
        bool same_file = (ino == (unsigned long)sb.st_ino && maj == major(sb.st_dev) &&
                          mnr == minor(sb.st_dev)) ||
                         (st->data_path[0] && strcmp(path, st->data_path) == 0);
        if (!same_file)
            continue;
        /* a read-only shared file mapping: nothing is lost, only unmapped */
        rc = madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0 ? KH_OK : KH_ESTORE;
    }
    fclose(f);
    return rc;
}

int kh_txn_begin(kh_store_t *st, bool write, kh_txn_t **out)
{
    kh_txn_t *t = calloc(1, sizeof *t);
    if (!t)
        return KH_ENOMEM;
    t->st = st;
    int rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc == MDB_MAP_RESIZED) {
        /* The writer grew the map: adopt the new size and retry. */
        mdb_env_set_mapsize(st->env, 0);
        rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    }
    if (rc) {
        free(t);
        return from_mdb(rc);
    }
    *out = t;
    return KH_OK;
}

static void meta_put_u64(kh_txn_t *t, const char *name, uint64_t x);

int kh_txn_commit(kh_txn_t **txn_p)
{
    kh_txn_t *t = *txn_p;
    if (t->seq_dirty)
        meta_put_u64(t, "last_seq", t->last_seq);
    int rc = t->err;
    if (rc)
        mdb_txn_abort(t->txn);
    else
        rc = from_mdb(mdb_txn_commit(t->txn));
    free(t);
    *txn_p = NULL;
    return rc;
}

void kh_txn_abort(kh_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    mdb_txn_abort((*txn_p)->txn);
    free(*txn_p);
    *txn_p = NULL;
}

int kh_txn_error(const kh_txn_t *txn)
{
    return txn->err;
}

/* Get that keeps the txn's first error; NOTFOUND is not an error. */
static int tget(kh_txn_t *t, MDB_dbi dbi, const void *k, size_t klen, MDB_val *val)
{
    if (t->err)
        return t->err;
    MDB_val key = {klen, (void *)k};
    int rc = mdb_get(t->txn, dbi, &key, val);
    if (rc == MDB_NOTFOUND)
        return KH_ENOTFOUND;
    if (rc)
        t->err = from_mdb(rc);
    return t->err;
}

static void tput(kh_txn_t *t, MDB_dbi dbi, const void *k, size_t klen, const void *v,
                 size_t vlen, unsigned flags)
{
    if (t->err)
        return;
    MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
    int rc = mdb_put(t->txn, dbi, &key, &val, flags);
    if (rc)
        t->err = from_mdb(rc);
}

static uint64_t meta_u64(kh_txn_t *t, const char *name)
{
    MDB_val v;
    if (tget(t, t->st->meta, name, strlen(name), &v) != KH_OK || v.mv_size != 8)
        return 0;
    return kh_get_u64(v.mv_data);
}

static void meta_put_u64(kh_txn_t *t, const char *name, uint64_t x)
{
    uint8_t b[8];
    kh_put_u64(b, x);
    tput(t, t->st->meta, name, strlen(name), b, 8, 0);
}

uint64_t kh_store_last_seq(kh_txn_t *txn)
{
    if (!txn->seq_read) {
        txn->last_seq = meta_u64(txn, "last_seq");
        txn->seq_read = txn->err == KH_OK;
    }
    return txn->last_seq;
}

kh_day_t kh_store_closed_through(kh_txn_t *txn)
{
    MDB_val v;
    if (tget(txn, txn->st->meta, "closed_through", 14, &v) != KH_OK || v.mv_size != 8)
        return KH_DAY_NONE;
    return (kh_day_t)((int64_t)kh_get_u64(v.mv_data) - INT64_C(0x80000000));
}

int kh_store_close_through(kh_txn_t *txn, kh_day_t day)
{
    kh_day_t cur = kh_store_closed_through(txn);
    if (cur != KH_DAY_NONE && cur >= day)
        return txn->err;
    meta_put_u64(txn, "closed_through", (uint64_t)((int64_t)day + INT64_C(0x80000000)));
    return txn->err;
}

int kh_store_apply(kh_txn_t *txn, const uint8_t *pb, size_t len, const kh_event_t *ev,
                   kh_ack_t *out)
{
    if (txn->err)
        return txn->err;
    memset(out, 0, sizeof *out);
    /* ev->id and out->id are both KH_ID_MAX + 1 bytes, below KEY_MAX */
    size_t idlen = strnlen(ev->id, KH_ID_MAX);
    memcpy(out->id, ev->id, idlen);
    out->id[idlen] = '\0';

    uint64_t seq = kh_store_last_seq(txn) + 1;
    if (txn->err)
        return txn->err;
    /* De-duplication in one descent: the put fails, and shows the stored
     * value, when (source, id) is already there. */
    uint8_t dk[KEY_MAX], dv[HASH_LEN + 8];
    dk[0] = (uint8_t)ev->source;
    memcpy(dk + 1, ev->id, idlen);
    crypto_generichash(dv, HASH_LEN, pb, len, NULL, 0);
    kh_put_u64(dv + HASH_LEN, seq);
    MDB_val key = {idlen + 1, dk}, val = {sizeof dv, dv};
    int rc = mdb_put(txn->txn, txn->st->dedup, &key, &val, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        if (val.mv_size == HASH_LEN + 8 && memcmp(val.mv_data, dv, HASH_LEN) == 0) {
            out->status = KH_STATUS_DUPLICATE;
            out->seq = kh_get_u64((uint8_t *)val.mv_data + HASH_LEN);
        } else {
            out->status = KH_STATUS_REJECTED;
            snprintf(out->reason, sizeof out->reason, "%s", kh_err_name(KH_ECONFLICT));
        }
        return KH_OK;
    }
    if (rc)
        return txn->err = from_mdb(rc);

    uint8_t sk[8];
    kh_put_u64(sk, seq);
    tput(txn, txn->st->journal, sk, 8, pb, len, MDB_APPEND);
    txn->last_seq = seq; /* written once, at commit */
    txn->seq_dirty = true;
    if (txn->err == KH_OK) {
        out->status = KH_STATUS_ACCEPTED;
        out->seq = seq;
    }
    return txn->err;
}

void kh_evset_clear(kh_evset_t *set)
{
    for (size_t i = 0; i < set->n; i++)
        kh_event_clear(&set->v[i]);
    free(set->v);
    free(set->seq);
    memset(set, 0, sizeof *set);
}

static int evset_push(kh_evset_t *set, uint64_t seq, const uint8_t *pb, size_t len)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        kh_event_t *v = realloc(set->v, cap * sizeof *v);
        if (!v)
            return KH_ENOMEM;
        set->v = v;
        uint64_t *s = realloc(set->seq, cap * sizeof *s);
        if (!s)
            return KH_ENOMEM;
        set->seq = s;
        set->cap = cap;
    }
    kh_event_t *ev = &set->v[set->n];
    kh_event_init(ev);
    int rc = kh_codec_event_decode(pb, len, ev);
    if (rc) {
        kh_event_clear(ev);
        return rc;
    }
    set->seq[set->n++] = seq;
    return KH_OK;
}

int kh_store_load_station(kh_txn_t *txn, const kh_index_t *idx, const char *code,
                          kh_evset_t *set)
{
    if (txn->err)
        return txn->err;
    /* an index past the txn would give a newer state than the txn's */
    if (kh_index_through(idx) != kh_store_last_seq(txn))
        return txn->err ? txn->err : KH_ERANGE;
    uint64_t *seqs;
    size_t n;
    int rc = kh_index_station_seqs(idx, code, &seqs, &n);
    for (size_t i = 0; i < n && rc == KH_OK; i++) {
        uint8_t k[8];
        kh_put_u64(k, seqs[i]);
        MDB_val v;
        if ((rc = tget(txn, txn->st->journal, k, 8, &v)) == KH_OK)
            rc = evset_push(set, seqs[i], v.mv_data, v.mv_size);
    }
    free(seqs);
    return rc;
}

typedef struct {
    kh_index_t *idx;
    uint64_t last; /* the txn's last sequence: no further */
    int rc;
} index_ctx_t;

/* Adds one journaled event to the index being updated. */
static int index_one(uint64_t seq, const uint8_t *pb, size_t len, void *arg)
{
    index_ctx_t *c = arg;
    if (seq > c->last)
        return 1;
    kh_event_t ev;
    kh_event_init(&ev);
    /* an entry this reader cannot decode (written by a newer kaohe, say)
     * bears on no station: passed over, not a failure of every query */
    c->rc = kh_codec_event_decode(pb, len, &ev) == KH_OK ? kh_index_add(c->idx, seq, &ev)
                                                         : kh_index_skip(c->idx, seq);
    kh_event_clear(&ev);
    return c->rc != KH_OK;
}

int kh_store_index_update(kh_txn_t *txn, kh_index_t *idx)
{
    uint64_t last = kh_store_last_seq(txn);
    if (txn->err || kh_index_through(idx) >= last)
        return txn->err;
    index_ctx_t c = {idx, last, KH_OK};
    int rc = kh_store_journal_each(txn, kh_index_through(idx) + 1, index_one, &c);
    return rc ? rc : c.rc;
}

int kh_store_journal_each(kh_txn_t *txn, uint64_t from, kh_store_journal_cb cb, void *arg)
{
    if (txn->err)
        return txn->err;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->st->journal, &cur);
    if (rc)
        return txn->err = from_mdb(rc);
    uint8_t k[8];
    kh_put_u64(k, from);
    MDB_val key = {8, k}, val;
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    while (rc == 0) {
        if (cb(kh_get_u64(key.mv_data), val.mv_data, val.mv_size, arg))
            break;
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    if (rc && rc != MDB_NOTFOUND)
        txn->err = from_mdb(rc);
    mdb_cursor_close(cur);
    return txn->err;
}

uint32_t kh_store_snap_latest_rev(kh_txn_t *txn, uint32_t month)
{
    if (txn->err)
        return 0;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn->txn, txn->st->snap, &cur))
        return 0;
    /* The first key past this month, then one step back. */
    uint8_t k[8];
    kh_put_u32(k, month + 1);
    kh_put_u32(k + 4, 0);
    MDB_val key = {8, k}, val;
    int rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    rc = rc == 0 ? mdb_cursor_get(cur, &key, &val, MDB_PREV)
                 : mdb_cursor_get(cur, &key, &val, MDB_LAST);
    uint32_t rev = 0;
    if (rc == 0 && key.mv_size == 8 && kh_get_u32(key.mv_data) == month)
        rev = kh_get_u32((uint8_t *)key.mv_data + 4);
    mdb_cursor_close(cur);
    return rev;
}

int kh_store_snap_by_pubno(kh_txn_t *txn, uint64_t pubno, kh_snap_ref_t *ref)
{
    uint8_t k[8];
    kh_put_u64(k, pubno);
    MDB_val v;
    int rc = tget(txn, txn->st->snapseq, k, 8, &v);
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return KH_ESTORE;
    ref->month = kh_get_u32(v.mv_data);
    ref->rev = kh_get_u32((uint8_t *)v.mv_data + 4);
    ref->pubno = pubno;
    return KH_OK;
}

int kh_store_snap_last(kh_txn_t *txn, kh_snap_ref_t *ref, bool *found)
{
    uint64_t last = meta_u64(txn, "snap_last");
    *found = false;
    if (txn->err || last == 0)
        return txn->err;
    int rc = kh_store_snap_by_pubno(txn, last, ref);
    if (rc == KH_OK)
        *found = true;
    return rc;
}

int kh_store_snap_put(kh_txn_t *txn, uint32_t month, uint32_t rev, uint64_t expect_last,
                      const char *doc, size_t len, uint64_t *pubno)
{
    if (txn->err)
        return txn->err;
    uint64_t last = meta_u64(txn, "snap_last");
    if (last != expect_last || kh_store_snap_latest_rev(txn, month) + 1 != rev)
        return KH_ECONFLICT;
    uint8_t k[8], pk[8];
    kh_put_u32(k, month);
    kh_put_u32(k + 4, rev);
    /* NOOVERWRITE: a published revision is never replaced. */
    tput(txn, txn->st->snap, k, 8, doc, len, MDB_NOOVERWRITE);
    kh_put_u64(pk, last + 1);
    tput(txn, txn->st->snapseq, pk, 8, k, 8, MDB_APPEND);
    meta_put_u64(txn, "snap_last", last + 1);
    if (txn->err == KH_OK)
        *pubno = last + 1;
    return txn->err;
}

int kh_store_snap_get(kh_txn_t *txn, uint32_t month, uint32_t rev, char **doc,
                      size_t *len)
{
    uint8_t k[8];
    kh_put_u32(k, month);
    kh_put_u32(k + 4, rev);
    MDB_val v;
    int rc = tget(txn, txn->st->snap, k, 8, &v);
    if (rc)
        return rc;
    char *d = malloc(v.mv_size + 1);
    if (!d)
        return KH_ENOMEM;
    memcpy(d, v.mv_data, v.mv_size);
    d[v.mv_size] = '\0';
    *doc = d;
    *len = v.mv_size;
    return KH_OK;
}

/* --- rebuild: compare the derived databases of two stores --- */

/* Whether a meta key is derived from the journal. */
static bool meta_derived(const MDB_val *k)
{
    return k->mv_size == 8 && memcmp(k->mv_data, "last_seq", 8) == 0;
}

/* A key for a message: printable bytes as they are, others as \xHH. */
static void key_text(const MDB_val *k, char *out, size_t outlen)
{
    size_t o = 0;
    const uint8_t *b = k->mv_data;
    for (size_t i = 0; i < k->mv_size && o + 5 < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o,
                              b[i] >= 0x20 && b[i] < 0x7f ? "%c" : "\\x%02x", b[i]);
    out[o] = '\0';
}

static int key_cmp(const MDB_val *a, const MDB_val *b)
{
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    int c = memcmp(a->mv_data, b->mv_data, n);
    if (c)
        return c;
    return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

/* The next record of a cursor, skipping meta keys not derived from the
 * journal; 1 at the end, <0 on error. */
static int next_derived(MDB_cursor *c, bool meta, MDB_val *k, MDB_val *v,
                        MDB_cursor_op op)
{
    for (;;) {
        int rc = mdb_cursor_get(c, k, v, op);
        if (rc == MDB_NOTFOUND)
            return 1;
        if (rc)
            return from_mdb(rc);
        if (!meta || (meta_derived(k) && !meta_legacy(k)))
            return 0;
        op = MDB_NEXT;
    }
}

static int compare_db(kh_txn_t *a, kh_txn_t *b, MDB_dbi da, MDB_dbi db, const char *name,
                      bool meta, bool *same, char *what, size_t whatlen)
{
    MDB_cursor *ca, *cb;
    int rc = from_mdb(mdb_cursor_open(a->txn, da, &ca));
    if (rc)
        return rc;
    if ((rc = from_mdb(mdb_cursor_open(b->txn, db, &cb)))) {
        mdb_cursor_close(ca);
        return rc;
    }
    MDB_val ka, va, kb, vb;
    int ea = next_derived(ca, meta, &ka, &va, MDB_FIRST);
    int eb = next_derived(cb, meta, &kb, &vb, MDB_FIRST);
    char kt[160];
    while (ea >= 0 && eb >= 0 && !(ea == 1 && eb == 1)) {
        int c = ea ? 1 : eb ? -1 : key_cmp(&ka, &kb);
        bool value_ok =
            va.mv_size == vb.mv_size && memcmp(va.mv_data, vb.mv_data, va.mv_size) == 0;
        if (c != 0 || !value_ok) {
            *same = false;
            key_text(c > 0 ? &kb : &ka, kt, sizeof kt);
            snprintf(what, whatlen, "%s: key \"%s\" %s", name, kt,
                     c < 0   ? "only in the live store"
                     : c > 0 ? "only in the rebuilt store"
                             : "has another value");
            break;
        }
        ea = next_derived(ca, meta, &ka, &va, MDB_NEXT);
        eb = next_derived(cb, meta, &kb, &vb, MDB_NEXT);
    }
    mdb_cursor_close(ca);
    mdb_cursor_close(cb);
    return ea < 0 ? ea : eb < 0 ? eb : KH_OK;
}

int kh_store_compare(kh_txn_t *live, kh_txn_t *rebuilt, bool *same, char *what,
                     size_t whatlen)
{
    *same = true;
    if (whatlen)
        what[0] = '\0';
    if (live->err || rebuilt->err)
        return live->err ? live->err : rebuilt->err;
    const kh_store_t *a = live->st, *b = rebuilt->st;
    struct {
        MDB_dbi da, db;
        const char *name;
        bool meta;
    } dbs[] = {{a->journal, b->journal, "journal", false},
               {a->dedup, b->dedup, "dedup", false},
               {a->meta, b->meta, "meta", true}};
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0] && *same; i++) {
        int rc = compare_db(live, rebuilt, dbs[i].da, dbs[i].db, dbs[i].name, dbs[i].meta,
                            same, what, whatlen);
        if (rc)
            return rc;
    }
    return KH_OK;
}

/* Copies every record of one database (of meta, only the keys not
 * derived from the journal). */
static int copy_db(kh_txn_t *from, kh_txn_t *to, MDB_dbi df, MDB_dbi dt, bool meta)
{
    MDB_cursor *c;
    int rc = from_mdb(mdb_cursor_open(from->txn, df, &c));
    if (rc)
        return rc;
    MDB_val k, v;
    int e = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (e == 0 && to->err == KH_OK) {
        if (!meta || (!meta_derived(&k) && !meta_legacy(&k)))
            tput(to, dt, k.mv_data, k.mv_size, v.mv_data, v.mv_size, 0);
        e = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (e && e != MDB_NOTFOUND)
        return from_mdb(e);
    return to->err;
}

int kh_store_copy_state(kh_txn_t *from, kh_txn_t *to)
{
    int rc;
    if (from->err || to->err)
        return from->err ? from->err : to->err;
    if ((rc = copy_db(from, to, from->st->meta, to->st->meta, true)) ||
        (rc = copy_db(from, to, from->st->snap, to->st->snap, false)) ||
        (rc = copy_db(from, to, from->st->snapseq, to->st->snapseq, false)))
        return rc;
    return to->err;
}
