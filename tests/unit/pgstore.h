/* pgstore: what the unit tests of the store and of the desk share on top
 * of pgtest.h: raw SQL against the test cluster through libpq (one value
 * of the first row as text or a number, a statement that must succeed),
 * each failing the running cmocka test with the SQL and PostgreSQL's
 * message; and the group setup of the store tests (a fresh cluster, the
 * migrations applied, a store and a libpq connection open, one real
 * Argon2id password hash for every agent, people made with unique names).
 * Include after <cmocka.h>; static inline, so a file may use only some. */
#ifndef KB_PGSTORE_H
#define KB_PGSTORE_H

#include "pgtest.h"
#include "../../chatdesk/auth.h"
#include "store.h"

#include <libpq-fe.h>
#include <stdint.h>

/* Runs sql with up to two text parameters (NULL: fewer); fails the test
 * unless it succeeds. The caller clears the result. */
static inline PGresult *pgs_q(PGconn *pg, const char *sql, const char *a, const char *b)
{
    const char *v[2] = {a, b};
    int n = a ? (b ? 2 : 1) : 0;
    PGresult *r = PQexecParams(pg, sql, n, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
        PQclear(r);
        fail_msg("SQL failed: %s: %s", sql, msg);
    }
    return r;
}

/* Runs sql (as pgs_q) for its effect. */
static inline void pgs_exec(PGconn *pg, const char *sql, const char *a, const char *b)
{
    PQclear(pgs_q(pg, sql, a, b));
}

/* The first column of the first row as text, in a static buffer
 * ("<null>" for NULL); no row fails the test. */
static inline const char *pgs_str(PGconn *pg, const char *sql, const char *a, const char *b)
{
    static char buf[2048];
    PGresult *r = pgs_q(pg, sql, a, b);
    if (PQntuples(r) < 1) {
        PQclear(r);
        fail_msg("no row from %s", sql);
    }
    snprintf(buf, sizeof buf, "%s", PQgetisnull(r, 0, 0) ? "<null>" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return buf;
}

/* The first column of the first row as a number (NULL: -1); no row fails
 * the test. */
static inline long long pgs_ll(PGconn *pg, const char *sql, const char *a, const char *b)
{
    const char *s = pgs_str(pg, sql, a, b);
    return strcmp(s, "<null>") == 0 ? -1 : strtoll(s, NULL, 10);
}

/* ---- the store tests' group -------------------------------------------------- */

struct pgs {
    char dir[256];
    char conninfo[512];
    struct store *s;
    PGconn *pg;
    char pwhash[AUTH_PWHASH_MAX]; /* of "agent password" */
    int applied;                  /* migrations applied at setup */
    int people;                   /* for unique names */
};

/* Fails the test unless the store call returns 0 (its message shown). */
#define PGS_OK(st, call)                                                                   \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        if (rc_ != 0)                                                                      \
            fail_msg("%s: %d %s", #call, rc_, store_errmsg(st));                           \
    } while (0)

/* Fails the test unless call returns want (a store return code). */
#define PGS_RC(st, want, call)                                                             \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        if (rc_ != (want))                                                                 \
            fail_msg("%s: wanted %d, got %d (%s)", #call, (want), rc_, store_errmsg(st));  \
    } while (0)

/* Starts a cluster (folder prefix.XXXXXX), applies the migrations and
 * opens p->s and p->pg. Returns 0, or -1 (reported on stderr). */
static inline int pgs_setup(struct pgs *p, const char *prefix)
{
    if (auth_init() != 0)
        return -1;
    if (pgt_start(prefix, p->dir, sizeof p->dir, p->conninfo, sizeof p->conninfo))
        return -1;
    char err[STORE_ERR_MAX];
    if (store_open(p->conninfo, &p->s, err, sizeof err) != 0) {
        fprintf(stderr, "store_open: %s\n", err);
        return -1;
    }
    if (store_migrate(p->s, PGT_MIGRATIONS, &p->applied) != 0) {
        fprintf(stderr, "store_migrate: %s\n", store_errmsg(p->s));
        return -1;
    }
    p->pg = PQconnectdb(p->conninfo);
    if (PQstatus(p->pg) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s\n", PQerrorMessage(p->pg));
        return -1;
    }
    /* one real Argon2id hash for every agent (hashing costs 0.1 s) */
    return auth_hash_password("agent password", p->pwhash);
}

/* Closes what pgs_setup opened and destroys the cluster. Returns 0 or -1. */
static inline int pgs_teardown(struct pgs *p)
{
    store_close(p->s);
    PQfinish(p->pg);
    return pgt_destroy(p->dir);
}

/* A requester named name (NULL: "Requester N") with email (may be NULL). */
static inline int64_t pgs_requester(struct pgs *p, const char *name, const char *email)
{
    int64_t id = 0;
    char made[32];
    snprintf(made, sizeof made, "Requester %d", ++p->people);
    PGS_OK(p->s, store_requester_create(p->s, name ? name : made, email, &id));
    assert_true(id > 0);
    return id;
}

/* An agent with user name prefixN, display name (NULL: the user name) and
 * the password "agent password". */
static inline int64_t pgs_agent(struct pgs *p, const char *prefix, const char *display)
{
    int64_t id = 0;
    char user[32];
    snprintf(user, sizeof user, "%s%d", prefix, ++p->people);
    PGS_OK(p->s, store_agent_create(p->s, user, display ? display : user, p->pwhash, &id));
    assert_true(id > 0);
    return id;
}

/* A ticket: a new requester's chat with one message text, escalated; its
 * number into number, the requester into *requester (may be NULL); taken
 * by agent unless agent is 0. */
static inline void pgs_ticket(struct pgs *p, const char *text, char number[STORE_NUMBER_MAX],
                              int64_t *requester, int64_t agent)
{
    int64_t req = pgs_requester(p, NULL, NULL), conv = 0;
    int seq, dup;
    struct store_ticket t;
    PGS_OK(p->s, store_conversation_create(p->s, req, &conv));
    PGS_OK(p->s, store_message_add(p->s, conv, req, "c1", text, &seq, &dup));
    PGS_OK(p->s, store_escalate(p->s, conv, req, text, NULL, 2, 2, NULL, 0, &t));
    snprintf(number, STORE_NUMBER_MAX, "%s", t.number);
    store_ticket_fin(&t);
    if (requester)
        *requester = req;
    if (agent)
        PGS_OK(p->s, store_ticket_take(p->s, number, agent));
}

/* How many events of type (NULL: any) ticket number has. */
static inline long long pgs_events(struct pgs *p, const char *number, const char *type)
{
    return pgs_ll(p->pg,
                  "SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id"
                  " WHERE t.number = $1 AND ($2::text IS NULL OR e.type = $2)",
                  number, type);
}

#ifdef PGS_ONE_GROUP
/* A test file whose group is the one `static struct pgs g` defines
 * PGS_ONE_GROUP before including this and writes PGS_GROUP(prefix) once:
 * the group, its cmocka setup and teardown
 * (group_setup, group_teardown: a cluster in prefix.XXXXXX), and short
 * names for one-parameter queries (q_str, q_ll), store calls that must
 * succeed (OK) and people (mk_requester, mk_agent). */
#define PGS_GROUP(prefix)                                                                   \
    static struct pgs g;                                                                    \
    static int group_setup(void **state)                                                    \
    {                                                                                       \
        (void)state;                                                                        \
        return pgs_setup(&g, prefix);                                                       \
    }                                                                                       \
    static int group_teardown(void **state)                                                 \
    {                                                                                       \
        (void)state;                                                                        \
        return pgs_teardown(&g);                                                            \
    }
#define q_str(sql, a) pgs_str(g.pg, sql, a, NULL)
#define q_ll(sql, a) pgs_ll(g.pg, sql, a, NULL)
#define OK(call) PGS_OK(g.s, call)
#define mk_requester() pgs_requester(&g, NULL, NULL)
#define mk_agent() pgs_agent(&g, "tagent", NULL)
#endif

#endif
