/*
 * kh_error.c - names and messages of kh_err_t, generated from the one
 * X-macro table in kh_error.h.
 */
#include "kh_error.h"

#include <string.h>

const char *kh_err_name(int err)
{
    switch (err) {
    case KH_OK:
        return "ok";
#define XX(name, code, str, msg)                                                         \
    case KH_E##name:                                                                     \
        return str;
        KH_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown";
    }
}

const char *kh_strerror(int err)
{
    switch (err) {
    case KH_OK:
        return "success";
#define XX(name, code, str, msg)                                                         \
    case KH_E##name:                                                                     \
        return msg;
        KH_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

int kh_err_from_name(const char *name)
{
#define XX(nm, code, str, msg)                                                           \
    if (strcmp(name, str) == 0)                                                          \
        return KH_E##nm;
    KH_ERRNO_MAP(XX)
#undef XX
    return KH_OK;
}

int kh_err_is_rejection(int err)
{
    return err <= KH_EMALFORMED && err >= KH_ETOO_LARGE;
}
