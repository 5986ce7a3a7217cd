/*
 * kh_service.c - daemon scaffolding shared by ingest, scorer and ranker.
 */
#include "kh_service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "kh_error.h"
#include "kh_keys.h"
#include "kh_log.h"
#include "kh_proc.h"
#include "kh_zuv.h"

/*
 * The ZAP handler (RFC 27): libzmq asks it, over inproc, whether a CURVE
 * client's public key may connect. Only keys listed in DIR/keys/ are
 * admitted, and the answer names the identity as the User-Id every
 * message of that connection then carries. Without a handler, CURVE
 * would encrypt but authenticate nobody, so the services refuse to start
 * without one.
 */
static void on_zap(void *zsock, void *arg)
{
    kh_service_t *svc = arg;
    for (int i = 0; i < 64; i++) {
        kh_zmsg_t m;
        if (kh_zmsg_recv(zsock, &m) != KH_OK)
            break;
        const char *user = NULL;
        const char *status = "400", *text = "unknown key";
        char z85[41] = "";
        if (m.n >= 7 && kh_zmsg_size(&m, 5) == 5 &&
            memcmp(kh_zmsg_data(&m, 5), "CURVE", 5) == 0 && kh_zmsg_size(&m, 6) == 32) {
            zmq_z85_encode(z85, kh_zmsg_data(&m, 6), 32);
            user = kh_keyring_lookup(svc->keyring, z85);
            if (user) {
                status = "200";
                text = "OK";
            }
        } else {
            text = "CURVE only";
        }
        if (!user)
            kh_log(KH_LOG_WARN, "connection refused", "cause", text, "key",
                   z85[0] ? z85 : "-", (char *)NULL);
        const void *data[6] = {"1.0",
                               m.n >= 2 ? kh_zmsg_data(&m, 1) : (const uint8_t *)"",
                               status,
                               text,
                               user ? user : "",
                               ""};
        size_t lens[6] = {3,
                          m.n >= 2 ? kh_zmsg_size(&m, 1) : 0,
                          3,
                          strlen(text),
                          user ? strlen(user) : 0,
                          0};
        kh_zsend_parts(zsock, data, lens, 6);
        kh_zmsg_close(&m);
    }
}

static int start_auth(kh_service_t *svc)
{
    kh_keypair_t server, service;
    if (kh_keys_load(svc->dir, "server", &server) != KH_OK ||
        kh_keys_load(svc->dir, "service", &service) != KH_OK) {
        kh_log(KH_LOG_ERROR, "no keys (kaohe up creates them)", "dir", svc->dir,
               (char *)NULL);
        return 1;
    }
    memcpy(svc->server_pub, server.pub, sizeof svc->server_pub);
    memcpy(svc->server_sec, server.sec, sizeof svc->server_sec);
    memcpy(svc->service_pub, service.pub, sizeof svc->service_pub);
    memcpy(svc->service_sec, service.sec, sizeof svc->service_sec);
    svc->zap = zmq_socket(svc->zctx, ZMQ_REP);
    int linger = 0;
    if (!svc->zap || kh_keyring_open(&svc->keyring, svc->dir) != KH_OK ||
        zmq_setsockopt(svc->zap, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(svc->zap, "inproc://zeromq.zap.01") != 0 ||
        kh_zwatch_start(svc->loop, svc->zap, on_zap, svc, &svc->wzap) != KH_OK) {
        kh_log(KH_LOG_ERROR, "cannot start the ZAP handler", "cause",
               zmq_strerror(zmq_errno()), (char *)NULL);
        return 1;
    }
    return 0;
}

/*
 * The metrics registry and where it is written: DIR/metrics/NAME.prom, or
 * with --metrics-dir PATH, PATH/kaohe-NAME.prom with DIR/metrics/NAME.prom a
 * symbolic link to it (kaohe status reads DIR/metrics). Only a path too
 * long or no memory is fatal; a directory that cannot be written is
 * logged when the first write fails.
 */
static int metrics_init(kh_service_t *svc, const char *metrics_dir)
{
    if (kh_metrics_new(&svc->metrics, svc->name) != KH_OK) {
        kh_log(KH_LOG_ERROR, "cannot create the metrics registry", "cause",
               kh_strerror(KH_ENOMEM), (char *)NULL);
        return 1;
    }
    kh_gauge_set(kh_metrics_gauge(svc->metrics, "start_time_seconds",
                                  "When the service started, in seconds since the epoch.",
                                  NULL),
                 (double)time(NULL));
    char own[PATH_MAX], link[PATH_MAX], abs[PATH_MAX];
    if (kh_path(own, sizeof own, svc->dir, NULL, "metrics", NULL) ||
        kh_path(link, sizeof link, svc->dir, "metrics", svc->name, "prom")) {
        kh_log(KH_LOG_ERROR, "data directory path too long", "dir", svc->dir,
               (char *)NULL);
        return 1;
    }
    if (mkdir(own, 0700) != 0 && errno != EEXIST)
        kh_log(KH_LOG_WARN, "cannot create the metrics directory", "dir", own, "cause",
               strerror(errno), (char *)NULL);
    if (!metrics_dir) {
        memcpy(svc->metrics_path, link, sizeof svc->metrics_path);
        return 0;
    }
    /* Absolute when it exists (the link must not depend on the working
     * directory); as given otherwise, and the first write says why. */
    const char *base =
        kh_abspath(abs, sizeof abs, metrics_dir) == KH_OK ? abs : metrics_dir;
    /* node_exporter's directory is shared with other collectors' files:
     * ours are named kaohe-NAME.prom there. */
    char shared_name[sizeof svc->name + 8];
    snprintf(shared_name, sizeof shared_name, "kaohe-%s", svc->name);
    if (kh_path(svc->metrics_path, sizeof svc->metrics_path, base, NULL, shared_name,
                "prom")) {
        kh_log(KH_LOG_ERROR, "--metrics-dir path too long", "dir", metrics_dir,
               (char *)NULL);
        return 1;
    }
    if (strcmp(svc->metrics_path, link) == 0)
        return 0;
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.lnk", link);
    unlink(tmp);
    if (symlink(svc->metrics_path, tmp) != 0 || rename(tmp, link) != 0) {
        kh_log(KH_LOG_WARN,
               "cannot link the metrics file (kaohe status will not show it)", "link",
               link, "cause", strerror(errno), (char *)NULL);
        unlink(tmp);
    }
    return 0;
}

/* Refreshes the gauges and writes the file; a failure is logged once,
 * and again when writing works again. */
static void metrics_flush(kh_service_t *svc)
{
    if (svc->on_metrics)
        svc->on_metrics(svc);
    char err[PATH_MAX + 128];
    int rc = kh_metrics_write(svc->metrics, svc->metrics_path, err, sizeof err);
    if (rc != KH_OK && rc != svc->metrics_failing)
        kh_log(KH_LOG_ERROR, "cannot write metrics, will keep trying", "path",
               svc->metrics_path, "cause", err, (char *)NULL);
    else if (rc == KH_OK && svc->metrics_failing != KH_OK)
        kh_log(KH_LOG_INFO, "metrics written again", "path", svc->metrics_path,
               (char *)NULL);
    svc->metrics_failing = rc;
}

static void on_metrics_timer(uv_timer_t *h)
{
    metrics_flush(h->data);
}

static void usage(const char *base)
{
    fprintf(stderr,
            "usage: kaohe-%s -d DIR%s [--rules FILE] [--log-level LEVEL]\n"
            "       [--metrics-dir DIR]\n"
            "Normally started by `kaohe up`.\n",
            base, strcmp(base, "ingest") == 0 ? " --role ROLE" : "");
}

int kh_service_init(kh_service_t *svc, const char *base, int argc, char **argv)
{
    memset(svc, 0, sizeof *svc);
    const char *dir = getenv("KAOHE_DATA"), *rules = NULL, *level = NULL;
    const char *metrics_dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((strcmp(a, "-d") == 0 || strcmp(a, "--data") == 0) && v)
            dir = v, i++;
        else if (strcmp(a, "--rules") == 0 && v)
            rules = v, i++;
        else if (strcmp(a, "--log-level") == 0 && v)
            level = v, i++;
        else if (strcmp(a, "--metrics-dir") == 0 && v)
            metrics_dir = v, i++;
        else if (strcmp(a, "--role") == 0 && v) {
            snprintf(svc->role, sizeof svc->role, "%s", v);
            i++;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(base);
            exit(0);
        } else {
            usage(base);
            return 2;
        }
    }
    if (strcmp(base, "ingest") == 0) {
        if (kh_source_parse(svc->role) < 0) {
            kh_log_init("ingest");
            kh_log(KH_LOG_ERROR, "bad --role", "role", svc->role, "want",
                   "dispatch|legal|station|assessor", (char *)NULL);
            return 2;
        }
        snprintf(svc->name, sizeof svc->name, "ingest-%s", svc->role);
    } else {
        snprintf(svc->name, sizeof svc->name, "%s", base);
    }
    kh_log_init(svc->name);
    if (level) {
        int l = kh_log_level_parse(level);
        if (l < 0) {
            kh_log(KH_LOG_ERROR, "bad --log-level", "level", level, (char *)NULL);
            return 2;
        }
        kh_log_set_level((kh_log_level_t)l);
    }
    if (!dir) {
        usage(base);
        return 2;
    }
    if (kh_abspath(svc->dir, sizeof svc->dir, dir)) {
        kh_log(KH_LOG_ERROR, "data directory not found", "dir", dir, (char *)NULL);
        return 1;
    }
    if (metrics_init(svc, metrics_dir))
        return 1;
    char path[PATH_MAX], err[512];
    kh_path(path, sizeof path, svc->dir, NULL, "county", "json");
    if (kh_county_load(&svc->county, path, err, sizeof err)) {
        kh_log(KH_LOG_ERROR, "bad county configuration", "file", path, "cause", err,
               (char *)NULL);
        return 1;
    }
    if (!rules)
        rules = kh_catalog_default_path();
    if (kh_catalog_load(&svc->catalog, rules, err, sizeof err)) {
        kh_log(KH_LOG_ERROR, "bad rule catalog", "file", rules, "cause", err,
               (char *)NULL);
        return 1;
    }
    svc->loop = malloc(sizeof *svc->loop);
    svc->zctx = zmq_ctx_new();
    if (!svc->loop || !svc->zctx || uv_loop_init(svc->loop) != 0) {
        kh_log(KH_LOG_ERROR, "cannot create event loop", (char *)NULL);
        return 1;
    }
    if (start_auth(svc))
        return 1;
    char nst[16];
    snprintf(nst, sizeof nst, "%zu", svc->county->nstations);
    kh_log(KH_LOG_INFO, "starting", "dir", svc->dir, "county", svc->county->name,
           "stations", nst, "rules", rules, "timezone", svc->county->timezone, "metrics",
           svc->metrics_path, (char *)NULL);
    return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
    kh_service_t *svc = h->data;
    kh_log(KH_LOG_INFO, "stopping", "signal", signum == SIGTERM ? "TERM" : "INT",
           (char *)NULL);
    kh_service_stop(svc, 0);
}

void kh_service_stop(kh_service_t *svc, int exit_code)
{
    if (svc->stopping)
        return;
    svc->stopping = true;
    svc->exit_code = exit_code;
    if (svc->metrics_timer_on) {
        metrics_flush(svc); /* what the service did to the end */
        uv_timer_stop(&svc->metrics_timer);
        uv_close((uv_handle_t *)&svc->metrics_timer, NULL);
        svc->metrics_timer_on = false;
    }
    uv_signal_stop(&svc->sigterm);
    uv_signal_stop(&svc->sigint);
    uv_close((uv_handle_t *)&svc->sigterm, NULL);
    uv_close((uv_handle_t *)&svc->sigint, NULL);
    kh_zwatch_stop(&svc->wzap);
    if (svc->on_stop)
        svc->on_stop(svc);
}

int kh_service_run(kh_service_t *svc)
{
    uv_signal_init(svc->loop, &svc->sigterm);
    uv_signal_init(svc->loop, &svc->sigint);
    svc->sigterm.data = svc->sigint.data = svc;
    uv_signal_start(&svc->sigterm, on_signal, SIGTERM);
    uv_signal_start(&svc->sigint, on_signal, SIGINT);
    if (kh_pidfile_write(svc->dir, svc->name)) {
        kh_log(KH_LOG_ERROR, "cannot write pid file", "dir", svc->dir, (char *)NULL);
        return 1;
    }
    int mrc = kh_metrics_error(svc->metrics);
    if (mrc != KH_OK)
        kh_log(KH_LOG_ERROR, "some metrics could not be registered", "cause",
               kh_strerror(mrc), (char *)NULL);
    /* The first write as soon as the loop runs, then every few seconds. */
    uv_timer_init(svc->loop, &svc->metrics_timer);
    svc->metrics_timer.data = svc;
    uv_timer_start(&svc->metrics_timer, on_metrics_timer, 0, KH_SERVICE_METRICS_MS);
    svc->metrics_timer_on = true;
    kh_log(KH_LOG_INFO, "ready", (char *)NULL);
    uv_run(svc->loop, UV_RUN_DEFAULT);
    kh_pidfile_remove(svc->dir, svc->name);
    kh_log(KH_LOG_INFO, "stopped", (char *)NULL);
    return svc->exit_code;
}

void kh_service_fini(kh_service_t *svc)
{
    if (svc->zap) {
        zmq_close(svc->zap);
        svc->zap = NULL;
    }
    kh_keyring_close(&svc->keyring);
    if (svc->loop) {
        uv_loop_close(svc->loop);
        free(svc->loop);
        svc->loop = NULL;
    }
    if (svc->zctx) {
        zmq_ctx_term(svc->zctx);
        svc->zctx = NULL;
    }
    kh_county_free(&svc->county);
    kh_catalog_free(&svc->catalog);
    kh_metrics_free(&svc->metrics);
}

/* A PUB socket's queue per subscriber: a stalled or dead subscriber
 * costs at most this many messages, then misses the rest (and sees the
 * gap by sequence number); the publisher never waits for it. Snapshots
 * are large documents, commit notices small. KAOHE_PUB_HWM overrides both
 * (tests make stalls visible with a tiny queue). */
static int pub_hwm(const char *name)
{
    const char *env = getenv("KAOHE_PUB_HWM");
    if (env && atoi(env) > 0)
        return atoi(env);
    return strcmp(name, "snapshots") == 0 ? KH_SERVICE_SNAPSHOT_HWM : KH_SERVICE_PUB_HWM;
}

void *kh_service_socket(kh_service_t *svc, int type, const char *name, bool bind)
{
    return kh_service_socket_limited(svc, type, name, bind, NULL);
}

void *kh_service_socket_limited(kh_service_t *svc, int type, const char *name, bool bind,
                                const kh_sock_limits_t *limits)
{
    char ep[600];
    if (kh_endpoint(ep, sizeof ep, svc->dir, name)) {
        kh_log(KH_LOG_ERROR, "endpoint path too long", "dir", svc->dir, "name", name,
               (char *)NULL);
        return NULL;
    }
    void *s = zmq_socket(svc->zctx, type);
    if (!s) {
        kh_log(KH_LOG_ERROR, "cannot create socket", "cause", zmq_strerror(zmq_errno()),
               (char *)NULL);
        return NULL;
    }
    /* Queues hold far more than a feed's window (cli/cmd_feed.c) so that
     * a reply is never dropped at a ROUTER's high-water mark, yet stay
     * bounded so a flood cannot exhaust memory. */
    int linger = 0, hwm = KH_SERVICE_HWM;
    if (type == ZMQ_PUB)
        hwm = pub_hwm(name);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    int sndhwm = limits && limits->sndhwm ? limits->sndhwm : hwm;
    int rcvhwm = limits && limits->rcvhwm ? limits->rcvhwm : hwm;
    zmq_setsockopt(s, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    if (limits && limits->max_msg_bytes)
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &limits->max_msg_bytes,
                       sizeof limits->max_msg_bytes);
    /* A request to a peer that is down fails at once (EAGAIN) instead of
     * queueing and being carried out later, after its sender was told it
     * failed (a close reported failed must not happen afterwards). */
    int immediate = 1, one = 1;
    if (!bind)
        zmq_setsockopt(s, ZMQ_IMMEDIATE, &immediate, sizeof immediate);
    /* Every bound socket is a CURVE server checked by the ZAP handler;
     * the services reach each other as the "service" identity. */
    if (bind) {
        zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, svc->server_sec, 40);
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "kaohe", 5);
    } else {
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, svc->server_pub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, svc->service_pub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, svc->service_sec, 40);
    }
    if (bind) {
        /* A stale socket file from an unclean stop would make bind fail. */
        unlink(ep + 6);
    }
    int rc = bind ? zmq_bind(s, ep) : zmq_connect(s, ep);
    if (rc != 0) {
        kh_log(KH_LOG_ERROR, bind ? "cannot bind" : "cannot connect", "endpoint", ep,
               "cause", zmq_strerror(zmq_errno()), (char *)NULL);
        zmq_close(s);
        return NULL;
    }
    kh_log(KH_LOG_INFO, bind ? "bound" : "connected", "endpoint", ep, (char *)NULL);
    return s;
}
