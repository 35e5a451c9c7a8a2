/* store_pause: a ticket waiting for its requester (014_pause.sql): an
 * agent sets it pending with a reason (the resolution clock pauses, in
 * store_sla.c), and it resumes when the agent says so or the requester
 * writes (st_ticket_requester_wrote, called inside store_conv.c's message
 * transaction). The statuses follow store_ticket.c's one transition table
 * (st_ticket_step); each change writes its ticket_events row in the same
 * transaction. Declared in store_ticket.h. */
#include "store_int.h"

#include <string.h>

#include "kb_utf8.h"
#include "kb_util.h"

/* ---- waiting for the requester (014_pause.sql) ------------------------------ */

/* The head of ticket number, locked, which agent_id (an enabled agent)
 * holds: 0, or STORE_EFORBIDDEN ("INC-... is not held by agent N"), or the
 * codes of st_check_agent and st_ticket_head. */
static int held_head(struct store *s, const char *number, int64_t agent_id,
                     struct st_ticket_head *h)
{
    int rc = st_check_agent(s, agent_id);
    if (rc == 0)
        rc = st_ticket_head(s, number, 1, h);
    if (rc == 0 && h->agent_id != agent_id)
        rc = st_seterr(s, STORE_EFORBIDDEN, "%s is not held by agent %lld", number,
                       (long long)agent_id);
    return rc;
}

int store_ticket_pending(struct store *s, const char *number, int64_t agent_id,
                         const char *reason, time_t now)
{
    struct st_ticket_head h;
    const char *to = NULL;
    int rc = st_begin(s, "ticket_pending");
    if (rc)
        return rc;
    if (!reason || kb_utf8_check(reason, strlen(reason), 0, NULL) != 0 ||
        kb_utf8_count(reason, strlen(reason)) > STORE_PENDING_REASON_MAX ||
        strspn(reason, " \t\r\n") == strlen(reason))
        return st_finish(s, st_seterr(s, STORE_EINVALID,
                                      "a pending ticket needs a reason (1..%d characters)",
                                      STORE_PENDING_REASON_MAX));
    rc = held_head(s, number, agent_id, &h);
    if (rc == 0)
        rc = st_ticket_step(s, number, h.status, "pending", "wait for the requester", &to);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        p_str(&p, to);
        p_str(&p, reason);
        rc = st_exec(s,
                     "UPDATE tickets SET status = $2, pending_reason = $3, updated_at = now()"
                     " WHERE id = $1",
                     &p, NULL);
    }
    if (rc == 0)
        rc = st_ticket_event(s, h.id, agent_id, "pending", h.status, to,
                             json_pack("{s:s}", "reason", reason), now);
    if (rc == 0)
        rc = st_sla_clock_pause(s, h.id, reason, now);
    return st_finish(s, rc);
}

/* pending -> the table's next status: the reason cleared, a "resumed"
 * event by actor (by: "requester" with the message's seq, or "agent"),
 * the clock's pause ended and its deadlines recomputed. The ticket's row
 * is locked by the caller (or its conversation, for a requester's
 * message: the agent's changes lock the ticket, and a message to a
 * pending ticket locks it here). */
static int ticket_resume(struct store *s, int64_t ticket, const char *number, const char *from,
                         int64_t actor, const char *by, int seq, time_t now)
{
    const char *to = NULL;
    int rc = st_ticket_step(s, number, from, "resumed", "resume it (it is not pending)", &to);
    PGresult *r = NULL;
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, ticket);
        p_str(&p, to);
        /* the status re-checked under the row's lock: of a requester's
         * message and the agent's "resume" at once, the second finds it
         * running and changes nothing */
        r = st_run(s, &rc,
                   "WITH o AS (SELECT id, pending_reason FROM tickets WHERE id = $1"
                   "  AND status = 'pending' FOR UPDATE)"
                   " UPDATE tickets t SET status = $2, pending_reason = NULL, updated_at = now()"
                   " FROM o WHERE t.id = o.id RETURNING o.pending_reason",
                   &p);
    }
    if (!r)
        return rc;
    int changed = PQntuples(r) > 0;
    json_t *d = changed ? json_pack("{s:s, s:s}", "by", by, "reason", g_str(r, 0, 0)) : NULL;
    PQclear(r);
    if (!changed)
        return 0;
    if (seq > 0)
        json_object_set_new(d, "seq", json_integer(seq));
    rc = st_ticket_event(s, ticket, actor, "resumed", from, to, d, now);
    if (rc == 0)
        rc = st_sla_clock_resume(s, ticket, actor, "resumed", now);
    return rc;
}

int st_ticket_requester_wrote(struct store *s, int64_t ticket, const char *tstatus,
                              int64_t requester, int seq, int *resumed)
{
    *resumed = 0;
    if (strcmp(tstatus, "pending") != 0)
        return 0;
    char number[STORE_NUMBER_MAX] = "";
    struct params p = {0};
    p_i64(&p, ticket);
    int rc = 0;
    PGresult *r = st_run(s, &rc, "SELECT number FROM tickets WHERE id = $1", &p);
    if (!r)
        return rc;
    if (PQntuples(r) > 0)
        g_copy(number, sizeof number, r, 0, 0);
    PQclear(r);
    rc = ticket_resume(s, ticket, number, tstatus, requester, "requester", seq, 0);
    *resumed = rc == 0;
    return rc;
}

int store_ticket_resume(struct store *s, const char *number, int64_t agent_id, time_t now)
{
    struct st_ticket_head h;
    int rc = st_begin(s, "ticket_resume");
    if (rc)
        return rc;
    rc = held_head(s, number, agent_id, &h);
    if (rc == 0)
        rc = ticket_resume(s, h.id, number, h.status, agent_id, "agent", 0, now);
    return st_finish(s, rc);
}
