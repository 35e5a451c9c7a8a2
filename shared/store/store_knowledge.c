/* store_knowledge: knowledge items, their versions and their review
 * lifecycle (tables knowledge_items, knowledge_versions, knowledge_events).
 * The lifecycle is one table, `transitions` below: each function that
 * changes an item locks its row, checks who asks, asks
 * store_knowledge_next() whether the item's state allows the change and
 * what state follows, and writes the item, its new version if any and its
 * knowledge_events row in the same transaction; no
 * function writes a state of its own choosing. A version is stored as the
 * JSON kb_doc_to_json writes, with the item's doc id in it, so the indexer
 * and the exporter read back the same struct kb_doc the files give. */
#include "store_int.h"

#include <poll.h>
#include <string.h>

#include "kb_doc.h"
#include "kb_calendar.h"
#include "kb_util.h"

/* pg_advisory_xact_lock key taken before an index_seq is drawn, held to
 * the commit: index_seq values become visible in their order, so a reader
 * that has seen seq N has seen every seq below N ("kbknow") */
#define INDEX_SEQ_LOCK "107098110111119"

static int index_seq_lock(struct store *s)
{
    return st_exec(s, "SELECT pg_advisory_xact_lock(" INDEX_SEQ_LOCK ")", NULL, NULL);
}

/* ---- the lifecycle: one table ------------------------------------------ */

static const struct st_transition transitions[] = {
    {"created", NULL, "draft"},
    {"imported", NULL, "published"},
    {"saved", "draft", "draft"},
    {"saved", "published", "draft"},
    {"saved", "retired", "draft"},
    {"restored", "draft", "draft"},
    {"restored", "published", "draft"},
    {"restored", "retired", "draft"},
    {"submitted", "draft", "in_review"},
    {"approved", "in_review", "approved"},
    {"returned", "in_review", "draft"},
    {"returned", "approved", "draft"},
    {"published", "approved", "published"},
    {"retired", "draft", "retired"},
    {"retired", "in_review", "retired"},
    {"retired", "approved", "retired"},
    {"retired", "published", "retired"},
};
#define NTRANSITIONS (sizeof transitions / sizeof transitions[0])

const char *store_knowledge_next(const char *from, const char *event)
{
    return st_transition_next(transitions, NTRANSITIONS, from, event);
}

/* ---- who may author ------------------------------------------------------ */

/* The role of actor, who must be an enabled agent or admin, into role;
 * STORE_EFORBIDDEN otherwise. */
static int staff_only(struct store *s, int64_t actor, char role[STORE_WORD_MAX])
{
    int rc = st_person_role(s, actor, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !st_is_staff(role)))
        return st_seterr(s, STORE_EFORBIDDEN, "person %lld may not work on knowledge",
                         (long long)actor);
    return rc;
}

/* ---- documents ------------------------------------------------------------ */

void store_knowledge_fin(struct store_knowledge *k)
{
    if (!k)
        return;
    kb_doc_free(k->doc);
    memset(k, 0, sizeof *k);
}

/* doc as the JSON of a version: a copy with id doc_id and no source, as a
 * heap string (caller frees); NULL with STORE_EINVALID in s->err when its
 * kind, title, visibility, lang, status or updated date is not one the
 * Markdown corpus format allows (kb_md), so that every item exports. */
static char *version_json(struct store *s, const struct kb_doc *doc, const char *doc_id)
{
    if (doc->kind != KB_KIND_ARTICLE && doc->kind != KB_KIND_KNOWN_ERROR) {
        st_seterr(s, STORE_EINVALID, "only articles and known errors are stored, not %s",
                  kb_kind_name(doc->kind));
        return NULL;
    }
    if (!doc->title || !doc->title[0]) {
        st_seterr(s, STORE_EINVALID, "a title is required");
        return NULL;
    }
    if (!doc->visibility ||
        (strcmp(doc->visibility, "public") != 0 && strcmp(doc->visibility, "internal") != 0)) {
        st_seterr(s, STORE_EINVALID, "visibility is public or internal");
        return NULL;
    }
    static const struct {
        const char *name, *values;
    } enums[] = {{"lang", "|zh|en|mixed|"}, {"status", "|open|workaround|resolved|"}};
    const char *ev[] = {doc->lang, doc->status};
    for (int i = 0; i < 2; i++) {
        char bar[32];
        snprintf(bar, sizeof bar, "|%s|", ev[i] ? ev[i] : "");
        if (ev[i] && (!ev[i][0] || strlen(ev[i]) > 16 || !strstr(enums[i].values, bar))) {
            st_seterr(s, STORE_EINVALID, "%s is one of %s", enums[i].name, enums[i].values);
            return NULL;
        }
    }
    const char *one_line[] = {doc->title, doc->category, doc->tags, doc->product, doc->service};
    static const char *const one_name[] = {"title", "category", "tags", "product", "service"};
    for (int i = 0; i < 5; i++)
        if (one_line[i] && strpbrk(one_line[i], "\r\n")) {
            st_seterr(s, STORE_EINVALID, "%s is one line", one_name[i]);
            return NULL;
        }
    if (doc->updated && kbcal_parse_date(doc->updated, &(int32_t){0}) != 0) {
        st_seterr(s, STORE_EINVALID, "updated is a date YYYY-MM-DD");
        return NULL;
    }
    char *js = kb_doc_to_json(doc);
    char err[128];
    struct kb_doc *c = kb_doc_from_json(js, strlen(js), err, sizeof err);
    free(js);
    if (!c) {
        st_seterr(s, STORE_EINVALID, "%s", err);
        return NULL;
    }
    kb_doc_set(&c->id, doc_id);
    kb_doc_set(&c->source, NULL);
    c->source_line = 0;
    c->body_composed = 0;
    js = kb_doc_to_json(c);
    kb_doc_free(c);
    return js;
}

static struct kb_doc *doc_parse(struct store *s, const char *json)
{
    char err[128];
    struct kb_doc *d = json ? kb_doc_from_json(json, strlen(json), err, sizeof err) : NULL;
    if (!d)
        st_seterr(s, STORE_EINVALID, "a stored version does not parse: %s",
                  json ? err : "missing");
    return d;
}

/* ---- the item row ---------------------------------------------------------- */

struct item {
    int64_t id;
    char state[STORE_WORD_MAX];
    char kind[STORE_WORD_MAX];
    int version, published_version;
    int64_t owner_id, author_id;
};

/* Reads (and locks, if lock) item doc_id into *it. */
static int item_read(struct store *s, const char *doc_id, int lock, struct item *it)
{
    struct params p = {0};
    p_str(&p, doc_id ? doc_id : "");
    int rc = 0;
    PGresult *r = st_run(s, &rc,
                         lock ? "SELECT i.id, i.state, i.kind, i.version, i.published_version,"
                                " i.owner_id, v.author_id FROM knowledge_items i"
                                " JOIN knowledge_versions v ON v.item_id = i.id"
                                " AND v.version = i.version WHERE i.doc_id = $1 FOR UPDATE OF i"
                              : "SELECT i.id, i.state, i.kind, i.version, i.published_version,"
                                " i.owner_id, v.author_id FROM knowledge_items i"
                                " JOIN knowledge_versions v ON v.item_id = i.id"
                                " AND v.version = i.version WHERE i.doc_id = $1",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        rc = st_seterr(s, STORE_ENOTFOUND, "no knowledge item %s", doc_id ? doc_id : "");
    } else {
        it->id = g_i64(r, 0, 0);
        g_copy(it->state, sizeof it->state, r, 0, 1);
        g_copy(it->kind, sizeof it->kind, r, 0, 2);
        it->version = g_int(r, 0, 3);
        it->published_version = g_int(r, 0, 4);
        it->owner_id = g_i64(r, 0, 5);
        it->author_id = g_i64(r, 0, 6);
    }
    PQclear(r);
    return rc;
}

static int step(struct store *s, const char *doc_id, const char *from, const char *event,
                const char *what, const char **to)
{
    *to = store_knowledge_next(from, event);
    if (!*to)
        return st_seterr(s, STORE_EINVALID, "%s is %s: cannot %s", doc_id, from, what);
    return 0;
}

static int event_add(struct store *s, int64_t item, int64_t actor, const char *type,
                     const char *from, const char *to, int version, const char *comment)
{
    struct params p = {0};
    p_i64(&p, item);
    p_id(&p, actor);
    p_str(&p, type);
    p_str(&p, from);
    p_str(&p, to);
    p_i64(&p, version);
    p_str(&p, comment);
    return st_exec(s,
                   "INSERT INTO knowledge_events (item_id, actor_id, type, from_state, to_state,"
                   " version, comment) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                   &p, NULL);
}

static int version_add(struct store *s, int64_t item, int version, const char *json,
                       int64_t author, int restored_from)
{
    struct params p = {0};
    p_i64(&p, item);
    p_i64(&p, version);
    p_str(&p, json);
    p_i64(&p, author);
    p_id(&p, restored_from);
    return st_exec(s,
                   "INSERT INTO knowledge_versions (item_id, version, doc, author_id,"
                   " restored_from) VALUES ($1, $2, $3::jsonb, $4, $5)",
                   &p, NULL);
}

/* ---- creating and saving ------------------------------------------------------ */

/* The body of create and import: a new item doc_id (NULL: generated from
 * its row id) in the state the table gives event, version 1. */
static int item_insert(struct store *s, int64_t actor, const struct kb_doc *doc,
                       const char *event, const char *doc_id, const char *idem,
                       int64_t source_ticket, const char *comment, char out[STORE_DOCID_MAX])
{
    char role[STORE_WORD_MAX];
    const char *to = store_knowledge_next(NULL, event);
    int rc = staff_only(s, actor, role);
    if (rc)
        return rc;
    /* the row id first: a generated doc id is made from it */
    PGresult *r = st_run(s, &rc, "SELECT nextval('knowledge_items_id_seq')", NULL);
    if (!r)
        return rc;
    int64_t id = g_i64(r, 0, 0);
    PQclear(r);
    char gen[STORE_DOCID_MAX];
    if (!doc_id) {
        snprintf(gen, sizeof gen, "%s-D%06lld", doc->kind == KB_KIND_ARTICLE ? "KB" : "KE",
                 (long long)id);
        doc_id = gen;
    }
    char *js = version_json(s, doc, doc_id);
    if (!js)
        return STORE_EINVALID;
    if (strcmp(to, "published") == 0 && (rc = index_seq_lock(s)) != 0) {
        free(js);
        return rc;
    }
    struct params p = {0};
    p_i64(&p, id);
    p_str(&p, doc_id);
    p_str(&p, kb_kind_name(doc->kind));
    p_str(&p, to);
    p_i64(&p, actor);
    p_i64(&p, STORE_KNOWLEDGE_REVIEW_DAYS);
    p_str(&p, idem);
    p_id(&p, source_ticket);
    rc = st_exec(s,
                 "INSERT INTO knowledge_items (id, doc_id, kind, state, version,"
                 " published_version, owner_id, review_due, index_seq, idempotency_key,"
                 " source_ticket)"
                 " VALUES ($1, $2, $3, $4, 1, CASE WHEN $4 = 'published' THEN 1 END, $5,"
                 " CASE WHEN $4 = 'published' THEN now() + make_interval(days => $6::int) END,"
                 " CASE WHEN $4 = 'published' THEN nextval('knowledge_index_seq') ELSE 0 END,"
                 " $7, $8)",
                 &p, NULL);
    if (rc == 0)
        rc = version_add(s, id, 1, js, actor, 0);
    free(js);
    if (rc == 0)
        rc = event_add(s, id, actor, event, NULL, to, 1, comment);
    if (rc == 0 && strcmp(to, "published") == 0)
        rc = st_exec(s, "NOTIFY " STORE_KNOWLEDGE_CHANNEL, NULL, NULL);
    if (rc == 0 && out)
        snprintf(out, STORE_DOCID_MAX, "%s", doc_id);
    return rc;
}

/* The item actor created with idempotency key idem into out; *found 0 if
 * none. */
static int idem_find(struct store *s, int64_t actor, const char *idem,
                     char out[STORE_DOCID_MAX], int *found)
{
    struct params p = {0};
    p_i64(&p, actor);
    p_str(&p, idem);
    int rc = 0;
    *found = 0;
    PGresult *r = st_run(s, &rc,
                         "SELECT doc_id FROM knowledge_items WHERE owner_id = $1"
                         " AND idempotency_key = $2",
                         &p);
    if (r && PQntuples(r) > 0) {
        *found = 1;
        if (out)
            g_copy(out, STORE_DOCID_MAX, r, 0, 0);
    }
    PQclear(r);
    return rc;
}

int store_knowledge_create(struct store *s, int64_t actor, const struct kb_doc *doc,
                           const char *idempotency_key, char doc_id[STORE_DOCID_MAX],
                           int *existed)
{
    if (doc_id)
        doc_id[0] = '\0';
    if (existed)
        *existed = 0;
    int rc = STORE_ECONFLICT;
    /* twice at most: a concurrent request with the same key that committed
     * first is a conflict the second round finds */
    for (int round = 0; round < 2 && rc == STORE_ECONFLICT; round++) {
        rc = st_begin(s, "knowledge_create");
        if (rc)
            return rc;
        int found = 0;
        if (idempotency_key) {
            char role[STORE_WORD_MAX];
            rc = staff_only(s, actor, role);
            if (rc == 0)
                rc = idem_find(s, actor, idempotency_key, doc_id, &found);
        }
        if (rc == 0 && found && existed)
            *existed = 1;
        if (rc == 0 && !found)
            rc = item_insert(s, actor, doc, "created", NULL, idempotency_key, 0, NULL, doc_id);
        rc = st_finish(s, rc);
    }
    return rc;
}

int st_knowledge_draft(struct store *s, int64_t actor, const struct kb_doc *doc,
                       char doc_id[STORE_DOCID_MAX])
{
    return item_insert(s, actor, doc, "created", NULL, NULL, 0, NULL, doc_id);
}

int store_knowledge_import(struct store *s, int64_t actor, const struct kb_doc *doc)
{
    int rc = st_begin(s, "knowledge_import");
    if (rc)
        return rc;
    if (!doc->id || !doc->id[0])
        rc = st_seterr(s, STORE_EINVALID, "an imported document needs its id");
    if (rc == 0)
        rc = item_insert(s, actor, doc, "imported", doc->id, NULL, 0, NULL, NULL);
    if (rc == STORE_ECONFLICT)
        rc = st_seterr(s, STORE_ECONFLICT, "%s exists already", doc->id);
    return st_finish(s, rc);
}

/* The body of save and restore: a new version json (owned by the caller)
 * of the locked item it after the version check. */
static int version_save(struct store *s, const char *doc_id, const struct item *it,
                        int64_t actor, int expected, const char *event, const char *json,
                        int restored_from, int *version)
{
    const char *to = NULL;
    if (expected != it->version)
        return st_seterr(s, STORE_ECONFLICT,
                         "%s is at version %d, not %d: someone saved it meanwhile;"
                         " reload it and apply your change again",
                         doc_id, it->version, expected);
    int rc = step(s, doc_id, it->state, event, "edit it (return it to draft first)", &to);
    int v = it->version + 1;
    if (rc == 0)
        rc = version_add(s, it->id, v, json, actor, restored_from);
    struct params p = {0};
    p_i64(&p, it->id);
    p_i64(&p, v);
    p_str(&p, to);
    if (rc == 0)
        rc = st_exec(s,
                     "UPDATE knowledge_items SET version = $2, state = $3, updated_at = now()"
                     " WHERE id = $1",
                     &p, NULL);
    if (rc == 0)
        rc = event_add(s, it->id, actor, event, it->state, to, v, NULL);
    if (rc == 0 && version)
        *version = v;
    return rc;
}

int store_knowledge_save(struct store *s, const char *doc_id, int64_t actor,
                         int expected_version, const struct kb_doc *doc, int *version)
{
    char role[STORE_WORD_MAX];
    struct item it;
    char *js = NULL;
    int rc = st_begin(s, "knowledge_save");
    if (rc)
        return rc;
    rc = staff_only(s, actor, role);
    if (rc == 0)
        rc = item_read(s, doc_id, 1, &it);
    if (rc == 0 && strcmp(kb_kind_name(doc->kind), it.kind) != 0)
        rc = st_seterr(s, STORE_EINVALID, "%s is a %s, not a %s", doc_id, it.kind,
                       kb_kind_name(doc->kind));
    if (rc == 0 && !(js = version_json(s, doc, doc_id)))
        rc = STORE_EINVALID;
    if (rc == 0)
        rc = version_save(s, doc_id, &it, actor, expected_version, "saved", js, 0, version);
    free(js);
    return st_finish(s, rc);
}

int store_knowledge_restore(struct store *s, const char *doc_id, int64_t actor,
                            int expected_version, int from, int *version)
{
    char role[STORE_WORD_MAX];
    struct item it;
    char *js = NULL;
    int rc = st_begin(s, "knowledge_restore");
    if (rc)
        return rc;
    rc = staff_only(s, actor, role);
    if (rc == 0)
        rc = item_read(s, doc_id, 1, &it);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, it.id);
        p_i64(&p, from);
        PGresult *r = st_run(s, &rc,
                             "SELECT doc::text FROM knowledge_versions"
                             " WHERE item_id = $1 AND version = $2",
                             &p);
        if (r && PQntuples(r) == 0)
            rc = st_seterr(s, STORE_ENOTFOUND, "%s has no version %d", doc_id, from);
        else if (r)
            js = kb_xstrdup(g_str(r, 0, 0));
        PQclear(r);
    }
    if (rc == 0)
        rc = version_save(s, doc_id, &it, actor, expected_version, "restored", js, from,
                          version);
    free(js);
    return st_finish(s, rc);
}

/* ---- the review steps ---------------------------------------------------------- */

enum who { ANY_STAFF, REVIEWER, REVIEWER_OR_OWNER };

/* One lifecycle step of doc_id by actor: who may, the table, the item's
 * new state (and on publish or retire its live version, review date and
 * index_seq, with a NOTIFY), and the event. */
static int transition(struct store *s, const char *op, const char *doc_id, int64_t actor,
                      enum who who, int allow_self, const char *event, const char *what,
                      const char *comment, time_t review_due)
{
    char role[STORE_WORD_MAX];
    struct item it;
    const char *to = NULL;
    int rc = st_begin(s, op);
    if (rc)
        return rc;
    /* a comment over 2000 characters: the schema's CHECK, STORE_EINVALID */
    rc = staff_only(s, actor, role);
    if (rc == 0)
        rc = item_read(s, doc_id, 1, &it);
    if (rc == 0 && who != ANY_STAFF) {
        int reviewer = 0;
        rc = st_role_has(s, actor, "knowledge_reviewer", &reviewer);
        reviewer = reviewer || strcmp(role, "admin") == 0;
        if (rc == 0 && !reviewer && !(who == REVIEWER_OR_OWNER && actor == it.owner_id))
            rc = st_seterr(s, STORE_EFORBIDDEN, "person %lld is not a knowledge reviewer%s",
                           (long long)actor, who == REVIEWER_OR_OWNER ? " nor the owner" : "");
    }
    if (rc == 0 && strcmp(event, "approved") == 0 && !allow_self && actor == it.author_id)
        rc = st_seterr(s, STORE_EFORBIDDEN,
                       "person %lld wrote version %d of %s and may not approve it",
                       (long long)actor, it.version, doc_id);
    if (rc == 0 && strcmp(event, "returned") == 0 && (!comment || !comment[0]))
        rc = st_seterr(s, STORE_EINVALID, "returning %s needs a comment", doc_id);
    if (rc == 0)
        rc = step(s, doc_id, it.state, event, what, &to);
    struct params p = {0};
    p_i64(&p, it.id);
    p_str(&p, to);
    int index = strcmp(event, "published") == 0 || strcmp(event, "retired") == 0;
    if (rc == 0 && index)
        rc = index_seq_lock(s);
    if (rc == 0 && strcmp(event, "published") == 0) {
        p_time(&p, review_due);
        p_i64(&p, STORE_KNOWLEDGE_REVIEW_DAYS);
        rc = st_exec(s,
                     "UPDATE knowledge_items SET state = $2, published_version = version,"
                     " review_due = coalesce(to_timestamp($3::float8),"
                     "  now() + make_interval(days => $4::int)),"
                     " index_seq = nextval('knowledge_index_seq'), updated_at = now()"
                     " WHERE id = $1",
                     &p, NULL);
    } else if (rc == 0 && strcmp(event, "retired") == 0) {
        rc = st_exec(s,
                     "UPDATE knowledge_items SET state = $2, published_version = NULL,"
                     " review_due = NULL, index_seq = nextval('knowledge_index_seq'),"
                     " updated_at = now() WHERE id = $1",
                     &p, NULL);
    } else if (rc == 0) {
        rc = st_exec(s, "UPDATE knowledge_items SET state = $2, updated_at = now() WHERE id = $1",
                     &p, NULL);
    }
    if (rc == 0)
        rc = event_add(s, it.id, actor, event, it.state, to, it.version, comment);
    if (rc == 0 && index)
        rc = st_exec(s, "NOTIFY " STORE_KNOWLEDGE_CHANNEL, NULL, NULL);
    return st_finish(s, rc);
}

int store_knowledge_submit(struct store *s, const char *doc_id, int64_t actor,
                           const char *comment)
{
    return transition(s, "knowledge_submit", doc_id, actor, ANY_STAFF, 1, "submitted",
                      "submit it", comment, 0);
}

int store_knowledge_approve(struct store *s, const char *doc_id, int64_t actor, int allow_self,
                            const char *comment)
{
    return transition(s, "knowledge_approve", doc_id, actor, REVIEWER, allow_self, "approved",
                      "approve it", comment, 0);
}

int store_knowledge_return(struct store *s, const char *doc_id, int64_t actor,
                           const char *comment)
{
    return transition(s, "knowledge_return", doc_id, actor, REVIEWER, 1, "returned",
                      "return it", comment, 0);
}

int store_knowledge_publish(struct store *s, const char *doc_id, int64_t actor,
                            time_t review_due)
{
    return transition(s, "knowledge_publish", doc_id, actor, ANY_STAFF, 1, "published",
                      "publish it (it needs a reviewer's approval)", NULL, review_due);
}

int store_knowledge_retire(struct store *s, const char *doc_id, int64_t actor,
                           const char *comment)
{
    return transition(s, "knowledge_retire", doc_id, actor, REVIEWER_OR_OWNER, 1, "retired",
                      "retire it", comment, 0);
}

/* ---- reading ---------------------------------------------------------------------- */

#define ITEM_SELECT                                                                          \
    "SELECT i.id, i.doc_id, i.kind, i.state, i.version, i.published_version, i.owner_id,"  \
    " v.author_id, " EPOCH("i.review_due") ", " EPOCH("i.created_at") ", "                   \
    EPOCH("i.updated_at") ", v.version, v.doc::text,"                                        \
    " (SELECT t.number FROM tickets t WHERE t.id = i.source_ticket)"                         \
    " FROM knowledge_items i JOIN knowledge_versions v ON v.item_id = i.id "

/* Fills k from an ITEM_SELECT row, parsing its document. */
static int item_from_row(struct store *s, const PGresult *r, int row, struct store_knowledge *k)
{
    memset(k, 0, sizeof *k);
    k->id = g_i64(r, row, 0);
    g_copy(k->doc_id, sizeof k->doc_id, r, row, 1);
    g_copy(k->kind, sizeof k->kind, r, row, 2);
    g_copy(k->state, sizeof k->state, r, row, 3);
    k->version = g_int(r, row, 4);
    k->published_version = g_int(r, row, 5);
    k->owner_id = g_i64(r, row, 6);
    k->author_id = g_i64(r, row, 7);
    k->review_due = g_i64(r, row, 8);
    k->created_at = g_i64(r, row, 9);
    k->updated_at = g_i64(r, row, 10);
    k->doc_version = g_int(r, row, 11);
    k->doc = doc_parse(s, g_str(r, row, 12));
    g_copy(k->source_ticket, sizeof k->source_ticket, r, row, 13);
    return k->doc ? 0 : STORE_EINVALID;
}

int store_knowledge_get(struct store *s, const char *doc_id, int64_t viewer, int version,
                        struct store_knowledge *out)
{
    memset(out, 0, sizeof *out);
    char role[STORE_WORD_MAX];
    int rc = st_single(s, "knowledge_get");
    if (rc == 0)
        rc = staff_only(s, viewer, role);
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, doc_id ? doc_id : "");
    p_i64(&p, version);
    PGresult *r = st_run(s, &rc,
                         ITEM_SELECT "WHERE i.doc_id = $1"
                                     " AND v.version = CASE WHEN $2 = 0 THEN i.version ELSE $2 END",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0 && version)
        rc = st_seterr(s, STORE_ENOTFOUND, "no version %d of %s", version, doc_id ? doc_id : "");
    else if (PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no knowledge item %s", doc_id ? doc_id : "");
    else
        rc = item_from_row(s, r, 0, out);
    PQclear(r);
    if (rc)
        store_knowledge_fin(out);
    return rc;
}

int store_knowledge_versions(struct store *s, const char *doc_id, int64_t viewer,
                             store_kversion_cb cb, void *arg)
{
    char role[STORE_WORD_MAX];
    struct item it;
    int rc = st_single(s, "knowledge_versions");
    if (rc == 0)
        rc = staff_only(s, viewer, role);
    if (rc == 0)
        rc = item_read(s, doc_id, 0, &it);
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, it.id);
    PGresult *r = st_run(s, &rc,
                         "SELECT v.version, v.author_id, a.name, v.title, v.restored_from, "
                         EPOCH("v.created_at") " FROM knowledge_versions v"
                         " JOIN people a ON a.id = v.author_id WHERE v.item_id = $1"
                         " ORDER BY v.version",
                         &p);
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++) {
        struct store_kversion v = {
            .version = g_int(r, i, 0),
            .author_id = g_i64(r, i, 1),
            .author_name = g_str(r, i, 2),
            .title = g_str(r, i, 3),
            .restored_from = g_int(r, i, 4),
            .at = g_i64(r, i, 5),
        };
        rc = cb(arg, &v);
    }
    PQclear(r);
    return rc;
}

static const char *const states[] = {"draft", "in_review", "approved", "published", "retired"};

int store_knowledge_list(struct store *s, int64_t viewer, const char *state, int due_only,
                         time_t now, store_knowledge_cb cb, void *arg)
{
    return store_knowledge_page(s, viewer, state, due_only, now, NULL, 0, cb, arg);
}

int store_knowledge_page(struct store *s, int64_t viewer, const char *state, int due_only,
                         time_t now, const char *after, int limit, store_knowledge_cb cb,
                         void *arg)
{
    char role[STORE_WORD_MAX];
    int rc = st_single(s, "knowledge_list");
    if (rc == 0)
        rc = staff_only(s, viewer, role);
    if (rc)
        return rc;
    if (state) {
        int known = 0;
        for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
            known |= strcmp(states[i], state) == 0;
        if (!known)
            return st_seterr(s, STORE_EINVALID, "unknown state '%s'", state);
    }
    struct params p = {0};
    p_str(&p, state);
    p_bool(&p, due_only);
    p_time(&p, now);
    p_str(&p, after);
    if (limit > 0)
        p_i64(&p, limit);
    else
        p_add(&p, NULL, 0, 0);
    /* keyset paging on the unique doc_id (knowledge_items_doc_id_key) */
    PGresult *r = st_run(s, &rc,
                         ITEM_SELECT "WHERE v.version = i.version"
                                     " AND ($1::text IS NULL OR i.state = $1)"
                                     " AND (NOT $2::bool OR (i.published_version IS NOT NULL"
                                     "  AND i.review_due < coalesce(to_timestamp($3::float8),"
                                     "  now())))"
                                     " AND ($4::text IS NULL OR i.doc_id > $4)"
                                     " ORDER BY i.doc_id LIMIT $5::bigint",
                         &p);
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++) {
        struct store_knowledge k;
        rc = item_from_row(s, r, i, &k);
        if (rc == 0)
            rc = cb(arg, &k);
        store_knowledge_fin(&k);
    }
    PQclear(r);
    return rc;
}

int store_knowledge_changes(struct store *s, int64_t after, store_knowledge_live_cb cb,
                            void *arg, int64_t *last)
{
    if (last)
        *last = after;
    int rc = st_single(s, "knowledge_changes");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, after);
    /* one statement: one snapshot of every changed item */
    PGresult *r = st_run(s, &rc,
                         "SELECT i.doc_id, i.index_seq, v.doc::text FROM knowledge_items i"
                         " LEFT JOIN knowledge_versions v ON v.item_id = i.id"
                         " AND v.version = i.published_version"
                         " WHERE i.index_seq > $1 AND ($1 > 0 OR i.published_version IS NOT NULL)"
                         " ORDER BY i.index_seq",
                         &p);
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++) {
        struct kb_doc *d = NULL;
        if (g_str(r, i, 2) && !(d = doc_parse(s, g_str(r, i, 2)))) {
            rc = STORE_EINVALID;
            break;
        }
        int64_t seq = g_i64(r, i, 1);
        rc = cb(arg, g_str(r, i, 0), seq, d);
        kb_doc_free(d);
        if (rc == 0 && last)
            *last = seq;
    }
    PQclear(r);
    return rc;
}

/* ---- following the changes ------------------------------------------------------ */

int store_knowledge_seq(struct store *s, int64_t *seq)
{
    *seq = 0;
    int rc = st_single(s, "knowledge_seq");
    if (rc)
        return rc;
    PGresult *r = st_run(s, &rc, "SELECT coalesce(max(index_seq), 0) FROM knowledge_items",
                         NULL);
    if (r)
        *seq = g_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

int store_knowledge_listen(struct store *s)
{
    int rc = st_single(s, "knowledge_listen");
    return rc ? rc : st_exec(s, "LISTEN " STORE_KNOWLEDGE_CHANNEL, NULL, NULL);
}

/* Consumes every pending notification; returns how many. */
static int drain(struct store *s)
{
    int n = 0;
    PGnotify *nt;
    while ((nt = PQnotifies(s->conn)) != NULL) {
        n++;
        PQfreemem(nt);
    }
    return n;
}

int store_knowledge_wait(struct store *s, int timeout_ms, int *notified)
{
    *notified = 0;
    s->op = "knowledge_wait";
    s->err[0] = '\0';
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK)
        return st_seterr(s, STORE_EDB, "not connected");
    if (PQconsumeInput(s->conn) == 0)
        return st_seterr(s, STORE_EDB, "%s", PQerrorMessage(s->conn));
    if (drain(s)) {
        *notified = 1;
        return 0;
    }
    struct pollfd pfd = {.fd = PQsocket(s->conn), .events = POLLIN};
    int pr = poll(&pfd, 1, timeout_ms);
    if (pr < 0)
        return 0; /* a signal: the caller looks at its flags */
    if (pr > 0) {
        if (PQconsumeInput(s->conn) == 0)
            return st_seterr(s, STORE_EDB, "%s", PQerrorMessage(s->conn));
        *notified = drain(s) > 0;
    }
    return 0;
}

/* ---- from ticket to knowledge, and who may review ------------------------- */

int store_knowledge_may_review(struct store *s, int64_t person_id, int *may)
{
    *may = 0;
    char role[STORE_WORD_MAX];
    int rc = st_single(s, "knowledge_may_review");
    if (rc == 0)
        rc = st_person_role(s, person_id, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !st_is_staff(role)))
        return 0;
    if (rc == 0 && strcmp(role, "admin") == 0)
        *may = 1;
    else if (rc == 0)
        rc = st_role_has(s, person_id, "knowledge_reviewer", may);
    return rc;
}

/* text with every line prefixed "> " (a Markdown quote), appended to b. */
static void quote_to(struct kb_buf *b, const char *text)
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        kb_buf_adds(b, n ? "> " : ">");
        kb_buf_add(b, p, n);
        kb_buf_addc(b, '\n');
        p += n;
        if (*p == '\n')
            p++;
    }
}

/* The draft's document from the ticket's fields (requester_words may be
 * NULL); caller frees with kb_doc_free. */
static struct kb_doc *ticket_doc(enum kb_kind kind, const char *summary, const char *category,
                                 const char *resolution, const char *requester_words)
{
    struct kb_doc *d = kb_doc_new(kind);
    kb_doc_set(&d->title, summary);
    kb_doc_set(&d->visibility, "internal");
    if (category && *category)
        kb_doc_set(&d->category, category);
    struct kb_buf b;
    kb_buf_init(&b);
    if (kind == KB_KIND_ARTICLE) {
        kb_buf_adds(&b, "## 问题\n\n");
        kb_buf_adds(&b, summary);
        kb_buf_adds(&b, "\n");
        if (requester_words && *requester_words) {
            kb_buf_adds(&b, "\n用户的描述：\n\n");
            quote_to(&b, requester_words);
        }
        kb_buf_adds(&b, "\n## 解决方案\n\n");
        kb_buf_adds(&b, resolution && *resolution ? resolution : "（待补充）");
        kb_buf_adds(&b, "\n");
        char *body = kb_buf_take(&b);
        kb_doc_set(&d->body, body);
        free(body);
    } else {
        kb_buf_adds(&b, summary);
        kb_buf_adds(&b, "\n");
        if (requester_words && *requester_words) {
            kb_buf_adds(&b, "\n用户的描述：\n\n");
            quote_to(&b, requester_words);
        }
        char *symptom = kb_buf_take(&b);
        kb_doc_set(&d->symptom, symptom);
        free(symptom);
        if (resolution && *resolution)
            kb_doc_set(&d->resolution, resolution);
        kb_doc_set(&d->status, resolution && *resolution ? "resolved" : "open");
    }
    return d;
}

/* The body of store_knowledge_from_ticket, inside its transaction. */
static int from_ticket(struct store *s, const char *number, int64_t actor, enum kb_kind kind,
                       const char *idem, char doc_id[STORE_DOCID_MAX], int *existed,
                       int *refused)
{
    char role[STORE_WORD_MAX];
    int rc = staff_only(s, actor, role);
    int found = 0;
    if (rc == 0 && idem)
        rc = idem_find(s, actor, idem, doc_id, &found);
    if (rc || found) {
        if (found && existed)
            *existed = 1;
        return rc;
    }
    struct params p = {0};
    p_str(&p, number);
    /* the requester's words: their messages in the ticket's conversation,
     * oldest first, at most 4000 characters */
    PGresult *r = st_run(s, &rc,
                         "SELECT t.id, t.status, t.summary, t.category, t.resolution,"
                         " (SELECT left(string_agg(m.body, E'\\n\\n' ORDER BY m.seq), 4000)"
                         "  FROM messages m WHERE m.conversation_id = t.conversation_id"
                         "  AND m.sender_role = 'requester')"
                         " FROM tickets t WHERE t.number = $1",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return st_seterr(s, STORE_ENOTFOUND, "no ticket %s", number);
    }
    const char *status = g_str(r, 0, 1);
    if (strcmp(status, "resolved") != 0 && strcmp(status, "closed") != 0) {
        rc = st_seterr(s, STORE_ECONFLICT,
                       "%s is %s: only a resolved or closed ticket can become knowledge",
                       number, status);
        *refused = 1;
        PQclear(r);
        return rc;
    }
    int64_t ticket = g_i64(r, 0, 0);
    struct kb_doc *d = ticket_doc(kind, g_str(r, 0, 2), PQgetisnull(r, 0, 3) ? NULL : g_str(r, 0, 3),
                                  PQgetisnull(r, 0, 4) ? NULL : g_str(r, 0, 4),
                                  PQgetisnull(r, 0, 5) ? NULL : g_str(r, 0, 5));
    PQclear(r);
    char comment[64];
    snprintf(comment, sizeof comment, "from ticket %s", number);
    rc = item_insert(s, actor, d, "created", NULL, idem, ticket, comment, doc_id);
    kb_doc_free(d);
    return rc;
}

int store_knowledge_from_ticket(struct store *s, const char *number, int64_t actor,
                                const char *kind, const char *idempotency_key,
                                char doc_id[STORE_DOCID_MAX], int *existed)
{
    if (doc_id)
        doc_id[0] = '\0';
    if (existed)
        *existed = 0;
    int k = kb_kind_parse(kind ? kind : "");
    if (k != KB_KIND_ARTICLE && k != KB_KIND_KNOWN_ERROR)
        return st_seterr(s, STORE_EINVALID, "kind is article or known_error");
    int rc = STORE_ECONFLICT;
    /* as store_knowledge_create: a concurrent request with the same key
     * that committed first is found in the second round */
    for (int round = 0; round < 2; round++) {
        rc = st_begin(s, "knowledge_from_ticket");
        if (rc)
            return rc;
        int refused = 0;
        rc = st_finish(s, from_ticket(s, number ? number : "", actor, (enum kb_kind)k,
                                      idempotency_key, doc_id, existed, &refused));
        /* a refused status is a conflict too, but no retry answers otherwise */
        if (rc != STORE_ECONFLICT || !idempotency_key || refused)
            break;
    }
    return rc;
}
