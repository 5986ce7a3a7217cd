/*
 * kh_zuv.h - ZeroMQ sockets on a libuv loop, and multipart helpers.
 *
 * ZMQ_FD is edge-triggered: it signals when the socket's state changes,
 * not while messages wait, and any zmq_send/zmq_recv may consume the edge.
 * So a watcher calls its callback whenever ZMQ_EVENTS says POLLIN, after
 * the fd wakes the loop AND after every callback (which sends and
 * receives); when the callback stops early with messages still waiting
 * (its budget spent), the watcher re-runs it from a uv_idle_t on the next
 * loop turn, so timers and other sockets get their share. Code that sends
 * on a watched socket outside the callback calls kh_zwatch_kick().
 *
 * Sockets live on the loop thread only.
 */
#ifndef KH_ZUV_H
#define KH_ZUV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct kh_zwatch kh_zwatch_t;
/* Called while the socket has input; receive up to a budget and return. */
typedef void (*kh_zwatch_cb)(void *zsock, void *arg);

int kh_zwatch_start(uv_loop_t *loop, void *zsock, kh_zwatch_cb cb, void *arg,
                    kh_zwatch_t **out);
/* Stops watching and frees (asynchronously, through uv_close). */
void kh_zwatch_stop(kh_zwatch_t **self_p);
/* Re-checks ZMQ_EVENTS after a send made outside the callback. */
void kh_zwatch_kick(kh_zwatch_t *w);

/* True when the socket has a message waiting. */
bool kh_zsock_readable(void *zsock);

/* A received multipart message: up to KH_ZMSG_MAX frames. */
#define KH_ZMSG_MAX 8
typedef struct kh_zmsg {
    void *frames[KH_ZMSG_MAX]; /* zmq_msg_t, opaque here */
    int n;
    bool truncated; /* more frames than KH_ZMSG_MAX arrived (dropped) */
} kh_zmsg_t;

/* Receives one whole multipart message without blocking.
 * KH_OK, KH_ENOTFOUND when none waits, KH_ENET on error. */
int kh_zmsg_recv(void *zsock, kh_zmsg_t *m);
const uint8_t *kh_zmsg_data(const kh_zmsg_t *m, int i);
size_t kh_zmsg_size(const kh_zmsg_t *m, int i);
void kh_zmsg_close(kh_zmsg_t *m);

/* Sends frames (data, len) as one multipart message, non-blocking.
 * KH_OK or KH_ENET (EAGAIN at the high-water mark included). */
int kh_zsend_parts(void *zsock, const void *const *data, const size_t *len, int n);

/* The authenticated identity (ZAP User-Id) a frame arrived with, or NULL
 * on a socket without authentication. */
const char *kh_zmsg_user(const kh_zmsg_t *m, int i);

/* Answers a request received on a ROUTER: every frame of req but the
 * last (the routing envelope), then payload. KH_OK or KH_ENET. */
int kh_zmsg_reply(void *zsock, const kh_zmsg_t *req, const void *payload, size_t len);

#endif
