/*
 * kaohe.h - the CLI's shared pieces: parsed arguments, exit codes, the
 * request/reply client, and the commands.
 */
#ifndef KAOHE_CLI_H
#define KAOHE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kh_codec.h"

/* Exit statuses (SPEC section 7). */
#define KH_EXIT_OK       0
#define KH_EXIT_FAIL     1
#define KH_EXIT_USAGE    2
#define KH_EXIT_REJECTED 3

#define KH_MAX_POS  64
#define KH_MAX_OPTS 32

/* Arguments after the command: options may stand anywhere. */
typedef struct kh_args {
    const char *cmd;
    const char *pos[KH_MAX_POS];
    int npos;
    const char *opt_name[KH_MAX_OPTS];
    const char *opt_val[KH_MAX_OPTS]; /* NULL for flags */
    int nopts;
    const char *dir; /* -d or $KAOHE_DATA */
    bool json;
} kh_args_t;

/* The value of an option ("--year"), or NULL. */
const char *kh_args_get(const kh_args_t *a, const char *name);
bool kh_args_flag(const kh_args_t *a, const char *name);
/* Prints "kaohe: MSG" to stderr; returns KH_EXIT_USAGE. */
int kh_usage_error(const char *fmt, ...);
int kh_fail(const char *fmt, ...);
/* Requires the data directory; prints the error otherwise. */
bool kh_need_dir(const kh_args_t *a);

/* The identity the CLI's requests are made as (--as, default "admin"). */
extern const char *kh_client_identity;

/* Makes a socket a CURVE client of DIR's services with an identity's
 * key pair from DIR/keys. KH_OK, KH_ENOTFOUND when the identity has no
 * key (or the server none: kaohe up creates them). */
int kh_client_curve(void *zsock, const char *dir, const char *identity);

/* One request/reply round trip over a fresh DEALER to DIR's endpoint
 * NAME, waiting at most timeout_ms. The reply's bytes in *out (malloc'd).
 * KH_OK, KH_ETIMEOUT, KH_ENET. */
int kh_client_call(const char *dir, const char *endpoint, const uint8_t *req, size_t len,
                   int timeout_ms, uint8_t **out, size_t *outlen);
/* A Query to the ranker; *rep owns its strings. */
int kh_client_query(const char *dir, const kh_query_t *q, int timeout_ms,
                    kh_reply_t *rep);

/* What kh_init_datadir did. */
typedef struct kh_init_result {
    char county[256];      /* the county's name (cut to fit) */
    size_t nstations;      /* stations it configures */
    bool county_installed; /* DIR/county.json was (re)written */
    int keys_created;      /* key pairs made now */
    bool store_created;    /* DIR/store was made now */
} kh_init_result_t;

/* Prepares the data directory dir_arg for the services (kaohe init, and
 * kaohe up before it starts them; see cli/cmd_init.c): DIR and its
 * subdirectories, DIR/county.json from county (validated; NULL keeps the
 * installed one), the missing keys, the store. Puts the absolute path in
 * dir. Returns KH_EXIT_OK, or the exit status after printing why. */
int kh_init_datadir(const char *dir_arg, const char *county, char *dir, size_t cap,
                    kh_init_result_t *res);

int kh_cmd_init(const kh_args_t *a);
int kh_cmd_up(const kh_args_t *a);
int kh_cmd_down(const kh_args_t *a);
int kh_cmd_status(const kh_args_t *a);
int kh_cmd_feed(const kh_args_t *a);
int kh_cmd_query(const kh_args_t *a); /* rank station explain urban close */
int kh_cmd_simulate(const kh_args_t *a);
int kh_cmd_snapshot(const kh_args_t *a); /* publish list show diff verify export */
int kh_cmd_subscribe(const kh_args_t *a);
int kh_cmd_watch(const kh_args_t *a); /* the live ranking in a terminal */
int kh_cmd_keys(const kh_args_t *a);
int kh_cmd_rebuild(const kh_args_t *a);
int kh_cmd_backup(const kh_args_t *a);

/* The services kaohe up starts, in start order. */
extern const char *const kh_services[];
extern const size_t kh_nservices;

#endif
