/*
 * kh_keys.h - CurveZMQ keys of a data directory (SPEC section 7) and the
 * ZAP handler that turns a client's public key into its identity.
 *
 * DIR/keys/ (0700) holds, for the server and each identity,
 *   NAME.pub   the Z85 public key (the allow list: a key is known while
 *              its .pub file exists)
 *   NAME.key   the Z85 public key and secret key, one a line (0600)
 * Identities: dispatch, legal, assessor, admin, station-CODE for each
 * configured station, and "service" (the services among themselves).
 * Revoking an identity deletes both files; the ZAP handler re-reads the
 * directory when it changes, so adding or revoking needs no restart.
 */
#ifndef KH_KEYS_H
#define KH_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "kh_county.h"

#define KH_KEY_Z85      41 /* 40 Z85 characters and a NUL */
#define KH_IDENTITY_MAX 48

typedef struct kh_keypair {
    char pub[KH_KEY_Z85];
    char sec[KH_KEY_Z85];
} kh_keypair_t;

/* True for a valid identity name: dispatch legal assessor admin service
 * server, or station-CODE with a code of the county (county may be NULL:
 * any well-formed code). */
bool kh_keys_valid_name(const char *name, const kh_county_t *county);

/* Creates DIR/keys with the server's pair and one per identity of the
 * county that has none yet (a new station gets its key on the next up).
 * Returns KH_OK or KH_EIO; *created counts the new pairs. */
int kh_keys_init(const char *dir, const kh_county_t *county, int *created);
/* Creates one identity's pair (kaohe keys add); KH_EINVAL when it exists. */
int kh_keys_add(const char *dir, const char *name);
/* Deletes one identity's pair (kaohe keys revoke); KH_ENOTFOUND when absent. */
int kh_keys_revoke(const char *dir, const char *name);
/* Loads an identity's pair (or the server's, name "server"). */
int kh_keys_load(const char *dir, const char *name, kh_keypair_t *out);
/* Calls cb for every known identity, sorted by name. */
int kh_keys_each(const char *dir,
                 void (*cb)(const char *name, const char *pub, void *arg), void *arg);

/* The identity of a Z85 public key, or NULL (static storage until the
 * next call). Re-reads DIR/keys when its modification time changed. */
typedef struct kh_keyring kh_keyring_t;
int kh_keyring_open(kh_keyring_t **out, const char *dir);
void kh_keyring_close(kh_keyring_t **self_p);
const char *kh_keyring_lookup(kh_keyring_t *ring, const char *pub_z85);

#endif
