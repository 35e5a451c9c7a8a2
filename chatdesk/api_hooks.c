/* api_hooks: notifications in chatdesk's JSON API (see api.h and
 * chatdesk/openapi.yaml): a person's own notification preferences
 * (GET/PUT /api/v1/me/preferences), and the group robots and integration
 * webhooks administrators manage (/api/v1/robots, /api/v1/webhooks). The
 * store decides who may (store_hook.h); a secret is never read back. */
#include "api.h"
#include "kb_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *prefs_json(const struct store_prefs *p)
{
    return json_pack("{s:b, s:b, s:b, s:b, s:o}", "mail_assigned", p->mail_assigned,
                     "mail_team", p->mail_team, "browser_assigned", p->browser_assigned,
                     "browser_team", p->browser_team, "email",
                     p->email[0] ? json_string(p->email) : json_null());
}

void api_me_prefs_get(struct api_ctx *ctx)
{
    struct store_prefs p;
    int rc = store_prefs_get(desk_store(ctx->d), ctx->who->person_id, &p);
    if (rc)
        api_store_failed(ctx, rc);
    else
        api_response_json(ctx->resp, 200, prefs_json(&p));
}

void api_me_prefs_put(struct api_ctx *ctx)
{
    json_t *body = ctx->req->body;
    if (!json_is_object(body)) {
        api_response_error(ctx->resp, 400, "bad_json", "send a JSON object as the body");
        return;
    }
    struct store_prefs p;
    int rc = store_prefs_get(desk_store(ctx->d), ctx->who->person_id, &p);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    int set_email = 0;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        int *flag = strcmp(key, "mail_assigned") == 0      ? &p.mail_assigned
                    : strcmp(key, "mail_team") == 0        ? &p.mail_team
                    : strcmp(key, "browser_assigned") == 0 ? &p.browser_assigned
                    : strcmp(key, "browser_team") == 0     ? &p.browser_team
                                                           : NULL;
        char msg[160];
        if (flag && json_is_boolean(v)) {
            *flag = json_is_true(v);
        } else if (strcmp(key, "email") == 0 && (json_is_string(v) || json_is_null(v))) {
            const char *e = json_is_string(v) ? json_string_value(v) : "";
            if (strlen(e) >= sizeof p.email) {
                api_response_error(ctx->resp, 400, "bad_field", "email: at most 254 bytes");
                return;
            }
            snprintf(p.email, sizeof p.email, "%s", e);
            set_email = 1;
        } else {
            snprintf(msg, sizeof msg, flag ? "'%.64s' is true or false" : "unknown field '%.64s'",
                     key);
            api_response_error(ctx->resp, 400, "bad_field", msg);
            return;
        }
    }
    rc = store_prefs_set(desk_store(ctx->d), ctx->who->person_id, &p, set_email);
    if (rc == 0)
        rc = store_prefs_get(desk_store(ctx->d), ctx->who->person_id, &p);
    if (rc)
        api_store_failed(ctx, rc);
    else
        api_response_json(ctx->resp, 200, prefs_json(&p));
}

static int hook_json(void *arg, const struct store_hook *h)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:b, s:b, s:o, s:{s:i, s:i, s:i}, s:o}", "id",
                          (json_int_t)h->id, "kind", h->kind, "url", h->url, "has_secret",
                          h->has_secret, "enabled", h->enabled, "created_at",
                          proto_time(h->created_at), "deliveries", "queued", h->queued, "sent",
                          h->sent, "failed", h->failed, "last_error",
                          h->last_error ? json_string(h->last_error) : json_null());
    json_t *ev = json_array();
    for (const char *p = h->events; *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(ev, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    json_object_set_new(o, "events", ev);
    if (strcmp(h->kind, "webhook") != 0) {
        json_object_set_new(o, "name", json_string(h->name));
        json_object_set_new(o, "team", h->team ? json_string(h->team) : json_null());
    }
    json_array_append_new(arg, o);
    return 0;
}

static void list(struct api_ctx *ctx, int webhooks)
{
    json_t *items = json_array();
    int rc = store_hook_list(desk_store(ctx->d), ctx->who->person_id, webhooks, hook_json, items);
    if (rc) {
        json_decref(items);
        api_store_failed(ctx, rc);
    } else {
        api_response_json(ctx->resp, 200, json_pack("{s:o}", "items", items));
    }
}

/* events: an array of strings into a comma list (caller frees), or NULL. */
static char *events_list(json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 32)
        return NULL;
    size_t cap = 1;
    json_t *e;
    size_t i;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || strchr(json_string_value(e), ','))
            return NULL;
        cap += strlen(json_string_value(e)) + 1;
    }
    char *s = calloc(1, cap);
    if (!s)
        return NULL;
    json_array_foreach(v, i, e)
    {
        if (i)
            strcat(s, ",");
        strcat(s, json_string_value(e));
    }
    return s;
}

static void create(struct api_ctx *ctx, int webhooks)
{
    json_t *body = ctx->req->body;
    if (!json_is_object(body)) {
        api_response_error(ctx->resp, 400, "bad_json", "send a JSON object as the body");
        return;
    }
    struct store_hook_new h = {.kind = webhooks ? "webhook" : NULL};
    char *events = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        const char **dst = strcmp(key, "url") == 0      ? &h.url
                           : strcmp(key, "secret") == 0 ? &h.secret
                           : !webhooks && strcmp(key, "kind") == 0 ? &h.kind
                           : !webhooks && strcmp(key, "name") == 0 ? &h.name
                           : !webhooks && strcmp(key, "team") == 0 ? &h.team
                                                                   : NULL;
        char msg[160];
        if (dst && (json_is_string(v) || (json_is_null(v) && dst == &h.team))) {
            *dst = json_string_value(v);
        } else if (strcmp(key, "events") == 0 && !events && (events = events_list(v))) {
            ;
        } else {
            snprintf(msg, sizeof msg,
                     strcmp(key, "events") == 0 ? "events: an array of 1..32 event types"
                     : dst ? "'%.64s' is a string" : "unknown field '%.64s'",
                     key);
            free(events);
            api_response_error(ctx->resp, 400, "bad_field", msg);
            return;
        }
    }
    if (!h.url || (!webhooks && (!h.kind || !h.name)) || (webhooks && !h.secret)) {
        free(events);
        api_response_error(ctx->resp, 400, "missing_field",
                           webhooks ? "url and secret are required"
                                    : "kind, name and url are required");
        return;
    }
    const char *def = webhooks ? "*" : "created,assigned,transferred,resolved,sla_breach";
    h.events = events ? events : def;
    int64_t id = 0;
    int rc = store_hook_create(desk_store(ctx->d), ctx->who->person_id, &h, &id);
    free(events);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    api_response_json(ctx->resp, 201, json_pack("{s:I}", "id", (json_int_t)id));
}

static void delete(struct api_ctx *ctx, int webhooks)
{
    char *end = NULL;
    long long id = strtoll(ctx->req->params[0], &end, 10);
    if (!*ctx->req->params[0] || *end || id < 1) {
        api_response_error(ctx->resp, 404, "not_found", "no such id");
        return;
    }
    int rc = store_hook_delete(desk_store(ctx->d), ctx->who->person_id, webhooks, id);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    api_response_json(ctx->resp, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
}

void api_robots_list(struct api_ctx *ctx) { list(ctx, 0); }
void api_robots_create(struct api_ctx *ctx) { create(ctx, 0); }
void api_robots_delete(struct api_ctx *ctx) { delete(ctx, 0); }
void api_webhooks_list(struct api_ctx *ctx) { list(ctx, 1); }
void api_webhooks_create(struct api_ctx *ctx) { create(ctx, 1); }
void api_webhooks_delete(struct api_ctx *ctx) { delete(ctx, 1); }
