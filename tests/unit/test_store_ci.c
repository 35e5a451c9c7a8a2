/* Unit tests for the configuration-item store (shared/store/store_ci.c):
 * create and edit with their events, a name taken within its type, bad
 * fields (nothing written), relations both ways, references from tickets,
 * problems and knowledge with an item's open tickets listed first, retired
 * items taking no new references, and requesters refused, against a real
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

PGS_GROUP("kbci")

/* ---- helpers of this file ------------------------------------------------- */

static long long events_of(const char *code, const char *type)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM ci_events e JOIN cis c ON c.id = e.ci_id WHERE c.code = $1"
             " AND e.type = '%s'", type);
    return q_ll(sql, code);
}

static void mk_ticket(const char *text, char number[STORE_NUMBER_MAX])
{
    int64_t req = mk_requester(), conv = 0;
    int seq, dup;
    struct store_ticket t;
    OK(store_conversation_create(g.s, req, &conv));
    OK(store_message_add(g.s, conv, req, "c1", text, &seq, &dup));
    OK(store_escalate(g.s, conv, req, text, NULL, 2, 2, NULL, 0, &t));
    snprintf(number, STORE_NUMBER_MAX, "%s", t.number);
    store_ticket_fin(&t);
}

static void mk_ci(int64_t actor, const char *type, const char *name, struct store_ci *ci)
{
    struct store_ci_fields f = {.type = type, .name = name, .owner_team = "二线", .owner_id = -1};
    OK(store_ci_create(g.s, actor, &f, ci));
}

/* ---- tests ------------------------------------------------------------------ */

static void create_edit_and_names(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    struct store_ci ci, x;
    struct store_ci_fields f = {.type = "application", .name = "Coremail 邮件系统",
                                .description = "全单位邮件", .owner_id = a};
    OK(store_ci_create(g.s, a, &f, &ci));
    assert_int_equal(strncmp(ci.code, "CI-", 3), 0);
    assert_string_equal(ci.type, "application");
    assert_int_equal(ci.owner_id, a);
    assert_null(ci.owner_team);
    assert_int_equal(events_of(ci.code, "created"), 1);
    /* the same name in the same type is taken; in another type it is not */
    assert_int_equal(store_ci_create(g.s, a, &f, &x), STORE_ECONFLICT);
    struct store_ci_fields g2 = {.type = "service", .name = "Coremail 邮件系统", .owner_id = -1};
    OK(store_ci_create(g.s, a, &g2, &x));
    store_ci_fin(&x);
    /* edit: one event naming what changed; the same values write nothing */
    struct store_ci_fields e = {.name = "Coremail 邮件系统", .owner_team = "邮件组", .owner_id = 0};
    OK(store_ci_edit(g.s, ci.code, a, &e, &x));
    assert_string_equal(x.owner_team, "邮件组");
    assert_int_equal(x.owner_id, 0);
    store_ci_fin(&x);
    assert_int_equal(events_of(ci.code, "edited"), 1);
    assert_string_equal(q_str("SELECT detail->'fields'::text FROM ci_events e JOIN cis c"
                              " ON c.id = e.ci_id WHERE c.code = $1 AND e.type = 'edited'",
                              ci.code), "[\"owner_team\", \"owner\"]");
    OK(store_ci_edit(g.s, ci.code, a, &e, &x));
    store_ci_fin(&x);
    assert_int_equal(events_of(ci.code, "edited"), 1);
    store_ci_fin(&ci);
}

static void bad_fields_write_nothing(void **state)
{
    (void)state;
    int64_t a = mk_agent(), r = mk_requester();
    long long before = q_ll("SELECT count(*) FROM cis", NULL);
    struct store_ci x;
    struct store_ci_fields t1 = {.type = "spaceship", .name = "x", .owner_id = -1};
    struct store_ci_fields t2 = {.type = "server", .name = "   ", .owner_id = -1};
    struct store_ci_fields t3 = {.type = "server", .owner_id = -1};
    struct store_ci_fields t4 = {.type = "server", .name = "db01", .owner_id = r};
    assert_int_equal(store_ci_create(g.s, a, &t1, &x), STORE_EINVALID);
    assert_non_null(strstr(store_errmsg(g.s), "type must be"));
    assert_int_equal(store_ci_create(g.s, a, &t2, &x), STORE_EINVALID);
    assert_int_equal(store_ci_create(g.s, a, &t3, &x), STORE_EINVALID);
    assert_int_equal(store_ci_create(g.s, a, &t4, &x), STORE_EINVALID);
    assert_non_null(strstr(store_errmsg(g.s), "owner"));
    assert_int_equal(store_ci_create(g.s, r, &t4, &x), STORE_EFORBIDDEN);
    assert_int_equal(q_ll("SELECT count(*) FROM cis", NULL), before);
    assert_int_equal(store_ci_get(g.s, "CI-999999", a, &x), STORE_ENOTFOUND);
}

struct rels {
    int n;
    char line[8][96];
};

static int rel_cb(void *ud, const struct store_ci_relation *r)
{
    struct rels *x = ud;
    if (x->n < 8)
        snprintf(x->line[x->n], sizeof x->line[0], "%s %s %s", r->outgoing ? "out" : "in",
                 r->type, r->other);
    x->n++;
    return 0;
}

static void relations_both_ways(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    struct store_ci app, srv, db;
    mk_ci(a, "application", "OA 系统", &app);
    mk_ci(a, "server", "oa-app-01", &srv);
    mk_ci(a, "database", "oa-db", &db);
    OK(store_ci_relate(g.s, app.code, "runs_on", srv.code, a, 1));
    OK(store_ci_relate(g.s, app.code, "depends_on", db.code, a, 1));
    OK(store_ci_relate(g.s, app.code, "runs_on", srv.code, a, 1)); /* twice: nothing new */
    assert_int_equal(events_of(app.code, "related"), 2);
    assert_int_equal(events_of(srv.code, "related"), 1);
    struct rels x = {0};
    OK(store_ci_relations(g.s, app.code, a, rel_cb, &x));
    assert_int_equal(x.n, 2);
    char want[96];
    snprintf(want, sizeof want, "out depends_on %s", db.code);
    assert_string_equal(x.line[0], want);
    struct rels y = {0};
    OK(store_ci_relations(g.s, srv.code, a, rel_cb, &y));
    assert_int_equal(y.n, 1);
    snprintf(want, sizeof want, "in runs_on %s", app.code);
    assert_string_equal(y.line[0], want);
    assert_int_equal(store_ci_relate(g.s, app.code, "loves", srv.code, a, 1), STORE_EINVALID);
    assert_int_equal(store_ci_relate(g.s, app.code, "runs_on", app.code, a, 1), STORE_EINVALID);
    assert_int_equal(store_ci_relate(g.s, srv.code, "runs_on", app.code, a, 0), STORE_ENOTFOUND);
    OK(store_ci_relate(g.s, app.code, "runs_on", srv.code, a, 0));
    assert_int_equal(events_of(srv.code, "unrelated"), 1);
    store_ci_fin(&app);
    store_ci_fin(&srv);
    store_ci_fin(&db);
}

struct refs {
    int n;
    char line[8][96];
};

static int ref_cb(void *ud, const struct store_ci_ref *r)
{
    struct refs *x = ud;
    if (x->n < 8)
        snprintf(x->line[x->n], sizeof x->line[0], "%s %s %d", r->kind, r->ref, r->open);
    x->n++;
    return 0;
}

static int count_ci(void *ud, const struct store_ci *ci)
{
    (void)ci;
    (*(int *)ud)++;
    return 0;
}

static void references_open_tickets_first(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    struct store_ci mail;
    mk_ci(a, "service", "邮件服务", &mail);
    char t1[STORE_NUMBER_MAX], t2[STORE_NUMBER_MAX];
    mk_ticket("邮件发不出去", t1);
    mk_ticket("邮件很慢", t2);
    OK(store_ticket_take(g.s, t1, a));
    OK(store_ticket_resolve(g.s, t1, a, "重启了网关"));
    struct store_problem p;
    struct store_problem_fields pf = {.summary = "邮件网关"};
    OK(store_problem_create(g.s, a, &pf, &p));
    OK(store_ci_refer(g.s, mail.code, "ticket", t1, a, 1));
    OK(store_ci_refer(g.s, mail.code, "ticket", t2, a, 1));
    OK(store_ci_refer(g.s, mail.code, "problem", p.number, a, 1));
    OK(store_ci_refer(g.s, mail.code, "knowledge", "KE-0006", a, 1));
    OK(store_ci_refer(g.s, mail.code, "knowledge", "KE-0006", a, 1)); /* twice: one */
    assert_int_equal(events_of(mail.code, "referred"), 4);
    struct refs x = {0};
    OK(store_ci_refs(g.s, mail.code, a, ref_cb, &x));
    assert_int_equal(x.n, 4);
    char want[96];
    snprintf(want, sizeof want, "ticket %s 1", t2); /* the open ticket first */
    assert_string_equal(x.line[0], want);
    snprintf(want, sizeof want, "ticket %s 0", t1);
    assert_string_equal(x.line[1], want);
    snprintf(want, sizeof want, "problem %s 1", p.number);
    assert_string_equal(x.line[2], want);
    assert_string_equal(x.line[3], "knowledge KE-0006 0");
    struct store_ci got;
    OK(store_ci_get(g.s, mail.code, a, &got));
    assert_int_equal(got.open_tickets, 1);
    store_ci_fin(&got);
    int n = 0;
    OK(store_ci_of(g.s, "ticket", t2, a, count_ci, &n));
    assert_int_equal(n, 1);
    /* bad references, and a retired item takes no new ones */
    assert_int_equal(store_ci_refer(g.s, mail.code, "ticket", "INC-999999", a, 1),
                     STORE_ENOTFOUND);
    assert_int_equal(store_ci_refer(g.s, mail.code, "email", "x", a, 1), STORE_EINVALID);
    assert_int_equal(store_ci_refer(g.s, mail.code, "knowledge", "KB-0001", a, 0),
                     STORE_ENOTFOUND);
    OK(store_ci_retire(g.s, mail.code, a));
    OK(store_ci_retire(g.s, mail.code, a));
    assert_int_equal(events_of(mail.code, "retired"), 1);
    assert_int_equal(store_ci_refer(g.s, mail.code, "knowledge", "KB-0001", a, 1),
                     STORE_EINVALID);
    OK(store_ci_refer(g.s, mail.code, "ticket", t1, a, 0)); /* dropping still works */
    /* requesters see nothing */
    int64_t r = mk_requester();
    assert_int_equal(store_ci_get(g.s, mail.code, r, &got), STORE_EFORBIDDEN);
    assert_int_equal(store_ci_refs(g.s, mail.code, r, ref_cb, &x), STORE_EFORBIDDEN);
    assert_int_equal(store_ci_list(g.s, r, NULL, NULL, 1, 0, 10, count_ci, &n),
                     STORE_EFORBIDDEN);
    store_problem_fin(&p);
    store_ci_fin(&mail);
}

static void list_filters(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    struct store_ci x1, x2;
    mk_ci(a, "network", "核心交换机 A", &x1);
    mk_ci(a, "network", "核心交换机 B", &x2);
    OK(store_ci_retire(g.s, x2.code, a));
    int n = 0;
    OK(store_ci_list(g.s, a, "network", "交换机", 0, 0, 500, count_ci, &n));
    assert_int_equal(n, 1);
    n = 0;
    OK(store_ci_list(g.s, a, "network", "交换机", 1, 0, 500, count_ci, &n));
    assert_int_equal(n, 2);
    n = 0;
    OK(store_ci_list(g.s, a, "network", "交换机", 1, x1.id, 500, count_ci, &n));
    assert_int_equal(n, 1);
    assert_int_equal(store_ci_list(g.s, a, "boat", NULL, 0, 0, 10, count_ci, &n), STORE_EINVALID);
    assert_int_equal(store_ci_list(g.s, a, NULL, NULL, 0, 0, 501, count_ci, &n), STORE_EINVALID);
    store_ci_fin(&x1);
    store_ci_fin(&x2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_edit_and_names),
        cmocka_unit_test(bad_fields_write_nothing),
        cmocka_unit_test(relations_both_ways),
        cmocka_unit_test(references_open_tickets_first),
        cmocka_unit_test(list_filters),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
