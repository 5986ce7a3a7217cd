/*
 * cmd_admin.c - kaohe rebuild and kaohe backup: the store's own checks and
 * copies, made beside the running services (LMDB lets a reader work while
 * the scorer writes).
 *
 * rebuild replays the journal, in sequence order, through the very
 * function the scorer applies events with (kh_store_apply) into a fresh
 * environment, then compares every database derived from the journal with
 * the live one, key by key (kh_store_compare). Identical means the
 * incrementally maintained state (the de-duplication keys with their
 * content hashes and sequences, the journal length) is exactly what a
 * batch computation from the journal gives. The fresh environment
 * is a scratch directory under DIR, removed afterwards unless --into
 * names where to keep it.
 *
 * backup makes a consistent, compacted copy of the store as of one read
 * transaction (mdb_env_copy2 with MDB_CP_COMPACT) while events flow, with
 * the county and the keys beside it: the backup directory is itself a data
 * directory, so restoring is stopping kaohe and putting it in place.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kaohe.h"
#include "kh_codec.h"
#include "kh_error.h"
#include "kh_proc.h"
#include "kh_render.h"
#include "kh_store.h"

#define REBUILD_TXN_EVENTS 16384 /* events per write txn of the replay */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The live store, read-only, for reading all of it (with readahead). */
static int open_live(const char *dir, kh_store_t **st, char *err, size_t errlen)
{
    char path[PATH_MAX];
    kh_path(path, sizeof path, dir, NULL, "store", NULL);
    char mdb[PATH_MAX + 16];
    snprintf(mdb, sizeof mdb, "%s/data.mdb", path);
    if (access(mdb, R_OK) != 0) {
        snprintf(err, errlen, "no store in %s (kaohe up creates it)", path);
        return KH_ENOTFOUND;
    }
    kh_store_opts_t o = {.dir = path, .readonly = true, .readahead = true};
    int rc = kh_store_open(st, &o);
    if (rc)
        snprintf(err, errlen, "cannot open %s: %s", path, kh_strerror(rc));
    return rc;
}

/* Removes a scratch environment directory (its two files, then itself). */
static void remove_env_dir(const char *dir)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

/* The replay: state shared with the journal callback. */
typedef struct replay {
    kh_store_t *fresh;
    kh_txn_t *txn;
    uint64_t events;    /* applied so far in this pass */
    uint64_t committed; /* last sequence durably in the fresh store */
    int err;            /* first error; KH_EMAP_FULL: grow and resume */
    bool same;          /* false once the journal disagrees with itself */
    char what[512];     /* the first difference */
    kh_event_t ev;      /* reused decode buffer */
} replay_t;

static int replay_one(uint64_t seq, const uint8_t *pb, size_t len, void *arg)
{
    replay_t *r = arg;
    kh_event_clear(&r->ev);
    kh_event_init(&r->ev);
    int rc = kh_codec_event_decode(pb, len, &r->ev);
    if (rc) {
        r->same = false;
        snprintf(r->what, sizeof r->what, "journal: sequence %llu does not decode (%s)",
                 (unsigned long long)seq, kh_err_name(rc));
        return 1;
    }
    kh_ack_t out;
    if ((rc = kh_store_apply(r->txn, pb, len, &r->ev, &out))) {
        r->err = rc;
        return 1;
    }
    if (out.status != KH_STATUS_ACCEPTED || out.seq != seq) {
        r->same = false;
        snprintf(r->what, sizeof r->what,
                 "journal: sequence %llu (id %s) replays as %s%s%s of sequence %llu",
                 (unsigned long long)seq, r->ev.id, kh_status_name(out.status),
                 out.reason[0] ? " " : "", out.reason, (unsigned long long)out.seq);
        return 1;
    }
    r->events++;
    if (r->events % REBUILD_TXN_EVENTS == 0) {
        if ((rc = kh_txn_commit(&r->txn)) ||
            (rc = kh_txn_begin(r->fresh, true, &r->txn))) {
            r->err = rc;
            return 1;
        }
        r->committed = seq;
    }
    return 0;
}

/* Replays the live journal from r->committed + 1 into the fresh store,
 * growing its map as often as it fills. */
static int replay(kh_txn_t *live, replay_t *r)
{
    for (;;) {
        r->err = KH_OK;
        int rc = kh_txn_begin(r->fresh, true, &r->txn);
        if (rc)
            return rc;
        rc = kh_store_journal_each(live, r->committed + 1, replay_one, r);
        if (rc == KH_OK && r->err == KH_OK && r->same) {
            rc = kh_store_copy_state(live, r->txn);
            if (rc == KH_OK)
                rc = kh_txn_commit(&r->txn);
            else
                kh_txn_abort(&r->txn);
            if (rc != KH_EMAP_FULL)
                return rc;
        } else {
            kh_txn_abort(&r->txn);
            if (rc == KH_OK)
                rc = r->err;
            if (rc != KH_EMAP_FULL)
                return rc;
        }
        /* Full: what the last commit made stays; resume after it. */
        r->events = 0;
        if ((rc = kh_store_grow(r->fresh)))
            return rc;
        kh_txn_t *t;
        if ((rc = kh_txn_begin(r->fresh, false, &t)))
            return rc;
        r->committed = kh_store_last_seq(t);
        kh_txn_abort(&t);
    }
}

int kh_cmd_rebuild(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    if (a->npos)
        return kh_usage_error("rebuild takes no arguments");
    char dir[PATH_MAX], err[PATH_MAX + 100];
    if (kh_abspath(dir, sizeof dir, a->dir))
        return kh_fail("no data directory %s", a->dir);
    kh_store_t *live = NULL;
    if (open_live(dir, &live, err, sizeof err))
        return kh_fail("%s", err);

    const char *into = kh_args_get(a, "--into");
    char scratch[PATH_MAX + 32];
    if (into) {
        if (mkdir(into, 0700) != 0) {
            kh_store_close(&live);
            return kh_fail("cannot create %s: %s (it must not exist)", into,
                           strerror(errno));
        }
        snprintf(scratch, sizeof scratch, "%s", into);
    } else {
        snprintf(scratch, sizeof scratch, "%s/rebuild.XXXXXX", dir);
        if (!mkdtemp(scratch)) {
            kh_store_close(&live);
            return kh_fail("cannot create a scratch directory in %s: %s", dir,
                           strerror(errno));
        }
    }

    int rc;
    replay_t r = {.same = true};
    kh_event_init(&r.ev);
    kh_txn_t *ltxn = NULL, *ftxn = NULL;
    bool same = false;
    char what[600] = "";
    double t0 = mono_s(), t1 = t0, t2 = t0;
    /* A scratch store needs no sync: it is thrown away or checked. */
    kh_store_opts_t fo = {
        .dir = scratch, .map_size = kh_store_map_size(live), .nosync = true};
    if ((rc = kh_store_open(&r.fresh, &fo)))
        goto out;
    if ((rc = kh_txn_begin(live, false, &ltxn)))
        goto out;
    rc = replay(ltxn, &r);
    t1 = mono_s();
    if (rc)
        goto out;
    if (!r.same) {
        snprintf(what, sizeof what, "%s", r.what);
    } else {
        if ((rc = kh_txn_begin(r.fresh, false, &ftxn)))
            goto out;
        if ((rc = kh_store_compare(ltxn, ftxn, &same, what, sizeof what)))
            goto out;
    }
    t2 = mono_s();

out:;
    uint64_t events = ltxn ? kh_store_last_seq(ltxn) : 0;
    kh_txn_abort(&ftxn);
    kh_txn_abort(&ltxn);
    kh_store_close(&r.fresh);
    kh_store_close(&live);
    kh_event_clear(&r.ev);
    if (!into)
        remove_env_dir(scratch);
    if (rc)
        return kh_fail("rebuild failed: %s", kh_strerror(rc));

    double secs = t1 - t0, csecs = t2 - t1;
    double rate = secs > 0 ? (double)events / secs : 0;
    if (a->json) {
        json_t *o = json_pack("{s:I,s:f,s:f,s:f,s:b,s:o}", "events", (json_int_t)events,
                              "seconds", secs, "events_per_second", rate,
                              "compare_seconds", csecs, "identical", same, "difference",
                              same ? json_null() : json_string(what));
        char *s = kh_render_dumps(o);
        puts(s ? s : "{}");
        free(s);
        json_decref(o);
    } else if (same) {
        printf("rebuilt %llu events in %.3f s (%.0f events/s): identical to the live "
               "store\n",
               (unsigned long long)events, secs, rate);
    } else {
        printf("rebuilt %llu events: DIFFERENT from the live store\n  %s\n",
               (unsigned long long)events, what);
    }
    if (!same && !a->json)
        fprintf(stderr, "kaohe: rebuild differs: %s\n", what);
    return same ? KH_EXIT_OK : KH_EXIT_FAIL;
}

/* Copies DIR/keys/ (every regular file, its mode kept) into out/keys/. */
static int copy_keys(const char *dir, const char *out)
{
    char from[PATH_MAX], to[PATH_MAX];
    kh_path(from, sizeof from, dir, NULL, "keys", NULL);
    kh_path(to, sizeof to, out, NULL, "keys", NULL);
    DIR *d = opendir(from);
    if (!d)
        return errno == ENOENT ? KH_OK : KH_EIO;
    int rc = mkdir(to, 0700) == 0 ? KH_OK : KH_EIO;
    struct dirent *e;
    while (rc == KH_OK && (e = readdir(d))) {
        char f[PATH_MAX + 300], t[PATH_MAX + 300];
        struct stat sb;
        snprintf(f, sizeof f, "%s/%s", from, e->d_name);
        snprintf(t, sizeof t, "%s/%s", to, e->d_name);
        if (stat(f, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        rc = kh_file_copy(f, t, sb.st_mode & 0777);
    }
    closedir(d);
    return rc;
}

int kh_cmd_backup(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    if (a->npos != 1)
        return kh_usage_error(
            "backup needs the directory to write: kaohe backup -d DIR OUT");
    const char *out = a->pos[0];
    char dir[PATH_MAX], err[PATH_MAX + 100], store_out[PATH_MAX], p[PATH_MAX],
        q[PATH_MAX];
    if (kh_abspath(dir, sizeof dir, a->dir))
        return kh_fail("no data directory %s", a->dir);
    if (mkdir(out, 0700) != 0)
        return kh_fail("cannot create %s: %s (a backup goes into a new directory)", out,
                       strerror(errno));
    kh_store_t *live = NULL;
    if (open_live(dir, &live, err, sizeof err))
        return kh_fail("%s", err);
    double t0 = mono_s();
    kh_path(store_out, sizeof store_out, out, NULL, "store", NULL);
    int rc = mkdir(store_out, 0700) == 0 ? KH_OK : KH_EIO;
    if (rc == KH_OK)
        rc = kh_store_copy(live, store_out);
    kh_store_close(&live);
    if (rc)
        return kh_fail("cannot copy the store into %s: %s", store_out, kh_strerror(rc));
    double secs = mono_s() - t0;

    /* The county and the keys: the backup is a whole data directory. */
    kh_path(p, sizeof p, dir, NULL, "county", "json");
    kh_path(q, sizeof q, out, NULL, "county", "json");
    if (kh_file_copy(p, q, 0600) != KH_OK || copy_keys(dir, out) != KH_OK)
        return kh_fail("cannot copy county.json and keys/ into %s", out);

    /* What the copy holds, read back from the copy itself. */
    kh_store_t *copy = NULL;
    kh_store_opts_t o = {.dir = store_out, .readonly = true};
    kh_store_info_t info = {0};
    if ((rc = kh_store_open(&copy, &o)) || (rc = kh_store_info(copy, &info))) {
        kh_store_close(&copy);
        return kh_fail("the copy in %s does not open: %s", store_out, kh_strerror(rc));
    }
    kh_store_close(&copy);
    char mdb[PATH_MAX + 16];
    struct stat sb;
    snprintf(mdb, sizeof mdb, "%s/data.mdb", store_out);
    long long bytes = stat(mdb, &sb) == 0 ? (long long)sb.st_size : -1;
    if (a->json) {
        json_t *j = json_pack("{s:s,s:I,s:I,s:f}", "out", out, "last_seq",
                              (json_int_t)info.last_seq, "bytes", (json_int_t)bytes,
                              "seconds", secs);
        char *s = kh_render_dumps(j);
        puts(s ? s : "{}");
        free(s);
        json_decref(j);
    } else {
        printf("backed up %s to %s: %llu events, %lld bytes, in %.3f s\n"
               "restore: kaohe down -d DIR; put %s in DIR's place; kaohe up -d DIR\n",
               dir, out, (unsigned long long)info.last_seq, bytes, secs, out);
    }
    return KH_EXIT_OK;
}
