/* api_ci: the service functions of /api/v1/cis (see api.h and
 * chatdesk/openapi.yaml): configuration items, their relations and what
 * refers to them, over store_ci.h, which checks who may (agents and
 * admins; requesters 403). Store answers map as elsewhere: 404 not_found,
 * 403 forbidden, 409 conflict (a name taken within its type), 422 invalid,
 * 503 db_unavailable. */
#include "api.h"
#include "kb_log.h"
#include "kb_util.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *store_msg(struct api_ctx *ctx)
{
    const char *m = store_errmsg(desk_store(ctx->d));
    const char *p = strstr(m, "] ");
    return p ? p + 2 : m;
}

static void failed(struct api_ctx *ctx, int rc)
{
    static const struct {
        int rc, status;
        const char *code;
    } map[] = {{STORE_ENOTFOUND, 404, "not_found"},
               {STORE_EFORBIDDEN, 403, "forbidden"},
               {STORE_ECONFLICT, 409, "conflict"},
               {STORE_EINVALID, 422, "invalid"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (map[i].rc == rc) {
            api_response_error(ctx->resp, map[i].status, map[i].code, store_msg(ctx));
            return;
        }
    kb_warn("api %s: %s", ctx->req->route->name, store_errmsg(desk_store(ctx->d)));
    if (rc == STORE_EDB)
        api_response_error(ctx->resp, 503, "db_unavailable",
                           "the database is unavailable: nothing was done; retry shortly");
    else
        api_response_error(ctx->resp, 500, "internal", "internal error");
}

static json_t *ci_json(const struct store_ci *ci)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s?, s:b, s:i, s:I, s:I}", "id",
                     (json_int_t)ci->id, "code", ci->code, "type", ci->type, "name", ci->name,
                     "description", ci->description, "owner",
                     ci->owner_id ? json_pack("{s:I, s:s}", "id", (json_int_t)ci->owner_id,
                                              "name", ci->owner_name)
                                  : json_null(),
                     "owner_team", ci->owner_team, "retired", ci->retired, "open_tickets",
                     ci->open_tickets, "created_at", (json_int_t)ci->created_at, "updated_at",
                     (json_int_t)ci->updated_at);
}

/* The body's fields into f (strings borrowed from it); 400 for unknown
 * keys and wrong types. Returns 0 or -1 (answered). */
static int fields_from_body(struct api_ctx *ctx, struct store_ci_fields *f)
{
    memset(f, 0, sizeof *f);
    f->owner_id = -1;
    const json_t *body = ctx->req->body;
    if (!body) {
        api_response_error(ctx->resp, 400, "bad_json", "send a JSON object");
        return -1;
    }
    static const struct {
        const char *name;
        size_t off;
    } str[] = {{"type", offsetof(struct store_ci_fields, type)},
               {"name", offsetof(struct store_ci_fields, name)},
               {"description", offsetof(struct store_ci_fields, description)},
               {"owner_team", offsetof(struct store_ci_fields, owner_team)}};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        char msg[160];
        if (strcmp(key, "owner_id") == 0) {
            if (!json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 1)) {
                api_response_error(ctx->resp, 400, "bad_field",
                                   "owner_id is a person's id, or null for none");
                return -1;
            }
            f->owner_id = json_is_null(v) ? 0 : (int64_t)json_integer_value(v);
            continue;
        }
        size_t i = 0;
        while (i < sizeof str / sizeof *str && strcmp(str[i].name, key) != 0)
            i++;
        if (i == sizeof str / sizeof *str || !json_is_string(v)) {
            snprintf(msg, sizeof msg,
                     i == sizeof str / sizeof *str ? "unknown field '%.64s'"
                                                   : "%.64s must be a string",
                     key);
            api_response_error(ctx->resp, 400, "bad_field", msg);
            return -1;
        }
        *(const char **)((char *)f + str[i].off) = json_string_value(v);
    }
    return 0;
}

void api_cis_create(struct api_ctx *ctx)
{
    struct store_ci_fields f;
    if (fields_from_body(ctx, &f))
        return;
    if (!f.type || !f.name) {
        api_response_error(ctx->resp, 400, "missing_field", "type and name are required");
        return;
    }
    struct store_ci ci;
    int rc = store_ci_create(desk_store(ctx->d), ctx->who->person_id, &f, &ci);
    if (rc == 0)
        api_response_json(ctx->resp, 201, ci_json(&ci));
    else
        failed(ctx, rc);
    store_ci_fin(&ci);
}

static int list_cb(void *ud, const struct store_ci *ci)
{
    json_array_append_new(ud, ci_json(ci));
    return 0;
}

void api_cis_list(struct api_ctx *ctx)
{
    const char *type = api_request_arg(ctx->req, "type");
    const char *q = api_request_arg(ctx->req, "q");
    const char *ret = api_request_arg(ctx->req, "retired");
    const char *after = api_request_arg(ctx->req, "after");
    const char *limit = api_request_arg(ctx->req, "limit");
    char *end = NULL;
    long long a = after ? strtoll(after, &end, 10) : 0;
    int bad = after && (!*after || *end || a < 0);
    long n = limit ? strtol(limit, &end, 10) : 100;
    bad |= limit && (!*limit || *end || n < 1 || n > 500);
    bad |= ret && strcmp(ret, "0") != 0 && strcmp(ret, "1") != 0;
    if (bad) {
        api_response_error(ctx->resp, 400, "bad_query",
                           "after is the last id seen, limit 1..500, retired 0 or 1");
        return;
    }
    json_t *arr = json_array();
    int rc = store_ci_list(desk_store(ctx->d), ctx->who->person_id, type && *type ? type : NULL,
                           q && *q ? q : NULL, ret && *ret == '1', a, (int)n, list_cb, arr);
    if (rc == 0) {
        size_t k = json_array_size(arr);
        json_t *next = k == (size_t)n ? json_object_get(json_array_get(arr, k - 1), "id") : NULL;
        api_response_json(ctx->resp, 200,
                          json_pack("{s:o, s:O?}", "items", arr, "next_after", next));
    } else {
        json_decref(arr);
        if (rc == STORE_EINVALID)
            api_response_error(ctx->resp, 400, "bad_query", store_msg(ctx));
        else
            failed(ctx, rc);
    }
}

static int rel_cb(void *ud, const struct store_ci_relation *r)
{
    json_array_append_new(ud, json_pack("{s:s, s:s, s:s, s:s, s:s}", "direction",
                                        r->outgoing ? "out" : "in", "type", r->type, "code",
                                        r->other, "name", r->other_name ? r->other_name : "",
                                        "ci_type", r->other_type));
    return 0;
}

static int ref_cb(void *ud, const struct store_ci_ref *r)
{
    json_array_append_new(ud, json_pack("{s:s, s:s, s:s?, s:s?, s:b}", "kind", r->kind, "ref",
                                        r->ref ? r->ref : "", "title", r->title, "status",
                                        r->status, "open", r->open));
    return 0;
}

void api_cis_get(struct api_ctx *ctx)
{
    struct store *st = desk_store(ctx->d);
    const char *code = ctx->req->params[0];
    struct store_ci ci;
    json_t *rels = json_array(), *refs = json_array();
    int rc = store_ci_get(st, code, ctx->who->person_id, &ci);
    if (rc == 0)
        rc = store_ci_relations(st, code, ctx->who->person_id, rel_cb, rels);
    if (rc == 0)
        rc = store_ci_refs(st, code, ctx->who->person_id, ref_cb, refs);
    if (rc == 0) {
        api_audit(ctx, "read", "ci", ci.code, NULL);
        json_t *o = ci_json(&ci);
        json_object_set_new(o, "relations", rels);
        json_object_set_new(o, "refs", refs);
        api_response_json(ctx->resp, 200, o);
    } else {
        json_decref(rels);
        json_decref(refs);
        failed(ctx, rc);
    }
    store_ci_fin(&ci);
}

void api_cis_patch(struct api_ctx *ctx)
{
    struct store_ci_fields f;
    if (fields_from_body(ctx, &f))
        return;
    struct store_ci ci;
    int rc = store_ci_edit(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id, &f, &ci);
    if (rc == 0)
        api_response_json(ctx->resp, 200, ci_json(&ci));
    else
        failed(ctx, rc);
    store_ci_fin(&ci);
}

void api_cis_retire(struct api_ctx *ctx)
{
    int rc = store_ci_retire(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id);
    if (rc == 0)
        api_response_json(ctx->resp, 200,
                          json_pack("{s:s, s:b}", "code", ctx->req->params[0], "retired", 1));
    else
        failed(ctx, rc);
}

/* A required string member of the body, or NULL with 400 answered. */
static const char *body_str(struct api_ctx *ctx, const char *name)
{
    const json_t *v = ctx->req->body ? json_object_get(ctx->req->body, name) : NULL;
    if (!json_is_string(v)) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s is required (a string)", name);
        api_response_error(ctx->resp, 400, "missing_field", msg);
        return NULL;
    }
    return json_string_value(v);
}

static void relate(struct api_ctx *ctx, const char *type, const char *to, int on)
{
    int rc = store_ci_relate(desk_store(ctx->d), ctx->req->params[0], type, to,
                             ctx->who->person_id, on);
    if (rc == 0)
        api_response_json(ctx->resp, 200,
                          json_pack("{s:s, s:s, s:s, s:b}", "from", ctx->req->params[0], "type",
                                    type, "to", to, "related", on));
    else
        failed(ctx, rc);
}

void api_cis_relate(struct api_ctx *ctx)
{
    const char *type = body_str(ctx, "type");
    const char *to = type ? body_str(ctx, "to") : NULL;
    if (to)
        relate(ctx, type, to, 1);
}

void api_cis_unrelate(struct api_ctx *ctx)
{
    relate(ctx, ctx->req->params[1], ctx->req->params[2], 0);
}

static void refer(struct api_ctx *ctx, const char *kind, const char *ref, int on)
{
    int rc = store_ci_refer(desk_store(ctx->d), ctx->req->params[0], kind, ref,
                            ctx->who->person_id, on);
    if (rc == 0)
        api_response_json(ctx->resp, 200,
                          json_pack("{s:s, s:s, s:s, s:b}", "code", ctx->req->params[0], "kind",
                                    kind, "ref", ref, "referred", on));
    else
        failed(ctx, rc);
}

void api_cis_refer(struct api_ctx *ctx)
{
    const char *kind = body_str(ctx, "kind");
    const char *ref = kind ? body_str(ctx, "ref") : NULL;
    if (ref)
        refer(ctx, kind, ref, 1);
}

void api_cis_unrefer(struct api_ctx *ctx)
{
    refer(ctx, ctx->req->params[1], ctx->req->params[2], 0);
}

void api_tickets_cis(struct api_ctx *ctx)
{
    json_t *arr = json_array();
    int rc = store_ci_of(desk_store(ctx->d), "ticket", ctx->req->params[0], ctx->who->person_id,
                         list_cb, arr);
    if (rc == 0) {
        api_response_json(ctx->resp, 200,
                          json_pack("{s:s, s:o}", "ticket", ctx->req->params[0], "cis", arr));
    } else {
        json_decref(arr);
        failed(ctx, rc);
    }
}
