/* desk_chat: the requester's side of the desk (see desk.h and
 * PROTOCOL.md): chat messages and their acknowledgement, feedback on
 * suggestions, escalation into a ticket, confirming the resolution, the
 * rating, typing indicators both ways and the catch-up after a reconnect. */
#include "attach.h"
#include "desk_int.h"
#include "kb_clock.h"
#include "kb_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* characters of the first message used as a default ticket summary */
#define SUMMARY_CHARS 200

/* ---- requester ------------------------------------------------------------------- */

/* After a message of the requester was stored as seq in conv (info: the
 * conversation then): tell the requester's other connections, and the
 * agent holding the ticket, whose suggestions follow (out->suggest). */
static void after_requester_message(struct req *r, int64_t conv, int seq,
                                    const struct store_posted *info, const json_t *atts)
{
    const char *ticket = info->ticket[0] ? info->ticket : NULL;
    json_t *msg = proto_message(1, "requester", r->who->name, r->m->text, seq,
                                (int64_t)time(NULL), r->m->id, ticket);
    desk_attach_set(msg, atts);
    struct desk_frame *f = desk_outbox_frame(r->out, DESK_TO_CONV, conv, msg);
    f->seq = seq;
    f->not_self = 1;
    if (!ticket || !info->agent_id)
        return;
    json_t *am = proto_message(1, "requester", r->who->name, r->m->text, seq,
                               (int64_t)time(NULL), NULL, ticket);
    desk_attach_set(am, atts);
    desk_outbox_add(r->out, DESK_TO_PERSON, info->agent_id, am);
    /* the answer ended the ticket's wait for it: the ticket as it is now to
     * the conversation (this page shows the wait no more) and to every
     * agent's queue */
    struct store_ticket t;
    if (info->resumed && store_ticket_get(r->d->st, ticket, r->who->person_id, &t) == 0) {
        desk_outbox_add(r->out, DESK_TO_CONV, conv, proto_ticket_frame(&t, NULL));
        desk_queue_update(r, "resumed", &t);
        store_ticket_fin(&t);
    }
    struct desk_suggest *sg = &r->out->suggest;
    sg->agent = 1;
    sg->conv = conv;
    sg->agent_id = info->agent_id;
    snprintf(sg->ticket, sizeof sg->ticket, "%s", ticket);
}

/* A new requester's first message: stores the person, its session and a
 * conversation (one transaction) and signs the connection in as that
 * person, following that conversation. Returns 0 with *conv set, or -1
 * with an error frame added. */
static int start_requester(struct req *r, int64_t *conv)
{
    const struct desk_client *who = r->who;
    int64_t person = 0;
    int rc = store_requester_start(r->d->st, who->name, who->email[0] ? who->email : NULL,
                                   who->token_hash, r->d->cfg->session_ttl, &person, conv);
    if (rc == STORE_EINVALID) {
        desk_outbox_error(r->out, P_BAD_FIELD, "bad name or email: start again with hello",
                          r->m->id, who->email[0] ? "email" : "name");
        return -1;
    }
    if (desk_store_err(r, rc, NULL))
        return -1;
    r->out->client_set = 1;
    r->out->client = *who;
    r->out->client.person_id = person;
    r->out->client.conv_id = *conv;
    r->out->client.email[0] = '\0';
    r->out->attach = 1;
    r->out->attach_conv = *conv;
    r->out->attach_after = 0;
    return 0;
}

void desk_do_message(struct req *r)
{
    if (!desk_is_requester(r))
        return;
    int64_t conv = r->who->conv_id;
    int started = 0;
    if (r->who->person_id == 0) {
        if (start_requester(r, &conv))
            return;
        started = 1;
    }
    /* the person as stored (a new requester's id was set just now) */
    int64_t me = started ? r->out->client.person_id : r->who->person_id;
    if (desk_attach_check(r, me))
        return;
    int seq = 0, dup = 0;
    struct store_posted info;
    int rc = store_message_post(r->d->st, conv, me, r->m->id, r->m->text, &seq,
                                &dup, &info);
    if (rc == STORE_EINVALID || rc == STORE_ENOTFOUND) {
        /* the conversation ended (self-solved or closed): go on in the
         * requester's current one (another tab may have started it), or a
         * new one */
        struct store_conversation c;
        int rc2 = store_conversation_get(r->d->st, conv, me, &c);
        if (rc2 == 0 && (strcmp(c.status, "open") == 0 || strcmp(c.status, "escalated") == 0)) {
            desk_store_err(r, rc, NULL);
            return;
        }
        if (rc2 && rc2 != STORE_ENOTFOUND) {
            desk_store_err(r, rc2, NULL);
            return;
        }
        rc = desk_current_conversation(r, me, &c);
        if (rc) {
            desk_store_err(r, rc, NULL);
            return;
        }
        int64_t id = c.id;
        desk_outbox_add(r->out, DESK_TO_SELF, 0,
                        json_pack("{s:s, s:o}", "type", "conversation", "conversation",
                                  desk_conversation_json(&c)));
        r->out->client_set = 1;
        r->out->client = *r->who;
        r->out->client.conv_id = id;
        r->out->attach = 1;
        r->out->attach_conv = id;
        r->out->attach_after = 0; /* replay what another tab wrote there */
        conv = id;
        rc = store_message_post(r->d->st, conv, me, r->m->id, r->m->text, &seq,
                                &dup, &info);
    }
    if (rc) {
        desk_store_err(r, rc, NULL);
        return;
    }
    json_t *aj = json_pack("{s:s, s:s, s:i, s:b}", "type", "ack", "id", r->m->id, "seq", seq,
                           "duplicate", dup);
    if (started) /* a new requester's conversation exists from now on */
        json_object_set_new(aj, "conversation",
                            json_pack("{s:I, s:s, s:i}", "id", (json_int_t)conv, "status",
                                      info.status, "last_seq", seq));
    json_t *atts = dup ? NULL : desk_attach_link(r, me, conv, seq);
    desk_attach_set(aj, atts);
    struct desk_frame *ack = desk_outbox_frame(r->out, DESK_TO_SELF, 0, aj);
    ack->ack_seq = seq;
    if (!dup)
        after_requester_message(r, conv, seq, &info, atts);
    json_decref(atts);
    /* suggestions follow while the conversation is open; the search runs
     * after the ack has gone out (desk_suggest) */
    if (strcmp(info.status, "open") == 0) {
        r->out->suggest.requester = 1;
        r->out->suggest.conv = conv;
        r->out->suggest.for_seq = seq;
    }
}

void desk_do_feedback(struct req *r)
{
    if (!desk_is_requester(r))
        return;
    int ended = 0;
    int rc = store_feedback(r->d->st, r->who->conv_id, r->who->person_id, r->m->item,
                            r->m->helpful, &ended);
    static const struct store_msgs msgs = {
        .notfound = "that item was not suggested in this conversation",
        .invalid = "this conversation has ended",
    };
    if (desk_store_err(r, rc, &msgs))
        return;
    struct store_conversation c;
    const char *status = ended ? "self_solved" : "open";
    if (!ended && store_conversation_get(r->d->st, r->who->conv_id, r->who->person_id, &c) == 0)
        status = c.status;
    json_t *f = json_pack("{s:s, s:s, s:b, s:b, s:s}", "type", "feedback_ack", "item",
                          r->m->item, "helpful", r->m->helpful, "ended", ended, "status",
                          status);
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}

/* The first characters of s (at most SUMMARY_CHARS, with "…" when cut),
 * newlines turned into spaces. Caller frees. */
static char *make_summary(const char *s)
{
    struct kb_buf b;
    kb_buf_init(&b);
    size_t chars = 0;
    const char *p = s;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    for (; *p && chars < SUMMARY_CHARS; chars++) {
        size_t n = 1;
        while (((unsigned char)p[n] & 0xC0) == 0x80)
            n++;
        if (*p == '\n' || *p == '\r' || *p == '\t')
            kb_buf_addc(&b, ' ');
        else
            kb_buf_add(&b, p, n);
        p += n;
    }
    if (*p)
        kb_buf_adds(&b, "…");
    return kb_buf_take(&b);
}

void desk_do_escalate(struct req *r)
{
    if (!desk_is_requester(r))
        return;
    int64_t conv = r->who->conv_id;
    if (!conv) {
        desk_err(r, P_INVALID_STATE, "describe the problem first: send a message");
        return;
    }
    struct texts t;
    int rc = desk_conv_texts(r->d, conv, r->who->person_id, &t);
    if (rc) {
        desk_texts_fin(&t);
        desk_store_err(r, rc, NULL);
        return;
    }
    if (t.count == 0) {
        desk_texts_fin(&t);
        desk_err(r, P_INVALID_STATE, "describe the problem first: send a message");
        return;
    }
    char *summary = r->m->summary ? kb_xstrdup(r->m->summary) : make_summary(t.first);
    char *category = r->m->category ? kb_xstrdup(r->m->category) : NULL;
    if (!category) {
        struct kb_search_res res;
        /* from knowledge that fits well enough, never a guess */
        if (desk_search_kb(r->d, t.all.data, t.all.len, 0, 5, &res) == 0)
            for (size_t i = 0; i < res.nhits && !category; i++)
                if (res.hits[i].confidence >= KB_SEARCH_MIN_CONFIDENCE &&
                    res.hits[i].category && *res.hits[i].category)
                    category = kb_xstrdup(res.hits[i].category);
        kb_search_res_fin(&res);
    }
    desk_texts_fin(&t);
    struct store_ticket tk;
    rc = store_escalate(r->d->st, conv, r->who->person_id, summary, category, r->m->impact,
                        r->m->urgency, &r->d->cfg->sla, 0, &tk);
    free(summary);
    free(category);
    if (rc == STORE_ECONFLICT) {
        /* escalated before: answer the existing ticket */
        desk_outbox_add(r->out, DESK_TO_SELF, 0, proto_ticket_frame(&tk, r->m->id));
        store_ticket_fin(&tk);
        return;
    }
    static const struct store_msgs msgs = {.invalid = "this conversation has ended"};
    if (desk_store_err(r, rc, &msgs))
        return;
    desk_outbox_add(r->out, DESK_TO_SELF, 0, proto_ticket_frame(&tk, r->m->id));
    desk_outbox_frame(r->out, DESK_TO_CONV, conv, proto_ticket_frame(&tk, NULL))->not_self = 1;
    desk_queue_update(r, "new", &tk);
    store_ticket_fin(&tk);
    /* the requester's private link, to come back from any device (its
     * ticket-created mail, held for it, goes with it: desk_portal.c); the
     * ticket stands if this fails */
    desk_portal_issue_link(r, r->who->person_id);
}

void desk_do_confirm(struct req *r)
{
    if (!desk_is_requester(r))
        return;
    int rc = desk_ticket_rc(
        r, store_ticket_confirm(r->d->st, r->m->ticket, r->who->person_id, r->m->accepted));
    static const struct store_msgs msgs = {.notfound = "no such ticket",
                                           .forbidden = "not your ticket",
                                           .invalid = "the ticket is not resolved"};
    if (desk_store_err(r, rc, &msgs))
        return;
    struct store_ticket t;
    if (desk_ticket_answer(r, &t))
        return;
    desk_outbox_frame(r->out, DESK_TO_CONV, t.conversation_id, proto_ticket_frame(&t, NULL))
        ->not_self = 1;
    desk_queue_update(r, r->m->accepted ? "closed" : "reopened", &t);
    store_ticket_fin(&t);
}

void desk_do_rate(struct req *r)
{
    if (!desk_is_requester(r))
        return;
    int rc = desk_ticket_rc(r, store_ticket_rate(r->d->st, r->m->ticket, r->who->person_id,
                                            r->m->score, r->m->comment));
    static const struct store_msgs msgs = {.notfound = "no such ticket",
                                           .forbidden = "not your ticket",
                                           .invalid = "the ticket cannot be rated yet",
                                           .conflict = "this ticket has been rated already",
                                           .conflict_code = P_ALREADY_RATED};
    if (desk_store_err(r, rc, &msgs))
        return;
    json_t *f = json_pack("{s:s, s:s, s:i}", "type", "rated", "ticket", r->m->ticket, "score",
                          r->m->score);
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}

/* ---- typing, catch-up ----------------------------------------------------------------- */

void desk_do_typing(struct req *r)
{
    const struct desk_msg *m = r->m;
    if (r->who->role == DESK_REQUESTER) {
        if (!r->who->conv_id)
            return; /* nothing sent yet: nobody to tell */
        struct store_conversation c;
        int rc = store_conversation_get(r->d->st, r->who->conv_id, r->who->person_id, &c);
        if (rc) {
            desk_store_err(r, rc, NULL);
            return;
        }
        if (!c.ticket[0])
            return; /* nobody to tell */
        struct store_ticket t;
        rc = store_ticket_get(r->d->st, c.ticket, r->who->person_id, &t);
        if (rc == 0 && t.agent_id)
            desk_outbox_add(r->out, DESK_TO_PERSON, t.agent_id,
                            json_pack("{s:s, s:s, s:s, s:b}", "type", "typing", "from",
                                      "requester", "ticket", t.number, "active", m->active));
        store_ticket_fin(&t);
        if (rc)
            desk_store_err(r, rc, NULL);
        return;
    }
    if (!m->ticket) {
        desk_outbox_error(r->out, P_MISSING_FIELD, "ticket is required", m->id, "ticket");
        return;
    }
    struct store_ticket t;
    if (desk_get_ticket(r, m->ticket, &t))
        return;
    if (t.agent_id != r->who->person_id)
        desk_err(r, P_FORBIDDEN, "you do not hold this ticket");
    else
        desk_outbox_add(r->out, DESK_TO_CONV, t.conversation_id,
                        json_pack("{s:s, s:s, s:s, s:b}", "type", "typing", "from", "agent",
                                  "ticket", t.number, "active", m->active));
    store_ticket_fin(&t);
}

struct catchup {
    struct desk_outbox *out;
    int64_t viewer;
    const char *ticket;
    json_t *atts; /* attachments: {"seq": [...]} */
};

static int catchup_att(void *arg, const struct store_attachment *a)
{
    char key[16];
    snprintf(key, sizeof key, "%d", a->message_seq);
    json_t *list = json_object_get(arg, key);
    if (!list) {
        list = json_array();
        json_object_set_new(arg, key, list);
    }
    json_array_append_new(list, attach_json(a));
    return 0;
}

static int catchup_msg(void *arg, const struct store_message *m)
{
    struct catchup *cu = arg;
    json_t *msg = proto_message(1, m->sender_role, m->sender_name, m->body, m->seq, m->created_at,
                                m->sender_id == cu->viewer ? m->client_id : NULL, cu->ticket);
    char key[16];
    snprintf(key, sizeof key, "%d", m->seq);
    desk_attach_set(msg, json_object_get(cu->atts, key));
    struct desk_frame *f = desk_outbox_frame(cu->out, DESK_TO_SELF, 0, msg);
    f->seq = m->seq;
    return 0;
}

void desk_do_catchup(struct req *r)
{
    if (r->who->role != DESK_REQUESTER || !r->who->conv_id)
        return;
    struct store_conversation c;
    int rc = store_conversation_get(r->d->st, r->who->conv_id, r->who->person_id, &c);
    struct catchup cu = {r->out, r->who->person_id, c.ticket[0] ? c.ticket : NULL, json_object()};
    if (rc == 0)
        rc = store_attach_of_conversation(r->d->st, r->who->conv_id, r->who->person_id,
                                          catchup_att, cu.atts);
    if (rc == 0)
        rc = store_messages_since(r->d->st, r->who->conv_id, r->who->person_id,
                                  r->m->after_seq, catchup_msg, &cu);
    json_decref(cu.atts);
    desk_store_err(r, rc, NULL);
}
