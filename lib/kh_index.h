/*
 * kh_index.h - which journaled events bear on which station, in memory.
 *
 * The ranker scores a station from its own events and from every call and
 * review of every case one of its calls names (kh_score.h). kh_index_t
 * keeps that relation for the events added to it, in sequence order:
 *
 *   per station: the sequences of its own events, the cases its calls
 *     name (each once), and its stamp, the last sequence that changed
 *     what bears on it: its own event, or a call or review of one of its
 *     cases;
 *   per case: its calls (with their station) and reviews, in order.
 *
 * It is derived from the journal alone (the ranker adds each event as it
 * reads it, kh_store_index_update), so the scorer's durable commit writes
 * only the journal and the de-duplication key: no index page of a random
 * station or case (issue 7: those pages were most of a commit's writes).
 * Pure: no storage, no clock.
 */
#ifndef KH_INDEX_H
#define KH_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "kh_event.h"

typedef struct kh_index kh_index_t;

kh_index_t *kh_index_new(void);
void kh_index_free(kh_index_t **self_p);

/* The last sequence added (0: none). */
uint64_t kh_index_through(const kh_index_t *idx);
/* Adds the event journaled under seq; seq must be above kh_index_through
 * (KH_EINVAL otherwise, and nothing changes). KH_ENOMEM leaves the index
 * unusable: free it and build it again. */
int kh_index_add(kh_index_t *idx, uint64_t seq, const kh_event_t *ev);
/* A station's stamp (0: nothing bears on it yet). */
uint64_t kh_index_stamp(const kh_index_t *idx, const char *code);
/* The sequences of every event that bears on a station, ascending, each
 * once, none above upto: a malloc'd array in *seqs (NULL when none). */
int kh_index_station_seqs(const kh_index_t *idx, const char *code, uint64_t upto,
                          uint64_t **seqs, size_t *n);
/* Bytes held, for the ranker's metrics. */
size_t kh_index_bytes(const kh_index_t *idx);

#endif
