/* store_sla: calendars with versions, services, SLA policies, each
 * ticket's service-level clock and the warning / breach timer (tables
 * calendars, calendar_versions, services, sla_policies, ticket_sla;
 * events in ticket_events). Deadlines are computed here in C with
 * kb_calendar from the calendar version's JSON and written as instants,
 * so the timer is a plain comparison in SQL. Every change of a clock
 * checks the ticket's status against the one table below and writes the
 * ticket_sla row, the ticket's deadlines and the event in one transaction;
 * the creation step (st_sla_ticket_created) runs inside store_escalate's.
 * The resolution clock's segments (ticket_sla_segments, 014_pause.sql) are
 * appended here too (st_sla_clock_pause / st_sla_clock_resume, inside the
 * ticket transitions of store_ticket.c), and every computation of the
 * resolution deadline counts over the running segments (kb_slaclock). */
#include "store_int.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "kb_calendar.h"
#include "kb_slaclock.h"
#include "kb_util.h"

static double g_dbl(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

/* ---- the events: one table ---------------------------------------------- */

static const struct st_transition sla_transitions[] = {
    {"sla_applied", "new", "new"},         {"sla_applied", "assigned", "assigned"},
    {"sla_applied", "reopened", "reopened"}, {"sla_applied", "resolved", "resolved"},
    {"sla_warning", "new", "new"},         {"sla_warning", "assigned", "assigned"},
    {"sla_warning", "reopened", "reopened"}, {"sla_breach", "new", "new"},
    {"sla_breach", "assigned", "assigned"}, {"sla_breach", "reopened", "reopened"},
    /* waiting for the requester (014_pause.sql): the resolution clock is
     * paused (the timer skips it), the response clock runs on */
    {"sla_applied", "pending", "pending"},  {"sla_warning", "pending", "pending"},
    {"sla_breach", "pending", "pending"},
};
#define NSLA (sizeof sla_transitions / sizeof sla_transitions[0])

const char *store_sla_next(const char *from, const char *event)
{
    return st_transition_next(sla_transitions, NSLA, from, event);
}

/* The from-statuses of event as a PostgreSQL array literal into out. */
static void sla_froms(const char *event, char *out, size_t n)
{
    size_t len = (size_t)snprintf(out, n, "{");
    for (size_t i = 0; i < NSLA && len < n; i++)
        if (strcmp(sla_transitions[i].event, event) == 0)
            len += (size_t)snprintf(out + len, n - len, "%s%s", len > 1 ? "," : "",
                                    sla_transitions[i].from);
    if (len < n)
        snprintf(out + len, n - len, "}");
}

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
    int rc = st_begin(s, "sla_load");
    if (rc)
        return rc;
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "line %d: %s", je.line, je.text));
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

/* ---- a ticket's clock ------------------------------------------------------ */

/* How a recomputation picks the calendar version. */
enum cal_pick { CAL_CURRENT, CAL_KEEP, CAL_STORED };

/* The paused segments of ticket's clock (ticket_sla_segments, in order)
 * into a new array *out of *n (caller frees; NULL when none); an open
 * pause ends at now (0: the server's clock). */
static int sla_pauses(struct store *s, int64_t ticket, time_t now, struct kbclock_pause **out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    struct params p = {0};
    p_i64(&p, ticket);
    p_time(&p, now);
    int rc = 0;
    PGresult *r = st_run(s, &rc,
                         "SELECT " EPOCH("started_at") ", " EPOCH("coalesce(ended_at,"
                         " greatest(started_at, coalesce(to_timestamp($2::float8), now())))")
                         " FROM ticket_sla_segments WHERE ticket_id = $1 AND kind = 'paused'"
                         " ORDER BY seq",
                         &p);
    if (!r)
        return rc;
    int rows = PQntuples(r);
    if (rows > 0) {
        *out = kb_xmalloc((size_t)rows * sizeof **out);
        for (int i = 0; i < rows; i++)
            (*out)[i] = (struct kbclock_pause){g_i64(r, i, 0), g_i64(r, i, 1)};
        *n = (size_t)rows;
    }
    PQclear(r);
    return 0;
}

/* (Re)computes the clock of ticket (locked by the caller, status tstatus,
 * created at started) for service_id and priority: policy, calendar
 * version (the ticket's own if keep and the calendar is the same, else the
 * current one; CAL_STORED: the policy, targets and version the ticket has
 * already, service_id and priority its own), deadlines, marks, the
 * ticket's due columns and priority, and an "sla_applied" event with
 * reason. The response deadline counts from started; the resolution
 * deadline and its warning count working time over the running segments
 * of ticket_sla_segments only (kbclock_due: paused working time pushes
 * them later; an open pause as if it ended now). */
static int sla_apply(struct store *s, int64_t ticket, const char *tstatus, int64_t started,
                     int64_t service_id, int priority, enum cal_pick pick, int64_t actor,
                     const char *reason, time_t now)
{
    const char *to = store_sla_next(tstatus, "sla_applied");
    if (!to)
        return st_seterr(s, STORE_EINVALID, "ticket %lld is %s: its service level is final",
                         (long long)ticket, tstatus);
    struct params p = {0};
    p_i64(&p, service_id);
    p_i64(&p, priority);
    p_i64(&p, ticket);
    p_bool(&p, pick == CAL_KEEP);
    int rc = 0;
    struct params st = {0};
    p_i64(&st, ticket);
    /* the policy, and the calendar version: the ticket's own when asked to
     * keep it and it is of the same calendar, else the current one */
    PGresult *r = pick == CAL_STORED
                      ? st_run(s, &rc,
                               "SELECT ts.policy_id, ts.response_minutes, ts.resolve_minutes,"
                               " ts.warn_percent, ts.calendar_id, ts.calendar_version, v.name,"
                               " c.name FROM ticket_sla ts JOIN services v ON v.id = ts.service_id"
                               " JOIN calendars c ON c.id = ts.calendar_id"
                               " WHERE ts.ticket_id = $1",
                               &st)
                      : st_run(s, &rc,
                         "SELECT p.id, p.response_minutes, p.resolve_minutes, p.warn_percent,"
                         " c.id, CASE WHEN $4 AND ts.calendar_id = c.id THEN ts.calendar_version"
                         " ELSE c.current_version END, v.name, c.name"
                         " FROM services v JOIN calendars c ON c.id = v.calendar_id"
                         " LEFT JOIN sla_policies p ON p.service_id = v.id AND p.priority = $2"
                         " LEFT JOIN ticket_sla ts ON ts.ticket_id = $3"
                         " WHERE v.id = $1",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)) {
        rc = st_seterr(s, STORE_EINVALID, "service %s has no policy for P%d",
                       PQntuples(r) ? g_str(r, 0, 6) : "?", priority);
        PQclear(r);
        return rc;
    }
    int64_t policy = g_i64(r, 0, 0), cal_id = g_i64(r, 0, 4);
    double resp = g_dbl(r, 0, 1), resol = g_dbl(r, 0, 2);
    int warn = g_int(r, 0, 3);
    char resp_s[32], resol_s[32]; /* the numeric values as the database has them */
    g_copy(resp_s, sizeof resp_s, r, 0, 1);
    g_copy(resol_s, sizeof resol_s, r, 0, 2);
    int cal_version = g_int(r, 0, 5);
    char svc_name[STORE_SLA_NAME_MAX], cal_name[STORE_SLA_NAME_MAX];
    g_copy(svc_name, sizeof svc_name, r, 0, 6);
    g_copy(cal_name, sizeof cal_name, r, 0, 7);
    PQclear(r);

    struct params q = {0};
    p_i64(&q, cal_id);
    p_i64(&q, cal_version);
    r = st_run(s, &rc,
               "SELECT body::text FROM calendar_versions WHERE calendar_id = $1 AND version = $2",
               &q);
    if (!r)
        return rc;
    struct kbcal cal;
    char err[256] = "";
    int crc = PQntuples(r) ? kbcal_from_json(PQgetvalue(r, 0, 0),
                                             (size_t)PQgetlength(r, 0, 0), &cal, err, sizeof err)
                           : KBCAL_E_INVAL;
    PQclear(r);
    if (crc)
        return st_seterr(s, STORE_EINVALID, "calendar %s version %d: %s", cal_name, cal_version,
                         err);
    struct kbclock_pause *pauses = NULL;
    size_t npauses = 0;
    rc = sla_pauses(s, ticket, now, &pauses, &npauses);
    if (rc) {
        kbcal_fin(&cal);
        return rc;
    }
    int64_t at = now ? (int64_t)now : (int64_t)time(NULL);
    int64_t rdue, sdue, rwarn, swarn;
    int64_t rsec = llround(resp * 60), ssec = llround(resol * 60);
    crc = kbcal_add(&cal, started, rsec, &rdue);
    if (!crc)
        crc = kbclock_due(&cal, started, ssec, pauses, npauses, at, &sdue);
    if (!crc)
        crc = kbcal_add(&cal, started, rsec * warn / 100, &rwarn);
    if (!crc)
        crc = kbclock_due(&cal, started, ssec * warn / 100, pauses, npauses, at, &swarn);
    int64_t paused = kbclock_paused(&cal, pauses, npauses, at);
    free(pauses);
    kbcal_fin(&cal);
    if (crc)
        return st_seterr(s, STORE_EINVALID, "calendar %s version %d has too little working time",
                         cal_name, cal_version);

    struct params u = {0};
    p_i64(&u, ticket);
    p_i64(&u, service_id);
    p_i64(&u, policy);
    p_i64(&u, cal_id);
    p_i64(&u, cal_version);
    p_str(&u, resp_s);
    p_str(&u, resol_s);
    p_i64(&u, warn);
    p_i64(&u, started);
    p_i64(&u, rdue);
    p_i64(&u, sdue);
    char nums[64];
    snprintf(nums, sizeof nums, "{%lld,%lld,%lld}", (long long)rwarn, (long long)swarn,
             (long long)now);
    p_str(&u, nums);
    /* a mark stays unless its recomputed threshold lies ahead */
    rc = st_exec(s,
                 "WITH a AS (SELECT $12::bigint[] AS x),"
                 " n AS (SELECT coalesce(to_timestamp(nullif(x[3], 0)::float8), now()) AS t,"
                 " to_timestamp(x[1]::float8) AS rw, to_timestamp(x[2]::float8) AS sw FROM a)"
                 " INSERT INTO ticket_sla AS ts (ticket_id, service_id, policy_id, calendar_id,"
                 " calendar_version, response_minutes, resolve_minutes, warn_percent, started_at,"
                 " response_due, resolve_due, response_warn_at, resolve_warn_at)"
                 " SELECT $1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9::float8),"
                 " to_timestamp($10::float8), to_timestamp($11::float8), n.rw, n.sw FROM n"
                 " ON CONFLICT (ticket_id) DO UPDATE SET service_id = $2, policy_id = $3,"
                 " calendar_id = $4, calendar_version = $5, response_minutes = $6,"
                 " resolve_minutes = $7, warn_percent = $8, started_at = excluded.started_at,"
                 " response_due = excluded.response_due, resolve_due = excluded.resolve_due,"
                 " response_warn_at = excluded.response_warn_at,"
                 " resolve_warn_at = excluded.resolve_warn_at,"
                 " response_warned_at = CASE WHEN excluded.response_warn_at > (SELECT t FROM n)"
                 "   THEN NULL ELSE ts.response_warned_at END,"
                 " response_breached_at = CASE WHEN excluded.response_due > (SELECT t FROM n)"
                 "   THEN NULL ELSE ts.response_breached_at END,"
                 " resolve_warned_at = CASE WHEN excluded.resolve_warn_at > (SELECT t FROM n)"
                 "   THEN NULL ELSE ts.resolve_warned_at END,"
                 " resolve_breached_at = CASE WHEN excluded.resolve_due > (SELECT t FROM n)"
                 "   THEN NULL ELSE ts.resolve_breached_at END,"
                 " updated_at = now()",
                 &u, NULL);
    if (rc == 0) {
        struct params t = {0};
        p_i64(&t, ticket);
        p_i64(&t, rdue);
        p_i64(&t, sdue);
        p_i64(&t, priority);
        rc = st_exec(s,
                     "UPDATE tickets SET response_due = to_timestamp($2::float8),"
                     " resolution_due = to_timestamp($3::float8), priority = $4,"
                     " updated_at = now() WHERE id = $1",
                     &t, NULL);
    }
    if (rc == 0)
        rc = st_ticket_event(s, ticket, actor, "sla_applied", tstatus, to,
                             json_pack("{s:s, s:s, s:i, s:s, s:i, s:f, s:f, s:I, s:I, s:I}",
                                       "reason", reason, "service", svc_name, "priority",
                                       priority, "calendar", cal_name, "calendar_version",
                                       cal_version, "response_minutes", resp, "resolve_minutes",
                                       resol, "response_due", (json_int_t)rdue, "resolve_due",
                                       (json_int_t)sdue, "paused_seconds", (json_int_t)paused),
                             now);
    return rc;
}

/* The fields of a ticket a clock change needs, its row locked. */
struct sla_head {
    int64_t id, requester_id, created_at, service_id;
    int priority;
    char status[STORE_WORD_MAX];
};

static int sla_head(struct store *s, const char *by_number, int64_t by_id, struct sla_head *h)
{
    memset(h, 0, sizeof *h);
    struct params p = {0};
    p_str(&p, by_number);
    p_i64(&p, by_id);
    int rc = 0;
    PGresult *r = st_run(s, &rc,
                         "SELECT t.id, t.requester_id, " EPOCH("t.created_at") ", t.priority,"
                         " t.status, ts.service_id FROM tickets t"
                         " LEFT JOIN ticket_sla ts ON ts.ticket_id = t.id"
                         " WHERE ($1::text IS NOT NULL AND t.number = $1) OR t.id = $2"
                         " FOR UPDATE OF t",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        rc = st_seterr(s, STORE_ENOTFOUND, "no ticket %s", by_number ? by_number : "");
    } else {
        h->id = g_i64(r, 0, 0);
        h->requester_id = g_i64(r, 0, 1);
        h->created_at = g_i64(r, 0, 2);
        h->priority = g_int(r, 0, 3);
        g_copy(h->status, sizeof h->status, r, 0, 4);
        h->service_id = g_i64(r, 0, 5);
    }
    PQclear(r);
    return rc;
}

/* The id of service name (NULL: the default) into *id; 0 with *id = 0 when
 * name is NULL and there is no default. */
static int service_id(struct store *s, const char *name, int64_t *id)
{
    *id = 0;
    struct params p = {0};
    p_str(&p, name);
    int rc = 0;
    PGresult *r = st_run(s, &rc,
                         "SELECT id FROM services WHERE CASE WHEN $1::text IS NULL THEN is_default"
                         " ELSE name = $1 END",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) > 0)
        *id = g_i64(r, 0, 0);
    else if (name)
        rc = st_seterr(s, STORE_ENOTFOUND, "no service %s", name);
    PQclear(r);
    return rc;
}

/* ---- the clock's segments (ticket_sla_segments) ------------------------------ */

/* Gives ticket's clock its first segment (running, from the ticket's
 * creation) when it has none. */
static int segments_start(struct store *s, int64_t ticket)
{
    struct params p = {0};
    p_i64(&p, ticket);
    return st_exec(s,
                   "INSERT INTO ticket_sla_segments (ticket_id, seq, kind, started_at, reason)"
                   " SELECT t.id, 1, 'running', coalesce(ts.started_at, t.created_at), 'created'"
                   " FROM tickets t LEFT JOIN ticket_sla ts ON ts.ticket_id = t.id"
                   " WHERE t.id = $1 AND NOT EXISTS (SELECT 1 FROM ticket_sla_segments g"
                   "  WHERE g.ticket_id = $1)",
                   &p, NULL);
}

/* Closes ticket's open segment at now (0: the server's clock) and appends
 * one of kind with reason (may be NULL); nothing when the open segment is
 * of that kind already (*changed = 0). */
static int segment_append(struct store *s, int64_t ticket, const char *kind, const char *reason,
                          time_t now, int *changed)
{
    *changed = 0;
    int rc = segments_start(s, ticket);
    struct params p = {0};
    p_i64(&p, ticket);
    PGresult *r = rc ? NULL
                     : st_run(s, &rc,
                              "SELECT kind, (SELECT max(seq) FROM ticket_sla_segments"
                              " WHERE ticket_id = $1) FROM ticket_sla_segments"
                              " WHERE ticket_id = $1 AND ended_at IS NULL",
                              &p);
    if (!r)
        return rc;
    int same = PQntuples(r) > 0 && strcmp(g_str(r, 0, 0), kind) == 0;
    int open = PQntuples(r) > 0;
    PQclear(r);
    if (same)
        return 0;
    struct params q = {0};
    p_i64(&q, ticket);
    p_time(&q, now);
    if (open)
        rc = st_exec(s,
                     "UPDATE ticket_sla_segments SET ended_at = greatest(started_at,"
                     " coalesce(to_timestamp($2::float8), now()))"
                     " WHERE ticket_id = $1 AND ended_at IS NULL",
                     &q, NULL);
    struct params u = {0};
    p_i64(&u, ticket);
    p_time(&u, now);
    p_str(&u, kind);
    p_str(&u, reason);
    /* the new segment starts where the last one ended, never before */
    if (rc == 0)
        rc = st_exec(s,
                     "INSERT INTO ticket_sla_segments (ticket_id, seq, kind, started_at, reason)"
                     " SELECT $1, g.seq + 1, $3, greatest(g.ended_at,"
                     " coalesce(to_timestamp($2::float8), now())), $4"
                     " FROM ticket_sla_segments g WHERE g.ticket_id = $1"
                     " ORDER BY g.seq DESC LIMIT 1",
                     &u, NULL);
    *changed = rc == 0;
    return rc;
}

int st_sla_clock_pause(struct store *s, int64_t ticket, const char *reason, time_t now)
{
    int changed;
    /* an open pause derives the same deadlines as the running clock had
     * (kbclock_due ends it at now): nothing to recompute until it ends */
    return segment_append(s, ticket, "paused", reason, now, &changed);
}

int st_sla_clock_resume(struct store *s, int64_t ticket, int64_t actor, const char *reason,
                        time_t now)
{
    int changed;
    int rc = segment_append(s, ticket, "running", reason, now, &changed);
    struct sla_head h;
    if (rc == 0 && changed)
        rc = sla_head(s, NULL, ticket, &h);
    if (rc || !changed || h.service_id == 0)
        return rc; /* no clock in working time: the plain deadlines stay */
    return sla_apply(s, h.id, h.status, h.created_at, h.service_id, h.priority, CAL_STORED, actor,
                     reason, now);
}

int st_sla_ticket_created(struct store *s, int64_t ticket, time_t now)
{
    int64_t svc;
    int rc = segments_start(s, ticket);
    if (rc)
        return rc;
    rc = service_id(s, NULL, &svc);
    if (rc || svc == 0)
        return rc; /* no service-level data loaded: the ticket keeps its plain deadlines */
    struct sla_head h;
    rc = sla_head(s, NULL, ticket, &h);
    if (rc == 0)
        rc = sla_apply(s, h.id, h.status, h.created_at, svc, h.priority, CAL_CURRENT, 0, "created",
                       now);
    /* no policy for this priority, or a calendar without working time:
     * refused before anything was written; a ticket is never refused for
     * it (it keeps its plain deadlines; the error stays in the handle) */
    return rc == STORE_EINVALID ? 0 : rc;
}

int st_sla_priority_changed(struct store *s, int64_t ticket, int64_t actor)
{
    struct sla_head h;
    int rc = sla_head(s, NULL, ticket, &h);
    int64_t svc = h.service_id;
    if (rc == 0 && svc == 0)
        rc = service_id(s, NULL, &svc);
    if (rc || svc == 0)
        return rc; /* no service-level data: plain deadlines stay */
    rc = sla_apply(s, h.id, h.status, h.created_at, svc, h.priority,
                   h.service_id ? CAL_KEEP : CAL_CURRENT, actor, "priority", 0);
    /* no policy for the new priority: the old deadlines stay, as at creation */
    return rc == STORE_EINVALID ? 0 : rc;
}

static int check_staff(struct store *s, int64_t actor, int admin_only)
{
    char role[STORE_WORD_MAX];
    int rc = st_person_role(s, actor, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && (admin_only ? strcmp(role, "admin") != 0
                                                         : !st_is_staff(role))))
        return st_seterr(s, STORE_EFORBIDDEN, "person %lld is not an enabled %s",
                         (long long)actor, admin_only ? "admin" : "agent");
    return rc;
}

/* The body of store_sla_set_service (change_service: service names the
 * new one, NULL the default) and store_sla_set_priority (priority). */
static int set_clock(struct store *s, const char *op, const char *number, int64_t actor,
                     int change_service, const char *service, int priority)
{
    int rc = st_begin(s, op);
    if (rc)
        return rc;
    struct sla_head h;
    int64_t svc = 0;
    rc = check_staff(s, actor, 0);
    if (rc == 0)
        rc = number ? sla_head(s, number, 0, &h)
                    : st_seterr(s, STORE_EINVALID, "no ticket number");
    if (rc == 0 && !change_service && (priority < 1 || priority > 4))
        rc = st_seterr(s, STORE_EINVALID, "priority is 1..4 (got %d)", priority);
    if (rc == 0) {
        if (change_service || h.service_id == 0)
            rc = service_id(s, change_service ? service : NULL, &svc);
        else
            svc = h.service_id;
        if (rc == 0 && svc == 0)
            rc = st_seterr(s, STORE_EINVALID, "there is no default service (load the SLA data)");
    }
    if (rc == 0)
        rc = sla_apply(s, h.id, h.status, h.created_at, svc,
                       change_service ? h.priority : priority,
                       change_service || h.service_id == 0 ? CAL_CURRENT : CAL_KEEP, actor,
                       change_service ? "service" : "priority", 0);
    return st_finish(s, rc);
}

int store_sla_set_service(struct store *s, const char *number, int64_t actor, const char *service)
{
    return set_clock(s, "sla_set_service", number, actor, 1, service, 0);
}

int store_sla_set_priority(struct store *s, const char *number, int64_t actor, int priority)
{
    return set_clock(s, "sla_set_priority", number, actor, 0, NULL, priority);
}

int store_sla_reapply(struct store *s, const char *number, int64_t actor, int *count)
{
    if (count)
        *count = 0;
    int rc = st_begin(s, "sla_reapply");
    if (rc)
        return rc;
    if (actor)
        rc = check_staff(s, actor, 1);
    PGresult *r = NULL;
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, number);
        r = st_run(s, &rc,
                   "SELECT t.id FROM tickets t JOIN ticket_sla ts ON ts.ticket_id = t.id"
                   " WHERE CASE WHEN $1::text IS NULL THEN t.status <> 'closed'"
                   " ELSE t.number = $1 END ORDER BY t.id",
                   &p);
    }
    if (rc == 0 && number && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no ticket %s with a service level", number);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct sla_head h;
        rc = sla_head(s, NULL, g_i64(r, i, 0), &h);
        if (rc == 0)
            rc = sla_apply(s, h.id, h.status, h.created_at, h.service_id, h.priority, CAL_CURRENT,
                           actor, "reapply", 0);
        if (rc == 0 && count)
            (*count)++;
    }
    PQclear(r);
    rc = st_finish(s, rc);
    if (rc && count)
        *count = 0;
    return rc;
}

int store_ticket_sla_get(struct store *s, const char *number, int64_t viewer_id,
                         struct store_ticket_sla *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "ticket_sla_get");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, number);
    PGresult *r = st_run(s, &rc,
                         "SELECT t.requester_id, v.name, v.title, t.priority, ts.policy_id, c.name,"
                         " ts.calendar_version, ts.response_minutes, ts.resolve_minutes,"
                         " ts.warn_percent, " EPOCH("ts.started_at") ", " EPOCH("ts.response_due")
                         ", " EPOCH("ts.resolve_due") ", " EPOCH("ts.response_warn_at") ", "
                         EPOCH("ts.resolve_warn_at") ", " EPOCH("t.first_response_at") ", "
                         EPOCH("t.resolved_at") ", " EPOCH("ts.response_warned_at") ", "
                         EPOCH("ts.response_breached_at") ", " EPOCH("ts.resolve_warned_at") ", "
                         EPOCH("ts.resolve_breached_at") ", ts.ticket_id IS NOT NULL, "
                         SLA_STATE_SQL ", (SELECT " EPOCH("g.started_at")
                         " FROM ticket_sla_segments g WHERE g.ticket_id = t.id"
                         " AND g.ended_at IS NULL AND g.kind = 'paused'),"
                         " (SELECT coalesce(sum(extract(epoch FROM coalesce(g.ended_at, now())"
                         " - g.started_at)), 0)::bigint FROM ticket_sla_segments g"
                         " WHERE g.ticket_id = t.id AND g.kind = 'paused')"
                         " FROM tickets t LEFT JOIN ticket_sla ts ON ts.ticket_id = t.id"
                         " LEFT JOIN services v ON v.id = ts.service_id"
                         " LEFT JOIN calendars c ON c.id = ts.calendar_id WHERE t.number = $1",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        rc = st_seterr(s, STORE_ENOTFOUND, "no ticket %s", number ? number : "");
    } else {
        int64_t requester = g_i64(r, 0, 0);
        int has = g_bool(r, 0, 21);
        rc = st_may_view(s, requester, viewer_id);
        if (rc == 0 && !has)
            rc = st_seterr(s, STORE_ENOTFOUND, "%s has no service level", number);
        if (rc == 0) {
            g_copy(out->service, sizeof out->service, r, 0, 1);
            g_copy(out->service_title, sizeof out->service_title, r, 0, 2);
            out->priority = g_int(r, 0, 3);
            out->policy_id = g_i64(r, 0, 4);
            g_copy(out->calendar, sizeof out->calendar, r, 0, 5);
            out->calendar_version = g_int(r, 0, 6);
            out->response_minutes = g_dbl(r, 0, 7);
            out->resolve_minutes = g_dbl(r, 0, 8);
            out->warn_percent = g_int(r, 0, 9);
            int64_t *f[] = {&out->started_at,         &out->response_due,
                            &out->resolve_due,        &out->response_warn_at,
                            &out->resolve_warn_at,    &out->first_response_at,
                            &out->resolved_at,        &out->response_warned_at,
                            &out->response_breached_at, &out->resolve_warned_at,
                            &out->resolve_breached_at};
            for (int i = 0; i < 11; i++)
                *f[i] = g_i64(r, 0, 10 + i);
            g_copy(out->state, sizeof out->state, r, 0, 22);
            out->paused_since = g_i64(r, 0, 23);
            out->paused_seconds = g_i64(r, 0, 24);
        }
    }
    PQclear(r);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- the timer ------------------------------------------------------------- */

/* The four marks: which threshold column, which mark column, what stops
 * the clock. The column names are constants of this file, never input. */
static const struct mark {
    const char *kind, *target, *event, *at, *mark, *due, *running, *done;
} marks[] = {
    {"warning", "response", "sla_warning", "response_warn_at", "response_warned_at",
     "response_due", "t.first_response_at IS NULL", "response_done"},
    {"warning", "resolution", "sla_warning", "resolve_warn_at", "resolve_warned_at",
     "resolve_due", "t.status <> 'pending'", "resolve_done"},
    {"breach", "response", "sla_breach", "response_due", "response_breached_at", "response_due",
     "t.first_response_at IS NULL", "response_done"},
    {"breach", "resolution", "sla_breach", "resolve_due", "resolve_breached_at", "resolve_due",
     "t.status <> 'pending'", "resolve_done"},
};

int store_sla_tick(struct store *s, time_t now, int limit, store_sla_alert_cb cb, void *arg,
                   int *marked)
{
    if (marked)
        *marked = 0;
    if (limit < 1)
        limit = 1;
    PGresult *res[4] = {NULL, NULL, NULL, NULL};
    int rc = st_begin(s, "sla_tick");
    if (rc)
        return rc;
    /* clocks that ended for good leave the timer's indexes first (a
     * response once given; a closed ticket), so each run looks only at
     * clocks still running */
    if (rc == 0) {
        struct params p = {0};
        p_time(&p, now);
        rc = st_exec(s,
                     "UPDATE ticket_sla ts SET response_done = true FROM tickets t"
                     " WHERE t.id = ts.ticket_id AND NOT ts.response_done"
                     " AND ts.response_warn_at <= coalesce(to_timestamp($1::float8), now())"
                     " AND t.first_response_at IS NOT NULL",
                     &p, NULL);
    }
    if (rc == 0) {
        struct params p = {0};
        p_time(&p, now);
        rc = st_exec(s,
                     "UPDATE ticket_sla ts SET resolve_done = true FROM tickets t"
                     " WHERE t.id = ts.ticket_id AND NOT ts.resolve_done"
                     " AND ts.resolve_warn_at <= coalesce(to_timestamp($1::float8), now())"
                     " AND t.status = 'closed'",
                     &p, NULL);
    }
    for (int k = 0; rc == 0 && k < 4; k++) {
        const struct mark *m = &marks[k];
        char froms[128], sql[2048];
        sla_froms(m->event, froms, sizeof froms);
        /* the event keeps the status: to_status = from_status (the table
         * says so for every from-status it lists) */
        snprintf(sql, sizeof sql,
                 "WITH n AS (SELECT coalesce(to_timestamp($1::float8), now()) AS t),"
                 " due AS (SELECT ts.ticket_id FROM ticket_sla ts JOIN tickets t"
                 "  ON t.id = ts.ticket_id, n WHERE ts.%s IS NULL AND NOT ts.%s"
                 "  AND ts.%s <= n.t"
                 "  AND t.status = ANY ($2::text[]) AND %s"
                 "  ORDER BY ts.%s LIMIT $3 FOR UPDATE OF ts SKIP LOCKED),"
                 " up AS (UPDATE ticket_sla x SET %s = n.t FROM due, n"
                 "  WHERE x.ticket_id = due.ticket_id AND x.%s IS NULL"
                 "  RETURNING x.ticket_id, x.%s AS due, n.t AS at),"
                 " ev AS (INSERT INTO ticket_events (ticket_id, actor_id, type, from_status,"
                 "  to_status, detail, at) SELECT up.ticket_id, NULL, $4, t.status, t.status,"
                 "  jsonb_build_object('target', $5::text, 'due', " EPOCH("up.due") "), up.at"
                 "  FROM up JOIN tickets t ON t.id = up.ticket_id)"
                 " SELECT up.ticket_id, t.number, t.agent_id, t.priority, " EPOCH("up.due")
                 " FROM up JOIN tickets t ON t.id = up.ticket_id ORDER BY up.ticket_id",
                 m->mark, m->done, m->at, m->running, m->at, m->mark, m->mark, m->due);
        struct params p = {0};
        p_time(&p, now);
        p_str(&p, froms);
        p_i64(&p, limit);
        p_str(&p, m->event);
        p_str(&p, m->target);
        res[k] = st_run(s, &rc, sql, &p);
    }
    rc = st_finish(s, rc);
    for (int k = 0; k < 4; k++) {
        for (int i = 0; rc == 0 && res[k] && i < PQntuples(res[k]); i++) {
            struct store_sla_alert a = {
                .ticket_id = g_i64(res[k], i, 0),
                .number = g_str(res[k], i, 1),
                .kind = marks[k].kind,
                .target = marks[k].target,
                .agent_id = g_i64(res[k], i, 2),
                .priority = g_int(res[k], i, 3),
                .due = g_i64(res[k], i, 4),
            };
            if (marked)
                (*marked)++;
            if (cb)
                rc = cb(arg, &a);
        }
        PQclear(res[k]);
    }
    return rc;
}
