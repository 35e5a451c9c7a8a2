/* api_admin: the administration page's API (/api/v1/admin/..., described
 * in chatdesk/openapi.yaml): people (search, people.role agent / admin, the
 * extra roles team_lead and knowledge_reviewer, enable / disable), teams
 * (create, rename, members), the managed ticket categories with their
 * default teams, and the runtime settings. Administrators only: anyone
 * else gets 403 forbidden before anything is read. A request body is
 * checked whole before the first change, so bad input (400 bad_field /
 * bad_json, 422 invalid) changes nothing. Every change writes an audit row
 * (store_audit: object types role, person and setting; teams are
 * "team:<slug>" and categories "category:<id>" under setting) with the
 * value before and after. */
#include "api.h"
#include "kb_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 403 unless the caller is an enabled admin (503 when that cannot be
 * read). Returns 1 when the handler may go on. */
static int admin_only(struct api_ctx *ctx)
{
    if (ctx->who->role == DESK_AGENT) {
        int rc = store_admin_check(desk_store(ctx->d), ctx->who->person_id);
        if (rc == 0)
            return 1;
        if (rc != STORE_EFORBIDDEN) {
            api_store_failed(ctx, rc);
            return 0;
        }
    }
    api_response_error(ctx->resp, 403, "forbidden", "administrators only");
    return 0;
}

/* An audit row "change" of object_type / object_id by the admin; detail
 * is borrowed. A failure is logged (the change stands). */
static void audit(struct api_ctx *ctx, const char *object_type, const char *object_id,
                  const json_t *detail)
{
    struct store_audit_entry e = {ctx->who->person_id, "admin", ctx->req->peer, "change",
                                  object_type, object_id, detail};
    if (store_audit_add(desk_store(ctx->d), &e))
        kb_warn("api %s: audit row not written: %s", ctx->req->route->name,
                store_errmsg(desk_store(ctx->d)));
}

/* A whole-number path parameter >= 1 into *id, else 404. */
static int path_id(struct api_ctx *ctx, int i, int64_t *id)
{
    char *end;
    long long v = strtoll(ctx->req->params[i], &end, 10);
    if (!ctx->req->params[i][0] || *end || v < 1) {
        api_response_error(ctx->resp, 404, "not_found", "no such id");
        return -1;
    }
    *id = v;
    return 0;
}

static void bad(struct api_ctx *ctx, const char *code, const char *fmt, const char *what)
{
    char msg[200];
    snprintf(msg, sizeof msg, fmt, what);
    api_response_error(ctx->resp, strcmp(code, "invalid") == 0 ? 422 : 400, code, msg);
}

/* ---- people ------------------------------------------------------------------------ */

static int person_cb(void *arg, const struct store_admin_person *p)
{
    json_array_append_new(
        arg, json_pack("{s:I, s:s, s:s?, s:s?, s:s, s:o, s:o, s:b, s:I}", "id", (json_int_t)p->id,
                       "name", p->name, "username", p->username, "email", p->email, "role",
                       p->role, "roles", json_loads(p->roles, 0, NULL), "teams",
                       json_loads(p->teams, 0, NULL), "disabled", p->disabled, "created_at",
                       (json_int_t)p->created_at));
    return 0;
}

void api_admin_people(struct api_ctx *ctx)
{
    if (!admin_only(ctx))
        return;
    const char *q = api_request_arg(ctx->req, "q");
    const char *role = api_request_arg(ctx->req, "role");
    const char *lim = api_request_arg(ctx->req, "limit");
    long limit = 200;
    if (lim) {
        char *end;
        limit = strtol(lim, &end, 10);
        if (!*lim || *end)
            limit = 0;
    }
    json_t *arr = json_array();
    int rc = store_admin_people(desk_store(ctx->d), 0, q, role && *role ? role : NULL,
                                (int)(limit > 1000 ? 1000 : limit), person_cb, arr);
    if (rc == 0) {
        api_response_json(ctx->resp, 200, json_pack("{s:o}", "people", arr));
        return;
    }
    json_decref(arr);
    if (rc == STORE_EINVALID)
        api_response_error(ctx->resp, 400, "bad_query", api_store_msg(ctx));
    else
        api_store_failed(ctx, rc);
}

/* The person's JSON object (caller owns), or NULL with the answer set. */
static json_t *person_get(struct api_ctx *ctx, int64_t id)
{
    json_t *arr = json_array();
    int rc = store_admin_people(desk_store(ctx->d), id, NULL, NULL, 1, person_cb, arr);
    json_t *p = rc == 0 ? json_incref(json_array_get(arr, 0)) : NULL;
    json_decref(arr);
    if (rc)
        api_store_failed(ctx, rc);
    else if (!p)
        api_response_error(ctx->resp, 404, "not_found", "no such person");
    return p;
}

static int has_role(const json_t *person, const char *role)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(person, "roles"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), role) == 0)
            return 1;
    }
    return 0;
}

/* PATCH /api/v1/admin/people/{id}: {"role": "agent"|"admin",
 * "team_lead": bool, "knowledge_reviewer": bool, "disabled": bool}. */
void api_admin_person_patch(struct api_ctx *ctx)
{
    if (!admin_only(ctx))
        return;
    int64_t id;
    if (path_id(ctx, 0, &id))
        return;
    const json_t *body = ctx->req->body;
    if (!body || json_object_size(body) == 0) {
        api_response_error(ctx->resp, 400, "bad_json",
                           "send a JSON object with role, team_lead, knowledge_reviewer or "
                           "disabled");
        return;
    }
    const char *key;
    json_t *v;
    const char *role = NULL;
    int lead = -1, reviewer = -1, disabled = -1;
    json_object_foreach((json_t *)body, key, v)
    {
        if (strcmp(key, "role") == 0) {
            if (!json_is_string(v))
                {
    bad(ctx, "bad_field", "%s must be a string", key);
    return;
}
            role = json_string_value(v);
        } else if (strcmp(key, "team_lead") == 0 || strcmp(key, "knowledge_reviewer") == 0 ||
                   strcmp(key, "disabled") == 0) {
            if (!json_is_boolean(v))
                {
    bad(ctx, "bad_field", "%s must be true or false", key);
    return;
}
            int b = json_is_true(v);
            *(key[0] == 't' ? &lead : key[0] == 'k' ? &reviewer : &disabled) = b;
        } else {
            {
    bad(ctx, "bad_field", "unknown field '%.64s'", key);
    return;
}
        }
    }
    if (role && strcmp(role, "agent") != 0 && strcmp(role, "admin") != 0) {
        if (strcmp(role, "requester") == 0)
            {
    bad(ctx, "invalid", "%s: a staff member does not become a requester (their "
                                       "history stays theirs): disable the account instead", role);
    return;
}
        {
    bad(ctx, "invalid", "role is agent or admin (got '%.40s')", role);
    return;
}
    }
    json_t *before = person_get(ctx, id);
    if (!before)
        return;
    const char *had = json_string_value(json_object_get(before, "role"));
    int staff = strcmp(had, "requester") != 0;
    const char *msg = NULL;
    if (!staff && (role || lead == 1 || reviewer == 1))
        msg = "a requester holds no staff role; create staff accounts with chatdesk useradd";
    else if (id == ctx->who->person_id && ((role && strcmp(role, "admin") != 0) || disabled == 1))
        msg = "administrators cannot take away their own administration or disable themselves";
    if (msg) {
        json_decref(before);
        api_response_error(ctx->resp, 422, "invalid", msg);
        return;
    }
    struct store *st = desk_store(ctx->d);
    char oid[32];
    snprintf(oid, sizeof oid, "%lld", (long long)id);
    int rc = 0;
    if (rc == 0 && role && strcmp(role, had) != 0) {
        rc = store_person_role(st, id, role, 1);
        if (rc == 0) {
            json_t *d = json_pack("{s:s, s:s, s:s}", "field", "role", "from", had, "to", role);
            audit(ctx, "role", oid, d);
            json_decref(d);
        }
    }
    static const char *const extra[] = {"team_lead", "knowledge_reviewer"};
    int want[] = {lead, reviewer};
    for (int i = 0; rc == 0 && i < 2; i++) {
        if (want[i] < 0 || want[i] == has_role(before, extra[i]))
            continue;
        rc = store_person_role(st, id, extra[i], want[i]);
        if (rc == 0) {
            json_t *d = json_pack("{s:s, s:b, s:b}", "field", extra[i], "from", !want[i], "to",
                                  want[i]);
            audit(ctx, "role", oid, d);
            json_decref(d);
        }
    }
    int was_disabled = json_is_true(json_object_get(before, "disabled"));
    if (rc == 0 && disabled >= 0 && disabled != was_disabled) {
        rc = store_person_set_disabled(st, id, disabled);
        if (rc == 0) {
            json_t *d = json_pack("{s:s, s:b, s:b}", "field", "disabled", "from", was_disabled,
                                  "to", disabled);
            audit(ctx, "person", oid, d);
            json_decref(d);
        }
    }
    json_decref(before);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    json_t *after = person_get(ctx, id);
    if (after)
        api_response_json(ctx->resp, 200, after);
}

/* ---- teams ------------------------------------------------------------------------- */

struct team_body {
    const char *slug, *name, *name_en;
};

void api_admin_team_create(struct api_ctx *ctx)
{
    if (!admin_only(ctx))
        return;
    struct team_body b = {0};
    static const struct api_strfield f[] = {{"slug", offsetof(struct team_body, slug)},
                                            {"name", offsetof(struct team_body, name)},
                                            {"name_en", offsetof(struct team_body, name_en)}};
    if (api_body_fields(ctx, f, 3, &b, NULL))
        return;
    if (!b.slug || !b.name) {
        api_response_error(ctx->resp, 400, "missing_field", "a team needs slug and name");
        return;
    }
    int64_t id = 0;
    int rc = store_team_create(desk_store(ctx->d), b.slug, b.name,
                               b.name_en && *b.name_en ? b.name_en : NULL, &id);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    char oid[API_PARAM_MAX + 8];
    snprintf(oid, sizeof oid, "team:%s", b.slug);
    json_t *d = json_pack("{s:s, s:s, s:s?}", "op", "create", "name", b.name, "name_en",
                          b.name_en && *b.name_en ? b.name_en : NULL);
    audit(ctx, "setting", oid, d);
    json_decref(d);
    api_response_json(ctx->resp, 201,
                      json_pack("{s:I, s:s, s:s, s:s?, s:[]}", "id", (json_int_t)id, "slug",
                                b.slug, "name", b.name, "name_en",
                                b.name_en && *b.name_en ? b.name_en : NULL, "members"));
}

void api_admin_team_patch(struct api_ctx *ctx)
{
    if (!admin_only(ctx))
        return;
    struct team_body b = {0};
    static const struct api_strfield f[] = {{"name", offsetof(struct team_body, name)},
                                            {"name_en", offsetof(struct team_body, name_en)}};
    if (api_body_fields(ctx, f, 2, &b, NULL))
        return;
    if (!b.name) {
        api_response_error(ctx->resp, 400, "missing_field", "a team needs a name");
        return;
    }
    const char *slug = ctx->req->params[0];
    int rc = store_team_rename(desk_store(ctx->d), slug, b.name, b.name_en);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    char oid[API_PARAM_MAX + 8];
    snprintf(oid, sizeof oid, "team:%s", slug);
    json_t *d = json_pack("{s:s, s:s, s:s?}", "op", "rename", "name", b.name, "name_en",
                          b.name_en && *b.name_en ? b.name_en : NULL);
    audit(ctx, "setting", oid, d);
    json_decref(d);
    api_response_json(ctx->resp, 200,
                      json_pack("{s:s, s:s, s:s?}", "slug", slug, "name", b.name, "name_en",
                                b.name_en && *b.name_en ? b.name_en : NULL));
}

static void member(struct api_ctx *ctx, int add)
{
    if (!admin_only(ctx))
        return;
    int64_t id;
    if (path_id(ctx, 1, &id))
        return;
    const char *slug = ctx->req->params[0];
    int rc = store_team_member(desk_store(ctx->d), id, slug, add);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    char oid[API_PARAM_MAX + 8];
    snprintf(oid, sizeof oid, "team:%s", slug);
    json_t *d = json_pack("{s:s, s:I}", "op", add ? "member_add" : "member_remove", "person",
                          (json_int_t)id);
    audit(ctx, "setting", oid, d);
    json_decref(d);
    api_response_json(ctx->resp, 200,
                      json_pack("{s:s, s:I, s:b}", "team", slug, "person", (json_int_t)id,
                                "member", add));
}

void api_admin_member_put(struct api_ctx *ctx) { member(ctx, 1); }
void api_admin_member_delete(struct api_ctx *ctx) { member(ctx, 0); }

/* ---- categories -------------------------------------------------------------------- */

static int category_cb(void *arg, const struct store_category *c)
{
    json_array_append_new(arg, json_pack("{s:I, s:s, s:s?, s:s?}", "id", (json_int_t)c->id,
                                         "name", c->name, "team", c->team, "team_name",
                                         c->team_name));
    return 0;
}

void api_admin_categories(struct api_ctx *ctx)
{
    if (!admin_only(ctx))
        return;
    json_t *arr = json_array();
    int rc = store_categories(desk_store(ctx->d), category_cb, arr);
    if (rc == 0)
        api_response_json(ctx->resp, 200, json_pack("{s:o}", "categories", arr));
    else {
        json_decref(arr);
        api_store_failed(ctx, rc);
    }
}

struct category_body {
    const char *name, *team;
};

static void category_put(struct api_ctx *ctx, int64_t id)
{
    struct category_body b = {0};
    static const struct api_strfield f[] = {{"name", offsetof(struct category_body, name)},
                                            {"team", offsetof(struct category_body, team)}};
    /* "team": null clears the default team */
    const json_t *t = ctx->req->body ? json_object_get(ctx->req->body, "team") : NULL;
    if (api_body_fields(ctx, f, 2, &b, t && json_is_null(t) ? "team" : NULL))
        return;
    if (!b.name) {
        api_response_error(ctx->resp, 400, "missing_field", "a category needs a name");
        return;
    }
    int64_t got = 0;
    int rc = store_category_put(desk_store(ctx->d), id, b.name, b.team, &got);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    char oid[64];
    snprintf(oid, sizeof oid, "category:%lld", (long long)got);
    json_t *d = json_pack("{s:s, s:s, s:s?}", "op", id ? "change" : "create", "name", b.name,
                          "team", b.team && *b.team ? b.team : NULL);
    audit(ctx, "setting", oid, d);
    json_decref(d);
    api_response_json(ctx->resp, id ? 200 : 201,
                      json_pack("{s:I, s:s, s:s?}", "id", (json_int_t)got, "name", b.name, "team",
                                b.team && *b.team ? b.team : NULL));
}

void api_admin_category_create(struct api_ctx *ctx)
{
    if (admin_only(ctx))
        category_put(ctx, 0);
}

void api_admin_category_patch(struct api_ctx *ctx)
{
    int64_t id;
    if (admin_only(ctx) && path_id(ctx, 0, &id) == 0)
        category_put(ctx, id);
}

void api_admin_category_delete(struct api_ctx *ctx)
{
    int64_t id;
    if (!admin_only(ctx) || path_id(ctx, 0, &id))
        return;
    int rc = store_category_delete(desk_store(ctx->d), id);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    char oid[64];
    snprintf(oid, sizeof oid, "category:%lld", (long long)id);
    json_t *d = json_pack("{s:s}", "op", "delete");
    audit(ctx, "setting", oid, d);
    json_decref(d);
    api_response_json(ctx->resp, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
}

/* ---- settings ---------------------------------------------------------------------- */

/* The config file's value of a runtime setting. */
static int file_value(const struct desk_config *cfg, const char *key)
{
    if (strcmp(key, "knowledge_self_approval") == 0)
        return cfg->knowledge_self_approval;
    if (strcmp(key, "auto_close_days") == 0)
        return cfg->auto_close_days;
    return cfg->suggestions;
}

static void settings_answer(struct api_ctx *ctx, int status)
{
    json_t *arr = json_array();
    for (int i = 0; i < store_setting_ndefs; i++) {
        const struct store_setting_def *d = &store_setting_defs[i];
        int def = file_value(ctx->cfg, d->key), v = def;
        int rc = store_setting_get(desk_store(ctx->d), d->key, def, &v);
        if (rc) {
            json_decref(arr);
            api_store_failed(ctx, rc);
            return;
        }
        json_array_append_new(arr, json_pack("{s:s, s:i, s:i, s:i, s:i}", "key", d->key, "value",
                                             v, "file_value", def, "min", d->min, "max",
                                             d->max));
    }
    api_response_json(ctx->resp, status, json_pack("{s:o}", "settings", arr));
}

void api_admin_settings(struct api_ctx *ctx)
{
    if (admin_only(ctx))
        settings_answer(ctx, 200);
}

/* PATCH /api/v1/admin/settings: {"key": integer (true / false for a 0..1
 * setting), or null for the config file's value again}. */
void api_admin_settings_patch(struct api_ctx *ctx)
{
    if (!admin_only(ctx))
        return;
    const json_t *body = ctx->req->body;
    if (!body || json_object_size(body) == 0) {
        api_response_error(ctx->resp, 400, "bad_json", "send a JSON object of settings");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    { /* everything checked before the first change */
        const struct store_setting_def *d = store_setting_def(key);
        if (!d)
            {
    bad(ctx, "bad_field", "'%.64s' is not a setting changed at runtime", key);
    return;
}
        if (!json_is_null(v) && !json_is_integer(v) && !json_is_boolean(v))
            {
    bad(ctx, "bad_field", "%s is a whole number, true / false, or null", key);
    return;
}
        json_int_t n = json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
        if (!json_is_null(v) && (n < d->min || n > d->max)) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s is %d..%d", key, d->min, d->max);
            api_response_error(ctx->resp, 422, "invalid", msg);
            return;
        }
    }
    json_object_foreach((json_t *)body, key, v)
    {
        int set = !json_is_null(v);
        int value = set ? (int)(json_is_boolean(v) ? json_is_true(v) : json_integer_value(v)) : 0;
        int old = 0, had = 0;
        int rc = store_setting_set(desk_store(ctx->d), key, set, value, ctx->who->person_id, &old,
                                   &had);
        if (rc) {
            api_store_failed(ctx, rc);
            return;
        }
        int def = file_value(ctx->cfg, key);
        json_t *d = json_pack("{s:i, s:i, s:b}", "from", had ? old : def, "to", set ? value : def,
                              "file_value", !set);
        audit(ctx, "setting", key, d);
        json_decref(d);
    }
    settings_answer(ctx, 200);
}
