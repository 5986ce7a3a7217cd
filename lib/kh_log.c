/*
 * kh_log.c - key=value logging to stderr; see kh_log.h. One write(2) per
 * line so lines from concurrent processes sharing a stderr never interleave.
 */
#include "kh_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *g_service = "kaohe";
static kh_log_level_t g_level = KH_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void kh_log_init(const char *service)
{
    g_service = service;
}

void kh_log_set_level(kh_log_level_t level)
{
    g_level = level;
}

int kh_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

/* Appends value to buf at *pos, quoted when it needs to be. */
static void append_value(char *buf, size_t cap, size_t *pos, const char *v)
{
    int quote = (*v == '\0') || strpbrk(v, " \t\"=\n") != NULL;
    if (quote && *pos < cap)
        buf[(*pos)++] = '"';
    for (; *v && *pos + 2 < cap; v++) {
        if (*v == '"' || *v == '\\') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = *v;
        } else if (*v == '\n') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = 'n';
        } else {
            buf[(*pos)++] = *v;
        }
    }
    if (quote && *pos < cap)
        buf[(*pos)++] = '"';
}

void kh_log(kh_log_level_t level, const char *msg, ...)
{
    if (level < g_level)
        return;
    char buf[4096];
    size_t cap = sizeof buf - 2, pos = 0;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    int n =
        snprintf(buf, cap, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s svc=%s msg=",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[level], g_service);
    pos = n > 0 ? (size_t)n : 0;
    append_value(buf, cap, &pos, msg);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (pos + 1 < cap)
            buf[pos++] = ' ';
        for (; *k && pos + 1 < cap; k++)
            buf[pos++] = *k;
        if (pos + 1 < cap)
            buf[pos++] = '=';
        append_value(buf, cap, &pos, v ? v : "");
    }
    va_end(ap);
    buf[pos++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, pos);
    (void)w;
}
