/* api: the service functions of chatdesk's JSON API (/api/v1, described in
 * chatdesk/openapi.yaml). Like desk_on_message, they take a request struct
 * and fill a response struct, never see a socket, and run on a worker
 * thread with that worker's struct desk (its PostgreSQL connection).
 *
 * Authentication is the WebSocket's: POST /api/v1/sessions runs the very
 * same `login` request through desk_on_message (password check, session
 * creation, and whatever else login does), and a bearer token is a session
 * token of either kind, checked like every WebSocket frame of a signed-in
 * client (live, not ended, person not disabled; a use keeps it alive).
 * Row permissions are the store's, as for the WebSocket: a requester sees
 * only their own tickets, and someone else's ticket is answered exactly
 * like a ticket that does not exist (404 not_found). */
#ifndef CD_API_H
#define CD_API_H

#include "desk.h"
#include "httpreq.h"
#include "router.h"

/* One request on its way through a worker: the transport fills req and
 * frees both with api_call_free once resp is written. */
struct api_call {
    struct api_request req;
    struct api_response resp;
};

/* Frees call's request and response and call. NULL is a no-op. */
void api_call_free(struct api_call *call);

/* What a handler gets. */
struct api_ctx {
    struct desk *d;
    const struct desk_config *cfg;
    const struct desk_client *who;   /* the token's person (role DESK_NONE
                                        for routes without auth) */
    const struct api_request *req;
    struct api_response *resp;
    struct desk_outbox *out;         /* frames for WebSocket clients (people,
                                        agents, conversations; never
                                        DESK_TO_SELF), delivered once the
                                        answer is written; NULL: none */
};

/* Answers req (req->route set by router_match) into resp (zeroed by the
 * caller, freed with api_response_fin): authenticates the bearer token when
 * the route needs it (401 unauthorized, 503 db_unavailable) and calls the
 * route's handler, which may add frames for WebSocket clients to out (the
 * caller's; NULL: they are dropped). Never fails: every problem is an error
 * response. */
void api_handle(struct desk *d, const struct desk_config *cfg, const struct api_request *req,
                struct api_response *resp, struct desk_outbox *out);

/* An audit row (action "read", "change" or "export") for the caller's
 * access to an object; detail may be NULL (borrowed). A failure is logged:
 * the answer goes out (api.c). */
void api_audit(struct api_ctx *ctx, const char *action, const char *object_type,
               const char *object_id, const json_t *detail);

/* The store's last message without its "[store][op] " prefix (api.c). */
const char *api_store_msg(struct api_ctx *ctx);

/* Answers a store failure rc: 404 not_found, 403 forbidden, 409 conflict,
 * 422 invalid with the store's message; 503 db_unavailable; else 500
 * (logged) (api.c). */
void api_store_failed(struct api_ctx *ctx, int rc);

/* A string member of a request body and where it goes. */
struct api_strfield {
    const char *name;
    size_t off; /* of a const char * in the caller's struct */
};

/* Points the caller's fields (base + off) at the body's string members
 * named in t[0..n) (borrowed from the body); the member named extra (may
 * be NULL) is left for the caller; any other member, or a non-string one,
 * is 400 bad_field, and no body 400 bad_json. Returns 0 or -1 (answered)
 * (api.c). */
int api_body_fields(struct api_ctx *ctx, const struct api_strfield *t, size_t n, void *base,
                    const char *extra);

/* api_body_fields over any object obj of the body (where: its name in
 * messages, "was" for body.was, "" for the body itself), leaving the members
 * named in extras (NULL-terminated, may be NULL) to the caller. */
int api_object_fields(struct api_ctx *ctx, const json_t *obj, const char *where,
                      const struct api_strfield *t, size_t n, void *base,
                      const char *const *extras);

/* The body's string member req into *req_v (absent or not a string: 400
 * missing_field with the message missing) and its optional string member
 * opt into *opt_v (absent or null: NULL; anything else: 400 bad_field
 * "<opt> must be a string"), both borrowed from the body; other members
 * are not looked at. Returns 0 or -1 (answered) (api.c). */
int api_body_str_and_opt(struct api_ctx *ctx, const char *req, const char *missing,
                         const char **req_v, const char *opt, const char **opt_v);

/* A keyset page's arguments: ?<key>= (an id, default 0) and ?limit=
 * (1..max, default def). 400 bad_query when one is not. Returns 0 or -1
 * (answered) (api.c). */
int api_page_args(struct api_ctx *ctx, const char *key, long long *at, long *limit, long def,
                  long max);

/* Answers a page: rc 0 is 200 {"items": items, "next_<key>": the last
 * item's "id" when the page is full}; STORE_EINVALID 400 bad_query; other
 * failures as api_store_failed. Takes items (api.c). */
void api_page_answer(struct api_ctx *ctx, int rc, json_t *items, long limit, const char *next);

/* ?version=N (an integer >= 1) into *version (absent: left as it is).
 * Returns 0, or -1 with 400 bad_query answered (api.c). */
int api_version_arg(struct api_ctx *ctx, int *version);

/* The handlers (router.c's table). */
void api_sessions_create(struct api_ctx *ctx); /* POST /api/v1/sessions */
void api_sessions_delete(struct api_ctx *ctx); /* DELETE /api/v1/sessions/current */
void api_me_get(struct api_ctx *ctx);          /* GET /api/v1/me */
void api_tickets_get(struct api_ctx *ctx);     /* GET /api/v1/tickets/{number} */

/* a requester's own tickets (api_portal.c) */
void api_me_tickets(struct api_ctx *ctx);         /* GET /api/v1/me/tickets */

/* /api/v1/knowledge (api_knowledge.c) */
void api_knowledge_create(struct api_ctx *ctx);   /* POST /api/v1/knowledge */
void api_knowledge_list(struct api_ctx *ctx);     /* GET /api/v1/knowledge */
void api_knowledge_get(struct api_ctx *ctx);      /* GET /api/v1/knowledge/{id} */
void api_knowledge_put(struct api_ctx *ctx);      /* PUT /api/v1/knowledge/{id} */
void api_knowledge_patch(struct api_ctx *ctx);    /* PATCH /api/v1/knowledge/{id} */
void api_knowledge_versions(struct api_ctx *ctx); /* GET .../{id}/versions */
void api_knowledge_restore(struct api_ctx *ctx);  /* POST .../{id}/versions/{n}/restore */
void api_knowledge_submit(struct api_ctx *ctx);   /* POST .../{id}/submit */
void api_knowledge_approve(struct api_ctx *ctx);  /* POST .../{id}/approve */
void api_knowledge_return(struct api_ctx *ctx);   /* POST .../{id}/return */
void api_knowledge_publish(struct api_ctx *ctx);  /* POST .../{id}/publish */
void api_knowledge_retire(struct api_ctx *ctx);   /* POST .../{id}/retire */
/* knowledge use (api_knowledge.c): any document id of the index or the desk */
void api_knowledge_feedback(struct api_ctx *ctx); /* POST .../{id}/feedback */
void api_knowledge_stats(struct api_ctx *ctx);    /* GET .../{id}/stats */
void api_knowledge_feedback_list(struct api_ctx *ctx); /* GET .../{id}/feedback */

/* /api/v1/problems (api_problem.c) */
void api_problems_create(struct api_ctx *ctx);      /* POST /api/v1/problems */
void api_problems_list(struct api_ctx *ctx);        /* GET /api/v1/problems */
void api_problems_get(struct api_ctx *ctx);         /* GET /api/v1/problems/{number} */
void api_problems_patch(struct api_ctx *ctx);       /* PATCH /api/v1/problems/{number} */
void api_problems_step(struct api_ctx *ctx);        /* POST .../{number}/steps */
void api_problems_link(struct api_ctx *ctx);        /* POST .../{number}/incidents */
void api_problems_unlink(struct api_ctx *ctx);      /* DELETE .../{number}/incidents/{ticket} */
void api_problems_known_error(struct api_ctx *ctx); /* POST .../{number}/known-error */
void api_tickets_problems(struct api_ctx *ctx);     /* GET /api/v1/tickets/{number}/problems */

void api_audit_list(struct api_ctx *ctx); /* GET /api/v1/audit (admins) */

/* /api/v1/reports (api_report.c) */
void api_reports_indicators(struct api_ctx *ctx); /* GET /api/v1/reports/indicators */
void api_reports_documents(struct api_ctx *ctx);  /* GET /api/v1/reports/documents */
void api_reports_queries(struct api_ctx *ctx);    /* GET /api/v1/reports/queries */
/* GET /api/v1/reports/indicators/{name}/items: the rows behind a figure */
void api_reports_items(struct api_ctx *ctx);
void api_tickets_followup(struct api_ctx *ctx);   /* POST /api/v1/tickets/{number}/followup */
void api_followups_due(struct api_ctx *ctx);      /* GET /api/v1/followups */

/* /api/v1/cis (api_ci.c) */
void api_cis_create(struct api_ctx *ctx);   /* POST /api/v1/cis */
void api_cis_list(struct api_ctx *ctx);     /* GET /api/v1/cis */
void api_cis_get(struct api_ctx *ctx);      /* GET /api/v1/cis/{code} */
void api_cis_patch(struct api_ctx *ctx);    /* PATCH /api/v1/cis/{code} */
void api_cis_retire(struct api_ctx *ctx);   /* POST .../{code}/retire */
void api_cis_relate(struct api_ctx *ctx);   /* POST .../{code}/relations */
void api_cis_unrelate(struct api_ctx *ctx); /* DELETE .../{code}/relations/{type}/{to} */
void api_cis_refer(struct api_ctx *ctx);    /* POST .../{code}/refs */
void api_cis_unrefer(struct api_ctx *ctx);  /* DELETE .../{code}/refs/{kind}/{ref} */
void api_tickets_cis(struct api_ctx *ctx);  /* GET /api/v1/tickets/{number}/cis */
/* POST /api/v1/tickets/{number}/knowledge: a draft from a resolved ticket */
void api_tickets_knowledge(struct api_ctx *ctx);

/* service levels (api_sla.c) */
void api_services_list(struct api_ctx *ctx); /* GET /api/v1/services */
void api_calendars_get(struct api_ctx *ctx); /* GET /api/v1/calendars/{name} */
/* PATCH /api/v1/tickets/{number} with "service" or "priority" (called by
 * api_tickets_patch) */
void api_sla_patch(struct api_ctx *ctx);
/* The full SLA object of ticket number as the caller may see it (the
 * ticket's permissions), caller owns it; NULL when the ticket has no clock
 * or it cannot be read (the ticket's answer then keeps its short "sla"). */
json_t *api_sla_ticket(struct api_ctx *ctx, const char *number);
/* The ticket t as the API answers it (GET, PATCH, notes, transfers):
 * proto_ticket with the whole SLA object when it has a clock. Caller owns
 * the result. */
json_t *api_ticket_json(struct api_ctx *ctx, const struct store_ticket *t);
/* After a change to ticket t through the API: the ticket frame to its
 * requester's connections and {"type":"queue_update","event":event} to
 * every agent, as the WebSocket's changes send them (desk_ticket_changed),
 * so that open pages show it at once. */
void api_ticket_changed(struct api_ctx *ctx, const struct store_ticket *t, const char *event);

/* the agents' workspace (api_tickets.c) */
void api_teams_list(struct api_ctx *ctx);       /* GET /api/v1/teams */
void api_people_list(struct api_ctx *ctx);      /* GET /api/v1/people */
void api_tickets_list(struct api_ctx *ctx);     /* GET /api/v1/tickets */
void api_tickets_patch(struct api_ctx *ctx);    /* PATCH /api/v1/tickets/{number} */
void api_tickets_events(struct api_ctx *ctx);   /* GET .../{number}/events */
void api_tickets_notes(struct api_ctx *ctx);    /* GET .../{number}/notes */
void api_tickets_note_add(struct api_ctx *ctx); /* POST .../{number}/notes */
void api_tickets_transfer(struct api_ctx *ctx); /* POST .../{number}/transfer */
void api_tickets_merge(struct api_ctx *ctx);    /* POST .../{number}/merge */
/* waiting for the requester (api_tickets.c): the holder sets it, with
 * {"reason"}, or ends it; 200 with the ticket, 422 in a status that does
 * not allow it, 403 for another agent's ticket or a requester */
void api_tickets_pending(struct api_ctx *ctx);  /* POST .../{number}/pending */
void api_tickets_resume(struct api_ctx *ctx);   /* POST .../{number}/resume */
/* desk_work.c: a ticket's notes as JSON for viewer (NULL on failure, *rc) */
json_t *desk_notes_json(struct desk *d, const char *number, int64_t viewer, int *rc);
/* desk_work.c: the frame {"type":"note","ticket",...,"note":{id,by,text,at}}
 * that tells every agent of a new note (request_id: the writer's frame id,
 * NULL over the API); caller owns it */
json_t *desk_note_frame(const char *ticket, int64_t id, const char *by, const char *text,
                        const char *request_id);

/* escalation rules and quiet hours (api_sla.c): GET /api/v1/escalation-rules */
void api_escalation_rules(struct api_ctx *ctx);
/* the administration page (api_admin.c): administrators only, 403 for
 * anyone else; every change audited */
void api_admin_people(struct api_ctx *ctx);          /* GET /api/v1/admin/people */
void api_admin_person_patch(struct api_ctx *ctx);    /* PATCH /api/v1/admin/people/{id} */
void api_admin_team_create(struct api_ctx *ctx);     /* POST /api/v1/admin/teams */
void api_admin_team_patch(struct api_ctx *ctx);      /* PATCH /api/v1/admin/teams/{slug} */
void api_admin_member_put(struct api_ctx *ctx);      /* PUT .../teams/{slug}/members/{id} */
void api_admin_member_delete(struct api_ctx *ctx);   /* DELETE .../teams/{slug}/members/{id} */
void api_admin_categories(struct api_ctx *ctx);      /* GET /api/v1/admin/categories */
void api_admin_category_create(struct api_ctx *ctx); /* POST /api/v1/admin/categories */
void api_admin_category_patch(struct api_ctx *ctx);  /* PATCH /api/v1/admin/categories/{id} */
void api_admin_category_delete(struct api_ctx *ctx); /* DELETE /api/v1/admin/categories/{id} */
void api_admin_settings(struct api_ctx *ctx);        /* GET /api/v1/admin/settings */
void api_admin_settings_patch(struct api_ctx *ctx);  /* PATCH /api/v1/admin/settings */
/* notifications (api_hooks.c) */
void api_me_prefs_get(struct api_ctx *ctx);    /* GET /api/v1/me/preferences */
void api_me_prefs_put(struct api_ctx *ctx);    /* PUT /api/v1/me/preferences */
void api_robots_list(struct api_ctx *ctx);     /* GET /api/v1/robots (admins) */
void api_robots_create(struct api_ctx *ctx);   /* POST /api/v1/robots */
void api_robots_delete(struct api_ctx *ctx);   /* DELETE /api/v1/robots/{id} */
void api_webhooks_list(struct api_ctx *ctx);   /* GET /api/v1/webhooks (admins) */
void api_webhooks_create(struct api_ctx *ctx); /* POST /api/v1/webhooks */
void api_webhooks_delete(struct api_ctx *ctx); /* DELETE /api/v1/webhooks/{id} */

/* major incidents (api_major.c, 019_major.sql) */
void api_tickets_major(struct api_ctx *ctx);       /* POST .../tickets/{number}/major */
void api_tickets_major_clear(struct api_ctx *ctx); /* DELETE .../tickets/{number}/major */
void api_tickets_major_get(struct api_ctx *ctx);   /* GET .../tickets/{number}/major */
void api_tickets_major_link(struct api_ctx *ctx);  /* POST .../{number}/major/links */
/* attachments (api_attach.c) */
void api_attachments_upload(struct api_ctx *ctx);  /* POST /api/v1/attachments (a file) */
void api_attachments_get(struct api_ctx *ctx);     /* GET /api/v1/attachments/{id} */
void api_tickets_attach(struct api_ctx *ctx);      /* POST .../{number}/attachments */
void api_tickets_attachments(struct api_ctx *ctx); /* GET .../{number}/attachments */

#endif
