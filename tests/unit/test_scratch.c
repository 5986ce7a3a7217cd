/*
 * test_scratch.c - the per-thread scratch arena: blocks of a scope are
 * distinct, aligned and released together at its end; scopes do not nest;
 * what does not fit, and everything outside a scope, is malloc'd and
 * freed; jansson and the event decoders allocate through it and leak
 * nothing (the ASan build's leak check runs this test too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kh_codec.h"
#include "kh_error.h"
#include "kh_event.h"
#include "kh_scratch.h"

static void test_scope_blocks(void **state)
{
    (void)state;
    assert_true(kh_scratch_begin());
    assert_false(kh_scratch_begin()); /* no nesting */
    unsigned char *a = kh_scratch_alloc(1), *b = kh_scratch_alloc(40);
    unsigned char *c = kh_scratch_alloc(7);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true((uintptr_t)a % 16 == 0 && (uintptr_t)b % 16 == 0 &&
                (uintptr_t)c % 16 == 0);
    /* distinct, in order, and each as large as asked */
    assert_true(b >= a + 1 && c >= b + 40);
    memset(a, 1, 1);
    memset(b, 2, 40);
    memset(c, 3, 7);
    assert_int_equal(a[0], 1);
    assert_int_equal(b[39], 2);
    kh_scratch_free(b); /* a no-op in a scope */
    assert_int_equal(b[0], 2);
    /* a zero-byte block is a block of its own */
    unsigned char *z = kh_scratch_alloc(0);
    assert_non_null(z);
    assert_true(z >= c + 7);
    kh_scratch_free(z);
    kh_scratch_end(false); /* the inner user's end leaves the scope open */
    assert_ptr_equal(kh_scratch_alloc(1), z + 16);
    kh_scratch_end(true);

    /* a new scope starts over at the same place: everything was released */
    assert_true(kh_scratch_begin());
    assert_ptr_equal(kh_scratch_alloc(8), a);
    kh_scratch_end(true);
}

static void test_spills_to_malloc(void **state)
{
    (void)state;
    /* outside a scope: malloc, and free really frees (the leak check) */
    void *p = kh_scratch_alloc(100);
    assert_non_null(p);
    kh_scratch_free(p);

    assert_true(kh_scratch_begin());
    void *first = kh_scratch_alloc(16);
    void *big = kh_scratch_alloc(1 << 20); /* larger than the arena */
    assert_non_null(big);
    memset(big, 0, 1 << 20);
    /* fill the arena and go on: the rest comes from malloc, and each is
     * usable and freed (the leak check) */
    enum { N = 2000 };
    void **v = calloc(N, sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < N; i++) {
        v[i] = kh_scratch_alloc(64);
        assert_non_null(v[i]);
        memset(v[i], i & 0xff, 64);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(((unsigned char *)v[i])[63], i & 0xff);
    for (int i = 0; i < N; i++)
        kh_scratch_free(v[i]);
    free(v);
    kh_scratch_free(big);
    kh_scratch_end(true);
    assert_true(kh_scratch_begin());
    assert_ptr_equal(kh_scratch_alloc(16), first);
    kh_scratch_end(true);
}

/* jansson through the arena: objects made outside a scope survive it and
 * are freed with free; lines parse the same, again and again. */
static void test_json_and_events(void **state)
{
    (void)state;
    kh_scratch_use_for_json();
    json_t *outside = json_pack("{s:s,s:i}", "a", "kept", "n", 7);
    assert_non_null(outside);
    static const char line[] =
        "{\"id\":\"D1\",\"source\":\"dispatch\",\"type\":\"call\","
        "\"time\":\"2026-03-01T08:00:00+08:00\",\"station\":\"NM\","
        "\"case_id\":\"A1\",\"case_kind\":\"robbery\",\"location\":\"street\","
        "\"note\":\"a note that is copied out of the arena\"}";
    for (int i = 0; i < 1000; i++) {
        kh_event_t ev;
        kh_event_init(&ev);
        assert_int_equal(kh_event_parse_json(line, sizeof line - 1, &ev), KH_OK);
        assert_string_equal(ev.id, "D1");
        assert_string_equal(ev.station, "NM");
        assert_non_null(ev.note);
        uint8_t *pb;
        size_t len;
        assert_int_equal(kh_codec_event_encode(&ev, &pb, &len), KH_OK);
        kh_event_t back;
        kh_event_init(&back);
        assert_int_equal(kh_codec_event_decode(pb, len, &back), KH_OK);
        assert_string_equal(back.case_id, "A1");
        assert_string_equal(back.note, ev.note);
        free(pb);
        kh_event_clear(&back);
        kh_event_clear(&ev);
    }
    /* a malformed line is refused the same way, and releases its blocks */
    kh_event_t ev;
    kh_event_init(&ev);
    assert_int_equal(kh_event_parse_json("{\"id\":", 6, &ev), KH_EMALFORMED);
    kh_event_clear(&ev);
    assert_string_equal(json_string_value(json_object_get(outside, "a")), "kept");
    json_decref(outside);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope_blocks),
        cmocka_unit_test(test_spills_to_malloc),
        cmocka_unit_test(test_json_and_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
