/*
 * kh_watch.h - the screen of `kaohe watch`, laid out as lines of text.
 *
 * The CLI (cli/cmd_watch.c) owns the sockets, the terminal and the clock;
 * this module only turns what it gathered into lines: the ranking with
 * each station's change since the latest published snapshot and its
 * pending deductions, the month's 城区三所 patrol ranking, and the most
 * recent rejections the ingests announced. Every line is at most `width`
 * display columns (kh_display_width: a CJK character takes two), names
 * are cut with "…" rather than wrapped, and at most `height` lines come
 * out, the ranking taking what the other two blocks leave.
 *
 * Inputs are the JSON documents of SPEC section 7 as the ranker sends
 * them (kh_render.h), read back to milli-points (never floating point
 * arithmetic on points) and printed with two decimals.
 */
#ifndef KH_WATCH_H
#define KH_WATCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "kh_event.h"
#include "kh_time.h"

/*
 * One rejection as an ingest announces it on its PUB socket
 * ("ingest-ROLE-pub", services/ingest/main.c): a single frame of UTF-8
 * JSON text,
 *   {"source":"station","id":"x-bm","reason":"forbidden",
 *    "key":"station-NM","time":"2026-11-03T06:02:10.123456Z"}
 * key may be null (not known where the rejection was decided).
 */
typedef struct kh_watch_rejection {
    char source[16];        /* the ingest's role */
    char id[KH_ID_MAX + 1]; /* the event's id, "" when it had none */
    char reason[32];        /* a SPEC section 5 code: "forbidden", ... */
    char key[48];           /* the sender's identity, "" when unknown */
    kh_usec_t at;           /* when it was rejected; 0 when unreadable */
} kh_watch_rejection_t;

/* Parses one notice (len bytes, not NUL-terminated). Texts too long for
 * their field are cut. KH_OK, or KH_EPROTO when it is not a JSON object
 * with string "source" and "reason". */
int kh_watch_rejection_parse(const void *data, size_t len, kh_watch_rejection_t *out);

/* What one frame shows. Everything is borrowed; any document may be NULL
 * (not answered yet). */
typedef struct kh_watch_view {
    const char *dir;        /* the data directory */
    uint64_t last_seq;      /* the store's last committed sequence */
    kh_usec_t updated;      /* when the documents were fetched; 0: never */
    const kh_tz_t *tz;      /* the county's zone for the clock times; NULL: UTC */
    const char *note;       /* a problem to show under the header, or NULL */
    const json_t *rank;     /* kaohe rank --json */
    const json_t *urban;    /* kaohe urban --json */
    const json_t *snapshot; /* the latest published snapshot of rank's year */
    const kh_watch_rejection_t *rejections; /* newest first */
    size_t nrejections;
} kh_watch_view_t;

typedef struct kh_watch_frame {
    char **lines; /* n malloc'd NUL-terminated lines, without '\n' */
    size_t n;
} kh_watch_frame_t;

/*
 * Lays out one frame: every line at most width columns (width >= 20 is
 * readable; less still holds), at most height lines (0: as many as the
 * content needs, for a frame printed once). When the ranking does not
 * fit, its last shown line says how many stations are left out; the
 * rejections block, then the 城区三所 block, are dropped before the
 * ranking shrinks below three stations. A station's change is its total
 * minus its total in the snapshot ("—" without one); a snapshot of
 * another year than the ranking's counts as none.
 * KH_OK, KH_ENOMEM (nothing in *out).
 */
int kh_watch_layout(const kh_watch_view_t *v, size_t width, size_t height,
                    kh_watch_frame_t *out);
/* Frees the lines; takes an empty frame; leaves it empty. */
void kh_watch_frame_free(kh_watch_frame_t *f);

#endif
