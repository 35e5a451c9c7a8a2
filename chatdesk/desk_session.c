/* desk_session: signing in and out on the desk (see desk.h and
 * PROTOCOL.md): a requester's hello (new or resumed with its session
 * token), an agent's login (password or session, with the login throttle's
 * lockout) and logout. */
#include "desk_int.h"
#include "kb_clock.h"
#include "kb_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- hello / login / logout ------------------------------------------------------- */

/* Sends welcome for a requester and follows conv from seq after. */
void desk_welcome_requester(struct req *r, const struct desk_client *cl, const char *token,
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
                          "conversation", desk_conversation_json(c), "ticket", ticket);
    if (r->m->id)
        json_object_set_new(w, "id", json_string(r->m->id));
    /* signed in with a verified address (desk_portal.c): it, and the mail
     * preference */
    char email[256];
    int ticket_mail = 0;
    if (cl->person_id && store_person_contact(r->d->st, cl->person_id, email, &ticket_mail) == 0) {
        json_object_set_new(w, "email", email[0] ? json_string(email) : json_null());
        json_object_set_new(w, "ticket_mail", json_boolean(ticket_mail));
    }
    desk_outbox_add(r->out, DESK_TO_SELF, 0, w);
    r->out->client_set = 1;
    r->out->client = *cl;
    r->out->attach = 1;
    r->out->attach_conv = c->id;
    r->out->attach_after = after;
}

/* The requester's current conversation, or a new one. */
int desk_current_conversation(struct req *r, int64_t person, struct store_conversation *c)
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

void desk_do_hello(struct req *r)
{
    const struct desk_msg *m = r->m;
    if (r->who->role != DESK_NONE) {
        desk_err(r, P_ALREADY_AUTHENTICATED, "already signed in on this connection");
        return;
    }
    if (m->link) { /* a private link (desk_portal.c) */
        desk_portal_hello_link(r);
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
            desk_store_err(r, rc, NULL);
            return;
        }
        if (rc == 0 && strcmp(ss.role, "requester") != 0) {
            desk_err(r, P_FORBIDDEN, "this session is not a requester's: agents use login");
            return;
        }
        if (rc == 0) {
            rc = store_session_touch(r->d->st, cl.token_hash, r->d->cfg->session_ttl);
            struct store_conversation c;
            if (rc == 0)
                rc = desk_current_conversation(r, ss.person_id, &c);
            if (rc) {
                desk_store_err(r, rc, NULL);
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
            desk_welcome_requester(r, &cl, m->session, 1, &c, after);
            return;
        }
        if (!m->name) {
            desk_err(r, P_SESSION_EXPIRED, "the session has expired: start a new chat");
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
    desk_welcome_requester(r, &cl, token, 0, &none, 0);
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

void desk_do_login(struct req *r)
{
    const struct desk_msg *m = r->m;
    if (r->who->role != DESK_NONE) {
        desk_err(r, P_ALREADY_AUTHENTICATED, "already signed in on this connection");
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
            desk_err(r, P_SESSION_EXPIRED, "the session has expired: log in again");
            return;
        }
        if (rc == 0 && strcmp(ss.role, "agent") != 0 && strcmp(ss.role, "admin") != 0) {
            desk_err(r, P_FORBIDDEN, "this session is not an agent's");
            return;
        }
        if (rc == 0)
            rc = store_session_touch(r->d->st, cl.token_hash, r->d->cfg->session_ttl);
        if (rc) {
            desk_store_err(r, rc, NULL);
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
        desk_store_err(r, rc, NULL);
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
        desk_err(r, P_LOGIN_FAILED, "wrong user name or password");
        return;
    }
    rc = store_login_succeeded(r->d->st, a.id);
    char token[AUTH_TOKEN_LEN + 1];
    if (rc == 0)
        rc = desk_new_session(r, a.id, token, &cl);
    if (rc) {
        desk_store_err(r, rc, NULL);
        return;
    }
    r->out->login = DESK_LOGIN_OK;
    cl.person_id = a.id;
    snprintf(cl.name, sizeof cl.name, "%s", a.name);
    welcome_agent(r, &cl, token, m->username, 0);
}

void desk_do_logout(struct req *r)
{
    int rc = store_session_delete(r->d->st, r->who->token_hash);
    if (rc && rc != STORE_ENOTFOUND) {
        desk_store_err(r, rc, NULL);
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
