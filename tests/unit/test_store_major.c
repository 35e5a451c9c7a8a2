/* Unit tests of store_major (migration 019_major.sql) against a real
 * PostgreSQL: who may declare (not a plain agent, not a requester), bad
 * text refused with nothing written, a declaration's row, event, people
 * told and mails due at once; declaring again changes nothing; links and
 * their refusals; the banner in the ticket (own and linked) until cleared;
 * the priority rule's sweep declares once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PGS_ONE_GROUP
#include "pgstore.h"

PGS_GROUP("kbmajor")

struct told {
    int n, leads, owners;
    int64_t last;
};

static int told_cb(void *arg, const struct store_major_told *t)
{
    struct told *w = arg;
    w->n++;
    w->leads += strcmp(t->why, "lead") == 0;
    w->owners += strcmp(t->why, "owner") == 0;
    w->last = t->person_id;
    return 0;
}

static char ids[32];
static const char *id(int64_t v)
{
    snprintf(ids, sizeof ids, "%lld", (long long)v);
    return ids;
}

static void declare_link_clear(void **state)
{
    (void)state;
    int64_t lead = mk_agent(), plain = mk_agent(), req = 0;
    pgs_exec(g.pg, "INSERT INTO person_roles (person_id, role) VALUES ($1::bigint, 'team_lead')",
             id(lead), NULL);
    pgs_exec(g.pg, "UPDATE people SET email = 'lead@example.cn' WHERE id = $1::bigint", id(lead),
             NULL);
    char a[STORE_NUMBER_MAX], b[STORE_NUMBER_MAX], c[STORE_NUMBER_MAX];
    pgs_ticket(&g, "全楼断网", a, &req, 0);
    pgs_ticket(&g, "我也断网", b, NULL, 0);
    pgs_ticket(&g, "打印机缺纸", c, NULL, 0);
    struct told w = {0};
    int declared = -1;

    /* refused: a plain agent, a requester, bad text; nothing written */
    assert_int_equal(store_major_declare(g.s, a, plain, "x", NULL, 0, told_cb, &w, &declared),
                     STORE_EFORBIDDEN);
    assert_int_equal(store_major_declare(g.s, a, req, "x", NULL, 0, told_cb, &w, &declared),
                     STORE_EFORBIDDEN);
    assert_int_equal(store_major_declare(g.s, a, lead, "  ", NULL, 0, told_cb, &w, &declared),
                     STORE_EINVALID);
    char big[520];
    memset(big, 'x', 501);
    big[501] = 0;
    assert_int_equal(store_major_declare(g.s, a, lead, big, NULL, 0, told_cb, &w, &declared),
                     STORE_EINVALID);
    assert_int_equal(store_major_declare(g.s, "INC-999999", lead, "x", NULL, 0, NULL, NULL, NULL),
                     STORE_ENOTFOUND);
    assert_int_equal(w.n, 0);
    assert_int_equal(q_ll("SELECT count(*) FROM major_incidents", NULL), 0);

    /* declared: the row, the event, the lead told, a mail due at once */
    OK(store_major_declare(g.s, a, lead, "全楼断网", "正在处理", 0, told_cb, &w, &declared));
    assert_int_equal(declared, 1);
    assert_true(w.leads >= 1);
    assert_int_equal(q_ll("SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id"
                          " WHERE t.number = $1 AND e.type = 'major_declared'", a), 1);
    assert_int_equal(q_ll("SELECT count(*) FROM mail_outbox WHERE kind = 'major_incident'"
                          " AND to_addr = 'lead@example.cn' AND next_attempt_at <= now()", NULL), 1);
    assert_int_equal(q_ll("SELECT count(*) FROM mail_outbox WHERE kind = 'major_incident'"
                          " AND person_id = $1::bigint", id(plain)), 0);
    /* again: nothing new */
    struct told w2 = {0};
    OK(store_major_declare(g.s, a, lead, "again", NULL, 0, told_cb, &w2, &declared));
    assert_int_equal(declared, 0);
    assert_int_equal(w2.n, 0);

    /* the banner: own ticket yes, c no */
    struct store_ticket t;
    OK(store_ticket_get(g.s, a, req, &t));
    assert_string_equal(t.major, a);
    assert_string_equal(t.major_message, "正在处理");
    store_ticket_fin(&t);
    OK(store_ticket_get(g.s, c, lead, &t));
    assert_string_equal(t.major, "");
    store_ticket_fin(&t);

    /* links: refused to a requester, itself, to a non-incident; then b */
    int added = -1;
    assert_int_equal(store_major_link(g.s, a, b, req, 0, &added), STORE_EFORBIDDEN);
    assert_int_equal(store_major_link(g.s, a, a, lead, 0, &added), STORE_EINVALID);
    assert_int_equal(store_major_link(g.s, c, b, lead, 0, &added), STORE_EINVALID);
    OK(store_major_link(g.s, a, b, plain, 0, &added));
    assert_int_equal(added, 1);
    OK(store_major_link(g.s, a, b, plain, 0, &added));
    assert_int_equal(added, 0);
    /* b is another incident's now: it cannot be declared */
    assert_int_equal(store_major_declare(g.s, b, lead, "x", NULL, 0, NULL, NULL, NULL),
                     STORE_EINVALID);
    OK(store_ticket_get(g.s, b, lead, &t));
    assert_string_equal(t.major, a);
    store_ticket_fin(&t);
    struct store_major m;
    OK(store_major_get(g.s, a, plain, &m));
    assert_int_equal(m.nlinked, 1);
    assert_string_equal(m.linked[0].number, b);
    assert_true(m.declared_at > 0 && m.cleared_at == 0);
    store_major_fin(&m);
    assert_int_equal(store_major_get(g.s, a, req, &m), STORE_EFORBIDDEN);
    store_major_fin(&m);

    /* clearing: not by a plain agent; then the banners go */
    assert_int_equal(store_major_clear(g.s, a, plain, 0, NULL, NULL), STORE_EFORBIDDEN);
    OK(store_major_clear(g.s, a, lead, 0, NULL, NULL));
    assert_int_equal(store_major_clear(g.s, a, lead, 0, NULL, NULL), STORE_EINVALID);
    OK(store_ticket_get(g.s, b, lead, &t));
    assert_string_equal(t.major, "");
    store_ticket_fin(&t);
}

static int swept(void *arg, const char *number)
{
    (void)number;
    (*(int *)arg)++;
    return 0;
}

static int swept_told(void *arg, const struct store_major_told *t)
{
    (void)arg;
    assert_int_equal(t->by_rule, 1);
    return 0;
}

static void priority_rule_sweep(void **state)
{
    (void)state;
    char a[STORE_NUMBER_MAX];
    pgs_ticket(&g, "键盘松了", a, NULL, 0); /* priority 3 */
    int n = 0;
    /* no rule: nothing */
    OK(store_major_sweep(g.s, 0, 10, swept_told, swept, &n));
    assert_int_equal(n, 0);
    pgs_exec(g.pg, "UPDATE major_rule SET priority = 3", NULL, NULL);
    OK(store_major_sweep(g.s, 0, 10, swept_told, swept, &n));
    assert_true(n >= 1);
    assert_int_equal(q_ll("SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id"
                          " WHERE t.number = $1 AND e.type = 'major_declared'"
                          " AND e.actor_id IS NULL", a), 1);
    /* once: a second run finds nothing */
    int again = 0;
    OK(store_major_sweep(g.s, 0, 10, swept_told, swept, &again));
    assert_int_equal(again, 0);
    pgs_exec(g.pg, "UPDATE major_rule SET priority = NULL", NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(declare_link_clear),
        cmocka_unit_test(priority_rule_sweep),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
