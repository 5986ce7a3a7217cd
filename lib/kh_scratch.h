/*
 * kh_scratch.h - a per-thread scratch arena for the short-lived
 * allocations of one decode.
 *
 * Parsing an event line with jansson allocates a few dozen small blocks
 * (the object, its hash table, every key and string) and frees them all
 * before returning; unpacking an event with protobuf-c does the same.
 * malloc and free of those blocks were a sixth of the ingest's time
 * (perf, issue 7). Inside a scope (kh_scratch_begin .. kh_scratch_end),
 * kh_scratch_alloc takes blocks from one thread-local buffer and the end
 * of the scope releases them all at once; kh_scratch_free of such a block
 * is a no-op. Outside a scope, or when the buffer is used up, they are
 * malloc and free. Nothing allocated in a scope may outlive it.
 *
 * Under AddressSanitizer the released buffer is poisoned, so a use after
 * the scope is still caught.
 */
#ifndef KH_SCRATCH_H
#define KH_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Opens a scope; false if one is already open in this thread (the inner
 * user then passes false to kh_scratch_end, and the outer scope releases
 * everything). */
bool kh_scratch_begin(void);
/* Closes the scope kh_scratch_begin opened (started: what it returned). */
void kh_scratch_end(bool started);
void *kh_scratch_alloc(size_t n);
void kh_scratch_free(void *p);

/* Makes jansson allocate with kh_scratch_alloc/kh_scratch_free (once per
 * process; blocks allocated before are still freed correctly). */
void kh_scratch_use_for_json(void);

#endif
