/* store_sla: each ticket's service-level clock and the warning / breach
 * timer (tables ticket_sla, ticket_sla_segments; events in ticket_events),
 * over the catalogue of store_catalog.c (calendars with versions, services,
 * SLA policies). Deadlines are computed here in C with
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
        /* who is told, their mails, escalation rules (store_escalation.c) */
        for (int i = 0; rc == 0 && res[k] && i < PQntuples(res[k]); i++)
            rc = st_sla_marked(s, g_i64(res[k], i, 0), g_i64(res[k], i, 2), m->kind, m->target,
                               g_i64(res[k], i, 4), now);
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
