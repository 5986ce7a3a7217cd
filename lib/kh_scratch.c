/*
 * kh_scratch.c - the per-thread scratch arena; see kh_scratch.h.
 */
#include "kh_scratch.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* An event line is at most 64 KiB, but an ordinary one parses in well
 * under 4 KiB of blocks; a large one spills over into malloc. */
#define SCRATCH_BYTES 16384
#define ALIGN         16

static _Thread_local struct {
    _Alignas(ALIGN) unsigned char buf[SCRATCH_BYTES];
    size_t used;
    bool open;
} scratch;

bool kh_scratch_begin(void)
{
    if (scratch.open)
        return false;
    scratch.open = true;
    scratch.used = 0;
    return true;
}

void kh_scratch_end(bool started)
{
    if (!started)
        return;
    POISON(scratch.buf, scratch.used);
    scratch.used = 0;
    scratch.open = false;
}

static bool in_scratch(const void *p)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)scratch.buf;
    return a >= lo && a < lo + SCRATCH_BYTES;
}

void *kh_scratch_alloc(size_t n)
{
    if (n == 0)
        n = 1; /* a block of its own, inside the buffer */
    if (scratch.open && n <= SCRATCH_BYTES) {
        size_t a = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
        if (a <= SCRATCH_BYTES - scratch.used) {
            void *p = scratch.buf + scratch.used;
            scratch.used += a;
            UNPOISON(p, n);
            return p;
        }
    }
    return malloc(n);
}

void kh_scratch_free(void *p)
{
    if (!in_scratch(p))
        free(p);
}

static void install_json(void)
{
    json_set_alloc_funcs(kh_scratch_alloc, kh_scratch_free);
}

void kh_scratch_use_for_json(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_json);
}
