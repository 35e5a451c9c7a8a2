/* store_catalog: the service catalogue the SLA clocks read: calendars with
 * versions (a new version per change; a ticket keeps the version it
 * started with), services and their SLA policies (tables calendars,
 * calendar_versions, services, sla_policies), saved one by one or loaded
 * from one JSON file (store_sla_load) in one transaction. Declared in
 * store_sla.h; the clocks themselves are in store_sla.c. */
#include "store_int.h"

#include <string.h>

#include "kb_calendar.h"
#include "kb_util.h"

static int valid_name(const char *n)
{
    if (!n || !*n || strlen(n) >= STORE_SLA_NAME_MAX)
        return 0;
    for (const char *p = n; *p; p++) {
        char c = *p;
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (p == n || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

/* ---- calendars ------------------------------------------------------------ */

void store_calendar_fin(struct store_calendar *c)
{
    if (!c)
        return;
    free(c->body);
    memset(c, 0, sizeof *c);
}

/* The body of store_calendar_save inside the caller's transaction. */
static int calendar_save(struct store *s, const char *name, const char *title, const char *body,
                         size_t len, int64_t actor, int *version, int *created)
{
    if (created)
        *created = 0;
    if (!valid_name(name))
        return st_seterr(s, STORE_EINVALID,
                         "calendar name \"%s\": letters, digits, '.', '_', '-' (at most 64)",
                         name ? name : "");
    struct kbcal cal;
    char err[256];
    int crc = kbcal_from_json(body, len, &cal, err, sizeof err);
    if (crc)
        return st_seterr(s, STORE_EINVALID, "calendar %s: %s", name, err);
    int hours = cal.always || cal.nworkdays > 0;
    for (int w = 0; w < 7; w++)
        hours |= cal.week[w].n > 0;
    if (!hours) {
        kbcal_fin(&cal);
        return st_seterr(s, STORE_EINVALID,
                         "calendar %s has no working hours (give \"week\" hours or"
                         " \"always\": true)",
                         name);
    }
    char *canon = kbcal_to_json(&cal);
    char tz[64];
    snprintf(tz, sizeof tz, "%s", cal.tz);
    kbcal_fin(&cal);
    if (!canon)
        return st_seterr(s, STORE_EDB, "out of memory");

    struct params p = {0};
    p_str(&p, name);
    p_str(&p, title);
    int rc = 0;
    /* the row first (locked), so two savers of one calendar take turns */
    PGresult *r = st_run(s, &rc,
                         "INSERT INTO calendars (name, title, current_version) VALUES ($1, $2, 1)"
                         " ON CONFLICT (name) DO UPDATE SET title = coalesce($2, calendars.title)"
                         " RETURNING id, current_version, (xmax = 0) AS inserted",
                         &p);
    if (!r) {
        free(canon);
        return rc;
    }
    int64_t id = g_i64(r, 0, 0);
    int cur = g_int(r, 0, 1);
    int inserted = g_bool(r, 0, 2);
    PQclear(r);
    int same = 0;
    if (!inserted) {
        struct params q = {0};
        p_i64(&q, id);
        p_i64(&q, cur);
        p_str(&q, canon);
        r = st_run(s, &rc,
                   "SELECT body = $3::jsonb FROM calendar_versions"
                   " WHERE calendar_id = $1 AND version = $2",
                   &q);
        if (!r) {
            free(canon);
            return rc;
        }
        same = PQntuples(r) > 0 && g_bool(r, 0, 0);
        PQclear(r);
    }
    int v = inserted ? 1 : same ? cur : cur + 1;
    if (!same) {
        struct params q = {0};
        p_i64(&q, id);
        p_i64(&q, v);
        p_str(&q, tz);
        p_str(&q, canon);
        p_id(&q, actor);
        rc = st_exec(s,
                     "INSERT INTO calendar_versions (calendar_id, version, tz, body, created_by)"
                     " VALUES ($1, $2, $3, $4::jsonb, $5)",
                     &q, NULL);
        if (rc == 0) {
            struct params u = {0};
            p_i64(&u, id);
            p_i64(&u, v);
            rc = st_exec(s,
                         "UPDATE calendars SET current_version = $2, updated_at = now()"
                         " WHERE id = $1",
                         &u, NULL);
        }
        if (created)
            *created = rc == 0;
    }
    free(canon);
    if (version)
        *version = v;
    return rc;
}

int store_calendar_save(struct store *s, const char *name, const char *title, const char *body,
                        size_t len, int64_t actor, int *version, int *created)
{
    int rc = st_begin(s, "calendar_save");
    if (rc)
        return rc;
    return st_finish(s, calendar_save(s, name, title, body, len, actor, version, created));
}

int store_calendar_get(struct store *s, const char *name, int version, struct store_calendar *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "calendar_get");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, name);
    p_i64(&p, version);
    PGresult *r = st_run(s, &rc,
                         "SELECT c.name, c.title, v.version, c.current_version, v.tz, v.body::text, "
                         EPOCH("v.created_at") " FROM calendars c JOIN calendar_versions v"
                         " ON v.calendar_id = c.id AND v.version = CASE WHEN $2::integer = 0"
                         " THEN c.current_version ELSE $2::integer END WHERE c.name = $1",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        rc = st_seterr(s, STORE_ENOTFOUND, "no calendar %s%s", name ? name : "",
                       version ? " at that version" : "");
    } else {
        g_copy(out->name, sizeof out->name, r, 0, 0);
        g_copy(out->title, sizeof out->title, r, 0, 1);
        out->version = g_int(r, 0, 2);
        out->current_version = g_int(r, 0, 3);
        g_copy(out->tz, sizeof out->tz, r, 0, 4);
        out->body = kb_xstrdup(g_str(r, 0, 5));
        out->created_at = g_i64(r, 0, 6);
    }
    PQclear(r);
    return rc;
}

/* ---- services and policies --------------------------------------------------- */

int store_services(struct store *s, store_service_cb cb, void *arg)
{
    int rc = st_single(s, "services");
    if (rc)
        return rc;
    PGresult *r = st_run(s, &rc,
                         "SELECT v.id, v.name, v.title, v.owner_team, v.description, c.name,"
                         " v.is_default, p.priority, p.response_minutes, p.resolve_minutes,"
                         " p.warn_percent FROM services v JOIN calendars c ON c.id = v.calendar_id"
                         " LEFT JOIN sla_policies p ON p.service_id = v.id"
                         " ORDER BY v.name, p.priority",
                         NULL);
    if (!r)
        return rc;
    int n = PQntuples(r);
    for (int i = 0; rc == 0 && i < n;) {
        struct store_service v;
        memset(&v, 0, sizeof v);
        v.id = g_i64(r, i, 0);
        v.name = g_str(r, i, 1);
        v.title = g_str(r, i, 2);
        v.owner_team = g_str(r, i, 3);
        v.description = g_str(r, i, 4);
        v.calendar = g_str(r, i, 5);
        v.is_default = g_bool(r, i, 6);
        for (; i < n && g_i64(r, i, 0) == v.id; i++) {
            int pr = g_int(r, i, 7);
            if (pr >= 1 && pr <= 4)
                v.policy[pr - 1] = (struct store_sla_policy){pr, g_dbl(r, i, 8), g_dbl(r, i, 9),
                                                             g_int(r, i, 10)};
        }
        rc = cb(arg, &v);
    }
    PQclear(r);
    return rc;
}

/* Puts "where: " before the message of the failure rc already set in s
 * (without its "[store][op] " head). Returns rc. */
static int rewrap(struct store *s, int rc, const char *where)
{
    char msg[STORE_ERR_MAX];
    const char *m = store_errmsg(s);
    for (int i = 0; i < 2 && *m == '['; i++) {
        const char *e = strchr(m, ']');
        if (!e)
            break;
        m = e + 1;
    }
    while (*m == ' ')
        m++;
    snprintf(msg, sizeof msg, "%s", m);
    return st_seterr(s, rc, "%s: %s", where, msg);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int load_calendars(struct store *s, json_t *cals, int64_t actor, struct store_sla_loaded *res)
{
    size_t i;
    json_t *c;
    json_array_foreach(cals, i, c) {
        const char *name = jstr(c, "name");
        if (!json_is_object(c) || !name)
            return st_seterr(s, STORE_EINVALID, "calendars[%zu]: an object with a \"name\"", i);
        char *body = json_dumps(c, JSON_COMPACT);
        int created = 0;
        int rc = calendar_save(s, name, jstr(c, "title"), body, strlen(body), actor, NULL,
                               &created);
        free(body);
        if (rc) {
            char where[32];
            snprintf(where, sizeof where, "calendars[%zu]", i);
            return rewrap(s, rc, where);
        }
        res->calendars++;
        res->calendar_versions += created;
    }
    return 0;
}

static int load_services(struct store *s, json_t *svcs, struct store_sla_loaded *res)
{
    size_t i;
    json_t *v;
    json_array_foreach(svcs, i, v) {
        const char *name = jstr(v, "name"), *title = jstr(v, "title");
        const char *cal = jstr(v, "calendar");
        json_t *def = json_object_get(v, "default");
        if (!valid_name(name))
            return st_seterr(s, STORE_EINVALID,
                             "services[%zu]: \"name\" of letters, digits, '.', '_', '-'", i);
        if (!title || !cal)
            return st_seterr(s, STORE_EINVALID, "services[%zu] %s: needs \"title\" and \"calendar\"",
                             i, name);
        if (def && !json_is_boolean(def))
            return st_seterr(s, STORE_EINVALID, "services[%zu] %s: \"default\" is true or false",
                             i, name);
        int rc = 0, rows = 0;
        if (json_is_true(def)) {
            struct params p = {0};
            p_str(&p, name);
            rc = st_exec(s, "UPDATE services SET is_default = false WHERE is_default AND name <> $1",
                         &p, NULL);
        }
        struct params p = {0};
        p_str(&p, name);
        p_str(&p, title);
        p_str(&p, jstr(v, "owner_team"));
        p_str(&p, jstr(v, "description"));
        p_str(&p, cal);
        p_bool(&p, json_is_true(def));
        if (rc == 0)
            rc = st_exec(s,
                         "INSERT INTO services (name, title, owner_team, description, calendar_id,"
                         " is_default) SELECT $1, $2, $3, $4, c.id, $6 FROM calendars c"
                         " WHERE c.name = $5"
                         " ON CONFLICT (name) DO UPDATE SET title = $2, owner_team = $3,"
                         " description = $4, calendar_id = excluded.calendar_id,"
                         " is_default = $6, updated_at = now()",
                         &p, &rows);
        if (rc) {
            char where[128];
            snprintf(where, sizeof where, "services[%zu] %s", i, name);
            return rewrap(s, rc, where);
        }
        if (rows == 0)
            return st_seterr(s, STORE_EINVALID, "services[%zu] %s: unknown calendar %s", i, name,
                             cal);
        res->services++;
    }
    return 0;
}

static int load_policies(struct store *s, json_t *pols, struct store_sla_loaded *res)
{
    size_t i;
    json_t *v;
    json_array_foreach(pols, i, v) {
        const char *svc = jstr(v, "service");
        json_t *pr = json_object_get(v, "priority"), *resp = json_object_get(v, "response_minutes");
        json_t *resol = json_object_get(v, "resolve_minutes"), *warn = json_object_get(v, "warn_percent");
        if (!svc || !json_is_integer(pr) || !json_is_number(resp) || !json_is_number(resol) ||
            (warn && !json_is_integer(warn)))
            return st_seterr(s, STORE_EINVALID,
                             "policies[%zu]: needs \"service\", integer \"priority\","
                             " numbers \"response_minutes\", \"resolve_minutes\""
                             " (and integer \"warn_percent\")",
                             i);
        json_int_t a = json_integer_value(pr), w = warn ? json_integer_value(warn) : 75;
        double b = json_number_value(resp), c = json_number_value(resol);
        /* whole milliseconds: what numeric(12, 4) minutes keep exactly */
        if (a < 1 || a > 4 || !(b >= 0.0001) || c < b || c > 5256000 || w < 1 || w > 99)
            return st_seterr(s, STORE_EINVALID,
                             "policies[%zu] %s: priority 1..4, 0 < response_minutes <="
                             " resolve_minutes <= 5256000, warn_percent 1..99",
                             i, svc);
        char bs[32], cs[32];
        snprintf(bs, sizeof bs, "%.4f", b);
        snprintf(cs, sizeof cs, "%.4f", c);
        struct params p = {0};
        int rows = 0;
        p_str(&p, svc);
        p_i64(&p, a);
        p_str(&p, bs);
        p_str(&p, cs);
        p_i64(&p, w);
        int rc = st_exec(s,
                         "INSERT INTO sla_policies (service_id, priority, response_minutes,"
                         " resolve_minutes, warn_percent) SELECT v.id, $2, $3, $4, $5"
                         " FROM services v WHERE v.name = $1"
                         " ON CONFLICT (service_id, priority) DO UPDATE SET response_minutes = $3,"
                         " resolve_minutes = $4, warn_percent = $5, updated_at = now()",
                         &p, &rows);
        if (rc) {
            char where[32];
            snprintf(where, sizeof where, "policies[%zu]", i);
            return rewrap(s, rc, where);
        }
        if (rows == 0)
            return st_seterr(s, STORE_EINVALID, "policies[%zu]: unknown service %s", i, svc);
        res->policies++;
    }
    return 0;
}

int store_sla_load(struct store *s, const char *json, size_t len, int64_t actor,
                   struct store_sla_loaded *out)
{
    struct store_sla_loaded res = {0};
    if (out)
        *out = res;
    json_t *root;
    int rc = st_begin_json(s, "sla_load", json, len, &root);
    if (rc)
        return rc;
    json_t *cals = json_object_get(root, "calendars"), *svcs = json_object_get(root, "services");
    json_t *pols = json_object_get(root, "policies");
    if (!json_is_object(root) || (cals && !json_is_array(cals)) || (svcs && !json_is_array(svcs)) ||
        (pols && !json_is_array(pols)))
        rc = st_seterr(s, STORE_EINVALID,
                       "a JSON object with lists \"calendars\", \"services\", \"policies\"");
    if (rc == 0)
        rc = load_calendars(s, cals, actor, &res);
    if (rc == 0)
        rc = load_services(s, svcs, &res);
    if (rc == 0)
        rc = load_policies(s, pols, &res);
    json_decref(root);
    rc = st_finish(s, rc);
    if (rc == 0 && out)
        *out = res;
    return rc;
}
