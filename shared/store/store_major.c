/* store_major: major incidents (019_major.sql): declaring and clearing one
 * (the flag row, its ticket event, the people told and their mails, in one
 * transaction), linking affected tickets, reading an incident with its
 * links, the tickets whose requesters see its banner, and the priority
 * rule's sweep. Declared in store_major.h. */
#include "store_major.h"
#include "store_int.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <stdlib.h>
#include <string.h>

/* Everyone told of ticket $1's incident: every enabled team lead, every
 * enabled staff member of the service's owner team (why "owner" first). */
#define TOLD_CTE                                                                           \
    "WITH tk AS (SELECT t.id, sv.owner_team FROM tickets t"                                 \
    "  LEFT JOIN ticket_sla ts ON ts.ticket_id = t.id"                                      \
    "  LEFT JOIN services sv ON sv.id = ts.service_id WHERE t.id = $1),"                    \
    " cand (person_id, why, rank) AS ("                                                     \
    "  SELECT m.person_id, 'owner', 1 FROM team_members m JOIN teams tm ON tm.id = m.team_id," \
    "   tk WHERE tk.owner_team IS NOT NULL AND (tm.slug = tk.owner_team"                     \
    "   OR tm.name = tk.owner_team)"                                                         \
    "  UNION ALL SELECT r.person_id, 'lead', 2 FROM person_roles r WHERE r.role = 'team_lead')," \
    " pick AS (SELECT DISTINCT ON (person_id) person_id, why FROM cand"                     \
    "  ORDER BY person_id, rank),"                                                           \
    " told AS (SELECT p.id, pick.why, p.email FROM pick JOIN people p ON p.id = pick.person_id" \
    "  AND NOT p.disabled AND p.role IN ('agent', 'admin'))"

static int text_ok(const char *v, int optional)
{
    if (!v)
        return optional;
    size_t n = kb_utf8_count(v, strlen(v));
    if (n < 1 || n > STORE_MAJOR_TEXT_MAX)
        return 0;
    for (const char *c = v; *c; c++)
        if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r')
            return 1;
    return 0;
}

/* May actor declare or clear? (an enabled admin, an enabled agent with the
 * team_lead role) */
static int may_declare(struct store *s, int64_t actor)
{
    struct params p = {0};
    p_i64(&p, actor);
    int rc = 0;
    PGresult *r = st_run(s, &rc,
                         "SELECT NOT p.disabled AND (p.role = 'admin' OR (p.role = 'agent'"
                         " AND EXISTS (SELECT 1 FROM person_roles l WHERE l.person_id = p.id"
                         " AND l.role = 'team_lead'))) FROM people p WHERE p.id = $1",
                         &p);
    if (!r)
        return rc;
    int ok = PQntuples(r) == 1 && g_bool(r, 0, 0);
    PQclear(r);
    return ok ? 0
              : st_seterr(s, STORE_EFORBIDDEN,
                          "only an administrator or a team lead declares or clears a major"
                          " incident");
}

/* The ticket's id, status, summary and priority, locked. */
struct mhead {
    int64_t id;
    char status[16], number[32];
    char *summary;
    int priority;
    int major_row, cleared; /* a major_incidents row; it is cleared */
    int64_t linked_to;      /* major_links.major_id, 0: none */
};

static int mhead_read(struct store *s, const char *number, struct mhead *h)
{
    memset(h, 0, sizeof *h);
    if (!number || !*number)
        return st_seterr(s, STORE_EINVALID, "no ticket number");
    struct params p = {0};
    p_str(&p, number);
    int rc = 0;
    PGresult *r = st_run(s, &rc,
                         "SELECT t.id, t.status, t.number, t.summary, t.priority,"
                         " mi.ticket_id IS NOT NULL, mi.cleared_at IS NOT NULL,"
                         " coalesce(ml.major_id, 0)"
                         " FROM tickets t LEFT JOIN major_incidents mi ON mi.ticket_id = t.id"
                         " LEFT JOIN major_links ml ON ml.ticket_id = t.id"
                         " WHERE t.number = $1 FOR UPDATE OF t",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return st_seterr(s, STORE_ENOTFOUND, "no ticket %s", number);
    }
    h->id = g_i64(r, 0, 0);
    g_copy(h->status, sizeof h->status, r, 0, 1);
    g_copy(h->number, sizeof h->number, r, 0, 2);
    h->summary = kb_xstrdup(g_str(r, 0, 3));
    h->priority = g_int(r, 0, 4);
    h->major_row = g_bool(r, 0, 5);
    h->cleared = g_bool(r, 0, 6);
    h->linked_to = g_i64(r, 0, 7);
    PQclear(r);
    return 0;
}

/* mhead_read of number for actor, who may declare and clear (may_declare);
 * h is zeroed first, so the caller frees h->summary on failure too. */
static int declarer_head(struct store *s, int64_t actor, const char *number, struct mhead *h)
{
    memset(h, 0, sizeof *h);
    int rc = may_declare(s, actor);
    if (rc == 0)
        rc = mhead_read(s, number, h);
    return rc;
}

static int is_open(const char *status)
{
    return strcmp(status, "resolved") != 0 && strcmp(status, "closed") != 0;
}

/* Inside the transaction: declares h (checked by the caller) by actor (0:
 * the rule), its event and the mails; *told_r gets the people told
 * (id, why; caller clears). */
static int declare_locked(struct store *s, const struct mhead *h, int64_t actor,
                          const char *reason, const char *message, time_t now,
                          PGresult **told_r)
{
    struct params p = {0};
    p_i64(&p, h->id);
    p_id(&p, actor);
    p_str(&p, reason);
    p_str(&p, message);
    p_time(&p, now);
    int rc = st_exec(s,
                     "INSERT INTO major_incidents (ticket_id, declared_at, declared_by, reason,"
                     " message) VALUES ($1, coalesce(to_timestamp($5::float8), now()), $2, $3, $4)"
                     " ON CONFLICT (ticket_id) DO UPDATE SET declared_at = EXCLUDED.declared_at,"
                     " declared_by = EXCLUDED.declared_by, reason = EXCLUDED.reason,"
                     " message = EXCLUDED.message, cleared_at = NULL, cleared_by = NULL",
                     &p, NULL);
    if (rc == 0) {
        json_t *d = json_pack("{s:s, s:o, s:b}", "reason", reason, "message",
                              message ? json_string(message) : json_null(), "by_rule", actor == 0);
        rc = st_ticket_event(s, h->id, actor, "major_declared", h->status, h->status, d, now);
    }
    if (rc == 0) {
        char subject[256], body[3072];
        snprintf(subject, sizeof subject, "[重大事件] 工单 %s / Major incident: ticket %s",
                 h->number, h->number);
        snprintf(body, sizeof body,
                 "工单 %s（优先级 %d）已被定为重大事件：%s\n摘要：%s\n\n"
                 "Ticket %s (priority %d) is a major incident: %s\n"
                 "{portal}\n",
                 h->number, h->priority, reason, h->summary ? h->summary : "", h->number,
                 h->priority, reason);
        /* due at once: a major incident ignores quiet hours */
        struct params q = {0};
        p_i64(&q, h->id);
        p_str(&q, subject);
        p_str(&q, body);
        rc = st_exec(s,
                     TOLD_CTE
                     " INSERT INTO mail_outbox (kind, person_id, ticket_id, to_addr, subject, body,"
                     "  next_attempt_at) SELECT 'major_incident', told.id, $1, told.email, $2, $3,"
                     "  now() FROM told WHERE told.email IS NOT NULL"
                     "  AND told.email !~ '[\\r\\n<>,]' AND told.email LIKE '%_@_%'",
                     &q, NULL);
    }
    if (rc == 0) {
        struct params q = {0};
        p_i64(&q, h->id);
        *told_r = st_run(s, &rc, TOLD_CTE " SELECT id, why FROM told ORDER BY id", &q);
    }
    return rc;
}

static int tell(PGresult *r, const char *number, const char *event, int by_rule,
                store_major_told_cb told, void *arg)
{
    int rc = 0;
    for (int i = 0; r && told && rc == 0 && i < PQntuples(r); i++) {
        struct store_major_told t = {.person_id = g_i64(r, i, 0), .why = g_str(r, i, 1),
                                     .number = number, .event = event, .by_rule = by_rule};
        rc = told(arg, &t);
    }
    return rc;
}

int store_major_declare(struct store *s, const char *number, int64_t actor, const char *reason,
                        const char *message, time_t now, store_major_told_cb told, void *arg,
                        int *declared)
{
    if (declared)
        *declared = 0;
    if (!text_ok(reason, 0) || !text_ok(message, 1))
        return st_seterr(s, STORE_EINVALID, "reason (required) and message are 1..%d characters",
                         STORE_MAJOR_TEXT_MAX);
    int rc = st_begin(s, "major_declare");
    if (rc)
        return rc;
    struct mhead h;
    rc = declarer_head(s, actor, number, &h);
    int fresh = 0;
    PGresult *tr = NULL;
    if (rc == 0 && h.major_row && !h.cleared) {
        fresh = 0; /* one already */
    } else if (rc == 0 && !is_open(h.status)) {
        rc = st_seterr(s, STORE_EINVALID, "ticket %s is %s: only an open ticket is declared",
                       h.number, h.status);
    } else if (rc == 0 && h.linked_to) {
        rc = st_seterr(s, STORE_EINVALID,
                       "ticket %s is linked to another major incident", h.number);
    } else if (rc == 0) {
        fresh = 1;
        rc = declare_locked(s, &h, actor, reason, message, now, &tr);
    }
    rc = st_finish(s, rc);
    if (rc == 0 && declared)
        *declared = fresh;
    if (rc == 0)
        rc = tell(tr, h.number, "declared", 0, told, arg);
    PQclear(tr);
    free(h.summary);
    return rc;
}

int store_major_clear(struct store *s, const char *number, int64_t actor, time_t now,
                      store_major_told_cb told, void *arg)
{
    int rc = st_begin(s, "major_clear");
    if (rc)
        return rc;
    struct mhead h;
    rc = declarer_head(s, actor, number, &h);
    if (rc == 0 && (!h.major_row || h.cleared))
        rc = st_seterr(s, STORE_EINVALID, "ticket %s is not a major incident now", h.number);
    PGresult *tr = NULL;
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        p_i64(&p, actor);
        p_time(&p, now);
        rc = st_exec(s,
                     "UPDATE major_incidents SET cleared_by = $2,"
                     " cleared_at = greatest(declared_at, coalesce(to_timestamp($3::float8), now()))"
                     " WHERE ticket_id = $1",
                     &p, NULL);
    }
    if (rc == 0)
        rc = st_ticket_event(s, h.id, actor, "major_cleared", h.status, h.status, NULL, now);
    if (rc == 0) {
        struct params q = {0};
        p_i64(&q, h.id);
        tr = st_run(s, &rc, TOLD_CTE " SELECT id, why FROM told ORDER BY id", &q);
    }
    rc = st_finish(s, rc);
    if (rc == 0)
        rc = tell(tr, h.number, "cleared", 0, told, arg);
    PQclear(tr);
    free(h.summary);
    return rc;
}

int store_major_link(struct store *s, const char *major, const char *ticket, int64_t actor,
                     time_t now, int *added)
{
    if (added)
        *added = 0;
    int rc = st_begin(s, "major_link");
    if (rc)
        return rc;
    struct mhead m, t;
    memset(&m, 0, sizeof m);
    memset(&t, 0, sizeof t);
    rc = mhead_read(s, major, &m);
    if (rc == 0)
        rc = mhead_read(s, ticket, &t);
    if (rc == 0) {
        /* a lead or an admin links any ticket; an agent one they may work on */
        if (may_declare(s, actor) != 0) {
            rc = st_may_work(s, t.id, actor, NULL);
            if (rc == STORE_ENOTFOUND)
                rc = st_seterr(s, STORE_EFORBIDDEN, "not an enabled agent");
        }
    }
    int link = 0;
    if (rc == 0 && (!m.major_row || m.cleared))
        rc = st_seterr(s, STORE_EINVALID, "ticket %s is not a major incident now", m.number);
    else if (rc == 0 && m.id == t.id)
        rc = st_seterr(s, STORE_EINVALID, "a major incident is not linked to itself");
    else if (rc == 0 && t.major_row && !t.cleared)
        rc = st_seterr(s, STORE_EINVALID, "ticket %s is a major incident itself", t.number);
    else if (rc == 0 && t.linked_to && t.linked_to != m.id)
        rc = st_seterr(s, STORE_EINVALID, "ticket %s is linked to another major incident",
                       t.number);
    else if (rc == 0 && strcmp(t.status, "closed") == 0)
        rc = st_seterr(s, STORE_EINVALID, "ticket %s is closed", t.number);
    else if (rc == 0 && !t.linked_to)
        link = 1;
    if (rc == 0 && link) {
        struct params p = {0};
        p_i64(&p, t.id);
        p_i64(&p, m.id);
        p_i64(&p, actor);
        p_time(&p, now);
        rc = st_exec(s,
                     "INSERT INTO major_links (ticket_id, major_id, linked_by, at)"
                     " VALUES ($1, $2, $3, coalesce(to_timestamp($4::float8), now()))",
                     &p, NULL);
        if (rc == 0)
            rc = st_ticket_event(s, t.id, actor, "major_linked", t.status, t.status,
                                 json_pack("{s:s}", "major", m.number), now);
    }
    rc = st_finish(s, rc);
    if (rc == 0 && added)
        *added = link;
    free(m.summary);
    free(t.summary);
    return rc;
}

void store_major_fin(struct store_major *m)
{
    if (!m)
        return;
    free(m->declared_by);
    free(m->reason);
    free(m->message);
    for (int i = 0; i < m->nlinked; i++)
        free(m->linked[i].summary);
    free(m->linked);
    memset(m, 0, sizeof *m);
}

int store_major_get(struct store *s, const char *number, int64_t viewer, struct store_major *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "major_get");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, viewer);
    PGresult *r = st_run(s, &rc, "SELECT role, disabled FROM people WHERE id = $1", &p);
    if (!r)
        return rc;
    int staff = PQntuples(r) == 1 && st_is_staff(g_str(r, 0, 0)) && !g_bool(r, 0, 1);
    PQclear(r);
    if (!staff)
        return st_seterr(s, STORE_EFORBIDDEN, "major incidents are for agents");
    struct params q = {0};
    p_str(&q, number ? number : "");
    r = st_run(s, &rc,
               "SELECT t.number, " EPOCH("mi.declared_at") ", " EPOCH("mi.cleared_at")
               ", d.name, mi.reason, mi.message, t.id"
               " FROM tickets t LEFT JOIN major_incidents mi ON mi.ticket_id = t.id"
               " LEFT JOIN people d ON d.id = mi.declared_by WHERE t.number = $1",
               &q);
    if (!r)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return st_seterr(s, STORE_ENOTFOUND, "no ticket %s", number ? number : "");
    }
    g_copy(out->number, sizeof out->number, r, 0, 0);
    out->declared_at = g_i64(r, 0, 1);
    out->cleared_at = g_i64(r, 0, 2);
    out->declared_by = kb_xstrdup(g_str(r, 0, 3));
    out->reason = kb_xstrdup(g_str(r, 0, 4));
    out->message = kb_xstrdup(g_str(r, 0, 5));
    int64_t id = g_i64(r, 0, 6);
    PQclear(r);
    struct params l = {0};
    p_i64(&l, id);
    r = st_run(s, &rc,
               "SELECT t.number, t.status, t.summary, " EPOCH("ml.at")
               " FROM major_links ml JOIN tickets t ON t.id = ml.ticket_id"
               " WHERE ml.major_id = $1 ORDER BY ml.at, t.id",
               &l);
    if (!r) {
        store_major_fin(out);
        return rc;
    }
    int n = PQntuples(r);
    out->linked = n ? kb_xcalloc((size_t)n, sizeof *out->linked) : NULL;
    for (int i = 0; i < n; i++) {
        g_copy(out->linked[i].number, sizeof out->linked[i].number, r, i, 0);
        g_copy(out->linked[i].status, sizeof out->linked[i].status, r, i, 1);
        out->linked[i].summary = kb_xstrdup(g_str(r, i, 2));
        out->linked[i].at = g_i64(r, i, 3);
    }
    out->nlinked = n;
    PQclear(r);
    return 0;
}

int store_major_affected(struct store *s, const char *major, store_major_affected_cb cb,
                         void *arg)
{
    int rc = st_single(s, "major_affected");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, major ? major : "");
    PGresult *r = st_run(s, &rc,
                         "SELECT t.number, t.conversation_id, m.number, mi.cleared_at IS NULL,"
                         " mi.message, " EPOCH("mi.declared_at")
                         " FROM tickets m JOIN major_incidents mi ON mi.ticket_id = m.id"
                         " JOIN tickets t ON t.id = m.id OR t.id IN (SELECT ticket_id"
                         " FROM major_links WHERE major_id = m.id) WHERE m.number = $1"
                         " ORDER BY t.id",
                         &p);
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++)
        rc = cb(arg, g_str(r, i, 0), g_i64(r, i, 1), g_str(r, i, 2), g_bool(r, i, 3),
                g_str(r, i, 4), g_i64(r, i, 5));
    PQclear(r);
    return rc;
}

int store_major_sweep(struct store *s, time_t now, int limit, store_major_told_cb told,
                      int (*declared)(void *arg, const char *number), void *arg)
{
    if (limit < 1)
        limit = 1;
    int rc = st_begin(s, "major_sweep");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, limit);
    PGresult *due = st_run(s, &rc,
                           "SELECT t.number FROM tickets t, major_rule mr"
                           " WHERE mr.priority IS NOT NULL AND t.priority <= mr.priority"
                           " AND t.status IN ('new', 'assigned', 'pending', 'reopened')"
                           " AND NOT EXISTS (SELECT 1 FROM major_incidents mi"
                           "  WHERE mi.ticket_id = t.id)"
                           " AND NOT EXISTS (SELECT 1 FROM major_links ml WHERE ml.ticket_id = t.id)"
                           " ORDER BY t.id LIMIT $1 FOR UPDATE OF t SKIP LOCKED",
                           &p);
    int n = due ? PQntuples(due) : 0;
    PGresult **tr = n ? kb_xcalloc((size_t)n, sizeof *tr) : NULL;
    for (int i = 0; rc == 0 && i < n; i++) {
        struct mhead h;
        rc = mhead_read(s, g_str(due, i, 0), &h);
        char reason[32];
        snprintf(reason, sizeof reason, "priority %d", h.priority);
        if (rc == 0)
            rc = declare_locked(s, &h, 0, reason, NULL, now, &tr[i]);
        free(h.summary);
    }
    rc = st_finish(s, rc);
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = tell(tr[i], g_str(due, i, 0), "declared", 1, told, arg);
        if (rc == 0 && declared)
            rc = declared(arg, g_str(due, i, 0));
    }
    for (int i = 0; i < n; i++)
        PQclear(tr[i]);
    free(tr);
    PQclear(due);
    return rc;
}

int st_major_rule_set(struct store *s, int priority)
{
    if (priority < 0 || priority > 4)
        return st_seterr(s, STORE_EINVALID, "major_priority is 1..4 (0 or absent: off)");
    struct params p = {0};
    if (priority)
        p_i64(&p, priority);
    else
        p_str(&p, NULL);
    return st_exec(s, "UPDATE major_rule SET priority = $1", &p, NULL);
}

int st_major_touches(struct store *s, int64_t ticket, int *rc)
{
    struct params p = {0};
    p_i64(&p, ticket);
    PGresult *r = st_run(s, rc,
                         "SELECT EXISTS (SELECT 1 FROM major_incidents mi WHERE mi.cleared_at IS NULL"
                         " AND (mi.ticket_id = $1 OR mi.ticket_id = (SELECT major_id FROM major_links"
                         " WHERE ticket_id = $1)))",
                         &p);
    if (!r)
        return -1;
    int v = PQntuples(r) == 1 && g_bool(r, 0, 0);
    PQclear(r);
    return v;
}
