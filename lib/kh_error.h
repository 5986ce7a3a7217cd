/*
 * kh_error.h - kaohe's one error enum.
 *
 * Every function that can fail returns an int: KH_OK (0) or one of the
 * negative codes below. The table is an X-macro so that the enum, the
 * stable machine names and the messages come from one place (libuv's
 * uv-errno.h does the same). Foreign codes (LMDB, ZeroMQ, protobuf-c, errno)
 * are translated once, in the module that wraps the library.
 *
 * The first block are the event outcome reasons of SPEC section 5: their
 * names are the stable machine codes that `kaohe feed --json` prints.
 */
#ifndef KH_ERROR_H
#define KH_ERROR_H

#define KH_ERRNO_MAP(XX)                                                                 \
    XX(MALFORMED, -1, "malformed", "missing field or wrong JSON type")                   \
    XX(UNKNOWN_TYPE, -2, "unknown_type", "unknown event type")                           \
    XX(UNKNOWN_STATION, -3, "unknown_station", "station not in the county")              \
    XX(FORBIDDEN, -4, "forbidden", "sender may not send this event")                     \
    XX(BAD_TIME, -5, "bad_time", "time unparseable or over 24 h ahead")                  \
    XX(OUT_OF_RANGE, -6, "out_of_range", "value outside its allowed set")                \
    XX(CONFLICT, -7, "conflict", "id already used with other content")                   \
    XX(TOO_LARGE, -8, "too_large", "event over 64 KiB")                                  \
    XX(NOMEM, -20, "nomem", "out of memory")                                             \
    XX(IO, -21, "io", "input/output error")                                              \
    XX(STORE, -22, "store", "storage error")                                             \
    XX(MAP_FULL, -23, "map_full", "storage map full")                                    \
    XX(NOTFOUND, -24, "not_found", "not found")                                          \
    XX(CONFIG, -25, "config", "invalid configuration")                                   \
    XX(PROTO, -26, "proto", "invalid wire message")                                      \
    XX(NET, -27, "net", "messaging error")                                               \
    XX(TIMEOUT, -28, "timeout", "timed out")                                             \
    XX(INVAL, -29, "inval", "invalid argument")                                          \
    XX(RANGE, -30, "range", "result out of range")                                       \
    XX(NOSPC, -31, "no_space", "no space left on the device")                            \
    XX(PANIC, -32, "store_panic", "storage unusable until the service restarts")

typedef enum {
    KH_OK = 0,
#define XX(name, code, str, msg) KH_E##name = (code),
    KH_ERRNO_MAP(XX)
#undef XX
} kh_err_t;

/* The stable machine name of an error ("malformed", ...); "ok" for KH_OK,
 * "unknown" for a code not in the table. Never NULL, static storage. */
const char *kh_err_name(int err);

/* A short English sentence for an error. Never NULL, static storage. */
const char *kh_strerror(int err);

/* Parses a machine name back to its code; returns 0 (KH_OK) when unknown. */
int kh_err_from_name(const char *name);

/* True for the codes that are event rejection reasons (SPEC section 5). */
int kh_err_is_rejection(int err);

#endif
