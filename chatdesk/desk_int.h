/* desk_int: what the desk's files share (desk.c, desk_session.c, desk_chat.c,
 * desk_ticket.c, desk_search.c); not for other modules. A request's context
 * is a struct req; handlers (desk_do_*) add frames to r->out and report
 * store failures as error frames through desk_store_err. */
#ifndef KB_DESK_INT_H
#define KB_DESK_INT_H

#include "desk.h"
#include "kb_analyzer.h"
#include "kb_util.h"

struct desk {
    struct store *st;
    kb_searcher *ks;
    kb_analyzer *an;    /* the terms of messages and ticket searches (store_terms_set) */
    const struct desk_config *cfg;
    double last_refresh;
    struct store *report_st; /* cfg->report_db's, opened on first use (NULL: not yet) */
};

/* A request's context: the desk, the client, the message and the outbox. */
struct req {
    struct desk *d;
    const struct desk_client *who;
    const struct desk_msg *m;
    struct desk_outbox *out;
};

/* Texts per store failure code for desk_store_err (NULL: a generic one). */
struct store_msgs {
    const char *notfound, *forbidden, *conflict, *invalid;
    int conflict_code; /* P_* for STORE_ECONFLICT (0: invalid_state) */
};

/* The requester's messages of conv (seen by viewer), collected by
 * store_messages_since; desk_texts_fin frees them. */
struct texts {
    struct kb_buf all;   /* joined with newlines */
    char *first;         /* the first requester message */
    int count;
};

/* desk.c: an error frame answering r->m */
void desk_err(struct req *r, int code, const char *message);
/* desk.c: turns a store failure into an error frame (msgs: texts per code,
 * NULL: generic ones). Returns rc. */
int desk_store_err(struct req *r, int rc, const struct store_msgs *msgs);
/* desk.c: picks up a new index revision, at most once a second */
void desk_refresh(struct desk *d);
/* desk.c: appends a frame (the outbox owns it; json's reference is taken) */
struct desk_frame *desk_outbox_frame(struct desk_outbox *out, enum desk_target to, int64_t target,
                                     json_t *json);
json_t *desk_conversation_json(const struct store_conversation *c);
/* desk.c: {"type":"queue_update","event":event,"ticket":{...}} for every agent */
void desk_queue_update(struct req *r, const char *event, const struct store_ticket *t);
/* desk.c: role checks; on failure a forbidden error frame is added */
int desk_is_requester(struct req *r);
int desk_is_agent(struct req *r);
/* desk.c: a new session for person: the token for the client, its hash in cl */
int desk_new_session(struct req *r, int64_t person, char token[AUTH_TOKEN_LEN + 1],
                     struct desk_client *cl);
/* desk.c: an audit row for what r->who just read (a failure is logged:
 * the answer goes out) */
void desk_audit_read(struct req *r, const char *object_type, const char *object_id);
/* desk.c: a ticket look-up as r->who may see it (see the definitions) */
int desk_ticket_rc(const struct req *r, int rc);
int desk_get_ticket(struct req *r, const char *number, struct store_ticket *t);
/* Reads ticket r->m->ticket back after a change (as r's asker may see it)
 * into t and answers r->m with it. Returns 0 (the caller frees t with
 * store_ticket_fin), or nonzero with an error frame added instead (t owns
 * nothing). */
int desk_ticket_answer(struct req *r, struct store_ticket *t);
/* The ticket r->m->ticket after a change (read back as r's asker may see
 * it): to the asker (answering r->m), to the requester's connections (the
 * ticket object only) when to_conv, and a queue_update event for every
 * agent; when it cannot be read, the error frame instead. */
void desk_ticket_changed(struct req *r, const char *event, int to_conv);

/* desk_session.c */
int desk_current_conversation(struct req *r, int64_t person, struct store_conversation *c);
/* the welcome frame of requester cl (session token, resumed, conversation
 * c followed from seq after) and the client's new state */
void desk_welcome_requester(struct req *r, const struct desk_client *cl, const char *token,
                            int resumed, const struct store_conversation *c, int after);
void desk_do_hello(struct req *r);
void desk_do_login(struct req *r);
void desk_do_logout(struct req *r);

/* desk_search.c */
int desk_conv_texts(struct desk *d, int64_t conv, int64_t viewer, struct texts *t);
void desk_texts_fin(struct texts *t);
int desk_search_kb(struct desk *d, const char *text, size_t len, int internal, int limit,
                   struct kb_search_res *res);
void desk_suggest_agent(struct desk *d, struct desk_outbox *out, int64_t conv, int64_t viewer,
                        const char *ticket, enum desk_target to, int64_t target);
void desk_do_search(struct req *r);
void desk_do_doc(struct req *r);
void desk_do_kb_feedback(struct req *r);

/* desk_chat.c */
void desk_do_message(struct req *r);
void desk_do_feedback(struct req *r);
void desk_do_escalate(struct req *r);
void desk_do_confirm(struct req *r);
void desk_do_rate(struct req *r);
void desk_do_typing(struct req *r);
void desk_do_catchup(struct req *r);
/* desk_sla.c: the SLA timer's step (DM_SLA) */
void desk_do_sla(struct req *r);

/* major incidents (desk_major.c): a frame to the person told (arg: the
 * outbox; store_major_told_cb), the banners and queue_update after a change
 * of incident major (event "declared", "cleared", "linked"; returns 0 or
 * STORE_E*), the priority rule's step (in the SLA job) */
int desk_major_told(void *arg, const struct store_major_told *t);
int desk_major_changed(struct desk *d, struct desk_outbox *out, const char *major,
                       const char *event);
void desk_do_major_sweep(struct req *r);

/* desk_portal.c: private links, e-mail sign-in, my tickets, mail jobs */
int desk_portal_issue_link(struct req *r, int64_t person);
void desk_portal_hello_link(struct req *r);
void desk_do_private_link(struct req *r);
void desk_do_signin_request(struct req *r);
void desk_do_signin(struct req *r);
void desk_do_my_tickets(struct req *r);
void desk_do_follow(struct req *r);
void desk_do_mail_prefs(struct req *r);
void desk_do_mail(struct req *r);
void desk_do_away(struct req *r);

/* desk_ticket.c */
void desk_do_queue(struct req *r);
void desk_do_take(struct req *r);
void desk_do_reply(struct req *r);
void desk_do_link(struct req *r);
void desk_do_resolve(struct req *r);
/* desk_work.c: waiting for the requester */
void desk_do_pending(struct req *r);
void desk_do_resume(struct req *r);
void desk_do_open(struct req *r);

/* desk_work.c: the workspace's changes (store_workspace.h) */
void desk_do_edit(struct req *r);
void desk_do_note(struct req *r);
void desk_do_transfer(struct req *r);
/* the notes of a ticket for an agent's transcript (new reference; NULL on
 * a store failure, rc in *rc) */
json_t *desk_notes_json(struct desk *d, const char *number, int64_t viewer, int *rc);
/* desk_work.c: the frame {"type":"note","ticket",...,"note":{id,by,text,at}}
 * that tells every agent of a new note (request_id: the writer's frame id,
 * NULL over the API); caller owns it */
json_t *desk_note_frame(const char *ticket, int64_t id, const char *by, const char *text,
                        const char *request_id);
/* desk_work.c: store_ticket_edit's conflict bits as "summary,category,..."
 * into out (cap bytes) */
void desk_edit_conflict_fields(unsigned bits, char *out, size_t cap);

/* desk_attach.c: a message's attachments (r->m->attach). Check: 0, or -1
 * with an error frame (not the sender's unattached uploads). Link: attaches
 * them to message seq of conv and returns their descriptions (caller owns;
 * NULL: none, or an error frame was added). Set: adds a copy of atts (may
 * be NULL) to frame as "attachments". */
int desk_attach_check(struct req *r, int64_t person);
json_t *desk_attach_link(struct req *r, int64_t person, int64_t conv, int seq);
void desk_attach_set(json_t *frame, const json_t *atts);

#endif
