/*
 * kh_strbuf.c - a growing string; see kh_strbuf.h.
 */
#include "kh_strbuf.h"

#include <stdlib.h>
#include <string.h>

void kh_strbuf_add(kh_strbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void kh_strbuf_str(kh_strbuf_t *b, const char *s)
{
    kh_strbuf_add(b, s, strlen(s));
}
