/*
 * kh_codec.h - the wire codec: plain structs <-> protobuf (proto/kaohe.proto).
 *
 * The only module that includes the generated protobuf-c code. Every
 * decoder takes untrusted bytes and returns KH_EPROTO for anything it
 * cannot decode or that carries a value outside its set; it never crashes
 * (fuzzed by tests/fuzz/fuzz_codec.c). Encoders return a malloc'd buffer
 * the caller frees.
 */
#ifndef KH_CODEC_H
#define KH_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kh_event.h"

/* Event <-> bytes. The encoding is deterministic for equal events, which
 * the scorer relies on to detect a conflicting resend by hash. */
int kh_codec_event_encode(const kh_event_t *ev, uint8_t **buf, size_t *len);
/* ev must be initialised; the caller clears it on any return. */
int kh_codec_event_decode(const uint8_t *buf, size_t len, kh_event_t *ev);

typedef struct kh_submit {
    uint64_t tag;
    bool ping;
    const uint8_t *line; /* borrowed from the decoded message */
    size_t len;
    size_t nbatch; /* > 0: a batch of lines (kh_codec_submit_item) */
    void *raw_;    /* the decoded message, freed by kh_codec_submit_free */
} kh_submit_t;

int kh_codec_submit_encode(uint64_t tag, const char *line, size_t len, bool ping,
                           uint8_t **buf, size_t *blen);
/* A batch of n lines in one Submit, each answered by its own tag. */
int kh_codec_submit_batch_encode(const uint64_t *tags, const char *const *lines,
                                 const size_t *lens, size_t n, uint8_t **buf,
                                 size_t *blen);
/* The i-th line of a batch (i < nbatch), borrowed from the message. */
void kh_codec_submit_item(const kh_submit_t *s, size_t i, uint64_t *tag,
                          const uint8_t **line, size_t *len);
int kh_codec_submit_decode(const uint8_t *buf, size_t len, kh_submit_t *out);
void kh_codec_submit_free(kh_submit_t *s);

typedef enum {
    KH_STATUS_ACCEPTED = 1,
    KH_STATUS_DUPLICATE = 2,
    KH_STATUS_REJECTED = 3,
    KH_STATUS_PONG = 4,
    KH_STATUS_FAILED = 5
} kh_status_t;

const char *kh_status_name(kh_status_t s); /* "accepted", ... */

typedef struct kh_ack {
    uint64_t tag;
    kh_status_t status;
    char reason[32]; /* a kh_err_name() when rejected or failed */
    char id[KH_ID_MAX + 1];
    uint64_t seq;
} kh_ack_t;

int kh_codec_outcome_encode(const kh_ack_t *o, uint8_t **buf, size_t *len);
int kh_codec_outcome_decode(const uint8_t *buf, size_t len, kh_ack_t *o);
/* Several outcomes in one message (one: the plain form above). */
int kh_codec_outcomes_encode(const kh_ack_t *v, size_t n, uint8_t **buf, size_t *len);
/* Either form: *v (malloc'd) holds *n >= 1 outcomes. */
int kh_codec_outcomes_decode(const uint8_t *buf, size_t len, kh_ack_t **v, size_t *n);

typedef enum {
    KH_SREQ_EVENT = 1,
    KH_SREQ_CLOSE = 2,
    KH_SREQ_PING = 3,
    KH_SREQ_EVENTS = 5, /* a batch of events */
    KH_SREQ_SNAPSHOT = 4
} kh_sreq_kind_t;

typedef struct kh_scorer_req {
    uint64_t tag;
    kh_sreq_kind_t kind;
    const uint8_t *event; /* KH_SREQ_EVENT: the encoded event, borrowed */
    size_t event_len;
    kh_day_t close_through; /* KH_SREQ_CLOSE */
    /* KH_SREQ_SNAPSHOT */
    uint32_t snap_month, snap_rev;
    uint64_t snap_expect_last;
    const uint8_t *snap_doc; /* borrowed */
    size_t snap_len;
    /* KH_SREQ_EVENTS: to encode, the arrays; decoded, nevents and
     * kh_codec_sreq_item */
    size_t nevents;
    const uint64_t *ev_tags;
    const uint8_t *const *evs;
    const size_t *ev_lens;
    void *raw_;
} kh_scorer_req_t;

int kh_codec_sreq_encode(const kh_scorer_req_t *r, uint8_t **buf, size_t *len);
/* The i-th event of a decoded KH_SREQ_EVENTS (i < nevents), borrowed. */
void kh_codec_sreq_item(const kh_scorer_req_t *r, size_t i, uint64_t *tag,
                        const uint8_t **ev, size_t *len);
int kh_codec_sreq_decode(const uint8_t *buf, size_t len, kh_scorer_req_t *r);
void kh_codec_sreq_free(kh_scorer_req_t *r);

typedef struct kh_scorer_reply {
    uint64_t tag;
    kh_ack_t outcome;
    uint64_t last_seq;
    kh_day_t closed_through;
    uint64_t pubno;
    kh_ack_t *outcomes; /* an EventBatch's, in order (decoded: malloc'd) */
    size_t noutcomes;
} kh_scorer_reply_t;

int kh_codec_sreply_encode(const kh_scorer_reply_t *r, uint8_t **buf, size_t *len);
/* Free with kh_codec_sreply_free. */
int kh_codec_sreply_decode(const uint8_t *buf, size_t len, kh_scorer_reply_t *r);
void kh_codec_sreply_free(kh_scorer_reply_t *r);

/* The envelope of a scorer request that carries the events of several
 * Submits (proto Route), echoed back by the scorer with its reply. */
#define KH_PEER_MAX 255 /* a ZeroMQ routing identity's bytes */
#define KH_KEY_MAX  255 /* a key's name (its CurveZMQ User-Id) */
typedef struct kh_origin {
    uint8_t peer[KH_PEER_MAX]; /* the source's routing identity */
    size_t peer_len;           /* 1..KH_PEER_MAX */
    char key[KH_KEY_MAX + 1];  /* the key it spoke with, not empty */
    uint32_t events;           /* its events in the request, in order, >= 1 */
    uint32_t bytes;            /* the credit taken for them */
    uint64_t received_us;      /* when its Submit arrived */
} kh_origin_t;

int kh_codec_route_encode(uint64_t no, const kh_origin_t *v, size_t n, uint8_t **buf,
                          size_t *len);
/* *v (malloc'd) holds *n >= 1 origins, each as kh_origin_t describes. */
int kh_codec_route_decode(const uint8_t *buf, size_t len, uint64_t *no, kh_origin_t **v,
                          size_t *n);

typedef struct kh_committed {
    uint64_t seq;
    uint64_t batch;
    kh_day_t closed_through;
    char (*stations)[KH_CODE_MAX + 1];
    size_t nstations;
} kh_committed_t;

int kh_codec_committed_encode(const kh_committed_t *c, uint8_t **buf, size_t *len);
/* Allocates c->stations; free with kh_codec_committed_free. */
int kh_codec_committed_decode(const uint8_t *buf, size_t len, kh_committed_t *c);
void kh_codec_committed_free(kh_committed_t *c);

typedef enum {
    KH_Q_PING = 1,
    KH_Q_RANK = 2,
    KH_Q_STATION = 3,
    KH_Q_EXPLAIN = 4,
    KH_Q_URBAN = 5,
    KH_Q_CLOSE = 6,
    KH_Q_STATUS = 7,
    KH_Q_PUBLISH = 8
} kh_query_kind_t;

typedef struct kh_query {
    uint64_t tag;
    kh_query_kind_t kind;
    char station[KH_CODE_MAX + 1];
    char item[KH_ITEM_MAX + 1];
    int32_t year; /* 0: current */
    char as_of[16];
    char month[16];
    char period[16];
    char actor[64];
} kh_query_t;

int kh_codec_query_encode(const kh_query_t *q, uint8_t **buf, size_t *len);
/* Strings longer than their buffers are KH_EPROTO. */
int kh_codec_query_decode(const uint8_t *buf, size_t len, kh_query_t *q);

typedef struct kh_reply {
    uint64_t tag;
    int32_t code;
    char *error; /* owned, may be NULL */
    char *json;  /* owned, may be NULL */
} kh_reply_t;

int kh_codec_reply_encode(const kh_reply_t *r, uint8_t **buf, size_t *len);
int kh_codec_reply_decode(const uint8_t *buf, size_t len, kh_reply_t *r);
void kh_codec_reply_free(kh_reply_t *r);

#endif
