/* desk_portal: the requester's identity beyond one browser tab (see
 * PROTOCOL.md): private links (issued when a ticket is raised or on
 * request, opened by hello with "link"), e-mail sign-in with a mailed
 * one-time code or link (signin_request, signin), "my tickets" (all of the
 * requester's tickets with their conversations), following an older
 * ticket's conversation from any device (follow), the ticket-mail
 * preference, and two of the daemon's own jobs: the mail sender's round
 * (DM_MAIL: the outbox through mail.c, and the robots' and webhooks'
 * deliveries through hook.c) and the "agent replied while you
 * were away" mail (DM_AWAY). Tokens and codes go to the client or the mail
 * only; the store keeps their BLAKE2b hashes. */
#include "desk_int.h"
#include "desk_portal.h"
#include "mail.h"
#include "hook.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* mails taken per sender round */
#define MAIL_BATCH 20

/* The hash of a mailed code: BLAKE2b of the lowercased address, ":" and
 * the digits, so a code is good for its address only. */
static void code_hash(const char *email, const char *code, unsigned char out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    for (const char *p = email; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        crypto_generichash_update(&st, &c, 1);
    }
    crypto_generichash_update(&st, (const unsigned char *)":", 1);
    crypto_generichash_update(&st, (const unsigned char *)code, strlen(code));
    crypto_generichash_final(&st, out, 32);
}

/* public_url without a trailing slash, or "" */
static void base_url(const struct desk_config *cfg, char *out, size_t n)
{
    snprintf(out, n, "%s", cfg->public_url ? cfg->public_url : "");
    size_t len = strlen(out);
    while (len && out[len - 1] == '/')
        out[--len] = '\0';
}

/* Issues a new private link for person (revoking the old one) and adds a
 * private_link frame for the client; the ticket-created mail held for it
 * gets it. Returns 0 or a store code (an error frame is then added). */
int desk_portal_issue_link(struct req *r, int64_t person)
{
    char token[AUTH_TOKEN_LEN + 1];
    unsigned char hash[AUTH_TOKEN_HASH_BYTES];
    auth_new_token(token);
    auth_token_hash(token, hash);
    char base[512], url[600];
    base_url(r->d->cfg, base, sizeof base);
    snprintf(url, sizeof url, "%s/?t=%s", base, token);
    int rc = store_link_issue(r->d->st, person, hash, base[0] ? url : NULL);
    if (rc) {
        desk_store_err(r, rc, NULL);
        return rc;
    }
    json_t *f = json_pack("{s:s, s:s, s:s}", "type", "private_link", "link", token, "path",
                          url + strlen(base));
    if (base[0])
        json_object_set_new(f, "url", json_string(url));
    if (r->m->id && r->m->type == DM_PRIVATE_LINK)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
    return 0;
}

void desk_do_private_link(struct req *r)
{
    if (!desk_is_requester(r))
        return;
    if (!r->who->person_id) {
        desk_err(r, P_INVALID_STATE, "describe the problem first: send a message");
        return;
    }
    desk_portal_issue_link(r, r->who->person_id);
}

/* hello with a private link: a new session for the link's person, who
 * continues their current conversation (replayed whole). */
void desk_portal_hello_link(struct req *r)
{
    struct desk_client cl;
    memset(&cl, 0, sizeof cl);
    cl.role = DESK_REQUESTER;
    unsigned char lh[AUTH_TOKEN_HASH_BYTES];
    char token[AUTH_TOKEN_LEN + 1];
    auth_new_token(token);
    auth_token_hash(token, cl.token_hash);
    int rc = STORE_ENOTFOUND;
    if (auth_token_hash(r->m->link, lh) == 0)
        rc = store_link_open(r->d->st, lh, cl.token_hash, r->d->cfg->session_ttl, &cl.person_id,
                             cl.name);
    if (rc == STORE_ENOTFOUND) {
        r->out->login = DESK_LOGIN_FAILED; /* counts for the address's delays */
        desk_err(r, P_LOGIN_FAILED,
                 "this private link is unknown or was replaced by a newer one");
        return;
    }
    struct store_conversation c;
    if (rc == 0)
        rc = desk_current_conversation(r, cl.person_id, &c);
    if (desk_store_err(r, rc, NULL))
        return;
    r->out->login = DESK_LOGIN_OK;
    cl.conv_id = c.id;
    desk_welcome_requester(r, &cl, token, 1, &c, 0);
}

void desk_do_signin_request(struct req *r)
{
    if (r->who->role == DESK_AGENT) {
        desk_err(r, P_FORBIDDEN, "this is for requesters (the chat page), not agents");
        return;
    }
    const struct desk_config *cfg = r->d->cfg;
    char code[PROTO_CODE_LEN + 1];
    snprintf(code, sizeof code, "%06u", (unsigned)randombytes_uniform(1000000));
    char link[AUTH_TOKEN_LEN + 1];
    unsigned char ch[32], lh[AUTH_TOKEN_HASH_BYTES];
    auth_new_token(link);
    auth_token_hash(link, lh);
    code_hash(r->m->email, code, ch);
    char base[512];
    base_url(cfg, base, sizeof base);
    int minutes = (cfg->signin_code_ttl + 59) / 60;
    char subject[200];
    snprintf(subject, sizeof subject, "服务台登录验证码 %s / Your sign-in code", code);
    struct kb_buf b;
    kb_buf_init(&b);
    char line[900];
    snprintf(line, sizeof line,
             "您的服务台登录验证码是：%s\n%d 分钟内有效，只能使用一次。\n", code, minutes);
    kb_buf_adds(&b, line);
    if (base[0]) {
        snprintf(line, sizeof line, "\n也可以直接打开这个链接登录：\n%s/?signin=%s\n", base,
                 link);
        kb_buf_adds(&b, line);
    }
    snprintf(line, sizeof line,
             "\n如果这不是您本人的操作，请忽略此邮件。\n\n"
             "Your service desk sign-in code is %s (valid for %d minutes, once).\n",
             code, minutes);
    kb_buf_adds(&b, line);
    char *body = kb_buf_take(&b);
    int rc = store_signin_request(r->d->st, r->m->email, ch, lh, cfg->signin_code_ttl, subject,
                                  body);
    sodium_memzero(code, sizeof code);
    sodium_memzero(body, strlen(body));
    free(body);
    if (rc == STORE_EINVALID) {
        desk_outbox_error(r->out, P_BAD_FIELD, "this address cannot be used", r->m->id,
                          "email");
        return;
    }
    if (desk_store_err(r, rc, NULL))
        return;
    json_t *f = json_pack("{s:s, s:s, s:i}", "type", "signin_sent", "email", r->m->email,
                          "expires_in", cfg->signin_code_ttl);
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}

void desk_do_signin(struct req *r)
{
    if (r->who->role == DESK_AGENT) {
        desk_err(r, P_FORBIDDEN, "this is for requesters (the chat page), not agents");
        return;
    }
    const struct desk_config *cfg = r->d->cfg;
    struct desk_client cl;
    memset(&cl, 0, sizeof cl);
    cl.role = DESK_REQUESTER;
    char token[AUTH_TOKEN_LEN + 1];
    auth_new_token(token);
    auth_token_hash(token, cl.token_hash);
    unsigned char ch[32], lh[AUTH_TOKEN_HASH_BYTES];
    int rc = STORE_ENOTFOUND;
    struct store_signin si;
    memset(&si, 0, sizeof si);
    int64_t anon = r->who->role == DESK_REQUESTER ? r->who->person_id : 0;
    if (r->m->link) {
        if (auth_token_hash(r->m->link, lh) == 0)
            rc = store_signin_verify(r->d->st, NULL, NULL, lh, cfg->signin_max_tries, anon,
                                     cl.token_hash, cfg->session_ttl, &si);
    } else {
        code_hash(r->m->email, r->m->code, ch);
        rc = store_signin_verify(r->d->st, r->m->email, ch, NULL, cfg->signin_max_tries, anon,
                                 cl.token_hash, cfg->session_ttl, &si);
    }
    char msg[200];
    switch (rc) {
    case 0:
        break;
    case STORE_ENOTFOUND:
        r->out->login = DESK_LOGIN_FAILED;
        desk_err(r, P_LOGIN_FAILED,
                 "no code is waiting for this address, or it expired or was used: "
                 "ask for a new one");
        return;
    case STORE_EFORBIDDEN:
        r->out->login = DESK_LOGIN_FAILED;
        snprintf(msg, sizeof msg, "wrong code: %d %s left", si.tries_left,
                 si.tries_left == 1 ? "try" : "tries");
        desk_outbox_error(r->out, P_LOGIN_FAILED, msg, r->m->id, "code");
        return;
    case STORE_ECONFLICT:
        r->out->login = DESK_LOGIN_FAILED;
        desk_err(r, P_TOO_MANY_ATTEMPTS,
                 "too many wrong codes: this code no longer works; ask for a new one");
        return;
    default:
        desk_store_err(r, rc, NULL);
        return;
    }
    r->out->login = DESK_LOGIN_OK;
    cl.person_id = si.person;
    snprintf(cl.name, sizeof cl.name, "%s", si.name);
    struct store_conversation c;
    rc = desk_current_conversation(r, cl.person_id, &c);
    if (desk_store_err(r, rc, NULL))
        return;
    cl.conv_id = c.id;
    desk_welcome_requester(r, &cl, token, 1, &c, 0);
}

/* ---- my tickets ---------------------------------------------------------------------- */

struct my_walk {
    json_t *list;
    int64_t *convs;
    size_t n, cap;
};

static int my_ticket(void *arg, const struct store_my_ticket *mt)
{
    struct my_walk *w = arg;
    json_t *o = proto_ticket(&mt->t);
    json_object_set_new(o, "rating_comment",
                        mt->rating_comment ? json_string(mt->rating_comment) : json_null());
    json_array_append_new(w->list, o);
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->convs = kb_xrealloc(w->convs, w->cap * sizeof *w->convs);
    }
    w->convs[w->n++] = mt->t.conversation_id;
    return 0;
}

struct msg_walk {
    json_t *arr;
    int64_t viewer;
};

static int my_message(void *arg, const struct store_message *m)
{
    struct msg_walk *w = arg;
    json_array_append_new(w->arr, proto_message(0, m->sender_role, m->sender_name, m->body,
                                                m->seq, m->created_at, NULL, NULL));
    return 0;
}

int desk_my_tickets(struct desk *d, int64_t person, json_t **out)
{
    *out = NULL;
    struct my_walk w = {json_array(), NULL, 0, 0};
    int rc = person ? store_my_tickets(d->st, person, 500, my_ticket, &w) : 0;
    for (size_t i = 0; rc == 0 && i < w.n; i++) {
        struct msg_walk mw = {json_array(), person};
        rc = store_messages_since(d->st, w.convs[i], person, 0, my_message, &mw);
        json_object_set_new(json_array_get(w.list, i), "messages", mw.arr);
    }
    free(w.convs);
    if (rc) {
        json_decref(w.list);
        return rc;
    }
    *out = w.list;
    return 0;
}

void desk_do_my_tickets(struct req *r)
{
    if (!desk_is_requester(r))
        return;
    json_t *list;
    int rc = desk_my_tickets(r->d, r->who->person_id, &list);
    if (desk_store_err(r, rc, NULL))
        return;
    json_t *f = json_pack("{s:s, s:o}", "type", "my_tickets", "tickets", list);
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}

void desk_do_follow(struct req *r)
{
    if (!desk_is_requester(r))
        return;
    struct store_ticket t;
    if (desk_get_ticket(r, r->m->ticket, &t))
        return;
    struct store_conversation c;
    int rc = store_conversation_get(r->d->st, t.conversation_id, r->who->person_id, &c);
    if (desk_store_err(r, desk_ticket_rc(r, rc), NULL)) {
        store_ticket_fin(&t);
        return;
    }
    json_t *f = json_pack("{s:s, s:o, s:o}", "type", "conversation", "conversation",
                          desk_conversation_json(&c), "ticket", proto_ticket(&t));
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
    r->out->client_set = 1;
    r->out->client = *r->who;
    r->out->client.conv_id = c.id;
    r->out->attach = 1;
    r->out->attach_conv = c.id;
    r->out->attach_after = 0; /* the whole conversation */
    store_ticket_fin(&t);
}

void desk_do_mail_prefs(struct req *r)
{
    if (!desk_is_requester(r))
        return;
    if (!r->who->person_id) {
        desk_err(r, P_INVALID_STATE, "describe the problem first: send a message");
        return;
    }
    int rc = store_person_set_ticket_mail(r->d->st, r->who->person_id, r->m->ticket_mail);
    if (desk_store_err(r, rc, NULL))
        return;
    json_t *f = json_pack("{s:s, s:b}", "type", "mail_prefs", "ticket_mail", r->m->ticket_mail);
    if (r->m->id)
        json_object_set_new(f, "id", json_string(r->m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}

/* ---- the daemon's own jobs ----------------------------------------------------------- */

static int send_one(void *arg, const struct store_mail *m, char *err, size_t errlen)
{
    const struct desk_config *cfg = arg;
    size_t len;
    char *msg = mail_compose(cfg->smtp_from, m->to, m->subject, m->body, time(NULL), &len);
    int rc = mail_send(cfg, m->to, msg, len, err, errlen);
    free(msg);
    return rc;
}

static int post_one(void *arg, const struct store_delivery *d, char *err, size_t errlen)
{
    (void)arg;
    struct hook_request hr;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (hook_request(d->kind, d->url, d->secret, d->payload, now_ms, &hr, err, errlen))
        return -1;
    int rc = hook_post(&hr, strcmp(d->kind, "webhook") != 0, err, errlen);
    hook_request_fin(&hr);
    return rc;
}

/* The robots' and webhooks' round: due deliveries of webhook_outbox,
 * posted with the mail's retry policy. */
static void do_hooks(struct req *r)
{
    const struct desk_config *cfg = r->d->cfg;
    struct store_mail_policy pol = {MAIL_BATCH, cfg->mail_retry_min, cfg->mail_retry_max,
                                    cfg->mail_max_attempts, NULL};
    int sent = 0, failed = 0;
    int rc = store_hook_deliver(r->d->st, &pol, post_one, NULL, &sent, &failed);
    if (rc == STORE_EDB)
        r->out->db_error = 1;
    r->out->hook_sent = sent;
    r->out->hook_failed = failed;
}

void desk_do_mail(struct req *r)
{
    const struct desk_config *cfg = r->d->cfg;
    do_hooks(r);
    if (!cfg->smtp_url)
        return; /* no relay: the mails stay queued */
    char base[512];
    base_url(cfg, base, sizeof base);
    struct store_mail_policy pol = {MAIL_BATCH, cfg->mail_retry_min, cfg->mail_retry_max,
                                    cfg->mail_max_attempts, base[0] ? base : "(chat page)"};
    int sent = 0, failed = 0;
    int rc = store_mail_deliver(r->d->st, &pol, send_one, (void *)cfg, &sent, &failed);
    if (rc == STORE_EDB)
        r->out->db_error = 1;
    r->out->mail_sent = sent;
    r->out->mail_failed = failed;
}

void desk_do_away(struct req *r)
{
    int queued = 0;
    int rc = store_mail_reply_away(r->d->st, r->m->conv, r->m->after_seq, &queued);
    if (rc == STORE_EDB)
        r->out->db_error = 1;
    r->out->mail_queued = queued;
}
