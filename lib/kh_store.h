/*
 * kh_store.h - kaohe's LMDB environment: journal, de-duplication, snapshots.
 *
 * One environment per data directory (DIR/store). The scorer is its only
 * writer; the ranker and the CLI open it read-only. Named databases:
 *
 *   journal  seq(u64 BE)                 -> encoded Event (append-only)
 *   dedup    source(u8) id               -> hash(16) seq(u64 BE)
 *   meta     "last_seq"                  -> u64 BE
 *            "closed_through"            -> i32 BE (biased), absent: none
 *            "snap_last"                 -> u64 BE, last publication number
 *   snap     month(u32 BE) rev(u32 BE)   -> a published snapshot (canonical JSON)
 *   snapseq  publication(u64 BE)         -> month(u32 BE) rev(u32 BE)
 *
 * Snapshots are immutable: a (month, rev) is written once, by
 * kh_store_snap_put, and never overwritten; publications are numbered 1, 2,
 * ... in the order they were made, which is the order of the hash chain.
 *
 * A commit writes an event's journal entry and its de-duplication key,
 * nothing more. Which events bear on which station, and each station's
 * stamp, are derived from the journal by the reader that needs them, in
 * memory (kh_index.h, kh_store_index_update): a commit dirties no index
 * page of a random station or case. Stores written before kept that
 * relation in "station" and "case" databases and "stamp:" meta keys; the
 * writer drops them when it opens such a store.
 *
 * A transaction keeps its first error (Knot's knot_lmdb): later calls on
 * it are no-ops returning that error, and commit aborts. LMDB codes are
 * translated here, once.
 */
#ifndef KH_STORE_H
#define KH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kh_codec.h"
#include "kh_event.h"
#include "kh_time.h"

typedef struct kh_store kh_store_t;
typedef struct kh_txn kh_txn_t;

typedef struct kh_store_opts {
    const char *dir; /* the store directory, created when writable */
    bool readonly;
    size_t map_size; /* initial map size in bytes; 0: 64 MiB */
    bool nosync;     /* commits not synced (a scratch store: rebuild) */
    bool readahead;  /* the OS's readahead on the map, for a reader of the
                        whole store (rebuild, backup); else none */
} kh_store_opts_t;

int kh_store_open(kh_store_t **out, const kh_store_opts_t *opts);
void kh_store_close(kh_store_t **self_p);
/* Whether the (writable) open dropped an older store's indexes. */
bool kh_store_dropped_legacy(const kh_store_t *st);
/* Doubles the map (the writer, on KH_EMAP_FULL, with no txn open). */
int kh_store_grow(kh_store_t *st);
size_t kh_store_map_size(const kh_store_t *st);

/* What the environment holds, for status, metrics and benchmarks. */
typedef struct kh_store_info {
    size_t map_size;        /* bytes mapped */
    size_t used;            /* bytes in use: pages up to the last one written */
    size_t page_size;       /* bytes */
    uint64_t last_seq;      /* journal length */
    uint64_t journal_bytes; /* pages of the journal database, in bytes */
} kh_store_info_t;

int kh_store_info(kh_store_t *st, kh_store_info_t *info);

/*
 * A consistent copy of the environment as of now into the existing empty
 * directory dir (dir/data.mdb), compacted (free pages omitted), made from
 * a read transaction: the writer goes on meanwhile (mdb_env_copy2).
 */
int kh_store_copy(kh_store_t *st, const char *dir);

/*
 * Drops this process's mapping of the store's pages (the kernel's page
 * cache keeps them; the next access maps a page again, a minor fault).
 * A long-running process that touches pages all over the file over time
 * (the scorer's random de-duplication inserts) otherwise keeps every page
 * it ever touched in its resident set. Pointers into the map stay valid
 * (the page is read again); the scorer calls it between transactions.
 */
int kh_store_unmap_pages(kh_store_t *st);

/*
 * Compares the journal and what the commits derive from it (dedup and the
 * meta key last_seq) of two stores, key by key. *same says whether they
 * agree; when not, what names the first difference ("dedup: key \"...\"
 * only in the live store"). An older store's indexes (stamp:* keys) are
 * not compared. Returns either txn's error.
 */
int kh_store_compare(kh_txn_t *live, kh_txn_t *rebuilt, bool *same, char *what,
                     size_t whatlen);

/* Copies the meta keys not derived from the journal (closed_through,
 * snap_last) and the snapshots from one store to another (rebuild). */
int kh_store_copy_state(kh_txn_t *from, kh_txn_t *to);

int kh_txn_begin(kh_store_t *st, bool write, kh_txn_t **out);
/* Commits (durably, for a write txn) and frees; returns the first error. */
int kh_txn_commit(kh_txn_t **txn_p);
void kh_txn_abort(kh_txn_t **txn_p);
/* The first error the txn met, KH_OK if none. */
int kh_txn_error(const kh_txn_t *txn);

/* The journal's last sequence number (0 when empty). */
uint64_t kh_store_last_seq(kh_txn_t *txn);
/* The day through which every period is closed, or KH_DAY_NONE. */
kh_day_t kh_store_closed_through(kh_txn_t *txn);
/* Raises closed_through to day (never lowers it). */
int kh_store_close_through(kh_txn_t *txn, kh_day_t day);

/*
 * Applies one event in a write txn: by (source, id) it is a duplicate (same
 * content hash: out->status DUPLICATE), a conflict (other content:
 * REJECTED/conflict), or new: journaled under the next sequence, its key kept
 * (ACCEPTED, out->seq). pb/len is the event's encoding, ev the decoded
 * event. Returns the txn's error; out is valid only when that is KH_OK.
 */
int kh_store_apply(kh_txn_t *txn, const uint8_t *pb, size_t len, const kh_event_t *ev,
                   kh_ack_t *out);

/* A growable array of decoded events. */
typedef struct kh_evset {
    kh_event_t *v;
    uint64_t *seq; /* the journal sequence of each */
    size_t n, cap;
} kh_evset_t;

void kh_evset_clear(kh_evset_t *set);

struct kh_index;

/* Adds to idx every journaled event after kh_index_through(idx), up to
 * the txn's last sequence (nothing when it is already there). An entry
 * that does not decode is passed over (kh_index_skip). */
int kh_store_index_update(kh_txn_t *txn, struct kh_index *idx);

/*
 * Loads every event that bears on a station (see kh_score.h): its own
 * events, and every call and review of every case any of its calls names,
 * each once, in sequence order. idx must be exactly at the txn
 * (kh_store_index_update): KH_ERANGE when it is not. Appends to set.
 */
int kh_store_load_station(kh_txn_t *txn, const struct kh_index *idx, const char *code,
                          kh_evset_t *set);

/* Iterates the journal from sequence `from` (inclusive). cb returns
 * non-zero to stop. */
typedef int (*kh_store_journal_cb)(uint64_t seq, const uint8_t *pb, size_t len,
                                   void *arg);
int kh_store_journal_each(kh_txn_t *txn, uint64_t from, kh_store_journal_cb cb,
                          void *arg);

/* --- month-end snapshots --- */

/* A snapshot's key: the month as year * 12 + (month - 1). */
typedef struct kh_snap_ref {
    uint32_t month;
    uint32_t rev;
    uint64_t pubno; /* publication number, 1-based */
} kh_snap_ref_t;

/* The latest revision of a month (0 when never published). */
uint32_t kh_store_snap_latest_rev(kh_txn_t *txn, uint32_t month);
/* The last publication (any month); *found false when none. */
int kh_store_snap_last(kh_txn_t *txn, kh_snap_ref_t *ref, bool *found);
/*
 * Stores a new revision: rev must be the month's latest + 1 and the
 * store's last publication must be expect_last (0: none), else
 * KH_ECONFLICT (someone published in between). Returns the txn's error.
 */
int kh_store_snap_put(kh_txn_t *txn, uint32_t month, uint32_t rev, uint64_t expect_last,
                      const char *doc, size_t len, uint64_t *pubno);
/* A copy of a stored snapshot (malloc'd, NUL-terminated). KH_ENOTFOUND
 * when absent. */
int kh_store_snap_get(kh_txn_t *txn, uint32_t month, uint32_t rev, char **doc,
                      size_t *len);
/* The publication with number pubno. KH_ENOTFOUND when absent. */
int kh_store_snap_by_pubno(kh_txn_t *txn, uint64_t pubno, kh_snap_ref_t *ref);

#endif
