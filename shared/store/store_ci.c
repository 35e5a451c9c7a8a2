/* store_ci: configuration items, their relations and what refers to them
 * (see store_ci.h). Each change is one transaction that reads (and locks)
 * the item, writes it and its ci_events row. */
#include "store_int.h"
#include "kb_util.h"
#include "kb_utf8.h"

#include <string.h>

const char *const store_ci_types[] = {"service", "application", "system", "server", "network",
                                      "device",  "database",    "other",  NULL};
const char *const store_ci_relation_types[] = {"runs_on", "depends_on", "part_of", "connects_to",
                                               NULL};

static int one_of(const char *v, const char *const *list)
{
    for (; v && *list; list++)
        if (strcmp(v, *list) == 0)
            return 1;
    return 0;
}

void store_ci_fin(struct store_ci *ci)
{
    if (!ci)
        return;
    free(ci->name);
    free(ci->description);
    free(ci->owner_team);
    memset(ci, 0, sizeof *ci);
}

/* ---- reading ------------------------------------------------------------------- */

#define CI_COLS                                                                            \
    "c.id, c.code, c.type, c.name, c.description, c.owner_id, o.name, c.owner_team,"       \
    " c.retired, (SELECT count(*) FROM ci_refs r JOIN tickets t ON t.id = r.ticket_id"     \
    "  WHERE r.ci_id = c.id AND t.status IN ('new', 'assigned', 'reopened', 'pending')), "            \
    EPOCH("c.created_at") ", " EPOCH("c.updated_at")
#define CI_FROM " FROM cis c LEFT JOIN people o ON o.id = c.owner_id"

static void ci_read(const PGresult *r, int row, struct store_ci *ci)
{
    memset(ci, 0, sizeof *ci);
    ci->id = g_i64(r, row, 0);
    g_copy(ci->code, sizeof ci->code, r, row, 1);
    g_copy(ci->type, sizeof ci->type, r, row, 2);
    ci->name = kb_xstrdup(g_str(r, row, 3) ? g_str(r, row, 3) : "");
    ci->description = kb_xstrdup(g_str(r, row, 4) ? g_str(r, row, 4) : "");
    ci->owner_id = g_i64(r, row, 5);
    g_copy(ci->owner_name, sizeof ci->owner_name, r, row, 6);
    ci->owner_team = g_str(r, row, 7) ? kb_xstrdup(g_str(r, row, 7)) : NULL;
    ci->retired = g_bool(r, row, 8);
    ci->open_tickets = g_int(r, row, 9);
    ci->created_at = g_i64(r, row, 10);
    ci->updated_at = g_i64(r, row, 11);
}

/* Reads one item where the condition on $1 holds (locking it if lock). */
/* The callback of a list of items and its argument, for ci_row. */
struct ci_cb {
    int (*cb)(void *ud, const struct store_ci *ci);
    void *ud;
};

/* st_rows reader: row i of a CI_COLS result to the callback in arg. */
static int ci_row(const PGresult *r, int i, void *arg)
{
    const struct ci_cb *c = arg;
    struct store_ci ci;
    ci_read(r, i, &ci);
    int stop = c->cb(c->ud, &ci);
    store_ci_fin(&ci);
    return stop;
}

static int ci_by(struct store *s, const char *where, const char *arg, int lock,
                 struct store_ci *out)
{
    memset(out, 0, sizeof *out);
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT " CI_COLS CI_FROM " WHERE %s%s", where,
             lock ? " FOR UPDATE OF c" : "");
    struct params p = {0};
    p_str(&p, arg ? arg : "");
    int rc = 0;
    PGresult *r = st_run_row(s, &rc, sql, &p, "no such configuration item %s", arg ? arg : "");
    if (!r)
        return rc;
    ci_read(r, 0, out);
    PQclear(r);
    return rc;
}

static int ci_by_code(struct store *s, const char *code, int lock, struct store_ci *out)
{
    return ci_by(s, "c.code = $1", code, lock, out);
}

/* The reads of one item: operation op for viewer, item code into *out. */
static int ci_open(struct store *s, const char *op, const char *code, int64_t viewer,
                   struct store_ci *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, op);
    if (rc == 0)
        rc = st_staff_only(s, viewer, "configuration items");
    if (rc == 0)
        rc = ci_by_code(s, code, 0, out);
    return rc;
}

/* The rows of sql (its $1: the item's id) about item code, for viewer, in
 * operation op, each to row(r, i, arg). Returns 0 or STORE_E*. */
static int ci_rows(struct store *s, const char *op, const char *code, int64_t viewer,
                   const char *sql, int (*row)(const PGresult *r, int i, void *arg), void *arg)
{
    struct store_ci ci;
    int rc = ci_open(s, op, code, viewer, &ci);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, ci.id);
        rc = st_rows(s, sql, &p, row, arg);
    }
    store_ci_fin(&ci);
    return rc;
}

int store_ci_get(struct store *s, const char *code, int64_t viewer, struct store_ci *out)
{
    return ci_open(s, "ci_get", code, viewer, out);
}

int store_ci_list(struct store *s, int64_t viewer, const char *type, const char *q,
                  int with_retired, int64_t after, int limit,
                  int (*cb)(void *ud, const struct store_ci *ci), void *ud)
{
    int rc = st_list_open(s, "ci_list", limit, 500);
    if (rc)
        return rc;
    if (type && !one_of(type, store_ci_types))
        return st_seterr(s, STORE_EINVALID, "unknown type '%.32s'", type);
    if (q && strlen(q) > 200)
        return st_seterr(s, STORE_EINVALID, "the name searched is longer than 200 bytes");
    if ((rc = st_staff_only(s, viewer, "configuration items")) != 0)
        return rc;
    struct params p = {0};
    p_str(&p, type);
    p_str(&p, q);
    p_bool(&p, with_retired);
    p_i64(&p, after);
    p_i64(&p, limit);
    struct ci_cb c = {cb, ud};
    return st_rows(s,
                   "SELECT " CI_COLS CI_FROM
                   " WHERE ($1::text IS NULL OR c.type = $1)"
                   " AND ($2::text IS NULL OR strpos(lower(c.name), lower($2)) > 0)"
                   " AND ($3 OR NOT c.retired) AND c.id > $4"
                   " ORDER BY c.id LIMIT $5",
                   &p, ci_row, &c);
}

/* ---- writing ------------------------------------------------------------------- */

static int event_add(struct store *s, int64_t ci, int64_t actor, const char *type, json_t *detail)
{
    char *d = st_detail_text(detail);
    struct params p = {0};
    p_i64(&p, ci);
    p_id(&p, actor);
    p_str(&p, type);
    p_str(&p, d);
    int rc = st_exec(s,
                     "INSERT INTO ci_events (ci_id, actor_id, type, detail)"
                     " VALUES ($1, $2, $3, $4::jsonb)",
                     &p, NULL);
    free(d);
    return rc;
}

static int fields_ok(struct store *s, const struct store_ci_fields *f)
{
    if (f->type && !one_of(f->type, store_ci_types))
        return st_seterr(s, STORE_EINVALID,
                         "type must be service, application, system, server, network, device,"
                         " database or other");
    int rc = st_text_ok(s, "name", f->name, 1, 200);
    if (rc == 0)
        rc = st_text_ok(s, "description", f->description, 0, 20000);
    if (rc == 0)
        rc = st_text_ok(s, "owner_team", f->owner_team, 0, 200);
    if (rc == 0 && f->owner_id > 0) {
        char role[STORE_WORD_MAX];
        rc = st_person_role(s, f->owner_id, role);
        if (rc == STORE_ENOTFOUND || (rc == 0 && !st_is_staff(role)))
            rc = st_seterr(s, STORE_EINVALID, "the owner must be an enabled agent or admin");
    }
    return rc;
}

/* Reads the item with id into *out at the end of a change. */
static int reread(struct store *s, int64_t id, struct store_ci *out)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)id);
    return ci_by(s, "c.id = $1::bigint", buf, 0, out);
}

int store_ci_create(struct store *s, int64_t actor, const struct store_ci_fields *f,
                    struct store_ci *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_begin(s, "ci_create");
    if (rc)
        return rc;
    rc = st_staff_only(s, actor, "configuration items");
    if (rc == 0 && (!f->type || !f->name))
        rc = st_seterr(s, STORE_EINVALID, "type and name are required");
    if (rc == 0)
        rc = fields_ok(s, f);
    int64_t id = 0;
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, f->type);
        p_str(&p, f->name);
        p_str(&p, f->description ? f->description : "");
        p_id(&p, f->owner_id > 0 ? f->owner_id : 0);
        p_str(&p, f->owner_team && *f->owner_team ? f->owner_team : NULL);
        rc = st_insert_id(s,
                          "INSERT INTO cis (type, name, description, owner_id, owner_team)"
                          " VALUES ($1, $2, $3, $4, $5) RETURNING id",
                          &p, &id);
        if (rc == STORE_ECONFLICT)
            rc = st_seterr(s, STORE_ECONFLICT, "there is a %s named %s already", f->type,
                           f->name);
    }
    if (rc == 0)
        rc = event_add(s, id, actor, "created", NULL);
    if (rc == 0)
        rc = reread(s, id, out);
    rc = st_finish(s, rc);
    if (rc)
        store_ci_fin(out);
    return rc;
}

int store_ci_edit(struct store *s, const char *code, int64_t actor,
                  const struct store_ci_fields *f, struct store_ci *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_begin(s, "ci_edit");
    if (rc)
        return rc;
    struct store_ci cur;
    memset(&cur, 0, sizeof cur);
    rc = st_staff_only(s, actor, "configuration items");
    if (rc == 0)
        rc = fields_ok(s, f);
    if (rc == 0)
        rc = ci_by_code(s, code, 1, &cur);
    json_t *changed = json_array();
    if (rc == 0) {
        st_changed_text(changed, "type", f->type, cur.type);
        st_changed_text(changed, "name", f->name, cur.name);
        st_changed_text(changed, "description", f->description, cur.description);
        st_changed_text(changed, "owner_team", f->owner_team, cur.owner_team);
        if (f->owner_id >= 0 && f->owner_id != cur.owner_id)
            json_array_append_new(changed, json_string("owner"));
    }
    if (rc == 0 && json_array_size(changed)) {
        struct params p = {0};
        p_i64(&p, cur.id);
        p_str(&p, f->type);
        p_str(&p, f->name);
        p_str(&p, f->description);
        p_str(&p, f->owner_team);
        p_i64(&p, f->owner_id);
        rc = st_exec(s,
                     "UPDATE cis SET type = coalesce($2, type), name = coalesce($3, name),"
                     " description = coalesce($4, description),"
                     " owner_team = CASE WHEN $5::text IS NULL THEN owner_team"
                     "              WHEN $5 = '' THEN NULL ELSE $5 END,"
                     " owner_id = CASE WHEN $6::bigint < 0 THEN owner_id"
                     "            WHEN $6 = 0 THEN NULL ELSE $6 END,"
                     " updated_at = now() WHERE id = $1",
                     &p, NULL);
        if (rc == STORE_ECONFLICT)
            rc = st_seterr(s, STORE_ECONFLICT, "there is a %s named %s already",
                           f->type ? f->type : cur.type, f->name ? f->name : cur.name);
        if (rc == 0)
            rc = event_add(s, cur.id, actor, "edited", json_pack("{s:O}", "fields", changed));
    }
    json_decref(changed);
    if (rc == 0)
        rc = reread(s, cur.id, out);
    store_ci_fin(&cur);
    rc = st_finish(s, rc);
    if (rc)
        store_ci_fin(out);
    return rc;
}

int store_ci_retire(struct store *s, const char *code, int64_t actor)
{
    int rc = st_begin_staff(s, "ci_retire", actor, "configuration items");
    if (rc)
        return rc;
    struct store_ci cur;
    rc = ci_by_code(s, code, 1, &cur);
    if (rc == 0 && !cur.retired) {
        struct params p = {0};
        p_i64(&p, cur.id);
        rc = st_exec(s, "UPDATE cis SET retired = true, updated_at = now() WHERE id = $1", &p,
                     NULL);
        if (rc == 0)
            rc = event_add(s, cur.id, actor, "retired", NULL);
    }
    store_ci_fin(&cur);
    return st_finish(s, rc);
}

int store_ci_relate(struct store *s, const char *from, const char *type, const char *to,
                    int64_t actor, int on)
{
    int rc = st_begin(s, on ? "ci_relate" : "ci_unrelate");
    if (rc)
        return rc;
    struct store_ci a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    rc = st_staff_only(s, actor, "configuration items");
    if (rc == 0 && !one_of(type, store_ci_relation_types))
        rc = st_seterr(s, STORE_EINVALID,
                       "the relation must be runs_on, depends_on, part_of or connects_to");
    if (rc == 0)
        rc = ci_by_code(s, from, 1, &a);
    if (rc == 0)
        rc = ci_by_code(s, to, 1, &b);
    if (rc == 0 && a.id == b.id)
        rc = st_seterr(s, STORE_EINVALID, "an item cannot relate to itself");
    if (rc == 0 && on && (a.retired || b.retired))
        rc = st_seterr(s, STORE_EINVALID, "%s is retired", a.retired ? a.code : b.code);
    int n = 0;
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, a.id);
        p_str(&p, type);
        p_i64(&p, b.id);
        rc = st_exec(s,
                     on ? "INSERT INTO ci_relations (from_id, type, to_id) VALUES ($1, $2, $3)"
                          " ON CONFLICT DO NOTHING"
                        : "DELETE FROM ci_relations WHERE from_id = $1 AND type = $2"
                          " AND to_id = $3",
                     &p, &n);
    }
    if (rc == 0 && !on && n == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "%s does not %s %s", a.code, type, b.code);
    if (rc == 0 && n > 0) {
        const char *ev = on ? "related" : "unrelated";
        rc = event_add(s, a.id, actor, ev,
                       json_pack("{s:s, s:s, s:s}", "type", type, "direction", "out", "other",
                                 b.code));
        if (rc == 0)
            rc = event_add(s, b.id, actor, ev,
                           json_pack("{s:s, s:s, s:s}", "type", type, "direction", "in",
                                     "other", a.code));
    }
    store_ci_fin(&a);
    store_ci_fin(&b);
    return st_finish(s, rc);
}

struct relation_cb {
    int (*cb)(void *ud, const struct store_ci_relation *r);
    void *ud;
};

/* st_rows reader of store_ci_relations. */
static int relation_row(const PGresult *r, int i, void *arg)
{
    const struct relation_cb *c = arg;
    struct store_ci_relation x;
    memset(&x, 0, sizeof x);
    x.outgoing = g_bool(r, i, 0);
    g_copy(x.type, sizeof x.type, r, i, 1);
    g_copy(x.other, sizeof x.other, r, i, 2);
    x.other_name = g_str(r, i, 3);
    g_copy(x.other_type, sizeof x.other_type, r, i, 4);
    return c->cb(c->ud, &x);
}

int store_ci_relations(struct store *s, const char *code, int64_t viewer,
                       int (*cb)(void *ud, const struct store_ci_relation *r), void *ud)
{
    struct relation_cb c = {cb, ud};
    return ci_rows(s, "ci_relations", code, viewer,
                   "SELECT true, l.type, o.code, o.name, o.type FROM ci_relations l"
                   " JOIN cis o ON o.id = l.to_id WHERE l.from_id = $1"
                   " UNION ALL"
                   " SELECT false, l.type, o.code, o.name, o.type FROM ci_relations l"
                   " JOIN cis o ON o.id = l.from_id WHERE l.to_id = $1"
                   " ORDER BY 1 DESC, 2, 3",
                   relation_row, &c);
}

/* The id of a ticket or problem by number into *id (knowledge: 0). */
static int ref_target(struct store *s, const char *kind, const char *ref, int64_t *id)
{
    *id = 0;
    if (!ref || !*ref || strlen(ref) > 200)
        return st_seterr(s, STORE_EINVALID, "a reference needs a number or a document id");
    if (strcmp(kind, "knowledge") == 0)
        return 0;
    struct params p = {0};
    p_str(&p, ref);
    int rc = 0;
    const char *sql = strcmp(kind, "ticket") == 0 ? "SELECT id FROM tickets WHERE number = $1"
                                                  : "SELECT id FROM problems WHERE number = $1";
    PGresult *r = st_run_row(s, &rc, sql, &p, "no such %s %s", kind, ref);
    if (!r)
        return rc;
    *id = g_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

static const char *const ref_kinds[] = {"ticket", "problem", "knowledge", NULL};

int store_ci_refer(struct store *s, const char *code, const char *kind, const char *ref,
                   int64_t actor, int on)
{
    int rc = st_begin(s, on ? "ci_refer" : "ci_unrefer");
    if (rc)
        return rc;
    struct store_ci ci;
    memset(&ci, 0, sizeof ci);
    rc = st_staff_only(s, actor, "configuration items");
    if (rc == 0 && !one_of(kind, ref_kinds))
        rc = st_seterr(s, STORE_EINVALID, "a reference is from a ticket, a problem or knowledge");
    if (rc == 0)
        rc = ci_by_code(s, code, 1, &ci);
    if (rc == 0 && on && ci.retired)
        rc = st_seterr(s, STORE_EINVALID, "%s is retired", ci.code);
    int64_t id = 0;
    if (rc == 0)
        rc = ref_target(s, kind, ref, &id);
    int n = 0;
    if (rc == 0) {
        int t = strcmp(kind, "ticket") == 0, pr = strcmp(kind, "problem") == 0;
        struct params p = {0};
        p_i64(&p, ci.id);
        p_id(&p, t ? id : 0);
        p_id(&p, pr ? id : 0);
        p_str(&p, !t && !pr ? ref : NULL);
        rc = st_exec(s,
                     on ? "INSERT INTO ci_refs (ci_id, ticket_id, problem_id, doc_id)"
                          " SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM ci_refs"
                          " WHERE ci_id = $1 AND ticket_id IS NOT DISTINCT FROM $2"
                          " AND problem_id IS NOT DISTINCT FROM $3"
                          " AND doc_id IS NOT DISTINCT FROM $4)"
                        : "DELETE FROM ci_refs WHERE ci_id = $1"
                          " AND ticket_id IS NOT DISTINCT FROM $2"
                          " AND problem_id IS NOT DISTINCT FROM $3"
                          " AND doc_id IS NOT DISTINCT FROM $4",
                     &p, &n);
    }
    if (rc == 0 && !on && n == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "%s %s does not refer to %s", kind, ref, ci.code);
    if (rc == 0 && n > 0)
        rc = event_add(s, ci.id, actor, on ? "referred" : "unreferred",
                       json_pack("{s:s, s:s}", "kind", kind, "ref", ref));
    store_ci_fin(&ci);
    return st_finish(s, rc);
}

struct ref_cb {
    int (*cb)(void *ud, const struct store_ci_ref *r);
    void *ud;
};

/* st_rows reader of store_ci_refs. */
static int ref_row(const PGresult *r, int i, void *arg)
{
    const struct ref_cb *c = arg;
    struct store_ci_ref x;
    memset(&x, 0, sizeof x);
    g_copy(x.kind, sizeof x.kind, r, i, 0);
    x.ref = g_str(r, i, 1);
    x.title = g_str(r, i, 2);
    x.status = g_str(r, i, 3);
    x.open = g_bool(r, i, 4);
    return c->cb(c->ud, &x);
}

int store_ci_refs(struct store *s, const char *code, int64_t viewer,
                  int (*cb)(void *ud, const struct store_ci_ref *r), void *ud)
{
    struct ref_cb c = {cb, ud};
    return ci_rows(s, "ci_refs", code, viewer,
                   "SELECT k, ref, title, status, open FROM ("
                   " SELECT 'ticket' AS k, t.number AS ref, t.summary AS title, t.status,"
                   "  t.status IN ('new', 'assigned', 'reopened', 'pending') AS open, 0 AS o, t.id AS i"
                   "  FROM ci_refs r JOIN tickets t ON t.id = r.ticket_id WHERE r.ci_id = $1"
                   " UNION ALL"
                   " SELECT 'problem', p.number, p.summary, p.status,"
                   "  p.status NOT IN ('resolved', 'closed'), 1, p.id"
                   "  FROM ci_refs r JOIN problems p ON p.id = r.problem_id WHERE r.ci_id = $1"
                   " UNION ALL"
                   " SELECT 'knowledge', r.doc_id, v.title, k.state, false, 2, 0"
                   "  FROM ci_refs r LEFT JOIN knowledge_items k ON k.doc_id = r.doc_id"
                   "  LEFT JOIN knowledge_versions v ON v.item_id = k.id AND v.version = k.version"
                   "  WHERE r.ci_id = $1 AND r.doc_id IS NOT NULL"
                   ") x ORDER BY (k = 'ticket' AND open) DESC, o, i DESC, ref",
                   ref_row, &c);
}

int store_ci_of(struct store *s, const char *kind, const char *ref, int64_t viewer,
                int (*cb)(void *ud, const struct store_ci *ci), void *ud)
{
    int rc = st_single(s, "ci_of");
    if (rc == 0)
        rc = st_staff_only(s, viewer, "configuration items");
    if (rc == 0 && !one_of(kind, ref_kinds))
        rc = st_seterr(s, STORE_EINVALID, "a reference is from a ticket, a problem or knowledge");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, ref ? ref : "");
    const char *sql = strcmp(kind, "ticket") == 0
                          ? "SELECT " CI_COLS CI_FROM " JOIN ci_refs r ON r.ci_id = c.id"
                            " JOIN tickets t ON t.id = r.ticket_id WHERE t.number = $1"
                            " ORDER BY c.id"
                      : strcmp(kind, "problem") == 0
                          ? "SELECT " CI_COLS CI_FROM " JOIN ci_refs r ON r.ci_id = c.id"
                            " JOIN problems t ON t.id = r.problem_id WHERE t.number = $1"
                            " ORDER BY c.id"
                          : "SELECT " CI_COLS CI_FROM " JOIN ci_refs r ON r.ci_id = c.id"
                            " WHERE r.doc_id = $1 ORDER BY c.id";
    struct ci_cb c = {cb, ud};
    return st_rows(s, sql, &p, ci_row, &c);
}
