/*
 * bench_lmdb - the durable LMDB put rate, by puts per commit, in the file
 * system that holds the data directory; and the same for kaohe's own
 * store (every put and get kh_store_apply makes per event).
 *
 *   bench_lmdb DIR raw SECONDS BATCH...
 *   bench_lmdb DIR store SECONDS BATCH EVENTS.jsonl [MAX_EVENTS]
 *
 * raw: for each batch size, a fresh environment under DIR (default flags:
 * every commit is synced, as the scorer's), puts of 100-byte values under
 * increasing 8-byte big-endian keys, BATCH per write transaction, for
 * about SECONDS (at least three commits). store: the events of the file,
 * parsed and encoded beforehand (not timed), applied with kh_store_apply
 * BATCH per transaction (the scorer's group commit at its largest) until
 * the file or SECONDS runs out. One JSON line per run:
 * {"bench":"lmdb","mode":...,"batch":...,"puts":...,"commits":...,
 * "per_s":...}. The environments are removed afterwards.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "kh_codec.h"
#include "kh_error.h"
#include "kh_event.h"
#include "kh_store.h"

static void rm_env(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static int run_raw(const char *base, int64_t budget_ns, long batch)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bench-lmdb-%ld.%ld", base, batch, (long)getpid());
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (rc)
        return -1;
    mdb_env_set_mapsize(env, (size_t)16 << 30);
    if ((rc = mdb_env_open(env, dir, 0, 0600)) != 0 ||
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 || (rc = mdb_txn_commit(txn)) != 0)
        goto out;
    uint8_t val[100];
    memset(val, 'v', sizeof val);
    uint64_t seq = 0, commits = 0;
    int64_t t0 = bench_now_ns(), t = t0;
    while (t - t0 < budget_ns || commits < 3) {
        if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
            goto out;
        for (long i = 0; i < batch; i++) {
            uint8_t k[8];
            uint64_t s = ++seq;
            for (int b = 7; b >= 0; b--, s >>= 8)
                k[b] = (uint8_t)s;
            MDB_val key = {8, k}, v = {sizeof val, val};
            if ((rc = mdb_put(txn, dbi, &key, &v, 0)) != 0) {
                mdb_txn_abort(txn);
                goto out;
            }
        }
        if ((rc = mdb_txn_commit(txn)) != 0)
            goto out;
        commits++;
        t = bench_now_ns();
    }
    printf("{\"bench\":\"lmdb\",\"mode\":\"raw\",\"batch\":%ld,\"puts\":%llu,"
           "\"commits\":%llu,\"per_s\":%.0f}\n",
           batch, (unsigned long long)seq, (unsigned long long)commits,
           bench_rate(seq, t - t0));
    fflush(stdout);
out:
    if (rc)
        fprintf(stderr, "bench_lmdb: %s\n", mdb_strerror(rc));
    mdb_env_close(env);
    rm_env(dir);
    return rc ? -1 : 0;
}

static int run_store(const char *base, int64_t budget_ns, long batch, const char *path,
                     size_t max)
{
    bench_lines_t lines;
    if (bench_read_lines(path, max, &lines) != 0) {
        perror(path);
        return -1;
    }
    /* Parse and encode every event first: the scorer receives them
     * decoded and encoded too (from the ingest). */
    kh_event_t *evs = calloc(lines.n ? lines.n : 1, sizeof *evs);
    uint8_t **pb = calloc(lines.n ? lines.n : 1, sizeof *pb);
    size_t *pblen = calloc(lines.n ? lines.n : 1, sizeof *pblen);
    size_t n = 0;
    for (size_t i = 0; evs && pb && pblen && i < lines.n; i++) {
        kh_event_init(&evs[n]);
        if (kh_event_parse_json(lines.v[i], lines.len[i], &evs[n]) != KH_OK ||
            kh_codec_event_encode(&evs[n], &pb[n], &pblen[n]) != KH_OK) {
            kh_event_clear(&evs[n]);
            continue;
        }
        n++;
    }
    bench_lines_free(&lines);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bench-store.%ld", base, (long)getpid());
    kh_store_t *st = NULL;
    kh_store_opts_t o = {.dir = dir, .readonly = false, .map_size = (size_t)16 << 30};
    int rc = kh_store_open(&st, &o);
    uint64_t applied = 0, commits = 0, accepted = 0;
    int64_t t0 = bench_now_ns(), t = t0;
    while (rc == KH_OK && applied < n && (t - t0 < budget_ns || commits < 3)) {
        kh_txn_t *txn;
        if ((rc = kh_txn_begin(st, true, &txn)) != KH_OK)
            break;
        for (long i = 0; i < batch && applied < n && rc == KH_OK; i++, applied++) {
            kh_ack_t out;
            rc = kh_store_apply(txn, pb[applied], pblen[applied], &evs[applied], &out);
            accepted += out.status == KH_STATUS_ACCEPTED;
        }
        if (rc != KH_OK) {
            kh_txn_abort(&txn);
            break;
        }
        /* as the scorer: read back what it announces, then commit */
        (void)kh_store_last_seq(txn);
        (void)kh_store_closed_through(txn);
        if ((rc = kh_txn_commit(&txn)) != KH_OK)
            break;
        commits++;
        t = bench_now_ns();
    }
    if (rc == KH_OK)
        printf("{\"bench\":\"lmdb\",\"mode\":\"store\",\"batch\":%ld,\"puts\":%llu,"
               "\"accepted\":%llu,\"commits\":%llu,\"per_s\":%.0f}\n",
               batch, (unsigned long long)applied, (unsigned long long)accepted,
               (unsigned long long)commits, bench_rate(applied, t - t0));
    else
        fprintf(stderr, "bench_lmdb store: %s\n", kh_strerror(rc));
    kh_store_close(&st);
    rm_env(dir);
    for (size_t i = 0; i < n; i++) {
        kh_event_clear(&evs[i]);
        free(pb[i]);
    }
    free(evs);
    free(pb);
    free(pblen);
    return rc == KH_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_lmdb DIR raw SECONDS BATCH...\n"
                        "       bench_lmdb DIR store SECONDS BATCH EVENTS.jsonl "
                        "[MAX_EVENTS]\n");
        return 2;
    }
    int64_t budget = (int64_t)(atof(argv[3]) * 1e9);
    if (strcmp(argv[2], "raw") == 0) {
        for (int i = 4; i < argc; i++)
            if (run_raw(argv[1], budget, atol(argv[i])) != 0)
                return 1;
        return 0;
    }
    if (strcmp(argv[2], "store") == 0 && argc >= 6)
        return run_store(argv[1], budget, atol(argv[4]), argv[5],
                         argc > 6 ? (size_t)atol(argv[6]) : 0)
                   ? 1
                   : 0;
    fprintf(stderr, "bench_lmdb: unknown mode %s\n", argv[2]);
    return 2;
}
