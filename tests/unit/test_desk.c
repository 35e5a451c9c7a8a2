/* Unit tests for chatdesk/desk (the service layer) against a real
 * PostgreSQL 15 (a throwaway cluster started with scripts/pg.sh, fsync off)
 * and a real index of the demo corpus (built with build/bin/indexer):
 * signing in, messages and suggestions, roles, sessions that end while
 * connected, login throttling, the purge of idle requesters, blank messages
 * and the database going away. The ticket flow, resume and knowledge search
 * are in test_desk_flow.c. The requests are JSON text as a client sends
 * them, parsed by the real codec, and the tests read the outbox frames back
 * as JSON (deskrun.h). Raw SQL through a second connection checks the rows.
 * Run from the repository root (scripts/testrun.sh does).
 *
 * The tests share one database and run in order; each makes its own
 * people. */
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
#include <time.h>

#define DESKRUN_PREFIX "kbdesk"
#include "deskrun.h"
#include "kb_lexicon.h"
#include "kb_util.h"

/* ---- sign-in ------------------------------------------------------------ */

/* hello stores nothing (an anonymous client could otherwise create rows
 * without limit): the person, its session and its conversation are
 * created together by the first message. */
static void hello_stores_nothing_until_the_first_message(void **state)
{
    (void)state;
    long long people0 = q_ll("SELECT count(*) FROM people", NULL);
    long long sessions0 = q_ll("SELECT count(*) FROM sessions", NULL);
    long long convs0 = q_ll("SELECT count(*) FROM conversations", NULL);
    struct desk_client c = {0};
    struct reply r;
    run(&c, "{\"type\":\"hello\",\"role\":\"requester\",\"name\":\"王小明\",\"email\":\"wang@example.cn\",\"id\":\"h1\"}",
        &r);
    assert_int_equal(r.n, 1);
    json_t *w = must(&r, "welcome");
    assert_string_equal(s_of(w, "role"), "requester");
    assert_string_equal(s_of(w, "name"), "王小明");
    assert_string_equal(s_of(w, "id"), "h1");
    assert_true(json_is_false(json_object_get(w, "resumed")));
    assert_true(json_is_null(json_object_get(w, "ticket")));
    char token[64];
    snprintf(token, sizeof token, "%s", s_of(w, "session"));
    assert_int_equal(strlen(token), AUTH_TOKEN_LEN);
    json_t *conv = json_object_get(w, "conversation");
    assert_true(json_is_null(json_object_get(conv, "id")));
    assert_string_equal(s_of(conv, "status"), "open");
    assert_int_equal(i_of(conv, "last_seq"), 0);
    /* the connection's state: a requester not stored yet */
    assert_true(r.out.client_set);
    assert_int_equal(c.role, DESK_REQUESTER);
    assert_int_equal(c.person_id, 0);
    assert_int_equal(c.conv_id, 0);
    assert_string_equal(c.email, "wang@example.cn");
    unsigned char h[AUTH_TOKEN_HASH_BYTES];
    assert_int_equal(auth_token_hash(token, h), 0);
    assert_memory_equal(c.token_hash, h, sizeof h);
    reply_fin(&r);
    assert_int_equal(q_ll("SELECT count(*) FROM people", NULL), people0);
    assert_int_equal(q_ll("SELECT count(*) FROM sessions", NULL), sessions0);
    assert_int_equal(q_ll("SELECT count(*) FROM conversations", NULL), convs0);
    /* typing, escalate, ping-like frames before a message store nothing either */
    do_nothing_then(&c, "{\"type\":\"typing\",\"active\":true}");
    expect_error(&c, "{\"type\":\"escalate\",\"impact\":2,\"urgency\":2}", "invalid_state");
    /* a resume before the first message finds no session: with a name it
     * is a new chat, still without rows */
    struct desk_client c2 = {0};
    char json[256];
    snprintf(json, sizeof json,
             "{\"type\":\"hello\",\"name\":\"王小明\",\"resume\":{\"session\":\"%s\"}}", token);
    run(&c2, json, &r);
    assert_true(json_is_false(json_object_get(must(&r, "welcome"), "resumed")));
    reply_fin(&r);
    assert_int_equal(q_ll("SELECT count(*) FROM people", NULL), people0);
    /* the first message: person, session (under the token given in
     * welcome) and conversation, then the message; the ack names the
     * conversation */
    run(&c, "{\"type\":\"message\",\"id\":\"m1\",\"text\":\"打印机脱机\"}", &r);
    json_t *ack = must(&r, "ack");
    assert_int_equal(i_of(ack, "seq"), 1);
    json_t *ac = json_object_get(ack, "conversation");
    assert_true(c.person_id > 0);
    assert_true(c.conv_id > 0);
    assert_int_equal(i_of(ac, "id"), c.conv_id);
    assert_true(r.out.attach);
    assert_int_equal(r.out.attach_conv, c.conv_id);
    reply_fin(&r);
    char pid[24];
    snprintf(pid, sizeof pid, "%lld", (long long)c.person_id);
    assert_string_equal(q_str("SELECT role FROM people WHERE id = $1", pid), "requester");
    assert_string_equal(q_str("SELECT email FROM people WHERE id = $1", pid), "wang@example.cn");
    assert_int_equal(q_ll("SELECT count(*) FROM sessions WHERE person_id = $1", pid), 1);
    assert_int_equal(q_ll("SELECT count(*) FROM sessions WHERE position(convert_to($1, 'UTF8')"
                          " IN token_hash) > 0",
                          token),
                     0);
    assert_int_equal(q_ll("SELECT count(*) FROM conversations WHERE requester_id = $1", pid), 1);
    assert_int_equal(q_ll("SELECT count(*) FROM people", NULL), people0 + 1);
    /* a second message goes to the same conversation; the session resumes */
    assert_int_equal(say(&c, "m2", "还是脱机"), 2);
    assert_int_equal(q_ll("SELECT count(*) FROM people", NULL), people0 + 1);
    struct desk_client c3 = {0};
    snprintf(json, sizeof json, "{\"type\":\"hello\",\"resume\":{\"session\":\"%s\",\"last_seq\":0}}",
             token);
    run(&c3, json, &r);
    w = must(&r, "welcome");
    assert_true(json_is_true(json_object_get(w, "resumed")));
    assert_int_equal(i_of(json_object_get(w, "conversation"), "id"), c.conv_id);
    assert_int_equal(c3.person_id, c.person_id);
    reply_fin(&r);
    /* a second hello on the same connection */
    expect_error(&c, "{\"type\":\"hello\",\"name\":\"x\"}", "already_authenticated");
}

static void nothing_before_sign_in(void **state)
{
    (void)state;
    struct desk_client c = {0};
    expect_error(&c, "{\"type\":\"message\",\"id\":\"x\",\"text\":\"hi\"}", "not_authenticated");
    expect_error(&c, "{\"type\":\"queue\"}", "not_authenticated");
    expect_error(&c, "{\"type\":\"open\",\"ticket\":\"INC-000001\"}", "not_authenticated");
    assert_int_equal(c.role, DESK_NONE);
}

static void login_checks_the_password(void **state)
{
    (void)state;
    struct desk_client a;
    char user[32];
    mk_agent(&a, user);
    struct desk_client c = {0};
    char json[256];
    snprintf(json, sizeof json,
             "{\"type\":\"login\",\"username\":\"%s\",\"password\":\"wrong\",\"id\":\"l1\"}", user);
    struct reply r;
    run(&c, json, &r);
    assert_string_equal(error_code(&r), "login_failed");
    assert_string_equal(s_of(r.f[0], "id"), "l1");
    reply_fin(&r);
    expect_error(&c, "{\"type\":\"login\",\"username\":\"nobody-here\",\"password\":\"agent-pass\"}",
                 "login_failed");
    assert_int_equal(c.role, DESK_NONE);
    /* user names are case-insensitive */
    for (char *p = user; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    snprintf(json, sizeof json, "{\"type\":\"login\",\"username\":\"%s\",\"password\":\"agent-pass\"}",
             user);
    run(&c, json, &r);
    json_t *w = must(&r, "welcome");
    assert_string_equal(s_of(w, "role"), "agent");
    assert_int_equal(strlen(s_of(w, "session")), AUTH_TOKEN_LEN);
    assert_int_equal(c.role, DESK_AGENT);
    char token[64];
    snprintf(token, sizeof token, "%s", s_of(w, "session"));
    reply_fin(&r);
    /* the session resumes on a new connection; a requester's does not */
    struct desk_client c2 = {0};
    snprintf(json, sizeof json, "{\"type\":\"login\",\"session\":\"%s\"}", token);
    run(&c2, json, &r);
    assert_true(json_is_true(json_object_get(must(&r, "welcome"), "resumed")));
    assert_int_equal(c2.person_id, a.person_id);
    reply_fin(&r);
    struct desk_client req;
    char rtoken[64];
    mk_requester(&req, rtoken);
    say(&req, "m0", "你好"); /* the session is stored with the first message */
    struct desk_client c3 = {0};
    snprintf(json, sizeof json, "{\"type\":\"login\",\"session\":\"%s\"}", rtoken);
    expect_error(&c3, json, "forbidden");
    expect_error(&c3, "{\"type\":\"login\",\"session\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
                 "session_expired");
    assert_int_equal(c3.role, DESK_NONE);
    /* logout deletes the session */
    run(&c2, "{\"type\":\"logout\"}", &r);
    must(&r, "logged_out");
    assert_int_equal(c2.role, DESK_NONE);
    reply_fin(&r);
    struct desk_client c4 = {0};
    snprintf(json, sizeof json, "{\"type\":\"login\",\"session\":\"%s\"}", token);
    expect_error(&c4, json, "session_expired");
}

/* ---- messages and suggestions ----------------------------------------------- */

static void message_acked_after_store_then_suggestions(void **state)
{
    (void)state;
    struct desk_client c;
    mk_requester(&c, NULL);
    struct reply r;
    run(&c, "{\"type\":\"message\",\"id\":\"c-1\",\"text\":\"" VPN_TEXT "\"}", &r);
    json_t *ack = must(&r, "ack");
    assert_string_equal(s_of(ack, "id"), "c-1");
    assert_int_equal(i_of(ack, "seq"), 1);
    assert_true(json_is_false(json_object_get(ack, "duplicate")));
    assert_int_equal(r.fr[find(&r, "ack", DESK_TO_SELF)]->ack_seq, 1);
    /* the ack comes before the suggestions */
    int ia = find(&r, "ack", DESK_TO_SELF), is = find(&r, "suggestions", DESK_TO_SELF);
    assert_true(ia >= 0 && is > ia);
    /* desk_on_message stores and acks without searching: the search is left
     * in the outbox for desk_suggest, which the daemon runs after the ack */
    assert_true(ia < r.nack && is >= r.nack);
    assert_true(r.out.suggest.requester);
    assert_false(r.out.suggest.agent);
    assert_int_equal(r.out.suggest.for_seq, 1);
    assert_int_equal(r.out.suggest.conv, c.conv_id);
    json_t *items = json_object_get(r.f[is], "items");
    long long nitems = (long long)json_array_size(items);
    assert_true(nitems >= 1);
    assert_int_equal(i_of(r.f[is], "for_seq"), 1);
    int found = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        if (strcmp(s_of(it, "id"), "KB-0001") == 0)
            found = 1;
        const char *kind = s_of(it, "kind");
        assert_true(strcmp(kind, "article") == 0 || strcmp(kind, "known_error") == 0);
        assert_string_equal(s_of(it, "visibility"), "public");
        assert_true(strlen(s_of(it, "title")) > 0);
        assert_non_null(json_string_value(json_object_get(it, "snippet")));
    }
    assert_true(found);
    /* the top item is the VPN 809 article */
    assert_string_equal(s_of(json_array_get(items, 0), "id"), "KB-0001");
    /* the other connections of this conversation get the message (not this one) */
    int ic = find(&r, "message", DESK_TO_CONV);
    assert_true(ic >= 0);
    assert_true(r.fr[ic]->not_self);
    assert_int_equal(r.fr[ic]->seq, 1);
    assert_int_equal(r.fr[ic]->target, c.conv_id);
    reply_fin(&r);
    /* stored once, and the suggestions recorded */
    char conv[24];
    snprintf(conv, sizeof conv, "%lld", (long long)c.conv_id);
    assert_int_equal(q_ll("SELECT count(*) FROM messages WHERE conversation_id = $1", conv), 1);
    assert_string_equal(q_str("SELECT body FROM messages WHERE conversation_id = $1", conv),
                        VPN_TEXT);
    assert_int_equal(q_ll("SELECT count(*) FROM conversation_suggestions WHERE conversation_id = $1"
                          " AND doc_id = 'KB-0001'",
                          conv),
                     1);
    /* every item shown is recorded (in one statement) */
    assert_int_equal(q_ll("SELECT count(*) FROM conversation_suggestions WHERE conversation_id = $1",
                          conv),
                     nitems);
    /* resending the same client id stores nothing and acks the same seq */
    run(&c, "{\"type\":\"message\",\"id\":\"c-1\",\"text\":\"" VPN_TEXT "\"}", &r);
    ack = must(&r, "ack");
    assert_int_equal(i_of(ack, "seq"), 1);
    assert_true(json_is_true(json_object_get(ack, "duplicate")));
    assert_int_equal(find(&r, "message", -1), -1); /* nobody is told twice */
    reply_fin(&r);
    assert_int_equal(q_ll("SELECT count(*) FROM messages WHERE conversation_id = $1", conv), 1);
    /* the next message gets the next seq */
    assert_int_equal(say(&c, "c-2", "重启了也不行"), 2);
    assert_int_equal(q_ll("SELECT max(seq) FROM messages WHERE conversation_id = $1", conv), 2);
}

/* The store calls of the message path: store_message_post reports the
 * conversation it stored into; store_suggestions_add records a list in one
 * statement; statements prepared on a connection survive its loss (the
 * store forgets them and prepares them again). */
static void store_message_path(void **state)
{
    (void)state;
    struct desk_client c;
    char token[64];
    mk_requester(&c, token);
    struct store *st = desk_store(g.d);
    /* what the first message does before it posts: person, session,
     * conversation in one transaction */
    assert_int_equal(store_requester_start(st, c.name, c.email, c.token_hash, 3600, &c.person_id,
                                           &c.conv_id),
                     0);
    assert_true(c.person_id > 0 && c.conv_id > 0);
    int seq = 0, dup = 0;
    struct store_posted info;
    memset(&info, 'x', sizeof info);
    assert_int_equal(store_message_post(st, c.conv_id, c.person_id, "p-1", "打印机脱机", &seq,
                                        &dup, &info),
                     0);
    assert_int_equal(seq, 1);
    assert_false(dup);
    assert_string_equal(info.status, "open");
    assert_string_equal(info.ticket, "");
    assert_int_equal(info.agent_id, 0);
    assert_int_equal(store_message_post(st, c.conv_id, c.person_id, "p-1", "打印机脱机", &seq,
                                        &dup, &info),
                     0);
    assert_int_equal(seq, 1);
    assert_true(dup);

    const char *ids[] = {"KB-0001", "KE-0005", "KB-0001"};
    const char *kinds[] = {"article", "known_error", "article"};
    const char *titles[] = {"VPN 809", NULL, "VPN 809 again"};
    assert_int_equal(store_suggestions_add(st, c.conv_id, 3, ids, kinds, titles), 0);
    char conv[24];
    snprintf(conv, sizeof conv, "%lld", (long long)c.conv_id);
    assert_int_equal(q_ll("SELECT count(*) FROM conversation_suggestions WHERE conversation_id = $1",
                          conv),
                     2);
    assert_string_equal(q_str("SELECT title FROM conversation_suggestions"
                              " WHERE conversation_id = $1 AND doc_id = 'KE-0005'",
                              conv),
                        "KE-0005");
    assert_int_equal(store_suggestions_add(st, c.conv_id, 0, ids, kinds, titles), 0);
    assert_int_equal(store_suggestions_add(st, 999999999, 1, ids, kinds, titles),
                     STORE_ENOTFOUND);

    /* the server ends every other session: the store's prepared statements
     * are gone with its connection */
    for (int round = 0; round < 2; round++) {
        assert_true(q_ll("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                         " WHERE pid <> pg_backend_pid() AND datname = current_database()",
                         NULL) >= 1);
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
        if (round == 0) {
            /* a transaction (BEGIN reconnects) */
            assert_int_equal(store_message_post(st, c.conv_id, c.person_id, "p-2", "还是脱机",
                                                &seq, &dup, &info),
                             0);
            assert_int_equal(seq, 2);
        } else {
            /* a single statement (sent again on a new connection) */
            unsigned char hash[AUTH_TOKEN_HASH_BYTES];
            assert_int_equal(auth_token_hash(token, hash), 0);
            assert_int_equal(store_session_check(st, hash, c.person_id, 3600, 60), 0);
        }
        assert_int_equal(store_suggestions_add(st, c.conv_id, 1, ids, kinds, titles), 0);
    }
}

static void internal_knowledge_only_for_agents(void **state)
{
    (void)state;
    /* a query that finds internal documents when they are allowed */
    const char *q = "域账号锁定 4740";
    struct desk_client c;
    mk_requester(&c, NULL);
    struct reply r;
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "message", "id", "q1", "text", q);
    char *json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    run(&c, json, &r);
    free(json);
    json_t *items = json_object_get(must(&r, "suggestions"), "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        assert_string_equal(s_of(json_array_get(items, i), "visibility"), "public");
    reply_fin(&r);
    run(&c, "{\"type\":\"escalate\",\"impact\":3,\"urgency\":3}", &r);
    char number[32];
    snprintf(number, sizeof number, "%s", s_of(must(&r, "ticket"), "number"));
    reply_fin(&r);
    struct desk_client a;
    char user[32];
    mk_agent(&a, user);
    char req[128];
    snprintf(req, sizeof req, "{\"type\":\"open\",\"ticket\":\"%s\"}", number);
    run(&a, req, &r);
    must(&r, "transcript");
    items = json_object_get(must(&r, "suggestions"), "items");
    int internal = 0;
    for (size_t i = 0; i < json_array_size(items); i++)
        internal += strcmp(s_of(json_array_get(items, i), "visibility"), "internal") == 0;
    assert_true(internal > 0);
    reply_fin(&r);
    /* the requester opening their own ticket gets no agent suggestions */
    run(&c, req, &r);
    must(&r, "transcript");
    assert_int_equal(find(&r, "suggestions", -1), -1);
    reply_fin(&r);
}

/* ---- roles ------------------------------------------------------------------ */

static void requester_cannot_do_agent_things(void **state)
{
    (void)state;
    struct desk_client req, other;
    char number[32];
    mk_ticket(&req, number);
    mk_requester(&other, NULL);
    char json[256];
    const char *const ops[] = {
        "{\"type\":\"queue\"}",
        "{\"type\":\"take\",\"ticket\":\"%s\"}",
        "{\"type\":\"reply\",\"ticket\":\"%s\",\"id\":\"r\",\"text\":\"hi\"}",
        "{\"type\":\"link\",\"ticket\":\"%s\",\"item\":\"KB-0001\"}",
        "{\"type\":\"resolve\",\"ticket\":\"%s\",\"resolution\":\"done\"}",
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        snprintf(json, sizeof json, ops[i], number);
        expect_error(&req, json, "forbidden");
    }
    /* another requester reads or answers nothing of this ticket, and cannot
     * tell it from a ticket that does not exist: the same error frame,
     * byte for byte (no enumeration of ticket numbers) */
    say(&other, "o1", "打印机脱机");
    const char *const probes[] = {
        "{\"type\":\"open\",\"ticket\":\"%s\",\"id\":\"p\"}",
        "{\"type\":\"confirm\",\"ticket\":\"%s\",\"accepted\":true,\"id\":\"p\"}",
        "{\"type\":\"rate\",\"ticket\":\"%s\",\"score\":1,\"id\":\"p\"}",
    };
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        char theirs[2][512];
        const char *numbers[2] = {number, "INC-999999"};
        for (int k = 0; k < 2; k++) {
            struct reply r;
            snprintf(json, sizeof json, probes[i], numbers[k]);
            run(&other, json, &r);
            assert_int_equal(r.n, 1);
            assert_string_equal(error_code(&r), "not_found");
            snprintf(theirs[k], sizeof theirs[k], "%.*s", (int)r.fr[0]->len, r.fr[0]->json);
            reply_fin(&r);
        }
        assert_string_equal(theirs[0], theirs[1]);
    }
    /* and the ticket is unchanged */
    assert_string_equal(q_str("SELECT status FROM tickets WHERE number = $1", number), "new");
    /* an agent does not chat as a requester */
    struct desk_client a;
    char user[32];
    mk_agent(&a, user);
    expect_error(&a, "{\"type\":\"message\",\"id\":\"x\",\"text\":\"hi\"}", "forbidden");
    expect_error(&a, "{\"type\":\"escalate\",\"impact\":1,\"urgency\":1}", "forbidden");
    expect_error(&a, "{\"type\":\"feedback\",\"item\":\"KB-0001\",\"helpful\":true}", "forbidden");
    expect_error(&a, "{\"type\":\"open\",\"ticket\":\"INC-999999\"}", "not_found");
}

/* ---- sessions that end while connected ----------------------------------------------- */

/* The hex of a client's session hash, for SQL (decode($1, 'hex')). */
static const char *hash_hex(const struct desk_client *c)
{
    static char hex[AUTH_TOKEN_HASH_BYTES * 2 + 1];
    for (int i = 0; i < AUTH_TOKEN_HASH_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", c->token_hash[i]);
    return hex;
}

/* Ends c's session in the database as if its time had run out. */
static void expire_session(const struct desk_client *c)
{
    q_exec("UPDATE sessions SET created_at = now() - interval '2 hours',"
           " last_seen_at = now() - interval '1 hour', expires_at = now() - interval '1 second'"
           " WHERE token_hash = decode($1, 'hex')",
           hash_hex(c));
}

static void expired_session_stops_the_connection(void **state)
{
    (void)state;
    struct desk_client c;
    char token[64];
    mk_requester(&c, token);
    assert_int_equal(say(&c, "e1", "邮箱满了"), 1);
    int64_t conv = c.conv_id;
    expire_session(&c);
    /* the next frame is refused and the connection signed out */
    struct reply r;
    run(&c, "{\"type\":\"message\",\"id\":\"e2\",\"text\":\"还是满的\"}", &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(error_code(&r), "session_expired");
    assert_string_equal(s_of(r.f[0], "id"), "e2");
    assert_true(r.out.client_set);
    assert_true(r.out.attach);
    assert_int_equal(r.out.attach_conv, 0);
    assert_false(r.out.db_error);
    reply_fin(&r);
    assert_int_equal(c.role, DESK_NONE);
    char cv[24];
    snprintf(cv, sizeof cv, "%lld", (long long)conv);
    assert_int_equal(q_ll("SELECT count(*) FROM messages WHERE conversation_id = $1", cv), 1);
    /* signed out: what follows is refused until a new hello */
    expect_error(&c, "{\"type\":\"escalate\",\"impact\":1,\"urgency\":1}", "not_authenticated");
    /* the expired session cannot be resumed; a new hello on the same
     * connection starts again */
    char json[256];
    snprintf(json, sizeof json, "{\"type\":\"hello\",\"resume\":{\"session\":\"%s\"}}", token);
    expect_error(&c, json, "session_expired");
    run(&c, "{\"type\":\"hello\",\"name\":\"回来了\"}", &r);
    must(&r, "welcome");
    reply_fin(&r);
    assert_int_equal(c.role, DESK_REQUESTER);
    assert_int_equal(say(&c, "e3", "邮箱满了"), 1);
}

static void logout_elsewhere_ends_every_connection(void **state)
{
    (void)state;
    struct desk_client a1, a2 = {0};
    char user[32], json[256];
    mk_agent(&a1, user);
    /* a second connection of the same session */
    struct reply r;
    run(&a1, "{\"type\":\"queue\"}", &r);
    must(&r, "queue");
    reply_fin(&r);
    /* find the token: log in again with the password on a2, then share */
    snprintf(json, sizeof json, "{\"type\":\"login\",\"username\":\"%s\",\"password\":\"agent-pass\"}",
             user);
    run(&a2, json, &r);
    char token[64];
    snprintf(token, sizeof token, "%s", s_of(must(&r, "welcome"), "session"));
    reply_fin(&r);
    struct desk_client a3 = {0};
    snprintf(json, sizeof json, "{\"type\":\"login\",\"session\":\"%s\"}", token);
    do_ok(&a3, json, "welcome");
    do_ok(&a3, "{\"type\":\"queue\"}", "queue");
    /* a2 logs out: a3 (same session) is done, a1 (its own session) is not */
    do_ok(&a2, "{\"type\":\"logout\"}", "logged_out");
    run(&a3, "{\"type\":\"search\",\"id\":\"q\",\"q\":\"VPN\"}", &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(error_code(&r), "session_expired");
    assert_int_equal(find(&r, "search_results", -1), -1);
    reply_fin(&r);
    assert_int_equal(a3.role, DESK_NONE);
    do_ok(&a1, "{\"type\":\"queue\"}", "queue");
    /* a3 logs in again on the same connection */
    snprintf(json, sizeof json, "{\"type\":\"login\",\"username\":\"%s\",\"password\":\"agent-pass\"}",
             user);
    do_ok(&a3, json, "welcome");
    do_ok(&a3, "{\"type\":\"queue\"}", "queue");
    /* a disabled agent's connections stop too */
    int64_t id = a1.person_id;
    assert_int_equal(store_person_set_disabled(desk_store(g.d), id, 1), 0);
    expect_error(&a1, "{\"type\":\"queue\"}", "session_expired");
    assert_int_equal(a1.person_id, 0);
    expect_error(&a3, "{\"type\":\"typing\",\"ticket\":\"INC-000001\"}", "session_expired");
    assert_int_equal(store_person_set_disabled(desk_store(g.d), id, 0), 0);
    /* a session of someone else than the connection's person is no session */
    do_ok(&a2, json, "welcome");
    struct desk_client forged = a2;
    forged.person_id = a2.person_id + 1000000;
    expect_error(&forged, "{\"type\":\"queue\"}", "session_expired");
    do_ok(&a2, "{\"type\":\"queue\"}", "queue");
}

static void frames_keep_a_session_alive(void **state)
{
    (void)state;
    struct desk_client c;
    mk_requester(&c, NULL);
    say(&c, "m0", "你好"); /* the session is stored with the first message */
    const char *h = hash_hex(&c);
    char hex[AUTH_TOKEN_HASH_BYTES * 2 + 1];
    snprintf(hex, sizeof hex, "%s", h);
    /* about to run out, last seen two minutes ago: a frame pushes the
     * expiry to a full session_ttl from now */
    q_exec("UPDATE sessions SET created_at = now() - interval '1 day',"
           " last_seen_at = now() - interval '2 minutes', expires_at = now() + interval '30 seconds'"
           " WHERE token_hash = decode($1, 'hex')",
           hex);
    struct reply r;
    run(&c, "{\"type\":\"typing\"}", &r); /* nobody to tell: no answer */
    assert_int_equal(r.n, 0);
    reply_fin(&r);
    assert_int_equal(q_ll("SELECT count(*) FROM sessions WHERE token_hash = decode($1, 'hex')"
                          " AND last_seen_at > now() - interval '1 minute'",
                          hex),
                     1);
    assert_true(q_ll("SELECT floor(extract(epoch FROM expires_at - now()))::bigint FROM sessions"
                     " WHERE token_hash = decode($1, 'hex')",
                     hex) >= g.cfg.session_ttl - 60);
    /* seen just now: the next frame only reads (no write per frame) */
    q_exec("UPDATE sessions SET expires_at = now() + interval '1 hour' WHERE token_hash = decode($1, 'hex')",
           hex);
    assert_int_equal(say(&c, "k1", "打印机脱机"), 2);
    assert_true(q_ll("SELECT floor(extract(epoch FROM expires_at - now()))::bigint FROM sessions"
                     " WHERE token_hash = decode($1, 'hex')",
                     hex) <= 3600);

    /* the shortest session_ttl (60 s): a session lives 60 s from its
     * creation, each frame at least 6 s after the last touch renews it, and
     * one second past its end the connection is signed out */
    int ttl = g.cfg.session_ttl;
    g.cfg.session_ttl = 60; /* the desk reads its config on every request */
    struct desk_client s;
    mk_requester(&s, NULL);
    assert_int_equal(say(&s, "t0", "你好"), 1); /* stores the session */
    snprintf(hex, sizeof hex, "%s", hash_hex(&s));
    long long left = q_ll("SELECT floor(extract(epoch FROM expires_at - now()))::bigint FROM sessions"
                          " WHERE token_hash = decode($1, 'hex')",
                          hex);
    assert_true(left > 0 && left <= 60);
    q_exec("UPDATE sessions SET created_at = now() - interval '55 seconds',"
           " last_seen_at = now() - interval '10 seconds', expires_at = now() + interval '5 seconds'"
           " WHERE token_hash = decode($1, 'hex')",
           hex);
    assert_int_equal(say(&s, "t1", "VPN 又断了"), 2);
    left = q_ll("SELECT floor(extract(epoch FROM expires_at - now()))::bigint FROM sessions"
                " WHERE token_hash = decode($1, 'hex')",
                hex);
    assert_true(left >= 50 && left <= 60);
    q_exec("UPDATE sessions SET last_seen_at = now() - interval '61 seconds',"
           " expires_at = now() - interval '1 second' WHERE token_hash = decode($1, 'hex')",
           hex);
    run(&s, "{\"type\":\"message\",\"id\":\"t2\",\"text\":\"在吗\"}", &r);
    assert_string_equal(error_code(&r), "session_expired");
    reply_fin(&r);
    assert_int_equal(s.role, DESK_NONE);
    g.cfg.session_ttl = ttl;
}

/* ---- the database goes away ------------------------------------------------------- */

static void database_down_nothing_acked_then_back(void **state)
{
    (void)state;
    struct desk_client c;
    mk_requester(&c, NULL);
    assert_int_equal(say(&c, "d1", "邮箱打不开"), 1);
    assert_int_equal(pgt_ctl(g.dir, "stop", NULL, 0), 0);
    struct reply r;
    run(&c, "{\"type\":\"message\",\"id\":\"d2\",\"text\":\"Outlook 一直转圈\"}", &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(error_code(&r), "db_unavailable");
    assert_string_equal(s_of(r.f[0], "id"), "d2");
    assert_true(r.out.db_error);
    assert_int_equal(find(&r, "ack", -1), -1);
    reply_fin(&r);
    struct desk_client a = {0};
    expect_error(&a, "{\"type\":\"login\",\"username\":\"whoever\",\"password\":\"x\"}",
                 "db_unavailable");
    assert_int_equal(pgt_ctl(g.dir, "start", NULL, 0), 0);
    /* the raw connection of the test reconnects too */
    PQreset(g.pg);
    assert_int_equal(PQstatus(g.pg), CONNECTION_OK);
    char conv[24];
    snprintf(conv, sizeof conv, "%lld", (long long)c.conv_id);
    assert_int_equal(q_ll("SELECT count(*) FROM messages WHERE conversation_id = $1", conv), 1);
    /* the resend after the outage is stored once, as seq 2 */
    assert_int_equal(say(&c, "d2", "Outlook 一直转圈"), 2);
    assert_int_equal(say(&c, "d2", "Outlook 一直转圈"), 2);
    assert_int_equal(q_ll("SELECT count(*) FROM messages WHERE conversation_id = $1", conv), 2);
}

/* ---- login throttling, purge, blank messages ------------------------------- */

/* A password login of user with pw from connection c (signed out); the
 * reply in r. */
static void try_login(struct desk_client *c, const char *user, const char *pw, struct reply *r)
{
    char json[256];
    snprintf(json, sizeof json, "{\"type\":\"login\",\"username\":\"%s\",\"password\":\"%s\",\"id\":\"l\"}",
             user, pw);
    run(c, json, r);
}

/* After login_max_failures wrong passwords in a row the account is locked:
 * every login (the right password too) is refused with too_many_attempts
 * and retry_after, without an Argon2id check; the lockout is recorded with
 * the client address; an administrator's unlock or the end of the lockout
 * lets the right password in again. A success in between starts the count
 * again. */
static void wrong_passwords_lock_the_account(void **state)
{
    (void)state;
    struct desk_client a;
    char user[32];
    mk_agent(&a, user);
    char pid[24];
    snprintf(pid, sizeof pid, "%lld", (long long)a.person_id);
    g.cfg.login_max_failures = 3;
    g.cfg.login_lockout = 600;
    struct desk_client c = {0};
    snprintf(c.addr, sizeof c.addr, "198.51.100.23");
    struct reply r;
    /* two wrong, one right: the count starts again */
    for (int i = 0; i < 2; i++) {
        try_login(&c, user, "wrong", &r);
        assert_string_equal(error_code(&r), "login_failed");
        assert_int_equal(r.out.login, DESK_LOGIN_FAILED);
        assert_int_equal(r.out.locked_for, 0);
        reply_fin(&r);
    }
    assert_int_equal(q_ll("SELECT failed_logins FROM people WHERE id = $1", pid), 2);
    try_login(&c, user, "agent-pass", &r);
    must(&r, "welcome");
    assert_int_equal(r.out.login, DESK_LOGIN_OK);
    reply_fin(&r);
    assert_int_equal(q_ll("SELECT failed_logins FROM people WHERE id = $1", pid), 0);
    /* three wrong in a row: the third locks */
    for (int i = 0; i < 3; i++) {
        struct desk_client d = c;
        d.role = DESK_NONE;
        unsigned long hashes = auth_verify_count();
        try_login(&d, user, "wrong", &r);
        assert_string_equal(error_code(&r), "login_failed");
        assert_int_equal(auth_verify_count(), hashes + 1);
        assert_int_equal(r.out.locked_for, i == 2 ? 600 : 0);
        reply_fin(&r);
    }
    assert_int_equal(q_ll("SELECT count(*) FROM login_lockouts WHERE person_id = $1"
                          " AND address = '198.51.100.23' AND failures = 3 AND unlocked_at IS NULL"
                          " AND locked_until > now() + interval '590 seconds'",
                          pid),
                     1);
    /* locked: even the right password is refused, and nothing is hashed */
    unsigned long hashes = auth_verify_count();
    for (int i = 0; i < 5; i++) {
        struct desk_client d = {0};
        try_login(&d, user, i % 2 ? "wrong" : "agent-pass", &r);
        json_t *e = must(&r, "error");
        assert_string_equal(s_of(e, "code"), "too_many_attempts");
        long long retry = i_of(e, "retry_after");
        assert_true(retry > 590 && retry <= 600);
        assert_int_equal(r.out.login, DESK_LOGIN_NONE);
        assert_int_equal(d.role, DESK_NONE);
        reply_fin(&r);
    }
    assert_int_equal(auth_verify_count(), hashes);
    /* an administrator unlocks */
    struct store *st = desk_store(g.d);
    int was = 0;
    assert_int_equal(store_login_unlock(st, user, "test admin", &was), 0);
    assert_true(was);
    assert_int_equal(store_login_unlock(st, "no-such-agent", "test admin", &was), STORE_ENOTFOUND);
    assert_string_equal(q_str("SELECT unlocked_by FROM login_lockouts WHERE person_id = $1", pid),
                        "test admin");
    struct desk_client d = {0};
    try_login(&d, user, "agent-pass", &r);
    must(&r, "welcome");
    reply_fin(&r);
    /* locked again, then the lockout runs out (moved into the past here) */
    for (int i = 0; i < 3; i++) {
        struct desk_client e = {0};
        try_login(&e, user, "wrong", &r);
        reply_fin(&r);
    }
    assert_int_equal(q_ll("SELECT count(*) FROM login_lockouts WHERE person_id = $1", pid), 2);
    struct desk_client e = {0};
    try_login(&e, user, "agent-pass", &r);
    assert_string_equal(error_code(&r), "too_many_attempts");
    reply_fin(&r);
    q_exec("UPDATE people SET locked_until = now() - interval '1 second' WHERE id = $1", pid);
    try_login(&e, user, "agent-pass", &r);
    must(&r, "welcome");
    reply_fin(&r);
    /* an unknown user name is checked (same time) and counted as a failure
     * by the daemon's per-address limit, but locks nothing */
    struct desk_client f = {0};
    hashes = auth_verify_count();
    try_login(&f, "nobody-at-all", "x", &r);
    assert_string_equal(error_code(&r), "login_failed");
    assert_int_equal(r.out.login, DESK_LOGIN_FAILED);
    assert_int_equal(auth_verify_count(), hashes + 1);
    reply_fin(&r);
    desk_config_default(&g.cfg);
}

/* Password checks pass through the process-wide gate: when it is full a
 * login is answered try_later (retry_after 1) at once, with no check. */
static void a_full_hashing_gate_answers_try_later(void **state)
{
    (void)state;
    struct desk_client a;
    char user[32];
    mk_agent(&a, user);
    auth_gate_config(1, 0);
    assert_int_equal(auth_gate_enter(), 0); /* the one place, taken */
    assert_int_equal(auth_gate_enter(), -1);
    unsigned long hashes = auth_verify_count();
    struct desk_client c = {0};
    struct reply r;
    try_login(&c, user, "agent-pass", &r);
    json_t *e = must(&r, "error");
    assert_string_equal(s_of(e, "code"), "try_later");
    assert_int_equal(i_of(e, "retry_after"), 1);
    assert_string_equal(s_of(e, "id"), "l");
    reply_fin(&r);
    assert_int_equal(auth_verify_count(), hashes);
    assert_int_equal(c.role, DESK_NONE);
    auth_gate_leave();
    try_login(&c, user, "agent-pass", &r);
    must(&r, "welcome");
    reply_fin(&r);
    assert_int_equal(auth_verify_count(), hashes + 1);
    auth_gate_config(1, 2);
}

/* Maintenance purges the requester identities nobody can come back to
 * (no session left) that hold nothing (no message), and nothing else. */
static void maintenance_purges_idle_requesters_only(void **state)
{
    (void)state;
    struct store *st = desk_store(g.d);
    /* kept: a requester who said something, its session expired */
    struct desk_client said;
    mk_requester(&said, NULL);
    say(&said, "m1", "打印机脱机");
    /* kept: a live session, nothing said (stored as hello used to) */
    int64_t live = 0, live_conv = 0;
    unsigned char h1[AUTH_TOKEN_HASH_BYTES], h2[AUTH_TOKEN_HASH_BYTES];
    char tok[AUTH_TOKEN_LEN + 1];
    auth_new_token(tok);
    auth_token_hash(tok, h1);
    assert_int_equal(store_requester_start(st, "活着", NULL, h1, 3600, &live, &live_conv), 0);
    /* purged: an expired session, an empty conversation */
    int64_t idle = 0, idle_conv = 0;
    auth_new_token(tok);
    auth_token_hash(tok, h2);
    assert_int_equal(store_requester_start(st, "走了", NULL, h2, 3600, &idle, &idle_conv), 0);
    /* purged: no session, no conversation at all */
    int64_t bare = 0;
    assert_int_equal(store_requester_create(st, "路过", NULL, &bare), 0);
    /* kept: an agent without any session */
    char hash[AUTH_PWHASH_MAX];
    assert_int_equal(auth_hash_password("pw-agent", hash), 0);
    char user[32];
    snprintf(user, sizeof user, "idle-agent%d", ++g.people);
    int64_t agent = 0;
    assert_int_equal(store_agent_create(st, user, "闲置坐席", hash, &agent), 0);
    char ids[5][24];
    int64_t all[5] = {said.person_id, live, idle, bare, agent};
    for (int i = 0; i < 5; i++)
        snprintf(ids[i], sizeof ids[i], "%lld", (long long)all[i]);
    q_exec("UPDATE sessions SET created_at = now() - interval '8 days',"
           " last_seen_at = now() - interval '8 days', expires_at = now() - interval '1 day'"
           " WHERE person_id = $1",
           ids[0]);
    q_exec("UPDATE sessions SET created_at = now() - interval '8 days',"
           " last_seen_at = now() - interval '8 days', expires_at = now() - interval '1 day'"
           " WHERE person_id = $1",
           ids[2]);
    struct desk_client daemon = {0};
    struct reply r;
    run(&daemon, "{\"type\":\"ping\"}", &r); /* warm: nothing */
    reply_fin(&r);
    struct desk_msg m;
    memset(&m, 0, sizeof m);
    m.type = DM_MAINTAIN;
    run_msg(&daemon, &m, &r);
    assert_false(r.out.db_error);
    assert_true(r.out.sessions_purged >= 2);
    assert_true(r.out.requesters_purged >= 2);
    reply_fin(&r);
    assert_int_equal(q_ll("SELECT count(*) FROM people WHERE id = $1", ids[0]), 1);
    assert_int_equal(q_ll("SELECT count(*) FROM messages WHERE sender_id = $1", ids[0]), 1);
    assert_int_equal(q_ll("SELECT count(*) FROM people WHERE id = $1", ids[1]), 1);
    assert_int_equal(q_ll("SELECT count(*) FROM conversations WHERE requester_id = $1", ids[1]), 1);
    assert_int_equal(q_ll("SELECT count(*) FROM people WHERE id = $1", ids[2]), 0);
    assert_int_equal(q_ll("SELECT count(*) FROM conversations WHERE requester_id = $1", ids[2]), 0);
    assert_int_equal(q_ll("SELECT count(*) FROM people WHERE id = $1", ids[3]), 0);
    assert_int_equal(q_ll("SELECT count(*) FROM people WHERE id = $1", ids[4]), 1);
    /* a second run finds nothing more of these */
    run_msg(&daemon, &m, &r);
    assert_int_equal(r.out.requesters_purged, 0);
    reply_fin(&r);
}

/* A message of only blanks (Unicode white space and zero-width characters
 * included) is refused by the codec with a clear bad_field on text, and
 * the schema refuses it too. */
static void blank_messages_are_refused(void **state)
{
    (void)state;
    const char *const blanks[] = {
        "{\"type\":\"message\",\"id\":\"b\",\"text\":\" \\t\\r\\n\"}",
        "{\"type\":\"message\",\"id\":\"b\",\"text\":\"\\u3000\\u3000\"}",
        "{\"type\":\"message\",\"id\":\"b\",\"text\":\"\\u00a0\\u200b\\u2003\\ufeff\\u000b\"}",
    };
    for (size_t i = 0; i < sizeof blanks / sizeof *blanks; i++) {
        struct desk_msg m;
        struct proto_error e;
        assert_int_equal(proto_parse(blanks[i], strlen(blanks[i]), &m, &e), P_BAD_FIELD);
        assert_string_equal(e.field, "text");
        assert_string_equal(e.id, "b");
        assert_string_equal(e.message, "text must not be blank");
    }
    const char *ok = "{\"type\":\"message\",\"id\":\"b\",\"text\":\"\\u3000打印机\\u3000\"}";
    struct desk_msg m;
    struct proto_error e;
    assert_int_equal(proto_parse(ok, strlen(ok), &m, &e), 0);
    desk_msg_fin(&m);
    /* the schema: an ideographic-space body cannot be stored */
    struct desk_client c;
    mk_requester(&c, NULL);
    say(&c, "m1", "打印机脱机");
    int seq = 0, dup = 0;
    assert_int_equal(store_message_add(desk_store(g.d), c.conv_id, c.person_id, "b",
                                       "\xe3\x80\x80\xe3\x80\x80", &seq, &dup),
                     STORE_EINVALID);
    char conv[24];
    snprintf(conv, sizeof conv, "%lld", (long long)c.conv_id);
    assert_int_equal(q_ll("SELECT count(*) FROM messages WHERE conversation_id = $1", conv), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hello_stores_nothing_until_the_first_message),
        cmocka_unit_test(nothing_before_sign_in),
        cmocka_unit_test(login_checks_the_password),
        cmocka_unit_test(message_acked_after_store_then_suggestions),
        cmocka_unit_test(store_message_path),
        cmocka_unit_test(internal_knowledge_only_for_agents),
        cmocka_unit_test(requester_cannot_do_agent_things),
        cmocka_unit_test(expired_session_stops_the_connection),
        cmocka_unit_test(logout_elsewhere_ends_every_connection),
        cmocka_unit_test(frames_keep_a_session_alive),
        cmocka_unit_test(wrong_passwords_lock_the_account),
        cmocka_unit_test(a_full_hashing_gate_answers_try_later),
        cmocka_unit_test(maintenance_purges_idle_requesters_only),
        cmocka_unit_test(blank_messages_are_refused),
        cmocka_unit_test(database_down_nothing_acked_then_back),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
