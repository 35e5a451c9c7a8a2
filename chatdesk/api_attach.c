/* api_attach: attachments in chatdesk's JSON API (see api.h). An upload
 * (POST /api/v1/attachments, the file as the body, its name in
 * X-Filename) is judged by its content (attach.h), written once per
 * content under desk_config.attach_dir and recorded unattached
 * (store_attach.h); it is then attached to a chat message (the message and
 * reply frames' "attachments") or to a ticket (POST
 * /api/v1/tickets/{number}/attachments). GET /api/v1/attachments/{id}
 * serves the bytes to whoever may see what it is attached to, with its
 * detected type, Content-Disposition inline for images and attachment for
 * everything else, and an audit row per read; anyone else gets 404, as for
 * an id that does not exist. */
#include "api.h"
#include "attach.h"
#include "kb_log.h"
#include "kb_utf8.h"
#include "kb_util.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

/* Percent-decodes s into out (outlen bytes). Returns 0, or -1 for a bad
 * escape or a result that does not fit. */
static int pct_decode(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%') {
            unsigned v = 0;
            for (int k = 1; k <= 2; k++) {
                char h = p[k];
                v <<= 4;
                if (h >= '0' && h <= '9')
                    v |= (unsigned)(h - '0');
                else if (h >= 'a' && h <= 'f')
                    v |= (unsigned)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F')
                    v |= (unsigned)(h - 'A' + 10);
                else
                    return -1;
            }
            c = (unsigned char)v;
            p += 2;
        }
        if (n + 1 >= outlen)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* The name of the upload: X-Filename decoded, its folder part dropped;
 * "file" when none. Returns 0 or -1 (answered 400). */
static int upload_name(struct api_ctx *ctx, char *name, size_t len)
{
    const char *h = ctx->req->filename;
    if (!h || !*h) {
        snprintf(name, len, "file");
        return 0;
    }
    char buf[1024];
    if (pct_decode(h, buf, sizeof buf) || kb_utf8_check(buf, strlen(buf), 0, NULL)) {
        api_response_error(ctx->resp, 400, "bad_header",
                           "X-Filename must be the file's name in percent-encoded UTF-8");
        return -1;
    }
    const char *base = buf;
    for (const char *p = buf; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t n = 0;
    for (const char *p = base; *p && n + 1 < len; p++)
        name[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '_' : *p;
    name[n] = '\0';
    /* at most 200 characters, cut on a character boundary */
    size_t chars = 0, i = 0;
    while (name[i] && chars < 200) {
        i++;
        while (((unsigned char)name[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    name[i] = '\0';
    if (!*name)
        snprintf(name, len, "file");
    return 0;
}

/* After a store call that left attachment id in place (rc 0): the
 * attachment as the viewer sees it (JSON, the caller's). On a failure of
 * that call (rc) or of reading it back, answers it and returns NULL. */
static json_t *stored_attachment(struct api_ctx *ctx, int rc, int64_t id)
{
    struct store_attachment a;
    if (rc == 0)
        rc = store_attach_get(desk_store(ctx->d), id, ctx->who->person_id, &a);
    if (rc) {
        api_store_failed(ctx, rc);
        return NULL;
    }
    return attach_json(&a);
}

void api_attachments_upload(struct api_ctx *ctx)
{
    const struct api_request *req = ctx->req;
    if (!ctx->who->person_id) {
        api_response_error(ctx->resp, 403, "forbidden", "send a chat message first");
        return;
    }
    if (!ctx->cfg->attach_dir) {
        api_response_error(ctx->resp, 503, "attachments_off", "attachments are not enabled");
        return;
    }
    if (!req->raw || req->raw_len == 0) {
        api_response_error(ctx->resp, 400, "empty", "send the file as the request body");
        return;
    }
    if (req->raw_len > (size_t)ctx->cfg->attach_max) { /* the transport checked already */
        char msg[128];
        snprintf(msg, sizeof msg, "the file is larger than the limit of %d bytes",
                 ctx->cfg->attach_max);
        api_response_error(ctx->resp, 413, "too_large", msg);
        return;
    }
    char name[STORE_ATTACH_NAME_MAX * 4 + 1];
    if (upload_name(ctx, name, sizeof name))
        return;
    struct attach_kind kind;
    if (attach_detect((const unsigned char *)req->raw, req->raw_len, name, &kind)) {
        api_response_error(ctx->resp, 415, "type_not_allowed", kind.why);
        return;
    }
    char hex[65], err[512];
    attach_sha256(req->raw, req->raw_len, hex);
    int existed = 0;
    if (attach_write(ctx->cfg->attach_dir, hex, req->raw, req->raw_len, &existed, err,
                     sizeof err)) {
        kb_err("attachment %s: %s", hex, err);
        api_response_error(ctx->resp, 500, "internal", "the file could not be stored");
        return;
    }
    int64_t id = 0;
    int rc = store_attach_add(desk_store(ctx->d), ctx->who->person_id, hex,
                              (int64_t)req->raw_len, kind.type, name, &id);
    json_t *o = stored_attachment(ctx, rc, id);
    if (!o)
        return;
    json_object_set_new(o, "deduplicated", json_boolean(existed));
    api_response_json(ctx->resp, 201, o);
}

/* The {id} parameter as a positive integer, or 0 (answered 404). */
static int64_t id_param(struct api_ctx *ctx)
{
    char *end = NULL;
    long long v = strtoll(ctx->req->params[0], &end, 10);
    if (!end || *end || v <= 0) {
        api_response_error(ctx->resp, 404, "not_found", "no such attachment");
        return 0;
    }
    return (int64_t)v;
}

void api_attachments_get(struct api_ctx *ctx)
{
    int64_t id = id_param(ctx);
    if (!id)
        return;
    struct store_attachment a;
    int rc = store_attach_get(desk_store(ctx->d), id, ctx->who->person_id, &a);
    if (rc == STORE_ENOTFOUND || rc == STORE_EFORBIDDEN) {
        api_response_error(ctx->resp, 404, "not_found", "no such attachment");
        return;
    }
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    char *data = NULL, err[512];
    if (!ctx->cfg->attach_dir ||
        attach_read(ctx->cfg->attach_dir, a.sha256, a.size, &data, err, sizeof err)) {
        kb_err("attachment %lld: %s", (long long)a.id,
                 ctx->cfg->attach_dir ? err : "no attach_dir");
        api_response_error(ctx->resp, 500, "internal", "the file could not be read");
        return;
    }
    char oid[24];
    snprintf(oid, sizeof oid, "%lld", (long long)a.id);
    json_t *detail = json_pack("{s:s, s:s}", "sha256", a.sha256, "name", a.name);
    if (a.ticket[0])
        json_object_set_new(detail, "ticket", json_string(a.ticket));
    api_audit(ctx, "read", "attachment", oid, detail);
    json_decref(detail);
    /* the type is one of attach_detect's static strings */
    struct attach_kind kind;
    attach_detect((const unsigned char *)data, (size_t)a.size, a.name, &kind);
    char safe[60];
    attach_safe_name(a.name, safe, sizeof safe);
    api_response_file(ctx->resp, data, (size_t)a.size,
                      kind.type ? kind.type : "application/octet-stream", safe);
    ctx->resp->inline_file = kind.image;
}

void api_tickets_attach(struct api_ctx *ctx)
{
    const json_t *body = ctx->req->body;
    json_t *idv = body ? json_object_get(body, "id") : NULL;
    if (!body || json_object_size(body) != 1 || !json_is_integer(idv) ||
        json_integer_value(idv) <= 0) {
        api_response_error(ctx->resp, 400, "bad_field",
                           "send {\"id\": N}: the id of an upload of yours");
        return;
    }
    int64_t id = (int64_t)json_integer_value(idv);
    const char *number = ctx->req->params[0];
    int rc = store_attach_to_ticket(desk_store(ctx->d), ctx->who->person_id, id, number);
    json_t *o = stored_attachment(ctx, rc, id);
    if (o)
        api_response_json(ctx->resp, 201, o);
}

static int list_one(void *arg, const struct store_attachment *a)
{
    json_array_append_new(arg, attach_json(a));
    return 0;
}

void api_tickets_attachments(struct api_ctx *ctx)
{
    json_t *items = json_array();
    int rc = store_attach_of_ticket(desk_store(ctx->d), ctx->req->params[0],
                                    ctx->who->person_id, list_one, items);
    if (rc == STORE_ENOTFOUND || rc == STORE_EFORBIDDEN) {
        json_decref(items);
        api_response_error(ctx->resp, 404, "not_found", "no such ticket");
        return;
    }
    if (rc) {
        json_decref(items);
        api_store_failed(ctx, rc);
        return;
    }
    api_response_json(ctx->resp, 200, json_pack("{s:o}", "items", items));
}
