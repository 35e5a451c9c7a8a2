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
    static const struct api_strfield str[] = {
        {"type", offsetof(struct store_ci_fields, type)},
        {"name", offsetof(struct store_ci_fields, name)},
        {"description", offsetof(struct store_ci_fields, description)},
        {"owner_team", offsetof(struct store_ci_fields, owner_team)}};
    memset(f, 0, sizeof *f);
    f->owner_id = -1;
    if (api_body_fields(ctx, str, sizeof str / sizeof *str, f, "owner_id"))
        return -1;
    json_t *v = json_object_get(ctx->req->body, "owner_id");
    if (v && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 1)) {
        api_response_error(ctx->resp, 400, "bad_field",
                           "owner_id is a person's id, or null for none");
        return -1;
    }
    if (v)
        f->owner_id = json_is_null(v) ? 0 : (int64_t)json_integer_value(v);
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
        api_store_failed(ctx, rc);
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
    long long after;
    long n;
    if (api_page_args(ctx, "after", &after, &n, 100, 500))
        return;
    if (ret && strcmp(ret, "0") != 0 && strcmp(ret, "1") != 0) {
        api_response_error(ctx->resp, 400, "bad_query", "retired is 0 or 1");
        return;
    }
    json_t *arr = json_array();
    int rc = store_ci_list(desk_store(ctx->d), ctx->who->person_id, type && *type ? type : NULL,
                           q && *q ? q : NULL, ret && *ret == '1', after, (int)n, list_cb, arr);
    api_page_answer(ctx, rc, arr, n, "next_after");
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
        api_store_failed(ctx, rc);
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
        api_store_failed(ctx, rc);
    store_ci_fin(&ci);
}

void api_cis_retire(struct api_ctx *ctx)
{
    int rc = store_ci_retire(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id);
    if (rc == 0)
        api_response_json(ctx->resp, 200,
                          json_pack("{s:s, s:b}", "code", ctx->req->params[0], "retired", 1));
    else
        api_store_failed(ctx, rc);
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

/* The two links of an item set from the API: a relation to another item
 * (store_ci_relate: type, to) and a reference from a ticket, problem or
 * document (store_ci_refer: kind, ref). The names are the JSON members of
 * the request body and of the answer. */
struct link {
    int (*set)(struct store *s, const char *code, const char *a, const char *b, int64_t actor,
               int on);
    const char *self, *a, *b, *done;
};
static const struct link relation = {store_ci_relate, "from", "type", "to", "related"};
static const struct link reference = {store_ci_refer, "code", "kind", "ref", "referred"};

/* Sets (on) or clears link l between item params[0] and a, b. */
static void link_set(struct api_ctx *ctx, const struct link *l, const char *a, const char *b,
                     int on)
{
    int rc = l->set(desk_store(ctx->d), ctx->req->params[0], a, b, ctx->who->person_id, on);
    if (rc == 0)
        api_response_json(ctx->resp, 200,
                          json_pack("{s:s, s:s, s:s, s:b}", l->self, ctx->req->params[0], l->a,
                                    a, l->b, b, l->done, on));
    else
        api_store_failed(ctx, rc);
}

/* Sets link l named by the request body's members l->a and l->b. */
static void link_from_body(struct api_ctx *ctx, const struct link *l)
{
    const char *a = body_str(ctx, l->a);
    const char *b = a ? body_str(ctx, l->b) : NULL;
    if (b)
        link_set(ctx, l, a, b, 1);
}

void api_cis_relate(struct api_ctx *ctx)
{
    link_from_body(ctx, &relation);
}

void api_cis_unrelate(struct api_ctx *ctx)
{
    link_set(ctx, &relation, ctx->req->params[1], ctx->req->params[2], 0);
}

void api_cis_refer(struct api_ctx *ctx)
{
    link_from_body(ctx, &reference);
}

void api_cis_unrefer(struct api_ctx *ctx)
{
    link_set(ctx, &reference, ctx->req->params[1], ctx->req->params[2], 0);
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
        api_store_failed(ctx, rc);
    }
}
