/*
 * client.c - request/reply round trips from the CLI to the services.
 *
 * Each call opens a DEALER, sends one request and waits for one reply with
 * zmq_poll and a deadline; linger 0 so an unanswered request never holds
 * the process at exit.
 */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kaohe.h"
#include "kh_error.h"
#include "kh_keys.h"
#include "kh_proc.h"

const char *kh_client_identity = "admin";

int kh_client_curve(void *zsock, const char *dir, const char *identity)
{
    kh_keypair_t server, me;
    int rc;
    if ((rc = kh_keys_load(dir, "server", &server)) != KH_OK ||
        (rc = kh_keys_load(dir, identity, &me)) != KH_OK)
        return rc;
    if (zmq_setsockopt(zsock, ZMQ_CURVE_SERVERKEY, server.pub, 40) ||
        zmq_setsockopt(zsock, ZMQ_CURVE_PUBLICKEY, me.pub, 40) ||
        zmq_setsockopt(zsock, ZMQ_CURVE_SECRETKEY, me.sec, 40))
        return KH_ENET;
    return KH_OK;
}

static void *g_ctx;

static void *ctx(void)
{
    if (!g_ctx)
        g_ctx = zmq_ctx_new();
    return g_ctx;
}

int kh_client_call(const char *dir, const char *endpoint, const uint8_t *req, size_t len,
                   int timeout_ms, uint8_t **out, size_t *outlen)
{
    char ep[600];
    if (kh_endpoint(ep, sizeof ep, dir, endpoint))
        return KH_ERANGE;
    void *s = zmq_socket(ctx(), ZMQ_DEALER);
    if (!s)
        return KH_ENET;
    int linger = 0, rc = KH_ENET;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if ((rc = kh_client_curve(s, dir, kh_client_identity)) != KH_OK)
        goto out;
    rc = KH_ENET;
    if (zmq_connect(s, ep) != 0)
        goto out;
    /* A DEALER has nowhere to send until a connection is made (and with
     * CURVE, accepted): wait for that within the deadline too, rather than
     * block for ever on a service that is down or refuses our key. */
    zmq_pollitem_t out_it = {s, 0, ZMQ_POLLOUT, 0};
    int n = zmq_poll(&out_it, 1, timeout_ms);
    if (n <= 0 || zmq_send(s, req, len, ZMQ_DONTWAIT) < 0) {
        rc = n == 0 ? KH_ETIMEOUT : KH_ENET;
        goto out;
    }
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    n = zmq_poll(&it, 1, timeout_ms);
    if (n <= 0) {
        rc = n == 0 ? KH_ETIMEOUT : KH_ENET;
        goto out;
    }
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s, 0) < 0) {
        zmq_msg_close(&m);
        goto out;
    }
    *outlen = zmq_msg_size(&m);
    *out = malloc(*outlen ? *outlen : 1);
    if (*out) {
        memcpy(*out, zmq_msg_data(&m), *outlen);
        rc = KH_OK;
    } else {
        rc = KH_ENOMEM;
    }
    zmq_msg_close(&m);
out:
    zmq_close(s);
    return rc;
}

int kh_client_query(const char *dir, const kh_query_t *q, int timeout_ms, kh_reply_t *rep)
{
    uint8_t *req, *ans;
    size_t len, alen;
    int rc = kh_codec_query_encode(q, &req, &len);
    if (rc)
        return rc;
    rc = kh_client_call(dir, "ranker", req, len, timeout_ms, &ans, &alen);
    free(req);
    if (rc)
        return rc;
    rc = kh_codec_reply_decode(ans, alen, rep);
    free(ans);
    return rc;
}
