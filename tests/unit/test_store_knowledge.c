/* Unit tests for the knowledge store (shared/store/store_knowledge.c): its
 * one transition table, written out again here on its own, every change
 * tried from the states the table refuses (nothing written), the version
 * check on save, restore, who may approve, return, publish and retire,
 * import, the due-for-review list, and what the indexer reads (the changes
 * since a sequence number and the NOTIFY at commit), against a real
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


PGS_GROUP("kbknow")

/* ---- helpers of this file ------------------------------------------------- */

static long long events_of(const char *doc_id)
{
    return q_ll("SELECT count(*) FROM knowledge_events e JOIN knowledge_items i"
                " ON i.id = e.item_id WHERE i.doc_id = $1",
                doc_id);
}

static const char *state_of(const char *doc_id)
{
    return q_str("SELECT state FROM knowledge_items WHERE doc_id = $1", doc_id);
}

static struct kb_doc *mk_doc(const char *title, const char *body, const char *vis)
{
    struct kb_doc *d = kb_doc_new(KB_KIND_ARTICLE);
    kb_doc_set(&d->title, title);
    kb_doc_set(&d->body, body);
    kb_doc_set(&d->visibility, vis);
    kb_doc_set(&d->category, "网络");
    kb_doc_set(&d->lang, "zh");
    return d;
}

/* A fresh draft by author, version 1, into id. */
static void mk_item(int64_t author, const char *title, char id[STORE_DOCID_MAX])
{
    struct kb_doc *d = mk_doc(title, "第一版正文", "public");
    OK(store_knowledge_create(g.s, author, d, NULL, id, NULL));
    kb_doc_free(d);
}

/* ---- the table itself ------------------------------------------------------ */

static const char *const states[] = {"draft", "in_review", "approved", "published", "retired"};
#define NSTATE 5

/* The lifecycle as the issue defines it: the state after each event from
 * each state (draft, in_review, approved, published, retired); NULL: not
 * allowed. */
static const struct {
    const char *event;
    const char *to[NSTATE];
} lifecycle[] = {
    {"saved", {"draft", NULL, NULL, "draft", "draft"}},
    {"restored", {"draft", NULL, NULL, "draft", "draft"}},
    {"submitted", {"in_review", NULL, NULL, NULL, NULL}},
    {"approved", {NULL, "approved", NULL, NULL, NULL}},
    {"returned", {NULL, "draft", "draft", NULL, NULL}},
    {"published", {NULL, NULL, "published", NULL, NULL}},
    {"retired", {"retired", "retired", "retired", "retired", NULL}},
};
#define NEVENTS (sizeof lifecycle / sizeof lifecycle[0])

static void table_is_the_lifecycle(void **state)
{
    (void)state;
    for (size_t e = 0; e < NEVENTS; e++)
        for (int i = 0; i < NSTATE; i++) {
            const char *want = lifecycle[e].to[i];
            const char *got = store_knowledge_next(states[i], lifecycle[e].event);
            if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
                fail_msg("%s from %s: wanted %s, the table says %s", lifecycle[e].event,
                         states[i], want ? want : "refused", got ? got : "refused");
        }
    assert_string_equal(store_knowledge_next(NULL, "created"), "draft");
    assert_string_equal(store_knowledge_next(NULL, "imported"), "published");
    for (int i = 0; i < NSTATE; i++) {
        assert_null(store_knowledge_next(states[i], "created"));
        assert_null(store_knowledge_next(states[i], "imported"));
    }
    assert_null(store_knowledge_next(NULL, "saved"));
}

/* ---- the whole lifecycle ----------------------------------------------------- */

struct seen {
    int n;
    int64_t last;
    char doc_id[STORE_DOCID_MAX];
    int live;
    char title[128];
};

static int seen_cb(void *arg, const char *doc_id, int64_t seq, const struct kb_doc *doc)
{
    struct seen *s = arg;
    s->n++;
    s->last = seq;
    snprintf(s->doc_id, sizeof s->doc_id, "%s", doc_id);
    s->live = doc != NULL;
    snprintf(s->title, sizeof s->title, "%s", doc && doc->title ? doc->title : "");
    if (doc)
        assert_string_equal(doc->id, doc_id);
    return 0;
}

static int got_notify(void)
{
    /* the NOTIFY of a commit is on the socket when the commit returned; a
     * bounded wait covers its travel */
    for (int i = 0; i < 200; i++) {
        PQconsumeInput(g.pg);
        PGnotify *n = PQnotifies(g.pg);
        if (n) {
            int ok = strcmp(n->relname, STORE_KNOWLEDGE_CHANNEL) == 0;
            PQfreemem(n);
            while ((n = PQnotifies(g.pg)))
                PQfreemem(n);
            return ok;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling a socket with a deadline, not a synchronisation */
    }
    return 0;
}

static void lifecycle_end_to_end(void **state)
{
    (void)state;
    int64_t author = mk_agent(), reviewer = mk_agent(), other = mk_agent();
    OK(store_person_role(g.s, reviewer, "knowledge_reviewer", 1));
    OK(store_person_role(g.s, reviewer, "knowledge_reviewer", 1)); /* twice: fine */
    int has = 0;
    OK(store_role_has(g.s, reviewer, "knowledge_reviewer", &has));
    assert_int_equal(has, 1);
    OK(store_role_has(g.s, other, "knowledge_reviewer", &has));
    assert_int_equal(has, 0);
    assert_int_equal(store_person_role(g.s, other, "pope", 1), STORE_EINVALID);

    struct seen before = {0};
    OK(store_knowledge_changes(g.s, 0, seen_cb, &before, &before.last));

    char id[STORE_DOCID_MAX];
    mk_item(author, "VPN 无法连接", id);
    assert_memory_equal(id, "KB-D", 4);
    assert_string_equal(state_of(id), "draft");

    /* a draft is not in the index */
    struct seen s1 = {0};
    OK(store_knowledge_changes(g.s, before.last, seen_cb, &s1, &s1.last));
    assert_int_equal(s1.n, 0);

    /* two editors from version 1: the second is refused, nothing written */
    struct kb_doc *d = mk_doc("VPN 无法连接（第二版）", "第二版正文", "internal");
    int v = 0;
    OK(store_knowledge_save(g.s, id, author, 1, d, &v));
    assert_int_equal(v, 2);
    struct kb_doc *d2 = mk_doc("另一个编辑", "覆盖", "public");
    assert_int_equal(store_knowledge_save(g.s, id, other, 1, d2, &v), STORE_ECONFLICT);
    assert_non_null(strstr(store_errmsg(g.s), "version 2, not 1"));
    assert_int_equal(q_ll("SELECT count(*) FROM knowledge_versions v JOIN knowledge_items i"
                          " ON i.id = v.item_id WHERE i.doc_id = $1",
                          id),
                     2);
    /* a known error is not saved over an article */
    d2->kind = KB_KIND_KNOWN_ERROR;
    assert_int_equal(store_knowledge_save(g.s, id, other, 2, d2, &v), STORE_EINVALID);
    kb_doc_free(d2);

    /* publish before review: refused, nothing written */
    long long ev = events_of(id);
    assert_int_equal(store_knowledge_publish(g.s, id, author, 0), STORE_EINVALID);
    assert_int_equal(events_of(id), ev);

    OK(store_knowledge_submit(g.s, id, author, NULL));
    assert_string_equal(state_of(id), "in_review");
    /* in review: no edits */
    assert_int_equal(store_knowledge_save(g.s, id, author, 2, d, &v), STORE_EINVALID);
    /* the author may not approve their own version unless allowed; a
     * non-reviewer may not at all */
    OK(store_person_role(g.s, author, "knowledge_reviewer", 1));
    assert_int_equal(store_knowledge_approve(g.s, id, author, 0, NULL), STORE_EFORBIDDEN);
    assert_int_equal(store_knowledge_approve(g.s, id, other, 1, NULL), STORE_EFORBIDDEN);
    assert_int_equal(store_knowledge_return(g.s, id, other, "不行"), STORE_EFORBIDDEN);
    assert_int_equal(store_knowledge_return(g.s, id, reviewer, NULL), STORE_EINVALID);
    assert_int_equal(events_of(id), ev + 1);
    OK(store_knowledge_return(g.s, id, reviewer, "请补充步骤"));
    assert_string_equal(state_of(id), "draft");
    assert_string_equal(q_str("SELECT e.comment FROM knowledge_events e JOIN knowledge_items i"
                              " ON i.id = e.item_id WHERE i.doc_id = $1 ORDER BY e.id DESC"
                              " LIMIT 1",
                              id),
                        "请补充步骤");
    OK(store_knowledge_submit(g.s, id, author, NULL));
    OK(store_knowledge_approve(g.s, id, reviewer, 0, "好"));
    assert_string_equal(state_of(id), "approved");

    PGresult *lr = PQexec(g.pg, "LISTEN " STORE_KNOWLEDGE_CHANNEL);
    assert_int_equal(PQresultStatus(lr), PGRES_COMMAND_OK);
    PQclear(lr);
    OK(store_knowledge_publish(g.s, id, other, 0));
    assert_true(got_notify());
    assert_string_equal(state_of(id), "published");
    struct seen s2 = {0};
    OK(store_knowledge_changes(g.s, before.last, seen_cb, &s2, &s2.last));
    assert_int_equal(s2.n, 1);
    assert_string_equal(s2.doc_id, id);
    assert_true(s2.live);
    assert_string_equal(s2.title, "VPN 无法连接（第二版）");
    assert_true(s2.last > before.last);
    /* review due in 180 days */
    assert_true(q_ll("SELECT extract(epoch FROM review_due - now()) FROM knowledge_items"
                     " WHERE doc_id = $1",
                     id) > 179LL * 86400);

    /* a new draft of a published item: the published version stays live */
    OK(store_knowledge_save(g.s, id, author, 2, d, &v));
    assert_int_equal(v, 3);
    assert_string_equal(state_of(id), "draft");
    struct seen s3 = {0};
    OK(store_knowledge_changes(g.s, s2.last, seen_cb, &s3, &s3.last));
    assert_int_equal(s3.n, 0);
    struct seen all = {0};
    OK(store_knowledge_changes(g.s, 0, seen_cb, &all, &all.last));
    assert_true(all.n >= 1);

    /* retire: not by a plain agent who does not own it; by the owner yes */
    assert_int_equal(store_knowledge_retire(g.s, id, other, NULL), STORE_EFORBIDDEN);
    OK(store_knowledge_retire(g.s, id, author, "过时"));
    assert_true(got_notify());
    struct seen s4 = {0};
    OK(store_knowledge_changes(g.s, s2.last, seen_cb, &s4, &s4.last));
    assert_int_equal(s4.n, 1);
    assert_false(s4.live);
    /* a full read (after 0) no longer lists it */
    struct seen s5 = {0};
    OK(store_knowledge_changes(g.s, 0, seen_cb, &s5, &s5.last));
    assert_int_equal(s5.n, all.n - 1);
    assert_int_equal(store_knowledge_retire(g.s, id, author, NULL), STORE_EINVALID);
    PQclear(PQexec(g.pg, "UNLISTEN *"));

    /* every event has its row: created, saved, submitted, returned,
     * submitted, approved, published, saved, retired */
    assert_int_equal(events_of(id), 9);
    /* the history cannot be rewritten */
    PGresult *r = PQexec(g.pg, "DELETE FROM knowledge_events");
    assert_int_not_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    kb_doc_free(d);
}

static int count_versions(void *arg, const struct store_kversion *v)
{
    int *n = arg;
    (*n)++;
    assert_int_equal(v->version, *n);
    assert_non_null(v->author_name);
    return 0;
}

static void restore_brings_back_old_text(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    char id[STORE_DOCID_MAX];
    mk_item(a, "打印机卡纸", id);
    struct kb_doc *d = mk_doc("打印机卡纸 v2", "新正文", "public");
    int v = 0;
    OK(store_knowledge_save(g.s, id, a, 1, d, &v));
    kb_doc_free(d);
    assert_int_equal(store_knowledge_restore(g.s, id, a, 2, 7, &v), STORE_ENOTFOUND);
    assert_int_equal(store_knowledge_restore(g.s, id, a, 1, 1, &v), STORE_ECONFLICT);
    OK(store_knowledge_restore(g.s, id, a, 2, 1, &v));
    assert_int_equal(v, 3);
    struct store_knowledge k;
    OK(store_knowledge_get(g.s, id, a, 0, &k));
    assert_int_equal(k.version, 3);
    assert_int_equal(k.doc_version, 3);
    assert_string_equal(k.doc->title, "打印机卡纸");
    assert_string_equal(k.doc->body, "第一版正文");
    assert_string_equal(k.doc->id, id);
    store_knowledge_fin(&k);
    OK(store_knowledge_get(g.s, id, a, 2, &k));
    assert_string_equal(k.doc->title, "打印机卡纸 v2");
    store_knowledge_fin(&k);
    assert_int_equal(store_knowledge_get(g.s, id, a, 9, &k), STORE_ENOTFOUND);
    assert_null(k.doc);
    int n = 0;
    OK(store_knowledge_versions(g.s, id, a, count_versions, &n));
    assert_int_equal(n, 3);
    assert_string_equal(q_str("SELECT restored_from FROM knowledge_versions v JOIN"
                              " knowledge_items i ON i.id = v.item_id WHERE i.doc_id = $1"
                              " AND v.version = 3",
                              id),
                        "1");
}

/* A requester sees and does nothing; bad documents are refused whole. */
static void requester_and_bad_input(void **state)
{
    (void)state;
    int64_t req = mk_requester(), a = mk_agent();
    char id[STORE_DOCID_MAX];
    struct kb_doc *d = mk_doc("标题", "正文", "public");
    assert_int_equal(store_knowledge_create(g.s, req, d, NULL, id, NULL), STORE_EFORBIDDEN);
    assert_string_equal(id, "");
    mk_item(a, "内部条目", id);
    struct store_knowledge k;
    assert_int_equal(store_knowledge_get(g.s, id, req, 0, &k), STORE_EFORBIDDEN);
    assert_int_equal(store_knowledge_submit(g.s, id, req, NULL), STORE_EFORBIDDEN);
    assert_int_equal(store_knowledge_save(g.s, id, req, 1, d, NULL), STORE_EFORBIDDEN);
    long long items = q_ll("SELECT count(*) FROM knowledge_items", NULL);
    kb_doc_set(&d->visibility, "secret");
    assert_int_equal(store_knowledge_create(g.s, a, d, NULL, id, NULL), STORE_EINVALID);
    kb_doc_set(&d->visibility, "public");
    kb_doc_set(&d->title, "");
    assert_int_equal(store_knowledge_create(g.s, a, d, NULL, id, NULL), STORE_EINVALID);
    kb_doc_set(&d->title, "标准条款");
    d->kind = KB_KIND_STANDARD;
    assert_int_equal(store_knowledge_create(g.s, a, d, NULL, id, NULL), STORE_EINVALID);
    assert_int_equal(q_ll("SELECT count(*) FROM knowledge_items", NULL), items);
    /* a retried create with its idempotency key creates nothing twice */
    d->kind = KB_KIND_ARTICLE;
    char first[STORE_DOCID_MAX], again[STORE_DOCID_MAX];
    int existed = -1;
    OK(store_knowledge_create(g.s, a, d, "key-1", first, &existed));
    assert_int_equal(existed, 0);
    OK(store_knowledge_create(g.s, a, d, "key-1", again, &existed));
    assert_int_equal(existed, 1);
    assert_string_equal(again, first);
    assert_int_equal(q_ll("SELECT count(*) FROM knowledge_items", NULL), items + 1);
    /* the key is the person's own: another agent's same key is a new item */
    int64_t b = mk_agent();
    OK(store_knowledge_create(g.s, b, d, "key-1", again, &existed));
    assert_int_equal(existed, 0);
    assert_string_not_equal(again, first);
    assert_int_equal(store_knowledge_get(g.s, "KB-NOPE", a, 0, &k), STORE_ENOTFOUND);
    /* a comment over 2000 characters is refused, nothing written */
    char *big = malloc(2100);
    memset(big, 'x', 2099);
    big[2099] = '\0';
    char id2[STORE_DOCID_MAX];
    mk_item(a, "长评论", id2);
    long long ev = events_of(id2);
    assert_int_equal(store_knowledge_submit(g.s, id2, a, big), STORE_EINVALID);
    assert_int_equal(events_of(id2), ev);
    assert_string_equal(state_of(id2), "draft");
    free(big);
    kb_doc_free(d);
}

static int count_items(void *arg, const struct store_knowledge *k)
{
    int *n = arg;
    (*n)++;
    assert_non_null(k->doc);
    return 0;
}

static void import_and_due_for_review(void **state)
{
    (void)state;
    int64_t a = mk_agent();
    struct kb_doc *d = kb_doc_new(KB_KIND_KNOWN_ERROR);
    kb_doc_set(&d->id, "KE-7001");
    kb_doc_set(&d->title, "邮件延迟");
    kb_doc_set(&d->visibility, "internal");
    kb_doc_set(&d->symptom, "邮件晚到");
    kb_doc_set(&d->status, "workaround");
    kb_doc_set(&d->source, "known_errors/ke.md");
    OK(store_knowledge_import(g.s, a, d));
    assert_int_equal(store_knowledge_import(g.s, a, d), STORE_ECONFLICT);
    assert_string_equal(state_of("KE-7001"), "published");
    struct store_knowledge k;
    OK(store_knowledge_get(g.s, "KE-7001", a, 0, &k));
    assert_string_equal(k.kind, "known_error");
    assert_int_equal(k.published_version, 1);
    assert_string_equal(k.doc->symptom, "邮件晚到");
    assert_null(k.doc->source);
    store_knowledge_fin(&k);
    kb_doc_set(&d->id, "bad id!");
    assert_int_equal(store_knowledge_import(g.s, a, d), STORE_EINVALID);
    kb_doc_free(d);

    /* due for review: none now, all live ones a year on */
    int now_due = 0, later_due = 0, published = 0;
    OK(store_knowledge_list(g.s, a, NULL, 1, 0, count_items, &now_due));
    assert_int_equal(now_due, 0);
    OK(store_knowledge_list(g.s, a, "published", 0, 0, count_items, &published));
    OK(store_knowledge_list(g.s, a, NULL, 1, time(NULL) + 365 * 86400, count_items,
                            &later_due));
    assert_int_equal(later_due,
                     q_ll("SELECT count(*) FROM knowledge_items WHERE published_version"
                          " IS NOT NULL", NULL));
    assert_true(published >= 1);
    assert_int_equal(store_knowledge_list(g.s, a, "lost", 0, 0, count_items, &published),
                     STORE_EINVALID);
}

/* What indexer follow relies on: the highest index_seq moves on publish,
 * and a LISTENing connection is woken by the NOTIFY of the commit. */
static void follow_primitives(void **state)
{
    (void)state;
    int64_t a = mk_agent(), r = mk_agent();
    OK(store_person_role(g.s, r, "knowledge_reviewer", 1));
    struct store *l = NULL;
    char err[STORE_ERR_MAX];
    assert_int_equal(store_open(g.conninfo, &l, err, sizeof err), 0);
    assert_int_equal(store_knowledge_listen(l), 0);
    int notified = -1;
    assert_int_equal(store_knowledge_wait(l, 10, &notified), 0);
    assert_int_equal(notified, 0);
    int64_t before = 0, after = 0;
    OK(store_knowledge_seq(g.s, &before));
    char id[STORE_DOCID_MAX];
    mk_item(a, "跟随测试", id);
    OK(store_knowledge_submit(g.s, id, a, NULL));
    OK(store_knowledge_approve(g.s, id, r, 0, NULL));
    OK(store_knowledge_seq(g.s, &after));
    assert_int_equal(after, before); /* nothing for the index yet */
    OK(store_knowledge_publish(g.s, id, a, 0));
    OK(store_knowledge_seq(g.s, &after));
    assert_true(after > before);
    assert_int_equal(store_knowledge_wait(l, 5000, &notified), 0);
    assert_int_equal(notified, 1);
    /* consumed: no second wake-up for the same commit */
    assert_int_equal(store_knowledge_wait(l, 10, &notified), 0);
    assert_int_equal(notified, 0);
    store_close(l);
}

/* ---- from ticket to knowledge ------------------------------------------------ */

static void from_ticket_prefills_and_writes_its_event(void **state)
{
    (void)state;
    int64_t req = mk_requester(), agent = mk_agent(), other = mk_agent();
    int64_t conv = 0;
    int seq = 0, dup = 0;
    OK(store_conversation_create(g.s, req, &conv));
    OK(store_message_add(g.s, conv, req, "c1", "打印机脱机\n无法打印", &seq, &dup));
    OK(store_message_add(g.s, conv, req, "c2", "换了网线也不行", &seq, &dup));
    struct store_ticket t;
    OK(store_escalate(g.s, conv, req, "打印机脱机", "硬件/打印机", 2, 2, NULL, 0, &t));
    char number[STORE_NUMBER_MAX];
    snprintf(number, sizeof number, "%s", t.number);
    store_ticket_fin(&t);
    char id[STORE_DOCID_MAX];
    int existed = -1;
    long long items = q_ll("SELECT count(*) FROM knowledge_items", NULL);

    /* open: refused, nothing written */
    assert_int_equal(store_knowledge_from_ticket(g.s, number, agent, "article", NULL, id, &existed),
                     STORE_ECONFLICT);
    assert_non_null(strstr(store_errmsg(g.s), "resolved or closed"));
    assert_string_equal(id, "");
    OK(store_ticket_take(g.s, number, agent));
    assert_int_equal(store_knowledge_from_ticket(g.s, number, agent, "article", NULL, id, NULL),
                     STORE_ECONFLICT);
    OK(store_ticket_resolve(g.s, number, agent, "更新打印机驱动后恢复"));
    /* who may not, what does not exist */
    assert_int_equal(store_knowledge_from_ticket(g.s, number, req, "article", NULL, id, NULL),
                     STORE_EFORBIDDEN);
    assert_int_equal(store_knowledge_from_ticket(g.s, number, agent, "standard", NULL, id, NULL),
                     STORE_EINVALID);
    assert_int_equal(store_knowledge_from_ticket(g.s, "INC-999999", agent, "article", NULL, id, NULL),
                     STORE_ENOTFOUND);
    assert_int_equal(q_ll("SELECT count(*) FROM knowledge_items", NULL), items);

    /* an article: another agent may write it too */
    OK(store_knowledge_from_ticket(g.s, number, other, "article", "k1", id, &existed));
    assert_int_equal(existed, 0);
    assert_non_null(strstr(id, "KB-D"));
    struct store_knowledge k;
    OK(store_knowledge_get(g.s, id, agent, 0, &k));
    assert_string_equal(k.state, "draft");
    assert_string_equal(k.source_ticket, number);
    assert_int_equal(k.owner_id, other);
    assert_string_equal(k.doc->title, "打印机脱机");
    assert_string_equal(k.doc->category, "硬件/打印机");
    assert_string_equal(k.doc->visibility, "internal");
    assert_non_null(strstr(k.doc->body, "> 打印机脱机\n> 无法打印\n>\n> 换了网线也不行\n"));
    assert_non_null(strstr(k.doc->body, "## 解决方案\n\n更新打印机驱动后恢复"));
    store_knowledge_fin(&k);
    char want[64];
    snprintf(want, sizeof want, "created|from ticket %s", number);
    assert_string_equal(q_str("SELECT e.type || '|' || e.comment FROM knowledge_events e JOIN"
                              " knowledge_items i ON i.id = e.item_id WHERE i.doc_id = $1",
                              id),
                        want);
    assert_int_equal(events_of(id), 1);
    /* the same key: the same item, nothing written */
    char again[STORE_DOCID_MAX];
    OK(store_knowledge_from_ticket(g.s, number, other, "article", "k1", again, &existed));
    assert_int_equal(existed, 1);
    assert_string_equal(again, id);
    assert_int_equal(q_ll("SELECT count(*) FROM knowledge_items", NULL), items + 1);

    /* a known error */
    OK(store_knowledge_from_ticket(g.s, number, agent, "known_error", NULL, id, NULL));
    OK(store_knowledge_get(g.s, id, agent, 0, &k));
    assert_string_equal(k.kind, "known_error");
    assert_non_null(strstr(k.doc->symptom, "打印机脱机\n"));
    assert_non_null(strstr(k.doc->symptom, "> 换了网线也不行"));
    assert_string_equal(k.doc->resolution, "更新打印机驱动后恢复");
    assert_string_equal(k.doc->status, "resolved");
    assert_string_equal(k.source_ticket, number);
    store_knowledge_fin(&k);
    /* an item written from scratch has no ticket */
    char plain[STORE_DOCID_MAX];
    mk_item(agent, "无来源", plain);
    OK(store_knowledge_get(g.s, plain, agent, 0, &k));
    assert_string_equal(k.source_ticket, "");
    store_knowledge_fin(&k);

    /* who may review */
    int may = -1;
    OK(store_knowledge_may_review(g.s, agent, &may));
    assert_int_equal(may, 0);
    OK(store_knowledge_may_review(g.s, req, &may));
    assert_int_equal(may, 0);
    OK(store_person_role(g.s, agent, "knowledge_reviewer", 1));
    OK(store_knowledge_may_review(g.s, agent, &may));
    assert_int_equal(may, 1);
    OK(store_person_role(g.s, agent, "knowledge_reviewer", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_is_the_lifecycle),
        cmocka_unit_test(lifecycle_end_to_end),
        cmocka_unit_test(restore_brings_back_old_text),
        cmocka_unit_test(requester_and_bad_input),
        cmocka_unit_test(import_and_due_for_review),
        cmocka_unit_test(follow_primitives),
        cmocka_unit_test(from_ticket_prefills_and_writes_its_event),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
