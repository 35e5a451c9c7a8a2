/* api_sla: the service-level part of chatdesk's JSON API: the service
 * catalogue with its policies (GET /api/v1/services), a calendar version
 * (GET /api/v1/calendars/{name}[?version=N]), the SLA object of a
 * ticket (GET /api/v1/tickets/{number} calls api_sla_ticket) and an
 * agent's change of a ticket's service or priority (PATCH
 * /api/v1/tickets/{number}). Any signed-in
 * person may read the catalogue and calendars (they say when the desk
 * works); a ticket's SLA follows the ticket's own permissions. */
#include "api.h"
#include "kb_log.h"

#include <stdlib.h>
#include <string.h>

static void failed(struct api_ctx *ctx, int rc)
{
    if (rc == STORE_EDB) {
        kb_warn("api %s: %s", ctx->req->route->name, store_errmsg(desk_store(ctx->d)));
        api_response_error(ctx->resp, 503, "db_unavailable",
                           "the database is unavailable: nothing was done; retry shortly");
        return;
    }
    kb_warn("api %s: %s", ctx->req->route->name, store_errmsg(desk_store(ctx->d)));
    api_response_error(ctx->resp, 500, "internal", "internal error");
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int service_json(void *arg, const struct store_service *v)
{
    json_t *pols = json_array();
    for (int p = 0; p < 4; p++)
        if (v->policy[p].priority)
            json_array_append_new(
                pols, json_pack("{s:i, s:f, s:f, s:i}", "priority", v->policy[p].priority,
                                "response_minutes", v->policy[p].response_minutes,
                                "resolve_minutes", v->policy[p].resolve_minutes, "warn_percent",
                                v->policy[p].warn_percent));
    json_array_append_new(arg, json_pack("{s:s, s:s, s:o, s:o, s:s, s:b, s:o}", "name", v->name,
                                         "title", v->title, "owner_team",
                                         str_or_null(v->owner_team), "description",
                                         str_or_null(v->description), "calendar", v->calendar,
                                         "default", v->is_default, "policies", pols));
    return 0;
}

void api_services_list(struct api_ctx *ctx)
{
    json_t *list = json_array();
    int rc = store_services(desk_store(ctx->d), service_json, list);
    if (rc == 0)
        api_response_json(ctx->resp, 200, json_pack("{s:o}", "services", list));
    else {
        json_decref(list);
        failed(ctx, rc);
    }
}

void api_calendars_get(struct api_ctx *ctx)
{
    int version = 0;
    if (api_version_arg(ctx, &version))
        return;
    struct store_calendar c;
    int rc = store_calendar_get(desk_store(ctx->d), ctx->req->params[0], version, &c);
    if (rc == 0) {
        json_t *body = json_loads(c.body, 0, NULL);
        api_response_json(ctx->resp, 200,
                          json_pack("{s:s, s:o, s:i, s:i, s:s, s:o, s:o}", "name", c.name,
                                    "title", c.title[0] ? json_string(c.title) : json_null(),
                                    "version", c.version, "current_version", c.current_version,
                                    "tz", c.tz, "created_at", proto_time(c.created_at),
                                    "calendar", body ? body : json_null()));
    } else if (rc == STORE_ENOTFOUND) {
        api_response_error(ctx->resp, 404, "not_found",
                           version ? "no such calendar or version" : "no such calendar");
    } else {
        failed(ctx, rc);
    }
    store_calendar_fin(&c);
}

json_t *api_sla_ticket(struct api_ctx *ctx, const char *number)
{
    struct store_ticket_sla s;
    int rc = store_ticket_sla_get(desk_store(ctx->d), number, ctx->who->person_id, &s);
    if (rc) {
        if (rc != STORE_ENOTFOUND)
            kb_warn("api %s: %s", ctx->req->route->name, store_errmsg(desk_store(ctx->d)));
        return NULL;
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:f, s:f, s:i}", "state", s.state,
                          "service", s.service, "service_title", s.service_title, "priority",
                          s.priority, "calendar", s.calendar, "calendar_version",
                          s.calendar_version, "response_minutes", s.response_minutes,
                          "resolve_minutes", s.resolve_minutes, "warn_percent", s.warn_percent);
    const struct {
        const char *key;
        int64_t t;
    } times[] = {
        {"started_at", s.started_at},
        {"response_due", s.response_due},
        {"resolve_due", s.resolve_due},
        {"response_warn_at", s.response_warn_at},
        {"resolve_warn_at", s.resolve_warn_at},
        {"response_warned_at", s.response_warned_at},
        {"response_breached_at", s.response_breached_at},
        {"resolve_warned_at", s.resolve_warned_at},
        {"resolve_breached_at", s.resolve_breached_at},
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        json_object_set_new(o, times[i].key, proto_time(times[i].t));
    /* the resolution clock's pauses (waiting for the requester): since
     * when it is paused (null: running) and the seconds of all pauses */
    json_object_set_new(o, "paused_since", proto_time(s.paused_since));
    json_object_set_new(o, "paused_seconds", json_integer(s.paused_seconds));
    return o;
}

/* PATCH /api/v1/tickets/{number} with {"service":"network"} or
 * {"priority":1} (agents; api_tickets_patch hands these here): the ticket's
 * deadlines are recomputed (store_sla_set_service / store_sla_set_priority,
 * an sla_applied event); answers the ticket like GET. One change per
 * request, so each is one transaction. */
void api_sla_patch(struct api_ctx *ctx)
{
    json_t *body = ctx->req->body;
    if (!json_is_object(body)) {
        api_response_error(ctx->resp, 400, "bad_json",
                           "send {\"service\":NAME} or {\"priority\":1..4} as the JSON body");
        return;
    }
    json_t *svc = json_object_get(body, "service"), *pr = json_object_get(body, "priority");
    if (json_object_size(body) != 1 || (!svc && !pr) || (svc && !json_is_string(svc) &&
                                                         !json_is_null(svc)) ||
        (pr && !json_is_integer(pr))) {
        api_response_error(ctx->resp, 400, "bad_field",
                           "\"service\" (a name, or null: the default) and \"priority\" (an"
                           " integer) are changed alone, one per request");
        return;
    }
    if (ctx->who->role != DESK_AGENT) { /* a requester learns nothing, as for field edits */
        api_response_error(ctx->resp, 404, "not_found", "no such ticket");
        return;
    }
    struct store *st = desk_store(ctx->d);
    const char *number = ctx->req->params[0];
    struct store_ticket t;
    int rc = store_ticket_get(st, number, ctx->who->person_id, &t);
    store_ticket_fin(&t);
    if (rc == 0) {
        if (svc)
            rc = store_sla_set_service(st, number, ctx->who->person_id, json_string_value(svc));
        else
            rc = store_sla_set_priority(st, number, ctx->who->person_id,
                                        (int)json_integer_value(pr));
        if (rc == STORE_ENOTFOUND) /* the ticket exists: the service does not */
            rc = STORE_EINVALID;
    }
    if (rc == 0)
        rc = store_ticket_get(st, number, ctx->who->person_id, &t);
    if (rc == 0) {
        api_ticket_changed(ctx, &t, "sla_applied");
        api_response_json(ctx->resp, 200, api_ticket_json(ctx, &t));
    } else if (rc == STORE_ENOTFOUND) {
        api_response_error(ctx->resp, 404, "not_found", "no such ticket");
    } else if (rc == STORE_EFORBIDDEN) {
        api_response_error(ctx->resp, 403, "forbidden", "agents change a ticket's service level");
    } else if (rc == STORE_EINVALID) {
        /* the store's message says what: unknown service, no policy, closed */
        const char *m = store_errmsg(st);
        const char *e = strrchr(m, ']');
        api_response_error(ctx->resp, 422, "invalid", e ? e + 2 : m);
    } else {
        failed(ctx, rc);
    }
    store_ticket_fin(&t);
}

/* ---- escalation rules and quiet hours (018_escal) ------------------------------ */

static int rule_json(void *arg, const struct store_esc_rule_row *r)
{
    json_t *o = json_pack("{s:i, s:o, s:o, s:s, s:o, s:s, s:o, s:o}", "position", r->position,
                          "service", str_or_null(r->service), "priority",
                          r->priority ? json_integer(r->priority) : json_null(), "on",
                          r->on_kind, "target", str_or_null(r->target), "action", r->action,
                          "to_team", str_or_null(r->to_team), "notify", str_or_null(r->notify));
    json_array_append_new(json_object_get(arg, "rules"), o);
    return 0;
}

static int quiet_json(void *arg, const struct store_quiet_row *q)
{
    json_array_append_new(json_object_get(arg, "quiet_hours"),
                          json_pack("{s:s, s:s, s:s}", "calendar", q->calendar, "from", q->from,
                                    "to", q->to));
    return 0;
}

void api_escalation_rules(struct api_ctx *ctx)
{
    json_t *o = json_pack("{s:[], s:[]}", "rules", "quiet_hours");
    int rc = store_escalation_list(desk_store(ctx->d), ctx->who->person_id, rule_json,
                                   quiet_json, o);
    if (rc == 0)
        api_response_json(ctx->resp, 200, o);
    else {
        json_decref(o);
        api_store_failed(ctx, rc);
    }
}
