/*
 * kh_service.h - what the three daemons share: arguments, configuration,
 * logging, the libuv loop, the ZeroMQ context, signals and the pid file.
 *
 * Arguments: -d DIR (or $KAOHE_DATA), --log-level LEVEL, --rules FILE,
 * --metrics-dir DIR, and for kaohe-ingest --role ROLE. The county is
 * DIR/county.json (kaohe up puts it there). Startup logs one line naming
 * what was loaded; a failure logs one line naming the cause and the daemon
 * exits 1.
 *
 * Metrics (kh_metrics.h): each service registers its series in
 * svc->metrics after kh_service_init; kh_service_run writes them to
 * DIR/metrics/NAME.prom at start, every KH_SERVICE_METRICS_MS and once
 * at stop, calling svc->on_metrics first to refresh the gauges. With
 * --metrics-dir PATH the file is PATH/NAME.prom (node_exporter's textfile
 * directory) and DIR/metrics/NAME.prom a symbolic link to it, so that
 * kaohe status finds it either way. A file that cannot be written is
 * logged once (and again when it can be), never fatal.
 */
#ifndef KH_SERVICE_H
#define KH_SERVICE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_metrics.h"

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
    bool stopping;
    int exit_code; /* what kh_service_run returns */
    /* Metrics: the registry (the service label is name), the file it is
     * written to, and the hook that refreshes gauges before each write. */
    kh_metrics_t *metrics;
    char metrics_path[PATH_MAX];
    void (*on_metrics)(struct kh_service *svc);
    uv_timer_t metrics_timer;
    bool metrics_timer_on;
    int metrics_failing; /* the last write's error, KH_OK if none */
} kh_service_t;

/* How often the metrics file is rewritten. */
#define KH_SERVICE_METRICS_MS 5000

/* Parses arguments and loads everything; base is "scorer", "ranker" or
 * "ingest" (the ingest's name gets "-ROLE"). Returns 0, or 1 after
 * logging the cause (2 for a usage error). */
int kh_service_init(kh_service_t *svc, const char *base, int argc, char **argv);
/* Writes the pid file, runs the loop until SIGTERM/SIGINT (writing the
 * metrics file meanwhile), returns the exit status. */
int kh_service_run(kh_service_t *svc);
void kh_service_fini(kh_service_t *svc);
/* Stops the service from inside (closes what SIGTERM closes, after writing
 * the metrics a last time): the loop ends and kh_service_run returns
 * exit_code. */
void kh_service_stop(kh_service_t *svc, int exit_code);

/* High-water mark of every service socket, in messages each way. */
#define KH_SERVICE_HWM 200000
/* Of a PUB socket, per subscriber: commit notices, snapshots. */
#define KH_SERVICE_PUB_HWM      10000
#define KH_SERVICE_SNAPSHOT_HWM 64

/* Opens a socket of a type, bound (bind=true) or connected to the
 * endpoint NAME under the data directory, with linger 0 and
 * KH_SERVICE_HWM (a PUB: KH_SERVICE_PUB_HWM or, for "snapshots",
 * KH_SERVICE_SNAPSHOT_HWM; $KAOHE_PUB_HWM overrides both). NULL after logging the cause.
 */
void *kh_service_socket(kh_service_t *svc, int type, const char *name, bool bind);

/* Queue limits of one socket where the defaults do not fit: 0 keeps the
 * default. */
typedef struct kh_sock_limits {
    int sndhwm, rcvhwm;    /* messages per peer */
    int64_t max_msg_bytes; /* a larger message drops its peer's connection */
} kh_sock_limits_t;

void *kh_service_socket_limited(kh_service_t *svc, int type, const char *name, bool bind,
                                const kh_sock_limits_t *limits);

#endif
