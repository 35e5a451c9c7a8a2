/* Unit tests for the agents' workspace in the store library
 * (shared/store/store_workspace.c, store_team.c): teams and roles, the
 * ticket list with filters, text search through the project's analyzer and
 * keyset paging, edits, internal notes, transfers and merges, and the
 * permission rule (st_may_work) from the side of whoever must be refused;
 * against a real PostgreSQL 15 server (pgtest.h) with the migrations
 * applied. Run from the repository root (scripts/testrun.sh does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define PGS_ONE_GROUP
#include "pgstore.h"
#include "../../chatdesk/auth.h"
#include "kb_analyzer.h"
#include "kb_util.h"
#include "store.h"

static struct pgs g;
static kb_lexicon *lx;
static kb_analyzer *an;

/* A ticket of a new requester with messages msgs (NULL-terminated) and
 * summary; *requester (may be NULL) gets its requester. */
static void mk_ticket(const char *summary, const char *const *msgs, char number[STORE_NUMBER_MAX],
                      int64_t *requester)
{
    int64_t req = mk_requester(), conv = 0;
    int seq, dup;
    OK(store_conversation_create(g.s, req, &conv));
    for (int i = 0; msgs && msgs[i]; i++)
        OK(store_message_add(g.s, conv, req, NULL, msgs[i], &seq, &dup));
    struct store_ticket t;
    OK(store_escalate(g.s, conv, req, summary, "网络/VPN", 2, 2, NULL, 0, &t));
    snprintf(number, STORE_NUMBER_MAX, "%s", t.number);
    store_ticket_fin(&t);
    if (requester)
        *requester = req;
}

#define events_of(number, type) pgs_events(&g, number, type)

/* The numbers a list call returned, space-separated. */
struct got {
    char numbers[2048];
    int n;
    int matches[64];
};

static int got_cb(void *arg, const struct store_ticket *t, int matches)
{
    struct got *g2 = arg;
    size_t len = strlen(g2->numbers);
    snprintf(g2->numbers + len, sizeof g2->numbers - len, "%s%s", len ? " " : "", t->number);
    if (g2->n < 64)
        g2->matches[g2->n] = matches;
    g2->n++;
    return 0;
}

static int list(int64_t viewer, const struct store_ticket_filter *f, struct got *out, char *next)
{
    memset(out, 0, sizeof *out);
    return store_ticket_list(g.s, viewer, f, got_cb, out, next);
}

static int has(const struct got *x, const char *number)
{
    return strstr(x->numbers, number) != NULL;
}

/* ---- setup ---------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if (pgs_setup(&g, "kbwork") != 0)
        return -1;
    char err[KB_ERR_MAX];
    lx = kb_lexicon_new_builtin();
    if (kb_analyzer_new(lx, &an, err, sizeof err) != 0) {
        fprintf(stderr, "kb_analyzer_new: %s\n", err);
        return -1;
    }
    store_terms_set(g.s, store_terms_kb, an);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = pgs_teardown(&g);
    kb_analyzer_free(an);
    kb_lexicon_free(lx);
    return rc;
}

/* ---- teams and roles ------------------------------------------------------- */

struct names {
    char text[1024];
};

static int team_cb(void *arg, const struct store_team *t)
{
    struct names *n = arg;
    size_t len = strlen(n->text);
    snprintf(n->text + len, sizeof n->text - len, "%s=%s:%s;", t->slug, t->name, t->members);
    return 0;
}

static int person_cb(void *arg, const struct store_person *p)
{
    struct names *n = arg;
    size_t len = strlen(n->text);
    snprintf(n->text + len, sizeof n->text - len, "%s %s %s;", p->username, p->roles, p->teams);
    return 0;
}

static void teams_and_roles(void **state)
{
    (void)state;
    int64_t a = mk_agent(), b = mk_agent(), req = mk_requester();
    struct names n = {""};
    OK(store_teams(g.s, a, team_cb, &n));
    assert_non_null(strstr(n.text, "first-line=一线:[]"));
    assert_non_null(strstr(n.text, "second-line=二线:[]"));
    assert_non_null(strstr(n.text, "specialists=专家:[]"));

    OK(store_team_create(g.s, "network", "网络组", "Network", NULL));
    assert_int_equal(store_team_create(g.s, "network", "again", NULL, NULL), STORE_ECONFLICT);
    assert_int_equal(store_team_create(g.s, "Bad Slug", "x", NULL, NULL), STORE_EINVALID);

    OK(store_team_member(g.s, a, "network", 1));
    OK(store_team_member(g.s, a, "network", 1)); /* twice: no error */
    assert_int_equal(store_team_member(g.s, a, "nowhere", 1), STORE_ENOTFOUND);
    assert_int_equal(store_team_member(g.s, req, "network", 1), STORE_EINVALID);
    OK(store_person_role(g.s, b, "team_lead", 1));
    assert_int_equal(store_person_role(g.s, b, "emperor", 1), STORE_EINVALID);
    assert_int_equal(store_person_role(g.s, req, "agent", 1), STORE_EINVALID);
    assert_int_equal(store_person_role(g.s, b, "agent", 0), STORE_EINVALID);

    memset(&n, 0, sizeof n);
    OK(store_teams(g.s, b, team_cb, &n));
    assert_non_null(strstr(n.text, "network=网络组:[{\"id\""));

    memset(&n, 0, sizeof n);
    OK(store_people_list(g.s, a, "team_lead", NULL, person_cb, &n));
    assert_non_null(strstr(n.text, "[\"agent\",\"team_lead\"]"));
    assert_null(strstr(n.text, "network")); /* a is no lead: not listed */
    memset(&n, 0, sizeof n);
    OK(store_people_list(g.s, a, "agent", "network", person_cb, &n));
    assert_non_null(strstr(n.text, "[\"network\"]"));
    assert_int_equal(store_people_list(g.s, a, "pope", NULL, person_cb, &n), STORE_EINVALID);

    /* a requester reads neither teams nor people */
    assert_int_equal(store_teams(g.s, req, team_cb, &n), STORE_EFORBIDDEN);
    assert_int_equal(store_people_list(g.s, req, NULL, NULL, person_cb, &n), STORE_EFORBIDDEN);
}

/* ---- search ---------------------------------------------------------------- */

static void search_finds_a_closed_ticket(void **state)
{
    (void)state;
    int64_t agent = mk_agent(), req = 0;
    char num[STORE_NUMBER_MAX], other[STORE_NUMBER_MAX];
    const char *msgs[] = {"早上开始打印机一直卡纸", "另外 Outlook 启动就崩溃", NULL};
    mk_ticket("办公室的问题", msgs, num, &req);
    const char *msgs2[] = {"报销系统登录不了", NULL};
    mk_ticket("报销", msgs2, other, NULL);
    /* the terms were stored with the messages */
    assert_true(q_ll("SELECT cardinality(terms) FROM conversation_terms c JOIN tickets t"
                     " ON t.conversation_id = c.conversation_id WHERE t.number = $1",
                     num) > 3);
    OK(store_ticket_take(g.s, num, agent));
    OK(store_ticket_resolve(g.s, num, agent, "换了硒鼓"));
    OK(store_ticket_confirm(g.s, num, req, 1));
    assert_string_equal(q_str("SELECT status FROM tickets WHERE number = $1", num), "closed");

    struct store_ticket_filter f = {.q = "打印机"};
    struct got x;
    char next[STORE_CURSOR_MAX];
    OK(list(agent, &f, &x, next));
    assert_true(has(&x, num));
    assert_false(has(&x, other));
    assert_true(x.matches[0] >= 1);
    f.q = "outlook";
    OK(list(agent, &f, &x, next));
    assert_true(has(&x, num));
    f.q = "OUTLOOK"; /* normalised as the indexer does */
    OK(list(agent, &f, &x, next));
    assert_true(has(&x, num));
    f.q = "报销";
    OK(list(agent, &f, &x, next));
    assert_false(has(&x, num));
    assert_true(has(&x, other));
    f.q = "防火墙"; /* in neither */
    OK(list(agent, &f, &x, next));
    assert_false(has(&x, num));
    assert_false(has(&x, other));
    /* closed tickets only */
    f.q = "打印机";
    f.status = "new,assigned";
    OK(list(agent, &f, &x, next));
    assert_false(has(&x, num));
    f.status = "closed";
    OK(list(agent, &f, &x, next));
    assert_true(has(&x, num));
    /* a requester lists nothing, even their own */
    assert_int_equal(list(req, &f, &x, next), STORE_EFORBIDDEN);
    assert_int_equal(x.n, 0);
    /* bad filters are refused with a message */
    f.status = "open";
    assert_int_equal(list(agent, &f, &x, next), STORE_EINVALID);
    assert_non_null(strstr(store_errmsg(g.s), "status"));
}

/* A chat without a ticket writes no search terms; its escalation stores the
 * terms of the messages so far, and a later message adds its own. */
static void terms_are_written_from_the_escalation_on(void **state)
{
    (void)state;
    int64_t req = mk_requester(), conv = 0;
    int seq, dup;
    char cid[32];
    OK(store_conversation_create(g.s, req, &conv));
    OK(store_message_add(g.s, conv, req, NULL, "共享盘映射失败 错误 0x80070035", &seq, &dup));
    snprintf(cid, sizeof cid, "%lld", (long long)conv);
    assert_int_equal(q_ll("SELECT count(*) FROM conversation_terms WHERE conversation_id = $1",
                          cid),
                     0);
    struct store_ticket t;
    OK(store_escalate(g.s, conv, req, "共享盘", "网络/VPN", 2, 2, NULL, 0, &t));
    long long before = q_ll("SELECT cardinality(terms) FROM conversation_terms"
                            " WHERE conversation_id = $1",
                            cid);
    assert_true(before > 2);
    OK(store_message_add(g.s, conv, req, NULL, "打印机也脱机了", &seq, &dup));
    assert_true(q_ll("SELECT cardinality(terms) FROM conversation_terms"
                     " WHERE conversation_id = $1",
                     cid) > before);
    /* a word of the message before the escalation finds the ticket */
    struct store_ticket_filter f = {.q = "共享盘映射"};
    struct got x;
    char next[STORE_CURSOR_MAX];
    OK(list(mk_agent(), &f, &x, next));
    assert_true(has(&x, t.number));
    store_ticket_fin(&t);
}

static void list_pages_by_cursor(void **state)
{
    (void)state;
    int64_t agent = mk_agent();
    char nums[7][STORE_NUMBER_MAX];
    const char *msgs[] = {"分页测试 pagingtoken", NULL};
    for (int i = 0; i < 7; i++)
        mk_ticket("分页", msgs, nums[i], NULL);
    /* the same updated second for all: the id breaks ties */
    for (int i = 0; i < 7; i++)
        assert_true(q_ll("SELECT 1 FROM tickets WHERE number = $1", nums[i]) == 1);
    struct store_ticket_filter f = {.q = "pagingtoken", .sort = "created", .limit = 3};
    struct got x;
    char next[STORE_CURSOR_MAX], all[2048] = "";
    int pages = 0, total = 0;
    do {
        OK(list(agent, &f, &x, next));
        total += x.n;
        strcat(all, x.numbers);
        strcat(all, " ");
        pages++;
        static char cur[STORE_CURSOR_MAX];
        snprintf(cur, sizeof cur, "%s", next);
        f.after = cur;
    } while (next[0] && pages < 10);
    assert_int_equal(pages, 3);
    assert_int_equal(total, 7);
    /* newest first, each once */
    for (int i = 0; i < 7; i++) {
        char *at = strstr(all, nums[i]);
        assert_non_null(at);
        assert_null(strstr(at + 1, nums[i]));
        if (i > 0)
            assert_true(at < strstr(all, nums[i - 1]));
    }
    /* priority sort and filter, team "none", assignee nobody */
    struct store_ticket_filter p = {.q = "pagingtoken", .sort = "priority", .priority = 3,
                                    .team = "none", .assignee = -1, .category = "网络"};
    OK(list(agent, &p, &x, next));
    assert_int_equal(x.n, 7);
    p.category = "网";
    OK(list(agent, &p, &x, next));
    assert_int_equal(x.n, 0); /* a prefix is a whole level */
    p.category = NULL;
    p.priority = 1;
    OK(list(agent, &p, &x, next));
    assert_int_equal(x.n, 0);
    /* bad cursor, sort, limit */
    struct store_ticket_filter b = {.after = "12.x.3"};
    assert_int_equal(list(agent, &b, &x, next), STORE_EINVALID);
    struct store_ticket_filter c = {.sort = "relevance"};
    assert_int_equal(list(agent, &c, &x, next), STORE_EINVALID);
    struct store_ticket_filter d = {.limit = 101};
    assert_int_equal(list(agent, &d, &x, next), STORE_EINVALID);
}

/* ---- edits, notes ------------------------------------------------------------ */

static int note_cb(void *arg, const struct store_note *n)
{
    struct names *x = arg;
    size_t len = strlen(x->text);
    snprintf(x->text + len, sizeof x->text - len, "%s|", n->body);
    return 0;
}

static int event_cb(void *arg, const struct store_event *e)
{
    struct names *x = arg;
    size_t len = strlen(x->text);
    snprintf(x->text + len, sizeof x->text - len, "%s %s;", e->type, e->detail);
    return 0;
}

static int msg_cb(void *arg, const struct store_message *m)
{
    struct names *x = arg;
    size_t len = strlen(x->text);
    snprintf(x->text + len, sizeof x->text - len, "%s|", m->body);
    return 0;
}

static void edit_writes_one_event_per_field(void **state)
{
    (void)state;
    int64_t agent = mk_agent(), req = 0;
    char num[STORE_NUMBER_MAX];
    mk_ticket("VPN 断线", NULL, num, &req);
    int changed = 0;
    /* impact 2 -> 1 with urgency 2: P3 -> P2 */
    struct store_ticket_edit e = {.impact = 1, .category = "网络/无线"};
    OK(store_ticket_edit(g.s, num, agent, &e, &changed, NULL));
    assert_int_equal(changed, 3); /* category, impact, priority */
    assert_int_equal(events_of(num, "edited"), 3);
    assert_string_equal(q_str("SELECT priority::text || ' ' || category FROM tickets"
                              " WHERE number = $1", num), "2 网络/无线");
    assert_non_null(strstr(q_str("SELECT string_agg(e.detail::text, ';' ORDER BY e.id) FROM"
                                 " ticket_events e JOIN tickets t ON t.id = e.ticket_id"
                                 " WHERE t.number = $1 AND e.type = 'edited'", num),
                           "\"to\": 2"));
    /* nothing changes: no event */
    OK(store_ticket_edit(g.s, num, agent, &e, &changed, NULL));
    assert_int_equal(changed, 0);
    assert_int_equal(events_of(num, "edited"), 3);
    /* the new summary is searchable */
    struct store_ticket_edit s2 = {.summary = "无线网络 eduroam 掉线"};
    OK(store_ticket_edit(g.s, num, agent, &s2, &changed, NULL));
    struct store_ticket_filter f = {.q = "eduroam"};
    struct got x;
    char next[STORE_CURSOR_MAX];
    OK(list(agent, &f, &x, next));
    assert_true(has(&x, num));
    /* refused: a requester, bad values, nothing written */
    struct store_ticket_edit bad = {.urgency = 7};
    assert_int_equal(store_ticket_edit(g.s, num, req, &e, &changed, NULL), STORE_EFORBIDDEN);
    assert_int_equal(store_ticket_edit(g.s, num, agent, &bad, &changed, NULL), STORE_EINVALID);
    struct store_ticket_edit blank = {.summary = "  "};
    assert_int_equal(store_ticket_edit(g.s, num, agent, &blank, &changed, NULL), STORE_EINVALID);
    assert_int_equal(events_of(num, "edited"), 4);
}

/* A save that started from values someone else has changed since is
 * refused whole; one whose starting values still hold goes through. */
static void edit_refuses_a_field_changed_meanwhile(void **state)
{
    (void)state;
    int64_t agent = mk_agent(), other = mk_agent(), req = 0;
    char num[STORE_NUMBER_MAX];
    mk_ticket("打印机卡纸", NULL, num, &req);
    int changed = 0;
    unsigned conflicts = 99;
    /* both load the ticket: category 网络/VPN, impact 2; the other sets a category */
    struct store_ticket_edit theirs = {.category = "硬件/打印机", .was_category = "网络/VPN"};
    OK(store_ticket_edit(g.s, num, other, &theirs, &changed, &conflicts));
    assert_int_equal(changed, 1);
    assert_int_equal(conflicts, 0);
    /* the agent saves a category and the impact from the old values */
    struct store_ticket_edit mine = {.category = "硬件", .impact = 1, .was_category = "网络/VPN",
                                     .was_impact = 2};
    assert_int_equal(store_ticket_edit(g.s, num, agent, &mine, &changed, &conflicts),
                     STORE_ECONFLICT);
    assert_int_equal(conflicts, STORE_EDIT_CATEGORY);
    assert_int_equal(changed, 0);
    assert_non_null(strstr(store_errmsg(g.s), "category (now \"硬件/打印机\")"));
    assert_null(strstr(store_errmsg(g.s), "impact"));
    /* nothing of it was written: neither field, nor an event */
    assert_string_equal(q_str("SELECT category || ' ' || impact::text FROM tickets"
                              " WHERE number = $1", num), "硬件/打印机 2");
    assert_int_equal(events_of(num, "edited"), 1);
    /* a field the save does not change is not checked */
    struct store_ticket_edit other_field = {.impact = 1, .was_impact = 2,
                                            .was_category = "stale, not changed"};
    OK(store_ticket_edit(g.s, num, agent, &other_field, &changed, &conflicts));
    assert_int_equal(conflicts, 0);
    /* saving again from the values now replaces theirs on purpose */
    struct store_ticket_edit again = {.category = "硬件", .was_category = "硬件/打印机"};
    OK(store_ticket_edit(g.s, num, agent, &again, &changed, &conflicts));
    assert_string_equal(q_str("SELECT category FROM tickets WHERE number = $1", num), "硬件");
    /* every field is compared: summary and urgency too */
    struct store_ticket_edit two = {.summary = "打印机卡纸，纸盒 2", .urgency = 3,
                                    .was_summary = "别的摘要", .was_urgency = 1};
    assert_int_equal(store_ticket_edit(g.s, num, agent, &two, &changed, &conflicts),
                     STORE_ECONFLICT);
    assert_int_equal(conflicts, STORE_EDIT_SUMMARY | STORE_EDIT_URGENCY);
}

static void notes_never_reach_the_requester(void **state)
{
    (void)state;
    int64_t agent = mk_agent(), req = 0;
    char num[STORE_NUMBER_MAX];
    const char *msgs[] = {"邮箱满了", NULL};
    mk_ticket("邮箱", msgs, num, &req);
    int64_t id = 0;
    OK(store_ticket_note(g.s, num, agent, "内部：此人是VIP，密码 sekrit", &id));
    assert_true(id > 0);
    assert_int_equal(store_ticket_note(g.s, num, agent, " \n", &id), STORE_EINVALID);
    assert_int_equal(store_ticket_note(g.s, num, req, "我也写", &id), STORE_EFORBIDDEN);
    struct names n = {""};
    OK(store_ticket_notes(g.s, num, agent, note_cb, &n));
    assert_string_equal(n.text, "内部：此人是VIP，密码 sekrit|");
    /* the requester's side: not the notes, not their events, not in the
     * conversation */
    memset(&n, 0, sizeof n);
    assert_int_equal(store_ticket_notes(g.s, num, req, note_cb, &n), STORE_ENOTFOUND);
    assert_string_equal(n.text, "");
    OK(store_ticket_events(g.s, num, req, event_cb, &n));
    assert_null(strstr(n.text, "noted"));
    assert_non_null(strstr(n.text, "created"));
    memset(&n, 0, sizeof n);
    OK(store_ticket_events(g.s, num, agent, event_cb, &n));
    assert_non_null(strstr(n.text, "noted"));
    memset(&n, 0, sizeof n);
    int64_t conv = q_ll("SELECT conversation_id FROM tickets WHERE number = $1", num);
    OK(store_messages_since(g.s, conv, req, 0, msg_cb, &n));
    assert_null(strstr(n.text, "sekrit"));
    /* a note's words are not search terms */
    struct store_ticket_filter f = {.q = "sekrit"};
    struct got x;
    char next[STORE_CURSOR_MAX];
    OK(list(agent, &f, &x, next));
    assert_false(has(&x, num));
}

/* ---- transfer, queue, permissions ----------------------------------------------- */

static int queue_cb(void *arg, const struct store_ticket *t)
{
    struct names *x = arg;
    size_t len = strlen(x->text);
    snprintf(x->text + len, sizeof x->text - len, "%s ", t->number);
    return 0;
}

static void transfer_to_a_team_and_who_may(void **state)
{
    (void)state;
    int64_t holder = mk_agent(), member = mk_agent(), outsider = mk_agent(), lead = mk_agent();
    int64_t req = 0;
    OK(store_team_member(g.s, member, "second-line", 1));
    OK(store_team_member(g.s, lead, "second-line", 1));
    OK(store_person_role(g.s, lead, "team_lead", 1));
    char num[STORE_NUMBER_MAX];
    mk_ticket("服务器宕机", NULL, num, &req);
    OK(store_ticket_take(g.s, num, holder));
    assert_int_equal(store_ticket_transfer(g.s, num, holder, "second-line", 0, ""),
                     STORE_EINVALID);
    assert_int_equal(store_ticket_transfer(g.s, num, holder, "nowhere", 0, "升级"),
                     STORE_ENOTFOUND);
    assert_int_equal(store_ticket_transfer(g.s, num, req, "second-line", 0, "升级"),
                     STORE_EFORBIDDEN);
    /* someone else's held ticket: not a plain agent */
    assert_int_equal(store_ticket_transfer(g.s, num, outsider, "second-line", 0, "抢"),
                     STORE_EFORBIDDEN);
    assert_int_equal(events_of(num, "transferred"), 0);
    OK(store_ticket_transfer(g.s, num, holder, "second-line", 0, "需要二线处理"));
    assert_string_equal(q_str("SELECT t.status || ' ' || m.slug || ' ' ||"
                              " coalesce(t.agent_id::text, '-') FROM tickets t JOIN teams m"
                              " ON m.id = t.team_id WHERE t.number = $1", num),
                        "new second-line -");
    assert_non_null(strstr(q_str("SELECT detail::text FROM ticket_events e JOIN tickets t"
                                 " ON t.id = e.ticket_id WHERE t.number = $1"
                                 " AND e.type = 'transferred'", num),
                           "需要二线处理"));
    /* the member's queue has it, the outsider's not */
    struct names qm = {""}, qo = {""};
    OK(store_queue_for(g.s, member, queue_cb, &qm));
    OK(store_queue_for(g.s, outsider, queue_cb, &qo));
    assert_non_null(strstr(qm.text, num));
    assert_null(strstr(qo.text, num));
    assert_int_equal(store_queue_for(g.s, req, queue_cb, &qo), STORE_EFORBIDDEN);
    /* the outsider may read it but not work on it */
    struct store_ticket t;
    OK(store_ticket_get(g.s, num, outsider, &t));
    assert_string_equal(t.team, "second-line");
    store_ticket_fin(&t);
    int changed = 0;
    struct store_ticket_edit e = {.urgency = 1};
    assert_int_equal(store_ticket_take(g.s, num, outsider), STORE_EFORBIDDEN);
    assert_int_equal(store_ticket_edit(g.s, num, outsider, &e, &changed, NULL), STORE_EFORBIDDEN);
    assert_int_equal(store_ticket_note(g.s, num, outsider, "x", NULL), STORE_EFORBIDDEN);
    assert_int_equal(events_of(num, "taken"), 1);
    /* the member takes it; the lead moves it to someone else in the team */
    OK(store_ticket_take(g.s, num, member));
    assert_int_equal(store_ticket_transfer(g.s, num, lead, "second-line", outsider, "给他"),
                     STORE_EINVALID); /* not in the team */
    OK(store_ticket_transfer(g.s, num, lead, NULL, lead, "我来"));
    assert_string_equal(q_str("SELECT t.status FROM tickets t WHERE t.number = $1", num),
                        "assigned");
    assert_int_equal(q_ll("SELECT agent_id FROM tickets WHERE number = $1", num), lead);
    /* a requester's history shows neither transfer nor assignment */
    struct names ev = {""};
    OK(store_ticket_events(g.s, num, req, event_cb, &ev));
    assert_null(strstr(ev.text, "transferred"));
    assert_null(strstr(ev.text, "assigned {"));
    assert_null(strstr(ev.text, "需要二线处理"));
}

static void merge_closes_the_duplicate(void **state)
{
    (void)state;
    int64_t agent = mk_agent();
    char keep[STORE_NUMBER_MAX], dup[STORE_NUMBER_MAX];
    const char *m1[] = {"共享盘打不开", NULL};
    const char *m2[] = {"共享盘又打不开了 sharepointx", NULL};
    mk_ticket("共享盘", m1, keep, NULL);
    mk_ticket("共享盘", m2, dup, NULL);
    assert_int_equal(store_ticket_merge(g.s, dup, dup, agent), STORE_EINVALID);
    OK(store_ticket_merge(g.s, dup, keep, agent));
    char want[64];
    snprintf(want, sizeof want, "closed %s", keep);
    assert_string_equal(q_str("SELECT t.status || ' ' || m.number FROM tickets t JOIN tickets m"
                              " ON m.id = t.merged_into WHERE t.number = $1", dup),
                        want);
    assert_int_equal(events_of(dup, "merged"), 1);
    assert_int_equal(events_of(keep, "merged_from"), 1);
    /* the survivor is found by the duplicate's words */
    struct store_ticket_filter f = {.q = "sharepointx", .status = "new"};
    struct got x;
    char next[STORE_CURSOR_MAX];
    OK(list(agent, &f, &x, next));
    assert_true(has(&x, keep));
    /* merging a closed ticket again is refused */
    assert_int_equal(store_ticket_merge(g.s, dup, keep, agent), STORE_EINVALID);
}

/* ---- the administration page's data (store_admin.c) ---------------------------- */

static int cat_cb(void *arg, const struct store_category *c)
{
    struct names *n = arg;
    size_t used = strlen(n->text);
    snprintf(n->text + used, sizeof n->text - used, "%s=%s;", c->name, c->team ? c->team : "-");
    return 0;
}

static void admin_categories_route_and_settings(void **state)
{
    (void)state;
    int64_t a = mk_agent(), admin = mk_agent();
    OK(store_person_role(g.s, admin, "admin", 1));
    assert_int_equal(store_admin_check(g.s, a), STORE_EFORBIDDEN);
    OK(store_admin_check(g.s, admin));

    int64_t net = 0, vpn = 0;
    OK(store_category_put(g.s, 0, "网络", "second-line", &net));
    OK(store_category_put(g.s, 0, "网络/VPN", "specialists", &vpn));
    assert_int_equal(store_category_put(g.s, 0, "网络", NULL, NULL), STORE_ECONFLICT);
    assert_int_equal(store_category_put(g.s, 0, " 网络", NULL, NULL), STORE_EINVALID);
    assert_int_equal(store_category_put(g.s, 0, "", NULL, NULL), STORE_EINVALID);
    assert_int_equal(store_category_put(g.s, 0, "硬件", "nowhere", NULL), STORE_ENOTFOUND);
    assert_int_equal(store_category_put(g.s, 999999, "硬件", NULL, NULL), STORE_ENOTFOUND);
    struct names n = {""};
    OK(store_categories(g.s, cat_cb, &n));
    assert_string_equal(n.text, "网络=second-line;网络/VPN=specialists;");

    /* mk_ticket's category is 网络/VPN: the longest entry routes it */
    char number[STORE_NUMBER_MAX];
    mk_ticket("VPN 不通", NULL, number, NULL);
    assert_string_equal(q_str("SELECT tm.slug FROM tickets t JOIN teams tm ON tm.id = t.team_id"
                              " WHERE t.number = $1", number), "specialists");
    assert_string_equal(q_str("SELECT detail->>'team' FROM ticket_events e JOIN tickets t"
                              " ON t.id = e.ticket_id WHERE t.number = $1 AND e.type = 'created'",
                              number), "specialists");
    OK(store_category_delete(g.s, vpn));
    mk_ticket("VPN 又不通", NULL, number, NULL);
    assert_string_equal(q_str("SELECT tm.slug FROM tickets t JOIN teams tm ON tm.id = t.team_id"
                              " WHERE t.number = $1", number), "second-line");
    OK(store_category_delete(g.s, net));
    assert_int_equal(store_category_delete(g.s, net), STORE_ENOTFOUND);
    mk_ticket("VPN 还是不通", NULL, number, NULL);
    assert_string_equal(q_str("SELECT coalesce(team_id::text, '<none>') FROM tickets"
                              " WHERE number = $1", number), "<none>");

    int v = 0, old = -1, had = -1;
    OK(store_setting_get(g.s, "suggestions", 5, &v));
    assert_int_equal(v, 5);
    OK(store_setting_set(g.s, "suggestions", 1, 3, admin, &old, &had));
    assert_int_equal(had, 0);
    OK(store_setting_get(g.s, "suggestions", 5, &v));
    assert_int_equal(v, 3);
    assert_int_equal(store_setting_set(g.s, "suggestions", 1, 21, admin, NULL, NULL), STORE_EINVALID);
    assert_int_equal(store_setting_set(g.s, "session_ttl", 1, 1, admin, NULL, NULL), STORE_EINVALID);
    assert_int_equal(store_setting_get(g.s, "session_ttl", 7, &v), STORE_EINVALID);
    assert_int_equal(v, 7);
    OK(store_setting_get(g.s, "suggestions", 5, &v));
    assert_int_equal(v, 3); /* unchanged by the refused value */
    OK(store_setting_set(g.s, "suggestions", 0, 0, admin, &old, &had));
    assert_int_equal(had, 1);
    assert_int_equal(old, 3);
    OK(store_setting_get(g.s, "suggestions", 5, &v));
    assert_int_equal(v, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(teams_and_roles),
        cmocka_unit_test(search_finds_a_closed_ticket),
        cmocka_unit_test(terms_are_written_from_the_escalation_on),
        cmocka_unit_test(list_pages_by_cursor),
        cmocka_unit_test(edit_writes_one_event_per_field),
        cmocka_unit_test(edit_refuses_a_field_changed_meanwhile),
        cmocka_unit_test(notes_never_reach_the_requester),
        cmocka_unit_test(transfer_to_a_team_and_who_may),
        cmocka_unit_test(merge_closes_the_duplicate),
        cmocka_unit_test(admin_categories_route_and_settings),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
