/*
 * cmd_init.c - kaohe init: prepares a data directory for the services.
 *
 * This is the preparation kaohe up makes before it starts the services
 * (kh_init_datadir, shared), and what the kaohe-init.service unit runs
 * before kaohe.target's services start under systemd:
 *
 *   DIR (0700) with run/ and log/;
 *   DIR/county.json, the county given with -c: validated first (a bad file
 *     is refused naming the field), and refused while services run in DIR
 *     with another one (they keep the county they started with, so the
 *     CLI would disagree with them);
 *   DIR/keys/, the pairs that are missing: all of them the first time, a
 *     station added to the county since on the next run;
 *   DIR/store/, the LMDB environment, empty: the ranker opens it
 *     read-only, so it must exist before the ranker starts, whatever order
 *     a service manager starts the services in.
 *
 * Running it again changes nothing that is already in place (the county is
 * rewritten only when it differs). Run as root on a directory that belongs
 * to another user (the kaohe system user's /var/lib/kaohe), it refuses:
 * the files it would make there would be root's, unreadable to the
 * services.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kaohe.h"
#include "kh_county.h"
#include "kh_error.h"
#include "kh_keys.h"
#include "kh_proc.h"
#include "kh_render.h"
#include "kh_store.h"

/* True when two files have the same bytes. */
static bool same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int x = fgetc(fa), y = fgetc(fb);
        if (x != y)
            same = false;
        if (x == EOF || y == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* Creates DIR/store's environment when it has none; *created says so. */
static int store_create(const char *dir, bool *created)
{
    char path[PATH_MAX], mdb[PATH_MAX + 16];
    *created = false;
    if (kh_path(path, sizeof path, dir, NULL, "store", NULL))
        return KH_ERANGE;
    snprintf(mdb, sizeof mdb, "%s/data.mdb", path);
    if (access(mdb, F_OK) == 0)
        return KH_OK;
    kh_store_t *st = NULL;
    kh_store_opts_t o = {.dir = path, .readonly = false};
    int rc = kh_store_open(&st, &o);
    if (rc)
        return rc;
    kh_store_close(&st);
    *created = true;
    return KH_OK;
}

int kh_init_datadir(const char *dir_arg, const char *county, char *dir, size_t cap,
                    kh_init_result_t *res)
{
    char cfg[PATH_MAX], err[512], ep[600];
    memset(res, 0, sizeof *res);
    struct stat st;
    if (geteuid() == 0 && stat(dir_arg, &st) == 0 && st.st_uid != 0) {
        const struct passwd *pw = getpwuid(st.st_uid);
        char owner[32];
        snprintf(owner, sizeof owner, "uid %u", (unsigned)st.st_uid);
        return kh_fail("%s belongs to %s: run kaohe as that user (sudo -u %s kaohe "
                       "...); what root made there, the services could not read",
                       dir_arg, pw ? pw->pw_name : owner, pw ? pw->pw_name : owner);
    }
    /* Nothing is made before the county is known to be good. */
    if (county) {
        kh_county_t *c = NULL;
        if (kh_county_load(&c, county, err, sizeof err))
            return kh_fail("%s: %s", county, err);
        kh_county_free(&c);
    } else if (kh_path(cfg, sizeof cfg, dir_arg, NULL, "county", "json") ||
               access(cfg, R_OK) != 0) {
        return kh_usage_error("a new data directory needs -c county.json");
    }
    if (kh_datadir_prepare(dir_arg) || kh_abspath(dir, cap, dir_arg))
        return kh_fail("cannot create data directory %s: %s", dir_arg, strerror(errno));
    if (kh_endpoint(ep, sizeof ep, dir, "ingest-assessor"))
        return kh_fail("data directory path too long for ipc endpoints: %s", dir);
    kh_path(cfg, sizeof cfg, dir, NULL, "county", "json");
    if (county && !same_file(county, cfg)) {
        /* Running services keep the configuration they started with:
         * swapping it under them would split the CLI from the services. */
        bool running = false;
        for (size_t i = 0; i < kh_nservices; i++)
            running = running || kh_pidfile_alive(dir, kh_services[i]) != 0;
        if (running)
            return kh_fail("kaohe is running in %s with another county.json: "
                           "stop it first (kaohe down, or systemctl stop kaohe.target), "
                           "then install %s",
                           dir, county);
        if (kh_file_copy(county, cfg, 0600))
            return kh_fail("cannot install %s as %s: %s", county, cfg, strerror(errno));
        res->county_installed = true;
    }
    /* Keys: the server's pair and one per identity, made the first time
     * (and for stations added to the county since). */
    kh_county_t *cur = NULL;
    if (kh_county_load(&cur, cfg, err, sizeof err))
        return kh_fail("%s: %s", cfg, err);
    snprintf(res->county, sizeof res->county, "%s", cur->name);
    res->nstations = cur->nstations;
    int krc = kh_keys_init(dir, cur, &res->keys_created);
    kh_county_free(&cur);
    if (krc)
        return kh_fail("cannot create keys in %s/keys: %s", dir, kh_strerror(krc));
    int src = store_create(dir, &res->store_created);
    if (src)
        return kh_fail("cannot create the store in %s/store: %s", dir, kh_strerror(src));
    return KH_EXIT_OK;
}

int kh_cmd_init(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    if (a->npos)
        return kh_usage_error("init takes no arguments");
    const char *county = kh_args_get(a, "-c");
    if (!county)
        county = kh_args_get(a, "--county");
    char dir[PATH_MAX];
    kh_init_result_t r;
    int rc = kh_init_datadir(a->dir, county, dir, sizeof dir, &r);
    if (rc)
        return rc;
    if (a->json) {
        json_t *o = json_pack("{s:s,s:s,s:I,s:b,s:i,s:b}", "dir", dir, "county", r.county,
                              "stations", (json_int_t)r.nstations, "county_installed",
                              r.county_installed, "keys_created", r.keys_created,
                              "store_created", r.store_created);
        char *s = o ? kh_render_dumps(o) : NULL;
        puts(s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        printf("%s is ready: %s, %zu stations; county.json %s, %d keys created%s\n", dir,
               r.county, r.nstations, r.county_installed ? "installed" : "unchanged",
               r.keys_created, r.store_created ? ", store created" : "");
    }
    return KH_EXIT_OK;
}
