/* api: chatdesk's JSON API service functions (see api.h). Store failures
 * map to one answer each: STORE_EDB is 503 db_unavailable (nothing was
 * done), a row the caller may not see is 404 like a missing one, anything
 * else unexpected is 500 internal. */
#include "api.h"
#include "kb_log.h"
#include "kb_util.h"

#include <stdlib.h>
#include <string.h>

/* a live session is marked seen at most this often (as for WebSocket
 * frames, desk.c's SESSION_TOUCH_EVERY) */
#define API_TOUCH_EVERY 60

void api_call_free(struct api_call *call)
{
    if (!call)
        return;
    api_request_fin(&call->req);
    api_response_fin(&call->resp);
    free(call);
}

static void db_unavailable(struct api_ctx *ctx)
{
    kb_warn("api %s: the database is unavailable: %s", ctx->req->route->name,
            store_errmsg(desk_store(ctx->d)));
    api_response_error(ctx->resp, 503, "db_unavailable",
                       "the database is unavailable: nothing was done; retry shortly");
}

static void store_failed(struct api_ctx *ctx, int rc)
{
    if (rc == STORE_EDB) {
        db_unavailable(ctx);
        return;
    }
    kb_warn("api %s: %s", ctx->req->route->name, store_errmsg(desk_store(ctx->d)));
    api_response_error(ctx->resp, 500, "internal", "internal error");
}

/* The person behind the request's bearer token, into who. Returns 0, or -1
 * with the answer set (401, 503). */
static int authenticate(struct api_ctx *ctx, struct desk_client *who)
{
    const struct api_request *req = ctx->req;
    memset(who, 0, sizeof *who);
    if (!req->token[0]) {
        api_response_error(ctx->resp, 401, "unauthorized",
                           req->has_auth ? "the Authorization header is not \"Bearer <token>\""
                                         : "send Authorization: Bearer <session token>");
        return -1;
    }
    struct store *st = desk_store(ctx->d);
    struct store_session ss;
    int rc = auth_token_hash(req->token, who->token_hash);
    if (rc == 0)
        rc = store_session_lookup(st, who->token_hash, &ss);
    else
        rc = STORE_ENOTFOUND;
    int ttl = ctx->cfg->session_ttl;
    int every = ttl / 10 < API_TOUCH_EVERY ? ttl / 10 : API_TOUCH_EVERY;
    if (rc == 0)
        rc = store_session_check(st, who->token_hash, ss.person_id, ttl, every);
    if (rc == STORE_ENOTFOUND) {
        api_response_error(ctx->resp, 401, "unauthorized",
                           "the session has expired or was ended: log in again");
        return -1;
    }
    if (rc) {
        store_failed(ctx, rc);
        return -1;
    }
    who->role = strcmp(ss.role, "requester") == 0 ? DESK_REQUESTER : DESK_AGENT;
    who->person_id = ss.person_id;
    memcpy(who->name, ss.name, sizeof who->name);
    return 0;
}

void api_handle(struct desk *d, const struct desk_config *cfg, const struct api_request *req,
                struct api_response *resp, struct desk_outbox *out)
{
    struct desk_client who;
    memset(&who, 0, sizeof who);
    struct desk_outbox none;
    desk_outbox_init(&none);
    struct api_ctx ctx = {d, cfg, &who, req, resp, out ? out : &none};
    if (!req->route) /* the transport routes first; be safe */
        api_response_error(resp, 404, "not_found", "no such endpoint");
    else if (!req->route->auth || !authenticate(&ctx, &who))
        req->route->handler(&ctx);
    desk_outbox_fin(&none);
}

/* ---- sessions --------------------------------------------------------------- */

/* HTTP status of a WebSocket error code answering login. */
static int login_status(const char *code)
{
    static const struct {
        const char *code;
        int status;
    } map[] = {
        {"login_failed", 401}, {"bad_field", 400},       {"missing_field", 400},
        {"bad_json", 400},     {"rate_limited", 429},    {"overloaded", 503},
        {"db_unavailable", 503}, {"forbidden", 403},
        {"too_many_attempts", 429}, {"try_later", 503},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i].code, code) == 0)
            return map[i].status;
    return 500;
}

void api_sessions_create(struct api_ctx *ctx)
{
    json_t *body = ctx->req->body;
    if (!body) {
        api_response_error(ctx->resp, 400, "bad_json",
                           "send {\"username\":...,\"password\":...} as the JSON body");
        return;
    }
    /* the WebSocket's own login frame, so the fields are checked by the
     * same rules (proto_parse) */
    json_t *frame = json_pack("{s:s}", "type", "login");
    static const char *const fields[] = {"username", "password"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, fields[i]);
        if (v && !json_is_string(v)) {
            json_decref(frame);
            char msg[64];
            snprintf(msg, sizeof msg, "%s must be a string", fields[i]);
            api_response_error(ctx->resp, 400, "bad_field", msg);
            return;
        }
        if (v)
            json_object_set(frame, fields[i], v);
    }
    size_t len;
    char *text = proto_dump(frame, &len);
    struct desk_msg msg;
    struct proto_error pe;
    int rc = proto_parse(text, len, &msg, &pe);
    free(text);
    if (rc) {
        api_response_error(ctx->resp, 400, "bad_field", pe.message);
        return;
    }
    if (!msg.username || !msg.password) {
        desk_msg_fin(&msg);
        api_response_error(ctx->resp, 400, "bad_field", "username and password are required");
        return;
    }

    struct desk_client nobody;
    memset(&nobody, 0, sizeof nobody);
    struct desk_outbox out;
    desk_outbox_init(&out);
    desk_on_message(ctx->d, &nobody, &msg, &out);
    char username[STORE_NAME_MAX];
    snprintf(username, sizeof username, "%s", msg.username);
    desk_msg_fin(&msg);

    /* the answer to the connection itself: welcome or error */
    json_t *answer = NULL;
    for (struct desk_frame *f = out.head; f && !answer; f = f->next)
        if (f->to == DESK_TO_SELF)
            answer = json_loadb(f->json, f->len, 0, NULL);
    const char *type = json_string_value(json_object_get(answer, "type"));
    const char *token = json_string_value(json_object_get(answer, "session"));
    if (type && strcmp(type, "welcome") == 0 && token && out.client_set) {
        struct store_session ss;
        rc = store_session_lookup(desk_store(ctx->d), out.client.token_hash, &ss);
        if (rc == 0) {
            api_response_json(ctx->resp, 201,
                              json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "token", token,
                                        "token_type", "Bearer", "expires_at",
                                        (json_int_t)ss.expires_at, "role", ss.role, "name",
                                        ss.name, "username", username));
        } else {
            store_failed(ctx, rc == STORE_ENOTFOUND ? STORE_EDB : rc);
        }
    } else if (type && strcmp(type, "error") == 0) {
        const char *code = json_string_value(json_object_get(answer, "code"));
        const char *message = json_string_value(json_object_get(answer, "message"));
        int status = login_status(code ? code : "");
        if (out.db_error)
            db_unavailable(ctx);
        else
            api_response_error(ctx->resp, status, status == 500 ? "internal" : code,
                               message ? message : "login failed");
        json_t *ra = json_object_get(answer, "retry_after");
        if (json_is_integer(ra) && json_integer_value(ra) > 0)
            ctx->resp->retry_after = (int)json_integer_value(ra);
    } else {
        api_response_error(ctx->resp, 500, "internal", "internal error");
    }
    /* after the answer is made (api_response_json starts afresh) */
    ctx->resp->login = out.login;
    json_decref(answer);
    desk_outbox_fin(&out);
}

void api_sessions_delete(struct api_ctx *ctx)
{
    int rc = store_session_delete(desk_store(ctx->d), ctx->who->token_hash);
    if (rc && rc != STORE_ENOTFOUND) {
        store_failed(ctx, rc);
        return;
    }
    api_response_json(ctx->resp, 204, NULL);
}

/* ---- me ------------------------------------------------------------------------ */

void api_me_get(struct api_ctx *ctx)
{
    const struct desk_client *who = ctx->who;
    /* may this person approve and return knowledge (the knowledge page) */
    int reviewer = 0;
    int rc = store_knowledge_may_review(desk_store(ctx->d), who->person_id, &reviewer);
    if (rc) {
        store_failed(ctx, rc);
        return;
    }
    api_response_json(ctx->resp, 200,
                      json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)who->person_id, "role",
                                who->role == DESK_REQUESTER ? "requester" : "agent", "name",
                                who->name, "knowledge_reviewer", reviewer));
}

/* ---- tickets ----------------------------------------------------------------------- */

void api_audit(struct api_ctx *ctx, const char *action, const char *object_type,
               const char *object_id, const json_t *detail)
{
    const struct desk_client *w = ctx->who;
    struct store_audit_entry e = {w->person_id,
                                  w->role == DESK_AGENT ? "agent"
                                  : w->role == DESK_REQUESTER ? "requester"
                                                              : NULL,
                                  ctx->req->peer,
                                  action,
                                  object_type,
                                  object_id,
                                  detail};
    if (store_audit_add(desk_store(ctx->d), &e))
        kb_warn("api %s: audit row not written: %s", ctx->req->route->name,
                store_errmsg(desk_store(ctx->d)));
}

const char *api_store_msg(struct api_ctx *ctx)
{
    return store_errtext(desk_store(ctx->d));
}

void api_store_failed(struct api_ctx *ctx, int rc)
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
            api_response_error(ctx->resp, map[i].status, map[i].code, api_store_msg(ctx));
            return;
        }
    store_failed(ctx, rc);
}

int api_body_fields(struct api_ctx *ctx, const struct api_strfield *t, size_t n, void *base,
                    const char *extra)
{
    const char *const extras[] = {extra, NULL};
    return api_object_fields(ctx, ctx->req->body, "", t, n, base, extras);
}

int api_object_fields(struct api_ctx *ctx, const json_t *obj, const char *where,
                      const struct api_strfield *t, size_t n, void *base,
                      const char *const *extras)
{
    if (!json_is_object(obj)) {
        char msg[160];
        snprintf(msg, sizeof msg, "send a JSON object%s%.40s", *where ? " as " : "", where);
        api_response_error(ctx->resp, 400, *where ? "bad_field" : "bad_json", msg);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int skip = 0;
        for (size_t e = 0; extras && extras[e]; e++)
            skip |= strcmp(key, extras[e]) == 0;
        if (skip)
            continue;
        size_t i = 0;
        while (i < n && strcmp(t[i].name, key) != 0)
            i++;
        if (i == n || !json_is_string(v)) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     i == n ? "unknown field '%.16s%s%.64s'" : "%.16s%s%.64s must be a string",
                     where, *where ? "." : "", key);
            api_response_error(ctx->resp, 400, "bad_field", msg);
            return -1;
        }
        *(const char **)((char *)base + t[i].off) = json_string_value(v);
    }
    return 0;
}

int api_body_str_and_opt(struct api_ctx *ctx, const char *req, const char *missing,
                         const char **req_v, const char *opt, const char **opt_v)
{
    const json_t *body = ctx->req->body;
    *req_v = body ? json_string_value(json_object_get(body, req)) : NULL;
    json_t *o = body ? json_object_get(body, opt) : NULL;
    *opt_v = o ? json_string_value(o) : NULL;
    if (!*req_v) {
        api_response_error(ctx->resp, 400, "missing_field", missing);
        return -1;
    }
    if (o && !json_is_string(o) && !json_is_null(o)) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be a string", opt);
        api_response_error(ctx->resp, 400, "bad_field", msg);
        return -1;
    }
    return 0;
}

int api_version_arg(struct api_ctx *ctx, int *version)
{
    const char *v = api_request_arg(ctx->req, "version");
    if (!v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 1 || n > 1000000000) {
        api_response_error(ctx->resp, 400, "bad_query", "version is an integer >= 1");
        return -1;
    }
    *version = (int)n;
    return 0;
}

int api_page_args(struct api_ctx *ctx, const char *key, long long *at, long *limit, long def,
                  long max)
{
    const char *a = api_request_arg(ctx->req, key), *l = api_request_arg(ctx->req, "limit");
    char *end = NULL;
    *at = a ? strtoll(a, &end, 10) : 0;
    int bad = a && (!*a || *end || *at < 0);
    *limit = l ? strtol(l, &end, 10) : def;
    bad |= l && (!*l || *end || *limit < 1 || *limit > max);
    if (bad) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s is the last id seen, limit 1..%ld", key, max);
        api_response_error(ctx->resp, 400, "bad_query", msg);
    }
    return bad ? -1 : 0;
}

void api_page_answer(struct api_ctx *ctx, int rc, json_t *items, long limit, const char *next)
{
    if (rc == 0) {
        size_t k = json_array_size(items);
        json_t *last = k && k == (size_t)limit
                           ? json_object_get(json_array_get(items, k - 1), "id")
                           : NULL;
        api_response_json(ctx->resp, 200,
                          json_pack("{s:o, s:O?}", "items", items, next, last));
        return;
    }
    json_decref(items);
    if (rc == STORE_EINVALID)
        api_response_error(ctx->resp, 400, "bad_query", api_store_msg(ctx));
    else
        api_store_failed(ctx, rc);
}

/* ---- the audit log ------------------------------------------------------------ */

static int audit_row_cb(void *ud, const struct store_audit_row *r)
{
    json_error_t jerr;
    json_t *detail = r->detail ? json_loads(r->detail, 0, &jerr) : NULL;
    json_array_append_new(ud, json_pack("{s:I, s:I, s:o, s:s?, s:s?, s:s?, s:s, s:s, s:s, s:o}",
                                        "id", (json_int_t)r->id, "at", (json_int_t)r->at,
                                        "actor_id",
                                        r->actor_id ? json_integer((json_int_t)r->actor_id)
                                                    : json_null(),
                                        "actor", r->actor_name, "actor_role", r->actor_role,
                                        "address", r->address, "action", r->action,
                                        "object_type", r->object_type, "object_id",
                                        r->object_id, "detail",
                                        detail ? detail : json_object()));
    return 0;
}

/* A whole non-negative number argument into *v (absent: unchanged).
 * Returns 0, or -1 when present and not one. */
static int arg_num(struct api_ctx *ctx, const char *name, long long *v)
{
    const char *a = api_request_arg(ctx->req, name);
    if (!a)
        return 0;
    char *end = NULL;
    long long n = strtoll(a, &end, 10);
    if (!*a || *end || n < 0)
        return -1;
    *v = n;
    return 0;
}

void api_audit_list(struct api_ctx *ctx)
{
    long long actor = 0, from = 0, to = 0, before = 0, limit = 100;
    if (arg_num(ctx, "actor", &actor) || arg_num(ctx, "from", &from) ||
        arg_num(ctx, "to", &to) || arg_num(ctx, "before", &before) ||
        arg_num(ctx, "limit", &limit)) {
        api_response_error(ctx->resp, 400, "bad_query",
                           "actor, from, to (Unix seconds), before and limit are whole numbers");
        return;
    }
    const char *type = api_request_arg(ctx->req, "object_type");
    const char *id = api_request_arg(ctx->req, "object_id");
    struct store_audit_query q = {actor, type && *type ? type : NULL, id && *id ? id : NULL,
                                  from, to, before, (int)(limit > 100000 ? 100000 : limit)};
    json_t *arr = json_array();
    int rc = store_audit_search(desk_store(ctx->d), ctx->who->person_id, &q, audit_row_cb, arr);
    if (rc == 0) {
        size_t k = json_array_size(arr);
        json_t *next = k && k == (size_t)q.limit
                           ? json_object_get(json_array_get(arr, k - 1), "id")
                           : NULL;
        json_t *d = json_pack("{s:s?, s:s?, s:I}", "object_type", q.object_type, "object_id",
                              q.object_id, "actor", (json_int_t)actor);
        api_audit(ctx, "read", "audit", "audit_log", d);
        json_decref(d);
        api_response_json(ctx->resp, 200, json_pack("{s:o, s:O?}", "items", arr, "next_before",
                                                     next));
    } else {
        json_decref(arr);
        if (rc == STORE_EFORBIDDEN)
            api_response_error(ctx->resp, 403, "forbidden",
                               "only administrators read the audit log");
        else if (rc == STORE_EINVALID)
            api_response_error(ctx->resp, 400, "bad_query",
                               "limit is 1..1000; object_type one the log knows");
        else
            store_failed(ctx, rc);
    }
}

json_t *api_ticket_json(struct api_ctx *ctx, const struct store_ticket *t)
{
    json_t *o = proto_ticket(t);
    json_t *sla = api_sla_ticket(ctx, t->number); /* service levels: the whole clock */
    if (sla)
        json_object_set_new(o, "sla", sla);
    return o;
}

void api_ticket_changed(struct api_ctx *ctx, const struct store_ticket *t, const char *event)
{
    desk_outbox_add(ctx->out, DESK_TO_CONV, t->conversation_id, proto_ticket_frame(t, NULL));
    desk_outbox_add(ctx->out, DESK_TO_AGENTS, 0,
                    json_pack("{s:s, s:s, s:o}", "type", "queue_update", "event", event,
                              "ticket", proto_ticket(t)));
}

void api_tickets_get(struct api_ctx *ctx)
{
    struct store_ticket t;
    int rc = store_ticket_get(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id, &t);
    if (rc == 0) {
        if (ctx->who->role == DESK_AGENT)
            api_audit(ctx, "read", "ticket", t.number, NULL);
        api_response_json(ctx->resp, 200, api_ticket_json(ctx, &t));
    } else if (rc == STORE_ENOTFOUND || rc == STORE_EFORBIDDEN) {
        /* someone else's ticket is answered like one that does not exist */
        api_response_error(ctx->resp, 404, "not_found", "no such ticket");
    } else {
        store_failed(ctx, rc);
    }
    store_ticket_fin(&t);
}
