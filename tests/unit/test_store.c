/*
 * test_store.c - the LMDB store: journal, de-duplication by (source, id)
 * with conflict detection on content, the station/case relation its
 * readers derive from the journal (kh_index.h), the indexes of older
 * stores dropped, closes, durability across close/reopen, and the map's
 * readahead (none unless asked for).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kh_codec.h"
#include "kh_error.h"
#include "kh_index.h"
#include "kh_store.h"
#include <lmdb.h>

static char g_dir[64];

static void call(kh_event_t *ev, const char *id, const char *station, const char *case_id,
                 int rev)
{
    kh_event_init(ev);
    ev->source = KH_SRC_DISPATCH;
    ev->type = KH_EV_CALL;
    snprintf(ev->id, sizeof ev->id, "%s", id);
    snprintf(ev->station, sizeof ev->station, "%s", station);
    snprintf(ev->case_id, sizeof ev->case_id, "%s", case_id);
    ev->case_kind = KH_CASE_ROBBERY;
    ev->location = KH_LOC_STREET;
    ev->rev = rev;
    ev->time = INT64_C(1706752800) * KH_USEC_PER_SEC;
}

/* Applies one event in its own committed txn; returns its outcome. */
static kh_ack_t apply(kh_store_t *st, const kh_event_t *ev)
{
    uint8_t *pb;
    size_t len;
    assert_int_equal(kh_codec_event_encode(ev, &pb, &len), KH_OK);
    kh_txn_t *txn;
    assert_int_equal(kh_txn_begin(st, true, &txn), KH_OK);
    kh_ack_t out;
    assert_int_equal(kh_store_apply(txn, pb, len, ev, &out), KH_OK);
    assert_int_equal(kh_txn_commit(&txn), KH_OK);
    free(pb);
    return out;
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/kh-store-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_dedup_and_conflict(void **state)
{
    (void)state;
    kh_store_t *st;
    kh_store_opts_t o = {.dir = g_dir};
    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    kh_event_t a, b;
    call(&a, "c1", "NM", "K1", 0);
    kh_ack_t r = apply(st, &a);
    assert_int_equal(r.status, KH_STATUS_ACCEPTED);
    assert_true(r.seq == 1);
    r = apply(st, &a);
    assert_int_equal(r.status, KH_STATUS_DUPLICATE);
    assert_true(r.seq == 1);
    /* same id, other content: conflict, and nothing journaled */
    call(&b, "c1", "NM", "K1", 0);
    b.location = KH_LOC_MARKET;
    r = apply(st, &b);
    assert_int_equal(r.status, KH_STATUS_REJECTED);
    assert_string_equal(r.reason, "conflict");
    /* the same id from another source is another event */
    b.source = KH_SRC_LEGAL;
    b.type = KH_EV_LEGAL_REVIEW;
    b.outcome = KH_OUT_CAUGHT_IN_ACT;
    r = apply(st, &b);
    assert_int_equal(r.status, KH_STATUS_ACCEPTED);
    assert_true(r.seq == 2);

    kh_txn_t *txn;
    assert_int_equal(kh_txn_begin(st, false, &txn), KH_OK);
    assert_true(kh_store_last_seq(txn) == 2);
    kh_index_t *idx = kh_index_new();
    assert_int_equal(kh_store_index_update(txn, idx), KH_OK);
    assert_true(kh_index_through(idx) == 2);
    assert_true(kh_index_stamp(idx, "NM") == 2);
    kh_index_free(&idx);
    kh_txn_abort(&txn);
    kh_event_clear(&a);
    kh_event_clear(&b);
    kh_store_close(&st);
    assert_null(st);

    /* reopened: everything committed is still there */
    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    call(&a, "c1", "NM", "K1", 0);
    assert_int_equal(apply(st, &a).status, KH_STATUS_DUPLICATE);
    kh_event_clear(&a);
    kh_store_close(&st);
}

static void test_case_fan_out(void **state)
{
    (void)state;
    kh_store_t *st;
    kh_store_opts_t o = {.dir = g_dir};
    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    kh_event_t e;
    /* K2 first reported for BM, revised to XM; a review names the case
     * with its own station field (QS). */
    call(&e, "k2a", "BM", "K2", 0);
    apply(st, &e);
    kh_event_clear(&e);
    call(&e, "k2b", "XM", "K2", 1);
    apply(st, &e);
    kh_event_clear(&e);
    call(&e, "r2", "QS", "K2", 0);
    e.source = KH_SRC_LEGAL;
    e.type = KH_EV_LEGAL_REVIEW;
    e.outcome = KH_OUT_CAUGHT_IN_ACT;
    apply(st, &e);
    kh_event_clear(&e);

    kh_txn_t *txn;
    assert_int_equal(kh_txn_begin(st, false, &txn), KH_OK);
    kh_index_t *idx = kh_index_new();
    assert_int_equal(kh_store_index_update(txn, idx), KH_OK);
    kh_evset_t set = {0};
    /* BM sees every version of K2 and its review: the engine decides. */
    assert_int_equal(kh_store_load_station(txn, idx, "BM", &set), KH_OK);
    assert_int_equal(set.n, 3);
    assert_true(set.seq[0] < set.seq[1] && set.seq[1] < set.seq[2]);
    kh_evset_clear(&set);
    assert_int_equal(kh_store_load_station(txn, idx, "XM", &set), KH_OK);
    assert_int_equal(set.n, 3);
    kh_evset_clear(&set);
    /* QS has only its own review (a review names no station's case) */
    assert_int_equal(kh_store_load_station(txn, idx, "QS", &set), KH_OK);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.v[0].type, KH_EV_LEGAL_REVIEW);
    kh_evset_clear(&set);
    /* the review bumped the stamps of both stations its case names */
    assert_true(kh_index_stamp(idx, "BM") == 3);
    assert_true(kh_index_stamp(idx, "XM") == 3);
    kh_index_free(&idx);
    kh_txn_abort(&txn);
    kh_store_close(&st);
}

/* Applies n calls c<from>.. for stations S00..S<nst-1>, case K<i % 7>, in
 * one committed txn. */
static void apply_calls(kh_store_t *st, int from, int n, int nst)
{
    kh_txn_t *txn;
    assert_int_equal(kh_txn_begin(st, true, &txn), KH_OK);
    for (int i = from; i < from + n; i++) {
        kh_event_t e;
        char id[32], code[16], kase[16];
        snprintf(id, sizeof id, "c%d", i);
        snprintf(code, sizeof code, "S%02d", i % nst);
        snprintf(kase, sizeof kase, "K%d", i % 7);
        call(&e, id, code, kase, 0);
        uint8_t *pb;
        size_t len;
        assert_int_equal(kh_codec_event_encode(&e, &pb, &len), KH_OK);
        kh_ack_t out;
        assert_int_equal(kh_store_apply(txn, pb, len, &e, &out), KH_OK);
        assert_int_equal(out.status, KH_STATUS_ACCEPTED);
        free(pb);
        kh_event_clear(&e);
    }
    assert_int_equal(kh_txn_commit(&txn), KH_OK);
}

/* An index brought up commit by commit equals one built at the end; a
 * load for a txn the index has gone past is refused; a journal entry that
 * does not decode is passed over, not a failure of the index. */
static void test_index_follows_journal(void **state)
{
    (void)state;
    kh_store_t *st;
    kh_store_opts_t o = {.dir = g_dir};
    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    kh_index_t *step = kh_index_new();
    kh_txn_t *old = NULL, *txn;
    for (int k = 0; k < 5; k++) {
        apply_calls(st, k * 30, 30, 9);
        assert_int_equal(kh_txn_begin(st, false, &txn), KH_OK);
        assert_int_equal(kh_store_index_update(txn, step), KH_OK);
        assert_true(kh_index_through(step) == (uint64_t)(k + 1) * 30);
        if (k == 1)
            old = txn; /* a reader of the first 60 events */
        else
            kh_txn_abort(&txn);
    }
    kh_index_t *once = kh_index_new();
    assert_int_equal(kh_txn_begin(st, false, &txn), KH_OK);
    assert_int_equal(kh_store_index_update(txn, once), KH_OK);
    for (int i = 0; i < 9; i++) {
        char code[16];
        snprintf(code, sizeof code, "S%02d", i);
        assert_true(kh_index_stamp(step, code) == kh_index_stamp(once, code));
        kh_evset_t a = {0}, b = {0}, c = {0};
        assert_int_equal(kh_store_load_station(txn, step, code, &a), KH_OK);
        assert_int_equal(kh_store_load_station(txn, once, code, &b), KH_OK);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.seq, b.seq, a.n * sizeof *a.seq);
        /* an older reader: the index has gone past it, and says so
         * rather than give it a newer state */
        assert_int_equal(kh_store_load_station(old, step, code, &c), KH_ERANGE);
        assert_int_equal(c.n, 0);
        kh_evset_clear(&a);
        kh_evset_clear(&b);
        kh_evset_clear(&c);
    }
    kh_txn_abort(&old);
    kh_txn_abort(&txn);

    /* an entry this reader cannot decode (as from a newer writer) */
    kh_event_t e;
    call(&e, "newer", "S00", "KN", 0);
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    kh_ack_t out;
    assert_int_equal(kh_txn_begin(st, true, &txn), KH_OK);
    assert_int_equal(kh_store_apply(txn, junk, sizeof junk, &e, &out), KH_OK);
    assert_int_equal(kh_txn_commit(&txn), KH_OK);
    kh_event_clear(&e);
    apply_calls(st, 1000, 3, 9);
    assert_int_equal(kh_txn_begin(st, false, &txn), KH_OK);
    assert_int_equal(kh_store_index_update(txn, step), KH_OK);
    assert_true(kh_index_through(step) == 154);
    assert_int_equal(kh_index_skipped(step), 1);
    assert_true(kh_index_last_skipped(step) == 151);
    kh_evset_t d = {0};
    assert_int_equal(kh_store_load_station(txn, step, "S01", &d), KH_OK);
    /* c1000 is S01's own (152); c1001 and c1002 call cases S01's calls
     * named before (153, 154); the entry passed over is nobody's (151) */
    assert_true(d.n >= 3 && d.seq[d.n - 3] == 152 && d.seq[d.n - 1] == 154);
    for (size_t i = 0; i < d.n; i++)
        assert_true(d.seq[i] != 151);
    kh_evset_clear(&d);
    kh_txn_abort(&txn);
    kh_index_free(&step);
    kh_index_free(&once);
    kh_store_close(&st);
}

/* A store written before the readers kept their own index had "station"
 * and "case" databases and "stamp:" meta keys: the writer drops them,
 * once, and keeps the rest. */
static void test_drops_old_indexes(void **state)
{
    (void)state;
    kh_store_t *st;
    kh_store_opts_t o = {.dir = g_dir};
    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    assert_false(kh_store_dropped_legacy(st));
    apply_calls(st, 0, 10, 3);
    kh_txn_t *txn;
    assert_int_equal(kh_txn_begin(st, true, &txn), KH_OK);
    assert_int_equal(kh_store_close_through(txn, 20000), KH_OK);
    assert_int_equal(kh_txn_commit(&txn), KH_OK);
    kh_store_close(&st);

    /* what an older kaohe left, written with LMDB directly */
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi sd, cd, md;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    assert_int_equal(mdb_env_open(env, g_dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, "station", MDB_CREATE, &sd), 0);
    assert_int_equal(mdb_dbi_open(t, "case", MDB_CREATE, &cd), 0);
    assert_int_equal(mdb_dbi_open(t, "meta", 0, &md), 0);
    MDB_val k = {4, "S00\0"}, v = {0, ""};
    assert_int_equal(mdb_put(t, sd, &k, &v, 0), 0);
    assert_int_equal(mdb_put(t, cd, &k, &v, 0), 0);
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "stamp:S%02d", i);
        MDB_val sk = {strlen(key), key}, sv = {8, "\0\0\0\0\0\0\0\x0a"};
        assert_int_equal(mdb_put(t, md, &sk, &sv, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);

    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    assert_true(kh_store_dropped_legacy(st));
    assert_int_equal(kh_txn_begin(st, false, &txn), KH_OK);
    assert_true(kh_store_last_seq(txn) == 10);
    assert_int_equal(kh_store_closed_through(txn), 20000);
    kh_txn_abort(&txn);
    kh_store_close(&st);
    /* gone for good: a second open finds nothing to drop */
    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    assert_false(kh_store_dropped_legacy(st));
    kh_store_close(&st);
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    assert_int_equal(mdb_env_open(env, g_dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), 0);
    assert_int_equal(mdb_dbi_open(t, "station", 0, &sd), MDB_NOTFOUND);
    assert_int_equal(mdb_dbi_open(t, "case", 0, &cd), MDB_NOTFOUND);
    assert_int_equal(mdb_dbi_open(t, "meta", 0, &md), 0);
    MDB_val sk = {9, "stamp:S00"}, sv;
    assert_int_equal(mdb_get(t, md, &sk, &sv), MDB_NOTFOUND);
    MDB_val ck = {14, "closed_through"};
    assert_int_equal(mdb_get(t, md, &ck, &sv), 0);
    mdb_txn_abort(t);
    mdb_env_close(env);
}

/* kB of this process's resident file-backed pages (RssFile). */
static long rss_file_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "RssFile: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int count_event(uint64_t seq, const uint8_t *pb, size_t len, void *arg)
{
    (void)seq;
    (void)pb;
    (void)len;
    ++*(uint64_t *)arg;
    return 0;
}

/* Dropping the map's pages unmaps them (the resident set falls) and loses
 * nothing: every event reads back afterwards. */
static void test_unmap_pages(void **state)
{
    (void)state;
    kh_store_t *st;
    kh_store_opts_t o = {.dir = g_dir};
    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    enum { N = 40000 };
    kh_txn_t *txn;
    assert_int_equal(kh_txn_begin(st, true, &txn), KH_OK);
    for (int i = 0; i < N; i++) {
        kh_event_t e;
        char id[32], code[16];
        snprintf(id, sizeof id, "u%d", i);
        snprintf(code, sizeof code, "S%02d", i % 20);
        call(&e, id, code, id, 0);
        uint8_t *pb;
        size_t len;
        assert_int_equal(kh_codec_event_encode(&e, &pb, &len), KH_OK);
        kh_ack_t out;
        assert_int_equal(kh_store_apply(txn, pb, len, &e, &out), KH_OK);
        free(pb);
        kh_event_clear(&e);
    }
    assert_int_equal(kh_txn_commit(&txn), KH_OK);
    kh_store_info_t info;
    assert_int_equal(kh_store_info(st, &info), KH_OK);
    assert_true(info.journal_bytes > 2u << 20);

    /* reading the whole journal maps its pages */
    uint64_t n = 0;
    assert_int_equal(kh_txn_begin(st, false, &txn), KH_OK);
    assert_int_equal(kh_store_journal_each(txn, 1, count_event, &n), KH_OK);
    kh_txn_abort(&txn);
    assert_true(n == N);
    long before = rss_file_kb();
    assert_int_equal(kh_store_unmap_pages(st), KH_OK);
    long after = rss_file_kb();
    assert_true(before - after >= (long)(info.journal_bytes / 1024 / 2));

    n = 0;
    assert_int_equal(kh_txn_begin(st, false, &txn), KH_OK);
    assert_int_equal(kh_store_journal_each(txn, 1, count_event, &n), KH_OK);
    assert_true(kh_store_last_seq(txn) == N);
    kh_txn_abort(&txn);
    assert_true(n == N);
    kh_store_close(&st);
}

/* Whether the mapping of DIR/data.mdb in this process says "rr" (random
 * reads: madvise(MADV_RANDOM), which is what MDB_NORDAHEAD sets) in its
 * VmFlags; -1 when the file is not mapped. */
static int mapped_random(const char *dir)
{
    char want[128], line[512];
    snprintf(want, sizeof want, "%s/data.mdb", dir);
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    int found = -1;
    bool ours = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        size_t n = strlen(line), w = strlen(want);
        if (strchr(line, '-') == line + strspn(line, "0123456789abcdef")) /* a map */
            ours = n > w && strcmp(line + n - w, want) == 0;
        else if (ours && strncmp(line, "VmFlags:", 8) == 0)
            found = strstr(line, " rr") != NULL;
    }
    fclose(f);
    return found;
}

/* The store is mapped without the OS's readahead (random descents) unless
 * asked for it (rebuild and backup read all of it). */
static void test_readahead(void **state)
{
    (void)state;
    kh_store_t *st;
    kh_store_opts_t o = {.dir = g_dir};
    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    assert_int_equal(mapped_random(g_dir), 1);
    kh_store_close(&st);
    assert_int_equal(mapped_random(g_dir), -1);

    kh_store_opts_t ro = {.dir = g_dir, .readonly = true};
    assert_int_equal(kh_store_open(&st, &ro), KH_OK);
    assert_int_equal(mapped_random(g_dir), 1);
    kh_store_close(&st);

    kh_store_opts_t ra = {.dir = g_dir, .readonly = true, .readahead = true};
    assert_int_equal(kh_store_open(&st, &ra), KH_OK);
    assert_int_equal(mapped_random(g_dir), 0);
    kh_store_close(&st);
}

static void test_close_monotone(void **state)
{
    (void)state;
    kh_store_t *st;
    kh_store_opts_t o = {.dir = g_dir};
    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    kh_txn_t *txn;
    assert_int_equal(kh_txn_begin(st, true, &txn), KH_OK);
    assert_int_equal(kh_store_closed_through(txn), KH_DAY_NONE);
    kh_store_close_through(txn, 19782);
    kh_store_close_through(txn, 19700); /* never lowers */
    assert_int_equal(kh_store_closed_through(txn), 19782);
    assert_int_equal(kh_txn_commit(&txn), KH_OK);
    assert_int_equal(kh_txn_begin(st, false, &txn), KH_OK);
    assert_int_equal(kh_store_closed_through(txn), 19782);
    kh_txn_abort(&txn);
    kh_store_close(&st);
}

static void test_map_full_grows(void **state)
{
    (void)state;
    kh_store_t *st;
    /* a tiny map fills quickly; growing it lets the same batch succeed */
    kh_store_opts_t o = {.dir = g_dir, .map_size = 64 * 1024};
    assert_int_equal(kh_store_open(&st, &o), KH_OK);
    int grown = 0;
    for (int i = 0; i < 2000; i++) {
        kh_event_t e;
        char id[32];
        snprintf(id, sizeof id, "c%d", i);
        call(&e, id, "NM", id, 0);
        uint8_t *pb;
        size_t len;
        assert_int_equal(kh_codec_event_encode(&e, &pb, &len), KH_OK);
        for (;;) {
            kh_txn_t *txn;
            assert_int_equal(kh_txn_begin(st, true, &txn), KH_OK);
            kh_ack_t out;
            int rc = kh_store_apply(txn, pb, len, &e, &out);
            if (rc == KH_OK)
                rc = kh_txn_commit(&txn);
            else
                kh_txn_abort(&txn);
            if (rc == KH_EMAP_FULL) {
                assert_int_equal(kh_store_grow(st), KH_OK);
                grown++;
                continue;
            }
            assert_int_equal(rc, KH_OK);
            assert_int_equal(out.status, KH_STATUS_ACCEPTED);
            break;
        }
        free(pb);
        kh_event_clear(&e);
    }
    assert_true(grown > 0);
    kh_txn_t *txn;
    assert_int_equal(kh_txn_begin(st, false, &txn), KH_OK);
    assert_true(kh_store_last_seq(txn) == 2000);
    kh_txn_abort(&txn);
    kh_store_close(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dedup_and_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_fan_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_follows_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drops_old_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmap_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_monotone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full_grows, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
