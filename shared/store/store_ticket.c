/* store_ticket: tickets and their lifecycle (tables tickets,
 * ticket_events, ticket_links, ratings). The lifecycle is one table,
 * `transitions` below: each function that changes a ticket locks its row,
 * checks who asks, asks store_ticket_next() whether the ticket's status
 * allows the change and what status follows, and writes the ticket and its
 * ticket_events row (from, to, who, when) in the same transaction; no
 * function writes a status of its own choosing. The function that
 * auto-closes many tickets at once passes the table's from-statuses to its
 * statement. Reading (store_queue, store_ticket_get, the history and the
 * links) is here too, and so are the ticket side of an agent's message and
 * of a requester's verdict on a suggestion (st_ticket_replied,
 * st_ticket_link_conversation), which store_conv.c calls inside its own
 * transactions. Waiting for the requester (pending / resumed) is in
 * store_pause.c, on the same table (st_ticket_step). */
#include "store_int.h"

#include <string.h>

#include "kb_utf8.h"
#include "kb_util.h"

/* ---- the lifecycle: one table ------------------------------------------ */

/* Every change a ticket may undergo: the event (ticket_events.type), a
 * status it may happen in (NULL: before the ticket exists) and the status
 * after it. An event missing for a status is refused in that status. */
static const struct st_transition transitions[] = {
    {"created", NULL, "new"},
    {"taken", "new", "assigned"},
    {"taken", "reopened", "assigned"},
    {"replied", "assigned", "assigned"},
    {"replied", "resolved", "resolved"},
    {"replied", "reopened", "reopened"},
    {"linked", "new", "new"},
    {"linked", "assigned", "assigned"},
    {"linked", "resolved", "resolved"},
    {"linked", "reopened", "reopened"},
    {"resolved", "assigned", "resolved"},
    {"resolved", "reopened", "resolved"},
    {"reopened", "resolved", "reopened"},
    {"confirmed", "resolved", "closed"},
    {"auto_closed", "resolved", "closed"},
    {"rated", "resolved", "resolved"},
    {"rated", "closed", "closed"},
    /* the agent workspace (store_workspace.h) */
    {"edited", "new", "new"},
    {"edited", "assigned", "assigned"},
    {"edited", "resolved", "resolved"},
    {"edited", "reopened", "reopened"},
    {"edited", "closed", "closed"},
    {"noted", "new", "new"},
    {"noted", "assigned", "assigned"},
    {"noted", "resolved", "resolved"},
    {"noted", "reopened", "reopened"},
    {"noted", "closed", "closed"},
    {"assigned", "new", "assigned"},
    {"assigned", "assigned", "assigned"},
    {"assigned", "reopened", "assigned"},
    {"transferred", "new", "new"},
    {"transferred", "assigned", "new"},
    {"transferred", "reopened", "reopened"},
    {"merged", "new", "closed"},
    {"merged", "assigned", "closed"},
    {"merged", "reopened", "closed"},
    {"merged_from", "new", "new"},
    {"merged_from", "assigned", "assigned"},
    {"merged_from", "resolved", "resolved"},
    {"merged_from", "reopened", "reopened"},
    /* waiting for the requester (014_pause.sql): set by the agent holding
     * the ticket, left by the requester's next message or the agent */
    {"pending", "assigned", "pending"},
    {"pending", "reopened", "pending"},
    {"resumed", "pending", "assigned"},
    {"replied", "pending", "pending"},
    {"linked", "pending", "pending"},
    {"edited", "pending", "pending"},
    {"noted", "pending", "pending"},
    {"resolved", "pending", "resolved"},
    {"merged_from", "pending", "pending"},
};
#define NTRANSITIONS (sizeof transitions / sizeof transitions[0])

const char *store_ticket_next(const char *from, const char *event)
{
    return st_transition_next(transitions, NTRANSITIONS, from, event);
}

/* The status ticket `number` (now in status from) goes to on event, into
 * *to; STORE_EINVALID ("INC-000001 is closed: cannot <what>") when the
 * table does not allow it. */
int st_ticket_step(struct store *s, const char *number, const char *from, const char *event,
                       const char *what, const char **to)
{
    *to = store_ticket_next(from, event);
    if (!*to)
        return st_seterr(s, STORE_EINVALID, "%s is %s: cannot %s", number, from, what);
    return 0;
}

/* The from-statuses of event as a PostgreSQL array literal ("{resolved}")
 * into out, and the one status they all go to into *to (NULL if they do
 * not agree, or there are none). */
static void ticket_froms(const char *event, char *out, size_t n, const char **to)
{
    size_t len = (size_t)snprintf(out, n, "{");
    *to = NULL;
    int first = 1, agree = 1;
    for (size_t i = 0; i < NTRANSITIONS; i++) {
        const struct st_transition *t = &transitions[i];
        if (strcmp(t->event, event) != 0 || !t->from)
            continue;
        if (*to && strcmp(*to, t->to) != 0)
            agree = 0;
        *to = t->to;
        if (len < n)
            len += (size_t)snprintf(out + len, n - len, "%s%s", first ? "" : ",", t->from);
        first = 0;
    }
    if (len < n)
        snprintf(out + len, n - len, "}");
    if (!agree)
        *to = NULL;
}

/* ---- events and links ---------------------------------------------------- */

int st_ticket_event(struct store *s, int64_t ticket, int64_t actor, const char *type,
                    const char *from, const char *to, json_t *detail, time_t at)
{
    char *js = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);
    struct params p = {0};
    p_i64(&p, ticket);
    p_id(&p, actor);
    p_str(&p, type);
    p_str(&p, from);
    p_str(&p, to);
    p_str(&p, js);
    p_time(&p, at);
    int rc = st_exec(s,
                     "INSERT INTO ticket_events (ticket_id, actor_id, type, from_status, to_status,"
                     " detail, at) VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'),"
                     " coalesce(to_timestamp($7::float8), now()))",
                     &p, NULL);
    free(js);
    return rc;
}

/* Links doc to ticket `number` (status tstatus, locked by the caller) with
 * relation, writing a "linked" event when new; *added (may be NULL) says
 * whether it was. STORE_EINVALID when the table allows no link in tstatus. */
static int link_add(struct store *s, int64_t ticket, const char *number, const char *tstatus,
                    const char *doc_id, const char *relation, int64_t actor, int *added)
{
    const char *to = NULL;
    int rc = st_ticket_step(s, number, tstatus, "linked", "link to it", &to);
    struct params p = {0};
    int rows = 0;
    p_i64(&p, ticket);
    p_str(&p, doc_id);
    p_str(&p, relation);
    p_id(&p, actor);
    if (rc == 0)
        rc = st_exec(s,
                     "INSERT INTO ticket_links (ticket_id, doc_id, relation, actor_id)"
                     " VALUES ($1, $2, $3, $4)"
                     " ON CONFLICT (ticket_id, doc_id, relation) DO NOTHING",
                     &p, &rows);
    if (rc == 0 && rows > 0)
        rc = st_ticket_event(s, ticket, actor, "linked", tstatus, to,
                             json_pack("{s:s, s:s}", "doc_id", doc_id, "relation", relation), 0);
    if (added)
        *added = rc == 0 && rows > 0;
    return rc;
}

int st_ticket_link_conversation(struct store *s, int64_t conv, const char *doc_id,
                                const char *relation, int64_t actor)
{
    struct params p = {0};
    p_i64(&p, conv);
    int rc = 0;
    /* the caller holds the conversation's lock; the ticket's row is not
     * locked here, as before the split (a requester's verdict must not wait
     * behind an agent's change of the ticket) */
    PGresult *r = st_run(s, &rc,
                         "SELECT id, number, status FROM tickets WHERE conversation_id = $1",
                         &p);
    if (r && PQntuples(r) > 0) {
        char number[STORE_NUMBER_MAX], tstatus[STORE_WORD_MAX];
        g_copy(number, sizeof number, r, 0, 1);
        g_copy(tstatus, sizeof tstatus, r, 0, 2);
        rc = link_add(s, g_i64(r, 0, 0), number, tstatus, doc_id, relation, actor, NULL);
    }
    PQclear(r);
    return rc;
}

int st_ticket_replied(struct store *s, int64_t ticket, const char *tstatus, int64_t agent,
                      int seq)
{
    const char *to = store_ticket_next(tstatus, "replied");
    if (!to)
        return st_seterr(s, STORE_EINVALID, "ticket %lld is %s: cannot reply", (long long)ticket,
                         tstatus);
    struct params p = {0};
    p_i64(&p, ticket);
    p_str(&p, to);
    int rc = st_exec(s,
                     "UPDATE tickets SET status = $2,"
                     " first_response_at = coalesce(first_response_at, now()),"
                     " updated_at = now() WHERE id = $1",
                     &p, NULL);
    if (rc == 0)
        rc = st_ticket_event(s, ticket, agent, "replied", tstatus, to,
                             json_pack("{s:i}", "seq", seq), 0);
    return rc;
}

/* ---- tickets --------------------------------------------------------------------- */

int store_priority(int impact, int urgency)
{
    static const int matrix[3][3] = {{1, 2, 3}, {2, 3, 4}, {3, 4, 4}};
    if (impact < 1 || impact > 3 || urgency < 1 || urgency > 3)
        return STORE_EINVALID;
    return matrix[impact - 1][urgency - 1];
}

void store_sla_default(struct store_sla *sla)
{
    static const struct store_sla def = {
        .response_s = {15 * 60, 30 * 60, 4 * 3600, 8 * 3600},
        .resolution_s = {4 * 3600, 8 * 3600, 3 * 86400, 5 * 86400},
    };
    *sla = def;
}

void store_ticket_fin(struct store_ticket *t)
{
    if (!t)
        return;
    free(t->summary);
    free(t->category);
    free(t->resolution);
    free(t->requester_name);
    free(t->agent_name);
    free(t->team_name);
    free(t->rating_comment);
    free(t->pending_reason);
    free(t->major_message);
    memset(t, 0, sizeof *t);
}

#define TICKET_SELECT ST_TICKET_SELECT

/* Fills t from a TICKET_SELECT row: strings borrowed from r, or copies
 * (owned by t) when copy. */
static void ticket_from_row(const PGresult *r, int row, struct store_ticket *t, int copy)
{
    memset(t, 0, sizeof *t);
    t->id = g_i64(r, row, 0);
    g_copy(t->number, sizeof t->number, r, row, 1);
    t->conversation_id = g_i64(r, row, 2);
    t->requester_id = g_i64(r, row, 3);
    t->agent_id = g_i64(r, row, 4);
    g_copy(t->status, sizeof t->status, r, row, 5);
    t->impact = g_int(r, row, 6);
    t->urgency = g_int(r, row, 7);
    t->priority = g_int(r, row, 8);
    t->response_due = g_i64(r, row, 9);
    t->resolution_due = g_i64(r, row, 10);
    t->first_response_at = g_i64(r, row, 11);
    t->resolved_at = g_i64(r, row, 12);
    t->closed_at = g_i64(r, row, 13);
    t->created_at = g_i64(r, row, 14);
    t->updated_at = g_i64(r, row, 15);
    t->rating = g_int(r, row, 16);
    char **str[] = {&t->summary, &t->category, &t->resolution, &t->requester_name,
                    &t->agent_name};
    for (int i = 0; i < 5; i++) {
        const char *v = g_str(r, row, 17 + i);
        *str[i] = copy ? kb_xstrdup(v) : (char *)v;
    }
    /* service levels (010_sla.sql) */
    g_copy(t->service, sizeof t->service, r, row, 22);
    g_copy(t->sla_state, sizeof t->sla_state, r, row, 23);
    /* the workspace's columns (013_workspace.sql) */
    t->team_id = g_i64(r, row, 24);
    g_copy(t->team, sizeof t->team, r, row, 25);
    const char *tn = g_str(r, row, 26), *rc = g_str(r, row, 27);
    t->team_name = copy ? kb_xstrdup(tn) : (char *)tn;
    t->rating_comment = copy ? kb_xstrdup(rc) : (char *)rc;
    g_copy(t->merged_into, sizeof t->merged_into, r, row, 28);
    /* waiting for the requester (014_pause.sql) */
    const char *pr = g_str(r, row, 29);
    t->pending_reason = copy ? kb_xstrdup(pr) : (char *)pr;
    /* the major incident that touches it (019_major.sql) */
    g_copy(t->major, sizeof t->major, r, row, 30);
    const char *mm = g_str(r, row, 31);
    t->major_message = copy ? kb_xstrdup(mm) : (char *)mm;
    t->major_since = g_i64(r, row, 32);
}

void st_ticket_from_row(const PGresult *r, int row, struct store_ticket *t, int copy)
{
    ticket_from_row(r, row, t, copy);
}

/* Reads one ticket (owned strings) by a TICKET_SELECT query of one param. */
static int ticket_load(struct store *s, const char *sql, const struct params *p,
                       struct store_ticket *out)
{
    int rc = 0;
    PGresult *r = st_run_row(s, &rc, sql, p, "no such ticket");
    if (!r)
        return rc;
    ticket_from_row(r, 0, out, 1);
    PQclear(r);
    return rc;
}

int st_ticket_select(struct store *s, const char *number, int lock, const char *cols,
                     PGresult **out)
{
    *out = NULL;
    if (!number)
        return st_seterr(s, STORE_EINVALID, "no ticket number");
    struct kb_buf sql;
    kb_buf_init(&sql);
    kb_buf_printf(&sql, "SELECT %s FROM tickets t WHERE t.number = $1%s", cols,
                  lock ? " FOR UPDATE OF t" : "");
    struct params p = {0};
    p_str(&p, number);
    int rc = 0;
    PGresult *r = st_run(s, &rc, sql.data, &p);
    kb_buf_fin(&sql);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return st_seterr(s, STORE_ENOTFOUND, "no ticket %s", number);
    }
    *out = r;
    return 0;
}

/* Reads (and locks, if lock) ticket number's head. */
int st_ticket_head(struct store *s, const char *number, int lock, struct st_ticket_head *h)
{
    memset(h, 0, sizeof *h);
    PGresult *r;
    int rc = st_ticket_select(s, number, lock, ST_TICKET_HEAD_COLS, &r);
    if (rc)
        return rc;
    st_ticket_head_read(r, h);
    PQclear(r);
    return 0;
}

void st_ticket_head_read(const PGresult *r, struct st_ticket_head *h)
{
    h->id = g_i64(r, 0, 0);
    h->conversation_id = g_i64(r, 0, 1);
    h->requester_id = g_i64(r, 0, 2);
    h->agent_id = g_i64(r, 0, 3);
    g_copy(h->status, sizeof h->status, r, 0, 4);
}

/* ticket_head (unlocked) of a ticket viewer may see (st_may_view). */
static int viewed_head(struct store *s, const char *number, int64_t viewer,
                       struct st_ticket_head *h)
{
    int rc = st_ticket_head(s, number, 0, h);
    if (rc == 0)
        rc = st_may_view(s, h->requester_id, viewer);
    return rc;
}

/* Operation op: the rows of sql (its $1: the ticket's id) for a ticket
 * viewer may see, in one transaction. Returns 0 and *out (caller clears),
 * or STORE_E* with *out NULL. */
static int ticket_rows(struct store *s, const char *op, const char *number, int64_t viewer,
                       const char *sql, PGresult **out)
{
    struct st_ticket_head h;
    PGresult *r = NULL;
    *out = NULL;
    int rc = st_begin(s, op);
    if (rc)
        return rc;
    rc = viewed_head(s, number, viewer, &h);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        r = st_run(s, &rc, sql, &p);
    }
    rc = st_finish(s, rc);
    if (rc == 0)
        *out = r;
    else
        PQclear(r);
    return rc;
}

int store_escalate(struct store *s, int64_t conv, int64_t requester_id, const char *summary,
                   const char *category, int impact, int urgency, const struct store_sla *sla,
                   time_t now, struct store_ticket *out)
{
    struct store_sla def;
    struct store_conversation c;
    memset(out, 0, sizeof *out);
    int rc = st_begin(s, "escalate");
    if (rc)
        return rc;
    int prio = store_priority(impact, urgency);
    if (!sla) {
        store_sla_default(&def);
        sla = &def;
    }
    if (prio < 0)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "impact and urgency are 1..3 (got %d, %d)",
                                impact, urgency));
    if (sla->response_s[prio - 1] <= 0 ||
        sla->resolution_s[prio - 1] < sla->response_s[prio - 1])
        return st_finish(s, st_seterr(s, STORE_EINVALID, "bad SLA targets for P%d", prio));
    if (!summary)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "a ticket needs a summary"));

    rc = st_conv_read(s, conv, 0, 1, &c);
    if (rc == 0 && c.requester_id != requester_id)
        rc = st_seterr(s, STORE_EFORBIDDEN, "conversation %lld is not this requester's",
                       (long long)conv);
    if (rc == 0 && c.ticket[0]) {
        struct params p = {0};
        p_i64(&p, conv);
        rc = st_finish(s, ticket_load(s, TICKET_SELECT "WHERE t.conversation_id = $1", &p, out));
        if (rc) {
            store_ticket_fin(out);
            return rc;
        }
        return st_seterr(s, STORE_ECONFLICT, "conversation %lld is already ticket %s",
                         (long long)conv, c.ticket);
    }
    if (rc == 0 && strcmp(c.status, "open") != 0)
        rc = st_seterr(s, STORE_EINVALID, "conversation %lld is %s", (long long)conv, c.status);

    int64_t ticket = 0;
    const char *to = store_ticket_next(NULL, "created");
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        p_i64(&p, requester_id);
        p_str(&p, summary);
        p_str(&p, category);
        p_i64(&p, impact);
        p_i64(&p, urgency);
        p_i64(&p, prio);
        p_i64(&p, sla->response_s[prio - 1]);
        p_i64(&p, sla->resolution_s[prio - 1]);
        p_time(&p, now);
        p_str(&p, to);
        rc = st_insert_id(s,
                          "WITH n AS (SELECT coalesce(to_timestamp($10::float8), now()) AS t)"
                          " INSERT INTO tickets (conversation_id, requester_id, summary, category,"
                          " impact, urgency, priority, response_due, resolution_due, created_at,"
                          " updated_at, status, team_id)"
                          " SELECT $1, $2, $3, $4, $5, $6, $7,"
                          " n.t + $8::integer * interval '1 second',"
                          " n.t + $9::integer * interval '1 second', n.t, n.t, $11,"
                          /* the default team of the longest managed category that is
                           * the ticket's or a path prefix of it (015_i18n.sql) */
                          " (SELECT c.team_id FROM ticket_categories c WHERE $4::text = c.name"
                          "  OR left($4::text, char_length(c.name) + 1) = c.name || '/'"
                          "  ORDER BY char_length(c.name) DESC LIMIT 1) FROM n"
                          " RETURNING id",
                          &p, &ticket);
    }
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        rc = st_exec(s,
                     "UPDATE conversations SET status = 'escalated', updated_at = now()"
                     " WHERE id = $1",
                     &p, NULL);
    }
    int suggested = 0;
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        p_i64(&p, ticket);
        rc = st_exec(s,
                     "INSERT INTO ticket_links (ticket_id, doc_id, relation, actor_id, at)"
                     " SELECT $2, doc_id, 'suggested', NULL, shown_at"
                     " FROM conversation_suggestions WHERE conversation_id = $1"
                     " ON CONFLICT (ticket_id, doc_id, relation) DO NOTHING",
                     &p, &suggested);
    }
    if (rc == 0)
        rc = st_ticket_summary_terms(s, ticket, summary);
    if (rc == 0)
        rc = st_conv_terms_backfill(s, conv);
    char team[40] = ""; /* a slug: 1..32 bytes */
    if (rc == 0 && category) { /* routed by its category: the event names the team */
        struct params p = {0};
        p_i64(&p, ticket);
        PGresult *r = st_run(s, &rc,
                             "SELECT t.slug FROM tickets k JOIN teams t ON t.id = k.team_id"
                             " WHERE k.id = $1",
                             &p);
        if (r && PQntuples(r))
            g_copy(team, sizeof team, r, 0, 0);
        PQclear(r);
    }
    if (rc == 0)
        rc = st_ticket_event(s, ticket, requester_id, "created", NULL, to,
                             json_pack("{s:i, s:i, s:i, s:i, s:s?}", "impact", impact, "urgency",
                                       urgency, "priority", prio, "suggested", suggested, "team",
                                       team[0] ? team : NULL),
                             now);
    if (rc == 0) /* deadlines in working time, when SLA data is loaded */
        rc = st_sla_ticket_created(s, ticket, now);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, ticket);
        rc = ticket_load(s, TICKET_SELECT "WHERE t.id = $1", &p, out);
    }
    rc = st_finish(s, rc);
    if (rc)
        store_ticket_fin(out);
    return rc;
}

int store_queue(struct store *s, store_ticket_cb cb, void *arg)
{
    int rc = st_begin(s, "queue");
    if (rc)
        return rc;
    PGresult *r = st_run(s, &rc,
                         TICKET_SELECT "WHERE t.status IN ('new', 'assigned', 'reopened',"
                                    " 'pending')"
                                    " ORDER BY t.priority, t.created_at, t.id",
                         NULL);
    rc = st_finish(s, rc);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_ticket t;
        ticket_from_row(r, i, &t, 0);
        rc = cb(arg, &t);
    }
    PQclear(r);
    return rc;
}

/* Checks that agent is an enabled agent or admin. */
int st_check_agent(struct store *s, int64_t agent)
{
    char role[STORE_WORD_MAX];
    int rc = st_person_role(s, agent, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !st_is_staff(role)))
        return st_seterr(s, STORE_EFORBIDDEN, "person %lld is not an enabled agent",
                         (long long)agent);
    return rc;
}

int store_ticket_take(struct store *s, const char *number, int64_t agent_id)
{
    struct st_ticket_head h;
    const char *to = NULL;
    int rc = st_begin(s, "ticket_take");
    if (rc)
        return rc;
    rc = st_check_agent(s, agent_id);
    /* the row lock decides a race: of two agents taking at once, the
     * second waits, then reads the first one's row and is told so */
    if (rc == 0)
        rc = st_ticket_head(s, number, 1, &h);
    if (rc == 0)
        rc = st_may_work(s, h.id, agent_id, NULL);
    if (rc != 0)
        return st_finish(s, rc);
    /* held: it has an agent working on it (a ticket its agent could
     * resolve) */
    if (h.agent_id != 0 && store_ticket_next(h.status, "resolved")) {
        if (h.agent_id == agent_id)
            return st_finish(s, 0); /* one's own already: nothing changes */
        return st_finish(s, st_seterr(s, STORE_ECONFLICT, "%s is already taken by another agent",
                                      number));
    }
    rc = st_ticket_step(s, number, h.status, "taken", "take it", &to);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        p_i64(&p, agent_id);
        p_str(&p, to);
        rc = st_exec(s, "UPDATE tickets SET agent_id = $2, status = $3, updated_at = now()"
                        " WHERE id = $1",
                     &p, NULL);
    }
    if (rc == 0)
        rc = st_ticket_event(s, h.id, agent_id, "taken", h.status, to, NULL, 0);
    return st_finish(s, rc);
}

int store_ticket_access(struct store *s, const char *number, int64_t viewer_id)
{
    struct st_ticket_head h;
    int rc = st_begin(s, "ticket_access");
    if (rc)
        return rc;
    return st_finish(s, viewed_head(s, number, viewer_id, &h));
}

int store_ticket_get(struct store *s, const char *number, int64_t viewer_id,
                     struct store_ticket *out)
{
    struct st_ticket_head h;
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "ticket_get");
    if (rc)
        return rc;
    rc = viewed_head(s, number, viewer_id, &h);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        rc = ticket_load(s, TICKET_SELECT "WHERE t.id = $1", &p, out);
    }
    if (rc)
        store_ticket_fin(out);
    return rc;
}

int store_ticket_reply(struct store *s, const char *number, int64_t agent_id,
                       const char *client_id, const char *body, int *seq, int *duplicate,
                       int64_t *conv)
{
    struct st_ticket_head h;
    int got = 0, dup = 0;
    int rc = STORE_ECONFLICT;
    /* a conflict: the same client id stored meanwhile (see message_add) */
    for (int attempt = 0; rc == STORE_ECONFLICT && attempt < 2; attempt++) {
        rc = st_begin(s, "ticket_reply");
        if (rc)
            return rc;
        rc = st_ticket_head(s, number, 0, &h);
        if (rc == 0)
            rc = st_message_add(s, h.conversation_id, agent_id, client_id, body, &got, &dup, NULL);
        rc = st_finish(s, rc);
    }
    if (rc == 0) {
        *seq = got;
        *duplicate = dup;
        if (conv)
            *conv = h.conversation_id;
    }
    return rc;
}

int store_ticket_link(struct store *s, const char *number, const char *doc_id,
                      const char *relation, int64_t actor_id, int *added)
{
    struct st_ticket_head h;
    char role[STORE_WORD_MAX] = "";
    int got = 0;
    if (added)
        *added = 0;
    int rc = st_begin(s, "ticket_link");
    if (rc)
        return rc;
    rc = st_ticket_head(s, number, 1, &h);
    if (rc == 0) {
        rc = st_person_role(s, actor_id, role);
        if (rc == STORE_ENOTFOUND)
            rc = st_seterr(s, STORE_EFORBIDDEN, "person %lld is not enabled", (long long)actor_id);
    }
    if (rc == 0 && !st_is_staff(role)) {
        if (actor_id != h.requester_id)
            rc = st_seterr(s, STORE_EFORBIDDEN, "%s is not this requester's", number);
        else if (!relation || (strcmp(relation, "viewed") != 0 && strcmp(relation, "helpful") != 0))
            rc = st_seterr(s, STORE_EFORBIDDEN, "a requester links only 'viewed' or 'helpful'");
    }
    if (rc == 0)
        rc = link_add(s, h.id, number, h.status, doc_id, relation, actor_id, &got);
    /* a new link counts as a "linked" use of the document (store_kuse.h) */
    if (rc == 0 && got)
        rc = st_kuse_linked(s, doc_id, actor_id, h.id);
    rc = st_finish(s, rc);
    if (rc == 0 && added)
        *added = got;
    return rc;
}

int store_ticket_resolve(struct store *s, const char *number, int64_t agent_id,
                         const char *resolution)
{
    struct st_ticket_head h;
    const char *to = NULL;
    int rc = st_begin(s, "ticket_resolve");
    if (rc)
        return rc;
    if (!resolution)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "a resolution needs a text"));
    rc = st_check_agent(s, agent_id);
    if (rc == 0)
        rc = st_ticket_head(s, number, 1, &h);
    if (rc == 0)
        rc = st_ticket_step(s, number, h.status, "resolved", "resolve it", &to);
    if (rc == 0 && h.agent_id != agent_id)
        rc = st_seterr(s, STORE_EFORBIDDEN, "%s is not assigned to agent %lld", number,
                       (long long)agent_id);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        p_str(&p, to);
        p_str(&p, resolution);
        rc = st_exec(s,
                     "UPDATE tickets SET status = $2, resolved_at = now(), resolution = $3,"
                     " first_response_at = coalesce(first_response_at, now()), updated_at = now(),"
                     " pending_reason = NULL WHERE id = $1",
                     &p, NULL);
    }
    if (rc == 0) {
        json_t *d = json_pack("{s:s}", "resolution", resolution);
        rc = d ? st_ticket_event(s, h.id, agent_id, "resolved", h.status, to, d, 0)
               : st_seterr(s, STORE_EINVALID, "the resolution is not valid UTF-8");
    }
    /* resolved while waiting for the requester: the pause ends here (a
     * reopening counts on from the segments) */
    if (rc == 0 && strcmp(h.status, "pending") == 0)
        rc = st_sla_clock_resume(s, h.id, agent_id, "resolved", 0);
    return st_finish(s, rc);
}

/* Reads and locks the ticket of a requester's answer (confirm, reopen,
 * rate). */
static int requester_ticket(struct store *s, const char *number, int64_t requester,
                            struct st_ticket_head *h)
{
    int rc = st_ticket_head(s, number, 1, h);
    if (rc == 0 && h->requester_id != requester)
        rc = st_seterr(s, STORE_EFORBIDDEN, "%s is not this requester's", number);
    return rc;
}

int store_ticket_close_confirmed(struct store *s, const char *number, int64_t requester_id)
{
    struct st_ticket_head h;
    const char *to = NULL;
    int rc = st_begin(s, "ticket_confirm");
    if (rc)
        return rc;
    rc = requester_ticket(s, number, requester_id, &h);
    if (rc == 0)
        rc = st_ticket_step(s, number, h.status, "confirmed", "confirm it", &to);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        p_i64(&p, h.conversation_id);
        p_str(&p, to);
        rc = st_exec(s,
                     "WITH c AS (UPDATE conversations SET status = 'closed', updated_at = now()"
                     "           WHERE id = $2)"
                     " UPDATE tickets SET status = $3, closed_at = now(), updated_at = now()"
                     " WHERE id = $1",
                     &p, NULL);
    }
    if (rc == 0)
        rc = st_ticket_event(s, h.id, requester_id, "confirmed", h.status, to, NULL, 0);
    return st_finish(s, rc);
}

int store_ticket_reopen(struct store *s, const char *number, int64_t requester_id)
{
    struct st_ticket_head h;
    const char *to = NULL;
    int rc = st_begin(s, "ticket_reopen");
    if (rc)
        return rc;
    rc = requester_ticket(s, number, requester_id, &h);
    if (rc == 0)
        rc = st_ticket_step(s, number, h.status, "reopened", "reopen it", &to);
    PGresult *r = NULL;
    if (rc == 0) {
        /* back to its agent, or to the queue if the agent was disabled */
        struct params p = {0};
        p_i64(&p, h.id);
        p_str(&p, to);
        r = st_run(s, &rc,
                   "UPDATE tickets t SET status = $2, resolved_at = NULL,"
                   " updated_at = now(), agent_id = (SELECT p.id FROM people p"
                   "  WHERE p.id = t.agent_id AND NOT p.disabled)"
                   " WHERE t.id = $1 RETURNING t.agent_id",
                   &p);
    }
    if (r) {
        json_t *d = PQgetisnull(r, 0, 0)
                        ? json_pack("{s:n}", "agent_id")
                        : json_pack("{s:I}", "agent_id", (json_int_t)g_i64(r, 0, 0));
        PQclear(r);
        rc = st_ticket_event(s, h.id, requester_id, "reopened", h.status, to, d, 0);
    }
    return st_finish(s, rc);
}

int store_ticket_confirm(struct store *s, const char *number, int64_t requester_id,
                         int accepted)
{
    return accepted ? store_ticket_close_confirmed(s, number, requester_id)
                    : store_ticket_reopen(s, number, requester_id);
}

int store_ticket_rate(struct store *s, const char *number, int64_t requester_id, int score,
                      const char *comment)
{
    struct st_ticket_head h;
    const char *to = NULL;
    int rc = st_begin(s, "ticket_rate");
    if (rc)
        return rc;
    if (score < 1 || score > 5)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "a rating is 1..5 (got %d)", score));
    rc = requester_ticket(s, number, requester_id, &h);
    if (rc == 0)
        rc = st_ticket_step(s, number, h.status, "rated", "rate it before it is resolved", &to);
    if (rc == 0) {
        struct params p = {0};
        int rows = 0;
        p_i64(&p, h.id);
        rc = st_exec(s, "SELECT 1 FROM ratings WHERE ticket_id = $1", &p, &rows);
        if (rc == 0 && rows > 0)
            rc = st_seterr(s, STORE_ECONFLICT, "%s is rated already", number);
    }
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        p_i64(&p, score);
        p_str(&p, comment);
        rc = st_exec(s, "INSERT INTO ratings (ticket_id, score, comment) VALUES ($1, $2, $3)", &p,
                     NULL);
    }
    if (rc == 0 && strcmp(to, h.status) != 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        p_str(&p, to);
        rc = st_exec(s, "UPDATE tickets SET status = $2, updated_at = now() WHERE id = $1", &p,
                     NULL);
    }
    if (rc == 0)
        rc = st_ticket_event(s, h.id, requester_id, "rated", h.status, to,
                             json_pack("{s:i}", "score", score), 0);
    return st_finish(s, rc);
}

int store_auto_close(struct store *s, int days, time_t now, int *closed)
{
    int n = 0;
    if (closed)
        *closed = 0;
    int rc = st_begin(s, "auto_close");
    if (rc)
        return rc;
    if (days < 1)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "auto-close after at least one day"));
    char froms[128];
    const char *to = NULL;
    ticket_froms("auto_closed", froms, sizeof froms, &to);
    if (!to)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "no single status to auto-close into"));
    struct params p = {0};
    p_i64(&p, days);
    p_time(&p, now);
    p_str(&p, froms);
    p_str(&p, to);
    /* a ticket locked by a requester's answer at this moment is skipped: it
     * will not be resolved any more, or the next run closes it */
    PGresult *r = st_run(s, &rc,
                         "WITH n AS (SELECT coalesce(to_timestamp($2::float8), now()) AS t),"
                         " due AS (SELECT k.id, k.status FROM tickets k, n"
                         "         WHERE k.status = ANY($3::text[])"
                         "         AND k.resolved_at <= n.t - $1::integer * interval '1 day'"
                         "         FOR UPDATE OF k SKIP LOCKED),"
                         " closed AS (UPDATE tickets k SET status = $4::text, closed_at = n.t,"
                         "            updated_at = n.t FROM n, due WHERE k.id = due.id"
                         "            RETURNING k.id, k.conversation_id, due.status AS old),"
                         " ev AS (INSERT INTO ticket_events (ticket_id, actor_id, type,"
                         "        from_status, to_status, detail, at)"
                         "        SELECT closed.id, NULL, 'auto_closed', closed.old, $4::text,"
                         "        jsonb_build_object('days', $1::integer), n.t FROM closed, n),"
                         " cv AS (UPDATE conversations c SET status = 'closed', updated_at = now()"
                         "        FROM closed WHERE c.id = closed.conversation_id)"
                         " SELECT count(*) FROM closed",
                         &p);
    if (r)
        n = g_int(r, 0, 0);
    PQclear(r);
    rc = st_finish(s, rc);
    if (rc == 0 && closed)
        *closed = n;
    return rc;
}

int store_ticket_links(struct store *s, const char *number, int64_t viewer_id, store_link_cb cb,
                       void *arg)
{
    PGresult *r;
    int rc = ticket_rows(s, "ticket_links", number, viewer_id,
                         "SELECT l.doc_id, l.relation, l.actor_id, p.name, " EPOCH("l.at")
                         " FROM ticket_links l LEFT JOIN people p ON p.id = l.actor_id"
                         " WHERE l.ticket_id = $1 ORDER BY l.at, l.doc_id, l.relation",
                         &r);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_link l = {
            .doc_id = g_str(r, i, 0),
            .relation = g_str(r, i, 1),
            .actor_id = g_i64(r, i, 2),
            .actor_name = g_str(r, i, 3),
            .at = g_i64(r, i, 4),
        };
        rc = cb(arg, &l);
    }
    PQclear(r);
    return rc;
}

int store_ticket_events(struct store *s, const char *number, int64_t viewer_id,
                        store_event_cb cb, void *arg)
{
    struct st_ticket_head h;
    PGresult *r = NULL;
    int rc = st_begin(s, "ticket_events");
    if (rc)
        return rc;
    rc = st_ticket_head(s, number, 0, &h);
    if (rc == 0)
        rc = st_may_view(s, h.requester_id, viewer_id);
    char role[STORE_WORD_MAX] = "";
    if (rc == 0)
        rc = st_person_role(s, viewer_id, role);
    if (rc == 0) {
        /* a requester never sees the internal events (notes, transfers,
         * assignments, merges: their details are the staff's) */
        struct params p = {0};
        p_i64(&p, h.id);
        p_bool(&p, st_is_staff(role));
        r = st_run(s, &rc,
                   "SELECT e.id, e.actor_id, p.name, e.type, e.from_status, e.to_status,"
                   " e.detail::text, " EPOCH("e.at")
                   " FROM ticket_events e LEFT JOIN people p ON p.id = e.actor_id"
                   " WHERE e.ticket_id = $1 AND ($2::boolean OR e.type NOT IN"
                   " ('noted', 'assigned', 'transferred', 'merged', 'merged_from')) ORDER BY e.id",
                   &p);
    }
    rc = st_finish(s, rc);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_event e = {
            .id = g_i64(r, i, 0),
            .actor_id = g_i64(r, i, 1),
            .actor_name = g_str(r, i, 2),
            .type = g_str(r, i, 3),
            .from_status = g_str(r, i, 4),
            .to_status = g_str(r, i, 5),
            .detail = g_str(r, i, 6),
            .at = g_i64(r, i, 7),
        };
        rc = cb(arg, &e);
    }
    PQclear(r);
    return rc;
}
