/* Unit tests for the store library's core (shared/store) against a real
 * PostgreSQL 15 server: versioned migrations (applied once, concurrent
 * starters, bad files refused), opening, people and sessions, conversations
 * and messages, login failures counted across connections, and PostgreSQL
 * going away and coming back. The ticket lifecycle is in
 * test_store_flow.c. The group setup starts a throwaway cluster with
 * scripts/pg.sh (fsync off) in a fresh temporary directory and applies
 * shared/store/migrations; the teardown destroys it (storefix.h). Run from
 * the repository root (scripts/testrun.sh does).
 *
 * The tests share one database and run in order; each makes its own people.
 * Raw SQL through a second connection (g.pg) checks the rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <libpq-fe.h>

#define STOREFIX_PREFIX "kbstore"
#include "storefix.h"
#include "../../chatdesk/auth.h"
#include "store.h"

static int count_sql_files(void)
{
    DIR *d = opendir(MIGRATIONS);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0;
    }
    closedir(d);
    return n;
}

/* ---- migrations ------------------------------------------------------- */

static void migrations_apply_once(void **state)
{
    (void)state;
    int files = count_sql_files();
    assert_true(files >= 1);
    assert_int_equal(g.applied, files);
    assert_int_equal(q_ll("SELECT count(*) FROM schema_migrations", NULL, NULL), files);
    assert_string_equal(q_str("SELECT name FROM schema_migrations WHERE version = 1", NULL, NULL),
                        "init");
    assert_int_equal(q_ll("SELECT count(*) FROM schema_migrations WHERE applied_at IS NULL"
                          " OR applied_at > now()",
                          NULL, NULL),
                     0);
    long long stamp = q_ll("SELECT (extract(epoch FROM max(applied_at)) * 1000000)::bigint"
                           " FROM schema_migrations",
                           NULL, NULL);
    int applied = -1;
    OK(store_migrate(g.s, MIGRATIONS, &applied));
    assert_int_equal(applied, 0);
    assert_int_equal(q_ll("SELECT count(*) FROM schema_migrations", NULL, NULL), files);
    assert_int_equal(q_ll("SELECT (extract(epoch FROM max(applied_at)) * 1000000)::bigint"
                          " FROM schema_migrations",
                          NULL, NULL),
                     stamp);
    /* every table of the schema is there */
    const char *tables[] = {"people",        "sessions",      "conversations", "messages",
                            "conversation_suggestions",       "tickets",       "ticket_events",
                            "ticket_links",  "deflections",   "ratings"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (q_ll("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = $1",
                 tables[i], NULL) != 1)
            fail_msg("table %s missing", tables[i]);
}

struct migrator {
    const char *conninfo;
    pthread_barrier_t *bar;
    int rc, applied;
    char err[STORE_ERR_MAX];
};

static void *migrate_thread(void *arg)
{
    struct migrator *m = arg;
    struct store *s = NULL;
    m->rc = store_open(m->conninfo, &s, m->err, sizeof m->err);
    pthread_barrier_wait(m->bar);
    if (m->rc == 0) {
        m->rc = store_migrate(s, MIGRATIONS, &m->applied);
        snprintf(m->err, sizeof m->err, "%s", store_errmsg(s));
    }
    store_close(s);
    return NULL;
}

/* a conninfo for another database of the cluster (a later keyword wins) */
static void conninfo_db(char *out, size_t n, const char *db)
{
    snprintf(out, n, "%s dbname=%s", g.conninfo, db);
}

static void migrations_concurrent_starters(void **state)
{
    (void)state;
    PQclear(q("CREATE DATABASE mig_race", NULL, NULL));
    char ci[600];
    conninfo_db(ci, sizeof ci, "mig_race");
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 3);
    struct migrator m[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        m[i] = (struct migrator){.conninfo = ci, .bar = &bar};
        pthread_create(&th[i], NULL, migrate_thread, &m[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    int files = count_sql_files(), sum = 0;
    for (int i = 0; i < 3; i++) {
        if (m[i].rc != 0)
            fail_msg("migrator %d: %d %s", i, m[i].rc, m[i].err);
        sum += m[i].applied;
    }
    assert_int_equal(sum, files); /* each file applied by exactly one */
    PGconn *c = PQconnectdb(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, "SELECT count(*) FROM schema_migrations");
    assert_int_equal(atoi(PQgetvalue(r, 0, 0)), files);
    PQclear(r);
    PQfinish(c);
}

/* writes a file into dir */
static void put_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void migrations_refused(void **state)
{
    (void)state;
    PQclear(q("CREATE DATABASE mig_bad", NULL, NULL));
    char ci[600];
    conninfo_db(ci, sizeof ci, "mig_bad");
    struct store *s = NULL;
    char err[STORE_ERR_MAX];
    assert_int_equal(store_open(ci, &s, err, sizeof err), 0);
    char dir[300], cmd[700];
    snprintf(dir, sizeof dir, "%s/migr", g.dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(pgt_sh(cmd, NULL, 0), 0);

    /* a file that fails half-way: its first statement is undone too, and
     * the file after it is not run */
    put_file(dir, "001_one.sql", "CREATE TABLE one (x int);");
    put_file(dir, "002_broken.sql", "CREATE TABLE half (x int);\nSELECT no_such_function();");
    put_file(dir, "003_three.sql", "CREATE TABLE three (x int);");
    put_file(dir, "README.txt", "not a migration");
    int applied = -1;
    assert_int_equal(store_migrate(s, dir, &applied), STORE_EINVALID);
    assert_int_equal(applied, 1);
    if (!strstr(store_errmsg(s), "002_broken.sql") || !strstr(store_errmsg(s), "no_such_function"))
        fail_msg("unclear message: %s", store_errmsg(s));
    PGconn *c = PQconnectdb(ci);
    PGresult *r = PQexec(c, "SELECT to_regclass('one') IS NOT NULL, to_regclass('half') IS NULL,"
                            " to_regclass('three') IS NULL,"
                            " (SELECT count(*) FROM schema_migrations)");
    assert_string_equal(PQgetvalue(r, 0, 0), "t");
    assert_string_equal(PQgetvalue(r, 0, 1), "t");
    assert_string_equal(PQgetvalue(r, 0, 2), "t");
    assert_string_equal(PQgetvalue(r, 0, 3), "1");
    PQclear(r);

    /* fixed, it goes on from where it stopped */
    put_file(dir, "002_broken.sql", "CREATE TABLE half (x int);");
    assert_int_equal(store_migrate(s, dir, &applied), 0);
    assert_int_equal(applied, 2);

    /* a renumbered or renamed migration */
    snprintf(cmd, sizeof cmd, "mv '%s/001_one.sql' '%s/001_uno.sql'", dir, dir);
    assert_int_equal(pgt_sh(cmd, NULL, 0), 0);
    assert_int_equal(store_migrate(s, dir, &applied), STORE_EINVALID);
    assert_non_null(strstr(store_errmsg(s), "001_uno.sql"));
    snprintf(cmd, sizeof cmd, "mv '%s/001_uno.sql' '%s/001_one.sql'", dir, dir);
    assert_int_equal(pgt_sh(cmd, NULL, 0), 0);

    /* bad names, two files with one number, a file with its own COMMIT */
    put_file(dir, "4-four.sql", "SELECT 1;");
    assert_int_equal(store_migrate(s, dir, &applied), STORE_EINVALID);
    snprintf(cmd, sizeof cmd, "rm '%s/4-four.sql'", dir);
    assert_int_equal(pgt_sh(cmd, NULL, 0), 0);
    put_file(dir, "003_again.sql", "SELECT 1;");
    assert_int_equal(store_migrate(s, dir, &applied), STORE_EINVALID);
    assert_non_null(strstr(store_errmsg(s), "two migrations numbered 3"));
    snprintf(cmd, sizeof cmd, "rm '%s/003_again.sql'", dir);
    assert_int_equal(pgt_sh(cmd, NULL, 0), 0);
    put_file(dir, "004_commits.sql", "COMMIT; CREATE TABLE four (x int);");
    assert_int_equal(store_migrate(s, dir, &applied), STORE_EINVALID);
    r = PQexec(c, "SELECT count(*) FROM schema_migrations WHERE version = 4");
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    /* a missing directory */
    assert_int_equal(store_migrate(s, "/nonexistent/migrations", &applied), STORE_EINVALID);
    PQfinish(c);
    store_close(s);
}

static void open_refused(void **state)
{
    (void)state;
    struct store *s = (struct store *)1;
    char err[STORE_ERR_MAX] = "";
    char ci[600];
    snprintf(ci, sizeof ci, "host=%s/nowhere port=5432 user=postgres dbname=postgres", g.dir);
    assert_int_equal(store_open(ci, &s, err, sizeof err), STORE_EDB);
    assert_null(s);
    if (!strstr(err, "[store][open] cannot connect"))
        fail_msg("unclear message: %s", err);
    assert_int_equal(store_open("not a = valid conninfo '", &s, err, sizeof err), STORE_EDB);
    assert_null(s);
    store_close(NULL);
    assert_string_equal(store_strerror(STORE_ECONFLICT), "conflict");
}

/* ---- people and sessions ------------------------------------------------- */

static void people(void **state)
{
    (void)state;
    int64_t id = 0, id2 = 0;
    OK(store_agent_create(g.s, "Li.Wei", "李伟", g.pwhash, &id));
    RC(STORE_ECONFLICT, store_agent_create(g.s, "li.wei", "Another", g.pwhash, &id2));
    assert_int_equal(id2, 0);
    RC(STORE_EINVALID, store_agent_create(g.s, "bad name", "X", g.pwhash, &id2));
    RC(STORE_EINVALID, store_agent_create(g.s, "plain", "X", "hunter2", &id2));
    RC(STORE_EINVALID, store_agent_create(g.s, "noname", "", g.pwhash, &id2));
    RC(STORE_EINVALID, store_agent_create(g.s, NULL, "X", g.pwhash, &id2));

    struct store_agent a;
    OK(store_agent_by_username(g.s, "LI.WEI", &a));
    assert_int_equal(a.id, id);
    assert_string_equal(a.role, "agent");
    assert_string_equal(a.name, "李伟");
    assert_string_equal(a.password_hash, g.pwhash);
    assert_int_equal(auth_verify_password(a.password_hash, "agent password"), 0);
    RC(STORE_ENOTFOUND, store_agent_by_username(g.s, "nobody", &a));

    int64_t r = 0;
    OK(store_requester_create(g.s, "王芳", "wang.fang@example.cn", &r));
    OK(store_requester_create(g.s, "No Mail", NULL, &id2));
    /* requesters cannot log in as agents */
    assert_string_equal(q_str("SELECT coalesce(username, '<none>') FROM people WHERE id = $1",
                              S(r), NULL),
                        "<none>");
    RC(STORE_EINVALID, store_requester_create(g.s, "", NULL, &id2));
    RC(STORE_EINVALID, store_requester_create(g.s, "   ", NULL, &id2));
    RC(STORE_EINVALID, store_requester_create(g.s, "X", "not-an-email", &id2));
    char longname[200];
    memset(longname, 'n', 129);
    longname[129] = '\0';
    RC(STORE_EINVALID, store_requester_create(g.s, longname, NULL, &id2));
    RC(STORE_EINVALID, store_requester_create(g.s, "bad \xff utf8", NULL, &id2));

    /* a disabled agent is not found */
    OK(store_person_set_disabled(g.s, id, 1));
    RC(STORE_ENOTFOUND, store_agent_by_username(g.s, "li.wei", &a));
    OK(store_person_set_disabled(g.s, id, 0));
    OK(store_agent_by_username(g.s, "li.wei", &a));
    RC(STORE_ENOTFOUND, store_person_set_disabled(g.s, 999999, 1));
}

static void sessions(void **state)
{
    (void)state;
    int64_t agent = mk_agent("Session Agent");
    char tok[AUTH_TOKEN_LEN + 1];
    unsigned char h[AUTH_TOKEN_HASH_BYTES], h2[AUTH_TOKEN_HASH_BYTES];
    auth_new_token(tok);
    assert_int_equal(auth_token_hash(tok, h), 0);
    time_t before = time(NULL);
    OK(store_session_create(g.s, agent, h, 3600));
    RC(STORE_ECONFLICT, store_session_create(g.s, agent, h, 3600));
    struct store_session ss;
    OK(store_session_lookup(g.s, h, &ss));
    assert_int_equal(ss.person_id, agent);
    assert_string_equal(ss.role, "agent");
    assert_string_equal(ss.name, "Session Agent");
    assert_true(ss.expires_at >= before + 3599 && ss.expires_at <= time(NULL) + 3601);
    /* only the hash is stored, never the token */
    assert_int_equal(q_ll("SELECT count(*) FROM sessions WHERE position(convert_to($1, 'UTF8')"
                          " IN token_hash) > 0",
                          tok, NULL),
                     0);

    /* sliding expiry */
    OK(store_session_touch(g.s, h, 7200));
    OK(store_session_lookup(g.s, h, &ss));
    assert_true(ss.expires_at >= before + 7199);
    OK(store_session_touch(g.s, h, 0));

    /* an unknown token, a zero ttl, an unknown person */
    auth_new_token(tok);
    assert_int_equal(auth_token_hash(tok, h2), 0);
    RC(STORE_ENOTFOUND, store_session_lookup(g.s, h2, &ss));
    assert_int_equal(ss.person_id, 0);
    RC(STORE_EINVALID, store_session_create(g.s, agent, h2, 0));
    RC(STORE_EINVALID, store_session_create(g.s, 987654321, h2, 60));

    /* an expired session is not found, cannot be touched, and is purged */
    OK(store_session_create(g.s, agent, h2, 60));
    PQclear(q("UPDATE sessions SET created_at = now() - interval '2 hours',"
              " expires_at = now() - interval '1 second' WHERE person_id = $1"
              " AND expires_at < now() + interval '2 minutes'",
              S(agent), NULL));
    RC(STORE_ENOTFOUND, store_session_lookup(g.s, h2, &ss));
    RC(STORE_ENOTFOUND, store_session_touch(g.s, h2, 3600));
    OK(store_session_lookup(g.s, h, &ss));
    int purged = -1;
    OK(store_session_purge(g.s, &purged));
    assert_true(purged >= 1);
    RC(STORE_ENOTFOUND, store_session_delete(g.s, h2));

    /* a disabled person's session is not found */
    OK(store_person_set_disabled(g.s, agent, 1));
    RC(STORE_ENOTFOUND, store_session_lookup(g.s, h, &ss));
    OK(store_person_set_disabled(g.s, agent, 0));
    OK(store_session_lookup(g.s, h, &ss));

    /* logout */
    OK(store_session_delete(g.s, h));
    RC(STORE_ENOTFOUND, store_session_lookup(g.s, h, &ss));
    RC(STORE_ENOTFOUND, store_session_delete(g.s, h));
}

/* ---- conversations and messages ----------------------------------------- */

static void messages_and_replay(void **state)
{
    (void)state;
    int64_t req = mk_requester("张伟"), other = mk_requester("Other"), agent = mk_agent("A");
    int64_t conv = 0;
    OK(store_conversation_create(g.s, req, &conv));
    RC(STORE_EINVALID, store_conversation_create(g.s, agent, &conv)); /* not a requester */
    assert_true(conv > 0);

    const char *bodies[] = {"VPN 连接失败", "提示错误 809", "Windows 11", "公司网络", "今天早上开始"};
    for (int i = 0; i < 5; i++) {
        char cid[16];
        int seq = -1, dup = -1;
        snprintf(cid, sizeof cid, "m%d", i);
        OK(store_message_add(g.s, conv, req, cid, bodies[i], &seq, &dup));
        assert_int_equal(seq, i + 1);
        assert_int_equal(dup, 0);
    }
    /* a resent client id stores nothing and answers the same seq */
    int seq = -1, dup = -1;
    OK(store_message_add(g.s, conv, req, "m1", "提示错误 809", &seq, &dup));
    assert_int_equal(seq, 2);
    assert_int_equal(dup, 1);
    assert_int_equal(q_ll("SELECT count(*) FROM messages WHERE conversation_id = $1", S(conv),
                          NULL),
                     5);
    assert_int_equal(q_ll("SELECT last_seq FROM conversations WHERE id = $1", S(conv), NULL), 5);
    /* messages without a client id are never taken for duplicates */
    OK(store_message_add(g.s, conv, req, NULL, "again", &seq, &dup));
    assert_int_equal(seq, 6);
    OK(store_message_add(g.s, conv, req, NULL, "again", &seq, &dup));
    assert_int_equal(seq, 7);
    assert_int_equal(dup, 0);

    /* refused: empty, blank, too long, bad UTF-8, no body; and no seq is
     * used up by them */
    seq = -1;
    RC(STORE_EINVALID, store_message_add(g.s, conv, req, "e1", "", &seq, &dup));
    assert_int_equal(seq, -1);
    RC(STORE_EINVALID, store_message_add(g.s, conv, req, "e2", " \t\n ", &seq, &dup));
    RC(STORE_EINVALID, store_message_add(g.s, conv, req, "e3", NULL, &seq, &dup));
    RC(STORE_EINVALID, store_message_add(g.s, conv, req, "e4", "bad \xc3\x28 utf8", &seq, &dup));
    char *big = malloc(20002);
    assert_non_null(big);
    memset(big, 'x', 20001);
    big[20001] = '\0';
    RC(STORE_EINVALID, store_message_add(g.s, conv, req, "e5", big, &seq, &dup));
    big[20000] = '\0'; /* the limit itself is fine */
    OK(store_message_add(g.s, conv, req, "e5", big, &seq, &dup));
    assert_int_equal(seq, 8);
    free(big);
    assert_int_equal(q_ll("SELECT last_seq FROM conversations WHERE id = $1", S(conv), NULL), 8);

    /* another requester, an agent without the ticket, nowhere */
    RC(STORE_EFORBIDDEN, store_message_add(g.s, conv, other, "x", "hi", &seq, &dup));
    RC(STORE_EFORBIDDEN, store_message_add(g.s, conv, agent, "x", "hi", &seq, &dup));
    RC(STORE_ENOTFOUND, store_message_add(g.s, 999999, req, "x", "hi", &seq, &dup));
    RC(STORE_ENOTFOUND, store_message_add(g.s, conv, 999999, "x", "hi", &seq, &dup));

    /* replay after seq 2: 3..8 in order */
    struct msgs m = {0};
    OK(store_messages_since(g.s, conv, req, 2, collect_msg, &m));
    assert_int_equal(m.n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(m.seq[i], i + 3);
    assert_string_equal(m.body[0], "Windows 11");
    assert_string_equal(m.body[2], "今天早上开始");
    assert_string_equal(m.role[0], "requester");
    assert_int_equal(m.sender[0], req);
    /* nothing after the last; a callback that stops */
    memset(&m, 0, sizeof m);
    OK(store_messages_since(g.s, conv, req, 8, collect_msg, &m));
    assert_int_equal(m.n, 0);
    m.stop_after = 2;
    assert_int_equal(store_messages_since(g.s, conv, req, 0, collect_msg, &m), 42);
    assert_int_equal(m.n, 2);
    /* a requester sees only their own; agents see all */
    memset(&m, 0, sizeof m);
    RC(STORE_EFORBIDDEN, store_messages_since(g.s, conv, other, 0, collect_msg, &m));
    assert_int_equal(m.n, 0);
    OK(store_messages_since(g.s, conv, agent, 0, collect_msg, &m));
    assert_int_equal(m.n, 8);

    struct store_conversation c;
    OK(store_conversation_get(g.s, conv, req, &c));
    assert_int_equal(c.id, conv);
    assert_int_equal(c.requester_id, req);
    assert_string_equal(c.status, "open");
    assert_int_equal(c.last_seq, 8);
    assert_string_equal(c.ticket, "");
    assert_true(c.created_at > 0 && c.updated_at >= c.created_at);
    RC(STORE_EFORBIDDEN, store_conversation_get(g.s, conv, other, &c));
    assert_int_equal(c.id, 0);
    OK(store_conversation_get(g.s, conv, agent, &c));
    RC(STORE_ENOTFOUND, store_conversation_get(g.s, 999999, agent, &c));
    OK(store_conversation_of_requester(g.s, req, &c));
    assert_int_equal(c.id, conv);
    RC(STORE_ENOTFOUND, store_conversation_of_requester(g.s, other, &c));
}

struct writer {
    const char *conninfo;
    int64_t conv, sender;
    const char *prefix;
    pthread_barrier_t *bar;
    int rc;
    int shared_seq, shared_dup;
    char err[STORE_ERR_MAX];
};

static void *write_thread(void *arg)
{
    struct writer *w = arg;
    struct store *s = NULL;
    w->rc = store_open(w->conninfo, &s, w->err, sizeof w->err);
    pthread_barrier_wait(w->bar);
    if (w->rc == 0)
        w->rc = store_message_add(s, w->conv, w->sender, "shared", "both send this",
                                  &w->shared_seq, &w->shared_dup);
    for (int i = 0; w->rc == 0 && i < 40; i++) {
        char cid[32];
        int seq, dup;
        snprintf(cid, sizeof cid, "%s-%d", w->prefix, i);
        w->rc = store_message_add(s, w->conv, w->sender, cid, cid, &seq, &dup);
    }
    if (w->rc)
        snprintf(w->err, sizeof w->err, "%s", store_errmsg(s));
    store_close(s);
    return NULL;
}

static void concurrent_messages(void **state)
{
    (void)state;
    int64_t req = mk_requester("Busy"), conv = 0;
    OK(store_conversation_create(g.s, req, &conv));
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    struct writer w[2] = {
        {.conninfo = g.conninfo, .conv = conv, .sender = req, .prefix = "a", .bar = &bar},
        {.conninfo = g.conninfo, .conv = conv, .sender = req, .prefix = "b", .bar = &bar},
    };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, write_thread, &w[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    for (int i = 0; i < 2; i++)
        if (w[i].rc != 0)
            fail_msg("writer %d: %s", i, w[i].err);
    /* the shared client id was stored once; both got its seq */
    assert_int_equal(w[0].shared_seq, w[1].shared_seq);
    assert_int_equal(w[0].shared_dup + w[1].shared_dup, 1);
    assert_int_equal(q_ll("SELECT count(*) FROM messages WHERE conversation_id = $1", S(conv),
                          NULL),
                     81);
    /* seq 1..81 without gaps or repeats */
    assert_int_equal(q_ll("SELECT count(DISTINCT seq) FROM messages WHERE conversation_id = $1"
                          " AND seq BETWEEN 1 AND 81",
                          S(conv), NULL),
                     81);
    assert_int_equal(q_ll("SELECT last_seq FROM conversations WHERE id = $1", S(conv), NULL), 81);
}

/* ---- PostgreSQL goes away and comes back -------------------------------------- */

static void database_goes_away(void **state)
{
    (void)state;
    int64_t req = mk_requester("Patient"), conv = 0;
    int seq = -1, dup = -1;
    OK(store_conversation_create(g.s, req, &conv));
    OK(store_message_add(g.s, conv, req, "c1", "before", &seq, &dup));
    assert_int_equal(seq, 1);

    assert_int_equal(pgt_ctl(g.dir, "stop", NULL, 0), 0);
    /* the store does not claim anything was stored */
    seq = -7;
    dup = -7;
    RC(STORE_EDB, store_message_add(g.s, conv, req, "c2", "during", &seq, &dup));
    assert_int_equal(seq, -7);
    assert_int_equal(dup, -7);
    const char *msg = store_errmsg(g.s);
    if (!strstr(msg, "[store][message_add] database unavailable"))
        fail_msg("unclear message: %s", msg);
    /* and again, with a lookup, and an explicit reconnect */
    struct store_conversation c;
    RC(STORE_EDB, store_conversation_get(g.s, conv, req, &c));
    RC(STORE_EDB, store_reconnect(g.s));
    assert_non_null(strstr(store_errmsg(g.s), "database unavailable"));

    char out[512];
    assert_int_equal(pgt_ctl(g.dir, "start", out, sizeof out), 0);
    assert_string_equal(out, g.conninfo); /* the same address after a restart */
    PQreset(g.pg);
    assert_int_equal(PQstatus(g.pg), CONNECTION_OK);

    /* the next call reconnects by itself; the message was never stored, so
     * resending it stores it now, once */
    OK(store_message_add(g.s, conv, req, "c2", "during", &seq, &dup));
    assert_int_equal(seq, 2);
    assert_int_equal(dup, 0);
    assert_string_equal(store_errmsg(g.s), "");
    assert_int_equal(q_ll("SELECT count(*) FROM messages WHERE conversation_id = $1", S(conv),
                          NULL),
                     2);

    /* a restart between two calls is invisible to the caller */
    assert_int_equal(pgt_ctl(g.dir, "stop", NULL, 0), 0);
    assert_int_equal(pgt_ctl(g.dir, "start", out, sizeof out), 0);
    PQreset(g.pg);
    OK(store_message_add(g.s, conv, req, "c3", "after", &seq, &dup));
    assert_int_equal(seq, 3);
    OK(store_reconnect(g.s));
    OK(store_conversation_get(g.s, conv, req, &c));
    assert_int_equal(c.last_seq, 3);
}

static int count_lockout(void *arg, const struct store_lockout *l)
{
    assert_non_null(l->username);
    (*(int *)arg)++;
    return 0;
}

/* ---- login failures from two processes -------------------------------- */

struct failer {
    struct store *s;
    int64_t agent;
    pthread_barrier_t *bar;
    int rc, locked, n;
};

static void *fail_logins(void *arg)
{
    struct failer *f = arg;
    pthread_barrier_wait(f->bar);
    for (int i = 0; i < f->n && f->rc == 0; i++) {
        int locked = 0;
        f->rc = store_login_failed(f->s, f->agent, 4, 600, "192.0.2.1", &locked);
        f->locked += locked > 0;
    }
    return NULL;
}

/* Two connections (as two chatdesk processes) record wrong passwords of one
 * account at once: each failure counts, and the 4th, 8th, ... lock it,
 * each lockout recorded once. */
static void login_failures_counted_across_connections(void **state)
{
    (void)state;
    int64_t agent = mk_agent("Guarded");
    char id[24];
    num(id, agent);
    struct store *s[2];
    char err[STORE_ERR_MAX];
    for (int i = 0; i < 2; i++)
        if (store_open(g.conninfo, &s[i], err, sizeof err) != 0)
            fail_msg("%s", err);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    struct failer f[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        f[i] = (struct failer){.s = s[i], .agent = agent, .bar = &bar, .n = 5};
        pthread_create(&th[i], NULL, fail_logins, &f[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    assert_int_equal(f[0].rc, 0);
    assert_int_equal(f[1].rc, 0);
    /* 10 failures: locked at the 4th and the 8th, 2 counted since */
    assert_int_equal(f[0].locked + f[1].locked, 2);
    assert_int_equal(q_ll("SELECT count(*) FROM login_lockouts WHERE person_id = $1", id, NULL), 2);
    assert_int_equal(q_ll("SELECT failed_logins FROM people WHERE id = $1", id, NULL), 2);
    struct store_agent a;
    char user[32];
    snprintf(user, sizeof user, "%.31s", q_str("SELECT username FROM people WHERE id = $1", id, NULL));
    OK(store_agent_by_username(g.s, user, &a));
    assert_true(a.locked_for > 590 && a.locked_for <= 600);
    /* a success clears the count, not the lockout; an unlock clears both */
    OK(store_login_succeeded(g.s, agent));
    assert_int_equal(q_ll("SELECT failed_logins FROM people WHERE id = $1", id, NULL), 0);
    OK(store_agent_by_username(g.s, user, &a));
    assert_true(a.locked_for > 0);
    int was = 0;
    assert_int_equal(store_login_unlock(g.s, user, "", &was), STORE_EINVALID);
    OK(store_login_unlock(g.s, user, "admin", &was));
    assert_true(was);
    OK(store_agent_by_username(g.s, user, &a));
    assert_int_equal(a.locked_for, 0);
    OK(store_login_unlock(g.s, user, "admin", &was));
    assert_false(was);
    /* every lockout still running is marked as ended by the unlock */
    assert_int_equal(q_ll("SELECT count(*) FROM login_lockouts WHERE person_id = $1"
                          " AND unlocked_by = 'admin'", id, NULL), 2);
    int rows = 0;
    OK(store_lockouts(g.s, 10, count_lockout, &rows));
    assert_true(rows >= 2);
    assert_int_equal(store_login_failed(g.s, 987654321, 4, 600, NULL, &was), STORE_ENOTFOUND);
    for (int i = 0; i < 2; i++)
        store_close(s[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrations_apply_once),
        cmocka_unit_test(migrations_concurrent_starters),
        cmocka_unit_test(migrations_refused),
        cmocka_unit_test(open_refused),
        cmocka_unit_test(people),
        cmocka_unit_test(sessions),
        cmocka_unit_test(messages_and_replay),
        cmocka_unit_test(concurrent_messages),
        cmocka_unit_test(login_failures_counted_across_connections),
        cmocka_unit_test(database_goes_away),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
