/*
 * cmd_keys.c - kaohe keys list | add NAME | revoke NAME: the CurveZMQ
 * identities of a data directory (kh_keys.h). The services' ZAP handler
 * re-reads DIR/keys when it changes, so a new station's key works and a
 * leaked key stops working without a restart.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kaohe.h"
#include "kh_error.h"
#include "kh_keys.h"
#include "kh_proc.h"
#include "kh_render.h"

static void add_row(const char *name, const char *pub, void *arg)
{
    json_array_append_new(arg,
                          json_pack("{s:s,s:s}", "identity", name, "public_key", pub));
}

int kh_cmd_keys(const kh_args_t *a)
{
    if (!kh_need_dir(a))
        return KH_EXIT_USAGE;
    if (a->npos < 1)
        return kh_usage_error("keys list | keys add NAME | keys revoke NAME");
    char dir[PATH_MAX];
    if (kh_abspath(dir, sizeof dir, a->dir))
        return kh_fail("no data directory %s", a->dir);
    const char *sub = a->pos[0];
    if (strcmp(sub, "list") == 0) {
        if (a->npos != 1)
            return kh_usage_error("keys list takes no argument");
        json_t *rows = json_array();
        if (kh_keys_each(dir, add_row, rows) != KH_OK) {
            json_decref(rows);
            return kh_fail("cannot read %s/keys (kaohe up creates it)", dir);
        }
        if (a->json) {
            char *s = kh_render_dumps(rows);
            puts(s ? s : "[]");
            free(s);
        } else {
            size_t i;
            json_t *r;
            json_array_foreach(rows, i, r)
            {
                printf("%-24s %s\n", json_string_value(json_object_get(r, "identity")),
                       json_string_value(json_object_get(r, "public_key")));
            }
        }
        json_decref(rows);
        return KH_EXIT_OK;
    }
    if (a->npos != 2 || (strcmp(sub, "add") && strcmp(sub, "revoke")))
        return kh_usage_error("keys list | keys add NAME | keys revoke NAME");
    const char *name = a->pos[1];
    if (strcmp(name, "server") == 0 || strcmp(name, "service") == 0)
        return kh_usage_error("%s is the services' own key", name);
    if (!kh_keys_valid_name(name, NULL))
        return kh_usage_error("%s: want dispatch, legal, assessor, admin or station-CODE",
                              name);
    int rc = strcmp(sub, "add") == 0 ? kh_keys_add(dir, name) : kh_keys_revoke(dir, name);
    if (rc == KH_EINVAL)
        return kh_fail("%s already has a key (revoke it first to replace it)", name);
    if (rc == KH_ENOTFOUND)
        return kh_fail("%s has no key", name);
    if (rc)
        return kh_fail("cannot change %s/keys: %s", dir, kh_strerror(rc));
    printf("%s: %s\n", name, strcmp(sub, "add") == 0 ? "key created" : "key revoked");
    return KH_EXIT_OK;
}
