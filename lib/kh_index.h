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
/* Passes over seq, a journal entry that could not be decoded: it bears on
 * no station (the reader logs it). Same rule as kh_index_add for seq. */
int kh_index_skip(kh_index_t *idx, uint64_t seq);
/* How many entries were passed over, and the last of them (0: none). */
size_t kh_index_skipped(const kh_index_t *idx);
uint64_t kh_index_last_skipped(const kh_index_t *idx);
/* A station's stamp (0: nothing bears on it yet), as of the last event
 * added. */
uint64_t kh_index_stamp(const kh_index_t *idx, const char *code);
/* The sequences of every event that bears on a station as of the last
 * event added, ascending, each once: a malloc'd array in *seqs (NULL when
 * none). There is no cut at an earlier sequence: a case a station's call
 * names later already counts; a reader of an older state must not use an
 * index that has gone past it (kh_store_load_station refuses). */
int kh_index_station_seqs(const kh_index_t *idx, const char *code, uint64_t **seqs,
                          size_t *n);
/* Bytes held, for the ranker's metrics. */
size_t kh_index_bytes(const kh_index_t *idx);

#endif
