/* desk_work: an agent's workspace changes over WebSocket (PROTOCOL.md:
 * edit, note, transfer; pending and resume: waiting for the requester,
 * store_ticket.h). Each is one store call (store_workspace.h), which
 * checks who may (st_may_work: the ticket's team, its holder, team leads,
 * admins) and what the ticket's status allows, and writes the change and
 * its event rows in one transaction; the answers are frames. A note goes
 * to every agent's connections (so a colleague looking at the ticket sees
 * it at once), never to a requester's. */
#include "desk_int.h"
#include "kb_util.h"

#include <string.h>

void desk_do_edit(struct req *r)
{
    if (!desk_is_agent(r))
        return;
    struct store_ticket_edit e = {
        .summary = r->m->summary,
        .category = r->m->category,
        .impact = r->m->impact,
        .urgency = r->m->urgency,
        .was_summary = r->m->was_summary,
        .was_category = r->m->was_category,
        .was_impact = r->m->was_impact,
        .was_urgency = r->m->was_urgency,
    };
    int n = 0;
    unsigned conflicts = 0;
    int rc = store_ticket_edit(r->d->st, r->m->ticket, r->who->person_id, &e, &n, &conflicts);
    if (rc == STORE_ECONFLICT && conflicts) {
        /* "field": the fields changed meanwhile, comma-separated */
        char fields[64];
        desk_edit_conflict_fields(conflicts, fields, sizeof fields);
        desk_outbox_error(r->out, P_CONFLICT, store_errtext(r->d->st), r->m->id, fields);
        return;
    }
    static const struct store_msgs msgs = {
        .notfound = "no such ticket",
        .forbidden = "the ticket is in a team you are not in",
        .invalid = "the ticket is closed, or a value is not allowed"};
    if (desk_store_err(r, rc, &msgs))
        return;
    desk_ticket_changed(r, "edited", 1);
}

void desk_edit_conflict_fields(unsigned bits, char *out, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } f[] = {{STORE_EDIT_SUMMARY, "summary"},
             {STORE_EDIT_CATEGORY, "category"},
             {STORE_EDIT_IMPACT, "impact"},
             {STORE_EDIT_URGENCY, "urgency"}};
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if ((bits & f[i].bit) && len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", f[i].name);
}

static json_t *note_json(const struct store_note *n)
{
    return json_pack("{s:I, s:o, s:s, s:o}", "id", (json_int_t)n->id, "by",
                     n->author_name ? json_string(n->author_name) : json_null(), "text", n->body,
                     "at", proto_time(n->at));
}

static int notes_cb(void *arg, const struct store_note *n)
{
    json_array_append_new(arg, note_json(n));
    return 0;
}

json_t *desk_notes_json(struct desk *d, const char *number, int64_t viewer, int *rc)
{
    json_t *list = json_array();
    *rc = store_ticket_notes(d->st, number, viewer, notes_cb, list);
    if (*rc) {
        json_decref(list);
        return NULL;
    }
    return list;
}

void desk_do_note(struct req *r)
{
    if (!desk_is_agent(r))
        return;
    int64_t id = 0;
    int rc = store_ticket_note(r->d->st, r->m->ticket, r->who->person_id, r->m->text, &id);
    static const struct store_msgs msgs = {
        .notfound = "no such ticket",
        .forbidden = "the ticket is in a team you are not in",
        .invalid = "the note is empty or too long"};
    if (desk_store_err(r, rc, &msgs))
        return;
    desk_outbox_add(r->out, DESK_TO_AGENTS, 0,
                    desk_note_frame(r->m->ticket, id, r->who->name, r->m->text, r->m->id));
}

json_t *desk_note_frame(const char *ticket, int64_t id, const char *by, const char *text,
                        const char *request_id)
{
    json_t *f = json_pack("{s:s, s:s, s:{s:I, s:s, s:s, s:o}}", "type", "note", "ticket", ticket,
                          "note", "id", (json_int_t)id, "by", by, "text", text, "at",
                          proto_time(time(NULL)));
    if (request_id)
        json_object_set_new(f, "id", json_string(request_id));
    return f;
}

void desk_do_transfer(struct req *r)
{
    if (!desk_is_agent(r))
        return;
    int rc = store_ticket_transfer(r->d->st, r->m->ticket, r->who->person_id, r->m->team,
                                   r->m->agent, r->m->reason);
    static const struct store_msgs msgs = {
        .notfound = "no such ticket, team or agent",
        .forbidden = "you may not move this ticket (another agent holds it, or it is in a "
                     "team you are not in)",
        .invalid = "not possible: the agent is not in that team, or the ticket is resolved "
                   "or closed"};
    if (desk_store_err(r, rc, &msgs))
        return;
    desk_ticket_changed(r, r->m->agent ? "assigned" : "transferred", 1);
}

/* ---- waiting for the requester (014_pause.sql) ---------------------------------- */

void desk_do_pending(struct req *r)
{
    if (!desk_is_agent(r))
        return;
    int rc = store_ticket_pending(r->d->st, r->m->ticket, r->who->person_id, r->m->reason,
                                  0);
    static const struct store_msgs msgs = {
        .notfound = "no such ticket",
        .forbidden = "you do not hold this ticket",
        .invalid = "only a ticket you hold, assigned or reopened, can wait for its requester"};
    if (desk_store_err(r, rc, &msgs))
        return;
    desk_ticket_changed(r, "pending", 1);
}

void desk_do_resume(struct req *r)
{
    if (!desk_is_agent(r))
        return;
    int rc = store_ticket_resume(r->d->st, r->m->ticket, r->who->person_id, 0);
    static const struct store_msgs msgs = {.notfound = "no such ticket",
                                           .forbidden = "you do not hold this ticket",
                                           .invalid = "the ticket is not waiting for its requester"};
    if (desk_store_err(r, rc, &msgs))
        return;
    desk_ticket_changed(r, "resumed", 1);
}
