/* storefix: what the unit tests of the store's core (test_store.c:
 * migrations, connections, people, sessions and messages; test_store_flow.c:
 * the ticket lifecycle) share on top of pgstore.h: the one group (`g`, a
 * cluster in STOREFIX_PREFIX.XXXXXX with the migrations applied; cmocka's
 * group_setup and group_teardown), numbers as SQL parameters (S), raw SQL
 * with two parameters and SQL that must fail with a given SQLSTATE, store
 * calls that must return 0 (OK) or a given code (RC), and people and
 * tickets made through the store. A file defines STOREFIX_PREFIX and
 * includes this once, after <cmocka.h>; static inline, so a file may use
 * only some. */
#ifndef KB_STOREFIX_H
#define KB_STOREFIX_H

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pgstore.h"
#include "store.h"

#define MIGRATIONS PGT_MIGRATIONS

static struct pgs g;

/* ---- helpers ------------------------------------------------------------ */

static inline const char *num(char *buf, long long x)
{
    snprintf(buf, 24, "%lld", x);
    return buf;
}
#define S(x) num((char[24]){0}, (long long)(x))

#define q(sql, a, b) pgs_q(g.pg, sql, a, b)
#define q_ll(sql, a, b) pgs_ll(g.pg, sql, a, b)
#define q_str(sql, a, b) pgs_str(g.pg, sql, a, b)

/* Raw SQL that must fail with SQLSTATE state. */
static inline void q_fails(const char *sql, const char *state)
{
    PGresult *r = PQexec(g.pg, sql);
    const char *got = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    char msg[512];
    if (snprintf(msg, sizeof msg, "%s: wanted SQLSTATE %s, got %s (%s)", sql, state,
                 got ? got : "success", PQresultErrorMessage(r)) < 0)
        msg[0] = '\0'; /* a longer message is cut */
    int ok = PQresultStatus(r) == PGRES_FATAL_ERROR && got && strcmp(got, state) == 0;
    PQclear(r);
    if (!ok)
        fail_msg("%s", msg);
}

#define OK(call) PGS_OK(g.s, call)

#define RC(want, call) PGS_RC(g.s, want, call)

static inline int64_t mk_requester(const char *name)
{
    char email[64];
    snprintf(email, sizeof email, "user%d@example.cn", g.people + 1); /* pgs_requester counts */
    return pgs_requester(&g, name, email);
}

#define mk_agent(name) pgs_agent(&g, "agent", name)

/* A conversation of requester with one message, escalated. */
static inline void mk_ticket(int64_t requester, int impact, int urgency, struct store_ticket *t)
{
    int64_t conv = 0;
    int seq = 0, dup = 0;
    OK(store_conversation_create(g.s, requester, &conv));
    OK(store_message_add(g.s, conv, requester, "c1", "打印机脱机，无法打印", &seq, &dup));
    OK(store_escalate(g.s, conv, requester, "打印机脱机", "硬件/打印机", impact, urgency, NULL, 0,
                      t));
}

/* Messages a replay gave (store_messages_since): the first 64 kept;
 * stop_after (0: never) makes the callback stop with 42. */
struct msgs {
    int n;
    int seq[64];
    char body[64][64];
    char role[64][16];
    int64_t sender[64];
    int stop_after; /* 0: never */
};

static inline int collect_msg(void *arg, const struct store_message *m)
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

/* ---- setup ------------------------------------------------------------ */

static inline int group_setup(void **state)
{
    (void)state;
    return pgs_setup(&g, STOREFIX_PREFIX);
}

static inline int group_teardown(void **state)
{
    (void)state;
    return pgs_teardown(&g);
}

#endif
