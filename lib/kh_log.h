/*
 * kh_log.h - one line per event of note, on stderr, in a stable key=value
 * form that journald keeps:
 *
 *   ts=2026-11-29T05:50:16.123Z level=info svc=scorer msg="started" dir=/var/lib/kaohe
 *
 * kh_log() takes the message and then pairs of key, value strings ended by
 * NULL; values with spaces, quotes or '=' are quoted. Levels below the
 * process's level (kh_log_set_level, from --log-level) are dropped.
 */
#ifndef KH_LOG_H
#define KH_LOG_H

typedef enum { KH_LOG_DEBUG, KH_LOG_INFO, KH_LOG_WARN, KH_LOG_ERROR } kh_log_level_t;

void kh_log_init(const char *service);
void kh_log_set_level(kh_log_level_t level);
/* "debug" "info" "warn" "error"; returns -1 when unknown. */
int kh_log_level_parse(const char *s);
/* kh_log(KH_LOG_INFO, "started", "dir", dir, (char *)NULL) */
void kh_log(kh_log_level_t level, const char *msg, ...);

#endif
