/*
 * cmd_snapshot.c - kaohe snapshot publish|list|show|diff|verify|export, and
 * kaohe subscribe.
 *
 * publish asks the ranker (which closes the month, freezes it and has the
 * scorer store it). Everything else reads the store directly, read-only:
 * published snapshots are immutable, so reading them needs no service and
 * works with kaohe down too.
 *
 * subscribe follows the zguide's Clone pattern: it subscribes first, then
 * reads the latest publication from the store and prints it, then prints
 * each published snapshot as it arrives. Each carries its publication
 * number; a gap (a message dropped at a slow subscriber's high-water mark)
 * is filled from the store, and so is a publication that went out before
 * the subscription took effect (found when the socket has been quiet for
 * half a second), so a subscriber never misses a revision.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kaohe.h"
#include "kh_error.h"
#include "kh_export.h"
#include "kh_proc.h"
#include "kh_render.h"
#include "kh_snapshot.h"
#include "kh_store.h"

static int open_store(const kh_args_t *a, kh_store_t **st, char *dir, size_t cap)
{
    char path[PATH_MAX];
    if (kh_abspath(dir, cap, a->dir))
        return kh_fail("no data directory %s", a->dir);
    kh_path(path, sizeof path, dir, NULL, "store", NULL);
    kh_store_opts_t o = {.dir = path, .readonly = true};
    int rc = kh_store_open(st, &o);
    if (rc)
        return kh_fail("cannot open the store in %s: %s", dir, kh_strerror(rc));
    return KH_EXIT_OK;
}

static int parse_month(const char *s, kh_period_t *m)
{
    return kh_month_parse(s, m) == KH_OK ? 0 : -1;
}

static uint32_t month_key(kh_period_t m)
{
    return (uint32_t)(m.year * 12 + m.index);
}

/* Loads a month's revision (0: latest). */
static int load_rev(kh_store_t *st, kh_period_t m, uint32_t rev, json_t **doc)
{
    kh_txn_t *txn;
    int rc = kh_txn_begin(st, false, &txn);
    if (rc)
        return rc;
    if (rev == 0)
        rev = kh_store_snap_latest_rev(txn, month_key(m));
    char *text = NULL;
    size_t len;
    rc = rev ? kh_store_snap_get(txn, month_key(m), rev, &text, &len) : KH_ENOTFOUND;
    kh_txn_abort(&txn);
    if (rc)
        return rc;
    *doc = json_loadb(text, len, 0, NULL);
    free(text);
    return *doc ? KH_OK : KH_ESTORE;
}

/* The document in SPEC order (month, rev, hash, prev_hash, published_at,
 * rank, stations, then the rest). */
static json_t *ordered(const json_t *doc)
{
    static const char *const first[] = {"month",        "rev",  "hash",    "prev_hash",
                                        "published_at", "rank", "stations"};
    json_t *out = json_object();
    for (size_t i = 0; i < sizeof first / sizeof *first; i++) {
        json_t *v = json_object_get(doc, first[i]);
        if (v)
            json_object_set(out, first[i], v);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v)
    {
        if (!json_object_get(out, k))
            json_object_set(out, k, v);
    }
    return out;
}

static void print_json(const json_t *doc)
{
    char *s = kh_render_dumps(doc);
    puts(s ? s : "null");
    free(s);
}

static uint32_t opt_rev(const kh_args_t *a, const char *name, int *bad)
{
    const char *s = kh_args_get(a, name);
    if (!s)
        return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1) {
        *bad = 1;
        return 0;
    }
    return (uint32_t)v;
}

static int cmd_publish(const kh_args_t *a)
{
    if (a->npos != 2)
        return kh_usage_error("snapshot publish YYYY-MM");
    kh_period_t m;
    if (parse_month(a->pos[1], &m))
        return kh_usage_error("snapshot publish %s: want YYYY-MM", a->pos[1]);
    char dir[PATH_MAX];
    if (kh_abspath(dir, sizeof dir, a->dir))
        return kh_fail("no data directory %s", a->dir);
    kh_query_t q = {.tag = 1, .kind = KH_Q_PUBLISH};
    snprintf(q.month, sizeof q.month, "%s", a->pos[1]);
    const char *who = kh_args_get(a, "--as");
    if (!who)
        who = getenv("USER");
    snprintf(q.actor, sizeof q.actor, "%s", who ? who : "admin");
    kh_reply_t rep;
    int rc = kh_client_query(dir, &q, 300000, &rep);
    if (rc)
        return kh_fail("the ranker did not answer (%s): is kaohe up in %s?",
                       kh_strerror(rc), dir);
    if (rep.code) {
        fprintf(stderr, "kaohe: %s\n", rep.error ? rep.error : kh_strerror(rep.code));
        kh_codec_reply_free(&rep);
        return KH_EXIT_FAIL;
    }
    json_t *doc = json_loads(rep.json ? rep.json : "", 0, NULL);
    if (a->json) {
        puts(rep.json);
    } else if (doc) {
        json_t *ch = json_object_get(doc, "changed");
        printf("%s revision %lld %s\nhash %s\n",
               json_string_value(json_object_get(doc, "month")),
               (long long)json_integer_value(json_object_get(doc, "rev")),
               json_is_true(ch) ? "published" : "unchanged (nothing new to publish)",
               json_string_value(json_object_get(doc, "hash")));
    }
    json_decref(doc);
    kh_codec_reply_free(&rep);
    return KH_EXIT_OK;
}

static int cmd_list(kh_store_t *st, const kh_args_t *a)
{
    kh_txn_t *txn;
    if (kh_txn_begin(st, false, &txn))
        return kh_fail("cannot read the store");
    kh_snap_ref_t last;
    bool found;
    json_t *arr = json_array();
    if (kh_store_snap_last(txn, &last, &found) == KH_OK && found) {
        for (uint64_t p = 1; p <= last.pubno; p++) {
            kh_snap_ref_t ref;
            char *text;
            size_t len;
            if (kh_store_snap_by_pubno(txn, p, &ref) ||
                kh_store_snap_get(txn, ref.month, ref.rev, &text, &len))
                continue;
            json_t *d = json_loadb(text, len, 0, NULL);
            free(text);
            if (!d)
                continue;
            json_array_append_new(
                arr,
                json_pack("{s:I,s:O,s:O,s:O,s:O,s:O,s:I}", "publication", (json_int_t)p,
                          "month", json_object_get(d, "month"), "rev",
                          json_object_get(d, "rev"), "hash", json_object_get(d, "hash"),
                          "published_at", json_object_get(d, "published_at"),
                          "published_by", json_object_get(d, "published_by"), "changes",
                          (json_int_t)json_array_size(json_object_get(d, "changes"))));
            json_decref(d);
        }
    }
    kh_txn_abort(&txn);
    if (a->json) {
        print_json(arr);
    } else {
        printf("%-4s %-8s %-4s %-20s %-28s %s\n", "no.", "month", "rev", "hash",
               "published at", "by");
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
        {
            printf("%-4lld %-8s %-4lld %.16s…    %-28s %s\n",
                   (long long)json_integer_value(json_object_get(v, "publication")),
                   json_string_value(json_object_get(v, "month")),
                   (long long)json_integer_value(json_object_get(v, "rev")),
                   json_string_value(json_object_get(v, "hash")),
                   json_string_value(json_object_get(v, "published_at")),
                   json_string_value(json_object_get(v, "published_by")));
        }
        if (json_array_size(arr) == 0)
            printf("(nothing published yet)\n");
    }
    json_decref(arr);
    return KH_EXIT_OK;
}

static int cmd_show(kh_store_t *st, const kh_args_t *a)
{
    kh_period_t m;
    int bad = 0;
    if (a->npos != 2 || parse_month(a->pos[1], &m))
        return kh_usage_error("snapshot show YYYY-MM [--rev N]");
    uint32_t rev = opt_rev(a, "--rev", &bad);
    if (bad)
        return kh_usage_error("--rev takes a revision number");
    json_t *doc;
    int rc = load_rev(st, m, rev, &doc);
    if (rc == KH_ENOTFOUND)
        return kh_fail("%s revision %s was never published", a->pos[1],
                       rev ? kh_args_get(a, "--rev") : "(any)");
    if (rc)
        return kh_fail("cannot read the snapshot: %s", kh_strerror(rc));
    if (a->json) {
        json_t *o = ordered(doc);
        print_json(o);
        json_decref(o);
    } else {
        printf("%s  revision %lld  published %s by %s\nhash      %s\nprev_hash %s\n\n",
               json_string_value(json_object_get(doc, "month")),
               (long long)json_integer_value(json_object_get(doc, "rev")),
               json_string_value(json_object_get(doc, "published_at")),
               json_string_value(json_object_get(doc, "published_by")),
               json_string_value(json_object_get(doc, "hash")),
               json_is_string(json_object_get(doc, "prev_hash"))
                   ? json_string_value(json_object_get(doc, "prev_hash"))
                   : "(first publication)");
        kh_render_rank_table(stdout, json_object_get(doc, "rank"));
    }
    json_decref(doc);
    return KH_EXIT_OK;
}

static int cmd_diff(kh_store_t *st, const kh_args_t *a)
{
    kh_period_t m;
    int bad = 0;
    if (a->npos != 2 || parse_month(a->pos[1], &m))
        return kh_usage_error("snapshot diff YYYY-MM [--from A] [--to B]");
    uint32_t from = opt_rev(a, "--from", &bad), to = opt_rev(a, "--to", &bad);
    if (bad)
        return kh_usage_error("--from and --to take revision numbers");
    json_t *newer = NULL, *older = NULL;
    int rc = load_rev(st, m, to, &newer);
    if (rc)
        return kh_fail("%s: no such revision", a->pos[1]);
    uint32_t nrev = (uint32_t)json_integer_value(json_object_get(newer, "rev"));
    if (!from)
        from = nrev > 1 ? nrev - 1 : 1;
    if ((rc = load_rev(st, m, from, &older))) {
        json_decref(newer);
        return kh_fail("%s: no revision %u", a->pos[1], from);
    }
    json_t *changes = kh_snapshot_diff(older, newer);
    if (a->json) {
        json_t *o =
            json_pack("{s:s,s:I,s:I,s:o}", "month", a->pos[1], "from", (json_int_t)from,
                      "to", (json_int_t)nrev, "changes", changes);
        print_json(o);
        json_decref(o);
    } else {
        printf("%s: revision %u -> %u, %zu changes\n", a->pos[1], from, nrev,
               json_array_size(changes));
        size_t i;
        json_t *c;
        json_array_foreach(changes, i, c)
        {
            char *ov = json_dumps(json_object_get(c, "old"),
                                  JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
            char *nv = json_dumps(json_object_get(c, "new"),
                                  JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
            char *ev = json_dumps(json_object_get(c, "events"), JSON_COMPACT);
            const char *item = json_string_value(json_object_get(c, "item"));
            printf("  %-6s %-7s %-10s %s -> %s  events %s\n",
                   json_string_value(json_object_get(c, "station")), item ? item : "-",
                   json_string_value(json_object_get(c, "field")), ov ? ov : "?",
                   nv ? nv : "?", ev ? ev : "[]");
            free(ov);
            free(nv);
            free(ev);
        }
        json_decref(changes);
    }
    json_decref(older);
    json_decref(newer);
    return KH_EXIT_OK;
}

/* Recomputes every hash and follows the chain in publication order. */
static int cmd_verify(kh_store_t *st, const kh_args_t *a)
{
    kh_txn_t *txn;
    if (kh_txn_begin(st, false, &txn))
        return kh_fail("cannot read the store");
    kh_snap_ref_t last;
    bool found;
    char prev[KH_SNAPSHOT_HASH_HEX] = "";
    uint64_t n = 0;
    int rc = KH_EXIT_OK;
    char why[256] = "", where[64] = "";
    if (kh_store_snap_last(txn, &last, &found) == KH_OK && found) {
        uint32_t seen_rev[64] = {0};
        uint32_t seen_month[64];
        size_t nseen = 0;
        for (uint64_t p = 1; p <= last.pubno && rc == KH_EXIT_OK; p++, n++) {
            kh_snap_ref_t ref;
            char *text = NULL;
            size_t len;
            kh_period_t m = {0};
            if (kh_store_snap_by_pubno(txn, p, &ref) ||
                kh_store_snap_get(txn, ref.month, ref.rev, &text, &len)) {
                snprintf(where, sizeof where, "publication %llu", (unsigned long long)p);
                snprintf(why, sizeof why, "missing from the store");
                rc = KH_EXIT_FAIL;
                break;
            }
            m = kh_period_nth(KH_PK_MONTH, (int)(ref.month / 12), (int)(ref.month % 12));
            char label[16];
            snprintf(where, sizeof where, "%s revision %u", kh_period_format(m, label),
                     ref.rev);
            json_t *doc = json_loadb(text, len, 0, NULL);
            free(text);
            if (!doc) {
                snprintf(why, sizeof why, "stored document is not valid JSON");
                rc = KH_EXIT_FAIL;
                break;
            }
            const char *dm = json_string_value(json_object_get(doc, "month"));
            json_int_t drev = json_integer_value(json_object_get(doc, "rev"));
            if (!dm || strcmp(dm, label) != 0 || drev != (json_int_t)ref.rev) {
                snprintf(why, sizeof why, "document names %s revision %lld",
                         dm ? dm : "?", (long long)drev);
                rc = KH_EXIT_FAIL;
            } else if (!kh_snapshot_verify_doc(doc, p == 1 ? NULL : prev, why,
                                               sizeof why)) {
                rc = KH_EXIT_FAIL;
            }
            /* revisions of a month are numbered 1, 2, ... in order */
            size_t k;
            for (k = 0; k < nseen && seen_month[k] != ref.month; k++)
                ;
            if (rc == KH_EXIT_OK && k < 64) {
                uint32_t want = (k < nseen ? seen_rev[k] : 0) + 1;
                if (ref.rev != want) {
                    snprintf(why, sizeof why, "revision out of sequence (expected %u)",
                             want);
                    rc = KH_EXIT_FAIL;
                }
                if (k == nseen && nseen < 64)
                    seen_month[nseen++] = ref.month;
                seen_rev[k] = ref.rev;
            }
            const char *h = json_string_value(json_object_get(doc, "hash"));
            snprintf(prev, sizeof prev, "%s", h ? h : "");
            json_decref(doc);
        }
    }
    kh_txn_abort(&txn);
    if (a->json) {
        json_t *o =
            json_pack("{s:b,s:I,s:s?,s:s?}", "ok", rc == KH_EXIT_OK, "publications",
                      (json_int_t)n, "broken", rc ? where : NULL, "why", rc ? why : NULL);
        print_json(o);
        json_decref(o);
    } else if (rc == KH_EXIT_OK) {
        printf("verified %llu publications: every hash and the chain are intact\n",
               (unsigned long long)n);
    } else {
        printf("BROKEN at %s: %s\n", where, why);
    }
    return rc;
}

static int cmd_export(kh_store_t *st, const kh_args_t *a)
{
    kh_period_t m;
    int bad = 0;
    if (a->npos != 2 || parse_month(a->pos[1], &m))
        return kh_usage_error(
            "snapshot export YYYY-MM --format json|csv|xlsx|html -o FILE");
    const char *fmt = kh_args_get(a, "--format"), *out = kh_args_get(a, "-o");
    kh_export_format_t f;
    if (!fmt || kh_export_format_parse(fmt, &f) != KH_OK)
        return kh_usage_error("--format json|csv|xlsx|html");
    if (!out)
        return kh_usage_error("export needs -o FILE");
    uint32_t rev = opt_rev(a, "--rev", &bad);
    if (bad)
        return kh_usage_error("--rev takes a revision number");
    json_t *doc;
    if (load_rev(st, m, rev, &doc))
        return kh_fail("%s: no such revision", a->pos[1]);
    json_t *o = ordered(doc);
    char err[256] = "";
    int rc = kh_export_write(o, f, out, err, sizeof err);
    json_decref(o);
    json_decref(doc);
    if (rc)
        return kh_fail("export to %s failed: %s", out, err[0] ? err : kh_strerror(rc));
    if (!a->json)
        printf("wrote %s\n", out);
    return KH_EXIT_OK;
}

int kh_cmd_snapshot(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    if (a->npos < 1)
        return kh_usage_error("snapshot publish|list|show|diff|verify|export");
    const char *sub = a->pos[0];
    if (strcmp(sub, "publish") == 0)
        return cmd_publish(a);
    kh_store_t *st = NULL;
    char dir[PATH_MAX];
    int rc;
    if (strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "diff") &&
        strcmp(sub, "verify") && strcmp(sub, "export"))
        return kh_usage_error("unknown snapshot command \"%s\"", sub);
    if ((rc = open_store(a, &st, dir, sizeof dir)) != KH_EXIT_OK)
        return rc;
    if (strcmp(sub, "list") == 0)
        rc = cmd_list(st, a);
    else if (strcmp(sub, "show") == 0)
        rc = cmd_show(st, a);
    else if (strcmp(sub, "diff") == 0)
        rc = cmd_diff(st, a);
    else if (strcmp(sub, "verify") == 0)
        rc = cmd_verify(st, a);
    else
        rc = cmd_export(st, a);
    kh_store_close(&st);
    return rc;
}

static volatile sig_atomic_t g_stop;
static void on_sig(int s)
{
    (void)s;
    g_stop = 1;
}

/* Prints one publication as a line of JSON. */
static void print_pub(kh_store_t *st, uint64_t pubno)
{
    kh_txn_t *txn;
    if (kh_txn_begin(st, false, &txn))
        return;
    kh_snap_ref_t ref;
    char *text;
    size_t len;
    if (kh_store_snap_by_pubno(txn, pubno, &ref) == KH_OK &&
        kh_store_snap_get(txn, ref.month, ref.rev, &text, &len) == KH_OK) {
        fwrite(text, 1, len, stdout);
        putchar('\n');
        fflush(stdout);
        free(text);
    }
    kh_txn_abort(&txn);
}

/* Publications the socket did not deliver (dropped at the publisher's
 * high-water mark while we were slow, or sent before we subscribed) are
 * read from the store; stderr says so. */
static void note_gap(uint64_t from, uint64_t to)
{
    fprintf(stderr,
            "kaohe: publications %llu-%llu missed on the socket, read from the store\n",
            (unsigned long long)from, (unsigned long long)to);
}

int kh_cmd_subscribe(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    char dir[PATH_MAX], ep[600];
    kh_store_t *st;
    int rc = open_store(a, &st, dir, sizeof dir);
    if (rc)
        return rc;
    if (kh_endpoint(ep, sizeof ep, dir, "snapshots"))
        return kh_fail("data directory path too long");
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    if (kh_client_curve(sub, dir, kh_client_identity) != KH_OK)
        return kh_fail("no key for %s in %s/keys", kh_client_identity, dir);
    if (zmq_connect(sub, ep) != 0)
        return kh_fail("cannot connect to %s", ep);
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    /* Clone: subscribed first, now the state so far. */
    uint64_t seen = 0;
    kh_txn_t *txn;
    if (kh_txn_begin(st, false, &txn) == KH_OK) {
        kh_snap_ref_t last;
        bool found;
        if (kh_store_snap_last(txn, &last, &found) == KH_OK && found)
            seen = last.pubno;
        kh_txn_abort(&txn);
    }
    if (seen)
        print_pub(st, seen);
    const char *limit = kh_args_get(a, "--count");
    long want = limit ? atol(limit) : 0, got = seen ? 1 : 0;
    while (!g_stop && (!want || got < want)) {
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 500) <= 0) {
            /* Quiet for half a second: a publication may have gone out
             * before our subscription reached the publisher, or been the
             * last one dropped; the store has it. */
            kh_snap_ref_t last;
            bool found = false;
            if (kh_txn_begin(st, false, &txn) == KH_OK) {
                kh_store_snap_last(txn, &last, &found);
                kh_txn_abort(&txn);
            }
            if (found && last.pubno > seen)
                note_gap(seen + 1, last.pubno);
            for (uint64_t p = seen + 1; found && p <= last.pubno && (!want || got < want);
                 p++, got++) {
                print_pub(st, p);
                seen = p;
            }
            continue;
        }
        zmq_msg_t seqm, body;
        zmq_msg_init(&seqm);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&seqm, sub, 0) < 0 || !zmq_msg_more(&seqm) ||
            zmq_msg_recv(&body, sub, 0) < 0 || zmq_msg_size(&seqm) != 8) {
            zmq_msg_close(&seqm);
            zmq_msg_close(&body);
            continue;
        }
        const uint8_t *b = zmq_msg_data(&seqm);
        uint64_t pubno = 0;
        for (int i = 0; i < 8; i++)
            pubno = (pubno << 8) | b[i];
        if (pubno > seen) {
            /* a gap: fill it from the store, in order */
            if (pubno > seen + 1)
                note_gap(seen + 1, pubno - 1);
            for (uint64_t p = seen + 1; p < pubno; p++, got++)
                print_pub(st, p);
            fwrite(zmq_msg_data(&body), 1, zmq_msg_size(&body), stdout);
            putchar('\n');
            fflush(stdout);
            seen = pubno;
            got++;
        }
        zmq_msg_close(&seqm);
        zmq_msg_close(&body);
    }
    zmq_close(sub);
    zmq_ctx_term(ctx);
    kh_store_close(&st);
    return KH_EXIT_OK;
}
