/* desk_ticket: an agent's ticket work on the desk (see desk.h and
 * PROTOCOL.md): the queue, taking a ticket, replying, linking knowledge,
 * resolving, and opening a ticket's whole transcript. */
#include "desk_int.h"
#include "kb_clock.h"
#include "kb_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- agents ---------------------------------------------------------------------- */

static int queue_cb(void *arg, const struct store_ticket *t)
{
    json_array_append_new(arg, proto_ticket(t));
    return 0;
}

void desk_do_queue(struct req *r)
{
    if (!desk_is_agent(r))
        return;
    json_t *list = json_array();
    /* the agent's queue: tickets of no team, of the agent's teams, their own */
    int rc = store_queue_for(r->d->st, r->who->person_id, queue_cb, list);
    if (desk_store_err(r, rc, NULL)) {
        json_decref(list);
        return;
    }
    json_t *f = json_pack("{s:s, s:o}", "type", "queue", "tickets", list);
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}

void desk_do_take(struct req *r)
{
    if (!desk_is_agent(r))
        return;
    int rc = store_ticket_take(r->d->st, r->m->ticket, r->who->person_id);
    static const struct store_msgs msgs = {
        .notfound = "no such ticket",
        .conflict = "another agent has taken this ticket",
        .conflict_code = P_ALREADY_TAKEN,
        .invalid = "the ticket is resolved or closed: nothing to take",
    };
    if (!desk_store_err(r, rc, &msgs))
        desk_ticket_changed(r, "taken", 1);
}

void desk_do_reply(struct req *r)
{
    if (!desk_is_agent(r))
        return;
    int seq = 0, dup = 0;
    int64_t conv = 0;
    if (desk_attach_check(r, r->who->person_id))
        return;
    int rc = store_ticket_reply(r->d->st, r->m->ticket, r->who->person_id, r->m->id, r->m->text,
                                &seq, &dup, &conv);
    static const struct store_msgs msgs = {.notfound = "no such ticket",
                                           .forbidden = "you do not hold this ticket",
                                           .invalid = "the ticket is closed"};
    if (desk_store_err(r, rc, &msgs))
        return;
    json_t *atts = dup ? NULL : desk_attach_link(r, r->who->person_id, conv, seq);
    json_t *ack = json_pack("{s:s, s:s, s:i, s:b, s:s}", "type", "ack", "id", r->m->id, "seq",
                            seq, "duplicate", dup, "ticket", r->m->ticket);
    desk_attach_set(ack, atts);
    desk_outbox_add(r->out, DESK_TO_SELF, 0, ack);
    /* The message goes to the requester's connections, a resend too: its
     * first push may have been lost with the answer to a COMMIT, and the
     * hub gives each requester connection each seq once. */
    json_t *msg = proto_message(1, "agent", r->who->name, r->m->text, seq, (int64_t)time(NULL),
                                NULL, r->m->ticket);
    desk_attach_set(msg, atts);
    json_decref(atts);
    struct desk_frame *f = desk_outbox_frame(r->out, DESK_TO_CONV, conv, msg);
    f->seq = seq;
}

void desk_do_link(struct req *r)
{
    if (!desk_is_agent(r))
        return;
    char err[KB_ERR_MAX];
    struct kb_search_doc doc;
    desk_refresh(r->d);
    int krc = kb_search_get_doc(r->d->ks, r->m->item, 1, &doc, err, sizeof err);
    if (krc == KB_SEARCH_ENOTFOUND || krc == KB_SEARCH_EINPUT) {
        kb_search_doc_fin(&doc);
        desk_err(r, P_NOT_FOUND, "no such item in the knowledge base");
        return;
    }
    if (krc) {
        kb_search_doc_fin(&doc);
        desk_err(r, P_INTERNAL, "the knowledge base cannot be read");
        return;
    }
    const char *title = doc.doc->title;
    const char *relation = r->m->relation ? r->m->relation : "used";
    int added = 0;
    int rc = store_ticket_link(r->d->st, r->m->ticket, r->m->item, relation, r->who->person_id,
                               &added);
    static const struct store_msgs msgs = {.notfound = "no such ticket",
                                           .forbidden = "not allowed on this ticket",
                                           .invalid = "the ticket is closed"};
    if (!desk_store_err(r, rc, &msgs)) {
        json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", "linked", "ticket",
                              r->m->ticket, "item", r->m->item, "relation", relation, "added",
                              added);
        if (title)
            json_object_set_new(f, "title", json_string(title));
        if (r->m->id)
            json_object_set_new(f, "id", json_string(r->m->id));
        desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
    }
    kb_search_doc_fin(&doc);
}

void desk_do_resolve(struct req *r)
{
    if (!desk_is_agent(r))
        return;
    int rc = store_ticket_resolve(r->d->st, r->m->ticket, r->who->person_id, r->m->resolution);
    static const struct store_msgs msgs = {
        .notfound = "no such ticket",
        .forbidden = "you do not hold this ticket",
        .invalid = "the ticket cannot be resolved in its state (take it first)"};
    if (desk_store_err(r, rc, &msgs))
        return;
    struct store_ticket t;
    if (desk_ticket_answer(r, &t))
        return;
    desk_outbox_add(r->out, DESK_TO_CONV, t.conversation_id,
                    json_pack("{s:s, s:s, s:s}", "type", "resolved", "ticket", t.number,
                              "resolution", t.resolution ? t.resolution : r->m->resolution));
    desk_outbox_add(r->out, DESK_TO_CONV, t.conversation_id, proto_ticket_frame(&t, NULL));
    desk_queue_update(r, "resolved", &t);
    store_ticket_fin(&t);
}

/* ---- open (transcript) ------------------------------------------------------------- */

struct transcript {
    json_t *list;
    int64_t viewer;
};

static int transcript_msg(void *arg, const struct store_message *m)
{
    struct transcript *tr = arg;
    json_array_append_new(tr->list,
                          proto_message(0, m->sender_role, m->sender_name, m->body, m->seq,
                                        m->created_at,
                                        m->sender_id == tr->viewer ? m->client_id : NULL, NULL));
    return 0;
}

/* A transcript's list of documents (suggestions shown, links): a
 * requester's holds only documents they may see now (kb_vis.h's rule, through
 * kb_search_may_see): an agent may have linked an internal known error, or
 * a document shown may have become internal since. */
struct doclist {
    json_t *list;
    struct desk *d;
    int internal;
};

static int listable(const struct doclist *dl, const char *id)
{
    return dl->internal || kb_search_may_see(dl->d->ks, id, 0) == 1;
}

static int transcript_sugg(void *arg, const struct store_suggestion *sg)
{
    struct doclist *dl = arg;
    if (!listable(dl, sg->doc_id))
        return 0;
    json_array_append_new(
        dl->list, json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", sg->doc_id, "kind", sg->kind, "title",
                       sg->title, "shown_at", proto_time(sg->shown_at), "helpful",
                       sg->helpful < 0 ? json_null() : json_boolean(sg->helpful)));
    return 0;
}

static int transcript_link(void *arg, const struct store_link *l)
{
    struct doclist *dl = arg;
    if (!listable(dl, l->doc_id))
        return 0;
    json_array_append_new(dl->list, json_pack("{s:s, s:s, s:o, s:o}", "item", l->doc_id, "relation",
                                         l->relation, "by",
                                         l->actor_name ? json_string(l->actor_name)
                                                       : json_null(),
                                         "at", proto_time(l->at)));
    return 0;
}

struct events {
    json_t *list;
    int agent; /* agents also get each event's detail (old -> new, reasons) */
};

static int transcript_event(void *arg, const struct store_event *e)
{
    struct events *ev = arg;
    json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:o}", "type", e->type, "by",
                          e->actor_name ? json_string(e->actor_name) : json_null(), "from",
                          e->from_status ? json_string(e->from_status) : json_null(), "to",
                          e->to_status, "at", proto_time(e->at));
    if (ev->agent && e->detail)
        json_object_set_new(o, "detail", json_loads(e->detail, 0, NULL));
    json_array_append_new(ev->list, o);
    return 0;
}

void desk_do_open(struct req *r)
{
    if (r->who->role == DESK_NONE)
        return;
    struct store_ticket t;
    if (desk_get_ticket(r, r->m->ticket, &t))
        return;
    int64_t viewer = r->who->person_id;
    struct transcript tr = {json_array(), viewer};
    json_t *sugg = json_array(), *links = json_array(), *events = json_array();
    int agent = r->who->role == DESK_AGENT;
    struct doclist sl = {sugg, r->d, agent}, ll = {links, r->d, agent};
    struct events ev = {events, agent};
    desk_refresh(r->d);
    int rc = store_messages_since(r->d->st, t.conversation_id, viewer, 0, transcript_msg, &tr);
    if (rc == 0)
        rc = store_suggestions(r->d->st, t.conversation_id, viewer, transcript_sugg, &sl);
    if (rc == 0)
        rc = store_ticket_links(r->d->st, t.number, viewer, transcript_link, &ll);
    if (rc == 0)
        rc = store_ticket_events(r->d->st, t.number, viewer, transcript_event, &ev);
    json_t *notes = NULL;
    if (rc == 0 && agent)
        notes = desk_notes_json(r->d, t.number, viewer, &rc);
    if (desk_store_err(r, rc, NULL)) {
        json_decref(tr.list);
        json_decref(sugg);
        json_decref(links);
        json_decref(events);
        json_decref(notes);
        store_ticket_fin(&t);
        return;
    }
    json_t *f = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "type", "transcript", "ticket",
                          proto_ticket(&t), "messages", tr.list, "suggestions", sugg, "links",
                          links, "events", events);
    if (notes) /* agents only: a requester's transcript never has the key */
        json_object_set_new(f, "notes", notes);
    if (agent) /* the daemon tells the ticket's other viewers (hub.c) */
        snprintf(r->out->viewing, sizeof r->out->viewing, "%s", t.number);
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
    if (r->who->role == DESK_AGENT) {
        desk_audit_read(r, "ticket", t.number);
        desk_suggest_agent(r->d, r->out, t.conversation_id, viewer, t.number, DESK_TO_SELF, 0);
    }
    store_ticket_fin(&t);
}
