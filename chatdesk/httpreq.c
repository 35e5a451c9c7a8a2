/* httpreq: the API's request and response codec (see httpreq.h). Checks
 * run in the order a client would fix them: header sizes, the body's size,
 * its media type, then its JSON. The body is parsed with Jansson, which
 * refuses invalid UTF-8; duplicate keys and trailing bytes are refused too,
 * so a body means one thing only. */
#include "httpreq.h"
#include "kb_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const method_names[API_M_COUNT] = {
    [API_M_NONE] = "",         [API_M_GET] = "GET",     [API_M_POST] = "POST",
    [API_M_PUT] = "PUT",       [API_M_PATCH] = "PATCH", [API_M_DELETE] = "DELETE",
    [API_M_OPTIONS] = "OPTIONS",
};

const char *httpreq_method_name(enum api_method m)
{
    if ((int)m < 0 || m >= API_M_COUNT)
        return "";
    return method_names[m];
}

const char *httpreq_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
    }
}

void api_response_fin(struct api_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

void api_response_json(struct api_response *resp, int status, json_t *o)
{
    api_response_fin(resp);
    resp->status = status;
    if (o) {
        resp->body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!resp->body)
            abort(); /* out of memory, or o was not serialisable: a bug */
        resp->len = strlen(resp->body);
    }
}

void api_response_file(struct api_response *resp, char *body, size_t len,
                       const char *content_type, const char *filename)
{
    api_response_fin(resp);
    resp->status = 200;
    resp->body = body;
    resp->len = len;
    resp->content_type = content_type;
    if (filename)
        snprintf(resp->filename, sizeof resp->filename, "%s", filename);
}

void api_response_error(struct api_response *resp, int status, const char *code,
                        const char *message)
{
    json_t *o = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    if (!o) /* message not UTF-8: should not happen, all are ours */
        o = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", code);
    api_response_json(resp, status, o);
    resp->bearer_challenge = status == 401;
}

/* ASCII-case-insensitive prefix test; returns the rest of s or NULL. */
static const char *skip_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

int httpreq_is_json_type(const char *ct)
{
    if (!ct)
        return 0;
    const char *p = skip_prefix(ct, "application/json");
    if (!p)
        return 0;
    p += strspn(p, " \t");
    if (!*p)
        return 1;
    if (*p != ';')
        return 0;
    p++;
    p += strspn(p, " \t");
    const char *v = skip_prefix(p, "charset=");
    if (!v)
        return 0;
    if (*v == '"') {
        if (!(v = skip_prefix(v + 1, "utf-8")) || *v != '"')
            return 0;
        v++;
    } else if (!(v = skip_prefix(v, "utf-8"))) {
        return 0;
    }
    v += strspn(v, " \t");
    return *v == '\0';
}

int httpreq_bearer(const char *authorization, char out[AUTH_TOKEN_LEN + 1])
{
    out[0] = '\0';
    if (!authorization)
        return -1;
    const char *p = skip_prefix(authorization, "bearer ");
    if (!p)
        return -1;
    p += strspn(p, " ");
    size_t n = strcspn(p, " \t");
    if (n != AUTH_TOKEN_LEN || p[n + strspn(p + n, " \t")] != '\0')
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        if (!ok)
            return -1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

void api_request_fin(struct api_request *req)
{
    if (!req)
        return;
    free(req->path);
    for (int i = 0; i < req->nargs; i++)
        free(req->args[i]);
    free(req->if_match);
    free(req->idempotency_key);
    json_decref(req->body);
    free(req->raw);
    free(req->content_type);
    free(req->filename);
    memset(req, 0, sizeof *req);
}

const char *api_request_arg(const struct api_request *req, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < req->nargs; i++)
        if (strncmp(req->args[i], name, n) == 0 && req->args[i][n] == '=')
            return req->args[i] + n + 1;
    return NULL;
}

int httpreq_parse(const struct httpreq_raw *raw, struct api_request *req,
                  struct api_response *err)
{
    memset(req, 0, sizeof *req);
    memset(err, 0, sizeof *err);
    req->method = raw->method;
    req->path = kb_xstrdup(raw->path ? raw->path : "");
    for (int i = 0; i < raw->nargs && i < API_ARGS_MAX; i++)
        req->args[req->nargs++] = kb_xstrdup(raw->args[i]);
    if (raw->peer)
        snprintf(req->peer, sizeof req->peer, "%s", raw->peer);
    if (raw->header_too_long || (raw->path && strlen(raw->path) > API_PATH_MAX)) {
        api_response_error(err, 400, "bad_header", "a header or the path is too long");
        goto fail;
    }
    if (raw->authorization) {
        req->has_auth = 1;
        httpreq_bearer(raw->authorization, req->token);
    }
    if (raw->if_match)
        req->if_match = kb_xstrdup(raw->if_match);
    if (raw->idempotency_key)
        req->idempotency_key = kb_xstrdup(raw->idempotency_key);
    if (raw->raw_body) { /* an upload: bytes of any type */
        if (raw->body_len > raw->raw_max) {
            char msg[128];
            snprintf(msg, sizeof msg, "the file is larger than the limit of %zu bytes",
                     raw->raw_max);
            api_response_error(err, 413, "too_large", msg);
            goto fail;
        }
        if (raw->body && raw->body_len > 0) {
            req->raw = kb_xmalloc(raw->body_len);
            memcpy(req->raw, raw->body, raw->body_len);
            req->raw_len = raw->body_len;
        }
        if (raw->content_type)
            req->content_type = kb_xstrdup(raw->content_type);
        if (raw->filename)
            req->filename = kb_xstrdup(raw->filename);
        return 0;
    }
    if (raw->body && raw->body_len > 0) {
        if (raw->body_len > API_BODY_MAX) {
            char msg[96];
            snprintf(msg, sizeof msg, "the body is larger than %d bytes", API_BODY_MAX);
            api_response_error(err, 413, "too_large", msg);
            goto fail;
        }
        if (!httpreq_is_json_type(raw->content_type)) {
            api_response_error(err, 415, "unsupported_media_type",
                               "send the body as Content-Type: application/json");
            goto fail;
        }
        json_error_t je;
        json_t *o = json_loadb(raw->body, raw->body_len, JSON_REJECT_DUPLICATES, &je);
        if (!o) {
            char msg[200];
            snprintf(msg, sizeof msg, "the body is not valid JSON: %s (at byte %d)", je.text,
                     je.position);
            api_response_error(err, 400, "bad_json", msg);
            goto fail;
        }
        if (!json_is_object(o)) {
            json_decref(o);
            api_response_error(err, 400, "bad_json", "the body must be a JSON object");
            goto fail;
        }
        req->body = o;
    }
    return 0;
fail:
    api_request_fin(req);
    return -1;
}
