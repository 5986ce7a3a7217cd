/*
 * kh_zuv.c - ZeroMQ on libuv; see kh_zuv.h for the edge-trigger rules.
 */
#include "kh_zuv.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kh_error.h"

struct kh_zwatch {
    uv_poll_t poll;
    uv_idle_t idle;
    void *zsock;
    kh_zwatch_cb cb;
    void *arg;
    int closing; /* handles still to close */
    bool idle_on;
};

bool kh_zsock_readable(void *zsock)
{
    int ev = 0;
    size_t sz = sizeof ev;
    if (zmq_getsockopt(zsock, ZMQ_EVENTS, &ev, &sz) != 0)
        return false;
    return (ev & ZMQ_POLLIN) != 0;
}

static void idle_cb(uv_idle_t *h)
{
    kh_zwatch_t *w = h->data;
    if (kh_zsock_readable(w->zsock))
        w->cb(w->zsock, w->arg);
    if (!kh_zsock_readable(w->zsock)) {
        uv_idle_stop(&w->idle);
        w->idle_on = false;
    }
}

static void arm(kh_zwatch_t *w)
{
    bool more = kh_zsock_readable(w->zsock);
    if (more && !w->idle_on) {
        uv_idle_start(&w->idle, idle_cb);
        w->idle_on = true;
    }
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    kh_zwatch_t *w = h->data;
    (void)status;
    (void)events;
    if (kh_zsock_readable(w->zsock))
        w->cb(w->zsock, w->arg);
    arm(w);
}

int kh_zwatch_start(uv_loop_t *loop, void *zsock, kh_zwatch_cb cb, void *arg,
                    kh_zwatch_t **out)
{
    int fd;
    size_t sz = sizeof fd;
    if (zmq_getsockopt(zsock, ZMQ_FD, &fd, &sz) != 0)
        return KH_ENET;
    kh_zwatch_t *w = calloc(1, sizeof *w);
    if (!w)
        return KH_ENOMEM;
    w->zsock = zsock;
    w->cb = cb;
    w->arg = arg;
    if (uv_poll_init(loop, &w->poll, fd) != 0) {
        free(w);
        return KH_ENET;
    }
    uv_idle_init(loop, &w->idle);
    w->poll.data = w->idle.data = w;
    uv_poll_start(&w->poll, UV_READABLE, poll_cb);
    /* Messages may already wait: the edge happened before we watched. */
    arm(w);
    *out = w;
    return KH_OK;
}

static void close_cb(uv_handle_t *h)
{
    kh_zwatch_t *w = h->data;
    if (--w->closing == 0)
        free(w);
}

void kh_zwatch_stop(kh_zwatch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_zwatch_t *w = *self_p;
    w->closing = 2;
    uv_close((uv_handle_t *)&w->poll, close_cb);
    uv_close((uv_handle_t *)&w->idle, close_cb);
    *self_p = NULL;
}

void kh_zwatch_kick(kh_zwatch_t *w)
{
    if (w)
        arm(w);
}

int kh_zmsg_recv(void *zsock, kh_zmsg_t *m)
{
    memset(m, 0, sizeof *m);
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        int flags = m->n == 0 && !m->truncated ? ZMQ_DONTWAIT : 0;
        if (zmq_msg_recv(&part, zsock, flags) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&part);
            if (m->n == 0 && e == EAGAIN)
                return KH_ENOTFOUND;
            kh_zmsg_close(m);
            return KH_ENET;
        }
        int more = zmq_msg_more(&part);
        if (m->n < KH_ZMSG_MAX) {
            zmq_msg_t *keep = malloc(sizeof *keep);
            if (!keep) {
                zmq_msg_close(&part);
                m->truncated = true;
            } else {
                zmq_msg_init(keep);
                zmq_msg_move(keep, &part);
                zmq_msg_close(&part);
                m->frames[m->n++] = keep;
            }
        } else {
            zmq_msg_close(&part);
            m->truncated = true;
        }
        if (!more)
            return KH_OK;
    }
}

const uint8_t *kh_zmsg_data(const kh_zmsg_t *m, int i)
{
    return zmq_msg_data((zmq_msg_t *)m->frames[i]);
}

size_t kh_zmsg_size(const kh_zmsg_t *m, int i)
{
    return zmq_msg_size((zmq_msg_t *)m->frames[i]);
}

void kh_zmsg_close(kh_zmsg_t *m)
{
    for (int i = 0; i < m->n; i++) {
        zmq_msg_close(m->frames[i]);
        free(m->frames[i]);
    }
    m->n = 0;
}

int kh_zsend_parts(void *zsock, const void *const *data, const size_t *len, int n)
{
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(zsock, data[i], len[i], flags) < 0)
            return KH_ENET;
    }
    return KH_OK;
}

int kh_zmsg_reply(void *zsock, const kh_zmsg_t *req, const void *payload, size_t len)
{
    const void *data[KH_ZMSG_MAX];
    size_t lens[KH_ZMSG_MAX];
    int k = 0;
    for (int f = 0; f + 1 < req->n; f++, k++) {
        data[k] = kh_zmsg_data(req, f);
        lens[k] = kh_zmsg_size(req, f);
    }
    data[k] = payload;
    lens[k++] = len;
    return kh_zsend_parts(zsock, data, lens, k);
}

const char *kh_zmsg_user(const kh_zmsg_t *m, int i)
{
    if (i < 0 || i >= m->n)
        return NULL;
    const char *u = zmq_msg_gets((zmq_msg_t *)m->frames[i], "User-Id");
    return (u && *u) ? u : NULL;
}
