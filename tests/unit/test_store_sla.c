/* Unit tests for the service-level store (shared/store/store_sla.c)
 * against a real PostgreSQL 15 (scripts/pg.sh, fsync off) with
 * shared/store/migrations applied: tickets keep plain deadlines until SLA
 * data is loaded; loading the shipped file (corpora/calendars/) and a bad
 * one (refused whole, nothing written); a ticket's deadlines in working time
 * from the default service; editing a calendar adds a version and leaves
 * running tickets alone until re-applied; changing priority or service
 * recomputes with an event; who may do what; the timer marks each warning
 * and breach once, also with two connections ticking at once. Run from the
 * repository root (scripts/testrun.sh does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define PGS_ONE_GROUP
#include "pgstore.h"
#include "../../chatdesk/auth.h"
#include "kb_calendar.h"
#include "kb_util.h"
#include "store.h"

#define DATA "corpora/calendars/cn-2026-2027.json"

static struct pgs g;
static struct kbcal sh; /* for local times in Shanghai */

/* Shanghai local time as a Unix instant */
#define SH(y, mo, d, h, mi) kbcal_instant(&sh, y, mo, d, h, mi, 0)

/* A new ticket of a new requester, created at `at`, impact x urgency. */
static void mk_ticket(time_t at, int impact, int urgency, struct store_ticket *t, int64_t *req)
{
    int64_t r = mk_requester(), conv = 0;
    int seq, dup;
    OK(store_conversation_create(g.s, r, &conv));
    OK(store_message_add(g.s, conv, r, "c1", "电脑连不上网", &seq, &dup));
    OK(store_escalate(g.s, conv, r, "电脑连不上网", NULL, impact, urgency, NULL, at, t));
    if (req)
        *req = r;
}

#define sla_events(number, type) pgs_events(&g, number, type)

static const char *last_detail(const char *number, const char *key)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT e.detail->>'%s' FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id"
             " WHERE t.number = $1 ORDER BY e.id DESC LIMIT 1",
             key);
    return q_str(sql, number);
}

static int group_setup(void **state)
{
    (void)state;
    kbcal_init(&sh);
    sh.utc_offset = 8 * 3600;
    return pgs_setup(&g, "kbsla");
}

static int group_teardown(void **state)
{
    (void)state;
    return pgs_teardown(&g);
}

/* ---- before and while loading ------------------------------------------------ */

static void without_sla_data_plain_deadlines(void **state)
{
    (void)state;
    struct store_ticket t;
    mk_ticket(SH(2026, 9, 30, 16, 0), 2, 2, &t, NULL); /* P3: 4 h / 3 days of calendar time */
    assert_int_equal(t.response_due, SH(2026, 9, 30, 20, 0));
    assert_int_equal(t.resolution_due, SH(2026, 10, 3, 16, 0));
    struct store_ticket_sla sla;
    assert_int_equal(store_ticket_sla_get(g.s, t.number, t.requester_id, &sla), STORE_ENOTFOUND);
    assert_int_equal(sla_events(t.number, "sla_applied"), 0);
    store_ticket_fin(&t);
}

static void load_refuses_bad_files_whole(void **state)
{
    (void)state;
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"calendars\":[", "line"},
        {"[]", "JSON object"},
        /* a good calendar, then a service naming one that does not exist */
        {"{\"calendars\":[{\"name\":\"c1\",\"tz\":\"UTC\",\"always\":true}],"
         "\"services\":[{\"name\":\"s1\",\"title\":\"S\",\"calendar\":\"nope\"}]}",
         "services[0] s1: unknown calendar nope"},
        {"{\"calendars\":[{\"name\":\"c1\",\"tz\":\"UTC\",\"week\":{\"mon\":[\"9-17\"]}}]}",
         "calendars[0]: calendar c1: bad interval"},
        {"{\"calendars\":[{\"name\":\"bad name\",\"tz\":\"UTC\",\"always\":true}]}",
         "calendar name"},
        {"{\"calendars\":[{\"name\":\"c1\",\"tz\":\"UTC\",\"always\":true}],"
         "\"services\":[{\"name\":\"s1\",\"title\":\"S\",\"calendar\":\"c1\"}],"
         "\"policies\":[{\"service\":\"s1\",\"priority\":1,\"response_minutes\":60,"
         "\"resolve_minutes\":30}]}",
         "policies[0] s1"},
        {"{\"policies\":[{\"service\":\"ghost\",\"priority\":1,\"response_minutes\":1,"
         "\"resolve_minutes\":2}]}",
         "unknown service ghost"},
        {"{\"calendars\":[{\"name\":\"idle\",\"tz\":\"UTC\",\"week\":{\"sat\":[]}}]}",
         "calendar idle has no working hours"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(store_sla_load(g.s, bad[i].json, strlen(bad[i].json), 0, NULL),
                         STORE_EINVALID);
        if (!strstr(store_errmsg(g.s), bad[i].msg))
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].json, store_errmsg(g.s), bad[i].msg);
        /* nothing of it stayed */
        assert_int_equal(q_ll("SELECT count(*) FROM calendars", NULL), 0);
        assert_int_equal(q_ll("SELECT count(*) FROM services", NULL), 0);
    }
}

static int count_services(void *arg, const struct store_service *v)
{
    int *n = arg;
    (*n)++;
    if (strcmp(v->name, "general") == 0) {
        assert_true(v->is_default);
        assert_string_equal(v->calendar, "cn-5x8");
        assert_int_equal(v->policy[2].response_minutes, 240);
        assert_int_equal(v->policy[2].resolve_minutes, 1350);
        assert_int_equal(v->policy[2].warn_percent, 75);
    } else {
        assert_false(v->is_default);
    }
    if (strcmp(v->name, "network") == 0)
        assert_string_equal(v->calendar, "7x24");
    for (int p = 0; p < 4; p++)
        assert_int_equal(v->policy[p].priority, p + 1);
    return 0;
}

static void load_the_shipped_file(void **state)
{
    (void)state;
    char *json = NULL, err[256];
    size_t len = 0;
    assert_int_equal(kb_read_file(DATA, &json, &len, err, sizeof err), 0);
    struct store_sla_loaded res;
    OK(store_sla_load(g.s, json, len, 0, &res));
    assert_int_equal(res.calendars, 2);
    assert_int_equal(res.calendar_versions, 2);
    assert_int_equal(res.services, 4);
    assert_int_equal(res.policies, 16);
    /* again: nothing changed, no new version */
    OK(store_sla_load(g.s, json, len, 0, &res));
    assert_int_equal(res.calendar_versions, 0);
    assert_int_equal(q_ll("SELECT count(*) FROM calendar_versions", NULL), 2);
    free(json);
    int n = 0;
    OK(store_services(g.s, count_services, &n));
    assert_int_equal(n, 4);
    struct store_calendar c;
    OK(store_calendar_get(g.s, "cn-5x8", 0, &c));
    assert_int_equal(c.version, 1);
    assert_string_equal(c.tz, "Asia/Shanghai");
    assert_non_null(strstr(c.body, "\"2026-10-10\""));
    assert_string_equal(c.title, "中国标准工作日 5×8 / China working days");
    store_calendar_fin(&c);
    assert_int_equal(store_calendar_get(g.s, "nope", 0, &c), STORE_ENOTFOUND);
    assert_int_equal(store_calendar_get(g.s, "cn-5x8", 9, &c), STORE_ENOTFOUND);
    /* versions are append-only */
    PGresult *r = PQexec(g.pg, "UPDATE calendar_versions SET tz = 'UTC'");
    assert_int_not_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

/* ---- a ticket's clock ------------------------------------------------------ */

static struct store_ticket before_holiday; /* kept for the version tests */

static void ticket_gets_working_time_deadlines(void **state)
{
    (void)state;
    struct store_ticket *t = &before_holiday;
    /* Wednesday 30 September 2026 16:00, P3 on the default service (5x8):
     * response 240 working minutes: 1.5 h that day, 1-7 October off,
     * 2.5 h on Thursday 8 October: 11:00 */
    mk_ticket(SH(2026, 9, 30, 16, 0), 2, 2, t, NULL);
    assert_int_equal(t->priority, 3);
    assert_int_equal(t->response_due, SH(2026, 10, 8, 11, 0));
    /* resolution 1350 min = 22.5 h: 1.5 + 7.5 (Thu) + 7.5 (Fri) + 6 on the
     * working Saturday 10 October: 16:00 */
    assert_int_equal(t->resolution_due, SH(2026, 10, 10, 16, 0));
    struct store_ticket_sla s;
    OK(store_ticket_sla_get(g.s, t->number, t->requester_id, &s));
    assert_string_equal(s.service, "general");
    assert_string_equal(s.calendar, "cn-5x8");
    assert_int_equal(s.calendar_version, 1);
    assert_int_equal(s.response_due, t->response_due);
    assert_int_equal(s.resolve_due, t->resolution_due);
    /* warning at 75%: 180 min, 10:00 on the 8th */
    assert_int_equal(s.response_warn_at, SH(2026, 10, 8, 10, 0));
    assert_string_equal(s.state, "ok");
    assert_int_equal(sla_events(t->number, "sla_applied"), 1);
    assert_string_equal(last_detail(t->number, "reason"), "created");
    /* another requester may not read it, as for the ticket itself */
    assert_int_equal(store_ticket_sla_get(g.s, t->number, mk_requester(), &s), STORE_EFORBIDDEN);
}

static void calendar_edit_keeps_running_tickets(void **state)
{
    (void)state;
    struct store_ticket *t = &before_holiday;
    struct store_calendar c;
    OK(store_calendar_get(g.s, "cn-5x8", 0, &c));
    /* an administrator makes Thursday 8 October a holiday too */
    char *body = kb_xstrdup(c.body);
    char *at = strstr(body, "\"2026-10-07\"");
    assert_non_null(at);
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_add(&b, body, (size_t)(at - body));
    kb_buf_adds(&b, "\"2026-10-07\",\"2026-10-08\"");
    kb_buf_adds(&b, at + strlen("\"2026-10-07\""));
    int version = 0, created = 0;
    int64_t admin = mk_agent();
    OK(store_calendar_save(g.s, "cn-5x8", NULL, b.data, b.len, admin, &version, &created));
    assert_int_equal(version, 2);
    assert_int_equal(created, 1);
    kb_buf_fin(&b);
    free(body);
    store_calendar_fin(&c);
    /* a bad edit is refused and keeps version 2 */
    assert_int_equal(store_calendar_save(g.s, "cn-5x8", NULL, "{\"tz\":\"UTC\"}", 12, admin,
                                         &version, &created),
                     STORE_EINVALID);
    assert_int_equal(q_ll("SELECT current_version FROM calendars WHERE name = 'cn-5x8'", NULL), 2);

    /* the running ticket keeps version 1 and its deadlines */
    struct store_ticket_sla s;
    OK(store_ticket_sla_get(g.s, t->number, t->requester_id, &s));
    assert_int_equal(s.calendar_version, 1);
    assert_int_equal(s.response_due, SH(2026, 10, 8, 11, 0));
    assert_int_equal(q_ll("SELECT floor(extract(epoch FROM response_due))::bigint"
                          " FROM tickets WHERE number = $1",
                          t->number),
                     SH(2026, 10, 8, 11, 0));
    /* a ticket created now counts in version 2: Friday the 9th 11:00 */
    struct store_ticket n;
    mk_ticket(SH(2026, 9, 30, 16, 0), 2, 2, &n, NULL);
    assert_int_equal(n.response_due, SH(2026, 10, 9, 11, 0));
    OK(store_ticket_sla_get(g.s, n.number, n.requester_id, &s));
    assert_int_equal(s.calendar_version, 2);
    store_ticket_fin(&n);

    /* re-apply: an agent may not; the system (command line) may */
    int count = -1;
    assert_int_equal(store_sla_reapply(g.s, t->number, admin, &count), STORE_EFORBIDDEN);
    assert_int_equal(count, 0);
    OK(store_sla_reapply(g.s, t->number, 0, &count));
    assert_int_equal(count, 1);
    OK(store_ticket_sla_get(g.s, t->number, t->requester_id, &s));
    assert_int_equal(s.calendar_version, 2);
    assert_int_equal(s.response_due, SH(2026, 10, 9, 11, 0));
    assert_string_equal(last_detail(t->number, "reason"), "reapply");
    assert_string_equal(last_detail(t->number, "calendar_version"), "2");
    assert_int_equal(store_sla_reapply(g.s, "INC-999999", 0, &count), STORE_ENOTFOUND);
}

static void priority_and_service_changes_recompute(void **state)
{
    (void)state;
    int64_t agent = mk_agent(), req = 0;
    struct store_ticket t;
    /* Monday 7 December 2026 17:29, P3 */
    mk_ticket(SH(2026, 12, 7, 17, 29), 2, 2, &t, &req);
    long long applied = sla_events(t.number, "sla_applied");
    /* P1: 15 working minutes: one today, 14 tomorrow */
    OK(store_sla_set_priority(g.s, t.number, agent, 1));
    struct store_ticket_sla s;
    OK(store_ticket_sla_get(g.s, t.number, req, &s));
    assert_int_equal(s.priority, 1);
    assert_int_equal(s.response_due, SH(2026, 12, 8, 8, 44));
    assert_int_equal(q_ll("SELECT priority FROM tickets WHERE number = $1", t.number), 1);
    assert_int_equal(sla_events(t.number, "sla_applied"), applied + 1);
    assert_string_equal(last_detail(t.number, "reason"), "priority");
    /* the network service runs 7x24: P1 response 10 minutes, 17:39 */
    OK(store_sla_set_service(g.s, t.number, agent, "network"));
    OK(store_ticket_sla_get(g.s, t.number, req, &s));
    assert_string_equal(s.service, "network");
    assert_string_equal(s.calendar, "7x24");
    assert_int_equal(s.response_due, SH(2026, 12, 7, 17, 39));
    assert_string_equal(last_detail(t.number, "reason"), "service");
    /* refused, and nothing changes: unknown service, bad priority, a
     * requester asking, an unknown ticket */
    long long before = sla_events(t.number, "sla_applied");
    assert_int_equal(store_sla_set_service(g.s, t.number, agent, "nope"), STORE_ENOTFOUND);
    assert_int_equal(store_sla_set_priority(g.s, t.number, agent, 5), STORE_EINVALID);
    assert_int_equal(store_sla_set_priority(g.s, t.number, agent, 0), STORE_EINVALID);
    assert_int_equal(store_sla_set_priority(g.s, t.number, req, 2), STORE_EFORBIDDEN);
    assert_int_equal(store_sla_set_service(g.s, "INC-999999", agent, "email"), STORE_ENOTFOUND);
    assert_int_equal(sla_events(t.number, "sla_applied"), before);
    OK(store_ticket_sla_get(g.s, t.number, req, &s));
    assert_string_equal(s.service, "network");
    assert_int_equal(s.priority, 1);
    /* back to the default service (NULL) */
    OK(store_sla_set_service(g.s, t.number, agent, NULL));
    OK(store_ticket_sla_get(g.s, t.number, req, &s));
    assert_string_equal(s.service, "general");
    /* a closed ticket's service level is final */
    OK(store_ticket_take(g.s, t.number, agent));
    OK(store_ticket_resolve(g.s, t.number, agent, "重新插好网线"));
    OK(store_ticket_confirm(g.s, t.number, req, 1));
    assert_int_equal(store_sla_set_priority(g.s, t.number, agent, 2), STORE_EINVALID);
    assert_string_equal(store_sla_next("closed", "sla_applied") ? "allowed" : "refused",
                        "refused");
    assert_string_equal(store_sla_next("resolved", "sla_warning") ? "allowed" : "refused",
                        "refused");
    assert_string_equal(store_sla_next("assigned", "sla_breach"), "assigned");
    store_ticket_fin(&t);
}

/* ---- the timer ------------------------------------------------------------- */

struct alerts {
    int n;
    char seen[16][64];
};

static int collect(void *arg, const struct store_sla_alert *a)
{
    struct alerts *al = arg;
    if (al->n < 16)
        snprintf(al->seen[al->n], sizeof al->seen[0], "%s %s %s", a->number, a->target, a->kind);
    al->n++;
    return 0;
}

static void tick_marks_each_threshold_once(void **state)
{
    (void)state;
    /* a fresh service with a short policy, so only its tickets are due */
    const char *file =
        "{\"calendars\":[{\"name\":\"tick\",\"tz\":\"Asia/Shanghai\","
        "\"week\":{\"mon\":[\"09:00-12:00\",\"13:00-18:00\"]}}],"
        "\"services\":[{\"name\":\"tick-svc\",\"title\":\"Tick\",\"calendar\":\"tick\"}],"
        "\"policies\":[{\"service\":\"tick-svc\",\"priority\":3,\"response_minutes\":60,"
        "\"resolve_minutes\":120,\"warn_percent\":50}]}";
    OK(store_sla_load(g.s, file, strlen(file), 0, NULL));
    int64_t agent = mk_agent(), req;
    struct store_ticket t;
    /* everything earlier is marked first, so the counts below are this
     * ticket's alone */
    int marked = 0;
    OK(store_sla_tick(g.s, SH(2027, 12, 31, 0, 0), 1000, NULL, NULL, &marked));
    mk_ticket(SH(2028, 1, 3, 11, 0), 2, 2, &t, &req); /* Monday 3 January 2028 */
    OK(store_sla_set_service(g.s, t.number, agent, "tick-svc"));
    /* response: warn 11:30, due 12:00 + 0 => the morning ends at 12:00: due
     * 12:00; resolution: warn 12:00, due 13:00 + 60 min = 14:00 */
    struct store_ticket_sla s;
    OK(store_ticket_sla_get(g.s, t.number, req, &s));
    assert_int_equal(s.response_warn_at, SH(2028, 1, 3, 11, 30));
    assert_int_equal(s.response_due, SH(2028, 1, 3, 12, 0));
    assert_int_equal(s.resolve_warn_at, SH(2028, 1, 3, 12, 0));
    assert_int_equal(s.resolve_due, SH(2028, 1, 3, 14, 0));

    struct alerts al = {0};
    OK(store_sla_tick(g.s, SH(2028, 1, 3, 11, 29), 100, collect, &al, &marked));
    assert_int_equal(al.n, 0);
    OK(store_sla_tick(g.s, SH(2028, 1, 3, 11, 30), 100, collect, &al, &marked));
    assert_int_equal(al.n, 1);
    char want[64];
    snprintf(want, sizeof want, "%s response warning", t.number);
    assert_string_equal(al.seen[0], want);
    /* the same instant again: nothing new */
    OK(store_sla_tick(g.s, SH(2028, 1, 3, 11, 45), 100, collect, &al, &marked));
    assert_int_equal(al.n, 1);
    OK(store_ticket_sla_get(g.s, t.number, req, &s));
    assert_string_equal(s.state, "warning");
    /* the ticket itself carries the state and service (the queue shows it) */
    struct store_ticket tt;
    OK(store_ticket_get(g.s, t.number, agent, &tt));
    assert_string_equal(tt.sla_state, "warning");
    assert_string_equal(tt.service, "tick-svc");
    store_ticket_fin(&tt);
    /* 12:00: the response breach and the resolution warning */
    OK(store_sla_tick(g.s, SH(2028, 1, 3, 12, 0), 100, collect, &al, &marked));
    assert_int_equal(al.n, 3);
    assert_int_equal(marked, 2);
    OK(store_ticket_sla_get(g.s, t.number, req, &s));
    assert_string_equal(s.state, "breached");
    assert_int_equal(sla_events(t.number, "sla_warning"), 2);
    assert_int_equal(sla_events(t.number, "sla_breach"), 1);
    /* the agent answers and resolves before 14:00: no resolution breach */
    OK(store_ticket_take(g.s, t.number, agent));
    OK(store_ticket_resolve(g.s, t.number, agent, "已处理"));
    OK(store_sla_tick(g.s, SH(2028, 1, 3, 15, 0), 100, collect, &al, &marked));
    assert_int_equal(marked, 0);
    assert_int_equal(sla_events(t.number, "sla_breach"), 1);
    store_ticket_fin(&t);

    /* a response in time stops the response clock */
    mk_ticket(SH(2028, 1, 10, 9, 0), 2, 2, &t, &req);
    OK(store_sla_set_service(g.s, t.number, agent, "tick-svc"));
    OK(store_ticket_take(g.s, t.number, agent));
    int seq, dup;
    /* (first_response_at is the server's clock, long before 2028: in time) */
    OK(store_ticket_reply(g.s, t.number, agent, "r1", "您好，我来看看", &seq, &dup, NULL));
    al.n = 0;
    OK(store_sla_tick(g.s, SH(2028, 1, 10, 10, 30), 100, collect, &al, &marked));
    assert_int_equal(al.n, 1); /* only the resolution warning (09:00 + 60 min) */
    snprintf(want, sizeof want, "%s resolution warning", t.number);
    assert_string_equal(al.seen[0], want);
    /* the answered clock has left the timer's index; the resolution runs on */
    assert_string_equal(q_str("SELECT ts.response_done::text || ts.resolve_done::text"
                              " FROM ticket_sla ts JOIN tickets t ON t.id = ts.ticket_id"
                              " WHERE t.number = $1",
                              t.number),
                        "truefalse");
    store_ticket_fin(&t);
}

struct racer {
    const char *conninfo;
    time_t now;
    int marked;
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct store *s = NULL;
    char err[STORE_ERR_MAX];
    r->rc = store_open(r->conninfo, &s, err, sizeof err);
    for (int i = 0; r->rc == 0 && i < 20; i++) {
        int m = 0;
        r->rc = store_sla_tick(s, r->now, 3, NULL, NULL, &m);
        r->marked += m;
    }
    store_close(s);
    return NULL;
}

static void two_tickers_mark_once(void **state)
{
    (void)state;
    int64_t agent = mk_agent();
    int marked = 0;
    OK(store_sla_tick(g.s, SH(2028, 2, 6, 0, 0), 1000, NULL, NULL, &marked));
    enum { N = 12 };
    char numbers[N][STORE_NUMBER_MAX];
    for (int i = 0; i < N; i++) {
        struct store_ticket t;
        mk_ticket(SH(2028, 2, 7, 9, 0), 2, 2, &t, NULL); /* a Monday */
        OK(store_sla_set_service(g.s, t.number, agent, "tick-svc"));
        snprintf(numbers[i], sizeof numbers[i], "%s", t.number);
        store_ticket_fin(&t);
    }
    /* at 16:00 all four thresholds of every ticket have passed */
    struct racer a = {g.conninfo, SH(2028, 2, 7, 16, 0), 0, 0}, b = a;
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    assert_int_equal(a.marked + b.marked, 4 * N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(sla_events(numbers[i], "sla_warning"), 2);
        assert_int_equal(sla_events(numbers[i], "sla_breach"), 2);
    }
}

/* ---- waiting for the requester: the clock's pauses (014_pause.sql) -------- */

static int only_of(void *arg, const struct store_sla_alert *a)
{
    struct alerts *al = arg;
    if (strcmp(a->number, al->seen[15]) == 0)
        collect(arg, a);
    return 0;
}

static long long segments(const char *number, const char *where)
{
    char sql[320];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM ticket_sla_segments g JOIN tickets t ON t.id = g.ticket_id"
             " WHERE t.number = $1 AND %s",
             where);
    return q_ll(sql, number);
}

static void pending_pauses_the_resolution_clock(void **state)
{
    (void)state;
    assert_string_equal(store_ticket_next("assigned", "pending"), "pending");
    assert_string_equal(store_ticket_next("reopened", "pending"), "pending");
    assert_string_equal(store_ticket_next("pending", "resumed"), "assigned");
    assert_string_equal(store_ticket_next("pending", "replied"), "pending");
    assert_string_equal(store_ticket_next("pending", "resolved"), "resolved");
    assert_null(store_ticket_next("new", "pending"));
    assert_null(store_ticket_next("pending", "pending"));
    assert_null(store_ticket_next("assigned", "resumed"));
    assert_null(store_ticket_next("pending", "transferred"));
    assert_string_equal(store_sla_next("pending", "sla_applied"), "pending");

    int64_t agent = mk_agent(), other = mk_agent(), req;
    struct store_ticket t;
    /* Monday 2 November 2026 09:00, P3 on "general" (5x8, 08:30-12:00,
     * 13:30-17:30): 1350 working minutes = 22.5 h: Mon 7 h, Tue 7.5, Wed
     * 7.5, Thu 0.5: Thursday 09:00 */
    mk_ticket(SH(2026, 11, 2, 9, 0), 2, 2, &t, &req);
    assert_int_equal(t.resolution_due, SH(2026, 11, 5, 9, 0));
    assert_int_equal(segments(t.number, "g.kind = 'running' AND g.ended_at IS NULL"), 1);
    /* not held yet: nobody may set it pending */
    assert_int_equal(store_ticket_pending(g.s, t.number, agent, "截图", SH(2026, 11, 2, 10, 0)),
                     STORE_EFORBIDDEN);
    OK(store_ticket_take(g.s, t.number, agent));
    /* bad reasons and other people: refused, nothing written */
    assert_int_equal(store_ticket_pending(g.s, t.number, agent, " \t", 0), STORE_EINVALID);
    assert_int_equal(store_ticket_pending(g.s, t.number, agent, NULL, 0), STORE_EINVALID);
    char longer[STORE_PENDING_REASON_MAX * 3 + 4] = "";
    for (int i = 0; i <= STORE_PENDING_REASON_MAX; i++)
        strcat(longer, "图");
    assert_int_equal(store_ticket_pending(g.s, t.number, agent, longer, 0), STORE_EINVALID);
    assert_int_equal(store_ticket_pending(g.s, t.number, other, "截图", 0), STORE_EFORBIDDEN);
    assert_int_equal(store_ticket_pending(g.s, t.number, req, "截图", 0), STORE_EFORBIDDEN);
    assert_int_equal(store_ticket_resume(g.s, t.number, agent, 0), STORE_EINVALID);
    assert_int_equal(sla_events(t.number, "pending"), 0);

    /* the first human answer meets the response clock (it never pauses) */
    int seq, dup;
    OK(store_ticket_reply(g.s, t.number, agent, "p0", "请发一张报错截图", &seq, &dup, NULL));
    /* Monday 11:00: waiting for a screenshot */
    OK(store_ticket_pending(g.s, t.number, agent, "请提供报错截图", SH(2026, 11, 2, 11, 0)));
    struct store_ticket tt;
    OK(store_ticket_get(g.s, t.number, agent, &tt));
    assert_string_equal(tt.status, "pending");
    assert_string_equal(tt.pending_reason, "请提供报错截图");
    store_ticket_fin(&tt);
    assert_int_equal(sla_events(t.number, "pending"), 1);
    assert_string_equal(last_detail(t.number, "reason"), "请提供报错截图");
    assert_int_equal(store_ticket_pending(g.s, t.number, agent, "again", 0), STORE_EINVALID);
    assert_int_equal(store_ticket_resume(g.s, t.number, other, 0), STORE_EFORBIDDEN);
    struct store_ticket_sla s;
    OK(store_ticket_sla_get(g.s, t.number, req, &s));
    assert_int_equal(s.paused_since, SH(2026, 11, 2, 11, 0));

    /* Thursday 10:00, past the running clock's deadline: the timer marks
     * no resolution warning or breach of a paused clock */
    struct alerts al = {0};
    snprintf(al.seen[15], sizeof al.seen[15], "%s", t.number);
    int marked = 0;
    OK(store_sla_tick(g.s, SH(2026, 11, 5, 10, 0), 1000, only_of, &al, &marked));
    assert_int_equal(al.n, 0);

    /* a change of priority during the pause (P2: 450 min) recomputes from
     * the segments (the open pause as if it ended now) */
    OK(store_sla_set_priority(g.s, t.number, agent, 2));
    assert_string_equal(last_detail(t.number, "reason"), "priority");
    /* Tuesday 10:00 the agent resumes: paused working time Mon 11-12,
     * 13:30-17:30, Tue 08:30-10:00 = 6.5 h, kept: 7.5 h counted over Mon
     * 09-11 and from Tue 10:00: 10-12, 13:30-17:00 */
    OK(store_ticket_resume(g.s, t.number, agent, SH(2026, 11, 3, 10, 0)));
    OK(store_ticket_get(g.s, t.number, agent, &tt));
    assert_string_equal(tt.status, "assigned");
    assert_null(tt.pending_reason);
    assert_int_equal(tt.resolution_due, SH(2026, 11, 3, 17, 0));
    store_ticket_fin(&tt);
    OK(store_ticket_sla_get(g.s, t.number, req, &s));
    assert_int_equal(s.resolve_due, SH(2026, 11, 3, 17, 0));
    /* 75% of 7.5 h = 5 h 37 min 30 s: Mon 2 h, Tue 10-12, 13:30 + 1 h 37.5 min */
    assert_int_equal(s.resolve_warn_at, SH(2026, 11, 3, 15, 7) + 30);
    assert_int_equal(s.paused_since, 0);
    assert_int_equal(s.paused_seconds, 23 * 3600); /* wall clock: Mon 11:00 .. Tue 10:00 */
    assert_string_equal(last_detail(t.number, "reason"), "resumed");
    assert_string_equal(last_detail(t.number, "paused_seconds"), "23400");
    assert_int_equal(sla_events(t.number, "resumed"), 1);
    assert_int_equal(segments(t.number, "true"), 3);
    assert_int_equal(segments(t.number, "g.kind = 'paused' AND g.ended_at IS NOT NULL"), 1);
    /* the timer fires once, after the resumption, when due */
    OK(store_sla_tick(g.s, SH(2026, 11, 3, 15, 7) + 29, 1000, only_of, &al, &marked));
    assert_int_equal(al.n, 0);
    OK(store_sla_tick(g.s, SH(2026, 11, 3, 15, 7) + 30, 1000, only_of, &al, &marked));
    assert_int_equal(al.n, 1);
    char want[64];
    snprintf(want, sizeof want, "%s resolution warning", t.number);
    assert_string_equal(al.seen[0], want);
    OK(store_sla_tick(g.s, SH(2026, 11, 3, 16, 0), 1000, only_of, &al, &marked));
    assert_int_equal(al.n, 1);
    OK(store_sla_tick(g.s, SH(2026, 11, 3, 17, 0), 1000, only_of, &al, &marked));
    assert_int_equal(al.n, 2);
    snprintf(want, sizeof want, "%s resolution breach", t.number);
    assert_string_equal(al.seen[1], want);

    /* segments are append-only: a closed one cannot change, none can go */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE ticket_sla_segments SET ended_at = ended_at + interval '1 hour'"
             " WHERE ticket_id = %lld AND seq = 2",
             (long long)t.id);
    PGresult *r = PQexec(g.pg, sql);
    assert_int_not_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    snprintf(sql, sizeof sql, "DELETE FROM ticket_sla_segments WHERE ticket_id = %lld",
             (long long)t.id);
    r = PQexec(g.pg, sql);
    assert_int_not_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);

    /* pending again; the agent's own message keeps it waiting, the
     * requester's answer resumes it (in the message's transaction) */
    OK(store_ticket_pending(g.s, t.number, agent, "请确认是否已重启", 0));
    OK(store_ticket_reply(g.s, t.number, agent, "p1", "重启后还有问题吗？", &seq, &dup, NULL));
    OK(store_ticket_get(g.s, t.number, agent, &tt));
    assert_string_equal(tt.status, "pending");
    store_ticket_fin(&tt);
    struct store_posted info;
    OK(store_message_post(g.s, t.conversation_id, req, "q2", "重启了，还是不行", &seq, &dup,
                          &info));
    assert_int_equal(info.resumed, 1);
    assert_string_equal(info.ticket, t.number);
    OK(store_ticket_get(g.s, t.number, agent, &tt));
    assert_string_equal(tt.status, "assigned");
    assert_null(tt.pending_reason);
    store_ticket_fin(&tt);
    assert_int_equal(sla_events(t.number, "resumed"), 2);
    assert_string_equal(q_str("SELECT e.detail->>'by' || ' ' || (e.detail->>'seq')"
                              " || ' ' || e.from_status || '>' || e.to_status"
                              " FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id"
                              " WHERE t.number = $1 AND e.type = 'resumed'"
                              " ORDER BY e.id DESC LIMIT 1",
                              t.number),
                        q_str("SELECT 'requester ' || $1 || ' pending>assigned'",
                              seq == 0 ? "0" : (snprintf(want, sizeof want, "%d", seq), want)));
    /* the same message again (a resend) resumes nothing */
    OK(store_message_post(g.s, t.conversation_id, req, "q2", "重启了，还是不行", &seq, &dup,
                          &info));
    assert_int_equal(dup, 1);
    assert_int_equal(info.resumed, 0);
    /* a ticket that waits cannot be transferred away: resume it first */
    OK(store_ticket_pending(g.s, t.number, agent, "等用户回复", 0));
    assert_int_equal(store_ticket_transfer(g.s, t.number, agent, NULL, other, "换人"),
                     STORE_EINVALID);
    /* resolving a pending ticket ends the pause */
    OK(store_ticket_resolve(g.s, t.number, agent, "已更换网线"));
    OK(store_ticket_get(g.s, t.number, agent, &tt));
    assert_string_equal(tt.status, "resolved");
    assert_null(tt.pending_reason);
    store_ticket_fin(&tt);
    assert_int_equal(segments(t.number, "g.ended_at IS NULL AND g.kind = 'running'"), 1);
    assert_int_equal(segments(t.number, "g.kind = 'paused'"), 3);
    store_ticket_fin(&t);
}

/* A default service without a policy for a priority never refuses a
 * ticket: it keeps its plain deadlines. */
static void missing_policy_never_refuses_a_ticket(void **state)
{
    (void)state;
    const char *file =
        "{\"services\":[{\"name\":\"partial\",\"title\":\"P\",\"calendar\":\"7x24\","
        "\"default\":true}],\"policies\":[{\"service\":\"partial\",\"priority\":3,"
        "\"response_minutes\":5,\"resolve_minutes\":10}]}";
    OK(store_sla_load(g.s, file, strlen(file), 0, NULL));
    struct store_ticket t;
    mk_ticket(SH(2026, 12, 7, 9, 0), 3, 3, &t, NULL); /* P4: no policy */
    assert_int_equal(t.priority, 4);
    assert_int_equal(t.response_due, SH(2026, 12, 7, 17, 0)); /* 8 h of calendar time */
    assert_string_equal(t.sla_state, "");
    struct store_ticket_sla s;
    assert_int_equal(store_ticket_sla_get(g.s, t.number, t.requester_id, &s), STORE_ENOTFOUND);
    store_ticket_fin(&t);
    mk_ticket(SH(2026, 12, 7, 9, 0), 2, 2, &t, NULL); /* P3: 5 min on 7x24 */
    assert_int_equal(t.response_due, SH(2026, 12, 7, 9, 5));
    assert_string_equal(t.service, "partial");
    store_ticket_fin(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(without_sla_data_plain_deadlines),
        cmocka_unit_test(load_refuses_bad_files_whole),
        cmocka_unit_test(load_the_shipped_file),
        cmocka_unit_test(ticket_gets_working_time_deadlines),
        cmocka_unit_test(calendar_edit_keeps_running_tickets),
        cmocka_unit_test(priority_and_service_changes_recompute),
        cmocka_unit_test(tick_marks_each_threshold_once),
        cmocka_unit_test(two_tickers_mark_once),
        cmocka_unit_test(pending_pauses_the_resolution_clock),
        cmocka_unit_test(missing_policy_never_refuses_a_ticket),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    store_ticket_fin(&before_holiday);
    return rc;
}
