/* apihttp: the HTTP side of chatdesk's JSON API in the libwebsockets
 * transport. ws.c mounts it at /api (an LWSMPRO_CALLBACK mount on its own
 * protocol) and forwards that protocol's callbacks here. Per request it
 * copies the method, path, query arguments, headers (Authorization,
 * Content-Type, If-Match, Idempotency-Key, X-Filename) and the client's address out of
 * lws, reads the body (LWS_CALLBACK_HTTP_BODY, at most API_BODY_MAX bytes;
 * a longer one is read and dropped up to API_BODY_DRAIN_MAX and answered
 * 413, a longer declared one is answered 413 at once and the connection
 * closed), routes it (router.h: 404 and 405 are answered here, without a
 * worker), parses it (httpreq.h) and hands it to the workers as a desk_job
 * with job->api set. The answer comes back through the pool's done queue
 * (apihttp_done, on the service thread) and is written in
 * LWS_CALLBACK_HTTP_WRITEABLE: status, Content-Type: application/json;
 * charset=utf-8 (or a file's type, with Content-Disposition),
 * Cache-Control: no-store (X-Content-Type-Options: nosniff comes with lws's
 * security headers),
 * Content-Length, and Allow or
 * WWW-Authenticate where they apply, then the body.
 *
 * Ownership: a connection's state (struct apihttp_conn) lives while lws
 * has the connection bound to the API protocol, or while a job of it is at
 * the workers, whichever is longer: a job coming back for a closed
 * connection is dropped. Everything runs on the service thread. */
#ifndef CD_APIHTTP_H
#define CD_APIHTTP_H

#include "pool.h"

#include <libwebsockets.h>

/* lws's per-session data of the API protocol */
struct apihttp_pss {
    struct apihttp_conn *c;
};

struct apihttp_ops {
    /* hand a job to the workers: 0, or -1 if they are saturated (the
     * request is then answered 503 overloaded) */
    int (*submit)(void *ud, struct desk_job *job);
    /* password logins (POST /api/v1/sessions) share the WebSocket's
     * per-address delays: seconds peer must still wait (0: go on), and
     * what a login came to (DESK_LOGIN_*) */
    int (*login_wait)(void *ud, const char *peer);
    void (*login_result)(void *ud, const char *peer, int result);
    void *ud;
    /* the largest body of an upload route (router.h: upload), bytes;
     * 0: such a route gets API_BODY_MAX like any other */
    size_t upload_max;
};

/* The API protocol's lws callback, given the ops of the server. */
int apihttp_callback(const struct apihttp_ops *ops, struct lws *wsi,
                     enum lws_callback_reasons reason, void *user, void *in, size_t len);

/* A finished API job (job->api set): reports a login's outcome to
 * ops->login_result, then writes its response, or drops it if the
 * connection has closed. Takes ownership of job. */
void apihttp_done(const struct apihttp_ops *ops, struct desk_job *job);

/* An API job that will not run (the pool stopped): releases it without an
 * answer. Takes ownership of job. */
void apihttp_drop(struct desk_job *job);

#endif
