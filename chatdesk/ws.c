/* ws: the libwebsockets transport of chatdesk (see ws.h).
 *
 * Ownership: a struct ws_conn lives from LWS_CALLBACK_ESTABLISHED to
 * LWS_CALLBACK_CLOSED. The hub's connection (hc) may outlive it while a job
 * for it is at a worker: hub_closed tells the hub that the transport handle
 * is gone, so late answers are dropped instead of touching a freed wsi.
 *
 * Accepting: chatdesk listens itself and accepts through kb_lws (the
 * accept loop, the caps in all, per client address and by descriptors,
 * and the back-off out of descriptors: kb_lws.h). Each connection is
 * adopted by the vhost for HTTP with a struct peer as its opaque user
 * data, freed at LWS_CALLBACK_WSI_DESTROY. A refused connection is still
 * adopted so it can be told why: a page request gets HTTP 503
 * too_many_connections, a WebSocket completes its handshake and is closed
 * with code 1013 (try again later). */
#include "ws.h"
#include "apihttp.h"
#include "hub.h"
#include "kb_log.h"
#include "kb_lws.h"
#include "kb_net.h"
#include "metrics.h"
#include "pool.h"
#include "kb_clock.h"
#include "kb_util.h"

#include <libwebsockets.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define WS_PROTOCOL "kbdesk"
/* the JSON API's protocol, mounted at API_MOUNT (apihttp.c) */
#define API_PROTOCOL "kbdesk-api"
#define API_MOUNT "/api"
#define WS_PATH "/ws"
/* longest Origin / Host header considered (a longer one is refused) */
#define WS_ORIGIN_MAX 512
#define WS_CLOSE_TRY_AGAIN_LATER 1013 /* RFC 6455 registry: "Try Again Later" */
#define REFUSING_SECS 2     /* ... each waits this long at most for its request */
#define RETRY_AFTER "5"     /* seconds, for a 503 */

/* What chatdesk knows of a connection lws adopted: its opaque user data. */
struct peer {
    struct kb_addr addr;
    enum kb_refusal refused; /* KB_REFUSE_NONE: admitted (counted in the caps) */
    int in_adopt;            /* lws_adopt_* has not returned yet */
    int gone;                /* WSI_DESTROY came during the adoption */
};

struct out_frame {
    struct out_frame *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE + len */
};

struct ws_conn {
    struct lws *wsi;
    struct hub_conn *hc;
    struct kb_buf rx;    /* the message being reassembled */
    int oversize;        /* it passed max_frame: its bytes are dropped */
    struct out_frame *w_head, *w_tail;
    size_t w_bytes;
    int dead;            /* too much queued, or silent: being closed */
    /* silence (see sweep): the monotonic time of the last frame received
     * (kb_clock_mono), and the ping of this silence: PING_WANTED once the
     * sweep asked for a writable callback, PING_SENT once written */
    double last_rx;
    enum { PING_NONE, PING_WANTED, PING_SENT } ping;
    struct ws_conn *prev, *next; /* cd_server.conns */
};

struct pss {
    struct ws_conn *c;
};

struct cd_server {
    const struct cd_config *cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    cd_pool *pool;
    hub *hub;
    cd_cluster *cluster; /* several instances (cfg->cluster); else NULL */
    char *www_root;
    /* the origins of the pages as served, "http://127.0.0.1:8081,..." (NULL
     * when listening on every address: then the request's Host decides) */
    char *own_origins;
    lws_sorted_usec_list_t sul_maint;
    struct kb_lws net;  /* accepting (see the top of the file) */
    struct kb_lws_ops net_ops;
    lws_sorted_usec_list_t sul_sla; /* the SLA check, every sla_interval */
    lws_sorted_usec_list_t sul_mail; /* the mail sender's timer (mail_interval_ms) */
    struct lws_http_mount mount;
    struct lws_http_mount api_mount;
    struct apihttp_ops api_ops;
    struct lws_protocol_vhost_options pvo, pvo_default;
    lws_retry_bo_t retry;
    lws_sorted_usec_list_t sul_sweep; /* silent WebSockets, every second */
    struct ws_conn *conns; /* every WebSocket connection (ESTABLISHED..CLOSED) */
};

/* ---- writing ----------------------------------------------------------------- */

/* Closes c at the next service (LWS_CALLBACK_CLOSED follows). */
static void conn_kill(struct ws_conn *c)
{
    c->dead = 1;
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
}

/* hub_ops.send: queues a copy of json for c. */
static void ws_send(void *t, const char *json, size_t len)
{
    struct ws_conn *c = t;
    if (c->dead)
        return;
    if (c->w_bytes + len > WS_MAX_QUEUED) {
        kb_warn("closing a connection that does not read its answers");
        conn_kill(c);
        return;
    }
    struct out_frame *f = kb_xmalloc(sizeof *f + LWS_PRE + len);
    f->next = NULL;
    f->len = len;
    memcpy(f->buf + LWS_PRE, json, len);
    /* frames are compact JSON with "type" first (proto.c) */
    static const char ack[] = "{\"type\":\"ack\"";
    cd_metrics_frame_out(len > sizeof ack - 1 && memcmp(json, ack, sizeof ack - 1) == 0);
    if (c->w_tail)
        c->w_tail->next = f;
    else
        c->w_head = f;
    c->w_tail = f;
    c->w_bytes += len;
    lws_callback_on_writable(c->wsi);
}

static int on_writeable(struct ws_conn *c)
{
    if (c->dead)
        return -1;
    if (c->ping == PING_WANTED) {
        /* not empty: lws 4.1 does not pass an empty pong to the callback */
        unsigned char ping[LWS_PRE + 2] = {[LWS_PRE] = 'k', [LWS_PRE + 1] = 'b'};
        c->ping = PING_SENT;
        if (lws_write(c->wsi, ping + LWS_PRE, 2, LWS_WRITE_PING) < 0)
            return -1;
        if (c->w_head)
            lws_callback_on_writable(c->wsi);
        return 0;
    }
    struct out_frame *f = c->w_head;
    if (!f)
        return 0;
    c->w_head = f->next;
    if (!c->w_head)
        c->w_tail = NULL;
    c->w_bytes -= f->len;
    int w = lws_write(c->wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
    free(f);
    if (w < 0)
        return -1; /* lws closes the connection */
    if (c->w_head)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static void conn_free(struct ws_conn *c)
{
    struct out_frame *f = c->w_head;
    while (f) {
        struct out_frame *next = f->next;
        free(f);
        f = next;
    }
    kb_buf_fin(&c->rx);
    free(c);
}

/* ---- reading ------------------------------------------------------------------ */

/* A frame (or a piece of one, or a pong) came from c: it is not silent. */
static void heard(struct ws_conn *c)
{
    c->last_rx = kb_clock_mono();
    c->ping = PING_NONE;
}

/* Once a second: a WebSocket silent for ws_ping_interval gets one PING
 * (written at its next writable callback), one silent for twice that is
 * closed. Ours rather than lws's retry policy: lws keeps a timer per
 * connection in one sorted list and re-inserts it, walking the list, at each
 * ping and pong (tests/bench/RESULTS.md); this walk is O(connections) per
 * second. */
static void sweep(lws_sorted_usec_list_t *sul)
{
    cd_server *s = lws_container_of(sul, cd_server, sul_sweep);
    double now = kb_clock_mono();
    double ping_after = s->cfg->ws_ping_interval;
    for (struct ws_conn *c = s->conns; c; c = c->next) {
        double silent = now - c->last_rx;
        if (c->dead || silent < ping_after)
            continue;
        if (silent >= 2 * ping_after) {
            kb_debug("closing a WebSocket silent for %.0f s", silent);
            conn_kill(c);
        } else if (c->ping == PING_NONE) {
            c->ping = PING_WANTED;
            lws_callback_on_writable(c->wsi);
        }
    }
    lws_sul_schedule(s->ctx, 0, &s->sul_sweep, sweep, LWS_US_PER_SEC);
}

static void on_receive(cd_server *s, struct ws_conn *c, const void *in, size_t len)
{
    heard(c);
    if (!c->oversize) {
        if (c->rx.len + len > (size_t)s->cfg->max_frame) {
            c->oversize = 1;
            kb_buf_fin(&c->rx); /* free the memory now, not at the end */
            kb_buf_init(&c->rx);
        } else {
            kb_buf_add(&c->rx, in, len);
        }
    }
    if (!lws_is_final_fragment(c->wsi))
        return;
    int binary = lws_frame_is_binary(c->wsi);
    int oversize = c->oversize;
    cd_metrics_frame_in();
    c->oversize = 0;
    hub_frame(s->hub, c->hc, c->rx.data ? c->rx.data : "", c->rx.len, binary, oversize);
    if (c->rx.cap > 64 * 1024) { /* do not keep a big buffer for an idle client */
        kb_buf_fin(&c->rx);
        kb_buf_init(&c->rx);
    } else {
        kb_buf_reset(&c->rx);
    }
}

/* ---- the Origin check ------------------------------------------------------------ */

/* Is origin (n bytes) one of the comma-separated list (ASCII case
 * insensitive)? */
static int origin_listed(const char *list, const char *origin, size_t n)
{
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncasecmp(p, origin, n) == 0)
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* The server's own origins for the listen address: http://HOST:PORT (and
 * without :80 on port 80), with http://localhost:PORT for a loopback
 * address. NULL for a wildcard address. */
static char *own_origins(const char *host, int port)
{
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
        return NULL;
    int v6 = strchr(host, ':') != NULL;
    const char *names[2] = {host, NULL};
    if (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0)
        names[1] = "localhost";
    struct kb_buf b;
    kb_buf_init(&b);
    for (int i = 0; i < 2 && names[i]; i++) {
        int br = i == 0 && v6;
        const char *lb = br ? "[" : "", *rb = br ? "]" : "";
        kb_buf_printf(&b, "%shttp://%s%s%s:%d", b.len ? "," : "", lb, names[i], rb, port);
        if (port == 80)
            kb_buf_printf(&b, ",http://%s%s%s", lb, names[i], rb);
    }
    return kb_buf_take(&b);
}

/* For a log line: at most 100 bytes of s, other bytes than printable ASCII
 * as '?'. */
static void printable(char *dst, size_t size, const char *s)
{
    size_t i = 0;
    for (; s[i] && i < 100 && i + 1 < size; i++)
        dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    dst[i] = '\0';
}

/* May this handshake open a WebSocket? A client without Origin (not a
 * browser) may; a browser's Origin must be the pages' own origin or one
 * of allowed_origins. */
static int origin_ok(cd_server *s, struct lws *wsi)
{
    int olen = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (olen <= 0)
        return 1;
    char origin[WS_ORIGIN_MAX];
    int n = lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    int ok = 0;
    if (n > 0) {
        if (origin_listed(s->own_origins, origin, (size_t)n) ||
            origin_listed(s->cfg->allowed_origins, origin, (size_t)n)) {
            ok = 1;
        } else if (!s->own_origins) {
            /* every address: the origin the browser used to reach us */
            char host[WS_ORIGIN_MAX];
            int h = lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
            ok = h > 0 && (size_t)n == 7 + (size_t)h && strncasecmp(origin, "http://", 7) == 0 &&
                 strncasecmp(origin + 7, host, (size_t)h) == 0;
        }
    }
    if (!ok) {
        char shown[128];
        printable(shown, sizeof shown, n > 0 ? origin : "(too long)");
        kb_info("refusing a WebSocket from origin %s (see --allowed-origins)", shown);
    }
    return ok;
}

/* ---- callbacks ------------------------------------------------------------------ */

static void collect(cd_server *s)
{
    struct desk_job *job = s->pool ? pool_take_done(s->pool) : NULL;
    while (job) {
        struct desk_job *next = job->next;
        cd_metrics_job_done(job->search ? CD_STAGE_SEARCH : CD_STAGE_REQUEST);
        if (job->api) {
            /* the answer first, then what the request tells others */
            struct desk_frame *f = desk_outbox_take(&job->out);
            apihttp_done(&s->api_ops, job);
            hub_deliver(s->hub, f);
        } else
            hub_done(s->hub, job);
        job = next;
    }
    if (s->cluster) {
        /* other instances' frames, delivered like our own */
        int resync = 0;
        struct desk_frame *f = cluster_take(s->cluster, &resync);
        if (resync)
            hub_resync(s->hub);
        hub_deliver(s->hub, f);
    }
}

/* ---- accepting and the caps ------------------------------------------------- */

static const char *refusal_message(enum kb_refusal r)
{
    switch (r) {
    case KB_REFUSE_PER_ADDRESS:
        return "too many connections from your address; close some or try again later";
    case KB_REFUSE_NO_FD:
        return "the server has no file descriptors left for a connection; try again later";
    default:
        return "the server has too many connections; try again later";
    }
}

/* LWS_CALLBACK_WSI_DESTROY: the wsi (any role) is going away. */
static void peer_destroyed(cd_server *s, struct lws *wsi)
{
    struct peer *p = lws_get_opaque_user_data(wsi);
    if (!p)
        return;
    lws_set_opaque_user_data(wsi, NULL);
    kb_lws_release(&s->net, p->refused, &p->addr);
    if (p->in_adopt)
        p->gone = 1; /* admit() frees it */
    else
        free(p);
}

/* kb_lws_ops.adopt: hands fd to lws for HTTP, with a struct peer. */
static void adopt(void *ud, int fd, const struct kb_addr *addr, enum kb_refusal why)
{
    cd_server *s = ud;
    struct peer *p = kb_xcalloc(1, sizeof *p);
    p->addr = *addr;
    p->refused = why;
    p->in_adopt = 1;
    struct lws *w = kb_lws_adopt(&s->net, fd, LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP, NULL, p);
    p->in_adopt = 0;
    if (w && !p->gone) {
        /* the wsi owns p until WSI_DESTROY; a refused client that sends no
         * request soon gives its refusal slot to the next */
        if (why)
            lws_set_timeout(w, PENDING_TIMEOUT_USER_REASON_BASE, REFUSING_SECS);
        return;
    }
    if (!p->gone) /* lws gave up (and closed fd) before the wsi took p */
        kb_lws_release(&s->net, why, addr);
    free(p);
}

/* The listening socket, adopted as a raw file descriptor. */
static int listen_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    cd_server *s = lws_context_user(lws_get_context(wsi));
    return kb_lws_listen_event(&s->net, reason);
}

/* ---- HTTP answers of our own ------------------------------------------------------ */

/* Writes a whole answer (status, type, body; Retry-After if retry) and
 * asks for the connection to be closed: the value to return from
 * LWS_CALLBACK_FILTER_HTTP_CONNECTION. */
static int reply(struct lws *wsi, unsigned status, const char *ctype, const char *body,
                 size_t blen, int retry)
{
    unsigned char head[LWS_PRE + 2048];
    unsigned char *start = head + LWS_PRE, *p = start, *end = head + sizeof head - 1;
    if (lws_add_http_common_headers(wsi, status, ctype, (lws_filepos_t)blen, &p, end) ||
        (retry && lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                              (const unsigned char *)RETRY_AFTER,
                                              (int)strlen(RETRY_AFTER), &p, end)) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5,
                                     &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    unsigned char *b = kb_xmalloc(LWS_PRE + blen + 1);
    memcpy(b + LWS_PRE, body, blen);
    lws_write(wsi, b + LWS_PRE, blen, LWS_WRITE_HTTP_FINAL);
    free(b);
    return -1;
}

/* The JSON error {"error":{"code":...,"message":...}} with status. */
static int reply_error(struct lws *wsi, unsigned status, const char *code, const char *message)
{
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_adds(&b, "{\"error\":{\"code\":");
    kb_buf_json_str(&b, code, strlen(code));
    kb_buf_adds(&b, ",\"message\":");
    kb_buf_json_str(&b, message, strlen(message));
    kb_buf_adds(&b, "}}");
    int rc = reply(wsi, status, "application/json; charset=utf-8", b.data, b.len, status == 503);
    kb_buf_fin(&b);
    return rc;
}

/* Every HTTP request (not a WebSocket upgrade) before lws serves it: a
 * refused connection gets its 503, GET /metrics is answered here. Returns
 * 0 to let lws serve the page, or nonzero (answered; lws closes). */
static int filter_http(cd_server *s, struct lws *wsi, const char *uri, size_t len)
{
    struct peer *p = lws_get_opaque_user_data(wsi);
    if (p && p->refused)
        return reply_error(wsi, 503, "too_many_connections", refusal_message(p->refused));
    if (!uri || len != 8 || memcmp(uri, "/metrics", 8) != 0)
        return 0;
    char auth[KB_NET_MAX_TOKEN + 16];
    const char *token = NULL;
    size_t token_len = 0;
    int n = lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 7 && strncasecmp(auth, "Bearer ", 7) == 0) {
        token = auth + 7;
        token_len = (size_t)n - 7;
    }
    struct kb_addr none;
    memset(&none, 0, sizeof none);
    if (!kb_net_metrics_allowed(&s->cfg->net, p ? &p->addr : &none, token, token_len))
        return reply_error(wsi, 403, "forbidden", kb_lws_metrics_forbidden(&s->cfg->net));
    size_t mlen;
    char *text = cd_metrics_render(&mlen);
    int rc = reply(wsi, 200, CD_METRICS_CONTENT_TYPE, text, mlen, 0);
    free(text);
    return rc;
}

/* The pages. lws 4.1 hands a request its file mount cannot serve (a
 * missing file) to this callback as LWS_CALLBACK_HTTP and would otherwise
 * leave the client without an answer: reply 404. Being protocols[0], this
 * callback also sees every wsi's LWS_CALLBACK_WSI_DESTROY. */
static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                         void *in, size_t len)
{
    cd_server *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
        if (s && filter_http(s, wsi, in, len))
            return -1;
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        if (s)
            peer_destroyed(s, wsi);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct pss *pss = user;
    cd_server *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[64];
        int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        if (n <= 0 || strcmp(uri, WS_PATH) != 0) {
            kb_debug("refusing a WebSocket on %s", n > 0 ? uri : "(no uri)");
            return 1;
        }
        return origin_ok(s, wsi) ? 0 : 1;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        if (!pss)
            return -1;
        struct peer *p = lws_get_opaque_user_data(wsi);
        if (p && p->refused) {
            /* the handshake is done, so the client can be told why */
            const char *why = refusal_message(p->refused);
            lws_close_reason(wsi, (enum lws_close_status)WS_CLOSE_TRY_AGAIN_LATER,
                             (unsigned char *)why, strlen(why));
            return -1;
        }
        cd_metrics_ws_add(1);
        struct ws_conn *c = kb_xcalloc(1, sizeof *c);
        c->wsi = wsi;
        kb_buf_init(&c->rx);
        heard(c);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        /* the peer's address, for the hub's per-address limits (a proxy in
         * front would make every client one address: see README) */
        char addr[STORE_ADDR_MAX] = "";
        lws_get_peer_simple(wsi, addr, sizeof addr);
        c->hc = hub_open(s->hub, c, addr);
        pss->c = c;
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        if (!pss || !pss->c)
            return -1;
        on_receive(s, pss->c, in, len);
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (pss && pss->c)
            heard(pss->c);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!pss || !pss->c)
            return 0;
        return on_writeable(pss->c);
    case LWS_CALLBACK_CLOSED:
        if (pss && pss->c) {
            struct ws_conn *c = pss->c;
            pss->c = NULL;
            if (c->prev)
                c->prev->next = c->next;
            else
                s->conns = c->next;
            if (c->next)
                c->next->prev = c->prev;
            cd_metrics_ws_add(-1);
            hub_closed(s->hub, c->hc);
            conn_free(c);
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (s)
            collect(s);
        return 0;
    default:
        /* being the vhost's default protocol, this one also sees the HTTP
         * requests for the pages */
        return http_callback(wsi, reason, user, in, len);
    }
}

/* The JSON API under API_MOUNT (its finished jobs are collected with the
 * others, in callback's LWS_CALLBACK_EVENT_WAIT_CANCELLED). */
static int api_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    cd_server *s = lws_context_user(lws_get_context(wsi));
    if (!s)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    return apihttp_callback(&s->api_ops, wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", http_callback, 0, 0, 0, NULL, 0},
    /* rx_buffer_size: libwebsockets allocates it for every connection at the
     * upgrade; 2 KiB (not 16) because on_receive reassembles a frame from
     * any number of pieces, and an idle connection then costs less */
    {WS_PROTOCOL, callback, sizeof(struct pss), 2 * 1024, 0, NULL, 0},
    {API_PROTOCOL, api_callback, sizeof(struct apihttp_pss), 0, 0, NULL, 0},
    {"chatdesk-listen", listen_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* pool notify: a worker finished a job */
static void wake(void *ud)
{
    cd_server *s = ud;
    if (s->ctx)
        lws_cancel_service(s->ctx);
}

static int submit(void *ud, struct desk_job *job)
{
    cd_server *s = ud;
    enum cd_stage stage = job->search ? CD_STAGE_SEARCH : CD_STAGE_REQUEST;
    int rc = pool_submit(s->pool, job);
    cd_metrics_job_submitted(stage, rc == 0);
    return rc;
}

/* the API's logins and the WebSocket's share the per-address delays */
static int api_login_wait(void *ud, const char *peer)
{
    cd_server *s = ud;
    return s->hub ? hub_login_wait(s->hub, peer) : 0;
}

static void api_login_result(void *ud, const char *peer, int result)
{
    cd_server *s = ud;
    if (s->hub)
        hub_login_result(s->hub, peer, result);
}

static void maintain(lws_sorted_usec_list_t *sul)
{
    cd_server *s = lws_container_of(sul, cd_server, sul_maint);
    hub_maintain(s->hub);
    lws_sul_schedule(s->ctx, 0, &s->sul_maint, maintain,
                     (lws_usec_t)s->cfg->maintenance_interval * LWS_US_PER_SEC);
}

/* The mail sender: a round on a worker every mail_interval_ms that posts
 * the robots' and webhooks' due deliveries and, with a relay configured,
 * sends the mails (without one the mails stay queued). */
static void mail_round(lws_sorted_usec_list_t *sul)
{
    cd_server *s = lws_container_of(sul, cd_server, sul_mail);
    hub_mail(s->hub);
    lws_sul_schedule(s->ctx, 0, &s->sul_mail, mail_round,
                     (lws_usec_t)s->cfg->mail_interval_ms * LWS_US_PER_MS);
}

static void sla_check(lws_sorted_usec_list_t *sul)
{
    cd_server *s = lws_container_of(sul, cd_server, sul_sla);
    hub_sla(s->hub);
    lws_sul_schedule(s->ctx, 0, &s->sul_sla, sla_check,
                     (lws_usec_t)s->cfg->sla_interval * LWS_US_PER_SEC);
}

int cd_server_new(const struct cd_config *cfg, cd_server **out, char *err, size_t errlen)
{
    *out = NULL;
    cd_server *s = kb_xcalloc(1, sizeof *s);
    s->cfg = cfg;
    s->net_ops = (struct kb_lws_ops){.ud = s, .adopt = adopt, .limits = cd_metrics_limits,
                                     .conn_open = cd_metrics_conn_open,
                                     .refused = cd_metrics_refused,
                                     .accept_paused = cd_metrics_accept_paused};
    /* request and search workers hold a PostgreSQL connection and index files */
    kb_lws_init(&s->net, &s->net_ops, &cfg->net, 16L * 5 * cfg->threads);
    s->www_root = kb_lws_www_root(cfg->www, "no pages", "only /ws is served");

    kb_lws_log_setup(cfg->log_level);

    struct hub_ops ops = {ws_send, submit, s, kb_clock_mono};
    struct hub_limits lim = {.max_frame = cfg->max_frame, .rate = cfg->rate, .burst = cfg->burst};
    lim.hello_per_minute = cfg->hello_per_minute;
    lim.hello_burst = cfg->hello_burst;
    lim.login_free = cfg->login_address_free;
    lim.login_max_delay = cfg->login_address_max_delay;
    lim.login_forget = cfg->desk.login_lockout;
    s->hub = hub_new(&ops, &lim);

    /* the workers first: a missing index or database fails before anything
     * listens */
    if (cfg->cluster) {
        if (cluster_new(cfg->db, wake, s, &s->cluster, err, errlen)) {
            cd_server_free(s);
            return -1;
        }
        kb_info("cluster: instance %s listening for the other instances' events",
                cluster_id(s->cluster));
    }
    if (pool_new(cfg, s->cluster, wake, s, &s->pool, err, errlen)) {
        cd_server_free(s);
        return -1;
    }

    /* the listening socket is ours (see the top of the file) */
    if (kb_lws_listen(&s->net, cfg->host, cfg->port, err, errlen)) {
        cd_server_free(s);
        return -1;
    }

    struct lws_context_creation_info info;
    /* clients without Sec-WebSocket-Protocol get our protocol */
    s->pvo_default.name = "default";
    s->pvo_default.value = "1";
    s->pvo.options = &s->pvo_default;
    s->pvo.name = WS_PROTOCOL;
    s->pvo.value = "";
    s->mount.mountpoint = "/";
    s->mount.mountpoint_len = 1;
    s->mount.origin = s->www_root;
    s->mount.def = "index.html";
    s->mount.origin_protocol = LWSMPRO_FILE;
    s->mount.cache_max_age = 0;
    s->mount.mount_next = &s->api_mount;
    s->api_mount.mountpoint = API_MOUNT;
    s->api_mount.mountpoint_len = (unsigned char)strlen(API_MOUNT);
    s->api_mount.origin = API_PROTOCOL;
    s->api_mount.origin_protocol = LWSMPRO_CALLBACK;
    s->api_ops.submit = submit;
    s->api_ops.login_wait = api_login_wait;
    s->api_ops.login_result = api_login_result;
    s->api_ops.ud = s;
    s->api_ops.upload_max = (size_t)cfg->desk.attach_max;
    /* no lws validity timers: a policy is needed (without one the vhost
     * takes the context's, which pings at 300 s), and with
     * secs_since_valid_hangup 0 lws 4.1 neither schedules the per-connection
     * timer nor pings; sweep pings and closes silent WebSockets instead */
    s->retry.secs_since_valid_ping = 0;
    s->retry.secs_since_valid_hangup = 0;

    memset(&info, 0, sizeof info);
    info.protocols = protocols;
    info.pvo = &s->pvo;
    info.mounts = s->www_root ? &s->mount : &s->api_mount;
    info.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    info.vhost_name = "chatdesk";
    info.retry_and_idle_policy = &s->retry;
    info.keepalive_timeout = 30;
    /* the caps count the descriptors left now that PostgreSQL, the index,
     * the workers and lws hold theirs */
    /* epoll through libev: with thousands of connections, lws's poll()
     * over all of them on every wake-up was most of the loop's time */
    s->net.epoll = 1;
    int rc = kb_lws_start(&s->net, s, 0, &info, "chatdesk-listen", &cfg->net, err, errlen);
    s->ctx = s->net.ctx;
    s->vh = s->net.vh;
    if (rc) {
        cd_server_free(s);
        return -1;
    }
    s->own_origins = own_origins(cfg->host, s->net.port);
    /* maintenance once at start-up, then every interval */
    lws_sul_schedule(s->ctx, 0, &s->sul_maint, maintain, 1);
    lws_sul_schedule(s->ctx, 0, &s->sul_sla, sla_check, 2);
    /* always: the robots' and webhooks' deliveries need no relay */
    lws_sul_schedule(s->ctx, 0, &s->sul_mail, mail_round, 1);
    lws_sul_schedule(s->ctx, 0, &s->sul_sweep, sweep, LWS_US_PER_SEC);
    *out = s;
    return 0;
}

struct kb_lws *cd_server_net(cd_server *s)
{
    return &s->net;
}

void cd_server_free(cd_server *s)
{
    if (!s)
        return;
    if (s->pool) {
        /* workers finish the job in hand and stop; their jobs' references to
         * connections are dropped here, on the service thread */
        struct desk_job *left = pool_stop(s->pool);
        while (left) {
            struct desk_job *next = left->next;
            if (left->api)
                apihttp_drop(left);
            else
                hub_drop(s->hub, left);
            left = next;
        }
    }
    cluster_free(s->cluster); /* its thread stops before the context goes */
    s->cluster = NULL;
    if (s->ctx) {
        lws_sul_cancel(&s->sul_maint);
        lws_sul_cancel(&s->sul_sla);
        lws_sul_cancel(&s->sul_mail);
        lws_sul_cancel(&s->sul_sweep);
    }
    kb_lws_fin(&s->net); /* LWS_CALLBACK_CLOSED and WSI_DESTROY for every connection */
    s->ctx = NULL;
    pool_free(s->pool);
    hub_free(s->hub);
    free(s->www_root);
    free(s->own_origins);
    free(s);
}
