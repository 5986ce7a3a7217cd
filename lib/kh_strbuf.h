/*
 * kh_strbuf.h - a growing, NUL-terminated string.
 *
 *   kh_strbuf_t b = {0};
 *   kh_strbuf_str(&b, "...");
 *   if (b.oom) ... else use b.s (malloc'd; free it)
 *
 * A failed allocation sets oom and makes every later append a no-op, so
 * a builder checks once at the end.
 */
#ifndef KH_STRBUF_H
#define KH_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kh_strbuf {
    char *s;
    size_t len, cap;
    bool oom;
} kh_strbuf_t;

void kh_strbuf_add(kh_strbuf_t *b, const char *s, size_t n);
void kh_strbuf_str(kh_strbuf_t *b, const char *s);

#endif
