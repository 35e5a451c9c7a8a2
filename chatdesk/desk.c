/* desk: the chat desk's logic (see desk.h and chatdesk/PROTOCOL.md). One
 * handler per request type, each a short sequence of store calls whose
 * results become frames. Who may do what is checked twice: here by role
 * (requester-only and agent-only requests), and in the store by row (a
 * requester's own conversation and tickets, the agent holding a ticket).
 *
 * Every frame of a signed-in client first checks its session in the store
 * (expired, ended by a logout elsewhere, person disabled: the answer is
 * session_expired and the connection is signed out), which also keeps a
 * used session alive.
 *
 * Suggestions are searched over the requester's messages of the
 * conversation (the latest first when they exceed the query limit), public
 * articles and known errors for requesters, internal ones too for agents. */
#include "desk.h"
#include "kb_clock.h"
#include "kb_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* a searcher picks up a new index revision at most this often (seconds) */
#define REFRESH_EVERY 1.0
/* bytes of conversation text searched (kb_search's limit is 4096) */
#define QUERY_BYTES 4000
/* characters of the first message used as a default ticket summary */
#define SUMMARY_CHARS 200
/* a live session is marked seen (its expiry pushed) at most this often,
 * and at least ten times per session_ttl */
#define SESSION_TOUCH_EVERY 60

struct desk {
    struct store *st;
    kb_searcher *ks;
    const struct desk_config *cfg;
    double last_refresh;
};

void desk_config_default(struct desk_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->session_ttl = 7 * 24 * 3600;
    cfg->suggestions = 5;
    cfg->auto_close_days = 3;
    store_sla_default(&cfg->sla);
    cfg->login_max_failures = 5;
    cfg->login_lockout = 15 * 60;
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

static struct desk_frame *add(struct desk_outbox *out, enum desk_target to, int64_t target,
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
    add(out, to, target, json);
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
    d->last_refresh = kb_clock_mono();
    *out = d;
    return 0;
}

void desk_free(struct desk *d)
{
    if (!d)
        return;
    store_close(d->st);
    kb_searcher_free(d->ks);
    free(d);
}

struct store *desk_store(struct desk *d)
{
    return d->st;
}

/* ---- helpers ---------------------------------------------------------------------- */

/* A request's context: the desk, the client, the message and the outbox. */
struct req {
    struct desk *d;
    const struct desk_client *who;
    const struct desk_msg *m;
    struct desk_outbox *out;
};

static void error(struct req *r, int code, const char *message)
{
    desk_outbox_error(r->out, code, message, r->m->id, NULL);
}

/* Turns a store failure into an error frame; messages[] gives the text per
 * code (NULL: a generic one). Returns rc. */
struct store_msgs {
    const char *notfound, *forbidden, *conflict, *invalid;
    int conflict_code; /* P_* for STORE_ECONFLICT (0: invalid_state) */
};

static int store_error(struct req *r, int rc, const struct store_msgs *msgs)
{
    static const struct store_msgs none = {0};
    if (!msgs)
        msgs = &none;
    switch (rc) {
    case STORE_OK:
        break;
    case STORE_EDB:
        r->out->db_error = 1;
        error(r, P_DB_UNAVAILABLE,
              "the database is unavailable: nothing was stored; retry shortly");
        break;
    case STORE_ENOTFOUND:
        error(r, P_NOT_FOUND, msgs->notfound ? msgs->notfound : "no such ticket or item");
        break;
    case STORE_EFORBIDDEN:
        error(r, P_FORBIDDEN, msgs->forbidden ? msgs->forbidden : "not allowed for you");
        break;
    case STORE_ECONFLICT:
        error(r, msgs->conflict_code ? msgs->conflict_code : P_INVALID_STATE,
              msgs->conflict ? msgs->conflict : "conflict with the current state");
        break;
    case STORE_EINVALID:
        error(r, P_INVALID_STATE,
              msgs->invalid ? msgs->invalid : "not possible in the current state");
        break;
    default:
        error(r, P_INTERNAL, "internal error");
    }
    return rc;
}

static void refresh(struct desk *d)
{
    double now = kb_clock_mono();
    if (now - d->last_refresh < REFRESH_EVERY)
        return;
    d->last_refresh = now;
    char err[KB_ERR_MAX];
    kb_searcher_refresh(d->ks, NULL, err, sizeof err);
}

/* The requester's messages of conv (seen by viewer), collected by
 * store_messages_since. */
struct texts {
    struct kb_buf all;   /* joined with newlines */
    char *first;         /* the first requester message */
    int count;
};

static int collect_text(void *arg, const struct store_message *m)
{
    struct texts *t = arg;
    if (strcmp(m->sender_role, "requester") != 0)
        return 0;
    if (t->all.len)
        kb_buf_addc(&t->all, '\n');
    kb_buf_adds(&t->all, m->body);
    if (!t->first)
        t->first = kb_xstrdup(m->body);
    t->count++;
    return 0;
}

static int conv_texts(struct desk *d, int64_t conv, int64_t viewer, struct texts *t)
{
    memset(t, 0, sizeof *t);
    kb_buf_init(&t->all);
    return store_messages_since(d->st, conv, viewer, 0, collect_text, t);
}

static void texts_fin(struct texts *t)
{
    kb_buf_fin(&t->all);
    free(t->first);
}

/* The last QUERY_BYTES of s (at a character boundary). */
static const char *query_tail(const char *s, size_t len, size_t *qlen)
{
    if (len <= QUERY_BYTES) {
        *qlen = len;
        return s;
    }
    const char *p = s + len - QUERY_BYTES;
    while (((unsigned char)*p & 0xC0) == 0x80)
        p++;
    *qlen = (size_t)(s + len - p);
    return p;
}

/* Searches articles and known errors for text; internal for agents. */
static int search(struct desk *d, const char *text, size_t len, int internal, int limit,
                  struct kb_search_res *res)
{
    refresh(d);
    struct kb_search_req q;
    memset(&q, 0, sizeof q);
    size_t qlen;
    q.q = query_tail(text, len, &qlen);
    q.qlen = qlen;
    q.kind = "article,known_error";
    q.internal = internal;
    q.limit = (uint32_t)limit;
    q.no_facets = 1;
    q.no_suggestion = 1;
    char err[KB_ERR_MAX];
    memset(res, 0, sizeof *res);
    return kb_search_run(d->ks, &q, res, err, sizeof err);
}

/* A suggestions frame for hits: {"type":"suggestions","items":[...]}. */
static json_t *suggestions_frame(const struct kb_search_res *res)
{
    json_t *items = json_array();
    for (size_t i = 0; i < res->nhits; i++)
        json_array_append_new(items, proto_hit(&res->hits[i]));
    return json_pack("{s:s, s:o}", "type", "suggestions", "items", items);
}

/* Suggestions for requester viewer over conv's text (recorded as shown, in
 * one commit), to out. */
static void suggest_requester(struct desk *d, struct desk_outbox *out, int64_t conv,
                              int64_t viewer, int for_seq)
{
    struct texts t;
    int rc = conv_texts(d, conv, viewer, &t);
    if (rc || t.count == 0) {
        texts_fin(&t);
        return; /* the ack went out; suggestions are a bonus */
    }
    struct kb_search_res res;
    if (search(d, t.all.data, t.all.len, 0, d->cfg->suggestions, &res) == 0) {
        size_t n = res.nhits;
        const char **ids = kb_xcalloc(n + 1, sizeof *ids);
        const char **kinds = kb_xcalloc(n + 1, sizeof *kinds);
        const char **titles = kb_xcalloc(n + 1, sizeof *titles);
        for (size_t i = 0; i < n; i++) {
            ids[i] = res.hits[i].id;
            kinds[i] = res.hits[i].kind;
            titles[i] = res.hits[i].title;
        }
        store_suggestions_add(d->st, conv, n, ids, kinds, titles);
        free(ids);
        free(kinds);
        free(titles);
        json_t *f = suggestions_frame(&res);
        json_object_set_new(f, "for_seq", json_integer(for_seq));
        desk_outbox_add(out, DESK_TO_SELF, 0, f);
    }
    kb_search_res_fin(&res);
    texts_fin(&t);
}

/* Suggestions including internal knowledge for an agent (viewer) about
 * ticket (conversation conv), to `to`/`target`. */
static void suggest_agent(struct desk *d, struct desk_outbox *out, int64_t conv, int64_t viewer,
                          const char *ticket, enum desk_target to, int64_t target)
{
    struct texts t;
    int rc = conv_texts(d, conv, viewer, &t);
    if (rc == 0 && t.count > 0) {
        struct kb_search_res res;
        if (search(d, t.all.data, t.all.len, 1, d->cfg->suggestions, &res) == 0) {
            json_t *f = suggestions_frame(&res);
            json_object_set_new(f, "ticket", json_string(ticket));
            desk_outbox_add(out, to, target, f);
        }
        kb_search_res_fin(&res);
    }
    texts_fin(&t);
}

void desk_suggest(struct desk *d, const struct desk_client *who, const struct desk_suggest *sg,
                  struct desk_outbox *out)
{
    if (sg->requester && who->role == DESK_REQUESTER)
        suggest_requester(d, out, sg->conv, who->person_id, sg->for_seq);
    if (sg->agent && sg->agent_id)
        suggest_agent(d, out, sg->conv, sg->agent_id, sg->ticket, DESK_TO_PERSON, sg->agent_id);
}

static json_t *conversation_json(const struct store_conversation *c)
{
    /* id null: a new requester's conversation, created by its first message */
    return json_pack("{s:o, s:s, s:i}", "id", c->id ? json_integer(c->id) : json_null(),
                     "status", c->status, "last_seq", c->last_seq);
}

/* Adds {"type":"queue_update","event":event,"ticket":{...}} for every agent. */
static void queue_update(struct req *r, const char *event, const struct store_ticket *t)
{
    desk_outbox_add(r->out, DESK_TO_AGENTS, 0,
                    json_pack("{s:s, s:s, s:o}", "type", "queue_update", "event", event,
                              "ticket", proto_ticket(t)));
}

static int is_requester(struct req *r)
{
    if (r->who->role == DESK_REQUESTER)
        return 1;
    error(r, P_FORBIDDEN, "this is for requesters (the chat page), not agents");
    return 0;
}

static int is_agent(struct req *r)
{
    if (r->who->role == DESK_AGENT)
        return 1;
    error(r, P_FORBIDDEN, "agents only");
    return 0;
}

/* Starts a session for person: a new token in token (for the client) and
 * its hash in cl. */
static int new_session(struct req *r, int64_t person, char token[AUTH_TOKEN_LEN + 1],
                       struct desk_client *cl)
{
    auth_new_token(token);
    auth_token_hash(token, cl->token_hash);
    return store_session_create(r->d->st, person, cl->token_hash, r->d->cfg->session_ttl);
}

/* ---- hello / login / logout ------------------------------------------------------- */

/* Sends welcome for a requester and follows conv from seq after. */
static void welcome_requester(struct req *r, const struct desk_client *cl, const char *token,
                              int resumed, const struct store_conversation *c, int after)
{
    json_t *ticket = json_null();
    if (c->ticket[0]) {
        struct store_ticket t;
        if (store_ticket_get(r->d->st, c->ticket, cl->person_id, &t) == 0) {
            json_decref(ticket);
            ticket = proto_ticket(&t);
        }
        store_ticket_fin(&t);
    }
    json_t *w = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o}", "type", "welcome", "session",
                          token, "role", "requester", "name", cl->name, "resumed", resumed,
                          "conversation", conversation_json(c), "ticket", ticket);
    if (r->m->id)
        json_object_set_new(w, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, w);
    r->out->client_set = 1;
    r->out->client = *cl;
    r->out->attach = 1;
    r->out->attach_conv = c->id;
    r->out->attach_after = after;
}

/* The requester's current conversation, or a new one. */
static int current_conversation(struct req *r, int64_t person, struct store_conversation *c)
{
    int rc = store_conversation_of_requester(r->d->st, person, c);
    if (rc == STORE_ENOTFOUND) {
        int64_t id;
        rc = store_conversation_create(r->d->st, person, &id);
        if (rc == 0)
            rc = store_conversation_get(r->d->st, id, person, c);
    }
    return rc;
}

static void on_hello(struct req *r)
{
    const struct desk_msg *m = r->m;
    if (r->who->role != DESK_NONE) {
        error(r, P_ALREADY_AUTHENTICATED, "already signed in on this connection");
        return;
    }
    struct desk_client cl;
    memset(&cl, 0, sizeof cl);
    cl.role = DESK_REQUESTER;
    if (m->resume) {
        struct store_session ss;
        int rc = STORE_ENOTFOUND;
        if (auth_token_hash(m->session, cl.token_hash) == 0)
            rc = store_session_lookup(r->d->st, cl.token_hash, &ss);
        if (rc == STORE_EDB) {
            store_error(r, rc, NULL);
            return;
        }
        if (rc == 0 && strcmp(ss.role, "requester") != 0) {
            error(r, P_FORBIDDEN, "this session is not a requester's: agents use login");
            return;
        }
        if (rc == 0) {
            rc = store_session_touch(r->d->st, cl.token_hash, r->d->cfg->session_ttl);
            struct store_conversation c;
            if (rc == 0)
                rc = current_conversation(r, ss.person_id, &c);
            if (rc) {
                store_error(r, rc, NULL);
                return;
            }
            cl.person_id = ss.person_id;
            snprintf(cl.name, sizeof cl.name, "%s", ss.name);
            cl.conv_id = c.id;
            int after = m->last_seq;
            if (m->resume_conv && m->resume_conv != c.id)
                after = 0;
            if (after > c.last_seq)
                after = c.last_seq;
            welcome_requester(r, &cl, m->session, 1, &c, after);
            return;
        }
        if (!m->name) {
            error(r, P_SESSION_EXPIRED, "the session has expired: start a new chat");
            return;
        }
        memset(cl.token_hash, 0, sizeof cl.token_hash);
    }
    /* A new requester: nothing is stored yet. The token goes out now and
     * the person, its session (under this token's hash) and its
     * conversation are created together by the first message
     * (start_requester), so a client that only says hello leaves no row
     * behind (the daemon also limits hellos per address). */
    char token[AUTH_TOKEN_LEN + 1];
    auth_new_token(token);
    auth_token_hash(token, cl.token_hash);
    snprintf(cl.name, sizeof cl.name, "%s", m->name);
    snprintf(cl.email, sizeof cl.email, "%s", m->email ? m->email : "");
    struct store_conversation none;
    memset(&none, 0, sizeof none);
    snprintf(none.status, sizeof none.status, "open");
    welcome_requester(r, &cl, token, 0, &none, 0);
}

static void welcome_agent(struct req *r, const struct desk_client *cl, const char *token,
                          const char *username, int resumed)
{
    json_t *w = json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", "welcome", "session", token,
                          "role", "agent", "name", cl->name, "resumed", resumed);
    if (username)
        json_object_set_new(w, "username", json_string(username));
    if (r->m->id)
        json_object_set_new(w, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, w);
    r->out->client_set = 1;
    r->out->client = *cl;
}

static void on_login(struct req *r)
{
    const struct desk_msg *m = r->m;
    if (r->who->role != DESK_NONE) {
        error(r, P_ALREADY_AUTHENTICATED, "already signed in on this connection");
        return;
    }
    struct desk_client cl;
    memset(&cl, 0, sizeof cl);
    cl.role = DESK_AGENT;
    if (m->session) {
        struct store_session ss;
        int rc = STORE_ENOTFOUND;
        if (auth_token_hash(m->session, cl.token_hash) == 0)
            rc = store_session_lookup(r->d->st, cl.token_hash, &ss);
        if (rc == STORE_ENOTFOUND) {
            error(r, P_SESSION_EXPIRED, "the session has expired: log in again");
            return;
        }
        if (rc == 0 && strcmp(ss.role, "agent") != 0 && strcmp(ss.role, "admin") != 0) {
            error(r, P_FORBIDDEN, "this session is not an agent's");
            return;
        }
        if (rc == 0)
            rc = store_session_touch(r->d->st, cl.token_hash, r->d->cfg->session_ttl);
        if (rc) {
            store_error(r, rc, NULL);
            return;
        }
        cl.person_id = ss.person_id;
        snprintf(cl.name, sizeof cl.name, "%s", ss.name);
        welcome_agent(r, &cl, m->session, NULL, 1);
        return;
    }
    struct store_agent a;
    int rc = store_agent_by_username(r->d->st, m->username, &a);
    if (rc == STORE_EDB) {
        store_error(r, rc, NULL);
        return;
    }
    /* A locked account is refused before any hashing, whatever the
     * password (OWASP ASVS V2.2.1): a burst of guesses costs a row read
     * each. The count and the lock are in PostgreSQL (store_login_failed),
     * so they survive a restart and hold for every chatdesk on the
     * database; the daemon adds per-address delays (hub.c). */
    if (rc == 0 && a.locked_for > 0) {
        desk_outbox_error_retry(r->out, P_TOO_MANY_ATTEMPTS,
                                "too many wrong passwords: this account is locked for now; "
                                "try again later or ask an administrator to unlock it",
                                m->id, a.locked_for);
        return;
    }
    /* at most a few Argon2id checks at once (64 MiB each): past the gate's
     * small queue the answer is at once "try later", never a wait */
    if (auth_gate_enter()) {
        desk_outbox_error_retry(r->out, P_TRY_LATER,
                                "the server is busy checking other logins: try again shortly",
                                m->id, 1);
        return;
    }
    /* an unknown user costs as much time as a wrong password */
    int ok = auth_verify_password(rc == 0 ? a.password_hash : NULL, m->password) == 0;
    auth_gate_leave();
    if (rc != 0 || !ok) {
        r->out->login = DESK_LOGIN_FAILED;
        if (rc == 0) {
            int locked = 0;
            int frc = store_login_failed(r->d->st, a.id, r->d->cfg->login_max_failures,
                                         r->d->cfg->login_lockout, r->who->addr, &locked);
            if (frc == STORE_EDB)
                r->out->db_error = 1;
            r->out->locked_for = locked;
        }
        error(r, P_LOGIN_FAILED, "wrong user name or password");
        return;
    }
    rc = store_login_succeeded(r->d->st, a.id);
    char token[AUTH_TOKEN_LEN + 1];
    if (rc == 0)
        rc = new_session(r, a.id, token, &cl);
    if (rc) {
        store_error(r, rc, NULL);
        return;
    }
    r->out->login = DESK_LOGIN_OK;
    cl.person_id = a.id;
    snprintf(cl.name, sizeof cl.name, "%s", a.name);
    welcome_agent(r, &cl, token, m->username, 0);
}

static void on_logout(struct req *r)
{
    int rc = store_session_delete(r->d->st, r->who->token_hash);
    if (rc && rc != STORE_ENOTFOUND) {
        store_error(r, rc, NULL);
        return;
    }
    json_t *f = json_pack("{s:s}", "type", "logged_out");
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
    r->out->client_set = 1;
    memset(&r->out->client, 0, sizeof r->out->client);
    r->out->attach = 1; /* follow nothing */
}

/* ---- requester ------------------------------------------------------------------- */

/* After a message of the requester was stored as seq in conv (info: the
 * conversation then): tell the requester's other connections, and the
 * agent holding the ticket, whose suggestions follow (out->suggest). */
static void after_requester_message(struct req *r, int64_t conv, int seq,
                                    const struct store_posted *info)
{
    const char *ticket = info->ticket[0] ? info->ticket : NULL;
    struct desk_frame *f = add(r->out, DESK_TO_CONV, conv,
                               proto_message(1, "requester", r->who->name, r->m->text, seq,
                                             (int64_t)time(NULL), r->m->id, ticket));
    f->seq = seq;
    f->not_self = 1;
    if (!ticket || !info->agent_id)
        return;
    desk_outbox_add(r->out, DESK_TO_PERSON, info->agent_id,
                    proto_message(1, "requester", r->who->name, r->m->text, seq,
                                  (int64_t)time(NULL), NULL, ticket));
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
    if (store_error(r, rc, NULL))
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

static void on_message(struct req *r)
{
    if (!is_requester(r))
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
            store_error(r, rc, NULL);
            return;
        }
        if (rc2 && rc2 != STORE_ENOTFOUND) {
            store_error(r, rc2, NULL);
            return;
        }
        rc = current_conversation(r, me, &c);
        if (rc) {
            store_error(r, rc, NULL);
            return;
        }
        int64_t id = c.id;
        desk_outbox_add(r->out, DESK_TO_SELF, 0,
                        json_pack("{s:s, s:o}", "type", "conversation", "conversation",
                                  conversation_json(&c)));
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
        store_error(r, rc, NULL);
        return;
    }
    json_t *aj = json_pack("{s:s, s:s, s:i, s:b}", "type", "ack", "id", r->m->id, "seq", seq,
                           "duplicate", dup);
    if (started) /* a new requester's conversation exists from now on */
        json_object_set_new(aj, "conversation",
                            json_pack("{s:I, s:s, s:i}", "id", (json_int_t)conv, "status",
                                      info.status, "last_seq", seq));
    struct desk_frame *ack = add(r->out, DESK_TO_SELF, 0, aj);
    ack->ack_seq = seq;
    if (!dup)
        after_requester_message(r, conv, seq, &info);
    /* suggestions follow while the conversation is open; the search runs
     * after the ack has gone out (desk_suggest) */
    if (strcmp(info.status, "open") == 0) {
        r->out->suggest.requester = 1;
        r->out->suggest.conv = conv;
        r->out->suggest.for_seq = seq;
    }
}

static void on_feedback(struct req *r)
{
    if (!is_requester(r))
        return;
    int ended = 0;
    int rc = store_feedback(r->d->st, r->who->conv_id, r->who->person_id, r->m->item,
                            r->m->helpful, &ended);
    static const struct store_msgs msgs = {
        .notfound = "that item was not suggested in this conversation",
        .invalid = "this conversation has ended",
    };
    if (store_error(r, rc, &msgs))
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

static void on_escalate(struct req *r)
{
    if (!is_requester(r))
        return;
    int64_t conv = r->who->conv_id;
    if (!conv) {
        error(r, P_INVALID_STATE, "describe the problem first: send a message");
        return;
    }
    struct texts t;
    int rc = conv_texts(r->d, conv, r->who->person_id, &t);
    if (rc) {
        texts_fin(&t);
        store_error(r, rc, NULL);
        return;
    }
    if (t.count == 0) {
        texts_fin(&t);
        error(r, P_INVALID_STATE, "describe the problem first: send a message");
        return;
    }
    char *summary = r->m->summary ? kb_xstrdup(r->m->summary) : make_summary(t.first);
    char *category = r->m->category ? kb_xstrdup(r->m->category) : NULL;
    if (!category) {
        struct kb_search_res res;
        if (search(r->d, t.all.data, t.all.len, 0, 5, &res) == 0)
            for (size_t i = 0; i < res.nhits && !category; i++)
                if (res.hits[i].category && *res.hits[i].category)
                    category = kb_xstrdup(res.hits[i].category);
        kb_search_res_fin(&res);
    }
    texts_fin(&t);
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
    if (store_error(r, rc, &msgs))
        return;
    desk_outbox_add(r->out, DESK_TO_SELF, 0, proto_ticket_frame(&tk, r->m->id));
    add(r->out, DESK_TO_CONV, conv, proto_ticket_frame(&tk, NULL))->not_self = 1;
    queue_update(r, "new", &tk);
    store_ticket_fin(&tk);
}

/* A ticket look-up's result as a requester may see it: someone else's
 * ticket answers exactly as one that does not exist (not_found, "no such
 * ticket"), so ticket numbers cannot be probed. Agents see every ticket;
 * for them "forbidden" means "you do not hold it". */
static int ticket_rc(const struct req *r, int rc)
{
    return r->who->role == DESK_REQUESTER && rc == STORE_EFORBIDDEN ? STORE_ENOTFOUND : rc;
}

/* Reads ticket number for the requester or agent r->who into t; on failure
 * an error frame is added. */
static int get_ticket(struct req *r, const char *number, struct store_ticket *t)
{
    int rc = ticket_rc(r, store_ticket_get(r->d->st, number, r->who->person_id, t));
    static const struct store_msgs msgs = {.notfound = "no such ticket",
                                           .forbidden = "not your ticket"};
    return store_error(r, rc, &msgs);
}

static void on_confirm(struct req *r)
{
    if (!is_requester(r))
        return;
    int rc = ticket_rc(
        r, store_ticket_confirm(r->d->st, r->m->ticket, r->who->person_id, r->m->accepted));
    static const struct store_msgs msgs = {.notfound = "no such ticket",
                                           .forbidden = "not your ticket",
                                           .invalid = "the ticket is not resolved"};
    if (store_error(r, rc, &msgs))
        return;
    struct store_ticket t;
    if (get_ticket(r, r->m->ticket, &t))
        return;
    desk_outbox_add(r->out, DESK_TO_SELF, 0, proto_ticket_frame(&t, r->m->id));
    add(r->out, DESK_TO_CONV, t.conversation_id, proto_ticket_frame(&t, NULL))->not_self = 1;
    queue_update(r, r->m->accepted ? "closed" : "reopened", &t);
    store_ticket_fin(&t);
}

static void on_rate(struct req *r)
{
    if (!is_requester(r))
        return;
    int rc = ticket_rc(r, store_ticket_rate(r->d->st, r->m->ticket, r->who->person_id,
                                            r->m->score, r->m->comment));
    static const struct store_msgs msgs = {.notfound = "no such ticket",
                                           .forbidden = "not your ticket",
                                           .invalid = "the ticket cannot be rated yet",
                                           .conflict = "this ticket has been rated already",
                                           .conflict_code = P_ALREADY_RATED};
    if (store_error(r, rc, &msgs))
        return;
    json_t *f = json_pack("{s:s, s:s, s:i}", "type", "rated", "ticket", r->m->ticket, "score",
                          r->m->score);
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}

/* ---- agents ---------------------------------------------------------------------- */

static int queue_cb(void *arg, const struct store_ticket *t)
{
    json_array_append_new(arg, proto_ticket(t));
    return 0;
}

static void on_queue(struct req *r)
{
    if (!is_agent(r))
        return;
    json_t *list = json_array();
    int rc = store_queue(r->d->st, queue_cb, list);
    if (store_error(r, rc, NULL)) {
        json_decref(list);
        return;
    }
    json_t *f = json_pack("{s:s, s:o}", "type", "queue", "tickets", list);
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}

static void on_take(struct req *r)
{
    if (!is_agent(r))
        return;
    int rc = store_ticket_take(r->d->st, r->m->ticket, r->who->person_id);
    static const struct store_msgs msgs = {
        .notfound = "no such ticket",
        .conflict = "another agent has taken this ticket",
        .conflict_code = P_ALREADY_TAKEN,
        .invalid = "the ticket is resolved or closed: nothing to take",
    };
    if (store_error(r, rc, &msgs))
        return;
    struct store_ticket t;
    if (get_ticket(r, r->m->ticket, &t))
        return;
    desk_outbox_add(r->out, DESK_TO_SELF, 0, proto_ticket_frame(&t, r->m->id));
    desk_outbox_add(r->out, DESK_TO_CONV, t.conversation_id, proto_ticket_frame(&t, NULL));
    queue_update(r, "taken", &t);
    store_ticket_fin(&t);
}

static void on_reply(struct req *r)
{
    if (!is_agent(r))
        return;
    int seq = 0, dup = 0;
    int64_t conv = 0;
    int rc = store_ticket_reply(r->d->st, r->m->ticket, r->who->person_id, r->m->id, r->m->text,
                                &seq, &dup, &conv);
    static const struct store_msgs msgs = {.notfound = "no such ticket",
                                           .forbidden = "you do not hold this ticket",
                                           .invalid = "the ticket is closed"};
    if (store_error(r, rc, &msgs))
        return;
    desk_outbox_add(r->out, DESK_TO_SELF, 0,
                    json_pack("{s:s, s:s, s:i, s:b, s:s}", "type", "ack", "id", r->m->id, "seq",
                              seq, "duplicate", dup, "ticket", r->m->ticket));
    /* The message goes to the requester's connections, a resend too: its
     * first push may have been lost with the answer to a COMMIT, and the
     * hub gives each requester connection each seq once. */
    struct desk_frame *f =
        add(r->out, DESK_TO_CONV, conv,
            proto_message(1, "agent", r->who->name, r->m->text, seq, (int64_t)time(NULL), NULL,
                          r->m->ticket));
    f->seq = seq;
}

static void on_link(struct req *r)
{
    if (!is_agent(r))
        return;
    char err[KB_ERR_MAX];
    struct kb_search_doc doc;
    refresh(r->d);
    int krc = kb_search_get_doc(r->d->ks, r->m->item, 1, &doc, err, sizeof err);
    if (krc == KB_SEARCH_ENOTFOUND || krc == KB_SEARCH_EINPUT) {
        kb_search_doc_fin(&doc);
        error(r, P_NOT_FOUND, "no such item in the knowledge base");
        return;
    }
    if (krc) {
        kb_search_doc_fin(&doc);
        error(r, P_INTERNAL, "the knowledge base cannot be read");
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
    if (!store_error(r, rc, &msgs)) {
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

static void on_resolve(struct req *r)
{
    if (!is_agent(r))
        return;
    int rc = store_ticket_resolve(r->d->st, r->m->ticket, r->who->person_id, r->m->resolution);
    static const struct store_msgs msgs = {
        .notfound = "no such ticket",
        .forbidden = "you do not hold this ticket",
        .invalid = "the ticket cannot be resolved in its state (take it first)"};
    if (store_error(r, rc, &msgs))
        return;
    struct store_ticket t;
    if (get_ticket(r, r->m->ticket, &t))
        return;
    desk_outbox_add(r->out, DESK_TO_SELF, 0, proto_ticket_frame(&t, r->m->id));
    desk_outbox_add(r->out, DESK_TO_CONV, t.conversation_id,
                    json_pack("{s:s, s:s, s:s}", "type", "resolved", "ticket", t.number,
                              "resolution", t.resolution ? t.resolution : r->m->resolution));
    desk_outbox_add(r->out, DESK_TO_CONV, t.conversation_id, proto_ticket_frame(&t, NULL));
    queue_update(r, "resolved", &t);
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

static int transcript_event(void *arg, const struct store_event *e)
{
    json_array_append_new(
        arg, json_pack("{s:s, s:o, s:o, s:s, s:o}", "type", e->type, "by",
                       e->actor_name ? json_string(e->actor_name) : json_null(), "from",
                       e->from_status ? json_string(e->from_status) : json_null(), "to",
                       e->to_status, "at", proto_time(e->at)));
    return 0;
}

static void on_open(struct req *r)
{
    if (r->who->role == DESK_NONE)
        return;
    struct store_ticket t;
    if (get_ticket(r, r->m->ticket, &t))
        return;
    int64_t viewer = r->who->person_id;
    struct transcript tr = {json_array(), viewer};
    json_t *sugg = json_array(), *links = json_array(), *events = json_array();
    int agent = r->who->role == DESK_AGENT;
    struct doclist sl = {sugg, r->d, agent}, ll = {links, r->d, agent};
    refresh(r->d);
    int rc = store_messages_since(r->d->st, t.conversation_id, viewer, 0, transcript_msg, &tr);
    if (rc == 0)
        rc = store_suggestions(r->d->st, t.conversation_id, viewer, transcript_sugg, &sl);
    if (rc == 0)
        rc = store_ticket_links(r->d->st, t.number, viewer, transcript_link, &ll);
    if (rc == 0)
        rc = store_ticket_events(r->d->st, t.number, viewer, transcript_event, events);
    if (store_error(r, rc, NULL)) {
        json_decref(tr.list);
        json_decref(sugg);
        json_decref(links);
        json_decref(events);
        store_ticket_fin(&t);
        return;
    }
    json_t *f = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "type", "transcript", "ticket",
                          proto_ticket(&t), "messages", tr.list, "suggestions", sugg, "links",
                          links, "events", events);
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
    if (r->who->role == DESK_AGENT)
        suggest_agent(r->d, r->out, t.conversation_id, viewer, t.number, DESK_TO_SELF, 0);
    store_ticket_fin(&t);
}

/* ---- knowledge: search, doc ------------------------------------------------------------ */

static void on_search(struct req *r)
{
    const struct desk_msg *m = r->m;
    if (!is_agent(r))
        return;
    refresh(r->d);
    struct kb_search_req q;
    memset(&q, 0, sizeof q);
    q.q = m->q;
    q.qlen = strlen(m->q);
    q.kind = m->kind ? m->kind : "article,known_error";
    q.internal = 1; /* agents see internal knowledge */
    q.offset = (uint32_t)m->offset;
    q.limit = kb_search_limit(m->limit > 0 ? (uint32_t)m->limit : 0);
    q.no_facets = 1;
    q.no_suggestion = 1;
    struct kb_search_res res;
    char err[KB_ERR_MAX];
    memset(&res, 0, sizeof res);
    int rc = kb_search_run(r->d->ks, &q, &res, err, sizeof err);
    if (rc == KB_SEARCH_EINPUT) {
        desk_outbox_error(r->out, P_BAD_FIELD, "q cannot be searched", m->id, "q");
    } else if (rc) {
        error(r, P_INTERNAL, "the knowledge base cannot be read");
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < res.nhits; i++)
            json_array_append_new(items, proto_hit(&res.hits[i]));
        json_t *f = json_pack("{s:s, s:s, s:I, s:i, s:o}", "type", "search_results", "q", m->q,
                              "total", (json_int_t)res.total, "offset", m->offset, "items", items);
        if (m->id)
            json_object_set_new(f, "id", json_string(m->id));
        desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
    }
    kb_search_res_fin(&res);
}

static void on_doc(struct req *r)
{
    const struct desk_msg *m = r->m;
    char err[KB_ERR_MAX];
    struct kb_search_doc doc;
    refresh(r->d);
    /* requesters read public documents only */
    int rc = kb_search_get_doc(r->d->ks, m->item, r->who->role == DESK_AGENT, &doc, err,
                               sizeof err);
    json_t *dj = rc == 0 ? proto_doc(&doc) : NULL;
    kb_search_doc_fin(&doc);
    if (rc == KB_SEARCH_ENOTFOUND || rc == KB_SEARCH_EINPUT) {
        error(r, P_NOT_FOUND, "no such item in the knowledge base");
        return;
    }
    if (rc || !dj) {
        json_decref(dj);
        error(r, P_INTERNAL, "the knowledge base cannot be read");
        return;
    }
    json_t *f = json_pack("{s:s, s:o}", "type", "doc", "doc", dj);
    if (m->id)
        json_object_set_new(f, "id", json_string(m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}

/* ---- typing, catch-up, maintenance ----------------------------------------------------- */

static void on_typing(struct req *r)
{
    const struct desk_msg *m = r->m;
    if (r->who->role == DESK_REQUESTER) {
        if (!r->who->conv_id)
            return; /* nothing sent yet: nobody to tell */
        struct store_conversation c;
        int rc = store_conversation_get(r->d->st, r->who->conv_id, r->who->person_id, &c);
        if (rc) {
            store_error(r, rc, NULL);
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
            store_error(r, rc, NULL);
        return;
    }
    if (!m->ticket) {
        desk_outbox_error(r->out, P_MISSING_FIELD, "ticket is required", m->id, "ticket");
        return;
    }
    struct store_ticket t;
    if (get_ticket(r, m->ticket, &t))
        return;
    if (t.agent_id != r->who->person_id)
        error(r, P_FORBIDDEN, "you do not hold this ticket");
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
};

static int catchup_msg(void *arg, const struct store_message *m)
{
    struct catchup *cu = arg;
    struct desk_frame *f =
        add(cu->out, DESK_TO_SELF, 0,
            proto_message(1, m->sender_role, m->sender_name, m->body, m->seq, m->created_at,
                          m->sender_id == cu->viewer ? m->client_id : NULL, cu->ticket));
    f->seq = m->seq;
    return 0;
}

static void on_catchup(struct req *r)
{
    if (r->who->role != DESK_REQUESTER || !r->who->conv_id)
        return;
    struct store_conversation c;
    int rc = store_conversation_get(r->d->st, r->who->conv_id, r->who->person_id, &c);
    struct catchup cu = {r->out, r->who->person_id, c.ticket[0] ? c.ticket : NULL};
    if (rc == 0)
        rc = store_messages_since(r->d->st, r->who->conv_id, r->who->person_id,
                                  r->m->after_seq, catchup_msg, &cu);
    store_error(r, rc, NULL);
}

static void on_maintain(struct req *r)
{
    int n = 0;
    int rc = store_auto_close(r->d->st, r->d->cfg->auto_close_days, 0, &n);
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
        store_error(r, rc, NULL); /* not checked: nothing done */
        return 0;
    }
    error(r, P_SESSION_EXPIRED,
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
    if (who->role == DESK_NONE && msg->type != DM_HELLO && msg->type != DM_LOGIN &&
        msg->type != DM_MAINTAIN) {
        error(&r, P_NOT_AUTHENTICATED, "send hello (requesters) or login (agents) first");
        return;
    }
    /* every frame of a signed-in client, except the daemon's own requests,
     * and logout (which ends the session anyway); ping never gets here (the
     * hub answers it on the service thread) */
    if (who->role != DESK_NONE && msg->type != DM_CATCHUP && msg->type != DM_MAINTAIN &&
        msg->type != DM_LOGOUT && !session_live(&r))
        return;
    switch (msg->type) {
    case DM_HELLO: on_hello(&r); break;
    case DM_LOGIN: on_login(&r); break;
    case DM_LOGOUT: on_logout(&r); break;
    case DM_MESSAGE: on_message(&r); break;
    case DM_FEEDBACK: on_feedback(&r); break;
    case DM_ESCALATE: on_escalate(&r); break;
    case DM_CONFIRM: on_confirm(&r); break;
    case DM_RATE: on_rate(&r); break;
    case DM_QUEUE: on_queue(&r); break;
    case DM_TAKE: on_take(&r); break;
    case DM_REPLY: on_reply(&r); break;
    case DM_LINK: on_link(&r); break;
    case DM_RESOLVE: on_resolve(&r); break;
    case DM_OPEN: on_open(&r); break;
    case DM_TYPING: on_typing(&r); break;
    case DM_SEARCH: on_search(&r); break;
    case DM_DOC: on_doc(&r); break;
    case DM_CATCHUP: on_catchup(&r); break;
    case DM_MAINTAIN: on_maintain(&r); break;
    default:
        error(&r, P_UNKNOWN_TYPE, "unknown type");
    }
    /* the address is the connection's, whoever signs in on it */
    if (out->client_set)
        memcpy(out->client.addr, who->addr, sizeof out->client.addr);
}
