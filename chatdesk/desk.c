/* desk: the chat desk's core (see desk.h and chatdesk/PROTOCOL.md): the
 * outbox, a desk's lifecycle, the helpers its handlers share (desk_int.h),
 * maintenance, and the dispatch of a request to its handler: signing in and
 * out in desk_session.c, the requester's chat in desk_chat.c, an agent's
 * ticket work in desk_ticket.c, knowledge look-ups in desk_search.c. Each
 * handler is a short sequence of store calls whose results become frames.
 * Who may do what is checked twice: in the handlers by role (requester-only
 * and agent-only requests), and in the store by row (a requester's own
 * conversation and tickets, the agent holding a ticket).
 *
 * Every frame of a signed-in client first checks its session in the store
 * (expired, ended by a logout elsewhere, person disabled: the answer is
 * session_expired and the connection is signed out), which also keeps a
 * used session alive. */
#include "desk_int.h"
#include "kb_clock.h"
#include "kb_log.h"
#include "kb_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* a searcher picks up a new index revision at most this often (seconds) */
#define REFRESH_EVERY 1.0
/* a live session is marked seen (its expiry pushed) at most this often,
 * and at least ten times per session_ttl */
#define SESSION_TOUCH_EVERY 60

void desk_config_default(struct desk_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->session_ttl = 7 * 24 * 3600;
    cfg->suggestions = 5;
    cfg->auto_close_days = 3;
    store_sla_default(&cfg->sla);
    cfg->login_max_failures = 5;
    cfg->login_lockout = 15 * 60;
    cfg->mail_retry_min = 30;
    cfg->mail_retry_max = 3600;
    cfg->mail_max_attempts = 20;
    cfg->signin_code_ttl = 600;
    cfg->signin_max_tries = 5;
    cfg->attach_max = 10 * 1024 * 1024;
}

/* ---- outbox ------------------------------------------------------------------ */

void desk_outbox_init(struct desk_outbox *out)
{
    memset(out, 0, sizeof *out);
}

void desk_frame_free(struct desk_frame *f)
{
    while (f) {
        struct desk_frame *next = f->next;
        free(f->json);
        free(f);
        f = next;
    }
}

void desk_outbox_fin(struct desk_outbox *out)
{
    desk_frame_free(out->head);
    memset(out, 0, sizeof *out);
}

struct desk_frame *desk_outbox_take(struct desk_outbox *out)
{
    struct desk_frame *f = out->head;
    out->head = out->tail = NULL;
    return f;
}

struct desk_frame *desk_outbox_frame(struct desk_outbox *out, enum desk_target to, int64_t target,
                                     json_t *json)
{
    struct desk_frame *f = kb_xcalloc(1, sizeof *f);
    f->to = to;
    f->target = target;
    f->json = proto_dump(json, &f->len);
    if (out->tail)
        out->tail->next = f;
    else
        out->head = f;
    out->tail = f;
    return f;
}

void desk_outbox_add(struct desk_outbox *out, enum desk_target to, int64_t target, json_t *json)
{
    desk_outbox_frame(out, to, target, json);
}

void desk_outbox_error(struct desk_outbox *out, int code, const char *message, const char *id,
                       const char *field)
{
    struct desk_frame *f = kb_xcalloc(1, sizeof *f);
    f->to = DESK_TO_SELF;
    f->json = proto_error_frame(code, message, id, field, &f->len);
    if (out->tail)
        out->tail->next = f;
    else
        out->head = f;
    out->tail = f;
}

void desk_outbox_error_retry(struct desk_outbox *out, int code, const char *message,
                             const char *id, int retry_after)
{
    struct desk_frame *f = kb_xcalloc(1, sizeof *f);
    f->to = DESK_TO_SELF;
    f->json = proto_error_frame_retry(code, message, id, retry_after, &f->len);
    if (out->tail)
        out->tail->next = f;
    else
        out->head = f;
    out->tail = f;
}

/* ---- lifecycle ------------------------------------------------------------------ */

int desk_new(const char *conninfo, const char *index, const kb_lexicon *lx,
             const struct desk_config *cfg, struct desk **out, char *err, size_t errlen)
{
    *out = NULL;
    struct desk *d = kb_xcalloc(1, sizeof *d);
    d->cfg = cfg;
    char msg[KB_ERR_MAX];
    if (store_open(conninfo, &d->st, msg, sizeof msg)) {
        kb_seterr(err, errlen, "%s", msg);
        desk_free(d);
        return -1;
    }
    if (kb_searcher_new(index, lx, &d->ks, msg, sizeof msg)) {
        kb_seterr(err, errlen, "cannot open the index %s: %s", index, msg);
        desk_free(d);
        return -1;
    }
    /* the analyzer the indexer uses makes the terms of ticket search */
    if (kb_analyzer_new(lx, &d->an, msg, sizeof msg)) {
        kb_seterr(err, errlen, "cannot start the analyzer: %s", msg);
        desk_free(d);
        return -1;
    }
    store_terms_set(d->st, store_terms_kb, d->an);
    d->last_refresh = kb_clock_mono();
    *out = d;
    return 0;
}

void desk_free(struct desk *d)
{
    if (!d)
        return;
    store_close(d->st);
    store_close(d->report_st);
    kb_searcher_free(d->ks);
    kb_analyzer_free(d->an);
    free(d);
}

struct store *desk_store(struct desk *d)
{
    return d->st;
}

struct store *desk_report_store(struct desk *d)
{
    if (!d->cfg->report_db)
        return d->st;
    if (!d->report_st) {
        char err[STORE_ERR_MAX];
        if (store_open(d->cfg->report_db, &d->report_st, err, sizeof err)) {
            kb_warn("reports: the report database cannot be reached (%s): reading the "
                    "primary", err);
            return d->st;
        }
    }
    return d->report_st;
}

/* ---- helpers ---------------------------------------------------------------------- */

void desk_err(struct req *r, int code, const char *message)
{
    desk_outbox_error(r->out, code, message, r->m->id, NULL);
}

int desk_store_err(struct req *r, int rc, const struct store_msgs *msgs)
{
    static const struct store_msgs none = {0};
    if (!msgs)
        msgs = &none;
    switch (rc) {
    case STORE_OK:
        break;
    case STORE_EDB:
        r->out->db_error = 1;
        desk_err(r, P_DB_UNAVAILABLE,
                 "the database is unavailable: nothing was stored; retry shortly");
        break;
    case STORE_ENOTFOUND:
        desk_err(r, P_NOT_FOUND, msgs->notfound ? msgs->notfound : "no such ticket or item");
        break;
    case STORE_EFORBIDDEN:
        desk_err(r, P_FORBIDDEN, msgs->forbidden ? msgs->forbidden : "not allowed for you");
        break;
    case STORE_ECONFLICT:
        desk_err(r, msgs->conflict_code ? msgs->conflict_code : P_INVALID_STATE,
                 msgs->conflict ? msgs->conflict : "conflict with the current state");
        break;
    case STORE_EINVALID:
        desk_err(r, P_INVALID_STATE,
                 msgs->invalid ? msgs->invalid : "not possible in the current state");
        break;
    default:
        desk_err(r, P_INTERNAL, "internal error");
    }
    return rc;
}

void desk_refresh(struct desk *d)
{
    double now = kb_clock_mono();
    if (now - d->last_refresh < REFRESH_EVERY)
        return;
    d->last_refresh = now;
    char err[KB_ERR_MAX];
    kb_searcher_refresh(d->ks, NULL, err, sizeof err);
}

void desk_audit_read(struct req *r, const char *object_type, const char *object_id)
{
    struct store_audit_entry e = {r->who->person_id,
                                  r->who->role == DESK_AGENT ? "agent" : "requester",
                                  r->who->addr,
                                  "read",
                                  object_type,
                                  object_id,
                                  NULL};
    if (store_audit_add(r->d->st, &e))
        kb_warn("audit row not written: %s", store_errmsg(r->d->st));
}

json_t *desk_conversation_json(const struct store_conversation *c)
{
    /* id null: a new requester's conversation, created by its first message */
    return json_pack("{s:o, s:s, s:i}", "id", c->id ? json_integer(c->id) : json_null(),
                     "status", c->status, "last_seq", c->last_seq);
}

/* Adds {"type":"queue_update","event":event,"ticket":{...}} for every agent. */
void desk_queue_update(struct req *r, const char *event, const struct store_ticket *t)
{
    desk_outbox_add(r->out, DESK_TO_AGENTS, 0,
                    json_pack("{s:s, s:s, s:o}", "type", "queue_update", "event", event,
                              "ticket", proto_ticket(t)));
}

int desk_is_requester(struct req *r)
{
    if (r->who->role == DESK_REQUESTER)
        return 1;
    desk_err(r, P_FORBIDDEN, "this is for requesters (the chat page), not agents");
    return 0;
}

int desk_is_agent(struct req *r)
{
    if (r->who->role == DESK_AGENT)
        return 1;
    desk_err(r, P_FORBIDDEN, "agents only");
    return 0;
}

/* Starts a session for person: a new token in token (for the client) and
 * its hash in cl. */
int desk_new_session(struct req *r, int64_t person, char token[AUTH_TOKEN_LEN + 1],
                     struct desk_client *cl)
{
    auth_new_token(token);
    auth_token_hash(token, cl->token_hash);
    return store_session_create(r->d->st, person, cl->token_hash, r->d->cfg->session_ttl);
}


/* A ticket look-up's result as a requester may see it: someone else's
 * ticket answers exactly as one that does not exist (not_found, "no such
 * ticket"), so ticket numbers cannot be probed. Agents see every ticket;
 * for them "forbidden" means "you do not hold it". */
int desk_ticket_rc(const struct req *r, int rc)
{
    return r->who->role == DESK_REQUESTER && rc == STORE_EFORBIDDEN ? STORE_ENOTFOUND : rc;
}

/* Reads ticket number for the requester or agent r->who into t; on failure
 * an error frame is added. */
int desk_get_ticket(struct req *r, const char *number, struct store_ticket *t)
{
    int rc = desk_ticket_rc(r, store_ticket_get(r->d->st, number, r->who->person_id, t));
    static const struct store_msgs msgs = {.notfound = "no such ticket",
                                           .forbidden = "not your ticket"};
    return desk_store_err(r, rc, &msgs);
}

int desk_ticket_answer(struct req *r, struct store_ticket *t)
{
    if (desk_get_ticket(r, r->m->ticket, t))
        return -1;
    desk_outbox_add(r->out, DESK_TO_SELF, 0, proto_ticket_frame(t, r->m->id));
    return 0;
}

void desk_ticket_changed(struct req *r, const char *event, int to_conv)
{
    struct store_ticket t;
    if (desk_ticket_answer(r, &t))
        return;
    if (to_conv)
        desk_outbox_add(r->out, DESK_TO_CONV, t.conversation_id, proto_ticket_frame(&t, NULL));
    desk_queue_update(r, event, &t);
    store_ticket_fin(&t);
}

/* ---- maintenance --------------------------------------------------------------------- */

void desk_do_maintain(struct req *r)
{
    int n = 0, days = r->d->cfg->auto_close_days;
    store_setting_get(r->d->st, "auto_close_days", days, &days); /* admin page, else file */
    int rc = store_auto_close(r->d->st, days, 0, &n);
    if (rc == STORE_EDB)
        r->out->db_error = 1;
    r->out->auto_closed = n;
    n = 0;
    rc = store_session_purge(r->d->st, &n);
    if (rc == STORE_EDB)
        r->out->db_error = 1;
    r->out->sessions_purged = n;
    /* requester identities left with no session and nothing said; with
     * hello storing nothing, these are only identities from before that */
    n = 0;
    rc = store_requester_purge(r->d->st, &n);
    if (rc == STORE_EDB)
        r->out->db_error = 1;
    r->out->requesters_purged = n;
}

/* ---- dispatch ------------------------------------------------------------------ */

/* Is the signed-in client's session still live? If not (expired, ended by
 * a logout elsewhere, its person disabled), the connection is signed out
 * and the frame answered session_expired; the connection stays open for a
 * new hello / login. */
static int session_live(struct req *r)
{
    if (r->who->role == DESK_REQUESTER && r->who->person_id == 0)
        return 1; /* a new requester: its session is stored with its first message */
    int ttl = r->d->cfg->session_ttl;
    int every = ttl / 10 < SESSION_TOUCH_EVERY ? ttl / 10 : SESSION_TOUCH_EVERY;
    int rc = store_session_check(r->d->st, r->who->token_hash, r->who->person_id, ttl, every);
    if (rc == 0)
        return 1;
    if (rc != STORE_ENOTFOUND) {
        desk_store_err(r, rc, NULL); /* not checked: nothing done */
        return 0;
    }
    desk_err(r, P_SESSION_EXPIRED,
             r->who->role == DESK_AGENT
                 ? "your session has expired or was ended: log in again"
                 : "your session has expired or was ended: start again with hello");
    r->out->client_set = 1;
    memset(&r->out->client, 0, sizeof r->out->client);
    r->out->attach = 1; /* follow nothing */
    return 0;
}

void desk_on_message(struct desk *d, const struct desk_client *who, const struct desk_msg *msg,
                     struct desk_outbox *out)
{
    struct req r = {d, who, msg, out};
    int own = msg->type == DM_MAINTAIN || msg->type == DM_SLA || msg->type == DM_MAIL ||
              msg->type == DM_AWAY; /* the daemon's timers and its own jobs */
    if (who->role == DESK_NONE && msg->type != DM_HELLO && msg->type != DM_LOGIN && !own &&
        msg->type != DM_SIGNIN_REQUEST && msg->type != DM_SIGNIN) {
        desk_err(&r, P_NOT_AUTHENTICATED, "send hello (requesters) or login (agents) first");
        return;
    }
    /* every frame of a signed-in client, except the daemon's own requests,
     * and logout (which ends the session anyway); ping never gets here (the
     * hub answers it on the service thread) */
    if (who->role != DESK_NONE && msg->type != DM_CATCHUP && !own &&
        msg->type != DM_LOGOUT && !session_live(&r))
        return;
    switch (msg->type) {
    case DM_HELLO: desk_do_hello(&r); break;
    case DM_LOGIN: desk_do_login(&r); break;
    case DM_LOGOUT: desk_do_logout(&r); break;
    case DM_MESSAGE: desk_do_message(&r); break;
    case DM_FEEDBACK: desk_do_feedback(&r); break;
    case DM_ESCALATE: desk_do_escalate(&r); break;
    case DM_CONFIRM: desk_do_confirm(&r); break;
    case DM_RATE: desk_do_rate(&r); break;
    case DM_QUEUE: desk_do_queue(&r); break;
    case DM_TAKE: desk_do_take(&r); break;
    case DM_REPLY: desk_do_reply(&r); break;
    case DM_LINK: desk_do_link(&r); break;
    case DM_RESOLVE: desk_do_resolve(&r); break;
    case DM_OPEN: desk_do_open(&r); break;
    case DM_LEAVE: break; /* nothing stored: the hub forgets the open ticket (hub.c) */
    case DM_TYPING: desk_do_typing(&r); break;
    case DM_SEARCH: desk_do_search(&r); break;
    case DM_DOC: desk_do_doc(&r); break;
    case DM_EDIT: desk_do_edit(&r); break;
    case DM_NOTE: desk_do_note(&r); break;
    case DM_TRANSFER: desk_do_transfer(&r); break;
    case DM_KB_FEEDBACK: desk_do_kb_feedback(&r); break;
    case DM_CATCHUP: desk_do_catchup(&r); break;
    case DM_MAINTAIN: desk_do_maintain(&r); break;
    case DM_SLA: desk_do_sla(&r); break;
    case DM_SIGNIN_REQUEST: desk_do_signin_request(&r); break;
    case DM_SIGNIN: desk_do_signin(&r); break;
    case DM_PRIVATE_LINK: desk_do_private_link(&r); break;
    case DM_MY_TICKETS: desk_do_my_tickets(&r); break;
    case DM_FOLLOW: desk_do_follow(&r); break;
    case DM_MAIL_PREFS: desk_do_mail_prefs(&r); break;
    case DM_MAIL: desk_do_mail(&r); break;
    case DM_AWAY: desk_do_away(&r); break;
    case DM_PENDING: desk_do_pending(&r); break;
    case DM_RESUME: desk_do_resume(&r); break;
    default:
        desk_err(&r, P_UNKNOWN_TYPE, "unknown type");
    }
    /* the address is the connection's, whoever signs in on it */
    if (out->client_set)
        memcpy(out->client.addr, who->addr, sizeof out->client.addr);
}
