/* ws: the libwebsockets transport of chatdesk (see ws.h).
 *
 * Ownership: a struct ws_conn lives from LWS_CALLBACK_ESTABLISHED to
 * LWS_CALLBACK_CLOSED. The hub's connection (hc) may outlive it while a job
 * for it is at a worker: hub_closed tells the hub that the transport handle
 * is gone, so late answers are dropped instead of touching a freed wsi. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "ws.h"
#include "hub.h"
#include "kb_log.h"
#include "pool.h"
#include "kb_util.h"

#include <libwebsockets.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define WS_PROTOCOL "kbdesk"
#define WS_PATH "/ws"
/* longest Origin / Host header considered (a longer one is refused) */
#define WS_ORIGIN_MAX 512

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
    int dead;            /* too much queued: being closed */
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
    char *www_root;
    int port;
    /* the origins of the pages as served, "http://127.0.0.1:8081,..." (NULL
     * when listening on every address: then the request's Host decides) */
    char *own_origins;
    lws_sorted_usec_list_t sul_maint;
    struct lws_http_mount mount;
    struct lws_protocol_vhost_options pvo, pvo_default;
    lws_retry_bo_t retry;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- writing ----------------------------------------------------------------- */

/* hub_ops.send: queues a copy of json for c. */
static void ws_send(void *t, const char *json, size_t len)
{
    struct ws_conn *c = t;
    if (c->dead)
        return;
    if (c->w_bytes + len > WS_MAX_QUEUED) {
        kb_warn("closing a connection that does not read its answers");
        c->dead = 1;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
        return;
    }
    struct out_frame *f = kb_xmalloc(sizeof *f + LWS_PRE + len);
    f->next = NULL;
    f->len = len;
    memcpy(f->buf + LWS_PRE, json, len);
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

static void on_receive(cd_server *s, struct ws_conn *c, const void *in, size_t len)
{
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
        hub_done(s->hub, job);
        job = next;
    }
}

/* The pages. lws 4.1 hands a request its file mount cannot serve (a
 * missing file) to this callback as LWS_CALLBACK_HTTP and would otherwise
 * leave the client without an answer: reply 404. */
static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                         void *in, size_t len)
{
    if (reason == LWS_CALLBACK_HTTP) {
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
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
        struct ws_conn *c = kb_xcalloc(1, sizeof *c);
        c->wsi = wsi;
        kb_buf_init(&c->rx);
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
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!pss || !pss->c)
            return 0;
        return on_writeable(pss->c);
    case LWS_CALLBACK_CLOSED:
        if (pss && pss->c) {
            struct ws_conn *c = pss->c;
            pss->c = NULL;
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

static const struct lws_protocols protocols[] = {
    {"http", http_callback, 0, 0, 0, NULL, 0},
    {WS_PROTOCOL, callback, sizeof(struct pss), 16 * 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_logger(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    enum kb_log_level l = level == LLL_ERR    ? KB_LOG_ERROR
                          : level == LLL_WARN ? KB_LOG_WARN
                                              : KB_LOG_DEBUG;
    KB_LOG(l, "lws: %.*s", (int)n, line);
}

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
    return pool_submit(s->pool, job);
}

static void maintain(lws_sorted_usec_list_t *sul)
{
    cd_server *s = lws_container_of(sul, cd_server, sul_maint);
    hub_maintain(s->hub);
    lws_sul_schedule(s->ctx, 0, &s->sul_maint, maintain,
                     (lws_usec_t)s->cfg->maintenance_interval * LWS_US_PER_SEC);
}

int cd_server_new(const struct cd_config *cfg, cd_server **out, char *err, size_t errlen)
{
    *out = NULL;
    cd_server *s = kb_xcalloc(1, sizeof *s);
    s->cfg = cfg;
    char real[PATH_MAX];
    if (cfg->www && realpath(cfg->www, real))
        s->www_root = kb_xstrdup(real);
    else
        kb_warn("no pages: %s is not there (only /ws is served)", cfg->www);

    int lws_levels = LLL_ERR | LLL_WARN;
    if (cfg->log_level >= KB_LOG_DEBUG)
        lws_levels |= LLL_NOTICE;
    lws_set_log_level(lws_levels, lws_logger);

    struct hub_ops ops = {ws_send, submit, s, mono};
    struct hub_limits lim = {.max_frame = cfg->max_frame, .rate = cfg->rate, .burst = cfg->burst};
    lim.hello_per_minute = cfg->hello_per_minute;
    lim.hello_burst = cfg->hello_burst;
    lim.login_free = cfg->login_address_free;
    lim.login_max_delay = cfg->login_address_max_delay;
    lim.login_forget = cfg->desk.login_lockout;
    s->hub = hub_new(&ops, &lim);

    /* the workers first: a missing index or database fails before anything
     * listens */
    if (pool_new(cfg, wake, s, &s->pool, err, errlen)) {
        cd_server_free(s);
        return -1;
    }

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.user = s;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        kb_seterr(err, errlen, "cannot create the libwebsockets context");
        cd_server_free(s);
        return -1;
    }

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
    s->retry.secs_since_valid_ping = 30;
    s->retry.secs_since_valid_hangup = 60;

    memset(&info, 0, sizeof info);
    info.protocols = protocols;
    info.pvo = &s->pvo;
    info.mounts = s->www_root ? &s->mount : NULL;
    info.port = cfg->port; /* 0: the kernel picks */
    int all = strcmp(cfg->host, "0.0.0.0") == 0;
    info.iface = all ? NULL : cfg->host;
    info.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    if (!strchr(cfg->host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.vhost_name = "chatdesk";
    info.retry_and_idle_policy = &s->retry;
    info.keepalive_timeout = 30;
    s->vh = lws_create_vhost(s->ctx, &info);
    if (!s->vh) {
        kb_seterr(err, errlen, "cannot listen on %s:%d (address in use?)", cfg->host,
                  cfg->port);
        cd_server_free(s);
        return -1;
    }
    s->port = lws_get_vhost_listen_port(s->vh);
    if (s->port <= 0) {
        kb_seterr(err, errlen, "cannot listen on %s:%d", cfg->host, cfg->port);
        cd_server_free(s);
        return -1;
    }
    s->own_origins = own_origins(cfg->host, s->port);
    /* maintenance once at start-up, then every interval */
    lws_sul_schedule(s->ctx, 0, &s->sul_maint, maintain, 1);
    *out = s;
    return 0;
}

int cd_server_port(const cd_server *s)
{
    return s->port;
}

int cd_server_service(cd_server *s)
{
    return lws_service(s->ctx, 0) < 0 ? -1 : 0;
}

void cd_server_wake(cd_server *s)
{
    if (s && s->ctx)
        lws_cancel_service(s->ctx);
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
            hub_drop(s->hub, left);
            left = next;
        }
    }
    if (s->ctx) {
        lws_sul_cancel(&s->sul_maint);
        struct lws_context *ctx = s->ctx;
        lws_context_destroy(ctx); /* LWS_CALLBACK_CLOSED for every connection */
        s->ctx = NULL;
    }
    pool_free(s->pool);
    hub_free(s->hub);
    free(s->www_root);
    free(s->own_origins);
    free(s);
}
