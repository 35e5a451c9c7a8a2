/* api_major: the JSON API of major incidents (store_major.h, 019_major.sql):
 *   POST   /api/v1/tickets/{number}/major        declare ({"reason","message"})
 *   DELETE /api/v1/tickets/{number}/major        clear
 *   GET    /api/v1/tickets/{number}/major        the record and its links
 *   POST   /api/v1/tickets/{number}/major/links  link {"ticket":"INC-..."}
 * Agents and admins only (a requester gets 403 before anything is read);
 * declaring and clearing: admins and team leads (the store decides). The
 * frames (desk_major.c) go out once the answer is written. */
#include "api.h"
#include "desk_int.h"

#include <string.h>

static int staff(struct api_ctx *ctx)
{
    if (ctx->who->role == DESK_AGENT)
        return 1;
    api_response_error(ctx->resp, 403, "forbidden", "agents and admins only");
    return 0;
}

static json_t *major_json(const struct store_major *m)
{
    json_t *links = json_array();
    for (int i = 0; i < m->nlinked; i++)
        json_array_append_new(links, json_pack("{s:s, s:s, s:s?, s:o}", "ticket",
                                               m->linked[i].number, "status",
                                               m->linked[i].status, "summary",
                                               m->linked[i].summary, "linked_at",
                                               proto_time(m->linked[i].at)));
    return json_pack("{s:s, s:b, s:o, s:o, s:s?, s:s?, s:s?, s:o}", "ticket", m->number, "major",
                     m->declared_at && !m->cleared_at, "declared_at", proto_time(m->declared_at),
                     "cleared_at", proto_time(m->cleared_at), "declared_by", m->declared_by,
                     "reason", m->reason, "message", m->message, "linked", links);
}

/* Answers status with ticket number's record. */
static void answer(struct api_ctx *ctx, const char *number, int status)
{
    struct store_major m;
    int rc = store_major_get(desk_store(ctx->d), number, ctx->who->person_id, &m);
    if (rc)
        api_store_failed(ctx, rc);
    else
        api_response_json(ctx->resp, status, major_json(&m));
    store_major_fin(&m);
}

void api_tickets_major_get(struct api_ctx *ctx)
{
    if (staff(ctx))
        answer(ctx, ctx->req->params[0], 200);
}

void api_tickets_major(struct api_ctx *ctx)
{
    if (!staff(ctx))
        return;
    json_t *b = ctx->req->body;
    json_t *reason = b ? json_object_get(b, "reason") : NULL;
    json_t *message = b ? json_object_get(b, "message") : NULL;
    size_t known = (reason ? 1 : 0) + (message ? 1 : 0);
    if (!json_is_object(b) || !json_is_string(reason) || (message && !json_is_string(message) &&
                                                          !json_is_null(message)) ||
        json_object_size(b) != known) {
        api_response_error(ctx->resp, 400, "bad_field",
                           "send {\"reason\":\"...\"} and optionally \"message\" (to requesters)");
        return;
    }
    const char *number = ctx->req->params[0];
    int declared = 0;
    int rc = store_major_declare(desk_store(ctx->d), number, ctx->who->person_id,
                                 json_string_value(reason),
                                 json_is_string(message) ? json_string_value(message) : NULL, 0,
                                 desk_major_told, ctx->out, &declared);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    if (declared)
        desk_major_changed(ctx->d, ctx->out, number, "declared");
    answer(ctx, number, declared ? 201 : 200);
}

void api_tickets_major_clear(struct api_ctx *ctx)
{
    if (!staff(ctx))
        return;
    const char *number = ctx->req->params[0];
    int rc = store_major_clear(desk_store(ctx->d), number, ctx->who->person_id, 0,
                               desk_major_told, ctx->out);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    desk_major_changed(ctx->d, ctx->out, number, "cleared");
    answer(ctx, number, 200);
}

void api_tickets_major_link(struct api_ctx *ctx)
{
    if (!staff(ctx))
        return;
    json_t *b = ctx->req->body;
    json_t *t = b ? json_object_get(b, "ticket") : NULL;
    if (!json_is_string(t) || json_object_size(b) != 1) {
        api_response_error(ctx->resp, 400, "bad_field",
                           "send {\"ticket\":\"INC-...\"}: the affected ticket");
        return;
    }
    const char *number = ctx->req->params[0];
    int added = 0;
    int rc = store_major_link(desk_store(ctx->d), number, json_string_value(t),
                              ctx->who->person_id, 0, &added);
    if (rc) {
        api_store_failed(ctx, rc);
        return;
    }
    if (added)
        desk_major_changed(ctx->d, ctx->out, number, "linked");
    answer(ctx, number, added ? 201 : 200);
}
