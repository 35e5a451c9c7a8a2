/* store_admin: the administration page's data (see store_admin.h): every
 * person with a search, team names, the managed ticket categories with
 * their default teams, and the runtime settings (one row per key that
 * overrides the config file). Values are checked here before the
 * database's own CHECKs see them, so a bad value gets a message that
 * names it. */
#include "store_admin.h"
#include "store_int.h"

#include <string.h>

int store_admin_check(struct store *s, int64_t who)
{
    int rc = st_single(s, "admin_check");
    if (rc)
        return rc;
    char role[STORE_WORD_MAX] = "";
    rc = st_person_role(s, who, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && strcmp(role, "admin") != 0))
        return st_seterr(s, STORE_EFORBIDDEN, "administrators only");
    return rc;
}

/* ---- people ------------------------------------------------------------------------ */

int store_admin_people(struct store *s, int64_t id, const char *q, const char *role, int limit,
                       int (*cb)(void *arg, const struct store_admin_person *p), void *arg)
{
    int rc = st_single(s, "admin_people");
    if (rc)
        return rc;
    if (role && strcmp(role, "requester") != 0 && strcmp(role, "agent") != 0 &&
        strcmp(role, "admin") != 0)
        return st_seterr(s, STORE_EINVALID, "role is requester, agent or admin");
    if (limit < 1 || limit > 500)
        return st_seterr(s, STORE_EINVALID, "limit is 1..500");
    if ((rc = st_text_ok(s, "q", q, 0, 200)))
        return rc;
    struct params p = {0};
    p_str(&p, q && *q ? q : NULL);
    p_str(&p, role);
    p_i64(&p, limit);
    p_i64(&p, id);
    PGresult *r = st_run(
        s, &rc,
        "SELECT p.id, p.name, p.username, p.email, p.role,"
        " coalesce((SELECT array_to_json(array_agg(o.role ORDER BY o.role)) FROM person_roles o"
        "  WHERE o.person_id = p.id), '[]')::text,"
        " coalesce((SELECT array_to_json(array_agg(t.slug ORDER BY t.id)) FROM team_members m"
        "  JOIN teams t ON t.id = m.team_id WHERE m.person_id = p.id), '[]')::text,"
        " p.disabled, " EPOCH("p.created_at")
        " FROM people p"
        " WHERE ($1::text IS NULL OR strpos(lower(p.name), lower($1)) > 0"
        "        OR strpos(lower(coalesce(p.username, '')), lower($1)) > 0"
        "        OR strpos(lower(coalesce(p.email, '')), lower($1)) > 0)"
        " AND ($2::text IS NULL OR p.role = $2) AND ($4::bigint = 0 OR p.id = $4)"
        " ORDER BY p.role = 'requester', p.id LIMIT $3",
        &p);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_admin_person pe = {
            .id = g_i64(r, i, 0),
            .name = g_str(r, i, 1),
            .username = g_str(r, i, 2),
            .email = g_str(r, i, 3),
            .role = g_str(r, i, 4),
            .roles = g_str(r, i, 5),
            .teams = g_str(r, i, 6),
            .disabled = g_bool(r, i, 7),
            .created_at = g_i64(r, i, 8),
        };
        rc = cb(arg, &pe);
    }
    PQclear(r);
    return rc;
}

/* ---- teams ------------------------------------------------------------------------- */

int store_team_rename(struct store *s, const char *slug, const char *name, const char *name_en)
{
    int rc = st_single(s, "team_rename");
    if (rc)
        return rc;
    if (!name)
        return st_seterr(s, STORE_EINVALID, "a team needs a name");
    if ((rc = st_text_ok(s, "name", name, 1, 128)) ||
        (rc = st_text_ok(s, "name_en", name_en && *name_en ? name_en : NULL, 1, 128)))
        return rc;
    struct params p = {0};
    p_str(&p, slug);
    p_str(&p, name);
    p_str(&p, name_en && *name_en ? name_en : NULL);
    return st_exec_found(s, "UPDATE teams SET name = $2, name_en = $3 WHERE slug = $1", &p,
                         "no team '%s'", slug ? slug : "");
}

/* ---- categories -------------------------------------------------------------------- */

int store_categories(struct store *s, int (*cb)(void *arg, const struct store_category *c),
                     void *arg)
{
    int rc = st_single(s, "categories");
    if (rc)
        return rc;
    PGresult *r = st_run(s, &rc,
                         "SELECT c.id, c.name, t.slug, t.name FROM ticket_categories c"
                         " LEFT JOIN teams t ON t.id = c.team_id ORDER BY c.name, c.id",
                         NULL);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_category c = {
            .id = g_i64(r, i, 0),
            .name = g_str(r, i, 1),
            .team = g_str(r, i, 2),
            .team_name = g_str(r, i, 3),
        };
        rc = cb(arg, &c);
    }
    PQclear(r);
    return rc;
}

int store_category_put(struct store *s, int64_t id, const char *name, const char *team,
                       int64_t *out_id)
{
    int rc = st_begin(s, "category_put");
    if (rc)
        return rc;
    if (!name)
        rc = st_seterr(s, STORE_EINVALID, "a category needs a name");
    else if ((rc = st_text_ok(s, "name", name, 1, 200)) == 0) {
        size_t n = strlen(name);
        if (strchr(" \t\r\n", name[0]) || strchr(" \t\r\n", name[n - 1]))
            rc = st_seterr(s, STORE_EINVALID, "a category name has no blanks around it");
    }
    int64_t tid = 0;
    if (rc == 0 && team && *team) {
        struct params p = {0};
        p_str(&p, team);
        PGresult *r = st_run(s, &rc, "SELECT id FROM teams WHERE slug = $1", &p);
        if (r) {
            tid = PQntuples(r) ? g_i64(r, 0, 0) : 0;
            PQclear(r);
        }
        if (rc == 0 && tid == 0)
            rc = st_seterr(s, STORE_ENOTFOUND, "no team '%s'", team);
    }
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, name);
        if (tid)
            p_i64(&p, tid);
        else
            p_str(&p, NULL);
        int64_t got = 0;
        if (id == 0) {
            rc = st_insert_id(s,
                              "INSERT INTO ticket_categories (name, team_id) VALUES ($1, $2)"
                              " RETURNING id",
                              &p, &got);
        } else {
            p_i64(&p, id);
            rc = st_insert_id(s,
                              "UPDATE ticket_categories SET name = $1, team_id = $2,"
                              " updated_at = now() WHERE id = $3 RETURNING id",
                              &p, &got);
            if (rc == 0 && got == 0)
                rc = st_seterr(s, STORE_ENOTFOUND, "no category %lld", (long long)id);
        }
        if (rc == STORE_ECONFLICT)
            st_seterr(s, rc, "category '%s' exists already", name);
        if (rc == 0 && out_id)
            *out_id = got;
    }
    return st_finish(s, rc);
}

int store_category_delete(struct store *s, int64_t id)
{
    int rc = st_single(s, "category_delete");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, id);
    return st_exec_found(s, "DELETE FROM ticket_categories WHERE id = $1", &p,
                         "no category %lld", (long long)id);
}

/* ---- settings ---------------------------------------------------------------------- */

const struct store_setting_def store_setting_defs[] = {
    {"knowledge_self_approval", 0, 1},
    {"auto_close_days", 1, 365},
    {"suggestions", 1, 20},
};
const int store_setting_ndefs = (int)(sizeof store_setting_defs / sizeof store_setting_defs[0]);

const struct store_setting_def *store_setting_def(const char *key)
{
    for (int i = 0; key && i < store_setting_ndefs; i++)
        if (strcmp(store_setting_defs[i].key, key) == 0)
            return &store_setting_defs[i];
    return NULL;
}

int store_setting_get(struct store *s, const char *key, int def, int *out)
{
    *out = def;
    if (!store_setting_def(key))
        return st_seterr(s, STORE_EINVALID, "'%s' is not a runtime setting", key ? key : "");
    int rc = st_single(s, "setting_get");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, key);
    PGresult *r = st_run(s, &rc, "SELECT value FROM settings WHERE key = $1", &p);
    if (r && PQntuples(r))
        *out = g_int(r, 0, 0);
    PQclear(r);
    return rc;
}

int store_setting_set(struct store *s, const char *key, int set, int value, int64_t actor,
                      int *old, int *had_old)
{
    const struct store_setting_def *d = store_setting_def(key);
    if (!d)
        return st_seterr(s, STORE_EINVALID, "'%s' is not a runtime setting", key ? key : "");
    if (set && (value < d->min || value > d->max))
        return st_seterr(s, STORE_EINVALID, "%s is %d..%d", key, d->min, d->max);
    int rc = st_begin(s, "setting_set");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, key);
    PGresult *r = st_run(s, &rc, "SELECT value FROM settings WHERE key = $1 FOR UPDATE", &p);
    if (r) {
        if (had_old)
            *had_old = PQntuples(r) > 0;
        if (old)
            *old = PQntuples(r) ? g_int(r, 0, 0) : 0;
        PQclear(r);
    }
    if (rc == 0 && set) {
        struct params q = {0};
        p_str(&q, key);
        p_i64(&q, value);
        if (actor)
            p_i64(&q, actor);
        else
            p_str(&q, NULL);
        rc = st_exec(s,
                     "INSERT INTO settings (key, value, updated_by) VALUES ($1, $2, $3)"
                     " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value,"
                     " updated_by = EXCLUDED.updated_by, updated_at = now()",
                     &q, NULL);
    } else if (rc == 0) {
        rc = st_exec(s, "DELETE FROM settings WHERE key = $1", &p, NULL);
    }
    return st_finish(s, rc);
}
