/* Unit tests for the store library (shared/store) against a real PostgreSQL 15 server: the
 * group setup starts a throwaway cluster with scripts/pg.sh (fsync off) in a
 * fresh temporary directory and applies shared/store/migrations; the teardown
 * destroys it. Run from the repository root (scripts/testrun.sh does).
 *
 * The tests share one database and run in order; each makes its own people.
 * Raw SQL through a second connection (g.pg) checks the rows and the
 * schema's own constraints. */
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

#include "pgstore.h"
#include "../../chatdesk/auth.h"
#include "store.h"

#define MIGRATIONS PGT_MIGRATIONS

static struct pgs g;

/* ---- helpers ------------------------------------------------------------ */

static const char *num(char *buf, long long x)
{
    snprintf(buf, 24, "%lld", x);
    return buf;
}
#define S(x) num((char[24]){0}, (long long)(x))

#define q(sql, a, b) pgs_q(g.pg, sql, a, b)
#define q_ll(sql, a, b) pgs_ll(g.pg, sql, a, b)
#define q_str(sql, a, b) pgs_str(g.pg, sql, a, b)

/* Raw SQL that must fail with SQLSTATE state. */
static void q_fails(const char *sql, const char *state)
{
    PGresult *r = PQexec(g.pg, sql);
    const char *got = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    char msg[512];
    snprintf(msg, sizeof msg, "%s: wanted SQLSTATE %s, got %s (%s)", sql, state,
             got ? got : "success", PQresultErrorMessage(r));
    int ok = PQresultStatus(r) == PGRES_FATAL_ERROR && got && strcmp(got, state) == 0;
    PQclear(r);
    if (!ok)
        fail_msg("%s", msg);
}

#define OK(call) PGS_OK(g.s, call)

#define RC(want, call)                                                                   \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_ != (want))                                                               \
            fail_msg("%s: wanted %d, got %d (%s)", #call, (want), rc_, store_errmsg(g.s)); \
    } while (0)

static int64_t mk_requester(const char *name)
{
    char email[64];
    snprintf(email, sizeof email, "user%d@example.cn", g.people + 1); /* pgs_requester counts */
    return pgs_requester(&g, name, email);
}

#define mk_agent(name) pgs_agent(&g, "agent", name)

/* A conversation of requester with one message, escalated. */
static void mk_ticket(int64_t requester, int impact, int urgency, struct store_ticket *t)
{
    int64_t conv = 0;
    int seq = 0, dup = 0;
    OK(store_conversation_create(g.s, requester, &conv));
    OK(store_message_add(g.s, conv, requester, "c1", "打印机脱机，无法打印", &seq, &dup));
    OK(store_escalate(g.s, conv, requester, "打印机脱机", "硬件/打印机", impact, urgency, NULL, 0,
                      t));
}

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

/* ---- setup ------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    return pgs_setup(&g, "kbstore");
}

static int group_teardown(void **state)
{
    (void)state;
    return pgs_teardown(&g);
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

struct msgs {
    int n;
    int seq[64];
    char body[64][64];
    char role[64][16];
    int64_t sender[64];
    int stop_after; /* 0: never */
};

static int collect_msg(void *arg, const struct store_message *m)
{
    struct msgs *c = arg;
    if (c->n < 64) {
        c->seq[c->n] = m->seq;
        snprintf(c->body[c->n], sizeof c->body[0], "%s", m->body);
        snprintf(c->role[c->n], sizeof c->role[0], "%s", m->sender_role);
        c->sender[c->n] = m->sender_id;
    }
    c->n++;
    return c->stop_after && c->n >= c->stop_after ? 42 : 0;
}

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

/* ---- the whole flow --------------------------------------------------------- */

struct evs {
    int n;
    struct {
        char type[16], from[16], to[16];
        int64_t actor, at;
        char detail[256];
    } e[32];
};

static int collect_ev(void *arg, const struct store_event *e)
{
    struct evs *c = arg;
    if (c->n < 32) {
        snprintf(c->e[c->n].type, 16, "%s", e->type);
        snprintf(c->e[c->n].from, 16, "%s", e->from_status ? e->from_status : "-");
        snprintf(c->e[c->n].to, 16, "%s", e->to_status);
        snprintf(c->e[c->n].detail, 256, "%s", e->detail);
        c->e[c->n].actor = e->actor_id;
        c->e[c->n].at = e->at;
    }
    c->n++;
    return 0;
}

struct queue_find {
    const char *number;
    int found, pos, n, last_priority, ordered;
    char status[16], requester[64], agent[64];
    int priority;
    int64_t response_due;
};

static int find_in_queue(void *arg, const struct store_ticket *t)
{
    struct queue_find *f = arg;
    if (f->n > 0 && t->priority < f->last_priority)
        f->ordered = 0;
    f->last_priority = t->priority;
    if (strcmp(t->number, f->number) == 0) {
        f->found = 1;
        f->pos = f->n;
        f->priority = t->priority;
        f->response_due = t->response_due;
        snprintf(f->status, sizeof f->status, "%s", t->status);
        snprintf(f->requester, sizeof f->requester, "%s", t->requester_name);
        snprintf(f->agent, sizeof f->agent, "%s", t->agent_name ? t->agent_name : "-");
    }
    f->n++;
    return 0;
}

static struct queue_find queue_find(const char *number)
{
    struct queue_find f = {.number = number, .ordered = 1};
    OK(store_queue(g.s, find_in_queue, &f));
    return f;
}

static void whole_flow(void **state)
{
    (void)state;
    int64_t req = mk_requester("陈静"), other = mk_requester("Mallory");
    int64_t a1 = mk_agent("王工"), a2 = mk_agent("刘工");
    int64_t conv = 0;
    int seq = 0, dup = 0;
    OK(store_conversation_create(g.s, req, &conv));
    OK(store_message_add(g.s, conv, req, "c1", "Outlook 无法发送邮件，提示 0x800CCC0E", &seq, &dup));
    OK(store_message_add(g.s, conv, req, "c2", "已经重启过电脑", &seq, &dup));
    assert_int_equal(seq, 2);
    OK(store_suggestion_add(g.s, conv, "KB-0012", "article", "Outlook 发送失败 0x800CCC0E"));
    OK(store_suggestion_add(g.s, conv, "KE-0003", "known_error", "SMTP 中继证书过期"));
    OK(store_suggestion_add(g.s, conv, "KB-0012", "article", "Outlook 发送失败（更新）"));
    RC(STORE_EINVALID, store_suggestion_add(g.s, conv, "X-1", "video", "bad kind"));
    RC(STORE_ENOTFOUND, store_suggestion_add(g.s, 999999, "KB-1", "article", "t"));
    assert_int_equal(q_ll("SELECT count(*) FROM conversation_suggestions WHERE conversation_id = $1",
                          S(conv), NULL),
                     2);
    OK(store_feedback(g.s, conv, req, "KE-0003", 0, NULL));

    /* escalate: impact 2 (medium), urgency 1 (high) -> P2: 30 min / 8 h */
    time_t t0 = 1767225600; /* 2026-01-01 00:00:00 UTC */
    struct store_ticket t;
    RC(STORE_EFORBIDDEN, store_escalate(g.s, conv, other, "Outlook", NULL, 2, 1, NULL, t0, &t));
    OK(store_escalate(g.s, conv, req, "Outlook 无法发送邮件", "邮件/Outlook", 2, 1, NULL, t0, &t));
    /* the first ticket of this database */
    assert_string_equal(t.number, "INC-000001");
    char want[32];
    snprintf(want, sizeof want, "INC-%06lld", (long long)t.id);
    assert_string_equal(t.number, want);
    assert_string_equal(t.status, "new");
    assert_int_equal(t.priority, 2);
    assert_int_equal(t.impact, 2);
    assert_int_equal(t.urgency, 1);
    assert_int_equal(t.created_at, t0);
    assert_int_equal(t.response_due, t0 + 30 * 60);
    assert_int_equal(t.resolution_due, t0 + 8 * 3600);
    assert_int_equal(t.agent_id, 0);
    assert_null(t.agent_name);
    assert_int_equal(t.conversation_id, conv);
    assert_int_equal(t.requester_id, req);
    assert_string_equal(t.requester_name, "陈静");
    assert_string_equal(t.summary, "Outlook 无法发送邮件");
    assert_string_equal(t.category, "邮件/Outlook");
    assert_null(t.resolution);
    assert_int_equal(t.first_response_at, 0);
    char number[STORE_NUMBER_MAX];
    snprintf(number, sizeof number, "%s", t.number);
    int64_t tid = t.id;
    store_ticket_fin(&t);
    assert_null(t.summary);

    /* the suggestions the requester saw went along */
    assert_int_equal(q_ll("SELECT count(*) FROM ticket_links WHERE ticket_id = $1"
                          " AND relation = 'suggested' AND doc_id IN ('KB-0012', 'KE-0003')",
                          S(tid), NULL),
                     2);
    struct store_conversation c;
    OK(store_conversation_get(g.s, conv, req, &c));
    assert_string_equal(c.status, "escalated");
    assert_string_equal(c.ticket, number);
    /* escalating twice gives the same ticket, as a conflict */
    RC(STORE_ECONFLICT, store_escalate(g.s, conv, req, "again", NULL, 1, 1, NULL, 0, &t));
    assert_string_equal(t.number, number);
    assert_int_equal(t.priority, 2);
    store_ticket_fin(&t);
    assert_int_equal(q_ll("SELECT count(*) FROM tickets WHERE conversation_id = $1", S(conv), NULL),
                     1);

    /* the queue lists it */
    struct queue_find f = queue_find(number);
    assert_true(f.found);
    assert_true(f.ordered);
    assert_string_equal(f.status, "new");
    assert_string_equal(f.requester, "陈静");
    assert_string_equal(f.agent, "-");
    assert_int_equal(f.priority, 2);
    assert_int_equal(f.response_due, t0 + 1800);

    /* a rating before resolution is refused; a requester cannot take */
    RC(STORE_EINVALID, store_ticket_rate(g.s, number, req, 5, NULL));
    RC(STORE_EFORBIDDEN, store_ticket_take(g.s, number, req));

    /* take: one agent; taking one's own again changes nothing */
    OK(store_ticket_take(g.s, number, a1));
    RC(STORE_ECONFLICT, store_ticket_take(g.s, number, a2));
    OK(store_ticket_take(g.s, number, a1));
    f = queue_find(number);
    assert_string_equal(f.status, "assigned");
    assert_string_equal(f.agent, "王工");

    /* replies: only the assigned agent; the first sets first_response_at */
    RC(STORE_EFORBIDDEN, store_ticket_reply(g.s, number, a2, "r1", "我来看看", &seq, &dup, NULL));
    OK(store_ticket_reply(g.s, number, a1, "r1", "请检查 SMTP 端口", &seq, &dup, NULL));
    assert_int_equal(seq, 3);
    OK(store_ticket_reply(g.s, number, a1, "r1", "请检查 SMTP 端口", &seq, &dup, NULL));
    assert_int_equal(seq, 3);
    assert_int_equal(dup, 1);
    OK(store_message_add(g.s, conv, req, "c3", "端口是 25", &seq, &dup));
    assert_int_equal(seq, 4);
    OK(store_ticket_get(g.s, number, req, &t));
    assert_true(t.first_response_at > 0);
    assert_string_equal(t.status, "assigned");
    assert_int_equal(t.agent_id, a1);
    assert_string_equal(t.agent_name, "王工");
    store_ticket_fin(&t);
    struct msgs m = {0};
    OK(store_messages_since(g.s, conv, req, 2, collect_msg, &m));
    assert_int_equal(m.n, 2);
    assert_string_equal(m.role[0], "agent");
    assert_int_equal(m.sender[0], a1);

    /* links: agents anything, the requester only viewed/helpful */
    int added = -1;
    OK(store_ticket_link(g.s, number, "KB-0012", "used", a1, &added));
    assert_int_equal(added, 1);
    OK(store_ticket_link(g.s, number, "KB-0012", "used", a1, &added));
    assert_int_equal(added, 0);
    RC(STORE_EINVALID, store_ticket_link(g.s, number, "KB-0012", "liked", a1, &added));
    RC(STORE_EFORBIDDEN, store_ticket_link(g.s, number, "KB-0099", "used", req, &added));
    RC(STORE_EFORBIDDEN, store_ticket_link(g.s, number, "KB-0012", "viewed", other, &added));
    OK(store_ticket_link(g.s, number, "KB-0012", "viewed", req, &added));
    assert_int_equal(added, 1);
    assert_int_equal(q_ll("SELECT count(*) FROM ticket_links WHERE ticket_id = $1", S(tid), NULL),
                     4);

    /* resolve: not by the other agent, not without a text */
    RC(STORE_EFORBIDDEN, store_ticket_resolve(g.s, number, a2, "done"));
    RC(STORE_EINVALID, store_ticket_resolve(g.s, number, a1, ""));
    RC(STORE_EINVALID, store_ticket_resolve(g.s, number, a1, NULL));
    OK(store_ticket_resolve(g.s, number, a1, "SMTP 端口改为 587 并启用 STARTTLS"));
    RC(STORE_EINVALID, store_ticket_resolve(g.s, number, a1, "twice"));
    RC(STORE_EINVALID, store_ticket_take(g.s, number, a2));
    f = queue_find(number);
    assert_false(f.found);

    /* the requester rejects: reopened, back with its agent */
    RC(STORE_EFORBIDDEN, store_ticket_confirm(g.s, number, other, 1));
    OK(store_ticket_confirm(g.s, number, req, 0));
    RC(STORE_EINVALID, store_ticket_confirm(g.s, number, req, 1));
    OK(store_ticket_get(g.s, number, a2, &t));
    assert_string_equal(t.status, "reopened");
    assert_int_equal(t.agent_id, a1);
    assert_int_equal(t.resolved_at, 0);
    store_ticket_fin(&t);
    f = queue_find(number);
    assert_true(f.found);
    assert_string_equal(f.status, "reopened");
    RC(STORE_ECONFLICT, store_ticket_take(g.s, number, a2));

    /* resolved again, then confirmed: closed */
    OK(store_ticket_resolve(g.s, number, a1, "证书已更新，SMTP 正常"));
    OK(store_ticket_confirm(g.s, number, req, 1));
    OK(store_ticket_get(g.s, number, req, &t));
    assert_string_equal(t.status, "closed");
    assert_true(t.closed_at > 0 && t.resolved_at > 0 && t.closed_at >= t.resolved_at);
    assert_string_equal(t.resolution, "证书已更新，SMTP 正常");
    assert_int_equal(t.rating, 0);
    store_ticket_fin(&t);
    OK(store_conversation_get(g.s, conv, req, &c));
    assert_string_equal(c.status, "closed");
    RC(STORE_EINVALID, store_message_add(g.s, conv, req, "c9", "还有问题", &seq, &dup));
    RC(STORE_EINVALID, store_ticket_reply(g.s, number, a1, "r9", "hello", &seq, &dup, NULL));
    RC(STORE_EINVALID, store_ticket_link(g.s, number, "KB-1", "used", a1, &added));

    /* rating: 1..5, once, only the requester */
    RC(STORE_EINVALID, store_ticket_rate(g.s, number, req, 0, NULL));
    RC(STORE_EINVALID, store_ticket_rate(g.s, number, req, 6, NULL));
    RC(STORE_EFORBIDDEN, store_ticket_rate(g.s, number, other, 5, NULL));
    OK(store_ticket_rate(g.s, number, req, 5, "很快解决了"));
    RC(STORE_ECONFLICT, store_ticket_rate(g.s, number, req, 4, NULL));
    OK(store_ticket_get(g.s, number, req, &t));
    assert_int_equal(t.rating, 5);
    store_ticket_fin(&t);
    assert_string_equal(q_str("SELECT comment FROM ratings WHERE ticket_id = $1", S(tid), NULL),
                        "很快解决了");

    /* every transition, with who and when, in order */
    struct evs ev = {0};
    OK(store_ticket_events(g.s, number, a2, collect_ev, &ev));
    struct {
        const char *type, *from, *to;
        int64_t actor;
    } want_ev[] = {
        {"created", "-", "new", req},
        {"taken", "new", "assigned", a1},
        {"replied", "assigned", "assigned", a1},
        {"linked", "assigned", "assigned", a1},
        {"linked", "assigned", "assigned", req},
        {"resolved", "assigned", "resolved", a1},
        {"reopened", "resolved", "reopened", req},
        {"resolved", "reopened", "resolved", a1},
        {"confirmed", "resolved", "closed", req},
        {"rated", "closed", "closed", req},
    };
    int nwant = (int)(sizeof want_ev / sizeof want_ev[0]);
    if (ev.n != nwant)
        fail_msg("%d events, wanted %d", ev.n, nwant);
    for (int i = 0; i < nwant; i++) {
        if (strcmp(ev.e[i].type, want_ev[i].type) != 0 || strcmp(ev.e[i].from, want_ev[i].from) != 0 ||
            strcmp(ev.e[i].to, want_ev[i].to) != 0 || ev.e[i].actor != want_ev[i].actor)
            fail_msg("event %d: %s %s->%s by %lld, wanted %s %s->%s by %lld", i, ev.e[i].type,
                     ev.e[i].from, ev.e[i].to, (long long)ev.e[i].actor, want_ev[i].type,
                     want_ev[i].from, want_ev[i].to, (long long)want_ev[i].actor);
        assert_true(ev.e[i].at > 0);
    }
    assert_int_equal(ev.e[0].at, t0);
    assert_true(ev.e[1].at >= time(NULL) - 600 && ev.e[1].at <= time(NULL) + 5);
    assert_non_null(strstr(ev.e[0].detail, "\"priority\": 2"));
    assert_non_null(strstr(ev.e[0].detail, "\"suggested\": 2"));
    assert_non_null(strstr(ev.e[5].detail, "SMTP 端口改为 587"));
    assert_non_null(strstr(ev.e[9].detail, "\"score\": 5"));
    /* the requester may read the history too; another requester may not */
    memset(&ev, 0, sizeof ev);
    OK(store_ticket_events(g.s, number, req, collect_ev, &ev));
    assert_int_equal(ev.n, nwant);
    memset(&ev, 0, sizeof ev);
    RC(STORE_EFORBIDDEN, store_ticket_events(g.s, number, other, collect_ev, &ev));
    assert_int_equal(ev.n, 0);
}

/* ---- priorities and deadlines -------------------------------------------- */

static void priority_matrix(void **state)
{
    (void)state;
    const int want[3][3] = {{1, 2, 3}, {2, 3, 4}, {3, 4, 4}};
    for (int i = 1; i <= 3; i++)
        for (int u = 1; u <= 3; u++)
            assert_int_equal(store_priority(i, u), want[i - 1][u - 1]);
    assert_int_equal(store_priority(0, 1), STORE_EINVALID);
    assert_int_equal(store_priority(4, 1), STORE_EINVALID);
    assert_int_equal(store_priority(1, 0), STORE_EINVALID);
    assert_int_equal(store_priority(1, 4), STORE_EINVALID);

    struct store_sla sla;
    store_sla_default(&sla);
    const int resp[4] = {900, 1800, 4 * 3600, 8 * 3600};
    const int reso[4] = {4 * 3600, 8 * 3600, 3 * 86400, 5 * 86400};
    for (int p = 0; p < 4; p++) {
        assert_int_equal(sla.response_s[p], resp[p]);
        assert_int_equal(sla.resolution_s[p], reso[p]);
    }
}

static void escalate_priorities_and_sla(void **state)
{
    (void)state;
    int64_t req = mk_requester("Prio");
    time_t t0 = 1767225600;
    struct store_ticket t;
    int64_t conv = 0;
    int seq, dup;

    /* impact or urgency out of 1..3: refused, nothing created */
    OK(store_conversation_create(g.s, req, &conv));
    OK(store_message_add(g.s, conv, req, "c", "服务器宕机", &seq, &dup));
    RC(STORE_EINVALID, store_escalate(g.s, conv, req, "x", NULL, 0, 1, NULL, t0, &t));
    RC(STORE_EINVALID, store_escalate(g.s, conv, req, "x", NULL, 4, 1, NULL, t0, &t));
    RC(STORE_EINVALID, store_escalate(g.s, conv, req, "x", NULL, 1, 0, NULL, t0, &t));
    RC(STORE_EINVALID, store_escalate(g.s, conv, req, "x", NULL, 1, 4, NULL, t0, &t));
    RC(STORE_EINVALID, store_escalate(g.s, conv, req, "", NULL, 1, 1, NULL, t0, &t));
    RC(STORE_EINVALID, store_escalate(g.s, conv, req, NULL, NULL, 1, 1, NULL, t0, &t));
    RC(STORE_ENOTFOUND, store_escalate(g.s, 999999, req, "x", NULL, 1, 1, NULL, t0, &t));
    assert_int_equal(q_ll("SELECT count(*) FROM tickets WHERE conversation_id = $1", S(conv), NULL),
                     0);
    assert_string_equal(q_str("SELECT status FROM conversations WHERE id = $1", S(conv), NULL),
                        "open");

    /* P1 with the defaults: 15 min / 4 h */
    OK(store_escalate(g.s, conv, req, "全部服务器宕机", "基础设施", 1, 1, NULL, t0, &t));
    assert_int_equal(t.priority, 1);
    assert_int_equal(t.response_due - t0, 15 * 60);
    assert_int_equal(t.resolution_due - t0, 4 * 3600);
    store_ticket_fin(&t);

    /* P4 (impact 3, urgency 3) with a caller's SLA */
    struct store_sla sla;
    store_sla_default(&sla);
    sla.response_s[3] = 86400;
    sla.resolution_s[3] = 10 * 86400;
    OK(store_conversation_create(g.s, req, &conv));
    OK(store_escalate(g.s, conv, req, "换一个鼠标", NULL, 3, 3, &sla, t0, &t));
    assert_int_equal(t.priority, 4);
    assert_int_equal(t.response_due - t0, 86400);
    assert_int_equal(t.resolution_due - t0, 10 * 86400);
    assert_null(t.category);
    store_ticket_fin(&t);
    /* P3 from the defaults: 4 h / 3 days */
    OK(store_conversation_create(g.s, req, &conv));
    OK(store_escalate(g.s, conv, req, "共享盘慢", NULL, 2, 2, NULL, t0, &t));
    assert_int_equal(t.priority, 3);
    assert_int_equal(t.response_due - t0, 4 * 3600);
    assert_int_equal(t.resolution_due - t0, 3 * 86400);
    store_ticket_fin(&t);
    /* a nonsensical SLA is refused */
    sla.resolution_s[3] = 10;
    OK(store_conversation_create(g.s, req, &conv));
    RC(STORE_EINVALID, store_escalate(g.s, conv, req, "x", NULL, 3, 3, &sla, t0, &t));
    /* with now = 0 the server's clock counts */
    time_t before = time(NULL);
    OK(store_escalate(g.s, conv, req, "x", NULL, 3, 3, NULL, 0, &t));
    assert_true(t.created_at >= before - 1 && t.created_at <= time(NULL) + 1);
    assert_int_equal(t.response_due - t.created_at, 8 * 3600);
    store_ticket_fin(&t);
}

/* ---- two agents, one ticket ----------------------------------------------- */

struct racer {
    struct store *s;
    const char *number;
    int64_t agent;
    pthread_barrier_t *bar;
    int rc;
};

static void *race_take(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->bar);
    r->rc = store_ticket_take(r->s, r->number, r->agent);
    return NULL;
}

static void take_race(void **state)
{
    (void)state;
    int64_t req = mk_requester("Racer");
    int64_t agent[2] = {mk_agent("Fast"), mk_agent("Faster")};
    struct store *s[2];
    char err[STORE_ERR_MAX];
    for (int i = 0; i < 2; i++)
        if (store_open(g.conninfo, &s[i], err, sizeof err) != 0)
            fail_msg("%s", err);
    int wins[2] = {0, 0};
    for (int round = 0; round < 12; round++) {
        struct store_ticket t;
        mk_ticket(req, 2, 2, &t);
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, 2);
        struct racer r[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            r[i] = (struct racer){.s = s[i], .number = t.number, .agent = agent[i], .bar = &bar};
            pthread_create(&th[i], NULL, race_take, &r[i]);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&bar);
        /* exactly one wins, the other gets a conflict */
        int w = r[0].rc == 0 ? 0 : 1;
        if (r[w].rc != 0 || r[!w].rc != STORE_ECONFLICT)
            fail_msg("round %d: %d / %d (%s | %s)", round, r[0].rc, r[1].rc, store_errmsg(s[0]),
                     store_errmsg(s[1]));
        assert_non_null(strstr(store_errmsg(s[!w]), "already taken"));
        wins[w]++;
        assert_int_equal(q_ll("SELECT agent_id FROM tickets WHERE number = $1", t.number, NULL),
                         agent[w]);
        assert_int_equal(q_ll("SELECT count(*) FROM ticket_events e JOIN tickets t"
                              " ON t.id = e.ticket_id WHERE t.number = $1 AND e.type = 'taken'",
                              t.number, NULL),
                         1);
        store_ticket_fin(&t);
    }
    assert_int_equal(wins[0] + wins[1], 12);
    store_close(s[0]);
    store_close(s[1]);
}

/* ---- who may see and do what ------------------------------------------------ */

static void access_control(void **state)
{
    (void)state;
    int64_t alice = mk_requester("Alice"), bob = mk_requester("Bob"), agent = mk_agent("Ag");
    struct store_ticket t, u;
    mk_ticket(alice, 2, 2, &t);
    OK(store_ticket_access(g.s, t.number, alice));
    OK(store_ticket_access(g.s, t.number, agent));
    RC(STORE_EFORBIDDEN, store_ticket_access(g.s, t.number, bob));
    RC(STORE_EFORBIDDEN, store_ticket_access(g.s, t.number, 999999));
    RC(STORE_ENOTFOUND, store_ticket_access(g.s, "INC-999998", alice));
    RC(STORE_EFORBIDDEN, store_ticket_get(g.s, t.number, bob, &u));
    assert_null(u.summary);
    assert_string_equal(u.number, "");
    RC(STORE_ENOTFOUND, store_ticket_get(g.s, "INC-999998", agent, &u));
    RC(STORE_EINVALID, store_ticket_get(g.s, NULL, agent, &u));
    OK(store_ticket_get(g.s, t.number, alice, &u));
    assert_string_equal(u.number, t.number);
    store_ticket_fin(&u);

    /* requester operations by others, agent operations by requesters */
    RC(STORE_EFORBIDDEN, store_escalate(g.s, t.conversation_id, bob, "x", NULL, 1, 1, NULL, 0, &u));
    int ended = -1;
    RC(STORE_EFORBIDDEN, store_feedback(g.s, t.conversation_id, bob, "KB-1", 1, &ended));
    RC(STORE_EFORBIDDEN, store_ticket_take(g.s, t.number, alice));
    RC(STORE_EFORBIDDEN, store_ticket_take(g.s, t.number, 999999));
    int seq, dup;
    RC(STORE_EFORBIDDEN, store_ticket_reply(g.s, t.number, bob, "x", "hi", &seq, &dup, NULL));
    OK(store_ticket_take(g.s, t.number, agent));
    RC(STORE_EFORBIDDEN, store_ticket_resolve(g.s, t.number, alice, "done"));
    RC(STORE_ENOTFOUND, store_ticket_resolve(g.s, "INC-999998", agent, "done"));
    OK(store_ticket_resolve(g.s, t.number, agent, "done"));
    RC(STORE_EFORBIDDEN, store_ticket_confirm(g.s, t.number, bob, 1));
    RC(STORE_EFORBIDDEN, store_ticket_confirm(g.s, t.number, agent, 1));
    RC(STORE_EFORBIDDEN, store_ticket_rate(g.s, t.number, bob, 1, "bad"));
    RC(STORE_ENOTFOUND, store_ticket_confirm(g.s, "INC-999998", alice, 1));

    /* a disabled agent takes nothing and sees nothing */
    int64_t gone = mk_agent("Gone");
    OK(store_person_set_disabled(g.s, gone, 1));
    mk_ticket(bob, 3, 3, &u);
    RC(STORE_EFORBIDDEN, store_ticket_take(g.s, u.number, gone));
    RC(STORE_EFORBIDDEN, store_ticket_access(g.s, u.number, gone));
    store_ticket_fin(&u);
    store_ticket_fin(&t);
}

/* ---- self-service ---------------------------------------------------------- */

static void feedback_self_solved(void **state)
{
    (void)state;
    int64_t req = mk_requester("Self"), conv = 0;
    int seq, dup, ended = -1;
    OK(store_conversation_create(g.s, req, &conv));
    OK(store_message_add(g.s, conv, req, "c1", "忘记密码怎么办", &seq, &dup));
    OK(store_suggestion_add(g.s, conv, "KB-0040", "article", "自助重置域账号密码"));
    OK(store_suggestion_add(g.s, conv, "KB-0041", "article", "账号锁定"));
    /* not helpful: recorded, the chat goes on */
    OK(store_feedback(g.s, conv, req, "KB-0041", 0, &ended));
    assert_int_equal(ended, 0);
    assert_string_equal(q_str("SELECT helpful::text FROM conversation_suggestions WHERE"
                              " conversation_id = $1 AND doc_id = 'KB-0041'",
                              S(conv), NULL),
                        "false");
    assert_string_equal(q_str("SELECT status FROM conversations WHERE id = $1", S(conv), NULL),
                        "open");
    RC(STORE_ENOTFOUND, store_feedback(g.s, conv, req, "KB-9999", 1, &ended));
    RC(STORE_ENOTFOUND, store_feedback(g.s, 999999, req, "KB-0040", 1, &ended));
    /* helpful: self-solved, with a deflection */
    OK(store_feedback(g.s, conv, req, "KB-0040", 1, &ended));
    assert_int_equal(ended, 1);
    struct store_conversation c;
    OK(store_conversation_get(g.s, conv, req, &c));
    assert_string_equal(c.status, "self_solved");
    assert_string_equal(q_str("SELECT doc_id FROM deflections WHERE conversation_id = $1", S(conv),
                              NULL),
                        "KB-0040");
    assert_string_equal(q_str("SELECT helpful::text FROM conversation_suggestions WHERE"
                              " conversation_id = $1 AND doc_id = 'KB-0040'",
                              S(conv), NULL),
                        "true");
    /* the chat is over */
    RC(STORE_EINVALID, store_feedback(g.s, conv, req, "KB-0040", 1, &ended));
    RC(STORE_EINVALID, store_message_add(g.s, conv, req, "c2", "谢谢", &seq, &dup));
    OK(store_message_add(g.s, conv, req, "c1", "忘记密码怎么办", &seq, &dup)); /* a resend */
    assert_int_equal(dup, 1);
    struct store_ticket t;
    RC(STORE_EINVALID, store_escalate(g.s, conv, req, "x", NULL, 1, 1, NULL, 0, &t));
    RC(STORE_ENOTFOUND, store_conversation_of_requester(g.s, req, &c));
    assert_int_equal(q_ll("SELECT count(*) FROM deflections WHERE conversation_id = $1", S(conv),
                          NULL),
                     1);

    /* helpful after escalation links the document to the ticket instead */
    OK(store_conversation_create(g.s, req, &conv));
    OK(store_suggestion_add(g.s, conv, "KE-0007", "known_error", "VPN 809"));
    OK(store_escalate(g.s, conv, req, "VPN", NULL, 2, 2, NULL, 0, &t));
    OK(store_feedback(g.s, conv, req, "KE-0007", 1, &ended));
    assert_int_equal(ended, 0);
    assert_int_equal(q_ll("SELECT count(*) FROM ticket_links WHERE ticket_id = $1"
                          " AND doc_id = 'KE-0007' AND relation IN ('suggested', 'helpful')",
                          S(t.id), NULL),
                     2);
    assert_int_equal(q_ll("SELECT count(*) FROM deflections WHERE conversation_id = $1", S(conv),
                          NULL),
                     0);
    OK(store_conversation_of_requester(g.s, req, &c));
    assert_int_equal(c.id, conv);
    assert_string_equal(c.ticket, t.number);
    store_ticket_fin(&t);
}

/* ---- reopening without the agent -------------------------------------------- */

static void reopen_goes_to_queue_without_agent(void **state)
{
    (void)state;
    int64_t req = mk_requester("Reopen"), a = mk_agent("Leaves"), b = mk_agent("Stays");
    struct store_ticket t;
    mk_ticket(req, 1, 2, &t);
    OK(store_ticket_take(g.s, t.number, a));
    OK(store_ticket_resolve(g.s, t.number, a, "重启了打印服务"));
    OK(store_person_set_disabled(g.s, a, 1));
    OK(store_ticket_confirm(g.s, t.number, req, 0));
    struct store_ticket u;
    OK(store_ticket_get(g.s, t.number, b, &u));
    assert_string_equal(u.status, "reopened");
    assert_int_equal(u.agent_id, 0);
    assert_string_equal(u.resolution, "重启了打印服务"); /* the rejected text stays readable */
    store_ticket_fin(&u);
    struct queue_find f = queue_find(t.number);
    assert_true(f.found);
    assert_string_equal(f.agent, "-");
    OK(store_ticket_take(g.s, t.number, b));
    assert_string_equal(q_str("SELECT from_status || '>' || to_status FROM ticket_events e"
                              " JOIN tickets t ON t.id = e.ticket_id WHERE t.number = $1"
                              " ORDER BY e.id DESC LIMIT 1",
                              t.number, NULL),
                        "reopened>assigned");
    assert_string_equal(q_str("SELECT detail->>'agent_id' IS NULL FROM ticket_events e"
                              " JOIN tickets t ON t.id = e.ticket_id WHERE t.number = $1"
                              " AND e.type = 'reopened'",
                              t.number, NULL),
                        "t");
    store_ticket_fin(&t);
}

/* ---- closing without an answer ------------------------------------------------ */

static void auto_close(void **state)
{
    (void)state;
    int64_t req = mk_requester("Silent"), a = mk_agent("Closer");
    struct store_ticket t;
    mk_ticket(req, 2, 2, &t);
    OK(store_ticket_take(g.s, t.number, a));
    OK(store_ticket_resolve(g.s, t.number, a, "已处理"));
    time_t now = time(NULL);
    int closed = -1;
    RC(STORE_EINVALID, store_auto_close(g.s, 0, now, &closed));
    /* one day later, with a three-day limit: not yet */
    OK(store_auto_close(g.s, 3, now + 86400, &closed));
    assert_string_equal(q_str("SELECT status FROM tickets WHERE id = $1", S(t.id), NULL),
                        "resolved");
    /* four days later: closed by the system */
    OK(store_auto_close(g.s, 3, now + 4 * 86400, &closed));
    assert_true(closed >= 1);
    struct store_ticket u;
    OK(store_ticket_get(g.s, t.number, req, &u));
    assert_string_equal(u.status, "closed");
    assert_int_equal(u.closed_at, now + 4 * 86400);
    store_ticket_fin(&u);
    assert_string_equal(q_str("SELECT status FROM conversations WHERE id = $1",
                              S(t.conversation_id), NULL),
                        "closed");
    struct evs ev = {0};
    OK(store_ticket_events(g.s, t.number, a, collect_ev, &ev));
    assert_true(ev.n >= 4);
    assert_string_equal(ev.e[ev.n - 1].type, "auto_closed");
    assert_string_equal(ev.e[ev.n - 1].from, "resolved");
    assert_string_equal(ev.e[ev.n - 1].to, "closed");
    assert_int_equal(ev.e[ev.n - 1].actor, 0);
    assert_int_equal(ev.e[ev.n - 1].at, now + 4 * 86400);
    /* nothing left to close; a late answer is refused, a rating is not */
    OK(store_auto_close(g.s, 3, now + 4 * 86400, &closed));
    assert_int_equal(closed, 0);
    RC(STORE_EINVALID, store_ticket_confirm(g.s, t.number, req, 0));
    OK(store_ticket_rate(g.s, t.number, req, 2, NULL));
    store_ticket_fin(&t);
}

/* ---- the schema's own guards ----------------------------------------------------- */

static void schema_constraints(void **state)
{
    (void)state;
    int64_t req = mk_requester("Guard"), other = mk_requester("Other Guard"), a = mk_agent("G");
    struct store_ticket t;
    mk_ticket(req, 2, 2, &t);
    char sql[1024];
    /* impact, urgency, priority out of range */
    snprintf(sql, sizeof sql, "UPDATE tickets SET impact = 4 WHERE id = %lld", (long long)t.id);
    q_fails(sql, "23514");
    snprintf(sql, sizeof sql, "UPDATE tickets SET impact = 0 WHERE id = %lld", (long long)t.id);
    q_fails(sql, "23514");
    snprintf(sql, sizeof sql, "UPDATE tickets SET priority = 5 WHERE id = %lld", (long long)t.id);
    q_fails(sql, "23514");
    /* states that contradict their fields */
    snprintf(sql, sizeof sql, "UPDATE tickets SET status = 'assigned' WHERE id = %lld",
             (long long)t.id);
    q_fails(sql, "23514");
    snprintf(sql, sizeof sql, "UPDATE tickets SET agent_id = %lld WHERE id = %lld", (long long)a,
             (long long)t.id);
    q_fails(sql, "23514");
    snprintf(sql, sizeof sql,
             "UPDATE tickets SET status = 'closed', closed_at = now() WHERE id = %lld",
             (long long)t.id);
    q_fails(sql, "23514");
    snprintf(sql, sizeof sql, "UPDATE tickets SET status = 'pending' WHERE id = %lld",
             (long long)t.id);
    q_fails(sql, "23514");
    /* a ticket is its conversation's requester's */
    snprintf(sql, sizeof sql, "UPDATE tickets SET requester_id = %lld WHERE id = %lld",
             (long long)other, (long long)t.id);
    q_fails(sql, "23503");
    /* numbers are generated */
    snprintf(sql, sizeof sql, "UPDATE tickets SET number = 'INC-1' WHERE id = %lld",
             (long long)t.id);
    q_fails(sql, "428C9");
    /* a message's role is its sender's; an agent cannot own a conversation */
    snprintf(sql, sizeof sql,
             "INSERT INTO messages (conversation_id, seq, sender_id, sender_role, body)"
             " VALUES (%lld, 99, %lld, 'agent', 'x')",
             (long long)t.conversation_id, (long long)req);
    q_fails(sql, "23503");
    snprintf(sql, sizeof sql, "INSERT INTO conversations (requester_id) VALUES (%lld)",
             (long long)a);
    q_fails(sql, "23503");
    /* duplicate seq */
    snprintf(sql, sizeof sql,
             "INSERT INTO messages (conversation_id, seq, sender_id, sender_role, body)"
             " VALUES (%lld, 1, %lld, 'requester', 'x')",
             (long long)t.conversation_id, (long long)req);
    q_fails(sql, "23505");
    /* passwords only as Argon2id hashes; requesters have none */
    q_fails("INSERT INTO people (role, name, username, password_hash)"
            " VALUES ('agent', 'P', 'plainpw', 'secret')",
            "23514");
    q_fails("INSERT INTO people (role, name) VALUES ('agent', 'No Login')", "23514");
    q_fails("INSERT INTO people (role, name) VALUES ('root', 'R')", "23514");
    /* ratings 1..5, one per ticket; sessions hold 32-byte hashes */
    snprintf(sql, sizeof sql, "INSERT INTO ratings (ticket_id, score) VALUES (%lld, 6)",
             (long long)t.id);
    q_fails(sql, "23514");
    snprintf(sql, sizeof sql,
             "INSERT INTO sessions (token_hash, person_id, expires_at)"
             " VALUES ('\\x00', %lld, now() + interval '1 hour')",
             (long long)req);
    q_fails(sql, "23514");
    /* links have known relations; the history cannot be rewritten */
    snprintf(sql, sizeof sql,
             "INSERT INTO ticket_links (ticket_id, doc_id, relation) VALUES (%lld, 'KB-1', 'liked')",
             (long long)t.id);
    q_fails(sql, "23514");
    snprintf(sql, sizeof sql, "UPDATE ticket_events SET type = 'closed' WHERE ticket_id = %lld",
             (long long)t.id);
    q_fails(sql, "23000");
    snprintf(sql, sizeof sql, "DELETE FROM ticket_events WHERE ticket_id = %lld", (long long)t.id);
    q_fails(sql, "23000");
    assert_int_equal(q_ll("SELECT count(*) FROM ticket_events WHERE ticket_id = $1", S(t.id), NULL),
                     1);
    store_ticket_fin(&t);
}

static void ticket_numbers_grow_past_six_digits(void **state)
{
    (void)state;
    int64_t req = mk_requester("Seven Digits");
    PQclear(q("SELECT setval('tickets_id_seq', 1234566)", NULL, NULL));
    struct store_ticket t;
    mk_ticket(req, 3, 2, &t);
    assert_int_equal(t.id, 1234567);
    assert_string_equal(t.number, "INC-1234567");
    store_ticket_fin(&t);
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
        /* whole_flow makes the database's first ticket: keep it before the
         * other tests that escalate */
        cmocka_unit_test(whole_flow),
        cmocka_unit_test(priority_matrix),
        cmocka_unit_test(escalate_priorities_and_sla),
        cmocka_unit_test(take_race),
        cmocka_unit_test(login_failures_counted_across_connections),
        cmocka_unit_test(access_control),
        cmocka_unit_test(feedback_self_solved),
        cmocka_unit_test(reopen_goes_to_queue_without_agent),
        cmocka_unit_test(auto_close),
        cmocka_unit_test(schema_constraints),
        cmocka_unit_test(ticket_numbers_grow_past_six_digits),
        cmocka_unit_test(database_goes_away),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
