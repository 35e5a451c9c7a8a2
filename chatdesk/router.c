/* router: chatdesk's API routes and path matching (see router.h). Adding
 * an endpoint is one line here, one service function in api.c and its
 * description in chatdesk/openapi.yaml. */
#include "router.h"
#include "api.h"

#include <stdio.h>
#include <string.h>

const struct router_route router_routes[] = {
    {API_M_POST, "/api/v1/sessions", api_sessions_create, 0, "sessions.create", 1},
    {API_M_DELETE, "/api/v1/sessions/current", api_sessions_delete, 1, "sessions.delete", 0},
    {API_M_GET, "/api/v1/me", api_me_get, 1, "me.get", 0},
    {API_M_GET, "/api/v1/tickets/{number}", api_tickets_get, 1, "tickets.get", 0},
    {API_M_POST, "/api/v1/knowledge", api_knowledge_create, 1, "knowledge.create", 0},
    {API_M_GET, "/api/v1/knowledge", api_knowledge_list, 1, "knowledge.list", 0},
    {API_M_GET, "/api/v1/knowledge/{id}", api_knowledge_get, 1, "knowledge.get", 0},
    {API_M_PUT, "/api/v1/knowledge/{id}", api_knowledge_put, 1, "knowledge.put", 0},
    {API_M_PATCH, "/api/v1/knowledge/{id}", api_knowledge_patch, 1, "knowledge.patch", 0},
    {API_M_GET, "/api/v1/knowledge/{id}/versions", api_knowledge_versions, 1,
     "knowledge.versions", 0},
    {API_M_POST, "/api/v1/knowledge/{id}/versions/{n}/restore", api_knowledge_restore, 1,
     "knowledge.restore", 0},
    {API_M_POST, "/api/v1/knowledge/{id}/submit", api_knowledge_submit, 1, "knowledge.submit",
     0},
    {API_M_POST, "/api/v1/knowledge/{id}/approve", api_knowledge_approve, 1,
     "knowledge.approve", 0},
    {API_M_POST, "/api/v1/knowledge/{id}/return", api_knowledge_return, 1, "knowledge.return",
     0},
    {API_M_POST, "/api/v1/knowledge/{id}/publish", api_knowledge_publish, 1,
     "knowledge.publish", 0},
    {API_M_POST, "/api/v1/knowledge/{id}/retire", api_knowledge_retire, 1, "knowledge.retire",
     0},
    /* service levels (api_sla.c) */
    {API_M_GET, "/api/v1/services", api_services_list, 1, "services.list", 0},
    {API_M_GET, "/api/v1/calendars/{name}", api_calendars_get, 1, "calendars.get", 0},
    {API_M_POST, "/api/v1/problems", api_problems_create, 1, "problems.create", 0},
    {API_M_GET, "/api/v1/problems", api_problems_list, 1, "problems.list", 0},
    {API_M_GET, "/api/v1/problems/{number}", api_problems_get, 1, "problems.get", 0},
    {API_M_PATCH, "/api/v1/problems/{number}", api_problems_patch, 1, "problems.patch", 0},
    {API_M_POST, "/api/v1/problems/{number}/steps", api_problems_step, 1, "problems.step", 0},
    {API_M_POST, "/api/v1/problems/{number}/incidents", api_problems_link, 1, "problems.link",
     0},
    {API_M_DELETE, "/api/v1/problems/{number}/incidents/{ticket}", api_problems_unlink, 1,
     "problems.unlink", 0},
    {API_M_POST, "/api/v1/problems/{number}/known-error", api_problems_known_error, 1,
     "problems.known_error", 0},
    {API_M_GET, "/api/v1/tickets/{number}/problems", api_tickets_problems, 1,
     "tickets.problems", 0},
    /* knowledge use: counters and readers' feedback */
    {API_M_POST, "/api/v1/knowledge/{id}/feedback", api_knowledge_feedback, 1,
     "knowledge.feedback", 0},
    {API_M_GET, "/api/v1/knowledge/{id}/feedback", api_knowledge_feedback_list, 1,
     "knowledge.feedback_list", 0},
    {API_M_GET, "/api/v1/knowledge/{id}/stats", api_knowledge_stats, 1, "knowledge.stats", 0},
    {API_M_GET, "/api/v1/audit", api_audit_list, 1, "audit.list", 0},
    {API_M_GET, "/api/v1/reports/indicators", api_reports_indicators, 1, "reports.indicators",
     0},
    {API_M_GET, "/api/v1/reports/documents", api_reports_documents, 1, "reports.documents", 0},
    {API_M_GET, "/api/v1/reports/queries", api_reports_queries, 1, "reports.queries", 0},
    {API_M_POST, "/api/v1/tickets/{number}/followup", api_tickets_followup, 1,
     "tickets.followup", 0},
    {API_M_GET, "/api/v1/followups", api_followups_due, 1, "followups.due", 0},
    /* configuration items */
    {API_M_POST, "/api/v1/cis", api_cis_create, 1, "cis.create", 0},
    {API_M_GET, "/api/v1/cis", api_cis_list, 1, "cis.list", 0},
    {API_M_GET, "/api/v1/cis/{code}", api_cis_get, 1, "cis.get", 0},
    {API_M_PATCH, "/api/v1/cis/{code}", api_cis_patch, 1, "cis.patch", 0},
    {API_M_POST, "/api/v1/cis/{code}/retire", api_cis_retire, 1, "cis.retire", 0},
    {API_M_POST, "/api/v1/cis/{code}/relations", api_cis_relate, 1, "cis.relate", 0},
    {API_M_DELETE, "/api/v1/cis/{code}/relations/{type}/{to}", api_cis_unrelate, 1,
     "cis.unrelate", 0},
    {API_M_POST, "/api/v1/cis/{code}/refs", api_cis_refer, 1, "cis.refer", 0},
    {API_M_DELETE, "/api/v1/cis/{code}/refs/{kind}/{ref}", api_cis_unrefer, 1, "cis.unrefer", 0},
    {API_M_GET, "/api/v1/tickets/{number}/cis", api_tickets_cis, 1, "tickets.cis", 0},
    /* knowledge from a ticket (api_knowledge.c) */
    {API_M_POST, "/api/v1/tickets/{number}/knowledge", api_tickets_knowledge, 1,
     "tickets.knowledge", 0},
    /* a requester's own tickets (api_portal.c) */
    {API_M_GET, "/api/v1/me/tickets", api_me_tickets, 1, "me.tickets", 0},
    /* the agents' workspace (api_tickets.c) */
    {API_M_GET, "/api/v1/teams", api_teams_list, 1, "teams.list", 0},
    {API_M_GET, "/api/v1/people", api_people_list, 1, "people.list", 0},
    {API_M_GET, "/api/v1/tickets", api_tickets_list, 1, "tickets.list", 0},
    {API_M_PATCH, "/api/v1/tickets/{number}", api_tickets_patch, 1, "tickets.patch", 0},
    {API_M_GET, "/api/v1/tickets/{number}/events", api_tickets_events, 1, "tickets.events", 0},
    {API_M_GET, "/api/v1/tickets/{number}/notes", api_tickets_notes, 1, "tickets.notes", 0},
    {API_M_POST, "/api/v1/tickets/{number}/notes", api_tickets_note_add, 1, "tickets.note_add",
     0},
    {API_M_POST, "/api/v1/tickets/{number}/transfer", api_tickets_transfer, 1,
     "tickets.transfer", 0},
    {API_M_POST, "/api/v1/tickets/{number}/merge", api_tickets_merge, 1, "tickets.merge", 0},
    /* reports: the rows behind a figure (api_report.c) */
    {API_M_GET, "/api/v1/reports/indicators/{name}/items", api_reports_items, 1,
     "reports.items", 0},
    /* waiting for the requester (api_tickets.c) */
    {API_M_POST, "/api/v1/tickets/{number}/pending", api_tickets_pending, 1, "tickets.pending",
     0},
    {API_M_POST, "/api/v1/tickets/{number}/resume", api_tickets_resume, 1, "tickets.resume", 0},
    /* the administration page (api_admin.c) */
    {API_M_GET, "/api/v1/admin/people", api_admin_people, 1, "admin.people", 0},
    {API_M_PATCH, "/api/v1/admin/people/{id}", api_admin_person_patch, 1, "admin.person_patch",
     0},
    {API_M_POST, "/api/v1/admin/teams", api_admin_team_create, 1, "admin.team_create", 0},
    {API_M_PATCH, "/api/v1/admin/teams/{slug}", api_admin_team_patch, 1, "admin.team_patch", 0},
    {API_M_PUT, "/api/v1/admin/teams/{slug}/members/{id}", api_admin_member_put, 1,
     "admin.member_put", 0},
    {API_M_DELETE, "/api/v1/admin/teams/{slug}/members/{id}", api_admin_member_delete, 1,
     "admin.member_delete", 0},
    {API_M_GET, "/api/v1/admin/categories", api_admin_categories, 1, "admin.categories", 0},
    {API_M_POST, "/api/v1/admin/categories", api_admin_category_create, 1,
     "admin.category_create", 0},
    {API_M_PATCH, "/api/v1/admin/categories/{id}", api_admin_category_patch, 1,
     "admin.category_patch", 0},
    {API_M_DELETE, "/api/v1/admin/categories/{id}", api_admin_category_delete, 1,
     "admin.category_delete", 0},
    {API_M_GET, "/api/v1/admin/settings", api_admin_settings, 1, "admin.settings", 0},
    {API_M_PATCH, "/api/v1/admin/settings", api_admin_settings_patch, 1, "admin.settings_patch",
     0},
    /* notifications: preferences, group robots, webhooks (api_hooks.c) */
    {API_M_GET, "/api/v1/me/preferences", api_me_prefs_get, 1, "me.preferences_get", 0},
    {API_M_PUT, "/api/v1/me/preferences", api_me_prefs_put, 1, "me.preferences_put", 0},
    {API_M_GET, "/api/v1/robots", api_robots_list, 1, "robots.list", 0},
    {API_M_POST, "/api/v1/robots", api_robots_create, 1, "robots.create", 0},
    {API_M_DELETE, "/api/v1/robots/{id}", api_robots_delete, 1, "robots.delete", 0},
    {API_M_GET, "/api/v1/webhooks", api_webhooks_list, 1, "webhooks.list", 0},
    {API_M_POST, "/api/v1/webhooks", api_webhooks_create, 1, "webhooks.create", 0},
    {API_M_DELETE, "/api/v1/webhooks/{id}", api_webhooks_delete, 1, "webhooks.delete", 0},
    /* escalation rules and quiet hours (api_sla.c, 018_escal) */
    {API_M_GET, "/api/v1/escalation-rules", api_escalation_rules, 1, "escalation.rules", 0},
    /* major incidents (api_major.c, 019_major) */
    {API_M_POST, "/api/v1/tickets/{number}/major", api_tickets_major, 1, "tickets.major", 0},
    {API_M_DELETE, "/api/v1/tickets/{number}/major", api_tickets_major_clear, 1,
     "tickets.major_clear", 0},
    {API_M_GET, "/api/v1/tickets/{number}/major", api_tickets_major_get, 1, "tickets.major_get",
     0},
    {API_M_POST, "/api/v1/tickets/{number}/major/links", api_tickets_major_link, 1,
     "tickets.major_link", 0},
    /* attachments (api_attach.c) */
    {API_M_POST, "/api/v1/attachments", api_attachments_upload, 1, "attachments.upload", 0},
    {API_M_GET, "/api/v1/attachments/{id}", api_attachments_get, 1, "attachments.get", 0},
    {API_M_POST, "/api/v1/tickets/{number}/attachments", api_tickets_attach, 1,
     "tickets.attach", 0},
    {API_M_GET, "/api/v1/tickets/{number}/attachments", api_tickets_attachments, 1,
     "tickets.attachments", 0},
    {API_M_NONE, NULL, NULL, 0, NULL, 0},
};

int router_is_upload(const struct router_route *route)
{
    return route && route->handler == api_attachments_upload;
}

/* Does path match pattern? Fills params (API_PARAMS_MAX of them). */
static int match(const char *pattern, const char *path, char params[][API_PARAM_MAX])
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++, s++;
        size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || slen >= API_PARAM_MAX || np >= API_PARAMS_MAX)
                return 0;
            memcpy(params[np], s, slen);
            params[np][slen] = '\0';
            np++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    return *p == '\0' && *s == '\0';
}

int router_match_in(const struct router_route *table, struct api_request *req, char *allow,
                    size_t allow_len)
{
    char params[API_PARAMS_MAX][API_PARAM_MAX];
    int path_found = 0;
    size_t used = 0;
    if (allow_len)
        allow[0] = '\0';
    req->route = NULL;
    for (const struct router_route *r = table; r->pattern; r++) {
        memset(params, 0, sizeof params);
        if (!match(r->pattern, req->path ? req->path : "", params))
            continue;
        if (r->method == req->method) {
            req->route = r;
            memcpy(req->params, params, sizeof params);
            return 200;
        }
        path_found = 1;
        const char *m = httpreq_method_name(r->method);
        if (!strstr(allow, m) && used + strlen(m) + 3 < allow_len)
            used += (size_t)snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", m);
    }
    return path_found ? 405 : 404;
}

int router_match(struct api_request *req, char *allow, size_t allow_len)
{
    return router_match_in(router_routes, req, allow, allow_len);
}
