/*
 * kh_keys.c - key files and the keyring behind the ZAP handler; see
 * kh_keys.h.
 */
#include "kh_keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "kh_error.h"

static const char *const fixed_names[] = {"dispatch", "legal", "assessor", "admin",
                                          "service"};

bool kh_keys_valid_name(const char *name, const kh_county_t *county)
{
    for (size_t i = 0; i < sizeof fixed_names / sizeof *fixed_names; i++)
        if (strcmp(name, fixed_names[i]) == 0)
            return true;
    if (strcmp(name, "server") == 0)
        return true;
    if (strncmp(name, "station-", 8) != 0 || !name[8] || strlen(name) >= KH_IDENTITY_MAX)
        return false;
    if (county)
        return kh_county_find(county, name + 8) >= 0;
    for (const char *p = name + 8; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return false;
    return true;
}

static int keys_dir(char *buf, size_t cap, const char *dir)
{
    int n = snprintf(buf, cap, "%s/keys", dir);
    return (n < 0 || (size_t)n >= cap) ? KH_ERANGE : KH_OK;
}

/* Writes a file atomically with the given mode. */
static int write_file(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX + 160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return KH_EIO;
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || chmod(tmp, mode) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return KH_EIO;
    }
    return KH_OK;
}

static int create_pair(const char *kdir, const char *name)
{
    char pub[KH_KEY_Z85], sec[KH_KEY_Z85], path[PATH_MAX + 128], text[128];
    if (zmq_curve_keypair(pub, sec) != 0)
        return KH_ENET;
    snprintf(text, sizeof text, "%s\n%s\n", pub, sec);
    snprintf(path, sizeof path, "%s/%s.key", kdir, name);
    int rc = write_file(path, text, 0600);
    if (rc)
        return rc;
    snprintf(text, sizeof text, "%s\n", pub);
    snprintf(path, sizeof path, "%s/%s.pub", kdir, name);
    return write_file(path, text, 0644);
}

static bool exists(const char *kdir, const char *name, const char *ext)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s.%s", kdir, name, ext);
    return access(path, F_OK) == 0;
}

int kh_keys_init(const char *dir, const kh_county_t *county, int *created)
{
    char kdir[PATH_MAX];
    *created = 0;
    if (keys_dir(kdir, sizeof kdir, dir))
        return KH_ERANGE;
    if (mkdir(kdir, 0700) != 0 && errno != EEXIST)
        return KH_EIO;
    chmod(kdir, 0700);
    int rc = KH_OK;
    if (!exists(kdir, "server", "key") && (rc = create_pair(kdir, "server")) == KH_OK)
        ++*created;
    for (size_t i = 0; rc == KH_OK && i < sizeof fixed_names / sizeof *fixed_names; i++)
        if (!exists(kdir, fixed_names[i], "key") &&
            (rc = create_pair(kdir, fixed_names[i])) == KH_OK)
            ++*created;
    for (size_t i = 0; rc == KH_OK && county && i < county->nstations; i++) {
        char name[KH_IDENTITY_MAX + 8];
        snprintf(name, sizeof name, "station-%s", county->stations[i].code);
        if (!exists(kdir, name, "key") && (rc = create_pair(kdir, name)) == KH_OK)
            ++*created;
    }
    return rc;
}

int kh_keys_add(const char *dir, const char *name)
{
    char kdir[PATH_MAX];
    if (keys_dir(kdir, sizeof kdir, dir))
        return KH_ERANGE;
    if (exists(kdir, name, "pub") || exists(kdir, name, "key"))
        return KH_EINVAL;
    return create_pair(kdir, name);
}

int kh_keys_revoke(const char *dir, const char *name)
{
    char kdir[PATH_MAX], path[PATH_MAX + 128];
    if (keys_dir(kdir, sizeof kdir, dir))
        return KH_ERANGE;
    if (!exists(kdir, name, "pub") && !exists(kdir, name, "key"))
        return KH_ENOTFOUND;
    /* The allow list first: from here on the key gets nothing through. */
    snprintf(path, sizeof path, "%s/%s.pub", kdir, name);
    if (unlink(path) != 0 && errno != ENOENT)
        return KH_EIO;
    snprintf(path, sizeof path, "%s/%s.key", kdir, name);
    if (unlink(path) != 0 && errno != ENOENT)
        return KH_EIO;
    return KH_OK;
}

/* Reads the first Z85 key of a line. */
static bool read_key(FILE *f, char out[KH_KEY_Z85])
{
    char line[128];
    if (!fgets(line, sizeof line, f))
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    if (strlen(line) != KH_KEY_Z85 - 1)
        return false;
    memcpy(out, line, KH_KEY_Z85);
    return true;
}

int kh_keys_load(const char *dir, const char *name, kh_keypair_t *out)
{
    char path[PATH_MAX + 128];
    if (snprintf(path, sizeof path, "%s/keys/%s.key", dir, name) >= (int)sizeof path)
        return KH_ERANGE;
    FILE *f = fopen(path, "r");
    if (!f)
        return KH_ENOTFOUND;
    bool ok = read_key(f, out->pub) && read_key(f, out->sec);
    fclose(f);
    return ok ? KH_OK : KH_ECONFIG;
}

typedef struct entry {
    char name[KH_IDENTITY_MAX + 8];
    char pub[KH_KEY_Z85];
} entry_t;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry_t *)a)->name, ((const entry_t *)b)->name);
}

/* Every NAME.pub of the directory except the server's, sorted. */
static int read_all(const char *kdir, entry_t **out, size_t *n)
{
    DIR *d = opendir(kdir);
    if (!d)
        return KH_EIO;
    entry_t *v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *e;
    int rc = KH_OK;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".pub") != 0 ||
            len - 4 >= sizeof v->name)
            continue;
        char name[KH_IDENTITY_MAX + 8];
        memcpy(name, e->d_name, len - 4);
        name[len - 4] = '\0';
        if (strcmp(name, "server") == 0)
            continue;
        char path[PATH_MAX + 128];
        snprintf(path, sizeof path, "%s/%s", kdir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char pub[KH_KEY_Z85];
        bool ok = read_key(f, pub);
        fclose(f);
        if (!ok)
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 32;
            entry_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                rc = KH_ENOMEM;
                break;
            }
            v = nv;
        }
        snprintf(v[cnt].name, sizeof v[cnt].name, "%s", name);
        memcpy(v[cnt].pub, pub, KH_KEY_Z85);
        cnt++;
    }
    closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_entry);
    *out = v;
    *n = cnt;
    return KH_OK;
}

int kh_keys_each(const char *dir,
                 void (*cb)(const char *name, const char *pub, void *arg), void *arg)
{
    char kdir[PATH_MAX];
    entry_t *v = NULL;
    size_t n = 0;
    if (keys_dir(kdir, sizeof kdir, dir))
        return KH_ERANGE;
    int rc = read_all(kdir, &v, &n);
    for (size_t i = 0; rc == KH_OK && i < n; i++)
        cb(v[i].name, v[i].pub, arg);
    free(v);
    return rc;
}

struct kh_keyring {
    char kdir[PATH_MAX];
    struct timespec mtime;
    bool loaded;
    entry_t *v;
    size_t n;
};

int kh_keyring_open(kh_keyring_t **out, const char *dir)
{
    kh_keyring_t *r = calloc(1, sizeof *r);
    if (!r)
        return KH_ENOMEM;
    if (keys_dir(r->kdir, sizeof r->kdir, dir)) {
        free(r);
        return KH_ERANGE;
    }
    *out = r;
    return KH_OK;
}

void kh_keyring_close(kh_keyring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->v);
    free(*self_p);
    *self_p = NULL;
}

const char *kh_keyring_lookup(kh_keyring_t *r, const char *pub_z85)
{
    struct stat st;
    if (stat(r->kdir, &st) != 0)
        return NULL;
    if (!r->loaded || st.st_mtim.tv_sec != r->mtime.tv_sec ||
        st.st_mtim.tv_nsec != r->mtime.tv_nsec) {
        entry_t *v = NULL;
        size_t n = 0;
        if (read_all(r->kdir, &v, &n) != KH_OK)
            return NULL;
        free(r->v);
        r->v = v;
        r->n = n;
        r->mtime = st.st_mtim;
        r->loaded = true;
    }
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].pub, pub_z85) == 0)
            return r->v[i].name;
    return NULL;
}
