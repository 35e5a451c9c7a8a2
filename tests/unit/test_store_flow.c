/* Unit tests for the ticket lifecycle in the store library (shared/store)
 * against a real PostgreSQL 15 server: the whole flow with its events and
 * the queue, the priority matrix and deadlines, two agents taking one
 * ticket, who may see and do what, self-service feedback, reopening without
 * the agent, closing without an answer, the schema's own guards and ticket
 * numbers past six digits. Migrations, people, sessions and messages are in
 * test_store.c; the shared group and helpers in storefix.h. Run from the
 * repository root (scripts/testrun.sh does).
 *
 * The tests share one database and run in order; each makes its own people.
 * Raw SQL through a second connection (g.pg) checks the rows and the
 * schema's own constraints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <libpq-fe.h>

#define STOREFIX_PREFIX "kbsflow"
#include "storefix.h"
#include "../../chatdesk/auth.h"
#include "store.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* whole_flow makes the database's first ticket: keep it before the
         * other tests that escalate */
        cmocka_unit_test(whole_flow),
        cmocka_unit_test(priority_matrix),
        cmocka_unit_test(escalate_priorities_and_sla),
        cmocka_unit_test(take_race),
        cmocka_unit_test(access_control),
        cmocka_unit_test(feedback_self_solved),
        cmocka_unit_test(reopen_goes_to_queue_without_agent),
        cmocka_unit_test(auto_close),
        cmocka_unit_test(schema_constraints),
        cmocka_unit_test(ticket_numbers_grow_past_six_digits),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
