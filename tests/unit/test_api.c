/* Unit tests for chatdesk/api (the JSON API's service layer) against a real
 * PostgreSQL 15 (a throwaway cluster started with scripts/pg.sh, fsync off)
 * and a real index of the demo corpus. Requests go through the real codec
 * and router (httpreq_parse, router_match) and api_handle, with no
 * transport; requesters and their tickets are made through the WebSocket
 * service (desk_on_message), so the tests also check that both doors share
 * sessions and permissions. Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "pgdesk.h"
#include "../../chatdesk/api.h"
#include "../../chatdesk/auth.h"
#include "../../chatdesk/desk.h"
#include "../../chatdesk/httpreq.h"
#include "../../chatdesk/proto.h"
#include "../../chatdesk/router.h"
#include "store.h"
#include "kb_lexicon.h"
#include "kb_util.h"

#define MIGRATIONS PGT_MIGRATIONS
#define AGENT_USER "apiagent"
#define AGENT_PW "api agent password"

static struct pgdesk g;

/* ---- helpers ------------------------------------------------------------ */

/* One API request through codec, router and service. token and body may
 * be NULL. Returns the status; *out gets the parsed body (NULL for none;
 * the caller decrefs) and text (if not NULL) its bytes. */
static int call(enum api_method m, const char *path, const char *token, const char *body,
                json_t **out, char *text, size_t textlen)
{
    char auth[128];
    struct httpreq_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.method = m;
    raw.path = path;
    raw.peer = "127.0.0.1";
    if (token) {
        snprintf(auth, sizeof auth, "Bearer %s", token);
        raw.authorization = auth;
    }
    if (body) {
        raw.content_type = "application/json";
        raw.body = body;
        raw.body_len = strlen(body);
    }
    struct api_request req;
    struct api_response resp = {0};
    char allow[64];
    if (httpreq_parse(&raw, &req, &resp) == 0) {
        int st = router_match(&req, allow, sizeof allow);
        if (st == 200)
            api_handle(g.d, &g.cfg, &req, &resp, NULL);
        else
            api_response_error(&resp, st, "routing", "not routed");
        api_request_fin(&req);
    }
    int status = resp.status;
    if (out)
        *out = resp.body ? json_loads(resp.body, 0, NULL) : NULL;
    if (text && textlen)
        snprintf(text, textlen, "%s", resp.body ? resp.body : "");
    if (status == 401)
        assert_true(resp.bearer_challenge);
    api_response_fin(&resp);
    return status;
}

static const char *err_code(json_t *o)
{
    const char *c = json_string_value(json_object_get(json_object_get(o, "error"), "code"));
    return c ? c : "(no error code)";
}

/* A WebSocket request for c; returns the first frame to c itself (decref). */
static json_t *ws(struct desk_client *c, const char *frame)
{
    struct desk_msg m;
    struct proto_error e;
    if (proto_parse(frame, strlen(frame), &m, &e))
        fail_msg("bad frame %s: %s", frame, e.message);
    struct desk_outbox out;
    desk_outbox_init(&out);
    desk_on_message(g.d, c, &m, &out);
    desk_msg_fin(&m);
    if (out.client_set)
        *c = out.client;
    json_t *self = NULL;
    for (struct desk_frame *f = out.head; f && !self; f = f->next)
        if (f->to == DESK_TO_SELF)
            self = json_loadb(f->json, f->len, 0, NULL);
    desk_outbox_fin(&out);
    assert_non_null(self);
    return self;
}

/* A requester with an escalated ticket: its session token and number. */
static void requester_ticket(struct desk_client *c, char token[64], char number[32])
{
    char frame[256];
    memset(c, 0, sizeof *c);
    snprintf(frame, sizeof frame, "{\"type\":\"hello\",\"name\":\"接口用户%d\"}", ++g.people);
    json_t *w = ws(c, frame);
    assert_string_equal(json_string_value(json_object_get(w, "type")), "welcome");
    snprintf(token, 64, "%s", json_string_value(json_object_get(w, "session")));
    json_decref(w);
    json_t *a = ws(c, "{\"type\":\"message\",\"id\":\"m1\",\"text\":\"打印机脱机\"}");
    assert_string_equal(json_string_value(json_object_get(a, "type")), "ack");
    json_decref(a);
    json_t *t = ws(c, "{\"type\":\"escalate\",\"impact\":2,\"urgency\":2}");
    assert_string_equal(json_string_value(json_object_get(t, "type")), "ticket");
    snprintf(number, 32, "%s", json_string_value(json_object_get(t, "number")));
    json_decref(t);
}

static void agent_login(char token[64])
{
    json_t *o;
    assert_int_equal(call(API_M_POST, "/api/v1/sessions", NULL,
                          "{\"username\":\"" AGENT_USER "\",\"password\":\"" AGENT_PW "\"}", &o,
                          NULL, 0),
                     201);
    snprintf(token, 64, "%s", json_string_value(json_object_get(o, "token")));
    assert_int_equal(strlen(token), AUTH_TOKEN_LEN);
    json_decref(o);
}

/* ---- setup ------------------------------------------------------------ */

/* the agent the tests log in as */
static int seed_agent(struct store *st)
{
    char hash[AUTH_PWHASH_MAX];
    int64_t id;
    return auth_hash_password(AGENT_PW, hash) ||
           store_agent_create(st, AGENT_USER, "接口坐席", hash, &id);
}

static int group_setup(void **state)
{
    (void)state;
    return pgdesk_setup(&g, "kbapi", seed_agent);
}

static int group_teardown(void **state)
{
    (void)state;
    return pgdesk_teardown(&g);
}

/* ---- tests ------------------------------------------------------------ */

static void login_makes_a_session_the_websocket_accepts(void **state)
{
    (void)state;
    json_t *o;
    assert_int_equal(call(API_M_POST, "/api/v1/sessions", NULL,
                          "{\"username\":\"" AGENT_USER "\",\"password\":\"" AGENT_PW "\"}", &o,
                          NULL, 0),
                     201);
    const char *token = json_string_value(json_object_get(o, "token"));
    assert_non_null(token);
    assert_string_equal(json_string_value(json_object_get(o, "role")), "agent");
    assert_string_equal(json_string_value(json_object_get(o, "username")), AGENT_USER);
    /* expires_at is the session row's */
    unsigned char hash[AUTH_TOKEN_HASH_BYTES];
    assert_int_equal(auth_token_hash(token, hash), 0);
    struct store_session ss;
    assert_int_equal(store_session_lookup(desk_store(g.d), hash, &ss), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "expires_at")), ss.expires_at);
    /* the WebSocket resumes with it */
    struct desk_client c = {0};
    char frame[128];
    snprintf(frame, sizeof frame, "{\"type\":\"login\",\"session\":\"%s\"}", token);
    json_t *w = ws(&c, frame);
    assert_string_equal(json_string_value(json_object_get(w, "type")), "welcome");
    assert_true(json_is_true(json_object_get(w, "resumed")));
    assert_int_equal(c.role, DESK_AGENT);
    json_decref(w);
    json_decref(o);

    /* wrong password, unknown user: the same 401 */
    char t1[256], t2[256];
    assert_int_equal(call(API_M_POST, "/api/v1/sessions", NULL,
                          "{\"username\":\"" AGENT_USER "\",\"password\":\"nope\"}", &o, t1,
                          sizeof t1),
                     401);
    assert_string_equal(err_code(o), "login_failed");
    json_decref(o);
    assert_int_equal(call(API_M_POST, "/api/v1/sessions", NULL,
                          "{\"username\":\"nobody\",\"password\":\"" AGENT_PW "\"}", NULL, t2,
                          sizeof t2),
                     401);
    assert_string_equal(t1, t2);
    /* fields by the WebSocket's rules */
    assert_int_equal(call(API_M_POST, "/api/v1/sessions", NULL, "{\"username\":\"x\"}", &o, NULL, 0),
                     400);
    assert_string_equal(err_code(o), "bad_field");
    json_decref(o);
    assert_int_equal(call(API_M_POST, "/api/v1/sessions", NULL, NULL, &o, NULL, 0), 400);
    assert_string_equal(err_code(o), "bad_json");
    json_decref(o);
}

static void tickets_for_their_requester_and_agents_only(void **state)
{
    (void)state;
    struct desk_client u1, u2;
    char tok1[64], tok2[64], num1[32], num2[32], agent[64];
    requester_ticket(&u1, tok1, num1);
    requester_ticket(&u2, tok2, num2);
    agent_login(agent);
    char path[96], path2[96];
    snprintf(path, sizeof path, "/api/v1/tickets/%s", num1);
    snprintf(path2, sizeof path2, "/api/v1/tickets/%s", num2);

    json_t *o;
    char own[2048], by_agent[2048];
    assert_int_equal(call(API_M_GET, path, tok1, NULL, &o, own, sizeof own), 200);
    assert_string_equal(json_string_value(json_object_get(o, "number")), num1);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "new");
    json_decref(o);
    assert_int_equal(call(API_M_GET, path, agent, NULL, NULL, by_agent, sizeof by_agent), 200);
    assert_string_equal(own, by_agent);
    assert_int_equal(call(API_M_GET, path2, tok2, NULL, NULL, NULL, 0), 200);

    /* the other requester: the very answer of a missing ticket */
    char theirs[256], missing[256];
    assert_int_equal(call(API_M_GET, path, tok2, NULL, &o, theirs, sizeof theirs), 404);
    assert_string_equal(err_code(o), "not_found");
    json_decref(o);
    assert_int_equal(call(API_M_GET, "/api/v1/tickets/INC-999999", tok2, NULL, NULL, missing,
                          sizeof missing),
                     404);
    assert_string_equal(theirs, missing);
    assert_int_equal(call(API_M_GET, path2, tok1, NULL, NULL, NULL, 0), 404);

    /* who is who */
    assert_int_equal(call(API_M_GET, "/api/v1/me", tok1, NULL, &o, NULL, 0), 200);
    assert_string_equal(json_string_value(json_object_get(o, "role")), "requester");
    assert_int_equal(json_integer_value(json_object_get(o, "id")), u1.person_id);
    json_decref(o);
}

static void tokens_that_do_not_open(void **state)
{
    (void)state;
    json_t *o;
    assert_int_equal(call(API_M_GET, "/api/v1/me", NULL, NULL, &o, NULL, 0), 401);
    assert_string_equal(err_code(o), "unauthorized");
    json_decref(o);
    assert_int_equal(call(API_M_GET, "/api/v1/me", "short", NULL, NULL, NULL, 0), 401);
    char fake[AUTH_TOKEN_LEN + 1];
    auth_new_token(fake); /* well-formed, never issued */
    assert_int_equal(call(API_M_GET, "/api/v1/me", fake, NULL, NULL, NULL, 0), 401);

    /* an expired session */
    char token[64];
    agent_login(token);
    assert_int_equal(call(API_M_GET, "/api/v1/me", token, NULL, NULL, NULL, 0), 200);
    unsigned char hash[AUTH_TOKEN_HASH_BYTES];
    char hex[2 * AUTH_TOKEN_HASH_BYTES + 1];
    auth_token_hash(token, hash);
    for (int i = 0; i < AUTH_TOKEN_HASH_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    const char *v[1] = {hex};
    PGresult *r = PQexecParams(g.pg,
                               "UPDATE sessions SET expires_at = now() - interval '1 second',"
                               " last_seen_at = now() - interval '1 hour',"
                               " created_at = now() - interval '2 hours'"
                               " WHERE token_hash = decode($1, 'hex')",
                               1, NULL, v, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    assert_string_equal(PQcmdTuples(r), "1");
    PQclear(r);
    assert_int_equal(call(API_M_GET, "/api/v1/me", token, NULL, NULL, NULL, 0), 401);

    /* logout ends the session for the API and the WebSocket */
    agent_login(token);
    struct desk_client c = {0};
    char frame[128];
    snprintf(frame, sizeof frame, "{\"type\":\"login\",\"session\":\"%s\"}", token);
    json_decref(ws(&c, frame));
    assert_int_equal(call(API_M_DELETE, "/api/v1/sessions/current", token, NULL, &o, NULL, 0),
                     204);
    assert_null(o);
    assert_int_equal(call(API_M_GET, "/api/v1/me", token, NULL, NULL, NULL, 0), 401);
    json_t *e = ws(&c, "{\"type\":\"queue\"}");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "session_expired");
    json_decref(e);
}

static void database_down_is_503_then_back(void **state)
{
    (void)state;
    char token[64];
    agent_login(token);
    assert_int_equal(pgt_ctl(g.dir, "stop", NULL, 0), 0);
    json_t *o;
    int st = call(API_M_GET, "/api/v1/me", token, NULL, &o, NULL, 0);
    int st2 = call(API_M_POST, "/api/v1/sessions", NULL,
                   "{\"username\":\"" AGENT_USER "\",\"password\":\"" AGENT_PW "\"}", NULL, NULL,
                   0);
    assert_int_equal(pgt_ctl(g.dir, "start", NULL, 0), 0);
    assert_int_equal(st, 503);
    assert_string_equal(err_code(o), "db_unavailable");
    json_decref(o);
    assert_int_equal(st2, 503);
    assert_int_equal(call(API_M_GET, "/api/v1/me", token, NULL, NULL, NULL, 0), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(login_makes_a_session_the_websocket_accepts),
        cmocka_unit_test(tickets_for_their_requester_and_agents_only),
        cmocka_unit_test(tokens_that_do_not_open),
        cmocka_unit_test(database_down_is_503_then_back),
    };
    return cmocka_run_group_tests_name("api", tests, group_setup, group_teardown);
}
