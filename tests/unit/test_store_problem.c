/* Unit tests for the problem store (shared/store/store_problem.c): its
 * transition table, written out again here on its own, every step tried
 * from the states the table refuses (nothing written), edits and their
 * event, linking and moving incidents, the open incidents told on
 * "resolved", the known error drafted into the knowledge lifecycle and
 * linked both ways, bad input, and requesters refused, against a real
 * PostgreSQL 15 server started with scripts/pg.sh in a fresh temporary
 * directory, with shared/store/migrations applied; the teardown destroys
 * it. Run from the repository root (scripts/testrun.sh does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "../../chatdesk/auth.h"
#include "kb_doc.h"
#include "store.h"
#define PGS_ONE_GROUP
#include "pgstore.h"

PGS_GROUP("kbprob")

/* ---- helpers of this file ------------------------------------------------- */

static long long events_of(const char *number)
{
    return q_ll("SELECT count(*) FROM problem_events e JOIN problems p ON p.id = e.problem_id"
                " WHERE p.number = $1", number);
}

#define mk_ticket(text, number, agent) pgs_ticket(&g, text, number, NULL, agent)

static void mk_problem(int64_t agent, const char *summary, struct store_problem *p)
{
    struct store_problem_fields f = {.summary = summary, .description = "多名用户报告",
                                     .service = "邮件", .impact = 2};
    OK(store_problem_create(g.s, agent, &f, p));
}

/* ---- tests ------------------------------------------------------------------ */

static void transition_table(void **state)
{
    (void)state;
    static const char *const st[] = {"new", "investigating", "known_error", "resolved",
                                     "closed"};
    static const char *const ev[] = {"investigating", "known_error", "resolved", "closed",
                                     "reopened"};
    /* the table, written out again: [from][event] -> to (NULL: refused) */
    static const char *const want[5][5] = {
        {"investigating", "known_error", "resolved", NULL, NULL},
        {NULL, "known_error", "resolved", NULL, NULL},
        {NULL, NULL, "resolved", NULL, NULL},
        {NULL, NULL, NULL, "closed", "investigating"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            const char *to = store_problem_next(st[i], ev[j]);
            if (!want[i][j])
                assert_null(to);
            else
                assert_string_equal(to, want[i][j]);
        }
    assert_string_equal(store_problem_next(NULL, "created"), "new");
    assert_null(store_problem_next(NULL, "resolved"));
}

static void lifecycle_and_refusals(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    struct store_problem p, q;
    mk_problem(a, "Outlook 频繁断开连接", &p);
    assert_string_equal(p.status, "new");
    assert_int_equal(strncmp(p.number, "PRB-", 4), 0);
    assert_int_equal(p.impact, 2);
    assert_string_equal(p.service, "邮件");
    assert_int_equal(events_of(p.number), 1);
    /* refused steps write nothing */
    assert_int_equal(store_problem_step(g.s, p.number, a, "closed", NULL, &q, NULL, NULL),
                     STORE_EINVALID);
    assert_int_equal(store_problem_step(g.s, p.number, a, "fly", NULL, &q, NULL, NULL),
                     STORE_EINVALID);
    assert_int_equal(events_of(p.number), 1);
    OK(store_problem_step(g.s, p.number, a, "investigating", "查看日志", &q, NULL, NULL));
    assert_string_equal(q.status, "investigating");
    store_problem_fin(&q);
    OK(store_problem_step(g.s, p.number, a, "resolved", NULL, &q, NULL, NULL));
    assert_true(q.resolved_at > 0);
    store_problem_fin(&q);
    OK(store_problem_step(g.s, p.number, a, "reopened", NULL, &q, NULL, NULL));
    assert_string_equal(q.status, "investigating");
    assert_int_equal(q.resolved_at, 0);
    store_problem_fin(&q);
    assert_int_equal(events_of(p.number), 4);
    assert_string_equal(q_str("SELECT detail->>'comment' FROM problem_events e JOIN problems p"
                              " ON p.id = e.problem_id WHERE p.number = $1 AND type ="
                              " 'investigating'", p.number), "查看日志");
    /* a requester may do nothing, and a missing problem is not found */
    int64_t r = mk_requester();
    assert_int_equal(store_problem_get(g.s, p.number, r, &q), STORE_EFORBIDDEN);
    struct store_problem_fields f = {.summary = "x"};
    assert_int_equal(store_problem_create(g.s, r, &f, &q), STORE_EFORBIDDEN);
    assert_int_equal(store_problem_get(g.s, "PRB-999999", a, &q), STORE_ENOTFOUND);
    store_problem_fin(&p);
}

static void bad_fields(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    long long before = q_ll("SELECT count(*) FROM problems", NULL);
    struct store_problem p;
    struct store_problem_fields none = {0}, blank = {.summary = "  \n"}, imp = {.summary = "x",
                                                                                .impact = 4};
    assert_int_equal(store_problem_create(g.s, a, &none, &p), STORE_EINVALID);
    assert_int_equal(store_problem_create(g.s, a, &blank, &p), STORE_EINVALID);
    assert_non_null(strstr(store_errmsg(g.s), "summary"));
    assert_int_equal(store_problem_create(g.s, a, &imp, &p), STORE_EINVALID);
    assert_non_null(strstr(store_errmsg(g.s), "impact"));
    char *big = malloc(STORE_PROBLEM_TEXT_MAX + 2);
    memset(big, 'x', STORE_PROBLEM_TEXT_MAX + 1);
    big[STORE_PROBLEM_TEXT_MAX + 1] = '\0';
    struct store_problem_fields longdesc = {.summary = "x", .description = big};
    assert_int_equal(store_problem_create(g.s, a, &longdesc, &p), STORE_EINVALID);
    free(big);
    assert_int_equal(q_ll("SELECT count(*) FROM problems", NULL), before);
}

static void edit_writes_one_event_naming_fields(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    struct store_problem p, q;
    mk_problem(a, "VPN 809", &p);
    struct store_problem_fields same = {.summary = "VPN 809"};
    OK(store_problem_edit(g.s, p.number, a, &same, NULL, &q));
    store_problem_fin(&q);
    assert_int_equal(events_of(p.number), 1); /* nothing different: nothing written */
    struct store_problem_fields f = {.root_cause = "防火墙丢弃 UDP 500", .impact = 1,
                                     .service = ""};
    OK(store_problem_edit(g.s, p.number, a, &f, NULL, &q));
    assert_string_equal(q.root_cause, "防火墙丢弃 UDP 500");
    assert_int_equal(q.impact, 1);
    assert_null(q.service);
    assert_string_equal(q.summary, "VPN 809");
    assert_int_equal(events_of(p.number), 2);
    assert_string_equal(q_str("SELECT detail->'fields'::text FROM problem_events e JOIN problems"
                              " p ON p.id = e.problem_id WHERE p.number = $1 AND type = 'edited'",
                              p.number), "[\"service\", \"root_cause\", \"impact\"]");
    store_problem_fin(&q);
    store_problem_fin(&p);
}

/* An edit that started from values someone else has changed since is
 * refused whole; the fields it does not change are not checked. */
static void edit_refuses_a_field_changed_meanwhile(void **state)
{
    (void)state;
    int64_t a = mk_agent(), b = mk_agent();
    struct store_problem p, q;
    mk_problem(a, "打印队列卡住", &p);
    /* b saves a root cause first, from the same empty starting point */
    struct store_problem_fields theirs = {.root_cause = "驱动版本不兼容"};
    struct store_problem_fields start = {.root_cause = "", .workaround = "", .service = ""};
    OK(store_problem_edit(g.s, p.number, b, &theirs, &start, &q));
    store_problem_fin(&q);
    /* a's save of the root cause and a workaround, from the old values */
    struct store_problem_fields mine = {.root_cause = "后台服务崩溃", .workaround = "重启 spooler"};
    memset(&q, 0, sizeof q);
    assert_int_equal(store_problem_edit(g.s, p.number, a, &mine, &start, &q), STORE_ECONFLICT);
    assert_non_null(strstr(store_errmsg(g.s), "[\"root_cause\"]"));
    store_problem_fin(&q);
    assert_string_equal(q_str("SELECT root_cause || '|' || workaround FROM problems"
                              " WHERE number = $1", p.number), "驱动版本不兼容|");
    assert_int_equal(events_of(p.number), 2); /* created, b's edit */
    /* the workaround alone: its starting value still holds */
    struct store_problem_fields wa = {.workaround = "重启 spooler"};
    OK(store_problem_edit(g.s, p.number, a, &wa, &start, &q));
    assert_string_equal(q.workaround, "重启 spooler");
    store_problem_fin(&q);
    /* from the values now, the root cause is replaced on purpose; impact too */
    struct store_problem_fields now = {.root_cause = "驱动版本不兼容", .impact = 2};
    struct store_problem_fields again = {.root_cause = "后台服务崩溃", .impact = 1};
    OK(store_problem_edit(g.s, p.number, a, &again, &now, &q));
    assert_string_equal(q.root_cause, "后台服务崩溃");
    store_problem_fin(&q);
    struct store_problem_fields stale_impact = {.impact = 3};
    struct store_problem_fields was2 = {.impact = 2};
    assert_int_equal(store_problem_edit(g.s, p.number, a, &stale_impact, &was2, &q),
                     STORE_ECONFLICT);
    store_problem_fin(&q);
    store_problem_fin(&p);
}

struct told {
    int n;
    char numbers[8][STORE_NUMBER_MAX];
    int64_t agents[8];
};

static int tell(void *ud, const struct store_problem_incident *t)
{
    struct told *x = ud;
    if (x->n < 8) {
        snprintf(x->numbers[x->n], STORE_NUMBER_MAX, "%s", t->number);
        x->agents[x->n] = t->agent_id;
    }
    x->n++;
    return 0;
}

static void incidents_link_move_and_resolve(void **state)
{
    (void)state;
    int64_t a = mk_agent(), b = mk_agent();
    struct store_problem p, p2, q;
    mk_problem(a, "邮件网关延迟", &p);
    mk_problem(a, "另一个问题", &p2);
    char t1[STORE_NUMBER_MAX], t2[STORE_NUMBER_MAX], t3[STORE_NUMBER_MAX];
    mk_ticket("邮件发不出去", t1, b);
    mk_ticket("邮件延迟很久才收到", t2, 0);
    mk_ticket("发往163的邮件被退回", t3, a);
    OK(store_problem_link(g.s, p.number, t1, a, 1));
    OK(store_problem_link(g.s, p.number, t2, a, 1));
    OK(store_problem_link(g.s, p2.number, t3, a, 1));
    long long ev = events_of(p.number);
    OK(store_problem_link(g.s, p.number, t1, a, 1)); /* again: nothing written */
    assert_int_equal(events_of(p.number), ev);
    /* moving t3 from p2 to p: an unlinked event on p2 */
    OK(store_problem_link(g.s, p.number, t3, a, 1));
    assert_string_equal(q_str("SELECT detail->>'moved_to' FROM problem_events e JOIN problems p"
                              " ON p.id = e.problem_id WHERE p.number = $1 AND type = 'unlinked'",
                              p2.number), p.number);
    OK(store_problem_get(g.s, p.number, b, &q));
    assert_int_equal(q.incidents, 3);
    assert_int_equal(q.open_incidents, 3);
    store_problem_fin(&q);
    /* unlinking one not linked is not found; a missing ticket too */
    assert_int_equal(store_problem_link(g.s, p2.number, t1, a, 0), STORE_ENOTFOUND);
    assert_int_equal(store_problem_link(g.s, p.number, "INC-999999", a, 1), STORE_ENOTFOUND);
    /* resolve t1's ticket first: resolving the problem tells only the open ones */
    OK(store_ticket_resolve(g.s, t1, b, "重启网关"));
    struct told x = {0};
    OK(store_problem_step(g.s, p.number, a, "resolved", "补丁已上线", &q, tell, &x));
    assert_int_equal(x.n, 2);
    assert_string_equal(x.numbers[0], t2);
    assert_int_equal(x.agents[0], 0);
    assert_string_equal(x.numbers[1], t3);
    assert_int_equal(x.agents[1], a);
    store_problem_fin(&q);
    /* closed: no more links */
    OK(store_problem_step(g.s, p.number, a, "closed", NULL, &q, NULL, NULL));
    store_problem_fin(&q);
    char t4[STORE_NUMBER_MAX];
    mk_ticket("又一个", t4, 0);
    assert_int_equal(store_problem_link(g.s, p.number, t4, a, 1), STORE_EINVALID);
    store_problem_fin(&p);
    store_problem_fin(&p2);
}

static void known_error_draft_linked_both_ways(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    struct store_problem p, q;
    mk_problem(a, "Coremail 外发队列积压", &p);
    struct store_problem_fields f = {.root_cause = "反垃圾网关限速", .workaround = "改走备用网关"};
    OK(store_problem_edit(g.s, p.number, a, &f, NULL, &q));
    store_problem_fin(&q);
    char t1[STORE_NUMBER_MAX], t2[STORE_NUMBER_MAX], t3[STORE_NUMBER_MAX];
    mk_ticket("发163邮件延迟", t1, 0);
    mk_ticket("外发邮件几小时才到", t2, 0);
    mk_ticket("邮件一直在发件箱", t3, 0);
    OK(store_problem_link(g.s, p.number, t1, a, 1));
    OK(store_problem_link(g.s, p.number, t2, a, 1));
    OK(store_problem_link(g.s, p.number, t3, a, 1));
    char doc[STORE_DOCID_MAX];
    int existed = -1;
    OK(store_problem_draft_known_error(g.s, p.number, a, doc, &existed));
    assert_int_equal(existed, 0);
    assert_int_equal(strncmp(doc, "KE-D", 4), 0);
    OK(store_problem_get(g.s, p.number, a, &q));
    assert_string_equal(q.status, "known_error");
    assert_string_equal(q.known_error_doc, doc);
    store_problem_fin(&q);
    assert_string_equal(q_str("SELECT p.number FROM knowledge_items k JOIN problems p"
                              " ON p.id = k.problem_id WHERE k.doc_id = $1", doc), p.number);
    /* a draft in the knowledge lifecycle, with the problem's fields */
    struct store_knowledge k;
    OK(store_knowledge_get(g.s, doc, a, 0, &k));
    assert_string_equal(k.state, "draft");
    assert_string_equal(k.kind, "known_error");
    assert_string_equal(k.doc->title, "Coremail 外发队列积压");
    assert_string_equal(k.doc->cause, "反垃圾网关限速");
    assert_string_equal(k.doc->workaround, "改走备用网关");
    assert_string_equal(k.doc->visibility, "internal");
    assert_non_null(strstr(k.doc->symptom, t1));
    assert_non_null(strstr(k.doc->symptom, "外发邮件几小时才到"));
    store_knowledge_fin(&k);
    /* it can go to review like any draft */
    OK(store_knowledge_submit(g.s, doc, a, NULL));
    /* again: the same draft, nothing new */
    long long items = q_ll("SELECT count(*) FROM knowledge_items", NULL);
    char doc2[STORE_DOCID_MAX];
    OK(store_problem_draft_known_error(g.s, p.number, a, doc2, &existed));
    assert_int_equal(existed, 1);
    assert_string_equal(doc2, doc);
    assert_int_equal(q_ll("SELECT count(*) FROM knowledge_items", NULL), items);
    store_problem_fin(&p);
}

static int count_list(void *ud, const struct store_problem *p)
{
    (void)p;
    (*(int *)ud)++;
    return 0;
}

static void list_and_bad_status(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    struct store_problem p;
    mk_problem(a, "列表用", &p);
    int n = 0;
    OK(store_problem_list(g.s, a, "open", 0, 200, count_list, &n));
    assert_true(n >= 1);
    int m = 0;
    OK(store_problem_list(g.s, a, "open", p.id, 200, count_list, &m));
    assert_int_equal(m, n - 1); /* keyset: below this id only */
    assert_int_equal(store_problem_list(g.s, a, "bogus", 0, 10, count_list, &n), STORE_EINVALID);
    assert_int_equal(store_problem_list(g.s, a, NULL, 0, 0, count_list, &n), STORE_EINVALID);
    assert_int_equal(store_problem_list(g.s, mk_requester(), NULL, 0, 10, count_list, &n),
                     STORE_EFORBIDDEN);
    store_problem_fin(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transition_table),
        cmocka_unit_test(lifecycle_and_refusals),
        cmocka_unit_test(bad_fields),
        cmocka_unit_test(edit_writes_one_event_naming_fields),
        cmocka_unit_test(edit_refuses_a_field_changed_meanwhile),
        cmocka_unit_test(incidents_link_move_and_resolve),
        cmocka_unit_test(known_error_draft_linked_both_ways),
        cmocka_unit_test(list_and_bad_status),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
