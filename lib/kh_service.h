/*
 * kh_service.h - what the three daemons share: arguments, configuration,
 * logging, the libuv loop, the ZeroMQ context, signals and the pid file.
 *
 * Arguments: -d DIR (or $KAOHE_DATA), --log-level LEVEL, --rules FILE,
 * and for kaohe-ingest --role ROLE. The county is DIR/county.json (kaohe up
 * puts it there). Startup logs one line naming what was loaded; a failure
 * logs one line naming the cause and the daemon exits 1.
 */
#ifndef KH_SERVICE_H
#define KH_SERVICE_H

#include <limits.h>
#include <stdbool.h>
#include <uv.h>

#include "kh_catalog.h"
#include "kh_county.h"

typedef struct kh_service {
    char name[48];      /* "scorer", "ranker", "ingest-station" */
    char dir[PATH_MAX]; /* absolute data directory */
    char role[16];      /* ingest: dispatch | legal | station | assessor */
    kh_county_t *county;
    kh_catalog_t *catalog;
    uv_loop_t *loop;
    void *zctx;
    uv_signal_t sigterm, sigint;
    void (*on_stop)(struct kh_service *svc); /* close sockets, handles */
    void *data;
    /* CurveZMQ: the server's pair (every bound socket is a CURVE server),
     * the services' own client pair, and the ZAP handler's keyring. */
    char server_pub[41], server_sec[41];
    char service_pub[41], service_sec[41];
    struct kh_keyring *keyring;
    void *zap;
    struct kh_zwatch *wzap;
} kh_service_t;

/* Parses arguments and loads everything; base is "scorer", "ranker" or
 * "ingest" (the ingest's name gets "-ROLE"). Returns 0, or 1 after
 * logging the cause (2 for a usage error). */
int kh_service_init(kh_service_t *svc, const char *base, int argc, char **argv);
/* Writes the pid file, runs the loop until SIGTERM/SIGINT, returns the
 * exit status. */
int kh_service_run(kh_service_t *svc);
void kh_service_fini(kh_service_t *svc);

/* High-water mark of every service socket, in messages each way. */
#define KH_SERVICE_HWM 200000

/* Opens a socket of a type, bound (bind=true) or connected to the
 * endpoint NAME under the data directory, with linger 0 and
 * KH_SERVICE_HWM. NULL after logging the cause. */
void *kh_service_socket(kh_service_t *svc, int type, const char *name, bool bind);

#endif
