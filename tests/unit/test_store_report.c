/* Unit tests for the key indicators (shared/store/store_report.c) on a
 * seeded data set whose times are set by hand around the edges of a month
 * in Asia/Shanghai (a ticket resolved at 00:30 local on the 1st, one
 * created at 23:30 on the last day, one just after), with a reopened
 * ticket, ratings, linked knowledge, self-solved chats with and without a
 * recontact, and problems; every figure is compared with the value counted
 * by hand below, against a real
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

PGS_GROUP("kbreport")

/* ---- helpers of this file ------------------------------------------------- */

/* SQL as the superuser with the event tables' append-only guards off. */
static void sql(const char *q)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "BEGIN; ALTER TABLE ticket_events DISABLE TRIGGER ticket_events_append_only;"
             " ALTER TABLE problem_events DISABLE TRIGGER problem_events_append_only; %s;"
             " ALTER TABLE ticket_events ENABLE TRIGGER ticket_events_append_only;"
             " ALTER TABLE problem_events ENABLE TRIGGER problem_events_append_only; COMMIT",
             q);
    PGresult *r = PQexec(g.pg, buf);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("sql: %s: %s", q, PQresultErrorMessage(r));
    PQclear(r);
}

/* Sets every time of ticket number's row and events: created at c, each
 * event of type ty at t (local Shanghai times, "2026-11-02 10:00"). */
static void ticket_times(const char *number, const char *created)
{
    char q[1024];
    snprintf(q, sizeof q,
             "UPDATE tickets SET created_at = '%s+08', response_due = '%s+08',"
             " resolution_due = '%s+08' WHERE number = '%s';"
             " UPDATE conversations SET created_at = '%s+08' WHERE id = (SELECT conversation_id"
             " FROM tickets WHERE number = '%s');"
             " UPDATE ticket_events SET at = '%s+08' WHERE ticket_id = (SELECT id FROM tickets"
             " WHERE number = '%s')",
             created, created, created, number, created, number, created, number);
    sql(q);
}

static void event_time(const char *number, const char *type, int nth, const char *at)
{
    char q[512];
    snprintf(q, sizeof q,
             "UPDATE ticket_events SET at = '%s+08' WHERE id = (SELECT e.id FROM ticket_events e"
             " JOIN tickets t ON t.id = e.ticket_id WHERE t.number = '%s' AND e.type = '%s'"
             " ORDER BY e.id OFFSET %d LIMIT 1)",
             at, number, type, nth);
    sql(q);
}

struct tk {
    char number[STORE_NUMBER_MAX];
    int64_t requester;
};

static void ticket(struct tk *t, int64_t agent, int replies, int resolve)
{
    pgs_ticket(&g, "打印机脱机", t->number, &t->requester, agent);
    int seq, dup;
    for (int i = 0; agent && i < replies; i++) {
        char cid[16];
        snprintf(cid, sizeof cid, "r%d", i);
        OK(store_ticket_reply(g.s, t->number, agent, cid, "请重启打印机", &seq, &dup, NULL));
    }
    if (agent && resolve)
        OK(store_ticket_resolve(g.s, t->number, agent, "已解决"));
}

/* A chat of requester that ends self-solved by doc at local time at. */
static int64_t solved_chat(int64_t requester, const char *doc, const char *at)
{
    int64_t conv = 0;
    int seq, dup, ended = 0;
    OK(store_conversation_create(g.s, requester, &conv));
    OK(store_message_add(g.s, conv, requester, "m1", "打印机脱机", &seq, &dup));
    const char *ids[] = {doc}, *kinds[] = {"article"}, *titles[] = {"打印机脱机的处理"};
    OK(store_suggestions_add(g.s, conv, 1, ids, kinds, titles));
    OK(store_feedback(g.s, conv, requester, doc, 1, &ended));
    assert_int_equal(ended, 1);
    char q[1024];
    snprintf(q, sizeof q,
             "UPDATE conversations SET created_at = '%s+08' WHERE id = %lld;"
             " UPDATE deflections SET at = '%s+08' WHERE conversation_id = %lld",
             at, (long long)conv, at, (long long)conv);
    sql(q);
    return conv;
}

/* ---- the test -------------------------------------------------------------- */

static void november_by_hand(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    struct tk t1, t2, t3, t4, t5, t6, t7;
    ticket(&t1, a, 1, 1); /* FCR */
    ticket(&t2, a, 2, 1); /* two replies: not first contact */
    ticket(&t3, a, 1, 1); /* reopened, resolved again */
    OK(store_ticket_confirm(g.s, t3.number, t3.requester, 0));
    OK(store_ticket_take(g.s, t3.number, a));
    OK(store_ticket_resolve(g.s, t3.number, a, "再次解决"));
    ticket(&t4, 0, 0, 0); /* still open */
    ticket(&t5, a, 1, 1); /* created in October, resolved at 00:30 on 1 November */
    ticket(&t6, 0, 0, 0); /* created 23:30 on 30 November */
    ticket(&t7, 0, 0, 0); /* created 00:10 on 1 December: outside */
    ticket_times(t1.number, "2026-11-02 10:00");
    event_time(t1.number, "resolved", 0, "2026-11-03 09:00");
    ticket_times(t2.number, "2026-11-05 10:00");
    event_time(t2.number, "resolved", 0, "2026-11-06 09:00");
    ticket_times(t3.number, "2026-11-10 10:00");
    event_time(t3.number, "resolved", 0, "2026-11-11 09:00");
    event_time(t3.number, "reopened", 0, "2026-11-12 09:00");
    event_time(t3.number, "resolved", 1, "2026-11-13 09:00");
    ticket_times(t4.number, "2026-11-20 10:00");
    ticket_times(t5.number, "2026-10-30 10:00");
    event_time(t5.number, "resolved", 0, "2026-11-01 00:30");
    ticket_times(t6.number, "2026-11-30 23:30");
    ticket_times(t7.number, "2026-12-01 00:10");
    /* knowledge linked to t1 and t4 */
    int added;
    OK(store_ticket_link(g.s, t1.number, "KB-0022", "used", a, &added));
    OK(store_ticket_link(g.s, t4.number, "KB-0022", "used", a, &added));
    /* closed and rated: t1 (5, closed 4 Nov), t2 (3, closed 7 Nov) */
    OK(store_ticket_confirm(g.s, t1.number, t1.requester, 1));
    OK(store_ticket_rate(g.s, t1.number, t1.requester, 5, "很快"));
    OK(store_ticket_confirm(g.s, t2.number, t2.requester, 1));
    OK(store_ticket_rate(g.s, t2.number, t2.requester, 3, NULL));
    char q[2048];
    snprintf(q, sizeof q,
             "UPDATE tickets SET closed_at = '2026-11-04 10:00+08' WHERE number = '%s';"
             " UPDATE tickets SET closed_at = '2026-11-07 10:00+08' WHERE number = '%s';"
             " UPDATE ratings SET at = '2026-11-04 10:05+08' WHERE ticket_id IN (SELECT id FROM"
             " tickets WHERE number IN ('%s', '%s'));"
             " UPDATE ticket_events SET at = '2026-11-04 10:00+08' WHERE type IN ('confirmed',"
             " 'closed', 'rated') AND ticket_id IN (SELECT id FROM tickets WHERE number IN"
             " ('%s', '%s'))",
             t1.number, t2.number, t1.number, t2.number, t1.number, t2.number);
    sql(q);
    /* chats: r1 self-solved on 3 Nov, back on 5 Nov shown the same article;
       r2 self-solved on 4 Nov and not back */
    int64_t r1 = mk_requester(), r2 = mk_requester();
    solved_chat(r1, "KB-0022", "2026-11-03 12:00");
    int64_t again = 0;
    int seq, dup;
    OK(store_conversation_create(g.s, r1, &again));
    OK(store_message_add(g.s, again, r1, "m1", "打印机又脱机了", &seq, &dup));
    const char *ids[] = {"KB-0022"}, *kinds[] = {"article"}, *titles[] = {"打印机脱机的处理"};
    OK(store_suggestions_add(g.s, again, 1, ids, kinds, titles));
    snprintf(q, sizeof q, "UPDATE conversations SET created_at = '2026-11-05 12:00+08'"
                          " WHERE id = %lld", (long long)again);
    sql(q);
    solved_chat(r2, "KB-0031", "2026-11-04 12:00");
    /* problems: p1 opened 2 Nov, resolved 3 Nov 12:00 (26 h); p2 opened 10 Nov,
       known error; p3 opened in October, resolved 5 Nov 00:00 (the 1st at 00:00 + ...) */
    struct store_problem p1, p2, p3, x;
    struct store_problem_fields f1 = {.summary = "p1"}, f2 = {.summary = "p2"}, f3 = {.summary = "p3"};
    OK(store_problem_create(g.s, a, &f1, &p1));
    OK(store_problem_create(g.s, a, &f2, &p2));
    OK(store_problem_create(g.s, a, &f3, &p3));
    OK(store_problem_step(g.s, p1.number, a, "resolved", NULL, &x, NULL, NULL));
    store_problem_fin(&x);
    OK(store_problem_step(g.s, p2.number, a, "known_error", NULL, &x, NULL, NULL));
    store_problem_fin(&x);
    OK(store_problem_step(g.s, p3.number, a, "resolved", NULL, &x, NULL, NULL));
    store_problem_fin(&x);
    snprintf(q, sizeof q,
             "UPDATE problems SET created_at = '2026-11-02 10:00+08' WHERE number = '%s';"
             " UPDATE problem_events SET at = '2026-11-03 12:00+08' WHERE type = 'resolved'"
             " AND problem_id = (SELECT id FROM problems WHERE number = '%s');"
             " UPDATE problems SET created_at = '2026-11-10 10:00+08' WHERE number = '%s';"
             " UPDATE problems SET created_at = '2026-10-31 12:00+08' WHERE number = '%s';"
             " UPDATE problem_events SET at = '2026-11-02 12:00+08' WHERE type = 'resolved'"
             " AND problem_id = (SELECT id FROM problems WHERE number = '%s')",
             p1.number, p1.number, p2.number, p3.number, p3.number);
    sql(q);

    struct store_report_period per = {.from = "2026-11-01", .to = "2026-11-30", .tz = "Asia/Shanghai", .recontact_days = 7};
    struct store_indicators o;
    OK(store_report_indicators(g.s, a, &per, &o));
    /* desk: received t1 t2 t3 t4 t6; resolved t1 t2 t3 t5; of the received
       resolved t1 t2 t3; first contact t1 t5 */
    assert_int_equal(q_ll("SELECT count(*) FROM tickets", NULL), 7);
    assert_int_equal(o.received, 5);
    assert_int_equal(o.resolved, 4);
    assert_int_equal(o.received_resolved, 3);
    assert_int_equal(o.first_contact, 2);
    assert_true(o.resolution_rate > 0.5999 && o.resolution_rate < 0.6001);
    assert_true(o.fcr_rate > 0.4999 && o.fcr_rate < 0.5001);
    /* chats started in November with a message: the five tickets' and three */
    assert_int_equal(o.conversations, 8);
    assert_int_equal(o.self_solved, 2);
    assert_int_equal(o.deflected, 1); /* r1 came back about the same article */
    assert_true(o.self_service_rate > 0.2499 && o.self_service_rate < 0.2501);
    /* satisfaction: two ratings, one good; two closed, both rated */
    assert_int_equal(o.ratings, 2);
    assert_int_equal(o.ratings_good, 1);
    assert_true(o.csat > 0.4999 && o.csat < 0.5001);
    assert_int_equal(o.closed, 2);
    assert_true(o.rating_response_rate > 0.9999);
    /* knowledge: linked to t1 and t4 of the five received */
    assert_int_equal(o.tickets_with_knowledge, 2);
    assert_true(o.utilisation > 0.3999 && o.utilisation < 0.4001);
    /* problems: opened p1 p2; resolved p1 p3; of the opened resolved p1; p2 a
       known error; time to resolve p1 26 h, p3 (31 Oct 12:00 to 2 Nov 12:00) 48 h */
    assert_int_equal(o.p_opened, 2);
    assert_int_equal(o.p_resolved, 2);
    assert_int_equal(o.p_opened_resolved, 1);
    assert_int_equal(o.p_open_known_errors, 1);
    assert_true(o.p_mttr_hours > 36.99 && o.p_mttr_hours < 37.01);
    /* the same data in UTC moves the edges: t5's resolution (31 Oct 16:30
       UTC) leaves the month, t6 (30 Nov 15:30 UTC) stays, t7 (30 Nov 16:10 UTC) enters */
    struct store_report_period utc = {.from = "2026-11-01", .to = "2026-11-30", .tz = "UTC", .recontact_days = 7};
    OK(store_report_indicators(g.s, a, &utc, &o));
    assert_int_equal(o.resolved, 3);
    assert_int_equal(o.received, 6);
    /* a requester may not; bad periods are refused */
    int64_t r = mk_requester();
    assert_int_equal(store_report_indicators(g.s, r, &per, &o), STORE_EFORBIDDEN);
    struct store_report_period bad1 = {.from = "2026-11-30", .to = "2026-11-01", .tz = "Asia/Shanghai", .recontact_days = 7};
    struct store_report_period bad2 = {.from = "2026-13-01", .to = "2026-11-01", .tz = "Asia/Shanghai", .recontact_days = 7};
    struct store_report_period bad3 = {.from = "2026-11-01", .to = "2026-11-30", .tz = "Mars/Olympus", .recontact_days = 7};
    struct store_report_period bad4 = {.from = "2026-11-01", .to = "2026-11-30", .tz = "Asia/Shanghai", .recontact_days = 0};
    assert_int_equal(store_report_indicators(g.s, a, &bad1, &o), STORE_EINVALID);
    assert_int_equal(store_report_indicators(g.s, a, &bad2, &o), STORE_EINVALID);
    assert_int_equal(store_report_indicators(g.s, a, &bad3, &o), STORE_EINVALID);
    assert_int_equal(store_report_indicators(g.s, a, &bad4, &o), STORE_EINVALID);
    store_problem_fin(&p1);
    store_problem_fin(&p2);
    store_problem_fin(&p3);
}

/* ---- timeliness ------------------------------------------------------------ */

/* Sets ticket number's clock by hand (local Shanghai times): created and
 * started at c, response and resolution deadlines rd / sd, first agent
 * reply fr and resolution rs (NULL: none). */
static void sla_times(const char *number, const char *c, const char *rd, const char *sd,
                      const char *fr, const char *rs)
{
    char q[2048], frv[64], rsv[64];
    snprintf(frv, sizeof frv, fr ? "'%s+08'" : "NULL", fr);
    snprintf(rsv, sizeof rsv, rs ? "'%s+08'" : "NULL", rs);
    ticket_times(number, c);
    snprintf(q, sizeof q,
             "UPDATE tickets SET response_due = '%s+08', resolution_due = '%s+08',"
             " first_response_at = %s, resolved_at = %s WHERE number = '%s';"
             " UPDATE ticket_sla SET started_at = '%s+08', response_due = '%s+08',"
             " response_warn_at = '%s+08', resolve_due = '%s+08', resolve_warn_at = '%s+08'"
             " WHERE ticket_id = (SELECT id FROM tickets WHERE number = '%s')",
             rd, sd, frv, rsv, number, c, rd, rd, sd, sd, number);
    sql(q);
    if (rs)
        event_time(number, "resolved", 0, rs);
}

struct counted {
    int n;
    double hours[8];
    char ids[8][STORE_NUMBER_MAX];
};

static int count_item(void *ud, const struct store_report_item *it)
{
    struct counted *c = ud;
    if (c->n < 8) {
        c->hours[c->n] = it->hours;
        snprintf(c->ids[c->n], sizeof c->ids[0], "%s", it->id);
    }
    c->n++;
    return 0;
}

static int items_of(const struct store_report_period *p, int64_t viewer, const char *name,
                    struct counted *c)
{
    memset(c, 0, sizeof *c);
    OK(store_report_items(g.s, viewer, p, name, count_item, c));
    return c->n;
}

struct pol {
    int n;
    struct {
        char service[16];
        int priority, rd, rm, sd, sm;
    } v[8];
};

static int pol_cb(void *ud, const struct store_report_policy *x)
{
    struct pol *p = ud;
    if (p->n < 8) {
        snprintf(p->v[p->n].service, sizeof p->v[0].service, "%s", x->service);
        p->v[p->n].priority = x->priority;
        p->v[p->n].rd = x->response_due;
        p->v[p->n].rm = x->response_met;
        p->v[p->n].sd = x->resolve_due;
        p->v[p->n].sm = x->resolve_met;
    }
    p->n++;
    return 0;
}

#define NEAR(x, want) assert_true((x) > (want)-0.0001 && (x) < (want) + 0.0001)

/* September 2026 in a 5x8 calendar (09:00-12:00, 13:00-18:00 Monday to
 * Friday, Asia/Shanghai) with Friday 25 September a holiday; response
 * target 60 working minutes, resolution 480. Worked out by hand:
 *   A created Thu 24 Sep 17:30, replied Mon 28 09:15 (Thu 0.5 h + the
 *     holiday and the weekend 0 + Mon 0.25 h = 0.75 h; due Mon 09:30: met),
 *     resolved Mon 28 14:00 (0.5 + 3 + 1 = 4.5 h; due Mon 17:30: met);
 *   B created Tue 1 Sep 16:00, replied Wed 2 10:00 across the night (2 + 1
 *     = 3 h; due Tue 17:00: missed), resolved Wed 17:00 (2 + 3 + 4 = 9 h;
 *     due Wed 16:00: missed);
 *   C (priority 2, team second-line, category 网络/VPN) created Mon 7 Sep
 *     09:00, replied 09:30 (0.5 h, due 10:00: met), resolved 11:00 (2 h,
 *     due 18:00: met);
 *   D created Wed 9 Sep 10:00, never answered: response due 11:00 and
 *     resolution due Thu 10 10:00 both passed and missed.
 * Response: 4 due, 2 met; resolution: 4 due, 2 met; breached B and D;
 * response times 0.75, 3, 0.5 (mean 4.25 / 3, 90th percentile the 3rd of
 * 3: 3 h); resolution times 4.5, 9, 2 (mean 15.5 / 3, p90 9 h). */
static void september_timeliness(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    static const char file[] =
        "{\"calendars\":[{\"name\":\"t5x8\",\"tz\":\"Asia/Shanghai\",\"week\":{"
        "\"mon\":[\"09:00-12:00\",\"13:00-18:00\"],\"tue\":[\"09:00-12:00\",\"13:00-18:00\"],"
        "\"wed\":[\"09:00-12:00\",\"13:00-18:00\"],\"thu\":[\"09:00-12:00\",\"13:00-18:00\"],"
        "\"fri\":[\"09:00-12:00\",\"13:00-18:00\"],\"sat\":[],\"sun\":[]},"
        "\"holidays\":[\"2026-09-25\"]}],"
        "\"services\":[{\"name\":\"tsvc\",\"title\":\"测试服务\",\"calendar\":\"t5x8\","
        "\"default\":true}],\"policies\":["
        "{\"service\":\"tsvc\",\"priority\":1,\"response_minutes\":60,\"resolve_minutes\":480},"
        "{\"service\":\"tsvc\",\"priority\":2,\"response_minutes\":60,\"resolve_minutes\":480},"
        "{\"service\":\"tsvc\",\"priority\":3,\"response_minutes\":60,\"resolve_minutes\":480},"
        "{\"service\":\"tsvc\",\"priority\":4,\"response_minutes\":60,\"resolve_minutes\":480}]}";
    OK(store_sla_load(g.s, file, strlen(file), 0, NULL));
    struct tk ta, tb, tc, td;
    ticket(&ta, a, 1, 1);
    ticket(&tb, a, 1, 1);
    ticket(&tc, a, 1, 1);
    ticket(&td, 0, 0, 0);
    assert_int_equal(q_ll("SELECT count(*) FROM ticket_sla", NULL), 4);
    sla_times(ta.number, "2026-09-24 17:30", "2026-09-28 09:30", "2026-09-28 17:30",
              "2026-09-28 09:15", "2026-09-28 14:00");
    sla_times(tb.number, "2026-09-01 16:00", "2026-09-01 17:00", "2026-09-02 16:00",
              "2026-09-02 10:00", "2026-09-02 17:00");
    sla_times(tc.number, "2026-09-07 09:00", "2026-09-07 10:00", "2026-09-07 18:00",
              "2026-09-07 09:30", "2026-09-07 11:00");
    sla_times(td.number, "2026-09-09 10:00", "2026-09-09 11:00", "2026-09-10 10:00", NULL, NULL);
    char q[1024];
    snprintf(q, sizeof q,
             "UPDATE tickets SET priority = 2, category = '网络/VPN',"
             " team_id = (SELECT id FROM teams WHERE slug = 'second-line') WHERE number = '%s';"
             " UPDATE ticket_sla SET policy_id = (SELECT p.id FROM sla_policies p"
             " JOIN services v ON v.id = p.service_id WHERE v.name = 'tsvc' AND p.priority = 2)"
             " WHERE ticket_id = (SELECT id FROM tickets WHERE number = '%s')",
             tc.number, tc.number);
    sql(q);

    struct store_report_period per = {.from = "2026-09-01", .to = "2026-09-30",
                                      .tz = "Asia/Shanghai", .recontact_days = 7};
    struct store_indicators o;
    OK(store_report_indicators(g.s, a, &per, &o));
    assert_int_equal(o.response_due, 4);
    assert_int_equal(o.response_met, 2);
    NEAR(o.response_attainment, 0.5);
    assert_int_equal(o.resolve_due, 4);
    assert_int_equal(o.resolve_met, 2);
    NEAR(o.resolve_attainment, 0.5);
    assert_int_equal(o.breached, 2);
    assert_int_equal(o.response_timed, 3);
    NEAR(o.response_mean_hours, 4.25 / 3);
    NEAR(o.response_p90_hours, 3.0);
    assert_int_equal(o.resolve_timed, 3);
    NEAR(o.resolve_mean_hours, 15.5 / 3);
    NEAR(o.resolve_p90_hours, 9.0);
    assert_int_equal(o.received, 4);
    /* per policy: tsvc P2 is C alone (met twice); the others' priority */
    struct pol pl = {0};
    OK(store_report_policies(g.s, a, &per, pol_cb, &pl));
    assert_int_equal(pl.n, 2);
    int i2 = pl.v[0].priority == 2 ? 0 : 1;
    assert_string_equal(pl.v[i2].service, "tsvc");
    assert_int_equal(pl.v[i2].priority, 2);
    assert_int_equal(pl.v[i2].rd, 1);
    assert_int_equal(pl.v[i2].rm, 1);
    assert_int_equal(pl.v[i2].sd, 1);
    assert_int_equal(pl.v[i2].sm, 1);
    assert_int_equal(pl.v[1 - i2].rd, 3);
    assert_int_equal(pl.v[1 - i2].rm, 1);
    assert_int_equal(pl.v[1 - i2].sd, 3);
    assert_int_equal(pl.v[1 - i2].sm, 1);

    /* drill-down: each list is as long as its figure, and lists the tickets */
    struct counted c;
    assert_int_equal(items_of(&per, a, "timeliness.response_due", &c), o.response_due);
    assert_int_equal(items_of(&per, a, "timeliness.response_met", &c), o.response_met);
    assert_int_equal(items_of(&per, a, "timeliness.resolve_due", &c), o.resolve_due);
    assert_int_equal(items_of(&per, a, "timeliness.resolve_met", &c), o.resolve_met);
    assert_int_equal(items_of(&per, a, "desk.received", &c), o.received);
    assert_int_equal(items_of(&per, a, "timeliness.breached", &c), o.breached);
    assert_string_equal(c.ids[0], tb.number);
    assert_string_equal(c.ids[1], td.number);
    assert_int_equal(items_of(&per, a, "timeliness.response_timed", &c), o.response_timed);
    NEAR(c.hours[0], 0.75); /* A */
    NEAR(c.hours[1], 3.0);  /* B */
    NEAR(c.hours[2], 0.5);  /* C */
    assert_int_equal(items_of(&per, a, "timeliness.resolve_timed", &c), o.resolve_timed);
    NEAR(c.hours[0], 4.5);
    NEAR(c.hours[1], 9.0);
    NEAR(c.hours[2], 2.0);
    /* November of the other test: the lists of several figures */
    struct store_report_period nov = {.from = "2026-11-01", .to = "2026-11-30",
                                      .tz = "Asia/Shanghai", .recontact_days = 7};
    struct store_indicators n;
    OK(store_report_indicators(g.s, a, &nov, &n));
    assert_int_equal(items_of(&nov, a, "desk.received", &c), n.received);
    assert_int_equal(items_of(&nov, a, "desk.resolved", &c), n.resolved);
    assert_int_equal(items_of(&nov, a, "desk.first_contact", &c), n.first_contact);
    assert_int_equal(items_of(&nov, a, "desk.self_solved", &c), n.self_solved);
    assert_int_equal(items_of(&nov, a, "desk.deflected", &c), n.deflected);
    assert_int_equal(items_of(&nov, a, "satisfaction.ratings_good", &c), n.ratings_good);
    assert_int_equal(items_of(&nov, a, "knowledge.tickets_with_knowledge", &c),
                     n.tickets_with_knowledge);
    assert_int_equal(items_of(&nov, a, "problems.opened", &c), n.p_opened);
    assert_int_equal(items_of(&nov, a, "problems.resolved", &c), n.p_resolved);
    assert_true(n.received > 0 && n.p_resolved > 0 && n.deflected > 0);

    /* filters: C alone is priority 2, in second-line, in 网络 (a leading path) */
    struct store_report_period f = per;
    snprintf(f.team, sizeof f.team, "second-line");
    OK(store_report_indicators(g.s, a, &f, &o));
    assert_int_equal(o.response_due, 1);
    assert_int_equal(o.received, 1);
    f = per;
    snprintf(f.category, sizeof f.category, "网络");
    OK(store_report_indicators(g.s, a, &f, &o));
    assert_int_equal(o.resolve_met, 1);
    assert_int_equal(items_of(&f, a, "timeliness.resolve_met", &c), 1);
    assert_string_equal(c.ids[0], tc.number);
    f = per;
    f.priority = 2;
    OK(store_report_indicators(g.s, a, &f, &o));
    assert_int_equal(o.breached, 0);
    f = per;
    snprintf(f.service, sizeof f.service, "tsvc");
    snprintf(f.channel, sizeof f.channel, "chat");
    OK(store_report_indicators(g.s, a, &f, &o));
    assert_int_equal(o.breached, 2);
    /* bad filters and names are refused, and a requester may not drill down */
    f = per;
    snprintf(f.channel, sizeof f.channel, "fax");
    assert_int_equal(store_report_indicators(g.s, a, &f, &o), STORE_EINVALID);
    f = per;
    snprintf(f.service, sizeof f.service, "nosuch");
    assert_int_equal(store_report_indicators(g.s, a, &f, &o), STORE_EINVALID);
    f = per;
    snprintf(f.team, sizeof f.team, "nosuch");
    assert_int_equal(store_report_indicators(g.s, a, &f, &o), STORE_EINVALID);
    assert_int_equal(store_report_items(g.s, a, &per, "desk.nosuch", count_item, &c),
                     STORE_ENOTFOUND);
    assert_int_equal(store_report_items(g.s, mk_requester(), &per, "desk.received", count_item,
                                        &c),
                     STORE_EFORBIDDEN);
}

/* Major incidents (019_major) are counted in the month they were declared
 * in, cleared since or not, in the period's time zone; the list behind the
 * figure holds exactly those tickets. August 2026, apart from the months
 * the other tests fill. */
static void major_incidents_of_the_month(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    char lead[32]; /* a team lead declares and clears */
    snprintf(lead, sizeof lead, "%lld", (long long)a);
    pgs_exec(g.pg, "INSERT INTO person_roles (person_id, role) VALUES ($1::bigint, 'team_lead')",
             lead, NULL);
    struct tk t[3];
    const char *declared_at[3] = {"2026-08-10 10:00", "2026-08-31 23:30", "2026-09-01 00:10"};
    for (int i = 0; i < 3; i++) {
        ticket(&t[i], a, 0, 0);
        int declared = 0;
        OK(store_major_declare(g.s, t[i].number, a, "整栋楼断网", NULL, 0, NULL, NULL, &declared));
        assert_int_equal(declared, 1);
    }
    /* cleared since: it was still declared in August */
    OK(store_major_clear(g.s, t[1].number, a, 0, NULL, NULL));
    for (int i = 0; i < 3; i++) {
        char q[512];
        snprintf(q, sizeof q,
                 "UPDATE major_incidents SET declared_at = '%s+08' WHERE ticket_id ="
                 " (SELECT id FROM tickets WHERE number = '%s')",
                 declared_at[i], t[i].number);
        sql(q);
    }
    struct store_report_period aug = {.from = "2026-08-01", .to = "2026-08-31", .tz = "Asia/Shanghai", .recontact_days = 7};
    struct store_indicators o;
    OK(store_report_indicators(g.s, a, &aug, &o));
    assert_int_equal(o.major_incidents, 2);
    struct counted c;
    assert_int_equal(items_of(&aug, a, "desk.major_incidents", &c), 2);
    assert_string_equal(c.ids[0], t[0].number);
    assert_string_equal(c.ids[1], t[1].number);
    /* in UTC the third (31 August 16:10 UTC) falls in August too */
    struct store_report_period utc = aug;
    snprintf(utc.tz, sizeof utc.tz, "UTC");
    OK(store_report_indicators(g.s, a, &utc, &o));
    assert_int_equal(o.major_incidents, 3);
    assert_int_equal(items_of(&utc, a, "desk.major_incidents", &c), 3);
    /* a requester may not read the list */
    assert_int_equal(store_report_items(g.s, mk_requester(), &aug, "desk.major_incidents",
                                        count_item, &c),
                     STORE_EFORBIDDEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(november_by_hand),
        cmocka_unit_test(september_timeliness),
        cmocka_unit_test(major_incidents_of_the_month),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
