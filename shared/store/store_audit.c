/* store_audit: the chained audit log (see store_audit.h). The hash is
 * computed by PostgreSQL (sha256 over audit_row_text, migration
 * 007_audit.sql) in the very statement that inserts the row and moves the
 * tip, so writer and verifier share one definition of a row's text. */
#include "store_int.h"

#include <string.h>

static const char *const actions[] = {"read", "change", "export", NULL};
static const char *const objects[] = {"ticket", "knowledge", "problem", "ci", "person", "report",
                                      "role", "setting", "attachment", "audit", NULL};

static int known(const char *v, const char *const *list)
{
    for (; v && *list; list++)
        if (strcmp(v, *list) == 0)
            return 1;
    return 0;
}

int store_audit_add(struct store *s, const struct store_audit_entry *e)
{
    int rc = st_single(s, "audit_add");
    if (rc)
        return rc;
    if (!known(e->action, actions) || !known(e->object_type, objects))
        return st_seterr(s, STORE_EINVALID, "unknown audit action or object type");
    if (!e->object_id || !*e->object_id || strlen(e->object_id) > 200)
        return st_seterr(s, STORE_EINVALID, "an audit row needs an object id (1..200 bytes)");
    char *d = e->detail ? json_dumps(e->detail, JSON_COMPACT) : NULL;
    struct params p = {0};
    p_id(&p, e->actor_id);
    p_str(&p, e->actor_role);
    p_str(&p, e->address && *e->address ? e->address : NULL);
    p_str(&p, e->action);
    p_str(&p, e->object_type);
    p_str(&p, e->object_id);
    p_str(&p, d ? d : "{}");
    rc = st_exec(s,
                 "WITH tip AS (SELECT hash FROM audit_tip WHERE id = 1 FOR UPDATE),"
                 " r AS (SELECT nextval('audit_log_id_seq') AS id, clock_timestamp() AS at,"
                 "       tip.hash AS prev FROM tip),"
                 " ins AS (INSERT INTO audit_log (id, at, actor_id, actor_role, address, action,"
                 "         object_type, object_id, detail, prev_hash, hash)"
                 "  SELECT r.id, r.at, $1::bigint, $2::text, $3::text, $4::text, $5::text,"
                 "         $6::text, $7::jsonb, r.prev, sha256(r.prev || audit_row_text(r.id,"
                 "         r.at, $1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text,"
                 "         $7::jsonb)) FROM r RETURNING hash)"
                 " UPDATE audit_tip SET hash = ins.hash FROM ins WHERE audit_tip.id = 1",
                 &p, NULL);
    free(d);
    return rc;
}

#define VERIFY_BATCH 5000

int store_audit_verify(struct store *s, struct store_audit_check *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "audit_verify");
    if (rc)
        return rc;
    PGresult *r = st_run(s, &rc, "SELECT encode(anchor, 'hex'), encode(hash, 'hex')"
                                 " FROM audit_tip WHERE id = 1", NULL);
    if (!r)
        return rc;
    char prev[65], tip[65];
    g_copy(prev, sizeof prev, r, 0, 0);
    g_copy(tip, sizeof tip, r, 0, 1);
    PQclear(r);
    int64_t after = 0;
    for (;;) {
        struct params p = {0};
        p_i64(&p, after);
        p_i64(&p, VERIFY_BATCH);
        r = st_run(s, &rc,
                   "SELECT id, encode(prev_hash, 'hex'), encode(hash, 'hex'),"
                   " hash = sha256(prev_hash || audit_row_text(id, at, actor_id, actor_role,"
                   " address, action, object_type, object_id, detail))"
                   " FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
                   &p);
        if (!r)
            return rc;
        int n = PQntuples(r);
        for (int i = 0; i < n && !out->bad_id; i++) {
            int64_t id = g_i64(r, i, 0);
            out->rows++;
            if (strcmp(g_str(r, i, 1), prev) != 0) {
                out->bad_id = id;
                snprintf(out->why, sizeof out->why,
                         "row %lld does not follow the row before it (a row was deleted or"
                         " inserted here)", (long long)id);
            } else if (!g_bool(r, i, 3)) {
                out->bad_id = id;
                snprintf(out->why, sizeof out->why, "row %lld was changed after it was written",
                         (long long)id);
            }
            g_copy(prev, sizeof prev, r, i, 2);
            after = id;
        }
        PQclear(r);
        if (out->bad_id || n < VERIFY_BATCH)
            break;
    }
    if (!out->bad_id && strcmp(prev, tip) != 0)
        snprintf(out->why, sizeof out->why,
                 "the newest rows were deleted: the log ends before the recorded tip");
    out->ok = !out->bad_id && !out->why[0];
    return 0;
}

int store_audit_purge(struct store *s, int days, int *n)
{
    *n = 0;
    if (days < 1)
        return st_seterr(s, STORE_EINVALID, "keep at least one day of audit log");
    int rc = st_begin(s, "audit_purge");
    if (rc)
        return rc;
    /* the tip first: no row is added while the oldest go */
    PGresult *r = st_run(s, &rc, "SELECT 1 FROM audit_tip WHERE id = 1 FOR UPDATE", NULL);
    PQclear(r);
    int64_t cut = 0;
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, days);
        r = st_run(s, &rc,
                   "SELECT max(id) FROM audit_log WHERE at < now() - make_interval(days => $1::int)",
                   &p);
        if (r) {
            cut = g_i64(r, 0, 0);
            PQclear(r);
        }
    }
    if (rc == 0 && cut) {
        struct params p = {0};
        p_i64(&p, cut);
        /* the anchor becomes the hash of the last row deleted */
        rc = st_exec(s,
                     "UPDATE audit_tip SET anchor = (SELECT hash FROM audit_log WHERE id = $1)"
                     " WHERE id = 1",
                     &p, NULL);
        if (rc == 0)
            rc = st_exec(s, "SET LOCAL kbdesk.audit_purge = 'on'", NULL, NULL);
        if (rc == 0)
            rc = st_exec(s, "DELETE FROM audit_log WHERE id <= $1", &p, n);
    }
    return st_finish(s, rc);
}

int store_audit_search(struct store *s, int64_t viewer, const struct store_audit_query *q,
                       int (*cb)(void *ud, const struct store_audit_row *r), void *ud)
{
    int rc = st_single(s, "audit_search");
    if (rc)
        return rc;
    char role[STORE_WORD_MAX];
    rc = st_person_role(s, viewer, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && strcmp(role, "admin") != 0))
        return st_seterr(s, STORE_EFORBIDDEN, "only administrators read the audit log");
    if (rc)
        return rc;
    if (q->limit < 1 || q->limit > 1000)
        return st_seterr(s, STORE_EINVALID, "limit must be 1..1000");
    if (q->object_type && !known(q->object_type, objects))
        return st_seterr(s, STORE_EINVALID, "unknown object type");
    struct params p = {0};
    p_i64(&p, q->actor_id);
    p_str(&p, q->object_type);
    p_str(&p, q->object_id);
    p_i64(&p, q->from);
    p_i64(&p, q->to);
    p_i64(&p, q->before);
    p_i64(&p, q->limit);
    PGresult *r = st_run(s, &rc,
                         "SELECT a.id, " EPOCH("a.at") ", a.actor_id, pe.name, a.actor_role,"
                         " a.address, a.action, a.object_type, a.object_id, a.detail::text"
                         " FROM audit_log a LEFT JOIN people pe ON pe.id = a.actor_id"
                         " WHERE ($1::bigint = 0 OR a.actor_id = $1)"
                         " AND ($2::text IS NULL OR a.object_type = $2)"
                         " AND ($3::text IS NULL OR a.object_id = $3)"
                         " AND ($4::bigint = 0 OR a.at >= to_timestamp($4))"
                         " AND ($5::bigint = 0 OR a.at < to_timestamp($5))"
                         " AND ($6::bigint = 0 OR a.id < $6)"
                         " ORDER BY a.id DESC LIMIT $7",
                         &p);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_audit_row row = {
            g_i64(r, i, 0), g_i64(r, i, 1), g_i64(r, i, 2), g_str(r, i, 3), g_str(r, i, 4),
            g_str(r, i, 5), g_str(r, i, 6), g_str(r, i, 7), g_str(r, i, 8), g_str(r, i, 9)};
        if (cb(ud, &row))
            break;
    }
    PQclear(r);
    return 0;
}
