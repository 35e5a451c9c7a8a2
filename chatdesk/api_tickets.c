/* api_tickets: the service functions of the agents' workspace in the JSON
 * API (see api.h and chatdesk/openapi.yaml): teams, people, the ticket list
 * with filters and text search, editing a ticket, its history, internal
 * notes, transfers and merges, and waiting for the requester (pending,
 * resume). Who may do what is the store's one rule
 * (store_workspace.h), the same as over WebSocket; a request body is
 * checked by the WebSocket's own codec (proto_parse, on a frame built from
 * the body), so both doors accept exactly the same values. Answers:
 *
 *     STORE_ENOTFOUND   404 not_found (also a requester asking for another
 *                       person's ticket, or for any note or list)
 *     STORE_EFORBIDDEN  403 forbidden for agents (a team they are not in,
 *                       a ticket someone else holds), 404 for requesters
 *     STORE_ECONFLICT   409 conflict (an edit's "was" no longer holds:
 *                       someone changed that field meanwhile)
 *     STORE_EINVALID    422 invalid (the status does not allow it, a value
 *                       out of range), 400 bad_query for a bad list query
 *     STORE_EDB         503 db_unavailable */
#include "api.h"
#include "kb_calendar.h"
#include "kb_log.h"
#include "kb_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static void failed(struct api_ctx *ctx, int rc)
{
    int requester = ctx->who->role == DESK_REQUESTER;
    switch (rc) {
    case STORE_ENOTFOUND:
        api_response_error(ctx->resp, 404, "not_found", "no such ticket");
        break;
    case STORE_EFORBIDDEN:
        if (requester)
            api_response_error(ctx->resp, 404, "not_found", "no such ticket");
        else
            api_response_error(ctx->resp, 403, "forbidden", api_store_msg(ctx));
        break;
    case STORE_ECONFLICT:
        api_response_error(ctx->resp, 409, "conflict", api_store_msg(ctx));
        break;
    case STORE_EINVALID:
        api_response_error(ctx->resp, 422, "invalid", api_store_msg(ctx));
        break;
    case STORE_EDB:
        kb_warn("api %s: %s", ctx->req->route->name, api_store_msg(ctx));
        api_response_error(ctx->resp, 503, "db_unavailable",
                           "the database is unavailable: nothing was done; retry shortly");
        break;
    default:
        kb_warn("api %s: %s", ctx->req->route->name, api_store_msg(ctx));
        api_response_error(ctx->resp, 500, "internal", "internal error");
    }
}

/* A list read failed with rc: arr (what it gathered) is dropped, a bad
 * filter is answered 400 bad_query with the store's message, anything
 * else as failed() answers it. */
static void list_failed(struct api_ctx *ctx, int rc, json_t *arr)
{
    json_decref(arr);
    if (rc == STORE_EINVALID)
        api_response_error(ctx->resp, 400, "bad_query", api_store_msg(ctx));
    else
        failed(ctx, rc);
}

/* Requesters get 403 on staff-only collections. */
static int staff_only(struct api_ctx *ctx)
{
    if (ctx->who->role == DESK_AGENT)
        return 1;
    api_response_error(ctx->resp, 403, "forbidden", "agents and admins only");
    return 0;
}

/* Parses the body as a WebSocket frame of type with the ticket of the path
 * and the body's keys (only those in allowed). Returns 0 with *m filled
 * (desk_msg_fin), or -1 with the answer set (400). */
static int body_frame(struct api_ctx *ctx, const char *type, const char *const *allowed,
                      struct desk_msg *m)
{
    memset(m, 0, sizeof *m);
    json_t *body = ctx->req->body;
    if (!body) {
        api_response_error(ctx->resp, 400, "bad_json", "send a JSON object as the body");
        return -1;
    }
    json_t *frame = json_pack("{s:s, s:s}", "type", type, "ticket", ctx->req->params[0]);
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], key) == 0;
        if (!ok) {
            json_decref(frame);
            char msg[160];
            snprintf(msg, sizeof msg, "unknown field '%.64s'", key);
            api_response_error(ctx->resp, 400, "bad_field", msg);
            return -1;
        }
        json_object_set(frame, key, v);
    }
    size_t len;
    char *text = proto_dump(frame, &len);
    struct proto_error pe;
    int rc = proto_parse(text, len, m, &pe);
    free(text);
    if (rc) {
        api_response_error(ctx->resp, 400,
                           rc == P_MISSING_FIELD ? "missing_field" : "bad_field", pe.message);
        return -1;
    }
    return 0;
}

/* Answers with ticket {number} as GET /api/v1/tickets/{number} does; after
 * a change (event not NULL) the open pages are told too
 * (api_ticket_changed). */
static void answer_ticket(struct api_ctx *ctx, int status, const char *event)
{
    struct store_ticket t;
    int rc = store_ticket_get(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id, &t);
    if (rc == 0) {
        if (event)
            api_ticket_changed(ctx, &t, event);
        api_response_json(ctx->resp, status, api_ticket_json(ctx, &t));
    } else {
        failed(ctx, rc);
    }
    store_ticket_fin(&t);
}

/* ---- teams, people ----------------------------------------------------------- */

static int team_cb(void *arg, const struct store_team *t)
{
    json_array_append_new(arg, json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)t->id,
                                         "slug", t->slug, "name", t->name, "name_en",
                                         t->name_en ? json_string(t->name_en) : json_null(),
                                         "members", json_loads(t->members, 0, NULL)));
    return 0;
}

void api_teams_list(struct api_ctx *ctx)
{
    if (!staff_only(ctx))
        return;
    json_t *arr = json_array();
    int rc = store_teams(desk_store(ctx->d), ctx->who->person_id, team_cb, arr);
    if (rc == 0)
        api_response_json(ctx->resp, 200, json_pack("{s:o}", "teams", arr));
    else {
        json_decref(arr);
        failed(ctx, rc);
    }
}

static int person_cb(void *arg, const struct store_person *p)
{
    json_array_append_new(
        arg, json_pack("{s:I, s:s, s:o, s:s, s:o, s:o, s:b}", "id", (json_int_t)p->id, "name",
                       p->name, "username", p->username ? json_string(p->username) : json_null(),
                       "role", p->role, "roles", json_loads(p->roles, 0, NULL), "teams",
                       json_loads(p->teams, 0, NULL), "disabled", p->disabled));
    return 0;
}

void api_people_list(struct api_ctx *ctx)
{
    if (!staff_only(ctx))
        return;
    json_t *arr = json_array();
    int rc = store_people_list(desk_store(ctx->d), ctx->who->person_id,
                               api_request_arg(ctx->req, "role"),
                               api_request_arg(ctx->req, "team"), person_cb, arr);
    if (rc == 0) {
        /* a read of person records: an audit row (8.6.1) */
        const char *role = api_request_arg(ctx->req, "role"), *team = api_request_arg(ctx->req,
                                                                                    "team");
        json_t *d = json_pack("{s:s?, s:s?, s:I}", "role", role, "team", team, "count",
                              (json_int_t)json_array_size(arr));
        api_audit(ctx, "read", "person", "list", d);
        json_decref(d);
        api_response_json(ctx->resp, 200, json_pack("{s:o}", "people", arr));
        return;
    }
    list_failed(ctx, rc, arr);
}

/* ---- the list ---------------------------------------------------------------------- */

/* A time argument: Unix seconds, or a date YYYY-MM-DD (UTC; end_of_day for
 * the _to bounds: its last second). Returns 0 (absent: *out 0) or -1. */
static int time_arg(const char *v, int end_of_day, int64_t *out)
{
    *out = 0;
    if (!v)
        return 0;
    size_t n = strlen(v);
    if (n >= 1 && n <= 12 && strspn(v, "0123456789") == n) {
        *out = strtoll(v, NULL, 10);
        return *out > 0 ? 0 : -1;
    }
    int32_t days;
    if (kbcal_parse_date(v, &days) != 0)
        return -1;
    *out = (int64_t)days * 86400 + (end_of_day ? 86399 : 0);
    return 0;
}

static int list_cb(void *arg, const struct store_ticket *t, int matches)
{
    json_t *o = proto_ticket(t);
    json_object_set_new(o, "matches", json_integer(matches));
    json_array_append_new(arg, o);
    return 0;
}

void api_tickets_list(struct api_ctx *ctx)
{
    if (!staff_only(ctx))
        return;
    const struct api_request *req = ctx->req;
    struct store_ticket_filter f = {
        .status = api_request_arg(req, "status"),
        .team = api_request_arg(req, "team"),
        .category = api_request_arg(req, "category"),
        .sla = api_request_arg(req, "sla"),
        .q = api_request_arg(req, "q"),
        .sort = api_request_arg(req, "sort"),
        .after = api_request_arg(req, "after"),
    };
    const char *bad = NULL;
    const char *v = api_request_arg(req, "priority");
    if (v && !(strlen(v) == 1 && v[0] >= '1' && v[0] <= '4'))
        bad = "priority is 1..4";
    else if (v)
        f.priority = v[0] - '0';
    v = api_request_arg(req, "assignee");
    if (!bad && v) {
        char *end;
        errno = 0;
        long long id = strtoll(v, &end, 10);
        if (strcmp(v, "none") == 0)
            f.assignee = -1;
        else if (strcmp(v, "me") == 0)
            f.assignee = ctx->who->person_id;
        else if (*end || end == v || errno || id < 1)
            bad = "assignee is a person id, me or none";
        else
            f.assignee = id;
    }
    v = api_request_arg(req, "limit");
    if (!bad && v) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || end == v || n < 1 || n > 100)
            bad = "limit is 1..100";
        else
            f.limit = (int)n;
    }
    static const char *const times[] = {"created_from", "created_to", "updated_from",
                                        "updated_to"};
    int64_t *tv[] = {&f.created_from, &f.created_to, &f.updated_from, &f.updated_to};
    for (int i = 0; !bad && i < 4; i++)
        if (time_arg(api_request_arg(req, times[i]), i % 2 == 1, tv[i]))
            bad = "created_from, created_to, updated_from and updated_to are Unix seconds "
                  "or YYYY-MM-DD";
    if (!bad && f.q && (!f.q[0] || strlen(f.q) > 1000))
        bad = "q is 1..1000 bytes";
    if (bad) {
        api_response_error(ctx->resp, 400, "bad_query", bad);
        return;
    }
    json_t *arr = json_array();
    char next[STORE_CURSOR_MAX];
    int rc = store_ticket_list(desk_store(ctx->d), ctx->who->person_id, &f, list_cb, arr, next);
    if (rc == 0) {
        api_response_json(ctx->resp, 200,
                          json_pack("{s:o, s:o}", "tickets", arr, "next",
                                    next[0] ? json_string(next) : json_null()));
        return;
    }
    list_failed(ctx, rc, arr);
}

/* ---- changes ------------------------------------------------------------------------ */

/* PATCH /api/v1/tickets/{number}: summary, category, impact and urgency
 * (store_ticket_edit; a priority change recomputes the deadlines), "was":
 * the values the client started from (409 conflict when one of the
 * changed fields no longer has it, nothing written); a body
 * with "service" or "priority" sets the service level (api_sla_patch). */
void api_tickets_patch(struct api_ctx *ctx)
{
    static const char *const allowed[] = {"summary", "category", "impact", "urgency", "was", NULL};
    json_t *body = ctx->req->body;
    if (json_is_object(body) &&
        (json_object_get(body, "service") || json_object_get(body, "priority"))) {
        api_sla_patch(ctx);
        return;
    }
    struct desk_msg m;
    if (body_frame(ctx, "edit", allowed, &m))
        return;
    struct store_ticket_edit e = {m.summary,     m.category,     m.impact,     m.urgency,
                                  m.was_summary, m.was_category, m.was_impact, m.was_urgency};
    int n = 0;
    int rc = store_ticket_edit(desk_store(ctx->d), m.ticket, ctx->who->person_id, &e, &n, NULL);
    desk_msg_fin(&m);
    if (rc)
        failed(ctx, rc);
    else
        answer_ticket(ctx, 200, "edited");
}

static int event_cb(void *arg, const struct store_event *e)
{
    json_array_append_new(
        arg, json_pack("{s:I, s:s, s:o, s:o, s:s, s:o, s:o}", "id", (json_int_t)e->id, "type",
                       e->type, "by", e->actor_name ? json_string(e->actor_name) : json_null(),
                       "from", e->from_status ? json_string(e->from_status) : json_null(), "to",
                       e->to_status, "detail", json_loads(e->detail, 0, NULL), "at",
                       proto_time(e->at)));
    return 0;
}

void api_tickets_events(struct api_ctx *ctx)
{
    json_t *arr = json_array();
    int rc = store_ticket_events(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id,
                                 event_cb, arr);
    if (rc == 0)
        api_response_json(ctx->resp, 200, json_pack("{s:o}", "events", arr));
    else {
        json_decref(arr);
        failed(ctx, rc);
    }
}

void api_tickets_notes(struct api_ctx *ctx)
{
    int rc = 0;
    json_t *arr = desk_notes_json(ctx->d, ctx->req->params[0], ctx->who->person_id, &rc);
    if (arr)
        api_response_json(ctx->resp, 200, json_pack("{s:o}", "notes", arr));
    else
        failed(ctx, rc);
}

void api_tickets_note_add(struct api_ctx *ctx)
{
    static const char *const allowed[] = {"text", NULL};
    struct desk_msg m;
    if (ctx->who->role != DESK_AGENT) { /* a requester learns nothing */
        api_response_error(ctx->resp, 404, "not_found", "no such ticket");
        return;
    }
    if (body_frame(ctx, "note", allowed, &m))
        return;
    int64_t id = 0;
    int rc = store_ticket_note(desk_store(ctx->d), m.ticket, ctx->who->person_id, m.text, &id);
    if (rc == 0) {
        desk_outbox_add(ctx->out, DESK_TO_AGENTS, 0,
                        desk_note_frame(m.ticket, id, ctx->who->name, m.text, NULL));
        api_response_json(ctx->resp, 201,
                          json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)id, "by",
                                    ctx->who->name, "text", m.text, "at",
                                    proto_time(time(NULL))));
    } else {
        failed(ctx, rc);
    }
    desk_msg_fin(&m);
}

void api_tickets_transfer(struct api_ctx *ctx)
{
    static const char *const allowed[] = {"team", "agent", "reason", NULL};
    struct desk_msg m;
    if (body_frame(ctx, "transfer", allowed, &m))
        return;
    int rc = store_ticket_transfer(desk_store(ctx->d), m.ticket, ctx->who->person_id, m.team,
                                   m.agent, m.reason);
    int64_t to_agent = m.agent;
    desk_msg_fin(&m);
    if (rc)
        failed(ctx, rc);
    else
        answer_ticket(ctx, 200, to_agent ? "assigned" : "transferred");
}

void api_tickets_merge(struct api_ctx *ctx)
{
    json_t *into = ctx->req->body ? json_object_get(ctx->req->body, "into") : NULL;
    if (!json_is_string(into) || json_object_size(ctx->req->body) != 1) {
        api_response_error(ctx->resp, 400, "bad_field",
                           "send {\"into\":\"INC-...\"}: the ticket that stays");
        return;
    }
    int rc = store_ticket_merge(desk_store(ctx->d), ctx->req->params[0], json_string_value(into),
                                ctx->who->person_id);
    if (rc) {
        failed(ctx, rc);
        return;
    }
    /* the ticket that stays has a merged_from event: its open pages too */
    struct store_ticket kept;
    if (store_ticket_get(desk_store(ctx->d), json_string_value(into), ctx->who->person_id,
                         &kept) == 0)
        api_ticket_changed(ctx, &kept, "merged_from");
    store_ticket_fin(&kept);
    answer_ticket(ctx, 200, "merged");
}

/* ---- waiting for the requester (014_pause.sql) ---------------------------------- */

void api_tickets_pending(struct api_ctx *ctx)
{
    static const char *const allowed[] = {"reason", NULL};
    struct desk_msg m;
    if (!staff_only(ctx) || body_frame(ctx, "pending", allowed, &m))
        return;
    int rc = store_ticket_pending(desk_store(ctx->d), m.ticket, ctx->who->person_id, m.reason,
                                  0);
    desk_msg_fin(&m);
    if (rc)
        failed(ctx, rc);
    else
        answer_ticket(ctx, 200, "pending");
}

void api_tickets_resume(struct api_ctx *ctx)
{
    if (!staff_only(ctx))
        return;
    if (ctx->req->body && json_object_size(ctx->req->body) != 0) {
        api_response_error(ctx->resp, 400, "bad_field", "send an empty object {} (or no body)");
        return;
    }
    int rc = store_ticket_resume(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id,
                                 0);
    if (rc)
        failed(ctx, rc);
    else
        answer_ticket(ctx, 200, "resumed");
}
