/* apihttp: the JSON API's HTTP transport on libwebsockets (see apihttp.h).
 *
 * A connection goes IDLE -> (BODY: reading the body) -> WORKING (a job at
 * the workers) -> HEAD -> DATA (writing) -> IDLE, or skips WORKING when the
 * answer is known on the service thread (routing, size, parse errors). The
 * header values are copied out of lws when the request arrives, so nothing
 * depends on lws keeping its header table while the body is read. */
#include "apihttp.h"
#include "kb_log.h"
#include "kb_util.h"
#include "router.h"

#include <stdlib.h>
#include <string.h>

/* body bytes written per LWS_CALLBACK_HTTP_WRITEABLE */
#define APIHTTP_CHUNK (16 * 1024)

enum conn_state { ST_IDLE, ST_BODY, ST_WORKING, ST_HEAD, ST_DATA };

struct apihttp_conn {
    struct lws *wsi;        /* NULL once lws let go of the connection */
    enum conn_state state;
    int busy;               /* a job of it is at the workers */
    /* the request as read */
    enum api_method method;
    int head;               /* a HEAD request (405, answered without a body) */
    char path[API_PATH_MAX + 2];
    char args[API_ARGS_MAX][API_HEADER_MAX * 2];
    int nargs;
    char authorization[API_HEADER_MAX + 2], content_type[API_HEADER_MAX + 2];
    char if_match[API_HEADER_MAX + 2], idempotency_key[API_HEADER_MAX + 2];
    int has_authorization, has_content_type, has_if_match, has_idempotency_key;
    char peer[API_PEER_MAX];
    int header_too_long;
    long long content_length;
    struct kb_buf body;     /* at most body_max bytes kept */
    /* an upload route (attachments): its body is a file of up to
     * ops->upload_max bytes, named by X-Filename */
    int upload;
    size_t body_max;        /* API_BODY_MAX, or ops->upload_max for an upload */
    char filename[API_HEADER_MAX * 2 + 2];
    int has_filename;
    struct api_response early; /* an answer decided before the body was read */
    int has_early;
    /* the answer being written */
    struct api_response resp;
    size_t off;
    int close_after;        /* close instead of keeping the connection */
};

static void conn_reset(struct apihttp_conn *c)
{
    struct lws *wsi = c->wsi;
    int busy = c->busy;
    kb_buf_fin(&c->body);
    api_response_fin(&c->early);
    api_response_fin(&c->resp);
    memset(c, 0, sizeof *c);
    c->wsi = wsi;
    c->busy = busy;
    kb_buf_init(&c->body);
}

static void conn_free(struct apihttp_conn *c)
{
    kb_buf_fin(&c->body);
    api_response_fin(&c->early);
    api_response_fin(&c->resp);
    free(c);
}

/* ---- writing ------------------------------------------------------------------ */

/* Starts writing resp (taken over) on c. */
static void respond(struct apihttp_conn *c, struct api_response *resp)
{
    api_response_fin(&c->resp);
    c->resp = *resp;
    memset(resp, 0, sizeof *resp);
    c->off = 0;
    c->state = ST_HEAD;
    lws_callback_on_writable(c->wsi);
}

static void respond_error(struct apihttp_conn *c, int status, const char *code,
                          const char *message)
{
    struct api_response r = {0};
    api_response_error(&r, status, code, message);
    respond(c, &r);
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int add_retry_after(struct lws *wsi, int seconds, unsigned char **p, unsigned char *end)
{
    char v[16];
    snprintf(v, sizeof v, "%d", seconds);
    return add_header(wsi, "retry-after:", v, p, end);
}

/* The transaction is written: keep the connection for the next request or
 * close it. Returns the callback's return value. */
static int finish(struct apihttp_conn *c)
{
    int close = c->close_after;
    conn_reset(c);
    if (close)
        return -1;
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

static int on_writeable(struct apihttp_conn *c)
{
    struct lws *wsi = c->wsi;
    if (c->state == ST_HEAD) {
        unsigned char buf[LWS_PRE + 2048];
        unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
        if (c->head) /* HEAD: no body may follow the head */
            c->resp.len = 0;
        char disposition[96];
        snprintf(disposition, sizeof disposition, "%s; filename=\"%s\"",
                 c->resp.inline_file ? "inline" : "attachment", c->resp.filename);
        if (lws_add_http_common_headers(wsi, (unsigned)c->resp.status,
                                        c->resp.content_type ? c->resp.content_type
                                                             : "application/json; charset=utf-8",
                                        (lws_filepos_t)c->resp.len, &p, end) ||
            (c->resp.filename[0] &&
             add_header(wsi, "content-disposition:", disposition, &p, end)) ||
            add_header(wsi, "cache-control:", "no-store", &p, end) ||
            (c->resp.allow[0] && add_header(wsi, "allow:", c->resp.allow, &p, end)) ||
            (c->resp.bearer_challenge &&
             add_header(wsi, "www-authenticate:", "Bearer realm=\"chatdesk\"", &p, end)) ||
            (c->resp.retry_after > 0 && add_retry_after(wsi, c->resp.retry_after, &p, end)) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        if (!c->resp.len)
            return finish(c);
        c->state = ST_DATA;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->state == ST_DATA) {
        unsigned char buf[LWS_PRE + APIHTTP_CHUNK];
        size_t n = c->resp.len - c->off;
        if (n > APIHTTP_CHUNK)
            n = APIHTTP_CHUNK;
        int last = c->off + n == c->resp.len;
        memcpy(buf + LWS_PRE, c->resp.body + c->off, n);
        if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
            (int)n)
            return -1;
        c->off += n;
        if (last)
            return finish(c);
        lws_callback_on_writable(wsi);
    }
    return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static const struct {
    enum lws_token_indexes token;
    enum api_method method;
} methods[] = {
    {WSI_TOKEN_GET_URI, API_M_GET},       {WSI_TOKEN_POST_URI, API_M_POST},
    {WSI_TOKEN_PUT_URI, API_M_PUT},       {WSI_TOKEN_PATCH_URI, API_M_PATCH},
    {WSI_TOKEN_DELETE_URI, API_M_DELETE}, {WSI_TOKEN_OPTIONS_URI, API_M_OPTIONS},
    {WSI_TOKEN_HEAD_URI, API_M_NONE},
};

/* Copies header tok, or the custom header named custom ("x-y:") when not
 * NULL, into dst (size bytes): sets *has when the request has it, and
 * header_too_long when its value does not fit. */
static void copy_header(struct apihttp_conn *c, enum lws_token_indexes tok, const char *custom,
                        char *dst, int size, int *has)
{
    int n = custom ? lws_hdr_custom_length(c->wsi, custom, (int)strlen(custom))
                   : lws_hdr_total_length(c->wsi, tok);
    if (n < 0 || (n == 0 && !custom))
        return;
    *has = 1;
    if (n >= size - 1) {
        c->header_too_long = 1;
        return;
    }
    int got = custom ? lws_hdr_custom_copy(c->wsi, dst, size, custom, (int)strlen(custom))
                     : lws_hdr_copy(c->wsi, dst, size, tok);
    if (got < 0)
        c->header_too_long = 1;
}

static void read_head(struct apihttp_conn *c)
{
    struct lws *wsi = c->wsi;
    c->method = API_M_NONE;
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        int n = lws_hdr_total_length(wsi, methods[i].token);
        if (n > 0) {
            c->method = methods[i].method;
            c->head = methods[i].token == WSI_TOKEN_HEAD_URI;
            if (n > API_PATH_MAX || lws_hdr_copy(wsi, c->path, sizeof c->path,
                                                 methods[i].token) < 0)
                c->header_too_long = 1;
            break;
        }
    }
    for (int i = 0; i < API_ARGS_MAX; i++) {
        int n = lws_hdr_copy_fragment(wsi, c->args[c->nargs], (int)sizeof c->args[0],
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0) {
            if (lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) > 0)
                c->header_too_long = 1;
            break;
        }
        c->nargs++;
    }
    copy_header(c, WSI_TOKEN_HTTP_AUTHORIZATION, NULL, c->authorization,
                (int)sizeof c->authorization, &c->has_authorization);
    copy_header(c, WSI_TOKEN_HTTP_CONTENT_TYPE, NULL, c->content_type,
                (int)sizeof c->content_type, &c->has_content_type);
    copy_header(c, WSI_TOKEN_HTTP_IF_MATCH, NULL, c->if_match, (int)sizeof c->if_match,
                &c->has_if_match);
    copy_header(c, WSI_TOKEN_COUNT, "idempotency-key:", c->idempotency_key,
                (int)sizeof c->idempotency_key, &c->has_idempotency_key);
    copy_header(c, WSI_TOKEN_COUNT, "x-filename:", c->filename, (int)sizeof c->filename,
                &c->has_filename);
    const char *peer = lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
    if (!peer)
        c->peer[0] = '\0';
    char cl[32];
    c->content_length = 0;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
        lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        c->content_length = strtoll(cl, NULL, 10);
}

/* Routes and parses the request read so far and hands it to the workers,
 * or answers it. */
static void dispatch(const struct apihttp_ops *ops, struct apihttp_conn *c)
{
    if (c->has_early) {
        c->has_early = 0;
        respond(c, &c->early);
        return;
    }
    struct httpreq_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.method = c->method;
    raw.path = c->path;
    for (int i = 0; i < c->nargs; i++)
        raw.args[raw.nargs++] = c->args[i];
    raw.authorization = c->has_authorization ? c->authorization : NULL;
    raw.content_type = c->has_content_type ? c->content_type : NULL;
    raw.if_match = c->has_if_match ? c->if_match : NULL;
    raw.idempotency_key = c->has_idempotency_key ? c->idempotency_key : NULL;
    raw.peer = c->peer;
    raw.header_too_long = c->header_too_long;
    raw.body = c->body.data;
    raw.body_len = c->body.len;
    raw.raw_body = c->upload;
    raw.raw_max = c->body_max;
    raw.filename = c->has_filename ? c->filename : NULL;

    struct api_call *call = kb_xcalloc(1, sizeof *call);
    struct api_response err = {0};
    if (httpreq_parse(&raw, &call->req, &err)) {
        api_call_free(call);
        respond(c, &err);
        return;
    }
    char allow[64];
    if (router_match(&call->req, allow, sizeof allow) != 200) { /* routed before: a bug */
        api_call_free(call);
        respond_error(c, 404, "not_found", "no such endpoint");
        return;
    }
    int wait = call->req.route->login && ops->login_wait ? ops->login_wait(ops->ud, c->peer) : 0;
    if (wait > 0) {
        api_call_free(call);
        struct api_response r = {0};
        api_response_error(&r, 429, "too_many_attempts",
                           "too many wrong passwords from this address: wait and retry");
        r.retry_after = wait;
        respond(c, &r);
        return;
    }
    struct desk_job *job = pool_job_new();
    job->conn = c;
    job->api = call;
    if (ops->submit(ops->ud, job)) {
        pool_job_free(job);
        respond_error(c, 503, "overloaded", "the server is busy: retry shortly");
        return;
    }
    kb_debug("api %s %s from %s", httpreq_method_name(call->req.method), call->req.path,
             c->peer);
    c->busy = 1;
    c->state = ST_WORKING;
}

/* LWS_CALLBACK_HTTP: a new request's head has arrived. */
static int on_request(const struct apihttp_ops *ops, struct apihttp_conn *c)
{
    conn_reset(c);
    read_head(c);
    struct api_request probe;
    memset(&probe, 0, sizeof probe);
    probe.method = c->method;
    probe.path = c->path;
    char allow[64];
    int status = router_match(&probe, allow, sizeof allow);
    c->body_max = API_BODY_MAX;
    long long drain_max = API_BODY_DRAIN_MAX;
    if (status == 200 && router_is_upload(probe.route) && ops->upload_max > 0) {
        /* a file: up to upload_max kept; a larger one is read and dropped
         * up to a few times that, so the client gets its 413 */
        c->upload = 1;
        c->body_max = ops->upload_max;
        drain_max = (long long)ops->upload_max * 4 + API_BODY_DRAIN_MAX;
    }
    char too_large[128];
    snprintf(too_large, sizeof too_large,
             c->upload ? "the file is larger than the limit of %zu bytes"
                       : "the body is larger than %zu bytes",
             c->body_max);
    if (lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 &&
        c->content_length == 0) {
        /* a chunked body: not taken; its bytes cannot be skipped safely */
        api_response_error(&c->early, 411, "length_required", "send the body with Content-Length");
        c->close_after = 1;
        c->has_early = 1;
        c->content_length = 0;
    } else if (c->content_length < 0) {
        api_response_error(&c->early, 400, "bad_header", "Content-Length is negative");
        c->close_after = 1;
        c->has_early = 1;
        c->content_length = 0;
    } else if (c->content_length > drain_max) {
        api_response_error(&c->early, 413, "too_large", too_large);
        c->close_after = 1; /* its bytes are not read */
        c->has_early = 1;
        c->content_length = 0;
    } else if (status == 404) {
        api_response_error(&c->early, 404, "not_found", "no such endpoint");
        c->has_early = 1;
    } else if (status == 405) {
        char msg[128];
        snprintf(msg, sizeof msg, "this endpoint takes %s", allow);
        api_response_error(&c->early, 405, "method_not_allowed", msg);
        snprintf(c->early.allow, sizeof c->early.allow, "%s", allow);
        c->has_early = 1;
    } else if (c->content_length > (long long)c->body_max) {
        api_response_error(&c->early, 413, "too_large", too_large);
        c->has_early = 1;
    }
    if (c->content_length > 0) {
        c->state = ST_BODY; /* the answer after the body, read or dropped */
        return 0;
    }
    dispatch(ops, c);
    return 0;
}

static void on_body(struct apihttp_conn *c, const void *in, size_t len)
{
    if (!c->has_early && c->body.len + len <= c->body_max)
        kb_buf_add(&c->body, in, len);
}

/* lws let go of the connection (closed, or bound to another protocol). */
static void detach(struct apihttp_pss *pss)
{
    struct apihttp_conn *c = pss->c;
    if (!c)
        return;
    pss->c = NULL;
    c->wsi = NULL;
    if (!c->busy)
        conn_free(c);
}

int apihttp_callback(const struct apihttp_ops *ops, struct lws *wsi,
                     enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct apihttp_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!pss)
            return -1;
        if (!pss->c) {
            pss->c = kb_xcalloc(1, sizeof *pss->c);
            kb_buf_init(&pss->c->body);
        }
        pss->c->wsi = wsi;
        if (pss->c->busy)
            return -1; /* a request while one is at the workers: lws does not do that */
        return on_request(ops, pss->c);
    case LWS_CALLBACK_HTTP_BODY:
        /* a body the answer did not wait for (413 at once) is ignored until
         * the connection closes */
        if (pss && pss->c && pss->c->state == ST_BODY)
            on_body(pss->c, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss && pss->c && pss->c->state == ST_BODY)
            dispatch(ops, pss->c);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!pss || !pss->c)
            return 0;
        return on_writeable(pss->c);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss)
            detach(pss);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

void apihttp_done(const struct apihttp_ops *ops, struct desk_job *job)
{
    struct apihttp_conn *c = job->conn;
    if (job->api->resp.login && ops->login_result)
        ops->login_result(ops->ud, c->peer, job->api->resp.login);
    c->busy = 0;
    if (!c->wsi) {
        kb_debug("api %s: the client left before its answer", job->api->req.route->name);
        conn_free(c);
    } else {
        if (c->state == ST_WORKING)
            respond(c, &job->api->resp);
    }
    pool_job_free(job);
}

void apihttp_drop(struct desk_job *job)
{
    struct apihttp_conn *c = job->conn;
    c->busy = 0;
    if (!c->wsi)
        conn_free(c);
    pool_job_free(job);
}
