/* store_problem: problem records, their linked incidents and the known
 * error drafted from them (see store_problem.h). One transition table;
 * each change locks the problem's row (SELECT ... FOR UPDATE), checks the
 * table, writes the row and its problem_events row in one transaction. */
#include "store_int.h"
#include "kb_doc.h"
#include "kb_util.h"
#include "kb_utf8.h"

#include <string.h>

static const struct st_transition transitions[] = {
    {"created", NULL, "new"},
    {"investigating", "new", "investigating"},
    {"known_error", "new", "known_error"},
    {"known_error", "investigating", "known_error"},
    {"resolved", "new", "resolved"},
    {"resolved", "investigating", "resolved"},
    {"resolved", "known_error", "resolved"},
    {"closed", "resolved", "closed"},
    {"reopened", "resolved", "investigating"},
};
#define NTRANSITIONS (sizeof transitions / sizeof transitions[0])

const char *store_problem_next(const char *from, const char *event)
{
    return st_transition_next(transitions, NTRANSITIONS, from, event);
}

void store_problem_fin(struct store_problem *p)
{
    if (!p)
        return;
    char **f[] = {&p->summary, &p->description, &p->service, &p->root_cause, &p->workaround,
                  &p->fix};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        free(*f[i]);
    memset(p, 0, sizeof *p);
}

/* ---- reading ------------------------------------------------------------------- */

#define PROBLEM_COLS                                                                       \
    "p.id, p.number, p.status, p.summary, p.description, p.service, p.root_cause,"         \
    " p.workaround, p.fix, p.impact, p.known_error_doc, p.owner_id, o.name,"               \
    " (SELECT count(*) FROM tickets t WHERE t.problem_id = p.id),"                         \
    " (SELECT count(*) FROM tickets t WHERE t.problem_id = p.id"                           \
    "  AND t.status IN ('new', 'assigned', 'reopened', 'pending')), " EPOCH("p.created_at") ", "      \
    EPOCH("p.updated_at") ", " EPOCH("p.resolved_at") ", " EPOCH("p.closed_at")
#define PROBLEM_FROM " FROM problems p JOIN people o ON o.id = p.owner_id"

static char *dup_or_null(const PGresult *r, int row, int col)
{
    const char *v = g_str(r, row, col);
    return v ? kb_xstrdup(v) : NULL;
}

static void problem_read(const PGresult *r, int row, struct store_problem *p)
{
    memset(p, 0, sizeof *p);
    p->id = g_i64(r, row, 0);
    g_copy(p->number, sizeof p->number, r, row, 1);
    g_copy(p->status, sizeof p->status, r, row, 2);
    p->summary = dup_or_null(r, row, 3);
    p->description = dup_or_null(r, row, 4);
    p->service = dup_or_null(r, row, 5);
    p->root_cause = dup_or_null(r, row, 6);
    p->workaround = dup_or_null(r, row, 7);
    p->fix = dup_or_null(r, row, 8);
    p->impact = g_int(r, row, 9);
    g_copy(p->known_error_doc, sizeof p->known_error_doc, r, row, 10);
    p->owner_id = g_i64(r, row, 11);
    g_copy(p->owner_name, sizeof p->owner_name, r, row, 12);
    p->incidents = g_int(r, row, 13);
    p->open_incidents = g_int(r, row, 14);
    p->created_at = g_i64(r, row, 15);
    p->updated_at = g_i64(r, row, 16);
    p->resolved_at = g_i64(r, row, 17);
    p->closed_at = g_i64(r, row, 18);
}

/* Reads problem number (locking its row if lock) into *out. */
static int problem_by_number(struct store *s, const char *number, int lock,
                             struct store_problem *out)
{
    memset(out, 0, sizeof *out);
    if (!number || !*number || strlen(number) >= STORE_NUMBER_MAX)
        return st_seterr(s, STORE_ENOTFOUND, "no such problem");
    struct params p = {0};
    p_str(&p, number);
    int rc = 0;
    PGresult *r = st_run_row(s, &rc,
                             lock ? "SELECT " PROBLEM_COLS PROBLEM_FROM
                                    " WHERE p.number = $1 FOR UPDATE OF p"
                                  : "SELECT " PROBLEM_COLS PROBLEM_FROM " WHERE p.number = $1",
                             &p, "no such problem %s", number);
    if (!r)
        return rc;
    problem_read(r, 0, out);
    PQclear(r);
    return rc;
}

/* Ends a change: reads problem id into *out when rc is 0, then commits
 * (or rolls back); *out is freed on failure. Returns the result. */
static int finish_with(struct store *s, int rc, int64_t id, struct store_problem *out)
{
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, id);
        PGresult *r = st_run(s, &rc, "SELECT " PROBLEM_COLS PROBLEM_FROM " WHERE p.id = $1", &p);
        if (r) {
            problem_read(r, 0, out);
            PQclear(r);
        }
    }
    rc = st_finish(s, rc);
    if (rc)
        store_problem_fin(out);
    return rc;
}

/* The reads of one problem: operation op for viewer, problem number into
 * *out (the caller frees it with store_problem_fin, on failure too). */
static int problem_open(struct store *s, const char *op, const char *number, int64_t viewer,
                        struct store_problem *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, op);
    if (rc == 0)
        rc = st_staff_only(s, viewer, "problems");
    if (rc == 0)
        rc = problem_by_number(s, number, 0, out);
    return rc;
}

int store_problem_get(struct store *s, const char *number, int64_t viewer,
                      struct store_problem *out)
{
    return problem_open(s, "problem_get", number, viewer, out);
}

/* The callback of a list of problems and its argument, for problem_row. */
struct problem_cb {
    int (*cb)(void *ud, const struct store_problem *p);
    void *ud;
};

/* st_rows reader: row i of a PROBLEM_COLS result to the callback in arg. */
static int problem_row(const PGresult *r, int i, void *arg)
{
    const struct problem_cb *c = arg;
    struct store_problem pr;
    problem_read(r, i, &pr);
    int stop = c->cb(c->ud, &pr);
    store_problem_fin(&pr);
    return stop;
}

int store_problem_list(struct store *s, int64_t viewer, const char *status, int64_t after,
                       int limit, int (*cb)(void *ud, const struct store_problem *p), void *ud)
{
    int rc = st_list_open(s, "problem_list", limit, 200);
    if (rc)
        return rc;
    static const char *const states[] = {"open", "new", "investigating", "known_error",
                                         "resolved", "closed"};
    int known = !status;
    for (size_t i = 0; !known && i < sizeof states / sizeof *states; i++)
        known = strcmp(status, states[i]) == 0;
    if (!known)
        return st_seterr(s, STORE_EINVALID,
                         "status must be open, new, investigating, known_error, resolved or"
                         " closed");
    if ((rc = st_staff_only(s, viewer, "problems")) != 0)
        return rc;
    struct params p = {0};
    p_str(&p, status);
    p_i64(&p, after);
    p_i64(&p, limit);
    struct problem_cb c = {cb, ud};
    return st_rows(s,
                   "SELECT " PROBLEM_COLS PROBLEM_FROM
                   " WHERE ($1::text IS NULL OR p.status = $1"
                   "        OR ($1 = 'open' AND p.status NOT IN ('resolved', 'closed')))"
                   " AND ($2::bigint = 0 OR p.id < $2)"
                   " ORDER BY p.id DESC LIMIT $3",
                   &p, problem_row, &c);
}

/* ---- writing ------------------------------------------------------------------- */

static int check_fields(struct store *s, const struct store_problem_fields *f)
{
    int rc = st_text_ok(s, "summary", f->summary, 1, STORE_PROBLEM_SUMMARY_MAX);
    if (rc == 0)
        rc = st_text_ok(s, "description", f->description, 0, STORE_PROBLEM_TEXT_MAX);
    if (rc == 0)
        rc = st_text_ok(s, "service", f->service, 0, 200);
    if (rc == 0)
        rc = st_text_ok(s, "root_cause", f->root_cause, 0, STORE_PROBLEM_TEXT_MAX);
    if (rc == 0)
        rc = st_text_ok(s, "workaround", f->workaround, 0, STORE_PROBLEM_TEXT_MAX);
    if (rc == 0)
        rc = st_text_ok(s, "fix", f->fix, 0, STORE_PROBLEM_TEXT_MAX);
    if (rc == 0 && (f->impact < 0 || f->impact > 3))
        rc = st_seterr(s, STORE_EINVALID, "impact must be 1 (high), 2 or 3 (low)");
    return rc;
}

/* Writes one problem_events row; detail (may be NULL: {}) is stolen. */
static int event_add(struct store *s, int64_t problem, int64_t actor, const char *type,
                     const char *from, const char *to, int64_t ticket, json_t *detail)
{
    char *d = st_detail_text(detail);
    struct params p = {0};
    p_i64(&p, problem);
    p_id(&p, actor);
    p_str(&p, type);
    p_str(&p, from);
    p_str(&p, to);
    p_id(&p, ticket);
    p_str(&p, d);
    int rc = st_exec(s,
                     "INSERT INTO problem_events (problem_id, actor_id, type, from_status,"
                     " to_status, ticket_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
                     &p, NULL);
    free(d);
    return rc;
}

int store_problem_create(struct store *s, int64_t actor, const struct store_problem_fields *f,
                         struct store_problem *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_begin(s, "problem_create");
    if (rc)
        return rc;
    rc = st_staff_only(s, actor, "problems");
    if (rc == 0 && !f->summary)
        rc = st_seterr(s, STORE_EINVALID, "summary is required");
    if (rc == 0)
        rc = check_fields(s, f);
    int64_t id = 0;
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, f->summary);
        p_str(&p, f->description ? f->description : "");
        p_str(&p, f->service && *f->service ? f->service : NULL);
        p_i64(&p, f->impact ? f->impact : 3);
        p_str(&p, f->root_cause ? f->root_cause : "");
        p_str(&p, f->workaround ? f->workaround : "");
        p_str(&p, f->fix ? f->fix : "");
        p_i64(&p, actor);
        rc = st_insert_id(s,
                          "INSERT INTO problems (summary, description, service, impact,"
                          " root_cause, workaround, fix, owner_id)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                          &p, &id);
    }
    if (rc == 0)
        rc = event_add(s, id, actor, "created", NULL, store_problem_next(NULL, "created"), 0,
                       NULL);
    return finish_with(s, rc, id, out);
}

/* Appends to out the name of each field f gives whose value in v is given
 * and differs from cur's: with v = f, the fields an edit changes; with v
 * the editor's starting point (was), those someone changed meanwhile. */
static void fields_differing(json_t *out, const struct store_problem_fields *f,
                             const struct store_problem_fields *v, const struct store_problem *cur)
{
    const struct {
        const char *name, *given, *value, *now;
    } t[] = {{"summary", f->summary, v->summary, cur->summary},
             {"description", f->description, v->description, cur->description},
             {"service", f->service, v->service, cur->service},
             {"root_cause", f->root_cause, v->root_cause, cur->root_cause},
             {"workaround", f->workaround, v->workaround, cur->workaround},
             {"fix", f->fix, v->fix, cur->fix}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (t[i].given)
            st_changed_text(out, t[i].name, t[i].value, t[i].now);
    if (f->impact && v->impact && v->impact != cur->impact)
        json_array_append_new(out, json_string("impact"));
}

int store_problem_edit(struct store *s, const char *number, int64_t actor,
                       const struct store_problem_fields *f,
                       const struct store_problem_fields *was, struct store_problem *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_begin(s, "problem_edit");
    if (rc)
        return rc;
    struct store_problem cur;
    memset(&cur, 0, sizeof cur);
    rc = st_staff_only(s, actor, "problems");
    if (rc == 0)
        rc = check_fields(s, f);
    if (rc == 0)
        rc = problem_by_number(s, number, 1, &cur);
    json_t *changed = json_array();
    if (rc == 0 && was) {
        json_t *stale = json_array();
        fields_differing(stale, f, was, &cur);
        if (json_array_size(stale)) {
            char *names = json_dumps(stale, JSON_COMPACT);
            rc = st_seterr(s, STORE_ECONFLICT, "changed by someone else meanwhile: %s",
                           names ? names : "");
            free(names);
        }
        json_decref(stale);
    }
    if (rc == 0)
        fields_differing(changed, f, f, &cur);
    if (rc == 0 && json_array_size(changed)) {
        struct params p = {0};
        p_i64(&p, cur.id);
        p_str(&p, f->summary);
        p_str(&p, f->description);
        p_str(&p, f->service);
        p_i64(&p, f->impact);
        p_str(&p, f->root_cause);
        p_str(&p, f->workaround);
        p_str(&p, f->fix);
        rc = st_exec(s,
                     "UPDATE problems SET summary = coalesce($2, summary),"
                     " description = coalesce($3, description),"
                     " service = CASE WHEN $4::text IS NULL THEN service"
                     "           WHEN $4 = '' THEN NULL ELSE $4 END,"
                     " impact = CASE WHEN $5::int = 0 THEN impact ELSE $5 END,"
                     " root_cause = coalesce($6, root_cause),"
                     " workaround = coalesce($7, workaround), fix = coalesce($8, fix),"
                     " updated_at = now() WHERE id = $1",
                     &p, NULL);
        if (rc == 0)
            rc = event_add(s, cur.id, actor, "edited", cur.status, cur.status, 0,
                           json_pack("{s:O}", "fields", changed));
    }
    json_decref(changed);
    int64_t id = cur.id;
    store_problem_fin(&cur);
    return finish_with(s, rc, id, out);
}

struct incident_cb {
    int (*cb)(void *ud, const struct store_problem_incident *t); /* NULL: none */
    void *ud;
};

/* st_rows reader of incidents_each. */
static int incident_row(const PGresult *r, int i, void *arg)
{
    const struct incident_cb *c = arg;
    if (!c->cb)
        return 1;
    struct store_problem_incident t;
    memset(&t, 0, sizeof t);
    g_copy(t.number, sizeof t.number, r, i, 0);
    g_copy(t.status, sizeof t.status, r, i, 1);
    t.summary = g_str(r, i, 2);
    t.agent_id = g_i64(r, i, 3);
    t.priority = g_int(r, i, 4);
    t.created_at = g_i64(r, i, 5);
    return c->cb(c->ud, &t);
}

/* Calls cb for each incident of problem id matching the extra condition. */
static int incidents_each(struct store *s, int64_t id, int only_open,
                          int (*cb)(void *ud, const struct store_problem_incident *t), void *ud)
{
    struct params p = {0};
    p_i64(&p, id);
    p_bool(&p, only_open);
    struct incident_cb c = {cb, ud};
    return st_rows(s,
                   "SELECT number, status, summary, agent_id, priority, " EPOCH("created_at")
                   " FROM tickets WHERE problem_id = $1"
                   " AND (NOT $2 OR status IN ('new', 'assigned', 'reopened', 'pending'))"
                   " ORDER BY id",
                   &p, incident_row, &c);
}

int store_problem_step(struct store *s, const char *number, int64_t actor, const char *event,
                       const char *comment, struct store_problem *out,
                       int (*open_cb)(void *ud, const struct store_problem_incident *t),
                       void *ud)
{
    memset(out, 0, sizeof *out);
    static const char *const steps[] = {"investigating", "known_error", "resolved", "closed",
                                        "reopened"};
    int known = 0;
    for (size_t i = 0; event && i < sizeof steps / sizeof *steps; i++)
        known |= strcmp(event, steps[i]) == 0;
    int rc = st_begin(s, "problem_step");
    if (rc)
        return rc;
    struct store_problem cur;
    memset(&cur, 0, sizeof cur);
    if (!known)
        rc = st_seterr(s, STORE_EINVALID,
                       "unknown step (investigating, known_error, resolved, closed, reopened)");
    if (rc == 0)
        rc = st_staff_only(s, actor, "problems");
    if (rc == 0)
        rc = st_text_ok(s, "comment", comment, 0, 2000);
    if (rc == 0)
        rc = problem_by_number(s, number, 1, &cur);
    const char *to = NULL;
    if (rc == 0 && !(to = store_problem_next(cur.status, event)))
        rc = st_seterr(s, STORE_EINVALID, "%s is %s: it cannot be %s", cur.number, cur.status,
                       event);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, cur.id);
        p_str(&p, to);
        rc = st_exec(s,
                     "UPDATE problems SET status = $2, updated_at = now(),"
                     " resolved_at = CASE WHEN $2 IN ('resolved', 'closed')"
                     "               THEN coalesce(resolved_at, now()) END,"
                     " closed_at = CASE WHEN $2 = 'closed' THEN now() END WHERE id = $1",
                     &p, NULL);
    }
    if (rc == 0)
        rc = event_add(s, cur.id, actor, event, cur.status, to, 0,
                       comment ? json_pack("{s:s}", "comment", comment) : NULL);
    if (rc == 0 && strcmp(event, "resolved") == 0 && open_cb)
        rc = incidents_each(s, cur.id, 1, open_cb, ud);
    int64_t id = cur.id;
    store_problem_fin(&cur);
    return finish_with(s, rc, id, out);
}

int store_problem_link(struct store *s, const char *number, const char *ticket, int64_t actor,
                       int link)
{
    int rc = st_begin_staff(s, link ? "problem_link" : "problem_unlink", actor, "problems");
    if (rc)
        return rc;
    struct store_problem cur;
    rc = problem_by_number(s, number, 1, &cur);
    if (rc == 0 && link && strcmp(cur.status, "closed") == 0)
        rc = st_seterr(s, STORE_EINVALID, "%s is closed: incidents cannot be linked to it",
                       cur.number);
    int64_t tid = 0, was = 0;
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, ticket ? ticket : "");
        PGresult *r = st_run_row(s, &rc,
                                 "SELECT id, problem_id FROM tickets WHERE number = $1 FOR UPDATE",
                                 &p, "no such ticket %s", ticket ? ticket : "");
        if (r) {
            tid = g_i64(r, 0, 0);
            was = g_i64(r, 0, 1);
            PQclear(r);
        }
    }
    if (rc == 0 && !link && was != cur.id)
        rc = st_seterr(s, STORE_ENOTFOUND, "%s is not linked to %s", ticket, cur.number);
    if (rc == 0 && !(link && was == cur.id)) {
        struct params p = {0};
        p_i64(&p, tid);
        p_id(&p, link ? cur.id : 0);
        rc = st_exec(s, "UPDATE tickets SET problem_id = $2, updated_at = now() WHERE id = $1",
                     &p, NULL);
        if (rc == 0 && link && was) { /* moved from another problem */
            struct params q = {0};
            p_i64(&q, was);
            PGresult *r = st_run(s, &rc, "SELECT status FROM problems WHERE id = $1", &q);
            if (r) {
                char st[STORE_WORD_MAX];
                g_copy(st, sizeof st, r, 0, 0);
                PQclear(r);
                rc = event_add(s, was, actor, "unlinked", st, st, tid,
                               json_pack("{s:s, s:s}", "ticket", ticket, "moved_to", cur.number));
            }
        }
        if (rc == 0)
            rc = event_add(s, cur.id, actor, link ? "linked" : "unlinked", cur.status, cur.status,
                           tid, json_pack("{s:s}", "ticket", ticket));
        if (rc == 0) {
            struct params q = {0};
            p_i64(&q, cur.id);
            p_id(&q, was);
            rc = st_exec(s, "UPDATE problems SET updated_at = now() WHERE id IN ($1, $2)", &q,
                         NULL);
        }
    }
    store_problem_fin(&cur);
    return st_finish(s, rc);
}

int store_problem_incidents(struct store *s, const char *number, int64_t viewer,
                            int (*cb)(void *ud, const struct store_problem_incident *t),
                            void *ud)
{
    struct store_problem cur;
    int rc = problem_open(s, "problem_incidents", number, viewer, &cur);
    if (rc == 0)
        rc = incidents_each(s, cur.id, 0, cb, ud);
    store_problem_fin(&cur);
    return rc;
}

struct event_cb {
    int (*cb)(void *ud, const struct store_problem_event *e);
    void *ud;
};

/* st_rows reader of store_problem_events. */
static int event_row(const PGresult *r, int i, void *arg)
{
    const struct event_cb *c = arg;
    struct store_problem_event e;
    memset(&e, 0, sizeof e);
    g_copy(e.type, sizeof e.type, r, i, 0);
    g_copy(e.from, sizeof e.from, r, i, 1);
    g_copy(e.to, sizeof e.to, r, i, 2);
    e.actor_id = g_i64(r, i, 3);
    e.actor_name = g_str(r, i, 4);
    e.ticket = g_str(r, i, 5);
    e.detail = g_str(r, i, 6);
    e.at = g_i64(r, i, 7);
    return c->cb(c->ud, &e);
}

int store_problem_events(struct store *s, const char *number, int64_t viewer,
                         int (*cb)(void *ud, const struct store_problem_event *e), void *ud)
{
    struct store_problem cur;
    int rc = problem_open(s, "problem_events", number, viewer, &cur);
    struct event_cb c = {cb, ud};
    struct params p = {0};
    p_i64(&p, cur.id);
    if (rc == 0)
        rc = st_rows(s,
                     "SELECT e.type, e.from_status, e.to_status, e.actor_id, a.name, t.number,"
                     " e.detail::text, " EPOCH("e.at")
                     " FROM problem_events e LEFT JOIN people a ON a.id = e.actor_id"
                     " LEFT JOIN tickets t ON t.id = e.ticket_id"
                     " WHERE e.problem_id = $1 ORDER BY e.id",
                     &p, event_row, &c);
    store_problem_fin(&cur);
    return rc;
}

/* ---- the known error ----------------------------------------------------------- */

static int add_summary(void *ud, const struct store_problem_incident *t)
{
    struct kb_buf *b = ud;
    kb_buf_adds(b, "\n- ");
    kb_buf_adds(b, t->number);
    kb_buf_adds(b, ": ");
    kb_buf_adds(b, t->summary ? t->summary : "");
    return 0;
}

int store_problem_draft_known_error(struct store *s, const char *number, int64_t actor,
                                    char doc_id[STORE_DOCID_MAX], int *existed)
{
    doc_id[0] = '\0';
    if (existed)
        *existed = 0;
    int rc = st_begin_staff(s, "problem_known_error", actor, "problems");
    if (rc)
        return rc;
    struct store_problem cur;
    rc = problem_by_number(s, number, 1, &cur);
    if (rc == 0 && cur.known_error_doc[0]) {
        snprintf(doc_id, STORE_DOCID_MAX, "%s", cur.known_error_doc);
        if (existed)
            *existed = 1;
        store_problem_fin(&cur);
        return st_finish(s, 0);
    }
    if (rc == 0 && strcmp(cur.status, "closed") == 0)
        rc = st_seterr(s, STORE_EINVALID, "%s is closed", cur.number);
    struct kb_buf symptom;
    kb_buf_init(&symptom);
    if (rc == 0) {
        kb_buf_adds(&symptom, cur.description);
        struct kb_buf inc;
        kb_buf_init(&inc);
        rc = incidents_each(s, cur.id, 0, add_summary, &inc);
        if (rc == 0 && inc.len) {
            if (symptom.len)
                kb_buf_adds(&symptom, "\n\n");
            kb_buf_adds(&symptom, "Incidents / 相关事件:");
            kb_buf_add(&symptom, inc.data, inc.len);
        }
        kb_buf_fin(&inc);
    }
    if (rc == 0) {
        struct kb_doc *d = kb_doc_new(KB_KIND_KNOWN_ERROR);
        kb_doc_set(&d->title, cur.summary);
        kb_doc_set(&d->symptom, symptom.len ? symptom.data : cur.summary);
        kb_doc_set(&d->cause, cur.root_cause[0] ? cur.root_cause : NULL);
        kb_doc_set(&d->workaround, cur.workaround[0] ? cur.workaround : NULL);
        kb_doc_set(&d->resolution, cur.fix[0] ? cur.fix : NULL);
        kb_doc_set(&d->service, cur.service);
        kb_doc_set(&d->status, cur.fix[0] ? "resolved" : cur.workaround[0] ? "workaround" : "open");
        kb_doc_set(&d->visibility, "internal");
        rc = st_knowledge_draft(s, actor, d, doc_id);
        kb_doc_free(d);
    }
    kb_buf_fin(&symptom);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, cur.id);
        p_str(&p, doc_id);
        rc = st_exec(s, "UPDATE knowledge_items SET problem_id = $1 WHERE doc_id = $2", &p, NULL);
    }
    const char *to = NULL;
    if (rc == 0) {
        to = store_problem_next(cur.status, "known_error");
        if (!to)
            to = cur.status; /* resolved: the draft documents it, the status stays */
        struct params p = {0};
        p_i64(&p, cur.id);
        p_str(&p, doc_id);
        p_str(&p, to);
        rc = st_exec(s,
                     "UPDATE problems SET known_error_doc = $2, status = $3, updated_at = now()"
                     " WHERE id = $1",
                     &p, NULL);
    }
    if (rc == 0)
        rc = event_add(s, cur.id, actor, "known_error_drafted", cur.status, to, 0,
                       json_pack("{s:s}", "doc_id", doc_id));
    store_problem_fin(&cur);
    rc = st_finish(s, rc);
    if (rc)
        doc_id[0] = '\0';
    return rc;
}

int store_problem_open_texts(struct store *s, int64_t viewer,
                             int (*cb)(void *ud, const struct store_problem *p, const char *text,
                                       int incidents),
                             void *ud)
{
    int rc = st_single(s, "problem_open_texts");
    if (rc == 0)
        rc = st_staff_only(s, viewer, "problems");
    if (rc)
        return rc;
    PGresult *r = st_run(s, &rc,
                         "SELECT " PROBLEM_COLS ","
                         " p.summary || E'\\n' || p.description || E'\\n' ||"
                         " coalesce((SELECT string_agg(t.summary, E'\\n') FROM tickets t"
                         "           WHERE t.problem_id = p.id), '')" PROBLEM_FROM
                         " WHERE p.status NOT IN ('resolved', 'closed')"
                         " ORDER BY p.id DESC LIMIT 500",
                         NULL);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_problem pr;
        problem_read(r, i, &pr);
        int stop = cb(ud, &pr, g_str(r, i, 19), pr.incidents);
        store_problem_fin(&pr);
        if (stop)
            break;
    }
    PQclear(r);
    return 0;
}
