/* store_team: teams, who belongs to them, the roles people hold, and who
 * may work on a ticket by them (st_may_work: the one rule the workspace's
 * changes and taking a ticket check). Declared in store_workspace.h; the
 * permission table is there and in the README. */
#include "store_int.h"

#include <string.h>

/* ---- who may work on a ticket ---------------------------------------------- */

int st_may_work(struct store *s, int64_t ticket, int64_t actor, int *lead)
{
    if (lead)
        *lead = 0;
    struct params p = {0};
    p_i64(&p, ticket);
    p_i64(&p, actor);
    int rc = 0;
    PGresult *r = st_run(s, &rc,
                         "SELECT p.role, p.disabled, t.team_id IS NULL,"
                         " EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.team_id"
                         "         AND m.person_id = p.id),"
                         " t.agent_id IS NOT DISTINCT FROM p.id,"
                         " EXISTS (SELECT 1 FROM person_roles l WHERE l.person_id = p.id"
                         "         AND l.role = 'team_lead')"
                         " FROM tickets t, people p WHERE t.id = $1 AND p.id = $2",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return st_seterr(s, STORE_ENOTFOUND, "no ticket %lld or person %lld", (long long)ticket,
                         (long long)actor);
    }
    char role[STORE_WORD_MAX];
    g_copy(role, sizeof role, r, 0, 0);
    int disabled = g_bool(r, 0, 1), no_team = g_bool(r, 0, 2), member = g_bool(r, 0, 3);
    int holder = g_bool(r, 0, 4), is_lead = g_bool(r, 0, 5);
    PQclear(r);
    if (disabled || !st_is_staff(role))
        return st_seterr(s, STORE_EFORBIDDEN, "person %lld is not an enabled agent",
                         (long long)actor);
    int admin = strcmp(role, "admin") == 0;
    if (!admin && !no_team && !member && !holder)
        return st_seterr(s, STORE_EFORBIDDEN, "the ticket is in a team agent %lld is not in",
                         (long long)actor);
    if (lead)
        *lead = admin || (is_lead && (member || no_team));
    return 0;
}

/* ---- teams -------------------------------------------------------------------- */

int store_team_create(struct store *s, const char *slug, const char *name, const char *name_en,
                      int64_t *id)
{
    int64_t got = 0;
    int rc = st_single(s, "team_create");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, slug);
    p_str(&p, name);
    p_str(&p, name_en);
    rc = st_insert_id(s, "INSERT INTO teams (slug, name, name_en) VALUES ($1, $2, $3) RETURNING id",
                      &p, &got);
    if (rc == STORE_ECONFLICT)
        st_seterr(s, rc, "team '%s' exists already", slug);
    else if (rc == STORE_EINVALID)
        st_seterr(s, rc, "a team needs a slug of a-z, 0-9, '_', '-' (1..32) and a name");
    if (rc == 0 && id)
        *id = got;
    return rc;
}

int store_team_member(struct store *s, int64_t person_id, const char *team, int add)
{
    int rc = st_begin(s, "team_member");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person_id);
    p_str(&p, team);
    PGresult *r = st_run(s, &rc,
                         "SELECT (SELECT id FROM teams WHERE slug = $2),"
                         " (SELECT role FROM people WHERE id = $1)",
                         &p);
    int64_t tid = 0;
    char role[STORE_WORD_MAX] = "";
    if (r) {
        tid = g_i64(r, 0, 0);
        g_copy(role, sizeof role, r, 0, 1);
        PQclear(r);
    }
    if (rc == 0 && tid == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no team '%s'", team ? team : "");
    else if (rc == 0 && !role[0])
        rc = st_seterr(s, STORE_ENOTFOUND, "no person %lld", (long long)person_id);
    else if (rc == 0 && !st_is_staff(role))
        rc = st_seterr(s, STORE_EINVALID, "only agents and admins belong to teams");
    if (rc == 0) {
        struct params q = {0};
        p_i64(&q, tid);
        p_i64(&q, person_id);
        rc = st_exec(s,
                     add ? "INSERT INTO team_members (team_id, person_id) VALUES ($1, $2)"
                           " ON CONFLICT DO NOTHING"
                         : "DELETE FROM team_members WHERE team_id = $1 AND person_id = $2",
                     &q, NULL);
    }
    return st_finish(s, rc);
}

int store_person_role(struct store *s, int64_t person_id, const char *role, int grant)
{
    int rc = st_begin(s, "person_role");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person_id);
    int rows = 0;
    PGresult *r = st_run(s, &rc, "SELECT role FROM people WHERE id = $1 FOR UPDATE", &p);
    char have[STORE_WORD_MAX] = "";
    if (r) {
        rows = PQntuples(r);
        if (rows)
            g_copy(have, sizeof have, r, 0, 0);
        PQclear(r);
    }
    if (rc == 0 && rows == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no person %lld", (long long)person_id);
    if (rc == 0 && !st_is_staff(have))
        rc = st_seterr(s, STORE_EINVALID, "a requester holds no other role");
    if (rc)
        return st_finish(s, rc);
    if (role && (strcmp(role, "agent") == 0 || strcmp(role, "admin") == 0)) {
        if (!grant)
            return st_finish(s, st_seterr(s, STORE_EINVALID,
                                          "a staff member is an agent or an admin: grant the "
                                          "other one instead"));
        struct params q = {0};
        p_i64(&q, person_id);
        p_str(&q, role);
        rc = st_exec(s, "UPDATE people SET role = $2 WHERE id = $1", &q, NULL);
    } else if (role && (strcmp(role, "team_lead") == 0 ||
                        strcmp(role, "knowledge_reviewer") == 0)) {
        struct params q = {0};
        p_i64(&q, person_id);
        p_str(&q, role);
        rc = st_exec(s,
                     grant ? "INSERT INTO person_roles (person_id, role) VALUES ($1, $2)"
                             " ON CONFLICT DO NOTHING"
                           : "DELETE FROM person_roles WHERE person_id = $1 AND role = $2",
                     &q, NULL);
    } else {
        rc = st_seterr(s, STORE_EINVALID,
                       "unknown role '%s' (agent, admin, team_lead, knowledge_reviewer)",
                       role ? role : "");
    }
    return st_finish(s, rc);
}

int st_role_has(struct store *s, int64_t person_id, const char *role, int *has)
{
    struct params p = {0};
    p_i64(&p, person_id);
    p_str(&p, role);
    int rows = 0;
    int rc = st_exec(s, "SELECT 1 FROM person_roles WHERE person_id = $1 AND role = $2", &p,
                     &rows);
    *has = rc == 0 && rows > 0;
    return rc;
}

int store_role_has(struct store *s, int64_t person_id, const char *role, int *has)
{
    *has = 0;
    int rc = st_single(s, "role_has");
    return rc ? rc : st_role_has(s, person_id, role, has);
}

/* STORE_EFORBIDDEN unless viewer is enabled staff. */
static int staff_viewer(struct store *s, int64_t viewer)
{
    char role[STORE_WORD_MAX];
    int rc = st_person_role(s, viewer, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !st_is_staff(role)))
        return st_seterr(s, STORE_EFORBIDDEN, "agents and admins only");
    return rc;
}

int store_teams(struct store *s, int64_t viewer, store_team_cb cb, void *arg)
{
    int rc = st_single(s, "teams");
    if (rc)
        return rc;
    rc = staff_viewer(s, viewer);
    PGresult *r = NULL;
    if (rc == 0)
        r = st_run(s, &rc,
                   "SELECT t.id, t.slug, t.name, t.name_en,"
                   " coalesce((SELECT json_agg(json_build_object('id', p.id, 'name', p.name)"
                   "   ORDER BY p.id) FROM team_members m JOIN people p ON p.id = m.person_id"
                   "   WHERE m.team_id = t.id AND NOT p.disabled), '[]')::text"
                   " FROM teams t ORDER BY t.id",
                   NULL);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_team t = {
            .id = g_i64(r, i, 0),
            .slug = g_str(r, i, 1),
            .name = g_str(r, i, 2),
            .name_en = g_str(r, i, 3),
            .members = g_str(r, i, 4),
        };
        rc = cb(arg, &t);
    }
    PQclear(r);
    return rc;
}

int store_people_list(struct store *s, int64_t viewer, const char *role, const char *team,
                      store_person_cb cb, void *arg)
{
    int rc = st_single(s, "people_list");
    if (rc)
        return rc;
    rc = staff_viewer(s, viewer);
    if (rc == 0 && role && strcmp(role, "agent") != 0 && strcmp(role, "admin") != 0 &&
        strcmp(role, "team_lead") != 0 && strcmp(role, "knowledge_reviewer") != 0)
        rc = st_seterr(s, STORE_EINVALID,
                       "role is agent, admin, team_lead or knowledge_reviewer");
    PGresult *r = NULL;
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, role);
        p_str(&p, team);
        r = st_run(s, &rc,
                   "WITH x AS (SELECT p.id, p.name, p.username, p.role, p.disabled,"
                   "  array_prepend(p.role, coalesce((SELECT array_agg(o.role ORDER BY o.role)"
                   "   FROM person_roles o WHERE o.person_id = p.id), '{}')) AS roles,"
                   "  coalesce((SELECT array_agg(t.slug ORDER BY t.id) FROM team_members m"
                   "   JOIN teams t ON t.id = m.team_id WHERE m.person_id = p.id), '{}') AS teams"
                   "  FROM people p WHERE p.role IN ('agent', 'admin'))"
                   " SELECT id, name, username, role, array_to_json(roles)::text,"
                   " array_to_json(teams)::text, disabled FROM x"
                   " WHERE ($1::text IS NULL OR $1 = 'agent' OR $1 = ANY(roles))"
                   " AND ($2::text IS NULL OR $2 = ANY(teams)) ORDER BY id",
                   &p);
    }
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_person pe = {
            .id = g_i64(r, i, 0),
            .name = g_str(r, i, 1),
            .username = g_str(r, i, 2),
            .role = g_str(r, i, 3),
            .roles = g_str(r, i, 4),
            .teams = g_str(r, i, 5),
            .disabled = g_bool(r, i, 6),
        };
        rc = cb(arg, &pe);
    }
    PQclear(r);
    return rc;
}

int store_queue_for(struct store *s, int64_t viewer, int (*cb)(void *, const struct store_ticket *),
                    void *arg)
{
    int rc = st_single(s, "queue_for");
    if (rc)
        return rc;
    char role[STORE_WORD_MAX] = "";
    rc = st_person_role(s, viewer, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !st_is_staff(role)))
        rc = st_seterr(s, STORE_EFORBIDDEN, "agents and admins only");
    PGresult *r = NULL;
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, viewer);
        p_bool(&p, strcmp(role, "admin") == 0);
        r = st_run(s, &rc,
                   ST_TICKET_SELECT "WHERE t.status IN ('new', 'assigned', 'reopened', 'pending')"
                   " AND ($2::boolean OR t.team_id IS NULL OR t.agent_id = $1 OR t.team_id IN"
                   "  (SELECT team_id FROM team_members WHERE person_id = $1))"
                   " ORDER BY t.priority, t.created_at, t.id",
                   &p);
    }
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_ticket t;
        st_ticket_from_row(r, i, &t, 0);
        rc = cb(arg, &t);
    }
    PQclear(r);
    return rc;
}
