/* http: the libwebsockets transport of searchd (see http.h).
 *
 * lws runs in raw-socket mode (the vhost applies the "raw-skt" role to every
 * accepted connection) and the codec reads the HTTP/1.x requests: lws 4.1's
 * own HTTP parser answers a bad %-escape with a 403 HTML page and drops the
 * connection on a %00 or on a URI longer than its header buffer, where the
 * API promises a JSON 4xx (see codec.h). lws still does the event loop,
 * accepting, timeouts, partial writes and the cross-thread wake-up.
 *
 * A connection (struct conn) is a small state machine:
 *   READ     collecting a request head; complete -> a job for the pool (BUSY)
 *            or an immediate answer (WRITE): an error, or a hit in the
 *            result cache (cache.h), which never goes to a worker
 *   BUSY     a worker has the job; reading is paused (lws_rx_flow_control),
 *            pipelined bytes wait in the input buffer
 *   WRITE    head and body go out SEND_CHUNK bytes per writeable callback, so
 *            a client that reads slowly holds only its own connection
 *   DISCARD  a head longer than CODEC_MAX_HEAD: read and dropped up to its
 *            blank line, then answered (413 / 414 / 431) and closed
 *   CLOSING  the last answer is written; waiting until lws has flushed it
 *   DRAIN    lingering close: our side is shut, input is dropped until the
 *            client closes or LINGER_SECS pass, so unread request bytes never
 *            turn the close into a reset that could eat the answer
 *
 * Ownership: a conn is freed when both lws (until LWS_CALLBACK_RAW_CLOSE)
 * and the job at a worker (until the service thread collects it) have let
 * go of it: conn->refs counts them, and only the service thread touches it.
 * After the close conn->wsi is NULL, so a late answer is dropped instead of
 * being written to a dangling wsi.
 *
 * Accepting: searchd listens itself (kb_net_listen) and hands the listening
 * socket to lws as a raw file descriptor, so that accept() is ours: lws
 * 4.1 only logs an accept() failing with EMFILE and polls the still
 * readable socket again, spinning at 100% CPU. The accept loop, the caps and the
 * back-off are kb_lws's (kb_lws.h); a refused connection is adopted too
 * but only answered 503 too_many_connections and closed. */
#include "http.h"
#include "cache.h"
#include "codec.h"
#include "kb_log.h"
#include "metrics.h"
#include "pool.h"
#include "kb_lws.h"
#include "kb_net.h"
#include "kb_clock.h"
#include "kb_util.h"

#include <libwebsockets.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SEND_CHUNK (16 * 1024)
#define IDLE_SECS 30     /* keep-alive connection with nothing sent */
#define HEAD_SECS 20     /* a started request head must be complete by then */
#define WRITE_SECS 60    /* a response chunk must leave within this */
#define DISCARD_SECS 60  /* an over-long head must end by then */
#define LINGER_SECS 2    /* lingering close */

enum conn_state { CS_READ, CS_BUSY, CS_WRITE, CS_DISCARD, CS_CLOSING, CS_DRAIN };

struct conn {
    struct lws *wsi; /* NULL once lws closed it */
    unsigned long long id;
    struct kb_addr peer;
    enum kb_refusal refused; /* KB_REFUSE_NONE: admitted (counted in the caps) */
    int refs;        /* lws's reference + a job's */
    enum conn_state st;
    struct kb_buf in; /* received, not yet parsed */
    /* the request being answered */
    int keepalive;    /* the client allows another request on this connection */
    int close_after;  /* close after this answer (body or framing trouble) */
    int inflight;     /* counted in the in-flight gauge */
    int head_only;
    /* the answer being written */
    struct sd_response resp;
    char *head;       /* response head bytes (owned) */
    size_t head_len, sent;
    /* DISCARD */
    unsigned scan;
    size_t discarded;
    struct codec_error pending;
};

/* per-session data lws allocates for each connection */
struct pss {
    struct conn *c;
};

struct sd_http {
    const struct sd_config *cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    sd_pool *pool;
    sd_cache *cache; /* owned; NULL when off (outlives the pool) */
    char *www_root; /* realpath of cfg->www, or NULL */
    struct kb_lws net;  /* accepting (see the top of the file) */
    struct kb_lws_ops net_ops;
    unsigned long long next_id;
    unsigned char wbuf[LWS_PRE + SEND_CHUNK]; /* write scratch (service thread) */
};

static void conn_release(struct conn *c)
{
    if (--c->refs > 0)
        return;
    kb_buf_fin(&c->in);
    sd_response_fin(&c->resp);
    free(c->head);
    free(c);
}

static void set_timeout(struct conn *c, int secs)
{
    if (c->wsi)
        lws_set_timeout(c->wsi, secs ? PENDING_TIMEOUT_USER_REASON_BASE : NO_PENDING_TIMEOUT,
                        secs);
}

static void inflight(struct conn *c, int on)
{
    if (on && !c->inflight)
        metrics_inflight_add(1);
    else if (!on && c->inflight)
        metrics_inflight_add(-1);
    c->inflight = on;
}

/* Starts writing resp (taken over: *resp is left zeroed) on c. */
static void respond(struct conn *c, struct sd_response *resp, enum sd_endpoint ep,
                    double t_start)
{
    double secs = kb_clock_mono() - t_start;
    metrics_request(ep, resp->status, secs);
    kb_debug("conn %llu: %s -> %d (%.2f ms)", c->id, codec_endpoint_name(ep), resp->status,
             secs * 1000);
    sd_response_fin(&c->resp);
    c->resp = *resp;
    memset(resp, 0, sizeof *resp);
    free(c->head);
    c->head = codec_format_head(&c->resp, c->keepalive && !c->close_after,
                                (long long)time(NULL), &c->head_len);
    c->sent = 0;
    c->st = CS_WRITE;
    inflight(c, 1);
    lws_rx_flow_control(c->wsi, 0);
    set_timeout(c, WRITE_SECS);
    lws_callback_on_writable(c->wsi);
}

static void respond_error(struct conn *c, const struct codec_error *e, enum sd_endpoint ep,
                          double t_start)
{
    struct sd_response r;
    memset(&r, 0, sizeof r);
    codec_set_error(&r, e);
    respond(c, &r, ep, t_start);
}

static void consume(struct kb_buf *b, size_t n)
{
    if (n >= b->len) {
        kb_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

/* An over-long head: drop bytes up to its end, then answer e and close. */
static void start_discard(struct conn *c, const struct codec_error *e)
{
    c->pending = *e;
    c->close_after = 1;
    c->scan = 0;
    size_t k = codec_scan_head_end(&c->scan, c->in.data, c->in.len);
    c->discarded = c->in.len;
    kb_buf_reset(&c->in);
    if (k) { /* the end was already in the buffer */
        respond_error(c, &c->pending, SD_EP_OTHER, kb_clock_mono());
        return;
    }
    c->st = CS_DISCARD;
    set_timeout(c, DISCARD_SECS);
}

/* Parses what is buffered while in READ: at most one request is started. */
static void process_input(sd_http *h, struct conn *c)
{
    if (c->in.len == 0) {
        set_timeout(c, IDLE_SECS);
        return;
    }
    struct codec_head hd;
    struct codec_error e;
    size_t used = 0;
    int rc = codec_parse_head(c->in.data, c->in.len, &hd, &used, &e);
    if (rc == CODEC_MORE)
        return; /* the HEAD_SECS timeout was set when the head's first bytes came */
    double t0 = kb_clock_mono();
    c->close_after = 0;
    c->keepalive = 0;
    c->head_only = 0;
    if (rc < 0) {
        if (c->in.len >= CODEC_MAX_HEAD && (e.status == 413 || e.status == 414 ||
                                            e.status == 431)) {
            start_discard(c, &e);
            return;
        }
        /* a malformed head: answer and close, the framing is lost */
        c->close_after = 1;
        kb_buf_reset(&c->in);
        respond_error(c, &e, SD_EP_OTHER, t0);
        return;
    }
    struct sd_request req;
    int prc = codec_parse_target(hd.method, hd.method_len, hd.target, hd.target_len, &req, &e);
    c->keepalive = hd.keepalive;
    c->head_only = req.head_only;
    if (hd.has_body)
        c->close_after = 1; /* bodies are not read: the lingering close drops them */
    if (prc == 0 && h->cfg->agent_token && hd.token)
        req.internal = kb_net_token_equal(hd.token, hd.token_len, h->cfg->agent_token);
    if (prc == 0 && req.ep == SD_EP_METRICS &&
        !kb_net_metrics_allowed(&h->cfg->net, &c->peer, hd.token, hd.token_len)) {
        /* metrics_access (kb_net.h): loopback only, a token, or public */
        sd_request_fin(&req);
        prc = -1;
        e.status = 403;
        e.code = "forbidden";
        snprintf(e.message, sizeof e.message, "%s", kb_lws_metrics_forbidden(&h->cfg->net));
    }
    consume(&c->in, used); /* hd's pointers are dead from here */
    if (prc) {
        respond_error(c, &e, req.ep, t0);
        return;
    }
    /* a cached answer is written straight away, with no trip to a worker */
    struct sd_response cached;
    memset(&cached, 0, sizeof cached);
    if (cache_get(h->cache, &req, &cached)) {
        enum sd_endpoint ep = req.ep;
        sd_request_fin(&req);
        respond(c, &cached, ep, t0);
        return;
    }
    struct sd_job *job = kb_xcalloc(1, sizeof *job);
    job->conn = c;
    job->req = req;
    job->t_start = t0;
    inflight(c, 1); /* before the worker can see the job (and render /metrics) */
    if (pool_submit(h->pool, job)) {
        enum sd_endpoint ep = job->req.ep;
        pool_job_free(job);
        struct codec_error busy = {503, "overloaded", "too many requests queued; retry"};
        c->close_after = 1;
        respond_error(c, &busy, ep, t0);
        return;
    }
    c->refs++; /* the job's reference */
    c->st = CS_BUSY;
    lws_rx_flow_control(c->wsi, 0);
    set_timeout(c, 0);
}

/* Called when the answer has been handed to lws completely. */
static void response_done(sd_http *h, struct conn *c)
{
    sd_response_fin(&c->resp);
    free(c->head);
    c->head = NULL;
    c->head_len = c->sent = 0;
    inflight(c, 0);
    if (c->close_after || !c->keepalive) {
        /* lws calls WRITEABLE again only once it has flushed what it holds */
        c->st = CS_CLOSING;
        lws_callback_on_writable(c->wsi);
        return;
    }
    c->st = CS_READ;
    lws_rx_flow_control(c->wsi, 1);
    if (c->in.len)
        set_timeout(c, HEAD_SECS);
    process_input(h, c); /* a pipelined request may be waiting */
}

static int on_writeable(sd_http *h, struct conn *c)
{
    if (c->st == CS_CLOSING) {
        /* everything is out: shut our side and drop input until the client
         * closes (lingering close) */
        shutdown(lws_get_socket_fd(c->wsi), SHUT_WR);
        c->st = CS_DRAIN;
        kb_buf_reset(&c->in);
        lws_rx_flow_control(c->wsi, 1);
        set_timeout(c, LINGER_SECS);
        return 0;
    }
    if (c->st != CS_WRITE)
        return 0;
    size_t body = c->head_only ? 0 : c->resp.len;
    size_t total = c->head_len + body;
    size_t n = 0;
    unsigned char *out = h->wbuf + LWS_PRE;
    while (n < SEND_CHUNK && c->sent + n < total) {
        size_t pos = c->sent + n, take;
        if (pos < c->head_len) {
            take = c->head_len - pos;
            if (take > SEND_CHUNK - n)
                take = SEND_CHUNK - n;
            memcpy(out + n, c->head + pos, take);
        } else {
            size_t bp = pos - c->head_len;
            take = body - bp;
            if (take > SEND_CHUNK - n)
                take = SEND_CHUNK - n;
            memcpy(out + n, c->resp.body + bp, take);
        }
        n += take;
    }
    if (n) {
        int w = lws_write(c->wsi, out, n, LWS_WRITE_RAW);
        if (w < 0 || (size_t)w < n)
            return -1; /* lws closes the connection */
        c->sent += n;
        set_timeout(c, WRITE_SECS);
    }
    if (c->sent < total) {
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    response_done(h, c);
    return 0;
}

static void on_rx(sd_http *h, struct conn *c, const char *in, size_t len)
{
    switch (c->st) {
    case CS_DRAIN:
    case CS_CLOSING:
        return; /* dropped */
    case CS_DISCARD: {
        size_t k = codec_scan_head_end(&c->scan, in, len);
        c->discarded += len;
        if (k || c->discarded >= CODEC_MAX_DISCARD)
            respond_error(c, &c->pending, SD_EP_OTHER, kb_clock_mono());
        return;
    }
    case CS_BUSY:
    case CS_WRITE:
        /* pipelined bytes, read before the pause took effect */
        kb_buf_add(&c->in, in, len);
        return;
    case CS_READ:
        if (c->in.len == 0)
            set_timeout(c, HEAD_SECS);
        kb_buf_add(&c->in, in, len);
        process_input(h, c);
        return;
    }
}

/* The workers finished some jobs: attach each answer to its connection. */
static void collect_done(sd_http *h)
{
    struct sd_job *job = h->pool ? pool_take_done(h->pool) : NULL;
    while (job) {
        struct sd_job *next = job->next;
        struct conn *c = job->conn;
        if (c->wsi && c->st == CS_BUSY) {
            respond(c, &job->resp, job->req.ep, job->t_start);
        } else {
            /* the client went away meanwhile: count the answer, drop it */
            metrics_request(job->req.ep, job->resp.status, kb_clock_mono() - job->t_start);
        }
        conn_release(c);
        pool_job_free(job);
        job = next;
    }
}

/* ---- accepting and the caps ------------------------------------------------- */

/* What the accept loop knows of a connection lws is adopting, handed to
 * LWS_CALLBACK_RAW_ADOPT as the wsi's opaque user data. */
struct adoption {
    struct kb_addr peer;
    enum kb_refusal refused;
    int taken; /* RAW_ADOPT took it over */
};

/* A refused connection: answer 503 too_many_connections (with Retry-After)
 * without waiting for its request, then the lingering close. */
static void refuse(struct conn *c)
{
    struct codec_error e = {503, "too_many_connections", ""};
    switch (c->refused) {
    case KB_REFUSE_PER_ADDRESS:
        snprintf(e.message, sizeof e.message,
                 "too many connections from your address; close some or retry later");
        break;
    case KB_REFUSE_NO_FD:
        snprintf(e.message, sizeof e.message,
                 "the server has no file descriptors left for a connection; retry later");
        break;
    default:
        snprintf(e.message, sizeof e.message, "the server has too many connections; retry later");
        break;
    }
    c->keepalive = 0;
    c->close_after = 1;
    respond_error(c, &e, SD_EP_OTHER, kb_clock_mono());
}

/* kb_lws_ops.adopt: hands fd to lws, which calls RAW_ADOPT with ad. */
static void adopt(void *ud, int fd, const struct kb_addr *peer, enum kb_refusal refused)
{
    sd_http *h = ud;
    struct adoption ad = {*peer, refused, 0};
    struct lws *w = kb_lws_adopt(&h->net, fd, LWS_ADOPT_SOCKET, "searchd-http", &ad);
    if (w && ad.taken)
        return;
    if (w)
        lws_set_opaque_user_data(w, NULL);
    if (!ad.taken) /* lws gave up before RAW_ADOPT (and closed fd) */
        kb_lws_release(&h->net, refused, peer);
}

/* The listening socket, adopted as a raw file descriptor. */
static int listen_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    sd_http *h = lws_context_user(lws_get_context(wsi));
    return kb_lws_listen_event(&h->net, reason);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct pss *pss = user;
    sd_http *h = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT: {
        struct adoption *ad = lws_get_opaque_user_data(wsi);
        if (!pss || !ad)
            return -1;
        lws_set_opaque_user_data(wsi, NULL);
        struct conn *c = kb_xcalloc(1, sizeof *c);
        c->wsi = wsi;
        c->id = ++h->next_id;
        c->refs = 1;
        c->st = CS_READ;
        c->peer = ad->peer;
        c->refused = ad->refused;
        ad->taken = 1; /* from here RAW_CLOSE gives the counts back */
        kb_buf_init(&c->in);
        pss->c = c;
        set_timeout(c, IDLE_SECS);
        kb_debug("conn %llu: open", c->id);
        if (c->refused)
            refuse(c);
        return 0;
    }
    case LWS_CALLBACK_RAW_RX:
        if (!pss || !pss->c)
            return -1;
        on_rx(h, pss->c, in, len);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        if (!pss || !pss->c)
            return 0;
        return on_writeable(h, pss->c);
    case LWS_CALLBACK_RAW_CLOSE:
        if (pss && pss->c) {
            struct conn *c = pss->c;
            kb_debug("conn %llu: closed", c->id);
            pss->c = NULL;
            c->wsi = NULL;
            inflight(c, 0);
            kb_lws_release(&h->net, c->refused, &c->peer);
            conn_release(c);
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        collect_done(h);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"searchd-http", callback, sizeof(struct pss), 0, 0, NULL, 0},
    {"searchd-listen", listen_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void wake(void *ud)
{
    sd_http *h = ud;
    if (h->ctx)
        lws_cancel_service(h->ctx);
}

int http_new(const struct sd_config *cfg, sd_http **out, char *err, size_t errlen)
{
    *out = NULL;
    sd_http *h = kb_xcalloc(1, sizeof *h);
    h->cfg = cfg;
    h->www_root = kb_lws_www_root(cfg->www, "no static files", "GET / gives 404");

    kb_lws_log_setup(cfg->log_level);

    h->net_ops = (struct kb_lws_ops){.ud = h, .adopt = adopt, .limits = metrics_conn_limits,
                                     .conn_open = metrics_conn_open,
                                     .refused = metrics_conn_refused,
                                     .accept_paused = metrics_accept_paused};
    kb_lws_init(&h->net, &h->net_ops, &cfg->net, 16L * cfg->threads);

    h->cache = cache_new((size_t)cfg->cache_mb * 1024 * 1024);

    /* the workers first: a missing index fails before anything listens */
    if (pool_new(cfg, h->www_root, h->cache, wake, h, &h->pool, err, errlen)) {
        http_free(h);
        return -1;
    }

    /* the listening socket is ours (see the top of the file) */
    if (kb_lws_listen(&h->net, cfg->host, cfg->port, err, errlen)) {
        http_free(h);
        return -1;
    }

    /* the caps count the descriptors left now that the index, the workers
     * and lws hold theirs */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.protocols = protocols;
    info.vhost_name = "searchd";
    int rc = kb_lws_start(&h->net, h, 32 * 1024 /* bytes per read */, &info, "searchd-listen",
                          &cfg->net, err, errlen);
    h->ctx = h->net.ctx;
    h->vh = h->net.vh;
    if (rc) {
        http_free(h);
        return -1;
    }
    *out = h;
    return 0;
}

struct kb_lws *http_net(sd_http *h)
{
    return &h->net;
}

void http_free(sd_http *h)
{
    if (!h)
        return;
    if (h->pool) {
        /* workers finish the job in hand and stop; their jobs' references
         * to connections are dropped here, on the service thread */
        struct sd_job *left = pool_stop(h->pool);
        while (left) {
            struct sd_job *next = left->next;
            conn_release(left->conn);
            pool_job_free(left);
            left = next;
        }
    }
    kb_lws_fin(&h->net); /* RAW_CLOSE for every connection */
    h->ctx = NULL;
    pool_free(h->pool);
    cache_free(h->cache);
    free(h->www_root);
    free(h);
}
