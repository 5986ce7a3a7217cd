/*
 * kh_credit.h - what each source has in flight, and the limits on it.
 *
 * An ingest forwards a source's events to the scorer and relays the
 * answers. Between the two, the events wait in queues that one flooding
 * source could fill: its events would then stand in front of everyone
 * else's, and the memory they take would grow with the flood. The credit
 * table bounds that per source key and in total, in events and in bytes:
 * an ingest takes credit before it forwards an event and gives it back when
 * the answer comes; an event that finds no credit is answered `failed`
 * (not decided: the source resends later, kaohe feed after a back-off), so
 * a flooding key slows only itself and every other key's events wait
 * behind at most one key's allowance.
 *
 * Answers can be lost (a scorer killed mid-batch never answers): a key
 * whose in-flight count has not moved for `stale_us` is presumed to have
 * lost them, and starts again from zero. Pure bookkeeping: no I/O, the
 * caller passes the time.
 */
#ifndef KH_CREDIT_H
#define KH_CREDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kh_credit kh_credit_t;

typedef struct kh_credit_limits {
    uint32_t key_events; /* events in flight per key */
    uint64_t key_bytes;  /* bytes in flight per key */
    uint64_t all_bytes;  /* bytes in flight, every key together */
    int64_t stale_us;    /* no answer for this long: forget the key's count */
} kh_credit_limits_t;

/* NULL when out of memory. */
kh_credit_t *kh_credit_new(const kh_credit_limits_t *limits);
void kh_credit_free(kh_credit_t **self_p);

/* Takes credit for `events` events of `bytes` in all from `key` at time
 * now_us: true when granted (give it back with kh_credit_give), false when
 * a limit is reached or memory ran out. */
bool kh_credit_take(kh_credit_t *c, const char *key, uint32_t events, uint64_t bytes,
                    int64_t now_us);
/* Gives back what kh_credit_take granted (an unknown key, or more than is
 * in flight after a reset, is ignored). */
void kh_credit_give(kh_credit_t *c, const char *key, uint32_t events, uint64_t bytes,
                    int64_t now_us);

typedef struct kh_credit_stats {
    uint64_t events;  /* in flight, every key */
    uint64_t bytes;   /* in flight, every key */
    uint64_t refused; /* takes refused so far */
    uint64_t resets;  /* keys reset as stale so far */
    size_t keys;      /* keys known */
} kh_credit_stats_t;

void kh_credit_stats(const kh_credit_t *c, kh_credit_stats_t *out);
/* What one key has in flight (0, 0 when unknown). */
void kh_credit_key(const kh_credit_t *c, const char *key, uint32_t *events,
                   uint64_t *bytes);

#endif
