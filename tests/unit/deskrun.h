/* deskrun: what the unit tests of chatdesk/desk (the service layer:
 * test_desk.c, test_desk_flow.c) share on top of pgdesk.h: the one group
 * (`g`, a cluster in DESKRUN_PREFIX.XXXXXX with the corpus indexed and a
 * desk on it; group_setup and group_teardown for cmocka), requests run as
 * JSON text through the real codec with their outbox frames parsed back
 * (struct reply, freed by reply_fin), the frame and field look-ups that fail
 * the running test when something is missing, and people and tickets made
 * through the desk as clients make them. A file defines DESKRUN_PREFIX and
 * includes this once, after <cmocka.h>; static inline, so a file may use
 * only some. */
#ifndef KB_DESKRUN_H
#define KB_DESKRUN_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgstore.h"
#include "pgdesk.h"
#include "../../chatdesk/auth.h"
#include "../../chatdesk/desk.h"
#include "../../chatdesk/proto.h"
#include "store.h"

#define VPN_TEXT "我的电脑连不上VPN了，提示错误809"

static struct pgdesk g;

/* ---- helpers ------------------------------------------------------------ */

#define q_ll(sql, a) pgs_ll(g.pg, sql, a, NULL)
#define q_str(sql, a) pgs_str(g.pg, sql, a, NULL)
#define q_exec(sql, a) pgs_exec(g.pg, sql, a, NULL)

/* The frames of one request, parsed. */
struct reply {
    struct desk_outbox out;
    json_t *f[64];
    struct desk_frame *fr[64];
    int n;
    int nack; /* frames from desk_on_message; those after: desk_suggest's */
};

static inline int count_frames(const struct desk_frame *f)
{
    int n = 0;
    for (; f; f = f->next)
        n++;
    return n;
}

static inline void reply_fin(struct reply *r)
{
    for (int i = 0; i < r->n; i++)
        json_decref(r->f[i]);
    desk_outbox_fin(&r->out);
    memset(r, 0, sizeof *r);
}

/* Runs a client frame (JSON text, which must parse) for client c, applying
 * the outbox's client change to c. */
static inline void run_msg(struct desk_client *c, const struct desk_msg *m, struct reply *r)
{
    memset(r, 0, sizeof *r);
    desk_outbox_init(&r->out);
    desk_on_message(g.d, c, m, &r->out);
    /* as the daemon does after delivering the ack: the suggestions' search */
    r->nack = count_frames(r->out.head);
    if (r->out.suggest.requester || r->out.suggest.agent)
        desk_suggest(g.d, r->out.client_set ? &r->out.client : c, &r->out.suggest, &r->out);
    for (struct desk_frame *f = r->out.head; f && r->n < 64; f = f->next) {
        json_error_t je;
        r->f[r->n] = json_loadb(f->json, f->len, 0, &je);
        if (!r->f[r->n])
            fail_msg("frame is not JSON: %.*s", (int)f->len, f->json);
        r->fr[r->n] = f;
        r->n++;
    }
    if (r->out.client_set)
        *c = r->out.client;
}

static inline void run(struct desk_client *c, const char *json, struct reply *r)
{
    struct desk_msg m;
    struct proto_error e;
    if (proto_parse(json, strlen(json), &m, &e))
        fail_msg("request does not parse: %s: %s", json, e.message);
    run_msg(c, &m, r);
    desk_msg_fin(&m);
}

static inline const char *type_of(json_t *f)
{
    const char *t = json_string_value(json_object_get(f, "type"));
    return t ? t : "";
}

/* The index of the first frame of type (to `to`; -1: any target) from
 * index `from`, or -1. */
static inline int find_from(const struct reply *r, const char *type, int to, int from)
{
    for (int i = from; i < r->n; i++)
        if (strcmp(type_of(r->f[i]), type) == 0 && (to < 0 || (int)r->fr[i]->to == to))
            return i;
    return -1;
}

static inline int find(const struct reply *r, const char *type, int to)
{
    return find_from(r, type, to, 0);
}

/* The frame of type to self, failing the test if absent. */
static inline json_t *must(const struct reply *r, const char *type)
{
    int i = find(r, type, DESK_TO_SELF);
    if (i < 0) {
        char all[2048] = "";
        for (int k = 0; k < r->n; k++) {
            strncat(all, r->fr[k]->json, sizeof all - strlen(all) - 2);
            strncat(all, "\n", sizeof all - strlen(all) - 1);
        }
        fail_msg("no %s frame; got:\n%s", type, all);
    }
    return r->f[i];
}

static inline const char *s_of(json_t *f, const char *key)
{
    const char *s = json_string_value(json_object_get(f, key));
    return s ? s : "<none>";
}

static inline long long i_of(json_t *f, const char *key)
{
    json_t *v = json_object_get(f, key);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", key);
    return json_integer_value(v);
}

/* An error frame's code for the request (fails if the reply is no error). */
static inline const char *error_code(const struct reply *r)
{
    return s_of(must(r, "error"), "code");
}

static inline void expect_error(struct desk_client *c, const char *json, const char *code)
{
    struct reply r;
    run(c, json, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(error_code(&r), code);
    reply_fin(&r);
}

/* A new requester signed in with hello; returns the session token. */
static inline void mk_requester(struct desk_client *c, char token[64])
{
    memset(c, 0, sizeof *c);
    char json[256];
    int n = ++g.people;
    snprintf(json, sizeof json, "{\"type\":\"hello\",\"name\":\"用户%d\",\"email\":\"u%d@example.cn\"}",
             n, n);
    struct reply r;
    run(c, json, &r);
    json_t *w = must(&r, "welcome");
    if (token)
        snprintf(token, 64, "%s", s_of(w, "session"));
    reply_fin(&r);
    assert_int_equal(c->role, DESK_REQUESTER);
}

/* A new agent (created through the store) signed in with login. */
static inline void mk_agent(struct desk_client *c, char user[32])
{
    char hash[AUTH_PWHASH_MAX];
    assert_int_equal(auth_hash_password("agent-pass", hash), 0);
    snprintf(user, 32, "agent%d", ++g.people);
    int64_t id;
    char name[64];
    snprintf(name, sizeof name, "坐席%d", g.people);
    assert_int_equal(store_agent_create(desk_store(g.d), user, name, hash, &id), 0);
    memset(c, 0, sizeof *c);
    char json[256];
    snprintf(json, sizeof json, "{\"type\":\"login\",\"username\":\"%s\",\"password\":\"agent-pass\"}",
             user);
    struct reply r;
    run(c, json, &r);
    must(&r, "welcome");
    reply_fin(&r);
    assert_int_equal(c->role, DESK_AGENT);
    assert_int_equal(c->person_id, id);
}

/* Sends a requester message; returns its seq. */
static inline int say(struct desk_client *c, const char *id, const char *text)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "message", "id", id, "text", text);
    char *json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    struct reply r;
    run(c, json, &r);
    free(json);
    json_t *ack = must(&r, "ack");
    int seq = (int)i_of(ack, "seq");
    reply_fin(&r);
    return seq;
}

/* A requester with a VPN message, escalated; the ticket number in number. */
static inline void mk_ticket(struct desk_client *req, char number[32])
{
    mk_requester(req, NULL);
    say(req, "m1", VPN_TEXT);
    struct reply r;
    run(req, "{\"type\":\"escalate\",\"impact\":2,\"urgency\":2}", &r);
    snprintf(number, 32, "%s", s_of(must(&r, "ticket"), "number"));
    reply_fin(&r);
}

/* Runs json, which must be answered with a frame of type want. */
static inline void do_ok(struct desk_client *c, const char *json, const char *want)
{
    struct reply r;
    run(c, json, &r);
    must(&r, want);
    reply_fin(&r);
}

/* Runs json, which must be answered with nothing at all. */
static inline void do_nothing_then(struct desk_client *c, const char *json)
{
    struct reply r;
    run(c, json, &r);
    assert_int_equal(r.n, 0);
    reply_fin(&r);
}

/* ---- setup ------------------------------------------------------------ */

static inline int group_setup(void **state)
{
    (void)state;
    return pgdesk_setup(&g, DESKRUN_PREFIX, NULL);
}

static inline int group_teardown(void **state)
{
    (void)state;
    return pgdesk_teardown(&g);
}

#endif
